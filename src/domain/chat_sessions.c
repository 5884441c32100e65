/*
 * chat_sessions: sessions and their messages. See chat_sessions.h.
 */
#include "domain/chat_sessions.h"

#include "domain/agents.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/sanitize.h"
#include "db/db.h"
#include "domain/attachments.h"
#include "domain/categories.h"
#include "domain/contacts.h"
#include "domain/routing.h"
#include "domain/ticket_subject.h"

/* The status of session row s as everybody is told it: an expired
 * session is closed — nobody may send to, accept or join it (lock_stmt,
 * AUTH_INFO_COLS) — though the archive job closes its row later (QA: its
 * GET still said "active"). */
#define SESSION_STATUS(s) \
    "CASE WHEN " s ".expires_at <= now() THEN 'closed' ELSE " s ".status END"

/* The display name of agent row id (an SQL expression; NULL: none). */
#define AGENT_NAME(id) "(SELECT g.display_name FROM support_agents g WHERE g.id = " id ")"

/* A session's columns (SELECT list and enum together, db.h). */
#define SESSION_COLUMNS(C, SEP)                                                           \
    C(SC_ID, "s.id", int, id) SEP C(SC_PUBLIC_ID, "s.public_id", str, public_id) SEP      \
    C(SC_CUSTOMER_ID, "s.customer_id", str, customer_id) SEP                              \
    C(SC_STATUS, SESSION_STATUS("s"), str, status) SEP                                    \
    C(SC_CATEGORY, "c.slug", str, category) SEP                                           \
    C(SC_AGENT, "coalesce(s.assigned_agent_id, 0)", int, assigned_agent_id) SEP           \
    C(SC_AGENT_NAME, AGENT_NAME("s.assigned_agent_id"), str, assigned_agent_name) SEP      \
    C(SC_TICKET, "t.public_id", str, ticket_public_id) SEP                                \
    C(SC_METADATA, "s.metadata::text", str, metadata_json) SEP                            \
    C(SC_STARTED_AT, "support_ts(s.started_at)", str, started_at) SEP                     \
    C(SC_ENDED_AT, "support_ts(s.ended_at)", str, ended_at) SEP                           \
    C(SC_EXPIRES_AT, "support_ts(s.expires_at)", str, expires_at) SEP                     \
    C(SC_LAST_MESSAGE_AT, "support_ts(s.last_message_at)", str, last_message_at)
#define SESSION_COLS SESSION_COLUMNS(SP_COL_SQL, ", ")
enum session_column { SESSION_COLUMNS(SP_COL_ENUM, ) SC_COUNT };
#define SESSION_JOINS                                                               \
    " LEFT JOIN support_categories c ON c.id = s.category_id"                       \
    " LEFT JOIN support_tickets t ON t.id = s.ticket_id"
/* The agent (row id) message m is from, or a system message names
 * (sp_chat_message.agent_id); NULL: none. Staff send as their user id. */
#define MESSAGE_AGENT                                                                      \
    "CASE m.sender_type WHEN 'agent' THEN (SELECT g.id FROM support_agents g"              \
    " WHERE g.user_id = m.sender_id) WHEN 'system' THEN (m.payload->>'agent_id')::bigint END"
/* A message's columns, from col on in a row (same scheme), of a row
 * named m with the table's columns. */
#define CHAT_MESSAGE_COLUMNS(C, SEP)                                                       \
    C(CM_ID, "m.id", int, id) SEP C(CM_SEQ, "m.seq", int, seq) SEP                          \
    C(CM_SENDER_TYPE, "m.sender_type", str, sender_type) SEP                               \
    C(CM_SENDER_ID, "m.sender_id", str, sender_id) SEP C(CM_BODY, "m.body", str, body) SEP \
    C(CM_CLIENT_ID, "m.client_id", str, client_id) SEP                                     \
    C(CM_CREATED_AT, "support_ts(m.created_at)", str, created_at) SEP                      \
    C(CM_ATTACHMENTS, "m.attachments::text", str, attachments_json) SEP                    \
    C(CM_EVENT, "m.payload->>'event'", opt_str, event) SEP                                 \
    C(CM_AGENT, "coalesce(" MESSAGE_AGENT ", 0)", int, agent_id) SEP                       \
    C(CM_SENDER_NAME, AGENT_NAME(MESSAGE_AGENT), str, sender_name)
#define MESSAGE_COLS CHAT_MESSAGE_COLUMNS(SP_COL_SQL, ", ")
enum chat_message_column { CHAT_MESSAGE_COLUMNS(SP_COL_ENUM, ) CM_COUNT };
/* A NULL for each of those columns (a row that has no message). */
#define NULL_COL(name, expr, read, member) ", NULL"
#define NO_MESSAGE CHAT_MESSAGE_COLUMNS(NULL_COL, )

/* The data of a chat event (API.md §11): the session as agents see it. */
#define CHAT_EVENT_DATA(s)                                                                   \
    "jsonb_build_object('session_id', " s ".public_id, 'status', " s ".status,"            \
    " 'customer_id', " s ".customer_id, 'assigned_agent_id', " s ".assigned_agent_id,"      \
    " 'category', (SELECT slug FROM support_categories WHERE id = " s ".category_id),"     \
    " 'started_at', support_ts(" s ".started_at))"

static struct sp_stmt create_stmt = SP_STMT(
    "chat_create",
    "WITH s AS ("
    "  INSERT INTO support_chat_sessions (public_id, session_token, customer_id, category_id,"
    "    status, assigned_agent_id, metadata, expires_at, last_message_at)"
    "  VALUES ($1, decode($2, 'hex'), $3, nullif($4::bigint, 0),"
    "    CASE WHEN $5::bigint > 0 THEN 'active' ELSE 'waiting' END, nullif($5::bigint, 0),"
    "    coalesce($6::jsonb, '{}'), now() + $7::int * interval '1 minute',"
    "    CASE WHEN $8::text IS NOT NULL THEN now() END)"
    "  ON CONFLICT (public_id) DO NOTHING"
    "  RETURNING *"
    "), m AS ("
    "  INSERT INTO support_chat_messages (session_id, sender_type, sender_id, body)"
    "  SELECT s.id, 'customer', s.customer_id, $8 FROM s WHERE $8::text IS NOT NULL"
    "  RETURNING id, seq, created_at"
    "), o AS ("
    "  INSERT INTO support_outbox (kind, event_type, channel, payload)"
    "  SELECT 'webhook', 'chat.session_created', 'webhook', " CHAT_EVENT_DATA("s")
    "  FROM s"
    ")"
    " SELECT " SESSION_COLS ", (SELECT id FROM m), (SELECT support_ts(created_at) FROM m),"
    " (SELECT seq FROM m)"
    " FROM s" SESSION_JOINS,
    8);

/* Creations of one customer's sessions are serialized, and the open ones
 * then counted after the lock (sp_db_exec_locked), seeing every creation
 * committed before it was granted. */
static struct sp_stmt customer_lock_stmt = SP_STMT(
    "chat_customer_lock",
    "SELECT pg_advisory_xact_lock(7311948, hashtext('chat-open:' || $1))", 1);

static struct sp_stmt open_count_stmt = SP_STMT(
    "chat_open_count",
    "SELECT count(*) FROM support_chat_sessions"
    " WHERE customer_id = $1 AND status <> 'closed' AND expires_at > now()",
    1);

static struct sp_stmt get_stmt = SP_STMT_READ(
    "chat_get",
    "SELECT " SESSION_COLS " FROM support_chat_sessions s" SESSION_JOINS
    " WHERE s.public_id = $1 AND ($2::text IS NULL OR s.customer_id = $2)",
    2);

static struct sp_stmt messages_stmt = SP_STMT_READ(
    "chat_messages",
    "SELECT " MESSAGE_COLS " FROM support_chat_messages m"
    " WHERE m.session_id = $1::bigint AND m.seq > $2::bigint ORDER BY m.seq LIMIT $3::int",
    3);

/* The lock a send takes on its session before it stores anything: the
 * row lock the insert's trigger takes anyway to number the message and
 * touch last_message_at (FOR NO KEY UPDATE, sql/077: held to commit, it
 * makes seq order commit order), taken first. Conversion, close,
 * accept, transfer and the archive job lock the row FOR UPDATE, which
 * conflicts with it: a send that comes while one of them holds the row
 * waits for its commit and then reads the row as it left it (READ
 * COMMITTED re-checks a locked row), so a message is either stored
 * before the chat became a ticket (and is in its transcript) or refused
 * as closed — a plain read did not wait and stored it after the
 * `closed` message (QA). Not FOR SHARE: two sends holding it would each
 * wait for the other's before their touch; nor a weaker lock to be
 * raised for the touch while a closer waits. */
#define SEND_LOCK " FOR NO KEY UPDATE"

/* Insert, or find the message a resend already stored (same sender, same
 * client_id: another participant's client_id is not this one's). Staff
 * (sender type agent) write only to a chat an agent has: may is empty
 * for a waiting one, and the refusal row's last column says why (NULL:
 * closed). The insert's trigger numbers the message and touches the
 * session's last_message_at (sql/077). */
static struct sp_stmt post_stmt = SP_STMT(
    "chat_post",
    "WITH open AS ("
    "  SELECT id, status FROM support_chat_sessions"
    "  WHERE id = $1::bigint AND status <> 'closed' AND expires_at > now()" SEND_LOCK
    "), may AS ("
    "  SELECT id FROM open WHERE NOT (status = 'waiting' AND $2 = 'agent')"
    "), ins AS ("
    "  INSERT INTO support_chat_messages (session_id, sender_type, sender_id, body, client_id)"
    "  SELECT id, $2, $3, $4, $5 FROM may"
    "  ON CONFLICT (session_id, sender_type, sender_id, client_id) DO NOTHING"
    "  RETURNING *"
    ")"
    " SELECT false, NULL, " MESSAGE_COLS " FROM ins m"
    " UNION ALL"
    " SELECT true, NULL, " MESSAGE_COLS " FROM support_chat_messages m"
    " WHERE m.session_id = $1::bigint AND m.client_id = $5 AND m.sender_type = $2"
    "   AND m.sender_id = $3 AND NOT EXISTS (SELECT 1 FROM ins)"
    " UNION ALL"
    " SELECT NULL, (SELECT status FROM open)" NO_MESSAGE
    " WHERE NOT EXISTS (SELECT 1 FROM may)",
    5);

static struct sp_stmt lock_stmt = SP_STMT(
    "chat_lock",
    "SELECT s.id, " SESSION_STATUS("s") ", coalesce(s.assigned_agent_id, 0)"
    " FROM support_chat_sessions s"
    " WHERE s.public_id = $1 AND ($2::text IS NULL OR s.customer_id = $2) FOR UPDATE",
    2);

/* Whom a transfer took the chat from (prev: the session's agent before
 * it, read in the statement's snapshot, i.e. before u's update; NULL
 * for a waiting chat) and gave it to ($2): the ids for every delivery,
 * the display names for staff notifications only (templates/mail
 * chat_transferred*: staff mails name both; no names leave by webhook). */
#define TRANSFER_DATA                                                                      \
    "jsonb_build_object('previous_agent_id', (SELECT id FROM prev))"                        \
    " || CASE WHEN x.kind = 'notification' THEN jsonb_build_object("                       \
    "  'previous_agent_name', (SELECT g.display_name FROM support_agents g"                \
    "    WHERE g.id = (SELECT id FROM prev)),"                                              \
    "  'assigned_agent_name', (SELECT g.display_name FROM support_agents g"                \
    "    WHERE g.id = $2::bigint)) ELSE '{}' END"

/* Every assignment, however made, activates the session, stamps the
 * agent's last_assigned_at and stores the system message saying why
 * (API.md §5.3–5.4, §7): $3 its body naming the agent (a format() string
 * taking the display name), $7 the body for an agent without a name, $4
 * its event; a transfer also queues its deliveries (API.md §11). */
static struct sp_stmt assign_stmt = SP_STMT(
    "chat_assign",
    "WITH prev AS ("
    "  SELECT assigned_agent_id AS id FROM support_chat_sessions WHERE id = $1::bigint"
    "), u AS ("
    "  UPDATE support_chat_sessions SET status = 'active', assigned_agent_id = $2::bigint,"
    "    updated_at = now() WHERE id = $1::bigint RETURNING *"
    "), a AS ("
    "  UPDATE support_agents SET last_assigned_at = clock_timestamp() WHERE id = $2::bigint"
    "), o AS ("
    /* A transfer is a webhook event, and tells the new agent and the
     * category's staff ($5 the channel, $6 the recipients: sp_route_staff_to,
     * the new agent left out of a skill's holders): separate staff rows,
     * so a shared SUPPORT_STAFF_MAIL inbox gets a mail for each, each
     * naming whom it is for. */
    "  INSERT INTO support_outbox (kind, event_type, channel, recipient, payload)"
    "  SELECT x.kind, 'chat.transferred', x.channel, x.recipient,"
    "    " CHAT_EVENT_DATA("u") " || " TRANSFER_DATA
    "  FROM u CROSS JOIN LATERAL (VALUES ('webhook', 'webhook', NULL),"
    "                  ('notification', 'agent', $2::text)"
    "       UNION ALL SELECT 'notification', $5::text, s.id FROM unnest($6::text[]) AS s(id)"
    "         WHERE NOT ($5::text = 'agent' AND s.id = $2::text))"
    "       AS x(kind, channel, recipient)"
    "  WHERE $4::text = 'transferred'"
    ")"
    " INSERT INTO support_chat_messages (session_id, sender_type, body, payload)"
    " SELECT id, 'system', coalesce((SELECT format($3, "
    SP_CHAT_HTML_ESCAPE("g.display_name") ") FROM support_agents g"
    "   WHERE g.id = $2::bigint AND g.display_name <> ''), $7),"
    "  jsonb_build_object('event', $4::text, 'agent_id', $2::bigint)"
    " FROM u",
    7);

enum assign_event { AGENT_JOINED, TRANSFERRED };

/* Gives session id (decimal text) to agent_id (see assign_stmt); staff:
 * whom a transfer also tells (NULL when it is not one). */
static enum sp_rc
assign(struct sp_ctx *ctx, const char *session_id, long long agent_id, enum assign_event e,
       const struct sp_route_staff *staff, struct sp_problem *p)
{
    /* The note names the agent, as the frame's agent_name does ("Ada
     * joined the chat.", the name escaped: a body is HTML); without a
     * display name it says "an agent". */
    static const char *const message[][3] = {
        [AGENT_JOINED] = {"%s joined the chat.", "An agent joined the chat.", "agent_joined"},
        [TRANSFERRED] = {"The chat was transferred to %s.",
                         "The chat was transferred to another agent.", "transferred"},
    };
    const char *params[7] = {
        session_id, sp_arena_sprintf(ctx->arena, "%lld", agent_id), message[e][0], message[e][2],
        staff ? staff->channel : NULL,
        staff ? sp_db_text_array(ctx->arena, staff->recipients, staff->n) : NULL, message[e][1]};
    return sp_db_exec(ctx->db, ctx->arena, &assign_stmt, params, p) == NULL ? p->rc : SP_OK;
}

/* Notes chat public_id's change (event NULL: agent_joined) in
 * ctx->chat_joins, newest first, for its frame after commit; nothing when
 * the caller keeps no notes. */
static void
note_join(struct sp_ctx *ctx, const char *public_id, long long agent_id, const char *event)
{
    if (ctx->chat_joins == NULL)
        return;
    struct sp_chat_join *j = sp_arena_alloc(ctx->arena, sizeof(*j));
    *j = (struct sp_chat_join){public_id, agent_id, ctx->chat_joins->first, event};
    ctx->chat_joins->first = j;
}

enum sp_rc
sp_chat_route_waiting(struct sp_ctx *ctx, long long agent_id, struct sp_problem *p)
{
    struct sp_waiting_chat *w;
    size_t n;
    if (sp_route_chat_waiting(ctx, agent_id, &w, &n, p) != SP_OK)
        return p->rc;
    for (size_t i = 0; i < n; i++) {
        /* The assignment of a chat routed at its creation (sp_chat_create). */
        if (assign(ctx, w[i].id, agent_id, AGENT_JOINED, NULL, p) != SP_OK)
            return p->rc;
        note_join(ctx, w[i].public_id, agent_id, NULL);
    }
    return SP_OK;
}

/* The chats agent $1 is in (active, not expired), in id order. */
#define AGENT_CHATS                                                                         \
    "SELECT id FROM support_chat_sessions WHERE assigned_agent_id = $1::bigint"              \
    " AND status = 'active' AND expires_at > now()"
static struct sp_stmt agent_chats_lock_stmt =
    SP_STMT("chat_agent_chats_lock", AGENT_CHATS " ORDER BY id FOR UPDATE", 1);

/* Back to waiting, without an agent, with the `agent_left` system
 * message; the chats' public ids. */
static struct sp_stmt return_stmt = SP_STMT(
    "chat_return",
    "WITH u AS ("
    "  UPDATE support_chat_sessions SET status = 'waiting', assigned_agent_id = NULL,"
    "    updated_at = now() WHERE id IN (" AGENT_CHATS ") RETURNING id, public_id"
    "), m AS ("
    "  INSERT INTO support_chat_messages (session_id, sender_type, body, payload)"
    "  SELECT id, 'system', 'The agent left the chat. The next free agent will join you.',"
    "    jsonb_build_object('event', 'agent_left', 'agent_id', $1::bigint) FROM u"
    ") SELECT public_id FROM u",
    1);

enum sp_rc
sp_chat_lock_agent_chats(struct sp_ctx *ctx, long long agent_id, struct sp_problem *p)
{
    return sp_db_exec_id(ctx->db, ctx->arena, &agent_chats_lock_stmt, agent_id, p) == NULL ? p->rc
                                                                                           : SP_OK;
}

enum sp_rc
sp_chat_return_agent_chats(struct sp_ctx *ctx, long long agent_id, struct sp_problem *p)
{
    PGresult *r = sp_db_exec_id(ctx->db, ctx->arena, &return_stmt, agent_id, p);
    if (r == NULL)
        return p->rc;
    for (int i = 0; i < PQntuples(r); i++)
        note_join(ctx, sp_db_str(r, i, 0), agent_id, "agent_left");
    return SP_OK;
}

/* Answers the agent the chat was with (0: none; no row: it was closed). */
static struct sp_stmt close_stmt = SP_STMT(
    "chat_close",
    "WITH u AS ("
    "  UPDATE support_chat_sessions SET status = 'closed', ended_at = now(), updated_at = now()"
    "  WHERE id = $1::bigint AND status <> 'closed' RETURNING id, assigned_agent_id"
    "), m AS ("
    "  INSERT INTO support_chat_messages (session_id, sender_type, body, payload)"
    "  SELECT id, 'system', 'The chat was closed.', jsonb_build_object('event', 'closed')"
    "  FROM u"
    ") SELECT coalesce(assigned_agent_id, 0) FROM u",
    1);

/* A session row; the row reader of lists and lookups (sp_db_page_read,
 * sp_db_one). */
SP_ROW_READER(read_session, struct sp_chat_session, SESSION_COLUMNS)

/* The queue: sessions, then their customer's first message (body and
 * time) after the session's columns (one index probe per row on
 * support_chat_messages_session). */
enum { LIST_PREVIEW = SC_COUNT, LIST_PREVIEW_AT };
static struct sp_stmt list_stmt = SP_STMT_READ(
    "chat_list",
    "SELECT " SESSION_COLS ", fm.body, support_ts(fm.created_at)"
    " FROM support_chat_sessions s" SESSION_JOINS
    " LEFT JOIN LATERAL (SELECT m.body, m.created_at FROM support_chat_messages m"
    "   WHERE m.session_id = s.id AND m.sender_type = 'customer' ORDER BY m.id LIMIT 1) fm"
    "   ON true"
    " WHERE s.status = $1 AND ($2::bigint = 0 OR s.assigned_agent_id = $2::bigint)"
    "   AND s.expires_at > now() AND s.id > $3::bigint"
    " ORDER BY s.id LIMIT $4::int",
    4);

static void
read_queued(const PGresult *r, int row, void *item)
{
    struct sp_chat_session *s = item;
    read_session(r, row, item);
    s->preview = sp_db_str(r, row, LIST_PREVIEW);
    s->preview_at = sp_db_str(r, row, LIST_PREVIEW_AT);
}

#define SESSION_NCOLS SC_COUNT

static void
read_message(const PGresult *r, int row, int col, struct sp_chat_message *out)
{
    CHAT_MESSAGE_COLUMNS(SP_COL_READ, )
}

static struct sp_stmt system_message_stmt = SP_STMT_READ(
    "chat_system_message",
    "SELECT " MESSAGE_COLS " FROM support_chat_messages m"
    " WHERE m.session_id = (SELECT id FROM support_chat_sessions WHERE public_id = $1)"
    "   AND m.sender_type = 'system' AND m.payload->>'event' = $2"
    "   AND ($3::bigint = 0 OR (m.payload->>'agent_id')::bigint = $3::bigint)"
    " ORDER BY m.id DESC LIMIT 1",
    3);

static void
read_page_message(const PGresult *r, int row, void *item)
{
    read_message(r, row, 0, item);
}

/* 409 too_many_open_sessions when customer_id has max_open sessions open;
 * holds the customer's creation lock until the transaction ends. */
static enum sp_rc
open_cap(struct sp_ctx *ctx, const char *customer_id, long max_open, struct sp_problem *p)
{
    const char *params[1] = {customer_id};
    PGresult *r = sp_db_exec_locked(ctx->db, ctx->arena, &customer_lock_stmt, params,
                                    &open_count_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (sp_db_int(r, 0, 0) >= max_open)
        return sp_problem_set(p, SP_CONFLICT, "too_many_open_sessions",
                              "you have %ld open chat sessions; close one to start another",
                              max_open);
    return SP_OK;
}

enum sp_rc
sp_chat_create(struct sp_ctx *ctx, const struct sp_chat_new *in, struct sp_chat_session *out,
               struct sp_chat_message *first, struct sp_problem *p)
{
    struct sp_arena *a = ctx->arena;
    long long agent = 0;
    struct sp_category cat = {.routing = "round_robin"};
    if (in->max_open > 0 && open_cap(ctx, in->customer_id, in->max_open, p) != SP_OK)
        return p->rc;
    if (in->category_slug != NULL &&
        sp_category_by_slug(ctx, in->category_slug, SP_CATEGORY_ACTIVE, &cat, p) != SP_OK)
        return p->rc;
    /* Chats route like tickets (by team or skill) but by chat capacity;
     * manual waits. */
    if (strcmp(cat.routing, "manual") != 0 &&
        sp_route_chat(ctx, cat.routing, cat.team, cat.required_skill, 0, &agent, p) != SP_OK)
        return p->rc;
    if (in->contact != NULL && sp_contact_store(ctx, in->customer_id, in->contact, p) != SP_OK)
        return p->rc;
    for (int attempt = 0; attempt < 3; attempt++) {
        char public_id[SP_PUBLIC_ID_LEN + 1];
        sp_public_id(public_id);
        const char *params[8] = {
            public_id, in->token_sha256_hex, in->customer_id,
            sp_arena_sprintf(a, "%lld", cat.id), sp_arena_sprintf(a, "%lld", agent),
            in->metadata_json, sp_arena_sprintf(a, "%ld", in->ttl_minutes), in->first_message,
        };
        PGresult *r = sp_db_exec(ctx->db, a, &create_stmt, params, p);
        if (r == NULL)
            return p->rc;
        if (PQntuples(r) == 0)
            continue;  /* public id taken: draw another */
        read_session(r, 0, out);
        memset(first, 0, sizeof(*first));
        if (!PQgetisnull(r, 0, SESSION_NCOLS)) {
            first->id = sp_db_int(r, 0, SESSION_NCOLS);
            first->created_at = sp_db_str(r, 0, SESSION_NCOLS + 1);
            first->seq = sp_db_int(r, 0, SESSION_NCOLS + 2);
            first->session_public_id = out->public_id;
            first->sender_type = "customer";
            first->sender_id = in->customer_id;
            first->body = in->first_message;
        }
        if (agent != 0)
            return assign(ctx, sp_arena_sprintf(a, "%lld", out->id), agent, AGENT_JOINED, NULL,
                          p);
        return SP_OK;
    }
    return sp_problem_set(p, SP_ERROR, "internal", "could not allocate a session id");
}

enum sp_rc
sp_chat_get(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
            struct sp_chat_session *out, struct sp_problem *p)
{
    const char *params[2] = {public_id, customer_id};
    return sp_db_one(ctx->db, ctx->arena, &get_stmt, params, "chat session", read_session, out,
                     p);
}

static struct sp_stmt rotate_token_stmt = SP_STMT(
    "chat_rotate_token",
    "WITH s AS ("
    "  UPDATE support_chat_sessions SET session_token = decode($3, 'hex'), updated_at = now()"
    "  WHERE public_id = $1 AND customer_id = $2"
    "  RETURNING *"
    ") SELECT " SESSION_COLS " FROM s" SESSION_JOINS,
    3);

enum sp_rc
sp_chat_rotate_token(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
                     const char *token_sha256_hex, struct sp_chat_session *out,
                     struct sp_problem *p)
{
    const char *params[3] = {public_id, customer_id, token_sha256_hex};
    return sp_db_one(ctx->db, ctx->arena, &rotate_token_stmt, params, "chat session",
                     read_session, out, p);
}

enum sp_rc
sp_chat_messages(struct sp_ctx *ctx, long long session_id, long long after, int limit,
                 struct sp_chat_message **out, size_t *n, long long *next_after,
                 struct sp_problem *p)
{
    const char *params[3] = {sp_arena_sprintf(ctx->arena, "%lld", session_id),
                             sp_arena_sprintf(ctx->arena, "%lld", after),
                             sp_db_page_fetch(ctx->arena, limit)};
    *out = sp_db_page_read(ctx->db, ctx->arena, &messages_stmt, params, limit, "seq",
                           sizeof(**out), read_page_message, n, next_after, p);
    return *out != NULL ? SP_OK : p->rc;
}

/* Whether the stored message's attachment list (JSON objects with an
 * "id") names exactly ids[0..n), in any order (a list never names an
 * upload twice: sp_attachments_check). */
static bool
same_attachments(struct sp_arena *a, const char *stored_json, const char *const *ids, size_t n)
{
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    struct json_object *list =
        stored_json != NULL ? sp_json_parse(a, stored_json, strlen(stored_json), &ignored) : NULL;
    size_t have = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    bool same = have == n;
    for (size_t i = 0; same && i < n; i++) {
        same = false;
        for (size_t j = 0; !same && j < have; j++) {
            struct json_object *id;
            same = json_object_object_get_ex(json_object_array_get_idx(list, j), "id", &id) &&
                   strcmp(json_object_get_string(id), ids[i]) == 0;
        }
    }
    return same;
}

/* A resend under a client_id the sender used already must carry the same
 * (sanitized) body and the same attachments: anything else is refused as
 * an Idempotency-Key reused with another body is (API.md §1), not
 * answered with the first message while the new text or files are
 * dropped (QA). */
static enum sp_rc
resend_matches(struct sp_arena *a, const struct sp_chat_message *stored,
               const struct sp_chat_post_in *in, struct sp_problem *p)
{
    bool body_same =
        in->body == NULL || stored->body == NULL || strcmp(stored->body, in->body) == 0;
    if (body_same && same_attachments(a, stored->attachments_json, in->attachments,
                                      in->nattachments))
        return SP_OK;
    return sp_problem_set(p, SP_INVALID, "idempotency_key_reused",
                          body_same ? "this client_id was used for a message with other attachments"
                                    : "this client_id was used for a message with another body");
}

enum sp_rc
sp_chat_staff_waiting(struct sp_problem *p)
{
    return sp_problem_set(p, SP_CONFLICT, "session_waiting",
                          "no agent has this chat yet: accept it, or transfer it to an agent, "
                          "before writing to it");
}

/* The post statement, in whatever transaction the caller is in. */
static enum sp_rc
post_message(struct sp_ctx *ctx, const struct sp_chat_session *s, const struct sp_chat_post_in *in,
             struct sp_chat_message *out, bool *duplicate, struct sp_problem *p)
{
    const char *params[5] = {sp_arena_sprintf(ctx->arena, "%lld", s->id), in->sender_type,
                             in->sender_id, in->body, in->client_id};
    /* No row at all: another send of this client_id committed while this
     * one's ON CONFLICT waited for it, and the statement's snapshot, older,
     * cannot see that message (QA: a retried send was told the chat had
     * closed). The next statement's snapshot does. */
    PGresult *r = NULL;
    for (int tries = 0; tries < 2 && (r == NULL || PQntuples(r) == 0); tries++)
        if ((r = sp_db_exec(ctx->db, ctx->arena, &post_stmt, params, p)) == NULL)
            return p->rc;
    enum { DUP, REFUSED, MESSAGE };
    if (PQntuples(r) > 0 && PQgetisnull(r, 0, DUP) && !PQgetisnull(r, 0, REFUSED))
        return sp_chat_staff_waiting(p);
    if (PQntuples(r) == 0 || PQgetisnull(r, 0, DUP))
        return sp_problem_set(p, SP_CONFLICT, "session_closed", "the chat session is closed");
    *duplicate = sp_db_bool(r, 0, DUP);
    read_message(r, 0, MESSAGE, out);
    out->session_public_id = s->public_id;
    return *duplicate ? resend_matches(ctx->arena, out, in, p) : SP_OK;
}

enum sp_rc
sp_chat_post_in_tx(struct sp_ctx *ctx, const struct sp_chat_session *s,
                   const struct sp_chat_post_in *in, struct sp_chat_message *out,
                   bool *duplicate, struct sp_problem *p)
{
    if (post_message(ctx, s, in, out, duplicate, p) != SP_OK)
        return p->rc;
    if (*duplicate || in->nattachments == 0)
        return SP_OK;
    /* An agent's (or admin's) message takes the staff member's uploads. */
    const struct sp_party sender = {in->sender_id, strcmp(in->sender_type, "customer") != 0};
    return sp_attachments_attach_chat(ctx, sender, in->attachments, in->nattachments, out->id,
                                      &out->attachments_json, p);
}

enum sp_rc
sp_chat_post(struct sp_ctx *ctx, const struct sp_chat_session *s, const struct sp_chat_post_in *in,
             struct sp_chat_message *out, bool *duplicate, struct sp_problem *p)
{
    if (in->nattachments == 0)   /* one statement: no transaction needed */
        return post_message(ctx, s, in, out, duplicate, p);
    if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
        return p->rc;
    if (sp_chat_post_in_tx(ctx, s, in, out, duplicate, p) != SP_OK ||
        sp_db_commit(ctx->db, ctx->arena, p) != SP_OK) {
        sp_db_rollback(ctx->db, ctx->arena);
        return p->rc;
    }
    return SP_OK;
}

/* Every change of a session: one transaction that ends by reading the
 * session back (after commit), or rolls back. */
typedef enum sp_rc (*session_edit)(struct sp_ctx *ctx, const char *public_id, void *arg,
                                   struct sp_problem *p);

static enum sp_rc
in_transaction(struct sp_ctx *ctx, const char *public_id, session_edit edit, void *arg,
               struct sp_chat_session *out, struct sp_problem *p)
{
    if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
        return p->rc;
    if (edit(ctx, public_id, arg, p) != SP_OK || sp_db_commit(ctx->db, ctx->arena, p) != SP_OK) {
        sp_db_rollback(ctx->db, ctx->arena);
        return p->rc;
    }
    return sp_chat_get(ctx, public_id, NULL, out, p);
}

/* The locked session row (lock_stmt columns); not found -> 404. */
static PGresult *
lock_session(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
             struct sp_problem *p)
{
    const char *params[2] = {public_id, customer_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &lock_stmt, params, p);
    return sp_db_found(r, "chat session", p) == SP_OK ? r : NULL;
}

struct accept_arg {
    long long agent_id;
    bool *changed;
};

static enum sp_rc
edit_accept(struct sp_ctx *ctx, const char *public_id, void *arg, struct sp_problem *p)
{
    struct accept_arg *acc = arg;
    long long agent_id = acc->agent_id;
    PGresult *r = lock_session(ctx, public_id, NULL, p);
    if (r == NULL)
        return p->rc;
    long long current = sp_db_int(r, 0, 2);
    if (strcmp(sp_db_str(r, 0, 1), "closed") == 0)
        return sp_problem_set(p, SP_CONFLICT, "session_closed", "the chat session is closed");
    if (current != 0 && current != agent_id)
        return sp_problem_set(p, SP_CONFLICT, "already_assigned", "another agent has this chat");
    if (current != 0)
        return SP_OK;  /* already ours */
    enum sp_chat_room room;
    int max;
    if (sp_route_chat_room(ctx, agent_id, &room, &max, p) != SP_OK)
        return p->rc;
    if (room != SP_CHAT_ROOM_FREE)
        return sp_route_chat_no_room(p, "the agent", room, max);
    if (assign(ctx, sp_db_str(r, 0, 0), agent_id, AGENT_JOINED, NULL, p) != SP_OK)
        return p->rc;
    *acc->changed = true;
    return SP_OK;
}

enum sp_rc
sp_chat_accept(struct sp_ctx *ctx, const char *public_id, long long agent_id,
               struct sp_chat_session *out, bool *changed, struct sp_problem *p)
{
    *changed = false;
    struct accept_arg arg = {agent_id, changed};
    return in_transaction(ctx, public_id, edit_accept, &arg, out, p);
}

struct close_arg {
    const char *customer_id;
    bool *changed;
};

enum sp_rc
sp_chat_close_locked(struct sp_ctx *ctx, long long session_id, struct sp_problem *p)
{
    PGresult *r = sp_db_exec_id(ctx->db, ctx->arena, &close_stmt, session_id, p);
    if (r == NULL)
        return p->rc;
    /* Its agent has a free place now: the oldest waiting chat they may
     * take is theirs at once (API.md §7). */
    long long agent = PQntuples(r) == 1 ? sp_db_int(r, 0, 0) : 0;
    return agent != 0 ? sp_chat_route_waiting(ctx, agent, p) : SP_OK;
}

static enum sp_rc
edit_close(struct sp_ctx *ctx, const char *public_id, void *arg, struct sp_problem *p)
{
    struct close_arg *c = arg;
    PGresult *r = lock_session(ctx, public_id, c->customer_id, p);
    if (r == NULL)
        return p->rc;
    if (strcmp(sp_db_str(r, 0, 1), "closed") == 0)
        return SP_OK;
    if (sp_chat_close_locked(ctx, sp_db_int(r, 0, 0), p) != SP_OK)
        return p->rc;
    *c->changed = true;
    return SP_OK;
}

enum sp_rc
sp_chat_close(struct sp_ctx *ctx, const char *public_id, const char *customer_id,
              struct sp_chat_session *out, bool *changed, struct sp_problem *p)
{
    *changed = false;
    struct close_arg arg = {customer_id, changed};
    return in_transaction(ctx, public_id, edit_close, &arg, out, p);
}

enum sp_rc
sp_chat_list(struct sp_ctx *ctx, const char *status, long long agent_id, long long after,
             int limit, struct sp_chat_session **out, size_t *n, long long *next_after,
             struct sp_problem *p)
{
    const char *params[4] = {status, sp_arena_sprintf(ctx->arena, "%lld", agent_id),
                             sp_arena_sprintf(ctx->arena, "%lld", after),
                             sp_db_page_fetch(ctx->arena, limit)};
    *out = sp_db_page_read(ctx->db, ctx->arena, &list_stmt, params, limit, "id", sizeof(**out),
                           read_queued, n, next_after, p);
    if (*out == NULL)
        return p->rc;
    /* The stored body is sanitized HTML: shown as the text a reader sees,
     * on one line (a preview must not forge lines in a queue view). */
    for (size_t i = 0; i < *n; i++) {
        struct sp_chat_session *s = &(*out)[i];
        if (s->preview != NULL)
            s->preview = sp_ticket_subject_of_text(
                ctx->arena, sp_sanitize_text(ctx->arena, s->preview, strlen(s->preview)),
                SP_CHAT_PREVIEW_MAX);
        if (s->preview == NULL)
            s->preview_at = NULL;
    }
    return SP_OK;
}

static struct sp_stmt customer_list_stmt = SP_STMT_READ(
    "chat_list_customer",
    "SELECT " SESSION_COLS " FROM support_chat_sessions s" SESSION_JOINS
    " WHERE s.customer_id = $1 AND ($2::text IS NULL OR " SESSION_STATUS("s") " = $2)"
    "   AND ($3::bigint = 0 OR s.id < $3::bigint)"
    " ORDER BY s.id DESC LIMIT $4::int",
    4);

enum sp_rc
sp_chat_list_for_customer(struct sp_ctx *ctx, const char *customer_id, const char *status,
                          long long before_id, int limit, struct sp_chat_session **out,
                          size_t *n, long long *next_before, struct sp_problem *p)
{
    const char *params[4] = {customer_id, status, sp_arena_sprintf(ctx->arena, "%lld", before_id),
                             sp_db_page_fetch(ctx->arena, limit)};
    *out = sp_db_page_read(ctx->db, ctx->arena, &customer_list_stmt, params, limit, "id",
                           sizeof(**out), read_session, n, next_before, p);
    return *out != NULL ? SP_OK : p->rc;
}

/* --- transfer to another agent --------------------------------------------- */

/* The session's status and agent, and its category's routing (for a
 * transfer to whoever is free), locked. Its columns, in the order of the
 * SELECT: */
enum transfer_column { TL_ID, TL_STATUS, TL_AGENT, TL_ROUTING, TL_TEAM, TL_SKILL };
static struct sp_stmt transfer_lock_stmt = SP_STMT(
    "chat_transfer_lock",
    "SELECT s.id, " SESSION_STATUS("s") ", coalesce(s.assigned_agent_id, 0), c.routing, c.team,"
    " c.required_skill"
    " FROM support_chat_sessions s LEFT JOIN support_categories c ON c.id = s.category_id"
    " WHERE s.public_id = $1 FOR UPDATE OF s",
    1);

/* A transfer to agent_id, named by the caller: say what is wrong with
 * them, not that nobody else is free (QA). */
static enum sp_rc
named_agent_free(struct sp_ctx *ctx, long long agent_id, long long current,
                 struct sp_problem *p)
{
    enum sp_chat_room room;
    int max;
    if (sp_route_chat_room(ctx, agent_id, &room, &max, p) != SP_OK)
        return p->rc;
    if (room == SP_CHAT_ROOM_UNKNOWN) {
        sp_problem_field(p, "agent_id", "unknown_agent", "is not an agent");
        return SP_INVALID;
    }
    /* The agent who has it: nothing to do, whatever their room (this
     * chat counts in it); edit_transfer answers the session as it is. */
    if (agent_id == current)
        return SP_OK;
    if (room != SP_CHAT_ROOM_FREE)
        return sp_route_chat_no_room(p, sp_arena_sprintf(ctx->arena, "agent %lld", agent_id),
                                     room, max);
    return SP_OK;
}

/* Routing found nobody else for the transfer of the chat r locked. A
 * skill category's chat goes only to agents with its skill: free agents
 * without it are no answer, and the detail says so (QA). */
static enum sp_rc
nobody_free(const PGresult *r, struct sp_problem *p)
{
    const char *routing = sp_db_str(r, 0, TL_ROUTING), *skill = sp_db_str(r, 0, TL_SKILL);
    if (routing != NULL && strcmp(routing, "skill") == 0 && skill != NULL)
        return sp_problem_set(p, SP_CONFLICT, "agent_unavailable",
                              "no other free agent has the category's skill \"%s\"", skill);
    return sp_problem_set(p, SP_CONFLICT, "agent_unavailable",
                          "no other agent is free (away or at max_concurrent_chats)");
}

struct transfer {
    long long agent_id;
    bool changed;
};

static enum sp_rc
edit_transfer(struct sp_ctx *ctx, const char *public_id, void *arg, struct sp_problem *p)
{
    struct transfer *t = arg;
    long long agent_id = t->agent_id;
    const char *params[1] = {public_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &transfer_lock_stmt, params, p);
    if (sp_db_found(r, "chat session", p) != SP_OK)
        return p->rc;
    if (strcmp(sp_db_str(r, 0, TL_STATUS), "closed") == 0)
        return sp_problem_set(p, SP_CONFLICT, "session_closed", "the chat session is closed");
    long long current = sp_db_int(r, 0, TL_AGENT);
    if (sp_route_chat_transfer_locks(ctx, current, agent_id, sp_db_str(r, 0, TL_ROUTING),
                                     sp_db_str(r, 0, TL_TEAM), sp_db_str(r, 0, TL_SKILL),
                                     p) != SP_OK)
        return p->rc;
    if (agent_id == 0) {
        /* Whoever is free as the category routes (a manual one: its team). */
        if (sp_route_chat(ctx, sp_db_str(r, 0, TL_ROUTING), sp_db_str(r, 0, TL_TEAM),
                          sp_db_str(r, 0, TL_SKILL), current, &agent_id, p) != SP_OK)
            return p->rc;
    } else if (named_agent_free(ctx, agent_id, current, p) != SP_OK) {
        return p->rc;
    } else if (agent_id == current) {
        return SP_OK;   /* named, and it has the chat: idempotent */
    }
    if (agent_id == 0 || agent_id == current)
        return nobody_free(r, p);
    struct sp_route_staff staff;
    if (sp_route_staff_to(ctx, sp_db_str(r, 0, TL_ROUTING), sp_db_str(r, 0, TL_TEAM),
                          sp_db_str(r, 0, TL_SKILL), 0, &staff, p) != SP_OK ||
        assign(ctx, sp_db_str(r, 0, TL_ID), agent_id, TRANSFERRED, &staff, p) != SP_OK)
        return p->rc;
    t->changed = true;
    /* The agent it was taken from has a free place (API.md §7). */
    return current != 0 ? sp_chat_route_waiting(ctx, current, p) : SP_OK;
}

enum sp_rc
sp_chat_transfer_to_agent(struct sp_ctx *ctx, const char *public_id, long long agent_id,
                          struct sp_chat_session *out, bool *changed, struct sp_problem *p)
{
    struct transfer t = {agent_id, false};
    enum sp_rc rc = in_transaction(ctx, public_id, edit_transfer, &t, out, p);
    *changed = t.changed;
    return rc;
}

/* A waiting chat routed as at its creation (a manual category's waits),
 * under the locks a transfer to whoever is free takes, in their order:
 * the session, then the picks' (sp_route_chat_transfer_locks). */
static enum sp_rc
edit_route(struct sp_ctx *ctx, const char *public_id, void *arg, struct sp_problem *p)
{
    (void)arg;
    const char *params[1] = {public_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &transfer_lock_stmt, params, p);
    if (sp_db_found(r, "chat session", p) != SP_OK)
        return p->rc;
    const char *routing = sp_db_str(r, 0, TL_ROUTING), *team = sp_db_str(r, 0, TL_TEAM);
    const char *skill = sp_db_str(r, 0, TL_SKILL);
    if (strcmp(sp_db_str(r, 0, TL_STATUS), "waiting") != 0 ||
        (routing != NULL && strcmp(routing, "manual") == 0))
        return SP_OK;
    long long agent = 0;
    if (sp_route_chat_transfer_locks(ctx, 0, 0, routing, team, skill, p) != SP_OK ||
        sp_route_chat(ctx, routing, team, skill, 0, &agent, p) != SP_OK)
        return p->rc;
    if (agent == 0)
        return SP_OK;  /* it waits for a free place, first in the queue */
    if (assign(ctx, sp_db_str(r, 0, TL_ID), agent, AGENT_JOINED, NULL, p) != SP_OK)
        return p->rc;
    note_join(ctx, public_id, agent, NULL);
    return SP_OK;
}

void
sp_chat_route_returned(struct sp_ctx *ctx, const struct sp_chat_joins *returned)
{
    for (const struct sp_chat_join *j = returned->first; j != NULL; j = j->next) {
        if (j->event == NULL || strcmp(j->event, "agent_left") != 0)
            continue;
        struct sp_chat_session s;
        struct sp_problem p;
        sp_problem_init(&p);
        /* A failure (logged by db/) leaves the chat waiting, as it would
         * for a free place. */
        (void)in_transaction(ctx, j->public_id, edit_route, NULL, &s, &p);
    }
}

/* The facts a connection's authorization needs (read_auth_info), named
 * for post_frame_stmt. */
#define AUTH_INFO_COLS                                                                       \
    "customer_id, status <> 'closed' AND expires_at > now() AS open,"                        \
    " coalesce(assigned_agent_id, 0) AS agent, encode(session_token, 'hex') AS token, id,"  \
    " extract(epoch FROM expires_at)::bigint AS expires, status = 'waiting' AS waiting"
/* How many columns AUTH_INFO_COLS has: post_frame_stmt's own follow. */
#define AUTH_INFO_NCOLS 7

static struct sp_stmt auth_info_stmt = SP_STMT_READ(
    "chat_auth_info",
    "SELECT " AUTH_INFO_COLS " FROM support_chat_sessions WHERE public_id = $1", 1);

static void
read_auth_info(const PGresult *r, struct sp_chat_auth_info *out)
{
    out->found = true;
    out->customer_id = sp_db_str(r, 0, 0);
    out->open = sp_db_bool(r, 0, 1);
    out->assigned_agent_id = sp_db_int(r, 0, 2);
    out->token_sha256_hex = sp_db_str(r, 0, 3);
    out->session_id = sp_db_int(r, 0, 4);
    out->expires_epoch = sp_db_int(r, 0, 5);
    out->waiting = sp_db_bool(r, 0, 6);
}

enum sp_rc
sp_chat_auth_info(struct sp_ctx *ctx, const char *public_id, struct sp_chat_auth_info *out,
                  struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    const char *params[1] = {public_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &auth_info_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) > 0)
        read_auth_info(r, out);
    return SP_OK;
}

/* A connection's message, in one statement: the session's authorization
 * facts (s), the caller's agent id (me), whether the caller may post (may:
 * the rules sp_chat_t_frame's authorization applies, so that nothing is
 * counted or stored for a caller it refuses), the rate-limit hit (rate),
 * the post or the message a resend already stored (ins, m; m.dup is not
 * null when there is one; the insert's trigger numbers it and touches the
 * session, sql/077) and the connection's sign of life (alive: a refresh
 * of its fresh presence row, when asked). One row when the session
 * exists. s takes the send's lock (SEND_LOCK): a
 * frame that waited for a conversion or close reads the closed row. The
 * session token is compared here as the SHA-256 digest the client's
 * token hashes to: the write depends on it;
 * the worker compares the same digests again in constant time before it
 * answers. */
static struct sp_stmt post_frame_stmt = SP_STMT(
    "chat_post_frame",
    "WITH s AS ("
    "  SELECT " AUTH_INFO_COLS " FROM support_chat_sessions WHERE public_id = $1" SEND_LOCK
    "), me AS ("
    "  SELECT coalesce((SELECT id FROM support_agents WHERE user_id = $3 AND $2 = 'agent'), 0)"
    "    AS agent, NOT EXISTS (SELECT 1 FROM support_agents WHERE user_id = $3"
    "                          AND $2 IN ('agent', 'admin') AND NOT is_active) AS active"
    "), may AS ("
    "  SELECT s.id FROM s, me WHERE s.open AND me.active AND NOT (s.waiting AND $8 = 'agent')"
    "    AND CASE $2"
    "    WHEN 'customer' THEN s.customer_id = $3 AND s.token = $4"
    "    WHEN 'agent' THEN s.agent <> 0 AND s.agent = me.agent"
    "    WHEN 'admin' THEN true ELSE false END"
    "), rate AS ("
    "  " SP_RATE_HIT_SQL("$5", "may CROSS JOIN (VALUES ($6::bigint)) AS w(seconds)")
    "), ins AS ("
    "  INSERT INTO support_chat_messages (session_id, sender_type, sender_id, body, client_id)"
    "  SELECT may.id, $8, $3, $9, $10 FROM may, rate WHERE rate.count <= $7"
    "  ON CONFLICT (session_id, sender_type, sender_id, client_id) DO NOTHING RETURNING *"
    "), alive AS ("
    "  UPDATE support_chat_presence SET last_seen_at = now()"
    "  WHERE $11::text IS NOT NULL AND session_public_id = $1 AND principal = $12"
    "    AND conn_id = $11 AND last_seen_at > now() - make_interval(secs => $13::int)"
    "    AND EXISTS (SELECT 1 FROM may) RETURNING 1"
    ")"
    " SELECT s.*, me.agent, me.active, rate.count, rate.reset_s,"
    "   (SELECT count(*) FROM alive) > 0,"
    "   m.dup, " MESSAGE_COLS
    " FROM s CROSS JOIN me LEFT JOIN rate ON true LEFT JOIN ("
    "   SELECT false AS dup, i.* FROM ins i"
    "   UNION ALL"
    "   SELECT true, x.* FROM support_chat_messages x, may, rate"
    "   WHERE x.session_id = may.id AND x.client_id = $10 AND x.sender_type = $8"
    "     AND x.sender_id = $3 AND rate.count <= $7"
    "     AND NOT EXISTS (SELECT 1 FROM ins)"
    " ) m ON true",
    13);

enum sp_rc
sp_chat_post_frame(struct sp_ctx *ctx, const struct sp_chat_frame_post *in,
                   struct sp_chat_frame_posted *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    char seconds[24], limit[24], fresh[24];
    snprintf(seconds, sizeof(seconds), "%ld", in->window.seconds);
    snprintf(limit, sizeof(limit), "%ld", in->window.limit);
    snprintf(fresh, sizeof(fresh), "%d", in->alive.timeout_s);
    const char *params[13] = {in->public_id, in->role, in->msg.sender_id, in->token_sha256_hex,
                              in->rate_bucket, seconds, limit, in->msg.sender_type,
                              in->msg.body, in->msg.client_id, in->alive.conn_id,
                              in->alive.principal, fresh};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &post_frame_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return SP_OK;
    enum { AGENT = AUTH_INFO_NCOLS, ACTIVE, COUNT, RESET, ALIVE, DUP, MESSAGE };
    /* A staff caller an admin deactivated since its connect (which
     * refused it, and whose cut is best effort): nothing was stored. */
    if (!sp_db_bool(r, 0, ACTIVE))
        return sp_agent_refuse_deactivated(ctx, in->msg.sender_id, p);
    read_auth_info(r, &out->info);
    out->caller_agent_id = sp_db_int(r, 0, AGENT);
    out->counted = !PQgetisnull(r, 0, COUNT);
    if (out->counted)
        sp_rate_result_of(&in->window, (long)sp_db_int(r, 0, COUNT), (long)sp_db_int(r, 0, RESET),
                          &out->rate);
    out->alive_refreshed = sp_db_bool(r, 0, ALIVE);
    out->stored = !PQgetisnull(r, 0, DUP);
    if (out->stored) {
        out->duplicate = sp_db_bool(r, 0, DUP);
        read_message(r, 0, MESSAGE, &out->message);
        out->message.session_public_id = in->public_id;
        if (out->duplicate)
            return resend_matches(ctx->arena, &out->message, &in->msg, p);
    }
    return SP_OK;
}

enum sp_rc
sp_chat_system_message(struct sp_ctx *ctx, const char *public_id, const char *event,
                       long long agent_id, struct sp_chat_message *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    const char *params[3] = {public_id, event, sp_arena_sprintf(ctx->arena, "%lld", agent_id)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &system_message_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) > 0) {
        read_message(r, 0, 0, out);
        out->session_public_id = public_id;
    }
    return SP_OK;
}
