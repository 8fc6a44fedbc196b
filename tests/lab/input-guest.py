#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
[input] evdev passthrough on a real kernel, run inside the lab (lab.py --
python3 input-guest.py). A keyboard made with uinput (a real input device
of the lab's kernel: /dev/input/eventN, character major 13) under a by-id
name, as udev would give it, is handed to a nested QEMU:

  - while the VM runs the event node has an ACL entry rw- for QEMU's user
    (owner and group kept), QEMU has it open, and it has grabbed it: a key
    pressed on the keyboard reaches no other reader of the node;
  - after `gamevm stop` the node's owner, mode and ACL are as before, nobody holds the
    grab (the same key reaches a reader again) and no journal is left;
  - a by-id name whose device is gone stops the start before anything
    changes, with 'ls -l /dev/input/by-id/' as the fix.
"""
import fcntl
import glob
import importlib.util
import os
import select
import struct
import subprocess
import sys
import time

from labcheck import check, failures

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("start_guest", os.path.join(HERE, "start-guest.py"))
sg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sg)

UI_SET_EVBIT, UI_SET_KEYBIT, UI_DEV_CREATE, UI_DEV_DESTROY = 0x40045564, 0x40045565, 0x5501, 0x5502
EV_SYN, EV_KEY, KEY_A = 0, 1, 30
NAME = "gamevm lab keyboard"
BY_ID = "/dev/input/by-id/usb-gamevm_Lab_Keyboard-event-kbd"


def make_keyboard():
    """A uinput keyboard; returns (uinput fd, /dev/input/eventN)."""
    # No udev in the lab: evdev (the /dev/input/eventN handler) is loaded by hand too.
    subprocess.run(["modprobe", "-a", "uinput", "evdev"], check=True)
    fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
    fcntl.ioctl(fd, UI_SET_EVBIT, EV_KEY)
    for key in range(1, 128):
        fcntl.ioctl(fd, UI_SET_KEYBIT, key)
    # struct uinput_user_dev: name[80], input_id, ff_effects_max, abs* [64] x 4
    os.write(fd, struct.pack("80sHHHHI", NAME.encode(), 3, 0x1234, 0x5678, 1, 0) +
             b"\0" * (4 * 64 * 4))
    fcntl.ioctl(fd, UI_DEV_CREATE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for d in glob.glob("/sys/class/input/event*"):
            try:
                with open(os.path.join(d, "device", "name")) as f:
                    if f.read().strip() == NAME and os.path.exists("/dev/" + "input/" + os.path.basename(d)):
                        return fd, "/dev/input/" + os.path.basename(d)
            except OSError:
                pass
        time.sleep(0.1)
    raise RuntimeError("the uinput keyboard did not appear")


def acl(path):
    try:
        return os.getxattr(path, "system.posix_acl_access").hex()
    except OSError:
        return None


def acl_perm(path, uid):
    """uid's permission bits in path's ACL, None without an entry."""
    raw = bytes.fromhex(acl(path) or "")
    for off in range(4, len(raw) - 7, 8):
        tag, perm, who = struct.unpack_from("<HHI", raw, off)
        if tag == 0x02 and who == uid:
            return perm
    return None


def press(fd):
    for value in (1, 0):
        os.write(fd, struct.pack("llHHi", 0, 0, EV_KEY, KEY_A, value))
        os.write(fd, struct.pack("llHHi", 0, 0, EV_SYN, 0, 0))


def reaches_reader(kbd_fd, node):
    """Whether a key press on the keyboard reaches a new reader of node."""
    r = os.open(node, os.O_RDONLY | os.O_NONBLOCK)
    try:
        press(kbd_fd)
        ready, _, _ = select.select([r], [], [], 1.0)
        return bool(ready) and len(os.read(r, 4096)) > 0
    finally:
        os.close(r)


def write_conf(path, evdev):
    sg.write_conf(path, [])
    with open(path) as f:
        text = f.read().replace("hugepages = 2M\nnode = 1\n", "")
    with open(path, "w") as f:
        f.write(text + f"\n[input]\nevdev = {evdev}\n")


def main():
    sg.ensure_user()
    os.makedirs(sg.RUN, exist_ok=True)
    os.makedirs(sg.STATE, exist_ok=True)
    kbd, node = make_keyboard()
    os.makedirs("/dev/input/by-id", exist_ok=True)
    os.symlink("../" + os.path.basename(node), BY_ID)
    print(f"keyboard {node}, {BY_ID}")
    before = os.stat(node)
    before_acl = acl(node)
    check(reaches_reader(kbd, node), "before the VM, a key reaches a reader of the node")

    print("== a by-id name without its device: refused, nothing changed")
    conf = "/tmp/lab-input-missing.conf"
    write_conf(conf, "/dev/input/by-id/usb-gamevm_Unplugged-event-kbd")
    rc, out = sg.gamevm("start", conf)
    check(rc != 0 and "ls -l /dev/input/by-id/" in out, f"refused with the fix (rc {rc})")
    sg.journal_gone("after the refusal")

    print("== the keyboard handed to the VM")
    conf = "/tmp/lab-input.conf"
    write_conf(conf, BY_ID)
    proc = sg.start_bg(conf)
    _, ok = sg.read_until(proc, f"VM '{sg.NAME}' is running", 150)
    if check(ok, "the VM runs"):
        st = os.stat(node)
        qemu = sg.qemu_pid()
        check((st.st_uid, st.st_gid) == (before.st_uid, before.st_gid),
              f"{node} keeps its owner ({st.st_uid}:{st.st_gid})")
        check(acl_perm(node, sg.pwd.getpwnam(sg.USER).pw_uid) == 6,
              f"{node} has an ACL entry rw- for {sg.USER}")
        fds = [os.readlink(p) for p in glob.glob(f"/proc/{qemu}/fd/*") if os.path.islink(p)]
        check(node in fds, f"QEMU (pid {qemu}) has {node} open")
        check(not reaches_reader(kbd, node), "QEMU grabbed the keyboard: a key reaches no other reader")
    rc, _ = sg.gamevm("stop", sg.NAME, "--timeout", "5")
    check(rc == 0, f"gamevm stop succeeds (rc {rc})")
    _, rc = sg.drain(proc, 60)
    check(rc == 0, f"gamevm start exits 0 (rc {rc})")
    st = os.stat(node)
    check((st.st_uid, st.st_gid, st.st_mode) == (before.st_uid, before.st_gid, before.st_mode),
          f"{node} owner and mode as before ({st.st_uid}:{st.st_gid} {oct(st.st_mode)})")
    check(acl(node) == before_acl, f"{node} ACL as before ({acl(node)})")
    check(reaches_reader(kbd, node), "after the VM, a key reaches a reader again (no grab left)")
    sg.journal_gone("after gamevm stop")
    fcntl.ioctl(kbd, UI_DEV_DESTROY)
    os.close(kbd)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
