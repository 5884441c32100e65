/*
 * fuzz_mail_parse: libFuzzer target for the inbound mail reader
 * (src/core/mail_parse.c), which reads whatever an MTA pipes to us, and
 * for the reply cutter (src/core/mail_reply.c) that reads its text.
 * Besides crashes and sanitizer reports it aborts when a parsed mail
 * breaks an invariant: a string that is not valid UTF-8 (or holds a NUL
 * before its end), no sender, a CR in the text, more recipients than the
 * cap, a negative attachment count; when a refusal is not "bad_message";
 * or when the reply text is not valid UTF-8 or is longer than its input.
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
check_mail(struct sp_arena *a, const struct sp_mail_in *m)
{
    check_str(m->from_addr, 0);
    if (m->from_addr[0] == '\0')
        abort();
    check_str(m->from_name, 1);
    check_str(m->subject, 0);
    check_str(m->message_id, 1);
    check_str(m->in_reply_to, 1);
    check_str(m->text, 0);
    if (strchr(m->text, '\r') != NULL || m->attachments < 0 ||
        m->nrecipients > SP_MAIL_MAX_RECIPIENTS)
        abort();
    for (size_t i = 0; i < m->nrecipients; i++)
        check_str(m->recipients[i], 0);
    const char *r = sp_mail_reply_text(a, m->text);
    check_str(r, 0);
    if (strlen(r) > strlen(m->text))
        abort();
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
        check_mail(&a, &m);
    else if (rc != SP_INVALID || strcmp(p.code, "bad_message") != 0)
        abort();
    /* The pieces on the raw input too: they take any bytes. */
    size_t n = size < 4096 ? size : 4096;
    check_str(sp_mail_decode_words(&a, (const char *)data, n), 0);
    const char *t = sp_mail_html_text(&a, (const char *)data, n);
    check_str(t, 0);
    if (strchr(t, '\r') != NULL)
        abort();
    sp_arena_destroy(&a);
    return 0;
}
