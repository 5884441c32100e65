/*
 * sla_monitor: the steps of one ticket-sla-monitor pass. See sla_monitor.h.
 *
 * Each step is a candidate query (a keyset page over a partial index,
 * read outside any transaction) and a per-ticket edit run in its own
 * transaction: claim the row (FOR UPDATE SKIP LOCKED, re-checking the
 * candidate condition), sp_ticket_lock, edit through the lifecycle
 * helpers, sp_ticket_apply, the step's extra UPDATE, commit — or roll back
 * in a dry run. The candidate queries only narrow the set; the decision
 * is the SLA arithmetic of sla.c on the locked row.
 *
 * Two writes bypass sp_ticket_apply() for now: the due a warning was
 * about (sla_warned_*_due_at and the flags, which the lifecycle service
 * only derives from it) and closed_at, which
 * sp_ticket_apply() sets to the database's now() while this job must use
 * its own clock. Both run in the ticket's transaction.
 */
#include "domain/sla_monitor.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/json_writer.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/rfc3339.h"
#include "db/db.h"
#include "domain/agents.h"
#include "domain/routing.h"
#include "domain/sla.h"
#include "domain/ticket_route.h"
#include "domain/ticket_state.h"

#define MINUTE_MS INT64_C(60000)
#define DAY_MS (INT64_C(86400) * 1000)
#define TS_LEN 80 /* room for any year gmtime_r can produce */

/* ---- SQL ------------------------------------------------------------------
 * Candidates: $1 cursor key (timestamptz text), $2 cursor id, $3 the
 * step's bound, $4 page size; they return (id, key::text) in key order.
 * Keys are compared as text round-trips of the stored value, so a page
 * never repeats a row whatever the column's precision. */

/* The longest target any policy (or built-in default) can give: bounds
 * how far ahead of now a warning can fall due. */
static struct sp_stmt longest_stmt =
    SP_STMT_READ("sla_monitor_longest",
            "SELECT coalesce(max(greatest(first_response_minutes, resolution_minutes)), 0)"
            " FROM support_sla_policies",
            0);

/* Every candidate query starts with the keyset run_step pages by: the
 * ticket's id and the text of its time key (db.h's column scheme). */
#define CANDIDATE_COLUMNS(C, SEP, key) C(CAND_ID, "t.id", , ) SEP C(CAND_KEY, key, , )
#define CANDIDATE_COLS(key) CANDIDATE_COLUMNS(SP_COL_SQL, ", ", key)
enum candidate_column { CANDIDATE_COLUMNS(SP_COL_ENUM, , "") CAND_COUNT };

/* What ready_warn() needs, after the keyset (from CAND_COUNT on). */
struct warn_row {
    const char *status;
    struct sp_sla sla;
};
#define WARN_COLUMNS(C, SEP)                                                                       \
    C(WC_STATUS, "t.status", str, status) SEP                                                      \
    C(WC_CREATED_AT, "support_ms(t.created_at)", int, sla.created_at) SEP                          \
    C(WC_FIRST_RESPONSE_DUE_AT, "coalesce(support_ms(t.first_response_due_at), 0)", int,      \
      sla.first_response_due_at) SEP                                                               \
    C(WC_RESOLUTION_DUE_AT, "coalesce(support_ms(t.resolution_due_at), 0)", int,              \
      sla.resolution_due_at) SEP                                                                   \
    C(WC_FIRST_RESPONDED_AT, "coalesce(support_ms(t.first_responded_at), 0)", int,            \
      sla.first_responded_at) SEP                                                                  \
    C(WC_PAUSED_MS, "t.sla_paused_ms", int, sla.paused_ms) SEP                                     \
    C(WC_PAUSED_AT, "coalesce(support_ms(t.sla_paused_at), 0)", int, sla.paused_at) SEP          \
    C(WC_BREACHED_FR, "t.sla_breached_first_response", bool, sla.breached_first_response) SEP   \
    C(WC_BREACHED_RES, "t.sla_breached_resolution", bool, sla.breached_resolution)
enum warn_column { WARN_COLUMNS(SP_COL_ENUM, ) WC_COUNT };

/* Whether a target's due is a deadline not warned of yet: later than
 * the latest due warned of for it (sql/087), or none was. One warning
 * per deadline value (API.md §12): a due moved back to a warned one, or
 * earlier, is not warned again. The candidates filter on it and the
 * claim reads it on the locked row. */
#define WARN_DUE_NEW(target)                                                                       \
    "coalesce(t." target "_due_at > t.sla_warned_" target "_due_at, true)"

/* Targets still to judge (sla_breach_check_at, sla.c's next_unjudged:
 * the first response until answered or breached, unless resolution is
 * due first) due in [now, now + window] and not warned about; with the
 * SLA columns, so that rows whose warning is not due yet are dropped
 * without a transaction. A first response already breached leaves the
 * resolution to warn about. The test of the warned due is a filter on
 * support_tickets_sla_breach_check's range, as the flags' was. */
static struct sp_stmt warn_candidates = SP_STMT_READ(
    "sla_monitor_warn_candidates",
    "SELECT " CANDIDATE_COLS("t.sla_breach_check_at::text") ", " WARN_COLUMNS(SP_COL_SQL, ", ")
    " FROM support_tickets t"
    " WHERE t.sla_breach_check_at >= $1::timestamptz AND t.sla_breach_check_at <= $3::timestamptz"
    "   AND (t.sla_breach_check_at > $1::timestamptz OR t.id > $2::bigint)"
    "   AND CASE WHEN t.first_responded_at IS NULL AND NOT t.sla_breached_first_response"
    "             AND (t.sla_breached_resolution"
    "                  OR t.first_response_due_at <= t.resolution_due_at)"
    "            THEN " WARN_DUE_NEW("first_response") " ELSE " WARN_DUE_NEW("resolution") " END"
    " ORDER BY t.sla_breach_check_at, t.id LIMIT $4::integer",
    4);
/* Whom a warning or breach can reach (tell_takers()): the category's
 * routing, team and skill, as sp_route_staff_to() reads them. */
#define TAKERS_COLUMNS(C, SEP, P)                                                                  \
    C(P##ROUTING, "c.routing", , ) SEP C(P##TEAM, "c.team", , ) SEP                               \
    C(P##SKILL, "c.required_skill", , )
/* A claim row's takers, read by their names (P the claim's prefix). */
struct takers {
    const char *routing, *team, *skill;
};
#define TAKERS_OF(r, P)                                                                            \
    ((struct takers){sp_db_str(r, 0, P##ROUTING), sp_db_str(r, 0, P##TEAM),                      \
                     sp_db_str(r, 0, P##SKILL)})
/* The claim also reads the takers and whether the assignee is away (false
 * when unassigned), in the statement that locks the ticket. */
#define WARN_CLAIM_COLUMNS(C, SEP)                                                                 \
    C(WCL_NEW_FIRST_RESPONSE, WARN_DUE_NEW("first_response"), , ) SEP                            \
    C(WCL_NEW_RESOLUTION, WARN_DUE_NEW("resolution"), , ) SEP                                     \
    TAKERS_COLUMNS(C, SEP, WCL_) SEP                                                               \
    C(WCL_ASSIGNEE_AWAY, "coalesce(a.status = 'away', false)", , )
enum warn_claim_column { WARN_CLAIM_COLUMNS(SP_COL_ENUM, ) WCL_COUNT };
static struct sp_stmt warn_claim = SP_STMT(
    "sla_monitor_warn_claim",
    "SELECT " WARN_CLAIM_COLUMNS(SP_COL_SQL, ", ")
    " FROM support_tickets t LEFT JOIN support_categories c ON c.id = t.category_id"
    " LEFT JOIN support_agents a ON a.id = t.assigned_agent_id"
    " WHERE t.id = $1::bigint AND t.sla_breach_check_at >= $2::timestamptz"
    " FOR UPDATE OF t SKIP LOCKED",
    2);
/* Records the due warned of ($2 the target; its due as sp_ticket_apply
 * just wrote it), and its flag, derived for the releases that read it
 * (sql/087). */
static struct sp_stmt warn_flag = SP_STMT(
    "sla_monitor_warn_flag",
    "UPDATE support_tickets"
    " SET sla_warned_first_response_due_at = CASE WHEN $2 = 'first_response'"
    "       THEN first_response_due_at ELSE sla_warned_first_response_due_at END,"
    "     sla_warned_resolution_due_at = CASE WHEN $2 = 'resolution'"
    "       THEN resolution_due_at ELSE sla_warned_resolution_due_at END,"
    "     sla_warned_first_response = sla_warned_first_response OR $2 = 'first_response',"
    "     sla_warned_resolution = sla_warned_resolution OR $2 = 'resolution'"
    " WHERE id = $1::bigint",
    2);

/* Running targets already passed, not yet marked breached: the
 * ticket's sla_breach_check_at (sla.h's breach_check_at) skips targets
 * already flagged, so a ticket comes back once for its resolution after
 * a first-response breach (sql/036, over its partial index). */
static struct sp_stmt breach_candidates = SP_STMT_READ(
    "sla_monitor_breach_candidates",
    "SELECT " CANDIDATE_COLS("t.sla_breach_check_at::text") " FROM support_tickets t"
    " WHERE t.sla_breach_check_at >= $1::timestamptz AND t.sla_breach_check_at < $3::timestamptz"
    "   AND (t.sla_breach_check_at > $1::timestamptz OR t.id > $2::bigint)"
    " ORDER BY t.sla_breach_check_at, t.id LIMIT $4::integer",
    4);
#define BREACH_CLAIM_COLUMNS(C, SEP)                                                               \
    TAKERS_COLUMNS(C, SEP, BCL_)
enum breach_claim_column { BREACH_CLAIM_COLUMNS(SP_COL_ENUM, ) BCL_COUNT };
static struct sp_stmt breach_claim =
    SP_STMT("sla_monitor_breach_claim",
            "SELECT " BREACH_CLAIM_COLUMNS(SP_COL_SQL, ", ")
            " FROM support_tickets t LEFT JOIN support_categories c ON c.id = t.category_id"
            " WHERE t.id = $1::bigint AND t.sla_breach_check_at < $2::timestamptz"
            " FOR UPDATE OF t SKIP LOCKED",
            2);

/* Tickets left to routing (sql/070) in a category that routes, whose
 * routing has an active agent below the open-ticket cap ($5) now: those
 * an agent's becoming available or a place freed did not reach (a
 * hand-out that failed, its bound, an agent provisioned on first sight).
 * In routing's order, the soonest due first (sp_route_ticket_waiting),
 * over the partial index support_tickets_left_to_routing; $3 is
 * 'infinity'. Tickets nobody can take yet cost no transaction. */
#define ROUTE_KEY "coalesce(t.sla_due_at, 'infinity'::timestamptz)"
static struct sp_stmt route_candidates = SP_STMT_READ(
    "sla_monitor_route_candidates",
    "SELECT " CANDIDATE_COLS(ROUTE_KEY "::text") " FROM support_tickets t"
    " JOIN support_categories c ON c.id = t.category_id"
    " WHERE t.left_to_routing AND " ROUTE_KEY " >= $1::timestamptz"
    "   AND " ROUTE_KEY " <= $3::timestamptz"
    "   AND (" ROUTE_KEY " > $1::timestamptz OR t.id > $2::bigint)"
    "   AND t.assigned_agent_id IS NULL"
    "   AND t.status IN ('open', 'in_progress', 'pending_customer')"
    "   AND EXISTS (SELECT 1 FROM support_agents a WHERE " SP_AGENT_ROUTABLE("a")
    "     AND CASE c.routing WHEN 'skill' THEN c.required_skill = ANY (a.skills)"
    "         WHEN 'round_robin' THEN a.team = coalesce(c.team, 'general') ELSE false END"
    "     AND " SP_AGENT_OPEN_TICKETS("a") " < $5::bigint)"
    " ORDER BY " ROUTE_KEY ", t.id LIMIT $4::integer",
    5);
/* The category's routing, as sp_ticket_route reads it. */
#define ROUTE_CLAIM_COLUMNS(C, SEP) TAKERS_COLUMNS(C, SEP, RCL_)
enum route_claim_column { ROUTE_CLAIM_COLUMNS(SP_COL_ENUM, ) RCL_COUNT };
static struct sp_stmt route_claim =
    SP_STMT("sla_monitor_route_claim",
            "SELECT " ROUTE_CLAIM_COLUMNS(SP_COL_SQL, ", ")
            " FROM support_tickets t JOIN support_categories c ON c.id = t.category_id"
            " WHERE t.id = $1::bigint AND t.left_to_routing AND t.assigned_agent_id IS NULL"
            " FOR UPDATE OF t SKIP LOCKED",
            1);

/* Resolved since before the cut-off (resolved_at, sql/043: later
 * writes to a resolved ticket do not restart its clock). */
static struct sp_stmt close_candidates =
    SP_STMT_READ("sla_monitor_close_candidates",
            "SELECT " CANDIDATE_COLS("t.resolved_at::text") " FROM support_tickets t"
            " WHERE t.status = 'resolved' AND t.resolved_at >= $1::timestamptz"
            "   AND t.resolved_at < $3::timestamptz"
            "   AND (t.resolved_at > $1::timestamptz OR t.id > $2::bigint)"
            " ORDER BY t.resolved_at, t.id LIMIT $4::integer",
            4);
static struct sp_stmt close_claim =
    SP_STMT("sla_monitor_close_claim",
            "SELECT 1 FROM support_tickets"
            " WHERE id = $1::bigint AND status = 'resolved' AND resolved_at < $2::timestamptz"
            " FOR UPDATE SKIP LOCKED",
            2);
/* sp_ticket_apply() stamps closed_at with now(); the job's clock wins. */
static struct sp_stmt close_stamp = SP_STMT("sla_monitor_close_stamp",
                                            "UPDATE support_tickets SET closed_at = $2::timestamptz"
                                            " WHERE id = $1::bigint AND status = 'closed'",
                                            2);

/* ---- one pass -------------------------------------------------------------- */

struct monitor {
    struct sp_db *db;
    const struct sp_sla_monitor_opts *o;
    struct sp_sla_monitor_counts *n;
    struct sp_arena page; /* one candidate page */
    struct sp_arena work; /* one ticket; reset after each */
    struct sp_ctx ctx;    /* arena = &work */
    int backend_pid;      /* the session holding the lock; 0 in a dry run */
    int batch;
    char now[TS_LEN];        /* o->now as RFC 3339 */
    char warn_until[TS_LEN]; /* now + the longest possible warning lead */
    char close_before[TS_LEN];
    char max_open[24]; /* SUPPORT_AGENT_MAX_OPEN_TICKETS, the routing step's cap */
};

/* One target a breach flagged, with its due when it was flagged. */
struct breached_target {
    const char *target;
    int64_t due_at;
};

/* What one ticket's edit decided, for the step's extra SQL and the log. */
struct decision {
    const char *target; /* first_response | resolution (warn, breach) */
    int64_t due_at;
    bool escalated;
    /* A breach: every target it flagged, the reported one first, then any
     * missed at the same look or made overdue by its raise (sla.h). */
    struct breached_target breached[2];
    int nbreached;
};

enum outcome { DONE, NOTHING, FAILED };

struct step {
    const char *name; /* its log event */
    size_t counter;   /* offsetof the count a success adds to */
    struct sp_stmt *candidates;
    const char *first_key; /* cursor before the first page */
    const char *(*bound)(const struct monitor *m);
    /* Whether candidate row i is worth a transaction (NULL: all are). */
    bool (*ready)(const struct monitor *m, const PGresult *r, int i);
    struct sp_stmt *claim;
    const char *(*claim_bound)(const struct monitor *m);
    /* Edits the locked ticket; NOTHING leaves it alone. r is the claim row. */
    enum outcome (*edit)(struct monitor *m, struct sp_ticket_change *c, const PGresult *r,
                         struct decision *d, struct sp_problem *p);
    /* SQL beside sp_ticket_apply(), in the same transaction (may be NULL). */
    enum sp_rc (*finish)(struct monitor *m, long long id, const struct decision *d,
                         struct sp_problem *p);
    int max; /* tickets a pass takes on at most; 0: every candidate */
};

static void
format_ts(char out[TS_LEN], int64_t ms)
{
    /* --now takes years from 0001 and close_before reaches days before
     * it: PostgreSQL reads no year 0000, and no row is older than 0001. */
    if (ms < SP_RFC3339_MIN_MS)
        ms = SP_RFC3339_MIN_MS;
    time_t s = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        s--;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, TS_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static const char *
ts(struct monitor *m, int64_t ms)
{
    char *out = sp_arena_alloc(&m->work, TS_LEN);
    format_ts(out, ms);
    return out;
}

static const char *
bound_now(const struct monitor *m)
{
    return m->now;
}

static const char *
bound_warn(const struct monitor *m)
{
    return m->warn_until;
}

static const char *
bound_close(const struct monitor *m)
{
    return m->close_before;
}

static const char *
bound_none(const struct monitor *m)
{
    (void)m;
    return "infinity";
}

/* target, due_at (the one reported) and, for a breach, targets: every
 * target it flagged as [{target, due_at}], so a target counted with the
 * reported one (never reported on its own, sla.h) is named too. */
static void
target_members(struct monitor *m, struct sp_jw *w, const struct decision *d)
{
    sp_jw_kstr(w, "target", d->target);
    sp_jw_kstr(w, "due_at", ts(m, d->due_at));
    if (d->nbreached == 0)
        return; /* a warning: about one target */
    sp_jw_karray(w, "targets");
    for (int i = 0; i < d->nbreached; i++) {
        sp_jw_object(w);
        sp_jw_kstr(w, "target", d->breached[i].target);
        sp_jw_kstr(w, "due_at", ts(m, d->breached[i].due_at));
        sp_jw_end(w);
    }
    sp_jw_end(w);
}

/* The metadata of sla_warning and sla_breached. */
static const char *
target_meta(struct monitor *m, const struct decision *d)
{
    struct sp_buf b;
    sp_buf_init(&b, &m->work, 96);
    struct sp_jw w;
    sp_jw_begin_object(&w, &b);
    target_members(m, &w, d);
    sp_jw_end(&w);
    return b.data;
}

/* {ticket_id, public_id, target, due_at[, targets][, priority]} for the
 * outbox. */
static const char *
target_payload(struct monitor *m, const struct sp_ticket_change *c, const struct decision *d,
               bool with_priority)
{
    struct sp_buf b;
    sp_buf_init(&b, &m->work, 160);
    struct sp_jw w;
    sp_ticket_payload_begin(&w, &b, &c->after);
    target_members(m, &w, d);
    if (with_priority)
        sp_jw_kstr(&w, "priority", sp_priority_name(c->after.priority));
    sp_jw_end(&w);
    return b.data;
}

/* Adds to d each target flagged in now but not in was, with its due in
 * now, after those already there (the reported one first). */
static void
add_flagged(struct decision *d, const struct sp_sla *was, const struct sp_sla *now)
{
    const struct breached_target flagged[2] = {
        {now->breached_first_response && !was->breached_first_response ? "first_response" : NULL,
         now->first_response_due_at},
        {now->breached_resolution && !was->breached_resolution ? "resolution" : NULL,
         now->resolution_due_at},
    };
    for (int i = 0; i < 2; i++) {
        if (flagged[i].target == NULL)
            continue;
        bool known = false;
        for (int j = 0; j < d->nbreached; j++)
            known = known || strcmp(d->breached[j].target, flagged[i].target) == 0;
        if (!known && d->nbreached < 2)
            d->breached[d->nbreached++] = flagged[i];
    }
}

/* sp_sla_warn_at() on the candidate's columns: the same arithmetic the
 * edit repeats on the locked row. */
static bool
ready_warn(const struct monitor *m, const PGresult *r, int i)
{
    const int row = i, col = CAND_COUNT;
    struct warn_row w = {0}, *out = &w;
    WARN_COLUMNS(SP_COL_READ, )
    enum sp_status status;
    if (!sp_status_parse(w.status, &status))
        return true; /* let the edit report it */
    int64_t at = sp_sla_warn_at(&w.sla, status, m->o->warn_fraction, NULL);
    return at != 0 && at <= m->o->now;
}

/* Those who can take a ticket, told of event_type (sp_route_staff_to():
 * a skill's active holders but `except`, else the category's team). */
static enum sp_rc
tell_takers(struct monitor *m, struct sp_ticket_change *c, const char *event_type,
            struct takers k, long long except, const char *payload, struct sp_problem *p)
{
    struct sp_route_staff to;
    if (sp_route_staff_to(&m->ctx, k.routing, k.team, k.skill, except, &to, p) != SP_OK)
        return p->rc;
    for (size_t i = 0; i < to.n; i++)
        sp_ticket_add_outbox(c, "notification", event_type, to.channel, to.recipients[i],
                             payload);
    return SP_OK;
}

static enum outcome
edit_warn(struct monitor *m, struct sp_ticket_change *c, const PGresult *r, struct decision *d,
          struct sp_problem *p)
{
    const struct sp_ticket_state *t = &c->after;
    int64_t warn_at = sp_sla_warn_at(&t->sla, t->status, m->o->warn_fraction, &d->target);
    if (d->target == NULL || warn_at > m->o->now)
        return NOTHING;
    bool first = strcmp(d->target, "first_response") == 0;
    d->due_at = first ? t->sla.first_response_due_at : t->sla.resolution_due_at;
    if (m->o->now > d->due_at)
        return NOTHING;
    if (!sp_db_bool(r, 0, first ? WCL_NEW_FIRST_RESPONSE : WCL_NEW_RESOLUTION))
        return NOTHING; /* once per deadline */
    sp_ticket_add_event(c, "sla_warning", target_meta(m, d));
    const char *payload = target_payload(m, c, d, false);
    /* API.md §12 warns the assignee; an unassigned ticket's takers
     * instead. An away assignee (support_agents.status) cannot act before
     * the due: the takers are warned too, and the agent still is (seen on
     * return). */
    if (t->assigned_agent_id != 0)
        sp_ticket_add_outbox(c, "notification", "ticket.sla_warning", "agent",
                             sp_arena_sprintf(&m->work, "%lld", t->assigned_agent_id), payload);
    /* The warning of a ticket nobody can act on (unassigned, or its
     * assignee away): to those who can take it, the assignee told once. */
    if ((t->assigned_agent_id == 0 || sp_db_bool(r, 0, WCL_ASSIGNEE_AWAY)) &&
        tell_takers(m, c, "ticket.sla_warning", TAKERS_OF(r, WCL_), t->assigned_agent_id,
                    payload, p) != SP_OK)
        return FAILED;
    sp_ticket_add_outbox(c, "webhook", "ticket.sla_warning", "webhook", NULL, payload);
    return DONE;
}

static enum sp_rc
finish_warn(struct monitor *m, long long id, const struct decision *d, struct sp_problem *p)
{
    const char *params[2] = {sp_arena_sprintf(&m->work, "%lld", id), d->target};
    return sp_db_exec(m->db, &m->work, &warn_flag, params, p) != NULL ? SP_OK : p->rc;
}

static enum outcome
edit_breach(struct monitor *m, struct sp_ticket_change *c, const PGresult *r, struct decision *d,
            struct sp_problem *p)
{
    struct sp_ticket_state *t = &c->after;
    struct sp_sla_breach b;
    const struct sp_sla was = t->sla;
    /* No lifecycle helper for this yet: the same arithmetic on the copy
     * that sp_ticket_apply() persists. Each target breaches once, so a
     * ticket late on its first response is back here when its resolution
     * target passes, and is escalated and announced again. */
    if (!sp_sla_check_breach(&t->sla, t->status, m->o->now, &b))
        return NOTHING;
    d->target = b.target;
    d->due_at = b.due_at;
    d->breached[d->nbreached++] = (struct breached_target){b.target, b.due_at};
    add_flagged(d, &was, &t->sla); /* the later one, missed at the same look */
    size_t mark = sp_ticket_event_mark(c);
    enum sp_priority raised = sp_priority_raise(t->priority);
    if (raised != t->priority) {
        if (sp_ticket_set_priority(c, raised, "sla_breached", m->o->now, p) != SP_OK)
            return FAILED;
        d->escalated = true;
        /* A due the raise itself put in the past (low → normal at hour 50:
         * resolution at 2880 min) is this miss's, not a new one: flagged
         * in the same write, or the next pass would report and raise
         * again for the same lateness (API.md §5); its due is the
         * raised one, the one the views show overdue. */
        sp_sla_settle_raise(&t->sla, t->status, m->o->now);
        add_flagged(d, &was, &t->sla);
    }
    /* Written once the raise settled what it did, before its
     * priority_changed: the breach is the cause. */
    sp_ticket_add_event_at(c, mark, "sla_breached", target_meta(m, d));
    const char *payload = target_payload(m, c, d, true);
    /* To the team whoever is assigned (API.md §12); a skill's holders
     * are its team, the assignee among them. */
    if (tell_takers(m, c, "ticket.sla_breached", TAKERS_OF(r, BCL_), 0, payload, p) != SP_OK)
        return FAILED;
    sp_ticket_add_outbox(c, "webhook", "ticket.sla_breached", "webhook", NULL, payload);
    return DONE;
}

static enum outcome
edit_close(struct monitor *m, struct sp_ticket_change *c, const PGresult *r, struct decision *d,
           struct sp_problem *p)
{
    (void)r;
    (void)d;
    if (c->after.status != SP_STATUS_RESOLVED)
        return NOTHING;
    return sp_ticket_set_status(c, SP_STATUS_CLOSED, m->o->now, p) == SP_OK ? DONE : FAILED;
}

static enum sp_rc
finish_close(struct monitor *m, long long id, const struct decision *d, struct sp_problem *p)
{
    (void)d;
    const char *params[2] = {sp_arena_sprintf(&m->work, "%lld", id), m->now};
    return sp_db_exec(m->db, &m->work, &close_stamp, params, p) != NULL ? SP_OK : p->rc;
}

/* Routed as a new ticket of its category would be (ticket_route.h);
 * nobody free after all (the candidate's agent took others meanwhile)
 * leaves it waiting. Before the warnings, so a ticket routed now warns
 * its agent rather than its team. */
static enum outcome
edit_route(struct monitor *m, struct sp_ticket_change *c, const PGresult *r, struct decision *d,
           struct sp_problem *p)
{
    (void)m;
    (void)d;
    struct takers k = TAKERS_OF(r, RCL_);
    bool routed;
    if (sp_ticket_route(c, k.routing, k.team, k.skill, &routed, p) != SP_OK)
        return FAILED;
    return routed ? DONE : NOTHING;
}

static const struct step steps[] = {
    {"ticket_routed", offsetof(struct sp_sla_monitor_counts, routed), &route_candidates,
     "-infinity", bound_none, NULL, &route_claim, bound_now, edit_route, NULL,
     SP_SLA_MONITOR_ROUTE_MAX},
    {"sla_warning", offsetof(struct sp_sla_monitor_counts, warned), &warn_candidates, NULL,
     bound_warn, ready_warn, &warn_claim, bound_now, edit_warn, finish_warn, 0},
    {"sla_breached", offsetof(struct sp_sla_monitor_counts, breached), &breach_candidates,
     "-infinity", bound_now, NULL, &breach_claim, bound_now, edit_breach, NULL, 0},
    {"auto_closed", offsetof(struct sp_sla_monitor_counts, auto_closed), &close_candidates,
     "-infinity", bound_close, NULL, &close_claim, bound_close, edit_close, finish_close, 0},
};

/* The lock lives on one session; db.c reconnects transparently, which
 * would silently drop it. Every page and transaction checks it is still
 * the session that took the lock. */
static enum sp_rc
same_session(struct monitor *m, struct sp_problem *p)
{
    if (m->backend_pid == 0)
        return SP_OK;
    if (m->db->conn != NULL && PQbackendPID(m->db->conn) == m->backend_pid)
        return SP_OK;
    return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                          "lost the database session holding the advisory lock");
}

static void
count(struct monitor *m, const struct step *s, const struct decision *d)
{
    (*(long *)((char *)m->n + s->counter))++;
    if (d->escalated)
        m->n->escalated++;
}

static void
log_ticket(struct monitor *m, const struct step *s, const struct sp_ticket_change *c,
           const struct decision *d)
{
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, s->name);
    sp_log_int(l, "ticket_id", c->after.id);
    sp_log_str(l, "public_id", c->after.public_id);
    if (d->target != NULL) {
        sp_log_str(l, "target", d->target);
        sp_log_str(l, "due_at", ts(m, d->due_at));
    }
    if (d->nbreached > 1) /* the targets the report counts, as its event names them */
        sp_log_str(l, "targets", sp_arena_sprintf(&m->work, "%s,%s", d->breached[0].target,
                                                  d->breached[1].target));
    if (c->before.priority != c->after.priority) {
        sp_log_str(l, "priority_from", sp_priority_name(c->before.priority));
        sp_log_str(l, "priority_to", sp_priority_name(c->after.priority));
    }
    sp_log_str(l, "now", m->now);
    sp_log_int(l, "dry_run", m->o->dry_run);
    sp_log_end(l);
}

/* One ticket, one transaction. SP_OK also when the ticket was skipped or
 * failed on its own (counted); an error only when the pass must stop. */
static enum sp_rc
one_ticket(struct monitor *m, const struct step *s, long long id, struct sp_problem *fatal)
{
    struct sp_problem p;
    sp_problem_init(&p);
    struct sp_arena *a = &m->work;
    const char *sid = sp_arena_sprintf(a, "%lld", id);
    const char *claim_params[2] = {sid, s->claim_bound(m)};
    struct sp_ticket_state st;
    struct sp_ticket_change c;
    struct decision d = {.target = NULL};
    enum outcome out = FAILED;

    if (sp_db_begin(m->db, a, &p) != SP_OK || same_session(m, &p) != SP_OK)
        goto failed;
    PGresult *r = sp_db_exec(m->db, a, s->claim, claim_params, &p);
    if (r == NULL)
        goto failed;
    if (PQntuples(r) == 0) {
        /* An agent holds it, or it changed since the page was read. */
        sp_db_rollback(m->db, a);
        m->n->skipped++;
        return SP_OK;
    }
    struct sp_ticket_ref ref = {.id = id, .public_id = NULL};
    if (sp_ticket_lock(&m->ctx, &ref, NULL, &st, &p) != SP_OK)
        goto failed;
    sp_ticket_change_init(&c, &m->ctx, &st, (struct sp_actor){"system", NULL});
    out = s->edit(m, &c, r, &d, &p);
    if (out == NOTHING) {
        sp_db_rollback(m->db, a); /* changed since the page was read */
        m->n->skipped++;
        return SP_OK;
    }
    if (out == FAILED || sp_ticket_apply(&c, NULL, NULL, &p) != SP_OK ||
        (s->finish != NULL && s->finish(m, id, &d, &p) != SP_OK))
        goto failed;
    if (m->o->dry_run)
        sp_db_rollback(m->db, a);
    else if (sp_db_commit(m->db, a, &p) != SP_OK)
        goto failed;
    count(m, s, &d);
    log_ticket(m, s, &c, &d);
    return SP_OK;

failed:
    sp_db_rollback(m->db, a);
    if (p.rc == SP_UNAVAILABLE) {
        *fatal = p;
        return p.rc;
    }
    m->n->errors++;
    struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "sla_monitor_ticket_failed");
    sp_log_str(l, "step", s->name);
    sp_log_int(l, "ticket_id", id);
    sp_log_str(l, "code", p.code ? p.code : "internal");
    sp_log_str(l, "detail", p.detail);
    sp_log_end(l);
    return SP_OK;
}

static bool
stopping(const struct monitor *m)
{
    return m->o->stop != NULL && *m->o->stop;
}

static enum sp_rc
run_step(struct monitor *m, const struct step *s, struct sp_problem *p)
{
    char key[TS_LEN];
    snprintf(key, sizeof(key), "%s", s->first_key ? s->first_key : m->now);
    long long after = 0;
    int taken = 0;
    for (;;) {
        sp_arena_reset(&m->page);
        char sid[24], slimit[16];
        snprintf(sid, sizeof(sid), "%lld", after);
        snprintf(slimit, sizeof(slimit), "%d", m->batch);
        /* (the fifth only for the statements that take it: routing's cap) */
        const char *params[5] = {key, sid, s->bound(m), slimit, m->max_open};
        PGresult *r = sp_db_exec(m->db, &m->page, s->candidates, params, p);
        if (r == NULL || same_session(m, p) != SP_OK)
            return p->rc;
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            if (stopping(m)) /* cut short: not a pass that found nothing more */
                return sp_db_job_stop(p);
            after = sp_db_int(r, i, CAND_ID);
            snprintf(key, sizeof(key), "%s", sp_db_str(r, i, CAND_KEY));
            if (s->ready != NULL && !s->ready(m, r, i))
                continue;
            if (s->max != 0 && taken++ == s->max)
                return SP_OK; /* the next pass goes on */
            enum sp_rc rc = one_ticket(m, s, after, p);
            sp_arena_reset(&m->work);
            if (rc != SP_OK)
                return rc;
        }
        if (rows < m->batch)
            return SP_OK;
    }
}

/* How long before a due a warning can fall: warn_fraction of the longest
 * target. A ticket whose target is longer than every current policy (a
 * policy shortened since) is warned once it enters this window — late,
 * but still before its due. */
static enum sp_rc
warn_window(struct monitor *m, struct sp_problem *p)
{
    PGresult *r = sp_db_exec(m->db, &m->page, &longest_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    int64_t minutes = sp_db_int(r, 0, 0);
    for (int i = 0; i < SP_PRIORITY_MAX; i++) {
        struct sp_sla_targets t = sp_sla_default_targets((enum sp_priority)i);
        if (t.first_response_minutes > minutes)
            minutes = t.first_response_minutes;
        if (t.resolution_minutes > minutes)
            minutes = t.resolution_minutes;
    }
    if (minutes > SP_SLA_MAX_MINUTES)
        minutes = SP_SLA_MAX_MINUTES;
    double f = m->o->warn_fraction > 0.0 ? m->o->warn_fraction : 0.0; /* also NaN */
    if (f > 1.0)
        f = 1.0;
    format_ts(m->warn_until, m->o->now + (int64_t)((double)(minutes * MINUTE_MS) * f) + 1);
    return SP_OK;
}

static enum sp_rc
acquire(struct monitor *m, struct sp_problem *p)
{
    if (m->o->dry_run)
        return SP_OK; /* it writes nothing, so it never keeps the real job out */
    if (sp_db_job_lock(m->db, &m->page, SP_SLA_MONITOR_LOCK_KEY, "sla_monitor_busy", p) !=
        SP_OK)
        return p->rc;
    m->backend_pid = PQbackendPID(m->db->conn);
    return SP_OK;
}

static void
release(struct monitor *m)
{
    if (m->backend_pid == 0 || m->db->conn == NULL || PQbackendPID(m->db->conn) != m->backend_pid)
        return; /* never taken, or gone with its session */
    sp_db_job_unlock(m->db, &m->page, SP_SLA_MONITOR_LOCK_KEY);
    m->backend_pid = 0;
}

/* The pass line of every job (job_log.h), with the clock it ran at. */
static void
log_pass(const struct monitor *m, enum sp_rc rc, const struct sp_problem *p)
{
    struct sp_log_line *l = sp_log_begin(sp_db_job_log_level(rc, p), "sla_monitor_pass");
    sp_log_str(l, "now", m->now);
    SP_LOG_COUNTS(l, SP_SLA_MONITOR_COUNTS, m->n);
    sp_log_int(l, "dry_run", m->o->dry_run);
    sp_db_job_log_detail(l, rc, p);
    sp_log_end(l);
}

enum sp_rc
sp_sla_monitor_pass(struct sp_db *db, const struct sp_sla_monitor_opts *opts,
                    struct sp_sla_monitor_counts *n, struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    struct monitor m;
    memset(&m, 0, sizeof(m));
    m.db = db;
    m.o = opts;
    m.n = n;
    m.batch = opts->batch > 0 ? opts->batch : SP_SLA_MONITOR_BATCH;
    sp_arena_init(&m.page, 16 * 1024);
    sp_arena_init(&m.work, 16 * 1024);
    /* It routes waiting tickets (under the cap routing applies at
     * intake); rules only matter at intake. */
    m.ctx = (struct sp_ctx){.arena = &m.work, .db = db, .rules = NULL,
                            .agent_max_open = opts->agent_max_open,
                            .customer_channels = opts->customer_channels};
    snprintf(m.max_open, sizeof(m.max_open), "%ld", opts->agent_max_open);
    format_ts(m.now, opts->now);
    long days = opts->autoclose_days > 0 ? opts->autoclose_days : 0;
    format_ts(m.close_before, opts->now - (int64_t)days * DAY_MS);

    enum sp_rc rc = acquire(&m, p);
    if (rc == SP_OK)
        rc = warn_window(&m, p);
    for (size_t i = 0; rc == SP_OK && i < sizeof(steps) / sizeof(steps[0]); i++)
        rc = stopping(&m) ? sp_db_job_stop(p) : run_step(&m, &steps[i], p);
    release(&m);
    log_pass(&m, rc, p);
    sp_arena_destroy(&m.work);
    sp_arena_destroy(&m.page);
    return rc;
}
