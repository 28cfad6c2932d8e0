/*
 * tests/mm/kernel_space.c - the kernel's address space as a description and its build: the
 * rules a region must keep (alignment, W^X, no user bit, no overlap, never the user window), the
 * lookup, a build that maps exactly the description (guards left unmapped, every leaf global,
 * the largest leaves), a build that runs short of table pages giving every page back, and the
 * changes allowed afterwards. Kernel and host, in the mode of the pointer width (the identity map
 * needs virtual == physical); tables from tests/mm/vm_arena.c.
 */
#include "kernel/mm/kernel_space.h"

#include "kernel/base/errors.h"
#include "kernel/base/string.h"
#include "tests/harness/ktest.h"
#include "tests/mm/vm_arena.h"

#define PAGE PAGE_SIZE
#define MIB ((uintptr_t)1 << 20)
#define RW (VM_READ | VM_WRITE)
#define RX (VM_READ | VM_EXECUTE)
#if __SIZEOF_POINTER__ == 4
#define MODE VM_MODE_SV32
#define LARGE_LEAF (4 * MIB)
#else
#define MODE VM_MODE_SV39
#define LARGE_LEAF (2 * MIB)
#endif
/* A machine like QEMU virt: the image at 0x80200000, RAM after it, a device far below. */
#define IMAGE ((uintptr_t)0x80200000)
#define RAM_END ((uintptr_t)0x80000000 + 64 * MIB)
#define DEVICE ((uintptr_t)0x10000000)

static struct kernel_space kernel;
static struct vm_tables tables;

/* The description of a small machine: an image with its sections, two stacks, RAM and a device. */
static int describe(struct kernel_space *space)
{
    kernel_space_reset(space);
    int errors = 0;
    errors |= kernel_space_add(space, IMAGE, IMAGE + 4 * PAGE, RX, ".text");
    errors |= kernel_space_add(space, IMAGE + 4 * PAGE, IMAGE + 6 * PAGE, VM_READ, ".rodata");
    errors |= kernel_space_add(space, IMAGE + 6 * PAGE, IMAGE + 8 * PAGE, RW, ".data");
    for (unsigned hart = 0; hart < 2; hart++) {
        uintptr_t slot = IMAGE + (8 + 5 * hart) * PAGE;
        errors |= kernel_space_add(space, slot, slot + PAGE, 0, "guard");
        errors |= kernel_space_add(space, slot + PAGE, slot + 5 * PAGE, RW, "stack");
    }
    errors |= kernel_space_add(space, IMAGE + 18 * PAGE, RAM_END, RW, "the direct map of RAM");
    errors |= kernel_space_add(space, DEVICE, DEVICE + PAGE, RW, "device uart");
    return errors;
}

KTEST(kernel_space, regions_keep_the_rules)
{
    kernel_space_reset(&kernel);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE + 1, IMAGE + PAGE, RX, "x"), -E_INVAL);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE, IMAGE, RX, "x"), -E_INVAL);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE + PAGE, IMAGE, RX, "x"), -E_INVAL);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE, IMAGE + PAGE, RW | VM_EXECUTE, "x"), -E_INVAL); /* W^X */
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE, IMAGE + PAGE, VM_READ | VM_USER, "x"), -E_INVAL);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE, IMAGE + PAGE, VM_WRITE, "x"), -E_INVAL);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE, IMAGE + PAGE, VM_READ | VM_GLOBAL, "x"), -E_INVAL);
    KASSERT_EQ(kernel_space_add(&kernel, USER_WINDOW_START, USER_WINDOW_START + PAGE, RW, "x"), -E_RANGE);
    KASSERT_EQ(kernel_space_add(&kernel, USER_WINDOW_START - PAGE, USER_WINDOW_START + PAGE, RW, "x"), -E_RANGE);
    KASSERT_EQ(kernel_space_add(&kernel, USER_WINDOW_END - PAGE, USER_WINDOW_END, RW, "x"), -E_RANGE);
    KASSERT_EQ(kernel.region_count, 0u);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE + 4 * PAGE, IMAGE + 8 * PAGE, RW, "b"), 0);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE + 4 * PAGE, IMAGE + 5 * PAGE, RW, "x"), -E_BUSY);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE + 7 * PAGE, IMAGE + 9 * PAGE, RW, "x"), -E_BUSY);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE, IMAGE + 10 * PAGE, RW, "x"), -E_BUSY);
    KASSERT_EQ(kernel_space_add(&kernel, IMAGE + 8 * PAGE, IMAGE + 9 * PAGE, 0, "c"), 0);
    KASSERT_EQ(
        kernel_space_add(&kernel, IMAGE, IMAGE + 4 * PAGE, RX, "a name longer than the forty bytes a region holds"), 0);
    KASSERT_EQ(kernel.region_count, 3u);
    /* Kept in address order, whatever the order they came in. */
    KASSERT_EQ(kernel.regions[0].start, IMAGE);
    KASSERT_EQ(kernel.regions[1].start, IMAGE + 4 * PAGE);
    KASSERT_EQ(kernel.regions[2].start, IMAGE + 8 * PAGE);
    KASSERT_EQ(strlen(kernel.regions[0].name), (size_t)KERNEL_REGION_NAME_BYTES - 1);
    KASSERT(kernel_space_region_at(&kernel, IMAGE - 1) == NULL);
    KASSERT(kernel_space_region_at(&kernel, IMAGE) == &kernel.regions[0]);
    KASSERT(kernel_space_region_at(&kernel, IMAGE + 4 * PAGE - 1) == &kernel.regions[0]);
    KASSERT(kernel_space_region_at(&kernel, IMAGE + 4 * PAGE) == &kernel.regions[1]);
    KASSERT(kernel_space_region_at(&kernel, IMAGE + 9 * PAGE - 1) == &kernel.regions[2]);
    KASSERT(kernel_space_region_at(&kernel, IMAGE + 9 * PAGE) == NULL);
}

KTEST(kernel_space, the_description_fills_up_cleanly)
{
    kernel_space_reset(&kernel);
    for (unsigned i = 0; i < KERNEL_SPACE_MAX_REGIONS; i++)
        KASSERT_EQ(kernel_space_add(&kernel, IMAGE + 2 * i * PAGE, IMAGE + (2 * i + 1) * PAGE, VM_READ, "r"), 0);
    KASSERT_EQ(kernel_space_add(&kernel, DEVICE, DEVICE + PAGE, RW, "one more"), -E_RANGE);
    KASSERT_EQ(kernel.region_count, (unsigned)KERNEL_SPACE_MAX_REGIONS);
}

KTEST(kernel_space, the_build_maps_the_description_and_nothing_else)
{
    KASSERT(vm_arena_reset(&tables));
    KASSERT_EQ(describe(&kernel), 0);
    unsigned failed = ~0u;
    KASSERT_EQ(kernel_space_build(&kernel, MODE, &tables, &failed), 0);
    KASSERT(kernel.built);
    KASSERT_EQ(vm_validate(&kernel.vm), 0);
    for (unsigned i = 0; i < kernel.region_count; i++) {
        const struct kernel_region *region = &kernel.regions[i];
        for (uintptr_t at = region->start; at < region->end; at += (region->end - region->start) / 4 + PAGE) {
            uint64_t physical = 0;
            int permissions = vm_translate(&kernel.vm, at, &physical);
            KASSERT_EQ(permissions, region->permissions ? (int)(region->permissions | VM_GLOBAL) : -E_NOENT);
            if (permissions > 0)
                KASSERT_EQ(physical, (uint64_t)at);
        }
    }
    struct vm_mapping leaf;
    uint64_t mapped = 0;
    for (uintptr_t at = 0; vm_find(&kernel.vm, at, &leaf) == 0 && leaf.virtual + leaf.bytes != 0;
         at = leaf.virtual + leaf.bytes) {
        const struct kernel_region *region = kernel_space_region_at(&kernel, leaf.virtual);
        KASSERT(region != NULL && region->permissions != 0 && leaf.virtual + leaf.bytes <= region->end);
        mapped += leaf.bytes;
    }
    uint64_t described = 0;
    for (unsigned i = 0; i < kernel.region_count; i++)
        described += kernel.regions[i].permissions ? kernel.regions[i].end - kernel.regions[i].start : 0;
    KASSERT_EQ(mapped, described);
    /* The RAM past the image is in large leaves where it is aligned. */
    KASSERT(vm_find(&kernel.vm, RAM_END - LARGE_LEAF, &leaf) == 0);
    KASSERT_EQ(leaf.bytes, LARGE_LEAF);
    kernel_space_destroy(&kernel);
    KASSERT(!kernel.built);
    KASSERT_EQ(vm_arena_taken(), 0);
}

KTEST(kernel_space, a_build_short_of_tables_gives_every_page_back)
{
    KASSERT_EQ(describe(&kernel), 0);
    for (unsigned long successes = 0;; successes++) {
        KASSERT(vm_arena_reset(&tables));
        vm_arena_fail_after(successes);
        unsigned failed = ~0u;
        int error = kernel_space_build(&kernel, MODE, &tables, &failed);
        vm_arena_never_fail();
        if (error == 0) {
            KASSERT_GT(successes, 1ul);
            kernel_space_destroy(&kernel);
            break;
        }
        KASSERT_EQ(error, -E_NOMEM);
        KASSERT(!kernel.built);
        KASSERT_EQ(vm_arena_taken(), 0);
    }
    KASSERT_EQ(vm_arena_taken(), 0);
}

KTEST(kernel_space, map_regions_into_another_space_gives_the_same_leaves)
{
    KASSERT(vm_arena_reset(&tables));
    KASSERT_EQ(describe(&kernel), 0);
    unsigned failed;
    KASSERT_EQ(kernel_space_build(&kernel, MODE, &tables, &failed), 0);
    struct vm_space copy;
    KASSERT_EQ(vm_init(&copy, MODE, &tables), 0);
    KASSERT_EQ(kernel_space_map_regions(&kernel, &copy, &failed), 0);
    struct vm_stats first, second;
    vm_get_stats(&kernel.vm, &first);
    vm_get_stats(&copy, &second);
    KASSERT_EQ(memcmp(&first, &second, sizeof first), 0);
    /* A second pass over the same space meets its own leaves: the first region is named. */
    failed = ~0u;
    KASSERT_EQ(kernel_space_map_regions(&kernel, &copy, &failed), -E_BUSY);
    KASSERT_EQ(failed, 0u);
    vm_destroy(&copy);
    kernel_space_destroy(&kernel);
    KASSERT_EQ(vm_arena_taken(), 0);
}

/*
 * A user program's space (restricted to the user window) borrows the kernel's root entries: every
 * mapped region translates through it as through the kernel's own tables, a mapping added later
 * in a root entry without a region is not seen, and destroying it gives back its tables only.
 */
KTEST(kernel_space, a_user_space_borrows_the_regions_root_entries)
{
    KASSERT(vm_arena_reset(&tables));
    KASSERT_EQ(describe(&kernel), 0);
    struct vm_space user;
    KASSERT_EQ(vm_init(&user, MODE, &tables), 0);
    KASSERT_EQ(vm_set_window(&user, USER_WINDOW_START, USER_WINDOW_END - USER_WINDOW_START), 0);
    KASSERT_EQ(kernel_space_share(&kernel, &user), -E_INVAL); /* not built */
    unsigned failed;
    KASSERT_EQ(kernel_space_build(&kernel, MODE, &tables, &failed), 0);
    unsigned long kernel_pages = vm_arena_taken() - 1;
    KASSERT_EQ(kernel_space_share(&kernel, &user), 0);
    for (unsigned index = 0; index < kernel.region_count; index++) {
        const struct kernel_region *region = &kernel.regions[index];
        uint64_t mine = 0, theirs = 0;
        KASSERT_EQ(vm_translate(&user, region->start, &mine), vm_translate(&kernel.vm, region->start, &theirs));
        if (region->permissions)
            KASSERT_EQ(mine, theirs);
    }
    uintptr_t far = (uintptr_t)USER_WINDOW_START - 64 * MIB; /* a root entry that holds no region */
    uint64_t physical;
    KASSERT_EQ(kernel_space_map(&kernel, far, IMAGE, PAGE, VM_READ), 0);
    KASSERT_EQ(vm_translate(&user, far, &physical), -E_NOENT);
    KASSERT_EQ(kernel_space_unmap(&kernel, far, PAGE), 0);
    KASSERT_EQ(vm_map(&user, USER_WINDOW_START, IMAGE, PAGE, VM_READ | VM_USER), 0);
    KASSERT_EQ(vm_map(&user, IMAGE, IMAGE, PAGE, VM_READ | VM_USER), -E_INVAL); /* the kernel's: not its own */
    KASSERT_EQ(vm_validate(&user), 0);
    vm_destroy(&user);
    KASSERT_EQ(vm_arena_taken(), kernel_pages);
    KASSERT_EQ(vm_validate(&kernel.vm), 0);
    kernel_space_destroy(&kernel);
    KASSERT_EQ(vm_arena_taken(), 0);
}

KTEST(kernel_space, changes_after_the_build_stay_outside_the_regions)
{
    KASSERT(vm_arena_reset(&tables));
    KASSERT_EQ(describe(&kernel), 0);
    uintptr_t scratch = DEVICE + 16 * PAGE;
    KASSERT_EQ(kernel_space_map(&kernel, scratch, IMAGE, PAGE, VM_READ), -E_INVAL); /* not built */
    unsigned failed;
    KASSERT_EQ(kernel_space_build(&kernel, MODE, &tables, &failed), 0);
    KASSERT_EQ(kernel_space_map(&kernel, scratch, IMAGE, PAGE, VM_READ), 0);
    uint64_t physical;
    KASSERT_EQ(vm_translate(&kernel.vm, scratch, &physical), VM_READ | VM_GLOBAL);
    KASSERT_EQ(physical, (uint64_t)IMAGE);
    KASSERT_EQ(kernel_space_map(&kernel, scratch, IMAGE, PAGE, VM_READ), -E_BUSY);
    KASSERT_EQ(kernel_space_map(&kernel, scratch + PAGE, IMAGE, PAGE, RW | VM_EXECUTE), -E_INVAL);
    KASSERT_EQ(kernel_space_map(&kernel, DEVICE, IMAGE, PAGE, VM_READ), -E_BUSY);
    KASSERT_EQ(kernel_space_map(&kernel, USER_WINDOW_START, IMAGE, PAGE, VM_READ), -E_RANGE);
    KASSERT_EQ(kernel_space_unmap(&kernel, IMAGE, PAGE), -E_BUSY);
    KASSERT_EQ(kernel_space_unmap(&kernel, scratch, PAGE), 0);
    KASSERT_EQ(vm_translate(&kernel.vm, scratch, &physical), -E_NOENT);
    KASSERT_EQ(vm_validate(&kernel.vm), 0);
    kernel_space_destroy(&kernel);
    KASSERT_EQ(vm_arena_taken(), 0);
}

KTEST(kernel_space, permissions_read_as_text_and_words)
{
    char text[4];
    KASSERT_EQ(strcmp(kernel_permissions_text(RX, text), "r-x"), 0);
    KASSERT_EQ(strcmp(kernel_permissions_text(RW, text), "rw-"), 0);
    KASSERT_EQ(strcmp(kernel_permissions_text(0, text), "---"), 0);
    KASSERT_EQ(strcmp(kernel_permissions_words(RX), "read+execute"), 0);
    KASSERT_EQ(strcmp(kernel_permissions_words(VM_READ), "read-only"), 0);
    KASSERT_EQ(strcmp(kernel_permissions_words(RW | VM_GLOBAL), "read+write"), 0);
    KASSERT_EQ(strcmp(kernel_permissions_words(0), "unmapped"), 0);
}
