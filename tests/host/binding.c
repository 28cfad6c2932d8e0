/*
 * tests/host/binding.c - the host binding (lib/host/binding.c) with real threads and real process
 * limits: linked with build/host/librvmem.a, whose caches are thread-local as in the LD_PRELOAD
 * library, and without sanitizers (they would take the address space the limits test measures).
 * Calls the rvmem_ names directly: this program's own malloc stays the C library's.
 *
 * Usage: binding-tests [FILTER]   (FILTER: comma-separated globs on "binding.NAME", as make's TESTS;
 * default: all). Prints "ok NAME" or "not ok NAME: why" per test and "binding-tests: N passed,
 * N failed"; exit status 0 when every selected test passed (none selected: 0 too).
 */
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/base/misuse.h"
#include "lib/host/binding.h"
#include "lib/malloc/malloc.h"
#include "tests/host/binding_park.h"

#define LATE_BLOCK_BYTES 200
#define THREADS 2000u
#define THREADS_AT_ONCE 8u

static const char *failure; /* why the running test failed (NULL: it passed so far) */

#define CHECK(condition)                                                                                               \
    do {                                                                                                               \
        if (!(condition) && !failure)                                                                                  \
            failure = #condition;                                                                                      \
    } while (0)

/* The application's thread-specific data: created after the binding's key (rvmem_host_init ran as
 * a constructor), so the C library runs its destructor after the binding's thread-exit hook. */
static pthread_key_t late_key;
static unsigned long late_frees, late_mallocs;

static void late_destructor(void *value)
{
    unsigned char *block = value;
    if (block[0] != 0xD5 || block[LATE_BLOCK_BYTES - 1] != 0xD5)
        failure = "a thread's block changed before its destructor freed it";
    rvmem_free(block);
    /* A destructor may allocate too (a log line, a last message): served, usable, and given back. */
    unsigned char *more = rvmem_malloc(48);
    unsigned char *large = rvmem_malloc(3000);
    if (more && large) {
        memset(more, 0x5A, 48);
        memset(large, 0x5A, 3000);
        __atomic_add_fetch(&late_mallocs, 1, __ATOMIC_RELAXED);
    }
    rvmem_free(large);
    rvmem_free(more);
    __atomic_add_fetch(&late_frees, 1, __ATOMIC_RELAXED);
}

/* A short thread: a block in the late key's data, and a few blocks through its cache. */
static void *short_thread(void *unused)
{
    (void)unused;
    unsigned char *block = rvmem_malloc(LATE_BLOCK_BYTES);
    if (!block)
        return NULL;
    memset(block, 0xD5, LATE_BLOCK_BYTES);
    pthread_setspecific(late_key, block);
    void *blocks[4];
    for (unsigned i = 0; i < 4; i++)
        blocks[i] = rvmem_malloc(16 + 48 * i);
    for (unsigned i = 0; i < 4; i++)
        rvmem_free(blocks[i]);
    return NULL;
}

/* What the program holds, with the calling thread's own cache emptied first. */
static size_t bytes_in_use_now(void)
{
    struct malloc_stats stats;
    rvmem_malloc_flush_cache();
    rvmem_malloc_stats(&stats);
    return stats.bytes_in_use;
}

/*
 * Threads end with their late key's destructor freeing a block (and taking and freeing two more)
 * after the binding's own exit hook: every block comes back, none stays in a dead thread's cache.
 */
static void test_thread_exit_late_free(void)
{
    if (pthread_key_create(&late_key, late_destructor) != 0) {
        failure = "pthread_key_create";
        return;
    }
    size_t before = bytes_in_use_now();
    for (unsigned done = 0; done < THREADS; done += THREADS_AT_ONCE) {
        pthread_t threads[THREADS_AT_ONCE];
        for (unsigned i = 0; i < THREADS_AT_ONCE; i++)
            CHECK(pthread_create(&threads[i], NULL, short_thread, NULL) == 0);
        for (unsigned i = 0; i < THREADS_AT_ONCE; i++)
            pthread_join(threads[i], NULL);
    }
    size_t after = bytes_in_use_now();
    CHECK(late_frees == THREADS);
    CHECK(late_mallocs == THREADS);
    if (after != before && !failure) {
        static char why[128];
        snprintf(why, sizeof why, "bytes in use %zu before the threads, %zu after (%zu lost a thread)", before, after,
                 (after - before) / THREADS);
        failure = why;
    }
    CHECK(rvmem_malloc_validate() == 0);
    pthread_key_delete(late_key);
}

/* A closed cache keeps serving, one block at a time, and holds nothing afterwards. */
static void *closing_thread(void *unused)
{
    (void)unused;
    void *warm = rvmem_malloc(64);
    rvmem_free(warm);
    rvmem_malloc_close_cache();
    struct malloc_stats stats;
    for (unsigned round = 0; round < 3; round++) {
        void *blocks[70];
        for (unsigned i = 0; i < 70; i++) {
            blocks[i] = rvmem_malloc(16 + 16 * (i % 8));
            CHECK(blocks[i] != NULL);
            if (blocks[i])
                memset(blocks[i], (int)i, 16);
        }
        for (unsigned i = 0; i < 70; i++)
            rvmem_free(blocks[i]);
        rvmem_malloc_stats(&stats);
        CHECK(stats.bytes_cached == 0);
    }
    rvmem_malloc_close_cache(); /* idempotent */
    CHECK(rvmem_malloc_validate() == 0);
    return NULL;
}

static void test_closed_cache(void)
{
    size_t before = bytes_in_use_now();
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, closing_thread, NULL) == 0);
    pthread_join(thread, NULL);
    CHECK(bytes_in_use_now() == before);
}

/*
 * Under an address-space limit a block larger than the region the binding reserved is mapped on
 * its own: the limit, not the region, bounds the heap. Runs in a child process started afresh
 * (exec) with RLIMIT_AS set, so the binding reserves its region under the limit as a program
 * started with `ulimit -v` does.
 */
#define LIMIT_BYTES ((uint64_t)4000000 * 1024) /* `ulimit -v 4000000` */
#define BIG_BLOCK_BYTES ((size_t)2 << 30)

static void test_address_limit(void)
{
    pid_t child = fork();
    if (child == 0) {
        struct rlimit limit = {LIMIT_BYTES, LIMIT_BYTES};
        setrlimit(RLIMIT_AS, &limit);
        execl("/proc/self/exe", "binding-tests", "--address-limit-child", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(child > 0 && waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static unsigned long misuse_reports;

static void count_misuse(const struct misuse_report *report)
{
    (void)report;
    misuse_reports++;
}

/* The child: a 2 GiB block under the limit, written at both ends and across, freed, taken again. */
static int address_limit_child(void)
{
    for (unsigned round = 0; round < 2; round++) {
        unsigned char *block = rvmem_malloc(BIG_BLOCK_BYTES);
        CHECK(block != NULL);
        if (!block)
            break;
        for (size_t offset = 0; offset < BIG_BLOCK_BYTES; offset += (size_t)64 << 20)
            block[offset] = (unsigned char)(offset >> 26);
        block[BIG_BLOCK_BYTES - 1] = 0xEE;
        block[12345] = 0x42;
        CHECK(block[(size_t)1 << 30] == 16 && block[BIG_BLOCK_BYTES - 1] == 0xEE);
        CHECK(rvmem_malloc_usable_size(block) >= BIG_BLOCK_BYTES);
        struct malloc_stats stats;
        rvmem_malloc_stats(&stats);
        CHECK(stats.direct_blocks == 1 && stats.direct_bytes >= BIG_BLOCK_BYTES);
        /* A pointer into the block, and one past a mapping the allocator does not know: refused. */
        misuse_hook previous = misuse_set_hook(count_misuse);
        rvmem_free(block + 4096);
        unsigned char foreign[32];
        rvmem_free(foreign);
        CHECK(rvmem_malloc_usable_size(block + 4096) == 0);
        misuse_set_hook(previous);
        CHECK(misuse_reports == 3 * (round + 1));
        /* realloc keeps the contents (a smaller size above 128 KiB shrinks it where it is). */
        unsigned char *smaller = rvmem_realloc(block, (size_t)1 << 20);
        CHECK(smaller != NULL && smaller[0] == 0 && smaller[12345] == 0x42);
        rvmem_free(smaller);
        rvmem_malloc_stats(&stats);
        CHECK(stats.direct_blocks == 0 && stats.direct_bytes == 0);
    }
    CHECK(rvmem_malloc_validate() == 0);
    if (failure)
        printf("not ok binding.address_limit (child): %s\n", failure);
    return failure ? 1 : 0;
}

/*
 * A buffer that realloc grows while the block after it stays (so it cannot grow in place): past
 * 128 KiB it becomes a direct block, copied once, and from then on grows by remapping, its
 * contents kept, each remap to twice its mapping, so that growing 64 KiB at a time to 8 MiB
 * remaps it at most log2(8 MiB / 128 KiB) = 6 times (every step remapped before: 126 times);
 * shrunk below 128 KiB it moves back into the heap.
 */
#define REGROW_STEP_BYTES ((size_t)64 << 10)
#define REGROW_MAX_BYTES ((size_t)8 << 20)
#define REGROW_MAX_REMAPS 6u

static void test_realloc_grows_by_remapping(void)
{
    struct malloc_stats before, stats;
    rvmem_malloc_stats(&before);
    unsigned char *buffer = rvmem_malloc(REGROW_STEP_BYTES);
    unsigned char *blocker = rvmem_malloc(REGROW_STEP_BYTES);
    CHECK(buffer != NULL && blocker != NULL);
    if (!buffer || !blocker)
        return;
    size_t bytes = REGROW_STEP_BYTES, steps = 0;
    memset(buffer, 0xA5, bytes);
    while (bytes < REGROW_MAX_BYTES) {
        unsigned char *grown = rvmem_realloc(buffer, bytes + REGROW_STEP_BYTES);
        CHECK(grown != NULL);
        if (!grown)
            break;
        CHECK(grown[0] == 0xA5 &&
              grown[bytes - 1] == (bytes == REGROW_STEP_BYTES ? 0xA5 : (unsigned char)(bytes >> 16)));
        buffer = grown;
        bytes += REGROW_STEP_BYTES;
        CHECK(rvmem_malloc_usable_size(buffer) >= bytes);
        buffer[bytes - 1] = (unsigned char)(bytes >> 16);
        steps++;
    }
    rvmem_malloc_stats(&stats);
    CHECK(steps == REGROW_MAX_BYTES / REGROW_STEP_BYTES - 1);
    CHECK(stats.direct_blocks == before.direct_blocks + 1);
    /* The growth to 128 KiB moved it out of the heap once; the later ones remapped it, a few times. */
    CHECK(stats.direct_resizes - before.direct_resizes >= 1);
    CHECK(stats.direct_resizes - before.direct_resizes <= REGROW_MAX_REMAPS);
    unsigned char *shrunk = rvmem_realloc(buffer, REGROW_STEP_BYTES);
    CHECK(shrunk != NULL && shrunk[0] == 0xA5 && shrunk[REGROW_STEP_BYTES - 1] == 0xA5);
    rvmem_malloc_stats(&stats);
    CHECK(stats.direct_blocks == before.direct_blocks); /* back in the heap */
    rvmem_free(shrunk ? shrunk : buffer);
    rvmem_free(blocker);
    CHECK(rvmem_malloc_validate() == 0);
}

/*
 * Many direct blocks at once (each a 64 KiB class block that realloc grew to 256 KiB): the
 * registry, which starts at a page of slots, doubles past three quarters full and rehashes, and
 * still finds every block (usable size, contents, free).
 */
#define MANY_DIRECT_BLOCKS 1000u
#define MANY_DIRECT_BYTES ((size_t)256 << 10)

static void test_many_direct_blocks(void)
{
    static unsigned char *blocks[MANY_DIRECT_BLOCKS];
    struct malloc_stats before, stats;
    rvmem_malloc_stats(&before);
    unsigned made = 0;
    for (; made < MANY_DIRECT_BLOCKS; made++) {
        unsigned char *small = rvmem_malloc(REGROW_STEP_BYTES);
        CHECK(small != NULL);
        if (!small)
            break;
        small[0] = (unsigned char)made;
        blocks[made] = rvmem_realloc(small, MANY_DIRECT_BYTES);
        CHECK(blocks[made] != NULL);
        if (!blocks[made]) {
            rvmem_free(small);
            break;
        }
        blocks[made][MANY_DIRECT_BYTES - 1] = (unsigned char)(made * 7);
    }
    rvmem_malloc_stats(&stats);
    CHECK(stats.direct_blocks == before.direct_blocks + made);
    for (unsigned i = 0; i < made; i++) {
        CHECK(rvmem_malloc_usable_size(blocks[i]) >= MANY_DIRECT_BYTES);
        CHECK(blocks[i][0] == (unsigned char)i && blocks[i][MANY_DIRECT_BYTES - 1] == (unsigned char)(i * 7));
    }
    CHECK(rvmem_malloc_validate() == 0);
    for (unsigned i = 0; i < made; i++)
        rvmem_free(blocks[i]);
    rvmem_malloc_stats(&stats);
    CHECK(stats.direct_blocks == before.direct_blocks && stats.direct_bytes == before.direct_bytes);
    CHECK(rvmem_malloc_validate() == 0);
}

/*
 * A buffer that realloc grows past 8 MiB (HUGE_ADVICE_MIN_BYTES in lib/host/binding.c) lies in a
 * mapping advised for transparent huge pages: /proc/self/smaps lists "hg" in its VmFlags. Where
 * the kernel has no transparent huge pages (no /sys/kernel/mm/transparent_hugepage) there is
 * nothing to see, and the test checks only the contents.
 */
#define HUGE_GROWN_BYTES ((size_t)16 << 20)

/* Whether the mapping holding address has flag among its VmFlags (/proc/self/smaps). */
static int mapping_has_flag(const void *address, const char *flag)
{
    FILE *smaps = fopen("/proc/self/smaps", "r");
    char line[512];
    int inside = 0, found = 0;
    while (smaps && !found && fgets(line, sizeof line, smaps)) {
        unsigned long start, end;
        /* A mapping's first line starts "start-end " in lower-case hex; its fields start with a capital. */
        if (line[strspn(line, "0123456789abcdef")] == '-' && sscanf(line, "%lx-%lx", &start, &end) == 2) {
            inside = (uintptr_t)address >= start && (uintptr_t)address < end;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            for (char *word = strtok(line + 8, " \n"); word && !found; word = strtok(NULL, " \n"))
                found = strcmp(word, flag) == 0;
            inside = 0;
        }
    }
    if (smaps)
        fclose(smaps);
    return found;
}

static void test_grown_buffer_advised_huge(void)
{
    unsigned char *buffer = rvmem_malloc(REGROW_STEP_BYTES);
    unsigned char *blocker = rvmem_malloc(REGROW_STEP_BYTES);
    CHECK(buffer != NULL && blocker != NULL);
    if (!buffer || !blocker)
        return;
    size_t bytes = REGROW_STEP_BYTES;
    memset(buffer, 0x2e, bytes);
    while (bytes < HUGE_GROWN_BYTES) {
        unsigned char *grown = rvmem_realloc(buffer, bytes * 2);
        CHECK(grown != NULL);
        if (!grown)
            break;
        buffer = grown;
        memset(buffer + bytes, 0x2e, bytes);
        bytes *= 2;
    }
    CHECK(buffer[0] == 0x2e && buffer[bytes - 1] == 0x2e);
    if (access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0)
        CHECK(mapping_has_flag(buffer, "hg"));
    rvmem_free(buffer);
    rvmem_free(blocker);
    CHECK(rvmem_malloc_validate() == 0);
}

/* Resident bytes of this process (/proc/self/statm's second field, in pages). */
size_t binding_resident_bytes(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (statm) {
        if (fscanf(statm, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(statm);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * A large block freed inside the heap (a block after it keeps it off the top) stays resident
 * until rvmem_malloc_trim, which gives its inner pages back (release_pages: madvise); taken again,
 * it reads as zero and works.
 */
#define INNER_BYTES ((size_t)32 << 20)

static void test_trim_releases_inner_pages(void)
{
    unsigned char *inner = rvmem_malloc(INNER_BYTES);
    unsigned char *after = rvmem_malloc((size_t)256 << 10);
    CHECK(inner != NULL && after != NULL);
    if (!inner || !after)
        return;
    memset(inner, 0x5a, INNER_BYTES);
    memset(after, 0x5a, (size_t)256 << 10);
    size_t touched = binding_resident_bytes();
    rvmem_free(inner);
    CHECK(binding_resident_bytes() + (INNER_BYTES / 4) > touched); /* free alone keeps the pages */
    rvmem_malloc_trim();
    size_t trimmed = binding_resident_bytes();
    CHECK(trimmed + INNER_BYTES - ((size_t)1 << 20) <= touched); /* all but a MiB of them went back */
    unsigned char *again = rvmem_malloc(INNER_BYTES);
    CHECK(again != NULL);
    if (again) {
        CHECK(again[INNER_BYTES / 2] == 0);
        memset(again, 1, INNER_BYTES);
        rvmem_free(again);
    }
    CHECK(after[0] == 0x5a);
    rvmem_free(after);
    CHECK(rvmem_malloc_validate() == 0);
}

/*
 * A large heap block that realloc moves out into a direct block (the block after it stays, so it
 * cannot grow in place) gives its pages back on the way: resident memory holds the copy, not the
 * copy and the old block's 8 MiB, which the heap kept before (until a trim).
 */
#define MOVED_BYTES ((size_t)8 << 20)

static void test_moved_block_gives_pages_back(void)
{
    unsigned char *buffer = rvmem_malloc(MOVED_BYTES);
    unsigned char *blocker = rvmem_malloc(MOVED_BYTES / 8); /* a TLSF block too: carved right after it */
    CHECK(buffer != NULL && blocker != NULL);
    if (!buffer || !blocker)
        return;
    memset(buffer, 0x6b, MOVED_BYTES);
    memset(blocker, 0x6b, MOVED_BYTES / 8);
    struct malloc_stats before, stats;
    rvmem_malloc_stats(&before);
    size_t resident_before = binding_resident_bytes();
    unsigned char *moved = rvmem_realloc(buffer, MOVED_BYTES + REGROW_STEP_BYTES);
    size_t resident_after = binding_resident_bytes();
    rvmem_malloc_stats(&stats);
    CHECK(moved != NULL);
    if (!moved) {
        rvmem_free(buffer);
        rvmem_free(blocker);
        return;
    }
    CHECK(stats.direct_blocks == before.direct_blocks + 1); /* it left the heap */
    CHECK(moved[0] == 0x6b && moved[MOVED_BYTES - 1] == 0x6b);
    /* The copy made the new block's 8 MiB resident; the old one's went back. */
    CHECK(resident_after < resident_before + MOVED_BYTES / 2);
    rvmem_free(moved);
    CHECK(blocker[0] == 0x6b && blocker[MOVED_BYTES / 8 - 1] == 0x6b);
    unsigned char *again = rvmem_malloc(MOVED_BYTES); /* the old block's place, zero or not, works */
    CHECK(again != NULL);
    if (again) {
        memset(again, 0x19, MOVED_BYTES);
        rvmem_free(again);
    }
    rvmem_free(blocker);
    CHECK(rvmem_malloc_validate() == 0);
}

/*
 * Threads that each take and give back 8 MiB of blocks of several classes, then end: the last of
 * them to end finds the demand for class blocks gone and releases the runs they left free and the
 * heap's free pages, so the classes hold little and resident memory comes back down (without the
 * release at a cache's close, all of it stays in the classes until somebody calls a trim).
 */
#define CHURN_THREADS 8u
#define CHURN_BYTES ((size_t)8 << 20)

int binding_churn(size_t total_bytes, unsigned char fill)
{
    static const size_t sizes[] = {48, 256, 1000, 4096, 20000};
    int result = 0;
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t count = total_bytes / 5 / sizes[s];
        void **blocks = rvmem_malloc(count * sizeof(void *));
        if (!blocks)
            return -1;
        for (size_t i = 0; i < count; i++) {
            blocks[i] = rvmem_malloc(sizes[s]);
            if (blocks[i])
                memset(blocks[i], fill, sizes[s]);
            else
                result = -1;
        }
        for (size_t i = 0; i < count; i++)
            rvmem_free(blocks[i]);
        rvmem_free(blocks);
    }
    return result;
}

static void *churning_thread(void *unused)
{
    (void)unused;
    CHECK(binding_churn(CHURN_BYTES, 0x3c) == 0);
    return NULL;
}

/* Checks that the classes hold little free and resident memory is back within 4 MiB of before. */
static void check_given_back(size_t resident_before, const char *how)
{
    struct malloc_stats stats;
    rvmem_malloc_stats(&stats);
    size_t resident_after = binding_resident_bytes();
    static char why[160];
    if (stats.bytes_free_small > ((size_t)1 << 20) && !failure) {
        snprintf(why, sizeof why, "the classes hold %zu bytes free after the threads ended (%s)",
                 stats.bytes_free_small, how);
        failure = why;
    }
    if (resident_after > resident_before + ((size_t)4 << 20) && !failure) {
        snprintf(why, sizeof why, "resident %zu bytes before the threads, %zu after (%s)", resident_before,
                 resident_after, how);
        failure = why;
    }
}

static void test_threads_that_end_give_memory_back(void)
{
    rvmem_malloc_trim();
    size_t resident_before = binding_resident_bytes();
    pthread_t threads[CHURN_THREADS];
    for (unsigned i = 0; i < CHURN_THREADS; i++)
        CHECK(pthread_create(&threads[i], NULL, churning_thread, NULL) == 0);
    for (unsigned i = 0; i < CHURN_THREADS; i++)
        pthread_join(threads[i], NULL);
    check_given_back(resident_before, "together");
    for (unsigned i = 0; i < 3; i++) {
        CHECK(pthread_create(&threads[0], NULL, churning_thread, NULL) == 0);
        pthread_join(threads[0], NULL);
        check_given_back(resident_before, "one after another");
    }
    CHECK(rvmem_malloc_validate() == 0);
}

/* The tests of parked threads (tests/host/binding_park.c), which say why they failed. */
static void test_parked_threads_lend_their_caches(void)
{
    failure = binding_park_test_lend();
}

static void test_trims_while_threads_park_and_run(void)
{
    failure = binding_park_test_stress();
}

static const struct {
    const char *name;
    void (*run)(void);
} tests[] = {
    {"binding.thread_exit_late_free", test_thread_exit_late_free},
    {"binding.closed_cache", test_closed_cache},
    {"binding.address_limit", test_address_limit},
    {"binding.realloc_grows_by_remapping", test_realloc_grows_by_remapping},
    {"binding.many_direct_blocks", test_many_direct_blocks},
    {"binding.moved_block_gives_pages_back", test_moved_block_gives_pages_back},
    {"binding.grown_buffer_advised_huge", test_grown_buffer_advised_huge},
    {"binding.trim_releases_inner_pages", test_trim_releases_inner_pages},
    {"binding.threads_that_end_give_memory_back", test_threads_that_end_give_memory_back},
    {"binding.parked_threads_lend_their_caches", test_parked_threads_lend_their_caches},
    {"binding.trims_while_threads_park_and_run", test_trims_while_threads_park_and_run},
};

/* Whether name matches one of the comma-separated globs in filter (a glob without a dot matches the suite). */
static int selected(const char *name, const char *filter)
{
    char glob[128];
    for (const char *start = filter; *start;) {
        size_t length = strcspn(start, ",");
        if (length < sizeof glob - 2) {
            memcpy(glob, start, length);
            glob[length] = 0;
            if (!strchr(glob, '.'))
                strcat(glob, ".*");
            if (fnmatch(glob, name, 0) == 0)
                return 1;
        }
        start += length + (start[length] == ',');
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 && argv[1][0] ? argv[1] : "*";
    if (rvmem_host_init() != 0) {
        printf("not ok binding: rvmem_host_init failed\n");
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "--address-limit-child") == 0)
        return address_limit_child();
    unsigned passed = 0, failed = 0;
    for (unsigned i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!selected(tests[i].name, filter))
            continue;
        failure = NULL;
        tests[i].run();
        if (failure)
            printf("not ok %s: %s\n", tests[i].name, failure);
        else
            printf("ok %s\n", tests[i].name);
        failure ? failed++ : passed++;
    }
    printf("binding-tests: %u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
