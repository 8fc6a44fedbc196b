/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VFIO binding: the checks, the bind sequence and its undo (see vfio.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "strv.h"
#include "vfio-internal.h"

static bool streq_null(const char *a, const char *b)
{
	return (!a && !b) || (a && b && streq(a, b));
}

static bool on_vfio(const struct host_pci_dev *dev)
{
	return dev->driver && streq(dev->driver, VFIO_DRIVER);
}

static const struct vfio_dev *find_dev(const struct vfio_dev *devs, size_t n,
				       const struct pci_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (pci_addr_compare(&devs[i].addr, a) == 0)
			return &devs[i];
	return NULL;
}

/* "0000:02:00.1 (1022:43eb, driver ahci)", "0000:02:00.2 (bridge)" */
static void dev_label(const struct host_pci_dev *dev, char *buf, size_t size)
{
	char a[PCI_ADDR_STRLEN];

	format_pci_addr(&dev->addr, a);
	if (!host_pci_dev_is_endpoint(dev))
		snprintf(buf, size, "%s (bridge, stays with the host)", a);
	else
		snprintf(buf, size, "%s (%04x:%04x, %s%s)", a, (unsigned)dev->vendor,
			 (unsigned)dev->device, dev->driver ? "driver " : "no driver",
			 dev->driver ? dev->driver : "");
}

/* Joins labels of the group's members (all, or only the blocking ones). */
static int group_list(const struct host_pci *pci, const struct host_iommu_group *g,
		      const struct vfio_dev *devs, size_t n, bool blocking_only, char **ret)
{
	size_t len = 0, cap = 0;
	char *s = NULL;

	for (size_t k = 0; k < g->n_devs; k++) {
		const struct host_pci_dev *m = &pci->devs[g->devs[k]];
		char label[128];
		size_t l;

		if (blocking_only &&
		    (!host_pci_dev_is_endpoint(m) || find_dev(devs, n, &m->addr) || on_vfio(m)))
			continue;
		dev_label(m, label, sizeof(label));
		l = strlen(label);
		if (len + l + 3 > cap) {
			char *t;

			cap = (len + l + 3) * 2;
			t = realloc(s, cap);
			if (!t) {
				free(s);
				return -ENOMEM;
			}
			s = t;
		}
		len += (size_t)sprintf(s + len, "%s%s", len ? ", " : "", label);
	}
	*ret = s;
	return 0;
}

static int check_group(const struct host_root *h, const struct host_pci *pci,
		       const struct host_pci_dev *dev, const struct vfio_dev *devs, size_t n,
		       struct plan_diags *d)
{
	_cleanup_free_ char *blocking = NULL, *all = NULL;
	const struct host_iommu_group *g = host_pci_find_group(pci, dev->iommu_group);
	char a[PCI_ADDR_STRLEN], rel[64], where[512];
	int r;

	if (!g)
		return 0;
	r = group_list(pci, g, devs, n, true, &blocking);
	if (r < 0 || !blocking)
		return r;
	r = group_list(pci, g, devs, n, false, &all);
	if (r < 0)
		return r;
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/devices", g->id);
	r = prepare_diag(
		d, LOG_ERR,
		"%s cannot be given to the VM: its IOMMU group %d (%s) also holds %s, which the VM does not get and which is not bound to vfio-pci, and VFIO gives a VM whole groups only. The group: %s. Fix: move the card to another slot, one whose group it has alone ('gamevm iommu' lists the groups), or pass every device of the group (a [pci] section each, or all-functions = yes for functions of one card)",
		format_pci_addr(&dev->addr, a), g->id,
		host_root_path(h, "sys", rel, where, sizeof(where)), blocking, all);
	return r < 0 ? r : -EINVAL;
}

/* One warning per slot whose passed functions have no reset method at all. */
static int check_reset(const struct host_pci *pci, const struct host_pci_dev *dev,
		       const struct vfio_dev *devs, size_t n, bool warned, struct plan_diags *d)
{
	const struct host_pci_dev *first = NULL;
	char a[PCI_ADDR_STRLEN];

	format_pci_addr(&dev->addr, a);
	if (!isempty(dev->reset_method))
		return prepare_diag(d, LOG_INFO, "%s resets by: %s", a, dev->reset_method);
	/* A card resets as a whole: one function with a method is enough. */
	for (size_t i = 0; i < n; i++) {
		const struct host_pci_dev *o = host_pci_find(pci, &devs[i].addr);

		if (!o || !pci_addr_same_slot(&o->addr, &dev->addr))
			continue;
		if (!isempty(o->reset_method))
			return 0;
		if (!first)
			first = o;
	}
	/* Said once per slot, at its first passed function. */
	if (first != dev)
		return 0;
	return prepare_diag(
		d, warned ? LOG_INFO : LOG_WARNING,
		"%s has no reset method (/sys/bus/pci/devices/%s/reset_method is %s): it may not work again after the VM stops or reboots (the AMD reset bug); for AMD GPUs up to Navi 1x load the vendor-reset module (https://github.com/gnif/vendor-reset) before starting the VM",
		a, a, dev->reset_method ? "empty" : "missing");
}

int vfio_check(const struct host_root *h, const struct host_pci *pci, const struct vfio_dev *devs,
	       size_t n, const struct vfio_opts *o, struct plan_diags *d)
{
	bool failed = false;
	char where[512];
	int r;

	if (n == 0)
		return 0;
	if (!pci->iommu_enabled) {
		r = prepare_diag(
			d, LOG_ERR,
			"PCI passthrough needs the IOMMU, and it is off (%s is empty): enable IOMMU / SVM / VT-d in the firmware setup (and boot with intel_iommu=on on Intel)",
			host_root_path(h, "sys", "kernel/iommu_groups", where, sizeof(where)));
		return r < 0 ? r : -EINVAL;
	}

	for (size_t i = 0; i < n; i++) {
		const struct host_pci_dev *dev = host_pci_find(pci, &devs[i].addr);
		_cleanup_free_ char *display = NULL;
		char a[PCI_ADDR_STRLEN], rel[64];
		bool seen = false;

		format_pci_addr(&devs[i].addr, a);
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s", a);
		if (!dev) {
			r = prepare_diag(d, LOG_ERR, "no PCI device %s on this host (%s)", a,
					 host_root_path(h, "sys", rel, where, sizeof(where)));
			if (r < 0)
				return r;
			failed = true;
			continue;
		}
		if (dev->iommu_group < 0) {
			r = prepare_diag(
				d, LOG_ERR,
				"%s is in no IOMMU group (%s/iommu_group is missing) and cannot be passed through",
				a, host_root_path(h, "sys", rel, where, sizeof(where)));
			if (r < 0)
				return r;
			failed = true;
			continue;
		}
		/* Each group once, at its first device. */
		for (size_t k = 0; k < i; k++) {
			const struct host_pci_dev *p = host_pci_find(pci, &devs[k].addr);
			seen = seen || (p && p->iommu_group == dev->iommu_group);
		}
		if (!seen) {
			r = check_group(h, pci, dev, devs, n, d);
			if (r == -EINVAL)
				failed = true;
			else if (r < 0)
				return r;
		}

		if ((dev->class_code >> 16) == 0x03 || dev->boot_vga) {
			r = vfio_display_use(h, dev, &display);
			if (r < 0)
				return r;
		}
		if (display && !o->single_gpu && !devs[i].primary_display) {
			r = prepare_diag(
				d, LOG_ERR,
				"%s is in use by the host display: %s. Handing it to the VM takes the display away from the host (and unbinding it can hang while programs hold it open). Use another GPU for the VM, or, if this is the host's only GPU, set [vm] single-gpu = yes",
				a, display);
			if (r < 0)
				return r;
			failed = true;
		} else if (display) {
			r = prepare_diag(
				d, LOG_NOTICE,
				"%s is in use by the host display (%s); single-gpu: the host display goes away while the VM runs",
				a, display);
			if (r < 0)
				return r;
		}

		if (!devs[i].managed && !on_vfio(dev)) {
			r = prepare_diag(
				d, LOG_ERR,
				"%s is not bound to vfio-pci (%s/driver is '%s') and managed = no: bind it to vfio-pci at boot (vfio-pci.ids=%04x:%04x) or set managed = yes",
				a, host_root_path(h, "sys", rel, where, sizeof(where)),
				dev->driver ? dev->driver : "none", (unsigned)dev->vendor,
				(unsigned)dev->device);
			if (r < 0)
				return r;
			failed = true;
		}

		r = check_reset(pci, dev, devs, n, o && o->reset_warned, d);
		if (r < 0)
			return r;
	}
	return failed ? -EINVAL : 0;
}

/* ---- binding -------------------------------------------------------------------------- */

static int timeout_ms(const struct vfio_opts *o)
{
	return o && o->unbind_timeout_ms > 0 ? o->unbind_timeout_ms : VFIO_UNBIND_TIMEOUT_MS;
}

/*
 * The error for a helper that did not come back: who keeps the device busy.
 * unbind: true for "unbinding ADDR from DRIVER", false for "probing ADDR for DRIVER".
 */
static int diag_stuck(const struct host_root *h, const char *addr, bool unbind, const char *driver,
		      int ms, struct plan_diags *d)
{
	_cleanup_free_ char *holders = NULL;
	struct pci_addr a;
	int r;

	if (parse_pci_addr(addr, &a) >= 0)
		(void)vfio_find_holders(h, &a, false, &holders);
	r = prepare_diag(
		d, LOG_ERR,
		"%s %s %s %s did not finish within %d ms: %s. gamevm gave up waiting (the kernel finishes it once the device is released); close %s, then run 'gamevm cleanup' for this VM to restore the host",
		unbind ? "Unbinding" : "Probing", addr, unbind ? "from" : "for", driver, ms,
		holders ? holders
			: "the driver is still busy, though no process has its device nodes open",
		holders ? "those programs (or stop the display manager)"
			: "whatever uses the device");
	return r < 0 ? r : -ETIMEDOUT;
}

/*
 * What modprobe vfio-pci loads (Debian 12: irqbypass, vfio, vfio_iommu_type1
 * by vfio's softdep, vfio_virqfd, vfio-pci-core, vfio-pci; iommufd on newer
 * kernels), in the order they can be unloaded. Those not loaded before are
 * journaled; irqbypass usually is, for kvm.
 */
static const char *const vfio_modules[] = {
	"vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio_virqfd",
	"vfio",	    "iommufd",	     "irqbypass",
};

static bool module_loaded(const struct host_root *h, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "module/%s", name);
	return file_exists_at(h->sys_fd, path) > 0;
}

static int load_vfio(const struct host_root *h, struct journal *j, struct plan_diags *d)
{
	static const char *const args[] = { VFIO_DRIVER, NULL };
	_cleanup_free_ char *out = NULL;
	struct journal_record rec = { .kind = JOURNAL_MODULE, .target = (char *)VFIO_DRIVER };
	char absent[256] = "";
	int r;

	r = file_exists_at(h->sys_fd, "bus/pci/drivers/" VFIO_DRIVER);
	if (r != 0)
		return r < 0 ? r : 0;
	for (size_t i = 0; i < ELEMENTSOF(vfio_modules); i++)
		if (!module_loaded(h, vfio_modules[i])) {
			if (absent[0])
				strcat(absent, " ");
			strcat(absent, vfio_modules[i]);
		}
	rec.old = absent;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;
	r = vfio_modprobe(h, args, &out);
	if (r >= 0)
		r = file_exists_at(h->sys_fd, "bus/pci/drivers/" VFIO_DRIVER) > 0 ? 0 : -ENOENT;
	if (r < 0) {
		int q = prepare_diag(
			d, LOG_ERR,
			"cannot load vfio-pci (modprobe vfio-pci%s%s): the kernel needs CONFIG_VFIO_PCI; check 'modinfo vfio-pci'",
			out ? ": " : "",
			out ? out
			    : (r == -ENOENT ? ": modprobe not found or no driver appeared" : ""));
		return q < 0 ? q : r;
	}
	return prepare_diag(d, LOG_INFO, "loaded vfio-pci");
}

static int bind_one(const struct host_root *h, struct journal *j, const char *addr,
		    const struct vfio_opts *o, struct plan_diags *d)
{
	_cleanup_free_ char *driver = NULL, *override = NULL, *now = NULL;
	struct journal_record rec = { .kind = JOURNAL_DRIVER };
	char path[128];
	int r, q;

	r = vfio_read_binding(h, addr, &driver, &override);
	if (r < 0)
		return r;
	if (streq_null(driver, VFIO_DRIVER))
		return 0;
	rec.target = (char *)addr;
	rec.old = driver;
	rec.old_override = override;
	rec.new = (char *)VFIO_DRIVER;
	r = journal_append(j, &rec, NULL);
	if (r < 0)
		return r;

	/*
	 * The order matters (Documentation/ABI/testing/sysfs-bus-pci,
	 * driver_override). The override comes first: from then on, anything
	 * that probes the device (our drivers_probe, a udev rule, a rescan) can
	 * bind vfio-pci and nothing else; unbinding first would leave a window
	 * in which the native driver could take it back. Setting the override
	 * does not move a bound device, hence the unbind; and drivers_probe,
	 * unlike vfio-pci/bind, needs no ID of the device in vfio-pci's table
	 * (no new_id, which would also catch every other device of that ID).
	 */
	snprintf(path, sizeof(path), "bus/pci/devices/%s/driver_override", addr);
	r = write_string_at(h->sys_fd, path, VFIO_DRIVER);
	if (r < 0) {
		char where[512];

		q = prepare_diag(d, LOG_ERR, "cannot set driver_override of %s ('%s'): %s", addr,
				 host_root_path(h, "sys", path, where, sizeof(where)),
				 strerror(-r));
		return q < 0 ? q : r;
	}
	if (driver) {
		snprintf(path, sizeof(path), "bus/pci/devices/%s/driver/unbind", addr);
		r = vfio_write_timed(h, path, addr, timeout_ms(o));
		if (r == -ETIMEDOUT)
			return diag_stuck(h, addr, true, driver, timeout_ms(o), d);
		/* ENOENT: it let go by itself meanwhile, which is what we want. */
		if (r < 0 && r != -ENOENT) {
			q = prepare_diag(d, LOG_ERR, "cannot unbind %s from %s: %s", addr, driver,
					 strerror(-r));
			return q < 0 ? q : r;
		}
	}
	r = vfio_write_timed(h, "bus/pci/drivers_probe", addr, timeout_ms(o));
	if (r == -ETIMEDOUT)
		return diag_stuck(h, addr, false, VFIO_DRIVER, timeout_ms(o), d);
	if (r >= 0)
		r = vfio_read_binding(h, addr, &now, NULL);
	if (r >= 0 && !streq_null(now, VFIO_DRIVER))
		r = -EIO;
	if (r < 0) {
		q = prepare_diag(d, LOG_ERR,
				 "%s did not bind to vfio-pci (its driver is now %s%s%s)", addr,
				 now ? "'" : "none", now ? now : "", now ? "'" : "");
		return q < 0 ? q : r;
	}
	return prepare_diag(d, LOG_INFO, "%s moved from %s to vfio-pci", addr,
			    driver ? driver : "no driver");
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * vfio-pci creates the group's character device when its first device
 * binds; udev may still be adjusting it, so wait rather than look once.
 */
static int wait_group_node(const struct host_root *h, int group, int timeout, struct plan_diags *d)
{
	int64_t deadline = now_ms() + timeout;
	char rel[32], where[512];
	int r;

	snprintf(rel, sizeof(rel), "vfio/%d", group);
	for (;;) {
		r = h->dev_fd < 0 ? -ENOENT : file_exists_at(h->dev_fd, rel);
		if (r > 0)
			return 0;
		if (r < 0 && r != -ENOENT)
			break;
		if (now_ms() >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		(void)nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	int q = prepare_diag(d, LOG_ERR,
			     "%s did not appear within %d ms after binding group %d to vfio-pci",
			     host_root_path(h, "dev", rel, where, sizeof(where)), timeout, group);
	return q < 0 ? q : r;
}

int vfio_prepare(const struct host_root *h, struct journal *j, const struct vfio_dev *devs,
		 size_t n, const struct vfio_opts *o, struct plan_diags *d)
{
	_cleanup_(host_pci_done) struct host_pci pci = {};
	struct vfio_opts dflt = VFIO_OPTS_INIT;
	bool need_vfio = false;
	int r;

	if (n == 0)
		return 0;
	if (!o)
		o = &dflt;
	r = h->sys_fd < 0 ? -ENOENT : host_pci_probe(h, &pci);
	if (r < 0) {
		char where[512];
		int q = prepare_diag(
			d, LOG_ERR,
			"PCI passthrough needs the PCI devices, and '%s' cannot be read: %s",
			host_root_path(h, "sys", "bus/pci/devices", where, sizeof(where)),
			strerror(-r));
		return q < 0 ? q : r;
	}
	r = vfio_check(h, &pci, devs, n, o, d);
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		const struct host_pci_dev *dev = host_pci_find(&pci, &devs[i].addr);
		need_vfio = need_vfio || (devs[i].managed && !on_vfio(dev));
	}
	if (need_vfio) {
		r = load_vfio(h, j, d);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < n; i++) {
		char a[PCI_ADDR_STRLEN];

		if (!devs[i].managed)
			continue;
		r = bind_one(h, j, format_pci_addr(&devs[i].addr, a), o, d);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < n; i++) {
		const struct host_pci_dev *dev = host_pci_find(&pci, &devs[i].addr);
		bool seen = false, changed = false;
		char rel[32], where[512];

		for (size_t k = 0; k < i; k++)
			seen = seen ||
			       host_pci_find(&pci, &devs[k].addr)->iommu_group == dev->iommu_group;
		if (seen)
			continue;
		r = wait_group_node(
			h, dev->iommu_group,
			o->node_timeout_ms > 0 ? o->node_timeout_ms : VFIO_NODE_TIMEOUT_MS, d);
		if (r < 0)
			return r;
		if (o->uid == (uid_t)-1)
			continue;
		/* QEMU runs unprivileged and opens the group node itself. */
		snprintf(rel, sizeof(rel), "vfio/%d", dev->iommu_group);
		r = journal_chown_dev(j, h, rel, o->uid, o->gid, &changed);
		if (r < 0) {
			int q = prepare_diag(d, LOG_ERR, "cannot give %s to uid %u: %s",
					     host_root_path(h, "dev", rel, where, sizeof(where)),
					     (unsigned)o->uid, strerror(-r));
			return q < 0 ? q : r;
		}
	}
	return 0;
}

/* ---- undo ------------------------------------------------------------------------------ */

static int write_override(const struct host_root *h, const char *addr, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), "bus/pci/devices/%s/driver_override", addr);
	/* A lone newline clears it (the kernel strips one trailing newline). */
	return write_string_at(h->sys_fd, path, value ? value : "\n");
}

int vfio_undo_driver(const struct host_root *h, const struct journal_record *rec,
		     const struct vfio_opts *o, struct plan_diags *d)
{
	_cleanup_free_ char *cur = NULL, *cur_ov = NULL, *now = NULL;
	const char *addr = rec->target, *old = rec->old;
	char path[300];
	int r, q;

	if (h->sys_fd < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "bus/pci/devices/%s", addr);
	r = file_exists_at(h->sys_fd, path);
	if (r == 0) {
		/* Removed (hot-unplug, or it fell off the bus): nothing left to rebind. */
		q = prepare_diag(d, LOG_WARNING,
				 "%s is no longer on the PCI bus; it cannot go back to %s", addr,
				 old ? old : "no driver");
		return q < 0 ? q : 0;
	}
	r = vfio_read_binding(h, addr, &cur, &cur_ov);
	if (r < 0)
		goto fail;
	if (streq_null(cur, old) && streq_null(cur_ov, rec->old_override))
		return 0;

	if (!streq_null(cur, old)) {
		/* No override while probing: the kernel must match the device's own driver. */
		if (cur_ov) {
			r = write_override(h, addr, NULL);
			if (r < 0)
				goto fail;
			free(cur_ov);
			cur_ov = NULL;
		}
		if (cur) {
			snprintf(path, sizeof(path), "bus/pci/devices/%s/driver/unbind", addr);
			r = vfio_write_timed(h, path, addr, timeout_ms(o));
			if (r == -ETIMEDOUT)
				return diag_stuck(h, addr, true, cur, timeout_ms(o), d);
			if (r < 0 && r != -ENOENT)
				goto fail;
		}
		if (old) {
			r = vfio_write_timed(h, "bus/pci/drivers_probe", addr, timeout_ms(o));
			if (r == -ETIMEDOUT)
				return diag_stuck(h, addr, false, old, timeout_ms(o), d);
			r = vfio_read_binding(h, addr, &now, NULL);
			if (r < 0)
				goto fail;
			/* Another driver matched first, or none: ask the old one directly. */
			if (!streq_null(now, old)) {
				snprintf(path, sizeof(path), "bus/pci/drivers/%s/bind", old);
				if (!now && file_exists_at(h->sys_fd, path) > 0)
					(void)vfio_write_timed(h, path, addr, timeout_ms(o));
				free(now);
				now = NULL;
				r = vfio_read_binding(h, addr, &now, NULL);
				if (r < 0)
					goto fail;
			}
			if (!streq_null(now, old)) {
				q = prepare_diag(
					d, LOG_ERR,
					"%s did not go back to %s (its driver is now %s): load the driver (modprobe %s) and bind it (echo %s > /sys/bus/pci/drivers/%s/bind), then run 'gamevm cleanup' again",
					addr, old, now ? now : "none", old, addr, old);
				return q < 0 ? q : -EIO;
			}
		}
	}
	if (!streq_null(cur_ov, rec->old_override)) {
		r = write_override(h, addr, rec->old_override);
		if (r < 0)
			goto fail;
	}
	return prepare_diag(d, LOG_INFO, old ? "%s is back on %s" : "%s is back without a driver%s",
			    addr, old ? old : "");
fail:
	q = prepare_diag(d, LOG_ERR, "cannot give %s back to %s: %s", addr, old ? old : "no driver",
			 strerror(-r));
	return q < 0 ? q : r;
}

/*
 * Unloads modules (names as in sys/module, in an order that can be
 * unloaded). On the real host with delete_module(2), as modprobe -r would,
 * O_NONBLOCK: one still in use stays (irqbypass, which kvm holds). This runs
 * after gamevm confined itself, which denies execve, so no modprobe. Under
 * a fixture root the fixture's modprobe emulator gets 'modprobe -r -a'.
 * The first module must go; *ret_output says why it did not.
 */
static int unload_modules(const struct host_root *h, const struct strv *mods, char **ret_output)
{
	struct strv args = {};
	int r;

	if (h->is_real) {
		for (size_t i = 0; i < mods->n; i++) {
			char name[64];

			snprintf(name, sizeof(name), "%s", mods->v[i]);
			for (char *c = name; *c; c++)
				if (*c == '-')
					*c = '_';
			if (syscall(SYS_delete_module, name, O_NONBLOCK) == 0 || errno == ENOENT)
				continue;
			r = NEG_ERRNO();
			if (i > 0)
				continue; /* a dependency something else still uses */
			if (asprintf(ret_output, "delete_module(%s): %s", name, strerror(-r)) < 0)
				*ret_output = NULL;
			return r;
		}
		return 0;
	}
	strv_push(&args, "-r");
	strv_push(&args, "-a");
	for (size_t i = 0; i < mods->n; i++)
		strv_push(&args, mods->v[i]);
	r = args.err;
	if (r >= 0)
		r = vfio_modprobe(h, (const char *const *)args.v, ret_output);
	strv_done(&args);
	return r;
}

int vfio_undo_module(const struct host_root *h, const struct journal_record *rec,
		     struct plan_diags *d)
{
	_cleanup_free_ char *out = NULL, *dir = NULL, *users = NULL, *list = NULL;
	_cleanup_close_ int fd = -1;
	struct strv args = {};
	DIR *dd;
	int r;

	if (h->sys_fd < 0)
		return -ENOENT;
	if (asprintf(&dir, "bus/pci/drivers/%s", rec->target) < 0)
		return -ENOMEM;
	fd = openat(h->sys_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		dd = fdopendir(fd);
		if (!dd)
			return NEG_ERRNO();
		fd = -1;
		for (struct dirent *de; (de = readdir(dd));) {
			struct pci_addr a;

			if (parse_pci_addr(de->d_name, &a) < 0)
				continue;
			users = users ? users : strdup(de->d_name);
		}
		closedir(dd);
		if (users)
			return prepare_diag(d, LOG_NOTICE,
					    "%s stays loaded: %s is still bound to it", rec->target,
					    users);
	}

	/* The modules it pulled in, still loaded; a record without the list: the driver's own. */
	if (!rec->old) {
		if (file_exists_at(h->sys_fd, dir) > 0)
			strv_push(&args, rec->target);
	} else {
		list = strdup(rec->old);
		if (!list)
			return -ENOMEM;
		for (char *save = NULL, *m = strtok_r(list, " ", &save); m;
		     m = strtok_r(NULL, " ", &save))
			if (module_loaded(h, m))
				strv_push(&args, m);
	}
	r = args.err;
	if (r < 0 || args.n == 0) {
		strv_done(&args);
		return r;
	}
	r = unload_modules(h, &args, &out);
	strv_done(&args);
	if (r < 0)
		return prepare_diag(d, LOG_WARNING, "cannot unload %s (%s), ignoring", rec->target,
				    out ? out : strerror(-r));
	return prepare_diag(d, LOG_INFO, "unloaded %s", rec->target);
}
