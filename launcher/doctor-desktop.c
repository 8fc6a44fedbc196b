/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Doctor checks of the desktop sections: [input] evdev devices,
 * [looking-glass] kvmfr's size and the owner of its node or file; [audio]
 * QEMU's PulseAudio driver and the user's sound server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

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

static int check_lg_kvmfr(struct doctor *d, unsigned need)
{
	const struct host_desktop *hd = &d->f->desktop;
	_cleanup_free_ char *fix = NULL;

	if (!hd->kvmfr_loaded)
		return doctor_add(
			d, "lg.kvmfr-size", DOCTOR_FAIL, "sys/module/kvmfr",
			"load it: modprobe kvmfr static_size_mb=N (N as below), and keep that in /etc/modprobe.d/kvmfr.conf; or set [looking-glass] device = shm",
			"the kvmfr module is not loaded; [looking-glass] needs %u MiB", need);
	if (hd->kvmfr_static_mb >= need)
		return doctor_add(d, "lg.kvmfr-size", DOCTOR_PASS,
				  "sys/module/kvmfr/parameters/static_size_mb", NULL,
				  "/dev/kvmfr0 has %u MiB, %u MiB needed", hd->kvmfr_static_mb,
				  need);
	if (asprintf(
		    &fix,
		    "put 'options kvmfr static_size_mb=%u' in /etc/modprobe.d/kvmfr.conf, then rmmod kvmfr; modprobe kvmfr",
		    need) < 0)
		return -ENOMEM;
	return doctor_add(d, "lg.kvmfr-size", DOCTOR_FAIL,
			  "sys/module/kvmfr/parameters/static_size_mb", fix,
			  "/dev/kvmfr0 has %u MiB, %u MiB needed", hd->kvmfr_static_mb, need);
}

/*
 * What gamevm start finds: gamevm gives the node or file to the desktop
 * user itself, so only what it refuses to touch fails here.
 */
static int check_lg_owner(struct doctor *d, bool kvmfr)
{
	const struct host_desktop *hd = &d->f->desktop;
	const struct host_file *x = kvmfr ? &hd->kvmfr0 : &hd->lg_shm;
	const char *src = kvmfr ? "dev/" HOST_KVMFR_NODE : "dev/" HOST_LG_SHM;
	const char *user = d->c->lg.user;

	if (!hd->lg_user.name)
		return doctor_add(
			d, "lg.owner", DOCTOR_FAIL, "etc/passwd",
			"name the user who runs looking-glass-client in [looking-glass] user",
			"there is no user '%s'", user);
	if (x->err == -ENOENT)
		return doctor_add(
			d, "lg.owner", kvmfr ? DOCTOR_FAIL : DOCTOR_PASS, src,
			kvmfr ? "reload the module: rmmod kvmfr; modprobe kvmfr" : NULL,
			kvmfr ? "/dev/kvmfr0 is missing"
			      : "/dev/shm/looking-glass is not there: gamevm creates it for %s at start",
			user);
	if (x->err)
		return doctor_add(d, "lg.owner", DOCTOR_SKIP, src, NULL, "cannot look at /%s: %s",
				  src, strerror(-x->err));
	if (kvmfr && !x->is_chr)
		return doctor_add(
			d, "lg.owner", DOCTOR_FAIL, src,
			"rm /dev/kvmfr0, then rmmod kvmfr; modprobe kvmfr",
			"/dev/kvmfr0 is a file, not the kvmfr device (QEMU ran before the module was loaded)");
	/* gamevm makes its own for each run: one that is there stops the start. */
	if (!kvmfr)
		return doctor_add(
			d, "lg.owner", DOCTOR_FAIL, src,
			"rm /dev/shm/looking-glass when no looking-glass-client has it open",
			"/dev/shm/looking-glass is there already (%s, uid %u): gamevm makes its own for each run and refuses to start over it",
			x->is_reg ? "a file" : "not a regular file", (unsigned)x->uid);
	if (x->uid == hd->lg_user.uid && (x->mode & 0660) == 0660)
		return doctor_add(d, "lg.owner", DOCTOR_PASS, src, NULL, "/%s is %s's, mode %04o",
				  src, user, (unsigned)x->mode);
	return doctor_add(
		d, "lg.owner", DOCTOR_PASS, src, NULL,
		"/%s is uid %u's, mode %04o: gamevm gives it to %s (group of QEMU's user, 0660) while the VM runs",
		src, (unsigned)x->uid, (unsigned)x->mode, user);
}

static int check_lg(struct doctor *d)
{
	const struct vm_looking_glass *lg = &d->c->lg;
	unsigned need = plan_lg_size_mib(lg->width, lg->height, lg->hdr);
	bool kvmfr = lg->device == LG_DEVICE_KVMFR ||
		     (lg->device == LG_DEVICE_AUTO && d->f->desktop.kvmfr_loaded);
	int r;

	if (!lg->enabled)
		return 0;
	if (kvmfr) {
		r = check_lg_kvmfr(d, need);
		if (r < 0)
			return r;
	}
	return check_lg_owner(d, kvmfr);
}

static int check_audio(struct doctor *d)
{
	const struct host_desktop *hd = &d->f->desktop;
	const struct vm_audio *a = &d->c->audio;
	char sock[64];
	int r;

	if (a->backend == AUDIO_NONE)
		return 0;
	if (!hd->qemu_modules)
		r = doctor_add(
			d, "audio.qemu-pa", DOCTOR_SKIP, NULL, NULL,
			"no QEMU module directory found: the drivers are built in, or elsewhere");
	else if (hd->qemu_audio_pa)
		r = doctor_add(d, "audio.qemu-pa", DOCTOR_PASS, hd->qemu_module_dir, NULL,
			       "QEMU's PulseAudio driver is there (audio-pa.so)");
	else
		r = doctor_add(d, "audio.qemu-pa", DOCTOR_FAIL, hd->qemu_module_dir,
			       "apt install qemu-system-gui (Debian, Ubuntu)",
			       "QEMU's PulseAudio driver (audio-pa.so) is not installed");
	if (r < 0)
		return r;
	if (!hd->audio_user.name)
		return doctor_add(d, "audio.server", DOCTOR_FAIL, "etc/passwd",
				  "name the desktop user in [audio] user", "there is no user '%s'",
				  a->user);
	snprintf(sock, sizeof(sock), "run/user/%u/pulse/native", (unsigned)hd->audio_user.uid);
	if (hd->audio_socket.err)
		return doctor_add(
			d, "audio.server", DOCTOR_WARN, sock,
			"log in as the user (or systemctl --user start pipewire-pulse.socket or pulseaudio.socket as that user): gamevm start refuses while it is not running",
			"%s's sound server is not running (/%s is missing)", a->user, sock);
	return doctor_add(d, "audio.server", DOCTOR_PASS, sock, NULL,
			  "%s's sound server listens at /%s", a->user, sock);
}

int doctor_check_desktop(struct doctor *d)
{
	int r;

	if (!d->c)
		return 0;
	r = check_input(d);
	if (r >= 0)
		r = check_lg(d);
	return r < 0 ? r : check_audio(d);
}
