/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "strv.h"
#include "vm-find.h"
#include "vm-load.h"

void vm_load_done(struct vm_load *l)
{
	if (!l)
		return;
	config_error_done(&l->err);
	config_free(l->c);
	host_root_close(&l->root);
	host_facts_done(&l->facts);
	host_qemu_done(&l->qemu);
	firmware_list_done(&l->fw);
	free(l->run_dir);
	free(l->state_dir);
	*l = (struct vm_load)VM_LOAD_NULL;
}

int vm_load(const struct cli *cl, struct vm_load *l)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int cache_fd = -1;
	const char *qemu_bin;
	int r;

	r = vm_config_find(cl, cl->args[0], &path);
	if (r < 0)
		return r;
	r = config_load(path, &l->c, &l->err);
	if (r < 0) {
		if (l->err.msg)
			return log_error_errno(r, "%s", l->err.msg);
		return log_error_errno(r, "Failed to load '%s': %m", path);
	}
	r = host_root_open(cl->root, &l->root);
	if (r < 0)
		return log_error_errno(r, "Failed to open host root '%s': %m", cl->root);
	r = host_facts_probe(&l->root, &l->facts);
	if (r >= 0)
		r = host_facts_qemu_user(
			&l->root, l->c->user ? l->c->user : CONFIG_DEFAULT_QEMU_USER, &l->facts);
	if (r >= 0)
		r = host_desktop_probe(&l->root, l->c, &l->facts.desktop);
	if (r < 0)
		return log_error_errno(r, "Failed to read the host under '%s': %m", cl->root);
	qemu_bin = l->c->qemu_binary ? l->c->qemu_binary : "qemu-system-x86_64";
	/* What QEMU said is kept in the run directory while the binary stays the same. */
	cache_fd = l->root.is_real ? open(cl->run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	r = host_qemu_probe_cached(&l->root, qemu_bin, cache_fd, &l->qemu);
	if (r < 0)
		return log_error_errno(r, "Failed to run '%s -version' under '%s': %m", qemu_bin,
				       cl->root);
	/* The user's own firmware descriptors count on the real host only. */
	r = firmware_list_load(l->root.root_fd, l->root.is_real ? getenv("XDG_CONFIG_HOME") : NULL,
			       l->root.is_real ? getenv("HOME") : NULL, &l->fw);
	if (r < 0)
		return log_error_errno(r, "Failed to read the firmware descriptors under '%s': %m",
				       cl->root);
	strv_foreach (s, l->fw.skipped)
		log_debug("Firmware descriptor skipped: %s", *s);

	if (asprintf(&l->run_dir, "%s/%s", cl->run_dir, l->c->name) < 0 ||
	    asprintf(&l->state_dir, "%s/%s", cl->state_dir, l->c->name) < 0) {
		l->run_dir = l->state_dir = NULL;
		return log_error_errno(-ENOMEM, "Out of memory.");
	}
	return 0;
}

int vm_load_plan(struct vm_load *l, struct plan *ret)
{
	_cleanup_(plan_diags_done) struct plan_diags diags = {};
	struct vm_paths paths = { .run_dir = l->run_dir, .state_dir = l->state_dir };
	int r;

	r = plan_build(l->c, &l->facts, &l->qemu, &l->fw, &paths, ret, &diags);
	for (size_t i = 0; i < diags.n; i++)
		log_internal(diags.v[i].level, 0, "%s", diags.v[i].msg);
	if (r == -EINVAL)
		return log_error_errno(
			r,
			"%s: not starting QEMU with this config on this host; see the errors above.",
			l->c->path);
	if (r < 0)
		return log_error_errno(r, "Failed to plan the VM: %m");
	return 0;
}
