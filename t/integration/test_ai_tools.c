/*
 * test_ai_tools: the AI tools of API.md §9 against the real stack, with
 * the booking and payment services played by t/integration/
 * service_fixture.py (one for the test case: support-api is restarted
 * with SUPPORT_BOOKING_URL and SUPPORT_PAYMENTS_URL pointing at it, a
 * refund limit of 5000 and a 700 ms service timeout, and put back after).
 * Covered: the list per role, RBAC of every tool for every role (403,
 * and the fixture never called), 404 for unknown tools, schema refusals
 * (422 with field errors), ids that are dot segments (422), the refund
 * limit, the Idempotency-Key and the bearer key the services receive, a
 * key reused with other arguments (422, the service not called),
 * timeouts and refusals of the services (503, 404, 409), and the ticket
 * event and query-log row of each run.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFUND_LIMIT 5000

static struct sp_t_fixture svc;

static void
services_up(void)
{
    sp_t_fixture_start(&svc, "service_fixture.py --timeout 600");
    char args[512];
    snprintf(args, sizeof(args),
             "restart-api-with SUPPORT_BOOKING_URL=http://127.0.0.1:%d"
             " SUPPORT_BOOKING_KEY=bk-test-key SUPPORT_PAYMENTS_URL=http://127.0.0.1:%d/pay"
             " SUPPORT_REFUND_AGENT_LIMIT=%d SUPPORT_SERVICE_TIMEOUT_MS=700",
             svc.port, svc.port, REFUND_LIMIT);
    sp_t_stackctl(args);
}

static void
services_down(void)
{
    sp_t_fixture_stop(&svc);
    sp_t_stackctl("restart-api");
}

/* ---- helpers ---------------------------------------------------------------- */

/* POST /support/ai/tools/<tool> as u with {"arguments":args[,context]}. */
static struct sp_t_resp *
run_tool(const struct sp_t_user *u, const char *tool, const char *args, const char *context,
         const char *const headers[])
{
    const char *body = args ? sp_t_fmt("{\"arguments\":%s%s%s}", args, context ? "," : "",
                                       context ? context : "")
                            : sp_t_fmt("{%s}", context ? context : "");
    return sp_t_request("POST", sp_t_fmt("/support/ai/tools/%s", tool), u->token, SP_T_JSON,
                        body, headers);
}

/* The requests the fixture saw (until quiet for ms) whose path holds
 * mark; each is parsed into seen[] (caller puts), up to max. */
static size_t
service_requests(const char *mark, struct json_object **seen, size_t max, int ms)
{
    size_t n = 0;
    struct json_object *o;
    while ((o = sp_t_fixture_next(&svc, ms)) != NULL) {
        if (n < max && strstr(sp_t_jstr(o, "path"), mark) != NULL)
            seen[n++] = o;
        else
            json_object_put(o);
    }
    return n;
}

static void
no_service_request(const char *mark)
{
    struct json_object *seen[1];
    ck_assert_int_eq(service_requests(mark, seen, 1, 300), 0);
}

static long
log_rows(const char *user, const char *tool, const char *error)
{
    return strtol(sp_t_sql("SELECT count(*) FROM support_ai_interactions WHERE user_id = '%s'"
                           " AND tool_id = '%s' AND model = 'tools' AND %s",
                           user, tool, error ? sp_t_fmt("error = '%s'", error) : "error IS NULL"),
                  NULL, 10);
}

static const char *
ticket_ctx(const char *public_id)
{
    return sp_t_fmt("\"ticket_id\":%s", sp_t_jq(public_id));
}

/* ---- the list --------------------------------------------------------------- */

static void
assert_tools(enum sp_role role, const char *want)
{
    struct sp_t_user u = sp_t_user_new(role);
    struct sp_t_resp *r = sp_t_get("/support/ai/tools", u.token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    sp_t_assert_jnull(r->json, "next_cursor");
    char got[256] = "";
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        struct json_object *t = json_object_array_get_idx(data, i);
        strncat(got, sp_t_jstr(t, "id"), sizeof(got) - strlen(got) - 2);
        strcat(got, " ");
        sp_t_jstr(t, "description");
        struct json_object *params = sp_t_jobj(t, "parameters");
        ck_assert_str_eq(sp_t_jstr(params, "type"), "object");
        struct json_object *roles = sp_t_jarr(t, "roles");
        bool mine = false;
        for (size_t k = 0; k < json_object_array_length(roles); k++)
            mine |= strcmp(json_object_get_string(json_object_array_get_idx(roles, k)),
                           sp_role_name(role)) == 0;
        ck_assert_msg(mine, "%s lists %s without its role", sp_role_name(role),
                      sp_t_jstr(t, "id"));
    }
    ck_assert_str_eq(got, want);
    sp_t_resp_free(r);
}

START_TEST(each_role_lists_the_tools_it_may_run)
{
    assert_tools(SP_ROLE_CUSTOMER, "kb_search ticket_status ");
    assert_tools(SP_ROLE_AGENT,
                 "kb_search ticket_status booking_lookup booking_reschedule payment_refund ");
    assert_tools(SP_ROLE_ADMIN,
                 "kb_search ticket_status booking_lookup booking_reschedule payment_refund ");
    struct sp_t_resp *r = sp_t_get("/support/ai/tools", NULL);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

/* ---- RBAC ------------------------------------------------------------------- */

START_TEST(customers_may_not_run_staff_tools)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *mark = sp_t_unique("BK");
    static const char *const tools[] = {"booking_lookup", "booking_reschedule",
                                        "payment_refund"};
    const char *const args[] = {
        sp_t_fmt("{\"booking_id\":%s}", sp_t_jq(mark)),
        sp_t_fmt("{\"booking_id\":%s,\"new_start\":\"2026-12-24T10:00:00Z\"}", sp_t_jq(mark)),
        sp_t_fmt("{\"payment_id\":%s,\"amount\":1,\"reason\":\"other\"}", sp_t_jq(mark)),
    };
    for (size_t i = 0; i < 3; i++) {
        struct sp_t_resp *r = run_tool(&c, tools[i], args[i], NULL, NULL);
        sp_t_assert_problem(r, 403, "forbidden");
        sp_t_resp_free(r);
        /* Refused before the body is read: bad arguments are still 403. */
        r = run_tool(&c, tools[i], "{\"x\":1}", NULL, NULL);
        sp_t_assert_problem(r, 403, "forbidden");
        sp_t_resp_free(r);
        ck_assert_int_eq(log_rows(c.sub, tools[i], NULL), 0);
    }
    no_service_request(mark);
}
END_TEST

START_TEST(staff_run_the_booking_tools)
{
    for (int role = SP_ROLE_AGENT; role <= SP_ROLE_ADMIN; role++) {
        struct sp_t_user u = sp_t_user_new((enum sp_role)role);
        const char *id = sp_t_unique("BK");
        struct sp_t_resp *r = run_tool(&u, "booking_lookup", sp_t_fmt("{\"booking_id\":%s}",
                                                                     sp_t_jq(id)),
                                       NULL, NULL);
        sp_t_assert_json(r, 200);
        ck_assert_str_eq(sp_t_jstr(r->json, "tool"), "booking_lookup");
        struct json_object *b = sp_t_jobj(sp_t_jobj(r->json, "result"), "booking");
        ck_assert_str_eq(sp_t_jstr(b, "path"), sp_t_fmt("/bookings/%s", id));
        sp_t_resp_free(r);
        struct json_object *seen[2];
        ck_assert_int_eq(service_requests(id, seen, 2, 300), 1);
        ck_assert_str_eq(sp_t_jstr(seen[0], "method"), "GET");
        ck_assert_str_eq(sp_t_jstr(seen[0], "authorization"), "Bearer bk-test-key");
        /* A read carries no Idempotency-Key. */
        ck_assert_ptr_null(sp_t_jget(seen[0], "idempotency_key"));
        json_object_put(seen[0]);
        ck_assert_int_eq(log_rows(u.sub, "booking_lookup", NULL), 1);
    }
}
END_TEST

/* Publishes an article; its slug. */
static const char *
publish_article(const char *title, const char *markdown)
{
    const char *slug = sp_t_unique("tools-kb");
    struct sp_t_resp *a = sp_t_admin_post(
        "/support/admin/articles",
        sp_t_fmt("{\"slug\":%s,\"title\":%s,\"content_markdown\":%s,\"is_published\":true}",
                 sp_t_jq(slug), sp_t_jq(title), sp_t_jq(markdown)));
    sp_t_assert_json(a, 201);
    sp_t_resp_free(a);
    return slug;
}

START_TEST(every_role_runs_kb_search)
{
    const char *w = sp_t_unique_word();
    const char *slug =
        publish_article(sp_t_fmt("Changing a %s booking", w),
                        sp_t_fmt("How to change a %s booking: open it and pick a date.", w));
    for (int role = SP_ROLE_CUSTOMER; role <= SP_ROLE_ADMIN; role++) {
        struct sp_t_user u = sp_t_user_new((enum sp_role)role);
        struct sp_t_resp *r = run_tool(&u, "kb_search", sp_t_fmt("{\"query\":%s,\"limit\":3}",
                                                                 sp_t_jq(w)),
                                       NULL, NULL);
        sp_t_assert_json(r, 200);
        struct json_object *list = sp_t_jarr(sp_t_jobj(r->json, "result"), "articles");
        ck_assert_int_eq(json_object_array_length(list), 1);
        struct json_object *first = json_object_array_get_idx(list, 0);
        ck_assert_str_eq(sp_t_jstr(first, "slug"), slug);
        ck_assert_str_eq(sp_t_jstr(first, "url"), sp_t_fmt("/support/articles/%s", slug));
        sp_t_resp_free(r);
        ck_assert_int_eq(log_rows(u.sub, "kb_search", NULL), 1);
    }
}
END_TEST

/* QA: kb_search "how long does a refund take" was {"articles":[]} while
 * the AI answered from "How refunds work": the search asked for every
 * word. When no article holds them all it asks for any of them, the
 * question's frame words ("long" after "how", "take") left out, and
 * says so. */
START_TEST(kb_search_falls_back_to_any_word_of_a_question)
{
    const char *w = sp_t_unique_word();
    const char *slug = publish_article(sp_t_fmt("How %s works", w),
                                       "They go back to your card within 5 to 10 business days.");
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *const asked[][2] = {
        {sp_t_fmt("how long does a %s take", w), "any"},
        {sp_t_fmt("my %s has not arrived", w), "any"},
        {sp_t_fmt("%s working", w), "all"},
    };
    for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
        struct sp_t_resp *r = run_tool(&u, "kb_search",
                                       sp_t_fmt("{\"query\":%s}", sp_t_jq(asked[i][0])), NULL,
                                       NULL);
        sp_t_assert_json(r, 200);
        struct json_object *result = sp_t_jobj(r->json, "result");
        ck_assert_str_eq(sp_t_jstr(result, "match"), asked[i][1]);
        struct json_object *list = sp_t_jarr(result, "articles");
        ck_assert_int_ge(json_object_array_length(list), 1);
        ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(list, 0), "slug"), slug);
        sp_t_resp_free(r);
    }
}
END_TEST

/* kb_search refuses what public search refuses, as a fault of its
 * arguments (QA: "-draft" was a 422 naming the query string's q, and a
 * query of blanks answered [] where search answers 422). */
START_TEST(kb_search_refuses_what_search_refuses_by_its_argument)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *const queries[] = {"-draft", "   ", " \t\n"};
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        struct sp_t_resp *r = run_tool(&u, "kb_search",
                                       sp_t_fmt("{\"query\":%s}", sp_t_jq(queries[i])), NULL, NULL);
        struct sp_t_resp *search = sp_t_get(
            sp_t_fmt("/support/articles?q=%s", sp_t_urlencode(queries[i])), NULL);
        const char *code = i == 0 ? "no_search_term" : "invalid";
        sp_t_assert_invalid(r, "arguments.query", code);
        sp_t_assert_invalid(search, "q", code);
        ck_assert_str_eq(sp_t_invalid_message(r, "arguments.query"),
                         sp_t_invalid_message(search, "q"));
        ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                         "the arguments do not match the parameters of kb_search");
        sp_t_resp_free(search);
        sp_t_resp_free(r);
    }
    ck_assert_int_eq(log_rows(u.sub, "kb_search", NULL), 0);
}
END_TEST

START_TEST(ticket_status_shows_customers_only_their_own)
{
    struct sp_t_user owner = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&owner, "Where is my ticket");
    const char *args = sp_t_fmt("{\"ticket_id\":%s}", sp_t_jq(pid));
    struct sp_t_resp *r = run_tool(&owner, "ticket_status", args, NULL, NULL);
    sp_t_assert_json(r, 200);
    struct json_object *t = sp_t_jobj(r->json, "result");
    ck_assert_str_eq(sp_t_jstr(t, "public_id"), pid);
    ck_assert_str_eq(sp_t_jstr(t, "status"), "open");
    ck_assert(!sp_t_jhas(t, "id"));   /* agent fields stay with agents */
    ck_assert(!sp_t_jhas(t, "assigned_agent_id"));
    sp_t_resp_free(r);
    /* Another customer's ticket does not exist for them (API.md §2). */
    r = run_tool(&other, "ticket_status", args, NULL, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = run_tool(&other, "ticket_status", "{\"ticket_id\":\"12345\"}", NULL, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    /* Nor is it a context they may use. */
    r = run_tool(&other, "kb_search", "{\"query\":\"x\"}", ticket_ctx(pid), NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    /* Agents see any ticket, by public id or id. */
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *id = sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s'", pid);
    r = run_tool(&agent, "ticket_status", sp_t_fmt("{\"ticket_id\":%s}", sp_t_jq(id)), NULL,
                 NULL);
    sp_t_assert_json(r, 200);
    t = sp_t_jobj(r->json, "result");
    ck_assert_str_eq(sp_t_jstr(t, "public_id"), pid);
    ck_assert_int_eq(sp_t_jint(t, "id"), strtoll(id, NULL, 10));
    sp_t_assert_jnull(t, "assigned_agent_id");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(a_chat_context_is_the_callers_own)
{
    struct sp_t_user owner = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json("/support/chat/session", owner.token, "{}");
    sp_t_assert_json(r, 201);
    const char *sid = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    const char *ctx = sp_t_fmt("\"session_id\":%s", sp_t_jq(sid));
    r = run_tool(&owner, "kb_search", "{\"query\":\"refund\"}", ctx, NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ai_interactions i"
                              " JOIN support_chat_sessions s ON s.id = i.session_id"
                              " WHERE s.public_id = '%s' AND i.tool_id = 'kb_search'", sid),
                     "1");
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = run_tool(&other, "kb_search", "{\"query\":\"refund\"}", ctx, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    /* Not the assigned agent (nobody is): 403, as for the query. */
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    r = run_tool(&agent, "kb_search", "{\"query\":\"refund\"}", ctx, NULL);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(unknown_tools_are_404)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_ADMIN);
    struct sp_t_resp *r = run_tool(&a, "shell_exec", "{}", NULL, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = run_tool(&c, "KB_SEARCH", "{\"query\":\"x\"}", NULL, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

/* API.md §1 / the brief: AI endpoints are rate-limited per user. 60 direct
 * runs a minute (SUPPORT_AI_TOOLS_RATE_PER_MINUTE), every call counted —
 * a refused one (unknown tool) too — then 429 with Retry-After; another
 * user is not limited. */
START_TEST(sixty_runs_a_minute_then_429)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    sp_t_away_from_window_edges(30, 60);   /* 61 runs in one window */
    struct sp_t_resp *r = run_tool(&a, "no_such_tool", "{}", NULL, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 59);
    sp_t_resp_free(r);
    for (int i = 1; i < 60; i++) {
        r = run_tool(&a, "kb_search", "{\"query\":\"refund\",\"limit\":1}", NULL, NULL);
        sp_t_assert_json(r, 200);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), 60);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 59 - i);
        sp_t_resp_free(r);
    }
    r = run_tool(&a, "kb_search", "{\"query\":\"refund\"}", NULL, NULL);
    sp_t_assert_problem(r, 429, "rate_limited");
    ck_assert_int_ge(sp_t_header_num(r, "Retry-After"), 1);
    sp_t_resp_free(r);
    struct sp_t_user b = sp_t_user_new(SP_ROLE_AGENT);
    r = run_tool(&b, "kb_search", "{\"query\":\"refund\"}", NULL, NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* ---- schemas ------------------------------------------------------------------ */

static void
assert_refused(const struct sp_t_user *u, const char *tool, const char *args, const char *field,
               const char *code)
{
    struct sp_t_resp *r = run_tool(u, tool, args, NULL, NULL);
    sp_t_assert_invalid(r, field, code);
    sp_t_resp_free(r);
}

START_TEST(arguments_that_miss_the_schema_are_422_with_field_errors)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_ADMIN);
    const char *mark = sp_t_unique("SCHEMA");
    const char *bk = sp_t_jq(mark);
    assert_refused(&a, "booking_lookup", "{}", "arguments.booking_id", "required");
    assert_refused(&a, "booking_lookup", "{\"booking_id\":7}", "arguments.booking_id",
                   "wrong_type");
    assert_refused(&a, "booking_lookup", sp_t_fmt("{\"booking_id\":%s}",
                                                  sp_t_jq(sp_t_repeat("b", 65))),
                   "arguments.booking_id", "too_long");
    assert_refused(&a, "booking_lookup", sp_t_fmt("{\"booking_id\":%s,\"debug\":true}", bk),
                   "arguments.debug", "unknown_field");
    assert_refused(&a, "booking_reschedule",
                   sp_t_fmt("{\"booking_id\":%s,\"new_start\":\"next tuesday\"}", bk),
                   "arguments.new_start", "invalid");
    assert_refused(&a, "payment_refund",
                   sp_t_fmt("{\"payment_id\":%s,\"amount\":\"10\",\"reason\":\"other\"}", bk),
                   "arguments.amount", "wrong_type");
    assert_refused(&a, "payment_refund",
                   sp_t_fmt("{\"payment_id\":%s,\"amount\":0,\"reason\":\"other\"}", bk),
                   "arguments.amount", "out_of_range");
    assert_refused(&a, "payment_refund",
                   sp_t_fmt("{\"payment_id\":%s,\"amount\":10,\"reason\":\"whim\"}", bk),
                   "arguments.reason", "invalid");
    assert_refused(&a, "kb_search", "{\"query\":\"\"}", "arguments.query", "too_short");
    assert_refused(&a, "kb_search", "{\"query\":\"x\",\"limit\":11}", "arguments.limit",
                   "out_of_range");
    /* Every error at once, and the arguments member itself. */
    struct sp_t_resp *r = run_tool(&a, "payment_refund", "{\"amount\":-1}", NULL, NULL);
    sp_t_assert_invalid(r, "arguments.payment_id", "required");
    sp_t_assert_invalid(r, "arguments.reason", "required");
    sp_t_assert_invalid(r, "arguments.amount", "out_of_range");
    sp_t_resp_free(r);
    assert_refused(&a, "kb_search", "[\"x\"]", "arguments", "wrong_type");
    r = run_tool(&a, "kb_search", NULL, NULL, NULL);   /* no arguments at all */
    sp_t_assert_invalid(r, "arguments.query", "required");
    sp_t_resp_free(r);
    r = sp_t_request("POST", "/support/ai/tools/kb_search", a.token, SP_T_JSON, "{\"arg", NULL);
    sp_t_assert_problem(r, 400, "invalid_json");
    sp_t_resp_free(r);
    no_service_request(mark);
    ck_assert_int_eq(strtol(sp_t_sql("SELECT count(*) FROM support_ai_interactions"
                                     " WHERE user_id = '%s'", a.sub), NULL, 10), 0);
}
END_TEST

/* ---- the refund limit and idempotency keys ------------------------------------- */

static struct sp_t_resp *
refund(const struct sp_t_user *u, const char *payment, long amount, const char *const hdr[])
{
    return run_tool(u, "payment_refund",
                    sp_t_fmt("{\"payment_id\":%s,\"amount\":%ld,\"reason\":\"service_failure\","
                             "\"note\":\"late driver\"}", sp_t_jq(payment), amount),
                    NULL, hdr);
}

START_TEST(agents_refund_up_to_the_limit_admins_above_it)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    const char *pay = sp_t_unique("PAY");
    struct sp_t_resp *r = refund(&agent, pay, REFUND_LIMIT + 1, NULL);
    sp_t_assert_problem(r, 403, "forbidden");
    ck_assert_msg(strstr(sp_t_jstr(r->json, "detail"), "5000") != NULL, "%s", r->body);
    sp_t_resp_free(r);
    no_service_request(pay);
    r = refund(&agent, pay, REFUND_LIMIT, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(sp_t_jobj(r->json, "result"), "refund"), "path"),
                     sp_t_fmt("/pay/payments/%s/refunds", pay));
    sp_t_resp_free(r);
    r = refund(&admin, pay, 100000, NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    struct json_object *seen[3];
    ck_assert_int_eq(service_requests(pay, seen, 3, 300), 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(sp_t_jstr(seen[i], "method"), "POST");
        ck_assert(sp_t_matches("^tool-[0-9a-f]{32,40}$", sp_t_jstr(seen[i], "idempotency_key")));
        struct json_object *body = json_tokener_parse(sp_t_jstr(seen[i], "body"));
        ck_assert_ptr_nonnull(body);
        ck_assert_int_eq(sp_t_jint(body, "amount"), i == 0 ? REFUND_LIMIT : 100000);
        ck_assert_str_eq(sp_t_jstr(body, "reason"), "service_failure");
        ck_assert_str_eq(sp_t_jstr(sp_t_jobj(body, "requested_by"), "role"),
                         i == 0 ? "support_agent" : "support_admin");
        json_object_put(body);
    }
    /* Two runs without a client key are two refunds: two keys. */
    ck_assert_str_ne(sp_t_jstr(seen[0], "idempotency_key"), sp_t_jstr(seen[1], "idempotency_key"));
    json_object_put(seen[0]);
    json_object_put(seen[1]);
    ck_assert_int_eq(log_rows(agent.sub, "payment_refund", NULL), 1);
}
END_TEST

START_TEST(a_client_retry_reaches_the_service_with_the_same_key)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *pay = sp_t_unique("PAY");
    const char *const k1[] = {"Idempotency-Key: retry-1", NULL};
    const char *const k2[] = {"Idempotency-Key: retry-2", NULL};
    struct sp_t_resp *r = refund(&agent, pay, 10, k1);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = refund(&agent, pay, 10, k1);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = refund(&agent, pay, 10, k2);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    struct json_object *seen[3];
    ck_assert_int_eq(service_requests(pay, seen, 3, 300), 3);
    ck_assert_str_eq(sp_t_jstr(seen[0], "idempotency_key"), sp_t_jstr(seen[1], "idempotency_key"));
    ck_assert_str_ne(sp_t_jstr(seen[0], "idempotency_key"), sp_t_jstr(seen[2], "idempotency_key"));
    for (int i = 0; i < 3; i++)
        json_object_put(seen[i]);
    const char *const bad[] = {sp_t_fmt("Idempotency-Key: %s", sp_t_repeat("k", 256)), NULL};
    r = refund(&agent, pay, 10, bad);
    sp_t_assert_invalid(r, "Idempotency-Key", "invalid");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the request has an invalid header");
    sp_t_resp_free(r);
}
END_TEST

/* Every request the fixture saw until quiet for 300 ms, dropped. */
static void
drain_service(void)
{
    struct json_object *seen[1];
    service_requests("-none-", seen, 0, 300);
}

START_TEST(a_key_reused_with_other_arguments_is_422_and_calls_nothing)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *pay = sp_t_unique("PAY");
    const char *other = sp_t_unique("PAY");
    const char *const k[] = {"Idempotency-Key: refund-once", NULL};
    drain_service();
    struct sp_t_resp *r = refund(&agent, pay, 10, k);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    /* Another amount, another payment, another context, another tool. */
    struct sp_t_user cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&cust, "Refund twice?");
    struct sp_t_resp *refused[4] = {
        refund(&agent, pay, 11, k), refund(&agent, other, 10, k),
        run_tool(&agent, "payment_refund",
                 sp_t_fmt("{\"payment_id\":%s,\"amount\":10,\"reason\":\"service_failure\","
                          "\"note\":\"late driver\"}", sp_t_jq(pay)), ticket_ctx(pid), k),
        run_tool(&agent, "booking_reschedule",
                 sp_t_fmt("{\"booking_id\":%s,\"new_start\":\"2026-12-24T10:00:00Z\"}",
                          sp_t_jq(pay)), NULL, k)};
    for (int i = 0; i < 4; i++) {
        sp_t_assert_problem(refused[i], 422, "idempotency_key_reused");
        sp_t_resp_free(refused[i]);
    }
    /* The same request again still reaches the service, with the same key. */
    r = refund(&agent, pay, 10, k);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    struct json_object *seen[4];
    ck_assert_int_eq(service_requests("/", seen, 4, 300), 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(sp_t_jstr(seen[i], "path"), sp_t_fmt("/pay/payments/%s/refunds", pay));
        struct json_object *body = json_tokener_parse(sp_t_jstr(seen[i], "body"));
        ck_assert_int_eq(sp_t_jint(body, "amount"), 10);
        json_object_put(body);
    }
    ck_assert_str_eq(sp_t_jstr(seen[0], "idempotency_key"), sp_t_jstr(seen[1], "idempotency_key"));
    json_object_put(seen[0]);
    json_object_put(seen[1]);
    /* Refused before the run: not logged. */
    ck_assert_int_eq(log_rows(agent.sub, "payment_refund", NULL), 2);
    ck_assert_int_eq(strtol(sp_t_sql("SELECT count(*) FROM support_ai_interactions"
                                     " WHERE user_id = '%s'", agent.sub), NULL, 10), 2);
}
END_TEST

/* "." and ".." as ids would be dot segments of the service's path, which
 * URL resolution removes ("/payments/../refunds" is "/refunds"). */
START_TEST(dot_segment_ids_are_422_and_never_reach_the_service)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_ADMIN);
    drain_service();
    const char *dots[] = {".", ".."};
    for (int i = 0; i < 2; i++) {
        const char *id = sp_t_jq(dots[i]);
        assert_refused(&a, "booking_lookup", sp_t_fmt("{\"booking_id\":%s}", id),
                       "arguments.booking_id", "invalid");
        assert_refused(&a, "booking_reschedule",
                       sp_t_fmt("{\"booking_id\":%s,\"new_start\":\"2026-12-24T10:00:00Z\"}",
                                id),
                       "arguments.booking_id", "invalid");
        assert_refused(&a, "payment_refund",
                       sp_t_fmt("{\"payment_id\":%s,\"amount\":10,\"reason\":\"other\"}", id),
                       "arguments.payment_id", "invalid");
    }
    struct json_object *seen[2];
    ck_assert_int_eq(service_requests("/", seen, 2, 300), 0);
    ck_assert_int_eq(strtol(sp_t_sql("SELECT count(*) FROM support_ai_interactions"
                                     " WHERE user_id = '%s'", a.sub), NULL, 10), 0);
    /* Other ids with dots, or an escaped dot, stay one segment. */
    const char *kept[] = {"...", ".x", "%2e%2e"};
    const char *path[] = {"/bookings/...", "/bookings/.x", "/bookings/%252e%252e"};
    for (int i = 0; i < 3; i++) {
        struct sp_t_resp *r = run_tool(&a, "booking_lookup",
                                       sp_t_fmt("{\"booking_id\":%s}", sp_t_jq(kept[i])), NULL,
                                       NULL);
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
        ck_assert_int_eq(service_requests("/", seen, 2, 300), 1);
        ck_assert_str_eq(sp_t_jstr(seen[0], "path"), path[i]);
        json_object_put(seen[0]);
    }
}
END_TEST

/* ---- the services failing ------------------------------------------------------ */

START_TEST(a_slow_or_refusing_service_is_503_404_or_409_and_logged)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    /* The fixture answers /bookings/slow after 3 s: past 700 ms, thrice. */
    struct sp_t_resp *r = run_tool(&agent, "booking_lookup", "{\"booking_id\":\"slow\"}", NULL,
                                   NULL);
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    sp_t_resp_free(r);
    ck_assert_int_eq(log_rows(agent.sub, "booking_lookup", "dependency_unavailable"), 1);
    r = run_tool(&agent, "booking_lookup", "{\"booking_id\":\"status-404\"}", NULL, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = run_tool(&agent, "booking_reschedule",
                 "{\"booking_id\":\"status-409\",\"new_start\":\"2026-12-24T10:00:00Z\"}", NULL,
                 NULL);
    sp_t_assert_problem(r, 409, "dependency_refused");
    sp_t_resp_free(r);
    r = refund(&agent, "status-500", 10, NULL);
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    sp_t_resp_free(r);
    ck_assert_int_eq(log_rows(agent.sub, "booking_lookup", "not_found"), 1);
    ck_assert_int_eq(log_rows(agent.sub, "booking_reschedule", "dependency_refused"), 1);
    ck_assert_int_eq(log_rows(agent.sub, "payment_refund", "dependency_unavailable"), 1);
    /* Drain what the fixture saw, for the next tests. */
    struct json_object *seen[1];
    service_requests("-none-", seen, 0, 300);
}
END_TEST

/* ---- ticket events ----------------------------------------------------------- */

/* A query's row of user, on ticket pid (NULL: no context); its id. */
static const char *
query_row(const struct sp_t_user *user, const char *pid)
{
    return sp_t_sql("INSERT INTO support_ai_interactions (ticket_id, user_id, model, prompt)"
                    " VALUES ((SELECT id FROM support_tickets WHERE public_id = %s), '%s',"
                    " 'local-retrieval', 'q') RETURNING id",
                    pid ? sp_t_fmt("'%s'", pid) : "NULL", user->sub);
}

/* A run confirming a query's proposal names the query in its row and its
 * event (query_interaction_id) — only the caller's own query in the same
 * context: another's, or one elsewhere, is left out (the run still runs:
 * it is the caller's own either way). */
START_TEST(a_run_names_only_the_callers_own_query)
{
    struct sp_t_user cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT), other = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&cust, "Which query was it");
    const char *queries[3] = {query_row(&agent, pid), query_row(&other, pid),
                              query_row(&agent, NULL)};
    for (int i = 0; i < 3; i++) {
        struct sp_t_resp *r = run_tool(
            &agent, "kb_search", "{\"query\":\"refund\"}",
            sp_t_fmt("%s,\"query_interaction_id\":%s", ticket_ctx(pid), queries[i]), NULL);
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(coalesce(metadata->>'query_interaction_id',"
                              " '-'), ',' ORDER BY id) FROM support_ticket_events"
                              " WHERE event_type = 'ai_tool_run' AND ticket_id ="
                              " (SELECT id FROM support_tickets WHERE public_id = '%s')", pid),
                     sp_t_fmt("%s,-,-", queries[0]));
    /* the run's row says it too (sql/084: the event alone did) */
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(coalesce(query_interaction_id::text, '-'),"
                              " ',' ORDER BY id) FROM support_ai_interactions"
                              " WHERE user_id = '%s' AND tool_id = 'kb_search'", agent.sub),
                     sp_t_fmt("%s,-,-", queries[0]));
}
END_TEST

START_TEST(a_run_with_a_ticket_in_context_writes_a_ticket_event)
{
    struct sp_t_user cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&cust, "Refund my ride");
    const char *pay = sp_t_unique("PAY");
    struct sp_t_resp *r = run_tool(&agent, "payment_refund",
                                   sp_t_fmt("{\"payment_id\":%s,\"amount\":25,"
                                            "\"reason\":\"goodwill\"}", sp_t_jq(pay)),
                                   ticket_ctx(pid), NULL);
    sp_t_assert_json(r, 200);
    int64_t interaction = sp_t_jint(r->json, "interaction_id");
    sp_t_resp_free(r);
    /* The customer's own run in the same context; one without context. */
    r = run_tool(&cust, "kb_search", "{\"query\":\"refund\"}", ticket_ctx(pid), NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = run_tool(&agent, "kb_search", "{\"query\":\"refund\"}", NULL, NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    /* A failed run is an event too, with its outcome. */
    r = run_tool(&agent, "booking_lookup", "{\"booking_id\":\"status-404\"}", ticket_ctx(pid),
                 NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    struct sp_t_resp *ev = sp_t_agent_events(&agent, pid);
    ck_assert_int_eq(sp_t_events_count(ev, "ai_tool_run"), 3);
    struct json_object *data = sp_t_jarr(ev->json, "data");
    int found = 0;
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        struct json_object *e = json_object_array_get_idx(data, i);
        if (strcmp(sp_t_jstr(e, "event_type"), "ai_tool_run") != 0)
            continue;
        struct json_object *m = sp_t_jobj(e, "metadata");
        const char *tool = sp_t_jstr(m, "tool");
        if (strcmp(tool, "payment_refund") == 0) {
            found++;
            ck_assert_str_eq(sp_t_jstr(e, "actor_type"), "agent");
            ck_assert_str_eq(sp_t_jstr(m, "outcome"), "ok");
            ck_assert_int_eq(sp_t_jint(m, "interaction_id"), interaction);
            ck_assert_int_eq(sp_t_jint(sp_t_jobj(m, "arguments"), "amount"), 25);
            ck_assert(sp_t_matches("^tool-", sp_t_jstr(m, "idempotency_key")));
        } else if (strcmp(tool, "kb_search") == 0) {
            found++;
            ck_assert_str_eq(sp_t_jstr(e, "actor_type"), "customer");
        } else {
            found++;
            ck_assert_str_eq(tool, "booking_lookup");
            ck_assert_str_eq(sp_t_jstr(m, "outcome"), "not_found");
        }
    }
    ck_assert_int_eq(found, 3);
    sp_t_resp_free(ev);
    /* The service was told which ticket the refund is about. */
    struct json_object *seen[2];
    ck_assert_int_eq(service_requests(pay, seen, 2, 300), 1);
    struct json_object *body = json_tokener_parse(sp_t_jstr(seen[0], "body"));
    ck_assert_str_eq(sp_t_fmt("%lld", (long long)sp_t_jint(body, "support_ticket_id")),
                     sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s'", pid));
    json_object_put(body);
    json_object_put(seen[0]);
}
END_TEST

static Suite *
ai_tools_suite(void)
{
    Suite *s = suite_create("ai_tools");
    TCase *tc = sp_t_tcase(s, "tools");
    tcase_add_unchecked_fixture(tc, services_up, services_down);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, each_role_lists_the_tools_it_may_run);
    tcase_add_test(tc, customers_may_not_run_staff_tools);
    tcase_add_test(tc, staff_run_the_booking_tools);
    tcase_add_test(tc, every_role_runs_kb_search);
    tcase_add_test(tc, kb_search_falls_back_to_any_word_of_a_question);
    tcase_add_test(tc, kb_search_refuses_what_search_refuses_by_its_argument);
    tcase_add_test(tc, ticket_status_shows_customers_only_their_own);
    tcase_add_test(tc, a_run_names_only_the_callers_own_query);
    tcase_add_test(tc, a_chat_context_is_the_callers_own);
    tcase_add_test(tc, unknown_tools_are_404);
    tcase_add_test(tc, sixty_runs_a_minute_then_429);
    tcase_add_test(tc, arguments_that_miss_the_schema_are_422_with_field_errors);
    tcase_add_test(tc, agents_refund_up_to_the_limit_admins_above_it);
    tcase_add_test(tc, a_client_retry_reaches_the_service_with_the_same_key);
    tcase_add_test(tc, a_key_reused_with_other_arguments_is_422_and_calls_nothing);
    tcase_add_test(tc, dot_segment_ids_are_422_and_never_reach_the_service);
    tcase_add_test(tc, a_slow_or_refusing_service_is_503_404_or_409_and_logged);
    tcase_add_test(tc, a_run_with_a_ticket_in_context_writes_a_ticket_event);
    return s;
}

int
main(void)
{
    return sp_t_run(ai_tools_suite());
}
