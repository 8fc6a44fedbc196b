/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"
#include "fileio.h"
#include "log.h"
#include "loop.h"
#include "macro.h"
#include "notify.h"
#include "pin.h"
#include "plan.h"
#include "qmp.h"
#include "supervise-internal.h"
#include "testhook.h"

/* ---- small helpers ------------------------------------------------------------------- */

/* Strings from QEMU may carry anything the guest put there; keep the log clean. */
const char *sv_escape(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	if (!s)
		return "(null)";
	for (; *s && n + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
	}
	buf[n] = 0;
	return buf;
}

void sv_status_write(struct sv *sv)
{
	int r = vm_status_write(sv->p->dirs->run_fd, &sv->st);

	if (r < 0)
		log_warning_errno(r, "Failed to write %s/%s: %m", sv->p->dirs->run_path,
				  VM_STATUS_FILE);
}

void sv_set_state(struct sv *sv, enum vm_state s)
{
	if (sv->st.state == s)
		return;
	sv->st.state = s;
	sv_status_write(sv);
}

void sv_notify(const char *msg)
{
	int r = notify_send(msg);

	if (r < 0)
		log_warning_errno(r, "Failed to notify systemd (%s): %m", msg);
}

void sv_fail(struct sv *sv)
{
	sv->failed = true;
}

int sv_fd_close(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The lines QEMU wrote to qemu.log during this run, to explain its exit. */
void sv_log_qemu_tail(struct sv *sv, int level)
{
	char buf[QEMU_LOG_TAIL_BYTES + 1];
	_cleanup_close_ int fd = -1;
	struct stat stt;
	off_t from;
	ssize_t n;
	char *p, *lines[QEMU_LOG_TAIL_LINES];
	size_t k = 0;

	fd = openat(sv->p->dirs->run_fd, VM_QEMU_LOG, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &stt) < 0)
		return;
	from = MAX(sv->qemu_log_start, stt.st_size - (off_t)QEMU_LOG_TAIL_BYTES);
	if (from >= stt.st_size)
		return;
	n = pread(fd, buf, (size_t)(stt.st_size - from), from);
	if (n <= 0)
		return;
	buf[n] = 0;
	/* Keep the last lines; a partial first line (cut by the byte bound) is dropped. */
	p = buf;
	if (from > sv->qemu_log_start) {
		p = strchr(buf, '\n');
		p = p ? p + 1 : buf + n;
	}
	for (char *save = NULL, *l = strtok_r(p, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		lines[k++ % QEMU_LOG_TAIL_LINES] = l;
	if (k == 0)
		return;
	log_full_errno(level, 0, "Last lines of %s/%s:", sv->p->dirs->run_path, VM_QEMU_LOG);
	for (size_t i = k > QEMU_LOG_TAIL_LINES ? k - QEMU_LOG_TAIL_LINES : 0; i < k; i++) {
		char esc[1024];

		log_full_errno(level, 0, "  qemu: %s",
			       sv_escape(lines[i % QEMU_LOG_TAIL_LINES], esc, sizeof(esc)));
	}
}

/* ---- stop sequence ------------------------------------------------------------------- */

static void on_step_timer(struct loop_source *s, void *userdata);

int sv_arm(struct sv *sv, struct loop_source **slot, uint64_t usec, loop_timer_cb cb)
{
	int r;

	*slot = loop_source_free(*slot);
	r = loop_add_timer(sv->loop, usec, false, cb, sv, slot);
	if (r < 0)
		log_error_errno(r, "Failed to arm a timer: %m");
	return r;
}

static void on_quit_reply(struct qmp_client *c, uint64_t id, int error, json_object *ret,
			  const struct qmp_error *err, void *userdata)
{
	/* QEMU often closes the socket before or right after answering. */
	if (error < 0 && error != -ECONNRESET && error != -EPIPE)
		sv_log_reply_error("quit", error, err);
}

static void on_powerdown_reply(struct qmp_client *c, uint64_t id, int error, json_object *ret,
			       const struct qmp_error *err, void *userdata)
{
	struct sv *sv = userdata;

	if (error < 0 && !sv->qemu_gone && sv->step == STOP_POWERDOWN) {
		sv_log_reply_error("system_powerdown", error, err);
		sv_step_quit(sv);
	}
}

static void step_kill(struct sv *sv)
{
	int r;

	sv->step = STOP_KILL;
	sv->step_timer = loop_source_free(sv->step_timer);
	if (sv->qemu_gone)
		return;
	log_warning("QEMU did not exit within %d s: killing it (SIGKILL).", SUPERVISE_KILL_AFTER_S);
	r = child_signal(&sv->qemu, SIGKILL);
	if (r < 0 && r != -ESRCH)
		log_error_errno(r, "Failed to kill QEMU (pid %d): %m", (int)sv->qemu.pid);
}

void sv_step_quit(struct sv *sv)
{
	int r;

	sv->step = STOP_QUIT;
	sv->repeat_timer = loop_source_free(sv->repeat_timer);
	if (sv->qemu_gone)
		return;
	r = sv_qmp_send(sv, "quit", on_quit_reply);
	testhook_point("quit");
	if (r < 0) {
		log_info("Asking QEMU to exit with SIGTERM (no QMP connection).");
		r = child_signal(&sv->qemu, SIGTERM);
		if (r < 0 && r != -ESRCH)
			log_error_errno(r, "Failed to signal QEMU (pid %d): %m", (int)sv->qemu.pid);
	} else {
		log_info("Sending quit to QEMU.");
	}
	if (sv_arm(sv, &sv->step_timer, SUPERVISE_KILL_AFTER_S * USEC_PER_SEC, on_step_timer) < 0)
		step_kill(sv);
}

static void on_repeat_timer(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;

	sv->repeat_timer = loop_source_free(sv->repeat_timer);
	if (sv->step != STOP_POWERDOWN || sv->qemu_gone || sv->guest_shutdown)
		return;
	/* Windows may miss a press that comes while it is busy (e.g. at the lock screen). */
	log_info("Pressing the ACPI power button again (system_powerdown).");
	if (sv_qmp_send(sv, "system_powerdown", on_powerdown_reply) < 0)
		sv_step_quit(sv);
}

static void on_step_timer(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;

	sv->step_timer = loop_source_free(sv->step_timer);
	if (sv->qemu_gone)
		return;
	if (sv->step == STOP_POWERDOWN) {
		log_info("The guest did not power off within %u s.", sv->stop_timeout_s);
		sv_step_quit(sv);
	} else if (sv->step == STOP_QUIT) {
		step_kill(sv);
	}
}

/*
 * Whether the end of this QEMU is the end of the service, for systemd's
 * STOPPING=1: not when QEMU is only replaced, under TCG or by a restart
 * policy (systemd would wait for gamevm to exit and never see it run
 * again); a stop that was asked for is always one.
 */
static bool sv_service_stopping(const struct sv *sv)
{
	if (sv->stop_requested)
		return true;
	return !sv->retry_tcg && !sv->p->may_restart;
}

/*
 * graceful: ACPI power button first (the guest was running); else straight
 * to quit (it never ran, or it cannot be trusted to run on: swtpm is gone).
 */
void sv_stop_begin(struct sv *sv, bool graceful, unsigned timeout_s, const char *why)
{
	if (sv->qemu_gone)
		return;
	if (sv->phase == PHASE_STOPPING) {
		if (sv->step == STOP_POWERDOWN) {
			log_info("Stop requested again (%s): not waiting for the guest any longer.",
				 why);
			sv_step_quit(sv);
		} else {
			log_info("Stop requested again (%s): already stopping.", why);
		}
		return;
	}
	if (sv->phase == PHASE_STARTING)
		graceful = false; /* the guest never ran: nothing to shut down */
	sv->phase = PHASE_STOPPING;
	sv->stop_timeout_s = timeout_s ? timeout_s : sv->stop_timeout_s;
	sv->run_for = loop_source_free(sv->run_for);
	sv->startup_timer = loop_source_free(sv->startup_timer);
	sv->kvm_window = loop_source_free(sv->kvm_window);
	sv_set_state(sv, VM_STATE_STOPPING);
	if (sv_service_stopping(sv)) {
		char msg[160];

		snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=Stopping (%s)", why);
		sv_notify(msg);
	}

	if (!graceful || sv->qmp_broken || sv->guest_shutdown) {
		log_info("Stopping VM '%s' (%s).", sv->p->name, why);
		sv_step_quit(sv);
		return;
	}
	log_info(
		"Stopping VM '%s' (%s): pressing the ACPI power button (system_powerdown), waiting up to %u s.",
		sv->p->name, why, sv->stop_timeout_s);
	sv->step = STOP_POWERDOWN;
	if (sv_qmp_send(sv, "system_powerdown", on_powerdown_reply) < 0) {
		sv_step_quit(sv);
		return;
	}
	testhook_point("powerdown");
	if (sv->stop_timeout_s > SUPERVISE_POWERDOWN_REPEAT_S)
		(void)sv_arm(sv, &sv->repeat_timer, SUPERVISE_POWERDOWN_REPEAT_S * USEC_PER_SEC,
			     on_repeat_timer);
	if (sv_arm(sv, &sv->step_timer, sv->stop_timeout_s * USEC_PER_SEC, on_step_timer) < 0)
		sv_step_quit(sv);
}

/* ---- children ------------------------------------------------------------------------ */

static void maybe_finish(struct sv *sv)
{
	if (sv->qemu_gone && sv->swtpm_gone)
		loop_exit(sv->loop, sv->exit_code);
}

static void on_swtpm_kill_timer(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;

	sv->swtpm_kill_timer = loop_source_free(sv->swtpm_kill_timer);
	if (sv->swtpm_gone)
		return;
	log_warning("swtpm did not exit within %d s: killing it (SIGKILL).",
		    SUPERVISE_KILL_AFTER_S);
	(void)child_signal(&sv->swtpm, SIGKILL);
}

/*
 * accel = auto chose KVM, and QEMU died before the guest ran for long:
 * whether KVM is what failed, by what QEMU wrote ("KVM internal error",
 * "kvm_buf_set_msrs: Assertion...", "failed to initialize kvm").
 */
static bool qemu_log_blames_kvm(struct sv *sv)
{
	char buf[QEMU_LOG_TAIL_BYTES + 1];
	_cleanup_close_ int fd = -1;
	struct stat st;
	off_t from;
	ssize_t n;

	fd = openat(sv->p->dirs->run_fd, VM_QEMU_LOG, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	from = MAX(sv->qemu_log_start, st.st_size - (off_t)QEMU_LOG_TAIL_BYTES);
	if (from >= st.st_size)
		return false;
	n = pread(fd, buf, (size_t)(st.st_size - from), from);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strcasestr(buf, "kvm") || strcasestr(buf, "hypervisor");
}

static int decide_exit(struct sv *sv, int status, bool kvm_window)
{
	char buf[128];

	if (sv->retry_tcg && !sv->failed && !sv->stop_requested) {
		log_info("QEMU %s; the VM will start again under TCG.",
			 child_status_to_string(status, buf, sizeof(buf)));
		return SUPERVISE_RETRY_TCG;
	}
	if (kvm_window && !sv->stop_requested && !sv->guest_shutdown &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0) && qemu_log_blames_kvm(sv)) {
		log_warning("QEMU %s under KVM before the guest ran.",
			    child_status_to_string(status, buf, sizeof(buf)));
		sv_log_qemu_tail(sv, LOG_WARNING);
		log_notice(
			"KVM on this host cannot run this VM, and accel = auto: the VM will start again under TCG.");
		return SUPERVISE_RETRY_TCG;
	}

	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && sv->step == STOP_KILL) {
		/*
		 * SIGKILL is the stop sequence's last step: for the guest, quit
		 * already pulled the plug. A requested stop that needed it still
		 * completed (QEMU 7.2 under TCG hangs in its own shutdown now and
		 * then); a failure that led here stays a failure.
		 */
		if (sv->stop_requested && !sv->failed) {
			log_warning("QEMU hung after quit and was killed; VM '%s' stopped.",
				    sv->p->name);
			return SUPERVISE_EXIT_OK;
		}
		log_error("QEMU had to be killed: the stop was not orderly.");
		return SUPERVISE_EXIT_FAILURE;
	}
	if (WIFSIGNALED(status)) {
		log_error("QEMU was killed by signal %d (%s).", WTERMSIG(status),
			  strsignal(WTERMSIG(status)));
		sv_log_qemu_tail(sv, LOG_ERR);
		return 128 + WTERMSIG(status);
	}
	if (!WIFEXITED(status)) {
		log_error("QEMU %s.", child_status_to_string(status, buf, sizeof(buf)));
		return SUPERVISE_EXIT_FAILURE;
	}
	if (WEXITSTATUS(status) != 0) {
		log_error("QEMU exited with status %d.", WEXITSTATUS(status));
		sv_log_qemu_tail(sv, LOG_ERR);
		return SUPERVISE_EXIT_FAILURE;
	}
	if (sv->failed) {
		log_error("VM '%s' stopped after the error above.", sv->p->name);
		return SUPERVISE_EXIT_FAILURE;
	}
	if (sv->phase == PHASE_STARTING) {
		log_error("QEMU exited before the guest started.");
		sv_log_qemu_tail(sv, LOG_ERR);
		return SUPERVISE_EXIT_FAILURE;
	}
	if (sv->stop_requested)
		log_info("VM '%s' stopped.", sv->p->name);
	else
		log_info("VM '%s' shut down.", sv->p->name);
	return SUPERVISE_EXIT_OK;
}

static void on_qemu_exit(struct loop_source *s, int error, void *userdata)
{
	struct sv *sv = userdata;
	/* Before the guest ran, or within the fallback window after cont. */
	bool kvm_window = sv->p->kvm_fallback_s > 0 &&
			  (sv->phase == PHASE_STARTING || sv->kvm_window || sv->retry_tcg);
	int status = 0, r;

	if (error < 0)
		log_warning_errno(error, "Failed to watch QEMU's pidfd: %m; waiting for it.");
	r = child_reap(&sv->qemu, &status);
	sv->qemu_gone = true;
	sv->qemu_src = loop_source_free(sv->qemu_src);
	sv->repeat_timer = loop_source_free(sv->repeat_timer);
	sv->step_timer = loop_source_free(sv->step_timer);
	sv->run_for = loop_source_free(sv->run_for);
	sv->startup_timer = loop_source_free(sv->startup_timer);
	sv->kvm_window = loop_source_free(sv->kvm_window);
	if (r < 0) {
		log_error_errno(r, "Failed to reap QEMU: %m");
		sv->exit_code = SUPERVISE_EXIT_FAILURE;
	} else {
		sv->exit_code = decide_exit(sv, status, kvm_window);
	}
	if (sv->phase != PHASE_STOPPING) {
		sv->phase = PHASE_STOPPING;
		if (sv_service_stopping(sv))
			sv_notify("STOPPING=1");
	}
	sv_set_state(sv, VM_STATE_STOPPING);

	if (!sv->swtpm_gone) {
		/* Usually it is already going (--terminate: QEMU closed its socket). */
		log_info("Stopping swtpm (pid %d).", (int)sv->swtpm.pid);
		(void)child_signal(&sv->swtpm, SIGTERM);
		if (sv_arm(sv, &sv->swtpm_kill_timer, SUPERVISE_KILL_AFTER_S * USEC_PER_SEC,
			   on_swtpm_kill_timer) < 0)
			(void)child_signal(&sv->swtpm, SIGKILL);
	}
	maybe_finish(sv);
}

static void on_swtpm_grace(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;
	char buf[128];

	sv->swtpm_grace = loop_source_free(sv->swtpm_grace);
	if (sv->qemu_gone || sv->guest_shutdown || sv->step >= STOP_QUIT)
		return;
	/* QEMU still runs: swtpm died on its own. */
	if (sv->swtpm_reap_error < 0)
		log_error_errno(sv->swtpm_reap_error, "Failed to reap swtpm: %m");
	else
		log_error("swtpm (pid %d) %s.", (int)sv->st.swtpm_pid,
			  child_status_to_string(sv->swtpm_status, buf, sizeof(buf)));
	log_error("The VM cannot run without its TPM: stopping it.");
	sv_fail(sv);
	sv_stop_begin(sv, false, 0, "swtpm died");
	if (sv->step == STOP_POWERDOWN) /* already stopping gracefully: no more waiting */
		sv_step_quit(sv);
}

static void on_swtpm_exit(struct loop_source *s, int error, void *userdata)
{
	struct sv *sv = userdata;
	char buf[128];
	int status = 0, r;

	r = child_reap(&sv->swtpm, &status);
	sv->swtpm_gone = true;
	sv->swtpm_src = loop_source_free(sv->swtpm_src);
	sv->swtpm_kill_timer = loop_source_free(sv->swtpm_kill_timer);

	if (sv->qemu_gone || sv->guest_shutdown || sv->step >= STOP_QUIT) {
		/* Expected: QEMU closed the TPM socket on its way out, or we stopped it. */
		if (r == 0)
			log_debug("swtpm %s.", child_status_to_string(status, buf, sizeof(buf)));
		maybe_finish(sv);
		return;
	}
	/*
	 * QEMU may be exiting already (swtpm leaves when QEMU closes its
	 * socket): give its pidfd a moment to say so before calling this an
	 * error.
	 */
	sv->swtpm_reap_error = r;
	sv->swtpm_status = status;
	if (sv_arm(sv, &sv->swtpm_grace, EXIT_GRACE_USEC, on_swtpm_grace) < 0)
		on_swtpm_grace(NULL, sv);
}

/* ---- signals and the tick ------------------------------------------------------------ */

static void on_signal(struct loop_source *s, const struct signalfd_siginfo *si, int error,
		      void *userdata)
{
	struct sv *sv = userdata;
	unsigned timeout = 0;
	const char *abbrev;
	char why[128];

	if (error < 0) {
		log_error_errno(error, "Failed to read the signalfd: %m");
		sv->sig_src = loop_source_free(sv->sig_src);
		return;
	}
	if (si->ssi_signo == SIGCHLD)
		return; /* children are watched through their pidfds */

	/* gamevm stop: sigqueue() with the timeout in seconds (0 = the default). */
	if (si->ssi_code == SI_QUEUE && si->ssi_int > 0)
		timeout = (unsigned)si->ssi_int;
	abbrev = sigabbrev_np((int)si->ssi_signo);
	if (si->ssi_code == SI_QUEUE)
		snprintf(why, sizeof(why), "SIG%s from gamevm stop, pid %u", strna(abbrev),
			 si->ssi_pid);
	else
		snprintf(why, sizeof(why), "SIG%s from pid %u", strna(abbrev), si->ssi_pid);
	sv->stop_requested = true;
	sv_stop_begin(sv, true, timeout, why);
}

/*
 * The tick does the work of the first minute after cont: query-pci until
 * every passed-through device shows, and a sweep of QEMU's threads (those
 * it starts inherit the housekeeping CPUs it was started on, spawn.h; the
 * sweep is the check). Then it goes: a running VM costs gamevm no wakeup
 * at all; QMP deadlines have their own timer (supervise-qmp.c).
 */
static void on_tick(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;

	if (sv->phase != PHASE_RUNNING || sv->qemu_gone)
		return;
	sv_pci_query(sv);
	if (sv->pin.n_housekeeping > 0 && ++sv->ticks % SWEEP_EVERY_TICKS == 0) {
		_cleanup_(pin_report_done) struct pin_report rep = { 0 };
		int r = pin_sweep_new_threads(sv->p->root, &sv->pin, &rep);

		if (r < 0)
			log_debug_errno(r, "Failed to sweep QEMU's threads: %m");
		for (size_t i = 0; r >= 0 && i < rep.n; i++) {
			_cleanup_free_ char *line = NULL;

			if (pin_entry_format(&rep.v[i], &line) < 0)
				continue;
			if (pin_entry_ok(&rep.v[i]))
				log_info("Moved new %s", line);
			else if (rep.v[i].error != -ESRCH)
				log_warning("Could not move new %s", line);
		}
	}
	if (sv->ticks >= TICK_WINDOW && !sv->pci_pending && !sv->pci_inflight) {
		sv->tick = loop_source_free(sv->tick);
		/* What planning and start-up used (the PCI ids database...) goes back. */
		malloc_trim(0);
		log_debug("Start-up work done: no more periodic wakeups.");
	}
}

/* ---- setup and teardown -------------------------------------------------------------- */

/*
 * Connects to the QMP socket gamevm itself bound (and still listens on):
 * the connection waits in the backlog until QEMU accepts it.
 */
static int qmp_socket_connect(const struct vm_dirs *d, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	int n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", d->run_path, VM_QMP_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		/* Too long for sun_path: reach it through our run_dir fd, as vm-dirs bound it. */
		snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", d->run_fd,
			 VM_QMP_SOCKET);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NEG_ERRNO();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return NEG_ERRNO();
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int spawn_swtpm(struct sv *sv)
{
	struct vm_dirs *d = sv->p->dirs;
	struct spawn_fd fds[] = {
		{ .src_fd = d->swtpm_fd, .target_fd = 3 },
		{ .src_fd = d->swtpm_log_fd, .target_fd = 4 },
	};
	struct spawn_opts o = *sv->p->swtpm;
	_cleanup_free_ char *why = NULL;
	int r;

	o.fds = fds;
	o.n_fds = ELEMENTSOF(fds);
	o.stdout_fd = o.stderr_fd = d->swtpm_log_fd;
	r = spawn_child(&o, "swtpm", &sv->swtpm, &why);
	if (r < 0)
		return log_error_errno(r, "Failed to start swtpm: %s: %m", strna(why));
	/* swtpm owns the listening socket now; if it dies, QEMU's connect fails instead of hanging.
	 */
	d->swtpm_fd = sv_fd_close(d->swtpm_fd);
	sv->st.swtpm_pid = sv->swtpm.pid;
	log_info("Started swtpm (pid %d), TPM state in %s/tpm.", (int)sv->swtpm.pid, d->state_path);
	testhook_point("swtpm");
	r = loop_add_pidfd(sv->loop, sv->swtpm.pidfd, on_swtpm_exit, sv, &sv->swtpm_src);
	if (r < 0)
		return log_error_errno(r, "Failed to watch swtpm's pidfd: %m");
	return 0;
}

/*
 * The VM's hugepage RAM, faulted in by gamevm's threads on the plan's CPUs
 * (the hugepages are reserved already): new for each start, so a restarted
 * guest finds zeroed memory like after a power cycle.
 */
static int sv_create_ram(struct sv *sv, int *ret_fd)
{
	const struct guest_ram_spec *ram = sv->p->ram;
	uint64_t t = qmp_now_usec();
	double secs;
	int r;

	r = guest_ram_create(ram, ret_fd);
	if (r == -ENOMEM)
		return log_error_errno(
			r,
			"Failed to back the VM's %" PRIu64 " MiB of RAM with %" PRIu64
			" kB huge pages%s: too few free pages (someone took them since they were reserved?); see 'grep Huge /proc/meminfo'.",
			ram->size >> 20, ram->page_size >> 10,
			ram->node >= 0 ? " of its NUMA node" : "");
	if (r < 0)
		return log_error_errno(r,
				       "Failed to back the VM's %" PRIu64
				       " MiB of RAM with %" PRIu64 " kB huge pages: %m",
				       ram->size >> 20, ram->page_size >> 10);
	sv->ram_usec = qmp_now_usec() - t;
	secs = (double)sv->ram_usec / 1e6;
	log_info("Backed %" PRIu64 " MiB of RAM with %" PRIu64
		 " kB huge pages in %.2f s (%u thread%s, %.1f GiB/s).",
		 ram->size >> 20, ram->page_size >> 10, secs, ram->threads,
		 ram->threads == 1 ? "" : "s",
		 secs > 0 ? (double)ram->size / (1 << 30) / secs : 0.0);
	return 0;
}

static int spawn_qemu(struct sv *sv)
{
	struct vm_dirs *d = sv->p->dirs;
	struct spawn_fd fds[SPAWN_FDS_MAX];
	struct spawn_opts o = *sv->p->qemu;
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int ram_fd = -1;
	off_t off;
	int r;

	if (sv->p->n_qemu_fds + 2 > SPAWN_FDS_MAX)
		return log_error_errno(-E2BIG, "Too many files for QEMU (%zu).", sv->p->n_qemu_fds);
	fds[0] = (struct spawn_fd){ .src_fd = d->qmp_fd, .target_fd = PLAN_QMP_FD };
	for (size_t i = 0; i < sv->p->n_qemu_fds; i++)
		fds[i + 1] = sv->p->qemu_fds[i];
	o.fds = fds;
	o.n_fds = sv->p->n_qemu_fds + 1;
	if (sv->p->ram) {
		r = sv_create_ram(sv, &ram_fd);
		if (r < 0)
			return r;
		fds[o.n_fds++] = (struct spawn_fd){ .src_fd = ram_fd, .target_fd = PLAN_RAM_FD };
	}
	o.stdout_fd = o.stderr_fd = d->qemu_log_fd;
	off = lseek(d->qemu_log_fd, 0, SEEK_END);
	sv->qemu_log_start = off > 0 ? off : 0;
	sv->t_spawn_usec = qmp_now_usec();
	r = spawn_child(&o, "qemu", &sv->qemu, &why);
	/* QEMU has its own copy: the pages go back to the pool when it exits. */
	ram_fd = sv_fd_close(ram_fd);
	if (r < 0)
		return log_error_errno(r, "Failed to start QEMU: %s: %m", strna(why));
	sv->st.qemu_pid = sv->qemu.pid;
	log_info("Started QEMU (pid %d), paused until its threads are pinned; output in %s/%s.",
		 (int)sv->qemu.pid, d->run_path, VM_QEMU_LOG);
	if (sv->p->qemu_cgroup) {
		_cleanup_free_ char *procs = NULL;
		char pid[32], where[512];

		/*
		 * Before pinning: the slices gamevm runs in are held to the
		 * housekeeping CPUs, where QEMU's vCPU threads cannot go. A
		 * process moves with all its threads.
		 */
		if (asprintf(&procs, "%s/cgroup.procs", sv->p->qemu_cgroup) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
		snprintf(pid, sizeof(pid), "%d", (int)sv->qemu.pid);
		r = write_string_at(sv->p->root->sys_fd, procs, pid);
		if (r < 0)
			return log_error_errno(r, "Failed to move QEMU into the cgroup %s: %m",
					       host_root_path(sv->p->root, "sys",
							      sv->p->qemu_cgroup, where,
							      sizeof(where)));
	}
	sv_status_write(sv);
	testhook_point("qemu");
	r = loop_add_pidfd(sv->loop, sv->qemu.pidfd, on_qemu_exit, sv, &sv->qemu_src);
	if (r < 0)
		return log_error_errno(r, "Failed to watch QEMU's pidfd: %m");

	r = qmp_socket_connect(d, &sv->qmp_fd);
	if (r < 0)
		return log_error_errno(r, "Failed to connect to %s/%s: %m", d->run_path,
				       VM_QMP_SOCKET);
	/* From here only QEMU listens: if it dies before accepting, our connection is reset. */
	d->qmp_fd = sv_fd_close(d->qmp_fd);

	r = qmp_client_new(-1, &sv->qmp);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the QMP client: %m");
	qmp_set_timeout(sv->qmp, STARTUP_TIMEOUT_S * 1000);
	qmp_set_event_callback(sv->qmp, sv_on_qmp_event, sv);
	r = loop_add_stream(sv->loop, sv->qmp_fd, sv_on_qmp_stream, sv, &sv->qmp_src);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the QMP socket: %m");
	/* Queued behind qmp_capabilities, which the client sends after the greeting. */
	r = sv_qmp_send(sv, "query-cpus-fast", sv_on_cpus);
	if (r >= 0)
		r = sv_qmp_send(sv, "query-iothreads", sv_on_iothreads);
	if (r < 0)
		return log_error_errno(r, "Failed to queue the QMP queries: %m");
	return 0;
}

static void teardown(struct sv *sv)
{
	struct vm_dirs *d = sv->p->dirs;

	/* Cancels every source and waits for the kernel to let go of their buffers. */
	loop_free(sv->loop);
	sv->loop = NULL;
	if (sv->qmp)
		qmp_client_free(sv->qmp);
	sv->qmp_fd = sv_fd_close(sv->qmp_fd);

	if (sv->qemu.pid > 0) {
		log_warning("Killing QEMU (pid %d).", (int)sv->qemu.pid);
		child_kill_and_reap(&sv->qemu);
	}
	if (sv->swtpm.pid > 0) {
		(void)child_signal(&sv->swtpm, SIGTERM);
		if (child_wait(&sv->swtpm, SUPERVISE_KILL_AFTER_S * 1000, NULL) < 0) {
			log_warning("Killing swtpm (pid %d).", (int)sv->swtpm.pid);
			child_kill_and_reap(&sv->swtpm);
		}
	}
	/*
	 * The listening fds were handed to the children and closed here, so
	 * remove the socket paths ourselves; we still hold the lock.
	 */
	if (d->lock_fd >= 0 && d->run_fd >= 0) {
		(void)unlinkat(d->run_fd, VM_QMP_SOCKET, 0);
		(void)unlinkat(d->run_fd, VM_SWTPM_SOCKET, 0);
	}
	sv->sfd = sv_fd_close(sv->sfd);
	qmp_cpus_free(sv->cpus, sv->n_cpus);
	qmp_iothreads_free(sv->iothreads, sv->n_iothreads);
	free(sv->pin_vcpus);
	free(sv->pin_iothreads);
	vm_status_done(&sv->st);
}

/*
 * The children run (they do not inherit the filter); QMP from a QEMU the
 * guest may control is parsed from here on: deny what gamevm no longer
 * needs (confine.h). Failing to is not fatal: the VM runs unconfined. A
 * second run (the restart under TCG) is confined already.
 */
static void sv_confine(struct sv *sv)
{
	size_t n = 0;
	int r;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2) {
		r = confine_self(&n);
		if (r < 0)
			log_warning_errno(
				r, "Could not confine gamevm with seccomp, going on without: %m");
		else
			log_info("Confined gamevm with seccomp (%zu syscalls denied).", n);
	}
	/* Under the KVM fallback window QEMU may have to be started again: exec later. */
	if (sv->p->kvm_fallback_s == 0)
		sv_confine_exec(sv);
}

void sv_confine_exec(struct sv *sv)
{
	int r;

	/* A restart policy starts QEMU again from this process. */
	if (sv->exec_denied || sv->p->may_restart || sv->p->keep_exec)
		return;
	r = confine_no_exec();
	if (r < 0) {
		log_warning_errno(r, "Could not deny execve to gamevm with seccomp: %m");
		return;
	}
	sv->exec_denied = true;
	log_info("gamevm starts no more programs from here on (execve denied).");
}

/* The passed-through devices in status.json; their guest address comes with query-pci. */
static int sv_status_hostdevs(struct sv *sv)
{
	if (sv->p->n_hostdevs == 0)
		return 0;
	sv->st.hostdevs = calloc(sv->p->n_hostdevs, sizeof(*sv->st.hostdevs));
	if (!sv->st.hostdevs)
		return -ENOMEM;
	for (size_t i = 0; i < sv->p->n_hostdevs; i++) {
		sv->st.hostdevs[i].host = strdup(sv->p->hostdevs[i].host);
		if (!sv->st.hostdevs[i].host)
			return -ENOMEM;
		sv->st.n_hostdevs = i + 1;
	}
	return 0;
}

static void sv_result(struct sv *sv)
{
	if (!sv->p->result)
		return;
	*sv->p->result = (struct supervise_result){
		.guest_poweroff = sv->guest_poweroff && !sv->stop_requested,
		.stop_requested = sv->stop_requested,
		.ran = sv->running_since_usec > 0,
		.ran_usec =
			sv->running_since_usec > 0 ? qmp_now_usec() - sv->running_since_usec : 0,
	};
}

int supervise_run(const struct supervise_params *p)
{
	struct sv sv = {
		.p = p,
		.sfd = -1,
		.qemu = CHILD_NULL,
		.swtpm = CHILD_NULL,
		.qmp_fd = -1,
		.exit_code = -1,
		.stop_timeout_s =
			p->stop_timeout_s ? p->stop_timeout_s : SUPERVISE_STOP_TIMEOUT_DEFAULT_S,
		.swtpm_gone = !p->swtpm,
	};
	sigset_t mask;
	int r;

	/*
	 * Before the first child: every signal we act on is read from the
	 * signalfd, none is delivered. They stay blocked until gamevm exits,
	 * so one arriving during teardown cannot kill it half-way.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		log_error_errno(NEG_ERRNO(), "Failed to block signals: %m");
		return SUPERVISE_EXIT_FAILURE;
	}
	sv.sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sv.sfd < 0) {
		log_error_errno(NEG_ERRNO(), "Failed to create a signalfd: %m");
		return SUPERVISE_EXIT_FAILURE;
	}

	sv.st.name = strdup(p->name);
	sv.st.state = VM_STATE_STARTING;
	sv.st.gamevm_pid = getpid();
	sv.st.start_time = (uint64_t)time(NULL);
	if (!sv.st.name || sv_status_hostdevs(&sv) < 0) {
		log_error_errno(-ENOMEM, "Out of memory.");
		goto fail;
	}
	sv_status_write(&sv);

	r = loop_new(&sv.loop);
	if (r < 0) {
		log_error_errno(r, "Failed to set up io_uring: %m");
		goto fail;
	}
	r = loop_add_signalfd(sv.loop, sv.sfd, on_signal, &sv, &sv.sig_src);
	if (r < 0) {
		log_error_errno(r, "Failed to watch the signalfd: %m");
		goto fail;
	}
	if (p->swtpm && spawn_swtpm(&sv) < 0)
		goto fail;
	if (spawn_qemu(&sv) < 0)
		goto fail;
	r = loop_add_timer(sv.loop, TICK_USEC, true, on_tick, &sv, &sv.tick);
	if (r >= 0)
		r = loop_add_timer(sv.loop, STARTUP_TIMEOUT_S * USEC_PER_SEC, false,
				   sv_on_startup_timeout, &sv, &sv.startup_timer);
	if (r < 0) {
		log_error_errno(r, "Failed to arm the timers: %m");
		goto fail;
	}
	sv_confine(&sv);

	r = loop_run(sv.loop);
	if (r < 0) {
		log_error_errno(r, "The event loop failed: %m");
		goto fail;
	}
	sv_result(&sv);
	teardown(&sv);
	return r;

fail:
	sv_result(&sv);
	teardown(&sv);
	return SUPERVISE_EXIT_FAILURE;
}
