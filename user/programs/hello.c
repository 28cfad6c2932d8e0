/*
 * user/programs/hello.c - prints its arguments, one a line, and its pid.
 *
 * System calls: write, getpid, exit. The kernel's test: `hello a b` prints
 * "hello from pid N: 3 arguments" then "argv[0] = hello", "argv[1] = a", "argv[2] = b", and
 * exits with 0.
 */
#include "user/lib/runtime.h"

int main(int argc, char **argv)
{
    printf("hello from pid %ld: %d arguments\n", sys_getpid(), argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    return 0;
}
