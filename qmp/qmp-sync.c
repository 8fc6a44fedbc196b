/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Blocking QMP layer: poll() with deadlines around the non-blocking core, for
 * one-shot verbs and tests. The supervisor's io_uring loop uses the core
 * directly and does not come through here.
 */
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "macro.h"
#include "qmp-internal.h"

typedef bool (*sync_done_fn)(struct qmp_client *c, void *userdata);

/* Writes what the core has queued until the socket would block. */
static int sync_flush(struct qmp_client *c)
{
	for (;;) {
		const void *p;
		size_t len;
		ssize_t n;
		int r;

		r = qmp_pending_output(c, &p, &len);
		if (r < 0 || len == 0)
			return r;
		/* MSG_NOSIGNAL: a QEMU that went away is -EPIPE here, not SIGPIPE */
		n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			qmp_client_fail(c, NEG_ERRNO());
			return c->broken;
		}
		r = qmp_output_consumed(c, (size_t)n);
		if (r < 0)
			return r;
	}
}

static bool output_pending(const struct qmp_client *c)
{
	const void *p;
	size_t len;

	return qmp_pending_output(c, &p, &len) >= 0 && len > 0;
}

/*
 * Runs the client until done() says so, the deadline passes (-ETIMEDOUT),
 * or the connection breaks. With once, returns after the first read.
 */
static int sync_run(struct qmp_client *c, uint64_t deadline, sync_done_fn done, void *userdata,
		    bool once)
{
	char buf[16384];

	if (c->fd < 0)
		return -EBADF;

	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		uint64_t now, wake, d;
		ssize_t n;
		int r, timeout;

		if (done && done(c, userdata))
			return 0;
		if (c->broken)
			return c->broken;
		r = sync_flush(c);
		if (r < 0)
			return r;

		now = qmp_now_usec();
		r = qmp_handle_timeouts(c, now);
		if (r < 0)
			return r;
		if (done && done(c, userdata))
			return 0;
		if (now >= deadline)
			return -ETIMEDOUT;

		wake = deadline;
		if (qmp_next_deadline(c, &d) >= 0)
			wake = MIN(wake, d);
		timeout = wake <= now ? 0 : (int)MIN((wake - now + 999) / 1000, (uint64_t)INT_MAX);
		if (output_pending(c))
			pfd.events |= POLLOUT;

		r = poll(&pfd, 1, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return NEG_ERRNO();
		}
		if (r == 0)
			continue;
		if (pfd.revents & POLLNVAL)
			return -EBADF;
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;

		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			qmp_client_fail(c, NEG_ERRNO());
			return c->broken;
		}
		if (n == 0)
			return qmp_feed_eof(c);
		r = qmp_feed(c, buf, (size_t)n);
		if (r < 0)
			return r;
		if (once)
			return 0;
	}
}

static uint64_t sync_deadline(unsigned timeout_ms)
{
	return qmp_now_usec() + (uint64_t)timeout_ms * 1000u;
}

static bool is_ready(struct qmp_client *c, void *userdata)
{
	return qmp_is_ready(c);
}

int qmp_handshake_sync(struct qmp_client *c, unsigned timeout_ms)
{
	return sync_run(c, sync_deadline(timeout_ms), is_ready, NULL, false);
}

static int connect_unix(const char *path, uint64_t deadline, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len);

	for (;;) {
		_cleanup_close_ int fd = -1;
		struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
		int err;

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return NEG_ERRNO();
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) >= 0) {
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
		err = NEG_ERRNO();
		/* QEMU binds the socket some time after it started; until then keep trying */
		if (err != -ENOENT && err != -ECONNREFUSED && err != -EAGAIN && err != -EINTR)
			return err;
		if (qmp_now_usec() >= deadline)
			return err == -EINTR ? -ETIMEDOUT : err;
		(void)nanosleep(&pause, NULL);
	}
}

int qmp_connect_sync(const char *path, unsigned timeout_ms, struct qmp_client **ret)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	uint64_t deadline = sync_deadline(timeout_ms);
	_cleanup_close_ int fd = -1;
	int r;

	r = connect_unix(path, deadline, &fd);
	if (r < 0)
		return r;
	r = qmp_client_new(fd, &c);
	if (r < 0)
		return r;
	fd = -1;
	r = sync_run(c, deadline, is_ready, NULL, false);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(c);
	return 0;
}

struct exec_state {
	bool done;
	int error;
	json_object *ret;
};

static void exec_done(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		      const struct qmp_error *err, void *userdata)
{
	struct exec_state *st = userdata;

	st->done = true;
	st->error = error;
	if (error == 0)
		st->ret = json_object_get(ret);
	if (err) {
		c->last_error.class = strdup(err->class);
		c->last_error.desc = strdup(err->desc);
		c->has_last_error = c->last_error.class && c->last_error.desc;
	}
}

static bool exec_is_done(struct qmp_client *c, void *userdata)
{
	struct exec_state *st = userdata;

	return st->done;
}

int qmp_execute_sync(struct qmp_client *c, const char *name, json_object *args, unsigned timeout_ms,
		     json_object **ret_reply)
{
	struct exec_state st = {};
	uint64_t deadline = sync_deadline(timeout_ms);
	uint64_t id;
	int r;

	free(c->last_error.class);
	free(c->last_error.desc);
	c->last_error = (struct qmp_error){};
	c->has_last_error = false;

	r = qmp_send_command_timeout(c, name, args, timeout_ms, exec_done, &st, &id);
	if (r < 0)
		return r;
	r = sync_run(c, deadline, exec_is_done, &st, false);
	if (!st.done) {
		/* st lives on this stack frame: the core must forget it */
		(void)qmp_cancel_command(c, id);
		return r < 0 ? r : -ETIMEDOUT;
	}
	if (st.error < 0)
		return st.error;

	if (ret_reply)
		*ret_reply = st.ret;
	else
		json_object_put(st.ret);
	return 0;
}

const struct qmp_error *qmp_last_error(const struct qmp_client *c)
{
	return c->has_last_error ? &c->last_error : NULL;
}

int qmp_wait_sync(struct qmp_client *c, unsigned timeout_ms)
{
	return sync_run(c, sync_deadline(timeout_ms), NULL, NULL, true);
}

int qmp_query_cpus_fast(struct qmp_client *c, unsigned timeout_ms, struct qmp_cpu **ret_cpus,
			size_t *ret_n)
{
	_cleanup_(qmp_json_putp) json_object *reply = NULL;
	int r;

	r = qmp_execute_sync(c, "query-cpus-fast", NULL, timeout_ms, &reply);
	if (r < 0)
		return r;
	return qmp_parse_cpus_fast(reply, ret_cpus, ret_n);
}

int qmp_query_iothreads(struct qmp_client *c, unsigned timeout_ms,
			struct qmp_iothread **ret_threads, size_t *ret_n)
{
	_cleanup_(qmp_json_putp) json_object *reply = NULL;
	int r;

	r = qmp_execute_sync(c, "query-iothreads", NULL, timeout_ms, &reply);
	if (r < 0)
		return r;
	return qmp_parse_iothreads(reply, ret_threads, ret_n);
}

int qmp_query_status(struct qmp_client *c, unsigned timeout_ms, struct qmp_status *ret_status)
{
	_cleanup_(qmp_json_putp) json_object *reply = NULL;
	int r;

	r = qmp_execute_sync(c, "query-status", NULL, timeout_ms, &reply);
	if (r < 0)
		return r;
	return qmp_parse_status(reply, ret_status);
}
