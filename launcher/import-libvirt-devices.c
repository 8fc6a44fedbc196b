/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm import-libvirt: <devices>. Disks become [disk NAME], PCI hostdevs
 * [pci NAME], interfaces [net NAME]; the TPM, the watchdog, the balloon,
 * the USB controller, the serial port and the display become keys of
 * [tpm], [watchdog] and [devices]. Guest PCI addresses, aliases and the
 * controllers libvirt adds by itself are libvirt's layout: gamevm lays out
 * its own root ports (docs/seed-mapping.md), so they are read and dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import-libvirt-internal.h"
#include "parse-util.h"

#define MAX_SECTIONS 64 /* per kind, as the config parser allows */

struct devices_state {
	xmlNode *os;
	bool boot_orders;	      /* some device has <boot order=...> */
	unsigned boot_hd, boot_cdrom; /* from <os><boot dev=...>, 0: none */
	bool system_named;
	size_t n_disks, n_pci, n_nets;
};

/* Guest-side placement: libvirt's, not carried over. */
static void mark_layout(xmlNode *n)
{
	xforeach(c, n) if (xis(c, "address") || xis(c, "alias")) xmark_tree(c);
}

/* A user alias ('ua-NAME') names the section; else fallback. */
static const char *section_name(struct import_ctx *ctx, xmlNode *n, const char *kind,
				const char *fallback)
{
	xmlNode *a = xchild(n, "alias");
	const char *alias = a ? xattr(ctx, a, "name") : NULL;
	_cleanup_free_ char *name = NULL;
	const char *s;

	if (alias && strncmp(alias, "ua-", 3) == 0)
		name = sanitize_name(alias + 3);
	if (!name && fallback)
		name = sanitize_name(fallback);
	if (!name)
		name = strdup(kind);
	if (!name)
		return NULL;
	s = ownf(ctx, "%s %s", kind, name);
	/* Unique per kind: "disk vdb", "disk vdb-2". */
	for (unsigned i = 2; s && section_exists(ctx, s) && i < 1000; i++)
		s = ownf(ctx, "%s %.*s-%u", kind, NAME_MAX_LEN - 4, name, i);
	return s;
}

static int boot_order(struct import_ctx *ctx, xmlNode *n, unsigned *ret)
{
	xmlNode *b = xchild(n, "boot");
	unsigned long long v;

	if (!b)
		return 0;
	if (xuint(xattr(ctx, b, "order"), 99, &v) < 0 || v == 0) {
		item(ctx, IMPORT_DROPPED, b, NULL, "gamevm takes boot orders from 1 to 99");
		return 0;
	}
	*ret = (unsigned)v;
	return 1;
}

/* ---- [disk NAME] -------------------------------------------------------------- */

static const char *disk_bus(struct import_ctx *ctx, xmlNode *tgt, const char *bus)
{
	if (!bus)
		return NULL;
	if (streq(bus, "virtio"))
		return "virtio-blk";
	if (streq(bus, "scsi"))
		return "virtio-scsi";
	if (streq(bus, "sata"))
		return "sata";
	item(ctx, IMPORT_CHANGED, tgt, "bus",
	     "gamevm attaches disks to virtio-blk, virtio-scsi or SATA: this one goes on SATA");
	return "sata";
}

static void convert_disk(struct import_ctx *ctx, struct devices_state *st, xmlNode *d)
{
	const char *type = xattr(ctx, d, "type"), *device = xattr(ctx, d, "device");
	xmlNode *src = xchild(d, "source"), *drv = xchild(d, "driver"), *tgt = xchild(d, "target");
	const char *path = NULL, *bus, *v, *name;
	struct out_section *s;
	unsigned order;
	bool cdrom;

	xmark(d);
	device = device ?: "disk";
	type = type ?: "file";
	cdrom = streq(device, "cdrom");
	if (!cdrom && !streq(device, "disk")) {
		item(ctx, IMPORT_DROPPED, d, NULL, "gamevm attaches disks and CD-ROMs only");
		return;
	}
	if (streq(type, "file"))
		path = xattr(ctx, src, "file");
	else if (streq(type, "block"))
		path = xattr(ctx, src, "dev");
	else {
		item(ctx, IMPORT_DROPPED, d, NULL,
		     "gamevm opens image files and block devices only (type='file' or 'block')");
		return;
	}
	if (!path || !*path) {
		item(ctx, IMPORT_DROPPED, d, NULL,
		     cdrom ? "an empty CD-ROM drive: gamevm attaches a CD-ROM with its image"
			   : "a disk without a source");
		return;
	}
	if (st->n_disks >= MAX_SECTIONS) {
		item(ctx, IMPORT_DROPPED, d, NULL, "gamevm takes at most %d disks", MAX_SECTIONS);
		return;
	}
	v = xattr(ctx, drv, "type");
	xattr(ctx, drv, "name");
	if (v && !streq(v, "raw") && !streq(v, "qcow2")) {
		item(ctx, IMPORT_DROPPED, d, NULL, "gamevm opens raw and qcow2 images only");
		return;
	}
	xattr(ctx, src, "index");
	xforeach(c, src) if (xis(c, "seclabel")) xmark_tree(c);
	xforeach(c, d) if (xis(c, "backingStore") && !c->children) xmark_tree(c);
	mark_layout(d);

	v = tgt ? xattr(ctx, tgt, "dev") : NULL;
	name = section_name(ctx, d, "disk", !cdrom && !st->system_named ? "system" : v);
	st->system_named = st->system_named || !cdrom;
	s = section(ctx, name ?: "disk disk", d);
	if (!s)
		return;
	st->n_disks++;
	put_required(ctx, s, src, "path", path);
	if (cdrom)
		put(ctx, s, d, "media", "cdrom");

	v = xattr(ctx, drv, "type");
	if (v)
		put(ctx, s, drv, "format", "%s", v);
	bus = disk_bus(ctx, tgt, tgt ? xattr(ctx, tgt, "bus") : NULL);
	if (bus)
		put(ctx, s, tgt, "bus", "%s", bus);
	if (bus && streq(bus, "virtio-scsi"))
		ctx->n_scsi_disks++;

	/* Left out, libvirt's cache is QEMU's: writeback. */
	v = xattr(ctx, drv, "cache");
	put(ctx, s, drv ? drv : d, "cache", "%s", v && !streq(v, "default") ? v : "writeback");
	v = xattr(ctx, drv, "io");
	if (v && !streq(v, "default"))
		put(ctx, s, drv, "aio", "%s", v);
	v = xattr(ctx, drv, "discard");
	put(ctx, s, drv ? drv : d, "discard", "%s", v && !streq(v, "default") ? v : "ignore");
	v = xattr(ctx, drv, "detect_zeroes");
	if (v)
		put_bool(ctx, s, drv, "detect-zeroes", !streq(v, "off"));
	v = xchild(d, "serial") ? xtext(ctx, xchild(d, "serial")) : NULL;
	if (v)
		put(ctx, s, xchild(d, "serial"), "serial", "%s", v);
	if (bus && streq(bus, "virtio-blk")) {
		v = xattr(ctx, drv, "iothread");
		put(ctx, s, drv ? drv : d, "iothread", "%s", v ?: "0");
	}
	if (xchild(d, "readonly") && !cdrom)
		put_bool(ctx, s, xchild(d, "readonly"), "readonly", true);
	if (boot_order(ctx, d, &order)) {
		put(ctx, s, xchild(d, "boot"), "boot-index", "%u", order);
	} else if (!st->boot_orders) {
		/* <os><boot dev=...>: the first disk or CD-ROM, at its position */
		unsigned *pos = cdrom ? &st->boot_cdrom : &st->boot_hd;

		if (*pos)
			put(ctx, s, d, "boot-index", "%u", *pos);
		*pos = 0;
	}
}

/* ---- [pci NAME] --------------------------------------------------------------- */

/* libvirt's numbers: 0x0f, 15 or 017 (strtoul base 0). */
static int number(const char *s, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static void convert_hostdev(struct import_ctx *ctx, struct devices_state *st, xmlNode *h)
{
	const char *mode = xattr(ctx, h, "mode"), *type = xattr(ctx, h, "type");
	xmlNode *src = xchild(h, "source"), *a = xchild(src, "address"), *rom = xchild(h, "rom");
	unsigned long long dom = 0, bus, slot, fn;
	const char *managed = xattr(ctx, h, "managed"), *v;
	struct out_section *s;
	unsigned order;

	xmark(h);
	if (!mode || !streq(mode, "subsystem") || !type || !streq(type, "pci")) {
		item(ctx, IMPORT_DROPPED, h, NULL,
		     "gamevm passes whole PCI devices only; for a USB device, pass its USB controller as [pci NAME]");
		return;
	}
	v = xattr(ctx, a, "domain");
	if (!a || (v && number(v, 0xffff, &dom) < 0) ||
	    number(xattr(ctx, a, "bus"), 0xff, &bus) < 0 ||
	    number(xattr(ctx, a, "slot"), 0x1f, &slot) < 0 ||
	    number(xattr(ctx, a, "function"), 7, &fn) < 0) {
		item(ctx, IMPORT_DROPPED, h, NULL, "no PCI address gamevm can read in <source>");
		return;
	}
	if (st->n_pci >= MAX_SECTIONS) {
		item(ctx, IMPORT_DROPPED, h, NULL, "gamevm passes at most %d PCI devices",
		     MAX_SECTIONS);
		return;
	}
	xforeach(c, h) if (xis(c, "driver"))
	{
		xmark(c);
		v = xattr(ctx, c, "name");
		if (v && !streq(v, "vfio"))
			item(ctx, IMPORT_CHANGED, c, "name", "gamevm passes devices through VFIO");
	}
	mark_layout(h);
	s = section(ctx, section_name(ctx, h, "pci", ownf(ctx, "hostdev%zu", st->n_pci)) ?: "pci x",
		    h);
	if (!s)
		return;
	st->n_pci++;
	put_required(ctx, s, a, "address",
		     ownf(ctx, "%04llx:%02llx:%02llx.%llx", dom, bus, slot, fn));
	if (rom) {
		const char *bar = xattr(ctx, rom, "bar"), *file = xattr(ctx, rom, "file");
		const char *enabled = xattr(ctx, rom, "enabled");

		if (enabled && xbool(enabled) == 0) {
			put_bool(ctx, s, rom, "rombar", false);
			item(ctx, IMPORT_CHANGED, rom, "enabled",
			     "gamevm can hide the ROM BAR (rombar = no), not leave the ROM out altogether");
		} else if (bar && xbool(bar) >= 0) {
			put_bool(ctx, s, rom, "rombar", xbool(bar) == 1);
		}
		if (file)
			put(ctx, s, rom, "romfile", "%s", file);
	}
	/* libvirt's default is managed='no'. */
	put_bool(ctx, s, h, "managed", managed && xbool(managed) == 1);
	if (boot_order(ctx, h, &order))
		item(ctx, IMPORT_DROPPED, xchild(h, "boot"), NULL,
		     "gamevm boots from disks only ([disk NAME] boot-index)");
}

/* ---- [net NAME] --------------------------------------------------------------- */

static void convert_interface(struct import_ctx *ctx, struct devices_state *st, xmlNode *n)
{
	const char *type = xattr(ctx, n, "type"), *v;
	xmlNode *src = xchild(n, "source"), *model = xchild(n, "model"), *mac = xchild(n, "mac");
	xmlNode *tgt = xchild(n, "target"), *c;
	struct out_section *s;
	unsigned order;

	xmark(n);
	if (!type || (!streq(type, "network") && !streq(type, "bridge") && !streq(type, "user") &&
		      !streq(type, "ethernet"))) {
		item(ctx, IMPORT_DROPPED, n, NULL,
		     "gamevm's NICs use QEMU's user networking, a host bridge or a tap device ([net NAME] mode)");
		return;
	}
	if (st->n_nets >= MAX_SECTIONS) {
		item(ctx, IMPORT_DROPPED, n, NULL, "gamevm takes at most %d NICs", MAX_SECTIONS);
		return;
	}
	mark_layout(n);
	s = section(ctx, section_name(ctx, n, "net", ownf(ctx, "net%zu", st->n_nets)) ?: "net x",
		    n);
	if (!s)
		return;
	st->n_nets++;
	if (streq(type, "network")) {
		v = xattr(ctx, src, "network");
		/* the live domain says which bridge and port libvirt made */
		xattr(ctx, src, "bridge");
		xattr(ctx, src, "portid");
		xattr(ctx, tgt, "dev");
		put_required(ctx, s, n, "mode", "user");
		item(ctx, IMPORT_CHANGED, src ? src : n, NULL,
		     "libvirt's network '%s' (a bridge with NAT and DHCP) has no gamevm equivalent: QEMU's user-mode NAT (mode = user) instead; for an address on the LAN, mode = bridge",
		     v ? v : "?");
	} else if (streq(type, "bridge")) {
		v = xattr(ctx, src, "bridge");
		xattr(ctx, tgt, "dev");
		put_required(ctx, s, n, "mode", "bridge");
		if (v)
			put_required(ctx, s, src, "bridge", v);
	} else if (streq(type, "ethernet")) {
		v = xattr(ctx, tgt, "dev");
		xattr(ctx, tgt, "managed");
		put_required(ctx, s, n, "mode", "tap");
		if (v)
			put_required(ctx, s, tgt, "tap", v);
	} else {
		put_required(ctx, s, n, "mode", "user");
	}
	v = model ? xattr(ctx, model, "type") : NULL;
	if (v && (streq(v, "virtio") || streq(v, "e1000e")))
		put(ctx, s, model, "model", "%s", v);
	else if (v)
		item(ctx, IMPORT_CHANGED, model, "type",
		     "gamevm's NIC models are virtio and e1000e: the default, virtio");
	v = mac ? xattr(ctx, mac, "address") : NULL;
	if (v)
		put(ctx, s, mac, "mac", "%s", v);
	c = xchild(n, "link");
	v = c ? xattr(ctx, c, "state") : NULL;
	if (v && streq(v, "down"))
		item(ctx, IMPORT_DROPPED, c, NULL, "gamevm's NICs start with the link up");
	c = xchild(n, "driver");
	if (c && !c->properties && !c->children)
		xmark(c);
	if (boot_order(ctx, n, &order))
		item(ctx, IMPORT_DROPPED, xchild(n, "boot"), NULL,
		     "gamevm boots from disks only ([disk NAME] boot-index)");
}

/* ---- [tpm], [watchdog], [devices] ------------------------------------------------ */

static void convert_tpm(struct import_ctx *ctx, xmlNode *devices)
{
	struct out_section *s = section(ctx, "tpm", NULL);
	xmlNode *t = xchild(devices, "tpm"), *b = xchild(t, "backend"), *banks;
	const char *model = xattr(ctx, t, "model"), *type, *version;
	size_t n = 0;
	bool sha256 = false;

	if (!t) {
		put(ctx, s, devices, "model", "none");
		return;
	}
	type = xattr(ctx, b, "type");
	version = xattr(ctx, b, "version");
	if (!model || (!streq(model, "tpm-crb") && !streq(model, "tpm-tis"))) {
		item(ctx, IMPORT_DROPPED, t, NULL, "gamevm's TPM is a tpm-crb or tpm-tis: no TPM");
		put(ctx, s, t, "model", "none");
		return;
	}
	if (!type || !streq(type, "emulator") || (version && !streq(version, "2.0"))) {
		item(ctx, IMPORT_DROPPED, t, NULL,
		     "gamevm's TPM is a TPM 2.0 emulated by swtpm: no TPM");
		put(ctx, s, t, "model", "none");
		return;
	}
	mark_layout(t);
	put(ctx, s, t, "model", streq(model, "tpm-crb") ? "crb" : "tis");
	put(ctx, s, b, "version", "2.0");
	banks = xchild(b, "active_pcr_banks");
	xforeach(c, banks)
	{
		xmark(c);
		n++;
		sha256 = sha256 || xis(c, "sha256");
	}
	if (banks && (n != 1 || !sha256))
		item(ctx, IMPORT_CHANGED, banks, NULL, "gamevm's TPM has the SHA-256 PCR bank");
	item(ctx, IMPORT_CHANGED, t, NULL,
	     "gamevm makes a new TPM in its state directory (/var/lib/gamevm/%s/tpm/ by default) at the first start; to keep BitLocker and Windows Hello keys, copy libvirt's tpm2-00.permall (/var/lib/libvirt/swtpm/%s/tpm2/) there before, owned by QEMU's user",
	     ctx->name ? ctx->name : "NAME", ctx->uuid ? ctx->uuid : "UUID");
}

static void convert_watchdog(struct import_ctx *ctx, xmlNode *devices)
{
	static const char *const actions[] = { "reset", "shutdown", "poweroff",
					       "pause", "none",	    "inject-nmi" };
	struct out_section *s = section(ctx, "watchdog", NULL);
	xmlNode *w = xchild(devices, "watchdog");
	const char *model = xattr(ctx, w, "model"), *action = xattr(ctx, w, "action");
	bool known = false;

	if (!w) {
		put(ctx, s, devices, "model", "none");
		return;
	}
	mark_layout(w);
	if (!model || !streq(model, "itco")) {
		item(ctx, IMPORT_DROPPED, w, NULL,
		     "gamevm's watchdog is the iTCO built into Q35's ICH9: no watchdog");
		put(ctx, s, w, "model", "none");
		return;
	}
	put(ctx, s, w, "model", "itco");
	for (size_t i = 0; action && i < ELEMENTSOF(actions); i++)
		known = known || streq(action, actions[i]);
	if (known)
		put(ctx, s, w, "action", "%s", action);
	else if (action)
		item(ctx, IMPORT_CHANGED, w, "action",
		     "gamevm's watchdog actions are QEMU's -action watchdog=...: the default, reset");
}

static void convert_controllers(struct import_ctx *ctx, xmlNode *devices, struct out_section *dev)
{
	bool usb_done = false;

	xforeach(c, devices) if (xis(c, "controller"))
	{
		const char *type = xattr(ctx, c, "type"), *model = xattr(ctx, c, "model");

		xmark(c);
		xattr(ctx, c, "index");
		mark_layout(c);
		if (type && streq(type, "usb") && !usb_done) {
			usb_done = true;
			xattr(ctx, c, "ports");
			put_bool(ctx, dev, c, "usb-controller", !model || !streq(model, "none"));
			if (model && !streq(model, "none") && !streq(model, "qemu-xhci"))
				item(ctx, IMPORT_CHANGED, c, "model",
				     "gamevm's emulated USB controller is a qemu-xhci");
		} else if (type && streq(type, "usb")) {
			xmark_tree(c); /* the companions of an EHCI controller */
		} else if (type && streq(type, "scsi") && model && streq(model, "virtio-scsi")) {
			xforeach(d, c) if (xis(d, "driver")) xmark_tree(d);
			if (!ctx->n_scsi_disks)
				item(ctx, IMPORT_DROPPED, c, NULL,
				     "no disk uses it: gamevm adds a virtio-scsi controller (on the disks' iothread) for disks with bus = virtio-scsi only");
		} else if (type && (streq(type, "pci") || streq(type, "sata") ||
				    streq(type, "ide") || streq(type, "virtio-serial"))) {
			/* PCIe root ports, bridges, Q35's AHCI: gamevm lays them out itself */
			xmark_tree(c);
		} else {
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "gamevm adds the controllers its devices need, and no others");
		}
	}
}

static const char *display_model(struct import_ctx *ctx, xmlNode *video)
{
	xmlNode *m = xchild(video, "model");
	const char *type = xattr(ctx, m, "type");

	if (m) {
		/* Sizes and heads are QEMU's defaults in gamevm. */
		static const char *const sizes[] = { "ram",    "vram",	"vram64",
						     "vgamem", "heads", "primary" };
		for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
			xattr(ctx, m, sizes[i]);
	}
	mark_layout(video);
	if (!type || streq(type, "none"))
		return "none";
	if (streq(type, "vga"))
		return "std";
	if (streq(type, "qxl") || streq(type, "virtio"))
		return type;
	item(ctx, IMPORT_CHANGED, m, "type",
	     "gamevm's emulated displays are std (VGA), qxl and virtio: std");
	return "std";
}

/* <graphics type='vnc' port='5901' listen='127.0.0.1'> is [devices] vnc = 127.0.0.1:1. */
static void convert_graphics(struct import_ctx *ctx, xmlNode *g, struct out_section *dev)
{
	const char *type = xattr(ctx, g, "type"), *port, *listen, *autoport;
	xmlNode *l = xchild(g, "listen");
	unsigned long long p = 5900;

	if (!type || !streq(type, "vnc")) {
		item(ctx, IMPORT_DROPPED, g, NULL,
		     "gamevm's remote display is VNC ([devices] vnc); the passed-through GPU is the real one");
		return;
	}
	port = xattr(ctx, g, "port");
	autoport = xattr(ctx, g, "autoport");
	listen = xattr(ctx, g, "listen");
	if (l) {
		const char *lt = xattr(ctx, l, "type");
		if (lt && streq(lt, "address"))
			listen = xattr(ctx, l, "address") ?: listen;
		else
			item(ctx, IMPORT_CHANGED, l, NULL, "gamevm's VNC listens on a TCP address");
	}
	if (autoport && xbool(autoport) == 1) {
		p = 5900;
		item(ctx, IMPORT_CHANGED, g, "autoport",
		     "gamevm's VNC takes display 0 (port 5900)");
	} else if (port && (xuint(port, 5999, &p) < 0 || p < 5900)) {
		item(ctx, IMPORT_DROPPED, g, "port", "gamevm's VNC takes ports 5900 to 5999");
		return;
	}
	put(ctx, dev, g, "vnc", "%s:%llu", listen ? listen : "127.0.0.1", p - 5900);
}

static void convert_serial(struct import_ctx *ctx, xmlNode *devices, struct out_section *dev)
{
	xmlNode *n = xchild(devices, "serial"), *src;
	const char *type = xattr(ctx, n, "type"), *path;

	if (!n) {
		put(ctx, dev, devices, "serial", "none");
		return;
	}
	mark_layout(n);
	xforeach(c, n) if (xis(c, "target")) xmark_tree(c);
	src = xchild(n, "source");
	path = xattr(ctx, src, "path");
	if (type && streq(type, "pty")) {
		put(ctx, dev, n, "serial", "pty");
		xmark_tree(src); /* the live domain's /dev/pts/N */
	} else if (type && streq(type, "file") && path) {
		put(ctx, dev, n, "serial", "file");
		put(ctx, dev, src, "serial-path", "%s", path);
	} else {
		item(ctx, IMPORT_DROPPED, n, NULL, "gamevm's serial port goes to a pty or a file");
		put(ctx, dev, n, "serial", "none");
	}
	/* The <console> that mirrors the serial port. */
	xforeach(c, devices) if (xis(c, "console"))
	{
		xmlNode *t = xchild(c, "target");
		const char *tt = xattr(ctx, t, "type");

		xmark(c);
		xattr(ctx, c, "type");
		if (!tt || streq(tt, "serial"))
			xmark_tree(c);
	}
}

static void convert_display(struct import_ctx *ctx, xmlNode *devices, struct out_section *dev)
{
	const char *display = NULL;

	xforeach(c, devices) if (xis(c, "video"))
	{
		xmark(c);
		if (!display)
			display = display_model(ctx, c);
		else
			item(ctx, IMPORT_DROPPED, c, NULL, "gamevm adds one emulated display");
	}
	put(ctx, dev, devices, "display", "%s", display ? display : "none");
	xforeach(c, devices) if (xis(c, "graphics"))
	{
		xmark(c);
		if (!section_has(dev, "vnc"))
			convert_graphics(ctx, c, dev);
		else
			item(ctx, IMPORT_DROPPED, c, NULL, "gamevm has one VNC display");
	}
}

static void convert_other(struct import_ctx *ctx, xmlNode *devices, struct out_section *dev)
{
	bool balloon = false;
	xmlNode *from = devices;

	xforeach(c, devices)
	{
		const char *s;

		if (xis(c, "memballoon")) {
			xmark(c);
			mark_layout(c);
			s = xattr(ctx, c, "model");
			balloon = s && !streq(s, "none");
			from = c;
			xforeach(d, c) if (xis(d, "stats")) xmark_tree(d);
		} else if (xis(c, "input")) {
			const char *type = xattr(ctx, c, "type"), *bus = xattr(ctx, c, "bus");

			xmark(c);
			mark_layout(c);
			if (!bus || !streq(bus, "ps2") || !type ||
			    (!streq(type, "mouse") && !streq(type, "keyboard")))
				item(ctx, IMPORT_DROPPED, c, NULL,
				     "gamevm's guest has Q35's PS/2 keyboard and mouse only: pass a USB controller for real input");
		} else if (xis(c, "audio")) {
			s = xattr(ctx, c, "type");
			xmark(c);
			xattr(ctx, c, "id");
			if (!s || !streq(s, "none"))
				item(ctx, IMPORT_DROPPED, c, NULL,
				     "gamevm gives QEMU no audio backend: sound goes through the GPU's HDMI/DP audio");
		} else if (xis(c, "sound")) {
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "gamevm adds no emulated sound card: sound goes through the GPU's HDMI/DP audio");
		} else if (xis(c, "channel")) {
			item(ctx, IMPORT_DROPPED, c, NULL,
			     "gamevm has no guest agent or SPICE channel");
		}
	}
	put_bool(ctx, dev, from, "balloon", balloon);
}

void import_devices(struct import_ctx *ctx, xmlNode *devices)
{
	struct out_section *vm = section(ctx, "vm", NULL), *dev = section(ctx, "devices", NULL);
	struct devices_state st = { .os = xchild(ctx->domain, "os") };
	xmlNode *e = xchild(devices, "emulator");
	unsigned pos = 0;

	if (!devices)
		return;
	xmark(devices);
	if (e)
		put(ctx, vm, e, "qemu-binary", "%s", xtext(ctx, e));

	/* Per-device <boot order>, or else <os><boot dev=...> in order. */
	xforeach(c, devices) xforeach(b, c) if (xis(b, "boot")) st.boot_orders = true;
	xforeach(b, st.os) if (xis(b, "boot"))
	{
		const char *d = xattr(ctx, b, "dev");

		xmark(b);
		pos++;
		if (st.boot_orders)
			continue; /* libvirt refuses both; the device orders win */
		if (d && streq(d, "hd") && !st.boot_hd)
			st.boot_hd = pos;
		else if (d && streq(d, "cdrom") && !st.boot_cdrom)
			st.boot_cdrom = pos;
		else
			item(ctx, IMPORT_DROPPED, b, NULL,
			     "gamevm boots from disks and CD-ROMs only");
	}

	xforeach(c, devices) if (xis(c, "disk")) convert_disk(ctx, &st, c);
	xforeach(c, devices) if (xis(c, "hostdev")) convert_hostdev(ctx, &st, c);
	xforeach(c, devices) if (xis(c, "interface")) convert_interface(ctx, &st, c);
	convert_tpm(ctx, devices);
	convert_watchdog(ctx, devices);
	convert_other(ctx, devices, dev);
	convert_controllers(ctx, devices, dev);
	convert_serial(ctx, devices, dev);
	convert_display(ctx, devices, dev);
}
