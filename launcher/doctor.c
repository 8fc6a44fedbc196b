/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The doctor's frame (doctor.h): results, the fixed order of the checks,
 * and the plan's own diagnostics as checks of their own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "doctor.h"
#include "fileio.h"
#include "macro.h"

static const char *const status_names[] = {
	[DOCTOR_SKIP] = "skip",
	[DOCTOR_PASS] = "pass",
	[DOCTOR_WARN] = "warn",
	[DOCTOR_FAIL] = "fail",
};

const char *doctor_status_to_string(enum doctor_status s)
{
	return (size_t)s < ELEMENTSOF(status_names) ? status_names[s] : "?";
}

int doctor_add(struct doctor *d, const char *id, enum doctor_status status, const char *source,
	       const char *fix, const char *fmt, ...)
{
	struct doctor_result res = { .id = id, .status = status };
	va_list ap;
	int r;

	if (d->n_results == d->n_alloc) {
		size_t n = d->n_alloc ? 2 * d->n_alloc : 64;
		struct doctor_result *v = realloc(d->results, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->results = v;
		d->n_alloc = n;
	}
	va_start(ap, fmt);
	r = vasprintf(&res.info, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	res.source = source ? strdup(source) : NULL;
	res.fix = fix ? strdup(fix) : NULL;
	if ((source && !res.source) || (fix && !res.fix)) {
		free(res.info);
		free(res.source);
		free(res.fix);
		return -ENOMEM;
	}
	d->results[d->n_results++] = res;
	return 0;
}

void doctor_done(struct doctor *d)
{
	for (size_t i = 0; i < d->n_results; i++) {
		free(d->results[i].info);
		free(d->results[i].source);
		free(d->results[i].fix);
	}
	free(d->results);
	d->results = NULL;
	d->n_results = d->n_alloc = 0;
}

enum doctor_status doctor_worst(const struct doctor *d)
{
	enum doctor_status w = DOCTOR_SKIP;

	for (size_t i = 0; i < d->n_results; i++)
		if (d->results[i].status > w)
			w = d->results[i].status;
	return w;
}

const struct doctor_result *doctor_find(const struct doctor *d, const char *id)
{
	for (size_t i = 0; i < d->n_results; i++)
		if (streq(d->results[i].id, id))
			return &d->results[i];
	return NULL;
}

/*
 * The plan checks the config against the host (groups, pools, ROM files,
 * the accelerator...): its errors are failures here, its warnings
 * warnings, with the config line as the source. Notices are left to
 * 'gamevm cmdline'.
 */
static int doctor_plan_diags(struct doctor *d)
{
	size_t n = 0;
	int r;

	if (!d->diags || !d->c)
		return 0;
	for (size_t i = 0; i < d->diags->n; i++) {
		const struct plan_diag *g = &d->diags->v[i];

		if (g->level > LOG_WARNING)
			continue;
		r = doctor_add(d, "config.plan", g->level <= LOG_ERR ? DOCTOR_FAIL : DOCTOR_WARN,
			       d->c->path, NULL, "%s", g->msg);
		if (r < 0)
			return r;
		n++;
	}
	if (n == 0)
		return doctor_add(d, "config.plan", DOCTOR_PASS, d->c->path, NULL,
				  "VM '%s' plans on this host without errors or warnings",
				  d->c->name);
	return 0;
}

/* [hook NAME] programs: there and executable (under the host's root). */
static int doctor_hooks(struct doctor *d)
{
	for (size_t i = 0; d->c && i < d->c->n_hooks; i++) {
		const struct vm_hook *h = &d->c->hooks[i];
		const char *prog = h->argv[0];
		int r;

		int e = faccessat(d->h->root_fd, prog + strspn(prog, "/"), X_OK, 0) == 0 ? 0
											 : errno;

		if (e == 0)
			r = doctor_add(d, "config.hook", DOCTOR_PASS, prog, NULL,
				       "[hook %s] runs '%s' at %s", h->name, prog,
				       hook_when_to_string(h->when));
		else
			r = doctor_add(
				d, "config.hook",
				h->required && h->when == HOOK_START ? DOCTOR_FAIL : DOCTOR_WARN,
				prog, "install it, or fix the path in command",
				"[hook %s] command: '%s' is not an executable program here (%m)",
				h->name, prog);
		if (r < 0)
			return r;
	}
	return 0;
}

int doctor_run(struct doctor *d)
{
	int (*const checks[])(struct doctor *) = {
		doctor_plan_diags,     doctor_check_kvm,    doctor_check_iommu,
		doctor_check_devices,  doctor_check_memory, doctor_check_cpu,
		doctor_check_firmware, doctor_hooks,	    doctor_check_desktop,
	};

	for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
		int r = checks[i](d);

		if (r < 0)
			return r;
	}
	return 0;
}

bool doctor_cmdline_find(const struct doctor *d, const char *key, char **ret_value)
{
	const char *s = d->f->kernel_cmdline, *found = NULL;
	size_t kl = strlen(key), found_len = 0;

	/* The kernel takes the last of a repeated parameter. */
	while (s && *s) {
		size_t n;

		s += strspn(s, " \t\n");
		n = strcspn(s, " \t\n");
		if (n >= kl && strncmp(s, key, kl) == 0 && (n == kl || s[kl] == '=')) {
			found = s;
			found_len = n;
		}
		s += n;
	}
	if (!found)
		return false;
	if (!ret_value)
		return true;
	*ret_value = found_len == kl ? strdup("") : strndup(found + kl + 1, found_len - kl - 1);
	return *ret_value != NULL;
}

bool doctor_cpu_flag(const struct doctor *d, const char *flag)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;
	size_t fl = strlen(flag);

	if (d->h->proc_fd < 0 ||
	    read_full_file_at(d->h->proc_fd, "cpuinfo", 8u << 20, &text, NULL) < 0)
		return false;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p;

		if (!startswith(line, "flags"))
			continue;
		p = strchr(line, ':');
		while (p && (p = strstr(p, flag))) {
			if (p[-1] == ' ' && (p[fl] == ' ' || p[fl] == 0))
				return true;
			p += fl;
		}
		return false; /* the first CPU speaks for all */
	}
	return false;
}
