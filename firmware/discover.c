/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Finding descriptors with the spec's precedence (docs/interop/firmware.json,
 * libvirt's qemuInteropFetchConfigs): the three directories are merged by
 * basename, later ones winning; a zero-length winner masks the name; the
 * rest are parsed in strcmp order of their basenames.
 *
 * Every path is resolved inside the host root (openat2 RESOLVE_IN_ROOT), so
 * an absolute symlink in a fixture tree, e.g. Debian's links into
 * /usr/share/OVMF, stays inside that tree instead of reaching the real host.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "firmware.h"
#include "macro.h"
#include "strv.h"

/* A firmware directory holds a dozen files; this is only a bound. */
#define MAX_FILES 1024

struct entry {
	char *name;  /* basename, the precedence key */
	char *path;  /* relative to the root: "etc/qemu/firmware/50-x.json" */
	bool masked; /* a symlink to /dev/null, the systemd way of masking */
};

static int open_in_root(int root_fd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		/* Before Linux 5.6: plain openat, absolute symlinks then escape the root. */
		fd = RETRY_EINTR(openat(root_fd, path, flags | O_CLOEXEC));
	return fd < 0 ? NEG_ERRNO() : fd;
}

static bool name_is_descriptor(const char *name)
{
	size_t len = strlen(name);

	/* Dotfiles are editor and package-manager leftovers (.50-x.json.swp, .dpkg-new). */
	if (name[0] == '.')
		return false;
	return len > 5 && streq(name + len - 5, ".json");
}

static void entries_free(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].name);
		free(e[i].path);
	}
	free(e);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* Adds or overrides name; dir is later in precedence than every entry already there. */
static int entries_put(struct entry **entries, size_t *n, size_t *cap, const char *dir,
		       const char *name, bool masked)
{
	struct entry *e = NULL;
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++)
		if (streq((*entries)[i].name, name)) {
			e = &(*entries)[i];
			break;
		}
	if (e) {
		free(e->path);
		e->path = path;
		e->masked = masked;
		return 0;
	}
	if (*n >= MAX_FILES) {
		free(path);
		return -E2BIG;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct entry *t = realloc(*entries, ncap * sizeof(*t));
		if (!t) {
			free(path);
			return -ENOMEM;
		}
		*entries = t;
		*cap = ncap;
	}
	e = &(*entries)[(*n)++];
	e->path = path;
	e->masked = masked;
	e->name = strdup(name);
	return e->name ? 0 : -ENOMEM;
}

static int scan_dir(int root_fd, const char *dir, struct entry **entries, size_t *n, size_t *cap,
		    struct strv *skipped)
{
	_cleanup_close_ int fd = -1;
	DIR *d;
	struct dirent *de;
	int r = 0, read_errno = 0;

	fd = open_in_root(root_fd, dir, O_RDONLY | O_DIRECTORY);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0; /* most hosts have no /etc/qemu/firmware */
	if (fd < 0)
		return strv_pushf(skipped, "/%s: cannot open directory: %s", dir, strerror(-fd));
	d = fdopendir(fd);
	if (!d)
		return NEG_ERRNO();
	TAKE_FD(fd);

	for (;;) {
		unsigned char type;
		bool masked = false;

		errno = 0;
		de = readdir(d);
		if (!de) {
			read_errno = errno;
			break;
		}
		type = de->d_type;

		if (!name_is_descriptor(de->d_name))
			continue;
		if (type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue; /* gone since readdir */
			type = S_ISREG(st.st_mode) ? DT_REG : S_ISLNK(st.st_mode) ? DT_LNK : DT_DIR;
		}
		if (type != DT_REG && type != DT_LNK)
			continue;
		if (type == DT_LNK) {
			char target[PATH_MAX];
			ssize_t l = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
			if (l >= 0) {
				target[l] = 0;
				masked = streq(target, "/dev/null");
			}
		}
		r = entries_put(entries, n, cap, dir, de->d_name, masked);
		if (r == -E2BIG) {
			r = strv_pushf(skipped, "/%s: more than %d descriptors, ignoring the rest",
				       dir, MAX_FILES);
			break;
		}
		if (r < 0)
			break;
	}
	if (r == 0 && read_errno != 0)
		r = strv_pushf(skipped, "/%s: cannot read directory: %s", dir,
			       strerror(read_errno));
	closedir(d);
	return r;
}

/*
 * Reads one winning file. 1 with the contents, 0 when it masks its name
 * (zero length), negative errno with *reason on failure.
 */
static int read_entry(int root_fd, const struct entry *e, char **ret, size_t *ret_len,
		      const char **reason)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;

	/* O_NONBLOCK: a symlink to a FIFO must not hang discovery. */
	fd = open_in_root(root_fd, e->path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*reason = fd == -ENOENT ? "dangling symlink" : strerror(-fd);
		return fd;
	}
	if (fstat(fd, &st) < 0) {
		*reason = strerror(errno);
		return NEG_ERRNO();
	}
	if (!S_ISREG(st.st_mode)) {
		*reason = "not a regular file";
		return -EBADFD;
	}
	if (st.st_size == 0)
		return 0;
	if (st.st_size > FIRMWARE_DESC_MAX_SIZE) {
		*reason = "larger than 64 KiB, not a firmware descriptor";
		return -EFBIG;
	}

	buf = malloc(FIRMWARE_DESC_MAX_SIZE + 1);
	if (!buf)
		return -ENOMEM;
	/* Read to EOF rather than trusting st_size: the file may change under us. */
	for (;;) {
		ssize_t k = RETRY_EINTR(read(fd, buf + len, FIRMWARE_DESC_MAX_SIZE + 1 - len));
		if (k < 0) {
			*reason = strerror(errno);
			return NEG_ERRNO();
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > FIRMWARE_DESC_MAX_SIZE) {
			*reason = "larger than 64 KiB, not a firmware descriptor";
			return -EFBIG;
		}
	}
	if (len == 0)
		return 0;
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 1;
}

static int user_dir(const char *xdg_config_home, const char *home, char **ret)
{
	const char *base, *suffix;

	/* XDG: a relative $XDG_CONFIG_HOME is invalid and must be ignored. */
	if (xdg_config_home && xdg_config_home[0] == '/') {
		base = xdg_config_home;
		suffix = "qemu/firmware";
	} else if (home && home[0] == '/') {
		base = home;
		suffix = ".config/qemu/firmware";
	} else {
		*ret = NULL;
		return 0;
	}
	/* Taken relative to the host root, like the other two. */
	while (*base == '/')
		base++;
	if (asprintf(ret, "%s%s%s", base, *base ? "/" : "", suffix) < 0)
		return -ENOMEM;
	return 0;
}

void firmware_list_done(struct firmware_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_descs; i++)
		firmware_desc_done(&l->descs[i]);
	free(l->descs);
	strv_free(l->skipped);
	*l = (struct firmware_list){ 0 };
}

int firmware_list_load(int root_fd, const char *xdg_config_home, const char *home,
		       struct firmware_list *ret)
{
	_cleanup_free_ char *user = NULL;
	struct firmware_list l = { 0 };
	struct strv skipped = { 0 };
	struct entry *entries = NULL;
	size_t n = 0, cap = 0;
	const char *dirs[3];
	int r;

	if (root_fd < 0 || !ret)
		return -EINVAL;
	r = user_dir(xdg_config_home, home, &user);
	if (r < 0)
		return r;
	dirs[0] = "usr/share/qemu/firmware";
	dirs[1] = "etc/qemu/firmware";
	dirs[2] = user;

	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		if (!dirs[i])
			continue;
		r = scan_dir(root_fd, dirs[i], &entries, &n, &cap, &skipped);
		if (r < 0)
			goto out;
	}
	if (n > 0)
		qsort(entries, n, sizeof(*entries), cmp_entry);

	if (n > 0) {
		l.descs = calloc(n, sizeof(*l.descs));
		if (!l.descs) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *buf = NULL, *error = NULL, *display = NULL;
		const char *reason = NULL;
		size_t len = 0;

		if (entries[i].masked)
			continue;
		if (asprintf(&display, "/%s", entries[i].path) < 0) {
			r = -ENOMEM;
			goto out;
		}
		r = read_entry(root_fd, &entries[i], &buf, &len, &reason);
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			strv_pushf(&skipped, "%s: %s", display, reason);
			continue;
		}
		if (r == 0)
			continue; /* zero length: masks the lower-priority file */

		r = firmware_desc_parse_buf(display, buf, len, &l.descs[l.n_descs], &error);
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			strv_pushf(&skipped, "%s: %s", display, error ? error : strerror(-r));
			continue;
		}
		l.n_descs++;
	}
	if (skipped.err) {
		r = skipped.err;
		goto out;
	}

	entries_free(entries, n);
	l.skipped = TAKE_PTR(skipped.v);
	l.n_skipped = skipped.n;
	*ret = l;
	return 0;
out:
	entries_free(entries, n);
	strv_done(&skipped);
	firmware_list_done(&l);
	return r;
}
