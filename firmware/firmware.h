/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU firmware descriptors (docs/interop/firmware.json in QEMU): discovery
 * with the spec's precedence and matching against what a VM needs.
 *
 * Search order (later directories override earlier ones by file basename;
 * a zero-length file masks a lower-priority one of the same name; the union
 * is sorted by basename and the first match wins):
 *   1. <root>/usr/share/qemu/firmware
 *   2. <root>/etc/qemu/firmware
 *   3. $XDG_CONFIG_HOME/qemu/firmware (default $HOME/.config/qemu/firmware),
 *      taken relative to the root as well
 *
 * Library code: returns 0 or negative errno, never prints.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum firmware_feature {
	FW_FEATURE_ACPI_S3 = 1 << 0,
	FW_FEATURE_ACPI_S4 = 1 << 1,
	FW_FEATURE_AMD_SEV = 1 << 2,
	FW_FEATURE_AMD_SEV_ES = 1 << 3,
	FW_FEATURE_ENROLLED_KEYS = 1 << 4,
	FW_FEATURE_REQUIRES_SMM = 1 << 5,
	FW_FEATURE_SECURE_BOOT = 1 << 6,
	FW_FEATURE_VERBOSE_DYNAMIC = 1 << 7,
	FW_FEATURE_VERBOSE_STATIC = 1 << 8,
	FW_FEATURE_AMD_SEV_SNP = 1 << 9,
	FW_FEATURE_INTEL_TDX = 1 << 10,
};

enum firmware_interface {
	FW_INTERFACE_UEFI = 1 << 0,
	FW_INTERFACE_BIOS = 1 << 1,
};

struct firmware_target {
	char *architecture; /* "x86_64" */
	char **machines;    /* fnmatch globs, "pc-q35-*" */
};

struct firmware_desc {
	char *file;	    /* the descriptor's path, as found (for messages) */
	char *name;	    /* its basename, the precedence key */
	char *description;
	unsigned interfaces; /* enum firmware_interface bits */
	bool flash;	     /* mapping.device == "flash" and mode split */
	char *code;	     /* executable.filename (flash) or filename (memory) */
	char *code_format;   /* "raw" / "qcow2" */
	char *vars_template; /* nvram-template.filename, NULL for memory/stateless */
	char *vars_format;
	struct firmware_target *targets;
	size_t n_targets;
	unsigned features; /* enum firmware_feature bits */
};

struct firmware_list {
	struct firmware_desc *descs; /* in precedence order */
	size_t n_descs;
	char **skipped; /* "file: reason" for descriptors that failed to parse */
};

/*
 * Parses one descriptor from a buffer. -EINVAL on bad JSON or missing
 * required members; -EOPNOTSUPP for mappings gamevm cannot use (kernel,
 * combined or stateless flash).
 */
int firmware_desc_parse(const char *file, const char *json, struct firmware_desc *ret);
void firmware_desc_done(struct firmware_desc *d);

/* root_fd: the host root; xdg_config_home may be NULL (then $HOME/.config). */
int firmware_list_load(int root_fd, const char *xdg_config_home, const char *home,
		       struct firmware_list *ret);
void firmware_list_done(struct firmware_list *l);

struct firmware_want {
	unsigned interface;	 /* FW_INTERFACE_UEFI */
	const char *arch;	 /* "x86_64" */
	const char *machine;	 /* concrete: "pc-q35-7.2" */
	int secure_boot;	 /* 1 must, 0 must not, -1 don't care */
	int enrolled_keys;	 /* 1 must, 0 must not, -1 prefer enrolled */
	int smm_available;	 /* 0: reject requires-smm firmware */
	bool need_s3, need_s4;
};

/*
 * First descriptor in precedence order that satisfies want. With
 * enrolled_keys == -1, one with enrolled keys is preferred over an earlier
 * one without. -ENOENT when none matches; *ret_why then says, for the
 * closest candidate, which requirement failed (malloc'd, may be NULL).
 */
int firmware_list_match(const struct firmware_list *l, const struct firmware_want *want,
			const struct firmware_desc **ret, char **ret_why);

const char *firmware_feature_to_string(enum firmware_feature f);
