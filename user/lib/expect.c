/*
 * user/lib/expect.c - checks for programs that test the kernel from the outside.
 */
#include "user/lib/runtime.h"

static unsigned expect_failures;

void expect(const char *what, long got, long want)
{
    if (got == want) {
        printf("%s: ok: %s\n", user_program_name, what);
        return;
    }
    expect_failures++;
    printf("%s: FAILED: %s: got %ld (%s), want %ld (%s)\n", user_program_name, what, got,
           got < 0 ? error_name((int)got) : "", want, want < 0 ? error_name((int)want) : "");
}

int expect_finish(void)
{
    if (expect_failures == 0) {
        printf("%s: ok\n", user_program_name);
        return 0;
    }
    printf("%s: %u check(s) FAILED\n", user_program_name, expect_failures);
    return 1;
}
