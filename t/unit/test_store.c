/*
 * test_store: which database a read-mostly endpoint reads from
 * (sp_store_reader, domain/store.c): the primary when no replica is set;
 * the primary when the replica cannot be reached, without trying the
 * replica again for SP_STORE_REPLICA_RETRY_MS (one failed connect per
 * worker per interval, not one per request). The replica chosen while it
 * answers is checked end to end by the cluster test (t/cluster/test.py,
 * replica_serves_reads).
 */
#include <check.h>
#include <stdlib.h>

#include "core/metrics.h"
#include "db/db.h"
#include "domain/store.h"
#include "unit.h"

START_TEST(without_a_replica_reads_use_the_primary)
{
    struct sp_db *primary = sp_store_open("dbname=none", "SUPPORT_DATABASE_URL", 100);
    ck_assert_ptr_eq(sp_store_reader(primary, NULL), primary);
    ck_assert_uint_eq(sp_metrics_get(SP_M_DB_READS_REPLICA), 0);
    ck_assert_uint_eq(sp_metrics_get(SP_M_DB_READS_FALLBACK), 0);
    sp_store_close(primary);
}
END_TEST

START_TEST(an_unreachable_replica_falls_back_and_is_not_retried_at_once)
{
    struct sp_db *primary = sp_store_open("dbname=none", "SUPPORT_DATABASE_URL", 100);
    /* A socket directory that does not exist: the connect fails at once. */
    struct sp_db *replica =
        sp_store_open("host=/nonexistent/sp-test-replica port=1 connect_timeout=1",
                      "SUPPORT_DATABASE_READ_URL", 100);
    uint64_t failures = sp_metrics_get(SP_M_DB_CONNECT_FAILURES);
    ck_assert_ptr_eq(sp_store_reader(primary, replica), primary);
    ck_assert_uint_eq(sp_metrics_get(SP_M_DB_CONNECT_FAILURES), failures + 1);
    for (int i = 0; i < 5; i++)
        ck_assert_ptr_eq(sp_store_reader(primary, replica), primary);
    /* Within the retry interval: no further connect attempt. */
    ck_assert_uint_eq(sp_metrics_get(SP_M_DB_CONNECT_FAILURES), failures + 1);
    ck_assert_uint_eq(sp_metrics_get(SP_M_DB_READS_FALLBACK), 6);
    ck_assert_uint_eq(sp_metrics_get(SP_M_DB_READS_REPLICA), 0);
    sp_store_close(replica);
    sp_store_close(primary);
}
END_TEST

static Suite *
store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, without_a_replica_reads_use_the_primary);
    tcase_add_test(tc, an_unreachable_replica_falls_back_and_is_not_retried_at_once);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    if (!sp_metrics_init(0))
        return EXIT_FAILURE;
    return sp_unit_run(store_suite());
}
