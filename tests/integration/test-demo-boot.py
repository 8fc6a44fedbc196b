#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Integration test: the argv that `gamevm cmdline --json examples/demo.conf`
prints is run in real QEMU (TCG here), with real OVMF (Secure Boot, SMM)
and a real swtpm, for a few seconds. Through QMP it checks that the VM was
paused by -S before anything ran, that it has the configured vCPU count with
one host thread each, and that it runs after `cont`.

Until the supervisor lands (issue 3) this script does the supervisor's
chores itself: the per-VM NVRAM copy, the swtpm process and the QMP
listening socket QEMU gets as an fd.

Exit 77 = skipped (QEMU or OVMF missing), except under CI=true where a
missing dependency is a failure.
"""
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("GAMEVM_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
GAMEVM = os.environ.get("GAMEVM_BIN", os.path.join(SRC, "build", "gamevm"))
CONF = os.path.join(SRC, "examples", "demo.conf")


def skip(msg):
    if os.environ.get("CI") == "true":
        print(f"FAIL (strict CI): {msg}")
        sys.exit(1)
    print(f"SKIP: {msg}")
    sys.exit(77)


def opt_value(argv, opt):
    """Values of every `opt VALUE` pair in argv."""
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == opt]


def kv(optstr):
    """'a,b=c,d=e' -> {'': 'a', 'b': 'c', ...} honouring ',,' escapes."""
    out, key, cur, i, first = {}, None, "", 0, True
    parts, buf = [], ""
    while i < len(optstr):
        c = optstr[i]
        if c == "," and i + 1 < len(optstr) and optstr[i + 1] == ",":
            buf += ","
            i += 2
            continue
        if c == ",":
            parts.append(buf)
            buf = ""
        else:
            buf += c
        i += 1
    parts.append(buf)
    for p in parts:
        if "=" in p:
            k, v = p.split("=", 1)
            out[k] = v
        else:
            out[""] = p
    return out


class Qmp:
    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self.events = []
        greeting = self._read()
        assert "QMP" in greeting, greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("QMP closed")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name, "id": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\r\n")
        self.f.flush()
        while True:
            r = self._read()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error']}")
            return r["return"]


def wait_for(path, proc, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before creating {path}")
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not create {path} in {timeout}s")


def main():
    if not shutil.which("qemu-system-x86_64") or not shutil.which("swtpm"):
        skip("qemu-system-x86_64 or swtpm not installed")
    if not glob.glob("/usr/share/qemu/firmware/*.json"):
        skip("no QEMU firmware descriptors (package ovmf)")

    tmp = tempfile.mkdtemp(prefix="gamevm-it-")
    run_dir, state_dir = os.path.join(tmp, "run"), os.path.join(tmp, "state")
    procs = []
    failed = True
    try:
        out = subprocess.run([GAMEVM, "--run-dir", run_dir, "--state-dir", state_dir,
                              "cmdline", "--json", CONF],
                             check=True, capture_output=True, text=True)
        argv = json.loads(out.stdout)
        assert isinstance(argv, list) and argv, "cmdline --json must print a JSON array"
        assert "-S" in argv, "the guest must start paused (-S) so gamevm can pin first"
        sandbox = opt_value(argv, "-sandbox")
        assert sandbox and sandbox[0].startswith("on,"), f"-sandbox missing: {sandbox}"

        name = kv(opt_value(argv, "-name")[0])["guest"]
        vm_run, vm_state = os.path.join(run_dir, name), os.path.join(state_dir, name)
        os.makedirs(vm_run)
        os.makedirs(vm_state)
        smp = kv(opt_value(argv, "-smp")[0])
        vcpus = int(smp[""])

        # NVRAM: the supervisor copies the firmware's vars template once.
        blockdevs = [kv(b) for b in opt_value(argv, "-blockdev")]
        machine = kv(opt_value(argv, "-machine")[0])
        nodes = {b.get("node-name"): b for b in blockdevs}

        def file_of(node):
            b = nodes[node]
            while "file" in b and b["file"] in nodes:
                b = nodes[b["file"]]
            return b["filename"]

        code = file_of(machine["pflash0"])
        nvram = file_of(machine["pflash1"])
        template = None
        for d in sorted(glob.glob("/usr/share/qemu/firmware/*.json")):
            desc = json.load(open(d))
            m = desc.get("mapping", {})
            if m.get("executable", {}).get("filename") == code:
                template = m["nvram-template"]["filename"]
                break
        assert template, f"no descriptor names {code}"
        assert nvram.startswith(vm_state + "/"), f"NVRAM {nvram} must live in {vm_state}"
        shutil.copyfile(template, nvram)

        # swtpm listens before QEMU connects to it.
        tpm_chardevs = [kv(c) for c in opt_value(argv, "-chardev") if "id=chrtpm" in c]
        if tpm_chardevs:
            sock = tpm_chardevs[0]["path"]
            os.makedirs(os.path.join(tmp, "tpm"))
            swtpm = subprocess.Popen(["swtpm", "socket", "--tpm2",
                                      "--tpmstate", f"dir={tmp}/tpm,mode=0600",
                                      "--ctrl", f"type=unixio,path={sock},mode=0600",
                                      "--terminate"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(swtpm)
            wait_for(sock, swtpm, "swtpm")

        # QMP: like gamevm, bind the socket here and hand QEMU the listening
        # fd as the number the argv names.
        qmp_opts = kv([c for c in opt_value(argv, "-chardev") if "id=qmp" in c][0])
        qmp_fd_num = int(qmp_opts["fd"])
        qmp_path = os.path.join(vm_run, "qmp.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(qmp_path)
        listener.listen(1)

        def hand_over():
            os.dup2(listener.fileno(), qmp_fd_num)
            os.set_inheritable(qmp_fd_num, True)

        log = open(os.path.join(tmp, "qemu.log"), "w+")
        qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                pass_fds=(listener.fileno(),), preexec_fn=hand_over)
        procs.append(qemu)
        listener.close()
        q = Qmp(qmp_path)

        status = q.cmd("query-status")
        assert status["status"] == "prelaunch", f"expected prelaunch under -S, got {status}"
        cpus = q.cmd("query-cpus-fast")
        assert len(cpus) == vcpus, f"{len(cpus)} vCPUs, config says {vcpus}"
        tids = {c["thread-id"] for c in cpus}
        assert len(tids) == vcpus, "each vCPU must have its own host thread"
        for tid in tids:
            comm = open(f"/proc/{qemu.pid}/task/{tid}/comm").read().strip()
            assert comm.startswith("CPU "), f"vCPU thread {tid} is named {comm!r} (debug-threads=on?)"
        iothreads = q.cmd("query-iothreads")

        q.cmd("cont")
        time.sleep(3)
        status = q.cmd("query-status")
        assert status["status"] == "running", f"guest not running after cont: {status}"
        assert qemu.poll() is None, "QEMU exited while the guest should run"

        try:
            q.cmd("quit")
        except EOFError:
            pass
        try:
            qemu.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # QEMU 7.2 under TCG now and then hangs in its own shutdown after
            # quit (gamevm's stop sequence kills it then); not what this
            # test is about.
            print("note: QEMU did not exit after quit; killed")
            qemu.kill()
            qemu.wait()
        for p in procs[:-1]:
            p.wait(timeout=10)  # swtpm --terminate ends with QEMU's connection
        print(f"ok: {vcpus} vCPUs (threads {sorted(tids)}), {len(iothreads)} iothreads, "
              f"firmware {code}, prelaunch -> running")
        failed = False
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if failed and os.path.exists(os.path.join(tmp, "qemu.log")):
            print("--- qemu.log ---")
            print(open(os.path.join(tmp, "qemu.log")).read())
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
