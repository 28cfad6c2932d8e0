/*
 * lib/malloc/malloc_scan.c - a class that is mostly free gives back the runs whose blocks are all
 * free, in bounded steps, even while other harts (threads) still hold some of its blocks.
 *
 * malloc_idle.c detaches a class in O(1) when every block that is out sits in the calling hart's
 * own cache. Blocks freed by another hart end in that hart's cache, though, and a hart that goes
 * idle (or a thread that blocks) keeps its last magazines: a few blocks elsewhere keep a whole
 * class from looking idle, and all its runs with it. Which runs those blocks pin is unknown
 * without a walk of the class's free blocks, so this file does that walk, off the class:
 *
 *   start   (the idle look, class lock held; O(limit)): when what is out beyond the calling hart's
 *           cache is at most 1/SMALL_SCAN_SHARE of the class's blocks and the class holds at least
 *           SMALL_SCAN_MIN_BYTES of runs, its free blocks (central chains, loose list, the calling
 *           hart's own magazines, the uncarved tail) and its runs move into the scan; the class
 *           goes on empty, with carved_blocks set to what is still out of the old runs (the
 *           *carry*), so frees of those blocks come back to it as to any class.
 *   steps   (at most SMALL_SCAN_STEP_UNITS blocks or runs each): zero each run's count; count the
 *           free blocks per run (scratch_free); sort the runs into released (every block free)
 *           and kept; sort the blocks, dropping those of released runs and building full
 *           magazines of the others, in two piles: blocks of runs at most half free and of runs
 *           more than half free.
 *   finish  (class lock tried; O(limit)): the kept runs and their free blocks go back to the class
 *           (after its newest run, whose uncarved tail stays the newest), the fuller runs'
 *           magazines on top, so the next refills hand out their blocks first and the emptier
 *           runs may empty (half-empty runs preferred for new blocks); the carry becomes theirs;
 *           the released runs go onto the pending lists (malloc_idle.c), which give them back to
 *           TLSF where the heap would otherwise grow.
 *
 * Steps are taken where memory is wanted: by small_idle_make_room, before a request grows the
 * heap. While a scan is under way the heap grows by what a request lacks, without the pad
 * (malloc_tlsf.c's grow), so every new run or large block past the free memory takes a step:
 * the runs come back at the pace the heap would otherwise grow, and the fast paths and the
 * refills that TLSF serves without growing pay nothing. A trim (small_scan_complete) takes every
 * step left. One scan at a time.
 *
 * Why it is safe: the scan owns the blocks it took (free, and in no list anybody else reads); a
 * run is released only when all its blocks are among them, so no block of it is out, cached or
 * in the class's central state. Nobody else counts scratch_free of the scan's runs: the idle look
 * and the trim skip the class under scan (small_scan_has_class), and runs are counted only there.
 *
 * Locks: the scan's lock is taken by whoever steps (tried: a busy scan is somebody else's step);
 * it nests inside class locks, and the scanned class's lock and the pending lock are only tried
 * from a step (the stepper may hold another class's lock).
 */
#include "kernel/base/printf.h"
#include "lib/malloc/malloc_internal.h"

/* A class is scanned when at most 1/SMALL_SCAN_SHARE of its blocks is out beyond the caller's
 * cache, and only when its runs hold at least SMALL_SCAN_MIN_BYTES (less is not worth a walk). */
#define SMALL_SCAN_SHARE 8
#define SMALL_SCAN_MIN_BYTES ((size_t)1 << 20)
/* Blocks or runs visited per step: enough to release what a run's worth of requests asks for. */
#define SMALL_SCAN_STEP_UNITS 1024

/* A run's scratch_free once it is sorted as released (no count reaches it). */
#define SCAN_RUN_RELEASED UINT32_MAX

/* Rewinds the walk to the first of the scan's blocks: its chains, then its loose list. */
static void rewind_walk(struct small_scan *S)
{
    S->walk_chain = S->chains;
    S->walk_at = NULL;
    S->walk_left = 0;
    S->walk_loose = S->loose;
}

/* The walk's next block, or NULL at the end. Reads the links of the block it returns before the
 * caller may overwrite them (sorting relinks every kept block). */
static struct magazine_block *walk_next(struct small_scan *S, uint32_t limit)
{
    struct magazine_block *block;
    if (S->walk_left) {
        block = S->walk_at;
        S->walk_left--;
    } else if (S->walk_chain) {
        block = S->walk_chain;
        S->walk_chain = *small_chain_link(block);
        S->walk_left = limit - 1;
    } else if (S->walk_loose) {
        block = S->walk_loose;
        S->walk_loose = block->next;
        return block;
    } else {
        return NULL;
    }
    S->walk_at = S->walk_left ? block->next : NULL;
    return block;
}

/* Adds a free block of a kept run to its pile's magazine being built; a full one goes onto the pile's chains. */
static void keep_block(struct small_scan *S, struct magazine_block *block, unsigned pile_index, uint32_t limit)
{
    struct small_scan_pile *pile = &S->piles[pile_index];
    if (!pile->forming_count) {
        pile->forming_bottom = block;
        block->next = NULL;
    } else {
        block->next = pile->forming;
    }
    pile->forming = block;
    pile->forming_count++;
    S->returned++;
    block->room = limit - pile->forming_count;
    if (pile->forming_count == limit) {
        pile->forming_bottom->next = &malloc_list_ends[S->class_index + 1];
        *small_chain_link(block) = pile->chains; /* its room was 0: a full magazine's top, now a chain */
        if (!pile->chains)
            pile->chains_bottom = block;
        pile->chains = block;
        pile->chain_count++;
        pile->forming = NULL;
        pile->forming_count = 0;
    }
}

bool small_scan_start(struct malloc_cache *cache, unsigned class_index, uint32_t cached, size_t out)
{
    struct small_central *central = &malloc_state.centrals[class_index];
    struct small_scan *S = &malloc_state.scan;
    size_t bytes = small_class_bytes(class_index);
    if (central->run_count < 2 || central->run_count * small_run_bytes(class_index) < SMALL_SCAN_MIN_BYTES ||
        (out - cached) * SMALL_SCAN_SHARE > central->carved_blocks)
        return false;
    if (__atomic_load_n(&S->phase, __ATOMIC_RELAXED) != SMALL_SCAN_IDLE || !spin_trylock(&S->lock))
        return false;
    if (S->phase != SMALL_SCAN_IDLE) {
        spin_unlock(&S->lock);
        return false;
    }
    uint32_t limit = small_cache_limit(class_index);
    S->class_index = class_index;
    S->chains = central->chains;
    S->loose = central->free_list;
    S->free_blocks = central->chain_count * limit + central->free_count + cached;
    /* The calling hart's own blocks of the class are free too: its spare is a whole chain, its
     * loaded magazine (fewer than limit blocks) joins the loose list. */
    struct malloc_cache_class *entry = cache_entry_of(cache, class_index);
    if (entry->limit) {
        void **spare = &cache->spares[class_index + 1];
        if (*spare) {
            *small_chain_link(*spare) = S->chains;
            S->chains = *spare;
            *spare = NULL;
        }
        uint32_t length = magazine_length(entry->head, limit);
        if (length) {
            struct magazine_block *last = entry->head;
            for (uint32_t i = 1; i < length; i++)
                last = last->next;
            last->next = S->loose;
            S->loose = entry->head;
        }
        entry->head = &malloc_list_ends[class_index + 1];
    }
    __atomic_fetch_sub(&malloc_state.small_bytes_out, (size_t)cached * bytes, __ATOMIC_RELAXED);
    S->tail = central->bump;
    S->tail_end = central->bump_end;
    S->tail_run = central->bump < central->bump_end ? central->runs : NULL;
    S->tail_laid_out = central->uncarved_laid_out;
    S->runs = central->runs;
    S->run_count = central->run_count;
    S->run_cursor = central->runs;
    S->carry = out - cached;
    S->kept = S->kept_last = S->released = NULL;
    S->kept_count = S->released_count = 0;
    S->piles[SMALL_SCAN_FULLER] = S->piles[SMALL_SCAN_EMPTIER] = (struct small_scan_pile){0};
    S->returned = 0;
    rewind_walk(S);
    small_central_empty(central, S->carry);
    __atomic_store_n(&S->phase, SMALL_SCAN_ZERO, __ATOMIC_RELEASE);
    spin_unlock(&S->lock);
    __atomic_fetch_add(&malloc_state.scans, 1, __ATOMIC_RELAXED);
    return true;
}

/* Hands the sorted scan back (scan lock held): false, changing nothing, when the class or the
 * pending lists are busy or the pending lists are full (a later step tries again). */
static bool finish(struct small_scan *S)
{
    unsigned class_index = S->class_index;
    struct small_central *central = &malloc_state.centrals[class_index];
    struct small_pending *P = &malloc_state.pending;
    if (!spin_trylock(&central->lock))
        return false;
    if (S->released) {
        if (!spin_trylock(&P->lock)) {
            spin_unlock(&central->lock);
            return false;
        }
        if (P->lists == SMALL_PENDING_LISTS) {
            spin_unlock(&P->lock);
            spin_unlock(&central->lock);
            return false;
        }
        small_pending_add(S->released, S->released_count);
        spin_unlock(&P->lock);
    }
    if (S->kept) {
        /* After the class's newest run: its uncarved tail must stay the newest run's end. */
        struct small_run **after = central->runs ? &central->runs->next_run : &central->runs;
        S->kept_last->next_run = *after;
        *after = S->kept;
        central->run_count += S->kept_count;
    }
    central->carved_blocks += S->returned; /* the carry was already counted: now the kept runs' */
    /* The magazines being built join the loose list (the fuller one at its head), whose chains,
     * if it makes any, go below the piles' chains: the emptier pile's chains, then the fuller
     * pile's on top, so refills pop those first. */
    for (unsigned pile_index = SMALL_SCAN_EMPTIER + 1; pile_index-- > 0;) {
        struct small_scan_pile *pile = &S->piles[pile_index];
        if (pile->forming) {
            pile->forming_bottom->next = central->free_list;
            central->free_list = pile->forming;
            central->free_count += pile->forming_count;
        }
    }
    small_chain_loose(central, class_index);
    for (unsigned pile_index = SMALL_SCAN_EMPTIER + 1; pile_index-- > 0;) {
        struct small_scan_pile *pile = &S->piles[pile_index];
        if (pile->chains) {
            *small_chain_link(pile->chains_bottom) = central->chains;
            central->chains = pile->chains;
            central->chain_count += pile->chain_count;
        }
    }
    __atomic_fetch_add(&malloc_state.scan_runs_released, S->released_count, __ATOMIC_RELAXED);
    S->free_blocks = 0;
    S->runs = S->kept = S->released = NULL;
    __atomic_store_n(&S->phase, SMALL_SCAN_IDLE, __ATOMIC_RELEASE);
    spin_unlock(&central->lock);
    return true;
}

/* Carves the uncarved tail of a kept run into the magazines being built (its pages marked first
 * when it was laid out lazily). O(tail blocks). */
static size_t keep_tail(struct small_scan *S, uint32_t limit)
{
    unsigned class_index = S->class_index;
    size_t bytes = small_class_bytes(class_index);
    if (!S->tail_laid_out)
        small_mark_map_range(S->tail_run, 0, small_run_size(S->tail_run) >> PAGE_SHIFT, class_index);
    size_t blocks = 0;
    unsigned pile_index = small_run_pile(S->tail_run);
    for (uintptr_t block = S->tail; block < S->tail_end; block += bytes, blocks++)
        keep_block(S, (struct magazine_block *)block, pile_index, limit);
    S->tail = S->tail_end;
    return blocks;
}

/* Does up to units of work of the scan (scan lock held). */
static void advance(struct small_scan *S, size_t units)
{
    unsigned class_index = S->class_index;
    uint32_t limit = small_cache_limit(class_index);
    size_t bytes = small_class_bytes(class_index);
    while (units) {
        switch (S->phase) {
        case SMALL_SCAN_ZERO:
            for (; units && S->run_cursor; units--, S->run_cursor = S->run_cursor->next_run)
                S->run_cursor->scratch_free = 0;
            if (!S->run_cursor)
                S->phase = SMALL_SCAN_COUNT;
            break;
        case SMALL_SCAN_COUNT:
            for (; units; units--) {
                struct magazine_block *block = walk_next(S, limit);
                if (!block)
                    break;
                small_run_of((uintptr_t)block)->scratch_free++;
            }
            if (units) { /* the walk ended: the uncarved tail is free too */
                if (S->tail_run)
                    S->tail_run->scratch_free += (uint32_t)((S->tail_end - S->tail) / bytes);
                S->phase = SMALL_SCAN_SORT_RUNS;
            }
            break;
        case SMALL_SCAN_SORT_RUNS:
            for (; units && S->runs; units--) {
                struct small_run *run = S->runs;
                S->runs = run->next_run;
                if (run->scratch_free == run->capacity) {
                    run->scratch_free = SCAN_RUN_RELEASED;
                    run->next_run = S->released;
                    S->released = run;
                    S->released_count++;
                } else {
                    run->next_run = S->kept;
                    if (!S->kept)
                        S->kept_last = run;
                    S->kept = run;
                    S->kept_count++;
                }
            }
            if (!S->runs) {
                rewind_walk(S);
                S->phase = SMALL_SCAN_SORT_BLOCKS;
            }
            break;
        case SMALL_SCAN_SORT_BLOCKS:
            for (; units; units--) {
                struct magazine_block *block = walk_next(S, limit);
                if (!block)
                    break;
                struct small_run *run = small_run_of((uintptr_t)block);
                if (run->scratch_free != SCAN_RUN_RELEASED)
                    keep_block(S, block, small_run_pile(run), limit);
            }
            if (units) {
                if (S->tail_run && S->tail_run->scratch_free != SCAN_RUN_RELEASED) {
                    size_t carved = keep_tail(S, limit);
                    units = carved < units ? units - carved : 1;
                }
                S->phase = SMALL_SCAN_FINISH;
            }
            break;
        case SMALL_SCAN_FINISH: finish(S); return; /* done, or the class is busy: a later step */
        default: return;
        }
    }
}

void small_scan_step(void)
{
    struct small_scan *S = &malloc_state.scan;
    if (__atomic_load_n(&S->phase, __ATOMIC_ACQUIRE) == SMALL_SCAN_IDLE || !spin_trylock(&S->lock))
        return;
    advance(S, SMALL_SCAN_STEP_UNITS);
    spin_unlock(&S->lock);
}

bool small_scan_complete(void)
{
    struct small_scan *S = &malloc_state.scan;
    while (__atomic_load_n(&S->phase, __ATOMIC_ACQUIRE) != SMALL_SCAN_IDLE) {
        spin_lock(&S->lock);
        advance(S, SIZE_MAX);
        bool pending_full = S->phase == SMALL_SCAN_FINISH && S->released &&
                            __atomic_load_n(&malloc_state.pending.lists, __ATOMIC_RELAXED) == SMALL_PENDING_LISTS;
        spin_unlock(&S->lock);
        if (pending_full)
            return false;
    }
    return true;
}

void small_scan_stats(size_t *runs, size_t *free_bytes)
{
    struct small_scan *S = &malloc_state.scan;
    spin_lock(&S->lock);
    bool active = S->phase != SMALL_SCAN_IDLE;
    *runs = active ? S->run_count : 0;
    *free_bytes = active ? S->free_blocks * small_class_bytes(S->class_index) : 0;
    spin_unlock(&S->lock);
}

/* Checks one list of the scan's runs: headers and page map (every page marked, or, on the run
 * whose tail was laid out lazily, not marked yet). Counts runs and marked pages. 0 or negative. */
static int validate_runs(const struct small_scan *S, const struct small_run *run, size_t *runs,
                         size_t *map_pages_expected)
{
    for (; run; run = run->next_run) {
        if (++*runs > S->run_count || run->class_index != S->class_index || ((uintptr_t)run & (PAGE_SIZE - 1)))
            return -50;
        size_t run_bytes = small_run_size(run);
        if (!small_run_size_valid(S->class_index, run_bytes))
            return -50;
        for (uintptr_t page = (uintptr_t)run; page < (uintptr_t)run + run_bytes; page += PAGE_SIZE) {
            int mark = small_class_at(page);
            if (mark == (int)S->class_index)
                ++*map_pages_expected;
            else if (mark != -1 || run != S->tail_run || page == (uintptr_t)run)
                return -51;
        }
    }
    return 0;
}

int small_validate_scan(size_t *map_pages_expected, size_t *carry, unsigned *class_index)
{
    struct small_scan *S = &malloc_state.scan;
    int result = 0;
    size_t runs = 0;
    *carry = 0;
    *class_index = MALLOC_SMALL_CLASSES;
    spin_lock(&S->lock);
    if (S->phase != SMALL_SCAN_IDLE) {
        *carry = S->carry;
        *class_index = S->class_index;
        result = validate_runs(S, S->runs, &runs, map_pages_expected);
        if (!result)
            result = validate_runs(S, S->kept, &runs, map_pages_expected);
        if (!result)
            result = validate_runs(S, S->released, &runs, map_pages_expected);
        if (!result && runs != S->run_count)
            result = -52;
    }
    spin_unlock(&S->lock);
    if (result)
        kprintf("malloc validate: the class scan's runs inconsistent (%d): %lu runs counted, %lu listed\n", result,
                (unsigned long)S->run_count, (unsigned long)runs);
    return result;
}
