/*
 * tests/fuzz/fuzz_elf.c - libFuzzer target for the ELF loader's core (kernel/proc/elf.c).
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -DRVMEM_HOST -DRVMEM_CHECKED=1 -I. (make fuzz;
 * its corpus starts with the embedded user programs).
 *
 * Two kinds of input. An input that starts like an ELF file (0x7f) is the file itself, so real
 * programs seed the corpus as they are. Any other first byte picks a valid file of one class
 * built here (text, rodata, data, bss and a note; ELF64 when the byte is odd) and the rest of the
 * input is applied to it as patches (offset, width, value) and cuts, so the fuzzer reaches the
 * checks deep in the program headers at once, corpus or not. Each file is loaded from a buffer
 * of exactly its size (ASan reports any read past it), at an odd address too, against both
 * classes' targets. A refusal must name a problem and return -E_NOEXEC; a load must give what
 * elf.h promises, checked here against the file's bytes read independently: magic, class,
 * machine, segments in the window, page aligned, sorted, on pages of their own, W^X, file bytes
 * inside the file, the entry in an executable segment. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/base/errors.h"
#include "kernel/base/layout.h"
#include "kernel/proc/elf.h"

#define CHECK(condition)                                                                                               \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            fprintf(stderr, "fuzz_elf: %s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);                    \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

#define WINDOW_START ((uintptr_t)0x40000000)
#define WINDOW_END ((uintptr_t)0x80000000)
#define TEMPLATE_BYTES 1024u

struct layout {
    unsigned elf_class, word, header_bytes, program_header_bytes;
    unsigned entry, program_header_offset, flags, header_size, program_header_size, program_header_count;
    unsigned type, segment_flags, offset, address, file_bytes, memory_bytes, align;
};
static const struct layout layout_32 = {ELF_CLASS_32, 4, 52, 32, 24, 28, 36, 40, 42, 44, 0, 24, 4, 8, 16, 20, 28};
static const struct layout layout_64 = {ELF_CLASS_64, 8, 64, 56, 24, 32, 48, 52, 54, 56, 0, 4, 8, 16, 32, 40, 48};

static uint64_t get(const uint8_t *bytes, size_t offset, unsigned width)
{
    uint64_t value = 0;
    for (unsigned i = width; i > 0; i--)
        value = (value << 8) | bytes[offset + i - 1];
    return value;
}

static void put(uint8_t *bytes, size_t offset, unsigned width, uint64_t value)
{
    for (unsigned i = 0; i < width; i++)
        bytes[offset + i] = (uint8_t)(value >> (8 * i));
}

static void put_segment(uint8_t *header, const struct layout *layout, unsigned type, unsigned flags, uint64_t offset,
                        uint64_t address, uint64_t file_bytes, uint64_t memory_bytes)
{
    put(header, layout->type, 4, type);
    put(header, layout->segment_flags, 4, flags);
    put(header, layout->offset, layout->word, offset);
    put(header, layout->address, layout->word, address);
    put(header, layout->file_bytes, layout->word, file_bytes);
    put(header, layout->memory_bytes, layout->word, memory_bytes);
    put(header, layout->align, layout->word, 16);
}

/* A valid program of layout's class in TEMPLATE_BYTES bytes: five program headers, four loaded. */
static void build_template(uint8_t *bytes, const struct layout *layout)
{
    memset(bytes, 0, TEMPLATE_BYTES);
    memcpy(bytes, "\177ELF", 4);
    bytes[4] = (uint8_t)layout->elf_class;
    bytes[5] = 1;
    bytes[6] = 1;
    put(bytes, 16, 2, 2);
    put(bytes, 18, 2, 243);
    put(bytes, 20, 4, 1);
    put(bytes, layout->entry, layout->word, WINDOW_START + 8);
    put(bytes, layout->program_header_offset, layout->word, layout->header_bytes);
    put(bytes, layout->flags, 4, 1);
    put(bytes, layout->header_size, 2, layout->header_bytes);
    put(bytes, layout->program_header_size, 2, layout->program_header_bytes);
    put(bytes, layout->program_header_count, 2, 5);
    uint8_t *headers = bytes + layout->header_bytes;
    unsigned step = layout->program_header_bytes;
    put_segment(headers, layout, 1, 5, 512, WINDOW_START, 128, 128);
    put_segment(headers + step, layout, 1, 4, 640, WINDOW_START + 0x1000, 64, 64);
    put_segment(headers + 2 * step, layout, 4, 4, 704, 0, 32, 32);
    put_segment(headers + 3 * step, layout, 1, 6, 768, WINDOW_START + 0x2000, 16, 48);
    put_segment(headers + 4 * step, layout, 1, 6, 0, WINDOW_START + 0x3000, 0, 0x2000);
    for (unsigned i = 512; i < TEMPLATE_BYTES; i++)
        bytes[i] = (uint8_t)(i * 7);
}

static uintptr_t page_end(const struct elf_segment *segment)
{
    return (segment->address + segment->memory_bytes + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
}

static void check_result(const uint8_t *bytes, size_t size, const struct elf_target *target, int result,
                         const struct elf_image *image)
{
    if (result != 0) {
        CHECK(result == -E_NOEXEC);
        CHECK(image->problem > ELF_OK && image->problem < ELF_PROBLEM_COUNT);
        CHECK(image->segment_count == 0);
        CHECK(elf_problem_text(image->problem) != NULL);
        return;
    }
    CHECK(image->problem == ELF_OK && image->problem_header == -1);
    const struct layout *layout = target->elf_class == ELF_CLASS_64 ? &layout_64 : &layout_32;
    CHECK(size >= layout->header_bytes);
    CHECK(memcmp(bytes, "\177ELF", 4) == 0 && bytes[4] == target->elf_class && bytes[5] == 1);
    CHECK(get(bytes, 16, 2) == 2 && get(bytes, 18, 2) == 243);
    CHECK(get(bytes, layout->entry, layout->word) == image->entry);
    CHECK(image->segment_count >= 1 && image->segment_count <= ELF_SEGMENTS_MAX);
    int entry_found = 0;
    for (unsigned i = 0; i < image->segment_count; i++) {
        const struct elf_segment *segment = &image->segments[i];
        CHECK(segment->address % PAGE_SIZE == 0);
        CHECK(segment->memory_bytes > 0 && segment->file_bytes <= segment->memory_bytes);
        CHECK(segment->file_offset <= size && segment->file_bytes <= size - segment->file_offset);
        CHECK(segment->address >= target->window_start && page_end(segment) <= target->window_end);
        CHECK(page_end(segment) > segment->address);
        unsigned permissions = segment->permissions;
        CHECK(permissions != 0 && (permissions & ~7u) == 0);
        CHECK(!((permissions & ELF_SEGMENT_WRITE) && (permissions & ELF_SEGMENT_EXECUTE)));
        CHECK(permissions != ELF_SEGMENT_WRITE);
        if (i > 0)
            CHECK(page_end(&image->segments[i - 1]) <= segment->address);
        if ((permissions & ELF_SEGMENT_EXECUTE) && image->entry >= segment->address &&
            image->entry - segment->address < segment->memory_bytes)
            entry_found = 1;
    }
    CHECK(entry_found && image->entry % 2 == 0);
    CHECK(image->end == page_end(&image->segments[image->segment_count - 1]));
}

/* Loads the file from a buffer of exactly its size, and from an odd address, against each target. */
static void fuzz_file(const uint8_t *data, size_t size)
{
    static const struct elf_target targets[] = {
        {ELF_CLASS_32, WINDOW_START, WINDOW_END},
        {ELF_CLASS_64, WINDOW_START, WINDOW_END},
        {ELF_CLASS_64, WINDOW_START + 0x1000, WINDOW_START + 0x3000},
    };
    uint8_t *exact = malloc(size ? size : 1);
    uint8_t *odd = malloc(size + 1);
    CHECK(exact && odd);
    memcpy(exact, data, size);
    memcpy(odd + 1, data, size);
    for (unsigned i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        struct elf_image image, again;
        int result = elf_load(exact, size, &targets[i], &image);
        check_result(exact, size, &targets[i], result, &image);
        CHECK(elf_load(odd + 1, size, &targets[i], &again) == result);
        CHECK(again.problem == image.problem && again.problem_header == image.problem_header);
    }
    free(exact);
    free(odd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] == 0x7f) {
        fuzz_file(data, size);
        return 0;
    }
    static uint8_t file[TEMPLATE_BYTES];
    build_template(file, (data[0] & 1) ? &layout_64 : &layout_32);
    size_t file_size = TEMPLATE_BYTES;
    size_t at = 1;
    /* Patches of 3 + width bytes: offset (2 bytes), width selector, value; a width selector of 255 cuts. */
    while (at + 3 <= size) {
        size_t offset = (size_t)get(data, at, 2) % TEMPLATE_BYTES;
        unsigned selector = data[at + 2];
        at += 3;
        if (selector == 255) {
            file_size = offset;
            continue;
        }
        static const unsigned widths[] = {1, 2, 4, 8};
        unsigned width = widths[selector % 4];
        if (at + width > size || offset + width > TEMPLATE_BYTES)
            break;
        put(file, offset, width, get(data, at, width));
        at += width;
    }
    fuzz_file(file, file_size);
    return 0;
}
