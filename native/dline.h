// The delay line: one thread moving frames between two tap fds with per-direction delay,
// jitter, loss, stall and an optional Mahimahi-style bandwidth trace. No Node API in here.
#ifndef ROAM_DLINE_H
#define ROAM_DLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DL_AB 0
#define DL_BA 1
#define DL_MAX_FRAME 65536
#define DL_TRACE_BYTES 1504  // bytes one Mahimahi delivery opportunity carries

typedef struct dl_trace {
  uint32_t *opp_ms;  // sorted offsets within the period, each <= period_ms
  uint32_t count;    // >= 1
  uint32_t period_ms;  // >= 1
} dl_trace;

typedef struct dl_params {
  int64_t delay_ns;
  int64_t jitter_ns;
  double loss;
  bool stall;
  uint32_t hold_limit;   // frames held in this direction, all stages
  uint32_t queue_limit;  // frames waiting for trace opportunities
  dl_trace *trace;       // owned by whoever holds the params; NULL = no trace
} dl_params;

typedef struct dl_stats {
  uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
  uint64_t drop_loss, drop_stall, drop_queue, drop_error;
  uint64_t held;
  uint64_t read_errno;  // nonzero once reading stopped because of this errno
} dl_stats;

typedef struct dl_line dl_line;

// Starts the thread. Takes ownership of ab->trace and ba->trace even on failure.
// Returns 0 or an errno, with what naming the failing step.
int dl_create(dl_line **out, int fd_a, int fd_b, dl_params *ab, dl_params *ba, bool seeded,
              uint64_t seed, const char **what);
// Hands new params to the thread. Takes ownership of p->trace. Returns 0 or an errno.
int dl_set(dl_line *l, int dir, dl_params *p);
void dl_get_stats(dl_line *l, int dir, dl_stats *out);
// Stops and joins the thread and frees held frames; idempotent. fds are left open.
void dl_stop(dl_line *l);
// dl_stop, then frees the object.
void dl_destroy(dl_line *l);
void dl_trace_free(dl_trace *t);

#endif
