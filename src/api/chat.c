/*
 * chat (api): the REST side of live chat (API.md §7) — session creation,
 * reading a session with its history, the HTTP send fallback, close, and
 * the agent chat queue with accept. Who may touch a session: its customer,
 * its assigned agent, any admin. Holds no SQL.
 *
 * Frames reach websocket/EventSource subscribers through nchan; that
 * transport comes with the chat worker (issue #5), so for now messages are
 * stored and readable here and over the history endpoint.
 */
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "api/chat_frame.h"
#include "api/common.h"
#include "api/handlers.h"
#include "api/views.h"
#include "core/arena.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "domain/agents.h"
#include "domain/attachments.h"
#include "domain/chat_access.h"
#include "domain/chat_bus.h"
#include "domain/chat_convert.h"
#include "domain/chat_sessions.h"
#include <stdint.h>

#define SP_CHAT_BODY_MAX 4000
#define SP_CHAT_SESSION_TTL_MINUTES (24 * 60)

/* --- rendering -------------------------------------------------------------- */

/* The session's members, into the object the caller opened; staff (an
 * agent, an admin) also see whose chat it is, as in their queue. */
static void
session_members(struct sp_jw *w, const struct sp_chat_session *s, bool staff)
{
    sp_jw_kstr(w, "session_id", s->public_id);
    if (staff)
        sp_jw_kstr(w, "customer_id", s->customer_id);
    sp_jw_kstr(w, "status", s->status);
    sp_jw_kstr(w, "category", s->category);
    sp_jw_kint_or_null(w, "assigned_agent_id", s->assigned_agent_id);
    /* who is helping, by the name the agent chose (QA: customers never
     * learnt it); null without an agent or a name */
    sp_jw_kstr(w, "assigned_agent_name", s->assigned_agent_name);
    sp_jw_kstr(w, "ticket_id", s->ticket_public_id);
    sp_jw_kraw(w, "metadata", s->metadata_json ? s->metadata_json : "{}");
    sp_jw_kstr(w, "started_at", s->started_at);
    sp_jw_kstr(w, "ended_at", s->ended_at);
    sp_jw_kstr(w, "expires_at", s->expires_at);
    sp_jw_kstr(w, "last_message_at", s->last_message_at);
}

/* Publishes a system frame to the session's subscribers (after commit;
 * a failure is logged and never fails the request), with its stored
 * message. Whoever's access has expired is disconnected first, so does
 * not hear it. */
static void
publish_system(struct sp_req *r, const char *sid, const char *event,
               const struct sp_chat_system_extra *extra)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    sp_chat_access_publish_system(&ctx, sid, event, extra);
}

/* --- endpoints ---------------------------------------------------------------- */

enum { C_CATEGORY, C_MESSAGE, C_METADATA, C_ATTACHMENTS, C_COUNT };

static const struct sp_field_spec create_fields[C_COUNT] = {
    [C_CATEGORY] = {"category", SP_FIELD_STRING, false, true, 1, 120, NULL, 0, 0},
    [C_MESSAGE] = {"message", SP_FIELD_STRING, false, true, 1, SP_CHAT_BODY_MAX, NULL, 0, 0},
    [C_METADATA] = {"metadata", SP_FIELD_OBJECT, false, true, 0, 4096, NULL, 0, 0},
    /* of the first message */
    [C_ATTACHMENTS] = {"attachments", SP_FIELD_ARRAY, false, true, 0, SP_ATTACHMENTS_PER_MESSAGE,
                       NULL, 0, 0},
};

struct create_input {
    struct sp_chat_new chat;
    struct sp_api_attachments attachments;   /* of the first message */
    const char *rotated;   /* a replay gave this session a new token */
};

/* A new session token: shown once, in this answer; the database keeps
 * its SHA-256. */
static const char *
new_session_token(struct sp_req *r, const char **sha256_hex)
{
    char *token = sp_arena_alloc(r->arena, 65);
    sp_random_hex(token, 32);
    *sha256_hex = sp_crypto_sha256_hex(r->arena, token, strlen(token));
    return token;
}

static void
render_created(struct sp_req *r, struct sp_buf *b, const struct sp_chat_session *s,
               const char *token)
{
    struct sp_jw w;
    sp_jw_begin_object(&w, b);
    session_members(&w, s, false);   /* the customer's own answer */
    sp_jw_kstr(&w, "session_token", token);
    const char *query = sp_arena_sprintf(r->arena, "session_id=%s&session_token=%s", s->public_id,
                                         token);
    sp_jw_kstr(&w, "ws_url", sp_arena_sprintf(r->arena, "/support/chat/connect?%s", query));
    sp_jw_kstr(&w, "events_url", sp_arena_sprintf(r->arena, "/support/chat/connect?%s", query));
    sp_jw_end(&w);
}

static enum sp_rc
create_session(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
               struct sp_problem *p)
{
    struct create_input *in = input;
    const char *token = new_session_token(r, &in->chat.token_sha256_hex);
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_session s;
    struct sp_chat_message m;
    if (sp_chat_create(&ctx, &in->chat, &s, &m, p) != SP_OK)
        return p->rc;
    /* In the create's transaction: no session without its files. */
    if (m.id != 0 && sp_attachments_attach_chat(&ctx, sp_api_party(r), in->attachments.ids,
                                                in->attachments.n, m.id, &m.attachments_json,
                                                p) != SP_OK)
        return p->rc;
    render_created(r, body, &s, token);
    out->location = sp_arena_sprintf(r->arena, "/support/chat/session/%s", s.public_id);
    return SP_OK;
}

/* A replayed create: the same session with a fresh token (the first
 * token was never stored in the clear, so it cannot be answered again). */
static enum sp_rc
replay_session(struct sp_req *r, void *input, const char *public_id, struct sp_buf *body,
               struct sp_api_created *out, struct sp_problem *p)
{
    (void)out; /* a session's answer carries no ETag */
    if (!sp_public_id_valid(public_id))
        return sp_problem_set(p, SP_ERROR, "internal", "unreadable stored Location");
    const char *sha256_hex;
    const char *token = new_session_token(r, &sha256_hex);
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_session s;
    if (sp_chat_rotate_token(&ctx, public_id, r->principal.sub, sha256_hex, &s, p) != SP_OK)
        return p->rc;
    ((struct create_input *)input)->rotated = sp_arena_strdup(r->arena, public_id);
    render_created(r, body, &s, token);
    return SP_OK;
}

/* After a replay's commit: the old token no longer opens the session,
 * and its connections are cut off like any participant who lost access
 * (API.md §7); they reconnect with the new token. */
static void
revoke_rotated(struct sp_req *r, const struct create_input *in)
{
    if (in->rotated == NULL)
        return;
    struct sp_ctx ctx = sp_api_ctx(r);
    const char *who = sp_arena_sprintf(r->arena, "customer-%s", r->principal.sub);
    sp_chat_access_revoke_principal(&ctx, in->rotated, who);
}

enum sp_rc
sp_api_chat_create(struct sp_req *r, struct sp_problem *p)
{
    sp_resp_header(r, "Cache-Control", "no-store");
    /* API.md §1 (chat sessions): every attempt counts, before its body is
     * read — a malformed or refused one and a replay too — so every
     * answer carries the RateLimit-* headers (as ticket creation); a
     * replay over the limit rotates the token as one under it does. */
    struct create_input in = {0};
    const struct sp_api_replay replay = {replay_session, &in};
    if (sp_api_chat_session_rate_limit(r, &replay, p) != SP_OK) {
        revoke_rotated(r, &in);
        return p->rc;
    }
    struct sp_field_value v[C_COUNT];
    memset(v, 0, sizeof(v));
    /* An empty body is a session without a first message. */
    struct json_object *json =
        r->body_len > 0 ? sp_api_read_fields(r, create_fields, C_COUNT, v, p) : NULL;
    if (r->body_len > 0 && json == NULL)
        return p->rc;
    /* A field of the wrong shape does not hide the others' faults: the
     * fields that were read are checked on (the sanitized message, the
     * category), so one 422 lists every field error (API.md §1). */
    const char *first = NULL;
    if (v[C_MESSAGE].present)
        first = sp_api_body_html(r, "message", &v[C_MESSAGE], SP_CHAT_BODY_MAX, p);
    in.attachments = sp_api_attachment_ids(r, &v[C_ATTACHMENTS], p);
    if (in.attachments.n > 0 && !json_object_object_get_ex(json, "message", NULL))
        sp_problem_field(p, "attachments", "requires_message",
                         "attachments go with a first message");
    sp_api_category_with_errors(r, &v[C_CATEGORY], SP_CATEGORY_ACTIVE, p);
    sp_api_attachments_with_errors(r, &in.attachments, p);
    if (p->rc != SP_OK)
        return p->rc;
    const struct sp_app *app = r->env->app;
    in.chat = (struct sp_chat_new){
        .customer_id = r->principal.sub,
        .category_slug = v[C_CATEGORY].present ? v[C_CATEGORY].str : NULL,
        .first_message = first,
        .metadata_json = v[C_METADATA].present ? sp_json_compact(v[C_METADATA].obj, NULL) : NULL,
        .ttl_minutes = SP_CHAT_SESSION_TTL_MINUTES,
        .max_open = app->cfg.chat_max_open_sessions,
        .contact = sp_api_caller_contact(r),
    };
    if (sp_api_create_secret(r, create_session, replay_session, &in, p) != SP_OK) {
        /* The write's category lookup refused a well-formed body before
         * its attachments were reached: they join that 422. */
        sp_api_attachments_with_errors(r, &in.attachments, p);
        return p->rc;
    }
    revoke_rotated(r, &in);
    return SP_OK;
}

/* A session's messages, a page of them inside its document (API.md §7),
 * in seq order (the order they committed in). A cursor's position is a
 * seq: its kind is not the one of the id order before sql/077, so such a
 * cursor is refused, not misread as a place. */
static const struct sp_api_list message_list = {"cq", 100, sizeof(struct sp_chat_message), NULL};

/* ?after_seq=: the messages after the last place a client has without a
 * gap (a reconnect's catch-up). Paging only (left out of the cursors'
 * scope): the answer's next_cursor goes on from there. */
static const struct sp_query_spec after_seq_query = {
    "after_seq", SP_QUERY_INT, 0, INT64_MAX, 0, NULL, NULL, NULL, NULL,
    "must be a message seq: an integer, 0 or more", true};

enum sp_rc
sp_api_chat_get(struct sp_req *r, struct sp_problem *p)
{
    struct sp_chat_session s;
    if (sp_api_chat_for_caller(r, r->params[0], &s, p) != SP_OK)
        return p->rc;
    struct sp_api_page page;
    struct sp_query_value after_seq;
    if (sp_api_page_query(r, &message_list, &after_seq_query, 1, &after_seq, &page, p) != SP_OK)
        return p->rc;
    if (after_seq.present && page.after != 0) {   /* a cursor's place is a seq, never 0 */
        sp_problem_query_field(p, "after_seq", "invalid",
                               "give after_seq or cursor, not both: the cursor goes on from "
                               "where an after_seq answer stopped");
        return SP_INVALID;
    }
    if (after_seq.present)
        page.after = after_seq.i;
    struct sp_ctx ctx = sp_api_ctx(r);
    bool staff = r->principal.role != SP_ROLE_CUSTOMER;
    struct sp_chat_message *msgs;
    if (sp_chat_messages(&ctx, s.id, page.after, page.limit, &msgs, &page.n, &page.next,
                         p) != SP_OK)
        return p->rc;
    struct sp_jw *w = sp_api_object(r);
    session_members(w, &s, staff);
    sp_jw_karray(w, "messages");
    for (size_t i = 0; i < page.n; i++) {
        msgs[i].session_public_id = s.public_id;
        sp_chat_frame_message(w, &msgs[i], staff);
    }
    sp_jw_end(w);
    sp_jw_kstr(w, "next_cursor", sp_api_next_cursor(r, page.scope, message_list.kind, page.next));
    return sp_api_send(r, 200, w);
}

enum { M_BODY, M_CLIENT_ID, M_ATTACHMENTS, M_COUNT };

static const struct sp_field_spec message_fields[M_COUNT] = {
    [M_BODY] = {"body", SP_FIELD_STRING, true, false, 1, SP_CHAT_BODY_MAX, NULL, 0, 0},
    [M_CLIENT_ID] = {"client_id", SP_FIELD_STRING, false, true, 1, 64, NULL, 0, 0},
    [M_ATTACHMENTS] = {"attachments", SP_FIELD_ARRAY, false, true, 0, SP_ATTACHMENTS_PER_MESSAGE,
                       NULL, 0, 0},
};

/* A message of the HTTP send, and the frame its create step stored. */
struct message_input {
    const struct sp_chat_session *s;
    struct sp_chat_post_in msg;
    const struct sp_buf *stored;   /* NULL: nothing new to publish */
};

/* The create step of the HTTP send (API.md §1 and §7), in the create
 * protocol's transaction. The answer is the stored frame, the very bytes
 * subscribers get (as on the websocket path); a resend with a known
 * client_id stores nothing and answers the first frame (found). */
static enum sp_rc
create_message(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
               struct sp_problem *p)
{
    struct message_input *in = input;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_message m;
    if (sp_chat_post_in_tx(&ctx, in->s, &in->msg, &m, &out->found, p) != SP_OK)
        return p->rc;
    struct sp_jw w;
    sp_jw_init(&w, body);
    sp_chat_frame_message(&w, &m, false);
    in->stored = out->found ? NULL : body;
    return SP_OK;
}

enum sp_rc
sp_api_chat_post(struct sp_req *r, struct sp_problem *p)
{
    struct sp_chat_session s;
    if (sp_api_chat_for_caller(r, r->params[0], &s, p) != SP_OK)
        return p->rc;
    /* API.md §1: every send to a session the caller may use counts, before
     * its body is read (a malformed or refused one too), so every answer
     * carries the RateLimit-* headers. */
    struct sp_rate_window window;
    const char *bucket = sp_api_chat_message_limit(r, s.public_id, &window);
    if (sp_api_create_rate_limit(r, bucket, &window, 1, SP_API_REPLAY_STORED, p) != SP_OK)
        return p->rc;
    struct sp_field_value v[M_COUNT];
    if (sp_api_read_fields(r, message_fields, M_COUNT, v, p) == NULL)
        return p->rc;
    /* A field of the wrong shape does not hide the body's sanitizer fault
     * (empty once unsafe markup is removed): one 422 lists both (API.md
     * §1). */
    const char *body = v[M_BODY].present
                           ? sp_api_body_html(r, "body", &v[M_BODY], SP_CHAT_BODY_MAX, p)
                           : NULL;
    struct sp_api_attachments attachments = sp_api_attachment_ids(r, &v[M_ATTACHMENTS], p);
    sp_api_attachments_with_errors(r, &attachments, p);
    if (p->rc != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    /* Expired listeners leave before this message is published. */
    sp_chat_access_sweep_maybe(&ctx);
    struct message_input in = {&s, {
        .sender_type = r->principal.role == SP_ROLE_CUSTOMER ? "customer" : "agent",
        .sender_id = r->principal.sub,
        .body = body,
        .client_id = v[M_CLIENT_ID].present ? v[M_CLIENT_ID].str : NULL,
        .attachments = attachments.ids,
        .nattachments = attachments.n,
    }, NULL};
    /* Idempotency-Key like every create; a replay publishes nothing. */
    if (sp_api_create(r, create_message, &in, p) != SP_OK)
        return p->rc;
    if (in.stored != NULL) {   /* after the commit; the expired leave first */
        sp_chat_access_sweep_session(&ctx, s.public_id);
        sp_chat_bus_publish(s.public_id, NULL, in.stored->data, in.stored->len);
    }
    return SP_OK;
}

static enum sp_rc
respond_session(struct sp_req *r, const struct sp_chat_session *s)
{
    struct sp_jw *w = sp_api_object(r);
    session_members(w, s, r->principal.role != SP_ROLE_CUSTOMER);
    return sp_api_send(r, 200, w);
}

enum sp_rc
sp_api_chat_close(struct sp_req *r, struct sp_problem *p)
{
    struct sp_chat_session s;
    if (sp_api_chat_for_caller(r, r->params[0], &s, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_joins joins = {0};
    ctx.chat_joins = &joins;   /* its agent's freed place */
    bool changed;
    if (sp_chat_close(&ctx, s.public_id, NULL, &s, &changed, p) != SP_OK)
        return p->rc;
    if (changed) {
        publish_system(r, s.public_id, "closed", NULL);
        sp_chat_access_revoke_session(s.public_id);
        sp_chat_access_publish_joins(&ctx, &joins);
    }
    return respond_session(r, &s);
}

/* An item of the agents' chat queue (sp_api_item_writer): the session,
 * its customer, and the customer's first message as one line of text
 * (null before they wrote), so a chat is accepted knowing what it is
 * about. */
static void
write_queued(struct sp_jw *w, const void *item)
{
    const struct sp_chat_session *s = item;
    sp_jw_object(w);
    session_members(w, s, true);
    if (sp_jw_kobject_or_null(w, "first_message", s->preview != NULL)) {
        sp_jw_kstr(w, "text", s->preview);
        sp_jw_kstr(w, "created_at", s->preview_at);
        sp_jw_end(w);
    }
    sp_jw_end(w);
}

static const struct sp_api_list queue_list = {"s", 25, sizeof(struct sp_chat_session),
                                              write_queued};

static const char *const queue_statuses[] = {"waiting", "active", NULL};

/* The queue's filter; its paging is queue_list's. */
static const struct sp_query_spec status_query = {
    "status", SP_QUERY_ENUM, 0, 0, 0, queue_statuses, NULL, NULL, NULL,
    "must be waiting or active", false};

enum sp_rc
sp_api_agent_chats(struct sp_req *r, struct sp_problem *p)
{
    struct sp_query_value q;
    struct sp_api_page page;
    if (sp_api_page_query(r, &queue_list, &status_query, 1, &q, &page, p) != SP_OK)
        return p->rc;
    const char *status = queue_statuses[q.i];   /* waiting when absent */
    struct sp_ctx ctx = sp_api_ctx(r);
    long long agent_id = 0;
    if (strcmp(status, "active") == 0 && r->principal.role != SP_ROLE_ADMIN) {
        struct sp_agent me;
        if (sp_api_current_agent(r, &me, p) != SP_OK)
            return p->rc;
        agent_id = me.id;  /* an agent's active chats are their own */
    }
    struct sp_chat_session *items;
    if (sp_chat_list(&ctx, status, agent_id, page.after, page.limit, &items, &page.n, &page.next,
                     p) != SP_OK)
        return p->rc;
    return sp_api_answer_page(r, &queue_list, &page, items);
}

/* An item of a customer's own sessions: the session as its GET shows it
 * to them, without messages (read those by its GET) and without the
 * session token (shown once, at creation). */
static void
write_own(struct sp_jw *w, const void *item)
{
    sp_jw_object(w);
    session_members(w, item, false);
    sp_jw_end(w);
}

static const struct sp_api_list own_list = {"cs", 25, sizeof(struct sp_chat_session), write_own};

static const char *const own_statuses[] = {"waiting", "active", "closed", NULL};

/* The list's filter (absent: every status); its paging is own_list's. */
static const struct sp_query_spec own_status_query = {
    "status", SP_QUERY_ENUM, 0, 0, 0, own_statuses, NULL, NULL, NULL,
    "must be waiting, active or closed", false};

enum sp_rc
sp_api_chat_sessions(struct sp_req *r, struct sp_problem *p)
{
    struct sp_query_value q;
    struct sp_api_page page;
    if (sp_api_page_query(r, &own_list, &own_status_query, 1, &q, &page, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_session *items;
    if (sp_chat_list_for_customer(&ctx, r->principal.sub, q.present ? own_statuses[q.i] : NULL,
                                  page.after, page.limit, &items, &page.n, &page.next,
                                  p) != SP_OK)
        return p->rc;
    return sp_api_answer_page(r, &own_list, &page, items);
}

enum sp_rc
sp_api_agent_chat_accept(struct sp_req *r, struct sp_problem *p)
{
    const char *id;
    if (sp_api_chat_id(r, r->params[0], &id, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_agent me;
    if (sp_api_current_agent(r, &me, p) != SP_OK)
        return p->rc;
    struct sp_chat_session s;
    bool changed;
    if (sp_chat_accept(&ctx, id, me.id, &s, &changed, p) != SP_OK)
        return p->rc;
    if (changed)   /* an accept of one's own chat again tells nobody anything */
        publish_system(r, s.public_id, "agent_joined",
                       &(struct sp_chat_system_extra){.agent_id = s.assigned_agent_id});
    return respond_session(r, &s);
}

enum { T_TO, T_AGENT, T_COUNT };

static const char *const transfer_targets[] = {"ticket", "agent", NULL};

static const struct sp_field_spec transfer_fields[T_COUNT] = {
    [T_TO] = {"to", SP_FIELD_ENUM, true, false, 0, 0, transfer_targets, 0, 0},
    [T_AGENT] = {"agent_id", SP_FIELD_INT, false, true, 1, INT64_MAX, NULL, 0, 0},
};

enum sp_rc
sp_api_chat_transfer(struct sp_req *r, struct sp_problem *p)
{
    struct sp_chat_session s;
    if (sp_api_chat_for_caller(r, r->params[0], &s, p) != SP_OK)
        return p->rc;
    struct sp_field_value v[T_COUNT];
    if (sp_api_read_fields(r, transfer_fields, T_COUNT, v, p) == NULL)
        return p->rc;
    bool customer = r->principal.role == SP_ROLE_CUSTOMER;
    if (p->nerrors > 0) {
        /* A refused `to` does not hide an unknown agent: one 422 lists
         * both (API.md §1). Not for a customer, who hands a chat to no
         * agent and learns nothing of them. */
        if (!customer && v[T_AGENT].present && !(v[T_TO].present && v[T_TO].i == 0))
            sp_api_agent_with_errors(r, "agent_id", v[T_AGENT].i, p);
        return p->rc;
    }
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_joins joins = {0};
    ctx.chat_joins = &joins;   /* the chats the agent handed away from takes */
    if (v[T_TO].i == 1) {
        if (customer)
            return sp_problem_set(p, SP_FORBIDDEN, "forbidden",
                                  "only agents hand a chat to another agent");
        bool changed;
        if (sp_chat_transfer_to_agent(&ctx, s.public_id, v[T_AGENT].present ? v[T_AGENT].i : 0,
                                      &s, &changed, p) != SP_OK)
            return p->rc;
        if (!changed)   /* to the agent who has it: nobody is told anything */
            return respond_session(r, &s);
        publish_system(r, s.public_id, "transferred",
                       &(struct sp_chat_system_extra){.agent_id = s.assigned_agent_id});
        /* The agent handed away stops listening now, not at reconnect. */
        sp_chat_access_revoke_agents(&ctx, s.public_id, s.assigned_agent_id);
        sp_chat_access_publish_joins(&ctx, &joins);
        return respond_session(r, &s);
    }
    /* A customer's transfer makes a ticket: it counts against the
     * ticket-creation limits (API.md §7). Agents and admins are not
     * limited; a session that already has its ticket creates nothing.
     * A transfer keeps no Idempotency-Key answer: none to replay. */
    if (customer && s.ticket_public_id == NULL && sp_api_ticket_rate_limit(r, NULL, p) != SP_OK)
        return p->rc;
    struct sp_ticket t;
    bool created;
    /* The customer's own token is their freshest tier; for an agent or an
     * admin the domain reads the one stored with the customer's contact.
     * The customer sees the ticket in their view (no internal notes). */
    bool own_tier = customer && r->principal.tier_claimed;
    struct sp_agent me = {0};
    if (!customer && sp_api_current_agent(r, &me, p) != SP_OK)
        return p->rc;
    if (sp_chat_convert(&ctx, s.public_id, own_tier ? &r->principal.tier : NULL,
                        customer ? r->principal.sub : NULL, me.id, &t, &created, p) != SP_OK)
        return p->rc;
    if (created)
        sp_api_chat_became_ticket(r, s.public_id, t.public_id, &joins);
    sp_resp_header(r, "Location", sp_arena_sprintf(r->arena, customer ? "/support/tickets/%s"
                                                                      : "/support/agent/tickets/%s",
                                                   t.public_id));
    sp_view_ticket_answer(r, created ? 201 : 200, &t, customer ? SP_VIEW_CUSTOMER : SP_VIEW_AGENT);
    return SP_OK;
}
