/*
 * tests/top/paging.c - the kernel's own address space, live: every hart runs on it, it maps what
 * its description says and nothing else, W^X and unmapped addresses trap, each hart's guard
 * page traps onto its emergency stack, and a changed mapping reaches every hart's TLB through a
 * shootdown, busy harts included. With paging off (no MMU, paging=off) each test is skipped.
 *
 * The crash.* tests at the end end the run on purpose: tools/test.py runs each alone and checks
 * the report (which region, which permission; the overflowing hart) and the exit status.
 */
#include "kernel/top/paging.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/hart.h"
#include "kernel/platform/mmu.h"
#include "kernel/platform/stack.h"
#include "kernel/platform/trap.h"
#include "tests/harness/ktest.h"

extern char __text_start[], __text_end[], __rodata_start[], __data_start[], __bss_start[];

#define RW (VM_READ | VM_WRITE)
/* An address no region uses and outside the user window: where the tests map and unmap. */
#define SCRATCH ((uintptr_t)USER_WINDOW_START - ((uintptr_t)4 << 20))
/* A load that a trap skips leaves this in its destination register. */
#define NOT_LOADED ((uintptr_t)0x5a5a5a5a)

static bool skip_without_paging(void)
{
    if (paging_on())
        return false;
    ktest_skip(paging_off_reason());
    return true;
}

/* The word at address through a load the trap handler may skip: NOT_LOADED then. */
static uintptr_t load_word(uintptr_t address)
{
    uintptr_t value = NOT_LOADED;
#if __riscv_xlen == 32
    __asm__ volatile("lw %0, 0(%1)" : "+r"(value) : "r"(address) : "memory");
#else
    __asm__ volatile("ld %0, 0(%1)" : "+r"(value) : "r"(address) : "memory");
#endif
    return value;
}

/* Whether an access to address traps, expected: its scause and stval when it does. */
struct caught {
    bool trapped;
    uintptr_t scause, stval;
};

static struct caught load_traps(uintptr_t address)
{
    struct caught caught;
    trap_expect_begin();
    load_word(address);
    caught.trapped = trap_expect_end(&caught.scause, &caught.stval);
    return caught;
}

/* Stores the word already at address back (so nothing changes if the store is allowed). */
static struct caught store_traps(uintptr_t address)
{
    struct caught caught;
    uintptr_t value = *(volatile uintptr_t *)address;
    trap_expect_begin();
    *(volatile uintptr_t *)address = value;
    caught.trapped = trap_expect_end(&caught.scause, &caught.stval);
    return caught;
}

/* Calls address, which holds a return instruction: a fetch fault resumes at the return address. */
static struct caught call_traps(uintptr_t address)
{
    struct caught caught;
    void (*function)(void) = (void (*)(void))address;
    trap_expect_begin();
    function();
    caught.trapped = trap_expect_end(&caught.scause, &caught.stval);
    return caught;
}

/* A return instruction (c.ret) followed by another, as data: what the execute tests call. */
static uint16_t data_return[4] __attribute__((aligned(8))) = {0x8082, 0x8082, 0x8082, 0x8082};

KTEST_SMP(paging, every_hart_runs_on_the_kernel_map)
{
    if (!paging_on()) {
        KASSERT_EQ(mmu_read_satp(), 0);
        return;
    }
    KASSERT_EQ(mmu_read_satp(), mmu_kernel_satp());
    KASSERT_NE(mmu_kernel_satp(), 0);
}

KTEST(paging, the_map_holds_its_description_and_nothing_else)
{
    if (skip_without_paging())
        return;
    const struct kernel_space *kernel = paging_kernel_space();
    KASSERT_EQ(vm_validate(&kernel->vm), 0);
    /* Every region is mapped at its own address with its permissions, or not at all (guards). */
    for (unsigned i = 0; i < kernel->region_count; i++) {
        const struct kernel_region *region = &kernel->regions[i];
        uintptr_t probes[] = {region->start, region->end - PAGE_SIZE};
        for (unsigned p = 0; p < 2; p++) {
            uint64_t physical = 0;
            int permissions = vm_translate(&kernel->vm, probes[p], &physical);
            if (region->permissions == 0) {
                KASSERT_EQ(permissions, -E_NOENT);
                continue;
            }
            KASSERT_EQ(permissions, (int)(region->permissions | VM_GLOBAL));
            KASSERT_EQ(physical, (uint64_t)probes[p]);
        }
    }
    /* Every leaf lies inside one region with that region's permissions: nothing else is mapped. */
    struct vm_mapping leaf;
    unsigned long leaves = 0;
    for (uintptr_t at = 0; vm_find(&kernel->vm, at, &leaf) == 0; at = leaf.virtual + leaf.bytes) {
        const struct kernel_region *region = kernel_space_region_at(kernel, leaf.virtual);
        KASSERT(region != NULL);
        KASSERT_LE(leaf.virtual + leaf.bytes, region->end);
        KASSERT_EQ(leaf.permissions, region->permissions | VM_GLOBAL);
        KASSERT_EQ(leaf.physical, (uint64_t)leaf.virtual);
        KASSERT((leaf.permissions & (VM_WRITE | VM_EXECUTE)) != (VM_WRITE | VM_EXECUTE)); /* W^X */
        KASSERT_EQ(leaf.permissions & VM_USER, 0u);
        KASSERT(leaf.virtual + leaf.bytes <= USER_WINDOW_START || leaf.virtual >= USER_WINDOW_END);
        leaves++;
        if (leaf.virtual + leaf.bytes == 0)
            break;
    }
    struct vm_stats stats;
    vm_get_stats(&kernel->vm, &stats);
    KASSERT_EQ(leaves, stats.leaves[0] + stats.leaves[1] + stats.leaves[2]);
}

KTEST(paging, sections_stacks_ram_and_devices_have_their_permissions)
{
    if (skip_without_paging())
        return;
    const struct kernel_space *kernel = paging_kernel_space();
    struct {
        uintptr_t address;
        int permissions;
    } expected[] = {
        {(uintptr_t)paging_start, VM_READ | VM_EXECUTE},
        {(uintptr_t)__rodata_start, VM_READ},
        {(uintptr_t)&data_return, RW},
        {(uintptr_t)__bss_start, RW},
        {stack_bottom(hart_self()), RW},
        {stack_guard_page(hart_self()), -E_NOENT},
        {(uintptr_t)USER_WINDOW_START, -E_NOENT},
    };
    for (unsigned i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        uint64_t physical;
        int permissions = vm_translate(&kernel->vm, expected[i].address, &physical);
        KASSERT_EQ(permissions,
                   expected[i].permissions < 0 ? expected[i].permissions : (int)(expected[i].permissions | VM_GLOBAL));
    }
    void *page = page_alloc(0); /* the direct map */
    KASSERT(page != NULL);
    uint64_t physical;
    KASSERT_EQ(vm_translate(&kernel->vm, (uintptr_t)page, &physical), RW | VM_GLOBAL);
    page_free(page, 0);
}

KTEST(paging, a_store_to_text_or_rodata_traps)
{
    if (skip_without_paging())
        return;
    uintptr_t targets[] = {(uintptr_t)paging_start & ~(sizeof(uintptr_t) - 1), (uintptr_t)__rodata_start};
    for (unsigned i = 0; i < 2; i++) {
        struct caught caught = store_traps(targets[i]);
        KASSERT(caught.trapped);
        KASSERT_EQ(caught.scause, TRAP_CAUSE_STORE_PAGE_FAULT);
        KASSERT_EQ(caught.stval, targets[i]);
    }
}

KTEST(paging, executing_data_stack_or_heap_traps)
{
    if (skip_without_paging())
        return;
    uint16_t on_stack[2] __attribute__((aligned(4))) = {0x8082, 0x8082};
    uint16_t *in_ram = page_alloc(0);
    KASSERT(in_ram != NULL);
    in_ram[0] = 0x8082;
    uintptr_t targets[] = {(uintptr_t)data_return, (uintptr_t)on_stack, (uintptr_t)in_ram};
    for (unsigned i = 0; i < 3; i++) {
        struct caught caught = call_traps(targets[i]);
        if (!caught.trapped || caught.scause != TRAP_CAUSE_INSTRUCTION_PAGE_FAULT || caught.stval != targets[i])
            ktest_fail(__FILE__, __LINE__, "calling %p: trapped %d, scause %lu, stval %p", (void *)targets[i],
                       caught.trapped, (unsigned long)caught.scause, (void *)caught.stval);
    }
    page_free(in_ram, 0);
}

KTEST(paging, loads_from_unmapped_addresses_trap)
{
    if (skip_without_paging())
        return;
    uintptr_t targets[] = {PAGE_SIZE, (uintptr_t)USER_WINDOW_START, SCRATCH, stack_guard_page(hart_count() - 1)};
    for (unsigned i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        struct caught caught = load_traps(targets[i]);
        KASSERT(caught.trapped);
        KASSERT_EQ(caught.scause, TRAP_CAUSE_LOAD_PAGE_FAULT);
        KASSERT_EQ(caught.stval, targets[i]);
    }
}

/*
 * Stores to address with sp there too, as an overflowing frame would: the trap vector cannot
 * push a frame at sp and must move to the emergency stack; the expected trap comes back and sp
 * is restored. Returns what was caught.
 */
static struct caught store_with_sp_at(uintptr_t address)
{
    struct caught caught;
    uintptr_t saved;
    trap_expect_begin();
#if __riscv_xlen == 32
    __asm__ volatile("mv %0, sp\n\tmv sp, %1\n\tsw zero, 0(sp)\n\tmv sp, %0" : "=&r"(saved) : "r"(address) : "memory");
#else
    __asm__ volatile("mv %0, sp\n\tmv sp, %1\n\tsd zero, 0(sp)\n\tmv sp, %0" : "=&r"(saved) : "r"(address) : "memory");
#endif
    caught.trapped = trap_expect_end(&caught.scause, &caught.stval);
    return caught;
}

KTEST_SMP(paging, every_harts_guard_page_traps_onto_its_emergency_stack)
{
    if (!paging_on()) {
        if (ktest_hart_index() == 0)
            ktest_skip(paging_off_reason());
        return;
    }
    unsigned self = hart_self();
    uintptr_t target = stack_guard_page(self) + STACK_GUARD_BYTES - 2 * sizeof(uintptr_t);
    uint8_t *frame_area = (uint8_t *)stack_emergency_bottom(self) + EMERGENCY_STACK_SIZE - TRAP_FRAME_SIZE;
    memset(frame_area, 0, TRAP_FRAME_SIZE);
    struct caught caught = store_with_sp_at(target);
    KASSERT(caught.trapped);
    KASSERT_EQ(caught.scause, TRAP_CAUSE_STORE_PAGE_FAULT);
    KASSERT_EQ(caught.stval, target);
    KASSERT(stack_guard_intact(self));
    /* The frame went on the emergency stack: its sp slot holds the sp of the faulting store. */
    KASSERT_EQ(((uintptr_t *)frame_area)[2], target);
}

/* A page of the machine with its first word set to value. */
static uintptr_t *page_holding(uintptr_t value)
{
    uintptr_t *page = page_alloc(0);
    if (page != NULL)
        page[0] = value;
    return page;
}

/* The scratch page must be free to use: no region and no mapping there. */
static bool scratch_is_free(void)
{
    const struct kernel_space *kernel = paging_kernel_space();
    uint64_t physical;
    return kernel_space_region_at(kernel, SCRATCH) == NULL && vm_translate(&kernel->vm, SCRATCH, &physical) == -E_NOENT;
}

/* The shootdown test's shared state. */
enum shootdown_phase { PHASE_SETUP, PHASE_READING, PHASE_REMAPPED, PHASE_DONE };
static struct {
    int phase;
    uintptr_t *first, *second;            /* the pages SCRATCH maps to, first then second */
    unsigned long reads[RVMEM_MAX_HARTS]; /* reads of the first page, per hart */
    bool checked[RVMEM_MAX_HARTS];        /* the hart read after the remap */
    uintptr_t after[RVMEM_MAX_HARTS];     /* what that read gave */
} shootdown;

#define FIRST_VALUE ((uintptr_t)0x1111)
#define SECOND_VALUE ((uintptr_t)0x2222)
#define READS_BEFORE_REMAP 1000

/* A reader: reads SCRATCH in a loop (a trap while it is unmapped is expected and skipped). */
static void read_until_done(unsigned self)
{
    for (;;) {
        int phase = __atomic_load_n(&shootdown.phase, __ATOMIC_ACQUIRE);
        if (phase == PHASE_DONE || ktest_failed())
            return;
        trap_expect_begin();
        uintptr_t value = load_word(SCRATCH);
        trap_expect_end(NULL, NULL);
        if (phase == PHASE_READING && value == FIRST_VALUE)
            __atomic_add_fetch(&shootdown.reads[self], 1, __ATOMIC_RELEASE);
        if (phase == PHASE_REMAPPED && !shootdown.checked[self]) {
            /* phase was read before this load: the remap and its shootdown had returned. */
            shootdown.after[self] = value;
            __atomic_store_n(&shootdown.checked[self], true, __ATOMIC_RELEASE);
        }
    }
}

static bool every_reader(bool (*done)(unsigned))
{
    for (unsigned hart = 1; hart < ktest_hart_count(); hart++)
        if (!done(hart))
            return false;
    return true;
}

static bool read_the_first_page(unsigned hart)
{
    return __atomic_load_n(&shootdown.reads[hart], __ATOMIC_ACQUIRE) >= READS_BEFORE_REMAP;
}

static bool checked_after_the_remap(unsigned hart)
{
    return __atomic_load_n(&shootdown.checked[hart], __ATOMIC_ACQUIRE);
}

KTEST_SMP(paging, a_remap_reaches_every_busy_hart_when_the_shootdown_returns)
{
    if (!paging_on()) {
        if (ktest_hart_index() == 0)
            ktest_skip(paging_off_reason());
        return;
    }
    unsigned self = ktest_hart_index();
    struct kernel_space *kernel = paging_kernel_space();
    if (self == 0) {
        memset(&shootdown, 0, sizeof shootdown);
        shootdown.first = page_holding(FIRST_VALUE);
        shootdown.second = page_holding(SECOND_VALUE);
        KASSERT(shootdown.first != NULL && shootdown.second != NULL && scratch_is_free());
        KASSERT_EQ(kernel_space_map(kernel, SCRATCH, (uintptr_t)shootdown.first, PAGE_SIZE, VM_READ), 0);
        __atomic_store_n(&shootdown.phase, PHASE_READING, __ATOMIC_RELEASE);
    }
    ktest_barrier();
    if (self != 0) {
        read_until_done(self);
        return;
    }
    while (!every_reader(read_the_first_page) && !ktest_failed())
        hart_relax();
    /* Every reader's TLB now holds SCRATCH -> first. Unmap, and map it to the second page, read+write. */
    KASSERT_EQ(kernel_space_unmap(kernel, SCRATCH, PAGE_SIZE), 0);
    KASSERT_EQ(kernel_space_map(kernel, SCRATCH, (uintptr_t)shootdown.second, PAGE_SIZE, RW), 0);
    __atomic_store_n(&shootdown.phase, PHASE_REMAPPED, __ATOMIC_RELEASE);
    while (!every_reader(checked_after_the_remap) && !ktest_failed())
        hart_relax();
    __atomic_store_n(&shootdown.phase, PHASE_DONE, __ATOMIC_RELEASE);
    for (unsigned hart = 1; hart < ktest_hart_count(); hart++)
        if (shootdown.after[hart] != SECOND_VALUE)
            ktest_fail(__FILE__, __LINE__, "hart %u read 0x%lx after the remap returned (the old page: 0x%lx)", hart,
                       (unsigned long)shootdown.after[hart], (unsigned long)FIRST_VALUE);
    KASSERT_EQ(kernel_space_unmap(kernel, SCRATCH, PAGE_SIZE), 0);
    page_free(shootdown.first, 0);
    page_free(shootdown.second, 0);
}

/* The IPI path: each hart, idle until run_on_all_harts wakes it, reads SCRATCH once. */
static uintptr_t seen_by[RVMEM_MAX_HARTS];

static void read_scratch_once(void)
{
    seen_by[hart_self()] = load_word(SCRATCH);
}

KTEST(paging, the_ipi_shootdown_reaches_idle_harts)
{
    if (skip_without_paging())
        return;
    struct kernel_space *kernel = paging_kernel_space();
    uintptr_t *first = page_holding(FIRST_VALUE), *second = page_holding(SECOND_VALUE);
    KASSERT(first != NULL && second != NULL && scratch_is_free());
    bool by_ipi_before = mmu_shootdown_by_ipi();
    mmu_set_shootdown_by_ipi(true);
    KASSERT_EQ(kernel_space_map(kernel, SCRATCH, (uintptr_t)first, PAGE_SIZE, VM_READ), 0);
    run_on_all_harts(read_scratch_once); /* each hart's TLB holds SCRATCH -> first */
    for (unsigned hart = 0; hart < hart_count(); hart++)
        KASSERT_EQ(seen_by[hart], FIRST_VALUE);
    KASSERT_EQ(kernel_space_unmap(kernel, SCRATCH, PAGE_SIZE), 0);
    KASSERT_EQ(kernel_space_map(kernel, SCRATCH, (uintptr_t)second, PAGE_SIZE, VM_READ), 0);
    run_on_all_harts(read_scratch_once);
    mmu_set_shootdown_by_ipi(by_ipi_before);
    for (unsigned hart = 0; hart < hart_count(); hart++)
        if (seen_by[hart] != SECOND_VALUE)
            ktest_fail(__FILE__, __LINE__, "hart %u read 0x%lx after the remap returned (the old page: 0x%lx)", hart,
                       (unsigned long)seen_by[hart], (unsigned long)FIRST_VALUE);
    KASSERT_EQ(kernel_space_unmap(kernel, SCRATCH, PAGE_SIZE), 0);
    page_free(first, 0);
    page_free(second, 0);
}

KTEST(paging, changes_keep_to_the_kernels_rules)
{
    if (skip_without_paging())
        return;
    struct kernel_space *kernel = paging_kernel_space();
    KASSERT(scratch_is_free());
    KASSERT_EQ(kernel_space_map(kernel, SCRATCH, 0x80000000, PAGE_SIZE, VM_READ | VM_WRITE | VM_EXECUTE), -E_INVAL);
    KASSERT_EQ(kernel_space_map(kernel, SCRATCH, 0x80000000, PAGE_SIZE, VM_READ | VM_USER), -E_INVAL);
    KASSERT_EQ(kernel_space_map(kernel, (uintptr_t)__text_start, (uintptr_t)__text_start, PAGE_SIZE, VM_READ), -E_BUSY);
    KASSERT_EQ(kernel_space_unmap(kernel, stack_guard_page(0), PAGE_SIZE), -E_BUSY);
    KASSERT_EQ(kernel_space_map(kernel, USER_WINDOW_START, 0x80000000, PAGE_SIZE, VM_READ), -E_RANGE);
    KASSERT_EQ(vm_validate(&kernel->vm), 0);
}

KTEST(paging, crash_reports_name_the_region_and_its_permission)
{
    if (skip_without_paging())
        return;
    char text[TRAP_FAULT_TEXT_BYTES];
    paging_describe((uintptr_t)paging_start, text, sizeof text);
    KASSERT_EQ(strcmp(text, "in .text, which is read+execute"), 0);
    paging_describe((uintptr_t)&data_return, text, sizeof text);
    KASSERT_EQ(strcmp(text, "in .data, which is read+write"), 0);
    paging_describe(stack_guard_page(1), text, sizeof text);
    KASSERT_EQ(strcmp(text, "in the guard page under hart 1's stack, which is unmapped"), 0);
    paging_describe(PAGE_SIZE, text, sizeof text);
    KASSERT_EQ(strcmp(text, "which is unmapped (no region of the kernel's map)"), 0);
}

/* ---- Run only by make test's crash checks (tools/test.py): each ends the run on purpose. ---- */

KTEST_EXPLICIT(crash, store_to_text)
{
    if (skip_without_paging())
        return;
    uintptr_t target = (uintptr_t)paging_start & ~(sizeof(uintptr_t) - 1);
    uintptr_t value = *(volatile uintptr_t *)target;
    *(volatile uintptr_t *)target = value; /* the crash report names .text, read+execute */
    ktest_fail(__FILE__, __LINE__, "the store to .text did not trap: W^X is not enforced");
}

KTEST_EXPLICIT(crash, execute_data)
{
    if (skip_without_paging())
        return;
    ((void (*)(void))(uintptr_t)data_return)(); /* the crash report names .data, read+write */
    ktest_fail(__FILE__, __LINE__, "executing .data did not trap: W^X is not enforced");
}

KTEST_EXPLICIT(crash, read_unmapped)
{
    if (skip_without_paging())
        return;
    load_word(SCRATCH); /* the crash report says unmapped */
    ktest_fail(__FILE__, __LINE__, "the load from an unmapped address did not trap");
}

/* Recurses with 512-byte frames and no check at all, until the guard page stops it. */
__attribute__((noinline)) static unsigned recurse_into_guard_page(unsigned depth)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    if (depth > 1000000)
        return frame[0];
    return recurse_into_guard_page(depth + 1) + frame[0];
}

/* The last hart overflows its stack with nothing checking it: its guard page must catch it. */
KTEST_DEFINE(crash, stack_overflow_into_guard_page, KTEST_FLAG_ALL_HARTS | KTEST_FLAG_EXPLICIT)
{
    if (!paging_on()) {
        if (ktest_hart_index() == 0)
            ktest_skip(paging_off_reason()); /* without a guard page it would run over memory */
        return;
    }
    if (ktest_hart_index() == ktest_hart_count() - 1)
        recurse_into_guard_page(0);
    ktest_barrier(); /* never reached by the overflowing hart: the run ends in its report */
}
