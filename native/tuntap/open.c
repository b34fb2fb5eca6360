/*
 * Opening a queue:
 *
 *   [setns(netns)] → open("/dev/net/tun", O_RDWR|O_NONBLOCK|O_CLOEXEC)
 *                  → ioctl(TUNSETIFF, IFF_TAP|IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE)
 *                  → [setns(back)]
 *
 * A tun fd belongs to the network namespace it was opened in, so entering a
 * namespace for the open is enough: the calling thread (Node's JS thread)
 * enters it, opens, and returns at once; no other thread is affected
 * (setns(CLONE_NEWNET) is per thread). Opening the same name again with
 * IFF_MULTI_QUEUE attaches another queue to the same interface.
 * Each queue also gets its own small io_uring when asked and available
 * (batch.c), else it uses plain read()/write().
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tuntap.h"

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  tt_dev *d = data;
  tt_close_dev(env, d);
  d->magic = 0;
  free(d);
}

/* Opens the queue; returns fd or -errno with *syscall naming the failing step. */
static int open_queue(struct ifreq *ifr, const char **syscall) {
  *syscall = "open(/dev/net/tun)";
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  *syscall = "ioctl(TUNSETIFF)";
  if (ioctl(fd, TUNSETIFF, ifr) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

static int open_in_netns(const char *nspath, struct ifreq *ifr, const char **syscall) {
  *syscall = "open(netns)";
  int target = open(nspath, O_RDONLY | O_CLOEXEC);
  if (target < 0) return -errno;
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    int err = errno;
    close(target);
    *syscall = "open(/proc/thread-self/ns/net)";
    return -err;
  }
  int result;
  if (setns(target, CLONE_NEWNET) < 0) {
    result = -errno;
    *syscall = "setns(netns)";
  } else {
    result = open_queue(ifr, syscall);
    if (setns(self, CLONE_NEWNET) < 0) {
      /* The JS thread would stay in the wrong namespace: nothing sane remains. */
      napi_fatal_error("tuntap", NAPI_AUTO_LENGTH, "setns back to the original namespace failed",
                       NAPI_AUTO_LENGTH);
    }
  }
  close(self);
  close(target);
  return result;
}

/*
 * The io_uring engine needs RWF_NOWAIT support from the tun driver. Probe with
 * a zero-length write: the driver refuses it (EIO while down, EINVAL for a
 * frame without a header) without side effects; an unsupported NOWAIT shows
 * as EOPNOTSUPP or EAGAIN instead.
 */
static int start_ring(tt_dev *d) {
  if (tt_ring_open(&d->ring, TT_RING_ENTRIES) < 0) return 0;
  static uint8_t none[1];
  int32_t res = 0;
  tt_ring_prep(&d->ring, 0, IORING_OP_WRITE, d->fd, none, 0);
  if (tt_ring_run(&d->ring, 1, &res) < 0 || (res != -EIO && res != -EINVAL && res < 0)) {
    tt_ring_close(&d->ring);
    return 0;
  }
  d->read_hint = 8;
  return 1;
}

/* open(name: string, tap: boolean, netns: string | null, maxFrame: number, ring: boolean)
 *   → { handle, name, engine: 'io_uring' | 'syscalls' } */
napi_value tt_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "open(name, tap, netns, maxFrame, ring)");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  size_t name_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], ifr.ifr_name, IFNAMSIZ, &name_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "name must be a string");
    return NULL;
  }
  bool tap = false;
  napi_get_value_bool(env, argv[1], &tap);
  ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | IFF_MULTI_QUEUE);

  char nspath[4096];
  napi_valuetype nstype;
  napi_typeof(env, argv[2], &nstype);
  int has_ns = nstype == napi_string;
  if (has_ns && napi_get_value_string_utf8(env, argv[2], nspath, sizeof nspath, NULL) != napi_ok) {
    napi_throw_type_error(env, NULL, "netns must be a path");
    return NULL;
  }
  uint32_t max_frame = 0;
  if (napi_get_value_uint32(env, argv[3], &max_frame) != napi_ok || max_frame < 64 || max_frame > (1u << 20)) {
    napi_throw_range_error(env, NULL, "maxFrame must be a number in 64 .. 1 MiB");
    return NULL;
  }
  bool want_ring = false;
  napi_get_value_bool(env, argv[4], &want_ring);

  const char *syscall = "open";
  int fd = has_ns ? open_in_netns(nspath, &ifr, &syscall) : open_queue(&ifr, &syscall);
  if (fd < 0) return tt_throw_errno(env, -fd, syscall);

  tt_dev *d = calloc(1, sizeof *d);
  if (d == NULL) {
    close(fd);
    return tt_throw_errno(env, ENOMEM, "calloc");
  }
  d->magic = TT_MAGIC;
  d->fd = fd;
  d->ring.fd = -1;
  d->use_ring = want_ring && start_ring(d);
  d->max_frame = max_frame;
  d->env = env;

  napi_value handle, actual, engine, result;
  if (napi_create_external(env, d, finalize, NULL, &handle) != napi_ok) {
    tt_close_dev(env, d);
    free(d);
    return NULL;
  }
  napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &actual);
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "name", actual);
  napi_create_string_utf8(env, d->use_ring ? "io_uring" : "syscalls", NAPI_AUTO_LENGTH, &engine);
  napi_set_named_property(env, result, "engine", engine);
  return result;
}

void tt_close_dev(napi_env env, tt_dev *d) {
  tt_poll_release(env, d);
  if (d->use_ring) {
    tt_ring_close(&d->ring);
    d->use_ring = 0;
  }
  if (d->fd >= 0) {
    close(d->fd);
    d->fd = -1;
  }
}

/* close(handle): idempotent. */
napi_value tt_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  tt_dev *d = argc >= 1 ? tt_get_dev(env, argv[0]) : NULL;
  if (d != NULL) tt_close_dev(env, d);
  return NULL;
}
