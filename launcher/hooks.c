/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * [hook NAME] sections: programs gamevm runs when a VM starts and after it
 * stopped (hooks.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"

#define HOOK_LINE_MAX 1024

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Each complete line of buf as a log line; what is left (a partial line) moves to the front. */
static size_t log_lines(const struct vm_hook *h, char *buf, size_t len, bool flush)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n' && !(flush && i == len - 1))
			continue;
		buf[buf[i] == '\n' ? i : i + 1] = 0;
		for (char *c = buf + start; *c; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t')
				*c = '?'; /* no terminal escapes from a program's output */
		log_info("hook %s: %s", h->name, buf + start);
		start = i + 1;
	}
	memmove(buf, buf + start, len - start);
	return len - start;
}

/*
 * Runs one hook: stdout and stderr into the log, line by line, until it
 * exits or its timeout passes (then SIGKILL). 0 when it exited 0.
 */
static int hook_run(const struct vm_hook *h, const char *vm, const char *event)
{
	_cleanup_free_ char *env_vm = NULL, *env_event = NULL, *why = NULL;
	struct spawn_opts o = SPAWN_OPTS_INIT;
	struct child child = CHILD_NULL;
	int pipefd[2] = { -1, -1 }, status = 0, r;
	char buf[HOOK_LINE_MAX + 1];
	size_t len = 0;
	uint64_t deadline;
	bool timed_out = false;

	if (asprintf(&env_vm, "GAMEVM_VM=%s", vm) < 0 ||
	    asprintf(&env_event, "GAMEVM_EVENT=%s", event) < 0)
		return log_error_errno(-ENOMEM, "Out of memory.");
	char *env[] = { (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			env_vm, env_event, NULL };

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return log_error_errno(NEG_ERRNO(), "Failed to create a pipe for hook %s: %m",
				       h->name);
	o.argv = h->argv;
	o.env = env;
	/* gamevm's own user and capabilities: ddcutil needs /dev/i2c-*, which is root's. */
	o.drop_caps = false;
	o.no_new_privs = true;
	o.stdout_fd = o.stderr_fd = pipefd[1];
	o.pdeathsig = SIGTERM;
	r = spawn_child(&o, h->name, &child, &why);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		return log_error_errno(r, "Hook %s: cannot run '%s': %s: %m", h->name, h->argv[0],
				       strna(why));
	}

	deadline = now_ms() + (uint64_t)h->timeout_s * 1000;
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		uint64_t t = now_ms();
		ssize_t n;

		if (t >= deadline) {
			timed_out = true;
			break;
		}
		r = poll(&p, 1, (int)MIN(deadline - t, (uint64_t)1000));
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		n = read(pipefd[0], buf + len, HOOK_LINE_MAX - len);
		if (n <= 0)
			break; /* EOF: it closed its output (normally: it exited) */
		len += (size_t)n;
		len = log_lines(h, buf, len, len == HOOK_LINE_MAX);
	}
	if (len > 0)
		log_lines(h, buf, len, true);
	close(pipefd[0]);

	if (timed_out) {
		child_kill_and_reap(&child);
		log_error("Hook %s: '%s' still ran after %u s (timeout); killed it.", h->name,
			  h->argv[0], h->timeout_s);
		return -ETIMEDOUT;
	}
	/* Its output closed: give it the rest of its time to exit. */
	{
		uint64_t t = now_ms();

		r = child_wait(&child,
			       t >= deadline ? 0 : (int)MIN(deadline - t, (uint64_t)INT32_MAX),
			       &status);
	}
	if (r == -ETIMEDOUT) {
		child_kill_and_reap(&child);
		log_error("Hook %s: '%s' still ran after %u s (timeout); killed it.", h->name,
			  h->argv[0], h->timeout_s);
		return -ETIMEDOUT;
	}
	if (r < 0)
		return log_error_errno(r, "Hook %s: failed to wait for '%s': %m", h->name,
				       h->argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("Hook %s ('%s') done.", h->name, h->argv[0]);
		return 0;
	}
	if (WIFEXITED(status))
		log_error("Hook %s: '%s' exited with status %d.", h->name, h->argv[0],
			  WEXITSTATUS(status));
	else
		log_error("Hook %s: '%s' was killed by signal %d.", h->name, h->argv[0],
			  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -EPROTO;
}

int hooks_run(const struct vm_config *c, enum hook_when when)
{
	int ret = 0;

	for (size_t i = 0; i < c->n_hooks; i++) {
		const struct vm_hook *h = &c->hooks[i];
		int r;

		if (h->when != when)
			continue;
		r = hook_run(h, c->name, hook_when_to_string(when));
		if (r < 0 && h->required && when == HOOK_START && ret == 0)
			ret = r;
	}
	return ret;
}

bool hooks_any(const struct vm_config *c, enum hook_when when)
{
	for (size_t i = 0; i < c->n_hooks; i++)
		if (c->hooks[i].when == when)
			return true;
	return false;
}
