// Internals shared by the delay-line thread (dline.c) and its lifecycle (dline_api.c).
#ifndef ROAM_DLINE_IMPL_H
#define ROAM_DLINE_IMPL_H

#include <pthread.h>
#include <time.h>

#include "dline.h"
#include "frame.h"
#include "sched.h"

// Counters have one writer (the thread) and are read from JS: relaxed atomics suffice.
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define BUMP(x, v) STORE(x, LOAD(x) + (v))

typedef struct dir {
  int in_fd, out_fd;
  dl_params p;
  uint64_t rng[2];
  fifo delay_q, trace_q, out_q;
  int64_t last_release;
  sched sch;
  bool out_blocked;
  bool in_dead;
  dl_stats st;
} dir;

struct dl_line {
  dir d[2];
  int evfd;
  pthread_t thread;
  bool running;
  int stop;  // atomic
  int pending_any;  // atomic hint; the truth is under mu
  pthread_mutex_t mu;
  bool pending[2];
  dl_params next[2];
  frame_pool pool;
  unsigned char scratch[DL_MAX_FRAME];
};

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The thread body; arg is the dl_line.
void *dl_run(void *arg);

#endif
