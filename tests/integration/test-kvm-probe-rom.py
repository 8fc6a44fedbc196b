#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
The KVM firmware probe guest (launcher/kvm-probe-rom.S) on a reference CPU:
QEMU's TCG runs the very bytes host-kvm.c gives KVM, from the reset vector,
as a 64 KiB BIOS image. The probe says "this KVM cannot run firmware" when
KVM stops it early, so the guest itself must be right: every step must
report itself on port 0x80 (1 real mode, 2 protected mode, 3 x87, 4 CPUID
and SSE, 5 long mode) and the vCPU must end halted in 64-bit code, right
after the HLT. This holds on any host, KVM or not.

Exit 77 = skipped (QEMU missing), except under CI=true.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("GAMEVM_BUILDDIR", "build")
TOOL = os.path.join(BUILD, "tests", "integration", "kvm-probe-rom-image")
QEMU = "qemu-system-x86_64"


def skip(msg):
    if os.environ.get("CI") == "true":
        print(f"FAIL (strict CI): {msg}")
        sys.exit(1)
    print(f"SKIP: {msg}")
    sys.exit(77)


def qmp(sock_path, commands, timeout=20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            s.connect(sock_path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    f = s.makefile("rw")
    json.loads(f.readline())
    out = []
    for c in [{"execute": "qmp_capabilities"}] + commands:
        f.write(json.dumps(c) + "\n")
        f.flush()
        while True:
            m = json.loads(f.readline())
            if "event" not in m:
                break
        out.append(m)
    s.close()
    return out[1:]


def main():
    if not shutil.which(QEMU):
        skip(f"{QEMU} is not installed")
    tmp = tempfile.mkdtemp(prefix="gamevm-probe-rom-")
    try:
        image = os.path.join(tmp, "rom.bin")
        subprocess.run([TOOL, image], check=True)
        steps = os.path.join(tmp, "port80")
        sock = os.path.join(tmp, "qmp.sock")
        q = subprocess.Popen([QEMU, "-accel", "tcg", "-machine", "q35", "-cpu", "max",
                              "-nodefaults", "-display", "none", "-m", "16",
                              "-bios", image,
                              "-chardev", f"file,id=steps,path={steps}",
                              "-device", "isa-debugcon,iobase=0x80,chardev=steps",
                              "-qmp", f"unix:{sock},server=on,wait=off"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            regs = ""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if q.poll() is not None:
                    raise AssertionError(f"QEMU exited: {q.stdout.read().decode()}")
                r = qmp(sock, [{"execute": "human-monitor-command",
                                "arguments": {"command-line": "info registers"}}])
                regs = r[0]["return"]
                if "HLT=1" in regs:
                    break
                time.sleep(0.2)
            qmp(sock, [{"execute": "quit"}])
            q.wait(timeout=20)
        finally:
            if q.poll() is None:
                q.kill()
                q.wait()
        got = open(steps, "rb").read()
        print(f"port 0x80: {got.hex(' ')}")
        print("\n".join(l for l in regs.splitlines() if l.startswith(("RIP", "CS ", "EFER"))))
        assert got == bytes([1, 2, 3, 4, 5]), f"steps reported: {list(got)}, want 1..5"
        assert "HLT=1" in regs, "the vCPU did not halt"
        assert "CS64" in regs, "not halted in 64-bit code"
        rip = [l for l in regs.splitlines() if l.startswith("RIP=")][0]
        rip = int(rip.split()[0].split("=")[1], 16)
        # Just past the HLT: at 4 GiB - 4 KiB + the offset of entry64 + 3 (out) + 1 (hlt)...
        assert 0xfffff000 <= rip < 0x100000000, f"RIP {rip:#x} is not in the ROM"
        efer = [l for l in regs.splitlines() if l.startswith("EFER=")][0]
        assert int(efer.split("=")[1].split()[0], 16) & 0x500 == 0x500, f"long mode not active: {efer}"
        print("ok: the probe guest runs every step to a 64-bit halt under TCG")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
