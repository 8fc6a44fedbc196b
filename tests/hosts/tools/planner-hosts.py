#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Writes the CPU-only fixture hosts the CPU planner's tests run on
(tests/unit/test-planner.c): CPU topology with L2/L3 caches, hybrid core
types, NUMA nodes with their memory, proc/meminfo and proc/cpuinfo. Nothing
else: these trees have no PCI, KVM, QEMU or firmware, since the planner
reads CPU facts only. The full hosts (ryzen-5950x, intel-14900k, no-iommu)
come from cpu.py and the other generators.

Run from anywhere: tests/hosts/tools/planner-hosts.py. The generated trees
are committed; tests read the trees, not this script.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu  # noqa: E402  (the shared writers of cpu.py)

GIB_KIB = 1024 * 1024


def smt_pairs_high(n_cores):
    """AMD numbering: CPU c and c + n_cores are the two threads of core c."""
    return {n: (0, 0, n % n_cores, [n % n_cores, n % n_cores + n_cores])
            for n in range(2 * n_cores)}


def amd(name, family, model, cache):
    return dict(vendor="AuthenticAMD", family=family, model=model, stepping=2, name=name,
                mhz="4200.000", cache=cache, addr="48 bits physical, 48 bits virtual")


def l2_per_core(cpus, kib):
    cores = {}
    for n, (_, _, core, _) in cpus.items():
        cores.setdefault(core, []).append(n)
    return [(sorted(v), kib) for v in cores.values()]


def ryzen_x3d_8core(host, name, model):
    """5800X3D / 7800X3D: one CCD, 8 cores, one 96 MiB L3 (3D V-Cache)."""
    t = cpu.Tree(host)
    t.clean()
    cpus = smt_pairs_high(8)
    cpu.write_cpus(t, cpus, [(list(range(16)), 98304)], l2_per_core(cpus, 1024 if model >= 97 else 512))
    cpu.write_cpuinfo(t, cpus, amd(name, 25, model, "1024 KB" if model >= 97 else "512 KB"),
                      cpu.ZEN3_FLAGS)
    cpu.write_memory(t, 32 * GIB_KIB, {0: (range(16), 32 * GIB_KIB)}, {})


def ryzen_7950x3d():
    """Two CCDs of 8 cores; only CCD0 (CPUs 0-7,16-23) carries the 3D V-Cache."""
    t = cpu.Tree("ryzen-7950x3d")
    t.clean()
    cpus = smt_pairs_high(16)
    ccd0 = list(range(0, 8)) + list(range(16, 24))
    ccd1 = list(range(8, 16)) + list(range(24, 32))
    cpu.write_cpus(t, cpus, [(ccd0, 98304), (ccd1, 32768)], l2_per_core(cpus, 1024))
    cpu.write_cpuinfo(t, cpus, amd("AMD Ryzen 9 7950X3D 16-Core Processor", 25, 97, "1024 KB"),
                      cpu.ZEN3_FLAGS)
    cpu.write_memory(t, 64 * GIB_KIB, {0: (range(32), 64 * GIB_KIB)}, {})


def intel_12900k():
    """8 P-cores with SMT (pairs 0,1 .. 14,15) and 8 E-cores (16-23), one 30 MiB L3."""
    t = cpu.Tree("intel-12900k")
    t.clean()
    cpus, l2s = {}, []
    for p in range(8):
        sib = [2 * p, 2 * p + 1]
        for n in sib:
            cpus[n] = (0, 0, 4 * p, sib)
        l2s.append((sib, 1280))
    for e in range(8):
        n = 16 + e
        cpus[n] = (0, 0, 32 + e, [n])
    for c in range(2):
        l2s.append((list(range(16 + 4 * c, 20 + 4 * c)), 2048))
    cpu.write_cpus(t, cpus, [(list(range(24)), 30720)], l2s, hybrid=(range(0, 16), range(16, 24)))
    cpu.write_cpuinfo(t, cpus, dict(vendor="GenuineIntel", family=6, model=151, stepping=2,
                                    name="12th Gen Intel(R) Core(TM) i9-12900K", mhz="3200.000",
                                    cache="30720 KB", addr="46 bits physical, 48 bits virtual"),
                      cpu.RPL_FLAGS)
    cpu.write_memory(t, 32 * GIB_KIB, {0: (range(24), 32 * GIB_KIB)}, {})


def threadripper_2990wx():
    """
    32 cores on four dies, one NUMA node each (cores 8n..8n+7, CPUs c and
    c + 32 per core); each die has two CCXs of 4 cores with an 8 MiB L3.
    Only dies 0 and 2 have memory controllers: nodes 1 and 3 are memoryless,
    as on the real part.
    """
    t = cpu.Tree("threadripper-2990wx")
    t.clean()
    cpus = {}
    for n in range(64):
        core = n % 32
        cpus[n] = (0, core // 8, core, [core, core + 32])
    l3s = []
    for ccx in range(8):
        cores = range(4 * ccx, 4 * ccx + 4)
        l3s.append(([c for c in cores] + [c + 32 for c in cores], 8192))
    cpu.write_cpus(t, cpus, l3s, l2_per_core(cpus, 512))
    cpu.write_cpuinfo(t, cpus, amd("AMD Ryzen Threadripper 2990WX 32-Core Processor", 23, 8,
                                   "512 KB"), cpu.ZEN3_FLAGS)
    nodes = {}
    for node in range(4):
        cores = range(8 * node, 8 * node + 8)
        mem = 64 * GIB_KIB if node % 2 == 0 else 0
        nodes[node] = ([c for c in cores] + [c + 32 for c in cores], mem)
    cpu.write_memory(t, 128 * GIB_KIB, nodes, {})


def main():
    ryzen_x3d_8core("ryzen-5800x3d", "AMD Ryzen 7 5800X3D 8-Core Processor", 33)
    ryzen_x3d_8core("ryzen-7800x3d", "AMD Ryzen 7 7800X3D 8-Core Processor", 97)
    ryzen_7950x3d()
    intel_12900k()
    threadripper_2990wx()
    return 0


if __name__ == "__main__":
    sys.exit(main())
