/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "parse-util.h"
#include "pin.h"

/* A /proc status file is a few KiB; anything near this is not one. */
#define PROC_STATUS_MAX (64 * 1024)

static const char *const role_names[] = {
	[PIN_ROLE_VCPU] = "vcpu",
	[PIN_ROLE_IOTHREAD] = "iothread",
	[PIN_ROLE_EMULATOR] = "emulator",
};

const char *pin_role_to_string(enum pin_role r)
{
	return (unsigned)r < ELEMENTSOF(role_names) ? role_names[r] : NULL;
}

static void pin_entry_done(struct pin_entry *e)
{
	free(e->name);
	free(e->planned);
	free(e->applied);
}

void pin_report_done(struct pin_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		pin_entry_done(&r->v[i]);
	free(r->v);
	*r = (struct pin_report){ 0 };
}

bool pin_entry_ok(const struct pin_entry *e)
{
	return e->error == 0 && e->applied && e->planned && streq(e->applied, e->planned);
}

bool pin_report_failed(const struct pin_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (!pin_entry_ok(&r->v[i]))
			return true;
	return false;
}

bool pin_target_is_empty(const struct pin_target *t)
{
	return !t->vcpu_pin && t->n_housekeeping == 0;
}

int pin_entry_format(const struct pin_entry *e, char **ret)
{
	char who[160];
	const char *set = e->applied ? e->applied : e->planned;
	bool one = set && !strpbrk(set, ",-");
	char *s;
	int n;

	switch (e->role) {
	case PIN_ROLE_VCPU:
		snprintf(who, sizeof(who), "vCPU %d (tid %d)", e->vcpu, (int)e->tid);
		break;
	case PIN_ROLE_IOTHREAD:
		snprintf(who, sizeof(who), "I/O thread %s (tid %d)", strna(e->name), (int)e->tid);
		break;
	default:
		snprintf(who, sizeof(who), "thread '%s' (tid %d)", strna(e->name), (int)e->tid);
		break;
	}

	if (e->error)
		n = asprintf(&s, "%s -> %s %s: %s", who, one ? "CPU" : "CPUs", strna(e->planned),
			     strerror(-e->error));
	else if (!pin_entry_ok(e))
		n = asprintf(&s, "%s -> CPUs %s, but planned %s", who, strna(e->applied),
			     strna(e->planned));
	else
		n = asprintf(&s, "%s -> %s %s", who, one ? "CPU" : "CPUs", e->applied);
	if (n < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int pin_status_cpus_allowed(const char *status, char **ret)
{
	static const char key[] = "Cpus_allowed_list:";
	const char *p = status;

	while (p && *p) {
		const char *eol = strchrnul(p, '\n');

		if (strncmp(p, key, sizeof(key) - 1) == 0) {
			const char *v = p + sizeof(key) - 1;
			size_t len;
			char *s;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			len = (size_t)(eol - v);
			while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
				len--;
			if (len == 0)
				return -EBADMSG;
			s = strndup(v, len);
			if (!s)
				return -ENOMEM;
			*ret = s;
			return 0;
		}
		p = *eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

enum pin_role pin_classify(const struct pin_target *t, pid_t tid, size_t *ret_index)
{
	for (size_t i = 0; i < t->n_vcpus; i++)
		if (t->vcpus[i].tid == tid) {
			if (ret_index)
				*ret_index = i;
			return PIN_ROLE_VCPU;
		}
	for (size_t i = 0; i < t->n_iothreads; i++)
		if (t->iothreads[i].tid == tid) {
			if (ret_index)
				*ret_index = i;
			return PIN_ROLE_IOTHREAD;
		}
	return PIN_ROLE_EMULATOR;
}

int pin_cpuset_from_list(const unsigned *cpus, size_t n, cpu_set_t *ret)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (size_t i = 0; i < n; i++) {
		if (cpus[i] >= CPU_SETSIZE)
			return -ERANGE;
		CPU_SET(cpus[i], &set);
	}
	*ret = set;
	return 0;
}

int pin_cpuset_to_list(const cpu_set_t *set, unsigned **ret, size_t *ret_n)
{
	size_t n = (size_t)CPU_COUNT(set), k = 0;
	unsigned *v = NULL;

	if (n > 0) {
		v = malloc(n * sizeof(unsigned));
		if (!v)
			return -ENOMEM;
		for (unsigned cpu = 0; cpu < CPU_SETSIZE && k < n; cpu++)
			if (CPU_ISSET(cpu, set))
				v[k++] = cpu;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int pin_cpuset_format(const cpu_set_t *set, char **ret)
{
	_cleanup_free_ unsigned *v = NULL;
	size_t n;
	int r;

	r = pin_cpuset_to_list(set, &v, &n);
	if (r < 0)
		return r;
	return format_cpu_list(v, n, ret);
}

int pin_list_threads(const struct host_root *h, pid_t pid, pid_t **ret, size_t *ret_n)
{
	_cleanup_free_ pid_t *v = NULL;
	size_t n = 0, cap = 0;
	char path[64];
	struct dirent *de;
	DIR *d;
	int fd;

	if (h->proc_fd < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "%d/task", (int)pid);
	fd = openat(h->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NEG_ERRNO();
	d = fdopendir(fd);
	if (!d) {
		int r = NEG_ERRNO();
		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		int tid;

		if (safe_atoi(de->d_name, &tid) < 0 || tid <= 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			pid_t *nv = realloc(v, ncap * sizeof(pid_t));

			if (!nv) {
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = tid;
	}
	if (errno) {
		int r = NEG_ERRNO();
		closedir(d);
		return r;
	}
	closedir(d);
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int pin_read_cpus_allowed(const struct host_root *h, pid_t pid, pid_t tid, char **ret)
{
	_cleanup_free_ char *text = NULL;
	char path[96];
	int r;

	if (h->proc_fd < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "%d/task/%d/status", (int)pid, (int)tid);
	r = read_full_file_at(h->proc_fd, path, PROC_STATUS_MAX, &text, NULL);
	if (r < 0)
		return r;
	return pin_status_cpus_allowed(text, ret);
}

static char *thread_comm(const struct host_root *h, pid_t pid, pid_t tid)
{
	char path[96], *s = NULL;

	snprintf(path, sizeof(path), "%d/task/%d/comm", (int)pid, (int)tid);
	if (read_one_line_at(h->proc_fd, path, &s) < 0)
		return NULL;
	return s;
}

static int report_add(struct pin_report *r, struct pin_entry **ret)
{
	struct pin_entry *v;

	v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->v = v;
	v[r->n] = (struct pin_entry){ .vcpu = -1 };
	*ret = &v[r->n++];
	return 0;
}

/* Sets tid's affinity to want and records what the kernel then reports. */
static int place_thread(pid_t tid, const cpu_set_t *want, struct pin_entry *e)
{
	cpu_set_t got;
	int r;

	r = pin_cpuset_format(want, &e->planned);
	if (r < 0)
		return r;
	if (sched_setaffinity(tid, sizeof(*want), want) < 0) {
		e->error = NEG_ERRNO();
		return 0;
	}
	CPU_ZERO(&got);
	if (sched_getaffinity(tid, sizeof(got), &got) < 0) {
		e->error = NEG_ERRNO();
		return 0;
	}
	return pin_cpuset_format(&got, &e->applied);
}

/* Drops the last entry: an emulator thread that exited while we looked at it. */
static void report_drop_last(struct pin_report *r)
{
	pin_entry_done(&r->v[--r->n]);
}

static bool tid_in(const pid_t *tids, size_t n, pid_t tid)
{
	for (size_t i = 0; i < n; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

static int place_others(const struct host_root *h, const struct pin_target *t, const pid_t *tids,
			size_t n_tids, const cpu_set_t *hk, bool only_new, struct pin_report *rep)
{
	for (size_t i = 0; i < n_tids; i++) {
		struct pin_entry *e;
		cpu_set_t cur;
		int r;

		if (pin_classify(t, tids[i], NULL) != PIN_ROLE_EMULATOR)
			continue;
		if (only_new) {
			if (sched_getaffinity(tids[i], sizeof(cur), &cur) < 0)
				continue; /* gone meanwhile */
			if (CPU_EQUAL(&cur, hk))
				continue;
		}
		r = report_add(rep, &e);
		if (r < 0)
			return r;
		e->role = PIN_ROLE_EMULATOR;
		e->tid = tids[i];
		e->name = thread_comm(h, t->pid, tids[i]);
		r = place_thread(tids[i], hk, e);
		if (r < 0)
			return r;
		if (e->error == -ESRCH)
			report_drop_last(rep);
	}
	return 0;
}

int pin_apply(const struct host_root *h, const struct pin_target *t, struct pin_report *ret)
{
	_cleanup_(pin_report_done) struct pin_report rep = { 0 };
	_cleanup_free_ pid_t *tids = NULL;
	cpu_set_t hk;
	size_t n_tids;
	int r;

	if (pin_target_is_empty(t)) {
		*ret = (struct pin_report){ .configured = false };
		return 0;
	}
	rep.configured = true;
	r = pin_cpuset_from_list(t->housekeeping, t->n_housekeeping, &hk);
	if (r < 0)
		return r;
	r = pin_list_threads(h, t->pid, &tids, &n_tids);
	if (r < 0)
		return r;

	for (size_t i = 0; t->vcpu_pin && i < t->n_vcpus; i++) {
		const struct pin_vcpu *v = &t->vcpus[i];
		struct pin_entry *e;
		cpu_set_t want;

		r = report_add(&rep, &e);
		if (r < 0)
			return r;
		e->role = PIN_ROLE_VCPU;
		e->tid = v->tid;
		e->vcpu = (int)v->index;
		e->name = thread_comm(h, t->pid, v->tid);
		if (v->index >= t->n_vcpu_pin) {
			e->error = -ERANGE; /* QEMU has more vCPUs than the plan */
			continue;
		}
		if (!tid_in(tids, n_tids, v->tid)) {
			/* Not a thread of this QEMU: never touch someone else's thread. */
			e->error = -ESRCH;
			continue;
		}
		r = pin_cpuset_from_list(&t->vcpu_pin[v->index], 1, &want);
		if (r < 0)
			return r;
		r = place_thread(v->tid, &want, e);
		if (r < 0)
			return r;
	}

	if (t->n_housekeeping > 0) {
		for (size_t i = 0; i < t->n_iothreads; i++) {
			const struct pin_iothread *io = &t->iothreads[i];
			struct pin_entry *e;

			r = report_add(&rep, &e);
			if (r < 0)
				return r;
			e->role = PIN_ROLE_IOTHREAD;
			e->tid = io->tid;
			if (io->id && !(e->name = strdup(io->id)))
				return -ENOMEM;
			if (!tid_in(tids, n_tids, io->tid)) {
				e->error = -ESRCH;
				r = pin_cpuset_format(&hk, &e->planned);
				if (r < 0)
					return r;
				continue;
			}
			r = place_thread(io->tid, &hk, e);
			if (r < 0)
				return r;
		}
		r = place_others(h, t, tids, n_tids, &hk, false, &rep);
		if (r < 0)
			return r;
	}

	*ret = rep;
	rep = (struct pin_report){ 0 };
	return 0;
}

int pin_sweep_new_threads(const struct host_root *h, const struct pin_target *t,
			  struct pin_report *ret)
{
	_cleanup_(pin_report_done) struct pin_report rep = { .configured = true };
	_cleanup_free_ pid_t *tids = NULL;
	cpu_set_t hk;
	size_t n_tids;
	int r;

	if (t->n_housekeeping == 0) {
		*ret = (struct pin_report){ .configured = !pin_target_is_empty(t) };
		return 0;
	}
	r = pin_cpuset_from_list(t->housekeeping, t->n_housekeeping, &hk);
	if (r < 0)
		return r;
	r = pin_list_threads(h, t->pid, &tids, &n_tids);
	if (r < 0)
		return r;
	r = place_others(h, t, tids, n_tids, &hk, true, &rep);
	if (r < 0)
		return r;
	*ret = rep;
	rep = (struct pin_report){ 0 };
	return 0;
}
