/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The firmware probe guest of host-kvm.c: 4 KiB of "flash" mapped read-only
 * just below 4 GiB, entered at the x86 reset vector like OVMF's SEC phase,
 * and walking the same path: real mode, 32-bit protected mode with a flat
 * GDT, x87 and SSE set-up, CPUID, RDTSC, then paging and 64-bit long mode,
 * where it halts.
 *
 * Why not a one-instruction guest: nested and paravirtual KVMs (no VMX/SVM
 * in the guest's CPU flags) run a real-mode HLT through KVM's instruction
 * emulator and then fail on the first instruction the emulator lacks;
 * OVMF dies there with "KVM internal error. Suberror: 1" (FWAIT/FNINIT in
 * its 32-bit SEC code). Each step writes its number to I/O port 0x80 (the
 * POST code port firmware uses too) before the next one, so the probe can
 * say which step failed.
 *
 * RAM (guest physical 0 - 64 KiB): page tables at 0x1000-0x6fff (PML4,
 * PDPT, four page directories of 2 MiB pages mapping the low 4 GiB one to
 * one), the stack below 0x8000. tests/integration/test-kvm-probe-rom.py
 * runs this image under QEMU's TCG and checks every step and the final
 * 64-bit halt, on any host.
 */
	.set ROM_BASE, 0xfffff000
	.set ROM_SIZE, 0x1000
	/* In real mode CS:IP is f000:fff0 at reset: CS base 0xffff0000. */
	.set REAL_CS_BASE, 0xffff0000

	.set PML4, 0x1000
	.set PDPT, 0x2000
	.set PD0, 0x3000
	.set STACK_TOP, 0x8000

	.set SEL_DATA, 0x08
	.set SEL_CODE32, 0x10
	.set SEL_CODE64, 0x18

#define LINEAR(label) ((label) - kvm_probe_rom + ROM_BASE)
#define REAL_OFF(label) (LINEAR(label) - REAL_CS_BASE)
#define STEP(n) movb $(n), %al; outb %al, $0x80

	.section .rodata.kvm_probe_rom, "a"
	.globl kvm_probe_rom, kvm_probe_rom_end
	.balign 4096
kvm_probe_rom:

	.code16
entry16:
	cli
	cld
	STEP(1)
	lgdtl %cs:REAL_OFF(gdt_desc)
	movl %cr0, %eax
	orl $1, %eax			/* PE */
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $LINEAR(entry32)

	.code32
entry32:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $STACK_TOP, %esp
	STEP(2)

	/* OVMF's SEC initialises the FPU first thing (InitializeFloatingPointUnits). */
	fwait
	fninit
	fnstcw -4(%esp)
	STEP(3)

	xorl %eax, %eax
	cpuid
	rdtsc
	movl %cr4, %eax
	orl $0x600, %eax		/* OSFXSR | OSXMMEXCPT: SSE allowed */
	movl %eax, %cr4
	xorps %xmm0, %xmm0
	movaps %xmm0, -32(%esp)
	STEP(4)

	/* Identity map 0 - 4 GiB with 2 MiB pages, so this code stays mapped. */
	movl $PML4, %edi
	movl $((STACK_TOP - 0x1000 - PML4) / 4), %ecx
	xorl %eax, %eax
	rep stosl
	movl $(PDPT | 3), PML4
	movl $(PD0 | 3), PDPT
	movl $((PD0 + 0x1000) | 3), PDPT + 8
	movl $((PD0 + 0x2000) | 3), PDPT + 16
	movl $((PD0 + 0x3000) | 3), PDPT + 24
	movl $PD0, %edi
	movl $0x83, %eax		/* present, writable, 2 MiB page */
	movl $2048, %ecx
1:	movl %eax, (%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 1b

	movl $PML4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000000, %eax		/* PG */
	movl %eax, %cr0
	ljmpl $SEL_CODE64, $LINEAR(entry64)

	.code64
entry64:
	STEP(5)
	hlt
	/* Not reached: nothing wakes a vCPU without an interrupt controller. */
	jmp entry64

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf93000000ffff	/* SEL_DATA: flat 4 GiB data */
	.quad 0x00cf9b000000ffff	/* SEL_CODE32: flat 4 GiB 32-bit code */
	.quad 0x00af9b000000ffff	/* SEL_CODE64: 64-bit code */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long LINEAR(gdt)

	/* The reset vector: the last 16 bytes below 4 GiB. */
	.org ROM_SIZE - 16
	.code16
reset_vector:
	jmp entry16
	.org ROM_SIZE
kvm_probe_rom_end:

	.section .note.GNU-stack, "", @progbits
