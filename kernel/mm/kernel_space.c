/*
 * kernel/mm/kernel_space.c - the kernel's own address space (see kernel_space.h).
 */
#include "kernel/mm/kernel_space.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"

/* What the kernel itself may ask for: no user bit, never writable and executable at once. */
static bool kernel_permissions_allowed(unsigned permissions)
{
    if (permissions & ~(unsigned)(VM_READ | VM_WRITE | VM_EXECUTE))
        return false;
    return (permissions & (VM_WRITE | VM_EXECUTE)) != (VM_WRITE | VM_EXECUTE);
}

/* [start, end) meets the user window. */
static bool meets_user_window(uintptr_t start, uintptr_t end)
{
    return start < (uintptr_t)USER_WINDOW_END && end > (uintptr_t)USER_WINDOW_START;
}

/* Index of the first region whose end is above address (region_count when none). */
static unsigned first_ending_above(const struct kernel_space *kernel, uintptr_t address)
{
    unsigned low = 0, high = kernel->region_count;
    while (low < high) {
        unsigned middle = low + (high - low) / 2;
        if (kernel->regions[middle].end <= address)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

/* True when [start, end) meets a region of the description. */
static bool meets_a_region(const struct kernel_space *kernel, uintptr_t start, uintptr_t end)
{
    unsigned index = first_ending_above(kernel, start);
    return index < kernel->region_count && kernel->regions[index].start < end;
}

void kernel_space_reset(struct kernel_space *kernel)
{
    kernel->region_count = 0;
    kernel->built = false;
    kernel->lock = (struct spinlock)SPINLOCK_INIT;
}

int kernel_space_add(struct kernel_space *kernel, uintptr_t start, uintptr_t end, unsigned permissions,
                     const char *name)
{
    if (((start | end) & (PAGE_SIZE - 1)) || end <= start || !kernel_permissions_allowed(permissions))
        return -E_INVAL;
    if (permissions != 0 && (permissions & (VM_READ | VM_EXECUTE)) == 0)
        return -E_INVAL; /* write-only is reserved by the architecture */
    if (meets_user_window(start, end) || kernel->region_count == KERNEL_SPACE_MAX_REGIONS)
        return -E_RANGE;
    if (meets_a_region(kernel, start, end))
        return -E_BUSY;
    unsigned index = first_ending_above(kernel, start);
    for (unsigned moved = kernel->region_count; moved > index; moved--)
        kernel->regions[moved] = kernel->regions[moved - 1];
    struct kernel_region *region = &kernel->regions[index];
    region->start = start;
    region->end = end;
    region->permissions = permissions;
    size_t length = strlen(name);
    if (length >= KERNEL_REGION_NAME_BYTES)
        length = KERNEL_REGION_NAME_BYTES - 1;
    memcpy(region->name, name, length);
    region->name[length] = '\0';
    kernel->region_count++;
    return 0;
}

int kernel_space_map_regions(const struct kernel_space *kernel, struct vm_space *space, unsigned *failed_region)
{
    for (unsigned index = 0; index < kernel->region_count; index++) {
        const struct kernel_region *region = &kernel->regions[index];
        if (region->permissions == 0)
            continue;
        int error =
            vm_map(space, region->start, region->start, region->end - region->start, region->permissions | VM_GLOBAL);
        if (error) {
            *failed_region = index;
            return error;
        }
    }
    return 0;
}

int kernel_space_build(struct kernel_space *kernel, enum vm_mode mode, const struct vm_tables *tables,
                       unsigned *failed_region)
{
    int error = vm_init(&kernel->vm, mode, tables);
    if (error)
        return error;
    error = kernel_space_map_regions(kernel, &kernel->vm, failed_region);
    if (error) {
        vm_destroy(&kernel->vm);
        return error;
    }
    kernel->built = true;
    return 0;
}

void kernel_space_destroy(struct kernel_space *kernel)
{
    if (kernel->built)
        vm_destroy(&kernel->vm);
    kernel->built = false;
}

int kernel_space_share(const struct kernel_space *kernel, struct vm_space *space)
{
    if (!kernel->built)
        return -E_INVAL;
    for (unsigned index = 0; index < kernel->region_count; index++) {
        const struct kernel_region *region = &kernel->regions[index];
        if (region->permissions == 0)
            continue; /* nothing of it is mapped: its root entry is shared for a mapped region, or not at all */
        int error = vm_share(space, &kernel->vm, region->start, region->end - region->start);
        if (error)
            return error;
    }
    return 0;
}

const struct kernel_region *kernel_space_region_at(const struct kernel_space *kernel, uintptr_t address)
{
    unsigned index = first_ending_above(kernel, address);
    if (index < kernel->region_count && kernel->regions[index].start <= address)
        return &kernel->regions[index];
    return NULL;
}

/* A range for a change after the build: page aligned, not wrapping, outside every region and the user window. */
static int change_allowed(const struct kernel_space *kernel, uintptr_t virtual, uintptr_t bytes)
{
    if (!kernel->built || ((virtual | bytes) & (PAGE_SIZE - 1)) || bytes == 0 || virtual + bytes < virtual)
        return -E_INVAL;
    if (meets_user_window(virtual, virtual + bytes))
        return -E_RANGE;
    return meets_a_region(kernel, virtual, virtual + bytes) ? -E_BUSY : 0;
}

int kernel_space_map(struct kernel_space *kernel, uintptr_t virtual, uint64_t physical, uintptr_t bytes,
                     unsigned permissions)
{
    if (!kernel_permissions_allowed(permissions))
        return -E_INVAL;
    int error = change_allowed(kernel, virtual, bytes);
    if (error)
        return error;
    spin_lock(&kernel->lock);
    error = vm_map(&kernel->vm, virtual, physical, bytes, permissions | VM_GLOBAL);
    spin_unlock(&kernel->lock);
    if (error == 0) /* a hart may hold the invalid entry it read before (no Svvptc) */
        tlb_shootdown(virtual, bytes);
    return error;
}

int kernel_space_unmap(struct kernel_space *kernel, uintptr_t virtual, uintptr_t bytes)
{
    int error = change_allowed(kernel, virtual, bytes);
    if (error)
        return error;
    spin_lock(&kernel->lock);
    error = vm_unmap(&kernel->vm, virtual, bytes);
    spin_unlock(&kernel->lock);
    if (error == 0)
        tlb_shootdown(virtual, bytes);
    return error;
}

const char *kernel_permissions_text(unsigned permissions, char text[4])
{
    text[0] = (permissions & VM_READ) ? 'r' : '-';
    text[1] = (permissions & VM_WRITE) ? 'w' : '-';
    text[2] = (permissions & VM_EXECUTE) ? 'x' : '-';
    text[3] = '\0';
    return text;
}

const char *kernel_permissions_words(unsigned permissions)
{
    switch (permissions & (VM_READ | VM_WRITE | VM_EXECUTE)) {
    case 0: return "unmapped";
    case VM_READ: return "read-only";
    case VM_READ | VM_WRITE: return "read+write";
    case VM_READ | VM_EXECUTE: return "read+execute";
    case VM_EXECUTE: return "execute-only";
    default: return "read+write+execute";
    }
}
