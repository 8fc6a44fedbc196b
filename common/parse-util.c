/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "parse-util.h"

int safe_atou64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0 || end == s || *end != 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int safe_atou(const char *s, unsigned *ret)
{
	uint64_t v;
	int r = safe_atou64(s, &v);

	if (r < 0)
		return r;
	if (v > UINT_MAX)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}

int safe_atoi(const char *s, int *ret)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
		return -ERANGE;
	if (errno != 0 || end == s || *end != 0)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{ "", 0 },    { "B", 0 },    { "K", 10 },   { "KiB", 10 }, { "KB", 10 },
		{ "M", 20 },  { "MiB", 20 }, { "MB", 20 },  { "G", 30 },   { "GiB", 30 },
		{ "GB", 30 }, { "T", 40 },   { "TiB", 40 }, { "TB", 40 },
	};
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0 || end == s)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(units); i++) {
		if (strcasecmp(end, units[i].suffix) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return -ERANGE;
		*ret = (uint64_t)v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

void format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = { 'T', 'G', 'M', 'K' };
	static const unsigned shifts[] = { 40, 30, 20, 10 };

	for (size_t i = 0; i < ELEMENTSOF(units); i++) {
		uint64_t m = (uint64_t)1 << shifts[i];
		if (bytes >= m && bytes % m == 0) {
			snprintf(buf, size, "%" PRIu64 "%c", bytes / m, units[i]);
			return;
		}
	}
	snprintf(buf, size, "%" PRIu64, bytes);
}

static int parse_hex_field(const char *s, size_t len, unsigned max, unsigned *ret)
{
	unsigned v = 0;

	if (len == 0 || len > 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (!isxdigit(c))
			return -EINVAL;
		v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_pci_addr(const char *s, struct pci_addr *ret)
{
	const char *c1, *c2, *dot;
	unsigned dom = 0, bus, slot, fn;
	const char *p = s;
	int r;

	if (!s)
		return -EINVAL;
	c1 = strchr(s, ':');
	if (!c1)
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	if (c2) {
		r = parse_hex_field(s, (size_t)(c1 - s), 0xffff, &dom);
		if (r < 0)
			return r;
		if (c1 - s != 4)
			return -EINVAL;
		p = c1 + 1;
		c1 = c2;
	}
	dot = strchr(c1 + 1, '.');
	if (!dot || c1 - p != 2 || dot - c1 - 1 != 2 || strlen(dot + 1) != 1)
		return -EINVAL;
	r = parse_hex_field(p, 2, 0xff, &bus);
	if (r < 0)
		return r;
	r = parse_hex_field(c1 + 1, 2, 0x1f, &slot);
	if (r < 0)
		return r;
	r = parse_hex_field(dot + 1, 1, 7, &fn);
	if (r < 0)
		return r;
	*ret = (struct pci_addr){ .domain = (uint16_t)dom,
				  .bus = (uint8_t)bus,
				  .slot = (uint8_t)slot,
				  .function = (uint8_t)fn };
	return 0;
}

const char *format_pci_addr(const struct pci_addr *a, char buf[static PCI_ADDR_STRLEN])
{
	snprintf(buf, PCI_ADDR_STRLEN, "%04x:%02x:%02x.%x", (unsigned)a->domain, (unsigned)a->bus,
		 (unsigned)a->slot & 0x1fu, (unsigned)a->function & 7u);
	return buf;
}

bool pci_addr_same_slot(const struct pci_addr *a, const struct pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot;
}

int pci_addr_compare(const struct pci_addr *a, const struct pci_addr *b)
{
	uint32_t x = ((uint32_t)a->bus << 8) | ((uint32_t)a->slot << 3) | a->function;
	uint32_t y = ((uint32_t)b->bus << 8) | ((uint32_t)b->slot << 3) | b->function;

	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	return x < y ? -1 : x > y ? 1 : 0;
}

bool name_is_valid(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '_' && c != '-')
			return false;
	}
	return true;
}

int parse_cpu_list(const char *s, unsigned max_cpu, unsigned flags, unsigned **ret, size_t *ret_n)
{
	_cleanup_free_ unsigned *v = NULL;
	_cleanup_free_ unsigned char *seen = NULL;
	size_t n = 0, cap = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	seen = calloc(max_cpu ? max_cpu : 1, 1);
	if (!seen)
		return -ENOMEM;

	while (*p) {
		unsigned a, b;
		char *end;
		unsigned long x;

		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		x = strtoul(p, &end, 10);
		if (errno || x >= max_cpu)
			return -ERANGE;
		a = b = (unsigned)x;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			errno = 0;
			x = strtoul(p, &end, 10);
			if (errno || x >= max_cpu)
				return -ERANGE;
			b = (unsigned)x;
			p = end;
			if (b < a)
				return -EINVAL;
		}
		while (*p == ' ')
			p++;
		if (*p == ',') {
			p++;
			if (!*p)
				return -EINVAL;
		} else if (*p) {
			return -EINVAL;
		}
		for (unsigned c = a; c <= b; c++) {
			if (seen[c] && !(flags & CPU_LIST_ALLOW_DUPLICATES))
				return -EEXIST;
			seen[c] = 1;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				unsigned *t = realloc(v, ncap * sizeof(*v));
				if (!t)
					return -ENOMEM;
				v = t;
				cap = ncap;
			}
			v[n++] = c;
		}
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int format_cpu_list(const unsigned *cpus, size_t n, char **ret)
{
	size_t cap = n * 12 + 2, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	buf[0] = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
			j++;
		if (j > i)
			len += (size_t)snprintf(buf + len, cap - len, "%s%u-%u", len ? "," : "",
						cpus[i], cpus[j]);
		else
			len += (size_t)snprintf(buf + len, cap - len, "%s%u", len ? "," : "",
						cpus[i]);
		i = j + 1;
	}
	*ret = buf;
	return 0;
}

char *qemu_opt_escape(const char *s)
{
	size_t n = 0;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += *p == ',' ? 2 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	o = out;
	for (const char *p = s; *p; p++) {
		*o++ = *p;
		if (*p == ',')
			*o++ = ',';
	}
	*o = 0;
	return out;
}

char *strstrip(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = 0;
	return s;
}
