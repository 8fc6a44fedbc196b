/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QEMU command line, built from the config and the plan alone. The order
 * is fixed, so golden files (tests/golden/) pin it down item by item:
 *
 *   binary, -name, -S, -no-user-config, -nodefaults, -machine, -accel, -cpu,
 *   -m, -object memory-backend,
 *   -overcommit, -smp, -uuid, -smbios (0,1,2,3), -rtc, -global (PIT, S3/S4, watchdog, pflash),
 * -watchdog-action, -blockdev (firmware), -object iothread, -device pcie-root-port, vfio-pci,
 * qemu-xhci, disks, TPM, NICs, display, serial, QMP (fd 3), -sandbox, -msg, then [qemu] extra.
 *
 * Everything is key=value (not JSON) so a human can read and paste it; every
 * value that comes from the user or the host goes through qemu_opt_escape().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan-internal.h"

void qopts_add(struct qopts *o, const char *fmt, ...)
{
	_cleanup_free_ char *piece = NULL;
	va_list ap;
	size_t n;
	char *t;
	int r;

	if (o->err)
		return;
	va_start(ap, fmt);
	r = vasprintf(&piece, fmt, ap);
	va_end(ap);
	if (r < 0) {
		piece = NULL;
		o->err = -ENOMEM;
		return;
	}
	n = (size_t)r;
	t = realloc(o->s, o->len + n + 2);
	if (!t) {
		o->err = -ENOMEM;
		return;
	}
	o->s = t;
	if (o->len > 0)
		o->s[o->len++] = ',';
	memcpy(o->s + o->len, piece, n + 1);
	o->len += n;
}

void qopts_str(struct qopts *o, const char *key, const char *value)
{
	_cleanup_free_ char *e = qemu_opt_escape(value);

	if (!e) {
		o->err = o->err ?: -ENOMEM;
		return;
	}
	if (key)
		qopts_add(o, "%s=%s", key, e);
	else
		qopts_add(o, "%s", e);
}

void qopts_push(struct strv *a, const char *opt, struct qopts *o)
{
	if (o->err && !a->err)
		a->err = o->err;
	strv_push(a, opt);
	strv_push_take(a, o->err ? NULL : o->s);
	if (o->err)
		free(o->s);
	*o = (struct qopts){ 0 };
}

static void push_pair(struct strv *a, const char *opt, const char *value)
{
	strv_push(a, opt);
	strv_push(a, value);
}

static void argv_machine(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	struct qopts o = { 0 };

	qopts_str(&o, NULL, p->machine);
	qopts_add(&o, "usb=off");
	qopts_add(&o, "smm=%s", p->smm ? "on" : "off");
	qopts_add(&o, "dump-guest-core=off");
	qopts_add(&o, "memory-backend=pc.ram");
	if (p->fw_code) {
		qopts_add(&o, "pflash0=pflash0");
		if (p->nvram_path)
			qopts_add(&o, "pflash1=pflash1");
	}
	if (!c->hpet)
		qopts_add(&o, "hpet=off");
	qopts_add(&o, "vmport=off");
	qopts_push(a, "-machine", &o);

	if (p->accel == ACCEL_KVM)
		push_pair(a, "-accel", "kvm");
	else
		push_pair(a, "-accel", "tcg,thread=multi");
}

/* Order of the hv-* properties: libvirt's, which QEMU users know from its logs. */
static const enum hv_flag hv_order_before_vendor[] = {
	HV_RELAXED, HV_VAPIC,	      _HV_FLAG_MAX /* spinlocks */,
	HV_VPINDEX, HV_RUNTIME,	      HV_SYNIC,
	HV_STIMER,  HV_STIMER_DIRECT, HV_RESET,
};
static const enum hv_flag hv_order_after_vendor[] = {
	HV_FREQUENCIES, HV_REENLIGHTENMENT, HV_TLBFLUSH, HV_IPI, HV_EVMCS, HV_AVIC,
};

static void argv_cpu(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	const struct vm_hyperv *h = &c->hyperv;
	struct qopts o = { 0 };

	qopts_str(&o, NULL, p->cpu_model);
	if (streq(p->cpu_model, "host"))
		qopts_add(&o, "migratable=off");
	if (p->cpu_vendor_intel)
		qopts_add(&o, "vendor=GenuineIntel");
	for (size_t i = 0; i < c->n_features; i++)
		qopts_str(&o, c->features[i].name, c->features[i].enabled ? "on" : "off");
	if (p->cache_passthrough) {
		qopts_add(&o, "host-cache-info=on");
		qopts_add(&o, "l3-cache=off");
	}
	if (c->hide_hypervisor)
		qopts_add(&o, "kvm=off");

	if (p->hyperv && p->hv_passthrough) {
		qopts_add(&o, "hv-passthrough=on");
		if (h->spinlocks > 0)
			qopts_add(&o, "hv-spinlocks=0x%x", h->spinlocks);
		if (h->vendor_id)
			qopts_str(&o, "hv-vendor-id", h->vendor_id);
	} else if (p->hyperv) {
		if (p->hv[HV_TIME])
			qopts_add(&o, "%s=on", hv_flag_to_qemu(HV_TIME));
		for (size_t i = 0; i < ELEMENTSOF(hv_order_before_vendor); i++) {
			enum hv_flag f = hv_order_before_vendor[i];

			if (f == _HV_FLAG_MAX) {
				if (h->spinlocks > 0)
					qopts_add(&o, "hv-spinlocks=0x%x", h->spinlocks);
			} else if (p->hv[f]) {
				qopts_add(&o, "%s=on", hv_flag_to_qemu(f));
			}
		}
		if (h->vendor_id)
			qopts_str(&o, "hv-vendor-id", h->vendor_id);
		for (size_t i = 0; i < ELEMENTSOF(hv_order_after_vendor); i++)
			if (p->hv[hv_order_after_vendor[i]])
				qopts_add(&o, "%s=on", hv_flag_to_qemu(hv_order_after_vendor[i]));
	}
	qopts_push(a, "-cpu", &o);
}

static void argv_memory(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	struct qopts o = { 0 };
	char size[32];

	format_size(c->memory_bytes, size, sizeof(size));
	push_pair(a, "-m", size);

	/*
	 * The RAM is a named backend (-machine memory-backend=pc.ram) so its
	 * properties are explicit. Hugepages come from the memfd gamevm made
	 * and faulted in (PLAN_RAM_FD): no hugetlbfs mount to find or own, no
	 * prealloc left for QEMU, and shared like the seed's
	 * <access mode='shared'/>.
	 */
	if (p->hugepage_size) {
		qopts_add(
			&o,
			"memory-backend-file,id=pc.ram,size=%s,mem-path=/proc/self/fd/%d,share=on,prealloc=off",
			size, PLAN_RAM_FD);
	} else {
		qopts_add(&o, "memory-backend-ram,id=pc.ram,size=%s", size);
	}
	if (c->memory_node >= 0)
		qopts_add(&o, "host-nodes=%d,policy=bind", c->memory_node);
	qopts_push(a, "-object", &o);

	push_pair(a, "-overcommit", c->memory_lock ? "mem-lock=on" : "mem-lock=off");

	strv_push(a, "-smp");
	strv_pushf(a, "%u,sockets=%u,dies=%u,clusters=1,cores=%u,threads=%u", c->vcpus,
		   p->topology.sockets, p->topology.dies, p->topology.cores, p->topology.threads);
}

static void smbios_field(struct qopts *o, const char *key, const char *value, bool *any)
{
	if (!value)
		return;
	qopts_str(o, key, value);
	*any = true;
}

static void argv_smbios(const struct plan *p, struct strv *a)
{
	const struct vm_smbios *s = &p->smbios;
	struct qopts o = { 0 };
	bool any = false;

	if (s->mode == SMBIOS_NONE)
		return;

	qopts_add(&o, "type=0");
	smbios_field(&o, "vendor", s->bios_vendor, &any);
	smbios_field(&o, "version", s->bios_version, &any);
	smbios_field(&o, "date", s->bios_date, &any);
	smbios_field(&o, "release", s->bios_release, &any);
	if (any)
		qopts_push(a, "-smbios", &o);
	free(o.s);
	o = (struct qopts){ 0 };

	any = false;
	qopts_add(&o, "type=1");
	smbios_field(&o, "manufacturer", s->system_manufacturer, &any);
	smbios_field(&o, "product", s->system_product, &any);
	smbios_field(&o, "version", s->system_version, &any);
	smbios_field(&o, "serial", s->system_serial, &any);
	/* QEMU takes type 1's UUID from -uuid; repeated here so the two agree. */
	qopts_add(&o, "uuid=%s", p->uuid);
	smbios_field(&o, "sku", s->system_sku, &any);
	smbios_field(&o, "family", s->system_family, &any);
	if (any)
		qopts_push(a, "-smbios", &o);
	free(o.s);
	o = (struct qopts){ 0 };

	any = false;
	qopts_add(&o, "type=2");
	smbios_field(&o, "manufacturer", s->baseboard_manufacturer, &any);
	smbios_field(&o, "product", s->baseboard_product, &any);
	smbios_field(&o, "version", s->baseboard_version, &any);
	smbios_field(&o, "serial", s->baseboard_serial, &any);
	smbios_field(&o, "asset", s->baseboard_asset, &any);
	smbios_field(&o, "location", s->baseboard_location, &any);
	if (any)
		qopts_push(a, "-smbios", &o);
	free(o.s);
	o = (struct qopts){ 0 };

	any = false;
	qopts_add(&o, "type=3");
	smbios_field(&o, "manufacturer", s->chassis_manufacturer, &any);
	smbios_field(&o, "version", s->chassis_version, &any);
	smbios_field(&o, "serial", s->chassis_serial, &any);
	smbios_field(&o, "asset", s->chassis_asset, &any);
	smbios_field(&o, "sku", s->chassis_sku, &any);
	if (any)
		qopts_push(a, "-smbios", &o);
	free(o.s);
	o = (struct qopts){ 0 };

	/* The host's OEM licence tables, copies gamevm made (plan.h, PLAN_ACPI_FD). */
	for (size_t i = 0; i < p->n_acpi_tables; i++) {
		qopts_add(&o, "file=/proc/self/fd/%d", PLAN_ACPI_FD(i));
		qopts_push(a, "-acpitable", &o);
	}
}

static void argv_platform(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	strv_push(a, "-rtc");
	strv_pushf(a, "base=%s%s", c->clock_base == CLOCK_BASE_UTC ? "utc" : "localtime",
		   c->rtc_catchup ? ",driftfix=slew" : "");
	/* The in-kernel PIT exists with KVM only; TCG's has no tick policy. */
	if (c->pit_delay && p->accel == ACCEL_KVM)
		push_pair(a, "-global", "kvm-pit.lost_tick_policy=delay");
	if (!c->s3)
		push_pair(a, "-global", "ICH9-LPC.disable_s3=1");
	if (!c->s4)
		push_pair(a, "-global", "ICH9-LPC.disable_s4=1");

	/* Q35 always has the iTCO watchdog; noreboot decides whether it can fire. */
	if (c->watchdog == WATCHDOG_ITCO) {
		push_pair(a, "-global", "ICH9-LPC.noreboot=off");
		push_pair(a, "-watchdog-action", watchdog_action_to_string(c->watchdog_action));
	} else {
		push_pair(a, "-global", "ICH9-LPC.noreboot=on");
	}
	if (p->pflash_secure)
		push_pair(a, "-global", "driver=cfi.pflash01,property=secure,value=on");
}

static void argv_flash(const char *node, const char *path, const char *format, bool ro,
		       struct strv *a)
{
	struct qopts o = { 0 };
	bool qcow2 = format && streq(format, "qcow2");

	qopts_add(&o, "driver=file");
	qopts_str(&o, "filename", path);
	qopts_add(&o, "node-name=%s%s", node, qcow2 ? "-file" : "");
	qopts_add(&o, "read-only=%s", ro ? "on" : "off");
	qopts_push(a, "-blockdev", &o);
	if (qcow2) {
		qopts_add(&o, "driver=qcow2,file=%s-file,node-name=%s,read-only=%s", node, node,
			  ro ? "on" : "off");
		qopts_push(a, "-blockdev", &o);
	}
}

static void argv_tail(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	struct qopts o = { 0 };
	bool bridge = false;

	/*
	 * gamevm binds the QMP socket itself and hands QEMU the listening fd:
	 * no child ever creates a path that root later connects to (a
	 * compromised QEMU could otherwise swap it for a symlink). No -pidfile
	 * either: gamevm is the parent and holds a pidfd.
	 */
	qopts_add(&o, "socket,id=qmp,fd=%d,server=on,wait=off", PLAN_QMP_FD);
	qopts_push(a, "-chardev", &o);
	push_pair(a, "-mon", "chardev=qmp,mode=control");

	/* -netdev bridge runs qemu-bridge-helper: the one child QEMU may spawn. */
	for (size_t i = 0; i < c->n_nets; i++)
		bridge = bridge || c->nets[i].mode == NET_BRIDGE;
	strv_push(a, "-sandbox");
	strv_pushf(a, "on,obsolete=deny,elevateprivileges=deny,spawn=%s,resourcecontrol=deny",
		   bridge ? "allow" : "deny");
	push_pair(a, "-msg", "timestamp=on");

	strv_foreach (x, c->extra_args)
		strv_push(a, *x);
}

int qemu_argv_build(const struct vm_config *c, const struct plan *p, const struct host_qemu *q,
		    struct strv *ret)
{
	_cleanup_(strv_done) struct strv a = { 0 };
	struct qopts o = { 0 };

	strv_push(&a, q->binary ? q->binary : "qemu-system-x86_64");
	qopts_str(&o, "guest", c->name);
	qopts_add(&o, "debug-threads=on");
	qopts_push(&a, "-name", &o);
	/* Frozen until gamevm has pinned the vCPU threads and sent "cont". */
	strv_push(&a, "-S");
	strv_push(&a, "-no-user-config");
	strv_push(&a, "-nodefaults");

	argv_machine(c, p, &a);
	argv_cpu(c, p, &a);
	argv_memory(c, p, &a);
	push_pair(&a, "-uuid", p->uuid);
	argv_smbios(p, &a);
	argv_platform(c, p, &a);
	if (p->fw_code)
		argv_flash("pflash0", p->fw_code, p->fw_code_format, true, &a);
	if (p->fw_code && p->nvram_path)
		argv_flash("pflash1", p->nvram_path, p->fw_vars_format, false, &a);
	for (unsigned i = 1; i <= c->iothreads; i++) {
		strv_push(&a, "-object");
		strv_pushf(&a, "iothread,id=iothread%u", i);
	}
	qemu_argv_devices(c, p, &a);
	argv_tail(c, p, &a);

	if (a.err)
		return a.err;
	*ret = a;
	a = (struct strv){ 0 };
	return 0;
}
