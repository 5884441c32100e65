/*
 * test_mail_parse: inbound mail reading (src/core/mail_parse.c): headers
 * (unfolding, RFC 2047 words, addresses, ids, loop signs), the MIME walk
 * (which part is the text, what counts as a file, the files' names and
 * bytes, the limits),
 * transfer encodings and charsets, HTML bodies, and what is refused.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/mail_html.h"
#include "core/mail_parse.h"
#include "core/mail_reply.h"
#include "core/utf8.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(16384)

static struct sp_mail_in
parse_n(const char *msg, size_t n)
{
    struct sp_mail_in m;
    struct sp_problem p;
    sp_problem_init(&p);
    enum sp_rc rc = sp_mail_parse(&arena, msg, n, &m, &p);
    ck_assert_msg(rc == SP_OK, "refused: %s", p.detail);
    return m;
}

static struct sp_mail_in
parse(const char *msg)
{
    return parse_n(msg, strlen(msg));
}

/* Refused as bad_message; why the word for the log. */
static void
assert_refused_why(const char *msg, size_t n, const char *why)
{
    struct sp_mail_in m;
    struct sp_problem p;
    sp_problem_init(&p);
    enum sp_rc rc = sp_mail_parse(&arena, msg, n, &m, &p);
    ck_assert_msg(rc == SP_INVALID, "taken (from %s): %s", rc == SP_OK ? m.from_addr : "-",
                  msg);
    ck_assert_str_eq(p.code, "bad_message");
    ck_assert_ptr_nonnull(m.refused_why);
    ck_assert_str_eq(m.refused_why, why);
}

#define HDRS "From: Zoe <zoe@example.com>\nTo: support@example.com\nSubject: Help\n"

START_TEST(plain_ascii_mail_is_read)
{
    struct sp_mail_in m = parse("Return-Path: <zoe@example.com>\n"
                                "From: Zoe Urban <zoe@example.com>\n"
                                "To: Support <support@example.com>\n"
                                "Subject: Printer on fire\n"
                                "Message-ID: <abc.123@mail.example.com>\n"
                                "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
                                "\n"
                                "Hello,\n"
                                "the printer is on fire.\n");
    ck_assert_str_eq(m.from_addr, "zoe@example.com");
    ck_assert_str_eq(m.from_name, "Zoe Urban");
    ck_assert_str_eq(m.subject, "Printer on fire");
    ck_assert_str_eq(m.message_id, "abc.123@mail.example.com");
    ck_assert_str_eq(m.date, "Mon, 1 Jan 2024 10:00:00 +0000");
    ck_assert_ptr_null(m.in_reply_to);
    ck_assert_uint_eq(m.nrecipients, 1);
    ck_assert_str_eq(m.recipients[0], "support@example.com");
    ck_assert(!m.auto_reply);
    ck_assert_str_eq(m.text, "Hello,\nthe printer is on fire.\n");
    ck_assert(!m.text_from_html);
    ck_assert_uint_eq(m.nfiles, 0);
}
END_TEST

START_TEST(folded_headers_are_unfolded)
{
    struct sp_mail_in m = parse("From: Zoe\n <zoe@example.com>\n"
                                "subject: This is\n a folded\n\tsubject\n"
                                "TO: a@example.com,\n   b@example.com\n"
                                "\nbody");
    ck_assert_str_eq(m.subject, "This is a folded subject");
    ck_assert_str_eq(m.from_addr, "zoe@example.com");
    ck_assert_uint_eq(m.nrecipients, 2);
    ck_assert_str_eq(m.recipients[1], "b@example.com");
}
END_TEST

START_TEST(encoded_words_are_decoded)
{
    struct sp_mail_in m = parse("From: z@example.com\n"
                                "Subject: =?UTF-8?B?R3LDvMOfZQ==?= from "
                                "=?iso-8859-1?Q?caf=E9?=\n =?iso-8859-1?Q?_cr=E8me?=\n\n");
    /* the white space between two adjacent words is dropped, '_' is a space */
    ck_assert_str_eq(m.subject, "Grüße from café crème");
}
END_TEST

START_TEST(decode_words_joins_a_character_split_across_words)
{
    /* "é" is C3 A9: an encoder cut it in two words */
    const char *v = "=?utf-8?q?caf=C3?= =?UTF-8?Q?=A9?= ok";
    ck_assert_str_eq(sp_mail_decode_words(&arena, v, strlen(v)), "café ok");
    v = "a =?x-unknown?q?=E9?= b =?utf-8?b?not base64?= =?utf-8?q?bad";
    const char *d = sp_mail_decode_words(&arena, v, strlen(v));
    ck_assert_str_eq(d, "a \xef\xbf\xbd b =?utf-8?b?not base64?= =?utf-8?q?bad");
    v = "tab\there\x01";
    ck_assert_str_eq(sp_mail_decode_words(&arena, v, strlen(v)), "tab here ");
}
END_TEST

START_TEST(from_forms_give_address_and_name)
{
    struct sp_mail_in m = parse("From: \"Zoë Ürban\" <zoe@example.com>\n\n");
    ck_assert_str_eq(m.from_addr, "zoe@example.com");
    ck_assert_str_eq(m.from_name, "Zoë Ürban");
    m = parse("From: zoe@example.com (Zoe)\n\n");
    ck_assert_str_eq(m.from_addr, "zoe@example.com");
    ck_assert_str_eq(m.from_name, "Zoe");
    m = parse("From: zoe@example.com\n\n");
    ck_assert_str_eq(m.from_addr, "zoe@example.com");
    ck_assert_ptr_null(m.from_name);
    m = parse("From: =?UTF-8?Q?Zo=C3=AB?= <z@e.com>\n\n");
    ck_assert_str_eq(m.from_addr, "z@e.com");
    ck_assert_str_eq(m.from_name, "Zoë");
    m = parse("From: \"Urban, Zoe \\\"Z\\\"\" (work) <@relay.example:zoe@example.com>\n\n");
    ck_assert_str_eq(m.from_addr, "zoe@example.com");
    ck_assert_str_eq(m.from_name, "Urban, Zoe \"Z\"");
    m = parse("From: \"zoe urban\"@example.com\n\n");
    ck_assert_str_eq(m.from_addr, "\"zoe urban\"@example.com");
    /* a mailbox without a domain is passed over */
    m = parse("From: Zoe, Zoe Urban zoe@example.com\n\n");
    ck_assert_str_eq(m.from_addr, "zoe@example.com");
    ck_assert_ptr_null(m.from_name);
}
END_TEST

/* QA: From "bob"@example.com was not known as bob@example.com. A quoted
 * local part that needs no quotes (RFC 5322 §3.4.1) is written without
 * them; one that needs them stays as written, never unquoted into
 * another address. */
START_TEST(quoted_local_parts_are_unquoted_when_they_need_none)
{
    static const struct {
        const char *from, *addr;
    } cases[] = {
        {"\"bob\"@example.com", "bob@example.com"},
        {"Bob <\"bob\"@Example.com>", "bob@Example.com"},
        {"< \"bob.smith\" @ example.com >", "bob.smith@example.com"},
        {"\"bob\".\"smith\"@example.com", "bob.smith@example.com"},
        {"\"b\\ob+tag\"@example.com", "bob+tag@example.com"},
        {"\"zo\xc3\xab\"@example.com", "zo\xc3\xab@example.com"},
        {"\"bob smith\"@example.com", "\"bob smith\"@example.com"},
        {"\"bob..x\"@example.com", "\"bob..x\"@example.com"},
        {"\".bob\"@example.com", "\".bob\"@example.com"},
        {"\"bob@evil.example\"@example.com", "\"bob@evil.example\"@example.com"},
        {"\"b\\\"ob\"@example.com", "\"b\\\"ob\"@example.com"},
        {"\"\"@example.com", "\"\"@example.com"},
        {"\"a\".\"\".b@example.com", "\"a\".\"\".b@example.com"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_mail_in m = parse(sp_arena_sprintf(&arena, "From: %s\nTo: \"support\"@"
                                                     "example.com\n\n", cases[i].from));
        ck_assert_str_eq(m.from_addr, cases[i].addr);
        ck_assert_str_eq(m.recipients[0], "support@example.com");
    }
}
END_TEST

START_TEST(recipients_come_from_to_cc_and_delivery_headers)
{
    struct sp_mail_in m = parse("From: zoe@example.com\n"
                                "To: \"Support\" <support@example.com>, undisclosed:;,\n"
                                " friends: a@example.org, \"b, c\" <b@example.org>;\n"
                                "Cc: c@example.org (C), <SUPPORT@example.com>\n"
                                "Delivered-To: support@example.com\n"
                                "X-Original-To: help@example.com\n\n");
    const char *want[] = {"support@example.com", "a@example.org", "b@example.org",
                          "c@example.org", "help@example.com"};
    ck_assert_uint_eq(m.nrecipients, 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(m.recipients[i], want[i]);
}
END_TEST

START_TEST(recipients_stop_at_the_cap)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 8192);
    sp_buf_puts(&b, "From: z@example.com\nTo: ");
    for (int i = 0; i < SP_MAIL_MAX_RECIPIENTS + 50; i++)
        sp_buf_printf(&b, "%su%d@example.com", i ? ",\n " : "", i);
    sp_buf_puts(&b, "\n\n");
    struct sp_mail_in m = parse(b.data);
    ck_assert_uint_eq(m.nrecipients, SP_MAIL_MAX_RECIPIENTS);
    ck_assert_str_eq(m.recipients[SP_MAIL_MAX_RECIPIENTS - 1], "u99@example.com");
}
END_TEST

START_TEST(alternative_prefers_plain_text)
{
    struct sp_mail_in m = parse(HDRS "MIME-Version: 1.0\n"
                                     "Content-Type: multipart/alternative; boundary=\"=_b1\"\n"
                                     "\n"
                                     "preamble\n"
                                     "--=_b1\n"
                                     "Content-Type: text/plain; charset=utf-8\n"
                                     "\n"
                                     "The plain text.\n"
                                     "--=_b1\n"
                                     "Content-Type: text/html; charset=utf-8\n"
                                     "\n"
                                     "<p>The <b>HTML</b>.</p>\n"
                                     "--=_b1--\n"
                                     "epilogue\n");
    ck_assert_str_eq(m.text, "The plain text.");
    ck_assert(!m.text_from_html);
    ck_assert_uint_eq(m.nfiles, 0);
}
END_TEST

/* A blank text/plain alternative (QA: a mailer that puts the words only
 * in its HTML) does not bounce the mail as empty: the HTML is the text. */
START_TEST(a_blank_plain_alternative_gives_way_to_the_html)
{
    struct sp_mail_in m = parse(HDRS "MIME-Version: 1.0\n"
                                     "Content-Type: multipart/alternative; boundary=\"=_b1\"\n"
                                     "\n"
                                     "--=_b1\n"
                                     "Content-Type: text/plain; charset=utf-8\n"
                                     "\n"
                                     " \r\n\t\n"
                                     "--=_b1\n"
                                     "Content-Type: text/html; charset=utf-8\n"
                                     "\n"
                                     "<p>html text wins</p>\n"
                                     "--=_b1--\n");
    ck_assert_str_eq(m.text, "html text wins");
    ck_assert(m.text_from_html);
    ck_assert_uint_eq(m.nfiles, 0);
}
END_TEST

/* Blank is what a stored body counts as no text (sanitize: "empty"):
 * white space with trailing NULs (QA), other controls, no-break and
 * zero-width spaces, a BOM. Such a text/plain part gives way to the
 * HTML, which the mail would otherwise be refused as empty beside. */
START_TEST(a_plain_part_with_nothing_visible_gives_way_to_the_html)
{
    static const char *const blank[] = {
        " \r\n\t\n\0\0\0",
        "\xef\xbb\xbf \xc2\xa0\xe2\x80\x8b\x01\x7f\n\0",
    };
    for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++) {
        size_t bn = strlen(blank[i]) + (i == 0 ? 3 : 1);  /* with their NULs */
        struct sp_buf b;
        sp_buf_init(&b, &arena, 512);
        sp_buf_puts(&b, HDRS "Content-Type: multipart/alternative; boundary=b\n\n"
                             "--b\nContent-Type: text/plain; charset=utf-8\n\n");
        sp_buf_append(&b, blank[i], bn);
        sp_buf_puts(&b, "\n--b\nContent-Type: text/html\n\n<p>html text</p>\n--b--\n");
        struct sp_mail_in m = parse_n(b.data, b.len);
        ck_assert_str_eq(m.text, "html text");
        ck_assert(m.text_from_html);
    }
}
END_TEST

/* A NUL is nothing in an HTML part, as in a text/plain one: gumbo made
 * some of them U+FFFD (foreign content, attribute values). */
START_TEST(nuls_in_html_are_dropped_not_replaced)
{
    static const char h[] = "<svg>c\0d</svg><p>e\0f <a href=\"https://x.example/\0a\">g\0</a>"
                            "</p><table>h\0i</table>";
    ck_assert_str_eq(sp_mail_html_text(&arena, h, sizeof(h) - 1),
                     "cd\nef g <https://x.example/a>\nhi");
}
END_TEST

/* A forward as attachment: the first attached mail with words is read
 * as a mail (its own attached mails are not), for the ticket's text. */
START_TEST(an_attached_mail_gives_its_text)
{
    struct sp_mail_in m = parse("From: z@x\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
                                "--b1\r\nContent-Type: message/rfc822\r\n\r\n"
                                "From: a@b\r\nContent-Type: multipart/mixed; boundary=b2\r\n\r\n"
                                "--b2\r\nContent-Type: message/rfc822\r\n\r\n"
                                "From: c@d\r\n\r\nnested\r\n--b2--\r\n"
                                "--b1\r\nContent-Type: message/rfc822\r\n\r\n"
                                "From: =?UTF-8?Q?H=C3=B6tel?= <res@hotel.example>\r\n"
                                "Subject: Cancellation\r\n\r\nDear guest\r\n--b1--\r\n");
    ck_assert_str_eq(m.text, "");
    ck_assert_uint_eq(m.nfiles, 2);
    ck_assert_str_eq(m.attached_text, "---------- Forwarded message ---------\n"
                                      "From: Hötel <res@hotel.example>\nSubject: Cancellation\n"
                                      "\nDear guest");
    ck_assert_ptr_null(parse("From: z@x\r\n\r\nhello\r\n").attached_text);
}
END_TEST

START_TEST(html_only_becomes_text)
{
    struct sp_mail_in m = parse(
        HDRS "Content-Type: text/html; charset=\"UTF-8\"\n"
             "\n"
             "<html><head><title>T</title><style>p{}</style></head><body>\n"
             "<div dir=\"ltr\">Hello &amp; welcome,&nbsp;Zo&euml;<br>\n"
             "second   line</div>\n"
             "<script>alert(1)</script>\n"
             "<div class=\"gmail_quote gmail_quote_container\">On Mon, Support wrote:<br>\n"
             "<blockquote>old text</blockquote></div></body></html>\n");
    ck_assert(m.text_from_html);
    ck_assert_str_eq(m.text, "Hello & welcome, Zoë\nsecond line");
    ck_assert_uint_eq(m.nfiles, 0);
}
END_TEST

START_TEST(html_text_keeps_blocks_and_drops_quotes)
{
    const char *h = "<p>One</p><p>&nbsp;</p><ul><li>a</li><li>b</li></ul>"
                    "<pre>  keep\n    this</pre><table><tr><td>x</td><td>y</td></tr></table>"
                    "<blockquote type=\"cite\">cited</blockquote>"
                    "<div class=\"moz-cite-prefix\">On … wrote:</div>"
                    "<div class=\"yahoo_quoted\">yahoo</div><h1>End</h1>";
    ck_assert_str_eq(sp_mail_html_text(&arena, h, strlen(h)),
                     "One\n\n- a\n- b\n  keep\n    this\nx y\nEnd");
    h = "<div>My answer</div><div id=\"appendonsend\"></div><hr>"
        "<div id=\"divRplyFwdMsg\"><b>From:</b> Support</div><div>history</div>";
    ck_assert_str_eq(sp_mail_html_text(&arena, h, strlen(h)), "My answer");
    /* What is not rendered is not text: a hidden preheader. */
    h = "<div hidden>Preheader <b>sale</b></div><p HIDDEN=\"\">too</p><p>Shown</p>";
    ck_assert_str_eq(sp_mail_html_text(&arena, h, strlen(h)), "Shown");
    ck_assert_str_eq(sp_mail_html_text(&arena, "", 0), "");
    ck_assert_str_eq(sp_mail_html_text(&arena, NULL, 0), "");
}
END_TEST

/* gumbo 0.10.1 aborts on text after a CDATA section in <math>/<svg>
 * inside a <table> (google/gumbo-parser#301): an unauthenticated mail
 * killed support-mail-in and the MTA retried it forever (QA). */
START_TEST(html_cdata_in_foreign_content_does_not_abort)
{
    static const char *const in[] = {
        "<table><math><mi><![CDATA[y]]>\nhello",
        "<table><svg><desc><![CDATA[y]]>x",
        "<table><math><mtext><![CDATA[y]]>x",
        "<table><svg><foreignObject><![CDATA[y]]>x",
        "<table><svg><title><![CDATA[y]]>x",
        "<table><math><annotation-xml encoding=text/html><![CDATA[y]]>x",
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        struct sp_mail_html_texts t;
        sp_mail_html_read(&arena, in[i], strlen(in[i]), &t);
        ck_assert_msg(strstr(t.whole, "CDATA") == NULL, "%s: %s", in[i], t.whole);
    }
    struct sp_mail_in m = parse("From: Demo <customer@example.com>\r\nSubject: Crash\r\n"
                                "Content-Type: text/html; charset=utf-8\r\n\r\n"
                                "<table><math><mi><![CDATA[y]]>\r\nhello\r\n");
    ck_assert(m.text_from_html);
    ck_assert_str_eq(m.text, "hello");
}
END_TEST

/* What the markup hides is not text: a style of display: none or
 * visibility: hidden (written as CSS allows), a closed <dialog>, a
 * <datalist>; an article's HTML block published an "Internal only" note
 * (QA). aria-hidden hides from screen readers only: the eye sees it. */
START_TEST(html_text_drops_what_css_and_markup_hide)
{
    static const char *const hidden[] = {
        "<div style=\"display:none\">Internal only: ZETA-1234</div>",
        "<div style=\"color: red; DISPLAY : None !important\">ZETA-1234</div>",
        "<span style='visibility:hidden'>ZETA-1234</span>",
        "<p style=\"display:block;visibility: collapse ;\">ZETA-1234</p>",
        "<dialog>Draft note ZETA-1234</dialog>",
        "<input list=l><datalist id=l><option>ZETA-1234</option></datalist>",
        "<template>ZETA-1234</template>",
        "<div style=\"display:none;mso-hide:all\"><p>pre</p><b>ZETA-1234</b></div>",
    };
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        char h[256];
        snprintf(h, sizeof(h), "<p>Shown</p>%s<p>End</p>", hidden[i]);
        struct sp_mail_html_texts t;
        sp_mail_html_read(&arena, h, strlen(h), &t);
        ck_assert_msg(strcmp(t.whole, "Shown\nEnd") == 0, "%s: %s", h, t.whole);
    }
    static const char *const shown[][2] = {
        {"<dialog open>Read me</dialog>", "Read me"},
        {"<div style=\"display:block\">Read me</div>", "Read me"},
        {"<div style=\"display:none; display:block\">Read me</div>", "Read me"},
        {"<div style=\"font-family:'none'\">Read me</div>", "Read me"},
        {"<div aria-hidden=\"true\">Read me</div>", "Read me"},
        {"<noscript>Read me</noscript>", "Read me"},
    };
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
        ck_assert_str_eq(sp_mail_html_text(&arena, shown[i][0], strlen(shown[i][0])),
                         shown[i][1]);
}
END_TEST

/* Blocks the sanitizer breaks lines at are lines here too (one list:
 * sp_html_block), a select's options one a line, an image its alt text
 * (QA: "ShippingRefunds take 5 days", "VisaMastercard", an image's alt
 * gone). */
START_TEST(html_text_gives_each_block_its_line)
{
    static const char *const cases[][2] = {
        {"<details><summary>Shipping</summary>Refunds take 5 days</details>",
         "Shipping\nRefunds take 5 days"},
        {"<select><option>Visa</option><option>Mastercard</option></select>",
         "Visa\nMastercard"},
        {"<div><img src=\"https://x.example/a.png\" alt=\"Refund flow diagram\"></div>",
         "Refund flow diagram"},
        {"<p>See <img alt=\"the chart\"> below</p>", "See the chart below"},
        {"<figure>img<figcaption>Caption</figcaption></figure>", "img\nCaption"},
        {"<aside>Note</aside><nav>Menu</nav><main>Body</main>", "Note\nMenu\nBody"},
        {"<fieldset><legend>Card</legend>Number</fieldset>", "Card\nNumber"},
        {"<table><caption>Fees</caption><tr><td>a</td><td>b</td></tr></table>", "Fees\na b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(sp_mail_html_text(&arena, cases[i][0], strlen(cases[i][0])),
                         cases[i][1]);
}
END_TEST

/* A first mail's HTML keeps what its markup quotes: a Gmail forward is
 * a gmail_quote, and it is all the customer's (text_whole; text stays
 * without it, for a reply). */
START_TEST(html_text_whole_keeps_the_quoted_markup)
{
    const char *h = "<div>See below</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">"
                    "---------- Forwarded message ---------<br>From: Hotel</div>"
                    "<div>Dear guest</div></div>"
                    "<blockquote type=\"cite\">cited</blockquote><div id=\"appendonsend\"></div>"
                    "<div>after</div>";
    struct sp_mail_html_texts t;
    sp_mail_html_read(&arena, h, strlen(h), &t);
    ck_assert_str_eq(t.reply, "See below");
    ck_assert_str_eq(sp_mail_html_text(&arena, h, strlen(h)), "See below");
    ck_assert_str_eq(t.whole, "See below\n---------- Forwarded message ---------\nFrom: Hotel\n"
                              "Dear guest\ncited\nafter");
    struct sp_mail_in m = parse(sp_arena_sprintf(&arena, "From: z@x\r\nContent-Type: text/html"
                                                 "\r\n\r\n%s", h));
    ck_assert_str_eq(m.text, "See below");
    ck_assert_str_eq(m.text_whole, t.whole);
    m = parse("From: z@x\r\n\r\nplain\r\n> q\r\n");
    ck_assert_ptr_eq(m.text_whole, m.text);
}
END_TEST

/* An HTML-only reply, as each client writes one, loses the history it
 * quotes (its text, cut as a reply: sp_mail_reply_cut), and keeps it as
 * text for a first mail (text_whole): from one read of the HTML. */
START_TEST(html_only_replies_of_each_client_lose_their_history)
{
    static const struct {
        const char *client, *html, *reply;
    } cases[] = {
        {"gmail", "<div dir=\"ltr\">Thanks, it works now.</div><br><div class=\"gmail_quote"
                  " gmail_quote_container\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, 1 Dec"
                  " 2026 at 10:00, Support &lt;support@example.com&gt; wrote:<br></div>"
                  "<blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex\">"
                  "<div>" SP_MAIL_REPLY_MARKER "</div><div>old news</div></blockquote></div>",
         "Thanks, it works now."},
        /* Gmail's apps: the attribution beside the quote, not in it */
        {"gmail app", "<div dir=\"auto\">Thanks, it works now.</div><div><br><div"
                      " class=\"gmail_attr\">On Mon, 1 Dec 2026, 10:00 Support wrote:<br></div>"
                      "<blockquote class=\"gmail_quote\">old news</blockquote></div>",
         "Thanks, it works now."},
        {"outlook web", "<div class=\"elementToProof\">Thanks, it works now.</div>"
                        "<div id=\"appendonsend\"></div><hr tabindex=\"-1\"><div"
                        " id=\"divRplyFwdMsg\" dir=\"ltr\"><b>From:</b> Support<br><b>Sent:</b>"
                        " Monday<br><b>To:</b> Zoe<br><b>Subject:</b> Re: Printer</div>"
                        "<div>old news</div>",
         "Thanks, it works now."},
        {"new outlook", "<div dir=\"ltr\">Thanks, it works now.</div><div"
                        " id=\"mail-editor-reference-message-container\"><div>old news</div>"
                        "</div>",
         "Thanks, it works now."},
        {"outlook desktop", "<div class=\"WordSection1\"><p class=\"MsoNormal\">Thanks, it"
                            " works now.<o:p></o:p></p><p class=\"MsoNormal\"><o:p>&nbsp;</o:p>"
                            "</p><div><div style=\"border:none\"><p class=\"MsoNormal\"><b>From:"
                            "</b> Support &lt;support@example.com&gt; <br><b>Sent:</b> Monday,"
                            " December 1, 2026 10:00 AM<br><b>To:</b> Zoe<br><b>Subject:</b> Re:"
                            " Printer</p></div></div><p class=\"MsoNormal\">old news</p></div>",
         "Thanks, it works now."},
        {"apple mail", "<body style=\"overflow-wrap: break-word;\">Thanks, it works now.<br"
                       " id=\"lineBreakAtBeginningOfMessage\"><div><br><blockquote"
                       " type=\"cite\"><div>On 1 Dec 2026, at 10:00, Support"
                       " &lt;support@example.com&gt; wrote:</div><br"
                       " class=\"Apple-interchange-newline\"><div><div>old news</div></div>"
                       "</blockquote></div><br></body>",
         "Thanks, it works now."},
        {"iphone", "<div dir=\"ltr\">Thanks, it works now.</div><div dir=\"ltr\">Sent from my"
                   " iPhone</div><div dir=\"ltr\"><br><blockquote type=\"cite\">On 1 Dec 2026,"
                   " at 10:00, Support wrote:<br><br></blockquote></div><blockquote"
                   " type=\"cite\"><div dir=\"ltr\">old news</div></blockquote>",
         "Thanks, it works now.\nSent from my iPhone"},
        {"thunderbird", "<p>Thanks, it works now.</p><div class=\"moz-cite-prefix\">On"
                        " 01/12/2026 10:00, Support wrote:<br></div><blockquote type=\"cite\""
                        " cite=\"mid:outbox-1@example.com\">old news</blockquote><pre"
                        " class=\"moz-signature\" cols=\"72\">-- \nZoe</pre>",
         "Thanks, it works now."},
        /* written below the quote: the words stay, the quote goes */
        {"bottom post", "<div class=\"moz-cite-prefix\">On 01/12/2026 10:00, Support wrote:"
                        "</div><blockquote type=\"cite\">old news</blockquote>"
                        "<p>Thanks, it works now.</p>",
         "Thanks, it works now."},
        {"proton", "<div>Thanks, it works now.</div><div class=\"protonmail_quote\">"
                   "------- Original Message -------<br>old news</div>",
         "Thanks, it works now."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_mail_in m = parse(sp_arena_sprintf(
            &arena, "From: z@x\r\nSubject: Re: Printer [T1]\r\nContent-Type: text/html;"
                    " charset=utf-8\r\n\r\n%s\r\n", cases[i].html));
        const char *r = sp_mail_reply_cut(&arena, m.text, SP_MAIL_REPLY);
        ck_assert_msg(strcmp(r, cases[i].reply) == 0, "%s: %s", cases[i].client, r);
        ck_assert_msg(strstr(m.text_whole, "old news") != NULL, "%s: %s", cases[i].client,
                      m.text_whole);
        ck_assert_msg(strstr(sp_mail_reply_cut(&arena, m.text_whole, SP_MAIL_FIRST),
                             "old news") != NULL, "%s", cases[i].client);
    }
}
END_TEST

/* QA: an HTML-only mail lost its links' targets ("here" for <a
 * href="https://x">here</a>). A target a message body may link to
 * follows its text as the chat transcript writes it; others, and one the
 * text already says, do not. */
START_TEST(html_links_keep_their_targets)
{
    static const struct {
        const char *html, *text;
    } cases[] = {
        {"<p>Click <a href=\"https://x.example/a?b=1&amp;c=2\">here</a>.</p>",
         "Click here <https://x.example/a?b=1&c=2>."},
        {"<a href=\" MAILTO:bob@example.com\n\">write</a> <a href='http://h.example'>"
         "<img src=x></a>", "write <MAILTO:bob@example.com> <http://h.example>"},
        {"<a href=\"https://x.example/\">https://x.example</a>, "
         "<a href=\"mailto:Bob@Example.com\">bob@example.com</a>",
         "https://x.example, bob@example.com"},
        {"<a href=\"javascript:alert(1)\">a</a> <a href=\"java\tscript:x\">b</a> "
         "<a href=\"/relative\">c</a> <a href=\"data:text/html,x\">d</a> "
         "<a href=\"ftp://x.example\">e</a> <a href=\"https://x.example/a b\">f</a> "
         "<a href=\"https://x.example/<b>\">g</a> <a>h</a>",
         "a b c d e f g h"},
        {"<pre>see <a href=\"https://x.example\">it</a></pre>", "see it <https://x.example>"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(sp_mail_html_text(&arena, cases[i].html, strlen(cases[i].html)),
                         cases[i].text);
    /* a target of kilobytes (a tracking URL) is left out */
    char link[2200];
    int n = snprintf(link, sizeof(link), "<a href=\"https://x.example/%0*d\">long</a>", 2100, 0);
    ck_assert_str_eq(sp_mail_html_text(&arena, link, (size_t)n), "long");
    struct sp_mail_in m = parse(HDRS "Content-Type: text/html\n\n"
                                     "<div>Pay <a href=\"https://pay.example/1\">here</a></div>");
    ck_assert_str_eq(m.text, "Pay here <https://pay.example/1>");
}
END_TEST

/* A mail program runs no script, so it shows what noscript holds: that
 * text is the customer's, kept (an unclosed noscript took the rest). */
START_TEST(html_text_keeps_what_noscript_holds)
{
    const char *h = "<p>before</p><noscript><p>shown</noscript><p>after</p>";
    ck_assert_str_eq(sp_mail_html_text(&arena, h, strlen(h)), "before\nshown\nafter");
    h = "<p>x<script>alert(1)</script><style>p{}</style>y</p>";
    ck_assert_str_eq(sp_mail_html_text(&arena, h, strlen(h)), "xy");
}
END_TEST

START_TEST(html_nesting_and_size_are_bounded)
{
    /* gumbo is quadratic in nesting: 160,000 open elements would take a
     * minute; the tags past the depth limit go, their text stays */
    struct sp_buf b;
    sp_buf_init(&b, &arena, 1 << 20);
    for (int i = 0; i < 80000; i++)
        sp_buf_puts(&b, "<div><span>");
    sp_buf_puts(&b, "<style>p { color: red }</style>deep <b>text</b><script>x()</script>");
    ck_assert_str_eq(sp_mail_html_text(&arena, b.data, b.len), "deep text");
    /* past 1 MiB the HTML is not read */
    sp_buf_init(&b, &arena, 2 << 20);
    while (b.len < (2u << 20))
        sp_buf_puts(&b, "<p>first</p>\n");
    sp_buf_puts(&b, "<p>END</p>");
    const char *t = sp_mail_html_text(&arena, b.data, b.len);
    ck_assert_ptr_null(strstr(t, "END"));
    ck_assert(strncmp(t, "first\nfirst\n", 12) == 0);
}
END_TEST

START_TEST(attachment_is_counted_not_read)
{
    struct sp_mail_in m = parse(HDRS "Content-Type: multipart/mixed; boundary=outer\n"
                                     "\n"
                                     "--outer\n"
                                     "Content-Type: multipart/alternative; boundary=inner\n"
                                     "\n"
                                     "--inner\n"
                                     "Content-Type: text/plain\n"
                                     "\n"
                                     "See the invoice.\n"
                                     "--inner\n"
                                     "Content-Type: text/html\n"
                                     "\n"
                                     "<p>See the <i>invoice</i>.</p>\n"
                                     "--inner--\n"
                                     "--outer\n"
                                     "Content-Type: application/pdf; name=\"invoice.pdf\"\n"
                                     "Content-Disposition: attachment; filename=invoice.pdf\n"
                                     "Content-Transfer-Encoding: base64\n"
                                     "\n"
                                     "JVBERi0xLjQK\n"
                                     "--outer--\n");
    ck_assert_str_eq(m.text, "See the invoice.");
    ck_assert_uint_eq(m.nfiles, 1);
    ck_assert_str_eq(m.files[0].filename, "invoice.pdf");
    ck_assert_str_eq(m.files[0].content_type, "application/pdf");
    ck_assert_uint_eq(m.files[0].len, 9);
    ck_assert_int_eq(memcmp(m.files[0].data, "%PDF-1.4\n", 9), 0);
}
END_TEST

/* One file part with the given Content-Type and Content-Disposition
 * values; its name as read. */
static const char *
name_of(const char *type, const char *disposition)
{
    const char *msg = sp_arena_sprintf(&arena, HDRS "Content-Type: multipart/mixed; boundary=b\n"
                                                    "\n--b\nContent-Type: text/plain\n\nhi\n"
                                                    "--b\nContent-Type: %s\n%s%s%s"
                                                    "\nbytes\n--b--\n",
                                       type, disposition ? "Content-Disposition: " : "",
                                       disposition ? disposition : "", disposition ? "\n" : "");
    struct sp_mail_in m = parse(msg);
    ck_assert_uint_eq(m.nfiles, 1);
    ck_assert_uint_eq(m.files[0].len, 5);
    ck_assert_int_eq(memcmp(m.files[0].data, "bytes", 5), 0);   /* not NUL-terminated */
    return m.files[0].filename;
}

START_TEST(file_names_are_read_as_mail_programs_write_them)
{
    /* plain, quoted, and Content-Type's name when the disposition has none */
    ck_assert_str_eq(name_of("image/png", "attachment; filename=a.png"), "a.png");
    ck_assert_str_eq(name_of("image/png", "inline; filename=\"my photo.png\"; size=5"),
                     "my photo.png");
    ck_assert_str_eq(name_of("image/png; name=\"scan.png\"", "attachment"), "scan.png");
    ck_assert_str_eq(name_of("image/png; name=ct.png", "attachment; filename=cd.png"), "cd.png");
    /* RFC 2047 words in the quoted value (Gmail, Outlook) */
    ck_assert_str_eq(name_of("application/pdf",
                             "attachment; filename=\"=?UTF-8?B?UmVjaG51bmcgw6Qu?="
                             " =?UTF-8?Q?pdf?=\""),
                     "Rechnung \xc3\xa4.pdf");
    /* RFC 2231: charset and percent-encoding, continuations in order */
    ck_assert_str_eq(name_of("text/plain", "attachment; filename*=iso-8859-1'de'%E4rger.txt"),
                     "\xc3\xa4rger.txt");
    ck_assert_str_eq(name_of("text/plain", "attachment; filename*1=\"part.txt\";"
                                           " filename*0*=UTF-8''%E2%82%AC-"),
                     "\xe2\x82\xac-part.txt");
    ck_assert_str_eq(name_of("text/plain", "attachment; filename=\"fallback.txt\";"
                                           " filename*=UTF-8''real.txt"),
                     "real.txt");
    /* a gap ends the name; a leading zero is another parameter */
    ck_assert_str_eq(name_of("text/plain", "attachment; filename*0=a; filename*2=c"), "a");
    ck_assert_ptr_null(name_of("text/plain", "attachment; filename*01=x"));
}
END_TEST

/* RFC 2045 §5.2: a Content-Type that is not type/subtype of tokens is
 * text/plain (a byte over 0x7f, a second slash, an empty side). */
START_TEST(an_unusable_content_type_is_text_plain)
{
    static const char *const bad[] = {"im\x88ge/png", "image/png/x", "image/", "/png",
                                      "image/p\"ng"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg =
            sp_arena_sprintf(&arena, HDRS "Content-Type: multipart/mixed; boundary=b\n\n"
                                          "--b\nContent-Type: text/html\n\n<p>x</p>\n"
                                          "--b\nContent-Type: %s\n\nbody\n--b--\n",
                             bad[i]);
        struct sp_mail_in m = parse(msg);
        ck_assert_msg(strcmp(m.text, "body") == 0 && m.nfiles == 1, "%s", bad[i]);
        ck_assert_str_eq(m.files[0].content_type, "text/html");
    }
}
END_TEST

START_TEST(file_names_are_one_path_component)
{
    ck_assert_str_eq(name_of("text/plain", "attachment; filename=\"C:\\\\Users\\\\z\\\\r.txt\""),
                     "r.txt");
    ck_assert_str_eq(name_of("text/plain", "attachment; filename=\"../../etc/passwd\""),
                     "passwd");
    ck_assert_str_eq(name_of("text/plain", "attachment; filename=\"  spaced.txt  \""),
                     "spaced.txt");
    ck_assert_str_eq(name_of("text/plain", "attachment; filename*=UTF-8''a%0Ab.txt"), "a b.txt");
    ck_assert_ptr_null(name_of("text/plain", "attachment; filename=\"dir/\""));
    ck_assert_ptr_null(name_of("text/plain", "attachment; filename=\"..\""));
    ck_assert_ptr_null(name_of("text/plain", "attachment"));
    /* a long name keeps its extension and whole characters */
    struct sp_buf b;
    sp_buf_init(&b, &arena, 700);
    sp_buf_puts(&b, "attachment; filename=\"");
    for (int i = 0; i < 200; i++)
        sp_buf_puts(&b, "\xc3\xa4");
    sp_buf_puts(&b, ".pdf\"");
    const char *n = name_of("application/pdf", b.data);
    ck_assert_uint_le(strlen(n), SP_MAIL_FILENAME_MAX);
    ck_assert(sp_utf8_valid(n, strlen(n)));
    ck_assert_str_eq(n + strlen(n) - 4, ".pdf");
}
END_TEST

START_TEST(attached_text_and_forwarded_mail_are_attachments)
{
    struct sp_mail_in m = parse(HDRS "Content-Type: multipart/mixed; boundary=b\n"
                                     "\n"
                                     "--b\n"
                                     "Content-Type: text/plain; name=log.txt\n"
                                     "Content-Disposition: ATTACHMENT; filename=log.txt\n"
                                     "\n"
                                     "not the body\n"
                                     "--b\n"
                                     "Content-Type: message/rfc822\n"
                                     "\n"
                                     "From: x@example.com\n\nforwarded\n"
                                     "--b\n"
                                     "Content-Type: text/html\n"
                                     "\n"
                                     "<p>the body</p>\n"
                                     "--b--\n");
    ck_assert_str_eq(m.text, "the body");
    ck_assert(m.text_from_html);
    ck_assert_uint_eq(m.nfiles, 2);
}
END_TEST

START_TEST(digest_parts_are_messages)
{
    struct sp_mail_in m = parse(HDRS "Content-Type: multipart/digest; boundary=d\n"
                                     "\n"
                                     "--d\n"
                                     "\n"
                                     "From: a@example.com\n\none\n"
                                     "--d\n"
                                     "Content-Type: text/plain\n"
                                     "\n"
                                     "the text\n"
                                     "--d--\n");
    ck_assert_str_eq(m.text, "the text");
    ck_assert_uint_eq(m.nfiles, 1);
}
END_TEST

START_TEST(quoted_printable_is_decoded)
{
    struct sp_mail_in m = parse(HDRS "Content-Type: text/plain; charset=utf-8\n"
                                     "Content-Transfer-Encoding: Quoted-Printable\n"
                                     "\n"
                                     "Caf=C3=A9 au lait, a very long line that was wr=\n"
                                     "apped by the sender =3D fine.   \n"
                                     "Bad =ZZ escape=\n");
    ck_assert_str_eq(m.text, "Café au lait, a very long line that was wrapped by the sender = "
                             "fine.\nBad =ZZ escape");
    char *out;
    size_t n;
    sp_mail_decode_qp(&arena, "a=\r\nb=4", 7, &out, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(out, "ab=4");
}
END_TEST

START_TEST(base64_is_decoded)
{
    struct sp_mail_in m =
        parse(HDRS "Content-Type: text/plain; charset=utf-8\n"
                   "Content-Transfer-Encoding: base64\n"
                   "\n"
                   "SGVsbG8gZnJvbSBiYXNlNjQg4oCUIMO8bsOvY29kZQ0K\n"
                   "c2Vjb25kIGxpbmUNCg==\n");
    ck_assert_str_eq(m.text, "Hello from base64 — ünïcode\nsecond line\n");
    char *out;
    size_t n;
    /* junk ignored; padding ends one run, another may follow */
    sp_mail_decode_base64(&arena, "QQ==\n!QkM=", 10, &out, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(out, "ABC");
}
END_TEST

START_TEST(legacy_charsets_become_utf8)
{
    struct sp_mail_in m = parse(HDRS "Content-Type: text/plain; charset=ISO-8859-1\n"
                                     "Content-Transfer-Encoding: 8bit\n\ncaf\xe9 cr\xe8me\n");
    ck_assert_str_eq(m.text, "café crème\n");
    m = parse(HDRS "Content-Type: text/plain; charset=\"windows-1252\"\n"
                   "\n\x93quoted\x94 costs \x80 5\x81\n");
    /* 0x81 is unassigned in windows-1252 */
    ck_assert_str_eq(m.text, "“quoted” costs € 5\xef\xbf\xbd\n");
    m = parse(HDRS "Content-Type: text/plain; charset=utf-8\n\nok \xff\xc3\n");
    ck_assert_str_eq(m.text, "ok \xef\xbf\xbd\xef\xbf\xbd\n");
    /* ISO-8859-1 is read as windows-1252, as Outlook means it */
    m = parse(HDRS "Content-Type: text/plain; charset=iso-8859-1\n\n\x93hi\x94\n");
    ck_assert_str_eq(m.text, "“hi”\n");
    /* 8-bit text labelled US-ASCII (or not at all) is read as UTF-8 */
    m = parse(HDRS "Content-Type: text/plain; charset=us-ascii\n\nZo\xc3\xab\n");
    ck_assert_str_eq(m.text, "Zoë\n");
    m = parse(HDRS "\nZo\xc3\xab\n");
    ck_assert_str_eq(m.text, "Zoë\n");
}
END_TEST

START_TEST(long_bodies_convert_the_same)
{
    /* long single-byte bodies go through a table, multi-byte ones not */
    struct sp_buf b, want;
    sp_buf_init(&b, &arena, 65536);
    sp_buf_init(&want, &arena, 65536);
    sp_buf_puts(&b, HDRS "Content-Type: text/plain; charset=cp1252\n\n");
    for (int i = 0; i < 5000; i++) {
        sp_buf_puts(&b, "\x80\x81" "a\r\n");
        sp_buf_puts(&want, "€\xef\xbf\xbd" "a\n");
    }
    ck_assert_str_eq(parse(b.data).text, want.data);
    sp_buf_init(&b, &arena, 65536);
    sp_buf_init(&want, &arena, 65536);
    sp_buf_puts(&b, HDRS "Content-Type: text/plain; charset=ISO-2022-JP\n\n");
    for (int i = 0; i < 2000; i++) {
        sp_buf_puts(&b, "\x1b$B$3$s\x1b(B ok\n");  /* こん */
        sp_buf_puts(&want, "こん ok\n");
    }
    ck_assert_str_eq(parse(b.data).text, want.data);
}
END_TEST

START_TEST(unknown_charset_reads_as_utf8)
{
    struct sp_mail_in m = parse(HDRS "Content-Type: text/plain; charset=x-klingon\n"
                                     "\ncaf\xe9 ok \xc3\xa9\n");
    ck_assert_str_eq(m.text, "caf\xef\xbf\xbd ok é\n");
    m = parse(HDRS "Content-Type: text/plain; charset=\"utf-8//IGNORE\"\n\nx\xe9\n");
    ck_assert_str_eq(m.text, "x\xef\xbf\xbd\n");
}
END_TEST

START_TEST(crlf_input_gives_lf_text)
{
    struct sp_mail_in m = parse("From: Zoe <zoe@example.com>\r\n"
                                "Subject: Line\r\n ends\r\n"
                                "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
                                "\r\n"
                                "--b\r\n"
                                "Content-Type: text/plain\r\n"
                                "\r\n"
                                "one\r\ntwo\rthree\r\n\r\n"
                                "--b--\r\n");
    ck_assert_str_eq(m.subject, "Line ends");
    ck_assert_str_eq(m.text, "one\ntwo\nthree\n");
}
END_TEST

START_TEST(nuls_are_dropped)
{
    static const char msg[] = HDRS "\nab\0c\n";
    struct sp_mail_in m = parse_n(msg, sizeof(msg) - 1);
    ck_assert_str_eq(m.text, "abc\n");
}
END_TEST

START_TEST(missing_from_is_refused)
{
    const char *msg = "To: support@example.com\nSubject: x\n\nbody\n";
    assert_refused_why(msg, strlen(msg), "no_from");
    msg = "From: Zoe\nSubject: x\n\nbody\n";
    assert_refused_why(msg, strlen(msg), "no_address_in_from");
    msg = "From: <>\n\n";
    assert_refused_why(msg, strlen(msg), "no_address_in_from");
    assert_refused_why("", 0, "no_from");
}
END_TEST

/* QA: From must be read as a DMARC checker reads it. A mail the two
 * could read as from different domains was a ticket of a customer whose
 * domain never checked: a bare CR or a NUL in the headers (ours unfold
 * them into spaces, another reader ends a line or a string there), two
 * Froms (we took the first), two mailboxes in From (we took the first).
 * Each is refused, with its reason. */
START_TEST(a_bare_cr_or_a_nul_in_the_headers_is_refused)
{
    static const char cr[] = "From: eve@evil.test\rFrom: c3@qa-mail.test\n\nhi\n";
    assert_refused_why(cr, sizeof(cr) - 1, "bare_cr_in_header");
    static const char cr_crlf[] = "From: eve@evil.test\rFrom: c3@qa-mail.test\r\n\r\nhi\r\n";
    assert_refused_why(cr_crlf, sizeof(cr_crlf) - 1, "bare_cr_in_header");
    static const char cr_other[] = "From: c3@qa-mail.test\r\nSubject: a\rb\r\n\r\nhi\r\n";
    assert_refused_why(cr_other, sizeof(cr_other) - 1, "bare_cr_in_header");
    static const char cr_last[] = "From: c3@qa-mail.test\r";
    assert_refused_why(cr_last, sizeof(cr_last) - 1, "bare_cr_in_header");
    static const char nul[] = "From: eve@evil.test\0c3@qa-mail.test\n\nhi\n";
    assert_refused_why(nul, sizeof(nul) - 1, "nul_in_header");
    static const char nul_other[] = "From: c3@qa-mail.test\nX-A: \0\n\nhi\n";
    assert_refused_why(nul_other, sizeof(nul_other) - 1, "nul_in_header");
    /* In the body they are the text's business (CRs end lines, NULs are
     * dropped), and CRLF line ends are what mail has. */
    static const char body[] = "From: c3@qa-mail.test\r\n\r\na\rb\0c\r\n";
    struct sp_mail_in m = parse_n(body, sizeof(body) - 1);
    ck_assert_str_eq(m.from_addr, "c3@qa-mail.test");
    ck_assert_str_eq(m.text, "a\nbc\n");
}
END_TEST

START_TEST(more_than_one_from_is_refused)
{
    static const char *const two[] = {
        "From: c3@qa-mail.test\nFrom: eve@evil.test\n\nhi\n",
        "From : c3@qa-mail.test\nFrom: eve@evil.test\n\nhi\n",
        "From: eve@evil.test\nFrom\t: c3@qa-mail.test\n\nhi\n",
        "FROM: c3@qa-mail.test\r\nSubject: x\r\nfrom: eve@evil.test\r\n\r\nhi\r\n",
        "From: c3@qa-mail.test\nFrom: c3@qa-mail.test\n\nhi\n",
        "From: c3@qa-mail.test\nFrom:\n\nhi\n",
    };
    for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++)
        assert_refused_why(two[i], strlen(two[i]), "more_than_one_from");
    /* Other headers that name a sender are not From. */
    struct sp_mail_in m = parse("Resent-From: eve@evil.test\nFrom: c3@qa-mail.test\n"
                                "Sender: eve@evil.test\nX-From: eve@evil.test\n\nhi\n");
    ck_assert_str_eq(m.from_addr, "c3@qa-mail.test");
}
END_TEST

START_TEST(a_from_of_more_than_one_mailbox_is_refused)
{
    static const char *const many[] = {
        "c4@qa-mail.test, eve@evil.test",
        "Zoe <c4@qa-mail.test>, Eve <eve@evil.test>",
        "c4@qa-mail.test; eve@evil.test",
        "friends: c4@qa-mail.test, eve@evil.test;",
        /* one mailbox that reads as two addresses: another reader may take either */
        "eve@evil.test c3@qa-mail.test",
        "<eve@evil.test> <c3@qa-mail.test>",
        "Zoe <eve@evil.test> Zoe <c3@qa-mail.test>",
    };
    for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
        const char *msg = sp_arena_sprintf(&arena, "From: %s\n\nhi\n", many[i]);
        assert_refused_why(msg, strlen(msg), "from_not_one_mailbox");
    }
    /* One address written twice is one mailbox; a name is no mailbox. */
    static const char *const one[] = {
        "c4@qa-mail.test, C4@qa-mail.test",
        "Zoe, Zoe Urban c4@qa-mail.test",
        "\"Urban, Zoe <z@x.test>\" <c4@qa-mail.test> (old: eve@evil.test)",
        "friends: c4@qa-mail.test;",
    };
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
        struct sp_mail_in m = parse(sp_arena_sprintf(&arena, "From: %s\n\nhi\n", one[i]));
        ck_assert_msg(strcasecmp(m.from_addr, "c4@qa-mail.test") == 0, "%s", one[i]);
    }
}
END_TEST

START_TEST(huge_header_block_is_refused)
{
    size_t n = SP_MAIL_MAX_HEADER_BYTES + 100;
    char *msg = sp_arena_alloc(&arena, n);
    memset(msg, 'x', n);
    memcpy(msg, "From: z@example.com\nX-Big: ", 27);
    assert_refused_why(msg, n, "header_block_too_long");
    msg[n - 2] = '\n';
    msg[n - 1] = '\n';
    assert_refused_why(msg, n, "header_block_too_long");
}
END_TEST

START_TEST(missing_separator_is_headers_only)
{
    struct sp_mail_in m = parse("From: zoe@example.com\nSubject: Only headers");
    ck_assert_str_eq(m.subject, "Only headers");
    ck_assert_str_eq(m.text, "");
    ck_assert_uint_eq(m.nfiles, 0);
    ck_assert_uint_eq(m.body_offset, strlen("From: zoe@example.com\nSubject: Only headers"));
}
END_TEST

/* body_offset: the first byte after the header block's blank line. */
START_TEST(body_offset_is_after_the_blank_line)
{
    const char *msg = "From: zoe@example.com\r\nSubject: Hi\r\n\r\nBody\r\n";
    struct sp_mail_in m = parse(msg);
    ck_assert_str_eq(msg + m.body_offset, "Body\r\n");
    msg = "From: zoe@example.com\n\n";
    m = parse(msg);
    ck_assert_uint_eq(m.body_offset, strlen(msg));
}
END_TEST

START_TEST(auto_replies_are_recognized)
{
    static const char *const yes[] = {
        "Auto-Submitted: auto-replied\n", "Auto-Submitted: Auto-Generated (vacation)\n",
        "Precedence: bulk\n",            "Precedence: JUNK\n",
        "Precedence: list\n",            "Precedence: auto_reply\n",
        "X-Autoreply: yes\n",            "X-Autorespond: whatever\n",
        "List-Id: <news.example.com>\n",
        /* QA: loop marks were answered */
        "X-Loop: support@example.com\n", "X-MS-Exchange-Inbox-Rules-Loop: z@example.com\n",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        char *msg = sp_arena_sprintf(&arena, "From: z@example.com\n%s\nhi", yes[i]);
        ck_assert_msg(parse(msg).auto_reply, "%s", yes[i]);
    }
    ck_assert(!parse("From: z@example.com\nAuto-Submitted: no\nPrecedence: first-class\n\n")
                   .auto_reply);
    /* Return-Path: <> is an empty envelope sender, the delivering MTA's word */
    ck_assert(parse("Return-Path: <>\nFrom: z@example.com\n\nhi").null_return_path);
    ck_assert(parse("Return-Path: < >\nFrom: z@example.com\n\nhi").null_return_path);
    ck_assert(!parse("Return-Path: <z@example.com>\nFrom: z@example.com\n\nhi")
                   .null_return_path);
    ck_assert(!parse("From: z@example.com\n\nhi").null_return_path);
}
END_TEST

/* Every Authentication-Results header, unfolded, in header order (the
 * MTA's own on top): core/auth_results decides which one counts. */
START_TEST(authentication_results_are_kept_top_first)
{
    struct sp_mail_in m = parse("Authentication-Results: mx.example.com;\r\n"
                                "\tdmarc=pass header.from=example.com\r\n" HDRS
                                "authentication-results: evil.example; dkim=pass\n\nhi\n");
    ck_assert_uint_eq(m.nauth_results, 2);
    ck_assert_str_eq(m.auth_results[0], "mx.example.com; dmarc=pass header.from=example.com");
    ck_assert_str_eq(m.auth_results[1], "evil.example; dkim=pass");
    m = parse(HDRS "\nhi\n");
    ck_assert_uint_eq(m.nauth_results, 0);
}
END_TEST

START_TEST(ids_lose_their_brackets)
{
    struct sp_mail_in m = parse("From: z@example.com\n"
                                "Message-ID:\n <CAB+x=1@mail.gmail.com>\n"
                                "In-Reply-To: <ticket-42@support.example.com> (comment)\n"
                                " <other@example.com>\n\n");
    ck_assert_str_eq(m.message_id, "CAB+x=1@mail.gmail.com");
    ck_assert_str_eq(m.in_reply_to, "ticket-42@support.example.com");
    m = parse("From: z@example.com\nMessage-ID: bare-id@example.com\nIn-Reply-To: <>\n\n");
    ck_assert_str_eq(m.message_id, "bare-id@example.com");
    ck_assert_ptr_null(m.in_reply_to);
}
END_TEST

/* References as mail programs write it (folded, many ids), and as old
 * ones did: phrases, comments and quoted strings around the ids, white
 * space inside them; a '<' in a comment or quoted string opens nothing. */
START_TEST(references_are_a_list_of_ids)
{
    struct sp_mail_in m = parse("From: z@example.com\n"
                                "References: <ticket-N1NP23QSD0NK@localhost>\n"
                                "\t<outbox-2336@localhost>\n\n");
    ck_assert_uint_eq(m.nreferences, 2);
    ck_assert_str_eq(m.references[0], "ticket-N1NP23QSD0NK@localhost");
    ck_assert_str_eq(m.references[1], "outbox-2336@localhost");
    m = parse("From: z@example.com\n\n");
    ck_assert_uint_eq(m.nreferences, 0);
    const char *ids[4];
    size_t n = sp_mail_msg_ids(&arena, "Zoe's message (of <not@this> (nested <no@no>) one)"
                               " \"quoted <nor@this>\" < a.b @ example.com >"
                               "<first<second@x><>< ><third@x> <unclosed@x", ids, 4);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(ids[0], "a.b@example.com");
    ck_assert_str_eq(ids[1], "second@x");
    ck_assert_str_eq(ids[2], "third@x");
    /* escaped brackets and quotes stay inside comments and strings */
    n = sp_mail_msg_ids(&arena, "(a \\) <no@x>) \"b \\\" <no@y>\" <yes@z>", ids, 4);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ids[0], "yes@z");
    /* controls are no part of an id (a header's are spaces already) */
    n = sp_mail_msg_ids(&arena, "<a\x01" "b@x\x7f\x1b> <\x01\x02>", ids, 4);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ids[0], "ab@x");
    /* at most max; NULL is none; an id longer than a line is skipped */
    ck_assert_uint_eq(sp_mail_msg_ids(&arena, "<a@x> <b@x> <c@x>", ids, 2), 2);
    ck_assert_str_eq(ids[1], "b@x");
    ck_assert_uint_eq(sp_mail_msg_ids(&arena, NULL, ids, 4), 0);
    char *long_id = sp_arena_alloc(&arena, SP_MAIL_MSG_ID_MAX + 16);
    memset(long_id, 'a', SP_MAIL_MSG_ID_MAX + 10);
    long_id[0] = '<';
    memcpy(long_id + SP_MAIL_MSG_ID_MAX + 2, "@x> <ok@x>", 11);
    ck_assert_uint_eq(sp_mail_msg_ids(&arena, long_id, ids, 4), 1);
    ck_assert_str_eq(ids[0], "ok@x");
    /* more ids than kept: the first SP_MAIL_MAX_REFERENCES */
    struct sp_buf b;
    sp_buf_init(&b, &arena, 4096);
    sp_buf_printf(&b, "From: z@example.com\nReferences:");
    for (int i = 0; i < SP_MAIL_MAX_REFERENCES + 5; i++)
        sp_buf_printf(&b, "\n <id%d@x>", i);
    sp_buf_printf(&b, "\n\n");
    m = parse(b.data);
    ck_assert_uint_eq(m.nreferences, SP_MAIL_MAX_REFERENCES);
    ck_assert_str_eq(m.references[SP_MAIL_MAX_REFERENCES - 1],
                     sp_arena_sprintf(&arena, "id%d@x", SP_MAIL_MAX_REFERENCES - 1));
}
END_TEST

/* A message whose text/plain sits inside levels nested multiparts. */
static const char *
nested(int levels)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 4096);
    sp_buf_puts(&b, "From: z@example.com\n");
    for (int i = 0; i < levels; i++)
        sp_buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
    sp_buf_puts(&b, "Content-Type: text/plain\n\ndeep text\n");
    for (int i = levels - 1; i >= 0; i--)
        sp_buf_printf(&b, "--b%d--\n", i);
    return b.data;
}

/* A multipart nested past the limit is not read as if the mail were
 * complete (its text could be in there): the mail is refused. */
START_TEST(nesting_is_bounded)
{
    struct sp_mail_in m = parse(nested(SP_MAIL_MAX_DEPTH));
    ck_assert_str_eq(m.text, "deep text");
    ck_assert_uint_eq(m.nfiles, 0);
    const char *deep = nested(SP_MAIL_MAX_DEPTH + 1);
    assert_refused_why(deep, strlen(deep), "nested_too_deep");
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(sp_mail_parse(&arena, deep, strlen(deep), &m, &p), SP_INVALID);
    ck_assert_str_eq(p.detail, "MIME parts nested more than 8 deep: the mail cannot be read");
    deep = nested(5000);
    assert_refused_why(deep, strlen(deep), "nested_too_deep");
}
END_TEST

/* n parts of one byte each in a multipart/mixed, the text (a text/plain
 * part) first, last, or not at all. */
static const char *
many_parts(int n, const char *text_at)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 8192);
    sp_buf_puts(&b, HDRS "Content-Type: multipart/mixed; boundary=b\n\n");
    if (strcmp(text_at, "first") == 0)
        sp_buf_puts(&b, "--b\nContent-Type: text/plain\n\nthe text\n");
    for (int i = 0; i < n; i++)
        sp_buf_puts(&b, "--b\nContent-Type: image/png\nContent-Disposition: inline\n\nx\n");
    if (strcmp(text_at, "last") == 0)
        sp_buf_puts(&b, "--b\nContent-Type: text/plain\n\nthe text\n");
    sp_buf_puts(&b, "--b--\n");
    return b.data;
}

/* The first SP_MAIL_MAX_PARTS parts are kept (the root is one); the
 * files after them are counted, and the text is found wherever it is. */
START_TEST(parts_are_bounded)
{
    int n = 3 * SP_MAIL_MAX_PARTS;
    struct sp_mail_in m = parse(many_parts(n, "last"));
    ck_assert_uint_eq(m.nfiles, SP_MAIL_MAX_PARTS - 1);
    ck_assert_uint_eq(m.nfiles_over, (size_t)n - (SP_MAIL_MAX_PARTS - 1));
    ck_assert_str_eq(m.text, "the text");
    ck_assert_uint_eq(m.files[0].len, 1);
    m = parse(many_parts(n, "first"));
    ck_assert_uint_eq(m.nfiles, SP_MAIL_MAX_PARTS - 2);
    ck_assert_uint_eq(m.nfiles_over, (size_t)n - (SP_MAIL_MAX_PARTS - 2));
    ck_assert_str_eq(m.text, "the text");
    m = parse(many_parts(30000, "none"));
    ck_assert_uint_eq(m.nfiles + m.nfiles_over, 30000);
    ck_assert_str_eq(m.text, "");
    m = parse(many_parts(SP_MAIL_MAX_PARTS - 1, "none"));
    ck_assert_uint_eq(m.nfiles, SP_MAIL_MAX_PARTS - 1);
    ck_assert_uint_eq(m.nfiles_over, 0);
}
END_TEST

/* After the cap, an HTML text is found too, parts nested in a late
 * multipart are counted, and the other form of a text under a late
 * multipart/alternative is no file. */
START_TEST(late_parts_are_walked)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 8192);
    sp_buf_puts(&b, HDRS "Content-Type: multipart/mixed; boundary=b\n\n");
    for (int i = 0; i < SP_MAIL_MAX_PARTS + 5; i++)
        sp_buf_puts(&b, "--b\nContent-Type: image/png\n\nx\n");
    sp_buf_puts(&b, "--b\nContent-Type: multipart/alternative; boundary=c\n\n"
                    "--c\nContent-Type: text/html; charset=utf-8\n\n<p>late <b>html</b></p>\n"
                    "--c\nContent-Type: image/gif\n\ny\n--c--\n"
                    "--b\nContent-Type: multipart/alternative; boundary=d\n\n"
                    "--d\nContent-Type: text/html\n\n<p>other form</p>\n--d--\n--b--\n");
    struct sp_mail_in m = parse(b.data);
    ck_assert_str_eq(m.text, "late html");
    ck_assert(m.text_from_html);
    ck_assert_uint_eq(m.nfiles, SP_MAIL_MAX_PARTS - 1);
    ck_assert_uint_eq(m.nfiles_over, 6 + 1);  /* 6 png, the gif; not the two html */
}
END_TEST

START_TEST(unclosed_boundary_runs_to_the_end)
{
    struct sp_mail_in m = parse(HDRS "Content-Type: multipart/mixed; boundary=b\n"
                                     "\n"
                                     "--b\n"
                                     "Content-Type: text/plain\n"
                                     "\n"
                                     "never closed\n"
                                     "--bb not a delimiter\n");
    ck_assert_str_eq(m.text, "never closed\n--bb not a delimiter\n");
    m = parse(HDRS "Content-Type: multipart/mixed; boundary=b\n\nno delimiter at all\n");
    ck_assert_str_eq(m.text, "");
    m = parse(HDRS "Content-Type: multipart/mixed\n\nno boundary: read as text\n");
    ck_assert_str_eq(m.text, "no boundary: read as text\n");
}
END_TEST

START_TEST(parameters_may_be_quoted_or_rfc2231)
{
    struct sp_mail_in m = parse(
        HDRS "Content-Type: Multipart/Mixed; title*=utf-8''a%3Bb; boundary*0=\"no\";\n"
             "  note=\"; boundary=fake\"; BOUNDARY = \"real one\"\n"
             "\n"
             "--real one\n"
             "Content-Type: text/plain; charset*=utf-8''x; charset=\"iso-8859-1\"\n"
             "\n"
             "\xe9t\xe9\n"
             "--real one--\n");
    ck_assert_str_eq(m.text, "été");
}
END_TEST

START_TEST(hostile_headers_stay_linear)
{
    /* 200 KiB of near-words and comments: a quadratic scan would time out */
    size_t n = 200 * 1024;
    struct sp_buf b;
    sp_buf_init(&b, &arena, n + 256);
    sp_buf_puts(&b, "From: ");
    while (b.len < n / 2)
        sp_buf_puts(&b, "((((\"<a@b");
    sp_buf_puts(&b, "\nSubject: ");
    while (b.len < n)
        sp_buf_puts(&b, "=?a?q?x=?");
    sp_buf_puts(&b, "\n\n");
    struct sp_mail_in m;
    struct sp_problem p;
    sp_problem_init(&p);
    sp_mail_parse(&arena, b.data, b.len, &m, &p);
}
END_TEST

START_TEST(large_message_parses)
{
    /* 25 MiB: a base64 attachment with a text part, as an MTA may pipe */
    size_t att = 25u << 20;
    struct sp_buf b;
    sp_buf_init(&b, &arena, att + 4096);
    sp_buf_puts(&b, HDRS "Content-Type: multipart/mixed; boundary=b\n\n"
                         "--b\nContent-Type: text/plain\n\nsee attached\n"
                         "--b\nContent-Type: application/zip\n"
                         "Content-Transfer-Encoding: base64\n\n");
    while (b.len < att)
        sp_buf_puts(&b, "UEsDBBQAAAAIAAAAIQBkc3ViamVjdHNhbXBsZWRhdGFzYW1wbGVkYXRhc2FtcGxlZGF0\n");
    sp_buf_puts(&b, "--b--\n");
    struct sp_mail_in m = parse_n(b.data, b.len);
    ck_assert_str_eq(m.text, "see attached");
    ck_assert_uint_eq(m.nfiles, 1);
}
END_TEST

/* A DSN as Postfix writes one. */
#define DSN_HEAD                                                                          \
    "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"                       \
    "Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"    \
    "Content-Type: multipart/report; report-type=%s;\r\n\tboundary=\"B.1/mx\"\r\n\r\n"    \
    "This is a MIME-encapsulated message.\r\n\r\n--B.1/mx\r\n"                            \
    "Content-Description: Notification\r\nContent-Type: text/plain\r\n\r\n"               \
    "I'm sorry to have to inform you that your message could not be delivered.\r\n"       \
    "--B.1/mx\r\nContent-Type: message/delivery-status\r\n\r\n"                           \
    "Reporting-MTA: dns; mx.example.com\r\nArrival-Date: Sun, 6 Dec 2026 06:00 +0000\r\n\r\n"

START_TEST(a_dsn_names_its_failed_recipients_and_the_mail_it_returns)
{
    struct sp_mail_in m = parse(sp_arena_sprintf(
        &arena, DSN_HEAD "Final-Recipient: rfc822; zoe@customer.example\r\n"
                "Original-Recipient: rfc822;<Zoe@Customer.example>\r\nAction: failed\r\n"
                "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 unknown\r\n\r\n"
                "Final-Recipient: rfc822; bob@customer.example\r\nAction: delivered\r\n"
                "Status: 2.0.0\r\n\r\n"
                "Final-Recipient: x400; c=de\r\nAction: FAILED (gone)\r\n\r\n"
                "--B.1/mx\r\nContent-Type: message/rfc822\r\n\r\n"
                "From: Support <support@example.com>\r\nSubject: Your ticket [T1]\r\n"
                "Message-ID: <outbox-42@example.com>\r\n\r\nhello\r\n--B.1/mx--\r\n",
        "delivery-status"));
    ck_assert(m.dsn.is_dsn);
    ck_assert(m.dsn.failed);
    ck_assert_uint_eq(m.dsn.nfailed_to, 2);
    ck_assert_str_eq(m.dsn.failed_to[0], "zoe@customer.example");
    ck_assert_str_eq(m.dsn.failed_to[1], "Zoe@Customer.example");
    ck_assert_str_eq(m.dsn.original_id, "outbox-42@example.com");
    ck_assert(m.auto_reply);
    /* only the headers returned; a delay is no failure */
    m = parse(sp_arena_sprintf(&arena, DSN_HEAD "Final-Recipient: rfc822; zoe@customer.example\r\n"
                                       "Action: delayed\r\n\r\n--B.1/mx\r\n"
                                       "Content-Type: text/rfc822-headers\r\n\r\n"
                                       "Message-ID:\r\n <outbox-7@example.com>\r\n--B.1/mx--\r\n",
                               "Delivery-Status"));
    ck_assert(m.dsn.is_dsn);
    ck_assert(!m.dsn.failed);
    ck_assert_uint_eq(m.dsn.nfailed_to, 0);
    ck_assert_str_eq(m.dsn.original_id, "outbox-7@example.com");
    /* a read receipt is a report, not a DSN; a mail is neither */
    m = parse(sp_arena_sprintf(&arena, DSN_HEAD "Action: failed\r\n--B.1/mx--\r\n",
                               "disposition-notification"));
    ck_assert(!m.dsn.is_dsn);
    ck_assert(!parse("From: z@x\r\n\r\nhello\r\n").dsn.is_dsn);
    /* more failed recipients than kept */
    struct sp_buf b;
    sp_buf_init(&b, &arena, 4096);
    sp_buf_printf(&b, DSN_HEAD, "delivery-status");
    for (int i = 0; i < 20; i++)
        sp_buf_printf(&b, "Final-Recipient: rfc822; r%d@x\r\nAction: failed\r\n\r\n", i);
    m = parse(b.data);
    ck_assert_uint_eq(m.dsn.nfailed_to, SP_MAIL_DSN_RECIPIENTS);
    ck_assert_ptr_null(m.dsn.original_id);
}
END_TEST

/* A failed recipient's Status says whether the bounce is hard (5.x.x,
 * permanent: the address is suppressed) or soft (4.x.x: an MTA that gave
 * up retrying; none: unknown), each recipient its own. */
START_TEST(a_dsn_says_which_failures_are_permanent)
{
    struct sp_mail_in m = parse(sp_arena_sprintf(
        &arena, DSN_HEAD "Final-Recipient: rfc822; a@x\r\nAction: failed\r\n"
                "Status:  5.1.1 (unknown user)\r\n\r\n"
                "Final-Recipient: rfc822; b@x\r\nAction: failed\r\nStatus: 4.2.2\r\n\r\n"
                "Final-Recipient: rfc822; c@x\r\nAction: failed\r\n\r\n"
                "Final-Recipient: rfc822; d@x\r\nAction: failed\r\nStatus: 55\r\n\r\n"
                "--B.1/mx--\r\n",
        "delivery-status"));
    ck_assert_uint_eq(m.dsn.nfailed_to, 4);
    ck_assert_str_eq(m.dsn.failed_to[0], "a@x");
    ck_assert(m.dsn.failed_hard[0]);
    ck_assert_str_eq(m.dsn.failed_to[1], "b@x");
    ck_assert(!m.dsn.failed_hard[1]);
    ck_assert(!m.dsn.failed_hard[2]);
    ck_assert(!m.dsn.failed_hard[3]);
    /* the code without its comment, for staff to see why (sql/085) */
    ck_assert_str_eq(m.dsn.status[0], "5.1.1");
    ck_assert_str_eq(m.dsn.status[1], "4.2.2");
    ck_assert_ptr_null(m.dsn.status[2]);
    ck_assert_ptr_null(m.dsn.status[3]);
}
END_TEST

/* A Status is kept only as an RFC 3463 code: what else an MTA writes
 * there (an address, a sentence) is not. */
START_TEST(a_dsn_keeps_only_a_well_formed_status_code)
{
    static const struct {
        const char *status, *code;
    } cases[] = {
        {"5.7.1", "5.7.1"},
        {"\t5.100.999(policy)", "5.100.999"},
        {"2.0.0", "2.0.0"},
        {"5.1.1a", NULL},
        {"5.1", NULL},
        {"5.1.1234", NULL},
        {"3.1.1", NULL},
        {"5..1", NULL},
        {"5.1.1@x", NULL},
        {"bob@example.com 5.1.1", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_mail_in m = parse(sp_arena_sprintf(
            &arena, DSN_HEAD "Final-Recipient: rfc822; a@x\r\nAction: failed\r\n"
                             "Status: %s\r\n\r\n--B.1/mx--\r\n",
            "delivery-status", cases[i].status));
        ck_assert_uint_eq(m.dsn.nfailed_to, 1);
        if (cases[i].code == NULL)
            ck_assert_msg(m.dsn.status[0] == NULL, "%s: %s", cases[i].status, m.dsn.status[0]);
        else
            ck_assert_msg(m.dsn.status[0] != NULL && strcmp(m.dsn.status[0], cases[i].code) == 0,
                          "%s", cases[i].status);
    }
}
END_TEST

static Suite *
mail_parse_suite(void)
{
    Suite *s = suite_create("mail_parse");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, plain_ascii_mail_is_read);
    tcase_add_test(tc, authentication_results_are_kept_top_first);
    tcase_add_test(tc, folded_headers_are_unfolded);
    tcase_add_test(tc, encoded_words_are_decoded);
    tcase_add_test(tc, decode_words_joins_a_character_split_across_words);
    tcase_add_test(tc, from_forms_give_address_and_name);
    tcase_add_test(tc, quoted_local_parts_are_unquoted_when_they_need_none);
    tcase_add_test(tc, recipients_come_from_to_cc_and_delivery_headers);
    tcase_add_test(tc, recipients_stop_at_the_cap);
    tcase_add_test(tc, alternative_prefers_plain_text);
    tcase_add_test(tc, a_blank_plain_alternative_gives_way_to_the_html);
    tcase_add_test(tc, a_plain_part_with_nothing_visible_gives_way_to_the_html);
    tcase_add_test(tc, nuls_in_html_are_dropped_not_replaced);
    tcase_add_test(tc, html_only_becomes_text);
    tcase_add_test(tc, html_links_keep_their_targets);
    tcase_add_test(tc, html_text_keeps_blocks_and_drops_quotes);
    tcase_add_test(tc, html_text_whole_keeps_the_quoted_markup);
    tcase_add_test(tc, html_cdata_in_foreign_content_does_not_abort);
    tcase_add_test(tc, html_text_drops_what_css_and_markup_hide);
    tcase_add_test(tc, html_text_gives_each_block_its_line);
    tcase_add_test(tc, html_only_replies_of_each_client_lose_their_history);
    tcase_add_test(tc, a_dsn_names_its_failed_recipients_and_the_mail_it_returns);
    tcase_add_test(tc, a_dsn_says_which_failures_are_permanent);
    tcase_add_test(tc, a_dsn_keeps_only_a_well_formed_status_code);
    tcase_add_test(tc, html_text_keeps_what_noscript_holds);
    tcase_add_test(tc, html_nesting_and_size_are_bounded);
    tcase_add_test(tc, attachment_is_counted_not_read);
    tcase_add_test(tc, attached_text_and_forwarded_mail_are_attachments);
    tcase_add_test(tc, file_names_are_read_as_mail_programs_write_them);
    tcase_add_test(tc, file_names_are_one_path_component);
    tcase_add_test(tc, an_unusable_content_type_is_text_plain);
    tcase_add_test(tc, digest_parts_are_messages);
    tcase_add_test(tc, quoted_printable_is_decoded);
    tcase_add_test(tc, base64_is_decoded);
    tcase_add_test(tc, legacy_charsets_become_utf8);
    tcase_add_test(tc, long_bodies_convert_the_same);
    tcase_add_test(tc, unknown_charset_reads_as_utf8);
    tcase_add_test(tc, crlf_input_gives_lf_text);
    tcase_add_test(tc, nuls_are_dropped);
    tcase_add_test(tc, missing_from_is_refused);
    tcase_add_test(tc, a_bare_cr_or_a_nul_in_the_headers_is_refused);
    tcase_add_test(tc, more_than_one_from_is_refused);
    tcase_add_test(tc, a_from_of_more_than_one_mailbox_is_refused);
    tcase_add_test(tc, huge_header_block_is_refused);
    tcase_add_test(tc, missing_separator_is_headers_only);
    tcase_add_test(tc, body_offset_is_after_the_blank_line);
    tcase_add_test(tc, auto_replies_are_recognized);
    tcase_add_test(tc, ids_lose_their_brackets);
    tcase_add_test(tc, references_are_a_list_of_ids);
    tcase_add_test(tc, nesting_is_bounded);
    tcase_add_test(tc, parts_are_bounded);
    tcase_add_test(tc, late_parts_are_walked);
    tcase_add_test(tc, unclosed_boundary_runs_to_the_end);
    tcase_add_test(tc, parameters_may_be_quoted_or_rfc2231);
    tcase_add_test(tc, hostile_headers_stay_linear);
    tcase_add_test(tc, large_message_parses);
    tcase_add_test(tc, an_attached_mail_gives_its_text);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(mail_parse_suite());
}
