/*
 * webhooks: the webhook rows, their rules and SQL. See webhooks.h.
 *
 * The secret is sealed under a key bound to the row (aad
 * "webhook:secret:<id>"), so the id is taken from the sequence before the
 * row is written; a rotation moves the sealed current secret to
 * previous_secret_enc as it is, under the same aad.
 */
#include "domain/webhooks.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/url_guard.h"
#include "core/utf8.h"
#include "db/db.h"
#include "db/table.h"

const char *const sp_webhook_event_types[] = {
    "ticket.created",    "ticket.updated",     "ticket.message_created",
    "ticket.escalated",  "ticket.sla_warning", "ticket.sla_breached",
    "chat.session_created", "chat.transferred", NULL};

bool
sp_webhook_event_type_ok(const char *type)
{
    for (size_t i = 0; sp_webhook_event_types[i] != NULL; i++)
        if (strcmp(type, sp_webhook_event_types[i]) == 0)
            return true;
    return false;
}

/* The old secret is shown as signing only while it does. */
#define WEBHOOK_COLUMNS(C, SEP)                                                              \
    C(WC_ID, "w.id", int, id) SEP C(WC_URL, "w.url", str, url)                               \
    SEP C(WC_EVENTS, "array_to_json(w.events)", str, events_json)                            \
    SEP C(WC_DESCRIPTION, "w.description", str, description)                                 \
    SEP C(WC_IS_ACTIVE, "w.is_active", bool, is_active)                                      \
    SEP C(WC_REDACT_TEXT, "w.redact_text", bool, redact_text)                                \
    SEP C(WC_VERSION, "w.version", int, version)                                             \
    SEP C(WC_PREVIOUS_UNTIL,                                                                 \
          "support_ts(CASE WHEN w.previous_secret_until > now()"                             \
          " THEN w.previous_secret_until END)",                                              \
          str, previous_secret_until)                                                        \
    SEP C(WC_CREATED_AT, "support_ts(w.created_at)", str, created_at)                        \
    SEP C(WC_UPDATED_AT, "support_ts(w.updated_at)", str, updated_at)
#define WEBHOOK_COLS WEBHOOK_COLUMNS(SP_COL_SQL, ", ")
enum webhook_column { WEBHOOK_COLUMNS(SP_COL_ENUM, ) WC_COUNT };

SP_ROW_READER(read_webhook, struct sp_webhook, WEBHOOK_COLUMNS)

enum { WP_ID, WP_URL, WP_EVENTS, WP_DESCRIPTION, WP_DESCRIPTION_SET, WP_ACTIVE, WP_REDACT,
       WP_SECRET, WP_ACTOR, WP_IF_MATCH, WP_COUNT };
static const char *const write_names[WP_COUNT + 1] = {
    [WP_ID] = "id", [WP_URL] = "url", [WP_EVENTS] = "events",
    [WP_DESCRIPTION] = "description", [WP_DESCRIPTION_SET] = "description_set",
    [WP_ACTIVE] = "active", [WP_REDACT] = "redact_text", [WP_SECRET] = "secret",
    [WP_ACTOR] = "actor", [WP_IF_MATCH] = "if_match", NULL};

/* Versioned (sql/062): the admin writes bump the version, the ETag
 * If-Match compares; a write that misses its row or version is told
 * which (sp_table_missed), as the other admin rows'. Delivery bookkeeping
 * is in support_webhook_deliveries and never bumps it. */
static const struct sp_table webhook_table = {.name = "support_webhooks", .versioned = true};

static struct sp_stmt next_id_stmt = SP_STMT(
    "webhook_next_id", "SELECT nextval(pg_get_serial_sequence('support_webhooks', 'id'))", 0);

static struct sp_stmt create_stmt = SP_STMT_NAMED(
    "webhook_create",
    "INSERT INTO support_webhooks AS w (id, url, events, description, is_active, redact_text,"
    " secret_enc, created_by)"
    " VALUES (:id::bigint, :url, :events::text[], :description,"
    " coalesce(:active::boolean, true), coalesce(:redact_text::boolean, false), :secret, :actor)"
    " RETURNING " WEBHOOK_COLS,
    write_names, WP_COUNT);

/* Unset parameters (NULL) keep the column; a description is cleared by
 * a null that was given (description_set). As for tickets (docs/API.md
 * §5), a PATCH that changes nothing leaves updated_at and the version as
 * they were (a retry must not make another admin's ETag stale); with
 * if_match (NULL: any) only the row at one of its versions is written. */
#define WEBHOOK_CHANGED                                                                        \
    "(n.url, n.events, n.description, n.is_active, n.redact_text)"                             \
    " IS DISTINCT FROM (w.url, w.events, w.description, w.is_active, w.redact_text)"
static struct sp_stmt patch_stmt = SP_STMT_NAMED(
    "webhook_patch",
    "WITH n AS (SELECT w.id, coalesce(:url, w.url) AS url,"
    "  coalesce(:events::text[], w.events) AS events,"
    "  CASE WHEN :description_set::boolean THEN :description ELSE w.description END"
    "   AS description,"
    "  coalesce(:active::boolean, w.is_active) AS is_active,"
    "  coalesce(:redact_text::boolean, w.redact_text) AS redact_text"
    "  FROM support_webhooks w WHERE w.id = :id::bigint)"
    " UPDATE support_webhooks AS w SET url = n.url, events = n.events,"
    " description = n.description, is_active = n.is_active, redact_text = n.redact_text,"
    /* a new receiver is untried: the old one's failing turn is not its
     * own (sql/083; QA: the new healthy URL waited ~15 s) */
    " last_delivered_at = CASE WHEN n.url = w.url THEN w.last_delivered_at END,"
    " last_failed_at = CASE WHEN n.url = w.url THEN w.last_failed_at END,"
    " updated_at = CASE WHEN " WEBHOOK_CHANGED " THEN now() ELSE w.updated_at END,"
    " version = w.version + CASE WHEN " WEBHOOK_CHANGED " THEN 1 ELSE 0 END"
    " FROM n WHERE w.id = n.id"
    " AND (:if_match::integer[] IS NULL OR w.version = ANY(:if_match::integer[]))"
    " RETURNING " WEBHOOK_COLS,
    write_names, WP_COUNT);

/* One previous slot: the secret replaced ($5, as read before) becomes the
 * previous one, and a previous one still in its overlap is dropped. Only
 * while the current secret is still $5: the row lock orders concurrent
 * rotations, and the one that waited finds the secret it meant to
 * replace gone (PostgreSQL re-checks the WHERE on the row as the other
 * left it) and writes nothing. */
static struct sp_stmt rotate_stmt = SP_STMT(
    "webhook_rotate",
    "UPDATE support_webhooks AS w SET previous_secret_enc = w.secret_enc,"
    " previous_secret_until = now() + make_interval(secs => $3::integer),"
    " secret_enc = $2, updated_at = now(), version = w.version + 1"
    " WHERE w.id = $1::bigint AND ($4::integer[] IS NULL OR w.version = ANY($4::integer[]))"
    " AND w.secret_enc = $5"
    " RETURNING " WEBHOOK_COLS,
    5);

/* The webhook and its sealed current secret. */
static struct sp_stmt get_secret_stmt = SP_STMT_READ(
    "webhook_get_secret",
    "SELECT " WEBHOOK_COLS ", w.secret_enc FROM support_webhooks w WHERE w.id = $1::bigint", 1);

static struct sp_stmt get_stmt = SP_STMT_READ(
    "webhook_get", "SELECT " WEBHOOK_COLS " FROM support_webhooks w WHERE w.id = $1::bigint", 1);

static struct sp_stmt list_stmt = SP_STMT_READ(
    "webhook_list",
    "SELECT " WEBHOOK_COLS " FROM support_webhooks w"
    " WHERE $1::bigint = 0 OR w.id < $1::bigint ORDER BY w.id DESC LIMIT $2::integer",
    2);

/* --- checks ----------------------------------------------------------------- */

static const struct sp_list_rule events_rule = {
    .field = "events",
    .max = SP_WEBHOOK_EVENTS_MAX,
    .ok = sp_webhook_event_type_ok,
    .items = "event types",
    .bad_code = "unknown_event",
    .bad = "must be one of: ",
    .values = sp_webhook_event_types,
    .duplicate = "an event type is listed twice",
};

/* Each bad event type is its own error (events[i], as an article's
 * tags[i]); an empty list is one error on the list. */
static void
check_events(struct sp_arena *a, const struct sp_webhook_input *in, struct sp_problem *p)
{
    if (in->nevents == 0)
        sp_problem_field(p, "events", "required", "must list at least one event type");
    else
        sp_problem_check_items(p, a, &events_rule, in->events, in->nevents);
}

/* What an admin is told of each fault core/url_guard finds in the text
 * itself: the part to fix, not only the rule's summary. */
static const char *const url_syntax_messages[] = {
    [SP_URL_SYNTAX_TOO_LONG] = "must be at most 2048 bytes",
    [SP_URL_SYNTAX_SPACE] = "must not contain spaces, tabs or line breaks (percent-encode"
                            " them)",
    [SP_URL_SYNTAX_CHARACTER] = "must contain only printable ASCII characters (percent-encode"
                                " the others)",
    [SP_URL_SYNTAX_BACKSLASH] = "must not contain a backslash (write / between path segments,"
                                " %5C for a backslash)",
    [SP_URL_SYNTAX_FRAGMENT] = "must not contain a fragment",
    [SP_URL_SYNTAX_SCHEME] = "must be an https:// URL",
    [SP_URL_SYNTAX_USERINFO] = "must not contain user information",
    [SP_URL_SYNTAX_HOST] = "has an invalid host",
    [SP_URL_SYNTAX_PORT] = "has an invalid port (1 to 65535, written without leading zeros)",
};
_Static_assert(SP_WEBHOOK_URL_MAX == SP_URL_MAX, "the URL's limit is the guard's");

/* Always invalid_url (API.md §11), with the text's own fault, else the
 * guard's verdict on the scheme or the addresses its host resolves to. */
static void
check_url(const char *url, bool allow_loopback, struct sp_problem *p)
{
    struct sp_url_target t;
    enum sp_url_syntax fault = sp_url_read(url, &t.url);
    const char *message = url_syntax_messages[fault];
    if (fault == SP_URL_SYNTAX_OK) {
        enum sp_url_verdict v = sp_url_guard(url, allow_loopback, &t, NULL, 0);
        message = v == SP_URL_OK       ? NULL
                  : v == SP_URL_SCHEME ? url_syntax_messages[SP_URL_SYNTAX_SCHEME]
                                       : "must be an https:// URL whose host resolves to public"
                                         " addresses only";
    }
    if (message != NULL)
        sp_problem_field(p, "url", "invalid_url", message);
}

enum sp_rc
sp_webhook_check(struct sp_arena *a, const struct sp_webhook_input *in, bool create,
                 bool allow_loopback, struct sp_problem *p)
{
    if (in->url != NULL)
        check_url(in->url, allow_loopback, p);
    else if (create)
        sp_problem_field(p, "url", "required", "is required");
    if (in->events_set)
        check_events(a, in, p);
    else if (create)
        sp_problem_field(p, "events", "required", "is required");
    if (in->description_set && in->description != NULL &&
        sp_utf8_count(in->description, strlen(in->description)) > SP_WEBHOOK_DESCRIPTION_MAX)
        sp_problem_field(p, "description", "too_long", "must be at most 500 characters");
    return p->nerrors > 0 ? sp_problem_set(p, SP_INVALID, "validation_failed",
                                           SP_PROBLEM_BODY_DETAIL)
                          : SP_OK;
}

/* --- writes ----------------------------------------------------------------- */

const char *
sp_webhook_new_secret(struct sp_arena *a)
{
    char hex[65];
    sp_random_hex(hex, 32);
    return sp_arena_sprintf(a, SP_WEBHOOK_SECRET_PREFIX "%s", hex);
}

/* The secret sealed for row id; NULL with p filled when it cannot be. */
static const char *
seal(struct sp_ctx *ctx, const struct sp_webhook_env *env, long long id, const char *secret,
     struct sp_problem *p)
{
    if (env->crypto == NULL) {
        sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                       "webhook secrets need SUPPORT_ENCRYPTION_KEYS");
        return NULL;
    }
    const char *aad = sp_arena_sprintf(ctx->arena, "webhook:secret:%lld", id);
    const char *sealed = sp_crypto_encrypt(env->crypto, ctx->arena, secret, strlen(secret), aad);
    if (sealed == NULL)
        sp_problem_set(p, SP_ERROR, "internal", "cannot seal the webhook secret");
    return sealed;
}

static void
write_params(struct sp_arena *a, const struct sp_webhook_input *in, const char *params[WP_COUNT])
{
    params[WP_URL] = in->url;
    params[WP_EVENTS] = in->events_set ? sp_db_text_array(a, in->events, in->nevents) : NULL;
    /* A description of blanks says nothing: no description, null as
     * everywhere else, not "" (QA). */
    params[WP_DESCRIPTION] = in->description_set && in->description != NULL &&
                                     !sp_ascii_only(in->description, strlen(in->description),
                                                    SP_ASCII_SPACE)
                                 ? in->description
                                 : NULL;
    params[WP_DESCRIPTION_SET] = in->description_set ? "true" : "false";
    params[WP_ACTIVE] = in->is_active < 0 ? NULL : in->is_active ? "true" : "false";
    params[WP_REDACT] = in->redact_text < 0 ? NULL : in->redact_text ? "true" : "false";
}

enum sp_rc
sp_webhook_create(struct sp_ctx *ctx, const struct sp_webhook_env *env,
                  const struct sp_webhook_input *in, const char *actor, struct sp_webhook *out,
                  struct sp_problem *p)
{
    if (sp_webhook_check(ctx->arena, in, true, env->allow_loopback, p) != SP_OK)
        return p->rc;
    if (env->crypto == NULL)
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                              "webhook secrets need SUPPORT_ENCRYPTION_KEYS");
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &next_id_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    long long id = sp_db_int(r, 0, 0);
    const char *secret = sp_webhook_new_secret(ctx->arena);
    const char *params[WP_COUNT] = {0};
    write_params(ctx->arena, in, params);
    params[WP_ID] = sp_arena_sprintf(ctx->arena, "%lld", id);
    params[WP_ACTOR] = actor;
    if ((params[WP_SECRET] = seal(ctx, env, id, secret, p)) == NULL)
        return p->rc;
    r = sp_db_exec(ctx->db, ctx->arena, &create_stmt, params, p);
    if (r == NULL)
        return p->rc;
    read_webhook(r, 0, out);
    out->secret = secret;
    return SP_OK;
}

enum sp_rc
sp_webhook_get(struct sp_ctx *ctx, long long id, struct sp_webhook *out, struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", id)};
    return sp_db_one(ctx->db, ctx->arena, &get_stmt, params, "webhook", read_webhook, out, p);
}

/* The row an update of webhook id (text) at a version of if_match (none: any)
 * returned in r, or why there is none: 404 or 412. */
static enum sp_rc
written(struct sp_ctx *ctx, PGresult *r, const char *id, struct sp_versions if_match,
        struct sp_webhook *out, struct sp_problem *p)
{
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return sp_table_missed(ctx->db, ctx->arena, &webhook_table, id, if_match, p);
    read_webhook(r, 0, out);
    return SP_OK;
}

/* A PATCH that leaves the webhook active without a new URL checks the
 * stored one again: what the guard admits changes (DNS, the loopback
 * exception), and a webhook reactivated with a URL it now refuses had
 * each delivery refused later (url_refused; QA). A given URL is
 * sp_webhook_check's; deactivating is never refused. */
static void
check_stored_url(struct sp_ctx *ctx, const struct sp_webhook_env *env, long long id,
                 const struct sp_webhook_input *in, struct sp_problem *p)
{
    if (in->url != NULL || in->is_active == 0)
        return;
    struct sp_webhook w;
    struct sp_problem q;   /* none: the write answers 404 */
    sp_problem_init(&q);
    if (sp_webhook_get(ctx, id, &w, &q) == SP_OK && (in->is_active > 0 || w.is_active))
        check_url(w.url, env->allow_loopback, p);
}

enum sp_rc
sp_webhook_patch(struct sp_ctx *ctx, const struct sp_webhook_env *env, long long id,
                 struct sp_versions if_match, const struct sp_webhook_input *in,
                 struct sp_webhook *out, struct sp_problem *p)
{
    check_stored_url(ctx, env, id, in, p);
    if (sp_webhook_check(ctx->arena, in, false, env->allow_loopback, p) != SP_OK)
        return p->rc;
    const char *params[WP_COUNT] = {0};
    write_params(ctx->arena, in, params);
    params[WP_ID] = sp_arena_sprintf(ctx->arena, "%lld", id);
    params[WP_IF_MATCH] = sp_versions_param(ctx->arena, if_match);
    return written(ctx, sp_db_exec(ctx->db, ctx->arena, &patch_stmt, params, p), params[WP_ID],
                   if_match, out, p);
}

enum sp_rc
sp_webhook_delete(struct sp_ctx *ctx, long long id, struct sp_versions if_match,
                  struct sp_problem *p)
{
    return sp_table_delete(ctx->db, ctx->arena, &webhook_table, id, if_match, p);
}

/* QA: three rotations at once answered three secrets (versions 6, 7 and
 * 8), and the first was dropped by the third before it signed anything:
 * its admin held a secret no delivery would ever carry. Rotations at the
 * same moment are one now: each replaces the secret it read, and one
 * that finds it already replaced answers the secret that replaced it —
 * the one that signs — as a replayed rotation does. With If-Match the
 * other's new version makes it 412, as any stale write. */
enum sp_rc
sp_webhook_rotate_secret(struct sp_ctx *ctx, const struct sp_webhook_env *env, long long id,
                         struct sp_versions if_match, struct sp_webhook *out, struct sp_problem *p)
{
    const char *params[5] = {sp_arena_sprintf(ctx->arena, "%lld", id), NULL,
                             sp_arena_sprintf(ctx->arena, "%d", SP_WEBHOOK_OVERLAP_S),
                             sp_versions_param(ctx->arena, if_match), NULL};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &get_secret_stmt, params, p);
    if (sp_db_found(r, "webhook", p) != SP_OK)
        return p->rc;
    params[4] = sp_db_str(r, 0, WC_COUNT);
    const char *secret = sp_webhook_new_secret(ctx->arena);
    if ((params[1] = seal(ctx, env, id, secret, p)) == NULL)
        return p->rc;
    r = sp_db_exec(ctx->db, ctx->arena, &rotate_stmt, params, p);
    if (r != NULL && PQntuples(r) == 0 && if_match.n == 0)
        return sp_webhook_current_secret(ctx, env, id, out, p);   /* or 404: it is gone */
    if (written(ctx, r, params[0], if_match, out, p) != SP_OK)
        return p->rc;
    out->secret = secret;
    return SP_OK;
}

enum sp_rc
sp_webhook_current_secret(struct sp_ctx *ctx, const struct sp_webhook_env *env, long long id,
                          struct sp_webhook *out, struct sp_problem *p)
{
    if (env->crypto == NULL)
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                              "webhook secrets need SUPPORT_ENCRYPTION_KEYS");
    PGresult *r = sp_db_exec_id(ctx->db, ctx->arena, &get_secret_stmt, id, p);
    if (sp_db_found(r, "webhook", p) != SP_OK)
        return p->rc;
    read_webhook(r, 0, out);
    const char *aad = sp_arena_sprintf(ctx->arena, "webhook:secret:%lld", id);
    out->secret = sp_crypto_decrypt(env->crypto, ctx->arena, sp_db_str(r, 0, WC_COUNT), aad);
    if (out->secret == NULL)
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                              "no key of SUPPORT_ENCRYPTION_KEYS opens the webhook secret");
    return SP_OK;
}

enum sp_rc
sp_webhook_list(struct sp_ctx *ctx, long long after, int limit, struct sp_webhook **items,
                size_t *n, long long *next, struct sp_problem *p)
{
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", after),
                             sp_db_page_fetch(ctx->arena, limit)};
    *items = sp_db_page_read(ctx->db, ctx->arena, &list_stmt, params, limit, "id",
                             sizeof(**items), read_webhook, n, next, p);
    return *items != NULL ? SP_OK : p->rc;
}
