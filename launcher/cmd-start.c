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
#include "spawn.h"
#include "strv.h"
#include "supervise.h"
#include "tuning.h"
#include "swtpm.h"
#include "tpm.h"
#include "vm-dirs.h"
#include "testhook.h"
#include "vm-load.h"

#define MAX_GROUPS 64
/* Locked guest RAM plus room for QEMU's own pinned allocations (VFIO DMA maps, rings). */
#define MEMLOCK_SLACK (1ULL << 30)

struct start {
	struct vm_load l; /* config, host facts, QEMU, firmware, directories */
	struct plan plan;
	struct strv argv;

	/* the QEMU user */
	char *user;
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	size_t n_groups;
	bool switch_user;

	/* host preparation */
	struct journal *journal;
	struct prepare_state prep;
	bool prepared; /* prepare_host() ran: teardown owes the host a replay */
	struct supervise_hostdev *hostdevs;
	char (*hostdev_addr)[PCI_ADDR_STRLEN];
	char (*hostdev_id)[32];

	/* The disk images, opened here and handed to QEMU (plan.h, PLAN_DISK_FD). */
	struct spawn_fd *disk_fds;
	size_t n_disk_fds;

	/* The sleep inhibitor: systemd-inhibit holding the lock while its stdin is open. */
	struct child inhibitor;
	int inhibitor_fd;

	bool may_restart;   /* on-crash or on-poweroff = restart */
	bool poweroff_host; /* the guest powered off and on-poweroff = host-poweroff */
};

static void start_done(struct start *s)
{
	vm_load_done(&s->l);
	plan_done(&s->plan);
	strv_done(&s->argv);
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
	if (s->inhibitor.pid > 0 && child_wait(&s->inhibitor, 2000, NULL) < 0)
		child_kill_and_reap(&s->inhibitor);
}

/* Library diagnostics (prepare.h): errors and warnings as such, what was done as info. */
static void diags_flush(struct plan_diags *d)
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
static int start_plan(const struct cli *cl, struct start *s)
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
static int start_resolve_user(struct start *s)
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

static int find_binary(struct start *s, const char *name, char **ret)
{
	int r = spawn_find_binary(s->l.root.root_fd, name, ret);

	if (r < 0)
		return log_error_errno(r, "Cannot find '%s' (install swtpm and swtpm-tools): %m",
				       name);
	return 0;
}

static void child_opts(const struct start *s, struct spawn_opts *o)
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

/* NVRAM copy and TPM state: made once, never overwritten. */
static int start_prepare_state(struct start *s, struct vm_dirs *d)
{
	int r;

	if (s->plan.nvram_path && s->plan.fw_vars_template) {
		const char *base = strrchr(s->plan.nvram_path, '/');

		base = base ? base + 1 : s->plan.nvram_path;
		r = nvram_copy_once(s->l.root.root_fd, s->plan.fw_vars_template, d->state_fd, base,
				    s->uid, s->gid);
		if (r < 0)
			return log_error_errno(
				r, "Failed to copy the UEFI variable store '%s' to '%s': %m",
				s->plan.fw_vars_template, s->plan.nvram_path);
		if (r > 0)
			log_info("Copied the UEFI variable store %s to %s.",
				 s->plan.fw_vars_template, s->plan.nvram_path);
	}

	if (s->l.c->tpm != TPM_NONE) {
		_cleanup_free_ char *setup = NULL, *swtpm = NULL, *localca = NULL, *why = NULL;
		struct tpm_setup t;

		r = find_binary(s, "swtpm_setup", &setup);
		if (r >= 0)
			r = find_binary(s, "swtpm", &swtpm);
		if (r >= 0)
			r = find_binary(s, "swtpm_localca", &localca);
		if (r < 0)
			return r;
		t = (struct tpm_setup){
			.swtpm_setup_binary = setup,
			.swtpm_binary = swtpm,
			.localca_binary = localca,
			.localca_options =
				file_exists_at(s->l.root.root_fd, "etc/swtpm-localca.options") > 0
					? "/etc/swtpm-localca.options"
					: NULL,
			.vm_name = s->l.c->name,
			.uuid = s->plan.uuid,
			.user_name = s->user,
			.uid = s->switch_user ? s->uid : (uid_t)-1,
			.gid = s->switch_user ? s->gid : (gid_t)-1,
			.groups = s->switch_user ? s->groups : NULL,
			.n_groups = s->switch_user ? s->n_groups : 0,
			.log_fd = d->swtpm_log_fd,
		};
		r = tpm_manufacture(d->state_fd, d->state_path, &t, &why);
		if (r < 0)
			return log_error_errno(r, "Failed to manufacture the TPM: %s: %m",
					       strna(why));
		if (r > 0)
			log_info(
				"Manufactured TPM 2.0 state in %s/%s (EK and platform certificates, sha256 PCRs).",
				d->state_path, TPM_STATE_SUBDIR);
	}
	return 0;
}

/*
 * A journal left by a run that did not finish (gamevm killed): the lock we
 * hold proves nobody else is restoring the host, so replay it before
 * touching anything, as `gamevm cleanup` would.
 */
static int start_replay_stale(struct start *s, struct vm_dirs *d)
{
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags diags = {};
	size_t pending;
	int r;

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
	diags_flush(&diags);
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
static int start_check_memlock(const struct start *s, uint64_t want)
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

/*
 * Opens one disk image for QEMU. Not following a FIFO or a socket into a
 * blocking open: O_NONBLOCK, then only regular files and block devices.
 */
static int open_disk_image(const char *path, bool rw, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int fl;

	fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return NEG_ERRNO();
	if (fstat(fd, &st) < 0)
		return NEG_ERRNO();
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EBADFD;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return NEG_ERRNO();
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/*
 * The disk images, opened by gamevm and passed to QEMU as fds, so that the
 * QEMU user needs no access to them (and cannot reach any other image).
 * Done before the host is touched: a missing or unopenable image ends the
 * start here.
 */
static int start_open_disks(struct start *s)
{
	const struct vm_config *c = s->l.c;

	s->disk_fds = calloc(2 * c->n_disks + 1, sizeof(*s->disk_fds));
	if (!s->disk_fds)
		return log_error_errno(-ENOMEM, "Out of memory.");
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct vm_disk *k = &c->disks[i];
		bool ro = k->readonly || k->media == DISK_MEDIA_CDROM;

		for (int pass = 0; pass < (ro ? 1 : 2); pass++) {
			bool rw = pass == 1;
			int fd = -1, r = open_disk_image(k->path, rw, &fd);

			if (r == -EBADFD)
				return log_error_errno(
					r,
					"%s:%u: [disk %s] path: '%s' is neither a file nor a block device.",
					c->path, k->line, k->name, k->path);
			if (r < 0)
				return log_error_errno(
					r, "%s:%u: [disk %s] path: cannot open '%s' %s: %m%s",
					c->path, k->line, k->name, k->path,
					rw ? "read-write" : "read-only",
					r == -EROFS || (rw && r == -EACCES)
						? " (set readonly = yes for an image that must not change)"
						: "");
			s->disk_fds[s->n_disk_fds++] =
				(struct spawn_fd){ .src_fd = fd,
						   .target_fd = PLAN_DISK_FD(i, !rw) };
		}
	}
	return 0;
}

/* The plan's host devices as the supervisor checks them in query-pci. */
static int start_hostdevs(struct start *s)
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
static int start_prepare_host(struct start *s, struct vm_dirs *d)
{
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
	r = journal_create(d->run_fd, s->l.c->name, &s->journal);
	if (r == -EEXIST)
		return log_error_errno(r, "%s/%s appeared while we hold the lock.", d->run_path,
				       JOURNAL_FILE);
	if (r < 0)
		return log_error_errno(r, "Failed to create the undo journal %s/%s: %m",
				       d->run_path, JOURNAL_FILE);
	s->prepared = true;
	r = prepare_host(&pp, s->journal, &s->prep, &diags);
	diags_flush(&diags);
	if (r >= 0)
		return 0;

	if (r != -EINVAL)
		log_error_errno(r, "Failed to prepare the host: %m");
	q = prepare_teardown(s->journal, &s->l.root, &s->prep.vfio, &diags);
	diags_flush(&diags);
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
static void start_on_running(void *userdata)
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
	diags_flush(&diags);
	if (r < 0)
		log_warning_errno(
			r,
			"Could not hand the hugepages over to QEMU (%m): if gamevm dies, 'gamevm cleanup %s' gives them back.",
			s->l.c->name);
}

/* After the VM, on every way it ended: device health, then the journal backwards. */
static int start_restore_host(struct start *s)
{
	_cleanup_(plan_diags_done) struct plan_diags diags = {};
	size_t pending;
	int r;

	if (!s->prepared)
		return 0;
	s->prepared = false;
	(void)prepare_after_vm(&s->l.root, &s->prep, &diags);
	diags_flush(&diags);
	pending = journal_pending(s->journal);
	if (pending > 0)
		log_info("Restoring the host (%zu change%s).", pending, pending == 1 ? "" : "s");
	r = prepare_teardown(s->journal, &s->l.root, &s->prep.vfio, &diags);
	diags_flush(&diags);
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
 * accel = auto chose KVM: how long after cont a KVM internal error still
 * restarts the VM under TCG. OVMF's SEC and PEI phases, where a KVM that
 * cannot run firmware fails, are over within a second under KVM.
 */
#define KVM_FALLBACK_S 10

/* A line for systemd (Type=notify); not being under systemd is fine. */
static void start_notify(const char *msg)
{
	int r = notify_send(msg);

	if (r < 0)
		log_debug_errno(r, "Failed to notify systemd (%s): %m", msg);
}

static int start_supervise(struct start *s, const struct cli *cl, struct vm_dirs *d,
			   const struct spawn_opts *qemu_o, const struct spawn_opts *swtpm_o,
			   const char *qemu_cgroup, struct supervise_result *result)
{
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
static bool start_stop_pending(const sigset_t *mask)
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
 * on-poweroff = host-poweroff, the host put back: what SIGRTMIN+4 to PID 1
 * asks of systemd (poweroff.target); no program to start, which gamevm
 * cannot any more.
 */
static void start_poweroff_host(const struct start *s)
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
static void start_inhibit_sleep(struct start *s)
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
	if (asprintf(&reason, "--why=VM %s runs with a passed-through device", c->name) < 0 ||
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

int verb_start(const struct cli *cl)
{
	_cleanup_(start_done) struct start s = { .l = VM_LOAD_NULL,
						 .inhibitor = CHILD_NULL,
						 .inhibitor_fd = -1 };
	_cleanup_(vm_dirs_close) struct vm_dirs d = VM_DIRS_NULL;
	_cleanup_(strv_done) struct strv swtpm_argv = { 0 };
	_cleanup_free_ char *why = NULL, *swtpm_bin = NULL, *tpm_dir = NULL, *qemu_cgroup = NULL;
	struct spawn_opts qemu_o, swtpm_o;
	struct vm_paths paths;
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

	paths = (struct vm_paths){ .run_dir = s.l.run_dir, .state_dir = s.l.state_dir };
	r = vm_dirs_open(&paths, s.l.c->name, s.uid, s.gid, &d, &why);
	if (r == -EBUSY)
		return log_error_errno(r, "%s", strna(why));
	if (r < 0)
		return log_error_errno(
			r, "%s: %m (the run and state directories: --run-dir, --state-dir)",
			strna(why));
	/*
	 * From here on a stop request must not kill gamevm half-way (a TPM
	 * being manufactured, the host being prepared, then the journal): the
	 * signals wait, blocked, and are looked at between the steps and then
	 * read from the supervisor's signalfd, which stops the VM.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(NEG_ERRNO(), "Failed to block signals: %m");

	/*
	 * Known from now on: 'gamevm stop' and 'status' find the pid even while
	 * the host is prepared and the TPM manufactured, before the supervisor
	 * writes the full status.
	 */
	r = vm_status_write(d.run_fd, &(struct vm_status){ .name = (char *)s.l.c->name,
							   .state = VM_STATE_STARTING,
							   .gamevm_pid = getpid(),
							   .start_time = (uint64_t)time(NULL) });
	if (r < 0)
		return log_error_errno(r, "Failed to write %s/%s: %m", d.run_path, VM_STATUS_FILE);
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

	child_opts(&s, &qemu_o);
	qemu_o.argv = s.argv.v;
	if (s.l.c->memory_lock || s.plan.n_hostdevs > 0)
		qemu_o.rlimit_memlock = s.l.c->memory_bytes + MEMLOCK_SLACK;
	r = start_check_memlock(&s, qemu_o.rlimit_memlock);
	if (r < 0)
		return r;

	if (s.l.c->tpm != TPM_NONE) {
		struct swtpm_socket_opts so;

		r = find_binary(&s, "swtpm", &swtpm_bin);
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
		child_opts(&s, &swtpm_o);
		swtpm_o.argv = swtpm_argv.v;
	}

	/* A stop asked for while the state was prepared: before the first host change. */
	if (start_stop_pending(&mask)) {
		log_info("Stop requested while VM '%s' was starting: not starting it.",
			 s.l.c->name);
		return SUPERVISE_EXIT_OK;
	}
	start_notify("STATUS=Preparing the host");
	r = start_prepare_host(&s, &d);
	if (r < 0)
		return r;
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
	r = start_run(&s, cl, &d, &qemu_o, s.l.c->tpm != TPM_NONE ? &swtpm_o : NULL, qemu_cgroup,
		      &mask);
	testhook_point("exited");
	if (start_restore_host(&s) < 0 && r == SUPERVISE_EXIT_OK)
		r = SUPERVISE_EXIT_FAILURE;
	if (r == SUPERVISE_EXIT_OK && s.poweroff_host)
		start_poweroff_host(&s);
	return r;
}
