/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm cleanup NAME: after a gamevm that was killed (SIGKILL, OOM, a
 * crash) left host changes behind, replays the VM's undo journal
 * (run_dir/NAME/journal): devices back on their drivers, hugepages given
 * back, vfio-pci unloaded if gamevm loaded it. Says what it restored.
 *
 * It holds the VM's lock while it works, so it refuses a running VM (whose
 * own teardown will do this) and no start can race it. Running it again,
 * or with nothing left behind, is harmless: "nothing to clean up".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "hostroot.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "prepare.h"
#include "vm-dirs.h"

static int lock_take(int run_fd, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	fd = openat(run_fd, VM_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static void print_diags(const struct plan_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].level >= LOG_INFO)
			printf("  %s\n", d->v[i].msg);
		else
			log_full_errno(d->v[i].level, 0, "%s", d->v[i].msg);
	}
	fflush(stdout);
}

int verb_cleanup(const struct cli *cl)
{
	const char *name = cl->args[0];
	_cleanup_(journal_freep) struct journal *j = NULL;
	_cleanup_(plan_diags_done) struct plan_diags diags = {};
	_cleanup_(host_root_close) struct host_root h = HOST_ROOT_NULL;
	_cleanup_close_ int run_fd = -1, lock_fd = -1;
	_cleanup_free_ char *dir = NULL, *boot_id = NULL;
	size_t pending;
	int r;

	if (!name_is_valid(name))
		return log_error_errno(
			-EINVAL, "'%s' is not a VM name (letters, digits, _ and -, at most %d).",
			name, NAME_MAX_LEN);
	if (asprintf(&dir, "%s/%s", cl->run_dir, name) < 0) {
		dir = NULL;
		return log_error_errno(-ENOMEM, "Out of memory.");
	}
	r = vm_run_dir_open(dir, &run_fd);
	if (r == -ENOENT) {
		printf("Nothing to clean up for VM '%s'.\n", name);
		return 0;
	}
	if (r < 0)
		return log_error_errno(r, "Failed to open '%s': %m", dir);

	r = lock_take(run_fd, &lock_fd);
	if (r == -EBUSY) {
		pid_t pid = 0;

		(void)vm_lock_probe(run_fd, &pid);
		if (pid > 0)
			return log_error_errno(
				r,
				"VM '%s' is running (gamevm pid %d): its own teardown restores the host; stop it with 'gamevm stop %s'.",
				name, (int)pid, name);
		return log_error_errno(
			r,
			"VM '%s' is running: its own teardown restores the host; stop it with 'gamevm stop %s'.",
			name, name);
	}
	if (r < 0)
		return log_error_errno(r, "Failed to lock '%s/%s': %m", dir, VM_LOCK_FILE);

	r = journal_open_existing(run_fd, &j);
	if (r == -ENOENT) {
		printf("Nothing to clean up for VM '%s'.\n", name);
		return 0;
	}
	if (r == -EBADMSG)
		return log_error_errno(
			r,
			"The undo journal '%s/%s' is damaged; restore the host by hand (driver bindings, hugepages) and remove it.",
			dir, JOURNAL_FILE);
	if (r < 0)
		return log_error_errno(r, "Failed to read '%s/%s': %m", dir, JOURNAL_FILE);

	r = host_root_open(cl->root, &h);
	if (r < 0)
		return log_error_errno(r, "Failed to open the host root '%s': %m", cl->root);
	(void)journal_boot_id(&h, &boot_id);
	if (journal_from_other_boot(j, boot_id)) {
		r = journal_discard(j);
		if (r < 0)
			return log_error_errno(r, "Failed to remove '%s/%s': %m", dir,
					       JOURNAL_FILE);
		printf("Nothing to clean up for VM '%s': its undo journal was written before the host last booted, and the changes it listed ended with that boot (removed it).\n",
		       name);
		return 0;
	}

	pending = journal_pending(j);
	if (pending == 0) {
		r = journal_remove(j);
		if (r < 0)
			return log_error_errno(r, "Failed to remove '%s/%s': %m", dir,
					       JOURNAL_FILE);
		printf("Nothing to clean up for VM '%s'.\n", name);
		return 0;
	}

	printf("Undoing %zu host change%s left by VM '%s':\n", pending, pending == 1 ? "" : "s",
	       name);
	r = prepare_teardown(j, &h, NULL, &diags);
	print_diags(&diags);
	if (r < 0)
		return log_error_errno(
			r,
			"%zu of %zu changes could not be undone and stay in '%s/%s'; fix what is said above and run 'gamevm cleanup %s' again.",
			journal_pending(j), pending, dir, JOURNAL_FILE, name);
	printf("The host is restored.\n");
	return 0;
}
