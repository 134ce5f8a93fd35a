// Position in a looping delivery-opportunity schedule (Mahimahi: opportunity i of cycle k is
// at base + k * period + opp[i] ms; an entry equal to the period coincides with the next
// cycle's 0 and both count).
#ifndef ROAM_SCHED_H
#define ROAM_SCHED_H

#include <stdint.h>

#include "dline.h"

#define MS_NS 1000000LL

typedef struct sched {
  int64_t base_ns;
  uint64_t cycle;
  uint32_t idx;
} sched;

static inline int64_t sched_time(const sched *s, const dl_trace *t) {
  return s->base_ns + (int64_t)s->cycle * t->period_ms * MS_NS + (int64_t)t->opp_ms[s->idx] * MS_NS;
}

static inline void sched_next(sched *s, const dl_trace *t) {
  if (++s->idx == t->count) {
    s->idx = 0;
    s->cycle++;
  }
}

// Moves to the first opportunity at or after time at (never backwards).
static inline void sched_seek(sched *s, const dl_trace *t, int64_t at) {
  if (sched_time(s, t) >= at) return;
  int64_t period = (int64_t)t->period_ms * MS_NS;
  int64_t rel = at - s->base_ns;
  uint64_t cycle = (uint64_t)(rel / period);
  int64_t within = rel - (int64_t)cycle * period;
  uint32_t lo = 0, hi = t->count;  // first index with opp >= within
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if ((int64_t)t->opp_ms[mid] * MS_NS < within) lo = mid + 1;
    else hi = mid;
  }
  if (lo == t->count) {
    lo = 0;
    cycle++;
  }
  s->cycle = cycle;
  s->idx = lo;
}

#endif
