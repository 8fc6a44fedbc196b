/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host changes of the desktop sections (see prepare.h), each journaled
 * before it is made and undone by prepare_undo().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>

#include "host.h"
#include "macro.h"
#include "prepare.h"

/*
 * QEMU opens each evdev node itself, O_RDWR (ui/input-linux.c), as its
 * unprivileged user; the nodes are root:input 0660. QEMU's user gets an
 * ACL entry rw- for the VM's life, put back exactly after (journal kind
 * acl: the mode and the old ACL). Not the owner: an owner may chmod and
 * set ACLs itself, and a compromised QEMU could leave the keyboard
 * readable by everyone after the VM.
 */
static int prepare_evdev(const struct prepare_params *pp, struct journal *j, struct plan_diags *d)
{
	for (size_t i = 0; i < pp->p->n_evdevs; i++) {
		const struct plan_evdev *e = &pp->p->evdevs[i];
		char where[512], rel[300];
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
		snprintf(rel, sizeof(rel), "dev/%s", e->node);
		r = journal_acl_add_user(j, pp->h, rel, pp->vfio.uid, 6, &changed);
		if (r < 0) {
			(void)prepare_diag(
				d, LOG_ERR,
				"cannot open '%s' to QEMU's user (uid %u, an ACL entry): %s", where,
				(unsigned)pp->vfio.uid, strerror(-r));
			return r;
		}
		if (changed) {
			r = prepare_diag(d, LOG_INFO,
					 "'%s' (%s) open to QEMU's user (uid %u, an ACL entry rw-)",
					 e->path, where, (unsigned)pp->vfio.uid);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/*
 * The desktop user owns the IVSHMEM memory (the client maps it read-write)
 * and QEMU's user reaches it through the group: 0660, nobody else.
 */
#define LG_MODE 0660

static int lg_owner_mode(const struct prepare_params *pp, struct journal *j, const char *rel,
			 const char *where, struct plan_diags *d)
{
	bool chowned = false, chmodded = false;
	int r;

	r = journal_chown_dev(j, pp->h, rel, pp->p->lg_uid, pp->vfio.gid, &chowned);
	if (r >= 0)
		r = journal_chmod_dev(j, pp->h, rel, LG_MODE, &chmodded);
	if (r < 0) {
		(void)prepare_diag(d, LOG_ERR, "cannot give '%s' to uid %u, gid %u, mode %04o: %s",
				   where, (unsigned)pp->p->lg_uid, (unsigned)pp->vfio.gid, LG_MODE,
				   strerror(-r));
		return r;
	}
	if (!chowned && !chmodded)
		return 0;
	return prepare_diag(d, LOG_INFO, "'%s' given to uid %u, gid %u (QEMU's), mode %04o", where,
			    (unsigned)pp->p->lg_uid, (unsigned)pp->vfio.gid, LG_MODE);
}

static int prepare_lg(const struct prepare_params *pp, struct journal *j, struct plan_diags *d)
{
	const struct plan *p = pp->p;
	const char *rel = p->lg_kvmfr ? HOST_KVMFR_NODE : HOST_LG_SHM;
	uint64_t size = (uint64_t)p->lg_size_mib << 20;
	char where[512];
	struct stat st;
	int r;

	if (!p->lg)
		return 0;
	host_root_path(pp->h, "dev", rel, where, sizeof(where));
	if (!p->lg_kvmfr) {
		r = journal_create_dev_file(j, pp->h, rel, p->lg_uid, pp->vfio.gid, LG_MODE, size);
		if (r == -EEXIST) {
			(void)prepare_diag(
				d, LOG_ERR,
				"'%s' appeared since the VM was planned (a looking-glass-client started?): start the VM again",
				where);
			return r;
		}
		if (r < 0) {
			(void)prepare_diag(d, LOG_ERR, "cannot create '%s' (%u MiB): %s", where,
					   p->lg_size_mib, strerror(-r));
			return r;
		}
		return prepare_diag(d, LOG_INFO,
				    "'%s' created: %u MiB, uid %u, gid %u (QEMU's), mode %04o",
				    where, p->lg_size_mib, (unsigned)p->lg_uid,
				    (unsigned)pp->vfio.gid, LG_MODE);
	}
	/* kvmfr: looked at again, what the plan saw may have been replaced since. */
	if (pp->h->dev_fd < 0 || fstatat(pp->h->dev_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = pp->h->dev_fd < 0 ? -ENOENT : NEG_ERRNO();
		(void)prepare_diag(d, LOG_ERR, "'%s' is gone: %s; start the VM again", where,
				   strerror(-r));
		return r;
	}
	if (!S_ISCHR(st.st_mode)) {
		(void)prepare_diag(d, LOG_ERR,
				   "'%s' changed since the VM was planned: start the VM again",
				   where);
		return -ESTALE;
	}
	return lg_owner_mode(pp, j, rel, where, d);
}

/*
 * /run/user/UID is 0700: QEMU's user reaches the socket through ACL
 * entries, x on the two directories (passing, not listing) and rw on the
 * socket (connect(2) needs write). systemd-logind removes the directory
 * at logout, ACLs and all.
 */
static int prepare_audio(const struct prepare_params *pp, struct journal *j, struct plan_diags *d)
{
	const struct plan *p = pp->p;
	const char *sock;
	char rel[3][64];
	struct stat st;
	int r;

	if (!p->audio || !p->audio_socket)
		return 0;
	sock = p->audio_socket + 1;
	snprintf(rel[0], sizeof(rel[0]), "run/user/%u", (unsigned)p->audio_uid);
	snprintf(rel[1], sizeof(rel[1]), "run/user/%u/pulse", (unsigned)p->audio_uid);
	snprintf(rel[2], sizeof(rel[2]), "%s", sock);
	r = fstatat(pp->h->root_fd, sock, &st, AT_SYMLINK_NOFOLLOW) < 0 ? NEG_ERRNO()
	    : S_ISSOCK(st.st_mode)					? 0
									: -ENOTSOCK;
	if (r < 0) {
		(void)prepare_diag(
			d, LOG_ERR,
			"the sound server of uid %u is not running ('%s' is missing or not a socket): log in as that user (or systemctl --user start pipewire-pulse.socket, or pulseaudio.socket), then start the VM",
			(unsigned)p->audio_uid, p->audio_socket);
		return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
		bool changed = false;
		unsigned perm = i + 1 < ELEMENTSOF(rel) ? 1 : 6;

		r = journal_acl_add_user(j, pp->h, rel[i], pp->vfio.uid, perm, &changed);
		if (r < 0) {
			(void)prepare_diag(
				d, LOG_ERR,
				"cannot let QEMU's user (uid %u) reach '/%s' with an ACL entry: %s%s",
				(unsigned)pp->vfio.uid, rel[i], strerror(-r),
				r == -EOPNOTSUPP ? " (the file system has no POSIX ACLs)" : "");
			return r;
		}
		if (changed) {
			r = prepare_diag(d, LOG_INFO, "'/%s': ACL entry user:%u:%s added", rel[i],
					 (unsigned)pp->vfio.uid, perm == 1 ? "--x" : "rw-");
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int prepare_desktop(const struct prepare_params *pp, struct journal *j, struct plan_diags *d)
{
	int r;

	/* No QEMU user to hand anything to: QEMU runs as whoever runs gamevm. */
	if (pp->vfio.uid == (uid_t)-1 || pp->vfio.gid == (gid_t)-1)
		return 0;
	r = prepare_evdev(pp, j, d);

	if (r >= 0)
		r = prepare_lg(pp, j, d);
	return r < 0 ? r : prepare_audio(pp, j, d);
}
