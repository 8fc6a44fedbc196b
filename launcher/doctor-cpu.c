/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The doctor on CPUs and KVM: KVM usable for this VM (and SMM for Secure
 * Boot), kvm.ignore_msrs, topoext for SMT guests on AMD, irqbalance
 * undoing the IRQ moves, IRQs and workqueues on the VM's CPUs when
 * [tuning] leaves them, the clocksource, split-lock detection.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "fileio.h"
#include "macro.h"

static bool uses_kvm(const struct doctor *d)
{
	return d->p && d->p->accel == ACCEL_KVM;
}

int doctor_check_kvm(struct doctor *d)
{
	const struct host_kvm *k = &d->f->kvm;
	enum kvm_verdict v = host_kvm_verdict(k);
	_cleanup_free_ char *why = NULL, *msrs = NULL;
	int r;

	if (host_kvm_describe(k, &why) < 0)
		return -ENOMEM;
	switch (v) {
	case KVM_VERDICT_ABSENT:
		r = doctor_add(
			d, "kvm.usable", DOCTOR_WARN, "dev/kvm",
			"enable SVM (AMD) or VT-x (Intel) in the firmware setup and load kvm_amd / kvm_intel",
			"no /dev/kvm: only QEMU's emulator (TCG) can run the VM, far too slow for games");
		break;
	case KVM_VERDICT_UNUSABLE:
		r = doctor_add(
			d, "kvm.usable", DOCTOR_WARN, "dev/kvm",
			k->error == -EACCES
				? "add QEMU's user to group kvm"
				: "run on the host itself, or enable nested virtualization with EPT/NPT",
			"KVM cannot run this VM's firmware: %s", why);
		break;
	case KVM_VERDICT_NO_SMM:
		r = doctor_add(
			d, "kvm.usable", DOCTOR_WARN, "dev/kvm",
			"run on the host itself (a nested or paravirtual KVM lacks SMM)",
			"KVM runs firmware, without System Management Mode (Secure Boot needs it): %s",
			why);
		break;
	default:
		r = doctor_add(d, "kvm.usable", DOCTOR_PASS, "dev/kvm", NULL, "KVM is usable: %s",
			       why);
		break;
	}
	if (r < 0 || v < KVM_VERDICT_NO_SMM)
		return r;
	/* Windows and anti-cheat read MSRs KVM does not emulate: a #GP is a blue screen. */
	if (read_one_line_at(d->h->sys_fd, "module/kvm/parameters/ignore_msrs", &msrs) < 0)
		return 0;
	if (streq(msrs, "Y") || streq(msrs, "1"))
		return doctor_add(d, "kvm.ignore_msrs", DOCTOR_PASS,
				  "sys/module/kvm/parameters/ignore_msrs", NULL,
				  "KVM ignores unknown MSRs (ignore_msrs=Y)");
	return doctor_add(
		d, "kvm.ignore_msrs", DOCTOR_WARN, "sys/module/kvm/parameters/ignore_msrs",
		"echo 'options kvm ignore_msrs=1 report_ignored_msrs=0' > /etc/modprobe.d/kvm.conf (and reload kvm, or reboot)",
		"KVM injects a fault for unknown MSRs: some games and tools (anti-cheat, monitoring) crash Windows with it");
}

/* SMT guests on AMD: without topoext Windows sees every thread as a core. */
static int check_topoext(struct doctor *d)
{
	if (!d->c || !d->p || !uses_kvm(d) || d->p->topology.threads < 2 ||
	    !streq_ptr(d->f->cpus.vendor, "AuthenticAMD"))
		return 0;
	if (doctor_cpu_flag(d, "topoext"))
		return doctor_add(d, "cpu.topoext", DOCTOR_PASS, "proc/cpuinfo", NULL,
				  "topoext present: the guest sees %u threads per core",
				  d->p->topology.threads);
	return doctor_add(d, "cpu.topoext", DOCTOR_WARN, "proc/cpuinfo",
			  "set [cpu] threads = 1 (or update the host's microcode and kernel)",
			  "this AMD CPU does not report topoext: the guest sees no SMT siblings");
}

/* Whether a process with this comm runs (proc/PID/comm). */
static bool process_running(const struct doctor *d, const char *comm)
{
	bool found = false;
	DIR *dir;
	int fd;

	if (d->h->proc_fd < 0)
		return false;
	fd = openat(d->h->proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	for (struct dirent *e; !found && (e = readdir(dir));) {
		_cleanup_free_ char *c = NULL;
		char path[300];

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/comm", e->d_name);
		if (read_one_line_at(d->h->proc_fd, path, &c) >= 0 && streq(c, comm))
			found = true;
	}
	closedir(dir);
	return found;
}

static int check_irqs(struct doctor *d)
{
	if (!d->c || !d->p || !d->p->vcpu_pin)
		return 0;
	if (d->c->tune_irq_affinity && process_running(d, "irqbalance"))
		return doctor_add(
			d, "cpu.irqbalance", DOCTOR_WARN, "proc/*/comm",
			"stop irqbalance while the VM runs (systemctl stop irqbalance), or give it IRQBALANCE_BANNED_CPULIST with the vCPUs' CPUs",
			"irqbalance runs: it moves IRQs back onto the vCPUs' CPUs after gamevm moved them off");
	if (!d->c->tune_irq_affinity)
		return doctor_add(
			d, "cpu.irqs", DOCTOR_WARN, NULL, "set [tuning] irq-affinity = yes",
			"host IRQs stay allowed on the vCPUs' CPUs ([tuning] irq-affinity = no): expect latency spikes in games");
	return doctor_add(d, "cpu.irqs", DOCTOR_PASS, NULL, NULL,
			  "gamevm moves host IRQs to the housekeeping CPUs while the VM runs");
}

static int check_workqueues(struct doctor *d)
{
	if (!d->c || !d->p || !d->p->vcpu_pin || d->c->tune_workqueues)
		return 0;
	return doctor_add(d, "cpu.workqueues", DOCTOR_WARN, "sys/devices/virtual/workqueue/cpumask",
			  "set [tuning] workqueues = yes",
			  "unbound kernel work may run on the vCPUs' CPUs while the VM runs");
}

static int check_clocksource(struct doctor *d)
{
	_cleanup_free_ char *cs = NULL;
	const char *src = "sys/devices/system/clocksource/clocksource0/current_clocksource";

	if (read_one_line_at(d->h->sys_fd,
			     "devices/system/clocksource/clocksource0/current_clocksource",
			     &cs) < 0)
		return 0;
	if (streq(cs, "tsc"))
		return doctor_add(d, "cpu.clocksource", DOCTOR_PASS, src, NULL,
				  "the host keeps time with the TSC");
	/* A guest of another hypervisor (kvm-clock, hyperv_clocksource) is not a fault here. */
	if (!streq(cs, "hpet") && !streq(cs, "acpi_pm"))
		return doctor_add(d, "cpu.clocksource", DOCTOR_PASS, src, NULL,
				  "the host keeps time with %s", cs);
	return doctor_add(
		d, "cpu.clocksource", DOCTOR_WARN, src,
		"look for 'clocksource: Marking clocksource tsc as unstable' in the kernel log; update the firmware, or add tsc=reliable if the TSC is known good",
		"the host keeps time with %s, not the TSC: every clock read is slow, and so is the VM's timekeeping",
		cs);
}

/* Since Linux 5.19 a split lock makes the thread sleep: some games hit it all the time. */
static int check_split_lock(struct doctor *d)
{
	_cleanup_free_ char *v = NULL;

	if (!doctor_cpu_flag(d, "split_lock_detect"))
		return 0;
	if (doctor_cmdline_find(d, "split_lock_detect", &v) && streq(v, "off"))
		return doctor_add(d, "cpu.split_lock", DOCTOR_PASS, "proc/cmdline", NULL,
				  "split-lock detection is off");
	return doctor_add(
		d, "cpu.split_lock", DOCTOR_WARN, "proc/cmdline",
		"add split_lock_detect=off to the kernel command line (or sysctl kernel.split_lock_mitigate=0)",
		"split-lock detection is on: a game that takes split locks is slowed to a crawl (the kernel makes the vCPU sleep)");
}

int doctor_check_cpu(struct doctor *d)
{
	int r = check_topoext(d);

	if (r >= 0)
		r = check_irqs(d);
	if (r >= 0)
		r = check_workqueues(d);
	if (r >= 0)
		r = check_clocksource(d);
	if (r >= 0)
		r = check_split_lock(d);
	return r;
}
