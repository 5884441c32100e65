/*
 * test_dispatch: support-dispatch (API.md §11 "Delivery", §12) against
 * fixture servers that speak the real protocols, started by each test:
 * an SMTP sink (scripts/lib/smtp_sink.py, aiosmtpd, writing a Maildir) and
 * an HTTP receiver that fails or stalls on demand
 * (t/integration/http_receiver.py) standing in for the notification
 * service.
 *
 * An agent's reply writes the customer's email row itself (ticket_state),
 * and so does an admin's transfer of a chat to a ticket (chat.escalated);
 * the other rows (SMS, status moves, rows with a past) are inserted with
 * SQL in the shape documented in docs/API.md §11: kind notification,
 * channel email|sms|push, recipient the customer id. Before each test every other
 * pending row is set aside (status skipped), so a pass claims only this
 * test's rows.
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attachment_harness.h"
#include "chat_harness.h"
#include "harness.h"

#define JOB "support-dispatch"

/* ---- fixtures ------------------------------------------------------------- */

struct fixture {
    pid_t pid;
    int port;
    const char *dir;     /* its files: the Maildir or the request log */
};

static const char *
tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *d = (char *)sp_t_fmt("%s/dispatch-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

/* Starts script (top_srcdir-relative) with args; waits for its ready file. */
static struct fixture
fixture_start(const char *script, const char *first_arg)
{
    struct fixture f = {.dir = tmpdir()};
    const char *ready = sp_t_fmt("%s/ready", f.dir);
    const char *path = sp_t_fmt("%s/%s", getenv("SP_TEST_TOP_SRCDIR"), script);
    const char *arg = sp_t_fmt("%s/%s", f.dir, first_arg);
    fflush(NULL);
    f.pid = fork();
    ck_assert_int_ge(f.pid, 0);
    if (f.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);  /* a failed test must not leave it running */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        execl(sp_t_python(), sp_t_python(), path, arg, "--ready-file", ready, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *r = fopen(ready, "r");
        if (r != NULL) {
            ck_assert_int_eq(fscanf(r, "%d", &f.port), 1);
            fclose(r);
            return f;
        }
        ck_assert_msg(waitpid(f.pid, NULL, WNOHANG) == 0, "%s exited during start-up", script);
        usleep(50000);
    }
    ck_abort_msg("%s did not start", script);
    return f;
}

static void
fixture_stop(struct fixture *f)
{
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
}

static struct fixture
smtp_sink(void)
{
    return fixture_start("scripts/lib/smtp_sink.py", "mail");
}

static struct fixture
receiver(void)
{
    return fixture_start("t/integration/http_receiver.py", "requests.log");
}

/* The mails in the sink, decoded by Python's email package (a JSON array). */
static struct json_object *
mails(const struct fixture *sink)
{
    const char *cmd = sp_t_fmt("%s %s/t/integration/mail_summary.py %s/mail", sp_t_python(),
                               getenv("SP_TEST_TOP_SRCDIR"), sink->dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    struct json_object *o = json_tokener_parse(buf);
    ck_assert_msg(o != NULL && json_object_is_type(o, json_type_array), "mail_summary: %s", buf);
    return o;
}

/* How many mails the sink holds. */
static size_t
mail_count(const struct fixture *sink)
{
    struct json_object *all = mails(sink);
    size_t n = json_object_array_length(all);
    json_object_put(all);
    return n;
}

/* The receiver's log lines of one event ("start" or "done") whose body
 * names outbox row id (its "id":"outbox-<id>"). */
static int
requests_for(const struct fixture *rcv, const char *event, long long id,
             struct json_object **last)
{
    FILE *f = fopen(sp_t_fmt("%s/requests.log", rcv->dir), "r");
    if (f == NULL)
        return 0;
    char line[65536];
    int n = 0;
    const char *want = sp_t_fmt("\"id\":\"outbox-%lld\"", id);
    while (fgets(line, sizeof(line), f) != NULL) {
        struct json_object *o = json_tokener_parse(line);
        if (o == NULL)
            continue;
        const char *body = json_object_get_string(json_object_object_get(o, "body"));
        const char *ev = json_object_get_string(json_object_object_get(o, "event"));
        if (body && ev && strcmp(ev, event) == 0 && strstr(body, want) != NULL) {
            n++;
            if (last != NULL) {
                if (*last != NULL)
                    json_object_put(*last);
                *last = json_object_get(o);
            }
        }
        json_object_put(o);
    }
    fclose(f);
    return n;
}

/* ---- rows ------------------------------------------------------------------- */

static void
set_aside_other_rows(void)
{
    sp_t_sql("UPDATE support_outbox SET status = 'skipped', last_error = 'test_dispatch'"
             " WHERE status = 'pending'");
}

struct customer {
    struct sp_t_user u;
    const char *email, *name, *phone, *ticket;
    const char *phone_e164; /* the phone as the SMS gateway gets it */
    long long ticket_id;
};

/* A customer whose token carries contact claims (stored encrypted when
 * they open a ticket or a chat), with no ticket yet; their email is
 * <local>+<tag>@<domain>. */
static struct customer
customer_at(const char *local, const char *domain)
{
    struct customer c = {.u = sp_t_user_new(SP_ROLE_CUSTOMER)};
    const char *tag = sp_t_unique("d");
    c.email = sp_t_fmt("%s+%s@%s", local, tag, domain);
    c.name = "Zoë Ürban";
    c.phone = "+44 20 7946 0018";
    c.phone_e164 = "+442079460018";
    c.u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, c.u.sub,
                                  sp_t_fmt("{\"name\":%s,\"email\":%s,\"phone\":%s}",
                                           sp_t_jq(c.name), sp_t_jq(c.email), sp_t_jq(c.phone)));
    return c;
}

static struct customer
customer_with_claims(void)
{
    return customer_at("zoe", "example.org");
}

/* customer_at() with a ticket whose subject needs RFC 2047. */
static struct customer
ticket_of(struct customer c)
{
    c.ticket = sp_t_ticket_create(&c.u, "Rückerstattung für Buchung");
    c.ticket_id = atoll(sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s'",
                                 c.ticket));
    /* What the create queued (its webhook; the team's notification of an
     * unassigned ticket) is not what these tests send. */
    sp_t_sql("UPDATE support_outbox SET status = 'skipped', last_error = 'test_dispatch'"
             " WHERE ticket_id = %lld AND status = 'pending'", c.ticket_id);
    return c;
}

static struct customer
customer_with_ticket(void)
{
    return ticket_of(customer_with_claims());
}

/* An agent's public reply through the API with members (e.g. a status)
 * beside its body (NULL: none); returns the message id. */
static long long
agent_reply_with(const struct customer *c, const char *body, const char *members)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_post_json(
        sp_t_fmt("/support/agent/tickets/%s/messages", c->ticket), agent.token,
        sp_t_fmt("{\"body\":%s%s%s}", sp_t_jq(body), members ? "," : "", members ? members : ""));
    sp_t_assert_status(r, 201);
    sp_t_resp_free(r);
    return atoll(sp_t_sql("SELECT max(id) FROM support_ticket_messages WHERE ticket_id = %lld"
                          " AND NOT is_internal AND sender_type = 'agent'",
                          c->ticket_id));
}

/* An agent's public reply through the API; returns the message id. */
static long long
agent_reply(const struct customer *c, const char *body)
{
    return agent_reply_with(c, body, NULL);
}

/* A customer notification row, as the ticket code will write it. */
static long long
notification(const struct customer *c, const char *channel, const char *event_type,
             const char *payload)
{
    return atoll(sp_t_sql(
        "INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id, payload)"
        " VALUES ('notification', '%s', '%s', '%s', %lld, '%s') RETURNING id",
        event_type, channel, c->u.sub, c->ticket_id, payload));
}

/* A customer notification row whose next failure is its last: almost
 * 24 h old, 14 attempts made. */
static long long
last_chance(const struct customer *c, const char *channel, const char *event_type)
{
    long long id = notification(c, channel, event_type, "{}");
    sp_t_sql("UPDATE support_outbox SET created_at = now() - interval '23 hours 59 minutes 55 s',"
             " attempts = 14 WHERE id = %lld", id);
    return id;
}

static const char *
row(long long id, const char *column)
{
    return sp_t_sql("SELECT %s FROM support_outbox WHERE id = %lld", column, id);
}

/* ---- running the dispatcher ---------------------------------------------------- */

static const char **
dispatch_env(const struct fixture *sink, const struct fixture *rcv, const char *notify_path)
{
    static const char *env[16];
    size_t n = 0;
    env[n++] = sp_t_fmt("SUPPORT_ENCRYPTION_KEYS_FILE=%s", getenv("SP_TEST_ENCRYPTION_KEYS_FILE"));
    env[n++] = sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates", getenv("SP_TEST_TOP_SRCDIR"));
    env[n++] = "SUPPORT_MAIL_FROM=support@example.test";
    env[n++] = "SUPPORT_MAIL_FROM_NAME=Kundenservice Süd";
    env[n++] = "SUPPORT_NOTIFY_KEY=test-notify-key";
    env[n++] = "SUPPORT_LOG_LEVEL=debug";
    if (sink != NULL)
        env[n++] = sp_t_fmt("SUPPORT_SMTP_URL=smtp://127.0.0.1:%d", sink->port);
    if (rcv != NULL)
        env[n++] = sp_t_fmt("SUPPORT_NOTIFY_URL=http://127.0.0.1:%d%s", rcv->port, notify_path);
    env[n] = NULL;
    return env;
}

/* env with one or two settings more (b may be NULL). */
static const char *const *
env_plus(const char *const *env, const char *a, const char *b)
{
    const char **e = (const char **)env;
    size_t n = 0;
    while (e[n] != NULL)
        n++;
    e[n++] = a;
    e[n++] = b;
    e[n] = NULL;
    return e;
}

static const char *
dispatch_once(const char *const *env)
{
    const char *args[] = {"--once", NULL};
    const char *out = NULL;
    int rc = sp_t_job_run(JOB, env, args, &out);
    ck_assert_msg(rc == 0, "support-dispatch --once exited %d:\n%s", rc, out);
    return out;
}

static double
seconds_until_next_attempt(long long id)
{
    return atof(row(id, "extract(epoch FROM next_attempt_at - now())"));
}

/* ---- mail -------------------------------------------------------------------- */

static struct json_object *
part_of(struct json_object *mail, const char *type)
{
    struct json_object *parts = sp_t_jarr(mail, "parts");
    for (size_t i = 0; i < json_object_array_length(parts); i++) {
        struct json_object *p = json_object_array_get_idx(parts, i);
        if (strcmp(sp_t_jstr(p, "type"), type) == 0)
            return p;
    }
    ck_abort_msg("no %s part", type);
    return NULL;
}

START_TEST(agent_replies_become_threaded_mails)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    /* the reply writes the customer's email row in its own transaction */
    agent_reply(&c, "Wir haben die Rückerstattung veranlasst.\n<b>Danke</b>");
    agent_reply(&c, "Second reply = done.");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_outbox WHERE ticket_id = %lld"
                              " AND channel = 'email' AND event_type = 'ticket.message_created'",
                              c.ticket_id), "2");
#define REPLY_ROW(agg)                                                                  \
    atoll(sp_t_sql("SELECT " agg "(id) FROM support_outbox WHERE ticket_id = %lld"      \
                   " AND kind = 'notification' AND channel = 'email'"                   \
                   " AND event_type = 'ticket.message_created'",                        \
                   c.ticket_id))
    long long r1 = REPLY_ROW("min"), r2 = REPLY_ROW("max");
#undef REPLY_ROW
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_str_eq(row(r1, "status"), "sent");
    ck_assert_str_eq(row(r2, "status"), "sent");
    ck_assert_str_eq(row(r1, "last_status_code"), "250");
    ck_assert_ptr_nonnull(row(r1, "delivered_at"));

    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 2);
    const char *thread = sp_t_fmt("<ticket-%s@example.test>", c.ticket);
    for (int i = 0; i < 2; i++) {
        struct json_object *m = json_object_array_get_idx(all, i);
        ck_assert_str_eq(sp_t_jstr(m, "in_reply_to"), thread);
        ck_assert_str_eq(sp_t_jstr(m, "references"), thread);
        ck_assert_str_eq(sp_t_jstr(m, "subject"),
                         sp_t_fmt("Re: Rückerstattung für Buchung [%s]", c.ticket));
        ck_assert(strstr(sp_t_jstr(m, "raw_subject"), "=?UTF-8?B?") != NULL);
        ck_assert_str_eq(sp_t_jstr(m, "to"), sp_t_fmt("Zoë Ürban <%s>", c.email));
        ck_assert_str_eq(sp_t_jstr(m, "from"), "Kundenservice Süd <support@example.test>");
        ck_assert_str_eq(sp_t_jstr(m, "content_type"), "multipart/alternative");
        ck_assert_str_eq(sp_t_jstr(m, "auto_submitted"), "auto-generated");
        ck_assert_str_eq(sp_t_jstr(part_of(m, "text/plain"), "cte"), "quoted-printable");
        ck_assert(strstr(sp_t_jstr(part_of(m, "text/html"), "text"), "not a newsletter"));
        /* Without SUPPORT_MAIL_REPLY_KEYS there is no signed reply
         * address: the mail points to the ticket page, and claims neither
         * that a reply works nor that it is unread (a reply to the plain
         * address still threads when the MTA pipes it to support-mail-in). */
        ck_assert(!sp_t_jhas(m, "reply_to") || json_object_get_type(
                      json_object_object_get(m, "reply_to")) == json_type_null);
        const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
        /* nor a ticket page it cannot link (no SUPPORT_PORTAL_URL; QA) */
        ck_assert_msg(strstr(text, sp_t_fmt("To answer, open ticket %s where you see your"
                                            " support requests.", c.ticket)) != NULL, "%s", text);
        ck_assert(strstr(text, "ticket page") == NULL);
        ck_assert(strstr(text, "not read") == NULL);
        ck_assert(strstr(text, "Reply to this mail") == NULL);
    }
    /* Each mail's Message-ID is its own, and tells nothing of the outbox
     * rows (QA: "<outbox-<id>@…>" gave away the global outbox sequence). */
    struct json_object *first = NULL;
    const char *ids[2];
    for (int i = 0; i < 2; i++) {
        struct json_object *m = json_object_array_get_idx(all, i);
        ids[i] = sp_t_jstr(m, "message_id");
        /* the sealed form only: no "outbox-<id>"; the 72 hex digits may
         * end in the row's digits by chance, so those are not searched */
        ck_assert_msg(sp_t_matches("^<m-[0-9a-f]{72}@example\\.test>$", ids[i]), "%s", ids[i]);
        if (strstr(sp_t_jstr(part_of(m, "text/plain"), "text"), "Second reply") == NULL)
            first = m;
    }
    ck_assert_str_ne(ids[0], ids[1]);
    ck_assert_ptr_nonnull(first);
    /* the reply itself, as text and HTML-escaped in the HTML part */
    /* the reply itself: stored as sanitized HTML, shown as text and HTML */
    const char *text = sp_t_jstr(part_of(first, "text/plain"), "text");
    ck_assert_msg(strstr(text, "Wir haben die Rückerstattung veranlasst.") != NULL &&
                      strstr(text, "<b>") == NULL && strstr(text, "Danke") != NULL,
                  "%s", text);
    ck_assert(strstr(sp_t_jstr(part_of(first, "text/html"), "text"), "<b>Danke</b>") != NULL);
    /* no SUPPORT_PORTAL_URL: no link to a page we do not know */
    ck_assert_ptr_null(strstr(text, "View and reply"));
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A sink that never answers `command` (smtp_sink.py) in *sink, and the
 * id of a customer's mail waiting for it (the only row due). */
static long long
mail_to_silent_relay(const char *command, struct fixture *sink)
{
    set_aside_other_rows();
    setenv("SMTP_SINK_SILENT", command, 1);
    *sink = smtp_sink();
    unsetenv("SMTP_SINK_SILENT");
    struct customer c = customer_with_ticket();
    agent_reply(&c, "Mailed to a relay that hangs.");
    return atoll(sp_t_sql("SELECT max(id) FROM support_outbox WHERE ticket_id = %lld"
                          " AND channel = 'email'", c.ticket_id));
}

/* A relay that takes the mail but never answers QUIT: curl waited 120 s
 * for the reply when it closed the connection, after the pass, so
 * --once (and a stop, past the unit's TimeoutStopSec=45) hung two
 * minutes (QA). Each reply is now waited for 10 s at most, and the
 * transfer for 20 s, so a mail and its QUIT end within 30 s (QA: 30 s
 * and 15 s more for QUIT). */
START_TEST(a_relay_that_never_answers_quit_holds_no_exit)
{
    struct fixture sink;
    long long id = mail_to_silent_relay("QUIT", &sink);
    time_t start = time(NULL);
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    long took = (long)(time(NULL) - start);
    ck_assert_str_eq(row(id, "status"), "sent");
    ck_assert_msg(took < 14, "support-dispatch --once took %ld s to exit", took);
    fixture_stop(&sink);
}
END_TEST

/* ---- TLS to the relay (API.md §11 Channels) ----------------------------------- */

/* A relay (t/integration/smtp_tls_sink.py) that asks for AUTH when
 * auth and offers STARTTLS when starttls (with a certificate the
 * dispatcher does not trust), noting both commands when sent. */
static struct fixture
tls_sink(bool auth, bool starttls)
{
    if (auth)
        setenv("SMTP_SINK_AUTH", "1", 1);
    if (starttls)
        setenv("SMTP_SINK_STARTTLS", "1", 1);
    struct fixture sink = fixture_start("t/integration/smtp_tls_sink.py", "mail");
    unsetenv("SMTP_SINK_AUTH");
    unsetenv("SMTP_SINK_STARTTLS");
    return sink;
}

/* tls_sink() asking for AUTH, and a customer's mail waiting for it (the
 * only row due), its id in *id. */
static struct fixture
auth_sink(bool starttls, long long *id)
{
    set_aside_other_rows();
    struct fixture sink = tls_sink(true, starttls);
    struct customer c = customer_with_ticket();
    agent_reply(&c, "Mailed over TLS or not at all.");
    *id = atoll(sp_t_sql("SELECT max(id) FROM support_outbox WHERE ticket_id = %lld"
                         " AND channel = 'email'", c.ticket_id));
    return sink;
}

/* The STARTTLS and AUTH commands the sink was sent, one a line. */
static const char *
sink_commands(const struct fixture *sink)
{
    FILE *f = fopen(sp_t_fmt("%s/smtp-commands.log", sink->dir), "r");
    static char buf[4096];
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    buf[n] = '\0';
    if (f != NULL)
        fclose(f);
    return buf;
}

/* QA: the password (AUTH PLAIN: base64 of it) and every mail went out in
 * clear unless SUPPORT_SMTP_STARTTLS=1, even to a relay offering
 * STARTTLS. With credentials TLS is now required: a relay without
 * STARTTLS, or whose certificate does not verify, is never sent AUTH
 * (tls_failed, retried). */
START_TEST(credentials_never_go_out_without_tls)
{
    for (int offered = 0; offered < 2; offered++) {
        long long id;
        struct fixture sink = auth_sink(offered, &id);
        const char *out = dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL),
                                                 "SUPPORT_SMTP_USER=dispatch",
                                                 "SUPPORT_SMTP_PASSWORD=smtp-secret"));
        ck_assert_str_eq(row(id, "status"), "pending");
        ck_assert_str_eq(row(id, "last_error"), "tls_failed");
        const char *seen = sink_commands(&sink);
        ck_assert_msg(strstr(seen, "AUTH") == NULL, "offered %d: %s", offered, seen);
        ck_assert_msg((strstr(seen, "STARTTLS") != NULL) == offered, "%s", seen);
        ck_assert_msg(strstr(out, "smtp-secret") == NULL, "%s", out);
        ck_assert_uint_eq(mail_count(&sink), 0);
        fixture_stop(&sink);
    }
}
END_TEST

/* Without credentials STARTTLS is used whenever the relay offers it (its
 * certificate checked: the test's is not trusted, so the mail waits),
 * and SUPPORT_SMTP_STARTTLS=0 is the documented way to a relay on this
 * host that offers it with a certificate nobody can check: plain, sent. */
START_TEST(starttls_is_used_when_offered_unless_turned_off)
{
    long long id;
    set_aside_other_rows();
    struct fixture sink = tls_sink(false, true);
    struct customer c = customer_with_ticket();
    agent_reply(&c, "Mailed over STARTTLS when offered.");
    id = atoll(sp_t_sql("SELECT max(id) FROM support_outbox WHERE ticket_id = %lld"
                        " AND channel = 'email'", c.ticket_id));
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_str_eq(row(id, "last_error"), "tls_failed");
    ck_assert_str_eq(sink_commands(&sink), "STARTTLS\n");
    sp_t_sql("UPDATE support_outbox SET next_attempt_at = now() WHERE id = %lld", id);
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL), "SUPPORT_SMTP_STARTTLS=0", NULL));
    ck_assert_str_eq(row(id, "status"), "sent");
    ck_assert_str_eq(sink_commands(&sink), "STARTTLS\n");
    fixture_stop(&sink);
}
END_TEST

/* A user with STARTTLS turned off on a plain smtp:// relay is refused at
 * start (bad_config naming the setting, never a value), as --check-config
 * refuses it: the password would go in clear. */
START_TEST(a_user_without_tls_is_a_bad_config)
{
    const char **env = (const char **)dispatch_env(NULL, NULL, NULL);
    env_plus(env, "SUPPORT_SMTP_URL=smtp://127.0.0.1:2525", "SUPPORT_SMTP_STARTTLS=0");
    env_plus(env, "SUPPORT_SMTP_USER=dispatch-user", "SUPPORT_SMTP_PASSWORD=smtp-secret");
    const char *args[] = {"--once", NULL};
    const char *out = NULL;
    int rc = sp_t_job_run(JOB, env, args, &out);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(out, "bad_config") != NULL && strstr(out, "SUPPORT_SMTP_USER") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "smtp-secret") == NULL && strstr(out, "dispatch-user") == NULL,
                  "%s", out);
    /* smtps:// is TLS from the start: the same user is fine there */
    env = (const char **)dispatch_env(NULL, NULL, NULL);
    env_plus(env, "SUPPORT_SMTP_URL=smtps://127.0.0.1:2525", "SUPPORT_SMTP_STARTTLS=0");
    env_plus(env, "SUPPORT_SMTP_USER=dispatch-user", "SUPPORT_SMTP_PASSWORD=smtp-secret");
    const char *dry[] = {"--once", "--dry-run", NULL};
    ck_assert_int_eq(sp_t_job_run(JOB, env, dry, &out), 0);
}
END_TEST

/* The test CA's certificate (t/integration/smtp_tls_sink.py's ca.pem),
 * as SUPPORT_SMTP_CA_FILE. */
static const char *
ca_file_of(const struct fixture *sink)
{
    return sp_t_fmt("SUPPORT_SMTP_CA_FILE=%s/ca.pem", sink->dir);
}

/* A relay whose certificate a private CA signed (a company's own Postfix
 * or Exchange) could only be used with TLS turned off. Without
 * SUPPORT_SMTP_CA_FILE its certificate is still checked against the
 * system's CAs (tls_failed, no AUTH); with the CA's certificate it is
 * trusted, and the password goes over STARTTLS. */
START_TEST(a_relay_signed_by_a_private_ca_is_trusted_with_its_ca_file)
{
    long long id;
    struct fixture sink = auth_sink(true, &id);
    const char **env = (const char **)dispatch_env(&sink, NULL, NULL);
    env_plus(env, "SUPPORT_SMTP_USER=dispatch", "SUPPORT_SMTP_PASSWORD=smtp-secret");
    dispatch_once(env);
    ck_assert_str_eq(row(id, "status"), "pending");
    ck_assert_str_eq(row(id, "last_error"), "tls_failed");
    ck_assert_str_eq(sink_commands(&sink), "STARTTLS\n");
    ck_assert_uint_eq(mail_count(&sink), 0);

    sp_t_sql("UPDATE support_outbox SET next_attempt_at = now() WHERE id = %lld", id);
    dispatch_once(env_plus(env, ca_file_of(&sink), NULL));
    ck_assert_msg(strcmp(row(id, "status"), "sent") == 0, "%s", row(id, "last_error"));
    ck_assert_str_eq(sink_commands(&sink), "STARTTLS\nSTARTTLS\nAUTH\n");
    struct json_object *all = mails(&sink);
    ck_assert_uint_eq(json_object_array_length(all), 1);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(all, 0), "smtp_auth"),
                     "dispatch:smtp-secret");
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A SUPPORT_SMTP_CA_FILE that is missing, a directory or no PEM
 * certificate is refused at start, naming the setting: every mail would
 * otherwise fail as tls_failed with nothing saying why. */
START_TEST(a_smtp_ca_file_that_is_no_certificate_is_a_bad_config)
{
    const char *dir = tmpdir();
    const char *junk = sp_t_fmt("%s/junk.pem", dir);
    FILE *f = fopen(junk, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a certificate\n", f);
    ck_assert_int_eq(fclose(f), 0);
    const char *paths[] = {sp_t_fmt("%s/missing.pem", dir), dir, junk};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char **env = (const char **)dispatch_env(NULL, NULL, NULL);
        env_plus(env, "SUPPORT_SMTP_URL=smtp://127.0.0.1:2525",
                 sp_t_fmt("SUPPORT_SMTP_CA_FILE=%s", paths[i]));
        const char *args[] = {"--once", NULL};
        const char *out = NULL;
        ck_assert_int_eq(sp_t_job_run(JOB, env, args, &out), 1);
        ck_assert_msg(strstr(out, "bad_config") != NULL &&
                          strstr(out, "SUPPORT_SMTP_CA_FILE") != NULL,
                      "%s: %s", paths[i], out);
    }
}
END_TEST

/* A relay that never accepts the mail's end: a retry for "timeout" with
 * no status code (QA: it was DATA's 354, an earlier command's reply). */
START_TEST(a_relay_that_times_out_is_a_retry_without_a_status_code)
{
    struct fixture sink;
    long long id = mail_to_silent_relay("DATA", &sink);
    const char *out = dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_str_eq(row(id, "status"), "pending");
    ck_assert_str_eq(row(id, "last_error"), "timeout");
    ck_assert_str_eq(row(id, "coalesce(last_status_code, 0)"), "0");
    const char *retry = strstr(out, "\"event\":\"dispatch_retry\"");
    ck_assert_msg(retry != NULL, "%s", out);
    retry = sp_t_fmt("%.*s", (int)strcspn(retry, "\n"), retry);
    ck_assert_msg(strstr(retry, "\"status_code\"") == NULL, "%s", retry);
    fixture_stop(&sink);
}
END_TEST

/* An agent's reply with files: the customer's mail names them with their
 * sizes (a mail cannot carry their signed URLs), in the text and the
 * HTML part. */
START_TEST(agent_reply_mails_name_the_files_attached)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *file = sp_t_attachment_clean_png(agent.token);
    const char *notes = sp_t_attachment_clean(agent.token, "notes.txt", "text/plain",
                                              sp_t_repeat("a", 1536), 1536);
    const char *log = sp_t_attachment_clean(agent.token, "log.txt", "text/plain",
                                            sp_t_repeat("b", 1572864), 1572864);
    struct sp_t_resp *r = sp_t_post_json(
        sp_t_fmt("/support/agent/tickets/%s/messages", c.ticket), agent.token,
        sp_t_fmt("{\"body\":\"The receipt is attached.\",\"attachments\":[%s,%s,%s]}",
                 sp_t_jq(file), sp_t_jq(notes), sp_t_jq(log)));
    sp_t_assert_status(r, 201);
    sp_t_resp_free(r);
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, "Files attached to this reply:\r\n- screenshot.png (67 bytes)\r\n"
                               "- notes.txt (2 KB)\r\n- log.txt (1.5 MB)\r\n"),
                  "%s", text);
    ck_assert(strstr(sp_t_jstr(part_of(m, "text/html"), "text"),
                     "<li>screenshot.png (67 bytes)</li>") != NULL);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* The customer's mail of a reply names the agent who answered, as the
 * ticket page does (sender_name; QA: "our support team replied"), escaped
 * in the HTML part; an agent without a display name is "our support team",
 * never their staff user id. */
START_TEST(agent_reply_mails_name_the_agent)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    struct sp_t_user ada = sp_t_user_new(SP_ROLE_AGENT);
    ada.token = sp_t_token_claims(SP_ROLE_AGENT, ada.sub, "{\"name\":\"Ada <Lovelace> & Co\"}");
    struct sp_t_user nameless = sp_t_user_new(SP_ROLE_AGENT);
    const struct sp_t_user *who[2] = {&ada, &nameless};
    for (int i = 0; i < 2; i++) {
        struct sp_t_resp *r = sp_t_post_json(
            sp_t_fmt("/support/agent/tickets/%s/messages", c.ticket), who[i]->token,
            sp_t_fmt("{\"body\":\"Reply %d\"}", i));
        sp_t_assert_status(r, 201);
        sp_t_resp_free(r);
    }
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 2);
    for (size_t i = 0; i < 2; i++) {
        struct json_object *m = json_object_array_get_idx(all, i);
        const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
        const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
        bool named = strstr(text, "Reply 0") != NULL;
        ck_assert_msg(strstr(text, named ? "Ada <Lovelace> & Co from our support team replied"
                                         : "\r\nour support team replied") != NULL,
                      "%s", text);
        ck_assert_msg(strstr(html, named ? "Ada &lt;Lovelace&gt; &amp; Co from our support team"
                                         : "<p>our support team replied") != NULL,
                      "%s", html);
        ck_assert_msg(strstr(text, nameless.sub) == NULL && strstr(html, nameless.sub) == NULL,
                      "%s", text);
    }
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A customer's reply with files: the assigned agent's mail (to
 * SUPPORT_STAFF_MAIL here) names them with their sizes, as the
 * customer's mail does for an agent's reply. */
START_TEST(customer_reply_mails_to_the_agent_name_the_files_attached)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    sp_t_db_ticket_assign(c.ticket, sp_t_db_agent_new());
    const char *notes = sp_t_attachment_clean(c.u.token, "booking notes.txt", "text/plain",
                                              sp_t_repeat("n", 3000), 3000);
    struct sp_t_resp *r = sp_t_post_json(
        sp_t_fmt("/support/tickets/%s/messages", c.ticket), c.u.token,
        sp_t_fmt("{\"body\":\"My notes are attached.\",\"attachments\":[%s]}",
                 sp_t_jq(notes)));
    sp_t_assert_status(r, 201);
    sp_t_resp_free(r);
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL),
                           "SUPPORT_STAFF_MAIL=agents@example.test", NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(m, "to"), "agents@example.test"));
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, "My notes are attached.") != NULL &&
                      strstr(text, "Files attached (on the ticket, once scanned):\r\n"
                                   "- booking notes.txt (3 KB)\r\n") != NULL,
                  "%s", text);
    ck_assert(strstr(sp_t_jstr(part_of(m, "text/html"), "text"),
                     "<li>booking notes.txt (3 KB)</li>") != NULL);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A staff notification row (channel agent|team), as the ticket code and
 * the SLA monitor write it. */
static long long
staff_row(const struct customer *c, const char *channel, const char *recipient,
          const char *event_type, const char *payload)
{
    return atoll(sp_t_sql(
        "INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id, payload)"
        " VALUES ('notification', '%s', '%s', '%s', %lld, '%s') RETURNING id",
        event_type, channel, recipient, c->ticket_id, payload));
}

/* The mail of the sink whose subject starts with prefix. */
static struct json_object *
mail_with_subject(struct json_object *all, const char *prefix)
{
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        struct json_object *m = json_object_array_get_idx(all, i);
        if (strncmp(sp_t_jstr(m, "subject"), prefix, strlen(prefix)) == 0)
            return m;
    }
    ck_abort_msg("no mail with subject %s", prefix);
    return NULL;
}

/* Staff mails (SUPPORT_STAFF_MAIL) speak to staff: the agent by display
 * name (not their row id), the team by name, an SLA target and its due
 * time in words and UTC (a breach's every target), and a staff footer instead of the customer's
 * ("your support request", "not a newsletter"). */
START_TEST(staff_mails_speak_to_staff_in_words)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    const char *ada = sp_t_db_agent_new();
    sp_t_sql("UPDATE support_agents SET display_name = 'Ada Lovelace' WHERE id = %s", ada);
    const char *nameless = sp_t_db_agent_new();
    staff_row(&c, "agent", ada, "ticket.sla_warning",
              "{\"target\":\"first_response\",\"due_at\":\"2026-12-04T19:26:32.956Z\","
              "\"priority\":\"high\"}");
    staff_row(&c, "agent", nameless, "ticket.assigned", "{}");
    staff_row(&c, "team", "billing", "ticket.created", "{}");
    /* a breach that counted both targets names both */
    staff_row(&c, "team", "billing", "ticket.sla_breached",
              "{\"target\":\"first_response\",\"due_at\":\"2026-12-04T19:26:32.956Z\","
              "\"targets\":[{\"target\":\"first_response\","
              "\"due_at\":\"2026-12-04T19:26:32.956Z\"},{\"target\":\"resolution\","
              "\"due_at\":\"2026-12-06T10:00:00.000Z\"}],\"priority\":\"normal\"}");
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL),
                           "SUPPORT_STAFF_MAIL=agents@example.test", NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 4);
    for (size_t i = 0; i < 4; i++) {
        struct json_object *m = json_object_array_get_idx(all, i);
        const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
        const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
        ck_assert_msg(strstr(text, sp_t_fmt("A notification for the support team about ticket"
                                            " %s", c.ticket)) != NULL &&
                          strstr(text, "not a newsletter") == NULL &&
                          strstr(text, "your support request") == NULL &&
                          strstr(text, "For agent") == NULL, "%s", text);
        ck_assert_msg(strstr(html, "A notification for the support team") != NULL &&
                          strstr(html, "not a newsletter") == NULL, "%s", html);
    }
    struct json_object *m = mail_with_subject(all, "SLA target due soon:");
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, ", priority high, first response due 4 Dec 2026, 19:26 UTC.") &&
                      strstr(text, "For Ada Lovelace.") && !strstr(text, "first_response") &&
                      !strstr(text, "2026-12-04T"), "%s", text);
    const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
    ck_assert_msg(strstr(html, "(first response due 4 Dec 2026, 19:26 UTC)") &&
                      strstr(html, "<p>For Ada Lovelace.</p>"), "%s", html);
    m = mail_with_subject(all, "SLA target breached:");
    text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, ", priority normal, first response due 4 Dec 2026, 19:26 UTC"
                               " and resolution due 6 Dec 2026, 10:00 UTC.") != NULL,
                  "%s", text);
    html = sp_t_jstr(part_of(m, "text/html"), "text");
    ck_assert_msg(strstr(html, "(first response due 4 Dec 2026, 19:26 UTC and resolution due"
                               " 6 Dec 2026, 10:00 UTC)") != NULL, "%s", html);
    text = sp_t_jstr(part_of(mail_with_subject(all, "Assigned to you:"), "text/plain"), "text");
    ck_assert_msg(strstr(text, "For the assigned agent.") != NULL, "%s", text);
    text = sp_t_jstr(part_of(mail_with_subject(all, "New ticket, unassigned:"), "text/plain"),
                     "text");
    ck_assert_msg(strstr(text, "For team billing.") != NULL, "%s", text);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* SUPPORT_CONSOLE_TICKET_URL / SUPPORT_CONSOLE_CHAT_URL: a staff mail links
 * the agent console's page of its ticket, or of its chat when it has no
 * ticket, in both parts; a staff notification through the notification
 * service carries it as "url", a customer's the portal's page; customer
 * mails never link the console; a value without {id} stops the
 * dispatcher, naming the setting. */
START_TEST(staff_notifications_link_the_agent_console)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    staff_row(&c, "team", "billing", "ticket.created", "{}");
    sp_t_sql("INSERT INTO support_outbox (kind, event_type, channel, recipient, payload)"
             " VALUES ('notification', 'chat.transferred', 'team', 'billing',"
             " '{\"session_id\":\"CHATCONSOLE1\"}')");
    agent_reply(&c, "Linked?");
    const char *tickets = "SUPPORT_CONSOLE_TICKET_URL=https://console.test/tickets/{id}";
    const char *chats = "SUPPORT_CONSOLE_CHAT_URL=https://console.test/chats/{id}";
    const char *args[] = {"--once", NULL};
    const char *out = NULL;
    ck_assert_int_eq(sp_t_job_run(JOB, env_plus(dispatch_env(&sink, NULL, NULL),
                                                "SUPPORT_CONSOLE_CHAT_URL=https://console.test/",
                                                "SUPPORT_STAFF_MAIL=agents@example.test"),
                                  args, &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "SUPPORT_CONSOLE_CHAT_URL"));

    dispatch_once(env_plus(env_plus(dispatch_env(&sink, NULL, NULL), tickets, chats),
                           "SUPPORT_STAFF_MAIL=agents@example.test", NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 3);
    const char *want[2][2] = {
        {"New ticket, unassigned:", sp_t_fmt("https://console.test/tickets/%s", c.ticket)},
        {"Chat CHATCONSOLE1", "https://console.test/chats/CHATCONSOLE1"}};
    for (int i = 0; i < 2; i++) {
        struct json_object *m = mail_with_subject(all, want[i][0]);
        const char *url = want[i][1];
        const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
        ck_assert_msg(strstr(text, sp_t_fmt("Open in the agent console: %s", url)) != NULL,
                      "%s", text);
        const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
        ck_assert_msg(strstr(html, sp_t_fmt("<a href=\"%s\">Open in the agent console</a>",
                                            url)) != NULL, "%s", html);
    }
    const char *text = sp_t_jstr(part_of(mail_with_subject(all, "Re: "), "text/plain"), "text");
    ck_assert_msg(strstr(text, "console") == NULL, "%s", text);
    json_object_put(all);
    fixture_stop(&sink);

    struct fixture rcv = receiver();
    long long staff = staff_row(&c, "team", "billing", "ticket.escalated", "{}");
    long long sms = notification(&c, "sms", "ticket.updated", "{}");
    dispatch_once(env_plus(env_plus(dispatch_env(NULL, &rcv, "/notify"), tickets, chats),
                           "SUPPORT_PORTAL_URL=https://example.test/help/{id}", NULL));
    struct json_object *last = NULL;
    requests_for(&rcv, "start", staff, &last);
    struct json_object *body = json_tokener_parse(sp_t_jstr(last, "body"));
    ck_assert_str_eq(sp_t_jstr(body, "url"), sp_t_fmt("https://console.test/tickets/%s", c.ticket));
    json_object_put(body);
    json_object_put(last);
    last = NULL;
    requests_for(&rcv, "start", sms, &last);
    body = json_tokener_parse(sp_t_jstr(last, "body"));
    ck_assert_str_eq(sp_t_jstr(body, "url"), sp_t_fmt("https://example.test/help/%s", c.ticket));
    json_object_put(body);
    json_object_put(last);
    fixture_stop(&rcv);
}
END_TEST

/* A chat's transfer to another agent tells the new agent and the chat's
 * team: two staff rows, so a shared staff inbox gets two mails, each
 * naming whom it is for, which chat, from which agent to which (names
 * and ids), its category and customer (no customer's text: the default
 * template said "there is news about your support ticket (chat.transferred)"
 * twice, identically). */
START_TEST(a_chat_transfer_mails_staff_who_it_is_for_and_which_chat)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    const char *team = sp_t_unique("dteam");
    const char *cat = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":%s", sp_t_jq(team)));
    struct sp_t_user ada, bob;
    /* apart from other tests' Ada Lovelace: two active agents are never
     * named alike (409 display_name_taken) */
    const char *ada_name = sp_t_fmt("Ada Lovelace %s", team);
    long long ada_id = (long long)sp_t_admin_agent_new(
        sp_t_fmt("\"team\":%s,\"display_name\":%s", sp_t_jq(team), sp_t_jq(ada_name)), &ada);
    long long bob_id = (long long)sp_t_admin_agent_new(
        sp_t_fmt("\"team\":%s,\"display_name\":\"Bob Ørsted\"",
                 sp_t_jq(sp_t_unique("dteam"))), &bob);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json("/support/chat/session", c.token,
                                         sp_t_fmt("{\"category\":%s,\"message\":\"hi\"}",
                                                  sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    const char *chat = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), ada_id);
    sp_t_resp_free(r);
    r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", chat), ada.token,
                       sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", bob_id));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    sp_t_sql("UPDATE support_outbox SET status = 'skipped', last_error = 'test_dispatch'"
             " WHERE status = 'pending' AND NOT (event_type = 'chat.transferred'"
             " AND kind = 'notification' AND payload->>'session_id' = '%s')", chat);
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL),
                           "SUPPORT_STAFF_MAIL=agents@example.test", NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 2);
    const char *what = sp_t_fmt("Chat %s was transferred from %s (agent %lld) to"
                                " Bob Ørsted (agent %lld).", chat, ada_name, ada_id, bob_id);
    const char *facts = sp_t_fmt("Category: %s. Customer: %s.", cat, c.sub);
    const char *for_[2] = {"Bob Ørsted", sp_t_fmt("team %s", team)};
    for (int i = 0; i < 2; i++) {
        struct json_object *m = mail_with_subject(
            all, sp_t_fmt("Chat %s transferred to Bob Ørsted (for %s)", chat, for_[i]));
        ck_assert_str_eq(sp_t_jstr(m, "to"), "agents@example.test");
        const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
        ck_assert_msg(strstr(text, what) != NULL && strstr(text, facts) != NULL &&
                          strstr(text, sp_t_fmt("For %s.", for_[i])) != NULL &&
                          strstr(text, "A notification for the support team") != NULL &&
                          strstr(text, "your support ticket") == NULL &&
                          strstr(text, "Hello") == NULL, "%s", text);
        const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
        ck_assert_msg(strstr(html, sp_t_fmt("<strong>%s</strong> was transferred from %s"
                                            " (agent %lld)", chat, ada_name, ada_id)) != NULL &&
                          strstr(html, sp_t_fmt("<li>Customer: %s</li>", c.sub)) != NULL &&
                          strstr(html, sp_t_fmt("<p>For %s.</p>", for_[i])) != NULL &&
                          strstr(html, "not a newsletter") == NULL, "%s", html);
    }
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A customer's status mail names the status as people say it, and keeps
 * the customer's footer. */
START_TEST(customer_status_mails_name_the_status_in_words)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    sp_t_db_ticket_set_status(c.ticket, "pending_customer");
    notification(&c, "email", "ticket.updated", "{}");
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, "is now: waiting for your reply.") != NULL &&
                      strstr(text, "pending_customer") == NULL &&
                      strstr(text, "not a newsletter") != NULL &&
                      strstr(text, "support team about") == NULL, "%s", text);
    const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
    ck_assert_msg(strstr(html, "is now: <strong>waiting for your reply</strong>") != NULL &&
                      strstr(html, "not a newsletter") != NULL, "%s", html);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* QA: a move to pending_customer undone a second later (in_progress,
 * which tells the customer nothing) still mailed "is now: in progress".
 * A status note whose status no longer holds is skipped (status_undone),
 * on the ticket as any skipped notification; one that holds is sent. */
START_TEST(an_undone_status_move_is_not_mailed)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *path = sp_t_fmt("/support/agent/tickets/%s", c.ticket);
    const char *moves[] = {"pending_customer", "in_progress", "pending_customer"};
    for (int i = 0; i < 2; i++) {
        struct sp_t_resp *r = sp_t_patch_json(path, agent.token,
                                              sp_t_fmt("{\"status\":\"%s\"}", moves[i]));
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
    }
    long long id = atoll(sp_t_sql("SELECT id FROM support_outbox WHERE ticket_id = %lld"
                                  " AND event_type = 'ticket.updated' AND channel = 'email'",
                                  c.ticket_id));
    const char *out = dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_str_eq(row(id, "status || '/' || last_error"), "skipped/status_undone");
    ck_assert_msg(strstr(out, "status_undone") != NULL, "%s", out);
    ck_assert_uint_eq(mail_count(&sink), 0);
    /* moved there again: that move is told */
    struct sp_t_resp *r = sp_t_patch_json(path, agent.token,
                                          sp_t_fmt("{\"status\":\"%s\"}", moves[2]));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_uint_eq(mail_count(&sink), 1);
    fixture_stop(&sink);
}
END_TEST

#define REPLY_KEYS "SUPPORT_MAIL_REPLY_KEYS=k1:dispatch-reply-test-secret-0123456789"

/* The customer's mail from `from` to `to` with subject (Message-ID
 * message_id, NULL: a unique one; more header lines in headers, NULL:
 * none), piped to support-mail-in as an MTA would (keys: its
 * SUPPORT_MAIL_REPLY_KEYS setting, NULL: none); asserts it was taken and
 * returns the log line. */
static const char *
mail_in_as(const char *keys, const char *from, const char *to, const char *subject,
           const char *message_id, const char *headers, const char *body)
{
    const char *mail = sp_t_fmt(
        "From: %s\r\nTo: Support %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n%s"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n%s",
        from, to, subject,
        message_id ? message_id : sp_t_fmt("%s@example.org", sp_t_unique("reply")),
        headers ? headers : "", body);
    const char *env[] = {
        sp_t_fmt("SUPPORT_ENCRYPTION_KEYS_FILE=%s", getenv("SP_TEST_ENCRYPTION_KEYS_FILE")),
        "SUPPORT_MAIL_FROM=support@example.test", "SUPPORT_MAIL_TRUST_FROM=1", keys, NULL};
    const char *args[] = {"--sender", from, NULL};
    const char *out;
    int rc = sp_t_job_run_input("support-mail-in", env, args, mail, strlen(mail), &out);
    ck_assert_msg(rc == 0, "support-mail-in exited %d: %s", rc, out);
    return out;
}

/* The customer's answer (body) from `from` to reply_to. */
static void
mail_in(const char *keys, const char *from, const char *reply_to, const char *body)
{
    mail_in_as(keys, from, reply_to, "Re: Rückerstattung", NULL, NULL, body);
}

/* SUPPORT_MAIL_REPLY_KEYS: the customer's mail says to reply to a signed
 * address of the ticket's, with a line to type above; the customer's
 * reply to it, piped to support-mail-in as an MTA would, is their message
 * on the ticket, without the quoted mail (test_mail_in has the rest). */
START_TEST(customer_replies_by_mail_reach_the_ticket)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    agent_reply(&c, "Please confirm the new date.");
    const char *keys = REPLY_KEYS;
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL), keys, NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    const char *reply_to = sp_t_fmt("%s", sp_t_jstr(m, "reply_to"));
    ck_assert_msg(sp_t_matches(sp_t_fmt("^<support\\+t-%s-[0-9a-f]{20}@example\\.test>$",
                                        c.ticket), reply_to), "%s", reply_to);
    const char *text = sp_t_fmt("%s", sp_t_jstr(part_of(m, "text/plain"), "text"));
    ck_assert_msg(strncmp(text, "##- Please type your reply above this line -##", 46) == 0 &&
                      strstr(text, "Reply to this mail") != NULL &&
                      strstr(text, "ticket page") == NULL, "%s", text);
    json_object_put(all);
    fixture_stop(&sink);

    /* The customer's client quotes the whole mail below the answer. */
    const char *quoted = "";
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        quoted = sp_t_fmt("%s> %.*s\r\n", quoted, (int)n, l);
        l += n + (l[n] != '\0');
    }
    mail_in(keys, c.email, reply_to,
            sp_t_fmt("Yes, the 14th suits me.\r\n\r\nOn Mon, 2 Dec 2026, Kundenservice wrote:"
                     "\r\n%s", quoted));
    ck_assert_str_eq(sp_t_sql("SELECT body FROM support_ticket_messages WHERE ticket_id = %lld"
                              " ORDER BY id DESC LIMIT 1", c.ticket_id),
                     "<p>Yes, the 14th suits me.</p>");
}
END_TEST

/* QA: every mail to an address at an internationalized domain was
 * skipped as bad_address. It goes to the domain's A-label, in RCPT TO and
 * in the To header alike (an ASCII header, the name encoded as any);
 * the customer's answers from the address in capitals and in its xn--
 * form land on the ticket (the blind index compares them as one,
 * docs/API.md §2). A non-ASCII local part would need SMTPUTF8: skipped. */
START_TEST(an_idn_customer_is_mailed_at_the_a_label_and_answers_in_any_form)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = ticket_of(customer_at("juergen", "bücher.example"));
    struct customer smtputf8 = ticket_of(customer_at("jürgen", "bücher.example"));
    long long skipped = notification(&smtputf8, "email", "ticket.updated", "{}");
    agent_reply(&c, "Please confirm the new date.");
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL), REPLY_KEYS, NULL));
    ck_assert_str_eq(row(skipped, "status"), "skipped");
    ck_assert_str_eq(row(skipped, "last_error"), "bad_address");
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    const char *local = sp_t_fmt("%.*s", (int)(strchr(c.email, '@') - c.email), c.email);
    const char *ascii = sp_t_fmt("%s@xn--bcher-kva.example", local);
    ck_assert_str_eq(sp_t_jstr(m, "envelope_to"), ascii);
    ck_assert_str_eq(sp_t_jstr(m, "to"), sp_t_fmt("%s <%s>", c.name, ascii));
    const char *raw_to = sp_t_jstr(m, "raw_to");
    for (const char *b = raw_to; *b; b++)
        ck_assert_msg((unsigned char)*b < 0x80, "To is not ASCII: %s", raw_to);
    const char *reply_to = sp_t_fmt("%s", sp_t_jstr(m, "reply_to"));
    json_object_put(all);
    fixture_stop(&sink);

    char *upper = (char *)sp_t_fmt("%s@BÜCHER.EXAMPLE", local);
    for (char *u = upper; *u != '@'; u++)
        *u = (char)toupper((unsigned char)*u);
    mail_in(REPLY_KEYS, upper, reply_to, "From the capitals.\r\n");
    mail_in(REPLY_KEYS, ascii, reply_to, "From the A-label.\r\n");
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(body, ' ' ORDER BY id)"
                              " FROM support_ticket_messages WHERE ticket_id = %lld"
                              " AND sender_type = 'customer' AND body LIKE '<p>From the %%'",
                              c.ticket_id),
                     "<p>From the capitals.</p> <p>From the A-label.</p>");
}
END_TEST

/* QA: an address with a trailing root dot (x@example.org.) was sent
 * to with the dot in RCPT TO, which strict relays refuse (retried for
 * 24 h), and mail from x@example.org was refused as unknown_sender. The
 * dot goes when sending and when comparing addresses. */
START_TEST(a_trailing_root_dot_is_neither_sent_nor_compared)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = ticket_of(customer_at("dot", "example.org."));
    agent_reply(&c, "Sent without the root dot.");
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL), REPLY_KEYS, NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    const char *plain = sp_t_fmt("%.*s", (int)strlen(c.email) - 1, c.email);
    ck_assert_str_eq(sp_t_jstr(m, "envelope_to"), plain);
    ck_assert_str_eq(sp_t_jstr(m, "to"), sp_t_fmt("%s <%s>", c.name, plain));
    const char *reply_to = sp_t_fmt("%s", sp_t_jstr(m, "reply_to"));
    json_object_put(all);
    fixture_stop(&sink);
    mail_in(REPLY_KEYS, plain, reply_to, "Without the dot.\r\n");
    ck_assert_str_eq(sp_t_sql("SELECT body FROM support_ticket_messages WHERE ticket_id = %lld"
                              " AND sender_type = 'customer' AND body LIKE '<p>Without%%'",
                              c.ticket_id),
                     "<p>Without the dot.</p>");
}
END_TEST

/* SUPPORT_PORTAL_URL: the customer's mail links the ticket's page, {id}
 * its public id, in both parts; a URL without {id} stops the dispatcher
 * before it sends anything, naming the setting. */
START_TEST(customer_mails_link_the_ticket_page)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    agent_reply(&c, "See the page.");
    const char *args[] = {"--once", NULL};
    const char *out = NULL;
    const char *const *bad = env_plus(dispatch_env(&sink, NULL, NULL),
                                      "SUPPORT_PORTAL_URL=https://example.test/help/tickets",
                                      "SUPPORT_LOG_LEVEL=info");
    ck_assert_int_eq(sp_t_job_run(JOB, bad, args, &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "SUPPORT_PORTAL_URL"));
    /* QA: what a link or its text would cut or quote wrong was taken */
    static const char *const unsafe[] = {
        "SUPPORT_PORTAL_URL=https://example.test/t/{id}\"onclick=\"x",
        "SUPPORT_PORTAL_URL=https://example.test/t/{id}<b>",
        "SUPPORT_PORTAL_URL=https://example.test/my tickets/{id}", NULL};
    for (size_t i = 0; unsafe[i] != NULL; i++) {
        bad = env_plus(dispatch_env(&sink, NULL, NULL), unsafe[i], "SUPPORT_LOG_LEVEL=info");
        ck_assert_int_eq(sp_t_job_run(JOB, bad, args, &out), 1);
        ck_assert_msg(strstr(out, "bad_config") != NULL &&
                          strstr(out, "SUPPORT_PORTAL_URL") != NULL &&
                          strstr(out, "example.test/") == NULL, "%s", out);
    }
    struct json_object *none = mails(&sink);
    ck_assert_int_eq(json_object_array_length(none), 0);
    json_object_put(none);

    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL),
                           "SUPPORT_PORTAL_URL=https://example.test/help/tickets/{id}?src=mail",
                           "SUPPORT_LOG_LEVEL=info"));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    const char *url = sp_t_fmt("https://example.test/help/tickets/%s?src=mail", c.ticket);
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, sp_t_fmt("View and reply: %s", url)) != NULL, "%s", text);
    ck_assert_msg(strstr(text, sp_t_fmt("Please answer on the ticket page: %s", url)) != NULL,
                  "%s", text);
    const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
    /* (the HTML part escapes the query's "=" as &#61;, as HTML allows) */
    const char *href = sp_t_fmt("<a href=\"https://example.test/help/tickets/%s?src", c.ticket);
    ck_assert_msg(strstr(html, href) != NULL, "%s", html);
    ck_assert_msg(strstr(text, "marked your ticket as resolved") == NULL, "%s", text);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A ticket the customer opens is acknowledged by mail: its id in the
 * subject and the text, threaded with the ticket's later mails. */
START_TEST(a_new_ticket_is_acknowledged_by_mail)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_claims();
    const char *ticket = sp_t_ticket_create(&c.u, "Rückerstattung für Buchung");
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    struct json_object *all = mails(&sink);
    struct json_object *m = mail_with_subject(all, "We have received your request: ");
    ck_assert_str_eq(sp_t_jstr(m, "subject"),
                     sp_t_fmt("We have received your request: Rückerstattung für Buchung [%s]",
                              ticket));
    ck_assert_msg(strstr(sp_t_jstr(m, "to"), c.email) != NULL, "%s", sp_t_jstr(m, "to"));
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, sp_t_fmt("it is ticket %s", ticket)) != NULL, "%s", text);
    ck_assert_msg(strstr(text, "Hello Zoë Ürban,") != NULL, "%s", text);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A name claim is the customer's word: line breaks and tabs in it are
 * one space in the greeting (they made the greeting two lines), and a
 * name of blanks only is no name. */
START_TEST(a_name_with_line_breaks_greets_on_one_line)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    /* a name with bidi controls greets without them (they make it read
     * as other text; QA: "Carol \u202e" reversed what followed) */
    const char *names[3] = {"Zoë\r\nÜrban\tJr.", " \n\t ",
                            "Carol \xe2\x80\xae" "evil\xe2\x81\xa6"};
    const char *greetings[3] = {"Hello Zoë Ürban Jr.,", "Hello,", "Hello Carol evil,"};
    for (int i = 0; i < 3; i++) {
        struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
        const char *email = sp_t_fmt("nl+%s@example.org", sp_t_unique("n"));
        u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub,
                                    sp_t_fmt("{\"name\":%s,\"email\":%s}", sp_t_jq(names[i]),
                                             sp_t_jq(email)));
        const char *ticket = sp_t_ticket_create(&u, sp_t_fmt("Greeting %d", i));
        dispatch_once(dispatch_env(&sink, NULL, NULL));
        struct json_object *all = mails(&sink);
        struct json_object *m = mail_with_subject(
            all, sp_t_fmt("We have received your request: Greeting %d [%s]", i, ticket));
        const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
        ck_assert_msg(strstr(text, greetings[i]) != NULL, "%s", text);
        json_object_put(all);
    }
    fixture_stop(&sink);
}
END_TEST

/* A reply that resolves the ticket says so in its mail: that a reply
 * reopens it, and that it closes on its own otherwise. */
START_TEST(a_reply_that_resolves_says_so_in_its_mail)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    agent_reply_with(&c, "Fixed on our side.", "\"status\":\"resolved\"");
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, "Fixed on our side.") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "We have marked your ticket as resolved. If you still need help,"
                               " just reply and it reopens") != NULL, "%s", text);
    const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
    ck_assert_msg(strstr(html, "<p>We have marked your ticket as resolved.") != NULL, "%s", html);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* The mail of all whose text/plain part holds words. */
static struct json_object *
mail_with_text(struct json_object *all, const char *words)
{
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        struct json_object *m = json_object_array_get_idx(all, i);
        if (strstr(sp_t_jstr(part_of(m, "text/plain"), "text"), words) != NULL)
            return m;
    }
    ck_abort_msg("no mail says %s", words);
    return NULL;
}

/* The text/plain and text/html parts of the mail in all whose text holds
 * words, into *text and *html. */
static void
mail_saying(struct json_object *all, const char *words, const char **text, const char **html)
{
    struct json_object *m = mail_with_text(all, words);
    *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    *html = sp_t_jstr(part_of(m, "text/html"), "text");
}

/* Only the reply that resolved the ticket says it was resolved: a later
 * reply on the resolved ticket (no status of its own) does not say it
 * again (QA: the line followed the ticket's state, so every reply to a
 * resolved ticket repeated it) — though both mails go out after both
 * replies, when the ticket is resolved. */
START_TEST(only_the_reply_that_resolved_says_so)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    agent_reply_with(&c, "Fixed on our side.", "\"status\":\"resolved\"");
    agent_reply(&c, "One more thing about the fix.");
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_tickets WHERE id = %lld", c.ticket_id),
                     "resolved");
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 2);
    const char *text, *html;
    mail_saying(all, "Fixed on our side.", &text, &html);
    ck_assert_msg(strstr(text, "We have marked your ticket as resolved.") != NULL, "%s", text);
    ck_assert_msg(strstr(html, "<p>We have marked your ticket as resolved.") != NULL, "%s", html);
    mail_saying(all, "One more thing about the fix.", &text, &html);
    ck_assert_msg(strstr(text, "marked your ticket as resolved") == NULL, "%s", text);
    ck_assert_msg(strstr(html, "marked your ticket as resolved") == NULL, "%s", html);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A reply that leaves the ticket waiting says the team waits for the
 * customer; one that closes it says so, and a closed ticket's mail
 * invites no answer on the ticket page (QA: its footer did, and the web
 * reply was 409 ticket_closed): answering the mail opens a follow-up. */
START_TEST(waiting_and_closed_mails_say_what_an_answer_does)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    agent_reply_with(&c, "Which invoice is it?", "\"status\":\"pending_customer\"");
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL), REPLY_KEYS, NULL));
    struct json_object *all = mails(&sink);
    struct json_object *m = mail_with_text(all, "Which invoice is it?");
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    /* no SUPPORT_PORTAL_URL: no ticket page named that it cannot link (QA) */
    ck_assert_msg(strstr(text, "Our team is waiting for your answer: reply to this mail, and we"
                               " carry on.") != NULL &&
                      strstr(text, "We have closed") == NULL &&
                      strstr(text, "ticket page") == NULL, "%s", text);
    json_object_put(all);
    agent_reply_with(&c, "Done, closing it.", "\"status\":\"closed\"");
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL), REPLY_KEYS, NULL));
    all = mails(&sink);
    m = mail_with_text(all, "Done, closing it.");
    text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, "We have closed your ticket: its page takes no more replies. If"
                               " you still need help, reply to this mail: your answer opens a"
                               " follow-up ticket.") != NULL, "%s", text);
    const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
    ck_assert_msg(strstr(text, "The ticket is closed: its page takes no more replies. Reply"
                               " to this mail (above the line at the top) to open a"
                               " follow-up ticket.") != NULL &&
                      strstr(text, "or answer on the ticket page.") == NULL &&
                      strstr(text, "waiting for your answer") == NULL, "%s", text);
    ck_assert_msg(strstr(html, "The ticket is closed") != NULL &&
                      strstr(html, "or answer on the ticket page.") == NULL, "%s", html);
    ck_assert(strstr(html, "<p>We have closed your ticket") != NULL);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A move to resolved by someone else says, as a reply that resolves
 * does, that an answer reopens the ticket and when it closes otherwise
 * (QA: it only named the status), in SUPPORT_AUTOCLOSE_DAYS (QA: "7
 * days" whatever it said). */
START_TEST(a_move_to_resolved_says_an_answer_reopens_it)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_patch_json(sp_t_fmt("/support/agent/tickets/%s", c.ticket),
                                          agent.token, "{\"status\":\"resolved\"}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL), "SUPPORT_AUTOCLOSE_DAYS=1", NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, "is now: resolved.") != NULL &&
                      strstr(text, "We have marked your ticket as resolved. If you still need"
                                   " help, just reply and it reopens; otherwise it closes on its"
                                   " own in 1 day.") != NULL, "%s", text);
    ck_assert(strstr(sp_t_jstr(part_of(m, "text/html"), "text"),
                     "<p>We have marked your ticket as resolved.") != NULL);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A DSN saying the mail mid (with <>) to `to` failed, with status (5.x.x:
 * a hard bounce, 4.x.x: a soft one, an MTA giving up its retries). */
static const char *
dsn_status(const char *to, const char *mid, const char *status)
{
    return sp_t_fmt(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: support@example.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
        "Message-ID: <%s@mx.example.org>\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"R.1\"\r\n\r\n"
        "--R.1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--R.1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n\r\n"
        "--R.1\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@example.test\r\n"
        "Message-ID: %s\r\nSubject: Re: x\r\n\r\nYour ticket was answered.\r\n--R.1--\r\n",
        sp_t_unique("dsn"), to, status, mid);
}

/* A DSN saying the mail mid (with <>) to `to` failed hard. */
static const char *
dsn_of(const char *to, const char *mid)
{
    return dsn_status(to, mid, "5.1.1");
}

/* support-mail-in's output for the bounce dsn (MAIL FROM:<>). */
static const char *
bounce_in(const char *dsn)
{
    const char *env[] = {
        sp_t_fmt("SUPPORT_ENCRYPTION_KEYS_FILE=%s", getenv("SP_TEST_ENCRYPTION_KEYS_FILE")),
        "SUPPORT_MAIL_FROM=support@example.test", "SUPPORT_MAIL_TRUST_FROM=1", NULL};
    const char *args[] = {"--sender", "", NULL};
    const char *out;
    int rc = sp_t_job_run_input("support-mail-in", env, args, dsn, strlen(dsn), &out);
    ck_assert_msg(rc == 0, "%d: %s", rc, out);
    return out;
}

/* A customer's mail of an agent's reply to *c, sent (its sealed
 * Message-ID in *mid, with <>): its outbox row's id. */
static long long
bounced_reply(struct customer *c, const char **mid)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    *c = customer_with_ticket();
    agent_reply(c, "This one will bounce.");
    long long id = atoll(sp_t_sql("SELECT id FROM support_outbox WHERE ticket_id = %lld"
                                  " AND channel = 'email' AND status = 'pending'", c->ticket_id));
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_str_eq(row(id, "status"), "sent");
    struct json_object *all = mails(&sink);
    *mid = sp_t_fmt("%s", sp_t_jstr(json_object_array_get_idx(all, 0), "message_id"));
    json_object_put(all);
    fixture_stop(&sink);
    return id;
}

/* QA: a forged bounce naming the old guessable <outbox-<id>@domain> made
 * any row bounced (a row sent with a sealed id taken as outbox-330).
 * The old form now names only a row sent before the sealing came
 * (migration 076 applied): walking ids finds nothing. */
START_TEST(the_old_message_id_names_only_rows_sent_before_sealing)
{
    struct customer c;
    const char *mid;
    long long id = bounced_reply(&c, &mid);
    const char *old = sp_t_fmt("<outbox-%lld@example.test>", id);
    const char *out = bounce_in(dsn_of(c.email, old));
    ck_assert_msg(strstr(out, "\"outcome\":\"bounce\"") == NULL, "%s", out);
    ck_assert_str_eq(row(id, "status"), "sent");
    /* sent before the sealing: its old id is the one its DSN carries */
    sp_t_sql("UPDATE support_outbox SET delivered_at = (SELECT applied_at - interval '1 day'"
             " FROM schema_migrations WHERE version = 76) WHERE id = %lld", id);
    out = bounce_in(dsn_of(c.email, old));
    ck_assert_msg(strstr(out, "\"outcome\":\"bounce\"") != NULL, "%s", out);
    ck_assert_str_eq(row(id, "status || '/' || last_error"), "failed/bounced");
}
END_TEST

/* bounced_reply's mail bounced with status, by a DSN naming its sealed
 * Message-ID: support-mail-in's log line; the row is failed/bounced. */
static const char *
bounce_reply(struct customer *c, const char **mid, const char *status)
{
    long long id = bounced_reply(c, mid);
    const char *out = bounce_in(dsn_status(c->email, *mid, status));
    ck_assert_msg(strstr(out, "\"outcome\":\"bounce\"") != NULL, "%s", out);
    ck_assert_str_eq(row(id, "status || '/' || last_error"), "failed/bounced");
    return out;
}

/* A DSN returning a customer's mail of ours names it by its sealed
 * Message-ID: support-mail-in, which derives the key from the same
 * SUPPORT_ENCRYPTION_KEYS, finds the row and marks it bounced. */
START_TEST(a_bounce_finds_the_row_behind_a_sealed_message_id)
{
    struct customer c;
    const char *mid;
    bounce_reply(&c, &mid, "5.1.1");
}
END_TEST

/* The customer's next mail of an agent's reply (body) to *c, after a
 * bounce: dispatched to a fresh sink; its outbox row's id, and in *sent
 * how many mails reached the sink. */
static long long
mail_after_bounce(const struct customer *c, const char *body, size_t *sent)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    agent_reply(c, body);
    long long id = atoll(sp_t_sql("SELECT id FROM support_outbox WHERE ticket_id = %lld"
                                  " AND channel = 'email' AND status = 'pending'", c->ticket_id));
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    *sent = mail_count(&sink);
    fixture_stop(&sink);
    return id;
}

/* QA: after a hard bounce (row 51 bounced) the dispatcher kept mailing
 * the same address. A permanent failure (5.x.x) suppresses the address:
 * the next mail to it is failed "suppressed", unsent, and the ticket says
 * so; the customer's mail from the address (it arrives: it works) lifts
 * it, and the mail after that goes out. */
START_TEST(a_hard_bounce_suppresses_the_address_until_mail_comes_from_it)
{
    struct customer c;
    const char *mid;
    const char *out = bounce_reply(&c, &mid, "5.1.1");
    ck_assert_msg(strstr(out, "\"address\":\"suppressed\"") != NULL, "%s", out);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_mail_suppressions s"
                              " JOIN support_contacts ct ON ct.email_index = s.email_index"
                              " WHERE ct.customer_id = '%s'", c.u.sub), "1");
    size_t sent;
    long long id = mail_after_bounce(&c, "Are you still there?", &sent);
    ck_assert_uint_eq(sent, 0);
    /* unsent: no attempt counted */
    ck_assert_str_eq(row(id, "status || '/' || last_error || '/' || (delivered_at IS NULL)"
                             " || '/' || attempts"),
                     "failed/suppressed/true/0");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ticket_events"
                              " WHERE ticket_id = %lld AND event_type = 'notification_failed'"
                              " AND metadata->>'reason' = 'suppressed'"
                              " AND (metadata->>'outbox_id')::bigint = %lld",
                              c.ticket_id, id), "1");
    /* the customer writes in from the address, answering our mail */
    mail_in_as(NULL, c.email, "<support@example.test>", "Re: x", NULL,
               sp_t_fmt("In-Reply-To: %s\r\n", mid), "My mailbox is back.\r\n");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_mail_suppressions s"
                              " JOIN support_contacts ct ON ct.email_index = s.email_index"
                              " WHERE ct.customer_id = '%s'", c.u.sub), "0");
    id = mail_after_bounce(&c, "Welcome back.", &sent);
    ck_assert_uint_eq(sent, 1);
    ck_assert_str_eq(row(id, "status"), "sent");
}
END_TEST

/* The agent ticket view's customer.email_suppressed for c's ticket. */
static bool
email_suppressed(const struct customer *c)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s", c->ticket), agent.token);
    sp_t_assert_status(r, 200);
    struct json_object *v;
    ck_assert(json_object_object_get_ex(sp_t_jobj(r->json, "customer"), "email_suppressed", &v));
    ck_assert(json_object_is_type(v, json_type_boolean));
    bool suppressed = json_object_get_boolean(v);
    sp_t_resp_free(r);
    return suppressed;
}

/* QA: a customer who only uses the web portal was never mailed again after
 * one hard bounce (a policy block, 5.7.1, as much as a mailbox gone), the
 * agents' view did not say so and nobody could lift it. The view says
 * so; admins list it (by id and customer, never the address) and lift it
 * (an agent may not), and the next mail goes out. */
START_TEST(staff_see_a_suppressed_address_and_an_admin_lifts_it)
{
    sp_t_sql("INSERT INTO support_mail_suppressions (email_index, outbox_id) VALUES ('%s', 0)",
             sp_t_unique("older"));
    struct customer c;
    const char *mid;
    bounce_reply(&c, &mid, "5.7.1");
    ck_assert(email_suppressed(&c));
    const char *index = sp_t_fmt("%s", sp_t_sql("SELECT email_index FROM support_contacts"
                                                " WHERE customer_id = '%s'", c.u.sub));
    long long id = atoll(sp_t_sql("SELECT id FROM support_mail_suppressions"
                                  " WHERE email_index = '%s'", index));
    long long outbox = atoll(sp_t_sql("SELECT outbox_id FROM support_mail_suppressions"
                                      " WHERE id = %lld", id));
    const char *admin = sp_t_admin_token();
    struct sp_t_resp *r = sp_t_get("/support/admin/mail-suppressions?limit=1", admin);
    sp_t_assert_status(r, 200);
    struct json_object *items = sp_t_jarr(r->json, "data");
    ck_assert_int_eq(json_object_array_length(items), 1);
    struct json_object *it = json_object_array_get_idx(items, 0);
    ck_assert_int_eq(sp_t_jint(it, "id"), id);
    struct json_object *customers = sp_t_jarr(it, "customer_ids");
    ck_assert_int_eq(json_object_array_length(customers), 1);
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(customers, 0)), c.u.sub);
    ck_assert_int_eq(sp_t_jint(it, "outbox_id"), outbox);
    ck_assert_str_eq(sp_t_jstr(it, "ticket_id"), c.ticket);
    ck_assert_str_eq(sp_t_jstr(it, "dsn_status"), "5.7.1");   /* why: a policy block */
    ck_assert(sp_t_jstr(it, "created_at") != NULL);
    ck_assert_msg(strstr(r->body, index) == NULL && strstr(r->body, c.email) == NULL, "%s",
                  r->body);
    const char *cursor = sp_t_fmt("%s", sp_t_jstr(r->json, "next_cursor"));
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/admin/mail-suppressions?limit=1&cursor=%s", cursor), admin);
    sp_t_assert_status(r, 200);
    items = sp_t_jarr(r->json, "data");
    ck_assert_int_eq(json_object_array_length(items), 1);
    it = json_object_array_get_idx(items, 0);
    ck_assert_int_lt(sp_t_jint(it, "id"), id);
    sp_t_assert_jnull(it, "dsn_status");   /* a row of before the code was kept */
    sp_t_resp_free(r);
    /* a later bounce for the address says its own why, and keeps the id;
     * of its Status only the code is kept, never the MTA's comment */
    const char *out = bounce_in(dsn_status(c.email, mid, "5.1.1 (mailbox gone: ask <x@y>)"));
    ck_assert_msg(strstr(out, "\"address\":\"suppressed\"") != NULL, "%s", out);
    r = sp_t_get("/support/admin/mail-suppressions?limit=1", admin);
    sp_t_assert_status(r, 200);
    it = json_object_array_get_idx(sp_t_jarr(r->json, "data"), 0);
    ck_assert_int_eq(sp_t_jint(it, "id"), id);
    ck_assert_str_eq(sp_t_jstr(it, "dsn_status"), "5.1.1");
    ck_assert_msg(strstr(r->body, "mailbox") == NULL, "%s", r->body);
    sp_t_resp_free(r);
    /* an agent sees the flag, not the list, and lifts nothing */
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *path = sp_t_fmt("/support/admin/mail-suppressions/%lld", id);
    r = sp_t_get("/support/admin/mail-suppressions", agent.token);
    sp_t_assert_status(r, 403);
    sp_t_resp_free(r);
    r = sp_t_request("DELETE", path, agent.token, NULL, NULL, NULL);
    sp_t_assert_status(r, 403);
    sp_t_resp_free(r);
    /* nor the customer whose address it is, nor anyone without a token */
    r = sp_t_get("/support/admin/mail-suppressions", c.u.token);
    sp_t_assert_status(r, 403);
    sp_t_resp_free(r);
    r = sp_t_request("DELETE", path, c.u.token, NULL, NULL, NULL);
    sp_t_assert_status(r, 403);
    sp_t_resp_free(r);
    r = sp_t_get("/support/admin/mail-suppressions", NULL);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
    r = sp_t_request("DELETE", path, NULL, NULL, NULL, NULL);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
    ck_assert(email_suppressed(&c));
    /* it has no ETag: one named is never current */
    const char *stale[] = {sp_t_fmt("If-Match: \"%lld-v1\"", id), NULL};
    r = sp_t_request("DELETE", path, admin, NULL, NULL, stale);
    sp_t_assert_problem(r, 412, "precondition_failed");
    sp_t_resp_free(r);
    ck_assert(email_suppressed(&c));
    r = sp_t_request("DELETE", path, admin, NULL, NULL, NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
    r = sp_t_request("DELETE", path, admin, NULL, NULL, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    ck_assert(!email_suppressed(&c));
    size_t sent;
    long long mail = mail_after_bounce(&c, "Your mailbox takes our mail again.", &sent);
    ck_assert_uint_eq(sent, 1);
    ck_assert_str_eq(row(mail, "status"), "sent");
}
END_TEST

/* A soft bounce (4.x.x: the MTA gave up retrying; the mailbox may be
 * full for a day) fails its row but suppresses nothing: the next mail
 * goes out. */
START_TEST(a_soft_bounce_does_not_suppress_the_address)
{
    struct customer c;
    const char *mid;
    const char *out = bounce_reply(&c, &mid, "4.2.2");
    ck_assert_msg(strstr(out, "suppressed") == NULL, "%s", out);
    size_t sent;
    long long id = mail_after_bounce(&c, "Trying again.", &sent);
    ck_assert_uint_eq(sent, 1);
    ck_assert_str_eq(row(id, "status"), "sent");
}
END_TEST

/* A mail program that answers with In-Reply-To alone (our sealed
 * Message-ID; no References, no tag in the subject) lands on the ticket
 * that mail was about (QA: it opened a new ticket); the same header on a
 * stranger's mail does not (the sender must be the ticket's customer). */
START_TEST(an_answer_naming_only_our_sealed_message_id_joins_its_ticket)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    agent_reply(&c, "Which booking is it?");
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    struct json_object *all = mails(&sink);
    const char *mid = sp_t_fmt("%s", sp_t_jstr(mail_with_text(all, "Which booking is it?"),
                                               "message_id"));
    json_object_put(all);
    fixture_stop(&sink);
    ck_assert_msg(strncmp(mid, "<m-", 3) == 0, "%s", mid);
    const char *tickets = sp_t_fmt("%s", sp_t_sql("SELECT count(*) FROM support_tickets"));
    mail_in_as(NULL, c.email, "<support@example.test>", "Re: your question", NULL,
               sp_t_fmt("In-Reply-To: %s\r\n", mid), "Booking BK-77.\r\n");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ticket_messages WHERE ticket_id = %lld"
                              " AND body LIKE '%%Booking BK-77.%%'", c.ticket_id),
                     "1");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets"), tickets);
    struct customer other = customer_with_ticket();
    mail_in_as(NULL, other.email, "<support@example.test>", "Re: your question", NULL,
               sp_t_fmt("In-Reply-To: %s\r\n", mid), "Not mine.\r\n");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ticket_messages WHERE ticket_id = %lld"
                              " AND body LIKE '%%Not mine.%%'", c.ticket_id),
                     "0");
}
END_TEST

/* Our mails answer the customer's own mail (QA: they named only the
 * ticket's thread id, so mail programs showed them as a thread of their
 * own): the acknowledgement of a ticket opened by mail, and an agent's
 * reply after a mailed answer, name the customer's newest mail in
 * In-Reply-To and after the ticket's thread id in References. */
START_TEST(our_mails_answer_the_customers_own_mail)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();   /* the contact is stored */
    const char *first = sp_t_fmt("%s@mail.example.org", sp_t_unique("first"));
    const char *subject = sp_t_fmt("Printer %s", sp_t_unique("p"));
    mail_in_as(NULL, c.email, "<support@example.test>", subject, first, NULL, "It smokes.\r\n");
    c.ticket = sp_t_sql("SELECT public_id FROM support_tickets WHERE customer_id = '%s'"
                        " AND subject = '%s'", c.u.sub, subject);
    c.ticket_id = atoll(sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s'",
                                 c.ticket));
    const char *thread = sp_t_fmt("<ticket-%s@example.test>", c.ticket);
    agent_reply(&c, "Unplug it.");
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    struct json_object *all = mails(&sink);
    struct json_object *ack = mail_with_subject(all, "We have received your request: ");
    struct json_object *reply = mail_with_text(all, "Unplug it.");
    for (int i = 0; i < 2; i++) {
        struct json_object *m = i == 0 ? ack : reply;
        ck_assert_str_eq(sp_t_jstr(m, "in_reply_to"), sp_t_fmt("<%s>", first));
        const char *refs = sp_t_jstr(m, "references");
        const char *at = strstr(refs, thread), *own = strstr(refs, sp_t_fmt("<%s>", first));
        ck_assert_msg(at != NULL && own != NULL && at < own, "%s", refs);
    }
    json_object_put(all);

    /* the customer answers by mail (the subject's tag finds the ticket) */
    const char *second = sp_t_fmt("%s@mail.example.org", sp_t_unique("second"));
    mail_in_as(NULL, c.email, "<support@example.test>", sp_t_fmt("Re: %s [%s]", subject, c.ticket),
               second, NULL, "Still smoking.\r\n");
    agent_reply(&c, "Call the fire brigade.");
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    all = mails(&sink);
    struct json_object *m = mail_with_text(all, "Call the fire brigade.");
    ck_assert_str_eq(sp_t_jstr(m, "in_reply_to"), sp_t_fmt("<%s>", second));
    ck_assert_msg(strstr(sp_t_jstr(m, "references"), thread) != NULL &&
                      strstr(sp_t_jstr(m, "references"), second) != NULL, "%s",
                  sp_t_jstr(m, "references"));
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* A follow-up's subject is the closed ticket's words without "Re:" and
 * its tag (QA: "Re: with file [OLD]" became the follow-up's subject, and
 * its acknowledgement carried two tags). */
START_TEST(a_follow_ups_acknowledgement_carries_one_tag)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_claims();
    c.ticket = sp_t_ticket_create(&c.u, "with file");
    sp_t_db_ticket_set_status(c.ticket, "closed");
    mail_in_as(NULL, c.email, "<support@example.test>",
               sp_t_fmt("Re: AW: with file [%s]", c.ticket), NULL, NULL, "Again.\r\n");
    const char *next = sp_t_sql("SELECT public_id FROM support_tickets"
                                " WHERE metadata->>'follow_up_of' = '%s'", c.ticket);
    ck_assert_ptr_nonnull(next);
    ck_assert_str_eq(sp_t_sql("SELECT subject FROM support_tickets WHERE public_id = '%s'", next),
                     "with file");
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    struct json_object *all = mails(&sink);
    struct json_object *m =
        mail_with_subject(all, sp_t_fmt("We have received your request: with file [%s]", next));
    ck_assert_str_eq(sp_t_jstr(m, "subject"),
                     sp_t_fmt("We have received your request: with file [%s]", next));
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* The customer's resolve of an assigned ticket mails its agent, by
 * name, as their reply would (QA: only the webhook told anyone). */
START_TEST(the_customers_resolve_tells_the_agent_by_mail)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    const char *ada = sp_t_db_agent_new();
    sp_t_sql("UPDATE support_agents SET display_name = 'Ada Lovelace' WHERE id = %s", ada);
    sp_t_db_ticket_assign(c.ticket, ada);
    struct sp_t_resp *r =
        sp_t_post_json(sp_t_fmt("/support/tickets/%s/resolve", c.ticket), c.u.token, "{}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL),
                           "SUPPORT_STAFF_MAIL=agents@example.test", "SUPPORT_AUTOCLOSE_DAYS=3"));
    struct json_object *all = mails(&sink);
    struct json_object *m = mail_with_subject(all, "Customer resolved: ");
    ck_assert_str_eq(sp_t_jstr(m, "subject"),
                     sp_t_fmt("Customer resolved: Rückerstattung für Buchung [%s]", c.ticket));
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, sp_t_fmt("The customer marked ticket %s", c.ticket)) != NULL &&
                      strstr(text, "closes on its own in 3 days unless") != NULL &&
                      strstr(text, "For Ada Lovelace.") != NULL, "%s", text);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* Without an address there is nobody to mail: skipped, not retried. A
 * dispatcher without SUPPORT_ENCRYPTION_KEYS cannot open any contact. */
START_TEST(customer_without_email_or_keys_is_skipped)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *ticket = sp_t_ticket_create(&u, "No claims in this token");
    long long id = atoll(sp_t_sql(
        "INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id, payload)"
        " SELECT 'notification', 'ticket.updated', 'email', customer_id, id, '{}'"
        " FROM support_tickets WHERE public_id = '%s' RETURNING id",
        ticket));
    const char *out = dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_str_eq(row(id, "status"), "skipped");
    ck_assert_str_eq(row(id, "last_error"), "no_email");
    ck_assert(strstr(out, "\"dispatch_skipped\"") != NULL);

    struct customer c = customer_with_ticket();
    id = notification(&c, "email", "ticket.updated", "{}");
    const char *const *env = dispatch_env(&sink, NULL, NULL);
    ck_assert(strncmp(env[0], "SUPPORT_ENCRYPTION_KEYS_FILE=", 29) == 0);
    const char *no_keys[16] = {"SUPPORT_ENCRYPTION_KEYS_FILE="};
    for (size_t i = 1; env[i] != NULL && i < 15; i++)
        no_keys[i] = env[i];
    dispatch_once(no_keys);
    ck_assert_str_eq(row(id, "status"), "skipped");
    ck_assert_str_eq(row(id, "last_error"), "no_contact");
    ck_assert_uint_eq(mail_count(&sink), 0);
    fixture_stop(&sink);
}
END_TEST

/* ---- retries --------------------------------------------------------------------- */

START_TEST(sms_is_retried_with_backoff_after_500s_then_sent)
{
    set_aside_other_rows();
    struct fixture rcv = receiver();
    struct customer c = customer_with_ticket();
    long long id = notification(&c, "sms", "ticket.updated", "{}");
    const char *const *env = dispatch_env(NULL, &rcv, "/notify?fail=2");

    const char *out = dispatch_once(env);
    ck_assert_str_eq(row(id, "status"), "pending");
    ck_assert_str_eq(row(id, "attempts"), "1");
    ck_assert_str_eq(row(id, "last_status_code"), "500");
    ck_assert_str_eq(row(id, "last_error"), "http_500");
    double wait = seconds_until_next_attempt(id);
    ck_assert_msg(wait > 7.5 && wait < 12.5, "first retry in %.1f s, not 10 s ± 20 %%", wait);
    ck_assert(strstr(out, "\"dispatch_retry\"") != NULL);
    /* nothing secret or personal in the log */
    ck_assert(strstr(out, "test-notify-key") == NULL && strstr(out, c.phone) == NULL);

    dispatch_once(env);   /* not due yet: nothing happens */
    ck_assert_str_eq(row(id, "attempts"), "1");

    sp_t_sql("UPDATE support_outbox SET next_attempt_at = now() WHERE id = %lld", id);
    dispatch_once(env);
    ck_assert_str_eq(row(id, "attempts"), "2");
    wait = seconds_until_next_attempt(id);
    ck_assert_msg(wait > 23.5 && wait < 36.5, "second retry in %.1f s, not 30 s ± 20 %%", wait);

    sp_t_sql("UPDATE support_outbox SET next_attempt_at = now() WHERE id = %lld", id);
    dispatch_once(env);
    ck_assert_str_eq(row(id, "status"), "sent");
    ck_assert_str_eq(row(id, "attempts"), "3");
    ck_assert_str_eq(row(id, "last_status_code"), "200");

    ck_assert_int_eq(requests_for(&rcv, "done", id, NULL), 3);
    struct json_object *last = NULL;
    requests_for(&rcv, "start", id, &last);
    struct json_object *headers = sp_t_jobj(last, "headers");
    ck_assert_str_eq(sp_t_jstr(headers, "authorization"), "Bearer test-notify-key");
    ck_assert_str_eq(sp_t_jstr(headers, "idempotency-key"), sp_t_fmt("outbox-%lld", id));
    ck_assert_str_eq(sp_t_jstr(headers, "content-type"), "application/json");
    struct json_object *body = json_tokener_parse(sp_t_jstr(last, "body"));
    ck_assert_str_eq(sp_t_jstr(body, "channel"), "sms");
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(body, "to"), "phone"), c.phone_e164);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(body, "ticket"), "public_id"), c.ticket);
    ck_assert(strlen(sp_t_jstr(body, "text")) > 0);
    json_object_put(body);
    json_object_put(last);
    fixture_stop(&rcv);
}
END_TEST

/* The phone claim is whatever the token's issuer stored: the SMS gateway
 * gets it as E.164 (above), and a number that is none (a line break, a
 * shell word) is skipped as a bad mail address is, never posted. An SMS
 * carries the text's start, not a 20,000-character reply (QA: 19,695
 * characters were posted): at most 160 characters, cut after a word with
 * "…", the ticket's link beside it. */
START_TEST(sms_goes_to_e164_numbers_only_and_is_short)
{
    set_aside_other_rows();
    struct fixture rcv = receiver();
    const char *const *env = dispatch_env(NULL, &rcv, "/notify");
    const char *bad[2] = {"+1555\r\n0000", "not-a-phone; rm -rf"};
    for (int i = 0; i < 2; i++) {
        struct customer c = {.u = sp_t_user_new(SP_ROLE_CUSTOMER)};
        c.u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, c.u.sub,
                                      sp_t_fmt("{\"phone\":%s}", sp_t_jq(bad[i])));
        c.ticket = sp_t_ticket_create(&c.u, "A bad phone");
        c.ticket_id = atoll(sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s'",
                                     c.ticket));
        long long id = notification(&c, "sms", "ticket.updated", "{}");
        dispatch_once(env);
        ck_assert_str_eq(row(id, "status"), "skipped");
        ck_assert_str_eq(row(id, "last_error"), "bad_address");
        ck_assert_int_eq(requests_for(&rcv, "start", id, NULL), 0);
    }

    struct customer c = customer_with_ticket();
    static char long_reply[20000];
    strcpy(long_reply, "<p>");
    for (int i = 0; i < 700; i++)
        strcat(long_reply, "Lorem ipsum dolor sit amet. ");
    strcat(long_reply, "</p>");
    long long message = agent_reply(&c, long_reply);
    long long id = notification(&c, "sms", "ticket.message_created",
                                sp_t_fmt("{\"message_id\":%lld}", message));
    dispatch_once(env);
    ck_assert_str_eq(row(id, "status"), "sent");
    struct json_object *last = NULL;
    ck_assert_int_eq(requests_for(&rcv, "start", id, &last), 1);
    struct json_object *body = json_tokener_parse(sp_t_jstr(last, "body"));
    const char *text = sp_t_jstr(body, "text");
    size_t n = strlen(text), points = 0;
    for (size_t i = 0; i < n; i++)
        points += ((unsigned char)text[i] & 0xc0) != 0x80;
    /* "...": GSM has no "…", which made the SMS UCS-2 (QA: 3 segments) */
    ck_assert_msg(points <= 160, "%zu characters: %s", points, text);
    ck_assert_msg(n > 3 && strcmp(text + n - 3, "...") == 0, "%s", text);
    ck_assert_msg(strstr(text, "Lorem ipsum") != NULL && strchr(text, '\n') == NULL, "%s", text);
    json_object_put(body);
    json_object_put(last);
    fixture_stop(&rcv);
}
END_TEST

/* A chat an admin made a ticket: the customer is told where it continues,
 * by mail (the row the transfer queued) and by SMS (the row
 * SUPPORT_CUSTOMER_CHANNELS=email,sms would add beside it), both from the
 * chat_escalated templates — a customer who never filed a ticket too:
 * the chat's start stored their contact (before, no_contact: skipped). */
START_TEST(a_chats_escalation_reaches_the_customer_by_mail_and_sms)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct fixture rcv = receiver();
    struct customer c = customer_with_claims();   /* the chat stores the contact */
    const char *cat = sp_t_admin_category_new("\"routing\":\"manual\"");
    struct sp_t_resp *r = sp_t_post_json(
        "/support/chat/session", c.u.token,
        sp_t_fmt("{\"category\":%s,\"message\":\"is anyone there?\"}", sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    const char *chat = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", chat), admin.token,
                       "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    sp_t_resp_free(r);
    long long mail_row = atoll(sp_t_sql(
        "SELECT o.id FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id"
        " WHERE t.public_id = '%s' AND o.event_type = 'chat.escalated' AND o.channel = 'email'"
        " AND o.recipient = '%s'", ticket, c.u.sub));
    ck_assert_int_gt(mail_row, 0);
    long long sms_row = atoll(sp_t_sql(
        "INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id, payload)"
        " SELECT kind, event_type, 'sms', recipient, ticket_id, payload FROM support_outbox"
        " WHERE id = %lld RETURNING id", mail_row));
    sp_t_sql("UPDATE support_outbox SET status = 'skipped', last_error = 'test_dispatch'"
             " WHERE status = 'pending' AND id NOT IN (%lld, %lld)", mail_row, sms_row);
    dispatch_once(dispatch_env(&sink, &rcv, "/notify"));
    ck_assert_str_eq(row(mail_row, "status"), "sent");
    ck_assert_str_eq(row(sms_row, "status"), "sent");

    const char *says = sp_t_fmt("continues as ticket %s", ticket);
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = json_object_array_get_idx(all, 0);
    /* the ticket's tag ends the subject, as every subject of ours (QA: a
     * reply without References became a new ticket) */
    const char *subject = sp_t_fmt("%s", sp_t_jstr(m, "subject"));
    ck_assert_msg(strncmp(subject, sp_t_fmt("Your chat continues as ticket %s: ", ticket),
                          strlen(sp_t_fmt("Your chat continues as ticket %s: ", ticket))) == 0 &&
                      sp_t_matches(sp_t_fmt("\\[%s\\]$", ticket), subject), "%s", subject);
    ck_assert_str_eq(sp_t_jstr(m, "to"), sp_t_fmt("Zoë Ürban <%s>", c.email));
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, says) != NULL && strstr(text, "Hello Zoë Ürban") != NULL, "%s",
                  text);
    ck_assert(strstr(sp_t_jstr(part_of(m, "text/html"), "text"), ticket) != NULL);
    json_object_put(all);

    struct json_object *last = NULL;
    ck_assert_int_eq(requests_for(&rcv, "done", sms_row, &last), 1);
    struct json_object *body = json_tokener_parse(sp_t_jstr(last, "body"));
    ck_assert_str_eq(sp_t_jstr(body, "channel"), "sms");
    ck_assert_str_eq(sp_t_jstr(body, "event_type"), "chat.escalated");
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(body, "to"), "phone"), c.phone_e164);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(body, "ticket"), "public_id"), ticket);
    ck_assert_str_eq(sp_t_jstr(body, "title"), subject);
    /* no SUPPORT_PORTAL_URL, no reply keys: no page or reply it cannot
     * offer (QA: "reply to it on the ticket page" beside a footer's
     * "Reply to this mail") */
    ck_assert_msg(strstr(sp_t_jstr(body, "text"), says) != NULL &&
                      strstr(sp_t_jstr(body, "text"), "Our team answers you there") != NULL &&
                      strstr(sp_t_jstr(body, "text"), "ticket page") == NULL,
                  "%s", sp_t_jstr(body, "text"));
    /* greeted by name, as in the mail (the SMS said a bare "Hello,") */
    ck_assert_msg(strstr(sp_t_jstr(body, "text"), "Hello Zoë Ürban") != NULL, "%s",
                  sp_t_jstr(body, "text"));
    json_object_put(body);
    json_object_put(last);
    fixture_stop(&rcv);
    fixture_stop(&sink);
    /* The customer's answer to the plain address, with neither
     * References nor In-Reply-To (a mail program that drops them): the
     * subject's tag takes it to the ticket. */
    mail_in_as(NULL, c.email, "<support@example.test>", sp_t_fmt("Re: %s", subject), NULL, NULL,
               "Here is what the chat did not get to.\r\n");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ticket_messages m"
                              " JOIN support_tickets t ON t.id = m.ticket_id"
                              " WHERE t.public_id = '%s' AND m.sender_type = 'customer'"
                              " AND m.body = '<p>Here is what the chat did not get to.</p>'",
                              ticket), "1");
}
END_TEST

START_TEST(an_escalation_about_a_booking_reaches_the_booking_service)
{
    set_aside_other_rows();
    struct fixture rcv = receiver();
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create_json(
        &c, "{\"subject\":\"charged twice\",\"description\":\"d\",\"booking_id\":\"BK-77\"}");
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/escalate", pid),
                                         a.token, "{\"reason\":\"refund\",\"provider_id\":5}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    long long id = atoll(sp_t_sql("SELECT o.id FROM support_outbox o JOIN support_tickets t"
                                  " ON t.id = o.ticket_id WHERE t.public_id = '%s'"
                                  " AND o.channel = 'booking'", pid));
    dispatch_once(env_plus(dispatch_env(NULL, NULL, NULL),
                           sp_t_fmt("SUPPORT_BOOKING_URL=http://127.0.0.1:%d", rcv.port),
                           "SUPPORT_BOOKING_KEY=test-booking-key"));
    ck_assert_str_eq(row(id, "status"), "sent");
    struct json_object *last = NULL;
    ck_assert_int_eq(requests_for(&rcv, "start", id, &last), 1);
    ck_assert_str_eq(sp_t_jstr(last, "path"), "/support-escalations");
    struct json_object *headers = sp_t_jobj(last, "headers");
    ck_assert_str_eq(sp_t_jstr(headers, "authorization"), "Bearer test-booking-key");
    ck_assert_str_eq(sp_t_jstr(headers, "idempotency-key"), sp_t_fmt("outbox-%lld", id));
    struct json_object *body = json_tokener_parse(sp_t_jstr(last, "body"));
    ck_assert_str_eq(sp_t_jstr(body, "booking_id"), "BK-77");
    /* whose ticket: the booking id is the customer's word, the service checks it */
    ck_assert_str_eq(sp_t_jstr(body, "customer_id"), c.sub);
    ck_assert_str_eq(sp_t_jstr(body, "event_type"), "ticket.escalated");
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(body, "ticket"), "public_id"), pid);
    json_object_put(body);
    json_object_put(last);
    fixture_stop(&rcv);
}
END_TEST

/* The escalation's notice to provider operations says why and which
 * booking (operations cannot act on "escalated" alone): the agent's
 * reason, escaped in the HTML part, and the ticket's booking id. */
START_TEST(an_escalation_mail_names_the_reason_and_the_booking)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create_json(
        &c, "{\"subject\":\"charged twice\",\"description\":\"d\",\"booking_id\":\"BK-78\"}");
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/escalate", pid),
                                         a.token,
                                         "{\"reason\":\"Provider <silent> for 3 days\","
                                         "\"provider_id\":5}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    sp_t_sql("UPDATE support_outbox SET status = 'skipped', last_error = 'test_dispatch'"
             " WHERE status = 'pending' AND channel <> 'provider_operations'");
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL),
                           "SUPPORT_STAFF_MAIL=agents@example.test", NULL));
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    struct json_object *m = mail_with_subject(all, "Escalated to provider operations:");
    const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
    ck_assert_msg(strstr(text, "Reason: Provider <silent> for 3 days") != NULL &&
                      strstr(text, "Booking: BK-78") != NULL &&
                      strstr(text, "For the operations of provider 5.") != NULL, "%s", text);
    const char *html = sp_t_jstr(part_of(m, "text/html"), "text");
    ck_assert_msg(strstr(html, "Provider &lt;silent&gt; for 3 days") != NULL &&
                      strstr(html, "BK-78") != NULL, "%s", html);
    json_object_put(all);
    fixture_stop(&sink);
}
END_TEST

/* ---- ai-usage-monitor's notifications --------------------------------------------- */

/* An hour of model at 11:00 UTC on day six times its usual (10 calls an
 * hour on the 8 days before, 60 over six users that hour), flagged by an
 * ai-usage-monitor --backfill pass; the ids of its outbox rows, "a,b". */
static const char *
usage_anomaly(const char *day, const char *model)
{
    sp_t_sql("INSERT INTO support_ai_interactions (user_id, model, prompt, latency_ms,"
             " prompt_tokens, completion_tokens, created_at)"
             " SELECT 'u' || (i %% 6), '%s', 'seeded', 5, 10, 5,"
             "  '%sT11:00:00Z'::timestamptz - d * interval '1 day' + i * interval '30 seconds'"
             " FROM generate_series(0, 8) AS d, generate_series(1, 60) AS i"
             " WHERE d = 0 OR i <= 10", model, day);
    const char *out;
    const char *const args[] = {"--once", "--backfill", "--now",
                                sp_t_fmt("%sT12:10:00Z", day), NULL};
    ck_assert_msg(sp_t_job_run("ai-usage-monitor", NULL, args, &out) == 0, "%s", out);
    return sp_t_sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM support_outbox"
                    " WHERE event_type = 'ai.usage_anomaly' AND payload->>'model' = '%s'", model);
}

START_TEST(an_ai_usage_anomaly_reaches_the_admins)
{
    set_aside_other_rows();
    const char *model = sp_t_unique("dispatch-usage");
    const char *ids = usage_anomaly("2026-06-17", model);
    long long first = atoll(ids), second = atoll(strchr(ids, ',') + 1);
    ck_assert_str_eq(row(first, "concat_ws('|', kind, channel, recipient, status)"),
                     "notification|team|support_admin|pending");

    /* With SUPPORT_STAFF_MAIL: a mail to the staff address per anomaly. */
    struct fixture sink = smtp_sink();
    dispatch_once(env_plus(dispatch_env(&sink, NULL, NULL),
                           "SUPPORT_STAFF_MAIL=ops@example.test", NULL));
    ck_assert_str_eq(row(first, "status"), "sent");
    ck_assert_str_eq(row(second, "status"), "sent");
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 2);
    for (int i = 0; i < 2; i++) {
        struct json_object *m = json_object_array_get_idx(all, i);
        ck_assert_msg(strstr(sp_t_jstr(m, "to"), "ops@example.test") != NULL, "%s",
                      sp_t_jstr(m, "to"));
        const char *subject = sp_t_jstr(m, "subject");
        ck_assert_msg(strstr(subject, sp_t_fmt("AI usage anomaly: %s of %s at 2026-06-17",
                                               i == 0 ? "requests" : "tokens", model)) ||
                          strstr(subject, sp_t_fmt("AI usage anomaly: %s of %s at 2026-06-17",
                                                   i == 0 ? "tokens" : "requests", model)),
                      "%s", subject);
        const char *text = sp_t_jstr(part_of(m, "text/plain"), "text");
        ck_assert_msg(strstr(text, "support_ai_usage_anomalies") != NULL, "%s", text);
    }
    json_object_put(all);
    fixture_stop(&sink);

    /* Without it: the notification service, as a team notification. */
    sp_t_sql("UPDATE support_outbox SET status = 'pending', attempts = 0,"
             " next_attempt_at = now() WHERE id IN (%s)", ids);
    struct fixture rcv = receiver();
    dispatch_once(dispatch_env(NULL, &rcv, "/notify"));
    ck_assert_str_eq(row(first, "status"), "sent");
    struct json_object *last = NULL;
    ck_assert_int_eq(requests_for(&rcv, "done", first, &last), 1);
    struct json_object *body = json_tokener_parse(sp_t_jstr(last, "body"));
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(body, "to"), "team"), "support_admin");
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(body, "title"), model));
    json_object_put(body);
    json_object_put(last);
    fixture_stop(&rcv);
}
END_TEST

START_TEST(gives_up_after_24_hours)
{
    set_aside_other_rows();
    struct fixture rcv = receiver();
    struct customer c = customer_with_ticket();
    long long id = last_chance(&c, "sms", "ticket.updated");
    dispatch_once(dispatch_env(NULL, &rcv, "/down?fail=1000"));
    ck_assert_str_eq(row(id, "status"), "failed");
    ck_assert_str_eq(row(id, "attempts"), "15");
    ck_assert_str_eq(row(id, "last_error"), "http_500");
    fixture_stop(&rcv);
}
END_TEST

START_TEST(dry_run_sends_and_changes_nothing)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    long long id = notification(&c, "email", "ticket.updated", "{}");
    const char *args[] = {"--once", "--dry-run", NULL};
    const char *out = NULL;
    ck_assert_int_eq(sp_t_job_run(JOB, dispatch_env(&sink, NULL, NULL), args, &out), 0);
    ck_assert_msg(strstr(out, sp_t_fmt("\"outbox_id\":%lld", id)) != NULL, "%s", out);
    ck_assert(strstr(out, "\"dispatch_would_send\"") != NULL);
    ck_assert_str_eq(row(id, "status"), "pending");
    ck_assert_str_eq(row(id, "attempts"), "0");
    ck_assert_ptr_null(row(id, "claim_token"));
    ck_assert_uint_eq(mail_count(&sink), 0);
    fixture_stop(&sink);
}
END_TEST

/* ---- concurrency and crashes ------------------------------------------------------- */

static long long *
sms_rows(const struct customer *c, int n)
{
    static long long ids[64];
    ck_assert_int_le(n, 64);
    for (int i = 0; i < n; i++)
        ids[i] = notification(c, "sms", "ticket.updated", "{}");
    return ids;
}

START_TEST(killed_dispatcher_redelivers_after_its_lease)
{
    set_aside_other_rows();
    struct fixture rcv = receiver();
    struct customer c = customer_with_ticket();
    long long *ids = sms_rows(&c, 3);
    struct sp_t_job j;
    const char *args[] = {"--loop", NULL};
    sp_t_job_start(&j, JOB, dispatch_env(NULL, &rcv, "/slow?delay=30"), args);
    /* wait until all three are on the wire to the stalled receiver */
    for (int i = 0; i < 200; i++) {
        int started = 0;
        for (int k = 0; k < 3; k++)
            started += requests_for(&rcv, "start", ids[k], NULL) > 0;
        if (started == 3)
            break;
        usleep(50000);
    }
    kill(j.pid, SIGKILL);
    ck_assert_int_eq(sp_t_job_wait(&j, NULL), 128 + SIGKILL);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(requests_for(&rcv, "done", ids[k], NULL), 0);
        ck_assert_str_eq(row(ids[k], "status"), "pending");
        ck_assert_str_eq(row(ids[k], "attempts"), "1");
        ck_assert(seconds_until_next_attempt(ids[k]) > 60);   /* leased: nobody else takes it */
    }
    const char *const *fast = dispatch_env(NULL, &rcv, "/fast");
    dispatch_once(fast);
    for (int k = 0; k < 3; k++)
        ck_assert_str_eq(row(ids[k], "status"), "pending");
    /* the lease runs out (here: the test moves it), and the rows come back */
    for (int k = 0; k < 3; k++)
        sp_t_sql("UPDATE support_outbox SET next_attempt_at = now() WHERE id = %lld", ids[k]);
    dispatch_once(fast);
    for (int k = 0; k < 3; k++) {
        ck_assert_str_eq(row(ids[k], "status"), "sent");
        ck_assert_str_eq(row(ids[k], "attempts"), "2");
        ck_assert_int_eq(requests_for(&rcv, "done", ids[k], NULL), 1);
    }
    fixture_stop(&rcv);
}
END_TEST

START_TEST(two_dispatchers_never_deliver_one_row_twice)
{
    set_aside_other_rows();
    struct fixture rcv = receiver();
    struct customer c = customer_with_ticket();
    enum { N = 24 };
    long long *ids = sms_rows(&c, N);
    const char *const *env = dispatch_env(NULL, &rcv, "/busy?delay=0.2");
    struct sp_t_job a, b;
    const char *args[] = {"--once", NULL};
    sp_t_job_start(&a, JOB, env, args);
    sp_t_job_start(&b, JOB, env, args);
    const char *out_a = NULL, *out_b = NULL;
    ck_assert_int_eq(sp_t_job_wait(&a, &out_a), 0);
    ck_assert_int_eq(sp_t_job_wait(&b, &out_b), 0);
    for (int k = 0; k < N; k++) {
        ck_assert_str_eq(row(ids[k], "status"), "sent");
        ck_assert_str_eq(row(ids[k], "attempts"), "1");
        ck_assert_int_eq(requests_for(&rcv, "start", ids[k], NULL), 1);
    }
    ck_assert(strstr(out_a, "\"dispatch_lease_lost\"") == NULL);
    ck_assert(strstr(out_b, "\"dispatch_lease_lost\"") == NULL);
    fixture_stop(&rcv);
}
END_TEST

/* The daemon: woken by NOTIFY, and a stalled notification service holds
 * only its own slots, so the mail goes out meanwhile. */
START_TEST(loop_wakes_on_notify_and_a_slow_destination_stalls_nothing_else)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct fixture rcv = receiver();
    struct customer c = customer_with_ticket();
    const char **env = (const char **)dispatch_env(&sink, &rcv, "/stalled?delay=8");
    struct sp_t_job j;
    const char *args[] = {"--loop", "--interval", "60", NULL};
    size_t n = 0;
    while (env[n] != NULL)
        n++;
    env[n++] = "SUPPORT_DISPATCH_PER_DESTINATION=2";
    env[n] = NULL;
    sp_t_job_start(&j, JOB, env, args);
    usleep(1000000);   /* listening */
    long long *slow = sms_rows(&c, 4);
    usleep(300000);
    long long mail = notification(&c, "email", "ticket.updated", "{}");
    int64_t t0 = (int64_t)time(NULL);
    while (strcmp(row(mail, "status"), "sent") != 0 && time(NULL) - t0 < 5)
        usleep(100000);
    ck_assert_str_eq(row(mail, "status"), "sent");
    ck_assert_int_le(time(NULL) - t0, 3);
    /* two of the four are on the wire, two wait for a slot */
    int started = 0;
    for (int k = 0; k < 4; k++)
        started += requests_for(&rcv, "start", slow[k], NULL);
    ck_assert_int_eq(started, 2);
    kill(j.pid, SIGTERM);
    const char *out = NULL;
    ck_assert_int_eq(sp_t_job_wait(&j, &out), 0);
    ck_assert_msg(strstr(out, "\"job_stopped\"") != NULL, "%s", out);
    /* the two in flight finished before it stopped; the two waiting went back */
    int sent = 0, due = 0;
    for (int k = 0; k < 4; k++) {
        sent += strcmp(row(slow[k], "status"), "sent") == 0;
        due += strcmp(row(slow[k], "attempts"), "0") == 0;
    }
    ck_assert_int_eq(sent, 2);
    ck_assert_int_eq(due, 2);
    fixture_stop(&rcv);
    fixture_stop(&sink);
}
END_TEST


/* ---- stopping with webhook deliveries in flight --------------------------------- */

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* pid and its children (/proc/PID/task/PID/children): every process of
 * the dispatcher, as systemd's stop signals every process of the unit
 * (KillMode=control-group), not only the main one. */
static int
processes_of(pid_t pid, pid_t *out, int max)
{
    int n = 0;
    out[n++] = pid;
    FILE *f = fopen(sp_t_fmt("/proc/%d/task/%d/children", (int)pid, (int)pid), "r");
    ck_assert_ptr_nonnull(f);
    int child;
    while (n < max && fscanf(f, "%d", &child) == 1)
        out[n++] = child;
    fclose(f);
    return n;
}

/* A webhook receiver that answers after 1.5 s (webhook_receiver.py, its
 * secret written), the only active webhook; returns its id. */
static long long
slow_webhook(struct sp_t_fixture *hook, const char *secrets)
{
    sp_t_sql("UPDATE support_webhook_deliveries SET status = 'failed' WHERE status = 'pending'");
    sp_t_sql("UPDATE support_webhooks SET is_active = false");
    sp_t_fixture_start(hook, sp_t_fmt("webhook_receiver.py %s --timeout 120", secrets));
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/webhooks",
        sp_t_fmt("{\"url\":\"http://127.0.0.1:%d/slow/1.5\",\"events\":[\"ticket.sla_warning\"]}",
                 hook->port));
    sp_t_assert_json(r, 201);
    FILE *f = fopen(secrets, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", sp_t_jstr(r->json, "secret"));
    fclose(f);
    long long id = (long long)sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    return id;
}

/* The receiver's requests until none comes within ms (at most max): each
 * counted in seen[] under its event id (ids[], n: the distinct ids);
 * returns how many came. */
static int
hook_requests(struct sp_t_fixture *hook, int ms, int max, const char **ids, int *seen, int *n)
{
    int got = 0;
    for (struct json_object *o; got < max && (o = sp_t_fixture_next(hook, ms)) != NULL; got++) {
        const char *id = sp_t_fmt("%s", sp_t_jstr(o, "event_id"));
        ck_assert(json_object_get_boolean(sp_t_jget(o, "valid")));
        json_object_put(o);
        int k = 0;
        while (k < *n && strcmp(ids[k], id) != 0)
            k++;
        if (k == *n) {
            ck_assert_int_lt(*n, 16);
            ids[(*n)++] = id;
        }
        seen[k]++;
    }
    return got;
}

/* SIGTERM to every process of the dispatcher while a webhook delivery is
 * on the wire to a slow receiver and the dispatcher's own notification
 * holds it a few seconds more (it finishes transfers in flight): the
 * webhook children finish the attempt in flight, record it, hand the rest
 * back and exit; they start no new delivery meanwhile (they ignored
 * SIGTERM and kept sending until the dispatcher closed their wake-up
 * sockets, after its own transfers). Every process is gone within the
 * bound, and a later dispatcher sends each handed-back delivery once:
 * every event reaches the receiver exactly once. The daemon (--loop) and
 * a timer's run (--once, which must not start senders again and again
 * for the rows handed back; it exits 1, its pass stopped). */
START_TEST(sigterm_stops_webhook_senders_after_the_attempt_in_flight)
{
    static const char *const loop[] = {"--loop", "--interval", "60", NULL};
    static const char *const once[] = {"--once", NULL};
    set_aside_other_rows();
    struct fixture rcv = receiver();
    struct customer c = customer_with_ticket();
    struct sp_t_fixture hook;
    char secrets[] = "/tmp/sp-dispatch-secrets-XXXXXX";
    int fd = mkstemp(secrets);
    ck_assert_int_ge(fd, 0);
    close(fd);
    long long webhook = slow_webhook(&hook, secrets);
    enum { EVENTS = 4 };
    for (int i = 0; i < EVENTS; i++)
        sp_t_sql("INSERT INTO support_outbox (kind, event_type, channel, payload)"
                 " VALUES ('webhook', 'ticket.sla_warning', 'webhook', '{\"n\": %d}')", i);
    long long sms = notification(&c, "sms", "ticket.updated", "{}");
    const char *const *env = env_plus(dispatch_env(NULL, &rcv, "/slow?delay=5"),
                                      "SUPPORT_WEBHOOK_ALLOW_LOOPBACK=1", NULL);
    struct sp_t_job j;
    sp_t_job_start(&j, JOB, env, _i == 0 ? loop : once);
    const char *ids[16];
    int seen[16] = {0}, nids = 0;
    /* the first delivery on the wire (the receiver prints it on arrival) */
    ck_assert_msg(hook_requests(&hook, 10000, 1, ids, seen, &nids) == 1,
                  "no delivery reached the receiver");
    for (int i = 0; i < 40 && requests_for(&rcv, "start", sms, NULL) == 0; i++)
        usleep(50000);
    ck_assert_int_eq(requests_for(&rcv, "start", sms, NULL), 1);   /* held 5 s */
    ck_assert_int_eq(requests_for(&rcv, "done", sms, NULL), 0);
    pid_t pids[16];
    int npids = processes_of(j.pid, pids, 16);
    ck_assert_int_ge(npids, 2);   /* the dispatcher and a sender */
    double t0 = mono_s();
    for (int i = 0; i < npids; i++)
        kill(pids[i], SIGTERM);
    /* requests that arrive now were on the wire already (printed on arrival) */
    int in_flight = 1 + hook_requests(&hook, 300, EVENTS, ids, seen, &nids);
    /* after 0.3 s, none starts: a new one would come 1.5 s in */
    int late = hook_requests(&hook, 2500, EVENTS, ids, seen, &nids);
    ck_assert_msg(late == 0, "%d deliveries started more than 0.3 s after SIGTERM", late);
    const char *out = NULL;
    /* A loop's stop is its end (0); a --once pass cut short is no finished
     * run (docs/operations.md "Stopping a pass"): 1. */
    ck_assert_int_eq(sp_t_job_wait(&j, &out), _i == 0 ? 0 : 1);
    double took = mono_s() - t0;
    ck_assert_msg(took <= 8, "the dispatcher took %.1f s to stop", took);
    for (int i = 1; i < npids; i++)
        ck_assert_msg(kill(pids[i], 0) != 0 && errno == ESRCH, "sender %d still runs", pids[i]);
    ck_assert_str_eq(row(sms, "status"), "sent");
    /* the attempts in flight were recorded; the rest went back, unattempted */
#define COUNT_OF(cond) sp_t_sql("SELECT count(*) FROM support_webhook_deliveries" \
                                " WHERE webhook_id = %lld AND " cond, webhook)
    ck_assert_str_eq(COUNT_OF("status = 'delivered'"), sp_t_fmt("%d", in_flight));
    ck_assert_str_eq(COUNT_OF("status = 'pending' AND attempts = 0 AND next_attempt_at <= now()"),
                     sp_t_fmt("%d", EVENTS - in_flight));
    dispatch_once(env);
    ck_assert_str_eq(COUNT_OF("status = 'delivered'"), sp_t_fmt("%d", EVENTS));
#undef COUNT_OF
    hook_requests(&hook, 500, 4 * EVENTS, ids, seen, &nids);
    ck_assert_int_eq(nids, EVENTS);
    for (int k = 0; k < nids; k++)
        ck_assert_msg(seen[k] == 1, "event %s reached the receiver %d times", ids[k], seen[k]);
    sp_t_fixture_stop(&hook);
    unlink(secrets);
    fixture_stop(&rcv);
}
END_TEST


/* ---- secrets rotated (docs/operations.md, "Rotating keys") ----------------------- */

/* Writes a secret file as the runbook says: a new file renamed over the
 * old, so a reload never reads half of it. */
static void
write_secret(const char *path, const char *value)
{
    const char *tmp = sp_t_fmt("%s.new", path);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", value);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(rename(tmp, path), 0);
}

/* An SMS and a mail of c's, delivered by the running dispatcher: the SMS
 * carried key as its bearer key, and mails_with of the sink's mails came
 * with password as their login's. */
static void
delivered_with(const struct fixture *sink, const struct fixture *rcv, const struct customer *c,
               const char *key, const char *password, int mails_with)
{
    long long sms = notification(c, "sms", "ticket.updated", "{}");
    long long mail = notification(c, "email", "ticket.updated", "{}");
    int64_t t0 = (int64_t)time(NULL);
    while ((strcmp(row(sms, "status"), "sent") != 0 || strcmp(row(mail, "status"), "sent") != 0)
           && time(NULL) - t0 < 20)
        usleep(100000);
    ck_assert_msg(strcmp(row(sms, "status"), "sent") == 0 &&
                      strcmp(row(mail, "status"), "sent") == 0,
                  "sms: %s %s; mail: %s %s", row(sms, "status"), row(sms, "last_error"),
                  row(mail, "status"), row(mail, "last_error"));
    struct json_object *last = NULL;
    ck_assert_int_eq(requests_for(rcv, "start", sms, &last), 1);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(last, "headers"), "authorization"),
                     sp_t_fmt("Bearer %s", key));
    json_object_put(last);
    struct json_object *all = mails(sink);
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        struct json_object *auth = sp_t_jget(json_object_array_get_idx(all, i), "smtp_auth");
        n += auth != NULL &&
             strcmp(json_object_get_string(auth), sp_t_fmt("dispatch:%s", password)) == 0;
    }
    ck_assert_msg(n == mails_with, "%d mails sent with %s: %s", n, password,
                  json_object_to_json_string(all));
    json_object_put(all);
}

/* The unit's ExecReload: support-dispatch --loop reads
 * SUPPORT_NOTIFY_KEY_FILE and SUPPORT_SMTP_PASSWORD_FILE again on SIGHUP,
 * and the next deliveries carry the new secrets, without a restart (the
 * old ones are changed at their servers after it). The password goes
 * over STARTTLS to a relay whose certificate the test CA signed
 * (SUPPORT_SMTP_CA_FILE), as it only ever goes over TLS. */
START_TEST(sighup_rotates_the_notify_key_and_the_smtp_password)
{
    set_aside_other_rows();
    struct fixture sink = tls_sink(true, true);
    struct fixture rcv = receiver();
    struct customer c = customer_with_ticket();
    const char *key_file = sp_t_fmt("%s/notify_key", rcv.dir);
    const char *password_file = sp_t_fmt("%s/smtp_password", sink.dir);
    write_secret(key_file, "notify-key-before");
    write_secret(password_file, "smtp-password-before");
    const char **env = (const char **)dispatch_env(&sink, &rcv, "/notify");
    for (size_t i = 0; env[i] != NULL; i++)
        if (strncmp(env[i], "SUPPORT_NOTIFY_KEY=", strlen("SUPPORT_NOTIFY_KEY=")) == 0)
            env[i] = sp_t_fmt("SUPPORT_NOTIFY_KEY_FILE=%s", key_file);
    env_plus(env, "SUPPORT_SMTP_USER=dispatch",
             sp_t_fmt("SUPPORT_SMTP_PASSWORD_FILE=%s", password_file));
    env_plus(env, ca_file_of(&sink), NULL);
    struct sp_t_job j;
    const char *args[] = {"--loop", "--interval", "3600", NULL};
    sp_t_job_start(&j, JOB, env, args);
    sp_t_job_says(&j, "\"job_started\"", 1);
    delivered_with(&sink, &rcv, &c, "notify-key-before", "smtp-password-before", 1);

    write_secret(key_file, "notify-key-after");
    write_secret(password_file, "smtp-password-after");
    ck_assert_int_eq(kill(j.pid, SIGHUP), 0);
    sp_t_job_says(&j, "\"job_reloaded\"", 1);
    delivered_with(&sink, &rcv, &c, "notify-key-after", "smtp-password-after", 1);
    /* each AUTH after its STARTTLS: never in clear */
    ck_assert_str_eq(sink_commands(&sink), "STARTTLS\nAUTH\nSTARTTLS\nAUTH\n");

    kill(j.pid, SIGTERM);
    const char *out = NULL;
    ck_assert_int_eq(sp_t_job_wait(&j, &out), 0);
    /* Never a secret in the log. */
    ck_assert_msg(strstr(out, "notify-key-") == NULL && strstr(out, "smtp-password-") == NULL,
                  "%s", out);
    fixture_stop(&rcv);
    fixture_stop(&sink);
}
END_TEST

/* ---- notifications given up (API.md §11 "Notifications given up") ------------- */

/* The ticket's events of type, as an agent reads them (a JSON array the
 * caller puts). */
static struct json_object *
events_of(const char *ticket, const char *type)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s/events?limit=100", ticket),
                                   agent.token);
    sp_t_assert_status(r, 200);
    struct json_object *all = sp_t_jarr(r->json, "data"), *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        struct json_object *e = json_object_array_get_idx(all, i);
        if (strcmp(sp_t_jstr(e, "event_type"), type) == 0)
            json_object_array_add(out, json_object_get(e));
    }
    sp_t_resp_free(r);
    return out;
}

/* Asserts that events (of one type) hold one notification_failed event
 * whose metadata is exactly {channel, reason, outbox_id, event_type}. */
static void
assert_given_up_event(struct json_object *events, long long id, const char *channel,
                      const char *reason, const char *event_type)
{
    ck_assert_int_eq(json_object_array_length(events), 1);
    struct json_object *e = json_object_array_get_idx(events, 0);
    ck_assert_str_eq(sp_t_jstr(e, "actor_type"), "system");
    struct json_object *m = sp_t_jobj(e, "metadata");
    ck_assert_int_eq(json_object_object_length(m), 4);
    ck_assert_str_eq(sp_t_jstr(m, "channel"), channel);
    ck_assert_str_eq(sp_t_jstr(m, "reason"), reason);
    ck_assert_int_eq(sp_t_jint(m, "outbox_id"), id);
    ck_assert_str_eq(sp_t_jstr(m, "event_type"), event_type);
}

/* The admins' list with query; asserts 200 and returns the response. */
static struct sp_t_resp *
admin_list(const char *admin, const char *query)
{
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/admin/notifications?%s", query), admin);
    sp_t_assert_status(r, 200);
    return r;
}

/* A customer without an email address: their mail is skipped, and the
 * ticket's agents see it in its events (the ticket itself unchanged: no
 * new version, no webhook); the admins see it in their list. A staff
 * notification skipped on the same ticket, and a mail to someone other
 * than its customer, are no customer's: no event. */
START_TEST(a_skipped_mail_shows_on_the_ticket_and_in_the_admin_list)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *ticket = sp_t_ticket_create(&u, "No address to mail");
    /* what the create queued goes as sent: the skipped rows listed are ours */
    sp_t_sql("UPDATE support_outbox SET status = 'sent' WHERE status = 'pending'");
    long long id = atoll(sp_t_sql(
        "INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id, payload)"
        " SELECT 'notification', 'ticket.updated', 'email', customer_id, id, '{}'"
        " FROM support_tickets WHERE public_id = '%s' RETURNING id",
        ticket));
    long long staff = atoll(sp_t_sql(
        "INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id, payload)"
        " SELECT 'notification', 'ticket.assigned', 'agent', '999999999', id, '{}'"
        " FROM support_tickets WHERE public_id = '%s' RETURNING id",
        ticket));
    /* a mail on this ticket to someone else (no contact stored) */
    long long other = atoll(sp_t_sql(
        "INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id, payload)"
        " SELECT 'notification', 'ticket.updated', 'email', 'someone-else', id, '{}'"
        " FROM support_tickets WHERE public_id = '%s' RETURNING id",
        ticket));
    const char *before = sp_t_sql("SELECT version || ' ' || updated_at FROM support_tickets"
                                  " WHERE public_id = '%s'", ticket);
    const char *webhooks = sp_t_sql("SELECT count(*) FROM support_outbox o JOIN support_tickets"
                                    " t ON t.id = o.ticket_id WHERE t.public_id = '%s'"
                                    " AND o.kind = 'webhook'", ticket);
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_str_eq(row(id, "status"), "skipped");
    ck_assert_str_eq(row(staff, "status"), "skipped");
    ck_assert_str_eq(row(other, "last_error"), "no_contact");

    struct json_object *events = events_of(ticket, "notification_failed");
    assert_given_up_event(events, id, "email", "no_email", "ticket.updated");
    json_object_put(events);
    ck_assert_str_eq(sp_t_sql("SELECT version || ' ' || updated_at FROM support_tickets"
                              " WHERE public_id = '%s'", ticket), before);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_outbox o JOIN support_tickets"
                              " t ON t.id = o.ticket_id WHERE t.public_id = '%s'"
                              " AND o.kind = 'webhook'", ticket), webhooks);

    const char *admin = sp_t_admin_token();
    struct sp_t_resp *r = admin_list(admin, sp_t_fmt("status=skipped&ticket_id=%s",
                                                     sp_t_fmt("%c%s", ticket[0] | 0x20,
                                                              ticket + 1)));
    struct json_object *data = sp_t_jarr(r->json, "data");
    ck_assert_int_eq(json_object_array_length(data), 3);   /* newest first */
    struct json_object *n = json_object_array_get_idx(data, 2);
    ck_assert_int_eq(sp_t_jint(json_object_array_get_idx(data, 0), "id"), other);
    ck_assert_int_eq(sp_t_jint(json_object_array_get_idx(data, 1), "id"), staff);
    ck_assert_int_eq(sp_t_jint(n, "id"), id);
    ck_assert_str_eq(sp_t_jstr(n, "ticket_id"), ticket);
    ck_assert_str_eq(sp_t_jstr(n, "channel"), "email");
    ck_assert_str_eq(sp_t_jstr(n, "event_type"), "ticket.updated");
    ck_assert_str_eq(sp_t_jstr(n, "status"), "skipped");
    ck_assert_int_eq(sp_t_jint(n, "attempts"), 1);
    ck_assert_str_eq(sp_t_jstr(n, "last_error"), "no_email");
    ck_assert(json_object_is_type(sp_t_jget(n, "last_status_code"), json_type_null));
    ck_assert(json_object_is_type(sp_t_jget(n, "next_attempt_at"), json_type_null));
    ck_assert(json_object_is_type(sp_t_jget(n, "delivered_at"), json_type_null));
    ck_assert_int_eq(json_object_object_length(n), 11);   /* no recipient, no payload */
    sp_t_resp_free(r);
    /* one per page, then the cursor; other statuses are not listed */
    r = admin_list(admin, sp_t_fmt("status=skipped&ticket_id=%s&limit=1", ticket));
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r->json, "data")), 1);
    const char *cursor = sp_t_jstr(r->json, "next_cursor");
    struct sp_t_resp *r2 = admin_list(
        admin, sp_t_fmt("status=skipped&ticket_id=%s&limit=1&cursor=%s", ticket, cursor));
    ck_assert_int_eq(sp_t_jint(json_object_array_get_idx(sp_t_jarr(r2->json, "data"), 0), "id"),
                     staff);
    sp_t_resp_free(r2);
    sp_t_resp_free(r);
    r = admin_list(admin, sp_t_fmt("status=failed&ticket_id=%s", ticket));
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r->json, "data")), 0);
    sp_t_resp_free(r);
    fixture_stop(&sink);
}
END_TEST

/* A customer without a phone, notified by mail and SMS of one change:
 * the mail goes, the SMS is skipped (no_phone), and the ticket shows no
 * failure (QA: every demo ticket's timeline filled with no_phone beside
 * the mails sent). An SMS that was the change's only way to them still
 * shows. */
START_TEST(a_channel_skipped_beside_one_that_reached_the_customer_is_no_failure)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_claims();
    c.u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, c.u.sub,
                                  sp_t_fmt("{\"name\":%s,\"email\":%s}", sp_t_jq(c.name),
                                           sp_t_jq(c.email)));
    c = ticket_of(c);
    /* one change's rows: one statement, one created_at */
    const char *ids = sp_t_sql(
        "WITH i AS (INSERT INTO support_outbox (kind, event_type, channel, recipient, ticket_id,"
        " payload) VALUES ('notification', 'ticket.updated', 'email', '%s', %lld, '{}'),"
        " ('notification', 'ticket.updated', 'sms', '%s', %lld, '{}') RETURNING id, channel)"
        " SELECT string_agg(id::text, ' ' ORDER BY channel) FROM i",
        c.u.sub, c.ticket_id, c.u.sub, c.ticket_id);
    long long mail = atoll(ids), sms = atoll(strchr(ids, ' ') + 1);
    long long alone = last_chance(&c, "sms", "ticket.status_changed");
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_str_eq(row(mail, "status"), "sent");
    ck_assert_str_eq(row(sms, "status || ' ' || last_error"), "skipped no_phone");
    ck_assert_str_eq(row(alone, "status || ' ' || last_error"), "skipped no_phone");
    struct json_object *events = events_of(c.ticket, "notification_failed");
    assert_given_up_event(events, alone, "sms", "no_phone", "ticket.status_changed");
    json_object_put(events);
    fixture_stop(&sink);
}
END_TEST

/* A customer's mail the relay refuses (550) until its 24 h are spent is
 * failed, on the ticket's events; once the relay takes mail again an
 * admin's retry makes it pending with a new window, and the next pass
 * sends it. */
START_TEST(a_failed_mail_is_on_the_ticket_and_a_retry_sends_it)
{
    set_aside_other_rows();
    setenv("SMTP_SINK_REFUSE", "550", 1);
    struct fixture refusing = smtp_sink();
    unsetenv("SMTP_SINK_REFUSE");
    struct customer c = customer_with_ticket();
    long long id = last_chance(&c, "email", "ticket.status_changed");
    dispatch_once(dispatch_env(&refusing, NULL, NULL));
    ck_assert_str_eq(row(id, "status"), "failed");
    ck_assert_str_eq(row(id, "last_error"), "smtp_550");
    struct json_object *events = events_of(c.ticket, "notification_failed");
    assert_given_up_event(events, id, "email", "smtp_550", "ticket.status_changed");
    json_object_put(events);
    fixture_stop(&refusing);

    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    const char *path = sp_t_fmt("/support/admin/notifications/%lld/retry", id);
    const char *headers[] = {sp_t_fmt("Idempotency-Key: %s", sp_t_unique("retry")), NULL};
    struct sp_t_resp *r = sp_t_request("POST", path, admin.token, NULL, NULL, headers);
    sp_t_assert_status(r, 202);
    ck_assert_int_eq(sp_t_jint(r->json, "id"), id);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "pending");
    ck_assert_int_eq(sp_t_jint(r->json, "attempts"), 0);
    ck_assert(sp_t_jstr(r->json, "next_attempt_at") != NULL);
    /* the same key again: the first answer, nothing retried twice */
    struct sp_t_resp *again = sp_t_request("POST", path, admin.token, NULL, NULL, headers);
    sp_t_assert_status(again, 202);
    ck_assert_str_eq(sp_t_header(again, "Idempotent-Replayed"), "true");
    ck_assert_str_eq(again->body, r->body);
    sp_t_resp_free(again);
    sp_t_resp_free(r);
    ck_assert_str_eq(row(id, "created_at > now() - interval '1 minute'"), "t");
    events = events_of(c.ticket, "notification_retried");
    ck_assert_int_eq(json_object_array_length(events), 1);
    struct json_object *e = json_object_array_get_idx(events, 0);
    ck_assert_str_eq(sp_t_jstr(e, "actor_type"), "agent");
    ck_assert_str_eq(sp_t_jstr(e, "performed_by"), admin.sub);
    ck_assert_int_eq(json_object_object_length(sp_t_jobj(e, "metadata")), 1);
    ck_assert_int_eq(sp_t_jint(sp_t_jobj(e, "metadata"), "outbox_id"), id);
    json_object_put(events);
    /* pending now: not retried again */
    r = sp_t_request("POST", path, admin.token, NULL, NULL, NULL);
    sp_t_assert_problem(r, 409, "not_retryable");
    sp_t_resp_free(r);

    struct fixture sink = smtp_sink();
    dispatch_once(dispatch_env(&sink, NULL, NULL));
    ck_assert_str_eq(row(id, "status"), "sent");
    ck_assert_str_eq(row(id, "attempts"), "1");
    struct json_object *all = mails(&sink);
    ck_assert_int_eq(json_object_array_length(all), 1);
    json_object_put(all);
    /* sent: nothing to retry */
    r = sp_t_request("POST", path, admin.token, NULL, NULL, NULL);
    sp_t_assert_problem(r, 409, "not_retryable");
    sp_t_resp_free(r);
    events = events_of(c.ticket, "notification_failed");
    ck_assert_int_eq(json_object_array_length(events), 1);   /* the retry's send adds none */
    json_object_put(events);
    fixture_stop(&sink);
}
END_TEST

/* A retried row wakes a dispatcher in --loop at once (the outbox's
 * NOTIFY), not at its next sweep an hour later. */
START_TEST(a_retry_wakes_a_looping_dispatcher)
{
    set_aside_other_rows();
    struct fixture sink = smtp_sink();
    struct customer c = customer_with_ticket();
    long long id = notification(&c, "email", "ticket.updated", "{}");
    sp_t_sql("UPDATE support_outbox SET status = 'failed', last_error = 'smtp_550'"
             " WHERE id = %lld", id);
    struct sp_t_job j;
    const char *args[] = {"--loop", "--interval", "3600", NULL};
    sp_t_job_start(&j, JOB, dispatch_env(&sink, NULL, NULL), args);
    usleep(1000000);   /* listening, its first sweep done */
    struct sp_t_resp *r = sp_t_admin("POST", sp_t_fmt("/support/admin/notifications/%lld/retry",
                                                      id), NULL);
    sp_t_assert_status(r, 202);
    sp_t_resp_free(r);
    int64_t t0 = (int64_t)time(NULL);
    /* well inside the test's timeout, so a dispatcher left asleep fails here */
    while (strcmp(row(id, "status"), "sent") != 0 && time(NULL) - t0 < 30)
        usleep(100000);
    ck_assert_str_eq(row(id, "status"), "sent");
    kill(j.pid, SIGTERM);
    const char *out = NULL;
    ck_assert_int_eq(sp_t_job_wait(&j, &out), 0);
    fixture_stop(&sink);
}
END_TEST

/* What the admins' API refuses: an unknown id, a webhook row (no
 * notification), methods it does not have, bad filters and paging (one
 * 422 naming each). Who may call it: test_admin's roles test. */
START_TEST(the_notifications_api_refuses_what_it_cannot_do)
{
    const char *admin = sp_t_admin_token();
    struct sp_t_resp *r = sp_t_request("POST", "/support/admin/notifications/999999999/retry",
                                       admin, NULL, NULL, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    long long hook = atoll(sp_t_sql(
        "INSERT INTO support_outbox (kind, event_type, channel, payload, status, last_error)"
        " VALUES ('webhook', 'ticket.updated', 'webhook', '{}', 'skipped', 'no_subscriptions')"
        " RETURNING id"));
    r = sp_t_request("POST", sp_t_fmt("/support/admin/notifications/%lld/retry", hook), admin,
                     NULL, NULL, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    ck_assert_str_eq(row(hook, "status"), "skipped");
    const char *bad[] = {"status=bounced", "limit=0", "ticket_id=x%27", "ticket_id=00000000000I",
                         "cursor=nope"};
    const char *field[] = {"status", "limit", "ticket_id", "ticket_id", "cursor"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = sp_t_get(sp_t_fmt("/support/admin/notifications?%s", bad[i]), admin);
        sp_t_assert_problem(r, 422, "validation_failed");
        struct json_object *errors = sp_t_jarr(r->json, "errors");
        ck_assert_msg(json_object_array_length(errors) == 1, "%s", bad[i]);
        ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(errors, 0), "field"), field[i]);
        sp_t_resp_free(r);
    }
    /* methods the resources do not have: 405 naming the ones they do */
    r = sp_t_request("DELETE", "/support/admin/notifications", admin, NULL, NULL, NULL);
    sp_t_assert_problem(r, 405, "method_not_allowed");
    ck_assert_str_eq(sp_t_header(r, "Allow"), "GET, HEAD");
    sp_t_resp_free(r);
    r = sp_t_get("/support/admin/notifications/1/retry", admin);
    sp_t_assert_problem(r, 405, "method_not_allowed");
    ck_assert_str_eq(sp_t_header(r, "Allow"), "POST");
    sp_t_resp_free(r);
    /* both bad at once: both named */
    r = sp_t_get("/support/admin/notifications?status=bounced&limit=0", admin);
    sp_t_assert_problem(r, 422, "validation_failed");
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r->json, "errors")), 2);
    sp_t_resp_free(r);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = sp_t_tcase(s, "mail");
    tcase_add_test(tc, agent_replies_become_threaded_mails);
    tcase_add_test(tc, a_relay_that_never_answers_quit_holds_no_exit);
    tcase_add_test(tc, credentials_never_go_out_without_tls);
    tcase_add_test(tc, starttls_is_used_when_offered_unless_turned_off);
    tcase_add_test(tc, a_user_without_tls_is_a_bad_config);
    tcase_add_test(tc, a_relay_signed_by_a_private_ca_is_trusted_with_its_ca_file);
    tcase_add_test(tc, a_smtp_ca_file_that_is_no_certificate_is_a_bad_config);
    tcase_add_test(tc, a_relay_that_times_out_is_a_retry_without_a_status_code);
    tcase_add_test(tc, agent_reply_mails_name_the_files_attached);
    tcase_add_test(tc, agent_reply_mails_name_the_agent);
    tcase_add_test(tc, customer_reply_mails_to_the_agent_name_the_files_attached);
    tcase_add_test(tc, staff_mails_speak_to_staff_in_words);
    tcase_add_test(tc, a_chat_transfer_mails_staff_who_it_is_for_and_which_chat);
    tcase_add_test(tc, staff_notifications_link_the_agent_console);
    tcase_add_test(tc, customer_status_mails_name_the_status_in_words);
    tcase_add_test(tc, customer_mails_link_the_ticket_page);
    tcase_add_test(tc, a_reply_that_resolves_says_so_in_its_mail);
    tcase_add_test(tc, only_the_reply_that_resolved_says_so);
    tcase_add_test(tc, waiting_and_closed_mails_say_what_an_answer_does);
    tcase_add_test(tc, a_move_to_resolved_says_an_answer_reopens_it);
    tcase_add_test(tc, a_bounce_finds_the_row_behind_a_sealed_message_id);
    tcase_add_test(tc, a_hard_bounce_suppresses_the_address_until_mail_comes_from_it);
    tcase_add_test(tc, a_soft_bounce_does_not_suppress_the_address);
    tcase_add_test(tc, staff_see_a_suppressed_address_and_an_admin_lifts_it);
    tcase_add_test(tc, an_undone_status_move_is_not_mailed);
    tcase_add_test(tc, the_old_message_id_names_only_rows_sent_before_sealing);
    tcase_add_test(tc, an_answer_naming_only_our_sealed_message_id_joins_its_ticket);
    tcase_add_test(tc, our_mails_answer_the_customers_own_mail);
    tcase_add_test(tc, a_follow_ups_acknowledgement_carries_one_tag);
    tcase_add_test(tc, the_customers_resolve_tells_the_agent_by_mail);
    tcase_add_test(tc, a_new_ticket_is_acknowledged_by_mail);
    tcase_add_test(tc, a_name_with_line_breaks_greets_on_one_line);
    tcase_add_test(tc, customer_replies_by_mail_reach_the_ticket);
    tcase_add_test(tc, an_idn_customer_is_mailed_at_the_a_label_and_answers_in_any_form);
    tcase_add_test(tc, a_trailing_root_dot_is_neither_sent_nor_compared);
    tcase_add_test(tc, customer_without_email_or_keys_is_skipped);
    tc = sp_t_tcase(s, "retries");
    tcase_add_test(tc, sms_is_retried_with_backoff_after_500s_then_sent);
    tcase_add_test(tc, sms_goes_to_e164_numbers_only_and_is_short);
    tcase_add_test(tc, a_chats_escalation_reaches_the_customer_by_mail_and_sms);
    tcase_add_test(tc, an_escalation_about_a_booking_reaches_the_booking_service);
    tcase_add_test(tc, an_escalation_mail_names_the_reason_and_the_booking);
    tcase_add_test(tc, an_ai_usage_anomaly_reaches_the_admins);
    tcase_add_test(tc, gives_up_after_24_hours);
    tcase_add_test(tc, dry_run_sends_and_changes_nothing);
    tc = sp_t_tcase(s, "concurrency");
    tcase_add_test(tc, killed_dispatcher_redelivers_after_its_lease);
    tcase_add_test(tc, two_dispatchers_never_deliver_one_row_twice);
    tcase_add_test(tc, loop_wakes_on_notify_and_a_slow_destination_stalls_nothing_else);
    tc = sp_t_tcase(s, "stopping");
    tcase_add_loop_test(tc, sigterm_stops_webhook_senders_after_the_attempt_in_flight, 0, 2);
    tc = sp_t_tcase(s, "reload");
    tcase_add_test(tc, sighup_rotates_the_notify_key_and_the_smtp_password);
    tc = sp_t_tcase(s, "given up");
    tcase_add_test(tc, a_skipped_mail_shows_on_the_ticket_and_in_the_admin_list);
    tcase_add_test(tc, a_channel_skipped_beside_one_that_reached_the_customer_is_no_failure);
    tcase_add_test(tc, a_failed_mail_is_on_the_ticket_and_a_retry_sends_it);
    tcase_add_test(tc, a_retry_wakes_a_looping_dispatcher);
    tcase_add_test(tc, the_notifications_api_refuses_what_it_cannot_do);
    return sp_t_run(s);
}
