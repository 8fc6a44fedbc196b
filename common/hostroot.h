/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host root: directory fds for /, /sys, /proc and /dev, opened once from
 * --root DIR (default "/"). Every host read and write takes one, so the same
 * code runs against the real host, a fixture tree under tests/hosts/, or the
 * lab VM's kernel.
 *
 * Paths passed to openat() on these fds are relative ("bus/pci/devices").
 * host_root_path() rebuilds the absolute path for messages.
 */
#pragma once

#include <stdbool.h>

struct host_root {
	char *path;   /* as given, for messages ("/" or "tests/hosts/5950x") */
	int root_fd;  /* DIR itself: etc/, usr/ (firmware descriptors, binaries) */
	int sys_fd;   /* DIR/sys, -1 when absent */
	int proc_fd;  /* DIR/proc, -1 when absent */
	int dev_fd;   /* DIR/dev, -1 when absent */
	bool is_real; /* DIR is "/": ioctls and exec of host binaries are meaningful */
};

#define HOST_ROOT_NULL                                                                             \
	{                                                                                          \
		.root_fd = -1, .sys_fd = -1, .proc_fd = -1, .dev_fd = -1                           \
	}

int host_root_open(const char *path, struct host_root *ret);
void host_root_close(struct host_root *h);

/*
 * Formats "<root>/<top>/<rel>" for messages into a static-free caller buffer
 * (top is "sys", "proc", "dev" or "" for the root). Returns buf.
 */
const char *host_root_path(const struct host_root *h, const char *top, const char *rel, char *buf,
			   unsigned size);
