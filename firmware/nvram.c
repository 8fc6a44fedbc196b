/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "nvram.h"

/* OVMF's stores are 128 KiB to 4 MiB; anything this large is not one. */
#define NVRAM_MAX_SIZE (64ULL * 1024 * 1024)

static int copy_fd(int from, int to)
{
	char buf[64 * 1024];

	for (;;) {
		ssize_t n = RETRY_EINTR(read(from, buf, sizeof(buf)));

		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = RETRY_EINTR(write(to, buf + off, (size_t)(n - off)));

			if (w < 0)
				return -errno;
			off += w;
		}
	}
}

/*
 * The caller holds the VM's lock, so no other gamevm works in state_fd: a
 * temporary file left by a crash is ours to remove. The copy is published
 * with linkat(), which fails instead of replacing an existing store, so
 * "never overwritten" holds even if one appeared since the check.
 */
int nvram_copy_once(int root_fd, const char *template_path, int state_fd, const char *name,
		    uid_t uid, gid_t gid)
{
	_cleanup_close_ int src = -1, dst = -1;
	char tmp[256];
	struct stat st;
	int r;

	if (isempty(template_path) || isempty(name) || strchr(name, '/'))
		return -EINVAL;
	while (*template_path == '/')
		template_path++;
	if (!*template_path)
		return -EINVAL;

	if (fstatat(state_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;

	src = openat(root_fd, template_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (src < 0)
		return -errno;
	if (fstat(src, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((unsigned long long)st.st_size > NVRAM_MAX_SIZE)
		return -EFBIG;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	(void)unlinkat(state_fd, tmp, 0);
	dst = openat(state_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (dst < 0)
		return -errno;

	r = copy_fd(src, dst);
	/* Owner before mode: fchown() may clear set-id bits, fchmod() then settles. */
	if (r >= 0 && (fchown(dst, uid, gid) < 0 || fchmod(dst, 0600) < 0 || fsync(dst) < 0))
		r = -errno;
	if (r >= 0 && linkat(state_fd, tmp, state_fd, name, 0) < 0)
		r = errno == EEXIST ? 0 : -errno;
	else if (r >= 0)
		r = 1;
	(void)unlinkat(state_fd, tmp, 0);
	if (r > 0)
		(void)fsync(state_fd);
	return r;
}
