/*
 * mail_in: a customer's mail made a reply or a ticket (see the header).
 */
#include "domain/mail_in.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/auth_results.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/mail_reply.h"
#include "core/mime.h"
#include "core/sanitize.h"
#include "core/tier.h"
#include "core/utf8.h"
#include "db/db.h"
#include "domain/attachments.h"
#include "domain/idempotency.h"
#include "domain/mail_bounce.h"
#include "domain/mail_thread.h"
#include "domain/reply_address.h"
#include "domain/ticket_subject.h"
#include "domain/tickets.h"

/* The ticket a reply address names, and whose mail may speak for it. */
/* With what a follow-up of a closed ticket carries on: its category
 * while still offered, and its agent. */
enum { OWNER_CUSTOMER, OWNER_EMAIL_INDEX, OWNER_STATUS, OWNER_TIER, OWNER_CATEGORY, OWNER_AGENT };
#define OWNER_SELECT                                                                       \
    "SELECT t.customer_id, ct.email_index, t.status, coalesce(ct.tier, 'standard'),"      \
    " CASE WHEN c.is_active THEN c.slug END, coalesce(t.assigned_agent_id, 0)"            \
    " FROM support_tickets t LEFT JOIN support_contacts ct ON ct.customer_id = t.customer_id" \
    " LEFT JOIN support_categories c ON c.id = t.category_id WHERE t.public_id = $1"
static struct sp_stmt owner_stmt = SP_STMT_READ("mail_in_ticket_owner", OWNER_SELECT, 1);
/* The same row locked, inside the take: the thread's follow-up is
 * decided under it (thread_tip). */
static struct sp_stmt owner_lock_stmt =
    SP_STMT("mail_in_ticket_lock", OWNER_SELECT " FOR UPDATE OF t", 1);

/* Where the thread of ticket $1 goes on: from a closed ticket to its
 * newest follow-up (of its own customer), as long as that is closed too;
 * the last one reached (its public id). */
static struct sp_stmt thread_tip_stmt = SP_STMT(
    "mail_in_thread_tip",
    "WITH RECURSIVE chain (id, public_id, customer_id, status, depth) AS ("
    "  SELECT id, public_id, customer_id, status, 0 FROM support_tickets WHERE public_id = $1"
    "  UNION ALL"
    "  SELECT f.id, f.public_id, f.customer_id, f.status, c.depth + 1 FROM chain c"
    "  CROSS JOIN LATERAL (SELECT id, public_id, customer_id, status FROM support_tickets"
    "    WHERE follow_up_of = c.id AND customer_id = c.customer_id ORDER BY id DESC LIMIT 1) f"
    "  WHERE c.status = 'closed' AND c.depth < 100"
    ") SELECT public_id FROM chain ORDER BY depth DESC LIMIT 1",
    1);

/* The newest follow-up of closed ticket $1, read after its lock: one
 * that the take which held the lock before us opened. */
static struct sp_stmt follow_up_stmt = SP_STMT(
    "mail_in_follow_up",
    "SELECT f.public_id FROM support_tickets t JOIN support_tickets f"
    " ON f.follow_up_of = t.id AND f.customer_id = t.customer_id"
    " WHERE t.public_id = $1 ORDER BY f.id DESC LIMIT 1",
    1);

/* Ticket $1 is the follow-up of ticket $2 (support_tickets.follow_up_of,
 * sql/065: at most one not closed). */
static struct sp_stmt follow_up_link_stmt = SP_STMT(
    "mail_in_follow_up_link",
    "UPDATE support_tickets SET follow_up_of = (SELECT id FROM support_tickets"
    " WHERE public_id = $2) WHERE public_id = $1",
    2);

/* The customers whose stored email is the sender's, by any of its
 * indexes, $1 (sp_crypto_email_indexes; two say: ambiguous). */
enum { SENDER_CUSTOMER, SENDER_TIER };
static struct sp_stmt sender_stmt = SP_STMT_READ(
    "mail_in_sender",
    "SELECT customer_id, tier FROM support_contacts WHERE email_index = ANY ($1::text[])"
    " ORDER BY customer_id LIMIT 2",
    1);

/* s[0..n) with its line ends made LF (CRLF, and a CR alone); s itself
 * when it has no CR. */
static const char *
lf_line_ends(struct sp_arena *a, const char *s, size_t n, size_t *out_len)
{
    *out_len = n;
    if (memchr(s, '\r', n) == NULL)
        return s;
    char *o = sp_arena_alloc(a, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\r')
            o[k++] = s[i];
        else if (i + 1 == n || s[i + 1] != '\n')
            o[k++] = '\n';
    }
    *out_len = k;
    return o;
}

/* A repeat must be the same mail, not only the same Message-ID (a mail
 * program may reuse one): the Message-ID, the subject and the body's
 * bytes, its line ends made LF (QA: the same mail piped once with LF and
 * once with CRLF line ends, as MTAs and programs that resend it differ,
 * made two tickets). Not the header block, which the MTA writes anew for
 * each delivery (Received, Delivered-To, Return-Path): the same mail
 * sent to two of our addresses has the same digest. A mail without a
 * Message-ID is known by what its sender wrote instead: From, Date,
 * subject and body (a sender who writes the same text again, with no
 * Date either, is taken once). The body is hashed on its own first, so
 * it is copied at most once (when it has a CR). */
const char *
sp_mail_in_digest(struct sp_arena *a, const struct sp_mail_in *m, const char *raw, size_t len)
{
    size_t off = m->body_offset <= len ? m->body_offset : len, n;
    const char *lf = lf_line_ends(a, raw + off, len - off, &n);
    const char *body = sp_crypto_sha256_hex(a, lf, n);
    const char *id =
        m->message_id != NULL
            ? sp_arena_sprintf(a, "%s\n%s\n%s", m->message_id, m->subject, body ? body : "")
            : sp_arena_sprintf(a, "no-message-id\n%s\n%s\n%s\n%s", m->from_addr,
                               m->date ? m->date : "", m->subject, body ? body : "");
    return sp_crypto_sha256_hex(a, id, strlen(id));
}

const char *
sp_mail_in_outcome_name(enum sp_mail_in_outcome o)
{
    static const char *const names[] = {"reply",     "ticket",  "follow_up",
                                        "duplicate", "ignored", "bounce"};
    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "unknown";
}

/* Mail no person wrote, or that we wrote: answering it would loop. */
static const char *
ignored(const struct sp_mail_in_env *env, const struct sp_mail_envelope *e,
        const struct sp_mail_in *m)
{
    if (e->sender != NULL && (e->sender[0] == '\0' || strcmp(e->sender, "<>") == 0))
        return "bounce";
    /* no --sender: the Return-Path the delivering MTA wrote says it */
    if (e->sender == NULL && m->null_return_path)
        return "bounce";
    if (m->auto_reply)
        return "auto_reply";
    if (strcasecmp(m->from_addr, env->own_address) == 0 ||
        sp_reply_address_looks_signed(m->from_addr))
        return "own_address";
    return NULL;
}

/* The ticket a signed reply address among the recipients names; NULL
 * when none does, *bad when one looks signed but none verifies (altered,
 * or signed by a key since dropped). */
static const char *
reply_ticket(struct sp_arena *a, const struct sp_mail_in_env *env,
             const struct sp_mail_envelope *e, const struct sp_mail_in *m, bool *bad)
{
    *bad = false;
    char id[SP_PUBLIC_ID_LEN + 1];
    for (size_t i = 0; i <= m->nrecipients; i++) {
        const char *to = i == 0 ? e->recipient : m->recipients[i - 1];
        if (to == NULL || !sp_reply_address_looks_signed(to))
            continue;
        *bad = true;
        if (sp_reply_address_ticket(env->reply_keys, to, id))
            return sp_arena_strdup(a, id);
    }
    return NULL;
}

/* With an authserv-id: whether our MTA vouches for From (out->sender_auth
 * says what it said). A mail it does not vouch for is refused as one
 * from an unknown sender is (67: bounced), before anything is looked up,
 * so a forged From learns nothing about tickets or customers. */
static enum sp_rc
check_sender(struct sp_arena *a, const struct sp_mail_in_env *env, const struct sp_mail_in *m,
             struct sp_mail_in_result *out, struct sp_problem *p)
{
    if (env->authserv_id == NULL)
        return SP_OK;
    enum sp_auth_verdict v = sp_auth_results_verdict(
        a, m->auth_results, m->nauth_results, env->authserv_id, m->from_addr);
    out->sender_auth = sp_auth_verdict_name(v);
    if (sp_auth_verdict_trusted(v))
        return SP_OK;
    return sp_problem_set(p, SP_NOT_FOUND, "unverified_sender",
                          "we could not verify that this mail comes from the domain of its"
                          " From address (DMARC, DKIM or SPF): write from your account's"
                          " address through its own provider, or open a ticket on the help"
                          " pages");
}

static enum sp_rc
bad_reply_address(const struct sp_mail_in_env *env, struct sp_problem *p)
{
    return sp_problem_set(p, SP_NOT_FOUND, "unknown_reply_address",
                          "the reply address is not one of ours, or it was altered: reply to"
                          " the ticket's latest mail, or write to %s", env->own_address);
}

/* The tickets a mail without a (valid) reply address names: its
 * references to our thread ids first (nrefs of them), then its
 * subject's tags (domain/mail_thread). */
struct thread {
    char ids[SP_MAIL_THREAD_MAX][SP_PUBLIC_ID_LEN + 1];
    size_t n, nrefs;
    bool bad_address;   /* a reply address that did not verify */
};

/* The ticket of the outbox row one of our mails was (its Message-ID,
 * domain/mail_thread; $2: named by the old guessable form, which only a
 * row sent before the sealing answers to). */
static struct sp_stmt outbox_ticket_stmt = SP_STMT_READ(
    "mail_in_outbox_ticket",
    "SELECT t.public_id FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id"
    " WHERE o.id = $1::bigint AND (NOT $2::boolean OR " SP_MAIL_THREAD_SENT_UNSEALED("o") ")",
    2);

/* The ticket of our mail that m's In-Reply-To, else its References
 * (newest first), name by its sealed Message-ID, into id; false when none
 * does (or its row is gone). For a mail program that sends In-Reply-To
 * alone, without our thread id in References (QA: a new ticket). */
static bool
sealed_thread(struct sp_ctx *ctx, const struct sp_mail_in_env *env, const struct sp_mail_in *m,
              const char *domain, char id[SP_PUBLIC_ID_LEN + 1])
{
    struct sp_token_key key;
    long long row = 0;
    if (domain == NULL || !sp_mail_thread_key(env->crypto, &key))
        return false;
    bool legacy = false;
    bool named = sp_mail_thread_outbox(m->in_reply_to, domain, &key, &row, &legacy);
    for (size_t i = m->nreferences; !named && i > 0; i--)
        named = sp_mail_thread_outbox(m->references[i - 1], domain, &key, &row, &legacy);
    explicit_bzero(&key, sizeof(key));
    if (!named)
        return false;
    struct sp_problem p;
    sp_problem_init(&p);
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", row), legacy ? "true" : "false"};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &outbox_ticket_stmt, params, &p);
    if (r == NULL || PQntuples(r) != 1)
        return false;   /* a failed read is logged by db/; the mail is taken as unthreaded */
    snprintf(id, SP_PUBLIC_ID_LEN + 1, "%s", sp_db_str(r, 0, 0));
    return true;
}

static void
find_thread(struct sp_ctx *ctx, const struct sp_mail_in_env *env, const struct sp_mail_in *m,
            struct thread *th)
{
    const char *at = env->own_address != NULL ? strrchr(env->own_address, '@') : NULL;
    const char *domain = at != NULL ? at + 1 : NULL;
    const char *const *refs = m->references;
    th->nrefs = sp_mail_thread_tickets(m->in_reply_to, refs, m->nreferences, NULL, domain,
                                       th->ids, SP_MAIL_THREAD_MAX);
    /* No thread id of ours among the references: one of our sealed
     * Message-IDs counts as a reference to its ticket, before the
     * subject's tags. */
    size_t sealed = th->nrefs == 0 && sealed_thread(ctx, env, m, domain, th->ids[0]) ? 1 : 0;
    th->n = sealed + sp_mail_thread_tickets(m->in_reply_to, refs, m->nreferences, m->subject,
                                            domain, th->ids + sealed, SP_MAIL_THREAD_MAX - sealed);
    th->nrefs += sealed;
}

/* ---- the mail's files ----------------------------------------------------- */

#define LEFT_OUT_NAMED 5   /* files not taken in named one by one; the rest counted */

/* A file of the mail to keep, and as what. */
struct kept_file {
    const char *name, *type;
    const struct sp_mail_file *file;
};

struct files_plan {
    struct kept_file keep[SP_ATTACHMENTS_PER_MESSAGE];
    size_t nkeep;
    const char *left_out;   /* for the agent: the files not taken in and why; NULL: none */
};

/* The name of a file the mail names badly or not at all (an inline
 * image often has none): "attachment-2.png". */
static const char *
default_name(struct sp_arena *a, size_t i, const char *type)
{
    const char *sub = type != NULL ? strchr(type, '/') : NULL;
    const char *ext = sub != NULL ? sub + 1 : "";
    if (type != NULL && strcmp(type, "image/jpeg") == 0)
        ext = "jpg";
    else if (type != NULL && strcmp(type, "text/plain") == 0)
        ext = "txt";
    size_t n = strlen(ext);
    if (n == 0 || n > 8 || strspn(ext, "abcdefghijklmnopqrstuvwxyz0123456789") != n)
        return sp_arena_sprintf(a, "attachment-%zu", i + 1);   /* no extension we can tell */
    return sp_arena_sprintf(a, "attachment-%zu.%s", i + 1, ext);
}

/* Why file f cannot be kept (NULL: it can, as *type). */
static const char *
refusal(struct sp_ctx *ctx, const struct sp_mail_in_env *env, const struct files_plan *plan,
        const struct sp_mail_file *f, const char **type)
{
    *type = NULL;
    if (env->files == NULL)
        return "files are not kept";
    if (f->len == 0)
        return "empty";
    if (f->len > (size_t)SP_ATTACHMENT_MAX_BYTES)
        return "over 25 MiB";
    if (plan->nkeep == SP_ATTACHMENTS_PER_MESSAGE)
        return "more than 10 files";
    *type = sp_attachment_type_for(ctx, env->attachment_types, f->content_type, f->data, f->len);
    return *type == NULL ? "type not accepted" : NULL;
}

/* Decided before the transaction, from the mail alone: which files are
 * kept, and the words for the others, so the message's text is known
 * (and checked) before anything is written. */
static void
plan_files(struct sp_ctx *ctx, const struct sp_mail_in_env *env, const struct sp_mail_in *m,
           struct files_plan *plan)
{
    struct sp_buf b;
    sp_buf_init(&b, ctx->arena, 128);
    size_t left = 0;
    plan->nkeep = 0;
    for (size_t i = 0; i < m->nfiles; i++) {
        const struct sp_mail_file *f = &m->files[i];
        const char *type, *why = refusal(ctx, env, plan, f, &type);
        const char *name =
            f->filename != NULL ? sp_attachment_filename_trim(ctx->arena, f->filename) : NULL;
        if (name == NULL || !sp_attachment_filename_ok(name))
            name = default_name(ctx->arena, i, type);
        if (why == NULL)
            plan->keep[plan->nkeep++] = (struct kept_file){name, type, f};
        else if (left++ < LEFT_OUT_NAMED)
            sp_buf_printf(&b, "%s%s (%s)", b.len > 0 ? "; " : "", name, why);
    }
    size_t named = left < LEFT_OUT_NAMED ? left : LEFT_OUT_NAMED;
    left += m->nfiles_over;   /* after the parts the parser reads one by one */
    if (left > named)
        sp_buf_printf(&b, named > 0 ? "; and %zu more" : "%zu files", left - named);
    plan->left_out = left > 0 ? b.data : NULL;
}

/* Inside the take's transaction: the planned files kept, as uploads of
 * the customer; ids[] their attachment ids. */
static enum sp_rc
keep_files(struct sp_ctx *ctx, const struct sp_mail_in_env *env, const struct files_plan *plan,
           const char *customer, const char **ids, struct sp_problem *p)
{
    for (size_t i = 0; i < plan->nkeep; i++) {
        const struct kept_file *k = &plan->keep[i];
        struct sp_attachment_new in = {.owner_sub = customer, .owner_role = "customer",
                                       .filename = k->name, .content_type = k->type,
                                       .allowed_types = env->attachment_types};
        struct sp_attachment row;
        if (sp_attachment_keep_bytes(ctx, env->files, &in, k->file->data, k->file->len, &row,
                                     p) != SP_OK)
            return p->rc;
        ids[i] = row.id;
    }
    return SP_OK;
}

/* ---- the text ------------------------------------------------------------- */

/* The words of the mail: a reply's without the history it quotes of our
 * mails (a reply that forwards keeps what it forwards), a first mail's
 * all of them (core/mail_reply; from HTML, with what its markup quotes
 * too). A reply that forwards reads its HTML with the quoted markup
 * too, as text like the rest: Gmail wraps a forward in a gmail_quote,
 * and the cut keeps the forward from its marker on, as in plain text. A
 * mail without words of its own but with a mail attached whole (a
 * forward as attachment) gives that mail's text. */
static const char *
mail_text(struct sp_arena *a, const struct sp_mail_in *m, bool reply)
{
    enum sp_mail_kind kind = !reply ? SP_MAIL_FIRST
                             : sp_mail_reply_forward_subject(m->subject) ? SP_MAIL_REPLY_FORWARD
                                                                         : SP_MAIL_REPLY;
    const char *text =
        sp_mail_reply_cut(a, kind == SP_MAIL_REPLY ? m->text : m->text_whole, kind);
    return *text == '\0' && m->attached_text != NULL ? m->attached_text : text;
}

/* The name of a long mail's whole text, kept as a file of its message. */
#define WHOLE_TEXT_NAME "mail.txt"

/* A mail's text longer than a message may be (QA: a new mail with a
 * forwarded booking thread of 26,269 characters bounced as too long),
 * kept whole as the file mail.txt of its message, as Zendesk and Zammad
 * keep such mails, when the files' rules let it be one (refusal()):
 * the message gets the text's head. NULL when it can; else why not. */
static const char *
keep_whole_text(struct sp_ctx *ctx, const struct sp_mail_in_env *env, struct files_plan *plan,
                const char *text)
{
    struct sp_mail_file *f = sp_arena_alloc(ctx->arena, sizeof(*f));
    *f = (struct sp_mail_file){.filename = WHOLE_TEXT_NAME, .content_type = "text/plain",
                               .data = text, .len = strlen(text)};
    const char *type, *why = refusal(ctx, env, plan, f, &type);
    if (why == NULL)
        plan->keep[plan->nkeep++] = (struct kept_file){WHOLE_TEXT_NAME, type, f};
    return why;
}

/* The body of a text too long for a message: its head, cut at a
 * paragraph's or line's end, the word that the rest is in mail.txt and
 * then note (files not taken in). NULL with the problem when the text
 * cannot be a file. */
static const char *
head_html(struct sp_ctx *ctx, const struct sp_mail_in_env *env, struct files_plan *plan,
          const char *text, const char *note, struct sp_problem *p)
{
    struct sp_arena *a = ctx->arena;
    size_t kept;
    const char *why = NULL, *html = sp_sanitize_text_to_html_lines_fit(
                                a, text, "\n\n[the rest of this mail is attached as "
                                WHOLE_TEXT_NAME "]", note, SP_TICKET_BODY_MAX, &kept);
    if (html != NULL && kept < strlen(text))
        why = keep_whole_text(ctx, env, plan, text);
    if (why != NULL) {
        sp_problem_set(p, SP_INVALID, "too_long",
                       "the mail's text is longer than a message may be (%d characters, each"
                       " line break and each <, > or & counting as several) and cannot be"
                       " kept as the file " WHOLE_TEXT_NAME " (%s): shorten it, or attach"
                       " the rest on the ticket page", SP_TICKET_BODY_MAX, why);
        return NULL;
    }
    html = html != NULL ? sp_sanitize_body(a, html, strlen(html), SP_TICKET_BODY_MAX, &why) : NULL;
    if (html == NULL)
        sp_problem_set(p, SP_INVALID, "too_long", "the mail's text is longer than %d characters",
                       SP_TICKET_BODY_MAX);
    return html;
}

/* The message body: the words of the mail (mail_text) as safe HTML,
 * with a word for the agent about files not taken in; a text too long
 * for a message, its head (head_html). */
static const char *
body_html(struct sp_ctx *ctx, const struct sp_mail_in_env *env, const struct sp_mail_in *m,
          struct files_plan *plan, bool reply, struct sp_problem *p)
{
    struct sp_arena *a = ctx->arena;
    const char *text = mail_text(a, m, reply);
    if (*text == '\0' && plan->nkeep > 0)
        text = "[The mail has no text, only the files attached.]";
    const char *note = plan->left_out == NULL ? ""
                       : sp_arena_sprintf(a, "%s[Files of this mail not taken in: %s]",
                                          *text ? "\n\n" : "", plan->left_out);
    const char *whole = sp_arena_sprintf(a, "%s%s", text, note);
    const char *html = sp_sanitize_text_to_html(a, whole, strlen(whole));
    const char *why;
    html = sp_sanitize_body(a, html, strlen(html), SP_TICKET_BODY_MAX, &why);
    if (html == NULL && strcmp(why, "empty") == 0)
        sp_problem_set(p, SP_INVALID, "empty",
                       "the mail has no text of its own (only quoted text, or none)%s",
                       reply ? ": write your reply above the line \"" SP_MAIL_REPLY_MARKER "\""
                             : "");
    else if (html == NULL)   /* QA: 4,000 short lines of a pasted log too */
        html = head_html(ctx, env, plan, text, note, p);
    return html;
}

/* The subject of a ticket a mail opens: one line of visible text, as
 * the API's (domain/ticket_subject), at most SP_TICKET_SUBJECT_MAX
 * characters; "(no subject)" when nothing visible is left. */
static const char *
subject_of(struct sp_arena *a, const char *s)
{
    s = sp_ticket_subject_of_text(a, s, SP_TICKET_SUBJECT_MAX);
    return s != NULL ? s : "(no subject)";
}

/* ---- the command ---------------------------------------------------------- */

struct take {
    struct sp_ctx *ctx;
    const struct sp_mail_in_env *env;
    const struct sp_mail_in *mail;
    const struct files_plan *files;
    /* The sender's email blind indexes: the canonical one and those a
     * contact stored before it may still hold (sp_crypto_email_indexes). */
    const char *from[SP_CRYPTO_EMAIL_INDEXES];
    size_t nfrom;
    const char *customer;
    /* An answer: the ticket answered, whose thread (thread_tip) gets the
     * mail; NULL: a new ticket (create). */
    const char *ticket;
    const char *follow_up_of;       /* create is a follow-up of this closed ticket */
    struct sp_ticket_new create;
    const char *body;
    const char *made;               /* out: the ticket's public id */
    const char *limited;            /* out: the limit that refused it (its bucket's kind) */
};

/* The mail counts against one of the customer's limits (API.md §1) in
 * the web's own bucket <kind>:<customer>, so the web and mail share one
 * count; inside the take, so a mail the MTA delivers again is answered
 * as a duplicate without counting, and a refused one counts nothing:
 * the MTA tries again later (75). */
static enum sp_rc
count_against(struct sp_ctx *ctx, struct take *t, const char *kind,
              const struct sp_rate_window *w, int nw, const char *what, struct sp_problem *p)
{
    struct sp_rate_result rate;
    if (sp_rate_hit(ctx, sp_arena_sprintf(ctx->arena, "%s:%s", kind, t->customer), w, nw,
                    &rate, p) != SP_OK)
        return p->rc;
    if (rate.allowed)
        return SP_OK;
    t->limited = kind;
    return sp_problem_set(p, SP_RATE_LIMITED, "rate_limited", "too many %s: try again in %ld s",
                          what, rate.reset_seconds);
}

/* A new ticket: the ticket create limits. */
static enum sp_rc
count_new_ticket(struct sp_ctx *ctx, struct take *t, struct sp_problem *p)
{
    return count_against(ctx, t, "ticket_create", t->env->ticket_limits, 2, "new tickets", p);
}

/* An answer on a ticket: the reply limit, all of the customer's tickets
 * together (QA: 40 mails in 14 s were 40 replies, and 40 mails to the
 * agent). One that opens a follow-up counts as a new ticket too. */
static enum sp_rc
count_reply(struct sp_ctx *ctx, struct take *t, struct sp_problem *p)
{
    return count_against(ctx, t, "ticket_reply", &t->env->reply_limit, 1, "replies", p);
}

static void open_ticket(struct take *t, const char *tier, const char *follow_up_of,
                        const PGresult *of);

/* Inside the take: the ticket of t->ticket's thread that gets the mail,
 * its lock held until the commit. A ticket not closed gets it as a
 * reply. A closed one passes it on to its newest follow-up (of its own
 * customer) while that one is closed too (thread_tip_stmt); the last
 * closed one reached is locked, and without a follow-up after the lock
 * (a take that held it first may have opened one: a statement of its
 * own sees it) gets a follow-up made (t->create). Locks are taken from a
 * thread's first ticket towards its follow-ups, so two takes never wait
 * for each other in a circle. */
static enum sp_rc
thread_tip(struct take *t, struct sp_problem *p)
{
    struct sp_arena *a = t->ctx->arena;
    const char *id = t->ticket;
    for (int round = 0; round < 8; round++) {
        const char *params[1] = {id};
        PGresult *r = sp_db_exec(t->ctx->db, a, &thread_tip_stmt, params, p);
        if (sp_db_found(r, "ticket", p) != SP_OK)
            return p->rc;
        params[0] = id = sp_db_str(r, 0, 0);
        r = sp_db_exec(t->ctx->db, a, &owner_lock_stmt, params, p);
        if (sp_db_found(r, "ticket", p) != SP_OK)
            return p->rc;
        if (strcmp(sp_db_str(r, 0, OWNER_STATUS), "closed") != 0) {
            t->ticket = id;
            return SP_OK;
        }
        PGresult *f = sp_db_exec(t->ctx->db, a, &follow_up_stmt, params, p);
        if (f == NULL)
            return p->rc;
        if (PQntuples(f) == 0) {
            open_ticket(t, sp_db_str(r, 0, OWNER_TIER), id, r);
            return SP_OK;
        }
        id = sp_db_str(f, 0, 0);
    }
    return sp_problem_set(p, SP_CONFLICT, "ticket_closed",
                          "the ticket's thread changed while the mail was taken: try again");
}

/* The follow-up just made (t->made) linked to the ticket it continues.
 * Two follow-ups of one ticket that are not closed are refused by
 * sql/065's index, which thread_tip's lock keeps from happening: were it
 * to, the MTA tries again, and the mail then joins the other one. */
static enum sp_rc
link_follow_up(struct sp_ctx *ctx, const struct take *t, struct sp_problem *p)
{
    const char *params[2] = {t->made, t->follow_up_of};
    if (sp_db_exec(ctx->db, ctx->arena, &follow_up_link_stmt, params, p) != NULL)
        return SP_OK;
    if (p->rc == SP_CONFLICT)
        return sp_problem_set(p, SP_CONFLICT, "ticket_closed",
                              "another mail opened the ticket's follow-up meanwhile: try again");
    return p->rc;
}

/* The customer's reply on t->ticket, or the new ticket t->create (a
 * follow-up counted against the create limits here, once decided, and
 * linked); *message its message's id. */
static enum sp_rc
write_message(struct sp_ctx *ctx, struct take *t, long long *message, struct sp_problem *p)
{
    if (t->ticket != NULL) {
        struct sp_message msg;
        if (sp_ticket_customer_reply(ctx, t->ticket, t->customer, SP_VERSIONS_ANY, t->body, &msg,
                                     p) != SP_OK)
            return p->rc;
        t->made = t->ticket;
        *message = msg.id;
        return SP_OK;
    }
    struct sp_ticket made;
    if ((t->follow_up_of != NULL && count_new_ticket(ctx, t, p) != SP_OK) ||
        sp_ticket_create(ctx, &t->create, &made, p) != SP_OK)
        return p->rc;
    t->made = made.public_id;
    *message = made.nmessages > 0 ? made.messages[0].id : 0;
    return t->follow_up_of != NULL ? link_follow_up(ctx, t, p) : SP_OK;
}

/* Message $1 came as the mail with Message-ID $2 (sql/076): our mails
 * after it answer it (support-dispatch). */
static struct sp_stmt mail_message_id_stmt = SP_STMT(
    "mail_in_message_id",
    "UPDATE support_ticket_messages SET mail_message_id = $2 WHERE id = $1::bigint", 2);

/* Inside the take: the message's mail Message-ID kept, when a header
 * can carry it back (core/mime; anything else is kept as none). */
static enum sp_rc
keep_message_id(struct sp_ctx *ctx, const struct take *t, long long message,
                struct sp_problem *p)
{
    if (message <= 0 || !sp_mail_msg_id_valid(t->mail->message_id))
        return SP_OK;
    const char *params[2] = {sp_arena_sprintf(ctx->arena, "%lld", message),
                             t->mail->message_id};
    return sp_db_exec(ctx->db, ctx->arena, &mail_message_id_stmt, params, p) != NULL ? SP_OK
                                                                                     : p->rc;
}

static enum sp_rc
run_take(struct sp_ctx *ctx, void *arg, struct sp_idem_record *answer, struct sp_problem *p)
{
    struct take *t = arg;
    long long message = 0;
    const char *ids[SP_ATTACHMENTS_PER_MESSAGE], *json;
    /* The files first: writing them (a bucket: uploading) must not hold
     * the ticket's lock, which thread_tip takes until the commit. */
    if ((t->ticket == NULL ? count_new_ticket(ctx, t, p) : count_reply(ctx, t, p)) != SP_OK ||
        keep_files(ctx, t->env, t->files, t->customer, ids, p) != SP_OK ||
        (t->ticket != NULL && thread_tip(t, p) != SP_OK) ||
        write_message(ctx, t, &message, p) != SP_OK ||
        keep_message_id(ctx, t, message, p) != SP_OK ||
        /* the address works: its mail arrived (mail_bounce.h) */
        sp_mail_bounce_lift(ctx, t->from, t->nfrom, p) != SP_OK)
        return p->rc;
    const struct sp_party customer = {t->customer, false};
    if (sp_attachments_attach_unscanned(ctx, customer, ids, t->files->nkeep, message, &json, p) !=
        SP_OK)
        return p->rc;
    answer->status = 201;
    answer->location = sp_arena_sprintf(ctx->arena, "/support/tickets/%s", t->made);
    answer->etag = NULL;
    answer->body = "";
    return SP_OK;
}

/* Runs the take under the mail's idempotency key: a mail taken before
 * answers the ticket it went to. */
static enum sp_rc
take_once(struct take *t, const struct sp_mail_envelope *e, struct sp_mail_in_result *out,
          struct sp_problem *p)
{
    struct sp_arena *a = t->ctx->arena;
    const char *key = sp_arena_sprintf(a, "mail:%s", e->digest);
    /* The key is the mail's digest, so its request hash only has to be
     * the same for the same key: the digest's first 32 characters. */
    unsigned char hash[32] = {0};
    memcpy(hash, e->digest, strlen(e->digest) < 32 ? strlen(e->digest) : 32);
    struct sp_idem_command cmd = {run_take, NULL, t};
    struct sp_idem_record answer = {0, NULL, NULL, NULL};
    bool replayed = false;
    const struct sp_party customer = {t->customer, false};
    if (sp_idem_run(t->ctx, customer, key, hash, &cmd, &answer, &replayed, p) != SP_OK) {
        out->why = t->limited;
        return p->rc;
    }
    if (replayed) {
        out->outcome = SP_MAIL_IN_DUPLICATE;
        const char *slash = answer.location != NULL ? strrchr(answer.location, '/') : NULL;
        out->ticket = slash != NULL ? slash + 1 : NULL;
    } else {
        out->ticket = t->made;
        if (t->follow_up_of != NULL)
            out->outcome = SP_MAIL_IN_FOLLOW_UP;
    }
    return SP_OK;
}

/* A new ticket for t->customer (a mail without a reply address, or the
 * first answer to a closed ticket: thread_tip); write_message counts it
 * against the ticket create limits. A follow-up (of the closed ticket
 * follow_up_of, its owner row in of, else NULL) keeps that ticket's
 * category and agent, as Zendesk's and Zammad's follow-ups do. */
static void
open_ticket(struct take *t, const char *tier, const char *follow_up_of, const PGresult *of)
{
    struct sp_arena *a = t->ctx->arena;
    enum sp_tier tr = SP_TIER_STANDARD;
    sp_tier_parse(tier, &tr);
    t->ticket = NULL;
    t->follow_up_of = follow_up_of;
    t->create = (struct sp_ticket_new){
        .customer_id = t->customer,
        /* a follow-up's without "Re:" and the closed ticket's tag */
        .subject = subject_of(a, follow_up_of != NULL ? sp_mail_thread_subject(a, t->mail->subject)
                                                      : t->mail->subject),
        .description = t->body,  /* take_new's: set once the body is made */
        .source = SP_SOURCE_EMAIL,
        .metadata_json = follow_up_of != NULL
                             ? sp_arena_sprintf(a, "{\"follow_up_of\":\"%s\"}", follow_up_of)
                             : NULL,
        .tier = tr,
        .category_slug = of != NULL ? sp_db_str(of, 0, OWNER_CATEGORY) : NULL,
        .keep_agent_id = of != NULL ? sp_db_int(of, 0, OWNER_AGENT) : 0,
    };
}

/* Ticket id's row of owner_stmt in *row; NULL when there is no such
 * ticket. */
static enum sp_rc
owner_of(struct take *t, const char *id, PGresult **row, struct sp_problem *p)
{
    const char *params[1] = {id};
    PGresult *r = sp_db_exec(t->ctx->db, t->ctx->arena, &owner_stmt, params, p);
    if (r == NULL)
        return p->rc;
    *row = PQntuples(r) > 0 ? r : NULL;
    return SP_OK;
}

/* Whether the ticket's customer gave the sender's address (any of its
 * blind indexes; constant time). */
static bool
from_its_customer(const struct take *t, const PGresult *r)
{
    const char *index = sp_db_str(r, 0, OWNER_EMAIL_INDEX);
    if (index == NULL)
        return false;
    bool same = false;
    for (size_t i = 0; i < t->nfrom; i++)
        same |= sp_crypto_equal(index, strlen(index), t->from[i], strlen(t->from[i]));
    return same;
}

/* The mail as the customer's answer on ticket id (r its owner_stmt row):
 * a reply on its thread, which thread_tip finds inside the take (a
 * follow-up when the thread ends closed). */
static void
answer_on(struct take *t, const PGresult *r, const char *id, struct sp_mail_in_result *out)
{
    t->customer = sp_arena_strdup(t->ctx->arena, sp_db_str(r, 0, OWNER_CUSTOMER));
    out->outcome = SP_MAIL_IN_REPLY;
    t->ticket = id;
}

/* A reply on ticket id: its customer's stored email must be the sender's. */
static enum sp_rc
take_reply(struct take *t, const char *id, struct sp_mail_in_result *out, struct sp_problem *p)
{
    PGresult *r = NULL;
    if (owner_of(t, id, &r, p) != SP_OK)
        return p->rc;
    if (r == NULL)
        return sp_problem_set(p, SP_NOT_FOUND, "unknown_reply_address",
                              "the ticket this mail replies to no longer exists");
    if (!from_its_customer(t, r))
        return sp_problem_set(p, SP_FORBIDDEN, "not_the_customer",
                              "this mail is not from the address the ticket's customer gave:"
                              " write from that address, or answer on the ticket page");
    answer_on(t, r, id, out);
    out->via = "reply_address";
    return SP_OK;
}

/* A new mail: from the one customer whose stored email is the sender's. */
static enum sp_rc
take_new(struct take *t, const struct sp_mail_in_env *env, struct sp_mail_in_result *out,
         struct sp_problem *p)
{
    struct sp_arena *a = t->ctx->arena;
    if (!env->new_tickets)
        return sp_problem_set(p, SP_NOT_FOUND, "no_reply_address",
                              "this address takes replies to our mails only: open a ticket on"
                              " the help pages");
    const char *params[1] = {sp_db_text_array(a, t->from, t->nfrom)};
    PGresult *r = sp_db_exec(t->ctx->db, a, &sender_stmt, params, p);
    if (sp_db_found_or(r, SP_NOT_FOUND, "unknown_sender",
                       "we know no customer with this address: write from the address"
                       " of your account, or open a ticket on the help pages", p) != SP_OK)
        return p->rc;
    if (PQntuples(r) > 1)
        return sp_problem_set(p, SP_CONFLICT, "ambiguous_sender",
                              "more than one account has this address: open a ticket on the"
                              " help pages");
    t->customer = sp_arena_strdup(a, sp_db_str(r, 0, SENDER_CUSTOMER));
    out->outcome = SP_MAIL_IN_TICKET;
    open_ticket(t, sp_db_str(r, 0, SENDER_TIER), NULL, NULL);
    return SP_OK;
}

/* A mail without a (valid) reply address: the customer's answer on the
 * first ticket its references or subject name whose customer gave the
 * sender's address. Neither is signed, so a ticket of anyone else (or
 * none) is passed over as if not named: the mail is then a new mail, as
 * it always was, and its sender learns nothing about that ticket, not
 * even that it exists. A mail whose reply address did not verify is
 * refused as before when nothing it names is the sender's. */
static enum sp_rc
take_thread(struct take *t, const struct thread *th, struct sp_mail_in_result *out,
            struct sp_problem *p)
{
    for (size_t i = 0; i < th->n; i++) {
        PGresult *r = NULL;
        if (owner_of(t, th->ids[i], &r, p) != SP_OK)
            return p->rc;
        if (r != NULL && from_its_customer(t, r)) {
            answer_on(t, r, sp_arena_strdup(t->ctx->arena, th->ids[i]), out);
            out->via = i < th->nrefs ? "references" : "subject";
            return SP_OK;
        }
    }
    if (th->bad_address)
        return bad_reply_address(t->env, p);
    return take_new(t, t->env, out, p);
}

/* A DSN (its envelope sender is empty, it is an auto-reply): never a
 * ticket or a reply, whatever it names; a customer's mail of ours it
 * returns marked failed (domain/mail_bounce). */
static enum sp_rc
take_bounce(struct sp_ctx *ctx, const struct sp_mail_in_env *env, const struct sp_mail_in *m,
            struct sp_mail_in_result *out, struct sp_problem *p)
{
    struct sp_mail_bounce b;
    if (sp_mail_bounce_take(ctx, env->crypto, env->own_address, m, &b, p) != SP_OK)
        return p->rc;
    out->outcome = strcmp(b.why, "bounced") == 0 ? SP_MAIL_IN_BOUNCE : SP_MAIL_IN_IGNORED;
    out->why = b.why;
    out->ticket = b.ticket;
    out->outbox_id = b.outbox_id;
    out->suppressed = b.suppressed;
    return SP_OK;
}

enum sp_rc
sp_mail_in_take(struct sp_ctx *ctx, const struct sp_mail_in_env *env,
                const struct sp_mail_envelope *envelope, const struct sp_mail_in *mail,
                struct sp_mail_in_result *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    if (mail->dsn.is_dsn)
        return take_bounce(ctx, env, mail, out, p);
    out->why = ignored(env, envelope, mail);
    if (out->why != NULL) {
        out->outcome = SP_MAIL_IN_IGNORED;
        return SP_OK;
    }
    if (check_sender(ctx->arena, env, mail, out, p) != SP_OK)
        return p->rc;
    struct thread th = {.n = 0};
    const char *id = reply_ticket(ctx->arena, env, envelope, mail, &th.bad_address);
    if (id == NULL)
        find_thread(ctx, env, mail, &th);
    if (id == NULL && th.bad_address && th.n == 0)
        return bad_reply_address(env, p);
    struct files_plan files;
    plan_files(ctx, env, mail, &files);
    struct take t = {.ctx = ctx, .env = env, .mail = mail, .files = &files};
    t.nfrom = sp_crypto_email_indexes(env->crypto, ctx->arena, mail->from_addr, t.from);
    if (t.nfrom == 0)
        return sp_problem_set(p, SP_NOT_FOUND, "unknown_sender", "the mail has no sender");
    if ((id != NULL ? take_reply(&t, id, out, p) : take_thread(&t, &th, out, p)) != SP_OK)
        return p->rc;
    /* Only now is it known whether the mail answers one of our mails,
     * whose history it may quote (a follow-up's too), or opens a ticket:
     * a new ticket's create (take_new's open_ticket) gets its body here. */
    t.body = body_html(ctx, env, mail, &files, out->outcome == SP_MAIL_IN_REPLY, p);
    t.create.description = t.body;
    if (t.body == NULL || take_once(&t, envelope, out, p) != SP_OK)
        return p->rc;
    out->files = out->outcome != SP_MAIL_IN_DUPLICATE ? files.nkeep : 0;
    return SP_OK;
}
