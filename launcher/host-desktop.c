/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host facts of the desktop sections (see host.h): the [input] evdev nodes,
 * [looking-glass]'s kvmfr module and node, its shm file and its user;
 * [audio]'s QEMU module, its user and the user's sound server socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"

/* udev's links are one hop (by-id/X -> ../eventN); a few more is already odd. */
#define LINK_HOPS_MAX 8

/*
 * dir/target with "." and ".." taken out, relative to dev/; -EXDEV when it
 * climbs out of dev/ (an absolute target must start with /dev/).
 */
static int join_under_dev(const char *rel, const char *target, char **ret)
{
	_cleanup_free_ char *s = NULL;
	char *parts[128], *save = NULL;
	size_t n = 0, len = 0;
	char *out;

	if (target[0] == '/') {
		if (strncmp(target, "/dev/", 5) != 0)
			return -EXDEV;
		s = strdup(target + 5);
	} else {
		const char *slash = strrchr(rel, '/');
		if (asprintf(&s, "%.*s%s", slash ? (int)(slash - rel + 1) : 0, rel, target) < 0)
			s = NULL;
	}
	if (!s)
		return -ENOMEM;
	for (char *t = strtok_r(s, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (streq(t, "."))
			continue;
		if (streq(t, "..")) {
			if (n == 0)
				return -EXDEV;
			n--;
			continue;
		}
		if (n >= ELEMENTSOF(parts))
			return -ENAMETOOLONG;
		parts[n++] = t;
	}
	if (n == 0)
		return -EXDEV;
	for (size_t i = 0; i < n; i++)
		len += strlen(parts[i]) + 1;
	out = malloc(len);
	if (!out)
		return -ENOMEM;
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, "/");
		strcat(out, parts[i]);
	}
	*ret = out;
	return 0;
}

/* The fixture form of a device node: "rdev=MAJOR:MINOR" in a regular file. */
static int fixture_rdev(const struct host_root *h, const char *node, unsigned *ret_major,
			unsigned *ret_minor)
{
	_cleanup_free_ char *s = NULL;
	size_t len;
	const char *p;
	unsigned ma, mi;
	int r;

	r = read_full_file_at(h->dev_fd, node, 4096, &s, &len);
	if (r < 0)
		return r;
	p = strstr(s, "rdev=");
	if (!p || (p != s && p[-1] != '\n') || sscanf(p, "rdev=%u:%u", &ma, &mi) != 2)
		return -EBADMSG;
	*ret_major = ma;
	*ret_minor = mi;
	return 0;
}

static int probe_evdev(const struct host_root *h, const char *path, struct host_evdev *ret)
{
	_cleanup_free_ char *rel = NULL;
	struct stat st;
	int r;

	*ret = (struct host_evdev){ .path = path };
	if (h->dev_fd < 0) {
		ret->err = -ENOENT;
		return 0;
	}
	rel = strdup(path + strlen("/dev/"));
	if (!rel)
		return -ENOMEM;
	for (unsigned hop = 0;; hop++) {
		char target[4096];
		char *next = NULL;
		ssize_t n;

		if (fstatat(h->dev_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret->err = NEG_ERRNO();
			return 0;
		}
		if (!S_ISLNK(st.st_mode))
			break;
		if (hop >= LINK_HOPS_MAX) {
			ret->err = -ELOOP;
			return 0;
		}
		n = readlinkat(h->dev_fd, rel, target, sizeof(target) - 1);
		if (n < 0) {
			ret->err = NEG_ERRNO();
			return 0;
		}
		target[n] = 0;
		r = join_under_dev(rel, target, &next);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			ret->err = r;
			return 0;
		}
		free(rel);
		rel = next;
	}
	ret->uid = st.st_uid;
	ret->gid = st.st_gid;
	if (S_ISCHR(st.st_mode)) {
		ret->is_chr = true;
		ret->major = major(st.st_rdev);
		ret->minor = minor(st.st_rdev);
	} else if (S_ISREG(st.st_mode) && !h->is_real) {
		r = fixture_rdev(h, rel, &ret->major, &ret->minor);
		if (r == -ENOMEM)
			return r;
		ret->is_chr = r >= 0;
	}
	ret->node = TAKE_PTR(rel);
	return 0;
}

/* rel under dir_fd (dev_fd, or root_fd for the other trees) as lstat sees it. */
static int probe_file_at(const struct host_root *h, int dir_fd, const char *rel,
			 struct host_file *ret)
{
	struct stat st;
	unsigned ma, mi;
	int r;

	*ret = (struct host_file){};
	if (dir_fd < 0 || fstatat(dir_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		ret->err = dir_fd < 0 ? -ENOENT : NEG_ERRNO();
		return 0;
	}
	ret->uid = st.st_uid;
	ret->gid = st.st_gid;
	ret->mode = st.st_mode & 07777;
	ret->size = (uint64_t)st.st_size;
	ret->is_link = S_ISLNK(st.st_mode);
	ret->is_chr = S_ISCHR(st.st_mode);
	ret->is_reg = S_ISREG(st.st_mode);
	if (ret->is_reg && !h->is_real) {
		r = dir_fd == h->dev_fd ? fixture_rdev(h, rel, &ma, &mi) : -EBADMSG;
		if (r == -ENOMEM)
			return r;
		if (r >= 0) {
			ret->is_chr = true;
			ret->is_reg = false;
		}
	}
	return 0;
}

static int probe_file(const struct host_root *h, const char *rel, struct host_file *ret)
{
	return probe_file_at(h, h->dev_fd, rel, ret);
}

/* static_size_mb is "64" or "64,128" (one per device): kvmfr0's is the first. */
static int probe_kvmfr(const struct host_root *h, struct host_desktop *d)
{
	_cleanup_free_ char *s = NULL;
	unsigned mb;
	int r;

	d->kvmfr_loaded = h->sys_fd >= 0 && faccessat(h->sys_fd, "module/kvmfr", F_OK, 0) == 0;
	if (!d->kvmfr_loaded)
		return 0;
	r = read_one_line_at(h->sys_fd, "module/kvmfr/parameters/static_size_mb", &s);
	if (r == -ENOMEM)
		return r;
	if (r >= 0 && sscanf(s, "%u", &mb) == 1)
		d->kvmfr_static_mb = mb;
	return 0;
}

static int probe_lg(const struct host_root *h, const struct vm_config *c, struct host_desktop *d)
{
	int r;

	r = probe_kvmfr(h, d);
	if (r >= 0)
		r = probe_file(h, HOST_KVMFR_NODE, &d->kvmfr0);
	if (r >= 0)
		r = probe_file(h, HOST_LG_SHM, &d->lg_shm);
	if (r < 0)
		return r;
	r = host_user_lookup(h, c->lg.user, &d->lg_user);
	return r == -ENOENT || r == -EINVAL ? 0 : r;
}

/*
 * Where distributions put QEMU's loadable modules (its configure's
 * --libdir/qemu); QEMU looks in its build's directory first. A QEMU built
 * without modules has none of these, and its drivers are built in.
 */
static const char *const qemu_module_dirs[] = {
	"usr/lib/x86_64-linux-gnu/qemu", /* Debian, Ubuntu */
	"usr/lib64/qemu",		 /* Fedora, openSUSE */
	"usr/lib/qemu",			 /* Arch */
	"usr/local/lib/x86_64-linux-gnu/qemu",
	"usr/local/lib/qemu",
};

static int probe_audio(const struct host_root *h, const struct vm_config *c, struct host_desktop *d)
{
	_cleanup_free_ char *run = NULL, *pulse = NULL, *sock = NULL, *cookie = NULL;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(qemu_module_dirs); i++) {
		_cleanup_free_ char *pa = NULL, *alsa = NULL;

		if (asprintf(&pa, "%s/audio-pa.so", qemu_module_dirs[i]) < 0 ||
		    asprintf(&alsa, "%s/audio-alsa.so", qemu_module_dirs[i]) < 0)
			return -ENOMEM;
		d->qemu_audio_pa = faccessat(h->root_fd, pa, F_OK, 0) == 0;
		/* Debian's qemu-system-x86 brings audio-alsa and audio-oss, -gui audio-pa. */
		d->qemu_modules = d->qemu_audio_pa || faccessat(h->root_fd, alsa, F_OK, 0) == 0;
		if (d->qemu_modules) {
			d->qemu_module_dir = qemu_module_dirs[i];
			break;
		}
	}
	r = host_user_lookup(h, c->audio.user, &d->audio_user);
	if (r == -ENOENT || r == -EINVAL)
		return 0;
	if (r < 0)
		return r;
	{
		_cleanup_free_ char *linger = NULL;

		if (asprintf(&linger, "var/lib/systemd/linger/%s", d->audio_user.name) < 0)
			return -ENOMEM;
		d->audio_linger = file_exists_at(h->root_fd, linger) > 0;
	}
	if (asprintf(&run, "run/user/%u", (unsigned)d->audio_user.uid) < 0 ||
	    asprintf(&pulse, "%s/pulse", run) < 0 || asprintf(&sock, "%s/native", pulse) < 0)
		return -ENOMEM;
	r = probe_file_at(h, h->root_fd, run, &d->audio_runtime);
	if (r >= 0)
		r = probe_file_at(h, h->root_fd, pulse, &d->audio_pulse);
	if (r >= 0)
		r = probe_file_at(h, h->root_fd, sock, &d->audio_socket);
	if (r < 0)
		return r;
	d->audio_cookie.err = -ENOENT;
	if (d->audio_user.home && d->audio_user.home[0] == '/' && d->audio_user.home[1]) {
		if (asprintf(&cookie, "%s/.config/pulse/cookie", d->audio_user.home + 1) < 0)
			return -ENOMEM;
		r = probe_file_at(h, h->root_fd, cookie, &d->audio_cookie);
	}
	return r;
}

int host_desktop_probe(const struct host_root *h, const struct vm_config *c,
		       struct host_desktop *ret)
{
	_cleanup_(host_desktop_done) struct host_desktop d = {};
	int r;

	if (c->input.n_evdev) {
		d.evdevs = calloc(c->input.n_evdev, sizeof(*d.evdevs));
		if (!d.evdevs)
			return -ENOMEM;
	}
	for (size_t i = 0; i < c->input.n_evdev; i++) {
		r = probe_evdev(h, c->input.evdev[i], &d.evdevs[i]);
		if (r < 0)
			return r;
		d.n_evdevs++;
	}
	if (c->lg.enabled) {
		r = probe_lg(h, c, &d);
		if (r < 0)
			return r;
	}
	if (c->audio.backend != AUDIO_NONE) {
		r = probe_audio(h, c, &d);
		if (r < 0)
			return r;
	}
	host_desktop_done(ret);
	*ret = d;
	d = (struct host_desktop){};
	return 0;
}

void host_desktop_done(struct host_desktop *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_evdevs; i++)
		free(d->evdevs[i].node);
	free(d->evdevs);
	host_user_done(&d->lg_user);
	host_user_done(&d->audio_user);
	*d = (struct host_desktop){};
}
