/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pure QMP message parsers: bytes of one line to a JSON object, and JSON
 * objects to the structs of qmp.h. No I/O. Every member is checked for
 * presence and type before use, since the server's output is not trusted.
 */
#include <limits.h>
#include <string.h>

#include "macro.h"
#include "qmp-internal.h"

int qmp_parse_line(json_tokener *tok, const char *line, size_t len, json_object **ret)
{
	json_object *obj;

	if (len > INT_MAX - 1)
		return -EMSGSIZE;
	/*
	 * qmp-spec.rst: the server's output is ASCII, non-ASCII characters are
	 * escaped as \uXXXX. So any byte >= 0x80 is not QEMU, and neither is
	 * a NUL (json-c would stop there and report success on what came
	 * before it). This also keeps json-c's lenient UTF-8 check (it takes
	 * overlong forms) out of the picture.
	 */
	for (size_t i = 0; i < len; i++)
		if (line[i] == 0 || (unsigned char)line[i] >= 0x80)
			return -EBADMSG;

	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, line, (int)len);
	if (!obj) /* syntax error, too deep, bad UTF-8, or an unfinished value */
		return -EBADMSG;
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return -EBADMSG;
	}

	*ret = obj;
	return 0;
}

static bool string_is_clean(json_object *o)
{
	const char *s = json_object_get_string(o);
	int len = json_object_get_string_len(o);

	/* "\u0000" decodes to an embedded NUL that would silently cut the string */
	return s && len >= 0 && strlen(s) == (size_t)len;
}

int qmp_json_get_string(json_object *obj, const char *key, const char **ret)
{
	json_object *o;

	if (!json_object_object_get_ex(obj, key, &o))
		return -ENOENT;
	if (!json_object_is_type(o, json_type_string) || !string_is_clean(o))
		return -EBADMSG;
	*ret = json_object_get_string(o);
	return 0;
}

/* An integer member in [min, max]: -ENOENT if absent, -EBADMSG otherwise. */
static int json_get_int(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *ret)
{
	json_object *o;
	int64_t v;

	if (!json_object_object_get_ex(obj, key, &o))
		return -ENOENT;
	/* json_type_int only: a double such as 1e3 or 1.5 is not a thread id */
	if (!json_object_is_type(o, json_type_int))
		return -EBADMSG;
	/* values beyond int64 are stored as uint64 and clamp to INT64_MAX here */
	v = json_object_get_int64(o);
	if (v < min || v > max || v == INT64_MAX)
		return -EBADMSG;
	*ret = v;
	return 0;
}

static int json_get_object(json_object *obj, const char *key, json_type type, json_object **ret)
{
	json_object *o;

	if (!json_object_object_get_ex(obj, key, &o))
		return -ENOENT;
	if (!json_object_is_type(o, type))
		return -EBADMSG;
	*ret = o;
	return 0;
}

static int json_get_bool(json_object *obj, const char *key, bool *ret)
{
	json_object *o;

	if (!json_object_object_get_ex(obj, key, &o))
		return -ENOENT;
	if (!json_object_is_type(o, json_type_boolean))
		return -EBADMSG;
	*ret = json_object_get_boolean(o);
	return 0;
}

/* Missing optional members are fine; present ones must be well-formed. */
static int optional(int r)
{
	return r == -ENOENT ? 0 : r;
}

static int required(int r)
{
	return r == -ENOENT ? -EBADMSG : r;
}

int qmp_parse_greeting(json_object *msg, struct qmp_greeting *ret)
{
	static const char *const keys[] = { "major", "minor", "micro" };
	json_object *qmp, *version, *qemu, *caps;
	const char *package = NULL;
	struct qmp_greeting g = {};
	int r;

	r = json_get_object(msg, "QMP", json_type_object, &qmp);
	if (r == -ENOENT)
		return -EPROTO;
	if (r < 0)
		return r;

	r = required(json_get_object(qmp, "version", json_type_object, &version));
	if (r < 0)
		return r;
	r = required(json_get_object(version, "qemu", json_type_object, &qemu));
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		int64_t v;

		r = required(json_get_int(qemu, keys[i], 0, INT_MAX, &v));
		if (r < 0)
			return r;
		g.version[i] = (int)v;
	}
	r = optional(qmp_json_get_string(version, "package", &package));
	if (r < 0)
		return r;
	/* gamevm enables no capability; the array is only checked for shape */
	r = required(json_get_object(qmp, "capabilities", json_type_array, &caps));
	if (r < 0)
		return r;

	if (package) {
		g.package = strdup(package);
		if (!g.package)
			return -ENOMEM;
	}
	*ret = g;
	return 0;
}

int qmp_parse_error(json_object *error, const char **ret_class, const char **ret_desc)
{
	const char *class, *desc;
	int r;

	if (!json_object_is_type(error, json_type_object))
		return -EBADMSG;
	r = required(qmp_json_get_string(error, "class", &class));
	if (r < 0)
		return r;
	r = required(qmp_json_get_string(error, "desc", &desc));
	if (r < 0)
		return r;
	*ret_class = class;
	*ret_desc = desc;
	return 0;
}

int qmp_error_class_to_errno(const char *class)
{
	/* lets a caller probe for a command an older QEMU lacks */
	if (streq(class, "CommandNotFound"))
		return -EOPNOTSUPP;
	return -EREMOTEIO;
}

static const char *const event_type_table[_QMP_EVENT_TYPE_MAX] = {
	[QMP_EVENT_OTHER] = NULL,
	[QMP_EVENT_SHUTDOWN] = "SHUTDOWN",
	[QMP_EVENT_RESET] = "RESET",
	[QMP_EVENT_STOP] = "STOP",
	[QMP_EVENT_RESUME] = "RESUME",
	[QMP_EVENT_POWERDOWN] = "POWERDOWN",
	[QMP_EVENT_GUEST_PANICKED] = "GUEST_PANICKED",
	[QMP_EVENT_WATCHDOG] = "WATCHDOG",
};

static const char *const shutdown_cause_table[_QMP_SHUTDOWN_CAUSE_MAX] = {
	[QMP_SHUTDOWN_CAUSE_NONE] = "none",
	[QMP_SHUTDOWN_CAUSE_HOST_ERROR] = "host-error",
	[QMP_SHUTDOWN_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
	[QMP_SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
	[QMP_SHUTDOWN_CAUSE_HOST_SIGNAL] = "host-signal",
	[QMP_SHUTDOWN_CAUSE_HOST_UI] = "host-ui",
	[QMP_SHUTDOWN_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
	[QMP_SHUTDOWN_CAUSE_GUEST_RESET] = "guest-reset",
	[QMP_SHUTDOWN_CAUSE_GUEST_PANIC] = "guest-panic",
	[QMP_SHUTDOWN_CAUSE_SUBSYSTEM_RESET] = "subsystem-reset",
	[QMP_SHUTDOWN_CAUSE_SNAPSHOT_LOAD] = "snapshot-load",
};

static const char *const watchdog_action_table[_QMP_WATCHDOG_ACTION_MAX] = {
	[QMP_WATCHDOG_ACTION_RESET] = "reset",
	[QMP_WATCHDOG_ACTION_SHUTDOWN] = "shutdown",
	[QMP_WATCHDOG_ACTION_POWEROFF] = "poweroff",
	[QMP_WATCHDOG_ACTION_PAUSE] = "pause",
	[QMP_WATCHDOG_ACTION_DEBUG] = "debug",
	[QMP_WATCHDOG_ACTION_NONE] = "none",
	[QMP_WATCHDOG_ACTION_INJECT_NMI] = "inject-nmi",
};

static const char *const panic_action_table[_QMP_PANIC_ACTION_MAX] = {
	[QMP_PANIC_ACTION_PAUSE] = "pause",
	[QMP_PANIC_ACTION_POWEROFF] = "poweroff",
	[QMP_PANIC_ACTION_RUN] = "run",
};

static const char *const run_state_table[_QMP_RUN_STATE_MAX] = {
	[QMP_RUN_STATE_DEBUG] = "debug",
	[QMP_RUN_STATE_INMIGRATE] = "inmigrate",
	[QMP_RUN_STATE_INTERNAL_ERROR] = "internal-error",
	[QMP_RUN_STATE_IO_ERROR] = "io-error",
	[QMP_RUN_STATE_PAUSED] = "paused",
	[QMP_RUN_STATE_POSTMIGRATE] = "postmigrate",
	[QMP_RUN_STATE_PRELAUNCH] = "prelaunch",
	[QMP_RUN_STATE_FINISH_MIGRATE] = "finish-migrate",
	[QMP_RUN_STATE_RESTORE_VM] = "restore-vm",
	[QMP_RUN_STATE_RUNNING] = "running",
	[QMP_RUN_STATE_SAVE_VM] = "save-vm",
	[QMP_RUN_STATE_SHUTDOWN] = "shutdown",
	[QMP_RUN_STATE_SUSPENDED] = "suspended",
	[QMP_RUN_STATE_WATCHDOG] = "watchdog",
	[QMP_RUN_STATE_GUEST_PANICKED] = "guest-panicked",
	[QMP_RUN_STATE_COLO] = "colo",
};

static const char *table_to_string(const char *const *table, size_t n, int i)
{
	return i >= 0 && (size_t)i < n ? table[i] : NULL;
}

static int table_from_string(const char *const *table, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (table[i] && streq(table[i], s))
			return (int)i;
	return -EINVAL;
}

#define DEFINE_STRING_TABLE(name, type, table)                                                     \
	const char *name##_to_string(type v)                                                       \
	{                                                                                          \
		return table_to_string(table, ELEMENTSOF(table), (int)v);                          \
	}                                                                                          \
	type name##_from_string(const char *s)                                                     \
	{                                                                                          \
		return (type)table_from_string(table, ELEMENTSOF(table), s);                       \
	}

DEFINE_STRING_TABLE(qmp_shutdown_cause, enum qmp_shutdown_cause, shutdown_cause_table)
DEFINE_STRING_TABLE(qmp_watchdog_action, enum qmp_watchdog_action, watchdog_action_table)
DEFINE_STRING_TABLE(qmp_panic_action, enum qmp_panic_action, panic_action_table)
DEFINE_STRING_TABLE(qmp_run_state, enum qmp_run_state, run_state_table)

const char *qmp_event_type_to_string(enum qmp_event_type t)
{
	return table_to_string(event_type_table, ELEMENTSOF(event_type_table), (int)t);
}

enum qmp_event_type qmp_event_type_from_string(const char *s)
{
	int r = table_from_string(event_type_table, ELEMENTSOF(event_type_table), s);

	return r < 0 ? QMP_EVENT_OTHER : (enum qmp_event_type)r;
}

static void parse_panic_info(json_object *info, struct qmp_event *ev)
{
	static const char *const keys[] = { "arg1", "arg2", "arg3", "arg4", "arg5" };
	uint64_t args[ELEMENTSOF(keys)];
	const char *type;

	/* GuestPanicInformationHyperV: a bug check code and four parameters */
	if (qmp_json_get_string(info, "type", &type) < 0 || !streq(type, "hyper-v"))
		return;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		json_object *o;

		if (json_get_object(info, keys[i], json_type_int, &o) < 0)
			return;
		/* uint64 in the schema; json-c keeps values above INT64_MAX unsigned */
		if (json_object_get_int64(o) < 0)
			return;
		args[i] = json_object_get_uint64(o);
	}
	memcpy(ev->hyperv_crash, args, sizeof(args));
	ev->has_hyperv_crash = true;
}

static bool name_is_identifier(const char *s)
{
	if (isempty(s) || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.",
			    *s))
			return false;
	return true;
}

int qmp_parse_event(json_object *msg, struct qmp_event *ret)
{
	struct qmp_event ev = {
		.seconds = -1,
		.microseconds = -1,
		.reason = _QMP_SHUTDOWN_CAUSE_INVALID,
		.panic_action = _QMP_PANIC_ACTION_INVALID,
		.watchdog_action = _QMP_WATCHDOG_ACTION_INVALID,
		.msg = msg,
	};
	json_object *ts, *data = NULL;
	const char *s;
	int r;

	r = required(qmp_json_get_string(msg, "event", &ev.name));
	if (r < 0)
		return r;
	/*
	 * QAPI event names are identifiers (SHUTDOWN, BLOCK_IO_ERROR); callers
	 * log unknown ones, so nothing else gets through.
	 */
	if (!name_is_identifier(ev.name))
		return -EBADMSG;
	r = optional(json_get_object(msg, "data", json_type_object, &data));
	if (r < 0)
		return r;
	ev.data = data;
	/* the timestamp only annotates; a bad one does not cost the event */
	if (json_get_object(msg, "timestamp", json_type_object, &ts) >= 0) {
		int64_t sec, usec;

		if (json_get_int(ts, "seconds", -1, INT64_MAX, &sec) >= 0 &&
		    json_get_int(ts, "microseconds", -1, 999999, &usec) >= 0) {
			ev.seconds = sec;
			ev.microseconds = usec;
		}
	}

	ev.type = qmp_event_type_from_string(ev.name);
	if (!data)
		goto done;

	switch (ev.type) {
	case QMP_EVENT_SHUTDOWN:
	case QMP_EVENT_RESET:
		(void)json_get_bool(data, "guest", &ev.guest);
		if (qmp_json_get_string(data, "reason", &s) >= 0) {
			ev.reason_str = s;
			ev.reason = qmp_shutdown_cause_from_string(s);
		}
		break;
	case QMP_EVENT_GUEST_PANICKED:
		if (qmp_json_get_string(data, "action", &s) >= 0)
			ev.panic_action = qmp_panic_action_from_string(s);
		if (json_get_object(data, "info", json_type_object, &ev.panic_info) >= 0)
			parse_panic_info(ev.panic_info, &ev);
		break;
	case QMP_EVENT_WATCHDOG:
		if (qmp_json_get_string(data, "action", &s) >= 0)
			ev.watchdog_action = qmp_watchdog_action_from_string(s);
		break;
	case QMP_EVENT_OTHER:
	case QMP_EVENT_STOP:
	case QMP_EVENT_RESUME:
	case QMP_EVENT_POWERDOWN:
	case _QMP_EVENT_TYPE_MAX:
		break;
	}
done:
	*ret = ev;
	return 0;
}

static int strdup_member(json_object *obj, const char *key, char **ret)
{
	const char *s;
	char *d;
	int r;

	r = required(qmp_json_get_string(obj, key, &s));
	if (r < 0)
		return r;
	d = strdup(s);
	if (!d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

void qmp_cpus_free(struct qmp_cpu *cpus, size_t n)
{
	if (!cpus)
		return;
	for (size_t i = 0; i < n; i++)
		free(cpus[i].qom_path);
	free(cpus);
}

static int parse_cpu(json_object *o, struct qmp_cpu *cpu)
{
	static const struct {
		const char *key;
		size_t offset;
	} props_keys[] = {
		{ "node-id", offsetof(struct qmp_cpu, node_id) },
		{ "socket-id", offsetof(struct qmp_cpu, socket_id) },
		{ "die-id", offsetof(struct qmp_cpu, die_id) },
		{ "cluster-id", offsetof(struct qmp_cpu, cluster_id) },
		{ "core-id", offsetof(struct qmp_cpu, core_id) },
		{ "thread-id", offsetof(struct qmp_cpu, thread_in_core) },
	};
	json_object *props;
	int64_t v;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;

	r = required(json_get_int(o, "cpu-index", 0, QMP_MAX_CPUS - 1, &v));
	if (r < 0)
		return r;
	cpu->cpu_index = (int)v;
	/* the host TID we will sched_setaffinity(): 0 would mean "ourselves" */
	r = required(json_get_int(o, "thread-id", 1, INT_MAX, &v));
	if (r < 0)
		return r;
	cpu->thread_id = (pid_t)v;

	for (size_t i = 0; i < ELEMENTSOF(props_keys); i++)
		*(int *)((char *)cpu + props_keys[i].offset) = -1;
	r = json_get_object(o, "props", json_type_object, &props);
	if (r == -EBADMSG)
		return r;
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(props_keys); i++) {
		int q = json_get_int(props, props_keys[i].key, 0, INT_MAX, &v);

		if (q == -ENOENT)
			continue;
		if (q < 0)
			return q;
		*(int *)((char *)cpu + props_keys[i].offset) = (int)v;
	}

	return strdup_member(o, "qom-path", &cpu->qom_path);
}

int qmp_parse_cpus_fast(json_object *ret, struct qmp_cpu **ret_cpus, size_t *ret_n)
{
	uint8_t seen[QMP_MAX_CPUS / 8] = {};
	struct qmp_cpu *cpus = NULL;
	size_t n, i;
	int r;

	if (!json_object_is_type(ret, json_type_array))
		return -EBADMSG;
	n = json_object_array_length(ret);
	if (n > QMP_MAX_CPUS)
		return -EBADMSG;
	if (n > 0) {
		cpus = calloc(n, sizeof(*cpus));
		if (!cpus)
			return -ENOMEM;
	}

	for (i = 0; i < n; i++) {
		struct qmp_cpu *cpu = &cpus[i];

		r = parse_cpu(json_object_array_get_idx(ret, i), cpu);
		if (r < 0)
			goto fail;
		/* two entries for one vCPU would leave another one unpinned */
		if (seen[cpu->cpu_index / 8] & (1u << (cpu->cpu_index % 8))) {
			r = -EBADMSG;
			goto fail;
		}
		seen[cpu->cpu_index / 8] |= 1u << (cpu->cpu_index % 8);
	}

	*ret_cpus = cpus;
	*ret_n = n;
	return 0;
fail:
	qmp_cpus_free(cpus, n);
	return r;
}

void qmp_iothreads_free(struct qmp_iothread *threads, size_t n)
{
	if (!threads)
		return;
	for (size_t i = 0; i < n; i++)
		free(threads[i].id);
	free(threads);
}

int qmp_parse_iothreads(json_object *ret, struct qmp_iothread **ret_threads, size_t *ret_n)
{
	struct qmp_iothread *threads = NULL;
	size_t n, i;
	int r;

	if (!json_object_is_type(ret, json_type_array))
		return -EBADMSG;
	n = json_object_array_length(ret);
	if (n > QMP_MAX_IOTHREADS)
		return -EBADMSG;
	if (n > 0) {
		threads = calloc(n, sizeof(*threads));
		if (!threads)
			return -ENOMEM;
	}

	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(ret, i);
		int64_t v;

		if (!json_object_is_type(o, json_type_object)) {
			r = -EBADMSG;
			goto fail;
		}
		r = required(json_get_int(o, "thread-id", 1, INT_MAX, &v));
		if (r < 0)
			goto fail;
		threads[i].thread_id = (pid_t)v;
		r = strdup_member(o, "id", &threads[i].id);
		if (r < 0)
			goto fail;
	}

	*ret_threads = threads;
	*ret_n = n;
	return 0;
fail:
	qmp_iothreads_free(threads, n);
	return r;
}

void qmp_status_done(struct qmp_status *s)
{
	if (!s)
		return;
	free(s->status);
	s->status = NULL;
}

int qmp_parse_status(json_object *ret, struct qmp_status *ret_status)
{
	struct qmp_status st = {};
	int r;

	if (!json_object_is_type(ret, json_type_object))
		return -EBADMSG;
	r = required(json_get_bool(ret, "running", &st.running));
	if (r < 0)
		return r;
	r = strdup_member(ret, "status", &st.status);
	if (r < 0)
		return r;
	st.state = qmp_run_state_from_string(st.status);

	*ret_status = st;
	return 0;
}
