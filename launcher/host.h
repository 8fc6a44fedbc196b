/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host facts: everything gamevm reads about the host, read-only, through a
 * host_root. The plan and the argv builder take these as input and never
 * touch the host themselves, so golden tests run them on fixture hosts
 * (tests/hosts/NAME/) and get the same answers on any machine.
 *
 * Each probe returns 0 or negative errno and never prints. A missing part of
 * the host (no IOMMU, no /dev/kvm, no NUMA) is a fact, not an error: it is
 * recorded as absent (empty list, present=false) and the probe succeeds.
 *
 * Fixture form of non-file facts: a fixture tree cannot hold a KVM device or
 * a QEMU binary of another version, so
 *   - dev/kvm that is a regular file holds "key=value" lines (see host-kvm.c),
 *   - the QEMU binary is looked up under the root (usr/bin/...) and run; a
 *     fixture ships a small shell script that prints what that QEMU would.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "hostroot.h"
#include "parse-util.h"

/* ---- CPUs ---------------------------------------------------------------- */

enum core_type {
	CORE_TYPE_UNKNOWN, /* not a hybrid CPU */
	CORE_TYPE_PERFORMANCE,
	CORE_TYPE_EFFICIENCY,
};

struct host_cpu {
	unsigned id; /* logical CPU number (cpuN) */
	bool online;
	int package;	/* topology/physical_package_id */
	int die;	/* topology/die_id, 0 when absent */
	int core;	/* topology/core_id (not unique across packages) */
	int core_index; /* dense index of (package, die, core), 0.. */
	int smt_index;	/* 0 for the first thread of its core, 1 for its sibling... */
	int l3;		/* dense L3 domain index, -1 when unknown */
	int node;	/* NUMA node, -1 when unknown */
	enum core_type type;
};

struct host_l3 {
	unsigned *cpus; /* sorted */
	size_t n_cpus;
	uint64_t size_bytes; /* cache/indexN/size, 0 when unknown */
};

struct host_node {
	int id;
	unsigned *cpus; /* sorted */
	size_t n_cpus;
	uint64_t mem_total_bytes;
};

struct host_cpus {
	struct host_cpu *cpus; /* sorted by id */
	size_t n_cpus;
	struct host_l3 *l3s;
	size_t n_l3s;
	struct host_node *nodes;
	size_t n_nodes;
	char *vendor;	  /* "AuthenticAMD", "GenuineIntel" (proc/cpuinfo vendor_id) */
	char *model_name; /* proc/cpuinfo "model name" */
	bool smt;	  /* any core has more than one online thread */
	bool hybrid;	  /* P and E cores seen */
	unsigned n_packages;
	unsigned n_cores; /* physical cores, all packages */
};

int host_cpus_probe(const struct host_root *h, struct host_cpus *ret);
void host_cpus_done(struct host_cpus *c);
const struct host_cpu *host_cpus_find(const struct host_cpus *c, unsigned id);

/* ---- memory ---------------------------------------------------------------- */

struct host_hugepool {
	uint64_t page_size; /* bytes */
	int node;	    /* -1 = the global pool (sys/kernel/mm/hugepages) */
	uint64_t nr, free, resv, surplus;
};

struct host_memory {
	uint64_t mem_total_bytes; /* proc/meminfo MemTotal */
	struct host_hugepool *pools;
	size_t n_pools;
};

int host_memory_probe(const struct host_root *h, struct host_memory *ret);
void host_memory_done(struct host_memory *m);
const struct host_hugepool *host_memory_find_pool(const struct host_memory *m, uint64_t page_size,
						  int node);

/* ---- PCI and IOMMU ----------------------------------------------------------- */

struct host_pci_dev {
	struct pci_addr addr;
	uint16_t vendor, device;
	uint16_t subsystem_vendor, subsystem_device;
	uint32_t class_code; /* 24 bits: 0x030000 VGA, 0x040300 HDA, 0x0c0330 xHCI */
	char *vendor_name;   /* libpci, NULL when the ids database has none */
	char *device_name;
	char *class_name;
	int iommu_group; /* -1 when not in a group */
	char *driver;	 /* bound driver, NULL when unbound */
	char *driver_override;
	char *reset_method; /* "flr bus", NULL when the attribute is absent */
	int numa_node;	    /* -1 when unknown */
	bool is_bridge;	    /* PCI-PCI bridge / root port: may share a group */
	bool boot_vga;
	/*
	 * Integrated in the root complex: its sysfs parent is the root bus
	 * (devices/pci0000:00/ADDR), not a bridge or port.
	 */
	bool on_root_bus;
	bool has_upstream;	  /* upstream is valid */
	struct pci_addr upstream; /* the bridge or port the device sits behind */
};

struct host_iommu_group {
	int id;
	size_t *devs; /* indexes into host_pci.devs, in address order */
	size_t n_devs;
};

struct host_pci {
	bool iommu_enabled;	   /* sys/kernel/iommu_groups has entries */
	struct host_pci_dev *devs; /* sorted by address */
	size_t n_devs;
	struct host_iommu_group *groups; /* sorted by id */
	size_t n_groups;
};

/*
 * Reads the devices in sys/bus/pci/devices/ and the groups in
 * sys/kernel/iommu_groups/N/devices/, without names.
 * Returns 0, or negative errno; -EUCLEAN when a group directory and a
 * device's iommu_group link disagree (hotplug race or a broken tree).
 */
int host_pci_probe(const struct host_root *h, struct host_pci *ret);
/*
 * Fills the vendor, device and class names from libpci's ids database of
 * the machine gamevm runs on (they stay NULL where it has none). Separate:
 * loading pci.ids takes some 8 ms, half of what a start takes otherwise.
 */
int host_pci_names(struct host_pci *p);
void host_pci_done(struct host_pci *p);
const struct host_pci_dev *host_pci_find(const struct host_pci *p, const struct pci_addr *a);
const struct host_iommu_group *host_pci_find_group(const struct host_pci *p, int id);

/*
 * A device that counts when deciding whether a group is shared: not a
 * PCI-PCI bridge or root port (the kernel's vfio lets those share a group
 * and they stay on the host) and not a host bridge (driverless, stays too).
 */
bool host_pci_dev_is_endpoint(const struct host_pci_dev *d);

enum host_iommu_verdict {
	HOST_IOMMU_ISOLATED,	 /* one endpoint, or endpoints that are one card */
	HOST_IOMMU_SHARED,	 /* endpoints of more than one device */
	HOST_IOMMU_BRIDGES_ONLY, /* nothing to pass through */
	_HOST_IOMMU_VERDICT_MAX,
	_HOST_IOMMU_VERDICT_INVALID = -EINVAL,
};

struct host_iommu_group_verdict {
	enum host_iommu_verdict verdict;
	bool one_slot;	/* ISOLATED with several functions of one slot */
	size_t *others; /* indexes into host_pci.devs: the endpoints that make it SHARED */
	size_t n_others;
	char *text; /* "isolated", "isolated (one slot)", "shared with 0000:00:14.2", ... */
};

/*
 * Decides whether the devices of group g can go to a guest without taking
 * other devices along. Bridges are ignored. Functions of one slot count as
 * one card (GPU + HDMI audio: "isolated (one slot)") when the slot sits
 * behind a port and holds a display function or functions of one class;
 * functions of a chipset slot (AMD 02:00.x USB + SATA, Intel PCH 00:14.x)
 * are separate controllers and make the group shared.
 * With focus (a device of g, the one the user wants), others are the
 * endpoints outside focus's card and the text reads "shared with X, Y";
 * without focus, others are all endpoints and the text reads "shared by X
 * and Y". Pure: no I/O.
 * Returns 0, -ENOENT if focus is not in g, -ENOMEM.
 */
int host_iommu_group_verdict(const struct host_pci *p, const struct host_iommu_group *g,
			     const struct pci_addr *focus, struct host_iommu_group_verdict *ret);
void host_iommu_group_verdict_done(struct host_iommu_group_verdict *v);
/* "isolated", "shared", "bridges-only" (the --json spelling) */
const char *host_iommu_verdict_to_string(enum host_iommu_verdict v);

/* ---- KVM --------------------------------------------------------------------- */

/*
 * The steps of the firmware probe guest (kvm-probe-rom.S), in order: each is
 * reported by the guest once done. OVMF walks the same path in its SEC
 * phase before it prints anything.
 */
enum kvm_probe_step {
	KVM_PROBE_STEP_NONE = 0,      /* nothing ran */
	KVM_PROBE_STEP_REAL_MODE = 1, /* code at the reset vector, 16-bit real mode */
	KVM_PROBE_STEP_PROTECTED = 2, /* LGDT, CR0.PE, far jump: 32-bit protected mode */
	KVM_PROBE_STEP_X87 = 3,	      /* FWAIT, FNINIT, FNSTCW */
	KVM_PROBE_STEP_CPU = 4,	      /* CPUID, RDTSC, CR4.OSFXSR, SSE */
	KVM_PROBE_STEP_LONG_MODE = 5, /* paging, EFER.LME, CR0.PG: 64-bit code runs */
	_KVM_PROBE_STEP_MAX,
};

struct host_kvm {
	bool present; /* dev/kvm exists */
	bool usable;  /* opened and KVM_GET_API_VERSION == 12 */
	/*
	 * The probe guest ran at all: its first step (real mode) came back.
	 * Nested KVM can open /dev/kvm and still fail to enter a guest.
	 */
	bool runs_guests;
	/*
	 * The probe guest went the firmware's way from the reset vector to
	 * 64-bit mode and halted there. A nested or paravirtual KVM without
	 * hardware virtualization can run real-mode code and still fail on
	 * the first instruction its emulator lacks; OVMF would die there with
	 * a KVM internal error. accel = auto and kvm need this.
	 */
	bool runs_firmware;
	int api_version;
	bool smm;		  /* KVM_CAP_X86_SMM on a VM fd */
	bool hv_cpuid;		  /* KVM_GET_SUPPORTED_HV_CPUID worked: the hv_* words are valid */
	uint32_t hv_features_eax; /* CPUID 0x40000003 EAX */
	uint32_t hv_features_edx; /* CPUID 0x40000003 EDX */
	uint32_t hv_enlight_eax;  /* CPUID 0x40000004 EAX */
	uint32_t hv_nested_eax;	  /* CPUID 0x4000000A EAX */
	unsigned max_vcpus;	  /* KVM_CAP_MAX_VCPUS, 0 unknown */
	bool hyperv;		  /* KVM_CAP_HYPERV: Hyper-V emulation at all */
	bool hv_enforce_cpuid;	  /* KVM_CAP_HYPERV_ENFORCE_CPUID (hv-enforce-cpuid) */
	/*
	 * Why not usable: negative errno from opening dev/kvm or from
	 * KVM_GET_API_VERSION (-EACCES: not in group kvm), -EPROTO for an API
	 * version other than 12; 0 when usable or absent.
	 */
	int error;
	/*
	 * Why the probe guest did not finish (runs_firmware false while
	 * usable): negative errno of the failing ioctl (KVM_CREATE_VM,
	 * KVM_RUN...), or -EIO when KVM_RUN came back with another exit than
	 * the guest's own (guest_exit_reason: KVM_EXIT_*, -1 when no run;
	 * guest_suberror for KVM_EXIT_INTERNAL_ERROR, 1 = emulation failure).
	 */
	int guest_error;
	int guest_exit_reason;
	int guest_suberror;
	enum kvm_probe_step probe_step; /* the last step the guest reported */
	/* Read from a fixture file (tests/hosts/NAME/dev/kvm), not probed. */
	bool fixture;
	/*
	 * Not a probe: gamevm start saw QEMU fail under KVM before the guest
	 * ran (a KVM internal error, an MSR KVM refused...) although the
	 * probe guest passed. Outweighs the probe.
	 */
	bool qemu_failed;
	/*
	 * The device node's owner and mode (fixture keys dev_uid, dev_gid,
	 * dev_mode), so that whether QEMU's user can open it is known before
	 * QEMU tries. have_owner false: not known (a fixture without them);
	 * has_acl: an access ACL may grant more than the mode says.
	 */
	bool have_owner, has_acl;
	uid_t dev_uid;
	gid_t dev_gid;
	mode_t dev_mode;
};

/*
 * The KVM facts, from root's dev/kvm: a character device is probed with
 * ioctls and the firmware probe guest; a regular file is the fixture form.
 * In test builds (testhook.h) GAMEVM_TEST_KVM names a fixture file that
 * stands in for the real device, so a test can play a KVM this host lacks.
 */
int host_kvm_probe(const struct host_root *h, struct host_kvm *ret);

/* What gamevm makes of a KVM, from the worst to the best. */
enum kvm_verdict {
	KVM_VERDICT_ABSENT,   /* no dev/kvm */
	KVM_VERDICT_UNUSABLE, /* cannot be opened, or the probe guest did not reach 64-bit mode */
	KVM_VERDICT_NO_SMM,   /* runs firmware, without System Management Mode */
	KVM_VERDICT_USABLE,
};

enum kvm_verdict host_kvm_verdict(const struct host_kvm *k);
/* "absent", "unusable", "usable without SMM", "usable" */
const char *kvm_verdict_to_string(enum kvm_verdict v);
/*
 * The evidence for the verdict, one clause for a message, e.g. "the
 * firmware probe guest stopped at x87 FPU set-up (FWAIT/FNINIT) in 32-bit
 * protected mode with a KVM emulation failure (KVM_EXIT_INTERNAL_ERROR,
 * suberror 1)". Pure. Returns 0 or -ENOMEM.
 */
int host_kvm_describe(const struct host_kvm *k, char **ret);

/*
 * Whether KVM offers the CPUID bits QEMU requires for an hv-* flag (its
 * kvm_hyperv_properties table; dependencies between flags are not checked
 * here). False when the Hyper-V CPUID could not be read.
 */
bool host_kvm_hv_supported(const struct host_kvm *k, enum hv_flag f);
/* QEMU's description of the flag, "synthetic timers (hv-stimer)", for messages. */
const char *hv_flag_description(enum hv_flag f);

/* ---- QEMU ------------------------------------------------------------------ */

struct host_qemu_alias {
	char *name;   /* "q35" */
	char *target; /* "pc-q35-7.2" */
};

struct host_qemu {
	char *binary; /* resolved path, as it goes into argv[0] */
	unsigned major, minor, micro;
	char **machines;   /* "pc-q35-7.2", ... (from -machine help), NULL-terminated */
	char *q35_default; /* what "q35" is an alias of, e.g. "pc-q35-7.2" */
	bool has_run_with; /* -run-with (8.1+) */
	bool has_runas;	   /* -runas (removed in 10.0) */
	size_t n_machines; /* entries in machines, aliases included */
	struct host_qemu_alias *aliases; /* "q35" -> "pc-q35-7.2", "pc" -> ... */
	size_t n_aliases;
	char *default_machine; /* the one marked "(default)", NULL if none */
	char *version_line;    /* "QEMU emulator version 7.2.22 (Debian ...)" for messages */
};

/*
 * Runs "BINARY -version" and "BINARY -machine help" (binary looked up in
 * the root's usr/bin, usr/local/bin and bin when not absolute).
 */
int host_qemu_probe(const struct host_root *h, const char *binary, struct host_qemu *ret);
/*
 * The same, with what QEMU answered kept in cache_dir_fd (the run
 * directory) for as long as the binary stays the same file; -1: no cache.
 */
int host_qemu_probe_cached(const struct host_root *h, const char *binary, int cache_dir_fd,
			   struct host_qemu *ret);
void host_qemu_done(struct host_qemu *q);
/* Resolves an alias ("q35") to the concrete machine type, or copies name. */
int host_qemu_resolve_machine(const struct host_qemu *q, const char *name, char **ret);
bool host_qemu_version_at_least(const struct host_qemu *q, unsigned major, unsigned minor);
/* Whether name is one of the machine types (or aliases) this QEMU lists. */
bool host_qemu_has_machine(const struct host_qemu *q, const char *name);

/* ---- DMI ------------------------------------------------------------------- */

/* sys/class/dmi/id/NAME; fields NULL when absent or unreadable (serials need root). */
struct host_dmi {
	char *bios_vendor, *bios_version, *bios_date, *bios_release;
	char *sys_vendor, *product_name, *product_version, *product_serial, *product_sku,
		*product_family, *product_uuid;
	char *board_vendor, *board_name, *board_version, *board_serial, *board_asset_tag;
	char *chassis_vendor, *chassis_version, *chassis_serial, *chassis_asset_tag;
	/* OEM licence tables (sys/firmware/acpi/tables/MSDM, SLIC) the firmware has */
	bool acpi_msdm, acpi_slic;
};

int host_dmi_probe(const struct host_root *h, struct host_dmi *ret);
void host_dmi_done(struct host_dmi *d);

/* ---- all of it --------------------------------------------------------------- */

/* ---- users ------------------------------------------------------------------- */

struct host_user {
	char *name;
	uid_t uid;
	gid_t gid;     /* primary group */
	char *home;    /* home directory, "" when the database has none (host_user_lookup only) */
	gid_t *groups; /* all, the primary one included */
	size_t n_groups;
};

void host_user_done(struct host_user *u);
/*
 * name from the user database: NSS (getpwnam_r, getgrouplist) on the real
 * host, etc/passwd and etc/group under a fixture root. -ENOENT: no such
 * user (or a fixture root without etc/passwd).
 */
int host_user_lookup(const struct host_root *h, const char *name, struct host_user *ret);
/* The user this process runs as, with its supplementary groups. */
int host_user_self(struct host_user *ret);
bool host_user_in_group(const struct host_user *u, gid_t g);

/* ---- running the host's programs ----------------------------------------------- */

/*
 * Runs the host root's program NAME (looked up in its PATH; on a fixture
 * tree the tree's own script, which emulates it) with args (NULL-terminated,
 * without argv[0]) and gamevm's privileges, and waits up to timeout_ms
 * (-ETIMEDOUT: killed). 0 when it ran: *ret_status (may be NULL) is its wait
 * status, *ret_output (may be NULL) what it printed, NULL when nothing.
 */
int host_run(const struct host_root *h, const char *name, const char *const *args, int timeout_ms,
	     int *ret_status, char **ret_output);

/* ---- desktop devices (host-desktop.c) ------------------------------------------- */

/* The input major: evdev nodes are char 13:64 and up. */
#define HOST_INPUT_MAJOR 13

/*
 * One [input] evdev path as the host has it. A path is followed through
 * its symlinks (by-id/by-path point at ../eventN) within dev/.
 * Fixture form (not on the real root): a regular file holding the line
 * "rdev=MAJOR:MINOR" stands for a character device with that number.
 */
struct host_evdev {
	const char *path; /* the config's, "/dev/input/by-id/..." */
	int err;	  /* 0, or -errno: -ENOENT not there, -EXDEV a link out of dev/ */
	char *node;	  /* what it resolves to under dev/: "input/event3" */
	bool is_chr;	  /* a character device (or its fixture form) */
	unsigned major, minor;
	uid_t uid;
	gid_t gid;
};

/* A file or node of the desktop sections as lstat(2) sees it (its fixture form as for evdev). */
struct host_file {
	int err; /* 0, or -errno (-ENOENT: absent) */
	bool is_chr, is_reg, is_link;
	uid_t uid;
	gid_t gid;
	mode_t mode; /* the permission bits */
	uint64_t size;
};

/* [looking-glass] device = kvmfr: the node of the kvmfr module's first device. */
#define HOST_KVMFR_NODE "kvmfr0"
/* [looking-glass] device = shm: the file under dev/. */
#define HOST_LG_SHM "shm/looking-glass"

struct host_desktop {
	struct host_evdev *evdevs; /* one per [input] evdev path, in config order */
	size_t n_evdevs;
	/* [looking-glass], probed when enabled */
	bool kvmfr_loaded;	  /* sys/module/kvmfr */
	unsigned kvmfr_static_mb; /* kvmfr0's size: the first of parameters/static_size_mb, 0 = none
				   */
	struct host_file kvmfr0;  /* dev/kvmfr0 */
	struct host_file lg_shm;  /* dev/shm/looking-glass */
	struct host_user lg_user; /* [looking-glass] user; name NULL when there is no such user */
	/* [audio], probed when a backend is set */
	bool qemu_modules;	     /* a QEMU module directory with audio modules (audio-*.so) */
	bool qemu_audio_pa;	     /* audio-pa.so there (Debian: the qemu-system-gui package) */
	const char *qemu_module_dir; /* the directory it found, "usr/lib/x86_64-linux-gnu/qemu" */
	struct host_user audio_user; /* [audio] user; name NULL when there is no such user */
	/* under root/: run/user/UID, run/user/UID/pulse, its socket native */
	struct host_file audio_runtime, audio_pulse, audio_socket;
	struct host_file audio_cookie; /* HOME/.config/pulse/cookie */
	/* var/lib/systemd/linger/USER: the user's services outlive their sessions */
	bool audio_linger;
};

/* The host side of c's desktop sections; what is absent is recorded, not an error. */
int host_desktop_probe(const struct host_root *h, const struct vm_config *c,
		       struct host_desktop *ret);
void host_desktop_done(struct host_desktop *d);

/* ---- everything ---------------------------------------------------------------- */

struct host_facts {
	struct host_cpus cpus;
	struct host_memory memory;
	struct host_pci pci;
	struct host_kvm kvm;
	struct host_dmi dmi;
	char *kernel_cmdline; /* proc/cmdline, NULL when absent */
	/*
	 * The user QEMU will run as (host_facts_qemu_user()); name NULL when
	 * not looked up or unknown: the plan then skips the checks that need it.
	 */
	struct host_user qemu_user;
	/* [input] and the other desktop sections' devices (host_desktop_probe()) */
	struct host_desktop desktop;
};

int host_facts_probe(const struct host_root *h, struct host_facts *ret);
/*
 * Fills f->qemu_user the way gamevm start chooses QEMU's user: name (the
 * config's [vm] user, or the default) when gamevm runs as root or reads a
 * fixture root, else the user running gamevm, who QEMU runs as then. A user
 * that does not exist leaves it unknown (gamevm start says so itself).
 */
int host_facts_qemu_user(const struct host_root *h, const char *name, struct host_facts *f);
void host_facts_done(struct host_facts *f);
