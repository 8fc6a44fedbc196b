#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Hugepage RAM preallocation: how fast N GiB of guest RAM are backed with 2M
huge pages at start. gamevm faults them in itself before QEMU starts, with
its choice of threads ([memory] prealloc-threads = auto: one per CPU the VM
may use, each pinned to its CPU; tuning/guest-ram.h), and hands QEMU the
memfd. Side by side in the same run:

  - gamevm with prealloc-threads = 1;
  - QEMU's own prealloc=on (how libvirt and QEMU alone do it), with one
    thread and with as many as gamevm uses;
  - what this machine can do, measured by bench/memzero:
      memset: user space zeroing memory that is already mapped, all CPUs;
      fault:  the kernel zeroing fresh huge pages on first touch, all CPUs
              (what preallocation does, without QEMU).

gamevm's time is the 'backing the RAM' figure of its 'Start timing' line.
QEMU's is its time to the QMP greeting (-machine none, the RAM as its only
object) minus the same with prealloc=off. Each figure is the median of
--runs runs.

    bench/prealloc.py [--gib N] [--runs R] [--json FILE]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

MEMZERO = os.path.join(b.BUILD, "bench", "memzero")


def default_gib():
    with open("/proc/meminfo") as f:
        avail = next(int(l.split()[1]) for l in f if l.startswith("MemAvailable:"))
    return max(1, min(64, int(avail * 0.75 / 2**20)))


def memzero(gib, threads):
    """bench/memzero on the pool's free pages."""
    return json.loads(b.run([MEMZERO, str(gib), "2048", str(threads)]).stdout)


def gamevm_start(scratch, conf):
    """gamevm's 'Start timing' figures, in ms, for one start."""
    p = b.GamevmRun(scratch, conf, "--run-for", "1", "--timeout", "1")
    try:
        t = p.timing()
        _, line = p.wait_line("Backed ")
        m = re.search(r"\((\d+) threads?,", line)
        if not m:
            raise b.BenchError(f"cannot read '{line}'")
        t["ram_threads"] = int(m.group(1))
        rc = p.wait(timeout=300)
        if rc != 0:
            raise b.BenchError(f"gamevm exited {rc}:\n{p.log()}")
        return t
    finally:
        p.kill()


def qemu_greeting_ms(gib, prealloc, threads):
    """Plain QEMU with the RAM as a hugetlb memfd: ms from exec to its QMP greeting."""
    obj = (f"memory-backend-memfd,id=pc.ram,size={gib}G,hugetlb=on,hugetlbsize=2M,share=on,"
           f"prealloc={'on' if prealloc else 'off'}")
    if prealloc:
        obj += f",prealloc-threads={threads}"
    t0 = time.monotonic()
    p = subprocess.Popen(["qemu-system-x86_64", "-machine", "none", "-nodefaults",
                          "-display", "none", "-qmp", "stdio", "-object", obj],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        ms = (time.monotonic() - t0) * 1000
        if '"QMP"' not in line:
            raise b.BenchError(f"QEMU gave no greeting: {line!r} {p.stderr.read()}")
        p.stdin.write('{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n')
        p.stdin.flush()
        p.wait(timeout=60)
        return ms
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def runs(gib, n_runs):
    """Seconds to back gib GiB per variant (label, threads, [s...]); auto's thread count."""
    with b.Scratch("prealloc") as s:
        auto_conf = b.demo_config(s, "bench-prealloc0", memory=f"{gib}G", hugepages="2M")
        one_conf = b.demo_config(s, "bench-prealloc1", memory=f"{gib}G", hugepages="2M",
                                 extra_memory="prealloc-threads = 1")
        gamevm_start(s, auto_conf)  # warm-up: TPM state, NVRAM, page cache
        first = gamevm_start(s, auto_conf)
        auto_threads = int(first["ram_threads"])
        res = {k: [] for k in ("gamevm", "gamevm1", "qemu1", "qemun", "qemu0")}
        for _ in range(n_runs):
            res["gamevm"].append(gamevm_start(s, auto_conf)["ram"] / 1000)
            res["gamevm1"].append(gamevm_start(s, one_conf)["ram"] / 1000)
            base = qemu_greeting_ms(gib, False, 0)
            res["qemu0"].append(base)
            res["qemu1"].append((qemu_greeting_ms(gib, True, 1) - base) / 1000)
            res["qemun"].append((qemu_greeting_ms(gib, True, auto_threads) - base) / 1000)
    variants = [
        ("gamevm, its choice", auto_threads, res["gamevm"]),
        ("gamevm, prealloc-threads = 1", 1, res["gamevm1"]),
        ("QEMU prealloc=on, 1 thread", 1, res["qemu1"]),
        (f"QEMU prealloc=on, {auto_threads} threads", auto_threads, res["qemun"]),
    ]
    return variants, auto_threads, res["qemu0"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gib", type=int, default=default_gib(), help="guest RAM in GiB")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    b.need_root()
    if not os.access(MEMZERO, os.X_OK):
        sys.exit(f"no '{MEMZERO}': build first (scripts/build.sh)")
    b.quiet_check()
    ncpu = os.cpu_count()
    gib = args.gib
    pool_before = b.read_int(b.HUGE2M)

    print(f"Machine: {b.machine()}")
    print(f"Guest RAM: {gib} GiB of 2M huge pages; {args.runs} runs each, medians.\n")

    # The pool is grown once for the whole run, and gamevm finds the pages
    # it needs free (it reserves none, and gives none back). Pages freed to
    # the kernel are handed back to a hypervisor by free page reporting
    # (virtio-balloon), when there is one, and their next first touch costs
    # many times more: that would be measured instead of the zeroing.
    b.write_int(b.HUGE2M, pool_before + gib * 512)
    try:
        got = b.read_int(b.HUGE2M) - pool_before
        if got < gib * 512:
            raise b.BenchError(f"only {got} of {gib * 512} 2M pages could be reserved "
                               f"('{b.HUGE2M}'): try a smaller --gib")
        memzero(gib, ncpu)  # first touch of the pool: not counted
        mz1 = memzero(gib, 1)
        mzn = memzero(gib, ncpu)
        variants, auto_threads, qemu0 = runs(gib, args.runs)
    finally:
        b.write_int(b.HUGE2M, pool_before)

    if b.read_int(b.HUGE2M) != pool_before:
        print(f"error: '{b.HUGE2M}' is {b.read_int(b.HUGE2M)}, was {pool_before}",
              file=sys.stderr)
        return 1

    rows = []
    figures = {"machine": b.machine(), "gib": gib, "runs": args.runs,
               "memzero_1": mz1, "memzero_all": mzn, "qemu_no_prealloc_ms": qemu0,
               "variants": []}
    for label, threads, secs_list in variants:
        secs = b.stats(secs_list)[1]
        gibps = gib / secs if secs > 0 else float("inf")
        rows.append([label, str(threads), b.fmt(secs_list, unit="s", digits=2),
                     f"{gibps:.1f}", f"{gibps / mzn['memset_gibps']:.2f}",
                     f"{gibps / mzn['fault_gibps']:.2f}"])
        figures["variants"].append({"label": label, "threads": threads, "seconds": secs_list,
                                    "median_s": secs, "gibps": gibps})
    rows.append([f"memzero memset, {ncpu} CPUs", str(ncpu), f"{mzn['memset_s']:.2f} s",
                 f"{mzn['memset_gibps']:.1f}", "1.00", "-"])
    rows.append([f"memzero fault, {ncpu} CPUs", str(ncpu), f"{mzn['fault_s']:.2f} s",
                 f"{mzn['fault_gibps']:.1f}", "-", "1.00"])
    rows.append(["memzero fault, 1 CPU", "1", f"{mz1['fault_s']:.2f} s",
                 f"{mz1['fault_gibps']:.1f}", "-",
                 f"{mz1['fault_gibps'] / mzn['fault_gibps']:.2f}"])
    b.table(["", "threads", "backing the RAM", "GiB/s", "/memset", "/fault"], rows)
    med = [v["median_s"] for v in figures["variants"]]
    print(f"\nRatio: gamevm's choice ({auto_threads} threads) backs {gib} GiB "
          f"{med[2] / med[0]:.2f}x as fast as QEMU's prealloc with one thread, "
          f"{med[3] / med[0]:.2f}x as fast as QEMU's with {auto_threads}, "
          f"at {figures['variants'][0]['gibps'] / mzn['fault_gibps']:.2f} of this machine's "
          f"fault bandwidth.")
    b.dump_json(args.json, figures)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except b.BenchError as e:
        sys.exit(f"bench/prealloc.py: {e}")
