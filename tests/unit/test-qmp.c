/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP client: the non-blocking core fed with canned bytes, the pure parsers
 * on literals, and the blocking layer against a scripted fake QMP server in
 * a forked child on a socketpair (or a unix socket for qmp_connect_sync).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "macro.h"
#include "qmp.h"

#define GREETING                                                                                   \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, \"major\": 7}, "          \
	"\"package\": \"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}\r\n"

struct reply_rec {
	uint64_t id;
	int error;
	char *ret; /* compact JSON of "return" */
	char *class;
	char *desc;
};

struct event_rec {
	struct qmp_event ev; /* pointers in it are dangling after the call */
	char *name;
	char *data;
	char *reason_str;
};

struct rec {
	struct reply_rec replies[16];
	size_t n_replies;
	struct event_rec events[16];
	size_t n_events;
	/* re-entrancy checks run from inside the callbacks */
	int feed_from_callback;
};

static char *json_dup(json_object *o)
{
	return o ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : NULL;
}

static void on_reply(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		     const struct qmp_error *err, void *userdata)
{
	struct rec *r = userdata;
	struct reply_rec *p;

	assert_true(r->n_replies < ELEMENTSOF(r->replies));
	p = &r->replies[r->n_replies++];
	p->id = id;
	p->error = error;
	p->ret = json_dup(ret);
	if (err) {
		p->class = strdup(err->class);
		p->desc = strdup(err->desc);
	}
	assert_true((error == 0) == (ret != NULL));
	r->feed_from_callback = qmp_feed(c, "\n", 1);
}

static void on_event(struct qmp_client *c, const struct qmp_event *ev, void *userdata)
{
	struct rec *r = userdata;
	struct event_rec *p;

	assert_true(r->n_events < ELEMENTSOF(r->events));
	p = &r->events[r->n_events++];
	p->ev = *ev;
	p->name = strdup(ev->name);
	p->data = json_dup(ev->data);
	p->reason_str = ev->reason_str ? strdup(ev->reason_str) : NULL;
	assert_non_null(ev->msg);
}

static void rec_done(struct rec *r)
{
	for (size_t i = 0; i < r->n_replies; i++) {
		free(r->replies[i].ret);
		free(r->replies[i].class);
		free(r->replies[i].desc);
	}
	for (size_t i = 0; i < r->n_events; i++) {
		free(r->events[i].name);
		free(r->events[i].data);
		free(r->events[i].reason_str);
	}
	*r = (struct rec){};
}

static int feed(struct qmp_client *c, const char *s)
{
	return qmp_feed(c, s, strlen(s));
}

static void feed_bytewise(struct qmp_client *c, const char *s)
{
	for (; *s; s++)
		assert_int_equal(qmp_feed(c, s, 1), 0);
}

/* The output as a string, consumed. */
static char *take_output(struct qmp_client *c)
{
	const void *p;
	size_t len;
	char *s;

	assert_int_equal(qmp_pending_output(c, &p, &len), 0);
	s = strndup(p ? p : "", len);
	assert_non_null(s);
	assert_int_equal(qmp_output_consumed(c, len), 0);
	return s;
}

/* A client past the handshake, with its output drained. */
static struct qmp_client *ready_client(struct rec *r)
{
	struct qmp_client *c;
	char *out;

	assert_int_equal(qmp_client_new(-1, &c), 0);
	qmp_set_event_callback(c, on_event, r);
	assert_int_equal(feed(c, GREETING), 0);
	out = take_output(c);
	assert_string_equal(out, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n");
	free(out);
	assert_false(qmp_is_ready(c));
	assert_int_equal(feed(c, "{\"return\": {}, \"id\": 1}\r\n"), 0);
	assert_true(qmp_is_ready(c));
	return c;
}

static void test_handshake_core(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};
	uint64_t id;
	int major, minor, micro;
	char *out;

	assert_int_equal(qmp_client_new(-1, &c), 0);
	assert_int_equal(qmp_version(c, &major, &minor, &micro), -EAGAIN);
	assert_null(qmp_version_package(c));

	/* queued before the greeting: held back, then sent after qmp_capabilities */
	assert_int_equal(qmp_send_command(c, "query-status", NULL, on_reply, &r, &id), 0);
	assert_int_equal(id, 1);
	out = take_output(c);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(qmp_output_consumed(c, 1), -EINVAL);

	assert_int_equal(feed(c, GREETING), 0);
	assert_int_equal(qmp_version(c, &major, &minor, &micro), 0);
	assert_int_equal(major, 7);
	assert_int_equal(minor, 2);
	assert_int_equal(micro, 1);
	assert_string_equal(qmp_version_package(c), "Debian 1:7.2+dfsg-7");

	out = take_output(c);
	assert_string_equal(out, "{\"execute\":\"qmp_capabilities\",\"id\":2}\r\n"
				 "{\"execute\":\"query-status\",\"id\":1}\r\n");
	free(out);
	assert_int_equal(qmp_pending_commands(c), 2);

	assert_int_equal(feed(c, "{\"return\": {}, \"id\": 2}\r\n"), 0);
	assert_true(qmp_is_ready(c));
	assert_int_equal(r.n_replies, 0);
	assert_int_equal(feed(c, "{\"return\": {\"status\": \"prelaunch\", \"running\": false}, "
				 "\"id\": 1}\r\n"),
			 0);
	assert_int_equal(r.n_replies, 1);
	assert_int_equal(r.replies[0].id, 1);
	assert_int_equal(r.replies[0].error, 0);
	assert_string_equal(r.replies[0].ret, "{\"status\":\"prelaunch\",\"running\":false}");
	/* feeding from a callback is refused */
	assert_int_equal(r.feed_from_callback, -EBUSY);
	assert_int_equal(qmp_pending_commands(c), 0);
	rec_done(&r);
}

static void test_arguments_serialized(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	_cleanup_(qmp_json_putp) json_object *args = NULL;
	struct rec r = {};
	char *out;

	c = ready_client(&r);
	args = json_tokener_parse("{\"path\": \"/a/b\", \"q\": \"\\\"x\\\"\"}");
	assert_non_null(args);
	assert_int_equal(qmp_send_command(c, "qom-get", args, NULL, NULL, NULL), 0);
	out = take_output(c);
	assert_string_equal(out, "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/a/b\","
				 "\"q\":\"\\\"x\\\"\"},\"id\":2}\r\n");
	free(out);
	/* a reply for a command without callback is consumed quietly */
	assert_int_equal(feed(c, "{\"return\": 1, \"id\": 2}\n"), 0);
	assert_int_equal(qmp_pending_commands(c), 0);

	assert_int_equal(qmp_send_command(c, "", NULL, NULL, NULL, NULL), -EINVAL);
	json_object_put(args);
	args = json_object_new_array();
	assert_int_equal(qmp_send_command(c, "x", args, NULL, NULL, NULL), -EINVAL);
	rec_done(&r);
}

static void test_bytewise_and_batched(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};
	char *out;

	assert_int_equal(qmp_client_new(-1, &c), 0);
	qmp_set_event_callback(c, on_event, &r);
	assert_int_equal(qmp_send_command(c, "stop", NULL, on_reply, &r, NULL), 0);
	feed_bytewise(c, GREETING);
	out = take_output(c);
	free(out);

	/* qmp_capabilities reply + event + reply, in one read, "\n" and "\r\n" mixed */
	assert_int_equal(feed(c, "{\"return\": {}, \"id\": 2}\n"
				 "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1700000000, "
				 "\"microseconds\": 5}}\r\n"
				 "{\"return\": {}, \"id\": 1}\r\n{\"event\": \"RES"),
			 0);
	assert_int_equal(r.n_replies, 1);
	assert_int_equal(r.n_events, 1);
	assert_int_equal(r.events[0].ev.type, QMP_EVENT_STOP);
	assert_int_equal(r.events[0].ev.seconds, 1700000000);
	assert_int_equal(r.events[0].ev.microseconds, 5);
	assert_null(r.events[0].data);

	/* the rest of the split event, a byte at a time */
	feed_bytewise(c, "UME\", \"timestamp\": {\"seconds\": -1, \"microseconds\": -1}}\r\n");
	assert_int_equal(r.n_events, 2);
	assert_int_equal(r.events[1].ev.type, QMP_EVENT_RESUME);
	assert_string_equal(r.events[1].name, "RESUME");
	assert_int_equal(r.events[1].ev.seconds, -1);
	rec_done(&r);
}

static void test_event_between_command_and_reply(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};
	uint64_t a, b;

	c = ready_client(&r);
	assert_int_equal(qmp_send_command(c, "cont", NULL, on_reply, &r, &a), 0);
	assert_int_equal(qmp_send_command(c, "query-status", NULL, on_reply, &r, &b), 0);
	free(take_output(c));

	assert_int_equal(feed(c, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
				 "\"event\": \"RESUME\"}\r\n"),
			 0);
	assert_int_equal(r.n_events, 1);
	assert_int_equal(r.n_replies, 0);
	/* unknown ids (never issued, wrong type, negative) are dropped per the spec */
	assert_int_equal(feed(c, "{\"return\": {}, \"id\": 99}\r\n"
				 "{\"return\": {}, \"id\": \"2\"}\r\n"
				 "{\"return\": {}, \"id\": -2}\r\n"
				 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}, "
				 "\"id\": 1.5}\r\n"),
			 0);
	assert_int_equal(r.n_replies, 0);
	assert_int_equal(qmp_pending_commands(c), 2);

	/* replies matched by id, even out of order */
	assert_int_equal(feed(c, "{\"return\": {\"running\": true, \"status\": \"running\"}, "
				 "\"id\": 3}\r\n"),
			 0);
	assert_int_equal(r.n_replies, 1);
	assert_int_equal(r.replies[0].id, b);
	assert_int_equal(feed(c, "{\"id\": 2, \"return\": {}}\r\n"), 0);
	assert_int_equal(r.replies[1].id, a);
	assert_int_equal(qmp_pending_commands(c), 0);
	/* a reply nobody waits for, even without id, is dropped */
	assert_int_equal(feed(c, "{\"return\": {}}\r\n"), 0);
	assert_int_equal(qmp_client_error(c), 0);
	rec_done(&r);
}

static void on_reply_chain(struct qmp_client *c, uint64_t id, int error, json_object *ret,
			   const struct qmp_error *err, void *userdata)
{
	uint64_t *next = userdata;

	/* what the supervisor does: the next step queued from the completion */
	assert_int_equal(error, 0);
	assert_int_equal(qmp_send_command(c, "cont", NULL, NULL, NULL, next), 0);
	assert_int_equal(qmp_handle_timeouts(c, 0), -EBUSY);
}

static void test_send_from_callback(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};
	uint64_t next = 0;
	char *out;

	c = ready_client(&r);
	assert_int_equal(qmp_send_command(c, "query-cpus-fast", NULL, on_reply_chain, &next, NULL),
			 0);
	free(take_output(c));
	assert_int_equal(feed(c, "{\"return\": [], \"id\": 2}\r\n"), 0);
	assert_int_equal(next, 3);
	assert_int_equal(qmp_pending_commands(c), 1);
	out = take_output(c);
	assert_string_equal(out, "{\"execute\":\"cont\",\"id\":3}\r\n");
	free(out);
	rec_done(&r);
}

static void test_error_replies(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};

	c = ready_client(&r);
	assert_int_equal(qmp_send_command(c, "nope", NULL, on_reply, &r, NULL), 0);
	assert_int_equal(qmp_send_command(c, "device_del", NULL, on_reply, &r, NULL), 0);
	assert_int_equal(qmp_send_command(c, "x", NULL, on_reply, &r, NULL), 0);
	assert_int_equal(
		feed(c, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
			"\"The command nope has not been found\"}, \"id\": 2}\r\n"
			"{\"error\": {\"class\": \"GenericError\", \"desc\": \"Device 'x' not "
			"found\"}, \"id\": 3}\r\n"
			"{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse "
			"error, invalid keyword 'x'\"}}\r\n"),
		0);
	assert_int_equal(r.n_replies, 3);
	assert_int_equal(r.replies[0].error, -EOPNOTSUPP);
	assert_string_equal(r.replies[0].class, "CommandNotFound");
	assert_string_equal(r.replies[0].desc, "The command nope has not been found");
	assert_int_equal(r.replies[1].error, -EREMOTEIO);
	assert_string_equal(r.replies[1].desc, "Device 'x' not found");
	/* no id: QEMU could not parse a command, charged to the oldest one */
	assert_int_equal(r.replies[2].id, 4);
	assert_int_equal(r.replies[2].error, -EREMOTEIO);
	assert_null(r.replies[2].ret);
	rec_done(&r);
}

/* Each of these breaks the connection with the given error. */
static void expect_broken(const char *input, int error)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};

	c = ready_client(&r);
	assert_int_equal(qmp_send_command(c, "query-status", NULL, on_reply, &r, NULL), 0);
	if (qmp_feed(c, input, strlen(input)) != error)
		fail_msg("not %d: %.200s", error, input);
	assert_int_equal(qmp_client_error(c), error);
	/* the pending command learns it, once */
	assert_int_equal(r.n_replies, 1);
	assert_int_equal(r.replies[0].error, error);
	/* and everything afterwards */
	assert_int_equal(feed(c, "{\"return\": {}, \"id\": 2}\r\n"), error);
	assert_int_equal(qmp_send_command(c, "cont", NULL, on_reply, &r, NULL), error);
	assert_int_equal(r.n_replies, 1);
	rec_done(&r);
}

/* An event nested `depth` levels deep, counting its own object. */
static void deep_event(char *buf, int depth)
{
	size_t n = (size_t)sprintf(buf, "{\"event\": \"X\", \"data\": {\"a\": ");

	for (int i = 0; i < depth - 2; i++)
		buf[n++] = '[';
	for (int i = 0; i < depth - 2; i++)
		buf[n++] = ']';
	strcpy(buf + n, "}}\r\n");
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"[1]\r\n",
		"\"x\"\r\n",
		"1\r\n",
		"null\r\n",
		"true\n",
		"{\"return\": {}, \"id\": 2\r\n", /* unterminated */
		"{}{}\r\n",
		"{} x\r\n",
		"garbage\r\n",
		"\x1b\xff\r\n",
		"{\"event\": \"X\xff\xfe\"}\r\n", /* invalid UTF-8 */
		"{\"event\": \"\xc0\xaf\"}\r\n",  /* overlong encoding */
		"{}\r\n",			  /* neither event nor reply */
		"{\"return\": 1, \"error\": {}, \"id\": 2}\r\n",
		"{\"event\": \"STOP\", \"return\": {}}\r\n",
		"{\"event\": 1}\r\n",
		"{\"event\": \"\"}\r\n",
		"{\"event\": \"STOP\\u001b[2J\"}\r\n", /* not an identifier */
		"{\"event\": \"STOP \"}\r\n",
		"{\"event\": \"STOP\", \"data\": []}\r\n",
		"{\"event\": \"ST\\u0000OP\"}\r\n", /* embedded NUL */
		"{\"error\": \"x\", \"id\": 2}\r\n",
		"{\"error\": null, \"id\": 2}\r\n",
		"{\"return\": null, \"id\": 2}\r\n",
		"{\"event\": \"STOP\", \"data\": null}\r\n",
		"{\"error\": {\"class\": \"GenericError\"}, \"id\": 2}\r\n",
		"{\"error\": {\"class\": 1, \"desc\": \"d\"}, \"id\": 2}\r\n",
	};
	char nul[] = "{\"event\": \"STOP\"}\0\r\n";
	char deep[512];

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		expect_broken(bad[i], -EBADMSG);

	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		struct rec r = {};

		c = ready_client(&r);
		assert_int_equal(qmp_feed(c, nul, sizeof(nul) - 1), -EBADMSG);
		rec_done(&r);
	}

	/* nesting: QMP_MAX_DEPTH levels pass, one more does not */
	deep_event(deep, QMP_MAX_DEPTH);
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		struct rec r = {};

		c = ready_client(&r);
		assert_int_equal(feed(c, deep), 0);
		assert_int_equal(r.n_events, 1);
		rec_done(&r);
	}
	deep_event(deep, QMP_MAX_DEPTH + 1);
	expect_broken(deep, -EBADMSG);
	deep_event(deep, 100);
	expect_broken(deep, -EBADMSG);

	/* greeting first, and only once */
	expect_broken(GREETING, -EPROTO);
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;

		assert_int_equal(qmp_client_new(-1, &c), 0);
		assert_int_equal(feed(c, "{\"event\": \"STOP\"}\r\n"), -EPROTO);
	}
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;

		assert_int_equal(qmp_client_new(-1, &c), 0);
		assert_int_equal(feed(c,
				      "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, "
				      "\"minor\": 2, \"major\": \"7\"}}, \"capabilities\": []}}\n"),
				 -EBADMSG);
	}
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;

		assert_int_equal(qmp_client_new(-1, &c), 0);
		assert_int_equal(feed(c, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, "
					 "\"minor\": 2, \"major\": 7}}}}\n"),
				 -EBADMSG);
	}
}

static void test_line_limit(void **state)
{
	_cleanup_free_ char *big = NULL;
	const size_t max = QMP_MAX_LINE_DEFAULT;
	const char *head = "{\"event\": \"X\", \"data\": {\"pad\": \"";
	size_t n;

	/* exactly max bytes (without "\r\n") is accepted */
	big = malloc(max + 4);
	assert_non_null(big);
	big[max + 3] = 0;
	n = strlen(head);
	memcpy(big, head, n);
	memset(big + n, 'x', max - n - 3);
	memcpy(big + max - 3, "\"}}\r\n", 5);
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		struct rec r = {};

		c = ready_client(&r);
		assert_int_equal(qmp_feed(c, big, max + 2), 0);
		assert_int_equal(r.n_events, 1);
		rec_done(&r);
	}
	/* one more byte is not, whether it comes in one read or many */
	memcpy(big + max - 3, "x\"}}\r\n", 6);
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		struct rec r = {};

		c = ready_client(&r);
		assert_int_equal(qmp_feed(c, big, max + 3), -EMSGSIZE);
		assert_int_equal(r.n_events, 0);
		rec_done(&r);
	}
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		struct rec r = {};
		size_t i;

		c = ready_client(&r);
		for (i = 0; i < max; i += 4096)
			assert_int_equal(qmp_feed(c, big + i, 4096), 0);
		/* without any newline the bound still holds */
		assert_int_equal(qmp_feed(c, "xx", 2), -EMSGSIZE);
		assert_int_equal(qmp_client_error(c), -EMSGSIZE);
		rec_done(&r);
	}

	/* a smaller bound for the loop and the fuzzer */
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		char line[300];

		assert_int_equal(qmp_client_new(-1, &c), 0);
		assert_int_equal(qmp_set_max_line(c, 10), -EINVAL);
		assert_int_equal(qmp_set_max_line(c, 256), 0);
		memset(line, ' ', sizeof(line));
		/* blanks are trimmed, but count while the line is incomplete */
		assert_int_equal(qmp_feed(c, line, 257), 0);
		assert_int_equal(qmp_feed(c, line, 1), -EMSGSIZE);
	}
	expect_broken(big, -EMSGSIZE);
}

static void test_timeouts_core(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};
	uint64_t d, a, b;

	assert_int_equal(qmp_client_new(-1, &c), 0);
	assert_int_equal(qmp_next_deadline(c, &d), 0); /* the greeting's */
	assert_true(d > qmp_now_usec());
	assert_int_equal(qmp_handle_timeouts(c, d - 1), 0);
	assert_int_equal(qmp_handle_timeouts(c, d), -ETIMEDOUT);
	assert_int_equal(qmp_client_error(c), -ETIMEDOUT);
	assert_int_equal(qmp_next_deadline(c, &d), -ENODATA);
	qmp_client_free(TAKE_PTR(c));

	c = ready_client(&r);
	assert_int_equal(qmp_next_deadline(c, &d), -ENODATA);
	assert_int_equal(qmp_send_command_timeout(c, "a", NULL, 1000, on_reply, &r, &a), 0);
	assert_int_equal(qmp_send_command_timeout(c, "b", NULL, 60000, on_reply, &r, &b), 0);
	assert_int_equal(qmp_next_deadline(c, &d), 0);
	assert_int_equal(qmp_handle_timeouts(c, d), 0);
	assert_int_equal(r.n_replies, 1);
	assert_int_equal(r.replies[0].id, a);
	assert_int_equal(r.replies[0].error, -ETIMEDOUT);
	/* the late reply is now an unknown id; the connection stays usable */
	assert_int_equal(feed(c, "{\"return\": {}, \"id\": 2}\r\n{\"return\": 7, \"id\": 3}\r\n"),
			 0);
	assert_int_equal(r.n_replies, 2);
	assert_int_equal(r.replies[1].id, b);
	assert_string_equal(r.replies[1].ret, "7");
	assert_int_equal(qmp_cancel_command(c, b), -ENOENT);
	rec_done(&r);
}

struct count {
	size_t n;
	uint64_t last_id;
	int error;
};

static void on_count(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		     const struct qmp_error *err, void *userdata)
{
	struct count *k = userdata;

	/* completions come oldest first */
	assert_true(id > k->last_id);
	k->n++;
	k->last_id = id;
	k->error = error;
}

static void test_eof_and_limits(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct count k = {};
	struct rec r = {};
	const void *p;
	size_t len;
	uint64_t id;

	c = ready_client(&r);
	for (size_t i = 0; i < QMP_MAX_PENDING; i++)
		assert_int_equal(qmp_send_command(c, "x", NULL, on_count, &k, &id), 0);
	assert_int_equal(qmp_send_command(c, "x", NULL, on_count, &k, NULL), -ENOBUFS);
	assert_int_equal(qmp_cancel_command(c, id), 0);
	assert_int_equal(qmp_pending_commands(c), QMP_MAX_PENDING - 1);

	/* partial writes */
	assert_int_equal(qmp_pending_output(c, &p, &len), 0);
	assert_true(len > 10);
	assert_int_equal(qmp_output_consumed(c, 10), 0);
	assert_int_equal(qmp_output_consumed(c, len), -EINVAL);
	assert_int_equal(qmp_pending_output(c, &p, &len), 0);
	assert_memory_equal(p, ":\"x\",\"id\":2}\r\n", 14);

	/* EOF: every pending command fails, in order */
	assert_int_equal(qmp_feed_eof(c), -ECONNRESET);
	assert_int_equal(k.n, QMP_MAX_PENDING - 1);
	assert_int_equal(k.error, -ECONNRESET);
	assert_int_equal(qmp_pending_commands(c), 0);
	assert_int_equal(qmp_pending_output(c, &p, &len), -ECONNRESET);
	rec_done(&r);
}

static void test_events_typed(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};

	c = ready_client(&r);
	assert_int_equal(
		feed(c,
		     "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
		     "\"guest-shutdown\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"
		     "{\"event\": \"RESET\", \"data\": {\"guest\": false, \"reason\": "
		     "\"host-qmp-system-reset\"}}\r\n"
		     "{\"event\": \"POWERDOWN\"}\r\n"
		     "{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\", \"info\": "
		     "{\"type\": \"hyper-v\", \"arg1\": 209, \"arg2\": 18446744073709551615, "
		     "\"arg3\": 0, \"arg4\": 4, \"arg5\": 5}}}\r\n"
		     "{\"event\": \"WATCHDOG\", \"data\": {\"action\": \"inject-nmi\"}}\r\n"
		     "{\"event\": \"BLOCK_IO_ERROR\", \"data\": {\"device\": \"d\"}}\r\n"
		     /* wrong types and unknown values keep the defaults */
		     "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": 1, \"reason\": "
		     "\"new-cause\"}, \"timestamp\": {\"seconds\": \"x\"}}\r\n"
		     "{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": 3, \"info\": "
		     "{\"type\": \"hyper-v\", \"arg1\": -1}}}\r\n"
		     "{\"event\": \"WATCHDOG\", \"data\": {}}\r\n"),
		0);
	assert_int_equal(r.n_events, 9);

	assert_int_equal(r.events[0].ev.type, QMP_EVENT_SHUTDOWN);
	assert_true(r.events[0].ev.guest);
	assert_int_equal(r.events[0].ev.reason, QMP_SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
	assert_string_equal(r.events[0].reason_str, "guest-shutdown");
	assert_int_equal(r.events[0].ev.seconds, 1);
	assert_int_equal(r.events[1].ev.type, QMP_EVENT_RESET);
	assert_false(r.events[1].ev.guest);
	assert_int_equal(r.events[1].ev.reason, QMP_SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
	assert_int_equal(r.events[2].ev.type, QMP_EVENT_POWERDOWN);
	assert_int_equal(r.events[3].ev.type, QMP_EVENT_GUEST_PANICKED);
	assert_int_equal(r.events[3].ev.panic_action, QMP_PANIC_ACTION_PAUSE);
	assert_true(r.events[3].ev.has_hyperv_crash);
	assert_true(r.events[3].ev.hyperv_crash[0] == 209);
	assert_true(r.events[3].ev.hyperv_crash[1] == UINT64_MAX);
	assert_true(r.events[3].ev.hyperv_crash[4] == 5);
	assert_int_equal(r.events[4].ev.type, QMP_EVENT_WATCHDOG);
	assert_int_equal(r.events[4].ev.watchdog_action, QMP_WATCHDOG_ACTION_INJECT_NMI);
	assert_int_equal(r.events[5].ev.type, QMP_EVENT_OTHER);
	assert_string_equal(r.events[5].name, "BLOCK_IO_ERROR");
	assert_string_equal(r.events[5].data, "{\"device\":\"d\"}");

	assert_int_equal(r.events[6].ev.type, QMP_EVENT_SHUTDOWN);
	assert_false(r.events[6].ev.guest);
	assert_int_equal(r.events[6].ev.reason, _QMP_SHUTDOWN_CAUSE_INVALID);
	assert_string_equal(r.events[6].reason_str, "new-cause");
	assert_int_equal(r.events[6].ev.seconds, -1);
	assert_int_equal(r.events[7].ev.panic_action, _QMP_PANIC_ACTION_INVALID);
	assert_false(r.events[7].ev.has_hyperv_crash);
	assert_int_equal(r.events[8].ev.watchdog_action, _QMP_WATCHDOG_ACTION_INVALID);
	rec_done(&r);
}

static void test_capabilities_refused(void **state)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};

	assert_int_equal(qmp_client_new(-1, &c), 0);
	assert_int_equal(qmp_send_command(c, "cont", NULL, on_reply, &r, NULL), 0);
	assert_int_equal(feed(c, GREETING), 0);
	free(take_output(c));
	assert_int_equal(feed(c, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
				 "\"Expecting capabilities negotiation with 'qmp_capabilities'\"}, "
				 "\"id\": 2}\r\n"),
			 -EPROTO);
	assert_int_equal(r.n_replies, 1);
	assert_int_equal(r.replies[0].error, -EPROTO);
	assert_false(qmp_is_ready(c));
	rec_done(&r);
}

static void test_parse_cpus_fast(void **state)
{
	static const char *const bad[] = {
		"{}",
		"[1]",
		"[{\"cpu-index\": 0, \"qom-path\": \"/m\"}]",
		"[{\"cpu-index\": 0, \"thread-id\": \"12\", \"qom-path\": \"/m\"}]",
		"[{\"cpu-index\": 0, \"thread-id\": 0, \"qom-path\": \"/m\"}]",
		"[{\"cpu-index\": 0, \"thread-id\": -5, \"qom-path\": \"/m\"}]",
		"[{\"cpu-index\": 0, \"thread-id\": 12.0, \"qom-path\": \"/m\"}]",
		"[{\"cpu-index\": 0, \"thread-id\": 4294967297, \"qom-path\": \"/m\"}]",
		"[{\"cpu-index\": 0, \"thread-id\": 18446744073709551615, \"qom-path\": \"/m\"}]",
		"[{\"cpu-index\": -1, \"thread-id\": 12, \"qom-path\": \"/m\"}]",
		"[{\"cpu-index\": 8192, \"thread-id\": 12, \"qom-path\": \"/m\"}]",
		"[{\"cpu-index\": 0, \"thread-id\": 12}]",
		"[{\"cpu-index\": 0, \"thread-id\": 12, \"qom-path\": 5}]",
		"[{\"cpu-index\": 0, \"thread-id\": 12, \"qom-path\": \"/m\\u0000x\"}]",
		"[{\"cpu-index\": 0, \"thread-id\": 12, \"qom-path\": \"/m\", \"props\": []}]",
		"[{\"cpu-index\": 0, \"thread-id\": 12, \"qom-path\": \"/m\", "
		"\"props\": {\"core-id\": \"1\"}}]",
		"[{\"cpu-index\": 0, \"thread-id\": 12, \"qom-path\": \"/a\"}, "
		"{\"cpu-index\": 0, \"thread-id\": 13, \"qom-path\": \"/b\"}]",
	};
	_cleanup_(qmp_json_putp) json_object *o = NULL;
	struct qmp_cpu *cpus = NULL;
	size_t n = 0;

	o = json_tokener_parse(
		"[{\"thread-id\": 25627, \"props\": {\"core-id\": 0, \"thread-id\": 0, "
		"\"socket-id\": 0}, \"qom-path\": \"/machine/unattached/device[0]\", "
		"\"target\": \"x86_64\", \"cpu-index\": 0}, "
		"{\"thread-id\": 25628, \"props\": {\"core-id\": 1, \"thread-id\": 1, "
		"\"socket-id\": 0, \"die-id\": 0, \"node-id\": 0, \"new-id\": \"x\"}, "
		"\"qom-path\": \"/machine/unattached/device[2]\", \"cpu-index\": 1, \"new\": []}, "
		"{\"thread-id\": 25629, \"qom-path\": \"/machine/peripheral/c2\", \"cpu-index\": 2}]");
	assert_int_equal(qmp_parse_cpus_fast(o, &cpus, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(cpus[0].cpu_index, 0);
	assert_int_equal(cpus[0].thread_id, 25627);
	assert_string_equal(cpus[0].qom_path, "/machine/unattached/device[0]");
	assert_int_equal(cpus[0].core_id, 0);
	assert_int_equal(cpus[0].die_id, -1);
	assert_int_equal(cpus[1].thread_in_core, 1);
	assert_int_equal(cpus[1].die_id, 0);
	assert_int_equal(cpus[1].node_id, 0);
	assert_int_equal(cpus[1].cluster_id, -1);
	assert_int_equal(cpus[2].socket_id, -1);
	assert_int_equal(cpus[2].core_id, -1);
	qmp_cpus_free(cpus, n);
	json_object_put(TAKE_PTR(o));

	o = json_object_new_array();
	assert_int_equal(qmp_parse_cpus_fast(o, &cpus, &n), 0);
	assert_null(cpus);
	assert_int_equal(n, 0);
	for (int i = 0; i <= QMP_MAX_CPUS; i++)
		json_object_array_add(o, json_object_new_object());
	cpus = (void *)1;
	assert_int_equal(qmp_parse_cpus_fast(o, &cpus, &n), -EBADMSG);
	assert_ptr_equal(cpus, (void *)1); /* untouched on failure */
	json_object_put(TAKE_PTR(o));

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		o = json_tokener_parse(bad[i]);
		assert_non_null(o);
		cpus = NULL;
		if (qmp_parse_cpus_fast(o, &cpus, &n) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		assert_null(cpus);
		json_object_put(TAKE_PTR(o));
	}
}

static void test_parse_iothreads_status(void **state)
{
	_cleanup_(qmp_json_putp) json_object *o = NULL;
	struct qmp_iothread *t = NULL;
	struct qmp_status st = {};
	size_t n;

	o = json_tokener_parse(
		"[{\"id\": \"iothread0\", \"thread-id\": 3134, \"poll-max-ns\": "
		"32768, \"poll-grow\": 0, \"poll-shrink\": 0, \"aio-max-batch\": 0}]");
	assert_int_equal(qmp_parse_iothreads(o, &t, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(t[0].id, "iothread0");
	assert_int_equal(t[0].thread_id, 3134);
	qmp_iothreads_free(t, n);
	json_object_put(TAKE_PTR(o));

	o = json_tokener_parse(
		"[{\"id\": \"a\", \"thread-id\": 1}, {\"id\": 7, \"thread-id\": 2}]");
	assert_int_equal(qmp_parse_iothreads(o, &t, &n), -EBADMSG);
	json_object_put(TAKE_PTR(o));
	o = json_tokener_parse("[{\"id\": \"a\"}]");
	assert_int_equal(qmp_parse_iothreads(o, &t, &n), -EBADMSG);
	json_object_put(TAKE_PTR(o));

	o = json_tokener_parse("{\"running\": false, \"singlestep\": false, \"status\": "
			       "\"prelaunch\"}");
	assert_int_equal(qmp_parse_status(o, &st), 0);
	assert_false(st.running);
	assert_int_equal(st.state, QMP_RUN_STATE_PRELAUNCH);
	assert_string_equal(st.status, "prelaunch");
	qmp_status_done(&st);
	json_object_put(TAKE_PTR(o));

	o = json_tokener_parse("{\"running\": true, \"status\": \"brand-new\"}");
	assert_int_equal(qmp_parse_status(o, &st), 0);
	assert_int_equal(st.state, _QMP_RUN_STATE_INVALID);
	assert_string_equal(st.status, "brand-new");
	qmp_status_done(&st);
	json_object_put(TAKE_PTR(o));

	o = json_tokener_parse("{\"running\": \"true\", \"status\": \"running\"}");
	assert_int_equal(qmp_parse_status(o, &st), -EBADMSG);
	json_object_put(TAKE_PTR(o));
	o = json_tokener_parse("{\"running\": true}");
	assert_int_equal(qmp_parse_status(o, &st), -EBADMSG);
}

static void test_names(void **state)
{
	for (int i = 0; i < _QMP_SHUTDOWN_CAUSE_MAX; i++)
		assert_int_equal(qmp_shutdown_cause_from_string(qmp_shutdown_cause_to_string(i)),
				 i);
	for (int i = 0; i < _QMP_RUN_STATE_MAX; i++)
		assert_int_equal(qmp_run_state_from_string(qmp_run_state_to_string(i)), i);
	for (int i = 0; i < _QMP_WATCHDOG_ACTION_MAX; i++)
		assert_int_equal(qmp_watchdog_action_from_string(qmp_watchdog_action_to_string(i)),
				 i);
	for (int i = 0; i < _QMP_PANIC_ACTION_MAX; i++)
		assert_int_equal(qmp_panic_action_from_string(qmp_panic_action_to_string(i)), i);
	for (int i = 1; i < _QMP_EVENT_TYPE_MAX; i++)
		assert_int_equal(qmp_event_type_from_string(qmp_event_type_to_string(i)), i);
	assert_null(qmp_run_state_to_string(_QMP_RUN_STATE_INVALID));
	assert_null(qmp_run_state_to_string(_QMP_RUN_STATE_MAX));
	assert_int_equal(qmp_run_state_from_string(NULL), _QMP_RUN_STATE_INVALID);
	assert_int_equal(qmp_event_type_from_string("shutdown"), QMP_EVENT_OTHER);
}

#include "qmp-fake-server.h"

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_core),
		cmocka_unit_test(test_arguments_serialized),
		cmocka_unit_test(test_bytewise_and_batched),
		cmocka_unit_test(test_event_between_command_and_reply),
		cmocka_unit_test(test_send_from_callback),
		cmocka_unit_test(test_error_replies),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_timeouts_core),
		cmocka_unit_test(test_eof_and_limits),
		cmocka_unit_test(test_events_typed),
		cmocka_unit_test(test_capabilities_refused),
		cmocka_unit_test(test_parse_cpus_fast),
		cmocka_unit_test(test_parse_iothreads_status),
		cmocka_unit_test(test_names),
		FAKE_SERVER_TESTS,
	};

	/* a fake server that went away must be -EPIPE in the test, not a signal */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
