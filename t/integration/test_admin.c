/*
 * test_admin: the JSON admin API of API.md §6 for categories, SLA
 * policies, priority rules and agents (role support_admin). Who may call
 * it (401 without a token, 403 for customers and plain agents, and
 * nothing changes then), the shapes it answers, validation (slugs, enum
 * values, minute ranges, PCRE2 patterns refused at save time with
 * invalid_pattern, skills), the specific conflicts (slug_taken,
 * user_id_taken), partial updates (rules bump their version), deletes,
 * list pagination, and the effects on ticket creation: a deactivated
 * category is refused, a category SLA policy drives the due dates.
 *
 * Every rule created here is inactive or bound to a fresh category, so no
 * other test's tickets are affected.
 */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MINUTE_MS 60000LL

/* ---- small helpers ----------------------------------------------------- */

/* The number of entries in a 422's errors[]. */
static size_t
error_count(const struct sp_t_resp *r)
{
    return json_object_array_length(sp_t_jarr(r->json, "errors"));
}

static void
assert_str_or_null(struct json_object *o, const char *key)
{
    struct json_object *v = sp_t_jget(o, key);
    ck_assert_msg(v == NULL || json_object_is_type(v, json_type_string),
                  "\"%s\" must be a string or null in %s", key, json_object_to_json_string(o));
}

static bool
str_eq_or_null(struct json_object *o, const char *key, const char *want)
{
    struct json_object *v = sp_t_jget(o, key);
    if (want == NULL)
        return v == NULL;
    return v != NULL && json_object_is_type(v, json_type_string)
           && strcmp(json_object_get_string(v), want) == 0;
}

static void
assert_one_of(const char *key, const char *v, const char *const *allowed)
{
    for (size_t i = 0; allowed[i] != NULL; i++)
        if (strcmp(v, allowed[i]) == 0)
            return;
    ck_abort_msg("%s \"%s\" is not an allowed value", key, v);
}

static const char *const priorities[] = {"low", "normal", "high", "urgent", NULL};
static const char *const routings[] = {"manual", "round_robin", "skill", NULL};
static const char *const tiers[] = {"standard", "premium", "vip", NULL};

static void
assert_category(struct json_object *c)
{
    ck_assert_int_gt(sp_t_jint(c, "id"), 0);
    ck_assert_msg(sp_t_matches("^[a-z0-9-]{1,120}$", sp_t_jstr(c, "slug")), "bad slug");
    ck_assert_msg(*sp_t_jstr(c, "name") != '\0', "empty name");
    assert_str_or_null(c, "description");
    (void)sp_t_jget_at(__FILE__, __LINE__, c, "is_active", json_type_boolean, true);
    assert_one_of("routing", sp_t_jstr(c, "routing"), routings);
    assert_str_or_null(c, "team");
    assert_str_or_null(c, "required_skill");
    struct json_object *dp = sp_t_jget(c, "default_priority");
    if (dp != NULL)
        assert_one_of("default_priority", sp_t_jstr(c, "default_priority"), priorities);
    sp_t_assert_timestamp(sp_t_jstr(c, "created_at"));
    sp_t_assert_timestamp(sp_t_jstr(c, "updated_at"));
}

static bool
jbool(struct json_object *o, const char *key)
{
    return json_object_get_boolean(
        sp_t_jget_at(__FILE__, __LINE__, o, key, json_type_boolean, true));
}

static void
assert_rule(struct json_object *r)
{
    ck_assert_int_gt(sp_t_jint(r, "id"), 0);
    (void)sp_t_jint(r, "position");
    ck_assert_msg(*sp_t_jstr(r, "name") != '\0', "empty name");
    (void)jbool(r, "is_active");
    assert_str_or_null(r, "category");
    struct json_object *t = sp_t_jget(r, "customer_tier");
    if (t != NULL)
        assert_one_of("customer_tier", sp_t_jstr(r, "customer_tier"), tiers);
    assert_str_or_null(r, "pattern");
    struct json_object *sb = sp_t_jget(r, "sentiment_below");
    ck_assert_msg(sb == NULL || json_object_is_type(sb, json_type_double)
                      || json_object_is_type(sb, json_type_int),
                  "sentiment_below must be a number or null");
    assert_one_of("priority", sp_t_jstr(r, "priority"), priorities);
    ck_assert_int_ge(sp_t_jint(r, "version"), 1);
    sp_t_assert_timestamp(sp_t_jstr(r, "created_at"));
    sp_t_assert_timestamp(sp_t_jstr(r, "updated_at"));
}

static void
assert_agent(struct json_object *a)
{
    static const char *const statuses[] = {"active", "away", NULL};
    ck_assert_int_gt(sp_t_jint(a, "id"), 0);
    ck_assert_msg(*sp_t_jstr(a, "user_id") != '\0', "empty user_id");
    assert_str_or_null(a, "display_name");
    ck_assert_msg(*sp_t_jstr(a, "team") != '\0', "empty team");
    struct json_object *skills = sp_t_jarr(a, "skills");
    for (size_t i = 0; i < json_object_array_length(skills); i++)
        ck_assert_msg(json_object_is_type(json_object_array_get_idx(skills, i),
                                          json_type_string), "skills[] must hold strings");
    assert_one_of("status", sp_t_jstr(a, "status"), statuses);
    ck_assert_int_ge(sp_t_jint(a, "max_concurrent_chats"), 0);
    struct json_object *la = sp_t_jget(a, "last_assigned_at");
    if (la != NULL)
        sp_t_assert_timestamp(json_object_get_string(la));
    sp_t_assert_timestamp(sp_t_jstr(a, "created_at"));
    sp_t_assert_timestamp(sp_t_jstr(a, "updated_at"));
}

/* skills[] of an agent object as "a|b|c". */
static const char *
skills_joined(struct json_object *a)
{
    struct json_object *skills = sp_t_jarr(a, "skills");
    const char *s = "";
    for (size_t i = 0; i < json_object_array_length(skills); i++)
        s = sp_t_fmt("%s%s%s", s, i ? "|" : "",
                     json_object_get_string(json_object_array_get_idx(skills, i)));
    return s;
}

/* Walks a whole admin list with limit=100: ids strictly ascending, every
 * item in shape, next_cursor null on the last page, at most one item
 * matching. Returns a copy of that item (or NULL), as JSON text (parse
 * again to inspect). */
static const char *
list_walk(const char *path, void (*shape)(struct json_object *),
          bool (*match)(struct json_object *, const void *), const void *key)
{
    const char *found = NULL;
    const char *cursor = NULL;
    int64_t prev = 0;
    for (int page = 0; page < 1000; page++) {
        const char *url = cursor != NULL
                              ? sp_t_fmt("%s?limit=100&cursor=%s", path, sp_t_urlencode(cursor))
                              : sp_t_fmt("%s?limit=100", path);
        struct sp_t_resp *r = sp_t_admin("GET", url, NULL);
        sp_t_assert_json(r, 200);
        struct json_object *data = sp_t_jarr(r->json, "data");
        ck_assert_uint_le(json_object_array_length(data), 100);
        for (size_t i = 0; i < json_object_array_length(data); i++) {
            struct json_object *it = json_object_array_get_idx(data, i);
            shape(it);
            int64_t iid = sp_t_jint(it, "id");
            ck_assert_msg(iid > prev, "%s: id %lld after %lld (not ascending / repeated)", path,
                          (long long)iid, (long long)prev);
            prev = iid;
            if (!match(it, key))
                continue;
            ck_assert_msg(found == NULL, "%s: two items match: %s and %s", path, found,
                          json_object_to_json_string(it));
            found = sp_t_fmt("%s", json_object_to_json_string(it));
        }
        struct json_object *nc = sp_t_jget(r->json, "next_cursor");
        if (nc == NULL) {
            sp_t_resp_free(r);
            return found;
        }
        ck_assert_msg(json_object_is_type(nc, json_type_string), "next_cursor not a string");
        ck_assert_msg(json_object_array_length(data) == 100,
                      "%s: a page of %zu items with a next_cursor at limit 100", path,
                      json_object_array_length(data));
        cursor = sp_t_fmt("%s", json_object_get_string(nc));
        sp_t_resp_free(r);
    }
    ck_abort_msg("%s: more than 1000 pages", path);
    return NULL;
}

static bool
same_id(struct json_object *it, const void *id)
{
    return sp_t_jint(it, "id") == *(const int64_t *)id;
}

/* The item with that id (or NULL), as list_walk. */
static const char *
list_find(const char *path, int64_t id, void (*shape)(struct json_object *))
{
    return list_walk(path, shape, same_id, &id);
}

static struct json_object *
parsed(const char *text)
{
    ck_assert_msg(text != NULL, "item not found in the list");
    struct json_object *o = json_tokener_parse(text);
    ck_assert(o != NULL);
    return o;
}

/* ---- roles ----------------------------------------------------------------- */

START_TEST(admin_endpoints_need_support_admin_and_change_nothing_otherwise)
{
    /* Real targets, so a wrongly allowed call would show its effect. */
    const char *slug = sp_t_admin_category_new(NULL);
    long long cat_id = atoll(sp_t_sql("SELECT id FROM support_categories WHERE slug = '%s'",
                                      slug));
    struct sp_t_resp *r = sp_t_admin_post(
        "/support/admin/priority-rules",
        "{\"name\":\"roles probe\",\"priority\":\"low\",\"is_active\":false}");
    int64_t rule_id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    int64_t agent_id = sp_t_admin_agent_new("\"status\":\"active\"", NULL);
    /* a failed notification a wrongly allowed retry would make pending */
    long long notification_id = atoll(sp_t_sql(
        "INSERT INTO support_outbox (kind, event_type, channel, payload, status, last_error)"
        " VALUES ('notification', 'ticket.updated', 'team', '{}', 'failed', 'http_500')"
        " RETURNING id"));
    const char *new_slug = sp_t_unique("roles-new");
    struct sp_t_user new_agent = sp_t_user_new(SP_ROLE_AGENT);

    struct {
        const char *method, *path, *body;
    } eps[] = {
        {"GET", "/support/admin/categories", NULL},
        {"POST", "/support/admin/categories",
         sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\"}", new_slug)},
        {"PATCH", sp_t_fmt("/support/admin/categories/%lld", cat_id),
         "{\"name\":\"hijacked\"}"},
        {"GET", sp_t_fmt("/support/admin/categories/%lld", cat_id), NULL},
        {"GET", "/support/admin/sla-policies", NULL},
        {"GET", sp_t_fmt("/support/admin/sla-policies/%s",
                         sp_t_sql("SELECT id FROM support_sla_policies"
                                  " WHERE priority = 'low' AND category_id IS NULL")), NULL},
        {"PUT", "/support/admin/sla-policies",
         sp_t_fmt("{\"priority\":\"low\",\"category\":\"%s\",\"first_response_minutes\":1,"
                  "\"resolution_minutes\":2}", slug)},
        {"GET", "/support/admin/priority-rules", NULL},
        {"POST", "/support/admin/priority-rules",
         sp_t_fmt("{\"name\":\"%s\",\"priority\":\"low\",\"is_active\":false}", new_slug)},
        {"PATCH", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)rule_id),
         "{\"name\":\"hijacked\"}"},
        {"GET", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)rule_id), NULL},
        {"DELETE", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)rule_id), NULL},
        {"GET", "/support/admin/agents", NULL},
        {"POST", "/support/admin/agents", sp_t_fmt("{\"user_id\":\"%s\"}", new_agent.sub)},
        {"PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)agent_id),
         "{\"status\":\"away\"}"},
        {"GET", sp_t_fmt("/support/admin/agents/%lld", (long long)agent_id), NULL},
        {"GET", "/support/admin/notifications?status=failed", NULL},
        {"POST", sp_t_fmt("/support/admin/notifications/%lld/retry", notification_id), NULL},
    };
    struct sp_t_user customer = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
        const char *ct = eps[i].body != NULL ? SP_T_JSON : NULL;
        r = sp_t_request(eps[i].method, eps[i].path, NULL, ct, eps[i].body, NULL);
        ck_assert_msg(r->status == 401, "%s %s without a token: HTTP %ld", eps[i].method,
                      eps[i].path, r->status);
        sp_t_assert_problem(r, 401, "unauthorized");
        sp_t_resp_free(r);
        r = sp_t_request(eps[i].method, eps[i].path, customer.token, ct, eps[i].body, NULL);
        ck_assert_msg(r->status == 403, "%s %s as a customer: HTTP %ld", eps[i].method,
                      eps[i].path, r->status);
        sp_t_assert_problem(r, 403, "forbidden");
        sp_t_resp_free(r);
        r = sp_t_request(eps[i].method, eps[i].path, agent.token, ct, eps[i].body, NULL);
        ck_assert_msg(r->status == 403, "%s %s as a support_agent: HTTP %ld", eps[i].method,
                      eps[i].path, r->status);
        sp_t_assert_problem(r, 403, "forbidden");
        sp_t_resp_free(r);
    }
    /* Nothing happened. */
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_categories WHERE slug = '%s'",
                              new_slug), "0");
    ck_assert_str_eq(sp_t_sql("SELECT name FROM support_categories WHERE id = %lld",
                              cat_id), sp_t_fmt("Category %s", slug));
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_sla_policies p JOIN "
                              "support_categories c ON c.id = p.category_id WHERE c.slug = '%s'",
                              slug), "0");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_priority_rules WHERE name = '%s'",
                              new_slug), "0");
    ck_assert_str_eq(sp_t_sql("SELECT name || ' v' || version FROM support_priority_rules "
                              "WHERE id = %lld", (long long)rule_id), "roles probe v1");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'",
                              new_agent.sub), "0");
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_agents WHERE id = %lld",
                              (long long)agent_id), "active");
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_outbox WHERE id = %lld",
                              notification_id), "failed");

    /* The admin can do every one of them. */
    for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
        r = sp_t_admin(eps[i].method, eps[i].path, eps[i].body);
        long want = strstr(eps[i].path, "/retry") != NULL   ? 202
                    : strcmp(eps[i].method, "POST") == 0   ? 201
                    : strcmp(eps[i].method, "DELETE") == 0 ? 204
                                                           : 200;
        ck_assert_msg(r->status == want, "%s %s as an admin: HTTP %ld, want %ld; %.300s",
                      eps[i].method, eps[i].path, r->status, want, r->body);
        sp_t_resp_free(r);
    }
}
END_TEST

/* ---- categories -------------------------------------------------------------- */

START_TEST(category_create_answers_201_with_the_row_and_defaults)
{
    const char *slug = sp_t_unique("adm-cat");
    struct sp_t_resp *r = sp_t_admin_post(
        "/support/admin/categories",
        sp_t_fmt("{\"slug\":\"%s\",\"name\":\"Billing é\",\"description\":\"money\","
                 "\"routing\":\"round_robin\",\"team\":\"finance\",\"required_skill\":\"sepa\","
                 "\"default_priority\":\"high\",\"unknown_field\":1}", slug));
    assert_category(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "slug"), slug);
    ck_assert_str_eq(sp_t_jstr(r->json, "name"), "Billing é");
    ck_assert_str_eq(sp_t_jstr(r->json, "description"), "money");
    ck_assert(jbool(r->json, "is_active"));
    ck_assert_str_eq(sp_t_jstr(r->json, "routing"), "round_robin");
    ck_assert_str_eq(sp_t_jstr(r->json, "team"), "finance");
    ck_assert_str_eq(sp_t_jstr(r->json, "required_skill"), "sepa");
    ck_assert_str_eq(sp_t_jstr(r->json, "default_priority"), "high");
    sp_t_assert_recent(sp_t_jstr(r->json, "created_at"));
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);

    /* Minimal: defaults. */
    const char *slug2 = sp_t_unique("adm-min");
    r = sp_t_admin_post("/support/admin/categories",
                        sp_t_fmt("{\"slug\":\"%s\",\"name\":\"Minimal\"}", slug2));
    assert_category(r->json);
    ck_assert(jbool(r->json, "is_active"));
    ck_assert_str_eq(sp_t_jstr(r->json, "routing"), "manual");
    sp_t_assert_jnull(r->json, "description");
    sp_t_assert_jnull(r->json, "team");
    sp_t_assert_jnull(r->json, "required_skill");
    sp_t_assert_jnull(r->json, "default_priority");
    int64_t id2 = sp_t_jint(r->json, "id");
    ck_assert_int_gt(id2, id);
    sp_t_resp_free(r);

    /* Both are listed, as created. */
    struct json_object *c = parsed(list_find("/support/admin/categories", id, assert_category));
    ck_assert_str_eq(sp_t_jstr(c, "slug"), slug);
    ck_assert_str_eq(sp_t_jstr(c, "team"), "finance");
    json_object_put(c);
    c = parsed(list_find("/support/admin/categories", id2, assert_category));
    ck_assert_str_eq(sp_t_jstr(c, "slug"), slug2);
    json_object_put(c);

    /* And usable for tickets at once. */
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    sp_t_ticket_create_json(&u, sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\","
                                         "\"category\":\"%s\"}", slug2));
}
END_TEST

START_TEST(category_validation_and_slug_taken)
{
    const char *slug = sp_t_admin_category_new(NULL);
    struct sp_t_resp *r;

    r = sp_t_admin("POST", "/support/admin/categories",
              sp_t_fmt("{\"slug\":\"%s\",\"name\":\"again\"}", slug));
    sp_t_assert_problem(r, 409, "slug_taken");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_categories WHERE slug = '%s'", slug),
                     "1");

    static const char *const bad_slugs[] = {"\"Upper\"", "\"has space\"", "\"under_score\"",
                                            "\"\"", "\"ümlaut\"", "\"a/b\"", "42", NULL};
    for (size_t i = 0; bad_slugs[i] != NULL; i++) {
        r = sp_t_admin("POST", "/support/admin/categories",
                  sp_t_fmt("{\"slug\":%s,\"name\":\"x\"}", bad_slugs[i]));
        sp_t_assert_invalid(r, "slug", NULL);
        sp_t_resp_free(r);
    }
    r = sp_t_admin("POST", "/support/admin/categories",
              sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\"}", sp_t_repeat("a", 121)));
    sp_t_assert_invalid(r, "slug", NULL);
    sp_t_resp_free(r);
    /* 120 is fine */
    const char *long_slug = sp_t_fmt("%.120s", sp_t_fmt("%s%s", sp_t_unique("l"),
                                                        sp_t_repeat("x", 120)));
    ck_assert_uint_eq(strlen(long_slug), 120);
    r = sp_t_admin("POST", "/support/admin/categories",
              sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\"}", long_slug));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);

    r = sp_t_admin("POST", "/support/admin/categories", "{\"name\":\"no slug\"}");
    sp_t_assert_invalid(r, "slug", "required");
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/categories",
              sp_t_fmt("{\"slug\":\"%s\"}", sp_t_unique("noname")));
    sp_t_assert_invalid(r, "name", "required");
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/categories",
              sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\",\"routing\":\"random\"}",
                       sp_t_unique("rt")));
    sp_t_assert_invalid(r, "routing", "invalid");
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/categories",
              sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\",\"default_priority\":\"critical\"}",
                       sp_t_unique("dp")));
    sp_t_assert_invalid(r, "default_priority", "invalid");
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/categories",
              sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\",\"is_active\":\"yes\"}",
                       sp_t_unique("ia")));
    sp_t_assert_invalid(r, "is_active", NULL);
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/categories", "[1]");
    sp_t_assert_problem(r, 422, "validation_failed");
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/categories", "{\"slug\":");
    sp_t_assert_problem(r, 400, "invalid_json");
    sp_t_resp_free(r);
}
END_TEST

/* Every field error at once (API.md §1): the slug's rule is reported with
 * the field table's errors, not instead of them. */
START_TEST(category_validation_reports_every_field_at_once)
{
    struct sp_t_resp *r = sp_t_admin("POST", "/support/admin/categories",
                                     "{\"slug\":\"Bad Slug!\",\"name\":\"\"}");
    sp_t_assert_invalid(r, "slug", "invalid");
    sp_t_assert_invalid(r, "name", "too_short");
    ck_assert_uint_eq(error_count(r), 2);
    sp_t_resp_free(r);

    r = sp_t_admin_post("/support/admin/categories",
                        sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\"}", sp_t_unique("all")));
    const char *id = sp_t_fmt("%lld", (long long)sp_t_jint(r->json, "id"));
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/categories/%s", id),
                   "{\"slug\":\"UPPER\",\"routing\":\"random\",\"is_active\":\"no\"}");
    sp_t_assert_invalid(r, "slug", "invalid");
    sp_t_assert_invalid(r, "routing", "invalid");
    sp_t_assert_invalid(r, "is_active", "wrong_type");
    ck_assert_uint_eq(error_count(r), 3);
    sp_t_resp_free(r);
}
END_TEST

/* A category routed by skill names its skill (API.md §6): without one no
 * agent ever matches and its tickets never route. Checked on what the row
 * will hold: a create's fields, a PATCH's over the row's. */
START_TEST(skill_routing_requires_a_required_skill)
{
    const char *slug = sp_t_unique("sk");
    struct sp_t_resp *r = sp_t_admin("POST", "/support/admin/categories",
                                     sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\","
                                              "\"routing\":\"skill\"}", slug));
    sp_t_assert_invalid(r, "required_skill", "required");
    ck_assert_uint_eq(error_count(r), 1);
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/categories",
                   sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\",\"routing\":\"skill\","
                            "\"required_skill\":null}", slug));
    sp_t_assert_invalid(r, "required_skill", "required");
    ck_assert_uint_eq(error_count(r), 1);
    sp_t_resp_free(r);
    /* with the other errors at once; a refused skill is said once */
    r = sp_t_admin("POST", "/support/admin/categories",
                   "{\"slug\":\"Bad!\",\"name\":\"x\",\"routing\":\"skill\"}");
    sp_t_assert_invalid(r, "slug", "invalid");
    sp_t_assert_invalid(r, "required_skill", "required");
    ck_assert_uint_eq(error_count(r), 2);
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/categories",
                   sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\",\"routing\":\"skill\","
                            "\"required_skill\":\"\\t\"}", slug));
    sp_t_assert_invalid(r, "required_skill", "invalid");
    ck_assert_uint_eq(error_count(r), 1);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_categories WHERE slug = '%s'", slug),
                     "0");

    /* PATCH: to skill routing without a skill, or the skill cleared */
    r = sp_t_admin_post("/support/admin/categories",
                        sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\"}", slug));
    const char *path =
        sp_t_fmt("/support/admin/categories/%lld", (long long)sp_t_jint(r->json, "id"));
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"routing\":\"skill\"}");
    sp_t_assert_invalid(r, "required_skill", "required");
    ck_assert_uint_eq(error_count(r), 1);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"routing\":\"skill\",\"required_skill\":\"Tech\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "required_skill"), "tech");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"name\":\"y\"}");   /* other fields: as before */
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"required_skill\":null}");
    sp_t_assert_invalid(r, "required_skill", "required");
    ck_assert_uint_eq(error_count(r), 1);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"required_skill\":null,\"slug\":\"UPPER\"}");
    sp_t_assert_invalid(r, "slug", "invalid");
    sp_t_assert_invalid(r, "required_skill", "required");
    ck_assert_uint_eq(error_count(r), 2);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT routing || ' ' || required_skill FROM support_categories"
                              " WHERE slug = '%s'", slug),
                     "skill tech");
    r = sp_t_admin("PATCH", path, "{\"required_skill\":\"billing\"}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    /* leaving skill routing, the skill may go */
    r = sp_t_admin("PATCH", path, "{\"routing\":\"manual\",\"required_skill\":null}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "routing"), "manual");
    sp_t_assert_jnull(r->json, "required_skill");
    sp_t_resp_free(r);
    /* no such category: 404, as any PATCH of one */
    r = sp_t_admin("PATCH", "/support/admin/categories/999999999", "{\"routing\":\"skill\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

/* Two PATCHes at once, one to skill routing and one clearing the skill,
 * each checked against the row as it read it: the table holds the rule
 * (sql/042), so the second to write is refused, naming the field, and
 * the category never routes by skill without a skill. The clearing
 * PATCH is played by a transaction held open. */
START_TEST(racing_patches_cannot_leave_skill_routing_without_a_skill)
{
    const char *slug = sp_t_admin_category_new("\"required_skill\":\"tech\"");
    const char *id = sp_t_sql("SELECT id FROM support_categories WHERE slug = '%s'", slug);
    PGconn *db = sp_t_tx_hold(sp_t_fmt("UPDATE support_categories SET required_skill = NULL"
                                       " WHERE id = %s", id));
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct sp_t_resp *r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/categories/%s", id),
                                         "{\"routing\":\"skill\"}");
        bool named = r->status == 422 && strstr(r->body, "\"field\":\"required_skill\"") &&
                     strstr(r->body, "\"code\":\"required\"");
        _exit(named ? 0 : r->status == 200 ? 2 : 3);
    }
    usleep(300 * 1000);  /* the PATCH passed its check and waits on our row */
    sp_t_tx_release(db);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the racing PATCH: exit %d (2: it was taken, 3: not a 422 naming the field)",
                  WEXITSTATUS(status));
    ck_assert_str_eq(sp_t_sql("SELECT routing || '/' || coalesce(required_skill, '-')"
                              " FROM support_categories WHERE id = %s", id), "manual/-");
    /* and no write around the API breaks it either */
    PGconn *c = PQconnectdb(getenv("SP_TEST_DATABASE_URL"));
    PGresult *bad = PQexec(c, sp_t_fmt("UPDATE support_categories SET routing = 'skill'"
                                       " WHERE id = %s", id));
    ck_assert_str_eq(PQresultErrorField(bad, PG_DIAG_SQLSTATE), "23514");
    PQclear(bad);
    PQfinish(c);
}
END_TEST

START_TEST(category_patch_changes_given_fields_only)
{
    const char *slug = sp_t_admin_category_new("\"description\":\"keep me\",\"team\":\"t1\"");
    const char *other = sp_t_admin_category_new(NULL);
    const char *id = sp_t_sql("SELECT id FROM support_categories WHERE slug = '%s'", slug);
    const char *path = sp_t_fmt("/support/admin/categories/%s", id);

    struct sp_t_resp *r = sp_t_admin("PATCH", path, "{\"name\":\"Renamed\",\"routing\":\"skill\","
                                               "\"required_skill\":\"de\"}");
    sp_t_assert_json(r, 200);
    assert_category(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "slug"), slug);
    ck_assert_str_eq(sp_t_jstr(r->json, "name"), "Renamed");
    ck_assert_str_eq(sp_t_jstr(r->json, "routing"), "skill");
    ck_assert_str_eq(sp_t_jstr(r->json, "required_skill"), "de");
    ck_assert_str_eq(sp_t_jstr(r->json, "description"), "keep me");
    ck_assert_str_eq(sp_t_jstr(r->json, "team"), "t1");
    sp_t_resp_free(r);

    /* null clears a nullable field */
    r = sp_t_admin("PATCH", path, "{\"description\":null}");
    sp_t_assert_json(r, 200);
    sp_t_assert_jnull(r->json, "description");
    ck_assert_str_eq(sp_t_jstr(r->json, "name"), "Renamed");
    sp_t_resp_free(r);

    /* a new slug */
    const char *slug2 = sp_t_unique("renamed");
    r = sp_t_admin("PATCH", path, sp_t_fmt("{\"slug\":\"%s\"}", slug2));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "slug"), slug2);
    sp_t_resp_free(r);

    /* another category's slug */
    r = sp_t_admin("PATCH", path, sp_t_fmt("{\"slug\":\"%s\"}", other));
    sp_t_assert_problem(r, 409, "slug_taken");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT slug FROM support_categories WHERE id = %s", id), slug2);

    r = sp_t_admin("PATCH", path, "{\"slug\":\"Not Valid\"}");
    sp_t_assert_invalid(r, "slug", NULL);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"slug\":null}");
    sp_t_assert_invalid(r, "slug", NULL);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"name\":\"\"}");
    sp_t_assert_invalid(r, "name", NULL);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"routing\":\"nope\"}");
    sp_t_assert_invalid(r, "routing", "invalid");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT slug || '/' || name || '/' || routing FROM "
                              "support_categories WHERE id = %s", id),
                     sp_t_fmt("%s/Renamed/skill", slug2));

    r = sp_t_admin("PATCH", "/support/admin/categories/999999999999", "{\"name\":\"x\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", "/support/admin/categories/abc", "{\"name\":\"x\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(deactivated_category_is_refused_for_new_tickets_and_reactivation_restores_it)
{
    const char *slug = sp_t_admin_category_new(NULL);
    const char *id = sp_t_sql("SELECT id FROM support_categories WHERE slug = '%s'", slug);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *body = sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\",\"category\":\"%s\"}",
                                slug);
    const char *before = sp_t_ticket_create_json(&u, body);

    struct sp_t_resp *r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/categories/%s", id),
                                "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    ck_assert(!jbool(r->json, "is_active"));
    sp_t_resp_free(r);

    r = sp_t_post_json("/support/tickets", u.token, body);
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE customer_id = '%s'",
                              u.sub), "1");
    /* Existing tickets keep their category. */
    r = sp_t_ticket_get(&u, before);
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), slug);
    sp_t_resp_free(r);
    /* Still listed for admins, as inactive. */
    struct json_object *c = parsed(list_find("/support/admin/categories", atoll(id),
                                             assert_category));
    ck_assert(!jbool(c, "is_active"));
    json_object_put(c);

    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/categories/%s", id), "{\"is_active\":true}");
    sp_t_assert_json(r, 200);
    ck_assert(jbool(r->json, "is_active"));
    sp_t_resp_free(r);
    sp_t_ticket_create_json(&u, body);
}
END_TEST

START_TEST(admin_lists_paginate_and_validate_limit_and_cursor)
{
    /* at least three of each */
    for (int i = 0; i < 3; i++) {
        sp_t_admin_category_new(NULL);
        sp_t_admin_agent_new(NULL, NULL);
        struct sp_t_resp *r = sp_t_admin_post(
            "/support/admin/priority-rules",
            sp_t_fmt("{\"name\":\"page %d\",\"priority\":\"low\",\"is_active\":false}", i));
        sp_t_resp_free(r);
    }
    /* sla-policies has its four seeded defaults at least. */
    static const char *const lists[] = {"/support/admin/categories",
                                        "/support/admin/priority-rules",
                                        "/support/admin/agents",
                                        "/support/admin/sla-policies", NULL};
    for (size_t l = 0; lists[l] != NULL; l++) {
        struct sp_t_resp *r = sp_t_admin("GET", sp_t_fmt("%s?limit=1", lists[l]), NULL);
        sp_t_assert_json(r, 200);
        struct json_object *data = sp_t_jarr(r->json, "data");
        ck_assert_uint_eq(json_object_array_length(data), 1);
        int64_t first = sp_t_jint(json_object_array_get_idx(data, 0), "id");
        const char *cursor = sp_t_fmt("%s", sp_t_jstr(r->json, "next_cursor"));
        sp_t_resp_free(r);

        r = sp_t_admin("GET", sp_t_fmt("%s?limit=2&cursor=%s", lists[l], sp_t_urlencode(cursor)),
                  NULL);
        sp_t_assert_json(r, 200);
        data = sp_t_jarr(r->json, "data");
        ck_assert_uint_eq(json_object_array_length(data), 2);
        int64_t second = sp_t_jint(json_object_array_get_idx(data, 0), "id");
        int64_t third = sp_t_jint(json_object_array_get_idx(data, 1), "id");
        ck_assert_int_gt(second, first);
        ck_assert_int_gt(third, second);
        sp_t_resp_free(r);

        /* default limit 25 */
        r = sp_t_admin("GET", lists[l], NULL);
        sp_t_assert_json(r, 200);
        ck_assert_uint_le(json_object_array_length(sp_t_jarr(r->json, "data")), 25);
        (void)sp_t_jget(r->json, "next_cursor");
        sp_t_resp_free(r);

        /* limit= (empty) is no longer here: an empty parameter is absent
         * in every list (API.md §1), so it is the default page */
        static const char *const bad_limits[] = {"0", "101", "-1", "x", NULL};
        for (size_t i = 0; bad_limits[i] != NULL; i++) {
            r = sp_t_admin("GET", sp_t_fmt("%s?limit=%s", lists[l], bad_limits[i]), NULL);
            sp_t_assert_invalid(r, "limit", NULL);
            sp_t_resp_free(r);
        }
        r = sp_t_admin("GET", sp_t_fmt("%s?cursor=not-a-cursor", lists[l]), NULL);
        sp_t_assert_invalid(r, "cursor", NULL);
        sp_t_resp_free(r);
    }

    /* Each list's cursor belongs to that list (API.md §1): a valid cursor
     * of one admin list is 422 on every other. */
    const char *cursors[4];
    for (size_t l = 0; lists[l] != NULL; l++) {
        struct sp_t_resp *r = sp_t_admin("GET", sp_t_fmt("%s?limit=2", lists[l]), NULL);
        sp_t_assert_json(r, 200);
        cursors[l] = sp_t_fmt("%s", sp_t_jstr(r->json, "next_cursor"));
        sp_t_resp_free(r);
    }
    for (size_t from = 0; lists[from] != NULL; from++) {
        for (size_t to = 0; lists[to] != NULL; to++) {
            struct sp_t_resp *r = sp_t_admin(
                "GET", sp_t_fmt("%s?cursor=%s", lists[to], sp_t_urlencode(cursors[from])), NULL);
            if (from == to)
                sp_t_assert_json(r, 200);
            else
                sp_t_assert_invalid(r, "cursor", NULL);
            sp_t_resp_free(r);
        }
    }

    /* A cursor of another list (the customer's tickets) is refused too. */
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    sp_t_ticket_create(&u, "cursor one");
    sp_t_ticket_create(&u, "cursor two");
    struct sp_t_resp *r = sp_t_get("/support/tickets?limit=1", u.token);
    sp_t_assert_json(r, 200);
    const char *foreign = sp_t_fmt("%s", sp_t_jstr(r->json, "next_cursor"));
    sp_t_resp_free(r);
    r = sp_t_admin("GET", sp_t_fmt("/support/admin/categories?cursor=%s", sp_t_urlencode(foreign)),
              NULL);
    sp_t_assert_invalid(r, "cursor", NULL);
    sp_t_resp_free(r);
}
END_TEST

/* The Location of a create answers GET with the row as the list shows
 * it (API.md §6); an unknown or malformed id is 404. */
START_TEST(get_of_one_row_answers_what_the_list_shows)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    struct {
        const char *path, *body;
        void (*shape)(struct json_object *);
    } res[] = {
        {"/support/admin/categories",
         sp_t_fmt("{\"slug\":\"%s\",\"name\":\"one\"}", sp_t_unique("one")), assert_category},
        {"/support/admin/priority-rules",
         "{\"name\":\"one row\",\"priority\":\"low\",\"is_active\":false}", assert_rule},
        {"/support/admin/agents", sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"de\"]}", u.sub),
         assert_agent},
    };
    for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
        struct sp_t_resp *c = sp_t_admin_post(res[i].path, res[i].body);
        int64_t id = sp_t_jint(c->json, "id");
        const char *location = sp_t_fmt("%s", sp_t_header(c, "Location"));
        ck_assert_str_eq(location, sp_t_fmt("%s/%lld", res[i].path, (long long)id));
        sp_t_resp_free(c);

        struct sp_t_resp *r = sp_t_admin("GET", location, NULL);
        sp_t_assert_json(r, 200);
        res[i].shape(r->json);
        struct json_object *listed = parsed(list_find(res[i].path, id, res[i].shape));
        ck_assert_str_eq(json_object_to_json_string(r->json),
                         json_object_to_json_string(listed));
        json_object_put(listed);
        sp_t_resp_free(r);

        r = sp_t_admin("GET", sp_t_fmt("%s/%lld", res[i].path, (long long)id + 1000000), NULL);
        sp_t_assert_problem(r, 404, "not_found");
        sp_t_resp_free(r);
        r = sp_t_admin("GET", sp_t_fmt("%s/abc", res[i].path), NULL);
        sp_t_assert_problem(r, 404, "not_found");
        sp_t_resp_free(r);
    }
}
END_TEST

/* The body has no whitespace outside its strings: compact JSON, as every
 * answer the API's JSON writer makes. */
static void
assert_compact(const char *what, const struct sp_t_resp *r)
{
    ck_assert_msg(r->json != NULL, "%s: not JSON: %s", what, r->body);
    bool in_string = false;
    for (size_t i = 0; i < r->body_len; i++) {
        char c = r->body[i];
        if (in_string && c == '\\')
            i++;
        else if (c == '"')
            in_string = !in_string;
        else if (!in_string)
            ck_assert_msg(c != ' ' && c != '\n' && c != '\t' && c != '\r',
                          "%s: whitespace at byte %zu of %s", what, i, r->body);
    }
}

/* method path (json: the body, NULL: none) as an admin: status, compact. */
static void
assert_compact_answer(const char *method, const char *path, const char *json, long status)
{
    struct sp_t_resp *r = sp_t_admin(method, path, json);
    sp_t_assert_status(r, status);
    assert_compact(sp_t_fmt("%s %s", method, path), r);
    sp_t_resp_free(r);
}

/* QA: a priority rule was answered as PostgreSQL writes json_build_object
 * ({"id" : 1, …}), unlike the compact JSON of every other answer. Each
 * admin row is compact however it is answered: created, read, listed,
 * patched, put; and so is every other admin list. */
START_TEST(admin_rows_are_compact_json)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    const char *slug = sp_t_unique("compact");
    struct {
        const char *path, *create, *patch;
    } res[] = {
        {"/support/admin/categories", sp_t_fmt("{\"slug\":\"%s\",\"name\":\"c o\"}", slug),
         "{\"name\":\"c o 2\"}"},
        {"/support/admin/priority-rules",
         sp_t_fmt("{\"name\":\"a rule\",\"priority\":\"low\",\"category\":\"%s\","
                  "\"pattern\":\"a b\",\"sentiment_below\":-0.5}", slug),
         "{\"name\":\"the rule\",\"is_active\":false}"},
        {"/support/admin/agents",
         sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"de\",\"fr\"]}", u.sub),
         "{\"team\":\"compact\"}"},
    };
    for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
        struct sp_t_resp *c = sp_t_admin_post(res[i].path, res[i].create);
        assert_compact(sp_t_fmt("POST %s", res[i].path), c);
        const char *location = sp_t_fmt("%s", sp_t_header(c, "Location"));
        sp_t_resp_free(c);
        assert_compact_answer("GET", location, NULL, 200);
        assert_compact_answer("GET", sp_t_fmt("%s?limit=100", res[i].path), NULL, 200);
        assert_compact_answer("PATCH", location, res[i].patch, 200);
    }
    struct sp_t_resp *r = sp_t_admin(
        "PUT", "/support/admin/sla-policies",
        sp_t_fmt("{\"priority\":\"high\",\"category\":\"%s\",\"first_response_minutes\":30,"
                 "\"resolution_minutes\":600}", slug));
    sp_t_assert_json(r, 200);
    assert_compact("PUT /support/admin/sla-policies", r);
    const char *policy = sp_t_fmt("/support/admin/sla-policies/%lld",
                                  (long long)sp_t_jint(r->json, "id"));
    sp_t_resp_free(r);
    assert_compact_answer("GET", policy, NULL, 200);
    const char *const lists[] = {"sla-policies", "articles", "webhooks", "notifications",
                                 "mail-suppressions"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        assert_compact_answer("GET", sp_t_fmt("/support/admin/%s", lists[i]), NULL, 200);
}
END_TEST

/* ---- SLA policies ------------------------------------------------------------- */

static void
assert_sla(struct json_object *p)
{
    ck_assert_int_gt(sp_t_jint(p, "id"), 0);
    assert_one_of("priority", sp_t_jstr(p, "priority"), priorities);
    assert_str_or_null(p, "category");
    int64_t fr = sp_t_jint(p, "first_response_minutes");
    int64_t rs = sp_t_jint(p, "resolution_minutes");
    ck_assert(fr >= 1 && fr <= 5256000);
    ck_assert(rs >= 1 && rs <= 5256000);
    ck_assert_int_ge(sp_t_jint(p, "version"), 1);
    sp_t_assert_timestamp(sp_t_jstr(p, "updated_at"));
}

struct sla_key {
    const char *priority, *category;
};

static bool
same_sla(struct json_object *p, const void *key)
{
    const struct sla_key *k = key;
    return strcmp(sp_t_jstr(p, "priority"), k->priority) == 0
           && str_eq_or_null(p, "category", k->category);
}

/* The policy row of (priority, category or NULL) in GET, as JSON text; asserts
 * there is at most one, over every page. */
static const char *
sla_find(const char *priority, const char *category)
{
    struct sla_key k = {priority, category};
    return list_walk("/support/admin/sla-policies", assert_sla, same_sla, &k);
}

START_TEST(sla_policies_list_has_one_default_per_priority)
{
    for (size_t i = 0; priorities[i] != NULL; i++) {
        const char *p = sla_find(priorities[i], NULL);
        ck_assert_msg(p != NULL, "no default policy for %s", priorities[i]);
    }
    /* Putting a default's own values back is an upsert: same row, still one. */
    struct json_object *low = parsed(sla_find("low", NULL));
    int64_t id = sp_t_jint(low, "id");
    struct sp_t_resp *r = sp_t_admin(
        "PUT", "/support/admin/sla-policies",
        sp_t_fmt("{\"priority\":\"low\",\"category\":null,\"first_response_minutes\":%lld,"
                 "\"resolution_minutes\":%lld}",
                 (long long)sp_t_jint(low, "first_response_minutes"),
                 (long long)sp_t_jint(low, "resolution_minutes")));
    sp_t_assert_json(r, 200);
    assert_sla(r->json);
    ck_assert_int_eq(sp_t_jint(r->json, "id"), id);
    sp_t_assert_jnull(r->json, "category");
    sp_t_resp_free(r);
    json_object_put(low);
    struct json_object *again = parsed(sla_find("low", NULL));
    ck_assert_int_eq(sp_t_jint(again, "id"), id);
    json_object_put(again);
}
END_TEST

START_TEST(sla_policy_put_upserts_per_category_and_drives_due_dates)
{
    const char *slug = sp_t_admin_category_new("\"default_priority\":\"high\"");
    const char *plain = sp_t_admin_category_new("\"default_priority\":\"high\"");
    ck_assert_msg(sla_find("high", slug) == NULL, "a fresh category has a policy already");

    struct sp_t_resp *r = sp_t_admin(
        "PUT", "/support/admin/sla-policies",
        sp_t_fmt("{\"priority\":\"high\",\"category\":\"%s\",\"first_response_minutes\":30,"
                 "\"resolution_minutes\":600}", slug));
    sp_t_assert_json(r, 200);
    assert_sla(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "high");
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), slug);
    ck_assert_int_eq(sp_t_jint(r->json, "first_response_minutes"), 30);
    ck_assert_int_eq(sp_t_jint(r->json, "resolution_minutes"), 600);
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);

    r = sp_t_admin("PUT", "/support/admin/sla-policies",
              sp_t_fmt("{\"priority\":\"high\",\"category\":\"%s\","
                       "\"first_response_minutes\":45,\"resolution_minutes\":700}", slug));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "id"), id);
    ck_assert_int_eq(sp_t_jint(r->json, "first_response_minutes"), 45);
    ck_assert_int_eq(sp_t_jint(r->json, "resolution_minutes"), 700);
    sp_t_resp_free(r);
    struct json_object *p = parsed(sla_find("high", slug));
    ck_assert_int_eq(sp_t_jint(p, "id"), id);
    ck_assert_int_eq(sp_t_jint(p, "first_response_minutes"), 45);
    ck_assert_int_eq(sp_t_jint(p, "resolution_minutes"), 700);
    json_object_put(p);

    /* New tickets of the category follow it... */
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create_json(
        &c, sp_t_fmt("{\"subject\":\"sla\",\"description\":\"d\",\"category\":\"%s\"}", slug));
    r = sp_t_agent_ticket(&agent, pid);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "high");
    int64_t created = sp_t_jts_ms(r->json, "created_at");
    ck_assert_int_eq(sp_t_jts_ms(r->json, "first_response_due_at") - created, 45 * MINUTE_MS);
    ck_assert_int_eq(sp_t_jts_ms(r->json, "resolution_due_at") - created, 700 * MINUTE_MS);
    ck_assert_int_eq(sp_t_jts_ms(r->json, "sla_due_at"),
                     sp_t_jts_ms(r->json, "first_response_due_at"));
    sp_t_resp_free(r);

    /* ...other categories keep the priority default. */
    struct json_object *def = parsed(sla_find("high", NULL));
    pid = sp_t_ticket_create_json(
        &c, sp_t_fmt("{\"subject\":\"sla\",\"description\":\"d\",\"category\":\"%s\"}", plain));
    r = sp_t_agent_ticket(&agent, pid);
    created = sp_t_jts_ms(r->json, "created_at");
    ck_assert_int_eq(sp_t_jts_ms(r->json, "first_response_due_at") - created,
                     sp_t_jint(def, "first_response_minutes") * MINUTE_MS);
    ck_assert_int_eq(sp_t_jts_ms(r->json, "resolution_due_at") - created,
                     sp_t_jint(def, "resolution_minutes") * MINUTE_MS);
    sp_t_resp_free(r);
    json_object_put(def);

    /* The bounds: 5256000 is fine, 0 and 5256001 are not. */
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
              sp_t_fmt("{\"priority\":\"low\",\"category\":\"%s\","
                       "\"first_response_minutes\":1,\"resolution_minutes\":5256000}", slug));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
              sp_t_fmt("{\"priority\":\"low\",\"category\":\"%s\","
                       "\"first_response_minutes\":0,\"resolution_minutes\":60}", slug));
    sp_t_assert_invalid(r, "first_response_minutes", NULL);
    sp_t_resp_free(r);
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
              sp_t_fmt("{\"priority\":\"low\",\"category\":\"%s\","
                       "\"first_response_minutes\":10,\"resolution_minutes\":5256001}", slug));
    sp_t_assert_invalid(r, "resolution_minutes", NULL);
    sp_t_resp_free(r);
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
              sp_t_fmt("{\"priority\":\"low\",\"category\":\"%s\","
                       "\"first_response_minutes\":\"10\",\"resolution_minutes\":60}", slug));
    sp_t_assert_invalid(r, "first_response_minutes", NULL);
    sp_t_resp_free(r);
    p = parsed(sla_find("low", slug));
    ck_assert_int_eq(sp_t_jint(p, "first_response_minutes"), 1);
    ck_assert_int_eq(sp_t_jint(p, "resolution_minutes"), 5256000);
    json_object_put(p);

    r = sp_t_admin("PUT", "/support/admin/sla-policies",
              "{\"category\":null,\"first_response_minutes\":10,\"resolution_minutes\":60}");
    sp_t_assert_invalid(r, "priority", "required");
    sp_t_resp_free(r);
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
              "{\"priority\":\"critical\",\"first_response_minutes\":10,"
              "\"resolution_minutes\":60}");
    sp_t_assert_invalid(r, "priority", "invalid");
    sp_t_resp_free(r);
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
              "{\"priority\":\"low\",\"resolution_minutes\":60}");
    sp_t_assert_invalid(r, "first_response_minutes", "required");
    sp_t_resp_free(r);
    const char *ghost = sp_t_unique("ghost");
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
              sp_t_fmt("{\"priority\":\"low\",\"category\":\"%s\","
                       "\"first_response_minutes\":10,\"resolution_minutes\":60}", ghost));
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_resp_free(r);
    ck_assert_msg(sla_find("low", ghost) == NULL, "a policy for an unknown category exists");
}
END_TEST

/* An override can be removed (Zendesk-class admins undo a setting): the
 * category's new tickets take the priority's default again; a default
 * is never removed (409), an unknown id is 404, staff but admins 403. */
START_TEST(sla_policy_override_delete_falls_back_to_the_default)
{
    const char *slug = sp_t_admin_category_new("\"default_priority\":\"high\"");
    struct sp_t_resp *r = sp_t_admin(
        "PUT", "/support/admin/sla-policies",
        sp_t_fmt("{\"priority\":\"high\",\"category\":\"%s\",\"first_response_minutes\":7,"
                 "\"resolution_minutes\":77}", slug));
    sp_t_assert_json(r, 200);
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    const char *path = sp_t_fmt("/support/admin/sla-policies/%lld", (long long)id);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    r = sp_t_request("DELETE", path, agent.token, NULL, NULL, NULL);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);

    r = sp_t_admin("DELETE", path, NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
    ck_assert_msg(sla_find("high", slug) == NULL, "the override is still listed");
    r = sp_t_admin("DELETE", path, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);

    struct json_object *def = parsed(sla_find("high", NULL));
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create_json(
        &c, sp_t_fmt("{\"subject\":\"sla\",\"description\":\"d\",\"category\":\"%s\"}", slug));
    r = sp_t_agent_ticket(&agent, pid);
    int64_t created = sp_t_jts_ms(r->json, "created_at");
    ck_assert_int_eq(sp_t_jts_ms(r->json, "resolution_due_at") - created,
                     sp_t_jint(def, "resolution_minutes") * MINUTE_MS);
    sp_t_resp_free(r);

    r = sp_t_admin("DELETE", sp_t_fmt("/support/admin/sla-policies/%lld",
                                      (long long)sp_t_jint(def, "id")), NULL);
    sp_t_assert_problem(r, 409, "default_policy");
    sp_t_resp_free(r);
    struct json_object *still = parsed(sla_find("high", NULL));
    ck_assert_int_eq(sp_t_jint(still, "id"), sp_t_jint(def, "id"));
    json_object_put(still);
    json_object_put(def);
}
END_TEST

/* A first response due after the resolution contradicts §5.2 (sla_due_at
 * is the earlier target): 422 naming first_response_minutes, nothing
 * stored; equal minutes are fine. */
START_TEST(sla_policy_with_first_response_after_resolution_is_422)
{
    const char *slug = sp_t_admin_category_new(NULL);
    struct sp_t_resp *r = sp_t_admin(
        "PUT", "/support/admin/sla-policies",
        sp_t_fmt("{\"priority\":\"urgent\",\"category\":\"%s\",\"first_response_minutes\":600,"
                 "\"resolution_minutes\":60}", slug));
    sp_t_assert_invalid(r, "first_response_minutes", "out_of_range");
    sp_t_resp_free(r);
    ck_assert_msg(sla_find("urgent", slug) == NULL, "a contradictory policy was stored");

    /* a default too: its row keeps its values */
    struct json_object *def = parsed(sla_find("urgent", NULL));
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
                   "{\"priority\":\"urgent\",\"category\":null,\"first_response_minutes\":241,"
                   "\"resolution_minutes\":240}");
    sp_t_assert_invalid(r, "first_response_minutes", "out_of_range");
    sp_t_resp_free(r);
    struct json_object *again = parsed(sla_find("urgent", NULL));
    ck_assert_int_eq(sp_t_jint(again, "first_response_minutes"),
                     sp_t_jint(def, "first_response_minutes"));
    ck_assert_int_eq(sp_t_jint(again, "resolution_minutes"), sp_t_jint(def, "resolution_minutes"));
    json_object_put(again);
    json_object_put(def);

    r = sp_t_admin("PUT", "/support/admin/sla-policies",
                   sp_t_fmt("{\"priority\":\"urgent\",\"category\":\"%s\","
                            "\"first_response_minutes\":90,\"resolution_minutes\":90}", slug));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "first_response_minutes"), 90);
    sp_t_resp_free(r);
}
END_TEST

/* QA: a first_response_minutes out of its range hid an unknown category
 * (looked up in a later stage); one 422 lists every field error (API.md
 * §1), the order check's too. A known category adds nothing. */
START_TEST(sla_policy_put_reports_every_field_error_at_once)
{
    struct sp_t_resp *r = sp_t_admin("PUT", "/support/admin/sla-policies",
                                     "{\"priority\":\"normal\",\"category\":\"nope\","
                                     "\"first_response_minutes\":0,\"resolution_minutes\":600}");
    sp_t_assert_invalid(r, "first_response_minutes", "out_of_range");
    sp_t_assert_invalid(r, "category", "unknown_category");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
                   "{\"priority\":\"normal\",\"category\":\"nope\","
                   "\"first_response_minutes\":600,\"resolution_minutes\":60}");
    sp_t_assert_invalid(r, "first_response_minutes", "out_of_range");
    sp_t_assert_invalid(r, "category", "unknown_category");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
                   "{\"priority\":\"x\",\"category\":\"nope\","
                   "\"first_response_minutes\":600,\"resolution_minutes\":60}");
    sp_t_assert_invalid(r, "priority", "invalid");
    sp_t_assert_invalid(r, "first_response_minutes", "out_of_range");
    sp_t_assert_invalid(r, "category", "unknown_category");
    ck_assert_uint_eq(sp_t_error_count(r), 3);
    sp_t_resp_free(r);
    const char *slug = sp_t_admin_category_new(NULL);
    r = sp_t_admin("PUT", "/support/admin/sla-policies",
                   sp_t_fmt("{\"priority\":\"normal\",\"category\":\"%s\","
                            "\"first_response_minutes\":0,\"resolution_minutes\":600}", slug));
    sp_t_assert_invalid(r, "first_response_minutes", "out_of_range");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    ck_assert_msg(sla_find("normal", slug) == NULL, "an invalid policy was stored");
}
END_TEST

/* ---- priority rules -------------------------------------------------------------- */

START_TEST(rule_create_answers_201_with_every_field)
{
    const char *slug = sp_t_admin_category_new(NULL);
    struct sp_t_resp *r = sp_t_admin_post(
        "/support/admin/priority-rules",
        sp_t_fmt("{\"position\":500,\"name\":\"VIP refunds\",\"is_active\":false,"
                 "\"category\":\"%s\",\"customer_tier\":\"vip\",\"pattern\":\"refund\\\\s+now\","
                 "\"sentiment_below\":-0.5,\"priority\":\"urgent\"}", slug));
    assert_rule(r->json);
    ck_assert_int_eq(sp_t_jint(r->json, "position"), 500);
    ck_assert_str_eq(sp_t_jstr(r->json, "name"), "VIP refunds");
    ck_assert(!jbool(r->json, "is_active"));
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), slug);
    ck_assert_str_eq(sp_t_jstr(r->json, "customer_tier"), "vip");
    ck_assert_str_eq(sp_t_jstr(r->json, "pattern"), "refund\\s+now");
    ck_assert(fabs(json_object_get_double(sp_t_jget(r->json, "sentiment_below")) + 0.5) < 1e-6);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "urgent");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 1);
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);

    r = sp_t_admin_post("/support/admin/priority-rules",
                        "{\"name\":\"minimal\",\"priority\":\"low\",\"is_active\":false}");
    assert_rule(r->json);
    ck_assert_int_eq(sp_t_jint(r->json, "position"), 0);
    sp_t_assert_jnull(r->json, "category");
    sp_t_assert_jnull(r->json, "customer_tier");
    sp_t_assert_jnull(r->json, "pattern");
    sp_t_assert_jnull(r->json, "sentiment_below");
    int64_t id2 = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);

    struct json_object *o = parsed(list_find("/support/admin/priority-rules", id, assert_rule));
    ck_assert_str_eq(sp_t_jstr(o, "pattern"), "refund\\s+now");
    ck_assert_str_eq(sp_t_jstr(o, "category"), slug);
    json_object_put(o);
    o = parsed(list_find("/support/admin/priority-rules", id2, assert_rule));
    ck_assert_str_eq(sp_t_jstr(o, "name"), "minimal");
    json_object_put(o);

    /* A rule is active by default (bound to a fresh category: harmless). */
    r = sp_t_admin_post("/support/admin/priority-rules",
                        sp_t_fmt("{\"name\":\"default active\",\"priority\":\"low\","
                                 "\"category\":\"%s\",\"position\":900000}", slug));
    ck_assert(jbool(r->json, "is_active"));
    int64_t id3 = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    r = sp_t_admin("DELETE", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)id3), NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
}
END_TEST

/* An active rule names a condition (QA: one without any matched every
 * ticket): refused on create, on activation and on PATCHing the last
 * condition to null, each condition field named (any one satisfies it);
 * an inactive draft may have none; the table holds the rule too. */
START_TEST(an_active_rule_without_conditions_is_422)
{
    static const char *const fields[] = {"category", "customer_tier", "pattern",
                                         "sentiment_below"};
    const char *rules = "/support/admin/priority-rules";
    struct sp_t_resp *r =
        sp_t_admin("POST", rules, "{\"name\":\"catch all\",\"priority\":\"urgent\"}");
    for (size_t i = 0; i < 4; i++)
        sp_t_assert_invalid(r, fields[i], "required");
    ck_assert_uint_eq(sp_t_error_count(r), 4);
    sp_t_resp_free(r);
    r = sp_t_admin("POST", rules,
                   "{\"name\":\"draft\",\"priority\":\"urgent\",\"is_active\":false}");
    sp_t_assert_json(r, 201);
    const char *path = sp_t_fmt("%s/%lld", rules, (long long)sp_t_jint(r->json, "id"));
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"is_active\":true}");
    sp_t_assert_invalid(r, "pattern", "required");
    sp_t_resp_free(r);
    /* conditions no other test's ticket meets: the rule is active a while */
    const char *word = sp_t_unique("nevermatched");
    r = sp_t_admin("PATCH", path, sp_t_fmt("{\"is_active\":true,\"pattern\":%s}", sp_t_jq(word)));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"pattern\":null}");
    sp_t_assert_invalid(r, "customer_tier", "required");
    sp_t_resp_free(r);
    const char *slug = sp_t_admin_category_new(NULL);
    r = sp_t_admin("PATCH", path, sp_t_fmt("{\"pattern\":null,\"category\":%s}", sp_t_jq(slug)));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), slug);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_priority_rules WHERE is_active"
                              " AND category_id IS NULL AND customer_tier IS NULL"
                              " AND pattern IS NULL AND sentiment_below IS NULL"), "0");
    r = sp_t_admin("DELETE", path, NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(rule_with_invalid_pattern_is_422_invalid_pattern_and_not_saved)
{
    const char *name = sp_t_unique("badpattern");
    static const char *const bad[] = {"(unclosed", "a{2,1}", "[z-a]", "*x", "(?<n>a)(?<n>b)",
                                      "ab\\", NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        struct sp_t_resp *r = sp_t_admin(
            "POST", "/support/admin/priority-rules",
            sp_t_fmt("{\"name\":\"%s\",\"priority\":\"high\",\"is_active\":false,"
                     "\"pattern\":%s}", name, sp_t_jq(bad[i])));
        sp_t_assert_invalid(r, "pattern", "invalid_pattern");
        struct json_object *e = json_object_array_get_idx(sp_t_jarr(r->json, "errors"), 0);
        ck_assert_msg(strlen(sp_t_jstr(e, "message")) > 3, "invalid_pattern without a message");
        sp_t_resp_free(r);
    }
    /* too long: 1001 code points */
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/priority-rules",
        sp_t_fmt("{\"name\":\"%s\",\"priority\":\"high\",\"is_active\":false,\"pattern\":\"%s\"}",
                 name, sp_t_repeat("a", 1001)));
    sp_t_assert_invalid(r, "pattern", NULL);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_priority_rules WHERE name = '%s'",
                              name), "0");
    /* 1000 multi-byte code points are fine */
    r = sp_t_admin("POST", "/support/admin/priority-rules",
              sp_t_fmt("{\"name\":\"%s\",\"priority\":\"high\",\"is_active\":false,"
                       "\"pattern\":\"%s\"}", name, sp_t_repeat("é", 1000)));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(rule_validation)
{
    const char *name = sp_t_unique("ruleval");
    /* Bound to a fresh category and inactive unless the case is about
     * those: a rule accepted by mistake must not touch other tickets. */
    const char *slug = sp_t_admin_category_new(NULL);
    struct {
        const char *members, *field, *code;
    } cases[] = {
        {"\"priority\":\"low\"", "name", "required"},
        {"\"name\":\"x\"", "priority", "required"},
        {"\"name\":\"x\",\"priority\":\"critical\"", "priority", "invalid"},
        {"\"name\":\"\",\"priority\":\"low\"", "name", NULL},
        {"\"name\":\"x\",\"priority\":\"low\",\"customer_tier\":\"gold\"", "customer_tier",
         "invalid"},
        {"\"name\":\"x\",\"priority\":\"low\",\"sentiment_below\":1.5", "sentiment_below", NULL},
        {"\"name\":\"x\",\"priority\":\"low\",\"sentiment_below\":-1.01", "sentiment_below",
         NULL},
        {"\"name\":\"x\",\"priority\":\"low\",\"sentiment_below\":\"low\"", "sentiment_below",
         NULL},
        {"\"name\":\"x\",\"priority\":\"low\",\"position\":-1", "position", NULL},
        {"\"name\":\"x\",\"priority\":\"low\",\"position\":\"1\"", "position", NULL},
        {"\"name\":\"x\",\"priority\":\"low\",\"is_active\":1", "is_active", NULL},
        {"\"name\":\"x\",\"priority\":\"low\",\"pattern\":7", "pattern", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *m = cases[i].members;
        if (strstr(m, "is_active") == NULL)
            m = sp_t_fmt("%s,\"is_active\":false", m);
        m = sp_t_fmt("%s,\"category\":\"%s\"", m, slug);
        struct sp_t_resp *r = sp_t_admin("POST", "/support/admin/priority-rules", sp_t_fmt("{%s}", m));
        sp_t_assert_invalid(r, cases[i].field, cases[i].code);
        sp_t_resp_free(r);
    }
    const char *ghost = sp_t_unique("ghost");
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/priority-rules",
        sp_t_fmt("{\"name\":\"%s\",\"priority\":\"low\",\"is_active\":false,\"category\":\"%s\"}",
                 name, ghost));
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_priority_rules WHERE name = '%s'",
                              name), "0");
}
END_TEST

/* sentiment_below is compared strictly and no sentiment is below -1: a
 * rule of -1 could never match (QA: it was stored), on create or patch. */
START_TEST(a_rule_whose_sentiment_below_can_never_match_is_422)
{
    const char *slug = sp_t_admin_category_new(NULL);
    const char *name = sp_t_unique("never");
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/priority-rules",
        sp_t_fmt("{\"name\":\"%s\",\"priority\":\"low\",\"sentiment_below\":-1,"
                 "\"category\":\"%s\"}", name, slug));
    sp_t_assert_invalid(r, "sentiment_below", "out_of_range");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    ck_assert_msg(strstr(r->body, "above -1 and at most 1") != NULL, "no range in %s", r->body);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_priority_rules WHERE name = '%s'",
                              name), "0");
    int64_t id = sp_t_admin_rule_new(
        sp_t_fmt("\"name\":\"%s\",\"priority\":\"low\",\"sentiment_below\":-0.99,"
                 "\"category\":\"%s\"", name, slug));
    const char *path = sp_t_fmt("/support/admin/priority-rules/%lld", (long long)id);
    r = sp_t_admin("PATCH", path, "{\"sentiment_below\":-1.0}");
    sp_t_assert_invalid(r, "sentiment_below", "out_of_range");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT sentiment_below::text FROM support_priority_rules"
                              " WHERE id = %lld", (long long)id), "-0.99");
    r = sp_t_admin("DELETE", path, NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
}
END_TEST

/* A rule's own checks (pattern, category) join the field table's errors. */
START_TEST(rule_validation_reports_every_field_at_once)
{
    const char *name = sp_t_unique("rule-all");
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/priority-rules",
        sp_t_fmt("{\"name\":\"\",\"priority\":\"critical\",\"is_active\":false,"
                 "\"pattern\":\"(\",\"category\":\"%s\"}", sp_t_unique("ghost")));
    sp_t_assert_invalid(r, "name", "too_short");
    sp_t_assert_invalid(r, "priority", "invalid");
    sp_t_assert_invalid(r, "pattern", "invalid_pattern");
    sp_t_assert_invalid(r, "category", "unknown_category");
    ck_assert_uint_eq(error_count(r), 4);
    sp_t_resp_free(r);

    /* a valid body but for the two domain rules: both reported too */
    r = sp_t_admin("POST", "/support/admin/priority-rules",
                   sp_t_fmt("{\"name\":\"%s\",\"priority\":\"low\",\"is_active\":false,"
                            "\"pattern\":\"[\",\"category\":\"%s\"}", name,
                            sp_t_unique("ghost")));
    sp_t_assert_invalid(r, "pattern", "invalid_pattern");
    sp_t_assert_invalid(r, "category", "unknown_category");
    ck_assert_uint_eq(error_count(r), 2);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_priority_rules WHERE name = '%s'",
                              name), "0");
}
END_TEST

START_TEST(rule_patch_bumps_version_and_delete_is_204_then_404)
{
    const char *slug = sp_t_admin_category_new(NULL);
    struct sp_t_resp *r = sp_t_admin_post(
        "/support/admin/priority-rules",
        sp_t_fmt("{\"name\":\"to edit\",\"priority\":\"high\",\"is_active\":false,"
                 "\"category\":\"%s\",\"pattern\":\"alpha\",\"position\":7}", slug));
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    const char *path = sp_t_fmt("/support/admin/priority-rules/%lld", (long long)id);

    r = sp_t_admin("PATCH", path, "{\"name\":\"edited\"}");
    sp_t_assert_json(r, 200);
    assert_rule(r->json);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 2);
    ck_assert_str_eq(sp_t_jstr(r->json, "name"), "edited");
    ck_assert_str_eq(sp_t_jstr(r->json, "pattern"), "alpha");
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "high");
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), slug);
    ck_assert_int_eq(sp_t_jint(r->json, "position"), 7);
    ck_assert(!jbool(r->json, "is_active"));
    sp_t_resp_free(r);

    r = sp_t_admin("PATCH", path, "{\"pattern\":\"beta|gamma\",\"priority\":\"urgent\"}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 3);
    ck_assert_str_eq(sp_t_jstr(r->json, "pattern"), "beta|gamma");
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "urgent");
    sp_t_resp_free(r);

    /* A bad pattern on PATCH: refused, nothing changes (no version bump). */
    r = sp_t_admin("PATCH", path, "{\"pattern\":\"(\",\"name\":\"not saved\"}");
    sp_t_assert_invalid(r, "pattern", "invalid_pattern");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT name || ' v' || version || ' ' || pattern FROM "
                              "support_priority_rules WHERE id = %lld", (long long)id),
                     "edited v3 beta|gamma");

    /* null clears the conditions */
    r = sp_t_admin("PATCH", path, "{\"pattern\":null,\"category\":null}");
    sp_t_assert_json(r, 200);
    sp_t_assert_jnull(r->json, "pattern");
    sp_t_assert_jnull(r->json, "category");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 4);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"category\":\"no-such-category-anywhere-0\"}");
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"priority\":null}");
    sp_t_assert_invalid(r, "priority", NULL);
    sp_t_resp_free(r);

    r = sp_t_admin("PATCH", "/support/admin/priority-rules/999999999999", "{\"name\":\"x\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);

    r = sp_t_admin("DELETE", path, NULL);
    sp_t_assert_status(r, 204);
    ck_assert_uint_eq(r->body_len, 0);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_priority_rules WHERE id = %lld",
                              (long long)id), "0");
    r = sp_t_admin("DELETE", path, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"name\":\"ghost\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_admin("DELETE", "/support/admin/priority-rules/x1", NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    ck_assert_msg(list_find("/support/admin/priority-rules", id, assert_rule) == NULL,
                  "a deleted rule is still listed");
}
END_TEST

/* ---- agents --------------------------------------------------------------------- */

START_TEST(agent_create_answers_201_and_the_agent_uses_that_row)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    const char *team = sp_t_unique("team");
    struct sp_t_resp *r = sp_t_admin_post(
        "/support/admin/agents",
        sp_t_fmt("{\"user_id\":\"%s\",\"display_name\":\"Ada L\",\"team\":\"%s\","
                 "\"skills\":[\"billing\",\"de\"],\"status\":\"away\","
                 "\"max_concurrent_chats\":5}", u.sub, team));
    assert_agent(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "user_id"), u.sub);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), "Ada L");
    ck_assert_str_eq(sp_t_jstr(r->json, "team"), team);
    ck_assert_str_eq(skills_joined(r->json), "billing|de");
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    ck_assert_int_eq(sp_t_jint(r->json, "max_concurrent_chats"), 5);
    sp_t_assert_jnull(r->json, "last_assigned_at");
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);

    /* The agent's own requests use this row (no second one). */
    ck_assert_int_eq(sp_t_agent_id(&u), id);
    r = sp_t_get("/support/agent/me", u.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "team"), team);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'",
                              u.sub), "1");

    /* Minimal: defaults. */
    struct sp_t_user v = sp_t_user_new(SP_ROLE_AGENT);
    r = sp_t_admin_post("/support/admin/agents", sp_t_fmt("{\"user_id\":\"%s\"}", v.sub));
    assert_agent(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "team"), "general");
    ck_assert_str_eq(skills_joined(r->json), "");
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
    sp_t_assert_jnull(r->json, "display_name");
    int64_t id2 = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);

    struct json_object *o = parsed(list_find("/support/admin/agents", id, assert_agent));
    ck_assert_str_eq(sp_t_jstr(o, "user_id"), u.sub);
    ck_assert_str_eq(skills_joined(o), "billing|de");
    json_object_put(o);
    ck_assert(list_find("/support/admin/agents", id2, assert_agent) != NULL);
}
END_TEST

START_TEST(agent_skills_round_trip_exactly)
{
    /* Characters that mean something in a PostgreSQL array literal (a
     * skill is stored trimmed, A-Z in lower case: API.md §6). */
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_admin_post(
        "/support/admin/agents",
        sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"a,b\",\"c\\\"d\",\"e\\\\f\",\"{g}\","
                 "\"NULL\",\" sp \",\"é\"]}", u.sub));
    struct json_object *skills = sp_t_jarr(r->json, "skills");
    static const char *const want[] = {"a,b", "c\"d", "e\\f", "{g}", "null", "sp", "é"};
    ck_assert_uint_eq(json_object_array_length(skills), 7);
    for (size_t i = 0; i < 7; i++) {
        struct json_object *s = json_object_array_get_idx(skills, i);
        ck_assert_msg(json_object_is_type(s, json_type_string), "skills[%zu] is %s, want \"%s\"",
                      i, json_object_to_json_string(s), want[i]);
        ck_assert_str_eq(json_object_get_string(s), want[i]);
    }
    sp_t_resp_free(r);

    /* A control character is refused, never changed. */
    struct sp_t_user v = sp_t_user_new(SP_ROLE_AGENT);
    r = sp_t_admin("POST", "/support/admin/agents",
              sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"tab\\there\"]}", v.sub));
    sp_t_assert_invalid(r, "skills[0]", "invalid");
    sp_t_resp_free(r);
}
END_TEST

/* A skill is one in any case and with blanks around it (API.md §6):
 * blank ones, and ones over 64 characters, are 422 invalid; "Billing"
 * and "billing" are a duplicate; each is stored trimmed with A-Z in lower
 * case, and a category's required_skill the same way, so skill routing
 * finds the agent whatever case each was written in. */
START_TEST(skills_are_trimmed_lower_case_and_one_in_any_case)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    static const char *const bad[] = {"\"\"", "\" \"", "\"\\u200b\\u00a0\"", "\"a\\nb\"", "1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_t_resp *r = sp_t_admin(
            "POST", "/support/admin/agents",
            sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"ok\",%s]}", u.sub, bad[i]));
        sp_t_assert_invalid(r, "skills[1]", "invalid");
        ck_assert_uint_eq(error_count(r), 1);
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/agents",
        sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"%s\"]}", u.sub, sp_t_repeat("s", 65)));
    sp_t_assert_invalid(r, "skills[0]", "invalid");
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/agents",
                   sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"Billing\",\" billing \"]}",
                            u.sub));
    sp_t_assert_invalid(r, "skills[1]", "duplicate");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'", u.sub),
                     "0");

    const char *skill = sp_t_unique("Sepa-DE");
    const char *lower = sp_t_sql("SELECT lower('%s')", skill);
    int64_t id = sp_t_admin_agent_new(
        sp_t_fmt("\"skills\":[\"\\u200b %s \",\"%s\"]", skill, sp_t_repeat("S", 64)), &u);
    ck_assert_str_eq(sp_t_sql("SELECT array_to_string(skills, '|') FROM support_agents"
                              " WHERE id = %lld", (long long)id),
                     sp_t_fmt("%s|%s", lower, sp_t_repeat("s", 64)));

    /* required_skill: bounded, trimmed and lower-cased as a skill */
    const char *slug = sp_t_unique("skillcat");
    r = sp_t_admin("POST", "/support/admin/categories",
                   sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\",\"required_skill\":\"%s\"}",
                            slug, sp_t_repeat("s", 65)));
    sp_t_assert_invalid(r, "required_skill", "too_long");
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/categories",
                   sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\",\"required_skill\":\" \\u2003\"}",
                            slug));
    sp_t_assert_invalid(r, "required_skill", "invalid");
    ck_assert_uint_eq(error_count(r), 1);
    sp_t_resp_free(r);
    r = sp_t_admin_post("/support/admin/categories",
                        sp_t_fmt("{\"slug\":\"%s\",\"name\":\"x\",\"routing\":\"skill\","
                                 "\"required_skill\":\" %s\"}", slug, skill));
    ck_assert_str_eq(sp_t_jstr(r->json, "required_skill"), lower);
    int64_t cat = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/categories/%lld", (long long)cat),
                   sp_t_fmt("{\"required_skill\":\"%s\\t\"}", skill));
    sp_t_assert_invalid(r, "required_skill", "invalid");
    sp_t_resp_free(r);
    /* a ticket of the category goes to the agent with the skill */
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create_json(
        &c, sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\",\"category\":\"%s\"}", slug));
    ck_assert_str_eq(sp_t_sql("SELECT coalesce(assigned_agent_id::text, 'none') FROM"
                              " support_tickets WHERE public_id = '%s'", pid),
                     sp_t_fmt("%lld", (long long)id));
}
END_TEST

/* user_id is the JWT sub of the agent (shared API.md §2: "integer as
 * string or number"): a number is taken as its text, a text that no sub
 * can be is refused, with every other error of the body. */
START_TEST(agent_user_id_is_an_integer_as_string_or_number)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_admin_post("/support/admin/agents",
                                          sp_t_fmt("{\"user_id\":%s}", u.sub));
    assert_agent(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "user_id"), u.sub);
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    /* the agent's own requests find that row */
    ck_assert_int_eq(sp_t_agent_id(&u), id);

    static const char *const bad[] = {"71 52", " 7152", "7152 ", "abc", "7.5", "+7", "-",
                                      "1e3", "0x1F", "-7", "007", "0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = sp_t_admin("POST", "/support/admin/agents",
                       sp_t_fmt("{\"user_id\":\"%s\",\"team\":\"%s\"}", bad[i],
                                sp_t_unique("uid")));
        sp_t_assert_invalid(r, "user_id", "invalid");
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '71 52'"),
                     "0");
    r = sp_t_admin("POST", "/support/admin/agents",
                   "{\"user_id\":\"71 52\",\"skills\":[\"x\",\"x\"],\"max_concurrent_chats\":101}");
    sp_t_assert_invalid(r, "user_id", "invalid");
    sp_t_assert_invalid(r, "skills[1]", "duplicate");
    sp_t_assert_invalid(r, "max_concurrent_chats", "out_of_range");
    ck_assert_uint_eq(error_count(r), 3);
    sp_t_resp_free(r);
}
END_TEST

/* A skill listed twice is refused (as an article's tag, a webhook's
 * event), on create and on patch; the row keeps its skills. */
START_TEST(agent_skills_listed_twice_are_422_duplicate)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_admin("POST", "/support/admin/agents",
                                     sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"x\",\"y\",\"x\"]}",
                                              u.sub));
    sp_t_assert_invalid(r, "skills[2]", "duplicate");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'", u.sub),
                     "0");
    int64_t id = sp_t_admin_agent_new("\"skills\":[\"de\"]", &u);
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)id),
                   "{\"skills\":[\"fr\",\"fr\"]}");
    sp_t_assert_invalid(r, "skills[1]", "duplicate");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT array_to_string(skills, '|') FROM support_agents"
                              " WHERE id = %lld", (long long)id), "de");
    /* one in any case; accents differ */
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)id),
                   "{\"skills\":[\"fr\",\"FR\"]}");
    sp_t_assert_invalid(r, "skills[1]", "duplicate");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)id),
                   "{\"skills\":[\"fr\",\"fr\\u00e9\"]}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* Each bad skill is its own error, named by its index (QA: one error for
 * the whole list named no skill), as an article's tags, one with a NUL
 * too; a list over 50 is one error on the list. */
START_TEST(agent_skills_report_each_bad_skill_by_index)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/agents",
        sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"ok\",\"\",\"a\\nb\",\"OK\",7]}",
                 u.sub));
    sp_t_assert_invalid(r, "skills[1]", "invalid");
    sp_t_assert_invalid(r, "skills[2]", "invalid");
    sp_t_assert_invalid(r, "skills[3]", "duplicate");
    sp_t_assert_invalid(r, "skills[4]", "invalid");
    ck_assert_uint_eq(error_count(r), 4);
    ck_assert_str_eq(sp_t_invalid_message(r, "skills[3]"),
                     "a skill is listed twice (in upper or lower case, or another Unicode form)");
    sp_t_resp_free(r);
    /* A NUL in one skill is that skill's error, beside the others' (it
     * was one error on "skills" that hid them). */
    r = sp_t_admin("POST", "/support/admin/agents",
                   sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"ok\",\"o\\u0000k\",\"OK\",7]}",
                            u.sub));
    sp_t_assert_invalid(r, "skills[1]", "invalid");
    ck_assert_str_eq(sp_t_invalid_message(r, "skills[1]"), "must not contain NUL characters");
    sp_t_assert_invalid(r, "skills[2]", "duplicate");
    sp_t_assert_invalid(r, "skills[3]", "invalid");
    ck_assert_uint_eq(error_count(r), 3);
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/agents",
                   sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[%s\"x\"]}", u.sub,
                            sp_t_repeat("\"\",", 50)));
    sp_t_assert_invalid(r, "skills", NULL);
    ck_assert_uint_eq(error_count(r), 1);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'", u.sub),
                     "0");
}
END_TEST

START_TEST(agent_validation_conflicts_and_patch)
{
    struct sp_t_user other;
    sp_t_admin_agent_new(NULL, &other);
    struct sp_t_user u;
    int64_t id = sp_t_admin_agent_new("\"team\":\"t-a\",\"skills\":[\"x\"]", &u);
    const char *path = sp_t_fmt("/support/admin/agents/%lld", (long long)id);

    struct sp_t_resp *r = sp_t_admin("POST", "/support/admin/agents",
                                sp_t_fmt("{\"user_id\":\"%s\"}", u.sub));
    sp_t_assert_problem(r, 409, "user_id_taken");
    sp_t_resp_free(r);

    const char *fresh = sp_t_user_new(SP_ROLE_AGENT).sub;
    struct {
        const char *members, *field, *code;
    } cases[] = {
        {"\"team\":\"x\"", "user_id", "required"},
        {"\"user_id\":\"\"", "user_id", NULL},
        {"\"user_id\":4.5", "user_id", "wrong_type"},
        {"\"user_id\":true", "user_id", "wrong_type"},
        {"\"user_id\":\"@\",\"skills\":[1]", "skills[0]", "invalid"},
        {"\"user_id\":\"@\",\"skills\":[\"\"]", "skills[0]", "invalid"},
        {"\"user_id\":\"@\",\"skills\":\"x\"", "skills", NULL},
        {"\"user_id\":\"@\",\"skills\":[null]", "skills[0]", "invalid"},
        {"\"user_id\":\"@\",\"status\":\"busy\"", "status", "invalid"},
        {"\"user_id\":\"@\",\"max_concurrent_chats\":101", "max_concurrent_chats", NULL},
        {"\"user_id\":\"@\",\"max_concurrent_chats\":-1", "max_concurrent_chats", NULL},
        {"\"user_id\":\"@\",\"team\":\"\"", "team", NULL},
        {"\"user_id\":\"@\",\"team\":null", "team", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *m = cases[i].members;
        const char *at = strchr(m, '@');
        if (at != NULL)
            m = sp_t_fmt("%.*s%s%s", (int)(at - m), m, fresh, at + 1);
        r = sp_t_admin("POST", "/support/admin/agents", sp_t_fmt("{%s}", m));
        sp_t_assert_invalid(r, cases[i].field, cases[i].code);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'", fresh),
                     "0");

    r = sp_t_admin("PATCH", path, "{\"status\":\"away\",\"skills\":[\"y\",\"z\"],"
                             "\"max_concurrent_chats\":0,\"display_name\":\"Bo\"}");
    sp_t_assert_json(r, 200);
    assert_agent(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "user_id"), u.sub);
    ck_assert_str_eq(sp_t_jstr(r->json, "team"), "t-a");
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    ck_assert_str_eq(skills_joined(r->json), "y|z");
    ck_assert_int_eq(sp_t_jint(r->json, "max_concurrent_chats"), 0);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), "Bo");
    sp_t_resp_free(r);

    r = sp_t_admin("PATCH", path, "{\"skills\":[]}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(skills_joined(r->json), "");
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    sp_t_resp_free(r);

    r = sp_t_admin("PATCH", path, sp_t_fmt("{\"user_id\":\"%s\"}", other.sub));
    sp_t_assert_problem(r, 409, "user_id_taken");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", path, "{\"status\":\"gone\"}");
    sp_t_assert_invalid(r, "status", "invalid");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT user_id || ' ' || status FROM support_agents WHERE id = "
                              "%lld", (long long)id), sp_t_fmt("%s away", u.sub));

    r = sp_t_admin("PATCH", "/support/admin/agents/999999999999", "{\"status\":\"away\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", "/support/admin/agents/me", "{\"status\":\"away\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

/* Rows written before skills had one form are given it by the migration
 * (sql/040_skills_one_case.sql), run here again on rows written as they
 * were then: it is idempotent, and the rows the API wrote stay as they are. */
START_TEST(the_skills_migration_gives_old_rows_the_one_form)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    const char *slug = sp_t_unique("oldskills");
    sp_t_sql("INSERT INTO support_agents (user_id, display_name, skills) VALUES ('%s', 'Old',"
             " ARRAY[' Billing', 'billing', E'\\u200b', 'SEPA-De ', 'Été'])", u.sub);
    sp_t_sql("INSERT INTO support_categories (slug, name, routing, required_skill)"
             " VALUES ('%s', 'Old', 'skill', E'\\u00a0Billing\\t')", slug);
    const char *sql = sp_t_migration_text("040_skills_one_case.sql");
    for (int run = 0; run < 2; run++) {
        sp_t_sql("%s", sql);
        ck_assert_str_eq(sp_t_sql("SELECT array_to_string(skills, '|') FROM support_agents"
                                  " WHERE user_id = '%s'", u.sub),
                         "billing|sepa-de|Été");
        ck_assert_str_eq(sp_t_sql("SELECT required_skill FROM support_categories"
                                  " WHERE slug = '%s'", slug), "billing");
    }
}
END_TEST

/* ---- names, teams and If-Match (QA) -------------------------------------------- */

/* A category's and a rule's name are one line of visible text, as a
 * ticket's subject and an agent's display_name: blank, a line break, a
 * control character is 422 (empty / invalid); the blanks around go. */
START_TEST(names_are_one_line_of_visible_text)
{
    static const struct {
        const char *name, *code;
    } bad[] = {{"   ", "empty"}, {"\\u200b", "empty"}, {"a\\nb", "invalid"},
               {"a\\tb", "invalid"}, {"a\\u001b[31m", "invalid"}};
    const char *slug = sp_t_admin_category_new(NULL);
    const char *cat = sp_t_fmt("/support/admin/categories/%s",
                               sp_t_sql("SELECT id FROM support_categories WHERE slug = '%s'",
                                        slug));
    struct sp_t_resp *r = sp_t_admin_post("/support/admin/priority-rules",
                                          "{\"name\":\"r\",\"priority\":\"low\","
                                          "\"is_active\":false}");
    const char *rule = sp_t_fmt("/support/admin/priority-rules/%lld",
                                (long long)sp_t_jint(r->json, "id"));
    sp_t_resp_free(r);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *name = sp_t_fmt("\"name\":\"%s\"", bad[i].name);
        r = sp_t_admin("POST", "/support/admin/categories",
                       sp_t_fmt("{\"slug\":\"%s\",%s}", sp_t_unique("names"), name));
        sp_t_assert_invalid(r, "name", bad[i].code);
        sp_t_resp_free(r);
        r = sp_t_admin("PATCH", cat, sp_t_fmt("{%s}", name));
        sp_t_assert_invalid(r, "name", bad[i].code);
        sp_t_resp_free(r);
        r = sp_t_admin("POST", "/support/admin/priority-rules",
                       sp_t_fmt("{%s,\"priority\":\"low\",\"is_active\":false}", name));
        sp_t_assert_invalid(r, "name", bad[i].code);
        sp_t_resp_free(r);
        r = sp_t_admin("PATCH", rule, sp_t_fmt("{%s}", name));
        sp_t_assert_invalid(r, "name", bad[i].code);
        sp_t_resp_free(r);
    }
    r = sp_t_admin("PATCH", cat, "{\"name\":\"\\u202e Billing \"}");   /* reorders the line */
    sp_t_assert_invalid(r, "name", "invalid");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", cat, "{\"name\":\"\\u200e Billing \"}");   /* a mark, trimmed */
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "name"), "Billing");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", rule, "{\"name\":\" VIP first\\u00a0\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "name"), "VIP first");
    sp_t_resp_free(r);
    /* The limit (200) is the stored name's: the blanks around do not
     * count (QA: 200 characters with spaces around were too long). */
    const char *limit = sp_t_repeat("n", 200);
    const char *paths[] = {cat, rule};
    for (size_t i = 0; i < 2; i++) {
        r = sp_t_admin("PATCH", paths[i], sp_t_fmt("{\"name\":\"  %s \\u00a0\"}", limit));
        sp_t_assert_json(r, 200);
        ck_assert_str_eq(sp_t_jstr(r->json, "name"), limit);
        sp_t_resp_free(r);
        r = sp_t_admin("PATCH", paths[i], sp_t_fmt("{\"name\":\" %s \"}", sp_t_repeat("n", 201)));
        sp_t_assert_invalid(r, "name", "too_long");
        ck_assert_str_eq(sp_t_invalid_message(r, "name"), "must be at most 200 characters");
        sp_t_resp_free(r);
    }
}
END_TEST

/* Teams are stored as skills are (trimmed, A-Z lower-cased), on agents and
 * categories alike, so a round-robin category of team "Wombat" assigns
 * to the agents of team "wombat" (QA: it never assigned); a blank team or
 * one with a line break is 422. */
START_TEST(teams_are_trimmed_and_lower_case_so_round_robin_finds_them)
{
    const char *team = sp_t_unique("Wombat");
    const char *lower = sp_t_sql("SELECT lower('%s')", team);
    struct sp_t_user u;
    int64_t agent = sp_t_admin_agent_new(
        sp_t_fmt("\"team\":\" %s\\u200b\",\"status\":\"active\"", lower), &u);
    ck_assert_str_eq(sp_t_sql("SELECT team FROM support_agents WHERE id = %lld",
                              (long long)agent), lower);
    static const char *const bad[] = {"\\u200b", "  ", "a\\nb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_t_resp *r = sp_t_admin(
            "POST", "/support/admin/categories",
            sp_t_fmt("{\"slug\":\"%s\",\"name\":\"n\",\"team\":\"%s\"}", sp_t_unique("team"),
                     bad[i]));
        sp_t_assert_invalid(r, "team", "invalid");
        sp_t_resp_free(r);
        r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)agent),
                       sp_t_fmt("{\"team\":\"%s\"}", bad[i]));
        sp_t_assert_invalid(r, "team", "invalid");
        sp_t_resp_free(r);
    }
    const char *slug = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":\" %s \"", team));
    ck_assert_str_eq(sp_t_sql("SELECT team FROM support_categories WHERE slug = '%s'", slug),
                     lower);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create_json(
        &c, sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\",\"category\":\"%s\"}", slug));
    ck_assert_str_eq(sp_t_sql("SELECT coalesce(assigned_agent_id::text, 'none') FROM"
                              " support_tickets WHERE public_id = '%s'", pid),
                     sp_t_fmt("%lld", (long long)agent));
}
END_TEST

/* A ticket of a fresh customer in category slug; its assignee's id as
 * text ("none": nobody). */
static const char *
routed_to(const char *slug)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create_json(
        &c, sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\",\"category\":\"%s\"}", slug));
    return sp_t_sql("SELECT coalesce(assigned_agent_id::text, 'none') FROM support_tickets"
                    " WHERE public_id = '%s'", pid);
}

/* Skills and teams are one Unicode form, case folded beyond A-Z (QA: the
 * skills "café" precomposed and "café" of e + a combining accent were
 * two, and a category's NFD required_skill never routed to an agent's
 * NFC skill): the same name in any form or case is listed twice, and
 * routing matches it. */
START_TEST(skills_and_teams_are_one_unicode_form_so_routing_finds_them)
{
    const char *tail = sp_t_sql("SELECT lower('%s')", sp_t_unique("x"));
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/agents",
        sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"caf\\u00e9%s\",\"CAFE\\u0301%s\"]}", u.sub,
                 tail, tail));
    sp_t_assert_invalid(r, "skills[1]", "duplicate");
    sp_t_resp_free(r);

    int64_t agent = sp_t_admin_agent_new(
        sp_t_fmt("\"skills\":[\"CAF\\u00c9%s\"],\"team\":\"E\\u0301QUIPE%s\","
                 "\"status\":\"active\"",
                 tail, tail),
        &u);
    ck_assert_str_eq(sp_t_sql("SELECT skills[1] = 'caf' || U&'\\00e9' || '%s' AND"
                              " team = U&'\\00e9' || 'quipe%s' FROM support_agents"
                              " WHERE id = %lld",
                              tail, tail, (long long)agent),
                     "t");
    const char *by_skill = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"skill\",\"required_skill\":\"cafe\\u0301%s\"", tail));
    ck_assert_str_eq(routed_to(by_skill), sp_t_fmt("%lld", (long long)agent));
    const char *by_team = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":\"\\u00c9quipe%s\"", tail));
    ck_assert_str_eq(routed_to(by_team), sp_t_fmt("%lld", (long long)agent));
}
END_TEST

/* A skill or team typed with an invisible character inside or in
 * fullwidth letters is the plain one (QA: "tech\u200bnical" was stored
 * as typed, looked like "technical" and matched nothing; fullwidth
 * "ｆｕｌｌ" was not "full"): stored plain, listed twice it is a
 * duplicate, and routing matches it. */
START_TEST(skills_with_invisible_or_fullwidth_letters_are_the_plain_skill)
{
    const char *tail = sp_t_sql("SELECT lower('%s')", sp_t_unique("x"));
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/agents",
        sp_t_fmt("{\"user_id\":\"%s\",\"skills\":[\"full%s\","
                 "\"\\uff46\\uff55\\uff4c\\uff4c%s\"]}",
                 u.sub, tail, tail));
    sp_t_assert_invalid(r, "skills[1]", "duplicate");
    sp_t_resp_free(r);
    int64_t agent = sp_t_admin_agent_new(
        sp_t_fmt("\"skills\":[\"tech\\u200bnical%s\",\"\\uff26ULL%s\"],"
                 "\"team\":\"t\\u2060eam\\uff11%s\",\"status\":\"active\"",
                 tail, tail, tail),
        &u);
    ck_assert_str_eq(sp_t_sql("SELECT skills = ARRAY['technical%s', 'full%s']"
                              " AND team = 'team1%s' FROM support_agents WHERE id = %lld",
                              tail, tail, tail, (long long)agent),
                     "t");
    const char *by_skill = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"skill\","
                 "\"required_skill\":\"\\uff54echnical\\u200c%s\"", tail));
    ck_assert_str_eq(sp_t_sql("SELECT required_skill FROM support_categories WHERE slug = '%s'",
                              by_skill),
                     sp_t_fmt("technical%s", tail));
    ck_assert_str_eq(routed_to(by_skill), sp_t_fmt("%lld", (long long)agent));
}
END_TEST

/* sentiment_below has one range, told alike whichever end a value
 * misses (QA: 1.5 was "must be a number from -1 to 1", though -1 itself
 * is refused). */
START_TEST(sentiment_below_out_of_range_names_one_range)
{
    const char *slug = sp_t_admin_category_new(NULL);
    static const char *const values[] = {"1.5", "-1", "-2", "1e9"};
    const char *first = NULL;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct sp_t_resp *r = sp_t_admin(
            "POST", "/support/admin/priority-rules",
            sp_t_fmt("{\"name\":\"%s\",\"priority\":\"low\",\"sentiment_below\":%s,"
                     "\"category\":\"%s\"}", sp_t_unique("range"), values[i], slug));
        sp_t_assert_invalid(r, "sentiment_below", "out_of_range");
        const char *message = sp_t_fmt("%s", sp_t_invalid_message(r, "sentiment_below"));
        sp_t_resp_free(r);
        ck_assert_msg(strstr(message, "above -1 and at most 1") != NULL, "%s: %s", values[i],
                      message);
        if (first == NULL)
            first = message;
        ck_assert_str_eq(message, first);
    }
    /* both ends' neighbours are in it */
    int64_t id = sp_t_admin_rule_new(
        sp_t_fmt("\"name\":\"%s\",\"priority\":\"low\",\"sentiment_below\":1,"
                 "\"category\":\"%s\"", sp_t_unique("range"), slug));
    struct sp_t_resp *r = sp_t_admin(
        "PATCH", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)id),
        "{\"sentiment_below\":-0.999}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(the_team_migration_gives_old_rows_the_one_form)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT), v = sp_t_user_new(SP_ROLE_AGENT);
    const char *slug = sp_t_unique("oldteam"), *blank = sp_t_unique("blankteam");
    sp_t_sql("INSERT INTO support_agents (user_id, team) VALUES ('%s', E' Tier-2\\u200b'),"
             " ('%s', E'\\u00a0')", u.sub, v.sub);
    sp_t_sql("INSERT INTO support_categories (slug, name, team) VALUES ('%s', 'Old',"
             " E'General\\t'), ('%s', 'Blank', ' ')", slug, blank);
    const char *sql = sp_t_migration_text("052_admin_versions_and_teams.sql");
    for (int run = 0; run < 2; run++) {
        sp_t_sql("%s", sql);
        ck_assert_str_eq(sp_t_sql("SELECT string_agg(team, '|' ORDER BY user_id = '%s')"
                                  " FROM support_agents WHERE user_id IN ('%s', '%s')",
                                  v.sub, u.sub, v.sub),
                         "tier-2|general");
        ck_assert_str_eq(sp_t_sql("SELECT string_agg(coalesce(team, 'null'), '|' ORDER BY"
                                  " slug = '%s') FROM support_categories"
                                  " WHERE slug IN ('%s', '%s')", blank, slug, blank),
                         "general|null");
    }
}
END_TEST

START_TEST(if_match_is_honoured_on_categories_agents_and_rules)
{
    const char *slug = sp_t_admin_category_new(NULL);
    sp_t_assert_if_match(sp_t_fmt("/support/admin/categories/%s",
                             sp_t_sql("SELECT id FROM support_categories WHERE slug = '%s'",
                                      slug)),
                    "name");
    struct sp_t_user ada;
    int64_t agent = sp_t_admin_agent_new(
        sp_t_fmt("\"display_name\":\"Ada %s\"", sp_t_unique("v")), &ada);
    const char *agent_path = sp_t_fmt("/support/admin/agents/%lld", (long long)agent);
    sp_t_assert_if_match(agent_path, "display_name");
    /* the agent's own change moves the version too: the admin's ETag from
     * before it is stale */
    struct sp_t_resp *r = sp_t_admin("GET", agent_path, NULL);
    const char *before = sp_t_fmt("%s", sp_t_header(r, "ETag"));
    sp_t_resp_free(r);
    r = sp_t_request("PATCH", "/support/agent/me", ada.token, SP_T_JSON, "{\"status\":\"away\"}",
                     NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_with_if_match("PATCH", agent_path, "{\"status\":\"active\"}", before);
    sp_t_assert_problem(r, 412, "precondition_failed");
    sp_t_resp_free(r);

    r = sp_t_admin_post("/support/admin/priority-rules",
                        "{\"name\":\"r\",\"priority\":\"low\",\"is_active\":false}");
    long long id = (long long)sp_t_jint(r->json, "id");
    ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v1\"", id));
    sp_t_resp_free(r);
    const char *path = sp_t_fmt("/support/admin/priority-rules/%lld", id);
    sp_t_assert_if_match(path, "name");
    /* DELETE too: a stale ETag is 412 and the rule stays */
    sp_t_assert_delete_if_match(path, "support_priority_rules", id, 3);
}
END_TEST

/* A PUT of the high policy of category slug with first_minutes, with
 * If-Match: if_match (NULL: without). */
static struct sp_t_resp *
sla_put(const char *slug, int first_minutes, const char *if_match)
{
    const char *body =
        sp_t_fmt("{\"priority\":\"high\",\"category\":%s,"
                 "\"first_response_minutes\":%d,\"resolution_minutes\":600}",
                 slug != NULL ? sp_t_jq(slug) : "null", first_minutes);
    if (if_match == NULL)
        return sp_t_admin("PUT", "/support/admin/sla-policies", body);
    return sp_t_with_if_match("PUT", "/support/admin/sla-policies", body, if_match);
}

/* The first response minutes and version of SLA policy id, "30 1". */
static const char *
sla_row(long long id)
{
    return sp_t_sql("SELECT first_response_minutes || ' ' || version FROM support_sla_policies"
                    " WHERE id = %lld", id);
}

/* SLA policies are versioned as the other admin rows (sql/053; QA: two
 * admins editing one policy silently overwrote each other): a PUT
 * answers ETag "<id>-v<version>" and bumps the version of the row it
 * updates; with If-Match it updates only the policy that ETag names, at
 * that version (or *), and anything else is 412 with nothing written, as
 * for a policy that does not exist yet. DELETE honours If-Match too; a
 * bad body is 422 whatever the If-Match. */
START_TEST(if_match_is_honoured_on_sla_policies)
{
    const char *slug = sp_t_admin_category_new(NULL);
    struct sp_t_resp *r = sla_put(slug, 30, NULL);
    sp_t_assert_json(r, 200);
    long long id = (long long)sp_t_jint(r->json, "id");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 1);
    const char *etag = sp_t_fmt("\"%lld-v1\"", id);
    ck_assert_str_eq(sp_t_header(r, "ETag"), etag);
    sp_t_resp_free(r);
    struct json_object *listed = parsed(sla_find("high", slug));
    ck_assert_int_eq(sp_t_jint(listed, "version"), 1);
    json_object_put(listed);

    const char *const stale[] = {"\"nope\"", "nope", sp_t_fmt("\"%lld-v2\"", id),
                                 sp_t_fmt("\"%lld-v1\"", id + 1), "\"v1\""};
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        r = sla_put(slug, 31, stale[i]);
        sp_t_assert_problem(r, 412, "precondition_failed");
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(sla_row(id), "30 1");
    r = sla_put(slug, 32, etag);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "first_response_minutes"), 32);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 2);
    ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v2\"", id));
    sp_t_resp_free(r);
    /* the other admin, still on the old ETag, is told */
    r = sla_put(slug, 33, etag);
    sp_t_assert_problem(r, 412, "precondition_failed");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the resource is at version 2, not 1");
    sp_t_resp_free(r);
    r = sla_put(slug, 34, "*");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 3);
    sp_t_resp_free(r);
    /* without If-Match the last write wins, as a new version; QA: a put
     * that changes nothing (a retry) is no new version, with or without
     * If-Match: another admin's ETag stays good. */
    for (int i = 0; i < 2; i++) {
        r = sp_t_admin("PUT", "/support/admin/sla-policies",
                       sp_t_fmt("{\"priority\":\"high\",\"category\":\"%s\","
                                "\"first_response_minutes\":35,\"resolution_minutes\":600}",
                                slug));
        sp_t_assert_json(r, 200);
        ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v4\"", id));
        sp_t_resp_free(r);
        ck_assert_str_eq(sla_row(id), "35 4");
    }
    r = sla_put(slug, 35, sp_t_fmt("\"%lld-v4\"", id));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 4);
    sp_t_resp_free(r);
    ck_assert_str_eq(sla_row(id), "35 4");

    /* no policy yet: If-Match, even *, is 412 and none is created */
    const char *other = sp_t_admin_category_new(NULL);
    r = sla_put(other, 30, "*");
    sp_t_assert_problem(r, 412, "precondition_failed");
    sp_t_resp_free(r);
    ck_assert_msg(sla_find("high", other) == NULL, "a PUT with If-Match created a policy");
    /* a bad body is 422 whatever the If-Match */
    r = sla_put(slug, 601, "\"nope\"");
    sp_t_assert_invalid(r, "first_response_minutes", "out_of_range");
    sp_t_resp_free(r);
    r = sla_put(sp_t_unique("ghost"), 30, "*");
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_resp_free(r);
    ck_assert_str_eq(sla_row(id), "35 4");

    /* DELETE: a stale ETag is 412 and the override stays */
    sp_t_assert_delete_if_match(sp_t_fmt("/support/admin/sla-policies/%lld", id),
                           "support_sla_policies", id, 4);
    /* a default is never removed, whatever its If-Match */
    struct json_object *def = parsed(sla_find("high", NULL));
    long long def_id = (long long)sp_t_jint(def, "id");
    r = sp_t_with_if_match("DELETE", sp_t_fmt("/support/admin/sla-policies/%lld", def_id), NULL,
                      sp_t_fmt("\"%lld-v%lld\"", def_id, (long long)sp_t_jint(def, "version")));
    sp_t_assert_problem(r, 409, "default_policy");
    sp_t_resp_free(r);
    json_object_put(def);
}
END_TEST

/* GET …/sla-policies/:id answers one policy as the list shows it, with
 * the ETag a PUT or DELETE takes as If-Match (before, only a PUT or the
 * list gave it); an unknown id is 404, and only admins may read it (the
 * roles test). */
START_TEST(sla_policy_get_by_id_answers_the_row_and_its_etag)
{
    const char *slug = sp_t_admin_category_new(NULL);
    struct sp_t_resp *r = sla_put(slug, 40, NULL);
    sp_t_assert_json(r, 200);
    long long id = (long long)sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    const char *path = sp_t_fmt("/support/admin/sla-policies/%lld", id);

    r = sp_t_admin("GET", path, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v1\"", id));
    struct json_object *listed = parsed(sla_find("high", slug));
    ck_assert_str_eq(json_object_to_json_string(r->json), json_object_to_json_string(listed));
    json_object_put(listed);
    const char *etag = sp_t_fmt("%s", sp_t_header(r, "ETag"));
    sp_t_resp_free(r);

    /* the ETag it gave is the one a PUT's If-Match takes */
    r = sla_put(slug, 41, etag);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("GET", path, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "first_response_minutes"), 41);
    ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v2\"", id));
    sp_t_resp_free(r);

    /* a default is read the same way */
    struct json_object *def = parsed(sla_find("high", NULL));
    r = sp_t_admin("GET", sp_t_fmt("/support/admin/sla-policies/%lld",
                                   (long long)sp_t_jint(def, "id")), NULL);
    sp_t_assert_json(r, 200);
    ck_assert_ptr_null(sp_t_jget(r->json, "category"));
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "high");
    sp_t_resp_free(r);
    json_object_put(def);

    /* gone, or never there: 404 problem+json */
    r = sp_t_admin("DELETE", path, NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
    r = sp_t_admin("GET", path, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

static Suite *
admin_suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = sp_t_tcase(s, "roles");
    tcase_add_test(tc, admin_endpoints_need_support_admin_and_change_nothing_otherwise);
    tc = sp_t_tcase(s, "categories");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, category_create_answers_201_with_the_row_and_defaults);
    tcase_add_test(tc, category_validation_and_slug_taken);
    tcase_add_test(tc, category_validation_reports_every_field_at_once);
    tcase_add_test(tc, category_patch_changes_given_fields_only);
    tcase_add_test(tc, skill_routing_requires_a_required_skill);
    tcase_add_test(tc, racing_patches_cannot_leave_skill_routing_without_a_skill);
    tcase_add_test(tc, deactivated_category_is_refused_for_new_tickets_and_reactivation_restores_it);
    tcase_add_test(tc, admin_lists_paginate_and_validate_limit_and_cursor);
    tcase_add_test(tc, get_of_one_row_answers_what_the_list_shows);
    tcase_add_test(tc, admin_rows_are_compact_json);
    tc = sp_t_tcase(s, "sla_policies");
    tcase_add_test(tc, sla_policies_list_has_one_default_per_priority);
    tcase_add_test(tc, sla_policy_put_upserts_per_category_and_drives_due_dates);
    tcase_add_test(tc, sla_policy_with_first_response_after_resolution_is_422);
    tcase_add_test(tc, sla_policy_put_reports_every_field_error_at_once);
    tcase_add_test(tc, sla_policy_override_delete_falls_back_to_the_default);
    tc = sp_t_tcase(s, "priority_rules");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rule_create_answers_201_with_every_field);
    tcase_add_test(tc, an_active_rule_without_conditions_is_422);
    tcase_add_test(tc, rule_with_invalid_pattern_is_422_invalid_pattern_and_not_saved);
    tcase_add_test(tc, rule_validation);
    tcase_add_test(tc, rule_validation_reports_every_field_at_once);
    tcase_add_test(tc, rule_patch_bumps_version_and_delete_is_204_then_404);
    tc = sp_t_tcase(s, "agents");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, agent_create_answers_201_and_the_agent_uses_that_row);
    tcase_add_test(tc, agent_skills_round_trip_exactly);
    tcase_add_test(tc, agent_validation_conflicts_and_patch);
    tcase_add_test(tc, agent_user_id_is_an_integer_as_string_or_number);
    tcase_add_test(tc, agent_skills_listed_twice_are_422_duplicate);
    tcase_add_test(tc, agent_skills_report_each_bad_skill_by_index);
    tcase_add_test(tc, skills_are_trimmed_lower_case_and_one_in_any_case);
    tcase_add_test(tc, the_skills_migration_gives_old_rows_the_one_form);
    tc = sp_t_tcase(s, "names_teams_if_match");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, names_are_one_line_of_visible_text);
    tcase_add_test(tc, teams_are_trimmed_and_lower_case_so_round_robin_finds_them);
    tcase_add_test(tc, the_team_migration_gives_old_rows_the_one_form);
    tcase_add_test(tc, skills_and_teams_are_one_unicode_form_so_routing_finds_them);
    tcase_add_test(tc, a_rule_whose_sentiment_below_can_never_match_is_422);
    tcase_add_test(tc, skills_with_invisible_or_fullwidth_letters_are_the_plain_skill);
    tcase_add_test(tc, sentiment_below_out_of_range_names_one_range);
    tcase_add_test(tc, if_match_is_honoured_on_categories_agents_and_rules);
    tcase_add_test(tc, if_match_is_honoured_on_sla_policies);
    tcase_add_test(tc, sla_policy_get_by_id_answers_the_row_and_its_etag);
    return s;
}

int
main(void)
{
    return sp_t_run(admin_suite());
}
