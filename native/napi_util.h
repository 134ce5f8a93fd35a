// Small helpers shared by the Node-API glue files.
#ifndef ROAM_NAPI_UTIL_H
#define ROAM_NAPI_UTIL_H

#include <node_api.h>
#include <stdbool.h>

// Evaluates a napi call; on failure throws (unless an exception is pending) and returns NULL.
#define NAPI_OK(env, call)                                   \
  do {                                                       \
    if ((call) != napi_ok) {                                 \
      roam_throw_last(env, #call);                           \
      return NULL;                                           \
    }                                                        \
  } while (0)

void roam_throw_last(napi_env env, const char *call);
// Throws an Error with code = errno name (e.g. "EPERM"), errno and syscall = what.
void roam_throw_errno(napi_env env, int err, const char *what, const char *detail);
bool roam_get_prop(napi_env env, napi_value obj, const char *key, napi_value *out);
bool roam_get_double(napi_env env, napi_value obj, const char *key, double *out);
bool roam_get_bool(napi_env env, napi_value obj, const char *key, bool *out);
napi_value roam_init_delay_line(napi_env env, napi_value exports);
napi_value roam_init_netfilter(napi_env env, napi_value exports);
napi_value roam_init_tunnel(napi_env env, napi_value exports);

#endif
