/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config parser on the desktop sections (config-desktop.c): [input],
 * [looking-glass] and [audio] load with their defaults and values, and
 * each bad value and missing key gets its exact message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "macro.h"

/* 6 lines: what every test config needs; the text under test starts at line 7. */
#define BASE "[vm]\nname = t\n[memory]\nsize = 1G\n[cpu]\nvcpus = 4\n"

static struct vm_config *load_ok(const char *text)
{
	struct vm_config *c = NULL;
	_cleanup_(config_error_done) struct config_error e = { 0 };
	int r = config_load_string("t.conf", text, &c, &e);

	if (r < 0)
		fail_msg("unexpected error %d: %s", r, strna(e.msg));
	assert_non_null(c);
	return c;
}

/* Loads text, expects -EINVAL, and compares the one message. */
static void expect_error(const char *text, const char *msg)
{
	struct vm_config *c = NULL;
	_cleanup_(config_error_done) struct config_error e = { 0 };
	int r = config_load_string("t.conf", text, &c, &e);

	if (r == 0) {
		config_free(c);
		fail_msg("config loaded, expected: %s", msg);
	}
	assert_int_equal(r, -EINVAL);
	assert_null(c);
	assert_non_null(e.msg);
	assert_string_equal(e.msg, msg);
}

/* [input]: evdev paths, the toggle keys, virtio input; each wrong value named. */
static void test_input(void **state)
{
	struct vm_config *c;

	(void)state;
	c = load_ok(BASE);
	assert_null(c->input.evdev);
	assert_int_equal(c->input.n_evdev, 0);
	assert_int_equal(c->input.grab_toggle, GRAB_TOGGLE_CTRL_CTRL);
	assert_false(c->input.virtio);
	config_free(c);

	c = load_ok(
		BASE
		"[input]\nevdev = /dev/input/by-id/usb-K-event-kbd \t/dev/input/by-id/usb-M-event-mouse\n"
		"grab-toggle = scrolllock\nvirtio = yes\n");
	assert_int_equal(c->input.n_evdev, 2);
	assert_string_equal(c->input.evdev[0], "/dev/input/by-id/usb-K-event-kbd");
	assert_string_equal(c->input.evdev[1], "/dev/input/by-id/usb-M-event-mouse");
	assert_null(c->input.evdev[2]);
	assert_int_equal(c->input.grab_toggle, GRAB_TOGGLE_SCROLLLOCK);
	assert_string_equal(grab_toggle_to_string(c->input.grab_toggle), "scrolllock");
	assert_true(c->input.virtio);
	config_free(c);

	expect_error(
		BASE "[input]\ngrab-toggle = alt-alt\n",
		"t.conf:7: [input] evdev: missing; expected device paths under /dev/input/ separated by spaces, e.g. /dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd");
	expect_error(
		BASE "[input]\nevdev = /dev/sda\n",
		"t.conf:8: [input] evdev: '/dev/sda' is not a device under /dev/input/; expected paths like /dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd ('ls -l /dev/input/by-id/' lists them)");
	expect_error(
		BASE "[input]\nevdev = input/event3\n",
		"t.conf:8: [input] evdev: 'input/event3' is not a device under /dev/input/; expected paths like /dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd ('ls -l /dev/input/by-id/' lists them)");
	expect_error(
		BASE "[input]\nevdev = /dev/input/../sda\n",
		"t.conf:8: [input] evdev: '/dev/input/../sda' is not a device under /dev/input/; expected paths like /dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd ('ls -l /dev/input/by-id/' lists them)");
	expect_error(
		BASE "[input]\nevdev = /dev/input/event3 /dev/input/event3\n",
		"t.conf:8: [input] evdev: '/dev/input/event3' is listed twice; expected each device once");
	expect_error(
		BASE "[input]\nevdev = /dev/input/by-id/a,b\n",
		"t.conf:8: [input] evdev: '/dev/input/by-id/a,b' has a comma, which QEMU's option syntax would split; expected device paths separated by spaces");
	expect_error(
		BASE "[input]\nevdev = /dev/input/event3\ngrab-toggle = ctrl-alt\n",
		"t.conf:9: [input] grab-toggle: 'ctrl-alt' is not valid; expected ctrl-ctrl, alt-alt, shift-shift, meta-meta, scrolllock or ctrl-scrolllock");
	expect_error(BASE "[input]\nevdev = /dev/input/event3\nvirtio = maybe\n",
		     "t.conf:9: [input] virtio: 'maybe' is not valid; expected yes or no");
	expect_error(
		BASE "[devices]\nevdev = /dev/input/event3\n",
		"t.conf:8: [devices] evdev: unknown key in this section; expected it in [input]");
}

/* [looking-glass]: on with the section, its defaults, the user required. */
static void test_looking_glass(void **state)
{
	struct vm_config *c;

	(void)state;
	c = load_ok(BASE);
	assert_false(c->lg.enabled);
	assert_int_equal(c->lg.width, 1920);
	assert_int_equal(c->lg.height, 1080);
	assert_false(c->lg.hdr);
	assert_int_equal(c->lg.device, LG_DEVICE_AUTO);
	assert_null(c->lg.user);
	config_free(c);

	c = load_ok(BASE "[looking-glass]\nuser = alice\n");
	assert_true(c->lg.enabled);
	assert_string_equal(c->lg.user, "alice");
	config_free(c);

	c = load_ok(BASE "[looking-glass]\nwidth = 3840\nheight = 2160\nhdr = yes\ndevice = kvmfr\n"
			 "user = alice\n");
	assert_true(c->lg.enabled);
	assert_int_equal(c->lg.width, 3840);
	assert_int_equal(c->lg.height, 2160);
	assert_true(c->lg.hdr);
	assert_int_equal(c->lg.device, LG_DEVICE_KVMFR);
	assert_string_equal(lg_device_to_string(c->lg.device), "kvmfr");
	config_free(c);

	/* Off: written down but not used, so no user needed. */
	c = load_ok(BASE "[looking-glass]\nenabled = no\ndevice = shm\n");
	assert_false(c->lg.enabled);
	assert_int_equal(c->lg.device, LG_DEVICE_SHM);
	config_free(c);

	expect_error(
		BASE "[looking-glass]\nwidth = 2560\n",
		"t.conf:7: [looking-glass] user: missing; expected a Linux user name like alice (lower case, digits, _ and -, at most 32)");
	expect_error(
		BASE "[looking-glass]\nuser = root\n",
		"t.conf:8: [looking-glass] user: root would give QEMU back every privilege gamevm drops; expected an unprivileged user (the default is gamevm)");
	expect_error(
		BASE "[looking-glass]\nuser = alice\nwidth = 100000\n",
		"t.conf:9: [looking-glass] width: '100000' is not valid; expected a whole number from 640 to 16384");
	expect_error(
		BASE "[looking-glass]\nuser = alice\ndevice = ivshmem\n",
		"t.conf:9: [looking-glass] device: 'ivshmem' is not valid; expected auto, kvmfr or shm");
}

/* [audio]: the backend, the sound card, the user; usb needs the xHCI. */
static void test_audio(void **state)
{
	struct vm_config *c;

	(void)state;
	c = load_ok(BASE);
	assert_int_equal(c->audio.backend, AUDIO_NONE);
	assert_int_equal(c->audio.device, AUDIO_DEVICE_HDA);
	assert_null(c->audio.user);
	config_free(c);

	c = load_ok(BASE "[audio]\nbackend = pipewire\nuser = alice\n");
	assert_int_equal(c->audio.backend, AUDIO_PIPEWIRE);
	assert_string_equal(audio_backend_to_string(c->audio.backend), "pipewire");
	assert_int_equal(c->audio.device, AUDIO_DEVICE_HDA);
	assert_string_equal(c->audio.user, "alice");
	config_free(c);

	c = load_ok(BASE "[audio]\nbackend = pulseaudio\ndevice = usb\nuser = alice\n");
	assert_int_equal(c->audio.backend, AUDIO_PULSEAUDIO);
	assert_int_equal(c->audio.device, AUDIO_DEVICE_USB);
	config_free(c);

	/* backend = none: nothing to reach, no user needed. */
	c = load_ok(BASE "[audio]\nbackend = none\n");
	assert_int_equal(c->audio.backend, AUDIO_NONE);
	config_free(c);

	expect_error(
		BASE "[audio]\nbackend = pipewire\n",
		"t.conf:7: [audio] user: missing; expected a Linux user name like alice (lower case, digits, _ and -, at most 32)");
	expect_error(
		BASE "[audio]\nbackend = pulse\nuser = alice\n",
		"t.conf:8: [audio] backend: 'pulse' is not valid; expected none, pulseaudio or pipewire");
	expect_error(BASE "[audio]\nbackend = pipewire\nuser = alice\ndevice = ac97\n",
		     "t.conf:10: [audio] device: 'ac97' is not valid; expected hda or usb");
	expect_error(
		BASE "[devices]\nusb-controller = no\n[audio]\nbackend = pipewire\nuser = alice\n"
		     "device = usb\n",
		"t.conf:12: [audio] device: usb needs the emulated USB controller, and [devices] usb-controller = no (line 8); expected usb-controller = yes, or device = hda");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input),
		cmocka_unit_test(test_looking_glass),
		cmocka_unit_test(test_audio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
