// Delay-line thread. Each direction has three stages: delay_q (FIFO by release time),
// trace_q (waiting for delivery opportunities, trace mode only) and out_q (due, waiting for
// the output fd to accept them). All frame handling stays on this one thread; JS only swaps
// params under the mutex and reads counters with relaxed atomics.
#define _GNU_SOURCE
#include "dline.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "dline_impl.h"

#define READ_BATCH 64

// xorshift128+: a few cycles per draw, plenty for loss and jitter decisions.
static uint64_t rng_next(uint64_t s[2]) {
  uint64_t a = s[0];
  const uint64_t b = s[1];
  s[0] = b;
  a ^= a << 23;
  s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
  return s[1] + b;
}

static double rng_unit(uint64_t s[2]) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

static void drop_frame(dl_line *l, frame *f) { frame_put(&l->pool, f); }

static bool trace_same(const dl_trace *a, const dl_trace *b) {
  if (!a || !b) return a == b;
  return a->count == b->count && a->period_ms == b->period_ms &&
         memcmp(a->opp_ms, b->opp_ms, a->count * sizeof *a->opp_ms) == 0;
}

// Takes params handed over by dl_set. A new trace restarts its schedule now; removing the
// trace releases frames waiting for opportunities at once.
static void apply_pending(dl_line *l, int64_t now) {
  STORE(l->pending_any, 0);
  pthread_mutex_lock(&l->mu);
  for (int i = 0; i < 2; i++) {
    if (!l->pending[i]) continue;
    dir *d = &l->d[i];
    dl_trace *old = d->p.trace;
    d->p = l->next[i];
    l->pending[i] = false;
    l->next[i].trace = NULL;
    if (trace_same(old, d->p.trace)) {
      // Same trace re-sent with other params: keep its phase.
      dl_trace_free(d->p.trace);
      d->p.trace = old;
      continue;
    }
    d->sch = (sched){.base_ns = now};
    if (!d->p.trace) fifo_splice(&d->out_q, &d->trace_q);
    dl_trace_free(old);
  }
  pthread_mutex_unlock(&l->mu);
}

static void read_batch(dl_line *l, dir *d) {
  for (int i = 0; i < READ_BATCH; i++) {
    ssize_t n = read(d->in_fd, l->scratch, sizeof l->scratch);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        // Detached or broken fd (device deleted): stop polling it rather than spin.
        d->in_dead = true;
        STORE(d->st.read_errno, (uint64_t)errno);
      }
      return;
    }
    if (n == 0) return;
    int64_t now = now_ns();
    BUMP(d->st.rx_packets, 1);
    BUMP(d->st.rx_bytes, (uint64_t)n);
    if (d->p.stall) {
      BUMP(d->st.drop_stall, 1);
      continue;
    }
    if (d->p.loss > 0 && rng_unit(d->rng) < d->p.loss) {
      BUMP(d->st.drop_loss, 1);
      continue;
    }
    if (d->delay_q.count + d->trace_q.count + d->out_q.count >= d->p.hold_limit) {
      BUMP(d->st.drop_queue, 1);
      continue;
    }
    frame *f = frame_get(&l->pool, (uint32_t)n);
    if (!f) {
      BUMP(d->st.drop_error, 1);
      continue;
    }
    memcpy(f->data, l->scratch, (size_t)n);
    f->len = (uint32_t)n;
    // Mahimahi charges an IP packet plus its 4-byte tun header against the 1504-byte
    // opportunities; our frames carry a 14-byte Ethernet header instead, so 1514 -> 1504.
    f->left = n > 14 ? (uint32_t)n - 10 : (uint32_t)n;
    int64_t hold = d->p.delay_ns;
    if (d->p.jitter_ns > 0) {
      uint64_t span = 2 * (uint64_t)d->p.jitter_ns + 1;
      hold += (int64_t)(rng_next(d->rng) % span) - d->p.jitter_ns;
    }
    int64_t release = now + (hold > 0 ? hold : 0);
    // Jitter never reorders: a frame leaves no earlier than the one before it.
    if (release < d->last_release) release = d->last_release;
    d->last_release = f->release_ns = release;
    fifo_push(&d->delay_q, f);
  }
}

// Moves frames whose delay is over (release <= until) into the next stage.
static void release_due(dl_line *l, dir *d, int64_t until) {
  fifo *dst = d->p.trace ? &d->trace_q : &d->out_q;
  while (d->delay_q.head && d->delay_q.head->release_ns <= until) {
    frame *f = fifo_pop(&d->delay_q);
    if (d->p.trace && d->trace_q.count >= d->p.queue_limit) {
      BUMP(d->st.drop_queue, 1);
      drop_frame(l, f);
      continue;
    }
    fifo_push(dst, f);
  }
}

// One opportunity carries up to DL_TRACE_BYTES, possibly finishing or continuing frames.
static void use_opportunity(dir *d) {
  uint32_t budget = DL_TRACE_BYTES;
  while (budget > 0 && d->trace_q.head) {
    frame *f = d->trace_q.head;
    uint32_t n = f->left < budget ? f->left : budget;
    f->left -= n;
    budget -= n;
    if (f->left == 0) fifo_push(&d->out_q, fifo_pop(&d->trace_q));
  }
}

// Replays, in time order, arrivals into the trace queue and opportunities up to now.
static void run_trace(dl_line *l, dir *d, int64_t now) {
  const dl_trace *t = d->p.trace;
  for (;;) {
    int64_t opp = sched_time(&d->sch, t);
    release_due(l, d, opp < now ? opp : now);
    if (opp > now) return;
    if (d->trace_q.head) {
      use_opportunity(d);
      sched_next(&d->sch, t);
      continue;
    }
    // Nothing queued: skip the opportunities nobody can use.
    int64_t at = d->delay_q.head ? d->delay_q.head->release_ns : now + 1;
    sched_seek(&d->sch, t, at > opp ? at : opp + 1);
  }
}

static void write_out(dl_line *l, dir *d) {
  while (d->out_q.head && !d->out_blocked) {
    frame *f = d->out_q.head;
    if (d->p.stall) {
      BUMP(d->st.drop_stall, 1);
    } else if (write(d->out_fd, f->data, f->len) >= 0) {
      BUMP(d->st.tx_packets, 1);
      BUMP(d->st.tx_bytes, f->len);
    } else if (errno == EAGAIN) {
      d->out_blocked = true;  // keep the frame, wait for POLLOUT
      return;
    } else if (errno == EINTR) {
      continue;
    } else {
      BUMP(d->st.drop_error, 1);
    }
    drop_frame(l, fifo_pop(&d->out_q));
  }
}

static void service(dl_line *l, dir *d, int64_t now) {
  if (d->p.trace) run_trace(l, d, now);
  else release_due(l, d, now);
  write_out(l, d);
  STORE(d->st.held, (uint64_t)(d->delay_q.count + d->trace_q.count + d->out_q.count));
}

// Earliest time this direction needs the thread again; INT64_MAX if only I/O can wake it.
static int64_t next_due(const dir *d) {
  int64_t t = INT64_MAX;
  if (d->delay_q.head) t = d->delay_q.head->release_ns;
  if (d->p.trace && d->trace_q.head) {
    int64_t opp = sched_time(&d->sch, d->p.trace);
    if (opp < t) t = opp;
  }
  return t;
}

void *dl_run(void *arg) {
  dl_line *l = arg;
  // ppoll's default 50 us timer slack would dominate sub-millisecond precision.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  dir *ab = &l->d[DL_AB], *ba = &l->d[DL_BA];
  while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
    int64_t now = now_ns();
    if (LOAD(l->pending_any)) {
      apply_pending(l, now);
      service(l, ab, now);
      service(l, ba, now);
    }
    struct pollfd pf[3] = {
        {.fd = l->evfd, .events = POLLIN},
        {.fd = ab->in_fd, .events = (short)(POLLIN | (ba->out_blocked ? POLLOUT : 0))},
        {.fd = ba->in_fd, .events = (short)(POLLIN | (ab->out_blocked ? POLLOUT : 0))},
    };
    // A dead fd would report POLLERR/POLLNVAL forever; leave it out instead of spinning.
    if (ab->in_dead) pf[1].fd = -1;
    if (ba->in_dead) pf[2].fd = -1;
    int64_t due = next_due(ab);
    int64_t due_ba = next_due(ba);
    if (due_ba < due) due = due_ba;
    struct timespec ts, *tsp = NULL;
    if (due != INT64_MAX) {
      int64_t wait = due > now ? due - now : 0;
      ts.tv_sec = wait / 1000000000LL;
      ts.tv_nsec = wait % 1000000000LL;
      tsp = &ts;
    }
    int rc = ppoll(pf, 3, tsp, NULL);
    if (rc < 0 && errno != EINTR) break;
    if (rc > 0) {
      if (pf[0].revents & POLLIN) {
        uint64_t v;
        if (read(l->evfd, &v, sizeof v) < 0) { /* spurious wake-up; nothing to drain */ }
      }
      if (pf[1].revents & POLLOUT) ba->out_blocked = false;
      if (pf[2].revents & POLLOUT) ab->out_blocked = false;
      if (pf[1].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) read_batch(l, ab);
      if (pf[2].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) read_batch(l, ba);
    }
    now = now_ns();
    service(l, ab, now);
    service(l, ba, now);
  }
  return NULL;
}
