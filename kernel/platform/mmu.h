/*
 * kernel/platform/mmu.h - the harts' MMUs: whether the machine can page (the device tree's
 * mmu-type of every hart the kernel runs on), satp on each hart, and TLB shootdowns.
 *
 * The page tables themselves are kernel/mm's (vm.h, kernel_space.h); this module only writes
 * satp and fences. The boot hart turns paging on with mmu_turn_on once the kernel's map is
 * built, before it starts the other harts; each of them turns it on as it starts
 * (mmu_turn_on_this_hart, from secondary_main before it reports in), so no hart runs a job
 * with paging off while others have it on.
 *
 * Shootdowns (tlb_shootdown, kernel/base/platform.h): the calling hart fences itself; the
 * others are fenced by the firmware through SBI RFENCE remote_sfence_vma where it exists (the
 * firmware interrupts each hart in M-mode, so even a hart busy in a loop is fenced before the
 * call returns). Without RFENCE: an IPI and a request each hart answers when it next waits
 * (sleeping for a job in secondary_main, or in hart_relax); a hart busy in a job that never
 * waits holds the caller up until it does (up to MMU_SHOOTDOWN_RELAX_ROUNDS waits, then a panic).
 */
#ifndef RVMEM_KERNEL_PLATFORM_MMU_H
#define RVMEM_KERNEL_PLATFORM_MMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fdt;

/* satp's MODE field values (privileged spec): the same numbers as kernel/mm/vm.h's enum vm_mode. */
#define MMU_MODE_BARE 0
#define MMU_MODE_SV32 1
#define MMU_MODE_SV39 8

/* hart_relax rounds (about 10 us each under QEMU) a shootdown without RFENCE waits for an answer. */
#define MMU_SHOOTDOWN_RELAX_ROUNDS 1000000UL

/*
 * The translation mode the kernel can use on this machine: MMU_MODE_SV39 (rv64) or
 * MMU_MODE_SV32 (rv32) when the boot hart and every hart smp_start_harts will start (the cpus
 * usable for S-mode, up to MAX_HARTS) have an mmu-type that provides it (Sv39 on rv64: sv39,
 * sv48 or sv57, which must all support Sv39; Sv32 on rv32); else MMU_MODE_BARE with the reason
 * ("hartid 2: mmu-type riscv,none") in why. Reads the device tree only.
 */
unsigned mmu_machine_mode(const struct fdt *fdt, unsigned long boot_hartid, char *why, size_t why_bytes);

/*
 * Boot hart: makes satp the kernel's (every hart started later takes it too) and turns
 * translation on here, then fences. Returns false, leaving paging off everywhere, when the hart
 * ignored the mode (satp is WARL: an unsupported mode does not stick).
 */
bool mmu_turn_on(uintptr_t satp);

/* A secondary hart, as it starts: the kernel's satp if paging is on (panics if the hart ignores it). */
void mmu_turn_on_this_hart(void);

/* The kernel's satp: 0 while paging is off. */
uintptr_t mmu_kernel_satp(void);

/* The calling hart's satp as the hardware holds it. */
uintptr_t mmu_read_satp(void);

/* Fences the calling hart's TLB for [virtual, virtual + bytes) (bytes 0: everything). */
void tlb_flush_local(uintptr_t virtual, uintptr_t bytes);

/*
 * tlb_shootdown for the harts in harts_wanted only (a bit per hart index; the caller's own bit
 * does not matter: it always fences itself): a user space shoots down the harts that run it now
 * (kernel/proc/user_space.c). Returns at once, after the local fence, when no other hart is wanted.
 */
void tlb_shootdown_harts(unsigned long harts_wanted, uintptr_t virtual, uintptr_t bytes);

/* "SBI RFENCE" or "IPI" (how tlb_shootdown reaches the other harts), or "none" (paging off). */
const char *mmu_shootdown_method(void);

/*
 * Makes tlb_shootdown use the IPI path even where RFENCE exists (false: RFENCE where the firmware
 * has it). The boot does so under QEMU -icount: OpenSBI's RFENCE waits for the other harts by
 * spinning in M-mode, and -icount's single-threaded scheduler never leaves a spinning hart for
 * the ones it waits for, whereas the IPI path waits asleep (wfi). Tests use it to try that path.
 */
void mmu_set_shootdown_by_ipi(bool by_ipi);

/* Whether tlb_shootdown uses the IPI path by choice (mmu_set_shootdown_by_ipi). */
bool mmu_shootdown_by_ipi(void);

/*
 * Answers the shootdown requests made of the calling hart (the IPI path): fences it if one is
 * pending. Called by every wait (secondary_main's idle loop, hart_relax). O(1).
 */
void mmu_answer_shootdowns(void);

#endif
