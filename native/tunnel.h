// The tunnel's data path: one thread moving packets between a tun fd and UDP sockets (one
// per uplink), sealing and opening them with ChaCha20-Poly1305 from the OpenSSL Node carries.
// Handshakes, probing policy and modes are decided in TypeScript (src/tunnel/) and handed in;
// the layouts are those of src/tunnel/wire.ts. No Node API in here.
#ifndef ROAM_TUNNEL_H
#define ROAM_TUNNEL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define TN_MAX_PATHS 8
#define TN_MAX_SOCKETS 8
#define TN_MAX_PEERS 64
#define TN_KEY_LEN 32

enum tn_mode { TN_BEST = 0, TN_REDUNDANT = 1, TN_AGGREGATE = 2 };
enum tn_slot { TN_SLOT_CURRENT = 0, TN_SLOT_PREVIOUS = 1, TN_SLOT_NEXT = 2 };

// What the thread tells TypeScript (through the callback given to tn_create).
enum tn_event_type {
  TN_EV_HANDSHAKE = 1,  // a handshake datagram whose mac1 verified: bytes, socket, from
  TN_EV_CONTROL = 2,    // an authenticated control message: peer, path, bytes
  TN_EV_PROBE = 3,      // a probe answered (rtt_us) or lost (rtt_us = -1): peer, path
  TN_EV_CONFIRMED = 4,  // the peer's first packet under the "next" keypair: it is current now
};

typedef struct tn_event {
  int type;
  int peer;
  int path;
  int socket;
  struct sockaddr_in from;
  int64_t rtt_us;
  uint32_t len;
  uint8_t bytes[];
} tn_event;

typedef void (*tn_emit_fn)(void *ctx, tn_event *ev);  // takes ownership of ev (malloc'd)

typedef struct tn_path_stats {
  uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
  int64_t last_rx_ns, last_tx_ns;  // 0 = never
  int64_t probe_rtt_us;            // last RTT this end measured; -1 none
  int64_t reply_rtt_us;            // RTT the far end's probe-ack gave this end; -1 none
  bool endpoint_valid;
  struct sockaddr_in endpoint;
  int socket;
} tn_path_stats;

typedef struct tn_counters {
  uint64_t tun_rx, tun_tx, tun_write_error, tun_oversize;
  uint64_t udp_rx, udp_tx, udp_send_error;
  uint64_t malformed, unknown_index, auth_failed, replayed, duplicates, no_session, mac1_failed;
  uint64_t handshakes, controls, events_dropped, roamed, expired;
  // The reorder buffer: packets that waited, gaps given up on, packets after their gap.
  uint64_t reorder_held, reorder_skipped, reorder_late;
} tn_counters;

typedef struct tunnel tunnel;

int tn_create(tunnel **out, int tun_fd, const uint8_t mac1_key[TN_KEY_LEN], tn_emit_fn emit,
              void *ctx, const char **what);
// Opens a UDP socket bound to ip:port (ip NULL = any, port 0 = ephemeral) as socket `index`;
// *port_out is the bound port. Replaces an open one (the uplink was renumbered).
int tn_open_socket(tunnel *t, int index, const char *ip, int port, int *port_out,
                   const char **what);
void tn_close_socket(tunnel *t, int index);
// peer 0..TN_MAX_PEERS-1; tunnel_ip (network order) routes tun packets to it (0: default peer).
int tn_set_peer(tunnel *t, int peer, uint32_t tunnel_ip);
void tn_remove_peer(tunnel *t, int peer);
// The mobile end sets its endpoints; the serve end learns them from authenticated packets.
int tn_set_endpoint(tunnel *t, int peer, int path, int socket, const struct sockaddr_in *to);
int tn_set_keypair(tunnel *t, int peer, int slot, uint32_t local_index, uint32_t remote_index,
                   const uint8_t send_key[TN_KEY_LEN], const uint8_t recv_key[TN_KEY_LEN]);
// mode; active path (best); mask of paths in use (redundant, aggregate); weights (aggregate).
int tn_set_mode(tunnel *t, int peer, int mode, int active, uint32_t mask,
                const uint32_t weights[TN_MAX_PATHS]);
// Probes path now (piggy-backed on the next data packet if one leaves within a few ms).
int tn_probe(tunnel *t, int peer, int path, int64_t timeout_ns);
int tn_send_control(tunnel *t, int peer, int path, const uint8_t *bytes, uint32_t len);
int tn_send_raw(tunnel *t, int socket, const struct sockaddr_in *to, const uint8_t *bytes,
                uint32_t len);
void tn_get_counters(tunnel *t, tn_counters *out);
int tn_get_path(tunnel *t, int peer, int path, tn_path_stats *out);
// Busy paths are probed by flagging a data packet every this often (0: never).
void tn_set_busy_probe(tunnel *t, int64_t interval_ns);
// The JS side has consumed one event (events in flight are capped at 1024).
void tn_event_done(tunnel *t);
void tn_stop(tunnel *t);  // joins the thread; closes sockets (not the tun fd); idempotent
void tn_destroy(tunnel *t);

#endif
