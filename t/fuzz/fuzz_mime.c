/*
 * fuzz_mime: libFuzzer target for the mail builder (src/core/mime.c), the
 * one place untrusted text (ticket subjects, customer names, agent
 * replies) becomes SMTP data. The input is up to five NUL-separated
 * fields: subject, display name, text body, HTML body, and the customer's
 * address, sent to in its ASCII form (core/mail_idn) when it has one, and
 * which must then be a valid one (else customer@example.org is). Its
 * canonical form (the blind index's) must exist unless it is blank, and
 * be the first of the forms a lookup tries, which are distinct.
 * Besides crashes and
 * sanitizer reports it aborts when the message: has a bare CR or LF, a
 * byte outside printable ASCII (tab aside), a line over 998 bytes; when
 * the boundary line appears other than the three times the builder writes
 * it; or when the header block holds a line that starts a header the
 * builder does not write (an injected Bcc:, say).
 * Build: scripts/dev fuzz mime (replayed by `make check` as
 * t/fuzz/fuzz_mime).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/mail_idn.h"
#include "core/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BOUNDARY "fuzzboundary0123"

static void
check_lines(const char *s, size_t n)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            if (i + 1 >= n || s[i + 1] != '\n')
                abort();
            i++;
            col = 0;
            continue;
        }
        if (c == '\n' || ((c < 0x20 || c >= 0x7f) && c != '\t') || ++col > 998)
            abort();
    }
}

static bool
known_header(const char *line)
{
    static const char *const names[] = {
        "Date: ", "From: ", "To: ", "Reply-To: ", "Subject: ", "Message-ID: ", "In-Reply-To: ",
        "References: ", "MIME-Version: ", "Auto-Submitted: ", "X-Auto-Response-Suppress: ",
        "Content-Type: ",
        "Content-Transfer-Encoding: ", " ",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strncmp(line, names[i], strlen(names[i])) == 0)
            return true;
    }
    return false;
}

static void
check_structure(const char *s)
{
    const char *body = strstr(s, "\r\n\r\n");
    if (body == NULL)
        abort();
    for (const char *l = s; l < body; l = strstr(l, "\r\n") + 2) {
        if (!known_header(l))
            abort();
    }
    int count = 0;
    for (const char *c = strstr(s, "\r\n--=_" BOUNDARY); c; c = strstr(c + 1, "\r\n--=_" BOUNDARY))
        count++;
    if (count != 3)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 16384);
    char *copy = sp_arena_alloc(&a, size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *field[5] = {"", "", "", "", ""};
    char *p = copy;
    for (int i = 0; i < 5 && p <= copy + size; i++) {
        field[i] = p;
        p += strlen(p) + 1;
    }
    const char *to = sp_mail_addr_ascii(&a, field[4]);
    if (to != NULL && !sp_mail_addr_valid(to))
        abort();
    const char *b = field[4], *e = b + strlen(b);
    sp_ascii_trim(&b, &e);
    const char *canonical = sp_mail_addr_canonical(&a, field[4]);
    if ((canonical == NULL) != (b == e))
        abort();
    const char *forms[SP_MAIL_ADDR_FORMS];
    size_t nforms = sp_mail_addr_lookup_forms(&a, field[4], forms);
    if ((nforms == 0) != (b == e) || (nforms > 0 && strcmp(forms[0], canonical) != 0))
        abort();
    for (size_t i = 0; i < nforms; i++)
        for (size_t j = i + 1; j < nforms; j++)
            if (strcmp(forms[i], forms[j]) == 0)
                abort();
    struct sp_mail m = {
        .from = {"Support", "support@example.com"},
        .to = {field[1], to != NULL ? to : "customer@example.org"},
        .subject = field[0],
        .message_id = "sp-outbox-1@example.com",
        .thread_id = "ticket-ABC@example.com",
        .date_ms = 1714651200000,
        .text = field[2],
        .html = field[3],
        .boundary = BOUNDARY,
    };
    struct sp_buf out;
    sp_buf_init(&out, &a, 1024);
    struct sp_problem prob;
    sp_problem_init(&prob);
    if (sp_mail_build(&m, &out, &prob) != SP_OK)
        abort();
    check_lines(out.data, out.len);
    check_structure(out.data);
    sp_arena_destroy(&a);
    return 0;
}
