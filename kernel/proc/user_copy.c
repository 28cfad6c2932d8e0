/*
 * kernel/proc/user_copy.c - copies between the kernel and a program's memory (see user_copy.h).
 */
#include "kernel/proc/user_copy.h"

#include "kernel/base/errors.h"
#include "kernel/base/platform.h"
#include "kernel/base/string.h"
#include "kernel/platform/mmu.h"

#define SSTATUS_SUM ((uintptr_t)1 << 18)

/* The space must be this hart's: its mappings are the ones the copy goes through. */
static void check_running(const struct user_space *space)
{
    if (mmu_read_satp() != user_space_satp(space))
        panic("user copy: the space is not the one this hart runs (satp 0x%lx, the space's 0x%lx)",
              (unsigned long)mmu_read_satp(), (unsigned long)user_space_satp(space));
}

static inline void user_access_begin(void)
{
    __asm__ volatile("csrs sstatus, %0" ::"r"(SSTATUS_SUM) : "memory");
}

static inline void user_access_end(void)
{
    __asm__ volatile("csrc sstatus, %0" ::"r"(SSTATUS_SUM) : "memory");
}

int user_copy_in(struct user_space *space, void *to, uintptr_t from, size_t bytes)
{
    check_running(space);
    spin_lock(&space->lock);
    int error = user_space_check_locked(space, from, bytes, USER_ACCESS_READ);
    if (error == 0) {
        user_access_begin();
        memcpy(to, (const void *)from, bytes);
        user_access_end();
    }
    spin_unlock(&space->lock);
    return error;
}

int user_copy_out(struct user_space *space, uintptr_t to, const void *from, size_t bytes)
{
    check_running(space);
    spin_lock(&space->lock);
    int error = user_space_check_locked(space, to, bytes, USER_ACCESS_WRITE);
    if (error == 0) {
        user_access_begin();
        memcpy((void *)to, from, bytes);
        user_access_end();
    }
    spin_unlock(&space->lock);
    return error;
}

long user_copy_string_in(struct user_space *space, char *to, uintptr_t from, size_t capacity)
{
    check_running(space);
    size_t length = 0;
    while (length < capacity) {
        uintptr_t at = from + length;
        if (at < from)
            return -E_FAULT; /* wrapped */
        size_t in_page = PAGE_SIZE - (at & (PAGE_SIZE - 1));
        if (in_page > capacity - length)
            in_page = capacity - length;
        spin_lock(&space->lock);
        int error = user_space_check_locked(space, at, in_page, USER_ACCESS_READ);
        if (error) {
            spin_unlock(&space->lock);
            return error;
        }
        user_access_begin();
        const char *source = (const char *)at;
        size_t copied = 0;
        while (copied < in_page && (to[length + copied] = source[copied]) != '\0')
            copied++;
        user_access_end();
        spin_unlock(&space->lock);
        if (copied < in_page)
            return (long)(length + copied);
        length += copied;
    }
    return -E_RANGE;
}

int user_copy_to_sink(struct user_space *space, uintptr_t from, size_t bytes,
                      void (*sink)(void *context, const char *bytes, size_t length), void *context)
{
    check_running(space);
    spin_lock(&space->lock);
    int error = user_space_check_locked(space, from, bytes, USER_ACCESS_READ);
    if (error == 0) {
        user_access_begin();
        sink(context, (const char *)from, bytes);
        user_access_end();
    }
    spin_unlock(&space->lock);
    return error;
}
