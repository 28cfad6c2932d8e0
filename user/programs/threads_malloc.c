/*
 * user/programs/threads_malloc.c - threads allocate and free at once, each freeing blocks another
 * thread allocated; nothing stays behind.
 *
 * `threads_malloc [THREADS] [ROUNDS]` (default 4 threads, 300 rounds): each round a thread
 * allocates blocks of several sizes (small and medium), fills them with its mark, frees half of
 * them itself and posts the other half to the next thread's mailbox; it takes what the previous
 * thread posted, checks the marks and frees those blocks. Once every thread is joined (each gave
 * its malloc cache back as it ended), main frees what is left in the mailboxes, gives its own
 * cache back and checks malloc's statistics: no byte in use, none cached, the heap valid; then
 * trims the heap (sbrk shrinks it: pages unmapped while the process has threads).
 *
 * The kernel must: run the threads at once (on any hart), shrink the break, exit 0; no page lost.
 * System calls: thread_create, thread_exit, thread_join, futex_wait, futex_wake, sbrk, write, exit.
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "user/lib/runtime.h"
#include "user/lib/stack_request.h"
#include "user/lib/thread.h"

#define MAILBOX_SLOTS 64
#define BLOCKS_PER_ROUND 8

struct mailbox {
    struct user_mutex mutex;
    unsigned count;
    uint8_t *blocks[MAILBOX_SLOTS];
    size_t sizes[MAILBOX_SLOTS];
};

static struct mailbox mailboxes[USER_THREADS_MAX];
static unsigned threads, rounds;
static unsigned long bad_marks, failed_allocations, cross_frees;

static size_t block_size(unsigned thread, unsigned round, unsigned block)
{
    static const size_t sizes[] = {16, 24, 48, 100, 256, 600, 2000, 5000};
    return sizes[(thread + round + block) % (sizeof sizes / sizeof sizes[0])];
}

static bool marked(const uint8_t *block, size_t size, uint8_t mark)
{
    return block[0] == mark && block[size / 2] == mark && block[size - 1] == mark;
}

/* Frees the blocks waiting in box (posted by another thread), checking their marks. */
static void drain(struct mailbox *box, uint8_t mark)
{
    user_mutex_lock(&box->mutex);
    for (unsigned i = 0; i < box->count; i++) {
        if (!marked(box->blocks[i], box->sizes[i], mark))
            __atomic_add_fetch(&bad_marks, 1, __ATOMIC_RELAXED);
        free(box->blocks[i]);
        __atomic_add_fetch(&cross_frees, 1, __ATOMIC_RELAXED);
    }
    box->count = 0;
    user_mutex_unlock(&box->mutex);
}

static int churn(void *argument)
{
    unsigned self = (unsigned)(uintptr_t)argument, next = (self + 1) % threads;
    uint8_t mark = (uint8_t)(0xa0 + self), previous_mark = (uint8_t)(0xa0 + (self + threads - 1) % threads);
    for (unsigned round = 0; round < rounds; round++) {
        for (unsigned block = 0; block < BLOCKS_PER_ROUND; block++) {
            size_t size = block_size(self, round, block);
            uint8_t *memory = malloc(size);
            if (memory == NULL) {
                __atomic_add_fetch(&failed_allocations, 1, __ATOMIC_RELAXED);
                continue;
            }
            memset(memory, mark, size);
            if (block % 2 == 0) {
                free(memory);
                continue;
            }
            struct mailbox *box = &mailboxes[next];
            user_mutex_lock(&box->mutex);
            bool posted = box->count < MAILBOX_SLOTS;
            if (posted) {
                box->blocks[box->count] = memory;
                box->sizes[box->count++] = size;
            }
            user_mutex_unlock(&box->mutex);
            if (!posted)
                free(memory);
        }
        drain(&mailboxes[self], previous_mark);
    }
    return 0;
}
USER_THREAD_ENTRY(churn, 8 * 1024);

int main(int argc, char **argv)
{
    threads = (unsigned)number_argument(argc, argv, 1, 4);
    rounds = (unsigned)number_argument(argc, argv, 2, 300);
    if (threads < 2 || threads >= USER_THREADS_MAX) {
        printf("threads_malloc: between 2 and %d threads\n", USER_THREADS_MAX - 1);
        return 2;
    }
    long ids[USER_THREADS_MAX];
    for (unsigned i = 0; i < threads; i++)
        ids[i] = thread_create(churn, (void *)(uintptr_t)i, churn_stack_bytes);
    for (unsigned i = 0; i < threads; i++)
        expect("thread joined", ids[i] > 0 ? thread_join(ids[i], NULL) : ids[i], 0);
    for (unsigned i = 0; i < threads; i++)
        drain(&mailboxes[i], (uint8_t)(0xa0 + (i + threads - 1) % threads));
    rvmem_malloc_flush_cache();
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    expect("blocks with a wrong mark", (long)bad_marks, 0);
    expect("failed allocations", (long)failed_allocations, 0);
    expect("blocks freed by another thread than their own", cross_frees > 0, 1);
    expect("bytes in use once every block is freed", (long)stats.bytes_in_use, 0);
    expect("bytes stranded in caches", (long)stats.bytes_cached, 0);
    expect("the heap validates", rvmem_malloc_validate(), 0);
    long break_before = sys_sbrk(0);
    rvmem_malloc_trim();
    long break_after = sys_sbrk(0);
    expect("trim moved the break down", break_after < break_before, 1);
    printf("threads_malloc: %u threads, %u rounds, %lu blocks freed across threads, break %p -> %p\n", threads, rounds,
           cross_frees, (void *)break_before, (void *)break_after);
    return expect_finish();
}
