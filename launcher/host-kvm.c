/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * KVM facts, from dev/kvm under the host root.
 *
 * A character device is probed with ioctls the way QEMU does before it
 * commits to a configuration:
 *   KVM_GET_API_VERSION (must be 12), KVM_CHECK_EXTENSION for the vCPU limit
 *   and the Hyper-V caps, KVM_GET_SUPPORTED_HV_CPUID on the system fd
 *   (KVM_CAP_SYS_HYPERV_CPUID) or else on a vCPU (KVM_CAP_HYPERV_CPUID),
 *   KVM_CREATE_VM and KVM_CAP_X86_SMM on the VM fd, and finally a one-page
 *   real-mode guest that executes HLT. Nested KVM often opens and answers
 *   every capability query yet cannot enter a guest; only that last step
 *   tells, so accel=auto looks at runs_guests.
 *
 * A regular file is the fixture form (tests/hosts/NAME/dev/kvm): one
 * "key=value" per line, '#' starts a comment line, unknown keys are errors.
 *   api=12                     KVM_GET_API_VERSION (usable when 12)
 *   runs_guests=1              the HLT guest ran
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
#include <unistd.h>

#include "fileio.h"
#include "host.h"
#include "macro.h"
#include "parse-util.h"

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

static int kvm_parse_fixture(int dev_fd, struct host_kvm *k)
{
	_cleanup_free_ char *text = NULL;
	bool hv_words = false, hv_cpuid_set = false, hv_cpuid = false;
	int r;

	r = read_full_file_at(dev_fd, "kvm", 64 * 1024, &text, NULL);
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
		*k = (struct host_kvm){ .present = true, .api_version = api, .error = -EPROTO };
	} else if (!k->runs_guests) {
		k->guest_error = -EIO;
	}
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

struct test_guest {
	void *mem;
	struct kvm_run *run;
	size_t run_size;
	int vcpu_fd;
};

static void test_guest_done(struct test_guest *g)
{
	if (g->run && g->run != MAP_FAILED)
		munmap(g->run, g->run_size);
	if (g->mem && g->mem != MAP_FAILED)
		munmap(g->mem, 4096);
	closep(&g->vcpu_fd);
}

/*
 * One page at guest address 0 holding HLT, one vCPU in real mode at
 * CS:IP 0:0, one KVM_RUN. HLT always exits to user space (no in-kernel
 * irqchip), so there is no loop to guard against: anything but
 * KVM_EXIT_HLT after a single run is a failure. Also reads the Hyper-V
 * CPUID from the vCPU when the kernel only offers it there.
 */
static int kvm_run_test_guest(int kvm_fd, int vm_fd, bool hv_cpuid_on_vcpu, struct host_kvm *k,
			      int *ret_exit_reason)
{
	_cleanup_(test_guest_done) struct test_guest g = { .vcpu_fd = -1 };
	struct kvm_userspace_memory_region region = {};
	struct kvm_sregs sregs;
	struct kvm_regs regs = {};
	int size, r, tries = 0;

	g.mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.mem == MAP_FAILED)
		return NEG_ERRNO();
	((uint8_t *)g.mem)[0] = 0xf4; /* hlt */

	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = 4096;
	region.userspace_addr = (uintptr_t)g.mem;
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return NEG_ERRNO();

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

	if (ioctl(g.vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return NEG_ERRNO();
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(g.vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return NEG_ERRNO();
	regs.rip = 0;
	regs.rflags = 0x2; /* bit 1 is reserved and must be set */
	if (ioctl(g.vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return NEG_ERRNO();

	/* A signal may interrupt the entry before the guest ran; retry that only. */
	do
		r = ioctl(g.vcpu_fd, KVM_RUN, 0UL);
	while (r < 0 && errno == EINTR && ++tries < 3);
	if (r < 0)
		return NEG_ERRNO();
	*ret_exit_reason = (int)g.run->exit_reason;
	return 0;
}

static int kvm_probe_device(int kvm_fd, struct host_kvm *k)
{
	_cleanup_close_ int vm_fd = -1;
	bool sys_hv_cpuid, vcpu_hv_cpuid;
	int api, r, exit_reason = -1;

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

	r = kvm_run_test_guest(kvm_fd, vm_fd, vcpu_hv_cpuid, k, &exit_reason);
	k->guest_exit_reason = exit_reason;
	if (r < 0)
		k->guest_error = r;
	else if (exit_reason != KVM_EXIT_HLT)
		k->guest_error = -EIO;
	else
		k->runs_guests = true;
	return 0;
}

int host_kvm_probe(const struct host_root *h, struct host_kvm *ret)
{
	struct host_kvm k = { .guest_exit_reason = -1 };
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (h->dev_fd < 0 || fstatat(h->dev_fd, "kvm", &st, 0) < 0) {
		if (h->dev_fd >= 0 && errno != ENOENT && errno != ENOTDIR)
			return NEG_ERRNO();
		*ret = k; /* no KVM on this host: a fact */
		return 0;
	}
	k.present = true;

	if (S_ISREG(st.st_mode)) {
		r = kvm_parse_fixture(h->dev_fd, &k);
		if (r < 0)
			return r;
		*ret = k;
		return 0;
	}
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;

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
