/*
 * ai_tools: the tools table and the one runner. See ai_tools.h.
 *
 * Schemas are JSON texts beside their tools, parsed per run on the
 * request's arena (a few hundred bytes each) and checked once by the unit
 * test (t/unit/test_json_schema: every schema is in core/json_schema's subset).
 * Booking ids and payment ids go into service paths percent-encoded;
 * "." and ".." are refused (dot segments would change the path).
 */
#include "domain/ai_tools.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/hex.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/json_schema.h"
#include "core/json_writer.h"
#include "core/redact.h"
#include "core/uri.h"
#include "db/db.h"
#include "domain/articles.h"
#include "domain/idempotency.h"
#include "domain/ticket_state.h"
#include "domain/tickets.h"

#define ROLE(r) (1u << (r))
#define EVERYONE (ROLE(SP_AI_CUSTOMER) | ROLE(SP_AI_AGENT) | ROLE(SP_AI_ADMIN))
#define STAFF (ROLE(SP_AI_AGENT) | ROLE(SP_AI_ADMIN))
#define ID_SCHEMA(what) "{\"type\":\"string\",\"minLength\":1,\"maxLength\":64," \
                        "\"description\":\"" what "\"}"

static const char *const role_names[SP_AI_ROLE_MAX] = {
    [SP_AI_CUSTOMER] = "customer", [SP_AI_AGENT] = "support_agent",
    [SP_AI_ADMIN] = "support_admin"};
/* The query log's caller_role (sql/080). */
static const char *const role_short_names[SP_AI_ROLE_MAX] = {
    [SP_AI_CUSTOMER] = "customer", [SP_AI_AGENT] = "agent", [SP_AI_ADMIN] = "admin"};

/* ---- one run ---------------------------------------------------------------- */

/* The detail of a 422 for a tool's arguments, %s the tool. */
#define ARGUMENTS_REFUSED "the arguments do not match the parameters of %s"

struct run {
    struct sp_ctx *ctx;
    const struct sp_ai_tools_env *env;
    const struct sp_ai_tool_caller *who;
    const char *tool;
    struct json_object *args;
    const char *service_key;      /* Idempotency-Key of a service write */
    const char *result;           /* JSON object text */
};

static const char *
arg_str(const struct run *rn, const char *name)
{
    struct json_object *v;
    return json_object_object_get_ex(rn->args, name, &v) ? json_object_get_string(v) : NULL;
}

static long long
arg_int(const struct run *rn, const char *name, long long def)
{
    struct json_object *v;
    return json_object_object_get_ex(rn->args, name, &v) ? json_object_get_int64(v) : def;
}

/* String argument name (required by the tool's schema) as one path
 * segment of a service's URL. */
static const char *
segment(const struct run *rn, const char *name)
{
    const char *s = arg_str(rn, name);
    return sp_uri_encode(rn->ctx->arena, s, strlen(s), false);
}

/* ---- kb_search -------------------------------------------------------------- */

/* A query of blanks is no search, as public search's q is not (API.md
 * §8; QA: the tool answered [] where search answers 422). */
static enum sp_rc
kb_search_rule(const struct run *rn, struct sp_problem *p)
{
    const char *q = arg_str(rn, "query");
    if (q == NULL || !sp_ascii_only(q, strlen(q), SP_ASCII_SPACE))
        return SP_OK;
    sp_problem_field(p, "arguments.query", "invalid", SP_ARTICLE_QUERY_INVALID);
    return sp_problem_set(p, SP_INVALID, "validation_failed", ARGUMENTS_REFUSED, "kb_search");
}

/* The search's refusal of the query (a negated word alone, "-draft") as
 * the tool's: its field is arguments.query, not the query string's q
 * (QA), the message search gives kept. */
static enum sp_rc
kb_search_refused(struct sp_problem *p)
{
    for (size_t i = 0; i < p->nerrors; i++)
        if (strcmp(p->errors[i].field, "q") == 0)
            p->errors[i].field = "arguments.query";
    return sp_problem_set(p, SP_INVALID, "validation_failed", ARGUMENTS_REFUSED, "kb_search");
}

/* url is the article's path in the JSON API (§8): no setting names the
 * help centre's public address (SUPPORT_PORTAL_URL is a ticket's page). */
static enum sp_rc
kb_search(struct run *rn, struct sp_problem *p)
{
    struct sp_article_filter f = {
        .q = arg_str(rn, "query"), .status = SP_ARTICLES_PUBLISHED, .ranked = true,
        .limit = (int)arg_int(rn, "limit", 5)};
    struct sp_article_page page;
    if (sp_article_list(rn->ctx, &f, &page, p) != SP_OK)
        return p->rc == SP_INVALID ? kb_search_refused(p) : p->rc;
    struct sp_buf b;
    sp_buf_init(&b, rn->ctx->arena, 1024);
    struct sp_jw w;
    sp_jw_begin_object(&w, &b);
    /* As public search's items say it (§8): no article holds every word
     * of the query, these hold some. */
    sp_jw_kstr(&w, "match", page.match_any ? "any" : "all");
    sp_jw_karray(&w, "articles");
    for (int i = 0; i < page.n; i++) {
        const struct sp_article *x = &page.items[i];
        sp_jw_object(&w);
        sp_jw_kstr(&w, "slug", x->slug);
        sp_jw_kstr(&w, "title", x->title);
        sp_jw_kstr(&w, "summary", x->summary);
        sp_jw_kstr(&w, "snippet", x->snippet);
        sp_jw_kfixed(&w, "score", x->rank, 4);
        sp_jw_kstr(&w, "url", sp_arena_sprintf(rn->ctx->arena, "/support/articles/%s", x->slug));
        sp_jw_end(&w);
    }
    sp_jw_end(&w);
    sp_jw_end(&w);
    rn->result = b.data;
    return SP_OK;
}

/* ---- ticket_status ---------------------------------------------------------- */

static enum sp_rc
ticket_status(struct run *rn, struct sp_problem *p)
{
    const char *id = arg_str(rn, "ticket_id");
    bool customer = rn->who->role == SP_AI_CUSTOMER;
    struct sp_ticket t;
    if (customer) {
        /* Another customer's ticket is one that does not exist (API.md §2). */
        char canon[SP_PUBLIC_ID_LEN + 1];   /* any case names it (core/ids.h) */
        if (!sp_public_id_read(id, canon))
            return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such ticket");
        if (sp_ticket_get_for_customer(rn->ctx, canon, rn->who->user_id, 0, 1, &t, p) != SP_OK)
            return p->rc;
    } else {
        struct sp_ticket_ref ref;
        sp_ticket_ref_parse(rn->ctx->arena, id, &ref);
        if (sp_ticket_get_for_agent(rn->ctx, ref.id, ref.public_id, 0, 1, &t, p) != SP_OK)
            return p->rc;
    }
    struct sp_buf b;
    sp_buf_init(&b, rn->ctx->arena, 512);
    struct sp_jw w;
    sp_jw_begin_object(&w, &b);
    if (!customer)
        sp_jw_kint(&w, "id", t.id);
    sp_jw_kstr(&w, "public_id", t.public_id);
    sp_jw_kstr(&w, "subject", t.subject);
    sp_jw_kstr(&w, "status", t.status);
    sp_jw_kstr(&w, "priority", t.priority);
    sp_jw_kstr(&w, "created_at", t.created_at);
    sp_jw_kstr(&w, "updated_at", t.updated_at);
    sp_jw_kstr(&w, "closed_at", t.closed_at);
    sp_jw_kstr(&w, "last_message_at", t.last_message_at);
    if (!customer) {
        sp_jw_kint_or_null(&w, "assigned_agent_id", t.assigned_agent_id);
        sp_jw_kstr(&w, "sla_due_at", t.sla_due_at);
        sp_jw_kbool(&w, "sla_breached", t.sla_breached);
    }
    sp_jw_end(&w);
    rn->result = b.data;
    return SP_OK;
}

/* ---- the booking and payment services ------------------------------------- */

/* One call; its answer becomes the result {"<member>": <the service's
 * object>}. 404 → not_found, 400/409/422 → dependency_refused (the
 * service said no: a slot taken, more than was paid), anything else but
 * 2xx with a JSON object → dependency_unavailable. */
static enum sp_rc
call(struct run *rn, const struct sp_service *svc, const char *method, const char *path,
     const char *body, const char *member, struct sp_problem *p)
{
    struct sp_arena *a = rn->ctx->arena;
    struct sp_service_reply reply;
    const char *key = body != NULL ? rn->service_key : NULL;
    const struct sp_service_limits lim = {false, rn->env->budget_ms, 0};
    if (sp_service_call_with(a, svc, &lim, method, path, body, key, &reply, p) != SP_OK)
        return p->rc;
    long st = reply.status;
    if (st == 404)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "the %s knows no such %s", svc->name,
                              member);
    if (st == 400 || st == 409 || st == 422)
        return sp_problem_set(p, SP_CONFLICT, "dependency_refused",
                              "the %s refused the request (HTTP %ld)", svc->name, st);
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    struct json_object *o = st >= 200 && st < 300
                                ? sp_json_parse(a, reply.body, reply.body_len, &ignored)
                                : NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object))
        return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                              "the %s answered HTTP %ld without a JSON object", svc->name, st);
    rn->result = sp_arena_sprintf(a, "{\"%s\":%s}", member, sp_json_compact(o, NULL));
    return SP_OK;
}

/* The body of a service write: the arguments plus who asked, and the
 * ticket it is about (the services keep their own audit). */
static const char *
write_body(const struct run *rn, const char *const *names, size_t n)
{
    struct sp_buf b;
    sp_buf_init(&b, rn->ctx->arena, 256);
    struct sp_jw w;
    sp_jw_begin_object(&w, &b);
    for (size_t i = 0; i < n; i++) {
        struct json_object *v;
        if (json_object_object_get_ex(rn->args, names[i], &v))
            sp_jw_kraw(&w, names[i], sp_json_compact(v, NULL));
    }
    sp_jw_kobject(&w, "requested_by");
    sp_jw_kstr(&w, "user_id", rn->who->user_id);
    sp_jw_kstr(&w, "role", role_names[rn->who->role]);
    sp_jw_end(&w);
    if (rn->who->ticket_id != 0)
        sp_jw_kint(&w, "support_ticket_id", rn->who->ticket_id);
    sp_jw_end(&w);
    return b.data;
}

static enum sp_rc
booking_lookup(struct run *rn, struct sp_problem *p)
{
    const char *path = sp_arena_sprintf(rn->ctx->arena, "/bookings/%s",
                                        segment(rn, "booking_id"));
    return call(rn, &rn->env->booking, "GET", path, NULL, "booking", p);
}

static enum sp_rc
booking_reschedule(struct run *rn, struct sp_problem *p)
{
    static const char *const fields[] = {"new_start", "reason"};
    const char *path = sp_arena_sprintf(rn->ctx->arena, "/bookings/%s/reschedule",
                                        segment(rn, "booking_id"));
    return call(rn, &rn->env->booking, "POST", path, write_body(rn, fields, 2), "booking", p);
}

/* API.md §9: agents refund up to the limit, above it only admins. */
static enum sp_rc
refund_rule(const struct run *rn, struct sp_problem *p)
{
    long long amount = arg_int(rn, "amount", 0);
    if (rn->who->role == SP_AI_AGENT && amount > rn->env->refund_agent_limit)
        return sp_problem_set(p, SP_FORBIDDEN, "forbidden",
                              "refunds above %lld need a support_admin",
                              rn->env->refund_agent_limit);
    return SP_OK;
}

static enum sp_rc
payment_refund(struct run *rn, struct sp_problem *p)
{
    static const char *const fields[] = {"amount", "reason", "note"};
    const char *path = sp_arena_sprintf(rn->ctx->arena, "/payments/%s/refunds",
                                        segment(rn, "payment_id"));
    return call(rn, &rn->env->payments, "POST", path, write_body(rn, fields, 3), "refund", p);
}

/* ---- the table -------------------------------------------------------------- */

enum { T_KB_SEARCH, T_TICKET_STATUS, T_BOOKING_LOOKUP, T_BOOKING_RESCHEDULE, T_PAYMENT_REFUND,
       T_COUNT };

static const struct sp_ai_tool tools[T_COUNT] = {
    [T_KB_SEARCH] = {
        "kb_search", "Search the published knowledge-base articles; returns the best matches"
                     " with their titles, summaries and links.",
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"query\"],"
        "\"properties\":{\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200,"
        "\"description\":\"words to look for\"},"
        "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10,\"default\":5}}}",
        EVERYONE},
    [T_TICKET_STATUS] = {
        "ticket_status", "The status, priority and last activity of a support ticket (customers:"
                         " their own tickets).",
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"ticket_id\"],"
        "\"properties\":{\"ticket_id\":" ID_SCHEMA("the ticket's public id (agents: or its id)")
        "}}",
        EVERYONE},
    [T_BOOKING_LOOKUP] = {
        "booking_lookup", "A booking as the booking service has it.",
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"booking_id\"],"
        "\"properties\":{\"booking_id\":" ID_SCHEMA("the booking's id") "}}",
        STAFF},
    [T_BOOKING_RESCHEDULE] = {
        "booking_reschedule", "Moves a booking to a new start time (the booking service checks"
                              " availability).",
        "{\"type\":\"object\",\"additionalProperties\":false,"
        "\"required\":[\"booking_id\",\"new_start\"],"
        "\"properties\":{\"booking_id\":" ID_SCHEMA("the booking's id") ","
        "\"new_start\":{\"type\":\"string\",\"format\":\"date-time\",\"maxLength\":40,"
        "\"description\":\"RFC 3339 date-time\"},"
        "\"reason\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":500}}}",
        STAFF},
    [T_PAYMENT_REFUND] = {
        "payment_refund", "Refunds (part of) a payment, in minor units of the payment's currency;"
                          " support agents up to SUPPORT_REFUND_AGENT_LIMIT, admins any amount.",
        "{\"type\":\"object\",\"additionalProperties\":false,"
        "\"required\":[\"payment_id\",\"amount\",\"reason\"],"
        "\"properties\":{\"payment_id\":" ID_SCHEMA("the payment's id") ","
        "\"amount\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100000000,"
        "\"description\":\"minor units (cents)\"},"
        "\"reason\":{\"type\":\"string\",\"enum\":[\"customer_request\",\"service_failure\","
        "\"duplicate_charge\",\"goodwill\",\"other\"]},"
        "\"note\":{\"type\":\"string\",\"maxLength\":500}}}",
        STAFF},
};

/* How each tool runs, in the order of tools[]. */
struct impl {
    enum sp_rc (*run)(struct run *rn, struct sp_problem *p);
    enum sp_rc (*rule)(const struct run *rn, struct sp_problem *p);   /* NULL: none */
    bool writes;                  /* a service write: gets an Idempotency-Key */
};

static const struct impl impls[T_COUNT] = {
    [T_KB_SEARCH] = {kb_search, kb_search_rule, false},
    [T_TICKET_STATUS] = {ticket_status, NULL, false},
    [T_BOOKING_LOOKUP] = {booking_lookup, NULL, false},
    [T_BOOKING_RESCHEDULE] = {booking_reschedule, NULL, true},
    [T_PAYMENT_REFUND] = {payment_refund, refund_rule, true},
};

const struct sp_ai_tool *
sp_ai_tools(size_t *n)
{
    *n = T_COUNT;
    return tools;
}

const struct sp_ai_tool *
sp_ai_tool_find(const char *id)
{
    for (size_t i = 0; i < T_COUNT; i++) {
        if (strcmp(tools[i].id, id) == 0)
            return &tools[i];
    }
    return NULL;
}

bool
sp_ai_tool_allowed(const struct sp_ai_tool *t, enum sp_ai_role role)
{
    return role < SP_AI_ROLE_MAX && (t->roles & ROLE(role)) != 0;
}

const char *
sp_ai_role_name(enum sp_ai_role role)
{
    return role < SP_AI_ROLE_MAX ? role_names[role] : NULL;
}

const char *
sp_ai_role_short_name(enum sp_ai_role role)
{
    return role < SP_AI_ROLE_MAX ? role_short_names[role] : NULL;
}

bool
sp_ai_tool_writes(const struct sp_ai_tool *t)
{
    return impls[t - tools].writes;
}

/* ---- logging a run ---------------------------------------------------------- */

enum { TL_SESSION, TL_TICKET, TL_USER, TL_MODEL, TL_TOOL, TL_PROMPT, TL_RESPONSE, TL_LATENCY,
       TL_ERROR, TL_ACTOR, TL_KEY, TL_ARGS, TL_ROLE, TL_QUERY, TL_COUNT };
static const char *const log_names[TL_COUNT + 1] = {
    [TL_SESSION] = "session", [TL_TICKET] = "ticket", [TL_USER] = "user", [TL_MODEL] = "model",
    [TL_TOOL] = "tool", [TL_PROMPT] = "prompt", [TL_RESPONSE] = "response",
    [TL_LATENCY] = "latency", [TL_ERROR] = "error", [TL_ACTOR] = "actor", [TL_KEY] = "key",
    [TL_ARGS] = "args", [TL_ROLE] = "role", [TL_QUERY] = "query", NULL};
/* The run's row and, with a ticket in context, its event: one statement.
 * A run confirming a query's proposal names that query in its row and
 * its event (query_interaction_id, sql/084), so an answer links to the
 * runs it caused — only the caller's own query in this context (the
 * primary key's probe): a client cannot tie its run to another's. */
static struct sp_stmt log_stmt = SP_STMT_NAMED(
    "ai_tool_log",
    "WITH i AS ("
    "  INSERT INTO support_ai_interactions (session_id, ticket_id, user_id, model, tool_id,"
    "   prompt, response, latency_ms, error, caller_role, query_interaction_id)"
    "  VALUES (:session::bigint, :ticket::bigint, :user, :model, :tool, :prompt, :response,"
    "   :latency::integer, :error, :role,"
    "   (SELECT q.id FROM support_ai_interactions q WHERE q.id = :query::bigint"
    "    AND q.tool_id IS NULL AND q.user_id = :user"
    "    AND q.ticket_id IS NOT DISTINCT FROM :ticket::bigint"
    "    AND q.session_id IS NOT DISTINCT FROM :session::bigint))"
    "  RETURNING id, query_interaction_id"
    "), e AS ("
    "  INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, performed_by,"
    "   metadata)"
    "  SELECT :ticket::bigint, 'ai_tool_run', :actor, :user,"
    "   jsonb_build_object('tool', :tool::text, 'interaction_id', i.id, 'model', :model::text,"
    "    'outcome', coalesce(:error::text, 'ok'), 'arguments', :args::jsonb)"
    "   || CASE WHEN :key::text IS NULL THEN '{}'::jsonb"
    "      ELSE jsonb_build_object('idempotency_key', :key::text) END"
    "   || CASE WHEN i.query_interaction_id IS NULL THEN '{}'::jsonb"
    "      ELSE jsonb_build_object('query_interaction_id', i.query_interaction_id) END"
    "  FROM i WHERE :ticket::bigint IS NOT NULL"
    ") SELECT id FROM i",
    log_names, TL_COUNT);

static enum sp_rc
log_run(struct run *rn, long latency_ms, const char *error, long long *id, struct sp_problem *p)
{
    struct sp_arena *a = rn->ctx->arena;
    const struct sp_ai_tool_caller *who = rn->who;
    const char *args = sp_json_compact(rn->args, NULL);
    const char *params[TL_COUNT] = {
        [TL_SESSION] = who->session_id ? sp_arena_sprintf(a, "%lld", who->session_id) : NULL,
        [TL_TICKET] = who->ticket_id ? sp_arena_sprintf(a, "%lld", who->ticket_id) : NULL,
        [TL_USER] = who->user_id, [TL_MODEL] = who->model, [TL_TOOL] = rn->tool,
        [TL_PROMPT] = sp_redact(a, args, strlen(args), NULL),
        [TL_RESPONSE] = rn->result ? sp_redact(a, rn->result, strlen(rn->result), NULL) : NULL,
        [TL_LATENCY] = sp_arena_sprintf(a, "%ld", latency_ms), [TL_ERROR] = error,
        [TL_ACTOR] = who->actor_type, [TL_KEY] = rn->service_key, [TL_ARGS] = args,
        [TL_ROLE] = sp_ai_role_short_name(who->role),
        [TL_QUERY] = who->query_interaction_id
                         ? sp_arena_sprintf(a, "%lld", who->query_interaction_id) : NULL};
    PGresult *r = sp_db_exec(rn->ctx->db, a, &log_stmt, params, p);
    if (r == NULL)
        return p->rc;
    *id = sp_db_int(r, 0, 0);
    return SP_OK;
}

/* ---- the runner ------------------------------------------------------------- */

/* A write's Idempotency-Key for the service: from the client's key when
 * it sent one (its retry reaches the service as the same write), else
 * fresh (the service client's own retries still share it). */
static const char *
service_key(struct sp_arena *a, const struct sp_ai_tool_caller *who, const char *tool)
{
    if (who->idempotency_key == NULL) {
        char hex[33];
        sp_random_hex(hex, 16);
        return sp_arena_sprintf(a, "tool-%s", hex);
    }
    const char *seed = sp_arena_sprintf(a, "%s\x1f%s\x1f%s", sp_party_key(a, who->owner),
                                        tool, who->idempotency_key);
    const char *h = sp_crypto_sha256_hex(a, seed, strlen(seed));
    return sp_arena_sprintf(a, "tool-%.40s", h ? h : "");
}

/* The key row of a write with the client's key holds no answer: there
 * is no replay, the service de-duplicates (see claim_key). */
static enum sp_rc
claimed(struct sp_ctx *ctx, void *arg, struct sp_idem_record *answer, struct sp_problem *p)
{
    (void)ctx, (void)arg, (void)p;
    answer->status = 200;
    answer->body = "";
    return SP_OK;
}

/* API.md §1 for a write with the client's Idempotency-Key: the key is
 * claimed for this tool, context and arguments (sp_idem_run, the key
 * table of every create). The same request again runs again, and reaches
 * the service with the same derived key; the key with another tool,
 * context or arguments is 422 idempotency_key_reused and calls nothing. */
static enum sp_rc
claim_key(const struct run *rn, struct sp_problem *p)
{
    const struct sp_ai_tool_caller *who = rn->who;
    if (who->idempotency_key == NULL)
        return SP_OK;
    const char *req = sp_arena_sprintf(rn->ctx->arena, "ai_tool\x1f%s\x1f%lld\x1f%lld\x1f%s",
                                       rn->tool, who->ticket_id, who->session_id,
                                       sp_json_compact(rn->args, NULL));
    const char *h = sp_crypto_sha256_hex(rn->ctx->arena, req, strlen(req));
    if (h == NULL)
        return sp_problem_set(p, SP_ERROR, "internal", "cannot hash the request");
    unsigned char hash[32];
    for (size_t i = 0; i < 32; i++)
        hash[i] = (unsigned char)(sp_hex_value((unsigned char)h[2 * i]) << 4 |
                                  sp_hex_value((unsigned char)h[2 * i + 1]));
    const struct sp_idem_command cmd = {claimed, NULL, NULL};
    struct sp_idem_record answer = {0, NULL, NULL, NULL};
    bool replayed;
    return sp_idem_run(rn->ctx, who->owner, who->idempotency_key, hash, &cmd, &answer,
                       &replayed, p);
}

/* The arguments that become a path segment of a service's URL: "." or
 * ".." there is a dot segment, which URL resolution (libcurl's too)
 * removes, so "/payments/../refunds" would reach "/refunds". The schema
 * subset has no pattern: refused here, as a field error of the same 422. */
static enum sp_rc
path_ids_valid(const struct run *rn, struct sp_problem *p)
{
    static const char *const names[] = {"booking_id", "payment_id"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *s = arg_str(rn, names[i]);
        if (s != NULL && (strcmp(s, ".") == 0 || strcmp(s, "..") == 0))
            sp_problem_field(p, sp_arena_sprintf(rn->ctx->arena, "arguments.%s", names[i]),
                             "invalid", "may not be \".\" or \"..\"");
    }
    return p->rc == SP_INVALID ? SP_INVALID : SP_OK;
}

/* Everything before the run: found, allowed, valid, within its rule. */
static enum sp_rc
admit(struct run *rn, const struct sp_ai_tool **t, struct sp_problem *p)
{
    *t = sp_ai_tool_find(rn->tool);
    if (*t == NULL)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such tool");
    if (!sp_ai_tool_allowed(*t, rn->who->role))
        return sp_problem_set(p, SP_FORBIDDEN, "forbidden", "the %s role may not run %s",
                              sp_ai_role_name(rn->who->role), rn->tool);
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    struct json_object *schema = sp_json_parse(rn->ctx->arena, (*t)->parameters,
                                               strlen((*t)->parameters), &ignored);
    if (schema == NULL)
        return sp_problem_set(p, SP_ERROR, "internal", "the schema of %s does not parse",
                              rn->tool);
    if (sp_json_schema_validate(rn->ctx->arena, schema, rn->args, "arguments", p) != SP_OK ||
        path_ids_valid(rn, p) != SP_OK)
        return sp_problem_set(p, SP_INVALID, "validation_failed", ARGUMENTS_REFUSED, rn->tool);
    const struct impl *how = &impls[*t - tools];
    return how->rule != NULL ? how->rule(rn, p) : SP_OK;
}

/* args, or {} for none (NULL). */
static struct json_object *
args_or_none(struct sp_ctx *ctx, struct json_object *args)
{
    if (args != NULL)
        return args;
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    return sp_json_parse(ctx->arena, "{}", 2, &ignored);
}

enum sp_rc
sp_ai_tool_check(struct sp_ctx *ctx, const struct sp_ai_tools_env *env,
                 const struct sp_ai_tool_caller *who, const char *tool_id,
                 struct json_object *args, struct sp_problem *p)
{
    struct run rn = {ctx, env, who, tool_id, args_or_none(ctx, args), NULL, NULL};
    const struct sp_ai_tool *t;
    return admit(&rn, &t, p);
}

enum sp_rc
sp_ai_tool_run(struct sp_ctx *ctx, const struct sp_ai_tools_env *env,
               const struct sp_ai_tool_caller *who, const char *tool_id,
               struct json_object *args, struct sp_ai_tool_result *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    struct run rn = {ctx, env, who, tool_id, args_or_none(ctx, args), NULL, NULL};
    const struct sp_ai_tool *t;
    if (admit(&rn, &t, p) != SP_OK)
        return p->rc;
    const struct impl *e = &impls[t - tools];
    if (e->writes && claim_key(&rn, p) != SP_OK)
        return p->rc;
    if (e->writes)
        rn.service_key = service_key(ctx->arena, who, tool_id);
    int64_t t0 = sp_clock_mono_us();
    enum sp_rc rc = e->run(&rn, p);
    long latency_ms = (long)((sp_clock_mono_us() - t0) / 1000);
    struct sp_problem logp;
    sp_problem_init(&logp);
    long long id = 0;
    if (log_run(&rn, latency_ms, rc == SP_OK ? NULL : (p->code ? p->code : "failed"), &id,
                &logp) != SP_OK) {
        /* A run that changed something elsewhere must not look failed to
         * the caller for want of its log row: the error is logged. */
        if (rc == SP_OK && !e->writes)
            return sp_problem_set(p, logp.rc, logp.code ? logp.code : "internal", "%s",
                                  logp.detail);
    }
    out->interaction_id = id;   /* a failed run has its row too */
    if (rc != SP_OK)
        return rc;
    out->tool = t->id;
    out->result = rn.result;
    return SP_OK;
}
