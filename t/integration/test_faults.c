/*
 * test_faults: the short version of bench/faults (issue 8, item 9) — faults
 * under a little load, with the load generator bench/faults_load.py
 * (it records every request's outcome and prints one JSON summary):
 *
 * - kill -9 of support-api worker children (never the master) every 0.5 s
 *   while 4 clients GET and POST tickets: no failure before the kills, and
 *   afterwards only requests that were in flight on a killed worker fail, at
 *   most one per kill; no POST made two tickets;
 * - PostgreSQL restart (stackctl restart-pg) while 4 clients create tickets
 *   with unique Idempotency-Keys, retrying a failed create with the same key
 *   until 201: every 201 is in the database with its public_id, no key made
 *   two tickets, and replaying a key gives the same ticket;
 * - nginx reload (stackctl reload-nginx) while messages are POSTed to two
 *   chat sessions with two websocket subscribers each: every subscriber is
 *   closed, reconnects and, with the HTTP history, has every stored message.
 *
 * test_operations covers a single worker kill and a restart between requests;
 * test_chat_transport covers support-chat children killed while clients send.
 * No timing is asserted beyond generous bounds.
 */
#include "chat_harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------- */

static const char *
tmp_path(const char *what)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    return sp_t_fmt("%s/%s", dir, sp_t_unique(what));
}

/* A file of n fresh customer tokens, one a line. */
static const char *
tokens_file(int n)
{
    const char *path = tmp_path("faults-tokens");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", sp_t_user_new(SP_ROLE_CUSTOMER).token);
    fclose(f);
    return path;
}

static const char *
stack_path(const char *rel)
{
    const char *dir = getenv("SP_TEST_STACK_DIR");
    ck_assert_ptr_nonnull(dir);
    return sp_t_fmt("%s/%s", dir, rel);
}

/* Runs bench/faults_load.py MODE --base … --prefix PREFIX ARGS; asserts exit
 * 0 and returns its JSON summary (json_object_put by the caller). */
static struct json_object *
faults_load(const char *mode, const char *prefix, const char *args)
{
    const char *out = tmp_path("faults-out");
    const char *log = sp_t_fmt("%s.log", out);
    const char *script = sp_t_fmt("%s/bench/faults_load.py", getenv("SP_TEST_TOP_SRCDIR"));
    const char *cmd = sp_t_fmt("%s %s %s --base %s --out %s --prefix %s %s >%s 2>&1",
                               sp_t_python(), sp_t_shq(script), mode,
                               sp_t_shq(getenv("SP_TEST_BASE_URL")), sp_t_shq(out),
                               sp_t_shq(prefix), args, sp_t_shq(log));
    int rc = system(cmd);
    if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 0)) {
        FILE *f = fopen(log, "r");
        char line[1024];
        while (f != NULL && fgets(line, sizeof(line), f) != NULL)
            fprintf(stderr, "faults_load: %s", line);
        if (f != NULL)
            fclose(f);
        ck_abort_msg("faults_load.py %s failed (status %d)", mode, rc);
    }
    unlink(log);
    struct json_object *o = json_object_from_file(out);
    ck_assert_msg(o != NULL, "no JSON from faults_load.py %s", mode);
    unlink(out);
    fprintf(stderr, "faults: %s\n", json_object_to_json_string(o));
    return o;
}

static int64_t
jint_in(struct json_object *o, const char *a, const char *b)
{
    return sp_t_jint(sp_t_jobj(o, a), b);
}

static long
tickets_with_subject(const char *subject)
{
    return atol(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject = '%s'", subject));
}

/* ---- a: kill -9 of API worker children under load ---------------------------- */

START_TEST(api_worker_kills_fail_only_requests_in_flight)
{
    pid_t master = sp_t_master_pid("support-api");
    const char *prefix = sp_t_unique("fa");
    /* 4 readers at most 100 requests/s each, every 10th a POST: at most
     * ~200 creates over 40 customers (the creation limit is 10/min each) */
    const char *tokens = tokens_file(40);
    struct json_object *r = faults_load(
        "api", prefix,
        sp_t_fmt("--tokens %s --clients 4 --baseline 1.5 --duration 3 --kill-every 0.5 "
                 "--kill-pidfile %s --interval 0.01 --post-every 10 --max-posts 300",
                 sp_t_shq(tokens), sp_t_shq(stack_path("run/support-api.pid"))));
    unlink(tokens);
    struct json_object *base = sp_t_jobj(sp_t_jobj(r, "phases"), "baseline");
    struct json_object *fault = sp_t_jobj(sp_t_jobj(r, "phases"), "fault");
    int64_t kills = sp_t_jint(r, "kills");
    ck_assert_int_ge(kills, 3);
    ck_assert_int_gt(sp_t_jint(base, "ok"), 0);
    ck_assert_int_eq(sp_t_jint(base, "failures"), 0);
    ck_assert_int_gt(sp_t_jint(fault, "ok"), 0);
    ck_assert_int_gt(sp_t_jint(fault, "posts"), 0);
    /* every failure was in flight on a killed worker, one per kill at most */
    ck_assert_int_eq(sp_t_jint(fault, "unattributed"), 0);
    ck_assert_int_le(sp_t_jint(fault, "failures"), kills);
    ck_assert_int_le(sp_t_jint(fault, "max_failures_per_kill"), 1);
    /* a POST cut short made one ticket or none */
    struct json_object *keys = sp_t_jarr(r, "post_keys");
    ck_assert_uint_gt(json_object_array_length(keys), 0);
    for (size_t i = 0; i < json_object_array_length(keys); i++) {
        const char *key = json_object_get_string(json_object_array_get_idx(keys, i));
        ck_assert_int_le(tickets_with_subject(sp_t_fmt("faults %s", key)), 1);
    }
    json_object_put(r);
    /* the master lived on, and the pool serves again */
    ck_assert_int_eq(sp_t_master_pid("support-api"), master);
    ck_assert_int_eq(kill(master, 0), 0);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "after the kills");
    for (int i = 0; i < 8; i++)
        sp_t_resp_free(sp_t_ticket_get(&u, id));
}
END_TEST

/* ---- b: PostgreSQL restart under ticket creation ----------------------------- */

START_TEST(pg_restart_loses_no_acknowledged_create_and_duplicates_none)
{
    const char *prefix = sp_t_unique("fp");
    const int ntokens = 60;
    const char *tokens = tokens_file(ntokens);
    struct json_object *r = faults_load(
        "pg", prefix,
        sp_t_fmt("--tokens %s --clients 4 --interval 0.05 --max-creates 150 --duration 5 "
                 "--fault-at 1 --fault-cmd %s --max-tries 200",
                 sp_t_shq(tokens),
                 sp_t_shq(sp_t_fmt("%s restart-pg", getenv("SP_TEST_STACKCTL")))));
    ck_assert_int_eq(jint_in(r, "fault", "rc"), 0);
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r, "gave_up")), 0);
    struct json_object *acks = sp_t_jarr(r, "acks");
    struct json_object *keys = sp_t_jarr(r, "keys");
    size_t nacks = json_object_array_length(acks);
    ck_assert_uint_gt(nacks, 10);
    ck_assert_uint_eq(nacks, json_object_array_length(keys));
    /* every 201 is in the database, with the public_id it announced, once */
    for (size_t i = 0; i < nacks; i++) {
        struct json_object *a = json_object_array_get_idx(acks, i);
        const char *subject = sp_t_fmt("faults %s", sp_t_jstr(a, "key"));
        ck_assert_msg(tickets_with_subject(subject) == 1, "%s: %ld tickets", subject,
                      tickets_with_subject(subject));
        const char *pid = sp_t_sql("SELECT public_id FROM support_tickets WHERE subject = '%s'",
                                   subject);
        ck_assert_str_eq(pid, sp_t_jstr(a, "public_id"));
    }
    /* nothing else of this run */
    ck_assert_int_eq(atol(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject LIKE "
                                   "'faults %s-%%'", prefix)),
                     (long)nacks);
    /* a client retrying an acknowledged key later gets the same ticket */
    for (size_t i = 0; i < nacks; i += nacks / 4 + 1) {
        struct json_object *a = json_object_array_get_idx(acks, i);
        const char *key = sp_t_jstr(a, "key");
        long k = atol(strrchr(key, '-') + 1);
        /* the customer faults_load.py used for key k: line k % ntokens */
        FILE *f = fopen(tokens, "r");
        ck_assert_ptr_nonnull(f);
        static char line[4096];
        for (long j = 0; j <= k % ntokens; j++)
            ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", key), NULL};
        struct sp_t_resp *again = sp_t_request(
            "POST", "/support/tickets", line, SP_T_JSON,
            /* byte for byte the body faults_load.py sent (json.dumps) */
            sp_t_fmt("{\"subject\": \"faults %s\", \"description\": \"pg restart\"}", key), hdr);
        sp_t_assert_json(again, 201);
        ck_assert_str_eq(sp_t_header(again, "Idempotent-Replayed"), "true");
        ck_assert_str_eq(sp_t_jstr(again->json, "public_id"), sp_t_jstr(a, "public_id"));
        sp_t_resp_free(again);
        ck_assert_int_eq(tickets_with_subject(sp_t_fmt("faults %s", key)), 1);
    }
    unlink(tokens);
    json_object_put(r);
}
END_TEST

/* ---- c: nginx reload under websocket subscribers ----------------------------- */

START_TEST(nginx_reload_subscribers_reconnect_and_catch_up)
{
    const char *sessions = tmp_path("faults-sessions");
    FILE *f = fopen(sessions, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 2; i++) {
        struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
        struct sp_t_resp *r = sp_t_post_json("/support/chat/session", u.token,
                                             "{\"message\":\"before the reload\"}");
        sp_t_assert_json(r, 201);
        fprintf(f, "%s %s %s\n", sp_t_jstr(r->json, "session_id"),
                sp_t_jstr(r->json, "session_token"), u.token);
        sp_t_resp_free(r);
    }
    fclose(f);
    const char *prefix = sp_t_unique("fr");
    /* 10 messages/s over 2 sessions for 4 s: 20 per session, below the
     * 60/min chat limit */
    struct json_object *r = faults_load(
        "reload", prefix,
        sp_t_fmt("--sessions %s --per-session 2 --rate 10 --duration 4 --fault-at 1.5 "
                 "--fault-cmd %s",
                 sp_t_shq(sessions),
                 sp_t_shq(sp_t_fmt("%s reload-nginx", getenv("SP_TEST_STACKCTL")))));
    unlink(sessions);
    ck_assert_int_eq(jint_in(r, "fault", "rc"), 0);
    int64_t subs = sp_t_jint(r, "subscribers");
    ck_assert_int_eq(subs, 4);
    /* the reload closes every subscriber (chat-transport.md §1.6); each one
     * came back */
    ck_assert_int_eq(sp_t_jint(r, "subscribers_closed"), subs);
    ck_assert_int_eq(sp_t_jint(r, "subscribers_reconnected"), subs);
    int64_t sent = sp_t_jint(r, "messages_sent");
    ck_assert_int_gt(sent, 10);
    ck_assert_int_eq(sp_t_jint(r, "messages_stored"), sent);
    ck_assert_int_eq(sp_t_jint(r, "deliveries_expected"), 2 * sent);
    /* live frames + the HTTP history after reconnecting: nothing missing */
    ck_assert_int_eq(sp_t_jint(r, "missed_after_catchup"), 0);
    json_object_put(r);
    /* nginx itself still serves */
    struct sp_t_resp *h = sp_t_get("/support/healthz", NULL);
    sp_t_assert_json(h, 200);
    sp_t_resp_free(h);
}
END_TEST

static Suite *
faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = sp_t_tcase(s, "workers");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, api_worker_kills_fail_only_requests_in_flight);
    tc = sp_t_tcase(s, "database");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pg_restart_loses_no_acknowledged_create_and_duplicates_none);
    tc = sp_t_tcase(s, "nginx");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, nginx_reload_subscribers_reconnect_and_catch_up);
    return s;
}

int
main(void)
{
    return sp_t_run(faults_suite());
}
