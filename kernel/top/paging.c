/*
 * kernel/top/paging.c - the kernel's address space on this machine (see paging.h): the
 * description from the linker's symbols, the memory map and the device tree, the tables from the
 * page allocator, and paging turned on.
 */
#include "kernel/top/paging.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/printf.h"
#include "kernel/base/string.h"
#include "kernel/mm/memmap.h"
#include "kernel/mm/pages.h"
#include "kernel/platform/bootargs.h"
#include "kernel/platform/console.h"
#include "kernel/platform/fdt.h"
#include "kernel/platform/hart.h"
#include "kernel/platform/mmu.h"
#include "kernel/platform/power.h"
#include "kernel/platform/sbi.h"
#include "kernel/platform/stack.h"
#include "kernel/platform/trap.h"
#include "kernel/top/boot.h"

/* Interrupt controllers mapped at most (a PLIC, or an APLIC and IMSICs). */
#define PAGING_MAX_INTERRUPT_CONTROLLERS 8

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[];
extern char __bss_start[], __bss_end[], __stacks_start[];

static struct kernel_space kernel;
static bool chosen, on;
static char off_reason[80] = "paging_choose has not run";
static uint64_t build_instructions;

static uintptr_t page_down(uint64_t address)
{
    return (uintptr_t)(address & ~(uint64_t)(PAGE_SIZE - 1));
}

static uintptr_t page_up(uint64_t address)
{
    return (uintptr_t)((address + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1));
}

bool paging_choose(void)
{
    char value[8];
    if (bootargs_get(boot_arguments(), "paging", value, sizeof value) >= 0 && strcmp(value, "off") == 0) {
        ksnprintf(off_reason, sizeof off_reason, "paging=off in the bootargs");
        return chosen = false;
    }
    unsigned long boot_hartid = harts[0].hartid;
    chosen = mmu_machine_mode(boot_device_tree(), boot_hartid, off_reason, sizeof off_reason) != MMU_MODE_BARE;
    return chosen;
}

/* Adds a region; a refusal is a broken invariant or a device tree that makes regions collide. */
static void add(uintptr_t start, uintptr_t end, unsigned permissions, const char *name)
{
    int error = kernel_space_add(&kernel, start, end, permissions, name);
    if (error == -E_BUSY) {
        const struct kernel_region *other = kernel_space_region_at(&kernel, start);
        for (uintptr_t page = start; other == NULL && page < end; page += PAGE_SIZE)
            other = kernel_space_region_at(&kernel, page);
        panic("kernel map: %s %p-%p overlaps %s", name, (void *)start, (void *)end, other ? other->name : "?");
    }
    if (error)
        panic("kernel map: cannot add %s %p-%p: %s", name, (void *)start, (void *)end, error_name(error));
}

/* A device's registers, in whole pages; a device sharing a page with one added before is covered by it. */
static void add_device(uint64_t base, uint64_t bytes, const char *name)
{
    uintptr_t start = page_down(base), end = page_up(base + (bytes ? bytes : 1));
    const struct kernel_region *first = kernel_space_region_at(&kernel, start);
    const struct kernel_region *last = kernel_space_region_at(&kernel, end - 1);
    if (first != NULL && first == last && first->permissions == (VM_READ | VM_WRITE) &&
        strncmp(first->name, "device ", 7) == 0)
        return;
    char label[KERNEL_REGION_NAME_BYTES];
    ksnprintf(label, sizeof label, "device %s", name);
    add(start, end, VM_READ | VM_WRITE, label);
}

/* The image, section by section, and the stacks with their guard pages (linker.ld). */
static void describe_image(void)
{
    add((uintptr_t)__text_start, page_up((uintptr_t)__text_end), VM_READ | VM_EXECUTE, ".text");
    add((uintptr_t)__rodata_start, page_up((uintptr_t)__rodata_end), VM_READ, ".rodata");
    add((uintptr_t)__data_start, (uintptr_t)__bss_start, VM_READ | VM_WRITE, ".data");
    add((uintptr_t)__bss_start, page_up((uintptr_t)__bss_end), VM_READ | VM_WRITE, ".bss");
    for (unsigned index = 0; index < RVMEM_MAX_HARTS; index++) {
        char name[KERNEL_REGION_NAME_BYTES];
        ksnprintf(name, sizeof name, "the guard page under hart %u's stack", index);
        add(stack_guard_page(index), stack_bottom(index), 0, name);
        ksnprintf(name, sizeof name, "hart %u's stack", index);
        add(stack_bottom(index), stack_top(index), VM_READ | VM_WRITE, name);
    }
}

/* Usable RAM (the direct map), the device tree blob and the devices the runtime uses. */
static void describe_machine(void)
{
    const struct memmap *map = boot_memory_map();
    for (unsigned i = 0; i < map->usable_count; i++)
        add((uintptr_t)map->usable[i].start, (uintptr_t)map->usable[i].end, VM_READ | VM_WRITE,
            "the direct map of RAM");
    const struct fdt *fdt = boot_device_tree();
    uintptr_t blob = (uintptr_t)fdt->blob;
    add(page_down(blob), page_up(blob + fdt_total_bytes(fdt)), VM_READ, "the device tree blob");
    uint64_t base, bytes;
    if (console_device(&base, &bytes) == 0)
        add_device(base, bytes, "console UART");
    if (power_device(&base, &bytes) == 0)
        add_device(base, bytes, "sifive,test exit");
    struct fdt_device_range controllers[PAGING_MAX_INTERRUPT_CONTROLLERS];
    int count = fdt_interrupt_controllers(fdt, controllers, PAGING_MAX_INTERRUPT_CONTROLLERS);
    if (count < 0)
        panic("device tree: cannot read the interrupt controllers: %s", fdt_strerror(count));
    if (count > PAGING_MAX_INTERRUPT_CONTROLLERS) {
        kprintf("  paging: %d interrupt controllers with registers; the first %d are mapped\n", count,
                PAGING_MAX_INTERRUPT_CONTROLLERS);
        count = PAGING_MAX_INTERRUPT_CONTROLLERS;
    }
    for (int i = 0; i < count; i++)
        add_device(controllers[i].address, controllers[i].size, controllers[i].name);
}

static void describe_fault(uintptr_t address, uintptr_t scause, char *text, size_t bytes)
{
    paging_describe(address, text, bytes);
    bool access_fault = scause == TRAP_CAUSE_INSTRUCTION_ACCESS_FAULT || scause == TRAP_CAUSE_LOAD_ACCESS_FAULT ||
                        scause == TRAP_CAUSE_STORE_ACCESS_FAULT;
    size_t used = strlen(text);
    if (access_fault && used < bytes)
        ksnprintf(text + used, bytes - used, " (an access fault: the physical memory protection refused it)");
}

void paging_start(void)
{
    if (!chosen) {
        kprintf("  paging: off (%s): physical addresses, stack overflows caught by guard words\n", off_reason);
        return;
    }
    kernel_space_reset(&kernel);
    describe_image();
    describe_machine();
    enum vm_mode mode = __riscv_xlen == 32 ? VM_MODE_SV32 : VM_MODE_SV39;
    unsigned failed = 0;
    uint64_t started = instructions_retired();
    int error = kernel_space_build(&kernel, mode, &pages_vm_tables, &failed);
    build_instructions = instructions_retired() - started;
    if (error)
        panic("kernel map: cannot map %s: %s", error == -E_NOMEM ? "its tables" : kernel.regions[failed].name,
              error_name(error));
    if (!mmu_turn_on((uintptr_t)vm_satp(&kernel.vm, 0))) {
        kernel_space_destroy(&kernel);
        ksnprintf(off_reason, sizeof off_reason, "the boot hart ignored satp's %s mode",
                  mode == VM_MODE_SV32 ? "Sv32" : "Sv39");
        kprintf("  paging: off (%s): physical addresses, stack overflows caught by guard words\n", off_reason);
        return;
    }
    on = true;
    off_reason[0] = '\0';
    char unused[2];
    if (bootargs_get(boot_arguments(), "icount", unused, sizeof unused) >= 0) /* ./qemu.sh -i: see mmu.h */
        mmu_set_shootdown_by_ipi(true);
    trap_set_fault_describer(describe_fault);
    struct vm_stats stats;
    vm_get_stats(&kernel.vm, &stats);
    kprintf("  paging: on, %s, identity-mapped; %lu table pages (%lu KiB); %u regions; leaves: %lu of 4 KiB, "
            "%lu of %s",
            paging_mode_name(), stats.table_pages, stats.table_pages * PAGE_SIZE / 1024, kernel.region_count,
            stats.leaves[0], stats.leaves[1], mode == VM_MODE_SV32 ? "4 MiB" : "2 MiB");
    if (mode == VM_MODE_SV39)
        kprintf(", %lu of 1 GiB", stats.leaves[2]);
    kprintf("; TLB shootdowns by %s%s\n", mmu_shootdown_method(),
            mmu_shootdown_by_ipi() && sbi_info()->has_rfence ? " (RFENCE would spin under -icount)" : "");
}

bool paging_on(void)
{
    return on;
}

const char *paging_off_reason(void)
{
    return off_reason;
}

const char *paging_mode_name(void)
{
    if (!on)
        return "off";
    return kernel.vm.mode == VM_MODE_SV32 ? "Sv32" : "Sv39";
}

struct kernel_space *paging_kernel_space(void)
{
    return &kernel;
}

uint64_t paging_build_instructions(void)
{
    return build_instructions;
}

void paging_describe(uintptr_t address, char *text, size_t bytes)
{
    const struct kernel_region *region = kernel_space_region_at(&kernel, address);
    if (region != NULL) {
        ksnprintf(text, bytes, "in %s, which is %s", region->name, kernel_permissions_words(region->permissions));
        return;
    }
    uint64_t physical;
    int permissions = on ? vm_translate(&kernel.vm, address, &physical) : -E_NOENT;
    if (permissions > 0)
        ksnprintf(text, bytes, "in a mapping made after boot, which is %s",
                  kernel_permissions_words((unsigned)permissions));
    else
        ksnprintf(text, bytes, "which is unmapped (no region of the kernel's map)");
}
