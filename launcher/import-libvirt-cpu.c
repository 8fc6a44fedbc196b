/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm import-libvirt: [cpu] from <vcpu>, <cpu>, <cputune> and
 * <iothreads>; [hyperv] and the CPU flags from <features> (Hyper-V
 * enlightenments, <kvm><hidden>, <pmu>; <smm> is kept for [firmware]).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import-libvirt-internal.h"

#define MAX_VCPUS 1024u
#define MAX_CPU	  4096u

/* ---- [cpu] --------------------------------------------------------------------- */

static void convert_pinning(struct import_ctx *ctx, struct out_section *cpu, xmlNode *tune)
{
	_cleanup_free_ unsigned *pin = NULL, *hk = NULL;
	_cleanup_free_ char *s = NULL;
	xmlNode *first = NULL, *bad = NULL, *hk_from;
	size_t n_hk = 0, n_pinned = 0;

	pin = malloc(ctx->vcpus * sizeof(*pin));
	if (!pin) {
		ctx->err = -ENOMEM;
		return;
	}
	for (unsigned i = 0; i < ctx->vcpus; i++)
		pin[i] = MAX_CPU;
	xforeach(c, tune) if (xis(c, "vcpupin"))
	{
		_cleanup_free_ unsigned *v = NULL;
		unsigned long long vcpu;
		size_t n;

		xmark(c);
		first = first ?: c;
		if (xuint(xattr(ctx, c, "vcpu"), ctx->vcpus - 1, &vcpu) < 0 ||
		    parse_libvirt_cpuset(xattr(ctx, c, "cpuset") ?: "", MAX_CPU, &v, &n) < 0 ||
		    pin[vcpu] != MAX_CPU) {
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "not a vCPU of this domain pinned to host CPUs below %u", MAX_CPU);
			continue;
		}
		if (n != 1) {
			bad = bad ?: c;
			continue;
		}
		pin[vcpu] = v[0];
		n_pinned++;
	}
	if (bad)
		item(ctx, IMPORT_CHANGED, bad, NULL,
		     "gamevm pins each vCPU to one host CPU ([cpu] pin) or none: the vCPUs are not pinned");
	else if (first && n_pinned != ctx->vcpus)
		item(ctx, IMPORT_CHANGED, first, NULL,
		     "%zu of %u vCPUs are pinned; gamevm pins all of them ([cpu] pin) or none: the vCPUs are not pinned",
		     n_pinned, ctx->vcpus);
	else if (first) {
		s = format_cpus(pin, ctx->vcpus, false);
		put(ctx, cpu, first, "pin", "%s", s ?: "");
		free(TAKE_PTR(s));
	}

	/*
	 * One housekeeping set for the emulator thread and the iothreads:
	 * the emulator's, else the first iothread's.
	 */
	hk_from = xchild(tune, "emulatorpin");
	xforeach(c, tune) if (!hk_from && xis(c, "iothreadpin")) hk_from = c;
	if (hk_from &&
	    parse_libvirt_cpuset(xattr(ctx, hk_from, "cpuset") ?: "", MAX_CPU, &hk, &n_hk) < 0) {
		item(ctx, IMPORT_DROPPED, hk_from, NULL, "not a set of host CPUs below %u",
		     MAX_CPU);
		bad = hk_from;
		hk_from = NULL;
	}
	if (hk_from) {
		s = format_cpus(hk, n_hk, true);
		put(ctx, cpu, hk_from, "housekeeping", "%s", s ?: "");
		if (!xis(hk_from, "emulatorpin"))
			item(ctx, IMPORT_CHANGED, hk_from, NULL,
			     "the emulator thread runs on these CPUs too ([cpu] housekeeping)");
	}
	xforeach(c, tune) if (xis(c, "iothreadpin") || xis(c, "emulatorpin"))
	{
		_cleanup_free_ unsigned *v = NULL;
		size_t n = 0;

		xmark(c);
		if (xis(c, "iothreadpin"))
			xattr(ctx, c, "iothread");
		if (c == hk_from || c == bad)
			continue;
		if (!hk_from ||
		    parse_libvirt_cpuset(xattr(ctx, c, "cpuset") ?: "", MAX_CPU, &v, &n) < 0 ||
		    n != n_hk || memcmp(v, hk, n * sizeof(*v)) != 0)
			item(ctx, IMPORT_CHANGED, c, NULL,
			     "gamevm runs the emulator thread and all iothreads on one set of host CPUs ([cpu] housekeeping = %s)",
			     s ?: "none");
	}
	xforeach(c, tune) if (xis(c, "vcpusched") || xis(c, "iothreadsched") ||
			      xis(c, "emulatorsched"))
		item(ctx, IMPORT_DROPPED, c, NULL,
		     "gamevm does not change thread scheduling policies or priorities");
}

static void convert_topology(struct import_ctx *ctx, struct out_section *cpu, xmlNode *t)
{
	static const char *const names[] = { "sockets", "dies", "cores", "threads" };
	unsigned long long v[ELEMENTSOF(names)], clusters = 1;
	const char *cl = xattr(ctx, t, "clusters");

	if (cl && (xuint(cl, MAX_VCPUS, &clusters) < 0 || clusters != 1)) {
		item(ctx, IMPORT_DROPPED, t, NULL,
		     "gamevm gives the guest one cluster per die: the plan chooses the topology");
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		const char *s = xattr(ctx, t, names[i]);

		v[i] = 1;
		if (s && xuint(s, MAX_VCPUS, &v[i]) < 0) {
			item(ctx, IMPORT_DROPPED, t, names[i], "not a count from 1 to %u",
			     MAX_VCPUS);
			return;
		}
	}
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		put(ctx, cpu, t, names[i], "%llu", v[i]);
}

static void convert_cpu_features(struct import_ctx *ctx, xmlNode *cpu)
{
	xforeach(f, cpu) if (xis(f, "feature"))
	{
		const char *policy = xattr(ctx, f, "policy"), *name = xattr(ctx, f, "name");

		xmark(f);
		if (!name || !*name) {
			item(ctx, IMPORT_DROPPED, f, NULL, "a feature without a name");
		} else if (!policy || streq(policy, "require") || streq(policy, "force")) {
			add_feature(ctx, name);
		} else if (streq(policy, "disable") || streq(policy, "forbid")) {
			_cleanup_free_ char *w = NULL;
			if (asprintf(&w, "-%s", name) < 0)
				ctx->err = -ENOMEM;
			else
				add_feature(ctx, w);
		} else {
			item(ctx, IMPORT_DROPPED, f, "policy",
			     "gamevm turns a feature on or off; '%s' is neither", policy);
		}
	}
}

int import_cpu(struct import_ctx *ctx)
{
	struct out_section *cpu = section(ctx, "cpu", NULL);
	xmlNode *vcpu = xchild(ctx->domain, "vcpu"), *c = xchild(ctx->domain, "cpu"), *t;
	const char *mode = xattr(ctx, c, "mode"), *s;
	unsigned long long n, cur;

	if (!vcpu)
		return import_fail(ctx, ctx->domain, "the domain has no <vcpu>");
	if (xuint(xtext(ctx, vcpu), MAX_VCPUS, &n) < 0 || n == 0)
		return import_fail(ctx, vcpu, "<vcpu> is not a vCPU count from 1 to 1024");
	ctx->vcpus = (unsigned)n;
	put_required(ctx, cpu, vcpu, "vcpus", ownf(ctx, "%llu", n));
	xattr(ctx, vcpu, "placement");
	s = xattr(ctx, vcpu, "current");
	if (s && (xuint(s, MAX_VCPUS, &cur) < 0 || cur != n))
		item(ctx, IMPORT_CHANGED, vcpu, "current",
		     "gamevm starts the guest with all %llu vCPUs", n);
	t = xchild(ctx->domain, "vcpus");
	if (t) {
		bool all = true;
		xforeach(v, t) if (xis(v, "vcpu"))
		{
			xmark(v);
			xattr(ctx, v, "id");
			xattr(ctx, v, "hotpluggable");
			xattr(ctx, v, "order");
			s = xattr(ctx, v, "enabled");
			all = all && (!s || xbool(s) == 1);
		}
		if (!all)
			item(ctx, IMPORT_CHANGED, t, NULL,
			     "gamevm starts the guest with all %llu vCPUs", n);
	}

	t = xchild(c, "topology");
	if (t)
		convert_topology(ctx, cpu, t);
	else
		item(ctx, IMPORT_CHANGED, c ? c : vcpu, NULL,
		     "no <topology>: libvirt gives QEMU one socket per vCPU, gamevm plans the topology from the host and the pin list (docs/planner.md)");

	if (!mode && xchild(c, "model"))
		mode = "custom";
	if (mode && streq(mode, "host-passthrough")) {
		put(ctx, cpu, c, "model", "host");
	} else if (mode && streq(mode, "host-model")) {
		put(ctx, cpu, c, "model", "host");
		item(ctx, IMPORT_CHANGED, c, "mode",
		     "gamevm passes the host CPU through (model = host) instead of a model like it");
	} else if (mode && streq(mode, "maximum")) {
		put(ctx, cpu, c, "model", "max");
	} else if (mode && streq(mode, "custom") && xchild(c, "model")) {
		t = xchild(c, "model");
		xattr(ctx, t, "fallback");
		put(ctx, cpu, t, "model", "%s", xtext(ctx, t));
	} else if (mode) {
		item(ctx, IMPORT_DROPPED, c, "mode",
		     "no CPU model: gamevm's default (host) applies");
	}
	if (c) {
		xattr(ctx, c, "check");
		xattr(ctx, c, "match");
		s = xattr(ctx, c, "migratable");
		if (s && xbool(s) != 0)
			item(ctx, IMPORT_CHANGED, c, "migratable",
			     "gamevm's VMs do not migrate (migratable=off)");
		convert_cpu_features(ctx, c);
	}
	if (ctx->n_features) {
		_cleanup_free_ char *w = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&w, &len);

		if (!f)
			return -ENOMEM;
		for (size_t i = 0; i < ctx->n_features; i++)
			fprintf(f, "%s%s", i ? " " : "", ctx->features[i]);
		if (fclose(f) != 0)
			return -ENOMEM;
		put(ctx, cpu, c ? c : vcpu, "features", "%s", w);
	}
	t = xchild(c, "cache");
	if (t) {
		s = xattr(ctx, t, "mode");
		if (xattr(ctx, t, "level"))
			item(ctx, IMPORT_DROPPED, t, "level",
			     "gamevm passes the host's caches through or not at all");
		put_bool(ctx, cpu, t, "cache-passthrough", s && streq(s, "passthrough"));
	} else if (c) {
		put_bool(ctx, cpu, c, "cache-passthrough", false);
	}
	if (ctx->hidden_node)
		put_bool(ctx, cpu, ctx->hidden_node, "hide-hypervisor", ctx->hidden);

	t = xchild(ctx->domain, "cputune");
	if (t)
		convert_pinning(ctx, cpu, t);
	s = vcpu ? xattr(ctx, vcpu, "cpuset") : NULL;
	if (s && !section_has(cpu, "pin"))
		item(ctx, IMPORT_DROPPED, vcpu, "cpuset",
		     "gamevm pins each vCPU to one host CPU ([cpu] pin) or leaves them unpinned");

	t = xchild(ctx->domain, "iothreads");
	n = 0;
	if (t && xuint(xtext(ctx, t), 64, &n) < 0)
		item(ctx, IMPORT_DROPPED, t, NULL, "gamevm takes 0 to 64 iothreads");
	c = xchild(ctx->domain, "iothreadids");
	if (c) {
		unsigned long long id, k = 0;
		bool plain = true;

		xforeach(i, c) if (xis(i, "iothread"))
		{
			xmark(i);
			plain = plain && xuint(xattr(ctx, i, "id"), 64, &id) == 0 && id == ++k;
		}
		if (!plain || (t && k != n))
			item(ctx, IMPORT_CHANGED, c, NULL,
			     "gamevm numbers its iothreads 1 to [cpu] iothreads");
		if (!t && k <= 64)
			n = k;
	}
	if (n)
		put(ctx, cpu, t ? t : c, "iothreads", "%llu", n);
	return 0;
}

/* ---- <features>: [hyperv], kvm, smm, pmu ------------------------------------ */

static const struct {
	const char *xml, *key;
} hv_flags[] = {
	{ "relaxed", "relaxed" },   { "vapic", "vapic" },
	{ "vpindex", "vpindex" },   { "runtime", "runtime" },
	{ "synic", "synic" },	    { "stimer", "stimer" },
	{ NULL, "stimer-direct" },  { "frequencies", "frequencies" },
	{ "tlbflush", "tlbflush" }, { "ipi", "ipi" },
	{ "reset", "reset" },	    { "reenlightenment", "reenlightenment" },
	{ "evmcs", "evmcs" },	    { "avic", "avic" },
};

static int hv_state(struct import_ctx *ctx, xmlNode *n)
{
	int b = xbool(xattr(ctx, n, "state"));

	if (b < 0)
		item(ctx, IMPORT_DROPPED, n, NULL, "expected state='on' or state='off'");
	return b;
}

static void convert_hyperv(struct import_ctx *ctx, xmlNode *hv)
{
	struct out_section *s = section(ctx, "hyperv", NULL);
	xmlNode *from[ELEMENTSOF(hv_flags)] = {};
	int state[ELEMENTSOF(hv_flags)];
	const char *mode = hv ? xattr(ctx, hv, "mode") : NULL;
	bool passthrough = mode && streq(mode, "passthrough");
	xmlNode *spin = NULL, *vendor = NULL;
	const char *retries = NULL, *vendor_id = NULL;
	int spin_on = 0;

	for (size_t i = 0; i < ELEMENTSOF(hv_flags); i++)
		state[i] = 0;
	if (mode && !passthrough && !streq(mode, "custom"))
		item(ctx, IMPORT_DROPPED, hv, "mode", "expected mode='custom' or 'passthrough'");
	xforeach(c, hv)
	{
		for (size_t i = 0; i < ELEMENTSOF(hv_flags); i++) {
			if (!hv_flags[i].xml || !xis(c, hv_flags[i].xml))
				continue;
			xmark(c);
			from[i] = c;
			state[i] = hv_state(ctx, c);
			if (streq(hv_flags[i].xml, "stimer") && xchild(c, "direct")) {
				from[i + 1] = xchild(c, "direct");
				state[i + 1] = hv_state(ctx, from[i + 1]);
			}
		}
		if (xis(c, "spinlocks")) {
			xmark(c);
			spin = c;
			spin_on = hv_state(ctx, c);
			retries = xattr(ctx, c, "retries");
		} else if (xis(c, "vendor_id")) {
			xmark(c);
			vendor = c;
			if (hv_state(ctx, c) == 1)
				vendor_id = xattr(ctx, c, "value");
			else
				xattr(ctx, c, "value");
		}
	}

	if (!hv && !ctx->hypervclock) {
		put_bool(ctx, s, ctx->domain, "enabled", false);
		return;
	}
	put_bool(ctx, s, hv ? hv : ctx->domain, "enabled", true);
	if (passthrough)
		put_bool(ctx, s, hv, "passthrough", true);
	for (size_t i = 0; i < ELEMENTSOF(hv_flags); i++) {
		if (passthrough && state[i] != 1) {
			if (state[i] == 0 && from[i])
				item(ctx, IMPORT_DROPPED, from[i], NULL,
				     "with mode='passthrough' gamevm turns every enlightenment KVM has on");
			continue;
		}
		put_bool(ctx, s,
			 from[i] ? from[i]
			 : hv	 ? hv
				 : ctx->domain,
			 hv_flags[i].key, state[i] == 1);
	}
	if (spin_on == 1) {
		unsigned long long v;

		if (xuint(retries, ~0u, &v) == 0)
			put(ctx, s, spin, "spinlocks", "%llu", v);
		else
			item(ctx, IMPORT_DROPPED, spin, "retries",
			     "not a retry count; [hyperv] spinlocks keeps its default (8191)");
	} else if (!passthrough) {
		put(ctx, s, spin ? spin : hv ? hv : ctx->domain, "spinlocks", "off");
	}
	if (vendor_id)
		put(ctx, s, vendor, "vendor-id", "%s", vendor_id);
}

void import_features(struct import_ctx *ctx)
{
	xmlNode *f = xchild(ctx->domain, "features");
	const char *s;

	ctx->smm = -1;
	xforeach(c, f)
	{
		if (xis(c, "acpi") || xis(c, "apic") || xis(c, "pae")) {
			xmark_tree(c); /* Q35 has them */
		} else if (xis(c, "vmport") || xis(c, "ioapic")) {
			xmark(c);
			s = xis(c, "vmport") ? xattr(ctx, c, "state") : xattr(ctx, c, "driver");
			if (s && !streq(s, xis(c, "vmport") ? "off" : "kvm"))
				item(ctx, IMPORT_DROPPED, c, NULL, "gamevm's machine has %s",
				     xis(c, "vmport") ? "vmport=off" : "KVM's in-kernel IOAPIC");
		} else if (xis(c, "smm")) {
			xmark(c);
			ctx->smm = hv_state(ctx, c);
			ctx->smm_node = c;
		} else if (xis(c, "pmu")) {
			xmark(c);
			if (hv_state(ctx, c) == 0)
				add_feature(ctx, "-pmu");
		} else if (xis(c, "kvm")) {
			xmark(c);
			xmlNode *h = xchild(c, "hidden");
			if (h) {
				ctx->hidden = hv_state(ctx, h) == 1;
				ctx->hidden_node = h;
			}
		} else if (xis(c, "msrs")) {
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "gamevm leaves unknown MSRs to the host's kvm.ignore_msrs setting");
		}
	}
	convert_hyperv(ctx, xchild(f, "hyperv"));
}
