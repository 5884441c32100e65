/*
 * fuzz_mail_parse: libFuzzer target for the inbound mail reader
 * (src/core/mail_parse.c), which reads whatever an MTA pipes to us, and
 * for the reply cutter (src/core/mail_reply.c) that reads its text.
 * Besides crashes and sanitizer reports it aborts when a parsed mail
 * breaks an invariant: a string that is not valid UTF-8 (or holds a NUL
 * before its end), no sender, a CR in the text, more recipients than the
 * cap, more files than parts, a file name that is not one path component
 * of 1 to 255 bytes without controls, a file's content type that is not
 * "type/subtype" in lower case, decoded bytes longer than the input, a
 * header block taken that holds a NUL or a CR that ends no line; when a
 * refusal is not "bad_message" or says no refused_why; a msg-id of
 * References (or of the
 * Message-ID list reader on the raw input) that is empty, longer than
 * SP_MAIL_MSG_ID_MAX, not valid UTF-8, holds white space or a bracket, or
 * more of them than asked for;
 * or when the text with its HTML quotes, or that of an attached mail, is
 * not valid UTF-8 or holds a CR (or the former differs from a plain text);
 * or when a DSN's failed recipients are more than kept, or one of them
 * or its returned mail's Message-ID is not valid UTF-8;
 * or when the text kept of the mail (as a reply, a reply that forwards, a
 * first mail) is not valid UTF-8 or is longer than its input.
 * Build: scripts/dev fuzz mail_parse (replayed by `make check` as
 * t/fuzz/fuzz_mail_parse).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/mail_html.h"
#include "core/mail_parse.h"
#include "core/mail_reply.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, int may_be_null)
{
    if (s == NULL) {
        if (!may_be_null)
            abort();
        return;
    }
    if (!sp_utf8_valid(s, strlen(s)))
        abort();
}

static void
check_file(const struct sp_mail_file *f, size_t input)
{
    check_str(f->filename, 1);
    if (f->filename != NULL) {
        size_t n = strlen(f->filename);
        if (n == 0 || n > SP_MAIL_FILENAME_MAX || strcmp(f->filename, ".") == 0 ||
            strcmp(f->filename, "..") == 0)
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)f->filename[i] < 0x20 || f->filename[i] == '/' ||
                f->filename[i] == '\\')
                abort();
    }
    check_str(f->content_type, 0);
    const char *slash = strchr(f->content_type, '/');
    if (slash == NULL || slash == f->content_type || slash[1] == '\0' || f->len > input ||
        (f->len > 0 && f->data == NULL))
        abort();
    for (const char *c = f->content_type; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            abort();
}

/* What sp_mail_msg_ids hands out: n ids of at most max, each one
 * non-empty, bounded, valid UTF-8 without white space or brackets. */
static void
check_ids(const char *const *ids, size_t n, size_t max)
{
    if (n > max)
        abort();
    for (size_t i = 0; i < n; i++) {
        check_str(ids[i], 0);
        size_t len = strlen(ids[i]);
        if (len == 0 || len > SP_MAIL_MSG_ID_MAX || strpbrk(ids[i], " \t\r\n<>") != NULL)
            abort();
    }
}

/* A header block taken holds no NUL and no CR but before an LF: where
 * it did, another reader (a DMARC checker) could see other headers. */
static void
check_header_block(const char *s, size_t n)
{
    if (memchr(s, '\0', n) != NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
            abort();
}

static void
check_mail(struct sp_arena *a, const struct sp_mail_in *m, const char *raw, size_t input)
{
    check_str(m->from_addr, 0);
    if (m->from_addr[0] == '\0')
        abort();
    check_str(m->from_name, 1);
    check_str(m->subject, 0);
    check_str(m->message_id, 1);
    check_str(m->in_reply_to, 1);
    check_str(m->text, 0);
    if (strchr(m->text, '\r') != NULL || m->nfiles > SP_MAIL_MAX_PARTS ||
        m->nrecipients > SP_MAIL_MAX_RECIPIENTS || m->body_offset > input ||
        m->nfiles_over > input)  /* each counted part is at least a delimiter line */
        abort();
    check_header_block(raw, m->body_offset);
    for (size_t i = 0; i < m->nfiles; i++)
        check_file(&m->files[i], input);
    for (size_t i = 0; i < m->nrecipients; i++)
        check_str(m->recipients[i], 0);
    check_ids(m->references, m->nreferences, SP_MAIL_MAX_REFERENCES);
    check_str(m->text_whole, 0);
    if (strchr(m->text_whole, '\r') != NULL || (!m->text_from_html && m->text_whole != m->text))
        abort();
    if (m->dsn.nfailed_to > SP_MAIL_DSN_RECIPIENTS || (!m->dsn.is_dsn && m->dsn.failed))
        abort();
    for (size_t i = 0; i < m->dsn.nfailed_to; i++)
        check_str(m->dsn.failed_to[i], 0);
    check_str(m->dsn.original_id, 1);
    check_str(m->attached_text, 1);
    if (m->attached_text != NULL && strchr(m->attached_text, '\r') != NULL)
        abort();
    const enum sp_mail_kind kinds[] = {SP_MAIL_REPLY, SP_MAIL_REPLY_FORWARD, SP_MAIL_FIRST};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const char *r = sp_mail_reply_cut(a, m->text, kinds[k]);
        check_str(r, 0);
        if (strlen(r) > strlen(m->text))
            abort();
    }
    (void)sp_mail_reply_forward_subject(m->subject);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 16384);
    struct sp_mail_in m;
    struct sp_problem p;
    sp_problem_init(&p);
    enum sp_rc rc = sp_mail_parse(&a, (const char *)data, size, &m, &p);
    if (rc == SP_OK)
        check_mail(&a, &m, (const char *)data, size);
    else if (rc != SP_INVALID || strcmp(p.code, "bad_message") != 0 || m.refused_why == NULL)
        abort();
    /* The pieces on the raw input too: they take any bytes. */
    size_t n = size < 4096 ? size : 4096;
    check_str(sp_mail_decode_words(&a, (const char *)data, n), 0);
    const char *ids[8];
    const char *v = sp_arena_strndup(&a, (const char *)data, n);
    check_ids(ids, sp_mail_msg_ids(&a, v, ids, 8), 8);
    const char *t = sp_mail_html_text(&a, (const char *)data, n);
    check_str(t, 0);
    if (strchr(t, '\r') != NULL)
        abort();
    sp_arena_destroy(&a);
    return 0;
}
