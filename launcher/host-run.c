/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running one of the host's own programs (modprobe, systemctl) for a host
 * change, with gamevm's privileges, a deadline, and its output captured.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"
#include "spawn.h"
#include "strv.h"

#define HOST_RUN_OUT_MAX 2048

static int read_output(int fd, char **ret)
{
	char buf[HOST_RUN_OUT_MAX + 1];
	ssize_t n;

	n = pread(fd, buf, HOST_RUN_OUT_MAX, 0);
	if (n < 0)
		return NEG_ERRNO();
	buf[n] = 0;
	*ret = strdup(strstrip(buf));
	return *ret ? 0 : -ENOMEM;
}

int host_run(const struct host_root *h, const char *name, const char *const *args, int timeout_ms,
	     int *ret_status, char **ret_output)
{
	_cleanup_(child_kill_and_reap) struct child c = CHILD_NULL;
	_cleanup_free_ char *found = NULL, *path = NULL, *why = NULL, *out = NULL;
	_cleanup_close_ int out_fd = -1;
	struct spawn_opts o = SPAWN_OPTS_INIT;
	struct strv argv = {};
	int status, r;

	r = spawn_find_binary(h->root_fd, name, &found);
	if (r < 0)
		return r;
	/* The root's own program: on a fixture tree, a script emulating it. */
	if (h->is_real)
		path = TAKE_PTR(found);
	else if (asprintf(&path, "%s%s", h->path, found) < 0)
		return -ENOMEM;
	strv_push(&argv, name);
	for (size_t i = 0; args[i]; i++)
		strv_push(&argv, args[i]);
	if (argv.err) {
		r = argv.err;
		goto out;
	}

	out_fd = memfd_create("host-run-output", MFD_CLOEXEC);
	if (out_fd < 0) {
		r = NEG_ERRNO();
		goto out;
	}
	o.path = path;
	o.argv = argv.v;
	/* Loading modules, stopping units: the program keeps gamevm's privileges. */
	o.drop_caps = false;
	o.no_new_privs = false;
	o.stdout_fd = out_fd;
	o.stderr_fd = out_fd;
	o.pdeathsig = SIGTERM;
	r = spawn_child(&o, name, &c, &why);
	if (r < 0)
		goto out;
	r = child_wait(&c, timeout_ms, &status);
	if (r < 0)
		goto out;
	if (ret_output && read_output(out_fd, &out) >= 0 && !isempty(out))
		*ret_output = TAKE_PTR(out);
	else if (ret_output)
		*ret_output = NULL;
	if (ret_status)
		*ret_status = status;
out:
	strv_done(&argv);
	return r;
}
