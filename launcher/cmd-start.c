/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm start CONF [--run-for S] [--timeout S]: plans the VM exactly as
 * `gamevm cmdline` does (any error: exit non-zero with the host untouched),
 * prepares its directories, lock, NVRAM and TPM, prepares the host
 * (prepare.h: hugepages, VFIO binding, every change in the undo journal),
 * and hands over to the supervisor (supervise.c), which runs it in the
 * foreground until it ends; then the journal is replayed, whatever the
 * way the VM ended.
 * docs/supervisor.md describes the lifecycle and the exit statuses.
 */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "fileio.h"
#include "firmware.h"
#include "host.h"
#include "hostroot.h"
#include "log.h"
#include "macro.h"
#include "notify.h"
#include "nvram.h"
#include "plan.h"
#include "prepare.h"
#include "hooks.h"
#include "spawn.h"
#include "strv.h"
#include "supervise.h"
#include "tuning.h"
#include "swtpm.h"
#include "tpm.h"
#include "vm-dirs.h"
#include "testhook.h"
#include "vm-load.h"
#include "start.h"

void start_done(struct start *s)
{
	vm_load_done(&s->l);
	plan_done(&s->plan);
	strv_done(&s->argv);
	strv_done(&s->qemu_env);
	free(s->user);
	journal_free(s->journal);
	prepare_state_done(&s->prep);
	free(s->hostdevs);
	free(s->hostdev_addr);
	free(s->hostdev_id);
	for (size_t i = 0; i < s->n_disk_fds; i++)
		closep(&s->disk_fds[i].src_fd);
	free(s->disk_fds);
	/* EOF on its stdin ends systemd-inhibit, and with it the lock. */
	closep(&s->inhibitor_fd);
	if (s->hk_cpus)
		CPU_FREE(s->hk_cpus);
	if (s->inhibitor.pid > 0 && child_wait(&s->inhibitor, 2000, NULL) < 0)
		child_kill_and_reap(&s->inhibitor);
}

/* Library diagnostics (prepare.h): errors and warnings as such, what was done as info. */
void start_diags_flush(struct plan_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_internal(d->v[i].level, 0, "%s", d->v[i].msg);
	plan_diags_done(d);
	*d = (struct plan_diags){};
}

/* The plan and QEMU's argv from the config and the host facts, diagnostics logged. */
static int start_build_plan(struct start *s)
{
	int r;

	r = vm_load_plan(&s->l, &s->plan);
	if (r < 0)
		return r;
	r = qemu_argv_build(s->l.c, &s->plan, &s->l.qemu, &s->argv);
	if (r < 0)
		return log_error_errno(r, "Failed to build the QEMU command line: %m");
	return 0;
}

/* Config, host facts, plan, argv: the same steps and messages as `gamevm cmdline`. */
int start_plan(const struct cli *cl, struct start *s)
{
	int r;

	r = vm_load(cl, &s->l);
	if (r < 0)
		return r;
	if (!s->l.root.is_real)
		return log_error_errno(
			-EINVAL,
			"gamevm start runs a VM on this host: --root is for reading other host trees (cmdline, topology).");
	return start_build_plan(s);
}

/* The unprivileged user QEMU and swtpm run as, with its groups (kvm). */
int start_resolve_user(struct start *s)
{
	const char *name = s->l.c->user ? s->l.c->user : CONFIG_DEFAULT_QEMU_USER;
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	int n = MAX_GROUPS, r;

	if (geteuid() != 0) {
		/* A user unit: QEMU runs as the user running gamevm; no switch possible. */
		r = getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &pwp);
		if (r != 0 || !pwp)
			return log_error_errno(r ? -r : -ENOENT, "Cannot look up uid %u: %m",
					       (unsigned)geteuid());
		if (s->l.c->user && !streq(s->l.c->user, pwp->pw_name))
			return log_error_errno(
				-EPERM,
				"%s: [vm] user = %s, but gamevm runs as '%s', not as root, and cannot switch users; remove the key or run gamevm as root.",
				s->l.c->path, s->l.c->user, pwp->pw_name);
		s->user = strdup(pwp->pw_name);
		if (!s->user)
			return log_error_errno(-ENOMEM, "Out of memory.");
		s->uid = geteuid();
		s->gid = getegid();
		s->switch_user = false;
		return 0;
	}

	r = getpwnam_r(name, &pw, buf, sizeof(buf), &pwp);
	if (r != 0)
		return log_error_errno(-r, "Cannot look up user '%s': %m", name);
	if (!pwp)
		return log_error_errno(
			-ENOENT,
			"user '%s' does not exist: create it with 'useradd --system --no-create-home --shell /usr/sbin/nologin --groups kvm %s' or set [vm] user",
			name, name);
	if (pw.pw_uid == 0)
		return log_error_errno(-EPERM,
				       "%s: [vm] user = %s is root; QEMU must run unprivileged.",
				       s->l.c->path, name);
	if (getgrouplist(name, pw.pw_gid, s->groups, &n) < 0)
		return log_error_errno(-E2BIG, "User '%s' is in more than %d groups.", name,
				       MAX_GROUPS);
	s->n_groups = (size_t)n;
	s->user = strdup(name);
	if (!s->user)
		return log_error_errno(-ENOMEM, "Out of memory.");
	s->uid = pw.pw_uid;
	s->gid = pw.pw_gid;
	s->switch_user = true;
	return 0;
}

void start_child_opts(const struct start *s, struct spawn_opts *o)
{
	*o = (struct spawn_opts)SPAWN_OPTS_INIT;
	o->user_name = s->user;
	/* Unprivileged (a user unit) there is nothing to drop, and no right to touch the bounding
	 * set. */
	o->drop_caps = s->switch_user;
	if (s->switch_user) {
		o->uid = s->uid;
		o->gid = s->gid;
		o->groups = s->groups;
		o->n_groups = s->n_groups;
	}
}

/*
 * accel = auto chose KVM: how long after cont a KVM internal error still
 * restarts the VM under TCG. OVMF's SEC and PEI phases, where a KVM that
 * cannot run firmware fails, are over within a second under KVM.
 */
#define KVM_FALLBACK_S 10

/* A line for systemd (Type=notify); not being under systemd is fine. */
void start_notify(const char *msg)
{
	int r = notify_send(msg);

	if (r < 0)
		log_debug_errno(r, "Failed to notify systemd (%s): %m", msg);
}

static int start_supervise(struct start *s, const struct cli *cl, struct vm_dirs *d,
			   const struct spawn_opts *qemu_o, const struct spawn_opts *swtpm_o,
			   const char *qemu_cgroup, struct supervise_result *result)
{
	/*
	 * Hugepage RAM from the pool the pages were reserved in, faulted in by
	 * the plan's threads on its CPUs.
	 */
	struct guest_ram_spec ram = {
		.size = s->l.c->memory_bytes,
		.page_size = s->plan.hugepage_size,
		.node = s->prep.hugepages.page_size ? s->prep.hugepages.node : s->l.c->memory_node,
		.cpus = s->plan.prealloc_cpus,
		.n_cpus = s->plan.n_prealloc_cpus,
		.threads = MAX(s->plan.prealloc_threads, 1u),
	};
	char msg[128];

	snprintf(msg, sizeof(msg), "STATUS=Starting QEMU (%s)",
		 s->plan.accel == ACCEL_KVM ? "KVM" : "TCG");
	start_notify(msg);
	log_info("Starting VM '%s' (%u vCPUs, %s, %s).", s->l.c->name, s->l.c->vcpus,
		 s->plan.accel == ACCEL_KVM ? "KVM" : "TCG",
		 s->l.qemu.version_line ? s->l.qemu.version_line : "QEMU");
	return supervise_run(&(struct supervise_params){
		.name = s->l.c->name,
		.root = &s->l.root,
		.dirs = d,
		.qemu = qemu_o,
		.qemu_fds = s->disk_fds,
		.n_qemu_fds = s->n_disk_fds,
		.ram = s->plan.hugepage_size ? &ram : NULL,
		.swtpm = swtpm_o,
		.vcpu_pin = s->plan.vcpu_pin,
		.n_vcpus = s->l.c->vcpus,
		.housekeeping = s->plan.housekeeping,
		.n_housekeeping = s->plan.n_housekeeping,
		.stop_timeout_s = cl->timeout_s,
		.run_for_s = cl->run_for_s,
		.hostdevs = s->hostdevs,
		.n_hostdevs = s->plan.n_hostdevs,
		.on_running = start_on_running,
		.userdata = s,
		.qemu_cgroup = qemu_cgroup,
		.kvm_fallback_s = s->l.c->accel == ACCEL_AUTO && s->plan.accel == ACCEL_KVM
					  ? KVM_FALLBACK_S
					  : 0,
		.result = result,
		.may_restart = s->may_restart,
		/* Stop hooks, and single-gpu's systemctl start after the VM, run programs. */
		.keep_exec = hooks_any(s->l.c, HOOK_STOP) ||
			     (s->l.c->single_gpu &&
			      (!s->l.c->single_gpu_stop || s->l.c->single_gpu_stop[0])),
		.t0_usec = cl->t0_usec,
	});
}

/*
 * KVM stopped the guest with an internal error right after the start
 * (accel = auto): that outweighs the probe, so plan again with it known,
 * which gives TCG. The host stays prepared: the accelerator changes
 * neither the devices, the memory nor the CPUs, and the hugepages were not
 * handed over yet (on_running waits for the fallback window). Only the
 * firmware must stay the same, as its NVRAM copy exists already.
 */
static int start_replan_tcg(struct start *s, struct vm_dirs *d)
{
	_cleanup_free_ char *fw_code = NULL, *why = NULL;
	int r;

	log_notice("accel = auto: starting VM '%s' again under TCG (expect it to be slow).",
		   s->l.c->name);
	fw_code = s->plan.fw_code ? strdup(s->plan.fw_code) : NULL;
	if (s->plan.fw_code && !fw_code)
		return log_error_errno(-ENOMEM, "Out of memory.");
	s->l.facts.kvm.qemu_failed = true;
	plan_done(&s->plan);
	strv_done(&s->argv);
	r = start_build_plan(s);
	if (r < 0)
		return r;
	if (s->plan.accel != ACCEL_TCG)
		return log_error_errno(-EINVAL, "Planning again did not give TCG; not retrying.");
	if (!streq_ptr(fw_code, s->plan.fw_code))
		return log_error_errno(
			-EINVAL,
			"Under TCG the VM would boot another firmware ('%s', not '%s') than the NVRAM copy was made for; not retrying. Set accel = tcg.",
			strna(s->plan.fw_code), strna(fw_code));
	r = vm_dirs_bind_sockets(d, s->uid, s->gid, &why);
	if (r < 0)
		return log_error_errno(r, "%s", strna(why));
	return 0;
}

/* Whether one of the stop signals in mask (blocked) is pending; it stays pending. */
bool start_stop_pending(const sigset_t *mask)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return false;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(mask, sig) == 1 && sigismember(&pending, sig) == 1)
			return true;
	return false;
}

/*
 * A run a restart policy starts again: after a crash, one that lasted this
 * long counts as a success, so the crashes "in a row" start over.
 */
#define RESTART_RESET_USEC (10ULL * 60 * 1000000)
/* Between a crash and the next start: 2 s, 4 s, 6 s... (the host settles, GPUs reset). */
#define RESTART_DELAY_MS 2000

/*
 * Waits ms for one of the stop signals in mask (blocked); true when one
 * came: it is left pending for the supervisor... which is not running, so
 * the caller ends instead.
 */
static bool start_wait_stop(const sigset_t *mask, int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	siginfo_t si;

	return sigtimedwait(mask, &si, &ts) > 0;
}

/*
 * The VM until it ends for good: the restart under TCG (accel = auto), then
 * [vm] on-poweroff and on-crash. The host stays prepared between runs;
 * each run gets new sockets. Returns gamevm start's exit status.
 */
static int start_run(struct start *s, const struct cli *cl, struct vm_dirs *d,
		     struct spawn_opts *qemu_o, const struct spawn_opts *swtpm_o,
		     const char *qemu_cgroup, const sigset_t *stop_mask)
{
	const struct vm_config *c = s->l.c;
	unsigned crashes = 0;
	int r;

	for (;;) {
		struct supervise_result res = {};
		_cleanup_free_ char *why = NULL;
		char msg[160];

		qemu_o->argv = s->argv.v;
		r = start_supervise(s, cl, d, qemu_o, swtpm_o, qemu_cgroup, &res);
		if (r == SUPERVISE_RETRY_TCG) {
			r = start_replan_tcg(s, d);
			if (r < 0)
				return SUPERVISE_EXIT_FAILURE;
			continue; /* the TCG plan has no fallback window: no second retry */
		}
		log_debug("Run ended: status %d, poweroff %d, stop %d, ran %d.", r,
			  res.guest_poweroff, res.stop_requested, res.ran);
		if (res.stop_requested)
			return r;

		if (r == SUPERVISE_EXIT_OK && res.guest_poweroff) {
			if (c->on_poweroff == ON_POWEROFF_HOST_POWEROFF)
				s->poweroff_host = true;
			if (c->on_poweroff != ON_POWEROFF_RESTART)
				return r;
			crashes = 0;
			log_notice(
				"The guest powered off; starting VM '%s' again (on-poweroff = restart).",
				c->name);
			start_notify("STATUS=Starting again after the guest powered off");
		} else if (r != SUPERVISE_EXIT_OK && c->on_crash == ON_CRASH_RESTART) {
			if (res.ran_usec >= RESTART_RESET_USEC)
				crashes = 0;
			if (++crashes >= c->restart_limit) {
				log_error(
					"VM '%s' failed %u time%s in a row: not starting it again (restart-limit = %u). The host is put back and stays usable; the errors above say what failed.",
					c->name, crashes, crashes == 1 ? "" : "s",
					c->restart_limit);
				snprintf(msg, sizeof(msg),
					 "STATUS=Gave up after %u failed starts in a row", crashes);
				start_notify(msg);
				return r;
			}
			log_warning(
				"VM '%s' ended with an error; starting it again in %d s (on-crash = restart, failure %u of %u in a row).",
				c->name, RESTART_DELAY_MS * (int)crashes / 1000, crashes,
				c->restart_limit);
			snprintf(msg, sizeof(msg), "STATUS=Restarting after a failure (%u of %u)",
				 crashes, c->restart_limit);
			start_notify(msg);
			if (start_wait_stop(stop_mask, RESTART_DELAY_MS * (int)crashes)) {
				log_info("Stop requested while waiting to restart VM '%s'.",
					 c->name);
				return SUPERVISE_EXIT_OK;
			}
		} else {
			return r;
		}
		r = vm_dirs_bind_sockets(d, s->uid, s->gid, &why);
		if (r < 0)
			return log_error_errno(r, "%s", strna(why)), SUPERVISE_EXIT_FAILURE;
	}
}

/*
 * The plan's housekeeping CPUs as a CPU set, for the children to start on:
 * what they create later inherits it (spawn.h).
 */
static int start_housekeeping_cpus(struct start *s)
{
	unsigned max = 0;

	if (s->plan.n_housekeeping == 0)
		return 0;
	for (size_t i = 0; i < s->plan.n_housekeeping; i++)
		max = MAX(max, s->plan.housekeeping[i]);
	s->hk_cpus = CPU_ALLOC(max + 1);
	if (!s->hk_cpus)
		return -ENOMEM;
	s->hk_cpus_size = CPU_ALLOC_SIZE(max + 1);
	CPU_ZERO_S(s->hk_cpus_size, s->hk_cpus);
	for (size_t i = 0; i < s->plan.n_housekeeping; i++)
		CPU_SET_S(s->plan.housekeeping[i], s->hk_cpus_size, s->hk_cpus);
	return 0;
}

int verb_start(const struct cli *cl)
{
	_cleanup_(start_done) struct start s = { .l = VM_LOAD_NULL,
						 .inhibitor = CHILD_NULL,
						 .inhibitor_fd = -1 };
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_(strv_done) struct strv swtpm_argv = { 0 };
	_cleanup_free_ char *why = NULL, *swtpm_bin = NULL, *tpm_dir = NULL, *qemu_cgroup = NULL;
	struct spawn_opts qemu_o, swtpm_o;
	sigset_t mask;
	int r;

	/* The supervisor logs for a person watching or for the journal: give the time. */
	log_set_timestamps(true);

	r = start_plan(cl, &s);
	if (r < 0)
		return r;
	r = start_resolve_user(&s);
	if (r < 0)
		return r;
	s.may_restart =
		s.l.c->on_crash == ON_CRASH_RESTART || s.l.c->on_poweroff == ON_POWEROFF_RESTART;

	/*
	 * From here on a stop request must not kill gamevm half-way (a TPM
	 * being manufactured, the host being prepared, then the journal).
	 */
	r = start_lock_vm(&s, &d, VM_STATE_STARTING, &mask);
	if (r < 0)
		return r;
	testhook_point("locked");
	if (d.stale_qmp || d.stale_swtpm || d.stale_status)
		log_notice(
			"Removed files of an earlier run of VM '%s' that did not end cleanly (%s%s%s) from %s.",
			s.l.c->name, d.stale_qmp ? "qmp.sock " : "",
			d.stale_swtpm ? "swtpm.sock " : "", d.stale_status ? "status.json" : "",
			d.run_path);

	r = start_replay_stale(&s, &d);
	if (r < 0)
		return r;
	/* Not root: the host is 'gamevm prepare''s to change (cmd-prepare.c); see it is ready. */
	if (!s.switch_user) {
		r = start_verify_prepared(&s);
		if (r < 0)
			return r;
	}
	/* Before anything is made for the VM: a file QEMU could not open ends it here. */
	r = start_check_qemu_paths(&s);
	if (r < 0)
		return r;
	r = start_prepare_state(&s, &d);
	if (r < 0)
		return r;
	testhook_point("state");
	r = start_hostdevs(&s);
	if (r < 0)
		return r;
	r = start_open_disks(&s);
	if (r < 0)
		return r;

	start_child_opts(&s, &qemu_o);
	qemu_o.argv = s.argv.v;
	r = start_audio_env(&s, &d, &qemu_o);
	if (r < 0)
		return r;
	r = start_housekeeping_cpus(&s);
	if (r < 0)
		return log_error_errno(r, "Out of memory.");
	qemu_o.cpus = s.hk_cpus;
	qemu_o.cpus_size = s.hk_cpus_size;
	if (s.l.c->memory_lock || s.plan.n_hostdevs > 0)
		qemu_o.rlimit_memlock = s.l.c->memory_bytes + MEMLOCK_SLACK;
	r = start_check_memlock(&s, qemu_o.rlimit_memlock);
	if (r < 0)
		return r;

	if (s.l.c->tpm != TPM_NONE) {
		struct swtpm_socket_opts so;

		r = start_find_binary(&s, "swtpm", &swtpm_bin);
		if (r < 0)
			return r;
		if (asprintf(&tpm_dir, "%s/%s", d.state_path, TPM_STATE_SUBDIR) < 0) {
			tpm_dir = NULL;
			return log_error_errno(-ENOMEM, "Out of memory.");
		}
		so = (struct swtpm_socket_opts){
			.binary = swtpm_bin, .state_dir = tpm_dir, .ctrl_fd = 3, .log_fd = 4
		};
		r = swtpm_socket_argv(&so, &swtpm_argv);
		if (r < 0)
			return log_error_errno(r, "Failed to build the swtpm command line: %m");
		start_child_opts(&s, &swtpm_o);
		swtpm_o.argv = swtpm_argv.v;
		swtpm_o.cpus = s.hk_cpus;
		swtpm_o.cpus_size = s.hk_cpus_size;
	}

	/* A stop asked for while the state was prepared: before the first host change. */
	if (start_stop_pending(&mask)) {
		log_info("Stop requested while VM '%s' was starting: not starting it.",
			 s.l.c->name);
		return SUPERVISE_EXIT_OK;
	}
	if (s.switch_user) {
		start_notify("STATUS=Preparing the host");
		r = start_prepare_host(&s, &d);
		if (r < 0)
			return r;
	}
	testhook_point("prepared");

	/* tuning/cpuset.c made QEMU a cgroup of its own when it held the slices. */
	r = tuning_qemu_cgroup_path(s.l.c->name, &qemu_cgroup);
	if (r < 0)
		return log_error_errno(r, "Out of memory.");
	if (s.l.root.sys_fd < 0 || file_exists_at(s.l.root.sys_fd, qemu_cgroup) <= 0) {
		free(qemu_cgroup);
		qemu_cgroup = NULL;
	}

	start_inhibit_sleep(&s);
	/* [hook] when = start: the host is ready; e.g. the monitor switches to the VM's GPU. */
	r = hooks_run(s.l.c, HOOK_START);
	if (r < 0)
		log_error("A required start hook failed: not starting VM '%s'.", s.l.c->name);
	else
		r = start_run(&s, cl, &d, &qemu_o, s.l.c->tpm != TPM_NONE ? &swtpm_o : NULL,
			      qemu_cgroup, &mask);
	if (r < 0)
		r = SUPERVISE_EXIT_FAILURE;
	testhook_point("exited");
	if (start_restore_host(&s) < 0 && r == SUPERVISE_EXIT_OK)
		r = SUPERVISE_EXIT_FAILURE;
	/* The start hooks ran: the stop hooks undo them (the monitor back to the host). */
	(void)hooks_run(s.l.c, HOOK_STOP);
	if (r == SUPERVISE_EXIT_OK && s.poweroff_host)
		start_poweroff_host(&s);
	return r;
}
