/*
 * tests/lib/box.c - Box: new copies the value in, move leaves no second owner, drop runs the destructor.
 */
#include "lib/box.h"
#include "lib/malloc/malloc.h"
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

struct point {
    long x, y;
};

static unsigned destroyed;

static void count_destruction(void *value)
{
    struct point *point = value;
    destroyed += (unsigned)point->x;
}

KTEST(box, new_holds_the_value_and_move_transfers_it)
{
    struct point *owner = BOX_NEW(struct point, {3, 4});
    KASSERT_NOT_NULL(owner);
    KASSERT_EQ(owner->x, 3);
    KASSERT_EQ(owner->y, 4);
    KASSERT_EQ((uintptr_t)owner % MALLOC_ALIGNMENT, 0);
    struct point *new_owner = BOX_MOVE(owner);
    KASSERT_NULL(owner);
    KASSERT_EQ(new_owner->y, 4);
    box_free(new_owner);
    box_free(NULL);
    malloc_test_settle();
}

KTEST(box, zeroed_when_no_initial_value_and_null_when_out_of_memory)
{
    unsigned char *bytes = box_new(100, NULL);
    KASSERT_NOT_NULL(bytes);
    for (unsigned i = 0; i < 100; i++)
        KASSERT_EQ(bytes[i], 0);
    box_free(bytes);
    KASSERT_NULL(box_new(SIZE_MAX / 2, NULL));
    malloc_test_settle();
}

KTEST(box, drop_runs_the_destructor_once)
{
    destroyed = 0;
    struct point *point = BOX_NEW(struct point, {7, 0});
    KASSERT_NOT_NULL(point);
    box_drop(point, count_destruction);
    KASSERT_EQ(destroyed, 7);
    box_drop(NULL, count_destruction);
    KASSERT_EQ(destroyed, 7);
    malloc_test_settle();
}
