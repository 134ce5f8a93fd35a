// See tunnel_reorder.h. Sequence numbers come from the peer's authenticated inner header, so
// a jump is bounded: the ring moves forward rather than growing.
#include "tunnel_reorder.h"

#include <stdlib.h>
#include <string.h>

static ro_slot *slot_of(tn_reorder *r, uint64_t seq) { return &r->slots[seq % RO_SIZE]; }

static void drain(tn_reorder *r, ro_deliver_fn deliver, void *ctx) {
  while (r->count > 0) {
    ro_slot *s = slot_of(r, r->next);
    if (!s->used || s->seq != r->next) return;
    deliver(ctx, s->data, s->len);
    s->used = false;
    r->count--;
    r->next++;
  }
}

// Moves `next` up to target, delivering what is held on the way, counting the holes.
static void advance_to(tn_reorder *r, uint64_t target, ro_deliver_fn deliver, void *ctx) {
  while (r->next < target) {
    ro_slot *s = r->count ? slot_of(r, r->next) : NULL;
    if (s && s->used && s->seq == r->next) {
      deliver(ctx, s->data, s->len);
      s->used = false;
      r->count--;
    } else {
      r->st.skipped++;
    }
    r->next++;
    if (r->count == 0 && r->next < target) {
      r->st.skipped += target - r->next;
      r->next = target;
    }
  }
  drain(r, deliver, ctx);
}

void ro_push(tn_reorder *r, uint64_t seq, const uint8_t *pkt, int len, int64_t now,
             int64_t depth_ns, ro_deliver_fn deliver, void *ctx) {
  if (!r->started) {
    r->started = true;
    r->next = seq;
  }
  if (seq < r->next) {
    r->st.late++;  // its gap was given up on: better late than never for TCP
    deliver(ctx, pkt, len);
    return;
  }
  if (seq == r->next) {
    deliver(ctx, pkt, len);
    r->next++;
    drain(r, deliver, ctx);
    return;
  }
  if (depth_ns <= 0 && r->count == 0) {
    r->st.skipped += seq - r->next;
    r->next = seq + 1;
    deliver(ctx, pkt, len);
    return;
  }
  if (len > RO_SLOT) {
    deliver(ctx, pkt, len);
    return;
  }
  if (!r->slots) {
    r->slots = calloc(RO_SIZE, sizeof *r->slots);
    if (!r->slots) {
      deliver(ctx, pkt, len);
      return;
    }
  }
  if (seq - r->next >= RO_SIZE) advance_to(r, seq - RO_SIZE + 1, deliver, ctx);
  if (seq < r->next) {  // advance_to may have passed it? no: target <= seq; kept for safety
    deliver(ctx, pkt, len);
    return;
  }
  ro_slot *s = slot_of(r, seq);
  if (s->used) return;  // the same sequence twice: the dedup window lets none through
  s->used = true;
  s->seq = seq;
  s->len = (uint16_t)len;
  s->at_ns = now;
  memcpy(s->data, pkt, (size_t)len);
  r->count++;
  r->st.held++;
}

bool ro_expire(tn_reorder *r, int64_t now, int64_t depth_ns, ro_deliver_fn deliver, void *ctx) {
  while (r->count > 0) {
    // The first held packet after the gap: once it has waited `depth`, the gap is lost.
    uint64_t q = r->next;
    ro_slot *s = NULL;
    for (uint32_t i = 0; i < RO_SIZE; i++, q++) {
      ro_slot *c = slot_of(r, q);
      if (c->used && c->seq == q) {
        s = c;
        break;
      }
    }
    if (!s) {  // cannot happen while count > 0; recover rather than spin
      for (uint32_t i = 0; i < RO_SIZE; i++) r->slots[i].used = false;
      r->count = 0;
      return false;
    }
    if (now - s->at_ns < depth_ns) return true;
    advance_to(r, q, deliver, ctx);
  }
  return false;
}

void ro_free(tn_reorder *r) {
  free(r->slots);
  memset(r, 0, sizeof *r);
}
