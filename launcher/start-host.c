/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host side of gamevm start and prepare: a stale journal replayed, the
 * memlock limit checked, the host prepared (prepare.h: hugepages, VFIO,
 * tuning, each change journaled) and put back, the hugepages handed over
 * once QEMU holds them, the sleep inhibitor, and the host powered off
 * for on-poweroff = host-poweroff.
 */
#include <cap-ng.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "start.h"

/*
 * A journal left by a run that did not finish (gamevm killed): the lock we
 * hold proves nobody else is restoring the host, so replay it before
 * touching anything, as `gamevm cleanup` would.
 */
int start_replay_stale(struct start *s, struct vm_dirs *d)
{
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags diags = {};
	size_t pending;
	int r;

	_cleanup_free_ char *boot_id = NULL;

	r = journal_open_existing(d->run_fd, &j);
	if (r == -ENOENT)
		return 0;
	if (r == -EBADMSG)
		return log_error_errno(
			r,
			"The undo journal '%s/%s' of an earlier run is damaged; restore the host by hand (driver bindings, hugepages) and remove it.",
			d->run_path, JOURNAL_FILE);
	if (r < 0)
		return log_error_errno(r, "Failed to read '%s/%s': %m", d->run_path, JOURNAL_FILE);
	(void)journal_boot_id(&s->l.root, &boot_id);
	if (journal_from_other_boot(j, boot_id)) {
		log_notice(
			"The undo journal '%s/%s' was written before the host last booted: the changes it lists ended with that boot; removing it.",
			d->run_path, JOURNAL_FILE);
		r = journal_discard(j);
		if (r < 0)
			return log_error_errno(r, "Failed to remove '%s/%s': %m", d->run_path,
					       JOURNAL_FILE);
		return 0;
	}
	pending = journal_pending(j);
	if (pending == 0) {
		r = journal_remove(j);
		if (r < 0)
			return log_error_errno(r, "Failed to remove '%s/%s': %m", d->run_path,
					       JOURNAL_FILE);
		return 0;
	}
	log_notice(
		"Found the journal of a run that did not finish (gamevm was killed?): restoring the host first (%zu change%s).",
		pending, pending == 1 ? "" : "s");
	r = prepare_teardown(j, &s->l.root, NULL, &diags);
	start_diags_flush(&diags);
	if (r < 0)
		return log_error_errno(
			r,
			"%zu change%s of the earlier run could not be undone (see above); not starting. Fix it and run 'gamevm cleanup %s'.",
			journal_pending(j), journal_pending(j) == 1 ? "" : "s", s->l.c->name);
	log_notice("The host is restored; going on with the start.");
	return 0;
}

/*
 * VFIO pins all guest RAM, and mem-lock locks it: QEMU needs the limit,
 * and raising it above gamevm's own hard limit needs CAP_SYS_RESOURCE.
 * Found out now, before the host is touched, rather than in the child.
 */
int start_check_memlock(const struct start *s, uint64_t want)
{
	struct rlimit rl;

	if (want == 0 || getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_max == RLIM_INFINITY ||
	    rl.rlim_max >= want)
		return 0;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process() == 0 &&
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_RESOURCE))
		return 0;
	return log_error_errno(
		-EPERM,
		"QEMU needs RLIMIT_MEMLOCK of %llu MiB (guest RAM + 1 GiB, for %s), but gamevm's hard limit is %llu MiB and it lacks CAP_SYS_RESOURCE to raise it: run gamevm as root with all capabilities, or raise the limit (LimitMEMLOCK=infinity in the unit, 'ulimit -l unlimited').",
		(unsigned long long)(want >> 20),
		s->plan.n_hostdevs > 0 ? "VFIO DMA mappings" : "[memory] lock",
		(unsigned long long)(rl.rlim_max >> 20));
}

/* The plan's host devices as the supervisor checks them in query-pci. */
int start_hostdevs(struct start *s)
{
	size_t n = s->plan.n_hostdevs;

	if (n == 0)
		return 0;
	s->hostdevs = calloc(n, sizeof(*s->hostdevs));
	s->hostdev_addr = calloc(n, sizeof(*s->hostdev_addr));
	s->hostdev_id = calloc(n, sizeof(*s->hostdev_id));
	if (!s->hostdevs || !s->hostdev_addr || !s->hostdev_id)
		return log_error_errno(-ENOMEM, "Out of memory.");
	for (size_t i = 0; i < n; i++) {
		format_pci_addr(&s->plan.hostdevs[i].host, s->hostdev_addr[i]);
		/* The -device id qemu_argv_build() gives it (qemu-argv-devices.c). */
		snprintf(s->hostdev_id[i], sizeof(s->hostdev_id[i]), "hostdev%zu", i);
		s->hostdevs[i] = (struct supervise_hostdev){ .host = s->hostdev_addr[i],
							     .qdev_id = s->hostdev_id[i] };
	}
	return 0;
}

/*
 * Journal, hugepages, VFIO. On failure what was done is undone here, so
 * the host is as before when this returns an error.
 */
int start_prepare_host(struct start *s, struct vm_dirs *d)
{
	_cleanup_free_ char *boot_id = NULL;
	_cleanup_(plan_diags_done) struct plan_diags diags = {};
	struct prepare_params pp = { .h = &s->l.root,
				     .c = s->l.c,
				     .p = &s->plan,
				     .f = &s->l.facts,
				     .vfio = VFIO_OPTS_INIT };
	int r, q;

	if (s->switch_user) {
		pp.vfio.uid = s->uid;
		pp.vfio.gid = s->gid;
	}
	(void)journal_boot_id(&s->l.root, &boot_id);
	r = journal_create(d->run_fd, s->l.c->name, boot_id, &s->journal);
	if (r == -EEXIST)
		return log_error_errno(r, "%s/%s appeared while we hold the lock.", d->run_path,
				       JOURNAL_FILE);
	if (r < 0)
		return log_error_errno(r, "Failed to create the undo journal %s/%s: %m",
				       d->run_path, JOURNAL_FILE);
	s->prepared = true;
	r = prepare_host(&pp, s->journal, &s->prep, &diags);
	start_diags_flush(&diags);
	if (r >= 0)
		return 0;

	if (r != -EINVAL)
		log_error_errno(r, "Failed to prepare the host: %m");
	q = prepare_teardown(s->journal, &s->l.root, &s->prep.vfio, &diags);
	start_diags_flush(&diags);
	s->prepared = false;
	if (q < 0)
		return log_error_errno(
			q,
			"Host preparation failed, and %zu change%s could not be undone (see above): fix it and run 'gamevm cleanup %s'.",
			journal_pending(s->journal), journal_pending(s->journal) == 1 ? "" : "s",
			s->l.c->name);
	return log_error_errno(
		r, "Host preparation failed (see above); not starting. The host is as it was.");
}

/* After cont: the supervisor's on_running hook. */
void start_on_running(void *userdata)
{
	struct start *s = userdata;
	_cleanup_(plan_diags_done) struct plan_diags diags = {};
	int r;

	/*
	 * A VM that may start again keeps its hugepages reserved between runs
	 * (the journal gives them back at the end, or 'gamevm cleanup').
	 */
	if (!s->prepared || s->may_restart)
		return;
	r = prepare_after_start(&s->l.root, s->journal, &s->prep, &diags);
	start_diags_flush(&diags);
	if (r < 0)
		log_warning_errno(
			r,
			"Could not hand the hugepages over to QEMU (%m): if gamevm dies, 'gamevm cleanup %s' gives them back.",
			s->l.c->name);
}

/* After the VM, on every way it ended: device health, then the journal backwards. */
int start_restore_host(struct start *s)
{
	_cleanup_(plan_diags_done) struct plan_diags diags = {};
	size_t pending;
	int r;

	if (!s->prepared)
		return 0;
	s->prepared = false;
	(void)prepare_after_vm(&s->l.root, &s->prep, &diags);
	start_diags_flush(&diags);
	pending = journal_pending(s->journal);
	if (pending > 0)
		log_info("Restoring the host (%zu change%s).", pending, pending == 1 ? "" : "s");
	r = prepare_teardown(s->journal, &s->l.root, &s->prep.vfio, &diags);
	start_diags_flush(&diags);
	if (r < 0)
		return log_error_errno(
			r,
			"%zu host change%s could not be undone (see above) and stay in %s/%s: fix it and run 'gamevm cleanup %s'.",
			journal_pending(s->journal), journal_pending(s->journal) == 1 ? "" : "s",
			s->l.run_dir, JOURNAL_FILE, s->l.c->name);
	if (pending > 0)
		log_info("The host is restored.");
	return 0;
}

/*
 * on-poweroff = host-poweroff, the host put back: what SIGRTMIN+4 to PID 1
 * asks of systemd (poweroff.target); no program to start, which gamevm
 * cannot any more.
 */
void start_poweroff_host(const struct start *s)
{
	_cleanup_free_ char *comm = NULL;

	if (s->l.root.proc_fd < 0 || read_one_line_at(s->l.root.proc_fd, "1/comm", &comm) < 0 ||
	    !streq(comm, "systemd")) {
		log_error(
			"on-poweroff = host-poweroff: the host's init is not systemd ('/proc/1/comm' is '%s'), so gamevm cannot ask it to power off; power the host off yourself.",
			strna(comm));
		return;
	}
	log_notice("The guest powered off: powering the host off (on-poweroff = host-poweroff).");
	start_notify("STATUS=Powering the host off");
	if (kill(1, SIGRTMIN + 4) < 0)
		log_error_errno(NEG_ERRNO(), "Failed to ask systemd (pid 1) to power off: %m");
}

/*
 * [vm] inhibit-sleep: a logind sleep lock while the VM runs (auto: with a
 * passed-through device, which does not survive the host suspending under
 * it). Held by systemd-inhibit running 'cat' on a pipe gamevm holds: when
 * gamevm ends, however it ends, the pipe closes and the lock goes. Started
 * before confinement, as root; a host without logind gets a notice.
 */
void start_inhibit_sleep(struct start *s)
{
	const struct vm_config *c = s->l.c;
	_cleanup_free_ char *bin = NULL, *why = NULL, *reason = NULL;
	int pipefd[2] = { -1, -1 };
	struct spawn_opts o = SPAWN_OPTS_INIT;
	int status, r;

	if (c->inhibit_sleep == TRISTATE_OFF ||
	    (c->inhibit_sleep == TRISTATE_AUTO && s->plan.n_hostdevs == 0))
		return;
	if (spawn_find_binary(s->l.root.root_fd, "systemd-inhibit", &bin) < 0) {
		log_notice(
			"No sleep inhibitor: systemd-inhibit is not installed; do not suspend the host while VM '%s' runs.",
			c->name);
		return;
	}
	if (asprintf(&reason, "--why=VM %s runs%s", c->name,
		     s->plan.n_hostdevs > 0 ? " with a passed-through device" : "") < 0 ||
	    pipe2(pipefd, O_CLOEXEC) < 0) {
		log_warning("No sleep inhibitor: out of resources.");
		return;
	}
	const char *argv[] = { "systemd-inhibit",
			       "--what=sleep",
			       "--who=gamevm",
			       reason,
			       "--mode=block",
			       "cat",
			       NULL };
	o.path = bin;
	o.argv = (char **)argv;
	o.drop_caps = false; /* logind takes the lock from root without asking polkit */
	o.no_new_privs = false;
	o.stdin_fd = pipefd[0];
	o.pdeathsig = SIGTERM;
	r = spawn_child(&o, "systemd-inhibit", &s->inhibitor, &why);
	closep(&pipefd[0]);
	if (r < 0) {
		closep(&pipefd[1]);
		log_notice("No sleep inhibitor: %s: %s.", strna(why), strerror(-r));
		return;
	}
	/* Without logind it fails at once; with it, it holds on. */
	if (child_wait(&s->inhibitor, 500, &status) == 0) {
		char buf[128];

		closep(&pipefd[1]);
		log_notice(
			"No sleep inhibitor: systemd-inhibit %s (is logind running?); do not suspend the host while VM '%s' runs.",
			child_status_to_string(status, buf, sizeof(buf)), c->name);
		return;
	}
	s->inhibitor_fd = pipefd[1];
	log_info("Holding a sleep inhibitor while VM '%s' runs (systemd-inhibit, pid %d).", c->name,
		 (int)s->inhibitor.pid);
}

int start_verify_prepared(struct start *s)
{
	const struct vm_config *c = s->l.c;
	const struct plan *p = &s->plan;
	char fix[256];
	size_t n = 0;

	snprintf(
		fix, sizeof(fix),
		"prepare the host as root first: 'sudo gamevm prepare %s', or 'systemctl start gamevm-prepare@%s'",
		c->name, c->name);

	for (size_t i = 0; i < p->n_hostdevs; i++) {
		const struct host_pci_dev *dev =
			host_pci_find(&s->l.facts.pci, &p->hostdevs[i].host);
		char addr[PCI_ADDR_STRLEN], node[32];

		format_pci_addr(&p->hostdevs[i].host, addr);
		if (!dev || !streq_ptr(dev->driver, "vfio-pci"))
			return log_error_errno(
				-EPERM,
				"%s: %s is on '%s', not vfio-pci, and gamevm does not run as root to move it: %s.",
				c->path, addr, dev && dev->driver ? dev->driver : "no driver", fix);
		snprintf(node, sizeof(node), "vfio/%d", dev->iommu_group);
		if (s->l.root.dev_fd < 0 || faccessat(s->l.root.dev_fd, node, R_OK | W_OK, 0) < 0)
			return log_error_errno(NEG_ERRNO(),
					       "%s: '/dev/%s' (%s) cannot be opened by %s: %m; %s.",
					       c->path, node, addr, s->user, fix);
		n++;
	}
	if (p->hugepage_size > 0) {
		const struct host_hugepool *pool =
			host_memory_find_pool(&s->l.facts.memory, p->hugepage_size, -1);
		uint64_t need = c->memory_bytes / p->hugepage_size;

		if (!pool || pool->free < need)
			return log_error_errno(
				-ENOMEM,
				"%s: %" PRIu64 " huge pages of %" PRIu64 " KiB are needed, %" PRIu64
				" are free, and gamevm does not run as root to reserve them: %s.",
				c->path, need, p->hugepage_size >> 10, pool ? pool->free : 0, fix);
	}
	log_info(
		"Not running as root: using the host as 'gamevm prepare' left it (%zu device%s on vfio-pci%s); nothing on the host is changed by this run.",
		n, n == 1 ? "" : "s", p->hugepage_size ? ", hugepages reserved" : "");
	return 0;
}
