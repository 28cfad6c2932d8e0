/*
 * lib/malloc/malloc_map.c - marking a run's pages in the page maps, a word at a time.
 *
 * Two maps with a byte per page of the heap: the class of the run a page belongs to (plus one; 0:
 * no run) and how many pages after its run's first page it is. small_mark_map_range (malloc_internal.h)
 * writes a few pages itself and comes here for many.
 */
#include "kernel/base/string.h"
#include "lib/malloc/malloc_internal.h"

/* Page-map bytes a machine word at a time (the type may alias them). */
typedef uintptr_t __attribute__((may_alias)) map_word;
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the marks' words are built little-endian");

/* A word of the second map holds consecutive counts: i times 0x0101.. plus 0x..0302010100. Only
 * the run's bytes are written; nobody reads them until the run's blocks are handed out. */
void small_mark_map_words(uint8_t *class_of_page, uint8_t *pages_back, size_t from, size_t to, uint8_t mark)
{
    memset(class_of_page + from, mark, to - from);
    size_t i = from;
    for (; i < to && ((uintptr_t)&pages_back[i] & (sizeof(map_word) - 1)); i++)
        pages_back[i] = (uint8_t)i;
    const uintptr_t ones = UINTPTR_MAX / 0xff, ramp = (uintptr_t)0x0706050403020100ull;
    for (; to - i >= sizeof(map_word); i += sizeof(map_word))
        *(map_word *)&pages_back[i] = ones * i + ramp;
    for (; i < to; i++)
        pages_back[i] = (uint8_t)i;
}
