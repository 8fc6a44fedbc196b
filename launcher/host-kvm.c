/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * KVM facts, from dev/kvm under the host root.
 *
 * A character device is probed with ioctls the way QEMU does before it
 * commits to a configuration:
 *   KVM_GET_API_VERSION (must be 12), KVM_CHECK_EXTENSION for the vCPU limit
 *   and the Hyper-V caps, KVM_GET_SUPPORTED_HV_CPUID on the system fd
 *   (KVM_CAP_SYS_HYPERV_CPUID) or else on a vCPU (KVM_CAP_HYPERV_CPUID),
 *   KVM_CREATE_VM and KVM_CAP_X86_SMM on the VM fd, and finally the
 *   firmware probe guest (kvm-probe-rom.S), which takes OVMF's own path from
 *   the reset vector to 64-bit mode. Nested KVM often opens and answers every
 *   capability query yet cannot enter a guest, and a paravirtual one may run
 *   real-mode code through KVM's emulator and then fail where the firmware
 *   would: only the guest tells, so accel = auto and kvm look at
 *   runs_firmware. The whole probe, KVM_CREATE_VM included, takes about a
 *   millisecond (0.9 ms on a 2-core cloud VM), so it runs each time rather
 *   than being cached: a cache would go stale when kvm_amd or kvm_intel is
 *   reloaded with other parameters (nested=, unrestricted_guest=).
 *
 * A regular file is the fixture form (tests/hosts/NAME/dev/kvm): one
 * "key=value" per line, '#' starts a comment line, unknown keys are errors.
 *   api=12                     KVM_GET_API_VERSION (usable when 12)
 *   runs_firmware=1            the probe guest reached 64-bit mode and halted
 *                              (implies runs_guests, probe_step=5, exit_reason=5)
 *   runs_guests=1              it ran at all (real mode)
 *   probe_step=2               the last step it reported (enum kvm_probe_step)
 *   exit_reason=17             how its last KVM_RUN ended (KVM_EXIT_*)
 *   suberror=1                 KVM_EXIT_INTERNAL_ERROR's suberror (1: emulation)
 *   dev_uid=0 dev_gid=993      the node's owner and mode (octal); without them
 *   dev_mode=0660              nobody's access to it is checked
 *   smm=1                      KVM_CAP_X86_SMM on a VM fd
 *   max_vcpus=4096             KVM_CAP_MAX_VCPUS
 *   hyperv=1                   KVM_CAP_HYPERV
 *   hv_enforce_cpuid=1         KVM_CAP_HYPERV_ENFORCE_CPUID
 *   hv_features_eax=0x0000aaff CPUID 0x40000003 EAX   (any hv_* word sets
 *   hv_features_edx=0x0008cd10 CPUID 0x40000003 EDX    hv_cpuid; hv_cpuid=0|1
 *   hv_enlight_eax=0x00000e24  CPUID 0x40000004 EAX    says it explicitly)
 *   hv_nested_eax=0x000a0000   CPUID 0x4000000A EAX
 * Booleans take 0/1 (or yes/no), numbers decimal or 0x-hex. Missing keys are
 * 0/false. An api other than 12 makes the device unusable and clears the
 * rest, as on a real host.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"
#include "parse-util.h"
#include "testhook.h"

#define KVM_API_VERSION_EXPECTED 12

#define HV_CPUID_FEATURES	  0x40000003
#define HV_CPUID_ENLIGHTMENT_INFO 0x40000004
#define HV_CPUID_NESTED_FEATURES  0x4000000A

/* Older uapi headers lack the newest caps; the numbers are ABI. */
#ifndef KVM_CAP_SYS_HYPERV_CPUID
#define KVM_CAP_SYS_HYPERV_CPUID 191
#endif
#ifndef KVM_CAP_HYPERV_ENFORCE_CPUID
#define KVM_CAP_HYPERV_ENFORCE_CPUID 199
#endif

/* ---- Hyper-V flags ------------------------------------------------------------ */

enum hv_word {
	HV_WORD_NONE,
	HV_WORD_FEATURES_EAX, /* 0x40000003 EAX */
	HV_WORD_FEATURES_EDX, /* 0x40000003 EDX */
	HV_WORD_ENLIGHT_EAX,  /* 0x40000004 EAX */
};

/*
 * QEMU's kvm_hyperv_properties (target/i386/kvm/kvm.c, 6.2 and later):
 * every listed bit must be offered by KVM for the flag to work.
 */
static const struct {
	const char *desc;
	struct {
		enum hv_word word;
		uint32_t bits;
	} req[2];
} hv_props[_HV_FLAG_MAX] = {
	[HV_RELAXED] = { "relaxed timing (hv-relaxed)", { { HV_WORD_ENLIGHT_EAX, 1u << 5 } } },
	[HV_VAPIC] = { "virtual APIC (hv-vapic)", { { HV_WORD_FEATURES_EAX, 1u << 4 } } },
	[HV_VPINDEX] = { "VP_INDEX MSR (hv-vpindex)", { { HV_WORD_FEATURES_EAX, 1u << 6 } } },
	[HV_RUNTIME] = { "VP_RUNTIME MSR (hv-runtime)", { { HV_WORD_FEATURES_EAX, 1u << 0 } } },
	[HV_SYNIC] = { "synthetic interrupt controller (hv-synic)",
		       { { HV_WORD_FEATURES_EAX, 1u << 2 } } },
	[HV_STIMER] = { "synthetic timers (hv-stimer)", { { HV_WORD_FEATURES_EAX, 1u << 3 } } },
	[HV_STIMER_DIRECT] = { "direct mode synthetic timers (hv-stimer-direct)",
			       { { HV_WORD_FEATURES_EDX, 1u << 19 } } },
	[HV_RESET] = { "reset MSR (hv-reset)", { { HV_WORD_FEATURES_EAX, 1u << 7 } } },
	[HV_FREQUENCIES] = { "frequency MSRs (hv-frequencies)",
			     { { HV_WORD_FEATURES_EAX, 1u << 11 },
			       { HV_WORD_FEATURES_EDX, 1u << 8 } } },
	[HV_REENLIGHTENMENT] = { "reenlightenment MSRs (hv-reenlightenment)",
				 { { HV_WORD_FEATURES_EAX, 1u << 13 } } },
	[HV_TLBFLUSH] = { "paravirtualized TLB flush (hv-tlbflush)",
			  { { HV_WORD_ENLIGHT_EAX, (1u << 2) | (1u << 11) } } },
	[HV_IPI] = { "paravirtualized IPI (hv-ipi)",
		     { { HV_WORD_ENLIGHT_EAX, (1u << 10) | (1u << 11) } } },
	[HV_EVMCS] = { "enlightened VMCS (hv-evmcs)", { { HV_WORD_ENLIGHT_EAX, 1u << 14 } } },
	[HV_AVIC] = { "AVIC/APICv support (hv-avic/hv-apicv)",
		      { { HV_WORD_ENLIGHT_EAX, 1u << 9 } } },
	[HV_TIME] = { "clocksources (hv-time)",
		      { { HV_WORD_FEATURES_EAX, (1u << 1) | (1u << 9) } } },
};

static uint32_t hv_word_value(const struct host_kvm *k, enum hv_word w)
{
	switch (w) {
	case HV_WORD_FEATURES_EAX:
		return k->hv_features_eax;
	case HV_WORD_FEATURES_EDX:
		return k->hv_features_edx;
	case HV_WORD_ENLIGHT_EAX:
		return k->hv_enlight_eax;
	case HV_WORD_NONE:
		break;
	}
	return 0;
}

bool host_kvm_hv_supported(const struct host_kvm *k, enum hv_flag f)
{
	if (!k || !k->usable || !k->hv_cpuid || (unsigned)f >= _HV_FLAG_MAX || !hv_props[f].desc)
		return false;
	for (size_t i = 0; i < ELEMENTSOF(hv_props[f].req); i++) {
		uint32_t bits = hv_props[f].req[i].bits;
		if (hv_props[f].req[i].word == HV_WORD_NONE)
			continue;
		if ((hv_word_value(k, hv_props[f].req[i].word) & bits) != bits)
			return false;
	}
	return true;
}

const char *hv_flag_description(enum hv_flag f)
{
	if ((unsigned)f >= _HV_FLAG_MAX || !hv_props[f].desc)
		return "unknown Hyper-V enlightenment";
	return hv_props[f].desc;
}

/* ---- fixture form ------------------------------------------------------------- */

/* Decimal or 0x-hex, 32 bits. */
static int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		if (!*s || strlen(s) > 8)
			return -EINVAL;
		for (; *s; s++) {
			unsigned d;
			if (*s >= '0' && *s <= '9')
				d = (unsigned)(*s - '0');
			else if (*s >= 'a' && *s <= 'f')
				d = (unsigned)(*s - 'a' + 10);
			else if (*s >= 'A' && *s <= 'F')
				d = (unsigned)(*s - 'A' + 10);
			else
				return -EINVAL;
			v = v * 16 + d;
		}
	} else {
		int r = safe_atou64(s, &v);
		if (r < 0)
			return r;
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*ret = (uint32_t)v;
	return 0;
}

static int kvm_parse_fixture(int dir_fd, const char *name, struct host_kvm *k)
{
	_cleanup_free_ char *text = NULL;
	bool hv_words = false, hv_cpuid_set = false, hv_cpuid = false, step_set = false;
	bool exit_set = false;
	int r;

	r = read_full_file_at(dir_fd, name, 64 * 1024, &text, NULL);
	if (r < 0)
		return r;

	for (char *line = text, *next; line && *line; line = next) {
		char *eq, *key, *val;
		bool b = false;
		uint32_t u = 0, *word = NULL;
		bool *flag = NULL;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		line = strstrip(line);
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq)
			return -EINVAL;
		*eq = 0;
		key = strstrip(line);
		val = strstrip(eq + 1);

		if (streq(key, "runs_guests"))
			flag = &k->runs_guests;
		else if (streq(key, "runs_firmware"))
			flag = &k->runs_firmware;
		else if (streq(key, "smm"))
			flag = &k->smm;
		else if (streq(key, "hyperv"))
			flag = &k->hyperv;
		else if (streq(key, "hv_enforce_cpuid"))
			flag = &k->hv_enforce_cpuid;
		else if (streq(key, "hv_cpuid"))
			flag = &hv_cpuid;
		else if (streq(key, "hv_features_eax"))
			word = &k->hv_features_eax;
		else if (streq(key, "hv_features_edx"))
			word = &k->hv_features_edx;
		else if (streq(key, "hv_enlight_eax"))
			word = &k->hv_enlight_eax;
		else if (streq(key, "hv_nested_eax"))
			word = &k->hv_nested_eax;
		else if (streq(key, "api")) {
			int api;
			r = safe_atoi(val, &api);
			if (r < 0)
				return r;
			k->api_version = api;
			continue;
		} else if (streq(key, "probe_step") || streq(key, "exit_reason") ||
			   streq(key, "suberror")) {
			r = parse_u32(val, &u);
			if (r < 0)
				return r;
			if (streq(key, "probe_step")) {
				if (u >= _KVM_PROBE_STEP_MAX)
					return -ERANGE;
				k->probe_step = (enum kvm_probe_step)u;
				step_set = true;
			} else if (streq(key, "exit_reason")) {
				if (u > INT32_MAX)
					return -ERANGE;
				k->guest_exit_reason = (int)u;
				exit_set = true;
			} else {
				if (u > INT32_MAX)
					return -ERANGE;
				k->guest_suberror = (int)u;
			}
			continue;
		} else if (streq(key, "dev_uid") || streq(key, "dev_gid") ||
			   streq(key, "dev_mode")) {
			if (streq(key, "dev_mode")) {
				char *end = NULL;
				unsigned long m;

				errno = 0;
				m = strtoul(val, &end, 8);
				if (errno != 0 || !end || *end || end == val || m > 07777)
					return -EINVAL;
				k->dev_mode = (mode_t)m;
			} else {
				r = parse_u32(val, &u);
				if (r < 0)
					return r;
				if (streq(key, "dev_uid"))
					k->dev_uid = (uid_t)u;
				else
					k->dev_gid = (gid_t)u;
			}
			k->have_owner = true;
			continue;
		} else if (streq(key, "max_vcpus")) {
			r = parse_u32(val, &u);
			if (r < 0)
				return r;
			k->max_vcpus = u;
			continue;
		} else
			return -EINVAL;

		if (flag) {
			r = parse_bool(val, &b);
			if (r < 0)
				return r;
			*flag = b;
			if (flag == &hv_cpuid)
				hv_cpuid_set = true;
		} else {
			r = parse_u32(val, &u);
			if (r < 0)
				return r;
			*word = u;
			hv_words = true;
		}
	}

	k->hv_cpuid = hv_cpuid_set ? hv_cpuid : hv_words;
	k->usable = k->api_version == KVM_API_VERSION_EXPECTED;
	if (!k->usable) {
		int api = k->api_version;
		*k = (struct host_kvm){ .api_version = api,
					.error = -EPROTO,
					.guest_exit_reason = -1 };
		return 0;
	}
	/* What the probe guest would have said: finishing implies every step, and the halt. */
	if (k->runs_firmware) {
		k->runs_guests = true;
		if (!step_set)
			k->probe_step = KVM_PROBE_STEP_LONG_MODE;
		if (!exit_set)
			k->guest_exit_reason = KVM_EXIT_HLT;
	} else if (k->runs_guests && !step_set) {
		k->probe_step = KVM_PROBE_STEP_REAL_MODE;
	}
	if (k->probe_step >= KVM_PROBE_STEP_REAL_MODE)
		k->runs_guests = true;
	if (k->runs_firmware &&
	    (k->probe_step != KVM_PROBE_STEP_LONG_MODE || k->guest_exit_reason != KVM_EXIT_HLT))
		return -EINVAL;
	if (!k->runs_firmware)
		k->guest_error = -EIO;
	if (!exit_set && !k->runs_firmware)
		k->guest_exit_reason = -1;
	return 0;
}

/* ---- the real device ------------------------------------------------------------ */

static int kvm_check(int fd, unsigned long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

/*
 * KVM_GET_SUPPORTED_HV_CPUID on the system or a vCPU fd. Like QEMU, start
 * with room for 10 leaves and grow on E2BIG: some kernels do not report the
 * size they need.
 */
static int kvm_get_hv_cpuid(int fd, struct host_kvm *k)
{
	for (unsigned nent = 10; nent <= 256; nent++) {
		_cleanup_free_ struct kvm_cpuid2 *c = NULL;

		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(fd, KVM_GET_SUPPORTED_HV_CPUID, c) < 0) {
			if (errno == E2BIG)
				continue;
			return NEG_ERRNO();
		}
		if (c->nent >= nent)
			continue;
		for (unsigned i = 0; i < c->nent; i++) {
			const struct kvm_cpuid_entry2 *e = &c->entries[i];
			if (e->function == HV_CPUID_FEATURES) {
				k->hv_features_eax = e->eax;
				k->hv_features_edx = e->edx;
			} else if (e->function == HV_CPUID_ENLIGHTMENT_INFO) {
				k->hv_enlight_eax = e->eax;
			} else if (e->function == HV_CPUID_NESTED_FEATURES) {
				k->hv_nested_eax = e->eax;
			}
		}
		k->hv_cpuid = true;
		return 0;
	}
	return -E2BIG;
}

/* launcher/kvm-probe-rom.S: 4 KiB mapped just below 4 GiB, entered at the reset vector. */
extern const unsigned char kvm_probe_rom[], kvm_probe_rom_end[];

#define PROBE_ROM_BASE	0xfffff000ULL
#define PROBE_ROM_SIZE	4096
#define PROBE_RAM_SIZE	(64 * 1024)
#define PROBE_STEP_PORT 0x80
/* One exit per step (I/O port 0x80) plus the halt, and a few spare. */
#define PROBE_MAX_EXITS 16
#define PROBE_EINTR_MAX 3

struct probe_guest {
	void *ram, *rom;
	struct kvm_run *run;
	size_t run_size;
	int vcpu_fd;
};

static void probe_guest_done(struct probe_guest *g)
{
	if (g->run && g->run != MAP_FAILED)
		munmap(g->run, g->run_size);
	if (g->rom && g->rom != MAP_FAILED)
		munmap(g->rom, PROBE_ROM_SIZE);
	if (g->ram && g->ram != MAP_FAILED)
		munmap(g->ram, PROBE_RAM_SIZE);
	closep(&g->vcpu_fd);
}

static int probe_map_memory(int vm_fd, struct probe_guest *g)
{
	struct kvm_userspace_memory_region ram = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = PROBE_RAM_SIZE,
	};
	struct kvm_userspace_memory_region rom = {
		.slot = 1,
		.guest_phys_addr = PROBE_ROM_BASE,
		.memory_size = PROBE_ROM_SIZE,
	};

	g->ram = mmap(NULL, PROBE_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	g->rom = mmap(NULL, PROBE_ROM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	if (g->ram == MAP_FAILED || g->rom == MAP_FAILED)
		return NEG_ERRNO();
	memcpy(g->rom, kvm_probe_rom, PROBE_ROM_SIZE);

	ram.userspace_addr = (uintptr_t)g->ram;
	rom.userspace_addr = (uintptr_t)g->rom;
	/* Flash is a read-only slot under QEMU; older KVMs without the cap get a plain one. */
	if (kvm_check(vm_fd, KVM_CAP_READONLY_MEM) > 0)
		rom.flags = KVM_MEM_READONLY;
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &ram) < 0 ||
	    ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &rom) < 0)
		return NEG_ERRNO();
	return 0;
}

/*
 * Runs the firmware probe guest (kvm-probe-rom.S) on one vCPU from its
 * reset state, with no interrupt controller: nothing but the guest's own
 * port 0x80 writes and its final HLT can make KVM_RUN return, so the number
 * of runs is bounded. k->probe_step is the last step the guest reported,
 * k->guest_exit_reason / guest_suberror how the last run ended. Also reads
 * the Hyper-V CPUID from the vCPU when the kernel only offers it there.
 */
static int kvm_run_probe_guest(int kvm_fd, int vm_fd, bool hv_cpuid_on_vcpu, struct host_kvm *k)
{
	_cleanup_(probe_guest_done) struct probe_guest g = { .vcpu_fd = -1 };
	int size, r;

	_Static_assert(PROBE_ROM_SIZE == 4096, "one page of ROM");
	if (kvm_probe_rom_end - kvm_probe_rom != PROBE_ROM_SIZE)
		return -EINVAL;

	r = probe_map_memory(vm_fd, &g);
	if (r < 0)
		return r;
	g.vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0UL); /* KVM makes it O_CLOEXEC */
	if (g.vcpu_fd < 0)
		return NEG_ERRNO();
	if (hv_cpuid_on_vcpu)
		(void)kvm_get_hv_cpuid(g.vcpu_fd, k); /* a fact when it works, no more */

	size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0UL);
	if (size < 0)
		return NEG_ERRNO();
	if ((size_t)size < sizeof(struct kvm_run))
		return -EPROTO;
	g.run_size = (size_t)size;
	g.run = mmap(NULL, g.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g.vcpu_fd, 0);
	if (g.run == MAP_FAILED)
		return NEG_ERRNO();

	/* The vCPU starts in its reset state, CS:IP f000:fff0, as a real CPU does. */
	for (unsigned exits = 0, eintr = 0; exits < PROBE_MAX_EXITS;) {
		struct kvm_run *run = g.run;

		if (ioctl(g.vcpu_fd, KVM_RUN, 0UL) < 0) {
			/* A signal may interrupt the entry before the guest ran; retry that only.
			 */
			if (errno == EINTR && ++eintr < PROBE_EINTR_MAX)
				continue;
			return NEG_ERRNO();
		}
		exits++;
		k->guest_exit_reason = (int)run->exit_reason;
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port == PROBE_STEP_PORT && run->io.size == 1 && run->io.count == 1 &&
		    run->io.data_offset < g.run_size) {
			k->probe_step = ((const uint8_t *)run)[run->io.data_offset];
			continue;
		}
		if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
			k->guest_suberror = (int)run->internal.suberror;
		return 0;
	}
	return 0;
}

static int kvm_probe_device(int kvm_fd, struct host_kvm *k)
{
	_cleanup_close_ int vm_fd = -1;
	bool sys_hv_cpuid, vcpu_hv_cpuid;
	int api, r;

	api = ioctl(kvm_fd, KVM_GET_API_VERSION, 0UL);
	if (api < 0) {
		k->error = NEG_ERRNO();
		return 0;
	}
	k->api_version = api;
	if (api != KVM_API_VERSION_EXPECTED) {
		k->error = -EPROTO;
		return 0;
	}
	k->usable = true;

	r = kvm_check(kvm_fd, KVM_CAP_MAX_VCPUS);
	k->max_vcpus = r > 0 ? (unsigned)r : 0;
	k->hyperv = kvm_check(kvm_fd, KVM_CAP_HYPERV) > 0;
	k->hv_enforce_cpuid = kvm_check(kvm_fd, KVM_CAP_HYPERV_ENFORCE_CPUID) > 0;
	sys_hv_cpuid = kvm_check(kvm_fd, KVM_CAP_SYS_HYPERV_CPUID) > 0;
	vcpu_hv_cpuid = !sys_hv_cpuid && kvm_check(kvm_fd, KVM_CAP_HYPERV_CPUID) > 0;
	if (sys_hv_cpuid)
		(void)kvm_get_hv_cpuid(kvm_fd, k);

	/* QEMU retries KVM_CREATE_VM on EINTR too. */
	vm_fd = RETRY_EINTR(ioctl(kvm_fd, KVM_CREATE_VM, 0UL));
	if (vm_fd < 0) {
		k->guest_error = NEG_ERRNO();
		return 0;
	}
	/* SMM is a per-VM capability (kvm_vm_check_extension in QEMU). */
	k->smm = kvm_check(vm_fd, KVM_CAP_X86_SMM) > 0;

	r = kvm_run_probe_guest(kvm_fd, vm_fd, vcpu_hv_cpuid, k);
	k->runs_guests = k->probe_step >= KVM_PROBE_STEP_REAL_MODE;
	k->runs_firmware =
		k->probe_step == KVM_PROBE_STEP_LONG_MODE && k->guest_exit_reason == KVM_EXIT_HLT;
	if (r < 0)
		k->guest_error = r;
	else if (!k->runs_firmware)
		k->guest_error = -EIO;
	return 0;
}

/* Whether dir_fd/name carries the extended attribute (an access ACL). */
static bool fgetxattr_at_has(int dir_fd, const char *name, const char *attr)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dir_fd, name);
	return getxattr(path, attr, NULL, 0) >= 0;
}

/* A fixture file at dir_fd/name (the form documented at the top) instead of the device. */
static int kvm_probe_fixture(int dir_fd, const char *name, struct host_kvm *k)
{
	int r = kvm_parse_fixture(dir_fd, name, k);

	if (r < 0)
		return r;
	k->present = true;
	k->fixture = true;
	return 0;
}

int host_kvm_probe(const struct host_root *h, struct host_kvm *ret)
{
	struct host_kvm k = { .guest_exit_reason = -1 };
	const char *stand_in = testhook_getenv("GAMEVM_TEST_KVM");
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (stand_in) {
		r = kvm_probe_fixture(AT_FDCWD, stand_in, &k);
		if (r < 0)
			return r;
		*ret = k;
		return 0;
	}

	if (h->dev_fd < 0 || fstatat(h->dev_fd, "kvm", &st, 0) < 0) {
		if (h->dev_fd >= 0 && errno != ENOENT && errno != ENOTDIR)
			return NEG_ERRNO();
		*ret = k; /* no KVM on this host: a fact */
		return 0;
	}

	if (S_ISREG(st.st_mode)) {
		r = kvm_probe_fixture(h->dev_fd, "kvm", &k);
		if (r < 0)
			return r;
		*ret = k;
		return 0;
	}
	k.present = true;
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;

	k.have_owner = true;
	k.dev_uid = st.st_uid;
	k.dev_gid = st.st_gid;
	k.dev_mode = st.st_mode & 07777;
	k.has_acl = fgetxattr_at_has(h->dev_fd, "kvm", "system.posix_acl_access");

	fd = openat(h->dev_fd, "kvm", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		k.error = NEG_ERRNO();
		*ret = k;
		return 0;
	}
	r = kvm_probe_device(fd, &k);
	if (r < 0)
		return r;
	*ret = k;
	return 0;
}

/* ---- the verdict ------------------------------------------------------------------ */

enum kvm_verdict host_kvm_verdict(const struct host_kvm *k)
{
	if (!k->present)
		return KVM_VERDICT_ABSENT;
	if (!k->usable || !k->runs_firmware || k->qemu_failed)
		return KVM_VERDICT_UNUSABLE;
	return k->smm ? KVM_VERDICT_USABLE : KVM_VERDICT_NO_SMM;
}

const char *kvm_verdict_to_string(enum kvm_verdict v)
{
	static const char *const names[] = {
		[KVM_VERDICT_ABSENT] = "absent",
		[KVM_VERDICT_UNUSABLE] = "unusable",
		[KVM_VERDICT_NO_SMM] = "usable without SMM",
		[KVM_VERDICT_USABLE] = "usable",
	};

	return (unsigned)v < ELEMENTSOF(names) ? names[v] : "unknown";
}

/* Where the guest was when it stopped: the step after the last one it reported. */
static const char *const probe_step_failing[] = {
	[KVM_PROBE_STEP_NONE] = "at the reset vector (16-bit real mode)",
	[KVM_PROBE_STEP_REAL_MODE] = "entering 32-bit protected mode (LGDT, CR0.PE, far jump)",
	[KVM_PROBE_STEP_PROTECTED] = "at x87 FPU set-up (FWAIT/FNINIT) in 32-bit protected mode",
	[KVM_PROBE_STEP_X87] = "at CPUID/RDTSC/SSE set-up in 32-bit protected mode",
	[KVM_PROBE_STEP_CPU] = "entering 64-bit long mode (PAE paging, EFER.LME, CR0.PG)",
	[KVM_PROBE_STEP_LONG_MODE] = "in 64-bit mode, before its final HLT",
};

static int kvm_exit_describe(const struct host_kvm *k, char **ret)
{
	switch (k->guest_exit_reason) {
	case KVM_EXIT_INTERNAL_ERROR:
		return asprintf(ret, "a KVM %s (KVM_EXIT_INTERNAL_ERROR, suberror %d)",
				k->guest_suberror == KVM_INTERNAL_ERROR_EMULATION
					? "emulation failure"
				: k->guest_suberror == KVM_INTERNAL_ERROR_SIMUL_EX
					? "internal error (exception while delivering an exception)"
				: k->guest_suberror == KVM_INTERNAL_ERROR_DELIVERY_EV
					? "internal error (event delivery)"
					: "internal error",
				k->guest_suberror);
	case KVM_EXIT_SHUTDOWN:
		return asprintf(ret, "a triple fault (KVM_EXIT_SHUTDOWN)");
	case KVM_EXIT_FAIL_ENTRY:
		return asprintf(ret, "a failed VM entry (KVM_EXIT_FAIL_ENTRY)");
	case KVM_EXIT_MMIO:
		return asprintf(ret, "an unexpected memory-mapped I/O exit (KVM_EXIT_MMIO)");
	case KVM_EXIT_IO:
		return asprintf(ret, "an unexpected I/O port exit (KVM_EXIT_IO)");
	case KVM_EXIT_HLT:
		return asprintf(ret, "an early HLT");
	default:
		return asprintf(ret, "KVM exit reason %d", k->guest_exit_reason);
	}
}

int host_kvm_describe(const struct host_kvm *k, char **ret)
{
	_cleanup_free_ char *how = NULL;
	int r;

	if (!k->present)
		r = asprintf(ret, "'/dev/kvm' does not exist");
	else if (!k->usable && (k->error == -EACCES || k->error == -EPERM))
		r = asprintf(ret, "'/dev/kvm' cannot be opened: permission denied");
	else if (!k->usable && k->error == -EPROTO)
		r = asprintf(ret, "'/dev/kvm' speaks KVM API version %d, not 12", k->api_version);
	else if (!k->usable)
		r = asprintf(ret, "'/dev/kvm' cannot be opened: %s",
			     strerror(k->error < 0 ? -k->error : EIO));
	else if (k->runs_firmware && k->qemu_failed)
		r = asprintf(
			ret,
			"QEMU failed under KVM before the guest ran (its errors are above), though the probe guest reached 64-bit mode");
	else if (k->runs_firmware)
		r = asprintf(
			ret,
			"the firmware probe guest ran from the reset vector to 64-bit mode, %s",
			k->smm ? "and KVM_CAP_X86_SMM is there" : "but KVM_CAP_X86_SMM is missing");
	else if (k->guest_error < 0 && k->guest_error != -EIO)
		r = asprintf(ret, "KVM refused to set up or run the probe guest: %s",
			     strerror(-k->guest_error));
	else {
		unsigned step = (unsigned)k->probe_step < ELEMENTSOF(probe_step_failing)
					? (unsigned)k->probe_step
					: KVM_PROBE_STEP_NONE;

		if (k->guest_exit_reason < 0)
			how = strdup("no result");
		else if (kvm_exit_describe(k, &how) < 0)
			how = NULL;
		if (!how)
			return -ENOMEM;
		r = asprintf(ret, "the firmware probe guest %s, then stopped %s with %s",
			     step == KVM_PROBE_STEP_NONE ? "did not get past its first instruction"
			     : step == KVM_PROBE_STEP_REAL_MODE
				     ? "ran in real mode"
				     : "ran from real into protected mode",
			     probe_step_failing[step], how);
	}
	if (r < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}
