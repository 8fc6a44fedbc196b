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
#include "log.h"
#include "macro.h"
#include "plan.h"
#include "strv.h"
#include "vm-load.h"

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
	_cleanup_(vm_load_done) struct vm_load l = VM_LOAD_NULL;
	_cleanup_(plan_done) struct plan plan = { 0 };
	_cleanup_(strv_done) struct strv argv = { 0 };
	int r;

	r = vm_load(cl, &l);
	if (r < 0)
		return r;
	r = vm_load_plan(&l, &plan);
	if (r < 0)
		return r;
	r = qemu_argv_build(l.c, &plan, &l.qemu, &argv);
	if (r < 0)
		return log_error_errno(r, "Failed to build the QEMU command line: %m");
	return cl->json ? print_json(argv.v) : print_shell(argv.v);
}
