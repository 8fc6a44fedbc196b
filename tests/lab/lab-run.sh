#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/lab/lab-run.sh [--timeout S] [--hugepages N] [--env K=V]... [-v] -- COMMAND...
# Boots the lab, runs COMMAND in it, exits with its status (see README.md).
exec python3 "$(dirname "$0")/lab.py" "$@"
