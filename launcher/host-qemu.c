/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QEMU binary: which one, which version, which machine types.
 *
 * The binary is looked up under the host root (an absolute name as a path
 * inside the root, a bare name in usr/bin, usr/local/bin, bin) and run
 * twice, "-version" and "-machine help", in the root as working directory,
 * with a clean environment, no shell, stdin at EOF, output bounded and a
 * 10 s limit after which its process group is killed. A fixture root ships
 * a shell stub that prints what that QEMU version prints; the recorded path
 * is the one inside the root ("/usr/bin/qemu-system-x86_64"), which is what
 * the argv shows and what the real root execs.
 *
 * fork+execve rather than posix_spawn: launcher/spawn.h shadows the
 * system <spawn.h> on the launcher's include path.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"
#include "parse-util.h"
#include "strv.h"

#define QEMU_DEFAULT_BINARY   "qemu-system-x86_64"
#define QEMU_PROBE_TIMEOUT_MS (10 * 1000)
#define QEMU_OUTPUT_MAX	      (256 * 1024)

static const char *const qemu_search_dirs[] = { "usr/bin", "usr/local/bin", "bin" };

/* Path of the binary relative to the root: "usr/bin/qemu-system-x86_64". */
static int qemu_find_binary(const struct host_root *h, const char *binary, char **ret)
{
	struct stat st;

	if (isempty(binary))
		binary = QEMU_DEFAULT_BINARY;
	if (binary[0] == '/') {
		const char *rel = binary + strspn(binary, "/");
		char *s;

		if (!*rel)
			return -EISDIR;
		if (fstatat(h->root_fd, rel, &st, 0) < 0)
			return NEG_ERRNO();
		if (!S_ISREG(st.st_mode))
			return -EACCES;
		if (faccessat(h->root_fd, rel, X_OK, 0) < 0)
			return NEG_ERRNO();
		s = strdup(rel);
		if (!s)
			return -ENOMEM;
		*ret = s;
		return 0;
	}
	/* "./qemu" would depend on our working directory, not on the root. */
	if (strchr(binary, '/'))
		return -EINVAL;

	for (size_t i = 0; i < ELEMENTSOF(qemu_search_dirs); i++) {
		char *path;

		if (asprintf(&path, "%s/%s", qemu_search_dirs[i], binary) < 0)
			return -ENOMEM;
		if (fstatat(h->root_fd, path, &st, 0) == 0 && S_ISREG(st.st_mode) &&
		    faccessat(h->root_fd, path, X_OK, 0) == 0) {
			*ret = path;
			return 0;
		}
		free(path);
	}
	return -ENOENT;
}

/* closep() leaves the number behind; the poll loop tests for -1. */
static void close_now(int *fd)
{
	closep(fd);
	*fd = -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_and_reap(pid_t pid)
{
	/* The group may not exist yet if the child was killed before setpgid. */
	if (kill(-pid, SIGKILL) < 0)
		kill(pid, SIGKILL);
	(void)RETRY_EINTR(waitpid(pid, NULL, 0));
}

/*
 * The child between fork and exec: async-signal-safe calls only. An exec
 * error goes back through err_fd (close-on-exec, so success closes it).
 */
_Noreturn static void qemu_child(const struct host_root *h, const char *rel, char **argv,
				 char **envp, int in_fd, int out_fd, int stderr_fd, int err_fd)
{
	static const int dflt[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD };
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	int e;

	for (size_t i = 0; i < ELEMENTSOF(dflt); i++)
		(void)sigaction(dflt[i], &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* Own process group, so a timeout kills whatever the binary started. */
	(void)setpgid(0, 0);
	if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(stderr_fd, STDERR_FILENO) < 0 || fchdir(h->root_fd) < 0)
		goto fail;
	/* Nothing of ours but stdio reaches the binary. */
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	execve(rel, argv, envp);
fail:
	e = errno;
	(void)!write(err_fd, &e, sizeof(e));
	_exit(127);
}

/*
 * Runs "<root>/rel arg..." and returns its stdout. stderr is drained and
 * dropped. Fails with -ETIME on timeout, -EFBIG on too much output, -EIO on
 * a non-zero exit, or the exec error (-ENOEXEC, -EACCES, ...).
 */
static int qemu_run(const struct host_root *h, const char *rel, const char *argv0,
		    const char *const *args, char **ret)
{
	static const char *const envp[] = { "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
					    NULL };
	_cleanup_close_ int in_r = -1, in_w = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1,
			    exec_r = -1, exec_w = -1;
	_cleanup_free_ char *out = NULL;
	struct strv argv = {};
	size_t out_len = 0, err_len = 0;
	int64_t deadline;
	pid_t pid;
	ssize_t n;
	int r, e, status, fds[2];

	strv_push(&argv, argv0);
	for (size_t i = 0; args[i]; i++)
		strv_push(&argv, args[i]);
	if (argv.err) {
		r = argv.err;
		strv_done(&argv);
		return r;
	}
	out = malloc(QEMU_OUTPUT_MAX + 1);
	if (!out) {
		strv_done(&argv);
		return -ENOMEM;
	}

	if (pipe2(fds, O_CLOEXEC) < 0)
		goto fail_errno;
	in_r = fds[0], in_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		goto fail_errno;
	out_r = fds[0], out_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		goto fail_errno;
	err_r = fds[0], err_w = fds[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		goto fail_errno;
	exec_r = fds[0], exec_w = fds[1];
	close_now(&in_w); /* stdin at EOF: QEMU must not wait for a terminal */

	pid = fork();
	if (pid < 0)
		goto fail_errno;
	if (pid == 0)
		qemu_child(h, rel, argv.v, (char **)envp, in_r, out_w, err_w, exec_w);
	(void)setpgid(pid, pid); /* also here: no window where -pid names nothing */
	strv_done(&argv);
	close_now(&in_r);
	close_now(&out_w);
	close_now(&err_w);
	close_now(&exec_w);

	n = RETRY_EINTR(read(exec_r, &e, sizeof(e)));
	if (n == sizeof(e)) {
		(void)RETRY_EINTR(waitpid(pid, NULL, 0));
		return e > 0 ? -e : -EIO;
	}

	deadline = now_ms() + QEMU_PROBE_TIMEOUT_MS;
	while (out_r >= 0 || err_r >= 0) {
		struct pollfd p[2] = { { .fd = out_r, .events = POLLIN },
				       { .fd = err_r, .events = POLLIN } };
		int64_t left = deadline - now_ms();
		char sink[4096];

		if (left <= 0) {
			kill_and_reap(pid);
			return -ETIME;
		}
		r = poll(p, 2, (int)left);
		if (r < 0 && errno != EINTR) {
			r = NEG_ERRNO();
			kill_and_reap(pid);
			return r;
		}
		if (r <= 0)
			continue;
		if (p[0].revents) {
			n = read(out_r, out + out_len, QEMU_OUTPUT_MAX + 1 - out_len);
			if (n < 0 && errno != EINTR && errno != EAGAIN) {
				r = NEG_ERRNO();
				kill_and_reap(pid);
				return r;
			}
			if (n == 0)
				close_now(&out_r);
			else if (n > 0)
				out_len += (size_t)n;
			if (out_len > QEMU_OUTPUT_MAX) {
				kill_and_reap(pid);
				return -EFBIG;
			}
		}
		if (p[1].revents) {
			n = read(err_r, sink, sizeof(sink));
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				close_now(&err_r);
			else if (n > 0 && (err_len += (size_t)n) > QEMU_OUTPUT_MAX) {
				kill_and_reap(pid);
				return -EFBIG;
			}
		}
	}

	/* Both pipes closed: the binary is exiting; give it the rest of the time. */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return NEG_ERRNO();
		if (now_ms() >= deadline) {
			kill_and_reap(pid);
			return -ETIME;
		}
		usleep(10 * 1000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EIO;

	out[out_len] = 0;
	*ret = TAKE_PTR(out);
	return 0;

fail_errno:
	r = NEG_ERRNO();
	strv_done(&argv);
	return r;
}

/* "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)" */
static int parse_version(char *text, struct host_qemu *q)
{
	static const char prefix[] = "QEMU emulator version ";
	unsigned v[3] = {};
	char *line, *p;

	for (line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			break;
	if (!line)
		return -EBADMSG;
	p = strchr(line, '\n');
	if (p)
		*p = 0;
	q->version_line = strdup(strstrip(line));
	if (!q->version_line)
		return -ENOMEM;

	p = line + strlen(prefix);
	for (size_t i = 0; i < 3; i++) {
		unsigned x = 0;
		size_t digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 6) {
			x = x * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (digits == 0)
			return -EBADMSG;
		v[i] = x;
		/* "9.2" without a micro number is fine; stop at anything else. */
		if (*p != '.' || i == 2)
			break;
		p++;
	}
	if (p == line + strlen(prefix))
		return -EBADMSG;
	q->major = v[0];
	q->minor = v[1];
	q->micro = v[2];
	return 0;
}

static int alias_add(struct host_qemu *q, const char *name, const char *target)
{
	struct host_qemu_alias *a = realloc(q->aliases, (q->n_aliases + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	q->aliases = a;
	a[q->n_aliases] =
		(struct host_qemu_alias){ .name = strdup(name), .target = strdup(target) };
	if (!a[q->n_aliases].name || !a[q->n_aliases].target) {
		free(a[q->n_aliases].name);
		free(a[q->n_aliases].target);
		return -ENOMEM;
	}
	q->n_aliases++;
	return 0;
}

/*
 * "q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)"
 * "pc-q35-7.2           Standard PC (Q35 + ICH9, 2009) (default)"
 */
static int parse_machines(char *text, struct host_qemu *q)
{
	struct strv names = {};
	bool in_list = false;
	int r = 0;

	for (char *line = text, *next; line && *line; line = next) {
		char *name, *desc, *alias;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!in_list) {
			in_list = strncmp(line, "Supported machines are:", 23) == 0;
			continue;
		}
		name = line + strspn(line, " \t");
		if (!*name)
			continue;
		desc = name + strcspn(name, " \t");
		if (*desc)
			*desc++ = 0;
		desc = strstrip(desc);

		strv_push(&names, name);
		alias = strstr(desc, "(alias of ");
		if (alias) {
			char *target = alias + strlen("(alias of "), *end = strchr(target, ')');
			if (end && end > target) {
				*end = 0;
				r = alias_add(q, name, target);
				if (r < 0)
					break;
				if (streq(name, "q35") && !q->q35_default) {
					q->q35_default = strdup(target);
					if (!q->q35_default) {
						r = -ENOMEM;
						break;
					}
				}
			}
		}
		if (strstr(desc, "(default)") && !q->default_machine) {
			q->default_machine = strdup(name);
			if (!q->default_machine) {
				r = -ENOMEM;
				break;
			}
		}
	}
	if (r == 0 && names.err)
		r = names.err;
	if (r == 0 && (!in_list || names.n == 0))
		r = -EBADMSG;
	if (r < 0) {
		strv_done(&names);
		return r;
	}
	q->machines = names.v;
	q->n_machines = names.n;
	return 0;
}

void host_qemu_done(struct host_qemu *q)
{
	if (!q)
		return;
	free(q->binary);
	strv_free(q->machines);
	free(q->q35_default);
	for (size_t i = 0; i < q->n_aliases; i++) {
		free(q->aliases[i].name);
		free(q->aliases[i].target);
	}
	free(q->aliases);
	free(q->default_machine);
	free(q->version_line);
	*q = (struct host_qemu){};
}

/*
 * The cache of what QEMU answered (cache_dir_fd/QEMU_CACHE_FILE): its first
 * line names the binary and its identity (device, inode, size, mtime), then
 * the -version output, a separator line, the -machine help output. Another
 * binary, or this one replaced or upgraded, misses. It saves two runs of
 * QEMU (about 35 ms) on every start and cmdline. Only a root-owned file
 * that nobody else can write is believed.
 */
#define QEMU_CACHE_FILE "qemu-probe.cache"
#define QEMU_CACHE_SEP	"\n--- -machine help ---\n"
#define QEMU_CACHE_MAX	(256 * 1024)

static int qemu_cache_key(const struct host_root *h, const char *rel, char **ret)
{
	struct stat st;

	if (fstatat(h->root_fd, rel, &st, 0) < 0)
		return NEG_ERRNO();
	return asprintf(ret, "/%s %llu %llu %lld %lld.%09ld", rel, (unsigned long long)st.st_dev,
			(unsigned long long)st.st_ino, (long long)st.st_size,
			(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec) < 0
		       ? -ENOMEM
		       : 0;
}

/* 1 and the two outputs when the cache holds them for key, 0 when not. */
static int qemu_cache_read(int dir_fd, const char *key, char **ret_version, char **ret_machines)
{
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t klen = strlen(key);
	char *sep;

	/* The run directory is root's: a file there that is not is no cache of ours. */
	if (fstatat(dir_fd, QEMU_CACHE_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return 0;
	if (read_full_file_at(dir_fd, QEMU_CACHE_FILE, QEMU_CACHE_MAX, &text, NULL) < 0)
		return 0;
	if (strncmp(text, key, klen) != 0 || text[klen] != '\n')
		return 0;
	sep = strstr(text + klen + 1, QEMU_CACHE_SEP);
	if (!sep)
		return 0;
	*sep = 0;
	*ret_version = strdup(text + klen + 1);
	*ret_machines = strdup(sep + strlen(QEMU_CACHE_SEP));
	if (!*ret_version || !*ret_machines) {
		free(*ret_version);
		free(*ret_machines);
		return -ENOMEM;
	}
	return 1;
}

/* Best effort: a cache that cannot be written is only a slower next start. */
static void qemu_cache_write(int dir_fd, const char *key, const char *version, const char *machines)
{
	_cleanup_free_ char *text = NULL;

	if (geteuid() != 0 ||
	    asprintf(&text, "%s\n%s%s%s", key, version, QEMU_CACHE_SEP, machines) < 0)
		return;
	(void)write_file_atomic_at(dir_fd, QEMU_CACHE_FILE, text, 0644);
}

int host_qemu_probe_cached(const struct host_root *h, const char *binary, int cache_dir_fd,
			   struct host_qemu *ret)
{
	_cleanup_(host_qemu_done) struct host_qemu q = {};
	_cleanup_free_ char *rel = NULL, *version = NULL, *machines = NULL, *key = NULL;
	bool cached = false;
	int r;

	r = qemu_find_binary(h, binary, &rel);
	if (r < 0)
		return r;
	if (asprintf(&q.binary, "/%s", rel) < 0) {
		q.binary = NULL;
		return -ENOMEM;
	}
	if (cache_dir_fd >= 0 && h->is_real && qemu_cache_key(h, rel, &key) >= 0) {
		r = qemu_cache_read(cache_dir_fd, key, &version, &machines);
		if (r < 0)
			return r;
		cached = r > 0;
	}

	if (!cached) {
		r = qemu_run(h, rel, q.binary, (const char *const[]){ "-version", NULL }, &version);
		if (r < 0)
			return r;
	}
	/* The parsers cut the text up: what goes into the cache is copied first. */
	if (!cached && key) {
		r = qemu_run(h, rel, q.binary, (const char *const[]){ "-machine", "help", NULL },
			     &machines);
		if (r < 0)
			return r;
		qemu_cache_write(cache_dir_fd, key, version, machines);
	}
	r = parse_version(version, &q);
	if (r < 0)
		return r;
	if (!machines) {
		r = qemu_run(h, rel, q.binary, (const char *const[]){ "-machine", "help", NULL },
			     &machines);
		if (r < 0)
			return r;
	}
	r = parse_machines(machines, &q);
	if (r < 0)
		return r;

	q.has_run_with = host_qemu_version_at_least(&q, 8, 1);
	q.has_runas = !host_qemu_version_at_least(&q, 10, 0);

	*ret = q;
	q = (struct host_qemu){};
	return 0;
}

int host_qemu_probe(const struct host_root *h, const char *binary, struct host_qemu *ret)
{
	return host_qemu_probe_cached(h, binary, -1, ret);
}

int host_qemu_resolve_machine(const struct host_qemu *q, const char *name, char **ret)
{
	const char *target = name;
	char *s;

	if (!name)
		return -EINVAL;
	for (size_t i = 0; q && i < q->n_aliases; i++)
		if (streq(q->aliases[i].name, name)) {
			target = q->aliases[i].target;
			break;
		}
	s = strdup(target);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

bool host_qemu_has_machine(const struct host_qemu *q, const char *name)
{
	if (!q || !name)
		return false;
	strv_foreach (m, q->machines)
		if (streq(*m, name))
			return true;
	return false;
}

bool host_qemu_version_at_least(const struct host_qemu *q, unsigned major, unsigned minor)
{
	return q->major > major || (q->major == major && q->minor >= minor);
}
