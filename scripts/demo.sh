#!/usr/bin/env bash
# README quick start (1): install, build, and run the main job on the
# built-in demo VM (examples/demo.conf): show the QEMU command line, this
# host's CPU layout and IOMMU groups, then boot the VM for real (KVM where it
# can run guests, else TCG; OVMF Secure Boot with SMM; swtpm TPM 2.0), let
# the firmware come up, and stop it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh

run() {
	echo
	echo "\$ $*"
	"$@"
}

run build/gamevm cmdline examples/demo.conf
# The doctor: what would stop this VM here, and how to fix it. A failure is
# its answer (exit 1), not a failure of the demo.
run build/gamevm check examples/demo.conf || echo "(gamevm check exited $?: see the failures above)"
run build/gamevm topology
# A host without an IOMMU (VMs, laptops with it off) gets a clear error and
# a non-zero exit here; that is the answer, not a failure of the demo.
run build/gamevm iommu || echo "(gamevm iommu exited $?: see the message above)"

# The firmware sits at its boot manager and ignores the ACPI power button, so
# the graceful stop falls back to 'quit' after --timeout seconds.
run build/gamevm start --run-for 20 --timeout 10 examples/demo.conf
