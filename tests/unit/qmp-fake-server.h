/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Part of test-qmp.c (included by it, after its helpers): a scripted fake QMP
 * server in a forked child, and the tests of the blocking layer against it.
 *
 * A script is a list of steps: SEND writes text, where "$ID" is the id of
 * the last command read and "$IDn" that of the n-th (from 0); EXPECT reads
 * one command and checks its name (and arguments, "name {json}"); the child
 * exits 1 with a message on stderr at the first mismatch, so the parent's
 * fake_wait() fails the test. REPEAT writes its text n times; FLOOD does too
 * (forever with n 0) but ends the script with success once the client hung
 * up, for hostile servers that talk until the client gives up on them.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <time.h>

enum fake_op {
	FAKE_END,
	FAKE_SEND,
	FAKE_EXPECT,
	FAKE_SLEEP_MS,
	FAKE_WAIT_EOF, /* read (and ignore) until the client closes */
	FAKE_REPEAT,   /* arg, n times */
	FAKE_FLOOD,    /* arg, n times (0: forever) or until the client closes */
};

struct fake_step {
	enum fake_op op;
	const char *arg;
	long n;
};

#define FAKE_HANDSHAKE                                                                             \
	{ FAKE_SEND, GREETING }, { FAKE_EXPECT, "qmp_capabilities" },                              \
	{                                                                                          \
		FAKE_SEND, "{\"return\": {}, \"id\": $ID}\r\n"                                     \
	}

_printf_(1, 2) static _Noreturn void fake_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fake QMP server: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

static void fake_write(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fake_fail("write: %m");
		s += n;
		len -= (size_t)n;
	}
}

static void fake_send(int fd, const char *text, const int64_t *ids, size_t n_ids)
{
	while (*text) {
		const char *d = strstr(text, "$ID");
		char num[32];
		size_t idx;
		char *end;

		if (!d) {
			fake_write(fd, text, strlen(text));
			return;
		}
		fake_write(fd, text, (size_t)(d - text));
		d += 3;
		idx = strtoul(d, &end, 10);
		if (end == d)
			idx = n_ids - 1;
		if (n_ids == 0 || idx >= n_ids)
			fake_fail("no id for $ID%zu", idx);
		snprintf(num, sizeof(num), "%" PRId64, ids[idx]);
		fake_write(fd, num, strlen(num));
		text = end;
	}
}

/*
 * text count times (forever if 0), in writes of up to 64 KiB; with
 * until_closed, the client going away ends the server with success.
 */
static void fake_repeat(int fd, const char *text, long count, bool until_closed)
{
	static char buf[65536];
	size_t len = strlen(text), per = sizeof(buf) / len;

	for (size_t i = 0; i < per; i++)
		memcpy(buf + i * len, text, len);
	while (count >= 0) {
		size_t k = count == 0 ? per : MIN(per, (size_t)count), off = 0;

		while (off < k * len) {
			ssize_t n = write(fd, buf + off, k * len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && until_closed && (errno == EPIPE || errno == ECONNRESET))
				_exit(0);
			if (n <= 0)
				fake_fail("write: %m");
			off += (size_t)n;
		}
		if (count > 0 && (count -= (long)k) == 0)
			return;
	}
}

/* One "\n"-terminated line into line[], keeping the rest in in[]. */
static bool fake_read_line(int fd, char *in, size_t *in_len, size_t size, char *line)
{
	for (;;) {
		char *nl = memchr(in, '\n', *in_len);
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - in);

			memcpy(line, in, len);
			line[len] = 0;
			memmove(in, nl + 1, *in_len - len - 1);
			*in_len -= len + 1;
			return true;
		}
		if (*in_len == size)
			fake_fail("line too long");
		n = read(fd, in + *in_len, size - *in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fake_fail("read: %m");
		if (n == 0)
			return false;
		*in_len += (size_t)n;
	}
}

static void fake_expect(const char *line, const char *want, int64_t *ret_id)
{
	_cleanup_(qmp_json_putp) json_object *cmd = json_tokener_parse(line);
	_cleanup_(qmp_json_putp) json_object *want_args = NULL;
	_cleanup_free_ char *name = strdup(want);
	json_object *o, *args = NULL;
	char *sp;

	if (!cmd || !json_object_is_type(cmd, json_type_object))
		fake_fail("not a JSON object: %s", line);
	sp = strchr(name, ' ');
	if (sp) {
		*sp = 0;
		want_args = json_tokener_parse(sp + 1);
	}
	if (!json_object_object_get_ex(cmd, "execute", &o) ||
	    !streq(json_object_get_string(o), name))
		fake_fail("expected '%s', got: %s", name, line);
	(void)json_object_object_get_ex(cmd, "arguments", &args);
	if (!json_object_equal(args, want_args))
		fake_fail("arguments differ: %s", line);
	if (!json_object_object_get_ex(cmd, "id", &o) || !json_object_is_type(o, json_type_int))
		fake_fail("no integer id: %s", line);
	*ret_id = json_object_get_int64(o);
}

static _Noreturn void fake_run(int fd, const struct fake_step *steps)
{
	static char in[65536], line[65536];
	int64_t ids[32];
	size_t in_len = 0, n_ids = 0;

	for (const struct fake_step *s = steps; s->op != FAKE_END; s++)
		switch (s->op) {
		case FAKE_SEND:
			fake_send(fd, s->arg, ids, n_ids);
			break;
		case FAKE_EXPECT:
			if (!fake_read_line(fd, in, &in_len, sizeof(in), line))
				fake_fail("EOF, expected '%s'", s->arg);
			if (n_ids == ELEMENTSOF(ids))
				fake_fail("script too long");
			fake_expect(line, s->arg, &ids[n_ids++]);
			break;
		case FAKE_SLEEP_MS:
			(void)nanosleep(&(struct timespec){ .tv_nsec = atol(s->arg) * 1000000L },
					NULL);
			break;
		case FAKE_WAIT_EOF:
			while (fake_read_line(fd, in, &in_len, sizeof(in), line))
				;
			break;
		case FAKE_REPEAT:
		case FAKE_FLOOD:
			fake_repeat(fd, s->arg, s->n, s->op == FAKE_FLOOD);
			break;
		case FAKE_END:
			break;
		}
	_exit(0);
}

static pid_t fake_start(const struct fake_step *steps, int *ret_fd)
{
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		fake_run(sv[1], steps);
	}
	close(sv[1]);
	*ret_fd = sv[0];
	return pid;
}

static void fake_wait(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A client on a fresh fake server; the server must be done when the client is freed. */
static struct qmp_client *fake_client(const struct fake_step *steps, struct rec *r, pid_t *ret_pid)
{
	struct qmp_client *c;
	int fd;

	*ret_pid = fake_start(steps, &fd);
	assert_int_equal(qmp_client_new(fd, &c), 0);
	assert_int_equal(qmp_client_get_fd(c), fd);
	qmp_set_event_callback(c, on_event, r);
	return c;
}

static void test_sync_execute(void **state)
{
	static const struct fake_step script[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "query-status" },
		{ FAKE_SEND, "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 5, "
			     "\"microseconds\": 6}}\r\n{\"return\": {}, \"id\": 4242}\r\n" },
		/* the reply in two writes, so the client reads it in two pieces */
		{ FAKE_SEND, "{\"return\": {\"running\": tr" },
		{ FAKE_SLEEP_MS, "50" },
		{ FAKE_SEND, "ue, \"status\": \"running\"}, \"id\": $ID}\r\n" },
		{ FAKE_EXPECT, "human-monitor-command {\"command-line\": \"info foo\"}" },
		{ FAKE_SEND,
		  "{\"error\": {\"class\": \"GenericError\", \"desc\": \"unknown command: "
		  "'info foo'\"}, \"id\": $ID}\r\n" },
		{ FAKE_EXPECT, "stop" },
		{ FAKE_SEND, "{\"event\": \"STOP\"}\r\n{\"return\": {}, \"id\": $ID}\r\n" },
		{ FAKE_WAIT_EOF },
		{ FAKE_END },
	};
	_cleanup_(qmp_json_putp) json_object *args = NULL, *reply = NULL;
	struct qmp_client *c;
	struct qmp_status st;
	struct rec r = {};
	int major, minor;
	pid_t pid;

	c = fake_client(script, &r, &pid);
	assert_int_equal(qmp_handshake_sync(c, 5000), 0);
	assert_true(qmp_is_ready(c));
	assert_int_equal(qmp_version(c, &major, &minor, NULL), 0);
	assert_int_equal(major, 7);
	assert_int_equal(minor, 2);

	assert_int_equal(qmp_query_status(c, 5000, &st), 0);
	assert_true(st.running);
	assert_int_equal(st.state, QMP_RUN_STATE_RUNNING);
	qmp_status_done(&st);
	/* the event that came before the reply went to the callback */
	assert_int_equal(r.n_events, 1);
	assert_int_equal(r.events[0].ev.type, QMP_EVENT_RESUME);
	assert_int_equal(r.events[0].ev.seconds, 5);
	assert_null(qmp_last_error(c));

	args = json_tokener_parse("{\"command-line\": \"info foo\"}");
	assert_int_equal(qmp_execute_sync(c, "human-monitor-command", args, 5000, &reply),
			 -EREMOTEIO);
	assert_null(reply);
	assert_non_null(qmp_last_error(c));
	assert_string_equal(qmp_last_error(c)->class, "GenericError");
	assert_string_equal(qmp_last_error(c)->desc, "unknown command: 'info foo'");

	assert_int_equal(qmp_execute_sync(c, "stop", NULL, 5000, &reply), 0);
	assert_non_null(reply);
	assert_true(json_object_is_type(reply, json_type_object));
	assert_null(qmp_last_error(c));
	assert_int_equal(r.n_events, 2);

	qmp_client_free(c);
	fake_wait(pid);
	rec_done(&r);
}

static void test_sync_timeout(void **state)
{
	/* answers "a" only after "b" arrived: too late for "a" */
	static const struct fake_step script[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "a" },
		{ FAKE_EXPECT, "b" },
		{ FAKE_SEND, "{\"return\": \"late\", \"id\": $ID1}\r\n" },
		{ FAKE_SEND, "{\"return\": \"b\", \"id\": $ID2}\r\n" },
		{ FAKE_EXPECT, "c" },
		{ FAKE_WAIT_EOF },
		{ FAKE_END },
	};
	_cleanup_(qmp_json_putp) json_object *reply = NULL;
	struct qmp_client *c;
	struct rec r = {};
	uint64_t t0;
	pid_t pid;

	c = fake_client(script, &r, &pid);
	assert_int_equal(qmp_handshake_sync(c, 5000), 0);
	t0 = qmp_now_usec();
	assert_int_equal(qmp_execute_sync(c, "a", NULL, 200, &reply), -ETIMEDOUT);
	assert_true(qmp_now_usec() - t0 >= 200000);
	assert_null(reply);
	assert_int_equal(qmp_pending_commands(c), 0);

	assert_int_equal(qmp_execute_sync(c, "b", NULL, 5000, &reply), 0);
	assert_string_equal(json_object_get_string(reply), "b");
	/* a server that never answers */
	assert_int_equal(qmp_execute_sync(c, "c", NULL, 100, NULL), -ETIMEDOUT);
	assert_int_equal(qmp_client_error(c), 0);

	qmp_client_free(c);
	fake_wait(pid);
	rec_done(&r);
}

static void test_sync_eof(void **state)
{
	static const struct fake_step script[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "query-status" },
		{ FAKE_END },
	};
	static const struct fake_step early_close[] = {
		{ FAKE_SEND, GREETING },
		{ FAKE_END },
	};
	static const struct fake_step silent[] = {
		{ FAKE_WAIT_EOF },
		{ FAKE_END },
	};
	static const struct fake_step bad_greeting[] = {
		{ FAKE_SEND, "[\"QMP\"]\r\n" },
		{ FAKE_WAIT_EOF },
		{ FAKE_END },
	};
	struct qmp_client *c;
	struct qmp_status st;
	struct rec r = {};
	pid_t pid;
	int ret;

	/* EOF while a command waits */
	c = fake_client(script, &r, &pid);
	assert_int_equal(qmp_handshake_sync(c, 5000), 0);
	assert_int_equal(qmp_query_status(c, 5000, &st), -ECONNRESET);
	assert_int_equal(qmp_execute_sync(c, "cont", NULL, 5000, NULL), -ECONNRESET);
	assert_int_equal(qmp_wait_sync(c, 10), -ECONNRESET);
	qmp_client_free(c);
	fake_wait(pid);

	/* the server is gone before qmp_capabilities is written */
	c = fake_client(early_close, &r, &pid);
	fake_wait(pid);
	ret = qmp_handshake_sync(c, 5000);
	assert_true(ret == -EPIPE || ret == -ECONNRESET);
	assert_int_equal(qmp_client_error(c), ret);
	qmp_client_free(c);

	/* no greeting at all */
	c = fake_client(silent, &r, &pid);
	assert_int_equal(qmp_handshake_sync(c, 100), -ETIMEDOUT);
	qmp_client_free(c);
	fake_wait(pid);

	c = fake_client(bad_greeting, &r, &pid);
	assert_int_equal(qmp_handshake_sync(c, 5000), -EBADMSG);
	qmp_client_free(c);
	fake_wait(pid);
	rec_done(&r);
}

static void test_sync_queries(void **state)
{
	static const struct fake_step script[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "query-cpus-fast" },
		{ FAKE_SEND, "{\"return\": [{\"thread-id\": 101, \"props\": {\"core-id\": 0, "
			     "\"thread-id\": 0, \"socket-id\": 0}, \"qom-path\": "
			     "\"/machine/unattached/device[0]\", \"target\": \"x86_64\", "
			     "\"cpu-index\": 0}, {\"thread-id\": 102, \"props\": {\"core-id\": 1, "
			     "\"thread-id\": 0, \"socket-id\": 0}, \"qom-path\": "
			     "\"/machine/unattached/device[1]\", \"target\": \"x86_64\", "
			     "\"cpu-index\": 1}], \"id\": $ID}\r\n" },
		{ FAKE_EXPECT, "query-cpus-fast" },
		{ FAKE_SEND, "{\"return\": [{\"thread-id\": \"101\", \"qom-path\": \"/m\", "
			     "\"cpu-index\": 0}], \"id\": $ID}\r\n" },
		{ FAKE_EXPECT, "query-iothreads" },
		{ FAKE_SEND, "{\"return\": [{\"id\": \"io0\", \"thread-id\": 103, \"poll-max-ns\": "
			     "32768}], \"id\": $ID}\r\n" },
		{ FAKE_EXPECT, "query-iothreads" },
		{ FAKE_SEND, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
			     "query-iothreads has not been found\"}, \"id\": $ID}\r\n" },
		{ FAKE_WAIT_EOF },
		{ FAKE_END },
	};
	struct qmp_iothread *t = NULL;
	struct qmp_cpu *cpus = NULL;
	struct qmp_client *c;
	struct rec r = {};
	size_t n = 0;
	pid_t pid;

	c = fake_client(script, &r, &pid);
	/* no explicit handshake: commands wait behind qmp_capabilities */
	assert_int_equal(qmp_query_cpus_fast(c, 5000, &cpus, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(cpus[1].cpu_index, 1);
	assert_int_equal(cpus[1].thread_id, 102);
	assert_int_equal(cpus[1].core_id, 1);
	qmp_cpus_free(cpus, n);

	cpus = NULL;
	assert_int_equal(qmp_query_cpus_fast(c, 5000, &cpus, &n), -EBADMSG);
	assert_null(cpus);
	/* a bad return value is the command's failure, not the connection's */
	assert_int_equal(qmp_client_error(c), 0);

	assert_int_equal(qmp_query_iothreads(c, 5000, &t, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(t[0].id, "io0");
	assert_int_equal(t[0].thread_id, 103);
	qmp_iothreads_free(t, n);
	assert_int_equal(qmp_query_iothreads(c, 5000, &t, &n), -EOPNOTSUPP);
	assert_string_equal(qmp_last_error(c)->class, "CommandNotFound");

	qmp_client_free(c);
	fake_wait(pid);
	rec_done(&r);
}

static void test_sync_connect_path(void **state)
{
	static const struct fake_step script[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "quit" },
		{ FAKE_SEND, "{\"return\": {}, \"id\": $ID}\r\n" },
		{ FAKE_SEND,
		  "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": "
		  "\"host-qmp-quit\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": "
		  "2}}\r\n" },
		{ FAKE_END },
	};
	char dir[] = "/tmp/test-qmp-XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct qmp_client *c = NULL;
	struct rec r = {};
	pid_t pid;
	int ret;

	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&path, "%s/qmp.sock", dir) > 0);

	/* nothing listens: ENOENT once the deadline passed */
	assert_int_equal(qmp_connect_sync(path, 50, &c), -ENOENT);
	assert_null(c);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int lfd, fd;

		/* bind late: the client must keep trying, as with a starting QEMU */
		(void)nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
		strcpy(sa.sun_path, path);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(lfd, 1) < 0)
			fake_fail("listen: %m");
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			fake_fail("accept: %m");
		fake_run(fd, script);
	}

	assert_int_equal(qmp_connect_sync(path, 5000, &c), 0);
	assert_true(qmp_is_ready(c));
	qmp_set_event_callback(c, on_event, &r);
	assert_int_equal(qmp_execute_sync(c, "quit", NULL, 5000, NULL), 0);
	do
		ret = qmp_wait_sync(c, 5000);
	while (ret == 0);
	assert_int_equal(ret, -ECONNRESET);
	assert_int_equal(r.n_events, 1);
	assert_int_equal(r.events[0].ev.type, QMP_EVENT_SHUTDOWN);
	assert_int_equal(r.events[0].ev.reason, QMP_SHUTDOWN_CAUSE_HOST_QMP_QUIT);
	qmp_client_free(c);
	fake_wait(pid);

	c = NULL;
	assert_int_equal(qmp_connect_sync("", 50, &c), -EINVAL);
	assert_null(c);
	unlink(path);
	rmdir(dir);
	rec_done(&r);
}

/* ------------------------------------------------------------------------ */
/* Hostile servers, through the blocking layer on a real socket. */

#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static void test_sync_gigabyte_line(void **state)
{
	/* a reply whose one line would be 1 GiB long, sent as fast as the socket takes it */
	static const struct fake_step script[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "query-status" },
		{ FAKE_SEND, "{\"return\": {\"status\": \"" },
		{ FAKE_FLOOD, X64, (1L << 30) / 64 },
		{ FAKE_SEND, "\", \"running\": true}, \"id\": $ID}\r\n" },
		{ FAKE_WAIT_EOF },
		{ FAKE_END },
	};
	struct qmp_client *c;
	struct qmp_status st;
	struct rec r = {};
	uint64_t t0;
	pid_t pid;

	c = fake_client(script, &r, &pid);
	assert_int_equal(qmp_handshake_sync(c, 5000), 0);
	t0 = qmp_now_usec();
	assert_int_equal(qmp_query_status(c, 30000, &st), -EMSGSIZE);
	/* given up once the cap was passed, long before 1 GiB could have been read */
	assert_true(qmp_now_usec() - t0 < 10 * 1000000);
	assert_int_equal(qmp_client_error(c), -EMSGSIZE);
	assert_int_equal(qmp_pending_commands(c), 0);
	assert_null(c->in);
	assert_int_equal(qmp_wait_sync(c, 10), -EMSGSIZE);
	assert_int_equal(qmp_execute_sync(c, "cont", NULL, 1000, NULL), -EMSGSIZE);
	/* closing the socket ends the flood */
	qmp_client_free(c);
	fake_wait(pid);
	rec_done(&r);
}

#define STOP_EVENT "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"

static void test_sync_event_flood(void **state)
{
	static const struct fake_step script[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "query-status" },
		/* 100k events ahead of the reply */
		{ FAKE_REPEAT, STOP_EVENT, 100000 },
		{ FAKE_SEND, "{\"return\": {\"running\": false, \"status\": \"paused\"}, "
			     "\"id\": $ID}\r\n" },
		{ FAKE_EXPECT, "cont" },
		/* and then nothing but events, never the reply */
		{ FAKE_FLOOD, STOP_EVENT, 0 },
		{ FAKE_END },
	};
	struct flood f = { .in_order = true };
	struct qmp_client *c;
	struct qmp_status st;
	struct rec r = {};
	uint64_t t0;
	size_t before;
	pid_t pid;

	c = fake_client(script, &r, &pid);
	qmp_set_event_callback(c, on_event_count, &f);
	assert_int_equal(qmp_handshake_sync(c, 5000), 0);
	assert_int_equal(qmp_query_status(c, 30000, &st), 0);
	assert_int_equal(st.state, QMP_RUN_STATE_PAUSED);
	qmp_status_done(&st);
	/* every event went to the callback, one by one, and none was kept */
	assert_int_equal(f.n_events, 100000);
	assert_true(c->in_alloc <= 256);

	/* an endless flood cannot hold a command past its deadline */
	before = f.n_events;
	t0 = qmp_now_usec();
	assert_int_equal(qmp_execute_sync(c, "cont", NULL, 300, NULL), -ETIMEDOUT);
	assert_true(qmp_now_usec() - t0 >= 300000);
	assert_true(qmp_now_usec() - t0 < 5 * 1000000);
	assert_true(f.n_events > before);
	assert_true(c->in_alloc <= 256);
	/* nor qmp_wait_sync: it returns after the first read */
	assert_int_equal(qmp_wait_sync(c, 5000), 0);
	assert_int_equal(qmp_client_error(c), 0);
	assert_int_equal(qmp_pending_commands(c), 0);

	qmp_client_free(c);
	fake_wait(pid);
	rec_done(&r);
}

static void test_sync_unknown_ids(void **state)
{
	static const struct fake_step script[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "query-status" },
		/* unknown, id-less and wrongly typed ids first, then the reply, then it again */
		{ FAKE_SEND,
		  "{\"return\": {\"running\": true, \"status\": \"running\"}, \"id\": 999}\r\n"
		  "{\"return\": {\"running\": true, \"status\": \"running\"}}\r\n"
		  "{\"return\": {\"running\": true, \"status\": \"running\"}, "
		  "\"id\": \"$ID\"}\r\n"
		  "{\"return\": {\"running\": false, \"status\": \"paused\"}, \"id\": $ID}\r\n"
		  "{\"return\": {\"running\": true, \"status\": \"running\"}, \"id\": $ID}\r\n" },
		{ FAKE_EXPECT, "stop" },
		{ FAKE_SEND, "{\"return\": {}, \"id\": $ID}\r\n" },
		{ FAKE_WAIT_EOF },
		{ FAKE_END },
	};
	_cleanup_(qmp_json_putp) json_object *reply = NULL;
	struct qmp_client *c;
	struct qmp_status st;
	struct rec r = {};
	pid_t pid;

	c = fake_client(script, &r, &pid);
	assert_int_equal(qmp_query_status(c, 5000, &st), 0);
	assert_int_equal(st.state, QMP_RUN_STATE_PAUSED);
	qmp_status_done(&st);
	/* the duplicate is not taken for the next command's reply */
	assert_int_equal(qmp_execute_sync(c, "stop", NULL, 5000, &reply), 0);
	assert_string_equal(json_object_to_json_string(reply), "{ }");
	assert_int_equal(qmp_client_error(c), 0);
	qmp_client_free(c);
	fake_wait(pid);
	rec_done(&r);
}

static void test_sync_close_mid_message(void **state)
{
	static const struct fake_step mid_greeting[] = {
		{ FAKE_SEND, "{\"QMP\": {\"version\": {\"qemu\": " },
		{ FAKE_END },
	};
	static const struct fake_step mid_capabilities[] = {
		{ FAKE_SEND, GREETING },
		{ FAKE_EXPECT, "qmp_capabilities" },
		{ FAKE_SEND, "{\"return\": {}, \"i" },
		{ FAKE_END },
	};
	static const struct fake_step mid_reply[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "query-status" },
		{ FAKE_SEND, "{\"event\": \"STOP\"}\r\n{\"return\": {\"running\": tr" },
		{ FAKE_END },
	};
	static const struct fake_step mid_event[] = {
		FAKE_HANDSHAKE,
		{ FAKE_EXPECT, "stop" },
		{ FAKE_SEND,
		  "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"gue" },
		{ FAKE_END },
	};
	struct qmp_client *c;
	struct qmp_status st;
	struct rec r = {};
	pid_t pid;

	c = fake_client(mid_greeting, &r, &pid);
	assert_int_equal(qmp_handshake_sync(c, 5000), -ECONNRESET);
	assert_int_equal(qmp_version(c, NULL, NULL, NULL), -EAGAIN);
	assert_int_equal(qmp_client_error(c), -ECONNRESET);
	qmp_client_free(c);
	fake_wait(pid);

	c = fake_client(mid_capabilities, &r, &pid);
	assert_int_equal(qmp_handshake_sync(c, 5000), -ECONNRESET);
	assert_false(qmp_is_ready(c));
	assert_int_equal(qmp_pending_commands(c), 0);
	qmp_client_free(c);
	fake_wait(pid);

	c = fake_client(mid_reply, &r, &pid);
	assert_int_equal(qmp_query_status(c, 5000, &st), -ECONNRESET);
	/* what came whole before the cut was dispatched */
	assert_int_equal(r.n_events, 1);
	assert_int_equal(r.events[0].ev.type, QMP_EVENT_STOP);
	assert_int_equal(qmp_client_error(c), -ECONNRESET);
	assert_int_equal(qmp_pending_commands(c), 0);
	assert_null(c->in);
	assert_int_equal(qmp_query_status(c, 5000, &st), -ECONNRESET);
	assert_int_equal(qmp_wait_sync(c, 5000), -ECONNRESET);
	qmp_client_free(c);
	fake_wait(pid);
	rec_done(&r);

	c = fake_client(mid_event, &r, &pid);
	assert_int_equal(qmp_execute_sync(c, "stop", NULL, 5000, NULL), -ECONNRESET);
	assert_int_equal(r.n_events, 0);
	assert_null(qmp_last_error(c));
	qmp_client_free(c);
	fake_wait(pid);
	rec_done(&r);
}

#define FAKE_SERVER_TESTS                                                                          \
	cmocka_unit_test(test_sync_execute), cmocka_unit_test(test_sync_timeout),                  \
		cmocka_unit_test(test_sync_eof), cmocka_unit_test(test_sync_queries),              \
		cmocka_unit_test(test_sync_connect_path),                                          \
		cmocka_unit_test(test_sync_gigabyte_line),                                         \
		cmocka_unit_test(test_sync_event_flood), cmocka_unit_test(test_sync_unknown_ids),  \
		cmocka_unit_test(test_sync_close_mid_message)
