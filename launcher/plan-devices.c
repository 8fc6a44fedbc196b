/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plan steps for devices: PCI passthrough (existence, IOMMU groups, host
 * drivers, reset), disks, NICs, and the SMBIOS tables.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "plan-internal.h"

/* ---- PCI passthrough ------------------------------------------------------- */

static bool is_display_driver(const char *drv)
{
	static const char *const drivers[] = { "amdgpu", "radeon", "nvidia",   "nouveau",
					       "i915",	 "xe",	   "simpledrm" };

	for (size_t i = 0; drv && i < ELEMENTSOF(drivers); i++)
		if (streq(drv, drivers[i]))
			return true;
	return false;
}

static ssize_t hostdev_index(const struct plan *p, const struct pci_addr *a)
{
	for (size_t i = 0; i < p->n_hostdevs; i++)
		if (pci_addr_compare(&p->hostdevs[i].host, a) == 0)
			return (ssize_t)i;
	return -1;
}

static int hostdev_add(const struct vm_config *c, const struct vm_pci *cfg,
		       const struct host_pci_dev *dev, struct plan *p, struct plan_diags *d)
{
	char buf[PCI_ADDR_STRLEN];
	struct plan_hostdev *t;
	ssize_t other = hostdev_index(p, &dev->addr);
	_cleanup_free_ char *section = NULL;

	if (asprintf(&section, "pci %s", cfg->name) < 0)
		return -ENOMEM;
	if (other >= 0)
		return plan_diag_key(d, LOG_ERR, c, section, "address", cfg->line,
				     "%s is already given to the VM by [pci %s]",
				     format_pci_addr(&dev->addr, buf),
				     p->hostdevs[other].cfg->name);
	t = realloc(p->hostdevs, (p->n_hostdevs + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	p->hostdevs = t;
	p->hostdevs[p->n_hostdevs++] = (struct plan_hostdev){ .host = dev->addr, .cfg = cfg };
	return 0;
}

static int cmp_hostdev(const void *a, const void *b)
{
	const struct plan_hostdev *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return pci_addr_compare(&x->host, &y->host);
}

/* One root port per host slot, in the order slots first appear in the config. */
static void hostdev_assign_ports(struct plan *p)
{
	unsigned ports = 0;

	for (size_t i = 0; i < p->n_hostdevs; i++) {
		p->hostdevs[i].port = 0;
		for (size_t j = 0; j < i; j++)
			if (pci_addr_same_slot(&p->hostdevs[i].host, &p->hostdevs[j].host)) {
				p->hostdevs[i].port = p->hostdevs[j].port;
				break;
			}
		if (!p->hostdevs[i].port)
			p->hostdevs[i].port = ++ports;
	}
	if (p->n_hostdevs > 1)
		qsort(p->hostdevs, p->n_hostdevs, sizeof(*p->hostdevs), cmp_hostdev);
	for (size_t i = 0; i < p->n_hostdevs; i++) {
		bool first = i == 0 || p->hostdevs[i - 1].port != p->hostdevs[i].port;

		p->hostdevs[i].function = first ? 0 : p->hostdevs[i - 1].function + 1;
		p->hostdevs[i].multifunction = first && i + 1 < p->n_hostdevs &&
					       p->hostdevs[i + 1].port == p->hostdevs[i].port;
	}
}

/*
 * "0000:00:14.2 (8086:7a27, no driver)": ids, not libpci names, so the text
 * does not depend on the pci.ids of the machine gamevm runs on.
 */
static const char *dev_label(const struct host_pci_dev *dev, char *buf, size_t size)
{
	char a[PCI_ADDR_STRLEN];

	snprintf(buf, size, "%s (%04x:%04x, %s%s)", format_pci_addr(&dev->addr, a),
		 (unsigned)dev->vendor, (unsigned)dev->device,
		 dev->driver ? "driver " : "no driver", dev->driver ? dev->driver : "");
	return buf;
}

/* Every endpoint of a passed device's IOMMU group must be passed too. */
static int check_groups(const struct vm_config *c, const struct host_facts *f, struct plan *p,
			struct plan_diags *d)
{
	int r;

	for (size_t i = 0; i < p->n_hostdevs; i++) {
		const struct plan_hostdev *hd = &p->hostdevs[i];
		const struct host_pci_dev *dev = host_pci_find(&f->pci, &hd->host);
		const struct host_iommu_group *g;
		_cleanup_free_ char *section = NULL, *others = NULL;
		char a[PCI_ADDR_STRLEN];
		bool seen = false;
		size_t len = 0;

		if (asprintf(&section, "pci %s", hd->cfg->name) < 0)
			return -ENOMEM;
		if (dev->iommu_group < 0) {
			r = plan_diag_key(
				d, LOG_ERR, c, section, "address", hd->cfg->line,
				"%s is in no IOMMU group (/sys/bus/pci/devices/%s/iommu_group is missing) and cannot be passed through",
				format_pci_addr(&hd->host, a), a);
			if (r < 0)
				return r;
			continue;
		}
		/* Report each group once, at its first passed device. */
		for (size_t j = 0; j < i; j++) {
			const struct host_pci_dev *o = host_pci_find(&f->pci, &p->hostdevs[j].host);
			seen = seen || o->iommu_group == dev->iommu_group;
		}
		g = host_pci_find_group(&f->pci, dev->iommu_group);
		if (seen || !g)
			continue;
		for (size_t k = 0; k < g->n_devs; k++) {
			const struct host_pci_dev *m = &f->pci.devs[g->devs[k]];
			char label[256];

			if (!host_pci_dev_is_endpoint(m) || hostdev_index(p, &m->addr) >= 0)
				continue;
			dev_label(m, label, sizeof(label));
			char *t = realloc(others, len + strlen(label) + 3);
			if (!t)
				return -ENOMEM;
			others = t;
			len += (size_t)sprintf(others + len, "%s%s", len ? ", " : "", label);
		}
		if (!others)
			continue;
		r = plan_diag_key(
			d, LOG_ERR, c, section, "address", hd->cfg->line,
			"%s is in IOMMU group %d (/sys/kernel/iommu_groups/%d/devices) together with %s, which the VM does not get: VFIO gives a VM whole groups only; pass those too (another [pci] section, or all-functions = yes for functions of one card) or use a device in a group of its own",
			format_pci_addr(&hd->host, a), dev->iommu_group, dev->iommu_group, others);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_host_use(const struct vm_config *c, const struct host_facts *f, struct plan *p,
			  struct plan_diags *d)
{
	int r;

	for (size_t i = 0; i < p->n_hostdevs; i++) {
		const struct plan_hostdev *hd = &p->hostdevs[i];
		const struct host_pci_dev *dev = host_pci_find(&f->pci, &hd->host);
		_cleanup_free_ char *section = NULL;
		char a[PCI_ADDR_STRLEN];
		bool vfio = dev->driver && streq(dev->driver, "vfio-pci");

		format_pci_addr(&hd->host, a);
		if (asprintf(&section, "pci %s", hd->cfg->name) < 0)
			return -ENOMEM;
		if (dev->boot_vga && !c->single_gpu && !hd->cfg->primary_display) {
			r = plan_diag_key(
				d, LOG_WARNING, c, section, "address", hd->cfg->line,
				"%s is the host's boot display (/sys/bus/pci/devices/%s/boot_vga is 1): the host console goes dark while the VM runs; set [vm] single-gpu = yes if that is what you want",
				a, a);
		} else if (is_display_driver(dev->driver) && !c->single_gpu &&
			   !hd->cfg->primary_display) {
			r = plan_diag_key(
				d, LOG_WARNING, c, section, "address", hd->cfg->line,
				"%s is driven by the host's display driver '%s': anything the host shows on it goes away when it moves to vfio-pci; set [vm] single-gpu = yes if it is the host's only GPU",
				a, dev->driver);
		} else {
			r = 0;
		}
		if (r < 0)
			return r;
		if (!hd->cfg->managed && !vfio)
			r = plan_diag_key(
				d, LOG_ERR, c, section, "managed", hd->cfg->line,
				"%s is not bound to vfio-pci (/sys/bus/pci/devices/%s/driver is '%s') and managed = no: bind it to vfio-pci at boot (vfio-pci.ids=%04x:%04x) or set managed = yes",
				a, a, dev->driver ? dev->driver : "none", (unsigned)dev->vendor,
				(unsigned)dev->device);
		else if (hd->cfg->managed && dev->driver && !vfio)
			r = plan_diag_key(
				d, LOG_NOTICE, c, section, "managed", hd->cfg->line,
				"%s moves from '%s' to vfio-pci when the VM starts and back when it stops",
				a, dev->driver);
		if (r < 0)
			return r;
	}

	/* Reset: one function with a reset method resets its slot's card. */
	for (size_t i = 0; i < p->n_hostdevs; i++) {
		const struct plan_hostdev *hd = &p->hostdevs[i];
		_cleanup_free_ char *section = NULL;
		bool can_reset = false;
		char a[PCI_ADDR_STRLEN];

		if (hd->function != 0)
			continue;
		for (size_t j = i; j < p->n_hostdevs && p->hostdevs[j].port == hd->port; j++) {
			const struct host_pci_dev *dev =
				host_pci_find(&f->pci, &p->hostdevs[j].host);
			can_reset = can_reset || !isempty(dev->reset_method);
		}
		if (can_reset)
			continue;
		if (asprintf(&section, "pci %s", hd->cfg->name) < 0)
			return -ENOMEM;
		format_pci_addr(&hd->host, a);
		r = plan_diag_key(
			d, LOG_WARNING, c, section, "address", hd->cfg->line,
			"%s has no reset method (/sys/bus/pci/devices/%s/reset_method is empty or missing): it may not work again after the VM stops or reboots (the AMD reset bug); for AMD GPUs up to Navi 1x load the vendor-reset module (https://github.com/gnif/vendor-reset)",
			a, a);
		if (r < 0)
			return r;
	}
	return 0;
}

int plan_pci(const struct vm_config *c, const struct host_facts *f, struct plan *p,
	     struct plan_diags *d)
{
	bool missing = false;
	int r;

	if (c->n_pci == 0)
		return 0;
	if (!f->pci.iommu_enabled) {
		_cleanup_free_ char *section = NULL;

		if (asprintf(&section, "pci %s", c->pci[0].name) < 0)
			return -ENOMEM;
		r = plan_diag_key(
			d, LOG_ERR, c, section, NULL, c->pci[0].line,
			"PCI passthrough needs the IOMMU, and it is off (/sys/kernel/iommu_groups is empty): enable IOMMU / SVM / VT-d in the firmware setup (and boot with intel_iommu=on on Intel)");
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < c->n_pci; i++) {
		const struct vm_pci *cfg = &c->pci[i];
		const struct host_pci_dev *dev = host_pci_find(&f->pci, &cfg->addr);
		_cleanup_free_ char *section = NULL;
		char a[PCI_ADDR_STRLEN];

		if (!dev) {
			if (asprintf(&section, "pci %s", cfg->name) < 0)
				return -ENOMEM;
			format_pci_addr(&cfg->addr, a);
			r = plan_diag_key(
				d, LOG_ERR, c, section, "address", cfg->line,
				"no PCI device %s on this host (/sys/bus/pci/devices/%s); 'gamevm iommu' lists the devices",
				a, a);
			if (r < 0)
				return r;
			missing = true;
			continue;
		}
		if (!cfg->all_functions) {
			r = hostdev_add(c, cfg, dev, p, d);
			if (r < 0)
				return r;
			continue;
		}
		for (size_t j = 0; j < f->pci.n_devs; j++) {
			if (!pci_addr_same_slot(&f->pci.devs[j].addr, &cfg->addr))
				continue;
			r = hostdev_add(c, cfg, &f->pci.devs[j], p, d);
			if (r < 0)
				return r;
		}
	}
	hostdev_assign_ports(p);
	if (missing)
		return 0;

	/* Without an IOMMU nothing can be passed: the rest would be noise. */
	if (!f->pci.iommu_enabled)
		return 0;
	r = check_groups(c, f, p, d);
	if (r < 0)
		return r;
	return check_host_use(c, f, p, d);
}

/* ---- disks and NICs ------------------------------------------------------- */

int plan_disks(const struct vm_config *c, struct plan *p, struct plan_diags *d)
{
	unsigned sata = 0, scsi_iothread_from = 0;
	bool scsi_seen = false;
	int r = 0;

	for (size_t i = 0; i < c->n_disks; i++) {
		const struct vm_disk *k = &c->disks[i];
		_cleanup_free_ char *section = NULL;

		if (asprintf(&section, "disk %s", k->name) < 0)
			return -ENOMEM;
		if (k->aio == DISK_AIO_NATIVE && k->cache != DISK_CACHE_NONE &&
		    k->cache != DISK_CACHE_DIRECTSYNC) {
			r = plan_diag_key(
				d, LOG_ERR, c, section, "aio", k->line,
				"aio = native needs O_DIRECT, i.e. cache = none or directsync: set cache = none, or aio = io_uring or threads");
			if (r < 0)
				return r;
		}
		if (k->media == DISK_MEDIA_CDROM && k->bus == DISK_BUS_VIRTIO_BLK) {
			r = plan_diag_key(
				d, LOG_ERR, c, section, "media", k->line,
				"a CD-ROM needs bus = sata or virtio-scsi (virtio-blk has no removable media)");
			if (r < 0)
				return r;
		}
		if (k->iothread > c->iothreads) {
			r = plan_diag_key(d, LOG_ERR, c, section, "iothread", k->line,
					  "iothread %u, but [cpu] iothreads = %u", k->iothread,
					  c->iothreads);
			if (r < 0)
				return r;
		}
		for (size_t j = 0; j < i && k->boot_index > 0; j++)
			if (c->disks[j].boot_index == k->boot_index) {
				r = plan_diag_key(d, LOG_ERR, c, section, "boot-index", k->line,
						  "boot index %u is also used by [disk %s]",
						  k->boot_index, c->disks[j].name);
				if (r < 0)
					return r;
			}
		switch (k->bus) {
		case DISK_BUS_SATA:
			/* The Q35 chipset's AHCI controller has six ports (ide.0-ide.5). */
			if (++sata > 6)
				r = plan_diag_key(
					d, LOG_ERR, c, section, "bus", k->line,
					"the Q35 SATA controller has six ports, this is disk %u on it",
					sata);
			else if (k->iothread > 0)
				r = plan_diag_key(
					d, LOG_WARNING, c, section, "iothread", k->line,
					"SATA disks run in QEMU's main loop: iothread ignored");
			break;
		case DISK_BUS_VIRTIO_SCSI:
			/* One virtio-scsi controller, one iothread for all its disks. */
			if (!scsi_seen) {
				scsi_seen = true;
				p->scsi_iothread = k->iothread;
				scsi_iothread_from = (unsigned)i;
			} else if (k->iothread != p->scsi_iothread) {
				r = plan_diag_key(
					d, LOG_WARNING, c, section, "iothread", k->line,
					"all virtio-scsi disks share one controller and its iothread: using %u, as [disk %s] says",
					p->scsi_iothread, c->disks[scsi_iothread_from].name);
			}
			break;
		case DISK_BUS_VIRTIO_BLK:
		default:
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int plan_nets(const struct vm_config *c, struct plan *p, struct plan_diags *d)
{
	if (c->n_nets == 0)
		return 0;
	p->net_mac = calloc(c->n_nets, sizeof(*p->net_mac));
	if (!p->net_mac)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_nets; i++) {
		if (c->nets[i].mac)
			snprintf(p->net_mac[i], sizeof(p->net_mac[i]), "%s", c->nets[i].mac);
		else
			plan_mac(c->name, c->nets[i].name, p->net_mac[i]);
	}
	return 0;
}

/* ---- SMBIOS ------------------------------------------------------------------ */

void plan_smbios_done(struct vm_smbios *s)
{
	char **fields[] = {
		&s->bios_vendor,	&s->bios_version,	    &s->bios_date,
		&s->bios_release,	&s->system_manufacturer,    &s->system_product,
		&s->system_version,	&s->system_serial,	    &s->system_sku,
		&s->system_family,	&s->baseboard_manufacturer, &s->baseboard_product,
		&s->baseboard_version,	&s->baseboard_serial,	    &s->baseboard_asset,
		&s->baseboard_location, &s->chassis_manufacturer,   &s->chassis_version,
		&s->chassis_serial,	&s->chassis_asset,	    &s->chassis_sku,
	};

	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
}

static int take_field(char **dst, const char *cfg, const char *host)
{
	const char *v = cfg ? cfg : host;

	if (isempty(v))
		return 0;
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* QEMU takes type 0 release as "MAJOR.MINOR", each 0-255. */
static bool release_valid(const char *s)
{
	unsigned a, b;
	int n = 0;

	return sscanf(s, "%3u.%3u%n", &a, &b, &n) == 2 && s[n] == 0 && a < 256 && b < 256;
}

int plan_smbios(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		struct plan_diags *d)
{
	const struct vm_smbios *s = &c->smbios;
	struct host_dmi none = { 0 };
	const struct host_dmi *h = s->mode == SMBIOS_HOST ? &f->dmi : &none;
	struct vm_smbios *o = &p->smbios;
	int r = 0;

	o->mode = s->mode;
	if (s->mode == SMBIOS_NONE)
		return 0;

	r = r ?: take_field(&o->bios_vendor, s->bios_vendor, h->bios_vendor);
	r = r ?: take_field(&o->bios_version, s->bios_version, h->bios_version);
	r = r ?: take_field(&o->bios_date, s->bios_date, h->bios_date);
	r = r ?: take_field(&o->bios_release, s->bios_release, h->bios_release);
	r = r ?: take_field(&o->system_manufacturer, s->system_manufacturer, h->sys_vendor);
	r = r ?: take_field(&o->system_product, s->system_product, h->product_name);
	r = r ?: take_field(&o->system_version, s->system_version, h->product_version);
	r = r ?: take_field(&o->system_serial, s->system_serial, h->product_serial);
	r = r ?: take_field(&o->system_sku, s->system_sku, h->product_sku);
	r = r ?: take_field(&o->system_family, s->system_family, h->product_family);
	r = r ?: take_field(&o->baseboard_manufacturer, s->baseboard_manufacturer, h->board_vendor);
	r = r ?: take_field(&o->baseboard_product, s->baseboard_product, h->board_name);
	r = r ?: take_field(&o->baseboard_version, s->baseboard_version, h->board_version);
	r = r ?: take_field(&o->baseboard_serial, s->baseboard_serial, h->board_serial);
	r = r ?: take_field(&o->baseboard_asset, s->baseboard_asset, h->board_asset_tag);
	r = r ?: take_field(&o->baseboard_location, s->baseboard_location, NULL);
	r = r ?: take_field(&o->chassis_manufacturer, s->chassis_manufacturer, h->chassis_vendor);
	r = r ?: take_field(&o->chassis_version, s->chassis_version, h->chassis_version);
	r = r ?: take_field(&o->chassis_serial, s->chassis_serial, h->chassis_serial);
	r = r ?: take_field(&o->chassis_asset, s->chassis_asset, h->chassis_asset_tag);
	r = r ?: take_field(&o->chassis_sku, s->chassis_sku, NULL);
	if (r < 0)
		return r;

	if (o->bios_release && !release_valid(o->bios_release)) {
		r = plan_diag_key(
			d, s->bios_release ? LOG_ERR : LOG_NOTICE, c, "smbios", "bios-release", 0,
			"'%s' is not MAJOR.MINOR (each 0-255) as QEMU needs it%s", o->bios_release,
			s->bios_release ? "" : " (from /sys/class/dmi/id/bios_release): left out");
		free(o->bios_release);
		o->bios_release = NULL;
	}
	return r;
}
