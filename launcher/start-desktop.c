/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm start, for the desktop sections: QEMU's environment for [audio]
 * (see start.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "start.h"

#define COOKIE_FILE VM_PULSE_COOKIE
/* PulseAudio's cookie is 256 bytes. */
#define COOKIE_MAX 4096

/*
 * The home directory as the user database says (root's to decide), then
 * below it no symlink: the user could otherwise have root copy a secret
 * of someone else's (root's own cookie) to QEMU's user. The file must be
 * the user's.
 */
static int open_cookie(int root_fd, const char *rel, uid_t uid)
{
	/* O_NONBLOCK: a FIFO in its place must not hang root in open(). */
	struct open_how how = { .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH };
	const char *tail = strstr(rel, "/.config/pulse/cookie");
	_cleanup_free_ char *home = NULL;
	_cleanup_close_ int home_fd = -1;
	struct stat st;
	int fd;

	if (!tail)
		return -EINVAL;
	home = strndup(rel, (size_t)(tail - rel));
	if (!home)
		return -ENOMEM;
	home_fd = openat(root_fd, home, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (home_fd < 0)
		return NEG_ERRNO();
	fd = (int)syscall(SYS_openat2, home_fd, tail + 1, &how, sizeof(how));
	if (fd < 0)
		return NEG_ERRNO();
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != uid) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/*
 * A PulseAudio server lets a client of another uid in only with its
 * cookie (pipewire-pulse does not ask). QEMU's user cannot read the
 * desktop user's home, so it gets a copy of its own, 0400, in the run dir
 * that only gamevm writes; libpulse reads the file PULSE_COOKIE names.
 */
int start_audio_env(struct start *s, struct vm_dirs *d, struct spawn_opts *qemu_o)
{
	const struct plan *p = &s->plan;
	char cookie[COOKIE_MAX];
	_cleanup_close_ int src = -1, dst = -1;
	ssize_t len;

	if (!p->audio || !p->audio_cookie || !s->switch_user)
		return 0;
	src = open_cookie(s->l.root.root_fd, p->audio_cookie, p->audio_uid);
	if (src < 0)
		return log_error_errno(
			src,
			"Cannot use the PulseAudio cookie '/%s' (it must be a file of the [audio] user's, reached without symlinks): %m",
			p->audio_cookie);
	len = read(src, cookie, sizeof(cookie));
	if (len < 0)
		return log_error_errno(NEG_ERRNO(), "Cannot read the PulseAudio cookie '/%s': %m",
				       p->audio_cookie);
	(void)unlinkat(d->run_fd, COOKIE_FILE, 0);
	dst = openat(d->run_fd, COOKIE_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0400);
	if (dst < 0)
		return log_error_errno(NEG_ERRNO(), "Cannot create '%s/%s': %m", d->run_path,
				       COOKIE_FILE);
	errno = 0;
	if (write(dst, cookie, (size_t)len) != len || fchown(dst, s->uid, s->gid) < 0) {
		int r = errno > 0 ? -errno : -EIO;

		(void)unlinkat(d->run_fd, COOKIE_FILE, 0);
		return log_error_errno(r, "Cannot write '%s/%s': %m", d->run_path, COOKIE_FILE);
	}
	if (strv_push(&s->qemu_env,
		      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0 ||
	    strv_pushf(&s->qemu_env, "PULSE_COOKIE=%s/%s", d->run_path, COOKIE_FILE) < 0)
		return log_error_errno(-ENOMEM, "Out of memory.");
	qemu_o->env = s->qemu_env.v;
	log_debug("QEMU gets a copy of /%s as %s/%s (PULSE_COOKIE).", p->audio_cookie, d->run_path,
		  COOKIE_FILE);
	return 0;
}
