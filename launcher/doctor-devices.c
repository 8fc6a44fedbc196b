/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The doctor on the devices the config passes through: a device that fell
 * off the bus, an override another tool keeps, no reset method and the AMD
 * reset bug, a firmware framebuffer in the GPU's BAR, processes holding
 * its DRM nodes, a ROM file without an EFI image; and on the host, a
 * bridge bound to vfio-pci.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor.h"
#include "fileio.h"
#include "macro.h"
#include "parse-util.h"

#define MAX_ROM (16u << 20)

static bool is_gpu(const struct host_pci_dev *p)
{
	return (p->class_code >> 16) == 0x03;
}

/* A device that stopped answering reads all ones, vendor 0xffff first. */
static int check_config_space(struct doctor *d, const char *addr)
{
	char path[128];
	unsigned char id[2];
	int fd, n;

	snprintf(path, sizeof(path), "bus/pci/devices/%s/config", addr);
	fd = openat(d->h->sys_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* the plan says the device is missing */
	n = (int)pread(fd, id, sizeof(id), 0);
	close(fd);
	if (n != 2)
		return 0;
	if (id[0] == 0xff && id[1] == 0xff)
		return doctor_add(
			d, "device.present", DOCTOR_FAIL, path,
			"power the machine off and on (a reboot may not do); if it comes back like this after a VM, see 'reset' below",
			"%s reads 0xffff: the device fell off the bus (a failed reset, or it is powered off)",
			addr);
	return doctor_add(d, "device.present", DOCTOR_PASS, path, NULL, "%s answers", addr);
}

static int check_override(struct doctor *d, const struct host_pci_dev *p, const char *addr)
{
	char path[128];

	snprintf(path, sizeof(path), "etc/driverctl.d/pci-%s", addr);
	if (faccessat(d->h->root_fd, path, F_OK, 0) == 0)
		return doctor_add(
			d, "device.override", DOCTOR_WARN, path,
			"let gamevm bind it at start instead: driverctl unset-override <address>",
			"driverctl keeps an override for %s: it binds the device again behind gamevm's back",
			addr);
	if (p->driver_override && *p->driver_override && !streq(p->driver_override, "vfio-pci")) {
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver_override", addr);
		return doctor_add(
			d, "device.override", DOCTOR_WARN, path,
			"find the tool that set it (driverctl, a udev rule, a script) and remove it",
			"%s has driver_override '%s' from another tool", addr, p->driver_override);
	}
	return 0;
}

/*
 * AMD GPUs that do not come back from a function-level or bus reset: Polaris
 * 10/11/12, Vega 10/20, Navi 10/12/14 (vendor-reset's list).
 */
static bool amd_reset_bug(const struct host_pci_dev *p)
{
	static const uint16_t ids[] = { 0x67df, 0x67ef, 0x67ff, 0x699f, 0x6980, 0x6981, 0x6985,
					0x6986, 0x6987, 0x6995, 0x6997, 0x687f, 0x6863, 0x66a0,
					0x66a1, 0x66a2, 0x66a3, 0x66a7, 0x66af, 0x7310, 0x7312,
					0x7318, 0x7319, 0x731a, 0x731b, 0x731e, 0x731f, 0x7340,
					0x7341, 0x7347, 0x734f, 0x7360, 0x7362 };

	if (p->vendor != 0x1002 || !is_gpu(p))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(ids); i++)
		if (ids[i] == p->device)
			return true;
	return false;
}

static int check_reset(struct doctor *d, const struct host_pci_dev *p, const char *addr)
{
	char path[128];

	if (amd_reset_bug(p)) {
		if (faccessat(d->h->sys_fd, "module/vendor_reset", F_OK, 0) == 0)
			return doctor_add(
				d, "device.reset", DOCTOR_PASS, "sys/module/vendor_reset", NULL,
				"%s (%04x:%04x) has the AMD reset bug; vendor-reset is loaded",
				addr, p->vendor, p->device);
		return doctor_add(
			d, "device.reset", DOCTOR_WARN, "sys/module/vendor_reset",
			"install vendor-reset (github.com/gnif/vendor-reset, DKMS) and load it at boot; without it, reboot the host between VM starts",
			"%s (%04x:%04x) has the AMD reset bug: after the VM it may not work again until the host reboots",
			addr, p->vendor, p->device);
	}
	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/reset_method", addr);
	if (!p->reset_method)
		return 0; /* a kernel before 5.15: no attribute to read */
	if (!*p->reset_method)
		return doctor_add(
			d, "device.reset", DOCTOR_WARN, path,
			"expect to reboot the host if it misbehaves after a VM; pass the whole card ([pci] all-functions = yes) so a bus reset may work",
			"%s has no reset method: it goes from VM to host as the guest left it",
			addr);
	return doctor_add(d, "device.reset", DOCTOR_PASS, path, NULL, "%s resets by %s", addr,
			  p->reset_method);
}

/* A memory BAR from sys/bus/pci/devices/ADDR/resource. */
struct bar {
	uint64_t start, end;
	bool mem64; /* IORESOURCE_MEM_64 */
};

#define IORESOURCE_MEM	  0x200
#define IORESOURCE_MEM_64 0x100000

/* The device's memory BARs, *n of them. */
static void read_bars(struct doctor *d, const char *addr, struct bar *bars, size_t max, size_t *n)
{
	_cleanup_free_ char *text = NULL;
	char path[128];
	char *line, *save = NULL;

	*n = 0;
	snprintf(path, sizeof(path), "bus/pci/devices/%s/resource", addr);
	if (read_full_file_at(d->h->sys_fd, path, 64u << 10, &text, NULL) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line && *n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		uint64_t st, e, flags;

		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, &st, &e, &flags) != 3)
			continue;
		if (st == 0 || e <= st || !(flags & IORESOURCE_MEM))
			continue;
		bars[(*n)++] =
			(struct bar){ .start = st, .end = e, .mem64 = flags & IORESOURCE_MEM_64 };
	}
}

/*
 * The firmware's framebuffer (efifb, simplefb, simpledrm: "BOOTFB",
 * "efifb", "simple-framebuffer", "vesafb") inside one of the GPU's BARs:
 * QEMU then fails to map the BAR ("BAR 0: can't reserve"), or the guest
 * driver sees a card the host still draws on.
 */
static int check_bootfb(struct doctor *d, const struct host_pci_dev *p, const char *addr)
{
	static const char *const names[] = { "BOOTFB", "efifb", "simple-framebuffer", "vesafb" };
	_cleanup_free_ char *iomem = NULL;
	struct bar bars[12];
	size_t n_bars;
	bool zeros = true;
	char *line, *save = NULL;

	if (!is_gpu(p) || d->h->proc_fd < 0)
		return 0;
	read_bars(d, addr, bars, ELEMENTSOF(bars), &n_bars);
	if (n_bars == 0 || read_full_file_at(d->h->proc_fd, "iomem", 4u << 20, &iomem, NULL) < 0)
		return 0;
	for (line = strtok_r(iomem, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t s, e;
		int off = 0;
		const char *name;

		if (sscanf(line, " %" SCNx64 "-%" SCNx64 " : %n", &s, &e, &off) != 2 || off == 0)
			continue;
		if (s || e)
			zeros = false;
		name = line + off;
		for (size_t k = 0; k < ELEMENTSOF(names); k++) {
			if (!startswith(name, names[k]))
				continue;
			for (size_t b = 0; b < n_bars; b++)
				if (s >= bars[b].start && s <= bars[b].end)
					return doctor_add(
						d, "gpu.bootfb", DOCTOR_FAIL, "proc/iomem",
						"make the other GPU the boot display in the firmware setup, or add video=efifb:off (simpledrm: initcall_blacklist=simpledrm_platform_driver_init) to the kernel command line",
						"the firmware framebuffer '%s' (%" PRIx64
						"-%" PRIx64
						") sits in a BAR of %s: QEMU cannot map it while the host draws there",
						name, s, e, addr);
		}
	}
	if (zeros)
		return doctor_add(d, "gpu.bootfb", DOCTOR_SKIP, "proc/iomem", "run as root",
				  "addresses hidden from this user");
	return doctor_add(d, "gpu.bootfb", DOCTOR_PASS, "proc/iomem", NULL,
			  "no firmware framebuffer in %s's BARs", addr);
}

/* Whether the link target is one of the device's DRM nodes ("/dev/dri/card1"). */
static bool is_node(const char *target, char nodes[][32], size_t n)
{
	if (!startswith(target, "/dev/dri/"))
		return false;
	for (size_t i = 0; i < n; i++)
		if (streq(target + strlen("/dev/dri/"), nodes[i]))
			return true;
	return false;
}

/*
 * Processes with the GPU's DRM nodes open: unbinding the driver waits for
 * them to close, which a compositor never does (the start would hang).
 */
static int check_drm_holders(struct doctor *d, const struct host_pci_dev *p, const char *addr)
{
	char nodes[8][32], path[300], first[320] = "";
	size_t n_nodes = 0, holders = 0, denied = 0;
	DIR *dir;
	int fd;

	if (!is_gpu(p) || d->h->proc_fd < 0 || streq_ptr(p->driver, "vfio-pci"))
		return 0;
	snprintf(path, sizeof(path), "bus/pci/devices/%s/drm", addr);
	fd = openat(d->h->sys_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	for (struct dirent *e; (e = readdir(dir)) && n_nodes < ELEMENTSOF(nodes);)
		if ((startswith(e->d_name, "card") || startswith(e->d_name, "renderD")) &&
		    strlen(e->d_name) < sizeof(nodes[0]))
			strcpy(nodes[n_nodes++], e->d_name);
	closedir(dir);
	if (n_nodes == 0)
		return 0;

	fd = openat(d->h->proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	for (struct dirent *e; (e = readdir(dir));) {
		DIR *fds;
		int pfd;
		bool holds = false;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/fd", e->d_name);
		pfd = openat(d->h->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fds = pfd >= 0 ? fdopendir(pfd) : NULL;
		if (!fds) {
			if (pfd >= 0)
				close(pfd);
			else if (errno == EACCES)
				denied++;
			continue;
		}
		for (struct dirent *f; !holds && (f = readdir(fds));) {
			char target[256];
			ssize_t l = readlinkat(pfd, f->d_name, target, sizeof(target) - 1);

			if (l <= 0)
				continue;
			target[l] = 0;
			holds = is_node(target, nodes, n_nodes);
		}
		closedir(fds);
		if (!holds)
			continue;
		if (holders++ == 0) {
			_cleanup_free_ char *comm = NULL;

			snprintf(path, sizeof(path), "%s/comm", e->d_name);
			(void)read_one_line_at(d->h->proc_fd, path, &comm);
			snprintf(first, sizeof(first), "%.64s (pid %.32s)", comm ? comm : "?",
				 e->d_name);
		}
	}
	closedir(dir);
	if (holders > 0)
		return doctor_add(
			d, "gpu.drm_holders", DOCTOR_FAIL, "proc/*/fd",
			"stop what draws on it (a compositor, a display manager on this GPU: set single-gpu = yes for the host's only GPU) or move it to the other GPU; 'fuser -v /dev/dri/*' lists them",
			"%s and %zu more process(es) hold %s's DRM node(s) /dev/dri/%s: unbinding its driver would wait for them",
			first, holders - 1, addr, nodes[0]);
	if (denied > 0)
		return doctor_add(d, "gpu.drm_holders", DOCTOR_SKIP, "proc/*/fd", "run as root",
				  "other users' open files cannot be read");
	return doctor_add(d, "gpu.drm_holders", DOCTOR_PASS, "proc/*/fd", NULL,
			  "no process holds %s's DRM nodes", addr);
}

/* Whether the option ROM holds an EFI image (PCI Firmware spec: code type 3). */
static int rom_has_efi(const unsigned char *rom, size_t len, bool *ret_valid)
{
	size_t at = 0;

	*ret_valid = false;
	for (int images = 0; images < 16 && at + 0x1a <= len; images++) {
		size_t pcir, img;

		if (rom[at] != 0x55 || rom[at + 1] != 0xaa)
			return 0;
		pcir = at + (rom[at + 0x18] | (size_t)rom[at + 0x19] << 8);
		if (pcir + 0x18 > len || memcmp(rom + pcir, "PCIR", 4) != 0)
			return 0;
		*ret_valid = true;
		if (rom[pcir + 0x14] == 0x03)
			return 1;
		if (rom[pcir + 0x15] & 0x80)
			return 0; /* the last image */
		img = ((size_t)rom[pcir + 0x10] | (size_t)rom[pcir + 0x11] << 8) * 512;
		if (img == 0)
			return 0;
		at += img;
	}
	return 0;
}

static int check_romfile(struct doctor *d, const struct vm_pci *cfg)
{
	_cleanup_free_ char *rom = NULL;
	size_t len = 0;
	bool valid;
	int r;

	if (!cfg->romfile)
		return 0;
	r = read_full_file_at(d->h->root_fd, cfg->romfile + strspn(cfg->romfile, "/"), MAX_ROM,
			      &rom, &len);
	if (r < 0)
		return doctor_add(
			d, "device.romfile", DOCTOR_FAIL, cfg->romfile,
			"dump the card's ROM (or take the vendor's) to that path, or remove romfile",
			"[pci %s] romfile '%s' cannot be read: %s", cfg->name, cfg->romfile,
			strerror(-r));
	if (rom_has_efi((const unsigned char *)rom, len, &valid) > 0)
		return doctor_add(d, "device.romfile", DOCTOR_PASS, cfg->romfile, NULL,
				  "[pci %s] romfile holds an EFI image", cfg->name);
	return doctor_add(
		d, "device.romfile", DOCTOR_FAIL, cfg->romfile,
		valid ? "use a ROM with a UEFI GOP image (the card's own, dumped from a UEFI boot, or the vendor's)"
		      : "the file is not a PCI option ROM (no 0x55AA/PCIR header): dump it again, without a vendor flash tool's header",
		"[pci %s] romfile '%s' %s: OVMF cannot show anything on the card", cfg->name,
		cfg->romfile,
		valid ? "has no EFI image (legacy BIOS only)" : "is not an option ROM");
}

/* Bridges stay with pcieport: on vfio-pci (vfio-pci.ids) they break the group. */
static int check_bridges(struct doctor *d)
{
	char addr[PCI_ADDR_STRLEN];

	for (size_t i = 0; i < d->f->pci.n_devs; i++) {
		const struct host_pci_dev *p = &d->f->pci.devs[i];

		if (!p->is_bridge || !streq_ptr(p->driver, "vfio-pci"))
			continue;
		format_pci_addr(&p->addr, addr);
		return doctor_add(
			d, "iommu.bridge_on_vfio", DOCTOR_FAIL, "sys/bus/pci/devices/*/driver",
			"take its ID out of vfio-pci.ids (and /etc/modprobe.d) and reboot: bridges stay with pcieport",
			"the bridge %s is bound to vfio-pci: its group cannot be used by a VM",
			addr);
	}
	return 0;
}

/* The sum of the device's 64-bit memory BARs. */
static uint64_t bar64_bytes(struct doctor *d, const char *addr)
{
	struct bar bars[12];
	uint64_t sum = 0;
	size_t n;

	read_bars(d, addr, bars, ELEMENTSOF(bars), &n);
	for (size_t i = 0; i < n; i++)
		if (bars[i].mem64)
			sum += bars[i].end - bars[i].start + 1;
	return sum;
}

/*
 * What the GPU driver in the guest needs of the VM around it: hidden KVM
 * (NVIDIA's and AMD's drivers refuse or degrade under a hypervisor they
 * see), its ROM visible to OVMF, no emulated display beside it, and a
 * 64-bit MMIO window OVMF can fit its BARs in (OVMF's default is 32 GiB;
 * a Resizable BAR card alone may take that).
 */
static int check_gpu_vm(struct doctor *d, const struct vm_pci *cfg, const struct host_pci_dev *p,
			const char *addr)
{
	uint64_t bars;
	int r = 0;

	if (!is_gpu(p))
		return 0;
	if (!d->c->hide_hypervisor && (p->vendor == 0x10de || p->vendor == 0x1002))
		r = doctor_add(
			d, "gpu.hypervisor_hidden", DOCTOR_WARN, d->c->path,
			"set [cpu] hide-hypervisor = yes (and [hyperv] vendor-id)",
			"KVM is not hidden from the guest: %s's driver may refuse the card (NVIDIA: Code 43) or give it a virtual display (AMD)",
			p->vendor == 0x10de ? "NVIDIA" : "AMD");
	if (r >= 0 && !cfg->rombar)
		r = doctor_add(
			d, "gpu.rombar", DOCTOR_WARN, d->c->path,
			"set rombar = yes (the default) in its [pci] section",
			"[pci %s] rombar = no: OVMF cannot run %s's option ROM, so there is no picture before the guest's driver loads",
			cfg->name, addr);
	if (r >= 0 && d->c->display != DISPLAY_NONE)
		r = doctor_add(
			d, "gpu.emulated_display", DOCTOR_WARN, d->c->path,
			"set [devices] display = none once the guest's GPU driver is installed",
			"an emulated display beside the passed-through GPU: Windows may keep it as the primary one");
	bars = bar64_bytes(d, addr);
	if (r >= 0 && bars > (UINT64_C(32) << 30))
		r = doctor_add(
			d, "gpu.mmio_window", DOCTOR_WARN, "sys/bus/pci/devices/*/resource",
			"add to [qemu] extra: -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=65536 (or turn Resizable BAR off in the host's firmware)",
			"%s's 64-bit BARs take %" PRIu64
			" GiB, more than OVMF's default 32 GiB window: the guest would see the card with Code 12",
			addr, bars >> 30);
	return r;
}

/* Raw [qemu] extra words that break passthrough with OVMF. */
static int check_extra(struct doctor *d)
{
	for (char **a = d->c->extra_args; a && *a; a++)
		if (strstr(*a, "x-vga=on") || strstr(*a, "x-vga=true"))
			return doctor_add(
				d, "config.x_vga", DOCTOR_WARN, d->c->path,
				"remove x-vga=on from [qemu] extra: with OVMF the card's GOP driver does the work",
				"[qemu] extra passes x-vga=on: legacy VGA routing is for SeaBIOS and breaks UEFI boots and a second GPU on the host");
	return 0;
}

static int check_device(struct doctor *d, const struct vm_pci *cfg)
{
	char addr[PCI_ADDR_STRLEN];
	const struct host_pci_dev *p = host_pci_find(&d->f->pci, &cfg->addr);
	int r;

	format_pci_addr(&cfg->addr, addr);
	r = check_romfile(d, cfg);
	if (r < 0 || !p)
		return r;
	r = check_config_space(d, addr);
	if (r >= 0)
		r = check_override(d, p, addr);
	if (r >= 0)
		r = check_reset(d, p, addr);
	if (r >= 0)
		r = check_bootfb(d, p, addr);
	if (r >= 0 && !cfg->primary_display)
		r = check_drm_holders(d, p, addr);
	if (r >= 0)
		r = check_gpu_vm(d, cfg, p, addr);
	if (r >= 0 && is_gpu(p) && p->boot_vga && !cfg->primary_display && !d->c->single_gpu)
		r = doctor_add(
			d, "gpu.boot_vga", DOCTOR_WARN, "sys/bus/pci/devices/*/boot_vga",
			"make the other GPU the boot display in the firmware setup (or, for the host's only GPU, set single-gpu = yes)",
			"%s is the boot display: the host's console and desktop start on it", addr);
	return r;
}

/*
 * single-gpu: gamevm stops the display manager with systemctl, so systemd
 * must run the host and each unit named must exist, or nothing is stopped
 * and the start fails on the GPU still held.
 */
static int check_single_gpu(struct doctor *d)
{
	static const char *const dirs[] = { "etc/systemd/system", "run/systemd/system",
					    "usr/lib/systemd/system", "lib/systemd/system" };
	static char *const dflt[] = { (char *)"display-manager.service", NULL };
	char *const *units = d->c->single_gpu_stop ? d->c->single_gpu_stop : dflt;
	char missing[512] = "";

	if (!units[0])
		return doctor_add(
			d, "gpu.single_gpu", DOCTOR_PASS, d->c->path, NULL,
			"single-gpu-stop = none: gamevm stops no unit, the desktop is yours to end");
	if (file_exists_at(d->h->root_fd, "run/systemd/system") <= 0)
		return doctor_add(
			d, "gpu.single_gpu", DOCTOR_WARN, "run/systemd/system",
			"stop the display manager before 'gamevm start' (a [hook NAME] cannot: start hooks run after the GPU is released)",
			"single-gpu: this host does not run systemd, so gamevm cannot stop the display manager");
	for (char *const *u = units; *u; u++) {
		char name[300], *at = strchr(*u, '@'), *dot = strrchr(*u, '.');
		bool found = false;

		/* An instance (user@1000.service) lives in its template's file. */
		if (at && dot && dot > at)
			snprintf(name, sizeof(name), "%.*s%s", (int)(at - *u + 1), *u, dot);
		else
			snprintf(name, sizeof(name), "%s", *u);
		for (size_t i = 0; i < ELEMENTSOF(dirs) && !found; i++) {
			char path[400];

			snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
			found = file_exists_at(d->h->root_fd, path) > 0;
		}
		if (!found && strlen(missing) + strlen(*u) + 3 < sizeof(missing))
			strcat(strcat(missing, missing[0] ? ", " : ""), *u);
	}
	if (missing[0])
		return doctor_add(
			d, "gpu.single_gpu", DOCTOR_WARN, "etc/systemd/system",
			"name your display manager's unit in [vm] single-gpu-stop (gdm.service, sddm.service, lightdm.service), or enable one ('systemctl enable gdm' makes display-manager.service)",
			"single-gpu: no unit file for %s: gamevm stops nothing for it", missing);
	return doctor_add(
		d, "gpu.single_gpu", DOCTOR_PASS, "etc/systemd/system", NULL,
		"single-gpu: the units to stop are there; the GPU's nodes get %u s to close",
		d->c->single_gpu_timeout);
}

int doctor_check_devices(struct doctor *d)
{
	int r = check_bridges(d);

	if (r >= 0 && d->c)
		r = check_extra(d);
	if (r >= 0 && d->c && d->c->single_gpu)
		r = check_single_gpu(d);
	for (size_t i = 0; r >= 0 && d->c && i < d->c->n_pci; i++)
		r = check_device(d, &d->c->pci[i]);
	return r;
}
