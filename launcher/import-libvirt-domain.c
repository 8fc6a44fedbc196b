/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm import-libvirt: everything outside <devices>: name, machine, memory,
 * vCPUs and their pinning, CPU model and topology, Hyper-V, firmware,
 * SMBIOS, clock, power management. Where libvirt leaves a setting out,
 * the key gets libvirt's meaning (no <hyperv> flag listed: the flag is off),
 * except where docs/import-libvirt.md says gamevm's default is kept.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import-libvirt-internal.h"

#define QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* ---- [vm] ------------------------------------------------------------------- */

static int convert_vm(struct import_ctx *ctx)
{
	struct out_section *vm = section(ctx, "vm", NULL);
	xmlNode *n = xchild(ctx->domain, "name"), *os = xchild(ctx->domain, "os"), *t;
	const char *text, *type = xattr(ctx, ctx->domain, "type");
	_cleanup_free_ char *name = NULL;

	xattr(ctx, ctx->domain, "id"); /* the live domain's number */
	text = n ? xtext(ctx, n) : "";
	if (!*text)
		return import_fail(ctx, n ? n : ctx->domain, "the domain has no <name>");
	name = sanitize_name(text);
	if (!name)
		return import_fail(
			ctx, n,
			"the domain's <name> has no character a gamevm name can use (A-Z a-z 0-9 _ -)");
	if (!streq(name, text))
		item(ctx, IMPORT_CHANGED, n, NULL,
		     "gamevm names are 1 to 32 characters from A-Z a-z 0-9 _ -: the VM is called '%s'",
		     name);
	put_required(ctx, vm, n, "name", name);
	ctx->name = own(ctx, TAKE_PTR(name));

	if (type && streq(type, "kvm"))
		put(ctx, vm, ctx->domain, "accel", "kvm");
	else if (type && streq(type, "qemu"))
		put(ctx, vm, ctx->domain, "accel", "tcg");
	else
		item(ctx, IMPORT_DROPPED, ctx->domain, "type",
		     "gamevm runs QEMU with KVM or TCG only; [vm] accel keeps its default (kvm)");

	t = xchild(os, "type");
	if (t) {
		const char *arch = xattr(ctx, t, "arch"), *machine = xattr(ctx, t, "machine");

		if (arch && !streq(arch, "x86_64"))
			item(ctx, IMPORT_DROPPED, t, "arch", "gamevm runs x86_64 guests only");
		if (!streq(xtext(ctx, t), "hvm"))
			item(ctx, IMPORT_DROPPED, t, NULL,
			     "gamevm runs full virtualization (hvm) only");
		if (machine && (streq(machine, "q35") || strncmp(machine, "pc-q35-", 7) == 0))
			put(ctx, vm, t, "machine", "%s", machine);
		else if (machine)
			item(ctx, IMPORT_CHANGED, t, "machine",
			     "gamevm builds Q35 machines only (passthrough needs PCIe root ports): the VM gets q35");
	}

	n = xchild(ctx->domain, "uuid");
	if (n) {
		ctx->uuid = strdup(xtext(ctx, n));
		if (!ctx->uuid)
			return -ENOMEM;
		for (char *p = ctx->uuid; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		put(ctx, vm, n, "uuid", "%s", ctx->uuid);
	}
	return 0;
}

/* ---- [memory] ----------------------------------------------------------------- */

/* libvirt's scaled integers: <memory unit='KiB'>, <page size='2048' unit='KiB'>. */
static int scaled(const char *value, const char *unit, unsigned long long *ret)
{
	static const char letters[] = "bkmgtpe";
	unsigned long long v, scale = 1, base = 1024;
	const char *l;

	if (xuint(value, ~0ull, &v) < 0)
		return -EINVAL;
	if (!unit || !*unit)
		unit = "KiB";
	l = strchr(letters, tolower((unsigned char)unit[0]));
	if (!l)
		return -EINVAL;
	if (l == letters) {
		if (strcasecmp(unit, "b") != 0 && strcasecmp(unit, "bytes") != 0)
			return -EINVAL;
	} else if (strcasecmp(unit + 1, "b") == 0) {
		base = 1000;
	} else if (unit[1] && strcasecmp(unit + 1, "ib") != 0) {
		return -EINVAL;
	}
	for (long i = 0; i < l - letters; i++)
		scale *= base;
	if (v > ~0ull / scale)
		return -EINVAL;
	*ret = v * scale;
	return 0;
}

static const char *size_string(struct import_ctx *ctx, unsigned long long b)
{
	if (b % (1ull << 30) == 0)
		return ownf(ctx, "%lluG", b >> 30);
	if (b % (1ull << 20) == 0)
		return ownf(ctx, "%lluM", b >> 20);
	return ownf(ctx, "%lluK", b >> 10);
}

static void convert_hugepages(struct import_ctx *ctx, struct out_section *mem, xmlNode *hp,
			      unsigned long long size)
{
	unsigned long long page = 2ull << 20;
	xmlNode *from = hp;
	size_t n = 0;

	xforeach(p, hp) if (xis(p, "page"))
	{
		if (n++ > 0) {
			item(ctx, IMPORT_DROPPED, p, NULL,
			     "gamevm backs all guest RAM with one huge page size");
			continue;
		}
		xmark(p);
		from = p;
		if (scaled(xattr(ctx, p, "size"), xattr(ctx, p, "unit"), &page) < 0 ||
		    (page != 2ull << 20 && page != 1ull << 30)) {
			item(ctx, IMPORT_DROPPED, p, NULL,
			     "gamevm takes 2M or 1G huge pages: guest RAM is not on huge pages");
			return;
		}
		if (xattr(ctx, p, "nodeset"))
			item(ctx, IMPORT_CHANGED, p, "nodeset",
			     "gamevm backs all guest RAM with huge pages, on the node of [memory] node");
	}
	if (size % page != 0) {
		item(ctx, IMPORT_DROPPED, from, NULL,
		     "the memory size is not a multiple of the huge page size: guest RAM is not on huge pages");
		return;
	}
	put(ctx, mem, from, "hugepages", page == 1ull << 30 ? "1G" : "2M");
}

static int convert_memory(struct import_ctx *ctx)
{
	struct out_section *mem = section(ctx, "memory", NULL);
	xmlNode *n = xchild(ctx->domain, "memory"), *cur = xchild(ctx->domain, "currentMemory");
	xmlNode *mb = xchild(ctx->domain, "memoryBacking"), *nt = xchild(ctx->domain, "numatune");
	unsigned long long size, current;
	xmlNode *c;

	if (!n)
		return import_fail(ctx, ctx->domain, "the domain has no <memory>");
	if (scaled(xtext(ctx, n), xattr(ctx, n, "unit"), &size) < 0 || size == 0)
		return import_fail(ctx, n, "<memory> is not a memory size");
	put_required(ctx, mem, n, "size", size_string(ctx, size));
	if (cur &&
	    (scaled(xtext(ctx, cur), xattr(ctx, cur, "unit"), &current) < 0 || current != size))
		item(ctx, IMPORT_CHANGED, cur, NULL,
		     "gamevm gives the guest all of <memory> (there is no balloon target)");
	c = xchild(ctx->domain, "maxMemory");
	if (c)
		item(ctx, IMPORT_DROPPED, c, NULL, "gamevm has no memory hotplug");

	if (xchild(mb, "hugepages"))
		convert_hugepages(ctx, mem, xchild(mb, "hugepages"), size);
	c = xchild(mb, "source");
	if (c) {
		const char *type = xattr(ctx, c, "type");
		if (!type || !streq(type, "memfd"))
			item(ctx, IMPORT_CHANGED, c, "type", "gamevm backs guest RAM with memfd");
	}
	c = xchild(mb, "access");
	if (c) {
		const char *mode = xattr(ctx, c, "mode");
		if (!mode || !streq(mode, "shared"))
			item(ctx, IMPORT_CHANGED, c, "mode",
			     "gamevm maps guest RAM shared (share=on)");
	}
	c = xchild(mb, "allocation");
	if (c) {
		const char *mode = xattr(ctx, c, "mode"), *threads = xattr(ctx, c, "threads");
		unsigned long long v;

		if (mode && !streq(mode, "immediate"))
			item(ctx, IMPORT_CHANGED, c, "mode",
			     "gamevm allocates huge-page-backed RAM at start (prealloc)");
		if (threads && xuint(threads, 1024, &v) == 0)
			put(ctx, mem, c, "prealloc-threads", "%llu", v);
		else if (threads)
			item(ctx, IMPORT_DROPPED, c, "threads",
			     "not a thread count from 0 to 1024");
	}

	c = xchild(nt, "memory");
	if (c) {
		const char *mode = xattr(ctx, c, "mode"), *nodes = xattr(ctx, c, "nodeset");
		const char *placement = xattr(ctx, c, "placement");
		_cleanup_free_ unsigned *v = NULL;
		size_t nv = 0;

		if (placement && streq(placement, "auto"))
			put(ctx, mem, c, "node", "auto");
		else if (mode && streq(mode, "interleave"))
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "gamevm binds guest RAM to one node ([memory] node) or lets the plan pick");
		else if (!nodes || parse_libvirt_cpuset(nodes, 1024, &v, &nv) < 0 || nv != 1)
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "gamevm binds guest RAM to one host NUMA node ([memory] node)");
		else
			put(ctx, mem, c, "node", "%u", v[0]);
	}
	if (xchild(mb, "locked"))
		put_bool(ctx, mem, xchild(mb, "locked"), "lock", true);
	return 0;
}

/* ---- [firmware] ------------------------------------------------------------------ */

static void convert_firmware(struct import_ctx *ctx)
{
	struct out_section *fw = section(ctx, "firmware", NULL);
	xmlNode *os = xchild(ctx->domain, "os"), *loader = xchild(os, "loader");
	xmlNode *nvram = xchild(os, "nvram"), *feats = xchild(os, "firmware");
	const char *firmware = xattr(ctx, os, "firmware"), *secure = NULL, *ltype = NULL;
	int sb = -1, keys = -1;
	bool uefi;

	if (loader) {
		secure = xattr(ctx, loader, "secure");
		ltype = xattr(ctx, loader, "type");
		xattr(ctx, loader, "readonly");
		xattr(ctx, loader, "format");
	}
	uefi = firmware ? streq(firmware, "efi") : loader && ltype && streq(ltype, "pflash");
	if (firmware && !uefi && !streq(firmware, "bios"))
		item(ctx, IMPORT_DROPPED, os, "firmware", "gamevm boots UEFI or BIOS firmware");
	put(ctx, fw, os ? os : ctx->domain, "type", uefi ? "uefi" : "bios");

	xforeach(c, feats) if (xis(c, "feature"))
	{
		const char *name = xattr(ctx, c, "name");
		int b = xbool(xattr(ctx, c, "enabled"));

		xmark(c);
		if (name && streq(name, "secure-boot") && b >= 0)
			sb = b;
		else if (name && streq(name, "enrolled-keys") && b >= 0)
			keys = b;
		else
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "gamevm picks firmware by secure-boot and enrolled-keys only");
	}
	if (sb < 0 && secure)
		sb = xbool(secure);
	if (sb >= 0)
		put_bool(ctx, fw, feats ? feats : loader, "secure-boot", sb);
	if (keys >= 0)
		put_bool(ctx, fw, feats, "enrolled-keys", keys);
	if (ctx->smm >= 0)
		put_bool(ctx, fw, ctx->smm_node, "smm", ctx->smm);

	/*
	 * firmware='efi' is libvirt's automatic choice among the same QEMU
	 * firmware descriptors gamevm reads: the paths it filled in are left
	 * to gamevm's own choice. A loader given by hand is kept.
	 */
	if (loader && !firmware) {
		const char *tmpl = nvram ? xattr(ctx, nvram, "template") : NULL;

		if (tmpl) {
			put(ctx, fw, loader, "code", "%s", xtext(ctx, loader));
			put(ctx, fw, nvram, "vars", "%s", tmpl);
		} else if (uefi) {
			item(ctx, IMPORT_DROPPED, loader, NULL,
			     "without the <nvram template=...> it came with, gamevm picks the firmware from QEMU's descriptors ([firmware] code and vars go together)");
		} else {
			put(ctx, fw, loader, "code", "%s", xtext(ctx, loader));
		}
	} else if (loader) {
		xtext(ctx, loader);
	}
	if (nvram) {
		const char *format = xattr(ctx, nvram, "format");

		xattr(ctx, nvram, "template");
		xattr(ctx, nvram, "templateFormat");
		item(ctx, IMPORT_CHANGED, nvram, NULL,
		     "gamevm keeps the VM's UEFI variables in its state directory, made from the template at the first start: to keep the boot entries and keys, copy %s to /var/lib/gamevm/%s/OVMF_VARS.%s (the default state directory) before that",
		     *xtext(ctx, nvram) ? xtext(ctx, nvram) : "libvirt's NVRAM file",
		     ctx->name ? ctx->name : "NAME",
		     format && streq(format, "qcow2") ? "qcow2" : "fd");
	}
	xforeach(c, os) if (xis(c, "bootmenu"))
		item(ctx, IMPORT_DROPPED, c, NULL, "gamevm has no boot menu setting");
}

/* ---- [smbios] -------------------------------------------------------------------- */

static const struct {
	const char *group, *entry, *key;
} smbios_keys[] = {
	{ "bios", "vendor", "bios-vendor" },
	{ "bios", "version", "bios-version" },
	{ "bios", "date", "bios-date" },
	{ "bios", "release", "bios-release" },
	{ "system", "manufacturer", "system-manufacturer" },
	{ "system", "product", "system-product" },
	{ "system", "version", "system-version" },
	{ "system", "serial", "system-serial" },
	{ "system", "sku", "system-sku" },
	{ "system", "family", "system-family" },
	{ "baseBoard", "manufacturer", "baseboard-manufacturer" },
	{ "baseBoard", "product", "baseboard-product" },
	{ "baseBoard", "version", "baseboard-version" },
	{ "baseBoard", "serial", "baseboard-serial" },
	{ "baseBoard", "asset", "baseboard-asset" },
	{ "baseBoard", "location", "baseboard-location" },
	{ "chassis", "manufacturer", "chassis-manufacturer" },
	{ "chassis", "version", "chassis-version" },
	{ "chassis", "serial", "chassis-serial" },
	{ "chassis", "asset", "chassis-asset" },
	{ "chassis", "sku", "chassis-sku" },
};

static void convert_sysinfo(struct import_ctx *ctx, struct out_section *s, xmlNode *si)
{
	xmlNode *from[ELEMENTSOF(smbios_keys)] = {};
	const char *value[ELEMENTSOF(smbios_keys)] = {};

	put(ctx, s, si, "mode", "custom");
	xforeach(g, si)
	{
		bool known = false;

		for (size_t i = 0; i < ELEMENTSOF(smbios_keys); i++)
			known = known || xis(g, smbios_keys[i].group);
		if (!known)
			continue; /* <oemStrings>, ...: the sweep lists them */
		xmark(g);
		xforeach(e, g)
		{
			const char *name = xis(e, "entry") ? xattr(ctx, e, "name") : NULL;
			bool done = false;

			if (!name)
				continue;
			xmark(e);
			for (size_t i = 0; i < ELEMENTSOF(smbios_keys); i++)
				if (xis(g, smbios_keys[i].group) &&
				    streq(name, smbios_keys[i].entry)) {
					from[i] = e;
					value[i] = xtext(ctx, e);
					done = true;
				}
			if (!done && xis(g, "system") && streq(name, "uuid")) {
				if (!ctx->uuid || strcasecmp(xtext(ctx, e), ctx->uuid) != 0)
					item(ctx, IMPORT_CHANGED, e, NULL,
					     "SMBIOS type 1 repeats the VM's UUID ([vm] uuid)");
			} else if (!done) {
				item(ctx, IMPORT_DROPPED, e, NULL, "no gamevm [smbios] key for it");
			}
		}
	}
	for (size_t i = 0; i < ELEMENTSOF(smbios_keys); i++)
		if (value[i])
			put(ctx, s, from[i], smbios_keys[i].key, "%s", value[i]);
}

static void convert_smbios(struct import_ctx *ctx)
{
	struct out_section *s = section(ctx, "smbios", NULL);
	xmlNode *os = xchild(ctx->domain, "os"), *sm = xchild(os, "smbios"), *si = NULL;
	const char *mode = sm ? xattr(ctx, sm, "mode") : xattr(ctx, os, "smbios");

	xforeach(c, ctx->domain) if (xis(c, "sysinfo"))
	{
		const char *type = xattr(ctx, c, "type");

		xmark(c);
		if (type && streq(type, "smbios") && !si && mode && streq(mode, "sysinfo"))
			si = c;
		else if (type && streq(type, "smbios"))
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "libvirt uses it only with <smbios mode='sysinfo'/> in <os>");
		else
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "gamevm writes SMBIOS tables only ([smbios])");
	}
	if (si) {
		convert_sysinfo(ctx, s, si);
	} else if (mode && streq(mode, "host")) {
		put(ctx, s, sm ? sm : os, "mode", "host");
		item(ctx, IMPORT_CHANGED, sm ? sm : os, NULL,
		     "gamevm's mode = host copies SMBIOS types 0 to 3 from the host, libvirt's types 0 and 1");
	} else if (mode && streq(mode, "sysinfo")) {
		item(ctx, IMPORT_DROPPED, sm ? sm : os, NULL,
		     "there is no <sysinfo type='smbios'>");
	}
}

/* ---- [clock], [power] ------------------------------------------------------------ */

static void convert_timer(struct import_ctx *ctx, xmlNode *t, bool *rtc, bool *pit, bool *hpet,
			  xmlNode **hvclock)
{
	const char *name = xattr(ctx, t, "name"), *present = xattr(ctx, t, "present");
	const char *tick = xattr(ctx, t, "tickpolicy");
	int on = present ? xbool(present) : 1;

	xmark(t);
	if (!name) {
		item(ctx, IMPORT_DROPPED, t, NULL, "a timer without a name");
	} else if (streq(name, "rtc") || streq(name, "pit")) {
		bool is_rtc = streq(name, "rtc");
		const char *want = is_rtc ? "catchup" : "delay";

		if (on != 1)
			item(ctx, IMPORT_DROPPED, t, "present", "gamevm's machine has the %s",
			     name);
		*(is_rtc ? rtc : pit) = tick && streq(tick, want);
		if (tick && !streq(tick, want) && !streq(tick, is_rtc ? "delay" : "catchup"))
			item(ctx, IMPORT_CHANGED, t, "tickpolicy",
			     "gamevm's %s either catches up with or delays lost ticks (%s)", name,
			     is_rtc ? "[clock] rtc-catchup" : "[clock] pit-delay");
	} else if (streq(name, "hpet")) {
		*hpet = on == 1;
	} else if (streq(name, "hypervclock")) {
		ctx->hypervclock = on == 1;
		*hvclock = t;
	} else if (streq(name, "tsc")) {
		const char *mode = xattr(ctx, t, "mode");
		if (on != 1 || (mode && !streq(mode, "native") && !streq(mode, "auto")))
			item(ctx, IMPORT_DROPPED, t, NULL, "gamevm leaves the TSC to KVM (native)");
	} else if (streq(name, "kvmclock")) {
		if (on != 1)
			item(ctx, IMPORT_DROPPED, t, "present",
			     "gamevm leaves kvmclock to QEMU ([cpu] hide-hypervisor hides KVM from the guest)");
	} else {
		item(ctx, IMPORT_DROPPED, t, NULL, "gamevm has no setting for this timer");
	}
}

static void convert_clock(struct import_ctx *ctx)
{
	struct out_section *s = section(ctx, "clock", NULL);
	xmlNode *clock = xchild(ctx->domain, "clock");
	const char *offset = xattr(ctx, clock, "offset");
	bool rtc = false, pit = false, hpet = true;
	xmlNode *from = clock ? clock : ctx->domain, *hvclock = NULL;

	if (offset && streq(offset, "variable")) {
		const char *basis = xattr(ctx, clock, "basis");
		item(ctx, IMPORT_CHANGED, clock, "adjustment",
		     "gamevm's RTC starts at the host's time, without an adjustment");
		offset = basis ? basis : "utc";
	} else if (offset && streq(offset, "timezone")) {
		item(ctx, IMPORT_CHANGED, clock, "timezone",
		     "gamevm's RTC runs in the host's local time or in UTC: local time here");
		offset = "localtime";
	}
	if (offset && !streq(offset, "utc") && !streq(offset, "localtime")) {
		item(ctx, IMPORT_DROPPED, clock, "offset",
		     "gamevm's RTC runs in local time or UTC");
		offset = NULL;
	}
	put(ctx, s, from, "base", "%s", offset ? offset : "utc");
	xforeach(t, clock) if (xis(t, "timer")) convert_timer(ctx, t, &rtc, &pit, &hpet, &hvclock);
	put_bool(ctx, s, from, "rtc-catchup", rtc);
	put_bool(ctx, s, from, "pit-delay", pit);
	put_bool(ctx, s, from, "hpet", hpet);
	put_bool(ctx, s, hvclock ? hvclock : from, "hypervclock", ctx->hypervclock);
}

static void convert_pm(struct import_ctx *ctx)
{
	struct out_section *s = section(ctx, "power", NULL);
	xmlNode *pm = xchild(ctx->domain, "pm");
	static const char *const names[][2] = { { "suspend-to-mem", "s3" },
						{ "suspend-to-disk", "s4" } };

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		xmlNode *n = xchild(pm, names[i][0]);
		/* Left out: QEMU's default, which lets the guest suspend. */
		put_bool(ctx, s,
			 n    ? n
			 : pm ? pm
			      : ctx->domain,
			 names[i][1], !n || xbool(xattr(ctx, n, "enabled")) != 0);
	}
}

/* ---- the rest of the domain ----------------------------------------------------- */

static void convert_lifecycle(struct import_ctx *ctx)
{
	static const char *const events[][2] = { { "on_poweroff", "destroy" },
						 { "on_reboot", "restart" },
						 { "on_crash", "destroy" } };

	for (size_t i = 0; i < ELEMENTSOF(events); i++) {
		xmlNode *n = xchild(ctx->domain, events[i][0]);

		if (n && !streq(xtext(ctx, n), events[i][1]))
			item(ctx, IMPORT_DROPPED, n, NULL,
			     "gamevm's VM ends when the guest powers off or crashes, and reboots when it reboots");
	}
	/* libvirt's own bookkeeping, replaced by gamevm's (docs/security.md) */
	static const char *const own_business[] = { "metadata", "title",    "description",
						    "resource", "seclabel", "keywrap" };
	xforeach(c, ctx->domain) for (size_t i = 0; i < ELEMENTSOF(own_business);
				      i++) if (xis(c, own_business[i])) xmark_tree(c);
}

/* <qemu:commandline> arguments become [qemu] extra lines. */
static void convert_qemu_commandline(struct import_ctx *ctx)
{
	xforeach(c, ctx->domain)
	{
		_cleanup_free_ char *line = NULL;
		struct out_section *s;
		size_t len = 0;

		if (!c->ns || !c->ns->href || !streq((const char *)c->ns->href, QEMU_NS) ||
		    !streq((const char *)c->name, "commandline"))
			continue;
		xmark(c);
		s = section(ctx, "qemu", c);
		xforeach(a, c)
		{
			const char *v;

			if (!a->ns || !streq((const char *)a->name, "arg"))
				continue;
			xmark(a);
			v = xattr(ctx, a, "value");
			if (!v || !*v || strpbrk(v, " \t\r\n")) {
				item(ctx, IMPORT_DROPPED, a, NULL,
				     "[qemu] extra splits on spaces, so an argument cannot be empty or hold one");
				continue;
			}
			if (line && len + 1 + strlen(v) > 150) {
				put(ctx, s, c, "extra", "%s", line);
				free(TAKE_PTR(line));
			}
			if (!line) {
				line = strdup(v);
			} else {
				char *t = NULL;
				if (asprintf(&t, "%s %s", line, v) < 0)
					t = NULL;
				free(line);
				line = t;
			}
			if (!line) {
				ctx->err = -ENOMEM;
				return;
			}
			len = strlen(line);
		}
		if (line)
			put(ctx, s, c, "extra", "%s", line);
		item(ctx, IMPORT_CHANGED, c, NULL,
		     "passed on as [qemu] extra, which gamevm does not check: review it");
	}
}

int import_domain(struct import_ctx *ctx)
{
	int r;

	r = convert_vm(ctx);
	if (r < 0)
		return r;
	r = convert_memory(ctx);
	if (r < 0)
		return r;
	convert_clock(ctx);
	import_features(ctx);
	r = import_cpu(ctx);
	if (r < 0)
		return r;
	convert_firmware(ctx);
	convert_smbios(ctx);
	convert_pm(ctx);
	convert_lifecycle(ctx);
	import_devices(ctx, xchild(ctx->domain, "devices"));
	convert_qemu_commandline(ctx);
	return 0;
}
