#!/usr/bin/env bash
# README quick start (1): install, build, and run the main job on the
# built-in demo VM (examples/demo.conf): the QEMU command line gamevm would
# run for it, this host's CPU layout, and its IOMMU groups.
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
run build/gamevm topology
# A host without an IOMMU (VMs, laptops with it off) gets a clear error and
# a non-zero exit here; that is the answer, not a failure of the demo.
run build/gamevm iommu || echo "(gamevm iommu exited $?: see the message above)"
