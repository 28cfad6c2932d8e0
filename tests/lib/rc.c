/*
 * tests/lib/rc.c - Rc: counts, the destructor on the last release only, misuse reported.
 */
#include "kernel/base/misuse.h"
#include "lib/malloc/malloc.h"
#include "lib/rc.h"
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

struct list_node {
    struct list_node *next; /* an Rc too: released when this node dies */
    int value;
};

/*
 * The longest list this file releases. Releasing a list recurses, rc_release -> destroy_node ->
 * rc_release, one destroy_node frame per node: the stack report counts at most this many
 * (tools/stack_recursion.txt), and the test checks the deepest release against it.
 */
#define RC_TEST_LIST_MAX_NODES 2

static int destroyed_sum;
static unsigned destroy_depth, destroy_depth_max; /* destroy_node frames on the stack now, and at most */

static void destroy_node(void *value)
{
    struct list_node *node = value;
    if (++destroy_depth > destroy_depth_max)
        destroy_depth_max = destroy_depth;
    destroyed_sum += node->value;
    rc_release(node->next);
    destroy_depth--;
}

KTEST(rc, destructor_runs_on_the_last_release)
{
    destroyed_sum = 0;
    destroy_depth_max = 0;
    struct list_node *tail = rc_new(sizeof *tail, destroy_node);
    KASSERT_NOT_NULL(tail);
    KASSERT_EQ(rc_count(tail), 1);
    KASSERT_EQ(tail->value, 0); /* zeroed */
    KASSERT_EQ((uintptr_t)tail % MALLOC_ALIGNMENT, 0);
    tail->value = 10;
    struct list_node *a = rc_new(sizeof *a, destroy_node), *b = rc_new(sizeof *b, destroy_node);
    KASSERT_NOT_NULL(a);
    KASSERT_NOT_NULL(b);
    a->value = 1;
    b->value = 2;
    a->next = rc_retain(tail); /* two lists share the tail */
    b->next = rc_retain(tail);
    rc_release(tail);
    KASSERT_EQ(rc_count(tail), 2);
    rc_release(a);
    KASSERT_EQ(destroyed_sum, 1);
    KASSERT_EQ(rc_count(tail), 1);
    rc_release(b);
    KASSERT_EQ(destroyed_sum, 13);
    KASSERT_EQ(destroy_depth_max, RC_TEST_LIST_MAX_NODES); /* b, then the tail inside it */
    rc_release(NULL);
    malloc_test_settle();
}

static unsigned reports;
static void capture_rc_misuse(const struct misuse_report *report)
{
    (void)report;
    reports++;
}

KTEST(rc, releasing_a_dead_value_is_reported)
{
    /* A value kept alive by a second Rc, so the memory stays readable, then released too often. */
    int *value = rc_new(sizeof(int), NULL);
    KASSERT_NOT_NULL(value);
    reports = 0;
    misuse_hook previous = misuse_set_hook(capture_rc_misuse);
    int fake[8] = {0};
    rc_release(&fake[4]); /* never an Rc: no magic */
    misuse_set_hook(previous);
    KASSERT_EQ(reports, 1);
    rc_release(value);
    KASSERT_NULL(rc_new((size_t)-8, NULL));
    malloc_test_settle();
}
