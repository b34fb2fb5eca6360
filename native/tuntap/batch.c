/*
 * The data path. One JS call moves a whole batch:
 *
 *   readBatch:  frames → data[off..] packed, (offsets[n], lengths[n]) … until
 *               the queue is empty, the arrays are full, or no more than
 *               maxFrame bytes are free. Every read is offered maxFrame + 1
 *               bytes, so a frame that fills them was cut: dropped, counted.
 *   writeBatch: frame i → exactly one write operation (one packet); a writev
 *               of queued frames would reach the kernel as one packet.
 *
 * Two engines, same results: io_uring (one IORING_OP_READ/WRITE per frame,
 * many per io_uring_enter) or plain read()/write() per frame. No allocation
 * per frame, no thread pool, no blocking: the fd is O_NONBLOCK and every
 * io_uring op RWF_NOWAIT.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tuntap.h"

#define MIN_READ_HINT 2u

static napi_value make_u32(napi_env env, uint32_t v) {
  napi_value out;
  napi_create_uint32(env, v, &out);
  return out;
}

static void count_rx_error(tt_dev *d, int err) {
  d->rx_errors++;
  d->last_errno = err;
}

/* Plain engine: read() per frame. */
static size_t read_plain(tt_dev *d, uint8_t *data, size_t size, uint32_t *offsets, uint32_t *lengths, size_t max) {
  size_t n = 0, off = 0, slot = (size_t)d->max_frame + 1;
  while (n < max && size - off >= slot) {
    ssize_t r = read(d->fd, data + off, slot);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) count_rx_error(d, errno);
      break;
    }
    if (r == 0) break;
    if ((size_t)r == slot) {
      d->rx_truncated++; /* filled all it was offered: may have been cut */
      continue;
    }
    offsets[n] = (uint32_t)off;
    lengths[n] = (uint32_t)r;
    n++;
    off += (size_t)r;
  }
  return n;
}

/*
 * io_uring engine: rounds of k reads, each into its own slot of maxFrame + 1
 * bytes after the packed frames; completed frames are moved down to stay
 * packed. A round that meets an empty queue (EAGAIN) is the last; a round
 * that fills every read doubles k. k starts from what the last call found.
 */
static size_t read_ring(tt_dev *d, uint8_t *data, size_t size, uint32_t *offsets, uint32_t *lengths, size_t max) {
  int32_t res[TT_RING_ENTRIES];
  size_t n = 0, off = 0, slot = (size_t)d->max_frame + 1;
  size_t k = d->read_hint;
  for (;;) {
    size_t want = k;
    if (want > max - n) want = max - n;
    if (want > (size - off) / slot) want = (size - off) / slot;
    if (want > TT_RING_ENTRIES) want = TT_RING_ENTRIES;
    if (want == 0) break;
    size_t base = off;
    for (size_t j = 0; j < want; j++)
      tt_ring_prep(&d->ring, (unsigned)j, IORING_OP_READ, d->fd, data + base + j * slot, (unsigned)slot);
    int rc = tt_ring_run(&d->ring, (unsigned)want, res);
    int last_round = rc < 0;
    for (size_t j = 0; j < want; j++) {
      int32_t r = res[j];
      if (r > 0 && (size_t)r < slot) {
        if (off != base + j * slot) memmove(data + off, data + base + j * slot, (size_t)r);
        offsets[n] = (uint32_t)off;
        lengths[n] = (uint32_t)r;
        n++;
        off += (size_t)r;
      } else if (r > 0) {
        d->rx_truncated++;
      } else {
        last_round = 1;
        if (r < 0 && r != -EAGAIN && r != -EINTR) count_rx_error(d, -r);
      }
    }
    if (last_round || n == max) break;
    k = want * 2;
  }
  size_t hint = n + 1; /* next time: what this call found, plus one read to see the queue empty */
  d->read_hint = (unsigned)(hint < MIN_READ_HINT ? MIN_READ_HINT : hint > TT_RING_ENTRIES ? TT_RING_ENTRIES : hint);
  return n;
}

/* readBatch(handle, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array) → count */
napi_value tt_read_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return NULL;
  tt_dev *d = tt_get_dev(env, argv[0]);
  uint8_t *data;
  uint32_t *offsets, *lengths;
  size_t size, n_off, n_len;
  if (d == NULL || !tt_get_bytes(env, argv[1], &data, &size) ||
      !tt_get_u32s(env, argv[2], &offsets, &n_off) || !tt_get_u32s(env, argv[3], &lengths, &n_len))
    return NULL;
  if (d->fd < 0) return make_u32(env, 0);
  size_t max = n_off < n_len ? n_off : n_len;
  size_t n = d->use_ring && max > 1 ? read_ring(d, data, size, offsets, lengths, max)
                                    : read_plain(d, data, size, offsets, lengths, max);
  d->rx_frames += n;
  return make_u32(env, (uint32_t)n);
}

static void count_tx(tt_dev *d, int result) {
  if (result >= 0) {
    d->tx_frames++;
  } else {
    d->tx_errors++;
    d->last_errno = -result;
  }
}

/* One write(); 0 on success or -errno. */
static int write_plain(tt_dev *d, const uint8_t *p, size_t len) {
  for (;;) {
    if (write(d->fd, p, len) >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

static int frame_in_bounds(size_t size, uint32_t off, uint32_t len) { return off <= size && len <= size - off; }

static uint32_t write_ring(tt_dev *d, uint8_t *data, size_t size, const uint32_t *offsets, const uint32_t *lengths,
                           uint32_t from, uint32_t to) {
  int32_t res[TT_RING_ENTRIES];
  uint32_t sent = 0, i = from;
  while (i < to) {
    unsigned k = 0;
    for (; i < to && k < TT_RING_ENTRIES; i++) {
      if (!frame_in_bounds(size, offsets[i], lengths[i])) {
        count_tx(d, -EFAULT);
        continue;
      }
      tt_ring_prep(&d->ring, k, IORING_OP_WRITE, d->fd, data + offsets[i], lengths[i]);
      k++;
    }
    if (k == 0) break;
    tt_ring_run(&d->ring, k, res);
    for (unsigned j = 0; j < k; j++) {
      count_tx(d, res[j] >= 0 ? 0 : res[j]);
      if (res[j] >= 0) sent++;
    }
  }
  return sent;
}

/* writeBatch(handle, data, offsets, lengths, from, to) → frames sent; refused ones are counted */
napi_value tt_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return NULL;
  tt_dev *d = tt_get_dev(env, argv[0]);
  uint8_t *data;
  uint32_t *offsets, *lengths;
  size_t size, n_off, n_len;
  uint32_t from = 0, to = 0;
  if (d == NULL || !tt_get_bytes(env, argv[1], &data, &size) ||
      !tt_get_u32s(env, argv[2], &offsets, &n_off) || !tt_get_u32s(env, argv[3], &lengths, &n_len))
    return NULL;
  napi_get_value_uint32(env, argv[4], &from);
  napi_get_value_uint32(env, argv[5], &to);
  if (d->fd < 0) return make_u32(env, 0);
  if (to > n_off) to = (uint32_t)n_off;
  if (to > n_len) to = (uint32_t)n_len;
  if (from >= to) return make_u32(env, 0);
  if (d->use_ring && to - from > 1) return make_u32(env, write_ring(d, data, size, offsets, lengths, from, to));
  uint32_t sent = 0;
  for (uint32_t i = from; i < to; i++) {
    int r = frame_in_bounds(size, offsets[i], lengths[i]) ? write_plain(d, data + offsets[i], lengths[i]) : -EFAULT;
    count_tx(d, r);
    if (r == 0) sent++;
  }
  return make_u32(env, sent);
}

/* writeOne(handle, frame: Uint8Array) → true when sent; refused frames are counted */
napi_value tt_write_one(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return NULL;
  tt_dev *d = tt_get_dev(env, argv[0]);
  uint8_t *data;
  size_t size;
  if (d == NULL || !tt_get_bytes(env, argv[1], &data, &size)) return NULL;
  napi_value out;
  int r = -EBADF;
  if (d->fd >= 0) {
    r = write_plain(d, data, size);
    count_tx(d, r);
  }
  napi_get_boolean(env, r == 0, &out);
  return out;
}

static void set_count(napi_env env, napi_value obj, const char *key, uint64_t v) {
  napi_value num;
  napi_create_double(env, (double)v, &num);
  napi_set_named_property(env, obj, key, num);
}

/* stats(handle) → { rxFrames, rxTruncated, rxErrors, txFrames, txErrors, lastError } */
napi_value tt_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  tt_dev *d = argc >= 1 ? tt_get_dev(env, argv[0]) : NULL;
  if (d == NULL) return NULL;
  napi_value out, last;
  napi_create_object(env, &out);
  set_count(env, out, "rxFrames", d->rx_frames);
  set_count(env, out, "rxTruncated", d->rx_truncated);
  set_count(env, out, "rxErrors", d->rx_errors);
  set_count(env, out, "txFrames", d->tx_frames);
  set_count(env, out, "txErrors", d->tx_errors);
  if (d->last_errno != 0)
    napi_create_string_utf8(env, uv_err_name(-d->last_errno), NAPI_AUTO_LENGTH, &last);
  else
    napi_get_undefined(env, &last);
  napi_set_named_property(env, out, "lastError", last);
  return out;
}
