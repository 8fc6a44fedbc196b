/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device part of the QEMU argv: pcie-root-ports, vfio-pci, the USB
 * controller, disks, TPM, NICs, display and serial, in that order.
 *
 * Every PCIe device sits alone on its own pcie-root-port (as libvirt does on
 * Q35): ports fill pcie.0 from slot 2 (slot 1 is left to an emulated VGA),
 * eight functions per slot, port N at slot 2 + (N-1)/8 function (N-1)%8,
 * chassis N, port number 0x10 + N-1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan-internal.h"

static void argv_root_ports(const struct plan *p, struct strv *a)
{
	for (unsigned i = 1; i <= p->n_root_ports; i++) {
		unsigned slot = 2 + (i - 1) / 8, fn = (i - 1) % 8;

		strv_push(a, "-device");
		strv_pushf(
			a,
			"pcie-root-port,id=rp%u,bus=pcie.0,chassis=%u,port=0x%x,addr=0x%x.0x%x%s",
			i, i, 0x10 + i - 1, slot, fn,
			fn == 0 && i < p->n_root_ports ? ",multifunction=on" : "");
	}
}

static void argv_hostdevs(const struct plan *p, struct strv *a)
{
	for (size_t i = 0; i < p->n_hostdevs; i++) {
		const struct plan_hostdev *hd = &p->hostdevs[i];
		struct qopts o = { 0 };
		char addr[PCI_ADDR_STRLEN];

		qopts_add(&o, "vfio-pci,host=%s,id=hostdev%zu,bus=rp%u,addr=0x0.0x%x",
			  format_pci_addr(&hd->host, addr), i, hd->port, hd->function);
		if (hd->multifunction)
			qopts_add(&o, "multifunction=on");
		qopts_add(&o, "rombar=%d", hd->cfg->rombar ? 1 : 0);
		if (hd->cfg->romfile)
			qopts_str(&o, "romfile", hd->cfg->romfile);
		qopts_push(a, "-device", &o);
	}
}

static const char *aio_name(enum disk_aio aio)
{
	switch (aio) {
	case DISK_AIO_NATIVE:
		return "native";
	case DISK_AIO_IO_URING:
		return "io_uring";
	case DISK_AIO_THREADS:
	default:
		return "threads";
	}
}

/* QEMU's -drive cache= modes spelled out: O_DIRECT, flushes, guest write cache. */
static void disk_cache(enum disk_cache cache, bool *direct, bool *no_flush, bool *wce)
{
	*direct = cache == DISK_CACHE_NONE || cache == DISK_CACHE_DIRECTSYNC;
	*no_flush = cache == DISK_CACHE_UNSAFE;
	*wce = cache != DISK_CACHE_WRITETHROUGH && cache != DISK_CACHE_DIRECTSYNC;
}

static void argv_disk_nodes(const struct vm_disk *k, size_t idx, struct strv *a)
{
	bool cdrom = k->media == DISK_MEDIA_CDROM;
	bool ro = k->readonly || cdrom;
	bool qcow2 = k->format == DISK_FORMAT_QCOW2;
	bool unmap = k->discard == DISK_DISCARD_UNMAP && !ro;
	const char *zeroes = NULL;
	bool direct, no_flush, wce;
	struct qopts o = { 0 };

	disk_cache(k->cache, &direct, &no_flush, &wce);
	if (!ro && k->detect_zeroes == TRISTATE_ON)
		zeroes = unmap ? "unmap" : "on";
	else if (!ro && k->detect_zeroes == TRISTATE_AUTO && unmap)
		zeroes = "unmap";

	/* The image's fds, which gamevm opened (plan.h, PLAN_DISK_FD). */
	qopts_add(&o, "fd=%d,set=%zu", PLAN_DISK_FD(idx, true), PLAN_DISK_FDSET(idx));
	qopts_str(&o, "opaque", k->path);
	qopts_push(a, "-add-fd", &o);
	if (!ro) {
		qopts_add(&o, "fd=%d,set=%zu", PLAN_DISK_FD(idx, false), PLAN_DISK_FDSET(idx));
		qopts_str(&o, "opaque", k->path);
		qopts_push(a, "-add-fd", &o);
	}

	/* The protocol node: the file or block device itself, through its fd set. */
	qopts_add(&o, "driver=%s", strncmp(k->path, "/dev/", 5) == 0 ? "host_device" : "file");
	qopts_add(&o, "filename=/dev/fdset/%zu", PLAN_DISK_FDSET(idx));
	qopts_add(&o, "node-name=disk%zu%s", idx, qcow2 ? "-file" : "");
	qopts_add(&o, "aio=%s", aio_name(k->aio));
	qopts_add(&o, "cache.direct=%s,cache.no-flush=%s", direct ? "on" : "off",
		  no_flush ? "on" : "off");
	if (unmap)
		qopts_add(&o, "discard=unmap");
	if (zeroes && !qcow2)
		qopts_add(&o, "detect-zeroes=%s", zeroes);
	if (ro)
		qopts_add(&o, "read-only=on");
	qopts_push(a, "-blockdev", &o);

	if (!qcow2)
		return;
	qopts_add(&o, "driver=qcow2,file=disk%zu-file,node-name=disk%zu", idx, idx);
	qopts_add(&o, "cache.direct=%s,cache.no-flush=%s", direct ? "on" : "off",
		  no_flush ? "on" : "off");
	if (unmap)
		qopts_add(&o, "discard=unmap");
	if (zeroes)
		qopts_add(&o, "detect-zeroes=%s", zeroes);
	if (ro)
		qopts_add(&o, "read-only=on");
	qopts_push(a, "-blockdev", &o);
}

static void argv_disks(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	unsigned sata = 0, lun = 0;

	if (p->scsi_port) {
		struct qopts o = { 0 };

		qopts_add(&o, "virtio-scsi-pci,id=scsi0,bus=rp%u,addr=0x0", p->scsi_port);
		if (p->scsi_iothread)
			qopts_add(&o, "iothread=iothread%u", p->scsi_iothread);
		qopts_push(a, "-device", &o);
	}

	for (size_t i = 0; i < c->n_disks; i++) {
		const struct vm_disk *k = &c->disks[i];
		bool cdrom = k->media == DISK_MEDIA_CDROM;
		bool direct, no_flush, wce;
		struct qopts o = { 0 };

		disk_cache(k->cache, &direct, &no_flush, &wce);
		argv_disk_nodes(k, i, a);
		switch (k->bus) {
		case DISK_BUS_VIRTIO_BLK:
			qopts_add(&o, "virtio-blk-pci");
			break;
		case DISK_BUS_VIRTIO_SCSI:
			qopts_add(&o, "%s", cdrom ? "scsi-cd" : "scsi-hd");
			break;
		case DISK_BUS_SATA:
		default:
			qopts_add(&o, "%s", cdrom ? "ide-cd" : "ide-hd");
			break;
		}
		/* Section names are [A-Za-z0-9_-]: a valid QEMU id after a letter. */
		qopts_add(&o, "id=disk-%s", k->name);
		qopts_add(&o, "drive=disk%zu", i);
		switch (k->bus) {
		case DISK_BUS_VIRTIO_BLK:
			qopts_add(&o, "bus=rp%u,addr=0x0", p->disk_port[i]);
			if (k->iothread)
				qopts_add(&o, "iothread=iothread%u", k->iothread);
			break;
		case DISK_BUS_VIRTIO_SCSI:
			qopts_add(&o, "bus=scsi0.0,channel=0,scsi-id=0,lun=%u", lun++);
			break;
		case DISK_BUS_SATA:
		default:
			qopts_add(&o, "bus=ide.%u", sata++);
			break;
		}
		if (k->serial)
			qopts_str(&o, "serial", k->serial);
		if (!cdrom)
			qopts_add(&o, "write-cache=%s", wce ? "on" : "off");
		if (k->boot_index)
			qopts_add(&o, "bootindex=%u", k->boot_index);
		qopts_push(a, "-device", &o);
	}
}

static void argv_tpm(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	struct qopts o = { 0 };

	if (c->tpm == TPM_NONE)
		return;
	/* A client socket: swtpm listens before QEMU starts. */
	qopts_add(&o, "socket,id=chrtpm");
	qopts_str(&o, "path", p->swtpm_socket);
	qopts_push(a, "-chardev", &o);
	strv_push(a, "-tpmdev");
	strv_push(a, "emulator,id=tpm0,chardev=chrtpm");
	strv_push(a, "-device");
	strv_push(a, c->tpm == TPM_TIS ? "tpm-tis,tpmdev=tpm0" : "tpm-crb,tpmdev=tpm0");
}

static void argv_nets(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct vm_net *n = &c->nets[i];
		struct qopts o = { 0 };

		switch (n->mode) {
		case NET_USER:
			qopts_add(&o, "user,id=net%zu", i);
			break;
		case NET_BRIDGE:
			qopts_add(&o, "bridge,id=net%zu", i);
			qopts_str(&o, "br", n->bridge);
			break;
		case NET_TAP:
			qopts_add(&o, "tap,id=net%zu", i);
			qopts_str(&o, "ifname", n->tap);
			qopts_add(&o, "script=no,downscript=no");
			break;
		case NET_NONE:
		default:
			continue;
		}
		qopts_push(a, "-netdev", &o);

		qopts_add(&o, "%s,id=nic%zu,netdev=net%zu,mac=%s,bus=rp%u,addr=0x0",
			  n->model == NET_MODEL_E1000E ? "e1000e" : "virtio-net-pci", i, i,
			  p->net_mac[i], p->net_port[i]);
		qopts_push(a, "-device", &o);
	}
}

static void argv_display(const struct vm_config *c, struct strv *a)
{
	static const char *const devices[] = {
		[DISPLAY_STD] = "VGA",
		[DISPLAY_QXL] = "qxl-vga",
		[DISPLAY_VIRTIO] = "virtio-vga",
	};
	struct qopts o = { 0 };

	/* No window ever: the passed-through GPU is the screen, VNC the fallback. */
	strv_push(a, "-display");
	strv_push(a, "none");
	if (c->display == DISPLAY_NONE || c->display >= ELEMENTSOF(devices)) {
		strv_push(a, "-vga");
		strv_push(a, "none");
	} else {
		strv_push(a, "-device");
		strv_pushf(a, "%s,id=video0,bus=pcie.0,addr=0x1", devices[c->display]);
	}
	if (c->vnc) {
		qopts_str(&o, NULL, c->vnc);
		qopts_push(a, "-vnc", &o);
	}
}

static void argv_serial(const struct vm_config *c, struct strv *a)
{
	struct qopts o = { 0 };

	switch (c->serial) {
	case SERIAL_PTY:
		strv_push(a, "-serial");
		strv_push(a, "pty");
		break;
	case SERIAL_FILE:
		/* gamevm opened the file (plan.h, PLAN_SERIAL_FD). */
		qopts_add(&o, "fd=%d,set=%d", PLAN_SERIAL_FD, PLAN_SERIAL_FDSET);
		qopts_str(&o, "opaque", c->serial_path);
		qopts_push(a, "-add-fd", &o);
		qopts_add(&o, "file,id=serial0,path=/dev/fdset/%d", PLAN_SERIAL_FDSET);
		qopts_push(a, "-chardev", &o);
		strv_push(a, "-serial");
		strv_push(a, "chardev:serial0");
		break;
	case SERIAL_NONE:
	default:
		strv_push(a, "-serial");
		strv_push(a, "none");
		break;
	}
}

void qemu_argv_devices(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	argv_root_ports(p, a);
	argv_hostdevs(p, a);
	if (p->usb_port) {
		strv_push(a, "-device");
		strv_pushf(a, "qemu-xhci,id=usb,bus=rp%u,addr=0x0", p->usb_port);
	}
	argv_disks(c, p, a);
	argv_tpm(c, p, a);
	argv_nets(c, p, a);
	if (p->balloon_port) {
		strv_push(a, "-device");
		strv_pushf(a, "virtio-balloon-pci,id=balloon0,bus=rp%u,addr=0x0", p->balloon_port);
	}
	argv_display(c, a);
	argv_serial(c, a);
	qemu_argv_desktop(c, p, a);
}
