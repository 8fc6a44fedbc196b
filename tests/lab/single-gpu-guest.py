#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Single-GPU handoff on a real kernel, run inside the lab (lab.py -- python3
single-gpu-guest.py). The lab's display GPU (host-vga, 00:01.0: boot VGA,
bochs-drm with its framebuffer fb0, the framebuffer console on a VT
console) is given to a nested QEMU with [vm] single-gpu = yes:

  1. A program holding the GPU's DRM card node (as Xorg would) and not
     going away: the start is refused after single-gpu-timeout, naming it;
     the GPU, the consoles and the framebuffers are as before and no
     journal is left.
  2. A full run: while the VM runs the console is unbound, the GPU is on
     vfio-pci with no framebuffer left on it, and its group node belongs
     to the QEMU user; `gamevm stop` ends it (exit 0), after which bochs-drm
     drives the GPU again, fb0 is back on it, the framebuffer console is
     bound again and everything compared is as before.
  3. gamevm SIGKILLed mid-run (QEMU then killed as a user would): the
     console stays unbound until `gamevm cleanup`, which gives the GPU
     back to bochs-drm and rebinds the console.

The lab runs no systemd, so the display manager step is the notice (the
units are covered by tests/unit/test-handoff.c and the systemd test).
"""
import glob
import importlib.util
import os
import subprocess
import sys
import time

from labcheck import check, read, driver, group_of, failures

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("start_guest", os.path.join(HERE, "start-guest.py"))
sg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sg)


def vtcons():
    out = {}
    for d in sorted(glob.glob("/sys/class/vtconsole/vtcon*")):
        out[os.path.basename(d)] = (read(os.path.join(d, "name")), read(os.path.join(d, "bind")))
    return out


def fbs():
    """Each framebuffer and the device under it."""
    out = {}
    for d in sorted(glob.glob("/sys/class/graphics/fb*")):
        dev = os.path.join(d, "device")
        out[os.path.basename(d)] = os.path.basename(os.path.realpath(dev)) if os.path.exists(dev) else None
    return out


def snapshot(addr):
    plat = {}
    for d in sorted(glob.glob("/sys/bus/platform/devices/*")):
        link = os.path.join(d, "driver")
        plat[os.path.basename(d)] = os.path.basename(os.readlink(link)) if os.path.islink(link) else None
    return {
        "driver": driver(addr),
        "driver_override": read(os.path.join(sg.SYS, addr, "driver_override")),
        "vtconsoles": vtcons(),
        "framebuffers": fbs(),
        "platform": plat,
        "dri": sorted(os.listdir("/dev/dri")) if os.path.isdir("/dev/dri") else None,
        "vfio-pci loaded": os.path.isdir("/sys/bus/pci/drivers/vfio-pci"),
    }


def fb_console_bound():
    return any(n and "frame buffer" in n and b == "1" for n, b in vtcons().values())


def write_conf(path, addr, timeout):
    sg.write_conf(path, [("display", addr, False)])
    with open(path) as f:
        text = f.read()
    # No hugepages: this test is about the display, and the lab's pool is the start test's.
    text = text.replace("hugepages = 2M\nnode = 1\n", "")
    text = text.replace("user = gamevm\n",
                        f"user = gamevm\nsingle-gpu = yes\nsingle-gpu-timeout = {timeout}\n")
    text = text.replace("address = " + addr + "\n", "address = " + addr + "\nprimary-display = yes\n")
    with open(path, "w") as f:
        f.write(text)


def card_node(addr):
    cards = glob.glob(os.path.join(sg.SYS, addr, "drm", "card*"))
    return "/dev/dri/" + os.path.basename(cards[0]) if cards else None


def test_held(addr, conf):
    print("== a program keeps the GPU's card node open: refused in time, nothing changed")
    node = card_node(addr)
    if not check(node is not None, f"{addr} has a DRM card node ({node})"):
        return
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import os,time; fd=os.open('{node}', os.O_RDWR); time.sleep(300)"])
    time.sleep(1)
    before = snapshot(addr)
    t0 = time.monotonic()
    rc, out = sg.gamevm("start", conf, timeout=120)
    secs = time.monotonic() - t0
    holder.kill()
    holder.wait()
    check(rc != 0, f"gamevm start fails (rc {rc}, {secs:.1f} s)")
    check(f"is still in use after 1000 ms: python3 (pid {holder.pid}, {node})" in out,
          "the message names the program holding the card node")
    sg.same(before, snapshot(addr), "after the refusal")
    sg.journal_gone("after the refusal")


def test_full_run(addr, conf):
    print("== single-gpu run: console and driver released, then all given back")
    before = snapshot(addr)
    check(before["driver"] == "bochs-drm", f"{addr} starts on bochs-drm ({before['driver']})")
    check(fb_console_bound(), f"the framebuffer console is bound ({before['vtconsoles']})")
    check(addr in before["framebuffers"].values(),
          f"a framebuffer is on {addr} ({before['framebuffers']})")
    proc = sg.start_bg(conf)
    out, ok = sg.read_until(proc, f"VM '{sg.NAME}' is running", 150)
    if check(ok, "the VM runs"):
        more, seen = sg.read_until(proc, f"Passthrough {addr} -> guest", 60)
        out += more
        check(seen, f"the guest sees {addr}")
        check(driver(addr) == "vfio-pci", f"{addr} is on vfio-pci ({driver(addr)})")
        check(not fb_console_bound(), f"no framebuffer console bound ({vtcons()})")
        check(addr not in fbs().values(), f"no framebuffer left on {addr} ({fbs()})")
        node = f"/dev/vfio/{group_of(addr)}"
        st = os.stat(node) if os.path.exists(node) else None
        check(st is not None and st.st_uid == sg.pwd.getpwnam(sg.USER).pw_uid,
              f"{node} belongs to {sg.USER}")
        check(any("single-gpu: console" in l and "unbound" in l for l in out),
              "the log says the console was unbound")
        check(any("does not run systemd" in l for l in out),
              "the log says no display manager was stopped (no systemd here)")
    rc, _ = sg.gamevm("stop", sg.NAME, "--timeout", "5")
    check(rc == 0, f"gamevm stop succeeds (rc {rc})")
    more, rc = sg.drain(proc, 90)
    out += more
    check(rc == 0, f"gamevm start exits 0 (rc {rc})")
    check(any(f"{addr} is back on bochs-drm" in l for l in out), "the log says the GPU is back on bochs-drm")
    # The driver's probe registers its framebuffer again; give it a moment.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and addr not in fbs().values():
        time.sleep(0.2)
    after = snapshot(addr)
    check(after["driver"] == "bochs-drm", f"{addr} back on bochs-drm ({after['driver']})")
    check(addr in after["framebuffers"].values(), f"a framebuffer is on {addr} again ({after['framebuffers']})")
    check(fb_console_bound(), f"the framebuffer console is bound again ({after['vtconsoles']})")
    sg.same(before, after, "after gamevm stop")
    sg.journal_gone("after gamevm stop")


def test_kill_cleanup(addr, conf):
    print("== gamevm SIGKILLed mid-run: gamevm cleanup gives the display back")
    before = snapshot(addr)
    proc = sg.start_bg(conf)
    _, ok = sg.read_until(proc, f"Passthrough {addr} -> guest", 150)
    check(ok, "the VM runs with the GPU")
    pid = sg.qemu_pid()
    proc.send_signal(sg.signal.SIGKILL)
    proc.wait()
    check(not fb_console_bound(), "the console is still unbound after the SIGKILL")
    sg.kill_orphan(pid)
    rc, out = sg.gamevm("cleanup", sg.NAME)
    check(rc == 0, f"gamevm cleanup succeeds (rc {rc})")
    check(f"{addr} is back on bochs-drm" in out, "cleanup says the GPU is back on bochs-drm")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and addr not in fbs().values():
        time.sleep(0.2)
    check(fb_console_bound(), f"the framebuffer console is bound again ({vtcons()})")
    sg.same(before, snapshot(addr), "after gamevm cleanup")
    sg.journal_gone("after gamevm cleanup")


def main():
    import json
    with open(os.environ.get("GAMEVM_LAB_LAYOUT", "/lab/layout.json")) as f:
        layout = json.load(f)
    addr = layout["host-vga"]["addr"]
    sg.ensure_user()
    os.makedirs(sg.RUN, exist_ok=True)
    os.makedirs(sg.STATE, exist_ok=True)
    conf = "/tmp/lab-single-gpu.conf"
    write_conf(conf, addr, 1)
    test_held(addr, conf)
    test_full_run(addr, conf)
    test_kill_cleanup(addr, conf)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
