/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plan steps of the desktop sections: [input] (evdev devices, virtio input),
 * [looking-glass] (the IVSHMEM memory: kvmfr or shm, its size and owner),
 * [audio] (QEMU's PulseAudio driver on the desktop user's socket).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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

/*
 * Looking Glass's "Determining memory" (doc/install_libvirt.rst): two frames
 * of width x height x BPP (4 for SDR, 8 for HDR), plus 10 MiB, rounded up
 * to a power of two; its table: 1080p 32/64, 1440p 64/128, 2160p 128/256.
 */
unsigned plan_lg_size_mib(unsigned width, unsigned height, bool hdr)
{
	uint64_t bytes = (uint64_t)width * height * (hdr ? 8 : 4) * 2 + (10ull << 20);
	unsigned mib = 1;

	while (((uint64_t)mib << 20) < bytes)
		mib <<= 1;
	return mib;
}

#define KVMFR_CONF "/etc/modprobe.d/kvmfr.conf"

static int plan_lg_kvmfr(const struct vm_config *c, const struct host_desktop *hd, struct plan *p,
			 const char *what, struct plan_diags *d)
{
	unsigned need = p->lg_size_mib;

	if (!hd->kvmfr_loaded)
		return plan_diag_key(
			d, LOG_ERR, c, "looking-glass", "device", 0,
			"the kvmfr module is not loaded (/sys/module/kvmfr is missing): build it from Looking Glass's module/ directory (or its DKMS package), load it with 'modprobe kvmfr static_size_mb=%u' and keep that with 'options kvmfr static_size_mb=%u' in " KVMFR_CONF
			"; or set device = shm",
			need, need);
	if (hd->kvmfr_static_mb < need)
		return plan_diag_key(
			d, LOG_ERR, c, "looking-glass", "device", 0,
			"/dev/kvmfr0 has %u MiB (/sys/module/kvmfr/parameters/static_size_mb) but %s needs %u MiB: put 'options kvmfr static_size_mb=%u' in " KVMFR_CONF
			" and reload the module (rmmod kvmfr; modprobe kvmfr), or lower width and height",
			hd->kvmfr_static_mb, what, need, need);
	/* Looking Glass wants the IVSHMEM size to be the device's own. */
	p->lg_size_mib = hd->kvmfr_static_mb;
	if (hd->kvmfr0.err)
		return plan_diag_key(
			d, LOG_ERR, c, "looking-glass", "device", 0,
			"kvmfr is loaded but '/dev/kvmfr0' cannot be looked at: %s; reload the module (rmmod kvmfr; modprobe kvmfr)",
			strerror(-hd->kvmfr0.err));
	if (!hd->kvmfr0.is_chr)
		return plan_diag_key(
			d, LOG_ERR, c, "looking-glass", "device", 0,
			"'/dev/kvmfr0' is not the kvmfr device but a %s (a QEMU started before the module was loaded creates a file there): remove it (rm /dev/kvmfr0) and reload the module (rmmod kvmfr; modprobe kvmfr)",
			hd->kvmfr0.is_reg ? "regular file" : "link or directory");
	return 0;
}

static int plan_lg_shm(const struct vm_config *c, const struct host_desktop *hd, struct plan *p,
		       const char *what, struct plan_diags *d)
{
	const struct host_file *s = &hd->lg_shm;

	if (s->err == -ENOENT)
		return 0; /* gamevm creates it */
	if (s->err)
		return plan_diag_key(d, LOG_ERR, c, "looking-glass", "device", 0,
				     "cannot look at '/dev/shm/looking-glass': %s",
				     strerror(-s->err));
	/*
	 * Never one that is there: /dev/shm is everyone's, and a file its
	 * owner can swap between gamevm's look and its chown is no file for
	 * root to change. gamevm makes its own for each run and removes it.
	 */
	(void)what;
	return plan_diag_key(
		d, LOG_ERR, c, "looking-glass", "device", 0,
		"'/dev/shm/looking-glass' is there already (uid %u; left by an earlier run of something else, or made by a looking-glass-client): gamevm makes its own for each run; remove it (rm /dev/shm/looking-glass) when no looking-glass-client has it open",
		(unsigned)s->uid);
}

static int plan_lg(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		   struct plan_diags *d)
{
	const struct host_desktop *hd = &f->desktop;
	char what[64];
	int r;

	if (!c->lg.enabled)
		return 0;
	p->lg = true;
	if (c->single_gpu) {
		r = plan_diag_key(
			d, LOG_WARNING, c, "looking-glass", "enabled", 0,
			"with [vm] single-gpu the host has no display while the VM runs, so no looking-glass-client can show it; set enabled = no, or give the VM a second GPU");
		if (r < 0)
			return r;
	}
	p->lg_size_mib = plan_lg_size_mib(c->lg.width, c->lg.height, c->lg.hdr);
	snprintf(what, sizeof(what), "%ux%u%s", c->lg.width, c->lg.height, c->lg.hdr ? " HDR" : "");
	p->lg_kvmfr = c->lg.device == LG_DEVICE_KVMFR ||
		      (c->lg.device == LG_DEVICE_AUTO && hd->kvmfr_loaded);
	if (!hd->lg_user.name) {
		r = plan_diag_key(
			d, LOG_ERR, c, "looking-glass", "user", 0,
			"there is no user '%s' on this host ('getent passwd %s' finds none): name the desktop user who runs looking-glass-client",
			c->lg.user, c->lg.user);
		/* The shm checks compare owners with that user; kvmfr's size stands alone. */
		if (r < 0 || !p->lg_kvmfr)
			return r;
	}
	p->lg_uid = hd->lg_user.uid;
	return p->lg_kvmfr ? plan_lg_kvmfr(c, hd, p, what, d) : plan_lg_shm(c, hd, p, what, d);
}

static int plan_input(const struct vm_config *c, const struct host_facts *f, struct plan *p,
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

/*
 * Debian 12's QEMU 7.2 has no pipewire driver (8.1 has), so pipewire goes
 * through pipewire-pulse's PulseAudio socket like PulseAudio itself: one
 * driver, one socket path, the same ACLs.
 */
static int plan_audio(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		      struct plan_diags *d)
{
	const struct host_desktop *hd = &f->desktop;
	const char *server =
		c->audio.backend == AUDIO_PIPEWIRE ? "pipewire-pulse" : "the PulseAudio server";
	int r;

	if (c->audio.backend == AUDIO_NONE)
		return 0;
	p->audio = true;
	p->audio_usb = c->audio.device == AUDIO_DEVICE_USB;
	if (hd->qemu_modules && !hd->qemu_audio_pa) {
		r = plan_diag_key(
			d, LOG_ERR, c, "audio", "backend", 0,
			"this QEMU has no PulseAudio driver (no /%s/audio-pa.so; '-audiodev help' says 'module audio-audio-pa not found'): install it (Debian and Ubuntu: apt install qemu-system-gui)",
			hd->qemu_module_dir);
		if (r < 0)
			return r;
	}
	if (!hd->audio_user.name)
		return plan_diag_key(
			d, LOG_ERR, c, "audio", "user", 0,
			"there is no user '%s' on this host ('getent passwd %s' finds none): name the desktop user whose sound server the guest plays through",
			c->audio.user, c->audio.user);
	p->audio_uid = hd->audio_user.uid;
	/*
	 * single-gpu ends the desktop's sessions before the VM; when the
	 * user's last one ends, logind removes /run/user/UID and stops their
	 * sound server, unless the user lingers.
	 */
	if (c->single_gpu && !hd->audio_linger) {
		r = plan_diag_key(
			d, LOG_ERR, c, "audio", "user", 0,
			"with [vm] single-gpu the desktop's sessions end before the VM starts, and with them %s of %s: let %s's services run without a session (loginctl enable-linger %s)",
			server, c->audio.user, c->audio.user, c->audio.user);
		if (r < 0)
			return r;
	}
	if (asprintf(&p->audio_socket, "/run/user/%u/pulse/native", (unsigned)p->audio_uid) < 0) {
		p->audio_socket = NULL;
		return -ENOMEM;
	}
	if (hd->audio_cookie.err == 0 && hd->audio_cookie.is_reg) {
		if (asprintf(&p->audio_cookie, "%s/.config/pulse/cookie", hd->audio_user.home + 1) <
		    0) {
			p->audio_cookie = NULL;
			return -ENOMEM;
		}
	}
	/*
	 * Not an error here: the user may log in before the VM starts; gamevm
	 * start refuses while it is missing (QEMU would exit at once).
	 */
	if (hd->audio_socket.err)
		return plan_diag_key(
			d, LOG_WARNING, c, "audio", "user", 0,
			"%s of %s is not running ('%s' is missing): the VM starts only once it runs; log in as %s (or start it: systemctl --user start %s)",
			server, c->audio.user, p->audio_socket, c->audio.user,
			c->audio.backend == AUDIO_PIPEWIRE ? "pipewire-pulse.socket"
							   : "pulseaudio.socket");
	return 0;
}

int plan_desktop(const struct vm_config *c, const struct host_facts *f, struct plan *p,
		 struct plan_diags *d)
{
	int r = plan_input(c, f, p, d);

	if (r >= 0)
		r = plan_lg(c, f, p, d);
	return r < 0 ? r : plan_audio(c, f, p, d);
}

void plan_desktop_ports(const struct vm_config *c, struct plan *p, unsigned *n)
{
	if (c->input.virtio) {
		p->input_kbd_port = ++*n;
		p->input_mouse_port = ++*n;
	}
	if (p->lg)
		p->lg_port = ++*n;
}

void plan_desktop_done(struct plan *p)
{
	for (size_t i = 0; i < p->n_evdevs; i++)
		free(p->evdevs[i].node);
	free(p->evdevs);
	p->evdevs = NULL;
	p->n_evdevs = 0;
	free(p->audio_socket);
	p->audio_socket = NULL;
	free(p->audio_cookie);
	p->audio_cookie = NULL;
}
