/*
 * support-mail-in: takes one customer mail in from the MTA (docs/API.md
 * §11 "Mail in", docs/operations.md "Mail in"): the message on standard
 * input, the envelope from --sender/--recipient or Postfix local(8)'s
 * SENDER and ORIGINAL_RECIPIENT. domain/mail_in does the work; this
 * program reads, parses and answers the MTA in sysexits codes, and the
 * reason of a refusal on standard error, which the MTA puts in the
 * bounce the sender gets:
 *   0 taken (or dropped on purpose: auto-replies, bounces, our own mail);
 *     its files kept as attachments, pending until support-scan's verdict;
 *     a delivery status notification: never a ticket or a reply, the
 *     customer's mail of ours it returns marked failed
 *   65 EX_DATAERR    not a mail, headers over 256 KiB, a From that could be read as
 *                    another (a NUL or bare CR in the headers, two Froms, two
 *                    mailboxes in From), no text of its own, too long to be a
 *                    message and to be kept whole as its file mail.txt
 *   67 EX_NOUSER     unknown reply address, unknown sender, a From our MTA
 *                    does not vouch for (SUPPORT_MAIL_AUTHSERV_ID)
 *   77 EX_NOPERM     not the ticket's customer, ambiguous sender
 *   75 EX_TEMPFAIL   database down, rate limited (the customer's ticket create or
 *                    reply limit, shared with the web): the MTA tries again
 *   78 EX_CONFIG     settings wrong, or the command line (also deferred by
 *                    Postfix: a typo in master.cf's argv must not bounce
 *                    customers' mail as EX_USAGE would)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/env_file.h"
#include "core/keyring.h"
#include "core/log.h"
#include "core/mail_parse.h"
#include "core/s3.h"
#include "db/db.h"
#include "domain/attachment_files.h"
#include "domain/mail_in.h"
#include "domain/reply_address.h"
#include "domain/rules.h"
#include "domain/store.h"

#define PROGRAM "support-mail-in"
/* Postfix's default message_size_limit is 10 MB; this is the mail as
 * piped, its files included. */
#define MAIL_MAX (64L * 1024 * 1024)

struct settings {
    struct sp_config cfg;
    struct sp_crypto *crypto;
    struct sp_keyring_keys *keys;
    struct sp_s3 s3;
    struct sp_attachment_files files;   /* where the mail's files are kept */
};

/* The synopsis: asked for with --help (stdout, 0), or after a usage
 * error (stderr, EX_CONFIG: the MTA defers the mail until the command
 * line is mended; EX_USAGE would bounce it to the customer — QA). */
static int
usage(FILE *out, int code)
{
    fprintf(out, "usage: " PROGRAM " [--env-file FILE] [--sender ADDR] [--recipient ADDR]"
                    " < message\n"
                    "  one mail on standard input; the envelope defaults to $SENDER and\n"
                    "  $ORIGINAL_RECIPIENT (Postfix local(8)). Settings: SUPPORT_DATABASE_URL,\n"
                    "  SUPPORT_ENCRYPTION_KEYS, SUPPORT_MAIL_FROM, SUPPORT_MAIL_REPLY_KEYS,\n"
                    "  SUPPORT_MAIL_NEW_TICKETS, SUPPORT_MAIL_AUTHSERV_ID,\n"
                    "  SUPPORT_TICKET_RATE_PER_MINUTE, SUPPORT_TICKET_RATE_PER_DAY,\n"
                    "  SUPPORT_TICKET_REPLY_RATE_PER_MINUTE (see support-api --help).\n"
                    "  --env-file F  the settings from F (NAME=value lines, read as systemd\n"
                    "                reads an EnvironmentFile=), over the environment's\n");
    return code;
}

static int
refuse(int code, const char *why)
{
    fprintf(stderr, PROGRAM ": %s\n", why);
    return code;
}

/* A setting refused: the JSON line for the logs and, on a terminal, the
 * plain one for whoever ran it by hand, as the other programs say it. */
static int
bad_config(const char *why)
{
    sp_log_bad_config(why);
    return EX_CONFIG;
}

/* Standard input, whole (malloc'ed, NUL-terminated): NULL when it is
 * larger than MAIL_MAX (or unreadable). */
static char *
read_mail(size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap);
    ssize_t got = 1;
    while (buf != NULL && n <= (size_t)MAIL_MAX && got > 0) {
        if (n + 1 >= cap) {
            char *more = realloc(buf, cap *= 2);
            if (more == NULL)
                break;
            buf = more;
        }
        got = read(STDIN_FILENO, buf + n, cap - n - 1);
        n += got > 0 ? (size_t)got : 0;
    }
    if (buf == NULL || got != 0 || n > (size_t)MAIL_MAX) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* SUPPORT_MAIL_AUTHSERV_ID, NULL when unset or empty. */
static const char *
authserv_id(const struct sp_config *cfg)
{
    return cfg->mail_authserv_id != NULL && *cfg->mail_authserv_id != '\0'
               ? cfg->mail_authserv_id
               : NULL;
}

/* Unset, nothing checks that From is who wrote the mail: taken only
 * when SUPPORT_MAIL_TRUST_FROM=1 says that is meant (a forgotten setting
 * must not open every ticket to whoever knows its customer's address),
 * and then said on every run (the program runs once per mail), so it
 * shows wherever the mail log is read. 0, or EX_CONFIG. */
static int
check_unverified(const struct sp_config *cfg)
{
    if (authserv_id(cfg) != NULL)
        return 0;
    if (!cfg->mail_trust_from)
        return bad_config("SUPPORT_MAIL_AUTHSERV_ID is not set: set it to the authserv-id of"
                          " the MTA's Authentication-Results headers, or set"
                          " SUPPORT_MAIL_TRUST_FROM=1 to take a mail's From as written");
    struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, "mail_in_from_unverified");
    sp_log_str(l, "hint", "SUPPORT_MAIL_AUTHSERV_ID is not set: the From of a mail is taken"
                          " as written, so anyone who knows a customer's address can write"
                          " as them; set it to the authserv-id of the MTA's"
                          " Authentication-Results headers");
    sp_log_end(l);
    return 0;
}

static int
load(struct settings *s, const char *env_file)
{
    char err[512];
    /* The file first, as the jobs read it: a refused one sets nothing and
     * names the file and line, never the line's text (EX_CONFIG: the MTA
     * defers the mail until it is mended). */
    if (env_file != NULL && !sp_env_file_load(env_file, err, sizeof(err)))
        return bad_config(err);
    if (!sp_config_load(&s->cfg, err, sizeof(err)))
        return bad_config(err);
    if (!sp_db_check_settings(&s->cfg, err, sizeof(err)))
        return bad_config(err);
    if (s->cfg.encryption_keys == NULL || *s->cfg.encryption_keys == '\0')
        return bad_config("SUPPORT_ENCRYPTION_KEYS is not set: senders are known by"
                                 " their stored email, which needs the keys");
    s->crypto = sp_crypto_new(s->cfg.encryption_keys, s->cfg.pii_index_key, err, sizeof(err));
    if (s->crypto == NULL)
        return bad_config(err);
    s->keys = sp_reply_keys_load(s->cfg.mail_reply_keys, s->cfg.mail_from, err,
                                  sizeof(err));
    if (s->keys == NULL && err[0] != '\0')
        return bad_config(err);
    if (!sp_attachment_files_from_config(&s->cfg, &s->s3, &s->files, err, sizeof(err)))
        return bad_config(err);
    return check_unverified(&s->cfg);
}

/* The exit code of a refusal, by its kind. */
static int
exit_code(const struct sp_problem *p)
{
    switch (p->rc) {
    case SP_INVALID:
        return EX_DATAERR;
    case SP_NOT_FOUND:
        return EX_NOUSER;
    case SP_FORBIDDEN:
        return EX_NOPERM;
    case SP_CONFLICT:
        return p->code != NULL && strcmp(p->code, "ticket_closed") == 0 ? EX_TEMPFAIL
                                                                       : EX_NOPERM;
    default:
        return EX_TEMPFAIL;
    }
}

static void
log_take(const struct sp_mail_in_result *r, const struct sp_problem *p, size_t bytes)
{
    struct sp_log_line *l = sp_log_begin(p->rc == SP_OK ? SP_LOG_INFO : SP_LOG_WARN, "mail_in");
    sp_log_int(l, "bytes", (long long)bytes);
    if (p->rc == SP_OK) {
        sp_log_str(l, "outcome", sp_mail_in_outcome_name(r->outcome));
        sp_log_str(l, "ticket", r->ticket);
        sp_log_int(l, "files", (long long)r->files);
        sp_log_str(l, "why", r->why);
        sp_log_str(l, "via", r->via);
        if (r->outbox_id > 0)
            sp_log_int(l, "outbox_id", r->outbox_id);
        if (r->suppressed)
            sp_log_str(l, "address", "suppressed");
    } else {
        sp_log_str(l, "refused", p->code != NULL ? p->code : "error");
        if (r->why != NULL)
            sp_log_str(l, "why", r->why);
    }
    if (r->sender_auth != NULL)
        sp_log_str(l, "sender_auth", r->sender_auth);
    sp_log_end(l);
}

static int
take(struct settings *s, struct sp_arena *a, const struct sp_mail_envelope *e, const char *raw,
     size_t len)
{
    struct sp_problem p;
    sp_problem_init(&p);
    struct sp_mail_in m;
    if (sp_mail_parse(a, raw, len, &m, &p) != SP_OK) {
        log_take(&(struct sp_mail_in_result){.why = m.refused_why}, &p, len);
        return refuse(EX_DATAERR, p.detail);
    }
    struct sp_mail_envelope env = *e;
    env.digest = sp_mail_in_digest(a, &m, raw, len);
    struct sp_db db;
    /* Bounded as the jobs' (sp_store_init): a database that accepts and
     * never answers defers the mail (75) rather than holding the MTA's
     * pipe open until its own timeout. */
    sp_store_init(&db, s->cfg.database_url, "SUPPORT_DATABASE_URL", s->cfg.db_statement_timeout_ms);
    struct sp_rules_cache *rules = sp_rules_cache_new();
    struct sp_ctx ctx = {.arena = a, .db = &db, .rules = rules,
                         .agent_max_open = s->cfg.agent_max_open_tickets,
                         .customer_channels = s->cfg.customer_channels};
    const struct sp_mail_in_env in = {
        .crypto = s->crypto, .reply_keys = s->keys, .own_address = s->cfg.mail_from,
        .new_tickets = s->cfg.mail_new_tickets != 0,
        .ticket_limits = {{60, s->cfg.ticket_rate_per_minute},
                          {86400, s->cfg.ticket_rate_per_day}},
        .reply_limit = {60, s->cfg.ticket_reply_rate_per_minute},
        .files = &s->files, .attachment_types = s->cfg.attachment_types,
        .authserv_id = authserv_id(&s->cfg),
    };
    struct sp_mail_in_result r;
    enum sp_rc rc = sp_mail_in_take(&ctx, &in, &env, &m, &r, &p);
    log_take(&r, &p, len);
    sp_rules_cache_free(rules);
    sp_db_close(&db);
    return rc == SP_OK ? 0 : refuse(exit_code(&p), p.detail);
}

int
main(int argc, char **argv)
{
    struct sp_mail_envelope e = {getenv("SENDER"), getenv("ORIGINAL_RECIPIENT"), NULL};
    const char *env_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc)
            env_file = argv[++i];
        else if (strcmp(argv[i], "--sender") == 0 && i + 1 < argc)
            e.sender = argv[++i];
        else if (strcmp(argv[i], "--recipient") == 0 && i + 1 < argc)
            e.recipient = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, 0);
        else
            return usage(stderr, EX_CONFIG);
    }
    sp_log_set_program(PROGRAM);
    struct settings s = {0};
    int code = load(&s, env_file);
    if (code == 0) {
        struct sp_arena a;
        sp_arena_init(&a, 1 << 20);
        size_t len = 0;
        char *raw = read_mail(&len);
        code = raw == NULL ? refuse(EX_DATAERR, "the mail is unreadable or larger than 64 MiB")
                           : take(&s, &a, &e, raw, len);
        free(raw);
        sp_arena_destroy(&a);
    }
    sp_keyring_keys_destroy(s.keys);
    sp_crypto_free(s.crypto);
    sp_config_free(&s.cfg);
    return code;
}
