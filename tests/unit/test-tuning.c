/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host tuning while the VM runs (the tuning/ actions, issue 5) on a copy of the
 * ryzen-5950x fixture with the files the actions touch added by the test
 * (cpufreq, proc/irq, the workqueue mask, a cgroup v2 root, THP defrag,
 * vm.stat_interval), the fake kernel of fakekernel.h playing the kernel's
 * part (managed IRQs refuse, subtree_control +/-, THP's [choice]). Every
 * action is checked for what it writes, then the journal's replay must
 * leave sys/, dev/ and proc/ exactly as before, also when gamevm "died"
 * and a new process replays the journal, and a second undo changes nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fakekernel.h"
#include "prepare.h"
#include "tuning.h"

#define BASE_CONF "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\n"
#define GOV(n)	  "sys/devices/system/cpu/cpu" #n "/cpufreq/scaling_governor"
#define WQ_MASK	  "sys/devices/virtual/workqueue/cpumask"
#define CG	  "sys/fs/cgroup/"
#define DEFRAG	  "sys/kernel/mm/transparent_hugepage/defrag"
#define STAT_INT  "proc/sys/vm/stat_interval"

static const unsigned pin[] = { 2, 18, 3, 19 };
static const unsigned hk[] = { 0, 16 };
static const unsigned irqs[] = { 0, 1, 9, 24, 120 };

struct env {
	struct host_root h;
	int run_fd;
	struct journal *j;
	struct plan_diags d;
	struct plan p;
	struct vm_config *c;
	int pmqos_fd;
};

static void put(const char *rel, const char *content)
{
	char dir[PATH_MAX];

	fk_fmt(dir, sizeof(dir), "%s", rel);
	*strrchr(dir, '/') = 0;
	assert_int_equal(fk_mkdirs(dir), 0);
	assert_int_equal(fk_put(rel, content), 0);
}

static void add_tuning_files(void)
{
	char rel[256], p[PATH_MAX];

	for (unsigned cpu = 0; cpu < 32; cpu++) {
		fk_fmt(rel, sizeof(rel), "sys/devices/system/cpu/cpu%u/cpufreq/scaling_governor",
		       cpu);
		put(rel, "schedutil\n");
		fk_fmt(rel, sizeof(rel),
		       "sys/devices/system/cpu/cpu%u/cpufreq/scaling_available_governors", cpu);
		put(rel, "conservative ondemand userspace powersave performance schedutil\n");
	}
	for (size_t i = 0; i < ELEMENTSOF(irqs); i++) {
		fk_fmt(rel, sizeof(rel), "proc/irq/%u/smp_affinity_list", irqs[i]);
		put(rel, "0-31\n");
	}
	/* IRQ 0, the timer: the kernel keeps it. */
	put("proc/irq/0/fk_managed", "");
	put("proc/irq/default_smp_affinity", "ffffffff\n");
	put(WQ_MASK, "ffffffff\n");
	put(CG "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put(CG "cgroup.subtree_control", "cpuset cpu io memory pids\n");
	put(CG "system.slice/cpuset.cpus", "\n");
	put(CG "user.slice/cpuset.cpus", "\n");
	put(CG "init.scope/cpuset.cpus", "\n");
	put(DEFRAG, "always defer defer+madvise [madvise] never\n");
	put(STAT_INT, "1\n");
	/* The PM QoS device: writes vanish, as into the kernel's request. */
	fk_path(p, sizeof(p), "dev/cpu_dma_latency");
	unlink(p);
	assert_int_equal(symlink("/dev/null", p), 0);
}

static int setup(void **state)
{
	fk_setup("ryzen-5950x");
	add_tuning_files();
	return 0;
}

static int teardown(void **state)
{
	fk_teardown();
	return 0;
}

static void env_open(struct env *e, const char *conf, bool pinned)
{
	_cleanup_(config_error_done) struct config_error err = {};
	char text[1024];

	*e = (struct env){ .h = HOST_ROOT_NULL, .run_fd = -1, .pmqos_fd = -1 };
	assert_int_equal(host_root_open(fk_root, &e->h), 0);
	e->run_fd = open(fk_run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(e->run_fd >= 0);
	assert_int_equal(journal_create(e->run_fd, "t", NULL, &e->j), 0);
	fk_fmt(text, sizeof(text), "%s%s", BASE_CONF, conf);
	if (config_load_string("t.conf", text, &e->c, &err) < 0)
		fail_msg("config: %s", err.msg);
	if (pinned) {
		e->p.vcpu_pin = malloc(sizeof(pin));
		e->p.housekeeping = malloc(sizeof(hk));
		assert_non_null(e->p.vcpu_pin);
		assert_non_null(e->p.housekeeping);
		memcpy(e->p.vcpu_pin, pin, sizeof(pin));
		memcpy(e->p.housekeeping, hk, sizeof(hk));
		e->p.n_housekeeping = ELEMENTSOF(hk);
	}
}

static void env_close(struct env *e)
{
	free(e->p.vcpu_pin);
	free(e->p.housekeeping);
	config_free(e->c);
	journal_free(e->j);
	plan_diags_done(&e->d);
	host_root_close(&e->h);
	close(e->run_fd);
	if (e->pmqos_fd >= 0)
		close(e->pmqos_fd);
}

static char *diags_text(const struct plan_diags *d)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < d->n; i++)
		len += strlen(d->v[i].msg) + 1;
	s = calloc(1, len);
	assert_non_null(s);
	for (size_t i = 0; i < d->n; i++)
		strcat(strcat(s, d->v[i].msg), "\n");
	return s;
}

static void assert_contains(const char *s, const char *what)
{
	if (!s)
		fail_msg("'%s' not found: no text", what);
	else if (!strstr(s, what))
		fail_msg("'%s' not found in:\n%s", what, s);
}

static void assert_file(const char *rel, const char *want)
{
	_cleanup_free_ char *got = fk_get(rel);

	assert_non_null(got);
	if (!streq(got, want))
		fail_msg("%s is '%s', expected '%s'", rel, got, want);
}

static bool journal_exists(void)
{
	char p[PATH_MAX];

	fk_fmt(p, sizeof(p), "%s/" JOURNAL_FILE, fk_run);
	return access(p, F_OK) == 0;
}

#define ALL_ON "[tuning]\nthp-defrag = never\nstat-interval = 120\n"

/* The changed state, as every action leaves it. */
static void assert_tuned(void)
{
	assert_file(GOV(2), "performance");
	assert_file(GOV(18), "performance");
	assert_file(GOV(3), "performance");
	assert_file(GOV(19), "performance");
	assert_file(GOV(0), "schedutil"); /* housekeeping: untouched */
	assert_file(GOV(4), "schedutil");
	assert_file("proc/irq/1/smp_affinity_list", "0,16");
	assert_file("proc/irq/120/smp_affinity_list", "0,16");
	assert_file("proc/irq/0/smp_affinity_list", "0-31"); /* refused */
	assert_file("proc/irq/default_smp_affinity", "10001");
	assert_file(WQ_MASK, "10001");
	assert_file(CG "system.slice/cpuset.cpus", "0,16");
	assert_file(CG "user.slice/cpuset.cpus", "0,16");
	assert_file(CG "init.scope/cpuset.cpus", "0,16");
	assert_file(DEFRAG, "always defer defer+madvise madvise [never]");
	assert_file(STAT_INT, "120");
}

static void test_apply_and_undo(void **state)
{
	_cleanup_free_ char *before = fk_snapshot(), *after = NULL, *text = NULL;
	struct env e;

	(void)state;
	env_open(&e, ALL_ON, true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_tuned();
	assert_true(e.pmqos_fd >= 3);
	text = diags_text(&e.d);
	assert_contains(text,
			"governor: performance on 4 of the VM's 4 CPUs (4 changed, 0 already)");
	assert_contains(text, "cstates: deep C-states off");
	assert_contains(text,
			"irq-affinity: 4 IRQs moved to CPUs 0,16, 0 were there already, 1 skipped");
	assert_contains(text, "workqueues: unbound workqueues on CPU mask 10001");
	assert_contains(text, "cpusets: system.slice limited to CPUs 0,16");
	assert_contains(text, "thp-defrag:");
	assert_contains(text, "stat-interval:");
	assert_false(plan_diags_has_error(&e.d));

	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	assert_false(journal_exists());

	/* Undone twice (a crash between an undo and its marker): nothing moves. */
	for (size_t i = 0; i < e.j->n_records; i++)
		assert_int_equal(prepare_undo(&e.h, &e.j->records[i], NULL, &e.d), 0);
	free(after);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/* gamevm killed while the VM ran: gamevm cleanup's replay from the file alone. */
static void test_replay_after_kill(void **state)
{
	_cleanup_free_ char *before = fk_snapshot(), *after = NULL;
	struct journal *j2 = NULL;
	struct plan_diags d2 = {};
	struct env e;

	(void)state;
	env_open(&e, ALL_ON, true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_tuned();
	assert_true(journal_pending(e.j) > 10);

	assert_int_equal(journal_open_existing(e.run_fd, &j2), 0);
	assert_int_equal(journal_pending(j2), journal_pending(e.j));
	assert_int_equal(prepare_teardown(j2, &e.h, NULL, &d2), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	assert_false(journal_exists());
	journal_free(j2);
	plan_diags_done(&d2);
	env_close(&e);
}

/* No pinning: nothing to keep quiet, nothing changes, one notice. */
static void test_unpinned_is_noop(void **state)
{
	_cleanup_free_ char *before = fk_snapshot(), *after = NULL, *text = NULL;
	struct env e;

	(void)state;
	env_open(&e, "", false);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_int_equal(e.pmqos_fd, -1);
	assert_int_equal(e.j->n_records, 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	text = diags_text(&e.d);
	assert_contains(text, "CPU tuning skipped: the vCPUs are not pinned");
	env_close(&e);
}

/* Every switch off: nothing journaled, nothing written, even with pinning. */
static void test_all_off(void **state)
{
	_cleanup_free_ char *before = fk_snapshot(), *after = NULL;
	struct env e;

	(void)state;
	env_open(&e,
		 "[tuning]\ngovernor = no\ncstates = no\nirq-affinity = no\nworkqueues = no\n"
		 "cpusets = no\nthp-defrag = keep\nstat-interval = keep\n",
		 true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_int_equal(e.pmqos_fd, -1);
	assert_int_equal(e.j->n_records, 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/* VMs (the lab) have no cpufreq: a notice, the rest goes on. */
static void test_governor_absent(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *text = NULL;
	char cmd[PATH_MAX + 64];
	struct env e;

	(void)state;
	fk_fmt(cmd, sizeof(cmd), "rm -rf '%s/sys/devices/system/cpu'", fk_root);
	assert_int_equal(system(cmd), 0);
	before = fk_snapshot();
	env_open(&e, "", true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	text = diags_text(&e.d);
	assert_contains(text, "governor: not available, skipped (this host has no cpufreq");
	assert_file(WQ_MASK, "10001");
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/* The cpuset controller off in the root: enabled first, disabled again last. */
static void test_cpuset_controller(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL, *text = NULL;
	struct env e;

	(void)state;
	put(CG "cgroup.subtree_control", "cpu io memory pids\n");
	before = fk_snapshot();
	env_open(&e, "", true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_file(CG "cgroup.subtree_control", "cpu io memory pids cpuset");
	assert_file(CG "user.slice/cpuset.cpus", "0,16");
	text = diags_text(&e.d);
	assert_contains(text, "cpuset controller enabled");
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/* Pinned without a housekeeping set: governor and C-states only. */
static void test_no_housekeeping(void **state)
{
	_cleanup_free_ char *text = NULL;
	struct env e;

	(void)state;
	env_open(&e, "", true);
	free(e.p.housekeeping);
	e.p.housekeeping = NULL;
	e.p.n_housekeeping = 0;
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_file(GOV(2), "performance");
	assert_file(WQ_MASK, "ffffffff");
	assert_file("proc/irq/1/smp_affinity_list", "0-31");
	text = diags_text(&e.d);
	assert_contains(text, "no housekeeping CPUs");
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	env_close(&e);
}

/*
 * The one diagnostic of an action: its message starts with "what: "; there
 * must be exactly one, at level (LOG_NOTICE for a skipped action). Returns it.
 */
static const char *only_diag(const struct plan_diags *d, const char *what, int level)
{
	const struct plan_diag *found = NULL;
	char prefix[64];
	size_t n = 0;

	fk_fmt(prefix, sizeof(prefix), "%s: ", what);
	for (size_t i = 0; i < d->n; i++)
		if (strncmp(d->v[i].msg, prefix, strlen(prefix)) == 0) {
			found = &d->v[i];
			n++;
		}
	if (n != 1 || found->level != level) {
		_cleanup_free_ char *text = diags_text(d);
		fail_msg(
			"expected one '%s' diagnostic at level %d, got %zu (last at level %d):\n%s",
			what, level, n, found ? found->level : -1, text);
	}
	return found->msg;
}

/* No warning or error among the diagnostics of action what ("irq-affinity"), or of any (NULL). */
static void assert_no_warning(const struct plan_diags *d, const char *what)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level <= LOG_WARNING &&
		    (!what || strncmp(d->v[i].msg, what, strlen(what)) == 0)) {
			_cleanup_free_ char *text = diags_text(d);
			fail_msg("unexpected warning or error '%s' in:\n%s", d->v[i].msg, text);
		}
}

/* An IRQ whose chip cannot move it answers EPERM (virtio in a VM): skipped, not a warning. */
static void test_irq_eperm_kept(void **state)
{
	_cleanup_free_ char *text = NULL;
	struct env e;

	(void)state;
	fk_refuse("proc/irq/24/", -EPERM);
	env_open(&e, "", true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_no_warning(&e.d, "irq-affinity");
	assert_file("proc/irq/24/smp_affinity_list", "0-31");
	assert_file("proc/irq/1/smp_affinity_list", "0,16");
	text = diags_text(&e.d);
	assert_contains(text,
			"irq-affinity: 3 IRQs moved to CPUs 0,16, 0 were there already, 2 skipped");
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	env_close(&e);
}

/*
 * A container: /proc and /sys readable, every write refused (EROFS). Each
 * action says so once, as a notice naming the path; nothing is a warning,
 * the start goes on and the replay changes nothing.
 */
static void test_readonly_host(void **state)
{
	_cleanup_free_ char *before = fk_snapshot(), *after = NULL;
	static const char *const actions[] = { "governor", "irq-affinity", "workqueues",
					       "cpusets",  "thp-defrag",   "stat-interval" };
	struct env e;

	(void)state;
	fk_refuse("proc/", -EROFS);
	fk_refuse("sys/", -EROFS);
	env_open(&e, ALL_ON, true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_no_warning(&e.d, NULL);
	for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
		const char *m = only_diag(&e.d, actions[i], LOG_NOTICE);

		assert_contains(m,
				"not available, skipped (this host does not let gamevm change '");
		assert_contains(m, fk_root);
		assert_contains(m, "Read-only file system");
	}
	assert_contains(only_diag(&e.d, "irq-affinity", LOG_NOTICE), "/proc/irq'");
	after = fk_snapshot();
	fk_assert_same(before, after);
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	free(after);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/* The cpuset controller must be enabled, and the cgroup tree refuses it: one notice. */
static void test_cpuset_controller_refused(void **state)
{
	_cleanup_free_ char *before = NULL, *after = NULL;
	struct env e;

	(void)state;
	put(CG "cgroup.subtree_control", "cpu io memory pids\n");
	fk_refuse(CG, -EPERM);
	before = fk_snapshot();
	env_open(&e, "", true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_no_warning(&e.d, NULL);
	assert_contains(only_diag(&e.d, "cpusets", LOG_NOTICE), "cgroup.subtree_control'");
	assert_file(WQ_MASK, "10001"); /* the rest went on */
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	after = fk_snapshot();
	fk_assert_same(before, after);
	env_close(&e);
}

/* cgroup v1 with systemd's hybrid cgroup2 mount (no controllers): what it means, how to get v2. */
static void test_cgroup_v1(void **state)
{
	struct env e;
	const char *m;

	(void)state;
	assert_int_equal(fk_unlink(CG "cgroup.controllers"), 0);
	put(CG "unified/cgroup.controllers", "\n");
	env_open(&e, "", true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_no_warning(&e.d, NULL);
	m = only_diag(&e.d, "cpusets", LOG_NOTICE);
	assert_contains(m, "no cgroup v2 hierarchy at '");
	assert_contains(m, "systemd.unified_cgroup_hierarchy=1");
	assert_file(CG "user.slice/cpuset.cpus", "");
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	env_close(&e);
}

/* dev/cpu_dma_latency that refuses to be opened for writing (EACCES): a notice. */
static void test_pmqos_refused(void **state)
{
	/* A read-only sysfs attribute refuses O_WRONLY with EACCES, even to root. */
	static const char ro[] = "/sys/devices/system/cpu/online";
	char p[PATH_MAX];
	struct env e;
	int fd;

	(void)state;
	fd = open(ro, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES) {
		if (fd >= 0)
			close(fd);
		skip();
	}
	fk_path(p, sizeof(p), "dev/cpu_dma_latency");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(ro, p), 0);
	env_open(&e, "", true);
	assert_int_equal(tuning_apply(&e.h, e.j, e.c, &e.p, &e.pmqos_fd, &e.d), 0);
	assert_int_equal(e.pmqos_fd, -1);
	assert_no_warning(&e.d, "cstates");
	assert_contains(only_diag(&e.d, "cstates", LOG_NOTICE),
			"not available, skipped (this host does not let gamevm change '");
	assert_int_equal(prepare_teardown(e.j, &e.h, NULL, &e.d), 0);
	env_close(&e);
}

static void test_cpumask_hex(void **state)
{
	static const unsigned a[] = { 0, 16 }, b[] = { 0, 33 }, c[] = { 63 };
	char *s = NULL;

	(void)state;
	assert_int_equal(format_cpumask_hex(a, 2, &s), 0);
	assert_string_equal(s, "10001");
	free(s);
	assert_int_equal(format_cpumask_hex(b, 2, &s), 0);
	assert_string_equal(s, "2,00000001");
	free(s);
	assert_int_equal(format_cpumask_hex(c, 1, &s), 0);
	assert_string_equal(s, "80000000,00000000");
	free(s);
	assert_int_equal(format_cpumask_hex(a, 0, &s), -EINVAL);
}

static void test_sysfs_choice(void **state)
{
	char *w = NULL;

	(void)state;
	assert_int_equal(sysfs_choice_current("always defer [madvise] never", &w), 0);
	assert_string_equal(w, "madvise");
	free(w);
	assert_int_equal(sysfs_choice_current("[always] never", &w), 0);
	assert_string_equal(w, "always");
	free(w);
	assert_int_equal(sysfs_choice_current("always never", &w), -EBADMSG);
	assert_int_equal(sysfs_choice_current("always [] never", &w), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_and_undo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_after_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpinned_is_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_governor_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpuset_controller, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_housekeeping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_eperm_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpuset_controller_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pmqos_refused, setup, teardown),
		cmocka_unit_test(test_cpumask_hex),
		cmocka_unit_test(test_sysfs_choice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
