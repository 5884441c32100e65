/*
 * mail_html: the text of an inbound mail's HTML body as its reader sees
 * it, without the quoted history mail clients put in markup of their own
 * (the text/html alternative, or the only body, of a customer's mail).
 * Must not: know SQL, tickets or MIME (core/mail_parse gives it the
 * decoded HTML); trust any byte of it.
 */
#ifndef SP_MAIL_HTML_H
#define SP_MAIL_HTML_H

#include <stddef.h>

struct sp_arena;

/* The two texts of an HTML body, from one parse and one walk. */
struct sp_mail_html_texts {
    const char *reply;  /* without the quoted history: a reply's words */
    const char *whole;  /* with it, as text like the rest: a first mail's (a new
                           ticket's) words, a forward among them, are all the
                           customer's */
};

/* The text of an HTML body as a reader sees it: NUL bytes dropped (as
 * from a text/plain body, before the HTML is read), tags gone, entities
 * decoded, block elements (sp_html_block's, table cells aside, and a
 * select's options) and <br> on lines of their own, an image as its alt
 * text, script/style/head/template/datalist dropped, whitespace collapsed
 * outside <pre>, what is not rendered dropped with its content (the
 * hidden attribute, a style of display: none or visibility: hidden or
 * collapse, a <dialog> without open), a link's target after its text ("here
 * <https://x>", as the chat transcript writes links) when it is one a
 * message body may link to (sp_sanitize_link_ok: http, https, mailto)
 * and the text does not already say it. In out->reply, quoted history is dropped with its
 * content: <blockquote> with type="cite", and elements whose class names
 * gmail_quote, gmail_attr (Gmail's attribution line), yahoo_quoted,
 * moz-cite-prefix (Thunderbird's) or protonmail_quote; at an element
 * whose id is divRplyFwdMsg, appendonsend or
 * mail-editor-reference-message-container (Outlook, which puts the
 * history after or inside them) the reply's text ends. Words written
 * below a quote (bottom posting, answers between quotes) stay, as the
 * text/plain reader keeps them. Only the first 1 MiB is read, and start
 * tags past 256 open elements are dropped (their text kept): gumbo is
 * quadratic in nesting. Uses gumbo through sp_html_parse (a CDATA
 * section is a bogus comment). Arena-owned. */
void sp_mail_html_read(struct sp_arena *a, const char *html, size_t len,
                       struct sp_mail_html_texts *out);

/* sp_mail_html_read's reply text alone (tests, the fuzz target). */
const char *sp_mail_html_text(struct sp_arena *a, const char *html, size_t len);

#endif
