#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Stop latency: from the stop command to the host restored, gamevm against
libvirt, with a guest that powers off when the ACPI power button is
pressed: Debian's kernel and a busybox initramfs (tests/tools/tinyguest.py)
booted through OVMF, 2 vCPUs, 1 GiB, TPM, under TCG.

  gamevm stop      'gamevm stop NAME' until 'gamevm start' has exited: the
                   guest powered off, QEMU and swtpm gone, every host change
                   undone (its 1 GiB of 2M huge pages given back, IRQ
                   affinities and workqueue mask restored). Both the time
                   'gamevm stop' returns and the time the host is restored.
  virsh shutdown   'virsh shutdown' (the same ACPI button) until the domain
                   is shut off and its QEMU gone.
  virsh destroy    'virsh destroy' (SIGTERM, then SIGKILL to QEMU: no
                   guest involvement) until it returns.

Each run waits for the guest to say it is ready on its serial port first.

    bench/stop.py [--runs N] [--json FILE]
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "tools"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "lab"))
import benchlib as b  # noqa: E402

NAME = "bench-stop"
LV_NAME = "bench-stop-lv"

# Power off when any input device (the ACPI power button among them)
# reports an event: evdev reads come in 24-byte input_events.
GUEST_INIT = r"""for e in /dev/input/event*; do
	(dd if=$e of=/dev/null bs=24 count=1 2>/dev/null; poweroff -f) &
done
echo GUEST-READY
exec sleep 1000000"""


def conf_text(kernel, initrd, serial):
    return f"""[vm]
name = {NAME}
accel = tcg
[memory]
size = 1G
hugepages = 2M
[cpu]
vcpus = 2
cores = 2
threads = 1
model = max
pin = auto
housekeeping = auto
[hyperv]
enabled = no
[firmware]
type = uefi
; The kernel is not signed for the firmware's keys.
secure-boot = no
[tpm]
model = crb
version = 2.0
[devices]
serial = file
serial-path = {serial}
display = none
[net lan]
mode = user
model = virtio
[qemu]
extra = -kernel {kernel} -initrd {initrd} -append console=ttyS0
"""


def serial_file(path):
    """An empty serial log QEMU (an unprivileged user under gamevm) can write."""
    with open(path, "w"):
        pass
    os.chmod(path, 0o666)
    return path


def wait_ready(path, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, errors="replace") as f:
                if "GUEST-READY" in f.read():
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise b.BenchError(f"the guest did not get ready within {timeout} s ('{path}')")


def pid_gone(pid, timeout=120):
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.001)
    if os.path.exists(f"/proc/{pid}"):
        raise b.BenchError(f"process {pid} still there after {timeout} s")


def gamevm_once(s, conf, serial, pool):
    """(ms until 'gamevm stop' returned, ms until the host was restored)."""
    serial_file(serial)
    p = b.GamevmRun(s, conf)
    try:
        p.wait_line(f"VM '{NAME}' is running")
        wait_ready(serial)
        t0 = time.monotonic()
        r = b.gamevm("stop", NAME, "--run-dir", s.run_dir, "--timeout", "30", check=False)
        t_stop = time.monotonic()
        rc = p.wait(timeout=120)
        t_done = time.monotonic()
        if r.returncode != 0 or rc != 0:
            raise b.BenchError(f"gamevm stop {r.returncode}, start {rc}:\n{r.stdout}{p.log()}")
        if "The host is restored." not in p.log():
            raise b.BenchError(f"gamevm did not restore the host:\n{p.log()}")
        if b.read_int(b.HUGE2M) != pool:
            raise b.BenchError(f"'{b.HUGE2M}' is {b.read_int(b.HUGE2M)}, was {pool}")
        return (t_stop - t0) * 1000, (t_done - t0) * 1000
    finally:
        p.kill()


def libvirt_once(serial, how):
    serial_file(serial)
    b.virsh("start", LV_NAME)
    wait_ready(serial)
    pid = b.libvirt_qemu_pid(LV_NAME)
    t0 = time.monotonic()
    b.virsh(how, LV_NAME)
    pid_gone(pid)
    while b.virsh("domstate", LV_NAME).stdout.strip() != "shut off":
        time.sleep(0.001)
    return (time.monotonic() - t0) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    b.need_root()
    import lab
    import tinyguest
    b.quiet_check()
    print(f"Machine: {b.machine()}")
    pool = b.read_int(b.HUGE2M)
    b.libvirt_setup()
    try:
        with b.Scratch("stop") as s:
            try:
                kernel, initrd = tinyguest.build(s.path("guest"), GUEST_INIT,
                                                 modules=("evdev", "button"))
            except lab.LabUnavailable as e:
                raise b.BenchError(f"no kernel for the guest: {e}")
            g_serial, lv_serial = s.path("serial-gamevm.log"), s.path("serial-libvirt.log")
            conf = s.path(f"{NAME}.conf")
            with open(conf, "w") as f:
                f.write(conf_text(kernel, initrd, g_serial))
            b.libvirt_domain(s, LV_NAME, "libvirt-guest.xml.in", NAME=LV_NAME, VCPU0=0,
                             VCPU1=1, EMU=0, KERNEL=kernel, INITRD=initrd, SERIAL=lv_serial)
            print(f"libvirt {b.libvirt_version()}; {args.runs} runs each, medians (min-max).\n")
            gamevm_once(s, conf, g_serial, pool)  # warm-up: TPM state, NVRAM
            libvirt_once(lv_serial, "destroy")
            g_stop, g_done, lv_shutdown, lv_destroy = [], [], [], []
            for _ in range(args.runs):
                a, c = gamevm_once(s, conf, g_serial, pool)
                g_stop.append(a)
                g_done.append(c)
                lv_shutdown.append(libvirt_once(lv_serial, "shutdown"))
                lv_destroy.append(libvirt_once(lv_serial, "destroy"))
    finally:
        b.libvirt_teardown()

    b.table(["", "stop command to done"], [
        ["gamevm stop: host restored", b.fmt(g_done)],
        ["  'gamevm stop' returned", b.fmt(g_stop)],
        ["virsh shutdown: shut off", b.fmt(lv_shutdown)],
        ["virsh destroy: shut off", b.fmt(lv_destroy)],
    ])
    med = b.stats(g_done)[1]
    print(f"\nRatio: gamevm restores the host {b.stats(lv_shutdown)[1] / med:.1f}x as fast as "
          f"virsh shutdown shuts the same guest off ({b.stats(lv_destroy)[1] / med:.1f}x "
          f"virsh destroy, which does not wait for the guest).")
    b.dump_json(args.json, {"machine": b.machine(), "runs": args.runs,
                            "gamevm_restored_ms": g_done, "gamevm_stop_ms": g_stop,
                            "virsh_shutdown_ms": lv_shutdown, "virsh_destroy_ms": lv_destroy})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except b.BenchError as e:
        sys.exit(f"bench/stop.py: {e}")
