/*
 * test_db: the reconnect rule of src/db/db.c (sp_db_may_retry): a
 * statement runs again after its connection was lost only when its first
 * run cannot have been applied, or running it twice changes nothing, and
 * never inside a transaction or more than once.
 */
#include <check.h>
#include <stdbool.h>

#include "db/db.h"
#include "unit.h"

START_TEST(unsent_statement_is_retried_once_outside_a_transaction)
{
    ck_assert(sp_db_may_retry(false, false, false, 0));
    ck_assert(sp_db_may_retry(false, false, true, 0));
    ck_assert(!sp_db_may_retry(false, false, false, 1));
    ck_assert(!sp_db_may_retry(false, false, true, 1));
}
END_TEST

START_TEST(sent_write_is_never_retried)
{
    ck_assert(!sp_db_may_retry(false, true, false, 0));
    ck_assert(!sp_db_may_retry(false, true, false, 1));
}
END_TEST

START_TEST(sent_read_is_retried_once)
{
    ck_assert(sp_db_may_retry(false, true, true, 0));
    ck_assert(!sp_db_may_retry(false, true, true, 1));
}
END_TEST

START_TEST(nothing_is_retried_inside_a_transaction)
{
    for (int sent = 0; sent < 2; sent++)
        for (int ro = 0; ro < 2; ro++)
            for (int done = 0; done < 2; done++)
                ck_assert(!sp_db_may_retry(true, sent, ro, done));
}
END_TEST

START_TEST(statement_kinds_are_declared)
{
    static struct sp_stmt w = SP_STMT("w", "UPDATE t SET x = 1", 0);
    static struct sp_stmt r = SP_STMT_READ("r", "SELECT 1", 0);
    ck_assert(!w.read_only);
    ck_assert(r.read_only);
    ck_assert_int_eq(w.slot, 0);
    ck_assert_int_eq(r.slot, 0);
    ck_assert_int_eq(r.nparams, 0);
}
END_TEST

static Suite *
db_suite(void)
{
    Suite *s = suite_create("db");
    TCase *tc = tcase_create("retry");
    tcase_add_test(tc, unsent_statement_is_retried_once_outside_a_transaction);
    tcase_add_test(tc, sent_write_is_never_retried);
    tcase_add_test(tc, sent_read_is_retried_once);
    tcase_add_test(tc, nothing_is_retried_inside_a_transaction);
    tcase_add_test(tc, statement_kinds_are_declared);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(db_suite());
}
