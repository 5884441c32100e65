/*
 * chat_convert: a chat session becomes a ticket. See chat_convert.h.
 */
#include "domain/chat_convert.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/sanitize.h"
#include "db/db.h"
#include "domain/attachments.h"
#include "domain/chat_sessions.h"

/* The facts the ticket is made of, the session row locked: with the
 * customer's tier as their last ticket stored it (support_contacts),
 * standard when they have none, for the rules engine, the public id
 * of the ticket the session has, if any, and the session's agent (who
 * keeps the ticket, see sp_route_ticket; 0: none, as a waiting chat).
 * Its columns, in the order of the SELECT: */
enum convert_column {
    CV_ID, CV_CUSTOMER, CV_CATEGORY, CV_TICKET, CV_TIER, CV_TICKET_PUBLIC, CV_AGENT
};
static struct sp_stmt convert_lock_stmt = SP_STMT(
    "chat_convert_lock",
    "SELECT s.id, s.customer_id, c.slug, coalesce(s.ticket_id, 0), coalesce(ct.tier, 'standard'),"
    " t.public_id, coalesce(s.assigned_agent_id, 0)"
    " FROM support_chat_sessions s LEFT JOIN support_categories c ON c.id = s.category_id"
    " LEFT JOIN support_contacts ct ON ct.customer_id = s.customer_id"
    " LEFT JOIN support_tickets t ON t.id = s.ticket_id"
    " WHERE s.public_id = $1 FOR UPDATE OF s",
    1);

static struct sp_stmt ticket_public_stmt = SP_STMT(
    "chat_linked_ticket_public_id",
    "SELECT public_id FROM support_tickets WHERE id = $1::bigint",
    1);

/* The public id of the ticket the locked session (convert_lock_stmt's row
 * r) is linked to. A lock that waited for the conversion that linked it
 * sees the session row as that commit left it, but the joined ticket as
 * the statement's snapshot had it, before it existed (READ COMMITTED
 * re-checks only the locked row): NULL, and the customer's transfer got
 * 404 "no such ticket" (QA). A statement of its own sees the ticket. */
static const char *
linked_ticket(struct sp_ctx *ctx, PGresult *r, struct sp_problem *p)
{
    if (!PQgetisnull(r, 0, CV_TICKET_PUBLIC))
        return sp_db_str(r, 0, CV_TICKET_PUBLIC);
    PGresult *t =
        sp_db_exec_id(ctx->db, ctx->arena, &ticket_public_stmt, sp_db_int(r, 0, CV_TICKET), p);
    if (sp_db_found(t, "ticket", p) != SP_OK)
        return NULL;
    return sp_db_str(t, 0, 0);
}

static struct sp_stmt link_stmt = SP_STMT(
    "chat_link_ticket",
    "WITH u AS ("
    "  UPDATE support_chat_sessions SET ticket_id = $2::bigint, updated_at = now()"
    "  WHERE id = $1::bigint RETURNING id"
    ")"
    " INSERT INTO support_chat_messages (session_id, sender_type, body, payload)"
    " SELECT id, 'system', 'The conversation continues as a ticket.',"
    "   jsonb_build_object('event', 'ticket_created', 'ticket_id', $3::text) FROM u",
    3);

/* A message's label and paragraph in the transcript
 * ("<p><b>Assistant</b> (<time>):<br>" and "</p>") take at most this
 * many bytes. */
#define SP_CHAT_TRANSCRIPT_LABEL 64

/* One paragraph per attachment of message m, after its body:
 * "[attachment: name, type, N bytes]" (the files themselves follow to
 * the ticket's first message, see sp_attachments_follow_chat). */
#define TRANSCRIPT_NOTE(m)                                                                 \
    "(SELECT coalesce(string_agg(format('<p>[attachment: %s, %s, %s bytes]</p>',"          \
    SP_CHAT_HTML_ESCAPE("e->>'filename'") ", " SP_CHAT_HTML_ESCAPE("e->>'content_type'")   \
    ", e->>'size'),"                                                                       \
    " '' ORDER BY o), '') FROM jsonb_array_elements(" m ".attachments)"                     \
    " WITH ORDINALITY AS x(e, o))"

/* The newest messages of the session (system events aside) whose bodies,
 * attachment notes and labels ($3 bytes each) fit in $2 bytes, oldest
 * first, the count of all of them and when an agent first wrote (ms, 0:
 * never; of the whole chat, kept or not).
 * Always one row at least: with no message kept, the columns but the
 * count are NULL. A body's size counts each line break as the <br> it
 * may become (its text is never longer than its markup otherwise: tags
 * go, entities stay escaped). That needs the body itself, so it is read
 * only for the messages that fit by their stored sizes (w, from the
 * values' headers, never longer): a long chat's older bodies stay unread. */
static struct sp_stmt transcript_stmt = SP_STMT(
    "chat_transcript",
    "WITH w AS ("
    "  SELECT id, note, sum(raw + $3::int + note) OVER (ORDER BY id DESC) AS upto"
    "  FROM (SELECT id, octet_length(body) AS raw, octet_length(" TRANSCRIPT_NOTE("c") ") AS note"
    "        FROM support_chat_messages c"
    "        WHERE session_id = $1::bigint AND payload->>'event' IS NULL) x"
    "), fit AS ("
    "  SELECT w.id, sum(octet_length(replace(c.body, E'\\n', '<br>')) + $3::int + w.note)"
    "    OVER (ORDER BY w.id DESC) AS upto"
    "  FROM w JOIN support_chat_messages c ON c.id = w.id WHERE w.upto <= $2::bigint"
    "), keep AS (SELECT id FROM fit WHERE upto <= $2::bigint)"
    " SELECT (SELECT count(*) FROM w), m.sender_type, m.body, support_ts(m.created_at),"
    "   " TRANSCRIPT_NOTE("m") ","
    "   (SELECT coalesce(support_ms(min(a.created_at)), 0) FROM support_chat_messages a"
    "    WHERE a.session_id = $1::bigint AND a.sender_type = 'agent'"
    "      AND a.payload->>'event' IS NULL)"
    " FROM (SELECT 1) one LEFT JOIN (support_chat_messages m JOIN keep k ON k.id = m.id) ON true"
    " ORDER BY m.id",
    3);

/* What a chat gives the ticket made of it. */
struct transcript {
    const char *html;           /* the description */
    const char *customer_text;  /* the customer's kept messages as plain text, for the rules */
    int64_t first_agent_ms;     /* the chat's first agent message, 0: none */
};

/* The transcript as the ticket's description: a note when messages were
 * left out, then one paragraph per message and one per attachment.
 * Labels, times and notes are ours (file names escaped); a body is put in
 * as the text a reader sees of it (sp_sanitize_text), escaped, with <br>
 * for its lines, inside its own labelled paragraph: no sender can close
 * that paragraph or write a label, so an agent always sees who said what
 * (a customer's "</p><p><b>Agent</b> (…):" stays their text). The
 * priority rules read only the customer's words of it (docs/API.md §5.3):
 * a label "Customer" or a time is not theirs. */
static enum sp_rc
transcript(struct sp_ctx *ctx, long long session_id, const char *public_id,
           struct transcript *out, struct sp_problem *p)
{
    const char *params[3] = {sp_arena_sprintf(ctx->arena, "%lld", session_id),
                             sp_arena_sprintf(ctx->arena, "%d", SP_CHAT_TRANSCRIPT_MAX),
                             sp_arena_sprintf(ctx->arena, "%d", SP_CHAT_TRANSCRIPT_LABEL)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &transcript_stmt, params, p);
    if (r == NULL)
        return p->rc;
    int rows = PQntuples(r), kept = rows > 0 && !PQgetisnull(r, 0, 1) ? rows : 0;
    long long omitted = (rows > 0 ? sp_db_int(r, 0, 0) : 0) - kept;
    struct sp_buf b, text;
    sp_buf_init(&b, ctx->arena, 1024);
    sp_buf_init(&text, ctx->arena, 256);
    if (omitted > 0)
        sp_buf_printf(&b, "<p>[transcript truncated: %lld earlier message%s omitted; full history"
                          " in chat session %s]</p>",
                      omitted, omitted == 1 ? "" : "s", public_id);
    for (int i = 0; i < kept; i++) {
        const char *sender = sp_db_str(r, i, 1), *body = sp_db_str(r, i, 2);
        const char *words = sp_sanitize_text(ctx->arena, body, strlen(body));
        bool customer = strcmp(sender, "customer") == 0;
        sp_buf_printf(&b, "<p><b>%s</b> (%s):%s%s</p>",
                      customer                       ? "Customer"
                      : strcmp(sender, "agent") == 0 ? "Agent"
                                                     : "Assistant",
                      sp_db_str(r, i, 3), *words != '\0' ? "<br>" : "",
                      sp_sanitize_text_to_lines(ctx->arena, words, strlen(words)));
        sp_buf_puts(&b, sp_db_str(r, i, 4));
        if (customer)
            sp_buf_printf(&text, "%s%s", text.len > 0 ? "\n" : "", words);
    }
    if (b.len == 0)
        sp_buf_puts(&b, "<p>(The chat had no messages.)</p>");
    out->html = b.data;
    out->customer_text = text.len > 0 ? text.data : "";
    out->first_agent_ms = rows > 0 ? sp_db_int(r, 0, 5) : 0;
    return SP_OK;
}

/* Ticket `in`, made from chat session_id: created; on its first message
 * the uploads ids[0..n) of its customer, then the chat's files; the
 * session linked to it with a ticket_created system message. Both ways
 * a chat becomes a ticket (conversion, a create naming the chat) end here. */
static enum sp_rc
create_linked(struct sp_ctx *ctx, long long session_id, const struct sp_ticket_new *in,
              const char *const *ids, size_t n, struct sp_ticket *out, struct sp_problem *p)
{
    struct sp_arena *a = ctx->arena;
    if (sp_ticket_create(ctx, in, out, p) != SP_OK)
        return p->rc;
    const struct sp_party customer = {in->customer_id, false};
    /* The files of the chat follow its transcript (docs/API.md, chat). */
    if (out->nmessages > 0 &&
        (sp_attachments_attach(ctx, customer, ids, n, out->messages[0].id,
                               &out->messages[0].attachments_json, p) != SP_OK ||
         sp_attachments_follow_chat(ctx, session_id, out->messages[0].id,
                                    &out->messages[0].attachments_json, p) != SP_OK))
        return p->rc;
    const char *lp[3] = {sp_arena_sprintf(a, "%lld", session_id),
                         sp_arena_sprintf(a, "%lld", out->id), out->public_id};
    if (sp_db_exec(ctx->db, a, &link_stmt, lp, p) == NULL)
        return p->rc;
    /* The conversation continues as the ticket, and only there: the chat
     * ends with it, so nothing said in it afterwards is lost to the
     * ticket (docs/API.md §7). */
    return sp_chat_close_locked(ctx, session_id, p);
}

/* sp_chat_to_ticket(); by_system: the archive job's, whose ticket's
 * created event is the system's. */
static enum sp_rc
to_ticket(struct sp_ctx *ctx, const char *public_id, const enum sp_tier *tier,
          const char *viewer, long long actor_agent_id, bool by_system, struct sp_ticket *out,
          bool *created, struct sp_problem *p)
{
    struct sp_arena *a = ctx->arena;
    *created = false;
    const char *params[1] = {public_id};
    PGresult *r = sp_db_exec(ctx->db, a, &convert_lock_stmt, params, p);
    if (sp_db_found(r, "chat session", p) != SP_OK)
        return p->rc;
    long long id = sp_db_int(r, 0, CV_ID);
    long long ticket_id = sp_db_int(r, 0, CV_TICKET);
    /* A customer gets their view: never the internal notes (API.md §2). */
    if (ticket_id != 0 && viewer != NULL) {
        const char *ticket = linked_ticket(ctx, r, p);
        return ticket == NULL ? p->rc
                              : sp_ticket_get_for_customer(ctx, ticket, viewer, 0, 100, out, p);
    }
    if (ticket_id != 0)
        return sp_ticket_get_for_agent(ctx, ticket_id, NULL, 0, 100, out, p);
    struct transcript tr;
    if (transcript(ctx, id, public_id, &tr, p) != SP_OK)
        return p->rc;
    /* A tier the table does not know (none today) counts as standard. */
    enum sp_tier stored = SP_TIER_STANDARD;
    (void)sp_tier_parse(sp_db_str(r, 0, CV_TIER), &stored);
    struct sp_ticket_new in = {
        .customer_id = sp_db_str(r, 0, CV_CUSTOMER),
        .subject = sp_arena_sprintf(a, "Chat conversation %s", public_id),
        .description = tr.html,
        .rule_text = tr.customer_text,
        .first_responded_at = tr.first_agent_ms,
        /* The archive job's conversion is the system's (API.md §5.1). */
        .by_system = by_system,
        .category_slug = sp_db_str(r, 0, CV_CATEGORY),
        .source = SP_SOURCE_CHAT,
        .tier = tier != NULL ? *tier : stored,
        .chat_session_id = id,
        .keep_agent_id = sp_db_int(r, 0, CV_AGENT),
        .actor_agent_id = actor_agent_id,
        /* Made by an agent, an admin or the archive job: the customer
         * learns outside the chat where it continues (docs/API.md §11). */
        .escalated_chat = viewer == NULL ? public_id : NULL,
    };
    if (create_linked(ctx, id, &in, NULL, 0, out, p) != SP_OK)
        return p->rc;
    *created = true;
    return SP_OK;
}

enum sp_rc
sp_chat_to_ticket(struct sp_ctx *ctx, const char *public_id, const enum sp_tier *tier,
                  const char *viewer, long long actor_agent_id, struct sp_ticket *out,
                  bool *created, struct sp_problem *p)
{
    return to_ticket(ctx, public_id, tier, viewer, actor_agent_id, false, out, created, p);
}

enum sp_rc
sp_chat_convert(struct sp_ctx *ctx, const char *public_id, const enum sp_tier *tier,
                const char *viewer, long long actor_agent_id, struct sp_ticket *out,
                bool *created, struct sp_problem *p)
{
    if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
        return p->rc;
    if (sp_chat_to_ticket(ctx, public_id, tier, viewer, actor_agent_id, out, created, p) !=
            SP_OK ||
        sp_db_commit(ctx->db, ctx->arena, p) != SP_OK) {
        sp_db_rollback(ctx->db, ctx->arena);
        return p->rc;
    }
    return SP_OK;
}

enum sp_rc
sp_chat_ticket_create(struct sp_ctx *ctx, const char *session_public_id,
                      const struct sp_ticket_new *in, const char *const *ids, size_t n,
                      struct sp_ticket *out, struct sp_problem *p)
{
    const char *params[1] = {session_public_id};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &convert_lock_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0 || strcmp(sp_db_str(r, 0, CV_CUSTOMER), in->customer_id) != 0) {
        sp_problem_field(p, "chat_session_id", "unknown_session", "is not a chat session of yours");
        return p->rc;
    }
    if (sp_db_int(r, 0, CV_TICKET) != 0) {
        const char *ticket = linked_ticket(ctx, r, p);
        if (ticket == NULL)
            return p->rc;
        return sp_problem_set(p, SP_CONFLICT, "chat_already_linked",
                              "chat session %s already continues as ticket %s; reply there",
                              session_public_id, ticket);
    }
    long long id = sp_db_int(r, 0, CV_ID);
    struct transcript tr;
    if (transcript(ctx, id, session_public_id, &tr, p) != SP_OK)
        return p->rc;
    /* The customer's words first, then the transcript as conversion gives it. */
    struct sp_ticket_new t = *in;
    t.description = sp_arena_sprintf(ctx->arena,
                                     "%s<p><b>Chat transcript</b> (chat session %s):</p>%s",
                                     in->description, session_public_id, tr.html);
    t.rule_text = sp_arena_sprintf(
        ctx->arena, "%s\n%s",
        sp_sanitize_text(ctx->arena, in->description, strlen(in->description)),
        tr.customer_text);
    t.first_responded_at = tr.first_agent_ms;
    t.source = SP_SOURCE_CHAT;
    t.chat_session_id = id;
    t.keep_agent_id = sp_db_int(r, 0, CV_AGENT);
    return create_linked(ctx, id, &t, ids, n, out, p);
}

/* --- the chat-session-archive job's step ----------------------------------- */

/* Re-checks the idle condition under the row lock; SKIP LOCKED leaves a
 * session someone is writing to for the next pass. */
static struct sp_stmt archive_lock_stmt = SP_STMT(
    "chat_archive_lock",
    "SELECT s.public_id, s.ticket_id IS NULL AND EXISTS (SELECT 1 FROM support_chat_messages m"
    "   WHERE m.session_id = s.id AND m.sender_type = 'customer')"
    " FROM support_chat_sessions s"
    " WHERE s.id = $1::bigint AND s.status <> 'closed'"
    "   AND (coalesce(s.last_message_at, s.started_at) < support_from_ms($3::bigint)"
    "        OR s.expires_at <= support_from_ms($2::bigint))"
    " FOR UPDATE SKIP LOCKED",
    3);

enum sp_rc
sp_chat_archive_one(struct sp_ctx *ctx, long long session_id, int64_t now_ms,
                    int64_t idle_before_ms, bool *archived, bool *converted, struct sp_problem *p)
{
    struct sp_arena *a = ctx->arena;
    *archived = *converted = false;
    const char *params[3] = {sp_arena_sprintf(a, "%lld", session_id),
                             sp_arena_sprintf(a, "%lld", (long long)now_ms),
                             sp_arena_sprintf(a, "%lld", (long long)idle_before_ms)};
    PGresult *r = sp_db_exec(ctx->db, a, &archive_lock_stmt, params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0)
        return SP_OK;
    if (sp_db_bool(r, 0, 1)) {
        struct sp_ticket t;
        bool created;
        if (to_ticket(ctx, sp_db_str(r, 0, 0), NULL, NULL, 0, true, &t, &created, p) != SP_OK)
            return p->rc;
        *converted = created;
    }
    if (sp_chat_close_locked(ctx, session_id, p) != SP_OK)
        return p->rc;
    *archived = true;
    return SP_OK;
}
