/*
 * tests/host/malloc_exhaustion.c - the exhaustion scenario on the host, with the test arena's
 * break limited to 64 KiB above what is in use.
 */
#include "tests/host/malloc_arena.h"
#include "tests/ktest.h"
#include "tests/malloc_exhaustion_cases.h"

static void limited_run(void)
{
    rvmem_malloc_trim();
    malloc_arena_set_limit(malloc_arena_break() - malloc_arena_start() + 64 * 1024);
    malloc_exhaustion_cases();
}

KTEST(malloc_exhaustion_host, null_then_recovery)
{
    limited_run();
    malloc_arena_set_limit(0);
}
