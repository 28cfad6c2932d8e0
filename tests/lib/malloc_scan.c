/*
 * tests/lib/malloc_scan.c - a class that is mostly free gives back the runs whose blocks are all
 * free, even while a few of its blocks are held elsewhere (lib/malloc/malloc_scan.c): by the
 * program, or in another hart's cache after that hart freed them; and after a scan or a trim,
 * the blocks of the fuller runs are handed out first.
 *
 * The blocks are chained through their own first word, so a phase of 2 MiB needs no array.
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc.h"
#include "lib/malloc/malloc_internal.h" /* the pending lists and the scan's own calls, to hold a scan at its finish */
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

#define PHASE_BYTES ((size_t)2 << 20)
/* Of the first phase's blocks, the program keeps one in KEEP_EVERY. */
#define KEEP_EVERY 1024

/* PHASE_BYTES of blocks of size, each filled with seed (malloc_test_support.h's chains). */
static void **allocate_phase(size_t size, uint8_t seed)
{
    return malloc_test_chain_allocate(size, seed, PHASE_BYTES);
}

/* Frees every block of chain but one in keep_every, which it returns as a chain of their own. */
static void **free_all_but_one_in(void **chain, size_t keep_every)
{
    void **kept = NULL;
    for (size_t index = 0; chain; index++) {
        void **next = *chain;
        if (index % keep_every == 0) {
            *chain = kept;
            kept = chain;
        } else {
            rvmem_free(chain);
        }
        chain = next;
    }
    return kept;
}

static struct malloc_stats stats_now(void)
{
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    return stats;
}

KTEST(malloc_scan, runs_around_the_blocks_the_program_keeps_serve_the_next_size)
{
    malloc_test_settle();
    void **first = allocate_phase(64, 0x61);
    KASSERT_NOT_NULL(first);
    void **kept = free_all_but_one_in(first, KEEP_EVERY);
    struct malloc_stats before = stats_now();
    void **second = allocate_phase(512, 0x62);
    KASSERT_NOT_NULL(second);
    struct malloc_stats after = stats_now();
    /* Without the scan the class keeps every run (a kept block in each few) and the heap grows by
     * the whole second phase. */
    KASSERT_LT(after.heap_span_bytes, before.heap_span_bytes + PHASE_BYTES / 2);
    KASSERT_GT(after.class_scans, before.class_scans);
    KASSERT_GT(after.scan_runs_released, before.scan_runs_released);
    KASSERT(malloc_test_chain_intact(second, 512, 0x62));
    KASSERT(malloc_test_chain_intact(kept, 64, 0x61)); /* the runs of kept blocks stayed with their class */
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    /* The kept blocks' class still works: its freed blocks came back to it. */
    void **more = allocate_phase(64, 0x63);
    KASSERT_NOT_NULL(more);
    KASSERT(malloc_test_chain_intact(kept, 64, 0x61));
    KASSERT(malloc_test_chain_intact(more, 64, 0x63));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_chain_free(more);
    malloc_test_chain_free(second);
    malloc_test_chain_free(kept);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

/*
 * Half-empty runs preferred: the 64-byte class's runs are one page each. On every 16th page the
 * program keeps the first FULLER_KEPT blocks (those runs stay more than half used), elsewhere one
 * block in KEEP_EVERY. Once the scan has sorted the class, the blocks it hands out come from the
 * fuller runs first, so the emptier ones may empty.
 */
#define FULLER_KEPT 40
#define FULLER_EVERY_PAGES 16
#define AFTER_SCAN_BLOCKS 256

static bool on_a_fuller_page(const void *block)
{
    return ((uintptr_t)block >> 12) % FULLER_EVERY_PAGES == 0;
}

/* 2 MiB of 64-byte blocks, freed but FULLER_KEPT of every fuller page's and one in KEEP_EVERY
 * elsewhere; returns the kept ones as a chain. */
static void **keep_fuller_and_few(void)
{
    void **chain = allocate_phase(64, 0x65), **kept = NULL;
    for (size_t index = 0; chain; index++) {
        void **next = *chain;
        size_t in_run = (((uintptr_t)chain & 4095) - 32) / 64; /* after the run's 32-byte header */
        if (on_a_fuller_page(chain) ? in_run < FULLER_KEPT : index % KEEP_EVERY == 0) {
            *chain = kept;
            kept = chain;
        } else {
            rvmem_free(chain);
        }
        chain = next;
    }
    return kept;
}

/* Allocates AFTER_SCAN_BLOCKS 64-byte blocks onto *chain; returns how many lie on fuller pages. */
static size_t allocate_counting_fuller(void ***chain)
{
    size_t fuller = 0;
    for (unsigned count = 0; count < AFTER_SCAN_BLOCKS; count++) {
        void **block = rvmem_malloc(64);
        if (!block)
            return 0;
        fuller += on_a_fuller_page(block);
        memset(block, 0x67, 64);
        *block = *chain;
        *chain = block;
    }
    return fuller;
}

KTEST(malloc_scan, a_scanned_class_hands_out_the_blocks_of_its_fuller_runs_first)
{
    malloc_test_settle();
    void **kept = keep_fuller_and_few();
    KASSERT_NOT_NULL(kept);
    struct malloc_stats before = stats_now();
    void **second = allocate_phase(512, 0x66); /* its growth starts the scan and steps it to its end */
    KASSERT_NOT_NULL(second);
    struct malloc_stats after = stats_now();
    KASSERT_GT(after.scan_runs_released, before.scan_runs_released);
    void **again = NULL;
    /* Without the piles the blocks come in the order the scan walked them: mostly emptier runs. */
    KASSERT_EQ(allocate_counting_fuller(&again), (size_t)AFTER_SCAN_BLOCKS);
    KASSERT(malloc_test_chain_intact(kept, 64, 0x65));
    KASSERT(malloc_test_chain_intact(second, 512, 0x66));
    KASSERT(malloc_test_chain_intact(again, 64, 0x67));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_chain_free(again);
    malloc_test_chain_free(second);
    malloc_test_chain_free(kept);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}

KTEST(malloc_scan, a_trim_leaves_the_blocks_of_the_fuller_runs_on_top)
{
    malloc_test_settle();
    void **kept = keep_fuller_and_few();
    KASSERT_NOT_NULL(kept);
    struct malloc_stats before = stats_now();
    rvmem_malloc_trim(); /* no scan: the trim counts the class's free blocks per run itself */
    struct malloc_stats after = stats_now();
    KASSERT_LT(after.heap_span_bytes, before.heap_span_bytes);
    void **again = NULL;
    /* Without the order the free list keeps the order of the frees: mostly emptier runs. */
    KASSERT_EQ(allocate_counting_fuller(&again), (size_t)AFTER_SCAN_BLOCKS);
    KASSERT(malloc_test_chain_intact(kept, 64, 0x65));
    KASSERT(malloc_test_chain_intact(again, 64, 0x67));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_chain_free(again);
    malloc_test_chain_free(kept);
    malloc_test_settle();
}

/* The remote case, hart 1 allocating and hart 0 freeing; the other harts wait at the barriers. */
static void **remote_chain;
static struct malloc_stats remote_before;

KTEST_SMP(malloc_scan, blocks_freed_by_another_hart_serve_the_next_size)
{
    unsigned hart = ktest_hart_index();
    if (ktest_hart_count() < 2) {
        ktest_skip("needs two harts (-smp 2 or more)");
        return;
    }
    if (hart == 0)
        malloc_test_settle();
    ktest_barrier();
    if (hart == 1)
        remote_chain = allocate_phase(64, 0x71);
    ktest_barrier();
    if (hart == 0) {
        KASSERT_NOT_NULL(remote_chain);
        malloc_test_chain_free(remote_chain); /* hart 0's cache keeps its last magazines of them */
        remote_chain = NULL;
        remote_before = stats_now();
    }
    ktest_barrier();
    if (hart == 1)
        remote_chain = allocate_phase(512, 0x72);
    ktest_barrier();
    if (hart == 0) {
        struct malloc_stats after = stats_now();
        KASSERT_NOT_NULL(remote_chain);
        /* Without the scan hart 0's few cached blocks keep the class from looking idle to hart 1:
         * the heap grows by the whole second phase. */
        KASSERT_LT(after.heap_span_bytes, remote_before.heap_span_bytes + PHASE_BYTES / 2);
        KASSERT_GT(after.scan_runs_released, remote_before.scan_runs_released);
        KASSERT(malloc_test_chain_intact(remote_chain, 512, 0x72));
        KASSERT_EQ(rvmem_malloc_validate(), 0);
        malloc_test_chain_free(remote_chain);
        remote_chain = NULL;
    }
    ktest_barrier();
    rvmem_malloc_flush_cache();
    ktest_barrier();
    if (hart == 0) {
        KASSERT_EQ(rvmem_malloc_validate(), 0);
        malloc_test_settle();
    }
}

KTEST(malloc_scan, a_trim_finishes_a_scan_under_way)
{
    malloc_test_settle();
    void **first = allocate_phase(64, 0x81);
    KASSERT_NOT_NULL(first);
    void **kept = free_all_but_one_in(first, KEEP_EVERY);
    struct malloc_stats before = stats_now();
    /* A large block the heap cannot hold without growing: the look starts a scan, the request
     * takes one step of it and grows. */
    void *large = rvmem_malloc(PHASE_BYTES);
    KASSERT_NOT_NULL(large);
    struct malloc_stats during = stats_now();
    KASSERT_GT(during.class_scans, before.class_scans);
    KASSERT_EQ(rvmem_malloc_validate(), 0); /* the validator knows the runs under scan */
    /* Half the kept blocks come back while the scan is under way (their runs are the scan's),
     * and the class hands blocks out again. */
    void **freed_back = kept;
    for (size_t count = 0; count < PHASE_BYTES / 64 / KEEP_EVERY / 2 && freed_back; count++)
        freed_back = *freed_back;
    void **rest = freed_back ? *freed_back : NULL;
    if (freed_back)
        *freed_back = NULL;
    malloc_test_chain_free(rest);
    void **again = NULL;
    for (unsigned count = 0; count < 100; count++) {
        void **block = rvmem_malloc(64);
        KASSERT_NOT_NULL(block);
        memset(block, 0x82, 64);
        *block = again;
        again = block;
    }
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    rvmem_free(large);
    rvmem_malloc_trim();
    struct malloc_stats after = stats_now();
    KASSERT_GT(after.scan_runs_released, before.scan_runs_released);
    KASSERT(malloc_test_chain_intact(kept, 64, 0x81));
    KASSERT(malloc_test_chain_intact(again, 64, 0x82));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_chain_free(kept);
    malloc_test_chain_free(again);
    malloc_test_settle();
}

/*
 * Every hart at once: each allocates 1 MiB of 64-byte blocks, frees the next hart's but one in
 * 64, then hart 0 allocates 2 MiB of 512-byte blocks (its requests that would grow the heap start
 * and step a scan of the 64-byte class) while the other harts free the blocks kept of their own
 * (blocks of the runs under scan) and allocate and free 64-byte blocks, checking each.
 */
#define SMP_HARTS_MAX 64
#define SMP_KEEP_EVERY 64
#define SMP_LIVE_MOST 256
static void **smp_chains[SMP_HARTS_MAX];
static bool smp_second_done;
static struct malloc_stats smp_before;

/* Until hart 0 is done and its kept blocks are freed: frees them one a round, and allocates (and
 * after SMP_LIVE_MOST checks and frees) 64-byte blocks of its own. */
static void churn_while_hart0_allocates(unsigned hart)
{
    void **kept = smp_chains[hart], **mine = NULL;
    size_t live = 0;
    uint8_t seed = (uint8_t)(0xa0 + hart);
    while (!__atomic_load_n(&smp_second_done, __ATOMIC_ACQUIRE) || kept) {
        if (kept) {
            void **next = *kept;
            KASSERT(malloc_test_chain_intact(kept, 64, (uint8_t)hart));
            *kept = NULL;
            rvmem_free(kept);
            kept = next;
        }
        void **block = rvmem_malloc(64);
        KASSERT_NOT_NULL(block);
        memset(block, seed, 64);
        *block = mine;
        mine = block;
        if (++live == SMP_LIVE_MOST) {
            KASSERT(malloc_test_chain_intact(mine, 64, seed));
            malloc_test_chain_free(mine);
            mine = NULL;
            live = 0;
        }
    }
    KASSERT(malloc_test_chain_intact(mine, 64, seed));
    malloc_test_chain_free(mine);
    smp_chains[hart] = NULL;
}

KTEST_SMP(malloc_scan, harts_free_into_a_class_under_scan)
{
    unsigned hart = ktest_hart_index(), harts = ktest_hart_count();
    if (harts < 2) {
        ktest_skip("needs two harts (-smp 2 or more)");
        return;
    }
    if (harts > SMP_HARTS_MAX)
        harts = SMP_HARTS_MAX;
    if (hart == 0) {
        malloc_test_settle();
        smp_second_done = false;
    }
    ktest_barrier();
    if (hart < harts)
        smp_chains[hart] = malloc_test_chain_allocate(64, (uint8_t)hart, PHASE_BYTES / 2);
    ktest_barrier();
    if (hart < harts) {
        unsigned next = (hart + 1) % harts;
        KASSERT_NOT_NULL(smp_chains[next]);
        KASSERT(malloc_test_chain_intact(smp_chains[next], 64, (uint8_t)next));
        smp_chains[next] = free_all_but_one_in(smp_chains[next], SMP_KEEP_EVERY);
    }
    ktest_barrier();
    if (hart == 0) {
        smp_before = stats_now();
        void **second = allocate_phase(512, 0x91);
        __atomic_store_n(&smp_second_done, true, __ATOMIC_RELEASE);
        KASSERT_NOT_NULL(second);
        KASSERT(malloc_test_chain_intact(second, 512, 0x91));
        malloc_test_chain_free(second);
        KASSERT(malloc_test_chain_intact(smp_chains[0], 64, 0));
        malloc_test_chain_free(smp_chains[0]);
        smp_chains[0] = NULL;
    } else if (hart < harts) {
        churn_while_hart0_allocates(hart);
    }
    ktest_barrier();
    rvmem_malloc_flush_cache();
    ktest_barrier();
    if (hart == 0) {
        struct malloc_stats after = stats_now();
        KASSERT_GT(after.class_scans, smp_before.class_scans);
        KASSERT_EQ(rvmem_malloc_validate(), 0);
        malloc_test_settle();
        KASSERT_EQ(rvmem_malloc_validate(), 0);
    }
}

/*
 * A scan that has sorted its runs hands the released ones to the pending lists; when all of
 * those are taken (by idle classes waiting to go back to TLSF), it waits at its finish, whole,
 * until they have room: a trim gives pending runs back and completes it.
 */
KTEST(malloc_scan, a_scan_waits_at_its_finish_while_the_pending_lists_are_full)
{
    malloc_test_settle();
    KASSERT_EQ(malloc_state.pending.lists, 0);
    /* As many classes as there are pending lists, each of several runs, all allocated first (so
     * no growth on the way gives one of them back), then the 64-byte phase, then every block of
     * those classes freed: they are idle, and the 64-byte class mostly free. */
    void **idle[SMALL_PENDING_LISTS];
    for (unsigned size = 0; size < SMALL_PENDING_LISTS; size++) {
        idle[size] = malloc_test_chain_allocate(2048 + 256 * size, (uint8_t)size, (size_t)1 << 20);
        KASSERT_NOT_NULL(idle[size]);
    }
    void **first = allocate_phase(64, 0x91);
    KASSERT_NOT_NULL(first);
    void **kept = free_all_but_one_in(first, KEEP_EVERY);
    for (unsigned size = 0; size < SMALL_PENDING_LISTS; size++)
        malloc_test_chain_free(idle[size]);
    KASSERT(!small_scan_active());
    struct malloc_stats before = stats_now();
    /* What a request that would grow the heap does first, asking for no bytes: the looks detach
     * the idle classes and start the scan of the 64-byte class, each call a step of it. */
    for (unsigned call = 0; call < 16 && (malloc_state.pending.lists < SMALL_PENDING_LISTS || !small_scan_active());
         call++)
        small_idle_make_room(0, 0, 0);
    KASSERT_EQ(malloc_state.pending.lists, SMALL_PENDING_LISTS);
    KASSERT(small_scan_active());
    KASSERT_EQ((int)malloc_state.scan.class_index, small_class_at((uintptr_t)kept));
    /* Every step taken: the scan reaches its finish and waits there, its runs its own. */
    KASSERT(!small_scan_complete());
    KASSERT(small_scan_active());
    KASSERT_EQ(malloc_state.scan.phase, (unsigned)SMALL_SCAN_FINISH);
    KASSERT_EQ(stats_now().scan_runs_released, before.scan_runs_released);
    KASSERT_EQ(rvmem_malloc_validate(), 0); /* the validator knows the runs under scan and pending */
    /* Once pending runs went back, the finish hands the scan back. */
    small_release_pending_runs();
    KASSERT(small_scan_complete());
    KASSERT(!small_scan_active());
    KASSERT_GT(stats_now().scan_runs_released, before.scan_runs_released);
    KASSERT(malloc_test_chain_intact(kept, 64, 0x91));
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_chain_free(kept);
    KASSERT_EQ(rvmem_malloc_validate(), 0);
    malloc_test_settle();
}
