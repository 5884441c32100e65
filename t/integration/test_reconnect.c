/*
 * test_reconnect: no double writes on reconnect (issue 8, item 6). After a
 * PostgreSQL restart between statements, writes are applied exactly once
 * and reads recover by themselves; a write whose connection died after it
 * was sent is never run again behind the client's back (503), inside a
 * transaction or not.
 *
 * "Died after it was sent" is made deterministic by a trigger that, for a
 * marked row, counts the run in a sequence (which no rollback undoes) and
 * terminates its own backend on the first run. The count says how many
 * times the worker ran the statement.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static struct sp_t_resp *
chat_say(const struct sp_t_user *u, const char *session, const char *body)
{
    return sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", session), u->token,
                          sp_t_fmt("{\"body\":%s}", sp_t_jq(body)));
}

static long
rows_with(const char *table, const char *marker)
{
    return atol(sp_t_sql("SELECT count(*) FROM %s WHERE body LIKE '%%%s%%'", table, marker));
}

/* The first insert into table of a row whose body holds marker kills its
 * own connection mid-statement; every run is counted in the returned
 * sequence. */
static const char *
arm_kill_once(const char *table, const char *marker)
{
    const char *seq = sp_t_fmt("t_runs_%s", marker);
    sp_t_sql("CREATE SEQUENCE %s", seq);
    sp_t_sql("CREATE OR REPLACE FUNCTION t_kill_once() RETURNS trigger LANGUAGE plpgsql AS $$"
             " BEGIN"
             "  IF strpos(NEW.body, TG_ARGV[0]) > 0"
             "     AND nextval(TG_ARGV[1]::regclass) = 1 THEN"
             "   PERFORM pg_terminate_backend(pg_backend_pid());"
             "   PERFORM pg_sleep(2);"
             "  END IF;"
             "  RETURN NEW;"
             " END $$");
    sp_t_sql("CREATE TRIGGER t_kill_%s BEFORE INSERT ON %s FOR EACH ROW"
             " EXECUTE FUNCTION t_kill_once('%s', '%s')",
             marker, table, marker, seq);
    return seq;
}

static void
disarm(const char *table, const char *marker)
{
    sp_t_sql("DROP TRIGGER t_kill_%s ON %s", marker, table);
}

static long
runs(const char *seq)
{
    /* last_value is 1 with is_called false before the first nextval. */
    return atol(sp_t_sql("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM %s", seq));
}

/* A marker made of letters and digits only: it survives the body's
 * sanitizing and is a valid part of an identifier. */
static const char *
marker_new(void)
{
    const char *u = sp_t_unique("m");
    char *m = (char *)sp_t_fmt("%s", u);
    for (char *c = m; *c != '\0'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
            *c = 'x';
    return m;
}

START_TEST(writes_after_a_restart_are_applied_once_and_reads_recover)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *session = sp_t_chat_session_new(&u);
    const char *ticket = sp_t_ticket_create(&u, "before the restart");
    sp_t_stackctl("restart-pg");
    /* Each worker meets its dead connection on one of these: enough
     * requests for every one of them. */
    for (int i = 0; i < 12; i++) {
        const char *marker = marker_new();
        struct sp_t_resp *r = chat_say(&u, session, sp_t_fmt("after the restart %s", marker));
        sp_t_assert_json(r, 201);
        sp_t_resp_free(r);
        ck_assert_int_eq(rows_with("support_chat_messages", marker), 1);
    }
    sp_t_stackctl("restart-pg");
    for (int i = 0; i < 12; i++) {
        struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets/%s", ticket), u.token);
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
    }
    sp_t_stackctl("restart-pg");
    for (int i = 0; i < 6; i++) {
        const char *marker = marker_new();
        sp_t_ticket_reply(&u, ticket, sp_t_fmt("in a transaction %s", marker));
        ck_assert_int_eq(rows_with("support_ticket_messages", marker), 1);
    }
}
END_TEST

START_TEST(write_lost_after_sending_is_not_run_again)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *session = sp_t_chat_session_new(&u);
    const char *marker = marker_new();
    const char *seq = arm_kill_once("support_chat_messages", marker);
    const char *body = sp_t_fmt("lost on its way back %s", marker);

    struct sp_t_resp *r = chat_say(&u, session, body);
    long status = r->status;
    if (status != 201)
        sp_t_assert_problem(r, 503, "dependency_unavailable");
    sp_t_resp_free(r);
    /* Sent once, run once: never again on a fresh connection. */
    ck_assert_int_eq(runs(seq), 1);
    ck_assert_int_eq(rows_with("support_chat_messages", marker), status == 201 ? 1 : 0);

    /* The client's own retry goes through, once. */
    r = chat_say(&u, session, body);
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_int_eq(runs(seq), 2);
    ck_assert_int_eq(rows_with("support_chat_messages", marker), status == 201 ? 2 : 1);
    disarm("support_chat_messages", marker);
}
END_TEST

START_TEST(transaction_lost_with_its_connection_is_503)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *ticket = sp_t_ticket_create(&u, "a reply dies in its transaction");
    const char *marker = marker_new();
    const char *seq = arm_kill_once("support_ticket_messages", marker);
    const char *json = sp_t_fmt("{\"body\":%s}", sp_t_jq(sp_t_fmt("lost %s", marker)));

    struct sp_t_resp *r =
        sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", ticket), u.token, json);
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    sp_t_resp_free(r);
    ck_assert_int_eq(runs(seq), 1);
    ck_assert_int_eq(rows_with("support_ticket_messages", marker), 0);

    /* The worker is fine afterwards: no transaction is left half open. */
    for (int i = 0; i < 8; i++) {
        r = sp_t_get(sp_t_fmt("/support/tickets/%s", ticket), u.token);
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
    }
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", ticket), u.token, json);
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_int_eq(runs(seq), 2);
    ck_assert_int_eq(rows_with("support_ticket_messages", marker), 1);
    disarm("support_ticket_messages", marker);
}
END_TEST

static Suite *
reconnect_suite(void)
{
    Suite *s = suite_create("reconnect");
    TCase *tc = sp_t_tcase(s, "restart");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, writes_after_a_restart_are_applied_once_and_reads_recover);
    tc = sp_t_tcase(s, "lost_after_send");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, write_lost_after_sending_is_not_run_again);
    tcase_add_test(tc, transaction_lost_with_its_connection_is_503);
    return s;
}

int
main(void)
{
    return sp_t_run(reconnect_suite());
}
