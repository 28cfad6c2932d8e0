/*
 * tests/host/main.c - runs the portable test suites on the host.
 *
 * Usage: host-tests [FILTER]   (FILTER as in ktest_filter_matches; default: every default test)
 * Exit status: 0 when every selected test passed, 1 otherwise.
 */
#include <stdio.h>

#include "tests/harness/ktest.h"

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int failed = ktest_run_all(filter);
    return failed == 0 ? 0 : 1;
}
