// The receiver's reorder buffer: inner packets carry the sender's sequence; packets that
// overtook others (a faster path, a path switch) wait until the gap fills or until `depth`
// has passed, then go out in order. Pure (no I/O): delivery is a callback.
#ifndef ROAM_TUNNEL_REORDER_H
#define ROAM_TUNNEL_REORDER_H

#include <stdbool.h>
#include <stdint.h>

#define RO_SIZE 512   // packets held at most (a bounded ring)
#define RO_SLOT 1600  // larger packets are delivered at once, never held

typedef struct ro_slot {
  bool used;
  uint16_t len;
  uint64_t seq;
  int64_t at_ns;
  uint8_t data[RO_SLOT];
} ro_slot;

typedef struct ro_stats {
  uint64_t held, skipped, late;
} ro_stats;

typedef struct tn_reorder {
  bool started;
  uint64_t next;
  uint32_t count;
  ro_slot *slots;  // RO_SIZE, allocated at the first packet that must wait
  ro_stats st;
} tn_reorder;

typedef void (*ro_deliver_fn)(void *ctx, const uint8_t *pkt, int len);

// depth_ns 0: no waiting (one path in use), packets go out as they come.
void ro_push(tn_reorder *r, uint64_t seq, const uint8_t *pkt, int len, int64_t now,
             int64_t depth_ns, ro_deliver_fn deliver, void *ctx);
// Gives up on gaps older than depth_ns. Returns whether packets are still held.
bool ro_expire(tn_reorder *r, int64_t now, int64_t depth_ns, ro_deliver_fn deliver, void *ctx);
void ro_free(tn_reorder *r);

#endif
