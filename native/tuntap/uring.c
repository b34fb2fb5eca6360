/*
 * A minimal io_uring (raw syscalls, no liburing) used only to batch syscalls:
 * each frame is still its own IORING_OP_WRITE / IORING_OP_READ, so the tun
 * driver sees one write (one packet) or one read per frame, exactly as with
 * write()/read(); only the user→kernel crossing is shared by the batch.
 * Every op carries RWF_NOWAIT and completes inline in io_uring_enter on the
 * calling (JS) thread: no io-wq workers, and nothing is left in flight when
 * tt_ring_run returns, so JS buffers are never written after the call.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h> /* RWF_NOWAIT */
#include <unistd.h>

#include "tuntap.h"

#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static int setup(unsigned entries, struct io_uring_params *p, unsigned flags) {
  memset(p, 0, sizeof *p);
  p->flags = flags;
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

int tt_ring_open(tt_ring *r, unsigned entries) {
  memset(r, 0, sizeof *r);
  r->fd = -1;
  struct io_uring_params p;
  /* SINGLE_ISSUER (6.0) and COOP_TASKRUN (5.19) avoid cross-CPU work; older kernels take 0. */
  int fd = setup(entries, &p, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL);
  if (fd < 0 && errno == EINVAL) fd = setup(entries, &p, 0);
  if (fd < 0) return -errno;
  if (!(p.features & IORING_FEAT_RW_CUR_POS) || !(p.features & IORING_FEAT_NODROP)) {
    close(fd);
    return -ENOTSUP;
  }
  r->fd = fd;
  r->entries = p.sq_entries;
  r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && r->cq_len > r->sq_len) r->sq_len = r->cq_len;
  r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  r->cq_map = single ? r->sq_map
                     : mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (r->sq_map == MAP_FAILED || r->cq_map == MAP_FAILED || r->sqes == MAP_FAILED) {
    int err = errno;
    tt_ring_close(r);
    return -err;
  }
  char *sq = r->sq_map, *cq = r->cq_map;
  r->sq_head = (unsigned *)(sq + p.sq_off.head);
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  return 0;
}

void tt_ring_close(tt_ring *r) {
  if (r->sqes != NULL && r->sqes != MAP_FAILED) munmap(r->sqes, r->sqes_len);
  if (r->cq_map != NULL && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map) munmap(r->cq_map, r->cq_len);
  if (r->sq_map != NULL && r->sq_map != MAP_FAILED) munmap(r->sq_map, r->sq_len);
  if (r->fd >= 0) close(r->fd);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}

void tt_ring_prep(tt_ring *r, unsigned i, int op, int fd, void *buf, unsigned len) {
  unsigned idx = (*r->sq_tail + i) & r->sq_mask;
  struct io_uring_sqe *s = &r->sqes[idx];
  memset(s, 0, sizeof *s);
  s->opcode = (uint8_t)op;
  s->fd = fd;
  s->addr = (uint64_t)(uintptr_t)buf;
  s->len = len;
  s->off = (uint64_t)-1; /* current position (IORING_FEAT_RW_CUR_POS) */
  s->rw_flags = RWF_NOWAIT;
  s->user_data = i;
  r->sq_array[idx] = idx;
}

int tt_ring_run(tt_ring *r, unsigned n, int32_t *res) {
  STORE_REL(r->sq_tail, *r->sq_tail + n);
  unsigned to_submit = n, expected = n, done = 0;
  int failure = 0;
  while (done < expected) {
    int rc = (int)syscall(__NR_io_uring_enter, r->fd, to_submit, expected - done, IORING_ENTER_GETEVENTS, NULL, 0);
    if (rc >= 0) {
      to_submit -= (unsigned)rc;
    } else if (errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      int err = errno;
      if (to_submit == 0) return -err; /* nothing left to submit and cannot wait: a broken ring */
      /* Take back what the kernel has not consumed; those ops fail with the error. */
      for (unsigned i = n - to_submit; i < n; i++) res[i] = -err;
      STORE_REL(r->sq_tail, LOAD_ACQ(r->sq_head));
      expected -= to_submit;
      to_submit = 0;
      failure = -err;
    }
    unsigned head = *r->cq_head, ctail = LOAD_ACQ(r->cq_tail);
    for (; head != ctail; head++) {
      struct io_uring_cqe *c = &r->cqes[head & r->cq_mask];
      if (c->user_data < n) res[c->user_data] = c->res;
      done++;
    }
    STORE_REL(r->cq_head, head);
  }
  return failure;
}
