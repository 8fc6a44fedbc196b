/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What gamevm start makes before the host is touched: the per-VM NVRAM copy
 * and TPM state (made once), and the disk images opened for QEMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "nvram.h"
#include "start.h"
#include "tpm.h"

int start_find_binary(struct start *s, const char *name, char **ret)
{
	int r = spawn_find_binary(s->l.root.root_fd, name, ret);

	if (r < 0)
		return log_error_errno(r, "Cannot find '%s' (install swtpm and swtpm-tools): %m",
				       name);
	return 0;
}

/* NVRAM copy and TPM state: made once, never overwritten. */
int start_prepare_state(struct start *s, struct vm_dirs *d)
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

		r = start_find_binary(s, "swtpm_setup", &setup);
		if (r >= 0)
			r = start_find_binary(s, "swtpm", &swtpm);
		if (r >= 0)
			r = start_find_binary(s, "swtpm_localca", &localca);
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
/*
 * The VM's run and state directories, opened and locked (another gamevm on
 * the same VM: -EBUSY, said); the stop signals blocked from here on, so a
 * stop request cannot kill gamevm half-way through the host's preparation
 * (they wait, and are looked at between the steps or read from the
 * supervisor's signalfd); and status.json saying state, with gamevm's pid,
 * so 'gamevm stop' and 'status' find it at once.
 */
int start_lock_vm(struct start *s, struct vm_dirs *d, enum vm_state state, sigset_t *ret_mask)
{
	struct vm_paths paths = { .run_dir = s->l.run_dir, .state_dir = s->l.state_dir };
	_cleanup_free_ char *why = NULL;
	sigset_t mask;
	int r;

	r = vm_dirs_open(&paths, s->l.c->name, s->uid, s->gid, d, &why);
	if (r == -EBUSY)
		return log_error_errno(r, "%s", strna(why));
	if (r < 0)
		return log_error_errno(
			r, "%s: %m (the run and state directories: --run-dir, --state-dir)",
			strna(why));
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(NEG_ERRNO(), "Failed to block signals: %m");
	r = vm_status_write(d->run_fd, &(struct vm_status){ .name = (char *)s->l.c->name,
							    .state = state,
							    .gamevm_pid = getpid(),
							    .start_time = (uint64_t)time(NULL) });
	if (r < 0)
		return log_error_errno(r, "Failed to write %s/%s: %m", d->run_path, VM_STATUS_FILE);
	*ret_mask = mask;
	return 0;
}

/*
 * Whether QEMU's user can open path with flags: tried for real in a child
 * that becomes that user (groups, ACLs and every directory above count).
 * 0, or the errno the open gave, negative.
 */
static int start_user_can_open(const struct start *s, const char *path, int flags)
{
	int status;
	pid_t pid;

	if (!s->switch_user) {
		int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

		if (fd < 0)
			return NEG_ERRNO();
		close(fd);
		return 0;
	}
	pid = fork();
	if (pid < 0)
		return NEG_ERRNO();
	if (pid == 0) {
		int fd;

		/* Single-threaded here: plain set*id() calls are safe in the child. */
		if (setgroups(s->n_groups, s->groups) < 0 ||
		    setresgid(s->gid, s->gid, s->gid) < 0 || setresuid(s->uid, s->uid, s->uid) < 0)
			_exit(EPERM);
		fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		_exit(fd < 0 ? (errno & 0xff) : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return NEG_ERRNO();
	if (!WIFEXITED(status))
		return -EIO;
	return -WEXITSTATUS(status);
}

/*
 * What QEMU opens by path itself (the firmware code, a [pci] romfile: QEMU's
 * ROM loader takes no fd), checked for its user before the host is touched,
 * instead of a "Permission denied" in qemu.log after the devices left the
 * host. The NVRAM copy and the TPM state are the user's own already.
 */
int start_check_qemu_paths(struct start *s)
{
	const struct vm_config *c = s->l.c;

	if (s->plan.fw_code) {
		int r = start_user_can_open(s, s->plan.fw_code, O_RDONLY);

		if (r < 0)
			return log_error_errno(
				r,
				"%s:%u: [firmware] code: QEMU's user '%s' cannot read '%s': %m (make the file readable by it, e.g. chmod 0644, with every directory above it searchable)",
				c->path, config_key_line(c, "firmware", "code"), strna(s->user),
				s->plan.fw_code);
	}

	for (size_t i = 0; i < c->n_pci; i++) {
		const struct vm_pci *d = &c->pci[i];
		char label[64];
		int r;

		if (!d->romfile)
			continue;
		snprintf(label, sizeof(label), "pci %s", d->name);
		r = start_user_can_open(s, d->romfile, O_RDONLY);
		if (r < 0)
			return log_error_errno(
				r,
				"%s:%u: [pci %s] romfile: QEMU's user '%s' cannot read '%s': %m (make the file readable by it, e.g. chmod 0644, with every directory above it searchable)",
				c->path, config_key_line(c, label, "romfile"), d->name,
				strna(s->user), d->romfile);
	}
	return 0;
}

/*
 * [smbios] oem-activation: the host's licence tables are root's (0400), and
 * QEMU's -acpitable opens a path itself (no fd sets): each is copied into a
 * sealed memfd, which QEMU's user may open as /proc/self/fd/N (plan.h,
 * PLAN_ACPI_FD).
 */
static int start_open_acpi_tables(struct start *s)
{
	for (size_t i = 0; i < s->plan.n_acpi_tables; i++) {
		_cleanup_free_ char *data = NULL;
		_cleanup_close_ int fd = -1;
		char rel[64], where[512];
		size_t len = 0;
		int r;

		snprintf(rel, sizeof(rel), "firmware/acpi/tables/%s", s->plan.acpi_tables[i]);
		host_root_path(&s->l.root, "sys", rel, where, sizeof(where));
		r = s->l.root.sys_fd < 0
			    ? -ENOENT
			    : read_full_file_at(s->l.root.sys_fd, rel, 1u << 20, &data, &len);
		if (r < 0)
			return log_error_errno(r, "Failed to read the host's ACPI table '%s': %m",
					       where);
		/* A whole table: its own signature and length (QEMU checks the rest). */
		if (len < 36 || memcmp(data, s->plan.acpi_tables[i], 4) != 0 ||
		    (size_t)(data[4] & 0xff) + ((size_t)(data[5] & 0xff) << 8) +
				    ((size_t)(data[6] & 0xff) << 16) +
				    ((size_t)(data[7] & 0xff) << 24) !=
			    len)
			return log_error_errno(
				-EBADMSG, "The host's ACPI table '%s' is not a whole %s table.",
				where, s->plan.acpi_tables[i]);
		fd = memfd_create(s->plan.acpi_tables[i], MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || write(fd, data, len) != (ssize_t)len ||
		    fcntl(fd, F_ADD_SEALS,
			  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
			return log_error_errno(NEG_ERRNO(), "Failed to copy '%s' for QEMU: %m",
					       where);
		s->disk_fds[s->n_disk_fds++] =
			(struct spawn_fd){ .src_fd = TAKE_FD(fd), .target_fd = PLAN_ACPI_FD(i) };
	}
	return 0;
}

/*
 * [devices] serial = file: opened here, as root, and handed to QEMU (plan.h,
 * PLAN_SERIAL_FD), so the QEMU user needs no access to the file or its
 * directory. Truncated at each start, as QEMU's own file backend does;
 * a regular file only (not followed through a symlink), created 0640.
 */
static int start_open_serial(struct start *s)
{
	const struct vm_config *c = s->l.c;
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (c->serial != SERIAL_FILE || !c->serial_path)
		return 0;
	fd = open(c->serial_path,
		  O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW, 0640);
	if (fd < 0)
		return log_error_errno(
			NEG_ERRNO(),
			"%s:%u: [devices] serial-path: cannot open '%s' for writing: %m%s", c->path,
			config_key_line(c, "devices", "serial-path"), c->serial_path,
			errno == ENOENT	 ? " (its directory must exist)"
			: errno == ELOOP ? " (a symlink: name the file itself)"
					 : "");
	if (fstat(fd, &st) < 0)
		return log_error_errno(NEG_ERRNO(), "Failed to stat '%s': %m", c->serial_path);
	if (!S_ISREG(st.st_mode))
		return log_error_errno(
			-EBADFD, "%s:%u: [devices] serial-path: '%s' is not a regular file.",
			c->path, config_key_line(c, "devices", "serial-path"), c->serial_path);
	if (ftruncate(fd, 0) < 0 || fcntl(fd, F_SETFL, O_WRONLY) < 0)
		return log_error_errno(NEG_ERRNO(), "Failed to truncate '%s': %m", c->serial_path);
	s->disk_fds[s->n_disk_fds++] =
		(struct spawn_fd){ .src_fd = TAKE_FD(fd), .target_fd = PLAN_SERIAL_FD };
	return 0;
}

int start_open_disks(struct start *s)
{
	const struct vm_config *c = s->l.c;
	int r;

	/* Two per disk, the serial file's and the ACPI tables'. */
	s->disk_fds = calloc(2 * c->n_disks + 2 + PLAN_ACPI_MAX, sizeof(*s->disk_fds));
	if (!s->disk_fds)
		return log_error_errno(-ENOMEM, "Out of memory.");
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct vm_disk *k = &c->disks[i];
		bool ro = k->readonly || k->media == DISK_MEDIA_CDROM;

		for (int pass = 0; pass < (ro ? 1 : 2); pass++) {
			bool rw = pass == 1;
			int fd = -1;

			r = open_disk_image(k->path, rw, &fd);

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
	r = start_open_serial(s);
	if (r < 0)
		return r;
	return start_open_acpi_tables(s);
}
