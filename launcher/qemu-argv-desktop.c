/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desktop part of the QEMU argv: the host's evdev devices
 * (input-linux) and the virtio input devices; Looking Glass's IVSHMEM;
 * the sound card and its audiodev.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "plan-internal.h"

static void argv_input(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	for (size_t i = 0; i < p->n_evdevs; i++) {
		const struct plan_evdev *e = &p->evdevs[i];
		struct qopts o = { 0 };

		qopts_add(&o, "input-linux,id=evdev%zu", i);
		qopts_str(&o, "evdev", e->path);
		/*
		 * repeat=on: the host's autorepeat reaches the guest as key
		 * events; the toggle keys are read on the keyboard only.
		 */
		if (e->keyboard)
			qopts_add(&o, "repeat=on,grab_all=on,grab-toggle=%s",
				  grab_toggle_to_string(c->input.grab_toggle));
		qopts_push(a, "-object", &o);
	}
	if (p->input_kbd_port) {
		strv_push(a, "-device");
		strv_pushf(a, "virtio-keyboard-pci,id=input0,bus=rp%u,addr=0x0", p->input_kbd_port);
		strv_push(a, "-device");
		strv_pushf(a, "virtio-mouse-pci,id=input1,bus=rp%u,addr=0x0", p->input_mouse_port);
	}
}

/*
 * share=on: the host's client maps the same pages. gamevm made the node or
 * file ready (prepare-desktop.c); QEMU opens it through its group.
 */
static void argv_lg(const struct plan *p, struct strv *a)
{
	if (!p->lg)
		return;
	strv_push(a, "-object");
	strv_pushf(a, "memory-backend-file,id=looking-glass,mem-path=/dev/%s,size=%uM,share=on",
		   p->lg_kvmfr ? HOST_KVMFR_NODE : HOST_LG_SHM, p->lg_size_mib);
	strv_push(a, "-device");
	strv_pushf(a, "ivshmem-plain,id=shmem0,memdev=looking-glass,bus=rp%u,addr=0x0", p->lg_port);
}

/*
 * The HDA controller sits on pcie.0 at 0x1b.0, where the ICH9 chipset has
 * it (and libvirt puts it): no root port, so no other device moves.
 * hda-micro rather than hda-duplex: its input is a microphone, which
 * Windows and games take as the default recording device for voice chat
 * (hda-duplex's is a line in).
 */
static void argv_audio(const struct plan *p, struct strv *a)
{
	struct qopts o = { 0 };

	if (!p->audio)
		return;
	qopts_add(&o, "pa,id=snd0");
	if (p->audio_socket) {
		_cleanup_free_ char *server = NULL;

		if (asprintf(&server, "unix:%s", p->audio_socket) < 0)
			o.err = -ENOMEM;
		else
			qopts_str(&o, "server", server);
	}
	qopts_push(a, "-audiodev", &o);
	strv_push(a, "-device");
	if (p->audio_usb) {
		strv_push(a, "usb-audio,id=sound0,audiodev=snd0,bus=usb.0");
		return;
	}
	strv_push(a, "ich9-intel-hda,id=sound0,bus=pcie.0,addr=0x1b");
	strv_push(a, "-device");
	strv_push(a, "hda-micro,id=sound0-codec0,bus=sound0.0,cad=0,audiodev=snd0");
}

void qemu_argv_desktop(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	argv_input(c, p, a);
	argv_lg(p, a);
	argv_audio(p, a);
}
