/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "spawn.h"
#include "strv.h"
#include "swtpm.h"
#include "tpm.h"

#define TPM_SETUP_CONF	       "swtpm_setup.conf"
#define TPM_LOCALCA_CONF       "swtpm-localca.conf"
#define TPM_DEFAULT_TIMEOUT_MS (60 * 1000)

static int tpm_fail(char **error, int err, const char *fmt, ...) _printf_(3, 4);
static int tpm_fail(char **error, int err, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (error) {
		va_start(ap, fmt);
		if (vasprintf(&s, fmt, ap) < 0)
			s = NULL;
		va_end(ap);
		free(*error);
		*error = s;
	}
	return -(err > 0 ? err : EIO);
}

/* state_fd/name as a directory owned by uid:gid, mode 0700, opened. */
static int subdir_make_open(int state_fd, const char *name, uid_t uid, gid_t gid, int *ret_fd)
{
	_cleanup_close_ int fd = -1;

	if (mkdirat(state_fd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(state_fd, name, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW | O_RDONLY);
	if (fd < 0)
		return -errno;
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0700) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int tpm_write_configs(int state_fd, const char *state_path, const struct tpm_setup *t,
			     char **error)
{
	_cleanup_free_ char *setup = NULL, *ca = NULL, *ca_dir = NULL, *ca_conf = NULL;
	int r;

	if (asprintf(&ca_dir, "%s/%s", state_path, TPM_CA_SUBDIR) < 0) {
		ca_dir = NULL;
		return -ENOMEM;
	}
	if (asprintf(&ca_conf, "%s/%s", state_path, TPM_LOCALCA_CONF) < 0) {
		ca_conf = NULL;
		return -ENOMEM;
	}
	r = swtpm_config_build(t->localca_binary, ca_conf, t->localca_options, ca_dir, &setup, &ca);
	if (r < 0)
		return tpm_fail(error, -r, "building the swtpm_setup configuration for '%s'",
				state_path);
	r = write_file_atomic_at(state_fd, TPM_SETUP_CONF, setup, 0644);
	if (r >= 0)
		r = write_file_atomic_at(state_fd, TPM_LOCALCA_CONF, ca, 0644);
	if (r < 0)
		return tpm_fail(error, -r, "writing the swtpm_setup configuration in '%s'",
				state_path);
	return 0;
}

/* Removes dir_fd/name and the files in it (a TPM state directory has no subdirectories). */
static void tpm_remove_dir(int dir_fd, const char *name)
{
	int fd = openat(dir_fd, name, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW | O_RDONLY);
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	for (struct dirent *de; (de = readdir(d));)
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)unlinkat(dir_fd, name, AT_REMOVEDIR);
}

/*
 * The TPM is manufactured in TPM_STATE_SUBDIR ".new" and renamed into
 * place only once swtpm_setup succeeded, so that a full disk, a failure
 * or a kill half-way never leaves a state directory that looks made but
 * is not: the next start finds no "tpm" and manufactures it again.
 */
#define TPM_STAGING_SUBDIR TPM_STATE_SUBDIR ".new"

int tpm_manufacture(int state_fd, const char *state_path, const struct tpm_setup *t, char **error)
{
	_cleanup_(child_kill_and_reap) struct child c = CHILD_NULL;
	_cleanup_close_ int tpm_fd = -1, ca_fd = -1;
	_cleanup_free_ char *tpm_dir = NULL, *conf = NULL, *why = NULL;
	_cleanup_(strv_done) struct strv argv = { 0 };
	int timeout = t->timeout_ms > 0 ? t->timeout_ms : TPM_DEFAULT_TIMEOUT_MS;
	char buf[128];
	int status, r;

	if (state_fd < 0 || isempty(state_path) || !t || isempty(t->swtpm_setup_binary) ||
	    isempty(t->localca_binary) || isempty(t->vm_name) || isempty(t->uuid))
		return -EINVAL;

	tpm_fd =
		openat(state_fd, TPM_STATE_SUBDIR, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW | O_RDONLY);
	if (tpm_fd >= 0) {
		r = tpm_state_present(tpm_fd);
		if (r < 0)
			return tpm_fail(error, -r, "checking '%s/%s/%s'", state_path,
					TPM_STATE_SUBDIR, SWTPM_STATE_FILE);
		if (r > 0)
			return 0;
		/* An empty one (gamevm before staging, killed half-way): made again below. */
		closep(&tpm_fd);
		tpm_fd = -1;
		tpm_remove_dir(state_fd, TPM_STATE_SUBDIR);
	} else if (errno != ENOENT) {
		return tpm_fail(error, errno, "opening '%s/%s'", state_path, TPM_STATE_SUBDIR);
	}

	/* We hold the VM's lock: a staging directory is what a killed run left. */
	tpm_remove_dir(state_fd, TPM_STAGING_SUBDIR);
	r = subdir_make_open(state_fd, TPM_STAGING_SUBDIR, t->uid, t->gid, &tpm_fd);
	if (r < 0)
		return tpm_fail(error, -r, "creating '%s/%s'", state_path, TPM_STAGING_SUBDIR);
	r = subdir_make_open(state_fd, TPM_CA_SUBDIR, t->uid, t->gid, &ca_fd);
	if (r < 0)
		goto fail_errno;

	r = tpm_write_configs(state_fd, state_path, t, error);
	if (r < 0)
		goto fail;

	if (asprintf(&tpm_dir, "%s/%s", state_path, TPM_STAGING_SUBDIR) < 0 ||
	    asprintf(&conf, "%s/%s", state_path, TPM_SETUP_CONF) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	r = swtpm_setup_argv(&(struct swtpm_setup_opts){ .binary = t->swtpm_setup_binary,
							 .swtpm_binary = t->swtpm_binary,
							 .state_dir = tpm_dir,
							 .config = conf,
							 .vm_name = t->vm_name,
							 .uuid = t->uuid },
			     &argv);
	if (r < 0) {
		r = tpm_fail(error, -r, "building the swtpm_setup command line");
		goto fail;
	}

	struct spawn_opts o = SPAWN_OPTS_INIT;
	o.argv = argv.v;
	o.user_name = t->user_name;
	o.uid = t->uid;
	o.gid = t->gid;
	o.groups = t->groups;
	o.n_groups = t->n_groups;
	o.stdout_fd = t->log_fd;
	o.stderr_fd = t->log_fd;
	r = spawn_child(&o, "swtpm_setup", &c, &why);
	if (r < 0) {
		r = tpm_fail(error, -r, "starting swtpm_setup: %s", strna(why));
		goto fail;
	}

	r = child_wait(&c, timeout, &status);
	if (r == -ETIMEDOUT)
		r = tpm_fail(error, ETIMEDOUT, "swtpm_setup did not finish within %d s",
			     timeout / 1000);
	else if (r < 0)
		r = tpm_fail(error, -r, "waiting for swtpm_setup");
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		r = tpm_fail(error, EIO, "swtpm_setup %s (its log: swtpm.log)",
			     child_status_to_string(status, buf, sizeof(buf)));
	if (r < 0)
		goto fail;

	r = tpm_state_present(tpm_fd);
	if (r <= 0) {
		r = tpm_fail(error, r < 0 ? -r : EIO, "swtpm_setup left no '%s' in '%s'",
			     SWTPM_STATE_FILE, tpm_dir);
		goto fail;
	}
	if (fsync(tpm_fd) < 0 ||
	    renameat(state_fd, TPM_STAGING_SUBDIR, state_fd, TPM_STATE_SUBDIR) < 0 ||
	    fsync(state_fd) < 0) {
		r = tpm_fail(error, errno, "moving '%s' to '%s/%s'", tpm_dir, state_path,
			     TPM_STATE_SUBDIR);
		goto fail;
	}
	return 1;

fail_errno:
	r = tpm_fail(error, -r, "creating '%s/%s'", state_path, TPM_CA_SUBDIR);
fail:
	child_kill_and_reap(&c);
	tpm_remove_dir(state_fd, TPM_STAGING_SUBDIR);
	return r;
}
