/*
 * test_agent_ticket: GET /support/agent/tickets/:id (API.md §5, docs/API.md
 * "§5 Agent tickets — choices") — the agent view with every agent field
 * and all messages (internal notes included, with sender_id and
 * is_internal), lookup by numeric or public id, 404s, the ETag, internal
 * notes kept from the customer, and the SLA due dates of §5.2: computed
 * from created_at by the priority's policy, recomputed on priority and
 * category changes, a category's own policy beating the default.
 */
#include "harness.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_MS INT64_C(60000)

static struct sp_t_resp *
patch(const struct sp_t_user *a, const char *ref, const char *json)
{
    return sp_t_patch_json(sp_t_fmt("/support/agent/tickets/%s", ref), a->token, json);
}

static void
patch_ok(const struct sp_t_user *a, const char *ref, const char *json)
{
    struct sp_t_resp *r = patch(a, ref, json);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

static struct sp_t_resp *
note(const struct sp_t_user *a, const char *ref, const char *body, bool internal)
{
    return sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", ref), a->token,
                          sp_t_fmt("{\"body\":%s,\"is_internal\":%s}", sp_t_jq(body),
                                   internal ? "true" : "false"));
}

/* Asserts the dues of t are created_at + the given minutes. */
static void
assert_dues(struct json_object *t, int first_response_min, int resolution_min)
{
    int64_t created = sp_t_jts_ms(t, "created_at");
    int64_t fr = sp_t_jts_ms(t, "first_response_due_at");
    int64_t res = sp_t_jts_ms(t, "resolution_due_at");
    ck_assert_msg(fr == created + first_response_min * MIN_MS,
                  "first_response_due_at %s is not created_at %s + %d min",
                  sp_t_jstr(t, "first_response_due_at"), sp_t_jstr(t, "created_at"),
                  first_response_min);
    ck_assert_msg(res == created + resolution_min * MIN_MS,
                  "resolution_due_at %s is not created_at %s + %d min",
                  sp_t_jstr(t, "resolution_due_at"), sp_t_jstr(t, "created_at"), resolution_min);
}

/* ---- the view ----------------------------------------------------------- */

START_TEST(agent_view_has_every_agent_field)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "agent view");
    struct sp_t_resp *r = sp_t_agent_ticket(&a, pid);
    struct json_object *t = r->json;

    ck_assert_int_eq(sp_t_jint(t, "id"),
                     strtoll(sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s'",
                                      pid), NULL, 10));
    ck_assert_str_eq(sp_t_jstr(t, "public_id"), pid);
    ck_assert_str_eq(sp_t_jstr(t, "subject"), "agent view");
    ck_assert_str_eq(sp_t_jstr(t, "description"), "About agent view");
    ck_assert_str_eq(sp_t_jstr(t, "status"), "open");
    ck_assert_str_eq(sp_t_jstr(t, "priority"), "normal");
    ck_assert_str_eq(sp_t_jstr(t, "customer_id"), c.sub);
    struct sp_t_resp *cr = sp_t_ticket_get(&c, pid);
    ck_assert_int_eq(sp_t_jint(t, "version"), sp_t_jint(cr->json, "version"));
    ck_assert_str_eq(sp_t_jstr(t, "created_at"), sp_t_jstr(cr->json, "created_at"));
    sp_t_resp_free(cr);
    sp_t_assert_recent(sp_t_jstr(t, "created_at"));

    /* a token without contact claims: nothing known but the default tier */
    struct json_object *cust = sp_t_jobj(t, "customer");
    sp_t_assert_jnull(cust, "name");
    sp_t_assert_jnull(cust, "email");
    sp_t_assert_jnull(cust, "phone");
    ck_assert_str_eq(sp_t_jstr(cust, "tier"), "standard");

    sp_t_assert_jnull(t, "assigned_agent_id");
    sp_t_assert_jnull(t, "first_responded_at");
    sp_t_assert_jnull(t, "escalated_at");
    ck_assert(!json_object_get_boolean(sp_t_jget(t, "sla_paused")));
    ck_assert(!json_object_get_boolean(sp_t_jget(t, "sla_breached")));
    ck_assert_ptr_nonnull(sp_t_jget(t, "first_response_due_at"));
    ck_assert_ptr_nonnull(sp_t_jget(t, "resolution_due_at"));
    ck_assert_ptr_nonnull(sp_t_jget(t, "sla_due_at"));
    (void)sp_t_jget(t, "sentiment");
    (void)sp_t_jget(t, "priority_rule");

    struct json_object *ms = sp_t_jarr(t, "messages");
    ck_assert_uint_eq(json_object_array_length(ms), 1);
    struct json_object *m = json_object_array_get_idx(ms, 0);
    ck_assert_str_eq(sp_t_jstr(m, "sender_type"), "customer");
    ck_assert_str_eq(sp_t_jstr(m, "sender_id"), c.sub);
    ck_assert(!json_object_get_boolean(sp_t_jget(m, "is_internal")));
    ck_assert_str_eq(sp_t_jstr(m, "body"), "About agent view");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(agent_view_shows_the_customer_contact_from_the_token)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    c.token = sp_t_token_claims(SP_ROLE_CUSTOMER, c.sub,
                                "{\"name\":\"Carla Customer\",\"email\":\"carla@example.com\","
                                "\"phone\":\"+15551234567\",\"tier\":\"vip\"}");
    const char *pid = sp_t_ticket_create(&c, "contact");
    struct sp_t_resp *r = sp_t_agent_ticket(&a, pid);
    struct json_object *cust = sp_t_jobj(r->json, "customer");
    ck_assert_msg(json_object_is_type(sp_t_jget(cust, "name"), json_type_string),
                  "customer.name not shown: %s", json_object_to_json_string(cust));
    ck_assert_str_eq(sp_t_jstr(cust, "name"), "Carla Customer");
    ck_assert_str_eq(sp_t_jstr(cust, "email"), "carla@example.com");
    ck_assert_str_eq(sp_t_jstr(cust, "phone"), "+15551234567");
    ck_assert_str_eq(sp_t_jstr(cust, "tier"), "vip");
    sp_t_resp_free(r);
    /* stored encrypted: the plain address is nowhere in the row */
    const char *plain = sp_t_sql("SELECT count(*) FROM support_contacts WHERE customer_id = '%s'"
                                 " AND (coalesce(email_enc, '') LIKE '%%carla@example.com%%'"
                                 " OR coalesce(name_enc, '') LIKE '%%Carla%%')",
                                 c.sub);
    ck_assert_str_eq(plain, "0");
}
END_TEST

START_TEST(agent_view_by_numeric_id_equals_view_by_public_id)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "two ways");
    (void)sp_t_ticket_reply(&c, pid, "and a second message");
    struct sp_t_resp *by_pid = sp_t_agent_ticket(&a, pid);
    const char *id = sp_t_fmt("%lld", (long long)sp_t_jint(by_pid->json, "id"));
    struct sp_t_resp *by_id = sp_t_agent_ticket(&a, id);
    ck_assert_str_eq(sp_t_jstr(by_id->json, "public_id"), pid);
    ck_assert_msg(json_object_equal(by_pid->json, by_id->json),
                  "views differ:\n%s\n%s", by_pid->body, by_id->body);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(by_id->json, "messages")), 2);
    ck_assert_str_eq(sp_t_header(by_id, "ETag"), sp_t_header(by_pid, "ETag"));
    sp_t_resp_free(by_pid);
    sp_t_resp_free(by_id);
}
END_TEST

/* GET path?query (a cursor appended, URL-encoded) as a; asserts 200 and
 * returns the first item's id of list (messages or data) and, in
 * *next, the cursor member named next (NULL at the end). */
static int64_t
page_of(const struct sp_t_user *a, const char *path, const char *query, const char *cursor_name,
        const char *cursor, const char *list, const char *next_name, const char **next)
{
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("%s?%s%s%s%s", path, query, cursor ? "&" : "",
                                            cursor ? cursor_name : "",
                                            cursor ? sp_t_fmt("=%s", sp_t_urlencode(cursor)) : ""),
                                   a->token);
    sp_t_assert_json(r, 200);
    int64_t first = sp_t_jint(json_object_array_get_idx(sp_t_jarr(r->json, list), 0), "id");
    struct json_object *n = sp_t_jget(r->json, next_name);
    *next = n != NULL ? sp_t_fmt("%s", json_object_get_string(n)) : NULL;
    sp_t_resp_free(r);
    return first;
}

/* An agent's cursors of a ticket (its messages, its events) are bound to
 * the ticket, not to the path's spelling of it: one issued on
 * /tickets/<id> pages /tickets/<public id> and the other way round (QA:
 * 422), and is still refused on another ticket. */
START_TEST(cursors_page_the_ticket_whichever_id_names_it)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "cursor spellings");
    const char *other = sp_t_ticket_create(&c, "another ticket");
    (void)sp_t_ticket_reply(&c, pid, "a second message");
    patch_ok(&a, pid, "{\"priority\":\"high\"}");
    const char *id =
        sp_t_fmt("%s", sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s'", pid));
    const char *spellings[2][2] = {{id, pid}, {pid, id}};
    for (int k = 0; k < 2; k++) {
        const char *from = sp_t_fmt("/support/agent/tickets/%s", spellings[k][0]);
        const char *to = sp_t_fmt("/support/agent/tickets/%s", spellings[k][1]);
        const char *m, *m2, *e, *e2;
        int64_t m1 = page_of(&a, from, "messages_limit=1", NULL, NULL, "messages",
                             "messages_next_cursor", &m);
        ck_assert_ptr_nonnull(m);
        int64_t next = page_of(&a, to, "messages_limit=1", "messages_cursor", m, "messages",
                               "messages_next_cursor", &m2);
        ck_assert_int_gt(next, m1);
        ck_assert_int_eq(next, page_of(&a, from, "messages_limit=1", "messages_cursor", m,
                                       "messages", "messages_next_cursor", &m2));
        int64_t e1 = page_of(&a, sp_t_fmt("%s/events", from), "limit=1", NULL, NULL, "data",
                             "next_cursor", &e);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_gt(page_of(&a, sp_t_fmt("%s/events", to), "limit=1", "cursor", e, "data",
                                 "next_cursor", &e2),
                         e1);
        /* another ticket, or the other list, refuses them */
        struct sp_t_resp *r = sp_t_get(
            sp_t_fmt("/support/agent/tickets/%s?messages_cursor=%s", other, sp_t_urlencode(m)),
            a.token);
        sp_t_assert_invalid(r, "messages_cursor", NULL);
        sp_t_resp_free(r);
        r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s/events?cursor=%s", other,
                              sp_t_urlencode(e)),
                     a.token);
        sp_t_assert_invalid(r, "cursor", NULL);
        sp_t_resp_free(r);
        r = sp_t_get(sp_t_fmt("%s/events?cursor=%s", to, sp_t_urlencode(m)), a.token);
        sp_t_assert_invalid(r, "cursor", NULL);
        sp_t_resp_free(r);
    }
}
END_TEST

START_TEST(agent_sees_tickets_of_any_customer)
{
    struct sp_t_user c1 = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user c2 = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *p1 = sp_t_ticket_create(&c1, "first customer");
    const char *p2 = sp_t_ticket_create(&c2, "second customer");
    struct sp_t_resp *r = sp_t_agent_ticket(&a, p1);
    ck_assert_str_eq(sp_t_jstr(r->json, "customer_id"), c1.sub);
    sp_t_resp_free(r);
    r = sp_t_agent_ticket(&a, p2);
    ck_assert_str_eq(sp_t_jstr(r->json, "customer_id"), c2.sub);
    sp_t_resp_free(r);
}
END_TEST

static void
assert_not_found(const char *ref)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s", ref), a.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}

START_TEST(unknown_numeric_id_is_404)
{
    assert_not_found(sp_t_fmt("%lld", 1 + strtoll(sp_t_sql("SELECT coalesce(max(id), 0) + "
                                                            "1000000 FROM support_tickets"),
                                                   NULL, 10)));
}
END_TEST

START_TEST(unknown_public_id_is_404)
{
    assert_not_found("ZZZZZZZZZZZZ");
}
END_TEST

/* The public id in lower (or mixed) case: Crockford base32 does not care
 * about case (QA: 404). Every route by :id reads it so; the answers show
 * the canonical upper case. */
START_TEST(a_public_id_in_any_case_names_the_ticket)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "any case");
    char *lower = strdup(pid);
    for (char *q = lower; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    const char *mixed = sp_t_fmt("%c%s", pid[0], lower + 1);

    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s", lower), a.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), pid);
    sp_t_resp_free(r);
    r = patch(&a, mixed, "{\"status\":\"in_progress\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), pid);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "in_progress");
    sp_t_resp_free(r);
    r = note(&a, lower, "noted", true);
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    r = sp_t_request("POST", sp_t_fmt("/support/agent/tickets/%s/claim", lower), a.token, NULL,
                     NULL, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), pid);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s/events", lower), a.token);
    sp_t_assert_json(r, 200);
    ck_assert_int_ge(json_object_array_length(sp_t_jarr(r->json, "data")), 2);
    sp_t_resp_free(r);
    free(lower);
    /* Still 12 Crockford chars: a u is in no id, in any case. */
    assert_not_found("zzzzzzzzzzzu");
}
END_TEST

START_TEST(malformed_id_is_404)
{
    assert_not_found("not-a-ticket");
}
END_TEST

START_TEST(etag_is_v_version_and_follows_changes)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "etag");
    struct sp_t_resp *r = sp_t_agent_ticket(&a, pid);
    int64_t v = sp_t_jint(r->json, "version");
    sp_t_ticket_etag(r, (long long)v);
    sp_t_resp_free(r);

    patch_ok(&a, pid, "{\"priority\":\"high\"}");
    r = sp_t_agent_ticket(&a, pid);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), v + 1);
    sp_t_ticket_etag(r, (long long)v + 1);
    sp_t_resp_free(r);
}
END_TEST

/* GET of the agent's view of ref with If-None-Match: tags. */
static struct sp_t_resp *
get_if_none_match(const struct sp_t_user *a, const char *ref, const char *tags)
{
    return sp_t_get_if_none_match(sp_t_fmt("/support/agent/tickets/%s", ref), a->token, tags);
}

/* QA: the agent's ticket GET sent an ETag but ignored If-None-Match. A
 * tag naming the current ETag (W/ or not, in a list, or *) is 304 with
 * that ETag and no body; another or an older one is 200. */
START_TEST(if_none_match_with_the_current_etag_is_304)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "conditional");
    struct sp_t_resp *r = sp_t_agent_ticket(&a, pid);
    int64_t version = sp_t_jint(r->json, "version");
    const char *etag = sp_t_ticket_etag(r, version);
    sp_t_resp_free(r);
    sp_t_assert_ticket_revalidates(sp_t_fmt("/support/agent/tickets/%s", pid), a.token, etag);
    /* a changed ticket's old ETag is stale, and a bare "v<version>", even
     * of the new version, names no representation */
    const char *bare = sp_t_fmt("\"v%lld\"", (long long)version + 1);
    patch_ok(&a, pid, "{\"priority\":\"high\"}");
    const char *other[] = {bare, etag, "\"nope\""};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        r = get_if_none_match(&a, pid, other[i]);
        sp_t_assert_json(r, 200);
        ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "high");
        ck_assert_str_ne(sp_t_ticket_etag(r, 0), etag);
        sp_t_resp_free(r);
    }
}
END_TEST

/* QA: the ETag named only the ticket's version, which a category's
 * rename does not move although the view shows the new slug: a client
 * revalidating would have been told its copy, with the old slug, was
 * current. The ETag covers the body shown. */
START_TEST(a_renamed_category_changes_the_etag_of_its_tickets)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *cat = sp_t_admin_category_new(NULL);
    const char *pid = sp_t_ticket_create_json(
        &c, sp_t_fmt("{\"subject\":\"renamed\",\"description\":\"d\",\"category\":\"%s\"}",
                     cat));
    struct sp_t_resp *r = sp_t_agent_ticket(&a, pid);
    int64_t version = sp_t_jint(r->json, "version");
    const char *etag = sp_t_ticket_etag(r, version);
    sp_t_resp_free(r);
    const char *renamed = sp_t_unique("renamed");
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/categories/%s",
                                     sp_t_sql("SELECT id FROM support_categories WHERE slug ="
                                              " '%s'", cat)),
                   sp_t_fmt("{\"slug\":\"%s\"}", renamed));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = get_if_none_match(&a, pid, etag);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), renamed);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), version);
    const char *now = sp_t_ticket_etag(r, version);
    ck_assert_str_ne(now, etag);
    sp_t_resp_free(r);
    r = get_if_none_match(&a, pid, now);
    sp_t_assert_status(r, 304);
    sp_t_resp_free(r);
}
END_TEST

/* ---- internal notes ----------------------------------------------------- */

START_TEST(internal_note_is_shown_to_agents_only)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "notes");
    const char *secret = sp_t_unique("note-for-agents-only");
    struct sp_t_resp *r = note(&a, pid, secret, true);
    sp_t_assert_json(r, 201);
    int64_t note_id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);

    r = sp_t_agent_ticket(&a, pid);
    struct json_object *ms = sp_t_jarr(r->json, "messages");
    ck_assert_uint_eq(json_object_array_length(ms), 2);
    struct json_object *m = json_object_array_get_idx(ms, 1);
    ck_assert_int_eq(sp_t_jint(m, "id"), note_id);
    ck_assert_str_eq(sp_t_jstr(m, "body"), secret);
    ck_assert_str_eq(sp_t_jstr(m, "sender_type"), "agent");
    ck_assert_str_eq(sp_t_jstr(m, "sender_id"), a.sub);
    ck_assert(json_object_get_boolean(sp_t_jget(m, "is_internal")));
    sp_t_resp_free(r);

    r = sp_t_ticket_get(&c, pid);
    sp_t_assert_ticket_view(r->json);
    ms = sp_t_jarr(r->json, "messages");
    ck_assert_uint_eq(json_object_array_length(ms), 1);
    ck_assert_msg(strstr(r->body, secret) == NULL, "the internal note reached the customer");
    sp_t_resp_free(r);
}
END_TEST

/* The customer's list item of pid after an agent's internal note. */
static struct sp_t_resp *
customer_list_after_note(const struct sp_t_user *c, const char *pid, const char **last_before)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_get("/support/tickets", c->token);
    sp_t_assert_json(r, 200);
    struct json_object *item = json_object_array_get_idx(sp_t_jarr(r->json, "data"), 0);
    ck_assert_str_eq(sp_t_jstr(item, "public_id"), pid);
    ck_assert_int_eq(sp_t_jint(item, "message_count"), 1);
    *last_before = sp_t_fmt("%s", sp_t_jstr(item, "last_message_at"));
    sp_t_resp_free(r);

    usleep(5 * 1000);
    r = note(&a, pid, "only for agents", true);
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);

    r = sp_t_get("/support/tickets", c->token);
    sp_t_assert_json(r, 200);
    item = json_object_array_get_idx(sp_t_jarr(r->json, "data"), 0);
    sp_t_assert_ticket_summary(item);
    ck_assert_str_eq(sp_t_jstr(item, "public_id"), pid);
    return r;
}

START_TEST(internal_note_is_not_counted_in_the_customers_message_count)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&c, "notes in lists");
    const char *last_before;
    struct sp_t_resp *r = customer_list_after_note(&c, pid, &last_before);
    struct json_object *item = json_object_array_get_idx(sp_t_jarr(r->json, "data"), 0);
    ck_assert_msg(sp_t_jint(item, "message_count") == 1,
                  "the customer's message_count counts an internal note: %lld",
                  (long long)sp_t_jint(item, "message_count"));
    sp_t_resp_free(r);
}
END_TEST

START_TEST(internal_note_does_not_move_the_customers_last_message_at)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&c, "notes in lists");
    const char *last_before;
    struct sp_t_resp *r = customer_list_after_note(&c, pid, &last_before);
    struct json_object *item = json_object_array_get_idx(sp_t_jarr(r->json, "data"), 0);
    ck_assert_msg(strcmp(sp_t_jstr(item, "last_message_at"), last_before) == 0,
                  "the customer's last_message_at moved to the internal note: %s -> %s",
                  last_before, sp_t_jstr(item, "last_message_at"));
    sp_t_resp_free(r);
}
END_TEST

/* ---- SLA due dates ------------------------------------------------------ */

START_TEST(new_normal_ticket_is_due_240_and_2880_minutes_after_creation)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "sla normal");
    struct sp_t_resp *r = sp_t_agent_ticket(&a, pid);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "normal");
    assert_dues(r->json, 240, 2880);
    ck_assert_str_eq(sp_t_jstr(r->json, "sla_due_at"),
                     sp_t_jstr(r->json, "first_response_due_at"));
    sp_t_resp_free(r);
}
END_TEST

START_TEST(priority_change_recomputes_dues_from_created_at)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "sla urgent");

    struct sp_t_resp *r = patch(&a, pid, "{\"priority\":\"urgent\"}");
    sp_t_assert_json(r, 200);
    sp_t_assert_agent_view(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "urgent");
    assert_dues(r->json, 15, 240);
    ck_assert_str_eq(sp_t_jstr(r->json, "sla_due_at"),
                     sp_t_jstr(r->json, "first_response_due_at"));
    sp_t_resp_free(r);

    r = patch(&a, pid, "{\"priority\":\"low\"}");
    sp_t_assert_json(r, 200);
    assert_dues(r->json, 1440, 7200);
    ck_assert_str_eq(sp_t_jstr(r->json, "sla_due_at"),
                     sp_t_jstr(r->json, "first_response_due_at"));
    sp_t_resp_free(r);

    r = patch(&a, pid, "{\"priority\":\"high\"}");
    sp_t_assert_json(r, 200);
    assert_dues(r->json, 60, 480);
    sp_t_resp_free(r);

    /* and GET agrees with the PATCH answer */
    r = sp_t_agent_ticket(&a, pid);
    assert_dues(r->json, 60, 480);
    sp_t_resp_free(r);
}
END_TEST

/* A fresh category with its own policy for normal: 30 / 600 minutes. */
static const char *
category_with_policy(void)
{
    const char *slug = sp_t_db_category_new(true);
    ck_assert_ptr_nonnull(sp_t_sql(
        "INSERT INTO support_sla_policies (priority, category_id, first_response_minutes, "
        "resolution_minutes) SELECT 'normal', id, 30, 600 FROM support_categories "
        "WHERE slug = '%s' RETURNING id",
        slug));
    return slug;
}

START_TEST(category_policy_beats_the_default_at_creation)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *slug = category_with_policy();
    const char *pid = sp_t_ticket_create_json(
        &c, sp_t_fmt("{\"subject\":\"sla category\",\"description\":\"d\",\"category\":%s}",
                     sp_t_jq(slug)));
    struct sp_t_resp *r = sp_t_agent_ticket(&a, pid);
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), slug);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "normal");
    assert_dues(r->json, 30, 600);
    ck_assert_str_eq(sp_t_jstr(r->json, "sla_due_at"),
                     sp_t_jstr(r->json, "first_response_due_at"));
    sp_t_resp_free(r);

    /* a priority the category has no row for falls back to the default,
     * but a raise never moves a due later: the first response keeps its
     * 30 min (not high's 60), the resolution takes high's 480 */
    r = patch(&a, pid, "{\"priority\":\"high\"}");
    sp_t_assert_json(r, 200);
    assert_dues(r->json, 30, 480);
    sp_t_resp_free(r);
    r = patch(&a, pid, "{\"priority\":\"normal\"}");
    sp_t_assert_json(r, 200);
    assert_dues(r->json, 30, 600);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(category_change_recomputes_dues)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *slug = category_with_policy();
    const char *pid = sp_t_ticket_create(&c, "sla recategorised");

    struct sp_t_resp *r = patch(&a, pid, sp_t_fmt("{\"category\":%s}", sp_t_jq(slug)));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), slug);
    assert_dues(r->json, 30, 600);
    sp_t_resp_free(r);

    r = patch(&a, pid, "{\"category\":null}");
    sp_t_assert_json(r, 200);
    sp_t_assert_jnull(r->json, "category");
    assert_dues(r->json, 240, 2880);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(dues_are_stored_as_the_view_shows_them)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "sla stored");
    const char *fr_min = sp_t_sql("SELECT extract(epoch FROM first_response_due_at - created_at)"
                                  "::bigint / 60 FROM support_tickets WHERE public_id = '%s'",
                                  pid);
    const char *res_min = sp_t_sql("SELECT extract(epoch FROM resolution_due_at - created_at)"
                                   "::bigint / 60 FROM support_tickets WHERE public_id = '%s'",
                                   pid);
    ck_assert_str_eq(fr_min, "240");
    ck_assert_str_eq(res_min, "2880");
    ck_assert_str_eq(sp_t_sql("SELECT sla_due_at = first_response_due_at FROM support_tickets "
                              "WHERE public_id = '%s'", pid), "t");
    struct sp_t_resp *r = sp_t_agent_ticket(&a, pid);
    ck_assert_str_eq(sp_t_jstr(r->json, "first_response_due_at"),
                     sp_t_sql("SELECT support_ts(first_response_due_at) FROM support_tickets "
                              "WHERE public_id = '%s'", pid));
    sp_t_resp_free(r);
}
END_TEST

static Suite *
agent_ticket_suite(void)
{
    Suite *s = suite_create("agent_ticket");
    TCase *tc = sp_t_tcase(s, "view");
    tcase_add_test(tc, agent_view_has_every_agent_field);
    tcase_add_test(tc, agent_view_shows_the_customer_contact_from_the_token);
    tcase_add_test(tc, agent_view_by_numeric_id_equals_view_by_public_id);
    tcase_add_test(tc, cursors_page_the_ticket_whichever_id_names_it);
    tcase_add_test(tc, agent_sees_tickets_of_any_customer);
    tcase_add_test(tc, unknown_numeric_id_is_404);
    tcase_add_test(tc, unknown_public_id_is_404);
    tcase_add_test(tc, a_public_id_in_any_case_names_the_ticket);
    tcase_add_test(tc, malformed_id_is_404);
    tcase_add_test(tc, etag_is_v_version_and_follows_changes);
    tcase_add_test(tc, if_none_match_with_the_current_etag_is_304);
    tcase_add_test(tc, a_renamed_category_changes_the_etag_of_its_tickets);

    tc = sp_t_tcase(s, "internal_notes");
    tcase_add_test(tc, internal_note_is_shown_to_agents_only);
    tcase_add_test(tc, internal_note_is_not_counted_in_the_customers_message_count);
    tcase_add_test(tc, internal_note_does_not_move_the_customers_last_message_at);

    tc = sp_t_tcase(s, "sla");
    tcase_add_test(tc, new_normal_ticket_is_due_240_and_2880_minutes_after_creation);
    tcase_add_test(tc, priority_change_recomputes_dues_from_created_at);
    tcase_add_test(tc, category_policy_beats_the_default_at_creation);
    tcase_add_test(tc, category_change_recomputes_dues);
    tcase_add_test(tc, dues_are_stored_as_the_view_shows_them);
    return s;
}

int
main(void)
{
    return sp_t_run(agent_ticket_suite());
}
