/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI devices and IOMMU groups, read from sysfs through the host root:
 *   sys/bus/pci/devices/ADDR -> ../../../devices/pci0000:00/.../ADDR
 *   sys/kernel/iommu_groups/N/devices/ADDR
 * plus names from libpci's ids database, and the per-group verdict that
 * `gamevm iommu` prints and VFIO binding reuses.
 *
 * libpci is used for names only. Its scan (pci_init + pci_scan_bus) would
 * read the real machine's sysfs through absolute paths, not the host root;
 * reading the handful of attributes ourselves keeps fixtures and the real
 * host on one code path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pci/pci.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"

/* ---- names through libpci ------------------------------------------------------ */

/*
 * libpci reports a malformed ids file through pacc->error, which gets no
 * context pointer, is declared noreturn (code after the call is not
 * reachable) and by default calls exit(). So the handler jumps back to
 * pci_names_load(). This is the only global here; it is set only while
 * pci_load_name_list() runs, the one libpci call that can fail once
 * lookups skip hwdb, cache and DNS.
 */
static _Thread_local jmp_buf *pci_names_jmp;

_printf_(1, 2) static _Noreturn void pci_names_error(char *msg, ...)
{
	if (pci_names_jmp)
		longjmp(*pci_names_jmp, 1);
	/* Unreachable with the lookup flags below; returning would be undefined. */
	abort();
}

_printf_(1, 2) static void pci_names_quiet(char *msg, ...)
{
}

static bool pci_names_load(struct pci_access *pacc)
{
	jmp_buf env;
	int ok;

	if (setjmp(env)) {
		/* The half-read ids file stays open: one fd, only on a broken file. */
		pci_names_jmp = NULL;
		return false;
	}
	pci_names_jmp = &env;
	ok = pci_load_name_list(pacc);
	pci_names_jmp = NULL;
	return ok;
}

/*
 * Returns a pci_access for name lookups, or NULL when the ids database is
 * missing or broken (names then stay NULL). pci_init() is not called: it
 * probes the running machine's access methods, which names do not need,
 * and fails fatally where there is none (containers).
 */
static struct pci_access *pci_names_open(void)
{
	struct pci_access *pacc = pci_alloc();

	if (!pacc)
		return NULL;
	pacc->error = pci_names_error;
	pacc->warning = pci_names_quiet;
	pacc->debug = pci_names_quiet;
	if (!pci_names_load(pacc)) {
		pci_cleanup(pacc);
		return NULL;
	}
	return pacc;
}

static void pci_names_closep(struct pci_access **pacc)
{
	if (*pacc)
		pci_cleanup(*pacc);
}

/*
 * NO_NUMBERS: NULL instead of "Device 7550" when unknown, so callers can
 * tell. NO_HWDB: names from pci.ids only, the same on every run.
 */
#define PCI_NAMES_FLAGS (PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB)

static int pci_names_fill(struct pci_access *pacc, struct host_pci_dev *d)
{
	char buf[256];
	const char *s;

	s = pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_VENDOR | PCI_NAMES_FLAGS,
			    (int)d->vendor);
	if (s && !(d->vendor_name = strdup(s)))
		return -ENOMEM;
	s = pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_DEVICE | PCI_NAMES_FLAGS,
			    (int)d->vendor, (int)d->device);
	if (s && !(d->device_name = strdup(s)))
		return -ENOMEM;
	/* libpci's class IDs are base class and subclass, without prog-if. */
	s = pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_CLASS | PCI_NAMES_FLAGS,
			    (int)(d->class_code >> 8));
	if (s && !(d->class_name = strdup(s)))
		return -ENOMEM;
	return 0;
}

/* ---- devices --------------------------------------------------------------------- */

static void host_pci_dev_done(struct host_pci_dev *d)
{
	free(d->vendor_name);
	free(d->device_name);
	free(d->class_name);
	free(d->driver);
	free(d->driver_override);
	free(d->reset_method);
}

/*
 * Header type 1 (PCI-PCI bridge, root and switch ports) and 2 (CardBus)
 * are what the kernel's vfio lets share a group with an assigned device
 * ("vfio: Whitelist PCI bridges", 5f096b14); their class codes are 0x0604,
 * 0x0609 (semi-transparent) and 0x0607. The kernel also gives each of them
 * a pci_bus/ directory, which is Proxmox's test; either is enough.
 */
static bool class_is_bridge(uint32_t class_code)
{
	uint32_t c = class_code >> 8;

	return c == 0x0604 || c == 0x0607 || c == 0x0609;
}

bool host_pci_dev_is_endpoint(const struct host_pci_dev *d)
{
	return !d->is_bridge && (d->class_code >> 8) != 0x0600;
}

static int read_hex_max_at(int dirfd, const char *path, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	int r;

	r = read_hex_at(dirfd, path, &v);
	if (r < 0)
		return r;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* Reads an optional attribute: 0 and NULL when absent. */
static int read_optional_line_at(int dirfd, const char *path, char **ret)
{
	int r;

	r = read_one_line_at(dirfd, path, ret);
	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	return r;
}

/*
 * Where the device sits: bus/pci/devices/ADDR links to
 * ../../../devices/pci0000:00/0000:00:03.1/0000:03:00.0; the component
 * before the device's own is its upstream bridge or the root bus.
 */
static int read_position(int devices_fd, const char *name, struct host_pci_dev *d)
{
	char target[PATH_MAX];
	char *last, *prev;
	ssize_t n;

	n = readlinkat(devices_fd, name, target, sizeof(target) - 1);
	if (n < 0)
		/* Not a symlink: a flat tree that says nothing about the topology. */
		return errno == EINVAL ? 0 : NEG_ERRNO();
	target[n] = 0;
	last = strrchr(target, '/');
	if (!last)
		return 0;
	*last = 0;
	prev = strrchr(target, '/');
	prev = prev ? prev + 1 : target;
	if (strncmp(prev, "pci", 3) == 0)
		d->on_root_bus = true;
	else if (parse_pci_addr(prev, &d->upstream) >= 0)
		d->has_upstream = true;
	return 0;
}

static int read_device(int devices_fd, const char *name, struct host_pci_dev *ret)
{
	_cleanup_free_ char *group = NULL;
	struct host_pci_dev d = { .iommu_group = -1, .numa_node = -1 };
	char path[NAME_MAX + 64];
	uint64_t v;
	int r;

	r = parse_pci_addr(name, &d.addr);
	if (r < 0)
		return r;

#define ATTR(a) (snprintf(path, sizeof(path), "%s/%s", name, (a)), path)

	r = read_hex_max_at(devices_fd, ATTR("vendor"), 0xffff, &v);
	if (r < 0)
		goto fail;
	d.vendor = (uint16_t)v;
	r = read_hex_max_at(devices_fd, ATTR("device"), 0xffff, &v);
	if (r < 0)
		goto fail;
	d.device = (uint16_t)v;
	r = read_hex_max_at(devices_fd, ATTR("class"), 0xffffff, &v);
	if (r < 0)
		goto fail;
	d.class_code = (uint32_t)v;

	/* Absent on some virtual functions and old kernels: 0 then. */
	r = read_hex_max_at(devices_fd, ATTR("subsystem_vendor"), 0xffff, &v);
	if (r < 0 && r != -ENOENT)
		goto fail;
	d.subsystem_vendor = r < 0 ? 0 : (uint16_t)v;
	r = read_hex_max_at(devices_fd, ATTR("subsystem_device"), 0xffff, &v);
	if (r < 0 && r != -ENOENT)
		goto fail;
	d.subsystem_device = r < 0 ? 0 : (uint16_t)v;

	r = read_link_basename_at(devices_fd, ATTR("iommu_group"), &group);
	if (r >= 0) {
		r = safe_atoi(group, &d.iommu_group);
		if (r >= 0 && d.iommu_group < 0)
			r = -ERANGE;
		if (r < 0)
			goto fail;
	} else if (r != -ENOENT)
		goto fail;

	r = read_link_basename_at(devices_fd, ATTR("driver"), &d.driver);
	if (r < 0 && r != -ENOENT)
		goto fail;

	r = read_optional_line_at(devices_fd, ATTR("driver_override"), &d.driver_override);
	if (r < 0)
		goto fail;
	/* The kernel prints "(null)" while no override is set. */
	if (d.driver_override && (streq(d.driver_override, "(null)") || !*d.driver_override)) {
		free(d.driver_override);
		d.driver_override = NULL;
	}

	/* An empty reset_method means reset is disabled: kept as "", unlike absent. */
	r = read_optional_line_at(devices_fd, ATTR("reset_method"), &d.reset_method);
	if (r < 0)
		goto fail;

	r = read_int_at(devices_fd, ATTR("numa_node"), &d.numa_node);
	if (r == -ENOENT)
		d.numa_node = -1;
	else if (r < 0)
		goto fail;

	/* Only VGA-class devices have boot_vga. */
	r = read_u64_at(devices_fd, ATTR("boot_vga"), &v);
	if (r < 0 && r != -ENOENT)
		goto fail;
	d.boot_vga = r >= 0 && v != 0;

	r = file_exists_at(devices_fd, ATTR("pci_bus"));
	if (r < 0)
		goto fail;
	d.is_bridge = r > 0 || class_is_bridge(d.class_code);

#undef ATTR

	r = read_position(devices_fd, name, &d);
	if (r < 0)
		goto fail;

	*ret = d;
	return 0;
fail:
	host_pci_dev_done(&d);
	return r;
}

static int dev_compare(const void *a, const void *b)
{
	const struct host_pci_dev *x = a, *y = b;

	return pci_addr_compare(&x->addr, &y->addr);
}

static int read_devices(const struct host_root *h, struct host_pci *p)
{
	_cleanup_close_ int fd = -1;
	DIR *dir;
	struct dirent *de;
	size_t cap = 0;
	int r = 0;

	if (h->sys_fd < 0)
		return 0;
	fd = openat(h->sys_fd, "bus/pci/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		/* No PCI bus at all (some containers, non-PCI machines): a fact. */
		return errno == ENOENT ? 0 : NEG_ERRNO();
	dir = fdopendir(fd);
	if (!dir)
		return NEG_ERRNO();
	fd = -1; /* owned by dir now */

	while ((errno = 0, de = readdir(dir))) {
		struct host_pci_dev d;
		struct pci_addr a;

		if (de->d_name[0] == '.' || parse_pci_addr(de->d_name, &a) < 0)
			continue;
		r = read_device(dirfd(dir), de->d_name, &d);
		if (r == -ENOENT)
			/* Removed while we were reading it. */
			continue;
		if (r < 0)
			break;
		if (p->n_devs == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct host_pci_dev *n = reallocarray(p->devs, ncap, sizeof(*n));
			if (!n) {
				host_pci_dev_done(&d);
				r = -ENOMEM;
				break;
			}
			p->devs = n;
			cap = ncap;
		}
		p->devs[p->n_devs++] = d;
	}
	if (r == 0 && errno != 0)
		r = NEG_ERRNO();
	closedir(dir);
	if (r < 0)
		return r;
	if (p->n_devs > 0)
		qsort(p->devs, p->n_devs, sizeof(*p->devs), dev_compare);
	return 0;
}

/* ---- IOMMU groups ---------------------------------------------------------------- */

static int index_compare(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static int group_compare(const void *a, const void *b)
{
	const struct host_iommu_group *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void host_iommu_group_done(struct host_iommu_group *g)
{
	free(g->devs);
}

/*
 * Reads N/devices/ and maps each entry to a device. The group directory and
 * the device's own iommu_group link are two views of one kernel object, so
 * any disagreement means a broken tree or a hotplug race: -EUCLEAN.
 */
static int read_group(const struct host_pci *p, int groups_fd, const char *name, int id,
		      struct host_iommu_group *ret)
{
	_cleanup_free_ size_t *devs = NULL;
	char path[NAME_MAX + 16];
	struct dirent *de;
	size_t n = 0, cap = 0;
	DIR *dir;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/devices", name);
	fd = openat(groups_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NEG_ERRNO();
	dir = fdopendir(fd);
	if (!dir) {
		r = NEG_ERRNO();
		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(dir))) {
		const struct host_pci_dev *d;
		struct pci_addr a;

		/* Groups may hold non-PCI devices on other architectures. */
		if (de->d_name[0] == '.' || parse_pci_addr(de->d_name, &a) < 0)
			continue;
		d = host_pci_find(p, &a);
		if (!d || d->iommu_group != id) {
			r = -EUCLEAN;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			size_t *x = reallocarray(devs, ncap, sizeof(*x));
			if (!x) {
				r = -ENOMEM;
				break;
			}
			devs = x;
			cap = ncap;
		}
		devs[n++] = (size_t)(d - p->devs);
	}
	if (r == 0 && errno != 0)
		r = NEG_ERRNO();
	closedir(dir);
	if (r < 0)
		return r;
	if (n > 0)
		qsort(devs, n, sizeof(*devs), index_compare);
	*ret = (struct host_iommu_group){ .id = id, .devs = TAKE_PTR(devs), .n_devs = n };
	return 0;
}

static int read_groups(const struct host_root *h, struct host_pci *p)
{
	_cleanup_close_ int fd = -1;
	struct dirent *de;
	size_t cap = 0, members = 0, linked = 0;
	DIR *dir;
	int r = 0;

	if (h->sys_fd < 0)
		return 0;
	fd = openat(h->sys_fd, "kernel/iommu_groups", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		/* Kernel without IOMMU support: no groups, like an empty directory. */
		return errno == ENOENT ? 0 : NEG_ERRNO();
	dir = fdopendir(fd);
	if (!dir)
		return NEG_ERRNO();
	fd = -1;

	while ((errno = 0, de = readdir(dir))) {
		struct host_iommu_group g;
		int id;

		/* Only numbers: a fixture keeps an empty directory with a dotfile. */
		if (de->d_name[0] == '.' || safe_atoi(de->d_name, &id) < 0 || id < 0)
			continue;
		r = read_group(p, dirfd(dir), de->d_name, id, &g);
		if (r < 0)
			break;
		if (p->n_groups == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct host_iommu_group *x = reallocarray(p->groups, ncap, sizeof(*x));
			if (!x) {
				host_iommu_group_done(&g);
				r = -ENOMEM;
				break;
			}
			p->groups = x;
			cap = ncap;
		}
		members += g.n_devs;
		p->groups[p->n_groups++] = g;
	}
	if (r == 0 && errno != 0)
		r = NEG_ERRNO();
	closedir(dir);
	if (r < 0)
		return r;

	if (p->n_groups > 0)
		qsort(p->groups, p->n_groups, sizeof(*p->groups), group_compare);
	p->iommu_enabled = p->n_groups > 0;

	/*
	 * read_group() checked that each member's link names its group; equal
	 * counts mean no device links to a group that does not list it.
	 */
	for (size_t i = 0; i < p->n_devs; i++)
		if (p->devs[i].iommu_group >= 0)
			linked++;
	return linked == members ? 0 : -EUCLEAN;
}

/* ---- probe --------------------------------------------------------------------- */

int host_pci_probe(const struct host_root *h, struct host_pci *ret)
{
	struct host_pci p = {};
	int r;

	r = read_devices(h, &p);
	if (r < 0)
		goto fail;
	r = read_groups(h, &p);
	if (r < 0)
		goto fail;
	*ret = p;
	return 0;
fail:
	host_pci_done(&p);
	return r;
}

int host_pci_names(struct host_pci *p)
{
	_cleanup_(pci_names_closep) struct pci_access *pacc = NULL;
	int r;

	if (p->n_devs > 0)
		pacc = pci_names_open();
	for (size_t i = 0; pacc && i < p->n_devs; i++) {
		r = pci_names_fill(pacc, &p->devs[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

void host_pci_done(struct host_pci *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_devs; i++)
		host_pci_dev_done(&p->devs[i]);
	free(p->devs);
	for (size_t i = 0; i < p->n_groups; i++)
		host_iommu_group_done(&p->groups[i]);
	free(p->groups);
	*p = (struct host_pci){};
}

static int addr_key_compare(const void *key, const void *elem)
{
	const struct host_pci_dev *d = elem;

	return pci_addr_compare(key, &d->addr);
}

const struct host_pci_dev *host_pci_find(const struct host_pci *p, const struct pci_addr *a)
{
	if (!p || !a || p->n_devs == 0)
		return NULL;
	return bsearch(a, p->devs, p->n_devs, sizeof(*p->devs), addr_key_compare);
}

static int group_key_compare(const void *key, const void *elem)
{
	int id = *(const int *)key;
	const struct host_iommu_group *g = elem;

	return id < g->id ? -1 : id > g->id;
}

const struct host_iommu_group *host_pci_find_group(const struct host_pci *p, int id)
{
	if (!p || p->n_groups == 0)
		return NULL;
	return bsearch(&id, p->groups, p->n_groups, sizeof(*p->groups), group_key_compare);
}

/* ---- verdict ---------------------------------------------------------------------- */

static const char *const verdict_table[_HOST_IOMMU_VERDICT_MAX] = {
	[HOST_IOMMU_ISOLATED] = "isolated",
	[HOST_IOMMU_SHARED] = "shared",
	[HOST_IOMMU_BRIDGES_ONLY] = "bridges-only",
};

const char *host_iommu_verdict_to_string(enum host_iommu_verdict v)
{
	if (v < 0 || v >= _HOST_IOMMU_VERDICT_MAX)
		return NULL;
	return verdict_table[v];
}

/*
 * Whether the endpoints in ref's slot are one card, to be passed together:
 * the slot sits behind a port, and it holds a display function (GPU with
 * HDMI audio, USB-C xHCI and UCSI) or functions of one class (a multi-port
 * NIC). Otherwise they are separate controllers that merely share a device
 * number: the AMD 500-series chipset's USB + SATA + switch at 02:00.x, the
 * Intel PCH's xHCI + shared SRAM at 00:14.x (integrated, on the root bus).
 */
static bool slot_is_card(const struct host_pci *p, const size_t *endpoints, size_t n,
			 const struct host_pci_dev *ref)
{
	bool display = false, one_class = true;

	if (ref->on_root_bus)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct host_pci_dev *e = &p->devs[endpoints[i]];

		if (!pci_addr_same_slot(&e->addr, &ref->addr))
			continue;
		display |= (e->class_code >> 16) == 0x03;
		one_class &= (e->class_code >> 16) == (ref->class_code >> 16);
	}
	return display || one_class;
}

/* "A", "A and B", "A, B and C" */
static int format_addr_list(const struct host_pci *p, const size_t *idx, size_t n,
			    const char *prefix, char **ret)
{
	size_t len = strlen(prefix) + n * (PCI_ADDR_STRLEN + 5) + 1;
	char *s, *e;

	s = malloc(len);
	if (!s)
		return -ENOMEM;
	e = stpcpy(s, prefix);
	for (size_t i = 0; i < n; i++) {
		char buf[PCI_ADDR_STRLEN];

		if (i > 0)
			e = stpcpy(e, i + 1 == n ? " and " : ", ");
		e = stpcpy(e, format_pci_addr(&p->devs[idx[i]].addr, buf));
	}
	*ret = s;
	return 0;
}

int host_iommu_group_verdict(const struct host_pci *p, const struct host_iommu_group *g,
			     const struct pci_addr *focus, struct host_iommu_group_verdict *ret)
{
	_cleanup_free_ size_t *endpoints = NULL, *others = NULL;
	const struct host_pci_dev *ref = NULL;
	struct host_iommu_group_verdict v = {};
	size_t n_endpoints = 0, n_others = 0;
	int r;

	endpoints = calloc(g->n_devs ? g->n_devs : 1, sizeof(*endpoints));
	others = calloc(g->n_devs ? g->n_devs : 1, sizeof(*others));
	if (!endpoints || !others)
		return -ENOMEM;

	for (size_t i = 0; i < g->n_devs; i++) {
		const struct host_pci_dev *d = &p->devs[g->devs[i]];

		if (focus && pci_addr_compare(&d->addr, focus) == 0)
			ref = d;
		if (host_pci_dev_is_endpoint(d))
			endpoints[n_endpoints++] = g->devs[i];
	}
	if (focus && !ref)
		return -ENOENT;
	if (!ref && n_endpoints > 0)
		ref = &p->devs[endpoints[0]];

	if (ref) {
		bool card = host_pci_dev_is_endpoint(ref) &&
			    slot_is_card(p, endpoints, n_endpoints, ref);

		for (size_t i = 0; i < n_endpoints; i++) {
			const struct host_pci_dev *e = &p->devs[endpoints[i]];

			if (e != ref && !(card && pci_addr_same_slot(&e->addr, &ref->addr)))
				others[n_others++] = endpoints[i];
		}
	}

	if (n_endpoints == 0) {
		v.verdict = HOST_IOMMU_BRIDGES_ONLY;
		v.text = strdup("bridges only");
	} else if (n_others == 0) {
		v.verdict = HOST_IOMMU_ISOLATED;
		v.one_slot = n_endpoints > 1;
		v.text = strdup(v.one_slot ? "isolated (one slot)" : "isolated");
	} else {
		v.verdict = HOST_IOMMU_SHARED;
		if (focus) {
			r = format_addr_list(p, others, n_others, "shared with ", &v.text);
		} else {
			/* Without a device to speak for, name every endpoint. */
			memcpy(others, endpoints, n_endpoints * sizeof(*others));
			n_others = n_endpoints;
			r = format_addr_list(p, others, n_others, "shared by ", &v.text);
		}
		if (r < 0)
			return r;
		v.others = TAKE_PTR(others);
		v.n_others = n_others;
	}
	if (!v.text) {
		free(v.others);
		return -ENOMEM;
	}
	*ret = v;
	return 0;
}

void host_iommu_group_verdict_done(struct host_iommu_group_verdict *v)
{
	if (!v)
		return;
	free(v->others);
	free(v->text);
	*v = (struct host_iommu_group_verdict){};
}
