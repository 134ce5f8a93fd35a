// Node-API entry point: openTun() and the DelayLine class (see dline_napi.c). Plain C so the
// addon builds with nothing but node-gyp and the Node headers.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "napi_util.h"
#include "tun.h"

// Copies a JS string argument into a fresh buffer (caller frees); NULL with a pending throw.
static char *get_string(napi_env env, napi_value v, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a string", what);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

// openTun(name: string, tap: boolean, netnsPath: string | null, txQueueLen?: number)
//   -> { fd, name }
static napi_value open_tun(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "openTun(name, tap, netnsPath) needs 3 arguments");
    return NULL;
  }
  bool tap = false;
  if (napi_get_value_bool(env, argv[1], &tap) != napi_ok) {
    napi_throw_type_error(env, NULL, "tap must be a boolean");
    return NULL;
  }
  int32_t txqlen = 0;
  napi_valuetype q_type = napi_undefined;
  if (argc >= 4) NAPI_OK(env, napi_typeof(env, argv[3], &q_type));
  if (q_type != napi_undefined && q_type != napi_null &&
      (napi_get_value_int32(env, argv[3], &txqlen) != napi_ok || txqlen < 1)) {
    napi_throw_range_error(env, NULL, "txQueueLen must be a positive integer");
    return NULL;
  }
  napi_valuetype ns_type;
  NAPI_OK(env, napi_typeof(env, argv[2], &ns_type));
  char *name = get_string(env, argv[0], "name");
  if (!name) return NULL;
  char *ns = NULL;
  if (ns_type != napi_null && ns_type != napi_undefined) {
    ns = get_string(env, argv[2], "netnsPath");
    if (!ns) {
      free(name);
      return NULL;
    }
  }
  roam_tun_result r = roam_open_tun(name, tap, ns, txqlen);
  if (r.restore_failed) {
    // This thread now sits in the wrong namespace; nothing it does afterwards can be trusted.
    napi_fatal_error("roam_native.openTun", NAPI_AUTO_LENGTH,
                     "could not setns back to the original network namespace", NAPI_AUTO_LENGTH);
  }
  if (r.fd < 0) {
    char detail[1024];
    snprintf(detail, sizeof detail, "(%s%s%s)", name, ns ? " in " : "", ns ? ns : "");
    roam_throw_errno(env, r.err, r.what, detail);
    free(name);
    free(ns);
    return NULL;
  }
  free(name);
  free(ns);
  napi_value obj, fd, ifname;
  NAPI_OK(env, napi_create_object(env, &obj));
  NAPI_OK(env, napi_create_int32(env, r.fd, &fd));
  NAPI_OK(env, napi_create_string_utf8(env, r.name, NAPI_AUTO_LENGTH, &ifname));
  NAPI_OK(env, napi_set_named_property(env, obj, "fd", fd));
  NAPI_OK(env, napi_set_named_property(env, obj, "name", ifname));
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  NAPI_OK(env, napi_create_function(env, "openTun", NAPI_AUTO_LENGTH, open_tun, NULL, &fn));
  NAPI_OK(env, napi_set_named_property(env, exports, "openTun", fn));
  if (!roam_init_netfilter(env, exports)) return NULL;
  if (!roam_init_tunnel(env, exports)) return NULL;
  return roam_init_delay_line(env, exports);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
