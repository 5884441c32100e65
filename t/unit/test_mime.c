/*
 * test_mime: the mail builder (src/core/mime.c): RFC 2047 headers,
 * quoted-printable bodies, the multipart/alternative layout, threading
 * headers, and refusal of values that would inject headers.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/mime.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

static int
b64val(char c)
{
    const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(tab, c);
    return p && c ? (int)(p - tab) : -1;
}

/* Decodes every =?UTF-8?B?…?= word of a header value, dropping the folds
 * between words (RFC 2047 §6.2), into a NUL-terminated arena string. */
static char *
decode_words(const char *v)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 64);
    while (*v) {
        const char *w = strstr(v, "=?UTF-8?B?");
        if (w == NULL) {
            sp_buf_puts(&b, v);
            break;
        }
        w += 10;
        const char *end = strstr(w, "?=");
        ck_assert_ptr_nonnull(end);
        unsigned acc = 0;
        int bits = 0;
        for (const char *c = w; c < end && *c != '='; c++) {
            int x = b64val(*c);
            ck_assert_int_ge(x, 0);
            acc = (acc << 6) | (unsigned)x;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                sp_buf_putc(&b, (char)((acc >> bits) & 0xff));
            }
        }
        v = end + 2;
        while (*v == '\r' || *v == '\n' || *v == ' ')
            v++;
    }
    return b.data;
}

static int
hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Quoted-printable back to bytes: soft breaks joined, CRLF kept. */
static char *
decode_qp(const char *s)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 64);
    for (; *s; s++) {
        if (*s == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 2;
        } else if (*s == '=') {
            ck_assert(hexval(s[1]) >= 0 && hexval(s[2]) >= 0);
            sp_buf_putc(&b, (char)(hexval(s[1]) * 16 + hexval(s[2])));
            s += 2;
        } else {
            sp_buf_putc(&b, *s);
        }
    }
    return b.data;
}

/* Every line ends with CRLF, holds only printable ASCII (or tab) and is
 * at most max bytes long. */
static void
assert_lines(const char *s, size_t max)
{
    size_t col = 0;
    for (const char *c = s; *c; c++) {
        if (*c == '\r') {
            ck_assert_msg(c[1] == '\n', "bare CR");
            c++;
            col = 0;
            continue;
        }
        ck_assert_msg(*c != '\n', "bare LF");
        ck_assert_msg((*c >= 0x20 && *c < 0x7f) || *c == '\t', "byte %02x", (unsigned char)*c);
        ck_assert_msg(++col <= max, "line longer than %zu", max);
    }
}

static const char *
header_text(const char *s)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 64);
    sp_mime_header_text(&b, s, strlen(s), 9);
    return b.data;
}

START_TEST(ascii_subject_is_left_alone)
{
    ck_assert_str_eq(header_text("Your ticket ABC123"), "Your ticket ABC123");
}
END_TEST

START_TEST(utf8_subject_is_encoded_and_round_trips)
{
    const char *s = "Réponse à votre demande — Ünïcödé ✓ 日本語のテキストがここにあります";
    const char *v = header_text(s);
    ck_assert_ptr_nonnull(strstr(v, "=?UTF-8?B?"));
    assert_lines(v, 76);
    ck_assert_str_eq(decode_words(v), s);
}
END_TEST

START_TEST(encoded_words_never_split_a_character)
{
    /* 3-byte characters: a split would leave a word that is not UTF-8 */
    const char *s = "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€";
    const char *v = header_text(s);
    for (const char *w = strstr(v, "=?UTF-8?B?"); w; w = strstr(w + 1, "=?UTF-8?B?")) {
        const char *end = strstr(w, "?=");
        ck_assert_int_le(end + 2 - w, 75);
        ck_assert_int_eq((end - (w + 10)) % 4, 0);
    }
    ck_assert_str_eq(decode_words(v), s);
}
END_TEST

START_TEST(header_text_cannot_inject_a_header)
{
    const char *v = header_text("Hello\r\nBcc: victim@example.com");
    assert_lines(v, 76);
    ck_assert_ptr_null(strstr(v, "\r\nBcc"));
    ck_assert_str_eq(decode_words(v), "Hello  Bcc: victim@example.com");
}
END_TEST

START_TEST(text_that_looks_encoded_is_encoded)
{
    const char *v = header_text("=?UTF-8?B?Zm9v?=");
    ck_assert_str_eq(decode_words(v), "=?UTF-8?B?Zm9v?=");
}
END_TEST

START_TEST(malformed_utf8_becomes_replacement_character)
{
    ck_assert_str_eq(decode_words(header_text("a\xff" "b")), "a\xEF\xBF\xBD" "b");
}
END_TEST

static const char *
qp(const char *s)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 64);
    sp_mime_qp(&b, s, strlen(s));
    return b.data;
}

START_TEST(qp_round_trips_with_crlf_line_ends)
{
    const char *s = "Hallo Jürgen,\nyour refund = 12 €.\r\nThanks\rBye";
    const char *v = qp(s);
    assert_lines(v, 76);
    ck_assert_str_eq(decode_qp(v), "Hallo Jürgen,\r\nyour refund = 12 €.\r\nThanks\r\nBye");
}
END_TEST

START_TEST(qp_wraps_long_lines_at_76)
{
    char line[1001];
    memset(line, 'x', 1000);
    line[1000] = '\0';
    line[500] = '=';
    const char *v = qp(line);
    assert_lines(v, 76);
    ck_assert_str_eq(decode_qp(v), line);
}
END_TEST

START_TEST(qp_encodes_trailing_space_and_leading_dot)
{
    ck_assert_str_eq(qp("end \nx\t"), "end=20\r\nx=09");
    ck_assert_str_eq(qp(".\nok"), "=2E\r\nok");
    ck_assert_str_eq(qp("a.b"), "a.b");
}
END_TEST

START_TEST(date_is_rfc5322_utc)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 64);
    sp_mime_date(&b, INT64_C(1714651200000));
    ck_assert_str_eq(b.data, "Thu, 02 May 2024 12:00:00 +0000");
}
END_TEST

static struct sp_mail
sample(void)
{
    struct sp_mail m = {
        .from = {"Support Team", "support@example.com"},
        .to = {"Zoë Ürban", "zoe@example.org"},
        .subject = "Re: Rückerstattung [ABCDEFGHJKMN]",
        .message_id = "sp-outbox-42@example.com",
        .thread_id = "ticket-ABCDEFGHJKMN@example.com",
        .date_ms = INT64_C(1714651200000),
        .text = "Hello,\nan agent replied.\n",
        .html = "<p>Hello,</p>\n<p>an agent <b>replied</b>.</p>",
        .boundary = "abcdef0123456789",
    };
    return m;
}

static const char *
build(const struct sp_mail *m, enum sp_rc want)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 256);
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(sp_mail_build(m, &b, &p), want);
    if (want != SP_OK)
        ck_assert_uint_eq(b.len, 0);
    return b.data;
}

START_TEST(mail_has_threading_headers)
{
    struct sp_mail m = sample();
    const char *v = build(&m, SP_OK);
    assert_lines(v, 998);
    ck_assert_ptr_nonnull(strstr(v, "\r\nMessage-ID: <sp-outbox-42@example.com>\r\n"));
    ck_assert_ptr_nonnull(strstr(v, "\r\nIn-Reply-To: <ticket-ABCDEFGHJKMN@example.com>\r\n"));
    ck_assert_ptr_nonnull(strstr(v, "\r\nReferences: <ticket-ABCDEFGHJKMN@example.com>\r\n"));
    ck_assert_ptr_nonnull(strstr(v, "Date: Thu, 02 May 2024 12:00:00 +0000\r\n"));
    ck_assert_ptr_nonnull(strstr(v, "\r\nAuto-Submitted: auto-generated\r\n"));
    ck_assert_ptr_nonnull(strstr(v, "\r\nX-Auto-Response-Suppress: OOF, AutoReply\r\n"));
    ck_assert_ptr_nonnull(strstr(v, "From: \"Support Team\"\r\n <support@example.com>\r\n"));
}
END_TEST

/* An answer to the customer's own mail names it in In-Reply-To, and
 * after the ticket's thread id in References (QA: mail programs showed
 * our answer as a thread of its own). */
START_TEST(mail_answering_a_mail_names_it_after_the_thread)
{
    struct sp_mail m = sample();
    m.in_reply_to = "CAF+x=y_1@mail.example.org";
    const char *v = build(&m, SP_OK);
    assert_lines(v, 998);
    ck_assert_ptr_nonnull(strstr(v, "\r\nIn-Reply-To: <CAF+x=y_1@mail.example.org>\r\n"));
    ck_assert_ptr_nonnull(strstr(v, "\r\nReferences: <ticket-ABCDEFGHJKMN@example.com>\r\n"
                                    " <CAF+x=y_1@mail.example.org>\r\n"));
    m.thread_id = NULL;
    v = build(&m, SP_OK);
    ck_assert_ptr_nonnull(strstr(v, "\r\nReferences: <CAF+x=y_1@mail.example.org>\r\n"));
    m.in_reply_to = "x@y>\r\nBcc: z@example.com";
    build(&m, SP_INVALID);
    ck_assert(!sp_mail_msg_id_valid("a<b@example.com"));
    ck_assert(sp_mail_msg_id_valid("m-0a1b@example.com"));
}
END_TEST

START_TEST(mail_without_thread_has_no_reply_headers)
{
    struct sp_mail m = sample();
    m.thread_id = NULL;
    const char *v = build(&m, SP_OK);
    ck_assert_ptr_null(strstr(v, "In-Reply-To"));
    ck_assert_ptr_null(strstr(v, "References"));
}
END_TEST

START_TEST(mail_has_reply_to_only_when_given)
{
    struct sp_mail m = sample();
    ck_assert_ptr_null(strstr(build(&m, SP_OK), "\r\nReply-To"));
    m.reply_to = "support+t-ABCDEFGHJKMN-0123456789abcdef0123@example.com";
    ck_assert_ptr_nonnull(strstr(build(&m, SP_OK),
                                 "\r\nReply-To: <support+t-ABCDEFGHJKMN-0123456789abcdef0123"
                                 "@example.com>\r\n"));
    m.reply_to = "support@example.com>\r\nBcc: <x@example.org";
    build(&m, SP_INVALID);
}
END_TEST

START_TEST(mail_has_both_alternatives)
{
    struct sp_mail m = sample();
    const char *v = build(&m, SP_OK);
    ck_assert_ptr_nonnull(
        strstr(v, "Content-Type: multipart/alternative; boundary=\"=_abcdef0123456789\"\r\n\r\n"
                  "--=_abcdef0123456789\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    const char *html = strstr(v, "--=_abcdef0123456789\r\nContent-Type: text/html; charset=utf-8");
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "<b>replied</b>"));
    size_t n = strlen(v);
    ck_assert_str_eq(v + n - strlen("--=_abcdef0123456789--\r\n"), "--=_abcdef0123456789--\r\n");
}
END_TEST

START_TEST(mail_encodes_utf8_subject_and_names)
{
    struct sp_mail m = sample();
    const char *v = build(&m, SP_OK);
    const char *subj = strstr(v, "\r\nSubject: ");
    ck_assert_ptr_nonnull(subj);
    const char *end = strstr(subj, "\r\nMessage-ID");
    char *value = sp_arena_strndup(&arena, subj + 11, (size_t)(end - subj - 11));
    ck_assert_str_eq(decode_words(value), "Re: Rückerstattung [ABCDEFGHJKMN]");
    const char *to = strstr(v, "\r\nTo: ");
    end = strstr(to, "\r\n <zoe@example.org>");
    ck_assert_ptr_nonnull(end);
    value = sp_arena_strndup(&arena, to + 6, (size_t)(end - to - 6));
    ck_assert_str_eq(decode_words(value), "Zoë Ürban");
}
END_TEST

START_TEST(text_only_mail_is_one_part)
{
    struct sp_mail m = sample();
    m.html = NULL;
    const char *v = build(&m, SP_OK);
    ck_assert_ptr_null(strstr(v, "multipart"));
    ck_assert_ptr_nonnull(strstr(v, "Content-Type: text/plain; charset=utf-8\r\n"));
}
END_TEST

START_TEST(body_cannot_close_the_part)
{
    struct sp_mail m = sample();
    m.text = "--=_abcdef0123456789--\n";
    const char *v = build(&m, SP_OK);
    /* the boundary appears exactly three times: two parts and the close */
    int count = 0;
    for (const char *c = strstr(v, "\r\n--=_abcdef"); c; c = strstr(c + 1, "\r\n--=_abcdef"))
        count++;
    ck_assert_int_eq(count, 3);
}
END_TEST

START_TEST(header_injection_is_refused)
{
    struct sp_mail m = sample();
    m.to.addr = "zoe@example.org\r\nBcc: x@example.com";
    build(&m, SP_INVALID);
    m = sample();
    m.to.addr = "Zoe <zoe@example.org>";
    build(&m, SP_INVALID);
    m = sample();
    m.message_id = "a b@example.com";
    build(&m, SP_INVALID);
    m = sample();
    m.thread_id = "t@x>\r\nX: y";
    build(&m, SP_INVALID);
    m = sample();
    m.boundary = "short";
    build(&m, SP_INVALID);
}
END_TEST

START_TEST(address_check)
{
    ck_assert(sp_mail_addr_valid("a@b"));
    ck_assert(sp_mail_addr_valid("first.last+tag@sub.example.com"));
    ck_assert(!sp_mail_addr_valid("@example.com"));
    ck_assert(!sp_mail_addr_valid("a@"));
    ck_assert(!sp_mail_addr_valid("a@@b"));
    ck_assert(!sp_mail_addr_valid("a b@c"));
    ck_assert(!sp_mail_addr_valid("jörg@example.com"));
    ck_assert(!sp_mail_addr_valid(NULL));
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("mime");
    TCase *tc = tcase_create("headers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ascii_subject_is_left_alone);
    tcase_add_test(tc, utf8_subject_is_encoded_and_round_trips);
    tcase_add_test(tc, encoded_words_never_split_a_character);
    tcase_add_test(tc, header_text_cannot_inject_a_header);
    tcase_add_test(tc, text_that_looks_encoded_is_encoded);
    tcase_add_test(tc, malformed_utf8_becomes_replacement_character);
    tcase_add_test(tc, date_is_rfc5322_utc);
    suite_add_tcase(s, tc);
    tc = tcase_create("bodies");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, qp_round_trips_with_crlf_line_ends);
    tcase_add_test(tc, qp_wraps_long_lines_at_76);
    tcase_add_test(tc, qp_encodes_trailing_space_and_leading_dot);
    suite_add_tcase(s, tc);
    tc = tcase_create("mail");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mail_has_threading_headers);
    tcase_add_test(tc, mail_without_thread_has_no_reply_headers);
    tcase_add_test(tc, mail_answering_a_mail_names_it_after_the_thread);
    tcase_add_test(tc, mail_has_reply_to_only_when_given);
    tcase_add_test(tc, mail_has_both_alternatives);
    tcase_add_test(tc, mail_encodes_utf8_subject_and_names);
    tcase_add_test(tc, text_only_mail_is_one_part);
    tcase_add_test(tc, body_cannot_close_the_part);
    tcase_add_test(tc, header_injection_is_refused);
    tcase_add_test(tc, address_check);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(suite());
}
