/*
 * test_chat_session: the REST side of live chat (API.md §7) — no websocket
 * or nchan transport yet (src/api/chat.c).
 *
 * POST /support/chat/session (customers only) answers 201 with the session,
 * a one-time session_token (only its SHA-256 is stored), ws_url/events_url
 * carrying both in the query, expires_at 24 h ahead, Location and
 * Cache-Control: no-store; `message` becomes the first (sanitized) customer
 * message. Sessions route like tickets but by chat capacity: a round-robin
 * category with a free active agent makes the session `active` (system
 * message agent_joined), a skill category picks only agents with its
 * skill (in any team), a manual category, an away agent or one at
 * max_concurrent_chats leaves it `waiting` — until an agent it may go to
 * gets a free place (a chat of theirs closed or handed away, back from
 * away, more max_concurrent_chats): the oldest waiting chats are theirs
 * then, never one routing would not give them, never one chat to two
 * agents; a transfer to whoever is free routes the same way. A chat's
 * ticket made by an agent gets the tier
 * stored with the customer's contact, for the priority rules. Reading,
 * the HTTP send fallback (client_id and Idempotency-Key make resends
 * idempotent, 60 messages/min/session) and close
 * are for the session's customer, its assigned agent and admins. Agents
 * list waiting sessions and their own active ones, and accept waiting
 * sessions (409 already_assigned / agent_unavailable / session_closed);
 * concurrent creations and accepts never exceed max_concurrent_chats, and
 * of many agents accepting one session exactly one wins. A chat becomes a
 * ticket once, by a transfer or by a ticket create naming it (which
 * carries the transcript too; the next such create is 409
 * chat_already_linked); a customer's transfer answer is their view of
 * the ticket, without internal notes.
 *
 * Every test makes its own users, categories and agents; each agent sits
 * in a team of its own so routing is deterministic.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOUR_MS INT64_C(3600000)
#define MIN_MS INT64_C(60000)

/* ---- arranging ---------------------------------------------------------------- */

static const char *
team_new(void)
{
    return sp_t_unique("chat-team");
}

/* A round-robin category routing to team. */
static const char *
category_rr(const char *team)
{
    return sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":%s", sp_t_jq(team)));
}

/* A manual category of team. */
static const char *
category_manual_of(const char *team)
{
    return sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"manual\",\"team\":%s", sp_t_jq(team)));
}

/* A manual category (of a team nobody is in). */
static const char *
category_manual(void)
{
    return category_manual_of(team_new());
}

/* A skill-routed category needing skill, whose team is team: the team
 * a chat goes to when the skill is ignored. */
static const char *
category_skill(const char *team, const char *skill)
{
    return sp_t_admin_category_new(sp_t_fmt("\"routing\":\"skill\",\"required_skill\":%s,"
                                            "\"team\":%s", sp_t_jq(skill), sp_t_jq(team)));
}

static void
agent_patch(int64_t id, const char *json)
{
    struct sp_t_resp *r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld",
                                                       (long long)id), json);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

/* An agent (with its user) alone in a fresh team, or in team when not NULL;
 * extra: more JSON members or NULL. */
static int64_t
agent_new(const char *team, const char *extra, struct sp_t_user *u)
{
    return sp_t_admin_agent_new(sp_t_fmt("\"team\":%s%s%s", sp_t_jq(team ? team : team_new()),
                                         extra ? "," : "", extra ? extra : ""),
                                u);
}

struct chat {
    const char *id;      /* public id */
    const char *token;   /* session token */
    const char *status;
    int64_t agent;       /* assigned_agent_id, 0 = null */
};

static struct sp_t_resp *
create_raw(const struct sp_t_user *u, const char *json)
{
    if (json == NULL)
        return sp_t_request("POST", "/support/chat/session", u ? u->token : NULL, NULL, NULL,
                            NULL);
    return sp_t_post_json("/support/chat/session", u ? u->token : NULL, json);
}

/* POST /support/chat/session as u with this body (NULL: none); asserts 201. */
#define chat_create(u, json) chat_create_at(__FILE__, __LINE__, (u), (json))
static struct chat
chat_create_at(const char *file, int line, const struct sp_t_user *u, const char *json)
{
    struct sp_t_resp *r = json == NULL
        ? sp_t_request_at(file, line, "POST", "/support/chat/session", u->token, NULL, NULL, NULL)
        : sp_t_request_at(file, line, "POST", "/support/chat/session", u->token, SP_T_JSON, json,
                          NULL);
    sp_t_assert_json_at(file, line, r, 201);
    struct chat c;
    c.id = sp_t_fmt("%s", sp_t_jstr_at(file, line, r->json, "session_id"));
    c.token = sp_t_fmt("%s", sp_t_jstr_at(file, line, r->json, "session_token"));
    c.status = sp_t_fmt("%s", sp_t_jstr_at(file, line, r->json, "status"));
    struct json_object *a = sp_t_jget_at(file, line, r->json, "assigned_agent_id",
                                         json_type_null, false);
    c.agent = a == NULL ? 0 : json_object_get_int64(a);
    sp_t_resp_free(r);
    sp_t_assert_public_id_at(file, line, c.id);
    return c;
}

/* A session in category (NULL: none) with first message msg (NULL: none). */
#define chat_new(u, category, msg) chat_new_at(__FILE__, __LINE__, (u), (category), (msg))
static struct chat
chat_new_at(const char *file, int line, const struct sp_t_user *u, const char *category,
            const char *msg)
{
    const char *json = sp_t_fmt("{%s%s%s%s}", category ? "\"category\":" : "",
                                category ? sp_t_jq(category) : "",
                                category && msg ? ",\"message\":" : msg ? "\"message\":" : "",
                                msg ? sp_t_jq(msg) : "");
    return chat_create_at(file, line, u, json);
}

static const char *
session_path(const char *id, const char *suffix)
{
    return sp_t_fmt("/support/chat/session/%s%s", id, suffix ? suffix : "");
}

static struct sp_t_resp *
session_get(const struct sp_t_user *u, const char *id, const char *query)
{
    return sp_t_get(session_path(id, query), u->token);
}

static struct sp_t_resp *
msg_post(const struct sp_t_user *u, const char *id, const char *json)
{
    return sp_t_post_json(session_path(id, "/messages"), u->token, json);
}

/* Sends body as u; asserts 201 and returns the message id. */
#define msg_send(u, id, body) msg_send_at(__FILE__, __LINE__, (u), (id), (body))
static int64_t
msg_send_at(const char *file, int line, const struct sp_t_user *u, const char *id,
            const char *body)
{
    struct sp_t_resp *r = sp_t_request_at(file, line, "POST", session_path(id, "/messages"),
                                          u->token, SP_T_JSON,
                                          sp_t_fmt("{\"body\":%s}", sp_t_jq(body)), NULL);
    sp_t_assert_json_at(file, line, r, 201);
    int64_t mid = sp_t_jint_at(file, line, r->json, "id");
    sp_t_resp_free(r);
    return mid;
}

static struct sp_t_resp *
chat_close(const struct sp_t_user *u, const char *id)
{
    return sp_t_request("POST", session_path(id, "/close"), u->token, NULL, NULL, NULL);
}

static struct sp_t_resp *
transfer(const struct sp_t_user *u, const char *id, const char *json)
{
    return sp_t_post_json(session_path(id, "/transfer"), u->token, json);
}

static struct sp_t_resp *
chat_accept(const struct sp_t_user *u, const char *id)
{
    return sp_t_request("POST", sp_t_fmt("/support/agent/chats/%s/accept", id), u->token, NULL,
                        NULL, NULL);
}

static long
sql_long(const char *v)
{
    ck_assert_msg(v != NULL, "SQL gave no value");
    return atol(v);
}

/* Stored messages of a session (by public id), of sender_type when not NULL. */
static long
db_messages(const char *id, const char *sender_type)
{
    return sql_long(sp_t_sql(
        "SELECT count(*) FROM support_chat_messages m JOIN support_chat_sessions s"
        " ON s.id = m.session_id WHERE s.public_id = '%s'%s%s%s",
        id, sender_type ? " AND m.sender_type = '" : "", sender_type ? sender_type : "",
        sender_type ? "'" : ""));
}

/* Stored system messages of a session whose payload event is event. */
static long
db_system_events(const char *id, const char *event)
{
    return sql_long(sp_t_sql(
        "SELECT count(*) FROM support_chat_messages m JOIN support_chat_sessions s"
        " ON s.id = m.session_id WHERE s.public_id = '%s' AND m.sender_type = 'system'"
        " AND m.payload->>'event' = '%s'",
        id, event));
}

/* The chat continues as a ticket and only there (docs/API.md §7): it is
 * closed, said once, and a message sent to it afterwards is refused. */
static void
assert_chat_ended_as_ticket(const struct sp_t_user *u, const char *id)
{
    ck_assert_str_eq(sp_t_sql("SELECT status || '/' || (ended_at IS NOT NULL)"
                              " FROM support_chat_sessions WHERE public_id = '%s'", id),
                     "closed/true");
    ck_assert_int_eq(db_system_events(id, "closed"), 1);
    struct sp_t_resp *r = msg_post(u, id, "{\"body\":\"still there?\"}");
    sp_t_assert_problem(r, 409, "session_closed");
    sp_t_resp_free(r);
}

/* Outbox rows of a session's event (API.md §11) on channel, to recipient
 * when not NULL. */
static long
db_outbox_of(const char *id, const char *event, const char *channel, const char *recipient)
{
    return sql_long(sp_t_sql(
        "SELECT count(*) FROM support_outbox WHERE payload->>'session_id' = '%s'"
        " AND event_type = '%s' AND channel = '%s' AND recipient IS NOT DISTINCT FROM %s",
        id, event, channel, recipient ? sp_t_fmt("'%s'", recipient) : "NULL"));
}

static long
db_sessions_of(const struct sp_t_user *u)
{
    return sql_long(sp_t_sql("SELECT count(*) FROM support_chat_sessions WHERE customer_id = '%s'",
                             u->sub));
}

static const char *
db_session(const char *id, const char *column)
{
    return sp_t_sql("SELECT %s FROM support_chat_sessions WHERE public_id = '%s'", column, id);
}

/* ---- shapes ----------------------------------------------------------------- */

/* The server -> client message frame of API.md §7, exactly its members:
 * 10, and a staff message's agent_id and sender_name (docs/API.md §7).
 * sender_id NULL: must be JSON null (system messages). */
#define assert_frame(m, sid, type, sender) \
    assert_frame_at(__FILE__, __LINE__, (m), (sid), (type), (sender))
static void
assert_frame_at(const char *file, int line, struct json_object *m, const char *sid,
                const char *sender_type, const char *sender_id)
{
    ck_assert_msg(json_object_is_type(m, json_type_object), "%s:%d: frame is not an object",
                  file, line);
    if (strcmp(sender_type, "system") == 0) {
        /* System messages are system frames: {"type":"system","event":…}. */
        ck_assert_msg(strcmp(sp_t_jstr_at(file, line, m, "type"), "system") == 0,
                      "%s:%d: frame type %s, want system", file, line,
                      sp_t_jstr_at(file, line, m, "type"));
        ck_assert_msg(strlen(sp_t_jstr_at(file, line, m, "event")) > 0, "%s:%d: no event", file,
                      line);
        ck_assert_msg(sp_t_jint_at(file, line, m, "id") > 0, "%s:%d: frame id <= 0", file, line);
        ck_assert_msg(strcmp(sp_t_jstr_at(file, line, m, "session_id"), sid) == 0,
                      "%s:%d: frame session_id %s, want %s", file, line,
                      sp_t_jstr_at(file, line, m, "session_id"), sid);
        return;
    }
    ck_assert_msg(strcmp(sp_t_jstr_at(file, line, m, "type"), "message") == 0,
                  "%s:%d: frame type %s", file, line, sp_t_jstr_at(file, line, m, "type"));
    ck_assert_msg(sp_t_jint_at(file, line, m, "id") > 0, "%s:%d: frame id <= 0", file, line);
    ck_assert_msg(sp_t_jint_at(file, line, m, "seq") > 0, "%s:%d: frame seq <= 0", file, line);
    ck_assert_msg(strcmp(sp_t_jstr_at(file, line, m, "session_id"), sid) == 0,
                  "%s:%d: frame session_id %s, want %s", file, line,
                  sp_t_jstr_at(file, line, m, "session_id"), sid);
    ck_assert_msg(strcmp(sp_t_jstr_at(file, line, m, "sender_type"), sender_type) == 0,
                  "%s:%d: frame sender_type %s, want %s", file, line,
                  sp_t_jstr_at(file, line, m, "sender_type"), sender_type);
    if (sender_id != NULL)
        ck_assert_msg(strcmp(sp_t_jstr_at(file, line, m, "sender_id"), sender_id) == 0,
                      "%s:%d: frame sender_id %s, want %s", file, line,
                      sp_t_jstr_at(file, line, m, "sender_id"), sender_id);
    else
        sp_t_jget_at(file, line, m, "sender_id", json_type_null, true);
    (void)sp_t_jstr_at(file, line, m, "body");
    sp_t_assert_recent_at(file, line, sp_t_jstr_at(file, line, m, "created_at"));
    struct json_object *cid = sp_t_jget_at(file, line, m, "client_id", json_type_null, false);
    ck_assert_msg(cid == NULL || json_object_is_type(cid, json_type_string),
                  "%s:%d: client_id must be a string or null", file, line);
    struct json_object *att = sp_t_jget_at(file, line, m, "attachments", json_type_array, true);
    ck_assert_msg(json_object_array_length(att) == 0, "%s:%d: attachments not []", file, line);
    int want = strcmp(sender_type, "agent") == 0 ? 12 : 10;
    ck_assert_msg(json_object_object_length(m) == want,
                  "%s:%d: frame has %d members, want %d: %s", file, line,
                  json_object_object_length(m), want, json_object_to_json_string(m));
}

/* A session view (GET, close, accept): public id, status, agent, times; no
 * token. */
#define assert_session(o, sid, status) assert_session_at(__FILE__, __LINE__, (o), (sid), (status))
static void
assert_session_at(const char *file, int line, struct json_object *o, const char *sid,
                  const char *status)
{
    ck_assert_msg(strcmp(sp_t_jstr_at(file, line, o, "session_id"), sid) == 0,
                  "%s:%d: session_id %s, want %s", file, line,
                  sp_t_jstr_at(file, line, o, "session_id"), sid);
    ck_assert_msg(strcmp(sp_t_jstr_at(file, line, o, "status"), status) == 0,
                  "%s:%d: status %s, want %s", file, line, sp_t_jstr_at(file, line, o, "status"),
                  status);
    (void)sp_t_jget_at(file, line, o, "assigned_agent_id", json_type_null, false);
    (void)sp_t_jget_at(file, line, o, "metadata", json_type_object, true);
    sp_t_assert_recent_at(file, line, sp_t_jstr_at(file, line, o, "started_at"));
    sp_t_assert_timestamp_at(file, line, sp_t_jstr_at(file, line, o, "expires_at"));
    ck_assert_msg(!sp_t_jhas(o, "session_token"), "%s:%d: the session token is shown again",
                  file, line);
}

static int64_t
jagent(struct json_object *o)
{
    struct json_object *a = sp_t_jget(o, "assigned_agent_id");
    return a == NULL ? 0 : json_object_get_int64(a);
}

/* ---- POST /support/chat/session -------------------------------------------- */

START_TEST(create_by_customer_is_201_with_token_urls_expiry_and_headers)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *cat = category_manual();
    struct sp_t_resp *r = create_raw(&c, sp_t_fmt("{\"category\":%s}", sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    const char *token = sp_t_fmt("%s", sp_t_jstr(r->json, "session_token"));
    sp_t_assert_public_id(id);
    ck_assert_msg(sp_t_matches("^[0-9a-f]{64}$", token), "session_token %s is not 64 hex", token);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "waiting");
    sp_t_assert_jnull(r->json, "assigned_agent_id");
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), cat);
    const char *url = sp_t_fmt("/support/chat/connect?session_id=%s&session_token=%s", id, token);
    ck_assert_str_eq(sp_t_jstr(r->json, "ws_url"), url);
    ck_assert_str_eq(sp_t_jstr(r->json, "events_url"), url);

    int64_t expires = sp_t_jts_ms(r->json, "expires_at");
    int64_t started = sp_t_jts_ms(r->json, "started_at");
    int64_t now = (int64_t)time(NULL) * 1000;
    ck_assert_msg(llabs((long long)(expires - (now + 24 * HOUR_MS))) < 10 * MIN_MS,
                  "expires_at %s is not about now + 24 h", sp_t_jstr(r->json, "expires_at"));
    ck_assert_int_eq(expires - started, 24 * HOUR_MS);

    const char *loc = sp_t_header(r, "Location");
    const char *want = sp_t_fmt("/support/chat/session/%s", id);
    ck_assert_msg(loc != NULL && strlen(loc) >= strlen(want)
                      && strcmp(loc + strlen(loc) - strlen(want), want) == 0,
                  "Location %s, want …%s", loc ? loc : "(none)", want);
    const char *cc = sp_t_header(r, "Cache-Control");
    ck_assert_msg(cc != NULL && sp_t_list_has(cc, "no-store"), "Cache-Control %s",
                  cc ? cc : "(none)");
    sp_t_resp_free(r);

    ck_assert_str_eq(db_session(id, "customer_id"), c.sub);
    ck_assert_str_eq(db_session(id, "status"), "waiting");
    ck_assert_int_eq(db_messages(id, NULL), 0);
}
END_TEST

START_TEST(create_stores_only_the_sha256_of_the_session_token)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    const char *stored = db_session(s.id, "encode(session_token, 'hex')");
    ck_assert_str_eq(stored, sp_t_sql("SELECT encode(sha256('%s'::bytea), 'hex')", s.token));
    ck_assert_str_ne(stored, s.token);
    ck_assert_str_eq(db_session(s.id, sp_t_fmt("position(convert_to('%s', 'UTF8') in session_token)",
                                               s.token)),
                     "0");
    /* a second session gets another token */
    struct chat s2 = chat_new(&c, category_manual(), NULL);
    ck_assert_str_ne(s2.token, s.token);
    ck_assert_str_ne(s2.id, s.id);
}
END_TEST

static struct sp_t_resp *
create_with_key(const struct sp_t_user *u, const char *key, const char *json)
{
    const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", key), NULL};
    return sp_t_request("POST", "/support/chat/session", u->token, SP_T_JSON, json, hdr);
}

/* The token is only kept as a hash, so a replay cannot repeat it: it
 * answers the same session with a fresh token, and the first one stops
 * working. */
START_TEST(create_with_idempotency_key_replays_the_session_with_a_fresh_token)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *key = sp_t_fmt("chat-%ld", (long)random());
    const char *body = sp_t_fmt("{\"category\":%s,\"message\":\"hello\"}",
                                sp_t_jq(category_manual()));
    struct sp_t_resp *r1 = create_with_key(&c, key, body);
    sp_t_assert_json(r1, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r1->json, "session_id"));
    const char *token1 = sp_t_fmt("%s", sp_t_jstr(r1->json, "session_token"));
    ck_assert_ptr_null(sp_t_header(r1, "Idempotent-Replayed"));

    struct sp_t_resp *r2 = create_with_key(&c, key, body);
    sp_t_assert_json(r2, 201);
    ck_assert_str_eq(sp_t_header(r2, "Idempotent-Replayed"), "true");
    ck_assert_str_eq(sp_t_jstr(r2->json, "session_id"), id);
    ck_assert_str_eq(sp_t_jstr(r2->json, "status"), "waiting");
    ck_assert_str_eq(sp_t_header(r2, "Location"), sp_t_header(r1, "Location"));
    const char *token2 = sp_t_fmt("%s", sp_t_jstr(r2->json, "session_token"));
    ck_assert_msg(sp_t_matches("^[0-9a-f]{64}$", token2), "session_token %s", token2);
    ck_assert_str_ne(token2, token1);
    ck_assert_str_eq(sp_t_jstr(r2->json, "ws_url"),
                     sp_t_fmt("/support/chat/connect?session_id=%s&session_token=%s", id, token2));
    const char *cc = sp_t_header(r2, "Cache-Control");
    ck_assert_msg(cc != NULL && sp_t_list_has(cc, "no-store"), "Cache-Control %s",
                  cc ? cc : "(none)");

    /* one session, one first message; only the new token's hash is kept */
    ck_assert_int_eq(db_sessions_of(&c), 1);
    ck_assert_int_eq(db_messages(id, NULL), 1);
    ck_assert_str_eq(db_session(id, "encode(session_token, 'hex')"),
                     sp_t_sql("SELECT encode(sha256('%s'::bytea), 'hex')", token2));
    /* the stored replay holds no token */
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_idempotency_keys"
                              " WHERE user_id = '%s' AND (response_body LIKE '%%%s%%'"
                              " OR response_body LIKE '%%%s%%')",
                              c.sub, token1, token2),
                     "0");
    /* the first token no longer opens the session */
    struct sp_t_resp *old = sp_t_get(
        sp_t_fmt("/support/chat/connect?session_id=%s&session_token=%s", id, token1), c.token);
    ck_assert_int_eq(old->status, 403);
    sp_t_resp_free(old);

    /* the same key with another body is refused and creates nothing */
    struct sp_t_resp *r3 = create_with_key(&c, key, "{\"message\":\"something else\"}");
    sp_t_assert_problem(r3, 422, "idempotency_key_reused");
    ck_assert_int_eq(db_sessions_of(&c), 1);
    sp_t_resp_free(r1);
    sp_t_resp_free(r2);
    sp_t_resp_free(r3);
}
END_TEST

START_TEST(create_with_empty_body_works_without_a_first_message)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_create(&c, NULL);
    ck_assert_msg(strcmp(s.status, "waiting") == 0 || strcmp(s.status, "active") == 0,
                  "status %s", s.status);
    ck_assert_int_eq(strcmp(s.status, "active") == 0, s.agent != 0);
    ck_assert_int_eq(db_messages(s.id, "customer"), 0);
    ck_assert_ptr_null(db_session(s.id, "category_id"));

    struct sp_t_resp *g = session_get(&c, s.id, NULL);
    sp_t_assert_json(g, 200);
    assert_session(g->json, s.id, s.status);
    struct json_object *msgs = sp_t_jarr(g->json, "messages");
    for (size_t i = 0; i < json_object_array_length(msgs); i++)
        ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(msgs, i), "type"), "system");
    sp_t_resp_free(g);

    /* "{}" is the same thing */
    struct chat s2 = chat_create(&c, "{}");
    ck_assert_int_eq(db_messages(s2.id, "customer"), 0);
    ck_assert_int_eq(db_sessions_of(&c), 2);
}
END_TEST

START_TEST(create_message_becomes_the_first_customer_message_sanitized)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(),
                             "<script>alert(1)</script>Hello <b>world</b>");
    ck_assert_str_eq(s.status, "waiting");
    ck_assert_int_eq(db_messages(s.id, NULL), 1);
    ck_assert_int_eq(db_messages(s.id, "customer"), 1);
    ck_assert_ptr_nonnull(db_session(s.id, "last_message_at"));

    struct sp_t_resp *g = session_get(&c, s.id, NULL);
    sp_t_assert_json(g, 200);
    struct json_object *msgs = sp_t_jarr(g->json, "messages");
    ck_assert_int_eq(json_object_array_length(msgs), 1);
    struct json_object *m = json_object_array_get_idx(msgs, 0);
    assert_frame(m, s.id, "customer", c.sub);
    ck_assert_str_eq(sp_t_jstr(m, "body"), "Hello <b>world</b>");
    sp_t_assert_jnull(m, "client_id");
    sp_t_resp_free(g);
}
END_TEST

START_TEST(create_message_empty_after_sanitizing_is_422)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *cat = category_manual();
    struct sp_t_resp *r = create_raw(
        &c, sp_t_fmt("{\"category\":%s,\"message\":\"<script>alert(1)</script> \"}",
                     sp_t_jq(cat)));
    sp_t_assert_invalid(r, "message", "empty");
    sp_t_resp_free(r);
    r = create_raw(&c, "{\"message\":\"\"}");
    sp_t_assert_invalid(r, "message", NULL);
    sp_t_resp_free(r);
    r = create_raw(&c, "{\"message\":42}");
    sp_t_assert_invalid(r, "message", "wrong_type");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_sessions_of(&c), 0);
}
END_TEST

START_TEST(create_with_unknown_or_inactive_category_is_422_unknown_category)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = create_raw(
        &c, sp_t_fmt("{\"category\":%s}", sp_t_jq(sp_t_unique("no-such-category"))));
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_resp_free(r);
    r = create_raw(&c, sp_t_fmt("{\"category\":%s,\"message\":\"hi\"}",
                                sp_t_jq(sp_t_db_category_new(false))));
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_sessions_of(&c), 0);
}
END_TEST

/* QA: a metadata of the wrong type hid an unknown category (looked up
 * in a later stage); one 422 lists every field error (API.md §1), the
 * sanitizer's too, and no session is made. */
START_TEST(create_reports_every_field_error_at_once)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = create_raw(&c, "{\"category\":\"nope\",\"metadata\":\"x\"}");
    sp_t_assert_invalid(r, "metadata", "wrong_type");
    sp_t_assert_invalid(r, "category", "unknown_category");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    r = create_raw(&c, "{\"category\":\"nope\",\"metadata\":\"x\","
                       "\"message\":\"<script>x</script>\"}");
    sp_t_assert_invalid(r, "metadata", "wrong_type");
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_assert_invalid(r, "message", "empty");
    ck_assert_uint_eq(sp_t_error_count(r), 3);
    sp_t_resp_free(r);
    /* a message of the wrong type is a message given: no requires_message;
     * the attachment that is no upload of the caller's comes with it */
    r = create_raw(&c, "{\"message\":5,\"attachments\":[\"ZZZZZZZZZZZZ\"]}");
    sp_t_assert_invalid(r, "message", "wrong_type");
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    /* the category is the write's lookup when the body is well-formed */
    r = create_raw(&c, "{\"category\":\"nope\",\"message\":\"hi\","
                       "\"attachments\":[\"ZZZZZZZZZZZZ\"]}");
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    r = create_raw(&c, sp_t_fmt("{\"category\":%s,\"metadata\":\"x\"}",
                                sp_t_jq(category_manual())));
    sp_t_assert_invalid(r, "metadata", "wrong_type");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    ck_assert_int_eq(db_sessions_of(&c), 0);
}
END_TEST

START_TEST(create_with_metadata_over_4_kib_is_422_and_smaller_is_kept)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *cat = category_manual();
    struct sp_t_resp *r = create_raw(
        &c, sp_t_fmt("{\"category\":%s,\"metadata\":{\"page\":\"%s\"}}", sp_t_jq(cat),
                     sp_t_repeat("x", 4200)));
    sp_t_assert_invalid(r, "metadata", "too_large");
    sp_t_resp_free(r);
    r = create_raw(&c, "{\"metadata\":\"not an object\"}");
    sp_t_assert_invalid(r, "metadata", "wrong_type");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_sessions_of(&c), 0);

    r = create_raw(&c, sp_t_fmt("{\"category\":%s,\"metadata\":{\"page\":\"/checkout\"}}",
                                sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(r->json, "metadata"), "page"), "/checkout");
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(id, "metadata->>'page'"), "/checkout");
}
END_TEST

START_TEST(create_is_for_customers_only)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = create_raw(&a, "{}");
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    r = create_raw(NULL, "{}");
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_sessions_of(&a), 0);
}
END_TEST

/* ---- routing ------------------------------------------------------------------ */

START_TEST(round_robin_category_with_an_active_agent_starts_active_with_agent_joined)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    struct sp_t_user au;
    int64_t agent = agent_new(team, NULL, &au);
    struct chat s = chat_new(&c, category_rr(team), "I need help");
    ck_assert_str_eq(s.status, "active");
    ck_assert_int_eq(s.agent, agent);
    ck_assert_str_eq(db_session(s.id, "assigned_agent_id"), sp_t_fmt("%lld", (long long)agent));
    ck_assert_int_eq(db_system_events(s.id, "agent_joined"), 1);
    ck_assert_str_eq(sp_t_sql("SELECT m.payload->>'agent_id' FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.sender_type = 'system'", s.id),
                     sp_t_fmt("%lld", (long long)agent));
    /* an agent without a display name is "an agent" in the note */
    ck_assert_str_eq(sp_t_sql("SELECT m.body FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.sender_type = 'system'", s.id),
                     "An agent joined the chat.");

    struct sp_t_resp *g = session_get(&c, s.id, NULL);
    sp_t_assert_json(g, 200);
    assert_session(g->json, s.id, "active");
    ck_assert_int_eq(jagent(g->json), agent);
    struct json_object *msgs = sp_t_jarr(g->json, "messages");
    ck_assert_int_eq(json_object_array_length(msgs), 2);
    assert_frame(json_object_array_get_idx(msgs, 0), s.id, "customer", c.sub);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(msgs, 0), "body"), "I need help");
    assert_frame(json_object_array_get_idx(msgs, 1), s.id, "system", NULL);
    sp_t_resp_free(g);
}
END_TEST

START_TEST(manual_category_leaves_the_session_waiting)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    (void)agent_new(team, NULL, NULL);
    const char *cat = category_manual_of(team);
    struct chat s = chat_new(&c, cat, "hello?");
    ck_assert_str_eq(s.status, "waiting");
    ck_assert_int_eq(s.agent, 0);
    ck_assert_ptr_null(db_session(s.id, "assigned_agent_id"));
    ck_assert_int_eq(db_messages(s.id, "system"), 0);
}
END_TEST

START_TEST(agent_at_max_concurrent_chats_is_not_picked)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    int64_t agent = agent_new(team, "\"max_concurrent_chats\":1", NULL);
    const char *cat = category_rr(team);
    struct chat first = chat_new(&c, cat, NULL);
    ck_assert_str_eq(first.status, "active");
    ck_assert_int_eq(first.agent, agent);

    struct chat second = chat_new(&c, cat, NULL);
    ck_assert_str_eq(second.status, "waiting");
    ck_assert_int_eq(second.agent, 0);
    ck_assert_ptr_null(db_session(second.id, "assigned_agent_id"));
    ck_assert_int_eq(db_system_events(second.id, "agent_joined"), 0);
}
END_TEST

START_TEST(away_agent_is_not_picked)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    (void)agent_new(team, "\"status\":\"away\"", NULL);
    struct chat s = chat_new(&c, category_rr(team), "anyone?");
    ck_assert_str_eq(s.status, "waiting");
    ck_assert_int_eq(s.agent, 0);
    ck_assert_int_eq(db_system_events(s.id, "agent_joined"), 0);
}
END_TEST

START_TEST(routing_prefers_the_agent_with_fewest_active_chats)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    int64_t a = agent_new(team, NULL, NULL);
    int64_t b = agent_new(team, NULL, NULL);
    const char *cat = category_rr(team);
    struct chat s1 = chat_new(&c, cat, NULL);
    struct chat s2 = chat_new(&c, cat, NULL);
    ck_assert_msg((s1.agent == a && s2.agent == b) || (s1.agent == b && s2.agent == a),
                  "two chats went to %lld and %lld, want one each of %lld/%lld",
                  (long long)s1.agent, (long long)s2.agent, (long long)a, (long long)b);
    /* the first one's chat ends: its agent has fewer active chats now */
    struct sp_t_resp *r = chat_close(&c, s1.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    struct chat s3 = chat_new(&c, cat, NULL);
    ck_assert_int_eq(s3.agent, s1.agent);
}
END_TEST

/* Concurrent creations never hand out more chats than an agent takes. */
START_TEST(concurrent_creations_respect_max_concurrent_chats)
{
    enum { N = 8 };
    const char *team = team_new();
    int64_t agent = agent_new(team, "\"max_concurrent_chats\":1", NULL);
    const char *cat = category_rr(team);
    const char *paths[N], *tokens[N];
    for (int i = 0; i < N; i++) {
        paths[i] = "/support/chat/session";
        tokens[i] = sp_t_user_new(SP_ROLE_CUSTOMER).token;
    }
    struct sp_t_resp *out[N];
    sp_t_parallel(N, "POST", paths, tokens, SP_T_JSON,
                  sp_t_fmt("{\"category\":%s}", sp_t_jq(cat)), out);
    int active = 0, waiting = 0;
    for (int i = 0; i < N; i++) {
        sp_t_assert_json(out[i], 201);
        const char *st = sp_t_jstr(out[i]->json, "status");
        if (strcmp(st, "active") == 0) {
            active++;
            ck_assert_int_eq(jagent(out[i]->json), agent);
        } else {
            ck_assert_str_eq(st, "waiting");
            sp_t_assert_jnull(out[i]->json, "assigned_agent_id");
            waiting++;
        }
        sp_t_resp_free(out[i]);
    }
    ck_assert_int_eq(active, 1);
    ck_assert_int_eq(waiting, N - 1);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_sessions"
                              " WHERE assigned_agent_id = %lld", (long long)agent),
                     "1");
}
END_TEST

/* A skill category's chat goes to an agent with the skill (never to the
 * category's team without it), still skipping agents at
 * max_concurrent_chats or away: nobody with the skill free leaves it
 * waiting. The unskilled agent comes first in the team (lower id, never
 * assigned), so routing by the team would pick it. */
START_TEST(skill_category_routes_chats_to_an_agent_with_the_skill)
{
    const char *team = team_new(), *skill = sp_t_unique("chat-skill");
    int64_t plain = agent_new(team, "\"skills\":[\"other\"]", NULL);
    int64_t skilled = agent_new(team, sp_t_fmt("\"skills\":[\"other\",%s],"
                                               "\"max_concurrent_chats\":1", sp_t_jq(skill)),
                                NULL);
    const char *cat = category_skill(team, skill);
    struct sp_t_user c1 = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s1 = chat_new(&c1, cat, "which plan suits me?");
    ck_assert_msg(s1.agent == skilled, "chat went to %lld, want the skilled %lld (not %lld)",
                  (long long)s1.agent, (long long)skilled, (long long)plain);
    ck_assert_str_eq(s1.status, "active");
    ck_assert_int_eq(db_system_events(s1.id, "agent_joined"), 1);

    /* At max_concurrent_chats: waiting, though the unskilled agent is free. */
    struct sp_t_user c2 = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s2 = chat_new(&c2, cat, NULL);
    ck_assert_str_eq(s2.status, "waiting");
    ck_assert_int_eq(s2.agent, 0);

    /* The skilled agent's place freed goes to the waiting chat, not the
     * unskilled agent's free place. */
    struct sp_t_resp *r = chat_close(&c1, s1.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s2.id, "assigned_agent_id"),
                     sp_t_fmt("%lld", (long long)skilled));
    r = chat_close(&c2, s2.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);

    /* Away: waiting too, until the agent is back. */
    agent_patch(skilled, "{\"status\":\"away\"}");
    struct sp_t_user c3 = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s3 = chat_new(&c3, cat, NULL);
    ck_assert_str_eq(s3.status, "waiting");
    ck_assert_int_eq(s3.agent, 0);

    agent_patch(skilled, "{\"status\":\"active\"}");
    ck_assert_str_eq(db_session(s3.id, "assigned_agent_id"),
                     sp_t_fmt("%lld", (long long)skilled));
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_sessions"
                              " WHERE assigned_agent_id = %lld", (long long)plain), "0");
}
END_TEST

/* A skill category with no free agent of the skill in the category's team
 * still finds one in another team: skill routing ignores teams. */
START_TEST(skill_category_finds_the_skill_in_any_team)
{
    const char *team = team_new(), *skill = sp_t_unique("chat-skill");
    (void)agent_new(team, NULL, NULL);
    int64_t elsewhere = agent_new(NULL, sp_t_fmt("\"skills\":[%s]", sp_t_jq(skill)), NULL);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    ck_assert_int_eq(chat_new(&c, category_skill(team, skill), "hi").agent, elsewhere);
}
END_TEST

/* ---- GET /support/chat/session/:id ---------------------------------------- */

START_TEST(customer_reads_own_session_with_messages_oldest_first)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    struct sp_t_user au;
    int64_t agent = agent_new(team, NULL, &au);
    struct chat s = chat_new(&c, category_rr(team), "first");
    int64_t m2 = msg_send(&au, s.id, "second from agent");
    int64_t m3 = msg_send(&c, s.id, "third from customer");

    struct sp_t_resp *g = session_get(&c, s.id, NULL);
    sp_t_assert_json(g, 200);
    assert_session(g->json, s.id, "active");
    ck_assert_int_eq(jagent(g->json), agent);
    sp_t_assert_jnull(g->json, "next_cursor");
    struct json_object *msgs = sp_t_jarr(g->json, "messages");
    ck_assert_int_eq(json_object_array_length(msgs), 4);
    struct json_object *m;
    m = json_object_array_get_idx(msgs, 0);
    assert_frame(m, s.id, "customer", c.sub);
    ck_assert_str_eq(sp_t_jstr(m, "body"), "first");
    m = json_object_array_get_idx(msgs, 1);
    assert_frame(m, s.id, "system", NULL);
    m = json_object_array_get_idx(msgs, 2);
    /* the customer sees the agent's id (assigned_agent_id), never their
     * user id */
    assert_frame(m, s.id, "agent", sp_t_fmt("%lld", (long long)agent));
    ck_assert_int_eq(sp_t_jint(m, "id"), m2);
    ck_assert_str_eq(sp_t_jstr(m, "body"), "second from agent");
    m = json_object_array_get_idx(msgs, 3);
    assert_frame(m, s.id, "customer", c.sub);
    ck_assert_int_eq(sp_t_jint(m, "id"), m3);
    for (size_t i = 0; i < 4; i++)   /* places 1, 2, 3, 4 */
        ck_assert_int_eq(sp_t_jint(json_object_array_get_idx(msgs, i), "seq"), (int64_t)i + 1);
    for (size_t i = 1; i < 4; i++) {
        int64_t prev = sp_t_jint(json_object_array_get_idx(msgs, i - 1), "id");
        int64_t cur = sp_t_jint(json_object_array_get_idx(msgs, i), "id");
        ck_assert_int_lt(prev, cur);
        ck_assert_int_le(sp_t_jts_ms(json_object_array_get_idx(msgs, i - 1), "created_at"),
                         sp_t_jts_ms(json_object_array_get_idx(msgs, i), "created_at"));
    }
    sp_t_resp_free(g);
}
END_TEST

START_TEST(another_customers_session_is_404)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "private");
    struct sp_t_resp *r = session_get(&other, s.id, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    ck_assert_ptr_null(strstr(r->body, "private"));
    sp_t_resp_free(r);
    r = msg_post(&other, s.id, "{\"body\":\"hijack\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = chat_close(&other, s.id);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, NULL), 1);
    ck_assert_str_eq(db_session(s.id, "status"), "waiting");
}
END_TEST

START_TEST(only_the_assigned_agent_or_an_admin_reads_a_session)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    struct sp_t_user assigned, stranger;
    int64_t agent = agent_new(team, NULL, &assigned);
    (void)agent_new(NULL, NULL, &stranger);
    struct chat s = chat_new(&c, category_rr(team), "hi");
    ck_assert_int_eq(s.agent, agent);

    struct sp_t_resp *r = session_get(&stranger, s.id, NULL);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    r = msg_post(&stranger, s.id, "{\"body\":\"not mine\"}");
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);

    r = session_get(&assigned, s.id, NULL);
    sp_t_assert_json(r, 200);
    assert_session(r->json, s.id, "active");
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r->json, "messages")), 2);
    sp_t_resp_free(r);

    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    r = session_get(&admin, s.id, NULL);
    sp_t_assert_json(r, 200);
    assert_session(r->json, s.id, "active");
    ck_assert_int_eq(jagent(r->json), agent);
    sp_t_resp_free(r);

    /* a waiting session has no assigned agent: agents are 403 until they accept */
    struct chat w = chat_new(&c, category_manual(), NULL);
    r = session_get(&assigned, w.id, NULL);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(unknown_or_garbage_session_id_is_404)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    const char *ids[] = {"garbage", "ZZZZZZZZZZZZ", "1", "%27%20OR%201%3D1", NULL};
    for (size_t i = 0; ids[i] != NULL; i++) {
        struct sp_t_resp *r = session_get(&c, ids[i], NULL);
        sp_t_assert_problem(r, 404, "not_found");
        sp_t_resp_free(r);
        r = session_get(&admin, ids[i], NULL);
        sp_t_assert_problem(r, 404, "not_found");
        sp_t_resp_free(r);
    }
}
END_TEST

START_TEST(history_paginates_with_limit_and_cursor)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "m1");
    for (int i = 2; i <= 5; i++)
        (void)msg_send(&c, s.id, sp_t_fmt("m%d", i));
    ck_assert_int_eq(db_messages(s.id, NULL), 5);

    int seen = 0, pages = 0;
    int64_t last_id = 0;
    const char *cursor = NULL;
    do {
        struct sp_t_resp *r = session_get(
            &c, s.id,
            cursor ? sp_t_fmt("?limit=2&cursor=%s", sp_t_urlencode(cursor)) : "?limit=2");
        sp_t_assert_json(r, 200);
        assert_session(r->json, s.id, "waiting");
        struct json_object *msgs = sp_t_jarr(r->json, "messages");
        size_t n = json_object_array_length(msgs);
        pages++;
        ck_assert_int_eq(n, pages < 3 ? 2 : 1);
        for (size_t i = 0; i < n; i++) {
            struct json_object *m = json_object_array_get_idx(msgs, i);
            assert_frame(m, s.id, "customer", c.sub);
            seen++;
            ck_assert_str_eq(sp_t_jstr(m, "body"), sp_t_fmt("m%d", seen));
            ck_assert_int_gt(sp_t_jint(m, "id"), last_id);
            last_id = sp_t_jint(m, "id");
        }
        struct json_object *nc = sp_t_jget(r->json, "next_cursor");
        if (pages < 3)
            ck_assert_msg(nc != NULL && json_object_is_type(nc, json_type_string),
                          "page %d: next_cursor missing: %.300s", pages, r->body);
        cursor = nc ? sp_t_fmt("%s", json_object_get_string(nc)) : NULL;
        sp_t_resp_free(r);
        ck_assert_int_le(pages, 3);
    } while (cursor != NULL);
    ck_assert_int_eq(pages, 3);
    ck_assert_int_eq(seen, 5);

    struct sp_t_resp *r = session_get(&c, s.id, "?cursor=not-a-cursor");
    sp_t_assert_invalid(r, "cursor", NULL);
    sp_t_resp_free(r);
    r = session_get(&c, s.id, "?limit=101");
    sp_t_assert_invalid(r, "limit", NULL);
    sp_t_resp_free(r);
    r = session_get(&c, s.id, "?limit=0");
    sp_t_assert_invalid(r, "limit", NULL);
    sp_t_resp_free(r);
}
END_TEST

/* The places (seq) of a history answer's messages, and their bodies, as
 * "seq:body" joined by spaces (system messages: "seq:event"). */
static const char *
history_places(struct json_object *o)
{
    struct json_object *msgs = sp_t_jarr(o, "messages");
    const char *out = "";
    for (size_t i = 0; i < json_object_array_length(msgs); i++) {
        struct json_object *m = json_object_array_get_idx(msgs, i);
        const char *what = sp_t_jhas(m, "event") ? sp_t_jstr(m, "event") : sp_t_jstr(m, "body");
        out = sp_t_fmt("%s%s%lld:%s", out, i > 0 ? " " : "", (long long)sp_t_jint(m, "seq"),
                       what);
    }
    return out;
}

/* QA: a reconnect paged the whole history again, every time. A client
 * resumes after the last place it has (?after_seq=), and gets exactly the
 * messages after it, in order, once each, paged by next_cursor. */
START_TEST(reconnect_catch_up_after_seq_returns_exactly_the_missed_messages)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    struct sp_t_user au;
    (void)agent_new(team, NULL, &au);
    struct chat s = chat_new(&c, category_rr(team), "m1");   /* 1:m1 2:agent_joined */
    (void)msg_send(&au, s.id, "m3");
    /* a resend takes no place: the numbers stay without gaps */
    for (int i = 0; i < 2; i++) {
        struct sp_t_resp *r = msg_post(&c, s.id, "{\"body\":\"m4\",\"client_id\":\"k4\"}");
        sp_t_assert_json(r, i == 0 ? 201 : 200);
        ck_assert_int_eq(sp_t_jint(r->json, "seq"), 4);
        sp_t_resp_free(r);
    }
    for (int i = 5; i <= 7; i++)
        (void)msg_send(i % 2 ? &c : &au, s.id, sp_t_fmt("m%d", i));
    struct sp_t_resp *r = session_get(&c, s.id, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(history_places(r->json), "1:m1 2:agent_joined 3:m3 4:m4 5:m5 6:m6 7:m7");
    sp_t_resp_free(r);

    /* the client had up to 3: 4..7, in pages of 3, then nothing more */
    const char *got = "", *q = "?after_seq=3&limit=3";
    int pages = 0;
    while (q != NULL && pages < 4) {
        r = session_get(&c, s.id, q);
        sp_t_assert_json(r, 200);
        assert_session(r->json, s.id, "active");
        got = sp_t_fmt("%s%s%s", got, pages > 0 ? " " : "", history_places(r->json));
        struct json_object *nc = sp_t_jget(r->json, "next_cursor");
        q = nc ? sp_t_fmt("?limit=3&cursor=%s", sp_t_urlencode(json_object_get_string(nc)))
               : NULL;
        sp_t_resp_free(r);
        pages++;
    }
    ck_assert_str_eq(got, "4:m4 5:m5 6:m6 7:m7");
    ck_assert_int_eq(pages, 2);
    /* caught up: nothing, no cursor; the agent resumes the same way */
    r = session_get(&au, s.id, "?after_seq=7");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(history_places(r->json), "");
    sp_t_assert_jnull(r->json, "next_cursor");
    sp_t_resp_free(r);
    r = session_get(&c, s.id, "?after_seq=0&limit=1");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(history_places(r->json), "1:m1");
    sp_t_resp_free(r);

    const char *bad[] = {"?after_seq=-1", "?after_seq=x", NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        r = session_get(&c, s.id, bad[i]);
        sp_t_assert_invalid(r, "after_seq", NULL);
        sp_t_resp_free(r);
    }
    /* a cursor goes on from where an answer stopped: not both */
    r = session_get(&c, s.id, "?limit=1");
    sp_t_assert_json(r, 200);
    const char *cursor = sp_t_fmt("%s", sp_t_jstr(r->json, "next_cursor"));
    sp_t_resp_free(r);
    r = session_get(&c, s.id, sp_t_fmt("?after_seq=1&cursor=%s", sp_t_urlencode(cursor)));
    sp_t_assert_invalid(r, "after_seq", NULL);
    sp_t_resp_free(r);
}
END_TEST

/* QA: ids are drawn when a message is inserted, not when it commits, so
 * a message with a smaller id could become readable after the client had
 * moved past a greater one, and "greater than the highest id seen" never
 * showed it. A message's place is taken under the session's lock, held
 * to commit: a send that comes meanwhile waits, and takes the next place.
 * A message being stored (a transaction held open, as a slow send) keeps
 * a later send out of the history until it commits; a client that read
 * the history then resumes after what it saw and gets both, in commit
 * order, once each. */
START_TEST(a_message_committed_late_is_never_behind_a_resume_point)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "m1");
    PGconn *db = sp_t_tx_hold(sp_t_fmt(
        "INSERT INTO support_chat_messages (session_id, sender_type, sender_id, body)"
        " SELECT id, 'customer', '%s', 'slow' FROM support_chat_sessions"
        " WHERE public_id = '%s'", c.sub, s.id));
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct sp_t_resp *r = msg_post(&c, s.id, "{\"body\":\"fast\"}");
        _exit(r->status == 201 ? 0 : 1);
    }
    usleep(800 * 1000);
    /* the client's read while both are in flight: the later send waits */
    struct sp_t_resp *r = session_get(&c, s.id, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(history_places(r->json), "1:m1");
    sp_t_resp_free(r);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, WNOHANG), 0);   /* still waiting */
    sp_t_tx_release(db);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the send failed");
    r = session_get(&c, s.id, "?after_seq=1");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(history_places(r->json), "2:slow 3:fast");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s.id, "last_seq"), "3");
}
END_TEST

/* Concurrent senders take consecutive places, one each. */
START_TEST(concurrent_sends_take_consecutive_places)
{
    enum { N = 8 };
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "m1");
    const char *paths[N], *tokens[N];
    for (int i = 0; i < N; i++) {
        paths[i] = session_path(s.id, "/messages");
        tokens[i] = c.token;
    }
    struct sp_t_resp *out[N];
    sp_t_parallel(N, "POST", paths, tokens, SP_T_JSON, "{\"body\":\"at once\"}", out);
    bool taken[N + 2] = {false};
    for (int i = 0; i < N; i++) {
        sp_t_assert_json(out[i], 201);
        int64_t seq = sp_t_jint(out[i]->json, "seq");
        ck_assert_msg(seq >= 2 && seq <= N + 1 && !taken[seq], "seq %lld", (long long)seq);
        taken[seq] = true;
        sp_t_resp_free(out[i]);
    }
    /* the history's order is the places' */
    struct sp_t_resp *r = session_get(&c, s.id, "?after_seq=1");
    sp_t_assert_json(r, 200);
    struct json_object *msgs = sp_t_jarr(r->json, "messages");
    ck_assert_int_eq(json_object_array_length(msgs), N);
    for (size_t i = 0; i < N; i++)
        ck_assert_int_eq(sp_t_jint(json_object_array_get_idx(msgs, i), "seq"), (int64_t)i + 2);
    sp_t_resp_free(r);
}
END_TEST

/* QA: the customer never learnt who was helping, and saw staff user ids
 * that matched nothing: the session names its agent (assigned_agent_name),
 * agent_joined and transferred name theirs (agent_id, agent_name), and a
 * staff message names its sender by agent id and display name. Staff
 * views keep the user id in sender_id. */
START_TEST(the_customer_learns_who_helps_them_and_no_staff_user_id)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    struct sp_t_user au, bu;
    int64_t a = agent_new(team, "\"display_name\":\"Dana\"", &au);
    int64_t b = agent_new(NULL, "\"display_name\":\"Eli & <Co>\"", &bu);
    struct chat s = chat_new(&c, category_rr(team), "hello");
    ck_assert_int_eq(s.agent, a);
    (void)msg_send(&au, s.id, "How can I help?");

    struct sp_t_resp *r = session_get(&c, s.id, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "assigned_agent_name"), "Dana");
    struct json_object *msgs = sp_t_jarr(r->json, "messages");
    struct json_object *joined = json_object_array_get_idx(msgs, 1);
    ck_assert_str_eq(sp_t_jstr(joined, "event"), "agent_joined");
    ck_assert_int_eq(sp_t_jint(joined, "agent_id"), a);
    ck_assert_str_eq(sp_t_jstr(joined, "agent_name"), "Dana");
    /* the stored note names her too (it said "An agent joined the chat.") */
    ck_assert_str_eq(sp_t_jstr(joined, "body"), "Dana joined the chat.");
    struct json_object *m = json_object_array_get_idx(msgs, 2);
    assert_frame(m, s.id, "agent", sp_t_fmt("%lld", (long long)a));
    ck_assert_int_eq(sp_t_jint(m, "agent_id"), a);
    ck_assert_str_eq(sp_t_jstr(m, "sender_name"), "Dana");
    ck_assert_msg(strstr(r->body, au.sub) == NULL, "the staff user id is shown: %s", r->body);
    sp_t_resp_free(r);

    /* the agent's own view: user id, as before, and the same agent id */
    r = session_get(&au, s.id, NULL);
    sp_t_assert_json(r, 200);
    m = json_object_array_get_idx(sp_t_jarr(r->json, "messages"), 2);
    assert_frame(m, s.id, "agent", au.sub);
    ck_assert_int_eq(sp_t_jint(m, "agent_id"), a);
    ck_assert_str_eq(sp_t_jstr(m, "sender_name"), "Dana");
    sp_t_resp_free(r);

    r = transfer(&au, s.id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)b));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "assigned_agent_name"), "Eli & <Co>");
    sp_t_resp_free(r);
    r = session_get(&c, s.id, "?after_seq=3");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "assigned_agent_name"), "Eli & <Co>");
    m = json_object_array_get_idx(sp_t_jarr(r->json, "messages"), 0);
    ck_assert_str_eq(sp_t_jstr(m, "event"), "transferred");
    ck_assert_int_eq(sp_t_jint(m, "agent_id"), b);
    ck_assert_str_eq(sp_t_jstr(m, "agent_name"), "Eli & <Co>");
    /* a name is plain text in agent_name, escaped in the body (HTML) */
    ck_assert_str_eq(sp_t_jstr(m, "body"), "The chat was transferred to Eli &amp; &lt;Co&gt;.");
    sp_t_resp_free(r);

    /* to an agent without a display name: "another agent", as before */
    struct sp_t_user cu;
    int64_t nameless = agent_new(NULL, NULL, &cu);
    r = transfer(&bu, s.id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}",
                                     (long long)nameless));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = session_get(&c, s.id, "?after_seq=4");
    sp_t_assert_json(r, 200);
    m = json_object_array_get_idx(sp_t_jarr(r->json, "messages"), 0);
    ck_assert_str_eq(sp_t_jstr(m, "event"), "transferred");
    sp_t_assert_jnull(m, "agent_name");
    ck_assert_str_eq(sp_t_jstr(m, "body"), "The chat was transferred to another agent.");
    sp_t_resp_free(r);
}
END_TEST


/* ---- POST /support/chat/session/:id/messages ------------------------------------ */

START_TEST(customer_send_is_201_customer_frame)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    struct sp_t_resp *r = msg_post(
        &c, s.id, "{\"body\":\"where is my order?\",\"client_id\":\"6f1c2a9e-0000-4000-8000-1\"}");
    sp_t_assert_json(r, 201);
    assert_frame(r->json, s.id, "customer", c.sub);
    ck_assert_str_eq(sp_t_jstr(r->json, "body"), "where is my order?");
    ck_assert_str_eq(sp_t_jstr(r->json, "client_id"), "6f1c2a9e-0000-4000-8000-1");
    ck_assert_ptr_null(sp_t_header(r, "Idempotent-Replayed"));
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT sender_type || ':' || sender_id || ':' || body"
                              " FROM support_chat_messages WHERE id = %lld", (long long)id),
                     sp_t_fmt("customer:%s:where is my order?", c.sub));
    ck_assert_ptr_nonnull(db_session(s.id, "last_message_at"));
}
END_TEST

START_TEST(assigned_agent_send_is_201_agent_frame)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    struct sp_t_user au;
    int64_t agent = agent_new(team, NULL, &au);
    struct chat s = chat_new(&c, category_rr(team), NULL);
    ck_assert_str_eq(s.status, "active");
    struct sp_t_resp *r = msg_post(&au, s.id, "{\"body\":\"How can I help?\"}");
    sp_t_assert_json(r, 201);
    /* the frame every subscriber gets, the customer too: the agent id */
    assert_frame(r->json, s.id, "agent", sp_t_fmt("%lld", (long long)agent));
    ck_assert_int_eq(sp_t_jint(r->json, "agent_id"), agent);
    ck_assert_str_eq(sp_t_jstr(r->json, "body"), "How can I help?");
    sp_t_assert_jnull(r->json, "client_id");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, "agent"), 1);
}
END_TEST

START_TEST(resend_with_the_same_client_id_is_200_replayed_and_stored_once)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    const char *json = "{\"body\":\"only once\",\"client_id\":\"c0ffee00-1111-4222-8333-444455556666\"}";
    struct sp_t_resp *r = msg_post(&c, s.id, json);
    sp_t_assert_json(r, 201);
    int64_t id = sp_t_jint(r->json, "id");
    const char *created = sp_t_fmt("%s", sp_t_jstr(r->json, "created_at"));
    sp_t_resp_free(r);

    r = msg_post(&c, s.id, json);
    sp_t_assert_json(r, 200);
    assert_frame(r->json, s.id, "customer", c.sub);
    ck_assert_int_eq(sp_t_jint(r->json, "id"), id);
    ck_assert_str_eq(sp_t_jstr(r->json, "created_at"), created);
    ck_assert_str_eq(sp_t_jstr(r->json, "client_id"), "c0ffee00-1111-4222-8333-444455556666");
    const char *h = sp_t_header(r, "Idempotent-Replayed");
    ck_assert_msg(h != NULL && strcmp(h, "true") == 0, "Idempotent-Replayed: %s",
                  h ? h : "(none)");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, NULL), 1);

    /* another client_id is another message */
    r = msg_post(&c, s.id, "{\"body\":\"only once\",\"client_id\":\"other\"}");
    sp_t_assert_json(r, 201);
    ck_assert_int_ne(sp_t_jint(r->json, "id"), id);
    sp_t_resp_free(r);
    /* and without client_id every send is new */
    (void)msg_send(&c, s.id, "no id");
    (void)msg_send(&c, s.id, "no id");
    ck_assert_int_eq(db_messages(s.id, NULL), 4);
}
END_TEST

/* QA: sends of one client_id at once (a client retrying after a
 * timeout) were told 409 session_closed now and then: the waiting one's
 * statement could not see the message the other had just committed. */
START_TEST(concurrent_sends_of_one_client_id_store_once_and_replay)
{
    enum { N = 6, ROUNDS = 4 };
    for (int round = 0; round < ROUNDS; round++) {
        struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
        struct chat s = chat_new(&c, category_manual(), NULL);
        const char *paths[N], *tokens[N];
        for (int i = 0; i < N; i++) {
            paths[i] = session_path(s.id, "/messages");
            tokens[i] = c.token;
        }
        struct sp_t_resp *out[N];
        sp_t_parallel(N, "POST", paths, tokens, SP_T_JSON,
                      sp_t_fmt("{\"body\":\"same\",\"client_id\":\"race-%d\"}", round), out);
        int created = 0;
        int64_t id = -1;
        for (int i = 0; i < N; i++) {
            ck_assert_msg(out[i]->status == 201 || out[i]->status == 200, "round %d: %ld %s",
                          round, out[i]->status, out[i]->body);
            created += out[i]->status == 201;
            if (i == 0)
                id = sp_t_jint(out[i]->json, "id");
            ck_assert_int_eq(sp_t_jint(out[i]->json, "id"), id);
            sp_t_resp_free(out[i]);
        }
        ck_assert_int_eq(created, 1);
        ck_assert_int_eq(db_messages(s.id, NULL), 1);
        /* the resends took no place (sql/077's trigger saw the stored one) */
        ck_assert_str_eq(db_session(s.id, "last_seq"), "1");
    }
}
END_TEST

START_TEST(send_with_an_idempotency_key_replays_the_first_201_and_stores_once)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", sp_t_unique("k")), NULL};
    const char *path = session_path(s.id, "/messages");
    struct sp_t_resp *first = sp_t_request("POST", path, c.token, SP_T_JSON,
                                           "{\"body\":\"keyed once\"}", hdr);
    sp_t_assert_json(first, 201);
    ck_assert_ptr_null(sp_t_header(first, "Idempotent-Replayed"));
    struct sp_t_resp *again = sp_t_request("POST", path, c.token, SP_T_JSON,
                                           "{\"body\":\"keyed once\"}", hdr);
    sp_t_assert_json(again, 201);
    ck_assert_msg(again->body_len == first->body_len &&
                      memcmp(again->body, first->body, first->body_len) == 0,
                  "replayed body differs:\n%s\n%s", first->body, again->body);
    const char *h = sp_t_header(again, "Idempotent-Replayed");
    ck_assert_msg(h != NULL && strcmp(h, "true") == 0, "Idempotent-Replayed: %s",
                  h ? h : "(none)");
    sp_t_resp_free(first);
    sp_t_resp_free(again);
    ck_assert_int_eq(db_messages(s.id, NULL), 1);

    /* The key with another body is refused and stores nothing. */
    struct sp_t_resp *r = sp_t_request("POST", path, c.token, SP_T_JSON,
                                       "{\"body\":\"another\"}", hdr);
    sp_t_assert_problem(r, 422, "idempotency_key_reused");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, NULL), 1);
}
END_TEST

START_TEST(send_body_is_sanitized_and_required)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    struct sp_t_resp *r = msg_post(
        &c, s.id, "{\"body\":\"<script>steal()</script><i>hi</i> <img src=x onerror=y>there\"}");
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_jstr(r->json, "body"), "<i>hi</i> there");
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT body FROM support_chat_messages WHERE id = %lld",
                              (long long)id),
                     "<i>hi</i> there");

    r = msg_post(&c, s.id, "{\"client_id\":\"x\"}");
    sp_t_assert_invalid(r, "body", "required");
    sp_t_resp_free(r);
    r = msg_post(&c, s.id, "{\"body\":\"<script>x</script>\"}");
    sp_t_assert_invalid(r, "body", "empty");
    sp_t_resp_free(r);
    /* QA: the sanitizer's fault came only once client_id was fixed; one
     * 422 lists both (API.md §1). */
    r = msg_post(&c, s.id, "{\"body\":\"<script>x</script>\",\"client_id\":5}");
    sp_t_assert_invalid(r, "body", "empty");
    sp_t_assert_invalid(r, "client_id", "wrong_type");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    /* QA: an unknown attachment came only once the rest was fixed (found
     * inside the write); one 422 lists it too. */
    r = msg_post(&c, s.id, "{\"body\":\"<script>x</script>\",\"client_id\":5,"
                           "\"attachments\":[\"NOSUCHID1234\"]}");
    sp_t_assert_invalid(r, "body", "empty");
    sp_t_assert_invalid(r, "client_id", "wrong_type");
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    ck_assert_uint_eq(sp_t_error_count(r), 3);
    sp_t_resp_free(r);
    r = msg_post(&c, s.id, "{\"body\":\"\"}");
    sp_t_assert_invalid(r, "body", NULL);
    sp_t_resp_free(r);
    r = msg_post(&c, s.id, "{\"body\":7}");
    sp_t_assert_invalid(r, "body", "wrong_type");
    sp_t_resp_free(r);
    r = msg_post(&c, s.id, "{\"body\":");
    sp_t_assert_problem(r, 400, "invalid_json");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, NULL), 1);
}
END_TEST

/* QA: a malformed or refused create was not counted and had no
 * RateLimit-* headers. API.md §1: every attempt counts, before its body
 * is read, as ticket creation. */
START_TEST(refused_session_creates_count_and_carry_ratelimit_headers)
{
    sp_t_away_from_window_edges(15, 3600);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_request("POST", "/support/chat/session", c.token, SP_T_JSON,
                                       "garbage", NULL);
    sp_t_assert_problem(r, 400, "invalid_json");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), 5);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 4);
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/chat/session", c.token, "{\"metadata\":\"str\"}");
    sp_t_assert_problem(r, 422, "validation_failed");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 3);
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/chat/session", c.token, "{}");
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 2);
    sp_t_resp_free(r);
}
END_TEST

/* The same for sends (API.md §1: every limited endpoint sends the
 * headers): a malformed or invalid send to the caller's session counts. */
START_TEST(refused_sends_count_and_carry_ratelimit_headers)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    struct sp_t_resp *r = sp_t_request("POST", session_path(s.id, "/messages"), c.token,
                                       SP_T_JSON, "garbage", NULL);
    sp_t_assert_problem(r, 400, "invalid_json");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), 60);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 59);
    sp_t_resp_free(r);
    r = msg_post(&c, s.id, "{\"body\":\"\"}");
    sp_t_assert_problem(r, 422, "validation_failed");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 58);
    sp_t_resp_free(r);
    r = msg_post(&c, s.id, "{\"body\":\"counted third\"}");
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 57);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(send_carries_ratelimit_headers_per_session)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    for (int i = 0; i < 2; i++) {
        struct sp_t_resp *r = msg_post(&c, s.id, sp_t_fmt("{\"body\":\"n%d\"}", i));
        sp_t_assert_json(r, 201);
        const char *lim = sp_t_header(r, "RateLimit-Limit");
        const char *rem = sp_t_header(r, "RateLimit-Remaining");
        const char *reset = sp_t_header(r, "RateLimit-Reset");
        ck_assert_msg(lim && rem && reset, "RateLimit headers missing");
        ck_assert_str_eq(lim, "60");
        ck_assert_str_eq(rem, sp_t_fmt("%d", 59 - i));
        ck_assert_msg(sp_t_matches("^[0-9]+$", reset) && atol(reset) >= 0 && atol(reset) <= 60,
                      "RateLimit-Reset %s", reset);
        sp_t_resp_free(r);
    }
    /* the window is the session's: a new session starts full */
    struct chat s2 = chat_new(&c, category_manual(), NULL);
    struct sp_t_resp *r = msg_post(&c, s2.id, "{\"body\":\"fresh\"}");
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_header(r, "RateLimit-Remaining"), "59");
    sp_t_resp_free(r);
}
END_TEST

/* QA: the customer's and the agent's messages shared one bucket, so a
 * customer flooding the session got the agent's replies 429. Each side
 * has its own 60 a minute. */
START_TEST(a_customer_at_the_message_limit_does_not_block_the_agent)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    struct chat s = chat_new(&c, category_manual(), NULL);
    struct sp_t_resp *r = chat_accept(&au, s.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    /* The customer's minute used up (SUPPORT_CHAT_RATE_PER_MINUTE, 60). */
    sp_t_away_from_window_edges(5, 60);
    sp_t_sql("INSERT INTO support_rate_limits (bucket, window_start, count)"
             " VALUES ('chat_message:%s:customer:60',"
             "   to_timestamp(floor(extract(epoch FROM now()) / 60) * 60), 60)", s.id);
    r = msg_post(&c, s.id, "{\"body\":\"one too many\"}");
    sp_t_assert_problem(r, 429, "rate_limited");
    sp_t_resp_free(r);
    r = msg_post(&au, s.id, "{\"body\":\"the agent still answers\"}");
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_header(r, "RateLimit-Remaining"), "59");
    sp_t_resp_free(r);
    /* the agent's minute is the staff's own bucket */
    ck_assert_str_eq(sp_t_sql("SELECT count FROM support_rate_limits"
                              " WHERE bucket = 'chat_message:%s:staff:60'", s.id),
                     "1");
    ck_assert_int_eq(db_messages(s.id, "customer"), 0);
    ck_assert_int_eq(db_messages(s.id, "agent"), 1);
}
END_TEST

START_TEST(send_on_a_closed_session_is_409_session_closed)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "before");
    struct sp_t_resp *r = chat_close(&c, s.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    long before = db_messages(s.id, NULL);
    r = msg_post(&c, s.id, "{\"body\":\"after\",\"client_id\":\"late\"}");
    sp_t_assert_problem(r, 409, "session_closed");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, NULL), before);
}
END_TEST

START_TEST(send_on_an_expired_session_is_409_session_closed)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "before");
    (void)sp_t_sql("UPDATE support_chat_sessions SET expires_at = now() - interval '1 minute'"
                   " WHERE public_id = '%s'", s.id);
    struct sp_t_resp *r = msg_post(&c, s.id, "{\"body\":\"too late\"}");
    sp_t_assert_problem(r, 409, "session_closed");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, NULL), 1);
}
END_TEST

/* GET /support/chat/sessions<query> as u: asserts 200 with n items, the
 * first of them session first_id in status (first_id NULL: not looked
 * at). */
#define own_sessions(u, query, n, first_id, status) \
    own_sessions_at(__FILE__, __LINE__, (u), (query), (n), (first_id), (status))
static void
own_sessions_at(const char *file, int line, const struct sp_t_user *u, const char *query,
                size_t n, const char *first_id, const char *status)
{
    struct sp_t_resp *r = sp_t_request_at(file, line, "GET",
                                          sp_t_fmt("/support/chat/sessions%s", query), u->token,
                                          NULL, NULL, NULL);
    sp_t_assert_json_at(file, line, r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    ck_assert_msg(json_object_array_length(data) == n, "%s:%d: %zu sessions, want %zu: %s", file,
                  line, json_object_array_length(data), n, r->body);
    if (first_id != NULL)
        assert_session_at(file, line, json_object_array_get_idx(data, 0), first_id, status);
    sp_t_resp_free(r);
}

/* QA: an expired session (expires_at past) still read "active" though a
 * send to it was 409 session_closed and nobody could accept or join it.
 * It reads closed everywhere a session is shown: its GET (customer and
 * staff), the customer's list and its closed filter; the agents' active
 * queue leaves it out, and a transfer to an agent is refused as closed. */
START_TEST(an_expired_session_reads_closed_wherever_it_is_shown)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    struct sp_t_user au;
    int64_t agent = agent_new(team, NULL, &au);
    struct chat s = chat_new(&c, category_rr(team), "hello");
    ck_assert_int_eq(s.agent, agent);
    (void)sp_t_sql("UPDATE support_chat_sessions SET expires_at = now() - interval '1 minute'"
                   " WHERE public_id = '%s'", s.id);
    const struct sp_t_user *readers[] = {&c, &au};
    for (size_t i = 0; i < 2; i++) {
        struct sp_t_resp *r = session_get(readers[i], s.id, NULL);
        sp_t_assert_json(r, 200);
        assert_session(r->json, s.id, "closed");
        sp_t_resp_free(r);
    }
    own_sessions(&c, "", 1, s.id, "closed");
    own_sessions(&c, "?status=closed", 1, s.id, "closed");
    own_sessions(&c, "?status=active", 0, NULL, NULL);
    struct sp_t_resp *r = sp_t_get("/support/agent/chats?status=active", au.token);
    sp_t_assert_json(r, 200);
    ck_assert_msg(strstr(r->body, s.id) == NULL, "the expired chat is queued: %s", r->body);
    sp_t_resp_free(r);
    /* Nobody takes it over either, as nobody accepts it. */
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    r = sp_t_post_json(session_path(s.id, "/transfer"), admin.token, "{\"to\":\"agent\"}");
    sp_t_assert_problem(r, 409, "session_closed");
    sp_t_resp_free(r);
    /* Closing it closes the row and answers what it read already. */
    r = chat_close(&c, s.id);
    sp_t_assert_json(r, 200);
    assert_session(r->json, s.id, "closed");
    sp_t_resp_free(r);
}
END_TEST

/* ---- GET /support/chat/sessions ----------------------------------------------- */

/* QA: the session token is shown once; a customer who lost it (an app
 * reinstall) could neither find nor close their chats and hit 409
 * too_many_open_sessions for up to a day. They list their own sessions,
 * newest first, filtered by status and paged, each as its GET shows it
 * (no token, no customer_id); another customer's never show; they close
 * one by its id and may start another. */
START_TEST(a_customer_lists_their_own_sessions_newest_first)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *cat = category_manual();
    struct chat theirs = chat_new(&other, cat, "not yours");
    struct chat s1 = chat_new(&c, cat, "one");
    struct chat s2 = chat_new(&c, cat, "two");
    struct chat s3 = chat_new(&c, cat, "three");
    struct sp_t_resp *r = create_raw(&c, "{}");
    sp_t_assert_problem(r, 409, "too_many_open_sessions");
    sp_t_resp_free(r);

    r = sp_t_get("/support/chat/sessions", c.token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    ck_assert_uint_eq(json_object_array_length(data), 3);
    const char *newest_first[] = {s3.id, s2.id, s1.id};
    for (size_t i = 0; i < 3; i++) {
        struct json_object *o = json_object_array_get_idx(data, i);
        assert_session(o, newest_first[i], "waiting");
        ck_assert_msg(!sp_t_jhas(o, "customer_id") && !sp_t_jhas(o, "messages"),
                      "an item is not the customer's view: %s", json_object_to_json_string(o));
    }
    sp_t_assert_jnull(r->json, "next_cursor");
    ck_assert_msg(strstr(r->body, theirs.id) == NULL, "another customer's session: %s", r->body);
    ck_assert_msg(strstr(r->body, s1.token) == NULL, "a session token: %s", r->body);
    sp_t_resp_free(r);
    own_sessions(&other, "", 1, theirs.id, "waiting");

    /* Found by the list, closed by its id: room for a new one. */
    r = chat_close(&c, s2.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    (void)chat_new(&c, cat, "four");
    own_sessions(&c, "?status=closed", 1, s2.id, "closed");

    /* Paged: two, then the rest by the cursor. */
    r = sp_t_get("/support/chat/sessions?status=waiting&limit=2", c.token);
    sp_t_assert_json(r, 200);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(r->json, "data")), 2);
    const char *cursor = sp_t_fmt("%s", sp_t_jstr(r->json, "next_cursor"));
    sp_t_resp_free(r);
    own_sessions(&c, sp_t_fmt("?status=waiting&limit=2&cursor=%s", cursor), 1, s1.id, "waiting");
}
END_TEST

START_TEST(the_session_list_is_for_customers_and_checks_its_query)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_get("/support/chat/sessions?status=open", c.token);
    sp_t_assert_problem(r, 422, "validation_failed");
    ck_assert_ptr_nonnull(strstr(r->body, "must be waiting, active or closed"));
    sp_t_resp_free(r);
    r = sp_t_get("/support/chat/sessions?limit=0", c.token);
    sp_t_assert_problem(r, 422, "validation_failed");
    sp_t_resp_free(r);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    r = sp_t_get("/support/chat/sessions", au.token);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    r = sp_t_get("/support/chat/sessions", NULL);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

/* QA: an admin's message to a waiting chat was stored (201, sender_type
 * agent) and the chat stayed waiting, nobody's: the customer was
 * answered in a chat no agent had. Staff write once an agent has the
 * chat: 409 session_waiting, nothing stored; the customer still writes;
 * once accepted, the admin's message is taken. */
START_TEST(staff_cannot_write_to_a_waiting_chat_until_an_agent_has_it)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    struct chat s = chat_new(&c, category_manual(), "hello?");
    struct sp_t_resp *r = msg_post(&admin, s.id, "{\"body\":\"an admin here\"}");
    sp_t_assert_problem(r, 409, "session_waiting");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, "agent"), 0);
    ck_assert_str_eq(db_session(s.id, "status"), "waiting");
    (void)msg_send(&c, s.id, "anyone there?");
    struct sp_t_user au;
    int64_t agent = agent_new(NULL, NULL, &au);
    r = chat_accept(&au, s.id);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(jagent(r->json), agent);
    sp_t_resp_free(r);
    (void)msg_send(&admin, s.id, "an admin here");
    (void)msg_send(&au, s.id, "and your agent");
    ck_assert_int_eq(db_messages(s.id, "agent"), 2);
}
END_TEST

/* ---- POST /support/chat/session/:id/close ------------------------------------ */

START_TEST(close_by_customer_closes_once_with_a_system_message)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    int64_t agent = agent_new(team, NULL, NULL);
    struct chat s = chat_new(&c, category_rr(team), "bye soon");
    ck_assert_int_eq(s.agent, agent);

    struct sp_t_resp *r = chat_close(&c, s.id);
    sp_t_assert_json(r, 200);
    assert_session(r->json, s.id, "closed");
    sp_t_assert_recent(sp_t_jstr(r->json, "ended_at"));
    const char *ended = sp_t_fmt("%s", sp_t_jstr(r->json, "ended_at"));
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s.id, "status"), "closed");
    ck_assert_ptr_nonnull(db_session(s.id, "ended_at"));
    ck_assert_int_eq(db_system_events(s.id, "closed"), 1);

    r = chat_close(&c, s.id);
    sp_t_assert_json(r, 200);
    assert_session(r->json, s.id, "closed");
    ck_assert_str_eq(sp_t_jstr(r->json, "ended_at"), ended);
    sp_t_resp_free(r);
    ck_assert_int_eq(db_system_events(s.id, "closed"), 1);

    /* history shows the closing system message last */
    r = session_get(&c, s.id, NULL);
    sp_t_assert_json(r, 200);
    struct json_object *msgs = sp_t_jarr(r->json, "messages");
    size_t n = json_object_array_length(msgs);
    ck_assert_int_eq(n, 3);
    assert_frame(json_object_array_get_idx(msgs, n - 1), s.id, "system", NULL);
    sp_t_resp_free(r);

    r = msg_post(&c, s.id, "{\"body\":\"one more thing\"}");
    sp_t_assert_problem(r, 409, "session_closed");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, "customer"), 1);
}
END_TEST

/* ---- GET /support/agent/chats -------------------------------------------------- */

/* Walks every page of /support/agent/chats?status=<status> as u; returns the
 * position of each of ids[0..n) (-1 if absent; all sessions of customer
 * of) and asserts each item's status and, when only_agent is not 0, agent. */
static void
queue_positions(const struct sp_t_user *u, const char *status, const struct sp_t_user *of,
                const char *const ids[], size_t n, long pos[], int64_t only_agent)
{
    for (size_t i = 0; i < n; i++)
        pos[i] = -1;
    long index = 0;
    const char *cursor = NULL;
    int pages = 0;
    do {
        struct sp_t_resp *r = sp_t_get(
            sp_t_fmt("/support/agent/chats?status=%s&limit=100%s%s", status,
                     cursor ? "&cursor=" : "", cursor ? sp_t_urlencode(cursor) : ""),
            u->token);
        sp_t_assert_json(r, 200);
        struct json_object *data = sp_t_jarr(r->json, "data");
        for (size_t i = 0; i < json_object_array_length(data); i++, index++) {
            struct json_object *it = json_object_array_get_idx(data, i);
            ck_assert_str_eq(sp_t_jstr(it, "status"), status);
            sp_t_assert_public_id(sp_t_jstr(it, "session_id"));
            sp_t_assert_timestamp(sp_t_jstr(it, "started_at"));
            const char *customer = sp_t_jstr(it, "customer_id");
            if (strcmp(status, "waiting") == 0)
                sp_t_assert_jnull(it, "assigned_agent_id");
            if (only_agent != 0)
                ck_assert_int_eq(jagent(it), only_agent);
            for (size_t k = 0; k < n; k++)
                if (strcmp(sp_t_jstr(it, "session_id"), ids[k]) == 0) {
                    pos[k] = index;
                    ck_assert_str_eq(customer, of->sub);
                }
        }
        struct json_object *nc = sp_t_jget(r->json, "next_cursor");
        cursor = nc ? sp_t_fmt("%s", json_object_get_string(nc)) : NULL;
        sp_t_resp_free(r);
        ck_assert_int_lt(++pages, 1000);
    } while (cursor != NULL);
}

START_TEST(waiting_queue_lists_waiting_sessions_oldest_first)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    const char *cat = category_manual();
    struct chat w1 = chat_new(&c, cat, "first in line");
    struct chat w2 = chat_new(&c, cat, "second in line");
    struct chat closed = chat_new(&c, cat, NULL);
    struct sp_t_resp *r = chat_close(&c, closed.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    const char *team = team_new();
    (void)agent_new(team, NULL, NULL);
    struct chat active = chat_new(&c, category_rr(team), NULL);
    ck_assert_str_eq(active.status, "active");

    const char *ids[] = {w1.id, w2.id, closed.id, active.id};
    long pos[4];
    queue_positions(&au, "waiting", &c, ids, 4, pos, 0);
    ck_assert_int_ge(pos[0], 0);
    ck_assert_int_ge(pos[1], 0);
    ck_assert_int_lt(pos[0], pos[1]);
    ck_assert_int_eq(pos[2], -1);
    ck_assert_int_eq(pos[3], -1);

    /* default status is waiting; items carry the customer */
    r = sp_t_get("/support/agent/chats?limit=1", au.token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    ck_assert_int_eq(json_object_array_length(data), 1);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(data, 0), "status"), "waiting");
    ck_assert_msg(json_object_is_type(sp_t_jget(r->json, "next_cursor"), json_type_string),
                  "next_cursor: %.300s", r->body);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(active_queue_lists_only_the_callers_chats)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *ta = team_new(), *tb = team_new();
    struct sp_t_user ua, ub;
    int64_t a = agent_new(ta, NULL, &ua);
    int64_t b = agent_new(tb, NULL, &ub);
    struct chat sa = chat_new(&c, category_rr(ta), NULL);
    struct chat sb = chat_new(&c, category_rr(tb), NULL);
    ck_assert_int_eq(sa.agent, a);
    ck_assert_int_eq(sb.agent, b);
    struct chat w = chat_new(&c, category_manual(), NULL);

    const char *ids[] = {sa.id, sb.id, w.id};
    long pos[3];
    queue_positions(&ua, "active", &c, ids, 3, pos, a);
    ck_assert_int_ge(pos[0], 0);
    ck_assert_int_eq(pos[1], -1);
    ck_assert_int_eq(pos[2], -1);
    queue_positions(&ub, "active", &c, ids, 3, pos, b);
    ck_assert_int_eq(pos[0], -1);
    ck_assert_int_ge(pos[1], 0);

    /* a closed chat leaves the active queue */
    struct sp_t_resp *r = chat_close(&c, sa.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    queue_positions(&ua, "active", &c, ids, 3, pos, a);
    ck_assert_int_eq(pos[0], -1);
}
END_TEST

START_TEST(agent_queue_rejects_bad_status_and_customers)
{
    struct sp_t_user au = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_get("/support/agent/chats?status=closed", au.token);
    sp_t_assert_invalid(r, "status", NULL);
    sp_t_resp_free(r);
    r = sp_t_get("/support/agent/chats?status=bogus", au.token);
    sp_t_assert_invalid(r, "status", NULL);
    sp_t_resp_free(r);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = sp_t_get("/support/agent/chats?status=waiting", c.token);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    r = sp_t_get("/support/agent/chats?status=waiting", NULL);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

/* ---- POST /support/agent/chats/:id/accept ------------------------------------- */

START_TEST(accept_of_a_waiting_session_assigns_me_with_agent_joined)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    int64_t me = sp_t_agent_id(&au);
    struct chat s = chat_new(&c, category_manual(), "please pick me up");
    ck_assert_str_eq(s.status, "waiting");

    struct sp_t_resp *r = chat_accept(&au, s.id);
    sp_t_assert_json(r, 200);
    assert_session(r->json, s.id, "active");
    ck_assert_int_eq(jagent(r->json), me);
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s.id, "status"), "active");
    ck_assert_str_eq(db_session(s.id, "assigned_agent_id"), sp_t_fmt("%lld", (long long)me));
    ck_assert_int_eq(db_system_events(s.id, "agent_joined"), 1);

    /* the customer sees it, and the agent may now read and write */
    r = session_get(&c, s.id, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(jagent(r->json), me);
    struct json_object *msgs = sp_t_jarr(r->json, "messages");
    ck_assert_int_eq(json_object_array_length(msgs), 2);
    assert_frame(json_object_array_get_idx(msgs, 1), s.id, "system", NULL);
    sp_t_resp_free(r);
    r = session_get(&au, s.id, NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    (void)msg_send(&au, s.id, "hello from the agent");

    /* accepting again is a no-op for me */
    r = chat_accept(&au, s.id);
    sp_t_assert_json(r, 200);
    assert_session(r->json, s.id, "active");
    ck_assert_int_eq(jagent(r->json), me);
    sp_t_resp_free(r);
    ck_assert_int_eq(db_system_events(s.id, "agent_joined"), 1);
}
END_TEST

START_TEST(accept_of_a_session_of_another_agent_is_409_already_assigned)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user first, second;
    int64_t a = agent_new(NULL, NULL, &first);
    (void)agent_new(NULL, NULL, &second);
    struct chat s = chat_new(&c, category_manual(), NULL);
    struct sp_t_resp *r = chat_accept(&first, s.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);

    r = chat_accept(&second, s.id);
    sp_t_assert_problem(r, 409, "already_assigned");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s.id, "assigned_agent_id"), sp_t_fmt("%lld", (long long)a));
    ck_assert_int_eq(db_system_events(s.id, "agent_joined"), 1);
}
END_TEST

START_TEST(accept_at_max_concurrent_chats_is_409_agent_unavailable)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    struct sp_t_resp *r = sp_t_patch_json("/support/agent/me", au.token,
                                          "{\"max_concurrent_chats\":0}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "max_concurrent_chats"), 0);
    sp_t_resp_free(r);
    struct chat s = chat_new(&c, category_manual(), NULL);
    r = chat_accept(&au, s.id);
    sp_t_assert_problem(r, 409, "agent_unavailable");
    /* QA: the detail says which of away and full it is */
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     "the agent has max_concurrent_chats (0) active chats");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s.id, "status"), "waiting");
    ck_assert_ptr_null(db_session(s.id, "assigned_agent_id"));
    ck_assert_int_eq(db_system_events(s.id, "agent_joined"), 0);

    /* capacity 1 with one active chat is full too */
    r = sp_t_patch_json("/support/agent/me", au.token, "{\"max_concurrent_chats\":1}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = chat_accept(&au, s.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    struct chat s2 = chat_new(&c, category_manual(), NULL);
    r = chat_accept(&au, s2.id);
    sp_t_assert_problem(r, 409, "agent_unavailable");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s2.id, "status"), "waiting");
}
END_TEST

START_TEST(accept_when_away_is_409_agent_unavailable)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    struct sp_t_resp *r = sp_t_patch_json("/support/agent/me", au.token, "{\"status\":\"away\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    sp_t_resp_free(r);
    struct chat s = chat_new(&c, category_manual(), NULL);
    r = chat_accept(&au, s.id);
    sp_t_assert_problem(r, 409, "agent_unavailable");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the agent is away");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s.id, "status"), "waiting");
    ck_assert_ptr_null(db_session(s.id, "assigned_agent_id"));
}
END_TEST

START_TEST(accept_of_a_closed_session_is_409_session_closed)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    struct chat s = chat_new(&c, category_manual(), NULL);
    struct sp_t_resp *r = chat_close(&c, s.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = chat_accept(&au, s.id);
    sp_t_assert_problem(r, 409, "session_closed");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s.id, "status"), "closed");
    ck_assert_ptr_null(db_session(s.id, "assigned_agent_id"));
    ck_assert_int_eq(db_system_events(s.id, "agent_joined"), 0);
}
END_TEST

START_TEST(expired_session_cannot_be_accepted_and_leaves_the_waiting_queue)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    struct chat s = chat_new(&c, category_manual(), NULL);
    sp_t_sql("UPDATE support_chat_sessions SET expires_at = now() - interval '1 minute'"
             " WHERE public_id = '%s' RETURNING 1", s.id);
    struct sp_t_resp *r = chat_accept(&au, s.id);
    sp_t_assert_problem(r, 409, "session_closed");
    sp_t_resp_free(r);
    ck_assert_ptr_null(db_session(s.id, "assigned_agent_id"));
    r = sp_t_get("/support/agent/chats?status=waiting&limit=100", au.token);
    sp_t_assert_json(r, 200);
    ck_assert_msg(strstr(r->body, s.id) == NULL, "expired session %s still waiting", s.id);
    sp_t_resp_free(r);
}
END_TEST

/* The waiting queue's item of session id, as agent u sees it (a copy the
 * caller puts). */
static struct json_object *
queued_item(const struct sp_t_user *u, const char *id)
{
    const char *cursor = NULL;
    do {
        struct sp_t_resp *r = sp_t_get(
            sp_t_fmt("/support/agent/chats?status=waiting&limit=100%s%s",
                     cursor ? "&cursor=" : "", cursor ? sp_t_urlencode(cursor) : ""),
            u->token);
        sp_t_assert_json(r, 200);
        struct json_object *data = sp_t_jarr(r->json, "data");
        for (size_t i = 0; i < json_object_array_length(data); i++) {
            struct json_object *it = json_object_array_get_idx(data, i);
            if (strcmp(sp_t_jstr(it, "session_id"), id) == 0) {
                struct json_object *copy = json_tokener_parse(json_object_to_json_string(it));
                sp_t_resp_free(r);
                return copy;
            }
        }
        struct json_object *nc = sp_t_jget(r->json, "next_cursor");
        cursor = nc ? sp_t_fmt("%s", json_object_get_string(nc)) : NULL;
        sp_t_resp_free(r);
    } while (cursor != NULL);
    ck_abort_msg("session %s is not in the waiting queue", id);
    return NULL;
}

/* QA: agents accepted waiting chats blind. A queue item carries the
 * customer's first message as one line of plain text (markup gone, at
 * most 200 characters), null before the customer wrote. */
START_TEST(the_waiting_queue_shows_the_customers_first_message)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    struct chat said = chat_new(&c, category_manual(), "My <b>order</b> 42\nnever came");
    struct chat quiet = chat_new(&c, category_manual(), NULL);
    char text[301];
    memset(text, 'x', 300);
    text[300] = '\0';
    struct chat longer = chat_new(&c, category_manual(), text);
    struct json_object *it = queued_item(&au, said.id);
    struct json_object *first = sp_t_jget(it, "first_message");
    ck_assert_str_eq(sp_t_jstr(first, "text"), "My order 42 never came");
    sp_t_assert_timestamp(sp_t_jstr(first, "created_at"));
    json_object_put(it);
    it = queued_item(&au, quiet.id);
    sp_t_assert_jnull(it, "first_message");
    json_object_put(it);
    it = queued_item(&au, longer.id);
    ck_assert_uint_eq(strlen(sp_t_jstr(sp_t_jget(it, "first_message"), "text")), 200);
    json_object_put(it);
}
END_TEST

/* ---- transfer ---------------------------------------------------------------- */

/* ---- waiting chats routed to an agent who becomes free (API.md §7) --------- */

/* Session id's status and agent, "waiting/" when it has none. */
static const char *
status_agent(const char *id)
{
    return sp_t_sql("SELECT status || '/' || coalesce(assigned_agent_id::text, '')"
                    " FROM support_chat_sessions WHERE public_id = '%s'", id);
}

static const char *
active_with(int64_t agent)
{
    return sp_t_fmt("active/%lld", (long long)agent);
}

/* u (an agent) changes its own status and capacity; asserts 200. */
static void
agent_me_patch(const struct sp_t_user *u, const char *json)
{
    struct sp_t_resp *r = sp_t_request("PATCH", "/support/agent/me", u->token, SP_T_JSON, json,
                                       NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

/* QA: a chat that found every agent busy waited until someone accepted it
 * by hand. The agent's close frees a place: the oldest waiting chat of
 * its team is theirs in the same transaction (active, agent_joined), as
 * a chat routed at creation is, and only as many as they have room for.
 * Oldest by started_at, not by id: the later row started first here. */
START_TEST(an_agents_closed_chat_hands_them_the_oldest_waiting_one)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), ua;
    const char *team = team_new();
    int64_t a = agent_new(team, "\"max_concurrent_chats\":1", &ua);
    const char *cat = category_rr(team);
    struct chat busy = chat_new(&c, cat, "one");
    ck_assert_int_eq(busy.agent, a);
    struct chat newer = chat_new(&c, cat, "two");
    struct chat older = chat_new(&c, cat, "three");
    ck_assert_str_eq(newer.status, "waiting");
    ck_assert_str_eq(older.status, "waiting");
    sp_t_sql("UPDATE support_chat_sessions SET started_at = started_at - interval '1 hour'"
             " WHERE public_id = '%s'", older.id);

    struct sp_t_resp *r = chat_close(&ua, busy.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(status_agent(older.id), active_with(a));
    ck_assert_int_eq(db_system_events(older.id, "agent_joined"), 1);
    ck_assert_str_eq(status_agent(newer.id), "waiting/");
    ck_assert_int_eq(db_system_events(newer.id, "agent_joined"), 0);
    /* As at creation: the routed agent reads it, last_assigned_at stamped. */
    r = session_get(&ua, older.id, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(jagent(r->json), a);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT last_assigned_at >= (SELECT max(m.created_at)"
                              " FROM support_chat_messages m JOIN support_chat_sessions s"
                              " ON s.id = m.session_id WHERE s.public_id = '%s')"
                              " FROM support_agents WHERE id = %lld", older.id, (long long)a),
                     "t");

    /* The customer closing it frees the place again: the next one. */
    r = chat_close(&c, older.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(status_agent(newer.id), active_with(a));
}
END_TEST

/* An away agent turning active (their own PATCH) takes the waiting chats
 * routing would give them: of their team's category and of a skill
 * category of another team whose skill they have, up to their room. */
START_TEST(an_agent_back_from_away_takes_the_waiting_chats_of_its_team_and_skills)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), ua;
    const char *team = team_new(), *skill = sp_t_unique("chat-skill");
    int64_t a = agent_new(team, sp_t_fmt("\"status\":\"away\",\"max_concurrent_chats\":2,"
                                         "\"skills\":[%s]", sp_t_jq(skill)), &ua);
    struct chat mine = chat_new(&c, category_rr(team), "team");
    struct chat skilled = chat_new(&c, category_skill(team_new(), skill), "skill");
    struct chat third = chat_new(&c, category_rr(team), "no room left");
    ck_assert_str_eq(mine.status, "waiting");
    ck_assert_str_eq(skilled.status, "waiting");

    agent_me_patch(&ua, "{\"status\":\"active\"}");
    ck_assert_str_eq(status_agent(mine.id), active_with(a));
    ck_assert_str_eq(status_agent(skilled.id), active_with(a));
    ck_assert_int_eq(db_system_events(skilled.id, "agent_joined"), 1);
    ck_assert_str_eq(status_agent(third.id), "waiting/");

    /* Away again and back: at capacity, nothing more. */
    agent_me_patch(&ua, "{\"status\":\"away\"}");
    agent_me_patch(&ua, "{\"status\":\"active\"}");
    ck_assert_str_eq(status_agent(third.id), "waiting/");
    ck_assert_int_eq(db_system_events(mine.id, "agent_joined"), 1);
}
END_TEST

/* An admin raising an agent's max_concurrent_chats frees places: only the
 * chats routing would give that agent are taken — not another team's, not
 * a skill category's whose skill they lack (though its team is theirs),
 * not a manual category's (those wait for an accept). */
START_TEST(a_freed_agent_takes_no_chat_routing_would_not_give_it)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    int64_t a = agent_new(team, "\"max_concurrent_chats\":0,\"skills\":[\"other\"]", NULL);
    struct chat other_team = chat_new(&c, category_rr(team_new()), "other team");
    struct chat other_skill =
        chat_new(&c, category_skill(team, sp_t_unique("chat-skill")), "other skill");
    struct chat manual = chat_new(&c, category_manual_of(team), "manual");
    struct sp_t_user c2 = sp_t_user_new(SP_ROLE_CUSTOMER);   /* 3 open chats each */
    struct chat mine = chat_new(&c2, category_rr(team), "mine");

    agent_patch(a, "{\"max_concurrent_chats\":5}");
    ck_assert_str_eq(status_agent(mine.id), active_with(a));
    ck_assert_str_eq(status_agent(other_team.id), "waiting/");
    ck_assert_str_eq(status_agent(other_skill.id), "waiting/");
    ck_assert_str_eq(status_agent(manual.id), "waiting/");
    ck_assert_int_eq(db_system_events(other_skill.id, "agent_joined"), 0);
}
END_TEST

/* A chat handed away — to another agent, or to a ticket — frees the
 * agent's place for the oldest waiting chat. */
START_TEST(a_chat_transferred_away_hands_its_agent_a_waiting_one)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), ua;
    const char *team = team_new();
    int64_t a = agent_new(team, "\"max_concurrent_chats\":1", &ua);
    int64_t b = agent_new(NULL, NULL, NULL);
    const char *cat = category_rr(team);
    struct chat s1 = chat_new(&c, cat, "one");
    struct chat s2 = chat_new(&c, cat, "two");
    struct chat s3 = chat_new(&c, cat, "three");
    ck_assert_int_eq(s1.agent, a);

    struct sp_t_resp *r = transfer(&ua, s1.id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}",
                                                        (long long)b));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(status_agent(s2.id), active_with(a));
    ck_assert_str_eq(status_agent(s3.id), "waiting/");

    r = transfer(&ua, s2.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_str_eq(status_agent(s3.id), active_with(a));
    ck_assert_int_eq(db_system_events(s3.id, "agent_joined"), 1);
}
END_TEST

/* Whether the backend waiting for chat lock key `waits` holds key `holds`
 * (pg_advisory_xact_lock(7311947, key): classid and objid). */
static bool
waiter_holds(long long waits, long long holds)
{
    return strcmp(sp_t_sql("SELECT count(*) FROM pg_locks w JOIN pg_locks h ON h.pid = w.pid"
                           " WHERE w.locktype = 'advisory' AND NOT w.granted"
                           "   AND w.classid = 7311947"
                           "   AND w.objid::bigint = (%lld::bigint & 4294967295)"
                           "   AND h.locktype = 'advisory' AND h.granted"
                           "   AND h.classid = 7311947"
                           "   AND h.objid::bigint = (%lld::bigint & 4294967295)",
                           waits, holds), "1") == 0;
}

/* A transfer took the new agent's team lock, then the old agent's (to
 * hand that agent a waiting chat): two transfers the opposite way between
 * two teams could each hold the lock the other waited for (a deadlock,
 * 503). It now takes every chat lock it needs first, in key order: while
 * the new agent's team lock (the higher key) is held elsewhere, the
 * waiting transfer already holds the old agent's, where it held none. */
START_TEST(a_transfer_takes_its_team_locks_in_key_order)
{
    const char *t1 = team_new(), *t2 = team_new();
    long long k1 = atoll(sp_t_sql("SELECT hashtext('chat:%s')", t1));
    long long k2 = atoll(sp_t_sql("SELECT hashtext('chat:%s')", t2));
    const char *old_team = k1 < k2 ? t1 : t2, *new_team = k1 < k2 ? t2 : t1;
    long long old_key = k1 < k2 ? k1 : k2, new_key = k1 < k2 ? k2 : k1;
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), ua;
    int64_t a = agent_new(old_team, NULL, &ua), b = agent_new(new_team, NULL, NULL);
    struct chat s = chat_new(&c, category_rr(old_team), "hello");
    ck_assert_int_eq(s.agent, a);

    PGconn *db = sp_t_tx_hold(sp_t_fmt("SELECT pg_advisory_xact_lock(7311947, %lld::integer)",
                                       new_key));
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct sp_t_resp *r =
            transfer(&ua, s.id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)b));
        _exit(r->status == 200 ? 0 : (int)(r->status % 256));
    }
    for (int i = 0; i < 60 && !sp_t_pick_lock_awaited(new_key); i++)
        usleep(50 * 1000);
    bool held = waiter_holds(new_key, old_key);
    sp_t_tx_release(db);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the transfer answered %d",
                  WEXITSTATUS(status));
    ck_assert_msg(held, "the transfer waited for the new team's lock without the old team's");
    ck_assert_str_eq(status_agent(s.id), active_with(b));
}
END_TEST

/* Two agents freed at once never take the same chat: agents of two teams
 * (so no team lock orders them) with a skill, one chat each, one waiting
 * chat of the skill; both chats closed at the same moment. The waiting
 * chat goes to exactly one of them, with one agent_joined message.
 * Several rounds, since a lost race does not show every time. */
START_TEST(two_agents_freed_at_once_never_share_a_waiting_chat)
{
    enum { ROUNDS = 5 };
    for (int round = 0; round < ROUNDS; round++) {
        const char *skill = sp_t_unique("chat-skill");
        const char *with_skill =
            sp_t_fmt("\"skills\":[%s],\"max_concurrent_chats\":1", sp_t_jq(skill));
        int64_t a = agent_new(NULL, with_skill, NULL), b = agent_new(NULL, with_skill, NULL);
        const char *cat = category_skill(team_new(), skill);
        struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
        struct chat s1 = chat_new(&c, cat, "one"), s2 = chat_new(&c, cat, "two");
        struct chat waiting = chat_new(&c, cat, "three");
        ck_assert_str_eq(waiting.status, "waiting");
        const char *paths[2] = {session_path(s1.id, "/close"), session_path(s2.id, "/close")};
        const char *tokens[2] = {c.token, c.token};
        struct sp_t_resp *out[2];
        sp_t_parallel(2, "POST", paths, tokens, NULL, NULL, out);
        for (int i = 0; i < 2; i++) {
            sp_t_assert_json(out[i], 200);
            sp_t_resp_free(out[i]);
        }
        const char *got = status_agent(waiting.id);
        ck_assert_msg(strcmp(got, active_with(a)) == 0 || strcmp(got, active_with(b)) == 0,
                      "round %d: the waiting chat is %s", round, got);
        ck_assert_int_eq(db_system_events(waiting.id, "agent_joined"), 1);
        ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_sessions"
                                  " WHERE assigned_agent_id IN (%lld, %lld) AND status = 'active'",
                                  (long long)a, (long long)b), "1");
    }
}
END_TEST

/* QA: the staff's view of a session lacked the customer_id their queue
 * items carry. GET as the agent and as an admin, the 200 of accept and of
 * a transfer to an agent name the customer; the customer's own views
 * (create, GET, close) never carry it. */
START_TEST(staff_views_of_a_session_name_its_customer)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), ua, ub;
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    (void)agent_new(NULL, NULL, &ua);
    int64_t b = agent_new(NULL, NULL, &ub);
    struct sp_t_resp *r = create_raw(&c, sp_t_fmt("{\"category\":%s}", sp_t_jq(category_manual())));
    sp_t_assert_json(r, 201);
    ck_assert(!sp_t_jhas(r->json, "customer_id"));
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);

    r = chat_accept(&ua, id);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "customer_id"), c.sub);
    sp_t_resp_free(r);
    const struct sp_t_user *staff[2] = {&ua, &admin};
    for (int i = 0; i < 2; i++) {
        r = session_get(staff[i], id, NULL);
        sp_t_assert_json(r, 200);
        ck_assert_str_eq(sp_t_jstr(r->json, "customer_id"), c.sub);
        sp_t_resp_free(r);
    }
    r = session_get(&c, id, NULL);
    sp_t_assert_json(r, 200);
    ck_assert(!sp_t_jhas(r->json, "customer_id"));
    sp_t_resp_free(r);
    r = transfer(&ua, id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)b));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "customer_id"), c.sub);
    sp_t_resp_free(r);
    r = chat_close(&c, id);
    sp_t_assert_json(r, 200);
    ck_assert(!sp_t_jhas(r->json, "customer_id"));
    sp_t_resp_free(r);
}
END_TEST

/* An agent's message on a ticket (json: body, is_internal); asserts 201. */
static void
agent_message(const struct sp_t_user *a, const char *ticket, const char *json)
{
    struct sp_t_resp *r =
        sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", ticket), a->token, json);
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
}

/* Runs the chat-session-archive job once, now. */
static void
archive_run(void)
{
    const char *args[] = {"--once", "--now", sp_t_sql("SELECT support_ts(now())"), NULL};
    const char *out;
    int rc = sp_t_job_run("chat-session-archive", NULL, args, &out);
    ck_assert_msg(rc == 0, "chat-session-archive exited %d:\n%s", rc, out);
}

START_TEST(transfer_to_ticket_creates_a_linked_chat_ticket_once)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *cat = category_manual();
    struct chat s = chat_new(&c, cat, "I cannot log in");
    msg_send(&c, s.id, "still there?");
    struct sp_t_resp *r = transfer(&c, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    ck_assert_str_eq(sp_t_jstr(r->json, "source"), "chat");
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), cat);
    ck_assert_msg(!sp_t_jhas(r->json, "customer_id"), "customer got the agent view");
    const char *description = sp_t_jstr(r->json, "description");
    ck_assert_ptr_nonnull(strstr(description, "I cannot log in"));
    ck_assert_ptr_nonnull(strstr(description, "still there?"));
    ck_assert_str_eq(sp_t_header(r, "Location"), sp_t_fmt("/support/tickets/%s", ticket));
    sp_t_resp_free(r);
    /* Linked both ways, with a ticket_created system frame in the chat. */
    ck_assert_str_eq(sp_t_sql("SELECT t.public_id FROM support_chat_sessions s JOIN support_tickets t"
                              " ON t.id = s.ticket_id WHERE s.public_id = '%s'", s.id), ticket);
    ck_assert_str_eq(sp_t_sql("SELECT s.public_id FROM support_tickets t JOIN support_chat_sessions s"
                              " ON s.id = t.chat_session_id WHERE t.public_id = '%s'", ticket), s.id);
    ck_assert_int_eq(db_system_events(s.id, "ticket_created"), 1);
    r = session_get(&c, s.id, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "ticket_id"), ticket);
    sp_t_resp_free(r);
    assert_chat_ended_as_ticket(&c, s.id);
    /* Again: the same ticket, nothing new. */
    r = transfer(&c, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), ticket);
    sp_t_resp_free(r);
    ck_assert_int_eq(db_system_events(s.id, "ticket_created"), 1);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE chat_session_id ="
                              " (SELECT id FROM support_chat_sessions WHERE public_id = '%s')", s.id),
                     "1");
    /* The ticket's internal note never reaches the customer (API.md §2): a
     * repeat transfer answers their view, as GET /support/tickets/:id does;
     * an agent's (here an admin's) answers the agent view, note included. */
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    agent_message(&admin, ticket, "{\"body\":\"we are on it\"}");
    agent_message(&admin, ticket, "{\"body\":\"INTERNAL: refund abuse suspected\","
                                  "\"is_internal\":true}");
    r = transfer(&c, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), ticket);
    ck_assert_msg(strstr(r->body, "INTERNAL") == NULL && strstr(r->body, "is_internal") == NULL,
                  "the customer got the internal note: %s", r->body);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(r->json, "messages")), 2);
    struct sp_t_resp *g = sp_t_get(sp_t_fmt("/support/tickets/%s", ticket), c.token);
    sp_t_assert_json(g, 200);
    ck_assert_str_eq(json_object_to_json_string(sp_t_jarr(r->json, "messages")),
                     json_object_to_json_string(sp_t_jarr(g->json, "messages")));
    sp_t_resp_free(g);
    sp_t_resp_free(r);
    r = transfer(&admin, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), ticket);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(r->json, "messages")), 3);
    ck_assert_ptr_nonnull(strstr(r->body, "INTERNAL: refund abuse suspected"));
    sp_t_resp_free(r);
}
END_TEST

/* QA: a customer's two transfers at once got 201 and 404 "no such
 * ticket" (6 runs of 8): the loser's lock saw the linked session row but
 * not the new ticket through its join. Now the loser answers 200 with
 * the winner's ticket, every round (a fresh customer each: the ticket
 * limit). */
START_TEST(concurrent_customer_transfers_to_ticket_answer_201_and_200_with_one_ticket)
{
    enum { N = 2, ROUNDS = 6 };
    for (int round = 0; round < ROUNDS; round++) {
        struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
        struct chat s = chat_new(&c, category_manual(), "help");
        const char *paths[N], *tokens[N];
        for (int i = 0; i < N; i++) {
            paths[i] = session_path(s.id, "/transfer");
            tokens[i] = c.token;
        }
        struct sp_t_resp *out[N];
        sp_t_parallel(N, "POST", paths, tokens, SP_T_JSON, "{\"to\":\"ticket\"}", out);
        int statuses = 0;
        for (int i = 0; i < N; i++) {
            ck_assert_msg(out[i]->status == 201 || out[i]->status == 200,
                          "round %d: %ld %s", round, out[i]->status, out[i]->body);
            sp_t_assert_json(out[i], out[i]->status);
            statuses += out[i]->status;
        }
        ck_assert_int_eq(statuses, 401);   /* one 201, one 200 */
        ck_assert_str_eq(sp_t_jstr(out[0]->json, "public_id"),
                         sp_t_jstr(out[1]->json, "public_id"));
        ck_assert_msg(!sp_t_jhas(out[0]->json, "customer_id") &&
                          !sp_t_jhas(out[1]->json, "customer_id"),
                      "customer got the agent view");
        for (int i = 0; i < N; i++)
            sp_t_resp_free(out[i]);
        ck_assert_int_eq(db_system_events(s.id, "ticket_created"), 1);
    }
}
END_TEST

/* No message of session id follows its `closed` message. */
static void
assert_nothing_after_closed(const char *id)
{
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.id > (SELECT max(x.id)"
                              "   FROM support_chat_messages x WHERE x.session_id = s.id"
                              "   AND x.payload->>'event' = 'closed')", id),
                     "0");
}

/* N sends by the customer of a fresh chat with an admin's POST to
 * suffix (body json) in their middle: the closer's answer must be
 * closer_status; each send is 201 (its body, r<round>-m<i>-end, in
 * bodies[i]) or 409 session_closed. The closer's answer is *closer. */
enum { RACE_SENDS = 25 };
static void
sends_racing(int round, const char *suffix, const char *json, long closer_status,
             struct sp_t_resp **closer, bool kept[RACE_SENDS + 1],
             const char *bodies[RACE_SENDS + 1], const char **id)
{
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "first");
    *id = s.id;
    struct sp_t_call calls[RACE_SENDS + 1];
    for (int i = 0; i <= RACE_SENDS; i++) {
        bodies[i] = sp_t_fmt("r%d-m%02d-end", round, i);
        calls[i] = (struct sp_t_call){"POST", session_path(s.id, "/messages"), c.token,
                                      sp_t_fmt("{\"body\":%s}", sp_t_jq(bodies[i]))};
    }
    calls[RACE_SENDS / 2] = (struct sp_t_call){"POST", session_path(s.id, suffix), admin.token,
                                               json};
    struct sp_t_resp *out[RACE_SENDS + 1];
    size_t finished[RACE_SENDS + 1];
    sp_t_calls(RACE_SENDS + 1, calls, out, finished);
    for (int i = 0; i <= RACE_SENDS; i++) {
        kept[i] = false;
        if (i == RACE_SENDS / 2)
            continue;
        if (out[i]->status == 201)
            kept[i] = true;
        else
            sp_t_assert_problem(out[i], 409, "session_closed");
        sp_t_resp_free(out[i]);
    }
    *closer = out[RACE_SENDS / 2];
    sp_t_assert_json(*closer, closer_status);
}

/* QA: of 25 sends racing an agent's transfer to a ticket, 5 were
 * answered 201 yet stored after the chat's `closed` message and missing
 * from the ticket's transcript (the send read the session without waiting
 * for the conversion's lock). Every send is now either in the transcript
 * or refused 409 session_closed, and nothing follows the `closed`
 * message; a close racing sends the same. Several rounds: a lost race
 * does not show every time. */
START_TEST(sends_racing_a_transfer_to_ticket_are_in_its_transcript_or_refused)
{
    enum { ROUNDS = 4 };
    for (int round = 0; round < ROUNDS; round++) {
        struct sp_t_resp *t;
        bool kept[RACE_SENDS + 1];
        const char *bodies[RACE_SENDS + 1], *id;
        sends_racing(round, "/transfer", "{\"to\":\"ticket\"}", 201, &t, kept, bodies, &id);
        const char *transcript = sp_t_fmt("%s", sp_t_jstr(t->json, "description"));
        sp_t_resp_free(t);
        for (int i = 0; i <= RACE_SENDS; i++)
            ck_assert_msg(!kept[i] || strstr(transcript, bodies[i]) != NULL,
                          "round %d: %s answered 201 but is not in the ticket:\n%s", round,
                          bodies[i], transcript);
        assert_nothing_after_closed(id);
    }
    for (int round = 0; round < ROUNDS; round++) {
        struct sp_t_resp *closed;
        bool kept[RACE_SENDS + 1];
        const char *bodies[RACE_SENDS + 1], *id;
        sends_racing(round, "/close", NULL, 200, &closed, kept, bodies, &id);
        sp_t_resp_free(closed);
        assert_nothing_after_closed(id);
    }
}
END_TEST

/* The ticket.created webhook row's chat_session_id of ticket: the JSON
 * text of the member, "absent" without one. */
static const char *
db_created_webhook_chat(const char *ticket)
{
    return sp_t_sql("SELECT coalesce(o.payload->'chat_session_id', '\"absent\"')::text"
                    " FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id"
                    " WHERE t.public_id = '%s' AND o.kind = 'webhook'"
                    " AND o.event_type = 'ticket.created'", ticket);
}

/* Integrators and agents see that a ticket was a chat (API.md §5, §11):
 * chat_session_id, the chat's public id, on the agent view, the queue
 * item and the ticket.created webhook; null for another ticket; never
 * in the customer's view. */
START_TEST(a_chats_ticket_names_the_chat_to_agents_and_webhooks)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), admin = sp_t_user_new(SP_ROLE_ADMIN);
    struct chat s = chat_new(&c, category_manual(), "my parcel is lost");
    struct sp_t_resp *r = transfer(&admin, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    ck_assert_str_eq(sp_t_jstr(r->json, "chat_session_id"), s.id);
    sp_t_resp_free(r);
    r = sp_t_agent_ticket(&admin, ticket);
    ck_assert_str_eq(sp_t_jstr(r->json, "chat_session_id"), s.id);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/agent/tickets?q=%s", ticket), admin.token);
    sp_t_assert_json(r, 200);
    struct json_object *items = sp_t_jarr(r->json, "data");
    ck_assert_uint_eq(json_object_array_length(items), 1);
    sp_t_assert_agent_summary(json_object_array_get_idx(items, 0));
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(items, 0), "chat_session_id"), s.id);
    sp_t_resp_free(r);
    ck_assert_str_eq(db_created_webhook_chat(ticket), sp_t_fmt("\"%s\"", s.id));
    /* The customer's view is as it was (the harness refuses agent fields). */
    sp_t_resp_free(sp_t_ticket_get(&c, ticket));

    const char *other = sp_t_ticket_create(&c, "not from a chat");
    r = sp_t_agent_ticket(&admin, other);
    sp_t_assert_jnull(r->json, "chat_session_id");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_created_webhook_chat(other), "null");
}
END_TEST

/* The agent of the session's ticket (0: nobody), by the chat's public id. */
static long long
ticket_agent(const char *id)
{
    return sql_long(sp_t_sql("SELECT coalesce(t.assigned_agent_id, 0) FROM support_tickets t"
                             " JOIN support_chat_sessions s ON s.ticket_id = t.id"
                             " WHERE s.public_id = '%s'", id));
}

/* A round-robin team of two where the chat goes to *a (*b takes no
 * chats) while b is next in line for tickets; returns the category. */
static const char *
team_a_chats_b_next(int64_t *a, struct sp_t_user *au, int64_t *b)
{
    const char *team = team_new();
    struct sp_t_user bu;
    *a = agent_new(team, NULL, au);
    *b = agent_new(team, "\"max_concurrent_chats\":0", &bu);
    sp_t_sql("UPDATE support_agents SET last_assigned_at = CASE id WHEN %lld THEN now()"
             " ELSE NULL END WHERE id IN (%lld, %lld) RETURNING 1",
             (long long)*a, (long long)*a, (long long)*b);
    return category_rr(team);
}

/* An agent's own chat made a ticket stays theirs (docs/API.md §7), as
 * routing assigns (system `assigned` event; ticket.assigned unless they
 * made it themselves), not the
 * agent next in rotation's; a customer's transfer, or their ticket
 * naming the chat, keeps it with the chat's agent too, away or not. */
/* Keeping a chat's ticket with its agent counts their open tickets under
 * the lock of the picks that could hand them one (their team's round
 * robin): a pick in flight, played by a transaction holding that lock,
 * is waited for, so both cannot take the agent's last place. */
START_TEST(a_kept_ticket_waits_for_a_pick_of_its_agent_in_flight)
{
    const char *team = team_new();
    struct sp_t_user au;
    int64_t a = agent_new(team, NULL, &au);
    const char *cat = category_rr(team);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, cat, "my order is late");
    ck_assert_int_eq(s.agent, a);
    PGconn *db = sp_t_tx_hold(sp_t_fmt("SELECT pg_advisory_xact_lock(7311947,"
                                       " hashtext('round_robin:%s'))", team));
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct sp_t_resp *r = transfer(&au, s.id, "{\"to\":\"ticket\"}");
        _exit(r->status == 201 ? 0 : 1);
    }
    /* The transfer's keep waits on the pick's lock. */
    bool waited = false;
    for (int i = 0; i < 50 && !waited; i++) {
        usleep(100 * 1000);
        waited = strcmp(sp_t_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                 " AND NOT granted AND classid = 7311947"), "0") != 0;
    }
    sp_t_tx_release(db);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(waited, "the keep did not wait for the pick in flight");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the transfer failed");
    ck_assert_int_eq(ticket_agent(s.id), a);
}
END_TEST

START_TEST(transfer_to_ticket_keeps_the_ticket_with_the_chats_agent)
{
    int64_t a, b;
    struct sp_t_user au;
    const char *cat = team_a_chats_b_next(&a, &au, &b);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, cat, "my order is late");
    ck_assert_str_eq(s.status, "active");
    ck_assert_int_eq(s.agent, a);
    msg_send(&au, s.id, "let me take a longer look");
    struct sp_t_resp *r = transfer(&au, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), a);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    sp_t_resp_free(r);
    ck_assert_int_eq(ticket_agent(s.id), a);
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(e.actor_type || ':' || (e.metadata->>'to'), ',')"
                              " FROM support_ticket_events e JOIN support_tickets t"
                              " ON t.id = e.ticket_id WHERE t.public_id = '%s'"
                              " AND e.event_type = 'assigned'", ticket),
                     sp_t_fmt("system:%lld", (long long)a));
    /* she made it: not told she has it (API.md §11, Staff notification
     * rows; QA: a ticket.assigned mail about herself) */
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_outbox o JOIN support_tickets t"
                              " ON t.id = o.ticket_id WHERE t.public_id = '%s'"
                              " AND o.event_type = 'ticket.assigned' AND o.recipient = '%lld'",
                              ticket, (long long)a), "0");

    /* The customer's transfer of another chat of a's, a now away. */
    struct chat s2 = chat_new(&c, cat, "and a second thing");
    ck_assert_int_eq(s2.agent, a);
    struct chat s3 = chat_new(&c, cat, "one more");
    ck_assert_int_eq(s3.agent, a);
    sp_t_sql("UPDATE support_agents SET status = 'away' WHERE id = %lld RETURNING 1",
             (long long)a);
    r = transfer(&c, s2.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_int_eq(ticket_agent(s2.id), a);
    /* And the customer's own ticket naming a third chat of a's (§4). */
    sp_t_ticket_create_json(&c, sp_t_fmt("{\"subject\":\"late order\",\"description\":\"d\","
                                         "\"chat_session_id\":%s}", sp_t_jq(s3.id)));
    ck_assert_int_eq(ticket_agent(s3.id), a);
}
END_TEST

static const char *db_ticket_priority(const char *public_id);

/* "<first_responded_at = the chat's first agent message> <sla_due_at =
 * resolution_due_at> <created event's actor_type>:<performed_by|->" of
 * the chat's ticket. */
static const char *
chat_ticket_sla(const char *id)
{
    return sp_t_sql(
        "SELECT (support_ms(t.first_responded_at) = (SELECT support_ms(min(m.created_at))"
        "   FROM support_chat_messages m WHERE m.session_id = s.id"
        "   AND m.sender_type = 'agent'))"
        " || ' ' || (t.sla_due_at = t.resolution_due_at)"
        " || ' ' || e.actor_type || ':' || coalesce(e.performed_by, '-')"
        " FROM support_chat_sessions s JOIN support_tickets t ON t.id = s.ticket_id"
        " JOIN support_ticket_events e ON e.ticket_id = t.id AND e.event_type = 'created'"
        " WHERE s.public_id = '%s'", id);
}

/* A chat's ticket is judged by what its customer wrote (docs/API.md
 * §5.3): not the transcript's labels ("Customer", "Agent"), times or the
 * agent's words, and "&" as typed; and an agent's chat reply is its first
 * response (§7), on the customer's transfer and on their ticket naming
 * the chat alike. */
START_TEST(chat_ticket_reads_the_customers_words_and_keeps_the_chats_first_response)
{
    int64_t a, b;
    struct sp_t_user au;
    const char *cat = team_a_chats_b_next(&a, &au, &b);
    const char *name = sp_t_unique("chat-words");
    int64_t rule = sp_t_admin_rule_new(
        sp_t_fmt("\"name\":%s,\"category\":%s,\"priority\":\"urgent\","
                 "\"pattern\":\"\\\\b(customer|agent|refund)\\\\b|AT&T\"",
                 sp_t_jq(name), sp_t_jq(cat)));
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);

    struct chat s = chat_new(&c, cat, "hello, my parcel is late");
    ck_assert_int_eq(s.agent, a);
    msg_send(&au, s.id, "the agent will check the refund");
    msg_send(&c, s.id, "thanks");
    struct sp_t_resp *r = transfer(&c, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    ck_assert_msg(!sp_t_jhas(r->json, "first_responded_at"), "customer view");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_ticket_priority(ticket), "normal/-");
    ck_assert_str_eq(chat_ticket_sla(s.id), sp_t_fmt("true true customer:%s", c.sub));

    struct chat s2 = chat_new(&c, cat, "my AT&T phone never arrived");
    r = transfer(&c, s2.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    sp_t_resp_free(r);
    ck_assert_str_eq(db_ticket_priority(ticket), sp_t_fmt("urgent/%s", name));
    /* nobody answered: the first response is still to come */
    ck_assert_str_eq(sp_t_sql("SELECT (first_responded_at IS NULL) || ' '"
                              " || (sla_due_at = first_response_due_at)"
                              " FROM support_tickets WHERE public_id = '%s'", ticket), "true true");

    struct chat s3 = chat_new(&c, cat, "one more question");
    msg_send(&au, s3.id, "sure, go ahead");
    ticket = sp_t_ticket_create_json(&c, sp_t_fmt("{\"subject\":\"late order\","
                                                  "\"description\":\"see the chat\","
                                                  "\"chat_session_id\":%s}", sp_t_jq(s3.id)));
    ck_assert_str_eq(db_ticket_priority(ticket), "normal/-");
    ck_assert_str_eq(chat_ticket_sla(s3.id), sp_t_fmt("true true customer:%s", c.sub));
    r = sp_t_admin("DELETE", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)rule),
                   NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
}
END_TEST

/* A waiting chat has no agent to keep its ticket: it is routed as any
 * ticket of the category (the next agent in rotation). */
START_TEST(transfer_to_ticket_of_a_waiting_chat_is_routed)
{
    int64_t a, b;
    struct sp_t_user au;
    const char *cat = team_a_chats_b_next(&a, &au, &b);
    sp_t_sql("UPDATE support_agents SET max_concurrent_chats = 0 WHERE id = %lld RETURNING 1",
             (long long)a);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, cat, "hello?");
    ck_assert_str_eq(s.status, "waiting");
    struct sp_t_resp *r = transfer(&c, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_int_eq(ticket_agent(s.id), b);
}
END_TEST

START_TEST(transfer_to_agent_needs_an_agent_with_room)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    struct sp_t_user first, busy, away, free_agent;
    int64_t first_id = agent_new(team, NULL, &first);
    int64_t busy_id = agent_new(NULL, "\"max_concurrent_chats\":0", &busy);
    int64_t away_id = agent_new(NULL, "\"status\":\"away\"", &away);
    int64_t free_id = agent_new(NULL, NULL, &free_agent);
    struct chat s = chat_new(&c, category_rr(team), "hello");
    ck_assert_int_eq(s.agent, first_id);

    struct sp_t_resp *r = transfer(&c, s.id, "{\"to\":\"agent\"}");
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    r = transfer(&first, s.id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)busy_id));
    sp_t_assert_problem(r, 409, "agent_unavailable");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     sp_t_fmt("agent %lld has max_concurrent_chats (0) active chats",
                              (long long)busy_id));
    sp_t_resp_free(r);
    r = transfer(&first, s.id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)away_id));
    sp_t_assert_problem(r, 409, "agent_unavailable");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     sp_t_fmt("agent %lld is away", (long long)away_id));
    sp_t_resp_free(r);
    /* QA: the agent who holds the chat named: 409 "no other agent is
     * free" misled, and then 409 already_assigned where a claim of one's
     * own ticket is 200: idempotent, the session as it is, no system
     * message (nobody is told anything). */
    long before = db_messages(s.id, NULL);
    r = transfer(&first, s.id,
                 sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)first_id));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), first_id);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
    sp_t_resp_free(r);
    ck_assert_int_eq(db_messages(s.id, NULL), before);
    ck_assert_int_eq(db_system_events(s.id, "transferred"), 0);
    /* QA: an unknown agent came only once `to` was fixed; one 422 lists
     * both. A known agent without room is the 409 of the next try, and a
     * customer's body is not checked against the agents. */
    r = transfer(&first, s.id, "{\"to\":\"agnt\",\"agent_id\":999999999}");
    sp_t_assert_invalid(r, "to", "invalid");
    sp_t_assert_invalid(r, "agent_id", "unknown_agent");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    r = transfer(&first, s.id, "{\"agent_id\":999999999}");
    sp_t_assert_invalid(r, "to", "required");
    sp_t_assert_invalid(r, "agent_id", "unknown_agent");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    r = transfer(&first, s.id, sp_t_fmt("{\"to\":\"agnt\",\"agent_id\":%lld}",
                                        (long long)busy_id));
    sp_t_assert_invalid(r, "to", "invalid");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    r = transfer(&c, s.id, "{\"to\":\"agnt\",\"agent_id\":999999999}");
    sp_t_assert_invalid(r, "to", "invalid");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    r = transfer(&first, s.id, "{\"to\":\"agent\",\"agent_id\":999999999}");
    sp_t_assert_invalid(r, "agent_id", "unknown_agent");
    sp_t_resp_free(r);
    /* Nobody else in the team: routing finds no one. */
    r = transfer(&first, s.id, "{\"to\":\"agent\"}");
    sp_t_assert_problem(r, 409, "agent_unavailable");
    sp_t_resp_free(r);
    r = transfer(&first, s.id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)free_id));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), free_id);
    sp_t_resp_free(r);
    ck_assert_int_eq(db_system_events(s.id, "transferred"), 1);
    /* Queued with the transfer (and only the one that happened): the
     * webhook, the new agent's and the team's notifications. */
    ck_assert_int_eq(db_outbox_of(s.id, "chat.session_created", "webhook", NULL), 1);
    ck_assert_int_eq(db_outbox_of(s.id, "chat.transferred", "webhook", NULL), 1);
    ck_assert_int_eq(db_outbox_of(s.id, "chat.transferred", "agent",
                                  sp_t_fmt("%lld", (long long)free_id)), 1);
    ck_assert_int_eq(db_outbox_of(s.id, "chat.transferred", "team", team), 1);
    /* Each names the agent it was taken from; only the staff rows carry
     * the agents' names (their mails name both, API.md §11). */
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(channel || ':' || (payload->>'previous_agent_id')"
                              " || ':' || (payload ? 'assigned_agent_name'), ',' ORDER BY channel)"
                              " FROM support_outbox WHERE payload->>'session_id' = '%s'"
                              " AND event_type = 'chat.transferred'", s.id),
                     sp_t_fmt("agent:%lld:true,team:%lld:true,webhook:%lld:false",
                              (long long)first_id, (long long)first_id, (long long)first_id));
    /* The old agent is out; the new one is in. */
    r = session_get(&first, s.id, NULL);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    r = session_get(&free_agent, s.id, NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* The ticket-creation body naming chat id. */
static const char *
ticket_body(const char *subject, const char *description, const char *id)
{
    return sp_t_fmt("{\"subject\":%s,\"description\":%s,\"chat_session_id\":%s}",
                    sp_t_jq(subject), sp_t_jq(description), sp_t_jq(id));
}

/* sql/037 on a database from before the create linked its chat: the
 * session gets the ticket created from it; one converted since keeps the
 * ticket it has. */
START_TEST(migration_037_links_the_sessions_tickets_were_created_from)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "old chat");
    struct chat kept = chat_new(&c, category_manual(), "converted since");
    const char *tickets[2];
    const char *ids[2] = {s.id, kept.id};
    for (int i = 0; i < 2; i++) {
        struct sp_t_resp *r = sp_t_post_json("/support/tickets", c.token,
                                             ticket_body("From the bot", "see chat", ids[i]));
        sp_t_assert_json(r, 201);
        tickets[i] = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
        sp_t_resp_free(r);
    }
    /* Back to what the old create left: s unlinked; `kept` converted by
     * the archive job into another ticket since. */
    const char *other = sp_t_ticket_create(&c, "the archive job's ticket");
    sp_t_sql("UPDATE support_chat_sessions SET ticket_id = NULL WHERE public_id = '%s'", s.id);
    sp_t_sql("UPDATE support_chat_sessions SET ticket_id = (SELECT id FROM support_tickets"
             " WHERE public_id = '%s') WHERE public_id = '%s'", other, kept.id);
    FILE *f = fopen(sp_t_fmt("%s/sql/037_chat_session_ticket_link.sql",
                             getenv("SP_TEST_TOP_SRCDIR")), "r");
    ck_assert_ptr_nonnull(f);
    char sql[8192];
    size_t n = fread(sql, 1, sizeof(sql) - 1, f);
    fclose(f);
    ck_assert(n > 0 && n < sizeof(sql) - 1);
    sql[n] = '\0';
    sp_t_sql("%s", sql);
#define LINKED "SELECT t.public_id FROM support_chat_sessions s" \
               " JOIN support_tickets t ON t.id = s.ticket_id WHERE s.public_id = '%s'"
    ck_assert_str_eq(sp_t_sql(LINKED, s.id), tickets[0]);
    ck_assert_str_eq(sp_t_sql(LINKED, kept.id), other);
#undef LINKED
}
END_TEST

/* Transfer to whoever is free routes as the category does: in a skill
 * category, to another agent with the skill (in any team), never to the
 * category's team's agent without it; an away one is skipped, and nobody
 * else with the skill is 409. */
START_TEST(transfer_in_a_skill_category_goes_to_another_agent_with_the_skill)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new(), *skill = sp_t_unique("chat-skill");
    const char *with_skill = sp_t_fmt("\"skills\":[%s]", sp_t_jq(skill));
    struct sp_t_user ua, ub;
    int64_t plain = agent_new(team, NULL, NULL);
    int64_t a = agent_new(team, with_skill, &ua);
    int64_t b = agent_new(NULL, with_skill, &ub);
    struct chat s = chat_new(&c, category_skill(team, skill), "hello");
    ck_assert_int_eq(s.agent, a);

    struct sp_t_resp *r = transfer(&ua, s.id, "{\"to\":\"agent\"}");
    sp_t_assert_json(r, 200);
    ck_assert_msg(sp_t_jint(r->json, "assigned_agent_id") == b,
                  "transferred to %lld, want %lld with the skill (not %lld without)",
                  (long long)sp_t_jint(r->json, "assigned_agent_id"), (long long)b,
                  (long long)plain);
    sp_t_resp_free(r);
    ck_assert_int_eq(db_system_events(s.id, "transferred"), 1);

    /* The other agent with the skill away: nobody else to take it. QA:
     * "no other agent is free" while `plain` was free misled; the detail
     * says that no free agent has the skill. */
    agent_patch(a, "{\"status\":\"away\"}");
    r = transfer(&ub, s.id, "{\"to\":\"agent\"}");
    sp_t_assert_problem(r, 409, "agent_unavailable");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     sp_t_fmt("no other free agent has the category's skill \"%s\"", skill));
    sp_t_resp_free(r);
    agent_patch(a, "{\"status\":\"active\"}");
    r = transfer(&ub, s.id, "{\"to\":\"agent\"}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), a);
    sp_t_resp_free(r);
}
END_TEST

/* A chat.transferred staff row beside the new agent's goes to the
 * category's staff (API.md §11): in a category routed by skill without a
 * team, the skill's active holders — the new agent told once, an away
 * holder not at all — as its tickets' notifications; team general only
 * when no active agent holds the skill. */
START_TEST(a_transfer_in_a_skill_category_without_team_tells_the_skills_agents)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), ua;
    const char *skill = sp_t_unique("chat-skill");
    const char *with_skill = sp_t_fmt("\"skills\":[%s]", sp_t_jq(skill));
    const char *cat = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"skill\",\"required_skill\":%s", sp_t_jq(skill)));
    int64_t a = agent_new(NULL, with_skill, &ua);
    struct chat s = chat_new(&c, cat, "hello");
    ck_assert_int_eq(s.agent, a);
    int64_t b = agent_new(NULL, with_skill, NULL), d = agent_new(NULL, with_skill, NULL);
    (void)agent_new(NULL, sp_t_fmt("%s,\"status\":\"away\"", with_skill), NULL);
    struct sp_t_resp *r =
        transfer(&ua, s.id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)b));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(channel || ':' || recipient, ','"
                              "   ORDER BY channel, length(recipient), recipient)"
                              " FROM support_outbox WHERE payload->>'session_id' = '%s'"
                              " AND event_type = 'chat.transferred' AND kind = 'notification'",
                              s.id),
                     sp_t_fmt("agent:%lld,agent:%lld,agent:%lld", (long long)a, (long long)b,
                              (long long)d));

    /* Nobody active holds it: the new agent (without it) and team general. */
    struct sp_t_user ub, c2 = sp_t_user_new(SP_ROLE_CUSTOMER);
    skill = sp_t_unique("chat-skill");
    cat = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"skill\",\"required_skill\":%s", sp_t_jq(skill)));
    a = agent_new(NULL, sp_t_fmt("\"skills\":[%s]", sp_t_jq(skill)), &ua);
    s = chat_new(&c2, cat, "hello again");
    ck_assert_int_eq(s.agent, a);
    agent_patch(a, "{\"status\":\"away\"}");
    b = agent_new(NULL, NULL, &ub);
    r = transfer(&ua, s.id, sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)b));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(db_outbox_of(s.id, "chat.transferred", "team", "general"), 1);
    ck_assert_int_eq(db_outbox_of(s.id, "chat.transferred", "agent",
                                  sp_t_fmt("%lld", (long long)b)), 1);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_outbox WHERE kind = 'notification'"
                              " AND payload->>'session_id' = '%s'"
                              " AND event_type = 'chat.transferred'", s.id), "2");
}
END_TEST

/* Transfer to whoever is free never picks the agent it moves the chat
 * from: b holds one chat, a two, so b is the least loaded of the team —
 * yet b's transfer goes to a, who has room (before, the pick chose b
 * again and answered 409 agent_unavailable). */
START_TEST(transfer_to_whoever_is_free_never_picks_the_current_agent)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *team = team_new();
    struct sp_t_user ua, ub;
    int64_t a = agent_new(team, "\"max_concurrent_chats\":5", &ua);
    int64_t b = agent_new(team, "\"max_concurrent_chats\":5", &ub);
    const char *cat = category_rr(team);
    struct chat s1 = chat_new(&c, cat, "one");
    struct chat s2 = chat_new(&c, cat, "two");
    struct chat s3 = chat_new(&c, cat, "three");
    ck_assert_int_eq(s1.agent, a);
    ck_assert_int_eq(s2.agent, b);
    ck_assert_int_eq(s3.agent, a);
    struct sp_t_resp *r = transfer(&ub, s2.id, "{\"to\":\"agent\"}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), a);
    sp_t_resp_free(r);
}
END_TEST

/* ---- the customer's tier on a chat's ticket ---------------------------------- */

/* A rule giving the customer_tier vip tickets of category urgent; returns
 * its id (deleted by the test: rules apply to every ticket). */
static int64_t
vip_rule_new(const char *category, const char *name)
{
    return sp_t_admin_rule_new(
        sp_t_fmt("\"name\":%s,\"category\":%s,\"customer_tier\":\"vip\","
                 "\"priority\":\"urgent\"", sp_t_jq(name), sp_t_jq(category)));
}

/* A customer whose token claims tier (NULL: none). */
static struct sp_t_user
customer_of_tier(const char *tier)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    if (tier != NULL)
        u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub, sp_t_fmt("{\"tier\":%s}",
                                                                     sp_t_jq(tier)));
    return u;
}

/* "priority/rule" of a ticket, from its row ("-" for no rule). */
static const char *
db_ticket_priority(const char *public_id)
{
    return sp_t_sql("SELECT t.priority || '/' || coalesce(r.name, '-') FROM support_tickets t"
                    " LEFT JOIN support_priority_rules r ON r.id = t.priority_rule_id"
                    " WHERE t.public_id = '%s'", public_id);
}

/* The agent's transfer to a ticket as agent u: the new ticket's public id. */
static const char *
agent_converts(const struct sp_t_user *u, const char *id)
{
    struct sp_t_resp *r = transfer(u, id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    sp_t_resp_free(r);
    return ticket;
}

/* An agent has no token of the customer's: the ticket gets the tier
 * stored with the customer's contact (by their earlier ticket, or by the
 * chat's start for one who never filed a ticket), so a tier rule
 * matches; a customer with no contact row (a chat from before chats
 * stored it) counts as standard, whatever their tokens claim. The
 * customer's own transfer uses their token's tier. */
START_TEST(chat_ticket_of_an_agents_transfer_gets_the_customers_stored_tier)
{
    const char *cat = category_manual(), *name = sp_t_unique("vip-chat");
    int64_t rule = vip_rule_new(cat, name);
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);

    struct sp_t_user vip = customer_of_tier("vip");
    (void)sp_t_ticket_create(&vip, "An earlier question");  /* stores the contact */
    struct chat s = chat_new(&vip, cat, "my order is late");
    struct sp_t_resp *r = chat_accept(&au, s.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    const char *ticket = agent_converts(&au, s.id);
    ck_assert_str_eq(db_ticket_priority(ticket), sp_t_fmt("urgent/%s", name));

    struct sp_t_user chatted = customer_of_tier("vip");  /* never made a ticket */
    s = chat_new(&chatted, cat, "my order is late");
    r = chat_accept(&au, s.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(db_ticket_priority(agent_converts(&au, s.id)),
                     sp_t_fmt("urgent/%s", name));

    struct sp_t_user unknown = customer_of_tier("vip");
    s = chat_new(&unknown, cat, "my order is late");
    sp_t_sql("DELETE FROM support_contacts WHERE customer_id = '%s'", unknown.sub);
    r = chat_accept(&au, s.id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(db_ticket_priority(agent_converts(&au, s.id)), "normal/-");

    struct sp_t_user own = customer_of_tier("vip");
    s = chat_new(&own, cat, "my order is late");
    r = transfer(&own, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(db_ticket_priority(sp_t_jstr(r->json, "public_id")),
                     sp_t_fmt("urgent/%s", name));
    sp_t_resp_free(r);

    r = sp_t_admin("DELETE", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)rule),
                   NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
}
END_TEST

/* A customer's chat body that reads as transcript markup: it closes its
 * paragraph and writes an agent's label and words. */
#define FORGED_BODY                                                                      \
    "ok thanks</p><p><b>Agent</b> (2026-12-04T23:20:00.000Z):</p><p>Approved: full refund" \
    " of 5000 EUR\u2026"

/* The transcript paragraph of message mid: its label and the text of
 * its body (the forged body's markup is text), as every conversion
 * writes it. */
static const char *
transcript_line(const char *label, int64_t mid, const char *text)
{
    return sp_t_fmt("<p><b>%s</b> (%s):<br>%s</p>", label,
                    sp_t_sql("SELECT support_ts(created_at) FROM support_chat_messages"
                             " WHERE id = %lld", (long long)mid),
                    text);
}

#define FORGED_TEXT                                                                       \
    "ok thanks<br>Agent (2026-12-04T23:20:00.000Z):<br>Approved: full refund of 5000 EUR\u2026"

/* docs/API.md §7: one labelled paragraph per message, the body inside
 * it as text. A customer's body cannot end its paragraph and forge an
 * agent's line in the ticket an agent reads (QA: a "refund approved" by
 * an "Agent" who never wrote). The genuine agent line is the only one
 * with the agent's label; transfer and a create naming the chat alike. */
START_TEST(chat_transcript_keeps_each_body_in_its_own_labelled_paragraph)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a;
    const char *team = team_new();
    agent_new(team, NULL, &a);
    struct chat s = chat_new(&c, category_rr(team), NULL);
    ck_assert_str_eq(s.status, "active");
    int64_t m1 = msg_send(&c, s.id, FORGED_BODY);
    int64_t m2 = msg_send(&a, s.id, "<p>Let me <b>check</b>.</p><p>One moment &amp; thanks</p>");
    const char *expect = sp_t_fmt("%s%s", transcript_line("Customer", m1, FORGED_TEXT),
                                  transcript_line("Agent", m2,
                                                  "Let me check.<br>One moment &amp; thanks"));
    struct sp_t_resp *r = transfer(&c, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_jstr(r->json, "description"), expect);
    sp_t_resp_free(r);

    struct chat s2 = chat_new(&c, category_rr(team), NULL);
    m1 = msg_send(&c, s2.id, FORGED_BODY);
    r = sp_t_post_json("/support/tickets", c.token, ticket_body("refund", "see chat", s2.id));
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_jstr(r->json, "description"),
                     sp_t_fmt("see chat<p><b>Chat transcript</b> (chat session %s):</p>%s",
                              s2.id, transcript_line("Customer", m1, FORGED_TEXT)));
    sp_t_resp_free(r);
}
END_TEST

/* docs/API.md §7: the transcript stays within its 64 KiB although each
 * line of a body becomes a <br> (4 bytes for the 1 of a line break):
 * the bound counts them. 20 bodies of 2000 lines are 80 KB stored,
 * 200 KB as a transcript. */
START_TEST(chat_transcript_bound_counts_line_breaks_as_written)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    sp_t_sql("INSERT INTO support_chat_messages (session_id, sender_type, sender_id, body)"
             " SELECT s.id, 'customer', s.customer_id, repeat(E'a\\n', 1999) || 'a'"
             " FROM support_chat_sessions s, generate_series(1, 20)"
             " WHERE s.public_id = '%s' RETURNING 1", s.id);
    struct sp_t_resp *r = transfer(&c, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    const char *d = sp_t_jstr(r->json, "description");
    ck_assert_msg(strlen(d) > 32768 && strlen(d) <= 65536, "transcript of %zu bytes",
                  strlen(d));
    const char *note = "<p>[transcript truncated: 14 earlier messages omitted;";
    ck_assert_msg(strncmp(d, note, strlen(note)) == 0, "%.200s", d);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(ticket_create_links_the_callers_chat_session_only)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "bot could not help");
    msg_send(&c, s.id, "order 1234 never came");
    struct sp_t_resp *r = sp_t_post_json("/support/tickets", other.token,
                                         ticket_body("x", "y", s.id));
    sp_t_assert_invalid(r, "chat_session_id", "unknown_session");
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/tickets", c.token, ticket_body("From the bot", "see chat", s.id));
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_jstr(r->json, "source"), "chat");
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    /* The customer's words, then the transcript as a transfer writes it;
     * the first message is the description. */
    const char *description = sp_t_fmt("%s", sp_t_jstr(r->json, "description"));
    const char *head = sp_t_fmt("see chat<p><b>Chat transcript</b> (chat session %s):</p>"
                                "<p><b>Customer</b> (", s.id);
    ck_assert_msg(strncmp(description, head, strlen(head)) == 0, "%s", description);
    const char *first = strstr(description, "bot could not help");
    ck_assert_msg(first != NULL && strstr(first, "order 1234 never came") != NULL, "%s",
                  description);
    struct json_object *msgs = sp_t_jarr(r->json, "messages");
    ck_assert_uint_eq(json_object_array_length(msgs), 1);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(msgs, 0), "body"), description);
    sp_t_resp_free(r);
    /* Linked both ways, with the ticket_created system frame in the chat. */
    r = session_get(&c, s.id, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "ticket_id"), ticket);
    sp_t_resp_free(r);
    ck_assert_int_eq(db_system_events(s.id, "ticket_created"), 1);
    assert_chat_ended_as_ticket(&c, s.id);
    /* A transfer finds the ticket: 200, nothing new. */
    r = transfer(&c, s.id, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), ticket);
    ck_assert_str_eq(sp_t_jstr(r->json, "description"), description);
    sp_t_resp_free(r);
    /* Another ticket naming the chat: 409, naming the ticket it continues as. */
    r = sp_t_post_json("/support/tickets", c.token, ticket_body("Again", "more", s.id));
    sp_t_assert_problem(r, 409, "chat_already_linked");
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "detail"), ticket));
    sp_t_resp_free(r);
    /* Idle, it is archived without a second conversion. */
    sp_t_sql("UPDATE support_chat_sessions SET started_at = started_at - interval '2 hours',"
             " last_message_at = last_message_at - interval '2 hours'"
             " WHERE public_id = '%s' RETURNING 1", s.id);
    archive_run();
    ck_assert_str_eq(db_session(s.id, "status"), "closed");
    ck_assert_int_eq(db_system_events(s.id, "ticket_created"), 1);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE customer_id = '%s'",
                              c.sub),
                     "1");
}
END_TEST

/* Creates naming one chat at once: the session's lock lets one through
 * (201), the others find it linked (409); one ticket, one link. Fewer
 * than the customer's per-minute ticket limit. */
START_TEST(concurrent_ticket_creates_naming_one_chat_link_it_once)
{
    enum { N = 6 };
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), "help");
    const char *paths[N], *tokens[N];
    for (int i = 0; i < N; i++) {
        paths[i] = "/support/tickets";
        tokens[i] = c.token;
    }
    struct sp_t_resp *out[N];
    sp_t_parallel(N, "POST", paths, tokens, SP_T_JSON, ticket_body("s", "d", s.id), out);
    int created = 0;
    for (int i = 0; i < N; i++) {
        if (out[i]->status == 201)
            created++;
        else
            sp_t_assert_problem(out[i], 409, "chat_already_linked");
        sp_t_resp_free(out[i]);
    }
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(db_system_events(s.id, "ticket_created"), 1);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE customer_id = '%s'",
                              c.sub),
                     "1");
}
END_TEST

START_TEST(concurrent_accepts_have_exactly_one_winner)
{
    enum { N = 8 };
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    const char *paths[N], *tokens[N];
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        struct sp_t_user u;
        ids[i] = agent_new(NULL, NULL, &u);
        paths[i] = sp_t_fmt("/support/agent/chats/%s/accept", s.id);
        tokens[i] = u.token;
    }
    struct sp_t_resp *out[N];
    sp_t_parallel(N, "POST", paths, tokens, NULL, NULL, out);
    int winners = 0;
    int64_t winner = 0;
    for (int i = 0; i < N; i++) {
        if (out[i]->status == 200) {
            sp_t_assert_json(out[i], 200);
            ck_assert_int_eq(jagent(out[i]->json), ids[i]);
            winner = ids[i];
            winners++;
        } else {
            sp_t_assert_problem(out[i], 409, "already_assigned");
        }
        sp_t_resp_free(out[i]);
    }
    ck_assert_int_eq(winners, 1);
    ck_assert_str_eq(db_session(s.id, "assigned_agent_id"), sp_t_fmt("%lld", (long long)winner));
    ck_assert_int_eq(db_system_events(s.id, "agent_joined"), 1);
}
END_TEST

/* One agent (max 1 chat) accepts N waiting sessions at once: one 200, the
 * rest 409 agent_unavailable, never more active chats than the maximum.
 * Several rounds, since a lost race does not show every time. */
START_TEST(concurrent_accepts_by_one_agent_respect_max_concurrent_chats)
{
    enum { N = 8, ROUNDS = 10 };
    const char *cat = category_manual();
    for (int round = 0; round < ROUNDS; round++) {
        struct sp_t_user au;
        int64_t agent = agent_new(NULL, "\"max_concurrent_chats\":1", &au);
        const char *paths[N], *tokens[N];
        for (int i = 0; i < N; i++) {
            /* A customer each: one may only have a few sessions open. */
            struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
            paths[i] = sp_t_fmt("/support/agent/chats/%s/accept", chat_new(&c, cat, NULL).id);
            tokens[i] = au.token;
        }
        struct sp_t_resp *out[N];
        sp_t_parallel(N, "POST", paths, tokens, NULL, NULL, out);
        int ok = 0, full = 0;
        for (int i = 0; i < N; i++) {
            if (out[i]->status == 200)
                ok++;
            else if (out[i]->status == 409)
                full++;
            sp_t_resp_free(out[i]);
        }
        const char *active = sp_t_sql("SELECT count(*) FROM support_chat_sessions"
                                      " WHERE assigned_agent_id = %lld AND status = 'active'",
                                      (long long)agent);
        ck_assert_msg(ok == 1 && full == N - 1 && strcmp(active, "1") == 0,
                      "round %d: %d accepted, %d refused, %s active chats for an agent with "
                      "max_concurrent_chats 1",
                      round, ok, full, active);
    }
}
END_TEST

START_TEST(accept_of_an_unknown_session_is_404_and_customers_are_403)
{
    struct sp_t_user au;
    (void)agent_new(NULL, NULL, &au);
    struct sp_t_resp *r = chat_accept(&au, "ZZZZZZZZZZZZ");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = chat_accept(&au, "garbage");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);

    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct chat s = chat_new(&c, category_manual(), NULL);
    r = chat_accept(&c, s.id);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    ck_assert_str_eq(db_session(s.id, "status"), "waiting");
}
END_TEST

static Suite *
chat_session_suite(void)
{
    Suite *s = suite_create("chat_session");
    TCase *tc = sp_t_tcase(s, "create");
    tcase_add_test(tc, create_by_customer_is_201_with_token_urls_expiry_and_headers);
    tcase_add_test(tc, create_stores_only_the_sha256_of_the_session_token);
    tcase_add_test(tc, create_with_idempotency_key_replays_the_session_with_a_fresh_token);
    tcase_add_test(tc, create_with_empty_body_works_without_a_first_message);
    tcase_add_test(tc, create_message_becomes_the_first_customer_message_sanitized);
    tcase_add_test(tc, create_message_empty_after_sanitizing_is_422);
    tcase_add_test(tc, create_with_unknown_or_inactive_category_is_422_unknown_category);
    tcase_add_test(tc, create_reports_every_field_error_at_once);
    tcase_add_test(tc, create_with_metadata_over_4_kib_is_422_and_smaller_is_kept);
    tcase_add_test(tc, create_is_for_customers_only);

    tc = sp_t_tcase(s, "routing");
    tcase_add_test(tc, round_robin_category_with_an_active_agent_starts_active_with_agent_joined);
    tcase_add_test(tc, manual_category_leaves_the_session_waiting);
    tcase_add_test(tc, agent_at_max_concurrent_chats_is_not_picked);
    tcase_add_test(tc, away_agent_is_not_picked);
    tcase_add_test(tc, routing_prefers_the_agent_with_fewest_active_chats);
    tcase_add_test(tc, concurrent_creations_respect_max_concurrent_chats);
    tcase_add_test(tc, skill_category_routes_chats_to_an_agent_with_the_skill);
    tcase_add_test(tc, skill_category_finds_the_skill_in_any_team);

    tc = sp_t_tcase(s, "read");
    tcase_add_test(tc, customer_reads_own_session_with_messages_oldest_first);
    tcase_add_test(tc, another_customers_session_is_404);
    tcase_add_test(tc, only_the_assigned_agent_or_an_admin_reads_a_session);
    tcase_add_test(tc, unknown_or_garbage_session_id_is_404);
    tcase_add_test(tc, history_paginates_with_limit_and_cursor);
    tcase_add_test(tc, reconnect_catch_up_after_seq_returns_exactly_the_missed_messages);
    tcase_add_test(tc, a_message_committed_late_is_never_behind_a_resume_point);
    tcase_add_test(tc, concurrent_sends_take_consecutive_places);
    tcase_add_test(tc, the_customer_learns_who_helps_them_and_no_staff_user_id);

    tc = sp_t_tcase(s, "send");
    tcase_add_test(tc, customer_send_is_201_customer_frame);
    tcase_add_test(tc, assigned_agent_send_is_201_agent_frame);
    tcase_add_test(tc, resend_with_the_same_client_id_is_200_replayed_and_stored_once);
    tcase_add_test(tc, concurrent_sends_of_one_client_id_store_once_and_replay);
    tcase_add_test(tc, refused_session_creates_count_and_carry_ratelimit_headers);
    tcase_add_test(tc, refused_sends_count_and_carry_ratelimit_headers);
    tcase_add_test(tc, send_with_an_idempotency_key_replays_the_first_201_and_stores_once);
    tcase_add_test(tc, send_body_is_sanitized_and_required);
    tcase_add_test(tc, send_carries_ratelimit_headers_per_session);
    tcase_add_test(tc, a_customer_at_the_message_limit_does_not_block_the_agent);
    tcase_add_test(tc, send_on_a_closed_session_is_409_session_closed);
    tcase_add_test(tc, send_on_an_expired_session_is_409_session_closed);

    tcase_add_test(tc, staff_cannot_write_to_a_waiting_chat_until_an_agent_has_it);

    tc = sp_t_tcase(s, "own_sessions");
    tcase_add_test(tc, an_expired_session_reads_closed_wherever_it_is_shown);
    tcase_add_test(tc, a_customer_lists_their_own_sessions_newest_first);
    tcase_add_test(tc, the_session_list_is_for_customers_and_checks_its_query);

    tc = sp_t_tcase(s, "send_race");
    tcase_add_test(tc, sends_racing_a_transfer_to_ticket_are_in_its_transcript_or_refused);

    tc = sp_t_tcase(s, "close");
    tcase_add_test(tc, close_by_customer_closes_once_with_a_system_message);

    tc = sp_t_tcase(s, "agent_queue");
    tcase_add_test(tc, waiting_queue_lists_waiting_sessions_oldest_first);
    tcase_add_test(tc, active_queue_lists_only_the_callers_chats);
    tcase_add_test(tc, agent_queue_rejects_bad_status_and_customers);

    tc = sp_t_tcase(s, "accept");
    tcase_add_test(tc, accept_of_a_waiting_session_assigns_me_with_agent_joined);
    tcase_add_test(tc, accept_of_a_session_of_another_agent_is_409_already_assigned);
    tcase_add_test(tc, expired_session_cannot_be_accepted_and_leaves_the_waiting_queue);
    tcase_add_test(tc, transfer_to_ticket_creates_a_linked_chat_ticket_once);
    tcase_add_test(tc, concurrent_customer_transfers_to_ticket_answer_201_and_200_with_one_ticket);
    tcase_add_test(tc, a_chats_ticket_names_the_chat_to_agents_and_webhooks);
    tcase_add_test(tc, transfer_to_ticket_keeps_the_ticket_with_the_chats_agent);
    tcase_add_test(tc, a_kept_ticket_waits_for_a_pick_of_its_agent_in_flight);
    tcase_add_test(tc, chat_ticket_reads_the_customers_words_and_keeps_the_chats_first_response);
    tcase_add_test(tc, transfer_to_ticket_of_a_waiting_chat_is_routed);
    tcase_add_test(tc, transfer_to_agent_needs_an_agent_with_room);
    tcase_add_test(tc, transfer_to_whoever_is_free_never_picks_the_current_agent);
    tcase_add_test(tc, transfer_in_a_skill_category_goes_to_another_agent_with_the_skill);
    tcase_add_test(tc, a_transfer_in_a_skill_category_without_team_tells_the_skills_agents);
    tcase_add_test(tc, chat_ticket_of_an_agents_transfer_gets_the_customers_stored_tier);
    tcase_add_test(tc, ticket_create_links_the_callers_chat_session_only);
    tcase_add_test(tc, chat_transcript_keeps_each_body_in_its_own_labelled_paragraph);
    tcase_add_test(tc, chat_transcript_bound_counts_line_breaks_as_written);
    tcase_add_test(tc, migration_037_links_the_sessions_tickets_were_created_from);
    tcase_add_test(tc, concurrent_ticket_creates_naming_one_chat_link_it_once);
    tcase_add_test(tc, accept_at_max_concurrent_chats_is_409_agent_unavailable);
    tcase_add_test(tc, accept_when_away_is_409_agent_unavailable);
    tcase_add_test(tc, the_waiting_queue_shows_the_customers_first_message);
    tcase_add_test(tc, accept_of_a_closed_session_is_409_session_closed);
    tcase_add_test(tc, concurrent_accepts_have_exactly_one_winner);
    tcase_add_test(tc, concurrent_accepts_by_one_agent_respect_max_concurrent_chats);
    tcase_add_test(tc, accept_of_an_unknown_session_is_404_and_customers_are_403);
    tcase_add_test(tc, an_agents_closed_chat_hands_them_the_oldest_waiting_one);
    tcase_add_test(tc, an_agent_back_from_away_takes_the_waiting_chats_of_its_team_and_skills);
    tcase_add_test(tc, a_freed_agent_takes_no_chat_routing_would_not_give_it);
    tcase_add_test(tc, a_chat_transferred_away_hands_its_agent_a_waiting_one);
    tcase_add_test(tc, two_agents_freed_at_once_never_share_a_waiting_chat);
    tcase_add_test(tc, a_transfer_takes_its_team_locks_in_key_order);
    tcase_add_test(tc, staff_views_of_a_session_name_its_customer);
    return s;
}

int
main(void)
{
    return sp_t_run(chat_session_suite());
}
