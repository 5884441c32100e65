/*
 * test_ai_usage: the ai-usage-monitor job (API.md §12) run as
 * $SP_TEST_TOP_BUILDDIR/ai-usage-monitor with a pinned clock (--now)
 * over support_ai_interactions rows seeded in the past: the hourly
 * aggregate (requests, errors, tokens, average and p95 latency per hour,
 * model and user), anomalies of each kind flagged once with one outbox
 * notification for the admins each, quiet models left alone, idempotent
 * re-runs, --dry-run changing nothing, and the advisory lock. Each test
 * has a day and model names of its own, far from other programs' rows.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* n calls of model by user (asking as role: NULL, or a caller_role) at
 * day + hour:minute (UTC), latencies 1..n ms, 10 prompt and 5 completion
 * tokens each, the first errors of them failed. */
static void
seed_as(const char *day, int hour, const char *model, const char *user, const char *role,
        int n, int errors)
{
    sp_t_sql("INSERT INTO support_ai_interactions (user_id, model, prompt, latency_ms,"
             " prompt_tokens, completion_tokens, error, created_at, caller_role)"
             " SELECT %s, '%s', 'seeded', i, 10, 5,"
             "  CASE WHEN i <= %d THEN 'dependency_unavailable' END,"
             "  '%sT%02d:00:00Z'::timestamptz + (i %% 50) * interval '1 minute', %s"
             " FROM generate_series(1, %d) AS i",
             user ? sp_t_fmt("'%s'", user) : "NULL", model, errors, day, hour,
             role ? sp_t_fmt("'%s'", role) : "NULL", n);
}

static void
seed(const char *day, int hour, const char *model, const char *user, int n, int errors)
{
    seed_as(day, hour, model, user, NULL, n, errors);
}

/* The same calls on each of the 8 days before day (at that hour). */
static void
seed_history(const char *day, int hour, const char *model, int n, int errors)
{
    for (int d = 1; d <= 8; d++) {
        const char *past = sp_t_sql("SELECT to_char(('%s'::date - %d), 'YYYY-MM-DD')", day, d);
        seed(past, hour, model, sp_t_fmt("hist-%d", d), n, errors);
    }
}

static const char *
monitor(const char *now, const char *flag)
{
    const char *out;
    const char *const args[] = {"--once", "--now", now, flag, NULL};
    int rc = sp_t_job_run("ai-usage-monitor", NULL, args, &out);
    ck_assert_msg(rc == 0, "ai-usage-monitor exited %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, "\"event\":\"ai_usage_pass\"") != NULL, "%s", out);
    return out;
}

static long
count(const char *sql)
{
    return strtol(sp_t_sql("%s", sql), NULL, 10);
}

static long
anomalies(const char *model_like)
{
    return count(sp_t_fmt("SELECT count(*) FROM support_ai_usage_anomalies"
                          " WHERE model LIKE '%s' OR user_id LIKE '%s'",
                          model_like, model_like));
}

static long
notifications(const char *model_like)
{
    return count(sp_t_fmt("SELECT count(*) FROM support_outbox WHERE event_type = "
                          "'ai.usage_anomaly' AND channel = 'team' AND recipient ="
                          " 'support_admin' AND kind = 'notification' AND ticket_id IS NULL"
                          " AND (payload->>'model' LIKE '%s' OR payload->>'user_id' LIKE '%s')",
                          model_like, model_like));
}

START_TEST(hours_are_aggregated_per_model_and_user)
{
    const char *m = sp_t_unique("agg");
    seed("2026-02-03", 9, m, "u-agg-1", 40, 4);
    seed("2026-02-03", 9, m, "u-agg-2", 2, 0);
    seed("2026-02-03", 10, m, NULL, 3, 3);
    monitor("2026-02-03T11:05:00Z", "--dry-run");
    ck_assert_int_eq(count(sp_t_fmt("SELECT count(*) FROM support_ai_usage_hourly"
                                    " WHERE model = '%s'", m)), 0);
    const char *out = monitor("2026-02-03T11:05:00Z", NULL);
    ck_assert_msg(strstr(out, "\"rows\":3") != NULL, "%s", out);
    const char *row = sp_t_sql(
        "SELECT concat_ws(' ', requests, errors, prompt_tokens, completion_tokens,"
        " avg_latency_ms, p95_latency_ms) FROM support_ai_usage_hourly"
        " WHERE model = '%s' AND user_id = 'u-agg-1' AND hour = '2026-02-03T09:00:00Z'", m);
    /* latencies 1..40: average 20.5, p95 (interpolated) 38.05 */
    ck_assert_str_eq(row, "40 4 400 200 20.5 38.05");
    ck_assert_str_eq(sp_t_sql("SELECT concat_ws(' ', requests, errors) FROM"
                              " support_ai_usage_hourly WHERE model = '%s' AND user_id = ''"
                              " AND hour = '2026-02-03T10:00:00Z'", m),
                     "3 3");
    /* A re-run changes nothing; a late call is counted by the next one. */
    out = monitor("2026-02-03T11:05:00Z", NULL);
    ck_assert_msg(strstr(out, "\"rows\":0") != NULL, "%s", out);
    seed("2026-02-03", 9, m, "u-agg-2", 1, 1);
    out = monitor("2026-02-03T11:20:00Z", NULL);
    ck_assert_msg(strstr(out, "\"rows\":1") != NULL, "%s", out);
    ck_assert_str_eq(sp_t_sql("SELECT concat_ws(' ', requests, errors) FROM"
                              " support_ai_usage_hourly WHERE model = '%s'"
                              " AND user_id = 'u-agg-2'", m),
                     "3 1");
    ck_assert_int_eq(count(sp_t_fmt("SELECT count(*) FROM support_ai_usage_hourly"
                                    " WHERE model = '%s'", m)), 3);
}
END_TEST

START_TEST(a_seeded_anomaly_is_flagged_once_and_notified)
{
    const char *day = "2026-03-20", *now = "2026-03-20T12:10:00Z";
    const char *busy = sp_t_unique("busy"), *flaky = sp_t_unique("flaky");
    const char *quiet = sp_t_unique("quiet"), *burster = sp_t_unique("burster");
    /* A week of history: 10 calls an hour at 11:00 for busy and quiet,
     * 20 healthy ones for flaky. */
    seed_history(day, 11, busy, 10, 0);
    seed_history(day, 11, quiet, 10, 0);
    seed_history(day, 11, flaky, 20, 0);
    /* The hour 11:00: busy six times its usual, spread over users;
     * quiet as usual; flaky half failing; one user's burst. */
    for (int i = 0; i < 6; i++)
        seed(day, 11, busy, sp_t_fmt("%s-u%d", busy, i), 10, 0);
    seed(day, 11, quiet, "quiet-user", 10, 0);
    seed(day, 11, flaky, "flaky-user", 20, 10);
    seed(day, 11, sp_t_fmt("%s-m", burster), burster, 250, 0);   /* >= the 200 floor */
    sp_t_sql("DELETE FROM support_ai_usage_anomalies WHERE hour = '%sT11:00:00Z'", day);
    const char *out = monitor(now, "--backfill");
    ck_assert_msg(strstr(out, "\"event\":\"ai_usage_anomaly\"") != NULL, "%s", out);
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(kind || '=' || value, ' ' ORDER BY kind)"
                              " FROM support_ai_usage_anomalies WHERE model = '%s'"
                              " AND hour = '%sT11:00:00Z'", busy, day),
                     "requests=60 tokens=900");
    /* Without history the bar is the floor, and the threshold says so
     * (not the statistical 0): 10 % for an error rate, 200 requests for
     * a burst. */
    ck_assert_int_eq(count(sp_t_fmt("SELECT count(*) FROM support_ai_usage_anomalies"
                                    " WHERE model = '%s' AND kind = 'error_rate'"
                                    " AND value = 0.5 AND mean = 0 AND threshold = 0.1",
                                    flaky)), 1);
    ck_assert_int_eq(count(sp_t_fmt("SELECT count(*) FROM support_ai_usage_anomalies"
                                    " WHERE user_id = '%s' AND kind = 'user_burst'"
                                    " AND model = '' AND value = 250 AND threshold = 200"
                                    " AND side = ''", burster)), 1);
    /* The burst's line names its anomaly row, never the user (who may be
     * a customer: docs/operations.md "Logs"). */
    const char *burst_id = sp_t_sql("SELECT id FROM support_ai_usage_anomalies"
                                    " WHERE user_id = '%s' AND kind = 'user_burst'", burster);
    const char *at = strstr(out, sp_t_fmt("\"anomaly_id\":%s,", burst_id));
    ck_assert_msg(at != NULL && strstr(out, "\"user_id\"") == NULL, "%s", out);
    const char *line = sp_t_fmt("%.*s", (int)strcspn(at, "\n"), at);
    ck_assert_msg(strstr(line, "\"kind\":\"user_burst\"") != NULL &&
                      strstr(line, "\"threshold\":\"200\"") != NULL, "%s", line);
    ck_assert_msg(strstr(out, sp_t_fmt("\"%s\"", burster)) == NULL, "%s", out);
    /* An hour like its week is no anomaly; busy's users are no bursts. */
    ck_assert_int_eq(anomalies(quiet), 0);
    ck_assert_int_eq(anomalies("quiet-user"), 0);
    ck_assert_int_eq(anomalies(sp_t_fmt("%s-u%%", busy)), 0);
    ck_assert_int_eq(anomalies(sp_t_fmt("%s%%", flaky)), 1);
    ck_assert_int_eq(notifications(sp_t_fmt("%s%%", busy)), 2);
    ck_assert_int_eq(notifications(sp_t_fmt("%s%%", flaky)), 1);
    ck_assert_int_eq(notifications(burster), 1);
    /* Re-runs: the same hour is not flagged or notified again. */
    monitor(now, NULL);
    monitor("2026-03-20T13:10:00Z", NULL);
    ck_assert_int_eq(anomalies(sp_t_fmt("%s%%", busy)), 2);
    ck_assert_int_eq(notifications(sp_t_fmt("%s%%", busy)), 2);
    ck_assert_int_eq(notifications(sp_t_fmt("%s%%", flaky)), 1);
    ck_assert_int_eq(notifications(burster), 1);
    ck_assert_str_eq(sp_t_sql("SELECT payload->>'kind' || ' ' || (payload->>'value')"
                              " FROM support_outbox WHERE payload->>'model' = '%s'", flaky),
                     "error_rate 0.5000");
    ck_assert_str_eq(sp_t_sql("SELECT payload->>'threshold' FROM support_outbox"
                              " WHERE payload->>'model' = '%s'", flaky),
                     "0.1000");
}
END_TEST

/* QA: 150 calls of customer 5000 and 150 of agent 5000 in one hour were
 * one burst of 300 for "user 5000". Customers and staff are numbered
 * apart (docs/API.md §10 "Owners"); an agent and an admin with one sub
 * are one person. */
START_TEST(a_customer_and_an_agent_with_one_id_are_two_users)
{
    const char *day = "2026-05-09", *now = "2026-05-09T15:10:00Z";
    const char *m = sp_t_unique("sides"), *id = sp_t_unique("5000");
    seed_as(day, 13, m, id, "customer", 150, 0);
    seed_as(day, 13, m, id, "agent", 150, 0);
    const char *out = monitor(now, NULL);
    ck_assert_int_eq(anomalies(id), 0);
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(side || '=' || requests, ' ' ORDER BY side)"
                              " FROM support_ai_usage_hourly WHERE user_id = '%s'", id),
                     "customer=150 staff=150");
    /* The staff side is one person however many roles: 150 + 60 as admin
     * is a burst of 210; the customer's 150 are no part of it. */
    seed_as(day, 14, m, id, "customer", 150, 0);
    seed_as(day, 14, m, id, "agent", 150, 0);
    seed_as(day, 14, m, id, "admin", 60, 0);
    out = monitor(now, NULL);
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(concat_ws(' ', kind, side, value, threshold),"
                              " ',') FROM support_ai_usage_anomalies WHERE user_id = '%s'", id),
                     "user_burst staff 210 200");
    const char *an = sp_t_sql("SELECT id FROM support_ai_usage_anomalies WHERE user_id = '%s'",
                              id);
    const char *at = strstr(out, sp_t_fmt("\"anomaly_id\":%s,", an));
    ck_assert_msg(at != NULL, "%s", out);
    const char *line = sp_t_fmt("%.*s", (int)strcspn(at, "\n"), at);
    ck_assert_msg(strstr(line, "\"side\":\"staff\"") != NULL &&
                      strstr(line, "\"threshold\":\"200\"") != NULL, "%s", line);
    ck_assert_str_eq(sp_t_sql("SELECT concat_ws(' ', payload->>'side', payload->>'user_id',"
                              " payload->>'value', payload->>'threshold') FROM support_outbox"
                              " WHERE payload->>'anomaly_id' = '%s'", an),
                     sp_t_fmt("staff %s 210.0000 200.0000", id));
    /* An anomaly flagged before sides were kept (side '', sql/086) is not
     * flagged again with one. */
    const char *old = sp_t_unique("5001");
    sp_t_sql("INSERT INTO support_ai_usage_anomalies (hour, kind, user_id, value, threshold,"
             " mean, stddev) VALUES ('%sT14:00:00Z', 'user_burst', '%s', 250, 200, 0, 0)",
             day, old);
    seed_as(day, 14, m, old, "customer", 250, 0);
    monitor(now, NULL);
    ck_assert_int_eq(anomalies(old), 1);
    ck_assert_int_eq(notifications(old), 0);
}
END_TEST

START_TEST(a_dry_run_flags_nothing_and_the_lock_keeps_one_run)
{
    const char *day = "2026-04-11", *now = "2026-04-11T08:30:00Z";
    const char *m = sp_t_unique("dry");
    seed_history(day, 7, m, 5, 0);
    seed(day, 7, m, "dry-user", 30, 0);
    const char *out = monitor(now, "--dry-run");
    /* Told what it would flag, wrote nothing. */
    ck_assert_msg(strstr(out, "\"dry_run\":1") != NULL, "%s", out);
    ck_assert_msg(strstr(out, m) != NULL, "%s", out);
    ck_assert_int_eq(anomalies(m), 0);
    ck_assert_int_eq(notifications(m), 0);
    ck_assert_int_eq(count(sp_t_fmt("SELECT count(*) FROM support_ai_usage_hourly"
                                    " WHERE model = '%s'", m)), 0);
    /* Another holder of the lock: the run does nothing and exits 0. */
    sp_t_sql("SELECT pg_advisory_lock(%lld)", 0x53504149555345LL);
    out = monitor(now, "--backfill");
    ck_assert_msg(strstr(out, "ai_usage_busy") != NULL, "%s", out);
    ck_assert_int_eq(anomalies(m), 0);
    sp_t_sql("SELECT pg_advisory_unlock(%lld)", 0x53504149555345LL);
    monitor(now, "--backfill");
    ck_assert_int_eq(anomalies(m), 2);   /* requests and tokens */
    ck_assert_int_eq(notifications(m), 2);
}
END_TEST

static Suite *
ai_usage_suite(void)
{
    Suite *s = suite_create("ai_usage");
    TCase *tc = sp_t_tcase(s, "monitor");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hours_are_aggregated_per_model_and_user);
    tcase_add_test(tc, a_seeded_anomaly_is_flagged_once_and_notified);
    tcase_add_test(tc, a_dry_run_flags_nothing_and_the_lock_keeps_one_run);
    tcase_add_test(tc, a_customer_and_an_agent_with_one_id_are_two_users);
    return s;
}

int
main(void)
{
    return sp_t_run(ai_usage_suite());
}
