/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm list [--json]: every VM defined by a config file (vm-find.h:
 * --config-dir, then the user's $XDG_CONFIG_HOME/gamevm) and every VM with a
 * directory under --run-dir, running (its lock is held) or not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cli.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "vm-dirs.h"
#include "vm-find.h"

struct vm_entry {
	char *name;
	char *config; /* its config file, NULL when none is defined under that name */
	bool running;
	pid_t pid;
	enum vm_state state;
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vm_entry *)a)->name, ((const struct vm_entry *)b)->name);
}

static void entries_free(struct vm_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].config);
	}
	free(v);
}

static int probe(int dir_fd, const char *name, struct vm_entry *e)
{
	struct vm_status st = { 0 };
	int fd, r;

	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NEG_ERRNO();
	r = vm_lock_probe(fd, &e->pid);
	e->running = r > 0;
	e->state = _VM_STATE_INVALID;
	if (e->running && vm_status_read(fd, &st, NULL) >= 0)
		e->state = st.state;
	vm_status_done(&st);
	close(fd);
	return r < 0 ? r : 0;
}

/* The defined VMs: their config on an entry of the run dir, or an entry of their own. */
static int add_defined(const struct cli *cl, struct vm_entry **v, size_t *n)
{
	struct vm_defined *def = NULL;
	size_t n_def = 0;
	int r;

	r = vm_configs_list(cl, &def, &n_def);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_def && r >= 0; i++) {
		struct vm_entry *e = NULL, *nv;

		for (size_t k = 0; k < *n && !e; k++)
			if (streq((*v)[k].name, def[i].name))
				e = &(*v)[k];
		if (!e) {
			nv = realloc(*v, (*n + 1) * sizeof(**v));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*v = nv;
			e = &(*v)[(*n)++];
			*e = (struct vm_entry){ .name = TAKE_PTR(def[i].name),
						.state = _VM_STATE_INVALID };
		}
		e->config = TAKE_PTR(def[i].path);
	}
	vm_defined_free(def, n_def);
	return r;
}

int verb_list(const struct cli *cl)
{
	struct vm_entry *v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(cl->run_dir);
	if (!d && errno != ENOENT)
		return log_error_errno(NEG_ERRNO(), "Failed to open '%s': %m", cl->run_dir);
	while (d && (de = readdir(d))) {
		struct vm_entry e = { 0 }, *nv;

		if (!name_is_valid(de->d_name))
			continue;
		if (probe(dirfd(d), de->d_name, &e) < 0)
			continue; /* not a directory, or unreadable: not a VM of ours */
		e.name = strdup(de->d_name);
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!e.name || !nv) {
			free(e.name);
			if (nv)
				v = nv;
			r = log_error_errno(-ENOMEM, "Out of memory.");
			goto out;
		}
		v = nv;
		v[n++] = e;
	}
	r = add_defined(cl, &v, &n);
	if (r < 0) {
		r = log_error_errno(r, "Out of memory.");
		goto out;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), entry_cmp);

	if (cl->json) {
		struct json_object *arr = json_object_new_array();

		if (!arr) {
			r = log_error_errno(-ENOMEM, "Out of memory.");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			if (!o)
				break;
			json_object_object_add(o, "name", json_object_new_string(v[i].name));
			json_object_object_add(o, "running", json_object_new_boolean(v[i].running));
			json_object_object_add(
				o, "state",
				json_object_new_string(!v[i].running ? "stopped"
						       : v[i].state >= 0
							       ? vm_state_to_string(v[i].state)
							       : "starting"));
			json_object_object_add(o, "gamevm_pid",
					       v[i].pid > 0 ? json_object_new_int(v[i].pid) : NULL);
			json_object_object_add(o, "config",
					       v[i].config ? json_object_new_string(v[i].config)
							   : NULL);
			json_object_array_add(arr, o);
		}
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	} else if (n == 0) {
		printf("No VMs: no config in %s or the user's ~/.config/gamevm, nothing under %s.\n",
		       cl->config_dir, cl->run_dir);
	} else {
		printf("%-32s %-9s %-8s %s\n", "NAME", "STATE", "PID", "CONFIG");
		for (size_t i = 0; i < n; i++) {
			char pid[16] = "-";

			if (v[i].running && v[i].pid > 0)
				snprintf(pid, sizeof(pid), "%d", (int)v[i].pid);
			printf("%-32s %-9s %-8s %s\n", v[i].name,
			       !v[i].running	 ? "stopped"
			       : v[i].state >= 0 ? vm_state_to_string(v[i].state)
						 : "starting",
			       pid, v[i].config ? v[i].config : "-");
		}
	}
out:
	if (d)
		closedir(d);
	entries_free(v, n);
	return r;
}
