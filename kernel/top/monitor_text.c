/*
 * kernel/top/monitor_text.c - byte counts, typed numbers and picture cells (see monitor_text.h).
 */
#include "kernel/top/monitor_text.h"

#include "kernel/top/census.h"
#include "kernel/base/printf.h"

const char *size_text(char text[SIZE_TEXT_BYTES], uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned unit = 0;
    uint64_t scaled_tenths = bytes * 10;
    while (bytes >= 1024 && unit + 1 < sizeof units / sizeof units[0]) {
        scaled_tenths = bytes * 10 / 1024;
        bytes /= 1024;
        unit++;
    }
    if (unit == 0)
        ksnprintf(text, SIZE_TEXT_BYTES, "%llu B", (unsigned long long)bytes);
    else
        ksnprintf(text, SIZE_TEXT_BYTES, "%llu.%llu %s", (unsigned long long)(scaled_tenths / 10),
                  (unsigned long long)(scaled_tenths % 10), units[unit]);
    return text;
}

bool parse_number(const char *word, bool suffixes, uint64_t *value)
{
    unsigned base = 10;
    if (word[0] == '0' && (word[1] == 'x' || word[1] == 'X')) {
        base = 16;
        word += 2;
    }
    uint64_t number = 0;
    const char *p = word;
    for (;; p++) {
        unsigned digit;
        if (*p >= '0' && *p <= '9')
            digit = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            digit = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            digit = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (number > (UINT64_MAX - digit) / base)
            return false;
        number = number * base + digit;
    }
    if (p == word)
        return false;
    unsigned shift = 0;
    if (suffixes && (*p == 'K' || *p == 'k'))
        shift = 10;
    else if (suffixes && (*p == 'M' || *p == 'm'))
        shift = 20;
    else if (suffixes && (*p == 'G' || *p == 'g'))
        shift = 30;
    if (shift)
        p++;
    if (*p != '\0' || (shift && number > (UINT64_MAX >> shift)))
        return false;
    *value = number << shift;
    return true;
}

char picture_cell(struct buddy *buddy, uintptr_t start, uintptr_t cell_bytes, uintptr_t heap_start, uintptr_t heap_end)
{
    struct page_census census;
    page_census_range(buddy, start, start + cell_bytes, &census);
    if (census.free_pages == 0 && census.allocated_pages == 0)
        return PICTURE_UNMANAGED;
    if (census.allocated_pages && start < heap_end && start + cell_bytes > heap_start)
        return PICTURE_HEAP;
    if (census.allocated_pages == 0)
        return PICTURE_FREE;
    return census.free_pages == 0 ? PICTURE_USED : PICTURE_MIXED;
}
