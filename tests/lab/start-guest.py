#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
`gamevm start` with host preparation on a real kernel, run inside the lab
(lab.py -- python3 start-guest.py). The real binary starts a nested QEMU
(TCG inside TCG: SeaBIOS, 128 MiB on 2 MiB hugepages on node 1, 1 vCPU,
pin = auto, no TPM) with the GPU pair (all-functions) and the xHCI:

  1. A config with one device of the shared group is refused, naming both
     devices; nothing changes and no journal is left.
  2. A full run: the log shows both GPU functions (and the xHCI) in
     query-pci (and `gamevm status --json` lists them with their driver);
     while it runs /dev/vfio/GROUP belongs to the QEMU user,
     the devices are on vfio-pci and node 1 holds the guest's hugepages;
     `gamevm stop` ends it (exit 0), after which every driver,
     driver_override and per-node hugepage count is as before and the
     journal is gone.
  3. gamevm SIGKILLed mid-run. QEMU, orphaned, keeps the devices; we kill
     it as a user would (its pid from status.json) before cleaning up:
     unbinding a device QEMU holds would only time out. `gamevm cleanup`
     then restores everything exactly as before, and a second cleanup has
     nothing to do.
  4. gamevm SIGKILLed again, QEMU killed, and `gamevm start` run over the
     stale journal: it replays it first (saying so), runs the VM
     (--run-for) and leaves the host as before.

  0. `gamevm check` (the doctor) on this real kernel: no failure, the IOMMU
     and its interrupt remapping seen, vfio-pci available, the devices
     answering, in under a second, and nothing changed.

The QEMU user is 'gamevm' (created in the lab's throwaway root if this
machine has none). Exit 0 when all of it holds.
"""
import json
import os
import pwd
import select
import signal
import subprocess
import sys
import time
from labcheck import check, read, driver, group_of, failures

SYS = "/sys/bus/pci/devices"
NODE = "/sys/devices/system/node/node{}/hugepages/hugepages-2048kB/{}"
RUN = "/run/gamevm-lab-start"
STATE = "/tmp/gamevm-lab-state"
NAME = "labvm"
USER = "gamevm"
PAGES = 64  # 128 MiB in 2 MiB pages


def snapshot(layout):
    """Everything host preparation may change, in one comparable dict."""
    s = {}
    for role, d in layout.items():
        a = d["addr"]
        s[f"{role} driver"] = driver(a)
        s[f"{role} driver_override"] = read(os.path.join(SYS, a, "driver_override"))
    for node in (0, 1):
        s[f"node{node} 2M pages"] = read(NODE.format(node, "nr_hugepages"))
    s["vfio-pci loaded"] = os.path.isdir("/sys/bus/pci/drivers/vfio-pci")
    s["/dev/vfio"] = sorted(os.listdir("/dev/vfio")) if os.path.isdir("/dev/vfio") else None
    return s


def same(before, after, what):
    diff = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
            if before.get(k) != after.get(k)}
    check(not diff, f"{what}: sysfs as before" + (f" (differs: {diff})" if diff else ""))


def journal_gone(what):
    j = os.path.join(RUN, NAME, "journal")
    check(not os.path.exists(j), f"{what}: no journal left ({j})")


def gamevm(*args, timeout=120):
    p = subprocess.run([os.environ["GAMEVM_BIN"], "--run-dir", RUN, "--state-dir", STATE, *args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    print("\n".join("    | " + l for l in p.stdout.splitlines()), flush=True)
    return p.returncode, p.stdout


def start_bg(conf, *extra):
    return subprocess.Popen([os.environ["GAMEVM_BIN"], "--run-dir", RUN, "--state-dir", STATE,
                             "start", conf, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def read_until(proc, marker, timeout):
    """Lines of proc's output up to the one containing marker (or EOF/timeout)."""
    out = []
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    # Lines read past the marker stay for the next call.
    proc.lab_buf = getattr(proc, "lab_buf", b"")
    while True:
        while b"\n" in proc.lab_buf:
            line, proc.lab_buf = proc.lab_buf.split(b"\n", 1)
            line = line.decode(errors="replace")
            print("    | " + line, flush=True)
            out.append(line)
            if marker in line:
                return out, True
        if time.monotonic() >= deadline:
            return out, False
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            return out, False
        chunk = os.read(fd, 65536)
        if not chunk:
            return out, False
        proc.lab_buf += chunk


def wait_passthrough(proc, layout):
    out = []
    for role in ("gpu", "gpu-audio", "xhci"):
        more, _ = read_until(proc, f"Passthrough {layout[role]['addr']} -> guest", 60)
        out += more
    return out


def drain(proc, timeout):
    out, _ = read_until(proc, "\0never\0", timeout)
    try:
        rc = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    return out, rc


def write_conf(path, pci):
    with open(path, "w") as f:
        f.write(f"""[vm]
name = {NAME}
accel = tcg
user = {USER}

[memory]
size = 128M
hugepages = 2M
node = 1

[cpu]
vcpus = 1
model = max
pin = auto

[hyperv]
enabled = no

[firmware]
type = bios

[tpm]
model = none

[devices]
serial = none
display = none

[net default]
mode = none
""")
        for name, addr, allfn in pci:
            f.write(f"\n[pci {name}]\naddress = {addr}\n")
            if allfn:
                f.write("all-functions = yes\n")


def qemu_pid():
    try:
        with open(os.path.join(RUN, NAME, "status.json")) as f:
            return int(json.load(f).get("qemu_pid") or 0)
    except (OSError, ValueError):
        return 0


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def kill_orphan(pid):
    if pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 20
    while pid_alive(pid) and time.monotonic() < deadline:
        # QEMU was gamevm's child; orphaned, init (the lab's) reaps it.
        time.sleep(0.1)
    check(not pid_alive(pid), f"the orphaned QEMU (pid {pid}) is gone")


def test_doctor(layout, conf):
    """gamevm check on the real kernel: read-only, fast, and right about what is there."""
    before = snapshot(layout)
    # The first run fills QEMU's probe cache (QEMU itself is slow here, under TCG in TCG).
    first = time.monotonic()
    base = [os.environ["GAMEVM_BIN"], "--run-dir", RUN, "--state-dir", STATE, "check"]
    subprocess.run([*base, conf], capture_output=True, timeout=60)
    first = time.monotonic() - first
    t0 = time.monotonic()
    p = subprocess.run([*base, "--json", conf], capture_output=True, text=True, timeout=60)
    secs = time.monotonic() - t0
    print(f"doctor: first run {first:.2f} s, second {secs:.2f} s")
    try:
        out = json.loads(p.stdout)
    except ValueError:
        check(False, f"doctor: no JSON (exit {p.returncode}): {p.stdout}{p.stderr}")
        return
    by_id = {}
    for c in out["checks"]:
        by_id.setdefault(c["id"], []).append(c)
    status = {k: {c["status"] for c in v} for k, v in by_id.items()}
    print(f"doctor: {len(out['checks'])} checks in {secs:.2f} s, exit {p.returncode}: " +
          ", ".join(f"{k}={'/'.join(sorted(v))}" for k, v in sorted(status.items())))
    fails = [c for c in out["checks"] if c["status"] == "fail"]
    check(p.returncode == (1 if fails else 0) and out["can_start"] == (not fails),
          f"doctor: exit {p.returncode} with {len(fails)} failures")
    check(not fails, f"doctor: failures on a lab that can run the VM: {fails}")
    # The emulated intel-iommu (intremap=on): groups, and interrupt remapping in its ecap.
    check(status.get("iommu.enabled") == {"pass"}, f"doctor: iommu.enabled {status.get('iommu.enabled')}")
    check(status.get("iommu.interrupt_remapping") == {"pass"},
          f"doctor: iommu.interrupt_remapping {by_id.get('iommu.interrupt_remapping')}")
    check(status.get("vfio.module") == {"pass"}, f"doctor: vfio.module {by_id.get('vfio.module')}")
    check(status.get("device.present") == {"pass"}, f"doctor: device.present {by_id.get('device.present')}")
    check("device.reset" in status, "doctor: no device.reset")
    check(status.get("memory.hugepages", {"?"}) <= {"pass", "warn"},
          f"doctor: memory.hugepages {by_id.get('memory.hugepages')}")
    check(status.get("selinux") == {"skip"}, f"doctor: selinux {status.get('selinux')}")
    # Under a second on a real kernel, even here (TCG inside TCG).
    check(secs < 1.0, f"doctor: took {secs:.2f} s")
    same(before, snapshot(layout), "after gamevm check")


def test_shared_group(layout):
    print("== a config with one device of the shared group is refused")
    nic, usb = layout["shared-nic"]["addr"], layout["shared-usb"]["addr"]
    conf = "/tmp/lab-shared.conf"
    write_conf(conf, [("nic", nic, False)])
    before = snapshot(layout)
    rc, out = gamevm("start", conf)
    check(rc != 0, f"gamevm start fails (rc {rc})")
    check(any(nic in l and usb in l for l in out.splitlines()),
          f"the message names {nic} and {usb}")
    same(before, snapshot(layout), "after the refusal")
    journal_gone("after the refusal")


def running_checks(layout, out, before):
    gpu, audio, xhci = (layout[r]["addr"] for r in ("gpu", "gpu-audio", "xhci"))
    text = "\n".join(out)
    for a in (gpu, audio, xhci):
        check(f"Passthrough {a} -> guest" in text, f"query-pci shows {a}")
    check("[1234:1111]" in text, "query-pci gives the GPU's vendor:device")
    for a in (gpu, audio, xhci):
        check(driver(a) == "vfio-pci", f"{a} on vfio-pci while running (is {driver(a)})")
    node = f"/dev/vfio/{group_of(gpu)}"
    uid = pwd.getpwnam(USER).pw_uid
    st = os.stat(node) if os.path.exists(node) else None
    check(st is not None and st.st_uid == uid,
          f"{node} belongs to {USER} (uid {uid}) while running (is {st and st.st_uid})")
    nr = int(read(NODE.format(1, "nr_hugepages")) or 0)
    free = int(read(NODE.format(1, "free_hugepages")) or 0)
    used = nr - free
    base_used = int(before["node1 2M pages"] or 0) - int(before["node1 free"] or 0)
    check(used - base_used >= PAGES,
          f"node 1 holds the guest's {PAGES} 2M pages while running ({used} in use, {nr} total)")


def test_full_run(layout, conf):
    print("== full run: start, checks while running, gamevm stop")
    before = snapshot(layout)
    before_free = dict(before, **{"node1 free": read(NODE.format(1, "free_hugepages"))})
    proc = start_bg(conf)
    out, ok = read_until(proc, f"VM '{NAME}' is running", 150)
    if check(ok, "the VM runs"):
        # query-pci lists them once the guest's firmware has numbered the buses.
        out += wait_passthrough(proc, layout)
        running_checks(layout, out, before_free)
        j = os.path.join(RUN, NAME, "journal")
        check(os.path.exists(j), "the journal exists while running")
        rc, out_json = gamevm("status", NAME, "--json")
        check(rc == 0, "gamevm status --json works while running")
        try:
            pt = {d["host"]: d for d in json.loads(out_json).get("passthrough", [])}
        except ValueError:
            pt = {}
        for role in ("gpu", "gpu-audio", "xhci"):
            a = layout[role]["addr"]
            d = pt.get(a, {})
            check(d.get("driver") == "vfio-pci" and d.get("guest"),
                  f"status --json lists {a} on vfio-pci with its guest address ({d})")
    rc, _ = gamevm("stop", NAME, "--timeout", "5")
    check(rc == 0, f"gamevm stop succeeds (rc {rc})")
    more, rc = drain(proc, 60)
    out += more
    check(rc == 0, f"gamevm start exits 0 (rc {rc})")
    check(any("The host is restored" in l for l in out), "the log says the host is restored")
    check(any(f"{layout['gpu-audio']['addr']} is back on snd_hda_intel" in l for l in out),
          "the log says the audio function is back on snd_hda_intel")
    check(any(f"{layout['xhci']['addr']} is back on xhci_hcd" in l for l in out),
          "the log says the xHCI is back on xhci_hcd")
    after = snapshot(layout)
    check(after["gpu-audio driver"] == "snd_hda_intel", "81:00.1 back on snd_hda_intel")
    check(after["xhci driver"] == "xhci_hcd", "01:00.0 back on xhci_hcd")
    same(before, after, "after gamevm stop")
    journal_gone("after gamevm stop")


def kill_mid_run(layout, conf):
    """Starts the VM, SIGKILLs gamevm once it runs; returns QEMU's pid."""
    proc = start_bg(conf)
    _, ok = read_until(proc, f"VM '{NAME}' is running", 150)
    check(ok, "the VM runs")
    # Let go only once QEMU holds the devices and the pages, like a real mid-run kill.
    wait_passthrough(proc, layout)
    pid = qemu_pid()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    check(os.path.exists(os.path.join(RUN, NAME, "journal")), "the journal is left behind")
    return pid


def test_kill_cleanup(layout, conf):
    print("== gamevm SIGKILLed mid-run, then gamevm cleanup")
    before = snapshot(layout)
    pid = kill_mid_run(layout, conf)
    kill_orphan(pid)
    rc, out = gamevm("cleanup", NAME)
    check(rc == 0, f"gamevm cleanup succeeds (rc {rc})")
    check(f"{layout['gpu-audio']['addr']} is back on snd_hda_intel" in out,
          "cleanup says the audio function is back")
    check(f"{layout['xhci']['addr']} is back on xhci_hcd" in out, "cleanup says the xHCI is back")
    same(before, snapshot(layout), "after gamevm cleanup")
    journal_gone("after gamevm cleanup")
    rc, out = gamevm("cleanup", NAME)
    check(rc == 0 and "Nothing to clean up" in out, "a second cleanup has nothing to do")


def test_start_over_stale(layout, conf):
    print("== gamevm SIGKILLed, then gamevm start over the stale journal")
    before = snapshot(layout)
    pid = kill_mid_run(layout, conf)
    kill_orphan(pid)
    proc = start_bg(conf, "--run-for", "2", "--timeout", "3")
    out, rc = drain(proc, 150)
    text = "\n".join(out)
    check("Found the journal of a run that did not finish" in text,
          "start says it found a stale journal")
    check(f"{layout['gpu-audio']['addr']} is back on snd_hda_intel" in text,
          "start lists what it restored")
    check(f"VM '{NAME}' is running" in text, "then the VM runs")
    check(rc == 0, f"gamevm start --run-for exits 0 (rc {rc})")
    same(before, snapshot(layout), "after the run")
    journal_gone("after the run")


def test_in_limited_slice():
    """gamevm run as a systemd service sits in system.slice, which [tuning]
    cpusets holds to the housekeeping CPUs while the VM runs: QEMU, its
    child, must get a cgroup of its own or its vCPUs could not be pinned."""
    print("== gamevm start inside a slice that tuning limits to housekeeping")
    cg = "/sys/fs/cgroup"
    made = []
    for sl in ("system.slice", "user.slice", "init.scope"):
        if not os.path.isdir(f"{cg}/{sl}"):
            os.mkdir(f"{cg}/{sl}")
            made.append(sl)
    conf = "/tmp/lab-slice.conf"
    write_conf(conf, [])
    with open(conf) as f:
        text = f.read().replace("pin = auto\n", "pin = auto\nhousekeeping = auto\n")
    with open(conf, "w") as f:
        f.write(text)
    # Run gamevm from system.slice, as systemd would.
    proc = subprocess.Popen(
        ["sh", "-c", f"echo $$ > {cg}/system.slice/cgroup.procs && exec \"$0\" "
         f"--run-dir {RUN} --state-dir {STATE} start --run-for 3 --timeout 2 {conf}",
         os.environ["GAMEVM_BIN"]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, rc = drain(proc, 150)
    text = "\n".join(out)
    check(rc == 0, f"gamevm start in system.slice runs and stops (rc {rc})")
    check(f"QEMU runs in the cgroup /sys/fs/cgroup/gamevm/{NAME}" in text,
          "QEMU gets a cgroup of its own")
    check("system.slice limited to CPUs" in text, "system.slice held to housekeeping")
    check("Pinned vCPU 0" in text, "the vCPU was pinned despite the limited slice")
    check(not os.path.exists(f"{cg}/gamevm"), "gamevm's cgroups are gone after the run")
    # "" again, or every CPU where the kernel refused "" for a cgroup with tasks.
    now = read(f"{cg}/system.slice/cpuset.cpus", "")
    check(now in ("", read(f"{cg}/cpuset.cpus.effective")),
          f"system.slice may use every CPU again ({now!r})")
    journal_gone("after the slice run")
    # This process may have inherited nothing from system.slice, but its
    # children did; the slices can go once they are empty.
    for sl in made:
        try:
            os.rmdir(f"{cg}/{sl}")
        except OSError as e:
            print(f"    (could not remove {sl}: {e})")


def ensure_user():
    try:
        pwd.getpwnam(USER)
    except KeyError:
        # The lab's root is a throwaway overlay: creating the user here touches nothing.
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", USER], check=True)


def main():
    with open(os.environ.get("GAMEVM_LAB_LAYOUT", "/lab/layout.json")) as f:
        layout = json.load(f)
    ensure_user()
    os.makedirs(RUN, exist_ok=True)
    os.makedirs(STATE, exist_ok=True)
    conf = "/tmp/lab-start.conf"
    write_conf(conf, [("gpu", layout["gpu"]["addr"], True),
                      ("usb", layout["xhci"]["addr"], False)])
    test_doctor(layout, conf)
    test_shared_group(layout)
    test_full_run(layout, conf)
    test_kill_cleanup(layout, conf)
    test_start_over_stale(layout, conf)
    test_in_limited_slice()
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
