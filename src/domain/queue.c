/*
 * queue: the agent queue query builder. See queue.h.
 */
#include "domain/queue.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ids.h"
#include "db/db.h"

const char *const sp_queue_sort_names[SP_SORT_MAX + 1] = {
    "sla_due_at", "-priority", "created_at", "-created_at", "updated_at", "-updated_at", NULL,
};

/* -priority: the most urgent first, ties by the earliest sla_due_at
 * (NULLs last), then id. The order is one ascending row, (-priority_rank,
 * due or infinity, id), the key of sql/044's indexes, so a cursor is one
 * row comparison the index seeks to. The cursor's single value packs rank
 * and due: rank * 2^56 + due in microseconds since the epoch (clamped to
 * [0, 2^56 - 2], years 1970-4253), 2^56 - 1 for no due. */
#define PRIORITY_ORDER "(-t.priority_rank), coalesce(t.sla_due_at, 'infinity'::timestamptz), t.id"
#define PRIORITY_DUE_SLOT INT64_C(72057594037927936) /* 2^56 */
#define PRIORITY_KEY                                                                               \
    "(t.priority_rank::bigint * 72057594037927936 + CASE WHEN t.sla_due_at IS NULL"                \
    " THEN 72057594037927935 ELSE least(greatest("                                                 \
    "(extract(epoch FROM t.sla_due_at) * 1000000)::bigint, 0), 72057594037927934) END)"

/* Sort key column (as a bigint for the cursor), direction, and whether the
 * key can be NULL (sla_due_at: NULLs sort last). -priority's column and
 * direction are unused (PRIORITY_ORDER). */
static const struct {
    const char *key;     /* SQL expression of the key as bigint */
    const char *column;  /* the indexed column */
    bool desc;
    bool nullable;
} sorts[SP_SORT_MAX] = {
    [SP_SORT_SLA_DUE] = {"(extract(epoch FROM t.sla_due_at) * 1000000)::bigint", "t.sla_due_at",
                         false, true},
    [SP_SORT_PRIORITY_DESC] = {PRIORITY_KEY, "t.priority_rank", true, false},
    [SP_SORT_CREATED] = {"(extract(epoch FROM t.created_at) * 1000000)::bigint", "t.created_at",
                         false, false},
    [SP_SORT_CREATED_DESC] = {"(extract(epoch FROM t.created_at) * 1000000)::bigint",
                              "t.created_at", true, false},
    [SP_SORT_UPDATED] = {"(extract(epoch FROM t.updated_at) * 1000000)::bigint", "t.updated_at",
                         false, false},
    [SP_SORT_UPDATED_DESC] = {"(extract(epoch FROM t.updated_at) * 1000000)::bigint",
                              "t.updated_at", true, false},
};

struct query {
    struct sp_buf sql;
    const char *params[16];
    int nparams;
};

/* Adds a parameter and returns its placeholder number. */
static int
param(struct query *q, const char *value)
{
    q->params[q->nparams] = value;
    return ++q->nparams;
}

/* An enum set inlined as a literal array: values come from our tables. */
static void
enum_set(struct sp_buf *b, const char *column, const bool *set, int n,
         const char *(*name)(int))
{
    sp_buf_printf(b, " AND %s IN (", column);
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (!set[i])
            continue;
        sp_buf_printf(b, "%s'%s'", first ? "" : ", ", name(i));
        first = false;
    }
    sp_buf_putc(b, ')');
}

static const char *
status_name(int i)
{
    return sp_status_name((enum sp_status)i);
}

static const char *
priority_name(int i)
{
    return sp_priority_name((enum sp_priority)i);
}

static bool
any(const bool *set, int n)
{
    for (int i = 0; i < n; i++)
        if (set[i])
            return true;
    return false;
}

/* The WHERE clause into b; its values become parameters of q. */
static void
where(struct sp_ctx *ctx, const struct sp_queue_filter *f, struct query *q, struct sp_buf *b)
{
    struct sp_arena *a = ctx->arena;
    sp_buf_puts(b, " WHERE true");
    enum_set(b, "t.status", f->statuses, SP_STATUS_MAX, status_name);
    if (any(f->priorities, SP_PRIORITY_MAX))
        enum_set(b, "t.priority", f->priorities, SP_PRIORITY_MAX, priority_name);
    if (f->ncategories > 0)
        sp_buf_printf(b, " AND t.category_id IN (SELECT id FROM support_categories"
                         " WHERE slug = ANY ($%d::text[]))",
                      param(q, sp_db_text_array(a, f->categories, f->ncategories)));
    switch (f->assigned) {
    case SP_ASSIGNED_NONE: sp_buf_puts(b, " AND t.assigned_agent_id IS NULL"); break;
    case SP_ASSIGNED_ANY: sp_buf_puts(b, " AND t.assigned_agent_id IS NOT NULL"); break;
    case SP_ASSIGNED_AGENT:
        sp_buf_printf(b, " AND t.assigned_agent_id = $%d::bigint",
                      param(q, sp_arena_sprintf(a, "%lld", f->assigned_agent)));
        break;
    case SP_ASSIGNED_USER:
        sp_buf_printf(b, " AND t.assigned_agent_id = (SELECT id FROM support_agents"
                         " WHERE user_id = $%d)",
                      param(q, f->assigned_user));
        break;
    case SP_ASSIGNED_ANY_OR_NONE: break;
    }
    if (f->sla_breached || f->sla_due_soon || f->sla_ok) {
        /* breached: marked, or a running target already passed (before the
         * monitor noticed); due_soon: within 60 minutes; ok: neither. */
        sp_buf_puts(b, " AND (false");
        if (f->sla_breached)
            sp_buf_puts(b, " OR " SP_TICKET_SLA_BREACHED("t"));
        if (f->sla_due_soon)
            sp_buf_puts(b, " OR (NOT t.sla_breached AND t.sla_due_at >= now()"
                           " AND t.sla_due_at < now() + interval '60 minutes')");
        if (f->sla_ok)
            sp_buf_puts(b, " OR (NOT t.sla_breached AND (t.sla_due_at IS NULL"
                           " OR t.sla_due_at >= now() + interval '60 minutes'))");
        sp_buf_putc(b, ')');
    }
    if (f->q != NULL) {
        int n = param(q, f->q);
        /* The ticket's document holds subject, description and every
         * message (sql/028): one GIN scan, partial over the working
         * states when the status filter stays within them; the query
         * asks for words as written and folded (sql/057). A q that
         * reads as a public id (any case) finds that ticket too: agents
         * paste ids into the search box (a BitmapOr with the unique
         * index). */
        char id[SP_PUBLIC_ID_LEN + 1];
        if (sp_public_id_read(f->q, id))
            sp_buf_printf(b, " AND (t.public_id = $%d OR t.search @@ support_ticket_query($%d))",
                          param(q, sp_arena_strdup(ctx->arena, id)), n);
        else
            sp_buf_printf(b, " AND t.search @@ support_ticket_query($%d)", n);
    }
    if (f->customer_id != NULL)
        sp_buf_printf(b, " AND t.customer_id = $%d", param(q, f->customer_id));
    if (f->ncustomer_email_index > 0)
        sp_buf_printf(b, " AND t.customer_id IN (SELECT customer_id FROM support_contacts"
                         " WHERE email_index = ANY ($%d::text[]))",
                      param(q, sp_db_text_array(a, f->customer_email_index,
                                                f->ncustomer_email_index)));
    if (f->created_after != NULL)
        sp_buf_printf(b, " AND t.created_at >= $%d::timestamptz", param(q, f->created_after));
    if (f->created_before != NULL)
        sp_buf_printf(b, " AND t.created_at < $%d::timestamptz", param(q, f->created_before));
}

/* -priority's "after the cursor": the packed value (PRIORITY_KEY) taken
 * apart; any value decodes to a rank in smallint's range, so a tampered
 * cursor pages somewhere rather than failing. */
static void
after_priority_cursor(struct sp_arena *a, const struct sp_cursor_key *k, struct query *q,
                      struct sp_buf *b)
{
    long long rank = k->value / PRIORITY_DUE_SLOT, due = k->value % PRIORITY_DUE_SLOT;
    if (due < 0) {
        due += PRIORITY_DUE_SLOT;
        rank--;
    }
    int r = param(q, sp_arena_sprintf(a, "%lld", -rank));
    const char *due_sql = "'infinity'::timestamptz";
    if (due != PRIORITY_DUE_SLOT - 1)
        due_sql = sp_arena_sprintf(a, "('epoch'::timestamptz + $%d::bigint"
                                      " * interval '1 microsecond')",
                                   param(q, sp_arena_sprintf(a, "%lld", due)));
    int id = param(q, sp_arena_sprintf(a, "%lld", k->id));
    sp_buf_printf(b, " AND (" PRIORITY_ORDER ") > ($%d::smallint, %s, $%d::bigint)", r, due_sql,
                  id);
}

/* 0001-01-01 and 9999-12-31T23:59:59.999999Z in microseconds since the
 * epoch. */
#define CURSOR_MICROS_MIN (-62135596800000000LL)
#define CURSOR_MICROS_MAX 253402300799999999LL

/* Keyset condition "after the cursor" in the sort's order. */
static void
after_cursor(struct sp_ctx *ctx, const struct sp_queue_filter *f, struct query *q,
             struct sp_buf *b)
{
    if (!f->has_cursor)
        return;
    struct sp_arena *a = ctx->arena;
    if (f->sort == SP_SORT_PRIORITY_DESC) {
        after_priority_cursor(a, &f->cursor, q, b);
        return;
    }
    const char *col = sorts[f->sort].column;
    const char *cmp = sorts[f->sort].desc ? "<" : ">";
    int id = param(q, sp_arena_sprintf(a, "%lld", f->cursor.id));
    if (sorts[f->sort].nullable && !f->cursor.has_value) {
        sp_buf_printf(b, " AND %s IS NULL AND t.id > $%d::bigint", col, id);
        return;
    }
    /* A tampered value pages somewhere rather than failing: the years 1 to
     * 9999 hold every ticket, past them PostgreSQL refuses the timestamp
     * (QA: a logged "interval out of range" and a 422 naming no field). */
    long long micros = f->cursor.value < CURSOR_MICROS_MIN   ? CURSOR_MICROS_MIN
                       : f->cursor.value > CURSOR_MICROS_MAX ? CURSOR_MICROS_MAX
                                                             : f->cursor.value;
    int v = param(q, sp_arena_sprintf(a, "%lld", micros));
    const char *value = sp_arena_sprintf(a, "('epoch'::timestamptz + $%d::bigint"
                                            " * interval '1 microsecond')", v);
    sp_buf_printf(b, " AND ((%s, t.id) %s (%s, $%d::bigint)", col, cmp, value, id);
    if (sorts[f->sort].nullable)
        sp_buf_printf(b, " OR %s IS NULL", col);
    sp_buf_putc(b, ')');
}

/* Full-text matches outside the working states: their GIN index covers
 * the whole table, and a sort order's index walk finds a rare word's
 * tickets only after reading most of it (0.8-1 s at a million tickets for
 * a word in one ticket), while a common word's are found early in the
 * walk. So the statement first collects at most Q_CANDIDATES + 1 matches
 * with no order (the GIN for a rare word) and, when they are all there
 * are, sorts those; only past the bound does it walk the sort's index.
 * Either branch gives the same page; the other one is cut off by a
 * one-time filter and never runs (docs/performance.md, "Full-text search
 * outside the working states"). */
#define Q_CANDIDATES 500

static bool
within_working_states(const bool *statuses)
{
    for (int i = 0; i < SP_STATUS_MAX; i++)
        if (statuses[i] && i != SP_STATUS_OPEN && i != SP_STATUS_IN_PROGRESS &&
            i != SP_STATUS_PENDING_CUSTOMER)
            return false;
    return true;
}

/* The page's rows of support_tickets (t.*), chosen by the filters, the
 * cursor, the order and the limit. */
static void
page_rows(struct sp_ctx *ctx, const struct sp_queue_filter *f, struct query *q,
          const char *order)
{
    struct sp_buf cond;
    sp_buf_init(&cond, ctx->arena, 512);
    where(ctx, f, q, &cond);
    after_cursor(ctx, f, q, &cond);
    int limit = f->limit + 1;
    if (f->q == NULL || within_working_states(f->statuses)) {
        sp_buf_printf(&q->sql, "(SELECT t.* FROM support_tickets t%s%s LIMIT %d)", cond.data,
                      order, limit);
        return;
    }
    sp_buf_printf(&q->sql,
                  "(WITH c AS MATERIALIZED (SELECT t.* FROM support_tickets t%s LIMIT %d)"
                  " (SELECT t.* FROM c t WHERE (SELECT count(*) FROM c) <= %d%s LIMIT %d)"
                  " UNION ALL (SELECT t.* FROM support_tickets t%s"
                  " AND (SELECT count(*) FROM c) > %d%s LIMIT %d))",
                  cond.data, Q_CANDIDATES + 1, Q_CANDIDATES, order, limit, cond.data,
                  Q_CANDIDATES, order, limit);
}

/* The page's statement. The page is chosen first (filters, order, limit
 * on support_tickets alone) and only its rows are joined and formatted:
 * a view whose index does not give the order (assigned=me by newest, a
 * full-text match) sorts every match, and the rows of a sort's input are
 * projected before it — ten to_char() calls and four joins per matching
 * ticket instead of per shown one. The outer ORDER BY restores the order
 * the joins may lose.
 *
 * The limit is a literal (an int, API.md §1: 1..100, + 1), never a
 * parameter: PostgreSQL costs a generic plan's "LIMIT $n" as 10 % of the
 * rows, so it would judge every generic plan dearer than a custom one and
 * plan the statement again on every execution (~0.5-1 ms of PostgreSQL
 * CPU per request at a million tickets). With the literal, the default
 * view has no parameters and is planned once per connection; the others
 * switch to their generic plan after five executions (docs/performance.md,
 * "Work queue: planned once"). */
static void
page_sql(struct sp_ctx *ctx, const struct sp_queue_filter *f, struct query *q)
{
    const char *dir = sorts[f->sort].desc ? "DESC" : "ASC";
    char order[160];
    if (f->sort == SP_SORT_PRIORITY_DESC)
        snprintf(order, sizeof(order), " ORDER BY " PRIORITY_ORDER);
    else
        snprintf(order, sizeof(order), " ORDER BY %s %s%s, t.id %s", sorts[f->sort].column, dir,
                 sorts[f->sort].nullable ? " NULLS LAST" : "", dir);
    sp_buf_init(&q->sql, ctx->arena, 2048);
    sp_buf_printf(&q->sql, "SELECT %s, %s FROM ", sp_ticket_columns, sorts[f->sort].key);
    page_rows(ctx, f, q, order);
    sp_buf_printf(&q->sql, " t%s%s", sp_ticket_joins, order);
}

enum sp_rc
sp_queue_search(struct sp_ctx *ctx, const struct sp_queue_filter *f, struct sp_queue_page *out,
                struct sp_problem *p)
{
    struct query q = {.nparams = 0};
    page_sql(ctx, f, &q);
    PGresult *r = sp_db_exec_dynamic(ctx->db, ctx->arena, q.sql.data, q.nparams, true, q.params,
                                      p);
    if (r == NULL)
        return p->rc;
    int n = PQntuples(r);
    out->items = sp_arena_calloc(ctx->arena, (size_t)n + 1, sizeof(*out->items));
    out->n = 0;
    for (int i = 0; i < n && i < f->limit; i++)
        sp_ticket_read_row(r, i, &out->items[out->n++]);
    out->has_next = n > f->limit;
    if (out->has_next) {
        int last = f->limit - 1;
        out->next.id = out->items[last].id;
        out->next.has_value = !PQgetisnull(r, last, SP_TICKET_NCOLS);
        out->next.value = sp_db_int(r, last, SP_TICKET_NCOLS);
    }
    return SP_OK;
}
