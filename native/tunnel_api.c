// The data path's API (tunnel.h): create, sockets, peers, keys, modes, probes, counters,
// stop. Each call takes the mutex the thread (tunnel.c) holds while it works a batch.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tunnel_impl.h"

void tn_wake(tunnel *t) {
  uint64_t one = 1;
  if (write(t->evfd, &one, sizeof one) < 0) { /* the counter is full: it is awake anyway */
  }
}

int tn_create(tunnel **out, int tun_fd, const uint8_t mac1_key[TN_KEY_LEN], tn_emit_fn emit_fn,
              void *ctx, const char **what) {
  *out = NULL;
  tunnel *t = calloc(1, sizeof *t);
  if (!t) {
    *what = "allocate tunnel";
    return ENOMEM;
  }
  t->tun_fd = tun_fd;
  t->evfd = -1;
  for (int s = 0; s < TN_MAX_SOCKETS; s++) t->socks[s] = -1;
  for (int i = 0; i < TN_MAX_PEERS; i++) t->peers[i].last_rx_path = -1;
  memcpy(t->mac1_key, mac1_key, TN_KEY_LEN);
  t->emit = emit_fn;
  t->ctx = ctx;
  t->busy_probe_ns = 100LL * 1000000LL;
  pthread_mutex_init(&t->mu, NULL);
  t->out_buf = malloc((size_t)TN_BATCH * TN_MAX_PATHS * SLOT);
  t->in_buf = malloc((size_t)TN_BATCH * SLOT);
  for (int s = 0; s < TN_MAX_SOCKETS; s++) t->q[s] = calloc(1, sizeof(out_queue));
  bool ok = t->out_buf && t->in_buf;
  for (int s = 0; s < TN_MAX_SOCKETS; s++) ok = ok && t->q[s];
  if (!ok) {
    *what = "allocate buffers";
    tn_destroy(t);
    return ENOMEM;
  }
  t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (t->evfd < 0) {
    int e = errno;
    *what = "eventfd";
    tn_destroy(t);
    return e;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&t->thread, NULL, tn_run, t);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0) {
    *what = "pthread_create";
    tn_destroy(t);
    return e;
  }
  t->started = true;
  *out = t;
  return 0;
}

int tn_open_socket(tunnel *t, int index, const char *ip, int port, int *port_out,
                   const char **what) {
  if (index < 0 || index >= TN_MAX_SOCKETS) {
    *what = "socket index";
    return EINVAL;
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (ip && inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
    *what = "parse IPv4 address";
    return EINVAL;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *what = "socket";
    return errno;
  }
  int size = 4 << 20;
  // Bursts of a Gbit/s flow overflow the default 208 KB buffers; FORCE needs root, the plain
  // option is the fallback within net.core limits.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int e = errno;
    close(fd);
    *what = "bind";
    return e;
  }
  socklen_t alen = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &alen);
  *port_out = ntohs(a.sin_port);
  pthread_mutex_lock(&t->mu);
  int old = t->socks[index];
  t->socks[index] = fd;
  pthread_mutex_unlock(&t->mu);
  tn_wake(t);
  if (old >= 0) close(old);
  return 0;
}

void tn_close_socket(tunnel *t, int index) {
  if (index < 0 || index >= TN_MAX_SOCKETS) return;
  pthread_mutex_lock(&t->mu);
  int old = t->socks[index];
  t->socks[index] = -1;
  pthread_mutex_unlock(&t->mu);
  tn_wake(t);
  if (old >= 0) close(old);
}

int tn_set_peer(tunnel *t, int pi, uint32_t tunnel_ip) {
  if (pi < 0 || pi >= TN_MAX_PEERS) return EINVAL;
  pthread_mutex_lock(&t->mu);
  peer *p = &t->peers[pi];
  if (!p->used) {
    memset(p, 0, sizeof *p);
    p->used = true;
    p->active = -1;
    p->last_rx_path = -1;
    for (int j = 0; j < TN_MAX_PATHS; j++) {
      p->paths[j].s.socket = -1;
      p->paths[j].s.probe_rtt_us = -1;
      p->paths[j].s.reply_rtt_us = -1;
      p->paths[j].probe_timeout_ns = 1000000000LL;
    }
  }
  p->tunnel_ip = tunnel_ip;
  pthread_mutex_unlock(&t->mu);
  return 0;
}

void tn_remove_peer(tunnel *t, int pi) {
  if (pi < 0 || pi >= TN_MAX_PEERS) return;
  pthread_mutex_lock(&t->mu);
  peer *p = &t->peers[pi];
  for (int s = 0; s < 3; s++) tn_keypair_clear(&p->kp[s]);
  ro_free(&p->ro);
  memset(p, 0, sizeof *p);
  pthread_mutex_unlock(&t->mu);
}

static peer *peer_at(tunnel *t, int pi) {
  if (pi < 0 || pi >= TN_MAX_PEERS || !t->peers[pi].used) return NULL;
  return &t->peers[pi];
}

int tn_set_endpoint(tunnel *t, int pi, int pathi, int sock, const struct sockaddr_in *to) {
  if (pathi < 0 || pathi >= TN_MAX_PATHS || sock < -1 || sock >= TN_MAX_SOCKETS) return EINVAL;
  pthread_mutex_lock(&t->mu);
  peer *p = peer_at(t, pi);
  if (p) {
    path *pp = &p->paths[pathi];
    pp->s.socket = sock;
    pp->s.endpoint_valid = sock >= 0 && to != NULL;
    if (to) pp->s.endpoint = *to;
  }
  pthread_mutex_unlock(&t->mu);
  return p ? 0 : ENOENT;
}

int tn_set_keypair(tunnel *t, int pi, int slot, uint32_t local_index, uint32_t remote_index,
                   const uint8_t send_key[TN_KEY_LEN], const uint8_t recv_key[TN_KEY_LEN]) {
  if (slot != TN_SLOT_CURRENT && slot != TN_SLOT_NEXT) return EINVAL;
  keypair k;
  memset(&k, 0, sizeof k);
  k.enc = tn_aead_ctx(send_key, true);
  k.dec = tn_aead_ctx(recv_key, false);
  if (!k.enc || !k.dec) {
    tn_keypair_clear(&k);
    return ENOMEM;
  }
  k.valid = true;
  k.local_index = local_index;
  k.remote_index = remote_index;
  k.created_ns = now_ns();
  pthread_mutex_lock(&t->mu);
  peer *p = peer_at(t, pi);
  if (!p) {
    pthread_mutex_unlock(&t->mu);
    tn_keypair_clear(&k);
    return ENOENT;
  }
  if (slot == TN_SLOT_CURRENT) {
    tn_keypair_clear(&p->kp[TN_SLOT_PREVIOUS]);
    p->kp[TN_SLOT_PREVIOUS] = p->kp[TN_SLOT_CURRENT];
    p->kp[TN_SLOT_CURRENT] = k;
  } else {
    tn_keypair_clear(&p->kp[TN_SLOT_NEXT]);
    p->kp[TN_SLOT_NEXT] = k;
  }
  pthread_mutex_unlock(&t->mu);
  return 0;
}

int tn_set_mode(tunnel *t, int pi, int mode, int active, uint32_t mask,
                const uint32_t weights[TN_MAX_PATHS]) {
  if (mode < TN_BEST || mode > TN_AGGREGATE || active < -1 || active >= TN_MAX_PATHS)
    return EINVAL;
  pthread_mutex_lock(&t->mu);
  peer *p = peer_at(t, pi);
  if (p) {
    p->mode = mode;
    p->active = active;
    p->mask = mask;
    for (int i = 0; i < TN_MAX_PATHS; i++) {
      p->weights[i] = weights ? weights[i] : 0;
      p->paths[i].busy_until_ns = 0;
    }
  }
  pthread_mutex_unlock(&t->mu);
  return p ? 0 : ENOENT;
}

int tn_probe(tunnel *t, int pi, int pathi, int64_t timeout_ns) {
  if (pathi < 0 || pathi >= TN_MAX_PATHS || timeout_ns <= 0) return EINVAL;
  pthread_mutex_lock(&t->mu);
  peer *p = peer_at(t, pi);
  int r = p ? 0 : ENOENT;
  if (p) {
    path *pp = &p->paths[pathi];
    pp->probe_timeout_ns = timeout_ns;
    int64_t now = now_ns();
    if (pp->probe_out || pp->probe_due) {
      r = EBUSY;
    } else if (pp->s.last_tx_ns && now - pp->s.last_tx_ns < BUSY_NS) {
      pp->probe_due = true;  // data flows here: let a data packet carry it
      pp->probe_due_ns = now + PROBE_PIGGYBACK_NS;
    } else {
      tn_start_probe(pp, now);
      int e = tn_send_now(t, p, pathi, K_KEEPALIVE, FLAG_PROBE, pp->probe_id, NULL, 0, now);
      if (e != 0) {
        pp->probe_out = false;
        r = -e;
      }
    }
  }
  pthread_mutex_unlock(&t->mu);
  tn_wake(t);
  return r;
}

int tn_send_control(tunnel *t, int pi, int pathi, const uint8_t *bytes, uint32_t len) {
  if (pathi < 0 || pathi >= TN_MAX_PATHS) return EINVAL;
  pthread_mutex_lock(&t->mu);
  peer *p = peer_at(t, pi);
  int r = p ? -tn_send_now(t, p, pathi, len ? K_CONTROL : K_KEEPALIVE, 0, 0, bytes, len, now_ns())
            : ENOENT;
  pthread_mutex_unlock(&t->mu);
  return r;
}

int tn_send_raw(tunnel *t, int sock, const struct sockaddr_in *to, const uint8_t *bytes,
                uint32_t len) {
  if (sock < 0 || sock >= TN_MAX_SOCKETS) return EINVAL;
  pthread_mutex_lock(&t->mu);
  int fd = t->socks[sock];
  int r = 0;
  if (fd < 0) r = EBADF;
  else if (sendto(fd, bytes, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to) < 0)
    r = errno;
  else t->c.udp_tx++;
  pthread_mutex_unlock(&t->mu);
  return r;
}

void tn_get_counters(tunnel *t, tn_counters *out) {
  pthread_mutex_lock(&t->mu);
  *out = t->c;
  for (int i = 0; i < TN_MAX_PEERS; i++) {
    out->reorder_held += t->peers[i].ro.st.held;
    out->reorder_skipped += t->peers[i].ro.st.skipped;
    out->reorder_late += t->peers[i].ro.st.late;
  }
  pthread_mutex_unlock(&t->mu);
}

int tn_get_path(tunnel *t, int pi, int pathi, tn_path_stats *out) {
  if (pathi < 0 || pathi >= TN_MAX_PATHS) return EINVAL;
  pthread_mutex_lock(&t->mu);
  peer *p = peer_at(t, pi);
  if (p) *out = p->paths[pathi].s;
  pthread_mutex_unlock(&t->mu);
  return p ? 0 : ENOENT;
}

void tn_set_busy_probe(tunnel *t, int64_t interval_ns) {
  pthread_mutex_lock(&t->mu);
  t->busy_probe_ns = interval_ns < 0 ? 0 : interval_ns;
  pthread_mutex_unlock(&t->mu);
}

void tn_stop(tunnel *t) {
  if (!t) return;
  pthread_mutex_lock(&t->mu);
  t->stopping = true;
  pthread_mutex_unlock(&t->mu);
  if (t->started) {
    tn_wake(t);
    pthread_join(t->thread, NULL);
    t->started = false;
  }
  for (int s = 0; s < TN_MAX_SOCKETS; s++) {
    if (t->socks[s] >= 0) close(t->socks[s]);
    t->socks[s] = -1;
  }
}

void tn_destroy(tunnel *t) {
  if (!t) return;
  tn_stop(t);
  for (int i = 0; i < TN_MAX_PEERS; i++) {
    for (int s = 0; s < 3; s++) tn_keypair_clear(&t->peers[i].kp[s]);
    ro_free(&t->peers[i].ro);
  }
  OPENSSL_cleanse(t->mac1_key, sizeof t->mac1_key);
  if (t->evfd >= 0) close(t->evfd);
  for (int s = 0; s < TN_MAX_SOCKETS; s++) free(t->q[s]);
  free(t->out_buf);
  free(t->in_buf);
  pthread_mutex_destroy(&t->mu);
  free(t);
}
