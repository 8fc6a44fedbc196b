/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The doctor behind `gamevm check`: read-only checks of the host (and of
 * a VM's config on it) for what makes a first start fail, each with a
 * verdict, what it read and the exact fix. Nothing is changed; whatever
 * the caller may not read (another user's /proc/PID/fd, the audit log) is
 * reported as not checked, not guessed.
 *
 *   struct doctor d = { .h = &root, .c = conf, .f = &facts, .p = &plan };
 *   doctor_run(&d);             every check, in a fixed order
 *   ... d.results[i] ...        doctor_worst(&d) == DOCTOR_FAIL: will not start
 *   doctor_done(&d);
 *
 * Each check has a stable id ("iommu.enabled", "gpu.bootfb"...), so scripts
 * and tests read `gamevm check --json` by id. Library-style: no printing.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "host.h"
#include "hostroot.h"
#include "plan.h"

enum doctor_status {
	DOCTOR_SKIP, /* not applicable here, or could not be read (info says why) */
	DOCTOR_PASS,
	DOCTOR_WARN, /* starts, but slower, less safe, or may fail later */
	DOCTOR_FAIL, /* the VM cannot start (or cannot work) until fixed */
};

struct doctor_result {
	const char *id; /* static: "iommu.enabled" */
	enum doctor_status status;
	char *info;   /* what was found, one sentence */
	char *source; /* what was read: "sys/kernel/iommu_groups", "proc/cmdline" */
	char *fix;    /* what to do; NULL when nothing is to be done */
};

struct doctor {
	/* input */
	const struct host_root *h;
	const struct vm_config *c; /* NULL: host checks only */
	const struct host_facts *f;
	const struct plan *p;		/* NULL: no plan (it had errors) */
	const struct plan_diags *diags; /* the plan's, reported as checks; may be NULL */
	/* output */
	struct doctor_result *results;
	size_t n_results;
	size_t n_alloc;
};

int doctor_run(struct doctor *d);
void doctor_done(struct doctor *d);
enum doctor_status doctor_worst(const struct doctor *d);
const char *doctor_status_to_string(enum doctor_status s);
const struct doctor_result *doctor_find(const struct doctor *d, const char *id);

/*
 * One result. source and fix may be NULL; info is a format. Returns 0 or
 * -ENOMEM. For the check files (doctor-*.c).
 */
int doctor_add(struct doctor *d, const char *id, enum doctor_status status, const char *source,
	       const char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * Whether the kernel command line has the word key or key=...; the last
 * one's value ("" for a bare key) in *ret_value when not NULL (free it). False also
 * when out of memory for the value.
 */
bool doctor_cmdline_find(const struct doctor *d, const char *key, char **ret_value);

/* Whether proc/cpuinfo's first "flags" line has flag. */
bool doctor_cpu_flag(const struct doctor *d, const char *flag);

static inline bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The checks, by subject (doctor-*.c); each returns 0 or -ENOMEM. */
int doctor_check_iommu(struct doctor *d);
int doctor_check_devices(struct doctor *d);
int doctor_check_memory(struct doctor *d);
int doctor_check_cpu(struct doctor *d);
int doctor_check_kvm(struct doctor *d);
int doctor_check_firmware(struct doctor *d);
/* [input] evdev devices (doctor-desktop.c). */
int doctor_check_desktop(struct doctor *d);
