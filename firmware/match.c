/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Choosing a descriptor for a VM, as libvirt's qemuFirmwareMatchDomain does,
 * and, when none fits, saying why in words a user can act on.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware.h"
#include "macro.h"

/* Requirements a descriptor can fail, in the order reasons are printed. */
enum miss {
	MISS_INTERFACE = 1 << 0,
	MISS_FLASH = 1 << 1, /* UEFI without an NVRAM template (memory-mapped) */
	MISS_UEFI_VARS = 1 << 2,
	MISS_ARCH = 1 << 3,
	MISS_MACHINE = 1 << 4,
	MISS_SB = 1 << 5,
	MISS_NO_SB = 1 << 6,
	MISS_KEYS = 1 << 7,
	MISS_NO_KEYS = 1 << 8,
	MISS_SMM = 1 << 9,
	MISS_S3 = 1 << 10,
	MISS_S4 = 1 << 11,
};

/*
 * How far a descriptor is from fitting, to pick the candidates worth naming
 * in a message: a different kind of firmware (BIOS for UEFI, another
 * architecture) is far; lacking a feature the user asked for is further
 * than needing something the VM could be given (SMM, a q35 machine).
 */
static unsigned miss_weight(unsigned m)
{
	static const struct {
		unsigned bit, weight;
	} w[] = {
		{ MISS_INTERFACE, 100 }, { MISS_FLASH, 50 },  { MISS_ARCH, 50 },
		{ MISS_UEFI_VARS, 20 },	 { MISS_SB, 3 },      { MISS_NO_SB, 3 },
		{ MISS_KEYS, 3 },	 { MISS_NO_KEYS, 3 }, { MISS_MACHINE, 2 },
		{ MISS_SMM, 2 },	 { MISS_S3, 2 },      { MISS_S4, 2 },
	};
	unsigned sum = 0;

	for (size_t i = 0; i < ELEMENTSOF(w); i++)
		if (m & w[i].bit)
			sum += w[i].weight;
	return sum;
}

static bool has_arch(const struct firmware_desc *d, const char *arch)
{
	for (size_t i = 0; i < d->n_targets; i++)
		if (streq(d->targets[i].architecture, arch))
			return true;
	return false;
}

static bool has_machine(const struct firmware_desc *d, const char *arch, const char *machine)
{
	for (size_t i = 0; i < d->n_targets; i++) {
		if (!streq(d->targets[i].architecture, arch))
			continue;
		for (char **g = d->targets[i].machines; g && *g; g++)
			if (fnmatch(*g, machine, 0) == 0)
				return true;
	}
	return false;
}

/* The set of requirements d fails; 0 when it fits. */
static unsigned desc_check(const struct firmware_desc *d, const struct firmware_want *w)
{
	unsigned m = 0, f = d->features;

	if (!(d->interfaces & w->interface))
		m |= MISS_INTERFACE;
	/* gamevm gives a UEFI guest its own NVRAM; memory-mapped OVMF (SEV/TDX) has none */
	if ((w->interface & FW_INTERFACE_UEFI) && !d->flash)
		m |= MISS_FLASH;
	if (f & FW_FEATURE_HOST_UEFI_VARS)
		m |= MISS_UEFI_VARS;
	if (!has_arch(d, w->arch))
		m |= MISS_ARCH;
	else if (!has_machine(d, w->arch, w->machine))
		m |= MISS_MACHINE;
	if (w->secure_boot == 1 && !(f & FW_FEATURE_SECURE_BOOT))
		m |= MISS_SB;
	if (w->secure_boot == 0 && (f & FW_FEATURE_SECURE_BOOT))
		m |= MISS_NO_SB;
	if (w->enrolled_keys == 1 && !(f & FW_FEATURE_ENROLLED_KEYS))
		m |= MISS_KEYS;
	if (w->enrolled_keys == 0 && (f & FW_FEATURE_ENROLLED_KEYS))
		m |= MISS_NO_KEYS;
	if (!w->smm_available && (f & FW_FEATURE_REQUIRES_SMM))
		m |= MISS_SMM;
	if (w->need_s3 && !(f & FW_FEATURE_ACPI_S3))
		m |= MISS_S3;
	if (w->need_s4 && !(f & FW_FEATURE_ACPI_S4))
		m |= MISS_S4;
	return m;
}

static void print_globs(FILE *o, const struct firmware_desc *d, const char *arch)
{
	bool first = true;

	for (size_t i = 0; i < d->n_targets; i++) {
		if (!streq(d->targets[i].architecture, arch))
			continue;
		for (char **g = d->targets[i].machines; g && *g; g++) {
			fprintf(o, "%s%s", first ? "" : ", ", *g);
			first = false;
		}
	}
	if (first)
		fputs("no machine type", o);
}

static void print_archs(FILE *o, const struct firmware_desc *d)
{
	for (size_t i = 0; i < d->n_targets; i++)
		fprintf(o, "%s%s", i ? ", " : "", d->targets[i].architecture);
	if (d->n_targets == 0)
		fputs("no architecture", o);
}

static void print_reasons(FILE *o, const struct firmware_desc *d, const struct firmware_want *w,
			  unsigned m)
{
	bool first = true;

#define SEP() (fputs(first ? " " : " and ", o), first = false)
	fprintf(o, "'%s'", d->file);
	if (m & MISS_INTERFACE) {
		SEP();
		fprintf(o, "is not %s firmware",
			w->interface & FW_INTERFACE_UEFI ? "UEFI" : "BIOS");
	}
	if (m & MISS_FLASH) {
		SEP();
		fputs("is loaded with -bios and has no NVRAM template", o);
	}
	if (m & MISS_UEFI_VARS) {
		SEP();
		fputs("needs QEMU's host-side UEFI variable store (host-uefi-vars)", o);
	}
	if (m & MISS_ARCH) {
		SEP();
		fputs("is for ", o);
		print_archs(o, d);
		fprintf(o, ", not %s", w->arch);
	}
	if (m & MISS_MACHINE) {
		SEP();
		fputs("covers only ", o);
		print_globs(o, d, w->arch);
	}
	if (m & MISS_SB) {
		SEP();
		fputs("lacks secure-boot", o);
	}
	if (m & MISS_NO_SB) {
		SEP();
		fputs("has secure-boot", o);
	}
	if (m & MISS_KEYS) {
		SEP();
		fputs("has no enrolled-keys", o);
	}
	if (m & MISS_NO_KEYS) {
		SEP();
		fputs("has enrolled-keys", o);
	}
	if (m & MISS_SMM) {
		SEP();
		fputs("requires SMM", o);
	}
	if (m & MISS_S3) {
		SEP();
		fputs("lacks acpi-s3", o);
	}
	if (m & MISS_S4) {
		SEP();
		fputs("lacks acpi-s4", o);
	}
#undef SEP
}

#define PKG_HINT                                                                                   \
	"install the 'ovmf' package (Debian/Ubuntu) or 'edk2-ovmf' (Fedora), or give the firmware code and vars paths explicitly in the config"

/* What to do about each kind of miss; printed once per kind seen among the candidates. */
static void print_hints(FILE *o, const struct firmware_want *w, unsigned seen)
{
	bool pkg = seen &
		   (MISS_INTERFACE | MISS_FLASH | MISS_ARCH | MISS_SB | MISS_KEYS | MISS_UEFI_VARS);

	if (pkg && (w->interface & FW_INTERFACE_UEFI))
		fputs("; " PKG_HINT, o);
	else if (pkg)
		fputs("; install a firmware descriptor for SeaBIOS or give the firmware path explicitly in the config",
		      o);
	if (seen & MISS_MACHINE)
		fputs("; use a machine type the descriptors list (OVMF's Secure Boot builds are q35-only)",
		      o);
	if (seen & MISS_NO_SB)
		fputs("; every descriptor left does Secure Boot: turn Secure Boot on in the config, or unmask/install a build without it",
		      o);
	if (seen & MISS_NO_KEYS)
		fputs("; allow enrolled keys in the config, or install a firmware with an empty varstore",
		      o);
	if (seen & MISS_SMM)
		fputs("; Secure Boot builds need SMM to protect their variables: turn SMM on in the config (if it is on, KVM on this host cannot provide SMM)",
		      o);
	if (seen & (MISS_S3 | MISS_S4))
		fputs("; turn guest suspend (ACPI S3/S4) off in the config", o);
}

static void print_wanted(FILE *o, const struct firmware_want *w)
{
	const char *parts[5];
	size_t n = 0;

	if (w->secure_boot == 1)
		parts[n++] = w->enrolled_keys == 1 ? "with Secure Boot and enrolled keys"
						   : "with Secure Boot";
	else if (w->secure_boot == 0)
		parts[n++] = "without Secure Boot";
	else if (w->enrolled_keys == 1)
		parts[n++] = "with enrolled keys";
	if (w->enrolled_keys == 0 && w->secure_boot != 0)
		parts[n++] = "without enrolled keys";
	if (!w->smm_available)
		parts[n++] = "without SMM";
	if (w->need_s3 && w->need_s4)
		parts[n++] = "with ACPI S3 and S4";
	else if (w->need_s3 || w->need_s4)
		parts[n++] = w->need_s3 ? "with ACPI S3" : "with ACPI S4";

	fputs(w->interface & FW_INTERFACE_UEFI ? "UEFI" : "BIOS", o);
	for (size_t i = 0; i < n; i++)
		fprintf(o, "%s%s", i ? ", " : " ", parts[i]);
}

#define MAX_NAMED 3

static int explain(const struct firmware_list *l, const struct firmware_want *w, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	unsigned best = (unsigned)-1, seen = 0;
	size_t size = 0, named = 0, more = 0;
	FILE *o;

	o = open_memstream(&buf, &size);
	if (!o)
		return -ENOMEM;

	if (l->n_descs == 0) {
		fputs("no firmware descriptors found in /usr/share/qemu/firmware, /etc/qemu/firmware or the user's ~/.config/qemu/firmware",
		      o);
		if (w->interface & FW_INTERFACE_UEFI)
			fputs("; " PKG_HINT, o);
		else
			fputs("; install a firmware descriptor for SeaBIOS or give the firmware path explicitly in the config",
			      o);
		goto done;
	}

	for (size_t i = 0; i < l->n_descs; i++)
		best = MIN(best, miss_weight(desc_check(&l->descs[i], w)));

	fputs("no firmware descriptor offers ", o);
	print_wanted(o, w);
	fprintf(o, " for %s %s:", w->arch, w->machine);
	for (size_t i = 0; i < l->n_descs; i++) {
		unsigned m = desc_check(&l->descs[i], w);

		if (miss_weight(m) != best)
			continue;
		if (named == MAX_NAMED) {
			more++;
			continue;
		}
		fputs(named ? ", " : " ", o);
		print_reasons(o, &l->descs[i], w, m);
		seen |= m;
		named++;
	}
	if (more)
		fprintf(o, " (and %zu more)", more);
	print_hints(o, w, seen);
done:
	if (fclose(o) != 0 || !buf)
		return -ENOMEM;
	*ret = TAKE_PTR(buf);
	return 0;
}

int firmware_list_match(const struct firmware_list *l, const struct firmware_want *want,
			const struct firmware_desc **ret, char **ret_why)
{
	const struct firmware_desc *first = NULL;

	if (!l || !want || !want->arch || !want->machine || !ret)
		return -EINVAL;
	if (!(want->interface & (FW_INTERFACE_UEFI | FW_INTERFACE_BIOS)))
		return -EINVAL;

	for (size_t i = 0; i < l->n_descs; i++) {
		const struct firmware_desc *d = &l->descs[i];

		if (desc_check(d, want) != 0)
			continue;
		/* "Prefer": a later descriptor with keys beats an earlier one without. */
		if (want->enrolled_keys == -1 && !(d->features & FW_FEATURE_ENROLLED_KEYS)) {
			if (!first)
				first = d;
			continue;
		}
		*ret = d;
		return 0;
	}
	if (first) {
		*ret = first;
		return 0;
	}

	if (ret_why) {
		int r = explain(l, want, ret_why);
		if (r < 0)
			*ret_why = NULL;
	}
	return -ENOENT;
}
