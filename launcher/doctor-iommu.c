/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The doctor on the IOMMU and VFIO: the IOMMU on (and how to turn it on
 * for this CPU's vendor), the no-op amd_iommu=on, interrupt remapping,
 * the ACS override, the vfio-pci module, vfio-pci.ids that would also take
 * the host's own card, disable_idle_d3.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "fileio.h"
#include "macro.h"

static bool is_intel(const struct doctor *d)
{
	return streq_ptr(d->f->cpus.vendor, "GenuineIntel");
}

static bool is_amd(const struct doctor *d)
{
	return streq_ptr(d->f->cpus.vendor, "AuthenticAMD");
}

static int check_enabled(struct doctor *d)
{
	const char *src = "sys/kernel/iommu_groups";
	/* Only a VM with devices needs it; for others it is news, not a fault. */
	enum doctor_status off = d->c && d->c->n_pci > 0 ? DOCTOR_FAIL : DOCTOR_WARN;

	if (d->f->pci.iommu_enabled)
		return doctor_add(d, "iommu.enabled", DOCTOR_PASS, src, NULL,
				  "the IOMMU is on: %zu IOMMU groups", d->f->pci.n_groups);
	if (is_intel(d))
		return doctor_add(
			d, "iommu.enabled", off, src,
			"enable VT-d (Intel Virtualization Technology for Directed I/O) in the firmware setup, and add intel_iommu=on iommu=pt to the kernel command line",
			"no IOMMU groups: the IOMMU is off, and no device can be passed through");
	return doctor_add(
		d, "iommu.enabled", off, src,
		is_amd(d)
			? "enable IOMMU (AMD-Vi) and SVM in the firmware setup (often under AMD CBS / NBIO); the kernel turns it on by itself, add iommu=pt to the kernel command line"
			: "enable the IOMMU in the firmware setup and on the kernel command line",
		"no IOMMU groups: the IOMMU is off, and no device can be passed through");
}

/* amd_iommu=on is not a value the kernel knows: it changes nothing. */
static int check_amd_iommu_on(struct doctor *d)
{
	_cleanup_free_ char *v = NULL;

	if (!doctor_cmdline_find(d, "amd_iommu", &v) || !streq(v, "on"))
		return 0;
	return doctor_add(
		d, "iommu.amd_iommu_on", DOCTOR_WARN, "proc/cmdline",
		"remove amd_iommu=on from the kernel command line; if there are no IOMMU groups, enable the IOMMU in the firmware setup instead",
		"amd_iommu=on does nothing: the AMD IOMMU is on by default and 'on' is not one of the option's values (off, force_isolation, fullflush...)");
}

/*
 * Intel: bit 3 of each DMAR unit's extended capabilities (ecap.IR). AMD
 * IOMMUs all remap interrupts. Without it vfio refuses to assign devices,
 * unless vfio_iommu_type1 allow_unsafe_interrupts is set.
 */
static int check_interrupt_remapping(struct doctor *d)
{
	const char *src = "sys/class/iommu/*/intel-iommu/ecap";
	_cleanup_free_ char *unsafe = NULL;
	bool allow_unsafe = false;
	size_t units = 0, without = 0;
	DIR *dir;
	int fd;

	if (!d->f->pci.iommu_enabled)
		return 0;
	if (doctor_cmdline_find(d, "intremap", &unsafe) &&
	    (streq(unsafe, "off") || streq(unsafe, "no")))
		return doctor_add(
			d, "iommu.interrupt_remapping", DOCTOR_FAIL, "proc/cmdline",
			"remove intremap= from the kernel command line",
			"interrupt remapping is turned off on the kernel command line (intremap=%s): vfio refuses to assign devices",
			unsafe);
	free(unsafe);
	unsafe = NULL;
	if (read_one_line_at(d->h->sys_fd,
			     "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
			     &unsafe) >= 0)
		allow_unsafe = streq(unsafe, "Y") || streq(unsafe, "1");
	if (!is_intel(d))
		return doctor_add(d, "iommu.interrupt_remapping", DOCTOR_PASS, NULL, NULL,
				  "%s IOMMUs remap interrupts", is_amd(d) ? "AMD" : "this host's");

	fd = openat(d->h->sys_fd, "class/iommu", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return doctor_add(d, "iommu.interrupt_remapping", DOCTOR_SKIP, "sys/class/iommu",
				  NULL, "no IOMMU units to read");
	}
	for (struct dirent *e; (e = readdir(dir));) {
		char path[300];
		uint64_t ecap;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "class/iommu/%s/intel-iommu/ecap", e->d_name);
		if (read_hex_at(d->h->sys_fd, path, &ecap) < 0)
			continue;
		units++;
		if (!(ecap & (1u << 3)))
			without++;
	}
	closedir(dir);
	if (units == 0)
		return doctor_add(d, "iommu.interrupt_remapping", DOCTOR_SKIP, src, NULL,
				  "no DMAR unit's capabilities to read");
	if (without == 0)
		return doctor_add(d, "iommu.interrupt_remapping", DOCTOR_PASS, src, NULL,
				  "all %zu DMAR units remap interrupts", units);
	return doctor_add(
		d, "iommu.interrupt_remapping", allow_unsafe ? DOCTOR_WARN : DOCTOR_FAIL, src,
		allow_unsafe
			? "a device can then raise any interrupt on the host; update the firmware (or enable x2APIC / interrupt remapping in its setup) and drop allow_unsafe_interrupts"
			: "update the firmware, or enable x2APIC / interrupt remapping in its setup; as a last resort vfio_iommu_type1.allow_unsafe_interrupts=1 (a device can then raise any interrupt on the host)",
		"%zu of %zu DMAR units cannot remap interrupts%s", without, units,
		allow_unsafe ? " (vfio_iommu_type1 allow_unsafe_interrupts is set)"
			     : ": vfio refuses to assign devices");
}

static int check_acs_override(struct doctor *d)
{
	_cleanup_free_ char *v = NULL;

	if (!doctor_cmdline_find(d, "pcie_acs_override", &v))
		return 0;
	return doctor_add(
		d, "iommu.acs_override", DOCTOR_WARN, "proc/cmdline",
		"see whether your groups are isolated without it ('gamevm iommu' after a boot without pcie_acs_override=); a board whose slot sits behind the CPU's own root port often needs none",
		"pcie_acs_override=%s splits IOMMU groups the hardware does not isolate: a passed-through device may still reach its neighbours by peer-to-peer DMA",
		v);
}

static int check_vfio_module(struct doctor *d)
{
	_cleanup_free_ char *release = NULL, *builtin = NULL;
	char path[512];

	if (faccessat(d->h->sys_fd, "module/vfio_pci", F_OK, 0) == 0)
		return doctor_add(d, "vfio.module", DOCTOR_PASS, "sys/module/vfio_pci", NULL,
				  "vfio-pci is loaded");
	if (read_one_line_at(d->h->proc_fd, "sys/kernel/osrelease", &release) < 0)
		return doctor_add(d, "vfio.module", DOCTOR_SKIP, "proc/sys/kernel/osrelease", NULL,
				  "vfio-pci is not loaded, and the kernel release is unknown");
	snprintf(path, sizeof(path), "lib/modules/%s/modules.builtin", release);
	if (read_full_file_at(d->h->root_fd, path, 4u << 20, &builtin, NULL) >= 0 &&
	    strstr(builtin, "/vfio-pci.ko"))
		return doctor_add(d, "vfio.module", DOCTOR_PASS, path, NULL,
				  "vfio-pci is built into the kernel");
	snprintf(path, sizeof(path), "lib/modules/%s/modules.dep", release);
	free(builtin);
	builtin = NULL;
	if (read_full_file_at(d->h->root_fd, path, 16u << 20, &builtin, NULL) >= 0 &&
	    strstr(builtin, "/vfio-pci.ko"))
		return doctor_add(d, "vfio.module", DOCTOR_PASS, path, NULL,
				  "vfio-pci is available as a module (gamevm loads it at start)");
	return doctor_add(
		d, "vfio.module", d->c && d->c->n_pci > 0 ? DOCTOR_FAIL : DOCTOR_WARN, path,
		"install a kernel with VFIO (CONFIG_VFIO_PCI, as Debian's linux-image-amd64) and its modules",
		"no vfio-pci module for kernel %s", release);
}

/* A function of a card the config passes through (its HDMI audio counts with the GPU). */
static bool config_names(const struct doctor *d, const struct pci_addr *a)
{
	for (size_t i = 0; d->c && i < d->c->n_pci; i++)
		if (pci_addr_same_slot(&d->c->pci[i].addr, a))
			return true;
	return false;
}

/*
 * vfio-pci.ids binds by vendor:device at boot: with two identical cards
 * (the host's and the guest's) both go to vfio-pci. gamevm binds by
 * address and does not need it.
 */
static int check_vfio_ids(struct doctor *d)
{
	_cleanup_free_ char *ids = NULL;
	size_t bad = 0;
	char first[PCI_ADDR_STRLEN] = "";

	if (!doctor_cmdline_find(d, "vfio-pci.ids", &ids))
		return 0;
	for (char *save = NULL, *id = strtok_r(ids, ",", &save); id;
	     id = strtok_r(NULL, ",", &save)) {
		unsigned v, dv;

		if (sscanf(id, "%x:%x", &v, &dv) != 2)
			continue;
		for (size_t i = 0; i < d->f->pci.n_devs; i++) {
			const struct host_pci_dev *p = &d->f->pci.devs[i];

			if (p->vendor != v || p->device != dv || config_names(d, &p->addr))
				continue;
			if (!d->c)
				continue;
			if (bad++ == 0)
				format_pci_addr(&p->addr, first);
		}
	}
	if (bad > 0)
		return doctor_add(
			d, "vfio.ids", DOCTOR_WARN, "proc/cmdline",
			"remove vfio-pci.ids= from the kernel command line (and /etc/modprobe.d): gamevm binds the VM's devices by address at start",
			"vfio-pci.ids also matches %s and %zu more device(s) the VM does not get: with identical host and guest cards the host loses its own at boot",
			first, bad - 1);
	return doctor_add(d, "vfio.ids", DOCTOR_PASS, "proc/cmdline",
			  "gamevm binds by address at start; vfio-pci.ids is not needed",
			  "vfio-pci.ids matches only devices the VM gets");
}

static int check_idle_d3(struct doctor *d)
{
	_cleanup_free_ char *v = NULL;

	if (read_one_line_at(d->h->sys_fd, "module/vfio_pci/parameters/disable_idle_d3", &v) < 0)
		return 0;
	if (streq(v, "Y") || streq(v, "1"))
		return doctor_add(d, "vfio.disable_idle_d3", DOCTOR_PASS,
				  "sys/module/vfio_pci/parameters/disable_idle_d3", NULL,
				  "idle devices on vfio-pci stay in D0 (disable_idle_d3=Y)");
	return doctor_add(
		d, "vfio.disable_idle_d3", DOCTOR_PASS,
		"sys/module/vfio_pci/parameters/disable_idle_d3", NULL,
		"idle devices on vfio-pci may sleep in D3; if a GPU does not wake for the next VM, set vfio-pci.disable_idle_d3=1");
}

int doctor_check_iommu(struct doctor *d)
{
	int (*const checks[])(struct doctor *) = {
		check_enabled,	    check_amd_iommu_on, check_interrupt_remapping,
		check_acs_override, check_vfio_module,	check_vfio_ids,
		check_idle_d3,
	};

	for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
		int r = checks[i](d);

		if (r < 0)
			return r;
	}
	return 0;
}
