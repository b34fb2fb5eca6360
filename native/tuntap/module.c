/* N-API glue: module exports, argument checks, errno → JS Error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tuntap.h"

napi_value tt_throw_errno(napi_env env, int err, const char *syscall) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value code, text, error, num, sc;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_throw(env, error);
  return NULL;
}

tt_dev *tt_get_dev(napi_env env, napi_value v) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, v, &p) != napi_ok || p == NULL ||
      ((tt_dev *)p)->magic != TT_MAGIC) {
    napi_throw_type_error(env, NULL, "expected a tuntap handle");
    return NULL;
  }
  return p;
}

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want,
                     void **data, size_t *len, const char *what) {
  bool is;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok ||
      type != want) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  return 1;
}

int tt_get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  return get_typed(env, v, napi_uint8_array, (void **)data, len, "expected a Uint8Array");
}

int tt_get_u32s(napi_env env, napi_value v, uint32_t **data, size_t *len) {
  return get_typed(env, v, napi_uint32_array, (void **)data, len, "expected a Uint32Array");
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, tt_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, tt_close, NULL, NULL, NULL, napi_default, NULL},
      {"readBatch", NULL, tt_read_batch, NULL, NULL, NULL, napi_default, NULL},
      {"writeBatch", NULL, tt_write_batch, NULL, NULL, NULL, napi_default, NULL},
      {"writeOne", NULL, tt_write_one, NULL, NULL, NULL, napi_default, NULL},
      {"poll", NULL, tt_poll, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, tt_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
