/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Thread placement: the pure helpers, then pin_apply() and
 * pin_sweep_new_threads() on this test process's own threads (standing in
 * for QEMU's vCPU and emulator threads), read back through /proc.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostroot.h"
#include "macro.h"
#include "pin.h"

/* ---- pure helpers -------------------------------------------------------------------- */

static void test_status_cpus_allowed(void **state)
{
	char *s = NULL;

	assert_int_equal(pin_status_cpus_allowed("Name:\tCPU 0/TCG\n"
						 "Cpus_allowed:\t3\n"
						 "Cpus_allowed_list:\t0-1,8\n"
						 "Mems_allowed:\t1\n",
						 &s),
			 0);
	assert_string_equal(s, "0-1,8");
	free(s);

	/* Last line without newline, spaces instead of a tab. */
	assert_int_equal(pin_status_cpus_allowed("Cpus_allowed_list:  5  ", &s), 0);
	assert_string_equal(s, "5");
	free(s);

	/* "Cpus_allowed:" is not the list; a key must start its line. */
	assert_int_equal(pin_status_cpus_allowed("Cpus_allowed:\t3\nX Cpus_allowed_list:\t1\n", &s),
			 -ENOENT);
	assert_int_equal(pin_status_cpus_allowed("", &s), -ENOENT);
	assert_int_equal(pin_status_cpus_allowed("Cpus_allowed_list:\t\n", &s), -EBADMSG);
}

static void test_cpuset_roundtrip(void **state)
{
	const unsigned cpus[] = { 0, 1, 2, 8, 1023 };
	_cleanup_free_ unsigned *back = NULL;
	_cleanup_free_ char *s = NULL;
	const unsigned bad[] = { CPU_SETSIZE };
	cpu_set_t set;
	size_t n;

	assert_int_equal(pin_cpuset_from_list(cpus, ELEMENTSOF(cpus), &set), 0);
	assert_int_equal(CPU_COUNT(&set), 5);
	assert_int_equal(pin_cpuset_to_list(&set, &back, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(back, cpus, sizeof(cpus));
	assert_int_equal(pin_cpuset_format(&set, &s), 0);
	assert_string_equal(s, "0-2,8,1023");

	assert_int_equal(pin_cpuset_from_list(bad, 1, &set), -ERANGE);
}

static void test_classify(void **state)
{
	const struct pin_vcpu v[] = { { 0, 100 }, { 1, 101 } };
	const struct pin_iothread io[] = { { "io1", 200 } };
	const struct pin_target t = {
		.pid = 99, .vcpus = v, .n_vcpus = 2, .iothreads = io, .n_iothreads = 1
	};
	size_t idx = 77;

	assert_int_equal(pin_classify(&t, 101, &idx), PIN_ROLE_VCPU);
	assert_int_equal(idx, 1);
	assert_int_equal(pin_classify(&t, 200, &idx), PIN_ROLE_IOTHREAD);
	assert_int_equal(idx, 0);
	idx = 77;
	assert_int_equal(pin_classify(&t, 99, &idx), PIN_ROLE_EMULATOR);
	assert_int_equal(idx, 77);
	assert_string_equal(pin_role_to_string(PIN_ROLE_IOTHREAD), "iothread");
}

static void test_entry_format(void **state)
{
	struct pin_entry vcpu = { .role = PIN_ROLE_VCPU,
				  .tid = 1234,
				  .vcpu = 0,
				  .planned = (char *)"3",
				  .applied = (char *)"3" };
	struct pin_entry io = { .role = PIN_ROLE_IOTHREAD,
				.tid = 1240,
				.vcpu = -1,
				.name = (char *)"io1",
				.planned = (char *)"0-1",
				.applied = (char *)"0-1" };
	struct pin_entry off = { .role = PIN_ROLE_VCPU,
				 .tid = 7,
				 .vcpu = 2,
				 .planned = (char *)"4",
				 .applied = (char *)"0-7" };
	struct pin_entry gone = { .role = PIN_ROLE_EMULATOR,
				  .tid = 8,
				  .vcpu = -1,
				  .name = (char *)"worker",
				  .planned = (char *)"0",
				  .error = -ESRCH };
	char *s;

	assert_int_equal(pin_entry_format(&vcpu, &s), 0);
	assert_string_equal(s, "vCPU 0 (tid 1234) -> CPU 3");
	free(s);
	assert_true(pin_entry_ok(&vcpu));

	assert_int_equal(pin_entry_format(&io, &s), 0);
	assert_string_equal(s, "I/O thread io1 (tid 1240) -> CPUs 0-1");
	free(s);

	assert_false(pin_entry_ok(&off));
	assert_int_equal(pin_entry_format(&off, &s), 0);
	assert_string_equal(s, "vCPU 2 (tid 7) -> CPUs 0-7, but planned 4");
	free(s);

	assert_false(pin_entry_ok(&gone));
	assert_int_equal(pin_entry_format(&gone, &s), 0);
	assert_string_equal(s, "thread 'worker' (tid 8) -> CPU 0: No such process");
	free(s);
}

static void test_empty_target(void **state)
{
	_cleanup_(host_root_close) struct host_root h = HOST_ROOT_NULL;
	const unsigned hk[] = { 0 };
	const struct pin_target none = { .pid = getpid() };
	const struct pin_target only_hk = { .pid = getpid(),
					    .housekeeping = hk,
					    .n_housekeeping = 1 };
	struct pin_report rep = { .configured = true };

	assert_true(pin_target_is_empty(&none));
	assert_false(pin_target_is_empty(&only_hk));
	assert_int_equal(host_root_open("/", &h), 0);
	assert_int_equal(pin_apply(&h, &none, &rep), 0);
	assert_false(rep.configured);
	assert_int_equal(rep.n, 0);
	assert_false(pin_report_failed(&rep));
	pin_report_done(&rep);
}

/* ---- on real threads ----------------------------------------------------------------- */

struct worker {
	pthread_t thread;
	pid_t tid;
	pthread_mutex_t *lock; /* held by main until the test is over */
	pthread_barrier_t *started;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->tid = gettid();
	pthread_barrier_wait(w->started);
	pthread_mutex_lock(w->lock);
	pthread_mutex_unlock(w->lock);
	return NULL;
}

struct fixture {
	struct host_root h;
	cpu_set_t saved;
	unsigned cpu_a, cpu_b; /* two CPUs we may use (the same one on a 1-CPU machine) */
	pthread_mutex_t lock;
	pthread_barrier_t started;
	struct worker w[3];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	bool first = true;

	assert_non_null(f);
	f->h = (struct host_root)HOST_ROOT_NULL;
	assert_int_equal(host_root_open("/", &f->h), 0);
	assert_int_equal(sched_getaffinity(0, sizeof(f->saved), &f->saved), 0);
	for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &f->saved)) {
			if (first)
				f->cpu_a = cpu;
			f->cpu_b = cpu;
			first = false;
		}
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_lock(&f->lock);
	pthread_barrier_init(&f->started, NULL, ELEMENTSOF(f->w) + 1);
	for (size_t i = 0; i < ELEMENTSOF(f->w); i++) {
		f->w[i].lock = &f->lock;
		f->w[i].started = &f->started;
		assert_int_equal(pthread_create(&f->w[i].thread, NULL, worker_main, &f->w[i]), 0);
	}
	pthread_barrier_wait(&f->started);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < ELEMENTSOF(f->w); i++)
		pthread_join(f->w[i].thread, NULL);
	sched_setaffinity(0, sizeof(f->saved), &f->saved);
	host_root_close(&f->h);
	free(f);
	return 0;
}

static void assert_cpus(struct fixture *f, pid_t tid, const char *want)
{
	_cleanup_free_ char *s = NULL;

	assert_int_equal(pin_read_cpus_allowed(&f->h, getpid(), tid, &s), 0);
	assert_string_equal(s, want);
}

static void test_apply_and_sweep(void **state)
{
	struct fixture *f = *state;
	_cleanup_(pin_report_done) struct pin_report rep = { 0 }, sweep = { 0 }, again = { 0 };
	_cleanup_free_ pid_t *tids = NULL;
	char a[16], b[16];
	size_t n_tids;
	cpu_set_t one;
	/* w[0], w[1] play vCPU 0 and 1, w[2] an I/O thread, main an emulator thread. */
	const struct pin_vcpu vcpus[] = { { 0, f->w[0].tid }, { 1, f->w[1].tid } };
	const struct pin_iothread io[] = { { "io1", f->w[2].tid } };
	const unsigned pin[] = { f->cpu_b, f->cpu_a };
	const unsigned hk[] = { f->cpu_a };
	const struct pin_target t = {
		.pid = getpid(),
		.vcpus = vcpus,
		.n_vcpus = 2,
		.iothreads = io,
		.n_iothreads = 1,
		.vcpu_pin = pin,
		.n_vcpu_pin = 2,
		.housekeeping = hk,
		.n_housekeeping = 1,
	};

	snprintf(a, sizeof(a), "%u", f->cpu_a);
	snprintf(b, sizeof(b), "%u", f->cpu_b);

	assert_int_equal(pin_list_threads(&f->h, getpid(), &tids, &n_tids), 0);
	assert_int_equal(n_tids, 4);

	assert_int_equal(pin_apply(&f->h, &t, &rep), 0);
	assert_true(rep.configured);
	assert_false(pin_report_failed(&rep));
	assert_int_equal(rep.n, 4); /* two vCPUs, one I/O thread, the main thread */
	assert_int_equal(rep.v[0].role, PIN_ROLE_VCPU);
	assert_int_equal(rep.v[0].vcpu, 0);
	assert_string_equal(rep.v[0].planned, b);
	assert_string_equal(rep.v[0].applied, b);
	assert_int_equal(rep.v[1].vcpu, 1);
	assert_string_equal(rep.v[1].applied, a);
	assert_int_equal(rep.v[2].role, PIN_ROLE_IOTHREAD);
	assert_string_equal(rep.v[2].name, "io1");
	assert_int_equal(rep.v[3].role, PIN_ROLE_EMULATOR);
	assert_int_equal(rep.v[3].tid, getpid());
	assert_non_null(rep.v[3].name); /* comm */

	/* What the kernel shows in /proc, the way `gamevm status` reads it. */
	assert_cpus(f, f->w[0].tid, b);
	assert_cpus(f, f->w[1].tid, a);
	assert_cpus(f, f->w[2].tid, a);
	assert_cpus(f, getpid(), a);

	/* Nothing new: the sweep moves nothing. */
	assert_int_equal(pin_sweep_new_threads(&f->h, &t, &sweep), 0);
	assert_int_equal(sweep.n, 0);
	pin_report_done(&sweep);

	/*
	 * An emulator thread off the housekeeping set (as a thread created by a
	 * vCPU thread would be) is moved back; vCPUs and I/O threads are left alone.
	 */
	CPU_ZERO(&one);
	CPU_SET(f->cpu_b, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	if (f->cpu_a != f->cpu_b) {
		assert_int_equal(pin_sweep_new_threads(&f->h, &t, &sweep), 0);
		assert_int_equal(sweep.n, 1);
		assert_int_equal(sweep.v[0].tid, getpid());
		assert_true(pin_entry_ok(&sweep.v[0]));
		assert_cpus(f, getpid(), a);
		assert_cpus(f, f->w[0].tid, b);
	}
	assert_int_equal(pin_sweep_new_threads(&f->h, &t, &again), 0);
	assert_int_equal(again.n, 0);
}

static void test_foreign_and_unplanned_vcpus(void **state)
{
	struct fixture *f = *state;
	_cleanup_(pin_report_done) struct pin_report rep = { 0 };
	const unsigned pin[] = { f->cpu_a };
	cpu_set_t before, after;
	int status;
	pid_t child;

	/* A tid that is not a thread of pid must never be touched. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(sched_getaffinity(child, sizeof(before), &before), 0);

	const struct pin_vcpu vcpus[] = { { 0, child }, { 5, f->w[0].tid } };
	const struct pin_target t = {
		.pid = getpid(), .vcpus = vcpus, .n_vcpus = 2, .vcpu_pin = pin, .n_vcpu_pin = 1
	};

	assert_int_equal(pin_apply(&f->h, &t, &rep), 0);
	assert_true(pin_report_failed(&rep));
	assert_int_equal(rep.n, 2); /* no housekeeping: nothing else is touched */
	assert_int_equal(rep.v[0].error, -ESRCH);
	assert_int_equal(rep.v[1].error, -ERANGE); /* vCPU 5 is not in the plan */
	assert_int_equal(sched_getaffinity(child, sizeof(after), &after), 0);
	assert_true(CPU_EQUAL(&before, &after));

	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_cpus_allowed),
		cmocka_unit_test(test_cpuset_roundtrip),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_entry_format),
		cmocka_unit_test(test_empty_target),
		cmocka_unit_test_setup_teardown(test_apply_and_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_and_unplanned_vcpus, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
