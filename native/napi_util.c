// Node-API helpers: errno-carrying errors and property getters.
#define _GNU_SOURCE
#include "napi_util.h"

#include <stdio.h>
#include <string.h>

void roam_throw_last(napi_env env, const char *call) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "%s failed: %s", call,
           info && info->error_message ? info->error_message : "unknown error");
  napi_throw_error(env, "ERR_ROAM_NAPI", msg);
}

void roam_throw_errno(napi_env env, int err, const char *what, const char *detail) {
  const char *name = strerrorname_np(err);
  char msg[512];
  snprintf(msg, sizeof msg, "%s%s%s: %s (%s)", what, detail ? " " : "", detail ? detail : "",
           strerror(err), name ? name : "?");
  napi_value code, text, error, num, syscall;
  if (napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, code, text, &error) != napi_ok) {
    napi_throw_error(env, NULL, msg);
    return;
  }
  if (napi_create_int32(env, err, &num) == napi_ok)
    napi_set_named_property(env, error, "errno", num);
  if (napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &syscall) == napi_ok)
    napi_set_named_property(env, error, "syscall", syscall);
  napi_throw(env, error);
}

bool roam_get_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return false;
  return napi_get_named_property(env, obj, key, out) == napi_ok;
}

bool roam_get_double(napi_env env, napi_value obj, const char *key, double *out) {
  napi_value v;
  return roam_get_prop(env, obj, key, &v) && napi_get_value_double(env, v, out) == napi_ok;
}

bool roam_get_bool(napi_env env, napi_value obj, const char *key, bool *out) {
  napi_value v;
  return roam_get_prop(env, obj, key, &v) && napi_get_value_bool(env, v, out) == napi_ok;
}
