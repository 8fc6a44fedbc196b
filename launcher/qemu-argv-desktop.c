/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desktop part of the QEMU argv: the host's evdev devices
 * (input-linux) and the virtio input devices; Looking Glass's IVSHMEM.
 */
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

void qemu_argv_desktop(const struct vm_config *c, const struct plan *p, struct strv *a)
{
	argv_input(c, p, a);
	argv_lg(p, a);
}
