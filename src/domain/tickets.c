/*
 * tickets: customer-side ticket operations and their SQL. See tickets.h.
 */
#include "domain/tickets.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/sanitize.h"
#include "core/tier.h"
#include "db/db.h"
#include "domain/agents.h"
#include "domain/categories.h"
#include "domain/routing.h"
#include "domain/rules.h"
#include "domain/sentiment.h"
#include <json-c/json.h>
#include "domain/ticket_route.h"
#include "domain/ticket_state.h"

const char *const sp_source_names[SP_SOURCE_MAX + 1] = {"web", "email", "chat", NULL};

/* The columns every ticket read returns: one list makes both the SELECT
 * list and the enum sp_ticket_read_row() reads by, so a column added,
 * removed or moved here moves its index with it. The customer view
 * ignores the agent-only ones. */
#define TICKET_COLUMNS(C, SEP)                                                                     \
    C(TC_ID, "t.id", int, id) SEP C(TC_PUBLIC_ID, "t.public_id", str, public_id) SEP               \
    C(TC_CUSTOMER_ID, "t.customer_id", str, customer_id) SEP                                       \
    C(TC_SUBJECT, "t.subject", str, subject) SEP                                                   \
    C(TC_DESCRIPTION, "t.description", str, description) SEP                                       \
    C(TC_STATUS, "t.status", str, status) SEP C(TC_PRIORITY, "t.priority", str, priority) SEP      \
    C(TC_SOURCE, "t.source", str, source) SEP C(TC_CATEGORY, "c.slug", str, category) SEP          \
    C(TC_PROVIDER_ID, "t.provider_id", str, provider_id) SEP                                       \
    C(TC_BOOKING_ID, "t.booking_id", str, booking_id) SEP                                          \
    C(TC_METADATA, "t.metadata", str, metadata_json) SEP                                           \
    C(TC_CREATED_AT, "support_ts(t.created_at)", str, created_at) SEP                              \
    C(TC_UPDATED_AT, "support_ts(t.updated_at)", str, updated_at) SEP                              \
    C(TC_CLOSED_AT, "support_ts(t.closed_at)", str, closed_at) SEP                                 \
    C(TC_LAST_MESSAGE_AT, "support_ts(t.last_message_at)", str, last_message_at) SEP               \
    C(TC_VERSION, "t.version", int, version) SEP                                                   \
    C(TC_MESSAGE_COUNT, "t.message_count", int, message_count) SEP                                 \
    C(TC_ASSIGNED_AGENT_ID, "t.assigned_agent_id", int, assigned_agent_id) SEP                     \
    C(TC_SLA_DUE_AT, "support_ts(t.sla_due_at)", str, sla_due_at) SEP                              \
    C(TC_FIRST_RESPONSE_DUE_AT, "support_ts(t.first_response_due_at)", str,                       \
      first_response_due_at) SEP                                                                   \
    C(TC_FIRST_RESPONDED_AT, "support_ts(t.first_responded_at)", str, first_responded_at) SEP      \
    C(TC_RESOLUTION_DUE_AT, "support_ts(t.resolution_due_at)", str, resolution_due_at) SEP         \
    C(TC_ESCALATED_AT, "support_ts(t.escalated_at)", str, escalated_at) SEP                        \
    C(TC_SLA_PAUSED, "t.sla_paused_at IS NOT NULL", bool, sla_paused) SEP                          \
    C(TC_SLA_BREACHED, SP_TICKET_SLA_BREACHED("t"), bool, sla_breached) SEP                        \
    C(TC_SENTIMENT, "round(t.sentiment::numeric, 3)", str, sentiment) SEP                          \
    C(TC_PRIORITY_RULE, "pr.name", str, priority_rule) SEP                                         \
    C(TC_CONTACT_NAME, "ct.name_enc", str, contact_name_enc) SEP                                   \
    C(TC_CONTACT_EMAIL, "ct.email_enc", str, contact_email_enc) SEP                                \
    C(TC_CONTACT_PHONE, "ct.phone_enc", str, contact_phone_enc) SEP                                \
    C(TC_CONTACT_TIER, "ct.tier", str, contact_tier) SEP                                           \
    C(TC_EMAIL_SUPPRESSED, "EXISTS (SELECT 1 FROM support_mail_suppressions ms"                    \
      " WHERE ms.email_index = ct.email_index)", bool, email_suppressed) SEP                       \
    C(TC_CHAT_SESSION, "cs.public_id", str, chat_session_id)
#define TICKET_COLS TICKET_COLUMNS(SP_COL_SQL, ", ")
enum ticket_column { TICKET_COLUMNS(SP_COL_ENUM, ) TC_COUNT };
_Static_assert(TC_COUNT == SP_TICKET_NCOLS, "SP_TICKET_NCOLS is the length of TICKET_COLUMNS");
#define TICKET_JOINS                                                                \
    " LEFT JOIN support_categories c ON c.id = t.category_id"                       \
    " LEFT JOIN support_priority_rules pr ON pr.id = t.priority_rule_id"            \
    " LEFT JOIN support_contacts ct ON ct.customer_id = t.customer_id"              \
    " LEFT JOIN support_chat_sessions cs ON cs.id = t.chat_session_id"
/* (cs: the chat's public id, agents' chat_session_id. A primary-key probe
 * per shown row, as the others: the queue joins only its page, queue.c.) */
#define TICKET_NCOLS SP_TICKET_NCOLS

const char sp_ticket_columns[] = TICKET_COLS;
const char sp_ticket_joins[] = TICKET_JOINS;

/* A message's columns, after a ticket's (same scheme). */
/* The message id is named message_id: the ticket's id comes first in a
 * row, and the messages page is keyed by the message's (sp_db_page). */
#define MESSAGE_COLUMNS(C, SEP)                                                            \
    C(MC_ID, "m.id AS message_id", int, id) SEP                                            \
    C(MC_SENDER_TYPE, "m.sender_type", str, sender_type) SEP                               \
    C(MC_SENDER_ID, "m.sender_id", str, sender_id) SEP                                     \
    C(MC_SENDER_NAME, SP_MESSAGE_SENDER_NAME, str, sender_name) SEP                        \
    C(MC_BODY, "m.body", str, body) SEP                                                    \
    C(MC_ATTACHMENTS, "m.attachments", str, attachments_json) SEP                          \
    C(MC_IS_INTERNAL, "m.is_internal", bool, is_internal) SEP                              \
    C(MC_CREATED_AT, "support_ts(m.created_at)", str, created_at)
#define MESSAGE_COLS MESSAGE_COLUMNS(SP_COL_SQL, ", ")
enum message_column { MESSAGE_COLUMNS(SP_COL_ENUM, ) MC_COUNT };

/* The category (if any), the active priority rules and the SLA policies
 * that may apply, in one round trip: the category is joined here rather
 * than read through sp_category_by_slug, under the same rule. Its columns,
 * in the order of the SELECT: */
enum intake_column {
    IC_CATEGORY_ID, IC_DEFAULT_PRIORITY, IC_ROUTING, IC_TEAM, IC_SKILL, IC_RULES, IC_SLA,
    IC_STORED_TIER
};
static struct sp_stmt intake_stmt = SP_STMT_READ(
    "ticket_intake",
    "SELECT c.id, c.default_priority, c.routing, c.team, c.required_skill,"
    " (SELECT coalesce(json_agg(json_build_object('id', r.id, 'version', r.version,"
    "    'name', r.name, 'category_id', coalesce(r.category_id, 0),"
    "    'customer_tier', r.customer_tier, 'pattern', r.pattern,"
    "    'sentiment_below', r.sentiment_below, 'priority', r.priority)"
    "    ORDER BY r.position, r.id), '[]')::text"
    "  FROM support_priority_rules r WHERE r.is_active)"
    " , " SP_SLA_POLICIES_JSON("c.id") ","
    " (SELECT ct.tier FROM support_contacts ct WHERE ct.customer_id = $2)"
    " FROM (SELECT 1) AS one"
    " LEFT JOIN support_categories c ON " SP_CATEGORY_ACTIVE_SLUG("c", "$1"),
    2);

/* The create statement's parameters, by name (SP_STMT_NAMED). */
enum create_param {
    CP_PUBLIC_ID, CP_CUSTOMER_ID, CP_CATEGORY_ID, CP_SOURCE, CP_SUBJECT, CP_DESCRIPTION,
    CP_PROVIDER_ID, CP_BOOKING_ID, CP_METADATA, CP_PRIORITY, CP_SENTIMENT, CP_RULE_ID,
    CP_ASSIGNEE, CP_FIRST_RESPONSE_DUE, CP_RESOLUTION_DUE, CP_SLA_DUE, CP_BREACH_CHECK, CP_NOW,
    CP_FIRST_RESPONDED, CP_EVENTS, CP_OUTBOX, CP_CHAT_SESSION_ID, CP_CONTACT, CP_CONTACT_NAME,
    CP_CONTACT_EMAIL, CP_CONTACT_PHONE, CP_CONTACT_INDEX, CP_CONTACT_TIER, CP_CONTACT_FINGERPRINT,
    CP_COUNT
};

static const char *const create_params[CP_COUNT + 1] = {
    [CP_PUBLIC_ID] = "public_id", [CP_CUSTOMER_ID] = "customer_id",
    [CP_CATEGORY_ID] = "category_id", [CP_SOURCE] = "source", [CP_SUBJECT] = "subject",
    [CP_DESCRIPTION] = "description", [CP_PROVIDER_ID] = "provider_id",
    [CP_BOOKING_ID] = "booking_id", [CP_METADATA] = "metadata", [CP_PRIORITY] = "priority",
    [CP_SENTIMENT] = "sentiment", [CP_RULE_ID] = "rule_id", [CP_ASSIGNEE] = "assignee",
    [CP_FIRST_RESPONSE_DUE] = "first_response_due_ms", [CP_RESOLUTION_DUE] = "resolution_due_ms",
    [CP_SLA_DUE] = "sla_due_ms", [CP_BREACH_CHECK] = "sla_breach_check_ms", [CP_NOW] = "now_ms",
    [CP_FIRST_RESPONDED] = "first_responded_ms", [CP_EVENTS] = "events",
    [CP_OUTBOX] = "outbox", [CP_CHAT_SESSION_ID] = "chat_session_id", [CP_CONTACT] = "contact",
    [CP_CONTACT_NAME] = "contact_name", [CP_CONTACT_EMAIL] = "contact_email",
    [CP_CONTACT_PHONE] = "contact_phone", [CP_CONTACT_INDEX] = "contact_email_index",
    [CP_CONTACT_TIER] = "contact_tier", [CP_CONTACT_FINGERPRINT] = "contact_fingerprint", NULL,
};

static struct sp_stmt create_stmt = SP_STMT_NAMED(
    "ticket_create",
    /* the customer's contact (SP_CONTACT_UPSERT_SQL) in the same round
     * trip. The ticket's columns below read the contact as it was before
     * the statement: only the customer view, which shows no contact,
     * renders this statement's ticket */
    "WITH cu AS ("
    SP_CONTACT_UPSERT_SQL(":customer_id", ":contact_name", ":contact_email", ":contact_phone",
                          ":contact_email_index", ":contact_tier", ":contact_fingerprint",
                          ":contact::boolean")
    "), t AS ("
    "  INSERT INTO support_tickets (public_id, customer_id, category_id, source, subject,"
    "    description, provider_id, booking_id, metadata, message_count, last_message_at,"
    "    priority, sentiment, priority_rule_id, assigned_agent_id, first_response_due_at,"
    "    resolution_due_at, sla_due_at, sla_breach_check_at, created_at, updated_at,"
    "    chat_session_id, search, first_responded_at, left_to_routing)"
    "  VALUES (:public_id, :customer_id, nullif(:category_id::bigint, 0), :source, :subject,"
    "    :description, :provider_id::bigint, :booking_id, coalesce(:metadata::jsonb, '{}'), 1,"
    "    support_from_ms(:now_ms::bigint), :priority, :sentiment::real,"
    "    nullif(:rule_id::bigint, 0), nullif(:assignee::bigint, 0),"
    "    support_from_ms(:first_response_due_ms::bigint),"
    "    support_from_ms(:resolution_due_ms::bigint), support_from_ms(:sla_due_ms::bigint),"
    "    support_from_ms(:sla_breach_check_ms::bigint),"
    "    support_from_ms(:now_ms::bigint), support_from_ms(:now_ms::bigint),"
    "    nullif(:chat_session_id::bigint, 0), support_ticket_search(:subject, :description),"
    "    support_from_ms(nullif(:first_responded_ms::bigint, 0)),"
    /* nobody free (or a manual category): routing may still assign it
     * (domain/ticket_route.h) */
    "    :assignee::bigint = 0)"
    "  ON CONFLICT (public_id) DO NOTHING"
    "  RETURNING *"
    "), m AS ("
    "  INSERT INTO support_ticket_messages (ticket_id, sender_type, sender_id, body,"
    "    created_at, updated_at)"
    "  SELECT id, 'customer', customer_id, description, created_at, created_at FROM t"
    "  RETURNING id, ticket_id, sender_type, sender_id, body, attachments, is_internal,"
    "    created_at"
    "), e AS ("
    "  INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, performed_by,"
    "    metadata, created_at, updated_at)"
    "  SELECT t.id, x.event_type, x.actor_type, x.performed_by, x.metadata, t.created_at,"
    "    t.created_at"
    "  FROM t, jsonb_to_recordset(:events::jsonb)"
    "    AS x(event_type text, actor_type text, performed_by text, metadata jsonb)"
    "), o AS ("
    "  INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id, payload)"
    "  SELECT x.kind, x.event_type, x.channel, x.recipient, t.id,"
    "    x.payload || jsonb_build_object('ticket_id', t.id, 'public_id', t.public_id)"
    /* the ticket.created webhook names the chat it comes from (the
     * stored public id, as the agent view shows it; null: none) */
    "    || CASE WHEN x.kind = 'webhook' AND x.event_type = 'ticket.created'"
    "       THEN jsonb_build_object('chat_session_id', (SELECT s.public_id"
    "         FROM support_chat_sessions s WHERE s.id = t.chat_session_id))"
    "       ELSE '{}' END"
    "  FROM t, jsonb_to_recordset(:outbox::jsonb)"
    "    AS x(kind text, event_type text, channel text, recipient text, payload jsonb)"
    ")"
    " SELECT " TICKET_COLS ", " MESSAGE_COLS
    " FROM t" TICKET_JOINS ", m",
    create_params, CP_COUNT);

static struct sp_stmt get_stmt = SP_STMT_READ(
    "ticket_get_customer",
    /* The ticket's columns (joins, formatted times) are computed once and
     * only copied onto each message row. */
    "WITH one AS MATERIALIZED ("
    "  SELECT " TICKET_COLS " FROM support_tickets t" TICKET_JOINS
    "  WHERE t.public_id = $1 AND t.customer_id = $2"
    ")"
    " SELECT one.*, " MESSAGE_COLS " FROM one"
    " LEFT JOIN LATERAL ("
    "   SELECT * FROM support_ticket_messages m"
    "   WHERE m.ticket_id = one.id AND NOT m.is_internal AND m.id > $3::bigint"
    "   ORDER BY m.id LIMIT $4::int"
    " ) m ON true"
    " ORDER BY m.id",
    4);

static struct sp_stmt get_agent_stmt = SP_STMT_READ(
    "ticket_get_agent",
    "WITH one AS MATERIALIZED ("
    "  SELECT " TICKET_COLS " FROM support_tickets t" TICKET_JOINS
    "  WHERE t.id = $1::bigint OR t.public_id = $2"
    ")"
    " SELECT one.*, " MESSAGE_COLS " FROM one"
    " LEFT JOIN LATERAL ("
    "   SELECT * FROM support_ticket_messages m"
    "   WHERE m.ticket_id = one.id AND m.id > $3::bigint"
    "   ORDER BY m.id LIMIT $4::int"
    " ) m ON true"
    " ORDER BY m.id",
    4);

#define EVENT_COLUMNS(C, SEP)                                                 \
    C(EC_ID, "id", int, id) SEP C(EC_TYPE, "event_type", str, event_type) SEP \
    C(EC_ACTOR_TYPE, "actor_type", str, actor_type) SEP                       \
    C(EC_PERFORMED_BY, "performed_by", str, performed_by) SEP                 \
    C(EC_METADATA, "metadata", str, metadata_json) SEP                        \
    C(EC_CREATED_AT, "support_ts(created_at)", str, created_at)
enum event_column { EVENT_COLUMNS(SP_COL_ENUM, ) EC_COUNT };

static struct sp_stmt events_stmt = SP_STMT_READ(
    "ticket_events",
    "SELECT " EVENT_COLUMNS(SP_COL_SQL, ", ")
    " FROM support_ticket_events WHERE ticket_id = $1::bigint AND id > $2::bigint"
    " ORDER BY id LIMIT $3::int",
    3);

/* The customer's list: the page first (LIMIT inside, so nothing below
 * is read for a ticket the page leaves out), then who wrote each one's
 * last public message and when an agent last answered it publicly
 * (API.md §4 "New replies"), each one backward index probe of its
 * messages: the newest public one (support_ticket_messages_ticket,
 * stepping over trailing internal notes), the newest public agent one
 * (sql/089's partial index, so a ticket no agent answered reads no
 * message). Internal notes never count. booking_id ($5) is exact; the
 * customer's index keeps it cheap (a filter over their own tickets). */
enum list_column { LC_LAST_MESSAGE_FROM = TICKET_NCOLS, LC_LAST_AGENT_REPLY_AT };
static struct sp_stmt list_stmt = SP_STMT_READ(
    "ticket_list_customer",
    "SELECT page.*, lm.sender_type, support_ts(la.created_at) FROM ("
    "  SELECT " TICKET_COLS
    "  FROM support_tickets t" TICKET_JOINS
    "  WHERE t.customer_id = $1"
    "    AND ($2::text[] IS NULL OR t.status = ANY ($2::text[]))"
    "    AND ($5::text IS NULL OR t.booking_id = $5::text)"
    "    AND t.id < $3::bigint"
    "  ORDER BY t.id DESC LIMIT $4::int"
    ") page"
    " LEFT JOIN LATERAL (SELECT m.sender_type FROM support_ticket_messages m"
    "   WHERE m.ticket_id = page.id AND NOT m.is_internal ORDER BY m.id DESC LIMIT 1) lm ON true"
    " LEFT JOIN LATERAL (SELECT m.created_at FROM support_ticket_messages m"
    "   WHERE m.ticket_id = page.id AND NOT m.is_internal AND m.sender_type = 'agent'"
    "   ORDER BY m.id DESC LIMIT 1) la ON true"
    " ORDER BY page.id DESC",
    5);

void
sp_ticket_read_row(const PGresult *r, int row, struct sp_ticket *out)
{
    const int col = 0;
    memset(out, 0, sizeof(*out));
    TICKET_COLUMNS(SP_COL_READ, )
}

/* A row of the customer's list (sp_db_page_read's reader): the ticket,
 * then list_stmt's own two columns. */
static void
read_list_item(const PGresult *r, int row, void *item)
{
    struct sp_ticket *t = item;
    sp_ticket_read_row(r, row, t);
    t->last_message_from = sp_db_str(r, row, LC_LAST_MESSAGE_FROM);
    t->last_agent_reply_at = sp_db_str(r, row, LC_LAST_AGENT_REPLY_AT);
}

/* A message whose columns start at col (after a ticket's). */
static void
read_message(const PGresult *r, int row, int col, struct sp_message *out)
{
    MESSAGE_COLUMNS(SP_COL_READ, )
}

/* The ticket with its messages from a TICKET_COLS + MESSAGE_COLS result
 * (one row per message; a ticket without messages has one NULL row). */
static enum sp_rc
read_with_messages(struct sp_ctx *ctx, PGresult *r, int limit, struct sp_ticket *out,
                   struct sp_problem *p)
{
    if (sp_db_found(r, "ticket", p) != SP_OK)
        return p->rc;
    sp_ticket_read_row(r, 0, out);
    int shown = sp_db_page(r, limit, "message_id", &out->messages_next_after);
    out->messages = sp_arena_calloc(ctx->arena, (size_t)shown + 1, sizeof(*out->messages));
    for (int i = 0; i < shown && !PQgetisnull(r, i, TICKET_NCOLS + MC_ID); i++)
        read_message(r, i, TICKET_NCOLS, &out->messages[out->nmessages++]);
    return SP_OK;
}

/* Where a new ticket starts: category, priority (rules engine, API.md
 * §5.3), sentiment, SLA (§5.2) and assignee (§5.4). */
struct intake {
    long long category_id;
    enum sp_priority priority;
    long long rule_id;     /* the priority rule that matched; 0: none */
    const char *rule_name; /* its name then, for the created event */
    double sentiment;
    long long assignee;
    /* Unassigned: whom its ticket.created tells (sp_route_staff_to). */
    struct sp_route_staff takers;
    struct sp_sla sla;
    int64_t now;
};

static int
tier_of_rule(const char *s)
{
    enum sp_tier t;
    return sp_tier_parse(s, &t) ? (int)t : -1;
}

/* Parses the rules array of the intake query and returns the first match. */
/* A member of a JSON object row; NULL when absent or JSON null. */
static struct json_object *
member(struct json_object *row, const char *name)
{
    struct json_object *v = NULL;
    return json_object_object_get_ex(row, name, &v) ? v : NULL;
}

static long long
match_rules(struct sp_ctx *ctx, const char *rules_json, const struct sp_rule_input *in,
            enum sp_priority *priority, const char **name)
{
    struct json_object *arr = json_tokener_parse(rules_json);
    if (arr == NULL)
        return 0;
    size_t n = json_object_array_length(arr);
    struct sp_rule *rules = sp_arena_calloc(ctx->arena, n + 1, sizeof(*rules));
    for (size_t i = 0; i < n; i++) {
        /* Read by member name: the statement's json_build_object. */
        struct json_object *row = json_object_array_get_idx(arr, i);
        struct sp_rule *r = &rules[i];
        r->id = json_object_get_int64(member(row, "id"));
        r->version = json_object_get_int(member(row, "version"));
        r->name = json_object_get_string(member(row, "name"));
        r->category_id = json_object_get_int64(member(row, "category_id"));
        r->tier = tier_of_rule(json_object_get_string(member(row, "customer_tier")));
        struct json_object *pat = member(row, "pattern");
        r->pattern = pat ? sp_arena_strdup(ctx->arena, json_object_get_string(pat)) : NULL;
        struct json_object *below = member(row, "sentiment_below");
        r->has_sentiment_below = below != NULL;
        r->sentiment_below = below ? json_object_get_double(below) : 0;
        enum sp_priority pr = SP_PRIORITY_NORMAL;
        sp_priority_parse(json_object_get_string(member(row, "priority")), &pr);
        r->priority = (int)pr;
    }
    long long rule_id = 0;
    struct sp_rules_fault fault = {0};
    int hit = ctx->rules ? sp_rules_first_match(ctx->rules, rules, n, in, &fault) : -1;
    if (fault.kind != SP_RULES_FAULT_NONE) {
        struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, "priority_rule_fault");
        sp_log_int(l, "rule_id", fault.rule_id);
        sp_log_str(l, "error", fault.message);
        sp_log_end(l);
    }
    if (hit >= 0) {
        *priority = (enum sp_priority)rules[hit].priority;
        rule_id = rules[hit].id;
        /* a copy: the name lives in arr, freed below */
        *name = sp_arena_strdup(ctx->arena, rules[hit].name ? rules[hit].name : "");
    }
    json_object_put(arr);
    return rule_id;
}

static enum sp_rc
intake(struct sp_ctx *ctx, const struct sp_ticket_new *in, struct intake *it,
       struct sp_problem *p)
{
    memset(it, 0, sizeof(*it));
    it->priority = SP_PRIORITY_NORMAL;
    const char *params[2] = {in->category_slug, in->customer_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &intake_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (in->category_slug != NULL && PQgetisnull(r, 0, IC_CATEGORY_ID))
        return sp_category_unknown(p, SP_CATEGORY_ACTIVE);
    it->category_id = sp_db_int(r, 0, IC_CATEGORY_ID);
    /* Rules first; else the category's default; else normal. Both read
     * what the customer wrote, not the stored markup: "AT&T" is not
     * "AT&amp;T", and "<p>" is nobody's word (docs/API.md §5.3). */
    const char *body = in->rule_text;
    if (body == NULL)
        body = sp_sanitize_text(ctx->arena, in->description, strlen(in->description));
    const char *text = sp_arena_sprintf(ctx->arena, "%s\n%s", in->subject, body);
    it->sentiment = sp_sentiment_score(text, strlen(text));
    enum sp_tier tier = in->tier;
    if (in->tier_stored) {
        tier = SP_TIER_STANDARD;
        (void)sp_tier_parse(sp_db_str(r, 0, IC_STORED_TIER), &tier);
    }
    struct sp_rule_input ri = {it->category_id, tier, in->subject, body, it->sentiment};
    it->rule_id = match_rules(ctx, sp_db_str(r, 0, IC_RULES), &ri, &it->priority, &it->rule_name);
    if (it->rule_id == 0 && sp_db_str(r, 0, IC_DEFAULT_PRIORITY) != NULL)
        sp_priority_parse(sp_db_str(r, 0, IC_DEFAULT_PRIORITY), &it->priority);

    it->now = sp_clock_now_ms();
    sp_sla_start(&it->sla, it->now,
                 sp_sla_targets_pick(sp_db_str(r, 0, IC_SLA), it->priority));
    /* Answered in the chat it comes from: the first response is met. */
    if (in->first_responded_at != 0)
        sp_sla_first_response(&it->sla, SP_STATUS_OPEN, in->first_responded_at);
    const char *routing = sp_db_str(r, 0, IC_ROUTING), *team = sp_db_str(r, 0, IC_TEAM),
               *skill = sp_db_str(r, 0, IC_SKILL);
    if (sp_route_ticket(ctx, routing, team, skill, ctx->agent_max_open, in->keep_agent_id,
                        &it->assignee, p) != SP_OK)
        return p->rc;
    if (it->assignee == 0)
        return sp_route_staff_to(ctx, routing, team, skill, 0, &it->takers, p);
    return SP_OK;
}

/* priority_rule: the rule that set the first priority as it was then,
 * {"id","name"}, or null (the category's default or normal). The ticket's
 * priority_rule is a link that a deleted rule leaves null; this member is
 * the record of why the ticket got its priority (API.md §5.3), in the
 * created event and the ticket.created webhook alike. */
static void
rule_member(struct sp_jw *w, const struct intake *it)
{
    if (sp_jw_kobject_or_null(w, "priority_rule", it->rule_id != 0)) {
        sp_jw_kint(w, "id", it->rule_id);
        sp_jw_kstr(w, "name", it->rule_name);
        sp_jw_end(w);
    }
}

/* The created event: who opened the ticket, and its first priority with
 * the rule that set it. */
static void
created_event(struct sp_jw *w, const struct sp_ticket_new *in, const struct intake *it)
{
    sp_jw_object(w);
    sp_jw_kstr(w, "event_type", "created");
    if (in->by_system) {
        sp_jw_kstr(w, "actor_type", "system");
        sp_jw_knull(w, "performed_by");
    } else {
        sp_jw_kstr(w, "actor_type", "customer");
        sp_jw_kstr(w, "performed_by", in->customer_id);
    }
    sp_jw_kobject(w, "metadata");
    sp_jw_kstr(w, "to", "open");
    sp_jw_kstr(w, "source", sp_source_names[in->source]);
    sp_jw_kstr(w, "priority", sp_priority_name(it->priority));
    rule_member(w, it);
    sp_jw_end(w);
    sp_jw_end(w);
}

/* The events of a new ticket (created; assigned when routing picked an
 * agent) and its outbox rows: ticket.created for webhooks (API.md §11; the
 * statement adds the ids to the payload), ticket.assigned for the agent —
 * or, when nobody was assigned (manual routing, no agent free), a
 * ticket.created notification to the category's team (a skill's without
 * one: its active agents), so a new ticket does not wait unseen until
 * its SLA warning — and chat.escalated for the
 * customer whose chat someone else made this ticket, else ticket.received
 * for a customer who opened one on the web or by mail. */
static void
created_events(struct sp_ctx *ctx, const struct sp_ticket_new *in, const struct intake *it,
               struct sp_buf *events, const char **outbox)
{
    struct sp_arena *a = ctx->arena;
    struct sp_jw w;
    sp_buf_init(events, a, 256);
    sp_jw_begin_array(&w, events);
    created_event(&w, in, it);
    if (it->assignee != 0) {
        sp_jw_object(&w);
        sp_jw_kstr(&w, "event_type", "assigned");
        sp_jw_kstr(&w, "actor_type", "system");
        sp_jw_knull(&w, "performed_by");
        sp_jw_kobject(&w, "metadata");
        sp_jw_knull(&w, "from");
        sp_jw_kint(&w, "to", it->assignee);
        sp_jw_kbool(&w, "routing", true);
        sp_jw_end(&w);
        sp_jw_end(&w);
    }
    sp_jw_end(&w);

    struct sp_buf rows, hook;
    sp_buf_init(&rows, a, 256);
    sp_buf_init(&hook, a, 64);
    sp_jw_begin_object(&w, &hook);
    rule_member(&w, it);
    sp_jw_end(&w);
    sp_ticket_outbox_row(&rows, "webhook", "ticket.created", "webhook", NULL, hook.data);
    if (it->assignee != 0 && it->assignee == in->actor_agent_id) {
        /* the agent who made it keeps it: the assigned event says so,
         * nobody needs telling (API.md §11, Staff notification rows) */
    } else if (it->assignee != 0) {
        struct sp_buf payload;
        sp_buf_init(&payload, a, 32);
        sp_jw_begin_object(&w, &payload);
        sp_jw_kint(&w, "agent_id", it->assignee);
        sp_jw_end(&w);
        sp_ticket_outbox_row(&rows, "notification", "ticket.assigned", "agent",
                             sp_arena_sprintf(a, "%lld", it->assignee), payload.data);
    } else {
        struct sp_buf payload;
        sp_buf_init(&payload, a, 32);
        sp_jw_begin_object(&w, &payload);
        sp_jw_kstr(&w, "priority", sp_priority_name(it->priority));
        sp_jw_end(&w);
        for (size_t i = 0; i < it->takers.n; i++)
            sp_ticket_outbox_row(&rows, "notification", "ticket.created", it->takers.channel,
                                 it->takers.recipients[i], payload.data);
    }
    if (in->escalated_chat != NULL) {
        struct sp_buf payload;
        sp_buf_init(&payload, a, 64);
        sp_jw_begin_object(&w, &payload);
        sp_jw_kstr(&w, "chat_session_id", in->escalated_chat);
        sp_jw_end(&w);
        sp_ticket_customer_rows(&rows, ctx->customer_channels, "chat.escalated", in->customer_id,
                                payload.data);
    } else if (in->chat_session_id == 0 && !in->by_system) {
        /* The customer's acknowledgement: the ticket's id, and (by mail)
         * the address that takes replies; a chat's customer reads it in
         * the chat — a ticket made from one, not any that says its
         * source is chat (QA: {"source":"chat"} without a chat session
         * was acknowledged nowhere). */
        sp_ticket_customer_rows(&rows, ctx->customer_channels, "ticket.received", in->customer_id,
                                NULL);
    }
    *outbox = sp_arena_sprintf(a, "[%s]", rows.data);
}

enum sp_rc
sp_ticket_create(struct sp_ctx *ctx, const struct sp_ticket_new *in, struct sp_ticket *out,
                 struct sp_problem *p)
{
    struct intake it;
    if (intake(ctx, in, &it, p) != SP_OK)
        return p->rc;
    struct sp_arena *a = ctx->arena;
    struct sp_buf events;
    const char *outbox;
    created_events(ctx, in, &it, &events, &outbox);
    const struct sp_contact_sealed none = {NULL, NULL, NULL, NULL, NULL, NULL};
    const struct sp_contact_sealed *ct = in->contact != NULL ? in->contact : &none;

    /* A public id collision is astronomically rare (60 bits) but handled. */
    for (int attempt = 0; attempt < 3; attempt++) {
        char public_id[SP_PUBLIC_ID_LEN + 1];
        sp_public_id(public_id);
        const char *params[CP_COUNT] = {
            [CP_PUBLIC_ID] = public_id,
            [CP_CUSTOMER_ID] = in->customer_id,
            [CP_CATEGORY_ID] = sp_arena_sprintf(a, "%lld", it.category_id),
            [CP_SOURCE] = sp_source_names[in->source],
            [CP_SUBJECT] = in->subject,
            [CP_DESCRIPTION] = in->description,
            [CP_PROVIDER_ID] = in->provider_id,
            [CP_BOOKING_ID] = in->booking_id,
            [CP_METADATA] = in->metadata_json,
            [CP_PRIORITY] = sp_priority_name(it.priority),
            [CP_SENTIMENT] = sp_arena_sprintf(a, "%.3f", it.sentiment),
            [CP_RULE_ID] = sp_arena_sprintf(a, "%lld", it.rule_id),
            [CP_ASSIGNEE] = sp_arena_sprintf(a, "%lld", it.assignee),
            [CP_FIRST_RESPONSE_DUE] = sp_arena_sprintf(a, "%lld",
                                                       (long long)it.sla.first_response_due_at),
            [CP_RESOLUTION_DUE] = sp_arena_sprintf(a, "%lld", (long long)it.sla.resolution_due_at),
            [CP_SLA_DUE] = sp_arena_sprintf(a, "%lld", (long long)it.sla.sla_due_at),
            [CP_BREACH_CHECK] = sp_arena_sprintf(a, "%lld", (long long)it.sla.breach_check_at),
            [CP_NOW] = sp_arena_sprintf(a, "%lld", (long long)it.now),
            [CP_FIRST_RESPONDED] = sp_arena_sprintf(a, "%lld",
                                                    (long long)it.sla.first_responded_at),
            [CP_EVENTS] = events.data,
            [CP_OUTBOX] = outbox,
            [CP_CHAT_SESSION_ID] = sp_arena_sprintf(a, "%lld", in->chat_session_id),
            [CP_CONTACT] = in->contact != NULL ? "true" : "false",
            [CP_CONTACT_NAME] = ct->name_enc,
            [CP_CONTACT_EMAIL] = ct->email_enc,
            [CP_CONTACT_PHONE] = ct->phone_enc,
            [CP_CONTACT_INDEX] = ct->email_index,
            [CP_CONTACT_TIER] = ct->tier,
            [CP_CONTACT_FINGERPRINT] = ct->fingerprint,
        };
        PGresult *r = sp_db_exec(ctx->db, a, &create_stmt, params, p);
        if (r == NULL)
            return p->rc;
        if (PQntuples(r) == 0)
            continue;  /* the public id was taken: draw another */
        sp_ticket_read_row(r, 0, out);
        out->messages = sp_arena_calloc(a, 1, sizeof(*out->messages));
        read_message(r, 0, TICKET_NCOLS, &out->messages[0]);
        out->nmessages = 1;
        return SP_OK;
    }
    return sp_problem_set(p, SP_ERROR, "internal", "could not allocate a public id");
}

/* A ticket and a page of its messages: st takes the ticket's two keys,
 * then the message cursor and the page size (one row more than shown). */
static enum sp_rc
get_with_messages(struct sp_ctx *ctx, struct sp_stmt *st, const char *key1, const char *key2,
                  long long after_message_id, int limit, struct sp_ticket *out,
                  struct sp_problem *p)
{
    const char *params[4] = {key1, key2, sp_arena_sprintf(ctx->arena, "%lld", after_message_id),
                             sp_db_page_fetch(ctx->arena, limit)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, st, params, p);
    if (r == NULL)
        return p->rc;
    return read_with_messages(ctx, r, limit, out, p);
}

enum sp_rc
sp_ticket_get_for_customer(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                           long long after_message_id, int limit, struct sp_ticket *out,
                           struct sp_problem *p)
{
    return get_with_messages(ctx, &get_stmt, public_id, customer_id, after_message_id, limit,
                             out, p);
}

/* What a customer's ticket representation depends on besides its own row
 * and messages (both covered by the version): the category's slug. Not
 * the agents' names (sender_name): covering them would read the ticket's
 * messages on every poll, the work this stamp saves (sp_ticket_stamp). */
static struct sp_stmt stamp_stmt = SP_STMT_READ(
    "ticket_stamp_customer",
    "SELECT t.version, c.slug FROM support_tickets t"
    " LEFT JOIN support_categories c ON c.id = t.category_id"
    " WHERE t.public_id = $1 AND t.customer_id = $2",
    2);

enum sp_rc
sp_ticket_stamp_for_customer(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                             struct sp_ticket_stamp *out, struct sp_problem *p)
{
    const char *params[2] = {public_id, customer_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &stamp_stmt, params, p);
    if (sp_db_found(r, "ticket", p) != SP_OK)
        return p->rc;
    out->version = sp_db_int(r, 0, 0);
    out->category = sp_db_str(r, 0, 1);
    return SP_OK;
}

enum sp_rc
sp_ticket_get_for_agent(struct sp_ctx *ctx, long long id, const char *public_id,
                        long long after_message_id, int limit, struct sp_ticket *out,
                        struct sp_problem *p)
{
    return get_with_messages(ctx, &get_agent_stmt,
                             id > 0 ? sp_arena_sprintf(ctx->arena, "%lld", id) : NULL, public_id,
                             after_message_id, limit, out, p);
}

enum sp_rc
sp_ticket_list_for_customer(struct sp_ctx *ctx, const char *customer_id,
                            const bool statuses[SP_STATUS_MAX], const char *booking_id,
                            long long before_id, int limit, struct sp_ticket_page *out,
                            struct sp_problem *p)
{
    char status_array[128];
    const char *status_param = NULL;
    if (statuses != NULL) {
        size_t o = 0;
        status_array[o++] = '{';
        for (int i = 0; i < SP_STATUS_MAX; i++) {
            if (!statuses[i])
                continue;
            o += (size_t)snprintf(status_array + o, sizeof(status_array) - o, "%s%s",
                                  o > 1 ? "," : "", sp_status_name((enum sp_status)i));
        }
        snprintf(status_array + o, sizeof(status_array) - o, "}");
        status_param = status_array;
    }
    const char *params[5] = {
        customer_id, status_param,
        sp_arena_sprintf(ctx->arena, "%lld", before_id > 0 ? before_id : (long long)INT64_MAX),
        sp_db_page_fetch(ctx->arena, limit), booking_id};
    out->items = sp_db_page_read(ctx->db, ctx->arena, &list_stmt, params, limit, "id",
                                 sizeof(*out->items), read_list_item, &out->n, &out->next_before,
                                 p);
    return out->items != NULL ? SP_OK : p->rc;
}

/* The customer's own ticket, locked, as the start of their change; a
 * closed one takes none (409 ticket_closed: a new ticket is the way). */
static enum sp_rc
customer_change(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                struct sp_versions if_match, struct sp_ticket_change *c, struct sp_problem *p)
{
    struct sp_ticket_ref ref = {.id = 0, .public_id = public_id, .if_match = if_match};
    struct sp_ticket_state st;
    if (sp_ticket_lock(ctx, &ref, customer_id, &st, p) != SP_OK)
        return p->rc;
    if (st.status == SP_STATUS_CLOSED)
        return sp_problem_set(p, SP_CONFLICT, "ticket_closed",
                              "the ticket is closed; open a new ticket instead");
    sp_ticket_change_init(c, ctx, &st, (struct sp_actor){"customer", customer_id});
    return SP_OK;
}

/* A reply that reopens a ticket (resolved, pending the customer) whose
 * agent an admin deactivated hands it back to routing, as the
 * deactivation did its open tickets (sp_ticket_hand_back, reason
 * agent_deactivated), rather than to someone who will never see it. The
 * agent's row is read under a share (the ticket's lock first, the order
 * of every writer): a deactivation in flight commits first, or waits and
 * finds the reopened ticket in its own hand-back. */
static enum sp_rc
hand_back_if_deactivated(struct sp_ticket_change *c, struct sp_problem *p)
{
    enum sp_status to;
    long long agent_id = c->after.assigned_agent_id;
    if (agent_id == 0 || !sp_status_after_customer_reply(c->after.status, true, &to))
        return SP_OK;
    struct sp_agent agent;
    if (sp_agent_get_shared(c->ctx, agent_id, &agent, p) != SP_OK)
        return p->rc;
    if (!agent.is_active)
        sp_ticket_hand_back(c, "agent_deactivated");
    return SP_OK;
}

enum sp_rc
sp_ticket_customer_reply(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                         struct sp_versions if_match, const char *body, struct sp_message *out,
                         struct sp_problem *p)
{
    struct sp_ticket_change c;
    if (customer_change(ctx, public_id, customer_id, if_match, &c, p) != SP_OK ||
        hand_back_if_deactivated(&c, p) != SP_OK)
        return p->rc;
    sp_ticket_customer_reopen(&c, sp_clock_now_ms());
    sp_ticket_set_message(&c, "customer", body, false);
    memset(out, 0, sizeof(*out));
    if (sp_ticket_apply(&c, &out->id, &out->created_at, p) != SP_OK)
        return p->rc;
    out->sender_type = "customer";
    out->sender_id = customer_id;
    out->body = body;
    out->attachments_json = "[]";
    return SP_OK;
}

/* *freed: the agent whose open-ticket place the resolve freed (0: none). */
static enum sp_rc
customer_resolve(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                 struct sp_versions if_match, long long *freed, struct sp_problem *p)
{
    struct sp_ticket_change c;
    *freed = 0;
    if (customer_change(ctx, public_id, customer_id, if_match, &c, p) != SP_OK ||
        sp_ticket_set_status(&c, SP_STATUS_RESOLVED, sp_clock_now_ms(), p) != SP_OK ||
        sp_ticket_apply(&c, NULL, NULL, p) != SP_OK)
        return p->rc;
    *freed = sp_ticket_route_freed(&c);
    return SP_OK;
}

enum sp_rc
sp_ticket_customer_resolve(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                           struct sp_versions if_match, struct sp_problem *p)
{
    if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
        return p->rc;
    long long freed;
    if (customer_resolve(ctx, public_id, customer_id, if_match, &freed, p) != SP_OK ||
        sp_db_commit(ctx->db, ctx->arena, p) != SP_OK) {
        sp_db_rollback(ctx->db, ctx->arena);
        return p->rc;
    }
    /* The agent's place is free: filled from the waiting tickets now,
     * not at the monitor's next pass (API.md §5.3–5.4). */
    sp_ticket_route_freed_hand_out(ctx, freed);
    return SP_OK;
}

SP_ROW_READER(read_event, struct sp_ticket_event, EVENT_COLUMNS)

enum sp_rc
sp_ticket_events(struct sp_ctx *ctx, long long ticket_id, long long after, int limit,
                 struct sp_ticket_event **out, size_t *n, long long *next_after,
                 struct sp_problem *p)
{
    *out = sp_db_page_of(ctx->db, ctx->arena, &events_stmt, ticket_id, after, limit,
                         sizeof(**out), read_event, n, next_after, p);
    return *out != NULL ? SP_OK : p->rc;
}
