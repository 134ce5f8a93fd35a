// The tunnel's data path thread (see tunnel.h). Per batch: up to TN_BATCH packets read from
// the tun are sealed and queued per socket, then sent with one sendmmsg per socket; up to
// TN_BATCH datagrams per socket come in with one recvmmsg, are opened in place and written to
// the tun. State shared with the JS thread sits under one mutex, which this thread holds
// while it works a batch (never while it waits in poll), so every JS call sees a consistent
// state and waits at most one batch. The calls themselves are in tunnel_api.c.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tunnel_impl.h"

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) {
  return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

// RFC 6479, as src/tunnel/replay-window.ts.
static bool replay_accept(replay *w, uint64_t c) {
  uint64_t block = c / 64;
  if (!w->any || c > w->highest) {
    uint64_t top = w->any ? w->highest / 64 : 0;
    uint64_t adv = w->any ? block - top : WIN_BLOCKS;
    if (adv > WIN_BLOCKS) adv = WIN_BLOCKS;
    for (uint64_t i = 1; i <= adv; i++) w->blocks[(top + i) % WIN_BLOCKS] = 0;
    if (!w->any) memset(w->blocks, 0, sizeof w->blocks);
    w->highest = c;
    w->any = true;
  } else if (w->highest - c > WIN_BITS) {
    return false;
  }
  uint64_t bit = 1ULL << (c % 64);
  uint64_t *b = &w->blocks[block % WIN_BLOCKS];
  if (*b & bit) return false;
  *b |= bit;
  return true;
}

void tn_keypair_clear(keypair *k) {
  if (k->enc) EVP_CIPHER_CTX_free(k->enc);
  if (k->dec) EVP_CIPHER_CTX_free(k->dec);
  memset(k, 0, sizeof *k);
}

EVP_CIPHER_CTX *tn_aead_ctx(const uint8_t key[TN_KEY_LEN], bool enc) {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (!c) return NULL;
  if (EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
      EVP_CipherInit_ex(c, NULL, NULL, key, NULL, enc) != 1) {
    EVP_CIPHER_CTX_free(c);
    return NULL;
  }
  return c;
}

static void nonce_of(uint8_t n[12], uint64_t counter) {
  memset(n, 0, 4);
  put64(n + 4, counter);
}

// Seals d[HDR .. HDR+plain_len) in place and appends the tag; d[0..HDR) is the AAD.
static bool seal(EVP_CIPHER_CTX *c, uint64_t counter, uint8_t *d, int plain_len) {
  uint8_t n[12];
  int len = 0, fin = 0;
  nonce_of(n, counter);
  if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, n) != 1 ||
      EVP_EncryptUpdate(c, NULL, &len, d, HDR) != 1 ||
      EVP_EncryptUpdate(c, d + HDR, &len, d + HDR, plain_len) != 1 ||
      EVP_EncryptFinal_ex(c, d + HDR + len, &fin) != 1)
    return false;
  return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG, d + HDR + plain_len) == 1;
}

static bool open_in_place(EVP_CIPHER_CTX *c, uint64_t counter, uint8_t *d, int len) {
  uint8_t n[12];
  int out = 0, fin = 0;
  int body = len - HDR - TAG;
  nonce_of(n, counter);
  return EVP_DecryptInit_ex(c, NULL, NULL, NULL, n) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG, d + len - TAG) == 1 &&
         EVP_DecryptUpdate(c, NULL, &out, d, HDR) == 1 &&
         EVP_DecryptUpdate(c, d + HDR, &out, d + HDR, body) == 1 &&
         EVP_DecryptFinal_ex(c, d + HDR + out, &fin) > 0;
}

static void emit(tunnel *t, int type, int peer, int path, int sock, const struct sockaddr_in *from,
                 int64_t rtt_us, const uint8_t *bytes, uint32_t len) {
  if (t->events_in_flight >= MAX_EVENTS) {
    t->c.events_dropped++;
    return;
  }
  tn_event *ev = malloc(sizeof *ev + len);
  if (!ev) {
    t->c.events_dropped++;
    return;
  }
  memset(ev, 0, sizeof *ev);
  ev->type = type;
  ev->peer = peer;
  ev->path = path;
  ev->socket = sock;
  if (from) ev->from = *from;
  ev->rtt_us = rtt_us;
  ev->len = len;
  if (len) memcpy(ev->bytes, bytes, len);
  t->events_in_flight++;
  t->emit(t->ctx, ev);
}

void tn_event_done(tunnel *t) {
  pthread_mutex_lock(&t->mu);
  if (t->events_in_flight > 0) t->events_in_flight--;
  pthread_mutex_unlock(&t->mu);
}

static keypair *usable(peer *p, int64_t now) {
  keypair *k = &p->kp[TN_SLOT_CURRENT];
  if (!k->valid) return NULL;
  if (now - k->created_ns > REJECT_AFTER_NS) return NULL;
  return k;
}

// Writes the outer and inner headers into d and seals kind/flags/seq + payload (already at
// d + HDR + INNER). Returns the datagram length, or 0 when the peer has no usable session.
static int build(tunnel *t, peer *p, int pathi, uint8_t *d, int payload_len, int kind,
                 uint8_t flags, uint16_t probe_id, uint64_t seq, int64_t now) {
  keypair *k = usable(p, now);
  if (!k) {
    t->c.no_session++;
    if (p->kp[TN_SLOT_CURRENT].valid) t->c.expired++;
    return 0;
  }
  uint64_t counter = k->send_counter++;
  d[0] = 4;
  d[1] = (uint8_t)pathi;
  d[2] = d[3] = 0;
  put32(d + 4, k->remote_index);
  put64(d + 8, counter);
  d[HDR] = (uint8_t)kind;
  d[HDR + 1] = flags;
  d[HDR + 2] = (uint8_t)probe_id;
  d[HDR + 3] = (uint8_t)(probe_id >> 8);
  put64(d + HDR + 4, seq);
  if (!seal(k->enc, counter, d, INNER + payload_len)) return 0;
  return HDR + INNER + payload_len + TAG;
}

static void count_tx(path *pp, int len, int64_t now) {
  pp->s.tx_packets++;
  pp->s.tx_bytes += (uint64_t)len;
  pp->s.last_tx_ns = now;
}

// Sends one tunnel-internal message (probe, reply, keepalive, control) at once.
int tn_send_now(tunnel *t, peer *p, int pathi, int kind, uint8_t flags, uint16_t id,
                    const uint8_t *payload, uint32_t len, int64_t now) {
  path *pp = &p->paths[pathi];
  if (!pp->s.endpoint_valid) return -ENOTCONN;
  int sock = pp->s.socket;
  if (sock < 0 || sock >= TN_MAX_SOCKETS || t->socks[sock] < 0) return -EBADF;
  if (len > MAX_PACKET) return -EMSGSIZE;
  if (len) memcpy(t->tmp + HDR + INNER, payload, len);
  int n = build(t, p, pathi, t->tmp, (int)len, kind, flags, id, 0, now);
  if (n == 0) return -ENOKEY;
  ssize_t r = sendto(t->socks[sock], t->tmp, (size_t)n, MSG_DONTWAIT,
                     (const struct sockaddr *)&pp->s.endpoint, sizeof pp->s.endpoint);
  if (r < 0) {
    t->c.udp_send_error++;
    return -errno;
  }
  t->c.udp_tx++;
  count_tx(pp, n, now);
  return 0;
}

void tn_start_probe(path *pp, int64_t now) {
  pp->probe_due = false;
  pp->probe_out = true;
  pp->probe_id++;
  pp->probe_sent_ns = now;
  pp->last_probe_ns = now;
}

// ---- tun -> UDP ----

static uint8_t *out_slot(tunnel *t) {
  if (t->out_used >= TN_BATCH * TN_MAX_PATHS) return NULL;
  return t->out_buf + (size_t)(t->out_used++) * SLOT;
}

static void flush(tunnel *t, int64_t now) {
  (void)now;
  for (int s = 0; s < TN_MAX_SOCKETS; s++) {
    out_queue *q = t->q[s];
    if (!q || q->n == 0) continue;
    int off = 0, tries = 0;
    while (off < q->n && t->socks[s] >= 0) {
      int r = sendmmsg(t->socks[s], q->msgs + off, (unsigned)(q->n - off), MSG_DONTWAIT);
      if (r > 0) {
        off += r;
        t->c.udp_tx += (uint64_t)r;
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == ENOBUFS) && tries++ < 3) {
        // The socket's send buffer is full: wait briefly for room rather than drop a batch.
        struct pollfd pfd = {.fd = t->socks[s], .events = POLLOUT};
        poll(&pfd, 1, 2);
        continue;
      }
      if (r < 0 && errno != EAGAIN && errno != ENOBUFS) {
        off++;  // this one datagram is refused (unreachable...): skip it, keep the rest
        t->c.udp_send_error++;
        continue;
      }
      break;
    }
    if (off < q->n) t->c.udp_send_error += (uint64_t)(q->n - off);
    q->n = 0;
  }
  t->out_used = 0;
}

static void enqueue(tunnel *t, peer *p, int pathi, uint8_t *d, int len, int64_t now) {
  path *pp = &p->paths[pathi];
  int s = pp->s.socket;
  out_queue *q = t->q[s];
  int i = q->n++;
  q->to[i] = pp->s.endpoint;
  q->iov[i].iov_base = d;
  q->iov[i].iov_len = (size_t)len;
  memset(&q->msgs[i], 0, sizeof q->msgs[i]);
  q->msgs[i].msg_hdr.msg_name = &q->to[i];
  q->msgs[i].msg_hdr.msg_namelen = sizeof q->to[i];
  q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
  q->msgs[i].msg_hdr.msg_iovlen = 1;
  count_tx(pp, len, now);
}

static bool path_ok(tunnel *t, peer *p, int i) {
  path *pp = &p->paths[i];
  return pp->s.endpoint_valid && pp->s.socket >= 0 && pp->s.socket < TN_MAX_SOCKETS &&
         t->socks[pp->s.socket] >= 0;
}

// The paths this packet goes on, as a mask.
static uint32_t choose_paths(tunnel *t, peer *p, int len, int64_t now) {
  switch (p->mode) {
    case TN_REDUNDANT: {
      uint32_t m = 0;
      for (int i = 0; i < TN_MAX_PATHS; i++)
        if ((p->mask & (1u << i)) && path_ok(t, p, i)) m |= 1u << i;
      if (m) return m;
      break;  // none of the chosen paths can send: fall back to best
    }
    case TN_AGGREGATE: {
      // Earliest expected arrival: each path is a virtual queue draining at its rate (the
      // weight, in kbit/s) behind its base one-way delay (half its lowest RTT); a packet goes
      // where it would arrive first. Packets then arrive nearly in order, and a slow path is
      // used only when the fast one's queue makes it worth it (not 1 packet in N regardless).
      int best = -1;
      int64_t best_at = 0, best_tx = 0;
      for (int i = 0; i < TN_MAX_PATHS; i++) {
        path *pp = &p->paths[i];
        if (!(p->mask & (1u << i)) || p->weights[i] == 0 || !path_ok(t, p, i)) continue;
        int64_t tx = (int64_t)len * 8 * 1000000LL / p->weights[i];  // ns at weight kbit/s
        int64_t start = pp->busy_until_ns > now ? pp->busy_until_ns : now;
        // The base delay (lowest RTT seen), not the latest: the latest includes the real
        // queues, and chasing them makes the split oscillate.
        int64_t at = start + tx + (pp->min_rtt_us > 0 ? pp->min_rtt_us * 500 : 0);
        if (best < 0 || at < best_at) {
          best = i;
          best_at = at;
          best_tx = tx;
        }
      }
      if (best >= 0) {
        path *pp = &p->paths[best];
        pp->busy_until_ns = (pp->busy_until_ns > now ? pp->busy_until_ns : now) + best_tx;
        return 1u << best;
      }
      break;
    }
    default:
      break;
  }
  int a = p->active >= 0 ? p->active : p->last_rx_path;
  if (a >= 0 && a < TN_MAX_PATHS && path_ok(t, p, a)) return 1u << a;
  for (int i = 0; i < TN_MAX_PATHS; i++)
    if (path_ok(t, p, i)) return 1u << i;
  return 0;
}

static peer *peer_for(tunnel *t, const uint8_t *pkt, int len) {
  peer *dflt = NULL;
  uint32_t dst = 0;
  if (len >= 20 && (pkt[0] >> 4) == 4) memcpy(&dst, pkt + 16, 4);
  for (int i = 0; i < TN_MAX_PEERS; i++) {
    peer *p = &t->peers[i];
    if (!p->used) continue;
    if (p->tunnel_ip == 0) {
      if (!dflt) dflt = p;
    } else if (dst != 0 && p->tunnel_ip == dst) {
      return p;
    }
  }
  return dflt;
}

static void from_tun(tunnel *t, int64_t now) {
  for (int b = 0; b < TN_BATCH; b++) {
    uint8_t *d = out_slot(t);
    if (!d) break;
    ssize_t n = read(t->tun_fd, d + HDR + INNER, MAX_PACKET + 1);
    if (n <= 0) {
      t->out_used--;
      break;
    }
    t->c.tun_rx++;
    if (n > MAX_PACKET) {
      t->c.tun_oversize++;
      t->out_used--;
      continue;
    }
    peer *p = peer_for(t, d + HDR + INNER, (int)n);
    uint32_t m = p ? choose_paths(t, p, (int)n, now) : 0;
    if (!m) {
      t->c.no_session++;
      t->out_used--;
      continue;
    }
    uint64_t seq = p->tx_seq++;
    // Every copy seals its own plaintext (seal works in place): copy before sealing any.
    uint8_t *slots[TN_MAX_PATHS];
    int which[TN_MAX_PATHS], k = 0;
    for (int i = 0; i < TN_MAX_PATHS; i++) {
      if (!(m & (1u << i))) continue;
      uint8_t *slot = k == 0 ? d : out_slot(t);
      if (!slot) break;
      if (k > 0) memcpy(slot + HDR + INNER, d + HDR + INNER, (size_t)n);
      slots[k] = slot;
      which[k++] = i;
    }
    for (int j = 0; j < k; j++) {
      int i = which[j];
      path *pp = &p->paths[i];
      uint8_t flags = 0;
      uint16_t id = 0;
      if (!pp->probe_out && (pp->probe_due || (t->busy_probe_ns > 0 &&
                                               now - pp->last_probe_ns >= t->busy_probe_ns))) {
        tn_start_probe(pp, now);
        flags = FLAG_PROBE;
        id = pp->probe_id;
      }
      int len = build(t, p, i, slots[j], (int)n, K_IP, flags, id, seq, now);
      if (len == 0) {
        if (flags) pp->probe_out = false;
        continue;
      }
      enqueue(t, p, i, slots[j], len, now);
    }
  }
}

// ---- UDP -> tun ----

static void to_tun(void *ctx, const uint8_t *pkt, int len) {
  tunnel *t = ctx;
  if (write(t->tun_fd, pkt, (size_t)len) < 0) t->c.tun_write_error++;
  else t->c.tun_tx++;
}

// How long a packet that overtook others may wait for them: the spread of the RTTs of the
// paths data came on in the last second, plus 2 ms, so it follows the paths as they change
// (a fixed depth fails: MLVPN#113). Not half the spread: queueing delay, the part that
// changes, sits in one direction only. 0 with one path.
static int64_t reorder_depth(peer *p, int64_t now) {
  int64_t lo = INT64_MAX, hi = -1;
  int n = 0;
  for (int i = 0; i < TN_MAX_PATHS; i++) {
    path *pp = &p->paths[i];
    if (!pp->last_data_rx_ns || now - pp->last_data_rx_ns > 1000000000LL) continue;
    int64_t rtt = pp->s.probe_rtt_us >= 0 ? pp->s.probe_rtt_us : pp->s.reply_rtt_us;
    if (rtt < 0) continue;
    n++;
    if (rtt < lo) lo = rtt;
    if (rtt > hi) hi = rtt;
  }
  if (n < 2) return 0;
  int64_t d = (hi - lo) * 1000 + 2000000LL;
  return d > 500000000LL ? 500000000LL : d;
}

static void handle_inner(tunnel *t, peer *p, int pi, int pathi, uint8_t *d, int len,
                         int64_t now) {
  uint8_t *in = d + HDR;
  int body = len - HDR - TAG - INNER;
  int kind = in[0];
  uint8_t flags = in[1];
  uint16_t id = get16(in + 2);
  uint64_t seq = get64(in + 4);
  path *pp = &p->paths[pathi];
  switch (kind) {
    case K_IP:
      pp->last_data_rx_ns = now;
      if (body > 0) {
        if (!replay_accept(&p->dedup, seq)) t->c.duplicates++;
        else ro_push(&p->ro, seq, in + INNER, body, now, reorder_depth(p, now), to_tun, t);
      }
      break;
    case K_CONTROL:
      t->c.controls++;
      emit(t, TN_EV_CONTROL, pi, pathi, pp->s.socket, NULL, 0, in + INNER, (uint32_t)body);
      break;
    case K_PROBE_REPLY:
      if (pp->probe_out && id == pp->probe_id) {
        pp->probe_out = false;
        pp->s.probe_rtt_us = (now - pp->probe_sent_ns) / 1000;
        if (pp->min_rtt_us <= 0 || pp->s.probe_rtt_us < pp->min_rtt_us) pp->min_rtt_us = pp->s.probe_rtt_us;
        emit(t, TN_EV_PROBE, pi, pathi, pp->s.socket, NULL, pp->s.probe_rtt_us, NULL, 0);
        tn_send_now(t, p, pathi, K_PROBE_ACK, 0, id, NULL, 0, now);
      }
      break;
    case K_PROBE_ACK:
      if (id == pp->reply_id && pp->reply_sent_ns) {
        pp->s.reply_rtt_us = (now - pp->reply_sent_ns) / 1000;
        if (pp->min_rtt_us <= 0 || pp->s.reply_rtt_us < pp->min_rtt_us) pp->min_rtt_us = pp->s.reply_rtt_us;
        pp->reply_sent_ns = 0;
      }
      break;
    default:
      break;  // keepalive
  }
  if (flags & FLAG_PROBE) {
    pp->reply_id = id;
    pp->reply_sent_ns = now;
    tn_send_now(t, p, pathi, K_PROBE_REPLY, 0, id, NULL, 0, now);
  }
}

static void handle_data(tunnel *t, int sock, const struct sockaddr_in *from, uint8_t *d, int len,
                        int64_t now) {
  if (len < OVERHEAD || d[1] >= TN_MAX_PATHS || d[2] || d[3]) {
    t->c.malformed++;
    return;
  }
  uint32_t idx = get32(d + 4);
  uint64_t counter = get64(d + 8);
  peer *p = NULL;
  keypair *k = NULL;
  int pi = -1, slot = -1;
  for (int i = 0; i < TN_MAX_PEERS && !k; i++) {
    if (!t->peers[i].used) continue;
    for (int s = 0; s < 3; s++) {
      keypair *c = &t->peers[i].kp[s];
      if (c->valid && c->local_index == idx) {
        p = &t->peers[i];
        k = c;
        pi = i;
        slot = s;
        break;
      }
    }
  }
  if (!k) {
    t->c.unknown_index++;
    return;
  }
  if (now - k->created_ns > REJECT_AFTER_NS) {
    t->c.expired++;
    return;
  }
  if (!open_in_place(k->dec, counter, d, len)) {
    t->c.auth_failed++;
    return;
  }
  if (!replay_accept(&k->rw, counter)) {
    t->c.replayed++;
    return;
  }
  if (d[HDR] > K_PROBE_ACK) {
    t->c.malformed++;
    return;
  }
  // Authenticated and fresh: only now may the peer's endpoint for this path move (roaming).
  int pathi = d[1];
  path *pp = &p->paths[pathi];
  if (!pp->s.endpoint_valid || pp->s.socket != sock ||
      pp->s.endpoint.sin_addr.s_addr != from->sin_addr.s_addr ||
      pp->s.endpoint.sin_port != from->sin_port) {
    if (pp->s.endpoint_valid) t->c.roamed++;
    pp->s.endpoint = *from;
    pp->s.socket = sock;
    pp->s.endpoint_valid = true;
  }
  pp->s.rx_packets++;
  pp->s.rx_bytes += (uint64_t)len;
  pp->s.last_rx_ns = now;
  // Best mode at the serve end answers on the path data last came on (not probes).
  if (d[HDR] == K_IP) p->last_rx_path = pathi;
  if (slot == TN_SLOT_NEXT) {
    // The initiator used the new session: it has the response, so we switch too.
    tn_keypair_clear(&p->kp[TN_SLOT_PREVIOUS]);
    p->kp[TN_SLOT_PREVIOUS] = p->kp[TN_SLOT_CURRENT];
    p->kp[TN_SLOT_CURRENT] = p->kp[TN_SLOT_NEXT];
    memset(&p->kp[TN_SLOT_NEXT], 0, sizeof p->kp[TN_SLOT_NEXT]);
    emit(t, TN_EV_CONFIRMED, pi, pathi, sock, NULL, 0, NULL, 0);
  }
  handle_inner(t, p, pi, pathi, d, len, now);
}

static void handle_handshake(tunnel *t, int sock, const struct sockaddr_in *from, uint8_t *d,
                             int len) {
  int want = d[0] == 1 ? 132 : 76;
  if (len != want || d[1] || d[2] || d[3]) {
    t->c.malformed++;
    return;
  }
  uint8_t mac[32];
  unsigned mlen = 0;
  if (!HMAC(EVP_sha256(), t->mac1_key, TN_KEY_LEN, d, (size_t)(len - 16), mac, &mlen) ||
      CRYPTO_memcmp(mac, d + len - 16, 16) != 0) {
    t->c.mac1_failed++;
    return;
  }
  t->c.handshakes++;
  emit(t, TN_EV_HANDSHAKE, -1, -1, sock, from, 0, d, (uint32_t)len);
}

static void from_socket(tunnel *t, int sock, int64_t now) {
  struct mmsghdr msgs[TN_BATCH];
  struct iovec iov[TN_BATCH];
  struct sockaddr_in from[TN_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < TN_BATCH; i++) {
    iov[i].iov_base = t->in_buf + (size_t)i * SLOT;
    iov[i].iov_len = SLOT;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(t->socks[sock], msgs, TN_BATCH, MSG_DONTWAIT, NULL);
  for (int i = 0; i < n; i++) {
    uint8_t *d = iov[i].iov_base;
    int len = (int)msgs[i].msg_len;
    t->c.udp_rx++;
    if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || len < 4 ||
        msgs[i].msg_hdr.msg_namelen != sizeof(struct sockaddr_in)) {
      t->c.malformed++;
      continue;
    }
    if (d[0] == 4) handle_data(t, sock, &from[i], d, len, now);
    else if (d[0] == 1 || d[0] == 2) handle_handshake(t, sock, &from[i], d, len);
    else t->c.malformed++;
  }
}

// Probes waiting for data to carry them go alone after PROBE_PIGGYBACK_NS; unanswered ones
// count as lost after their timeout. Returns whether any probe is pending.
static bool probe_timers(tunnel *t, int64_t now) {
  bool pending = false;
  for (int i = 0; i < TN_MAX_PEERS; i++) {
    peer *p = &t->peers[i];
    if (!p->used) continue;
    for (int j = 0; j < TN_MAX_PATHS; j++) {
      path *pp = &p->paths[j];
      if (pp->probe_out && now - pp->probe_sent_ns >= pp->probe_timeout_ns) {
        pp->probe_out = false;
        emit(t, TN_EV_PROBE, i, j, pp->s.socket, NULL, -1, NULL, 0);
      }
      if (pp->probe_due && !pp->probe_out && now >= pp->probe_due_ns) {
        tn_start_probe(pp, now);
        if (tn_send_now(t, p, j, K_KEEPALIVE, FLAG_PROBE, pp->probe_id, NULL, 0, now) != 0)
          pp->probe_out = false;
      }
      pending = pending || pp->probe_out || pp->probe_due;
    }
    if (p->ro.count > 0 && ro_expire(&p->ro, now, reorder_depth(p, now), to_tun, t)) pending = true;
  }
  return pending;
}

void *tn_run(void *arg) {
  tunnel *t = arg;
  struct pollfd pfd[2 + TN_MAX_SOCKETS];
  int sock_of[2 + TN_MAX_SOCKETS];
  bool pending = false;
  for (;;) {
    pthread_mutex_lock(&t->mu);
    if (t->stopping) {
      pthread_mutex_unlock(&t->mu);
      break;
    }
    int n = 0;
    pfd[n++] = (struct pollfd){.fd = t->evfd, .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = t->tun_fd, .events = POLLIN};
    for (int s = 0; s < TN_MAX_SOCKETS; s++) {
      if (t->socks[s] < 0) continue;
      sock_of[n] = s;
      pfd[n++] = (struct pollfd){.fd = t->socks[s], .events = POLLIN};
    }
    pthread_mutex_unlock(&t->mu);
    int r = poll(pfd, (nfds_t)n, pending ? 2 : 100);
    if (r < 0 && errno != EINTR) break;
    pthread_mutex_lock(&t->mu);
    int64_t now = now_ns();
    if (pfd[0].revents & POLLIN) {
      uint64_t x;
      if (read(t->evfd, &x, sizeof x) < 0) { /* nothing to drain */
      }
    }
    if (!t->stopping) {
      if (pfd[1].revents & POLLIN) {
        from_tun(t, now);
        flush(t, now);
      }
      for (int i = 2; i < n; i++) {
        int s = sock_of[i];
        if ((pfd[i].revents & POLLIN) && t->socks[s] == pfd[i].fd) from_socket(t, s, now);
      }
      // Probe replies and acks written above went out with sendto; data went in flush.
      pending = probe_timers(t, now_ns());
    }
    pthread_mutex_unlock(&t->mu);
  }
  return NULL;
}
