/*
 * user/lib/crt0.S - where every user program starts (its ELF entry point, the first byte of .text).
 *
 * The kernel enters _start in U-mode with sp at the entry block (kernel/base/user_abi.h: argc,
 * argv, NULL, the canary seed, the strings) and every other register 0. _start sets gp (the
 * linker's __global_pointer$, for gp-relative accesses to small data) and tp (the main thread's
 * block, user/lib/thread.h) before any C code runs, since -fstack-protector reads the canary
 * through tp, then hands the entry block to user_start (user/lib/start.c), which never returns.
 */
    .section .text.entry, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norelax                     /* gp is not set yet: this one must not be gp-relative */
    lla     gp, __global_pointer$
    .option pop
    lla     tp, user_threads
    mv      a0, sp
    call    user_start
    unimp                               /* user_start never returns */
