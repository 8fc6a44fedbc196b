/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The non-blocking QMP core: line framing, dispatch of replies (by "id") and
 * events, the queue of pending commands with their deadlines, and the output
 * buffer. It does no I/O; see qmp.h for how a loop drives it.
 */
#include <string.h>
#include <time.h>

#include "macro.h"
#include "qmp-internal.h"

/* Enough for any command gamevm sends; a bound, not a tuning knob. */
#define QMP_MAX_OUTPUT (1024 * 1024)

uint64_t qmp_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t deadline_after(unsigned timeout_ms)
{
	return qmp_now_usec() + (uint64_t)timeout_ms * 1000u;
}

int qmp_client_new(int fd, struct qmp_client **ret)
{
	struct qmp_client *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->tok = json_tokener_new_ex(QMP_MAX_DEPTH);
	if (!c->tok) {
		free(c);
		return -ENOMEM;
	}
	/* no trailing characters; input bytes are checked to be ASCII before json-c sees them */
	json_tokener_set_flags(c->tok, JSON_TOKENER_STRICT);

	c->fd = fd;
	c->max_line = QMP_MAX_LINE_DEFAULT;
	c->next_id = 1;
	c->timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
	c->greeting_deadline_usec = deadline_after(c->timeout_ms);
	c->state = QMP_STATE_GREETING;
	*ret = c;
	return 0;
}

static void last_error_clear(struct qmp_client *c)
{
	free(c->last_error.class);
	free(c->last_error.desc);
	c->last_error = (struct qmp_error){};
	c->has_last_error = false;
}

void qmp_client_free(struct qmp_client *c)
{
	if (!c)
		return;
	closep(&c->fd);
	if (c->tok)
		json_tokener_free(c->tok);
	free(c->in);
	free(c->out);
	free(c->package);
	last_error_clear(c);
	free(c);
}

int qmp_client_get_fd(const struct qmp_client *c)
{
	return c->fd >= 0 ? c->fd : -EBADF;
}

void qmp_set_event_callback(struct qmp_client *c, qmp_event_cb cb, void *userdata)
{
	c->event_cb = cb;
	c->event_userdata = userdata;
}

void qmp_set_timeout(struct qmp_client *c, unsigned timeout_ms)
{
	c->timeout_ms = timeout_ms;
	if (c->state == QMP_STATE_GREETING)
		c->greeting_deadline_usec = deadline_after(timeout_ms);
}

int qmp_set_max_line(struct qmp_client *c, size_t max)
{
	if (max < 256 || max > INT32_MAX / 2)
		return -EINVAL;
	/* shrinking below what is buffered would make the kept partial line overlong */
	if (c->in_len > max + 1)
		return -EBUSY;
	c->max_line = max;
	return 0;
}

int qmp_client_error(const struct qmp_client *c)
{
	return c->broken;
}

bool qmp_is_ready(const struct qmp_client *c)
{
	return !c->broken && c->state == QMP_STATE_READY;
}

int qmp_version(const struct qmp_client *c, int *ret_major, int *ret_minor, int *ret_micro)
{
	if (c->state == QMP_STATE_GREETING)
		return -EAGAIN;
	if (ret_major)
		*ret_major = c->version[0];
	if (ret_minor)
		*ret_minor = c->version[1];
	if (ret_micro)
		*ret_micro = c->version[2];
	return 0;
}

const char *qmp_version_package(const struct qmp_client *c)
{
	return c->package;
}

size_t qmp_pending_commands(const struct qmp_client *c)
{
	return c->n_pending;
}

/* Takes pending[i] out of the queue, so that its callback may queue more. */
static struct qmp_pending pending_take(struct qmp_client *c, size_t i)
{
	struct qmp_pending p = c->pending[i];

	memmove(&c->pending[i], &c->pending[i + 1], (c->n_pending - i - 1) * sizeof(c->pending[0]));
	c->n_pending--;
	return p;
}

static void pending_complete(struct qmp_client *c, struct qmp_pending *p, int error,
			     json_object *ret, const struct qmp_error *err)
{
	if (p->cb)
		p->cb(c, p->id, error, ret, err, p->userdata);
}

void qmp_client_fail(struct qmp_client *c, int error)
{
	if (error >= 0)
		error = -EIO;
	if (c->broken)
		return;
	c->broken = error;
	/* nothing is read or written any more: a partial line of up to max_line goes now */
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_alloc = 0;
	free(c->out);
	c->out = NULL;
	c->out_len = 0;
	/* set first: a callback that queues another command gets the error at once */
	while (c->n_pending > 0) {
		struct qmp_pending p = pending_take(c, 0);

		pending_complete(c, &p, error, NULL, NULL);
	}
}

int qmp_feed_eof(struct qmp_client *c)
{
	qmp_client_fail(c, -ECONNRESET);
	return c->broken;
}

static int output_append(struct qmp_client *c, size_t at, const char *s, size_t len)
{
	char *p;

	if (c->out_len + len > QMP_MAX_OUTPUT)
		return -ENOBUFS;
	p = realloc(c->out, c->out_len + len);
	if (!p)
		return -ENOMEM;
	c->out = p;
	memmove(c->out + at + len, c->out + at, c->out_len - at);
	memcpy(c->out + at, s, len);
	c->out_len += len;
	return 0;
}

/* Adds v (owned) to obj; json-c would store a NULL v as JSON null. */
static int object_add(json_object *obj, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Serializes and queues a command, at the end or, for qmp_capabilities, in
 * front of the commands queued before the greeting (nothing was written yet
 * then, so the front of the output is the front of the wire).
 */
static int command_queue(struct qmp_client *c, bool front, const char *name, json_object *args,
			 unsigned timeout_ms, qmp_reply_cb cb, void *userdata, uint64_t *ret_id)
{
	_cleanup_(qmp_json_putp) json_object *cmd = NULL;
	size_t at = front ? 0 : c->n_pending;
	size_t out_at = front ? 0 : c->out_len;
	const char *text;
	size_t len;
	uint64_t id;
	int r;

	if (c->broken)
		return c->broken;
	if (isempty(name) || (args && !json_object_is_type(args, json_type_object)))
		return -EINVAL;
	if (c->n_pending >= QMP_MAX_PENDING)
		return -ENOBUFS;

	id = c->next_id;
	cmd = json_object_new_object();
	if (!cmd)
		return -ENOMEM;
	r = object_add(cmd, "execute", json_object_new_string(name));
	if (r >= 0 && args)
		r = object_add(cmd, "arguments", json_object_get(args));
	if (r >= 0)
		r = object_add(cmd, "id", json_object_new_int64((int64_t)id));
	if (r < 0)
		return r;
	text = json_object_to_json_string_length(
		cmd, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!text)
		return -ENOMEM;

	/* leave room for "\r\n" in the bound check done by output_append */
	r = output_append(c, out_at, "\r\n", 2);
	if (r < 0)
		return r;
	r = output_append(c, out_at, text, len);
	if (r < 0) {
		memmove(c->out + out_at, c->out + out_at + 2, c->out_len - out_at - 2);
		c->out_len -= 2;
		return r;
	}

	memmove(&c->pending[at + 1], &c->pending[at], (c->n_pending - at) * sizeof(c->pending[0]));
	c->pending[at] = (struct qmp_pending){
		.id = id,
		.deadline_usec = deadline_after(timeout_ms),
		.cb = cb,
		.userdata = userdata,
	};
	c->n_pending++;
	c->next_id++;
	if (ret_id)
		*ret_id = id;
	return 0;
}

int qmp_send_command_timeout(struct qmp_client *c, const char *name, json_object *args,
			     unsigned timeout_ms, qmp_reply_cb cb, void *userdata, uint64_t *ret_id)
{
	return command_queue(c, false, name, args, timeout_ms, cb, userdata, ret_id);
}

int qmp_send_command(struct qmp_client *c, const char *name, json_object *args, qmp_reply_cb cb,
		     void *userdata, uint64_t *ret_id)
{
	return qmp_send_command_timeout(c, name, args, c->timeout_ms, cb, userdata, ret_id);
}

int qmp_cancel_command(struct qmp_client *c, uint64_t id)
{
	for (size_t i = 0; i < c->n_pending; i++)
		if (c->pending[i].id == id) {
			(void)pending_take(c, i);
			return 0;
		}
	return -ENOENT;
}

int qmp_pending_output(const struct qmp_client *c, const void **ret_ptr, size_t *ret_len)
{
	if (c->broken)
		return c->broken;
	if (c->state == QMP_STATE_GREETING || c->out_len == 0) {
		*ret_ptr = NULL;
		*ret_len = 0;
		return 0;
	}
	*ret_ptr = c->out;
	*ret_len = c->out_len;
	return 0;
}

int qmp_output_consumed(struct qmp_client *c, size_t n)
{
	if (c->broken)
		return c->broken;
	if (c->state == QMP_STATE_GREETING ? n > 0 : n > c->out_len)
		return -EINVAL;
	memmove(c->out, c->out + n, c->out_len - n);
	c->out_len -= n;
	return 0;
}

int qmp_next_deadline(const struct qmp_client *c, uint64_t *ret_usec)
{
	uint64_t d = UINT64_MAX;

	if (c->broken)
		return -ENODATA;
	if (c->state == QMP_STATE_GREETING)
		d = c->greeting_deadline_usec;
	for (size_t i = 0; i < c->n_pending; i++)
		d = MIN(d, c->pending[i].deadline_usec);
	if (d == UINT64_MAX)
		return -ENODATA;
	*ret_usec = d;
	return 0;
}

int qmp_handle_timeouts(struct qmp_client *c, uint64_t now_usec)
{
	if (c->broken)
		return c->broken;
	if (c->dispatching)
		return -EBUSY;
	if (c->state == QMP_STATE_GREETING && now_usec >= c->greeting_deadline_usec) {
		qmp_client_fail(c, -ETIMEDOUT);
		return c->broken;
	}

	c->dispatching = true;
	/*
	 * A late reply then carries an id nobody waits for and is dropped, as
	 * the spec asks of unknown ids; the connection stays usable.
	 */
	for (size_t i = 0; i < c->n_pending && !c->broken;) {
		struct qmp_pending p;

		if (c->pending[i].deadline_usec > now_usec) {
			i++;
			continue;
		}
		p = pending_take(c, i);
		pending_complete(c, &p, -ETIMEDOUT, NULL, NULL);
	}
	c->dispatching = false;
	return 0;
}

static void capabilities_done(struct qmp_client *c, uint64_t id, int error, json_object *ret,
			      const struct qmp_error *err, void *userdata)
{
	if (error < 0) {
		/* an error reply here means the server is not in negotiation mode */
		qmp_client_fail(c, error == -EREMOTEIO || error == -EOPNOTSUPP ? -EPROTO : error);
		return;
	}
	c->state = QMP_STATE_READY;
}

static int handle_greeting(struct qmp_client *c, json_object *msg)
{
	struct qmp_greeting g;
	int r;

	r = qmp_parse_greeting(msg, &g);
	if (r < 0)
		return r;
	memcpy(c->version, g.version, sizeof(c->version));
	c->package = g.package;
	c->state = QMP_STATE_NEGOTIATING;

	/* first in the queue, so it is answered before anything queued earlier */
	return command_queue(c, true, "qmp_capabilities", NULL, c->timeout_ms, capabilities_done,
			     NULL, NULL);
}

static int handle_reply(struct qmp_client *c, json_object *msg, json_object *ret,
			json_object *error)
{
	struct qmp_error e = {};
	struct qmp_pending p;
	json_object *id;
	size_t i = 0;

	/*
	 * The shape first, whoever the reply is for: a malformed error member
	 * breaks the connection even when its id is unknown.
	 */
	if (error) {
		const char *class, *desc;
		int r;

		r = qmp_parse_error(error, &class, &desc);
		if (r < 0)
			return r;
		e.class = (char *)class;
		e.desc = (char *)desc;
	}

	if (json_object_object_get_ex(msg, "id", &id)) {
		int64_t v;

		/* only our own counter values can match; anything else is unknown */
		if (!json_object_is_type(id, json_type_int))
			return 0;
		v = json_object_get_int64(id);
		for (i = 0; i < c->n_pending; i++)
			if (v > 0 && c->pending[i].id == (uint64_t)v)
				break;
		if (i == c->n_pending)
			return 0;
	} else if (!error || c->n_pending == 0) {
		/*
		 * Every command is sent with an id and QEMU echoes it, so a
		 * "return" without one answers nobody: completing the oldest
		 * command with it would hand that command a stranger's result.
		 * Likewise an id-less error nobody waits for.
		 */
		return 0;
	}
	/* else: an error without id means QEMU could not parse the oldest command */

	p = pending_take(c, i);
	if (error)
		pending_complete(c, &p, qmp_error_class_to_errno(e.class), NULL, &e);
	else
		pending_complete(c, &p, 0, ret, NULL);
	return 0;
}

static int handle_message(struct qmp_client *c, json_object *msg)
{
	json_object *ev, *ret = NULL, *error = NULL;
	bool has_ev, has_ret, has_error;

	if (c->state == QMP_STATE_GREETING)
		return handle_greeting(c, msg);
	if (json_object_object_get_ex(msg, "QMP", NULL))
		return -EPROTO;

	has_ev = json_object_object_get_ex(msg, "event", &ev);
	has_ret = json_object_object_get_ex(msg, "return", &ret);
	has_error = json_object_object_get_ex(msg, "error", &error);

	if (has_ev + has_ret + has_error != 1)
		return -EBADMSG;
	/* json-c gives JSON null as NULL; QEMU answers {} where there is no data */
	if ((has_ret && !ret) || (has_error && !error))
		return -EBADMSG;
	if (has_ev) {
		struct qmp_event event;
		int r;

		r = qmp_parse_event(msg, &event);
		if (r < 0)
			return r;
		if (c->event_cb)
			c->event_cb(c, &event, c->event_userdata);
		return 0;
	}
	return handle_reply(c, msg, ret, error);
}

static int handle_line(struct qmp_client *c, const char *line, size_t len)
{
	_cleanup_(qmp_json_putp) json_object *msg = NULL;
	int r;

	/* "\r\n" per the spec; a bare "\n" and trailing blanks are tolerated */
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len > c->max_line)
		return -EMSGSIZE;
	if (len == 0)
		return 0;

	r = qmp_parse_line(c->tok, line, len, &msg);
	if (r < 0)
		return r;
	return handle_message(c, msg);
}

/* Appends to the partial line; the caller has checked the bound. */
static int input_append(struct qmp_client *c, const char *buf, size_t n)
{
	if (c->in_len + n > c->in_alloc) {
		/* geometric, so a line fed byte by byte costs no realloc per byte */
		size_t a = MIN(MAX(c->in_len + n, 2 * c->in_alloc), c->max_line + 1);
		char *p = realloc(c->in, a);

		if (!p)
			return -ENOMEM;
		c->in = p;
		c->in_alloc = a;
	}
	memcpy(c->in + c->in_len, buf, n);
	c->in_len += n;
	return 0;
}

static int feed_locked(struct qmp_client *c, const char *buf, size_t len)
{
	while (len > 0 && !c->broken) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		int r;

		/* max_line + 1: the line may still end in the '\r' of its "\r\n" */
		if (c->in_len + n > c->max_line + 1)
			return -EMSGSIZE;

		if (!nl)
			return input_append(c, buf, n);

		if (c->in_len == 0) {
			r = handle_line(c, buf, n);
		} else {
			r = input_append(c, buf, n);
			if (r < 0)
				return r;
			r = handle_line(c, c->in, c->in_len);
			c->in_len = 0;
		}
		if (r < 0)
			return r;

		buf += n + 1;
		len -= n + 1;
	}
	return c->broken;
}

int qmp_feed(struct qmp_client *c, const void *buf, size_t len)
{
	int r;

	if (c->dispatching)
		return -EBUSY;
	if (c->broken)
		return c->broken;

	c->dispatching = true;
	r = feed_locked(c, buf, len);
	c->dispatching = false;
	if (r < 0)
		qmp_client_fail(c, r);
	return c->broken ? c->broken : r;
}
