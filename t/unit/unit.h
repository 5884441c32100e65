/*
 * unit: what every unit test program shares.
 */
#ifndef SP_T_UNIT_H
#define SP_T_UNIT_H

#include <check.h>
#include <stdlib.h>

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
