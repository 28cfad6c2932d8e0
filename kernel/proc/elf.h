/*
 * kernel/proc/elf.h - the ELF loader's core: checks a program's ELF file and says what to map.
 *
 * elf_load reads an ELF file held in memory and, when it is an executable this build can run
 * inside the user window, returns its entry point and the segments to map: for each, a
 * page-aligned user address, how many bytes to map there, which of them come from the file (its
 * offset and length; the rest reads as zero) and the permissions. It allocates nothing, maps
 * nothing and writes nothing but its result: the caller (the kernel's process set-up) copies the
 * file bytes into pages and maps them, and the same source builds for the host, where it is
 * tested and fuzzed.
 *
 * What it accepts (anything else is refused with a reason, below):
 *   - ELF version 1, little-endian, of the target's class (ELF64 on rv64, ELF32 on rv32: the
 *     build's own, elf_target_native), type ET_EXEC (linked at a fixed address: no relocation),
 *     machine RISC-V, soft-float ABI (the user build's: no F or D registers to save), not RVE;
 *   - program headers of the class's size, 1 to ELF_PROGRAM_HEADERS_MAX of them, inside the file;
 *     PT_LOAD segments are loaded, PT_INTERP, PT_DYNAMIC and PT_TLS refused (a static program
 *     without thread-local storage is what the user build makes), every other type ignored;
 *   - at most ELF_SEGMENTS_MAX PT_LOAD segments of nonzero size (empty ones are ignored), each:
 *     file bytes no more than memory bytes, file bytes inside the file; its address a multiple of
 *     the page size; p_align 0, 1 or a power of two with address and offset congruent modulo it;
 *     address + memory bytes not wrapping, and inside the target's window once rounded up to
 *     whole pages; permissions R, R+W, R+X or X (W^X: never W and X together; never W without R,
 *     which RISC-V cannot map; never none);
 *   - no two segments sharing a page (so each page gets one segment's permissions);
 *   - an entry point inside an executable segment, 2-byte aligned (compressed instructions).
 *
 * Cost: O(program headers + segments^2) with both bounded (16 and 8): no loop depends on the
 * file's size. Reads only inside [image, image + size), whatever the bytes say (the fuzzer
 * checks it under AddressSanitizer), and makes no assumption about the image's alignment.
 * Thread-safety: none needed (no state).
 */
#ifndef RVMEM_KERNEL_PROC_ELF_H
#define RVMEM_KERNEL_PROC_ELF_H

#include <stddef.h>
#include <stdint.h>

/* Bounds of what elf_load accepts. */
#define ELF_PROGRAM_HEADERS_MAX 16
#define ELF_SEGMENTS_MAX 8

/* e_ident[EI_CLASS] values. */
#define ELF_CLASS_32 1
#define ELF_CLASS_64 2

/* The class this build runs: ELF64 on rv64 (and 64-bit hosts), ELF32 on rv32 (and -m32 hosts). */
#if UINTPTR_MAX > 0xffffffffu
#define ELF_CLASS_NATIVE ELF_CLASS_64
#else
#define ELF_CLASS_NATIVE ELF_CLASS_32
#endif

/* A segment's permissions: the ELF p_flags bits PF_R, PF_W and PF_X, same values. */
#define ELF_SEGMENT_EXECUTE 1u
#define ELF_SEGMENT_WRITE 2u
#define ELF_SEGMENT_READ 4u

/* What elf_load accepts: files of one class whose segments lie in [window_start, window_end). */
struct elf_target {
    unsigned elf_class;     /* ELF_CLASS_32 or ELF_CLASS_64 */
    uintptr_t window_start; /* page aligned */
    uintptr_t window_end;   /* page aligned, > window_start */
};

/* One segment to map: [address, address + memory_bytes) gets the permissions. */
struct elf_segment {
    uintptr_t address;    /* page aligned */
    size_t memory_bytes;  /* > 0; the mapping covers whole pages: up to the next page boundary */
    size_t file_offset;   /* the first file_bytes come from the image at file_offset ... */
    size_t file_bytes;    /* ... (<= memory_bytes, inside the image); the rest reads as zero */
    unsigned permissions; /* ELF_SEGMENT_READ | ELF_SEGMENT_WRITE | ELF_SEGMENT_EXECUTE */
};

/* Why elf_load refused a file. */
enum elf_problem {
    ELF_OK = 0,
    ELF_TRUNCATED,              /* the file ends inside its ELF header */
    ELF_NOT_ELF,                /* no \177ELF magic */
    ELF_WRONG_CLASS,            /* ELF32 where ELF64 is run, or the other way round */
    ELF_WRONG_ENCODING,         /* not little-endian */
    ELF_WRONG_VERSION,          /* e_ident's or e_version's version is not 1 */
    ELF_WRONG_TYPE,             /* not ET_EXEC (a shared object, a relocatable object...) */
    ELF_WRONG_MACHINE,          /* not RISC-V */
    ELF_WRONG_ABI,              /* a floating-point ABI or RVE in e_flags */
    ELF_BAD_HEADER_SIZE,        /* e_ehsize or e_phentsize is not the class's */
    ELF_BAD_PROGRAM_HEADERS,    /* no program header, more than ELF_PROGRAM_HEADERS_MAX, or the table leaves the file */
    ELF_NEEDS_DYNAMIC_LINKING,  /* a PT_INTERP or PT_DYNAMIC header */
    ELF_NEEDS_TLS,              /* a PT_TLS header */
    ELF_TOO_MANY_SEGMENTS,      /* more than ELF_SEGMENTS_MAX loadable segments */
    ELF_NO_SEGMENTS,            /* nothing to load */
    ELF_SEGMENT_FILE_TOO_LARGE, /* p_filesz > p_memsz */
    ELF_SEGMENT_PAST_END,       /* the segment's file bytes run past the end of the file */
    ELF_SEGMENT_MISALIGNED,     /* address not page aligned, bad p_align, or address and offset not congruent */
    ELF_SEGMENT_WRAPS,          /* address + size wraps around the address space */
    ELF_SEGMENT_OUTSIDE_WINDOW, /* part of the segment lies outside the user window */
    ELF_SEGMENT_WRITE_EXECUTE,  /* writable and executable (W^X) */
    ELF_SEGMENT_BAD_PERMISSIONS, /* no permission, or write without read */
    ELF_SEGMENTS_OVERLAP,        /* two segments share a page */
    ELF_BAD_ENTRY,               /* the entry point is not inside an executable segment, or is odd */
    ELF_PROBLEM_COUNT
};

/* What elf_load found: the program, or why it was refused. */
struct elf_image {
    uintptr_t entry;                               /* where the program starts */
    uintptr_t end;                                 /* one past the last segment's last page: the heap starts here */
    unsigned segment_count;                        /* 1..ELF_SEGMENTS_MAX */
    struct elf_segment segments[ELF_SEGMENTS_MAX]; /* in address order */
    enum elf_problem problem;                      /* ELF_OK, or why the file was refused */
    int problem_header;                            /* the program header at fault, or -1 (the file header) */
};

/* The build's own target: its ELF class, and the given window. */
static inline struct elf_target elf_target_native(uintptr_t window_start, uintptr_t window_end)
{
    struct elf_target target = {ELF_CLASS_NATIVE, window_start, window_end};
    return target;
}

/*
 * Checks the ELF file [image, image + size) against target and fills *out (always: on failure,
 * problem and problem_header say why, and the rest is not to be used). Returns 0, or -E_NOEXEC
 * when the file is refused, or -E_INVAL when target itself is malformed (a class that is neither,
 * an empty or unaligned window). image may be NULL when size is 0.
 */
int elf_load(const void *image, size_t size, const struct elf_target *target, struct elf_image *out);

/* The problem in words, for reports ("a segment is writable and executable"); never NULL. */
const char *elf_problem_text(enum elf_problem problem);

#endif
