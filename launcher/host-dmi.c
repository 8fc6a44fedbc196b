/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DMI strings from sys/class/dmi/id/NAME, for SMBIOS "mode = host". A field is
 * NULL when its file is absent, unreadable (serials and the UUID are
 * root-only) or blank: there is nothing to copy. Firmware pads many strings
 * with trailing blanks; they are cut off.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"

static const struct {
	const char *file;
	size_t offset;
} dmi_fields[] = {
	{ "bios_vendor", offsetof(struct host_dmi, bios_vendor) },
	{ "bios_version", offsetof(struct host_dmi, bios_version) },
	{ "bios_date", offsetof(struct host_dmi, bios_date) },
	{ "bios_release", offsetof(struct host_dmi, bios_release) },
	{ "sys_vendor", offsetof(struct host_dmi, sys_vendor) },
	{ "product_name", offsetof(struct host_dmi, product_name) },
	{ "product_version", offsetof(struct host_dmi, product_version) },
	{ "product_serial", offsetof(struct host_dmi, product_serial) },
	{ "product_sku", offsetof(struct host_dmi, product_sku) },
	{ "product_family", offsetof(struct host_dmi, product_family) },
	{ "product_uuid", offsetof(struct host_dmi, product_uuid) },
	{ "board_vendor", offsetof(struct host_dmi, board_vendor) },
	{ "board_name", offsetof(struct host_dmi, board_name) },
	{ "board_version", offsetof(struct host_dmi, board_version) },
	{ "board_serial", offsetof(struct host_dmi, board_serial) },
	{ "board_asset_tag", offsetof(struct host_dmi, board_asset_tag) },
	{ "chassis_vendor", offsetof(struct host_dmi, chassis_vendor) },
	{ "chassis_version", offsetof(struct host_dmi, chassis_version) },
	{ "chassis_serial", offsetof(struct host_dmi, chassis_serial) },
	{ "chassis_asset_tag", offsetof(struct host_dmi, chassis_asset_tag) },
};

static char **dmi_field(struct host_dmi *d, size_t i)
{
	return (char **)((char *)d + dmi_fields[i].offset);
}

void host_dmi_done(struct host_dmi *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < ELEMENTSOF(dmi_fields); i++)
		free(*dmi_field(d, i));
	*d = (struct host_dmi){};
}

int host_dmi_probe(const struct host_root *h, struct host_dmi *ret)
{
	_cleanup_(host_dmi_done) struct host_dmi d = {};

	if (h->sys_fd < 0) {
		*ret = d;
		return 0;
	}
	d.acpi_msdm = faccessat(h->sys_fd, "firmware/acpi/tables/MSDM", F_OK, 0) == 0;
	d.acpi_slic = faccessat(h->sys_fd, "firmware/acpi/tables/SLIC", F_OK, 0) == 0;
	for (size_t i = 0; i < ELEMENTSOF(dmi_fields); i++) {
		char path[64], *v = NULL;
		size_t len;
		int r;

		snprintf(path, sizeof(path), "class/dmi/id/%s", dmi_fields[i].file);
		r = read_one_line_at(h->sys_fd, path, &v);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue; /* absent or root-only: not known */
		len = strlen(v);
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r'))
			v[--len] = 0;
		if (len == 0) {
			free(v);
			continue;
		}
		*dmi_field(&d, i) = v;
	}
	*ret = d;
	d = (struct host_dmi){};
	return 0;
}
