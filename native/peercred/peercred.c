/*
 * The credentials of the process at the other end of a connected Unix
 * socket (getsockopt SO_PEERCRED, socket(7)): the kernel records them at
 * connect(), so the peer cannot lie about them. Node has no API for this;
 * src/ports/peer-cred-linux.ts calls it with the fd of an accepted
 * connection of the admin socket.
 *
 *   peerCred(fd) → { pid, uid, gid }   throws Error with code "PEERCRED_<errno name>" on failure
 */
#include <errno.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>

static napi_value fail(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value set_int(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value x;
  if (napi_create_int64(env, v, &x) != napi_ok || napi_set_named_property(env, obj, name, x) != napi_ok) return NULL;
  return obj;
}

static napi_value peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      fd < 0) {
    napi_throw_type_error(env, NULL, "peerCred(fd): fd must be a non-negative integer");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  memset(&cred, 0, sizeof cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    int e = errno;
    return fail(env, e == EBADF ? "PEERCRED_EBADF" : e == ENOTSOCK ? "PEERCRED_ENOTSOCK" : "PEERCRED_FAILED", strerror(e));
  }
  if (len != sizeof cred) return fail(env, "PEERCRED_FAILED", "SO_PEERCRED returned a short answer");
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  if (set_int(env, obj, "pid", cred.pid) == NULL || set_int(env, obj, "uid", cred.uid) == NULL || set_int(env, obj, "gid", cred.gid) == NULL) return NULL;
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"peerCred", NULL, peer_cred, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
