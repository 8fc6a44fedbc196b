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
/* white-box: the bound on the input buffer is checked on the struct itself */
#include "qmp-internal.h"

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

/* ------------------------------------------------------------------------ */
/* Hostile input (issue 9): one test per class of what a hostile QEMU sends. */

/* tmpl with its one '@' replaced by v. */
static char *subst(const char *tmpl, const char *v)
{
	const char *at = strchr(tmpl, '@');
	char *s;

	assert_non_null(at);
	assert_true(asprintf(&s, "%.*s%s%s", (int)(at - tmpl), tmpl, v, at + 1) > 0);
	return s;
}

/* A value of every JSON type (and a few of each), substituted for one member at a time. */
static const char *const any_value[] = {
	"null", "true",	 "false", "0",	"7",   "-1", "1.5",	   "1e3", "18446744073709551615",
	"\"\"", "\"7\"", "\"x\"", "[]", "[7]", "{}", "{\"a\": 7}",
};

static json_type value_type(const char *v)
{
	json_object *o = json_tokener_parse(v);
	json_type t = json_object_get_type(o); /* json_type_null for NULL */

	json_object_put(o);
	return t;
}

/* A client with a command queued: past the handshake (id 2), or before the greeting (id 1). */
static struct qmp_client *client_with_command(bool greeted, struct rec *r)
{
	struct qmp_client *c;

	if (greeted) {
		c = ready_client(r);
	} else {
		assert_int_equal(qmp_client_new(-1, &c), 0);
		qmp_set_event_callback(c, on_event, r);
	}
	assert_int_equal(qmp_send_command(c, "query-status", NULL, on_reply, r, NULL), 0);
	return c;
}

enum msg_kind {
	MSG_GREETING,
	MSG_REPLY,
	MSG_ERROR,
	MSG_EVENT,
};

/* What a complete message of this kind must have done. */
static void assert_dispatched(struct qmp_client *c, const struct rec *r, enum msg_kind kind)
{
	assert_int_equal(qmp_client_error(c), 0);
	switch (kind) {
	case MSG_GREETING:
		assert_int_equal(qmp_version(c, NULL, NULL, NULL), 0);
		assert_int_equal(r->n_replies, 0);
		break;
	case MSG_REPLY:
		assert_int_equal(r->n_replies, 1);
		assert_int_equal(r->replies[0].error, 0);
		break;
	case MSG_ERROR:
		assert_int_equal(r->n_replies, 1);
		assert_int_equal(r->replies[0].error, -EREMOTEIO);
		break;
	case MSG_EVENT:
		assert_int_equal(r->n_events, 1);
		assert_int_equal(r->n_replies, 0);
		break;
	}
}

/* The connection broke with error, and the queued command learnt it once. */
static void assert_broken(struct qmp_client *c, const struct rec *r, int error)
{
	assert_int_equal(qmp_client_error(c), error);
	assert_int_equal(qmp_pending_commands(c), 0);
	assert_int_equal(r->n_replies, 1);
	assert_int_equal(r->replies[0].error, error);
	assert_null(r->replies[0].ret);
	assert_int_equal(r->n_events, 0);
	/* nothing is kept of a broken connection's input */
	assert_null(c->in);
	assert_int_equal(c->in_alloc, 0);
}

static void test_truncated_every_offset(void **state)
{
	static const struct {
		enum msg_kind kind;
		const char *msg; /* without its terminator */
	} msgs[] = {
		{ MSG_GREETING, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, "
				"\"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7\"}, "
				"\"capabilities\": [\"oob\"]}}" },
		{ MSG_REPLY, "{\"return\": [{\"thread-id\": 101, \"props\": {\"core-id\": 0, "
			     "\"thread-id\": 0, \"socket-id\": 0}, \"qom-path\": "
			     "\"/machine/unattached/device[0]\", \"target\": \"x86_64\", "
			     "\"cpu-index\": 0}], \"id\": 2}" },
		{ MSG_REPLY,
		  "{\"return\": {\"running\": true, \"status\": \"running\"}, \"id\": 2}" },
		{ MSG_ERROR, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Device 'x' "
			     "not found\"}, \"id\": 2}" },
		{ MSG_EVENT, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "
			     "\"guest-shutdown\"}, \"timestamp\": {\"seconds\": 1700000000, "
			     "\"microseconds\": 123456}}" },
		{ MSG_EVENT, "{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\", "
			     "\"info\": {\"type\": \"hyper-v\", \"arg1\": 209, \"arg2\": 1, "
			     "\"arg3\": 2, \"arg4\": 3, \"arg5\": 4}}}" },
	};

	for (size_t m = 0; m < ELEMENTSOF(msgs); m++) {
		const char *msg = msgs[m].msg;
		bool greeted = msgs[m].kind != MSG_GREETING;
		size_t len = strlen(msg);

		for (size_t k = 0; k <= len; k++) {
			_cleanup_free_ char *line = NULL;

			assert_true(asprintf(&line, "%.*s\r\n", (int)k, msg) > 0);

			/* the first k bytes as a line of their own */
			{
				_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
				struct rec r = {};

				c = client_with_command(greeted, &r);
				if (k == 0) {
					/* an empty line is skipped */
					assert_int_equal(feed(c, line), 0);
					assert_int_equal(qmp_pending_commands(c), 1);
				} else if (k == len) {
					assert_int_equal(feed(c, line), 0);
					assert_dispatched(c, &r, msgs[m].kind);
				} else {
					if (feed(c, line) != -EBADMSG)
						fail_msg("not -EBADMSG: %s", line);
					assert_broken(c, &r, -EBADMSG);
				}
				rec_done(&r);
			}

			/* the first k bytes, then the socket closes */
			{
				_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
				struct rec r = {};

				c = client_with_command(greeted, &r);
				assert_int_equal(qmp_feed(c, msg, k), 0);
				assert_int_equal(r.n_replies + r.n_events, 0);
				assert_int_equal(qmp_feed_eof(c), -ECONNRESET);
				assert_broken(c, &r, -ECONNRESET);
				rec_done(&r);
			}

			/* split at k into two reads: the same as one */
			{
				_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
				struct rec r = {};

				c = client_with_command(greeted, &r);
				assert_int_equal(qmp_feed(c, msg, k), 0);
				assert_int_equal(feed(c, msg + k), 0);
				assert_int_equal(feed(c, "\r\n"), 0);
				assert_dispatched(c, &r, msgs[m].kind);
				rec_done(&r);
			}
		}
	}
}

static void test_gigabyte_line(void **state)
{
	static char chunk[65536];
	const size_t total = (size_t)1 << 30;
	const size_t cap = QMP_MAX_LINE_DEFAULT + 1; /* the line may still end in '\r' */
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	const char *head = "{\"return\": \"";
	struct rec r = {};
	size_t fed;
	int ret = 0;

	memset(chunk, 'x', sizeof(chunk));
	c = client_with_command(true, &r);

	/* a 1 GiB line streamed in 64 KiB reads, as a socket would deliver it */
	assert_int_equal(feed(c, head), 0);
	fed = strlen(head);
	while (fed < total) {
		ret = qmp_feed(c, chunk, sizeof(chunk));
		if (ret < 0)
			break;
		fed += sizeof(chunk);
		/* what is kept of the partial line never exceeds the cap */
		assert_true(c->in_len == fed);
		assert_true(c->in_alloc <= cap);
	}
	/* rejected with the read that would pass the cap, not later */
	assert_int_equal(ret, -EMSGSIZE);
	assert_true(fed <= cap);
	assert_true(fed + sizeof(chunk) > cap);
	assert_broken(c, &r, -EMSGSIZE);

	/* the other 1023 MiB and the end of the line are refused without being looked at */
	for (fed += sizeof(chunk); fed < total; fed += sizeof(chunk))
		assert_int_equal(qmp_feed(c, chunk, sizeof(chunk)), -EMSGSIZE);
	assert_int_equal(feed(c, "\"}\r\n"), -EMSGSIZE);
	assert_int_equal(qmp_feed_eof(c), -EMSGSIZE);
	assert_int_equal(r.n_replies, 1);
	assert_null(c->in);
	rec_done(&r);
}

/* prefix, open depth - 1 times, core (as deep as one open), close depth - 1 times, suffix. */
static char *nest(const char *prefix, const char *open, const char *core, const char *close,
		  int depth, const char *suffix)
{
	size_t lo = strlen(open), lc = strlen(close), lp = strlen(prefix), ls = strlen(suffix);
	size_t lk = strlen(core);
	char *s = malloc(lp + (size_t)depth * (lo + lc) + lk + ls + 1), *p = s;

	assert_non_null(s);
	assert_true(depth >= 1);
	p = mempcpy(p, prefix, lp);
	for (int i = 1; i < depth; i++)
		p = mempcpy(p, open, lo);
	p = mempcpy(p, core, lk);
	for (int i = 1; i < depth; i++)
		p = mempcpy(p, close, lc);
	p = mempcpy(p, suffix, ls);
	*p = 0;
	return s;
}

static void test_deep_nesting(void **state)
{
	/* prefix/suffix add this many levels: the message itself and the member's object */
	static const struct {
		enum msg_kind kind;
		const char *prefix, *suffix;
		int outer;
	} where[] = {
		{ MSG_REPLY, "{\"return\": ", ", \"id\": 2}\r\n", 1 },
		{ MSG_EVENT, "{\"event\": \"X\", \"data\": {\"a\": ", "}}\r\n", 2 },
		{ MSG_ERROR, "{\"error\": {\"class\": \"C\", \"desc\": \"d\", \"x\": ",
		  "}, \"id\": 2}\r\n", 2 },
		{ MSG_GREETING,
		  "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, \"major\": 7}}, "
		  "\"capabilities\": ",
		  "}}\r\n", 2 },
	};
	static const char *const brackets[][3] = {
		{ "[", "[]", "]" },
		{ "{\"a\": ", "{}", "}" },
		{ "[{\"b\": ", "[{}]", "}]" },
	};

	for (size_t w = 0; w < ELEMENTSOF(where); w++)
		for (size_t b = 0; b < ELEMENTSOF(brackets); b++) {
			/* levels per repetition */
			int per = b == 2 ? 2 : 1;

			/* the greeting's capabilities must be an array */
			if (where[w].kind == MSG_GREETING && b > 0)
				continue;
			for (int extra = 0; extra <= 1; extra++) {
				_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
				_cleanup_free_ char *line = NULL;
				struct rec r = {};
				int levels = QMP_MAX_DEPTH - where[w].outer + extra;

				if (levels % per)
					continue;
				line = nest(where[w].prefix, brackets[b][0], brackets[b][1],
					    brackets[b][2], levels / per, where[w].suffix);
				c = client_with_command(where[w].kind != MSG_GREETING, &r);
				if (!extra) {
					/* QMP_MAX_DEPTH levels in all pass */
					if (feed(c, line) != 0)
						fail_msg("rejected: %s", line);
					assert_dispatched(c, &r, where[w].kind);
				} else {
					/* one more does not */
					if (feed(c, line) != -EBADMSG)
						fail_msg("not -EBADMSG: %s", line);
					assert_broken(c, &r, -EBADMSG);
				}
				rec_done(&r);
			}
		}

	/* a whole 1 MiB line of openers fails at level QMP_MAX_DEPTH + 1, without recursion */
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		_cleanup_free_ char *line = NULL;
		struct rec r = {};

		line = nest("", "[", "[", "", QMP_MAX_LINE_DEFAULT, "\r\n");
		c = client_with_command(true, &r);
		assert_int_equal(feed(c, line), -EBADMSG);
		assert_broken(c, &r, -EBADMSG);
		rec_done(&r);
	}
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		_cleanup_free_ char *line = NULL;
		struct rec r = {};

		line = nest("{\"return\": ", "{\"a\":", "{}", "}", 100000, ", \"id\": 2}\r\n");
		c = client_with_command(true, &r);
		assert_int_equal(feed(c, line), -EBADMSG);
		assert_broken(c, &r, -EBADMSG);
		rec_done(&r);
	}
}

struct flood {
	size_t n_events;
	bool in_order;
};

static void on_event_count(struct qmp_client *c, const struct qmp_event *ev, void *userdata)
{
	struct flood *f = userdata;

	/* each event once, in order: the n-th carries seconds == n */
	if (ev->type != QMP_EVENT_STOP || ev->seconds != (int64_t)f->n_events)
		f->in_order = false;
	f->n_events++;
}

static void test_event_flood(void **state)
{
	const size_t n_events = 100000;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, size = n_events * 96 + 64;
	int ret;

	buf = malloc(size);
	assert_non_null(buf);
	for (size_t i = 0; i < n_events; i++) {
		ret = snprintf(buf + len, size - len,
			       "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": %zu, "
			       "\"microseconds\": 0}}\r\n",
			       i);
		assert_true(ret > 0 && (size_t)ret < size - len);
		len += (size_t)ret;
	}
	/* far more than one line may be: only lines are bounded, not reads */
	assert_true(len > QMP_MAX_LINE_DEFAULT);
	ret = snprintf(buf + len, size - len, "{\"return\": {}, \"id\": 2}\r\n");
	len += (size_t)ret;

	/* 100k events in one read */
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		struct flood f = { .in_order = true };
		struct rec r = {};

		c = client_with_command(true, &r);
		qmp_set_event_callback(c, on_event_count, &f);
		assert_int_equal(qmp_feed(c, buf, len), 0);
		assert_int_equal(f.n_events, n_events);
		assert_true(f.in_order);
		/* the reply behind them still arrives */
		assert_int_equal(r.n_replies, 1);
		assert_int_equal(r.replies[0].error, 0);
		assert_int_equal(qmp_client_error(c), 0);
		/* whole lines in one read are parsed in place: nothing was buffered */
		assert_int_equal(c->in_alloc, 0);
		rec_done(&r);
	}

	/* the same in reads of 1 to 97 bytes, cutting lines anywhere */
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		struct flood f = { .in_order = true };
		struct rec r = {};
		size_t off = 0;

		c = client_with_command(true, &r);
		qmp_set_event_callback(c, on_event_count, &f);
		for (size_t i = 0; off < len; i++) {
			size_t n = MIN(len - off, 1 + (i * 7919) % 97);

			assert_int_equal(qmp_feed(c, buf + off, n), 0);
			off += n;
			/* at most one partial line is kept */
			assert_true(c->in_alloc <= 256);
		}
		assert_int_equal(f.n_events, n_events);
		assert_true(f.in_order);
		assert_int_equal(r.n_replies, 1);
		assert_int_equal(qmp_client_error(c), 0);
		rec_done(&r);
	}
}

static void test_unknown_and_duplicate_ids(void **state)
{
	/* each dropped: none is a pending command's id */
	static const char *const unknown[] = {
		"99",
		"0",
		"-1",
		"1", /* qmp_capabilities, answered long ago */
		"5", /* cancelled */
		"4294967298",
		"9223372036854775807",
		"-9223372036854775808",
		"18446744073709551615",
		"18446744073709551618", /* 2 + 2^64 */
		"2.0",
		"2e0",
		"\"2\"",
		"null",
		"true",
		"[2]",
		"{\"id\": 2}",
	};
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	_cleanup_free_ char *flood = NULL;
	struct rec r = {};
	uint64_t a, b, d;
	size_t len = 0;

	c = ready_client(&r);
	assert_int_equal(qmp_send_command(c, "a", NULL, on_reply, &r, &a), 0);
	assert_int_equal(qmp_send_command(c, "b", NULL, on_reply, &r, &b), 0);
	assert_int_equal(qmp_send_command(c, "d", NULL, on_reply, &r, &d), 0);
	assert_int_equal(a, 2);
	assert_int_equal(d, 4);
	assert_int_equal(qmp_cancel_command(c, d), 0);
	assert_int_equal(qmp_send_command(c, "e", NULL, NULL, NULL, &d), 0);
	assert_int_equal(qmp_cancel_command(c, d), 0);

	for (size_t i = 0; i < ELEMENTSOF(unknown); i++) {
		_cleanup_free_ char *ok = subst("{\"return\": {}, \"id\": @}\r\n", unknown[i]);
		_cleanup_free_ char *err = subst(
			"{\"error\": {\"class\": \"GenericError\", \"desc\": \"d\"}, \"id\": @}\r\n",
			unknown[i]);

		assert_int_equal(feed(c, ok), 0);
		assert_int_equal(feed(c, err), 0);
	}
	/* a "return" without id answers nobody: it must not complete the oldest command */
	assert_int_equal(feed(c, "{\"return\": {\"stranger\": true}}\r\n"), 0);
	assert_int_equal(r.n_replies, 0);
	assert_int_equal(qmp_pending_commands(c), 2);
	assert_int_equal(qmp_client_error(c), 0);

	/* 100k replies with an unknown id: dropped one by one, nothing kept */
	flood = malloc(100000 * 32);
	assert_non_null(flood);
	for (size_t i = 0; i < 100000; i++)
		len += (size_t)sprintf(flood + len, "{\"return\": {}, \"id\": %zu}\r\n", 1000 + i);
	assert_int_equal(qmp_feed(c, flood, len), 0);
	assert_int_equal(r.n_replies, 0);
	assert_int_equal(qmp_pending_commands(c), 2);

	/* the real reply, then the same again: the duplicate is an unknown id */
	assert_int_equal(feed(c, "{\"return\": 1, \"id\": 2}\r\n"), 0);
	assert_int_equal(feed(c, "{\"return\": 2, \"id\": 2}\r\n"), 0);
	assert_int_equal(
		feed(c,
		     "{\"error\": {\"class\": \"GenericError\", \"desc\": \"d\"}, \"id\": 2}\r\n"),
		0);
	assert_int_equal(r.n_replies, 1);
	assert_int_equal(r.replies[0].id, a);
	assert_string_equal(r.replies[0].ret, "1");
	assert_int_equal(qmp_pending_commands(c), 1);

	/* an error without id: QEMU could not parse the oldest command */
	assert_int_equal(feed(c, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse "
				 "error\"}}\r\n"),
			 0);
	assert_int_equal(r.n_replies, 2);
	assert_int_equal(r.replies[1].id, b);
	assert_int_equal(r.replies[1].error, -EREMOTEIO);
	/* with nobody waiting it is dropped */
	assert_int_equal(feed(c, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}\r\n"),
			 0);
	assert_int_equal(r.n_replies, 2);
	assert_int_equal(qmp_client_error(c), 0);
	rec_done(&r);

	/* a malformed error member breaks the connection whatever its id */
	expect_broken("{\"error\": {\"class\": 1, \"desc\": \"d\"}, \"id\": 99}\r\n", -EBADMSG);
	expect_broken("{\"error\": {\"class\": \"C\"}}\r\n", -EBADMSG);
	expect_broken("{\"error\": [], \"id\": \"x\"}\r\n", -EBADMSG);
}

/* A member of a typed parser's input: tmpl with '@' for it, of JSON type type, ok valid there. */
struct typed_member {
	const char *tmpl;
	json_type type;
	const char *ok;
};

#define CPU(member) "[{\"cpu-index\": 0, \"thread-id\": 12, \"qom-path\": \"/m\", " member "}]"
#define PROPS(key)                                                                                 \
	{                                                                                          \
		CPU("\"props\": {\"" key "\": @}"), json_type_int, "0"                             \
	}

static void test_wrong_types_parsers(void **state)
{
	static const struct typed_member cpus[] = {
		{ "@", json_type_array, "[]" },
		{ "[@]", json_type_object,
		  "{\"cpu-index\": 0, \"thread-id\": 1, \"qom-path\": \"\"}" },
		{ "[{\"cpu-index\": @, \"thread-id\": 12, \"qom-path\": \"/m\"}]", json_type_int,
		  "7" },
		{ "[{\"cpu-index\": 0, \"thread-id\": @, \"qom-path\": \"/m\"}]", json_type_int,
		  "7" },
		{ "[{\"cpu-index\": 0, \"thread-id\": 12, \"qom-path\": @}]", json_type_string,
		  "\"/m\"" },
		{ CPU("\"props\": @"), json_type_object, "{}" },
		PROPS("node-id"),
		PROPS("socket-id"),
		PROPS("die-id"),
		PROPS("cluster-id"),
		PROPS("core-id"),
		PROPS("thread-id"),
	};
	static const struct typed_member iothreads[] = {
		{ "@", json_type_array, "[]" },
		{ "[@]", json_type_object, "{\"id\": \"io0\", \"thread-id\": 1}" },
		{ "[{\"id\": @, \"thread-id\": 1}]", json_type_string, "\"io0\"" },
		{ "[{\"id\": \"io0\", \"thread-id\": @}]", json_type_int, "7" },
	};
	static const struct typed_member status[] = {
		{ "@", json_type_object, "{\"running\": true, \"status\": \"running\"}" },
		{ "{\"running\": @, \"status\": \"running\"}", json_type_boolean, "true" },
		{ "{\"running\": true, \"status\": @}", json_type_string, "\"running\"" },
	};
	/* members no parser reads: any value is fine */
	static const char *const ignored[] = {
		CPU("\"target\": @"),
		CPU("\"props\": {\"new-id\": @}"),
		"[{\"id\": \"io0\", \"thread-id\": 1, \"poll-max-ns\": @}]",
		"{\"running\": true, \"status\": \"running\", \"singlestep\": @}",
	};
	size_t checked = 0;

	for (int parser = 0; parser < 3; parser++) {
		const struct typed_member *t = parser == 0   ? cpus
					       : parser == 1 ? iothreads
							     : status;
		size_t n = parser == 0	 ? ELEMENTSOF(cpus)
			   : parser == 1 ? ELEMENTSOF(iothreads)
					 : ELEMENTSOF(status);

		for (size_t i = 0; i < n; i++)
			for (size_t v = 0; v <= ELEMENTSOF(any_value); v++) {
				const char *val =
					v < ELEMENTSOF(any_value) ? any_value[v] : t[i].ok;
				bool good = v == ELEMENTSOF(any_value);
				_cleanup_(qmp_json_putp) json_object *o = NULL;
				_cleanup_free_ char *text = NULL;
				struct qmp_iothread *io = (void *)1;
				struct qmp_cpu *cpu = (void *)1;
				struct qmp_status st = { .status = (void *)1 };
				size_t k = 12345;
				int ret;

				/* right type: range checks are test_parse_cpus_fast's */
				if (!good && value_type(val) == t[i].type)
					continue;
				text = subst(t[i].tmpl, val);
				o = json_tokener_parse(text);
				assert_true(o || streq(text, "null"));
				if (parser == 0)
					ret = qmp_parse_cpus_fast(o, &cpu, &k);
				else if (parser == 1)
					ret = qmp_parse_iothreads(o, &io, &k);
				else
					ret = qmp_parse_status(o, &st);
				if (good) {
					if (ret != 0)
						fail_msg("rejected: %s", text);
					qmp_cpus_free(parser == 0 ? cpu : NULL, k);
					qmp_iothreads_free(parser == 1 ? io : NULL, k);
					if (parser == 2)
						qmp_status_done(&st);
					continue;
				}
				if (ret != -EBADMSG)
					fail_msg("not -EBADMSG (%d): %s", ret, text);
				/* nothing handed out on failure */
				assert_ptr_equal(cpu, (void *)1);
				assert_ptr_equal(io, (void *)1);
				assert_ptr_equal(st.status, (void *)1);
				assert_int_equal(k, 12345);
				checked++;
			}
	}
	assert_true(checked > 150);

	for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
		for (size_t v = 0; v < ELEMENTSOF(any_value); v++) {
			_cleanup_(qmp_json_putp) json_object *o = NULL;
			_cleanup_free_ char *text = subst(ignored[i], any_value[v]);
			struct qmp_iothread *io;
			struct qmp_cpu *cpu;
			struct qmp_status st;
			size_t k;

			o = json_tokener_parse(text);
			assert_non_null(o);
			if (i < 2) {
				assert_int_equal(qmp_parse_cpus_fast(o, &cpu, &k), 0);
				assert_int_equal(cpu[0].thread_id, 12);
				qmp_cpus_free(cpu, k);
			} else if (i == 2) {
				assert_int_equal(qmp_parse_iothreads(o, &io, &k), 0);
				qmp_iothreads_free(io, k);
			} else {
				assert_int_equal(qmp_parse_status(o, &st), 0);
				qmp_status_done(&st);
			}
		}
}

/* Wrong types in the members that frame a message: the connection breaks with -EBADMSG. */
static void test_wrong_types_messages(void **state)
{
	static const struct {
		enum msg_kind kind;
		struct typed_member m;
	} framing[] = {
		{ MSG_GREETING,
		  { "{\"QMP\": @}", json_type_object,
		    "{\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, "
		    "\"major\": 7}}, \"capabilities\": []}" } },
#define GREET(version, caps) "{\"QMP\": {\"version\": " version ", \"capabilities\": " caps "}}"
#define QEMU(ma, mi, mu)                                                                           \
	GREET("{\"qemu\": {\"major\": " ma ", \"minor\": " mi ", \"micro\": " mu "}}", "[]")
		{ MSG_GREETING,
		  { GREET("@", "[]"), json_type_object,
		    "{\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 1}}" } },
		{ MSG_GREETING,
		  { GREET("{\"qemu\": @}", "[]"), json_type_object,
		    "{\"major\": 7, \"minor\": 2, \"micro\": 1}" } },
		{ MSG_GREETING, { QEMU("@", "2", "1"), json_type_int, "7" } },
		{ MSG_GREETING, { QEMU("7", "@", "1"), json_type_int, "7" } },
		{ MSG_GREETING, { QEMU("7", "2", "@"), json_type_int, "7" } },
		{ MSG_GREETING,
		  { GREET("{\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 1}, \"package\": @}",
			  "[]"),
		    json_type_string, "\"\"" } },
		{ MSG_GREETING,
		  { GREET("{\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 1}}", "@"),
		    json_type_array, "[\"oob\"]" } },
#undef QEMU
#undef GREET
		{ MSG_ERROR,
		  { "{\"error\": @, \"id\": 2}", json_type_object,
		    "{\"class\": \"GenericError\", \"desc\": \"d\"}" } },
		{ MSG_ERROR,
		  { "{\"error\": {\"class\": @, \"desc\": \"d\"}, \"id\": 2}", json_type_string,
		    "\"GenericError\"" } },
		{ MSG_ERROR,
		  { "{\"error\": {\"class\": \"GenericError\", \"desc\": @}, \"id\": 2}",
		    json_type_string, "\"d\"" } },
		{ MSG_EVENT, { "{\"event\": @}", json_type_string, "\"STOP\"" } },
		{ MSG_EVENT, { "{\"event\": \"STOP\", \"data\": @}", json_type_object, "{}" } },
		{ MSG_EVENT, { "{\"event\": \"SHUTDOWN\", \"data\": @}", json_type_object, "{}" } },
	};

	for (size_t i = 0; i < ELEMENTSOF(framing); i++)
		for (size_t v = 0; v <= ELEMENTSOF(any_value); v++) {
			const struct typed_member *t = &framing[i].m;
			bool good = v == ELEMENTSOF(any_value);
			const char *val = good ? t->ok : any_value[v];
			_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
			_cleanup_free_ char *text = NULL, *line = NULL;
			struct rec r = {};

			if (!good && value_type(val) == t->type)
				continue;
			text = subst(t->tmpl, val);
			assert_true(asprintf(&line, "%s\r\n", text) > 0);
			c = client_with_command(framing[i].kind != MSG_GREETING, &r);
			if (good) {
				if (feed(c, line) != 0)
					fail_msg("rejected: %s", text);
				assert_dispatched(c, &r, framing[i].kind);
			} else {
				if (feed(c, line) != -EBADMSG)
					fail_msg("not -EBADMSG: %s", text);
				assert_broken(c, &r, -EBADMSG);
				if (framing[i].kind == MSG_GREETING)
					assert_int_equal(qmp_version(c, NULL, NULL, NULL), -EAGAIN);
			}
			rec_done(&r);
		}

	/* "return" may be of any type but null (json-c's NULL: no value at all) */
	for (size_t v = 0; v < ELEMENTSOF(any_value); v++) {
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		_cleanup_free_ char *line = subst("{\"return\": @, \"id\": 2}\r\n", any_value[v]);
		struct rec r = {};

		c = client_with_command(true, &r);
		if (streq(any_value[v], "null")) {
			assert_int_equal(feed(c, line), -EBADMSG);
			assert_broken(c, &r, -EBADMSG);
		} else {
			assert_int_equal(feed(c, line), 0);
			assert_dispatched(c, &r, MSG_REPLY);
		}
		rec_done(&r);
	}
}

/* Typed event members of a wrong type keep the defaults of struct qmp_event; the event still comes.
 */
static void check_timestamp(const struct event_rec *e, bool good)
{
	assert_int_equal(e->ev.seconds, good ? 5 : -1);
	assert_int_equal(e->ev.microseconds, good ? 6 : -1);
}

static void check_shutdown_guest(const struct event_rec *e, bool good)
{
	assert_int_equal(e->ev.guest, good);
	assert_int_equal(e->ev.reason, QMP_SHUTDOWN_CAUSE_GUEST_RESET);
}

static void check_shutdown_reason(const struct event_rec *e, bool good)
{
	assert_true(e->ev.guest);
	assert_int_equal(e->ev.reason,
			 good ? QMP_SHUTDOWN_CAUSE_GUEST_PANIC : _QMP_SHUTDOWN_CAUSE_INVALID);
	if (good)
		assert_string_equal(e->reason_str, "guest-panic");
	else
		assert_null(e->reason_str);
}

static void check_panic_action(const struct event_rec *e, bool good)
{
	assert_int_equal(e->ev.panic_action,
			 good ? QMP_PANIC_ACTION_POWEROFF : _QMP_PANIC_ACTION_INVALID);
	assert_true(e->ev.has_hyperv_crash);
}

static void check_panic_info(const struct event_rec *e, bool good)
{
	assert_int_equal(e->ev.panic_action, QMP_PANIC_ACTION_PAUSE);
	assert_int_equal(e->ev.panic_info != NULL, good);
	assert_int_equal(e->ev.has_hyperv_crash, good);
	if (good)
		assert_true(e->ev.hyperv_crash[0] == 209 && e->ev.hyperv_crash[4] == 5);
}

static void check_panic_crash(const struct event_rec *e, bool good)
{
	assert_int_equal(e->ev.panic_action, QMP_PANIC_ACTION_PAUSE);
	assert_non_null(e->ev.panic_info);
	assert_int_equal(e->ev.has_hyperv_crash, good);
	if (!good)
		for (size_t i = 0; i < ELEMENTSOF(e->ev.hyperv_crash); i++)
			assert_true(e->ev.hyperv_crash[i] == 0);
}

static void check_watchdog(const struct event_rec *e, bool good)
{
	assert_int_equal(e->ev.watchdog_action,
			 good ? QMP_WATCHDOG_ACTION_PAUSE : _QMP_WATCHDOG_ACTION_INVALID);
}

static void test_wrong_types_events(void **state)
{
#define PANIC(info)                                                                                \
	"{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\", \"info\": " info "}}"
#define HV(a1, a2, a3, a4, a5, type)                                                               \
	PANIC("{\"type\": " type ", \"arg1\": " a1 ", \"arg2\": " a2 ", \"arg3\": " a3             \
	      ", \"arg4\": " a4 ", \"arg5\": " a5 "}")
	static const struct {
		struct typed_member m;
		enum qmp_event_type type;
		void (*check)(const struct event_rec *e, bool good);
	} cases[] = {
		{ { "{\"event\": \"STOP\", \"timestamp\": @}", json_type_object,
		    "{\"seconds\": 5, \"microseconds\": 6}" },
		  QMP_EVENT_STOP,
		  check_timestamp },
		{ { "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": @, \"microseconds\": 6}}",
		    json_type_int, "5" },
		  QMP_EVENT_STOP,
		  check_timestamp },
		{ { "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 5, \"microseconds\": @}}",
		    json_type_int, "6" },
		  QMP_EVENT_STOP,
		  check_timestamp },
		{ { "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": @, \"reason\": "
		    "\"guest-reset\"}}",
		    json_type_boolean, "true" },
		  QMP_EVENT_SHUTDOWN,
		  check_shutdown_guest },
		{ { "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": @}}",
		    json_type_string, "\"guest-panic\"" },
		  QMP_EVENT_SHUTDOWN,
		  check_shutdown_reason },
		{ { "{\"event\": \"RESET\", \"data\": {\"guest\": @, \"reason\": \"guest-reset\"}}",
		    json_type_boolean, "true" },
		  QMP_EVENT_RESET,
		  check_shutdown_guest },
		{ { "{\"event\": \"RESET\", \"data\": {\"guest\": true, \"reason\": @}}",
		    json_type_string, "\"guest-panic\"" },
		  QMP_EVENT_RESET,
		  check_shutdown_reason },
		{ { "{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": @, \"info\": {\"type\": "
		    "\"hyper-v\", \"arg1\": 1, \"arg2\": 2, \"arg3\": 3, \"arg4\": 4, \"arg5\": 5}}}",
		    json_type_string, "\"poweroff\"" },
		  QMP_EVENT_GUEST_PANICKED,
		  check_panic_action },
		{ { PANIC("@"), json_type_object,
		    "{\"type\": \"hyper-v\", \"arg1\": 209, \"arg2\": 2, \"arg3\": 3, \"arg4\": 4, "
		    "\"arg5\": 5}" },
		  QMP_EVENT_GUEST_PANICKED,
		  check_panic_info },
		{ { HV("1", "2", "3", "4", "5", "@"), json_type_string, "\"hyper-v\"" },
		  QMP_EVENT_GUEST_PANICKED,
		  check_panic_crash },
		{ { HV("@", "2", "3", "4", "5", "\"hyper-v\""), json_type_int, "1" },
		  QMP_EVENT_GUEST_PANICKED,
		  check_panic_crash },
		{ { HV("1", "@", "3", "4", "5", "\"hyper-v\""), json_type_int, "1" },
		  QMP_EVENT_GUEST_PANICKED,
		  check_panic_crash },
		{ { HV("1", "2", "@", "4", "5", "\"hyper-v\""), json_type_int, "1" },
		  QMP_EVENT_GUEST_PANICKED,
		  check_panic_crash },
		{ { HV("1", "2", "3", "@", "5", "\"hyper-v\""), json_type_int, "1" },
		  QMP_EVENT_GUEST_PANICKED,
		  check_panic_crash },
		{ { HV("1", "2", "3", "4", "@", "\"hyper-v\""), json_type_int, "1" },
		  QMP_EVENT_GUEST_PANICKED,
		  check_panic_crash },
		{ { "{\"event\": \"WATCHDOG\", \"data\": {\"action\": @}}", json_type_string,
		    "\"pause\"" },
		  QMP_EVENT_WATCHDOG,
		  check_watchdog },
	};
#undef HV
#undef PANIC
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct rec r = {};

	c = ready_client(&r);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		for (size_t v = 0; v <= ELEMENTSOF(any_value); v++) {
			const struct typed_member *t = &cases[i].m;
			bool good = v == ELEMENTSOF(any_value);
			const char *val = good ? t->ok : any_value[v];
			_cleanup_free_ char *text = NULL, *line = NULL;

			if (!good && value_type(val) == t->type)
				continue;
			text = subst(t->tmpl, val);
			assert_true(asprintf(&line, "%s\r\n", text) > 0);
			if (feed(c, line) != 0)
				fail_msg("rejected: %s", text);
			assert_int_equal(r.n_events, 1);
			assert_int_equal(r.events[0].ev.type, cases[i].type);
			cases[i].check(&r.events[0], good);
			rec_done(&r);
		}
	/* and all of it on one connection that is still fine */
	assert_int_equal(qmp_client_error(c), 0);
	assert_true(qmp_is_ready(c));
}

static void test_eof_mid_message(void **state)
{
	static const char *const cut[] = {
		"{\"return\": {\"running\": tr",
		"{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true",
		"{\"error\": {\"class\": \"GenericError\", \"desc\": \"",
		"{\"return\": {}, \"id\": 3}\r", /* all but the "\n" */
	};

	for (size_t i = 0; i < ELEMENTSOF(cut); i++)
		for (int how = 0; how < 2; how++) {
			_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
			struct rec r = {};
			uint64_t d;
			int err = how == 0 ? -ECONNRESET : -EPIPE;
			const void *p;
			size_t len;

			c = ready_client(&r);
			for (int k = 0; k < 3; k++)
				assert_int_equal(qmp_send_command(c, "x", NULL, on_reply, &r, NULL),
						 0);
			/* the first one's reply, whole, then half of a message */
			assert_int_equal(feed(c, "{\"return\": {}, \"id\": 2}\r\n"), 0);
			assert_int_equal(feed(c, cut[i]), 0);
			assert_int_equal(r.n_replies, 1);
			assert_int_equal(c->in_len, strlen(cut[i]));

			/* the peer hangs up (EOF on read, or EPIPE on write) */
			if (how == 0) {
				assert_int_equal(qmp_feed_eof(c), -ECONNRESET);
			} else {
				qmp_client_fail(c, -EPIPE);
			}
			/* each pending command fails once, oldest first; the half message is gone
			 */
			assert_int_equal(r.n_replies, 3);
			assert_int_equal(r.replies[0].error, 0);
			assert_int_equal(r.replies[1].id, 3);
			assert_int_equal(r.replies[1].error, err);
			assert_int_equal(r.replies[2].id, 4);
			assert_int_equal(r.replies[2].error, err);
			assert_int_equal(r.n_events, 0);
			assert_null(c->in);
			assert_int_equal(qmp_pending_commands(c), 0);
			assert_int_equal(qmp_client_error(c), err);
			assert_false(qmp_is_ready(c));

			/* the rest of the message changes nothing */
			assert_int_equal(feed(c, "ue}, \"id\": 3}\r\n"), err);
			assert_int_equal(qmp_feed_eof(c), err);
			qmp_client_fail(c, -EIO);
			assert_int_equal(qmp_client_error(c), err);
			assert_int_equal(qmp_send_command(c, "y", NULL, on_reply, &r, NULL), err);
			assert_int_equal(qmp_pending_output(c, &p, &len), err);
			assert_int_equal(qmp_output_consumed(c, 0), err);
			assert_int_equal(qmp_next_deadline(c, &d), -ENODATA);
			assert_int_equal(qmp_handle_timeouts(c, UINT64_MAX), err);
			assert_int_equal(r.n_replies, 3);
			rec_done(&r);
		}

	/* mid-greeting: the command queued before it fails */
	{
		_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
		struct rec r = {};

		c = client_with_command(false, &r);
		assert_int_equal(feed(c, "{\"QMP\": {\"version\": {\"qemu\": {\"mic"), 0);
		assert_int_equal(qmp_feed_eof(c), -ECONNRESET);
		assert_broken(c, &r, -ECONNRESET);
		assert_int_equal(qmp_version(c, NULL, NULL, NULL), -EAGAIN);
		rec_done(&r);
	}
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
		cmocka_unit_test(test_truncated_every_offset),
		cmocka_unit_test(test_gigabyte_line),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_event_flood),
		cmocka_unit_test(test_unknown_and_duplicate_ids),
		cmocka_unit_test(test_wrong_types_parsers),
		cmocka_unit_test(test_wrong_types_messages),
		cmocka_unit_test(test_wrong_types_events),
		cmocka_unit_test(test_eof_mid_message),
		FAKE_SERVER_TESTS,
	};

	/* a fake server that went away must be -EPIPE in the test, not a signal */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
