/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP client (QEMU Machine Protocol, docs/interop/qmp-spec.rst) over a unix
 * stream socket, with json-c.
 *
 * Two layers:
 *
 * 1. A non-blocking core that does no I/O of its own, so the supervisor's
 *    io_uring loop can drive it:
 *      qmp_client_new(fd, &c);            fd may be -1 when the caller owns it
 *      qmp_set_event_callback(c, on_event, ctx);
 *      qmp_send_command(c, "query-status", NULL, on_reply, ctx, &id);
 *      on readable:   r = qmp_feed(c, buf, n);   (n == 0: qmp_feed_eof(c))
 *      then:          qmp_pending_output(c, &p, &len); write(p, len);
 *                     qmp_output_consumed(c, written);
 *      timer:         qmp_next_deadline(c, &usec); qmp_handle_timeouts(c, now);
 *    The greeting is parsed and qmp_capabilities is sent by the core itself;
 *    commands queued before that wait behind it, so a caller may queue its
 *    first commands right after qmp_client_new(). Completions and events are
 *    called from inside qmp_feed(), qmp_handle_timeouts() and
 *    qmp_client_fail(); a callback may queue commands but must not free the
 *    client or feed it.
 *
 * 2. A blocking layer on top, with poll() and deadlines (qmp_*_sync and the
 *    typed qmp_query_* helpers). Events that arrive meanwhile still go to the
 *    event callback.
 *      _cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
 *      r = qmp_connect_sync(path, 5000, &c);
 *      r = qmp_query_cpus_fast(c, 5000, &cpus, &n);
 *
 * Everything the server sends is treated as hostile (the guest influences
 * some of it): a line is at most QMP_MAX_LINE_DEFAULT bytes (longer is
 * -EMSGSIZE), nesting at most QMP_MAX_DEPTH, every message must be one JSON
 * object on one "\r\n" or "\n" terminated line, in ASCII as the spec says
 * QEMU writes it (else -EBADMSG), and every member read is checked for
 * presence and type. Any such violation breaks the connection: every
 * pending command completes with the error and later calls return it.
 * Members read only for struct qmp_event's typed fields and timestamp are
 * the exception: of a wrong type they leave the field at its default; and a
 * typed parser's -EBADMSG (qmp_parse_cpus_fast(), ...) fails only its call.
 * A reply whose "id" is no pending command's (never issued, already
 * answered, timed out or cancelled, not an integer, or missing on a
 * "return") is dropped, as the spec asks of unknown ids; an "error" without
 * id fails the oldest pending command (QEMU could not parse it). Events go
 * to the callback one by one as their lines are parsed; nothing is queued,
 * so a flood of them costs time, not memory.
 * Strings handed out are decoded JSON and may contain control characters;
 * escape them before logging. (QEMU must not be run with -mon pretty=on,
 * whose multi-line output this framing rejects.)
 *
 * Library code: returns 0 or negative errno, ret_* set only on success,
 * never prints, no globals.
 */
#pragma once

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define QMP_MAX_LINE_DEFAULT   (1024 * 1024)
#define QMP_MAX_DEPTH	       32
#define QMP_MAX_PENDING	       64
#define QMP_DEFAULT_TIMEOUT_MS 30000
/* QEMU's x86 limit is 4096 vCPUs (KVM_MAX_VCPUS); anything above is not QEMU. */
#define QMP_MAX_CPUS	  8192
#define QMP_MAX_IOTHREADS 1024

struct qmp_client;

/* An error reply: {"error": {"class": ..., "desc": ...}}. */
struct qmp_error {
	char *class; /* "GenericError", "CommandNotFound", ... */
	char *desc;
};

enum qmp_event_type {
	QMP_EVENT_OTHER,
	QMP_EVENT_SHUTDOWN,
	QMP_EVENT_RESET,
	QMP_EVENT_STOP,
	QMP_EVENT_RESUME,
	QMP_EVENT_POWERDOWN,
	QMP_EVENT_GUEST_PANICKED,
	QMP_EVENT_WATCHDOG,
	_QMP_EVENT_TYPE_MAX,
};

/* qapi/run-state.json ShutdownCause */
enum qmp_shutdown_cause {
	QMP_SHUTDOWN_CAUSE_NONE,
	QMP_SHUTDOWN_CAUSE_HOST_ERROR,
	QMP_SHUTDOWN_CAUSE_HOST_QMP_QUIT,
	QMP_SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
	QMP_SHUTDOWN_CAUSE_HOST_SIGNAL,
	QMP_SHUTDOWN_CAUSE_HOST_UI,
	QMP_SHUTDOWN_CAUSE_GUEST_SHUTDOWN,
	QMP_SHUTDOWN_CAUSE_GUEST_RESET,
	QMP_SHUTDOWN_CAUSE_GUEST_PANIC,
	QMP_SHUTDOWN_CAUSE_SUBSYSTEM_RESET,
	QMP_SHUTDOWN_CAUSE_SNAPSHOT_LOAD,
	_QMP_SHUTDOWN_CAUSE_MAX,
	_QMP_SHUTDOWN_CAUSE_INVALID = -EINVAL,
};

/* qapi/run-state.json WatchdogAction */
enum qmp_watchdog_action {
	QMP_WATCHDOG_ACTION_RESET,
	QMP_WATCHDOG_ACTION_SHUTDOWN,
	QMP_WATCHDOG_ACTION_POWEROFF,
	QMP_WATCHDOG_ACTION_PAUSE,
	QMP_WATCHDOG_ACTION_DEBUG,
	QMP_WATCHDOG_ACTION_NONE,
	QMP_WATCHDOG_ACTION_INJECT_NMI,
	_QMP_WATCHDOG_ACTION_MAX,
	_QMP_WATCHDOG_ACTION_INVALID = -EINVAL,
};

/* qapi/run-state.json GuestPanicAction */
enum qmp_panic_action {
	QMP_PANIC_ACTION_PAUSE,
	QMP_PANIC_ACTION_POWEROFF,
	QMP_PANIC_ACTION_RUN,
	_QMP_PANIC_ACTION_MAX,
	_QMP_PANIC_ACTION_INVALID = -EINVAL,
};

/* qapi/run-state.json RunState */
enum qmp_run_state {
	QMP_RUN_STATE_DEBUG,
	QMP_RUN_STATE_INMIGRATE,
	QMP_RUN_STATE_INTERNAL_ERROR,
	QMP_RUN_STATE_IO_ERROR,
	QMP_RUN_STATE_PAUSED,
	QMP_RUN_STATE_POSTMIGRATE,
	QMP_RUN_STATE_PRELAUNCH,
	QMP_RUN_STATE_FINISH_MIGRATE,
	QMP_RUN_STATE_RESTORE_VM,
	QMP_RUN_STATE_RUNNING,
	QMP_RUN_STATE_SAVE_VM,
	QMP_RUN_STATE_SHUTDOWN,
	QMP_RUN_STATE_SUSPENDED,
	QMP_RUN_STATE_WATCHDOG,
	QMP_RUN_STATE_GUEST_PANICKED,
	QMP_RUN_STATE_COLO,
	_QMP_RUN_STATE_MAX,
	_QMP_RUN_STATE_INVALID = -EINVAL,
};

/*
 * An event as handed to the callback. Everything is borrowed and valid only
 * during the call (json_object_get() what you keep). The typed members are
 * filled for the events named in enum qmp_event_type when present with the
 * right type; otherwise they keep the defaults noted.
 */
struct qmp_event {
	enum qmp_event_type type;
	const char *name;  /* "SHUTDOWN", ...; never NULL or empty */
	json_object *data; /* "data", NULL if absent */
	json_object *msg;  /* the whole message, for events not typed here */
	int64_t seconds;   /* timestamp; -1 when QEMU had none */
	int64_t microseconds;

	/* SHUTDOWN, RESET */
	bool guest;			/* false if absent */
	enum qmp_shutdown_cause reason; /* _INVALID if absent or unknown */
	const char *reason_str;		/* NULL if absent */

	/* GUEST_PANICKED */
	enum qmp_panic_action panic_action; /* _INVALID if absent or unknown */
	json_object *panic_info;	    /* "info", NULL if absent */
	bool has_hyperv_crash;		    /* info.type == "hyper-v" with arg1..arg5 */
	uint64_t hyperv_crash[5];	    /* arg1 is the Windows bug check code */

	/* WATCHDOG */
	enum qmp_watchdog_action watchdog_action; /* _INVALID if absent or unknown */
};

typedef void (*qmp_event_cb)(struct qmp_client *c, const struct qmp_event *event, void *userdata);

/*
 * Completion of a command, called exactly once per queued command (except
 * after qmp_cancel_command() or qmp_client_free()):
 *   error == 0: ret is the "return" member (borrowed; json_object_get() to keep)
 *   error == -EREMOTEIO (or -EOPNOTSUPP for class CommandNotFound): the server
 *     answered with an error; err has its class and desc (borrowed)
 *   other negative errno: no answer (-ETIMEDOUT, -ECONNRESET, -EPIPE,
 *     -EMSGSIZE, -EBADMSG, -EPROTO, ...); ret and err are NULL
 */
typedef void (*qmp_reply_cb)(struct qmp_client *c, uint64_t id, int error, json_object *ret,
			     const struct qmp_error *err, void *userdata);

/* --- core (no I/O) --- */

/*
 * New client waiting for the greeting. fd is the connected socket for the
 * blocking layer (the client owns it on success and closes it on free), or -1
 * when the caller does the I/O. The greeting deadline starts now.
 */
int qmp_client_new(int fd, struct qmp_client **ret);
void qmp_client_free(struct qmp_client *c);
static inline void qmp_client_freep(struct qmp_client **c)
{
	if (*c)
		qmp_client_free(*c);
}

/* The socket given to qmp_client_new(), or -EBADF. */
int qmp_client_get_fd(const struct qmp_client *c);
void qmp_set_event_callback(struct qmp_client *c, qmp_event_cb cb, void *userdata);
/* Default timeout of qmp_send_command() and of the greeting (re-armed from now). */
void qmp_set_timeout(struct qmp_client *c, unsigned timeout_ms);
/* Bound on one line without its terminator, at least 256 bytes. */
int qmp_set_max_line(struct qmp_client *c, size_t max);

/* 0 while usable, else the negative errno that broke the connection. */
int qmp_client_error(const struct qmp_client *c);
/* True once the greeting was read and qmp_capabilities succeeded. */
bool qmp_is_ready(const struct qmp_client *c);
/* From the greeting; -EAGAIN before it arrived. */
int qmp_version(const struct qmp_client *c, int *ret_major, int *ret_minor, int *ret_micro);
/* "package" from the greeting (e.g. "Debian 1:7.2+dfsg-7"), NULL if none yet. */
const char *qmp_version_package(const struct qmp_client *c);

/*
 * Consumes len bytes read from the socket: complete lines are parsed and
 * dispatched, a partial line is kept. Returns 0, or the error that broke
 * the connection (-EMSGSIZE, -EBADMSG, -EPROTO, ...; also when it was
 * already broken), or -EBUSY when called from a callback.
 */
int qmp_feed(struct qmp_client *c, const void *buf, size_t len);
/* End of input: breaks the connection with -ECONNRESET and returns it. */
int qmp_feed_eof(struct qmp_client *c);
/* Breaks the connection with error (e.g. -EPIPE from a failed write). */
void qmp_client_fail(struct qmp_client *c, int error);

/*
 * Queues {"execute": name, "arguments": args, "id": N}. args is NULL or an
 * object (not consumed: the client takes its own reference). *ret_id (may
 * be NULL) gets N. The reply, error, timeout or disconnection comes through
 * cb (may be NULL to ignore it). -ENOBUFS when QMP_MAX_PENDING commands are
 * outstanding or the output buffer is full.
 */
int qmp_send_command(struct qmp_client *c, const char *name, json_object *args, qmp_reply_cb cb,
		     void *userdata, uint64_t *ret_id);
/* Same, with its own timeout instead of the client's default. */
int qmp_send_command_timeout(struct qmp_client *c, const char *name, json_object *args,
			     unsigned timeout_ms, qmp_reply_cb cb, void *userdata,
			     uint64_t *ret_id);
/* Forgets a pending command without calling its callback; -ENOENT if none. */
int qmp_cancel_command(struct qmp_client *c, uint64_t id);
size_t qmp_pending_commands(const struct qmp_client *c);

/*
 * Bytes to write to the socket (len 0 when none, or while the greeting has
 * not arrived). The pointer is valid until the next call into the client.
 */
int qmp_pending_output(const struct qmp_client *c, const void **ret_ptr, size_t *ret_len);
/* n bytes of the pending output were written; -EINVAL if more than pending. */
int qmp_output_consumed(struct qmp_client *c, size_t n);

/*
 * Deadlines are CLOCK_MONOTONIC microseconds. qmp_next_deadline() gives the
 * earliest (greeting or command), -ENODATA when nothing waits.
 * qmp_handle_timeouts() completes every command past its deadline with
 * -ETIMEDOUT, or breaks the connection with -ETIMEDOUT (and returns it)
 * when the greeting is late.
 */
int qmp_next_deadline(const struct qmp_client *c, uint64_t *ret_usec);
int qmp_handle_timeouts(struct qmp_client *c, uint64_t now_usec);
uint64_t qmp_now_usec(void);

/* --- blocking layer (needs the fd) --- */

/*
 * Connects to path (retrying while the socket does not exist yet or
 * refuses, since QEMU creates it only after it started), reads the greeting
 * and negotiates capabilities, all within timeout_ms.
 */
int qmp_connect_sync(const char *path, unsigned timeout_ms, struct qmp_client **ret);
/* Greeting and capabilities on a client made from an already-connected fd. */
int qmp_handshake_sync(struct qmp_client *c, unsigned timeout_ms);
/*
 * Runs one command and waits for its reply. On success *ret_reply (may be
 * NULL) is the "return" member, owned by the caller (json_object_put()).
 * On -EREMOTEIO / -EOPNOTSUPP qmp_last_error() has the class and desc.
 */
int qmp_execute_sync(struct qmp_client *c, const char *name, json_object *args, unsigned timeout_ms,
		     json_object **ret_reply);
/* The error reply of the last failed qmp_execute_sync(), NULL if it had none. */
const struct qmp_error *qmp_last_error(const struct qmp_client *c);
/*
 * Waits until something arrives (dispatching it) or timeout_ms passes: 0,
 * -ETIMEDOUT, or the error that broke the connection (-ECONNRESET at EOF).
 */
int qmp_wait_sync(struct qmp_client *c, unsigned timeout_ms);

/* --- typed commands --- */

struct qmp_cpu {
	int cpu_index;
	pid_t thread_id; /* host TID of the vCPU thread */
	char *qom_path;
	/* props (CpuInstanceProperties), -1 when absent */
	int node_id;
	int socket_id;
	int die_id;
	int cluster_id;
	int core_id;
	int thread_in_core; /* props "thread-id": SMT sibling number, not a TID */
};

struct qmp_iothread {
	char *id;
	pid_t thread_id;
};

struct qmp_status {
	bool running;
	enum qmp_run_state state; /* _INVALID for a state this table does not know */
	char *status;
};

/*
 * Pure parsers of a command's "return" member: -EBADMSG (array too long,
 * member missing or of the wrong type, value out of range, duplicate
 * cpu-index) or -ENOMEM. An empty array gives NULL and 0.
 */
int qmp_parse_cpus_fast(json_object *ret, struct qmp_cpu **ret_cpus, size_t *ret_n);
int qmp_parse_iothreads(json_object *ret, struct qmp_iothread **ret_threads, size_t *ret_n);
int qmp_parse_status(json_object *ret, struct qmp_status *ret_status);
void qmp_cpus_free(struct qmp_cpu *cpus, size_t n);
void qmp_iothreads_free(struct qmp_iothread *threads, size_t n);
void qmp_status_done(struct qmp_status *s);

int qmp_query_cpus_fast(struct qmp_client *c, unsigned timeout_ms, struct qmp_cpu **ret_cpus,
			size_t *ret_n);
int qmp_query_iothreads(struct qmp_client *c, unsigned timeout_ms,
			struct qmp_iothread **ret_threads, size_t *ret_n);
int qmp_query_status(struct qmp_client *c, unsigned timeout_ms, struct qmp_status *ret_status);

/* --- names --- */

const char *qmp_event_type_to_string(enum qmp_event_type t);
enum qmp_event_type qmp_event_type_from_string(const char *s); /* OTHER if unknown */
const char *qmp_shutdown_cause_to_string(enum qmp_shutdown_cause c);
enum qmp_shutdown_cause qmp_shutdown_cause_from_string(const char *s);
const char *qmp_watchdog_action_to_string(enum qmp_watchdog_action a);
enum qmp_watchdog_action qmp_watchdog_action_from_string(const char *s);
const char *qmp_panic_action_to_string(enum qmp_panic_action a);
enum qmp_panic_action qmp_panic_action_from_string(const char *s);
const char *qmp_run_state_to_string(enum qmp_run_state s);
enum qmp_run_state qmp_run_state_from_string(const char *s);

static inline void qmp_json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
