#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Host preparation on a real kernel, run inside the lab
(lab.py -- python3 prep-guest.py): gamevm's own code (launcher/vfio.c,
tuning/hugepages.c, the journal) driven by tests/lab/prep-tool, and
`gamevm cleanup` to restore.

  1. The shared group behind the PCI bridge is refused, naming both
     devices, and nothing changes.
  2. The xHCI and 2M hugepages on node 0, torn down by the same process:
     sysfs as before, vfio-pci and what it pulled in unloaded again.
  3. A GPU whose DRM card node is open, and the boot VGA with its
     framebuffer, are refused with the reason.
  4. The GPU pair with hugepages, held by a prep-tool that is
     SIGKILLed (gamevm killed mid-run): `gamevm cleanup` refuses while the
     lock is held, restores every binding and the hugepage count exactly as
     before once it is not, and says there is nothing to do the second time.

Exit 0 when all of it holds.
"""
import json
import os
import signal
import subprocess
import sys
import time
from labcheck import check, read, driver, group_of, failures

SYS = "/sys/bus/pci/devices"
HP = "/sys/devices/system/node/node{}/hugepages/hugepages-2048kB/nr_hugepages"
RUN = "/run/gamevm-lab-prep"


def snapshot(layout):
    """Everything host preparation may change, in one comparable dict."""
    s = {}
    for role, d in layout.items():
        a = d["addr"]
        s[f"{role} driver"] = driver(a)
        s[f"{role} driver_override"] = read(os.path.join(SYS, a, "driver_override"))
    for node in (0, 1):
        s[f"node{node} 2M pages"] = read(HP.format(node))
    s["vfio-pci loaded"] = os.path.isdir("/sys/bus/pci/drivers/vfio-pci")
    s["/dev/vfio"] = sorted(os.listdir("/dev/vfio")) if os.path.isdir("/dev/vfio") else None
    return s


def same(before, after, what):
    diff = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
            if before.get(k) != after.get(k)}
    check(not diff, f"{what}: sysfs as before" + (f" (differs: {diff})" if diff else ""))


def tool():
    return os.path.join(os.environ["GAMEVM_BUILDDIR"], "tests", "lab", "prep-tool")


def gamevm(*args):
    p = subprocess.run([os.environ["GAMEVM_BIN"], "--run-dir", RUN, *args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("\n".join("    | " + l for l in p.stdout.splitlines()), flush=True)
    return p.returncode, p.stdout


def run_tool(*args):
    p = subprocess.run([tool(), "--run-dir", RUN, *args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("\n".join("    | " + l for l in p.stdout.splitlines()), flush=True)
    return p.returncode, p.stdout


def test_shared_group(layout):
    print("== the shared group is refused")
    before = snapshot(layout)
    nic, usb = layout["shared-nic"]["addr"], layout["shared-usb"]["addr"]
    rc, out = run_tool("--teardown", "shared", nic)
    check(rc == 1, "prep-tool fails")
    err = [l for l in out.splitlines() if l.startswith("error:")]
    check(any(nic in l and usb in l and "IOMMU group" in l for l in err),
          f"the error names {nic} and {usb} and the group")
    check(any("another slot" in l for l in err), "the error says the fix")
    same(before, snapshot(layout), "after the refusal")


def test_display_use(layout):
    print("== a GPU the host display uses is refused")
    gpu, audio = layout["gpu"]["addr"], layout["gpu-audio"]["addr"]
    cards = [c for c in os.listdir(os.path.join(SYS, gpu, "drm")) if c.startswith("card")]
    if not check(len(cards) == 1, f"{gpu} has a DRM card node ({cards})"):
        return
    before = snapshot(layout)
    node = f"/dev/dri/{cards[0]}"
    fd = os.open(node, os.O_RDWR)
    try:
        rc, out = run_tool("--teardown", "vm3", gpu, audio)
    finally:
        os.close(fd)
    check(rc == 1, "prep-tool fails while the card node is open")
    comm = read("/proc/self/comm")
    check(f"its DRM card node is open in {comm} (pid {os.getpid()}, {node})" in out,
          "the error names this process and the node")
    vga = layout["host-vga"]["addr"]
    rc, out = run_tool("--teardown", "vm3", vga)
    check(rc == 1 and f"{vga} is in use by the host display: it is the boot VGA device" in out,
          "the boot VGA with its framebuffer is refused")
    same(before, snapshot(layout), "after the refusals")


def test_bind_teardown(layout):
    print("== GPU pair and hugepages, then teardown")
    gpu, audio = layout["gpu"]["addr"], layout["gpu-audio"]["addr"]
    before = snapshot(layout)
    proc = subprocess.Popen([tool(), "--run-dir", RUN, "--uid", "65534", "--gid", "65534",
                             "--hugepages", "2M:16:1", "--hold", "vm1", gpu, audio],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    for line in proc.stdout:
        print("    | " + line.rstrip(), flush=True)
        out.append(line)
        if line.startswith("READY"):
            break
    ready = check(out and out[-1].startswith("READY"), "prep-tool prepared the host")
    if ready:
        check(driver(gpu) == "vfio-pci", f"{gpu} on vfio-pci (is {driver(gpu)})")
        check(driver(audio) == "vfio-pci", f"{audio} on vfio-pci (is {driver(audio)})")
        node = f"/dev/vfio/{group_of(gpu)}"
        check(os.path.exists(node), f"{node} exists")
        if os.path.exists(node):
            st = os.stat(node)
            check(st.st_uid == 65534, f"{node} belongs to nobody (uid {st.st_uid})")
        want = int(before["node1 2M pages"] or 0) + 16
        check(int(read(HP.format(1)) or 0) >= want, f"node 1 has >= {want} 2M pages")
        rc, _ = gamevm("cleanup", "vm1")
        check(rc == 1, "gamevm cleanup refuses while the VM's lock is held")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rc, out = gamevm("cleanup", "vm1")
    check(rc == 0, "gamevm cleanup after SIGKILL succeeds")
    check(f"{gpu} is back on bochs-drm" in out, "cleanup says the GPU is back")
    check(f"{audio} is back on snd_hda_intel" in out, "cleanup says the audio is back")
    check("gave back 16 huge pages" in out, "cleanup gave the 16 pages back")
    same(before, snapshot(layout), "after gamevm cleanup")
    rc, out = gamevm("cleanup", "vm1")
    check(rc == 0 and "Nothing to clean up" in out, "a second cleanup has nothing to do")


def test_teardown_inline(layout):
    print("== xHCI, teardown by the same process")
    xhci = layout["xhci"]["addr"]
    before = snapshot(layout)
    rc, out = run_tool("--hugepages", "2M:8:0", "--teardown", "vm2", xhci)
    check(rc == 0, "prep-tool binds and tears down")
    check(f"{xhci} moved from xhci_hcd to vfio-pci" in out, "the xHCI was on vfio-pci")
    check(f"{xhci} is back on xhci_hcd" in out, "the xHCI is back on xhci_hcd")
    same(before, snapshot(layout), "after teardown")


def main():
    with open(os.environ.get("GAMEVM_LAB_LAYOUT", "/lab/layout.json")) as f:
        layout = json.load(f)
    if not os.path.exists(tool()):
        print(f"FAIL  {tool()} is not built")
        return 1
    os.makedirs(RUN, exist_ok=True)
    test_shared_group(layout)
    test_teardown_inline(layout)
    test_display_use(layout)
    test_bind_teardown(layout)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
