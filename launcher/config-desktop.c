/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desktop sections of the config file: [input] (the host's keyboard and
 * mouse through evdev), [looking-glass] (the guest's frames in shared
 * memory for the host's looking-glass-client), [audio] (a sound card
 * playing through the desktop user's sound server), [hook NAME] (programs
 * run at the VM's start and stop, e.g. to switch the monitor's input), and
 * the unit names of [vm] single-gpu-stop. Their keys form a second table
 * after config-keys.c's (config_key_at() walks both), so that file stays
 * one screenful of format.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "parse-util.h"

#define FIELD(obj, k, type) ((type *)((char *)(obj) + (k)->offset))

/* More would be a hub of devices, not a keyboard and a mouse. */
#define EVDEV_MAX 16

static void strv_free_n(char **v)
{
	for (char **a = v; a && *a; a++)
		free(*a);
	free(v);
}

/*
 * [input] evdev: paths separated by blanks. QEMU opens each one itself (as
 * its own user, O_RDWR), so only absolute paths under /dev/input/ make
 * sense; whether they exist is the plan's business (a keyboard may be
 * plugged in later than the config is written).
 */
static int parse_key_evdev(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	struct vm_config *c = obj;
	_cleanup_free_ char *copy = strdup(value);
	char **v = NULL, *save = NULL;
	size_t n = 0;
	int r;

	(void)k;
	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		char **nv;

		if (strncmp(t, "/dev/input/", 11) != 0 || !t[11] || !config_path_is_valid(t) ||
		    t[strlen(t) - 1] == '/') {
			r = config_why(
				ret_why,
				"'%s' is not a device under /dev/input/; expected paths like /dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd ('ls -l /dev/input/by-id/' lists them)",
				t);
			goto fail;
		}
		if (strchr(t, ',')) {
			r = config_why(
				ret_why,
				"'%s' has a comma, which QEMU's option syntax would split; expected device paths separated by spaces",
				t);
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			if (streq(v[i], t)) {
				r = config_why(ret_why,
					       "'%s' is listed twice; expected each device once",
					       t);
				goto fail;
			}
		if (n >= EVDEV_MAX) {
			r = config_why(ret_why,
				       "more than %d devices; expected a keyboard and a mouse",
				       EVDEV_MAX);
			goto fail;
		}
		nv = realloc(v, (n + 2) * sizeof(*v));
		if (!nv) {
			r = -ENOMEM;
			goto fail;
		}
		v = nv;
		v[n] = strdup(t);
		if (!v[n]) {
			r = -ENOMEM;
			goto fail;
		}
		v[++n] = NULL;
	}
	if (n == 0)
		return config_why(ret_why, "empty; expected one or more device paths");
	strv_free_n(c->input.evdev);
	c->input.evdev = v;
	c->input.n_evdev = n;
	return 0;
fail:
	strv_free_n(v);
	return r;
}

/*
 * [hook NAME] command: words separated by blanks; '...' and "..." keep
 * blanks inside one word (no escapes, no variables, no globs: nothing is
 * handed to a shell). The program is an absolute path.
 */
static int parse_key_hook_command(const struct config_key *k, void *obj, const char *value,
				  char **ret_why)
{
	struct vm_hook *h = obj;
	char **argv = NULL;
	size_t n = 0;
	const char *p = value;
	int r = 0;

	for (;;) {
		_cleanup_free_ char *word = NULL;
		size_t len = 0;
		char **v;

		p += strspn(p, " \t");
		if (!*p)
			break;
		if (n >= CONFIG_MAX_HOOK_ARGS) {
			r = config_why(ret_why,
				       "more than %u words; expected a program and a few arguments",
				       CONFIG_MAX_HOOK_ARGS);
			goto fail;
		}
		word = malloc(strlen(p) + 1);
		if (!word) {
			r = -ENOMEM;
			goto fail;
		}
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '\'' || *p == '"') {
				const char *end = strchr(p + 1, *p);

				if (!end) {
					r = config_why(
						ret_why,
						"a %c quote is not closed; expected a closing %c",
						*p, *p);
					goto fail;
				}
				memcpy(word + len, p + 1, (size_t)(end - p - 1));
				len += (size_t)(end - p - 1);
				p = end + 1;
			} else {
				word[len++] = *p++;
			}
		}
		word[len] = 0;
		if (!config_is_printable_ascii(word) && *word) {
			r = config_why(ret_why,
				       "a word holds a control character; expected printable text");
			goto fail;
		}
		v = realloc(argv, (n + 2) * sizeof(*argv));
		if (!v) {
			r = -ENOMEM;
			goto fail;
		}
		argv = v;
		argv[n++] = TAKE_PTR(word);
		argv[n] = NULL;
	}
	if (n == 0) {
		r = config_why(
			ret_why,
			"empty; expected a program and its arguments, e.g. /usr/bin/ddcutil setvcp 60 0x0f");
		goto fail;
	}
	if (argv[0][0] != '/') {
		r = config_why(
			ret_why,
			"'%s' is not an absolute path; expected the program's full path (gamevm runs no shell and searches no PATH), e.g. /usr/bin/%s",
			argv[0], argv[0]);
		goto fail;
	}
	for (char **a = h->argv; a && *a; a++)
		free(*a);
	free(h->argv);
	h->argv = argv;
	(void)k;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
	return r;
}

#define CONFIG_UNIT_NAME_MAX 255
#define CONFIG_MAX_UNITS     16

bool config_unit_name_is_valid(const char *s)
{
	static const char *const suffixes[] = { ".service", ".target", ".scope" };
	size_t n = strlen(s);

	/* systemctl would read a leading '-' as an option. */
	if (n == 0 || n > CONFIG_UNIT_NAME_MAX || s[0] == '-' || s[0] == '.')
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(":_.@-\\", *p))
			return false;
	for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && streq(s + n - k, suffixes[i]))
			return true;
	}
	return false;
}

/* [vm] single-gpu-stop: systemd units, blank-separated; "none" stops none. */
int parse_key_units(const struct config_key *k, void *obj, const char *value, char **ret_why)
{
	char ***field = FIELD(obj, k, char **);
	_cleanup_free_ char *copy = strdup(value);
	char **v = calloc(1, sizeof(*v)), *save = NULL;
	size_t n = 0;

	if (!copy || !v) {
		free(v);
		return -ENOMEM;
	}
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		char **nv;

		if (n == 0 && streq(w, "none") && !strtok_r(NULL, " \t", &save))
			break;

		if (!config_unit_name_is_valid(w) || n >= CONFIG_MAX_UNITS) {
			int r = n >= CONFIG_MAX_UNITS
					? config_why(ret_why, "more than %u units",
						     CONFIG_MAX_UNITS)
					: config_why(
						  ret_why,
						  "'%s' is not a unit name; expected names like display-manager.service, gdm.service or graphical-session.target",
						  w);
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
			return r;
		}
		nv = realloc(v, (n + 2) * sizeof(*v));
		if (!nv || !(nv[n] = strdup(w))) {
			v = nv ? nv : v;
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[++n] = NULL;
	}
	for (char **a = *field; a && *a; a++)
		free(*a);
	free(*field);
	*field = v;
	return 0;
}

#define CFG(f)	    .offset = offsetof(struct vm_config, f)
#define HOOK(f)	    .offset = offsetof(struct vm_hook, f)
#define BOOL	    .parse = parse_key_bool, .values = config_bool_names
#define ENUM(t)	    .parse = parse_key_enum, .values = (t)
#define UINT(a, b)  .parse = parse_key_uint, .min = (a), .max = (b)
#define USER_EXPECT "a Linux user name like alice (lower case, digits, _ and -, at most 32)"

static const struct config_key keys[] = {
	{ SECTION_INPUT, "evdev", parse_key_evdev, CFG(input.evdev),
	  .expect =
		  "device paths under /dev/input/ separated by spaces, e.g. /dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd" },
	{ SECTION_INPUT, "grab-toggle", CFG(input.grab_toggle), ENUM(grab_toggle_names) },
	{ SECTION_INPUT, "virtio", CFG(input.virtio), BOOL },

	{ SECTION_LOOKING_GLASS, "enabled", CFG(lg.enabled), BOOL },
	{ SECTION_LOOKING_GLASS, "width", CFG(lg.width), UINT(640, 16384) },
	{ SECTION_LOOKING_GLASS, "height", CFG(lg.height), UINT(480, 16384) },
	{ SECTION_LOOKING_GLASS, "hdr", CFG(lg.hdr), BOOL },
	{ SECTION_LOOKING_GLASS, "device", CFG(lg.device), ENUM(lg_device_names) },
	{ SECTION_LOOKING_GLASS, "user", parse_key_user, offsetof(struct vm_config, lg.user),
	  .expect = USER_EXPECT },

	{ SECTION_AUDIO, "backend", CFG(audio.backend), ENUM(audio_backend_names) },
	{ SECTION_AUDIO, "device", CFG(audio.device), ENUM(audio_device_names) },
	{ SECTION_AUDIO, "user", parse_key_user, offsetof(struct vm_config, audio.user),
	  .expect = USER_EXPECT },

	{ SECTION_HOOK, "when", HOOK(when), ENUM(hook_when_names) },
	{ SECTION_HOOK, "command", parse_key_hook_command, offsetof(struct vm_hook, argv),
	  .expect =
		  "a program's absolute path and its arguments, e.g. /usr/bin/ddcutil setvcp 60 0x0f" },
	{ SECTION_HOOK, "timeout", HOOK(timeout_s), UINT(1, 600) },
	{ SECTION_HOOK, "required", HOOK(required), BOOL },
};

const struct config_key *config_desktop_keys(size_t *ret_n)
{
	*ret_n = ELEMENTSOF(keys);
	return keys;
}

void config_desktop_defaults(struct vm_config *c)
{
	c->input.grab_toggle = GRAB_TOGGLE_CTRL_CTRL;
	c->lg.width = 1920;
	c->lg.height = 1080;
	c->lg.device = LG_DEVICE_AUTO;
}

static int require(struct config_parser *p, const char *section, enum section_kind s,
		   const char *key)
{
	_cleanup_free_ char *expect = NULL;
	int r;

	if (config_key_line(p->c, section, key))
		return 0;
	r = config_key_expect(config_key_find(s, key), &expect);
	if (r < 0)
		return p->r = r;
	return config_parser_fail(p, p->plain_line[s], section, key, "missing; expected %s",
				  expect);
}

int config_desktop_check(struct config_parser *p)
{
	struct vm_config *c = p->c;
	int r;

	/* An [input] section that gives QEMU nothing to read is a mistake, not a no-op. */
	if (p->plain_line[SECTION_INPUT]) {
		r = require(p, "input", SECTION_INPUT, "evdev");
		if (r < 0)
			return r;
	}
	/* Like [hyperv]: the section turns it on, enabled = no keeps it written down but off. */
	if (p->plain_line[SECTION_LOOKING_GLASS] && !config_key_line(c, "looking-glass", "enabled"))
		c->lg.enabled = true;
	if (c->lg.enabled) {
		r = require(p, "looking-glass", SECTION_LOOKING_GLASS, "user");
		if (r < 0)
			return r;
	}
	if (c->audio.backend != AUDIO_NONE) {
		r = require(p, "audio", SECTION_AUDIO, "user");
		if (r < 0)
			return r;
	}
	/* usb-audio sits on the emulated xHCI: without it there is no bus for it. */
	if (c->audio.backend != AUDIO_NONE && c->audio.device == AUDIO_DEVICE_USB &&
	    !c->usb_controller)
		return config_parser_fail(
			p, config_key_line(c, "audio", "device"), "audio", "device",
			"usb needs the emulated USB controller, and [devices] usb-controller = no (line %u); expected usb-controller = yes, or device = hda",
			config_key_line(c, "devices", "usb-controller"));
	return 0;
}

void config_desktop_free(struct vm_config *c)
{
	strv_free_n(c->input.evdev);
	c->input = (struct vm_input){};
	free(c->lg.user);
	c->lg.user = NULL;
	free(c->audio.user);
	c->audio.user = NULL;
}

const char *grab_toggle_to_string(enum grab_toggle g)
{
	return enum_name_lookup(grab_toggle_names, (int)g);
}

const char *lg_device_to_string(enum lg_device d)
{
	return enum_name_lookup(lg_device_names, (int)d);
}

const char *audio_backend_to_string(enum audio_backend b)
{
	return enum_name_lookup(audio_backend_names, (int)b);
}
