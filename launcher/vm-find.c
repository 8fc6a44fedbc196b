/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "vm-find.h"

#define VM_FIND_DIRS 2

/* The directories to look in, in order; entries may be NULL (no XDG dir). */
static int config_dirs(const struct cli *cl, char *ret[static VM_FIND_DIRS])
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *user = NULL, *sys;

	int r = 0;

	if (!isempty(xdg) && xdg[0] == '/')
		r = asprintf(&user, "%s/gamevm", xdg);
	else if (!isempty(home) && home[0] == '/')
		r = asprintf(&user, "%s/.config/gamevm", home);
	if (r < 0)
		return -ENOMEM;
	sys = strdup(cl->config_dir);
	if (!sys) {
		free(user);
		return -ENOMEM;
	}
	/* A user's own VMs first; root's are the system's. */
	if (geteuid() != 0) {
		ret[0] = user;
		ret[1] = sys;
	} else {
		ret[0] = sys;
		ret[1] = user;
	}
	return 0;
}

static void config_dirs_free(char *dirs[static VM_FIND_DIRS])
{
	for (size_t i = 0; i < VM_FIND_DIRS; i++)
		free(dirs[i]);
}

static bool arg_is_path(const char *arg)
{
	size_t n = strlen(arg);

	return strchr(arg, '/') || (n > 5 && streq(arg + n - 5, ".conf"));
}

int vm_config_find(const struct cli *cl, const char *arg, char **ret)
{
	char *dirs[VM_FIND_DIRS] = {};
	_cleanup_free_ char *tried = NULL;
	size_t tried_len = 0;
	FILE *t;
	int r;

	if (arg_is_path(arg)) {
		*ret = strdup(arg);
		return *ret ? 0 : log_error_errno(-ENOMEM, "Out of memory.");
	}
	if (!name_is_valid(arg))
		return log_error_errno(
			-EINVAL,
			"'%s' is neither a config file (a path, or a name ending in .conf) nor a VM name (1 to 32 of A-Z a-z 0-9 _ -).",
			arg);
	r = config_dirs(cl, dirs);
	if (r < 0)
		return log_error_errno(r, "Out of memory.");
	t = open_memstream(&tried, &tried_len);
	for (size_t i = 0; i < VM_FIND_DIRS; i++) {
		char *p;

		if (!dirs[i])
			continue;
		if (asprintf(&p, "%s/%s.conf", dirs[i], arg) < 0) {
			r = -ENOMEM;
			break;
		}
		if (access(p, F_OK) == 0) {
			*ret = p;
			config_dirs_free(dirs);
			if (t)
				fclose(t);
			return 0;
		}
		if (t)
			fprintf(t, "%s'%s'", ftell(t) > 0 ? ", " : "", p);
		free(p);
	}
	config_dirs_free(dirs);
	if (t)
		fclose(t);
	if (r < 0)
		return log_error_errno(r, "Out of memory.");
	return log_error_errno(
		-ENOENT,
		"No VM '%s': none of %s exists. Write one (examples/win11.conf is a start), or name the config file itself.",
		arg, strna(tried));
}

void vm_defined_free(struct vm_defined *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
	}
	free(v);
}

int vm_configs_list(const struct cli *cl, struct vm_defined **ret, size_t *ret_n)
{
	char *dirs[VM_FIND_DIRS] = {};
	struct vm_defined *v = NULL;
	size_t n = 0;
	int r;

	r = config_dirs(cl, dirs);
	if (r < 0)
		return r;
	for (size_t i = 0; i < VM_FIND_DIRS && r >= 0; i++) {
		DIR *d = dirs[i] ? opendir(dirs[i]) : NULL;

		for (struct dirent *de; d && r >= 0 && (de = readdir(d));) {
			size_t len = strlen(de->d_name);
			_cleanup_free_ char *name = NULL;
			bool seen = false;
			struct vm_defined *nv;

			if (len <= 5 || !streq(de->d_name + len - 5, ".conf"))
				continue;
			name = strndup(de->d_name, len - 5);
			if (!name) {
				r = -ENOMEM;
				break;
			}
			if (!name_is_valid(name))
				continue;
			for (size_t k = 0; k < n; k++)
				seen = seen || streq(v[k].name, name);
			if (seen)
				continue; /* shadowed by the directory before */
			nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			v[n].name = TAKE_PTR(name);
			if (asprintf(&v[n].path, "%s/%s", dirs[i], de->d_name) < 0) {
				free(v[n].name);
				r = -ENOMEM;
				break;
			}
			n++;
		}
		if (d)
			closedir(d);
	}
	config_dirs_free(dirs);
	if (r < 0) {
		vm_defined_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
