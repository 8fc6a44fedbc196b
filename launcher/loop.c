/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <liburing.h>

#include "loop.h"
#include "macro.h"

#define LOOP_RING_ENTRIES 64
#define STREAM_READ_SIZE  (64 * 1024)
/* How long loop_free() waits for cancelled operations to complete. */
#define LOOP_DRAIN_USEC (1 * USEC_PER_SEC)

/*
 * Operation kinds, kept in the low bits of user_data next to the source
 * pointer (malloc aligns to at least 8). 0 with a NULL pointer is our own
 * cancel requests, whose completions carry nothing to do.
 */
enum op {
	OP_INTERNAL = 0,
	OP_SIGNAL_READ = 1,
	OP_PIDFD_POLL = 2,
	OP_RECV = 3,
	OP_SEND = 4,
	OP_TIMEOUT = 5,
};
#define OP_MASK 7ULL

enum source_kind {
	SOURCE_SIGNAL,
	SOURCE_PIDFD,
	SOURCE_STREAM,
	SOURCE_TIMER,
};

struct loop_source {
	struct loop *loop;
	struct loop_source *prev, *next; /* every source, for loop_free() */
	enum source_kind kind;
	int fd;
	union {
		loop_signal_cb signal;
		loop_pidfd_cb pidfd;
		loop_stream_cb stream;
		loop_timer_cb timer;
	} cb;
	void *userdata;

	bool released;	  /* nobody holds a handle: free once nothing is in flight */
	bool finished;	  /* no more callbacks, whatever completes */
	unsigned pending; /* bit per enum op submitted and not yet completed */
	unsigned busy;	  /* inside one of its callbacks */

	struct signalfd_siginfo si;

	/* stream: out is what the kernel is sending (fixed while in flight); queue fills meanwhile
	 */
	uint8_t *rbuf;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	uint8_t *queue;
	size_t queue_len, queue_cap;

	/* timer: absolute CLOCK_MONOTONIC deadline, IORING_TIMEOUT_ABS */
	struct __kernel_timespec ts;
	uint64_t deadline;
	uint64_t period; /* 0 = one-shot */
};

struct loop {
	struct io_uring ring;
	struct loop_source *sources;
	bool exit_requested;
	int exit_code;
};

uint64_t loop_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t op_user_data(struct loop_source *s, enum op op)
{
	return (uint64_t)(uintptr_t)s | (uint64_t)op;
}

static struct io_uring_sqe *loop_get_sqe(struct loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (sqe)
		return sqe;
	/* Queue full: hand what we have to the kernel and try again. */
	if (io_uring_submit(&l->ring) < 0)
		return NULL;
	return io_uring_get_sqe(&l->ring);
}

static void source_maybe_free(struct loop_source *s)
{
	if (!s->released || s->pending || s->busy)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		s->loop->sources = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s->rbuf);
	free(s->out);
	free(s->queue);
	free(s);
}

static int source_submit(struct loop_source *s, enum op op)
{
	struct io_uring_sqe *sqe = loop_get_sqe(s->loop);

	if (!sqe)
		return -EBUSY;
	switch (op) {
	case OP_SIGNAL_READ:
		io_uring_prep_read(sqe, s->fd, &s->si, sizeof(s->si), 0);
		break;
	case OP_PIDFD_POLL:
		io_uring_prep_poll_add(sqe, s->fd, POLLIN);
		break;
	case OP_RECV:
		io_uring_prep_recv(sqe, s->fd, s->rbuf, STREAM_READ_SIZE, 0);
		break;
	case OP_SEND:
		io_uring_prep_send(sqe, s->fd, s->out + s->out_off, s->out_len - s->out_off,
				   MSG_NOSIGNAL);
		break;
	case OP_TIMEOUT:
		s->ts.tv_sec = (long long)(s->deadline / USEC_PER_SEC);
		s->ts.tv_nsec = (long long)(s->deadline % USEC_PER_SEC) * 1000;
		io_uring_prep_timeout(sqe, &s->ts, 0, IORING_TIMEOUT_ABS);
		break;
	case OP_INTERNAL:
		assert(false);
		return -EINVAL;
	}
	io_uring_sqe_set_data64(sqe, op_user_data(s, op));
	s->pending |= 1U << op;
	return 0;
}

/* Asks the kernel to drop every operation of s still in flight. */
static void source_cancel_ops(struct loop_source *s)
{
	for (enum op op = OP_SIGNAL_READ; op <= OP_TIMEOUT; op++) {
		struct io_uring_sqe *sqe;

		if (!(s->pending & (1U << op)))
			continue;
		sqe = loop_get_sqe(s->loop);
		if (!sqe)
			continue; /* loop_free() drains with a bound anyway */
		if (op == OP_TIMEOUT)
			io_uring_prep_timeout_remove(sqe, op_user_data(s, op), 0);
		else
			io_uring_prep_cancel64(sqe, op_user_data(s, op), 0);
		io_uring_sqe_set_data64(sqe, 0);
	}
}

static void source_finish(struct loop_source *s)
{
	if (s->finished)
		return;
	s->finished = true;
	source_cancel_ops(s);
	if (s->kind == SOURCE_STREAM)
		s->queue_len = 0;
}

static int source_new(struct loop *l, enum source_kind kind, int fd, void *userdata,
		      struct loop_source **ret)
{
	struct loop_source *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	assert(((uintptr_t)s & OP_MASK) == 0);
	s->loop = l;
	s->kind = kind;
	s->fd = fd;
	s->userdata = userdata;
	s->next = l->sources;
	if (l->sources)
		l->sources->prev = s;
	l->sources = s;
	*ret = s;
	return 0;
}

/* Drops a source whose first submit failed: nothing is in flight yet. */
static int source_abort(struct loop_source *s, int r)
{
	s->released = true;
	s->finished = true;
	source_maybe_free(s);
	return r;
}

static void source_hand_out(struct loop_source *s, struct loop_source **ret)
{
	if (ret)
		*ret = s;
	else
		s->released = true; /* floating */
}

/* io_uring waits for readiness itself only on blocking fds; on O_NONBLOCK ones it returns -EAGAIN.
 */
static int fd_make_blocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return NEG_ERRNO();
	if ((flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return NEG_ERRNO();
	return 0;
}

int loop_new(struct loop **ret)
{
	struct loop *l;
	int r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	r = io_uring_queue_init(LOOP_RING_ENTRIES, &l->ring, 0);
	if (r < 0) {
		free(l);
		return r;
	}
	*ret = l;
	return 0;
}

void loop_free(struct loop *l)
{
	uint64_t end;
	bool inflight;

	if (!l)
		return;
	for (struct loop_source *s = l->sources; s; s = s->next) {
		source_finish(s);
		s->released = true;
	}
	/* Buffers of pending reads stay ours until the kernel reports the cancellation. */
	end = loop_now_usec() + LOOP_DRAIN_USEC;
	for (;;) {
		struct io_uring_cqe *cqe;
		struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };

		inflight = false;
		for (struct loop_source *s = l->sources; s; s = s->next)
			if (s->pending)
				inflight = true;
		if (!inflight || loop_now_usec() >= end)
			break;
		io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
		while (io_uring_peek_cqe(&l->ring, &cqe) == 0) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			struct loop_source *s = (struct loop_source *)(uintptr_t)(ud & ~OP_MASK);

			io_uring_cqe_seen(&l->ring, cqe);
			if (s)
				s->pending &= ~(1U << (ud & OP_MASK));
		}
	}
	io_uring_queue_exit(&l->ring);
	while (l->sources) {
		struct loop_source *s = l->sources;

		l->sources = s->next;
		free(s->rbuf);
		free(s->out);
		free(s->queue);
		free(s);
	}
	free(l);
}

int loop_add_signalfd(struct loop *l, int fd, loop_signal_cb cb, void *userdata,
		      struct loop_source **ret)
{
	struct loop_source *s;
	int r;

	r = fd_make_blocking(fd);
	if (r < 0)
		return r;
	r = source_new(l, SOURCE_SIGNAL, fd, userdata, &s);
	if (r < 0)
		return r;
	s->cb.signal = cb;
	r = source_submit(s, OP_SIGNAL_READ);
	if (r < 0)
		return source_abort(s, r);
	source_hand_out(s, ret);
	return 0;
}

int loop_add_pidfd(struct loop *l, int pidfd, loop_pidfd_cb cb, void *userdata,
		   struct loop_source **ret)
{
	struct loop_source *s;
	int r;

	r = source_new(l, SOURCE_PIDFD, pidfd, userdata, &s);
	if (r < 0)
		return r;
	s->cb.pidfd = cb;
	r = source_submit(s, OP_PIDFD_POLL);
	if (r < 0)
		return source_abort(s, r);
	source_hand_out(s, ret);
	return 0;
}

int loop_add_stream(struct loop *l, int fd, loop_stream_cb cb, void *userdata,
		    struct loop_source **ret)
{
	struct loop_source *s;
	int r;

	r = fd_make_blocking(fd);
	if (r < 0)
		return r;
	r = source_new(l, SOURCE_STREAM, fd, userdata, &s);
	if (r < 0)
		return r;
	s->cb.stream = cb;
	s->rbuf = malloc(STREAM_READ_SIZE);
	if (!s->rbuf)
		return source_abort(s, -ENOMEM);
	r = source_submit(s, OP_RECV);
	if (r < 0)
		return source_abort(s, r);
	source_hand_out(s, ret);
	return 0;
}

int loop_add_timer(struct loop *l, uint64_t usec, bool periodic, loop_timer_cb cb, void *userdata,
		   struct loop_source **ret)
{
	struct loop_source *s;
	int r;

	if (periodic && usec == 0)
		return -EINVAL;
	r = source_new(l, SOURCE_TIMER, -1, userdata, &s);
	if (r < 0)
		return r;
	s->cb.timer = cb;
	s->deadline = loop_now_usec() + usec;
	s->period = periodic ? usec : 0;
	r = source_submit(s, OP_TIMEOUT);
	if (r < 0)
		return source_abort(s, r);
	source_hand_out(s, ret);
	return 0;
}

static int stream_start_send(struct loop_source *s)
{
	uint8_t *t;
	size_t cap;

	if ((s->pending & (1U << OP_SEND)) || s->queue_len == 0)
		return 0;
	/* Swap the staging buffer in: the kernel reads out, writes go to queue. */
	t = s->out;
	cap = s->out_cap;
	s->out = s->queue;
	s->out_cap = s->queue_cap;
	s->out_len = s->queue_len;
	s->out_off = 0;
	s->queue = t;
	s->queue_cap = cap;
	s->queue_len = 0;
	return source_submit(s, OP_SEND);
}

int loop_stream_write(struct loop_source *s, const void *buf, size_t len)
{
	if (s->kind != SOURCE_STREAM)
		return -EINVAL;
	if (s->finished)
		return -EPIPE;
	if (len == 0)
		return 0;
	if (s->queue_len + len > s->queue_cap || !s->queue) {
		size_t cap = MAX(s->queue_cap * 2, s->queue_len + len);
		uint8_t *q;

		cap = MAX(cap, (size_t)4096);
		q = realloc(s->queue, cap);
		if (!q)
			return -ENOMEM;
		s->queue = q;
		s->queue_cap = cap;
	}
	memcpy(s->queue + s->queue_len, buf, len);
	s->queue_len += len;
	return stream_start_send(s);
}

size_t loop_stream_pending(const struct loop_source *s)
{
	size_t n = s->queue_len;

	if (s->pending & (1U << OP_SEND))
		n += s->out_len - s->out_off;
	return n;
}

struct loop_source *loop_source_free(struct loop_source *s)
{
	if (!s)
		return NULL;
	source_finish(s);
	s->released = true;
	source_maybe_free(s);
	return NULL;
}

bool loop_source_is_active(const struct loop_source *s)
{
	return s && !s->finished;
}

void loop_exit(struct loop *l, int code)
{
	l->exit_requested = true;
	l->exit_code = code;
}

static void dispatch_stream(struct loop_source *s, enum op op, int res)
{
	if (op == OP_SEND) {
		if (res <= 0) {
			source_finish(s);
			s->cb.stream(s, NULL, 0, res < 0 ? res : -EPIPE, s->userdata);
			return;
		}
		s->out_off += (size_t)res;
		if (s->out_off < s->out_len) {
			if (source_submit(s, OP_SEND) < 0)
				goto fail;
			return;
		}
		s->out_len = s->out_off = 0;
		if (stream_start_send(s) < 0)
			goto fail;
		return;
	}

	if (res == -EINTR || res == -EAGAIN) {
		if (source_submit(s, OP_RECV) < 0)
			goto fail;
		return;
	}
	if (res <= 0) {
		source_finish(s);
		s->cb.stream(s, NULL, 0, res, s->userdata);
		return;
	}
	s->cb.stream(s, s->rbuf, (size_t)res, 0, s->userdata);
	if (!s->finished && source_submit(s, OP_RECV) < 0)
		goto fail;
	return;
fail:
	source_finish(s);
	s->cb.stream(s, NULL, 0, -EBUSY, s->userdata);
}

static void dispatch(struct loop *l, uint64_t ud, int res)
{
	struct loop_source *s = (struct loop_source *)(uintptr_t)(ud & ~OP_MASK);
	enum op op = (enum op)(ud & OP_MASK);

	if (!s)
		return;
	s->pending &= ~(1U << op);
	if (s->finished) {
		/* Cancelled, or the stream's other half completing after EOF. */
		source_maybe_free(s);
		return;
	}

	s->busy++;
	switch (op) {
	case OP_SIGNAL_READ:
		if (res == -EINTR || res == -EAGAIN) {
			res = source_submit(s, OP_SIGNAL_READ);
			if (res == 0)
				break;
		}
		if (res != (int)sizeof(s->si)) {
			source_finish(s);
			s->cb.signal(s, NULL, res < 0 ? res : -EIO, s->userdata);
			break;
		}
		s->cb.signal(s, &s->si, 0, s->userdata);
		if (!s->finished && (res = source_submit(s, OP_SIGNAL_READ)) < 0) {
			source_finish(s);
			s->cb.signal(s, NULL, res, s->userdata);
		}
		break;
	case OP_PIDFD_POLL:
		source_finish(s);
		s->cb.pidfd(s, res < 0 ? res : 0, s->userdata);
		break;
	case OP_RECV:
	case OP_SEND:
		dispatch_stream(s, op, res);
		break;
	case OP_TIMEOUT:
		if (res != -ETIME && res < 0) {
			/* Not expiry: the ring refused the timer; report it as fired rather than
			 * hang. */
			source_finish(s);
			s->cb.timer(s, s->userdata);
			break;
		}
		if (s->period) {
			uint64_t now = loop_now_usec();

			s->deadline += s->period;
			if (s->deadline <= now) /* missed ticks are skipped, not replayed */
				s->deadline = now + s->period;
			s->cb.timer(s, s->userdata);
			if (!s->finished && source_submit(s, OP_TIMEOUT) < 0)
				source_finish(s);
		} else {
			source_finish(s);
			s->cb.timer(s, s->userdata);
		}
		break;
	case OP_INTERNAL:
		break;
	}
	s->busy--;
	source_maybe_free(s);
}

int loop_run(struct loop *l)
{
	l->exit_requested = false;
	for (;;) {
		struct io_uring_cqe *cqe;
		int r;

		if (l->exit_requested)
			return l->exit_code;
		r = io_uring_submit_and_wait(&l->ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
			return r;
		/* Each completion is consumed before its callback runs, which may queue more. */
		while (io_uring_peek_cqe(&l->ring, &cqe) == 0) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&l->ring, cqe);
			dispatch(l, ud, res);
		}
	}
}
