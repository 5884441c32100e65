/*
 * config: the settings table and its loader. See config.h.
 */
#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <sys/un.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/embed.h"
#include "core/fd.h"
#include "core/s3.h"
#include "core/url_guard.h"

/* SP_SET_DATA: a string whose default is a path under the installed data
 * directory (data_dir below). */
enum sp_setting_type { SP_SET_STR, SP_SET_SECRET, SP_SET_INT, SP_SET_FRACTION, SP_SET_MODE,
                       SP_SET_DATA };

struct sp_setting {
    const char *name;
    enum sp_setting_type type;
    size_t offset;
    const char *def;      /* NULL: unset by default */
    long min, max;        /* for SP_SET_INT and SP_SET_MODE */
    const char *help;
};

#define STR(f)  SP_SET_STR, offsetof(struct sp_config, f)
#define DATA(f) SP_SET_DATA, offsetof(struct sp_config, f)
#define SEC(f)  SP_SET_SECRET, offsetof(struct sp_config, f)
#define INT(f)  SP_SET_INT, offsetof(struct sp_config, f)
#define FRAC(f) SP_SET_FRACTION, offsetof(struct sp_config, f)
#define MODE(f) SP_SET_MODE, offsetof(struct sp_config, f)

/* docs/performance.md "Worker count": a libfcgi worker idles during its
 * close handshake with nginx and while its commit waits for the WAL flush,
 * so throughput grew up to cores x 4 workers and not beyond. */
#define SP_WORKERS_PER_CORE 4
#define SP_WORKERS_MAX 256

static const struct sp_setting settings[] = {
    {"SUPPORT_DATABASE_URL", SEC(database_url), "dbname=support", 0, 0,
     "libpq connection string or URI"},
    {"SUPPORT_DATABASE_READ_URL", SEC(database_read_url), NULL, 0, 0,
     "a streaming replica for the read-mostly endpoints (agent queue, dashboard, knowledge "
     "base); unset or down: the primary (docs/operations.md, Two nodes)"},
    {"SUPPORT_LISTEN", STR(listen), "var/run/support-api.sock", 0, 0,
     "FastCGI unix socket path (never TCP: docs/operations.md)"},
    {"SUPPORT_WORKERS", INT(workers), "0", 0, SP_WORKERS_MAX,
     "worker processes; 0 = cores x 4 (the best count measured, docs/performance.md)"},
    {"SUPPORT_LISTEN_BACKLOG", INT(listen_backlog), "0", 0, 65535,
     "listen backlog; 0 = net.core.somaxconn"},
    {"SUPPORT_LISTEN_MODE", MODE(listen_mode), "0660", 0, 0777,
     "octal permissions of the unix sockets (SUPPORT_LISTEN, SUPPORT_CHAT_LISTEN)"},
    {"SUPPORT_LISTEN_GROUP", STR(listen_group), NULL, 0, 0,
     "group given the unix sockets (nginx's, e.g. www-data); unset = the process's own"},
    {"SUPPORT_JWT_KEYS", SEC(jwt_keys), NULL, 0, 0, "HS256 keys kid:secret,... (first is default)"},
    {"SUPPORT_JWT_PUBLIC_KEYS_FILE", STR(jwt_public_keys_file), NULL, 0, 0,
     "file of RS256/ES256 PEM public keys"},
    {"SUPPORT_JWT_ISSUER", STR(jwt_issuer), NULL, 0, 0, "required iss claim"},
    {"SUPPORT_JWT_AUDIENCE", STR(jwt_audience), NULL, 0, 0, "required aud claim"},
    {"SUPPORT_MIGRATIONS_DIR", DATA(migrations_dir), "sql", 0, 0, "directory of NNN_*.sql files"},
    {"SUPPORT_TEMPLATES_DIR", DATA(templates_dir), "templates", 0, 0,
     "directory of the admin pages' templates (*.html) and, in mail/, support-dispatch's (loaded"
     " at start and on SIGHUP)"},
    {"SUPPORT_ADMIN_SESSION_HOURS", INT(admin_session_hours), "8", 1, 720,
     "how long an admin page session lasts after login"},
    {"SUPPORT_COOKIE_INSECURE", INT(cookie_insecure), "0", 0, 1,
     "1 = admin cookies without Secure (plain-HTTP development stacks only)"},
    {"SUPPORT_MAX_BODY_BYTES", INT(max_body_bytes), "1048576", 1024, 64L * 1024 * 1024,
     "largest accepted request body"},
    {"SUPPORT_LOG_LEVEL", STR(log_level), "info", 0, 0, "debug|info|warn|error"},
    {"SUPPORT_DB_STATEMENT_TIMEOUT_MS", INT(db_statement_timeout_ms), "5000", 0, 600000,
     "statement_timeout of the workers' and the jobs' connections"},
    {"SUPPORT_ENCRYPTION_KEYS", SEC(encryption_keys), NULL, 0, 0,
     "contact PII keys v2:base64,v1:base64 (first encrypts, all decrypt)"},
    {"SUPPORT_PII_INDEX_KEY", SEC(pii_index_key), NULL, 0, 0,
     "base64 key of the email blind index (default: derived from the oldest PII key)"},
    {"SUPPORT_TICKET_RATE_PER_MINUTE", INT(ticket_rate_per_minute), "10", 1, 1000000,
     "tickets a customer may create per minute"},
    {"SUPPORT_TICKET_RATE_PER_DAY", INT(ticket_rate_per_day), "200", 1, 100000000,
     "tickets a customer may create per day"},
    {"SUPPORT_TICKET_REPLY_RATE_PER_MINUTE", INT(ticket_reply_rate_per_minute), "30", 1, 1000000,
     "replies a customer may post to their tickets per minute, all tickets together"},
    {"SUPPORT_AGENT_MAX_OPEN_TICKETS", INT(agent_max_open_tickets), "50", 1, 100000,
     "routing's cap: an agent holding this many open, in-progress or waiting-on-customer "
     "tickets is not routed more"},
    {"SUPPORT_CHAT_RATE_PER_MINUTE", INT(chat_rate_per_minute), "60", 1, 1000000,
     "chat messages per session per minute"},
    {"SUPPORT_CHAT_SESSION_RATE_PER_MINUTE", INT(chat_session_rate_per_minute), "5", 1, 1000000,
     "chat sessions a customer may start per minute"},
    {"SUPPORT_CHAT_SESSION_RATE_PER_HOUR", INT(chat_session_rate_per_hour), "30", 1, 100000000,
     "chat sessions a customer may start per hour"},
    {"SUPPORT_CHAT_MAX_OPEN_SESSIONS", INT(chat_max_open_sessions), "3", 1, 100000,
     "chat sessions a customer may have open (waiting or active) at once"},
    {"SUPPORT_CHAT_LISTEN", STR(chat_listen), "var/run/support-chat.sock", 0, 0,
     "support-chat's FastCGI unix socket path"},
    {"SUPPORT_CHAT_PUBLISH_URL", STR(chat_publish_url), NULL, 0, 0,
     "nginx's internal nchan publisher, e.g. http://localhost/internal/chat/publish"},
    {"SUPPORT_CHAT_PUBLISH_SOCKET", STR(chat_publish_socket), NULL, 0, 0,
     "unix socket of nginx's internal server, where SUPPORT_CHAT_PUBLISH_URL is served"},
    {"SUPPORT_CHAT_PRESENCE_TIMEOUT_S", INT(chat_presence_timeout_s), "75", 2, 3600,
     "a chat participant silent this long is offline (clients beat every 30 s)"},
    {"SUPPORT_CHAT_IDLE_MINUTES", INT(chat_idle_minutes), "30", 1, 100000,
     "chat-session-archive closes sessions idle this long"},
    {"SUPPORT_DASHBOARD_CACHE_MS", INT(dashboard_cache_ms), "0", 0, 600000,
     "how long a worker reuses a computed dashboard (0 = never: the counts are kept by the"
     " database and cost ~1 ms to read, docs/performance.md)"},
    {"SUPPORT_TICKET_VIEW_CACHE", INT(ticket_view_cache), "1024", 0, 1000000,
     "customer ticket views a worker keeps rendered (checked against the ticket's version"
     " on every read; 0 = off)"},
    {"SUPPORT_AUTOCLOSE_DAYS", INT(autoclose_days), "7", 1, 3650,
     "resolved tickets close after this many days (ticket-sla-monitor)"},
    {"SUPPORT_ATTACHMENT_DIR", STR(attachment_dir), "var/attachments", 0, 0,
     "where uploaded attachments are stored (same file system as nginx's client_body_temp_path)"},
    {"SUPPORT_ATTACHMENT_KEYS", SEC(attachment_keys), NULL, 0, 0,
     "keys of signed attachment URLs kid:secret,... (first signs, all verify; unset: no uploads)"},
    {"SUPPORT_ATTACHMENT_TYPES", STR(attachment_types),
     "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv", 0, 0,
     "content types an attachment may declare (comma-separated)"},
    {"SUPPORT_ATTACHMENT_UPLOAD_TTL_S", INT(attachment_upload_ttl_s), "900", 10, 86400,
     "seconds an upload URL stays valid"},
    {"SUPPORT_ATTACHMENT_DOWNLOAD_TTL_S", INT(attachment_download_ttl_s), "300", 5, 86400,
     "seconds a download URL stays valid"},
    {"SUPPORT_ATTACHMENT_RATE_PER_MINUTE", INT(attachment_rate_per_minute), "30", 1, 1000000,
     "attachments a user may create per minute (POST /support/attachments)"},
    {"SUPPORT_ATTACHMENT_UNATTACHED_HOURS", INT(attachment_unattached_hours), "24", 1, 8760,
     "hours an uploaded attachment may stay attached to nothing; then attachment-cleanup"
     " deletes it and its file"},
    {"SUPPORT_CLAMD_SOCKET", STR(clamd_socket), "var/run/clamd.sock", 0, 0,
     "clamd's unix socket (support-scan)"},
    {"SUPPORT_S3_BUCKET", STR(s3_bucket), NULL, 0, 0,
     "attachments in this S3-compatible bucket (AWS S3, GCS with HMAC keys, MinIO): presigned"
     " upload and download URLs, support-scan fetches uploads from it; unset = the local"
     " directory SUPPORT_ATTACHMENT_DIR"},
    {"SUPPORT_S3_ENDPOINT", STR(s3_endpoint), NULL, 0, 0,
     "the store's URL, path-style, e.g. https://s3.eu-west-1.amazonaws.com or"
     " https://storage.googleapis.com"},
    {"SUPPORT_S3_REGION", STR(s3_region), "us-east-1", 0, 0,
     "the region signed into every request (GCS: auto)"},
    {"SUPPORT_S3_PREFIX", STR(s3_prefix), "attachments/", 0, 0,
     "key prefix of the attachments' objects"},
    {"SUPPORT_S3_ACCESS_KEY_ID", STR(s3_access_key_id), NULL, 0, 0, "the store's access key id"},
    {"SUPPORT_S3_SECRET_ACCESS_KEY", SEC(s3_secret_access_key), NULL, 0, 0,
     "the store's secret access key"},
    {"SUPPORT_S3_TIMEOUT_MS", INT(s3_timeout_ms), "30000", 100, 600000,
     "each request support-scan and attachment-cleanup make to the store"},
    {"SUPPORT_SLA_WARN_FRACTION", FRAC(sla_warn_fraction), "0.2", 0, 1,
     "warn when this share of an SLA target is left (ticket-sla-monitor)"},
    {"SUPPORT_BOOKING_URL", STR(booking_url), NULL, 0, 0,
     "base URL of the booking service (escalation hooks, AI tools); unset = not called"},
    {"SUPPORT_BOOKING_KEY", SEC(booking_key), NULL, 0, 0, "bearer key for the booking service"},
    {"SUPPORT_PAYMENTS_URL", STR(payments_url), NULL, 0, 0,
     "base URL of the payment service (AI refund tool); unset = not called"},
    {"SUPPORT_PAYMENTS_KEY", SEC(payments_key), NULL, 0, 0, "bearer key for the payment service"},
    {"SUPPORT_SERVICE_TIMEOUT_MS", INT(service_timeout_ms), "5000", 100, 60000,
     "per-attempt timeout of calls to the booking and payment services"},
    {"SUPPORT_REFUND_AGENT_LIMIT", INT(refund_agent_limit), "10000", 0, 1000000000,
     "largest refund (minor units of the payment's currency) a support_agent may run with the"
     " payment_refund tool; above it only a support_admin may"},
    {"SUPPORT_AI_USAGE_MIN_REQUESTS", INT(ai_usage_min_requests), "20", 1, 100000000,
     "ai-usage-monitor: a model's hour needs this many requests before its volume can be"
     " flagged (above mean + 3 sigma of the same hour on the 7 days before)"},
    {"SUPPORT_AI_USAGE_USER_BURST", INT(ai_usage_user_burst), "200", 1, 100000000,
     "ai-usage-monitor: requests in one hour from one user before a burst can be flagged"},
    {"SUPPORT_WEBHOOK_ALLOW_LOOPBACK", INT(webhook_allow_loopback), "0", 0, 1,
     "1 = webhooks may also point at http(s)://127.0.0.1:<port>/ (development and test"
     " stacks only; API.md §11)"},
    {"SUPPORT_SMTP_URL", STR(smtp_url), NULL, 0, 0,
     "mail relay of support-dispatch, smtp://host:port or smtps://host:port"
     " (unset: mail waits in the outbox, retried, until it is set)"},
    {"SUPPORT_SMTP_STARTTLS", INT(smtp_starttls), "2", 0, 2,
     "smtp:// relay: 2 = STARTTLS when offered, 1 = required, 0 = never (a relay on this"
     " host, no SUPPORT_SMTP_USER); SUPPORT_SMTP_USER always requires it"},
    {"SUPPORT_SMTP_CA_FILE", STR(smtp_ca_file), NULL, 0, 0,
     "PEM file of the CA certificates that sign the relay's certificate (a private CA);"
     " unset: the system's CAs"},
    {"SUPPORT_SMTP_USER", STR(smtp_user), NULL, 0, 0, "SMTP AUTH user (unset: no AUTH)"},
    {"SUPPORT_SMTP_PASSWORD", SEC(smtp_password), NULL, 0, 0, "SMTP AUTH password"},
    {"SUPPORT_MAIL_FROM", STR(mail_from), "support@localhost", 0, 0,
     "envelope and From address of notification mail; its domain names the Message-IDs"},
    {"SUPPORT_MAIL_FROM_NAME", STR(mail_from_name), "Support", 0, 0,
     "display name of the From header"},
    {"SUPPORT_MAIL_REPLY_KEYS", SEC(mail_reply_keys), NULL, 0, 0,
     "keys of signed reply addresses kid:secret,... (first signs, all verify): customer mails"
     " say reply to SUPPORT_MAIL_FROM+t-<ticket>-<mac>, and support-mail-in takes those replies"
     " in (unset: customer mails ask for answers on the ticket page)"},
    {"SUPPORT_MAIL_NEW_TICKETS", INT(mail_new_tickets), "1", 0, 1,
     "support-mail-in: 1 = a mail from a known customer's address without a reply address"
     " opens a ticket (source email); 0 = it is refused"},
    {"SUPPORT_MAIL_AUTHSERV_ID", STR(mail_authserv_id), NULL, 0, 0,
     "support-mail-in: the authserv-id our MTA writes in its Authentication-Results headers"
     " (RFC 8601, e.g. mx.example.com); set, a mail's From is trusted only when the topmost"
     " such header says dmarc=pass (or, without a DMARC verdict, an aligned dkim or spf pass),"
     " else the mail is refused; unset, support-mail-in refuses to start unless"
     " SUPPORT_MAIL_TRUST_FROM=1"},
    {"SUPPORT_MAIL_TRUST_FROM", INT(mail_trust_from), "0", 0, 1,
     "support-mail-in without SUPPORT_MAIL_AUTHSERV_ID: 1 = take a mail's From as written"
     " (anyone who knows a customer's address can write as them; a warning each run), chosen"
     " on purpose; 0 = refuse to start (EX_CONFIG, the MTA defers the mail)"},
    {"SUPPORT_STAFF_MAIL", STR(staff_mail), NULL, 0, 0,
     "address that gets agent, team and provider-operations notifications by mail"
     " (unset: they go to SUPPORT_NOTIFY_URL)"},
    {"SUPPORT_CUSTOMER_CHANNELS", STR(customer_channel_list), "email", 0, 0,
     "channels a customer is notified on, a comma list of email, sms, push (sms and push"
     " through SUPPORT_NOTIFY_URL)"},
    {"SUPPORT_PORTAL_URL", STR(portal_url), NULL, 0, 0,
     "the customer's page of a ticket, {id} its public id, e.g."
     " https://example.com/help/tickets/{id}: linked from customer mails, SMS and push"},
    {"SUPPORT_CONSOLE_TICKET_URL", STR(console_ticket_url), NULL, 0, 0,
     "the agent console's page of a ticket, {id} its public id: linked from staff"
     " notifications about a ticket"},
    {"SUPPORT_CONSOLE_CHAT_URL", STR(console_chat_url), NULL, 0, 0,
     "the agent console's page of a chat, {id} its session id: linked from staff"
     " notifications about a chat that has no ticket"},
    {"SUPPORT_NOTIFY_URL", STR(notify_url), NULL, 0, 0,
     "notification service (SMS, push, staff notifications): JSON is POSTed here"},
    {"SUPPORT_NOTIFY_KEY", SEC(notify_key), NULL, 0, 0,
     "bearer key sent to SUPPORT_NOTIFY_URL"},
    {"SUPPORT_DISPATCH_CONCURRENCY", INT(dispatch_concurrency), "16", 1, 256,
     "deliveries one support-dispatch has in flight at once"},
    {"SUPPORT_DISPATCH_PER_DESTINATION", INT(dispatch_per_destination), "4", 1, 256,
     "of those, at most this many to one destination (mail relay, notification service)"},
    {"SUPPORT_DISPATCH_LEASE_S", INT(dispatch_lease_s), "120", 60, 3600,
     "seconds a claimed outbox row is reserved; a dispatcher that dies re-delivers after it"},
    {"SUPPORT_AI_RATE_PER_MINUTE", INT(ai_rate_per_minute), "20", 1, 1000000,
     "AI queries a user may make per minute (POST /support/ai/query)"},
    {"SUPPORT_AI_TOOLS_RATE_PER_MINUTE", INT(ai_tools_rate_per_minute), "60", 1, 1000000,
     "direct AI tool runs a user may make per minute (POST /support/ai/tools/:toolId)"},
    {"SUPPORT_AI_MIN_CONFIDENCE", FRAC(ai_min_confidence), "0.35", 0, 1,
     "below this confidence local-retrieval answers \"I don't know\" (a customer: and how to"
     " reach an agent)"},
    {"SUPPORT_AI_BASE_URL", STR(ai_base_url), NULL, 0, 0,
     "OpenAI-compatible API base, e.g. https://api.openai.com/v1 (POST …/chat/completions);"
     " unset = the embedded local-retrieval model answers"},
    {"SUPPORT_AI_API_KEY", SEC(ai_api_key), NULL, 0, 0,
     "bearer key sent to SUPPORT_AI_BASE_URL (and to SUPPORT_EMBEDDINGS_URL unless"
     " SUPPORT_EMBEDDINGS_API_KEY is set)"},
    {"SUPPORT_AI_MODEL", STR(ai_model), "gpt-4o-mini", 0, 0,
     "model named in chat-completion requests to SUPPORT_AI_BASE_URL"},
    {"SUPPORT_AI_TIMEOUT_MS", INT(ai_timeout_ms), "20000", 100, 120000,
     "the whole provider call, retries after 5xx included; past it the query is 503"},
    {"SUPPORT_AI_MAX_TOKENS", INT(ai_max_tokens), "512", 16, 32768,
     "completion tokens asked of the provider at most"},
    {"SUPPORT_AI_MAX_IN_FLIGHT", INT(ai_max_in_flight), "0", 0, SP_WORKERS_MAX,
     "AI queries calling out (provider, embeddings) at once on this node, all workers"
     " together; one more is 503 ai_busy at once; 0 = half SUPPORT_WORKERS, at least 1"},
    {"SUPPORT_EMBEDDINGS_URL", STR(embeddings_url), NULL, 0, 0,
     "OpenAI-compatible embeddings endpoint (…/v1 or …/v1/embeddings); unset = the"
     " embedded " SP_EMBED_MODEL " embedder (docs/API.md §9)"},
    {"SUPPORT_EMBEDDINGS_API_KEY", SEC(embeddings_key), NULL, 0, 0,
     "bearer key sent to SUPPORT_EMBEDDINGS_URL (default: SUPPORT_AI_API_KEY)"},
    {"SUPPORT_EMBEDDINGS_MODEL", STR(embeddings_model), "text-embedding-3-small", 0, 0,
     "model named in embedding requests; stored with every vector"},
    {"SUPPORT_EMBEDDINGS_BATCH", INT(embeddings_batch), "64", 1, 2048,
     "texts sent in one embeddings request (knowledge-embedding-sync)"},
    {"SUPPORT_EMBEDDINGS_TIMEOUT_MS", INT(embeddings_timeout_ms), "10000", 100, 120000,
     "one embeddings call, retries after 5xx included"},
};

const char *const sp_customer_channel_names[SP_CUSTOMER_CHANNEL_MAX + 1] = {
    [SP_CUSTOMER_EMAIL] = "email", [SP_CUSTOMER_SMS] = "sms", [SP_CUSTOMER_PUSH] = "push", NULL,
};
SP_NAMES_DEFINE(sp_customer_channel, enum sp_customer_channel, SP_CUSTOMER_CHANNEL_MAX)

/* Where `make install` put sql/ and templates/ (Makefile.am). */
#ifndef SP_DATADIR
#define SP_DATADIR "/usr/local/share/support"
#endif
#ifndef SP_BINDIR
#define SP_BINDIR "/usr/local/bin"
#endif

/* The installed data directory's root: "" (SP_DATADIR as compiled), or,
 * for a program running from a copy of the installed tree (make install
 * DESTDIR=ROOT, a tree moved under /opt), ROOT when the program is
 * ROOT + SP_BINDIR + /name. A program anywhere else (the build tree) gets
 * "". Writes into exe (PATH_MAX bytes) and returns it. */
static const char *
data_root(char *exe)
{
    ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
    size_t bin = strlen(SP_BINDIR);
    char *slash = NULL;
    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
    }
    if (slash != NULL && (size_t)(slash - exe) >= bin &&
        memcmp(slash - bin, SP_BINDIR, bin) == 0) {
        slash[-(ptrdiff_t)bin] = '\0';
        return exe;
    }
    return "";
}

/* The default of an SP_SET_DATA setting: ROOT SP_DATADIR/def (malloc'ed). */
static char *
data_default(const char *def)
{
    char exe[PATH_MAX];
    const char *root = data_root(exe);
    size_t n = strlen(root) + strlen(SP_DATADIR) + strlen(def) + 2;
    char *path = malloc(n);
    if (path != NULL)
        snprintf(path, n, "%s%s/%s", root, SP_DATADIR, def);
    return path;
}

/* A secret's file holds at most 64 KiB, as its refusal says ("larger
 * than 64 KiB"; one of exactly 64 KiB was refused too). */
#define SECRET_FILE_MAX (64 * 1024)

static char *
read_secret_file(const char *path, const char *name, char *err, size_t errlen)
{
    char *data;
    size_t n;
    enum sp_fd_read rc = sp_fd_read_file(path, SECRET_FILE_MAX, &data, &n);
    struct stat st;
    if (rc == SP_FD_READ_UNOPENED)
        snprintf(err, errlen, "%s_FILE: cannot open file: %s", name, strerror(errno));
    else if (rc != SP_FD_READ_OK && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(err, errlen, "%s_FILE: is a directory, not a file", name);
    else if (rc != SP_FD_READ_OK)
        snprintf(err, errlen, "%s_FILE: unreadable or larger than 64 KiB", name);
    if (rc != SP_FD_READ_OK)
        return NULL;
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
        n--;
    data[n] = '\0';
    if (n == 0) {
        free(data);
        snprintf(err, errlen, "%s_FILE: the file is empty", name);
        return NULL;
    }
    return data;
}

/* NAME_FILE of setting s (its name written into fname): NULL when unset
 * or empty, for a secret's file and a refused non-secret's alike. */
static const char *
file_variant(const struct sp_setting *s, char fname[128])
{
    snprintf(fname, 128, "%s_FILE", s->name);
    const char *path = getenv(fname);
    return path != NULL && *path != '\0' ? path : NULL;
}

/* NAME_FILE, when set, holds the value of secret setting NAME: *out is
 * the file's text (malloc'ed), or stays NULL when NAME_FILE is unset.
 * NAME and NAME_FILE both set (non-empty) is refused. */
static bool
read_secret(const struct sp_setting *s, char **out, char *err, size_t errlen)
{
    char fname[128];
    const char *path = file_variant(s, fname);
    if (path == NULL)
        return true;
    /* Which one was meant cannot be told: the file won silently, and a
     * bad NAME went unreported (QA). Neither value is said. */
    const char *v = getenv(s->name);
    if (v != NULL && *v != '\0') {
        snprintf(err, errlen, "%s and %s are both set: set one of them", s->name, fname);
        return false;
    }
    *out = read_secret_file(path, s->name, err, errlen);
    return *out != NULL;
}

/* NAME_FILE of a setting that is no secret: the operator believes it
 * took effect, so it is refused rather than ignored (err says so). */
static bool
file_variant_set(const struct sp_setting *s, char *err, size_t errlen)
{
    char fname[128];
    if (file_variant(s, fname) == NULL)
        return false;
    snprintf(err, errlen, "%s: only secret settings are read from a file; set %s itself",
             fname, s->name);
    return true;
}

static bool
is_number(enum sp_setting_type t)
{
    return t == SP_SET_INT || t == SP_SET_FRACTION || t == SP_SET_MODE;
}

/* Only what the table documents: decimal digits (an integer may start
 * with "-"), and one "." in a fraction; strtol and strtod would also take
 * leading blanks, "+", hex ("0x0.5"), exponents, "inf" and "nan". */
static bool
plain_number(const char *v, bool fraction)
{
    const char *d = v + (!fraction && *v == '-');
    size_t digits = strspn(d, "0123456789");
    if (fraction && d[digits] == '.')
        digits += 1 + strspn(d + digits + 1, "0123456789");
    return digits > 0 && d[digits] == '\0' && strcmp(d, ".") != 0;
}

/* A number setting: the whole text, within [min, max]. Permissions are
 * octal ("0660", "660"), as chmod takes them. */
static bool
parse_number(const struct sp_setting *s, const char *v, void *field, char *err, size_t errlen)
{
    char *end = (char *)v;   /* not a plain number: end == v, refused below */
    bool in_range = false;
    errno = 0;
    bool plain = plain_number(v, s->type == SP_SET_FRACTION);
    if (plain && s->type == SP_SET_FRACTION) {
        double f = strtod(v, &end);
        in_range = f >= s->min && f <= s->max;
        *(double *)field = f;
    } else if (plain) {
        bool octal = s->type == SP_SET_MODE;
        long n = strtol(v, &end, octal ? 8 : 10);
        in_range = n >= s->min && n <= s->max && !(octal && *v == '-');
        *(long *)field = n;
    }
    if (errno == 0 && end != v && *end == '\0' && in_range)
        return true;
    if (s->type == SP_SET_MODE)
        snprintf(err, errlen, "%s: expected octal permissions in %04lo..%04lo", s->name, s->min,
                 s->max);
    else
        snprintf(err, errlen, "%s: expected %s in %ld..%ld", s->name,
                 s->type == SP_SET_INT ? "an integer" : "a number", s->min, s->max);
    return false;
}

/* SUPPORT_CUSTOMER_CHANNELS as a set: every item (blanks around it
 * ignored) a channel's name; an empty item ("email,", ",") is a mistake,
 * not "no channel". The message counts items, it does not repeat them. */
static bool
customer_channels(struct sp_config *c, char *err, size_t errlen)
{
    c->customer_channels = 0;
    const char *s = c->customer_channel_list;
    for (int item = 1;; item++) {
        s += strspn(s, " \t");
        size_t n = strcspn(s, ","), len = n;
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        char name[8] = "";   /* longer than any channel's name: stays "", no name */
        if (len < sizeof(name)) {
            memcpy(name, s, len);
            name[len] = '\0';
        }
        enum sp_customer_channel ch;
        if (!sp_customer_channel_parse(name, &ch)) {
            snprintf(err, errlen, "SUPPORT_CUSTOMER_CHANNELS: item %d is not one of email, sms,"
                                  " push", item);
            return false;
        }
        c->customer_channels |= 1u << ch;
        if (s[n] == '\0')
            return true;
        s += n + 1;
    }
}

/* The workers trust the FastCGI parameters they are sent (the path of a
 * body nginx kept in a file, the listener an operators' request came
 * through), so only nginx may reach them: a unix socket, which others
 * cannot connect to. A ":PORT" listened on every interface (QA: any host
 * could send REQUEST_BODY_FILE and have a worker move a file of its
 * choosing) and is refused, as is a path too long for a socket address
 * (libfcgi failed late, without naming the setting). */
static bool
listen_ok(const char *name, const char *path, char *err, size_t errlen)
{
    if (path[0] == ':' || strchr(path, ':') != NULL)
        snprintf(err, errlen, "%s: must be a unix socket path; FastCGI over TCP would let any"
                              " peer set the parameters the workers trust", name);
    else if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        snprintf(err, errlen, "%s: the path is longer than a unix socket's %zu bytes", name,
                 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    else
        return true;
    return false;
}

/* SUPPORT_LISTEN_MODE: the group may connect (nginx's), never others. */
static bool
listen_mode_ok(const struct sp_config *c, char *err, size_t errlen)
{
    if ((c->listen_mode & 07) == 0)
        return true;
    snprintf(err, errlen, "SUPPORT_LISTEN_MODE: must give others no access (e.g. 0660): any"
                          " local process could send the workers FastCGI parameters");
    return false;
}

/* The AI provider's and the embedder's endpoints: unset, or an http(s)
 * URL (core/url_guard's syntax: a host, no user:password@, no fragment).
 * Anything else failed only at the first query, as a 503 (QA:
 * --check-config said ok to "garbage" and gopher://). */
static bool
service_url_ok(const char *name, const char *url, char *err, size_t errlen)
{
    struct sp_url u;
    if (url == NULL || *url == '\0' || sp_url_parse(url, &u))
        return true;
    snprintf(err, errlen, "%s: expected an http(s) URL, e.g. https://api.openai.com/v1", name);
    return false;
}

/* A refused load's message, in err (errlen bytes): every bad setting's,
 * "; "-joined, so one start-up names all that must be fixed, not one per
 * try. The first is always said; a later one only whole, and one that no
 * longer fits ends the line with "; …": bounded, and it says there is
 * more. */
struct faults {
    char *err;
    size_t errlen, used;
    bool any, cut;
};

static void
fault(struct faults *f, const char *one)
{
    static const char more[] = "; …";
    bool first = !f->any;
    f->any = true;
    if (f->cut || f->errlen == 0)
        return;
    size_t room = f->errlen - f->used;
    if (first || 2 + strlen(one) + sizeof(more) <= room) {
        int n = snprintf(f->err + f->used, room, "%s%s", first ? "" : "; ", one);
        f->used += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
        return;
    }
    f->cut = true;
    if (sizeof(more) <= room)
        memcpy(f->err + f->used, more, sizeof(more));
}

/* Setting s into its field of c; false with its message in err. */
static bool
load_setting(struct sp_config *c, const struct sp_setting *s, char *err, size_t errlen)
{
    char *owned = NULL;     /* only a secret's file: always a string */
    if (s->type == SP_SET_SECRET && !read_secret(s, &owned, err, errlen))
        return false;
    size_t n = owned != NULL ? strlen(owned) : 0;
    if (n > 0 && (owned[n - 1] == ' ' || owned[n - 1] == '\t') && c->secret_blank_tail == NULL)
        c->secret_blank_tail = s->name;
    const char *v = owned != NULL ? owned : getenv(s->name);
    if (v == NULL || *v == '\0')
        v = s->def;
    void *field = (char *)c + s->offset;
    if (s->type == SP_SET_DATA && v == s->def)
        *(char **)field = data_default(s->def);
    else if (!is_number(s->type))
        *(char **)field = owned ? owned : (v ? strdup(v) : NULL);
    else if (!parse_number(s, v, field, err, errlen))
        return false;
    return s->type == SP_SET_SECRET || !file_variant_set(s, err, errlen);
}

bool
sp_config_load(struct sp_config *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    struct faults f = {.err = err, .errlen = errlen};
    if (errlen > 0)
        err[0] = '\0';
    char one[256];
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        if (!load_setting(c, &settings[i], one, sizeof(one)))
            fault(&f, one);
    if (c->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n = (n > 0 ? n : 1) * SP_WORKERS_PER_CORE;
        c->workers = n < SP_WORKERS_MAX ? n : SP_WORKERS_MAX;
    }
    /* Half the workers: the other half answer everything else while the
     * provider hangs (docs/API.md §9, "In flight"). */
    if (c->ai_max_in_flight == 0)
        c->ai_max_in_flight = c->workers / 2 > 0 ? c->workers / 2 : 1;
    if (!customer_channels(c, one, sizeof(one)))
        fault(&f, one);
    if (c->listen != NULL && !listen_ok("SUPPORT_LISTEN", c->listen, one, sizeof(one)))
        fault(&f, one);
    if (c->chat_listen != NULL &&
        !listen_ok("SUPPORT_CHAT_LISTEN", c->chat_listen, one, sizeof(one)))
        fault(&f, one);
    if (!listen_mode_ok(c, one, sizeof(one)))
        fault(&f, one);
    if (!service_url_ok("SUPPORT_AI_BASE_URL", c->ai_base_url, one, sizeof(one)))
        fault(&f, one);
    if (!service_url_ok("SUPPORT_EMBEDDINGS_URL", c->embeddings_url, one, sizeof(one)))
        fault(&f, one);
    enum sp_log_level level;
    if (!sp_config_log_level(c, &level, one, sizeof(one)))
        fault(&f, one);
    if (f.any)
        sp_config_free(c);
    return !f.any;
}

void
sp_config_name_sources(char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        char fname[128];
        if (settings[i].type != SP_SET_SECRET || file_variant(&settings[i], fname) == NULL)
            continue;
        size_t n = strlen(settings[i].name);
        for (char *at = err; (at = strstr(at, settings[i].name)) != NULL; at += n) {
            bool starts = at == err || (at - err >= 2 && at[-2] == ';' && at[-1] == ' ');
            size_t len = strlen(err);
            if (!starts || at[n] != ':' || len + 5 >= errlen)
                continue;
            memmove(at + n + 5, at + n, len - (size_t)(at + n - err) + 1);
            memcpy(at + n, "_FILE", 5);
        }
    }
}

bool
sp_config_log_level(const struct sp_config *c, enum sp_log_level *out, char *err, size_t errlen)
{
    if (sp_log_parse_level(c->log_level, out))
        return true;
    snprintf(err, errlen, "SUPPORT_LOG_LEVEL: expected debug, info, warn or error");
    return false;
}

void
sp_config_warn(const struct sp_config *c)
{
    const struct {
        bool on;
        const char *name, *what;
    } dev_only[] = {
        {c->cookie_insecure != 0, "SUPPORT_COOKIE_INSECURE",
         "admin cookies are sent without Secure, so over plain HTTP too"},
        {c->webhook_allow_loopback != 0, "SUPPORT_WEBHOOK_ALLOW_LOOPBACK",
         "webhooks may point at this host's own services (127.0.0.1)"},
    };
    for (size_t i = 0; i < sizeof(dev_only) / sizeof(dev_only[0]); i++)
        if (dev_only[i].on)
            sp_log_msg(SP_LOG_WARN, "dev_only_setting",
                       "%s=1: %s; for development and test stacks only, never in production",
                       dev_only[i].name, dev_only[i].what);
    if (c->secret_blank_tail != NULL)
        sp_log_msg(SP_LOG_WARN, "secret_file_blank",
                   "%s_FILE ends in a space or tab, which is kept as part of the secret"
                   " (only line ends are trimmed): remove it unless it is meant",
                   c->secret_blank_tail);
}

bool
sp_config_s3(const struct sp_config *c, struct sp_s3 *out, bool *on, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    *on = c->s3_bucket != NULL && c->s3_bucket[0] != '\0';
    if (!*on)
        return true;
    const char *missing = c->s3_endpoint == NULL            ? "SUPPORT_S3_ENDPOINT"
                          : c->s3_access_key_id == NULL     ? "SUPPORT_S3_ACCESS_KEY_ID"
                          : c->s3_secret_access_key == NULL ? "SUPPORT_S3_SECRET_ACCESS_KEY"
                                                            : NULL;
    if (missing != NULL) {
        snprintf(err, errlen, "SUPPORT_S3_BUCKET is set: %s is required too", missing);
        return false;
    }
    size_t n = strlen(c->s3_endpoint);
    bool http = strncmp(c->s3_endpoint, "https://", 8) == 0 ||
                strncmp(c->s3_endpoint, "http://", 7) == 0;
    if (!http || c->s3_endpoint[n - 1] == '/') {
        snprintf(err, errlen, "SUPPORT_S3_ENDPOINT: expected http(s)://host[:port], no trailing /");
        return false;
    }
    *out = (struct sp_s3){c->s3_endpoint, c->s3_region, c->s3_bucket, c->s3_access_key_id,
                          c->s3_secret_access_key, c->s3_timeout_ms};
    return true;
}

void
sp_config_free(struct sp_config *c)
{
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (is_number(settings[i].type))
            continue;
        char **field = (char **)((char *)c + settings[i].offset);
        if (*field != NULL && settings[i].type == SP_SET_SECRET)
            explicit_bzero(*field, strlen(*field));
        free(*field);
        *field = NULL;
    }
}

/* Whether entry (a name, or a prefix ending in '_') takes setting name. */
static bool
entry_takes(const char *entry, const char *name)
{
    size_t n = strlen(entry);
    return n > 0 && entry[n - 1] == '_' ? strncmp(name, entry, n) == 0 : strcmp(name, entry) == 0;
}

static bool
listed(const char *const names[], const char *name)
{
    for (size_t i = 0; names[i] != NULL; i++)
        if (entry_takes(names[i], name))
            return true;
    return false;
}

static void
describe_row(FILE *out, const struct sp_setting *s)
{
    char *data = s->type == SP_SET_DATA ? data_default(s->def) : NULL;
    const char *def = data != NULL ? data : s->def;
    fprintf(out, "  %-32s %s%s (default: %s)\n", s->name, s->help,
            s->type == SP_SET_SECRET ? "; also NAME_FILE" : "", def ? def : "unset");
    free(data);
}

/* Whether entry takes any setting. */
static bool
takes_some(const char *entry)
{
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        if (entry_takes(entry, settings[i].name))
            return true;
    return false;
}

const char *
sp_config_describe_some(FILE *out, const char *const names[])
{
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        if (names == NULL || listed(names, settings[i].name))
            describe_row(out, &settings[i]);
    for (size_t k = 0; names != NULL && names[k] != NULL; k++)
        if (!takes_some(names[k]))
            return names[k];
    return NULL;
}

void
sp_config_describe(FILE *out)
{
    (void)sp_config_describe_some(out, NULL);
}
