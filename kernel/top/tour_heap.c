/*
 * kernel/top/tour_heap.c - tour step 3: the heap, blocks whose size and lifetime the program
 * decides at run time: box, vec, rc and arc on malloc.
 */
#include <stdbool.h>

#include "kernel/mm/brk.h"
#include "kernel/platform/hart.h"
#include "kernel/base/platform.h"
#include "kernel/base/layout.h"
#include "kernel/top/monitor_text.h"
#include "kernel/mm/pages.h"
#include "kernel/base/printf.h"
#include "kernel/top/tour.h"
#include "kernel/top/tour_check.h"
#include "lib/malloc/malloc.h"
#include "kernel/top/malloc_binding.h"
#include "lib/arc.h"
#include "lib/box.h"
#include "lib/rc.h"
#include "lib/vec.h"

#define VEC_PUSHES 300

struct point {
    long x, y;
};

static void show_box(void)
{
    struct point *owner = BOX_NEW(struct point, {3, 4});
    if (!owner) {
        tour_check(false, "a box");
        return;
    }
    kprintf("   box: BOX_NEW(struct point, {3, 4}) = %p on the heap; the pointer itself is on the stack at %p\n",
            (void *)owner, (void *)&owner);
    struct point *new_owner = BOX_MOVE(owner);
    kprintf("        BOX_MOVE hands it over: new owner %p, old owner %p; box_free(new owner) frees it once\n",
            (void *)new_owner, (void *)owner);
    bool moved = owner == NULL && new_owner->x == 3 && new_owner->y == 4;
    box_free(new_owner);
    tour_check(moved, "the box moved to its new owner with its value, and the old owner is NULL");
}

static void show_vec(void)
{
    struct vec numbers = VEC_INIT(int);
    const void *buffer = NULL;
    size_t capacity = 0;
    unsigned moves = 0;
    bool pushed = true;
    kprintf("   vec of int, %d pushes (capacity doubles when full; the buffer moves when it cannot grow in place):\n",
            VEC_PUSHES);
    for (int i = 0; i < VEC_PUSHES && pushed; i++) {
        pushed = vec_push(&numbers, &i) == 0;
        if (numbers.capacity != capacity) {
            bool moved = buffer != NULL && numbers.data != buffer;
            kprintf("        length %3zu: capacity %3zu, buffer %p%s\n", numbers.length, numbers.capacity,
                    (void *)numbers.data, moved ? " (moved: elements copied)" : (buffer ? " (grown in place)" : ""));
            moves += moved;
            buffer = numbers.data;
            capacity = numbers.capacity;
        }
    }
    bool intact = pushed && numbers.length == VEC_PUSHES;
    for (int i = 0; i < VEC_PUSHES && intact; i++)
        intact = *VEC_AT(&numbers, int, (size_t)i) == i;
    bool bounds_checked = VEC_AT(&numbers, int, VEC_PUSHES) == NULL;
    vec_free(&numbers);
    tour_check(intact && moves > 0 && bounds_checked,
               "the vec kept every element across its moves, and an index past the end gives NULL");
}

static unsigned destroyed_values;

static void value_destroyed(void *value)
{
    (void)value;
    destroyed_values++;
}

static void show_rc(void)
{
    destroyed_values = 0;
    long *shared = rc_new(sizeof *shared, value_destroyed);
    if (!shared) {
        tour_check(false, "an rc");
        return;
    }
    *shared = 42;
    long *second_owner = rc_retain(shared);
    long *third_owner = rc_retain(shared);
    kprintf("   rc: one value at %p, three owners: count %zu\n", (void *)shared, rc_count(shared));
    rc_release(third_owner);
    rc_release(second_owner);
    size_t left = rc_count(shared);
    unsigned destroyed_early = destroyed_values;
    rc_release(shared);
    kprintf("        two releases: count %zu, value still alive; the last release runs the destructor (%u run)\n", left,
            destroyed_values);
    tour_check(left == 1 && destroyed_early == 0 && destroyed_values == 1,
               "the rc's value lived until its last owner let go, and was destroyed exactly once");
}

/* What every hart records in the shared value (the value itself is written with atomics). */
struct shared_tally {
    unsigned long visits;
    unsigned long count_seen[RVMEM_MAX_HARTS];
};

static struct shared_tally *shared_tally;

/* Runs on every hart at once: take an owner's reference, leave a mark, let go. */
static void visit_shared_tally(void)
{
    struct shared_tally *mine = arc_retain(shared_tally);
    __atomic_add_fetch(&mine->visits, 1, __ATOMIC_RELAXED);
    mine->count_seen[hart_self()] = arc_count(mine);
    arc_release(mine);
}

static void show_arc(void)
{
    destroyed_values = 0;
    shared_tally = arc_new(sizeof *shared_tally, value_destroyed);
    if (!shared_tally) {
        tour_check(false, "an arc");
        return;
    }
    run_on_all_harts(visit_shared_tally);
    kprintf("   arc: one value at %p, retained and released on every hart, %u in all (count each saw:",
            (void *)shared_tally, hart_count());
    for (unsigned hart = 0; hart < hart_count(); hart++)
        kprintf(" %lu", shared_tally->count_seen[hart]);
    kprintf(")\n");
    unsigned long visits = __atomic_load_n(&shared_tally->visits, __ATOMIC_RELAXED);
    size_t left = arc_count(shared_tally);
    kprintf("        visits %lu, count back to %zu; the creator's release destroys it\n", visits, left);
    arc_release(shared_tally);
    shared_tally = NULL;
    tour_check(visits == hart_count() && left == 1 && destroyed_values == 1,
               "every hart shared the arc, its count came back to 1, one destruction");
}

void tour_heap(void)
{
    kprintf("\n3. The heap: blocks whose size and lifetime the program decides at run time\n");
    show_box();
    show_vec();
    show_rc();
    show_arc();
    rvmem_malloc_trim(); /* give back what the step's blocks took from the break */
}
