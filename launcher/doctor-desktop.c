/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Doctor checks of the desktop sections: [input] evdev devices.
 */
#include <string.h>

#include "doctor.h"

#define LIST_FIX                                                                                   \
	"plug the device in, or fix the path; 'ls -l /dev/input/by-id/' lists the connected devices"

static int check_input(struct doctor *d)
{
	const struct host_desktop *hd = &d->f->desktop;
	int r;

	for (size_t i = 0; i < hd->n_evdevs; i++) {
		const struct host_evdev *e = &hd->evdevs[i];
		const char *src = e->path + 1; /* "dev/input/...": relative, like other sources */

		if (e->err)
			r = doctor_add(d, "input.evdev", DOCTOR_FAIL, src, LIST_FIX,
				       "[input] evdev '%s' cannot be opened: %s", e->path,
				       strerror(-e->err));
		else if (!e->is_chr || e->major != HOST_INPUT_MAJOR)
			r = doctor_add(
				d, "input.evdev", DOCTOR_FAIL, src, LIST_FIX,
				"[input] evdev '%s' (/dev/%s) is not an input device (character device major %d)",
				e->path, e->node, HOST_INPUT_MAJOR);
		else
			r = doctor_add(d, "input.evdev", DOCTOR_PASS, src, NULL,
				       "[input] evdev '%s' is /dev/%s, input device %u:%u", e->path,
				       e->node, e->major, e->minor);
		if (r < 0)
			return r;
	}
	return 0;
}

int doctor_check_desktop(struct doctor *d)
{
	if (!d->c)
		return 0;
	return check_input(d);
}
