#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Hugepage RAM preallocation: how fast QEMU backs N GiB of guest RAM with 2M
huge pages at start, with gamevm's choice of threads ([memory]
prealloc-threads = auto: one per CPU the VM may use, on those CPUs) against
one thread (prealloc-threads = 1), and how that compares with what this
machine can do, measured in the same run by bench/memzero:

  - memset: user space zeroing memory that is already mapped, all CPUs;
  - fault:  the kernel zeroing fresh huge pages on first touch, all CPUs
            (what preallocation does, without QEMU).

The preallocation time is QEMU's time to its QMP greeting (from gamevm's
'Start timing' line) minus the same with hugepages = none (RAM neither
backed nor touched at start). Each figure is the median of --runs runs.

    bench/prealloc.py [--gib N] [--runs R] [--json FILE]
"""
import argparse
import json
import os
import sys

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
    """QEMU's time to its greeting and gamevm's own share, in ms, for one start."""
    p = b.GamevmRun(scratch, conf, "--run-for", "1", "--timeout", "1")
    try:
        t = p.timing()
        rc = p.wait(timeout=300)
        if rc != 0:
            raise b.BenchError(f"gamevm exited {rc}:\n{p.log()}")
        return t
    finally:
        p.kill()


VARIANTS = [
    ("no hugepages (no prealloc)", "none", ""),
    ("prealloc, 1 thread", "2M", "prealloc-threads = 1"),
    ("prealloc, gamevm's choice", "2M", ""),
]


def gamevm_runs(gib, runs):
    """QEMU's ms to its greeting and gamevm's share per variant; auto's thread count."""
    with b.Scratch("prealloc") as s:
        confs = [b.demo_config(s, f"bench-prealloc{i}", memory=f"{gib}G", hugepages=hp,
                               extra_memory=em)
                 for i, (_, hp, em) in enumerate(VARIANTS)]
        # How many threads 'auto' gives here: from the command line.
        cmdline = b.gamevm("cmdline", confs[2]).stdout
        auto_threads = int(cmdline.split("prealloc-threads=")[1].split(",")[0])
        results = [[] for _ in VARIANTS]
        share = [[] for _ in VARIANTS]
        gamevm_start(s, confs[2])  # warm-up: TPM state, NVRAM, page cache
        for _ in range(runs):
            for i, conf in enumerate(confs):
                t = gamevm_start(s, conf)
                results[i].append(t["qemu_greeting"])
                share[i].append(t["gamevm"])
    return results, share, auto_threads


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
        results, gamevm_share, auto_threads = gamevm_runs(gib, args.runs)
    finally:
        b.write_int(b.HUGE2M, pool_before)

    if b.read_int(b.HUGE2M) != pool_before:
        print(f"error: '{b.HUGE2M}' is {b.read_int(b.HUGE2M)}, was {pool_before}",
              file=sys.stderr)
        return 1

    base = b.stats(results[0])[1]
    rows = []
    figures = {"machine": b.machine(), "gib": gib, "runs": args.runs,
               "memzero_1": mz1, "memzero_all": mzn, "variants": []}
    for i, (label, hp, _) in enumerate(VARIANTS):
        med = b.stats(results[i])[1]
        threads = "-" if hp == "none" else ("1" if i == 1 else str(auto_threads))
        if i == 0:
            rows.append([label, threads, b.fmt(results[i]), "-", "-", "-", "-"])
            continue
        secs = (med - base) / 1000
        gibps = gib / secs if secs > 0 else float("inf")
        rows.append([label, threads, b.fmt(results[i]), f"{secs:.2f} s", f"{gibps:.1f}",
                     f"{gibps / mzn['memset_gibps']:.2f}",
                     f"{gibps / mzn['fault_gibps']:.2f}"])
        figures["variants"].append({"label": label, "threads": threads,
                                    "qemu_greeting_ms": results[i], "prealloc_s": secs,
                                    "gibps": gibps})
    rows.append([f"memzero memset, {ncpu} CPUs", str(ncpu), "-", f"{mzn['memset_s']:.2f} s",
                 f"{mzn['memset_gibps']:.1f}", "1.00", "-"])
    rows.append([f"memzero fault, {ncpu} CPUs", str(ncpu), "-", f"{mzn['fault_s']:.2f} s",
                 f"{mzn['fault_gibps']:.1f}", "-", "1.00"])
    rows.append(["memzero fault, 1 CPU", "1", "-", f"{mz1['fault_s']:.2f} s",
                 f"{mz1['fault_gibps']:.1f}", "-",
                 f"{mz1['fault_gibps'] / mzn['fault_gibps']:.2f}"])
    b.table(["", "threads", "QEMU to greeting", "prealloc", "GiB/s", "/memset",
             "/fault"], rows)
    one, auto = figures["variants"][0]["prealloc_s"], figures["variants"][1]["prealloc_s"]
    print(f"\nRatio: gamevm's choice ({auto_threads} threads) backs {gib} GiB "
          f"{one / auto:.2f}x as fast as one thread.")
    b.dump_json(args.json, figures)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except b.BenchError as e:
        sys.exit(f"bench/prealloc.py: {e}")
