/*
 * tests/host/malloc_exhaustion.c - the exhaustion scenario on the host, with the test arena's
 * break limited to 104 KiB above what is in use: one 64 KiB pad fits, a second does not.
 */
#include "tests/host/malloc_arena.h"
#include "tests/harness/ktest.h"
#include "tests/lib/malloc_exhaustion_cases.h"

static void limited_run(void)
{
    rvmem_malloc_trim();
    size_t limit_bytes = malloc_arena_break() - malloc_arena_start() + 104 * 1024;
    malloc_arena_set_limit(limit_bytes);
    malloc_exhaustion_cases(malloc_arena_start() + limit_bytes);
}

KTEST(malloc_exhaustion_host, null_then_recovery)
{
    limited_run();
    malloc_arena_set_limit(0);
}
