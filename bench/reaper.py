#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""
reaper.py COMMAND...: runs COMMAND as a child subreaper's child and reaps
every process orphaned below it at once, until COMMAND has exited.

libvirtd daemonizes QEMU (double fork), so a QEMU that exits is reaped by
the nearest subreaper, else PID 1. systemd reaps at once; the PID 1 of some
sandboxes and containers only now and then, and libvirt polls kill(pid, 0)
until the zombie is gone: its stop would be timed by that PID 1. Under this
reaper libvirt sees what it would see under systemd.
"""
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: reaper.py COMMAND [ARG...]")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")
    child = os.fork()
    if child == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    status = 0
    while True:
        try:
            pid, st = os.wait()
        except ChildProcessError:
            break
        if pid == child:
            status = os.waitstatus_to_exitcode(st)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
