#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Footprint while a VM runs: the supervisor's memory and wakeups, gamevm
against libvirt's daemons (libvirtd and virtlogd), each running the demo VM
(examples/demo.conf, bench/libvirt-demo.xml.in) at the same time.

After --settle seconds (default 60: gamevm's once-a-second tick ends after
the first minute) both are watched for --window seconds (default 60):

  RSS, PSS   /proc/PID/status VmRSS, /proc/PID/smaps_rollup Pss (kB), at the end
  wakeups/s  times any of the process's threads was scheduled in during the
             window (schedstat's third field, summed over its threads) / window

    bench/footprint.py [--settle S] [--window S] [--json FILE]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

NAME = "bench-foot"
LV_NAME = "bench-foot-lv"


def sample(pids):
    return {n: b.proc_runs(p) for n, p in pids.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--settle", type=int, default=60)
    ap.add_argument("--window", type=int, default=60)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    b.need_root()
    b.quiet_check()
    print(f"Machine: {b.machine()}")
    b.libvirt_setup()
    p = None
    try:
        with b.Scratch("foot") as s:
            b.libvirt_domain(s, LV_NAME, "libvirt-demo.xml.in", NAME=LV_NAME, VCPU0=0,
                             VCPU1=1, EMU=0)
            p = b.GamevmRun(s, b.demo_config(s, NAME))
            p.wait_line(f"VM '{NAME}' is running")
            b.virsh("start", LV_NAME)
            print(f"libvirt {b.libvirt_version()}; both VMs running; settling {args.settle} s, "
                  f"then watching {args.window} s.\n")
            time.sleep(args.settle)
            lv = b.libvirt_pids()
            pids = {"gamevm": p.proc.pid, "libvirtd": lv["libvirtd"],
                    "virtlogd": lv["virtlogd"]}
            before = sample(pids)
            t0 = time.monotonic()
            time.sleep(args.window)
            after = sample(pids)
            window = time.monotonic() - t0
            rows, fig = [], {}
            for n, pid in pids.items():
                fig[n] = {"rss_kb": b.proc_status(pid, "VmRSS"), "pss_kb": b.proc_pss_kb(pid),
                          "threads": b.proc_threads(pid),
                          "wakeups_per_s": (after[n] - before[n]) / window}
            for n in ("gamevm", "libvirtd", "virtlogd"):
                f = fig[n]
                rows.append([n, f["rss_kb"], f["pss_kb"], f["threads"],
                             f"{f['wakeups_per_s']:.2f}"])
            lv_rss = fig["libvirtd"]["rss_kb"] + fig["virtlogd"]["rss_kb"]
            lv_wake = fig["libvirtd"]["wakeups_per_s"] + fig["virtlogd"]["wakeups_per_s"]
            rows.append(["libvirt (both)", lv_rss,
                         fig["libvirtd"]["pss_kb"] + fig["virtlogd"]["pss_kb"],
                         fig["libvirtd"]["threads"] + fig["virtlogd"]["threads"],
                         f"{lv_wake:.2f}"])
            b.virsh("destroy", LV_NAME)
            b.gamevm("stop", NAME, "--run-dir", s.run_dir, "--timeout", "1", check=False)
            p.wait(timeout=120)
    finally:
        if p:
            p.kill()
        b.libvirt_teardown()

    b.table(["", "RSS kB", "PSS kB", "threads", "wakeups/s"], rows)
    g = fig["gamevm"]
    print(f"\nRatio: gamevm's RSS is {lv_rss / g['rss_kb']:.1f}x smaller than libvirt's "
          f"daemons' (target < 4096 kB: {g['rss_kb']} kB); wakeups {g['wakeups_per_s']:.2f}/s "
          f"against {lv_wake:.2f}/s (target 0).")
    b.dump_json(args.json, {"machine": b.machine(), "settle_s": args.settle,
                            "window_s": args.window, "processes": fig})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except b.BenchError as e:
        sys.exit(f"bench/footprint.py: {e}")
