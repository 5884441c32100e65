/*
 * channels: outbox rows as mails and notification-service requests. See
 * channels.h.
 */
#include "domain/channels.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/fd.h"
#include "core/http_client.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/keyring.h"
#include "core/mail_idn.h"
#include "core/mime.h"
#include "core/phone.h"
#include "core/rfc3339.h"
#include "core/sanitize.h"
#include "core/sms.h"
#include "core/template.h"
#include "core/url_guard.h"
#include "core/utf8.h"
#include "domain/contacts.h"
#include "domain/mail_thread.h"
#include "domain/reply_address.h"
#include "domain/ticket_subject.h"

#define SP_PAGE_URL_EXPECTED                                                                       \
    "an http(s) URL with {id} once, e.g. https://example.com/help/tickets/{id}"

/* API.md §11: 10 s per delivery to an HTTP receiver; a relay that takes
 * longer than 30 s to accept one mail is as good as down. Both stay well
 * under the shortest lease (SUPPORT_DISPATCH_LEASE_S >= 60). */
#define NOTIFY_TIMEOUT_S 10
#define SMTP_TIMEOUT_S 30
/* Each reply of the relay, QUIT's among them: curl waits 120 s for one by
 * default, and waits for QUIT's outside any transfer's timeout, when it
 * closes the connection, so a relay that never answers it held a
 * stopping dispatcher two minutes, past its unit's TimeoutStopSec (QA).
 * The transfer's own timeout leaves room for that wait, so a mail with
 * its QUIT takes SMTP_TIMEOUT_S at most (QA: 30 s + 15 s). */
#define SMTP_REPLY_TIMEOUT_S 10
#define SMTP_TRANSFER_TIMEOUT_S (SMTP_TIMEOUT_S - SMTP_REPLY_TIMEOUT_S)
#define CONNECT_TIMEOUT_S 5
/* A customer's name as mails and notifications greet them (the agents'
 * display names have the same cap). */
#define NAME_MAX_POINTS 200

struct sp_channels {
    const struct sp_config *cfg;   /* outlives the channels (the program's settings) */
    struct sp_tpl_set *tpl;
    struct sp_crypto *crypto;      /* NULL without SUPPORT_ENCRYPTION_KEYS: no contacts */
    const char *domain;            /* of SUPPORT_MAIL_FROM: names Message-IDs */
    struct sp_keyring_keys *reply_keys;  /* NULL: customer mails take no replies */
    struct sp_token_key msg_key;   /* seals the row id in a Message-ID (domain/mail_thread) */
};

/* SUPPORT_PORTAL_URL and the console's pages: unset, or an http(s) URL
 * naming {id} once, with nothing a mail's link or its text would cut or
 * quote wrong (QA: a "<", '"' or blank went into href as written). */
static bool
page_url_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return true;
    const char *at = strstr(s, "{id}");
    for (const char *c = s; *c != '\0'; c++)
        if (strchr(" <>\"\\", *c) != NULL || sp_ascii_control(*c))
            return false;
    return (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) && at != NULL &&
           strstr(at + 4, "{id}") == NULL;
}

/* Unset, or an http(s) URL (core/url_guard's syntax: a host, no
 * user:password@, no fragment, no blanks or control characters). */
static bool
http_url_ok(const char *s)
{
    struct sp_url u;
    return s == NULL || *s == '\0' || sp_url_parse(s, &u);
}

/* Unset, or smtp://host[:port] or smtps://host[:port]: the host and port
 * read as an http URL's, and nothing else — a user:password@ would send
 * the password from the settings file, not SUPPORT_SMTP_PASSWORD_FILE,
 * and a path becomes curl's EHLO name (QA: both were accepted). */
static bool
smtp_url_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return true;
    const char *rest = strncmp(s, "smtp://", 7) == 0    ? s + 7
                       : strncmp(s, "smtps://", 8) == 0 ? s + 8
                                                        : NULL;
    if (rest == NULL || rest[strcspn(rest, "/?#@")] != '\0')
        return false;
    char http[SP_URL_MAX + 1];
    return (size_t)snprintf(http, sizeof(http), "http://%s", rest) < sizeof(http) &&
           http_url_ok(http);
}

static bool
mail_ok(const char *s)
{
    return s == NULL || *s == '\0' || sp_mail_addr_valid(s);
}

/* SUPPORT_SMTP_STARTTLS (core/config): 0 never (a relay on this host,
 * no credentials), 1 required, 2 (the default) when the relay offers it. */
enum { SMTP_TLS_NEVER = 0, SMTP_TLS_REQUIRED = 1, SMTP_TLS_OFFERED = 2 };

static bool
smtp_user_set(const struct sp_config *cfg)
{
    return cfg->smtp_user != NULL && *cfg->smtp_user != '\0';
}

/* Credentials never go over plain smtp:// with STARTTLS turned off: AUTH
 * PLAIN is the password in base64 (QA: it went out in clear). */
static bool
smtp_auth_ok(const struct sp_config *cfg)
{
    return !smtp_user_set(cfg) || cfg->smtp_starttls != SMTP_TLS_NEVER ||
           (cfg->smtp_url != NULL && strncmp(cfg->smtp_url, "smtps://", 8) == 0);
}

/* A CA bundle bigger than any system's (Debian's is about 220 KiB). */
#define SMTP_CA_FILE_MAX (4 * 1024 * 1024)

/* SUPPORT_SMTP_CA_FILE: unset, or a file this process can read holding a
 * PEM certificate. Checked here, at start, on a reload and by
 * --check-config, not when a mail goes out: a missing or wrong file
 * would otherwise fail every mail as tls_failed, the setting unnamed. */
static bool
smtp_ca_file_ok(const char *path)
{
    if (path == NULL || *path == '\0')
        return true;
    char *pem = NULL;
    size_t n = 0;
    if (sp_fd_read_file(path, SMTP_CA_FILE_MAX, &pem, &n) != SP_FD_READ_OK)
        return false;
    bool ok = strstr(pem, "-----BEGIN CERTIFICATE-----") != NULL;
    free(pem);
    return ok;
}

bool
sp_channels_check(const struct sp_config *cfg, char *err, size_t errlen)
{
    const struct {
        const char *name;
        bool ok;
        const char *expected;
    } checks[] = {
        {"SUPPORT_MAIL_FROM", mail_ok(cfg->mail_from), "an address like support@example.com"},
        {"SUPPORT_STAFF_MAIL", mail_ok(cfg->staff_mail), "an address like staff@example.com"},
        {"SUPPORT_SMTP_URL", smtp_url_ok(cfg->smtp_url),
         "smtp://host[:port] or smtps://host[:port] (the login goes in SUPPORT_SMTP_USER and"
         " SUPPORT_SMTP_PASSWORD_FILE)"},
        {"SUPPORT_SMTP_USER", smtp_auth_ok(cfg),
         "TLS for its password: an smtps:// relay, or SUPPORT_SMTP_STARTTLS 1 or 2 (not 0)"},
        {"SUPPORT_SMTP_CA_FILE", smtp_ca_file_ok(cfg->smtp_ca_file),
         "a readable PEM file of CA certificates (-----BEGIN CERTIFICATE-----)"},
        {"SUPPORT_NOTIFY_URL", http_url_ok(cfg->notify_url),
         "an http(s) URL, e.g. https://notify.example.com/v1/send"},
        {"SUPPORT_PORTAL_URL", page_url_ok(cfg->portal_url), SP_PAGE_URL_EXPECTED},
        {"SUPPORT_CONSOLE_TICKET_URL", page_url_ok(cfg->console_ticket_url),
         SP_PAGE_URL_EXPECTED},
        {"SUPPORT_CONSOLE_CHAT_URL", page_url_ok(cfg->console_chat_url), SP_PAGE_URL_EXPECTED},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        if (!checks[i].ok) {
            snprintf(err, errlen, "%s: expected %s", checks[i].name, checks[i].expected);
            return false;
        }
    }
    struct sp_keyring_keys *keys =
        sp_reply_keys_load(cfg->mail_reply_keys, cfg->mail_from, err, errlen);
    bool bad = keys == NULL && errlen > 0 && err[0] != '\0';
    sp_keyring_keys_destroy(keys);
    if (bad)   /* "SUPPORT_MAIL_REPLY_KEYS_FILE:" when the keys came from it */
        sp_config_name_sources(err, errlen);
    return !bad;
}

struct sp_channels *
sp_channels_new(const struct sp_config *cfg, char *err, size_t errlen)
{
    if (cfg->mail_from == NULL || *cfg->mail_from == '\0') {
        snprintf(err, errlen, "SUPPORT_MAIL_FROM: expected an address like support@example.com");
        return NULL;
    }
    if (!sp_channels_check(cfg, err, errlen))
        return NULL;
    struct sp_channels *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->domain = strrchr(cfg->mail_from, '@') + 1;
    char dir[4096], terr[256];
    snprintf(dir, sizeof(dir), "%s/mail", cfg->templates_dir);
    if (sp_tpl_set_load(&c->tpl, dir, terr, sizeof(terr)) != SP_OK) {
        snprintf(err, errlen, "SUPPORT_TEMPLATES_DIR: mail templates: %s", terr);
        sp_channels_free(c);
        return NULL;
    }
    c->reply_keys = sp_reply_keys_load(cfg->mail_reply_keys, cfg->mail_from, err, errlen);
    if (c->reply_keys == NULL && err[0] != '\0') {
        sp_channels_free(c);
        return NULL;
    }
    if (cfg->encryption_keys != NULL && *cfg->encryption_keys != '\0') {
        c->crypto = sp_crypto_new(cfg->encryption_keys, cfg->pii_index_key, err, errlen);
        if (c->crypto == NULL) {
            sp_config_name_sources(err, errlen);
            sp_channels_free(c);
            return NULL;
        }
    }
    if (!sp_mail_thread_key(c->crypto, &c->msg_key)) {
        snprintf(err, errlen, "mail Message-ID key: OpenSSL failed");
        sp_channels_free(c);
        return NULL;
    }
    return c;
}

void
sp_channels_free(struct sp_channels *c)
{
    if (c == NULL)
        return;
    sp_tpl_set_free(c->tpl);
    sp_crypto_free(c->crypto);
    sp_keyring_keys_destroy(c->reply_keys);
    explicit_bzero(&c->msg_key, sizeof(c->msg_key));
    free(c);
}

/* ---- what the templates see --------------------------------------------- */

static void
put_str(struct json_object *o, const char *key, const char *v)
{
    if (v != NULL)
        json_object_object_add(o, key, json_object_new_string(v));
}

/* A file's size as people read it: "850 bytes", "12 KB", "3.4 MB". */
static const char *
size_text(struct sp_arena *a, long long n)
{
    if (n < 1024)
        return sp_arena_sprintf(a, "%lld byte%s", n, n == 1 ? "" : "s");
    if (n < 1024 * 1024)
        return sp_arena_sprintf(a, "%lld KB", (n + 512) / 1024);
    return sp_arena_sprintf(a, "%.1f MB", (double)n / (1024.0 * 1024.0));
}

/* message.attachments [{filename, size}] and message.has_attachments: the
 * message's files, but those a scan removed, by name only (their URLs are
 * signed for minutes, on the ticket page: a mail cannot carry one). */
static void
attachments(struct sp_arena *a, struct json_object *m, const char *json)
{
    struct json_object *list = json != NULL ? json_tokener_parse(json) : NULL;
    struct json_object *out = json_object_new_array(), *v;
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(list, i);
        const char *status = json_object_object_get_ex(e, "status", &v)
                                 ? json_object_get_string(v) : "";
        if (!json_object_object_get_ex(e, "filename", &v) ||
            !json_object_is_type(v, json_type_string) || strcmp(status, "infected") == 0 ||
            strcmp(status, "failed") == 0)
            continue;
        struct json_object *f = json_object_new_object();
        put_str(f, "filename", json_object_get_string(v));
        long long size = json_object_object_get_ex(e, "size", &v) ? json_object_get_int64(v) : 0;
        put_str(f, "size", size_text(a, size));
        json_object_array_add(out, f);
    }
    json_object_object_add(m, "has_attachments",
                           json_object_new_boolean(json_object_array_length(out) > 0));
    json_object_object_add(m, "attachments", out);
    json_object_put(list);
}

/* message{html, text, attachments, sender_name}: the public message the event is
 * about, the one the claim joined or the payload's message_html (the ticket
 * code writes the stored body there). Bodies are stored sanitized;
 * sanitizing again costs little and keeps a payload written by anyone from
 * putting markup into a mail. sender_name: the answering agent's display
 * name, which the ticket code puts in the payload (message_sender_name);
 * missing for an agent without one, so templates fall back to "our support
 * team" — never the staff user id. */
static void
message(struct sp_arena *a, struct json_object *ctx, const struct sp_outbox_row *row,
        struct json_object *payload)
{
    const char *body = row->message_body;
    struct json_object *v = NULL;
    if (body == NULL && payload != NULL && json_object_object_get_ex(payload, "message_html", &v))
        body = json_object_get_string(v);
    if (body == NULL || strlen(body) > 200000)
        return;
    const char *html = sp_sanitize_html(a, body, strlen(body), NULL, NULL);
    struct json_object *m = json_object_new_object();
    put_str(m, "html", html);
    put_str(m, "text", sp_sanitize_text(a, html, strlen(html)));
    attachments(a, m, row->message_attachments);
    if (payload != NULL && json_object_object_get_ex(payload, "message_sender_name", &v) &&
        json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
        put_str(m, "sender_name", json_object_get_string(v));
    json_object_object_add(ctx, "message", m);
}

/* A page: tpl (checked by sp_channels_new) with {id} replaced by id;
 * NULL without either. */
static const char *
page_url(struct sp_arena *a, const char *tpl, const char *id)
{
    if (tpl == NULL || *tpl == '\0' || id == NULL)
        return NULL;
    const char *at = strstr(tpl, "{id}");
    return sp_arena_sprintf(a, "%.*s%s%s", (int)(at - tpl), tpl, id, at + 4);
}

/* A status as the customer reads it; unknown values as they are. */
static const char *
status_text(const char *status)
{
    static const char *const names[][2] = {
        {"open", "open"},
        {"in_progress", "in progress"},
        {"pending_customer", "waiting for your reply"},
        {"resolved", "resolved"},
        {"closed", "closed"},
    };
    for (size_t i = 0; status != NULL && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(status, names[i][0]) == 0)
            return names[i][1];
    }
    return status;
}

/* An RFC 3339 time as people read it, in UTC: "4 Dec 2026, 19:26 UTC";
 * NULL for anything else. */
static const char *
time_text(struct sp_arena *a, const char *iso)
{
    char out[SP_RFC3339_TEXT_LEN];
    return sp_rfc3339_text(iso, out) ? sp_arena_strdup(a, out) : NULL;
}

static const char *
payload_str(struct json_object *payload, const char *key)
{
    struct json_object *v;
    return payload != NULL && json_object_object_get_ex(payload, key, &v) &&
                   json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static const char *
target_words(const char *target)
{
    return strcmp(target, "first_response") == 0 ? "first response" : target;
}

/* The targets a breach counted beside the one it reports (its payload's
 * targets, sla_monitor), "resolution due 6 Dec 2026, 10:00 UTC" joined
 * by " and "; NULL when there are none. */
static const char *
also_breached(struct sp_arena *a, struct json_object *payload, const char *target)
{
    struct json_object *list;
    if (!json_object_object_get_ex(payload, "targets", &list) ||
        !json_object_is_type(list, json_type_array))
        return NULL;
    const char *out = NULL;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *item = json_object_array_get_idx(list, i);
        const char *other = payload_str(item, "target");
        const char *due = time_text(a, payload_str(item, "due_at"));
        if (other == NULL || due == NULL || strcmp(other, target) == 0)
            continue;
        const char *words = sp_arena_sprintf(a, "%s due %s", target_words(other), due);
        out = out ? sp_arena_sprintf(a, "%s and %s", out, words) : words;
    }
    return out;
}

/* sla{target, due[, also]}: the SLA target a staff notification is
 * about, in words ("first response", "4 Dec 2026, 19:26 UTC"), and any
 * other target a breach counted with it; missing when the payload names
 * none. */
static void
sla(struct sp_arena *a, struct json_object *ctx, struct json_object *payload)
{
    const char *target = payload_str(payload, "target");
    const char *due = time_text(a, payload_str(payload, "due_at"));
    if (target == NULL || due == NULL)
        return;
    struct json_object *s = json_object_new_object();
    put_str(s, "target", target_words(target));
    put_str(s, "due", due);
    const char *also = also_breached(a, payload, target);
    if (also != NULL)
        put_str(s, "also", also);
    json_object_object_add(ctx, "sla", s);
}

/* staff{channel, recipient, for, url}: for, whom the notification is for
 * in words — the agent's display name (not their row id), the team, the
 * provider's operations; url, the agent console's page of the ticket, or
 * of the chat when there is no ticket (missing when not configured). */
static void
staff_member(const struct sp_channels *c, struct sp_arena *a, struct json_object *ctx,
             const struct sp_outbox_row *row, struct json_object *payload)
{
    struct json_object *s = json_object_new_object();
    put_str(s, "channel", row->channel);
    put_str(s, "recipient", row->recipient);
    const char *url = page_url(a, c->cfg->console_ticket_url, row->ticket_public_id);
    put_str(s, "url", url ? url : page_url(a, c->cfg->console_chat_url,
                                           payload_str(payload, "session_id")));
    const char *who = row->recipient ? row->recipient : "";
    const char *for_ = strcmp(row->channel, "agent") == 0
                           ? (row->agent_name != NULL && *row->agent_name != '\0'
                                  ? row->agent_name : "the assigned agent")
                       : strcmp(row->channel, "team") == 0
                           ? sp_arena_sprintf(a, "team %s", who)
                           : sp_arena_sprintf(a, "the operations of provider %s", who);
    put_str(s, "for", for_);
    json_object_object_add(ctx, "staff", s);
}

/* A subject or a name is one line: control characters (line breaks,
 * tabs; a JWT's name claim is the customer's word) made spaces, a run of
 * them one space, blanks trimmed. In place. */
static const char *
one_line(char *s)
{
    char *out = s;
    for (const char *c = s; *c; c++) {
        bool blank = sp_ascii_control(*c) || *c == ' ';
        if (!blank)
            *out++ = *c;
        else if (out > s && out[-1] != ' ')
            *out++ = ' ';
    }
    if (out > s && out[-1] == ' ')
        out--;
    *out = '\0';
    return s;
}

/* Whether the change a customer's notification tells of moved the
 * ticket to status: its payload's status (at the change) is status and
 * its previous_status is not (ticket_state.c queue_deliveries writes
 * both). Not the ticket's status now: a reply on a ticket resolved
 * before it said "we have marked your ticket as resolved" again (QA). */
static bool
moved_to(struct json_object *payload, const char *status)
{
    const char *to = payload_str(payload, "status");
    const char *from = payload_str(payload, "previous_status");
    return to != NULL && from != NULL && strcmp(to, status) == 0 && strcmp(from, status) != 0;
}

/* ticket.resolved / ticket.closed: the change resolved or closed it (a
 * paragraph saying what a reply does then); ticket.waiting: it left the
 * ticket waiting for the customer (not closed since); ticket.is_closed:
 * the ticket is closed now, so its page takes no reply (QA: the footer
 * of a closed ticket's mail invited one, which was 409 ticket_closed). */
static void
status_flags(struct json_object *t, const struct sp_outbox_row *row, struct json_object *payload)
{
    const char *then = payload_str(payload, "status");
    bool closed = row->ticket_status != NULL && strcmp(row->ticket_status, "closed") == 0;
    if (moved_to(payload, "resolved"))
        json_object_object_add(t, "resolved", json_object_new_boolean(1));
    if (moved_to(payload, "closed"))
        json_object_object_add(t, "closed", json_object_new_boolean(1));
    if (then != NULL && strcmp(then, "pending_customer") == 0 && !closed)
        json_object_object_add(t, "waiting", json_object_new_boolean(1));
    if (closed)
        json_object_object_add(t, "is_closed", json_object_new_boolean(1));
}

/* {event_type, ticket{public_id, subject, status, status_text, resolved, closed, waiting,
 * is_closed, url, autoclose},
 * recipient{name}, message{html, text}, staff{channel, recipient, for},
 * sla{target, due}, payload}: owned by a. */
static struct json_object *
context(const struct sp_channels *c, struct sp_arena *a, const struct sp_outbox_row *row,
        const char *name, bool staff)
{
    struct json_object *ctx = json_object_new_object();
    sp_json_release_with(a, ctx);
    put_str(ctx, "event_type", row->event_type);
    struct json_object *t = json_object_new_object();
    put_str(t, "public_id", row->ticket_public_id);
    put_str(t, "subject", row->ticket_subject);
    put_str(t, "status", row->ticket_status);
    put_str(t, "status_text", status_text(row->ticket_status));
    struct json_object *payload = row->payload ? json_tokener_parse(row->payload) : NULL;
    status_flags(t, row, payload);
    put_str(t, "url", page_url(a, c->cfg->portal_url, row->ticket_public_id));
    /* when a resolved ticket closes on its own (QA: "7 days" whatever
     * SUPPORT_AUTOCLOSE_DAYS said) */
    long days = c->cfg->autoclose_days;
    put_str(t, "autoclose", sp_arena_sprintf(a, "%ld day%s", days, days == 1 ? "" : "s"));
    json_object_object_add(ctx, "ticket", t);
    struct json_object *r = json_object_new_object();
    put_str(r, "name", name);
    json_object_object_add(ctx, "recipient", r);
    message(a, ctx, row, payload);
    sla(a, ctx, payload);
    if (staff)
        staff_member(c, a, ctx, row, payload);
    if (payload != NULL)
        json_object_object_add(ctx, "payload", payload);
    return ctx;
}

/* The template base of an event: "ticket.sla_warning" -> "ticket_sla_warning". */
static const char *
base_name(struct sp_arena *a, const char *event_type)
{
    char *s = sp_arena_strdup(a, event_type ? event_type : "default");
    for (char *c = s; *c; c++) {
        if (*c == '.')
            *c = '_';
    }
    return s;
}

/* Renders <base><suffix> (inside layout when not NULL), falling back to
 * default<suffix>; NULL when neither renders. */
static const char *
render(const struct sp_channels *c, struct sp_arena *a, const char *base, const char *suffix,
       const char *layout, struct json_object *ctx)
{
    const char *names[2] = {sp_arena_sprintf(a, "%s%s", base, suffix),
                            sp_arena_sprintf(a, "default%s", suffix)};
    struct sp_buf out;
    sp_buf_init(&out, a, 1024);
    for (int i = 0; i < 2; i++) {
        enum sp_rc rc = layout ? sp_tpl_render_page(c->tpl, layout, names[i], ctx, &out)
                               : sp_tpl_render(c->tpl, names[i], ctx, &out);
        if (rc == SP_OK)
            return out.data;
        if (rc != SP_NOT_FOUND)
            return NULL;
    }
    return NULL;
}

struct rendered {
    const char *subject, *text, *html;
};

static bool
render_all(const struct sp_channels *c, struct sp_arena *a, const struct sp_outbox_row *row,
           struct json_object *ctx, struct rendered *out)
{
    const char *base = base_name(a, row->event_type);
    char *subject = (char *)render(c, a, base, "_subject", NULL, ctx);
    out->text = render(c, a, base, "_text", "layout_text", ctx);
    out->html = render(c, a, base, "", "layout", ctx);
    out->subject = subject ? one_line(subject) : NULL;
    return out->subject != NULL && out->text != NULL && out->html != NULL;
}

/* ---- outcomes ------------------------------------------------------------ */

static enum sp_delivery_kind
not_sent(struct sp_delivery *d, enum sp_delivery_kind kind, const char *reason)
{
    d->kind = kind;
    d->reason = reason;
    return kind;
}

static size_t
upload(char *buf, size_t size, size_t nitems, void *ud)
{
    struct sp_delivery *d = ud;
    size_t room = size * nitems, left = d->len - d->pos;
    size_t n = left < room ? left : room;
    memcpy(buf, d->data + d->pos, n);
    d->pos += n;
    return n;
}

/* The host of a URL for the destination key ("smtp:relay.example:25"). */
static const char *
destination(struct sp_arena *a, const char *prefix, const char *url)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n);   /* user:password@host: never in a key */
    if (at != NULL) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    return sp_arena_sprintf(a, "%s:%.*s", prefix, (int)n, h);
}

/* A transfer to url, only over protocols (a relay or a service must not
 * redirect us elsewhere); NULL when curl cannot make one. */
static CURL *
easy_new(const char *url, const char *protocols, long timeout_s)
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        return NULL;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sp_http_discard);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
    return e;
}

/* ---- email ---------------------------------------------------------------- */

static enum sp_delivery_kind
smtp_easy(const struct sp_channels *c, struct sp_arena *a, const char *to,
          struct sp_delivery *d)
{
    const struct sp_config *cfg = c->cfg;
    CURL *e = easy_new(cfg->smtp_url, "smtp,smtps", SMTP_TRANSFER_TIMEOUT_S);
    if (e == NULL)
        return not_sent(d, SP_DELIVERY_RETRY, "curl_init_failed");
    curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)SMTP_REPLY_TIMEOUT_S);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, sp_arena_sprintf(a, "<%s>", cfg->mail_from));
    d->list = curl_slist_append(NULL, sp_arena_sprintf(a, "<%s>", to));
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, d->list);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, upload);
    curl_easy_setopt(e, CURLOPT_READDATA, d);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)d->len);
    /* STARTTLS whenever the relay offers it; required with credentials,
     * so a relay (or a man in the middle) that leaves it out never gets
     * the password: the transfer fails before AUTH (tls_failed). */
    bool user = smtp_user_set(cfg);
    long tls = user || cfg->smtp_starttls == SMTP_TLS_REQUIRED ? (long)CURLUSESSL_ALL
               : cfg->smtp_starttls == SMTP_TLS_NEVER          ? (long)CURLUSESSL_NONE
                                                               : (long)CURLUSESSL_TRY;
    curl_easy_setopt(e, CURLOPT_USE_SSL, tls);
    /* A relay whose certificate a private CA signed (a company's own
     * Postfix or Exchange): checked against that CA instead of the
     * system's, rather than sent to with TLS turned off. */
    if (cfg->smtp_ca_file != NULL && *cfg->smtp_ca_file != '\0') {
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->smtp_ca_file);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    }
    if (user) {
        curl_easy_setopt(e, CURLOPT_USERNAME, cfg->smtp_user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->smtp_password ? cfg->smtp_password : "");
    }
    d->easy = e;
    d->smtp = true;
    d->destination = destination(a, "smtp", cfg->smtp_url);
    return d->kind = SP_DELIVERY_SEND;
}

/* A mail to `to`, threaded on the ticket: the Message-ID is the row's (the
 * same on every attempt, so a mail sent twice is shown once), In-Reply-To
 * and References the ticket's thread id, and a customer's mail the
 * customer's own mail it answers, when they mailed one. */
static enum sp_delivery_kind
mail(const struct sp_channels *c, struct sp_arena *a, const struct sp_outbox_row *row,
     const char *to, const char *name, struct sp_delivery *d)
{
    if (c->cfg->smtp_url == NULL)
        return not_sent(d, SP_DELIVERY_RETRY, "smtp_not_configured");
    /* An internationalized domain goes as its A-label, in RCPT and in the
     * To header alike (curl would convert RCPT's alone); a non-ASCII local
     * part needs SMTPUTF8, which we do not speak (core/mail_idn). */
    to = sp_mail_addr_ascii(a, to);
    if (to == NULL)
        return not_sent(d, SP_DELIVERY_SKIP, "bad_address");
    /* A customer's mail about a ticket says where a reply goes, when
     * replies are taken in (support-mail-in). */
    bool staff = strcmp(row->channel, "email") != 0;
    const char *reply_to = !staff && c->reply_keys != NULL && row->ticket_public_id != NULL
                               ? sp_reply_address(c->reply_keys, a, c->cfg->mail_from,
                                                  row->ticket_public_id)
                               : NULL;
    struct json_object *ctx = context(c, a, row, name, staff);
    if (reply_to != NULL)
        json_object_object_add(ctx, "reply_by_mail", json_object_new_boolean(1));
    struct rendered r;
    if (!render_all(c, a, row, ctx, &r))
        return not_sent(d, SP_DELIVERY_RETRY, "template_failed");
    char boundary[33];
    sp_random_hex(boundary, 16);
    struct sp_mail m = {
        .from = {c->cfg->mail_from_name, c->cfg->mail_from},
        .to = {name, to},
        .reply_to = reply_to,
        .subject = r.subject,
        .message_id = sp_mail_thread_outbox_id(a, &c->msg_key, row->id, c->domain),
        .thread_id = row->ticket_public_id
                         ? sp_mail_thread_id(a, row->ticket_public_id, c->domain)
                         : NULL,
        /* stored only when valid (mail-in); checked again, as a bad one
         * would make every mail of the ticket bad_message_id */
        .in_reply_to = !staff && sp_mail_msg_id_valid(row->answers_message_id)
                           ? row->answers_message_id : NULL,
        .date_ms = sp_clock_now_ms(),
        .text = r.text,
        .html = r.html,
        .boundary = boundary,
    };
    struct sp_buf b;
    sp_buf_init(&b, a, 4096);
    struct sp_problem p;
    sp_problem_init(&p);
    if (sp_mail_build(&m, &b, &p) != SP_OK)
        return not_sent(d, SP_DELIVERY_SKIP, "bad_address");
    d->data = b.data;
    d->len = b.len;
    return smtp_easy(c, a, to, d);
}

/* ---- the notification service ------------------------------------------- */

/* A JSON POST to a service of ours (the notification service, the
 * booking service): bearer key, the row's Idempotency-Key (the same on
 * every attempt, so the service can drop a repeat), no redirects. */
static enum sp_delivery_kind
json_post(struct sp_arena *a, const struct sp_outbox_row *row, const char *url, const char *key,
          const char *service, const char *body, struct sp_delivery *d)
{
    d->data = body;
    d->len = strlen(d->data);
    CURL *e = easy_new(url, "http,https", NOTIFY_TIMEOUT_S);
    if (e == NULL)
        return not_sent(d, SP_DELIVERY_RETRY, "curl_init_failed");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)d->len);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: support-dispatch/1");
    h = curl_slist_append(h, sp_arena_sprintf(a, "Idempotency-Key: outbox-%lld", row->id));
    if (key != NULL)
        h = curl_slist_append(h, sp_arena_sprintf(a, "Authorization: Bearer %s", key));
    d->list = h;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    d->easy = e;
    d->destination = destination(a, service, url);
    return d->kind = SP_DELIVERY_SEND;
}

/* The start of a request body to a service of ours: {"id":"outbox-<id>",
 * "event_type":…, and the ticket it is about. */
static void
request_begin(struct sp_arena *a, const struct sp_outbox_row *row, struct sp_buf *b,
              struct sp_jw *w)
{
    sp_buf_init(b, a, 512);
    sp_jw_init(w, b);
    sp_jw_object(w);
    sp_jw_kstr(w, "id", sp_arena_sprintf(a, "outbox-%lld", row->id));
    sp_jw_kstr(w, "event_type", row->event_type);
}

static void
ticket_member(struct sp_jw *w, const struct sp_outbox_row *row)
{
    sp_jw_kobject(w, "ticket");
    sp_jw_kstr(w, "public_id", row->ticket_public_id);
    sp_jw_kstr(w, "subject", row->ticket_subject);
    sp_jw_end(w);
}

/* ---- the booking service -------------------------------------------------------
 * An escalation about a booking (API.md §11: booking hooks): POST
 * <SUPPORT_BOOKING_URL>/support-escalations
 * {"id":"outbox-<id>","event_type","booking_id","customer_id","ticket":{…},
 * "data":{…}}. The booking id is the customer's word: the service is told
 * whose ticket it is, so it can refuse a booking that is not theirs. */
static enum sp_delivery_kind
booking(const struct sp_channels *c, struct sp_arena *a, const struct sp_outbox_row *row,
        struct sp_delivery *d)
{
    const struct sp_config *cfg = c->cfg;
    if (cfg->booking_url == NULL || *cfg->booking_url == '\0')
        return not_sent(d, SP_DELIVERY_RETRY, "booking_not_configured");
    struct sp_buf b;
    struct sp_jw w;
    request_begin(a, row, &b, &w);
    sp_jw_kstr(&w, "booking_id", row->recipient);
    sp_jw_kstr(&w, "customer_id", row->ticket_customer_id);
    ticket_member(&w, row);
    sp_jw_kraw(&w, "data", row->payload);
    sp_jw_end(&w);
    return json_post(a, row, sp_arena_sprintf(a, "%s/support-escalations", cfg->booking_url),
                     cfg->booking_key, "booking", b.data, d);
}

/* The page a notification opens: the console's for staff (staff.url),
 * the customer's ticket page otherwise (ticket.url); NULL when none. */
static const char *
link_of(struct json_object *ctx)
{
    struct json_object *o, *url;
    if (!json_object_object_get_ex(ctx, "staff", &o))
        json_object_object_get_ex(ctx, "ticket", &o);
    return o != NULL && json_object_object_get_ex(o, "url", &url) ? json_object_get_string(url)
                                                                  : NULL;
}

/* {"id","channel","event_type","to":{…},"ticket":{…},"title","text"[,"url"]} */
static const char *
notify_body(struct sp_arena *a, const struct sp_outbox_row *row, const char *to_key,
            const char *to, const struct rendered *r, const char *url)
{
    struct sp_buf b;
    struct sp_jw w;
    request_begin(a, row, &b, &w);
    sp_jw_kstr(&w, "channel", row->channel);
    sp_jw_kobject(&w, "to");
    sp_jw_kstr(&w, to_key, to);
    if (strcmp(row->channel, "agent") == 0)
        sp_jw_kstr(&w, "agent_id", row->recipient);
    sp_jw_end(&w);
    ticket_member(&w, row);
    sp_jw_kstr(&w, "title", r->subject);
    sp_jw_kstr(&w, "text", r->text);
    if (url != NULL)
        sp_jw_kstr(&w, "url", url);
    sp_jw_end(&w);
    return b.data;
}

static bool
is_staff(const char *channel)
{
    return strcmp(channel, "agent") == 0 || strcmp(channel, "team") == 0 ||
           strcmp(channel, "provider_operations") == 0;
}

/* A notification-service request; name: the customer's (SMS and push
 * greet them as mails do), NULL for staff. */
static enum sp_delivery_kind
notify(const struct sp_channels *c, struct sp_arena *a, const struct sp_outbox_row *row,
       const char *to_key, const char *to, const char *name, struct sp_delivery *d)
{
    const struct sp_config *cfg = c->cfg;
    if (cfg->notify_url == NULL)
        return not_sent(d, SP_DELIVERY_RETRY, "notify_not_configured");
    struct json_object *ctx = context(c, a, row, name, is_staff(row->channel));
    const char *base = base_name(a, row->event_type);
    char *subject = (char *)render(c, a, base, "_subject", NULL, ctx);
    const char *text = render(c, a, base, "_text", NULL, ctx);
    const char *url = link_of(ctx);
    /* An SMS or a lock screen, not a mail: the text's start, the link
     * (url) for the rest; a whole reply would be many paid segments. */
    bool sms = strcmp(row->channel, "sms") == 0;
    struct rendered r = {subject ? one_line(subject) : NULL,
                         text ? sp_sms_text(a, text, url, sms) : NULL, NULL};
    if (r.subject == NULL || r.text == NULL)
        return not_sent(d, SP_DELIVERY_RETRY, "template_failed");
    return json_post(a, row, cfg->notify_url, cfg->notify_key, "notify",
                     notify_body(a, row, to_key, to, &r, url), d);
}

/* ---- routing a row ---------------------------------------------------------- */

/* A status note (ticket.updated) whose move no longer holds when it goes
 * out: the ticket left that status (pending_customer, then in_progress a
 * second later), so the note would tell a status it does not have (QA:
 * "is now: in progress" for an undone move). A later move that is
 * notified has a row of its own. */
static bool
status_undone(const struct sp_outbox_row *row)
{
    if (row->event_type == NULL || strcmp(row->event_type, "ticket.updated") != 0 ||
        row->ticket_status == NULL || row->payload == NULL)
        return false;
    struct json_object *payload = json_tokener_parse(row->payload);
    const char *then = payload_str(payload, "status");
    bool undone = then != NULL && strcmp(then, row->ticket_status) != 0;
    json_object_put(payload);
    return undone;
}

static enum sp_delivery_kind
customer(const struct sp_channels *c, struct sp_arena *a, const struct sp_outbox_row *row,
         struct sp_delivery *d)
{
    if (status_undone(row))
        return not_sent(d, SP_DELIVERY_SKIP, "status_undone");
    if (c->crypto == NULL || row->contact_customer_id == NULL)
        return not_sent(d, SP_DELIVERY_SKIP, "no_contact");
    struct sp_contact_sealed sealed = {.name_enc = row->name_enc, .email_enc = row->email_enc,
                                       .phone_enc = row->phone_enc, .tier = row->contact_tier};
    struct sp_contact ct;
    sp_contact_open(c->crypto, a, row->contact_customer_id, &sealed, &ct);
    /* The greeting's and the To header's: one line of what shows, as a
     * mail subject is made (bidi controls go: they make a name read as
     * other text), NULL when nothing is left (greeted without it). */
    if (ct.name != NULL && sp_utf8_valid(ct.name, strlen(ct.name)))
        ct.name = sp_ticket_subject_of_text(a, ct.name, NAME_MAX_POINTS);
    else
        ct.name = NULL;
    if (ct.name != NULL) /* "Zoë\r\nÜrban": one space, not two */
        ct.name = one_line(sp_arena_strdup(a, ct.name));
    if (strcmp(row->channel, "email") == 0) {
        if (ct.email == NULL)
            return not_sent(d, SP_DELIVERY_SKIP, "no_email");
        return mail(c, a, row, ct.email, ct.name, d);
    }
    if (strcmp(row->channel, "sms") == 0) {
        if (ct.phone == NULL)
            return not_sent(d, SP_DELIVERY_SKIP, "no_phone");
        const char *e164 = sp_phone_e164(a, ct.phone);
        if (e164 == NULL) /* as a mail address that is none */
            return not_sent(d, SP_DELIVERY_SKIP, "bad_address");
        return notify(c, a, row, "phone", e164, ct.name, d);
    }
    return notify(c, a, row, "user_id", row->contact_customer_id, ct.name, d);   /* push */
}

static enum sp_delivery_kind
route(const struct sp_channels *c, struct sp_arena *a, const struct sp_outbox_row *row,
      struct sp_delivery *d)
{
    const char *ch = row->channel ? row->channel : "";
    if (strcmp(ch, "email") == 0 || strcmp(ch, "sms") == 0 || strcmp(ch, "push") == 0)
        return customer(c, a, row, d);
    if (strcmp(ch, "booking") == 0)
        return booking(c, a, row, d);
    if (!is_staff(ch))
        return not_sent(d, SP_DELIVERY_FAIL, "unknown_channel");
    if (c->cfg->staff_mail != NULL)
        return mail(c, a, row, c->cfg->staff_mail, NULL, d);
    if (strcmp(ch, "agent") == 0)
        return row->agent_user_id ? notify(c, a, row, "user_id", row->agent_user_id, NULL, d)
                                  : not_sent(d, SP_DELIVERY_SKIP, "no_agent");
    return notify(c, a, row, strcmp(ch, "team") == 0 ? "team" : "provider_id",
                  row->recipient ? row->recipient : "", NULL, d);
}

void
sp_channels_prepare(const struct sp_channels *c, struct sp_arena *a,
                    const struct sp_outbox_row *row, struct sp_delivery *d)
{
    memset(d, 0, sizeof(*d));
    (void)route(c, a, row, d);
}

bool
sp_delivery_result(const struct sp_delivery *d, CURLcode rc, long *status_code,
                   const char **error, struct sp_arena *a)
{
    long code = 0;
    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
    /* A transfer that failed without a refusal (a timeout, a dropped
     * connection): the code is an earlier command's reply (an SMTP 250
     * or 354), which says nothing of why, so none is reported (QA:
     * "status_code":354 beside "error":"timeout"). */
    if (rc == CURLE_OPERATION_TIMEDOUT || (rc != CURLE_OK && (d->smtp ? code < 400 : code <= 0))) {
        *status_code = 0;
        *error = sp_http_error_code((int)rc);
        return false;
    }
    *status_code = code;
    if (d->smtp) {
        *error = rc == CURLE_OK ? NULL : sp_arena_sprintf(a, "smtp_%ld", code);
        return rc == CURLE_OK;
    }
    *error = code >= 200 && code < 300 ? NULL : sp_arena_sprintf(a, "http_%ld", code);
    return *error == NULL;
}

void
sp_delivery_cleanup(struct sp_delivery *d)
{
    if (d->easy != NULL)
        curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->list);
    d->easy = NULL;
    d->list = NULL;
}
