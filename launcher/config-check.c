/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The checks that involve more than one key, run after the whole file is
 * read: required keys, defaults that depend on other keys, and the rules
 * QEMU or Windows would otherwise break later with a vaguer message. Each
 * error names the line of the key at fault and the line of the key it
 * conflicts with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "parse-util.h"

static unsigned line_of(struct config_parser *p, const char *label, const char *key)
{
	return config_key_line(p->c, label, key);
}

static int require(struct config_parser *p, const char *label, enum section_kind s, const char *key,
		   unsigned fallback_line)
{
	_cleanup_free_ char *expect = NULL;
	int r;

	if (line_of(p, label, key))
		return 0;
	r = config_key_expect(config_key_find(s, key), &expect);
	if (r < 0)
		return p->r = r;
	return config_parser_fail(p, fallback_line, label, key, "missing; expected %s", expect);
}

static int check_memory(struct config_parser *p)
{
	struct vm_config *c = p->c;
	unsigned line = line_of(p, "memory", "size");
	uint64_t page = c->hugepages == HUGEPAGES_2M   ? 2ull << 20
			: c->hugepages == HUGEPAGES_1G ? 1ull << 30
						       : 0;
	char have[32], want[32];
	int r;

	r = require(p, "memory", SECTION_MEMORY, "size", p->plain_line[SECTION_MEMORY]);
	if (r < 0)
		return r;
	format_size(c->memory_bytes, have, sizeof(have));
	if (c->memory_bytes < CONFIG_MIN_MEMORY)
		return config_parser_fail(p, line, "memory", "size",
					  "%s is too small; expected at least 128M", have);
	if (c->memory_bytes > CONFIG_MAX_MEMORY)
		return config_parser_fail(p, line, "memory", "size",
					  "%s is too large; expected at most 16T", have);
	if (c->memory_bytes % (1ull << 20))
		return config_parser_fail(
			p, line, "memory", "size",
			"%s is not a whole number of MiB; expected e.g. 16G or 8192M", have);
	if (page && c->memory_bytes % page) {
		format_size((c->memory_bytes / page + 1) * page, want, sizeof(want));
		return config_parser_fail(
			p, line, "memory", "size",
			"%s is not a multiple of the %s hugepage size (hugepages, line %u); expected e.g. %s",
			have, hugepages_mode_to_string(c->hugepages),
			line_of(p, "memory", "hugepages"), want);
	}
	return 0;
}

static int check_topology(struct config_parser *p)
{
	static const char *const names[] = { "sockets", "dies", "cores", "threads" };
	struct vm_config *c = p->c;
	struct vm_topology *t = &c->topology;
	unsigned vline = line_of(p, "cpu", "vcpus");
	const char *blame = NULL;
	uint64_t sdt, product;

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (line_of(p, "cpu", names[i]) && (!blame || streq(names[i], "cores")))
			blame = names[i];
	if (!blame)
		return 0; /* all auto: the plan derives it from the host */

	/* Partial topology: the missing levels are 1, cores takes the rest. */
	if (!t->sockets)
		t->sockets = 1;
	if (!t->dies)
		t->dies = 1;
	if (!t->threads)
		t->threads = 1;
	sdt = (uint64_t)t->sockets * t->dies * t->threads;
	if (!t->cores) {
		if (c->vcpus % sdt)
			return config_parser_fail(
				p, line_of(p, "cpu", blame), "cpu", blame,
				"sockets %u x dies %u x threads %u = %llu does not divide vcpus = %u (line %u); expected values whose product divides vcpus, or cores too",
				t->sockets, t->dies, t->threads, (unsigned long long)sdt, c->vcpus,
				vline);
		t->cores = (unsigned)(c->vcpus / sdt);
	}
	product = sdt * t->cores;
	if (product != c->vcpus)
		return config_parser_fail(
			p, line_of(p, "cpu", blame), "cpu", blame,
			"sockets %u x dies %u x cores %u x threads %u = %llu but vcpus = %u (line %u); expected a product equal to vcpus",
			t->sockets, t->dies, t->cores, t->threads, (unsigned long long)product,
			c->vcpus, vline);
	return 0;
}

static int check_cpu(struct config_parser *p)
{
	struct vm_config *c = p->c;
	unsigned cache_line = line_of(p, "cpu", "cache-passthrough");
	int r;

	r = require(p, "cpu", SECTION_CPU, "vcpus", p->plain_line[SECTION_CPU]);
	if (r < 0)
		return r;
	r = check_topology(p);
	if (r < 0)
		return r;
	if (c->pin && c->n_pin != c->vcpus)
		return config_parser_fail(
			p, line_of(p, "cpu", "pin"), "cpu", "pin",
			"%zu CPUs listed but vcpus = %u (line %u); list one host CPU per vCPU",
			c->n_pin, c->vcpus, line_of(p, "cpu", "vcpus"));

	/* host-cache-info only exists for -cpu host. */
	if (!cache_line)
		c->cache_passthrough = streq(c->cpu_model, "host");
	else if (c->cache_passthrough && !streq(c->cpu_model, "host"))
		return config_parser_fail(
			p, cache_line, "cpu", "cache-passthrough",
			"needs model = host, but model = %s (line %u); expected cache-passthrough = no or model = host",
			c->cpu_model, line_of(p, "cpu", "model"));
	return 0;
}

static const char *hv_label(enum hv_flag f)
{
	return f == HV_TIME ? "clock" : "hyperv";
}

/* First flag in f's prerequisites (transitively) that is explicitly off. */
static int hv_off_prerequisite(const enum tristate *flags, enum hv_flag f, int depth)
{
	const enum hv_flag *req;
	size_t n = hv_flag_requires(f, &req);

	if (depth > _HV_FLAG_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int r;
		if (flags[req[i]] == TRISTATE_OFF)
			return (int)req[i];
		r = hv_off_prerequisite(flags, req[i], depth + 1);
		if (r >= 0)
			return r;
	}
	return -1;
}

static int check_hyperv(struct config_parser *p)
{
	struct vm_config *c = p->c;
	struct vm_hyperv *h = &c->hyperv;
	unsigned enabled_line = line_of(p, "hyperv", "enabled");
	unsigned pt_line = line_of(p, "hyperv", "passthrough");
	bool changed;

	if (!h->enabled) {
		static const char *const extra[] = { "passthrough", "vendor-id", "spinlocks" };

		for (int f = 0; f < _HV_FLAG_MAX; f++)
			if (h->flags[f] == TRISTATE_ON)
				return config_parser_fail(
					p, line_of(p, hv_label(f), hv_flag_to_string(f)),
					hv_label(f), hv_flag_to_string(f),
					"yes, but [hyperv] enabled = no (line %u); expected no or auto, or enabled = yes",
					enabled_line);
		for (size_t i = 0; i < ELEMENTSOF(extra); i++)
			if (line_of(p, "hyperv", extra[i]))
				return config_parser_fail(
					p, line_of(p, "hyperv", extra[i]), "hyperv", extra[i],
					"set, but enabled = no (line %u); expected it removed, or enabled = yes",
					enabled_line);
		for (int f = 0; f < _HV_FLAG_MAX; f++)
			h->flags[f] = TRISTATE_OFF;
		c->hypervclock = false;
		return 0;
	}

	if (h->passthrough)
		for (int f = 0; f < _HV_FLAG_MAX; f++)
			if (h->flags[f] == TRISTATE_OFF &&
			    line_of(p, hv_label(f), hv_flag_to_string(f)))
				return config_parser_fail(
					p, line_of(p, hv_label(f), hv_flag_to_string(f)),
					hv_label(f), hv_flag_to_string(f),
					"no, but [hyperv] passthrough = yes (line %u) turns on every flag KVM offers; expected passthrough = no to choose flags one by one",
					pt_line);

	/* QEMU refuses a flag whose prerequisite is off (docs/system/i386/hyperv.rst). */
	for (int f = 0; f < _HV_FLAG_MAX; f++) {
		int off;
		if (h->flags[f] != TRISTATE_ON)
			continue;
		off = hv_off_prerequisite(h->flags, (enum hv_flag)f, 0);
		if (off >= 0)
			return config_parser_fail(
				p, line_of(p, hv_label(f), hv_flag_to_string(f)), hv_label(f),
				hv_flag_to_string(f),
				"needs %s, which is off ([%s] %s, line %u); expected %s on, or %s = no",
				hv_flag_to_string(off), hv_label(off), hv_flag_to_string(off),
				line_of(p, hv_label(off), hv_flag_to_string(off)),
				hv_flag_to_string(off), hv_flag_to_string(f));
	}
	/* An auto flag whose prerequisite is off cannot be on either. */
	do {
		changed = false;
		for (int f = 0; f < _HV_FLAG_MAX; f++)
			if (h->flags[f] == TRISTATE_AUTO &&
			    hv_off_prerequisite(h->flags, (enum hv_flag)f, 0) >= 0) {
				h->flags[f] = TRISTATE_OFF;
				changed = true;
			}
	} while (changed);
	c->hypervclock = h->flags[HV_TIME] != TRISTATE_OFF;
	return 0;
}

static int check_firmware(struct config_parser *p)
{
	struct vm_config *c = p->c;
	unsigned sb_line = line_of(p, "firmware", "secure-boot");
	unsigned type_line = line_of(p, "firmware", "type");
	unsigned code_line = line_of(p, "firmware", "code");
	unsigned vars_line = line_of(p, "firmware", "vars");
	unsigned keys_line = line_of(p, "firmware", "enrolled-keys");
	unsigned smm_line = line_of(p, "firmware", "smm");

	if (!sb_line)
		c->secure_boot = c->firmware == FIRMWARE_UEFI;
	else if (c->secure_boot && c->firmware != FIRMWARE_UEFI)
		return config_parser_fail(
			p, sb_line, "firmware", "secure-boot",
			"yes, but type = bios (line %u); expected type = uefi, or secure-boot = no",
			type_line);
	if (c->enrolled_keys == TRISTATE_ON && !c->secure_boot)
		return config_parser_fail(
			p, keys_line, "firmware", "enrolled-keys",
			"yes, but Secure Boot is off%s; expected secure-boot = yes, or enrolled-keys = no or auto",
			sb_line ? " ([firmware] secure-boot)" : " (type = bios)");
	/* OVMF's Secure Boot builds keep their variable store behind SMM. */
	if (c->smm == TRISTATE_OFF && c->secure_boot)
		return config_parser_fail(
			p, smm_line, "firmware", "smm",
			"off, but Secure Boot needs SMM to protect its variable store; expected smm = auto or on, or secure-boot = no");
	if (c->firmware == FIRMWARE_BIOS) {
		if (vars_line)
			return config_parser_fail(
				p, vars_line, "firmware", "vars",
				"set, but type = bios has no NVRAM; expected only code (the BIOS image) with type = bios");
		return 0;
	}
	if (code_line && !vars_line)
		return config_parser_fail(
			p, code_line, "firmware", "code",
			"set without vars; expected both code and vars (the NVRAM template), or neither to pick them from the QEMU firmware descriptors");
	if (vars_line && !code_line)
		return config_parser_fail(
			p, vars_line, "firmware", "vars",
			"set without code; expected both code and vars, or neither to pick them from the QEMU firmware descriptors");
	return 0;
}

static int check_smbios(struct config_parser *p)
{
	struct vm_config *c = p->c;
	unsigned mode_line = line_of(p, "smbios", "mode");

	unsigned oem_line = line_of(p, "smbios", "oem-activation");

	if (c->smbios.oem_activation && c->smbios.mode != SMBIOS_HOST)
		return config_parser_fail(
			p, oem_line, "smbios", "oem-activation",
			"yes, but the tables are the host's: expected mode = host in [smbios] (line %u)",
			mode_line ? mode_line : oem_line);
	if (c->smbios.oem_activation && c->uuid)
		return config_parser_fail(
			p, oem_line, "smbios", "oem-activation",
			"yes takes the host's system UUID, but [vm] uuid is set (line %u); expected one of them",
			line_of(p, "vm", "uuid"));
	for (size_t i = 0; i < c->n_key_lines; i++) {
		const struct config_key_line *k = &c->key_lines[i];
		if (!streq(k->section, "smbios") || streq(k->key, "mode") ||
		    streq(k->key, "oem-activation"))
			continue;
		if (!mode_line) {
			c->smbios.mode = SMBIOS_CUSTOM;
			return 0;
		}
		if (c->smbios.mode == SMBIOS_NONE)
			return config_parser_fail(
				p, k->line, "smbios", k->key,
				"set, but mode = none (line %u) ignores it; expected mode = custom or host",
				mode_line);
	}
	return 0;
}

static int check_devices(struct config_parser *p)
{
	struct vm_config *c = p->c;
	unsigned path_line = line_of(p, "devices", "serial-path");

	if (c->serial == SERIAL_FILE && !c->serial_path)
		return config_parser_fail(
			p, line_of(p, "devices", "serial"), "devices", "serial",
			"file, but serial-path is missing; expected serial-path = /absolute/path in [devices]");
	if (c->serial != SERIAL_FILE && path_line)
		return config_parser_fail(
			p, path_line, "devices", "serial-path",
			"set, but serial = %s; expected serial = file, or no serial-path",
			enum_name_lookup(serial_mode_names, c->serial));
	if (c->vnc && c->display == DISPLAY_NONE)
		return config_parser_fail(
			p, line_of(p, "devices", "vnc"), "devices", "vnc",
			"set, but display = none gives VNC nothing to show; expected display = std, qxl or virtio");
	return 0;
}

static int check_disk(struct config_parser *p, size_t i, unsigned *rr)
{
	struct vm_config *c = p->c;
	struct vm_disk *d = &c->disks[i];
	_cleanup_free_ char *label = NULL;
	unsigned bus_line, aio_line, io_line, ro_line;
	bool virtio;
	int r;

	if (asprintf(&label, "disk %s", d->name) < 0)
		return p->r = -ENOMEM;
	bus_line = line_of(p, label, "bus");
	aio_line = line_of(p, label, "aio");
	io_line = line_of(p, label, "iothread");
	ro_line = line_of(p, label, "readonly");

	r = require(p, label, SECTION_DISK, "path", d->line);
	if (r < 0)
		return r;
	for (size_t j = 0; j < i; j++)
		if (streq(c->disks[j].path, d->path))
			return config_parser_fail(
				p, line_of(p, label, "path"), label, "path",
				"'%s' is already used by [disk %s] (line %u); expected each image once",
				d->path, c->disks[j].name, c->disks[j].line);

	if (d->media == DISK_MEDIA_CDROM) {
		if (!bus_line)
			d->bus = DISK_BUS_SATA;
		else if (d->bus == DISK_BUS_VIRTIO_BLK)
			return config_parser_fail(
				p, bus_line, label, "bus",
				"virtio-blk cannot be a CD-ROM (media = cdrom); expected bus = sata or virtio-scsi");
		if (!ro_line)
			d->readonly = true;
		else if (!d->readonly)
			return config_parser_fail(
				p, ro_line, label, "readonly",
				"no, but a CD-ROM is always read-only; expected readonly = yes, or media = disk");
	}

	/* aio=native needs O_DIRECT: QEMU refuses it with a page-cached image. */
	if (d->cache != DISK_CACHE_NONE && d->cache != DISK_CACHE_DIRECTSYNC) {
		if (!aio_line)
			d->aio = DISK_AIO_THREADS;
		else if (d->aio == DISK_AIO_NATIVE)
			return config_parser_fail(
				p, aio_line, label, "aio",
				"native needs O_DIRECT, but cache = %s (line %u); expected aio = io_uring or threads, or cache = none or directsync",
				enum_name_lookup(disk_cache_names, d->cache),
				line_of(p, label, "cache"));
	}

	virtio = d->bus != DISK_BUS_SATA;
	if (io_line) {
		if (d->iothread && !virtio)
			return config_parser_fail(
				p, io_line, label, "iothread",
				"%u, but SATA disks run in QEMU's main loop; expected iothread = 0, or bus = virtio-blk or virtio-scsi",
				d->iothread);
		if (d->iothread > c->iothreads && c->iothreads == 0)
			return config_parser_fail(
				p, io_line, label, "iothread",
				"%u, but there are no iothreads ([cpu] iothreads = 0); expected iothread = 0 (QEMU's main loop), or iothreads = %u in [cpu]",
				d->iothread, d->iothread);
		if (d->iothread > c->iothreads)
			return config_parser_fail(
				p, io_line, label, "iothread",
				"%u, but [cpu] iothreads = %u (line %u); expected 1 to %u, or 0 for QEMU's main loop",
				d->iothread, c->iothreads, line_of(p, "cpu", "iothreads"),
				c->iothreads);
	} else if (virtio && c->iothreads) {
		/* Spread disks over the iothreads in file order. */
		d->iothread = *rr % c->iothreads + 1;
		(*rr)++;
	}

	if (d->boot_index)
		for (size_t j = 0; j < i; j++)
			if (c->disks[j].boot_index == d->boot_index)
				return config_parser_fail(
					p, line_of(p, label, "boot-index"), label, "boot-index",
					"%u is also used by [disk %s]; expected a different number for each disk",
					d->boot_index, c->disks[j].name);
	return 0;
}

static int check_pci(struct config_parser *p, size_t i)
{
	struct vm_config *c = p->c;
	struct vm_pci *d = &c->pci[i];
	_cleanup_free_ char *label = NULL;
	char a[PCI_ADDR_STRLEN], b[PCI_ADDR_STRLEN];
	int r;

	if (asprintf(&label, "pci %s", d->name) < 0)
		return p->r = -ENOMEM;
	r = require(p, label, SECTION_PCI, "address", d->line);
	if (r < 0)
		return r;
	format_pci_addr(&d->addr, a);
	if (d->all_functions && d->addr.function != 0) {
		struct pci_addr fn0 = d->addr;
		fn0.function = 0;
		return config_parser_fail(
			p, line_of(p, label, "all-functions"), label, "all-functions",
			"yes, but address %s is not function 0 of its slot; expected address = %s",
			a, format_pci_addr(&fn0, b));
	}
	for (size_t j = 0; j < i; j++) {
		const struct vm_pci *o = &c->pci[j];
		bool same = pci_addr_compare(&o->addr, &d->addr) == 0;

		if (same || (pci_addr_same_slot(&o->addr, &d->addr) &&
			     (o->all_functions || d->all_functions)))
			return config_parser_fail(
				p, line_of(p, label, "address"), label, "address",
				"%s is already passed through by [pci %s] (line %u%s); expected each device once",
				a, o->name, o->line, same ? "" : ", all functions of the slot");
	}
	if (d->romfile && !d->rombar)
		return config_parser_fail(
			p, line_of(p, label, "romfile"), label, "romfile",
			"set, but rombar = no (line %u) hides the ROM; expected rombar = yes, or no romfile",
			line_of(p, label, "rombar"));
	if (d->primary_display) {
		if (!c->single_gpu)
			return config_parser_fail(
				p, line_of(p, label, "primary-display"), label, "primary-display",
				"yes, but [vm] single-gpu = no; expected single-gpu = yes in [vm] when the host's own display GPU is passed");
		for (size_t j = 0; j < i; j++)
			if (c->pci[j].primary_display)
				return config_parser_fail(
					p, line_of(p, label, "primary-display"), label,
					"primary-display",
					"yes, but [pci %s] is the primary display already; expected one primary display",
					c->pci[j].name);
	}
	return 0;
}

static int check_net(struct config_parser *p, size_t i)
{
	struct vm_config *c = p->c;
	struct vm_net *n = &c->nets[i];
	_cleanup_free_ char *label = NULL;
	const char *mode = enum_name_lookup(net_mode_names, n->mode);

	if (asprintf(&label, "net %s", n->name) < 0)
		return p->r = -ENOMEM;
	if (n->mode == NET_BRIDGE && !n->bridge)
		return config_parser_fail(
			p, line_of(p, label, "mode"), label, "mode",
			"bridge, but no bridge is named; expected bridge = br0 (your host bridge) in [%s]",
			label);
	if (n->mode == NET_TAP && !n->tap)
		return config_parser_fail(
			p, line_of(p, label, "mode"), label, "mode",
			"tap, but no tap is named; expected tap = tap0 (an existing tap device) in [%s]",
			label);
	if (n->mode != NET_BRIDGE && n->bridge)
		return config_parser_fail(
			p, line_of(p, label, "bridge"), label, "bridge",
			"set, but mode = %s; expected mode = bridge, or no bridge", mode);
	if (n->mode != NET_TAP && n->tap)
		return config_parser_fail(p, line_of(p, label, "tap"), label, "tap",
					  "set, but mode = %s; expected mode = tap, or no tap",
					  mode);
	if (n->mac)
		for (size_t j = 0; j < i; j++)
			if (c->nets[j].mac && streq(c->nets[j].mac, n->mac))
				return config_parser_fail(
					p, line_of(p, label, "mac"), label, "mac",
					"%s is also used by [net %s]; expected a different MAC for each NIC",
					n->mac, c->nets[j].name);
	return 0;
}

static int check_hook(struct config_parser *p, size_t i)
{
	struct vm_hook *h = &p->c->hooks[i];
	_cleanup_free_ char *label = NULL;
	int r;

	if (asprintf(&label, "hook %s", h->name) < 0)
		return p->r = -ENOMEM;
	r = require(p, label, SECTION_HOOK, "command", h->line);
	if (r < 0)
		return r;
	return require(p, label, SECTION_HOOK, "when", h->line);
}

int config_check(struct config_parser *p)
{
	struct vm_config *c = p->c;
	unsigned rr = 0;
	int r;

	r = require(p, "vm", SECTION_VM, "name", p->plain_line[SECTION_VM]);
	if (r >= 0)
		r = check_memory(p);
	if (r >= 0)
		r = check_cpu(p);
	if (r >= 0)
		r = check_hyperv(p);
	if (r >= 0)
		r = check_firmware(p);
	if (r >= 0)
		r = check_smbios(p);
	if (r >= 0)
		r = check_devices(p);
	if (r >= 0)
		r = config_desktop_check(p);
	for (size_t i = 0; r >= 0 && i < c->n_disks; i++)
		r = check_disk(p, i, &rr);
	for (size_t i = 0; r >= 0 && i < c->n_pci; i++)
		r = check_pci(p, i);
	for (size_t i = 0; r >= 0 && i < c->n_nets; i++)
		r = check_net(p, i);
	for (size_t i = 0; r >= 0 && i < c->n_hooks; i++)
		r = check_hook(p, i);
	if (r < 0)
		return r;

	/* No [net NAME] at all: the usual NAT'd virtio NIC, like libvirt's default network. */
	if (c->n_nets == 0) {
		size_t i;
		r = config_named_section_add(c, SECTION_NET, "default", 0, &i);
		if (r < 0)
			return p->r = r;
	}
	return 0;
}
