/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host changes of the desktop sections (see prepare.h), each journaled
 * before it is made and undone by prepare_undo().
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>

#include "host.h"
#include "macro.h"
#include "prepare.h"

/*
 * QEMU opens each evdev node itself, O_RDWR (ui/input-linux.c), as its
 * unprivileged user; the nodes are root:input 0660. The node goes to the
 * QEMU user for the VM's life and back after: a POSIX ACL would do as
 * well, but udev rewrites ACLs of input nodes on seat changes, and the
 * owner is what the chown journal kind already restores exactly. The
 * group stays, so the host's own readers (libinput through logind, as
 * root) are not affected.
 */
static int prepare_evdev(const struct prepare_params *pp, struct journal *j, struct plan_diags *d)
{
	for (size_t i = 0; i < pp->p->n_evdevs; i++) {
		const struct plan_evdev *e = &pp->p->evdevs[i];
		char where[512];
		bool changed = false;
		struct stat st;
		int r;

		if (!e->node) {
			(void)prepare_diag(d, LOG_ERR, "'%s' was not found when the VM was planned",
					   e->path);
			return -ENOENT;
		}
		host_root_path(pp->h, "dev", e->node, where, sizeof(where));
		if (pp->h->dev_fd < 0 ||
		    fstatat(pp->h->dev_fd, e->node, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = pp->h->dev_fd < 0 ? -ENOENT : NEG_ERRNO();
			(void)prepare_diag(
				d, LOG_ERR,
				"'%s' (%s) is gone (was the device unplugged?): %s; 'ls -l /dev/input/by-id/' lists the connected devices",
				e->path, where, strerror(-r));
			return r;
		}
		/* Checked again: the node could have been replaced since the plan. */
		if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != HOST_INPUT_MAJOR) {
			(void)prepare_diag(
				d, LOG_ERR,
				"'%s' (%s) is not an input device (a character device of major %d): not giving it to QEMU",
				e->path, where, HOST_INPUT_MAJOR);
			return -ENOTTY;
		}
		r = journal_chown_dev(j, pp->h, e->node, pp->vfio.uid, st.st_gid, &changed);
		if (r < 0) {
			(void)prepare_diag(d, LOG_ERR,
					   "cannot give '%s' to QEMU's user (uid %u): %s", where,
					   (unsigned)pp->vfio.uid, strerror(-r));
			return r;
		}
		if (changed) {
			r = prepare_diag(d, LOG_INFO, "'%s' (%s) given to QEMU's user (uid %u)",
					 e->path, where, (unsigned)pp->vfio.uid);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int prepare_desktop(const struct prepare_params *pp, struct journal *j, struct plan_diags *d)
{
	return prepare_evdev(pp, j, d);
}
