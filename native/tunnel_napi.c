// JS class TunnelDataPath(tunFd, mac1Key, onEvent): the Node-API face of tunnel.c. The TS
// wrapper (src/tunnel/datapath.ts) validates with friendly messages; the checks here only
// keep bad values out of the thread. Events reach onEvent through a thread-safe function.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "napi_util.h"
#include "tunnel.h"

typedef struct wrapper {
  tunnel *t;
  napi_threadsafe_function tsfn;
  bool closed;
  int refs;  // the JS object and the thread-safe function; freed when both are gone
} wrapper;

static void unref_wrapper(wrapper *w) {
  if (--w->refs == 0) free(w);
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static void set_num(napi_env env, napi_value o, const char *k, double v) {
  napi_set_named_property(env, o, k, num(env, v));
}

static void set_str(napi_env env, napi_value o, const char *k, const char *v) {
  napi_value s;
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, k, s);
}

static const char *event_name(int type) {
  switch (type) {
    case TN_EV_HANDSHAKE: return "handshake";
    case TN_EV_CONTROL: return "control";
    case TN_EV_PROBE: return "probe";
    case TN_EV_CONFIRMED: return "confirmed";
    default: return "unknown";
  }
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  wrapper *w = context;
  tn_event *ev = data;
  if (env && cb) {
    napi_value o, undefined, bytes;
    void *dst = NULL;
    napi_create_object(env, &o);
    set_str(env, o, "type", event_name(ev->type));
    set_num(env, o, "peer", ev->peer);
    set_num(env, o, "path", ev->path);
    set_num(env, o, "socket", ev->socket);
    char ip[INET_ADDRSTRLEN] = "";
    if (ev->from.sin_family == AF_INET) inet_ntop(AF_INET, &ev->from.sin_addr, ip, sizeof ip);
    set_str(env, o, "fromIp", ip);
    set_num(env, o, "fromPort", ntohs(ev->from.sin_port));
    set_num(env, o, "rttUs", (double)ev->rtt_us);
    if (napi_create_buffer_copy(env, ev->len, ev->bytes, &dst, &bytes) == napi_ok)
      napi_set_named_property(env, o, "bytes", bytes);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, cb, 1, &o, NULL);
  }
  free(ev);
  if (w->t) tn_event_done(w->t);
}

static void emit_from_thread(void *ctx, tn_event *ev) {
  wrapper *w = ctx;
  if (napi_call_threadsafe_function(w->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) free(ev);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  wrapper *w = data;
  tn_destroy(w->t);
  w->t = NULL;
  unref_wrapper(w);
}

static void close_wrapper(wrapper *w) {
  if (w->closed) return;
  w->closed = true;
  tn_stop(w->t);  // the thread is joined: it emits nothing more
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
}

static void object_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  wrapper *w = data;
  close_wrapper(w);
  unref_wrapper(w);
}

static wrapper *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, &data) != napi_ok || !data) {
    napi_throw_error(env, NULL, "not a TunnelDataPath");
    return NULL;
  }
  wrapper *w = data;
  if (w->closed) {
    napi_throw_error(env, "ERR_ROAM_CLOSED", "the tunnel data path is closed");
    return NULL;
  }
  return w;
}

static bool get_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an integer");
    return false;
  }
  return true;
}

static bool get_u32(napi_env env, napi_value v, uint32_t *out) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an unsigned integer");
    return false;
  }
  return true;
}

static bool get_key(napi_env env, napi_value v, const uint8_t **out) {
  bool is = false;
  size_t len = 0;
  void *data = NULL;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is ||
      napi_get_buffer_info(env, v, &data, &len) != napi_ok || len != TN_KEY_LEN) {
    napi_throw_type_error(env, NULL, "a key is a 32-byte Buffer");
    return false;
  }
  *out = data;
  return true;
}

static bool get_bytes(napi_env env, napi_value v, const uint8_t **out, size_t *len) {
  bool is = false;
  void *data = NULL;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is ||
      napi_get_buffer_info(env, v, &data, len) != napi_ok || *len > 65000) {
    napi_throw_type_error(env, NULL, "expected a Buffer of at most 65000 bytes");
    return false;
  }
  *out = data;
  return true;
}

// An IPv4 address string (or null/undefined) into buf; false with a pending throw.
static bool get_ip(napi_env env, napi_value v, char buf[64], bool *present) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  *present = false;
  if (t == napi_null || t == napi_undefined) return true;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, 64, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "an address is a string");
    return false;
  }
  *present = true;
  return true;
}

static bool get_sockaddr(napi_env env, napi_value ipv, napi_value portv, struct sockaddr_in *a,
                         bool *present) {
  char ip[64];
  int32_t port = 0;
  if (!get_ip(env, ipv, ip, present)) return false;
  if (!*present) return true;
  if (!get_i32(env, portv, &port)) return false;
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)port);
  if (port < 1 || port > 65535 || inet_pton(AF_INET, ip, &a->sin_addr) != 1) {
    napi_throw_range_error(env, NULL, "bad IPv4 address or port");
    return false;
  }
  return true;
}

static napi_value result(napi_env env, int err, const char *what) {
  if (err > 0) {
    roam_throw_errno(env, err, what, NULL);
    return NULL;
  }
  return num(env, -err);
}

static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  int32_t fd;
  const uint8_t *mac1;
  napi_valuetype cbt;
  if (argc < 3 || !get_i32(env, argv[0], &fd) || !get_key(env, argv[1], &mac1)) return NULL;
  napi_typeof(env, argv[2], &cbt);
  if (cbt != napi_function) {
    napi_throw_type_error(env, NULL, "onEvent must be a function");
    return NULL;
  }
  wrapper *w = calloc(1, sizeof *w);
  if (!w) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "roam tunnel events", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, w, tsfn_finalize, w, call_js,
                                      &w->tsfn) != napi_ok) {
    free(w);
    roam_throw_last(env, "napi_create_threadsafe_function");
    return NULL;
  }
  const char *what = "";
  int e = tn_create(&w->t, fd, mac1, emit_from_thread, w, &what);
  if (e != 0) {
    w->refs = 1;
    w->closed = true;
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
    roam_throw_errno(env, e, what, NULL);
    return NULL;
  }
  w->refs = 2;
  if (napi_wrap(env, self, w, object_finalize, NULL, NULL) != napi_ok) {
    close_wrapper(w);
    unref_wrapper(w);
    roam_throw_last(env, "napi_wrap");
    return NULL;
  }
  return self;
}

// openSocket(index, ip | null, port) -> bound port
static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t index, port;
  char ip[64];
  bool has_ip;
  if (!w || argc < 3 || !get_i32(env, argv[0], &index) || !get_ip(env, argv[1], ip, &has_ip) ||
      !get_i32(env, argv[2], &port))
    return NULL;
  int bound = 0;
  const char *what = "";
  int e = tn_open_socket(w->t, index, has_ip ? ip : NULL, port, &bound, &what);
  if (e) {
    roam_throw_errno(env, e, what, has_ip ? ip : NULL);
    return NULL;
  }
  return num(env, bound);
}

static napi_value close_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t index;
  if (!w || argc < 1 || !get_i32(env, argv[0], &index)) return NULL;
  tn_close_socket(w->t, index);
  return NULL;
}

// setPeer(peer, tunnelIp | null)
static napi_value set_peer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t peer;
  char ip[64];
  bool has_ip;
  if (!w || argc < 2 || !get_i32(env, argv[0], &peer) || !get_ip(env, argv[1], ip, &has_ip))
    return NULL;
  struct in_addr a = {0};
  if (has_ip && inet_pton(AF_INET, ip, &a) != 1) {
    napi_throw_range_error(env, NULL, "bad tunnel IPv4 address");
    return NULL;
  }
  return result(env, tn_set_peer(w->t, peer, a.s_addr), "setPeer");
}

static napi_value remove_peer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t peer;
  if (!w || argc < 1 || !get_i32(env, argv[0], &peer)) return NULL;
  tn_remove_peer(w->t, peer);
  return NULL;
}

// setEndpoint(peer, path, socket, ip | null, port)
static napi_value set_endpoint(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t peer, path, sock;
  struct sockaddr_in a;
  bool has;
  if (!w || argc < 5 || !get_i32(env, argv[0], &peer) || !get_i32(env, argv[1], &path) ||
      !get_i32(env, argv[2], &sock) || !get_sockaddr(env, argv[3], argv[4], &a, &has))
    return NULL;
  return result(env, tn_set_endpoint(w->t, peer, path, sock, has ? &a : NULL), "setEndpoint");
}

// setKeypair(peer, slot 0 current | 2 next, localIndex, remoteIndex, sendKey, recvKey)
static napi_value set_keypair(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t peer, slot;
  uint32_t li, ri;
  const uint8_t *sk, *rk;
  if (!w || argc < 6 || !get_i32(env, argv[0], &peer) || !get_i32(env, argv[1], &slot) ||
      !get_u32(env, argv[2], &li) || !get_u32(env, argv[3], &ri) || !get_key(env, argv[4], &sk) ||
      !get_key(env, argv[5], &rk))
    return NULL;
  return result(env, tn_set_keypair(w->t, peer, slot, li, ri, sk, rk), "setKeypair");
}

// setMode(peer, mode, active, mask, weights: number[])
static napi_value set_mode(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t peer, mode, active;
  uint32_t mask, weights[TN_MAX_PATHS] = {0};
  if (!w || argc < 5 || !get_i32(env, argv[0], &peer) || !get_i32(env, argv[1], &mode) ||
      !get_i32(env, argv[2], &active) || !get_u32(env, argv[3], &mask))
    return NULL;
  uint32_t n = 0;
  if (napi_get_array_length(env, argv[4], &n) != napi_ok || n > TN_MAX_PATHS) {
    napi_throw_type_error(env, NULL, "weights is an array of at most 8 numbers");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, argv[4], i, &e);
    if (!get_u32(env, e, &weights[i])) return NULL;
  }
  return result(env, tn_set_mode(w->t, peer, mode, active, mask, weights), "setMode");
}

// probe(peer, path, timeoutMs) -> 0 sent or queued, EBUSY one is out; throws otherwise
static napi_value probe(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t peer, path, ms;
  if (!w || argc < 3 || !get_i32(env, argv[0], &peer) || !get_i32(env, argv[1], &path) ||
      !get_i32(env, argv[2], &ms))
    return NULL;
  int r = tn_probe(w->t, peer, path, (int64_t)ms * 1000000LL);
  if (r == EINVAL || r == ENOENT) return result(env, r, "probe");
  return num(env, r);  // 0, EBUSY (one is out) or the errno of sending it
}

// sendControl(peer, path, bytes) -> 0 or a send errno (ENOKEY: no session yet)
static napi_value send_control(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t peer, path;
  const uint8_t *b;
  size_t len;
  if (!w || argc < 3 || !get_i32(env, argv[0], &peer) || !get_i32(env, argv[1], &path) ||
      !get_bytes(env, argv[2], &b, &len))
    return NULL;
  int r = tn_send_control(w->t, peer, path, b, (uint32_t)len);
  return num(env, r < 0 ? -r : r);
}

// sendRaw(socket, ip, port, bytes) -> 0 or errno
static napi_value send_raw(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t sock;
  struct sockaddr_in a;
  bool has;
  const uint8_t *b;
  size_t len;
  if (!w || argc < 4 || !get_i32(env, argv[0], &sock) ||
      !get_sockaddr(env, argv[1], argv[2], &a, &has) || !get_bytes(env, argv[3], &b, &len))
    return NULL;
  if (!has) {
    napi_throw_type_error(env, NULL, "sendRaw needs an address");
    return NULL;
  }
  return num(env, tn_send_raw(w->t, sock, &a, b, (uint32_t)len));
}

static napi_value counters(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  wrapper *w = unwrap(env, info, &argc, NULL);
  if (!w) return NULL;
  tn_counters c;
  tn_get_counters(w->t, &c);
  napi_value o;
  NAPI_OK(env, napi_create_object(env, &o));
#define C(f, k) set_num(env, o, k, (double)c.f)
  C(tun_rx, "tunRx");
  C(tun_tx, "tunTx");
  C(tun_write_error, "tunWriteError");
  C(tun_oversize, "tunOversize");
  C(udp_rx, "udpRx");
  C(udp_tx, "udpTx");
  C(udp_send_error, "udpSendError");
  C(malformed, "malformed");
  C(unknown_index, "unknownIndex");
  C(auth_failed, "authFailed");
  C(replayed, "replayed");
  C(duplicates, "duplicates");
  C(no_session, "noSession");
  C(mac1_failed, "mac1Failed");
  C(handshakes, "handshakes");
  C(controls, "controls");
  C(events_dropped, "eventsDropped");
  C(roamed, "roamed");
  C(expired, "expired");
  C(reorder_held, "reorderHeld");
  C(reorder_skipped, "reorderSkipped");
  C(reorder_late, "reorderLate");
#undef C
  return o;
}

// pathStats(peer, path) -> object | null (no such peer)
static napi_value path_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t peer, path;
  if (!w || argc < 2 || !get_i32(env, argv[0], &peer) || !get_i32(env, argv[1], &path))
    return NULL;
  tn_path_stats s;
  napi_value o;
  if (tn_get_path(w->t, peer, path, &s) != 0) {
    napi_get_null(env, &o);
    return o;
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
  NAPI_OK(env, napi_create_object(env, &o));
  set_num(env, o, "txPackets", (double)s.tx_packets);
  set_num(env, o, "txBytes", (double)s.tx_bytes);
  set_num(env, o, "rxPackets", (double)s.rx_packets);
  set_num(env, o, "rxBytes", (double)s.rx_bytes);
  set_num(env, o, "lastRxAgoMs", s.last_rx_ns ? (double)(now - s.last_rx_ns) / 1e6 : -1);
  set_num(env, o, "lastTxAgoMs", s.last_tx_ns ? (double)(now - s.last_tx_ns) / 1e6 : -1);
  set_num(env, o, "probeRttUs", (double)s.probe_rtt_us);
  set_num(env, o, "replyRttUs", (double)s.reply_rtt_us);
  set_num(env, o, "socket", s.socket);
  if (s.endpoint_valid) {
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &s.endpoint.sin_addr, ip, sizeof ip);
    set_str(env, o, "endpointIp", ip);
    set_num(env, o, "endpointPort", ntohs(s.endpoint.sin_port));
  }
  return o;
}

static napi_value set_busy_probe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  wrapper *w = unwrap(env, info, &argc, argv);
  int32_t ms;
  if (!w || argc < 1 || !get_i32(env, argv[0], &ms)) return NULL;
  tn_set_busy_probe(w->t, (int64_t)ms * 1000000LL);
  return NULL;
}

static napi_value close_fn(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  NAPI_OK(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  if (napi_unwrap(env, self, &data) == napi_ok && data) close_wrapper(data);
  return NULL;
}

napi_value roam_init_tunnel(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"openSocket", NULL, open_socket, NULL, NULL, NULL, napi_default, NULL},
      {"closeSocket", NULL, close_socket, NULL, NULL, NULL, napi_default, NULL},
      {"setPeer", NULL, set_peer, NULL, NULL, NULL, napi_default, NULL},
      {"removePeer", NULL, remove_peer, NULL, NULL, NULL, napi_default, NULL},
      {"setEndpoint", NULL, set_endpoint, NULL, NULL, NULL, napi_default, NULL},
      {"setKeypair", NULL, set_keypair, NULL, NULL, NULL, napi_default, NULL},
      {"setMode", NULL, set_mode, NULL, NULL, NULL, napi_default, NULL},
      {"probe", NULL, probe, NULL, NULL, NULL, napi_default, NULL},
      {"sendControl", NULL, send_control, NULL, NULL, NULL, napi_default, NULL},
      {"sendRaw", NULL, send_raw, NULL, NULL, NULL, napi_default, NULL},
      {"counters", NULL, counters, NULL, NULL, NULL, napi_default, NULL},
      {"pathStats", NULL, path_stats, NULL, NULL, NULL, napi_default, NULL},
      {"setBusyProbeMs", NULL, set_busy_probe, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_fn, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  NAPI_OK(env, napi_define_class(env, "TunnelDataPath", NAPI_AUTO_LENGTH, construct, NULL,
                                 sizeof methods / sizeof methods[0], methods, &cls));
  NAPI_OK(env, napi_set_named_property(env, exports, "TunnelDataPath", cls));
  return exports;
}
