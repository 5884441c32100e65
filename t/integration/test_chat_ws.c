/*
 * test_chat_ws: the live chat transport through real nginx + nchan and
 * support-chat (API.md §7, docs/chat-transport.md).
 *
 * A websocket client (t/integration/chat_client.py on Debian's
 * python3-websockets, run with popen; it prints what it receives as JSON
 * lines) connects to /support/chat/connect. The customer (JWT + session
 * token) and the assigned agent (JWT in Authorization) exchange messages
 * both ways and each receives every stored frame, with its id, the sender
 * included. Bad or missing session tokens, another customer's session and
 * an agent who is not assigned are refused before the upgrade (403; no
 * JWT: 401). An invalid frame gets an error frame on the sender's private
 * channel and the socket stays open. Messages sent over the HTTP fallback
 * reach websocket and EventSource subscribers (server-side publish from
 * support-api), once: an Idempotency-Key replay publishes nothing.
 */
#include "chat_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- arranging -------------------------------------------------------------- */


/* The client's verdict on a refused handshake: the HTTP status. */
static long
ws_rejected_status(const char *url, const char *extra)
{
    FILE *f = sp_t_ws_client(url, extra);
    struct json_object *o = sp_t_ws_next(f);
    long status = -1;
    if (strcmp(sp_t_ws_event(o), "rejected") == 0) {
        struct json_object *s;
        if (json_object_object_get_ex(o, "status", &s))
            status = json_object_get_int(s);
    } else {
        status = 101;
    }
    json_object_put(o);
    pclose(f);
    return status;
}

static const char *
auth_header(const struct sp_t_user *u)
{
    return sp_t_fmt("--header %s", sp_t_shq(sp_t_fmt("Authorization: Bearer %s", u->token)));
}

/* u's agents row id, as text: how frames name a staff member. */
static const char *
agent_id_of(const struct sp_t_user *u)
{
    return sp_t_sql("SELECT id FROM support_agents WHERE user_id = '%s'", u->sub);
}

/* Every frame from staff among frames (message, typing, presence) names
 * the agent by agents row id in sender_id and agent_id, never by the user
 * id; how many there are. */
static int
staff_frames_by_agent_id(struct json_object *frames, const char *agent_id)
{
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(frames); i++) {
        struct json_object *f = json_object_array_get_idx(frames, i), *st;
        if (!json_object_object_get_ex(f, "sender_type", &st) ||
            strcmp(json_object_get_string(st), "agent") != 0)
            continue;
        ck_assert_msg(strcmp(sp_t_jstr(f, "sender_id"), agent_id) == 0 &&
                          sp_t_jint(f, "agent_id") == atoll(agent_id),
                      "want agent %s: %s", agent_id, json_object_to_json_string(f));
        n++;
    }
    return n;
}

static const char *
ready_path(void)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *p = sp_t_fmt("%s/%s", dir, sp_t_unique("chat-ws-ready"));
    unlink(p);
    return p;
}

/* The frames of client f (opened), one of them an error frame with code;
 * returns them all (the caller puts them). */
static struct json_object *
drain_with_error(FILE *f, const char *code)
{
    struct json_object *frames = sp_t_ws_drain(f);
    struct json_object *e = sp_t_chat_frame(frames, "error", NULL);
    ck_assert_msg(e != NULL, "no error frame: %s", json_object_to_json_string(frames));
    ck_assert_str_eq(sp_t_jstr(e, "code"), code);
    return frames;
}

/* Connects to url, sends the frames of args (chat_client arguments) and
 * expects `expect` frames back, one of them an error frame with code;
 * returns them all (the caller puts them). */
static struct json_object *
url_frames_with_error(const char *url, const char *args, int expect, const char *code)
{
    FILE *f = sp_t_ws_client(url, sp_t_fmt("%s --expect %d --timeout 10", args, expect));
    sp_t_ws_expect_open(f);
    return drain_with_error(f, code);
}

/* ---- tests ------------------------------------------------------------------------ */

START_TEST(customer_and_agent_exchange_stored_frames_over_websocket)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *ready = ready_path();
    const char *cid1 = sp_t_unique("cid");
    const char *m1 = sp_t_fmt("{\"type\":\"message\",\"body\":\"Hello <b>agent</b><script>x()</script>\","
                              "\"client_id\":\"%s\"}", cid1);
    const char *m2 = "{\"type\":\"message\",\"body\":\"Hi, how can I help?\"}";
    FILE *cust = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, sp_t_fmt("%s", c.customer.token)),
                           sp_t_fmt("--send %s --send-when %s --expect 4 --timeout 10",
                                    sp_t_shq(m1), sp_t_shq(ready)));
    sp_t_ws_expect_open(cust);
    FILE *agent = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                            sp_t_fmt("%s --send %s --send %s --send-when %s --expect 4 --timeout 10",
                                     auth_header(&c.agent), sp_t_shq(m2),
                                     sp_t_shq("{\"type\":\"typing\",\"state\":true,\"sender_type\":\"system\"}"),
                                     sp_t_shq(ready)));
    sp_t_ws_expect_open(agent);
    usleep(300 * 1000);
    /* 4 frames each: the two messages, typing, and a presence frame (the
     * customer learns the agent came online, the agent that the customer
     * is there). */
    FILE *touch = fopen(ready, "w");
    ck_assert_ptr_nonnull(touch);
    fclose(touch);
    struct json_object *fc = sp_t_ws_drain(cust), *fa = sp_t_ws_drain(agent);
    unlink(ready);
    struct json_object *sets[2] = {fc, fa};
    for (int i = 0; i < 2; i++) {
        struct json_object *a = sp_t_chat_frame(sets[i], "message", "Hello <b>agent</b>");
        ck_assert_msg(a != NULL, "customer message missing: %s", json_object_to_json_string(sets[i]));
        ck_assert_int_gt(sp_t_jint(a, "id"), 0);
        ck_assert_str_eq(sp_t_jstr(a, "sender_type"), "customer");
        ck_assert_str_eq(sp_t_jstr(a, "sender_id"), c.customer.sub);
        ck_assert_str_eq(sp_t_jstr(a, "session_id"), c.id);
        ck_assert_str_eq(sp_t_jstr(a, "client_id"), cid1);
        sp_t_assert_timestamp(sp_t_jstr(a, "created_at"));
        struct json_object *b = sp_t_chat_frame(sets[i], "message", "Hi, how can I help?");
        ck_assert_msg(b != NULL, "agent message missing: %s", json_object_to_json_string(sets[i]));
        ck_assert_int_gt(sp_t_jint(b, "id"), 0);
        ck_assert_str_eq(sp_t_jstr(b, "sender_type"), "agent");
        /* both hear the agent by agent id, as assigned_agent_id, never by
         * the staff user id (QA); the two messages, sent at once, took
         * consecutive places */
        const char *agent_id = agent_id_of(&c.agent);
        ck_assert_str_eq(sp_t_jstr(b, "sender_id"), agent_id);
        ck_assert_int_eq(sp_t_jint(b, "agent_id"), atoll(agent_id));
        ck_assert_int_eq(llabs(sp_t_jint(b, "seq") - sp_t_jint(a, "seq")), 1);
        /* typing is re-rendered: the client cannot choose sender_type */
        struct json_object *t = sp_t_chat_frame(sets[i], "typing", NULL);
        ck_assert_msg(t != NULL, "typing missing: %s", json_object_to_json_string(sets[i]));
        ck_assert_str_eq(sp_t_jstr(t, "sender_type"), "agent");
    }
    /* QA: the typing and presence frames named the agent by the staff
     * user id while messages named it by agent id: the customer hears all
     * three (message, typing, presence) by agent id. */
    ck_assert_int_eq(staff_frames_by_agent_id(fc, agent_id_of(&c.agent)), 3);
    /* Both are stored, in the history. */
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/chat/session/%s", c.id), c.customer.token);
    sp_t_assert_json(r, 200);
    struct json_object *msgs = sp_t_jarr(r->json, "messages");
    int found = 0;
    for (size_t i = 0; i < json_object_array_length(msgs); i++) {
        const char *body = sp_t_jstr(json_object_array_get_idx(msgs, i), "body");
        if (body && (strcmp(body, "Hello <b>agent</b>") == 0 || strcmp(body, "Hi, how can I help?") == 0))
            found++;
    }
    ck_assert_int_eq(found, 2);
    sp_t_resp_free(r);
    json_object_put(fc);
    json_object_put(fa);
}
END_TEST

/* QA: a message sent while the chat became a ticket was stored after its
 * `closed` message and never reached the ticket; the frame path the same
 * as the HTTP send. Customer sockets send frames while an admin
 * transfers the chat: every stored customer message is in the ticket's
 * transcript and none follows the `closed` message. Kept small: the
 * transfer cuts sockets whose frames' hooks are in flight, nchan 1.3.6's
 * known crash (docs/chat-transport.md §15), which a larger race provoked
 * on a loaded machine; test_chat_session races 25 HTTP sends per round
 * against the same lock. */
START_TEST(frames_racing_a_transfer_to_ticket_are_in_its_transcript_or_not_stored)
{
    enum { SOCKETS = 3, FRAMES = 2, ROUNDS = 2 };
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    int kept = 0;   /* stored messages, all rounds: the race was run */
    for (int round = 0; round < ROUNDS; round++) {
        struct sp_t_chat c = sp_t_chat_active();
        const char *ready = ready_path();
        FILE *clients[SOCKETS];
        for (int i = 0; i < SOCKETS; i++) {
            const char *sends = "";
            for (int j = 0; j < FRAMES; j++)
                sends = sp_t_fmt("%s --send %s", sends,
                                 sp_t_shq(sp_t_fmt("{\"type\":\"message\",\"body\":"
                                                   "\"r%d-s%d-f%d-end\"}", round, i, j)));
            clients[i] = sp_t_ws_client(
                sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                sp_t_fmt("%s --send-when %s --expect 1000 --timeout 6", sends, sp_t_shq(ready)));
            sp_t_ws_expect_open(clients[i]);
        }
        FILE *touch = fopen(ready, "w");
        ck_assert_ptr_nonnull(touch);
        fclose(touch);
        usleep(20 * 1000);
        struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", c.id),
                                             admin.token, "{\"to\":\"ticket\"}");
        sp_t_assert_json(r, 201);
        const char *transcript = sp_t_fmt("%s", sp_t_jstr(r->json, "description"));
        sp_t_resp_free(r);
        for (int i = 0; i < SOCKETS; i++) {
            bool closed;
            json_object_put(sp_t_ws_drain_to_end(clients[i], &closed));
        }
        unlink(ready);
        const char *stored = sp_t_sql(
            "SELECT coalesce(string_agg(m.body, ' '), '') FROM support_chat_messages m"
            " JOIN support_chat_sessions s ON s.id = m.session_id"
            " WHERE s.public_id = '%s' AND m.sender_type = 'customer'", c.id);
        for (const char *at = stored; *at != '\0';) {
            const char *end = strchr(at, ' ');
            const char *body = end ? sp_t_fmt("%.*s", (int)(end - at), at) : at;
            ck_assert_msg(strstr(transcript, body) != NULL,
                          "round %d: %s was stored but is not in the ticket:\n%s", round, body,
                          transcript);
            at = end ? end + 1 : at + strlen(at);
            kept++;
        }
        ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                                  " JOIN support_chat_sessions s ON s.id = m.session_id"
                                  " WHERE s.public_id = '%s' AND m.id > (SELECT max(x.id)"
                                  "   FROM support_chat_messages x WHERE x.session_id = s.id"
                                  "   AND x.payload->>'event' = 'closed')", c.id),
                         "0");
    }
    ck_assert_msg(kept > 0, "no frame was stored before a transfer");
}
END_TEST

/* Reads a raw client (chat_probe.py raw) to its end: how many data frames
 * were binary (opcode 2), and whether a text frame carried each needle.
 * Once both were heard, publishes marker to session sid's channel when
 * sid is given (the end of the clients run with --until marker). */
static int
raw_binary_frames(FILE *f, const char *needle1, const char *needle2, bool heard[2],
                  const char *sid, const char *marker)
{
    int binary = 0;
    heard[0] = heard[1] = false;
    for (;;) {
        if (sid != NULL && heard[0] && heard[1]) {
            sp_t_chat_mark(sid, NULL, marker);
            sid = NULL;
        }
        struct json_object *o = sp_t_ws_next(f);
        if (strcmp(sp_t_ws_event(o), "done") == 0) {
            json_object_put(o);
            break;
        }
        if (strcmp(sp_t_ws_event(o), "frame") == 0 && sp_t_jint(o, "opcode") != 8) {
            const char *data = sp_t_jstr(o, "data");
            binary += sp_t_jint(o, "opcode") == 2;
            heard[0] = heard[0] || (sp_t_jint(o, "opcode") == 1 && strstr(data, needle1));
            heard[1] = heard[1] || (sp_t_jint(o, "opcode") == 1 && strstr(data, needle2));
        }
        json_object_put(o);
    }
    pclose(f);
    return binary;
}

/* QA: a message or typing frame sent as a binary websocket frame was
 * relayed to every subscriber as binary (nchan keeps the client's opcode
 * for the hook's answer; a browser gets a Blob). Frames are JSON text:
 * the worker publishes them itself, as text. */
START_TEST(a_binary_client_frame_reaches_everybody_as_text)
{
    struct sp_t_chat c = sp_t_chat_active();
    /* Both read up to a marker, published once the agent heard both. */
    const char *done = sp_t_unique("done");
    FILE *agent = sp_t_chat_probe("raw", sp_t_chat_url("ws", c.id, NULL, c.agent.token),
                                  sp_t_fmt("--until %s --timeout 4", sp_t_shq(done)));
    json_object_put(sp_t_ws_next_event(agent, "open"));
    usleep(300 * 1000);
    const char *msg = "{\"type\":\"message\",\"body\":\"sent as binary\"}";
    const char *typing = "{\"type\":\"typing\",\"state\":true}";
    FILE *cust = sp_t_chat_probe("raw", sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                                 sp_t_fmt("--binary --send %s --send %s --until %s --timeout 3",
                                          sp_t_shq(msg), sp_t_shq(typing), sp_t_shq(done)));
    bool heard[2];
    int agent_binary = raw_binary_frames(agent, "sent as binary", "\"typing\"", heard, c.id,
                                         done);
    ck_assert_int_eq(agent_binary, 0);
    ck_assert_msg(heard[0] && heard[1], "the agent did not get both frames as text");
    int cust_binary = raw_binary_frames(cust, "sent as binary", "\"typing\"", heard, NULL, NULL);
    ck_assert_int_eq(cust_binary, 0);
    ck_assert_msg(heard[0], "the sender did not get its message as a text frame");
}
END_TEST

/* QA: 300 typing frames in 4 s were all relayed. At most one a second
 * per participant and state is; a stop right after the starts still is. */
START_TEST(typing_frames_are_relayed_at_most_once_a_second)
{
    struct sp_t_chat c = sp_t_chat_active();
    /* Both read up to a marker, published once the agent heard the stop. */
    const char *done = sp_t_unique("done");
    FILE *agent = sp_t_chat_probe("raw", sp_t_chat_url("ws", c.id, NULL, c.agent.token),
                                  sp_t_fmt("--until %s --timeout 5", sp_t_shq(done)));
    json_object_put(sp_t_ws_next_event(agent, "open"));
    usleep(300 * 1000);
    const char *sends = "";
    for (int i = 0; i < 30; i++)
        sends = sp_t_fmt("%s --send %s", sends, sp_t_shq("{\"type\":\"typing\",\"state\":true}"));
    sends = sp_t_fmt("%s --send %s", sends, sp_t_shq("{\"type\":\"typing\",\"state\":false}"));
    FILE *cust = sp_t_chat_probe("raw", sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                                 sp_t_fmt("%s --until %s --timeout 3", sends, sp_t_shq(done)));
    int starts = 0, stops = 0;
    for (;;) {
        if (stops == 1 && done != NULL) {
            sp_t_chat_mark(c.id, NULL, done);
            done = NULL;
        }
        struct json_object *o = sp_t_ws_next(agent);
        if (strcmp(sp_t_ws_event(o), "done") == 0) {
            json_object_put(o);
            break;
        }
        bool text = strcmp(sp_t_ws_event(o), "frame") == 0 && sp_t_jint(o, "opcode") == 1;
        struct json_object *d = text ? json_tokener_parse(sp_t_jstr(o, "data")) : NULL, *st;
        if (d != NULL && strcmp(sp_t_jstr(d, "type"), "typing") == 0 &&
            json_object_object_get_ex(d, "state", &st))
            json_object_get_boolean(st) ? starts++ : stops++;
        json_object_put(d);
        json_object_put(o);
    }
    pclose(agent);
    pclose(cust);
    ck_assert_msg(starts >= 1 && starts <= 3, "%d typing starts relayed", starts);
    ck_assert_int_eq(stops, 1);
}
END_TEST

/* A refused handshake's status, by curl: a Python client's start-up for
 * each would take most of the test's time. */
static long
refused(const char *url)
{
    return sp_t_ws_refusal_status(url, NULL);
}

START_TEST(bad_credentials_are_refused_before_the_upgrade)
{
    struct sp_t_chat c = sp_t_chat_active();
    /* wrong session token */
    ck_assert_int_eq(refused(sp_t_chat_url("ws", c.id, "00ff", c.customer.token)), 403);
    /* no session token */
    ck_assert_int_eq(refused(sp_t_chat_url("ws", c.id, NULL, c.customer.token)), 403);
    /* no JWT */
    ck_assert_int_eq(refused(sp_t_chat_url("ws", c.id, c.token, NULL)), 401);
    /* another customer, even with the session token */
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    ck_assert_int_eq(refused(sp_t_chat_url("ws", c.id, c.token, other.token)), 403);
    /* an agent who is not assigned */
    struct sp_t_chat d = sp_t_chat_active();
    ck_assert_int_eq(refused(sp_t_chat_url("ws", c.id, NULL, d.agent.token)), 403);
    /* a bad session id */
    ck_assert_int_eq(refused(sp_t_chat_url("ws", "a.b", c.token, c.customer.token)), 403);
    /* the right credentials still work (the Python client: curl would
     * hold the upgraded connection) */
    ck_assert_int_eq(ws_rejected_status(sp_t_chat_url("ws", c.id, c.token, c.customer.token), NULL), 101);
    /* a closed session refuses */
    struct sp_t_resp *r = sp_t_request("POST", sp_t_fmt("/support/chat/session/%s/close", c.id),
                                       c.customer.token, NULL, NULL, NULL);
    sp_t_assert_status(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(refused(sp_t_chat_url("ws", c.id, c.token, c.customer.token)), 403);
}
END_TEST

START_TEST(invalid_frame_gets_a_private_error_frame_and_the_socket_stays_open)
{
    struct sp_t_chat c = sp_t_chat_active();
    FILE *f = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                        sp_t_fmt("--send %s --send %s --expect 2 --timeout 10", sp_t_shq("not json"),
                                 sp_t_shq("{\"type\":\"message\",\"body\":\"still here\"}")));
    sp_t_ws_expect_open(f);
    struct json_object *frames = drain_with_error(f, "invalid_frame");
    ck_assert_ptr_nonnull(sp_t_chat_frame(frames, "message", "still here"));
    json_object_put(frames);
}
END_TEST

/* The same as the customer of c. */
static struct json_object *
frames_with_error(const struct sp_t_chat *c, const char *args, int expect, const char *code)
{
    return url_frames_with_error(sp_t_chat_url("ws", c->id, c->token, c->customer.token), args,
                                 expect, code);
}

/* Staff write to a chat once an agent has it (docs/API.md §7): an admin
 * watching a waiting chat gets the error frame session_waiting for a
 * message, nothing is stored, and the socket stays open. */
START_TEST(an_admins_message_frame_to_a_waiting_chat_gets_session_waiting)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    const char *cat = sp_t_admin_category_new("\"routing\":\"manual\"");
    struct sp_t_resp *r = sp_t_post_json("/support/chat/session", c.token,
                                         sp_t_fmt("{\"category\":%s}", sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    struct json_object *frames = url_frames_with_error(
        sp_t_chat_url("ws", id, NULL, NULL),
        sp_t_fmt("%s --send %s --send %s", auth_header(&admin),
                 sp_t_shq("{\"type\":\"message\",\"body\":\"an admin here\"}"),
                 sp_t_shq("{\"type\":\"typing\",\"state\":true}")),
        2, "session_waiting");
    ck_assert_ptr_null(sp_t_chat_frame(frames, "message", "an admin here"));
    ck_assert_msg(sp_t_chat_frame(frames, "typing", NULL) != NULL,
                  "the socket did not go on: %s", json_object_to_json_string(frames));
    json_object_put(frames);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.sender_type = 'agent'", id),
                     "0");
}
END_TEST


/* How many messages the customer has stored in session sid. */
static const char *
customer_messages(const char *sid)
{
    return sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                    " JOIN support_chat_sessions s ON s.id = m.session_id"
                    " WHERE s.public_id = '%s' AND m.sender_type = 'customer'", sid);
}

/* Sends the frames of bad (chat_client arguments) and then a message as
 * the customer: the bad ones get an error frame with code, the socket
 * stays open, and the message behind them is echoed and the only one
 * stored. */
static void
refused_and_the_socket_goes_on(const char *bad, const char *code)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *next = "{\"type\":\"message\",\"body\":\"still here\"}";
    struct json_object *frames =
        frames_with_error(&c, sp_t_fmt("%s --send %s", bad, sp_t_shq(next)), 2, code);
    ck_assert_ptr_nonnull(sp_t_chat_frame(frames, "message", "still here"));
    json_object_put(frames);
    ck_assert_str_eq(customer_messages(c.id), "1");
}

/* nchan allocates a frame whole from the length its header declares (no
 * limit of its own, docs/chat-transport.md §4): a length no allocation can
 * hold (2^40, 2^63 - 1) closes the socket with 1011 and crashes nothing. */
START_TEST(a_frame_declaring_more_than_memory_is_closed_1011_without_a_crash)
{
    struct sp_t_crash_mark crashes = sp_t_nginx_crash_mark();
    struct sp_t_chat c = sp_t_chat_active();
    const char *url = sp_t_chat_url("ws", c.id, c.token, c.customer.token);
    const char *lens[] = {"1099511627776", "9223372036854775807"};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        FILE *f = sp_t_chat_probe("raw", url, sp_t_fmt("--declare %s --timeout 5", lens[i]));
        json_object_put(sp_t_ws_next_event(f, "open"));
        struct json_object *close = sp_t_ws_next_event(f, "frame");
        ck_assert_int_eq(sp_t_jint(close, "opcode"), 8);
        ck_assert_int_eq(sp_t_jint(close, "code"), 1011);
        json_object_put(close);
        pclose(f);
    }
    sp_t_assert_no_nginx_crash_since(crashes);
}
END_TEST

/* A text frame that is not UTF-8 never reaches the worker: nchan closes
 * the socket with 1007 (RFC 6455 §8.1; API.md §7 said invalid_frame, QA).
 * The same bytes in a binary frame do reach it: an error frame
 * invalid_frame, and the socket goes on. */
START_TEST(invalid_utf8_closes_a_text_frame_1007_and_is_invalid_frame_in_a_binary_one)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *url = sp_t_chat_url("ws", c.id, c.token, c.customer.token);
    /* {"type":"message","body":"<0xff>"} */
    const char *bad = "7b2274797065223a226d657373616765222c22626f6479223a22ff227d";
    FILE *text = sp_t_chat_probe("raw", url, sp_t_fmt("--send-hex %s --timeout 5", bad));
    json_object_put(sp_t_ws_next_event(text, "open"));
    struct json_object *close = sp_t_ws_next_event(text, "frame");
    ck_assert_int_eq(sp_t_jint(close, "opcode"), 8);
    ck_assert_int_eq(sp_t_jint(close, "code"), 1007);
    json_object_put(close);
    pclose(text);

    const char *next = "{\"type\":\"message\",\"body\":\"still here\"}";
    FILE *bin = sp_t_chat_probe("raw", url,
                                sp_t_fmt("--binary --send-hex %s --send %s --until %s"
                                         " --timeout 5", bad, sp_t_shq(next),
                                         sp_t_shq("still here")));
    json_object_put(sp_t_ws_next_event(bin, "open"));
    struct json_object *err = sp_t_ws_next_event(bin, "frame");
    ck_assert_msg(strstr(sp_t_jstr(err, "data"), "\"invalid_frame\"") != NULL, "%s",
                  json_object_to_json_string(err));
    json_object_put(err);
    struct json_object *echo = sp_t_ws_next_event(bin, "frame");
    ck_assert_msg(strstr(sp_t_jstr(echo, "data"), "still here") != NULL, "%s",
                  json_object_to_json_string(echo));
    json_object_put(echo);
    pclose(bin);
    ck_assert_str_eq(customer_messages(c.id), "1");
}
END_TEST

/* A body over 4000 characters once escaped ("<" × 4000) or as sent
 * (4001 plain: QA, it got invalid_frame; API.md §7 and the HTTP send's
 * field error say too_long) gets too_long, stores nothing, and the
 * socket goes on. */
START_TEST(a_message_that_escaping_grows_past_the_cap_gets_an_error_frame_and_no_row)
{
    static const char *const bodies[][2] = {{"<", "4000"}, {"a", "4001"}};
    for (size_t i = 0; i < 2; i++) {
        const char *big = sp_t_fmt("{\"type\":\"message\",\"body\":%s}",
                                   sp_t_jq(sp_t_repeat(bodies[i][0], atoi(bodies[i][1]))));
        refused_and_the_socket_goes_on(sp_t_fmt("--send %s", sp_t_shq(big)), "too_long");
    }
}
END_TEST

/* QA: an empty frame reaches the hook as a GET without a body (nchan);
 * the worker answered 405, nginx closed the socket (1008) and the message
 * queued right behind it was stored but never echoed (the crash path of
 * docs/chat-transport.md §15). Now: an error frame, the socket stays. */
START_TEST(an_empty_frame_gets_an_error_frame_and_the_next_message_its_echo)
{
    refused_and_the_socket_goes_on("--send ''", "invalid_frame");
}
END_TEST

/* A frame over the hook's body limit (1 MiB) was answered 413, which
 * closed the socket like the empty frame did. It is frame_too_large, as
 * any frame over 16 KiB, and the next message is echoed. */
START_TEST(a_frame_over_the_body_limit_gets_frame_too_large_and_the_socket_stays_open)
{
    refused_and_the_socket_goes_on("--send-bytes 1200000", "frame_too_large");
}
END_TEST

/* QA: browsers and python3-websockets offer permessage-deflate and nchan
 * 1.3.6 accepted it. A compressed frame inflating past 16 KiB was dropped
 * ("[alert] zero size buf"): no frame_too_large, the small frames behind it
 * were never stored, and the socket closed 1011 at 15 s. nginx now clears
 * the offer before nchan's handshake: no extension is negotiated, the
 * big frame gets frame_too_large and the next two are stored and echoed. */
START_TEST(a_deflate_clients_big_frame_gets_frame_too_large_and_the_next_are_stored)
{
    struct sp_t_chat c = sp_t_chat_active();
    FILE *f = sp_t_ws_client(
        sp_t_chat_url("ws", c.id, c.token, c.customer.token),
        sp_t_fmt("--deflate --send-bytes 40000 --send %s --send %s --expect 3 --timeout 10",
                 sp_t_shq("{\"type\":\"message\",\"body\":\"one\"}"),
                 sp_t_shq("{\"type\":\"message\",\"body\":\"two\"}")));
    struct json_object *open = sp_t_ws_next(f);
    ck_assert_str_eq(sp_t_ws_event(open), "open");
    struct json_object *ext = NULL;
    ck_assert(json_object_object_get_ex(open, "extensions", &ext));
    ck_assert_msg(json_object_array_length(ext) == 0, "negotiated: %s",
                  json_object_to_json_string(open));
    json_object_put(open);
    struct json_object *frames = drain_with_error(f, "frame_too_large");
    ck_assert_ptr_nonnull(sp_t_chat_frame(frames, "message", "one"));
    ck_assert_ptr_nonnull(sp_t_chat_frame(frames, "message", "two"));
    json_object_put(frames);
    ck_assert_str_eq(customer_messages(c.id), "2");
}
END_TEST

/* QA: one text frame over 2 MiB killed the nginx worker (signal 6,
 * assertion `d->subrequest`: the public server's client_max_body_size 2m
 * answered nchan's hook request 413 inside nginx) and dropped every socket
 * on it. Frames of 2.5 MB, 3 MB (QA's) and 100 MB each get
 * frame_too_large, the socket stays open, the message behind them is
 * echoed, and no nginx worker exits. */
START_TEST(frames_of_any_size_get_frame_too_large_and_no_nginx_worker_dies)
{
    struct sp_t_crash_mark crashes = sp_t_nginx_crash_mark();
    struct sp_t_chat c = sp_t_chat_active();
    const char *next = "{\"type\":\"message\",\"body\":\"still here\"}";
    FILE *f = sp_t_ws_client(
        sp_t_chat_url("ws", c.id, c.token, c.customer.token),
        sp_t_fmt("--send-bytes 2500000 --send-bytes 3000028 --send-bytes 100000000"
                 " --send %s --expect 4 --timeout 60",
                 sp_t_shq(next)));
    sp_t_ws_expect_open(f);
    struct json_object *frames = sp_t_ws_drain(f);
    int too_large = 0;
    for (size_t i = 0; i < json_object_array_length(frames); i++) {
        struct json_object *o = json_object_array_get_idx(frames, i);
        too_large += strcmp(sp_t_jstr(o, "type"), "error") == 0 &&
                     strcmp(sp_t_jstr(o, "code"), "frame_too_large") == 0;
    }
    ck_assert_msg(too_large == 3, "3 frame_too_large expected: %s",
                  json_object_to_json_string(frames));
    ck_assert_ptr_nonnull(sp_t_chat_frame(frames, "message", "still here"));
    json_object_put(frames);
    ck_assert_str_eq(customer_messages(c.id), "1");
    sp_t_assert_no_nginx_crash_since(crashes);
}
END_TEST

/* The same over the websocket: an error frame idempotency_key_reused for
 * the other body, nothing stored, and the same body again answers the
 * stored frame (to its sender). */
START_TEST(a_client_id_reused_with_another_body_gets_an_error_frame)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *first = "{\"type\":\"message\",\"body\":\"hi\",\"client_id\":\"k1\"}";
    const char *other = "{\"type\":\"message\",\"body\":\"other\",\"client_id\":\"k1\"}";
    struct json_object *frames = frames_with_error(
        &c, sp_t_fmt("--send %s --send %s --send %s", sp_t_shq(first), sp_t_shq(other),
                     sp_t_shq(first)),
        3, "idempotency_key_reused");
    ck_assert_ptr_null(sp_t_chat_frame(frames, "message", "other"));
    int echoes = 0;
    for (size_t i = 0; i < json_object_array_length(frames); i++) {
        struct json_object *o = json_object_array_get_idx(frames, i);
        echoes += strcmp(sp_t_jstr(o, "type"), "message") == 0 &&
                  strcmp(sp_t_jstr(o, "body"), "hi") == 0;
    }
    ck_assert_int_eq(echoes, 2);
    json_object_put(frames);
    ck_assert_str_eq(customer_messages(c.id), "1");
}
END_TEST

START_TEST(a_websocket_message_over_the_session_limit_gets_rate_limited_and_no_row)
{
    struct sp_t_chat c = sp_t_chat_active();
    /* The session's minute is used up (SUPPORT_CHAT_RATE_PER_MINUTE, 60;
     * the bucket the HTTP fallback shares). */
    sp_t_away_from_window_edges(5, 60);
    sp_t_sql("INSERT INTO support_rate_limits (bucket, window_start, count)"
             " VALUES ('chat_message:%s:customer:60',"
             "   to_timestamp(floor(extract(epoch FROM now()) / 60) * 60), 60)", c.id);
    struct json_object *frames = frames_with_error(
        &c, sp_t_fmt("--send %s", sp_t_shq("{\"type\":\"message\",\"body\":\"one too many\"}")),
        1, "rate_limited");
    ck_assert_ptr_null(sp_t_chat_frame(frames, "message", "one too many"));
    json_object_put(frames);
    ck_assert_str_eq(customer_messages(c.id), "0");
}
END_TEST

/* A log of the stack (SP_TEST_LOG_DIR), opened for reading. */
static FILE *
open_log(const char *name)
{
    const char *dir = getenv("SP_TEST_LOG_DIR");
    ck_assert_ptr_nonnull(dir);
    FILE *f = fopen(sp_t_fmt("%s/%s", dir, name), "r");
    ck_assert_ptr_nonnull(f);
    return f;
}

/* The support-chat access lines of frame hooks answered 200 or 204 (stored
 * message frames: the worker publishes them itself and answers 204, or
 * nchan publishes a 200 answer) from byte `from` of its log on: their `db`
 * counts. */
static size_t
frame_round_trips(long from, long *out, size_t max)
{
    FILE *f = open_log("support-chat.log");
    ck_assert_int_eq(fseek(f, from, SEEK_SET), 0);
    char line[8192];
    size_t n = 0;
    while (n < max && fgets(line, sizeof(line), f) != NULL) {
        const char *db = strstr(line, "\"db\":");
        if (strstr(line, "\"event\":\"access\"") == NULL || db == NULL ||
            strstr(line, "\"route\":\"/internal/chat/frame-worker\"") == NULL ||
            (strstr(line, "\"status\":200") == NULL && strstr(line, "\"status\":204") == NULL))
            continue;
        out[n++] = strtol(db + 5, NULL, 10);
    }
    fclose(f);
    return n;
}

static long
log_size(const char *name)
{
    FILE *f = open_log(name);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    fclose(f);
    return size;
}

/* A stored message frame is one statement (issue 15): authorization,
 * the rate-limit hit, the insert and the connection's sign of life
 * together. A worker's first frames may add its statement's prepare or a
 * periodic sweep; the rest are one round trip each (three or four
 * before: read, rate limit, insert, and a presence write per connection
 * and worker). */
START_TEST(a_stored_message_frame_is_one_database_round_trip)
{
    /* Several connections, so that a sign of life written apart (once per
     * connection and worker) would show. */
    enum { CONNS = 6, EACH = 4, N = CONNS * EACH };
    struct sp_t_chat c = sp_t_chat_active();
    long from = log_size("support-chat.log");
    FILE *clients[CONNS];
    for (int k = 0; k < CONNS; k++) {
        const char *sends = "";
        for (int i = 0; i < EACH; i++)
            sends = sp_t_fmt("%s --send %s", sends,
                             sp_t_shq(sp_t_fmt("{\"type\":\"message\",\"body\":\"trip %d.%d\"}",
                                               k, i)));
        /* Each ends at its own last message (connections opened later
         * hear none of the earlier ones' messages). */
        clients[k] = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                                    sp_t_fmt("%s --expect %d --until %s --timeout 15", sends, N,
                                             sp_t_shq(sp_t_fmt("\"trip %d.%d\"", k, EACH - 1))));
        sp_t_ws_expect_open(clients[k]);
    }
    for (int k = 0; k < CONNS; k++) {
        struct json_object *frames = sp_t_ws_drain(clients[k]);
        ck_assert_ptr_nonnull(sp_t_chat_frame(frames, "message", sp_t_fmt("trip %d.%d", k, EACH - 1)));
        json_object_put(frames);
    }
    /* The last access lines reach the log after their answers. */
    long trips[64];
    size_t n = frame_round_trips(from, trips, 64);
    for (int i = 0; i < 200 && n < N; i++) {
        usleep(50 * 1000);
        n = frame_round_trips(from, trips, 64);
    }
    ck_assert_uint_eq(n, N);
    size_t one = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_ge(trips[i], 1);
        one += trips[i] == 1;
    }
    ck_assert_msg(one >= N * 3 / 4, "only %zu of %d message frames made one round trip", one, N);
}
END_TEST

START_TEST(http_fallback_message_reaches_a_websocket_subscriber)
{
    struct sp_t_chat c = sp_t_chat_active();
    FILE *f = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                        "--expect 1 --timeout 10");
    sp_t_ws_expect_open(f);
    usleep(200 * 1000);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", c.id),
                                         c.agent.token, "{\"body\":\"sent over HTTP\"}");
    sp_t_assert_json(r, 201);
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    struct json_object *frames = sp_t_ws_drain(f);
    struct json_object *m = sp_t_chat_frame(frames, "message", "sent over HTTP");
    ck_assert_msg(m != NULL, "not delivered: %s", json_object_to_json_string(frames));
    ck_assert_int_eq(sp_t_jint(m, "id"), id);
    ck_assert_str_eq(sp_t_jstr(m, "sender_type"), "agent");
    json_object_put(frames);
}
END_TEST

/* Whether frame f is an object whose member key is the string value. */
static bool
frame_says(struct json_object *f, const char *key, const char *value)
{
    struct json_object *m;
    return json_object_is_type(f, json_type_object) && json_object_object_get_ex(f, key, &m) &&
           strcmp(json_object_get_string(m), value) == 0;
}

/* Counts the frames whose key is value and, when key2 is given, whose
 * key2 is value2. */
static int
frames_saying(struct json_object *frames, const char *key, const char *value, const char *key2,
              const char *value2)
{
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(frames); i++) {
        struct json_object *f = json_object_array_get_idx(frames, i);
        if (frame_says(f, key, value) && (key2 == NULL || frame_says(f, key2, value2)))
            n++;
    }
    return n;
}

/* Counts the message frames with this body. */
static int
frames_with_body(struct json_object *frames, const char *body)
{
    return frames_saying(frames, "body", body, NULL, NULL);
}

START_TEST(an_idempotency_key_replay_of_an_http_send_is_not_published_again)
{
    struct sp_t_chat c = sp_t_chat_active();
    FILE *f = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                             "--expect 2 --timeout 10");
    sp_t_ws_expect_open(f);
    usleep(200 * 1000);
    const char *path = sp_t_fmt("/support/chat/session/%s/messages", c.id);
    const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", sp_t_unique("k")), NULL};
    for (int i = 0; i < 2; i++) {
        struct sp_t_resp *r = sp_t_request("POST", path, c.agent.token, SP_T_JSON,
                                           "{\"body\":\"published once\"}", hdr);
        sp_t_assert_json(r, 201);
        sp_t_resp_free(r);
    }
    /* A marker after the replay: the second frame the subscriber gets. */
    struct sp_t_resp *r = sp_t_post_json(path, c.agent.token, "{\"body\":\"after the replay\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    struct json_object *frames = sp_t_ws_drain(f);
    ck_assert_msg(frames_with_body(frames, "published once") == 1 &&
                      sp_t_chat_frame(frames, "message", "after the replay") != NULL,
                  "want the keyed message once, then the marker: %s",
                  json_object_to_json_string(frames));
    json_object_put(frames);
}
END_TEST

/* Reads client f's frames into frames until enough(frames, arg); false
 * (and f closed) when the client ended first. */
static bool
frames_until(FILE *f, struct json_object *frames,
             bool (*enough)(struct json_object *frames, const void *arg), const void *arg)
{
    while (!enough(frames, arg)) {
        struct json_object *o = sp_t_ws_next(f), *d;
        const char *e = sp_t_ws_event(o);
        bool ended = strcmp(e, "done") == 0 || strcmp(e, "closed") == 0;
        if (strcmp(e, "frame") == 0 && json_object_object_get_ex(o, "data", &d))
            json_object_array_add(frames, json_object_get(d));
        json_object_put(o);
        if (ended) {
            pclose(f);
            return false;
        }
    }
    return true;
}

/* frames_until: a message frame with body arg is among them. */
static bool
has_message(struct json_object *frames, const void *body)
{
    return sp_t_chat_frame(frames, "message", body) != NULL;
}

/* Reads client f to its end (sp_t_ws_drain), adding its frames to all. */
static void
frames_to_end(FILE *f, struct json_object *all)
{
    struct json_object *rest = sp_t_ws_drain(f);
    for (size_t i = 0; i < json_object_array_length(rest); i++)
        json_object_array_add(all, json_object_get(json_object_array_get_idx(rest, i)));
    json_object_put(rest);
}

/* POSTs json as u to session sid's messages; asserts status; the frame. */
static struct json_object *
http_post_message(const char *sid, const struct sp_t_user *u, const char *json, long status)
{
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", sid),
                                         u->token, json);
    sp_t_assert_json(r, status);
    struct json_object *o = json_object_get(r->json);
    sp_t_resp_free(r);
    return o;
}

/* QA: client_id de-duplication was per session, so the agent's reply that
 * reused the customer's client_id answered 200 with the customer's frame
 * and was lost. It is per sender: the agent's text is stored (201), and
 * the agent's own resend still answers the agent's first frame. */
START_TEST(a_client_id_is_the_senders_own_over_http)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct json_object *first = http_post_message(c.id, &c.customer,
                                                  "{\"body\":\"hi\",\"client_id\":\"c1\"}", 201);
    struct json_object *reply = http_post_message(
        c.id, &c.agent, "{\"body\":\"agent reply\",\"client_id\":\"c1\"}", 201);
    ck_assert_str_eq(sp_t_jstr(reply, "body"), "agent reply");
    ck_assert_str_eq(sp_t_jstr(reply, "sender_type"), "agent");
    ck_assert_str_eq(sp_t_jstr(reply, "client_id"), "c1");
    ck_assert_int_ne(sp_t_jint(reply, "id"), sp_t_jint(first, "id"));
    struct json_object *again = http_post_message(
        c.id, &c.agent, "{\"body\":\"agent reply\",\"client_id\":\"c1\"}", 200);
    ck_assert_int_eq(sp_t_jint(again, "id"), sp_t_jint(reply, "id"));
    struct json_object *cust = http_post_message(c.id, &c.customer,
                                                 "{\"body\":\"hi\",\"client_id\":\"c1\"}", 200);
    ck_assert_int_eq(sp_t_jint(cust, "id"), sp_t_jint(first, "id"));
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(sender_type || ':' || body, ',' ORDER BY m.id)"
                              " FROM support_chat_messages m JOIN support_chat_sessions s"
                              " ON s.id = m.session_id WHERE s.public_id = '%s'"
                              " AND m.client_id = 'c1'", c.id),
                     "customer:hi,agent:agent reply");
    json_object_put(first);
    json_object_put(reply);
    json_object_put(again);
    json_object_put(cust);
}
END_TEST

/* QA: a client_id reused with another body answered 200 with the first
 * message and dropped the new text. It is refused as an Idempotency-Key
 * reused with another body is (422 idempotency_key_reused); the same
 * body still answers the stored message. */
START_TEST(a_client_id_reused_with_another_body_is_422_over_http)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct json_object *first = http_post_message(c.id, &c.customer,
                                                  "{\"body\":\"hi\",\"client_id\":\"k1\"}", 201);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", c.id),
                                         c.customer.token,
                                         "{\"body\":\"something else\",\"client_id\":\"k1\"}");
    sp_t_assert_problem(r, 422, "idempotency_key_reused");
    sp_t_resp_free(r);
    struct json_object *again = http_post_message(c.id, &c.customer,
                                                  "{\"body\":\"hi\",\"client_id\":\"k1\"}", 200);
    ck_assert_int_eq(sp_t_jint(again, "id"), sp_t_jint(first, "id"));
    ck_assert_str_eq(customer_messages(c.id), "1");
    json_object_put(first);
    json_object_put(again);
}
END_TEST

/* Over the websocket: the agent's resend answers the agent (every
 * connection of the agent) with its first frame and is not broadcast
 * again; the customer's message with the same client_id is a new one. */
START_TEST(a_websocket_resend_answers_its_sender_only)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *m1 = "{\"type\":\"message\",\"body\":\"agent says\",\"client_id\":\"w1\"}";
    /* The customer reads up to its own message, sent last; the agent's
     * connections up to a marker on the agent's channel, published after
     * it (the resend is answered there). */
    const char *done = sp_t_unique("done");
    const char *agent_args = sp_t_fmt("%s --send %s --expect 50 --until %s --timeout 10",
                                      auth_header(&c.agent), sp_t_shq(m1), sp_t_shq(done));
    FILE *cust = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                                "--expect 50 --until 'customer says' --timeout 10");
    sp_t_ws_expect_open(cust);
    FILE *a1 = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL), agent_args);
    sp_t_ws_expect_open(a1);
    /* the first send is stored and published before the second connection
     * opens and resends it */
    struct json_object *fa1 = json_object_new_array();
    bool a1_going = frames_until(a1, fa1, has_message, "agent says");
    /* in a later second: nchan's message ids count seconds, and a
     * connection opened in the message's second is handed it as the
     * newest (nchan_subscriber_first_message) */
    time_t heard_at = time(NULL);
    while (time(NULL) <= heard_at)
        usleep(20 * 1000);
    FILE *a2 = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL), agent_args);
    sp_t_ws_expect_open(a2);
    /* the resend answered, then the customer's message and the marker */
    struct json_object *fa2 = json_object_new_array();
    bool going = frames_until(a2, fa2, has_message, "agent says");
    struct json_object *mine = http_post_message(
        c.id, &c.customer, "{\"body\":\"customer says\",\"client_id\":\"w1\"}", 201);
    if (going) {
        sp_t_chat_mark(c.id, sp_t_fmt("agent-%s", c.agent.sub), done);
        frames_to_end(a2, fa2);
    }
    struct json_object *fc = sp_t_ws_drain(cust);
    if (a1_going)
        frames_to_end(a1, fa1);
    ck_assert_msg(frames_with_body(fc, "agent says") == 1,
                  "the customer should hear the agent's message once: %s",
                  json_object_to_json_string(fc));
    ck_assert_int_eq(frames_with_body(fc, "customer says"), 1);
    ck_assert_msg(frames_with_body(fa2, "agent says") == 1, "the resend was not answered: %s",
                  json_object_to_json_string(fa2));
    ck_assert_msg(frames_with_body(fa1, "agent says") == 2, "the agent's first connection: %s",
                  json_object_to_json_string(fa1));
    struct json_object *a = sp_t_chat_frame(fa2, "message", "agent says");
    ck_assert_int_eq(sp_t_jint(a, "id"), sp_t_jint(sp_t_chat_frame(fc, "message", "agent says"),
                                                   "id"));
    ck_assert_str_eq(sp_t_jstr(a, "client_id"), "w1");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.client_id = 'w1'", c.id),
                     "2");
    json_object_put(mine);
    json_object_put(fc);
    json_object_put(fa1);
    json_object_put(fa2);
}
END_TEST

/* The system frames of this event among frames. */
static int
system_frames(struct json_object *frames, const char *event)
{
    return frames_saying(frames, "type", "system", "event", event);
}

/* QA: every repeated accept by the assigned agent published another
 * agent_joined frame (the history had one). Only an accept that assigns
 * the session publishes. */
START_TEST(accepting_ones_own_chat_again_publishes_nothing)
{
    struct sp_t_chat c = sp_t_chat_active();
    /* It reads up to the marker message sent after the accepts. */
    const char *marker = sp_t_unique("marker");
    FILE *f = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                             sp_t_fmt("--expect 50 --until %s --timeout 4", sp_t_shq(marker)));
    sp_t_ws_expect_open(f);
    usleep(200 * 1000);
    for (int i = 0; i < 2; i++) {
        struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/agent/chats/%s/accept", c.id),
                                             c.agent.token, NULL);
        sp_t_assert_json(r, 200);
        ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
        sp_t_resp_free(r);
    }
    json_object_put(http_post_message(c.id, &c.agent, sp_t_fmt("{\"body\":%s}", sp_t_jq(marker)),
                                      201));
    struct json_object *frames = sp_t_ws_drain(f);
    ck_assert_int_eq(frames_with_body(frames, marker), 1);
    ck_assert_msg(system_frames(frames, "agent_joined") == 0, "agent_joined published again: %s",
                  json_object_to_json_string(frames));
    json_object_put(frames);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.payload->>'event' = 'agent_joined'",
                              c.id),
                     "1");
}
END_TEST

/* The first system frame of this event among frames, or NULL. */
static struct json_object *
system_frame(struct json_object *frames, const char *event)
{
    for (size_t i = 0; i < json_object_array_length(frames); i++) {
        struct json_object *f = json_object_array_get_idx(frames, i);
        if (frame_says(f, "type", "system") && frame_says(f, "event", event))
            return f;
    }
    return NULL;
}

/* QA: live system frames lacked the id, body and created_at the same
 * stored messages have in the history, so clients could not de-duplicate
 * history against live frames. They carry them now, besides their own
 * members (agent_id). */
START_TEST(live_system_frames_carry_the_stored_messages_id_body_and_time)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct sp_t_user other;
    int64_t other_id = sp_t_chat_agent_alone(&other, NULL);
    /* the customer hears whom the chat went to by name (QA) */
    (void)sp_t_sql("UPDATE support_agents SET display_name = 'Eli' WHERE id = %lld",
                   (long long)other_id);
    FILE *f = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                             "--expect 50 --timeout 4");
    sp_t_ws_expect_open(f);
    usleep(200 * 1000);
    sp_t_chat_transfer(&c, other_id);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/close", c.id),
                                         c.customer.token, NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    bool closed;   /* a closed session disconnects everybody */
    struct json_object *frames = sp_t_ws_drain_to_end(f, &closed);
    r = sp_t_get(sp_t_fmt("/support/chat/session/%s", c.id), c.customer.token);
    sp_t_assert_json(r, 200);
    const char *events[] = {"transferred", "closed"};
    for (size_t i = 0; i < 2; i++) {
        struct json_object *live = system_frame(frames, events[i]);
        struct json_object *stored = system_frame(sp_t_jarr(r->json, "messages"), events[i]);
        ck_assert_msg(live != NULL && stored != NULL, "%s: live %s", events[i],
                      json_object_to_json_string(frames));
        ck_assert_int_gt(sp_t_jint(live, "id"), 0);
        ck_assert_int_eq(sp_t_jint(live, "id"), sp_t_jint(stored, "id"));
        ck_assert_int_gt(sp_t_jint(live, "seq"), 0);
        ck_assert_int_eq(sp_t_jint(live, "seq"), sp_t_jint(stored, "seq"));
        ck_assert_str_eq(sp_t_jstr(live, "body"), sp_t_jstr(stored, "body"));
        ck_assert_str_eq(sp_t_jstr(live, "created_at"), sp_t_jstr(stored, "created_at"));
        ck_assert_str_eq(sp_t_jstr(live, "session_id"), c.id);
    }
    ck_assert_int_eq(sp_t_jint(system_frame(frames, "transferred"), "agent_id"), other_id);
    ck_assert_str_eq(sp_t_jstr(system_frame(frames, "transferred"), "agent_name"), "Eli");
    sp_t_resp_free(r);
    json_object_put(frames);
}
END_TEST

START_TEST(eventsource_receives_the_same_messages)
{
    struct sp_t_chat c = sp_t_chat_active();
    /* It ends at the message, not at its timeout. */
    FILE *f = sp_t_chat_probe("es", sp_t_chat_url("http", c.id, c.token, c.customer.token),
                              "--expect 1000 --until 'to the event stream' --timeout 8");
    struct json_object *st = sp_t_ws_next_event(f, "status");
    ck_assert_int_eq(sp_t_jint(st, "status"), 200);
    json_object_put(st);
    sp_t_chat_wait_subscribers(c.id, 1);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", c.id),
                                         c.agent.token, "{\"body\":\"to the event stream\"}");
    sp_t_assert_json(r, 201);
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    bool seen = false;
    for (;;) {
        struct json_object *ev = sp_t_ws_next(f);
        bool done = strcmp(sp_t_ws_event(ev), "done") == 0;
        struct json_object *o = done ? NULL : json_tokener_parse(sp_t_jstr(ev, "data"));
        if (o != NULL && json_object_is_type(o, json_type_object) && sp_t_jhas(o, "body") &&
            strcmp(sp_t_jstr(o, "body"), "to the event stream") == 0) {
            ck_assert_int_eq(sp_t_jint(o, "id"), id);
            seen = true;
        }
        json_object_put(o);
        json_object_put(ev);
        if (done)
            break;
    }
    pclose(f);
    ck_assert_msg(seen, "EventSource did not receive the message");
}
END_TEST

/* ---- presence ----------------------------------------------------------------- */

/* The presence frames of one sender_type among frames, in order. */
static struct json_object *
presence_frames(struct json_object *frames, const char *sender_type)
{
    struct json_object *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(frames); i++) {
        struct json_object *f = json_object_array_get_idx(frames, i), *t, *st;
        if (json_object_object_get_ex(f, "type", &t) &&
            strcmp(json_object_get_string(t), "presence") == 0 &&
            json_object_object_get_ex(f, "sender_type", &st) &&
            strcmp(json_object_get_string(st), sender_type) == 0)
            json_object_array_add(out, json_object_get(f));
    }
    return out;
}

static void
touch_file(const char *path)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
}

/* Public ids are read in any case (API.md §1), the connect URL's
 * session_id too (§7): a customer connecting with the id in lower case
 * joins the session itself (its channel, its stored messages, its
 * presence), and every frame names the session in its canonical form. */
START_TEST(a_session_id_in_lower_case_joins_the_session)
{
    struct sp_t_chat c = sp_t_chat_active();
    char *lower = (char *)sp_t_fmt("%s", c.id);
    for (char *ch = lower; *ch != '\0'; ch++)
        if (*ch >= 'A' && *ch <= 'Z')
            *ch = (char)(*ch - 'A' + 'a');
    const char *ready = ready_path();
    const char *m1 = "{\"type\":\"message\",\"body\":\"written in lower case\"}";
    FILE *agent = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                 sp_t_fmt("%s --expect 4 --timeout 20", auth_header(&c.agent)));
    sp_t_ws_expect_open(agent);
    usleep(300 * 1000);
    /* the agent's presence, the HTTP message, the customer's own */
    FILE *cust = sp_t_ws_client(sp_t_chat_url("ws", lower, c.token, c.customer.token),
                                sp_t_fmt("--send %s --send-when %s --expect 3 --timeout 10",
                                         sp_t_shq(m1), sp_t_shq(ready)));
    sp_t_ws_expect_open(cust);
    usleep(300 * 1000);
    FILE *touch = fopen(ready, "w");
    ck_assert_ptr_nonnull(touch);
    fclose(touch);
    /* Its own message stored first, so the customer leaves on the HTTP
     * one: nchan drops the offline hook of a subscriber that leaves while
     * its frame hook is in flight (the sweep reports it much later). */
    const char *stored = sp_t_fmt("SELECT count(*) FROM support_chat_messages m"
                                  " JOIN support_chat_sessions s ON s.id = m.session_id"
                                  " WHERE s.public_id = '%s' AND m.body = 'written in lower case'",
                                  c.id);
    for (int i = 0; i < 100 && strcmp(sp_t_sql("%s", stored), "0") == 0; i++)
        usleep(50 * 1000);
    usleep(200 * 1000);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", lower),
                                         c.agent.token, "{\"body\":\"sent over HTTP\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    struct json_object *fc = sp_t_ws_drain(cust), *fa = sp_t_ws_drain(agent);
    unlink(ready);
    struct json_object *h = sp_t_chat_frame(fc, "message", "sent over HTTP");
    ck_assert_msg(h != NULL, "customer: %s", json_object_to_json_string(fc));
    ck_assert_str_eq(sp_t_jstr(h, "session_id"), c.id);
    struct json_object *sets[2] = {fc, fa};
    for (int i = 0; i < 2; i++) {
        struct json_object *m = sp_t_chat_frame(sets[i], "message", "written in lower case");
        ck_assert_msg(m != NULL, "%s", json_object_to_json_string(sets[i]));
        ck_assert_int_gt(sp_t_jint(m, "id"), 0);
        ck_assert_str_eq(sp_t_jstr(m, "sender_type"), "customer");
        ck_assert_str_eq(sp_t_jstr(m, "session_id"), c.id);
    }
    /* the customer came and went, under the session's canonical id */
    struct json_object *seen = presence_frames(fa, "customer");
    ck_assert_msg(json_object_array_length(seen) == 2, "agent: %s",
                  json_object_to_json_string(fa));
    for (size_t i = 0; i < 2; i++) {
        struct json_object *f = json_object_array_get_idx(seen, i);
        ck_assert_str_eq(sp_t_jstr(f, "state"), i == 0 ? "online" : "offline");
        ck_assert_str_eq(sp_t_jstr(f, "session_id"), c.id);
    }
    ck_assert_str_eq(sp_t_sql("%s", stored), "1");
    json_object_put(seen);
    json_object_put(fc);
    json_object_put(fa);
}
END_TEST

/* The agent reads one frame (who is already here) and closes at once, three
 * times over. A subscriber that leaves while its online hook is still in
 * flight gets no offline hook from nchan: the worker answers the hook
 * before it tells anybody, so each leave must still be announced. */
#define PRESENCE_ROUNDS 3

START_TEST(presence_online_when_the_agent_connects_offline_when_it_leaves)
{
    struct sp_t_chat c = sp_t_chat_active();
    FILE *cust = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                                sp_t_fmt("--expect %d --timeout 20", 2 * PRESENCE_ROUNDS));
    sp_t_ws_expect_open(cust);
    usleep(300 * 1000);  /* the customer's online hook */
    for (int round = 0; round < PRESENCE_ROUNDS; round++) {
        FILE *agent = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                     sp_t_fmt("%s --expect 1 --timeout 10", auth_header(&c.agent)));
        sp_t_ws_expect_open(agent);
        struct json_object *fa = sp_t_ws_drain(agent);
        struct json_object *seen = presence_frames(fa, "customer");
        ck_assert_msg(json_object_array_length(seen) == 1, "agent, round %d: %s", round,
                      json_object_to_json_string(fa));
        struct json_object *f = json_object_array_get_idx(seen, 0);
        ck_assert_str_eq(sp_t_jstr(f, "state"), "online");
        ck_assert_str_eq(sp_t_jstr(f, "sender_id"), c.customer.sub);
        ck_assert_str_eq(sp_t_jstr(f, "session_id"), c.id);
        json_object_put(seen);
        json_object_put(fa);
        usleep(200 * 1000);  /* the offline hook, before the next connect */
    }
    struct json_object *fc = sp_t_ws_drain(cust);

    struct json_object *ag = presence_frames(fc, "agent");
    ck_assert_msg(json_object_array_length(ag) == 2 * PRESENCE_ROUNDS, "customer: %s",
                  json_object_to_json_string(fc));
    for (size_t i = 0; i < 2 * PRESENCE_ROUNDS; i++) {
        struct json_object *f = json_object_array_get_idx(ag, i);
        ck_assert_str_eq(sp_t_jstr(f, "state"), i % 2 == 0 ? "online" : "offline");
        ck_assert_str_eq(sp_t_jstr(f, "sender_id"), agent_id_of(&c.agent));
        ck_assert_str_eq(sp_t_jstr(f, "session_id"), c.id);
    }
    /* the customer got no echo of its own connect */
    struct json_object *own = presence_frames(fc, "customer");
    ck_assert_int_eq(json_object_array_length(own), 0);
    json_object_put(own);
    json_object_put(ag);
    json_object_put(fc);
}
END_TEST

/* frames_until: *n_agent (a size_t) of the agent's presence frames are
 * among them. */
static bool
has_agent_presence(struct json_object *frames, const void *n_agent)
{
    struct json_object *seen = presence_frames(frames, "agent");
    bool enough = json_object_array_length(seen) >= *(const size_t *)n_agent;
    json_object_put(seen);
    return enough;
}

/* The customer's websocket on chat c, connected and heard of (its online
 * hook done), reading until the marker done (at most timeout seconds). */
static FILE *
customer_listening(const struct sp_t_chat *c, const char *done, int timeout)
{
    FILE *cust = sp_t_ws_client(sp_t_chat_url("ws", c->id, c->token, c->customer.token),
                                sp_t_fmt("--expect 50 --until %s --timeout %d", sp_t_shq(done),
                                         timeout));
    sp_t_ws_expect_open(cust);
    usleep(300 * 1000);
    return cust;
}

/* Waits (10 s at most) until the session has n presence rows of
 * principal that also meet `and` (SQL: "" or " AND ..."); false when it
 * never does. */
static bool
presence_rows_where_become(const char *sid, const char *principal, const char *and, int n)
{
    for (int i = 0; i < 200; i++) {
        if (atoi(sp_t_sql("SELECT count(*) FROM support_chat_presence"
                          " WHERE session_public_id = '%s' AND principal = '%s'%s",
                          sid, principal, and)) == n)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static bool
presence_rows_become(const char *sid, const char *principal, int n)
{
    return presence_rows_where_become(sid, principal, "", n);
}

/* QA: after a transfer the customer was told the agent handed away was
 * online for ~25 s (until the sweep): its socket is closed with 410, for
 * which nchan runs no offline hook, so its row stayed fresh and a
 * customer connecting meanwhile had it in its snapshot. The transfer
 * records it offline where it cuts it off: the customer hears so, and a
 * new connection's snapshot names only the new agent. */
START_TEST(an_agent_transferred_away_is_offline_at_once)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct sp_t_user other;
    int64_t other_id = sp_t_chat_agent_alone(&other, NULL);
    const char *old = sp_t_fmt("agent-%s", c.agent.sub), *done = sp_t_unique("done");
    FILE *cust = customer_listening(&c, done, 20);
    FILE *agent = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                 sp_t_fmt("%s --expect 50 --timeout 20", auth_header(&c.agent)));
    sp_t_ws_expect_open(agent);
    ck_assert(presence_rows_become(c.id, old, 1));
    sp_t_chat_transfer(&c, other_id);
    /* gone by the transfer's answer, not by a hook or the sweep */
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_presence"
                              " WHERE session_public_id = '%s' AND principal = '%s'", c.id, old),
                     "0");
    bool closed;
    json_object_put(sp_t_ws_drain_to_end(agent, &closed));
    ck_assert(closed);
    FILE *fresh = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                 sp_t_fmt("%s --expect 50 --until %s --timeout 20",
                                          auth_header(&other), sp_t_shq(done)));
    sp_t_ws_expect_open(fresh);
    ck_assert(presence_rows_become(c.id, sp_t_fmt("agent-%s", other.sub), 1));
    FILE *again = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                                 "--expect 50 --timeout 3");
    sp_t_ws_expect_open(again);
    struct json_object *fa = sp_t_ws_drain(again);
    struct json_object *snap = presence_frames(fa, "agent");
    ck_assert_msg(json_object_array_length(snap) == 1, "snapshot: %s",
                  json_object_to_json_string(fa));
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(snap, 0), "sender_id"),
                     agent_id_of(&other));
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(snap, 0), "state"), "online");
    sp_t_chat_mark(c.id, sp_t_fmt("customer-%s", c.customer.sub), done);
    struct json_object *fc = json_object_new_array();
    frames_to_end(cust, fc);
    bool offline = false;
    struct json_object *heard = presence_frames(fc, "agent");
    for (size_t i = 0; i < json_object_array_length(heard); i++) {
        struct json_object *f = json_object_array_get_idx(heard, i);
        if (strcmp(sp_t_jstr(f, "sender_id"), agent_id_of(&c.agent)) == 0)
            offline = strcmp(sp_t_jstr(f, "state"), "offline") == 0;
    }
    ck_assert_msg(offline, "customer: %s", json_object_to_json_string(fc));
    sp_t_chat_mark(c.id, sp_t_fmt("agent-%s", other.sub), done);
    json_object_put(sp_t_ws_drain(fresh));
    json_object_put(heard);
    json_object_put(fc);
    json_object_put(snap);
    json_object_put(fa);
}
END_TEST

/* Presence keys a connection on nginx's own id (X-Chat-Connection), not
 * the X-Request-Id a client chooses: two sockets of one agent sending the
 * same id are two connections, and the first leaving does not show the
 * agent gone while the other is still connected. */
START_TEST(two_sockets_with_one_request_id_are_two_presence_connections)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *agent = sp_t_fmt("agent-%s", c.agent.sub);
    const char *same = sp_t_fmt("%s --header %s", auth_header(&c.agent),
                                sp_t_shq(sp_t_fmt("X-Request-Id: %s", sp_t_unique("same"))));
    const char *agent_done = sp_t_unique("done"), *cust_done = sp_t_unique("done");
    FILE *cust = customer_listening(&c, cust_done, 15);
    FILE *stays = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                 sp_t_fmt("%s --expect 50 --until %s --timeout 15", same,
                                          sp_t_shq(agent_done)));
    sp_t_ws_expect_open(stays);
    ck_assert(presence_rows_become(c.id, agent, 1));
    /* the second socket stays 4 s (a marker would reach both) */
    FILE *leaves = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                  sp_t_fmt("%s --expect 50 --timeout 4", same));
    sp_t_ws_expect_open(leaves);
    bool two = presence_rows_become(c.id, agent, 2);
    json_object_put(sp_t_ws_drain(leaves));
    ck_assert_msg(two, "the second socket shared the first one's presence row");
    bool one = presence_rows_become(c.id, agent, 1);
    sp_t_chat_mark(c.id, sp_t_fmt("customer-%s", c.customer.sub), cust_done);
    struct json_object *fc = json_object_new_array();
    frames_to_end(cust, fc);
    sp_t_chat_mark(c.id, agent, agent_done);
    json_object_put(sp_t_ws_drain(stays));
    ck_assert_msg(one, "the first socket's presence row outlived it");
    struct json_object *ag = presence_frames(fc, "agent");
    ck_assert_msg(json_object_array_length(ag) == 1, "customer: %s",
                  json_object_to_json_string(fc));
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(ag, 0), "state"), "online");
    json_object_put(ag);
    json_object_put(fc);
}
END_TEST

/* QA: an agent and a customer connecting at the same moment never saw
 * each other online (3 rounds in 23): each online hook's statement read
 * the session's other connections in its own snapshot, before the other's
 * row was committed. Made certain here: the session row is held FOR UPDATE,
 * so each hook's insert waits (its foreign key check) after it has read
 * the others; without serializing per session both hooks wait there
 * together and each reads nobody. With it the second waits before reading,
 * then sees the first: each side hears the other online. */
START_TEST(an_agent_and_a_customer_connecting_at_once_each_hear_the_other_online)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *cust_url = sp_t_chat_url("ws", c.id, c.token, c.customer.token);
    const char *agent_url = sp_t_chat_url("ws", c.id, NULL, NULL);
    /* A first connect records the grant, whose insert checks the session
     * row as well: the held lock below must stop the presence hooks only.
     * What those connects left in presence is then wiped (a socket closed
     * while its online hook runs gets no offline hook, §8). */
    json_object_put(sp_t_ws_drain(sp_t_ws_client(cust_url, "--timeout 0.3")));
    json_object_put(sp_t_ws_drain(
        sp_t_ws_client(agent_url, sp_t_fmt("%s --timeout 0.3", auth_header(&c.agent)))));
    for (int i = 0; i < 100 && strcmp(sp_t_sql("SELECT count(*) FROM support_chat_grants"
                                               " WHERE session_public_id = '%s'", c.id),
                                      "2") != 0; i++)
        usleep(50 * 1000);
    usleep(500 * 1000);
    sp_t_sql("DELETE FROM support_chat_presence WHERE session_public_id = '%s'", c.id);

    PGconn *db = sp_t_tx_hold(sp_t_fmt("SELECT 1 FROM support_chat_sessions"
                                       " WHERE public_id = '%s' FOR UPDATE", c.id));
    FILE *cust = sp_t_ws_client(cust_url, "--expect 1 --timeout 15");
    FILE *agent = sp_t_ws_client(agent_url,
                                 sp_t_fmt("%s --expect 1 --timeout 15", auth_header(&c.agent)));
    sp_t_ws_expect_open(cust);
    sp_t_ws_expect_open(agent);
    /* Both hooks wait: on the row (both, without serializing), or one on
     * the row and one on the session's presence lock. */
    int waiting = 0;
    for (int i = 0; i < 60 && waiting < 2; i++) {
        usleep(50 * 1000);
        /* the two hooks' statements only: other programs' backends of
         * the shared database may wait on locks of their own */
        waiting = atoi(sp_t_sql("SELECT count(*) FROM pg_stat_activity"
                                " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                                "   AND query ILIKE '%%chat%%'"));
    }
    sp_t_tx_release(db);
    ck_assert_int_ge(waiting, 2);
    struct json_object *fc = sp_t_ws_drain(cust), *fa = sp_t_ws_drain(agent);
    struct json_object *ag = presence_frames(fc, "agent"), *cu = presence_frames(fa, "customer");
    /* each hears the other, and what it heard last is online */
    size_t nag = json_object_array_length(ag), ncu = json_object_array_length(cu);
    ck_assert_msg(nag >= 1, "customer heard: %s", json_object_to_json_string(fc));
    ck_assert_msg(ncu >= 1, "agent heard: %s", json_object_to_json_string(fa));
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(ag, nag - 1), "state"), "online");
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(cu, ncu - 1), "state"), "online");
    json_object_put(ag);
    json_object_put(cu);
    json_object_put(fc);
    json_object_put(fa);
}
END_TEST

/* Opens the customer's event stream for about a second, then ends it (as
 * nchan ends every stream after 55 s with 408, and the client goes). */
static void
eventsource_for_a_second(const struct sp_t_chat *c)
{
    FILE *es = sp_t_chat_probe("es", sp_t_chat_url("http", c->id, c->token, c->customer.token),
                               "--expect 100 --timeout 1");
    json_object_put(sp_t_ws_next_event(es, "done"));
    pclose(es);
}

/* QA: an EventSource customer flapped offline/online every 55 s (nchan
 * ends the stream with 408, the browser reopens it a second later). Its
 * offline hook keeps the connection for a grace period (15 s with the
 * default 75 s timeout): the agent hears the customer online once, and
 * nothing when the stream ends and comes back, twice. */
START_TEST(an_eventsource_stream_that_ends_and_comes_back_is_no_offline)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *cust = sp_t_fmt("customer-%s", c.customer.sub);
    const char *done = sp_t_unique("done");
    FILE *agent = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                 sp_t_fmt("%s --expect 20 --until %s --timeout 15",
                                          auth_header(&c.agent), sp_t_shq(done)));
    sp_t_ws_expect_open(agent);
    usleep(300 * 1000);  /* the agent's online hook */
    eventsource_for_a_second(&c);
    eventsource_for_a_second(&c);
    /* Both offline hooks ran: the rows fade (stale 15 s from now). */
    bool faded = presence_rows_where_become(
        c.id, cust, " AND last_seen_at < now() - interval '30 seconds'", 2);
    sp_t_chat_mark(c.id, sp_t_fmt("agent-%s", c.agent.sub), done);
    struct json_object *fa = sp_t_ws_drain(agent);
    ck_assert_msg(faded, "the streams' rows were not kept to fade");
    struct json_object *cu = presence_frames(fa, "customer");
    ck_assert_msg(json_object_array_length(cu) == 1, "agent heard: %s",
                  json_object_to_json_string(fa));
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(cu, 0), "state"), "online");
    json_object_put(cu);
    json_object_put(fa);
}
END_TEST

/* ... and a stream that does not come back is offline once the grace
 * (a fifth of the timeout: 1 s with a 5 s timeout) is over, at the next
 * sweep (here the agent's heartbeat wakes it). */
START_TEST(an_eventsource_stream_that_does_not_come_back_is_offline_after_the_grace)
{
    sp_t_stackctl("restart-chat-with SUPPORT_CHAT_PRESENCE_TIMEOUT_S=5");
    struct sp_t_chat c = sp_t_chat_active();
    const char *ready = ready_path();
    const char *hb = "{\"type\":\"presence\",\"state\":\"online\"}";
    FILE *agent = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                 sp_t_fmt("%s --send %s --send-when %s --expect 2 --timeout 12",
                                          auth_header(&c.agent), sp_t_shq(hb),
                                          sp_t_shq(ready)));
    sp_t_ws_expect_open(agent);
    usleep(300 * 1000);
    eventsource_for_a_second(&c);
    usleep(2000 * 1000);  /* past the grace; the agent (5 s) still fresh */
    touch_file(ready);
    struct json_object *fa = sp_t_ws_drain(agent);
    unlink(ready);
    sp_t_stackctl("restart-chat");
    struct json_object *cu = presence_frames(fa, "customer");
    ck_assert_msg(json_object_array_length(cu) == 2, "agent heard: %s",
                  json_object_to_json_string(fa));
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(cu, 0), "state"), "online");
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(cu, 1), "state"), "offline");
    json_object_put(cu);
    json_object_put(fa);
}
END_TEST

/* API.md §7: a client's {"type":"presence","state":"away"} is relayed to
 * the others as the sender's presence (sender_type from the connection,
 * not the frame), once, then "online" again when it comes back, then
 * offline when it leaves; not stored. (Each change reached the customer
 * twice: announced on its private channel and relayed as the frame.) */
START_TEST(an_agent_stepping_away_is_relayed_to_the_customer)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *ready = ready_path();
    const char *agent_done = sp_t_unique("done"), *cust_done = sp_t_unique("done");
    FILE *cust = customer_listening(&c, cust_done, 10);
    const char *away = "{\"type\":\"presence\",\"state\":\"away\",\"sender_type\":\"customer\"}";
    const char *back = "{\"type\":\"presence\",\"state\":\"online\"}";
    /* The agent's client stays until its marker: both frames go out. */
    FILE *agent = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                 sp_t_fmt("%s --send %s --send %s --send-when %s --expect 50"
                                          " --until %s --timeout 10",
                                          auth_header(&c.agent), sp_t_shq(away), sp_t_shq(back),
                                          sp_t_shq(ready), sp_t_shq(agent_done)));
    sp_t_ws_expect_open(agent);
    usleep(300 * 1000);
    touch_file(ready);
    /* online, away, online again: both frames were taken; the agent leaves */
    struct json_object *fc = json_object_new_array();
    static const size_t three = 3, four = 4;
    bool going = frames_until(cust, fc, has_agent_presence, &three);
    if (going)
        sp_t_chat_mark(c.id, sp_t_fmt("agent-%s", c.agent.sub), agent_done);
    json_object_put(sp_t_ws_drain(agent));
    unlink(ready);
    /* its offline; anything more the customer is told comes before the
     * marker on its channel */
    going = going && frames_until(cust, fc, has_agent_presence, &four);
    if (going) {
        sp_t_chat_mark(c.id, sp_t_fmt("customer-%s", c.customer.sub), cust_done);
        frames_to_end(cust, fc);
    }
    struct json_object *ag = presence_frames(fc, "agent");
    ck_assert_msg(json_object_array_length(ag) == 4, "customer: %s",
                  json_object_to_json_string(fc));
    const char *states[] = {"online", "away", "online", "offline"};
    for (size_t i = 0; i < 4; i++) {
        struct json_object *f = json_object_array_get_idx(ag, i);
        ck_assert_str_eq(sp_t_jstr(f, "state"), states[i]);
        ck_assert_str_eq(sp_t_jstr(f, "sender_id"), agent_id_of(&c.agent));
    }
    /* the spoofed sender_type was not believed: no customer presence */
    struct json_object *own = presence_frames(fc, "customer");
    ck_assert_int_eq(json_object_array_length(own), 0);
    json_object_put(own);
    json_object_put(ag);
    json_object_put(fc);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.sender_type <> 'system'", c.id),
                     "0");
}
END_TEST

START_TEST(a_silent_participant_is_reported_offline_after_the_timeout)
{
    /* support-chat with a 3 s presence timeout (default 75 s); support-api
     * keeps running. */
    sp_t_stackctl("restart-chat-with SUPPORT_CHAT_PRESENCE_TIMEOUT_S=3");
    struct sp_t_chat c = sp_t_chat_active();
    const char *ready = ready_path();
    /* The customer's heartbeat, with a spoofed sender_type. */
    const char *hb = "{\"type\":\"presence\",\"state\":\"online\",\"sender_type\":\"agent\"}";
    FILE *cust = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                           sp_t_fmt("--send %s --send-when %s --expect 3 --timeout 20", sp_t_shq(hb),
                                    sp_t_shq(ready)));
    sp_t_ws_expect_open(cust);
    usleep(300 * 1000);
    /* The agent stays connected and sends nothing (nchan's pings never
     * reach the worker). */
    /* It reads up to a marker, published when the customer is done. */
    const char *done = sp_t_unique("done");
    FILE *agent = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, NULL),
                                 sp_t_fmt("%s --expect 10 --until %s --timeout 12",
                                          auth_header(&c.agent), sp_t_shq(done)));
    sp_t_ws_expect_open(agent);
    usleep(4500 * 1000);  /* both are past the timeout now */
    touch_file(ready);    /* the customer's heartbeat lets the worker sweep */
    struct json_object *fc = sp_t_ws_drain(cust);
    unlink(ready);
    /* The customer heard the sweep's and its heartbeat's frames: what the
     * agent is told of them is on its channel, ahead of the marker. */
    sp_t_chat_mark(c.id, sp_t_fmt("agent-%s", c.agent.sub), done);
    struct json_object *fa = sp_t_ws_drain(agent);
    sp_t_stackctl("restart-chat");

    struct json_object *ag = presence_frames(fc, "agent");
    ck_assert_msg(json_object_array_length(ag) == 2, "customer: %s", json_object_to_json_string(fc));
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(ag, 0), "state"), "online");
    struct json_object *off = json_object_array_get_idx(ag, 1);
    ck_assert_str_eq(sp_t_jstr(off, "state"), "offline");
    ck_assert_str_eq(sp_t_jstr(off, "sender_id"), agent_id_of(&c.agent));
    /* The customer had gone stale too: its heartbeat brought it back
     * online, rendered with the server's sender_type. */
    struct json_object *cu = presence_frames(fc, "customer");
    ck_assert_msg(json_object_array_length(cu) == 1, "customer: %s", json_object_to_json_string(fc));
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(cu, 0), "state"), "online");
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(cu, 0), "sender_id"), c.customer.sub);
    /* The agent heard the customer twice online (who is here at its
     * connect, then back from stale), then offline when it left. */
    struct json_object *back = presence_frames(fa, "customer");
    int onl = 0;
    for (size_t i = 0; i < json_object_array_length(back); i++)
        onl += strcmp(sp_t_jstr(json_object_array_get_idx(back, i), "state"), "online") == 0;
    ck_assert_msg(onl == 2, "agent: %s", json_object_to_json_string(fa));
    json_object_put(back);
    json_object_put(cu);
    json_object_put(ag);
    json_object_put(fa);
    json_object_put(fc);
}
END_TEST

static Suite *
chat_ws_suite(void)
{
    Suite *s = suite_create("chat_ws");
    TCase *tc = sp_t_tcase(s, "ws_race");
    tcase_add_test(tc, frames_racing_a_transfer_to_ticket_are_in_its_transcript_or_not_stored);

    tc = sp_t_tcase(s, "websocket");
    tcase_add_test(tc, customer_and_agent_exchange_stored_frames_over_websocket);
    tcase_add_test(tc, bad_credentials_are_refused_before_the_upgrade);
    tcase_add_test(tc, a_binary_client_frame_reaches_everybody_as_text);
    tcase_add_test(tc, typing_frames_are_relayed_at_most_once_a_second);
    tcase_add_test(tc, invalid_frame_gets_a_private_error_frame_and_the_socket_stays_open);
    tcase_add_test(tc, invalid_utf8_closes_a_text_frame_1007_and_is_invalid_frame_in_a_binary_one);
    tcase_add_test(tc, a_message_that_escaping_grows_past_the_cap_gets_an_error_frame_and_no_row);
    tcase_add_test(tc, a_websocket_message_over_the_session_limit_gets_rate_limited_and_no_row);
    tcase_add_test(tc, an_empty_frame_gets_an_error_frame_and_the_next_message_its_echo);
    tcase_add_test(tc, a_client_id_reused_with_another_body_gets_an_error_frame);
    tcase_add_test(tc, a_frame_over_the_body_limit_gets_frame_too_large_and_the_socket_stays_open);
    tcase_add_test(tc, frames_of_any_size_get_frame_too_large_and_no_nginx_worker_dies);
    tcase_add_test(tc, a_deflate_clients_big_frame_gets_frame_too_large_and_the_next_are_stored);
    tcase_add_test(tc, a_frame_declaring_more_than_memory_is_closed_1011_without_a_crash);
    tcase_add_test(tc, a_stored_message_frame_is_one_database_round_trip);
    tcase_add_test(tc, an_admins_message_frame_to_a_waiting_chat_gets_session_waiting);
    tc = sp_t_tcase(s, "publish");
    tcase_add_test(tc, http_fallback_message_reaches_a_websocket_subscriber);
    tcase_add_test(tc, an_idempotency_key_replay_of_an_http_send_is_not_published_again);
    tcase_add_test(tc, eventsource_receives_the_same_messages);
    tcase_add_test(tc, a_client_id_is_the_senders_own_over_http);
    tcase_add_test(tc, a_client_id_reused_with_another_body_is_422_over_http);
    tcase_add_test(tc, a_websocket_resend_answers_its_sender_only);
    tcase_add_test(tc, accepting_ones_own_chat_again_publishes_nothing);
    tcase_add_test(tc, live_system_frames_carry_the_stored_messages_id_body_and_time);
    tc = sp_t_tcase(s, "presence");
    tcase_add_test(tc, an_agent_stepping_away_is_relayed_to_the_customer);
    tcase_add_test(tc, two_sockets_with_one_request_id_are_two_presence_connections);
    tcase_add_test(tc, an_agent_transferred_away_is_offline_at_once);
    tcase_add_test(tc, an_agent_and_a_customer_connecting_at_once_each_hear_the_other_online);
    tcase_add_test(tc, an_eventsource_stream_that_ends_and_comes_back_is_no_offline);
    tcase_add_test(tc, an_eventsource_stream_that_does_not_come_back_is_offline_after_the_grace);
    tcase_add_test(tc, presence_online_when_the_agent_connects_offline_when_it_leaves);
    tcase_add_test(tc, a_session_id_in_lower_case_joins_the_session);
    tcase_add_test(tc, a_silent_participant_is_reported_offline_after_the_timeout);
    return s;
}

int
main(void)
{
    return sp_t_run(chat_ws_suite());
}
