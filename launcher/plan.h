/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plan: every decision in one place, made from (config, host facts)
 * without touching the host. cmdline, topology and check stop here; start
 * goes on to prepare the host and spawn QEMU from the same plan.
 *
 * plan_build() collects every problem it finds as a diagnostic (error,
 * warning or notice), each naming the config file:line or the host path
 * involved and what to do; it returns -EINVAL when any error was found. The
 * caller (launcher) prints the diagnostics; the plan never prints.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "firmware.h"
#include "host.h"
#include "strv.h"

struct vm_paths {
	const char *run_dir;   /* runtime files: /run/gamevm/NAME */
	const char *state_dir; /* persistent: /var/lib/gamevm/NAME (NVRAM, TPM state) */
};

/* QEMU's QMP listening socket arrives as this fd (-chardev socket,fd=3). */
#define PLAN_QMP_FD 3

/*
 * Hugepage RAM: gamevm creates it (a hugetlb memfd), faults it in with its
 * own pinned threads and hands it over as this fd, which QEMU opens as
 * mem-path=/proc/self/fd/4 (tuning/guest-ram.h says why).
 */
#define PLAN_RAM_FD 4

/*
 * [devices] serial = file: gamevm opens serial-path (write-only, created,
 * truncated) and QEMU writes to it through fd set PLAN_SERIAL_FDSET, so the
 * QEMU user needs no access to its directory.
 */
#define PLAN_SERIAL_FD	  5
#define PLAN_SERIAL_FDSET 999

/*
 * [smbios] oem-activation: the host's ACPI MSDM and SLIC tables (root's
 * only) are copied by gamevm into sealed memfds; QEMU opens them as
 * -acpitable file=/proc/self/fd/N (its -acpitable takes no fd sets).
 */
#define PLAN_ACPI_FD(i) (6 + (int)(i))
#define PLAN_ACPI_MAX	2

/*
 * Disk images: gamevm opens them (as root, before the host is touched) and
 * QEMU gets the fds, -add-fd into fd set i + 1 and filename=/dev/fdset/N,
 * so its user needs no access to the images. Disk i arrives as fd
 * PLAN_DISK_FD(i, false) opened read-write (unless the disk is read-only)
 * and PLAN_DISK_FD(i, true) read-only: QEMU picks the one whose access
 * mode matches each open it does (the image is probed read-only first).
 */
#define PLAN_DISK_FD_BASE   10
#define PLAN_DISK_FD(i, ro) (PLAN_DISK_FD_BASE + 2 * (int)(i) + ((ro) ? 1 : 0))
#define PLAN_DISK_FDSET(i)  ((i) + 1)

struct plan_diag {
	int level; /* LOG_ERR, LOG_WARNING, LOG_NOTICE */
	char *msg;
	size_t body; /* msg + body: the text after "FILE:LINE: [section] key: " */
	char *topic; /* "section key" of a diagnostic about a config key, else NULL */
};

struct plan_diags {
	struct plan_diag *v;
	size_t n;
};

void plan_diags_done(struct plan_diags *d);
bool plan_diags_has_error(const struct plan_diags *d);
/* The first diagnostic about [section] key, NULL if none. */
const struct plan_diag *plan_diags_find(const struct plan_diags *d, const char *section,
					const char *key);

/*
 * One host PCI function given to the VM. Functions of one host slot share a
 * pcie-root-port, numbered densely from 0 in host order, so a GPU and its
 * HDMI audio appear as one multifunction device like on real hardware.
 */
struct plan_hostdev {
	struct pci_addr host;
	const struct vm_pci *cfg; /* the [pci NAME] section it came from */
	unsigned port;		  /* root port, 1-based (id "rpN") */
	unsigned function;	  /* guest function on that port */
	bool multifunction;	  /* function 0 of a port with several functions */
};

/* [input] evdev: one host input device QEMU reads (-object input-linux). */
struct plan_evdev {
	const char *path; /* the config's path, which QEMU opens */
	char *node;	  /* the node it resolves to under dev/ ("input/event3"), for its owner */
	bool keyboard;	  /* grab_all and the grab-toggle keys are on it */
};

struct plan {
	enum accel_mode accel; /* ACCEL_KVM or ACCEL_TCG, never AUTO */
	/*
	 * accel = kvm, but QEMU cannot use KVM here at all (already an error):
	 * the checks of what KVM offers (SMM, Hyper-V) are skipped rather than
	 * repeat it once per flag.
	 */
	bool kvm_refused;
	char *machine; /* concrete machine type, "pc-q35-7.2" */
	bool smm;

	/* firmware (UEFI): code is mapped read-only, nvram is the VM's own copy */
	const struct firmware_desc *firmware; /* NULL with explicit paths or BIOS */
	char *fw_code, *fw_code_format;
	char *fw_vars_template, *fw_vars_format;
	char *nvram_path;
	bool secure_boot;
	bool pflash_secure; /* flash writable from SMM only: cfi.pflash01 secure=on */

	char *cpu_model; /* "host", or a named model ("max" under TCG) */
	bool cpu_vendor_intel;
	/* [smbios] oem-activation: the host tables the guest gets, "MSDM", "SLIC" */
	const char *acpi_tables[PLAN_ACPI_MAX];
	size_t n_acpi_tables;	/* vendor=GenuineIntel: SMT visible under TCG (plan_cpu) */
	bool cache_passthrough; /* host-cache-info=on,l3-cache=off (KVM + host model) */
	uint64_t hugepage_size; /* bytes, 0 = normal pages */

	struct vm_topology topology; /* resolved, product == vcpus */
	unsigned *vcpu_pin;	     /* n = vcpus, NULL when not pinned */
	unsigned *housekeeping;	     /* sorted */
	size_t n_housekeeping;
	int numa_node; /* host node all vCPUs run on (guest memory belongs there), -1 = none */
	/*
	 * Hugepage RAM is faulted in before QEMU starts by prealloc_threads
	 * threads of gamevm's, one per CPU of prealloc_cpus in turn
	 * (PLAN_RAM_FD). 0 / NULL with normal pages; prealloc_cpus NULL: the
	 * threads are not pinned.
	 */
	unsigned prealloc_threads;
	unsigned *prealloc_cpus; /* sorted */
	size_t n_prealloc_cpus;

	bool hyperv;	       /* hv-* go on -cpu: KVM and [hyperv] enabled */
	bool hv_passthrough;   /* hv-passthrough=on instead of hv[] */
	bool hv[_HV_FLAG_MAX]; /* resolved against KVM's Hyper-V CPUID */

	/* SMBIOS after merging the host's DMI (mode = host) with the config */
	struct vm_smbios smbios;

	/*
	 * Devices. Root ports are numbered in a fixed order (passthrough slots,
	 * USB controller, SCSI controller, virtio-blk disks, NICs) so that adding
	 * a disk never moves the GPU: Windows keys drivers by PCI location.
	 * (Then the balloon, when asked for.)
	 */
	struct plan_hostdev *hostdevs; /* sorted by host address within a port */
	size_t n_hostdevs;
	unsigned n_root_ports;
	unsigned usb_port;	/* qemu-xhci, 0 = none */
	unsigned scsi_port;	/* virtio-scsi-pci, 0 = no SCSI disk */
	unsigned scsi_iothread; /* 1-based, 0 = main loop */
	unsigned *disk_port;	/* per config disk; 0 for SATA and SCSI disks */
	unsigned *net_port;	/* per config NIC; 0 for mode = none */
	unsigned balloon_port;	/* virtio-balloon-pci, 0 = none (the seed's choice) */
	/*
	 * The desktop devices come after all of those, so that turning them on
	 * moves nothing that was there before: [input] virtio (keyboard, mouse).
	 */
	unsigned input_kbd_port, input_mouse_port;
	unsigned lg_port;    /* [looking-glass] ivshmem-plain */
	char (*net_mac)[18]; /* per config NIC: given or derived */

	struct plan_evdev *evdevs; /* [input] evdev, in config order */
	size_t n_evdevs;

	/*
	 * [looking-glass]: the IVSHMEM memory, /dev/kvmfr0 or
	 * /dev/shm/looking-glass, owned by the desktop user (its client maps
	 * it) with QEMU's user's group, 0660, while the VM runs.
	 */
	bool lg;
	bool lg_kvmfr; /* /dev/kvmfr0, else /dev/shm/looking-glass */
	unsigned lg_size_mib;
	uid_t lg_uid; /* [looking-glass] user */

	/*
	 * [audio]: QEMU's PulseAudio driver on the desktop user's socket
	 * (PulseAudio's, or pipewire-pulse's), reached through ACL entries on
	 * its runtime dir (prepare-desktop.c); its auth cookie copied for QEMU.
	 */
	bool audio;
	bool audio_usb;	    /* usb-audio on the xHCI, else ich9-intel-hda + hda-micro */
	uid_t audio_uid;    /* [audio] user */
	char *audio_socket; /* "/run/user/1000/pulse/native" */
	char *audio_cookie; /* the user's cookie under the root ("home/alice/.config/pulse/cookie"),
			       NULL = none */

	char *qmp_socket; /* gamevm binds it; QEMU gets the listening fd as PLAN_QMP_FD */
	char *swtpm_socket;
	char *pid_file; /* unused by the argv: gamevm holds QEMU's pidfd */
	char *uuid;
};

/*
 * Looking Glass's IVSHMEM size for a width x height desktop, in MiB: two
 * frames of 4 bytes a pixel (8 with HDR), plus 10 MiB for the cursor and
 * the protocol, rounded up to a power of two (looking-glass.io,
 * "Determining memory"). 1920x1080: 32.
 */
unsigned plan_lg_size_mib(unsigned width, unsigned height, bool hdr);

int plan_build(const struct vm_config *c, const struct host_facts *f, const struct host_qemu *q,
	       const struct firmware_list *fw, const struct vm_paths *paths, struct plan *ret,
	       struct plan_diags *diags);
void plan_done(struct plan *p);

/*
 * The QEMU argv (argv[0] = the binary), pure: the same inputs always give
 * the same vector, which tests/golden/ pins down item by item.
 */
int qemu_argv_build(const struct vm_config *c, const struct plan *p, const struct host_qemu *q,
		    struct strv *ret);
