#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
The lab's smoke test, run inside the lab (lab.py -- python3 smoke-guest.py).

Checks the lab is what README.md says: devices, drivers, NUMA nodes and IOMMU
groups as in /lab/layout.json; then does by hand what gamevm will do: binds
the GPU pair to vfio-pci (driver_override + unbind + drivers_probe), starts a
nested QEMU with both functions assigned and finds them in query-pci, gives
them back to bochs-drm and snd_hda_intel; reserves 2 MiB hugepages on node 1
and gives them back. Exit 0 when all of it holds.
"""
import glob
import json
import os
import socket
import subprocess
import sys
import time
from labcheck import check, read, driver, group_of, failures

SYS = "/sys/bus/pci/devices"
HP = "/sys/devices/system/node/node{}/hugepages/hugepages-2048kB/{}"


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


def group_members(addr):
    return sorted(os.listdir(os.path.join(SYS, addr, "iommu_group", "devices")))


def wait_for(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def check_layout(layout):
    print("IOMMU groups:")
    for g in sorted(glob.glob("/sys/kernel/iommu_groups/*"), key=lambda p: int(p.rsplit("/", 1)[1])):
        devs = sorted(os.listdir(os.path.join(g, "devices")))
        print(f"  {os.path.basename(g):>3}: " + " ".join(f"{d}({driver(d) or '-'})" for d in devs))
    check(len(glob.glob("/sys/kernel/iommu_groups/*")) > 0, "the IOMMU is on")
    for role, want in layout.items():
        addr = want["addr"]
        if not check(os.path.isdir(os.path.join(SYS, addr)), f"{role} at {addr}"):
            continue
        if want["driver"]:
            check(driver(addr) == want["driver"],
                  f"{role} bound to {want['driver']} (is {driver(addr)})")
        if "numa_node" in want:
            node = int(read(os.path.join(SYS, addr, "numa_node"), "-2"))
            check(node == want["numa_node"], f"{role} on NUMA node {want['numa_node']} (is {node})")
        if "boot_vga" in want:
            bv = int(read(os.path.join(SYS, addr, "boot_vga"), "-1"))
            check(bv == want["boot_vga"], f"{role} boot_vga {want['boot_vga']} (is {bv})")
        expect = sorted(layout[r]["addr"] for r in want["group"])
        got = group_members(addr)
        check(got == expect, f"{role} group {group_of(addr)} is {expect} (is {got})")


def pci_rebind(addr, override):
    """What gamevm does: driver_override, unbind, drivers_probe."""
    write(os.path.join(SYS, addr, "driver_override"), override + "\n" if override else "\n")
    if driver(addr):
        write(os.path.join(SYS, addr, "driver", "unbind"), addr)
    write("/sys/bus/pci/drivers_probe", addr)


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        assert "QMP" in json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "event" in r:
                continue
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error']}")
            return r["return"]


def nested_qemu(gpu, audio):
    """A VM with both functions assigned, paused (-S): query-pci must list them."""
    sock = "/run/lab-nested.qmp"
    argv = ["qemu-system-x86_64", "-machine", "q35", "-nodefaults", "-display", "none",
            "-m", "64", "-S", "-qmp", f"unix:{sock},server=on,wait=off",
            "-device", f"vfio-pci,host={gpu},id=hostgpu,bus=pcie.0,addr=0x2.0,multifunction=on",
            "-device", f"vfio-pci,host={audio},id=hostaudio,bus=pcie.0,addr=0x2.1"]
    t = time.monotonic()
    q = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    try:
        if not check(wait_for(lambda: os.path.exists(sock) or q.poll() is not None, 60)
                     and q.poll() is None, "nested QEMU starts with the GPU pair assigned"):
            return
        qmp = Qmp(sock)
        print(f"      nested QEMU up in {time.monotonic() - t:.1f} s")
        found = {}
        for bus in qmp.cmd("query-pci"):
            for d in bus["devices"]:
                found[d["qdev_id"]] = "{:04x}:{:04x} at 00:{:02x}.{}".format(
                    d["id"]["vendor"], d["id"]["device"], d["slot"], d["function"])
        check(found.get("hostgpu") == "1234:1111 at 00:02.0",
              f"query-pci shows the GPU: {found.get('hostgpu')}")
        check(found.get("hostaudio") == "8086:293e at 00:02.1",
              f"query-pci shows its audio: {found.get('hostaudio')}")
        try:
            qmp.cmd("quit")
        except (OSError, ValueError):
            pass
        check(q.wait(30) == 0, "nested QEMU quits cleanly")
    finally:
        if q.poll() is None:
            q.kill()
            q.wait()


def check_vfio(layout):
    gpu, audio = layout["gpu"]["addr"], layout["gpu-audio"]["addr"]
    before = {a: driver(a) for a in (gpu, audio)}
    group = group_of(gpu)
    t = time.monotonic()
    check(not os.path.exists("/sys/module/vfio_pci"), "vfio-pci not loaded yet (left to gamevm)")
    check(subprocess.run(["modprobe", "vfio-pci"]).returncode == 0, "modprobe vfio-pci")
    for a in (gpu, audio):
        pci_rebind(a, "vfio-pci")
        check(driver(a) == "vfio-pci", f"{a} bound to vfio-pci")
    check(wait_for(lambda: os.path.exists(f"/dev/vfio/{group}"), 5), f"/dev/vfio/{group} appears")
    print(f"      bound in {time.monotonic() - t:.1f} s")
    try:
        nested_qemu(gpu, audio)
    finally:
        for a in (gpu, audio):
            pci_rebind(a, None)
    for a in (gpu, audio):
        check(driver(a) == before[a], f"{a} back on {before[a]} (is {driver(a)})")
        check(read(os.path.join(SYS, a, "driver_override")) == "(null)",
              f"{a} driver_override cleared")
    check(wait_for(lambda: not os.path.exists(f"/dev/vfio/{group}"), 5),
          f"/dev/vfio/{group} gone")


def check_hugepages():
    n = 16
    before = {node: int(read(HP.format(node, "nr_hugepages"))) for node in (0, 1)}
    write(HP.format(1, "nr_hugepages"), str(before[1] + n))
    got = int(read(HP.format(1, "nr_hugepages")))
    check(got == before[1] + n, f"{n} 2 MiB pages reserved on node 1 (pool {before[1]} -> {got})")
    check(int(read(HP.format(0, "nr_hugepages"))) == before[0], "node 0's pool untouched")
    check(int(read(HP.format(1, "free_hugepages"))) >= n, "they are free")
    write(HP.format(1, "nr_hugepages"), str(before[1]))
    got = int(read(HP.format(1, "nr_hugepages")))
    check(got == before[1], f"given back (pool {got}, was {before[1]})")


def main():
    with open(os.environ.get("GAMEVM_LAB_LAYOUT", "/lab/layout.json")) as f:
        layout = json.load(f)
    for name, step in (("layout", lambda: check_layout(layout)),
                       ("vfio", lambda: check_vfio(layout)),
                       ("hugepages", check_hugepages)):
        t = time.monotonic()
        step()
        print(f"---- {name}: {time.monotonic() - t:.1f} s", flush=True)
    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
