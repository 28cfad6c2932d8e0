/*
 * user/lib/stack_request.h - how a thread entry states the stack it asks for, so the build can
 * prove it fits (make stack-report; docs/STACK.md).
 *
 * A program declares each function it starts a thread on, next to its definition:
 *
 *     static int worker(void *argument) { ... }
 *     USER_THREAD_ENTRY(worker, 16 * 1024);
 *
 * and passes worker_stack_bytes as the stack size when it creates the thread, so the size the
 * build checks is the size the kernel maps. The declaration leaves a record (the function's name
 * and the bytes) in the object's .rvmem_stack_requests section, which the stack report reads and
 * user/lib/linker.ld discards: the program's image does not carry it. The report fails the build
 * when the entry's proven worst case (with everything it calls) exceeds the bytes asked; a
 * program's main is checked the same way against USER_MAIN_STACK_BYTES.
 */
#ifndef RVMEM_USER_LIB_STACK_REQUEST_H
#define RVMEM_USER_LIB_STACK_REQUEST_H

#include <stdint.h>

/* The record: the entry's name (NUL-padded) and the stack bytes it asks for. 64 bytes on rv32 and rv64. */
#define USER_STACK_REQUEST_NAME_BYTES 56
struct user_stack_request {
    char entry[USER_STACK_REQUEST_NAME_BYTES];
    uint32_t stack_bytes;
    uint32_t zero;
};

/* Declares function (a thread entry) asking for stack_bytes of stack: defines function##_stack_bytes. */
#define USER_THREAD_ENTRY(function, bytes)                                                                             \
    enum { function##_stack_bytes = (bytes) };                                                                         \
    _Static_assert(sizeof(#function) <= USER_STACK_REQUEST_NAME_BYTES, "thread entry name too long");                  \
    static const struct user_stack_request function##_stack_request                                                    \
        __attribute__((used, section(".rvmem_stack_requests"), aligned(8))) = {#function, (bytes), 0}

#endif
