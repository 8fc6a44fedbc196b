#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Host tuning on a real kernel, run inside the lab
(lab.py -- python3 tune-guest.py): gamevm's tuning/ code driven by
tests/lab/tune-tool with vCPU 0 on CPU 1 and housekeeping CPU 0, and
`gamevm cleanup` to restore.

  1. Applied and torn down by the same process: every file it touches as
     before, the governor reported "not available, skipped" (no cpufreq
     in a VM), each action in the report.
  2. Held by a tune-tool that is SIGKILLed (gamevm killed mid-run): while
     it runs, the IRQs, the workqueue mask, the cpusets, THP defrag and
     stat_interval are changed and /dev/cpu_dma_latency reads 0; after the
     kill the PM QoS request is gone by itself, `gamevm cleanup` restores
     every file exactly, and a second cleanup has nothing to do.

The lab has no systemd: system.slice, user.slice and init.scope are made
here (and removed at the end) so that the cpuset action has its cgroups.
Exit 0 when all of it holds.
"""
import glob
import os
import signal
import struct
import subprocess
import sys
import tempfile
from labcheck import check, read, failures

RUN = "/run/gamevm-lab-tune"
CG = "/sys/fs/cgroup"
SLICES = ("system.slice", "user.slice", "init.scope")
WQ = "/sys/devices/virtual/workqueue/cpumask"
DEFRAG = "/sys/kernel/mm/transparent_hugepage/defrag"
STAT = "/proc/sys/vm/stat_interval"
CONF = """[vm]
name = tune
[memory]
size = 512M
[cpu]
vcpus = 1
[tuning]
thp-defrag = never
stat-interval = 120
"""


def latency():
    """The PM QoS CPU latency target now (s32, microseconds)."""
    with open("/dev/cpu_dma_latency", "rb") as f:
        return struct.unpack("i", f.read(4))[0]


def snapshot():
    """Every file the tuning may touch, in one comparable dict."""
    s = {p: read(p) for p in glob.glob("/proc/irq/*/smp_affinity_list")}
    s["/proc/irq/default_smp_affinity"] = read("/proc/irq/default_smp_affinity")
    for p in (WQ, DEFRAG, STAT, f"{CG}/cgroup.subtree_control"):
        s[p] = read(p)
    for sl in SLICES:
        s[f"{CG}/{sl}/cpuset.cpus"] = read(f"{CG}/{sl}/cpuset.cpus")
    s["governors"] = sorted(glob.glob("/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"))
    return s


def same(before, after, what):
    diff = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
            if before.get(k) != after.get(k)}
    check(not diff, f"{what}: every touched file as before" + (f" (differs: {diff})" if diff else ""))


def tool():
    return os.path.join(os.environ["GAMEVM_BUILDDIR"], "tests", "lab", "tune-tool")


def gamevm(*args):
    p = subprocess.run([os.environ["GAMEVM_BIN"], "--run-dir", RUN, *args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("\n".join("    | " + l for l in p.stdout.splitlines()), flush=True)
    return p.returncode, p.stdout


def test_inline(conf):
    print("== applied and torn down by the same process")
    before = snapshot()
    p = subprocess.run([tool(), "--run-dir", RUN, "--pin", "1", "--housekeeping", "0",
                        "--teardown", "t1", conf],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("\n".join("    | " + l for l in p.stdout.splitlines()), flush=True)
    out = p.stdout
    check(p.returncode == 0, "tune-tool applies and tears down")
    check("notice: governor: not available, skipped" in out,
          "no cpufreq: the governor is skipped with a notice")
    check("info: cstates: deep C-states off" in out and "PMQOS held" in out,
          "cpu_dma_latency held")
    check("info: irq-affinity:" in out and "moved to CPUs 0" in out, "IRQs moved to CPU 0")
    check("info: workqueues: unbound workqueues on CPU mask 1" in out, "workqueue mask set")
    check("info: cpusets: system.slice limited to CPUs 0" in out, "system.slice limited")
    check(f"cgroup /sys/fs/cgroup/gamevm/tune (CPUs 0-1)" in out,
          "QEMU gets a cgroup of its own with the VM's and the housekeeping CPUs")
    check("thp-defrag:" in out and "stat-interval:" in out, "THP defrag and stat_interval set")
    check("error:" not in out, "no errors")
    same(before, snapshot(), "after teardown")
    check(not os.path.exists(f"{CG}/gamevm"), "gamevm's cgroups are gone")


def test_kill_cleanup(conf):
    print("== held, SIGKILLed, gamevm cleanup")
    before = snapshot()
    lat_before = latency()
    proc = subprocess.Popen([tool(), "--run-dir", RUN, "--pin", "1", "--housekeeping", "0",
                             "--hold", "t2", conf],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    for line in proc.stdout:
        print("    | " + line.rstrip(), flush=True)
        out.append(line)
        if line.startswith("READY"):
            break
    if check(out and out[-1].startswith("READY"), "tune-tool tuned the host"):
        now = snapshot()
        check(read(WQ).lstrip("0") == "1", f"workqueue mask is CPU 0 ({read(WQ)})")
        check(read("/proc/irq/default_smp_affinity").lstrip("0") == "1",
              "default_smp_affinity is CPU 0")
        moved = [k for k, v in now.items() if k.startswith("/proc/irq/") and
                 k.endswith("smp_affinity_list") and v == "0" and before.get(k) != "0"]
        check(len(moved) > 0, f"{len(moved)} IRQs now on CPU 0")
        check("cpuset" in read(f"{CG}/cgroup.subtree_control", ""), "cpuset controller enabled")
        for sl in SLICES:
            check(read(f"{CG}/{sl}/cpuset.cpus") == "0", f"{sl} limited to CPU 0")
        check(read(f"{CG}/gamevm/tune/cpuset.cpus") == "0-1",
              f"QEMU cgroup gamevm/tune has CPUs 0-1 ({read(CG + '/gamevm/tune/cpuset.cpus')})")
        check("[never]" in read(DEFRAG, ""), f"THP defrag is never ({read(DEFRAG)})")
        check(read(STAT) == "120", f"stat_interval is 120 ({read(STAT)})")
        check(latency() == 0, f"/dev/cpu_dma_latency reads 0 (was {lat_before})")
        rc, _ = gamevm("cleanup", "t2")
        check(rc == 1, "gamevm cleanup refuses while the lock is held")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    check(latency() == lat_before, f"the PM QoS request ended with the process ({latency()})")
    rc, out = gamevm("cleanup", "t2")
    check(rc == 0, "gamevm cleanup after SIGKILL succeeds")
    check("set back to" in out, "cleanup says what it restored")
    same(before, snapshot(), "after gamevm cleanup")
    check(not os.path.exists(f"{CG}/gamevm"), "gamevm's cgroups are gone")
    rc, out = gamevm("cleanup", "t2")
    check(rc == 0 and "Nothing to clean up" in out, "a second cleanup has nothing to do")


def main():
    if not os.path.exists(tool()):
        print(f"FAIL  {tool()} is not built")
        return 1
    os.makedirs(RUN, exist_ok=True)
    made = []
    for sl in SLICES:
        if not os.path.isdir(f"{CG}/{sl}"):
            os.mkdir(f"{CG}/{sl}")
            made.append(sl)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(CONF)
        conf = f.name
    try:
        test_inline(conf)
        test_kill_cleanup(conf)
    finally:
        for sl in made:
            try:
                os.rmdir(f"{CG}/{sl}")
            except OSError as e:
                print(f"note: cannot remove {CG}/{sl}: {e}")
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
