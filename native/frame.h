// Frames, FIFO queues and a free-list pool. Only the delay-line thread touches these.
#ifndef ROAM_FRAME_H
#define ROAM_FRAME_H

#include <stdint.h>
#include <stdlib.h>

// Frames up to this size come from the pool; larger ones (jumbo, unsegmented) are malloc'd.
#define FRAME_POOL_CAP 2048
#define FRAME_POOL_KEEP 2048

typedef struct frame {
  struct frame *next;
  int64_t release_ns;  // when the delay is over
  uint32_t len;
  uint32_t left;  // bytes still to send through trace opportunities
  uint32_t cap;
  unsigned char data[];
} frame;

typedef struct fifo {
  frame *head;
  frame *tail;
  uint32_t count;
} fifo;

typedef struct frame_pool {
  frame *free;
  uint32_t count;
} frame_pool;

static inline void fifo_push(fifo *q, frame *f) {
  f->next = NULL;
  if (q->tail) q->tail->next = f;
  else q->head = f;
  q->tail = f;
  q->count++;
}

static inline frame *fifo_pop(fifo *q) {
  frame *f = q->head;
  if (!f) return NULL;
  q->head = f->next;
  if (!q->head) q->tail = NULL;
  q->count--;
  return f;
}

// Appends all of src to dst, leaving src empty.
static inline void fifo_splice(fifo *dst, fifo *src) {
  if (!src->head) return;
  if (dst->tail) dst->tail->next = src->head;
  else dst->head = src->head;
  dst->tail = src->tail;
  dst->count += src->count;
  src->head = src->tail = NULL;
  src->count = 0;
}

static inline frame *frame_get(frame_pool *p, uint32_t len) {
  if (len <= FRAME_POOL_CAP && p->free) {
    frame *f = p->free;
    p->free = f->next;
    p->count--;
    return f;
  }
  uint32_t cap = len <= FRAME_POOL_CAP ? FRAME_POOL_CAP : len;
  frame *f = malloc(sizeof(frame) + cap);
  if (f) f->cap = cap;
  return f;
}

static inline void frame_put(frame_pool *p, frame *f) {
  if (f->cap == FRAME_POOL_CAP && p->count < FRAME_POOL_KEEP) {
    f->next = p->free;
    p->free = f;
    p->count++;
    return;
  }
  free(f);
}

static inline void fifo_free(fifo *q) {
  frame *f;
  while ((f = fifo_pop(q))) free(f);
}

static inline void pool_free(frame_pool *p) {
  while (p->free) {
    frame *f = p->free;
    p->free = f->next;
    free(f);
  }
  p->count = 0;
}

#endif
