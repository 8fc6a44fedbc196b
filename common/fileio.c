/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "parse-util.h"

int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	fd = RETRY_EINTR(openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY));
	if (fd < 0)
		return NEG_ERRNO();

	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *p;
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= len + 1) {
				/* Buffer already holds max bytes: is there more? */
				char c;
				n = RETRY_EINTR(read(fd, &c, 1));
				if (n < 0)
					return NEG_ERRNO();
				if (n > 0)
					return -EFBIG;
				break;
			}
			p = realloc(buf, ncap);
			if (!p)
				return -ENOMEM;
			buf = p;
			cap = ncap;
		}
		n = RETRY_EINTR(read(fd, buf + len, cap - 1 - len));
		if (n < 0)
			return NEG_ERRNO();
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = 0;
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int read_one_line_at(int dirfd, const char *path, char **ret)
{
	char *s, *nl;
	int r;

	r = read_full_file_at(dirfd, path, 64 * 1024, &s, NULL);
	if (r < 0)
		return r;
	nl = strchr(s, '\n');
	if (nl)
		*nl = 0;
	*ret = s;
	return 0;
}

int read_u64_at(int dirfd, const char *path, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	r = read_one_line_at(dirfd, path, &s);
	if (r < 0)
		return r;
	return safe_atou64(s, ret);
}

int read_int_at(int dirfd, const char *path, int *ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	r = read_one_line_at(dirfd, path, &s);
	if (r < 0)
		return r;
	return safe_atoi(s, ret);
}

int read_hex_at(int dirfd, const char *path, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	char *end;
	unsigned long long v;
	int r;

	r = read_one_line_at(dirfd, path, &s);
	if (r < 0)
		return r;
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno != 0 || end == s || *end != 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int read_link_basename_at(int dirfd, const char *path, char **ret)
{
	char buf[PATH_MAX];
	ssize_t n;
	const char *b;
	char *s;

	n = readlinkat(dirfd, path, buf, sizeof(buf) - 1);
	if (n < 0)
		return NEG_ERRNO();
	buf[n] = 0;
	b = strrchr(buf, '/');
	b = b ? b + 1 : buf;
	s = strdup(b);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int write_string_at(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(s);
	ssize_t n;

	fd = RETRY_EINTR(openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY));
	if (fd < 0)
		return NEG_ERRNO();
	n = RETRY_EINTR(write(fd, s, len));
	if (n < 0)
		return NEG_ERRNO();
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const char *text, mode_t mode)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text), off = 0;
	char tmp[256];
	int r = 0;

	if (strchr(name, '/') || (size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		return -EINVAL;
	(void)unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return NEG_ERRNO();
	if (fchmod(fd, mode) < 0) /* not the umask's idea of it */
		r = NEG_ERRNO();
	while (r == 0 && off < len) {
		ssize_t n = RETRY_EINTR(write(fd, text + off, len - off));

		if (n < 0)
			r = NEG_ERRNO();
		else
			off += (size_t)n;
	}
	if (r == 0 && (fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0))
		r = NEG_ERRNO();
	if (r < 0)
		(void)unlinkat(dirfd, tmp, 0);
	return r;
}

int file_exists_at(int dirfd, const char *path)
{
	struct stat st;

	if (fstatat(dirfd, path, &st, 0) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : NEG_ERRNO();
	return 1;
}

DIR *opendir_at(int dirfd, const char *path)
{
	int fd;
	DIR *d;

	if (dirfd < 0) {
		errno = ENOENT;
		return NULL;
	}
	fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
