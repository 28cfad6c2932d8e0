/*
 * kernel/top/monitor_text.h - small text helpers shared by the monitor and the tour: byte counts
 * for people ("1.5 MiB"), numbers typed at the prompt, and one row of a memory picture.
 */
#ifndef RVMEM_KERNEL_TOP_MONITOR_TEXT_H
#define RVMEM_KERNEL_TOP_MONITOR_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buddy;

#define SIZE_TEXT_BYTES 16

/* Writes bytes as the largest unit that keeps one decimal ("512 B", "14.2 MiB") into text; returns text. */
const char *size_text(char text[SIZE_TEXT_BYTES], uint64_t bytes);

/*
 * Parses a whole word as an unsigned number: decimal, or hex after 0x, with an optional K, M or
 * G suffix (powers of 1024) when suffixes is true. Returns true and sets *value, or false for
 * anything else (empty, junk, overflow); *value is then untouched.
 */
bool parse_number(const char *word, bool suffixes, uint64_t *value);

/* Picture characters: one per cell of pages. */
#define PICTURE_FREE '.'      /* every managed page free */
#define PICTURE_USED '#'      /* every managed page allocated */
#define PICTURE_MIXED ':'     /* some of each */
#define PICTURE_UNMANAGED ' ' /* no page of the cell belongs to the allocator */
#define PICTURE_HEAP 'h'      /* pages held by the program break */

/*
 * The character for the pages [start, start + cell_bytes) of buddy's memory, from a census
 * (census.h); cells inside [heap_start, heap_end) that hold allocated pages show
 * PICTURE_HEAP. Any hart.
 */
char picture_cell(struct buddy *buddy, uintptr_t start, uintptr_t cell_bytes, uintptr_t heap_start, uintptr_t heap_end);

#endif
