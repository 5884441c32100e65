/*
 * admin (api): the JSON admin endpoints of API.md §6 for categories, SLA
 * policies, priority rules and agents (role support_admin) — the admin
 * API surface, not a concept: each resource's rules and SQL live in its
 * own domain module (categories, sla_policies, rule_store, agents), which
 * exports it as one struct sp_admin_store; this file points a resource at
 * its store, validates declaratively, turns fields into column values and
 * renders.
 * Holds no SQL; never includes db/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/tier.h"
#include "domain/agents.h"
#include "domain/categories.h"
#include "domain/chat_access.h"
#include "domain/chat_sessions.h"
#include "domain/rule_store.h"
#include "domain/rules.h"
#include "domain/sla.h"
#include "domain/sla_policies.h"
#include "domain/ticket_subject.h"

static const char *const routings[] = {"manual", "round_robin", "skill", NULL};

/* --- shared plumbing ------------------------------------------------------ */

/* 200 with one row (a create answers through sp_api_create), its ETag
 * "<id>-v<version>" when the row has a version. */
static enum sp_rc
respond_row(struct sp_req *r, const struct sp_table_row *row)
{
    struct sp_buf *b = sp_api_buf(r);
    sp_buf_puts(b, row->json ? row->json : "{}");
    if (row->version > 0)
        sp_api_etag(r, row->id, row->version);
    sp_resp_json(r, 200, b);
    return SP_OK;
}

/* The rows are rendered by PostgreSQL (json_build_object, one kind of
 * result: every admin row); the envelope is the API's. The cursor is
 * tagged with its list (kind), so one list's cursor is refused by the
 * others (API.md §1). */
static void
write_row(struct sp_jw *w, const void *item)
{
    sp_jw_raw(w, *(const char *const *)item);
}

/* An admin list whose cursors are of kind. */
#define ROW_LIST(kind) {(kind), 25, sizeof(const char *), write_row}

/* Every admin list: by id, limit/cursor, next_cursor (API.md §6). */
static enum sp_rc
list(struct sp_req *r, const struct sp_admin_store *store, const struct sp_api_list *rows_list,
     struct sp_problem *p)
{
    struct sp_api_page page;
    if (sp_api_page_params(r, rows_list, &page, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_table_rows rows;
    if (sp_admin_store_list(&ctx, store, page.after, page.limit, &rows, p) != SP_OK)
        return p->rc;
    page.n = rows.n;
    page.next = rows.next_after;
    return sp_api_answer_page(r, rows_list, &page, rows.json);
}

/* Fields given in the body (null included) become column values. */
static void
to_fields(struct sp_req *r, struct json_object *json, const struct sp_field_spec *specs,
          const struct sp_field_value *v, size_t n, struct sp_table_value *out)
{
    for (size_t i = 0; i < n; i++) {
        out[i].set = json_object_object_get_ex(json, specs[i].name, NULL);
        out[i].value = NULL;
        if (!v[i].present)
            continue;
        switch (specs[i].type) {
        case SP_FIELD_INT: out[i].value = sp_arena_sprintf(r->arena, "%lld", v[i].i); break;
        case SP_FIELD_BOOL: out[i].value = v[i].b ? "true" : "false"; break;
        case SP_FIELD_NUMBER: out[i].value = sp_arena_sprintf(r->arena, "%.6f", v[i].d); break;
        default: out[i].value = v[i].str; break;
        }
    }
}

/* A resource's own rules, run on the fields of the body that passed its
 * field table once they are column values (e.g. a category's slug, an
 * agent's skills); they add field errors to p. */
typedef void (*check_fn)(struct sp_req *r, const struct sp_field_value *v,
                         struct sp_table_value *f, struct sp_problem *p);

/* One admin resource (API.md §6): its rows, its body fields. */
struct resource {
    const struct sp_admin_store *store;
    const struct sp_field_spec *fields;
    size_t nfields;
    check_fn check;         /* NULL: the field table says it all */
    struct sp_api_list list;   /* its list (ROW_LIST: its cursors' kind, core/cursor) */
    const char *user_id;    /* a user id field: a JSON number is its decimal text (§2) */
    /* A PATCH of row id with values f, before it is written (a refusal
     * that depends on the caller) and after it committed (what the
     * caller's connections hear of it); NULL: nothing. */
    enum sp_rc (*before_patch)(struct sp_req *r, long long id, const struct sp_table_value *f,
                               struct sp_problem *p);
    void (*after_patch)(struct sp_req *r, long long id, const struct sp_table_value *f);
};

/* A user id is "an integer as string or number" (shared API.md §2): a
 * number is read as its decimal text, so one field rule checks both. A
 * number json-c saturated is left to be refused as the wrong type. */
static void
user_id_as_text(struct sp_req *r, struct json_object *json, const char *field)
{
    struct json_object *v;
    if (field == NULL || !json_object_object_get_ex(json, field, &v) ||
        !json_object_is_type(v, json_type_int))
        return;
    int64_t n = json_object_get_int64(v);
    if (n == INT64_MAX || n == INT64_MIN)
        return;
    const char *text = sp_arena_sprintf(r->arena, "%lld", (long long)n);
    json_object_object_add(json, field, json_object_new_string(text));
}

/* The body against the resource's field table (required only on create),
 * then its own rules and its domain module's on the fields that passed:
 * every field error in one 422 (API.md §1). Not sp_api_read_body_for,
 * which stops at the field table's errors: these rules run on a refused
 * body too. id: the row a PATCH changes, 0 on a create. f gets the
 * column values. NULL when the body is refused. */
static struct json_object *
read_fields(struct sp_req *r, const struct resource *res, long long id, struct sp_field_value *v,
            struct sp_table_value *f, struct sp_problem *p)
{
    bool create = id == 0;
    struct json_object *json = sp_req_json(r, p);
    if (json == NULL)
        return NULL;
    const struct sp_field_spec *specs = sp_api_fields_for(r, create, res->fields, res->nfields);
    if (json_object_is_type(json, json_type_object))
        user_id_as_text(r, json, res->user_id);
    if (sp_json_validate(json, specs, res->nfields, v, p) != SP_OK && p->nerrors == 0)
        return NULL;   /* not an object */
    to_fields(r, json, res->fields, v, res->nfields, f);
    if (res->check != NULL)
        res->check(r, v, f, p);
    if (p->rc == SP_OK)
        return json;
    if (p->rc == SP_INVALID) {
        struct sp_ctx ctx = sp_api_ctx(r);
        sp_admin_store_check(&ctx, res->store, id, f, p);
    }
    return NULL;
}

/* A create's validated values, for the create step. */
struct create_input {
    const struct sp_admin_store *store;
    const struct sp_table_value *values;
    struct sp_chat_joins joins;   /* out: the chats a new agent took */
};

/* The create step, in the create protocol's transaction (API.md §1:
 * Idempotency-Key; 201 with the row and its Location, the collection's
 * route and the new id). */
static enum sp_rc
create_row(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
           struct sp_problem *p)
{
    struct create_input *in = input;
    struct sp_ctx ctx = sp_api_ctx(r);
    ctx.chat_joins = &in->joins;
    struct sp_table_row row;
    if (sp_admin_store_create(&ctx, in->store, in->values, &row, p) != SP_OK)
        return p->rc;
    sp_buf_puts(body, row.json);
    out->version = row.version;
    out->etag_id = row.id;
    out->location = sp_arena_sprintf(r->arena, "%s/%lld", r->route, row.id);
    return SP_OK;
}

/* Creates (201, through sp_api_create) or patches row :id (200) and
 * answers the row. A PATCH honours If-Match (the row's ETag, or *; 412
 * otherwise), checked after the body: a bad body is 422 whatever it. */
static enum sp_rc
save(struct sp_req *r, const struct resource *res, bool create, struct sp_problem *p)
{
    long long id = 0;
    if (!create && sp_api_id_param(r, &id, p) != SP_OK)
        return p->rc;
    struct sp_field_value *v = sp_arena_calloc(r->arena, res->nfields, sizeof(*v));
    struct sp_table_value *f = sp_arena_calloc(r->arena, res->nfields, sizeof(*f));
    if (read_fields(r, res, id, v, f, p) == NULL)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    if (create) {
        struct create_input in = {res->store, f, {0}};
        enum sp_rc rc = sp_api_create(r, create_row, &in, p);
        if (rc == SP_OK)
            sp_chat_access_publish_joins(&ctx, &in.joins);
        return rc;
    }
    struct sp_versions if_match;
    if (sp_api_if_match(r, id, &if_match, p) != SP_OK ||
        (res->before_patch != NULL && res->before_patch(r, id, f, p) != SP_OK))
        return p->rc;
    /* An agent back to work (or taking more chats) takes waiting chats,
     * which hear that it joined after the commit (API.md §7). */
    struct sp_chat_joins joins = {0};
    ctx.chat_joins = &joins;
    struct sp_table_row row;
    if (sp_admin_store_patch(&ctx, res->store, id, f, if_match, &row, p) != SP_OK)
        return p->rc;
    sp_chat_access_publish_joins(&ctx, &joins);
    /* The chats a deactivated agent left (their agent_left frames out,
     * its connections cut) go to whoever is free now (API.md §6). */
    struct sp_chat_joins routed = {0};
    ctx.chat_joins = &routed;
    sp_chat_route_returned(&ctx, &joins);
    sp_chat_access_publish_joins(&ctx, &routed);
    if (res->after_patch != NULL)
        res->after_patch(r, id, f);
    return respond_row(r, &row);
}

/* sp_admin_store_delete as sp_api_delete_by_id_of calls it (arg: the
 * store). */
static enum sp_rc
store_delete(struct sp_ctx *ctx, const void *arg, long long id, struct sp_versions if_match,
             struct sp_problem *p)
{
    return sp_admin_store_delete(ctx, arg, id, if_match, p);
}

/* GET …/:id: the row as the list shows it (the Location of a create),
 * with its ETag; 404 for no such row. */
static enum sp_rc
get_row(struct sp_req *r, const struct sp_admin_store *store, struct sp_problem *p)
{
    long long id;
    if (sp_api_id_param(r, &id, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_table_row row;
    if (sp_admin_store_get(&ctx, store, id, &row, p) != SP_OK)
        return p->rc;
    return respond_row(r, &row);
}

/* The routes of a resource share its handler: the router has already
 * matched the method against routes.c, which lists what each one allows. */
static enum sp_rc
serve(struct sp_req *r, const struct resource *res, struct sp_problem *p)
{
    switch (r->method) {
    case SP_POST: return save(r, res, true, p);
    case SP_PATCH: return save(r, res, false, p);
    case SP_DELETE: return sp_api_delete_by_id_of(r, store_delete, res->store, p);
    default:   /* GET, HEAD: one row by :id, or the list */
        return r->nparams > 0 ? get_row(r, res->store, p) : list(r, res->store, &res->list, p);
    }
}

/* --- categories ------------------------------------------------------------ */

static const struct sp_field_spec category_fields[SP_CAT_NFIELDS] = {
    [SP_CAT_SLUG] = {"slug", SP_FIELD_STRING, true, false, 1, 120, NULL, 0, 0},
    [SP_CAT_NAME] = {"name", SP_FIELD_STRING, true, false, 1, 0, NULL, 0, 0},  /* check_name */
    [SP_CAT_DESCRIPTION] = {"description", SP_FIELD_STRING, false, true, 0, 2000, NULL, 0, 0},
    [SP_CAT_IS_ACTIVE] = {"is_active", SP_FIELD_BOOL, false, false, 0, 0, NULL, 0, 0},
    [SP_CAT_ROUTING] = {"routing", SP_FIELD_ENUM, false, false, 0, 0, routings, 0, 0},
    [SP_CAT_TEAM] = {"team", SP_FIELD_STRING, false, true, 1, 100, NULL, 0, 0},
    [SP_CAT_SKILL] = {"required_skill", SP_FIELD_STRING, false, true, 1, SP_AGENT_SKILL_MAX,
                      NULL, 0, 0},
    [SP_CAT_DEFAULT_PRIORITY] = {"default_priority", SP_FIELD_ENUM, false, true, 0, 0, sp_priority_names,
                                 0, 0},
};

/* A name shown on one line of the admin pages, lists and logs: one line,
 * as a ticket's subject (domain/ticket_subject), trimmed, and at most
 * ADMIN_NAME_MAX characters as stored (the blanks around it do not count). */
#define ADMIN_NAME_MAX 200
static void
check_name(struct sp_req *r, const struct sp_field_value *v, struct sp_table_value *f,
           struct sp_problem *p)
{
    if (v->present)
        f->value = sp_ticket_subject_max(r->arena, "name", v->str, ADMIN_NAME_MAX, p);
}

/* A team as agents' and categories' hold it (domain/agents), so round
 * robin finds a category's agents whatever case each was written in. */
static void
check_team(struct sp_req *r, const struct sp_field_value *v, struct sp_table_value *f,
           struct sp_problem *p)
{
    if (v->present && (f->value = sp_agent_team(r->arena, v->str)) == NULL)
        sp_problem_field(p, "team", "invalid",
                         "must be a team: 1 to 100 characters, not blank, without control"
                         " characters or line breaks");
}

/* The slug names the category in URLs and rules: a-z, 0-9 and -, never
 * cleared (null is refused by the field table: slug is not nullable). */
static void
check_category(struct sp_req *r, const struct sp_field_value *v, struct sp_table_value *f,
               struct sp_problem *p)
{
    check_name(r, &v[SP_CAT_NAME], &f[SP_CAT_NAME], p);
    if (v[SP_CAT_SLUG].present && !sp_ascii_slug(v[SP_CAT_SLUG].str, 120))
        sp_problem_field(p, "slug", "invalid",
                         "must be 1 to 120 characters: " SP_ASCII_SLUG_RULE);
    check_team(r, &v[SP_CAT_TEAM], &f[SP_CAT_TEAM], p);
    /* A skill as an agent's skills[] hold it, so skill routing finds them. */
    if (v[SP_CAT_SKILL].present &&
        (f[SP_CAT_SKILL].value = sp_agent_skill(r->arena, v[SP_CAT_SKILL].str)) == NULL)
        sp_problem_field(p, "required_skill", "invalid",
                         "must be a skill: 1 to 64 characters, not blank, without control"
                         " characters or line breaks");
}

/* --- SLA policies ---------------------------------------------------------- */

static const struct sp_api_list sla_list = ROW_LIST("as");

enum sp_rc
sp_api_admin_sla_list(struct sp_req *r, struct sp_problem *p)
{
    return list(r, &sp_sla_policy_store, &sla_list, p);
}

/* GET …/:id: one policy as the list shows it, with the ETag a PUT's or
 * DELETE's If-Match takes (before, only a PUT or the list gave it). */
enum sp_rc
sp_api_admin_sla_get(struct sp_req *r, struct sp_problem *p)
{
    return get_row(r, &sp_sla_policy_store, p);
}

enum { SLA_PRIORITY, SLA_CATEGORY, SLA_FIRST, SLA_RESOLUTION, SLA_NFIELDS };

static const struct sp_field_spec sla_fields[SLA_NFIELDS] = {
    [SLA_PRIORITY] = {"priority", SP_FIELD_ENUM, true, false, 0, 0, sp_priority_names, 0, 0},
    [SLA_CATEGORY] = {"category", SP_FIELD_STRING, false, true, 1, 120, NULL, 0, 0},
    [SLA_FIRST] = {"first_response_minutes", SP_FIELD_INT, true, false, 1, 5256000, NULL, 0, 0},
    [SLA_RESOLUTION] = {"resolution_minutes", SP_FIELD_INT, true, false, 1, 5256000, NULL, 0, 0},
};

/* PUT upserts the policy of (priority, category) and answers it with its
 * ETag. With If-Match (checked after the body: a bad body is 422
 * whatever it) it only updates that policy, at the ETag's version (or
 * any, for *): 412 when it is at another one, or when there is none yet. */
enum sp_rc
sp_api_admin_sla_put(struct sp_req *r, struct sp_problem *p)
{
    struct sp_field_value v[SLA_NFIELDS];
    if (sp_api_read_fields(r, sla_fields, SLA_NFIELDS, v, p) == NULL)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_sla_policy_input in = {
        .priority = v[SLA_PRIORITY].str,
        .category = v[SLA_CATEGORY].present ? v[SLA_CATEGORY].str : NULL,
        .first_response_minutes = (long)v[SLA_FIRST].i,
        .resolution_minutes = (long)v[SLA_RESOLUTION].i,
    };
    /* The fields that were read are checked on, so one 422 lists every
     * field error (API.md §1; a missing one is reported already). */
    if (sp_sla_policy_check(&ctx, &in, p) != SP_OK)
        return p->rc;
    long long id = 0;
    struct sp_versions if_match = SP_VERSIONS_ANY;
    if (sp_req_header(r, "If-Match") != NULL &&
        (sp_sla_policy_current(&ctx, &in, &id, p) != SP_OK ||
         sp_api_if_match(r, id, &if_match, p) != SP_OK))
        return p->rc;
    struct sp_table_row row;
    if (sp_sla_policy_put(&ctx, &in, id, if_match, &row, p) != SP_OK)
        return p->rc;
    return respond_row(r, &row);
}

/* DELETE …/:id: a category's override goes, its tickets take the default;
 * If-Match as for the other admin rows. */
enum sp_rc
sp_api_admin_sla_delete(struct sp_req *r, struct sp_problem *p)
{
    return sp_api_delete_by_id(r, sp_sla_policy_delete, p);
}

/* --- priority rules ---------------------------------------------------------- */

static const struct sp_field_spec rule_fields[SP_RULE_NFIELDS] = {
    [SP_RULE_POSITION] = {"position", SP_FIELD_INT, false, false, 0, 1000000, NULL, 0, 0},
    [SP_RULE_NAME] = {"name", SP_FIELD_STRING, true, false, 1, 0, NULL, 0, 0},  /* check_name */
    [SP_RULE_IS_ACTIVE] = {"is_active", SP_FIELD_BOOL, false, false, 0, 0, NULL, 0, 0},
    [SP_RULE_CATEGORY] = {"category", SP_FIELD_STRING, false, true, 1, 120, NULL, 0, 0},
    [SP_RULE_TIER] = {"customer_tier", SP_FIELD_ENUM, false, true, 0, 0, sp_tier_names, 0, 0},
    [SP_RULE_PATTERN] = {"pattern", SP_FIELD_STRING, false, true, 1, SP_RULES_PATTERN_MAX, NULL,
                         0, 0},
    [SP_RULE_SENTIMENT_BELOW] = {"sentiment_below", SP_FIELD_NUMBER, false, true, 0, 0, NULL, -1,
                                 1},
    [SP_RULE_PRIORITY] = {"priority", SP_FIELD_ENUM, true, false, 0, 0, sp_priority_names, 0, 0},
};

/* sentiment_below's one range, whichever end a value missed (QA: 1.5
 * was told "from -1 to 1", though -1 is refused too). */
#define SENTIMENT_BELOW_RANGE                                                                  \
    "must be a number above -1 and at most 1: a ticket matches when its sentiment is strictly" \
    " below it, and no sentiment is below -1"

static void
check_rule(struct sp_req *r, const struct sp_field_value *v, struct sp_table_value *f,
           struct sp_problem *p)
{
    check_name(r, &v[SP_RULE_NAME], &f[SP_RULE_NAME], p);
    for (size_t i = 0; i < p->nerrors; i++)
        if (strcmp(p->errors[i].field, "sentiment_below") == 0 &&
            strcmp(p->errors[i].code, "out_of_range") == 0)
            snprintf(p->errors[i].message, sizeof(p->errors[i].message), "%s",
                     SENTIMENT_BELOW_RANGE);
    /* Compared strictly (sentiment < sentiment_below) and no sentiment
     * is below -1: such a rule could never match (QA: it was stored). */
    const struct sp_field_value *below = &v[SP_RULE_SENTIMENT_BELOW];
    if (below->present && below->d <= -1 && !sp_problem_refuses(p, "sentiment_below"))
        sp_problem_field(p, "sentiment_below", "out_of_range", SENTIMENT_BELOW_RANGE);
}

/* --- agents ---------------------------------------------------------------- */

static const struct sp_field_spec agent_fields[SP_AGENT_NFIELDS] = {
    [SP_AGENT_USER_ID] = {"user_id", SP_FIELD_STRING, true, false, 1, 64, NULL, 0, 0},
    /* no length here: the trimmed name's (sp_agent_display_name) */
    [SP_AGENT_DISPLAY_NAME] = {"display_name", SP_FIELD_STRING, false, true, 1, 0, NULL, 0, 0},
    [SP_AGENT_TEAM] = {"team", SP_FIELD_STRING, false, false, 1, 100, NULL, 0, 0},
    [SP_AGENT_SKILLS] = {"skills", SP_FIELD_LIST, false, false, 0, 50, NULL, 0, 0},
    [SP_AGENT_STATUS] = {"status", SP_FIELD_ENUM, false, false, 0, 0, sp_agent_status_names, 0, 0},
    [SP_AGENT_MAX_CHATS] = {"max_concurrent_chats", SP_FIELD_INT, false, false, 0, 100, NULL, 0,
                            0},
    [SP_AGENT_IS_ACTIVE] = {"is_active", SP_FIELD_BOOL, false, false, 0, 0, NULL, 0, 0},
};

/* skills[] travels as a JSON array (the SQL unpacks it), so any text
 * round-trips exactly; each item is the skill domain/agents makes of it
 * (trimmed, case folded, NFC), and the agent's rule says which lists
 * are skills (a duplicate is one in any case). NULL with a field error
 * per bad item (skills[i], as an article's tags[i]) when it is not one. */
static const char *
skills_json(struct sp_req *r, struct json_object *arr, struct sp_problem *p)
{
    size_t n = json_object_array_length(arr);
    const char **items = sp_arena_calloc(r->arena, n + 1, sizeof(*items));
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        bool text = json_object_is_type(e, json_type_string);
        if (text && sp_json_has_nul(e))
            continue;   /* a NULL item: sp_problem_check_items refuses its NUL */
        const char *skill = text ? sp_agent_skill(r->arena, json_object_get_string(e)) : NULL;
        items[i] = skill != NULL ? skill : "";
        if (skill != NULL)
            json_object_array_put_idx(arr, i, json_object_new_string(skill));
    }
    size_t before = p->nerrors;
    sp_problem_check_items(p, r->arena, &sp_agent_skills_rule, items, n);
    return p->nerrors == before ? sp_json_compact(arr, NULL) : NULL;
}

/* The display name agent :id (a PATCH's) has, which sent back is no
 * rename (§5 "Display names"); NULL on a create or for no such row (the
 * patch answers 404). */
static const char *
stored_name(struct sp_req *r)
{
    long long id = r->nparams > 0 ? sp_row_id_read(r->params[0]) : 0;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_agent a;
    struct sp_problem none;
    sp_problem_init(&none);
    return id > 0 && sp_agent_get(&ctx, id, &a, &none) == SP_OK ? a.display_name : NULL;
}

static void
check_agent(struct sp_req *r, const struct sp_field_value *v, struct sp_table_value *f,
            struct sp_problem *p)
{
    if (v[SP_AGENT_USER_ID].present && !sp_agent_user_id_ok(v[SP_AGENT_USER_ID].str))
        sp_problem_field(p, "user_id", "invalid",
                         "must be the user's id as in the JWT sub: an integer, as a string or"
                         " a number");
    if (v[SP_AGENT_SKILLS].present)
        f[SP_AGENT_SKILLS].value = skills_json(r, v[SP_AGENT_SKILLS].obj, p);
    check_team(r, &v[SP_AGENT_TEAM], &f[SP_AGENT_TEAM], p);
    if (v[SP_AGENT_DISPLAY_NAME].present)
        f[SP_AGENT_DISPLAY_NAME].value =
            sp_agent_display_name(r->arena, v[SP_AGENT_DISPLAY_NAME].str,
                                  sp_api_ctx(r).mail_from_name, stored_name(r), p);
}

/* Whether an agent's patch deactivates it. */
static bool
deactivates(const struct sp_table_value *f)
{
    const struct sp_table_value *active = &f[SP_AGENT_IS_ACTIVE];
    return active->set && active->value != NULL && strcmp(active->value, "false") == 0;
}

/* An admin deactivating its own row would lock itself out: every staff
 * request of a deactivated agent is 403 agent_deactivated, this API's
 * included (API.md §6), and no other admin may be left to undo it. */
static enum sp_rc
refuse_self_deactivation(struct sp_req *r, long long id, const struct sp_table_value *f,
                         struct sp_problem *p)
{
    struct sp_agent me;
    if (!deactivates(f) || sp_api_current_agent(r, &me, p) != SP_OK || me.id != id)
        return p->rc;
    return sp_problem_set(p, SP_CONFLICT, "cannot_deactivate_self",
                          "agent %lld is your own agent row: deactivated, you could no longer"
                          " use the admin API or pages to undo it; another admin may"
                          " deactivate it",
                          id);
}

/* A deactivated agent's live chat connections end, as an agent's and as
 * an admin's (it reconnects to a 403), once the deactivation committed. */
static void
disconnect_deactivated(struct sp_req *r, long long id, const struct sp_table_value *f)
{
    if (!deactivates(f))
        return;
    struct sp_ctx ctx = sp_api_ctx(r);
    sp_chat_access_revoke_agent(&ctx, id);
}

/* --- the resources ---------------------------------------------------------- */

enum { RES_CATEGORIES, RES_RULES, RES_AGENTS, RES_COUNT };

static const struct resource resources[RES_COUNT] = {
    [RES_CATEGORIES] = {&sp_category_store, category_fields, SP_CAT_NFIELDS, check_category,
                        ROW_LIST("ac"), NULL, NULL, NULL},
    [RES_RULES] = {&sp_rule_store, rule_fields, SP_RULE_NFIELDS, check_rule, ROW_LIST("ar"),
                   NULL, NULL, NULL},
    [RES_AGENTS] = {&sp_agent_store, agent_fields, SP_AGENT_NFIELDS, check_agent, ROW_LIST("ag"),
                    "user_id", refuse_self_deactivation, disconnect_deactivated},
};

enum sp_rc
sp_api_admin_categories(struct sp_req *r, struct sp_problem *p)
{
    return serve(r, &resources[RES_CATEGORIES], p);
}

enum sp_rc
sp_api_admin_rules(struct sp_req *r, struct sp_problem *p)
{
    return serve(r, &resources[RES_RULES], p);
}

enum sp_rc
sp_api_admin_agents(struct sp_req *r, struct sp_problem *p)
{
    return serve(r, &resources[RES_AGENTS], p);
}
