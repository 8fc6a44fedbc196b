/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pure parsers for the value syntaxes gamevm accepts (config file, sysfs
 * attributes, command line). No I/O; each returns 0 or -EINVAL/-ERANGE and
 * sets ret_* only on success. Never use atoi/strtol directly elsewhere.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int safe_atou64(const char *s, uint64_t *ret);
int safe_atou(const char *s, unsigned *ret);
int safe_atoi(const char *s, int *ret);

/* "yes/no/on/off/true/false/1/0" */
int parse_bool(const char *s, bool *ret);

/*
 * Sizes with binary suffixes: "64G", "64GiB", "512M", "2048K", "4096" (bytes),
 * case-insensitive; "1.5G" is rejected (be exact about RAM).
 */
int parse_size(const char *s, uint64_t *ret);

/* Formats bytes as the largest exact unit: 68719476736 -> "64G". */
void format_size(uint64_t bytes, char *buf, size_t size);

struct pci_addr {
	uint16_t domain;
	uint8_t bus;
	uint8_t slot;	  /* 0..31 */
	uint8_t function; /* 0..7 */
};

/* "0000:0f:00.0" or the short "0f:00.0" (domain 0). Hex, lower or upper case. */
int parse_pci_addr(const char *s, struct pci_addr *ret);
/* Always the long lower-case form "0000:0f:00.0"; buf must hold PCI_ADDR_STRLEN bytes. */
#define PCI_ADDR_STRLEN 16
const char *format_pci_addr(const struct pci_addr *a, char buf[static PCI_ADDR_STRLEN]);
bool pci_addr_same_slot(const struct pci_addr *a, const struct pci_addr *b);
int pci_addr_compare(const struct pci_addr *a, const struct pci_addr *b);

/* VM and section names: [A-Za-z0-9_-]{1,32} */
#define NAME_MAX_LEN 32
bool name_is_valid(const char *s);

/*
 * CPU lists "0-7,16-23" or "0,16,1,17". parse_cpu_list keeps the written
 * order (a vCPU pin list is ordered) and rejects empty items, reversed
 * ranges, CPUs >= max_cpu and, unless CPU_LIST_ALLOW_DUPLICATES is given,
 * duplicates (-EEXIST). A pin list may name a host CPU twice: overcommit is
 * legal, and the plan warns about it. *ret is malloc'd.
 */
enum {
	CPU_LIST_ALLOW_DUPLICATES = 1 << 0,
};
int parse_cpu_list(const char *s, unsigned max_cpu, unsigned flags, unsigned **ret, size_t *ret_n);
/* Formats a sorted set compactly: {0,1,2,16} -> "0-2,16". Caller frees. */
int format_cpu_list(const unsigned *cpus, size_t n, char **ret);

/*
 * Escapes a value for QEMU's option syntax (key=value,key=value): a comma is
 * doubled. Returns a malloc'd string or NULL on OOM.
 */
char *qemu_opt_escape(const char *s);

/* Strips leading and trailing whitespace in place, returns s. */
char *strstrip(char *s);
