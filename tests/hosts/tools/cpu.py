#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Writes the CPU/host part of each fixture host tree under tests/hosts/NAME/:
CPU topology, NUMA nodes, hugepage pools, proc/{meminfo,cpuinfo,cmdline},
DMI, the dev/kvm fixture file and the QEMU stub. Other parts of the trees
(PCI, firmware) come from their own generators; this one only touches the
paths it owns (see /work/notes/fixtures.md) and removes them first.

Run from anywhere: tests/hosts/tools/cpu.py. The generated tree is
committed; tests read the tree, not this script.
"""
import os
import shutil
import stat
import sys

HOSTS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

OWNED = [
    "sys/devices/system/cpu",
    "sys/devices/system/node",
    "sys/devices/cpu_core",
    "sys/devices/cpu_atom",
    "sys/kernel/mm/hugepages",
    "sys/class/dmi",
    "proc/meminfo",
    "proc/cpuinfo",
    "proc/cmdline",
    "dev/kvm",
    "usr/bin/qemu-system-x86_64",
]


def fmt_list(cpus):
    cpus = sorted(cpus)
    out, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else "%d-%d" % (cpus[i], cpus[j]))
        i = j + 1
    return ",".join(out)


class Tree:
    def __init__(self, name):
        self.root = os.path.join(HOSTS, name)

    def clean(self):
        for rel in OWNED:
            p = os.path.join(self.root, rel)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.unlink(p)

    def write(self, rel, text, mode=0o644):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)


# ---- CPUs ------------------------------------------------------------------


def write_cpus(t, cpus, l3s, l2s=None, hybrid=None):
    """cpus: {id: (package, die, core_id, siblings)}; l3s/l2s: [(cpus, size_kib)]."""
    base = "sys/devices/system/cpu"
    ids = sorted(cpus)
    for f in ("online", "present"):
        t.write("%s/%s" % (base, f), fmt_list(ids) + "\n")
    for n in ids:
        pkg, die, core, sib = cpus[n]
        d = "%s/cpu%d" % (base, n)
        # As on x86: the boot CPU cannot be offlined and has no "online" file.
        if n != 0:
            t.write(d + "/online", "1\n")
        t.write(d + "/topology/physical_package_id", "%d\n" % pkg)
        t.write(d + "/topology/die_id", "%d\n" % die)
        t.write(d + "/topology/core_id", "%d\n" % core)
        t.write(d + "/topology/thread_siblings_list", fmt_list(sib) + "\n")
        for idx, level, caches in ((2, 2, l2s or []), (3, 3, l3s)):
            for members, size_kib in caches:
                if n in members:
                    c = "%s/cache/index%d" % (d, idx)
                    t.write(c + "/level", "%d\n" % level)
                    t.write(c + "/type", "Unified\n")
                    t.write(c + "/shared_cpu_list", fmt_list(members) + "\n")
                    t.write(c + "/size", "%dK\n" % size_kib)
    if hybrid:
        pcores, ecores = hybrid
        t.write("sys/devices/cpu_core/cpus", fmt_list(pcores) + "\n")
        t.write("sys/devices/cpu_atom/cpus", fmt_list(ecores) + "\n")


def write_cpuinfo(t, cpus, info, flags):
    blocks = []
    n_cores = len({(c[0], c[2]) for c in cpus.values()})
    for n in sorted(cpus):
        pkg, _, core, _ = cpus[n]
        blocks.append(
            "processor\t: %d\n"
            "vendor_id\t: %s\n"
            "cpu family\t: %d\n"
            "model\t\t: %d\n"
            "model name\t: %s\n"
            "stepping\t: %d\n"
            "cpu MHz\t\t: %s\n"
            "cache size\t: %s\n"
            "physical id\t: %d\n"
            "siblings\t: %d\n"
            "core id\t\t: %d\n"
            "cpu cores\t: %d\n"
            "fpu\t\t: yes\n"
            "flags\t\t: %s\n"
            "address sizes\t: %s\n"
            % (n, info["vendor"], info["family"], info["model"], info["name"],
               info["stepping"], info["mhz"], info["cache"], pkg, len(cpus), core,
               n_cores, flags, info["addr"]))
    t.write("proc/cpuinfo", "\n".join(blocks) + "\n")


# ---- memory ----------------------------------------------------------------


def write_memory(t, total_kib, nodes, pools):
    """nodes: {node: (cpus, total_kib)}; pools: {size_kib: {node: (nr, free)}}."""
    hp2m = pools.get(2048, {})
    nr2m = sum(v[0] for v in hp2m.values())
    free2m = sum(v[1] for v in hp2m.values())
    hugetlb = sum(size * sum(v[0] for v in per.values()) for size, per in pools.items())
    t.write("proc/meminfo",
            "MemTotal:       %d kB\n"
            "MemFree:        %d kB\n"
            "MemAvailable:   %d kB\n"
            "SwapTotal:      8388604 kB\n"
            "SwapFree:       8388604 kB\n"
            "HugePages_Total:   %d\n"
            "HugePages_Free:    %d\n"
            "HugePages_Rsvd:       0\n"
            "HugePages_Surp:       0\n"
            "Hugepagesize:       2048 kB\n"
            "Hugetlb:        %d kB\n"
            % (total_kib, (total_kib - hugetlb) * 9 // 10, (total_kib - hugetlb) * 9 // 10,
               nr2m, free2m, hugetlb))
    base = "sys/devices/system/node"
    for node, (cpus, kib) in sorted(nodes.items()):
        d = "%s/node%d" % (base, node)
        t.write(d + "/cpulist", fmt_list(cpus) + "\n")
        nr, free = hp2m.get(node, (0, 0))
        t.write(d + "/meminfo",
                "Node %d MemTotal:       %d kB\n"
                "Node %d MemFree:        %d kB\n"
                "Node %d MemUsed:        %d kB\n"
                "Node %d HugePages_Total: %5d\n"
                "Node %d HugePages_Free:  %5d\n"
                "Node %d HugePages_Surp:      0\n"
                % (node, kib, node, kib // 3, node, kib - kib // 3, node, nr, node, free, node))
        for size in sorted(pools):
            nr, free = pools[size].get(node, (0, 0))
            h = "%s/hugepages/hugepages-%dkB" % (d, size)
            t.write(h + "/nr_hugepages", "%d\n" % nr)
            t.write(h + "/free_hugepages", "%d\n" % free)
            t.write(h + "/surplus_hugepages", "0\n")
    for size in sorted(pools):
        nr = sum(v[0] for v in pools[size].values())
        free = sum(v[1] for v in pools[size].values())
        h = "sys/kernel/mm/hugepages/hugepages-%dkB" % size
        t.write(h + "/nr_hugepages", "%d\n" % nr)
        t.write(h + "/free_hugepages", "%d\n" % free)
        t.write(h + "/resv_hugepages", "0\n")
        t.write(h + "/surplus_hugepages", "0\n")


# ---- DMI, KVM, QEMU ----------------------------------------------------------


def write_dmi(t, fields):
    for k, v in fields.items():
        # Serials and the UUID are root-only on a real host; the fixture keeps
        # them readable so "mode = host" SMBIOS can be tested as a user.
        t.write("sys/class/dmi/id/" + k, v + "\n")


KVM_HEADER = """\
# Fixture stand-in for /dev/kvm (a regular file instead of the character
# device): what the KVM ioctl probes of launcher/host-kvm.c would find on
# this host. Format documented at the top of launcher/host-kvm.c.
"""


def write_kvm(t, values):
    t.write("dev/kvm", KVM_HEADER + "".join("%s=%s\n" % kv for kv in values))


def machine_list(ver, q35_alias, pc_alias, extra_top=(), extra_q35=(), pc_desc=None,
                 q35_desc=None, i440fx_oldest=(2, 0), q35_oldest=(2, 4), deprecated_below=None,
                 pc_default=True):
    """The -machine help text of an upstream-like QEMU of version ver (major, minor)."""
    pc_desc = pc_desc or "Standard PC (i440FX + PIIX, 1996)"
    q35_desc = q35_desc or "Standard PC (Q35 + ICH9, 2009)"
    versions = [(1, m) for m in range(4, 8)] + [(2, m) for m in range(0, 13)]
    versions += [(3, 0), (3, 1)]
    versions += [(major, m) for major in range(4, ver[0] + 1) for m in range(0, 3)]
    versions = [v for v in versions if v <= ver]
    # QEMU lists each family newest first by comparing names as strings,
    # which puts 2.12 after 2.2 and 4.0.1 before 4.0.
    def family(prefix, oldest, extra=()):
        names = ["%s%d.%d" % ((prefix,) + v) for v in versions if v >= oldest]
        names += list(extra)
        return sorted(names, reverse=True)

    def row(n, d):
        return "%-20s %s" % (n, d)

    lines = ["Supported machines are:", row("microvm", "microvm (i386)")]
    lines.extend(row(n, d) for n, d in extra_top)
    lines.append(row("pc", "%s (alias of %s)" % (pc_desc, pc_alias)))
    for name in family("pc-i440fx-", i440fx_oldest):
        v = tuple(int(x) for x in name.split("-")[-1].split(".")[:2])
        suffix = ""
        if name == pc_alias and pc_default:
            suffix = " (default)"
        elif deprecated_below and v < deprecated_below:
            suffix = " (deprecated)"
        lines.append(row(name, pc_desc + suffix))
    lines.extend(row(n, d) for n, d in extra_q35)
    lines.append(row("q35", "%s (alias of %s)" % (q35_desc, q35_alias)))
    extra = ["pc-q35-4.0.1"] if ver >= (4, 0) and q35_oldest <= (4, 0) else []
    for name in family("pc-q35-", q35_oldest, extra):
        v = tuple(int(x) for x in name.split("-")[-1].split(".")[:2])
        deprecated = deprecated_below and v < deprecated_below
        lines.append(row(name, q35_desc + (" (deprecated)" if deprecated else "")))
    lines.append(row("isapc", "ISA-only PC"))
    lines.append(row("none", "empty machine"))
    lines.append(row("x-remote", "Experimental remote machine"))
    return "\n".join(lines) + "\n"


def write_qemu(t, version_line, copyright_year, machines):
    script = """\
#!/bin/sh
# Fixture stand-in for qemu-system-x86_64 (generated by tests/hosts/tools/cpu.py):
# answers the two questions gamevm's QEMU probe asks, the way this QEMU does.
case "$*" in
-version)
	cat <<'EOF'
%s
Copyright (c) 2003-%d Fabrice Bellard and the QEMU Project developers
EOF
	;;
"-machine help" | "-M help")
	cat <<'EOF'
%sEOF
	;;
*)
	echo "qemu-system-x86_64: fixture stub only answers -version and -machine help" >&2
	exit 1
	;;
esac
""" % (version_line, copyright_year, machines)
    t.write("usr/bin/qemu-system-x86_64", script, 0o755)


# ---- the hosts ----------------------------------------------------------------

ZEN3_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr "
    "sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl "
    "nonstop_tsc cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 sse4_1 "
    "sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic "
    "cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext "
    "perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba ibrs "
    "ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a rdseed adx smap "
    "clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total "
    "cqm_mbm_local user_shstk clzero irperf xsaveerptr rdpru wbnoinvd arat npt lbrv svm_lock "
    "nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic "
    "v_vmsave_vmload vgif v_spec_ctrl umip pku ospke vaes vpclmulqdq rdpid overflow_recov succor "
    "smca fsrm debug_swap")

RPL_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx "
    "fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs "
    "bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf tsc_known_freq pni pclmulqdq dtes64 "
    "monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe "
    "popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault "
    "epb ssbd ibrs ibpb stibp ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase "
    "tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb intel_pt sha_ni "
    "xsaveopt xsavec xgetbv1 xsaves split_lock_detect user_shstk avx_vnni dtherm ida arat pln pts "
    "hwp hwp_notify hwp_act_window hwp_epp hwp_pkg_req hfi vnmi umip pku ospke waitpkg gfni vaes "
    "vpclmulqdq rdpid movdiri movdir64b fsrm md_clear serialize arch_lbr ibt flush_l1d "
    "arch_capabilities")

SKL_VM_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse "
    "sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon rep_good nopl xtopology cpuid "
    "tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt "
    "tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch "
    "cpuid_fault invpcid_single pti ssbd ibrs ibpb stibp fsgsbase tsc_adjust bmi1 hle avx2 smep "
    "bmi2 erms invpcid rtm mpx rdseed adx smap clflushopt xsaveopt xsavec xgetbv1 xsaves arat "
    "umip md_clear arch_capabilities")

# Hyper-V CPUID words as KVM reports them (arch/x86/kvm/hyperv.c kvm_get_hv_cpuid):
# 0x40000003 EAX: runtime, time_ref, synic, stimer, apic, hypercall, vpindex,
# reset (0xff) + reference tsc (9) + frequency MSRs (11) + reenlightenment (13)
# + tsc invariant (15).
HV_FEATURES_EAX = "0x0000aaff"
# EDX: xmm input (4), frequency MSRs (8), crash (10), debug (11), ext gva flush
# (14), xmm output (15), stimer direct (19).
HV_FEATURES_EDX = "0x0008cd10"
# 0x40000004 EAX: remote TLB flush (2), relaxed (5), cluster IPI (10), ex
# processor masks (11); AMD adds deprecating AEOI (9, hv-avic); Intel with
# evmcs enabled adds enlightened VMCS (14).
HV_ENLIGHT_EAX_AMD = "0x00000e24"
HV_ENLIGHT_EAX_INTEL = "0x00004c24"
# 0x4000000A EAX: direct flush (17), MSR bitmap (19), evmcs version (Intel).
HV_NESTED_EAX_AMD = "0x000a0000"
HV_NESTED_EAX_INTEL = "0x000a0101"


def ryzen_5950x():
    t = Tree("ryzen-5950x")
    t.clean()
    # 16 cores, cpu N and N+16 share a core; CCD0 = cores 0-7, CCD1 = 8-15.
    cpus = {}
    for n in range(32):
        core = n % 16
        cpus[n] = (0, 0, core, [core, core + 16])
    ccd0 = list(range(0, 8)) + list(range(16, 24))
    ccd1 = list(range(8, 16)) + list(range(24, 32))
    write_cpus(t, cpus, [(ccd0, 32768), (ccd1, 32768)])
    write_cpuinfo(t, cpus, dict(vendor="AuthenticAMD", family=25, model=33, stepping=0,
                                name="AMD Ryzen 9 5950X 16-Core Processor", mhz="3400.000",
                                cache="512 KB", addr="48 bits physical, 48 bits virtual"),
                  ZEN3_FLAGS)
    write_memory(t, 131836556, {0: (range(32), 131836556)},
                 {2048: {0: (32768, 32768)}, 1048576: {0: (0, 0)}})
    t.write("proc/cmdline",
            "BOOT_IMAGE=(hd0,gpt2)/vmlinuz-7.0.0-62.fc45.x86_64 "
            "root=UUID=5b1c2e7e-3f5a-4d8e-9c61-2a7f0e4b9d13 ro rootflags=subvol=root rhgb quiet "
            "iommu=pt mitigations=off nohz_full=1-31 nowatchdog nmi_watchdog=0 audit=0 "
            "split_lock_detect=off preempt=full hugepagesz=2M hugepages=32768 "
            "rd.driver.pre=vfio-pci vfio-pci.ids=1002:7550,1002:ab40\n")
    write_dmi(t, {
        "bios_vendor": "American Megatrends International, LLC.",
        "bios_version": "P5.00",
        "bios_date": "10/11/2023",
        "bios_release": "5.26",
        "sys_vendor": "To Be Filled By O.E.M.",
        "product_name": "To Be Filled By O.E.M.",
        "product_version": "To Be Filled By O.E.M.",
        "product_serial": "To Be Filled By O.E.M.",
        "product_sku": "To Be Filled By O.E.M.",
        "product_family": "To Be Filled By O.E.M.",
        "product_uuid": "03000200-0400-0500-0006-000700080009",
        "board_vendor": "ASRock",
        "board_name": "X570 Taichi Razer Edition",
        "board_version": "",
        "board_serial": "M80-D6012345678",
        "board_asset_tag": "",
        "chassis_vendor": "To Be Filled By O.E.M.",
        "chassis_version": "To Be Filled By O.E.M.",
        "chassis_serial": "To Be Filled By O.E.M.",
        "chassis_asset_tag": "To Be Filled By O.E.M.",
    })
    write_kvm(t, [("api", "12"), ("runs_firmware", "1"), ("smm", "1"), ("max_vcpus", "4096"),
                  ("hyperv", "1"), ("hv_enforce_cpuid", "1"),
                  ("hv_features_eax", HV_FEATURES_EAX), ("hv_features_edx", HV_FEATURES_EDX),
                  ("hv_enlight_eax", HV_ENLIGHT_EAX_AMD), ("hv_nested_eax", HV_NESTED_EAX_AMD)])
    write_qemu(t, "QEMU emulator version 9.2.0 (qemu-9.2.0-1.fc42)", 2024,
               machine_list((9, 2), "pc-q35-9.2", "pc-i440fx-9.2",
                            extra_top=[("nitro-enclave", "AWS Nitro Enclave")],
                            i440fx_oldest=(2, 4), q35_oldest=(2, 4), deprecated_below=(3, 1)))


def intel_14900k():
    t = Tree("intel-14900k")
    t.clean()
    cpus = {}
    l2s = []
    for p in range(8):  # P-cores: SMT pairs (2p, 2p+1)
        sib = [2 * p, 2 * p + 1]
        for n in sib:
            cpus[n] = (0, 0, 4 * p, sib)
        l2s.append((sib, 2048))
    for e in range(16):  # E-cores: no SMT, clusters of 4 share an L2
        n = 16 + e
        cpus[n] = (0, 0, 32 + e, [n])
    for c in range(4):
        l2s.append((list(range(16 + 4 * c, 20 + 4 * c)), 4096))
    write_cpus(t, cpus, [(list(range(32)), 36864)], l2s,
               hybrid=(range(0, 16), range(16, 32)))
    write_cpuinfo(t, cpus, dict(vendor="GenuineIntel", family=6, model=183, stepping=1,
                                name="Intel(R) Core(TM) i9-14900K", mhz="3200.000",
                                cache="36864 KB", addr="46 bits physical, 48 bits virtual"),
                  RPL_FLAGS)
    write_memory(t, 65584836, {0: (range(32), 65584836)},
                 {2048: {0: (0, 0)}, 1048576: {0: (0, 0)}})
    t.write("proc/cmdline",
            "BOOT_IMAGE=/boot/vmlinuz-6.8.0-51-generic "
            "root=UUID=0d6f3b9a-77c4-4b57-b1e2-8e4c1f6a2d90 ro quiet splash "
            "intel_iommu=on iommu=pt vt.handoff=7\n")
    write_dmi(t, {
        "bios_vendor": "American Megatrends Inc.",
        "bios_version": "2801",
        "bios_date": "11/01/2024",
        "bios_release": "28.1",
        "sys_vendor": "ASUS",
        "product_name": "System Product Name",
        "product_version": "System Version",
        "product_serial": "System Serial Number",
        "product_sku": "SKU",
        # Real DMI strings often carry trailing blanks; the probe trims them.
        "product_family": "To be filled by O.E.M.   ",
        "product_uuid": "a1b2c3d4-e5f6-1a2b-3c4d-0a1b2c3d4e5f",
        "board_vendor": "ASUSTeK COMPUTER INC.",
        "board_name": "ROG STRIX Z790-E GAMING WIFI",
        "board_version": "Rev 1.xx",
        "board_serial": "230915834200123",
        "board_asset_tag": "Default string",
        "chassis_vendor": "Default string",
        "chassis_version": "Default string",
        "chassis_serial": "Default string",
        "chassis_asset_tag": "Default string",
    })
    write_kvm(t, [("api", "12"), ("runs_firmware", "1"), ("smm", "1"), ("max_vcpus", "1024"),
                  ("hyperv", "1"), ("hv_enforce_cpuid", "1"),
                  ("hv_features_eax", HV_FEATURES_EAX), ("hv_features_edx", HV_FEATURES_EDX),
                  ("hv_enlight_eax", HV_ENLIGHT_EAX_INTEL),
                  ("hv_nested_eax", HV_NESTED_EAX_INTEL)])
    ubuntu_pc = "Ubuntu 24.04 PC (i440FX + PIIX, 1996)"
    ubuntu_q35 = "Ubuntu 24.04 PC (Q35 + ICH9, 2009)"
    write_qemu(t, "QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)", 2023,
               machine_list((8, 2), "pc-q35-8.2", "pc-i440fx-8.2",
                            extra_top=[("ubuntu", "%s (alias of pc-i440fx-noble)" % ubuntu_pc),
                                       ("pc-i440fx-noble", ubuntu_pc + " (default)")],
                            extra_q35=[("ubuntu-q35", "%s (alias of pc-q35-noble)" % ubuntu_q35),
                                       ("pc-q35-noble", ubuntu_q35)],
                            i440fx_oldest=(2, 0), q35_oldest=(2, 4), pc_default=False))


def no_iommu():
    t = Tree("no-iommu")
    t.clean()
    cpus = {n: (0, 0, n, [n]) for n in range(4)}
    write_cpus(t, cpus, [(list(range(4)), 8192)])
    write_cpuinfo(t, cpus, dict(vendor="GenuineIntel", family=6, model=94, stepping=3,
                                name="Intel Core Processor (Skylake, IBRS)", mhz="3407.998",
                                cache="16384 KB", addr="40 bits physical, 48 bits virtual"),
                  SKL_VM_FLAGS)
    write_memory(t, 16375604, {0: (range(4), 16375604)}, {2048: {0: (0, 0)}})
    t.write("proc/cmdline",
            "BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 "
            "root=UUID=7e2a4c1b-9f3d-4e6a-8b5c-1d2e3f4a5b6c ro quiet\n")
    write_dmi(t, {
        "bios_vendor": "SeaBIOS",
        "bios_version": "1.16.2-debian-1.16.2-1",
        "bios_date": "04/01/2014",
        "bios_release": "0.0",
        "sys_vendor": "QEMU",
        "product_name": "Standard PC (Q35 + ICH9, 2009)",
        "product_version": "pc-q35-7.2",
        "chassis_vendor": "QEMU",
        "chassis_version": "pc-q35-7.2",
    })
    # Debian 12's QEMU as first released; same list as this version's.
    write_qemu(t, "QEMU emulator version 7.2.0 (Debian 1:7.2+dfsg-7)", 2022,
               machine_list((7, 2), "pc-q35-7.2", "pc-i440fx-7.2", i440fx_oldest=(1, 4),
                            q35_oldest=(2, 4), deprecated_below=(2, 0)))


def main():
    ryzen_5950x()
    intel_14900k()
    no_iommu()
    return 0


if __name__ == "__main__":
    sys.exit(main())
