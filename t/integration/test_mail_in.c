/*
 * test_mail_in: support-mail-in (docs/API.md §11 "Mail in"), the program
 * an MTA pipes a customer's mail to, against the test stack's database.
 * Each test writes the mail as an MTA hands it over (RFC 5322 on
 * standard input, the envelope as --sender/--recipient) and asserts the
 * exit code the MTA acts on (sysexits) and what became of the ticket.
 * Reply addresses are signed with this file's key ring through
 * domain/reply_address, as support-dispatch signs them (the round trip
 * through a delivered mail is test_dispatch's). A mail's files are kept
 * in the stack's attachment directory and scanned by its support-scan.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attachment_harness.h"
#include "core/arena.h"
#include "core/keyring.h"
#include "domain/reply_address.h"
#include "harness.h"

#define OWN "support@example.test"
#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#define KEYS "k2:second-mail-reply-test-secret-0123456789,k1:mail-reply-test-secret-0123456789ab"

struct customer {
    struct sp_t_user u;
    const char *email;
};

/* A customer whose token carries an email claim (stored, with its blind
 * index, by their first ticket). */
static struct customer
customer_new(void)
{
    struct customer c = {.u = sp_t_user_new(SP_ROLE_CUSTOMER)};
    c.email = sp_t_fmt("Zoe.%s@Example.org", sp_t_unique("m"));
    c.u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, c.u.sub,
                                  sp_t_fmt("{\"name\":\"Zoë\",\"email\":%s}", sp_t_jq(c.email)));
    return c;
}

/* The reply address of ticket id under the ring's kid (0: first key). */
static const char *
reply_address(const char *spec, const char *id)
{
    char err[256];
    struct sp_keyring_keys *k = sp_reply_keys_load(spec, OWN, err, sizeof(err));
    ck_assert_msg(k != NULL, "%s", err);
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    const char *addr = sp_t_fmt("%s", sp_reply_address(k, &a, OWN, id));
    sp_arena_destroy(&a);
    sp_keyring_keys_destroy(k);
    return addr;
}

/* No authserv-id on purpose (SUPPORT_MAIL_AUTHSERV_ID set by a test wins). */
#define TRUST_FROM "SUPPORT_MAIL_TRUST_FROM=1"

struct mail {
    const char *from, *to, *subject, *headers, *body;
    const char *message_id;      /* NULL = a new one */
    bool no_message_id;          /* send no Message-ID header at all */
    const char *sender;          /* envelope; NULL = the From address */
    bool no_sender;              /* no --sender at all (an MTA that passes none) */
    const char *recipient;       /* envelope; NULL = the To address */
    const char *new_tickets;     /* SUPPORT_MAIL_NEW_TICKETS; NULL = default */
    const char *setting;         /* one setting more ("NAME=value"), or NULL */
    const char *stamped;         /* header lines our MTA puts on top (Authentication-Results) */
    bool lf;                     /* LF line ends (as Postfix's pipe hands a mail over), not CRLF */
    bool distrust_from;          /* SUPPORT_MAIL_TRUST_FROM=0 (else 1) */
    const char *env_file;        /* --env-file's file, or NULL */
};

/* Starts support-mail-in with raw[0..n) on its standard input, the
 * envelope and settings m's. */
static void
deliver_raw_start(const struct mail *m, const char *raw, size_t n, struct sp_t_job *j)
{
    const char *env[] = {
        sp_t_fmt("SUPPORT_ENCRYPTION_KEYS_FILE=%s", getenv("SP_TEST_ENCRYPTION_KEYS_FILE")),
        "SUPPORT_MAIL_FROM=" OWN, "SUPPORT_MAIL_REPLY_KEYS=" KEYS,
        m->distrust_from ? "SUPPORT_MAIL_TRUST_FROM=0" : TRUST_FROM,
        sp_t_fmt("SUPPORT_MAIL_NEW_TICKETS=%s", m->new_tickets ? m->new_tickets : "1"),
        sp_t_fmt("SUPPORT_ATTACHMENT_DIR=%s", getenv("SP_TEST_ATTACHMENT_DIR")), m->setting,
        NULL};
    const char *args[] = {"--sender", m->sender ? m->sender : m->from, "--recipient",
                          m->recipient ? m->recipient : m->to, NULL, NULL, NULL};
    if (m->env_file != NULL) { /* after the envelope's four words */
        args[4] = "--env-file";
        args[5] = m->env_file;
    }
    sp_t_job_start_input(j, "support-mail-in", env, m->no_sender ? args + 2 : args, raw, n);
}

/* Starts support-mail-in with the mail on its standard input. */
static void
deliver_start(const struct mail *m, struct sp_t_job *j)
{
    const char *mid = m->no_message_id ? ""
                      : sp_t_fmt("Message-ID: <%s@mail.example.org>\r\n",
                                 m->message_id ? m->message_id : sp_t_unique("msg"));
    char *raw = (char *)sp_t_fmt("%sFrom: Zoe <%s>\r\nTo: %s\r\nSubject: %s\r\n%s%s\r\n%s",
                                 m->stamped ? m->stamped : "", m->from, m->to, m->subject, mid,
                                 m->headers ? m->headers : "", m->body);
    size_t n = 0;
    for (size_t i = 0; raw[i] != '\0'; i++)
        if (!m->lf || raw[i] != '\r' || raw[i + 1] != '\n')
            raw[n++] = raw[i];
    deliver_raw_start(m, raw, n, j);
}

/* Pipes the mail to support-mail-in; returns its exit code, *out its output. */
static int
deliver(const struct mail *m, const char **out)
{
    struct sp_t_job j;
    const char *ignored;
    deliver_start(m, &j);
    return sp_t_job_wait(&j, out ? out : &ignored);
}

/* Delivers m; asserts the exit code and that the output holds text. */
static void
deliver_expect(const struct mail *m, int code, const char *text)
{
    const char *out;
    int rc = deliver(m, &out);
    ck_assert_msg(rc == code && strstr(out, text) != NULL, "exit %d (want %d): %s", rc, code,
                  out);
}

static long
email_tickets(const char *customer)
{
    return atol(sp_t_sql("SELECT count(*) FROM support_tickets WHERE customer_id = '%s'"
                         " AND source = 'email'", customer));
}

static long
messages(const char *id, const char *sender_type)
{
    return atol(sp_t_sql("SELECT count(*) FROM support_ticket_messages m JOIN support_tickets t"
                         " ON t.id = m.ticket_id WHERE t.public_id = '%s'"
                         " AND m.sender_type = '%s'", id, sender_type));
}

static const char *
last_body(const char *id)
{
    return sp_t_sql("SELECT m.body FROM support_ticket_messages m JOIN support_tickets t"
                    " ON t.id = m.ticket_id WHERE t.public_id = '%s' ORDER BY m.id DESC LIMIT 1",
                    id);
}

#define QUOTED                                                                                 \
    "\r\nOn Mon, 2 Dec 2026 at 10:00, Support <" OWN "> wrote:\r\n"                           \
    "> ##- Please type your reply above this line -##\r\n> An agent replied: try again.\r\n"

START_TEST(reply_becomes_the_customers_message_once)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Refund for booking");
    sp_t_db_ticket_set_status(id, "pending_customer");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Refund",
                     .body = "It works now, thank you.\r\nZoe\r\n" QUOTED};
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>It works now, thank you.<br>Zoe</p>");
    ck_assert_int_eq(messages(id, "customer"), 2);
    /* The customer's reply reopens a ticket waiting on them (API.md §4). */
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_tickets WHERE public_id = '%s'", id),
                     "open");
    /* The MTA delivering the same mail again (same Message-ID) adds nothing. */
    m.message_id = sp_t_fmt("dup-%s", id);
    ck_assert_int_eq(deliver(&m, NULL), 0);
    ck_assert_int_eq(messages(id, "customer"), 3);
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    ck_assert_int_eq(messages(id, "customer"), 3);
}
END_TEST

START_TEST(an_older_key_still_verifies_and_case_does_not_matter)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Key rotation");
    /* Signed by k1 alone, the ring's second key; lower-cased by an MTA. */
    char *to = (char *)reply_address("k1:mail-reply-test-secret-0123456789ab", id);
    for (char *s = to; *s; s++)
        *s = (char)tolower((unsigned char)*s);
    struct mail m = {.from = c.email, .to = to, .subject = "Re: Key", .body = "Still here.\r\n"};
    ck_assert_int_eq(deliver(&m, NULL), 0);
    ck_assert_str_eq(last_body(id), "<p>Still here.</p>");
}
END_TEST

START_TEST(mail_that_cannot_speak_for_the_ticket_is_refused)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Refusals");
    const char *to = reply_address(KEYS, id);
    /* One hex digit of the mac changed. */
    char *forged = (char *)sp_t_fmt("%s", to);
    char *at = strchr(forged, '@');
    at[-1] = at[-1] == '0' ? '1' : '0';
    const char *out;
    struct mail m = {.from = c.email, .to = forged, .subject = "Re", .body = "Hi\r\n"};
    deliver_expect(&m, EX_NOUSER, "the reply address is not one of ours");
    /* The right address, but from someone else. */
    m.to = to;
    m.from = "mallory@example.net";
    deliver_expect(&m, EX_NOPERM, "not from the address the ticket's customer gave");
    /* Only quoted text: nothing to add; the bounce says where to write. */
    m.from = c.email;
    m.body = QUOTED;
    deliver_expect(&m, EX_DATAERR, "no text of its own (only quoted text, or none): write your"
                                   " reply above the line \"##- Please type your reply above"
                                   " this line -##\"");
    /* Not a mail at all (no From). */
    const char *env[] = {
        sp_t_fmt("SUPPORT_ENCRYPTION_KEYS_FILE=%s", getenv("SP_TEST_ENCRYPTION_KEYS_FILE")),
        TRUST_FROM, NULL};
    const char *args[] = {"--recipient", to, NULL};
    const char *junk = "hello\r\n\r\nthis is not a mail\r\n";
    ck_assert_int_eq(sp_t_job_run_input("support-mail-in", env, args, junk, strlen(junk), &out),
                     EX_DATAERR);
    ck_assert_int_eq(messages(id, "customer"), 1);
}
END_TEST

/* Attachments are not taken in: the message says how many were left out. */
/* A multipart/mixed mail body: the text, then one part per file
 * (type, Content-Disposition, the bytes in base64). */
struct part {
    const char *type, *disposition;
    const void *data;
    size_t len;
};

static const char *
mixed(const char *text, const struct part *parts, size_t n)
{
    const char *body = sp_t_fmt("--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
                                text);
    for (size_t i = 0; i < n; i++) {
        unsigned char b64[1024];
        ck_assert_uint_lt(parts[i].len, 3 * sizeof(b64) / 4 - 3);
        EVP_EncodeBlock(b64, parts[i].data, (int)parts[i].len);
        body = sp_t_fmt("%s--b1\r\nContent-Type: %s\r\nContent-Disposition: %s\r\n"
                        "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n",
                        body, parts[i].type, parts[i].disposition, b64);
    }
    return sp_t_fmt("%s--b1--\r\n", body);
}

#define MIXED "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n"

/* The attachments of the ticket's message at index i, as its customer sees them. */
static struct json_object *
message_files(struct customer *c, const char *id, size_t i, struct sp_t_resp **keep)
{
    *keep = sp_t_ticket_get(&c->u, id);
    struct json_object *msg = json_object_array_get_idx(sp_t_jarr((*keep)->json, "messages"), i);
    ck_assert_ptr_nonnull(msg);
    return sp_t_jarr(msg, "attachments");
}

/* Attachment id, downloaded as token through its download_url, is
 * data[0..len). */
static void
assert_download(const char *token, const char *id, const void *data, size_t len)
{
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/attachments/%s", id), token);
    sp_t_assert_json(r, 200);
    struct sp_t_resp *d = sp_t_get(sp_t_fmt("%s", sp_t_jstr(r->json, "download_url")), NULL);
    sp_t_resp_free(r);
    sp_t_assert_status(d, 200);
    ck_assert_uint_eq(d->body_len, len);
    ck_assert(memcmp(d->body, data, len) == 0);
    sp_t_resp_free(d);
}

START_TEST(files_become_attachments_scanned_before_they_are_served)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Attachments");
    const struct part parts[] = {
        {"image/png", "attachment; filename=\"=?UTF-8?Q?Foto_M=C3=A4rz?=.png\"", sp_t_png,
         sizeof(sp_t_png)},
        {"application/x-msdownload", "attachment; filename=tool.exe", "MZ\x90\0\3\0\0\0", 8},
        {"text/plain", "attachment; filename=notes.txt", EICAR, strlen(EICAR)},
    };
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: photo",
                     .headers = MIXED, .body = mixed("Photo attached.", parts, 3),
                     .message_id = sp_t_unique("files")};
    sp_t_stackctl("stop-scan");   /* so the files are seen pending first */
    deliver_expect(&m, 0, "\"files\":2");
    ck_assert_str_eq(last_body(id), "<p>Photo attached.</p><p>[Files of this mail not taken in:"
                                    " tool.exe (type not accepted)]</p>");
    struct sp_t_resp *t;
    struct json_object *files = message_files(&c, id, 1, &t);
    ck_assert_uint_eq(json_object_array_length(files), 2);
    struct json_object *png = json_object_array_get_idx(files, 0);
    ck_assert_str_eq(sp_t_jstr(png, "filename"), "Foto M\xc3\xa4rz.png");
    ck_assert_str_eq(sp_t_jstr(png, "content_type"), "image/png");
    ck_assert_str_eq(sp_t_jstr(png, "status"), "pending");
    const char *png_id = sp_t_fmt("%s", sp_t_jstr(png, "id"));
    const char *txt_id = sp_t_fmt("%s", sp_t_jstr(json_object_array_get_idx(files, 1), "id"));
    sp_t_resp_free(t);
    long version = atol(sp_t_sql("SELECT version FROM support_tickets WHERE public_id = '%s'",
                                 id));
    /* The customer's own; the scan decides; the message says what it decided, in a new
     * version of the ticket (the view seen above is not served again). */
    sp_t_stackctl("start-scan");
    ck_assert_str_eq(sp_t_attachment_wait(c.u.token, png_id, 20), "clean");
    ck_assert_str_eq(sp_t_attachment_wait(c.u.token, txt_id, 20), "infected");
    files = message_files(&c, id, 1, &t);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(files, 0), "status"), "clean");
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(files, 1), "status"), "infected");
    sp_t_resp_free(t);
    ck_assert_int_eq(atol(sp_t_sql("SELECT version FROM support_tickets WHERE public_id = '%s'",
                                   id)), version + 2);
    assert_download(c.u.token, png_id, sp_t_png, sizeof(sp_t_png));
    /* The MTA delivers it again: taken once, files too. */
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE owner_sub = '%s'",
                              c.u.sub), "2");
}
END_TEST

/* Delivers a multipart body from c to the support address: a new ticket
 * that keeps `files` of its files; the ticket's public id. */
static const char *
mailed_ticket(struct customer *c, const char *subject, const char *body, int files)
{
    struct mail m = {.from = c->email, .to = OWN, .subject = subject, .headers = MIXED,
                     .body = body};
    const char *out;
    ck_assert_int_eq(deliver(&m, &out), 0);
    ck_assert_msg(strstr(out, "\"outcome\":\"ticket\"") &&
                  strstr(out, sp_t_fmt("\"files\":%d", files)), "%s", out);
    return sp_t_sql("SELECT public_id FROM support_tickets WHERE customer_id = '%s'"
                    " AND source = 'email'", c->u.sub);
}

START_TEST(a_file_without_text_or_name_opens_a_ticket)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "First");   /* stores the customer's email */
    /* Declared as any bytes, named nothing: kept as what the bytes are. */
    const struct part parts[] = {{"application/octet-stream", "inline", sp_t_png,
                                  sizeof(sp_t_png)}};
    const char *id = mailed_ticket(&c, "Screenshot", mixed("", parts, 1), 1);
    ck_assert_str_eq(last_body(id), "<p>[The mail has no text, only the files attached.]</p>");
    struct sp_t_resp *t;
    struct json_object *f = json_object_array_get_idx(message_files(&c, id, 0, &t), 0);
    ck_assert_str_eq(sp_t_jstr(f, "filename"), "attachment-1.png");
    ck_assert_str_eq(sp_t_jstr(f, "content_type"), "image/png");
    sp_t_resp_free(t);
}
END_TEST

/* A file named only with invisible or non-ASCII spaces (RFC 2231) is
 * named as one without a name; a name's blank edges are trimmed, as an
 * upload's are (docs/API.md §10 "Attachment names"). */
START_TEST(a_file_named_blank_is_named_by_its_place)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "First");   /* stores the customer's email */
    const struct part parts[] = {
        {"image/png", "attachment; filename*=utf-8''%E2%80%8B%E3%80%80", sp_t_png,
         sizeof(sp_t_png)},
        {"image/png", "attachment; filename*=utf-8''%C2%A0shot.png%E2%80%8B", sp_t_png,
         sizeof(sp_t_png)}};
    const char *id = mailed_ticket(&c, "Blank names", mixed("Two files", parts, 2), 2);
    struct sp_t_resp *t;
    struct json_object *files = message_files(&c, id, 0, &t);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(files, 0), "filename"),
                     "attachment-1.png");
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(files, 1), "filename"), "shot.png");
    sp_t_resp_free(t);
}
END_TEST

/* QA: a reply written below the quoted mail (bottom-posting: the
 * attribution, our quoted mail with its marker, then the customer's
 * words) bounced as "no text of its own". */
START_TEST(a_reply_below_the_quoted_mail_is_the_customers_message)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Bottom posting");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Bottom",
                     .body = QUOTED "> \r\n> -- \r\n> Support\r\n\r\n"
                             "It works now, thank you.\r\nZoe\r\n\r\n-- \r\nZoe Urban\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>It works now, thank you.<br>Zoe</p>");
    /* Top-posting is as before: what follows the quote is left out. */
    m.body = "Above.\r\n" QUOTED "\r\nCONFIDENTIAL: for the addressee only.\r\n";
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>Above.</p>");
}
END_TEST

/* A text of n characters or more in paragraphs "Booking line N …", LF
 * line ends (as the message reads it). */
static const char *
booking_thread(size_t n)
{
    const char *t = "---------- Forwarded message ---------\nFrom: Booking <b@example.net>\n"
                    "Subject: Your booking\n";
    for (int i = 1; strlen(t) < n; i++)
        t = sp_t_fmt("%s\nBooking line %d: flight XY%03d from Berlin to Lisbon, seat %dA,"
                     " confirmed.\n", t, i, i, i % 30 + 1);
    return t;
}

/* text with CRLF line ends, as a mail carries it. */
static const char *
crlf(const char *text)
{
    char *out = (char *)sp_t_fmt("%s%s", text, sp_t_repeat(" ", strlen(text)));
    size_t n = 0;
    for (const char *c = text; *c != '\0'; c++) {
        if (*c == '\n')
            out[n++] = '\r';
        out[n++] = *c;
    }
    out[n] = '\0';
    return out;
}

/* The last file of ticket id's message msg: mail.txt, text/plain, its
 * bytes text (once support-scan has found it clean). */
static void
assert_whole_text_file(struct customer *c, const char *id, size_t msg, const char *text)
{
    struct sp_t_resp *t;
    struct json_object *files = message_files(c, id, msg, &t);
    struct json_object *f = json_object_array_get_idx(files, json_object_array_length(files) - 1);
    ck_assert_str_eq(sp_t_jstr(f, "filename"), "mail.txt");
    ck_assert_str_eq(sp_t_jstr(f, "content_type"), "text/plain");
    const char *fid = sp_t_fmt("%s", sp_t_jstr(f, "id"));
    sp_t_resp_free(t);
    ck_assert_str_eq(sp_t_attachment_wait(c->u.token, fid, 20), "clean");
    assert_download(c->u.token, fid, text, strlen(text));
}

/* The newest message of ticket id: at most a message's 20,000
 * characters, starting with head, and ending with end (the text before
 * the cut) and the word that the rest is in mail.txt. */
static void
assert_cut_body(const char *id, const char *head, const char *end)
{
    const char *body = last_body(id);
    ck_assert_uint_le(atol(sp_t_sql("SELECT char_length(body) FROM support_ticket_messages m"
                                    " JOIN support_tickets t ON t.id = m.ticket_id"
                                    " WHERE t.public_id = '%s' ORDER BY m.id DESC LIMIT 1",
                                    id)), 20000);
    ck_assert_uint_gt(strlen(body), 19000);
    ck_assert_msg(strncmp(body, head, strlen(head)) == 0, "%.200s", body);
    end = sp_t_fmt("%s</p><p>[the rest of this mail is attached as mail.txt]</p>", end);
    ck_assert_msg(strlen(body) > strlen(end) &&
                  strcmp(body + strlen(body) - strlen(end), end) == 0, "%s",
                  body + strlen(body) - 200);
}

/* QA: a new mail with a forwarded booking thread (26,269 characters)
 * bounced as too long. Kept as Zendesk and Zammad keep it: the message
 * is its head, cut at a paragraph's end, with a word that the rest is
 * in mail.txt, the whole text that file; a reply the same. */
START_TEST(a_long_mail_keeps_its_whole_text_as_mail_txt)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "First");   /* stores the customer's email */
    const char *text = booking_thread(26269);
    const char *id = mailed_ticket(&c, "Fwd: booking", mixed(crlf(text), NULL, 0), 1);
    assert_cut_body(id, "<p>---------- Forwarded message ---------<br>", "confirmed.");
    assert_whole_text_file(&c, id, 0, sp_t_fmt("%.*s", (int)strlen(text) - 1, text));
    /* A long reply; and one of short lines, each a <br> once stored
     * (QA: 4,000 lines of "ab"), with a file, which is kept beside it. */
    const char *tid = sp_t_ticket_create(&c.u, "Long reply");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, tid), .subject = "Re: long",
                     .body = sp_t_repeat("long ", 4001)};
    deliver_expect(&m, 0, "\"files\":1");
    assert_cut_body(tid, "<p>long long", "long long");   /* one line: cut at a character */
    assert_whole_text_file(&c, tid, 1, m.body);   /* its last blank too: the text is whole */
    const struct part png[] = {{"image/png", "attachment; filename=p.png", sp_t_png,
                                sizeof(sp_t_png)}};
    m.headers = MIXED;
    m.body = mixed(sp_t_repeat("ab\r\n", 4000), png, 1);
    deliver_expect(&m, 0, "\"files\":2");
    assert_cut_body(tid, "<p>ab<br>ab<br>", "ab<br>ab");
    /* Where it cannot be a file (here: the 11th), refused as before, saying why. */
    struct part parts[10];
    for (size_t i = 0; i < 10; i++)
        parts[i] = png[0];
    m.body = mixed(sp_t_repeat("long ", 4001), parts, 10);
    deliver_expect(&m, EX_DATAERR, "cannot be kept as the file mail.txt (more than 10 files)");
    ck_assert_int_eq(messages(tid, "customer"), 3);
}
END_TEST

START_TEST(files_beyond_the_limits_are_named_not_kept)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Many");
    struct part parts[12];
    for (size_t i = 0; i < 12; i++)
        parts[i] = (struct part){"image/png", sp_t_fmt("attachment; filename=p%zu.png", i),
                                 sp_t_png, sizeof(sp_t_png)};
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: many",
                     .headers = MIXED, .body = mixed("All of them.", parts, 12)};
    deliver_expect(&m, 0, "\"files\":10");
    ck_assert_str_eq(last_body(id), "<p>All of them.</p><p>[Files of this mail not taken in:"
                                    " p10.png (more than 10 files); p11.png (more than 10"
                                    " files)]</p>");
    /* Files are not kept where SUPPORT_ATTACHMENT_DIR cannot be written: the MTA retries. */
    m.setting = "SUPPORT_ATTACHMENT_DIR=/nonexistent/attachments";
    m.body = mixed("Again.", parts, 1);
    deliver_expect(&m, EX_TEMPFAIL, "/nonexistent/attachments");
    ck_assert_str_eq(last_body(id), "<p>All of them.</p><p>[Files of this mail not taken in:"
                                    " p10.png (more than 10 files); p11.png (more than 10"
                                    " files)]</p>");
}
END_TEST

START_TEST(robots_are_not_answered)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Robots");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Out of office",
                     .headers = "Auto-Submitted: auto-replied\r\n", .body = "I am away.\r\n"};
    deliver_expect(&m, 0, "\"why\":\"auto_reply\"");
    /* the marks older vacation programs write instead */
    m.headers = "Precedence: auto_reply\r\n";
    deliver_expect(&m, 0, "\"why\":\"auto_reply\"");
    m.headers = "X-Autoreply: yes\r\n";
    deliver_expect(&m, 0, "\"why\":\"auto_reply\"");
    /* loop marks (QA: answered) */
    m.headers = "X-Loop: helpdesk@example.org\r\n";
    deliver_expect(&m, 0, "\"why\":\"auto_reply\"");
    m.headers = "X-MS-Exchange-Inbox-Rules-Loop: z@example.org\r\n";
    deliver_expect(&m, 0, "\"why\":\"auto_reply\"");
    /* no --sender: the delivering MTA's Return-Path: <> says bounce */
    m.headers = "Return-Path: <>\r\n";
    m.no_sender = true;
    deliver_expect(&m, 0, "\"why\":\"bounce\"");
    m.no_sender = false;
    m.headers = NULL;
    m.sender = "";   /* a bounce: MAIL FROM:<> */
    deliver_expect(&m, 0, "\"why\":\"bounce\"");
    m.sender = NULL;
    m.from = OWN;
    deliver_expect(&m, 0, "\"why\":\"own_address\"");
    ck_assert_int_eq(messages(id, "customer"), 1);
}
END_TEST

/* A customer's mail of ours on ticket id, sent before Message-IDs were
 * sealed (migration 076 applied), so its DSN names it by the old
 * "<outbox-<id>@…>", which names no later row (test_dispatch
 * the_old_message_id_names_only_rows_sent_before_sealing): its outbox
 * row's id. */
static const char *
sent_mail_row(const char *id)
{
    return sp_t_sql("INSERT INTO support_outbox (kind, event_type, channel, ticket_id, payload,"
                    " status, delivered_at) SELECT 'notification', 'ticket.replied', 'email',"
                    " id, '{}', 'sent', (SELECT applied_at - interval '1 day'"
                    " FROM schema_migrations WHERE version = 76)"
                    " FROM support_tickets WHERE public_id = '%s' RETURNING id", id);
}

/* A DSN as Postfix bounces a mail: Action action for recipient to, the
 * returned mail's headers (Message-ID and all) in returned. */
static const char *
dsn(const char *headers, const char *to, const char *action, const char *returned)
{
    return sp_t_fmt("From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
                    "To: " OWN "\r\nSubject: Undelivered Mail Returned to Sender\r\n%s"
                    "Message-ID: <%s@mx.example.org>\r\n"
                    "Content-Type: multipart/report; report-type=delivery-status;"
                    " boundary=\"R.1\"\r\n\r\n--R.1\r\nContent-Type: text/plain\r\n\r\n"
                    "Your message could not be delivered.\r\n--R.1\r\n"
                    "Content-Type: message/delivery-status\r\n\r\n"
                    "Reporting-MTA: dns; mx.example.org\r\n\r\n"
                    "Final-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: 5.1.1\r\n\r\n"
                    "--R.1\r\nContent-Type: message/rfc822\r\n\r\nFrom: " OWN "\r\n%s\r\n"
                    "Your ticket was answered.\r\n--R.1--\r\n",
                    headers, sp_t_unique("dsn"), to, action, returned);
}

/* Pipes a DSN with the envelope sender (NULL: the empty one of a
 * bounce); asserts exit 0 and that the log line holds text. */
static void
deliver_dsn(const char *raw, const char *sender, const char *text)
{
    struct mail m = {.from = "MAILER-DAEMON@mx.example.org", .to = OWN,
                     .sender = sender ? sender : ""};
    struct sp_t_job j;
    const char *out;
    deliver_raw_start(&m, raw, strlen(raw), &j);
    int rc = sp_t_job_wait(&j, &out);
    ck_assert_msg(rc == 0 && strstr(out, text) != NULL, "exit %d: %s", rc, out);
}

/* The outbox row's status and last_error. */
static const char *
row_state(const char *row)
{
    return sp_t_sql("SELECT status || '/' || coalesce(last_error, '-') FROM support_outbox"
                    " WHERE id = %s", row);
}

static long
bounce_events(const char *id)
{
    return atol(sp_t_sql("SELECT count(*) FROM support_ticket_events e JOIN support_tickets t"
                         " ON t.id = e.ticket_id WHERE t.public_id = '%s'"
                         " AND e.event_type = 'notification_failed'", id));
}

/* After DSNs about ticket id of c: its row's state, how many bounce
 * events it has, and that none became a reply or a ticket. */
static void
assert_after_bounces(const struct customer *c, const char *id, const char *row,
                     const char *state, long events)
{
    ck_assert_str_eq(row_state(row), state);
    ck_assert_int_eq(bounce_events(id), events);
    ck_assert_int_eq(messages(id, "customer"), 1);
    ck_assert_int_eq(email_tickets(c->u.sub), 0);
}

/* A bounce of a customer's mail of ours marks its outbox row failed and
 * says so on the ticket, once; it is never a ticket or a reply. */
START_TEST(a_bounce_of_our_mail_marks_it_failed)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Bounced");
    const char *row = sent_mail_row(id);
    const char *returned = sp_t_fmt("Message-ID: <outbox-%s@Example.TEST>\r\n"
                                    "Subject: Re: Bounced [%s]\r\n", row, id);
    const char *raw = dsn("Auto-Submitted: auto-replied\r\n", c.email, "failed", returned);
    deliver_dsn(raw, NULL, "\"outcome\":\"bounce\"");
    assert_after_bounces(&c, id, row, "failed/bounced", 1);
    ck_assert_str_eq(sp_t_sql("SELECT e.metadata = jsonb_build_object('channel', 'email',"
                              " 'reason', 'bounced', 'outbox_id', %s::bigint, 'event_type',"
                              " 'ticket.replied') AND e.actor_type = 'system'"
                              " FROM support_ticket_events e JOIN support_tickets t"
                              " ON t.id = e.ticket_id WHERE t.public_id = '%s'"
                              " AND e.event_type = 'notification_failed'", row, id), "t");
    /* the same DSN again: nothing more */
    deliver_dsn(raw, NULL, "\"why\":\"bounce_not_sent\"");
    ck_assert_int_eq(bounce_events(id), 1);
    /* only In-Reply-To names it, the envelope sender is not empty, and
     * the failed recipient is written in another case */
    const char *row2 = sent_mail_row(id);
    deliver_dsn(dsn(sp_t_fmt("In-Reply-To: <outbox-%s@example.test>\r\n", row2),
                    sp_t_fmt("<%s>", c.email), "failed", "Subject: no id\r\n"),
                "postmaster@mx.example.org", "\"why\":\"bounced\"");
    assert_after_bounces(&c, id, row2, "failed/bounced", 2);
}
END_TEST

/* A DSN that names nothing of ours, or not as it was sent, is dropped
 * (exit 0, no bounce back to a bounce): never a ticket or a reply. */
START_TEST(a_bounce_of_nothing_of_ours_is_dropped)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Not bounced");
    const char *row = sent_mail_row(id);
    const char *ours = sp_t_fmt("Message-ID: <outbox-%s@example.test>\r\n", row);
    /* a delay is no failure */
    deliver_dsn(dsn("", c.email, "delayed", ours), NULL, "\"why\":\"bounce_not_failed\"");
    /* the failed recipient is not the one our mail went to (a forged DSN) */
    deliver_dsn(dsn("", "eve@evil.example", "failed", ours), NULL, "\"why\":\"bounce_unmatched\"");
    /* another domain's outbox id, an id of no row, no id at all */
    deliver_dsn(dsn("", c.email, "failed", sp_t_fmt("Message-ID: <outbox-%s@evil.example>\r\n",
                                                    row)),
                NULL, "\"why\":\"bounce_unmatched\"");
    deliver_dsn(dsn("", c.email, "failed", "Message-ID: <outbox-999999999999@example.test>\r\n"),
                NULL, "\"why\":\"bounce_unmatched\"");
    /* Without an empty envelope sender or Auto-Submitted, and from a
     * customer's address, with the ticket's tag: still not a reply. */
    const char *raw = dsn("", c.email, "failed", sp_t_fmt("Subject: Re: x [%s]\r\n", id));
    raw = sp_t_fmt("From: %s\r\n%s", c.email, strstr(raw, "\r\n") + 2);
    deliver_dsn(raw, c.email, "\"why\":\"bounce_unmatched\"");
    assert_after_bounces(&c, id, row, "sent/-", 0);
}
END_TEST

/* A DSN's failed recipient is looked up as every address is, by all of
 * its blind indexes (sp_crypto_email_indexes): an IDN customer's mail
 * bounced to the domain's xn-- form is found by the canonical index.
 * Once the contact is one stored before the canonical form (its index
 * over the address as typed, the domain in Unicode), a bounce naming
 * that form is recorded, and so is one naming the xn-- form that
 * support-dispatch sends to and most DSNs name; a new mail from that
 * form is the customer's too. */
START_TEST(a_bounce_finds_a_contact_stored_before_the_canonical_form)
{
    const char *tag = sp_t_unique("idnb");
    struct customer c = {.u = sp_t_user_new(SP_ROLE_CUSTOMER),
                         .email = sp_t_fmt("zoe.%s@bücher.example", tag)};
    c.u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, c.u.sub,
                                  sp_t_fmt("{\"name\":\"Zoë\",\"email\":%s}", sp_t_jq(c.email)));
    const char *id = sp_t_ticket_create(&c.u, "Bounced IDN");
    const char *row = sent_mail_row(id);
    deliver_dsn(dsn("", sp_t_fmt("zoe.%s@xn--bcher-kva.example", tag), "failed",
                    sp_t_fmt("Message-ID: <outbox-%s@example.test>\r\n", row)),
                NULL, "\"why\":\"bounced\"");
    assert_after_bounces(&c, id, row, "failed/bounced", 1);

    sp_t_db_contact_make_legacy(c.u.sub, "Zoë", c.email);
    const char *row2 = sent_mail_row(id);
    deliver_dsn(dsn("", c.email, "failed",
                    sp_t_fmt("Message-ID: <outbox-%s@example.test>\r\n", row2)),
                NULL, "\"why\":\"bounced\"");
    assert_after_bounces(&c, id, row2, "failed/bounced", 2);
    const char *ace = sp_t_fmt("Zoe.%s@XN--BCHER-KVA.example", tag);
    const char *row3 = sent_mail_row(id);
    deliver_dsn(dsn("", ace, "failed", sp_t_fmt("Message-ID: <outbox-%s@example.test>\r\n", row3)),
                NULL, "\"why\":\"bounced\"");
    assert_after_bounces(&c, id, row3, "failed/bounced", 3);

    struct mail m = {.from = ace, .to = OWN, .subject = "Neu", .body = "From the A-label.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    ck_assert_int_eq(email_tickets(c.u.sub), 1);
}
END_TEST

START_TEST(new_mail_from_a_known_customer_opens_a_ticket)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "First contact");
    /* Upper/lower case of the address does not matter (the blind index
     * normalizes it). */
    const char *from = sp_t_fmt("%s", c.email);
    for (char *s = (char *)from; *s; s++)
        *s = (char)toupper((unsigned char)*s);
    struct mail m = {.from = from, .to = OWN,
                     .subject = "=?UTF-8?Q?Koffer_verloren_=E2=80=93_Hilfe?=",
                     .headers = "Content-Type: text/plain; charset=iso-8859-1\r\n"
                                "Content-Transfer-Encoding: quoted-printable\r\n",
                     .body = "Mein Koffer ist weg, bitte gr=FC=DFe an <alle>.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    const char *id = sp_t_sql("SELECT public_id FROM support_tickets WHERE customer_id = '%s'"
                              " AND source = 'email'", c.u.sub);
    ck_assert_ptr_nonnull(id);
    ck_assert_str_eq(sp_t_sql("SELECT subject FROM support_tickets WHERE public_id = '%s'", id),
                     "Koffer verloren – Hilfe");
    ck_assert_str_eq(last_body(id), "<p>Mein Koffer ist weg, bitte grüße an &lt;alle&gt;.</p>");
    /* Strangers, and everyone when new tickets by mail are off, are told. */
    m.from = "stranger@example.net";
    deliver_expect(&m, EX_NOUSER, "we know no customer with this address");
    m.from = c.email;
    m.new_tickets = "0";
    deliver_expect(&m, EX_NOUSER, "takes replies to our mails only");
}
END_TEST

/* QA: a new ticket's mail lost what it forwarded (cut as if it were
 * history). A first mail keeps all its words: the forward inline, the
 * "--" and quotes of the customer's own text; a forward as attachment
 * (message/rfc822 alone) gives the forwarded mail's text. */
START_TEST(a_forwarded_mail_opening_a_ticket_keeps_the_forwarded_text)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "First");   /* stores the customer's email */
    struct mail m = {.from = c.email, .to = OWN, .subject = "Fwd: Cancellation",
                     .body = "Please look at the mail from the hotel below...\r\n\r\n"
                             "---------- Forwarded message ---------\r\n"
                             "From: Hotel <res@hotel.example>\r\n"
                             "Date: Mon, 1 Jan 2024 at 10:00\r\n"
                             "Subject: Cancellation\r\n\r\n"
                             "Dear guest, your booking HX-99812 was cancelled.\r\n"
                             "--\r\n"
                             "> error 500\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    const char *id = sp_t_sql("SELECT public_id FROM support_tickets WHERE customer_id = '%s'"
                              " AND source = 'email'", c.u.sub);
    ck_assert_str_eq(last_body(id),
                     "<p>Please look at the mail from the hotel below...</p>"
                     "<p>---------- Forwarded message ---------<br>"
                     "From: Hotel &lt;res@hotel.example&gt;<br>"
                     "Date: Mon, 1 Jan 2024 at 10:00<br>Subject: Cancellation</p>"
                     "<p>Dear guest, your booking HX-99812 was cancelled.<br>--<br>"
                     "&gt; error 500</p>");
    const char *eml = "From: Hotel <res@hotel.example>\r\nSubject: Cancellation\r\n\r\n"
                      "Dear guest, booking HX-99813 was cancelled.\r\n";
    const struct part parts[] = {{"message/rfc822", "attachment; filename=\"hotel.eml\"", eml,
                                  strlen(eml)}};
    struct customer c2 = customer_new();
    sp_t_ticket_create(&c2.u, "First");
    id = mailed_ticket(&c2, "Fwd: Cancellation", mixed("", parts, 1), 0);
    ck_assert_str_eq(last_body(id),
                     "<p>---------- Forwarded message ---------<br>"
                     "From: Hotel &lt;res@hotel.example&gt;<br>Subject: Cancellation</p>"
                     "<p>Dear guest, booking HX-99813 was cancelled.</p>"
                     "<p>[Files of this mail not taken in: hotel.eml (type not accepted)]</p>");
    /* Only HTML: Gmail's forward is a gmail_quote, kept for a first mail. */
    struct customer c3 = customer_new();
    sp_t_ticket_create(&c3.u, "First");
    m = (struct mail){.from = c3.email, .to = OWN, .subject = "Fwd: Cancellation",
                      .headers = "Content-Type: text/html; charset=utf-8\r\n",
                      .body = "<div>See below</div><div class=\"gmail_quote\">"
                              "---------- Forwarded message ---------<br>From: Hotel</div>"
                              "<div class=\"gmail_quote\">Dear guest, HX-99814</div>\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    id = sp_t_sql("SELECT public_id FROM support_tickets WHERE customer_id = '%s'"
                  " AND source = 'email'", c3.u.sub);
    ck_assert_str_eq(last_body(id), "<p>See below<br>---------- Forwarded message ---------<br>"
                                    "From: Hotel<br>Dear guest, HX-99814</p>");
}
END_TEST

/* A mail's subject follows the API's rule for subjects: one line of
 * visible text. Zero-width characters alone are no subject; a line or
 * paragraph separator or a C1 control (NEL) inside an encoded word is a
 * space, and the blanks around it go. */
START_TEST(a_new_tickets_subject_from_mail_is_one_visible_line)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "First contact");
    struct mail m = {.from = c.email, .to = OWN, .subject = "=?UTF-8?Q?=E2=80=8B=E2=80=8B?=",
                     .body = "Where is my refund?\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    m.subject = "=?UTF-8?Q?=E2=80=8BLine_one=E2=80=A8line_two=C2=85?=";
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    /* Cut to 200 characters just after a space: the space goes too. */
    char a199[200];
    memset(a199, 'a', 199);
    a199[199] = '\0';
    m.subject = sp_t_fmt("%s b", a199);
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(subject, '|' ORDER BY id) FROM support_tickets"
                              " WHERE customer_id = '%s' AND source = 'email'", c.u.sub),
                     sp_t_fmt("(no subject)|Line one line two|%s", a199));
}
END_TEST

/* A new mail counts against the ticket create limits (75: the MTA tries
 * again later), and an address two customers share names nobody. */
START_TEST(new_tickets_by_mail_are_limited_and_need_one_owner)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "Within the minute");
    struct mail m = {.from = c.email, .to = OWN, .subject = "Another one", .body = "Hi\r\n",
                     .setting = "SUPPORT_TICKET_RATE_PER_MINUTE=1"};
    deliver_expect(&m, EX_TEMPFAIL, "too many new tickets");
    struct customer twin = customer_new();
    twin.email = c.email;
    twin.u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, twin.u.sub,
                                     sp_t_fmt("{\"email\":%s}", sp_t_jq(c.email)));
    sp_t_ticket_create(&twin.u, "Same address");
    m.setting = NULL;
    deliver_expect(&m, EX_NOPERM, "more than one account has this address");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE source = 'email'"
                              " AND customer_id IN ('%s', '%s')", c.u.sub, twin.u.sub), "0");
}
END_TEST

/* The MTA delivers a mail again (it did not hear our answer): the same
 * ticket, and the limit is not spent on it. */
START_TEST(a_new_ticket_mail_delivered_again_does_not_count_against_the_limit)
{
    sp_t_away_from_window_edges(15, 60);
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "One of two this minute");
    struct mail m = {.from = c.email, .to = OWN, .subject = "Two of two", .body = "Hi\r\n",
                     .message_id = sp_t_unique("again"),
                     .setting = "SUPPORT_TICKET_RATE_PER_MINUTE=2"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    m.message_id = NULL;
    m.subject = "Three of two";
    deliver_expect(&m, EX_TEMPFAIL, "too many new tickets");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE source = 'email'"
                              " AND customer_id = '%s'", c.u.sub), "1");
}
END_TEST

/* A repeat is the same mail, not only the same Message-ID: another mail
 * under a reused Message-ID is taken as its own (never lost), and the
 * same mail delivered again, or to a second of our addresses (other
 * Received/Delivered-To headers), is taken once. */
START_TEST(a_reused_message_id_does_not_lose_another_mail)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "First contact");
    const char *mid = sp_t_unique("reused");
    struct mail m = {.from = c.email, .to = OWN, .subject = "Lost luggage",
                     .body = "My suitcase did not arrive.\r\n", .message_id = mid};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    struct mail other = m;
    other.subject = "Refund";
    other.body = "Please refund booking 42.\r\n";
    deliver_expect(&other, 0, "\"outcome\":\"ticket\"");
    struct mail same_subject = m;
    same_subject.body = "A different text.\r\n";
    deliver_expect(&same_subject, 0, "\"outcome\":\"ticket\"");
    m.recipient = "help@example.test";
    m.headers = "Received: from mx2.example.test by mx.example.test\r\n"
                "Delivered-To: help@example.test\r\n";
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(subject, '|' ORDER BY id) FROM support_tickets"
                              " WHERE customer_id = '%s' AND source = 'email'", c.u.sub),
                     "Lost luggage|Refund|Lost luggage");
    /* A reply under a Message-ID used before is a reply of its own too. */
    const char *id = sp_t_sql("SELECT public_id FROM support_tickets WHERE customer_id = '%s'"
                              " AND source = 'email' ORDER BY id LIMIT 1", c.u.sub);
    struct mail reply = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Lost",
                         .body = "Found it, thanks.\r\n", .message_id = mid};
    deliver_expect(&reply, 0, "\"outcome\":\"reply\"");
    deliver_expect(&reply, 0, "\"outcome\":\"duplicate\"");
    ck_assert_str_eq(last_body(id), "<p>Found it, thanks.</p>");
    ck_assert_int_eq(messages(id, "customer"), 2);
}
END_TEST

/* Without a Message-ID the mail is known by From, Date, subject and body:
 * the whole raw mail was hashed, so the same mail delivered to a second
 * of our addresses (other Received/Delivered-To) made a second ticket. */
START_TEST(a_mail_without_message_id_delivered_to_two_addresses_is_taken_once)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "First contact");
    struct mail m = {.from = c.email, .to = OWN, .subject = "No id", .no_message_id = true,
                     .headers = "Date: Fri, 4 Dec 2026 10:00:00 +0000\r\n",
                     .body = "Sent by an old mail program.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    m.recipient = "help@example.test";
    m.headers = "Date: Fri, 4 Dec 2026 10:00:00 +0000\r\nReceived: from mx2.example.test\r\n"
                "Delivered-To: help@example.test\r\n";
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    /* written again later: another mail */
    m.headers = "Date: Fri, 4 Dec 2026 11:30:00 +0000\r\n";
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE customer_id = '%s'"
                              " AND source = 'email'", c.u.sub), "2");
}
END_TEST

/* QA: the same mail piped once with CRLF line ends and once with LF (an
 * MTA's pipe hands LF, a resend or another MX may keep CRLF) made two
 * tickets. Its body is known with its line ends made LF: one ticket,
 * with or without a Message-ID, and a reply is taken once too. */
START_TEST(the_same_mail_with_lf_or_crlf_line_ends_is_taken_once)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "First contact");
    struct mail m = {.from = c.email, .to = OWN, .subject = "Line ends",
                     .message_id = sp_t_unique("lines"),
                     .body = "My booking:\r\n\r\n  42, Lisbon\r\n-- \r\nZoe\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    m.lf = true;
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    m.no_message_id = true;
    m.headers = "Date: Fri, 4 Dec 2026 10:00:00 +0000\r\n";
    m.subject = "Line ends, no id";
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    m.lf = false;
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    ck_assert_int_eq(email_tickets(c.u.sub), 2);
    m = (struct mail){.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: First",
                      .message_id = sp_t_unique("lines"), .body = "One\r\nreply.\r\n", .lf = true};
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    m.lf = false;
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    ck_assert_int_eq(messages(id, "customer"), 2);
}
END_TEST

/* n one-pixel PNGs inline in a multipart/mixed, the text first or last. */
static const char *
many_inline(const char *text, bool text_last, size_t n)
{
    unsigned char b64[1024];
    EVP_EncodeBlock(b64, sp_t_png, (int)sizeof(sp_t_png));
    const char *text_part = sp_t_fmt("--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                                     "%s\r\n", text);
    const char *one = sp_t_fmt("--b1\r\nContent-Type: image/png\r\nContent-Disposition: inline"
                               "\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n", b64);
    const char *files = sp_t_repeat(one, n);
    return text_last ? sp_t_fmt("%s%s--b1--\r\n", files, text_part)
                     : sp_t_fmt("%s%s--b1--\r\n", text_part, files);
}

/* Past the parts the parser keeps (SP_MAIL_MAX_PARTS), the text is still
 * found and every file is counted; a mail nested deeper than we read is
 * refused (65), not taken without its text. */
START_TEST(a_mail_of_many_parts_keeps_its_text_and_counts_every_file)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Many parts");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: many",
                     .headers = MIXED, .body = many_inline("Text at the end.", true, 150)};
    deliver_expect(&m, 0, "\"files\":10");
    ck_assert_str_eq(last_body(id), "<p>Text at the end.</p><p>[Files of this mail not taken in:"
                                    " attachment-11 (more than 10 files); attachment-12 (more"
                                    " than 10 files); attachment-13 (more than 10 files);"
                                    " attachment-14 (more than 10 files); attachment-15 (more"
                                    " than 10 files); and 135 more]</p>");
    m.body = many_inline("Text first.", false, 3000);
    deliver_expect(&m, 0, "\"files\":10");
    ck_assert_ptr_nonnull(strstr(last_body(id), "; and 2985 more]"));
    const char *deep = "Content-Type: text/plain\r\n\r\nlost text\r\n";
    for (int i = 0; i < 20; i++)
        deep = sp_t_fmt("Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n"
                        "--n%d\r\n%s--n%d--\r\n", i, i, deep, i);
    m.headers = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n";
    m.body = sp_t_fmt("--x\r\n%s--x--\r\n", deep);
    deliver_expect(&m, EX_DATAERR, "MIME parts nested more than 8 deep");
    ck_assert_int_eq(messages(id, "customer"), 3);
}
END_TEST

/* A header block over 256 KiB is refused (65, bounced: docs/API.md §11,
 * Limits of what is read), and nothing of the mail is kept. */
START_TEST(a_header_block_over_256_kib_is_refused)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Big headers");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: big",
                     .headers = sp_t_fmt("X-Big: %s\r\n", sp_t_repeat("x", 256 * 1024)),
                     .body = "Hidden under the headers.\r\n"};
    deliver_expect(&m, EX_DATAERR, "header block over 256 KiB");
    ck_assert_int_eq(messages(id, "customer"), 1);
    /* just under the limit, the same mail is taken */
    m.headers = sp_t_fmt("X-Big: %s\r\n", sp_t_repeat("x", 255 * 1024));
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_int_eq(messages(id, "customer"), 2);
}
END_TEST

/* Delivers an HTML-only mail from c to ticket id's reply address;
 * asserts it became a reply, and returns the ticket's last body. */
static const char *
html_reply_body(const struct customer *c, const char *id, const char *subject,
                const char *html)
{
    struct mail m = {.from = c->email, .to = reply_address(KEYS, id), .subject = subject,
                     .headers = "Content-Type: text/html; charset=utf-8\r\n", .body = html};
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    return last_body(id);
}

/* An HTML-only reply that forwards (its subject says so) keeps what it
 * forwards, though Gmail wraps it in a gmail_quote, as the text/plain
 * alternative would; a reply that does not forward loses its quote. */
START_TEST(an_html_only_reply_that_forwards_keeps_the_forward)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Hotel");
    ck_assert_str_eq(html_reply_body(&c, id, "Fwd: Hotel",
                                     "<div>See below</div><div class=\"gmail_quote\"><div"
                                     " class=\"gmail_attr\">---------- Forwarded message"
                                     " ---------<br>From: Hotel</div><div>Dear guest,"
                                     " HX-99815</div></div>\r\n"),
                     "<p>See below<br>---------- Forwarded message ---------<br>"
                     "From: Hotel<br>Dear guest, HX-99815</p>");
    ck_assert_str_eq(html_reply_body(&c, id, "Re: Hotel",
                                     "<div>Thanks</div><div class=\"gmail_quote\"><div"
                                     " class=\"gmail_attr\">On Mon, Support wrote:</div>"
                                     "<blockquote class=\"gmail_quote\">old</blockquote>"
                                     "</div>\r\n"),
                     "<p>Thanks</p>");
}
END_TEST

/* A follow-up keeps the closed ticket's category (while offered) and
 * its agent, as Zendesk's and Zammad's do. */
START_TEST(reply_to_a_closed_ticket_opens_a_follow_up)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Closed long ago");
    const char *cat = sp_t_admin_category_new("\"routing\":\"manual\"");
    const char *agent = sp_t_db_agent_new();
    sp_t_sql("UPDATE support_tickets SET category_id = (SELECT id FROM support_categories"
             " WHERE slug = '%s') WHERE public_id = '%s' RETURNING 1", cat, id);
    sp_t_db_ticket_assign(id, agent);
    sp_t_db_ticket_set_status(id, "closed");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Closed",
                     .headers = "Content-Type: text/html; charset=utf-8\r\n",
                     .body = "<div>It broke <b>again</b>.</div>"
                             "<div class=\"gmail_quote\">On Mon … wrote:<blockquote>old"
                             "</blockquote></div>"};
    deliver_expect(&m, 0, "\"outcome\":\"follow_up\"");
    ck_assert_int_eq(messages(id, "customer"), 1);
    const char *next = sp_t_sql("SELECT public_id FROM support_tickets WHERE customer_id = '%s'"
                                " AND metadata->>'follow_up_of' = '%s'", c.u.sub, id);
    ck_assert_ptr_nonnull(next);
    ck_assert_str_eq(last_body(next), "<p>It broke again.</p>");
    ck_assert_str_eq(sp_t_sql("SELECT c.slug || '/' || t.assigned_agent_id FROM support_tickets t"
                              " JOIN support_categories c ON c.id = t.category_id"
                              " WHERE t.public_id = '%s'", next), sp_t_fmt("%s/%s", cat, agent));
    /* A category no longer offered is not carried on. */
    sp_t_sql("UPDATE support_categories SET is_active = false WHERE slug = '%s' RETURNING 1", cat);
    const char *again = sp_t_ticket_create(&c.u, "Closed too");
    sp_t_sql("UPDATE support_tickets SET category_id = (SELECT id FROM support_categories"
             " WHERE slug = '%s') WHERE public_id = '%s' RETURNING 1", cat, again);
    sp_t_db_ticket_set_status(again, "closed");
    m.to = reply_address(KEYS, again);
    m.headers = "Content-Type: text/plain; charset=utf-8\r\nMessage-ID: <again@example.com>\r\n";
    m.body = "Still broken.";
    deliver_expect(&m, 0, "\"outcome\":\"follow_up\"");
    ck_assert_str_eq(sp_t_sql("SELECT coalesce(category_id::text, 'none') FROM support_tickets"
                              " WHERE metadata->>'follow_up_of' = '%s'", again), "none");
}
END_TEST

/* QA: an HTML-only mail lost its links' targets. The stored text keeps
 * each http(s)/mailto target after its link's text, escaped like the
 * rest: words, never a link or markup. */
START_TEST(an_html_only_mail_keeps_its_links_targets)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Links");
    ck_assert_str_eq(html_reply_body(&c, id, "Re: Links",
                                     "<p>Pay <a href=\"https://pay.example/1?a=1&amp;b=2\">here"
                                     "</a>, not <a href=\"javascript:alert(1)\">there</a>.</p>"),
                     "<p>Pay here &lt;https://pay.example/1?a=1&amp;b=2&gt;, not there.</p>");
}
END_TEST

/* QA: a From of "zoe"@… (a quoted local part that needs no quotes) was
 * not the customer's address: it is the same mailbox (RFC 5322). */
START_TEST(a_quoted_local_part_is_the_same_sender)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Quoted");
    const char *at = strchr(c.email, '@');
    struct mail m = {.from = sp_t_fmt("\"%.*s\"%s", (int)(at - c.email), c.email, at),
                     .sender = c.email, .to = reply_address(KEYS, id), .subject = "Re: Quoted",
                     .body = "Quoted me.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>Quoted me.</p>");
}
END_TEST

/* QA: an internationalized sender is one sender in any form (docs/API.md
 * §2): a customer stored as jürgen.<tag>@bücher.example opens a ticket
 * from the address in capitals and answers from the domain's xn-- form.
 * A contact stored before that normalization still speaks from the form
 * it was stored in (mail-in tries that older index too), and from the
 * xn-- form of it. */
START_TEST(an_idn_sender_is_known_in_any_form_and_by_an_older_index)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *tag = sp_t_unique("idn");
    const char *email = sp_t_fmt("jürgen.%s@bücher.example", tag);
    u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub,
                                sp_t_fmt("{\"name\":\"Zoë\",\"email\":%s}", sp_t_jq(email)));
    const char *id = sp_t_ticket_create(&u, "IDN");
    struct mail m = {.from = sp_t_fmt("JÜRGEN.%s@BÜCHER.EXAMPLE", tag), .to = OWN,
                     .subject = "Neu", .body = "From the capitals.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    ck_assert_int_eq(email_tickets(u.sub), 1);
    m = (struct mail){.from = sp_t_fmt("jürgen.%s@xn--bcher-kva.example", tag),
                      .to = reply_address(KEYS, id), .subject = "Re: IDN",
                      .body = "From the A-label.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>From the A-label.</p>");

    sp_t_db_contact_make_legacy(u.sub, "Zoë", email);
    m.from = email;
    m.body = "From the stored form.\r\n";
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>From the stored form.</p>");
    m.from = sp_t_fmt("jürgen.%s@xn--bcher-kva.example", tag);
    m.body = "From the A-label, stored before.\r\n";
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>From the A-label, stored before.</p>");
}
END_TEST

/* A text/plain alternative with nothing a reader sees (a BOM, no-break
 * and zero-width spaces, a control) gives way to the HTML one: kept, it
 * was stored as no text and the mail bounced as empty. */
START_TEST(a_plain_alternative_with_nothing_visible_gives_way_to_the_html)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Invisible plain part");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Invisible",
                     .headers = "MIME-Version: 1.0\r\n"
                                "Content-Type: multipart/alternative; boundary=alt\r\n",
                     .body = "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                             "\xef\xbb\xbf \xc2\xa0\xe2\x80\x8b\x01\r\n"
                             "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                             "<p>The words are here.</p>\r\n--alt--\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>The words are here.</p>");
}
END_TEST

/* ---- threading: answers sent to the plain support address ---------------- */

#define DOMAIN "example.test"   /* OWN's: our mails' Message-IDs are on it */

/* The thread headers a mail program writes answering our mail #outbox
 * about ticket id on domain (In-Reply-To our Message-ID; References our
 * References and our Message-ID). */
static const char *
answer_headers(const char *id, const char *domain, int outbox)
{
    return sp_t_fmt("In-Reply-To: <outbox-%d@%s>\r\nReferences: <ticket-%s@%s>\r\n"
                    " <outbox-%d@%s>\r\n", outbox, domain, id, domain, outbox, domain);
}

/* QA: a customer answered a ticket's mail but to support@ (their mail
 * program dropped Reply-To, or replies are unsigned): a new ticket was
 * opened. Its References name the ticket: the answer lands there, as a
 * reply (reopening it) or, when closed, as a follow-up. A signed reply
 * address still wins over them. */
START_TEST(an_answer_to_the_plain_address_threads_by_its_references)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Refund for booking");
    sp_t_db_ticket_set_status(id, "pending_customer");
    struct mail m = {.from = c.email, .to = OWN, .subject = "Re: Your refund",
                     .headers = answer_headers(id, DOMAIN, 2336),
                     .message_id = sp_t_unique("threaded"),
                     .body = "Here is the booking number: 42.\r\n" QUOTED};
    const char *out;
    ck_assert_int_eq(deliver(&m, &out), 0);
    ck_assert_msg(strstr(out, "\"outcome\":\"reply\"") && strstr(out, sp_t_fmt("\"%s\"", id)) &&
                  strstr(out, "\"via\":\"references\""), "%s", out);
    ck_assert_str_eq(last_body(id), "<p>Here is the booking number: 42.</p>");
    ck_assert_int_eq(messages(id, "customer"), 2);
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_tickets WHERE public_id = '%s'", id),
                     "open");
    ck_assert_int_eq(email_tickets(c.u.sub), 0);
    /* Taken once, as any mail. */
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    ck_assert_int_eq(messages(id, "customer"), 2);
    m.message_id = NULL;
    /* Closed: a follow-up, as through the reply address. */
    sp_t_db_ticket_set_status(id, "closed");
    m.body = "It broke again.\r\n";
    deliver_expect(&m, 0, "\"outcome\":\"follow_up\"");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE customer_id = '%s'"
                              " AND metadata->>'follow_up_of' = '%s'", c.u.sub, id), "1");
    /* The signed reply address wins over what References say. */
    const char *other = sp_t_ticket_create(&c.u, "Another matter");
    m.to = reply_address(KEYS, other);
    m.body = "About the other matter.\r\n";
    deliver_expect(&m, 0, "\"via\":\"reply_address\"");
    ck_assert_str_eq(last_body(other), "<p>About the other matter.</p>");
    /* A reply address that does not verify is refused unless the mail's
     * references name a ticket of the sender's: then it lands there. */
    char *forged = (char *)sp_t_fmt("%s", m.to);
    char *at = strchr(forged, '@');
    at[-1] = at[-1] == '0' ? '1' : '0';
    m.to = forged;
    m.headers = answer_headers(other, DOMAIN, 7);
    m.body = "Sent to an old reply address.\r\n";
    deliver_expect(&m, 0, "\"via\":\"references\"");
    ck_assert_str_eq(last_body(other), "<p>Sent to an old reply address.</p>");
    m.headers = NULL;
    m.body = "No references.\r\n";
    deliver_expect(&m, EX_NOUSER, "the reply address is not one of ours");
}
END_TEST

/* Without any thread header, the "[PUBLICID]" our subjects end with
 * names the ticket (the last tag: a ticket's subject may hold another's).
 * A reply is taken even when new tickets by mail are off. */
START_TEST(an_answer_with_only_the_subject_tag_lands_on_the_ticket)
{
    struct customer c = customer_new();
    const char *old = sp_t_ticket_create(&c.u, "Refund for booking");
    const char *id = sp_t_ticket_create(&c.u, sp_t_fmt("Re: Refund for booking [%s]", old));
    struct mail m = {.from = c.email, .to = OWN,
                     .subject = sp_t_fmt("Re: Re: Refund for booking [%s] [%s]", old, id),
                     .body = "Any news?\r\n", .new_tickets = "0"};
    deliver_expect(&m, 0, "\"via\":\"subject\"");
    ck_assert_str_eq(last_body(id), "<p>Any news?</p>");
    ck_assert_int_eq(messages(old, "customer"), 1);
    ck_assert_int_eq(email_tickets(c.u.sub), 0);
}
END_TEST

/* The thread headers and the subject are the sender's word: a ticket of
 * another customer is passed over as if not named, and the mail is a new
 * mail from its sender, exactly as without the reference (a new ticket,
 * or the same refusal), so nothing tells the sender the ticket exists. */
START_TEST(a_reference_to_another_customers_ticket_does_not_land_on_it)
{
    struct customer c = customer_new(), mallory = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Mine");
    sp_t_ticket_create(&mallory.u, "Stores mallory's address");
    struct mail m = {.from = mallory.email, .to = OWN,
                     .subject = sp_t_fmt("Re: Mine [%s]", id),
                     .headers = answer_headers(id, DOMAIN, 1), .body = "Injected.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    ck_assert_int_eq(messages(id, "customer"), 1);
    ck_assert_int_eq(email_tickets(mallory.u.sub), 1);
    m.new_tickets = "0";
    deliver_expect(&m, EX_NOUSER, "takes replies to our mails only");
    m.from = "stranger@example.net";
    m.new_tickets = NULL;
    deliver_expect(&m, EX_NOUSER, "we know no customer with this address");
    ck_assert_int_eq(messages(id, "customer"), 1);
    /* The same mail from the ticket's customer lands. */
    m.from = c.email;
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_int_eq(messages(id, "customer"), 2);
}
END_TEST

/* Only thread ids on our own domain (SUPPORT_MAIL_FROM's, in any case)
 * name our tickets: anyone can write "ticket-<id>@evil". */
START_TEST(a_reference_on_another_domain_is_ignored)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Domains");
    struct mail m = {.from = c.email, .to = OWN, .subject = "Re: Domains",
                     .headers = answer_headers(id, "evil", 1), .body = "From afar.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"ticket\"");
    m.headers = answer_headers(id, "Example.TEST", 2);
    m.body = "From home.\r\n";
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>From home.</p>");
    ck_assert_int_eq(messages(id, "customer"), 2);
    ck_assert_int_eq(email_tickets(c.u.sub), 1);
}
END_TEST

/* The newest follow-up of ticket id (NULL: none) by the link support-mail-in
 * writes (sql/065), checked against what the API shows (metadata). */
static const char *
follow_up(const char *id)
{
    const char *f = sp_t_sql("SELECT f.public_id FROM support_tickets f JOIN support_tickets t"
                             " ON t.id = f.follow_up_of WHERE t.public_id = '%s'"
                             " ORDER BY f.id DESC LIMIT 1", id);
    if (f != NULL)
        ck_assert_str_eq(sp_t_sql("SELECT metadata->>'follow_up_of' FROM support_tickets"
                                  " WHERE public_id = '%s'", f), id);
    return f;
}

static long
follow_ups(const char *id)
{
    return atol(sp_t_sql("SELECT count(*) FROM support_tickets f JOIN support_tickets t"
                         " ON t.id = f.follow_up_of WHERE t.public_id = '%s'", id));
}

/* QA: every mail to a closed ticket opened a follow-up of its own. As in
 * Zendesk and Zammad, the first one opens it and the later ones of the
 * thread (to the closed ticket, or to the follow-up, by reply address or
 * by references) join it while it is not closed; once it is, the next
 * mail opens a follow-up of the follow-up, which the rest then join. */
START_TEST(later_answers_to_a_closed_ticket_join_its_follow_up)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Closed thread");
    sp_t_db_ticket_set_status(id, "closed");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Closed",
                     .body = "First answer.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"follow_up\"");
    const char *f = follow_up(id);
    ck_assert_ptr_nonnull(f);
    m.body = "Second answer, to the closed ticket's address.\r\n";
    deliver_expect(&m, 0, sp_t_fmt("\"outcome\":\"reply\",\"ticket\":\"%s\"", f));
    m = (struct mail){.from = c.email, .to = OWN, .subject = "Re: Closed",
                      .headers = answer_headers(id, DOMAIN, 21), .body = "Third, threaded.\r\n"};
    deliver_expect(&m, 0, sp_t_fmt("\"outcome\":\"reply\",\"ticket\":\"%s\"", f));
    m = (struct mail){.from = c.email, .to = reply_address(KEYS, f), .subject = "Re: Closed",
                      .body = "Fourth, to the follow-up.\r\n"};
    deliver_expect(&m, 0, sp_t_fmt("\"outcome\":\"reply\",\"ticket\":\"%s\"", f));
    ck_assert_int_eq(messages(f, "customer"), 4);
    ck_assert_int_eq(follow_ups(id), 1);
    ck_assert_int_eq(messages(id, "customer"), 1);
    /* The follow-up closed too: the thread goes on in a follow-up of it. */
    sp_t_db_ticket_set_status(f, "closed");
    m = (struct mail){.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Closed",
                      .body = "Broken again.\r\n"};
    deliver_expect(&m, 0, "\"outcome\":\"follow_up\"");
    const char *f2 = follow_up(f);
    ck_assert_ptr_nonnull(f2);
    m.to = reply_address(KEYS, f);
    m.body = "Still broken.\r\n";
    deliver_expect(&m, 0, sp_t_fmt("\"outcome\":\"reply\",\"ticket\":\"%s\"", f2));
    ck_assert_int_eq(messages(f2, "customer"), 2);
    ck_assert_int_eq(follow_ups(id), 1);
    ck_assert_int_eq(follow_ups(f), 1);
    ck_assert_int_eq(email_tickets(c.u.sub), 2);
}
END_TEST

/* sql/065 links the follow-ups mailed before it by their metadata: the
 * closed ones and the newest open one of a ticket, only of the ticket's
 * own customer (metadata is the client's to write); run twice, the same. */
START_TEST(the_migration_links_earlier_follow_ups)
{
    struct customer c = customer_new(), other = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Closed before 065");
    const char *f[3], *forged = sp_t_ticket_create(&other.u, "Not theirs");
    for (int i = 0; i < 3; i++)
        f[i] = sp_t_ticket_create(&c.u, "Follow-up before 065");
    sp_t_db_ticket_set_status(id, "closed");
    sp_t_db_ticket_set_status(f[0], "closed");
    sp_t_sql("UPDATE support_tickets SET metadata = jsonb_build_object('follow_up_of', '%s')"
             " WHERE public_id IN ('%s', '%s', '%s', '%s') RETURNING 1", id, f[0], f[1], f[2],
             forged);
    const char *sql = sp_t_migration_text("065_mail_follow_ups.sql");
    for (int run = 0; run < 2; run++) {
        sp_t_sql("%s", sql);
        ck_assert_str_eq(sp_t_sql("SELECT string_agg(f.public_id, ',' ORDER BY f.id)"
                                  " FROM support_tickets f JOIN support_tickets t"
                                  " ON t.id = f.follow_up_of WHERE t.public_id = '%s'", id),
                         sp_t_fmt("%s,%s", f[0], f[2]));
    }
    /* and the thread goes on in the open one */
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Closed",
                     .body = "After the upgrade.\r\n"};
    deliver_expect(&m, 0, sp_t_fmt("\"outcome\":\"reply\",\"ticket\":\"%s\"", f[2]));
}
END_TEST

/* Backends of this database waiting for a lock. */
static long
lock_waiters(void)
{
    return atol(sp_t_sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                         " AND datname = current_database()"));
}

/* Two mails to a closed ticket taken at once open one follow-up: each
 * take locks the closed ticket, and the second, let in after the first's
 * commit, joins the follow-up the first opened. Played with the ticket's
 * row held by a transaction of the test until both takes wait for it. */
START_TEST(two_answers_at_once_to_a_closed_ticket_open_one_follow_up)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Closed, answered twice");
    sp_t_db_ticket_set_status(id, "closed");
    PGconn *hold = sp_t_tx_hold(sp_t_fmt("SELECT 1 FROM support_tickets WHERE public_id = '%s'"
                                         " FOR UPDATE", id));
    struct sp_t_job j[2];
    for (int i = 0; i < 2; i++) {
        struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Closed",
                         .body = sp_t_fmt("Answer %d.\r\n", i)};
        deliver_start(&m, &j[i]);
    }
    for (int tries = 0; lock_waiters() < 2; tries++) {
        ck_assert_msg(tries < 600, "the takes never waited for the closed ticket's lock");
        usleep(50 * 1000);
    }
    sp_t_tx_release(hold);
    const char *out[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(sp_t_job_wait(&j[i], &out[i]), 0);
    ck_assert_int_eq(follow_ups(id), 1);
    ck_assert_int_eq(email_tickets(c.u.sub), 1);
    ck_assert_int_eq(messages(follow_up(id), "customer"), 2);
    ck_assert_msg((strstr(out[0], "\"outcome\":\"follow_up\"") != NULL) !=
                      (strstr(out[1], "\"outcome\":\"follow_up\"") != NULL),
                  "%s\n%s", out[0], out[1]);
}
END_TEST


/* The database down: the MTA is told to try again later (75), and the
 * mail is taken when it does. */
START_TEST(database_down_defers_the_mail)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Deferred");
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Deferred",
                     .message_id = sp_t_unique("deferred"), .body = "Later is fine.\r\n",
                     .setting = "SUPPORT_DATABASE_URL=postgresql://127.0.0.1:1/support"};
    deliver_expect(&m, EX_TEMPFAIL, "support-mail-in: ");
    ck_assert_int_eq(messages(id, "customer"), 1);
    m.setting = NULL;
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    ck_assert_str_eq(last_body(id), "<p>Later is fine.</p>");
}
END_TEST

/* A database that accepts and never answers: the mail is deferred (75)
 * at the statement timeout plus the margin, as the jobs give up (QA: the
 * connect and statements had no client-side bound, so the MTA's pipe
 * hung until its own timeout). */
START_TEST(a_database_that_does_not_answer_defers_the_mail)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Silent");
    int fd;
    const char *url = sp_t_silent_database(&fd);
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Silent",
                     .body = "Anyone there?\r\n",
                     .setting = sp_t_fmt("SUPPORT_DATABASE_URL=%s", url)};
    time_t started = time(NULL);
    deliver_expect(&m, EX_TEMPFAIL, "support-mail-in: the database is unavailable");
    ck_assert_int_lt(time(NULL) - started, 15);   /* 5 s timeout + 5 s margin */
    close(fd);
    ck_assert_int_eq(messages(id, "customer"), 1);
}
END_TEST

/* QA: 40 mails to one reply address in 14 s were 40 replies, and 40
 * mails to the agent. An answer by mail counts against the customer's
 * reply limit, a new ticket by mail against the create limits, each in
 * the web's own bucket (one count for both ways in): past it the mail is
 * deferred (75) for the MTA to try later, nothing is kept, and the log
 * says which limit. A repeat of a mail taken is still a duplicate. */
START_TEST(replies_by_mail_count_against_the_webs_reply_limit)
{
    sp_t_away_from_window_edges(15, 60);
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Flood");
    const char *other = sp_t_ticket_create(&c.u, "Other");
    sp_t_ticket_reply(&c.u, other, "From the web.");   /* 1 of 3, on another ticket */
    struct mail m = {.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Flood",
                     .body = "One.\r\n", .setting = "SUPPORT_TICKET_REPLY_RATE_PER_MINUTE=3"};
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    m.body = "Two.\r\n";
    m.message_id = sp_t_unique("two");
    deliver_expect(&m, 0, "\"outcome\":\"reply\"");
    const char *two = m.message_id;
    m.body = "Three.\r\n";
    m.message_id = NULL;
    const char *out;
    ck_assert_int_eq(deliver(&m, &out), EX_TEMPFAIL);
    ck_assert_msg(strstr(out, "too many replies: try again in") &&
                  strstr(out, "\"refused\":\"rate_limited\",\"why\":\"ticket_reply\""),
                  "%s", out);
    /* threaded by its references, the same */
    m.to = OWN;
    m.headers = answer_headers(id, DOMAIN, 14);
    deliver_expect(&m, EX_TEMPFAIL, "too many replies");
    ck_assert_int_eq(messages(id, "customer"), 3);
    /* the MTA repeating a mail it delivered: taken before, not counted */
    m = (struct mail){.from = c.email, .to = reply_address(KEYS, id), .subject = "Re: Flood",
                      .body = "Two.\r\n", .message_id = two,
                      .setting = "SUPPORT_TICKET_REPLY_RATE_PER_MINUTE=3"};
    deliver_expect(&m, 0, "\"outcome\":\"duplicate\"");
    /* a new ticket by mail: the create limit, counted with the web's two */
    m = (struct mail){.from = c.email, .to = OWN, .subject = "A third", .body = "Hi\r\n",
                      .setting = "SUPPORT_TICKET_RATE_PER_MINUTE=2"};
    deliver_expect(&m, EX_TEMPFAIL, "\"why\":\"ticket_create\"");
    ck_assert_int_eq(email_tickets(c.u.sub), 0);
}
END_TEST

/* SUPPORT_MAIL_AUTHSERV_ID: our MTA's authserv-id (RFC 8601). */
#define AUTHSERV "mx.example.test"
#define VERIFY "SUPPORT_MAIL_AUTHSERV_ID=" AUTHSERV

/* Our MTA's Authentication-Results line for a mail from email, saying
 * dmarc=result (folded, as MTAs write it). */
static const char *
stamp(const char *authserv, const char *result, const char *email)
{
    return sp_t_fmt("Authentication-Results: %s;\r\n\tspf=none smtp.helo=mail.example.net;"
                    "\r\n\tdmarc=%s (p=reject dis=none) header.from=%s\r\n", authserv, result,
                    strchr(email, '@') + 1);
}

/* With the setting, a mail whose From our MTA vouches for (DMARC, the
 * id in any case) threads and opens tickets as before, and the log says
 * what vouched. */
START_TEST(a_from_our_mta_vouches_for_is_taken)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Verified");
    struct mail m = {.from = c.email, .to = OWN, .subject = "Re: Verified",
                     .headers = answer_headers(id, DOMAIN, 11), .body = "Vouched for.\r\n",
                     .setting = VERIFY, .stamped = stamp("MX.Example.Test", "pass", c.email)};
    const char *out;
    ck_assert_int_eq(deliver(&m, &out), 0);
    ck_assert_msg(strstr(out, "\"via\":\"references\"") &&
                  strstr(out, "\"sender_auth\":\"dmarc_pass\"") &&
                  !strstr(out, "mail_in_from_unverified"), "%s", out);
    ck_assert_str_eq(last_body(id), "<p>Vouched for.</p>");
    /* A new mail; an aligned DKIM pass where the domain has no DMARC policy. */
    m.headers = NULL;
    m.subject = "Something new";
    m.stamped = sp_t_fmt("Authentication-Results: " AUTHSERV "; dmarc=none;"
                         " dkim=pass header.d=%s\r\n", strchr(c.email, '@') + 1);
    deliver_expect(&m, 0, "\"sender_auth\":\"dkim_pass\"");
    ck_assert_int_eq(email_tickets(c.u.sub), 1);
}
END_TEST

/* Someone who knows a customer's address and a ticket id writes as them
 * to the plain address: with the setting, a From our MTA does not vouch
 * for is refused as an unknown sender is (67), whatever the mail names,
 * and the log says why (no address). */
START_TEST(a_from_our_mta_does_not_vouch_for_is_refused)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Spoofed");
    struct mail m = {.from = c.email, .to = OWN, .subject = sp_t_fmt("Re: Spoofed [%s]", id),
                     .headers = answer_headers(id, DOMAIN, 12), .body = "Injected.\r\n",
                     .setting = VERIFY, .stamped = stamp(AUTHSERV, "fail", c.email)};
    const char *why = "we could not verify that this mail comes from the domain";
    deliver_expect(&m, EX_NOUSER, why);
    deliver_expect(&m, EX_NOUSER, "\"sender_auth\":\"dmarc_not_pass\"");
    /* A pass from another authserv-id only (the sender can write that) */
    m.stamped = stamp("mx.evil.example", "pass", c.email);
    deliver_expect(&m, EX_NOUSER, "\"sender_auth\":\"no_header\"");
    /* Ours, with nothing checked; no header at all */
    m.stamped = "Authentication-Results: " AUTHSERV "; none\r\n";
    deliver_expect(&m, EX_NOUSER, "\"sender_auth\":\"not_aligned\"");
    m.stamped = NULL;
    deliver_expect(&m, EX_NOUSER, "\"refused\":\"unverified_sender\"");
    /* Ours says fail; an older one of our id below it (written by the
     * sender) says pass: the topmost counts. */
    m.stamped = stamp(AUTHSERV, "fail", c.email);
    m.headers = sp_t_fmt("%s%s", answer_headers(id, DOMAIN, 12),
                         stamp(AUTHSERV, "pass", c.email));
    deliver_expect(&m, EX_NOUSER, why);
    /* Through a signed reply address, and as a new mail, the same */
    m.to = reply_address(KEYS, id);
    deliver_expect(&m, EX_NOUSER, why);
    m.to = OWN;
    m.headers = NULL;
    m.subject = "New";
    deliver_expect(&m, EX_NOUSER, why);
    ck_assert_int_eq(messages(id, "customer"), 1);
    ck_assert_int_eq(email_tickets(c.u.sub), 0);
}
END_TEST

/* QA: From read otherwise than a DMARC checker reads it let a sender
 * pass as a customer. Each mail below was a ticket of the customer: a
 * bare CR or a NUL inside From (a checker reads eve's, we read the
 * customer's), two Froms (we took the first), two mailboxes in From.
 * Each is refused (65, bounced), the log saying why, with or without
 * SUPPORT_MAIL_AUTHSERV_ID, and nothing is made. A dmarc=pass that does
 * not name header.from vouches for no From: a mail whose header says
 * only that is refused as unverified (67). */
START_TEST(a_from_that_reads_two_ways_is_refused)
{
    struct customer c = customer_new();
    sp_t_ticket_create(&c.u, "First contact");   /* stores the customer's email */
    static const struct {
        const char *before, *after, *why;   /* around the customer's address; \x01: a NUL */
    } cases[] = {
        {"From: eve@evil.test\rFrom: ", "\r\n", "bare_cr_in_header"},
        {"From: eve@evil.test\x01", "\r\n", "nul_in_header"},
        {"From: ", "\r\nFrom: eve@evil.test\r\n", "more_than_one_from"},
        {"From : ", "\r\nfrom: eve@evil.test\r\n", "more_than_one_from"},
        {"From: ", ", eve@evil.test\r\n", "from_not_one_mailbox"},
    };
    struct mail m = {.from = c.email, .to = OWN};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int verify = 0; verify < 2; verify++) {
            m.setting = verify ? VERIFY : NULL;
            char *raw = (char *)sp_t_fmt(
                "Authentication-Results: " AUTHSERV "; dmarc=pass\r\n%sTo: " OWN "\r\n"
                "Subject: Injected\r\nMessage-ID: <%s@x>\r\n\r\nInjected.\r\n",
                sp_t_fmt("%s%s%s", cases[i].before, c.email, cases[i].after),
                sp_t_unique("two"));
            size_t n = strlen(raw);
            for (size_t k = 0; k < n; k++)
                raw[k] = raw[k] == '\x01' ? '\0' : raw[k];
            struct sp_t_job j;
            const char *out;
            deliver_raw_start(&m, raw, n, &j);
            int rc = sp_t_job_wait(&j, &out);
            ck_assert_msg(rc == EX_DATAERR && strstr(out, "\"refused\":\"bad_message\"") &&
                              strstr(out, sp_t_fmt("\"why\":\"%s\"", cases[i].why)),
                          "%s: exit %d: %s", cases[i].why, rc, out);
        }
    }
    ck_assert_int_eq(email_tickets(c.u.sub), 0);
    /* One clean From, but our header's pass names no domain: which From
     * passed is not said. */
    m.setting = VERIFY;
    m.subject = "Vouched for?";
    m.body = "Hi\r\n";
    m.stamped = "Authentication-Results: " AUTHSERV "; dmarc=pass\r\n";
    deliver_expect(&m, EX_NOUSER, "\"sender_auth\":\"not_aligned\"");
    ck_assert_int_eq(email_tickets(c.u.sub), 0);
}
END_TEST

/* Neither an authserv-id nor SUPPORT_MAIL_TRUST_FROM=1: a forgotten
 * setting must not take From as written, so support-mail-in refuses to
 * start (EX_CONFIG: the MTA defers the mail) naming both settings, and
 * nothing is stored; with the authserv-id it starts. */
START_TEST(without_an_authserv_id_or_trust_from_mail_in_refuses_to_start)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Deferred");
    struct mail m = {.from = c.email, .to = OWN, .subject = "Re: Deferred",
                     .headers = answer_headers(id, DOMAIN, 14), .body = "Kept back.\r\n",
                     .distrust_from = true};
    const char *out;
    ck_assert_int_eq(deliver(&m, &out), 78 /* EX_CONFIG */);
    ck_assert_msg(strstr(out, "\"event\":\"bad_config\"") &&
                      strstr(out, "SUPPORT_MAIL_AUTHSERV_ID") &&
                      strstr(out, "SUPPORT_MAIL_TRUST_FROM=1"),
                  "%s", out);
    ck_assert_int_eq(messages(id, "customer"), 1);
    m.setting = VERIFY;
    m.stamped = stamp(AUTHSERV, "pass", c.email);
    ck_assert_int_eq(deliver(&m, &out), 0);
    ck_assert_str_eq(last_body(id), "<p>Kept back.</p>");
}
END_TEST

/* The settings file (--env-file) is read as systemd reads it, over the
 * environment: the MTA's pipe runs support-mail-in with it (no sh
 * wrapper, docs/operations.md "Mail in"), a value with a space and `$`
 * taken as written; a refused line defers the mail (EX_CONFIG) naming
 * the file and the line, never its text, and nothing is stored. */
START_TEST(mail_in_reads_its_settings_file_as_systemd_does)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Settings file");
    char dir[] = "/tmp/sp-test-env-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct mail m = {.from = c.email, .to = OWN, .subject = "Re: Settings file",
                     .headers = answer_headers(id, DOMAIN, 15), .body = "From the file.\r\n",
                     .distrust_from = true,
                     .env_file = sp_t_env_file(dir, "SUPPORT_MAIL_FROM_NAME=Acme $upport `x`\n"
                                                    "SUPPORT_MAIL_TRUST_FROM=1\n")};
    const char *out;
    ck_assert_msg(deliver(&m, &out) == 0, "%s", out);
    ck_assert_str_eq(last_body(id), "<p>From the file.</p>");
    sp_t_env_file(dir, "SUPPORT_MAIL_TRUST_FROM=1\nMY SECRET=hunter2\n");
    m.body = "Kept back.\r\n";
    ck_assert_int_eq(deliver(&m, &out), 78 /* EX_CONFIG */);
    ck_assert_msg(strstr(out, sp_t_fmt("\"msg\":\"--env-file %s: line 2: ", m.env_file)) &&
                      !strstr(out, "hunter2"),
                  "%s", out);
    ck_assert_str_eq(last_body(id), "<p>From the file.</p>");
    /* a command line typo (no file named) defers too: 64 would bounce */
    const char *typo[] = {"--env-file", NULL};
    ck_assert_int_eq(sp_t_job_run_input("support-mail-in", NULL, typo, "x", 1, &out), 78);
    ck_assert_msg(strstr(out, "usage: support-mail-in") != NULL, "%s", out);
    unlink(m.env_file);
    rmdir(dir);
}
END_TEST

/* Without the authserv-id, SUPPORT_MAIL_TRUST_FROM=1 takes From as
 * written, and each run says that From is not verified. */
START_TEST(without_the_setting_each_run_warns_that_from_is_unverified)
{
    struct customer c = customer_new();
    const char *id = sp_t_ticket_create(&c.u, "Unverified");
    struct mail m = {.from = c.email, .to = OWN, .subject = "Re: Unverified",
                     .headers = answer_headers(id, DOMAIN, 13), .body = "As before.\r\n",
                     .stamped = stamp(AUTHSERV, "fail", c.email)};
    const char *out;
    ck_assert_int_eq(deliver(&m, &out), 0);
    ck_assert_msg(strstr(out, "\"event\":\"mail_in_from_unverified\"") &&
                  strstr(out, "\"via\":\"references\"") && !strstr(out, "sender_auth"),
                  "%s", out);
    ck_assert_str_eq(last_body(id), "<p>As before.</p>");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("mail_in");
    TCase *tc = sp_t_tcase(s, "mail_in");
    tcase_add_test(tc, reply_becomes_the_customers_message_once);
    tcase_add_test(tc, an_older_key_still_verifies_and_case_does_not_matter);
    tcase_add_test(tc, mail_that_cannot_speak_for_the_ticket_is_refused);
    tcase_add_test(tc, a_reply_below_the_quoted_mail_is_the_customers_message);
    tcase_add_test(tc, a_long_mail_keeps_its_whole_text_as_mail_txt);
    tcase_add_test(tc, files_become_attachments_scanned_before_they_are_served);
    tcase_add_test(tc, a_file_without_text_or_name_opens_a_ticket);
    tcase_add_test(tc, a_file_named_blank_is_named_by_its_place);
    tcase_add_test(tc, files_beyond_the_limits_are_named_not_kept);
    tcase_add_test(tc, robots_are_not_answered);
    tcase_add_test(tc, a_bounce_of_our_mail_marks_it_failed);
    tcase_add_test(tc, a_bounce_of_nothing_of_ours_is_dropped);
    tcase_add_test(tc, a_bounce_finds_a_contact_stored_before_the_canonical_form);
    tcase_add_test(tc, new_mail_from_a_known_customer_opens_a_ticket);
    tcase_add_test(tc, a_forwarded_mail_opening_a_ticket_keeps_the_forwarded_text);
    tcase_add_test(tc, an_html_only_reply_that_forwards_keeps_the_forward);
    tcase_add_test(tc, a_new_tickets_subject_from_mail_is_one_visible_line);
    tcase_add_test(tc, new_tickets_by_mail_are_limited_and_need_one_owner);
    tcase_add_test(tc, a_new_ticket_mail_delivered_again_does_not_count_against_the_limit);
    tcase_add_test(tc, replies_by_mail_count_against_the_webs_reply_limit);
    tcase_add_test(tc, a_reused_message_id_does_not_lose_another_mail);
    tcase_add_test(tc, a_mail_without_message_id_delivered_to_two_addresses_is_taken_once);
    tcase_add_test(tc, the_same_mail_with_lf_or_crlf_line_ends_is_taken_once);
    tcase_add_test(tc, a_mail_of_many_parts_keeps_its_text_and_counts_every_file);
    tcase_add_test(tc, a_header_block_over_256_kib_is_refused);
    tcase_add_test(tc, reply_to_a_closed_ticket_opens_a_follow_up);
    tcase_add_test(tc, an_html_only_mail_keeps_its_links_targets);
    tcase_add_test(tc, a_quoted_local_part_is_the_same_sender);
    tcase_add_test(tc, an_idn_sender_is_known_in_any_form_and_by_an_older_index);
    tcase_add_test(tc, a_plain_alternative_with_nothing_visible_gives_way_to_the_html);
    tcase_add_test(tc, later_answers_to_a_closed_ticket_join_its_follow_up);
    tcase_add_test(tc, two_answers_at_once_to_a_closed_ticket_open_one_follow_up);
    tcase_add_test(tc, the_migration_links_earlier_follow_ups);
    tcase_add_test(tc, database_down_defers_the_mail);
    tcase_add_test(tc, a_database_that_does_not_answer_defers_the_mail);
    tcase_add_test(tc, an_answer_to_the_plain_address_threads_by_its_references);
    tcase_add_test(tc, an_answer_with_only_the_subject_tag_lands_on_the_ticket);
    tcase_add_test(tc, a_reference_to_another_customers_ticket_does_not_land_on_it);
    tcase_add_test(tc, a_reference_on_another_domain_is_ignored);
    tcase_add_test(tc, a_from_our_mta_vouches_for_is_taken);
    tcase_add_test(tc, a_from_our_mta_does_not_vouch_for_is_refused);
    tcase_add_test(tc, without_the_setting_each_run_warns_that_from_is_unverified);
    tcase_add_test(tc, without_an_authserv_id_or_trust_from_mail_in_refuses_to_start);
    tcase_add_test(tc, mail_in_reads_its_settings_file_as_systemd_does);
    tcase_add_test(tc, a_from_that_reads_two_ways_is_refused);
    return sp_t_run(s);
}
