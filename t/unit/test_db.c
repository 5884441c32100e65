/*
 * test_db: the reconnect rule of src/db/db.c (sp_db_may_retry): a
 * statement runs again after its connection was lost only when its first
 * run cannot have been applied, or running it twice changes nothing, and
 * never inside a transaction or more than once. A connection string libpq
 * cannot read is refused naming its variable, and never reaches a log.
 */
#include <check.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "core/arena.h"
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

/* Named parameters: each :name becomes $n by its place in the names
 * table; casts, strings and unknown names are handled. */
START_TEST(named_parameters_become_positional)
{
    static const char *const names[] = {"id", "now_ms", "body", NULL};
    char err[128];
    char *sql = sp_db_positional_sql(
        "INSERT INTO t (a, b, c, d) VALUES (:id::bigint, :now_ms, ':not_a_param', :now_ms)"
        " RETURNING x::text, 'it''s :body', :body",
        names, err, sizeof(err));
    ck_assert_ptr_nonnull(sql);
    ck_assert_str_eq(sql, "INSERT INTO t (a, b, c, d) VALUES ($1::bigint, $2, ':not_a_param', $2)"
                          " RETURNING x::text, 'it''s :body', $3");
    free(sql);
    ck_assert_ptr_null(sp_db_positional_sql("SELECT :nope", names, err, sizeof(err)));
    ck_assert_str_eq(err, "unknown parameter :nope");
    static const char *const create[] = {"a", NULL};
    static struct sp_stmt st = SP_STMT_NAMED("named", "SELECT :a", create, 1);
    ck_assert_ptr_eq(st.names, create);
    ck_assert(!st.read_only);
    ck_assert_int_eq(st.nparams, 1);
}
END_TEST

/* One owner per transaction: a begin inside one is refused before any
 * statement is sent (the connection here is never opened). */
START_TEST(a_begin_inside_a_transaction_is_refused)
{
    struct sp_db db;
    sp_db_init(&db, "dbname=never_used", 0);
    db.tx_depth = 1;
    struct sp_arena a;
    sp_arena_init(&a, 512);
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(sp_db_begin(&db, &a, &p), SP_ERROR);
    ck_assert_str_eq(p.detail, "nested transaction");
    ck_assert_int_eq(db.tx_depth, 1);
    ck_assert_ptr_null(db.conn);
    db.tx_depth = 0;
    sp_arena_destroy(&a);
    sp_db_close(&db);
}
END_TEST

START_TEST(int_arrays_are_bigint_literals)
{
    struct sp_arena a;
    sp_arena_init(&a, 512);
    const long long v[] = {1, -2, 9223372036854775807LL};
    ck_assert_str_eq(sp_db_int_array(&a, v, 3), "{1,-2,9223372036854775807}");
    ck_assert_str_eq(sp_db_int_array(&a, v, 0), "{}");
    sp_arena_destroy(&a);
}
END_TEST

START_TEST(text_arrays_quote_every_element)
{
    struct sp_arena a;
    sp_arena_init(&a, 512);
    const char *const v[] = {"a", "NULL", "b c,d", "say \"hi\"", "back\\slash", ""};
    ck_assert_str_eq(sp_db_text_array(&a, v, 6),
                     "{\"a\",\"NULL\",\"b c,d\",\"say \\\"hi\\\"\",\"back\\\\slash\",\"\"}");
    ck_assert_str_eq(sp_db_text_array(&a, v, 0), "{}");
    sp_arena_destroy(&a);
}
END_TEST

/* A result of one text column "x" with rows rows (each "v"). */
static PGresult *
result_of(int rows)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc col = {.name = (char *)"x", .typid = 25, .typlen = -1, .atttypmod = -1};
    ck_assert(PQsetResultAttrs(r, 1, &col));
    for (int i = 0; i < rows; i++)
        ck_assert(PQsetvalue(r, i, 0, (char *)"v", 1));
    return r;
}

/* No row: the caller's problem (or not_found); a failed statement keeps
 * the problem sp_db_exec set; a row is SP_OK and touches nothing. */
START_TEST(found_or_names_the_problem_of_no_row)
{
    struct sp_problem p;
    sp_problem_init(&p);
    PGresult *none = result_of(0), *one = result_of(1);
    ck_assert_int_eq(sp_db_found_or(none, SP_CONFLICT, "already_done", "done before", &p),
                     SP_CONFLICT);
    ck_assert_str_eq(p.code, "already_done");
    ck_assert_str_eq(p.detail, "done before");
    ck_assert_int_eq(sp_db_found(none, "ticket", &p), SP_NOT_FOUND);
    ck_assert_str_eq(p.code, "not_found");
    ck_assert_str_eq(p.detail, "no such ticket");
    sp_problem_init(&p);
    ck_assert_int_eq(sp_db_found_or(one, SP_CONFLICT, "x", "y", &p), SP_OK);
    ck_assert_int_eq(sp_db_found(one, "ticket", &p), SP_OK);
    ck_assert_int_eq(p.rc, SP_OK);
    sp_problem_set(&p, SP_UNAVAILABLE, "database_unavailable", "down");
    ck_assert_int_eq(sp_db_found_or(NULL, SP_CONFLICT, "x", "y", &p), SP_UNAVAILABLE);
    ck_assert_int_eq(sp_db_found(NULL, "ticket", &p), SP_UNAVAILABLE);
    ck_assert_str_eq(p.code, "database_unavailable");
    PQclear(none);
    PQclear(one);
}
END_TEST


/* Connection strings libpq refuses, each with the secret "SECRETXYZ". */
static const char *const bad_conninfo[] = {
    "postgresql://support:Pa%zzSECRETXYZ@localhost/support",
    "postgresql://u:SECRETXYZ@[bad",
    "host=localhost password=SECRETXYZ 'unterminated",
    "nosuchoption=1 password=SECRETXYZ",
    /* libpq reads these, but splits the password: as the port
     * ('invalid integer value "SECRETXYZ"'), as a host name
     * ('could not translate host name "PWSECRETXYZ@127.0.0.1"'). */
    "postgresql://u:SECRETXYZ/PWSECRETXYZ@127.0.0.1:1/db",
    "postgresql://u:SECRETXYZ@PWSECRETXYZ@127.0.0.1:1/db",
    "postgres://u:SECRETXYZ/x@y@127.0.0.1:1/db?sslmode=disable",
};

START_TEST(an_unreadable_conninfo_is_refused_naming_the_variable)
{
    char err[256];
    for (size_t i = 0; i < sizeof(bad_conninfo) / sizeof(bad_conninfo[0]); i++) {
        err[0] = '\0';
        ck_assert(!sp_db_conninfo_ok("SUPPORT_DATABASE_READ_URL", bad_conninfo[i], err,
                                     sizeof(err)));
        ck_assert_msg(strncmp(err, "SUPPORT_DATABASE_READ_URL: ", 27) == 0, "%s", err);
        ck_assert_ptr_null(strstr(err, "SECRETXYZ"));
    }
    /* The split password: says what to do about it. */
    ck_assert(!sp_db_conninfo_ok("SUPPORT_DATABASE_URL", bad_conninfo[4], err, sizeof(err)));
    ck_assert_msg(strstr(err, "percent-encode the password") != NULL, "%s", err);
    const char *const good[] = {NULL, "", "dbname=support", "host=db password=s user=u",
                                "host=db password=a/b@c@d user=u",
                                "postgresql://u:p%20q@localhost:5432/support?sslmode=disable",
                                "postgresql://u:S3%2FCR%40ET@localhost/support",
                                "postgresql://localhost/support?user=a@b&password=c/d@e",
                                "postgresql://u@localhost/support"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert(sp_db_conninfo_ok("SUPPORT_DATABASE_URL", good[i], err, sizeof(err)));
}
END_TEST

/* What the log (stderr) gets while db tries to connect. */
static void
log_of_connect(struct sp_db *db, char *out, size_t cap)
{
    struct sp_unit_log l = sp_unit_log_begin();
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(sp_db_connect(db, &p), SP_UNAVAILABLE);
    sp_unit_log_end(l, out, cap);
}

/* libpq's message quotes a conninfo it cannot parse: a fixed text naming
 * the variable is logged instead. */
START_TEST(a_connect_error_never_logs_the_conninfo)
{
    char log[4096];
    for (size_t i = 0; i < sizeof(bad_conninfo) / sizeof(bad_conninfo[0]); i++) {
        struct sp_db db;
        sp_db_init(&db, bad_conninfo[i], 0);
        sp_db_set_setting(&db, "SUPPORT_DATABASE_READ_URL");
        log_of_connect(&db, log, sizeof(log));
        ck_assert_msg(strstr(log, "SECRETXYZ") == NULL, "%s", log);
        ck_assert_msg(strstr(log, "SUPPORT_DATABASE_READ_URL: libpq refused it") != NULL, "%s",
                      log);
        sp_db_close(&db);
    }
}
END_TEST

/* A server that cannot be reached keeps libpq's message (where it failed
 * is what an operator needs), which names no password; with a URI's
 * user:password part too, the values the URI gave (the host) show. */
START_TEST(a_connect_error_keeps_the_reason_without_the_password)
{
    static const struct {
        const char *conninfo, *says;
    } cases[] = {
        {"host=/nonexistent/sp-test port=1 password=SECRETXYZ connect_timeout=1",
         "No such file or directory"},
        {"postgresql://u:SECRETXYZ@127.0.0.1:1/db?connect_timeout=2",
         "\\\"127.0.0.1\\\", port 1 failed: Connection refused"},
    };
    char log[4096];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_db db;
        sp_db_init(&db, cases[i].conninfo, 0);
        log_of_connect(&db, log, sizeof(log));
        ck_assert_msg(strstr(log, "SECRETXYZ") == NULL, "%s", log);
        ck_assert_msg(strstr(log, cases[i].says) != NULL, "%s", log);
        ck_assert_msg(strstr(log, "\"setting\":\"SUPPORT_DATABASE_URL\"") != NULL, "%s", log);
        sp_db_close(&db);
    }
}
END_TEST

/* Only the job lock's "already running" is a busy pass (info, exit 0,
 * not a run); any other conflict a pass meets (a unique violation, a chat
 * linked meanwhile) failed it: it was read as busy, logged at info and
 * exited 0, hiding the failure. */
START_TEST(only_the_job_lock_makes_a_pass_busy)
{
    struct sp_problem busy, other, failed;
    sp_problem_init(&busy);
    sp_problem_init(&other);
    sp_problem_init(&failed);
    sp_problem_set(&busy, SP_CONFLICT, "job_busy", "already running");
    sp_problem_set(&other, SP_CONFLICT, "conflict", "duplicate key");
    sp_problem_set(&failed, SP_UNAVAILABLE, "dependency_unavailable", "down");
    ck_assert(sp_db_job_busy(SP_CONFLICT, &busy));
    ck_assert(!sp_db_job_busy(SP_CONFLICT, &other));
    ck_assert(!sp_db_job_busy(SP_UNAVAILABLE, &failed));
    ck_assert(!sp_db_job_busy(SP_OK, NULL));
    ck_assert_int_eq(sp_db_job_log_level(SP_CONFLICT, &busy), SP_LOG_INFO);
    ck_assert_int_eq(sp_db_job_log_level(SP_OK, NULL), SP_LOG_INFO);
    ck_assert_int_eq(sp_db_job_log_level(SP_CONFLICT, &other), SP_LOG_ERROR);
    ck_assert_int_eq(sp_db_job_log_level(SP_UNAVAILABLE, &failed), SP_LOG_ERROR);
}
END_TEST

/* A pass a stop cut short is neither done nor failed: its line at warn,
 * and not busy; only sp_db_job_stop's outcome is (QA: the pass line at
 * info, or "the database is unavailable" at error). */
START_TEST(a_stopped_pass_is_its_own_outcome)
{
    struct sp_problem stopped, failed;
    sp_problem_init(&stopped);
    sp_problem_init(&failed);
    ck_assert_int_eq(sp_db_job_stop(&stopped), SP_UNAVAILABLE);
    ck_assert_str_eq(stopped.detail, "stopped by a signal before it finished");
    ck_assert(stopped.logged);
    sp_problem_set(&failed, SP_UNAVAILABLE, "dependency_unavailable", "down");
    ck_assert(sp_db_job_stopped(SP_UNAVAILABLE, &stopped));
    ck_assert(!sp_db_job_stopped(SP_UNAVAILABLE, &failed));
    ck_assert(!sp_db_job_stopped(SP_OK, NULL));
    ck_assert(!sp_db_job_busy(SP_UNAVAILABLE, &stopped));
    ck_assert_int_eq(sp_db_job_log_level(SP_UNAVAILABLE, &stopped), SP_LOG_WARN);
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
    tcase_add_test(tc, named_parameters_become_positional);
    tcase_add_test(tc, a_begin_inside_a_transaction_is_refused);
    tcase_add_test(tc, int_arrays_are_bigint_literals);
    tcase_add_test(tc, text_arrays_quote_every_element);
    tcase_add_test(tc, found_or_names_the_problem_of_no_row);
    tcase_add_test(tc, a_stopped_pass_is_its_own_outcome);
    tcase_add_test(tc, an_unreadable_conninfo_is_refused_naming_the_variable);
    tcase_add_test(tc, a_connect_error_never_logs_the_conninfo);
    tcase_add_test(tc, a_connect_error_keeps_the_reason_without_the_password);
    tcase_add_test(tc, only_the_job_lock_makes_a_pass_busy);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(db_suite());
}
