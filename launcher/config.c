/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Config file loading: a line reader in front of libinih, the key handler,
 * the message helpers and the struct's lifetime. Value syntaxes live in
 * config-keys.c, rules across keys in config-check.c.
 *
 * Debian's libinih is built with INI_HANDLER_LINENO=0 and INI_MAX_LINE=200,
 * so the handler never learns the line number and long lines would be cut
 * silently. We feed inih through ini_parse_stream() with our own reader: it
 * counts lines, refuses lines that would not fit, and parses section headers
 * itself (inih does not call the handler for them, so an empty unknown
 * section would otherwise pass). The reader stops the parse (returns NULL)
 * after the first error, so there is exactly one message.
 *
 * Relative paths in path keys are resolved against the directory of the
 * config file (config_load() only; config_load_string() has no file and
 * refuses them), and a config file that anyone but root can write is
 * refused when gamevm runs as root (config-owner.c).
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-internal.h"
#include "parse-util.h"

#define CONFIG_FILE_MAX (1u << 20)

static int config_parser_failv(struct config_parser *p, unsigned line, const char *label,
			       const char *key, const char *fmt, va_list ap) _printf_(5, 0);
static int config_parser_failv(struct config_parser *p, unsigned line, const char *label,
			       const char *key, const char *fmt, va_list ap)
{
	_cleanup_free_ char *what = NULL, *where = NULL;

	if (p->r < 0)
		return p->r;
	if (vasprintf(&what, fmt, ap) < 0)
		return p->r = -ENOMEM;
	if (line > 0 && asprintf(&where, "%s:%u", p->path, line) < 0)
		return p->r = -ENOMEM;
	if (label && key)
		p->r = asprintf(&p->msg, "%s: [%s] %s: %s", where ?: p->path, label, key, what);
	else if (label)
		p->r = asprintf(&p->msg, "%s: [%s]: %s", where ?: p->path, label, what);
	else
		p->r = asprintf(&p->msg, "%s: %s", where ?: p->path, what);
	if (p->r < 0) {
		p->msg = NULL;
		return p->r = -ENOMEM;
	}
	return p->r = -EINVAL;
}

int config_parser_fail(struct config_parser *p, unsigned line, const char *label, const char *key,
		       const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = config_parser_failv(p, line, label, key, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- message helpers ------------------------------------------------- */

int config_why(char **ret_why, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	*ret_why = s;
	return -EINVAL;
}

/* Optimal string alignment distance: a swapped pair of letters counts once. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	size_t d[33][33];

	if (n > 32 || m > 32)
		return SIZE_MAX;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t v = MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
			v = MIN(v, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				v = MIN(v, d[i - 2][j - 2] + 1);
			d[i][j] = v;
		}
	return d[n][m];
}

const char *config_suggest(const char *word, const char *const *candidates, size_t n)
{
	char norm[33];
	const char *w = word, *best = NULL;
	size_t best_d = SIZE_MAX, len;

	/* People write QEMU's spelling: hv-relaxed, stimer_direct. */
	if (strncasecmp(w, "hv-", 3) == 0 || strncasecmp(w, "hv_", 3) == 0)
		w += 3;
	len = strlen(w);
	if (len == 0 || len >= sizeof(norm))
		return NULL;
	for (size_t i = 0; i <= len; i++)
		norm[i] = w[i] == '_' ? '-' : w[i];

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(norm, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	if (!best)
		return NULL;
	len = strlen(best);
	if (best_d <= (len <= 4 ? 1u : len <= 8 ? 2u : 3u) && best_d < len)
		return best;
	return NULL;
}

/* ---- defaults ---------------------------------------------------------- */

static int config_new(const char *path, struct vm_config **ret)
{
	struct vm_config *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	c->machine = strdup("q35");
	c->qemu_binary = strdup("qemu-system-x86_64");
	c->cpu_model = strdup("host");
	if (!c->path || !c->machine || !c->qemu_binary || !c->cpu_model) {
		config_free(c);
		return -ENOMEM;
	}
	c->accel = ACCEL_KVM;
	c->restart_limit = 3;
	c->single_gpu_timeout = 10;
	c->single_gpu_end_sessions = true;
	c->single_gpu_consoles = true;
	c->inhibit_sleep = TRISTATE_AUTO;
	c->hugepages = HUGEPAGES_NONE;
	c->memory_node = -1;
	c->hyperv.enabled = true;
	for (int f = 0; f < _HV_FLAG_MAX; f++)
		c->hyperv.flags[f] = TRISTATE_AUTO;
	c->hyperv.spinlocks = 8191;
	c->firmware = FIRMWARE_UEFI;
	c->secure_boot = true;
	c->enrolled_keys = TRISTATE_AUTO;
	c->smm = TRISTATE_AUTO;
	c->tpm = TPM_CRB;
	c->clock_base = CLOCK_BASE_LOCALTIME;
	c->rtc_catchup = true;
	c->pit_delay = true;
	c->hypervclock = true;
	c->watchdog = WATCHDOG_ITCO;
	c->watchdog_action = WATCHDOG_ACTION_RESET;
	c->usb_controller = true;
	c->tune_governor = true;
	c->tune_cstates = true;
	c->tune_irq_affinity = true;
	c->tune_workqueues = true;
	c->tune_cpusets = true;
	c->thp_defrag = THP_DEFRAG_KEEP;
	config_desktop_defaults(c);
	*ret = c;
	return 0;
}

static void disk_defaults(struct vm_disk *d)
{
	d->media = DISK_MEDIA_DISK;
	d->format = DISK_FORMAT_RAW;
	d->bus = DISK_BUS_VIRTIO_BLK;
	d->cache = DISK_CACHE_NONE;
	d->aio = DISK_AIO_NATIVE;
	d->discard = DISK_DISCARD_UNMAP;
	d->detect_zeroes = TRISTATE_AUTO;
}

static void pci_defaults(struct vm_pci *d)
{
	d->rombar = true;
	d->managed = true;
}

static void net_defaults(struct vm_net *n)
{
	n->mode = NET_USER;
	n->model = NET_MODEL_VIRTIO;
}

static void hook_defaults(struct vm_hook *h)
{
	h->when = HOOK_START;
	h->timeout_s = 10;
}

/* ---- named sections ---------------------------------------------------- */

static const char *named_section_name(const struct vm_config *c, enum section_kind s, size_t i)
{
	return s == SECTION_DISK   ? c->disks[i].name
	       : s == SECTION_PCI  ? c->pci[i].name
	       : s == SECTION_HOOK ? c->hooks[i].name
				   : c->nets[i].name;
}

static unsigned named_section_line(const struct vm_config *c, enum section_kind s, size_t i)
{
	return s == SECTION_DISK   ? c->disks[i].line
	       : s == SECTION_PCI  ? c->pci[i].line
	       : s == SECTION_HOOK ? c->hooks[i].line
				   : c->nets[i].line;
}

static size_t named_section_count(const struct vm_config *c, enum section_kind s)
{
	return s == SECTION_DISK   ? c->n_disks
	       : s == SECTION_PCI  ? c->n_pci
	       : s == SECTION_HOOK ? c->n_hooks
				   : c->n_nets;
}

int config_named_section_add(struct vm_config *c, enum section_kind s, const char *name,
			     unsigned line, size_t *ret_index)
{
	_cleanup_free_ char *n = strdup(name);
	size_t i;

	if (!n)
		return -ENOMEM;
	switch (s) {
	case SECTION_DISK: {
		struct vm_disk *v = realloc(c->disks, (c->n_disks + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->disks = v;
		i = c->n_disks++;
		v[i] = (struct vm_disk){ .name = TAKE_PTR(n), .line = line };
		disk_defaults(&v[i]);
		break;
	}
	case SECTION_PCI: {
		struct vm_pci *v = realloc(c->pci, (c->n_pci + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->pci = v;
		i = c->n_pci++;
		v[i] = (struct vm_pci){ .name = TAKE_PTR(n), .line = line };
		pci_defaults(&v[i]);
		break;
	}
	case SECTION_HOOK: {
		struct vm_hook *v = realloc(c->hooks, (c->n_hooks + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->hooks = v;
		i = c->n_hooks++;
		v[i] = (struct vm_hook){ .name = TAKE_PTR(n), .line = line };
		hook_defaults(&v[i]);
		break;
	}
	default: {
		struct vm_net *v = realloc(c->nets, (c->n_nets + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->nets = v;
		i = c->n_nets++;
		v[i] = (struct vm_net){ .name = TAKE_PTR(n), .line = line };
		net_defaults(&v[i]);
		break;
	}
	}
	*ret_index = i;
	return 0;
}

static void *section_object(struct config_parser *p)
{
	switch (p->section) {
	case SECTION_DISK:
		return &p->c->disks[p->index];
	case SECTION_PCI:
		return &p->c->pci[p->index];
	case SECTION_NET:
		return &p->c->nets[p->index];
	case SECTION_HOOK:
		return &p->c->hooks[p->index];
	default:
		return p->c;
	}
}

/* ---- the reader -------------------------------------------------------- */

static int sections_expected(char **ret)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		return -ENOMEM;
	for (int i = SECTION_NONE + 1; i < _SECTION_MAX; i++)
		fprintf(f, "%s[%s%s]",
			i == SECTION_NONE + 1	? ""
			: i + 1 == _SECTION_MAX ? " or "
						: ", ",
			section_kind_to_string((enum section_kind)i),
			section_is_named((enum section_kind)i) ? " NAME" : "");
	if (fclose(f) != 0) {
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

static int unknown_section(struct config_parser *p, const char *inner, const char *kind,
			   const char *name)
{
	const char *cands[_SECTION_MAX];
	_cleanup_free_ char *expected = NULL;
	const char *s;
	size_t n = 0;
	int r;

	for (int i = SECTION_NONE + 1; i < _SECTION_MAX; i++)
		cands[n++] = section_kind_to_string((enum section_kind)i);
	r = sections_expected(&expected);
	if (r < 0)
		return p->r = r;
	s = config_suggest(kind, cands, n);
	if (!s)
		return config_parser_fail(p, p->line, inner, NULL, "unknown section; expected %s",
					  expected);
	if (section_is_named(section_kind_from_string(s)))
		return config_parser_fail(p, p->line, inner, NULL,
					  "unknown section; expected %s; did you mean '[%s %s]'?",
					  expected, s, *name ? name : "NAME");
	return config_parser_fail(p, p->line, inner, NULL,
				  "unknown section; expected %s; did you mean '[%s]'?", expected,
				  s);
}

/* Parses "[kind]" or "[kind NAME]" (line is left-stripped) and enters it. */
static int reader_section(struct config_parser *p, const char *line)
{
	_cleanup_free_ char *inner = NULL;
	const char *close = strchr(line, ']'), *rest;
	char *name, *label;
	enum section_kind s;
	int r;

	if (!close)
		return config_parser_fail(
			p, p->line, NULL, NULL,
			"'%s': missing ']'; expected a section header like [cpu] or [disk system]",
			line);
	for (rest = close + 1; *rest == ' ' || *rest == '\t'; rest++)
		;
	if (*rest && *rest != ';' && *rest != '#')
		return config_parser_fail(
			p, p->line, NULL, NULL,
			"'%s': text after ']'; expected only a section header on this line", line);
	inner = strndup(line + 1, (size_t)(close - line - 1));
	if (!inner)
		return p->r = -ENOMEM;
	name = strstrip(inner);
	memmove(inner, name, strlen(name) + 1);
	name = inner + strcspn(inner, " \t");
	if (*name) {
		*name++ = 0;
		name = strstrip(name);
	}

	s = section_kind_from_string(inner);
	if (s == SECTION_NONE) {
		_cleanup_free_ char *shown = NULL;
		if (asprintf(&shown, "%s%s%s", inner, *name ? " " : "", name) < 0)
			return p->r = -ENOMEM;
		return unknown_section(p, shown, inner, name);
	}

	if (!section_is_named(s)) {
		if (*name)
			return config_parser_fail(p, p->line, NULL, NULL,
						  "'[%s %s]': [%s] takes no name; expected [%s]",
						  inner, name, inner, inner);
		if (p->plain_line[s])
			return config_parser_fail(
				p, p->line, inner, NULL,
				"section appears twice (first on line %u); expected all its keys in one [%s] section",
				p->plain_line[s], inner);
		p->plain_line[s] = p->line;
		label = strdup(inner);
		if (!label)
			return p->r = -ENOMEM;
	} else {
		size_t n = named_section_count(p->c, s);

		if (!*name)
			return config_parser_fail(
				p, p->line, inner, NULL,
				"section needs a name; expected [%s NAME], e.g. [%s %s]", inner,
				inner,
				s == SECTION_DISK   ? "system"
				: s == SECTION_PCI  ? "gpu"
				: s == SECTION_HOOK ? "monitor"
						    : "lan");
		if (asprintf(&label, "%s %s", inner, name) < 0)
			return p->r = -ENOMEM;
		if (!name_is_valid(name)) {
			r = config_parser_fail(
				p, p->line, label, NULL,
				"'%s' is not a valid name; expected 1 to 32 characters from A-Z a-z 0-9 _ -",
				name);
			free(label);
			return r;
		}
		for (size_t i = 0; i < n; i++)
			if (streq(named_section_name(p->c, s, i), name)) {
				r = config_parser_fail(
					p, p->line, label, NULL,
					"name used twice (first on line %u); expected a different name for each [%s NAME]",
					named_section_line(p->c, s, i), inner);
				free(label);
				return r;
			}
		if (n >= CONFIG_MAX_SECTIONS) {
			r = config_parser_fail(p, p->line, label, NULL,
					       "more than %u [%s NAME] sections; expected fewer",
					       CONFIG_MAX_SECTIONS, inner);
			free(label);
			return r;
		}
		r = config_named_section_add(p->c, s, name, p->line, &p->index);
		if (r < 0) {
			free(label);
			return p->r = r;
		}
	}
	free(p->label);
	p->label = label;
	p->section = s;
	return 0;
}

/*
 * inih's fgets-style reader. Hands inih one line at a time, left-stripped:
 * inih would treat an indented line after a key as a continuation of that
 * key's value (INI_ALLOW_MULTILINE), which nobody writing this file means.
 */
static char *reader(char *str, int num, void *stream)
{
	struct config_parser *p = stream;
	const char *start, *nl, *s;
	size_t len, limit = num > 1 ? (size_t)num - 1 : 0;

	if (p->r < 0 || p->pos >= p->len)
		return NULL;
	start = p->buf + p->pos;
	nl = memchr(start, '\n', p->len - p->pos);
	len = nl ? (size_t)(nl - start) : p->len - p->pos;
	p->pos += len + (nl ? 1 : 0);
	p->line++;
	if (len > 0 && start[len - 1] == '\r')
		len--;

	if (len > limit) {
		config_parser_fail(
			p, p->line, NULL, NULL,
			"line longer than %zu bytes (%zu bytes); expected shorter lines (libinih's limit): split long [qemu] extra values over several 'extra =' lines",
			limit, len);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)start[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			config_parser_fail(
				p, p->line, NULL, NULL,
				"control character 0x%02x at column %zu; expected plain text", ch,
				i + 1);
			return NULL;
		}
	}
	if (p->line == 1 && len >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
		start += 3;
		len -= 3;
	}
	while (len > 0 && (*start == ' ' || *start == '\t')) {
		start++;
		len--;
	}
	memcpy(str, start, len);
	str[len] = 0;

	if (str[0] == '[') {
		if (reader_section(p, str) < 0)
			return NULL;
	} else if (str[0] && str[0] != ';' && str[0] != '#') {
		/* inih's own rule: the first '=' or ':' before an inline comment */
		for (s = str; *s && *s != '=' && *s != ':'; s++)
			if (*s == ';' && s > str && (s[-1] == ' ' || s[-1] == '\t'))
				break;
		if (*s != '=' && *s != ':') {
			config_parser_fail(
				p, p->line, NULL, NULL,
				"'%s': expected 'key = value', a [section] header or a comment",
				str);
			return NULL;
		}
	}
	return str;
}

/* ---- the handler ------------------------------------------------------- */

static int key_lines_add(struct vm_config *c, const char *section, const char *key, unsigned line)
{
	struct config_key_line *v;
	char *s = strdup(section), *k = strdup(key);

	v = s && k ? realloc(c->key_lines, (c->n_key_lines + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(s);
		free(k);
		return -ENOMEM;
	}
	c->key_lines = v;
	v[c->n_key_lines++] = (struct config_key_line){ .section = s, .key = k, .line = line };
	return 0;
}

static int unknown_key(struct config_parser *p, const char *name)
{
	const char *cands[64] = { 0 }; /* only [0, n) is read; GCC 12 cannot tell */
	size_t n = 0;
	const struct config_key *k;
	_cleanup_free_ char *list = NULL;
	size_t list_len = 0;
	FILE *f;
	const char *s;

	if (strpbrk(name, " \t"))
		return config_parser_fail(
			p, p->line, p->label, name,
			"key names have no spaces; expected 'key = value' (is the '=' missing?)");

	for (size_t i = 0; (k = config_key_at(i)); i++)
		if (k->section == p->section && n < ELEMENTSOF(cands))
			cands[n++] = k->name;
	s = config_suggest(name, cands, n);
	if (s)
		return config_parser_fail(p, p->line, p->label, name,
					  "unknown key; did you mean '%s'?", s);

	for (size_t i = 0; (k = config_key_at(i)); i++)
		if (streq(k->name, name) && k->section != p->section)
			return config_parser_fail(
				p, p->line, p->label, name,
				"unknown key in this section; expected it in [%s%s]",
				section_kind_to_string(k->section),
				section_is_named(k->section) ? " NAME" : "");

	f = open_memstream(&list, &list_len);
	if (!f)
		return p->r = -ENOMEM;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", cands[i]);
	if (fclose(f) != 0)
		return p->r = -ENOMEM;
	return config_parser_fail(p, p->line, p->label, name, "unknown key; expected %s", list);
}

static bool has_hash_comment(const char *value)
{
	for (const char *s = strchr(value, '#'); s; s = strchr(s + 1, '#'))
		if (s > value && (s[-1] == ' ' || s[-1] == '\t'))
			return true;
	return false;
}

/* True when the relative path s has a ".." component. */
static bool path_has_dotdot(const char *s)
{
	for (const char *p = s; (p = strstr(p, "..")); p += 2)
		if ((p == s || p[-1] == '/') && (p[2] == '/' || p[2] == 0))
			return true;
	return false;
}

/*
 * A relative value of a path key names a file beside the config file, never
 * one in gamevm's working directory (/ under systemd, anywhere from a
 * shell). Sets *ret to base_dir/value, or to NULL when the value is used as
 * written (absolute, not a path key, or a program name without '/').
 */
static int resolve_path(struct config_parser *p, const struct config_key *k, const char *value,
			char **ret)
{
	const char *v = value, *sep;
	size_t n;

	*ret = NULL;
	if (!(k->flags & (KEY_PATH | KEY_PROGRAM)) || value[0] == '/')
		return 0;
	if ((k->flags & KEY_PROGRAM) && !strchr(value, '/'))
		return 0;
	if (value[0] == '~')
		return config_parser_fail(
			p, p->line, p->label, k->name,
			"'%s' starts with '~', which gamevm does not expand; expected an absolute path, or a path relative to the config file's directory",
			value);
	if (!p->base_dir)
		return config_parser_fail(
			p, p->line, p->label, k->name,
			"'%s' is a relative path; expected an absolute path (starting with '/')",
			value);
	if (path_has_dotdot(value))
		return config_parser_fail(
			p, p->line, p->label, k->name,
			"'%s' has a '..' component; expected a path below the config file's directory (%s) or an absolute path, without '..' components",
			value, p->base_dir);
	while (v[0] == '.' && v[1] == '/')
		for (v += 2; *v == '/'; v++)
			;
	n = strlen(p->base_dir);
	sep = n > 0 && p->base_dir[n - 1] == '/' ? "" : "/";
	if (asprintf(ret, "%s%s%s", p->base_dir, sep, v) < 0) {
		*ret = NULL;
		return p->r = -ENOMEM;
	}
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parser *p = user;
	const struct config_key *k;
	_cleanup_free_ char *why = NULL, *expect = NULL, *resolved = NULL;
	int r;

	/* inih's section string is the raw header; the reader already parsed it. */
	(void)section;
	if (p->r < 0)
		return 0;
	if (p->section == SECTION_NONE) {
		config_parser_fail(
			p, p->line, NULL, NULL,
			"'%s' is outside any section; expected it below a [section] header such as [vm]",
			name);
		return 0;
	}
	if (!*name) {
		config_parser_fail(p, p->line, p->label, NULL,
				   "line has no key name; expected 'key = value'");
		return 0;
	}
	k = config_key_find(p->section, name);
	if (!k) {
		unknown_key(p, name);
		return 0;
	}
	if (!(k->flags & KEY_REPEATABLE)) {
		unsigned first = config_key_line(p->c, p->label, name);
		if (first) {
			config_parser_fail(
				p, p->line, p->label, name,
				"set twice (first on line %u); expected each key once per section",
				first);
			return 0;
		}
	}
	if (!*value) {
		r = config_key_expect(k, &expect);
		if (r < 0)
			p->r = r;
		else
			config_parser_fail(p, p->line, p->label, name, "no value; expected %s",
					   expect);
		return 0;
	}

	if (resolve_path(p, k, value, &resolved) < 0)
		return 0;
	r = k->parse(k, section_object(p), resolved ?: value, &why);
	if (r == -EINVAL)
		config_parser_fail(p, p->line, p->label, name, "%s%s%s", why,
				   has_hash_comment(value)
					   ? "; note that inline comments start with ';', not '#'"
					   : "",
				   (value[0] == '"' || value[0] == '\'')
					   ? "; write values without quotes"
					   : "");
	else if (r < 0)
		p->r = r;
	else if (has_hash_comment(value))
		/* Valid, but almost surely "value  # note" that inih kept whole. */
		config_parser_fail(
			p, p->line, p->label, name,
			"'%s' contains ' #', which is not a comment after a value; expected the value alone (inline comments start with ';': 'key = value ; note')",
			value);
	else if ((r = key_lines_add(p->c, p->label, name, p->line)) < 0)
		p->r = r;
	return p->r < 0 ? 0 : 1;
}

/* ---- loading ----------------------------------------------------------- */

static int error_set(struct config_error *err, char *msg, int r)
{
	if (!err) {
		free(msg);
		return r;
	}
	free(err->msg);
	err->msg = msg ?: strdup(r == -ENOMEM ? "out of memory" : "invalid config");
	return r;
}

static int config_load_buffer(const char *path, const char *base_dir, const char *buf, size_t len,
			      struct vm_config **ret, struct config_error *err)
{
	struct config_parser p = { .path = path, .base_dir = base_dir, .buf = buf, .len = len };
	int r;

	r = config_new(path, &p.c);
	if (r < 0)
		return error_set(err, NULL, r);

	r = ini_parse_stream(reader, &p, handler, &p);
	if (p.r >= 0 && r == -2)
		p.r = -ENOMEM;
	else if (p.r >= 0 && r != 0)
		config_parser_fail(&p, r > 0 ? (unsigned)r : 0, NULL, NULL,
				   "cannot parse this line");
	if (p.r >= 0)
		config_check(&p);

	free(p.label);
	if (p.r < 0) {
		config_free(p.c);
		return error_set(err, p.msg, p.r);
	}
	*ret = p.c;
	return 0;
}

int config_load_string(const char *path, const char *text, struct vm_config **ret,
		       struct config_error *err)
{
	return config_load_buffer(path, NULL, text, strlen(text), ret, err);
}

/* The absolute directory of the config file, or NULL (relative paths are then refused). */
static int config_dir(const char *path, char **ret)
{
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(path, '/');

	*ret = NULL;
	dir = !slash	      ? strdup(".")
	      : slash == path ? strdup("/")
			      : strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	*ret = realpath(dir, NULL);
	if (!*ret && errno == ENOMEM)
		return -ENOMEM;
	return 0;
}

int config_load(const char *path, struct vm_config **ret, struct config_error *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *buf = NULL, *base_dir = NULL;
	struct stat st;
	size_t len;
	char *msg = NULL;
	const char *nul;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = NEG_ERRNO();
		if (asprintf(&msg, "cannot open '%s': %s", path, strerror(-r)) < 0)
			msg = NULL;
		return error_set(err, msg, r);
	}
	if (fstat(fileno(f), &st) < 0) {
		r = NEG_ERRNO();
		if (asprintf(&msg, "cannot read '%s': %s", path, strerror(-r)) < 0)
			msg = NULL;
		return error_set(err, msg, r);
	}
	/* Root acts on what the file says: nobody else may be able to change it. */
	if (geteuid() == 0) {
		r = config_file_check_owner(path, &st, config_sudo_uid(), &msg);
		if (r < 0)
			return error_set(err, msg, r);
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf)
		return error_set(err, NULL, -ENOMEM);
	len = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f)) {
		r = NEG_ERRNO();
		if (asprintf(&msg, "cannot read '%s': %s", path, strerror(-r)) < 0)
			msg = NULL;
		return error_set(err, msg, r);
	}
	if (len > CONFIG_FILE_MAX) {
		if (asprintf(&msg, "%s: file is larger than %u bytes; expected a config file", path,
			     CONFIG_FILE_MAX) < 0)
			msg = NULL;
		return error_set(err, msg, -EFBIG);
	}
	/* A NUL would end the text early for inih; say where it is instead. */
	nul = memchr(buf, 0, len);
	if (nul) {
		unsigned line = 1;
		for (const char *s = buf; s < nul; s++)
			line += *s == '\n';
		if (asprintf(&msg, "%s:%u: NUL byte; expected a text file", path, line) < 0)
			msg = NULL;
		return error_set(err, msg, -EINVAL);
	}
	r = config_dir(path, &base_dir);
	if (r < 0)
		return error_set(err, NULL, r);
	return config_load_buffer(path, base_dir, buf, len, ret, err);
}

void config_error_done(struct config_error *e)
{
	if (!e)
		return;
	free(e->msg);
	e->msg = NULL;
}

unsigned config_key_line(const struct vm_config *c, const char *section, const char *key)
{
	if (!c)
		return 0;
	for (size_t i = 0; i < c->n_key_lines; i++)
		if (streq(c->key_lines[i].section, section) && streq(c->key_lines[i].key, key))
			return c->key_lines[i].line;
	return 0;
}

static void smbios_free(struct vm_smbios *s)
{
	char **fields[] = {
		&s->bios_vendor,	&s->bios_version,	    &s->bios_date,
		&s->bios_release,	&s->system_manufacturer,    &s->system_product,
		&s->system_version,	&s->system_serial,	    &s->system_sku,
		&s->system_family,	&s->baseboard_manufacturer, &s->baseboard_product,
		&s->baseboard_version,	&s->baseboard_serial,	    &s->baseboard_asset,
		&s->baseboard_location, &s->chassis_manufacturer,   &s->chassis_version,
		&s->chassis_serial,	&s->chassis_asset,	    &s->chassis_sku,
	};

	for (size_t i = 0; i < ELEMENTSOF(fields); i++)
		free(*fields[i]);
}

void config_free(struct vm_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->name);
	free(c->machine);
	free(c->qemu_binary);
	free(c->user);
	free(c->uuid);
	free(c->cpu_model);
	for (size_t i = 0; i < c->n_features; i++)
		free(c->features[i].name);
	free(c->features);
	free(c->pin);
	free(c->housekeeping);
	free(c->hyperv.vendor_id);
	free(c->firmware_code);
	free(c->firmware_vars);
	smbios_free(&c->smbios);
	free(c->serial_path);
	free(c->vnc);
	for (size_t i = 0; i < c->n_disks; i++) {
		free(c->disks[i].name);
		free(c->disks[i].path);
		free(c->disks[i].serial);
	}
	free(c->disks);
	for (size_t i = 0; i < c->n_pci; i++) {
		free(c->pci[i].name);
		free(c->pci[i].romfile);
	}
	free(c->pci);
	for (size_t i = 0; i < c->n_hooks; i++) {
		free(c->hooks[i].name);
		for (char **a = c->hooks[i].argv; a && *a; a++)
			free(*a);
		free(c->hooks[i].argv);
	}
	free(c->hooks);
	for (size_t i = 0; i < c->n_nets; i++) {
		free(c->nets[i].name);
		free(c->nets[i].bridge);
		free(c->nets[i].tap);
		free(c->nets[i].mac);
	}
	free(c->nets);
	if (c->extra_args)
		for (char **a = c->extra_args; *a; a++)
			free(*a);
	free(c->extra_args);
	for (char **a = c->single_gpu_stop; a && *a; a++)
		free(*a);
	free(c->single_gpu_stop);
	config_desktop_free(c);
	for (size_t i = 0; i < c->n_key_lines; i++) {
		free(c->key_lines[i].section);
		free(c->key_lines[i].key);
	}
	free(c->key_lines);
	free(c);
}
