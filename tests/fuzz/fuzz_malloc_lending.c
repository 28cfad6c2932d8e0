/*
 * tests/fuzz/fuzz_malloc_lending.c - fuzz_malloc with a binding that lends free pages away.
 *
 * The same operation streams as tests/fuzz/fuzz_malloc.c (read its comment), in a build without
 * RVMEM_CHECKED whose binding has release_pages and reclaim_pages: a trim lends the pages inside
 * free chunks to another owner, a reclaim may be refused, and the allocator must set such chunks
 * aside as holes and never hand out a lent page (lib/malloc/malloc_tlsf.c). The Makefile builds
 * it without -DRVMEM_CHECKED; make test runs it from fuzz_malloc's seeds.
 */
#define FUZZ_MALLOC_LENDING 1
#include "tests/fuzz/fuzz_malloc.c"
