/*
 * lib/malloc/malloc_idle.c - a class nobody uses any more gives its runs back to TLSF, where every
 * other class and the large blocks reuse them, before the heap grows.
 *
 * A class's blocks are either in its central state (chains, loose, uncarved) or out: held by the
 * program or cached by a hart. When every block that is out sits in the calling hart's own cache,
 * the program holds none: every run of the class is free, and knowing it takes no walk of its
 * blocks, only counts (carved_blocks less the central ones, against the cache's two magazines).
 * Such an *idle* class is detached in O(1): its cached blocks are dropped from the cache, its
 * central state is reset to empty, and its list of runs goes onto the pending lists.
 *
 * When: only where the heap would otherwise grow. TLSF, asked for a class's new run or a large
 * block it can serve only by growing, first asks small_idle_may_help (pending runs, or a class
 * marked a candidate); if so, small_idle_make_room looks at a few candidates and gives pending
 * runs back, a few at a time, until the request fits without growth (or the rounds run out and
 * the heap grows as before). The pending runs left wait for the next such request, or a trim.
 * A class is marked a candidate when a free gives a magazine back and at least half its blocks
 * are then in full magazines on its stack (malloc_internal.h, small_note_given); a look unmarks a
 * class the program still uses. A class with one run keeps it (no thrash at the edge of its use),
 * and the class being refilled is never detached.
 *
 * Short runs: when neither TLSF nor the idle classes' runs give a class its usual run without
 * growth, a short one in a free chunk inside the heap (small_idle_run_instead_of_growth), so memory
 * left between live runs serves before growth does.
 *
 * Locks: a candidate's class lock is only tried (the caller may hold its own class's lock); the
 * pending lock nests inside class locks; runs go back to TLSF with neither held.
 */
#include "kernel/base/printf.h"
#include "lib/malloc/malloc_internal.h"

/* The candidate marks read a machine word at a time (the type may alias them). */
typedef uintptr_t __attribute__((may_alias)) candidate_word;
_Static_assert(MALLOC_SMALL_CLASSES % sizeof(candidate_word) == 0, "the marks are whole words");

/* When a request would otherwise grow the heap: runs given back per round (until they hold its
 * bytes), and rounds (each followed by another try without growth; pending runs freed in an order
 * TLSF cannot always merge may take more than one). */
#define SMALL_IDLE_RUNS_PER_ROUND 8
#define SMALL_IDLE_ROUNDS 8
/* Candidates looked at per request that would grow the heap. */
#define SMALL_IDLE_LOOKS_PER_ROUND 4

/* Blocks of the class in the calling hart's own cache (the loaded magazine and a full spare). */
static uint32_t own_cached(struct malloc_cache *cache, unsigned class_index)
{
    struct malloc_cache_class *entry = cache_entry_of(cache, class_index);
    if (!entry->limit)
        return 0;
    return magazine_length(entry->head, entry->limit) + (cache->spares[class_index + 1] ? entry->limit : 0);
}

/*
 * Detaches an idle class (class lock held, pending lock free): drops its blocks from the calling
 * hart's cache, resets its central state and puts its runs on the pending lists. False (nothing
 * changed) when the pending lists are full.
 */
static bool detach(struct malloc_cache *cache, unsigned class_index, uint32_t cached)
{
    struct small_central *central = &malloc_state.centrals[class_index];
    struct small_pending *P = &malloc_state.pending;
    spin_lock(&P->lock);
    if (P->lists == SMALL_PENDING_LISTS) {
        spin_unlock(&P->lock);
        return false;
    }
    small_pending_add(central->runs, central->run_count);
    spin_unlock(&P->lock);
    struct malloc_cache_class *entry = cache_entry_of(cache, class_index);
    if (entry->limit) {
        entry->head = &malloc_list_ends[class_index + 1];
        cache->spares[class_index + 1] = NULL;
    }
    __atomic_fetch_sub(&malloc_state.small_bytes_out, (size_t)cached * small_class_bytes(class_index),
                       __ATOMIC_RELAXED);
    small_central_empty(central, 0);
    __atomic_fetch_add(&malloc_state.idle_detaches, 1, __ATOMIC_RELAXED);
    return true;
}

/* Looks at one candidate (not the class being refilled): detaches it when idle, drops its bit when in use. */
static void look_at(struct malloc_cache *cache, unsigned class_index)
{
    struct small_central *central = &malloc_state.centrals[class_index];
    if (!spin_trylock(&central->lock))
        return; /* busy: in use, or somebody else is looking; a later step will */
    uint32_t cached = own_cached(cache, class_index);
    size_t out = small_out_blocks(central, class_index);
    bool drop = false;
    if (small_scan_has_class(class_index))
        drop = true; /* under scan: what it can give back, the scan gives */
    else if (out == cached && central->run_count < 2)
        drop = true; /* a class with one run keeps it: no thrash at the edge of a class's use */
    else if (out == cached)
        drop = detach(cache, class_index, cached);
    else if (small_scan_active())
        drop = false; /* one scan at a time: this class is looked at again after it */
    else if (small_scan_start(cache, class_index, cached, out))
        drop = true; /* mostly free, a few blocks elsewhere (another hart's cache, the program) */
    else if (out > cached + (size_t)small_cache_limit(class_index))
        drop = true; /* the program holds blocks of it: in use */
    if (drop)
        __atomic_store_n(&malloc_state.idle_candidates[class_index], 0, __ATOMIC_RELAXED);
    spin_unlock(&central->lock);
}

/* Gives one run back to TLSF: its page map cleared, its chunk freed (no lock held). */
static void give_run_back(struct small_run *run)
{
    small_clear_map(run, small_run_size(run));
    tlsf_free_run(run);
    __atomic_fetch_add(&malloc_state.run_changes, 1, __ATOMIC_RELAXED);
}

/* Takes up to most runs off the pending lists and gives them back to TLSF. Returns their bytes. */
static size_t release_pending(size_t most)
{
    struct small_pending *P = &malloc_state.pending;
    struct small_run *taken = NULL;
    size_t count = 0, bytes = 0;
    spin_lock(&P->lock);
    while (count < most && P->lists) {
        struct small_run **list = &P->runs[P->lists - 1];
        struct small_run *run = *list;
        *list = run->next_run;
        if (!*list)
            P->lists--;
        P->run_count--;
        bytes += small_run_size(run);
        run->next_run = taken;
        taken = run;
        count++;
    }
    spin_unlock(&P->lock);
    while (taken) {
        struct small_run *next = taken->next_run;
        give_run_back(taken);
        taken = next;
    }
    return bytes;
}

/*
 * Looks at up to SMALL_IDLE_LOOKS_PER_ROUND candidates (not refilling_class), from where the last
 * look stopped, so classes marked again and again while in use cost a bounded look each time.
 */
static void look_at_candidates(unsigned refilling_class)
{
    struct malloc_cache *cache = malloc_cache_self();
    unsigned start = __atomic_load_n(&malloc_state.idle_cursor, __ATOMIC_RELAXED) % MALLOC_SMALL_CLASSES;
    unsigned looked = 0, class_index = start;
    /* The marks a word at a time: most words are 0 (no candidate among their classes). */
    const candidate_word *words = (const candidate_word *)malloc_state.idle_candidates;
    for (unsigned seen = 0; seen < MALLOC_SMALL_CLASSES && looked < SMALL_IDLE_LOOKS_PER_ROUND; seen++) {
        if (class_index % sizeof(candidate_word) == 0 && seen + sizeof(candidate_word) <= MALLOC_SMALL_CLASSES &&
            !__atomic_load_n(&words[class_index / sizeof(candidate_word)], __ATOMIC_RELAXED)) {
            seen += sizeof(candidate_word) - 1;
            class_index = (class_index + sizeof(candidate_word)) % MALLOC_SMALL_CLASSES;
            continue;
        }
        if (__atomic_load_n(&malloc_state.idle_candidates[class_index], __ATOMIC_RELAXED) &&
            class_index != refilling_class) {
            look_at(cache, class_index);
            looked++;
        }
        class_index = (class_index + 1) % MALLOC_SMALL_CLASSES;
    }
    __atomic_store_n(&malloc_state.idle_cursor, class_index, __ATOMIC_RELAXED);
}

bool small_idle_make_room(unsigned refilling_class, size_t bytes, unsigned round)
{
    if (round >= SMALL_IDLE_ROUNDS)
        return false;
    if (round == 0) {
        look_at_candidates(refilling_class);
        small_scan_step();
    }
    size_t released = 0;
    for (size_t runs = 0; runs < SMALL_IDLE_RUNS_PER_ROUND && released < bytes; runs++) {
        size_t run_bytes = release_pending(1);
        if (!run_bytes)
            break;
        released += run_bytes;
    }
    return released != 0;
}

/* Short runs taken instead of growth, ever (statistics: outside malloc_state, whose layout the fast
 * paths' offsets depend on). */
static size_t short_runs_taken;

size_t small_short_runs_taken(void)
{
    return __atomic_load_n(&short_runs_taken, __ATOMIC_RELAXED);
}

struct small_run *small_idle_run_instead_of_growth(unsigned class_index, size_t run_bytes)
{
    struct small_run *run = NULL;
    for (unsigned round = 0; !run && small_idle_make_room(class_index, run_bytes, round); round++)
        run = tlsf_alloc_run(run_bytes, TLSF_NO_GROWTH);
    /* Free memory inside the heap that no usual run fits (what an earlier size's runs left
     * between the live ones): a short run there. The top is left to growth, which extends it. */
    for (unsigned size = 0; !run && size < MALLOC_SHORT_RUN_SIZES; size++) {
        size_t short_bytes = small_short_run_bytes(class_index, size);
        if (short_bytes && short_bytes < run_bytes && (run = tlsf_alloc_run_inside(short_bytes)) != NULL)
            __atomic_fetch_add(&short_runs_taken, 1, __ATOMIC_RELAXED);
    }
    return run ? run : tlsf_alloc_run(run_bytes, TLSF_GROW);
}

void small_idle_forget_candidates(void)
{
    for (unsigned class_index = 0; class_index < MALLOC_SMALL_CLASSES; class_index++)
        __atomic_store_n(&malloc_state.idle_candidates[class_index], 0, __ATOMIC_RELAXED);
}

size_t small_release_pending_runs(void)
{
    size_t runs = __atomic_load_n(&malloc_state.pending.run_count, __ATOMIC_RELAXED);
    while (release_pending(SIZE_MAX) != 0)
        continue;
    return runs;
}

void small_pending_stats(size_t *runs, size_t *bytes)
{
    struct small_pending *P = &malloc_state.pending;
    *bytes = 0;
    spin_lock(&P->lock);
    *runs = P->run_count;
    for (unsigned list = 0; list < P->lists; list++)
        for (struct small_run *run = P->runs[list]; run; run = run->next_run)
            *bytes += small_run_size(run);
    spin_unlock(&P->lock);
}

int small_validate_pending(size_t *map_pages_expected)
{
    struct small_pending *P = &malloc_state.pending;
    int result = 0;
    size_t runs = 0;
    spin_lock(&P->lock);
    for (unsigned list = 0; list < P->lists && !result; list++) {
        if (!P->runs[list])
            result = -45;
        for (struct small_run *run = P->runs[list]; run && !result; run = run->next_run) {
            unsigned class_index = run->class_index;
            size_t run_bytes = class_index < MALLOC_SMALL_CLASSES ? small_run_size(run) : 0;
            if (++runs > P->run_count || !run_bytes || !small_run_size_valid(class_index, run_bytes) ||
                ((uintptr_t)run & (PAGE_SIZE - 1)))
                result = -46;
            /* Every page marked with the class, or (a run laid out lazily while the heap was
             * reserved) not marked yet; the first always is. */
            for (uintptr_t page = (uintptr_t)run; !result && page < (uintptr_t)run + run_bytes; page += PAGE_SIZE) {
                int mark = small_class_at(page);
                if (mark == (int)class_index)
                    ++*map_pages_expected;
                else if (mark != -1 || page == (uintptr_t)run)
                    result = -47;
            }
        }
    }
    if (!result && runs != P->run_count)
        result = -48;
    spin_unlock(&P->lock);
    if (result)
        kprintf("malloc validate: pending runs inconsistent (%d): %lu runs counted, %lu listed\n", result,
                (unsigned long)P->run_count, (unsigned long)runs);
    return result;
}
