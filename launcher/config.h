/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM config file: INI, parsed with libinih, validated key by key.
 * docs/config.md documents every key; this struct is "what the file says",
 * after validation, with defaults filled in. Decisions that need host facts
 * (auto values) are made later, in the plan.
 *
 * Usage:
 *   struct vm_config *c = NULL;
 *   _cleanup_(config_error_done) struct config_error e = {0};
 *   r = config_load("win11.conf", &c, &e);   // on failure e.msg says file:line: ...
 *   ...
 *   config_free(c);
 *
 * config_load() never prints: on failure it returns -EINVAL (bad content),
 * or -errno (I/O), and fills *err with one complete message for the user.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse-util.h"

enum tristate {
	TRISTATE_AUTO = -1,
	TRISTATE_OFF = 0,
	TRISTATE_ON = 1,
};

enum accel_mode {
	ACCEL_AUTO, /* KVM when usable, else TCG (the demo) */
	ACCEL_KVM,
	ACCEL_TCG,
};

enum hugepages_mode {
	HUGEPAGES_NONE,
	HUGEPAGES_2M,
	HUGEPAGES_1G,
};

enum firmware_type {
	FIRMWARE_UEFI,
	FIRMWARE_BIOS,
};

enum tpm_model {
	TPM_NONE,
	TPM_CRB,
	TPM_TIS,
};

enum smbios_mode {
	SMBIOS_NONE,   /* QEMU's defaults */
	SMBIOS_CUSTOM, /* only the keys given */
	SMBIOS_HOST,   /* copy the host's /sys/class/dmi/id, keys given override */
};

enum disk_bus {
	DISK_BUS_VIRTIO_BLK,
	DISK_BUS_VIRTIO_SCSI,
	DISK_BUS_SATA, /* AHCI: installer ISOs, virtio-win driver ISO */
};

enum disk_media {
	DISK_MEDIA_DISK,
	DISK_MEDIA_CDROM,
};

enum disk_format {
	DISK_FORMAT_RAW,
	DISK_FORMAT_QCOW2,
};

enum disk_cache {
	DISK_CACHE_NONE, /* O_DIRECT, host page cache bypassed (the seed) */
	DISK_CACHE_WRITEBACK,
	DISK_CACHE_WRITETHROUGH,
	DISK_CACHE_DIRECTSYNC,
	DISK_CACHE_UNSAFE,
};

enum disk_aio {
	DISK_AIO_NATIVE,
	DISK_AIO_IO_URING,
	DISK_AIO_THREADS,
};

enum disk_discard {
	DISK_DISCARD_IGNORE,
	DISK_DISCARD_UNMAP,
};

enum net_mode {
	NET_USER,
	NET_BRIDGE,
	NET_TAP,
	NET_NONE,
};

enum net_model {
	NET_MODEL_VIRTIO,
	NET_MODEL_E1000E,
};

enum serial_mode {
	SERIAL_NONE,
	SERIAL_PTY,
	SERIAL_FILE,
};

enum clock_base {
	CLOCK_BASE_LOCALTIME, /* Windows keeps the RTC in local time */
	CLOCK_BASE_UTC,
};

enum watchdog_model {
	WATCHDOG_NONE,
	WATCHDOG_ITCO,
};

enum watchdog_action {
	WATCHDOG_ACTION_RESET,
	WATCHDOG_ACTION_SHUTDOWN,
	WATCHDOG_ACTION_POWEROFF,
	WATCHDOG_ACTION_PAUSE,
	WATCHDOG_ACTION_NONE,
	WATCHDOG_ACTION_INJECT_NMI,
};

/* [tuning] thp-defrag: the kernel's words, or keep (leave it alone) */
enum thp_defrag {
	THP_DEFRAG_KEEP,
	THP_DEFRAG_ALWAYS,
	THP_DEFRAG_DEFER,
	THP_DEFRAG_DEFER_MADVISE,
	THP_DEFRAG_MADVISE,
	THP_DEFRAG_NEVER,
};

enum display_device {
	DISPLAY_NONE, /* the passed-through GPU is the display (the seed) */
	DISPLAY_STD,
	DISPLAY_QXL,
	DISPLAY_VIRTIO,
};

/* [input] grab-toggle: QEMU's GrabToggleKeys, the keys that move the evdev grab. */
enum grab_toggle {
	GRAB_TOGGLE_CTRL_CTRL,
	GRAB_TOGGLE_ALT_ALT,
	GRAB_TOGGLE_SHIFT_SHIFT,
	GRAB_TOGGLE_META_META,
	GRAB_TOGGLE_SCROLLLOCK,
	GRAB_TOGGLE_CTRL_SCROLLLOCK,
};

/*
 * [input]: the host's keyboard and mouse given to the guest through evdev
 * (QEMU's input-linux), switched between host and guest by grab-toggle.
 */
struct vm_input {
	char **evdev; /* NULL-terminated absolute paths under /dev/input/, NULL = none */
	size_t n_evdev;
	enum grab_toggle grab_toggle;
	bool virtio; /* virtio-keyboard-pci + virtio-mouse-pci instead of PS/2 */
};

/* [looking-glass] device: what backs the IVSHMEM frame buffer. */
enum lg_device {
	LG_DEVICE_AUTO,	 /* kvmfr when its module is loaded, else shm */
	LG_DEVICE_KVMFR, /* /dev/kvmfr0 (the kvmfr module: DMA to the host GPU) */
	LG_DEVICE_SHM,	 /* /dev/shm/looking-glass */
};

/*
 * [looking-glass]: an IVSHMEM device whose memory the host's
 * looking-glass-client (run by user) reads the guest's frames from.
 */
struct vm_looking_glass {
	bool enabled; /* the section is there, unless enabled = no */
	unsigned width, height;
	bool hdr;
	enum lg_device device;
	char *user; /* the desktop user who runs the client */
};

/* [audio] backend: the host's sound server the guest's sound card plays through. */
enum audio_backend {
	AUDIO_NONE,
	AUDIO_PULSEAUDIO,
	AUDIO_PIPEWIRE, /* through pipewire-pulse's PulseAudio socket */
};

/* [audio] device: the guest's sound card. */
enum audio_device {
	AUDIO_DEVICE_HDA, /* ich9-intel-hda + hda-micro */
	AUDIO_DEVICE_USB, /* usb-audio on the emulated xHCI */
};

struct vm_audio {
	enum audio_backend backend;
	enum audio_device device;
	char *user; /* the desktop user whose sound server QEMU connects to */
};

/* Guest topology: 0 in a field means "not given". */
struct vm_topology {
	unsigned sockets, dies, cores, threads;
};

struct cpu_feature {
	char *name; /* "topoext", "invtsc", ... validated [a-z0-9_.-]+ */
	bool enabled;
};

/*
 * Hyper-V enlightenments. Each flag is a tristate: AUTO means "on if the host
 * supports it" (the default for a Windows guest), ON means required (the plan
 * refuses a host that cannot do it), OFF means not emitted.
 */
enum hv_flag {
	HV_RELAXED,
	HV_VAPIC,
	HV_VPINDEX,
	HV_RUNTIME,
	HV_SYNIC,
	HV_STIMER,
	HV_STIMER_DIRECT,
	HV_RESET,
	HV_FREQUENCIES,
	HV_REENLIGHTENMENT,
	HV_TLBFLUSH,
	HV_IPI,
	HV_EVMCS,
	HV_AVIC,
	HV_TIME, /* hypervclock; set from [clock] hypervclock */
	_HV_FLAG_MAX,
};

struct vm_hyperv {
	bool enabled;	  /* [hyperv] enabled = yes (default) */
	bool passthrough; /* hv-passthrough=on instead of the list */
	enum tristate flags[_HV_FLAG_MAX];
	unsigned spinlocks; /* retries, 0 = off; default 8191 (0x1fff) */
	char *vendor_id;    /* <= 12 chars, NULL = not set */
};

struct vm_smbios {
	enum smbios_mode mode;
	/* type 0 */
	char *bios_vendor, *bios_version, *bios_date, *bios_release;
	/* type 1 */
	char *system_manufacturer, *system_product, *system_version, *system_serial, *system_sku,
		*system_family;
	/* type 2 */
	char *baseboard_manufacturer, *baseboard_product, *baseboard_version, *baseboard_serial,
		*baseboard_asset, *baseboard_location;
	/* type 3 */
	char *chassis_manufacturer, *chassis_version, *chassis_serial, *chassis_asset, *chassis_sku;
	/*
	 * mode = host only: the host's OEM licence tables (ACPI MSDM, SLIC) and
	 * its system UUID go to the guest, so an OEM Windows licence activates.
	 */
	bool oem_activation;
};

struct vm_disk {
	char *name;    /* from [disk NAME] */
	unsigned line; /* line of the section header */
	char *path;    /* file or block device, absolute */
	enum disk_media media;
	enum disk_format format;
	enum disk_bus bus;
	enum disk_cache cache;
	enum disk_aio aio;
	enum disk_discard discard;
	enum tristate detect_zeroes; /* AUTO = unmap when discard=unmap */
	char *serial;		     /* <= 20 chars (virtio-blk limit), NULL = none */
	unsigned iothread;	     /* 1-based index into iothreads, 0 = main loop */
	bool readonly;
	unsigned boot_index; /* 0 = not bootable */
};

struct vm_pci {
	char *name; /* from [pci NAME] */
	unsigned line;
	struct pci_addr addr;
	bool all_functions;   /* every function of addr's slot goes to the VM */
	bool rombar;	      /* default on: OVMF needs the GPU's option ROM */
	char *romfile;	      /* absolute path, NULL = none */
	bool managed;	      /* gamevm binds to vfio-pci and back (default yes) */
	bool primary_display; /* single-GPU setup: the host display GPU itself */
};

/* [hook NAME] when: the point of a VM's life a command runs at. */
enum hook_when {
	HOOK_START, /* the host prepared, before QEMU starts */
	HOOK_STOP,  /* the VM ended and the host put back (also when QEMU failed to start) */
};

/*
 * [hook NAME]: a program gamevm runs itself (no shell: the command is split
 * into words here, quotes kept together), e.g. to switch the monitor's
 * input with ddcutil. Its output goes to gamevm's log.
 */
struct vm_hook {
	char *name; /* from [hook NAME] */
	unsigned line;
	enum hook_when when;
	char **argv; /* NULL-terminated; argv[0] an absolute path */
	unsigned timeout_s;
	bool required; /* a failing start hook fails the start */
};

struct vm_net {
	char *name; /* from [net NAME] */
	unsigned line;
	enum net_mode mode;
	enum net_model model;
	char *bridge; /* NET_BRIDGE: bridge name */
	char *tap;    /* NET_TAP: tap name */
	char *mac;    /* "52:54:00:xx:xx:xx", NULL = derived from the VM name */
};

/* [vm] on-poweroff: what the guest powering itself off means. */
enum on_poweroff {
	ON_POWEROFF_EXIT,	   /* gamevm puts the host back and exits 0 */
	ON_POWEROFF_RESTART,	   /* the VM starts again (a boot-to-game box) */
	ON_POWEROFF_HOST_POWEROFF, /* the host back, then the host powers off */
};

/* [vm] on-crash: QEMU ending on its own with an error, or killed. */
enum on_crash {
	ON_CRASH_EXIT,
	ON_CRASH_RESTART, /* up to [vm] restart-limit times in a row */
};

/* [vm] user when the config does not name one: created by scripts/deps.sh. */
#define CONFIG_DEFAULT_QEMU_USER "gamevm"

struct vm_config {
	char *path; /* the file, as given (for messages) */

	/* [vm] */
	char *name;
	enum accel_mode accel;
	char *machine;		      /* "q35" (default) or "pc-q35-9.2" */
	char *qemu_binary;	      /* default "qemu-system-x86_64", looked up in PATH */
	char *user;		      /* unprivileged user QEMU runs as, NULL = default */
	char *uuid;		      /* NULL = derived */
	bool single_gpu;	      /* the passed GPU also drives the host console */
	char **single_gpu_stop;	      /* units stopped for it, NULL-terminated; NULL = default */
	unsigned single_gpu_timeout;  /* s for programs to close the GPU's nodes (default 10) */
	bool single_gpu_end_sessions; /* end login sessions still holding the GPU (default yes) */
	bool single_gpu_consoles;     /* unbind the framebuffer console (default yes) */
	enum on_poweroff on_poweroff;
	enum on_crash on_crash;
	unsigned restart_limit;	     /* crashes in a row before gamevm gives up (default 3) */
	enum tristate inhibit_sleep; /* logind sleep inhibitor; auto: with passthrough */

	/* [memory] */
	uint64_t memory_bytes;
	enum hugepages_mode hugepages;
	int memory_node;	   /* host NUMA node, -1 = auto */
	unsigned prealloc_threads; /* 0 = auto (plan_prealloc) */
	bool memory_lock;

	/* [cpu] */
	unsigned vcpus;
	struct vm_topology topology; /* all 0 = auto */
	char *cpu_model;	     /* "host" (default) or a named model */
	struct cpu_feature *features;
	size_t n_features;
	bool cache_passthrough; /* host-cache-info=on,l3-cache=off */
	bool hide_hypervisor;	/* kvm=off */
	unsigned *pin;		/* host CPU per vCPU, n_pin == vcpus, or NULL (no pinning) */
	size_t n_pin;
	bool pin_auto;		/* pin = auto (planner issue) */
	unsigned *housekeeping; /* emulator and I/O threads */
	size_t n_housekeeping;
	bool housekeeping_auto;
	unsigned iothreads;

	struct vm_hyperv hyperv;

	/* [firmware] */
	enum firmware_type firmware;
	bool secure_boot;
	enum tristate enrolled_keys; /* AUTO = prefer enrolled (MS keys) */
	enum tristate smm;	     /* AUTO = what the firmware needs */
	char *firmware_code;	     /* explicit paths (both or none) */
	char *firmware_vars;	     /* vars *template* */

	/* [tpm] */
	enum tpm_model tpm;

	struct vm_smbios smbios;

	/* [clock] */
	enum clock_base clock_base;
	bool rtc_catchup; /* driftfix=slew */
	bool pit_delay;	  /* kvm-pit.lost_tick_policy=delay */
	bool hpet;
	bool hypervclock;

	/* [power] */
	bool s3, s4;

	/* [watchdog] */
	enum watchdog_model watchdog;
	enum watchdog_action watchdog_action;

	/* [devices] */
	bool balloon;
	bool usb_controller; /* emulated qemu-xhci */
	enum serial_mode serial;
	char *serial_path; /* SERIAL_FILE */
	enum display_device display;
	char *vnc; /* "127.0.0.1:0", NULL = none */

	struct vm_disk *disks;
	size_t n_disks;
	struct vm_pci *pci;
	size_t n_pci;
	struct vm_net *nets;
	size_t n_nets;
	struct vm_hook *hooks;
	size_t n_hooks;

	struct vm_input input;
	struct vm_looking_glass lg;
	struct vm_audio audio;

	/*
	 * [tuning]: host changes made while the VM runs and undone after
	 * (tuning/); the CPU ones act only when the vCPUs are pinned.
	 */
	bool tune_governor;	/* scaling_governor = performance on the vCPUs' CPUs */
	bool tune_cstates;	/* hold dev/cpu_dma_latency at 0 */
	bool tune_irq_affinity; /* host IRQs to the housekeeping CPUs */
	bool tune_workqueues;	/* unbound workqueues to the housekeeping CPUs */
	bool tune_cpusets;	/* system.slice, user.slice, init.scope to housekeeping */
	enum thp_defrag thp_defrag;
	unsigned stat_interval; /* vm.stat_interval in seconds, 0 = keep */

	/* [qemu] extra = ...: raw args appended last, split on whitespace */
	char **extra_args;

	/* Where each key was set, for messages from later stages. */
	struct config_key_line {
		char *section; /* "cpu", "disk system" */
		char *key;
		unsigned line;
	} * key_lines;
	size_t n_key_lines;
};

struct config_error {
	char *msg; /* "win11.conf:12: [cpu] pinn: unknown key; did you mean 'pin'?" */
};

void config_error_done(struct config_error *e);

/* A systemd unit name fit to hand to systemctl: "display-manager.service". */
bool config_unit_name_is_valid(const char *s);

/* Returns 0, -EINVAL with *err filled, or -errno from I/O (also with *err). */
int config_load(const char *path, struct vm_config **ret, struct config_error *err);
/* Same over an in-memory buffer; path is used in messages only. */
int config_load_string(const char *path, const char *text, struct vm_config **ret,
		       struct config_error *err);
void config_free(struct vm_config *c);

/* Line where section/key was set, 0 if it was not in the file. */
unsigned config_key_line(const struct vm_config *c, const char *section, const char *key);

/* Names for enums, as written in the config file (for messages and JSON). */
const char *hv_flag_to_string(enum hv_flag f); /* "relaxed" ... */
const char *hv_flag_to_qemu(enum hv_flag f);   /* "hv-relaxed" ... */
const char *accel_mode_to_string(enum accel_mode m);
const char *hugepages_mode_to_string(enum hugepages_mode m);
const char *hook_when_to_string(enum hook_when w);
const char *tpm_model_to_string(enum tpm_model m);
const char *watchdog_action_to_string(enum watchdog_action a); /* QEMU's spelling */
const char *thp_defrag_to_string(enum thp_defrag m);	       /* "never", NULL for keep */
const char *grab_toggle_to_string(enum grab_toggle g);	       /* QEMU's spelling */
const char *lg_device_to_string(enum lg_device d);
const char *audio_backend_to_string(enum audio_backend b);
