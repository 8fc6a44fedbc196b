/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hyper-V enlightenments: each flag resolved against what KVM reports in
 * its Hyper-V CPUID (KVM_GET_SUPPORTED_HV_CPUID), with QEMU's own
 * dependency rules applied here so that a refused combination is reported
 * with the config line before QEMU ever runs, in QEMU's words.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "plan-internal.h"

/* QEMU's kvm_hyperv_properties[].dependencies (target/i386/kvm/kvm.c). */
static const struct {
	enum hv_flag flag;
	enum hv_flag needs;
} hv_deps[] = {
	{ HV_SYNIC, HV_VPINDEX },	 { HV_STIMER, HV_SYNIC },     { HV_STIMER, HV_TIME },
	{ HV_STIMER_DIRECT, HV_STIMER }, { HV_TLBFLUSH, HV_VPINDEX }, { HV_IPI, HV_VPINDEX },
	{ HV_EVMCS, HV_VAPIC },
};

/* Where a flag is set in the config: hv-time is [clock] hypervclock. */
static const char *hv_section(enum hv_flag fl)
{
	return fl == HV_TIME ? "clock" : "hyperv";
}

static const char *hv_key(enum hv_flag fl)
{
	return fl == HV_TIME ? "hypervclock" : hv_flag_to_string(fl);
}

int plan_hyperv(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		struct plan_diags *d)
{
	const struct vm_hyperv *h = &c->hyperv;
	bool intel = f->cpus.vendor && streq(f->cpus.vendor, "GenuineIntel");
	bool any = h->passthrough;
	bool changed;
	int r;

	if (!h->enabled || p->kvm_refused)
		return 0;
	for (int i = 0; i < _HV_FLAG_MAX; i++)
		any = any || h->flags[i] != TRISTATE_OFF;
	if (p->accel != ACCEL_KVM) {
		if (!any)
			return 0;
		return plan_diag_key(d, LOG_NOTICE, c, "hyperv", "enabled", 0,
				     "Hyper-V enlightenments (hv-*) need KVM: left out under TCG");
	}

	p->hyperv = true;
	if (h->spinlocks > 0 && h->spinlocks < 0xfff) {
		r = plan_diag_key(d, LOG_ERR, c, "hyperv", "spinlocks", 0,
				  "%u retries is below QEMU's minimum of 4095 (0xfff)",
				  h->spinlocks);
		if (r < 0)
			return r;
	}
	if (h->passthrough) {
		p->hv_passthrough = true;
		if (f->kvm.hv_cpuid)
			return 0;
		return plan_diag_key(
			d, LOG_ERR, c, "hyperv", "passthrough", 0,
			"hv-passthrough copies KVM's Hyper-V CPUID, but this KVM does not report one (KVM_GET_SUPPORTED_HV_CPUID failed): list the flags instead");
	}

	if (!f->kvm.hv_cpuid && any) {
		r = plan_diag_key(
			d, LOG_NOTICE, c, "hyperv", "enabled", 0,
			"this KVM does not report its Hyper-V CPUID (KVM_GET_SUPPORTED_HV_CPUID): flags set to auto stay off");
		if (r < 0)
			return r;
	}

	for (int i = 0; i < _HV_FLAG_MAX; i++) {
		enum hv_flag fl = (enum hv_flag)i;
		bool supported = host_kvm_hv_supported(&f->kvm, fl);

		switch (h->flags[i]) {
		case TRISTATE_ON:
			p->hv[i] = true;
			if (supported)
				break;
			r = plan_diag_key(
				d, LOG_ERR, c, hv_section(fl), hv_key(fl), 0,
				"Hyper-V %s is not supported by kernel: set %s = auto (on where KVM has it) or no",
				hv_flag_description(fl), hv_key(fl));
			if (r < 0)
				return r;
			break;
		case TRISTATE_AUTO:
			/* eVMCS is nested VMX state: an Intel-only enlightenment. */
			p->hv[i] = supported && (fl != HV_EVMCS || intel);
			break;
		case TRISTATE_OFF:
		default:
			p->hv[i] = false;
			break;
		}
	}

	/*
	 * Dependencies, to a fixed point: an auto flag whose dependency is off
	 * is dropped (which may drop others); a flag set to yes is an error.
	 */
	do {
		changed = false;
		for (size_t i = 0; i < ELEMENTSOF(hv_deps); i++) {
			enum hv_flag fl = hv_deps[i].flag, need = hv_deps[i].needs;

			if (!p->hv[fl] || p->hv[need])
				continue;
			p->hv[fl] = false;
			changed = true;
			if (h->flags[fl] != TRISTATE_ON) {
				r = plan_diag_key(
					d, LOG_NOTICE, c, hv_section(fl), hv_key(fl), 0,
					"Hyper-V %s left off: it requires Hyper-V %s, which is off",
					hv_flag_description(fl), hv_flag_description(need));
				if (r < 0)
					return r;
				continue;
			}
			r = plan_diag_key(
				d, LOG_ERR, c, hv_section(fl), hv_key(fl), 0,
				"Hyper-V %s requires Hyper-V %s: set %s = yes or auto (%s)",
				hv_flag_description(fl), hv_flag_description(need), hv_key(need),
				h->flags[need] == TRISTATE_OFF ? "it is set to no"
							       : "KVM does not offer it");
			if (r < 0)
				return r;
		}
	} while (changed);
	return 0;
}
