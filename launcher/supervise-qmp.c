/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The supervisor's QMP side: the client driven by the loop (bytes in,
 * bytes out, timeouts from the tick), QMP events logged with their
 * meaning, and the startup: query-cpus-fast and query-iothreads, pinning,
 * then cont.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "supervise-internal.h"
#include "testhook.h"

/* ---- QMP plumbing -------------------------------------------------------------------- */

static void on_qmp_timer(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;
	int r;

	sv->qmp_timer = loop_source_free(sv->qmp_timer);
	sv->qmp_timer_usec = 0;
	if (!sv->qmp || sv->qmp_broken)
		return;
	r = qmp_handle_timeouts(sv->qmp, qmp_now_usec());
	if (r >= 0)
		r = qmp_client_error(sv->qmp);
	if (r < 0) {
		sv_on_qmp_broken(sv, r);
		return;
	}
	sv_qmp_flush(sv);
}

/* One timer for the earliest deadline of the commands (and greeting) that wait. */
static void sv_qmp_arm(struct sv *sv)
{
	uint64_t deadline = 0, now;

	if (!sv->qmp || sv->qmp_broken || qmp_next_deadline(sv->qmp, &deadline) < 0) {
		sv->qmp_timer = loop_source_free(sv->qmp_timer);
		sv->qmp_timer_usec = 0;
		return;
	}
	if (sv->qmp_timer && sv->qmp_timer_usec == deadline)
		return;
	sv->qmp_timer = loop_source_free(sv->qmp_timer);
	now = qmp_now_usec();
	if (loop_add_timer(sv->loop, deadline > now ? deadline - now : 1, false, on_qmp_timer, sv,
			   &sv->qmp_timer) < 0) {
		sv->qmp_timer_usec = 0;
		return;
	}
	sv->qmp_timer_usec = deadline;
}

/* Hands what the QMP client wants to send to the loop (which copies it). */
void sv_qmp_flush(struct sv *sv)
{
	const void *ptr;
	size_t len;
	int r;

	if (!sv->qmp || !sv->qmp_src || sv->qmp_broken)
		return;
	if (qmp_pending_output(sv->qmp, &ptr, &len) == 0 && len > 0) {
		r = loop_stream_write(sv->qmp_src, ptr, len);
		if (r < 0) {
			qmp_client_fail(sv->qmp, r);
			return;
		}
		(void)qmp_output_consumed(sv->qmp, len);
	}
	sv_qmp_arm(sv);
}

int sv_qmp_send(struct sv *sv, const char *cmd, qmp_reply_cb cb)
{
	int r;

	if (!sv->qmp || sv->qmp_broken)
		return -ENOTCONN;
	r = qmp_send_command_timeout(sv->qmp, cmd, NULL, QMP_CMD_TIMEOUT_MS, cb, sv, NULL);
	if (r < 0)
		return r;
	sv_qmp_flush(sv);
	return 0;
}

static void on_qmp_grace(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;

	sv->qmp_grace = loop_source_free(sv->qmp_grace);
	if (sv->qemu_gone || sv->guest_shutdown || sv->step >= STOP_QUIT)
		return;
	if (sv->qmp_error == -ECONNRESET)
		log_warning("QMP connection to QEMU closed, but QEMU (pid %d) still runs.",
			    (int)sv->qemu.pid);
	else
		log_warning_errno(sv->qmp_error, "QMP connection to QEMU failed: %m");
	if (sv->phase == PHASE_STARTING) {
		/* Without QMP the guest can neither be pinned nor started. */
		sv_fail(sv);
		sv_stop_begin(sv, false, 0, "QMP is gone before the guest started");
	} else if (sv->step == STOP_POWERDOWN) {
		sv_step_quit(sv);
	}
}

void sv_on_qmp_broken(struct sv *sv, int error)
{
	if (sv->qmp_broken)
		return;
	sv->qmp_broken = true;
	sv->qmp_error = error;
	sv->qmp_src = loop_source_free(sv->qmp_src);
	sv->qmp_timer = loop_source_free(sv->qmp_timer);
	log_debug_errno(error, "QMP connection closed: %m");
	/* Usually QEMU is exiting: its pidfd fires a moment after the socket closes. */
	if (sv_arm(sv, &sv->qmp_grace, EXIT_GRACE_USEC, on_qmp_grace) < 0)
		on_qmp_grace(NULL, sv);
}

void sv_on_qmp_stream(struct loop_source *s, const void *buf, size_t n, int error, void *userdata)
{
	struct sv *sv = userdata;
	int r;

	if (!sv->t_qmp_usec && n > 0)
		sv->t_qmp_usec = qmp_now_usec(); /* QEMU's greeting: it is up */
	if (error < 0)
		r = error;
	else if (n == 0)
		r = qmp_feed_eof(sv->qmp);
	else
		r = qmp_feed(sv->qmp, buf, n);
	if (error < 0)
		qmp_client_fail(sv->qmp, error);
	if (r < 0) {
		sv_on_qmp_broken(sv, r);
		return;
	}
	sv_qmp_flush(sv);
}

static void log_shutdown(const struct qmp_event *e)
{
	static const char *const meaning[_QMP_SHUTDOWN_CAUSE_MAX] = {
		[QMP_SHUTDOWN_CAUSE_NONE] = "no reason given",
		[QMP_SHUTDOWN_CAUSE_HOST_ERROR] = "QEMU hit a host error",
		[QMP_SHUTDOWN_CAUSE_HOST_QMP_QUIT] = "QEMU was told to quit",
		[QMP_SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET] = "reset over QMP",
		[QMP_SHUTDOWN_CAUSE_HOST_SIGNAL] = "QEMU received a termination signal",
		[QMP_SHUTDOWN_CAUSE_HOST_UI] = "closed from QEMU's user interface",
		[QMP_SHUTDOWN_CAUSE_GUEST_SHUTDOWN] = "the guest powered off",
		[QMP_SHUTDOWN_CAUSE_GUEST_RESET] = "the guest reset itself",
		[QMP_SHUTDOWN_CAUSE_GUEST_PANIC] = "the guest panicked",
		[QMP_SHUTDOWN_CAUSE_SUBSYSTEM_RESET] = "a device reset the machine",
		[QMP_SHUTDOWN_CAUSE_SNAPSHOT_LOAD] = "a snapshot was loaded",
	};
	const char *m =
		e->reason >= 0 && e->reason < _QMP_SHUTDOWN_CAUSE_MAX ? meaning[e->reason] : NULL;
	char esc[128];

	if (e->type == QMP_EVENT_SHUTDOWN)
		log_info("QEMU event SHUTDOWN: %s (reason %s)", m ? m : "unknown reason",
			 sv_escape(e->reason_str ? e->reason_str : "none", esc, sizeof(esc)));
	else
		log_info("QEMU event RESET: the machine was reset: %s (reason %s)",
			 m ? m : "unknown reason",
			 sv_escape(e->reason_str ? e->reason_str : "none", esc, sizeof(esc)));
}

/*
 * A guest that resets again and again (a driver or the kernel failing at
 * boot, a broken NVRAM) would otherwise run forever with nobody told:
 * RESET_LOOP_COUNT resets in a row, each less than RESET_LOOP_GAP_S after
 * the one before, end the VM as a failure (on-crash decides what next).
 * Windows' own restarts (updates, setup) come minutes apart, or fewer.
 */
#define RESET_LOOP_COUNT 5
#define RESET_LOOP_GAP_S 120

static void sv_on_reset(struct sv *sv, const struct qmp_event *e)
{
	uint64_t now = qmp_now_usec();
	double secs;

	/* gamevm's own resets (none today) and a snapshot load are not the guest's doing. */
	if (e->reason == QMP_SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET ||
	    e->reason == QMP_SHUTDOWN_CAUSE_SNAPSHOT_LOAD || sv->phase != PHASE_RUNNING)
		return;
	sv->n_resets++;
	if (sv->quick_resets > 0 && now - sv->last_reset_usec < RESET_LOOP_GAP_S * 1000000ULL) {
		sv->quick_resets++;
	} else {
		sv->quick_resets = 1;
		sv->first_quick_reset_usec = now;
	}
	sv->last_reset_usec = now;
	if (sv->quick_resets < RESET_LOOP_COUNT)
		return;
	secs = (double)(now - sv->first_quick_reset_usec) / 1e6;
	log_error(
		"The guest reset itself %u times in %.0f s (one every %.1f s): a reset loop (something fails at boot: a driver, the kernel, the NVRAM). Stopping VM '%s'; its console and %s/%s say more.",
		sv->quick_resets, secs, secs / (sv->quick_resets - 1), sv->p->name,
		sv->p->dirs->run_path, VM_QEMU_LOG);
	sv_fail(sv);
	sv_stop_begin(sv, false, 0, "reset loop");
}

void sv_on_qmp_event(struct qmp_client *c, const struct qmp_event *e, void *userdata)
{
	struct sv *sv = userdata;
	char esc[128];

	switch (e->type) {
	case QMP_EVENT_SHUTDOWN:
		sv->guest_shutdown = true;
		sv->guest_poweroff = e->reason == QMP_SHUTDOWN_CAUSE_GUEST_SHUTDOWN;
		log_shutdown(e);
		if (sv->guest_poweroff && !sv->stop_requested)
			sv_notify("STATUS=The guest powered off");
		break;
	case QMP_EVENT_RESET:
		log_shutdown(e);
		sv_on_reset(sv, e);
		break;
	case QMP_EVENT_STOP:
		log_info("QEMU event STOP: the guest is paused.");
		if (sv->phase == PHASE_RUNNING) {
			sv_set_state(sv, VM_STATE_PAUSED);
			/* gamevm never pauses a running guest: ask QEMU why. */
			sv_status_query(sv);
		} else if (sv->phase == PHASE_STARTING && sv->cont_sent) {
			/* Stopped again before cont's reply came: asked once that is in. */
			sv->stopped_early = true;
		}
		break;
	case QMP_EVENT_RESUME:
		log_info("QEMU event RESUME: the guest is running.");
		if (sv->phase == PHASE_RUNNING)
			sv_set_state(sv, VM_STATE_RUNNING);
		break;
	case QMP_EVENT_POWERDOWN:
		log_info(
			"QEMU event POWERDOWN: the ACPI power button was pressed; the guest decides what to do.");
		break;
	case QMP_EVENT_GUEST_PANICKED:
		if (e->has_hyperv_crash)
			log_error(
				"QEMU event GUEST_PANICKED: Windows stopped with bug check 0x%llx (0x%llx, 0x%llx, 0x%llx, 0x%llx); action %s.",
				(unsigned long long)e->hyperv_crash[0],
				(unsigned long long)e->hyperv_crash[1],
				(unsigned long long)e->hyperv_crash[2],
				(unsigned long long)e->hyperv_crash[3],
				(unsigned long long)e->hyperv_crash[4],
				strna(qmp_panic_action_to_string(e->panic_action)));
		else
			log_error(
				"QEMU event GUEST_PANICKED: the guest kernel panicked; action %s.",
				strna(qmp_panic_action_to_string(e->panic_action)));
		break;
	case QMP_EVENT_WATCHDOG:
		log_warning(
			"QEMU event WATCHDOG: the guest's watchdog expired (the guest hung); action %s.",
			strna(qmp_watchdog_action_to_string(e->watchdog_action)));
		break;
	default:
		log_debug("QEMU event %s.", sv_escape(e->name, esc, sizeof(esc)));
		break;
	}
}

/* ---- a guest that stopped by itself -------------------------------------------------- */

/*
 * QEMU stops the guest on a KVM internal error (run state internal-error)
 * and prints the details, with the vCPU's registers, to its stderr: the
 * lines that say what failed go to the log too.
 */
static void log_kvm_error_lines(struct sv *sv, int level)
{
	static const char *const wanted[] = { "KVM internal error",
					      "emulation failure",
					      "KVM: entry failed",
					      "EIP=",
					      "RIP=",
					      "Code=" };
	char buf[QEMU_LOG_TAIL_BYTES + 1], esc[512];
	_cleanup_close_ int fd = -1;
	struct stat st;
	off_t from;
	ssize_t n;

	fd = openat(sv->p->dirs->run_fd, VM_QEMU_LOG, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	from = MAX(sv->qemu_log_start, st.st_size - (off_t)QEMU_LOG_TAIL_BYTES);
	n = pread(fd, buf, (size_t)(st.st_size - from), from);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		for (size_t i = 0; i < ELEMENTSOF(wanted); i++)
			if (strncmp(l, wanted[i], strlen(wanted[i])) == 0) {
				log_full_errno(level, 0, "  qemu: %s",
					       sv_escape(l, esc, sizeof(esc)));
				break;
			}
}

static void on_status(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		      const struct qmp_error *err, void *userdata)
{
	_cleanup_(qmp_status_done) struct qmp_status st = {};
	struct sv *sv = userdata;
	char esc[64];

	sv->status_inflight = false;
	if (error == 0)
		error = qmp_parse_status(ret, &st);
	if (sv->qemu_gone || sv->step != STOP_NONE || (error < 0 && qmp_client_error(c) < 0))
		return;
	if (error < 0) {
		sv_log_reply_error("query-status", error, err);
		return;
	}
	if (st.state != QMP_RUN_STATE_INTERNAL_ERROR) {
		log_info("The guest is paused (QEMU run state %s).",
			 sv_escape(st.status, esc, sizeof(esc)));
		return;
	}

	/* Evidence either way; an error only when nothing is going to make up for it. */
	log_full_errno(sv->kvm_window ? LOG_WARNING : LOG_ERR, 0,
		       "KVM could not run the guest: QEMU stopped it with a KVM internal error.");
	log_kvm_error_lines(sv, sv->kvm_window ? LOG_WARNING : LOG_ERR);
	if (sv->kvm_window) {
		log_notice(
			"This was within %u s of the start and accel = auto: stopping QEMU to start the VM again under TCG.",
			sv->p->kvm_fallback_s);
		sv->kvm_window = loop_source_free(sv->kvm_window);
		sv->retry_tcg = true;
		sv_stop_begin(sv, false, 0, "KVM internal error, retrying under TCG");
		return;
	}
	log_error(
		"A guest stopped by a KVM internal error cannot go on: stopping the VM. KVM on this host cannot run this guest; see 'gamevm check' for the KVM verdict, or set accel = tcg.");
	sv_fail(sv);
	sv_stop_begin(sv, false, 0, "KVM internal error");
}

void sv_status_query(struct sv *sv)
{
	int r;

	if (sv->status_inflight || sv->step != STOP_NONE)
		return;
	r = sv_qmp_send(sv, "query-status", on_status);
	if (r < 0) {
		log_warning_errno(r, "Failed to ask QEMU why the guest stopped: %m");
		return;
	}
	sv->status_inflight = true;
}

/* ---- startup: queries, pinning, cont ------------------------------------------------- */

void sv_log_reply_error(const char *cmd, int error, const struct qmp_error *err)
{
	char a[128], b[512];

	if (err)
		log_error("QMP %s failed: %s: %s", cmd, sv_escape(err->class, a, sizeof(a)),
			  sv_escape(err->desc, b, sizeof(b)));
	else
		log_error_errno(error, "QMP %s failed: %m", cmd);
}

static void on_cont(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		    const struct qmp_error *err, void *userdata);

static void qemu_version_record(struct sv *sv)
{
	int major, minor, micro;

	if (sv->st.qemu_version || qmp_version(sv->qmp, &major, &minor, &micro) < 0)
		return;
	if (asprintf(&sv->st.qemu_version, "%d.%d.%d", major, minor, micro) < 0)
		sv->st.qemu_version = NULL;
}

static int pin_and_record(struct sv *sv)
{
	_cleanup_(pin_report_done) struct pin_report rep = { 0 };
	int r;

	sv->pin_vcpus = calloc(MAX(sv->n_cpus, (size_t)1), sizeof(*sv->pin_vcpus));
	sv->pin_iothreads = calloc(MAX(sv->n_iothreads, (size_t)1), sizeof(*sv->pin_iothreads));
	sv->st.vcpus = calloc(MAX(sv->n_cpus, (size_t)1), sizeof(*sv->st.vcpus));
	sv->st.iothreads = calloc(MAX(sv->n_iothreads, (size_t)1), sizeof(*sv->st.iothreads));
	if (!sv->pin_vcpus || !sv->pin_iothreads || !sv->st.vcpus || !sv->st.iothreads)
		return log_error_errno(-ENOMEM, "Out of memory.");
	for (size_t i = 0; i < sv->n_cpus; i++) {
		const struct qmp_cpu *c = &sv->cpus[i];
		int host = -1;

		if (sv->p->vcpu_pin && (size_t)c->cpu_index < sv->p->n_vcpus)
			host = (int)sv->p->vcpu_pin[c->cpu_index];
		sv->pin_vcpus[i] =
			(struct pin_vcpu){ .index = (unsigned)c->cpu_index, .tid = c->thread_id };
		sv->st.vcpus[i] = (struct vm_status_vcpu){ .index = (unsigned)c->cpu_index,
							   .tid = c->thread_id,
							   .host_cpu = host };
	}
	sv->st.n_vcpus = sv->n_cpus;
	for (size_t i = 0; i < sv->n_iothreads; i++) {
		sv->pin_iothreads[i] = (struct pin_iothread){ .id = sv->iothreads[i].id,
							      .tid = sv->iothreads[i].thread_id };
		sv->st.iothreads[i].tid = sv->iothreads[i].thread_id;
		sv->st.iothreads[i].id = strdup(sv->iothreads[i].id);
		if (!sv->st.iothreads[i].id)
			return log_error_errno(-ENOMEM, "Out of memory.");
		sv->st.n_iothreads = i + 1;
	}
	sv->pin = (struct pin_target){
		.pid = sv->qemu.pid,
		.vcpus = sv->pin_vcpus,
		.n_vcpus = sv->n_cpus,
		.iothreads = sv->pin_iothreads,
		.n_iothreads = sv->n_iothreads,
		.vcpu_pin = sv->p->vcpu_pin,
		.n_vcpu_pin = sv->p->vcpu_pin ? sv->p->n_vcpus : 0,
		.housekeeping = sv->p->housekeeping,
		.n_housekeeping = sv->p->n_housekeeping,
	};

	if (sv->p->vcpu_pin && sv->n_cpus != sv->p->n_vcpus)
		return log_error_errno(-EPROTO, "QEMU reports %zu vCPUs, the plan has %zu.",
				       sv->n_cpus, sv->p->n_vcpus);

	r = pin_apply(sv->p->root, &sv->pin, &rep);
	if (r < 0)
		return log_error_errno(r, "Failed to list the threads of QEMU (pid %d): %m",
				       (int)sv->qemu.pid);
	if (!rep.configured) {
		log_info("No CPU pinning configured: the host scheduler places QEMU's threads.");
		for (size_t i = 0; i < sv->n_cpus; i++) {
			_cleanup_free_ char *now = NULL;

			(void)pin_read_cpus_allowed(sv->p->root, sv->qemu.pid,
						    sv->cpus[i].thread_id, &now);
			log_info("vCPU %d (tid %d) unpinned -> CPUs %s", sv->cpus[i].cpu_index,
				 (int)sv->cpus[i].thread_id, now ? now : "?");
		}
		return 0;
	}
	if (!sv->p->vcpu_pin)
		log_info(
			"No vCPU pinning configured: the vCPU threads stay where the scheduler puts them.");
	if (sv->p->n_housekeeping == 0)
		log_info("No housekeeping CPUs configured: QEMU's other threads stay unpinned.");
	for (size_t i = 0; i < rep.n; i++) {
		_cleanup_free_ char *line = NULL;

		if (pin_entry_format(&rep.v[i], &line) < 0)
			return log_error_errno(-ENOMEM, "Out of memory.");
		if (pin_entry_ok(&rep.v[i]))
			log_info("Pinned %s", line);
		else
			log_error("Could not pin %s", line);
	}
	if (pin_report_failed(&rep))
		return log_error_errno(
			-EIO,
			"The threads of QEMU are not where the plan puts them; not starting the guest.");
	return 0;
}

static void startup_maybe_continue(struct sv *sv)
{
	int r;

	if (!sv->have_cpus || !sv->have_iothreads || sv->phase != PHASE_STARTING ||
	    sv->step != STOP_NONE)
		return;
	sv->t_answers_usec = qmp_now_usec();
	qemu_version_record(sv);
	testhook_point("pin");
	r = pin_and_record(sv);
	sv_status_write(sv);
	if (r < 0) {
		sv_fail(sv);
		sv_stop_begin(sv, false, 0, "pinning failed");
		return;
	}
	testhook_point("pinned");
	sv->t_cont_usec = qmp_now_usec();
	r = sv_qmp_send(sv, "cont", on_cont);
	sv->cont_sent = r >= 0;
	if (r < 0) {
		log_error_errno(r, "Failed to send cont to QEMU: %m");
		sv_fail(sv);
		sv_stop_begin(sv, false, 0, "cont failed");
	}
}

/*
 * A failed startup command needs no handling of its own when we are
 * stopping anyway, or when the connection broke: sv_on_qmp_broken() then
 * decides, once QEMU's pidfd had a moment to say whether QEMU died.
 */
static bool startup_reply_moot(struct sv *sv, struct qmp_client *c)
{
	return sv->step != STOP_NONE || qmp_client_error(c) < 0;
}

void sv_on_cpus(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		const struct qmp_error *err, void *userdata)
{
	struct sv *sv = userdata;

	if (error == 0)
		error = qmp_parse_cpus_fast(ret, &sv->cpus, &sv->n_cpus);
	if (error < 0) {
		if (startup_reply_moot(sv, c))
			return;
		sv_log_reply_error("query-cpus-fast", error, err);
		sv_fail(sv);
		sv_stop_begin(sv, false, 0, "query-cpus-fast failed");
		return;
	}
	sv->have_cpus = true;
	startup_maybe_continue(sv);
}

void sv_on_iothreads(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		     const struct qmp_error *err, void *userdata)
{
	struct sv *sv = userdata;

	if (error == 0)
		error = qmp_parse_iothreads(ret, &sv->iothreads, &sv->n_iothreads);
	if (error < 0) {
		if (startup_reply_moot(sv, c))
			return;
		sv_log_reply_error("query-iothreads", error, err);
		sv_fail(sv);
		sv_stop_begin(sv, false, 0, "query-iothreads failed");
		return;
	}
	sv->have_iothreads = true;
	startup_maybe_continue(sv);
}

/* ---- query-pci: where the passed-through devices landed ------------------------------ */

/* Bridges nest; QEMU's own limit is far below this, a reply beyond it is not trusted. */
#define PCI_MAX_DEPTH	8
#define PCI_MAX_DEVICES 1024

struct pci_found {
	int bus, slot, function;
	int vendor, device;
	int parent_bus, parent_slot, parent_function; /* the bridge it sits behind, -1: none */
};

static int json_int_field(json_object *o, const char *key, int *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*ret = json_object_get_int(v);
	return 0;
}

/*
 * Looks for qdev_id in a PciDeviceInfo list, descending into bridges.
 * 1: found (*ret filled), 0: not there, -EBADMSG: malformed or too large.
 */
static int pci_find(json_object *devices, const char *qdev_id, const struct pci_found *parent,
		    unsigned depth, size_t *budget, struct pci_found *ret)
{
	size_t n;

	if (depth > PCI_MAX_DEPTH || !json_object_is_type(devices, json_type_array))
		return -EBADMSG;
	n = json_object_array_length(devices);
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(devices, i), *v, *id, *br, *sub;
		struct pci_found f = { .parent_bus = -1, .parent_slot = -1, .parent_function = -1 };
		int r;

		if (*budget == 0)
			return -EBADMSG;
		(*budget)--;
		if (!json_object_is_type(d, json_type_object) ||
		    json_int_field(d, "bus", &f.bus) < 0 ||
		    json_int_field(d, "slot", &f.slot) < 0 ||
		    json_int_field(d, "function", &f.function) < 0 ||
		    !json_object_object_get_ex(d, "id", &id) ||
		    json_int_field(id, "vendor", &f.vendor) < 0 ||
		    json_int_field(id, "device", &f.device) < 0)
			return -EBADMSG;
		if (parent) {
			f.parent_bus = parent->bus;
			f.parent_slot = parent->slot;
			f.parent_function = parent->function;
		}
		if (json_object_object_get_ex(d, "qdev_id", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    streq(json_object_get_string(v), qdev_id)) {
			*ret = f;
			return 1;
		}
		if (json_object_object_get_ex(d, "pci_bridge", &br) &&
		    json_object_object_get_ex(br, "devices", &sub)) {
			r = pci_find(sub, qdev_id, &f, depth + 1, budget, ret);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

static int pci_lookup(json_object *ret, const char *qdev_id, struct pci_found *found)
{
	size_t budget = PCI_MAX_DEVICES, n;

	if (!json_object_is_type(ret, json_type_array))
		return -EBADMSG;
	n = json_object_array_length(ret);
	for (size_t i = 0; i < n; i++) {
		json_object *bus = json_object_array_get_idx(ret, i), *devices;
		int r;

		if (!json_object_object_get_ex(bus, "devices", &devices))
			return -EBADMSG;
		r = pci_find(devices, qdev_id, NULL, 0, &budget, found);
		if (r != 0)
			return r;
	}
	return 0;
}

static void log_found(const struct supervise_hostdev *hd, const struct pci_found *f)
{
	if (f->parent_bus >= 0)
		log_info(
			"Passthrough %s -> guest %02x:%02x.%x [%04x:%04x], behind the bridge at %02x:%02x.%x.",
			hd->host, (unsigned)f->bus & 0xff, (unsigned)f->slot & 0x1f,
			(unsigned)f->function & 7, (unsigned)f->vendor & 0xffff,
			(unsigned)f->device & 0xffff, (unsigned)f->parent_bus & 0xff,
			(unsigned)f->parent_slot & 0x1f, (unsigned)f->parent_function & 7);
	else
		log_info("Passthrough %s -> guest %02x:%02x.%x [%04x:%04x].", hd->host,
			 (unsigned)f->bus & 0xff, (unsigned)f->slot & 0x1f,
			 (unsigned)f->function & 7, (unsigned)f->vendor & 0xffff,
			 (unsigned)f->device & 0xffff);
}

static void on_pci(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		   const struct qmp_error *err, void *userdata)
{
	struct sv *sv = userdata;
	size_t found = 0;
	bool last;

	sv->pci_inflight = false;
	if (!sv->pci_pending || sv->step != STOP_NONE || (error < 0 && qmp_client_error(c) < 0))
		return;
	if (error < 0) {
		sv_log_reply_error("query-pci", error, err);
		sv_fail(sv);
		sv_stop_begin(sv, false, 0, "query-pci failed");
		return;
	}
	for (size_t i = 0; i < sv->p->n_hostdevs; i++) {
		struct pci_found f;
		int r = pci_lookup(ret, sv->p->hostdevs[i].qdev_id, &f);

		if (r < 0) {
			log_error("QEMU's query-pci reply is malformed.");
			sv_fail(sv);
			sv_stop_begin(sv, false, 0, "query-pci failed");
			return;
		}
		found += r > 0;
	}
	last = ++sv->pci_tries >= PCI_WAIT_TICKS;
	if (found < sv->p->n_hostdevs && !last)
		return; /* the firmware has not numbered every bus yet: again on the next tick */

	sv->pci_pending = false;
	for (size_t i = 0; i < sv->p->n_hostdevs; i++) {
		const struct supervise_hostdev *hd = &sv->p->hostdevs[i];
		struct pci_found f;

		if (pci_lookup(ret, hd->qdev_id, &f) > 0) {
			log_found(hd, &f);
			if (i < sv->st.n_hostdevs && !sv->st.hostdevs[i].guest &&
			    asprintf(&sv->st.hostdevs[i].guest, "%02x:%02x.%x",
				     (unsigned)f.bus & 0xff, (unsigned)f.slot & 0x1f,
				     (unsigned)f.function & 7) < 0)
				sv->st.hostdevs[i].guest = NULL;
		} else
			log_error(
				"Passthrough device %s (%s) is missing from the guest: query-pci does not list it %d s after start.",
				hd->host, hd->qdev_id, PCI_WAIT_TICKS);
	}
	sv_status_write(sv);
	if (found < sv->p->n_hostdevs) {
		sv_fail(sv);
		sv_stop_begin(sv, false, 0, "a passthrough device is missing");
	}
}

/*
 * Devices behind a root port show in query-pci only once the guest's
 * firmware has numbered the buses (not under -S): asked after cont, and
 * again each tick until all are there.
 */
void sv_pci_query(struct sv *sv)
{
	int r;

	if (!sv->pci_pending || sv->pci_inflight || sv->step != STOP_NONE)
		return;
	r = sv_qmp_send(sv, "query-pci", on_pci);
	if (r < 0) {
		log_error_errno(r, "Failed to send query-pci to QEMU: %m");
		sv->pci_pending = false;
		sv_fail(sv);
		sv_stop_begin(sv, false, 0, "query-pci failed");
		return;
	}
	sv->pci_inflight = true;
}

static void on_run_for(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;
	char why[64];

	sv->run_for = loop_source_free(sv->run_for);
	snprintf(why, sizeof(why), "--run-for %u s elapsed", sv->p->run_for_s);
	sv->stop_requested = true;
	sv_stop_begin(sv, true, sv->stop_timeout_s, why);
}

/*
 * The guest runs for good: tell systemd, and let the caller hand over
 * what waits for a running QEMU (on_running). Right after cont, or once
 * the KVM fallback window has passed without a KVM error.
 */
void sv_on_kvm_window(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;
	char msg[128];

	sv->kvm_window = loop_source_free(sv->kvm_window);
	if (sv->ready || sv->phase != PHASE_RUNNING || sv->step != STOP_NONE || sv->qemu_gone)
		return;
	sv->ready = true;
	sv_confine_exec(sv); /* no restart under TCG any more */
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=Running: %zu vCPU%s%s", sv->n_cpus,
		 sv->n_cpus == 1 ? "" : "s", sv->p->vcpu_pin ? " pinned" : "");
	sv_notify(msg);
	if (sv->p->on_running)
		sv->p->on_running(sv->p->userdata);
	testhook_point("running");
}

/*
 * Where the start's time went: gamevm's own share (until QEMU is spawned,
 * hugepage RAM included, and from the start-up queries' answers to cont:
 * pinning) and QEMU's
 * (starting up to its QMP greeting, finishing its set-up and answering the
 * queries, which it does only then, and answering cont). bench/ reads it.
 */
static void sv_log_timing(const struct sv *sv)
{
	uint64_t now = qmp_now_usec(), t0 = sv->p->t0_usec;
	char ram[64] = "";

	if (!t0 || !sv->t_spawn_usec || !sv->t_qmp_usec || !sv->t_answers_usec || !sv->t_cont_usec)
		return;
	if (sv->ram_usec)
		snprintf(ram, sizeof(ram), ", of which %.1f ms backing the RAM",
			 (double)sv->ram_usec / 1000);
	log_info(
		"Start timing: %.1f ms in all; gamevm %.1f ms (%.1f ms before QEMU is spawned%s, %.1f ms pinning and cont); QEMU %.1f ms (%.1f ms to its QMP greeting, %.1f ms to answer the start-up queries, %.1f ms for cont).",
		(double)(now - t0) / 1000,
		(double)((sv->t_spawn_usec - t0) + (sv->t_cont_usec - sv->t_answers_usec)) / 1000,
		(double)(sv->t_spawn_usec - t0) / 1000, ram,
		(double)(sv->t_cont_usec - sv->t_answers_usec) / 1000,
		(double)((sv->t_answers_usec - sv->t_spawn_usec) + (now - sv->t_cont_usec)) / 1000,
		(double)(sv->t_qmp_usec - sv->t_spawn_usec) / 1000,
		(double)(sv->t_answers_usec - sv->t_qmp_usec) / 1000,
		(double)(now - sv->t_cont_usec) / 1000);
}

static void on_cont(struct qmp_client *c, uint64_t id, int error, json_object *ret,
		    const struct qmp_error *err, void *userdata)
{
	struct sv *sv = userdata;
	int r;

	if (sv->step != STOP_NONE || (error < 0 && startup_reply_moot(sv, c)))
		return;
	if (error < 0) {
		sv_log_reply_error("cont", error, err);
		sv_fail(sv);
		sv_stop_begin(sv, false, 0, "cont failed");
		return;
	}
	sv->phase = PHASE_RUNNING;
	sv->running_since_usec = qmp_now_usec();
	sv->startup_timer = loop_source_free(sv->startup_timer);
	sv_set_state(sv, VM_STATE_RUNNING);
	log_info("VM '%s' is running (QEMU pid %d%s%s).", sv->p->name, (int)sv->qemu.pid,
		 sv->st.qemu_version ? ", QEMU " : "",
		 sv->st.qemu_version ? sv->st.qemu_version : "");
	sv_log_timing(sv);
	if (sv->p->kvm_fallback_s > 0) {
		r = loop_add_timer(sv->loop, sv->p->kvm_fallback_s * USEC_PER_SEC, false,
				   sv_on_kvm_window, sv, &sv->kvm_window);
		if (r < 0)
			log_warning_errno(r, "Failed to arm the KVM fallback timer: %m");
		else
			log_info(
				"Watching the first %u s under KVM: a KVM internal error then restarts the VM under TCG (accel = auto).",
				sv->p->kvm_fallback_s);
	}
	if (sv->stopped_early)
		sv_status_query(sv);
	else if (!sv->kvm_window)
		sv_on_kvm_window(NULL, sv);
	if (sv->p->n_hostdevs > 0) {
		sv->pci_pending = true;
		sv_pci_query(sv);
	}

	if (sv->p->run_for_s > 0) {
		r = loop_add_timer(sv->loop, sv->p->run_for_s * USEC_PER_SEC, false, on_run_for, sv,
				   &sv->run_for);
		if (r < 0) {
			log_error_errno(r, "Failed to arm the --run-for timer: %m");
			sv_fail(sv);
			sv_stop_begin(sv, true, sv->stop_timeout_s, "no --run-for timer");
			return;
		}
		log_info("Stopping the VM in %u s (--run-for).", sv->p->run_for_s);
	}
}

void sv_on_startup_timeout(struct loop_source *s, void *userdata)
{
	struct sv *sv = userdata;

	sv->startup_timer = loop_source_free(sv->startup_timer);
	if (sv->phase != PHASE_STARTING || sv->step != STOP_NONE)
		return;
	log_error("QEMU did not get ready within %d s (QMP greeting, queries, cont).",
		  STARTUP_TIMEOUT_S);
	sv_fail(sv);
	sv_stop_begin(sv, false, 0, "startup timed out");
}
