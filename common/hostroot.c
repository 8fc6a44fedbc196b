/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostroot.h"
#include "macro.h"

static int open_sub(int root_fd, const char *name)
{
	int fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -1 : fd;
}

int host_root_open(const char *path, struct host_root *ret)
{
	struct host_root h = HOST_ROOT_NULL;
	struct stat a, b;

	h.root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h.root_fd < 0)
		return NEG_ERRNO();
	h.path = strdup(path);
	if (!h.path) {
		close(h.root_fd);
		return -ENOMEM;
	}
	h.sys_fd = open_sub(h.root_fd, "sys");
	h.proc_fd = open_sub(h.root_fd, "proc");
	h.dev_fd = open_sub(h.root_fd, "dev");
	h.is_real = stat("/", &a) == 0 && fstat(h.root_fd, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino;
	*ret = h;
	return 0;
}

void host_root_close(struct host_root *h)
{
	if (!h)
		return;
	closep(&h->root_fd);
	closep(&h->sys_fd);
	closep(&h->proc_fd);
	closep(&h->dev_fd);
	h->root_fd = h->sys_fd = h->proc_fd = h->dev_fd = -1;
	free(h->path);
	h->path = NULL;
}

const char *host_root_path(const struct host_root *h, const char *top, const char *rel, char *buf,
			   unsigned size)
{
	const char *root = h && h->path ? h->path : "/";
	size_t rl = strlen(root);

	/* Avoid "//sys" for the real root. */
	if (rl > 0 && root[rl - 1] == '/')
		rl--;
	snprintf(buf, size, "%.*s%s%s%s%s", (int)rl, root, isempty(top) ? "" : "/", top ? top : "",
		 isempty(rel) ? "" : "/", rel ? rel : "");
	return buf;
}
