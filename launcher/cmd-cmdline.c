/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm cmdline CONF: the QEMU command line gamevm would run for CONF on
 * this host (or on the host under --root), after every check of the plan.
 * Prints it shell-quoted, one option with its value per line, or with
 * --json as a JSON array of strings. Touches nothing on the host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "config.h"
#include "firmware.h"
#include "host.h"
#include "hostroot.h"
#include "log.h"
#include "macro.h"
#include "plan.h"
#include "strv.h"

static void print_diags(const struct plan_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_internal(d->v[i].level, 0, "%s", d->v[i].msg);
}

static int print_json(char **argv)
{
	struct json_object *arr = json_object_new_array();

	if (!arr)
		return log_error_errno(-ENOMEM, "Out of memory.");
	strv_foreach (p, argv)
		if (json_object_array_add(arr, json_object_new_string(*p)) < 0) {
			json_object_put(arr);
			return log_error_errno(-ENOMEM, "Out of memory.");
		}
	puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}

/* "-opt value" pairs share a line; a line per option, pasteable into a shell. */
static int print_shell(char **argv)
{
	for (char **p = argv; *p; p++) {
		_cleanup_free_ char *q = shell_quote(*p), *v = NULL;

		if (!q)
			return log_error_errno(-ENOMEM, "Out of memory.");
		if (p != argv && (*p)[0] == '-' && p[1] && p[1][0] != '-') {
			v = shell_quote(p[1]);
			if (!v)
				return log_error_errno(-ENOMEM, "Out of memory.");
			p++;
		}
		printf("%s%s%s%s%s\n", p == argv ? "" : "    ", q, v ? " " : "", v ? v : "",
		       p[1] ? " \\" : "");
	}
	return 0;
}

int verb_cmdline(const struct cli *cl)
{
	_cleanup_(config_error_done) struct config_error err = { 0 };
	_cleanup_(host_root_close) struct host_root root = HOST_ROOT_NULL;
	_cleanup_(host_facts_done) struct host_facts facts = { 0 };
	_cleanup_(host_qemu_done) struct host_qemu qemu = { 0 };
	_cleanup_(firmware_list_done) struct firmware_list fw = { 0 };
	_cleanup_(plan_diags_done) struct plan_diags diags = { 0 };
	_cleanup_(plan_done) struct plan plan = { 0 };
	_cleanup_(strv_done) struct strv argv = { 0 };
	_cleanup_free_ char *run_dir = NULL, *state_dir = NULL;
	struct vm_config *c = NULL;
	struct vm_paths paths;
	bool real_root;
	int r;

	r = config_load(cl->args[0], &c, &err);
	if (r < 0) {
		if (err.msg)
			return log_error_errno(r, "%s", err.msg);
		return log_error_errno(r, "Failed to load '%s': %m", cl->args[0]);
	}

	r = host_root_open(cl->root, &root);
	if (r < 0) {
		log_error_errno(r, "Failed to open host root '%s': %m", cl->root);
		goto out;
	}
	r = host_facts_probe(&root, &facts);
	if (r < 0) {
		log_error_errno(r, "Failed to read the host under '%s': %m", cl->root);
		goto out;
	}
	r = host_qemu_probe(&root, c->qemu_binary ? c->qemu_binary : "qemu-system-x86_64", &qemu);
	if (r < 0) {
		log_error_errno(r, "Failed to run '%s -version' under '%s': %m",
				c->qemu_binary ? c->qemu_binary : "qemu-system-x86_64", cl->root);
		goto out;
	}
	/* The user's own firmware descriptors count on the real host only. */
	real_root = streq(cl->root, "/");
	r = firmware_list_load(root.root_fd, real_root ? getenv("XDG_CONFIG_HOME") : NULL,
			       real_root ? getenv("HOME") : NULL, &fw);
	if (r < 0) {
		log_error_errno(r, "Failed to read the firmware descriptors under '%s': %m",
				cl->root);
		goto out;
	}
	strv_foreach (s, fw.skipped)
		log_debug("Firmware descriptor skipped: %s", *s);

	if (asprintf(&run_dir, "%s/%s", cl->run_dir, c->name) < 0 ||
	    asprintf(&state_dir, "%s/%s", cl->state_dir, c->name) < 0) {
		r = log_error_errno(-ENOMEM, "Out of memory.");
		goto out;
	}
	paths = (struct vm_paths){ .run_dir = run_dir, .state_dir = state_dir };

	r = plan_build(c, &facts, &qemu, &fw, &paths, &plan, &diags);
	print_diags(&diags);
	if (r == -EINVAL) {
		log_error(
			"%s: not starting QEMU with this config on this host; see the errors above.",
			c->path);
		goto out;
	}
	if (r < 0) {
		log_error_errno(r, "Failed to plan the VM: %m");
		goto out;
	}

	r = qemu_argv_build(c, &plan, &qemu, &argv);
	if (r < 0) {
		log_error_errno(r, "Failed to build the QEMU command line: %m");
		goto out;
	}
	r = cl->json ? print_json(argv.v) : print_shell(argv.v);
out:
	config_free(c);
	return r;
}
