/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config file's names: its sections, the values of its enum keys and
 * the Hyper-V flags, both ways (what the key table in config-keys.c parses
 * with, and what messages and the QEMU command line print).
 */
#include <stddef.h>

#include "config-internal.h"
#include "macro.h"

static const char *const section_names[_SECTION_MAX] = {
	[SECTION_VM] = "vm",
	[SECTION_MEMORY] = "memory",
	[SECTION_CPU] = "cpu",
	[SECTION_HYPERV] = "hyperv",
	[SECTION_FIRMWARE] = "firmware",
	[SECTION_TPM] = "tpm",
	[SECTION_SMBIOS] = "smbios",
	[SECTION_CLOCK] = "clock",
	[SECTION_POWER] = "power",
	[SECTION_WATCHDOG] = "watchdog",
	[SECTION_DEVICES] = "devices",
	[SECTION_QEMU] = "qemu",
	[SECTION_TUNING] = "tuning",
	[SECTION_INPUT] = "input",
	[SECTION_LOOKING_GLASS] = "looking-glass",
	[SECTION_AUDIO] = "audio",
	[SECTION_DISK] = "disk",
	[SECTION_PCI] = "pci",
	[SECTION_NET] = "net",
	[SECTION_HOOK] = "hook",
};

const char *section_kind_to_string(enum section_kind s)
{
	return s > SECTION_NONE && s < _SECTION_MAX ? section_names[s] : NULL;
}

enum section_kind section_kind_from_string(const char *s)
{
	for (int i = SECTION_NONE + 1; i < _SECTION_MAX; i++)
		if (streq(s, section_names[i]))
			return (enum section_kind)i;
	return SECTION_NONE;
}

const char *enum_name_lookup(const struct enum_name *table, int value)
{
	for (const struct enum_name *e = table; e->name; e++)
		if (e->value == value)
			return e->name;
	return NULL;
}

const struct enum_name accel_names[] = {
	{ "auto", ACCEL_AUTO }, { "kvm", ACCEL_KVM }, { "tcg", ACCEL_TCG }, { 0 }
};
const struct enum_name on_poweroff_names[] = { { "exit", ON_POWEROFF_EXIT },
					       { "restart", ON_POWEROFF_RESTART },
					       { "host-poweroff", ON_POWEROFF_HOST_POWEROFF },
					       { 0 } };
const struct enum_name on_crash_names[] = { { "exit", ON_CRASH_EXIT },
					    { "restart", ON_CRASH_RESTART },
					    { 0 } };
const struct enum_name hugepages_names[] = {
	{ "none", HUGEPAGES_NONE }, { "2M", HUGEPAGES_2M }, { "1G", HUGEPAGES_1G }, { 0 }
};
const struct enum_name firmware_type_names[] = { { "uefi", FIRMWARE_UEFI },
						 { "bios", FIRMWARE_BIOS },
						 { 0 } };
const struct enum_name tpm_names[] = {
	{ "crb", TPM_CRB }, { "tis", TPM_TIS }, { "none", TPM_NONE }, { 0 }
};
const struct enum_name smbios_mode_names[] = {
	{ "none", SMBIOS_NONE }, { "custom", SMBIOS_CUSTOM }, { "host", SMBIOS_HOST }, { 0 }
};
const struct enum_name clock_base_names[] = { { "localtime", CLOCK_BASE_LOCALTIME },
					      { "utc", CLOCK_BASE_UTC },
					      { 0 } };
const struct enum_name watchdog_names[] = { { "itco", WATCHDOG_ITCO },
					    { "none", WATCHDOG_NONE },
					    { 0 } };
const struct enum_name watchdog_action_names[] = { { "reset", WATCHDOG_ACTION_RESET },
						   { "shutdown", WATCHDOG_ACTION_SHUTDOWN },
						   { "poweroff", WATCHDOG_ACTION_POWEROFF },
						   { "pause", WATCHDOG_ACTION_PAUSE },
						   { "none", WATCHDOG_ACTION_NONE },
						   { "inject-nmi", WATCHDOG_ACTION_INJECT_NMI },
						   { 0 } };
const struct enum_name serial_mode_names[] = {
	{ "none", SERIAL_NONE }, { "pty", SERIAL_PTY }, { "file", SERIAL_FILE }, { 0 }
};
const struct enum_name display_names[] = { { "none", DISPLAY_NONE },
					   { "std", DISPLAY_STD },
					   { "qxl", DISPLAY_QXL },
					   { "virtio", DISPLAY_VIRTIO },
					   { 0 } };
const struct enum_name disk_media_names[] = { { "disk", DISK_MEDIA_DISK },
					      { "cdrom", DISK_MEDIA_CDROM },
					      { 0 } };
const struct enum_name disk_format_names[] = { { "raw", DISK_FORMAT_RAW },
					       { "qcow2", DISK_FORMAT_QCOW2 },
					       { 0 } };
const struct enum_name disk_bus_names[] = { { "virtio-blk", DISK_BUS_VIRTIO_BLK },
					    { "virtio-scsi", DISK_BUS_VIRTIO_SCSI },
					    { "sata", DISK_BUS_SATA },
					    { 0 } };
const struct enum_name disk_cache_names[] = { { "none", DISK_CACHE_NONE },
					      { "writeback", DISK_CACHE_WRITEBACK },
					      { "writethrough", DISK_CACHE_WRITETHROUGH },
					      { "directsync", DISK_CACHE_DIRECTSYNC },
					      { "unsafe", DISK_CACHE_UNSAFE },
					      { 0 } };
const struct enum_name disk_aio_names[] = { { "native", DISK_AIO_NATIVE },
					    { "io_uring", DISK_AIO_IO_URING },
					    { "threads", DISK_AIO_THREADS },
					    { 0 } };
const struct enum_name disk_discard_names[] = { { "unmap", DISK_DISCARD_UNMAP },
						{ "ignore", DISK_DISCARD_IGNORE },
						{ 0 } };
const struct enum_name net_mode_names[] = { { "user", NET_USER },
					    { "bridge", NET_BRIDGE },
					    { "tap", NET_TAP },
					    { "none", NET_NONE },
					    { 0 } };
const struct enum_name net_model_names[] = { { "virtio", NET_MODEL_VIRTIO },
					     { "e1000e", NET_MODEL_E1000E },
					     { 0 } };

const struct enum_name hook_when_names[] = { { "start", HOOK_START },
					     { "stop", HOOK_STOP },
					     { 0 } };

const struct enum_name thp_defrag_names[] = { { "keep", THP_DEFRAG_KEEP },
					      { "always", THP_DEFRAG_ALWAYS },
					      { "defer", THP_DEFRAG_DEFER },
					      { "defer+madvise", THP_DEFRAG_DEFER_MADVISE },
					      { "madvise", THP_DEFRAG_MADVISE },
					      { "never", THP_DEFRAG_NEVER },
					      { 0 } };

const struct enum_name grab_toggle_names[] = { { "ctrl-ctrl", GRAB_TOGGLE_CTRL_CTRL },
					       { "alt-alt", GRAB_TOGGLE_ALT_ALT },
					       { "shift-shift", GRAB_TOGGLE_SHIFT_SHIFT },
					       { "meta-meta", GRAB_TOGGLE_META_META },
					       { "scrolllock", GRAB_TOGGLE_SCROLLLOCK },
					       { "ctrl-scrolllock", GRAB_TOGGLE_CTRL_SCROLLLOCK },
					       { 0 } };

const struct enum_name lg_device_names[] = {
	{ "auto", LG_DEVICE_AUTO }, { "kvmfr", LG_DEVICE_KVMFR }, { "shm", LG_DEVICE_SHM }, { 0 }
};

const struct enum_name audio_backend_names[] = { { "none", AUDIO_NONE },
						 { "pulseaudio", AUDIO_PULSEAUDIO },
						 { "pipewire", AUDIO_PIPEWIRE },
						 { 0 } };
const struct enum_name audio_device_names[] = { { "hda", AUDIO_DEVICE_HDA },
						{ "usb", AUDIO_DEVICE_USB },
						{ 0 } };

static const struct {
	const char *name, *qemu;
} hv_names[_HV_FLAG_MAX] = {
	[HV_RELAXED] = { "relaxed", "hv-relaxed" },
	[HV_VAPIC] = { "vapic", "hv-vapic" },
	[HV_VPINDEX] = { "vpindex", "hv-vpindex" },
	[HV_RUNTIME] = { "runtime", "hv-runtime" },
	[HV_SYNIC] = { "synic", "hv-synic" },
	[HV_STIMER] = { "stimer", "hv-stimer" },
	[HV_STIMER_DIRECT] = { "stimer-direct", "hv-stimer-direct" },
	[HV_RESET] = { "reset", "hv-reset" },
	[HV_FREQUENCIES] = { "frequencies", "hv-frequencies" },
	[HV_REENLIGHTENMENT] = { "reenlightenment", "hv-reenlightenment" },
	[HV_TLBFLUSH] = { "tlbflush", "hv-tlbflush" },
	[HV_IPI] = { "ipi", "hv-ipi" },
	[HV_EVMCS] = { "evmcs", "hv-evmcs" },
	[HV_AVIC] = { "avic", "hv-avic" },
	[HV_TIME] = { "hypervclock", "hv-time" },
};

const char *hv_flag_to_string(enum hv_flag f)
{
	return f >= 0 && f < _HV_FLAG_MAX ? hv_names[f].name : NULL;
}

const char *hv_flag_to_qemu(enum hv_flag f)
{
	return f >= 0 && f < _HV_FLAG_MAX ? hv_names[f].qemu : NULL;
}

size_t hv_flag_requires(enum hv_flag f, const enum hv_flag **ret)
{
	static const enum hv_flag vpindex[] = { HV_VPINDEX };
	static const enum hv_flag synic[] = { HV_VPINDEX };
	static const enum hv_flag stimer[] = { HV_VPINDEX, HV_SYNIC, HV_TIME };
	static const enum hv_flag stimer_direct[] = { HV_STIMER };
	static const enum hv_flag evmcs[] = { HV_VAPIC };

	switch (f) {
	case HV_SYNIC:
		*ret = synic;
		return ELEMENTSOF(synic);
	case HV_STIMER:
		*ret = stimer;
		return ELEMENTSOF(stimer);
	case HV_STIMER_DIRECT:
		*ret = stimer_direct;
		return ELEMENTSOF(stimer_direct);
	case HV_TLBFLUSH:
	case HV_IPI:
		*ret = vpindex;
		return ELEMENTSOF(vpindex);
	case HV_EVMCS:
		*ret = evmcs;
		return ELEMENTSOF(evmcs);
	default:
		*ret = NULL;
		return 0;
	}
}

const char *accel_mode_to_string(enum accel_mode m)
{
	return enum_name_lookup(accel_names, m);
}

const char *hugepages_mode_to_string(enum hugepages_mode m)
{
	return enum_name_lookup(hugepages_names, m);
}

const char *hook_when_to_string(enum hook_when w)
{
	return enum_name_lookup(hook_when_names, w);
}

const char *tpm_model_to_string(enum tpm_model m)
{
	return enum_name_lookup(tpm_names, m);
}

const char *watchdog_action_to_string(enum watchdog_action a)
{
	return enum_name_lookup(watchdog_action_names, a);
}

const char *thp_defrag_to_string(enum thp_defrag m)
{
	return m == THP_DEFRAG_KEEP ? NULL : enum_name_lookup(thp_defrag_names, m);
}
