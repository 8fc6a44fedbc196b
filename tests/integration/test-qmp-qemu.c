/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP client against real QEMU (TCG, no firmware needed as the guest
 * never gets far): greeting and version, query-status before and after
 * cont, query-cpus-fast thread ids that are real threads of the QEMU
 * process, query-iothreads, the RESUME event, and quit giving SHUTDOWN and
 * then EOF.
 *
 * Exit 77 (skip) when QEMU is missing, except under CI=true. $GAMEVM_QEMU
 * overrides the binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "macro.h"
#include "qmp.h"

#define TIMEOUT_MS 20000

struct qemu {
	char dir[64];
	char *sock;
	pid_t pid;
};

static const char *qemu_binary(void)
{
	const char *q = getenv("GAMEVM_QEMU");

	return q ? q : "/usr/bin/qemu-system-x86_64";
}

/* "QEMU emulator version 7.2.11 (Debian ...)" from `qemu --version`. */
static void qemu_version_from_cli(int *ret_major, int *ret_minor, int *ret_micro)
{
	_cleanup_free_ char *cmd = NULL;
	char line[256] = "";
	FILE *f;

	assert_true(asprintf(&cmd, "'%s' --version", qemu_binary()) > 0);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	pclose(f);
	assert_int_equal(
		sscanf(line, "QEMU emulator version %d.%d.%d", ret_major, ret_minor, ret_micro), 3);
}

static int qemu_setup(void **state)
{
	struct qemu *q = calloc(1, sizeof(*q));

	assert_non_null(q);
	strcpy(q->dir, "/tmp/test-qmp-qemu-XXXXXX");
	assert_non_null(mkdtemp(q->dir));
	assert_true(asprintf(&q->sock, "%s/qmp.sock", q->dir) > 0);

	q->pid = fork();
	assert_true(q->pid >= 0);
	if (q->pid == 0) {
		_cleanup_free_ char *qmp = NULL;
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (asprintf(&qmp, "unix:%s,server=on,wait=off", q->sock) < 0 || null < 0)
			_exit(127);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		execl(qemu_binary(), qemu_binary(), "-machine", "q35", "-accel", "tcg,thread=multi",
		      "-nodefaults", "-display", "none", "-S", "-smp", "2", "-m", "128", "-name",
		      "test-qmp,debug-threads=on", "-object", "iothread,id=io0", "-qmp", qmp,
		      (char *)NULL);
		_exit(127);
	}
	*state = q;
	return 0;
}

static int qemu_teardown(void **state)
{
	struct qemu *q = *state;

	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
	}
	unlink(q->sock);
	rmdir(q->dir);
	free(q->sock);
	free(q);
	return 0;
}

static bool task_exists(pid_t pid, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
	return access(path, F_OK) == 0;
}

struct events {
	enum qmp_event_type seen[32];
	size_t n;
	struct qmp_event shutdown;
};

static void on_event(struct qmp_client *c, const struct qmp_event *ev, void *userdata)
{
	struct events *e = userdata;

	if (e->n < ELEMENTSOF(e->seen))
		e->seen[e->n++] = ev->type;
	if (ev->type == QMP_EVENT_SHUTDOWN) {
		e->shutdown = *ev;
		e->shutdown.name = NULL; /* borrowed, gone after the call */
		e->shutdown.data = e->shutdown.msg = e->shutdown.panic_info = NULL;
		e->shutdown.reason_str = NULL;
	}
}

static bool seen(const struct events *e, enum qmp_event_type t)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->seen[i] == t)
			return true;
	return false;
}

static void test_qemu_lifecycle(void **state)
{
	struct qemu *q = *state;
	_cleanup_(qmp_client_freep) struct qmp_client *c = NULL;
	struct qmp_iothread *io = NULL;
	struct qmp_cpu *cpus = NULL;
	struct qmp_status st;
	struct events ev = {};
	int major, minor, micro, cli[3];
	size_t n;
	int r, status;

	r = qmp_connect_sync(q->sock, TIMEOUT_MS, &c);
	assert_int_equal(r, 0);
	qmp_set_event_callback(c, on_event, &ev);

	assert_int_equal(qmp_version(c, &major, &minor, &micro), 0);
	qemu_version_from_cli(&cli[0], &cli[1], &cli[2]);
	assert_int_equal(major, cli[0]);
	assert_int_equal(minor, cli[1]);
	assert_int_equal(micro, cli[2]);
	assert_non_null(qmp_version_package(c));

	/* -S: nothing ran yet */
	assert_int_equal(qmp_query_status(c, TIMEOUT_MS, &st), 0);
	assert_false(st.running);
	assert_int_equal(st.state, QMP_RUN_STATE_PRELAUNCH);
	qmp_status_done(&st);

	assert_int_equal(qmp_query_cpus_fast(c, TIMEOUT_MS, &cpus, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(cpus[i].cpu_index, (int)i);
		assert_true(task_exists(q->pid, cpus[i].thread_id));
		assert_int_not_equal(cpus[i].thread_id, q->pid);
		/* x86 reports socket, core and thread (die since 4.1) */
		assert_true(cpus[i].socket_id >= 0 && cpus[i].core_id >= 0);
		assert_true(cpus[i].thread_in_core >= 0);
		assert_non_null(strstr(cpus[i].qom_path, "/machine/"));
	}
	/* thread=multi: one host thread per vCPU */
	assert_int_not_equal(cpus[0].thread_id, cpus[1].thread_id);
	assert_true(cpus[0].socket_id != cpus[1].socket_id || cpus[0].core_id != cpus[1].core_id);
	qmp_cpus_free(cpus, n);

	assert_int_equal(qmp_query_iothreads(c, TIMEOUT_MS, &io, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(io[0].id, "io0");
	assert_true(task_exists(q->pid, io[0].thread_id));
	qmp_iothreads_free(io, n);

	assert_int_equal(qmp_execute_sync(c, "no-such-command", NULL, TIMEOUT_MS, NULL),
			 -EOPNOTSUPP);
	assert_string_equal(qmp_last_error(c)->class, "CommandNotFound");

	assert_int_equal(qmp_execute_sync(c, "cont", NULL, TIMEOUT_MS, NULL), 0);
	while (!seen(&ev, QMP_EVENT_RESUME))
		assert_int_equal(qmp_wait_sync(c, TIMEOUT_MS), 0);
	assert_int_equal(qmp_query_status(c, TIMEOUT_MS, &st), 0);
	assert_true(st.running);
	assert_int_equal(st.state, QMP_RUN_STATE_RUNNING);
	qmp_status_done(&st);

	/* quit: "a premature EOF would not be unexpected", so the reply may not come */
	r = qmp_execute_sync(c, "quit", NULL, TIMEOUT_MS, NULL);
	assert_true(r == 0 || r == -ECONNRESET);
	do
		r = qmp_wait_sync(c, TIMEOUT_MS);
	while (r == 0);
	assert_int_equal(r, -ECONNRESET);
	assert_true(seen(&ev, QMP_EVENT_SHUTDOWN));
	assert_false(ev.shutdown.guest);
	assert_int_equal(ev.shutdown.reason, QMP_SHUTDOWN_CAUSE_HOST_QMP_QUIT);

	assert_int_equal(waitpid(q->pid, &status, 0), q->pid);
	q->pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qemu_lifecycle, qemu_setup, qemu_teardown),
	};
	const char *ci = getenv("CI");

	if (access(qemu_binary(), X_OK) < 0) {
		fprintf(stderr, "%s: %m\n", qemu_binary());
		return ci && streq(ci, "true") ? EXIT_FAILURE : 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
