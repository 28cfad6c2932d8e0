/*
 * kernel/proc/elf.c - the ELF loader's core (see elf.h): checks, in order, the file header, each
 * program header, then the segments together and the entry point.
 *
 * Every field is read byte by byte, little-endian, as a 64-bit value whatever the class, after
 * checking that it lies inside the file: the image may sit at any alignment, and no sum of two
 * fields is formed before both are known to be small enough not to wrap.
 */
#include "kernel/proc/elf.h"

#include <stdbool.h>

#include "kernel/base/errors.h"
#include "kernel/base/layout.h"
#include "kernel/base/string.h"

/* The ELF specification's numbers (System V ABI, and the RISC-V ELF psABI for e_flags). */
#define ELF_IDENT_BYTES 16
#define ELF_IDENT_CLASS 4
#define ELF_IDENT_DATA 5
#define ELF_IDENT_VERSION 6
#define ELF_DATA_LITTLE_ENDIAN 1
#define ELF_VERSION_CURRENT 1
#define ELF_TYPE_EXECUTABLE 2
#define ELF_MACHINE_RISCV 243
#define ELF_FLAGS_RISCV_FLOAT_ABI 0x6u
#define ELF_FLAGS_RISCV_RVE 0x8u
#define ELF_PROGRAM_LOAD 1
#define ELF_PROGRAM_DYNAMIC 2
#define ELF_PROGRAM_INTERPRETER 3
#define ELF_PROGRAM_TLS 7

/* Where the class's header fields are, and its sizes. */
struct elf_layout {
    unsigned header_bytes;         /* e_ehsize */
    unsigned program_header_bytes; /* e_phentsize */
    unsigned word_bytes;           /* Elf_Addr, Elf_Off: 4 or 8 */
    unsigned entry, program_header_offset, flags, header_size, program_header_size, program_header_count;
    /* In a program header. */
    unsigned segment_flags, segment_offset, segment_address, segment_file_bytes, segment_memory_bytes, segment_align;
};

static const struct elf_layout layout_32 = {
    .header_bytes = 52,
    .program_header_bytes = 32,
    .word_bytes = 4,
    .entry = 24,
    .program_header_offset = 28,
    .flags = 36,
    .header_size = 40,
    .program_header_size = 42,
    .program_header_count = 44,
    .segment_flags = 24,
    .segment_offset = 4,
    .segment_address = 8,
    .segment_file_bytes = 16,
    .segment_memory_bytes = 20,
    .segment_align = 28,
};

static const struct elf_layout layout_64 = {
    .header_bytes = 64,
    .program_header_bytes = 56,
    .word_bytes = 8,
    .entry = 24,
    .program_header_offset = 32,
    .flags = 48,
    .header_size = 52,
    .program_header_size = 54,
    .program_header_count = 56,
    .segment_flags = 4,
    .segment_offset = 8,
    .segment_address = 16,
    .segment_file_bytes = 32,
    .segment_memory_bytes = 40,
    .segment_align = 48,
};

/* A little-endian field of bytes bytes (1..8) at bytes; the caller has checked it is inside the file. */
static uint64_t read_field(const uint8_t *bytes, unsigned count)
{
    uint64_t value = 0;
    for (unsigned i = count; i > 0; i--)
        value = (value << 8) | bytes[i - 1];
    return value;
}

/* A PT_LOAD header's fields, widened to 64 bits. */
struct elf_program_header {
    uint64_t type, flags, offset, address, file_bytes, memory_bytes, align;
};

static void read_program_header(const uint8_t *header, const struct elf_layout *layout, struct elf_program_header *out)
{
    unsigned word = layout->word_bytes;
    out->type = read_field(header, 4);
    out->flags = read_field(header + layout->segment_flags, 4);
    out->offset = read_field(header + layout->segment_offset, word);
    out->address = read_field(header + layout->segment_address, word);
    out->file_bytes = read_field(header + layout->segment_file_bytes, word);
    out->memory_bytes = read_field(header + layout->segment_memory_bytes, word);
    out->align = read_field(header + layout->segment_align, word);
}

static int refuse(struct elf_image *out, enum elf_problem problem, int header)
{
    out->problem = problem;
    out->problem_header = header;
    out->segment_count = 0;
    return -E_NOEXEC;
}

#define PAGE_MASK_64 ((uint64_t)PAGE_SIZE - 1)

/*
 * Checks one PT_LOAD header on its own; ELF_OK with *segment filled, or the problem. Empty
 * segments (no memory bytes) are ELF_OK with segment->memory_bytes 0: the caller skips them.
 */
static enum elf_problem check_segment(const struct elf_program_header *header, size_t size,
                                      const struct elf_target *target, const struct elf_layout *layout,
                                      struct elf_segment *segment)
{
    if (header->file_bytes > header->memory_bytes)
        return ELF_SEGMENT_FILE_TOO_LARGE;
    if (header->memory_bytes == 0) {
        segment->memory_bytes = 0;
        return ELF_OK;
    }
    if (header->offset > size || header->file_bytes > size - header->offset)
        return ELF_SEGMENT_PAST_END;
    uint64_t align = header->align;
    if ((header->address & PAGE_MASK_64) != 0 || (align & (align - 1)) != 0 ||
        (align > 1 && ((header->address ^ header->offset) & (align - 1)) != 0))
        return ELF_SEGMENT_MISALIGNED;
    /* The mapping covers whole pages: [address, end rounded up to a page) must not wrap, in the
       class's address space (ELF32's fields are 32-bit: no 64-bit sum of them can wrap). */
    if (header->memory_bytes > UINT64_MAX - PAGE_MASK_64 - header->address)
        return ELF_SEGMENT_WRAPS;
    uint64_t end = (header->address + header->memory_bytes + PAGE_MASK_64) & ~PAGE_MASK_64;
    if (layout->word_bytes == 4 && end > ((uint64_t)1 << 32))
        return ELF_SEGMENT_WRAPS;
    if (header->address < target->window_start || end > target->window_end)
        return ELF_SEGMENT_OUTSIDE_WINDOW;
    unsigned permissions = (unsigned)header->flags & (ELF_SEGMENT_READ | ELF_SEGMENT_WRITE | ELF_SEGMENT_EXECUTE);
    if ((permissions & ELF_SEGMENT_WRITE) && (permissions & ELF_SEGMENT_EXECUTE))
        return ELF_SEGMENT_WRITE_EXECUTE;
    if (permissions == 0 || permissions == ELF_SEGMENT_WRITE)
        return ELF_SEGMENT_BAD_PERMISSIONS;
    /* Inside the window and the file, so every value fits the build's words. */
    segment->address = (uintptr_t)header->address;
    segment->memory_bytes = (size_t)header->memory_bytes;
    segment->file_offset = (size_t)header->offset;
    segment->file_bytes = (size_t)header->file_bytes;
    segment->permissions = permissions;
    return ELF_OK;
}

/* The file header's checks; ELF_OK with *layout set, or the problem. */
static enum elf_problem check_file_header(const uint8_t *bytes, size_t size, const struct elf_target *target,
                                          const struct elf_layout **layout)
{
    static const uint8_t magic[4] = {0x7f, 'E', 'L', 'F'};
    if (size < sizeof magic)
        return ELF_TRUNCATED;
    if (memcmp(bytes, magic, sizeof magic) != 0)
        return ELF_NOT_ELF;
    if (size < ELF_IDENT_BYTES)
        return ELF_TRUNCATED;
    if (bytes[ELF_IDENT_CLASS] != target->elf_class)
        return ELF_WRONG_CLASS;
    if (bytes[ELF_IDENT_DATA] != ELF_DATA_LITTLE_ENDIAN)
        return ELF_WRONG_ENCODING;
    if (bytes[ELF_IDENT_VERSION] != ELF_VERSION_CURRENT)
        return ELF_WRONG_VERSION;
    const struct elf_layout *chosen = target->elf_class == ELF_CLASS_64 ? &layout_64 : &layout_32;
    if (size < chosen->header_bytes)
        return ELF_TRUNCATED;
    if (read_field(bytes + 16, 2) != ELF_TYPE_EXECUTABLE)
        return ELF_WRONG_TYPE;
    if (read_field(bytes + 18, 2) != ELF_MACHINE_RISCV)
        return ELF_WRONG_MACHINE;
    if (read_field(bytes + 20, 4) != ELF_VERSION_CURRENT)
        return ELF_WRONG_VERSION;
    uint64_t flags = read_field(bytes + chosen->flags, 4);
    if ((flags & ELF_FLAGS_RISCV_FLOAT_ABI) != 0 || (flags & ELF_FLAGS_RISCV_RVE) != 0)
        return ELF_WRONG_ABI;
    if (read_field(bytes + chosen->header_size, 2) != chosen->header_bytes ||
        read_field(bytes + chosen->program_header_size, 2) != chosen->program_header_bytes)
        return ELF_BAD_HEADER_SIZE;
    uint64_t count = read_field(bytes + chosen->program_header_count, 2);
    uint64_t offset = read_field(bytes + chosen->program_header_offset, chosen->word_bytes);
    if (count == 0 || count > ELF_PROGRAM_HEADERS_MAX || offset > size ||
        count * chosen->program_header_bytes > size - offset)
        return ELF_BAD_PROGRAM_HEADERS;
    *layout = chosen;
    return ELF_OK;
}

/* Inserts segment into out's list, kept in address order; header_of[i] is segment i's program header. */
static void insert_segment(struct elf_image *out, int header_of[], const struct elf_segment *segment, int header)
{
    unsigned at = out->segment_count;
    while (at > 0 && out->segments[at - 1].address > segment->address) {
        out->segments[at] = out->segments[at - 1];
        header_of[at] = header_of[at - 1];
        at--;
    }
    out->segments[at] = *segment;
    header_of[at] = header;
    out->segment_count++;
}

static uintptr_t page_end(const struct elf_segment *segment)
{
    return (segment->address + segment->memory_bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

int elf_load(const void *image, size_t size, const struct elf_target *target, struct elf_image *out)
{
    memset(out, 0, sizeof *out);
    out->problem_header = -1;
    if (!target || (target->elf_class != ELF_CLASS_32 && target->elf_class != ELF_CLASS_64) ||
        target->window_start >= target->window_end || (target->window_start & (PAGE_SIZE - 1)) != 0 ||
        (target->window_end & (PAGE_SIZE - 1)) != 0 || (!image && size != 0)) {
        out->problem = ELF_PROBLEM_COUNT;
        return -E_INVAL;
    }
    const uint8_t *bytes = image;
    const struct elf_layout *layout = NULL;
    enum elf_problem problem = check_file_header(bytes, size, target, &layout);
    if (problem != ELF_OK)
        return refuse(out, problem, -1);

    unsigned count = (unsigned)read_field(bytes + layout->program_header_count, 2);
    size_t table = (size_t)read_field(bytes + layout->program_header_offset, layout->word_bytes);
    int header_of[ELF_SEGMENTS_MAX];
    for (unsigned index = 0; index < count; index++) {
        struct elf_program_header header;
        read_program_header(bytes + table + index * layout->program_header_bytes, layout, &header);
        if (header.type == ELF_PROGRAM_INTERPRETER || header.type == ELF_PROGRAM_DYNAMIC)
            return refuse(out, ELF_NEEDS_DYNAMIC_LINKING, (int)index);
        if (header.type == ELF_PROGRAM_TLS)
            return refuse(out, ELF_NEEDS_TLS, (int)index);
        if (header.type != ELF_PROGRAM_LOAD)
            continue;
        struct elf_segment segment;
        problem = check_segment(&header, size, target, layout, &segment);
        if (problem != ELF_OK)
            return refuse(out, problem, (int)index);
        if (segment.memory_bytes == 0)
            continue;
        if (out->segment_count == ELF_SEGMENTS_MAX)
            return refuse(out, ELF_TOO_MANY_SEGMENTS, (int)index);
        insert_segment(out, header_of, &segment, (int)index);
    }
    if (out->segment_count == 0)
        return refuse(out, ELF_NO_SEGMENTS, -1);
    for (unsigned i = 1; i < out->segment_count; i++) {
        if (page_end(&out->segments[i - 1]) > out->segments[i].address) {
            int later = header_of[i] > header_of[i - 1] ? header_of[i] : header_of[i - 1];
            return refuse(out, ELF_SEGMENTS_OVERLAP, later);
        }
    }

    uint64_t entry = read_field(bytes + layout->entry, layout->word_bytes);
    bool entry_runs = false;
    for (unsigned i = 0; i < out->segment_count; i++) {
        const struct elf_segment *segment = &out->segments[i];
        if ((segment->permissions & ELF_SEGMENT_EXECUTE) && entry >= segment->address &&
            entry - segment->address < segment->memory_bytes)
            entry_runs = true;
    }
    if (!entry_runs || (entry & 1) != 0)
        return refuse(out, ELF_BAD_ENTRY, -1);
    out->entry = (uintptr_t)entry;
    out->end = page_end(&out->segments[out->segment_count - 1]);
    out->problem = ELF_OK;
    return 0;
}

const char *elf_problem_text(enum elf_problem problem)
{
    switch (problem) {
    case ELF_OK: return "a program this build can run";
    case ELF_TRUNCATED: return "the file ends inside its ELF header";
    case ELF_NOT_ELF: return "not an ELF file (no \\177ELF magic)";
    case ELF_WRONG_CLASS: return "the wrong ELF class for this build (ELF64 on rv64, ELF32 on rv32)";
    case ELF_WRONG_ENCODING: return "not little-endian";
    case ELF_WRONG_VERSION: return "an ELF version other than 1";
    case ELF_WRONG_TYPE: return "not an executable linked at a fixed address (ET_EXEC)";
    case ELF_WRONG_MACHINE: return "not a RISC-V program";
    case ELF_WRONG_ABI: return "a floating-point or RVE ABI this build does not run";
    case ELF_BAD_HEADER_SIZE: return "an ELF or program header size that is not the class's";
    case ELF_BAD_PROGRAM_HEADERS: return "no program headers, too many, or a table outside the file";
    case ELF_NEEDS_DYNAMIC_LINKING: return "a dynamically linked program (PT_INTERP or PT_DYNAMIC)";
    case ELF_NEEDS_TLS: return "thread-local storage (PT_TLS), which user programs do not have";
    case ELF_TOO_MANY_SEGMENTS: return "more loadable segments than the loader takes";
    case ELF_NO_SEGMENTS: return "nothing to load";
    case ELF_SEGMENT_FILE_TOO_LARGE: return "a segment with more file bytes than memory bytes";
    case ELF_SEGMENT_PAST_END: return "a segment whose bytes run past the end of the file";
    case ELF_SEGMENT_MISALIGNED: return "a segment not on a page boundary, or with a bad alignment";
    case ELF_SEGMENT_WRAPS: return "a segment that wraps around the address space";
    case ELF_SEGMENT_OUTSIDE_WINDOW: return "a segment outside the user window";
    case ELF_SEGMENT_WRITE_EXECUTE: return "a segment is writable and executable (W^X)";
    case ELF_SEGMENT_BAD_PERMISSIONS: return "a segment with no permission, or writable but not readable";
    case ELF_SEGMENTS_OVERLAP: return "two segments share a page";
    case ELF_BAD_ENTRY: return "an entry point outside the executable segments, or odd";
    case ELF_PROBLEM_COUNT: break;
    }
    return "a malformed loader target";
}
