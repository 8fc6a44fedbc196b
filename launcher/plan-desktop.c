/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plan steps of the desktop sections: [input] (evdev devices, virtio input).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "plan-internal.h"

#define LIST_HINT "'ls -l /dev/input/by-id/' lists the connected devices"

/*
 * QEMU takes the grab-toggle keys from the device that reads them (a
 * keyboard), and grab_all=on there moves every other input-linux device
 * with it: one toggle switches keyboard and mouse together. udev names a
 * keyboard's link "...-event-kbd"; without one the first device is taken.
 */
static bool looks_like_keyboard(const char *path)
{
	const char *base = strrchr(path, '/');

	return strstr(base ? base : path, "kbd") != NULL;
}

static int check_evdev(const struct vm_config *c, const struct host_evdev *e, struct plan_diags *d)
{
	const char *base = strrchr(e->node ? e->node : "", '/');

	switch (e->err) {
	case 0:
		break;
	case -ENOENT:
		return plan_diag_key(d, LOG_ERR, c, "input", "evdev", 0,
				     "'%s' does not exist (is the device plugged in?); " LIST_HINT,
				     e->path);
	case -EXDEV:
		return plan_diag_key(
			d, LOG_ERR, c, "input", "evdev", 0,
			"'%s' is a link that leads out of /dev; name the device's link under /dev/input/by-id/ instead (" LIST_HINT
			")",
			e->path);
	default:
		return plan_diag_key(d, LOG_ERR, c, "input", "evdev", 0,
				     "cannot look at '%s': %s; " LIST_HINT, e->path,
				     strerror(-e->err));
	}
	if (!e->is_chr || e->major != HOST_INPUT_MAJOR || !base || strncmp(base, "/event", 6))
		return plan_diag_key(
			d, LOG_ERR, c, "input", "evdev", 0,
			"'%s'%s%s%s is not an input event device (a character device of major %d named eventN), which is all QEMU's input-linux reads; " LIST_HINT,
			e->path, streq(e->path + 5, e->node) ? "" : " (/dev/",
			streq(e->path + 5, e->node) ? "" : e->node,
			streq(e->path + 5, e->node) ? "" : ")", HOST_INPUT_MAJOR);
	return 0;
}

/* Two names of one node: QEMU would grab it twice, and the second grab fails. */
static int check_same_node(const struct vm_config *c, const struct host_desktop *hd, size_t i,
			   struct plan_diags *d)
{
	for (size_t j = 0; j < i; j++)
		if (hd->evdevs[j].node && streq(hd->evdevs[j].node, hd->evdevs[i].node))
			return plan_diag_key(
				d, LOG_ERR, c, "input", "evdev", 0,
				"'%s' and '%s' are the same device (/dev/%s); list each device once",
				hd->evdevs[j].path, hd->evdevs[i].path, hd->evdevs[i].node);
	return 0;
}

int plan_desktop(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		 struct plan_diags *d)
{
	const struct host_desktop *hd = &f->desktop;
	ssize_t kbd = -1;
	int r;

	if (c->input.n_evdev == 0)
		return 0;
	p->evdevs = calloc(c->input.n_evdev, sizeof(*p->evdevs));
	if (!p->evdevs)
		return -ENOMEM;
	for (size_t i = 0; i < c->input.n_evdev; i++) {
		const char *path = c->input.evdev[i];
		const struct host_evdev *e = i < hd->n_evdevs ? &hd->evdevs[i] : NULL;

		p->evdevs[p->n_evdevs++].path = path;
		if (kbd < 0 && looks_like_keyboard(path))
			kbd = (ssize_t)i;
		if (strncmp(path, "/dev/input/by-id/", 17) != 0 &&
		    strncmp(path, "/dev/input/by-path/", 19) != 0) {
			r = plan_diag_key(
				d, LOG_NOTICE, c, "input", "evdev", 0,
				"'%s' is not a stable name: eventN numbers change when devices are plugged in another order or the host boots again; prefer its link under /dev/input/by-id/ (" LIST_HINT
				")",
				path);
			if (r < 0)
				return r;
		}
		if (!e)
			continue; /* not probed: nothing to say about the host */
		r = check_evdev(c, e, d);
		if (r >= 0 && e->node)
			r = check_same_node(c, hd, i, d);
		if (r < 0)
			return r;
		if (e->node) {
			p->evdevs[i].node = strdup(e->node);
			if (!p->evdevs[i].node)
				return -ENOMEM;
		}
	}
	p->evdevs[kbd >= 0 ? (size_t)kbd : 0].keyboard = true;
	return 0;
}

void plan_desktop_ports(const struct vm_config *c, struct plan *p, unsigned *n)
{
	if (c->input.virtio) {
		p->input_kbd_port = ++*n;
		p->input_mouse_port = ++*n;
	}
}

void plan_desktop_done(struct plan *p)
{
	for (size_t i = 0; i < p->n_evdevs; i++)
		free(p->evdevs[i].node);
	free(p->evdevs);
	p->evdevs = NULL;
	p->n_evdevs = 0;
}
