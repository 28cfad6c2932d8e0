/*
 * kernel/base/errors.h - error codes returned (negated) across the project's APIs.
 *
 * Functions that can fail return 0 or a positive result on success and -E_xxx on
 * failure, like OpenSBI's SBI_Exxx and Linux's -Exxx. The numbers match POSIX errno
 * values so lib/ can store them in errno unchanged.
 */
#ifndef RVMEM_KERNEL_BASE_ERRORS_H
#define RVMEM_KERNEL_BASE_ERRORS_H

enum error_code {
    E_NOENT = 2,        /* no such entry (device-tree node or property missing, no such program) */
    E_SRCH = 3,         /* no such process or thread */
    E_2BIG = 7,         /* argument list too long (spawn: too many or too long arguments) */
    E_NOEXEC = 8,       /* not an executable this build can run (a malformed or foreign ELF file) */
    E_BADF = 9,         /* bad file descriptor (write to anything but 1 and 2) */
    E_CHILD = 10,       /* no child to wait for */
    E_AGAIN = 11,       /* try again: a limit is reached for now (processes, threads), or a value changed */
    E_NOMEM = 12,       /* out of memory */
    E_FAULT = 14,       /* bad address: a pointer a program passed is not its memory */
    E_BUSY = 16,        /* resource is in use (e.g. a page range already allocated) */
    E_INVAL = 22,       /* invalid argument */
    E_RANGE = 34,       /* value out of range */
    E_DEADLK = 35,      /* the wait would never end (a thread joining itself) */
    E_NAMETOOLONG = 36, /* a name longer than any the call accepts */
    E_NOSYS = 38,       /* not supported (e.g. an SBI extension that is absent, an unknown system call) */
    E_BADDATA = 74,     /* malformed input (e.g. a corrupt device tree) */
    E_TIMEDOUT = 110    /* something awaited did not happen in time (e.g. a hart never reported in) */
};

/* Returns the symbolic name of an error code, positive or negative ("E_NOMEM"), or "E_?". */
const char *error_name(int code);

#endif
