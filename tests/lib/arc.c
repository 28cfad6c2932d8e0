/*
 * tests/lib/arc.c - Arc: one value shared by every hart, retained and released concurrently;
 * the destructor runs exactly once, after everyone's last use.
 */
#include "lib/arc.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

#define ARC_ROUNDS 2000

struct shared_table {
    unsigned long entries[16];
};

static struct shared_table *shared;
static unsigned destructor_runs;
static unsigned long destroyed_checksum;

static void destroy_table(void *value)
{
    struct shared_table *table = value;
    unsigned long sum = 0;
    for (unsigned i = 0; i < 16; i++)
        sum += table->entries[i];
    destroyed_checksum = sum;
    __atomic_fetch_add(&destructor_runs, 1, __ATOMIC_RELAXED);
}

KTEST(arc, single_hart_counts)
{
    destructor_runs = 0;
    struct shared_table *table = arc_new(sizeof *table, destroy_table);
    KASSERT_NOT_NULL(table);
    KASSERT_EQ(arc_count(table), 1);
    arc_retain(table);
    arc_retain(table);
    KASSERT_EQ(arc_count(table), 3);
    arc_release(table);
    arc_release(table);
    KASSERT_EQ(destructor_runs, 0);
    arc_release(table);
    KASSERT_EQ(destructor_runs, 1);
    arc_release(NULL);
    KASSERT_NULL(arc_new((size_t)-8, NULL));
    malloc_test_settle();
}

/* Every hart retains the shared value many times, keeping some references across rounds, then drops them all. */
static void churn(unsigned hart)
{
    void *held[8];
    unsigned holding = 0;
    for (unsigned round = 0; round < ARC_ROUNDS; round++) {
        void *reference = arc_retain(shared);
        if (holding < 8 && round % 3 == 0)
            held[holding++] = reference;
        else
            arc_release(reference);
        if (holding == 8 && round % 5 == 0) {
            while (holding)
                arc_release(held[--holding]);
        }
    }
    __atomic_fetch_add(&shared->entries[hart % 16], hart + 1, __ATOMIC_RELAXED);
    while (holding)
        arc_release(held[--holding]);
}

KTEST_SMP(arc, shared_by_every_hart)
{
    unsigned hart = ktest_hart_index(), harts = ktest_hart_count();
    if (hart == 0) {
        destructor_runs = 0;
        destroyed_checksum = 0;
        shared = arc_new(sizeof *shared, destroy_table);
        KASSERT_NOT_NULL(shared);
        for (unsigned other = 1; other < harts; other++) /* one reference per hart, the creator's included */
            arc_retain(shared);
    }
    ktest_barrier();
    struct shared_table *mine = shared;
    if (mine)
        churn(hart);
    ktest_barrier();
    if (mine) {
        KASSERT_EQ(destructor_runs, 0);
        KASSERT_GE(arc_count(mine), 1);
    }
    ktest_barrier();
    if (mine)
        arc_release(mine); /* every hart drops its reference; the last one destroys */
    ktest_barrier();
    if (hart == 0) {
        KASSERT_EQ(destructor_runs, 1);
        unsigned long expected = 0;
        for (unsigned h = 0; h < harts; h++)
            expected += h + 1;
        KASSERT_EQ(destroyed_checksum, expected);
    }
    rvmem_malloc_flush_cache();
    ktest_barrier();
    if (hart == 0)
        malloc_test_settle();
}
