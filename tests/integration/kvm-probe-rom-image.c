/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writes the KVM firmware probe guest (launcher/kvm-probe-rom.S) as a
 * 64 KiB BIOS image for QEMU's -bios, the 4 KiB ROM at its top so that it
 * lands just below 4 GiB with the reset vector in its last 16 bytes, as
 * host-kvm.c maps it. test-kvm-probe-rom.py runs it under TCG.
 */
#include <stdio.h>
#include <string.h>

extern const unsigned char kvm_probe_rom[], kvm_probe_rom_end[];

#define IMAGE_SIZE (64 * 1024)

int main(int argc, char **argv)
{
	static unsigned char image[IMAGE_SIZE];
	size_t rom = (size_t)(kvm_probe_rom_end - kvm_probe_rom);
	FILE *f;

	if (argc != 2 || rom != 4096) {
		fprintf(stderr, "usage: %s FILE (ROM size %zu)\n", argv[0], rom);
		return 2;
	}
	memcpy(image + IMAGE_SIZE - rom, kvm_probe_rom, rom);
	f = fopen(argv[1], "we");
	if (!f || fwrite(image, 1, sizeof(image), f) != sizeof(image) || fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
