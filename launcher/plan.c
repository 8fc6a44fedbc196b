/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * plan_build(): every decision about the VM, made from the config and the
 * host facts without touching the host. The areas run in a fixed order
 * (accelerator first: SMM, the CPU model and Hyper-V depend on it; firmware
 * after the machine type it is matched against) and each one records what
 * is wrong as a diagnostic instead of stopping, so one run of
 * "gamevm cmdline" lists every problem of a config at once.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "plan-internal.h"
#include "planner.h"

/* The oldest QEMU gamevm's argv is checked against (Debian 12's). */
#define QEMU_MIN_MAJOR 7
#define QEMU_MIN_MINOR 2

void plan_diags_done(struct plan_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].msg);
		free(d->v[i].topic);
	}
	free(d->v);
	*d = (struct plan_diags){ 0 };
}

bool plan_diags_has_error(const struct plan_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level <= LOG_ERR)
			return true;
	return false;
}

const struct plan_diag *plan_diags_find(const struct plan_diags *d, const char *section,
					const char *key)
{
	char topic[128];

	snprintf(topic, sizeof(topic), "%s %s", section, key);
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].topic && streq(d->v[i].topic, topic))
			return &d->v[i];
	return NULL;
}

/* Takes msg and topic (either may be NULL on an allocation failure: -ENOMEM). */
static int plan_diag_push(struct plan_diags *d, int level, char *msg, size_t body, char *topic,
			  bool want_topic)
{
	struct plan_diag *t;

	if (!msg || (want_topic && !topic)) {
		free(msg);
		free(topic);
		return -ENOMEM;
	}
	t = realloc(d->v, (d->n + 1) * sizeof(*t));
	if (!t) {
		free(msg);
		free(topic);
		return -ENOMEM;
	}
	d->v = t;
	d->v[d->n++] =
		(struct plan_diag){ .level = level, .msg = msg, .body = body, .topic = topic };
	return 0;
}

/* Moves every diagnostic of from to the end of to. */
static int plan_diags_move(struct plan_diags *to, struct plan_diags *from)
{
	for (size_t i = 0; i < from->n; i++) {
		int r = plan_diag_push(to, from->v[i].level, from->v[i].msg, from->v[i].body,
				       from->v[i].topic, false);

		from->v[i].msg = NULL;
		from->v[i].topic = NULL;
		if (r < 0)
			return r;
	}
	plan_diags_done(from);
	return 0;
}

int plan_diag(struct plan_diags *d, int level, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	return plan_diag_push(d, level, r < 0 ? NULL : msg, 0, NULL, false);
}

int plan_diag_key(struct plan_diags *d, int level, const struct vm_config *c, const char *section,
		  const char *key, unsigned fallback_line, const char *fmt, ...)
{
	_cleanup_free_ char *body = NULL;
	char *topic = NULL;
	unsigned line = key ? config_key_line(c, section, key) : 0;
	const char *file = c->path ? c->path : "config";
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;

	if (line == 0)
		line = fallback_line;
	if (line > 0)
		r = asprintf(&msg, "%s:%u: [%s]%s%s: %s", file, line, section, key ? " " : "",
			     key ? key : "", body);
	else
		r = asprintf(&msg, "%s: [%s]%s%s%s: %s", file, section, key ? " " : "",
			     key ? key : "", key ? " (default)" : "", body);
	if (r < 0)
		msg = NULL;
	if (key && asprintf(&topic, "%s %s", section, key) < 0)
		topic = NULL;
	return plan_diag_push(d, level, msg, msg ? (size_t)r - strlen(body) : 0, topic, key);
}

static const char *kvm_module(const struct host_facts *f)
{
	if (f->cpus.vendor && streq(f->cpus.vendor, "AuthenticAMD"))
		return "load kvm_amd (modprobe kvm_amd) and enable SVM in the firmware setup";
	if (f->cpus.vendor && streq(f->cpus.vendor, "GenuineIntel"))
		return "load kvm_intel (modprobe kvm_intel) and enable VT-x in the firmware setup";
	return "load kvm_amd or kvm_intel and enable SVM / VT-x in the firmware setup";
}

static const char *kvm_fix(const struct host_facts *f)
{
	const struct host_kvm *k = &f->kvm;

	if (k->present && !k->usable && (k->error == -EACCES || k->error == -EPERM))
		return "add your user to the group that owns /dev/kvm (usually kvm)";
	if (k->qemu_failed)
		return "QEMU's error above says what KVM lacks; accel = tcg skips the attempt under KVM";
	if (k->present && k->usable && k->runs_guests)
		return "run on a host whose CPU offers hardware virtualization (vmx or svm in /proc/cpuinfo): on a VM, enable nested virtualization in the outer hypervisor (kvm_amd nested=1 / kvm_intel nested=1); a paravirtual KVM cannot run firmware";
	if (k->present && k->usable)
		return "on a nested host, enable nested virtualization in the outer hypervisor (kvm_amd nested=1 / kvm_intel nested=1)";
	return kvm_module(f);
}

/*
 * Whether QEMU's user can open dev/kvm read-write, from the node's owner
 * and mode as the kernel checks them (owner, else group, else other). Not
 * known (false): no owner recorded, an ACL that may grant more, or no user.
 */
static bool kvm_user_denied(const struct host_facts *f)
{
	const struct host_kvm *k = &f->kvm;
	const struct host_user *u = &f->qemu_user;
	mode_t bits;

	if (!k->present || !k->usable || !k->have_owner || k->has_acl || !u->name || u->uid == 0)
		return false;
	if (u->uid == k->dev_uid)
		bits = (k->dev_mode >> 6) & 7;
	else if (host_user_in_group(u, k->dev_gid))
		bits = (k->dev_mode >> 3) & 7;
	else
		bits = k->dev_mode & 7;
	return (bits & 6) != 6;
}

/*
 * Why QEMU cannot use KVM on this host at all (whatever the VM), with the
 * fix; 0 when it can, 1 when not (*ret_why malloc'd, *ret_fix static).
 */
static int kvm_refusal(const struct host_facts *f, char **ret_why, const char **ret_fix)
{
	const struct host_kvm *k = &f->kvm;
	const char *user = f->qemu_user.name;
	char *why;

	if (host_kvm_verdict(k) < KVM_VERDICT_NO_SMM) {
		if (host_kvm_describe(k, &why) < 0)
			return -ENOMEM;
		*ret_why = why;
		*ret_fix = kvm_fix(f);
		return 1;
	}
	if (!kvm_user_denied(f))
		return 0;
	if (asprintf(&why,
		     "QEMU runs as '%s', who cannot open '/dev/kvm' (uid %u, gid %u, mode %04o)",
		     user, (unsigned)k->dev_uid, (unsigned)k->dev_gid, (unsigned)k->dev_mode) < 0)
		return -ENOMEM;
	*ret_why = why;
	*ret_fix =
		host_user_in_group(&f->qemu_user, k->dev_gid)
			? "give its group read-write access: 'chmod 0660 /dev/kvm' now, and the udev rule KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\" for the next boot"
			: "make the node 'root:kvm', mode 0660 ('chgrp kvm /dev/kvm && chmod 0660 /dev/kvm' now, the udev rule KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\" for the next boot), with QEMU's user in group kvm";
	return 1;
}

/*
 * accel = kvm and tcg: the accelerator is the config's. kvm must be able to
 * run firmware here; whether it can run this VM (SMM for the firmware, the
 * Hyper-V flags, the vCPU count) the later steps say.
 */
static int plan_accel(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		      struct plan_diags *d)
{
	enum kvm_verdict v = host_kvm_verdict(&f->kvm);
	_cleanup_free_ char *why = NULL, *refused = NULL;
	const char *fix = NULL;
	int r;

	p->accel = c->accel;
	if (c->accel == ACCEL_TCG)
		return plan_diag_key(d, LOG_INFO, c, "vm", "accel", 0,
				     "tcg: QEMU's emulator, as set (KVM on this host: %s)",
				     kvm_verdict_to_string(v));
	r = kvm_refusal(f, &refused, &fix);
	if (r < 0)
		return r;
	if (r > 0) {
		p->kvm_refused = true;
		return plan_diag_key(
			d, LOG_ERR, c, "vm", "accel", 0,
			"kvm: KVM cannot run this VM here: %s. To fix: %s; or set accel = auto to fall back to TCG (slow)",
			refused, fix);
	}
	if (host_kvm_describe(&f->kvm, &why) < 0)
		return -ENOMEM;
	return plan_diag_key(d, LOG_INFO, c, "vm", "accel", 0, "kvm: KVM is %s: %s",
			     kvm_verdict_to_string(v), why);
}

static int plan_machine(const struct vm_config *c, const struct host_qemu *q, struct plan *p,
			struct plan_diags *d)
{
	const char *want = c->machine ? c->machine : "q35";
	int r;

	if (!host_qemu_version_at_least(q, QEMU_MIN_MAJOR, QEMU_MIN_MINOR)) {
		r = plan_diag(d, LOG_ERR,
			      "QEMU %u.%u.%u ('%s') is too old: gamevm needs QEMU %u.%u or newer",
			      q->major, q->minor, q->micro, strna(q->binary), QEMU_MIN_MAJOR,
			      QEMU_MIN_MINOR);
		if (r < 0)
			return r;
	}

	r = host_qemu_resolve_machine(q, want, &p->machine);
	if (r < 0)
		return r;
	if (q->machines && !host_qemu_has_machine(q, p->machine))
		return plan_diag_key(
			d, LOG_ERR, c, "vm", "machine", 0,
			"QEMU %u.%u.%u does not know the machine type '%s' ('%s -machine help' lists them)",
			q->major, q->minor, q->micro, p->machine, strna(q->binary));
	if (strncmp(p->machine, "pc-q35-", 7) != 0)
		return plan_diag_key(
			d, LOG_ERR, c, "vm", "machine", 0,
			"'%s' is not a Q35 machine type: gamevm builds Q35 machines only (machine = q35)",
			p->machine);
	return 0;
}

static const char *vars_extension(const char *format)
{
	return format && streq(format, "qcow2") ? "qcow2" : "fd";
}

static const char *format_from_path(const char *path)
{
	size_t n = strlen(path);

	return n > 6 && streq(path + n - 6, ".qcow2") ? "qcow2" : "raw";
}

static int plan_firmware(const struct vm_config *c, const struct host_facts *f,
			 const struct firmware_list *fw, const struct vm_paths *paths,
			 struct plan *p, struct plan_diags *d)
{
	bool smm_ok = p->accel == ACCEL_TCG || f->kvm.smm || p->kvm_refused;
	bool requires_smm = false;
	int r;

	p->secure_boot = c->secure_boot;
	if (c->smm == TRISTATE_ON && !smm_ok) {
		r = plan_diag_key(
			d, LOG_ERR, c, "firmware", "smm", 0,
			"System Management Mode (smm = on) is not supported by this KVM (KVM_CAP_X86_SMM is missing): use a kernel built with CONFIG_KVM_SMM=y (the default), or set smm = auto with a firmware that does not require SMM (no Secure Boot protection)");
		if (r < 0)
			return r;
	}

	if (c->firmware == FIRMWARE_BIOS) {
		if (c->secure_boot)
			return plan_diag_key(d, LOG_ERR, c, "firmware", "secure-boot", 0,
					     "Secure Boot requires UEFI: set type = uefi");
		p->smm = c->smm == TRISTATE_ON;
		return 0;
	}

	if (c->firmware_code) {
		/* Explicit images: no descriptor says whether they need SMM; a
		 * Secure Boot build does, so follow secure_boot unless told. */
		requires_smm = c->smm == TRISTATE_ON ||
			       (c->smm == TRISTATE_AUTO && c->secure_boot && smm_ok);
		p->fw_code = strdup(c->firmware_code);
		p->fw_code_format = strdup(format_from_path(c->firmware_code));
		p->fw_vars_template = c->firmware_vars ? strdup(c->firmware_vars) : NULL;
		p->fw_vars_format =
			c->firmware_vars ? strdup(format_from_path(c->firmware_vars)) : NULL;
		if (!p->fw_code || !p->fw_code_format ||
		    (c->firmware_vars && (!p->fw_vars_template || !p->fw_vars_format)))
			return -ENOMEM;
	} else {
		_cleanup_free_ char *why = NULL;
		const struct firmware_desc *desc = NULL;
		struct firmware_want want = {
			.interface = FW_INTERFACE_UEFI,
			.arch = "x86_64",
			.machine = p->machine,
			.secure_boot = c->secure_boot ? 1 : 0,
			.enrolled_keys = c->enrolled_keys == TRISTATE_AUTO ? -1
					 : c->enrolled_keys == TRISTATE_ON ? 1
									   : 0,
			/* smm = yes without SMM is reported above: match as if it
			 * were there rather than cascade into a firmware error. */
			.smm_available =
				c->smm == TRISTATE_ON || (c->smm == TRISTATE_AUTO && smm_ok),
			.need_s3 = c->s3,
			.need_s4 = c->s4,
		};

		if (!p->machine)
			return 0; /* already reported */
		r = firmware_list_match(fw, &want, &desc, &why);
		if (r == -ENOENT && !want.smm_available && !smm_ok) {
			const struct firmware_desc *with_smm = NULL;
			_cleanup_free_ char *ignored = NULL;

			/* Only SMM is missing, and it is KVM that lacks it: say that. */
			want.smm_available = true;
			if (firmware_list_match(fw, &want, &with_smm, &ignored) == 0)
				return plan_diag_key(
					d, LOG_ERR, c, "firmware",
					c->secure_boot ? "secure-boot" : NULL,
					config_key_line(c, "firmware", "type"),
					"the firmware '%s' (%s) needs System Management Mode%s, and KVM on this host lacks it (KVM_CAP_X86_SMM is missing: a kernel built without CONFIG_KVM_SMM, or a nested or paravirtual KVM): use a host whose KVM has SMM%s%s",
					with_smm->code, with_smm->file,
					c->secure_boot ? " to protect the Secure Boot variables"
						       : "",
					c->accel == ACCEL_KVM
						? ", set accel = auto or tcg to run it under TCG (slow)"
						: "",
					c->secure_boot ? ", or set secure-boot = no" : "");
			want.smm_available = false;
		}
		if (r == -ENOENT)
			return plan_diag_key(
				d, LOG_ERR, c, "firmware", c->secure_boot ? "secure-boot" : NULL,
				config_key_line(c, "firmware", "type"),
				"no UEFI firmware on this host fits (x86_64, %s, Secure Boot %s%s): %s",
				p->machine, c->secure_boot ? "on" : "off",
				want.smm_available ? "" : ", without SMM",
				why ? why
				    : "no firmware descriptor in /usr/share/qemu/firmware or /etc/qemu/firmware; install OVMF (Debian: ovmf, Fedora: edk2-ovmf) or set [firmware] code = and vars =");
		if (r < 0)
			return r;
		if (!desc->flash || !desc->vars_template)
			return plan_diag(
				d, LOG_ERR,
				"%s: firmware '%s' is not a split flash image (code + NVRAM template); gamevm needs one",
				desc->file, desc->code);
		p->firmware = desc;
		requires_smm = desc->features & FW_FEATURE_REQUIRES_SMM;
		p->fw_code = strdup(desc->code);
		p->fw_code_format = strdup(desc->code_format ? desc->code_format : "raw");
		p->fw_vars_template = strdup(desc->vars_template);
		p->fw_vars_format = strdup(desc->vars_format ? desc->vars_format : "raw");
		if (!p->fw_code || !p->fw_code_format || !p->fw_vars_template || !p->fw_vars_format)
			return -ENOMEM;
		if (c->secure_boot && !requires_smm) {
			r = plan_diag_key(
				d, LOG_WARNING, c, "firmware", "secure-boot", 0,
				"firmware '%s' (%s) implements Secure Boot without SMM: the guest OS can rewrite the Secure Boot variables, so it is not secure; prefer a build with requires-smm",
				desc->code, desc->file);
			if (r < 0)
				return r;
		}
	}

	p->smm = requires_smm || c->smm == TRISTATE_ON;
	/* Only a firmware built for SMM writes its variables through SMM. */
	p->pflash_secure = requires_smm;
	if (asprintf(&p->nvram_path, "%s/OVMF_VARS.%s", paths->state_dir,
		     vars_extension(p->fw_vars_format ? p->fw_vars_format : p->fw_code_format)) <
	    0) {
		p->nvram_path = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int plan_cpu(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		    struct plan_diags *d)
{
	_cleanup_(cpu_plan_done) struct cpu_plan cp = { 0 };
	const char *model = c->cpu_model ? c->cpu_model : "host";
	struct planner_input in;
	size_t online = 0;
	int r;

	if (p->accel == ACCEL_TCG && streq(model, "host")) {
		r = plan_diag_key(d, LOG_NOTICE, c, "cpu", "model", 0,
				  "'-cpu host' needs KVM: using QEMU's 'max' model under TCG");
		if (r < 0)
			return r;
		model = "max";
	}
	p->cpu_model = strdup(model);
	if (!p->cpu_model)
		return -ENOMEM;
	p->cache_passthrough = c->cache_passthrough && streq(model, "host");

	for (size_t i = 0; i < f->cpus.n_cpus; i++)
		online += f->cpus.cpus[i].online;
	if (f->kvm.max_vcpus > 0 && p->accel == ACCEL_KVM && c->vcpus > f->kvm.max_vcpus) {
		r = plan_diag_key(d, LOG_ERR, c, "cpu", "vcpus", 0,
				  "%u vCPUs, but this KVM allows at most %u", c->vcpus,
				  f->kvm.max_vcpus);
		if (r < 0)
			return r;
	}
	/* With pin = auto the planner refuses this with the same numbers. */
	if (online > 0 && c->vcpus > online && !c->pin_auto) {
		r = plan_diag_key(
			d, LOG_WARNING, c, "cpu", "vcpus", 0,
			"%u vCPUs on %zu online host CPUs: vCPUs will wait for each other (expect stutter); use at most %zu",
			c->vcpus, online, online);
		if (r < 0)
			return r;
	}

	/* Topology, pinning and housekeeping: the CPU planner (planner.h). */
	planner_input_from_config(c, &f->pci, &in);
	r = planner_build(&f->cpus, &in, &cp);
	if (r < 0)
		return r;
	for (size_t i = 0; i < cp.n_diags; i++) {
		const struct planner_diag *pd = &cp.diags[i];

		r = plan_diag_key(d, pd->level, c, pd->section, pd->key, 0, "%s", pd->msg);
		if (r < 0)
			return r;
	}
	p->topology = cp.topology;
	p->vcpu_pin = TAKE_PTR(cp.vcpu_pin);
	p->housekeeping = TAKE_PTR(cp.housekeeping);
	p->n_housekeeping = cp.n_housekeeping;
	p->numa_node = cp.node;

	/*
	 * TCG's 'max' says AuthenticAMD, and an AMD guest learns its SMT
	 * siblings from topoext (CPUID 0x8000001E), which TCG does not offer
	 * (QEMU 7.2): a Linux guest then sees every thread as a core. With
	 * GenuineIntel it reads them from leaf 0xB, which TCG fills in.
	 */
	if (p->accel == ACCEL_TCG && p->topology.threads > 1 && streq(p->cpu_model, "max")) {
		p->cpu_vendor_intel = true;
		return plan_diag_key(
			d, LOG_NOTICE, c, "cpu", "threads", 0,
			"under TCG the CPU says GenuineIntel (vendor=GenuineIntel), so that the guest sees %u threads per core: TCG cannot offer AMD's topoext",
			p->topology.threads);
	}
	return 0;
}

static int plan_memory(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		       struct plan_diags *d)
{
	const struct host_memory *m = &f->memory;
	char want[32], have[32];
	int r;

	format_size(c->memory_bytes, want, sizeof(want));
	if (m->mem_total_bytes > 0 && c->memory_bytes > m->mem_total_bytes) {
		format_size(m->mem_total_bytes, have, sizeof(have));
		r = plan_diag_key(
			d, LOG_ERR, c, "memory", "size", 0,
			"%s for the guest, but the host has only %s of RAM (/proc/meminfo MemTotal)",
			want, have);
		if (r < 0)
			return r;
	}

	if (c->memory_node >= 0) {
		bool found = false;

		for (size_t i = 0; i < f->cpus.n_nodes; i++)
			found = found || f->cpus.nodes[i].id == c->memory_node;
		if (!found) {
			r = plan_diag_key(
				d, LOG_ERR, c, "memory", "node", 0,
				"host NUMA node %d does not exist (/sys/devices/system/node/node%d)",
				c->memory_node, c->memory_node);
			if (r < 0)
				return r;
		}
	}

	if (c->balloon && (c->hugepages != HUGEPAGES_NONE || c->n_pci > 0)) {
		r = plan_diag_key(
			d, LOG_NOTICE, c, "devices", "balloon", 0,
			"a balloon cannot take memory back from %s: it only adds a device",
			c->hugepages != HUGEPAGES_NONE
				? "hugepage-backed RAM"
				: "a VM with passthrough (VFIO pins all RAM)");
		if (r < 0)
			return r;
	}

	if (c->hugepages != HUGEPAGES_NONE) {
		uint64_t size =
			c->hugepages == HUGEPAGES_1G ? UINT64_C(1) << 30 : UINT64_C(2) << 20;
		const char *sz = c->hugepages == HUGEPAGES_1G ? "1G" : "2M";
		unsigned kb = (unsigned)(size >> 10);
		const struct host_hugepool *pool;
		uint64_t need = c->memory_bytes / size;
		char dir[96];

		p->hugepage_size = size;
		if (c->memory_bytes % size != 0)
			return plan_diag_key(d, LOG_ERR, c, "memory", "size",
					     config_key_line(c, "memory", "hugepages"),
					     "%s is not a multiple of the %s huge page size", want,
					     sz);
		if (c->memory_node >= 0)
			snprintf(dir, sizeof(dir),
				 "/sys/devices/system/node/node%d/hugepages/hugepages-%ukB",
				 c->memory_node, kb);
		else
			snprintf(dir, sizeof(dir), "/sys/kernel/mm/hugepages/hugepages-%ukB", kb);
		pool = host_memory_find_pool(m, size, c->memory_node >= 0 ? c->memory_node : -1);
		if (!pool)
			return plan_diag_key(
				d, LOG_ERR, c, "memory", "hugepages", 0,
				"this host has no %s huge pages (%s is missing): %sboot with hugepagesz=%s hugepages=%" PRIu64
				" on the kernel command line, or set hugepages = %s",
				sz, dir,
				c->hugepages == HUGEPAGES_1G
					? "the CPU needs 1G page support (pdpe1gb); "
					: "",
				sz, need, c->hugepages == HUGEPAGES_1G ? "2M" : "none");
		/* The same words as gamevm start's, which reserves the shortfall itself. */
		if (pool->free >= need)
			return plan_diag_key(d, LOG_NOTICE, c, "memory", "hugepages", 0,
					     "%s huge pages: %" PRIu64 " needed for %s, %" PRIu64
					     " free of %" PRIu64 " reserved (%s/free_hugepages)",
					     sz, need, want, pool->free, pool->nr, dir);
		return plan_diag_key(
			d, LOG_NOTICE, c, "memory", "hugepages", 0,
			"%s huge pages: %" PRIu64 " needed for %s, %" PRIu64 " free of %" PRIu64
			" reserved (%s/free_hugepages); gamevm start reserves the other %" PRIu64
			" when the VM starts and gives them back after (without root: 'gamevm prepare' does)",
			sz, need, want, pool->free, pool->nr, dir, need - pool->free);
	}
	return 0;
}

static void cpus_add(unsigned *set, size_t *n, unsigned cpu)
{
	size_t i = 0;

	while (i < *n && set[i] < cpu)
		i++;
	if (i < *n && set[i] == cpu)
		return;
	memmove(set + i + 1, set + i, (*n - i) * sizeof(*set));
	set[i] = cpu;
	(*n)++;
}

/*
 * Who faults the hugepage RAM in. Before the guest runs its CPUs are idle,
 * and zeroing tens of GiB on one CPU takes seconds (about 1 s per 5-10 GiB):
 * the work goes to every CPU of the memory's node (zeroing is fastest
 * node-local), else to the CPUs the VM is given (vCPUs and housekeeping),
 * else to all online CPUs. Past PREALLOC_MAX_THREADS the memory bus, not
 * the CPUs, is the limit. QEMU's own default is one thread per vCPU, on
 * whatever CPUs QEMU was started on (the housekeeping ones, here).
 */
#define PREALLOC_MAX_THREADS 16u

static int plan_prealloc(const struct vm_config *c, const struct host_facts *f, struct plan *p,
			 struct plan_diags *d)
{
	int node = c->memory_node >= 0 ? c->memory_node : p->numa_node;
	size_t n = 0;

	if (!p->hugepage_size)
		return 0;
	p->prealloc_cpus =
		calloc(f->cpus.n_cpus + c->vcpus + p->n_housekeeping + 1, sizeof(unsigned));
	if (!p->prealloc_cpus)
		return -ENOMEM;
	for (size_t i = 0; node >= 0 && i < f->cpus.n_nodes; i++)
		if (f->cpus.nodes[i].id == node)
			for (size_t j = 0; j < f->cpus.nodes[i].n_cpus; j++) {
				const struct host_cpu *hc =
					host_cpus_find(&f->cpus, f->cpus.nodes[i].cpus[j]);

				if (hc && hc->online)
					cpus_add(p->prealloc_cpus, &n, hc->id);
			}
	if (n == 0 && p->vcpu_pin) {
		for (unsigned i = 0; i < c->vcpus; i++)
			cpus_add(p->prealloc_cpus, &n, p->vcpu_pin[i]);
		for (size_t i = 0; i < p->n_housekeeping; i++)
			cpus_add(p->prealloc_cpus, &n, p->housekeeping[i]);
	}
	if (n == 0)
		for (size_t i = 0; i < f->cpus.n_cpus; i++)
			if (f->cpus.cpus[i].online)
				cpus_add(p->prealloc_cpus, &n, f->cpus.cpus[i].id);
	p->n_prealloc_cpus = n;
	if (n == 0) { /* no CPU facts (a fixture without cpus): QEMU's default */
		free(p->prealloc_cpus);
		p->prealloc_cpus = NULL;
	}
	p->prealloc_threads =
		c->prealloc_threads
			?: (unsigned)MAX(MIN(n, (size_t)PREALLOC_MAX_THREADS), (size_t)1);
	if (c->prealloc_threads && n > 0 && c->prealloc_threads > n)
		return plan_diag_key(
			d, LOG_NOTICE, c, "memory", "prealloc-threads", 0,
			"%u threads to preallocate RAM on %zu CPUs: more threads than CPUs only share them (leave it at auto)",
			c->prealloc_threads, n);
	return 0;
}

static int plan_paths(const struct vm_config *c, const struct vm_paths *paths, struct plan *p,
		      struct plan_diags *d)
{
	char uuid[37];

	if (asprintf(&p->qmp_socket, "%s/qmp.sock", paths->run_dir) < 0)
		return p->qmp_socket = NULL, -ENOMEM;
	if (asprintf(&p->swtpm_socket, "%s/swtpm.sock", paths->run_dir) < 0)
		return p->swtpm_socket = NULL, -ENOMEM;
	if (asprintf(&p->pid_file, "%s/qemu.pid", paths->run_dir) < 0)
		return p->pid_file = NULL, -ENOMEM;
	if (!c->uuid)
		plan_uuid5(c->name, uuid);
	p->uuid = strdup(c->uuid ? c->uuid : uuid);
	return p->uuid ? 0 : -ENOMEM;
}

/*
 * [smbios] oem-activation: an OEM Windows licence activates against the
 * board's licence table (MSDM; SLIC before Windows 8) and the system UUID.
 */
static int plan_oem_activation(const struct vm_config *c, const struct host_facts *f,
			       struct plan *p, struct plan_diags *d)
{
	char *uuid;

	if (!c->smbios.oem_activation)
		return 0;
	if (f->dmi.acpi_msdm)
		p->acpi_tables[p->n_acpi_tables++] = "MSDM";
	if (f->dmi.acpi_slic)
		p->acpi_tables[p->n_acpi_tables++] = "SLIC";
	if (p->n_acpi_tables == 0) {
		int r = plan_diag_key(
			d, LOG_WARNING, c, "smbios", "oem-activation", 0,
			"this host's firmware has no OEM licence table (/sys/firmware/acpi/tables/MSDM or SLIC): only the system UUID is passed; a retail or digital licence needs none");
		if (r < 0)
			return r;
	}
	if (!f->dmi.product_uuid)
		return plan_diag_key(
			d, LOG_ERR, c, "smbios", "oem-activation", 0,
			"the host's system UUID (/sys/class/dmi/id/product_uuid) cannot be read: it is root's (run gamevm as root), or this machine has no DMI tables");
	uuid = strdup(f->dmi.product_uuid);
	if (!uuid)
		return -ENOMEM;
	for (char *x = uuid; *x; x++)
		*x = (char)tolower((unsigned char)*x);
	free(p->uuid);
	p->uuid = uuid;
	return 0;
}

/* See struct plan: the fixed order keeps each device's PCI location stable. */
static int plan_ports(const struct vm_config *c, struct plan *p)
{
	unsigned n = 0;

	for (size_t i = 0; i < p->n_hostdevs; i++)
		n = MAX(n, p->hostdevs[i].port);
	if (c->usb_controller)
		p->usb_port = ++n;
	for (size_t i = 0; i < c->n_disks; i++)
		if (c->disks[i].bus == DISK_BUS_VIRTIO_SCSI) {
			p->scsi_port = ++n;
			break;
		}
	p->disk_port = calloc(c->n_disks + 1, sizeof(unsigned));
	p->net_port = calloc(c->n_nets + 1, sizeof(unsigned));
	if (!p->disk_port || !p->net_port)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_disks; i++)
		if (c->disks[i].bus == DISK_BUS_VIRTIO_BLK)
			p->disk_port[i] = ++n;
	for (size_t i = 0; i < c->n_nets; i++)
		if (c->nets[i].mode != NET_NONE)
			p->net_port[i] = ++n;
	if (c->balloon)
		p->balloon_port = ++n;
	plan_desktop_ports(c, p, &n);
	p->n_root_ports = n;
	return 0;
}

/* Every step after the accelerator, for p->accel. */
static int plan_build_steps(const struct vm_config *c, const struct host_facts *f,
			    const struct host_qemu *q, const struct firmware_list *fw,
			    const struct vm_paths *paths, struct plan *p, struct plan_diags *diags)
{
	int r;

	r = plan_machine(c, q, p, diags);
	if (r >= 0)
		r = plan_firmware(c, f, fw, paths, p, diags);
	if (r >= 0)
		r = plan_cpu(c, f, p, diags);
	if (r >= 0)
		r = plan_memory(c, f, p, diags);
	if (r >= 0)
		r = plan_prealloc(c, f, p, diags);
	if (r >= 0)
		r = plan_hyperv(c, f, p, diags);
	if (r >= 0)
		r = plan_pci(c, f, p, diags);
	if (r >= 0)
		r = plan_disks(c, p, diags);
	if (r >= 0)
		r = plan_nets(c, p, diags);
	if (r >= 0)
		r = plan_smbios(c, f, p, diags);
	if (r >= 0)
		r = plan_paths(c, paths, p, diags);
	if (r >= 0)
		r = plan_oem_activation(c, f, p, diags);
	if (r >= 0)
		r = plan_desktop(c, f, p, diags);
	if (r >= 0)
		r = plan_ports(c, p);
	if (r < 0)
		return r;
	return plan_diags_has_error(diags) ? -EINVAL : 0;
}

static bool diags_have_body(const struct plan_diags *d, const char *body)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level <= LOG_ERR && streq(d->v[i].msg + d->v[i].body, body))
			return true;
	return false;
}

/* The errors of the KVM plan that the TCG plan does not have, joined with "; ". */
static int kvm_only_errors(const struct plan_diags *kvm, const struct plan_diags *tcg, char **ret)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	bool first = true;

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < kvm->n; i++) {
		const char *body = kvm->v[i].msg + kvm->v[i].body;

		if (kvm->v[i].level > LOG_ERR || diags_have_body(tcg, body))
			continue;
		fprintf(f, "%s%s", first ? "" : "; ", body);
		first = false;
	}
	if (fclose(f) != 0) {
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

/*
 * accel = auto: KVM when KVM can run this VM, else TCG, in one line saying
 * which and why. "Can run this VM" is decided by planning it both ways:
 * whatever the KVM plan refuses and the TCG plan does not (no SMM for a
 * Secure Boot firmware, a Hyper-V flag KVM lacks, too many vCPUs) is what
 * KVM cannot do. When both fail, the KVM plan's errors are the ones shown:
 * they are what stands between the config and the accelerator it prefers.
 */
static int plan_build_auto(const struct vm_config *c, const struct host_facts *f,
			   const struct host_qemu *q, const struct firmware_list *fw,
			   const struct vm_paths *paths, struct plan *p, struct plan_diags *diags)
{
	_cleanup_(plan_diags_done) struct plan_diags kd = {}, td = {};
	_cleanup_(plan_done) struct plan tp = { 0 };
	_cleanup_free_ char *why = NULL, *refused = NULL;
	enum kvm_verdict v = host_kvm_verdict(&f->kvm);
	const char *fix = NULL;
	int r, rk;

	r = kvm_refusal(f, &refused, &fix);
	if (r < 0)
		return r;
	if (r > 0) {
		r = plan_diag_key(
			diags, LOG_NOTICE, c, "vm", "accel", 0,
			"auto: TCG, expect it to be slow: KVM is %s here: %s. To use KVM: %s",
			v < KVM_VERDICT_NO_SMM ? kvm_verdict_to_string(v) : "out of QEMU's reach",
			refused, fix);
		if (r < 0)
			return r;
		p->accel = ACCEL_TCG;
		return plan_build_steps(c, f, q, fw, paths, p, diags);
	}
	if (host_kvm_describe(&f->kvm, &why) < 0)
		return -ENOMEM;

	p->accel = ACCEL_KVM;
	rk = plan_build_steps(c, f, q, fw, paths, p, &kd);
	if (rk != -EINVAL) {
		if (rk < 0)
			return rk;
		r = plan_diag_key(diags, LOG_INFO, c, "vm", "accel", 0,
				  "auto: KVM, which is %s: %s", kvm_verdict_to_string(v), why);
		if (r >= 0)
			r = plan_diags_move(diags, &kd);
		return r;
	}

	tp.accel = ACCEL_TCG;
	r = plan_build_steps(c, f, q, fw, paths, &tp, &td);
	if (r < 0 && r != -EINVAL)
		return r;
	if (r == -EINVAL) {
		r = plan_diag_key(diags, LOG_INFO, c, "vm", "accel", 0,
				  "auto: KVM, which is %s: %s (TCG could not run it either)",
				  kvm_verdict_to_string(v), why);
		if (r >= 0)
			r = plan_diags_move(diags, &kd);
		return r < 0 ? r : -EINVAL;
	}
	r = kvm_only_errors(&kd, &td, &refused);
	if (r < 0)
		return r;
	r = plan_diag_key(
		diags, LOG_NOTICE, c, "vm", "accel", 0,
		"auto: TCG, expect it to be slow: KVM here is %s, but cannot run this VM: %s",
		kvm_verdict_to_string(v), refused);
	if (r >= 0)
		r = plan_diags_move(diags, &td);
	if (r < 0)
		return r;
	plan_done(p);
	*p = tp;
	tp = (struct plan){ 0 };
	return 0;
}

int plan_build(const struct vm_config *c, const struct host_facts *f, const struct host_qemu *q,
	       const struct firmware_list *fw, const struct vm_paths *paths, struct plan *ret,
	       struct plan_diags *diags)
{
	_cleanup_(plan_done) struct plan p = { 0 };
	int r;

	if (c->accel == ACCEL_AUTO) {
		r = plan_build_auto(c, f, q, fw, paths, &p, diags);
	} else {
		r = plan_accel(c, f, &p, diags);
		if (r >= 0)
			r = plan_build_steps(c, f, q, fw, paths, &p, diags);
	}
	if (r < 0)
		return r;
	if (plan_diags_has_error(diags))
		return -EINVAL;

	*ret = p;
	p = (struct plan){ 0 };
	return 0;
}

void plan_done(struct plan *p)
{
	if (!p)
		return;
	free(p->machine);
	free(p->fw_code);
	free(p->fw_code_format);
	free(p->fw_vars_template);
	free(p->fw_vars_format);
	free(p->nvram_path);
	free(p->cpu_model);
	free(p->vcpu_pin);
	free(p->housekeeping);
	free(p->prealloc_cpus);
	plan_smbios_done(&p->smbios);
	free(p->hostdevs);
	free(p->disk_port);
	free(p->net_port);
	free(p->net_mac);
	plan_desktop_done(p);
	free(p->qmp_socket);
	free(p->swtpm_socket);
	free(p->pid_file);
	free(p->uuid);
	*p = (struct plan){ 0 };
}
