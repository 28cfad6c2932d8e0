/*
 * user/lib/thread.c - thread_create and thread_join of the runtime (see thread.h).
 */
#include "user/lib/thread.h"

#include "user/lib/runtime.h"

/*
 * malloc's flush, weak: a program that never allocates links no malloc (user/lib/start.c), and
 * its threads have no cache to give back.
 */
void rvmem_malloc_flush_cache(void) __attribute__((weak));

/*
 * Where every thread the runtime starts begins (the kernel's entry for it): tp and a0 are its
 * block. Sets the block's stack bounds (stack_check reads them), runs the entry, gives the
 * malloc cache back and frees the block before the thread ends: from the store on, this thread
 * touches neither the block nor its cache (thread_exit is one ecall). Its name is the Makefile's
 * USER_THREAD_START: each program's stack report counts its frame on top of every thread entry's
 * (docs/STACK.md).
 */
__attribute__((noreturn, no_stack_protector)) static void user_thread_start(struct user_thread *self)
{
    uintptr_t sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    self->stack_high = (sp + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1); /* sp starts at the stack's top */
    self->stack_low = self->stack_high - self->stack_bytes;
    int result = self->entry(self->argument);
    if (rvmem_malloc_flush_cache)
        rvmem_malloc_flush_cache();
    __atomic_store_n(&self->in_use, 0, __ATOMIC_RELEASE);
    sys_thread_exit(result);
}

long thread_create(user_thread_entry entry, void *argument, size_t stack_bytes)
{
    size_t bytes = stack_bytes ? stack_bytes : USER_THREAD_STACK_DEFAULT_BYTES;
    if (bytes > USER_THREAD_STACK_MAX_BYTES)
        return -E_INVAL;
    for (unsigned i = 1; i < USER_THREADS_MAX; i++) {
        struct user_thread *block = &user_threads[i];
        if (__atomic_exchange_n(&block->in_use, 1, __ATOMIC_ACQUIRE))
            continue;
        block->entry = entry;
        block->argument = argument;
        block->stack_bytes = (bytes + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
        block->stack_protector_guard = user_thread_self()->stack_protector_guard;
        long id = sys_thread_create((void *)user_thread_start, block, bytes, block);
        if (id < 0)
            __atomic_store_n(&block->in_use, 0, __ATOMIC_RELEASE);
        return id;
    }
    return -E_AGAIN;
}

long thread_join(long id, int *result)
{
    long value = 0;
    long error = sys_thread_join(id, &value);
    if (error == 0 && result)
        *result = (int)value;
    return error;
}
