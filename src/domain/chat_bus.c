/*
 * chat_bus: frames and publishing to nchan. See chat_bus.h.
 */
#include "domain/chat_bus.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/http_client.h"
#include "core/log.h"
#include "domain/attachment_json.h"

/* The sender_id a staff message shows in frame view `staff` false (what
 * customers receive): the agent's row id as text, as assigned_agent_id
 * names them, never the staff member's user id; NULL for an admin who is
 * no agent. Staff views keep the stored user id. buf holds the text. */
static const char *
shown_sender_id(const struct sp_chat_message *m, bool staff, char buf[24])
{
    if (staff || m->sender_type == NULL || strcmp(m->sender_type, "agent") != 0)
        return m->sender_id;
    if (m->agent_id == 0)
        return NULL;
    snprintf(buf, 24, "%lld", m->agent_id);
    return buf;
}

void
sp_chat_frame_message(struct sp_jw *w, const struct sp_chat_message *m, bool staff)
{
    bool system = m->event != NULL;   /* a system frame names no sender or client id */
    bool agent = !system && m->sender_type != NULL && strcmp(m->sender_type, "agent") == 0;
    char id[24];
    sp_jw_object(w);
    sp_jw_kstr(w, "type", system ? "system" : "message");
    if (system)
        sp_jw_kstr(w, "event", m->event);
    sp_jw_kint(w, "id", m->id);
    sp_jw_kint(w, "seq", m->seq);
    sp_jw_kstr(w, "session_id", m->session_public_id);
    if (!system) {
        sp_jw_kstr(w, "sender_type", m->sender_type);
        sp_jw_kstr(w, "sender_id", shown_sender_id(m, staff, id));
    }
    /* Who is helping, as the session's assigned_agent_id and
     * assigned_agent_name name them (QA: customers never learnt it). */
    if (agent || (system && m->agent_id != 0)) {
        sp_jw_kint_or_null(w, "agent_id", m->agent_id);
        sp_jw_kstr(w, system ? "agent_name" : "sender_name", m->sender_name);
    }
    sp_jw_kstr(w, "body", m->body);
    if (!system)   /* the metadata of API.md §10, as ticket messages list them */
        sp_attachment_json_list(w, "attachments", m->attachments_json);
    sp_jw_kstr(w, "created_at", m->created_at);
    if (!system)
        sp_jw_kstr(w, "client_id", m->client_id);
    sp_jw_end(w);
}

/* One handle per process (workers publish one frame at a time); created
 * lazily, so after fork. Keeps the loopback connection alive. */
static CURL *bus_curl;
static bool bus_init_done;

/* A session id (alnum), or a participant's channel: "<role>-<sub>", or
 * "<role>-<sub>.<access>" for the access channel of one grant
 * (chat_access.h). */
static bool
chan_part_ok(const char *s, bool principal)
{
    size_t n = 0;
    const char *part = s;   /* where the current alnum run starts */
    bool dash = false, dot = false;
    for (const char *c = s; *c; c++, n++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))
            continue;
        bool sep = principal && c > part && ((*c == '-' && !dash) || (*c == '.' && dash && !dot));
        if (!sep)
            return false;
        dot = dot || *c == '.';
        dash = true;
        part = c + 1;
    }
    return n > 0 && n <= 130 && *part != '\0' && (!principal || dash);
}

/* Set from the settings at worker start and on reload (owned by them). */
static const char *bus_base;
static const char *bus_socket;

void
sp_chat_bus_set_url(const char *url, const char *unix_socket)
{
    bus_base = url;
    bus_socket = unix_socket != NULL && *unix_socket != '\0' ? unix_socket : NULL;
}

bool
sp_chat_bus_on(void)
{
    return bus_base != NULL && *bus_base != '\0';
}

/* One request to the publisher: POST json, or DELETE (json NULL) of the
 * channel. *existed (may be NULL): a DELETE found the channel (200). */
static bool
bus_request(const char *session_id, const char *principal, const char *json, size_t len,
            bool *existed)
{
    const char *base = bus_base;
    if (base == NULL || *base == '\0')
        return true;
    if (!chan_part_ok(session_id, false) || (principal != NULL && !chan_part_ok(principal, true))) {
        sp_log_msg(SP_LOG_WARN, "chat_publish_failed", "bad channel name");
        return false;
    }
    if (!bus_init_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        bus_init_done = true;
    }
    if (bus_curl == NULL && (bus_curl = curl_easy_init()) == NULL) {
        sp_log_msg(SP_LOG_WARN, "chat_publish_failed", "curl_easy_init failed");
        return false;
    }
    char url[512];
    int n = snprintf(url, sizeof(url), "%s/%s%s%s", base, session_id, principal ? "/" : "",
                     principal ? principal : "");
    if (n < 0 || (size_t)n >= sizeof(url)) {
        sp_log_msg(SP_LOG_WARN, "chat_publish_failed", "publish URL too long");
        return false;
    }
    CURL *h = bus_curl;
    curl_easy_reset(h);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (bus_socket != NULL)
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, bus_socket);
    if (json != NULL) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sp_http_discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        sp_log_msg(SP_LOG_WARN, "chat_publish_failed", "%s", curl_easy_strerror(rc));
        return false;
    }
    /* Publish: 201 delivered, 202 queued. Delete: 200 deleted, 404 there
     * was no such channel (nobody to disconnect). */
    bool ok = json != NULL ? status == 200 || status == 201 || status == 202
                           : status == 200 || status == 404;
    if (existed != NULL)
        *existed = json == NULL && status == 200;
    if (!ok)
        sp_log_msg(SP_LOG_WARN, "chat_publish_failed", "publisher answered %ld", status);
    return ok;
}

bool
sp_chat_bus_publish(const char *session_id, const char *principal, const char *json,
                    size_t len)
{
    return bus_request(session_id, principal, json != NULL ? json : "", len, NULL);
}

bool
sp_chat_bus_kick(const char *session_id, const char *principal, bool *existed)
{
    if (existed != NULL)
        *existed = false;
    return bus_request(session_id, principal, NULL, 0, existed);
}

void
sp_chat_bus_system(struct sp_arena *a, const char *session_id, const char *event,
                   const struct sp_chat_system_extra *extra)
{
    struct sp_buf b;
    struct sp_jw w;
    sp_buf_init(&b, a, 256);
    sp_jw_begin_object(&w, &b);
    const struct sp_chat_message *m = extra != NULL ? extra->stored : NULL;
    if (m != NULL && m->id == 0)
        m = NULL;
    sp_jw_kstr(&w, "type", "system");
    sp_jw_kstr(&w, "event", event);
    if (m != NULL) {
        sp_jw_kint(&w, "id", m->id);
        sp_jw_kint(&w, "seq", m->seq);
    }
    sp_jw_kstr(&w, "session_id", session_id);
    if (extra != NULL && extra->agent_id != 0) {
        sp_jw_kint(&w, "agent_id", extra->agent_id);
        /* the stored message names the same agent (sp_chat_system_message) */
        sp_jw_kstr(&w, "agent_name", m != NULL ? m->sender_name : NULL);
    }
    if (extra != NULL && extra->ticket_id != NULL)
        sp_jw_kstr(&w, "ticket_id", extra->ticket_id);
    if (m != NULL) {
        sp_jw_kstr(&w, "body", m->body);
        sp_jw_kstr(&w, "created_at", m->created_at);
    }
    sp_jw_end(&w);
    sp_chat_bus_publish(session_id, NULL, b.data, b.len);
}

/* ---- nchan_stub_status ------------------------------------------------- */

static const struct {
    const char *name;
    size_t off;
} stat_fields[] = {
    {"total published messages", offsetof(struct sp_chat_bus_stats, published)},
    {"stored messages", offsetof(struct sp_chat_bus_stats, stored)},
    {"channels", offsetof(struct sp_chat_bus_stats, channels)},
    {"subscribers", offsetof(struct sp_chat_bus_stats, subscribers)},
};

/* One "name: value" line; value a decimal of at most 18 digits. */
static void
parse_stat_line(const char *s, size_t n, struct sp_chat_bus_stats *out)
{
    const char *colon = memchr(s, ':', n);
    if (colon == NULL)
        return;
    size_t klen = (size_t)(colon - s), i = klen + 1;
    while (i < n && s[i] == ' ')
        i++;
    long long v = 0;
    size_t digits = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9' && digits < 18; i++, digits++)
        v = v * 10 + (s[i] - '0');
    if (digits == 0 || (i < n && s[i] != '\r' && s[i] != ' '))
        return;
    for (size_t f = 0; f < sizeof(stat_fields) / sizeof(stat_fields[0]); f++) {
        if (strlen(stat_fields[f].name) == klen && memcmp(stat_fields[f].name, s, klen) == 0) {
            *(long long *)((char *)out + stat_fields[f].off) = v;
            out->found++;
        }
    }
}

void
sp_chat_bus_parse_stats(const char *text, size_t len, struct sp_chat_bus_stats *out)
{
    memset(out, 0, sizeof(*out));
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            parse_stat_line(text + start, i - start, out);
            start = i + 1;
        }
    }
}

struct stat_body {
    char data[4096];
    size_t len;
};

static size_t
keep_stat_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct stat_body *b = ud;
    size_t n = size * nmemb, room = sizeof(b->data) - b->len;
    memcpy(b->data + b->len, ptr, n < room ? n : room);
    b->len += n < room ? n : room;
    return n;
}

bool
sp_chat_bus_stats(struct sp_chat_bus_stats *out)
{
    memset(out, 0, sizeof(*out));
    const char *base = bus_base, *cut = base != NULL ? strstr(base, "/internal/") : NULL;
    if (cut == NULL)
        return false;
    char url[512];
    int n = snprintf(url, sizeof(url), "%.*s/internal/nchan/status", (int)(cut - base), base);
    if (n < 0 || (size_t)n >= sizeof(url))
        return false;
    if (!bus_init_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        bus_init_done = true;
    }
    if (bus_curl == NULL && (bus_curl = curl_easy_init()) == NULL)
        return false;
    static struct stat_body body;
    body.len = 0;
    CURL *h = bus_curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (bus_socket != NULL)
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, bus_socket);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_stat_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    long status = 0;
    if (curl_easy_perform(h) != CURLE_OK)
        return false;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return false;
    sp_chat_bus_parse_stats(body.data, body.len, out);
    return out->found > 0;
}
