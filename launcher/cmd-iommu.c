/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm iommu: every IOMMU group with its devices (address, IDs, class,
 * names, driver, reset method) and a verdict: can the group go to a guest
 * without taking other devices along: the seed's shell loop over the
 * group directories, with names and the judgement added.
 *
 * Without an IOMMU it prints one error naming the empty directory and what
 * to switch on, and exits 1; --json still prints {"iommu": false, ...} so a
 * script sees both.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "fileio.h"
#include "host.h"
#include "log.h"
#include "macro.h"

static void json_object_putp(struct json_object **o)
{
	json_object_put(*o);
}

static int json_add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* A string, or JSON null for an absent one (json-c adds NULL as null). */
static int json_add_str(struct json_object *o, const char *key, const char *s)
{
	if (!s)
		return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
	return json_add(o, key, json_object_new_string(s));
}

static int json_add_hex(struct json_object *o, const char *key, unsigned v, int width)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%0*x", width, v);
	return json_add_str(o, key, buf);
}

static int device_to_json(const struct host_pci_dev *d, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	char addr[PCI_ADDR_STRLEN];

	if (!o)
		return -ENOMEM;
	if (json_add_str(o, "address", format_pci_addr(&d->addr, addr)) < 0 ||
	    json_add_hex(o, "vendor", d->vendor, 4) < 0 ||
	    json_add_hex(o, "device", d->device, 4) < 0 ||
	    json_add_hex(o, "subsystem_vendor", d->subsystem_vendor, 4) < 0 ||
	    json_add_hex(o, "subsystem_device", d->subsystem_device, 4) < 0 ||
	    json_add_hex(o, "class", d->class_code, 6) < 0 ||
	    json_add_str(o, "class_name", d->class_name) < 0 ||
	    json_add_str(o, "vendor_name", d->vendor_name) < 0 ||
	    json_add_str(o, "device_name", d->device_name) < 0 ||
	    json_add_str(o, "driver", d->driver) < 0 ||
	    json_add_str(o, "driver_override", d->driver_override) < 0 ||
	    json_add_str(o, "reset_method", d->reset_method) < 0 ||
	    json_add(o, "numa_node", json_object_new_int(d->numa_node)) < 0 ||
	    json_add(o, "bridge", json_object_new_boolean(d->is_bridge)) < 0 ||
	    json_add(o, "boot_vga", json_object_new_boolean(d->boot_vga)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static int json_array_append(struct json_object *a, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int group_to_json(const struct host_pci *p, const struct host_iommu_group *g,
			 const struct host_iommu_group_verdict *v, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *shared = json_object_new_array(), *devs = json_object_new_array();
	int r;

	if (!o || json_add(o, "id", json_object_new_int(g->id)) < 0 ||
	    json_add_str(o, "verdict", host_iommu_verdict_to_string(v->verdict)) < 0 ||
	    json_add_str(o, "verdict_text", v->text) < 0 ||
	    json_add(o, "one_slot", json_object_new_boolean(v->one_slot)) < 0) {
		json_object_put(shared);
		json_object_put(devs);
		return -ENOMEM;
	}
	if (json_add(o, "shared_by", shared) < 0) {
		json_object_put(devs);
		return -ENOMEM;
	}
	if (json_add(o, "devices", devs) < 0)
		return -ENOMEM;

	for (size_t i = 0; i < v->n_others; i++) {
		char addr[PCI_ADDR_STRLEN];

		r = json_array_append(shared, json_object_new_string(format_pci_addr(
						      &p->devs[v->others[i]].addr, addr)));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < g->n_devs; i++) {
		struct json_object *d;

		r = device_to_json(&p->devs[g->devs[i]], &d);
		if (r < 0)
			return r;
		r = json_array_append(devs, d);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

static int print_json(const struct host_pci *p)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *groups = json_object_new_array();
	int r;

	r = !o ? -ENOMEM : json_add(o, "iommu", json_object_new_boolean(p->iommu_enabled));
	if (r >= 0)
		r = json_add(o, "groups", groups);
	else
		json_object_put(groups);
	for (size_t i = 0; r >= 0 && i < p->n_groups; i++) {
		_cleanup_(host_iommu_group_verdict_done) struct host_iommu_group_verdict v = {};
		struct json_object *g;

		r = host_iommu_group_verdict(p, &p->groups[i], NULL, &v);
		if (r >= 0)
			r = group_to_json(p, &p->groups[i], &v, &g);
		if (r >= 0)
			r = json_array_append(groups, g);
	}
	if (r < 0)
		return log_error_errno(r, "Failed to format the IOMMU groups as JSON: %m");
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

/* ---- human output ------------------------------------------------------------------ */

struct columns {
	int class_w, driver_w, reset_w;
};

static const char *class_label(const struct host_pci_dev *d, char *buf, size_t size)
{
	if (d->class_name)
		return d->class_name;
	snprintf(buf, size, "Class %04x", d->class_code >> 8);
	return buf;
}

static const char *reset_label(const struct host_pci_dev *d)
{
	if (!d->reset_method)
		return "-";
	/* An empty list: reset disabled by a write of "". */
	return *d->reset_method ? d->reset_method : "none";
}

static void measure(const struct host_pci *p, struct columns *c)
{
	*c = (struct columns){ .class_w = 5, .driver_w = 6, .reset_w = 5 };
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct host_pci_dev *d = &p->devs[i];
		char buf[32];

		c->class_w = MAX(c->class_w, (int)strlen(class_label(d, buf, sizeof(buf))));
		c->driver_w = MAX(c->driver_w, (int)strlen(d->driver ?: "-"));
		c->reset_w = MAX(c->reset_w, (int)strlen(reset_label(d)));
	}
}

static void print_device(const struct host_pci_dev *d, const struct columns *c)
{
	char addr[PCI_ADDR_STRLEN], cls[32], vendor[16], device[16];

	snprintf(vendor, sizeof(vendor), "Vendor %04x", d->vendor);
	snprintf(device, sizeof(device), "Device %04x", d->device);
	printf("  %s  [%04x:%04x]  %-*s  %-*s  %-*s  %s %s", format_pci_addr(&d->addr, addr),
	       d->vendor, d->device, c->class_w, class_label(d, cls, sizeof(cls)), c->driver_w,
	       d->driver ?: "-", c->reset_w, reset_label(d), d->vendor_name ?: vendor,
	       d->device_name ?: device);
	if (d->is_bridge)
		printf(" (bridge: stays on the host)");
	if (d->boot_vga)
		printf(" (boot VGA)");
	if (d->driver_override)
		printf(" (driver_override=%s)", d->driver_override);
	printf("\n");
}

static int print_table(const struct host_pci *p)
{
	struct columns c;
	size_t n_isolated = 0, n_shared = 0;

	measure(p, &c);
	printf("  %-12s  %-11s  %-*s  %-*s  %-*s  %s\n", "ADDRESS", "ID", c.class_w, "CLASS",
	       c.driver_w, "DRIVER", c.reset_w, "RESET", "NAME");
	for (size_t i = 0; i < p->n_groups; i++) {
		_cleanup_(host_iommu_group_verdict_done) struct host_iommu_group_verdict v = {};
		const struct host_iommu_group *g = &p->groups[i];
		int r;

		r = host_iommu_group_verdict(p, g, NULL, &v);
		if (r < 0)
			return log_error_errno(r, "Failed to judge IOMMU group %d: %m", g->id);
		n_isolated += v.verdict == HOST_IOMMU_ISOLATED;
		n_shared += v.verdict == HOST_IOMMU_SHARED;
		printf("IOMMU group %d: %s\n", g->id, v.text);
		for (size_t j = 0; j < g->n_devs; j++)
			print_device(&p->devs[g->devs[j]], &c);
	}
	printf("\n%zu groups: %zu isolated, %zu shared, %zu with bridges only. A shared group goes to a guest as a whole; bridges stay on the host.\n",
	       p->n_groups, n_isolated, n_shared, p->n_groups - n_isolated - n_shared);
	return 0;
}

/* ---- no IOMMU ---------------------------------------------------------------------- */

/* The platform from the host bridge's vendor: the CPU's own root complex. */
static uint16_t platform_vendor(const struct host_pci *p)
{
	for (size_t i = 0; i < p->n_devs; i++)
		if ((p->devs[i].class_code >> 8) == 0x0600)
			return p->devs[i].vendor;
	return 0;
}

/* A word of the kernel command line that switched the IOMMU off, or NULL. */
static const char *cmdline_iommu_off(const char *cmdline)
{
	static const char *const offs[] = { "intel_iommu=off", "amd_iommu=off", "iommu=off" };

	for (const char *w = cmdline; w && *w;) {
		size_t n;

		w += strspn(w, " \t");
		n = strcspn(w, " \t");
		for (size_t i = 0; i < ELEMENTSOF(offs); i++)
			if (n == strlen(offs[i]) && strncmp(w, offs[i], n) == 0)
				return offs[i];
		w += n;
	}
	return NULL;
}

static bool cmdline_has(const char *cmdline, const char *word)
{
	size_t n = strlen(word);

	for (const char *w = cmdline; w && (w = strstr(w, word)); w += n)
		if ((w == cmdline || w[-1] == ' ') && (w[n] == 0 || w[n] == ' ' || w[n] == ','))
			return true;
	return false;
}

static int log_iommu_off(const struct host_root *h, const struct host_pci *p)
{
	_cleanup_free_ char *cmdline = NULL;
	const char *what, *off;
	char path[4096];
	int r;

	host_root_path(h, "sys", "kernel/iommu_groups", path, sizeof(path));
	r = h->sys_fd >= 0 ? file_exists_at(h->sys_fd, "kernel/iommu_groups") : 0;
	what = r > 0 ? "is empty" : "does not exist";
	if (h->proc_fd >= 0)
		(void)read_one_line_at(h->proc_fd, "cmdline", &cmdline);

	off = cmdline_iommu_off(cmdline);
	if (off)
		return log_error_errno(
			-ENODEV,
			"'%s' %s: the IOMMU is off because the kernel command line has '%s'. Remove it and reboot.",
			path, what, off);

	switch (platform_vendor(p)) {
	case 0x1022:
		return log_error_errno(
			-ENODEV,
			"'%s' %s: the IOMMU is off. Enable IOMMU (AMD-Vi) in the firmware setup, often under AMD CBS or NBIO options, and reboot.",
			path, what);
	case 0x8086:
		if (cmdline_has(cmdline, "intel_iommu=on"))
			return log_error_errno(
				-ENODEV,
				"'%s' %s: the IOMMU is off although the kernel command line has intel_iommu=on. Enable VT-d in the firmware setup and reboot.",
				path, what);
		return log_error_errno(
			-ENODEV,
			"'%s' %s: the IOMMU is off. Enable VT-d in the firmware setup; kernels built without CONFIG_INTEL_IOMMU_DEFAULT_ON also need intel_iommu=on on the kernel command line. Then reboot.",
			path, what);
	default:
		return log_error_errno(
			-ENODEV,
			"'%s' %s: the IOMMU is off. Enable it in the firmware setup (IOMMU on AMD, VT-d on Intel; Intel kernels built without CONFIG_INTEL_IOMMU_DEFAULT_ON also need intel_iommu=on) and reboot.",
			path, what);
	}
}

int verb_iommu(const struct cli *c)
{
	_cleanup_(host_root_close) struct host_root h = HOST_ROOT_NULL;
	_cleanup_(host_pci_done) struct host_pci p = {};
	char path[4096];
	int r;

	r = host_root_open(c->root, &h);
	if (r < 0)
		return log_error_errno(r, "Failed to open the host root '%s': %m", c->root);

	r = host_pci_probe(&h, &p);
	if (r == -EUCLEAN)
		return log_error_errno(
			r,
			"The IOMMU groups in '%s' disagree with the devices' iommu_group links (a device was added or removed while reading?); run again.",
			host_root_path(&h, "sys", "kernel/iommu_groups", path, sizeof(path)));
	if (r < 0)
		return log_error_errno(
			r, "Failed to read the PCI devices in '%s': %m",
			host_root_path(&h, "sys", "bus/pci/devices", path, sizeof(path)));
	r = host_pci_names(&p);
	if (r < 0)
		return log_error_errno(r, "Out of memory.");

	if (!p.iommu_enabled) {
		if (c->json)
			(void)print_json(&p);
		return log_iommu_off(&h, &p);
	}
	return c->json ? print_json(&p) : print_table(&p);
}
