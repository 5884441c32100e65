/*
 * unit: what every unit test program shares.
 */
#ifndef SP_T_UNIT_H
#define SP_T_UNIT_H

#include <check.h>
#include <stdlib.h>

#include "core/arena.h"

/* The per-test arena most unit tests allocate from: defines `arena` and
 * the checked fixture `setup`/`teardown` that makes and frees it
 * (tcase_add_checked_fixture(tc, setup, teardown)). */
#define SP_UNIT_ARENA_FIXTURE(size)                                                          \
    static struct sp_arena arena;                                                            \
    static void setup(void) { sp_arena_init(&arena, (size)); }                               \
    static void teardown(void) { sp_arena_destroy(&arena); }

/* Runs the suite (freeing it) and returns the program's exit status. */
static inline int
sp_unit_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
