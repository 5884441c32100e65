/*
 * test_agent_roles: who may use the agent endpoints of API.md §5.5 and the
 * caller's own agent record. Every agent endpoint answers 401 without a
 * token, 403 to a customer (even the ticket's owner), and works for a
 * support_agent and a support_admin (admin implies agent). GET
 * /support/agent/me creates the caller's support_agents row on first use
 * (team "general", display name from the JWT `name`); PATCH
 * /support/agent/me changes status, max_concurrent_chats and display_name
 * (docs/API.md "§5 Agent tickets — choices").
 */
#include "harness.h"

#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

/* One agent endpoint; ticket endpoints take the ticket between prefix and
 * suffix. */
struct endpoint {
    const char *method;
    bool ticket;
    const char *path;      /* full path, or the suffix after /tickets/:id */
    const char *body;      /* JSON, or NULL for none */
    long ok;               /* what an agent gets */
};

static const struct endpoint endpoints[] = {
    {"GET", false, "/support/agent/tickets", NULL, 200},
    {"GET", true, "", NULL, 200},
    {"PATCH", true, "", "{\"priority\":\"high\"}", 200},
    {"POST", true, "/messages", "{\"body\":\"looking into it\"}", 201},
    {"POST", true, "/claim", NULL, 200},
    {"POST", true, "/escalate", "{\"reason\":\"the provider must act\",\"provider_id\":4242}",
     200},
    {"GET", true, "/events", NULL, 200},
    {"GET", false, "/support/agent/me", NULL, 200},
    {"PATCH", false, "/support/agent/me", "{\"status\":\"away\"}", 200},
};
#define NENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

static const char *
path_of(const struct endpoint *e, const char *ticket)
{
    return e->ticket ? sp_t_fmt("/support/agent/tickets/%s%s", ticket, e->path) : e->path;
}

static struct sp_t_resp *
call(const struct endpoint *e, const char *ticket, const char *token)
{
    return sp_t_request(e->method, path_of(e, ticket), token,
                        e->body != NULL ? SP_T_JSON : NULL, e->body, NULL);
}

static const char *
agent_me_user_count(const char *sub)
{
    return sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'", sub);
}

/* ---- the role matrix ---------------------------------------------------- */

START_TEST(every_agent_endpoint_without_token_is_401)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&c, "roles: no token");
    int64_t v0 = 0;
    {
        struct sp_t_resp *r = sp_t_ticket_get(&c, pid);
        v0 = sp_t_jint(r->json, "version");
        sp_t_resp_free(r);
    }
    for (size_t i = 0; i < NENDPOINTS; i++) {
        struct sp_t_resp *r = call(&endpoints[i], pid, NULL);
        ck_assert_msg(r->status == 401, "%s %s without a token: HTTP %ld, want 401",
                      endpoints[i].method, path_of(&endpoints[i], pid), r->status);
        sp_t_assert_problem(r, 401, "unauthorized");
        sp_t_resp_free(r);
    }
    /* nothing happened to the ticket */
    struct sp_t_resp *r = sp_t_ticket_get(&c, pid);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), v0);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "open");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(every_agent_endpoint_with_the_owners_customer_token_is_403)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&c, "roles: customer");
    for (size_t i = 0; i < NENDPOINTS; i++) {
        struct sp_t_resp *r = call(&endpoints[i], pid, c.token);
        ck_assert_msg(r->status == 403, "%s %s as a customer: HTTP %ld, want 403; %.300s",
                      endpoints[i].method, path_of(&endpoints[i], pid), r->status, r->body);
        sp_t_assert_problem(r, 403, "forbidden");
        sp_t_resp_free(r);
    }
    ck_assert_int_eq(sp_t_db_event_count(pid, "escalated"), 0);
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 0);
    ck_assert_int_eq(sp_t_db_event_count(pid, "priority_changed"), 0);
    ck_assert_str_eq(agent_me_user_count(c.sub), "0");
    struct sp_t_resp *r = sp_t_ticket_get(&c, pid);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(r->json, "messages")), 1);
    sp_t_resp_free(r);
}
END_TEST

/* Each endpoint on a fresh ticket, so claim and escalate cannot collide. */
static void
assert_matrix_allows(enum sp_role role)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user u = sp_t_user_new(role);
    for (size_t i = 0; i < NENDPOINTS; i++) {
        const struct endpoint *e = &endpoints[i];
        const char *pid = sp_t_ticket_create(&c, sp_t_fmt("roles %zu", i));
        struct sp_t_resp *r = call(e, pid, u.token);
        ck_assert_msg(r->status == e->ok, "%s %s as %s: HTTP %ld, want %ld; %.400s", e->method,
                      path_of(e, pid), sp_role_name(role), r->status, e->ok, r->body);
        sp_t_assert_json(r, e->ok);
        if (e->ticket && strcmp(e->path, "/events") == 0) {
            (void)sp_t_jarr(r->json, "data");
        } else if (e->ticket && strcmp(e->path, "/messages") == 0) {
            ck_assert_str_eq(sp_t_jstr(r->json, "sender_type"), "agent");
            ck_assert_str_eq(sp_t_jstr(r->json, "sender_id"), u.sub);
        } else if (e->ticket) {
            sp_t_assert_agent_view(r->json);
            ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), pid);
        } else if (strcmp(e->path, "/support/agent/tickets") == 0) {
            (void)sp_t_jarr(r->json, "data");
            (void)sp_t_jget(r->json, "next_cursor");
        } else {
            ck_assert_str_eq(sp_t_jstr(r->json, "user_id"), u.sub);
        }
        sp_t_resp_free(r);
    }
    /* the side effects happened for this caller */
    ck_assert_str_eq(agent_me_user_count(u.sub), "1");
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_agents WHERE user_id = '%s'", u.sub),
                     "away");
}

START_TEST(every_agent_endpoint_works_for_a_support_agent)
{
    assert_matrix_allows(SP_ROLE_AGENT);
}
END_TEST

START_TEST(every_agent_endpoint_works_for_a_support_admin)
{
    assert_matrix_allows(SP_ROLE_ADMIN);
}
END_TEST

START_TEST(claim_by_an_agent_without_a_row_creates_the_row_first)
{
    /* A claim by an agent who never called /me provisions the row first. */
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "claim provisions");
    ck_assert_str_eq(agent_me_user_count(a.sub), "0");
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/claim", pid),
                                         a.token, NULL);
    sp_t_assert_json(r, 200);
    const char *id = sp_t_sql("SELECT id FROM support_agents WHERE user_id = '%s'", a.sub);
    ck_assert_ptr_nonnull(id);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), strtoll(id, NULL, 10));
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_agent_id(&a), strtoll(id, NULL, 10));
}
END_TEST

/* ---- provisioning ------------------------------------------------------- */

static void
assert_agent_record(struct json_object *o)
{
    static const char *const statuses[] = {"active", "away", NULL};
    ck_assert_int_gt(sp_t_jint(o, "id"), 0);
    (void)sp_t_jstr(o, "user_id");
    struct json_object *dn = sp_t_jget(o, "display_name");
    ck_assert_msg(dn == NULL || json_object_is_type(dn, json_type_string),
                  "display_name must be a string or null");
    (void)sp_t_jstr(o, "team");
    (void)sp_t_jarr(o, "skills");
    const char *st = sp_t_jstr(o, "status");
    bool known = false;
    for (size_t i = 0; statuses[i] != NULL; i++)
        known = known || strcmp(st, statuses[i]) == 0;
    ck_assert_msg(known, "agent status %s", st);
    int64_t max = sp_t_jint(o, "max_concurrent_chats");
    ck_assert_msg(max >= 0 && max <= 100, "max_concurrent_chats %lld", (long long)max);
    sp_t_assert_timestamp(sp_t_jstr(o, "created_at"));
    sp_t_assert_timestamp(sp_t_jstr(o, "updated_at"));
}

START_TEST(first_get_me_creates_an_active_agent_in_team_general)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    ck_assert_str_eq(agent_me_user_count(a.sub), "0");

    struct sp_t_resp *r = sp_t_get("/support/agent/me", a.token);
    sp_t_assert_json(r, 200);
    assert_agent_record(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "user_id"), a.sub);
    ck_assert_str_eq(sp_t_jstr(r->json, "team"), "general");
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
    sp_t_assert_recent(sp_t_jstr(r->json, "created_at"));
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);

    ck_assert_str_eq(agent_me_user_count(a.sub), "1");
    ck_assert_str_eq(sp_t_sql("SELECT team FROM support_agents WHERE user_id = '%s'", a.sub),
                     "general");
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_agents WHERE user_id = '%s'", a.sub),
                     "active");
    ck_assert_int_eq(strtoll(sp_t_sql("SELECT id FROM support_agents WHERE user_id = '%s'", a.sub),
                             NULL, 10),
                     id);

    /* the second call finds the same row, and takes no id from the
     * sequence (QA: each call burned one) */
    const char *seq = sp_t_fmt("%s", sp_t_sql("SELECT last_value FROM support_agents_id_seq"));
    for (int i = 0; i < 3; i++) {
        r = sp_t_get("/support/agent/me", a.token);
        sp_t_assert_json(r, 200);
        ck_assert_int_eq(sp_t_jint(r->json, "id"), id);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(agent_me_user_count(a.sub), "1");
    ck_assert_str_eq(sp_t_sql("SELECT last_value FROM support_agents_id_seq"), seq);
}
END_TEST

START_TEST(any_first_agent_request_creates_the_row)
{
    /* Not /me: the queue, the dashboard — any agent endpoint. */
    static const char *const paths[] = {"/support/agent/tickets", "/support/agent/dashboard"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
        ck_assert_str_eq(agent_me_user_count(a.sub), "0");
        struct sp_t_resp *r = sp_t_get(paths[i], a.token);
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
        ck_assert_str_eq(agent_me_user_count(a.sub), "1");
        r = sp_t_get(paths[i], a.token);  /* no second row, whichever worker answers */
        sp_t_resp_free(r);
        ck_assert_str_eq(agent_me_user_count(a.sub), "1");
    }
}
END_TEST

START_TEST(first_request_racing_another_insert_of_the_agent_succeeds)
{
    /* Found by bench/kb: when another request inserts the agent's row
     * first, this request's insert waits for that commit and does nothing,
     * and its own SELECT, under the snapshot taken before, saw no row: 404.
     * The other request is played here by a transaction held open. */
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    PGconn *db = sp_t_tx_hold(sp_t_fmt("INSERT INTO support_agents (user_id, display_name)"
                                       " VALUES ('%s', 'racer')", a.sub));
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct sp_t_resp *r = sp_t_get("/support/agent/me", a.token);
        _exit(r->status == 200 ? 0 : (int)(r->status % 256));
    }
    usleep(300 * 1000);  /* the request is now waiting on our row */
    sp_t_tx_release(db);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the racing request answered %d, not 200", WEXITSTATUS(status));
    ck_assert_str_eq(agent_me_user_count(a.sub), "1");
}
END_TEST

START_TEST(first_get_me_takes_the_display_name_from_the_token)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *token = sp_t_token_claims(SP_ROLE_AGENT, a.sub, "{\"name\":\"Ada Lovelace\"}");
    struct sp_t_resp *r = sp_t_get("/support/agent/me", token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), "Ada Lovelace");
    sp_t_resp_free(r);
    ck_assert_str_eq(
        sp_t_sql("SELECT display_name FROM support_agents WHERE user_id = '%s'", a.sub),
        "Ada Lovelace");
}
END_TEST

START_TEST(first_get_me_of_an_admin_creates_an_agent_row)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_ADMIN);
    ck_assert_str_eq(agent_me_user_count(a.sub), "0");
    ck_assert_int_gt(sp_t_agent_id(&a), 0);
    ck_assert_str_eq(agent_me_user_count(a.sub), "1");
    ck_assert_str_eq(sp_t_sql("SELECT team FROM support_agents WHERE user_id = '%s'", a.sub),
                     "general");
}
END_TEST

/* An admin's token provisions a row too (any staff request), but away:
 * an admin who only reads the admin API is no agent of round-robin
 * routing (QA: it joined team general's rotation for good and was handed
 * tickets). It may set itself active to take work; an admin row that
 * exists (made active by another admin) is left as it is; an agent's
 * row still starts active. */
START_TEST(an_admin_tokens_first_request_provisions_an_away_row)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_ADMIN);
    struct sp_t_resp *r = sp_t_get("/support/admin/categories", a.token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(agent_me_user_count(a.sub), "1");
    ck_assert_str_eq(sp_t_sql("SELECT status || ' ' || team || ' ' || is_active"
                              " FROM support_agents WHERE user_id = '%s'", a.sub),
                     "away general true");
    r = sp_t_get("/support/agent/me", a.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    sp_t_resp_free(r);
    r = sp_t_patch_json("/support/agent/me", a.token, "{\"status\":\"active\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
    sp_t_resp_free(r);

    struct sp_t_user b = sp_t_user_new(SP_ROLE_ADMIN);
    r = sp_t_admin_post("/support/admin/agents",
                        sp_t_fmt("{\"user_id\":\"%s\",\"status\":\"active\"}", b.sub));
    int64_t version = sp_t_jint(r->json, "version");
    const char *updated = sp_t_fmt("%s", sp_t_jstr(r->json, "updated_at"));
    sp_t_resp_free(r);
    r = sp_t_get("/support/admin/categories", b.token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_get("/support/agent/me", b.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), version);
    ck_assert_str_eq(sp_t_jstr(r->json, "updated_at"), updated);
    sp_t_resp_free(r);

    struct sp_t_user c = sp_t_user_new(SP_ROLE_AGENT);
    r = sp_t_get("/support/agent/tickets", c.token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_agents WHERE user_id = '%s'", c.sub),
                     "active");
}
END_TEST

START_TEST(customer_calling_me_gets_403_and_no_agent_row)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_get("/support/agent/me", c.token);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    ck_assert_str_eq(agent_me_user_count(c.sub), "0");
}
END_TEST

/* ---- PATCH /support/agent/me ------------------------------------------ */

static struct sp_t_resp *
patch_me(const struct sp_t_user *a, const char *json)
{
    return sp_t_patch_json("/support/agent/me", a->token, json);
}

static const char *
db_agent(const struct sp_t_user *a, const char *column)
{
    return sp_t_sql("SELECT %s FROM support_agents WHERE user_id = '%s'", column, a->sub);
}

START_TEST(patch_me_sets_status_away_and_back_to_active)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    int64_t id = sp_t_agent_id(&a);
    struct sp_t_resp *r = patch_me(&a, "{\"status\":\"away\"}");
    sp_t_assert_json(r, 200);
    assert_agent_record(r->json);
    ck_assert_int_eq(sp_t_jint(r->json, "id"), id);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_agent(&a, "status"), "away");

    r = sp_t_get("/support/agent/me", a.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    sp_t_resp_free(r);

    r = patch_me(&a, "{\"status\":\"active\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_agent(&a, "status"), "active");
}
END_TEST

/* The agent's own record has the ETag the admin's view of it has, and
 * PATCH /support/agent/me honours If-Match: a stale one is 412 with
 * nothing changed (an agent's edit cannot silently undo an admin's). A
 * PATCH that changes nothing keeps the version and the ETag (QA). */
START_TEST(patch_me_honours_if_match_and_a_no_op_keeps_the_version)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    int64_t id = sp_t_agent_id(&a);
    struct sp_t_resp *r = sp_t_get("/support/agent/me", a.token);
    long long v = (long long)sp_t_jint(r->json, "version");
    const char *etag = sp_t_fmt("\"%lld-v%lld\"", (long long)id, v);
    ck_assert_str_eq(sp_t_header(r, "ETag"), etag);
    sp_t_resp_free(r);
    const char *const noops[] = {"{}", "{\"status\":\"active\"}", "{\"nickname\":\"x\"}"};
    for (size_t i = 0; i < sizeof(noops) / sizeof(noops[0]); i++) {
        r = patch_me(&a, noops[i]);
        sp_t_assert_json(r, 200);
        ck_assert_msg(sp_t_jint(r->json, "version") == v, "%s moved the version", noops[i]);
        ck_assert_str_eq(sp_t_header(r, "ETag"), etag);
        sp_t_resp_free(r);
    }
    const char *stale[] = {sp_t_fmt("If-Match: \"%lld-v%lld\"", (long long)id, v + 1), NULL};
    r = sp_t_request("PATCH", "/support/agent/me", a.token, SP_T_JSON,
                     "{\"max_concurrent_chats\":4}", stale);
    sp_t_assert_problem(r, 412, "precondition_failed");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_agent(&a, "version"), sp_t_fmt("%lld", v));
    const char *current[] = {sp_t_fmt("If-Match: %s", etag), NULL};
    r = sp_t_request("PATCH", "/support/agent/me", a.token, SP_T_JSON,
                     "{\"max_concurrent_chats\":4}", current);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "max_concurrent_chats"), 4);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), v + 1);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(patch_me_by_a_new_agent_creates_and_changes_the_row)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    ck_assert_str_eq(agent_me_user_count(a.sub), "0");
    struct sp_t_resp *r = patch_me(&a, "{\"status\":\"away\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    ck_assert_str_eq(sp_t_jstr(r->json, "team"), "general");
    sp_t_resp_free(r);
    ck_assert_str_eq(agent_me_user_count(a.sub), "1");
    ck_assert_str_eq(db_agent(&a, "status"), "away");
}
END_TEST

START_TEST(patch_me_max_concurrent_chats_accepts_0_to_100)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    (void)sp_t_agent_id(&a);
    static const int values[] = {0, 100, 7};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct sp_t_resp *r = patch_me(&a, sp_t_fmt("{\"max_concurrent_chats\":%d}", values[i]));
        sp_t_assert_json(r, 200);
        ck_assert_int_eq(sp_t_jint(r->json, "max_concurrent_chats"), values[i]);
        ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
        sp_t_resp_free(r);
        ck_assert_str_eq(db_agent(&a, "max_concurrent_chats"), sp_t_fmt("%d", values[i]));
    }
}
END_TEST

static void
assert_patch_me_invalid(const char *json, const char *field, const char *code)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    (void)sp_t_agent_id(&a);
    ck_assert_ptr_nonnull(sp_t_sql("UPDATE support_agents SET max_concurrent_chats = 5, "
                                   "display_name = 'Before' WHERE user_id = '%s' RETURNING id",
                                   a.sub));
    struct sp_t_resp *r = patch_me(&a, json);
    sp_t_assert_invalid(r, field, code);
    sp_t_resp_free(r);
    /* nothing changed */
    ck_assert_str_eq(db_agent(&a, "status"), "active");
    ck_assert_str_eq(db_agent(&a, "max_concurrent_chats"), "5");
    ck_assert_str_eq(db_agent(&a, "display_name"), "Before");
}

START_TEST(patch_me_max_concurrent_chats_101_is_422)
{
    assert_patch_me_invalid("{\"max_concurrent_chats\":101}", "max_concurrent_chats", NULL);
}
END_TEST

START_TEST(patch_me_max_concurrent_chats_negative_is_422)
{
    assert_patch_me_invalid("{\"max_concurrent_chats\":-1}", "max_concurrent_chats", NULL);
}
END_TEST

START_TEST(patch_me_max_concurrent_chats_as_string_is_422_wrong_type)
{
    assert_patch_me_invalid("{\"max_concurrent_chats\":\"5\"}", "max_concurrent_chats",
                            "wrong_type");
}
END_TEST

START_TEST(patch_me_unknown_status_is_422)
{
    assert_patch_me_invalid("{\"status\":\"busy\"}", "status", "invalid");
}
END_TEST

START_TEST(patch_me_status_of_wrong_type_is_422)
{
    assert_patch_me_invalid("{\"status\":true}", "status", "wrong_type");
}
END_TEST

START_TEST(patch_me_bad_field_with_good_ones_changes_nothing)
{
    assert_patch_me_invalid("{\"status\":\"away\",\"max_concurrent_chats\":101,"
                            "\"display_name\":\"After\"}",
                            "max_concurrent_chats", NULL);
}
END_TEST

START_TEST(patch_me_sets_and_clears_display_name)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    (void)sp_t_agent_id(&a);
    struct sp_t_resp *r = patch_me(&a, "{\"display_name\":\"Grace H.\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), "Grace H.");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_agent(&a, "display_name"), "Grace H.");

    /* a PATCH of another field leaves it alone */
    r = patch_me(&a, "{\"max_concurrent_chats\":9}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), "Grace H.");
    sp_t_resp_free(r);

    r = patch_me(&a, "{\"display_name\":null}");
    sp_t_assert_json(r, 200);
    sp_t_assert_jnull(r->json, "display_name");
    ck_assert_int_eq(sp_t_jint(r->json, "max_concurrent_chats"), 9);
    sp_t_resp_free(r);
    ck_assert_ptr_null(db_agent(&a, "display_name"));
}
END_TEST

/* docs/API.md §6: a display name is one line of visible text, as a
 * ticket subject (it is shown in staff notifications and chats): a
 * control character or line break is 422 invalid, blanks alone are 422
 * empty, the blanks around it go; on PATCH /support/agent/me and the
 * admin's agent create and PATCH alike. Nothing is stored on a refusal. */
START_TEST(display_name_is_one_line_of_visible_text)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    int64_t id = sp_t_agent_id(&a);
    struct sp_t_resp *r = patch_me(&a, "{\"display_name\":\"Grace\"}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    const char *invalid[] = {"line1\\nline2\\u0007\\u001b[31m", "a\\tb", "a\\u0085b",
                             "a\\u2028b", "\\u001b[31m"};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        const char *body = sp_t_fmt("{\"display_name\":\"%s\"}", invalid[i]);
        r = patch_me(&a, body);
        sp_t_assert_invalid(r, "display_name", "invalid");
        sp_t_resp_free(r);
        r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)id), body);
        sp_t_assert_invalid(r, "display_name", "invalid");
        sp_t_resp_free(r);
    }
    r = patch_me(&a, "{\"display_name\":\"   \"}");
    sp_t_assert_invalid(r, "display_name", "empty");
    sp_t_resp_free(r);
    /* QA: another field's error hid the name's (every error at once) */
    r = patch_me(&a, "{\"display_name\":\"a\\nb\",\"status\":\"x\",\"max_concurrent_chats\":500}");
    sp_t_assert_invalid(r, "display_name", "invalid");
    sp_t_assert_invalid(r, "status", NULL);
    sp_t_assert_invalid(r, "max_concurrent_chats", NULL);
    sp_t_resp_free(r);
    r = patch_me(&a, "{\"display_name\":\"\\u200b\\u00a0\"}");
    sp_t_assert_invalid(r, "display_name", "empty");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_agent(&a, "display_name"), "Grace");
    r = patch_me(&a, "{\"display_name\":\"  Grace H.\\u200b \"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), "Grace H.");
    sp_t_resp_free(r);
    /* a name no other agent has (one another active agent has is 409:
     * test_agent_names) */
    const char *ada = sp_t_fmt("Ada %s", sp_t_unique("r"));
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)id),
                   sp_t_fmt("{\"display_name\":\" %s \"}", ada));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), ada);
    sp_t_resp_free(r);
    /* The limit (200) is the stored name's: the blanks around do not
     * count (QA: 200 characters with spaces around were too long). */
    const char *limit = sp_t_repeat("g", 200);
    r = patch_me(&a, sp_t_fmt("{\"display_name\":\"  %s\\u00a0\"}", limit));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), limit);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)id),
                   sp_t_fmt("{\"display_name\":\" %s \"}", sp_t_repeat("g", 201)));
    sp_t_assert_invalid(r, "display_name", "too_long");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_agent(&a, "display_name"), limit);
    /* The admin's create refuses it too, and creates nothing. */
    struct sp_t_user b = sp_t_user_new(SP_ROLE_AGENT);
    r = sp_t_admin("POST", "/support/admin/agents",
                   sp_t_fmt("{\"user_id\":\"%s\",\"display_name\":\"x\\r\\nBcc: y\"}", b.sub));
    sp_t_assert_invalid(r, "display_name", "invalid");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'", b.sub),
                     "0");
}
END_TEST

/* The token's name claim is made one line, not refused (the agent did
 * not type it): controls become spaces, the blanks around it go. */
START_TEST(first_get_me_makes_the_tokens_name_one_line)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *token = sp_t_token_claims(SP_ROLE_AGENT, a.sub,
                                          "{\"name\":\" Ada\\nLovelace\\u0007 \"}");
    struct sp_t_resp *r = sp_t_get("/support/agent/me", token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), "Ada Lovelace");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(patch_me_with_invalid_json_is_400)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = patch_me(&a, "{\"status\":");
    sp_t_assert_problem(r, 400, "invalid_json");
    sp_t_resp_free(r);
}
END_TEST

static Suite *
agent_roles_suite(void)
{
    Suite *s = suite_create("agent_roles");
    TCase *tc = sp_t_tcase(s, "matrix");
    tcase_add_test(tc, every_agent_endpoint_without_token_is_401);
    tcase_add_test(tc, every_agent_endpoint_with_the_owners_customer_token_is_403);
    tcase_add_test(tc, every_agent_endpoint_works_for_a_support_agent);
    tcase_add_test(tc, every_agent_endpoint_works_for_a_support_admin);
    tcase_add_test(tc, claim_by_an_agent_without_a_row_creates_the_row_first);

    tc = sp_t_tcase(s, "provisioning");
    tcase_add_test(tc, first_get_me_creates_an_active_agent_in_team_general);
    tcase_add_test(tc, any_first_agent_request_creates_the_row);
    tcase_add_test(tc, first_request_racing_another_insert_of_the_agent_succeeds);
    tcase_add_test(tc, first_get_me_takes_the_display_name_from_the_token);
    tcase_add_test(tc, first_get_me_of_an_admin_creates_an_agent_row);
    tcase_add_test(tc, an_admin_tokens_first_request_provisions_an_away_row);
    tcase_add_test(tc, customer_calling_me_gets_403_and_no_agent_row);

    tc = sp_t_tcase(s, "patch_me");
    tcase_add_test(tc, patch_me_sets_status_away_and_back_to_active);
    tcase_add_test(tc, patch_me_honours_if_match_and_a_no_op_keeps_the_version);
    tcase_add_test(tc, patch_me_by_a_new_agent_creates_and_changes_the_row);
    tcase_add_test(tc, patch_me_max_concurrent_chats_accepts_0_to_100);
    tcase_add_test(tc, patch_me_max_concurrent_chats_101_is_422);
    tcase_add_test(tc, patch_me_max_concurrent_chats_negative_is_422);
    tcase_add_test(tc, patch_me_max_concurrent_chats_as_string_is_422_wrong_type);
    tcase_add_test(tc, patch_me_unknown_status_is_422);
    tcase_add_test(tc, patch_me_status_of_wrong_type_is_422);
    tcase_add_test(tc, patch_me_bad_field_with_good_ones_changes_nothing);
    tcase_add_test(tc, patch_me_sets_and_clears_display_name);
    tcase_add_test(tc, patch_me_with_invalid_json_is_400);
    tcase_add_test(tc, display_name_is_one_line_of_visible_text);
    tcase_add_test(tc, first_get_me_makes_the_tokens_name_one_line);
    return s;
}

int
main(void)
{
    return sp_t_run(agent_roles_suite());
}
