/*
 * user/programs/exit_with.c - the smallest program: exits at once with the code it is given.
 *
 * `exit_with [CODE]` exits with CODE (default 0), printing nothing. System calls: exit. What the
 * kernel's tests use as a child that ends (wait's status: WAIT_EXIT_CODE is CODE & 0xff) and its
 * benchmarks as the smallest program (process_spawn_exit).
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    return (int)number_argument(argc, argv, 1, 0);
}
