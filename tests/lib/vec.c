/*
 * tests/lib/vec.c - Vec: push/pop, the documented doubling growth, reserve, shrink, bounds checks.
 */
#include "kernel/base/errors.h"
#include "lib/malloc/malloc.h"
#include "lib/vec.h"
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_test_support.h"

KTEST(vec, push_pop_and_bounds_checked_access)
{
    struct vec numbers = VEC_INIT(long);
    for (long i = 0; i < 1000; i++)
        KASSERT_EQ(vec_push(&numbers, &i), 0);
    KASSERT_EQ(numbers.length, 1000);
    for (long i = 0; i < 1000; i++)
        KASSERT_EQ(*VEC_AT(&numbers, long, i), i);
    KASSERT_NULL(vec_at(&numbers, 1000));
    KASSERT_NULL(vec_at(&numbers, (size_t)-1));
    long value = -1;
    KASSERT_EQ(vec_get(&numbers, 1000, &value), -E_RANGE);
    KASSERT_EQ(value, -1);
    KASSERT_EQ(vec_set(&numbers, 5000, &value), -E_RANGE);
    KASSERT_EQ(vec_set(&numbers, 10, &value), 0);
    KASSERT_EQ(vec_get(&numbers, 10, &value), 0);
    KASSERT_EQ(value, -1);
    for (long i = 999; i >= 0; i--) {
        KASSERT(vec_pop(&numbers, &value));
        KASSERT_EQ(value, i == 10 ? -1 : i);
    }
    KASSERT(!vec_pop(&numbers, &value));
    vec_free(&numbers);
    malloc_test_settle();
}

KTEST(vec, capacity_doubles_from_four)
{
    struct vec bytes;
    vec_init(&bytes, 1);
    KASSERT_EQ(bytes.capacity, 0);
    size_t expected = 0;
    for (unsigned i = 0; i < 300; i++) {
        unsigned char c = (unsigned char)i;
        KASSERT_EQ(vec_push(&bytes, &c), 0);
        if (i == expected)
            expected = expected == 0 ? VEC_MIN_CAPACITY : expected * 2;
        KASSERT_EQ(bytes.capacity, expected);
    }
    vec_free(&bytes);
    malloc_test_settle();
}

KTEST(vec, reserve_and_shrink)
{
    struct vec items = VEC_INIT(int);
    KASSERT_EQ(vec_reserve(&items, 100), 0);
    KASSERT_EQ(items.capacity, 100);
    unsigned char *buffer = items.data;
    for (int i = 0; i < 100; i++)
        KASSERT_EQ(vec_push(&items, &i), 0);
    KASSERT_PTR_EQ(items.data, buffer); /* no growth within the reservation */
    KASSERT_EQ(vec_reserve(&items, (size_t)-1), -E_RANGE);
    KASSERT_EQ(vec_reserve(&items, SIZE_MAX / 2), -E_RANGE); /* bytes overflow */
    KASSERT_EQ(vec_reserve(&items, SIZE_MAX / 8), -E_NOMEM);
    KASSERT_EQ(items.capacity, 100); /* failures leave it unchanged */
    int x = 1;
    KASSERT_EQ(vec_push(&items, &x), 0);
    KASSERT_EQ(items.capacity, 200);
    KASSERT_EQ(vec_shrink(&items), 0);
    KASSERT_EQ(items.capacity, 101);
    for (int i = 0; i < 100; i++)
        KASSERT_EQ(*VEC_AT(&items, int, i), i);
    while (vec_pop(&items, NULL)) {
    }
    KASSERT_EQ(vec_shrink(&items), 0);
    KASSERT_EQ(items.capacity, 0);
    KASSERT_NULL(items.data);
    vec_free(&items);
    malloc_test_settle();
}
