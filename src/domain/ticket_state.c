/*
 * ticket_state: lock, change, apply. See ticket_state.h.
 */
#include "domain/ticket_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "db/db.h"

void
sp_ticket_ref_parse(struct sp_arena *a, const char *s, struct sp_ticket_ref *out)
{
    out->id = sp_row_id_read(s);
    out->public_id = NULL;
    out->if_match = SP_VERSIONS_ANY;
    if (out->id > 0)
        return;
    out->public_id = s;
    char id[SP_PUBLIC_ID_LEN + 1];
    if (sp_public_id_read(s, id))
        out->public_id = sp_arena_strdup(a, id);
}

/* A locked ticket row, read by column (db.h's scheme); the two enums are
 * read as text and parsed. */
struct lock_row {
    struct sp_ticket_state s;
    const char *status, *priority;
};
#define LOCK_COLUMNS(C, SEP)                                                                 \
    C(LK_ID, "id", int, s.id) SEP C(LK_PUBLIC_ID, "public_id", str, s.public_id)             \
    SEP C(LK_CUSTOMER, "customer_id", str, s.customer_id)                                    \
    SEP C(LK_STATUS, "status", str, status) SEP C(LK_PRIORITY, "priority", str, priority)    \
    SEP C(LK_CATEGORY, "coalesce(category_id, 0)", int, s.category_id)                       \
    SEP C(LK_AGENT, "coalesce(assigned_agent_id, 0)", int, s.assigned_agent_id)              \
    SEP C(LK_PROVIDER, "coalesce(provider_id, 0)", int, s.provider_id)                       \
    SEP C(LK_BOOKING, "booking_id", str, s.booking_id)                                       \
    SEP C(LK_VERSION, "version", int, s.version)                                             \
    SEP C(LK_ESCALATED_AT, "coalesce(support_ms(escalated_at), 0)", int, s.escalated_at)     \
    SEP C(LK_CREATED_AT, "support_ms(created_at)", int, s.sla.created_at)                    \
    SEP C(LK_FIRST_DUE, "coalesce(support_ms(first_response_due_at), 0)", int,               \
          s.sla.first_response_due_at)                                                       \
    SEP C(LK_RESOLUTION_DUE, "coalesce(support_ms(resolution_due_at), 0)", int,              \
          s.sla.resolution_due_at)                                                           \
    SEP C(LK_FIRST_RESPONDED, "coalesce(support_ms(first_responded_at), 0)", int,            \
          s.sla.first_responded_at)                                                          \
    SEP C(LK_PAUSED_AT, "coalesce(support_ms(sla_paused_at), 0)", int, s.sla.paused_at)      \
    SEP C(LK_PAUSED_MS, "sla_paused_ms", int, s.sla.paused_ms)                               \
    SEP C(LK_SLA_DUE, "coalesce(support_ms(sla_due_at), 0)", int, s.sla.sla_due_at)          \
    SEP C(LK_BREACH_CHECK, "coalesce(support_ms(sla_breach_check_at), 0)", int,              \
          s.sla.breach_check_at)                                                             \
    SEP C(LK_BREACHED, "sla_breached", bool, s.sla.breached)                                 \
    SEP C(LK_BREACHED_FIRST, "sla_breached_first_response", bool,                            \
          s.sla.breached_first_response)                                                     \
    SEP C(LK_BREACHED_RESOLUTION, "sla_breached_resolution", bool, s.sla.breached_resolution) \
    SEP C(LK_LEFT_TO_ROUTING, "left_to_routing", bool, s.left_to_routing)
enum lock_column { LOCK_COLUMNS(SP_COL_ENUM, ) LK_COUNT };

static struct sp_stmt lock_stmt = SP_STMT(
    "ticket_lock",
    "SELECT " LOCK_COLUMNS(SP_COL_SQL, ", ") " FROM support_tickets"
    " WHERE (id = $1::bigint OR public_id = $2) AND ($3::text IS NULL OR customer_id = $3)"
    " FOR UPDATE",
    3);

enum sp_rc
sp_ticket_lock(struct sp_ctx *ctx, const struct sp_ticket_ref *ref, const char *customer_id,
               struct sp_ticket_state *locked, struct sp_problem *p)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", ref->id);
    const char *params[3] = {ref->id > 0 ? id : NULL, ref->public_id, customer_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &lock_stmt, params, p);
    if (sp_db_found(r, "ticket", p) != SP_OK)
        return p->rc;
    struct lock_row row_data = {0}, *out = &row_data;
    const int row = 0, col = 0;
    LOCK_COLUMNS(SP_COL_READ, )
    if (!sp_status_parse(out->status, &out->s.status) ||
        !sp_priority_parse(out->priority, &out->s.priority))
        return sp_problem_set(p, SP_ERROR, "internal", "ticket row has an unknown enum value");
    *locked = out->s;
    if (!sp_versions_hold(ref->if_match, locked->version))
        return sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                              "the ticket is at version %lld, not %s", locked->version,
                              sp_versions_text(ctx->arena, ref->if_match));
    return SP_OK;
}

void
sp_ticket_change_init(struct sp_ticket_change *c, struct sp_ctx *ctx,
                      const struct sp_ticket_state *locked, struct sp_actor actor)
{
    memset(c, 0, sizeof(*c));
    c->before = *locked;
    c->after = *locked;
    c->actor = actor;
    sp_buf_init(&c->events, ctx->arena, 512);
    sp_buf_init(&c->outbox, ctx->arena, 256);
    c->ctx = ctx;
}

/* The next item of a comma-separated list kept in b (the statement wraps
 * it in [ ]), as an object opened on w. */
static void
list_item_object(struct sp_buf *b, struct sp_jw *w)
{
    if (b->len > 0)
        sp_buf_putc(b, ',');
    sp_jw_begin_object(w, b);
}

/* An event; by_system: the system's whoever the change's actor (a
 * routing decision inside an agent's PATCH). */
static void
add_event(struct sp_ticket_change *c, const char *type, const char *metadata, bool by_system)
{
    struct sp_jw w;
    list_item_object(&c->events, &w);
    sp_jw_kstr(&w, "event_type", type);
    sp_jw_kraw(&w, "metadata", metadata ? metadata : "{}");
    if (by_system)
        sp_jw_kbool(&w, "system", true);
    sp_jw_end(&w);
    c->nevents++;
}

void
sp_ticket_add_event(struct sp_ticket_change *c, const char *type, const char *metadata)
{
    add_event(c, type, metadata, false);
}

size_t
sp_ticket_event_mark(const struct sp_ticket_change *c)
{
    return c->events.len;
}

void
sp_ticket_add_event_at(struct sp_ticket_change *c, size_t mark, const char *type,
                       const char *metadata)
{
    struct sp_buf *e = &c->events;
    size_t n = e->len - mark; /* the later events, with their leading comma if mark > 0 */
    char *later = sp_arena_alloc(c->ctx->arena, n + 1);
    memcpy(later, e->data + mark, n);
    e->len = mark;
    e->data[mark] = '\0';
    sp_ticket_add_event(c, type, metadata);
    if (n > 0 && mark == 0)
        sp_buf_putc(e, ',');
    sp_buf_append(e, later, n);
}

void
sp_ticket_add_outbox(struct sp_ticket_change *c, const char *kind, const char *event_type,
                     const char *channel, const char *recipient, const char *payload)
{
    sp_ticket_outbox_row(&c->outbox, kind, event_type, channel, recipient, payload);
}

void
sp_ticket_outbox_row(struct sp_buf *rows, const char *kind, const char *event_type,
                     const char *channel, const char *recipient, const char *payload)
{
    struct sp_jw w;
    list_item_object(rows, &w);
    sp_jw_kstr(&w, "kind", kind);
    sp_jw_kstr(&w, "event_type", event_type);
    sp_jw_kstr(&w, "channel", channel);
    sp_jw_kstr(&w, "recipient", recipient);
    sp_jw_kraw(&w, "payload", payload ? payload : "{}");
    sp_jw_end(&w);
}

void
sp_ticket_customer_rows(struct sp_buf *rows, unsigned channels, const char *event_type,
                        const char *customer_id, const char *payload)
{
    for (int ch = 0; ch < SP_CUSTOMER_CHANNEL_MAX; ch++) {
        if (channels & (1u << ch))
            sp_ticket_outbox_row(rows, "notification", event_type, sp_customer_channel_names[ch],
                                 customer_id, payload);
    }
}

void
sp_ticket_payload_begin(struct sp_jw *w, struct sp_buf *b, const struct sp_ticket_state *t)
{
    sp_jw_begin_object(w, b);
    sp_jw_kint(w, "ticket_id", t->id);
    sp_jw_kstr(w, "public_id", t->public_id);
}

/* {"from":"a","to":"b"} for an event's metadata. */
static const char *
from_to(struct sp_ticket_change *c, const char *from, const char *to)
{
    struct sp_buf b;
    sp_buf_init(&b, c->ctx->arena, 64);
    struct sp_jw w;
    sp_jw_begin_object(&w, &b);
    sp_jw_kstr(&w, "from", from);
    sp_jw_kstr(&w, "to", to);
    sp_jw_end(&w);
    return b.data;
}

static void
move(struct sp_ticket_change *c, enum sp_status to, int64_t now)
{
    enum sp_status from = c->after.status;
    if (from == to)
        return;
    sp_sla_on_status(&c->after.sla, from, to, now);
    c->after.status = to;
    sp_ticket_add_event(c, sp_status_event(from, to),
                        from_to(c, sp_status_name(from), sp_status_name(to)));
}

enum sp_rc
sp_ticket_set_status(struct sp_ticket_change *c, enum sp_status to, int64_t now,
                     struct sp_problem *p)
{
    enum sp_status from = c->after.status;
    if (from == to)
        return SP_OK;
    if (!sp_status_can_move(from, to))
        return sp_problem_set(p, SP_CONFLICT, "invalid_transition", "cannot move from %s to %s",
                              sp_status_name(from), sp_status_name(to));
    move(c, to, now);
    return SP_OK;
}

void
sp_ticket_customer_reopen(struct sp_ticket_change *c, int64_t now)
{
    enum sp_status to;
    if (sp_status_after_customer_reply(c->after.status, c->after.assigned_agent_id != 0, &to))
        move(c, to, now);
}

enum sp_rc
sp_sla_targets_lookup(struct sp_ctx *ctx, enum sp_priority priority, long long category_id,
                      struct sp_sla_targets *out, struct sp_problem *p)
{
    static struct sp_stmt stmt =
        SP_STMT_READ("sla_policies", "SELECT " SP_SLA_POLICIES_JSON("$1::bigint"), 1);
    char cat[24];
    snprintf(cat, sizeof(cat), "%lld", category_id);
    const char *params[1] = {cat};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &stmt, params, p);
    if (r == NULL)
        return p->rc;
    *out = sp_sla_targets_pick(sp_db_str(r, 0, 0), priority);
    return SP_OK;
}

/* raise: the priority went up, which never moves a due later (sla.h). */
static enum sp_rc
retarget(struct sp_ticket_change *c, bool raise, int64_t now, struct sp_problem *p)
{
    struct sp_sla_targets t;
    if (sp_sla_targets_lookup(c->ctx, c->after.priority, c->after.category_id, &t, p) != SP_OK)
        return p->rc;
    if (raise)
        sp_sla_retarget_raise(&c->after.sla, c->after.status, t);
    else
        sp_sla_retarget(&c->after.sla, c->after.status, t, now);
    return SP_OK;
}

enum sp_rc
sp_ticket_set_priority(struct sp_ticket_change *c, enum sp_priority to, const char *reason,
                       int64_t now, struct sp_problem *p)
{
    enum sp_priority from = c->after.priority;
    if (from == to)
        return SP_OK;
    c->after.priority = to;
    const char *meta = from_to(c, sp_priority_name(from), sp_priority_name(to));
    if (reason != NULL)
        meta = sp_arena_sprintf(c->ctx->arena, "{\"from\":\"%s\",\"to\":\"%s\",\"reason\":\"%s\"}",
                                sp_priority_name(from), sp_priority_name(to), reason);
    sp_ticket_add_event(c, "priority_changed", meta);
    return retarget(c, to > from, now, p);
}

enum sp_rc
sp_ticket_set_category(struct sp_ticket_change *c, long long category_id, const char *from_slug,
                       const char *to_slug, int64_t now, struct sp_problem *p)
{
    if (c->after.category_id == category_id)
        return SP_OK;
    c->after.category_id = category_id;
    sp_ticket_add_event(c, "category_changed", from_to(c, from_slug, to_slug));
    return retarget(c, false, now, p);
}

/* An agent's notification, {ticket_id, public_id, agent_id[, message_html]}:
 * of an assignment, of a customer's public reply (its message_html) or
 * resolve. */
static void
notify_agent(struct sp_ticket_change *c, const char *event_type, long long agent_id,
             const char *message_html)
{
    struct sp_arena *a = c->ctx->arena;
    struct sp_buf payload;
    sp_buf_init(&payload, a, 256);
    struct sp_jw w;
    sp_ticket_payload_begin(&w, &payload, &c->after);
    sp_jw_kint(&w, "agent_id", agent_id);
    if (message_html != NULL)
        sp_jw_kstr(&w, "message_html", message_html);
    sp_jw_end(&w);
    sp_ticket_add_outbox(c, "notification", event_type, "agent",
                         sp_arena_sprintf(a, "%lld", agent_id), payload.data);
}

/* An assignment (0: unassigns); routed: routing's, recorded as at a
 * ticket's creation (the system's event, metadata.routing); reason (NULL:
 * none): why, in metadata.reason. Whoever decides, routing has nothing
 * left to decide. */
static void
assign(struct sp_ticket_change *c, long long agent_id, bool self, bool routed,
       const char *reason)
{
    long long from = c->after.assigned_agent_id;
    if (from == agent_id)
        return;
    c->after.assigned_agent_id = agent_id;
    c->after.left_to_routing = false;
    struct sp_arena *a = c->ctx->arena;
    struct sp_buf meta;
    sp_buf_init(&meta, a, 64);
    struct sp_jw w;
    sp_jw_begin_object(&w, &meta);
    sp_jw_kint_or_null(&w, "from", from);
    sp_jw_kint_or_null(&w, "to", agent_id);
    if (routed)
        sp_jw_kbool(&w, "routing", true);
    if (reason != NULL)
        sp_jw_kstr(&w, "reason", reason);
    sp_jw_end(&w);
    /* routed, or handed back (a reason): the system's, not the actor's */
    add_event(c, agent_id ? "assigned" : "unassigned", meta.data, routed || reason != NULL);
    if (agent_id != 0 && !self)
        notify_agent(c, "ticket.assigned", agent_id, NULL);
}

void
sp_ticket_set_assignee(struct sp_ticket_change *c, long long agent_id, bool self)
{
    assign(c, agent_id, self, false, NULL);
}

void
sp_ticket_set_assignee_routed(struct sp_ticket_change *c, long long agent_id)
{
    assign(c, agent_id, false, true, NULL);
}

void
sp_ticket_hand_back(struct sp_ticket_change *c, const char *reason)
{
    if (c->after.assigned_agent_id == 0)
        return;
    assign(c, 0, false, false, reason);
    c->after.left_to_routing = true;
}

void
sp_ticket_first_response(struct sp_ticket_change *c, int64_t now)
{
    if (c->after.sla.first_responded_at == 0)
        sp_sla_first_response(&c->after.sla, c->after.status, now);
}

void
sp_ticket_set_message(struct sp_ticket_change *c, const char *sender_type, const char *body,
                      bool internal)
{
    c->message_sender_type = sender_type;
    c->message_body = body;
    c->message_internal = internal;
}

bool
sp_ticket_changed(const struct sp_ticket_change *c)
{
    const struct sp_ticket_state *a = &c->before, *b = &c->after;
    return c->nevents > 0 || c->message_body != NULL || a->status != b->status ||
           a->priority != b->priority || a->category_id != b->category_id ||
           a->assigned_agent_id != b->assigned_agent_id || a->provider_id != b->provider_id ||
           a->escalated_at != b->escalated_at || a->left_to_routing != b->left_to_routing ||
           memcmp(&a->sla, &b->sla, sizeof(a->sla)) != 0;
}

/* Whether the change alters what a view of the ticket shows (API.md §5):
 * a message, a field, an SLA due or clock. The SLA monitor's bookkeeping
 * does not: a warning (events and deliveries only), the per-target flags,
 * breach_check_at, nor the sla_breached flag, which is only ever set for
 * a target already past — by the monitor, while the views answer true
 * already (SP_TICKET_SLA_BREACHED: the flag or sla_due_at < now), or with
 * a late reply or a move to resolved/closed, changes shown on their own. */
static bool
shown_changed(const struct sp_ticket_change *c)
{
    const struct sp_ticket_state *a = &c->before, *b = &c->after;
    const struct sp_sla *x = &a->sla, *y = &b->sla;
    return c->message_body != NULL || a->status != b->status || a->priority != b->priority ||
           a->category_id != b->category_id || a->assigned_agent_id != b->assigned_agent_id ||
           a->provider_id != b->provider_id || a->escalated_at != b->escalated_at ||
           x->first_response_due_at != y->first_response_due_at ||
           x->resolution_due_at != y->resolution_due_at ||
           x->first_responded_at != y->first_responded_at || x->sla_due_at != y->sla_due_at ||
           (x->paused_at != 0) != (y->paused_at != 0);
}

/* The apply statement's parameters, by name (SP_STMT_NAMED). */
enum apply_param {
    AP_ID, AP_STATUS, AP_PRIORITY, AP_CATEGORY_ID, AP_AGENT_ID, AP_PROVIDER_ID,
    AP_ESCALATED_MS, AP_FIRST_RESPONSE_DUE_MS, AP_RESOLUTION_DUE_MS, AP_FIRST_RESPONDED_MS,
    AP_PAUSED_AT_MS, AP_PAUSED_MS, AP_SLA_DUE_MS, AP_BREACHED, AP_BREACH_CHECK_MS,
    AP_BREACHED_FIRST_RESPONSE, AP_BREACHED_RESOLUTION, AP_ACTOR_ID, AP_ACTOR_TYPE,
    AP_SENDER_TYPE, AP_BODY, AP_INTERNAL, AP_EVENTS, AP_OUTBOX, AP_ROUND_ROBIN_AGENT, AP_SHOWN,
    AP_LEFT_TO_ROUTING, AP_COUNT
};

static const char *const apply_params[AP_COUNT + 1] = {
    [AP_ID] = "id", [AP_STATUS] = "status", [AP_PRIORITY] = "priority",
    [AP_CATEGORY_ID] = "category_id", [AP_AGENT_ID] = "agent_id",
    [AP_PROVIDER_ID] = "provider_id", [AP_ESCALATED_MS] = "escalated_ms",
    [AP_FIRST_RESPONSE_DUE_MS] = "first_response_due_ms",
    [AP_RESOLUTION_DUE_MS] = "resolution_due_ms", [AP_FIRST_RESPONDED_MS] = "first_responded_ms",
    [AP_PAUSED_AT_MS] = "paused_at_ms", [AP_PAUSED_MS] = "paused_ms",
    [AP_SLA_DUE_MS] = "sla_due_ms", [AP_BREACHED] = "breached",
    [AP_BREACH_CHECK_MS] = "breach_check_ms",
    [AP_BREACHED_FIRST_RESPONSE] = "breached_first_response",
    [AP_BREACHED_RESOLUTION] = "breached_resolution", [AP_ACTOR_ID] = "actor_id",
    [AP_ACTOR_TYPE] = "actor_type", [AP_SENDER_TYPE] = "sender_type", [AP_BODY] = "body",
    [AP_INTERNAL] = "internal", [AP_EVENTS] = "events", [AP_OUTBOX] = "outbox",
    [AP_ROUND_ROBIN_AGENT] = "round_robin_agent", [AP_SHOWN] = "shown",
    [AP_LEFT_TO_ROUTING] = "left_to_routing", NULL,
};

/* Columns, events, message and outbox in one statement. Any change a view
 * shows bumps the version and updated_at (messages are part of the
 * representation an ETag covers); bookkeeping alone (shown_changed)
 * leaves both, so an agent's If-Match does not fail on a warning. */
static struct sp_stmt apply_stmt = SP_STMT_NAMED(
    "ticket_apply",
    "WITH m AS ("
    "  INSERT INTO support_ticket_messages (ticket_id, sender_type, sender_id, body, is_internal)"
    "  SELECT :id::bigint, :sender_type, :actor_id, :body, :internal::boolean"
    "  WHERE :body::text IS NOT NULL"
    "  RETURNING id, created_at, is_internal, sender_type, sender_id"
    "), u AS ("
    "  UPDATE support_tickets SET status = :status, priority = :priority,"
    /* priority_rule names the rule that set the priority (API.md §5):
     * once anything else changes it, no rule did */
    "    priority_rule_id = CASE WHEN priority = :priority THEN priority_rule_id END,"
    "    category_id = nullif(:category_id::bigint, 0),"
    "    assigned_agent_id = nullif(:agent_id::bigint, 0),"
    "    provider_id = nullif(:provider_id::bigint, 0),"
    "    escalated_at = support_from_ms(:escalated_ms::bigint),"
    /* The monitor decides by the due it warned of (sql/087); the flags
     * are derived from it for the release before, which reads them: set
     * while the due is at or before a warned one. */
    "    sla_warned_first_response = coalesce(support_from_ms(:first_response_due_ms::bigint)"
    "      <= sla_warned_first_response_due_at, false),"
    "    sla_warned_resolution = coalesce(support_from_ms(:resolution_due_ms::bigint)"
    "      <= sla_warned_resolution_due_at, false),"
    "    first_response_due_at = support_from_ms(:first_response_due_ms::bigint),"
    "    resolution_due_at = support_from_ms(:resolution_due_ms::bigint),"
    "    first_responded_at = support_from_ms(:first_responded_ms::bigint),"
    "    sla_paused_at = support_from_ms(:paused_at_ms::bigint),"
    "    sla_paused_ms = :paused_ms::bigint,"
    "    sla_due_at = support_from_ms(:sla_due_ms::bigint), sla_breached = :breached::boolean,"
    "    sla_breach_check_at = support_from_ms(:breach_check_ms::bigint),"
    "    sla_breached_first_response = :breached_first_response::boolean,"
    "    sla_breached_resolution = :breached_resolution::boolean,"
    /* a closed ticket waits for nobody (and leaves the flag's index) */
    "    left_to_routing = :left_to_routing::boolean AND :status <> 'closed',"
    /* A close or resolve that waited for the ticket's lock comes after
     * the reply that held it, though now() (its transaction's start) may
     * be earlier: never stamped before the thread it ends. */
    "    closed_at = CASE WHEN :status = 'closed'"
    "      THEN coalesce(closed_at, greatest(now(), last_message_at)) END,"
    /* the auto-close clock (sql/043): from the move to resolved, not
     * from later writes (notes, scan verdicts) that leave it resolved */
    "    resolved_at = CASE WHEN :status = 'resolved'"
    "      THEN CASE WHEN status = 'resolved' THEN coalesce(resolved_at, now())"
    "      ELSE greatest(now(), last_message_at) END"
    "    END,"
    /* the thread the customer sees: internal notes count for nobody */
    "    message_count = message_count + (SELECT count(*) FROM m WHERE NOT m.is_internal),"
    "    last_message_at = coalesce((SELECT created_at FROM m WHERE NOT m.is_internal),"
    "      last_message_at),"
    "    version = version + CASE WHEN :shown::boolean THEN 1 ELSE 0 END,"
    "    updated_at = CASE WHEN :shown::boolean THEN now() ELSE updated_at END,"
    /* the message joins the ticket's full-text document (sql/028) */
    "    search = CASE WHEN :body::text IS NULL THEN search"
    "      ELSE support_ticket_search_add(search, :body) END"
    "  WHERE id = :id::bigint"
    "  RETURNING id"
    "), e AS ("
    "  INSERT INTO support_ticket_events (ticket_id, event_type, actor_type, performed_by, metadata)"
    /* routing's decisions are the system's, inside anyone's change */
    "  SELECT :id::bigint, x.event_type,"
    "    CASE WHEN x.system THEN 'system' ELSE :actor_type END,"
    "    CASE WHEN x.system THEN NULL ELSE :actor_id END, x.metadata"
    "  FROM jsonb_to_recordset(:events::jsonb)"
    "    AS x(event_type text, metadata jsonb, system boolean)"
    "), o AS ("
    "  INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id, payload)"
    "  SELECT x.kind, x.event_type, x.channel, x.recipient, :id::bigint,"
    /* a notification quoting the message, or a webhook carrying it,
     * names it too: the dispatcher reads its attachments, which are
     * linked after it in this transaction. Who answered (an agent's
     * display name as it is now: the customer's mail names them) and,
     * for the webhook, when, as a read of the message shows them. */
    "    CASE WHEN x.payload ? 'message_html'"
    "      THEN x.payload || coalesce((SELECT jsonb_strip_nulls(jsonb_build_object("
    "        'message_id', m.id, 'message_sender_name', " SP_MESSAGE_SENDER_NAME ")) FROM m),"
    "        '{}')"
    "      WHEN x.payload ? 'message'"
    "      THEN jsonb_set(x.payload, '{message}', x.payload->'message' || coalesce(("
    "        SELECT jsonb_build_object('id', m.id, 'sender_name', " SP_MESSAGE_SENDER_NAME ","
    "        'created_at', support_ts(m.created_at)) FROM m), '{}'))"
    "      ELSE x.payload END"
    "  FROM jsonb_to_recordset(:outbox::jsonb)"
    "    AS x(kind text, event_type text, channel text, recipient text, payload jsonb)"
    "), a AS ("
    /* round robin picks the agent assigned least recently; a pick in
     * this transaction stamped a later clock_timestamp(), which stays,
     * so picks in one transaction still rotate */
    "  UPDATE support_agents SET last_assigned_at = greatest(last_assigned_at, now())"
    "  WHERE id = :round_robin_agent::bigint"
    ")"
    " SELECT (SELECT id FROM m), support_ts((SELECT created_at FROM m)) FROM u",
    apply_params, AP_COUNT);

/* The deliveries every change implies (API.md §11), queued with it in
 * the same statement: webhooks (the dispatcher fans them out to the
 * subscriptions of each event type), and the customer's notification, on
 * each channel of SUPPORT_CUSTOMER_CHANNELS, when an agent answers
 * publicly or someone else moves the ticket to waiting on the customer,
 * resolved or closed (internal notes, routine moves and the customer's
 * own changes tell the customer nothing). A customer's public reply,
 * and their resolve, tell the assigned agent (an unassigned ticket is in
 * the queue). */
static void
queue_deliveries(struct sp_ticket_change *c)
{
    struct sp_buf payload;
    sp_buf_init(&payload, c->ctx->arena, 128);
    struct sp_jw w;
    sp_ticket_payload_begin(&w, &payload, &c->after);
    sp_jw_kstr(&w, "status", sp_status_name(c->after.status));
    sp_jw_kstr(&w, "priority", sp_priority_name(c->after.priority));
    sp_jw_end(&w);
    bool public_message = c->message_body != NULL && !c->message_internal;
    if (public_message) {
        struct sp_buf with_message;
        sp_buf_init(&with_message, c->ctx->arena, 256);
        sp_ticket_payload_begin(&w, &with_message, &c->after);
        sp_jw_kobject(&w, "message");
        sp_jw_kstr(&w, "sender_type", c->message_sender_type);
        sp_jw_kstr(&w, "body", c->message_body);
        sp_jw_end(&w);
        sp_jw_end(&w);
        sp_ticket_add_outbox(c, "webhook", "ticket.message_created", "webhook", NULL,
                             with_message.data);
    }
    /* An event that changes nothing shown (a warning, a breach of an
     * urgent ticket) is told by its own webhook, not as an update. */
    if (c->nevents > 0 && shown_changed(c))
        sp_ticket_add_outbox(c, "webhook", "ticket.updated", "webhook", NULL, payload.data);

    bool agent_reply = public_message && strcmp(c->message_sender_type, "agent") == 0;
    if (public_message && strcmp(c->message_sender_type, "customer") == 0 &&
        c->after.assigned_agent_id != 0)
        notify_agent(c, "ticket.customer_replied", c->after.assigned_agent_id, c->message_body);
    /* The customer marked it solved (POST …/resolve): its agent is told
     * as of a reply (QA: only the webhook said so). */
    if (strcmp(c->actor.type, "customer") == 0 && c->after.status == SP_STATUS_RESOLVED &&
        c->before.status != SP_STATUS_RESOLVED && c->after.assigned_agent_id != 0)
        notify_agent(c, "ticket.customer_resolved", c->after.assigned_agent_id, NULL);
    /* Only the moves a customer acts on: we wait for them, or it is done. */
    enum sp_status to = c->after.status;
    bool status_moved = to != c->before.status && strcmp(c->actor.type, "customer") != 0 &&
                        (to == SP_STATUS_PENDING_CUSTOMER || to == SP_STATUS_RESOLVED ||
                         to == SP_STATUS_CLOSED);
    if (!agent_reply && !status_moved)
        return;
    struct sp_buf note;
    sp_buf_init(&note, c->ctx->arena, 256);
    sp_ticket_payload_begin(&w, &note, &c->after);
    sp_jw_kstr(&w, "status", sp_status_name(c->after.status));
    sp_jw_kstr(&w, "previous_status", sp_status_name(c->before.status));
    if (agent_reply)
        sp_jw_kstr(&w, "message_html", c->message_body);
    sp_jw_end(&w);
    sp_ticket_customer_rows(&c->outbox, c->ctx->customer_channels,
                            agent_reply ? "ticket.message_created" : "ticket.updated",
                            c->after.customer_id, note.data);
}

enum sp_rc
sp_ticket_apply(struct sp_ticket_change *c, long long *message_id,
                const char **message_created_at, struct sp_problem *p)
{
    if (!sp_ticket_changed(c))
        return SP_OK;
    queue_deliveries(c);
    struct sp_arena *a = c->ctx->arena;
    const struct sp_ticket_state *s = &c->after;
#define MS(v) sp_arena_sprintf(a, "%lld", (long long)(v))
#define BOOL(v) ((v) ? "true" : "false")
    const char *params[AP_COUNT] = {
        [AP_ID] = MS(s->id),
        [AP_STATUS] = sp_status_name(s->status),
        [AP_PRIORITY] = sp_priority_name(s->priority),
        [AP_CATEGORY_ID] = MS(s->category_id),
        [AP_AGENT_ID] = MS(s->assigned_agent_id),
        [AP_PROVIDER_ID] = MS(s->provider_id),
        [AP_ESCALATED_MS] = MS(s->escalated_at),
        [AP_FIRST_RESPONSE_DUE_MS] = MS(s->sla.first_response_due_at),
        [AP_RESOLUTION_DUE_MS] = MS(s->sla.resolution_due_at),
        [AP_FIRST_RESPONDED_MS] = MS(s->sla.first_responded_at),
        [AP_PAUSED_AT_MS] = MS(s->sla.paused_at),
        [AP_PAUSED_MS] = MS(s->sla.paused_ms),
        [AP_SLA_DUE_MS] = MS(s->sla.sla_due_at),
        [AP_BREACHED] = BOOL(s->sla.breached),
        [AP_BREACH_CHECK_MS] = MS(s->sla.breach_check_at),
        [AP_BREACHED_FIRST_RESPONSE] = BOOL(s->sla.breached_first_response),
        [AP_BREACHED_RESOLUTION] = BOOL(s->sla.breached_resolution),
        [AP_ACTOR_ID] = c->actor.id,
        [AP_ACTOR_TYPE] = c->actor.type,
        [AP_SENDER_TYPE] = c->message_sender_type,
        [AP_BODY] = c->message_body,
        [AP_INTERNAL] = BOOL(c->message_internal),
        [AP_EVENTS] = sp_arena_sprintf(a, "[%s]", c->events.data),
        [AP_OUTBOX] = sp_arena_sprintf(a, "[%s]", c->outbox.data),
        /* round robin's clock moves only for a new assignee */
        [AP_ROUND_ROBIN_AGENT] =
            s->assigned_agent_id != c->before.assigned_agent_id && s->assigned_agent_id != 0
                ? MS(s->assigned_agent_id)
                : NULL,
        [AP_SHOWN] = BOOL(shown_changed(c)),
        [AP_LEFT_TO_ROUTING] = BOOL(s->left_to_routing),
    };
#undef MS
#undef BOOL
    PGresult *r = sp_db_exec(c->ctx->db, a, &apply_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) != 1)
        return sp_problem_set(p, SP_ERROR, "internal", "ticket vanished while locked");
    if (message_id != NULL)
        *message_id = sp_db_int(r, 0, 0);
    if (message_created_at != NULL)
        *message_created_at = sp_db_str(r, 0, 1);
    return SP_OK;
}
