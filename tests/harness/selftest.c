/*
 * tests/harness/selftest.c - tests of the test machinery itself.
 *
 * The suite selftest_fail is explicit: it runs only when named (make test TESTS=selftest_fail)
 * and must make the whole run fail, proving that failures propagate to the exit status. The suite
 * selftest_fail_smp (explicit too) fails on one hart while the others wait at a barrier: the run
 * must end with that failure, not hang.
 */
#include "kernel/base/errors.h"
#include "tests/harness/ktest.h"

KTEST_EXPLICIT(selftest_fail, fails_on_purpose)
{
    KASSERT_EQ(1 + 1, 3);
}

/* Hart 0 fails before a barrier the others wait at: the run must report the failure, not hang. */
KTEST_DEFINE(selftest_fail_smp, fails_while_other_harts_wait, KTEST_FLAG_ALL_HARTS | KTEST_FLAG_EXPLICIT)
{
    if (ktest_hart_index() == 0)
        KASSERT_EQ(2 + 2, 5);
    ktest_barrier();
    ktest_barrier();
}

KTEST(selftest, filter_matching)
{
    static const struct ktest plain = {"buddy", "split", 0, 0};
    static const struct ktest explicit_test = {"selftest", "fail", 0, KTEST_FLAG_EXPLICIT};
    KASSERT(ktest_filter_matches(NULL, &plain));
    KASSERT(ktest_filter_matches("buddy", &plain));
    KASSERT(ktest_filter_matches("buddy.split", &plain));
    KASSERT(ktest_filter_matches("bud*", &plain));
    KASSERT(ktest_filter_matches("fdt,buddy.s*", &plain));
    KASSERT(!ktest_filter_matches("fdt", &plain));
    KASSERT(!ktest_filter_matches("buddy.merge", &plain));
    KASSERT(!ktest_filter_matches(NULL, &explicit_test));
    KASSERT(!ktest_filter_matches("self*", &explicit_test));
    KASSERT(ktest_filter_matches("selftest.fail", &explicit_test));
    KASSERT(ktest_filter_matches("selftest", &explicit_test));
}

/* A test cannot start the runner again (the monitor's tests can reach it through `test`). */
KTEST(selftest, the_runner_refuses_to_start_inside_a_test)
{
    KASSERT_EQ(ktest_run_all("selftest.filter_matching"), -E_BUSY);
}

KTEST(selftest, glob_lists)
{
    KASSERT(ktest_glob_list_matches(NULL, "sbrk_16B"));
    KASSERT(ktest_glob_list_matches("", "sbrk_16B"));
    KASSERT(ktest_glob_list_matches("page*,sbrk*", "sbrk_16B"));
    KASSERT(ktest_glob_list_matches("*_16B", "sbrk_16B"));
    KASSERT(!ktest_glob_list_matches("sbrk", "sbrk_16B"));
    KASSERT(!ktest_glob_list_matches("page*", "sbrk_16B"));
}

static unsigned smp_visits[64];

KTEST_SMP(selftest, smp_runs_on_every_hart)
{
    unsigned self = ktest_hart_index();
    KASSERT_LT(self, 64u);
    __atomic_add_fetch(&smp_visits[self], 1, __ATOMIC_RELAXED);
    ktest_barrier();
    for (unsigned hart = 0; hart < ktest_hart_count(); hart++)
        KASSERT_EQ(__atomic_load_n(&smp_visits[hart], __ATOMIC_RELAXED), 1u);
    ktest_barrier();
    __atomic_store_n(&smp_visits[self], 0, __ATOMIC_RELAXED);
}
