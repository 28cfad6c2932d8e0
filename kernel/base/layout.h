/*
 * kernel/base/layout.h - every layout constant of the runtime, for C and assembly.
 *
 * Build settings (Makefile variables) arrive as -D definitions; the defaults here are what a
 * plain `make` uses. linker.ld receives the same values through --defsym. Each constant is
 * defined here and nowhere else.
 */
#ifndef RVMEM_KERNEL_BASE_LAYOUT_H
#define RVMEM_KERNEL_BASE_LAYOUT_H

/* Bytes in a page: the unit of the page allocator, the program break and malloc's runs. */
#define PAGE_SHIFT 12
#ifdef __ASSEMBLER__
#define PAGE_SIZE (1 << PAGE_SHIFT)
#else
#define PAGE_SIZE ((uintptr_t)1 << PAGE_SHIFT)
#endif

/* Harts the build can hold (stacks and per-hart data are sized by it). Makefile: MAX_HARTS=. */
#ifndef RVMEM_MAX_HARTS
#define RVMEM_MAX_HARTS 8
#endif

/* Bytes of stack per hart. Makefile: STACK_SIZE=. A multiple of 4 KiB: each stack is whole pages. */
#ifndef RVMEM_STACK_SIZE
#define RVMEM_STACK_SIZE 16384
#endif

/*
 * linker.ld's .stacks holds, for each hart, an unmapped guard page and the stack right above it:
 * hart i's stack starts at __stacks_start + i * STACK_SLOT_BYTES + STACK_GUARD_BYTES. With paging
 * on, the first push below a stack's bottom faults in its guard page.
 */
#define STACK_GUARD_BYTES PAGE_SIZE
#define STACK_SLOT_BYTES (RVMEM_STACK_SIZE + STACK_GUARD_BYTES)

/*
 * Bytes of each hart's emergency stack: where the trap vector (boot/trap.S) runs the handler when
 * sp is unusable (a stack overflow into the guard page). make stack-report checks that a trap
 * frame and the trap handler's worst case fit in it.
 */
#define EMERGENCY_STACK_SIZE 4096

/*
 * Where user programs will live: a window that no board's RAM or devices occupy (docs/PORTING.md:
 * RAM at 0x80000000 or 0x40000000, at most a few GiB; devices below RAM), the same on every board.
 * The kernel, identity-mapped, never maps anything inside it (docs/MEMORY.md, "Address spaces").
 * Sv39: the upper half of the lower canonical half, [128 GiB, 256 GiB); Sv32: [1 GiB, 2 GiB).
 * Every address in it is positive as a signed long, so a system call's result can be an address
 * or a negative error code without ambiguity (docs/USER.md). The host build takes the window of
 * the ARCH it is built for: 32-bit (-m32, ARCH=rv32) or 64-bit.
 */
#if (defined(__riscv_xlen) && __riscv_xlen == 32) || (!defined(__riscv_xlen) && __SIZEOF_POINTER__ == 4)
#define USER_WINDOW_START 0x40000000UL
#define USER_WINDOW_END 0x80000000UL
#else
#define USER_WINDOW_START 0x2000000000UL
#define USER_WINDOW_END 0x4000000000UL
#endif

/*
 * struct hart (kernel/platform/hart.h) fills one page, so assembly can index the per-hart table:
 * the platform's own fields, then from HART_AREA_OFFSET to the end the hart's private area, which
 * the platform seam (kernel/base/platform.h) lends to one client (in this runtime, malloc's
 * per-hart cache). Code on the hart reaches its area as tp plus a constant.
 */
#define HART_STRUCT_SIZE 4096
#define HART_AREA_OFFSET 128
#define HART_AREA_BYTES (HART_STRUCT_SIZE - HART_AREA_OFFSET)

/* Offsets in struct hart that assembly or the compiler use through tp. */
#define HART_STACK_GUARD_OFFSET 0            /* -mstack-protector-guard-offset */
#define HART_INDEX_OFFSET (__riscv_xlen / 8) /* right after the guard word: 8 on rv64, 4 on rv32 */
/* The trap vector's (boot/trap.S): two words it saves t0 and t1 in, the stack's and the emergency stack's bottom. */
#define HART_TRAP_SCRATCH_OFFSET (2 * (__riscv_xlen / 8))
#define HART_STACK_BOTTOM_OFFSET (4 * (__riscv_xlen / 8))
#define HART_EMERGENCY_BOTTOM_OFFSET (5 * (__riscv_xlen / 8))

/* struct hart_start_request (kernel/platform/hart.h), read by boot/entry.S: hartid, then the index. */
#define HART_START_REQUEST_HARTID_OFFSET 0
#define HART_START_REQUEST_INDEX_OFFSET (__riscv_xlen / 8)

#if (RVMEM_STACK_SIZE % 4096) != 0 || RVMEM_STACK_SIZE < 4096
#error "STACK_SIZE must be a multiple of 4096 (whole pages, a guard page below each)"
#endif

#endif
