/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Single-GPU handoff: the host's display lets go of the GPU (handoff.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "handoff.h"
#include "macro.h"
#include "strv.h"
#include "vfio-internal.h"

#define POLL_MS 100

bool handoff_sysfs_name_is_valid(const char *s)
{
	return !isempty(s) && strlen(s) < 128 && !strchr(s, '/') && !strchr(s, '\n') &&
	       !streq(s, ".") && !streq(s, "..");
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool systemd_booted(const struct host_root *h)
{
	return file_exists_at(h->root_fd, "run/systemd/system") > 0;
}

/* ---- units ----------------------------------------------------------------------------- */

/* "systemctl ARG UNIT": 0 with its exit status, or -errno when it did not run. */
static int systemctl(const struct host_root *h, const char *verb, const char *unit, int timeout_ms,
		     int *ret_code, char **ret_output)
{
	const char *const args[] = { "--no-ask-password", verb, unit, NULL };
	int status, r;

	r = host_run(h, "systemctl", args, timeout_ms, &status, ret_output);
	if (r < 0)
		return r;
	*ret_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

static int stop_units(const struct host_root *h, struct journal *j, const struct handoff_opts *o,
		      struct plan_diags *d)
{
	static char *const dflt[] = { (char *)HANDOFF_UNIT_DEFAULT, NULL };
	char *const *units = o->units ? o->units : dflt;
	int r, code;

	if (!systemd_booted(h))
		return prepare_diag(
			d, LOG_NOTICE,
			"single-gpu: this host does not run systemd (no /run/systemd/system), so gamevm stops no display manager; stop whatever draws on the GPU before the start");

	for (char *const *u = units; *u; u++) {
		_cleanup_free_ char *out = NULL;
		struct journal_record rec = { .kind = JOURNAL_UNIT,
					      .target = *u,
					      .old = (char *)"active" };

		r = systemctl(h, "is-active", *u, o->unit_timeout_ms, &code, &out);
		if (r < 0) {
			int q = prepare_diag(
				d, LOG_ERR,
				"single-gpu: cannot ask systemd about %s (systemctl): %s", *u,
				strerror(-r));
			return q < 0 ? q : r;
		}
		/* "inactive", "failed", or a unit that does not exist: nothing to stop. */
		if (code != 0)
			continue;
		r = journal_append(j, &rec, NULL);
		if (r < 0)
			return r;
		free(out);
		out = NULL;
		r = systemctl(h, "stop", *u, o->unit_timeout_ms, &code, &out);
		if (r >= 0 && code != 0)
			r = -EIO;
		if (r < 0) {
			int q = prepare_diag(
				d, LOG_ERR,
				"single-gpu: cannot stop %s%s%s%s: check 'systemctl status %s'", *u,
				r == -ETIMEDOUT ? " within the time allowed" : "", out ? ": " : "",
				out ? out : "", *u);
			return q < 0 ? q : r;
		}
		r = prepare_diag(d, LOG_INFO, "single-gpu: stopped %s", *u);
		if (r < 0)
			return r;
	}
	return 0;
}

int handoff_undo_unit(const struct host_root *h, const struct journal_record *rec,
		      struct plan_diags *d)
{
	_cleanup_free_ char *out = NULL;
	int r, code;

	if (!systemd_booted(h))
		return 0;
	/* A session cannot be started again: the display manager's greeter is back for a login. */
	if (strncmp(rec->target, "session-", 8) == 0 && strstr(rec->target, ".scope"))
		return prepare_diag(d, LOG_INFO,
				    "the login session %s was ended for the VM: log in again",
				    rec->target);
	r = systemctl(h, "is-active", rec->target, HANDOFF_UNIT_TIMEOUT_MS, &code, NULL);
	if (r >= 0 && code == 0)
		return 0;
	r = systemctl(h, "start", rec->target, HANDOFF_UNIT_TIMEOUT_MS, &code, &out);
	if (r >= 0 && code != 0)
		r = -EIO;
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR,
				   "cannot start %s again%s%s: run 'systemctl start %s'",
				   rec->target, out ? ": " : "", out ? out : "", rec->target);
		return r;
	}
	return prepare_diag(d, LOG_INFO, "started %s again", rec->target);
}

/* "KEY=value" of a small file of key lines (a logind state file, proc's status). */
static bool file_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == 0))
			return true;
	return false;
}

/*
 * The login session a process belongs to: "session-3.scope", or NULL. Only
 * what logind made counts: the process's cgroup v2 path must be exactly
 * /user.slice/user-UID.slice/session-ID.scope with UID its own real uid,
 * and logind's record of session ID (run/systemd/sessions/ID) must name
 * that uid and scope. A user can make cgroups of any name inside their own
 * user@UID.service; without these checks one holding the GPU there could
 * have root end someone else's session.
 */
static char *session_of(const struct host_root *h, const char *pid)
{
	_cleanup_free_ char *cg = NULL, *status = NULL, *rec = NULL;
	char path[64], id[33], want[128], unit[64];
	const char *line;
	unsigned uid, real;
	int end = -1;

	snprintf(path, sizeof(path), "%s/cgroup", pid);
	if (read_full_file_at(h->proc_fd, path, 16384, &cg, NULL) < 0)
		return NULL;
	line = strstr(cg, "0::/user.slice/");
	if (!line || (line != cg && line[-1] != '\n') ||
	    sscanf(line, "0::/user.slice/user-%u.slice/session-%32[0-9a-z].scope%n", &uid, id,
		   &end) != 2 ||
	    end < 0 || (line[end] != '\n' && line[end] != 0))
		return NULL;

	snprintf(path, sizeof(path), "%s/status", pid);
	if (read_full_file_at(h->proc_fd, path, 16384, &status, NULL) < 0)
		return NULL;
	line = strstr(status, "\nUid:");
	if (!line || sscanf(line + 5, "%u", &real) != 1 || real != uid)
		return NULL;

	snprintf(path, sizeof(path), "run/systemd/sessions/%s", id);
	if (read_full_file_at(h->root_fd, path, 65536, &rec, NULL) < 0)
		return NULL;
	snprintf(unit, sizeof(unit), "session-%s.scope", id);
	snprintf(want, sizeof(want), "UID=%u", uid);
	if (!file_has_line(rec, want))
		return NULL;
	snprintf(want, sizeof(want), "SCOPE=%s", unit);
	if (!file_has_line(rec, want) || !config_unit_name_is_valid(unit))
		return NULL;
	return strdup(unit);
}

/*
 * A display manager may leave the sessions it started running (GDM keeps
 * gdm-x-session and the compositor): each login session one of whose
 * processes still holds the GPU is ended, like 'loginctl terminate-session'.
 */
static int end_sessions(const struct host_root *h, struct journal *j,
			const struct vfio_dev *const *disp, size_t n, const struct handoff_opts *o,
			struct plan_diags *d)
{
	struct strv pids = {}, ended = {};
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++)
		r = vfio_find_holder_pids(h, &disp[i]->addr, &pids);
	strv_foreach (pid, pids.v) {
		_cleanup_free_ char *unit = NULL, *out = NULL, *comm = NULL;
		struct journal_record rec = { .kind = JOURNAL_UNIT, .old = (char *)"active" };
		char path[64];
		bool seen = false;
		int code;

		if (r < 0)
			break;
		unit = session_of(h, *pid);
		strv_foreach (e, ended.v)
			seen = seen || (unit && streq(*e, unit));
		if (!unit || seen)
			continue;
		strv_push(&ended, unit);
		/* Its name now: once the session ends, the process is gone. */
		snprintf(path, sizeof(path), "%s/comm", *pid);
		(void)read_one_line_at(h->proc_fd, path, &comm);
		rec.target = unit;
		r = journal_append(j, &rec, NULL);
		if (r < 0)
			break;
		r = systemctl(h, "stop", unit, o->unit_timeout_ms, &code, &out);
		if (r >= 0 && code != 0)
			r = -EIO;
		if (r < 0) {
			int q = prepare_diag(
				d, LOG_ERR,
				"single-gpu: cannot end the session %s that holds the GPU%s%s: check 'loginctl'",
				unit, out ? ": " : "", out ? out : "");
			r = q < 0 ? q : r;
			break;
		}
		r = prepare_diag(
			d, LOG_INFO,
			"single-gpu: ended the login session %s (%s, pid %s, held the GPU)", unit,
			comm ? comm : "?", *pid);
	}
	if (r >= 0)
		r = pids.err < 0 ? pids.err : ended.err;
	strv_done(&pids);
	strv_done(&ended);
	return r;
}

/* ---- the GPU's nodes ------------------------------------------------------------------- */

static int wait_released(const struct host_root *h, const struct vfio_dev *const *disp, size_t n,
			 int timeout_ms, struct plan_diags *d)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		_cleanup_free_ char *holders = NULL;
		const struct vfio_dev *busy = NULL;
		int r;

		for (size_t i = 0; i < n && !busy; i++) {
			r = vfio_find_holders(h, &disp[i]->addr, false, &holders);
			if (r < 0)
				return r;
			if (holders)
				busy = disp[i];
		}
		if (!busy)
			return 0;
		if (now_ms() >= deadline) {
			char a[PCI_ADDR_STRLEN];

			r = prepare_diag(
				d, LOG_ERR,
				"single-gpu: %s is still in use after %d ms: %s. Unbinding its driver under them could hang; close those programs, or name the unit that runs them in [vm] single-gpu-stop (it holds display-manager.service by default)",
				format_pci_addr(&busy->addr, a), timeout_ms, holders);
			return r < 0 ? r : -EBUSY;
		}
		(void)nanosleep(&(struct timespec){ .tv_nsec = POLL_MS * 1000 * 1000 }, NULL);
	}
}

/* ---- consoles and framebuffers --------------------------------------------------------- */

/*
 * fbcon holds the framebuffer of the GPU's DRM driver (amdgpudrmfb) for as
 * long as it is bound to a VT console; the driver's unbind waits for it.
 */
static int unbind_consoles(const struct host_root *h, struct journal *j, struct plan_diags *d)
{
	_cleanup_(closedirp) DIR *dir = opendir_at(h->sys_fd, "class/vtconsole");
	int r;

	for (struct dirent *de; dir && (de = readdir(dir));) {
		_cleanup_free_ char *name = NULL, *bind = NULL;
		char path[300];

		if (strncmp(de->d_name, "vtcon", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "class/vtconsole/%s/name", de->d_name);
		if (read_one_line_at(h->sys_fd, path, &name) < 0 || !strstr(name, "frame buffer"))
			continue;
		snprintf(path, sizeof(path), "class/vtconsole/%s/bind", de->d_name);
		if (read_one_line_at(h->sys_fd, path, &bind) < 0 || !streq(bind, "1"))
			continue;
		r = journal_write_sysfs(j, h, path, "0");
		if (r < 0) {
			char where[512];
			int q = prepare_diag(
				d, LOG_ERR, "single-gpu: cannot unbind the console ('%s'): %s",
				host_root_path(h, "sys", path, where, sizeof(where)), strerror(-r));
			return q < 0 ? q : r;
		}
		r = prepare_diag(d, LOG_INFO, "single-gpu: console %s (%s) unbound", de->d_name,
				 name);
		if (r < 0)
			return r;
	}
	return 0;
}

static int unbind_firmware_fbs(const struct host_root *h, struct journal *j,
			       const struct handoff_opts *o, struct plan_diags *d)
{
	_cleanup_(closedirp) DIR *dir = opendir_at(h->sys_fd, "bus/platform/devices");
	int r;

	for (struct dirent *de; dir && (de = readdir(dir));) {
		_cleanup_free_ char *drv = NULL;
		struct journal_record rec = { .kind = JOURNAL_PLATFORM_DRIVER };
		char path[400];

		if (!vfio_is_firmware_fb(de->d_name) || !handoff_sysfs_name_is_valid(de->d_name))
			continue;
		snprintf(path, sizeof(path), "bus/platform/devices/%s/driver", de->d_name);
		if (read_link_basename_at(h->sys_fd, path, &drv) < 0 ||
		    !handoff_sysfs_name_is_valid(drv))
			continue;
		rec.target = de->d_name;
		rec.old = drv;
		r = journal_append(j, &rec, NULL);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "bus/platform/drivers/%s/unbind", drv);
		r = vfio_write_timed(h, path, de->d_name, o->unbind_timeout_ms);
		if (r < 0 && r != -ENOENT) {
			char where[512];
			int q = prepare_diag(
				d, LOG_ERR,
				"single-gpu: cannot unbind the firmware framebuffer %s from %s ('%s'): %s%s",
				de->d_name, drv,
				host_root_path(h, "sys", path, where, sizeof(where)),
				r == -ETIMEDOUT ? "it did not finish in time; " : "",
				r == -ETIMEDOUT ? "close what draws on it, then 'gamevm cleanup'"
						: strerror(-r));
			return q < 0 ? q : r;
		}
		r = prepare_diag(d, LOG_INFO, "single-gpu: firmware framebuffer %s unbound from %s",
				 de->d_name, drv);
		if (r < 0)
			return r;
	}
	return 0;
}

int handoff_undo_platform(const struct host_root *h, const struct journal_record *rec,
			  struct plan_diags *d)
{
	_cleanup_free_ char *drv = NULL;
	char path[400];
	int r;

	snprintf(path, sizeof(path), "bus/platform/devices/%s", rec->target);
	if (file_exists_at(h->sys_fd, path) <= 0)
		return prepare_diag(
			d, LOG_INFO,
			"firmware framebuffer %s is gone (the GPU's driver took its memory over): nothing to rebind",
			rec->target);
	snprintf(path, sizeof(path), "bus/platform/devices/%s/driver", rec->target);
	if (read_link_basename_at(h->sys_fd, path, &drv) >= 0)
		return 0;
	snprintf(path, sizeof(path), "bus/platform/drivers/%s/bind", rec->old);
	r = vfio_write_timed(h, path, rec->target, HANDOFF_UNBIND_TIMEOUT_MS);
	if (r < 0) {
		char where[512];

		(void)prepare_diag(d, LOG_ERR, "cannot bind %s to %s again ('%s'): %s", rec->target,
				   rec->old, host_root_path(h, "sys", path, where, sizeof(where)),
				   strerror(-r));
		return r;
	}
	return prepare_diag(d, LOG_INFO, "firmware framebuffer %s is back on %s", rec->target,
			    rec->old);
}

/* ---- the sequence ---------------------------------------------------------------------- */

int handoff_prepare(const struct host_root *h, struct journal *j, const struct vfio_dev *devs,
		    size_t n, const struct handoff_opts *o, struct plan_diags *d)
{
	_cleanup_(host_pci_done) struct host_pci pci = {};
	_cleanup_free_ const struct vfio_dev **disp = NULL;
	struct handoff_opts opts = *o;
	bool boot_vga = false;
	size_t n_disp = 0;
	int r;

	if (opts.release_ms <= 0)
		opts.release_ms = HANDOFF_RELEASE_MS;
	if (opts.unit_timeout_ms <= 0)
		opts.unit_timeout_ms = HANDOFF_UNIT_TIMEOUT_MS;
	if (opts.unbind_timeout_ms <= 0)
		opts.unbind_timeout_ms = HANDOFF_UNBIND_TIMEOUT_MS;

	if (n > 0 && h->sys_fd >= 0) {
		r = host_pci_probe(h, &pci);
		if (r < 0)
			return r;
		disp = calloc(n, sizeof(*disp));
		if (!disp)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			const struct host_pci_dev *p = host_pci_find(&pci, &devs[i].addr);

			if (!p || ((p->class_code >> 16) != 0x03 && !p->boot_vga))
				continue;
			disp[n_disp++] = &devs[i];
			boot_vga = boot_vga || p->boot_vga;
		}
	}

	r = stop_units(h, j, &opts, d);
	if (r < 0)
		return r;
	if (n_disp == 0)
		return prepare_diag(
			d, LOG_NOTICE,
			"single-gpu: no display controller is passed through, so the host's consoles stay as they are");
	if (opts.end_sessions && systemd_booted(h)) {
		r = end_sessions(h, j, disp, n_disp, &opts, d);
		if (r < 0)
			return r;
	}
	r = wait_released(h, disp, n_disp, opts.release_ms, d);
	if (r < 0)
		return r;
	/*
	 * Opt-out: rebinding fbcon on some NVIDIA hosts hits a kernel NULL
	 * dereference (bugzilla.kernel.org 216475); their driver's unbind
	 * works with the console left bound.
	 */
	r = opts.keep_consoles ? 0 : unbind_consoles(h, j, d);
	if (r < 0)
		return r;
	return boot_vga ? unbind_firmware_fbs(h, j, &opts, d) : 0;
}
