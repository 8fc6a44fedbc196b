#!/usr/bin/env bash
# Installs what gamevm needs to build and to run its tests on Debian 12
# (bookworm). Idempotent: apt is only asked when a package is missing.
set -euo pipefail

PACKAGES=(
	# build
	gcc meson ninja-build pkg-config
	libpci-dev pci.ids libnuma-dev libseccomp-dev libcap-ng-dev liburing-dev
	libjson-c-dev libinih-dev libcmocka-dev libxml2-dev
	# the SELinux policy module (selinux/gamevm.te -> gamevm.pp)
	checkpolicy semodule-utils
	# the VM stack gamevm drives
	qemu-system-x86 qemu-utils ovmf swtpm swtpm-tools
	# [audio]: QEMU's PulseAudio driver (module audio-pa) is in qemu-system-gui
	qemu-system-gui
	# tests; clang and its libFuzzer runtime for scripts/fuzz.sh
	python3 clang-format clang libclang-rt-dev
	# the lab (tests/lab): its initramfs, depmod/modprobe for the guest kernel
	busybox-static kmod
	# tests/install: the man pages rendered (groff, man), the .deb built
	# (dpkg-buildpackage, dh), the zsh completion driven in a real zsh
	groff-base man-db debhelper zsh
	# tests/integration/test-guest-proof.py: a UKI (systemd-boot's stub, objcopy
	# from binutils) signed with OVMF's snakeoil key on a FAT ESP
	systemd-boot-efi sbsigntool binutils openssl dosfstools mtools
	# tests/integration/test-snapshot.py: reflinks on a loop-mounted btrfs
	btrfs-progs
	# tests/integration/test-systemd.py: gamevm@.service under a real systemd
	systemd-container
	# tests/integration/test-desktop-vm.py: a real PulseAudio server QEMU connects to
	pulseaudio pulseaudio-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done

if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "gamevm: need root to install: ${missing[*]} (run with sudo)" >&2
		exit 1
	fi
	echo "gamevm: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The user QEMU and swtpm run as (the config's [vm] user defaults to it):
# a system user without a home or shell, in group kvm for /dev/kvm.
if ! getent passwd gamevm >/dev/null; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "gamevm: need root to create the system user 'gamevm' (run with sudo)" >&2
		exit 1
	fi
	getent group kvm >/dev/null || groupadd --system kvm
	echo "gamevm: creating the system user 'gamevm'"
	useradd --system --no-create-home --shell /usr/sbin/nologin --groups kvm gamevm
fi
