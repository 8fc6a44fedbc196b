/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI devices, IOMMU groups and verdicts, on the fixture hosts under
 * tests/hosts/ (see tests/hosts/tools/pci.py), on small trees built in a
 * temporary directory, on in-memory groups, and through the real binary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"

/* ---- helpers ------------------------------------------------------------------------ */

static char *fixture_path(const char *host)
{
	const char *src = getenv("GAMEVM_SRCDIR");
	char *p;

	assert_non_null(src);
	assert_true(asprintf(&p, "%s/tests/hosts/%s", src, host) > 0);
	return p;
}

struct probed {
	struct host_root h;
	struct host_pci p;
};

static void probe(const char *dir, struct probed *ret)
{
	ret->h = (struct host_root)HOST_ROOT_NULL;
	assert_int_equal(host_root_open(dir, &ret->h), 0);
	assert_int_equal(host_pci_probe(&ret->h, &ret->p), 0);
	assert_null(ret->p.n_devs > 0 ? ret->p.devs[0].vendor_name : NULL);
	assert_int_equal(host_pci_names(&ret->p), 0);
}

static void probe_fixture(const char *host, struct probed *ret)
{
	_cleanup_free_ char *dir = fixture_path(host);

	probe(dir, ret);
}

static void probed_done(struct probed *x)
{
	host_pci_done(&x->p);
	host_root_close(&x->h);
}

static const struct host_pci_dev *dev(const struct host_pci *p, const char *addr)
{
	struct pci_addr a;
	const struct host_pci_dev *d;

	assert_int_equal(parse_pci_addr(addr, &a), 0);
	d = host_pci_find(p, &a);
	if (!d)
		fail_msg("device %s not found", addr);
	return d;
}

static size_t idx(const struct host_pci *p, const char *addr)
{
	return (size_t)(dev(p, addr) - p->devs);
}

static const struct host_iommu_group *group(const struct host_pci *p, int id)
{
	const struct host_iommu_group *g = host_pci_find_group(p, id);

	if (!g)
		fail_msg("group %d not found", id);
	return g;
}

static void assert_group_members(const struct host_pci *p, int id, const char *const *addrs)
{
	const struct host_iommu_group *g = group(p, id);
	size_t n = 0;

	for (; addrs[n]; n++) {
		assert_true(n < g->n_devs);
		assert_int_equal(g->devs[n], idx(p, addrs[n]));
		assert_int_equal(p->devs[g->devs[n]].iommu_group, id);
	}
	assert_int_equal(g->n_devs, n);
}

static void assert_verdict(const struct host_pci *p, int id, const char *focus,
			   enum host_iommu_verdict verdict, const char *text,
			   const char *const *others)
{
	struct host_iommu_group_verdict v;
	struct pci_addr a;
	size_t n = 0;

	if (focus)
		assert_int_equal(parse_pci_addr(focus, &a), 0);
	assert_int_equal(host_iommu_group_verdict(p, group(p, id), focus ? &a : NULL, &v), 0);
	assert_int_equal(v.verdict, verdict);
	assert_string_equal(v.text, text);
	for (; others && others[n]; n++) {
		assert_true(n < v.n_others);
		assert_int_equal(v.others[n], idx(p, others[n]));
	}
	assert_int_equal(v.n_others, n);
	host_iommu_group_verdict_done(&v);
}

/* ---- Ryzen 9 5950X ------------------------------------------------------------------- */

static void test_ryzen_devices(void **state)
{
	struct probed x;
	const struct host_pci_dev *d;

	probe_fixture("ryzen-5950x", &x);
	assert_int_equal(x.p.n_devs, 17);
	for (size_t i = 1; i < x.p.n_devs; i++)
		assert_true(pci_addr_compare(&x.p.devs[i - 1].addr, &x.p.devs[i].addr) < 0);

	d = dev(&x.p, "0000:0f:00.0");
	assert_int_equal(d->vendor, 0x1002);
	assert_int_equal(d->device, 0x7550);
	assert_int_equal(d->subsystem_vendor, 0x1da2);
	assert_int_equal(d->subsystem_device, 0xe490);
	assert_int_equal(d->class_code, 0x030000);
	assert_string_equal(d->driver, "vfio-pci");
	assert_null(d->driver_override); /* "(null)" in sysfs */
	assert_string_equal(d->reset_method, "bus");
	assert_int_equal(d->iommu_group, 28);
	assert_int_equal(d->numa_node, 0);
	assert_false(d->boot_vga);
	assert_false(d->is_bridge);
	assert_true(host_pci_dev_is_endpoint(d));
	assert_false(d->on_root_bus);
	assert_true(d->has_upstream);
	assert_int_equal(d->upstream.bus, 0x0e);

	d = dev(&x.p, "0000:0f:00.1");
	assert_int_equal(d->device, 0xab40);
	assert_int_equal(d->class_code, 0x040300);
	assert_string_equal(d->driver, "vfio-pci");
	assert_null(d->reset_method); /* no reset_method file */

	d = dev(&x.p, "0000:03:00.0");
	assert_string_equal(d->driver, "amdgpu");
	assert_true(d->boot_vga);
	assert_int_equal(d->iommu_group, 20);
	assert_string_equal(dev(&x.p, "0000:03:00.1")->driver, "snd_hda_intel");
	assert_string_equal(dev(&x.p, "0000:11:00.3")->driver, "xhci_hcd");
	assert_string_equal(dev(&x.p, "0000:01:00.0")->reset_method, "flr bus");

	/* Root ports, switch ports and the chipset's upstream port are bridges. */
	assert_true(dev(&x.p, "0000:00:03.2")->is_bridge);
	assert_true(dev(&x.p, "0000:0e:00.0")->is_bridge);
	d = dev(&x.p, "0000:02:00.2");
	assert_true(d->is_bridge);
	assert_string_equal(d->driver, "pcieport");
	assert_false(host_pci_dev_is_endpoint(d));

	/* A host bridge is no PCI-PCI bridge, and no endpoint either. */
	d = dev(&x.p, "0000:00:00.0");
	assert_false(d->is_bridge);
	assert_false(host_pci_dev_is_endpoint(d));
	assert_null(d->driver);
	assert_true(d->on_root_bus);
	assert_false(d->has_upstream);

	probed_done(&x);
}

static void test_ryzen_groups(void **state)
{
	static const int ids[] = { 0, 2, 3, 5, 6, 7, 14, 15, 20, 26, 27, 28, 33 };
	struct probed x;

	probe_fixture("ryzen-5950x", &x);
	assert_true(x.p.iommu_enabled);
	assert_int_equal(x.p.n_groups, ELEMENTSOF(ids));
	for (size_t i = 0; i < ELEMENTSOF(ids); i++)
		assert_int_equal(x.p.groups[i].id, ids[i]);

	assert_group_members(&x.p, 28,
			     (const char *const[]){ "0000:0f:00.0", "0000:0f:00.1", NULL });
	assert_group_members(
		&x.p, 15,
		(const char *const[]){ "0000:02:00.0", "0000:02:00.1", "0000:02:00.2", NULL });
	assert_group_members(&x.p, 33, (const char *const[]){ "0000:11:00.3", NULL });
	assert_group_members(&x.p, 14, (const char *const[]){ "0000:01:00.0", NULL });
	assert_null(host_pci_find_group(&x.p, 1));
	assert_null(host_pci_find_group(&x.p, 99));

	/* Every device is in exactly the group its link names. */
	for (size_t i = 0; i < x.p.n_devs; i++) {
		const struct host_iommu_group *g = group(&x.p, x.p.devs[i].iommu_group);
		size_t found = 0;

		for (size_t j = 0; j < g->n_devs; j++)
			found += g->devs[j] == i;
		assert_int_equal(found, 1);
	}
	probed_done(&x);
}

static void test_ryzen_names(void **state)
{
	struct probed x;
	const struct host_pci_dev *d;

	probe_fixture("ryzen-5950x", &x);
	/* Names stable in pci.ids for decades; device names only where long known. */
	d = dev(&x.p, "0000:0f:00.0");
	assert_string_equal(d->vendor_name, "Advanced Micro Devices, Inc. [AMD/ATI]");
	assert_string_equal(d->class_name, "VGA compatible controller");
	d = dev(&x.p, "0000:02:00.0");
	assert_string_equal(d->vendor_name, "Advanced Micro Devices, Inc. [AMD]");
	assert_string_equal(d->class_name, "USB controller");
	assert_non_null(d->device_name);
	assert_string_equal(dev(&x.p, "0000:0f:00.1")->class_name, "Audio device");
	assert_string_equal(dev(&x.p, "0000:02:00.2")->class_name, "PCI bridge");
	assert_string_equal(dev(&x.p, "0000:00:00.0")->class_name, "Host bridge");
	assert_string_equal(dev(&x.p, "0000:01:00.0")->vendor_name, "Samsung Electronics Co Ltd");
	probed_done(&x);
}

static void test_ryzen_verdicts(void **state)
{
	struct probed x;
	struct host_iommu_group_verdict v;
	struct pci_addr a;

	probe_fixture("ryzen-5950x", &x);
	assert_verdict(&x.p, 28, NULL, HOST_IOMMU_ISOLATED, "isolated (one slot)", NULL);
	assert_verdict(&x.p, 28, "0000:0f:00.1", HOST_IOMMU_ISOLATED, "isolated (one slot)", NULL);
	assert_verdict(&x.p, 20, NULL, HOST_IOMMU_ISOLATED, "isolated (one slot)", NULL);
	assert_verdict(&x.p, 33, NULL, HOST_IOMMU_ISOLATED, "isolated", NULL);
	assert_verdict(&x.p, 14, "0000:01:00.0", HOST_IOMMU_ISOLATED, "isolated", NULL);
	/* The chipset's USB + SATA share a slot but are no card; its bridge is not counted. */
	assert_verdict(&x.p, 15, NULL, HOST_IOMMU_SHARED, "shared by 0000:02:00.0 and 0000:02:00.1",
		       (const char *const[]){ "0000:02:00.0", "0000:02:00.1", NULL });
	assert_verdict(&x.p, 15, "0000:02:00.0", HOST_IOMMU_SHARED, "shared with 0000:02:00.1",
		       (const char *const[]){ "0000:02:00.1", NULL });
	assert_verdict(&x.p, 0, NULL, HOST_IOMMU_BRIDGES_ONLY, "bridges only", NULL);
	assert_verdict(&x.p, 27, NULL, HOST_IOMMU_BRIDGES_ONLY, "bridges only", NULL);

	assert_int_equal(host_iommu_group_verdict(&x.p, group(&x.p, 28), NULL, &v), 0);
	assert_true(v.one_slot);
	host_iommu_group_verdict_done(&v);
	assert_int_equal(host_iommu_group_verdict(&x.p, group(&x.p, 33), NULL, &v), 0);
	assert_false(v.one_slot);
	host_iommu_group_verdict_done(&v);

	/* A focus outside the group is a caller error. */
	assert_int_equal(parse_pci_addr("0000:03:00.0", &a), 0);
	assert_int_equal(host_iommu_group_verdict(&x.p, group(&x.p, 28), &a, &v), -ENOENT);

	assert_string_equal(host_iommu_verdict_to_string(HOST_IOMMU_SHARED), "shared");
	assert_string_equal(host_iommu_verdict_to_string(HOST_IOMMU_BRIDGES_ONLY), "bridges-only");
	assert_null(host_iommu_verdict_to_string(_HOST_IOMMU_VERDICT_MAX));
	probed_done(&x);
}

/* ---- i9-14900K, no IOMMU ------------------------------------------------------------- */

static void test_intel(void **state)
{
	struct probed x;
	const struct host_pci_dev *d;

	probe_fixture("intel-14900k", &x);
	assert_true(x.p.iommu_enabled);
	assert_int_equal(x.p.n_devs, 9);
	assert_int_equal(x.p.n_groups, 7);

	d = dev(&x.p, "0000:00:14.2");
	assert_null(d->driver);
	assert_null(d->reset_method);
	assert_int_equal(d->class_code, 0x050000);
	assert_int_equal(d->numa_node, -1);
	d = dev(&x.p, "0000:00:14.0");
	assert_string_equal(d->driver, "xhci_hcd");
	assert_true(d->on_root_bus);
	d = dev(&x.p, "0000:00:02.0");
	assert_string_equal(d->driver, "i915");
	assert_true(d->boot_vga);
	assert_string_equal(dev(&x.p, "0000:01:00.0")->driver, "nvidia");
	assert_false(dev(&x.p, "0000:01:00.0")->boot_vga);
	assert_string_equal(dev(&x.p, "0000:00:14.0")->vendor_name, "Intel Corporation");

	assert_group_members(&x.p, 8,
			     (const char *const[]){ "0000:00:14.0", "0000:00:14.2", NULL });
	/* One slot on the root bus: the PCH's xHCI and SRAM are two controllers. */
	assert_verdict(&x.p, 8, "0000:00:14.0", HOST_IOMMU_SHARED, "shared with 0000:00:14.2",
		       (const char *const[]){ "0000:00:14.2", NULL });
	assert_verdict(&x.p, 8, NULL, HOST_IOMMU_SHARED, "shared by 0000:00:14.0 and 0000:00:14.2",
		       (const char *const[]){ "0000:00:14.0", "0000:00:14.2", NULL });
	assert_verdict(&x.p, 14, NULL, HOST_IOMMU_ISOLATED, "isolated (one slot)", NULL);
	assert_verdict(&x.p, 0, NULL, HOST_IOMMU_ISOLATED, "isolated", NULL);
	assert_verdict(&x.p, 1, NULL, HOST_IOMMU_BRIDGES_ONLY, "bridges only", NULL);
	probed_done(&x);
}

static void test_no_iommu(void **state)
{
	struct probed x;
	const struct host_pci_dev *d;

	probe_fixture("no-iommu", &x);
	assert_false(x.p.iommu_enabled);
	assert_int_equal(x.p.n_groups, 0);
	assert_null(x.p.groups);
	assert_int_equal(x.p.n_devs, 5);
	for (size_t i = 0; i < x.p.n_devs; i++)
		assert_int_equal(x.p.devs[i].iommu_group, -1);
	d = dev(&x.p, "0000:01:00.0");
	assert_string_equal(d->driver, "nouveau");
	assert_true(d->boot_vga);
	assert_string_equal(d->vendor_name, "NVIDIA Corporation");
	assert_string_equal(dev(&x.p, "0000:00:1f.2")->driver, "ahci");
	assert_null(host_pci_find_group(&x.p, 0));
	probed_done(&x);
}

/* ---- small trees in a temporary directory -------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void tree_free(char **dir)
{
	if (*dir)
		nftw(*dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(*dir);
}

static char *tree_new(void)
{
	const char *b = getenv("GAMEVM_BUILDDIR");
	char *dir;

	assert_true(asprintf(&dir, "%s/test-host-pci.XXXXXX", b ? b : "/tmp") > 0);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void tree_file(const char *dir, const char *rel, const char *content)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_free_ char *cmd = NULL;
	FILE *f;

	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	assert_true(asprintf(&cmd, "mkdir -p \"$(dirname '%s')\"", p) > 0);
	assert_int_equal(system(cmd), 0);
	f = fopen(p, "we");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static void tree_link(const char *dir, const char *rel, const char *target)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_free_ char *cmd = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	assert_true(asprintf(&cmd, "mkdir -p \"$(dirname '%s')\"", p) > 0);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(symlink(target, p), 0);
}

/* A device as a plain directory under sys/bus/pci/devices (no topology). */
static void tree_device(const char *dir, const char *addr, const char *cls)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vendor", addr);
	tree_file(dir, rel, "0x1af4\n");
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/device", addr);
	tree_file(dir, rel, "0x1000\n");
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/class", addr);
	tree_file(dir, rel, cls);
}

static void test_empty_root(void **state)
{
	_cleanup_(tree_free) char *dir = tree_new();
	struct probed x;

	/* No sys/ at all: no devices, no IOMMU, and that is not an error. */
	probe(dir, &x);
	assert_int_equal(x.p.n_devs, 0);
	assert_false(x.p.iommu_enabled);
	assert_null(host_pci_find_group(&x.p, 0));
	probed_done(&x);
}

static void test_flat_tree_attributes(void **state)
{
	_cleanup_(tree_free) char *dir = tree_new();
	struct probed x;
	const struct host_pci_dev *d;

	tree_device(dir, "0000:00:03.0", "0x020000\n");
	tree_file(dir, "sys/bus/pci/devices/0000:00:03.0/reset_method", "\n");
	tree_file(dir, "sys/bus/pci/devices/0000:00:03.0/driver_override", "vfio-pci\n");
	tree_device(dir, "0000:00:04.0", "0x060700\n"); /* CardBus bridge, no pci_bus/ */
	tree_file(dir, "sys/bus/pci/devices/README", "not a device\n");
	probe(dir, &x);
	assert_int_equal(x.p.n_devs, 2);
	d = dev(&x.p, "0000:00:03.0");
	/* Reset disabled ("") is not the same as no reset_method file. */
	assert_string_equal(d->reset_method, "");
	assert_string_equal(d->driver_override, "vfio-pci");
	assert_null(d->driver);
	assert_int_equal(d->iommu_group, -1);
	assert_int_equal(d->numa_node, -1);
	assert_int_equal(d->subsystem_vendor, 0);
	assert_false(d->on_root_bus);
	assert_false(d->has_upstream);
	assert_true(dev(&x.p, "0000:00:04.0")->is_bridge);
	probed_done(&x);
}

static void test_bad_attribute(void **state)
{
	_cleanup_(tree_free) char *dir = tree_new();
	struct host_root h = HOST_ROOT_NULL;
	struct host_pci p;

	tree_device(dir, "0000:00:03.0", "0x1020000\n"); /* 25 bits */
	assert_int_equal(host_root_open(dir, &h), 0);
	assert_int_equal(host_pci_probe(&h, &p), -ERANGE);
	host_root_close(&h);
}

static void test_group_disagrees(void **state)
{
	struct host_root h = HOST_ROOT_NULL;
	struct host_pci p;

	/* The group lists the device, whose own link names another group. */
	{
		_cleanup_(tree_free) char *dir = tree_new();

		tree_device(dir, "0000:00:03.0", "0x020000\n");
		tree_link(dir, "sys/bus/pci/devices/0000:00:03.0/iommu_group",
			  "../../../../kernel/iommu_groups/6");
		tree_link(dir, "sys/kernel/iommu_groups/5/devices/0000:00:03.0",
			  "../../../../bus/pci/devices/0000:00:03.0");
		tree_file(dir, "sys/kernel/iommu_groups/6/devices/.keep", "");
		assert_int_equal(host_root_open(dir, &h), 0);
		assert_int_equal(host_pci_probe(&h, &p), -EUCLEAN);
		host_root_close(&h);
	}
	/* The device links to a group that does not list it. */
	{
		_cleanup_(tree_free) char *dir = tree_new();

		tree_device(dir, "0000:00:03.0", "0x020000\n");
		tree_device(dir, "0000:00:04.0", "0x020000\n");
		tree_link(dir, "sys/bus/pci/devices/0000:00:03.0/iommu_group",
			  "../../../../kernel/iommu_groups/5");
		tree_link(dir, "sys/bus/pci/devices/0000:00:04.0/iommu_group",
			  "../../../../kernel/iommu_groups/5");
		tree_link(dir, "sys/kernel/iommu_groups/5/devices/0000:00:03.0",
			  "../../../../bus/pci/devices/0000:00:03.0");
		assert_int_equal(host_root_open(dir, &h), 0);
		assert_int_equal(host_pci_probe(&h, &p), -EUCLEAN);
		host_root_close(&h);
	}
}

/* ---- the verdict on in-memory groups --------------------------------------------------- */

struct synth {
	const char *addr;
	uint32_t class_code;
	bool root_bus;
};

static void synth_verdict(const struct synth *s, size_t n, const char *focus, const char *text)
{
	struct host_pci_dev devs[8] = {};
	size_t members[8];
	struct host_iommu_group g = { .id = 1, .devs = members, .n_devs = n };
	struct host_pci p = {
		.iommu_enabled = true, .devs = devs, .n_devs = n, .groups = &g, .n_groups = 1
	};
	struct host_iommu_group_verdict v;
	struct pci_addr a;

	assert_true(n <= ELEMENTSOF(devs));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(parse_pci_addr(s[i].addr, &devs[i].addr), 0);
		devs[i].class_code = s[i].class_code;
		devs[i].is_bridge = (s[i].class_code >> 8) == 0x0604;
		devs[i].on_root_bus = s[i].root_bus;
		devs[i].iommu_group = 1;
		members[i] = i;
	}
	if (focus)
		assert_int_equal(parse_pci_addr(focus, &a), 0);
	assert_int_equal(host_iommu_group_verdict(&p, &g, focus ? &a : NULL, &v), 0);
	assert_string_equal(v.text, text);
	host_iommu_group_verdict_done(&v);
}

static void test_verdict_synthetic(void **state)
{
	/* Intel PEG port without ACS: the root port shares the GPU's group. */
	synth_verdict((const struct synth[]){ { "00:01.0", 0x060400, true },
					      { "01:00.0", 0x030000, false },
					      { "01:00.1", 0x040300, false } },
		      3, NULL, "isolated (one slot)");
	/* Turing with USB-C: VGA, audio, xHCI and UCSI are one card. */
	synth_verdict((const struct synth[]){ { "0c:00.0", 0x030000, false },
					      { "0c:00.1", 0x040300, false },
					      { "0c:00.2", 0x0c0330, false },
					      { "0c:00.3", 0x0c8000, false } },
		      4, "0c:00.2", "isolated (one slot)");
	/* A dual-port NIC: one class, one card. */
	synth_verdict((const struct synth[]){ { "05:00.0", 0x020000, false },
					      { "05:00.1", 0x020000, false } },
		      2, NULL, "isolated (one slot)");
	/* Same class on the root bus: two integrated controllers. */
	synth_verdict((const struct synth[]){ { "00:15.0", 0x0c8000, true },
					      { "00:15.1", 0x0c8000, true } },
		      2, "00:15.0", "shared with 0000:00:15.1");
	/* A GPU whose group also holds a NIC on the next bus and a NIC in another slot. */
	synth_verdict((const struct synth[]){ { "03:00.0", 0x030000, false },
					      { "03:00.1", 0x040300, false },
					      { "04:00.0", 0x020000, false },
					      { "05:00.0", 0x020000, false } },
		      4, "03:00.1", "shared with 0000:04:00.0 and 0000:05:00.0");
	synth_verdict((const struct synth[]){ { "03:00.0", 0x030000, false },
					      { "04:00.0", 0x020000, false },
					      { "05:00.0", 0x020000, false } },
		      3, NULL, "shared by 0000:03:00.0, 0000:04:00.0 and 0000:05:00.0");
	/* An empty group says so instead of failing. */
	synth_verdict(NULL, 0, NULL, "bridges only");
}

/* ---- the binary ------------------------------------------------------------------------- */

struct run {
	int status;
	char *out, *err;
};

static void run_done(struct run *r)
{
	free(r->out);
	free(r->err);
}

static char *slurp(int fd)
{
	size_t len = 0, cap = 1 << 16;
	char *s = malloc(cap);
	ssize_t n;

	assert_non_null(s);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	while ((n = read(fd, s + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
	}
	assert_int_equal(n, 0);
	s[len] = 0;
	return s;
}

/* Runs the gamevm binary with args, capturing stdout, stderr and the exit status. */
static void run_gamevm(struct run *ret, const char *root, bool json)
{
	const char *bin = getenv("GAMEVM_BIN");
	char out_path[] = "/tmp/test-host-pci-out.XXXXXX",
	     err_path[] = "/tmp/test-host-pci-err.XXXXXX";
	int out_fd, err_fd, status;
	pid_t pid;

	assert_non_null(bin);
	out_fd = mkstemp(out_path);
	err_fd = mkstemp(err_path);
	assert_true(out_fd >= 0 && err_fd >= 0);
	unlink(out_path);
	unlink(err_path);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(err_fd, STDERR_FILENO);
		if (json)
			execl(bin, bin, "--root", root, "--json", "iommu", (char *)NULL);
		else
			execl(bin, bin, "--root", root, "iommu", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	ret->status = WEXITSTATUS(status);
	ret->out = slurp(out_fd);
	ret->err = slurp(err_fd);
	close(out_fd);
	close(err_fd);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("'%s' not in:\n%s", needle, haystack);
}

static void test_cli_ryzen(void **state)
{
	_cleanup_free_ char *root = fixture_path("ryzen-5950x");
	struct run r;

	run_gamevm(&r, root, false);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	assert_contains(r.out, "IOMMU group 28: isolated (one slot)\n");
	assert_contains(r.out, "IOMMU group 33: isolated\n");
	assert_contains(r.out, "IOMMU group 15: shared by 0000:02:00.0 and 0000:02:00.1\n");
	assert_contains(r.out, "  0000:0f:00.0  [1002:7550]  VGA compatible controller ");
	assert_contains(r.out, " vfio-pci ");
	assert_contains(r.out, "Advanced Micro Devices, Inc. [AMD/ATI]");
	assert_contains(r.out, "13 groups: 4 isolated, 1 shared, 8 with bridges only.");
	/* Groups print in numeric order: 2 before 14 before 28. */
	assert_true(strstr(r.out, "IOMMU group 2:") < strstr(r.out, "IOMMU group 14:"));
	assert_true(strstr(r.out, "IOMMU group 14:") < strstr(r.out, "IOMMU group 28:"));
	run_done(&r);
}

static struct json_object *json_get(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("key '%s' missing", key);
	return v;
}

static void test_cli_ryzen_json(void **state)
{
	_cleanup_free_ char *root = fixture_path("ryzen-5950x");
	struct json_object *o, *groups, *g28 = NULL, *g15 = NULL, *d;
	struct run r;

	run_gamevm(&r, root, true);
	assert_int_equal(r.status, 0);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	assert_true(json_object_get_boolean(json_get(o, "iommu")));
	groups = json_get(o, "groups");
	assert_int_equal(json_object_array_length(groups), 13);
	for (size_t i = 0; i < json_object_array_length(groups); i++) {
		struct json_object *g = json_object_array_get_idx(groups, i);
		int id = json_object_get_int(json_get(g, "id"));

		if (id == 28)
			g28 = g;
		if (id == 15)
			g15 = g;
	}
	assert_non_null(g28);
	assert_string_equal(json_object_get_string(json_get(g28, "verdict")), "isolated");
	assert_true(json_object_get_boolean(json_get(g28, "one_slot")));
	assert_int_equal(json_object_array_length(json_get(g28, "devices")), 2);
	d = json_object_array_get_idx(json_get(g28, "devices"), 0);
	assert_string_equal(json_object_get_string(json_get(d, "address")), "0000:0f:00.0");
	assert_string_equal(json_object_get_string(json_get(d, "vendor")), "1002");
	assert_string_equal(json_object_get_string(json_get(d, "device")), "7550");
	assert_string_equal(json_object_get_string(json_get(d, "class")), "030000");
	assert_string_equal(json_object_get_string(json_get(d, "class_name")),
			    "VGA compatible controller");
	assert_string_equal(json_object_get_string(json_get(d, "vendor_name")),
			    "Advanced Micro Devices, Inc. [AMD/ATI]");
	assert_string_equal(json_object_get_string(json_get(d, "driver")), "vfio-pci");
	assert_string_equal(json_object_get_string(json_get(d, "reset_method")), "bus");
	assert_false(json_object_get_boolean(json_get(d, "bridge")));
	assert_false(json_object_get_boolean(json_get(d, "boot_vga")));
	assert_null(json_get(d, "driver_override"));
	d = json_object_array_get_idx(json_get(g28, "devices"), 1);
	assert_null(json_get(d, "reset_method"));

	assert_non_null(g15);
	assert_string_equal(json_object_get_string(json_get(g15, "verdict")), "shared");
	assert_int_equal(json_object_array_length(json_get(g15, "shared_by")), 2);
	assert_string_equal(
		json_object_get_string(json_object_array_get_idx(json_get(g15, "shared_by"), 1)),
		"0000:02:00.1");
	d = json_object_array_get_idx(json_get(g15, "devices"), 2);
	assert_true(json_object_get_boolean(json_get(d, "bridge")));
	json_object_put(o);
	run_done(&r);
}

static void test_cli_intel(void **state)
{
	_cleanup_free_ char *root = fixture_path("intel-14900k");
	struct run r;

	run_gamevm(&r, root, false);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "IOMMU group 8: shared by 0000:00:14.0 and 0000:00:14.2\n");
	assert_contains(r.out, "IOMMU group 14: isolated (one slot)\n");
	assert_contains(r.out, "(boot VGA)");
	run_done(&r);
}

static void test_cli_no_iommu(void **state)
{
	_cleanup_free_ char *root = fixture_path("no-iommu");
	_cleanup_free_ char *msg = NULL;
	struct json_object *o;
	struct run r;

	assert_true(asprintf(&msg,
			     "error: '%s/sys/kernel/iommu_groups' is empty: the IOMMU is off.",
			     root) > 0);

	run_gamevm(&r, root, false);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_contains(r.err, msg);
	assert_contains(r.err, "VT-d");
	/* One message, one line. */
	assert_non_null(strchr(r.err, '\n'));
	assert_string_equal(strchr(r.err, '\n'), "\n");
	run_done(&r);

	run_gamevm(&r, root, true);
	assert_int_equal(r.status, 1);
	o = json_tokener_parse(r.out);
	assert_non_null(o);
	assert_false(json_object_get_boolean(json_get(o, "iommu")));
	assert_int_equal(json_object_array_length(json_get(o, "groups")), 0);
	json_object_put(o);
	assert_contains(r.err, msg);
	run_done(&r);
}

static void test_cli_bad_root(void **state)
{
	struct run r;

	run_gamevm(&r, "/nonexistent/gamevm-root", false);
	assert_int_equal(r.status, 1);
	assert_contains(
		r.err,
		"error: Failed to open the host root '/nonexistent/gamevm-root': No such file or directory");
	run_done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ryzen_devices),
		cmocka_unit_test(test_ryzen_groups),
		cmocka_unit_test(test_ryzen_names),
		cmocka_unit_test(test_ryzen_verdicts),
		cmocka_unit_test(test_intel),
		cmocka_unit_test(test_no_iommu),
		cmocka_unit_test(test_empty_root),
		cmocka_unit_test(test_flat_tree_attributes),
		cmocka_unit_test(test_bad_attribute),
		cmocka_unit_test(test_group_disagrees),
		cmocka_unit_test(test_verdict_synthetic),
		cmocka_unit_test(test_cli_ryzen),
		cmocka_unit_test(test_cli_ryzen_json),
		cmocka_unit_test(test_cli_intel),
		cmocka_unit_test(test_cli_no_iommu),
		cmocka_unit_test(test_cli_bad_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
