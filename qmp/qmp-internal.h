/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between the QMP core (qmp-client.c), its pure message parsers
 * (qmp-json.c) and the blocking layer (qmp-sync.c). Not for users of qmp.h.
 */
#pragma once

#include "qmp.h"

enum qmp_state {
	QMP_STATE_GREETING,    /* nothing may be written before the greeting */
	QMP_STATE_NEGOTIATING, /* qmp_capabilities queued, reply outstanding */
	QMP_STATE_READY,
};

struct qmp_pending {
	uint64_t id;
	uint64_t deadline_usec;
	qmp_reply_cb cb;
	void *userdata;
};

struct qmp_client {
	int fd;
	json_tokener *tok;

	/* input: at most max_line + 1 bytes of one unterminated line */
	char *in;
	size_t in_len;
	size_t in_alloc;
	size_t max_line;

	/* output: serialized commands not yet written */
	char *out;
	size_t out_len;

	/* oldest first, in the order the server will answer them */
	struct qmp_pending pending[QMP_MAX_PENDING];
	size_t n_pending;
	uint64_t next_id;

	enum qmp_state state;
	int broken; /* 0, or the negative errno that ended the connection */
	bool dispatching;
	unsigned timeout_ms;
	uint64_t greeting_deadline_usec;

	int version[3];
	char *package;

	qmp_event_cb event_cb;
	void *event_userdata;

	/* blocking layer */
	struct qmp_error last_error;
	bool has_last_error;
};

struct qmp_greeting {
	int version[3];
	char *package; /* NULL if absent */
};

/*
 * One line (without its terminator) to a JSON object: -EBADMSG if it is not
 * exactly one object, valid UTF-8 without NUL bytes, nested at most as deep
 * as tok allows.
 */
int qmp_parse_line(json_tokener *tok, const char *line, size_t len, json_object **ret);
/* -EPROTO if msg is not a greeting, -EBADMSG if it is a malformed one. */
int qmp_parse_greeting(json_object *msg, struct qmp_greeting *ret);
/* Fills ev from an event message (members borrowed from msg); -EBADMSG. */
int qmp_parse_event(json_object *msg, struct qmp_event *ret);
/* {"class","desc"} of an "error" member, borrowed; -EBADMSG. */
int qmp_parse_error(json_object *error, const char **ret_class, const char **ret_desc);
/* A reply's errno for an error class. */
int qmp_error_class_to_errno(const char *class);
/* A string member without embedded NULs: -ENOENT if absent, -EBADMSG if not a clean string. */
int qmp_json_get_string(json_object *obj, const char *key, const char **ret);
