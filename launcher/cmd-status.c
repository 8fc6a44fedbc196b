/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm status NAME [--json]: what the supervisor recorded in status.json
 * (state, pids, start time, QEMU version, vCPU and I/O threads with their
 * planned host CPUs) next to where each thread is allowed to run right now,
 * read back from the kernel (/proc/QEMU/task/TID/status). Exit status 3
 * when the VM is not running, like an LSB init script's status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli.h"
#include "fileio.h"
#include "hostroot.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "pin.h"
#include "vm-dirs.h"

#define STATUS_NOT_RUNNING 3

static void format_uptime(uint64_t s, char *buf, size_t size)
{
	if (s >= 86400)
		snprintf(buf, size, "%llud %lluh %llum", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else if (s >= 3600)
		snprintf(buf, size, "%lluh %llum %llus", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60), (unsigned long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, size, "%llum %llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, size, "%llus", (unsigned long long)s);
}

static int not_running(const struct cli *cl, const char *name)
{
	if (cl->json) {
		struct json_object *o = json_object_new_object();

		if (!o)
			return log_error_errno(-ENOMEM, "Out of memory.");
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "running", json_object_new_boolean(false));
		json_object_object_add(o, "state", json_object_new_string("stopped"));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_SPACED));
		json_object_put(o);
	} else {
		printf("VM '%s' is not running.\n", name);
	}
	return STATUS_NOT_RUNNING;
}

/* Current CPU list of a thread of QEMU, NULL (and "gone" in text) when it cannot be read. */
static char *thread_cpus(const struct host_root *h, pid_t qemu, pid_t tid)
{
	char *s = NULL;

	if (qemu <= 0 || tid <= 0 || pin_read_cpus_allowed(h, qemu, tid, &s) < 0)
		return NULL;
	return s;
}

/* The driver a passed-through device is bound to now (vfio-pci while the VM runs); NULL: none. */
static char *hostdev_driver(const struct host_root *h, const char *addr)
{
	struct pci_addr a;
	char path[128];
	char *drv = NULL;

	if (h->sys_fd < 0 || parse_pci_addr(addr, &a) < 0)
		return NULL;
	snprintf(path, sizeof(path), "bus/pci/devices/%s/driver", addr);
	if (read_link_basename_at(h->sys_fd, path, &drv) < 0)
		return NULL;
	return drv;
}

static int print_json(const struct vm_status *st, const struct host_root *h, uint64_t uptime)
{
	struct json_object *o = json_object_new_object(), *vcpus = json_object_new_array(),
			   *io = json_object_new_array();

	if (!o || !vcpus || !io) {
		json_object_put(o);
		json_object_put(vcpus);
		json_object_put(io);
		return log_error_errno(-ENOMEM, "Out of memory.");
	}
	json_object_object_add(o, "name", json_object_new_string(st->name));
	json_object_object_add(o, "running", json_object_new_boolean(true));
	json_object_object_add(o, "state", json_object_new_string(vm_state_to_string(st->state)));
	json_object_object_add(o, "gamevm_pid", json_object_new_int(st->gamevm_pid));
	json_object_object_add(o, "qemu_pid", json_object_new_int(st->qemu_pid));
	json_object_object_add(o, "swtpm_pid", json_object_new_int(st->swtpm_pid));
	json_object_object_add(o, "start_time", json_object_new_int64((int64_t)st->start_time));
	json_object_object_add(o, "uptime_s", json_object_new_int64((int64_t)uptime));
	json_object_object_add(o, "qemu_version",
			       st->qemu_version ? json_object_new_string(st->qemu_version) : NULL);
	for (size_t i = 0; i < st->n_vcpus; i++) {
		struct json_object *v = json_object_new_object();
		_cleanup_free_ char *now = thread_cpus(h, st->qemu_pid, st->vcpus[i].tid);

		if (!v)
			break;
		json_object_object_add(v, "index", json_object_new_int((int)st->vcpus[i].index));
		json_object_object_add(v, "tid", json_object_new_int(st->vcpus[i].tid));
		json_object_object_add(v, "host_cpu_planned",
				       st->vcpus[i].host_cpu >= 0
					       ? json_object_new_int(st->vcpus[i].host_cpu)
					       : NULL);
		json_object_object_add(v, "cpus_allowed", now ? json_object_new_string(now) : NULL);
		json_object_array_add(vcpus, v);
	}
	json_object_object_add(o, "vcpus", vcpus);
	for (size_t i = 0; i < st->n_iothreads; i++) {
		struct json_object *v = json_object_new_object();
		_cleanup_free_ char *now = thread_cpus(h, st->qemu_pid, st->iothreads[i].tid);

		if (!v)
			break;
		json_object_object_add(v, "id", json_object_new_string(st->iothreads[i].id));
		json_object_object_add(v, "tid", json_object_new_int(st->iothreads[i].tid));
		json_object_object_add(v, "cpus_allowed", now ? json_object_new_string(now) : NULL);
		json_object_array_add(io, v);
	}
	json_object_object_add(o, "iothreads", io);
	if (st->n_hostdevs > 0) {
		struct json_object *hd = json_object_new_array();

		for (size_t i = 0; hd && i < st->n_hostdevs; i++) {
			struct json_object *v = json_object_new_object();
			_cleanup_free_ char *drv = hostdev_driver(h, st->hostdevs[i].host);

			if (!v)
				break;
			json_object_object_add(v, "host",
					       json_object_new_string(st->hostdevs[i].host));
			json_object_object_add(
				v, "guest",
				st->hostdevs[i].guest
					? json_object_new_string(st->hostdevs[i].guest)
					: NULL);
			json_object_object_add(v, "driver",
					       drv ? json_object_new_string(drv) : NULL);
			json_object_array_add(hd, v);
		}
		json_object_object_add(o, "passthrough", hd);
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

static void print_text(const struct vm_status *st, const struct host_root *h, uint64_t uptime)
{
	char up[64], when[64] = "?";
	time_t t = (time_t)st->start_time;
	struct tm tm;

	format_uptime(uptime, up, sizeof(up));
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("VM '%s': %s\n", st->name, vm_state_to_string(st->state));
	printf("  gamevm pid:   %d\n", (int)st->gamevm_pid);
	if (st->qemu_pid > 0 && st->qemu_version)
		printf("  QEMU pid:     %d (QEMU %s)\n", (int)st->qemu_pid, st->qemu_version);
	else if (st->qemu_pid > 0)
		printf("  QEMU pid:     %d\n", (int)st->qemu_pid);
	if (st->swtpm_pid > 0)
		printf("  swtpm pid:    %d\n", (int)st->swtpm_pid);
	printf("  started:      %s (up %s)\n", when, up);
	if (st->n_vcpus > 0) {
		printf("  %-6s %-9s %-9s %s\n", "vCPU", "thread", "planned", "allowed now");
		for (size_t i = 0; i < st->n_vcpus; i++) {
			_cleanup_free_ char *now = thread_cpus(h, st->qemu_pid, st->vcpus[i].tid);
			char planned[16] = "-";

			if (st->vcpus[i].host_cpu >= 0)
				snprintf(planned, sizeof(planned), "%d", st->vcpus[i].host_cpu);
			printf("  %-6u %-9d %-9s %s\n", st->vcpus[i].index, (int)st->vcpus[i].tid,
			       planned, now ? now : "(thread gone)");
		}
	}
	for (size_t i = 0; i < st->n_iothreads; i++) {
		_cleanup_free_ char *now = thread_cpus(h, st->qemu_pid, st->iothreads[i].tid);

		printf("  I/O thread %s (tid %d): CPUs %s\n", st->iothreads[i].id,
		       (int)st->iothreads[i].tid, now ? now : "(thread gone)");
	}
	for (size_t i = 0; i < st->n_hostdevs; i++) {
		_cleanup_free_ char *drv = hostdev_driver(h, st->hostdevs[i].host);

		printf("  passthrough %s -> guest %s (driver now: %s)\n", st->hostdevs[i].host,
		       st->hostdevs[i].guest ? st->hostdevs[i].guest : "?", drv ? drv : "none");
	}
}

int verb_status(const struct cli *cl)
{
	const char *name = cl->args[0];
	_cleanup_(host_root_close) struct host_root h = HOST_ROOT_NULL;
	_cleanup_(vm_status_done) struct vm_status st = { 0 };
	_cleanup_free_ char *dir = NULL, *why = NULL;
	_cleanup_close_ int fd = -1;
	time_t now;
	uint64_t uptime;
	int r;

	if (!name_is_valid(name))
		return log_error_errno(
			-EINVAL, "'%s' is not a VM name (letters, digits, _ and -, at most %d).",
			name, NAME_MAX_LEN);
	if (asprintf(&dir, "%s/%s", cl->run_dir, name) < 0) {
		dir = NULL;
		return log_error_errno(-ENOMEM, "Out of memory.");
	}
	r = vm_run_dir_open(dir, &fd);
	if (r == -ENOENT)
		return not_running(cl, name);
	if (r < 0)
		return log_error_errno(r, "Failed to open '%s': %m", dir);
	r = vm_lock_probe(fd, NULL);
	if (r < 0)
		return log_error_errno(r, "Failed to check the lock in '%s': %m", dir);
	if (r == 0)
		return not_running(cl, name);
	r = vm_status_read(fd, &st, &why);
	if (r == -ENOENT) {
		/* Locked but no status yet: the supervisor is preparing (NVRAM, TPM). */
		st = (struct vm_status){ .state = VM_STATE_STARTING };
		st.name = strdup(name);
		if (!st.name)
			return log_error_errno(-ENOMEM, "Out of memory.");
	} else if (r < 0) {
		return log_error_errno(r, "Failed to read %s/%s: %s", dir, VM_STATUS_FILE,
				       why ? why : strerror(-r));
	}
	r = host_root_open(cl->root, &h);
	if (r < 0)
		return log_error_errno(r, "Failed to open host root '%s': %m", cl->root);

	now = time(NULL);
	uptime = st.start_time && (uint64_t)now > st.start_time ? (uint64_t)now - st.start_time : 0;
	if (cl->json)
		return print_json(&st, &h, uptime);
	print_text(&st, &h, uptime);
	return 0;
}
