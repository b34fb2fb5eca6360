/*
 * Shoal's TUN/TAP binding: one /dev/net/tun queue per tt_dev.
 *
 *   open()       /dev/net/tun, O_NONBLOCK, TUNSETIFF (IFF_TAP|IFF_TUN, IFF_NO_PI,
 *                IFF_MULTI_QUEUE), optionally from inside a network namespace
 *   readBatch()  read() until EAGAIN / batch full, frames packed into one buffer
 *   writeBatch() one write() per frame: the kernel takes each write as one packet
 *   poll()       uv_poll on Node's own loop calls JS when the fd is readable
 *   close()      stop the poll handle, close the fd; the device is inert after
 *
 * Everything runs on the JS thread; nothing blocks and nothing busy-polls.
 */
#ifndef SHOAL_TUNTAP_H
#define SHOAL_TUNTAP_H

#include <stddef.h>
#include <stdint.h>
#include <linux/io_uring.h>
#include <node_api.h>
#include <uv.h>

#define TT_MAGIC 0x54415031u /* "TAP1": guards against foreign externals */
#define TT_RING_ENTRIES 256   /* ops per io_uring_enter at most */

/* uring.c: one ring per queue, used only to batch read/write syscalls */
typedef struct tt_ring {
  int fd;
  unsigned entries;
  unsigned *sq_head, *sq_tail, *sq_array, sq_mask;
  unsigned *cq_head, *cq_tail, cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  void *sq_map, *cq_map;
  size_t sq_len, cq_len, sqes_len;
} tt_ring;

int tt_ring_open(tt_ring *r, unsigned entries);
void tt_ring_close(tt_ring *r);
/* Prepare op i (0-based) of the next batch; user_data = i. */
void tt_ring_prep(tt_ring *r, unsigned i, int op, int fd, void *buf, unsigned len);
/* Submit ops 0..n-1 and wait for all of them; res[i] = result of op i. 0 or -errno. */
int tt_ring_run(tt_ring *r, unsigned n, int32_t *res);

typedef struct tt_dev {
  uint32_t magic;
  int fd;               /* -1 once closed */
  int use_ring;         /* the batch engine: io_uring (1) or plain read()/write() (0) */
  tt_ring ring;
  unsigned read_hint;   /* reads to submit in the first io_uring round (adapts to the queue depth) */
  uint32_t max_frame;   /* a read is only started with more than this much space */
  napi_env env;         /* the env that opened it: poll callbacks call back into it */
  uv_poll_t *poll;      /* allocated on first poll(); freed in its close callback */
  int polling;
  napi_ref callback;    /* strong while polling */
  napi_async_context async;
  int in_callback;      /* inside on_poll's call into JS: destroy the async context after it */
  napi_async_context async_to_destroy;
  /* counters, read by stats() */
  uint64_t rx_frames, rx_truncated, rx_errors;
  uint64_t tx_frames, tx_errors;
  int last_errno;
} tt_dev;

/* module.c: argument and error helpers */
napi_value tt_throw_errno(napi_env env, int err, const char *syscall);
tt_dev *tt_get_dev(napi_env env, napi_value v);
int tt_get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len);
int tt_get_u32s(napi_env env, napi_value v, uint32_t **data, size_t *len);

/* open.c */
napi_value tt_open(napi_env env, napi_callback_info info);
void tt_close_dev(napi_env env, tt_dev *d);
napi_value tt_close(napi_env env, napi_callback_info info);

/* batch.c */
napi_value tt_read_batch(napi_env env, napi_callback_info info);
napi_value tt_write_batch(napi_env env, napi_callback_info info);
napi_value tt_write_one(napi_env env, napi_callback_info info);
napi_value tt_stats(napi_env env, napi_callback_info info);

/* poll.c */
napi_value tt_poll(napi_env env, napi_callback_info info);
void tt_poll_release(napi_env env, tt_dev *d);

#endif
