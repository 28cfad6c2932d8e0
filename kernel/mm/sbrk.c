/*
 * kernel/mm/sbrk.c - sbrk, sbrk_uninit and brk on the machine's heap (see sbrk.h).
 */
#include "kernel/mm/sbrk.h"

#include "kernel/base/arch.h"
#include "kernel/base/layout.h"
#include "kernel/base/platform.h"
#include "kernel/mm/brk.h"
#include "kernel/mm/pages.h"

static int hart_errno[RVMEM_MAX_HARTS];

int *errno_location(void)
{
    return &hart_errno[hart_self()];
}

/* A move of the break as sbrk reports it: the previous break, or (void *)-1 with errno set. */
static void *sbrk_result(struct brk_move move)
{
    if (move.error) {
        *errno_location() = (int)-move.error;
        return (void *)-1;
    }
    return (void *)move.previous;
}

/* Everything but sbrk's common case, out of line so that case needs no frame. */
static __attribute__((noinline)) void *sbrk_slow(intptr_t increment)
{
    return sbrk_result(brk_move_by(&machine_heap, increment));
}

/* Without a frame pointer: in the common case sbrk is a leaf (the rest is a tail call). */
ARCH_NO_FRAME_POINTER void *sbrk(intptr_t increment)
{
    uintptr_t previous;
    if (__builtin_expect(brk_try_move_fast(&machine_heap, increment, &previous), 1))
        return (void *)previous;
    return sbrk_slow(increment);
}

/* sbrk_uninit's slow path: brk_move_by_uninit with errno. */
static __attribute__((noinline)) void *sbrk_uninit_slow(intptr_t increment)
{
    return sbrk_result(brk_move_by_uninit(&machine_heap, increment));
}

/* The same fast path as sbrk: bytes below clean_end are zero, which suits an uninitialized grow too. */
ARCH_NO_FRAME_POINTER void *sbrk_uninit(intptr_t increment)
{
    uintptr_t previous;
    if (__builtin_expect(brk_try_move_fast(&machine_heap, increment, &previous), 1))
        return (void *)previous;
    return sbrk_uninit_slow(increment);
}

int brk(void *address)
{
    int error = brk_set(&machine_heap, (uintptr_t)address);
    if (error) {
        *errno_location() = -error;
        return -1;
    }
    return 0;
}
