/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The supervisor's io_uring loop with real kernel objects: a signalfd fed
 * by sigqueue() to ourselves, the pidfd of a short-lived child, timers,
 * and both ends of a socketpair.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "macro.h"

/* A guard so a broken loop fails the test instead of hanging it. */
static void on_guard(struct loop_source *s, void *userdata)
{
	loop_exit(userdata, -ETIMEDOUT);
}

static void add_guard(struct loop *l)
{
	assert_int_equal(loop_add_timer(l, 5 * USEC_PER_SEC, false, on_guard, l, NULL), 0);
}

/* ---- signalfd ------------------------------------------------------------------------ */

struct sig_ctx {
	struct loop *l;
	int values[4];
	int calls;
};

static void on_signal(struct loop_source *s, const struct signalfd_siginfo *si, int error,
		      void *userdata)
{
	struct sig_ctx *c = userdata;

	assert_int_equal(error, 0);
	assert_non_null(si);
	assert_int_equal(si->ssi_signo, SIGUSR1);
	assert_int_equal(si->ssi_pid, getpid());
	c->values[c->calls++] = si->ssi_int;
	if (c->calls == 1) /* the read must be re-armed for this one to arrive */
		assert_int_equal(sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 42 }), 0);
	else
		loop_exit(c->l, 0);
}

static void test_signalfd_sees_sigqueue_value(void **state)
{
	_cleanup_(loop_freep) struct loop *l = NULL;
	_cleanup_close_ int sfd = -1;
	struct sig_ctx c = { 0 };
	sigset_t mask, old;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &mask, &old), 0);
	/* NONBLOCK on purpose: io_uring would answer -EAGAIN; the loop clears it. */
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	assert_true(sfd >= 0);
	assert_int_equal(loop_new(&l), 0);
	c.l = l;
	add_guard(l);
	assert_int_equal(loop_add_signalfd(l, sfd, on_signal, &c, NULL), 0);

	assert_int_equal(sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 7 }), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.calls, 2);
	assert_int_equal(c.values[0], 7);
	assert_int_equal(c.values[1], 42);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- pidfd --------------------------------------------------------------------------- */

struct pid_ctx {
	struct loop *l;
	int calls;
	uint64_t at;
};

static void on_exit_pidfd(struct loop_source *s, int error, void *userdata)
{
	struct pid_ctx *c = userdata;

	assert_int_equal(error, 0);
	c->calls++;
	c->at = loop_now_usec();
	assert_false(loop_source_is_active(s)); /* one-shot */
	loop_exit(c->l, 0);
}

static void test_pidfd_fires_on_child_exit(void **state)
{
	_cleanup_(loop_freep) struct loop *l = NULL;
	_cleanup_close_ int pidfd = -1;
	struct loop_source *src = NULL;
	struct pid_ctx c = { 0 };
	siginfo_t si = { 0 };
	uint64_t start;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usleep(100 * 1000);
		_exit(7);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	start = loop_now_usec();

	assert_int_equal(loop_new(&l), 0);
	c.l = l;
	add_guard(l);
	assert_int_equal(loop_add_pidfd(l, pidfd, on_exit_pidfd, &c, &src), 0);
	assert_true(loop_source_is_active(src));
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.calls, 1);
	assert_true(c.at - start >= 90 * USEC_PER_MSEC);
	assert_true(c.at - start < 3 * USEC_PER_SEC);

	/* The poll only reports; the child is still ours to reap, with its status. */
	assert_int_equal(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
	assert_int_equal(si.si_code, CLD_EXITED);
	assert_int_equal(si.si_status, 7);
	loop_source_free(src);
}

/* ---- timers -------------------------------------------------------------------------- */

struct timer_ctx {
	struct loop *l;
	int ticks, victim_fired, oneshot;
	uint64_t start, oneshot_at, tick_at[8];
	struct loop_source *periodic;
};

static void on_victim(struct loop_source *s, void *userdata)
{
	struct timer_ctx *c = userdata;

	c->victim_fired++;
}

static void on_oneshot(struct loop_source *s, void *userdata)
{
	struct timer_ctx *c = userdata;

	c->oneshot++;
	c->oneshot_at = loop_now_usec();
	assert_false(loop_source_is_active(s));
}

static void on_done(struct loop_source *s, void *userdata)
{
	loop_exit(userdata, 0);
}

static void on_tick(struct loop_source *s, void *userdata)
{
	struct timer_ctx *c = userdata;

	assert_ptr_equal(s, c->periodic);
	c->tick_at[c->ticks] = loop_now_usec();
	if (++c->ticks == 3) {
		/* Freeing a source from its own callback is allowed and ends it. */
		c->periodic = loop_source_free(s);
		/* Give a fourth tick time to show up if freeing did not stop it. */
		assert_int_equal(
			loop_add_timer(c->l, 150 * USEC_PER_MSEC, false, on_done, c->l, NULL), 0);
	}
}

static void test_timers(void **state)
{
	_cleanup_(loop_freep) struct loop *l = NULL;
	struct loop_source *victim = NULL;
	struct timer_ctx c = { 0 };

	assert_int_equal(loop_new(&l), 0);
	c.l = l;
	add_guard(l);
	c.start = loop_now_usec();
	assert_int_equal(loop_add_timer(l, 50 * USEC_PER_MSEC, false, on_oneshot, &c, NULL), 0);
	assert_int_equal(loop_add_timer(l, 40 * USEC_PER_MSEC, true, on_tick, &c, &c.periodic), 0);
	assert_int_equal(loop_add_timer(l, 30 * USEC_PER_MSEC, false, on_victim, &c, &victim), 0);
	assert_true(loop_source_is_active(victim));
	victim = loop_source_free(victim); /* cancelled before it fired: never called */
	assert_null(victim);

	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.victim_fired, 0);
	assert_int_equal(c.oneshot, 1);
	assert_true(c.oneshot_at - c.start >= 50 * USEC_PER_MSEC);
	assert_int_equal(c.ticks, 3);
	/* Periodic: every 40 ms from the start, not drifting and not bunched up. */
	for (int i = 0; i < 3; i++) {
		assert_true(c.tick_at[i] - c.start >= (uint64_t)(i + 1) * 40 * USEC_PER_MSEC);
		if (i > 0)
			assert_true(c.tick_at[i] - c.tick_at[i - 1] >= 20 * USEC_PER_MSEC);
	}
	assert_null(c.periodic);
}

static void test_periodic_zero_rejected(void **state)
{
	_cleanup_(loop_freep) struct loop *l = NULL;

	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_add_timer(l, 0, true, on_victim, NULL, NULL), -EINVAL);
}

/* ---- streams ------------------------------------------------------------------------- */

#define BIG (3 * 1024 * 1024 + 17)

struct stream_ctx {
	struct loop *l;
	char *got;
	size_t n;
	int eofs, errors;
	bool exit_on_eof;
	size_t want;
};

static void on_stream(struct loop_source *s, const void *buf, size_t n, int error, void *userdata)
{
	struct stream_ctx *c = userdata;

	if (error < 0) {
		c->errors++;
		loop_exit(c->l, error);
		return;
	}
	if (n == 0) {
		c->eofs++;
		assert_false(loop_source_is_active(s));
		if (c->exit_on_eof)
			loop_exit(c->l, 0);
		return;
	}
	c->got = realloc(c->got, c->n + n + 1);
	assert_non_null(c->got);
	memcpy(c->got + c->n, buf, n);
	c->n += n;
	c->got[c->n] = 0;
	if (c->want && c->n >= c->want)
		loop_exit(c->l, 0);
}

static void on_writer(struct loop_source *s, const void *buf, size_t n, int error, void *userdata)
{
	struct stream_ctx *c = userdata;

	if (error < 0)
		c->errors++;
	else if (n == 0)
		c->eofs++;
	else
		c->n += n;
}

static void test_stream_read_and_eof(void **state)
{
	_cleanup_(loop_freep) struct loop *l = NULL;
	struct stream_ctx c = { 0 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(loop_new(&l), 0);
	c.l = l;
	add_guard(l);
	assert_int_equal(loop_add_stream(l, sv[0], on_stream, &c, NULL), 0);

	assert_int_equal(write(sv[1], "hello\n", 6), 6);
	c.want = 6;
	assert_int_equal(loop_run(l), 0);
	assert_string_equal(c.got, "hello\n");

	/* The read was re-armed; closing the peer is EOF, reported once. */
	assert_int_equal(write(sv[1], "more", 4), 4);
	close(sv[1]);
	c.want = 0;
	c.exit_on_eof = true;
	/* EOF ends the stream: queued output is refused from now on. */
	assert_int_equal(loop_run(l), 0);
	assert_string_equal(c.got, "hello\nmore");
	assert_int_equal(c.eofs, 1);
	assert_int_equal(c.errors, 0);
	close(sv[0]);
	free(c.got);
}

static void test_stream_write_in_order(void **state)
{
	_cleanup_(loop_freep) struct loop *l = NULL;
	_cleanup_free_ char *data = NULL;
	struct stream_ctx rd = { 0 }, wr = { 0 };
	struct loop_source *w = NULL;
	size_t half = BIG / 2;
	int sv[2];

	data = malloc(BIG);
	assert_non_null(data);
	for (size_t i = 0; i < BIG; i++)
		data[i] = (char)('a' + i % 23);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(loop_new(&l), 0);
	rd.l = wr.l = l;
	add_guard(l);
	assert_int_equal(loop_add_stream(l, sv[0], on_stream, &rd, NULL), 0);
	assert_int_equal(loop_add_stream(l, sv[1], on_writer, &wr, &w), 0);

	/* More than a socket buffer, queued in two parts while the first is in flight. */
	assert_int_equal(loop_stream_write(w, data, half), 0);
	assert_int_equal(loop_stream_write(w, data + half, BIG - half), 0);
	assert_int_equal(loop_stream_pending(w), BIG);
	rd.want = BIG;
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(rd.n, BIG);
	assert_memory_equal(rd.got, data, BIG);
	assert_int_equal(loop_stream_pending(w), 0);
	assert_int_equal(wr.errors, 0);
	assert_int_equal(loop_stream_write(w, "", 0), 0);

	loop_source_free(w);
	close(sv[0]);
	close(sv[1]);
	free(rd.got);
}

static void test_stream_write_to_closed_peer(void **state)
{
	_cleanup_(loop_freep) struct loop *l = NULL;
	struct stream_ctx wr = { 0 };
	struct loop_source *w = NULL;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	/* The peer stops reading but stays open, so our read side sees no EOF. */
	assert_int_equal(shutdown(sv[0], SHUT_RD), 0);
	assert_int_equal(loop_new(&l), 0);
	wr.l = l;
	assert_int_equal(loop_add_stream(l, sv[1], on_stream, &wr, &w), 0);
	/* MSG_NOSIGNAL: an error, not SIGPIPE killing the test. */
	assert_int_equal(loop_stream_write(w, "x", 1), 0);
	add_guard(l);
	assert_int_equal(loop_run(l), -EPIPE);
	assert_int_equal(wr.errors, 1);
	assert_false(loop_source_is_active(w));
	assert_int_equal(loop_stream_write(w, "x", 1), -EPIPE);
	loop_source_free(w);
	close(sv[0]);
	close(sv[1]);
}

/* Pending reads are cancelled and drained when the loop goes away. */
static void test_free_with_pending_ops(void **state)
{
	struct loop *l = NULL;
	struct loop_source *s = NULL;
	struct stream_ctx c = { 0 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_add_stream(l, sv[0], on_stream, &c, &s), 0);
	assert_int_equal(loop_add_timer(l, 60 * USEC_PER_SEC, true, on_victim, NULL, NULL), 0);
	uint64_t t = loop_now_usec();
	loop_free(l);
	assert_true(loop_now_usec() - t < USEC_PER_SEC);
	/* The peer may write now: nobody reads into freed memory. */
	assert_int_equal(write(sv[1], "late", 4), 4);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(c.n, 0);
}

static void test_wrong_kind(void **state)
{
	_cleanup_(loop_freep) struct loop *l = NULL;
	struct loop_source *t = NULL;

	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_add_timer(l, USEC_PER_SEC, false, on_victim, NULL, &t), 0);
	assert_int_equal(loop_stream_write(t, "x", 1), -EINVAL);
	assert_null(loop_source_free(t));
	assert_null(loop_source_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signalfd_sees_sigqueue_value),
		cmocka_unit_test(test_pidfd_fires_on_child_exit),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_periodic_zero_rejected),
		cmocka_unit_test(test_stream_read_and_eof),
		cmocka_unit_test(test_stream_write_in_order),
		cmocka_unit_test(test_stream_write_to_closed_peer),
		cmocka_unit_test(test_free_with_pending_ops),
		cmocka_unit_test(test_wrong_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
