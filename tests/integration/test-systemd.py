#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
gamevm@.service under a real systemd: systemd-nspawn boots this machine's
own root (an overlay with a tmpfs on top, so nothing of the host changes)
with systemd as PID 1 and a test target that starts only what it needs,
and a script inside drives the unit:

  - `systemd-analyze verify` of the units (outside, with the build's paths);
  - `systemctl start gamevm@demo` returns once the guest runs (Type=notify,
    READY=1): ActiveState active, SubState running, StatusText "Running:
    2 vCPUs pinned";
  - QEMU killed (on-crash = restart): the unit stays active, a new QEMU
    runs, StatusText said it restarted;
  - `systemctl stop gamevm@demo`: the graceful stop, well within
    TimeoutStopSec, Result=success and exit status 0;
  - a VM with single-gpu = yes (no GPU: the units alone): the stand-in
    display-manager.service is stopped while it runs and started again
    after, the log saying both;
  - a VM whose guest powers itself off with on-poweroff = host-poweroff:
    the container's systemd powers the "host" off.

Runs as root. Exit 77 = skipped (not root, no systemd-nspawn, overlayfs or
the lab kernel), except under CI=true.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.path.abspath(os.environ.get("GAMEVM_SRCDIR",
                                     os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.path.abspath(os.environ.get("GAMEVM_BUILDDIR", os.path.join(SRC, "build")))
GAMEVM = os.path.abspath(os.environ.get("GAMEVM_BIN", os.path.join(BUILD, "gamevm")))
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
sys.path.insert(0, os.path.join(SRC, "tests", "lab"))


def skip(msg):
    if os.environ.get("CI") == "true":
        print(f"FAIL (strict CI): {msg}")
        sys.exit(1)
    print(f"SKIP: {msg}")
    sys.exit(77)


def check(cond, msg):
    if not cond:
        print(f"FAIL: {msg}")
        sys.exit(1)


DEMO_EXTRA = """
on-crash = restart
restart-limit = 3
inhibit-sleep = yes
"""

# Runs inside the container as gvtest.service; results as JSON in /out.
INSIDE = r"""#!/usr/bin/python3
import json, os, signal, subprocess, time

out = {}

def show(unit):
    p = subprocess.run(["systemctl", "show", unit, "-p", "ActiveState,SubState,StatusText,"
                        "MainPID,Result,ExecMainStatus,NRestarts"],
                       capture_output=True, text=True)
    return dict(l.split("=", 1) for l in p.stdout.splitlines() if "=" in l)

def status():
    try:
        with open("/run/gamevm/demo/status.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

def save():
    with open("/out/result.json", "w") as f:
        json.dump(out, f, indent=1)

# logind (and D-Bus) for the sleep inhibitor; the test target starts nothing by itself.
out["logind"] = subprocess.run(["systemctl", "start", "systemd-logind"], capture_output=True,
                               text=True).returncode
t0 = time.monotonic()
p = subprocess.run(["systemctl", "start", "gamevm@demo"], capture_output=True, text=True)
out["start_rc"] = p.returncode
out["start_s"] = time.monotonic() - t0
out["start_stderr"] = p.stderr
out["after_start"] = show("gamevm@demo")
out["status_after_start"] = status()
out["inhibitors"] = subprocess.run(["systemd-inhibit", "--list", "--no-pager"],
                                   capture_output=True, text=True).stdout
save()
if p.returncode != 0:
    # Nothing more to see: say why and end the container now.
    out["journal"] = subprocess.run(["journalctl", "-u", "gamevm@demo", "--no-pager", "-o",
                                     "cat"], capture_output=True, text=True).stdout[-20000:]
    save()
    subprocess.run(["systemctl", "poweroff", "--no-block"])
    raise SystemExit(0)

first = out["status_after_start"].get("qemu_pid", 0)
if first:
    os.kill(first, signal.SIGKILL)
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        st = show("gamevm@demo")
        if st.get("StatusText") not in seen:
            seen.append(st.get("StatusText"))
        s = status()
        if s.get("state") == "running" and s.get("qemu_pid") not in (0, first, None):
            break
        time.sleep(0.2)
    out["status_texts_during_crash"] = seen
    out["after_crash"] = show("gamevm@demo")
    out["status_after_crash"] = status()
    save()

time.sleep(3)
t0 = time.monotonic()
p = subprocess.run(["systemctl", "stop", "gamevm@demo"], capture_output=True, text=True)
out["stop_rc"] = p.returncode
out["stop_s"] = time.monotonic() - t0
out["after_stop"] = show("gamevm@demo")
out["inhibitors_after_stop"] = subprocess.run(["systemd-inhibit", "--list", "--no-pager"],
                                              capture_output=True, text=True).stdout
out["journal"] = subprocess.run(["journalctl", "-u", "gamevm@demo", "--no-pager", "-o", "cat"],
                                capture_output=True, text=True).stdout[-20000:]
save()

# single-gpu: the display manager stops for the VM and is started again after it.
subprocess.run(["systemctl", "start", "display-manager.service"])
out["dm_before"] = show("display-manager.service").get("ActiveState")
sg = subprocess.Popen(["@GAMEVM@", "--config-dir", "/etc/gamevm", "start", "--run-for", "2",
                       "--timeout", "1", "sg"],
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
seen = []
while sg.poll() is None:
    st = show("display-manager.service").get("ActiveState")
    if st not in seen:
        seen.append(st)
    time.sleep(0.1)
out["dm_during"] = seen
out["sg_rc"] = sg.returncode
out["sg_log"] = sg.stdout.read()[-8000:]
out["dm_after"] = show("display-manager.service").get("ActiveState")
save()

# The guest powers itself off; the unit says host-poweroff: this container goes down.
out["poweroff_started"] = time.monotonic()
save()
subprocess.run(["systemctl", "start", "--no-block", "gamevm@off"])
time.sleep(90)
out["poweroff_timed_out"] = True
out["off"] = show("gamevm@off")
out["journal_off"] = subprocess.run(["journalctl", "-u", "gamevm@off", "--no-pager", "-o", "cat"],
                                    capture_output=True, text=True).stdout[-20000:]
save()
"""

TARGET = """[Unit]
Description=gamevm test target
DefaultDependencies=no
Wants=gvtest.service systemd-journald.service
"""

SERVICE = """[Unit]
DefaultDependencies=no
After=systemd-journald.service
[Service]
Type=oneshot
ExecStart=/usr/local/libexec/gvtest.py
StandardOutput=file:/out/gvtest.log
StandardError=inherit
"""


def main():
    if os.geteuid() != 0:
        skip("needs root")
    for b in ("systemd-nspawn", "systemd-analyze", "qemu-system-x86_64", "swtpm"):
        if not shutil.which(b):
            skip(f"{b} is not installed (systemd-nspawn: package systemd-container)")
    if not os.path.exists("/lib/systemd/systemd"):
        skip("no systemd to boot")
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            skip("no overlayfs")
    import lab
    import tinyguest

    tmp = tempfile.mkdtemp(prefix="gamevm-systemd-")
    os.chmod(tmp, 0o755)
    ns = os.path.join(tmp, "ns")
    root = os.path.join(ns, "root")
    out = os.path.join(tmp, "out")
    os.makedirs(out)
    mounted = []
    try:
        try:
            kernel, initrd = tinyguest.build(os.path.join(tmp, "guest"), "poweroff -f")
        except lab.LabUnavailable as e:
            skip(f"no kernel for the test guest: {e}")

        # The units as installed, pointing at this build.
        units = {}
        for rel in ("systemd/gamevm@.service", "systemd/gamevm-prepare@.service",
                    "systemd/user/gamevm@.service"):
            with open(os.path.join(BUILD, rel)) as f:
                text = f.read()
            bindir = [l for l in text.splitlines() if l.startswith("ExecStart=")][0]
            bindir = bindir.split("=", 1)[1].split()[0].rsplit("/", 1)[0]
            units[rel] = text.replace(f"{bindir}/gamevm", GAMEVM)
        vdir = os.path.join(tmp, "verify")
        os.makedirs(vdir)
        for rel, text in units.items():
            name = {"systemd/gamevm@.service": "gamevm@demo.service",
                    "systemd/gamevm-prepare@.service": "gamevm-prepare@demo.service",
                    "systemd/user/gamevm@.service": "gamevm-user@demo.service"}[rel]
            with open(os.path.join(vdir, name), "w") as f:
                f.write(text)
            p = subprocess.run(["systemd-analyze", "verify", "--man=no",
                                os.path.join(vdir, name)], capture_output=True, text=True)
            check(p.returncode == 0 and not p.stdout.strip() and
                  "gamevm" not in p.stderr, f"systemd-analyze verify {rel}: {p.stdout}{p.stderr}")
        print("ok: systemd-analyze verify of the three units")

        # The container's root: this machine's, with a tmpfs on top.
        os.makedirs(ns)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g,mode=0755", "gvtest", ns],
                       check=True)
        mounted.append(ns)
        for d in ("upper", "work", "root"):
            os.makedirs(os.path.join(ns, d))
        upper = os.path.join(ns, "upper")
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir=/,upperdir={upper},workdir={ns}/work", root], check=True)
        mounted.append(root)

        def put(path, text, mode=0o644):
            full = os.path.join(root, path.lstrip("/"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
            os.chmod(full, mode)

        put("/etc/machine-id", os.urandom(16).hex() + "\n")
        # The guest's kernel and initrd inside: the container has its own /tmp.
        guest = os.path.join(root, "var/lib/gvtest")
        os.makedirs(guest)
        for f in (kernel, initrd):
            shutil.copy(f, guest)
        kernel, initrd = (os.path.join("/var/lib/gvtest", os.path.basename(f))
                          for f in (kernel, initrd))
        put("/etc/systemd/system/gamevm@.service", units["systemd/gamevm@.service"])
        # The demo's firmware ignores the power button: quit after 3 s, not 60.
        put("/etc/systemd/system/gamevm@demo.service.d/timeout.conf",
            f"[Service]\nExecStart=\nExecStart={GAMEVM} --config-dir /etc/gamevm start "
            "--timeout 3 %i\n")
        put("/etc/systemd/system/gvtest.target", TARGET)
        put("/etc/systemd/system/gvtest.service", SERVICE)
        put("/usr/local/libexec/gvtest.py", INSIDE.replace("@GAMEVM@", GAMEVM), 0o755)
        # A display manager stand-in for single-gpu (a unit of that name is all gamevm sees).
        put("/etc/systemd/system/display-manager.service",
            "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep infinity\n")
        with open(os.path.join(SRC, "examples", "demo.conf")) as f:
            demo = f.read().replace("[vm]\n", "[vm]\n" + DEMO_EXTRA, 1)
        put("/etc/gamevm/demo.conf", demo)
        put("/etc/gamevm/sg.conf", demo.replace("[vm]\n", "[vm]\nsingle-gpu = yes\n", 1)
            .replace("name = demo", "name = sg", 1).replace("on-crash = restart", "on-crash = exit"))
        put("/etc/gamevm/off.conf", f"""[vm]
name = off
accel = tcg
on-poweroff = host-poweroff
[memory]
size = 256M
[cpu]
vcpus = 1
model = max
[hyperv]
enabled = no
[firmware]
type = uefi
secure-boot = no
[tpm]
model = none
[devices]
serial = none
display = none
[qemu]
extra = -kernel {kernel} -initrd {initrd} -append console=ttyS0,quiet
""")
        # nspawn keeps its own state here; on a /run that is no tmpfs it cannot clean up.
        os.makedirs("/run/systemd/nspawn", exist_ok=True)
        if subprocess.run(["mountpoint", "-q", "/run/systemd/nspawn"]).returncode != 0:
            subprocess.run(["mount", "-t", "tmpfs", "gvtest-nspawn", "/run/systemd/nspawn"],
                           check=True)
            mounted.append("/run/systemd/nspawn")

        t0 = time.monotonic()
        # nspawn puts a tmpfs on the container's /tmp: the tree under test, wherever it
        # is, is bound in at the same path.
        binds = sorted({SRC, BUILD, os.path.dirname(GAMEVM)})
        binds = [b for b in binds if not any(b != o and b.startswith(o + "/") for o in binds)]
        p = subprocess.run(["systemd-nspawn", "-D", root, "--boot", "--keep-unit",
                            "--register=no", "--link-journal=no", "--console=pipe", "-q",
                            f"--bind={out}:/out", *[f"--bind-ro={b}" for b in binds],
                            "systemd.unit=gvtest.target"],
                           capture_output=True, text=True, timeout=400)
        took = time.monotonic() - t0
        try:
            with open(os.path.join(out, "result.json")) as f:
                res = json.load(f)
        except (OSError, ValueError) as e:
            log = open(os.path.join(out, "gvtest.log")).read() \
                if os.path.exists(os.path.join(out, "gvtest.log")) else ""
            check(False, f"no results from the container ({e}): {p.stdout}{p.stderr}{log}")
        print(f"container ran {took:.1f} s, exit {p.returncode}")

        a = res["after_start"]
        print(f"start: rc {res['start_rc']} in {res['start_s']:.1f} s: {a}")
        check(res["start_rc"] == 0,
              f"systemctl start failed: {res['start_stderr']}\n{res.get('journal', '')}")
        check(a.get("ActiveState") == "active" and a.get("SubState") == "running", a)
        check(a.get("StatusText", "").startswith("Running: 2 vCPUs pinned"), a)
        check(res["status_after_start"].get("state") == "running", res["status_after_start"])

        if res.get("logind") == 0:
            print(f"inhibitors while running: {res.get('inhibitors')!r}")
            check("gamevm" in res.get("inhibitors", "") and "VM demo runs" in res.get("inhibitors", ""),
                  f"no sleep inhibitor of gamevm: {res.get('inhibitors')}")
            check("gamevm" not in res.get("inhibitors_after_stop", ""),
                  f"the inhibitor outlived the VM: {res.get('inhibitors_after_stop')}")
        else:
            print("logind did not start in the container: the sleep inhibitor is not checked")

        c = res.get("after_crash", {})
        print(f"after the crash: {c}; StatusText seen: {res.get('status_texts_during_crash')}")
        check(c.get("ActiveState") == "active", f"the unit did not survive the crash: {c}")
        check(res["status_after_crash"].get("qemu_pid") not in
              (0, None, res["status_after_start"].get("qemu_pid")), "no new QEMU")
        check(any(t and t.startswith("Restarting after a failure (1 of 3)")
                  for t in res.get("status_texts_during_crash", [])) or
              "starting it again" in res.get("journal", ""),
              f"no word of the restart: {res.get('status_texts_during_crash')}")

        s = res["after_stop"]
        print(f"stop: rc {res['stop_rc']} in {res['stop_s']:.1f} s: {s}")
        check(res["stop_rc"] == 0 and s.get("ActiveState") == "inactive", s)
        check(s.get("Result") == "success" and s.get("ExecMainStatus") == "0", s)
        check(res["stop_s"] < 3 + 15 + 10, f"stop took {res['stop_s']:.1f} s")

        print(f"single-gpu: display-manager.service {res.get('dm_before')}, during the VM "
              f"{res.get('dm_during')}, after {res.get('dm_after')}; gamevm exit {res.get('sg_rc')}")
        check(res.get("dm_before") == "active", "the display manager stand-in did not start")
        check(res.get("sg_rc") == 0, f"gamevm start with single-gpu failed:\n{res.get('sg_log')}")
        check("inactive" in res.get("dm_during", []),
              f"the display manager did not stop for the VM: {res.get('dm_during')}")
        check("single-gpu: stopped display-manager.service" in res.get("sg_log", "") and
              "started display-manager.service again" in res.get("sg_log", ""),
              f"the log does not say so:\n{res.get('sg_log')}")
        check(res.get("dm_after") == "active",
              f"the display manager is not back after the VM: {res.get('dm_after')}")

        check(not res.get("poweroff_timed_out"),
              f"the container was not powered off: {res.get('off')}\n{res.get('journal_off')}")
        print("ok: the guest powered off and so did the container (on-poweroff = host-poweroff)")
        return 0
    finally:
        for m in reversed(mounted):
            subprocess.run(["umount", "-l", m])
        if os.environ.get("GVTEST_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
