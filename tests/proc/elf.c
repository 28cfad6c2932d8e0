/*
 * tests/proc/elf.c - tests of the ELF loader's core (kernel/proc/elf.c).
 *
 * The files are the real user programs (kernel/proc/programs.h: hello, as the build made it),
 * loaded whole, then copies corrupted one field at a time: each refusal is checked for its exact
 * problem and program header, so a check that stopped working shows up as another problem or a
 * load. Every truncation of the headers too. A copy always ends at the very end of its arena, so
 * on the host (ASan) a read past the file is a reported heap-buffer-overflow. The other ELF class
 * (ELF32 on rv64, ELF64 on rv32) is covered by a small file built here.
 */
#include "kernel/base/errors.h"
#include "kernel/base/layout.h"
#include "kernel/base/string.h"
#include "kernel/base/user_abi.h"
#include "kernel/proc/elf.h"
#include "kernel/proc/programs.h"
#include "tests/harness/ktest.h"
#include "tests/harness/ktest_arena.h"

/* ---- Helpers ----------------------------------------------------------------------- */

#define ARENA_BYTES (128u * 1024)
static struct ktest_arena space = KTEST_ARENA(ARENA_BYTES, 16);

/* Where the fields of each class are (the ELF specification's offsets). */
struct layout {
    unsigned elf_class, word, header_bytes, program_header_bytes;
    unsigned entry, program_header_offset, flags, header_size, program_header_size, program_header_count;
    unsigned type, segment_flags, offset, address, file_bytes, memory_bytes, align;
};
static const struct layout layout_32 = {ELF_CLASS_32, 4, 52, 32, 24, 28, 36, 40, 42, 44, 0, 24, 4, 8, 16, 20, 28};
static const struct layout layout_64 = {ELF_CLASS_64, 8, 64, 56, 24, 32, 48, 52, 54, 56, 0, 4, 8, 16, 32, 40, 48};
#define NATIVE (ELF_CLASS_NATIVE == ELF_CLASS_64 ? &layout_64 : &layout_32)
#define OTHER (ELF_CLASS_NATIVE == ELF_CLASS_64 ? &layout_32 : &layout_64)

enum { PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4, PT_TLS = 7 };

static uint64_t get(const uint8_t *bytes, unsigned offset, unsigned width)
{
    uint64_t value = 0;
    for (unsigned i = width; i > 0; i--)
        value = (value << 8) | bytes[offset + i - 1];
    return value;
}

static void put(uint8_t *bytes, unsigned offset, unsigned width, uint64_t value)
{
    for (unsigned i = 0; i < width; i++)
        bytes[offset + i] = (uint8_t)(value >> (8 * i));
}

static struct elf_target native_target(void)
{
    return elf_target_native(USER_WINDOW_START, USER_WINDOW_END);
}

/* The first size bytes of program, copied so that they end where the arena ends; NULL if no arena. */
static uint8_t *copy_at_end(const struct user_program *program, size_t size)
{
    uint8_t *arena = ktest_arena_memory(&space);
    if (!arena || size > ARENA_BYTES)
        return NULL;
    uint8_t *copy = arena + ARENA_BYTES - size;
    memmove(copy, program->bytes, size < program->size ? size : program->size);
    if (size > program->size)
        memset(copy + program->size, 0, size - program->size);
    return copy;
}

/* Program header index of the file at bytes. */
static uint8_t *program_header(uint8_t *bytes, unsigned index)
{
    return bytes + get(bytes, NATIVE->program_header_offset, NATIVE->word) + index * NATIVE->program_header_bytes;
}

/* The index of the first PT_LOAD header with exactly these flags, or -1. */
static int load_header_with_flags(uint8_t *bytes, unsigned flags)
{
    unsigned count = (unsigned)get(bytes, NATIVE->program_header_count, 2);
    for (unsigned i = 0; i < count; i++) {
        uint8_t *header = program_header(bytes, i);
        if (get(header, NATIVE->type, 4) == PT_LOAD && get(header, NATIVE->segment_flags, 4) == flags)
            return (int)i;
    }
    return -1;
}

/* Fails the test (and goes on) unless the file is refused for problem at program header header. */
static void check_refused(const uint8_t *bytes, size_t size, enum elf_problem problem, int header, const char *what)
{
    struct elf_target target = native_target();
    struct elf_image image;
    int result = elf_load(bytes, size, &target, &image);
    if (result != -E_NOEXEC || image.problem != problem || image.problem_header != header)
        ktest_fail(__FILE__, __LINE__, "%s: expected \"%s\" at header %d, got %d: \"%s\" at header %d", what,
                   elf_problem_text(problem), header, result, elf_problem_text(image.problem), image.problem_header);
}

/* Fails the test unless the file loads. */
static void check_loads(const uint8_t *bytes, size_t size, struct elf_image *image, const char *what)
{
    struct elf_target target = native_target();
    int result = elf_load(bytes, size, &target, image);
    if (result != 0)
        ktest_fail(__FILE__, __LINE__, "%s: expected a load, got %d: \"%s\" at header %d", what, result,
                   elf_problem_text(image->problem), image->problem_header);
}

static const struct user_program *hello(void)
{
    return user_program_find("hello");
}

/* ---- The real file ----------------------------------------------------------------- */

KTEST(elf, hello_loads_as_linked)
{
    const struct user_program *program = hello();
    KASSERT_NOT_NULL(program);
    struct elf_target target = native_target();
    struct elf_image image;
    KASSERT_EQ(elf_load(program->bytes, program->size, &target, &image), 0);
    KASSERT_EQ(image.problem, ELF_OK);
    KASSERT_EQ(image.entry, USER_WINDOW_START); /* _start, the first byte of text */
    KASSERT_GE(image.segment_count, 3u);
    const struct elf_segment *text = &image.segments[0];
    KASSERT_EQ(text->address, USER_WINDOW_START);
    KASSERT_EQ(text->permissions, ELF_SEGMENT_READ | ELF_SEGMENT_EXECUTE);
    KASSERT_EQ(text->file_bytes, text->memory_bytes);
    KASSERT_EQ(image.segments[1].permissions, ELF_SEGMENT_READ); /* rodata */
    const struct elf_segment *bss = &image.segments[image.segment_count - 1];
    KASSERT_EQ(bss->permissions, ELF_SEGMENT_READ | ELF_SEGMENT_WRITE);
    KASSERT_EQ(bss->file_bytes, 0u);
    for (unsigned i = 0; i < image.segment_count; i++) {
        const struct elf_segment *segment = &image.segments[i];
        KASSERT_EQ(segment->address % PAGE_SIZE, 0u);
        KASSERT(segment->file_offset + segment->file_bytes <= program->size);
        KASSERT(i == 0 || segment->address >= image.segments[i - 1].address + image.segments[i - 1].memory_bytes);
    }
    KASSERT_EQ(image.end, (bss->address + bss->memory_bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1));
    /* The file bytes are the program's: text starts with crt0's first instruction (auipc gp). */
    KASSERT_EQ(program->bytes[text->file_offset] & 0x7f, 0x17);
}

KTEST(elf, every_truncation_of_the_headers_is_refused)
{
    const struct user_program *program = hello();
    KASSERT_NOT_NULL(program);
    uint8_t *full = copy_at_end(program, program->size);
    KASSERT_NOT_NULL(full);
    size_t table_end = (size_t)get(full, NATIVE->program_header_offset, NATIVE->word) +
                       get(full, NATIVE->program_header_count, 2) * NATIVE->program_header_bytes;
    for (size_t size = 0; size < table_end; size++) {
        uint8_t *copy = copy_at_end(program, size);
        enum elf_problem problem = size < NATIVE->header_bytes ? ELF_TRUNCATED : ELF_BAD_PROGRAM_HEADERS;
        check_refused(copy, size, problem, -1, "a file cut inside its headers");
        if (ktest_failed()) {
            ktest_note("cut at %lu bytes", (unsigned long)size);
            return;
        }
    }
}

KTEST(elf, a_file_cut_inside_a_segment_is_refused)
{
    const struct user_program *program = hello();
    KASSERT_NOT_NULL(program);
    struct elf_target target = native_target();
    struct elf_image image;
    KASSERT_EQ(elf_load(program->bytes, program->size, &target, &image), 0);
    size_t last_byte = 0; /* one past the last file byte any segment needs */
    for (unsigned i = 0; i < image.segment_count; i++)
        if (image.segments[i].file_offset + image.segments[i].file_bytes > last_byte)
            last_byte = image.segments[i].file_offset + image.segments[i].file_bytes;
    /* Each segment's file bytes lie above the previous one's, so a cut inside one is found at its header. */
    uint8_t *clean = copy_at_end(program, program->size);
    KASSERT_NOT_NULL(clean);
    unsigned count = (unsigned)get(clean, NATIVE->program_header_count, 2);
    unsigned cuts = 0;
    for (unsigned i = 0; i < count; i++) {
        clean = copy_at_end(program, program->size);
        const uint8_t *header = program_header(clean, i);
        uint64_t file_bytes = get(header, NATIVE->file_bytes, NATIVE->word);
        if (get(header, NATIVE->type, 4) != PT_LOAD || file_bytes == 0)
            continue;
        size_t cut = (size_t)(get(header, NATIVE->offset, NATIVE->word) + file_bytes - 1);
        check_refused(copy_at_end(program, cut), cut, ELF_SEGMENT_PAST_END, (int)i, "a file cut in a segment");
        cuts++;
    }
    KASSERT_GE(cuts, 2u); /* text and rodata at least */
    /* What follows the segments (section headers) is not needed: the file cut there still loads. */
    struct elf_image cut_image;
    check_loads(copy_at_end(program, last_byte), last_byte, &cut_image, "a file cut after its last segment");
}

KTEST(elf, each_header_field_is_checked)
{
    const struct user_program *program = hello();
    KASSERT_NOT_NULL(program);
    const struct layout *native = NATIVE;
    const struct layout *other = OTHER;
    uint8_t *clean = copy_at_end(program, program->size);
    KASSERT_NOT_NULL(clean);
    int text = load_header_with_flags(clean, ELF_SEGMENT_READ | ELF_SEGMENT_EXECUTE);
    int rodata = load_header_with_flags(clean, ELF_SEGMENT_READ);
    KASSERT(text >= 0 && rodata >= 0);
    uint64_t text_address = get(program_header(clean, (unsigned)text), native->address, native->word);
    uint64_t text_bytes = get(program_header(clean, (unsigned)text), native->memory_bytes, native->word);
    uint64_t rodata_address = get(program_header(clean, (unsigned)rodata), native->address, native->word);
    uint64_t word_max = native->word == 8 ? UINT64_MAX : 0xffffffffu;
    uint64_t flags = get(clean, native->flags, 4);
    const struct {
        const char *what;
        unsigned offset, width;
        uint64_t value;
        enum elf_problem problem;
    } cases[] = {
        {"magic byte 0", 0, 1, 0x7e, ELF_NOT_ELF},
        {"magic byte 3", 3, 1, 'f', ELF_NOT_ELF},
        {"the other class", 4, 1, other->elf_class, ELF_WRONG_CLASS},
        {"class 0", 4, 1, 0, ELF_WRONG_CLASS},
        {"class 3", 4, 1, 3, ELF_WRONG_CLASS},
        {"big-endian", 5, 1, 2, ELF_WRONG_ENCODING},
        {"encoding 0", 5, 1, 0, ELF_WRONG_ENCODING},
        {"e_ident version 0", 6, 1, 0, ELF_WRONG_VERSION},
        {"e_ident version 2", 6, 1, 2, ELF_WRONG_VERSION},
        {"ET_REL", 16, 2, 1, ELF_WRONG_TYPE},
        {"ET_DYN", 16, 2, 3, ELF_WRONG_TYPE},
        {"ET_CORE", 16, 2, 4, ELF_WRONG_TYPE},
        {"x86-64", 18, 2, 62, ELF_WRONG_MACHINE},
        {"no machine", 18, 2, 0, ELF_WRONG_MACHINE},
        {"e_version 0", 20, 4, 0, ELF_WRONG_VERSION},
        {"single-float ABI", native->flags, 4, flags | 0x2, ELF_WRONG_ABI},
        {"double-float ABI", native->flags, 4, flags | 0x4, ELF_WRONG_ABI},
        {"quad-float ABI", native->flags, 4, flags | 0x6, ELF_WRONG_ABI},
        {"RVE", native->flags, 4, flags | 0x8, ELF_WRONG_ABI},
        {"e_ehsize + 1", native->header_size, 2, native->header_bytes + 1, ELF_BAD_HEADER_SIZE},
        {"e_phentsize of the other class", native->program_header_size, 2, other->program_header_bytes,
         ELF_BAD_HEADER_SIZE},
        {"no program headers", native->program_header_count, 2, 0, ELF_BAD_PROGRAM_HEADERS},
        {"17 program headers", native->program_header_count, 2, ELF_PROGRAM_HEADERS_MAX + 1, ELF_BAD_PROGRAM_HEADERS},
        {"PN_XNUM program headers", native->program_header_count, 2, 0xffff, ELF_BAD_PROGRAM_HEADERS},
        {"e_phoff at the end", native->program_header_offset, native->word, program->size, ELF_BAD_PROGRAM_HEADERS},
        {"e_phoff: the table runs past the end", native->program_header_offset, native->word,
         program->size - native->program_header_bytes + 1, ELF_BAD_PROGRAM_HEADERS},
        {"e_phoff as large as it gets", native->program_header_offset, native->word, word_max, ELF_BAD_PROGRAM_HEADERS},
        {"entry in rodata", native->entry, native->word, rodata_address, ELF_BAD_ENTRY},
        {"entry odd", native->entry, native->word, text_address + 1, ELF_BAD_ENTRY},
        {"entry 0", native->entry, native->word, 0, ELF_BAD_ENTRY},
        {"entry just past the text", native->entry, native->word, text_address + text_bytes, ELF_BAD_ENTRY},
        {"entry in the kernel", native->entry, native->word, 0x80200000u, ELF_BAD_ENTRY},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *copy = copy_at_end(program, program->size);
        put(copy, cases[i].offset, cases[i].width, cases[i].value);
        check_refused(copy, program->size, cases[i].problem, -1, cases[i].what);
    }
    /* Still loads: the entry at the last even byte of text. */
    uint8_t *copy = copy_at_end(program, program->size);
    put(copy, native->entry, native->word, text_address + text_bytes - 2);
    struct elf_image image;
    check_loads(copy, program->size, &image, "entry at the end of text");
}

KTEST(elf, each_segment_field_is_checked)
{
    const struct user_program *program = hello();
    KASSERT_NOT_NULL(program);
    const struct layout *native = NATIVE;
    uint8_t *clean = copy_at_end(program, program->size);
    KASSERT_NOT_NULL(clean);
    int text = load_header_with_flags(clean, ELF_SEGMENT_READ | ELF_SEGMENT_EXECUTE);
    int rodata = load_header_with_flags(clean, ELF_SEGMENT_READ);
    KASSERT(text >= 0 && rodata >= 0);
    uint8_t *text_header = program_header(clean, (unsigned)text);
    uint64_t address = get(text_header, native->address, native->word);
    uint64_t offset = get(text_header, native->offset, native->word);
    uint64_t file_bytes = get(text_header, native->file_bytes, native->word);
    uint64_t word_max = native->word == 8 ? UINT64_MAX : 0xffffffffu;
    uint64_t memory_bytes = get(text_header, native->memory_bytes, native->word);
    uint64_t text_pages_bytes = (memory_bytes + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    /* Where text's pages end exactly at the top of the class's address space (2^64 wraps to 0). */
    uint64_t top_pages = (word_max - text_pages_bytes + 1) & word_max;
    uint64_t rodata_address = get(program_header(clean, (unsigned)rodata), native->address, native->word);
    const struct {
        const char *what;
        int header;
        unsigned field, width;
        uint64_t value;
        enum elf_problem problem;
    } cases[] = {
        {"file bytes above memory bytes", text, native->file_bytes, native->word, file_bytes + 1,
         ELF_SEGMENT_FILE_TOO_LARGE},
        {"file offset at the end", text, native->offset, native->word, program->size, ELF_SEGMENT_PAST_END},
        {"file offset as large as it gets", text, native->offset, native->word, word_max, ELF_SEGMENT_PAST_END},
        {"address 16 bytes into a page", text, native->address, native->word, address + 16, ELF_SEGMENT_MISALIGNED},
        {"alignment 3", text, native->align, native->word, 3, ELF_SEGMENT_MISALIGNED},
        {"alignment 4096 with an offset that is not", text, native->offset, native->word, offset + 8,
         ELF_SEGMENT_MISALIGNED},
        {"a page below the window", text, native->address, native->word, USER_WINDOW_START - PAGE_SIZE,
         ELF_SEGMENT_OUTSIDE_WINDOW},
        {"address 0", text, native->address, native->word, 0, ELF_SEGMENT_OUTSIDE_WINDOW},
        {"the first page past the window", text, native->address, native->word, USER_WINDOW_END,
         ELF_SEGMENT_OUTSIDE_WINDOW},
        /* ELF64: the last page rounds up past 2^64; ELF32: it ends at 2^32 exactly, above the window. */
        {"the top pages of the address space", text, native->address, native->word, top_pages,
         native->word == 8 ? ELF_SEGMENT_WRAPS : ELF_SEGMENT_OUTSIDE_WINDOW},
        {"memory bytes that wrap", text, native->memory_bytes, native->word, (word_max - address + 2) & word_max,
         ELF_SEGMENT_WRAPS},
        {"memory bytes past the window", text, native->memory_bytes, native->word, USER_WINDOW_END - address + 1,
         ELF_SEGMENT_OUTSIDE_WINDOW},
        {"text writable (R+W+X)", text, native->segment_flags, 4, 7, ELF_SEGMENT_WRITE_EXECUTE},
        {"write and execute (W+X)", text, native->segment_flags, 4, 3, ELF_SEGMENT_WRITE_EXECUTE},
        {"write only", rodata, native->segment_flags, 4, 2, ELF_SEGMENT_BAD_PERMISSIONS},
        {"no permission", rodata, native->segment_flags, 4, 0, ELF_SEGMENT_BAD_PERMISSIONS},
        {"rodata on text's page", rodata, native->address, native->word, address, ELF_SEGMENTS_OVERLAP},
        {"text into rodata's page", text, native->memory_bytes, native->word, rodata_address - address + 1,
         ELF_SEGMENTS_OVERLAP},
        {"PT_INTERP", rodata, native->type, 4, PT_INTERP, ELF_NEEDS_DYNAMIC_LINKING},
        {"PT_DYNAMIC", rodata, native->type, 4, PT_DYNAMIC, ELF_NEEDS_DYNAMIC_LINKING},
        {"PT_TLS", rodata, native->type, 4, PT_TLS, ELF_NEEDS_TLS},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *copy = copy_at_end(program, program->size);
        uint8_t *header = program_header(copy, (unsigned)cases[i].header);
        put(header, cases[i].field, cases[i].width, cases[i].value);
        if (cases[i].field == native->offset && cases[i].problem == ELF_SEGMENT_MISALIGNED)
            put(header, native->align, native->word, PAGE_SIZE); /* so the offset must be congruent */
        if (cases[i].problem == ELF_SEGMENT_FILE_TOO_LARGE || cases[i].field == native->address)
            put(header, native->align, native->word, 0); /* only the address's own alignment counts */
        if (cases[i].field == native->memory_bytes && cases[i].problem != ELF_SEGMENTS_OVERLAP)
            put(header, native->file_bytes, native->word, 0); /* no file bytes: only the mapping counts */
        int expected_header =
            cases[i].problem == ELF_SEGMENTS_OVERLAP ? (text > rodata ? text : rodata) : cases[i].header;
        check_refused(copy, program->size, cases[i].problem, expected_header, cases[i].what);
    }
}

KTEST(elf, what_is_ignored_and_what_is_allowed)
{
    const struct user_program *program = hello();
    KASSERT_NOT_NULL(program);
    const struct layout *native = NATIVE;
    uint8_t *copy = copy_at_end(program, program->size);
    KASSERT_NOT_NULL(copy);
    int text = load_header_with_flags(copy, ELF_SEGMENT_READ | ELF_SEGMENT_EXECUTE);
    int rodata = load_header_with_flags(copy, ELF_SEGMENT_READ);
    KASSERT(text >= 0 && rodata >= 0);
    struct elf_image whole, changed;
    check_loads(copy, program->size, &whole, "hello");

    /* Execute-only text (no R) is a valid RISC-V mapping; flag bits above R, W and X are ignored. */
    put(program_header(copy, (unsigned)text), native->segment_flags, 4, 0x00f00001);
    check_loads(copy, program->size, &changed, "execute-only text with OS bits");
    KASSERT_EQ(changed.segments[0].permissions, ELF_SEGMENT_EXECUTE);

    /* A note instead of rodata: not loaded, and the rest loads. */
    copy = copy_at_end(program, program->size);
    put(program_header(copy, (unsigned)rodata), native->type, 4, PT_NOTE);
    check_loads(copy, program->size, &changed, "rodata turned into a note");
    KASSERT_EQ(changed.segment_count, whole.segment_count - 1);

    /* An empty PT_LOAD is skipped, wherever it says it is. */
    copy = copy_at_end(program, program->size);
    uint8_t *header = program_header(copy, (unsigned)rodata);
    put(header, native->memory_bytes, native->word, 0);
    put(header, native->file_bytes, native->word, 0);
    put(header, native->address, native->word, 3);
    check_loads(copy, program->size, &changed, "an empty segment at address 3");
    KASSERT_EQ(changed.segment_count, whole.segment_count - 1);

    /* No PT_LOAD at all. */
    copy = copy_at_end(program, program->size);
    unsigned count = (unsigned)get(copy, native->program_header_count, 2);
    for (unsigned i = 0; i < count; i++)
        if (get(program_header(copy, i), native->type, 4) == PT_LOAD)
            put(program_header(copy, i), native->type, 4, PT_NOTE);
    check_refused(copy, program->size, ELF_NO_SEGMENTS, -1, "every PT_LOAD a note");
}

KTEST(elf, at_most_eight_segments)
{
    /* hello's headers, then a table of its own at the end of a longer copy: text, then small
       read-only segments a page apart, ELF_SEGMENTS_MAX of them in all, then one more. */
    const struct user_program *program = hello();
    KASSERT_NOT_NULL(program);
    const struct layout *native = NATIVE;
    size_t table = (program->size + 15) & ~(size_t)15;
    size_t size = table + (ELF_SEGMENTS_MAX + 1) * native->program_header_bytes;
    uint8_t *copy = copy_at_end(program, size);
    KASSERT_NOT_NULL(copy);
    int text = load_header_with_flags(copy, ELF_SEGMENT_READ | ELF_SEGMENT_EXECUTE);
    KASSERT(text >= 0);
    memcpy(copy + table, program_header(copy, (unsigned)text), native->program_header_bytes);
    uint64_t next = 0x100000; /* above hello's segments */
    for (unsigned i = 1; i <= ELF_SEGMENTS_MAX; i++) {
        uint8_t *header = copy + table + i * native->program_header_bytes;
        memset(header, 0, native->program_header_bytes);
        put(header, native->type, 4, PT_LOAD);
        put(header, native->segment_flags, 4, ELF_SEGMENT_READ);
        put(header, native->address, native->word, USER_WINDOW_START + next + i * PAGE_SIZE);
        put(header, native->memory_bytes, native->word, 16);
    }
    put(copy, native->program_header_offset, native->word, table);
    put(copy, native->program_header_count, 2, ELF_SEGMENTS_MAX);
    struct elf_image image;
    check_loads(copy, size, &image, "eight segments");
    KASSERT_EQ(image.segment_count, (unsigned)ELF_SEGMENTS_MAX);
    put(copy, native->program_header_count, 2, ELF_SEGMENTS_MAX + 1);
    check_refused(copy, size, ELF_TOO_MANY_SEGMENTS, ELF_SEGMENTS_MAX, "nine segments");
}

/* ---- The other class, and the target ------------------------------------------------ */

/*
 * A minimal executable of either class at address: one text page (R+X) holding c.ret and one
 * bss page (R+W), in bytes (at least 256). Returns its size.
 */
static size_t build_small_executable(uint8_t *bytes, const struct layout *layout, uint64_t address)
{
    memset(bytes, 0, 256);
    static const uint8_t ident[] = {0x7f, 'E', 'L', 'F'};
    memcpy(bytes, ident, sizeof ident);
    bytes[4] = (uint8_t)layout->elf_class;
    bytes[5] = 1; /* little-endian */
    bytes[6] = 1;
    put(bytes, 16, 2, 2);   /* ET_EXEC */
    put(bytes, 18, 2, 243); /* RISC-V */
    put(bytes, 20, 4, 1);
    put(bytes, layout->entry, layout->word, address);
    put(bytes, layout->program_header_offset, layout->word, layout->header_bytes);
    put(bytes, layout->flags, 4, 1); /* RVC, soft float */
    put(bytes, layout->header_size, 2, layout->header_bytes);
    put(bytes, layout->program_header_size, 2, layout->program_header_bytes);
    put(bytes, layout->program_header_count, 2, 2);
    size_t code = layout->header_bytes + 2 * layout->program_header_bytes;
    put(bytes, (unsigned)code, 2, 0x8082); /* c.ret */
    uint8_t *text = bytes + layout->header_bytes;
    put(text, layout->type, 4, PT_LOAD);
    put(text, layout->segment_flags, 4, ELF_SEGMENT_READ | ELF_SEGMENT_EXECUTE);
    put(text, layout->offset, layout->word, code);
    put(text, layout->address, layout->word, address);
    put(text, layout->file_bytes, layout->word, 2);
    put(text, layout->memory_bytes, layout->word, 2);
    uint8_t *bss = text + layout->program_header_bytes;
    put(bss, layout->type, 4, PT_LOAD);
    put(bss, layout->segment_flags, 4, ELF_SEGMENT_READ | ELF_SEGMENT_WRITE);
    put(bss, layout->address, layout->word, address + PAGE_SIZE);
    put(bss, layout->memory_bytes, layout->word, PAGE_SIZE);
    return code + 2;
}

KTEST(elf, both_classes_load_where_targeted)
{
    uint8_t *arena = ktest_arena_memory(&space);
    KASSERT_NOT_NULL(arena);
    /* A window both classes and both word sizes can express. */
    const uintptr_t start = 0x40000000u, end = 0x80000000u;
    const struct layout *layouts[] = {&layout_32, &layout_64};
    for (unsigned i = 0; i < 2; i++) {
        const struct layout *layout = layouts[i];
        uint8_t *bytes = arena + ARENA_BYTES - 256;
        size_t size = build_small_executable(bytes, layout, start);
        memmove(arena + ARENA_BYTES - size, bytes, size);
        bytes = arena + ARENA_BYTES - size;
        struct elf_target target = {layout->elf_class, start, end};
        struct elf_image image;
        KASSERT_EQ(elf_load(bytes, size, &target, &image), 0);
        KASSERT_EQ(image.entry, start);
        KASSERT_EQ(image.segment_count, 2u);
        KASSERT_EQ(image.segments[1].file_bytes, 0u);
        KASSERT_EQ(image.end, start + 2 * PAGE_SIZE);
        target.elf_class = layout == &layout_32 ? ELF_CLASS_64 : ELF_CLASS_32;
        KASSERT_EQ(elf_load(bytes, size, &target, &image), -E_NOEXEC);
        KASSERT_EQ(image.problem, ELF_WRONG_CLASS);
    }
}

KTEST(elf, an_elf32_segment_cannot_wrap_past_4_gib)
{
    uint8_t *arena = ktest_arena_memory(&space);
    KASSERT_NOT_NULL(arena);
    uint8_t *bytes = arena + ARENA_BYTES - 256;
    size_t size = build_small_executable(bytes, &layout_32, 0x40000000u);
    uint8_t *bss = bytes + layout_32.header_bytes + layout_32.program_header_bytes;
    put(bss, layout_32.address, 4, 0xfffff000u);
    put(bss, layout_32.memory_bytes, 4, 2 * PAGE_SIZE);
    struct elf_target target = {ELF_CLASS_32, 0x40000000u, 0xfffff000u};
    struct elf_image image;
    KASSERT_EQ(elf_load(bytes, size, &target, &image), -E_NOEXEC);
    KASSERT_EQ(image.problem, ELF_SEGMENT_WRAPS);
    KASSERT_EQ(image.problem_header, 1);
}

KTEST(elf, a_malformed_target_is_an_invalid_argument)
{
    const struct user_program *program = hello();
    KASSERT_NOT_NULL(program);
    struct elf_image image;
    struct elf_target target = native_target();
    KASSERT_EQ(elf_load(program->bytes, program->size, NULL, &image), -E_INVAL);
    target.elf_class = 3;
    KASSERT_EQ(elf_load(program->bytes, program->size, &target, &image), -E_INVAL);
    target = native_target();
    target.window_end = target.window_start;
    KASSERT_EQ(elf_load(program->bytes, program->size, &target, &image), -E_INVAL);
    target = native_target();
    target.window_start += 8;
    KASSERT_EQ(elf_load(program->bytes, program->size, &target, &image), -E_INVAL);
    target = native_target();
    KASSERT_EQ(elf_load(NULL, 64, &target, &image), -E_INVAL);
    KASSERT_EQ(elf_load(NULL, 0, &target, &image), -E_NOEXEC);
    KASSERT_EQ(image.problem, ELF_TRUNCATED);
    /* A window that leaves the program's pages out refuses it. */
    target.window_start += PAGE_SIZE;
    KASSERT_EQ(elf_load(program->bytes, program->size, &target, &image), -E_NOEXEC);
    KASSERT_EQ(image.problem, ELF_SEGMENT_OUTSIDE_WINDOW);
}

KTEST(elf, every_problem_has_its_own_words)
{
    for (int a = 0; a <= ELF_PROBLEM_COUNT; a++) {
        const char *text = elf_problem_text((enum elf_problem)a);
        KASSERT_NOT_NULL(text);
        KASSERT_GT(strlen(text), 5u);
        for (int b = 0; b < a; b++)
            KASSERT(strcmp(text, elf_problem_text((enum elf_problem)b)) != 0);
    }
}
