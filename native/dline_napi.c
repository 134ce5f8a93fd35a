// JS class DelayLine(fdA, fdB, paramsAB, paramsBA, seed?) with set(dir, params), stats(),
// close(). Params: { delayUs, jitterUs, loss, stall, holdLimitPackets, queueLimitPackets,
// trace: null | { opportunitiesMs: number[], periodMs } }. The TS wrapper validates with
// friendly messages; the checks here only keep bad values out of the thread.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dline.h"
#include "napi_util.h"

#define DEFAULT_HOLD_LIMIT 65536

static bool range_error(napi_env env, const char *key, const char *rule) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s %s", key, rule);
  napi_throw_range_error(env, NULL, msg);
  return false;
}

static bool get_num(napi_env env, napi_value obj, const char *key, double lo, double hi,
                    double dflt, double *out) {
  napi_value v;
  napi_valuetype t = napi_undefined;
  if (roam_get_prop(env, obj, key, &v)) napi_typeof(env, v, &t);
  if (t == napi_undefined) {
    *out = dflt;
    if (!isnan(dflt)) return true;
    return range_error(env, key, "is required");
  }
  if (napi_get_value_double(env, v, out) != napi_ok || !isfinite(*out) || *out < lo || *out > hi)
    return range_error(env, key, "is out of range or not a number");
  return true;
}

static bool get_trace(napi_env env, napi_value obj, dl_trace **out) {
  *out = NULL;
  napi_value tv, arr;
  napi_valuetype t = napi_undefined;
  if (roam_get_prop(env, obj, "trace", &tv)) napi_typeof(env, tv, &t);
  if (t == napi_undefined || t == napi_null) return true;
  double period;
  bool is_array = false;
  if (!get_num(env, tv, "periodMs", 1, 4294967295.0, NAN, &period)) return false;
  if (!roam_get_prop(env, tv, "opportunitiesMs", &arr) ||
      napi_is_array(env, arr, &is_array) != napi_ok || !is_array)
    return range_error(env, "trace.opportunitiesMs", "must be an array");
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  if (n == 0) return range_error(env, "trace.opportunitiesMs", "must not be empty");
  dl_trace *tr = calloc(1, sizeof *tr);
  uint32_t *opp = malloc((size_t)n * sizeof *opp);
  if (!tr || !opp) {
    free(tr);
    free(opp);
    napi_throw_error(env, NULL, "out of memory");
    return false;
  }
  tr->opp_ms = opp;
  tr->count = n;
  tr->period_ms = (uint32_t)period;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    double ms = -1;
    if (napi_get_element(env, arr, i, &e) != napi_ok) ms = -1;
    else if (napi_get_value_double(env, e, &ms) != napi_ok) ms = -1;
    if (!(ms >= 0 && ms <= period && ms == floor(ms)) || (i > 0 && ms < opp[i - 1])) {
      dl_trace_free(tr);
      return range_error(env, "trace.opportunitiesMs",
                         "must be sorted integers within 0..periodMs");
    }
    opp[i] = (uint32_t)ms;
  }
  *out = tr;
  return true;
}

static bool get_params(napi_env env, napi_value obj, dl_params *p) {
  napi_valuetype t;
  if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object)
    return range_error(env, "params", "must be an object");
  double delay, jitter, hold, queue;
  bool stall = false;
  if (!get_num(env, obj, "delayUs", 0, 3600e6, 0, &delay) ||
      !get_num(env, obj, "jitterUs", 0, 3600e6, 0, &jitter) ||
      !get_num(env, obj, "loss", 0, 1, 0, &p->loss) ||
      !get_num(env, obj, "holdLimitPackets", 1, 1 << 24, DEFAULT_HOLD_LIMIT, &hold) ||
      !get_num(env, obj, "queueLimitPackets", 1, 1 << 24, DEFAULT_HOLD_LIMIT, &queue))
    return false;
  napi_value sv;
  if (roam_get_prop(env, obj, "stall", &sv) && napi_get_value_bool(env, sv, &stall) != napi_ok)
    return range_error(env, "stall", "must be a boolean");
  p->delay_ns = (int64_t)(delay * 1000);
  p->jitter_ns = (int64_t)(jitter * 1000);
  p->stall = stall;
  p->hold_limit = (uint32_t)hold;
  p->queue_limit = (uint32_t)queue;
  return get_trace(env, obj, &p->trace);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  // Safe from GC: the thread never calls into JS, so joining it here cannot deadlock.
  dl_destroy(data);
}

static dl_line *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, &data) != napi_ok || !data) {
    napi_throw_error(env, NULL, "not a DelayLine");
    return NULL;
  }
  return data;
}

static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], self;
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  int32_t fd_a, fd_b;
  if (argc < 4 || napi_get_value_int32(env, argv[0], &fd_a) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fd_b) != napi_ok || fd_a < 0 || fd_b < 0) {
    napi_throw_type_error(env, NULL, "DelayLine(fdA, fdB, paramsAB, paramsBA, seed?)");
    return NULL;
  }
  bool seeded = false;
  int64_t seed = 0;
  napi_valuetype st = napi_undefined;
  if (argc >= 5) napi_typeof(env, argv[4], &st);
  if (st != napi_undefined && st != napi_null) {
    if (napi_get_value_int64(env, argv[4], &seed) != napi_ok) {
      napi_throw_type_error(env, NULL, "seed must be a number");
      return NULL;
    }
    seeded = true;
  }
  dl_params ab = {0}, ba = {0};
  if (!get_params(env, argv[2], &ab)) return NULL;
  if (!get_params(env, argv[3], &ba)) {
    dl_trace_free(ab.trace);
    return NULL;
  }
  dl_line *l = NULL;
  const char *what = "";
  int err = dl_create(&l, fd_a, fd_b, &ab, &ba, seeded, (uint64_t)seed, &what);
  if (err) {
    roam_throw_errno(env, err, what, NULL);
    return NULL;
  }
  if (napi_wrap(env, self, l, finalize, NULL, NULL) != napi_ok) {
    dl_destroy(l);
    roam_throw_last(env, "napi_wrap");
    return NULL;
  }
  return self;
}

static int parse_dir(napi_env env, napi_value v) {
  char buf[4] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) == napi_ok && len == 2) {
    if (buf[0] == 'a' && buf[1] == 'b') return DL_AB;
    if (buf[0] == 'b' && buf[1] == 'a') return DL_BA;
  }
  napi_throw_range_error(env, NULL, "direction must be 'ab' or 'ba'");
  return -1;
}

static napi_value set(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  dl_line *l = unwrap(env, info, &argc, argv);
  if (!l) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "set(direction, params)");
    return NULL;
  }
  int dir = parse_dir(env, argv[0]);
  dl_params p = {0};
  if (dir < 0 || !get_params(env, argv[1], &p)) return NULL;
  int err = dl_set(l, dir, &p);
  if (err) roam_throw_errno(env, err, "DelayLine.set", "(closed)");
  return NULL;
}

static bool put(napi_env env, napi_value obj, const char *key, uint64_t v) {
  napi_value n;
  return napi_create_double(env, (double)v, &n) == napi_ok &&
         napi_set_named_property(env, obj, key, n) == napi_ok;
}

static napi_value dir_stats(napi_env env, dl_line *l, int dir) {
  dl_stats s;
  dl_get_stats(l, dir, &s);
  napi_value o;
  NAPI_OK(env, napi_create_object(env, &o));
  if (!put(env, o, "rxPackets", s.rx_packets) || !put(env, o, "rxBytes", s.rx_bytes) ||
      !put(env, o, "txPackets", s.tx_packets) || !put(env, o, "txBytes", s.tx_bytes) ||
      !put(env, o, "dropLoss", s.drop_loss) || !put(env, o, "dropStall", s.drop_stall) ||
      !put(env, o, "dropQueue", s.drop_queue) || !put(env, o, "dropError", s.drop_error) ||
      !put(env, o, "held", s.held) || !put(env, o, "readErrno", s.read_errno)) {
    roam_throw_last(env, "stats");
    return NULL;
  }
  return o;
}

static napi_value stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  dl_line *l = unwrap(env, info, &argc, NULL);
  if (!l) return NULL;
  napi_value o, ab, ba;
  NAPI_OK(env, napi_create_object(env, &o));
  if (!(ab = dir_stats(env, l, DL_AB)) || !(ba = dir_stats(env, l, DL_BA))) return NULL;
  NAPI_OK(env, napi_set_named_property(env, o, "ab", ab));
  NAPI_OK(env, napi_set_named_property(env, o, "ba", ba));
  return o;
}

static napi_value close_line(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  dl_line *l = unwrap(env, info, &argc, NULL);
  if (l) dl_stop(l);  // memory goes with the finalizer; stats() keeps working
  return NULL;
}

napi_value roam_init_delay_line(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"set", NULL, set, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_line, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  NAPI_OK(env, napi_define_class(env, "DelayLine", NAPI_AUTO_LENGTH, construct, NULL,
                                 sizeof methods / sizeof methods[0], methods, &cls));
  NAPI_OK(env, napi_set_named_property(env, exports, "DelayLine", cls));
  return exports;
}
