// Delay-line lifecycle: create, hand over params, read counters, stop. The frame work
// itself is in dline.c on the line's own thread.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "dline_impl.h"

void dl_trace_free(dl_trace *t) {
  if (!t) return;
  free(t->opp_ms);
  free(t);
}

static void seed_rng(uint64_t s[2], bool seeded, uint64_t seed, int dir) {
  uint64_t x = seed;
  if (!seeded && getrandom(&x, sizeof x, 0) != sizeof x) x = (uint64_t)now_ns();
  x ^= (uint64_t)dir * 0xd1b54a32d192ed03ULL;  // independent streams per direction
  s[0] = splitmix64(&x);
  s[1] = splitmix64(&x);
}

int dl_create(dl_line **out, int fd_a, int fd_b, dl_params *ab, dl_params *ba, bool seeded,
              uint64_t seed, const char **what) {
  *out = NULL;
  dl_line *l = calloc(1, sizeof *l);
  if (!l) {
    dl_trace_free(ab->trace);
    dl_trace_free(ba->trace);
    *what = "allocate delay line";
    return ENOMEM;
  }
  l->d[DL_AB] = (dir){.in_fd = fd_a, .out_fd = fd_b, .p = *ab};
  l->d[DL_BA] = (dir){.in_fd = fd_b, .out_fd = fd_a, .p = *ba};
  int64_t t0 = now_ns();
  for (int i = 0; i < 2; i++) {
    seed_rng(l->d[i].rng, seeded, seed, i);
    l->d[i].sch.base_ns = t0;
  }
  pthread_mutex_init(&l->mu, NULL);
  l->evfd = -1;
  l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (l->evfd < 0) {
    int e = errno;
    *what = "eventfd";
    dl_destroy(l);
    return e;
  }
  // The thread starts with every signal blocked so Node keeps handling them on its own threads.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&l->thread, NULL, dl_run, l);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0) {
    *what = "pthread_create";
    dl_destroy(l);
    return e;
  }
  l->running = true;
  *out = l;
  return 0;
}

int dl_set(dl_line *l, int dir, dl_params *p) {
  if (!l->running) {
    dl_trace_free(p->trace);
    return EBADF;
  }
  pthread_mutex_lock(&l->mu);
  dl_trace_free(l->next[dir].trace);  // superseded before the thread took it
  l->next[dir] = *p;
  l->pending[dir] = true;
  pthread_mutex_unlock(&l->mu);
  STORE(l->pending_any, 1);
  uint64_t one = 1;
  if (write(l->evfd, &one, sizeof one) < 0) { /* counter saturated: a wake-up is pending */ }
  return 0;
}

void dl_get_stats(dl_line *l, int dir, dl_stats *out) {
  dl_stats *s = &l->d[dir].st;
  out->rx_packets = LOAD(s->rx_packets);
  out->rx_bytes = LOAD(s->rx_bytes);
  out->tx_packets = LOAD(s->tx_packets);
  out->tx_bytes = LOAD(s->tx_bytes);
  out->drop_loss = LOAD(s->drop_loss);
  out->drop_stall = LOAD(s->drop_stall);
  out->drop_queue = LOAD(s->drop_queue);
  out->drop_error = LOAD(s->drop_error);
  out->held = LOAD(s->held);
  out->read_errno = LOAD(s->read_errno);
}

void dl_stop(dl_line *l) {
  if (l->running) {
    __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(l->evfd, &one, sizeof one) < 0) { /* a wake-up is already pending */ }
    pthread_join(l->thread, NULL);
    l->running = false;
  }
  for (int i = 0; i < 2; i++) {
    dir *d = &l->d[i];
    fifo_free(&d->delay_q);
    fifo_free(&d->trace_q);
    fifo_free(&d->out_q);
    STORE(d->st.held, 0);
  }
  pool_free(&l->pool);
}

void dl_destroy(dl_line *l) {
  if (!l) return;
  dl_stop(l);
  for (int i = 0; i < 2; i++) {
    dl_trace_free(l->d[i].p.trace);
    dl_trace_free(l->next[i].trace);
  }
  if (l->evfd >= 0) close(l->evfd);
  pthread_mutex_destroy(&l->mu);
  free(l);
}
