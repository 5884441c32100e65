/*
 * chat_harness: shared pieces of the chat tests. See chat_harness.h.
 */
#include "chat_harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
sp_t_chat_transfer(const struct sp_t_chat *c, int64_t agent_id)
{
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", c->id),
                                         c->agent.token,
                                         sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}",
                                                  (long long)agent_id));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

/* An agent alone in a fresh team (*team, when asked): waiting chats of
 * the other teams never go to it — earlier programs leave some behind
 * (test_abuse_limits), which would fill an agent of team general as soon
 * as it exists and make a transfer to it 409 agent_unavailable. */
int64_t
sp_t_chat_agent_alone(struct sp_t_user *out, const char **team)
{
    const char *name = sp_t_unique("ws-team");
    if (team != NULL)
        *team = name;
    return sp_t_admin_agent_new(sp_t_fmt("\"team\":%s", sp_t_jq(name)), out);
}

/* An active session: a fresh customer, a fresh agent alone in a fresh
 * round-robin team (so routing assigns it). */
struct sp_t_chat
sp_t_chat_active(void)
{
    struct sp_t_chat c;
    const char *team;
    sp_t_chat_agent_alone(&c.agent, &team);
    const char *cat = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":%s", sp_t_jq(team)));
    c.customer = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json("/support/chat/session", c.customer.token,
                                         sp_t_fmt("{\"category\":%s}", sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    c.id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    c.token = sp_t_fmt("%s", sp_t_jstr(r->json, "session_token"));
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
    sp_t_resp_free(r);
    return c;
}

const char *
sp_t_chat_url(const char *scheme, const char *id, const char *token, const char *access_token)
{
    const char *base = getenv("SP_TEST_BASE_URL");
    ck_assert_ptr_nonnull(base);
    ck_assert(strncmp(base, "http://", 7) == 0);
    const char *q = sp_t_fmt("session_id=%s", sp_t_urlencode(id));
    if (token != NULL)
        q = sp_t_fmt("%s&session_token=%s", q, sp_t_urlencode(token));
    if (access_token != NULL)
        q = sp_t_fmt("%s&access_token=%s", q, sp_t_urlencode(access_token));
    return sp_t_fmt("%s://%s/support/chat/connect?%s", scheme, base + 7, q);
}

/* Single-quoted for sh. */
const char *
sp_t_shq(const char *s)
{
    size_t n = 2;
    for (const char *c = s; *c; c++)
        n += *c == '\'' ? 4 : 1;
    char *out = (char *)sp_t_fmt("%*s", (int)n, "");
    char *o = out;
    *o++ = '\'';
    for (const char *c = s; *c; c++) {
        if (*c == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *c;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

const char *
sp_t_python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Starts the websocket client; extra: more (already quoted) arguments. */
FILE *
sp_t_ws_client(const char *url, const char *extra)
{
    const char *script = getenv("SP_TEST_CHAT_CLIENT");
    ck_assert_ptr_nonnull(script);
    const char *cmd = sp_t_fmt("%s %s %s %s 2>&1", sp_t_python(), sp_t_shq(script), sp_t_shq(url),
                               extra ? extra : "");
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Next JSON line of the client (fails the test at EOF). */
struct json_object *
sp_t_ws_next(FILE *f)
{
    char line[65536];
    for (;;) {
        if (fgets(line, sizeof(line), f) == NULL)
            ck_abort_msg("chat client ended early");
        struct json_object *o = json_tokener_parse(line);
        if (o != NULL && json_object_is_type(o, json_type_object))
            return o;
        fprintf(stderr, "chat client: %s", line);  /* e.g. a Python traceback */
        json_object_put(o);
    }
}

const char *
sp_t_ws_event(struct json_object *o)
{
    struct json_object *e;
    return json_object_object_get_ex(o, "event", &e) ? json_object_get_string(e) : "";
}

/* Starts chat_probe.py MODE URL extra (EventSource, long-poll, stress). */
FILE *
sp_t_chat_probe(const char *mode, const char *url, const char *extra)
{
    const char *top = getenv("SP_TEST_TOP_SRCDIR");
    ck_assert_ptr_nonnull(top);
    const char *script = sp_t_fmt("%s/t/integration/chat_probe.py", top);
    const char *cmd = sp_t_fmt("%s %s %s %s %s 2>&1", sp_t_python(), sp_t_shq(script), mode,
                               sp_t_shq(url), extra ? extra : "");
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    return f;
}

/* nchan's subscriber count of the session's channel, read from the
 * publisher location's channel info on the internal socket; -1 when the
 * channel has none yet (404). */
static long
chat_subscribers(const char *id)
{
    const char *sock = getenv("SP_TEST_CHAT_PUBLISH_SOCKET");
    ck_assert_ptr_nonnull(sock);
    FILE *c = popen(sp_t_fmt("curl -s -H 'Accept: application/json' --unix-socket %s"
                             " http://localhost/internal/chat/publish/%s",
                             sp_t_shq(sock), id),
                    "r");
    ck_assert_ptr_nonnull(c);
    char body[512] = {0};
    size_t n = fread(body, 1, sizeof(body) - 1, c);
    pclose(c);
    body[n] = '\0';
    struct json_object *o = json_tokener_parse(body), *v;
    long subs = -1;
    if (o != NULL && json_object_object_get_ex(o, "subscribers", &v))
        subs = (long)json_object_get_int64(v);
    json_object_put(o);
    return subs;
}

void
sp_t_chat_wait_subscribers(const char *id, long n)
{
    long subs = -1;
    for (int i = 0; i < 300 && (subs = chat_subscribers(id)) < n; i++)
        usleep(50 * 1000);
    ck_assert_msg(subs >= n, "session %s: %ld subscribers after 15 s, want %ld", id, subs, n);
}

long
sp_t_chat_curl(const char *url, const char *extra, const char **content_type, const char **body)
{
    FILE *c = popen(sp_t_fmt("curl -s --max-time 10 -w '\\n%%{http_code} %%{content_type}' %s %s",
                             extra != NULL ? extra : "", sp_t_shq(url)),
                    "r");
    ck_assert_ptr_nonnull(c);
    char out[16384];
    size_t n = fread(out, 1, sizeof(out) - 1, c);
    pclose(c);
    out[n] = '\0';
    char *last = strrchr(out, '\n');
    ck_assert_msg(last != NULL, "curl %s: %s", url, out);
    *last++ = '\0';
    char *space = strchr(last, ' ');
    if (content_type != NULL)
        *content_type = sp_t_fmt("%s", space != NULL ? space + 1 : "");
    if (body != NULL)
        *body = sp_t_fmt("%s", out);
    return strtol(last, NULL, 10);
}

long
sp_t_ws_refusal_status(const char *url, const char *extra)
{
    ck_assert(strncmp(url, "ws://", 5) == 0);
    return sp_t_chat_curl(sp_t_fmt("http://%s", url + 5),
                          sp_t_fmt("--max-time 5 -o /dev/null -H 'Connection: Upgrade'"
                                   " -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13'"
                                   " -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' %s",
                                   extra != NULL ? extra : ""),
                          NULL, NULL);
}

void
sp_t_chat_mark(const char *id, const char *principal, const char *marker)
{
    const char *sock = getenv("SP_TEST_CHAT_PUBLISH_SOCKET");
    ck_assert_ptr_nonnull(sock);
    const char *channel = principal != NULL ? sp_t_fmt("%s/%s", id, principal) : id;
    FILE *c = popen(sp_t_fmt("curl -s -o /dev/null -w '%%{http_code}' --unix-socket %s -X POST"
                             " -H 'Content-Type: application/json' -d %s"
                             " http://localhost/internal/chat/publish/%s",
                             sp_t_shq(sock),
                             sp_t_shq(sp_t_fmt("{\"type\":\"system\",\"event\":\"%s\"}",
                                               marker)),
                             channel),
                    "r");
    ck_assert_ptr_nonnull(c);
    char code[8] = {0};
    bool read = fgets(code, sizeof(code), c) != NULL;
    pclose(c);
    /* 201: delivered to the channel's subscribers (202: it had none) */
    ck_assert_msg(read && strcmp(code, "201") == 0, "marker publish to %s: %s", channel, code);
}

/* Next line whose event is ev_name (other lines are skipped). */
struct json_object *
sp_t_ws_next_event(FILE *f, const char *ev_name)
{
    for (;;) {
        struct json_object *o = sp_t_ws_next(f);
        if (strcmp(sp_t_ws_event(o), ev_name) == 0)
            return o;
        json_object_put(o);
    }
}

void
sp_t_ws_expect_open(FILE *f)
{
    struct json_object *o = sp_t_ws_next(f);
    ck_assert_msg(strcmp(sp_t_ws_event(o), "open") == 0, "expected open, got %s",
                  json_object_to_json_string(o));
    json_object_put(o);
}

struct json_object *
sp_t_ws_drain_to_end(FILE *f, bool *closed)
{
    struct json_object *frames = json_object_new_array();
    if (closed != NULL)
        *closed = false;
    for (;;) {
        struct json_object *o = sp_t_ws_next(f);
        const char *e = sp_t_ws_event(o);
        if (strcmp(e, "frame") == 0) {
            struct json_object *d;
            ck_assert(json_object_object_get_ex(o, "data", &d));
            json_object_array_add(frames, json_object_get(d));
        } else if (strcmp(e, "closed") == 0 && closed == NULL) {
            ck_abort_msg("socket closed: %s", json_object_to_json_string(o));
        } else if (strcmp(e, "done") == 0 || strcmp(e, "closed") == 0) {
            if (closed != NULL)
                *closed = strcmp(e, "closed") == 0;
            json_object_put(o);
            break;
        }
        json_object_put(o);
    }
    pclose(f);
    return frames;
}

struct json_object *
sp_t_ws_drain(FILE *f)
{
    return sp_t_ws_drain_to_end(f, NULL);
}

/* The message frame with this body among frames, or NULL. */
struct json_object *
sp_t_chat_frame(struct json_object *frames, const char *type, const char *body)
{
    for (size_t i = 0; i < json_object_array_length(frames); i++) {
        struct json_object *f = json_object_array_get_idx(frames, i), *t, *b;
        if (json_object_object_get_ex(f, "type", &t) &&
            strcmp(json_object_get_string(t), type) == 0 &&
            (body == NULL ||
             (json_object_object_get_ex(f, "body", &b) &&
              strcmp(json_object_get_string(b), body) == 0)))
            return f;
    }
    return NULL;
}

/* ---- nginx worker crashes ---- */

/* The nginx error logs a crash is looked for in (SP_TEST_LOG_DIR). */
static const char *const nginx_logs[] = {"nginx-error.log", "nginx-chat-error.log"};
_Static_assert(sizeof(nginx_logs) / sizeof(nginx_logs[0]) == SP_T_NGINX_LOGS,
               "one mark per log");
#define NGINX_LOGS SP_T_NGINX_LOGS

struct log_excerpt {
    char text[4000];
    size_t len;
};

/* Counts the lines past *at (which moves on to the end) that hold needle;
 * with why, appends there the lines worth reading about a worker's end
 * (alerts, crits, signals, assertions), at most 4000 bytes. */
static long
scan_log(const char *path, long *at, const char *needle, struct log_excerpt *why)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    fseek(f, *at, SEEK_SET);
    char line[8192];
    long n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, needle) != NULL)
            n++;
        if (why != NULL && why->len < sizeof(why->text) - 1 &&
            (strstr(line, "[alert]") || strstr(line, "[crit]") || strstr(line, "[emerg]") ||
             strstr(line, "signal") || strstr(line, "ssert"))) {
            int k = snprintf(why->text + why->len, sizeof(why->text) - why->len, "%s", line);
            why->len = k < 0 ? why->len : why->len + (size_t)k;
            if (why->len >= sizeof(why->text))
                why->len = sizeof(why->text) - 1;
        }
    }
    *at = ftell(f);
    fclose(f);
    return n;
}

struct sp_t_crash_mark
sp_t_nginx_crash_mark(void)
{
    const char *dir = getenv("SP_TEST_LOG_DIR");
    ck_assert_ptr_nonnull(dir);
    struct sp_t_crash_mark m = {{0}};
    for (size_t i = 0; i < NGINX_LOGS; i++)
        scan_log(sp_t_fmt("%s/%s", dir, nginx_logs[i]), &m.at[i], "exited on signal", NULL);
    return m;
}

/* No nginx worker exited on a signal since m; else fails, quoting what
 * the logs said since (QA: one crash in a CI run, with nothing to read
 * it by but the count). */
void
sp_t_assert_no_nginx_crash_since(struct sp_t_crash_mark m)
{
    const char *dir = getenv("SP_TEST_LOG_DIR");
    struct log_excerpt why = {.len = 0};
    long crashes = 0;
    for (size_t i = 0; i < NGINX_LOGS; i++)
        crashes += scan_log(sp_t_fmt("%s/%s", dir, nginx_logs[i]), &m.at[i],
                            "exited on signal", &why);
    ck_assert_msg(crashes == 0, "%ld nginx worker(s) exited on a signal; the logs said:\n%s",
                  crashes, why.text);
}
