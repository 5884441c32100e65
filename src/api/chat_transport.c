/*
 * chat_transport: support-chat's handlers. See chat_transport.h.
 */
#include "api/chat_transport.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/app.h"
#include "api/chat_frame.h"
#include "api/common.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "domain/agents.h"
#include "domain/attachments.h"
#include "domain/chat_access.h"
#include "domain/chat_bus.h"
#include "domain/chat_presence.h"
#include "domain/chat_sessions.h"
#include "domain/ratelimit.h"

/* Who is on a connection, re-established from its credentials. */
struct chat_caller {
    const char *sid;
    const char *role;           /* customer | agent | admin (NULL: none of them) */
    const char *principal;      /* customer-<sub>, agent-<sub>, admin-<sub> */
    const char *sender_type;    /* customer | agent */
    const char *token_sha256_hex;  /* a customer's session token, hashed; else NULL */
    struct sp_chat_auth_info info;
    long long agent_id;         /* staff's agents row as admit_session read it (0: not read) */
};

static bool
alnum_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return false;
    }
    return n > 0 && n <= max;
}

static enum sp_rc
forbidden(struct sp_problem *p, const char *why)
{
    return sp_problem_set(p, SP_FORBIDDEN, "forbidden", "%s", why);
}

/* The bearer token: the Authorization header's, else access_token's. */
static const char *
bearer(struct sp_req *r, const char *access_token)
{
    const char *jwt = NULL;
    const char *h = sp_req_header(r, "Authorization");
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
        jwt = h + 7;
        while (*jwt == ' ')
            jwt++;
        if (*jwt == '\0')
            jwt = NULL;
    }
    if (jwt == NULL && access_token != NULL && *access_token != '\0')
        jwt = access_token;
    return jwt;
}

/* Who the caller is by role: the principal name its frames are published
 * to and the sender type of its messages. */
static void
caller_role(struct sp_req *r, struct chat_caller *c)
{
    static const struct {
        enum sp_role role;
        const char *name, *sender_type;
    } roles[] = {
        {SP_ROLE_CUSTOMER, "customer", "customer"},
        {SP_ROLE_AGENT, "agent", "agent"},
        {SP_ROLE_ADMIN, "admin", "agent"},
    };
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (r->principal.role != roles[i].role)
            continue;
        c->role = roles[i].name;
        c->sender_type = roles[i].sender_type;
        c->principal = sp_arena_sprintf(r->arena, "%s-%s", roles[i].name, r->principal.sub);
    }
}

/* The credentials of a connect query (session_id, session_token,
 * access_token) and the Authorization header, checked without the
 * database: 400 for a JWT sent twice, 401 for a missing or bad JWT, 422
 * for no session_id, 403 for a session id or subject nginx could not
 * have used. */
static enum sp_rc
credentials(struct sp_req *r, const char *query, struct chat_caller *c, struct sp_problem *p)
{
    memset(c, 0, sizeof(*c));
    /* nginx and this worker must join and authorize the same session: a
     * repeated name, in any case or encoding, could make them read two
     * different values (API.md §7). Refused before anything else. */
    switch (sp_query_names_check(r->arena, query != NULL ? query : "")) {
    case SP_QUERY_NAMES_DISTINCT:
        break;
    case SP_QUERY_NAMES_REPEATED:
        return sp_problem_set(p, SP_INVALID, "duplicate_parameter",
                              "a connect URL names each parameter once");
    case SP_QUERY_NAMES_TOO_MANY:
        return sp_problem_set(p, SP_INVALID, "too_many_parameters",
                              "a connect URL has at most 32 parameters");
    }
    const char *saved = r->query;
    r->query = query != NULL ? query : "";
    const char *sid = sp_req_query_as_written(r, "session_id");
    const char *stok = sp_req_query_as_written(r, "session_token");
    const char *access_token = sp_req_query_as_written(r, "access_token");
    r->query = saved;
    /* Two credentials: which one counts is not guessed (API.md §1, §7);
     * the header's was taken silently. */
    if (sp_req_header(r, "Authorization") != NULL && access_token != NULL)
        return sp_problem_set(p, SP_INVALID, "conflicting_credentials",
                              "a connect request sends its JWT in the Authorization header or"
                              " in access_token, not both");
    const char *jwt = bearer(r, access_token);
    if (jwt == NULL)
        return sp_problem_set(p, SP_UNAUTHORIZED, "token_missing", "missing bearer token");
    if (sp_auth_verify(r->env->keys, r->arena, jwt, (time_t)(sp_clock_now_ms() / 1000), &r->principal, p) != SP_OK) {
        r->principal.role = SP_ROLE_NONE;
        return p->rc;
    }
    /* A public id in any case (API.md §1), from here on in its canonical
     * form: nginx subscribes to the session named in X-Chat-Session, the
     * session is looked up and its frames published under that name. */
    /* Names are read as written (nginx's $arg_ is another reader), so
     * Session_Id=X names no session: said as the missing parameter it is,
     * not as a session the caller may not join (after the JWT, as every
     * endpoint answers 401 before 422). */
    if (sid == NULL || *sid == '\0') {
        sp_problem_query_field(p, "session_id", "required",
                               "is required (parameter names are read as written, in lower case)");
        return p->rc;
    }
    c->sid = sp_api_public_id(r, sid);
    if (c->sid == NULL)
        return forbidden(p, "no such chat session");
    if (!alnum_ok(r->principal.sub, 64))
        return forbidden(p, "unsupported subject");
    caller_role(r, c);
    if (r->principal.role == SP_ROLE_CUSTOMER && stok != NULL && *stok != '\0')
        c->token_sha256_hex = sp_crypto_sha256_hex(r->arena, stok, strlen(stok));
    return SP_OK;
}

/* Whether the caller may use the session c->info describes (agent_id: the
 * caller's agent row, agents only). 403 for everything it may not do;
 * sp_chat_post_frame's statement applies the same rules. */
static enum sp_rc
admit(struct sp_req *r, const struct chat_caller *c, long long agent_id, struct sp_problem *p)
{
    const struct sp_chat_auth_info *info = &c->info;
    if (!info->found)
        return forbidden(p, "no such chat session");
    if (!info->open)
        return forbidden(p, "the chat session is closed");
    switch (r->principal.role) {
    case SP_ROLE_CUSTOMER: {
        if (info->customer_id == NULL || strcmp(info->customer_id, r->principal.sub) != 0)
            return forbidden(p, "no such chat session");
        if (c->token_sha256_hex == NULL || info->token_sha256_hex == NULL)
            return forbidden(p, "a session token is required");
        if (!sp_crypto_equal(c->token_sha256_hex, strlen(c->token_sha256_hex),
                             info->token_sha256_hex, strlen(info->token_sha256_hex)))
            return forbidden(p, "bad session token");
        return SP_OK;
    }
    case SP_ROLE_AGENT:
        if (info->assigned_agent_id == 0 || agent_id != info->assigned_agent_id)
            return forbidden(p, "only the assigned agent may join this chat");
        return SP_OK;
    case SP_ROLE_ADMIN:
        return SP_OK;
    default:
        return forbidden(p, "not allowed to join this chat");
    }
}

/* Whether the caller of credentials() may use its session: one read of
 * the session (staff's agent row is created on first sight: an admin's
 * too, since a deactivated one is refused here as everywhere, 403
 * agent_deactivated), then admit(). */
static enum sp_rc
admit_session(struct sp_req *r, struct chat_caller *c, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    if (sp_chat_auth_info(&ctx, c->sid, &c->info, p) != SP_OK)
        return p->rc;
    long long agent_id = 0;
    if (sp_principal_has_role(&r->principal, SP_ROLE_AGENT) && c->info.found && c->info.open) {
        struct sp_agent agent;
        if (sp_api_current_agent(r, &agent, p) != SP_OK)
            return p->rc;
        agent_id = agent.id;
    }
    c->agent_id = agent_id;
    return admit(r, c, agent_id, p);
}

/* Authorizes from the connect query and the Authorization header. */
static enum sp_rc
authorize(struct sp_req *r, const char *query, struct chat_caller *c, struct sp_problem *p)
{
    if (credentials(r, query, c, p) != SP_OK)
        return p->rc;
    return admit_session(r, c, p);
}

/* --- auth_request --------------------------------------------------------- */

enum sp_rc
sp_chat_t_auth(struct sp_req *r, struct sp_problem *p)
{
    struct chat_caller c;
    sp_resp_header(r, "Cache-Control", "no-store");
    if (authorize(r, r->query, &c, p) != SP_OK) {
        /* nginx's auth_request turns anything but 2xx/401/403 into a 500:
         * a refused URL travels as 403 plus this header, and nginx answers
         * the client 400 (nginx/chat.conf.in, @chat_problem_403). */
        if (p->rc == SP_INVALID) {
            /* a field's refusal travels as code:field:its code; the 403
             * is a plain one (validation_failed's code would make it 422) */
            const char *refusal = p->nerrors == 0 ? p->code
                                                  : sp_arena_sprintf(r->arena, "%s:%s:%s",
                                                                     p->code, p->errors[0].field,
                                                                     p->errors[0].code);
            sp_resp_header(r, "X-Chat-Refusal", refusal);
            sp_problem_init(p);
            sp_problem_set(p, SP_FORBIDDEN, "forbidden", "the connect URL is refused: %s",
                           refusal);
        }
        return p->rc;
    }
    /* What is let in is recorded, to be taken back when the credentials
     * run out (chat_access.h): the JWT as sp_auth_verify judges it (exp
     * plus the leeway), and the session (its token ends with it, and
     * nobody may join an expired session). No record, no entry: the sweep
     * could not find it. */
    long leeway = sp_auth_keys_leeway(r->env->keys);
    long long until = r->principal.exp > LLONG_MAX - leeway ? LLONG_MAX  /* "never" */
                                                            : r->principal.exp + leeway;
    if (c.info.expires_epoch < until)
        until = c.info.expires_epoch;
    struct sp_ctx ctx = sp_api_ctx(r);
    const char *access;
    if (sp_chat_access_grant(&ctx, c.sid, c.principal, until, &access, p) != SP_OK)
        return p->rc;
    sp_chat_access_sweep_maybe(&ctx);
    /* nginx subscribes to the session named here, never to its own
     * reading of the query (auth_request_set $chat_session). */
    sp_resp_header(r, "X-Chat-Session", c.sid);
    sp_resp_header(r, "X-Chat-Principal", c.principal);
    /* The grant's access channel: deleting it disconnects this connection
     * (chat_access.h). */
    sp_resp_header(r, "X-Chat-Access", access);
    sp_resp_send(r, 204, NULL, NULL, 0);
    return SP_OK;
}

/* --- presence (docs/chat-transport.md §8; the rules: domain/chat_presence.h) */

/* Seconds without any frame or hook after which a connection counts as
 * gone (SUPPORT_CHAT_PRESENCE_TIMEOUT_S). Clients send a frame (a presence
 * heartbeat) at least every 30 s: nchan's websocket pings never reach this
 * worker. */
static int
presence_timeout(const struct sp_req *r)
{
    const struct sp_app *app = r->env->app;
    return (int)app->cfg.chat_presence_timeout_s;
}

/* The connection id nginx passes with every hook (X-Chat-Connection: its
 * own $request_id, never the client's X-Request-Id, nginx/chat.conf.in). */
static const char *
conn_id(const struct sp_req *r)
{
    const char *id = sp_req_header(r, "X-Chat-Connection");
    if (id == NULL || *id == '\0' || strlen(id) > 128)
        return "-";
    return id;
}

/* The caller's connection, as presence knows it. */
static struct sp_chat_presence_conn
presence_conn(const struct sp_req *r, const char *sid, const char *principal)
{
    return (struct sp_chat_presence_conn){
        .session_id = sid, .principal = principal, .conn_id = conn_id(r),
        .timeout_s = presence_timeout(r),
    };
}

static void
presence_sweep_maybe(struct sp_req *r)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    sp_chat_presence_sweep_maybe(&ctx, presence_timeout(r));
}

/* --- frames ----------------------------------------------------------------- */

/* Starts a frame the worker renders itself: {"type":<type>, … left open
 * for its members. */
static void
frame_begin(struct sp_req *r, struct sp_buf *b, struct sp_jw *w, const char *type)
{
    sp_buf_init(b, r->arena, 256);
    sp_jw_begin_object(w, b);
    sp_jw_kstr(w, "type", type);
}

/* Reports a bad frame to its sender only, then answers 204 (the socket
 * stays open; an answer of 200 would go to the whole session). With
 * fields, the frame lists their field errors in `errors`, as a 422 does. */
static enum sp_rc
frame_errors(struct sp_req *r, const struct chat_caller *c, const char *code, const char *detail,
             const struct sp_problem *fields)
{
    struct sp_buf b;
    struct sp_jw w;
    frame_begin(r, &b, &w, "error");
    sp_jw_kstr(&w, "code", code);
    sp_jw_kstr(&w, "detail", detail);
    if (fields != NULL)
        sp_problem_write_errors(&w, fields);
    sp_jw_end(&w);
    sp_chat_bus_publish(c->sid, c->principal, b.data, b.len);
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "chat_frame_refused");
    sp_log_str(l, "code", code);
    sp_log_end(l);
    sp_resp_send(r, 204, NULL, NULL, 0);
    return SP_OK;
}

static enum sp_rc
frame_error(struct sp_req *r, const struct chat_caller *c, const char *code, const char *detail)
{
    return frame_errors(r, c, code, detail, NULL);
}

static enum sp_rc
answer_frame(struct sp_req *r, const struct chat_caller *c, const struct sp_buf *b)
{
    if (b->len > SP_CHAT_ANSWER_MAX)
        return frame_error(r, c, "frame_too_large", "the frame is too large");
    /* The worker publishes the frame itself (as text: application/json)
     * and answers 204. nchan would publish a 200 answer with the opcode of
     * the client's frame, so a binary frame reached everybody as binary
     * (a browser gets a Blob), and the hook cannot tell which it was.
     * Without a publisher, or when it failed, nchan publishes the answer. */
    if (sp_chat_bus_on() && sp_chat_bus_publish(c->sid, NULL, b->data, b->len)) {
        sp_resp_send(r, 204, NULL, NULL, 0);
        return SP_OK;
    }
    sp_resp_send(r, 200, "application/json", b->data, b->len);
    return SP_OK;
}

/* A resend's first frame goes back to its sender only (every connection
 * of that participant): the others heard it the first time. 204: nothing
 * for nchan to broadcast. */
static enum sp_rc
answer_sender(struct sp_req *r, const struct chat_caller *c, const struct sp_buf *b)
{
    sp_chat_bus_publish(c->sid, c->principal, b->data, b->len);
    sp_resp_send(r, 204, NULL, NULL, 0);
    return SP_OK;
}

/* The stored-message frame of m, alone in b. */
static void
render_message(struct sp_buf *b, const struct sp_chat_message *m)
{
    struct sp_jw w;
    sp_jw_init(&w, b);
    sp_chat_frame_message(&w, m, false);
}

/* The most one attachment's metadata can add to a frame: a 255-byte
 * filename whose every byte JSON escapes to two, a 255-byte type, the
 * digest, the times and the member names (domain/attachment_json). */
#define ATTACHMENT_FRAME_MAX 1200

/* Whether the stored frame of this message can be the hook's answer
 * (SP_CHAT_ANSWER_MAX), checked before anything is stored: rendered with
 * the longest id and time a stored message can have, and room for the
 * largest metadata of its attachments. */
static bool
frame_fits(struct sp_req *r, const struct chat_caller *c, const char *clean,
           const char *client_id, size_t nattachments)
{
    struct sp_chat_message m = {
        .id = INT64_MAX, .seq = INT64_MAX, .session_public_id = c->sid,
        .sender_type = c->sender_type, .sender_id = r->principal.sub, .body = clean,
        .client_id = client_id, .created_at = "9999-12-31T23:59:59.999Z",  /* support_ts() */
        .agent_id = INT64_MAX,
    };
    struct sp_buf b;
    sp_buf_init(&b, r->arena, 512);
    render_message(&b, &m);
    /* A staff message also names its sender: SP_AGENT_NAME_MAX characters
     * of up to 4 bytes each (the member itself is rendered above, null). */
    size_t name = strcmp(c->sender_type, "agent") == 0 ? 4 * SP_AGENT_NAME_MAX : 0;
    return b.len + name + nattachments * ATTACHMENT_FRAME_MAX <= SP_CHAT_ANSWER_MAX;
}

static enum sp_rc
frame_message(struct sp_req *r, const struct chat_caller *c, const struct sp_chat_frame *f,
              struct sp_problem *p)
{
    const char *clean = f->body, *client_id = f->client_id;
    if (!frame_fits(r, c, clean, client_id, f->nattachments))
        return frame_error(r, c, "too_long", SP_CHAT_TOO_LONG_DETAIL);
    struct sp_rate_window window;
    const char *bucket = sp_api_chat_message_limit(r, c->sid, &window);
    struct sp_rate_result rate;
    if (sp_api_rate_limit(r, bucket, &window, 1, &rate, p) != SP_OK) {
        if (p->rc != SP_RATE_LIMITED)
            return p->rc;
        sp_problem_init(p);
        return frame_error(r, c, "rate_limited", "too many messages; slow down");
    }
    struct sp_ctx ctx = sp_api_ctx(r);
    /* authorize() read the session a moment ago; the post re-checks that
     * it is still open in its own statement. */
    struct sp_chat_session s = {.id = c->info.session_id, .public_id = c->sid};
    struct sp_chat_message m;
    bool duplicate = false;
    const struct sp_chat_post_in in = {
        .sender_type = c->sender_type, .sender_id = r->principal.sub, .body = clean,
        .client_id = client_id, .attachments = f->attachments,
        .nattachments = f->nattachments,
    };
    if (sp_chat_post(&ctx, &s, &in, &m, &duplicate, p) != SP_OK) {
        if (p->rc == SP_CONFLICT || p->rc == SP_INVALID) {
            /* A field error (unknown_attachment) is the frame's code. */
            bool field = p->nerrors > 0;
            const char *code = field ? p->errors[0].code : p->code ? p->code : "invalid_frame";
            const char *detail =
                field ? sp_arena_sprintf(r->arena, "%s %s", p->errors[0].field,
                                         p->errors[0].message)
                      : sp_arena_strdup(r->arena, p->detail);
            sp_problem_init(p);
            return frame_error(r, c, code, detail);
        }
        return p->rc;
    }
    m.session_public_id = s.public_id;
    struct sp_buf b;
    sp_buf_init(&b, r->arena, 512);
    render_message(&b, &m);
    return duplicate ? answer_sender(r, c, &b) : answer_frame(r, c, &b);
}

/* Typing frames relayed per participant and second, for each state
 * (start and stop apart: a stop right after a start still arrives). */
#define SP_CHAT_TYPING_PER_S 1

/* Whether this typing frame may be relayed. Not: over the limit, or the
 * count failed (logged by db/); a hint is dropped, never an error. */
static bool
typing_allowed(struct sp_req *r, const struct chat_caller *c, bool state)
{
    const struct sp_rate_window window = {.seconds = 1, .limit = SP_CHAT_TYPING_PER_S};
    const char *bucket = sp_arena_sprintf(r->arena, "chat_typing:%s:%s:%d", c->sid,
                                          c->principal, state ? 1 : 0);
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_rate_result rate;
    struct sp_problem p;
    sp_problem_init(&p);
    return sp_rate_hit(&ctx, bucket, &window, 1, &rate, &p) == SP_OK && rate.allowed;
}

/* Re-rendered from what authorization established: a client cannot
 * speak for somebody else. At most SP_CHAT_TYPING_PER_S a second are
 * relayed; the rest are dropped (204). */
static enum sp_rc
frame_typing(struct sp_req *r, const struct chat_caller *c, const struct sp_chat_frame *f)
{
    if (!typing_allowed(r, c, f->typing)) {
        sp_resp_send(r, 204, NULL, NULL, 0);
        return SP_OK;
    }
    struct sp_buf b;
    struct sp_jw w;
    struct sp_ctx ctx = sp_api_ctx(r);
    frame_begin(r, &b, &w, "typing");
    sp_jw_kstr(&w, "session_id", c->sid);
    sp_chat_presence_sender(&ctx, &w, c->principal, c->agent_id);
    sp_jw_kbool(&w, "state", f->typing);
    sp_jw_end(&w);
    return answer_frame(r, c, &b);
}

/* A heartbeat answers 204 (nothing to relay); a change of state is
 * relayed to the session as the hook's answer — to every connection
 * subscribed, those the worker counts as stale too. Recorded without
 * sp_chat_presence_touch's announcement on the private channels, which
 * told the others a second time. */
static enum sp_rc
frame_presence(struct sp_req *r, const struct chat_caller *c, const struct sp_chat_frame *f)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_presence_conn pc = presence_conn(r, c->sid, c->principal);
    struct sp_chat_presence_change chg;
    if (sp_chat_presence_record(&ctx, &pc, f->state, &chg) && strcmp(chg.before, chg.after) == 0) {
        sp_resp_send(r, 204, NULL, NULL, 0);
        return SP_OK;
    }
    struct sp_buf b;
    struct sp_jw w;
    sp_buf_init(&b, r->arena, 256);
    sp_jw_init(&w, &b);
    sp_chat_presence_frame(&ctx, &w, c->sid, c->principal, c->agent_id, f->state);
    return answer_frame(r, c, &b);
}

/* A message frame refused for its body or client_id does not hide
 * attachments that are no clean, unattached uploads of the sender: they
 * are looked up on this refusal only, and when refused too the error
 * frame lists both in `errors` (API.md §1, §7). The frame's code and
 * detail stay the first fault's. */
static enum sp_rc
refuse_frame(struct sp_req *r, const struct chat_caller *c, const struct sp_chat_frame *f)
{
    if (f->type != SP_CHAT_FRAME_MESSAGE || f->nattachments == 0 || f->field == NULL ||
        strcmp(f->field, "attachments") == 0)
        return frame_error(r, c, f->code, f->detail);
    struct sp_problem fields;
    sp_problem_init(&fields);
    sp_problem_field(&fields, f->field, f->code, f->detail);
    struct sp_ctx ctx = sp_api_ctx(r);
    sp_attachments_check(&ctx, sp_api_party(r), f->attachments, f->nattachments, &fields);
    return frame_errors(r, c, f->code, f->detail, fields.nerrors > 1 ? &fields : NULL);
}

/* One parsed frame (ok false: refused by the parser) of the caller. */
static enum sp_rc
handle_frame(struct sp_req *r, const struct chat_caller *c, const struct sp_chat_frame *f,
             bool ok, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_presence_conn pc = presence_conn(r, c->sid, c->principal);
    /* Any frame is a sign of life; presence frames are handled below. */
    if (f->type != SP_CHAT_FRAME_PRESENCE)
        sp_chat_presence_alive(&ctx, &pc);
    if (!ok) {
        struct sp_chat_presence_change chg;
        if (f->type == SP_CHAT_FRAME_PRESENCE)
            sp_chat_presence_touch(&ctx, &pc, NULL, &chg);
        return refuse_frame(r, c, f);
    }
    if (f->type == SP_CHAT_FRAME_MESSAGE)
        return frame_message(r, c, f, p);
    if (f->type == SP_CHAT_FRAME_TYPING)
        return frame_typing(r, c, f);
    return frame_presence(r, c, f);
}

/* A message frame the one-round-trip post takes: no attachments (they
 * are linked in a transaction of their own), and a stored frame that fits
 * the answer (a refusal is published only to an authorized caller). */
static bool
one_trip(struct sp_req *r, const struct chat_caller *c, const struct sp_chat_frame *f)
{
    return f->type == SP_CHAT_FRAME_MESSAGE && f->nattachments == 0 && c->role != NULL &&
           frame_fits(r, c, f->body, f->client_id, 0);
}

/* A message frame in one database round trip (sp_chat_post_frame): the
 * session read, the rate-limit hit and the post in one statement, then
 * the same refusals, in the same order, as the other frames get. */
static enum sp_rc
frame_message_one_trip(struct sp_req *r, struct chat_caller *c, const struct sp_chat_frame *f,
                       struct sp_problem *p)
{
    struct sp_chat_presence_conn pc = presence_conn(r, c->sid, c->principal);
    bool alive_due = sp_chat_presence_alive_due(&pc);
    struct sp_rate_window window;
    const char *bucket = sp_api_chat_message_limit(r, c->sid, &window);
    const struct sp_chat_frame_post in = {
        .public_id = c->sid, .role = c->role, .token_sha256_hex = c->token_sha256_hex,
        .rate_bucket = bucket, .window = window,
        .msg = {.sender_type = c->sender_type, .sender_id = r->principal.sub, .body = f->body,
                .client_id = f->client_id},
        .alive = {.conn_id = alive_due ? pc.conn_id : NULL, .principal = c->principal,
                  .timeout_s = pc.timeout_s},
    };
    struct sp_chat_frame_posted out;
    struct sp_ctx ctx = sp_api_ctx(r);
    if (sp_chat_post_frame(&ctx, &in, &out, p) != SP_OK)
        return p->rc;
    c->info = out.info;
    if (admit(r, c, out.caller_agent_id, p) != SP_OK)
        return p->rc;
    /* An admin watching a waiting chat: the statement stored nothing. */
    if (out.info.waiting && strcmp(c->sender_type, "agent") == 0)
        return sp_chat_staff_waiting(p);
    sp_chat_access_sweep_maybe(&ctx);
    if (alive_due)
        sp_chat_presence_alive_recorded(&ctx, &pc, out.alive_refreshed);
    if (!out.counted)   /* the statement refused whom admit() let in */
        return sp_problem_set(p, SP_ERROR, "internal", "chat authorization disagreed");
    if (sp_api_rate_answer(r, &out.rate, p) != SP_OK) {
        sp_problem_init(p);
        return frame_error(r, c, "rate_limited", "too many messages; slow down");
    }
    if (!out.stored)    /* a resend of a message still being stored */
        return frame_error(r, c, "conflict",
                           "a message with this client_id is being stored; send it again");
    struct sp_buf b;
    sp_buf_init(&b, r->arena, 512);
    render_message(&b, &out.message);
    return out.duplicate ? answer_sender(r, c, &b) : answer_frame(r, c, &b);
}

/* Every other frame: authorized against the session first (its own
 * read). */
static enum sp_rc
frame_authorized(struct sp_req *r, struct chat_caller *c, const struct sp_chat_frame *f,
                 bool ok, struct sp_problem *p)
{
    if (admit_session(r, c, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    /* Listeners whose credentials ran out leave before this frame is
     * published (at most every SP_CHAT_ACCESS_SWEEP_S per worker). */
    sp_chat_access_sweep_maybe(&ctx);
    if (f->type == SP_CHAT_FRAME_INVALID)
        return frame_error(r, c, f->code, f->detail);
    return handle_frame(r, c, f, ok, p);
}

/* Whether a refusal of the frame hook is about the frame rather than the
 * connection: answered 204 with an error frame to the sender. Any other
 * hook answer closes the socket (1008), and a close while the client's
 * next frame waits for the hook can crash nginx (docs/chat-transport.md
 * §15): only a connection whose access ended (403) is closed. */
static bool
bad_frame(enum sp_rc rc)
{
    return rc == SP_INVALID || rc == SP_NOT_FOUND || rc == SP_CONFLICT ||
           rc == SP_PRECONDITION || rc == SP_TOO_LARGE || rc == SP_RATE_LIMITED;
}

enum sp_rc
sp_chat_t_frame(struct sp_req *r, struct sp_problem *p)
{
    /* Re-authorize every frame: X-Chat-Principal is only a hint. */
    const char *uri = sp_req_header(r, "X-Chat-Connect-URI");
    const char *q = uri != NULL ? strchr(uri, '?') : NULL;
    struct chat_caller c;
    if (credentials(r, q != NULL ? q + 1 : "", &c, p) != SP_OK) {
        if (p->rc == SP_UNAUTHORIZED) {
            /* 403 closes the socket; the client reconnects and is refused. */
            sp_problem_init(p);
            return forbidden(p, "the connection's credentials are no longer valid");
        }
        return p->rc;
    }
    struct sp_chat_frame f;
    bool ok = sp_chat_frame_parse(r->arena, r->body, r->body_len, &f) == SP_OK;
    enum sp_rc rc = ok && one_trip(r, &c, &f) ? frame_message_one_trip(r, &c, &f, p)
                                              : frame_authorized(r, &c, &f, ok, p);
    if (rc != SP_OK && !r->responded && bad_frame(p->rc)) {
        const char *code = p->nerrors > 0 ? p->errors[0].code : p->code;
        const char *detail = sp_arena_strdup(r->arena, p->detail);
        sp_problem_init(p);
        rc = frame_error(r, &c, code != NULL ? code : "invalid_frame", detail);
    }
    if (rc == SP_OK)
        presence_sweep_maybe(r);
    return rc;
}

/* --- presence hooks -------------------------------------------------------- */

/* query: the connect URI's. */
static void
hook_online(struct sp_req *r, const char *query, struct sp_problem *p)
{
    struct chat_caller c;
    struct sp_chat_presence_conn pc = {0};
    struct sp_chat_presence_change chg = {0};
    bool recorded = false;
    struct sp_ctx ctx = sp_api_ctx(r);
    if (authorize(r, query, &c, p) != SP_OK) {
        sp_problem_init(p);
    } else {
        pc = presence_conn(r, c.sid, c.principal);
        recorded = sp_chat_presence_record(&ctx, &pc, "online", &chg);
    }
    /* nchan drops the offline hook of a subscriber that leaves while
     * this hook is still in flight (reproduced: a client that closes on
     * the first frame it gets). So the hook is answered as soon as the
     * connection is recorded, and only then does anybody hear of it. */
    sp_resp_send(r, 204, NULL, NULL, 0);
    sp_resp_finish(r);
    if (recorded)
        sp_chat_presence_joined(&ctx, &pc, &chg);
}

/* The credentials may have expired since the connect: the row of this
 * connection id is what proves it was here. A websocket's leave is
 * announced at once; an EventSource stream (no Upgrade on its connect;
 * nginx passes the header as X-Chat-Upgrade) ends every 55 s and comes
 * back by itself, so its participant gets a grace period. */
static void
hook_offline(struct sp_req *r, const char *query)
{
    const char *saved = r->query;
    r->query = query;
    const char *raw = sp_req_query_as_written(r, "session_id");
    r->query = saved;
    /* Recorded online under its canonical form (credentials()). */
    const char *sid = raw != NULL ? sp_api_public_id(r, raw) : NULL;
    const char *principal = sp_req_header(r, "X-Chat-Principal");
    if (sid != NULL && principal != NULL && strlen(principal) <= 80) {
        struct sp_ctx ctx = sp_api_ctx(r);
        struct sp_chat_presence_conn pc = presence_conn(r, sid, principal);
        const char *upgrade = sp_req_header(r, "X-Chat-Upgrade");
        if (upgrade != NULL && strcasecmp(upgrade, "websocket") == 0)
            sp_chat_presence_leave(&ctx, &pc);
        else
            sp_chat_presence_leave_soon(&ctx, &pc);
    }
}

/* nchan's subscribe (online) and unsubscribe (offline) hooks, websocket and
 * EventSource only. Always 204: nchan ignores the answer anyway. */
enum sp_rc
sp_chat_t_presence(struct sp_req *r, struct sp_problem *p)
{
    const char *hook = r->nparams > 0 ? r->params[0] : "";
    const char *uri = sp_req_header(r, "X-Chat-Connect-URI");
    const char *q = uri != NULL ? strchr(uri, '?') : NULL;
    if (strcmp(hook, "online") == 0)
        hook_online(r, q != NULL ? q + 1 : "", p);
    else if (strcmp(hook, "offline") == 0)
        hook_offline(r, q != NULL ? q + 1 : "");
    sp_resp_send(r, 204, NULL, NULL, 0);
    presence_sweep_maybe(r);
    struct sp_ctx ctx = sp_api_ctx(r);
    sp_chat_access_sweep_maybe(&ctx);
    return SP_OK;
}

const struct sp_route sp_chat_routes[] = {
    /* The auth subrequest carries the client's request line. */
    {SP_GET,  "/support/chat/connect", sp_chat_t_auth, SP_ROLE_NONE},
    {SP_POST, "/internal/chat/frame-worker", sp_chat_t_frame, SP_ROLE_NONE},
    /* nchan sends an empty websocket frame to the hook as a GET. */
    {SP_GET,  "/internal/chat/frame-worker", sp_chat_t_frame, SP_ROLE_NONE},
    {SP_GET,  "/internal/chat/presence-worker/:state", sp_chat_t_presence, SP_ROLE_NONE},
    /* Operators' listener only (SUPPORT_LISTENER, docs/metrics.md). */
    {SP_GET,  "/chat/metrics", sp_chat_t_metrics, SP_ROLE_NONE},
};

const size_t sp_chat_nroutes = sizeof(sp_chat_routes) / sizeof(sp_chat_routes[0]);
