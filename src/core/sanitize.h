/*
 * sanitize: the allowlist HTML sanitizer for message bodies (API.md §4).
 * Untrusted HTML is parsed with gumbo (a real HTML5 parser, the same
 * algorithm browsers use) and re-serialized from the tree, so what is
 * stored is only ever our own markup plus escaped text.
 *
 * Kept: p br b strong i em u s ul ol li a code pre blockquote (HTML
 * namespace only; the same names inside <svg>/<math> are unwrapped).
 * Dropped with their content: script style iframe object embed applet
 * template textarea title xmp noembed noframes, and comments. noscript is
 * unwrapped like any other element (not in API.md's list, and an unclosed
 * one would otherwise take the rest of the body with it).
 * Every other element is unwrapped: its children are kept. An unwrapped
 * block element (div, h1-h6, table parts, section, dl, hr, ...) keeps its
 * line break: a <br> where its text would run into the text before or
 * after it, never leading, trailing, doubled or beside a kept block.
 * All attributes are dropped except a valid href on <a>.
 *
 * Choices API.md leaves open:
 *  - An <a> whose href is missing or not http/https/mailto (scheme matched
 *    case-insensitively after trimming leading/trailing whitespace and
 *    control characters; relative and scheme-less hrefs count as invalid)
 *    is unwrapped to its text rather than emitted without href. Articles
 *    also keep tel: when a phone number follows (an optional "+", digits,
 *    "-.() " and %20; no parameters): "call [our hotline](tel:+15551234)".
 *  - An http(s) link or image needs "//" and a host, and no '@' before
 *    the first '/', '?' or '#' (a backslash does not end the host there:
 *    RFC 3986 readers take it as user info).
 *  - "<![CDATA[" is read as a bogus comment up to the next '>', in HTML
 *    and foreign content alike (sp_html_parse: gumbo 0.10.1 aborts on
 *    its CDATA path).
 *  - Kept elements nested deeper than SP_SANITIZE_MAX_DEPTH are unwrapped
 *    (text kept), so stored bodies stay shallow for every renderer.
 *  - "Visible text" means any character other than ASCII whitespace, C0/C1
 *    controls, DEL and the Unicode space/zero-width characters (NBSP,
 *    U+2000-U+200D, U+2028/9, U+202F, U+205F, U+2060, U+3000, U+FEFF), so
 *    "<p>&nbsp;</p>" is empty.
 *
 * Must not: know about HTTP, SQL or storage; use regexes on markup; emit
 * anything it did not build itself from the parse tree.
 */
#ifndef SP_SANITIZE_H
#define SP_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

#define SP_SANITIZE_MAX_DEPTH 128

struct sp_arena;

/* Sanitizes an untrusted HTML fragment per API.md §4. Returns arena-owned,
 * NUL-terminated HTML and its length in *out_len (out_len may be NULL);
 * sanitizing that again returns it unchanged (it is parsed back as it
 * was written).
 * *has_text (may be NULL) is set true when the result contains visible text
 * (any non-whitespace character outside tags, e.g. "<p> </p>" and "<br>"
 * have none). Invalid UTF-8 in the input becomes U+FFFD, so the result is
 * always valid UTF-8. Never returns NULL.
 * Callers enforce the API.md length limit (20 000 chars) first: HTML5 tree
 * building is superlinear in nesting depth (100k nested <div> take seconds
 * in gumbo), and gumbo handles at most 4 GiB. */
char *sp_sanitize_html(struct sp_arena *a, const char *html, size_t len,
                       size_t *out_len, bool *has_text);

/* What a sanitized fragment may contain beyond text. */
enum sp_sanitize_profile {
    SP_SANITIZE_MESSAGE,  /* ticket and chat bodies: the list above */
    /* Knowledge-base articles (API.md §8), rendered from markdown: the
     * message list plus h1-h6, hr, del, table/thead/tbody/tr/th/td (with
     * align="left|center|right"), img (http/https src, alt) and the task
     * list's <input type="checkbox" disabled> (checked kept); <code> keeps
     * a class="language-…" of at most 32 safe characters; <a> may link to
     * a phone number (tel:). */
    SP_SANITIZE_ARTICLE,
};

/* Whether url is a link <a href> keeps under profile (the first choice
 * above): relative, scheme-less and "#fragment" links are not, and
 * neither is a scheme outside the list (javascript:). */
bool sp_sanitize_link_ok(enum sp_sanitize_profile profile, const char *url);

/* sp_sanitize_html() with the allowlist of profile. */
char *sp_sanitize_html_as(struct sp_arena *a, enum sp_sanitize_profile profile, const char *html,
                          size_t len, size_t *out_len, bool *has_text);

/* Whether the UTF-8 text s[0..n) holds visible text, as *has_text above
 * counts it: a character that is neither white space nor a control (NUL
 * included) nor blank by sp_utf8_blank() (Unicode spaces, invisible and
 * filler characters: the list names and subjects are judged by). A
 * text without any is stored as no body at all (sp_sanitize_body:
 * "empty"). */
bool sp_sanitize_has_visible(const char *s, size_t n);

/* Why a body that sp_sanitize_body() found "empty" is: "has no visible
 * text" when the input itself had none (blanks), else "has no text once
 * unsafe markup is removed" (QA: blanks were told about markup). */
const char *sp_sanitize_empty_reason(const char *html, size_t len);

/* The plain text a reader sees in an HTML fragment (a stored message
 * body), for mail text parts: entities decoded, tags gone, a line break
 * for <br> and after each block, "- " before list items, a link's href
 * after its text. Same length limits as above. Arena-owned, never NULL. */
char *sp_sanitize_text(struct sp_arena *a, const char *html, size_t len);

/* A message body for storage (API.md §4): sp_sanitize_html() of it, or
 * NULL with *why "empty" (no text once unsafe markup is removed) or
 * "too_long" (over max_chars code points once sanitized: escaping makes
 * the output longer than the input, "<" becomes "&lt;"). */
const char *sp_sanitize_body(struct sp_arena *a, const char *html, size_t len, size_t max_chars,
                             const char **why);

/* The other way, for plain text taken in as a message body (a customer's
 * mail): the text escaped, a <p> for each run of lines between blank
 * lines, <br> between its lines. Malformed UTF-8 becomes U+FFFD; the
 * result is what sp_sanitize_html keeps as it is. Arena-owned. */
char *sp_sanitize_text_to_html(struct sp_arena *a, const char *text, size_t len);

/* sp_sanitize_text_to_html() of head then tail, in at most max_chars
 * code points (a message body's limit, which counts the escapes): when
 * the whole is longer, head is cut at a character, the blanks the cut
 * leaves at its end dropped, and "…" (U+2026) put after it, as much of
 * head kept as fits; tail always whole. *cut says whether head was cut.
 * NULL when not even "…" and tail fit. Arena-owned. */
char *sp_sanitize_text_to_html_fit(struct sp_arena *a, const char *head, const char *tail,
                                   size_t max_chars, bool *cut);

/* The same for a text whose whole is kept elsewhere (a long mail's text
 * as a file, domain/mail_in): sp_sanitize_text_to_html() of text then
 * tail when that fits in max_chars code points (*kept then
 * strlen(text)); else of the longest head of text that fits with mark
 * (the note that it is cut) and tail after it, cut at the end of a
 * paragraph (when that keeps half of what a cut at a line's end would),
 * else of a line, else (its first line alone is too long) at a
 * character, the blanks before the cut dropped; *kept the head's length
 * in bytes. NULL when not even mark and tail fit. Arena-owned. */
char *sp_sanitize_text_to_html_lines_fit(struct sp_arena *a, const char *text, const char *mark,
                                         const char *tail, size_t max_chars, size_t *kept);

/* Plain text (sp_sanitize_text's) for inside one paragraph of ours: the
 * text escaped, <br> between its lines, at most one empty line in a row
 * (a line of only spaces, tabs and CRs is an empty one, as a reader sees
 * it), no element that opens or closes a block. Whoever wrote the text cannot
 * end the paragraph it is put in or start another (a chat transcript's
 * labelled lines, docs/API.md §7). Arena-owned, never NULL. */
char *sp_sanitize_text_to_lines(struct sp_arena *a, const char *text, size_t len);

#endif
