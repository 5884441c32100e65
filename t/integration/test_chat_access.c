/*
 * test_chat_access: who may hear a live chat (API.md §7; issue 8 items
 * 1-3), through real nginx + nchan + support-chat.
 *
 * - The channel is the authorized session. The attack that worked before:
 *   customer B connects with SESSION_ID=<A>&session_id=<B>&<B's tokens>;
 *   nginx read A (first match, any case), the worker authorized B, and B
 *   heard A live. Now any repeated parameter name (any case, any
 *   encoding) is a 400 problem+json on websocket, EventSource and
 *   long-poll, and nothing of A's reaches B.
 * - Server-side publishing lives on nginx's internal unix socket: the
 *   public port answers 404 problem+json for /internal/ (and the bench
 *   baselines), and a forged publish reaches nobody.
 * - Revocation: an agent transferred away, a closed session, an expired
 *   JWT and an expired session (token) each stop the participant's frames
 *   within seconds; the rightful participants keep listening.
 */
#include "chat_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------------- */

static int64_t
http_send(const char *sid, const struct sp_t_user *u, const char *body)
{
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", sid),
                                         u->token, sp_t_fmt("{\"body\":%s}", sp_t_jq(body)));
    sp_t_assert_json(r, 201);
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    return id;
}

/* "http://host:port/support/chat/connect?" + query, for the probes. */
static const char *
connect_url(const char *scheme, const char *query)
{
    const char *base = getenv("SP_TEST_BASE_URL");
    ck_assert_ptr_nonnull(base);
    return sp_t_fmt("%s://%s/support/chat/connect?%s", scheme, base + 7, query);
}

/* Reads a client's lines until "done" (or "closed" when stop_at_close);
 * true when any frame or message carried needle. */
static bool
heard(FILE *f, const char *needle, bool stop_at_close, bool *closed)
{
    bool found = false;
    if (closed != NULL)
        *closed = false;
    for (;;) {
        struct json_object *o = sp_t_ws_next(f);
        const char *ev = sp_t_ws_event(o);
        if (strcmp(ev, "frame") == 0 || strcmp(ev, "message") == 0) {
            if (strstr(json_object_to_json_string(o), needle) != NULL)
                found = true;
        }
        bool end = strcmp(ev, "done") == 0;
        if (strcmp(ev, "closed") == 0 && closed != NULL)
            *closed = true;
        if (strcmp(ev, "closed") == 0 && stop_at_close)
            end = true;
        json_object_put(o);
        if (end)
            return found;
    }
}

/* A websocket handshake to url is refused with status. */
static void
assert_ws_refused(const char *url, long status)
{
    long got = sp_t_ws_refusal_status(url, NULL);
    ck_assert_msg(got == status, "expected a %ld refusal, got %ld", status, got);
}

static void
assert_400_problem_code(const char *body, const char *code)
{
    struct json_object *o = json_tokener_parse(body);
    ck_assert_msg(o != NULL, "not JSON: %s", body);
    ck_assert_str_eq(sp_t_jstr(o, "code"), code);
    ck_assert_int_eq(sp_t_jint(o, "status"), 400);
    /* nginx's refusal and the worker's read alike: the type names the code */
    char type[128];
    snprintf(type, sizeof(type), "https://docs.support.example/errors/%s", code);
    ck_assert_str_eq(sp_t_jstr(o, "type"), type);
    json_object_put(o);
}

/* ---- 1: channel = authorized session -------------------------------------------- */

START_TEST(repeated_session_parameter_is_400_and_a_hears_nothing_of_b)
{
    struct sp_t_chat a = sp_t_chat_active(), b = sp_t_chat_active();
    const char *jb = sp_t_urlencode(b.customer.token), *tb = sp_t_urlencode(b.token);
    /* The exact attack, and its spellings: case, order, encoded name,
     * plain repeat, and a repeated token. */
    const char *queries[] = {
        sp_t_fmt("SESSION_ID=%s&session_id=%s&session_token=%s&access_token=%s", a.id, b.id, tb, jb),
        sp_t_fmt("session_id=%s&Session_Id=%s&session_token=%s&access_token=%s", b.id, a.id, tb, jb),
        sp_t_fmt("session%%5Fid=%s&session_id=%s&session_token=%s&access_token=%s", a.id, b.id, tb, jb),
        sp_t_fmt("session_id=%s&session_id=%s&session_token=%s&access_token=%s", a.id, b.id, tb, jb),
        sp_t_fmt("session_id=%s&session_token=%s&SESSION_TOKEN=x&access_token=%s", b.id, tb, jb),
    };
    /* B, rightfully in its own session, listens all along (it ends at its
     * message: the timeout is only a bound, generous under load). */
    FILE *b_es = sp_t_chat_probe("es", sp_t_chat_url("http", b.id, b.token, b.customer.token),
                                 "--expect 1 --timeout 30");
    struct json_object *st = sp_t_ws_next_event(b_es, "status");
    ck_assert_int_eq(sp_t_jint(st, "status"), 200);
    json_object_put(st);

    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        assert_ws_refused(connect_url("ws", queries[i]), 400);

        /* EventSource and long-poll requests, made by curl */
        const char *ct, *body;
        long status = sp_t_chat_curl(connect_url("http", queries[i]),
                                     "-H 'Accept: text/event-stream'", &ct, &body);
        ck_assert_msg(status == 400, "EventSource, query %zu", i);
        ck_assert(sp_t_matches("^application/problem\\+json", ct));
        assert_400_problem_code(body, "duplicate_parameter");

        status = sp_t_chat_curl(connect_url("http", queries[i]), NULL, NULL, &body);
        ck_assert_msg(status == 400, "long-poll, query %zu", i);
        assert_400_problem_code(body, "duplicate_parameter");
    }
    /* A's secret goes to A's session only; B then hears its own. */
    http_send(a.id, &a.customer, "my card number is 4111 1111 1111 1111");
    http_send(b.id, &b.customer, "B's own message");
    struct json_object *m = sp_t_ws_next_event(b_es, "message");
    ck_assert_msg(strstr(sp_t_jstr(m, "data"), "B's own message") != NULL, "B heard: %s",
                  sp_t_jstr(m, "data"));
    json_object_put(m);
    pclose(b_es);
}
END_TEST

/* The same attack by an agent (agents see every waiting session id). */
START_TEST(agent_cannot_join_another_session_through_a_repeated_parameter)
{
    struct sp_t_chat a = sp_t_chat_active(), b = sp_t_chat_active();
    const char *q = sp_t_fmt("session_id=%s&SESSION_ID=%s&access_token=%s", b.id, a.id,
                             sp_t_urlencode(b.agent.token));
    assert_ws_refused(connect_url("ws", q), 400);
    /* and without the repeat, A is simply not the agent's session */
    assert_ws_refused(sp_t_chat_url("ws", a.id, NULL, b.agent.token), 403);
}
END_TEST

/* A connect URL with more parameters than the worker judges is refused
 * with a code of its own, not as a repeat it may not have. */
START_TEST(connect_url_with_33_parameters_is_400_too_many_parameters)
{
    struct sp_t_chat a = sp_t_chat_active();
    const char *q = sp_t_fmt("session_id=%s&session_token=%s&access_token=%s", a.id,
                             sp_t_urlencode(a.token), sp_t_urlencode(a.customer.token));
    for (int i = 0; i < 30; i++)
        q = sp_t_fmt("%s&p%d=1", q, i);
    assert_ws_refused(connect_url("ws", q), 400);
    const char *ct, *body;
    long status = sp_t_chat_curl(connect_url("http", q), "-H 'Accept: text/event-stream'", &ct,
                                 &body);
    ck_assert_int_eq(status, 400);
    ck_assert(sp_t_matches("^application/problem\\+json", ct));
    assert_400_problem_code(body, "too_many_parameters");
    /* one fewer is judged, and let in */
    q = sp_t_fmt("%.*s", (int)(strrchr(q, '&') - q), q);
    FILE *es = sp_t_chat_probe("es", connect_url("http", q), "--expect 0 --timeout 5");
    struct json_object *st = sp_t_ws_next_event(es, "status");
    ck_assert_int_eq(sp_t_jint(st, "status"), 200);
    json_object_put(st);
    pclose(es);
}
END_TEST

/* ---- 2: internal endpoints off the public listener ----------------------------- */

START_TEST(internal_endpoints_are_404_on_the_public_port_and_forge_nothing)
{
    struct sp_t_chat a = sp_t_chat_active();
    /* It reads up to the probe published last (a channel keeps its order). */
    FILE *es = sp_t_chat_probe("es", sp_t_chat_url("http", a.id, a.token, a.customer.token),
                               "--expect 1000 --until '\"event\":\"probe\"' --timeout 4");
    json_object_put(sp_t_ws_next_event(es, "status"));
    usleep(300 * 1000);
    const char *forged = "{\"type\":\"message\",\"id\":1,\"sender_type\":\"agent\",\"body\":\"forged\"}";
    const char *paths[] = {
        sp_t_fmt("/internal/chat/publish/%s", a.id),
        sp_t_fmt("/internal/chat/publish/%s/customer-%s", a.id, a.customer.sub),
        "/internal/chat/frame-worker",
        "/internal/chat/presence-worker/online",
        "/internal/chat/auth",
        "/internal/chat/frame",
        "/internal/chat/presence/offline",
        "/internal/",
        "/bench/hello",
        "/bench/nginx",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct sp_t_resp *r = sp_t_request("POST", paths[i], NULL, SP_T_JSON, forged, NULL);
        ck_assert_msg(r->status == 404, "%s answered %ld", paths[i], r->status);
        sp_t_assert_problem(r, 404, "not_found");
        sp_t_resp_free(r);
        r = sp_t_get(paths[i], NULL);
        sp_t_assert_problem(r, 404, "not_found");
        sp_t_resp_free(r);
    }
    /* The same publish through the internal socket is delivered: the
     * listener above was live, and only the forged copies were refused. */
    const char *sock = getenv("SP_TEST_CHAT_PUBLISH_SOCKET");
    ck_assert_ptr_nonnull(sock);
    const char *cmd = sp_t_fmt("curl -s -o /dev/null -w '%%{http_code}' --unix-socket %s -X POST"
                               " -H 'Content-Type: application/json' -d %s"
                               " http://localhost/internal/chat/publish/%s",
                               sp_t_shq(sock), sp_t_shq("{\"type\":\"system\",\"event\":\"probe\"}"),
                               a.id);
    FILE *c = popen(cmd, "r");
    char code[8] = {0};
    ck_assert(fgets(code, sizeof(code), c) != NULL);
    pclose(c);
    ck_assert_str_eq(code, "201");
    bool closed;
    ck_assert_msg(!heard(es, "forged", false, &closed), "a forged frame was delivered");
    pclose(es);
}
END_TEST

/* limit_conn on the connect URL: one address holds at most N. */
START_TEST(chat_connections_per_address_are_capped)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *cap = getenv("SP_TEST_CHAT_CONN_PER_IP");
    ck_assert_ptr_nonnull(cap);
    int n = atoi(cap);
    ck_assert_int_gt(n, 0);
    const char *url = sp_t_chat_url("http", c.id, c.token, c.customer.token);
    const char *pids = sp_t_fmt("%s/%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                                sp_t_unique("chat-conn-pids"));
    /* n long-polls that wait (no message comes) */
    ck_assert_int_eq(system(sp_t_fmt("for i in $(seq %d); do curl -s -o /dev/null --max-time 8 %s &"
                                     " echo $! >>%s; done", n, sp_t_shq(url), pids)), 0);
    sp_t_chat_wait_subscribers(c.id, n);
    FILE *lp = sp_t_chat_probe("longpoll", url, "--timeout 3");
    struct json_object *o = sp_t_ws_next_event(lp, "answer");
    pclose(lp);
    ck_assert_int_eq(sp_t_jint(o, "status"), 429);
    struct json_object *body = json_tokener_parse(sp_t_jstr(o, "body"));
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(sp_t_jstr(body, "code"), "rate_limited");
    json_object_put(body);
    json_object_put(o);
    ck_assert_int_eq(system(sp_t_fmt("kill $(cat %s) 2>/dev/null; rm -f %s", pids, pids)), 0);
    usleep(500 * 1000);
    /* freed: a new one is let in (and waits: no answer within 1 s) */
    lp = sp_t_chat_probe("longpoll", url, "--timeout 1");
    o = sp_t_ws_next(lp);
    pclose(lp);
    ck_assert_msg(strcmp(sp_t_ws_event(o), "timeout") == 0, "%s", json_object_to_json_string(o));
    json_object_put(o);
    /* API.md §7: no log keeps a chat URL's query — the refusals above are
     * the lines nginx would log with the request line, tokens and all. */
    const char *dir = getenv("SP_TEST_LOG_DIR");
    ck_assert_ptr_nonnull(dir);
    const char *secrets[] = {c.token, c.customer.token};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        ck_assert_msg(system(sp_t_fmt("grep -rqF -e %s %s", sp_t_shq(secrets[i]),
                                      sp_t_shq(dir))) != 0,
                      "a chat token is written in a log of %s", dir);
}
END_TEST

START_TEST(internal_socket_is_group_only)
{
    const char *sock = getenv("SP_TEST_CHAT_PUBLISH_SOCKET");
    ck_assert_ptr_nonnull(sock);
    struct stat st;
    ck_assert_int_eq(stat(sock, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0660);
    char *dir = strdup(sock);
    *strrchr(dir, '/') = '\0';
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0750);
    free(dir);
}
END_TEST

/* ---- 3: revocation ---------------------------------------------------------------- */

static FILE *
ws_listen(const char *url, const char *seconds)
{
    FILE *ws = sp_t_ws_client(url, sp_t_fmt("--expect 1000 --timeout %s", seconds));
    /* Unbuffered: poll() on its descriptor sees every line still to read. */
    setvbuf(ws, NULL, _IONBF, 0);
    sp_t_ws_expect_open(ws);
    return ws;
}

/* The same, reading up to the marker `until` (sp_t_chat_mark). */
static FILE *
ws_listen_until(const char *url, const char *seconds, const char *until)
{
    FILE *ws = sp_t_ws_client(url, sp_t_fmt("--expect 1000 --until %s --timeout %s",
                                            sp_t_shq(until), seconds));
    sp_t_ws_expect_open(ws);
    return ws;
}

/* Whether the client f (unbuffered) ended by now, reading what it said so
 * far without waiting; *heard_needle is set when a frame carried needle. */
static bool
ended_by_now(FILE *f, const char *needle, bool *heard_needle, bool *closed)
{
    struct pollfd pfd = {fileno(f), POLLIN, 0};
    while (poll(&pfd, 1, 0) > 0) {
        struct json_object *o = sp_t_ws_next(f);
        const char *ev = sp_t_ws_event(o);
        *heard_needle = *heard_needle || strstr(json_object_to_json_string(o), needle) != NULL;
        bool end = strcmp(ev, "closed") == 0 || strcmp(ev, "done") == 0;
        *closed = *closed || strcmp(ev, "closed") == 0;
        json_object_put(o);
        if (end)
            return true;
    }
    return false;
}

/* After what cut the listener ws off (half a second to settle): the
 * customer's message `what` never reaches it, and its socket was closed
 * by the server. Closes ws. */
static void
assert_cut_off(FILE *ws, const struct sp_t_chat *c, const char *what)
{
    usleep(500 * 1000);
    http_send(c->id, &c->customer, what);
    bool closed;
    ck_assert_msg(!heard(ws, what, true, &closed), "the listener still heard: %s", what);
    ck_assert_msg(closed, "the listener's socket was not closed (%s)", what);
    pclose(ws);
}

START_TEST(agent_transferred_away_stops_hearing_the_chat)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct sp_t_user other;
    int64_t other_id = sp_t_chat_agent_alone(&other, NULL);
    const char *done = sp_t_unique("done");
    FILE *old_agent = ws_listen(sp_t_chat_url("ws", c.id, NULL, c.agent.token), "6");
    FILE *customer = ws_listen_until(sp_t_chat_url("ws", c.id, c.token, c.customer.token), "6",
                                     done);
    usleep(300 * 1000);
    sp_t_chat_transfer(&c, other_id);
    assert_cut_off(old_agent, &c, "after the transfer");
    /* the customer stayed, and heard it (up to a marker published after
     * the old agent was cut off) */
    sp_t_chat_mark(c.id, NULL, done);
    bool closed;
    ck_assert(heard(customer, "after the transfer", false, &closed));
    ck_assert(!closed);
    pclose(customer);
    /* the old agent cannot come back; the new one can */
    assert_ws_refused(sp_t_chat_url("ws", c.id, NULL, c.agent.token), 403);
    FILE *fresh = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, other.token), "--timeout 3");
    sp_t_ws_expect_open(fresh);
    pclose(fresh);
}
END_TEST

/* An admin (or agent) an admin deactivated (API.md §6) stops hearing
 * every chat it listened to, at once, and may not connect again: 403,
 * as its every other request. */
START_TEST(a_deactivated_admin_is_disconnected_and_refused)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct sp_t_user adm = sp_t_user_new(SP_ROLE_ADMIN);
    int64_t id = sp_t_agent_id(&adm);
    const char *url = sp_t_chat_url("ws", c.id, NULL, adm.token);
    FILE *watcher = ws_listen(url, "6");
    usleep(300 * 1000);
    struct sp_t_resp *r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld",
                                                        (long long)id),
                                     "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    assert_cut_off(watcher, &c, "after the deactivation");
    assert_ws_refused(url, 403);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_grants"
                              " WHERE principal LIKE 'admin-%s.%%'", adm.sub), "0");
}
END_TEST

START_TEST(closing_the_session_disconnects_everyone_after_the_closed_frame)
{
    struct sp_t_chat c = sp_t_chat_active();
    FILE *agent = ws_listen(sp_t_chat_url("ws", c.id, NULL, c.agent.token), "6");
    FILE *es = sp_t_chat_probe("es", sp_t_chat_url("http", c.id, c.token, c.customer.token),
                               "--expect 1000 --timeout 6");
    json_object_put(sp_t_ws_next_event(es, "status"));
    usleep(300 * 1000);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/close", c.id),
                                         c.customer.token, NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    bool closed;
    ck_assert(heard(agent, "\"closed\"", true, &closed));
    ck_assert_msg(closed, "the agent's socket stayed open");
    pclose(agent);
    /* EventSource: the closed frame, then the stream ends well before
     * the probe's own 6 s. */
    time_t t0 = time(NULL);
    /* (the data is JSON text inside the probe's JSON line: escaped) */
    ck_assert(heard(es, "\\\"closed\\\"", false, NULL));
    ck_assert_int_lt(time(NULL) - t0, 4);
    pclose(es);
}
END_TEST

/* A customer JWT of c's that the server accepts for accepted_for more
 * seconds: issued 100 s ago, expired 60 - accepted_for s ago (the
 * leeway is 60 s). */
static const char *
expiring_customer_token(const struct sp_t_chat *c, int accepted_for)
{
    return sp_t_token_raw(sp_t_jwt_default_kid(), sp_t_jwt_secret(sp_t_jwt_default_kid()),
                          c->customer.sub, SP_ROLE_CUSTOMER, time(NULL) - 100,
                          40 + accepted_for);
}

START_TEST(expired_jwt_stops_hearing_within_seconds)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *short_token = expiring_customer_token(&c, 3);
    FILE *ws = ws_listen(sp_t_chat_url("ws", c.id, c.token, short_token), "12");
    http_send(c.id, &c.agent, "before expiry");
    /* The agent keeps talking; the listener must be cut within seconds of
     * its expiry (sweep every 2 s, driven by the chat traffic): 8 s of
     * ticks at most, fewer once it is. */
    bool ended = false, late = false, closed = false;
    for (int i = 0; i < 16 && !ended; i++) {
        usleep(500 * 1000);
        http_send(c.id, &c.agent, sp_t_fmt("tick %d", i));
        ended = ended_by_now(ws, "long after expiry", &late, &closed);
    }
    http_send(c.id, &c.agent, "long after expiry");
    if (!ended)
        late = heard(ws, "long after expiry", true, &closed);
    ck_assert_msg(!late, "an expired listener still hears the chat");
    ck_assert(closed);
    pclose(ws);
    /* and it cannot come back with that token */
    assert_ws_refused(sp_t_chat_url("ws", c.id, c.token, short_token), 401);
}
END_TEST

/* QA: with only HTTP sends as traffic, an expired customer kept hearing
 * the chat. The global sweep takes the oldest expired grants, 200 a pass
 * and a pass per 2 s per process, so a backlog of other grants kept it
 * from this one; a publish now first cuts off the session's own expired
 * listeners. */
START_TEST(expired_jwt_is_cut_off_by_http_sends_despite_a_sweep_backlog)
{
    struct sp_t_chat c = sp_t_chat_active(), other = sp_t_chat_active();
    sp_t_sql("INSERT INTO support_chat_grants (session_public_id, principal, expires_at)"
             " SELECT '%s', 'customer-backlog' || g, now() - interval '1 hour'"
             " FROM generate_series(1, 3000) g", other.id);
    /* 4 s: the listener's start and the first send must fit in under load. */
    time_t t0 = time(NULL);
    const char *short_token = expiring_customer_token(&c, 4);
    FILE *ws = ws_listen(sp_t_chat_url("ws", c.id, c.token, short_token), "12");
    http_send(c.id, &c.agent, "before expiry");
    while (time(NULL) < t0 + 6)   /* expired by then */
        usleep(100 * 1000);
    http_send(c.id, &c.agent, "after expiry");
    usleep(300 * 1000);
    http_send(c.id, &c.agent, "after expiry, again");
    bool closed;
    struct json_object *frames = sp_t_ws_drain_to_end(ws, &closed);
    sp_t_sql("DELETE FROM support_chat_grants WHERE principal LIKE 'customer-backlog%%'");
    ck_assert_ptr_nonnull(sp_t_chat_frame(frames, "message", "before expiry"));
    ck_assert_msg(sp_t_chat_frame(frames, "message", "after expiry") == NULL &&
                      sp_t_chat_frame(frames, "message", "after expiry, again") == NULL,
                  "an expired listener heard the chat: %s", json_object_to_json_string(frames));
    ck_assert_msg(closed, "the expired listener's socket stayed open");
    json_object_put(frames);
}
END_TEST

/* The same for a system frame: an expired customer does not hear the
 * chat handed to another agent (nothing else swept in between). */
START_TEST(expired_jwt_does_not_hear_a_system_frame)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct sp_t_user other;
    int64_t other_id = sp_t_chat_agent_alone(&other, NULL);
    const char *short_token = expiring_customer_token(&c, 2);
    FILE *ws = ws_listen(sp_t_chat_url("ws", c.id, c.token, short_token), "8");
    sleep(4);
    sp_t_chat_transfer(&c, other_id);
    bool closed;
    ck_assert_msg(!heard(ws, "transferred", true, &closed),
                  "an expired listener heard the transfer");
    ck_assert_msg(closed, "the expired listener's socket stayed open");
    pclose(ws);
}
END_TEST

START_TEST(expired_session_token_stops_hearing_within_seconds)
{
    struct sp_t_chat c = sp_t_chat_active();
    sp_t_sql("UPDATE support_chat_sessions SET expires_at = now() + interval '3 seconds'"
             " WHERE public_id = '%s'", c.id);
    FILE *es = sp_t_chat_probe("es", sp_t_chat_url("http", c.id, c.token, c.customer.token),
                               "--expect 1000 --timeout 12");
    setvbuf(es, NULL, _IONBF, 0);   /* for ended_by_now */
    json_object_put(sp_t_ws_next_event(es, "status"));
    usleep(300 * 1000);
    /* A frame sent before the session expires arrives; then the chat
     * traffic of another session drives the sweep: 8 s of it at most,
     * less once the listener is gone. */
    struct sp_t_chat other = sp_t_chat_active();
    bool ended = false, late = false, closed = false;
    for (int i = 0; i < 16 && !ended; i++) {
        usleep(500 * 1000);
        http_send(other.id, &other.customer, sp_t_fmt("tick %d", i));
        ended = ended_by_now(es, "after the session expired", &late, &closed);
    }
    sp_t_sql("UPDATE support_chat_sessions SET expires_at = now() + interval '1 hour'"
             " WHERE public_id = '%s'", c.id);
    /* Re-opened behind the listener's back: it must be gone already. */
    http_send(c.id, &c.agent, "after the session expired");
    if (!ended)
        late = heard(es, "after the session expired", false, NULL);
    ck_assert_msg(!late, "a listener of an expired session still hears it");
    pclose(es);
}
END_TEST

/* A frame re-authorizes the connection: a customer whose session token
 * was replaced since the connect is refused (403 closes the socket), and
 * the statement that would store the message counts and stores nothing
 * for a caller it refuses (sp_chat_post_frame checks the same rules the
 * worker answers by). */
START_TEST(a_refused_frame_is_neither_stored_nor_counted)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *ready = sp_t_fmt("%s/%s", dir, sp_t_unique("chat-refused-ready"));
    unlink(ready);
    FILE *f = sp_t_ws_client(sp_t_chat_url("ws", c.id, c.token, c.customer.token),
                             sp_t_fmt("--send %s --send-when %s --expect 1 --timeout 8",
                                      sp_t_shq("{\"type\":\"message\",\"body\":\"after the swap\"}"),
                                      sp_t_shq(ready)));
    sp_t_ws_expect_open(f);
    sp_t_sql("UPDATE support_chat_sessions SET session_token = sha256('another token'::bytea)"
             " WHERE public_id = '%s'", c.id);
    FILE *touch = fopen(ready, "w");
    ck_assert_ptr_nonnull(touch);
    fclose(touch);
    bool closed;
    ck_assert_msg(!heard(f, "after the swap", true, &closed), "a refused message was published");
    pclose(f);
    unlink(ready);
    ck_assert_msg(closed, "the refused connection stayed open");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.body = 'after the swap'", c.id),
                     "0");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_rate_limits"
                              " WHERE bucket = 'chat_message:%s:customer:60'", c.id),
                     "0");
}
END_TEST

/* An admin deactivated behind the connection's back (in SQL: the cut the
 * admin API makes never ran) sends a message frame on its open socket:
 * the frame's one statement refuses it, 403 agent_deactivated — nothing
 * stored or published. */
START_TEST(a_deactivated_admins_frame_on_an_open_socket_is_refused)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct sp_t_user adm = sp_t_user_new(SP_ROLE_ADMIN);
    int64_t id = sp_t_agent_id(&adm);
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *ready = sp_t_fmt("%s/%s", dir, sp_t_unique("chat-deactivated-ready"));
    unlink(ready);
    FILE *f = sp_t_ws_client(sp_t_chat_url("ws", c.id, NULL, adm.token),
                             sp_t_fmt("--send %s --send-when %s --expect 1 --timeout 8",
                                      sp_t_shq("{\"type\":\"message\",\"body\":\"from the gone\"}"),
                                      sp_t_shq(ready)));
    sp_t_ws_expect_open(f);
    sp_t_sql("UPDATE support_agents SET is_active = false WHERE id = %lld", (long long)id);
    FILE *touch = fopen(ready, "w");
    ck_assert_ptr_nonnull(touch);
    fclose(touch);
    bool closed;
    ck_assert_msg(!heard(f, "from the gone", true, &closed), "a deactivated admin was published");
    pclose(f);
    unlink(ready);
    ck_assert_msg(closed, "the deactivated admin's connection stayed open");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.body = 'from the gone'", c.id),
                     "0");
}
END_TEST

/* A websocket on a bare socket that never answers a close frame
 * (chat_probe.py raw), opened. */
static FILE *
raw_listen(const char *url, const char *seconds)
{
    FILE *f = sp_t_chat_probe("raw", url, sp_t_fmt("--timeout %s", seconds));
    struct json_object *o = sp_t_ws_next(f);
    ck_assert_msg(strcmp(sp_t_ws_event(o), "open") == 0, "not open: %s",
                  json_object_to_json_string(o));
    json_object_put(o);
    return f;
}

/* Reads a raw client to its end: whether a close frame came, whether any
 * data frame came after it, and whether a data frame carried needle. */
struct raw_seen {
    bool closed, data_after_close, heard;
};

static struct raw_seen
raw_drain(FILE *f, const char *needle)
{
    struct raw_seen seen = {false, false, false};
    for (;;) {
        struct json_object *o = sp_t_ws_next(f);
        bool done = strcmp(sp_t_ws_event(o), "done") == 0;
        if (!done && sp_t_jint(o, "opcode") == 8) {
            seen.closed = true;
        } else if (!done) {
            seen.data_after_close = seen.data_after_close || seen.closed;
            seen.heard = seen.heard || strstr(sp_t_jstr(o, "data"), needle) != NULL;
        }
        json_object_put(o);
        if (done)
            break;
    }
    pclose(f);
    return seen;
}

/* QA: nchan's memory store (1.3.6, several nginx workers) cannot deliver
 * a second delete of a channel name to another worker's subscribers, so
 * an agent transferred away, transferred back and away again kept hearing
 * the chat (about every other round). Each grant now has its own access
 * channel; every round must cut the outgoing agent off. */
START_TEST(agent_transferred_back_and_forth_is_cut_off_every_time)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct sp_t_user other;
    struct sp_t_resp *got = sp_t_get(sp_t_fmt("/support/chat/session/%s", c.id), c.agent.token);
    sp_t_assert_json(got, 200);
    int64_t ids[2] = {sp_t_jint(got->json, "assigned_agent_id"),
                      sp_t_chat_agent_alone(&other, NULL)};
    sp_t_resp_free(got);
    const struct sp_t_user *agents[2] = {&c.agent, &other};
    for (int round = 0; round < 6; round++) {
        int from = round % 2, to = 1 - from;
        FILE *ws = raw_listen(sp_t_chat_url("ws", c.id, NULL, agents[from]->token), "3");
        usleep(300 * 1000);
        struct sp_t_resp *r = sp_t_post_json(
            sp_t_fmt("/support/chat/session/%s/transfer", c.id), agents[from]->token,
            sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)ids[to]));
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
        const char *secret = sp_t_fmt("secret of round %d", round);
        http_send(c.id, &c.customer, secret);
        struct raw_seen seen = raw_drain(ws, secret);
        ck_assert_msg(!seen.heard, "round %d: the agent transferred away heard the chat", round);
        ck_assert_msg(seen.closed, "round %d: no close frame", round);
        ck_assert_msg(!seen.data_after_close, "round %d: data after the close frame", round);
    }
}
END_TEST

/* QA: a websocket whose JWT ran out got its close frame and then the next
 * message as a data frame anyway (nchan keeps a closing websocket 250 ms,
 * RFC 6455 §5.5.1 forbids it). */
START_TEST(an_expired_listener_gets_no_frame_after_its_close_frame)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *short_token = expiring_customer_token(&c, 2);
    FILE *ws = raw_listen(sp_t_chat_url("ws", c.id, c.token, short_token), "6");
    sleep(4);
    http_send(c.id, &c.agent, "after expiry");
    struct raw_seen seen = raw_drain(ws, "after expiry");
    ck_assert_msg(seen.closed, "no close frame");
    ck_assert_msg(!seen.data_after_close, "data after the close frame");
    ck_assert_msg(!seen.heard, "an expired listener heard the chat");
}
END_TEST

/* QA: an Idempotency-Key replay of the create answers a fresh session
 * token (only the hash is kept, the first cannot be repeated), but a
 * socket opened with the old token kept listening. The replay revokes
 * the old token's connections like any lost access. */
START_TEST(a_replayed_create_cuts_off_the_old_tokens_connection)
{
    struct sp_t_user cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *key = sp_t_unique("chat-key");
    const char *body = sp_t_fmt("{\"category\":%s}", sp_t_jq(sp_t_admin_category_new(NULL)));
    const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", key), NULL};
    struct sp_t_resp *r = sp_t_request("POST", "/support/chat/session", cust.token, SP_T_JSON,
                                       body, hdr);
    sp_t_assert_json(r, 201);
    const char *sid = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    const char *old_token = sp_t_fmt("%s", sp_t_jstr(r->json, "session_token"));
    sp_t_resp_free(r);
    FILE *ws = ws_listen(sp_t_chat_url("ws", sid, old_token, cust.token), "6");
    usleep(300 * 1000);
    r = sp_t_request("POST", "/support/chat/session", cust.token, SP_T_JSON, body, hdr);
    ck_assert_str_eq(sp_t_jstr(r->json, "session_id"), sid);
    const char *new_token = sp_t_fmt("%s", sp_t_jstr(r->json, "session_token"));
    ck_assert_str_ne(new_token, old_token);
    sp_t_resp_free(r);
    http_send(sid, &cust, "after the replay");
    bool closed;
    ck_assert_msg(!heard(ws, "after the replay", true, &closed),
                  "the old token's connection still heard the chat");
    ck_assert_msg(closed, "the old token's connection stayed open");
    pclose(ws);
    assert_ws_refused(sp_t_chat_url("ws", sid, old_token, cust.token), 403);
    FILE *fresh = sp_t_ws_client(sp_t_chat_url("ws", sid, new_token, cust.token), "--timeout 3");
    sp_t_ws_expect_open(fresh);
    pclose(fresh);
}
END_TEST

static Suite *
chat_access_suite(void)
{
    Suite *s = suite_create("chat_access");
    TCase *tc = sp_t_tcase(s, "isolation");
    tcase_add_test(tc, repeated_session_parameter_is_400_and_a_hears_nothing_of_b);
    tcase_add_test(tc, agent_cannot_join_another_session_through_a_repeated_parameter);
    tcase_add_test(tc, connect_url_with_33_parameters_is_400_too_many_parameters);
    tcase_add_test(tc, internal_endpoints_are_404_on_the_public_port_and_forge_nothing);
    tcase_add_test(tc, internal_socket_is_group_only);
    tcase_add_test(tc, chat_connections_per_address_are_capped);
    tc = sp_t_tcase(s, "revocation");
    tcase_add_test(tc, agent_transferred_away_stops_hearing_the_chat);
    tcase_add_test(tc, a_deactivated_admin_is_disconnected_and_refused);
    tcase_add_test(tc, closing_the_session_disconnects_everyone_after_the_closed_frame);
    tcase_add_test(tc, expired_jwt_stops_hearing_within_seconds);
    tcase_add_test(tc, expired_session_token_stops_hearing_within_seconds);
    tcase_add_test(tc, expired_jwt_is_cut_off_by_http_sends_despite_a_sweep_backlog);
    tcase_add_test(tc, expired_jwt_does_not_hear_a_system_frame);
    tcase_add_test(tc, a_refused_frame_is_neither_stored_nor_counted);
    tcase_add_test(tc, a_deactivated_admins_frame_on_an_open_socket_is_refused);
    tcase_add_test(tc, agent_transferred_back_and_forth_is_cut_off_every_time);
    tcase_add_test(tc, an_expired_listener_gets_no_frame_after_its_close_frame);
    tcase_add_test(tc, a_replayed_create_cuts_off_the_old_tokens_connection);
    return s;
}

int
main(void)
{
    return sp_t_run(chat_access_suite());
}
