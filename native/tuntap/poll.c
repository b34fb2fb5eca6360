/*
 * Readiness on Node's own event loop:
 *
 *   kernel queues a frame → epoll (libuv) → on_poll → JS listener → readBatch()
 *
 * libuv's poll is level-triggered: while frames stay queued the listener is
 * called again on the next loop turn, so a listener may read a bounded
 * amount per call. While idle the process sleeps in epoll_wait.
 * An active poll keeps the event loop alive, like an open socket.
 */
#include <stdlib.h>

#include "tuntap.h"

static void free_handle(uv_handle_t *h) { free(h); }

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  tt_dev *d = h->data;
  if (d == NULL || d->fd < 0 || d->callback == NULL) return;
  /* On POLLERR libuv has already stopped the handle (status UV_EBADF). */
  if (status < 0) d->polling = 0;
  napi_env env = d->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, arg, result;
  napi_get_reference_value(env, d->callback, &cb);
  napi_get_global(env, &recv); /* napi_make_callback needs an object receiver */
  napi_create_int32(env, status, &arg);
  /*
   * The listener may close the device (or replace itself). d stays valid: its
   * finalizer is deferred to a later loop turn; only the async context this
   * call runs in must outlive the call, so its destruction waits until here.
   */
  d->in_callback = 1;
  napi_status s = napi_make_callback(env, d->async, recv, cb, 1, &arg, &result);
  d->in_callback = 0;
  if (d->async_to_destroy != NULL) {
    napi_async_destroy(env, d->async_to_destroy);
    d->async_to_destroy = NULL;
  }
  if (s == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static void stop(tt_dev *d) {
  if (d->poll != NULL && d->polling) uv_poll_stop(d->poll);
  d->polling = 0;
}

void tt_poll_release(napi_env env, tt_dev *d) {
  stop(d);
  if (d->poll != NULL) {
    d->poll->data = NULL;
    uv_close((uv_handle_t *)d->poll, free_handle);
    d->poll = NULL;
  }
  if (d->callback != NULL) {
    napi_delete_reference(env, d->callback);
    d->callback = NULL;
  }
  if (d->async != NULL) {
    if (d->in_callback)
      d->async_to_destroy = d->async;
    else
      napi_async_destroy(env, d->async);
    d->async = NULL;
  }
}

/* poll(handle, listener: ((status: number) => void) | null): start or stop readable events. */
napi_value tt_poll(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return NULL;
  tt_dev *d = tt_get_dev(env, argv[0]);
  if (d == NULL || d->fd < 0) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) {
    stop(d);
    if (d->callback != NULL) {
      napi_delete_reference(env, d->callback);
      d->callback = NULL;
    }
    return NULL;
  }
  if (d->callback != NULL) napi_delete_reference(env, d->callback);
  napi_create_reference(env, argv[1], 1, &d->callback);
  if (d->async == NULL) {
    napi_value resource, name;
    napi_create_object(env, &resource);
    napi_create_string_utf8(env, "ShoalTap", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, resource, name, &d->async);
  }
  if (d->poll == NULL) {
    uv_loop_t *loop;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
    d->poll = malloc(sizeof *d->poll);
    if (d->poll == NULL) return tt_throw_errno(env, 12 /* ENOMEM */, "malloc");
    int rc = uv_poll_init(loop, d->poll, d->fd);
    if (rc < 0) {
      free(d->poll);
      d->poll = NULL;
      return tt_throw_errno(env, -rc, "uv_poll_init");
    }
    d->poll->data = d;
  }
  int rc = uv_poll_start(d->poll, UV_READABLE, on_poll);
  if (rc < 0) return tt_throw_errno(env, -rc, "uv_poll_start");
  d->polling = 1;
  return NULL;
}
