// Internals shared by the data path (tunnel.c, its thread) and its API (tunnel_api.c).
#ifndef ROAM_TUNNEL_IMPL_H
#define ROAM_TUNNEL_IMPL_H

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "tunnel.h"
#include "tunnel_reorder.h"

#define TN_BATCH 32
#define HDR 16
#define INNER 12
#define TAG 16
#define OVERHEAD (HDR + INNER + TAG)
#define MAX_PACKET 9216  // largest inner IP packet (the TS side caps the tun MTU at 9000)
#define SLOT (MAX_PACKET + OVERHEAD + 64)
#define WIN_BLOCKS 128
#define WIN_BITS ((WIN_BLOCKS - 1) * 64)
#define REJECT_AFTER_NS (180LL * 1000000000LL)  // WireGuard's Reject-After-Time
#define PROBE_PIGGYBACK_NS (5LL * 1000000LL)    // wait this long for data to carry a probe
#define BUSY_NS (5LL * 1000000LL)               // a path that sent within this is busy
#define MAX_EVENTS 1024

enum { K_IP = 0, K_CONTROL = 1, K_KEEPALIVE = 2, K_PROBE_REPLY = 3, K_PROBE_ACK = 4 };
#define FLAG_PROBE 0x01

typedef struct replay {
  uint64_t blocks[WIN_BLOCKS];
  uint64_t highest;
  bool any;
} replay;

typedef struct keypair {
  bool valid;
  uint32_t local_index, remote_index;
  EVP_CIPHER_CTX *enc, *dec;
  uint64_t send_counter;
  replay rw;
  int64_t created_ns;
} keypair;

typedef struct path {
  tn_path_stats s;
  bool probe_due, probe_out;
  uint16_t probe_id;
  int64_t probe_due_ns, probe_sent_ns, probe_timeout_ns, last_probe_ns;
  uint16_t reply_id;
  int64_t reply_sent_ns;
  int64_t last_data_rx_ns;
  int64_t min_rtt_us;     // lowest RTT seen: the base delay, without queueing
  int64_t busy_until_ns;  // aggregate: when this path's virtual queue drains
} path;

typedef struct peer {
  bool used;
  uint32_t tunnel_ip;
  keypair kp[3];
  path paths[TN_MAX_PATHS];
  int mode, active;
  uint32_t mask;
  uint32_t weights[TN_MAX_PATHS];
  int last_rx_path;
  uint64_t tx_seq;
  replay dedup;
  tn_reorder ro;
} peer;

typedef struct out_queue {
  struct mmsghdr msgs[TN_BATCH * TN_MAX_PATHS];
  struct iovec iov[TN_BATCH * TN_MAX_PATHS];
  struct sockaddr_in to[TN_BATCH * TN_MAX_PATHS];
  int n;
} out_queue;

struct tunnel {
  int tun_fd, evfd;
  int socks[TN_MAX_SOCKETS];
  pthread_t thread;
  bool started, stopping;
  pthread_mutex_t mu;
  uint8_t mac1_key[TN_KEY_LEN];
  peer peers[TN_MAX_PEERS];
  tn_counters c;
  tn_emit_fn emit;
  void *ctx;
  int64_t busy_probe_ns;
  int events_in_flight;  // under mu; decremented by tn_event_done
  uint8_t *out_buf;      // TN_BATCH * TN_MAX_PATHS slots, shared by all sockets' queues
  int out_used;
  out_queue *q[TN_MAX_SOCKETS];
  uint8_t *in_buf;  // TN_BATCH slots
  uint8_t tmp[SLOT];
};

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void tn_keypair_clear(keypair *k);
EVP_CIPHER_CTX *tn_aead_ctx(const uint8_t key[TN_KEY_LEN], bool enc);
// Seals and sends one tunnel-internal message now; 0 or -errno. Under t->mu.
int tn_send_now(tunnel *t, peer *p, int pathi, int kind, uint8_t flags, uint16_t id,
                const uint8_t *payload, uint32_t len, int64_t now);
void tn_start_probe(path *pp, int64_t now);
void *tn_run(void *arg);  // the thread
void tn_wake(tunnel *t);

#endif
