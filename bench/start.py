#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Start latency: from the command to "guest running with every vCPU pinned",
gamevm against libvirt, the same VM on the same QEMU and firmware.

  gamevm: 'gamevm start' of examples/demo.conf (renamed), timed from the
          command to its "is running" line (printed after every thread is
          pinned and QEMU got 'cont'); its 'Start timing' line splits that
          into gamevm's own share (before QEMU is spawned; pinning and
          'cont') and QEMU's (to its QMP greeting; finishing its set-up and
          answering the start-up queries; 'cont').
  libvirt: 'virsh start' of bench/libvirt-demo.xml.in, the same VM with
          <vcpupin> and <emulatorpin> (libvirt pins before it resumes the
          vCPUs, and virsh returns once the domain runs).

Runs alternate between the two; one warm-up run each is not counted (TPM
state and NVRAM are made then). Medians, with min-max.

    bench/start.py [--runs N] [--json FILE] [--keep-libvirt]
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

NAME = "bench-start"
LV_NAME = "bench-start-lv"


def gamevm_once(s, conf):
    """(ms to 'is running', timing dict, the log) of one start; then stops it."""
    p = b.GamevmRun(s, conf)
    try:
        t, _ = p.wait_line(f"VM '{NAME}' is running")
        timing = p.timing()
        stop = b.gamevm("stop", NAME, "--run-dir", s.run_dir, "--timeout", "1", check=False)
        rc = p.wait(timeout=120)
        if rc != 0:
            raise b.BenchError(f"gamevm start exited {rc}: {stop.stdout}\n{p.log()}")
        return t * 1000, timing, p.log()
    finally:
        p.kill()


def libvirt_once():
    t0 = time.monotonic()
    r = b.virsh("start", LV_NAME, check=False)
    t = (time.monotonic() - t0) * 1000
    if r.returncode != 0:
        raise b.BenchError(f"virsh start {LV_NAME}: {r.stdout}")
    return t


def libvirt_pins():
    """{vcpu thread name: allowed CPUs} of the libvirt domain's QEMU."""
    pid = b.libvirt_qemu_pid(LV_NAME)
    pins = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            comm = f.read().strip()
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            allowed = next(l.split()[1] for l in f if l.startswith("Cpus_allowed_list:"))
        if comm.startswith("CPU "):
            pins[comm] = allowed
    return pins


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--keep-libvirt", action="store_true",
                    help="leave libvirt's daemons running (bench/libvirt.sh teardown)")
    args = ap.parse_args()
    b.need_root()
    b.quiet_check()
    print(f"Machine: {b.machine()}")
    b.libvirt_setup()
    try:
        with b.Scratch("start") as s:
            conf = b.demo_config(s, NAME)
            # The warm-up run says where gamevm's planner put the vCPUs and
            # QEMU's other threads: libvirt gets the same.
            _, _, log = gamevm_once(s, conf)
            vcpu = dict(re.findall(r"Pinned vCPU (\d+) \(tid \d+\) -> CPU (\d+)", log))
            emu = sorted(set(re.findall(r"Pinned thread '[^']*' \(tid \d+\) -> CPU ([\d,-]+)",
                                        log)))
            if len(vcpu) != 2 or len(emu) != 1:
                raise b.BenchError(f"cannot tell the pinning from the log:\n{log}")
            b.libvirt_domain(s, LV_NAME, "libvirt-demo.xml.in", NAME=LV_NAME,
                             VCPU0=vcpu["0"], VCPU1=vcpu["1"], EMU=emu[0])
            print(f"libvirt {b.libvirt_version()}; both pin vCPUs 0,1 to CPUs "
                  f"{vcpu['0']},{vcpu['1']} and the other threads to CPU {emu[0]}; "
                  f"{args.runs} runs each, medians (min-max).\n")
            libvirt_once()
            pins = libvirt_pins()
            b.virsh("destroy", LV_NAME)
            want = {f"CPU {i}/TCG": vcpu[str(i)] for i in (0, 1)}
            if pins != want:
                raise b.BenchError(f"libvirt's vCPU threads are on {pins}, not {want}")

            g_all, g_share, g_spawn, g_cont, g_qemu, lv = [], [], [], [], [], []
            q_greet, q_answers = [], []
            for _ in range(args.runs):
                t, timing, _ = gamevm_once(s, conf)
                g_all.append(t)
                g_share.append(timing["gamevm"])
                g_spawn.append(timing["spawn"])
                g_cont.append(timing["pin_cont"])
                g_qemu.append(timing["qemu"])
                q_greet.append(timing["qemu_greeting"])
                q_answers.append(timing["qemu_answers"])
                lv.append(libvirt_once())
                b.virsh("destroy", LV_NAME)
    finally:
        if not args.keep_libvirt:
            b.libvirt_teardown()

    b.table(["", "command to running, vCPUs pinned"], [
        ["gamevm start", b.fmt(g_all)],
        ["  gamevm's own share", b.fmt(g_share)],
        ["    before QEMU is spawned", b.fmt(g_spawn)],
        ["    pinning and cont", b.fmt(g_cont)],
        ["  QEMU's share", b.fmt(g_qemu)],
        ["    to its QMP greeting", b.fmt(q_greet)],
        ["    to answer the start-up queries", b.fmt(q_answers)],
        ["virsh start (libvirt)", b.fmt(lv)],
    ])
    ratio = b.stats(lv)[1] / b.stats(g_all)[1]
    share = b.stats(g_share)[1]
    print(f"\nRatio: gamevm starts the VM {ratio:.1f}x as fast as virsh start "
          f"(target 5x); gamevm's own share {share:.1f} ms (target < 50 ms).")
    b.dump_json(args.json, {"machine": b.machine(), "runs": args.runs, "gamevm_ms": g_all,
                            "gamevm_share_ms": g_share, "spawn_ms": g_spawn,
                            "pin_cont_ms": g_cont, "qemu_ms": g_qemu,
                            "qemu_greeting_ms": q_greet, "qemu_answers_ms": q_answers, "virsh_ms": lv,
                            "ratio": ratio})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except b.BenchError as e:
        sys.exit(f"bench/start.py: {e}")
