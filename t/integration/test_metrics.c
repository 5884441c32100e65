/*
 * test_metrics: GET /metrics on the operators' listener (docs/metrics.md)
 * — the shared counters add up to the requests sent under load, across
 * every worker; histograms are consistent; counters survive a worker's
 * death (the master's segment); the scrape-time sources answer (webhook
 * deliveries pending and failed among them); the support-dispatch daemon
 * records its runs while it runs; support-chat's own page counts its
 * requests; and the public port never serves either page.
 */
#include "harness.h"

#include "core/arena.h"
#include "core/buf.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define N 48

static size_t
keep(char *p, size_t size, size_t n, void *ud)
{
    struct sp_buf *b = ud;
    sp_buf_append(b, p, size * n);
    return size * n;
}

/* The page at url, as text (arena-owned); asserts 200 and the exposition
 * type. */
static const char *
scrape_url(const char *url)
{
    static struct sp_arena a;
    static bool init;
    if (!init) {
        sp_arena_init(&a, 1 << 16);
        init = true;
    }
    struct sp_buf b;
    sp_buf_init(&b, &a, 1 << 14);
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    char *type = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    ck_assert_msg(status == 200, "%s: %ld", url, status);
    ck_assert_ptr_nonnull(type);
    ck_assert_msg(strncmp(type, "text/plain; version=0.0.4", 25) == 0, "type %s", type);
    curl_easy_cleanup(c);
    sp_buf_putc(&b, '\0');
    return b.data;
}

/* support-api's page. */
static const char *
scrape(void)
{
    return scrape_url(getenv("SP_TEST_METRICS_URL"));
}

/* support-chat's page: /chat/metrics on the same listener. */
static const char *
chat_url(void)
{
    const char *url = getenv("SP_TEST_METRICS_URL");
    const char *path = strrchr(url, '/');
    return sp_t_fmt("%.*s/chat/metrics", (int)(path - url), url);
}

/* The value of the sample whose name and labels are exactly series; 0
 * when the page has no such line (a counter never incremented). */
static double
value(const char *page, const char *series)
{
    size_t n = strlen(series);
    for (const char *s = page; s != NULL && *s != '\0'; s = strchr(s, '\n'), s = s ? s + 1 : s)
        if (strncmp(s, series, n) == 0 && s[n] == ' ')
            return strtod(s + n + 1, NULL);
    return 0;
}

static const char *
requests(const char *method, const char *route, const char *code)
{
    return sp_t_fmt("support_http_requests_total{method=\"%s\",route=\"%s\",code=\"%s\"}",
                    method, route, code);
}

static const char *
hist(const char *suffix, const char *route, const char *le)
{
    return le != NULL ? sp_t_fmt("support_http_request_duration_seconds%s{method=\"GET\","
                                 "route=\"%s\",le=\"%s\"}", suffix, route, le)
                      : sp_t_fmt("support_http_request_duration_seconds%s{method=\"GET\","
                                 "route=\"%s\"}", suffix, route);
}

static void
send_parallel(const char *path, const char *token, long status)
{
    const char *paths[N], *tokens[N];
    struct sp_t_resp *out[N];
    for (int i = 0; i < N; i++) {
        paths[i] = path;
        tokens[i] = token;
    }
    sp_t_parallel(N, "GET", paths, tokens, NULL, NULL, out);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(out[i]->status, status);
        sp_t_resp_free(out[i]);
    }
}

START_TEST(counters_add_up_to_the_requests_sent_under_load)
{
    const char *before = scrape();
    send_parallel("/support/healthz", NULL, 200);
    send_parallel("/support/tickets", NULL, 401);
    send_parallel(sp_t_fmt("/support/%s", sp_t_unique("nowhere")), NULL, 404);
    const char *after = scrape();

    const char *h = "/support/healthz";
    ck_assert_double_eq(value(after, requests("GET", h, "2xx")) -
                            value(before, requests("GET", h, "2xx")), N);
    ck_assert_double_eq(value(after, requests("GET", "/support/tickets", "4xx")) -
                            value(before, requests("GET", "/support/tickets", "4xx")), N);
    ck_assert_double_eq(value(after, requests("", "unmatched", "4xx")) -
                            value(before, requests("", "unmatched", "4xx")), N);
    /* The histogram: N more observations, +Inf equal to _count, buckets
     * never decreasing, a sum that grew. */
    ck_assert_double_eq(value(after, hist("_count", h, NULL)) -
                            value(before, hist("_count", h, NULL)), N);
    ck_assert_double_eq(value(after, hist("_bucket", h, "+Inf")),
                        value(after, hist("_count", h, NULL)));
    static const char *const les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                      "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
    for (size_t i = 1; i < sizeof(les) / sizeof(les[0]); i++)
        ck_assert(value(after, hist("_bucket", h, les[i])) >=
                  value(after, hist("_bucket", h, les[i - 1])));
    ck_assert(value(after, hist("_sum", h, NULL)) > value(before, hist("_sum", h, NULL)));
    /* The scrape itself is in flight while it is written. */
    ck_assert(value(after, "support_http_requests_in_flight") >= 1);
}
END_TEST

/* Every statement the workers send is counted (the access line's `db`
 * is the same counter per request): N readiness checks read the schema
 * version, one round trip each at least. */
START_TEST(database_round_trips_are_counted)
{
    const char *before = scrape();
    send_parallel("/support/readyz", NULL, 200);
    const char *after = scrape();
    ck_assert(value(after, "support_db_round_trips_total") -
                  value(before, "support_db_round_trips_total") >= N);
}
END_TEST

START_TEST(counters_survive_a_worker_restart)
{
    send_parallel("/support/healthz", NULL, 200);
    const char *before = scrape();
    pid_t master = sp_t_master_pid("support-api");
    pid_t kids[64];
    size_t n = sp_t_children(master, kids, 64);
    ck_assert_uint_ge(n, 1);
    ck_assert_int_eq(kill(kids[0], SIGKILL), 0);
    const char *after = NULL;
    for (int i = 0; i < 100; i++) {
        usleep(100 * 1000);
        after = scrape();
        if (value(after, "support_worker_restarts_total") >
            value(before, "support_worker_restarts_total"))
            break;
    }
    ck_assert_double_eq(value(after, "support_worker_restarts_total") -
                            value(before, "support_worker_restarts_total"), 1);
    /* The dead worker's requests are still counted. */
    const char *h = requests("GET", "/support/healthz", "2xx");
    ck_assert(value(after, h) >= value(before, h));
}
END_TEST

START_TEST(scrape_time_sources_answer)
{
    const char *page = scrape();
    ck_assert_double_eq(value(page, "support_scrape_source_up{source=\"database\"}"), 1);
    ck_assert_double_eq(value(page, "support_scrape_source_up{source=\"nchan\"}"), 1);
    ck_assert_ptr_nonnull(strstr(page, "\nsupport_outbox_pending "));
    ck_assert_ptr_nonnull(strstr(page, "\nsupport_outbox_oldest_pending_age_seconds "));
    ck_assert_ptr_nonnull(strstr(page, "\nsupport_webhook_deliveries_pending "));
    ck_assert_ptr_nonnull(strstr(page, "\nsupport_chat_subscribers "));
    ck_assert_ptr_nonnull(strstr(page, "# TYPE support_job_last_success_timestamp_seconds gauge"));
    ck_assert_ptr_nonnull(strstr(page, "\nsupport_db_connects_total "));
    ck_assert_ptr_nonnull(strstr(page, "\nsupport_rate_limited_total "));
}
END_TEST

/* The dashboard's sla_breached count (API.md §5), read as an agent. */
static double
dashboard_breached(void)
{
    struct sp_t_resp *r = sp_t_get("/support/agent/dashboard",
                                   sp_t_user_new(SP_ROLE_AGENT).token);
    sp_t_assert_json(r, 200);
    double n = (double)sp_t_jint(sp_t_jobj(r->json, "tickets"), "sla_breached");
    sp_t_resp_free(r);
    return n;
}

/* support_tickets_sla_breached_open counts what the dashboard counts:
 * flagged by the monitor, or a running target already past that the
 * monitor has not flagged (it may not be running: the alert on this
 * gauge must fire then most of all); each ticket once; closed ones not. */
START_TEST(sla_breached_gauge_counts_past_due_targets_the_monitor_has_not_flagged)
{
    const char *series = "support_tickets_sla_breached_open";
    double before = value(scrape(), series), dash_before = dashboard_breached();
    const char *past = sp_t_ticket_of_new_customer("metrics past due");
    const char *both = sp_t_ticket_of_new_customer("metrics flagged and past due");
    const char *closed = sp_t_ticket_of_new_customer("metrics closed past due");
    sp_t_sql("UPDATE support_tickets SET sla_due_at = now() - interval '1 minute'"
             " WHERE public_id IN ('%s', '%s')", past, both);
    sp_t_sql("UPDATE support_tickets SET sla_breached = true WHERE public_id = '%s'", both);
    sp_t_db_ticket_set_status(closed, "closed");
    sp_t_sql("UPDATE support_tickets SET sla_due_at = now() - interval '1 minute'"
             " WHERE public_id = '%s'", closed);
    double after = value(scrape(), series), dash_after = dashboard_breached();
    ck_assert_double_eq(after - before, 2);
    ck_assert_double_eq(dash_after - dash_before, 2);
}
END_TEST

START_TEST(public_port_never_serves_metrics)
{
    static const char *const paths[] = {"/metrics", "/support/metrics", "/support/metrics/",
                                        "/support//metrics", "/chat/metrics",
                                        "/support/chat/metrics", "/chat//metrics"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct sp_t_resp *r = sp_t_get(paths[i], NULL);
        ck_assert_msg(r->status == 404, "%s: %ld", paths[i], r->status);
        ck_assert_ptr_null(strstr(r->body, "support_http_requests_total"));
        sp_t_resp_free(r);
    }
}
END_TEST

#define CHAT_CONNECT_4XX \
    "support_http_requests_total{method=\"GET\",route=\"/support/chat/connect\",code=\"4xx\"}"

/* support-chat's counters were never scraped (its own segment, no page):
 * its page on the operators' listener counts the chat worker's requests,
 * under the chat's routes; support-api's page has none of them (the two
 * pages are two scrape jobs, docs/prometheus). */
START_TEST(chat_page_counts_the_chat_workers_requests)
{
    const char *page = scrape_url(chat_url());
    double before = value(page, CHAT_CONNECT_4XX);
    ck_assert_ptr_nonnull(strstr(page, "# TYPE support_db_connects_total counter"));
    ck_assert_ptr_null(strstr(page, "route=\"/support/tickets\""));
    for (int i = 0; i < 5; i++) {   /* no credentials: the worker refuses */
        struct sp_t_resp *r = sp_t_get("/support/chat/connect?session_id=cs_x", NULL);
        ck_assert_msg(r->status / 100 == 4, "%ld", r->status);
        sp_t_resp_free(r);
    }
    page = scrape_url(chat_url());
    ck_assert_double_eq(value(page, CHAT_CONNECT_4XX) - before, 5);
    ck_assert_ptr_nonnull(strstr(page, "route=\"/chat/metrics\",code=\"2xx\""));
    ck_assert_ptr_null(strstr(scrape(), "route=\"/support/chat/connect\""));
}
END_TEST

/* Keeps the Allow header's value (curl hands over one line at a time). */
static size_t
keep_allow(char *p, size_t size, size_t n, void *ud)
{
    struct sp_buf *b = ud;
    if (n * size > 6 && strncasecmp(p, "Allow:", 6) == 0)
        sp_buf_append(b, p + 6, size * n - 6);
    return size * n;
}

/* API.md §1: nginx's own answers are problem+json. limit_except answered
 * another method its 403 HTML page. */
START_TEST(another_method_on_the_operators_listener_is_405_problem)
{
    static const char *const methods[] = {"POST", "DELETE", "PUT", "TRACE"};
    const char *urls[] = {getenv("SP_TEST_METRICS_URL"), chat_url()};
    struct sp_arena a;
    sp_arena_init(&a, 1 << 14);
    for (size_t k = 0; k < 2 * sizeof(methods) / sizeof(methods[0]); k++) {
        size_t i = k % (sizeof(methods) / sizeof(methods[0]));
        struct sp_buf body, allow;
        sp_buf_init(&body, &a, 1024);
        sp_buf_init(&allow, &a, 64);
        CURL *c = curl_easy_init();
        ck_assert_ptr_nonnull(c);
        curl_easy_setopt(c, CURLOPT_URL, urls[k / (sizeof(methods) / sizeof(methods[0]))]);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, methods[i]);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_allow);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &allow);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        long status = 0;
        char *type = NULL;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
        ck_assert_msg(status == 405, "%s: %ld", methods[i], status);
        ck_assert_str_eq(type, "application/problem+json");
        sp_buf_putc(&body, '\0');
        sp_buf_putc(&allow, '\0');
        ck_assert_msg(strstr(body.data, "\"code\":\"method_not_allowed\"") != NULL, "%s",
                      body.data);
        ck_assert_ptr_nonnull(strstr(body.data, sp_t_fmt("\"detail\":\"%s is not allowed here; "
                                                         "use GET, HEAD\"", methods[i])));
        ck_assert_str_eq(allow.data, " GET, HEAD\r\n");
        curl_easy_cleanup(c);
    }
    sp_arena_destroy(&a);
    /* GET still scrapes */
    ck_assert_ptr_nonnull(strstr(scrape(), "support_http_requests_total"));
    ck_assert_ptr_nonnull(strstr(scrape_url(chat_url()), "support_http_requests_total"));
}
END_TEST

/* nginx's own refusals on the operators' listener are problem+json as on
 * the public port (API.md §1, nginx/problems.conf): they were nginx's
 * HTML pages. Raw requests (curl would not send them) to the listener. */
START_TEST(nginx_refusals_on_the_operators_listener_are_problems)
{
    setenv("SP_TEST_BASE_URL", getenv("SP_TEST_METRICS_URL"), 1);  /* this test's process */
    static const struct {
        const char *request;
        long status;
        const char *code;
    } cases[] = {
        {"BAD\r\n\r\n", 400, "bad_request"},
        {"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad_request"},
        {"GET /metrics HTTP/9.9\r\nHost: localhost\r\n\r\n", 505,
         "http_version_not_supported"},
        {"GET /internal/problem/414 HTTP/1.1\r\nHost: localhost\r\n\r\n", 404, "not_found"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_t_resp *r = sp_t_raw(cases[i].request, strlen(cases[i].request));
        sp_t_assert_problem(r, cases[i].status, cases[i].code);
        sp_t_resp_free(r);
    }
    const char *big_uri = sp_t_fmt("GET /metrics?c=%s HTTP/1.1\r\nHost: localhost\r\n\r\n",
                                   sp_t_repeat("a", 100000));
    struct sp_t_resp *r = sp_t_raw(big_uri, strlen(big_uri));
    sp_t_assert_problem(r, 414, "uri_too_long");
    sp_t_resp_free(r);
    const char *big_header = sp_t_fmt("GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
                                      "X-Big: %s\r\n\r\n", sp_t_repeat("a", 70000));
    r = sp_t_raw(big_header, strlen(big_header));
    sp_t_assert_problem(r, 400, "header_too_large");
    sp_t_resp_free(r);
}
END_TEST

/* nginx matched the operators' locations on the decoded, normalised path
 * while the workers route on the raw request line: GET
 * /support/tickets/..%2Fmetrics there reached the tickets route (QA:
 * public handlers answered on the operators' port). Only the pages' own
 * spelling is served on this listener. */
START_TEST(only_the_metrics_pages_are_answered_on_the_operators_listener)
{
    setenv("SP_TEST_BASE_URL", getenv("SP_TEST_METRICS_URL"), 1);  /* this test's process */
    static const char *const paths[] = {
        "/support/tickets/..%2Fmetrics", "/support/tickets/..%2f..%2fsupport%2fmetrics",
        "/support/attachments/x/..%2F..%2Fmetrics", "/support/chat/connect/..%2F..%2F..%2Fmetrics",
        "/chat/x/..%2Fmetrics", "/%6detrics",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char *req = sp_t_fmt("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", paths[i]);
        struct sp_t_resp *r = sp_t_raw(req, strlen(req));
        ck_assert_msg(r->status == 404, "%s: %ld %s", paths[i], r->status, r->body);
        sp_t_assert_problem(r, 404, "not_found");
        sp_t_resp_free(r);
    }
    static const char *const pages[] = {"/metrics", "/support/metrics?x=1", "/chat/metrics"};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        const char *req = sp_t_fmt("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", pages[i]);
        struct sp_t_resp *r = sp_t_raw(req, strlen(req));
        ck_assert_msg(r->status == 200, "%s: %ld", pages[i], r->status);
        sp_t_resp_free(r);
    }
}
END_TEST

/* Webhook deliveries (docs/metrics.md): the pending ones and the age of
 * the oldest; those given up in the last 24 hours, not older ones. The
 * failures are counted on their own index, not over the whole log. */
START_TEST(webhook_delivery_backlog_and_failures_are_gauges)
{
    const char *hook = sp_t_sql("INSERT INTO support_webhooks (url, events, secret_enc, is_active)"
                                " VALUES ('https://receiver.invalid/hook', ARRAY['ticket.created'],"
                                " 'unused', true) RETURNING id");
    const char *page = scrape();
    double pending0 = value(page, "support_webhook_deliveries_pending");
    double failed0 = value(page, "support_webhook_deliveries_failed_24h");
    static const char *const rows[][3] = {
        /* status, created, last attempt's lease: how long ago */
        {"pending", "2 hours", "0 seconds"},
        {"pending", "1 second", "0 seconds"},
        {"failed", "25 hours", "1 hour"},
        {"failed", "3 days", "2 days"},
    };
    for (int i = 0; i < 4; i++)
        sp_t_sql("INSERT INTO support_webhook_deliveries (webhook_id, event_id, event_type,"
                 " payload, status, created_at, next_attempt_at)"
                 " VALUES (%s, 'evt_metrics_%s_%d', 'ticket.created', '{}', '%s',"
                 " now() - interval '%s', now() - interval '%s')",
                 hook, hook, i, rows[i][0], rows[i][1], rows[i][2]);
    page = scrape();
    ck_assert_double_eq(value(page, "support_webhook_deliveries_pending") - pending0, 2);
    ck_assert_double_ge(value(page, "support_webhook_deliveries_oldest_pending_age_seconds"),
                        7200);
    ck_assert_double_eq(value(page, "support_webhook_deliveries_failed_24h") - failed0, 1);

    (void)sp_t_sql("SELECT set_config('enable_seqscan', 'off', false)");
    const char *plan = sp_t_sql("EXPLAIN (FORMAT JSON) SELECT count(*)"
                                " FROM support_webhook_deliveries WHERE status = 'failed'"
                                " AND next_attempt_at > now() - interval '24 hours'");
    (void)sp_t_sql("SELECT set_config('enable_seqscan', 'on', false)");
    ck_assert_msg(strstr(plan, "\"support_webhook_deliveries_failed\"") != NULL &&
                      strstr(plan, "\"Index Cond\"") != NULL,
                  "plan: %s", plan);
    /* A paused webhook's deliveries wait by choice (docs/API.md §11,
     * Pausing): no backlog, no SupportWebhookDeliveriesStuck. */
    sp_t_sql("UPDATE support_webhooks SET is_active = false WHERE id = %s", hook);
    ck_assert_double_eq(value(scrape(), "support_webhook_deliveries_pending"), pending0);
    sp_t_sql("DELETE FROM support_webhooks WHERE id = %s", hook);   /* and its deliveries */
}
END_TEST

/* ---- batch jobs ------------------------------------------------------------ */

#define DISPATCH_RUNS "support_job_runs_total{job=\"support-dispatch\"}"
#define DISPATCH_FAILURES "support_job_failures_total{job=\"support-dispatch\"}"
#define DISPATCH_SUCCESS "support_job_last_success_timestamp_seconds{job=\"support-dispatch\"}"

/* Scrapes until series exceeds above (up to 15 s); its last value. */
static double
await_above(const char *series, double above)
{
    double v = 0;
    for (int i = 0; i < 150 && (v = value(scrape(), series)) <= above; i++)
        usleep(100000);
    return v;
}

/* support-dispatch --loop, as production runs it, records every
 * --interval cycle as a run while it runs (docs/metrics.md), not once when
 * it stops: its last success stays recent, so SupportJobNotSucceeding
 * fires for a stuck daemon and not 3 h after every start. A cycle whose
 * claim the database fails (here: a statement timeout behind a lock) is
 * a failure, and no success is recorded until the database answers. */
START_TEST(a_dispatch_daemon_records_its_runs_while_it_runs)
{
    sp_t_sql("UPDATE support_outbox SET status = 'skipped', last_error = 'test_metrics'"
             " WHERE status = 'pending'");
    const char *page = scrape();
    double runs0 = value(page, DISPATCH_RUNS), success0 = value(page, DISPATCH_SUCCESS);
    const char *env[] = {
        sp_t_fmt("SUPPORT_ENCRYPTION_KEYS_FILE=%s", getenv("SP_TEST_ENCRYPTION_KEYS_FILE")),
        sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates", getenv("SP_TEST_TOP_SRCDIR")),
        "SUPPORT_DB_STATEMENT_TIMEOUT_MS=500", NULL};
    const char *args[] = {"--loop", "--interval", "1", NULL};
    struct sp_t_job j;
    sp_t_job_start(&j, "support-dispatch", env, args);
    double runs = await_above(DISPATCH_RUNS, runs0 + 2);
    ck_assert_msg(runs >= runs0 + 3, "runs %g -> %g while the daemon ran", runs0, runs);
    double success = value(scrape(), DISPATCH_SUCCESS);
    ck_assert_double_gt(success, success0);
    ck_assert_double_ge(success, (double)time(NULL) - 3);

    PGconn *lock = sp_t_tx_hold("LOCK TABLE support_outbox IN SHARE MODE");
    double failures0 = value(scrape(), DISPATCH_FAILURES);
    double failures = await_above(DISPATCH_FAILURES, failures0);
    ck_assert_double_gt(failures, failures0);
    page = scrape();
    double stuck_success = value(page, DISPATCH_SUCCESS), stuck_runs = value(page, DISPATCH_RUNS);
    failures = value(page, DISPATCH_FAILURES);
    usleep(3500000);   /* two failed passes or more (timeout, then --interval) */
    page = scrape();
    ck_assert_double_eq(value(page, DISPATCH_SUCCESS), stuck_success);
    ck_assert_double_gt(value(page, DISPATCH_FAILURES), failures);     /* every retry */
    ck_assert_double_eq(value(page, DISPATCH_RUNS) - stuck_runs,
                        value(page, DISPATCH_FAILURES) - failures);   /* all failed */
    sp_t_tx_release(lock);
    ck_assert_double_gt(await_above(DISPATCH_SUCCESS, stuck_success), stuck_success);

    kill(j.pid, SIGTERM);
    const char *out = NULL;
    ck_assert_int_eq(sp_t_job_wait(&j, &out), 0);
    ck_assert_msg(strstr(out, "\"job_stopped\"") != NULL, "%s", out);
}
END_TEST

/* Debian's Prometheus with the shipped scrape jobs and rules
 * (docs/prometheus/) against this stack: t/integration/prometheus_check.py
 * does the work and reports each step as a JSON line (support-chat's page
 * scraped too, its counter moving with chat requests). */
START_TEST(a_real_prometheus_scrapes_the_page_with_the_shipped_config)
{
    struct sp_t_resp *r = sp_t_get("/support/healthz", NULL);  /* a series to find */
    sp_t_resp_free(r);
    /* a job's series, whose label the scrape renames (exported_job) */
    const char *const none[] = {NULL}, *const once[] = {"--once", NULL};
    const char *out_job;
    sp_t_job_run("dashboard-counts-check", none, once, &out_job);
    const char *cmd = sp_t_fmt("python3 %s/t/integration/prometheus_check.py %s %s %s 2>&1",
                               getenv("SP_TEST_TOP_SRCDIR"), getenv("SP_TEST_TOP_SRCDIR"),
                               getenv("SP_TEST_METRICS_URL"), getenv("SP_TEST_BASE_URL"));
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    static char out[16384];
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    int status = pclose(f);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "prometheus check failed:\n%s",
                  out);
    ck_assert_ptr_nonnull(strstr(out, "\"step\": \"chat requests counted\", \"ok\": true"));
    ck_assert_ptr_nonnull(strstr(out, "\"step\": \"rules healthy\", \"ok\": true"));
}
END_TEST

#define DB_UNAVAILABLE_ERRORS "support_db_errors_total{outcome=\"unavailable\"}"

static void
pg_back(void)
{
    sp_t_stackctl("start-pg");
}

/* Every request a stopped database answers 503 is a statement that
 * failed unavailable (QA: the counter stayed 0 through an outage, since a
 * statement that found no connection was never counted). The page is
 * read while the database is up: its gauges ask the database. */
START_TEST(requests_without_a_database_count_as_unavailable_errors)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "counted while the database is down");
    double before = value(scrape(), DB_UNAVAILABLE_ERRORS);
    sp_t_stackctl("stop-pg");
    for (int i = 0; i < 12; i++) {
        struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets/%s", id), u.token);
        sp_t_assert_problem(r, 503, "dependency_unavailable");
        sp_t_resp_free(r);
    }
    sp_t_stackctl("start-pg");
    double after = value(scrape(), DB_UNAVAILABLE_ERRORS);
    ck_assert_msg(after - before >= 12, "%s went from %g to %g", DB_UNAVAILABLE_ERRORS, before,
                  after);
}
END_TEST

static Suite *
metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = sp_t_tcase(s, "scrape");
    tcase_add_test(tc, counters_add_up_to_the_requests_sent_under_load);
    tcase_add_test(tc, database_round_trips_are_counted);
    tcase_add_test(tc, counters_survive_a_worker_restart);
    tcase_add_test(tc, scrape_time_sources_answer);
    tcase_add_test(tc, sla_breached_gauge_counts_past_due_targets_the_monitor_has_not_flagged);
    tcase_add_test(tc, webhook_delivery_backlog_and_failures_are_gauges);
    tcase_add_test(tc, public_port_never_serves_metrics);
    tcase_add_test(tc, chat_page_counts_the_chat_workers_requests);
    tcase_add_test(tc, another_method_on_the_operators_listener_is_405_problem);
    tcase_add_test(tc, nginx_refusals_on_the_operators_listener_are_problems);
    tcase_add_test(tc, only_the_metrics_pages_are_answered_on_the_operators_listener);
    tcase_add_test(tc, a_dispatch_daemon_records_its_runs_while_it_runs);
    tcase_add_test(tc, a_real_prometheus_scrapes_the_page_with_the_shipped_config);
    tc = sp_t_tcase(s, "database_down");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, NULL, pg_back);   /* also when the test failed midway */
    tcase_add_test(tc, requests_without_a_database_count_as_unavailable_errors);
    return s;
}

int
main(void)
{
    return sp_t_run(metrics_suite());
}
