/*
 * sanitize: allowlist HTML sanitizer on top of gumbo. See sanitize.h.
 * The tree is walked with an explicit stack, never by recursion, so a
 * hostile body nested 100k deep cannot overflow the C stack; the output
 * is built only from allowlisted tag names, one checked href and escaped
 * text, never copied from the input markup.
 * Must not: pattern-match markup, keep any attribute but the checked ones
 * start_tag() writes itself (URLs, align, a language class, checkbox),
 * or leak the gumbo tree (it is destroyed before returning).
 */
#include "core/sanitize.h"

#include <gumbo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/html_parse.h"
#include "core/utf8.h"

#define SP_SANITIZE_REL "nofollow noopener noreferrer"
#define SP_SANITIZE_FFFD "\xef\xbf\xbd"  /* U+FFFD REPLACEMENT CHARACTER */

/* At most this many parses of our own output follow the input's
 * (sp_sanitize_html_as). */
#define SP_SANITIZE_PASSES 3

enum sp_sanitize_action { ACT_UNWRAP, ACT_KEEP, ACT_DROP };

/* One open element during the walk: where we are among its children and
 * the end tag to write when we leave it. */
struct frame {
    const GumboVector *kids;
    unsigned next;
    GumboTag close;  /* GUMBO_TAG_LAST when unwrapped */
    bool edge;       /* an unwrapped block: its end is a line's edge */
};

struct walk {
    enum sp_sanitize_profile profile;
    struct sp_buf out;
    struct frame *stack;
    size_t depth, cap;
    size_t kept;  /* frames with an end tag, bounded by the max depth */
    bool has_text;
    /* Line breaks for the blocks we unwrap (block_edge()): whether the
     * current line has inline content, and whether a <br> is owed at
     * out[owed_at] should more inline content follow. */
    bool in_line, owed;
    size_t owed_at;
    /* What we wrote may not read back as the tree we walked: a node was
     * left out or unwrapped, the parser made, moved or closed one itself,
     * or a table is kept (sp_sanitize_html_as reads it back only then). */
    bool reshaped;
};

/* gumbo's allocator here: zeroed memory. gumbo 0.10.1 never sets a
 * fragment's quirks mode (the document node's doc_type_quirks_mode is set
 * only when a doctype is read, which a fragment skips) and reads it at
 * every <table>: "<p>a<table>" kept the table inside the <p> when the
 * reused heap held a 1 there (quirks) and closed the <p> otherwise, so
 * one body could be stored two ways. Zero is GUMBO_DOCTYPE_NO_QUIRKS,
 * what a standards-mode page (ours) reads. Clearing costs less than the
 * noise of a timing run (docs/performance.md). */
static void *
sanitize_alloc(void *userdata, size_t n)
{
    (void)userdata;
    void *p = calloc(1, n);
    if (p == NULL) {
        /* Same policy as the arena: not recoverable in a worker. */
        fprintf(stderr, "{\"level\":\"fatal\",\"event\":\"sanitize_oom\","
                        "\"bytes\":%zu}\n", n);
        abort();
    }
    return p;
}

static void
sanitize_free(void *userdata, void *p)
{
    (void)userdata;
    free(p);
}

/* Kept only in articles (sanitize.h, SP_SANITIZE_ARTICLE). */
static bool
article_tag(GumboTag t)
{
    switch (t) {
    case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
    case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_HR: case GUMBO_TAG_DEL:
    case GUMBO_TAG_TABLE: case GUMBO_TAG_THEAD: case GUMBO_TAG_TBODY: case GUMBO_TAG_TR:
    case GUMBO_TAG_TH: case GUMBO_TAG_TD: case GUMBO_TAG_IMG: case GUMBO_TAG_INPUT:
        return true;
    default:
        return false;
    }
}

static enum sp_sanitize_action
classify(const GumboNode *n, enum sp_sanitize_profile profile)
{
    if (n->type == GUMBO_NODE_TEMPLATE)
        return ACT_DROP;
    switch (n->v.element.tag) {
    /* Executable, embedded or not user-visible content: drop it whole,
     * whatever namespace it appeared in. */
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT: case GUMBO_TAG_EMBED: case GUMBO_TAG_APPLET:
    case GUMBO_TAG_TEMPLATE: case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_TITLE: case GUMBO_TAG_XMP: case GUMBO_TAG_NOEMBED:
    case GUMBO_TAG_NOFRAMES: case GUMBO_TAG_HEAD:
        return ACT_DROP;
    default:
        break;
    }
    if (n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML)
        return ACT_UNWRAP;
    switch (n->v.element.tag) {
    case GUMBO_TAG_P: case GUMBO_TAG_BR: case GUMBO_TAG_B:
    case GUMBO_TAG_STRONG: case GUMBO_TAG_I: case GUMBO_TAG_EM:
    case GUMBO_TAG_U: case GUMBO_TAG_S: case GUMBO_TAG_UL: case GUMBO_TAG_OL:
    case GUMBO_TAG_LI: case GUMBO_TAG_A: case GUMBO_TAG_CODE:
    case GUMBO_TAG_PRE: case GUMBO_TAG_BLOCKQUOTE:
        return ACT_KEEP;
    default:
        return profile == SP_SANITIZE_ARTICLE && article_tag(n->v.element.tag) ? ACT_KEEP
                                                                               : ACT_UNWRAP;
    }
}

/* What renders as nothing: white space and controls (NUL among them),
 * or a blank code point by sp_utf8_blank(), the one list a subject's and
 * a name's emptiness are judged by too. */
static bool
has_visible(const char *s, size_t n)
{
    size_t len;
    for (size_t i = 0; i < n; i += len) {
        uint32_t cp = sp_utf8_decode(s + i, n - i, &len);
        if (cp > 0x20 && (cp < 0x7f || cp > 0x9f) && !sp_utf8_blank(cp))
            return true;  /* a malformed byte is U+FFFD: text */
    }
    return false;
}

const char *
sp_sanitize_empty_reason(const char *html, size_t len)
{
    return sp_sanitize_has_visible(html, len) ? "has no text once unsafe markup is removed"
                                              : "has no visible text";
}

bool
sp_sanitize_has_visible(const char *s, size_t n)
{
    return has_visible(s, n);
}

/* A code point an HTML parser reads as U+FFFD when it stands in the
 * markup itself (controls but tab, LF, FF and CR; noncharacters), though
 * a numeric reference ("&#1;") gives it to us as it is. */
static bool
parser_replaces(uint32_t cp)
{
    return (cp >= 0x01 && cp <= 0x08) || cp == 0x0b || (cp >= 0x0e && cp <= 0x1f) ||
           (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xfdd0 && cp <= 0xfdef) ||
           (cp & 0xfffe) == 0xfffe;
}

/* What put_escaped() writes. */
enum escape {
    ESC_PLAIN,  /* text content from plain text (sp_sanitize_text_to_*) */
    /* Text content and double-quoted attribute values from the parse
     * tree: what a parser would not read back as it is (a CR is read as a
     * line feed; parser_replaces()) is written as it would be read, so
     * sanitizing the output again changes nothing. */
    ESC_PARSED,
    ESC_ATTR,
};

/* Appends s escaped as kind says (a quote too in an attribute value).
 * gumbo 0.10.1 lets an overflowing numeric reference
 * ("&#99999999999999999914;") through as a stray byte, so malformed
 * UTF-8 becomes U+FFFD here too. */
static void
put_escaped(struct sp_buf *b, const char *s, size_t n, enum escape kind)
{
    bool reread = kind != ESC_PLAIN;
    size_t run = 0, i = 0;
    while (i < n) {
        const char *rep = NULL;
        size_t skip = 1;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = kind == ESC_ATTR ? "&quot;" : NULL; break;
        case '\r': rep = reread ? "\n" : NULL; break;
        default:
            if ((unsigned char)s[i] >= 0x80 && (skip = sp_utf8_seq_len(s + i, n - i)) == 0) {
                rep = SP_SANITIZE_FFFD;  /* malformed */
                skip = 1;
            } else if (reread && parser_replaces(sp_utf8_decode(s + i, n - i, &skip))) {
                rep = SP_SANITIZE_FFFD;
            }
            break;
        }
        if (rep == NULL) {
            i += skip;
            continue;
        }
        sp_buf_append(b, s + run, i - run);
        sp_buf_puts(b, rep);
        i += skip;
        run = i;
    }
    sp_buf_append(b, s + run, n - run);
}

static bool
is_trimmed(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

/* A tel: URL's number as support articles write it: an optional leading
 * "+", digits and RFC 3966's visual separators (-.() and a space, also as
 * %20). Nothing else, no parameters: letters or another "%" could carry
 * something other than a number ("tel:javascript…"). */
static bool
tel_number(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '+', digits = 0;
    while (i < n) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (n - i >= 3 && memcmp(s + i, "%20", 3) == 0)
            i += 2;
        else if (memchr("-.() ", s[i], 5) == NULL)
            return false;
        i++;
    }
    return digits > 0;
}

/* What follows "http:" or "https:": "//", a host, no user info. A URL
 * parser reads "https:evil.example" or "https:/x" against the page's own
 * address (a relative link the allowlist would let through: QA), and
 * "https://bank.example@evil.example" shows one host and opens another.
 * A browser ends the host at a backslash too, but an RFC 3986 parser
 * (mail clients, link scanners) reads it as data: to them
 * "https://bank.example\@evil.example/" has the user info
 * "bank.example\" and opens evil.example (QA), so an '@' anywhere before
 * the first '/', '?' or '#' is refused. */
static bool
web_authority(const char *s, size_t n)
{
    if (n < 2 || !((s[0] == '/' || s[0] == '\\') && (s[1] == '/' || s[1] == '\\')))
        return false;
    size_t i = 2;
    while (i < n && (s[i] == '/' || s[i] == '\\'))
        i++;  /* "https:///host": parsers skip them */
    size_t host = i;
    while (i < n && memchr("/\\?#", s[i], 4) == NULL)
        i++;
    if (i == host)
        return false;
    for (i = host; i < n && memchr("/?#", s[i], 3) == NULL; i++)
        if (s[i] == '@')
            return false;
    return true;
}

/* The one list of URL schemes a link or an image may use: what follows
 * the scheme is checked by rest when set; articles_only schemes are kept
 * by the article profile alone (API.md §4 names http/https/mailto for
 * message bodies, and tel: is for the knowledge base's "call us"). */
struct scheme {
    const char *prefix;
    bool articles_only;
    bool (*rest)(const char *s, size_t n);
};

static const struct scheme link_schemes[] = {
    {"http:", false, web_authority},
    {"https:", false, web_authority},
    {"mailto:", false, NULL},
    {"tel:", true, tel_number},
    {NULL, false, NULL},
};
static const struct scheme image_schemes[] = {
    {"http:", false, web_authority},
    {"https:", false, web_authority},
    {NULL, false, NULL},
};

/* Whether s is one of schemes the profile may use, matched after
 * trimming as URL parsers do; the trimmed URL into *v, *n. */
static bool
url_ok(const char *s, const struct scheme *schemes, enum sp_sanitize_profile profile,
       const char **v, size_t *n)
{
    size_t len = strlen(s);
    while (len > 0 && is_trimmed((unsigned char)s[0])) {
        s++;
        len--;
    }
    while (len > 0 && is_trimmed((unsigned char)s[len - 1]))
        len--;
    for (const struct scheme *k = schemes; k->prefix != NULL; k++) {
        size_t sl = strlen(k->prefix);
        if (len < sl || strncasecmp(s, k->prefix, sl) != 0)
            continue;
        if ((k->articles_only && profile != SP_SANITIZE_ARTICLE) ||
            (k->rest != NULL && !k->rest(s + sl, len - sl)))
            return false;
        *v = s;
        *n = len;
        return true;
    }
    return false;
}

/* Finds an acceptable URL in attribute name (href of <a>, src of <img>):
 * one of schemes the profile may use, matched after trimming as URL
 * parsers do. Anything else, relative or scheme-less included, is
 * refused: an allowlist cannot be fooled by new schemes or by
 * "java\tscript:" (the tab makes the scheme not match any allowed one). */
static bool
find_url(const GumboElement *el, const char *name, const struct scheme *schemes,
         enum sp_sanitize_profile profile, const char **v, size_t *n)
{
    const GumboAttribute *attr = gumbo_get_attribute(&el->attributes, name);
    return attr != NULL && url_ok(attr->value, schemes, profile, v, n);
}

bool
sp_sanitize_link_ok(enum sp_sanitize_profile profile, const char *url)
{
    const char *v;
    size_t n;
    return url != NULL && url_ok(url, link_schemes, profile, &v, &n);
}

/* The value of attribute name when it is one of allowed (exactly). */
static const char *
attr_one_of(const GumboElement *el, const char *name, const char *const *allowed)
{
    const GumboAttribute *attr = gumbo_get_attribute(&el->attributes, name);
    for (size_t i = 0; attr != NULL && allowed[i] != NULL; i++)
        if (strcmp(attr->value, allowed[i]) == 0)
            return allowed[i];
    return NULL;
}

/* A code block's language class ("language-c", as cmark writes it). */
static const char *
code_class(const GumboElement *el)
{
    const GumboAttribute *attr = gumbo_get_attribute(&el->attributes, "class");
    if (attr == NULL || strncmp(attr->value, "language-", 9) != 0)
        return NULL;
    size_t n = strlen(attr->value + 9);
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+#.-";
    return n >= 1 && n <= 32 && strspn(attr->value + 9, ok) == n ? attr->value : NULL;
}

static void
push(struct walk *w, const GumboVector *kids, GumboTag close, bool edge)
{
    w->stack = sp_arena_grow(w->out.arena, w->stack, w->depth, &w->cap, sizeof(*w->stack), 32);
    w->stack[w->depth++] = (struct frame){ kids, 0, close, edge };
    if (close != GUMBO_TAG_LAST)
        w->kept++;
}

/* The HTML parser drops one newline right after <pre>; writing one back
 * keeps a leading blank line of the original (a CR, written as a newline
 * by put_escaped(), is one too). */
static void
pre_newline(struct sp_buf *b, const GumboElement *el)
{
    if (el->children.length == 0)
        return;
    const GumboNode *first = el->children.data[0];
    if ((first->type == GUMBO_NODE_TEXT ||
         first->type == GUMBO_NODE_WHITESPACE) &&
        (first->v.text.text[0] == '\n' || first->v.text.text[0] == '\r'))
        sp_buf_putc(b, '\n');
}

static void
put_attr(struct sp_buf *b, const char *name, const char *v, size_t n)
{
    sp_buf_printf(b, " %s=\"", name);
    put_escaped(b, v, n, ESC_ATTR);
    sp_buf_putc(b, '"');
}

/* Writes the start tag of a kept element with the attributes its tag may
 * carry; false when the element must be unwrapped instead (an <a> or
 * <img> without an acceptable URL, an <input> that is not a checkbox). */
static bool
start_tag(struct sp_buf *b, const GumboElement *el, enum sp_sanitize_profile profile)
{
    static const char *const aligns[] = {"left", "center", "right", NULL};
    static const char *const checkbox[] = {"checkbox", NULL};
    const char *v = NULL;
    size_t n = 0;
    switch (el->tag) {
    case GUMBO_TAG_A:
        if (!find_url(el, "href", link_schemes, profile, &v, &n))
            return false;
        sp_buf_puts(b, "<a");
        put_attr(b, "href", v, n);
        sp_buf_puts(b, " rel=\"" SP_SANITIZE_REL "\">");
        return true;
    case GUMBO_TAG_IMG: {
        if (!find_url(el, "src", image_schemes, profile, &v, &n))
            return false;
        sp_buf_puts(b, "<img");
        put_attr(b, "src", v, n);
        const GumboAttribute *alt = gumbo_get_attribute(&el->attributes, "alt");
        put_attr(b, "alt", alt ? alt->value : "", alt ? strlen(alt->value) : 0);
        sp_buf_puts(b, " loading=\"lazy\">");
        return true;
    }
    case GUMBO_TAG_INPUT:
        if (attr_one_of(el, "type", checkbox) == NULL)
            return false;
        sp_buf_printf(b, "<input type=\"checkbox\" disabled%s>",
                      gumbo_get_attribute(&el->attributes, "checked") ? " checked" : "");
        return true;
    case GUMBO_TAG_TH:
    case GUMBO_TAG_TD:
        v = attr_one_of(el, "align", aligns);
        sp_buf_printf(b, "<%s", gumbo_normalized_tagname(el->tag));
        if (v != NULL)
            put_attr(b, "align", v, strlen(v));
        sp_buf_putc(b, '>');
        return true;
    case GUMBO_TAG_CODE:
        v = profile == SP_SANITIZE_ARTICLE ? code_class(el) : NULL;
        sp_buf_puts(b, "<code");
        if (v != NULL)
            put_attr(b, "class", v, strlen(v));
        sp_buf_putc(b, '>');
        return true;
    default:
        sp_buf_printf(b, "<%s>", gumbo_normalized_tagname(el->tag));
        if (el->tag == GUMBO_TAG_PRE)
            pre_newline(b, el);
        return true;
    }
}

/* Unwrapping a block takes away the line break a reader saw at its start
 * and its end ("<div>Hello</div><div>World</div>" would be stored as
 * "HelloWorld", one word to search and to read): an edge of one owes a
 * <br> when the line has inline content, written where the edge was
 * once more inline content follows (inline_content()), so none leads, trails or
 * doubles, and none stands next to a kept block, which breaks the line
 * itself (line_ends()). */
static void
block_edge(struct walk *w)
{
    if (w->in_line && !w->owed) {
        w->owed = true;
        w->owed_at = w->out.len;
    }
}

/* Inline content (visible text, an image, a <br>) is about to be
 * written: a <br> owed goes in first, at the edge that owed it (an
 * element's start tags or white space may stand between). Each byte is
 * moved at most once: the next edge is at the end of the output. */
static void
inline_content(struct walk *w)
{
    static const char br[] = "<br>";
    if (w->owed) {
        size_t n = sizeof(br) - 1, at = w->owed_at;
        sp_buf_reserve(&w->out, n);
        memmove(w->out.data + at + n, w->out.data + at, w->out.len - at + 1);
        memcpy(w->out.data + at, br, n);
        w->out.len += n;
        w->owed = false;
    }
    w->in_line = true;
}

/* A kept block's tag or a <br> ends the line. */
static void
line_ends(struct walk *w)
{
    w->in_line = false;
    w->owed = false;
}

static bool
is_void(GumboTag t)
{
    return t == GUMBO_TAG_BR || t == GUMBO_TAG_HR || t == GUMBO_TAG_IMG || t == GUMBO_TAG_INPUT;
}

/* A refused image reads as its alt text, as a refused link reads as its
 * text (QA: "![alt](javascript:…)" left nothing, though the summary,
 * read from the markdown, showed "alt"). */
static void
alt_text(struct walk *w, const GumboElement *el)
{
    const GumboAttribute *alt = gumbo_get_attribute(&el->attributes, "alt");
    if (alt == NULL)
        return;
    size_t len = strlen(alt->value);
    if (!w->has_text && has_visible(alt->value, len))
        w->has_text = true;
    if (!sp_ascii_only(alt->value, len, SP_ASCII_SPACE))
        inline_content(w);
    put_escaped(&w->out, alt->value, len, ESC_PARSED);
}

/* Whether the parser put kept element n where no start and end tag of
 * its own did (sp_sanitize_html_as): it made it (a <p> for a stray </p>,
 * a formatting element reconstructed or cloned), moved it (adoption
 * agency) or closed it itself (implied end tags, the end of input; a
 * void element has no end tag, so its close is always implied). A
 * <table> counts too: gumbo leaves no flag on what it foster-parents
 * out of one (text, a <b>), and foster parenting needs a table open. */
static bool
parser_shaped(const GumboNode *n, GumboTag tag)
{
    unsigned flags = n->parse_flags;
    if (is_void(tag))
        flags &= ~(unsigned)GUMBO_INSERTION_IMPLICIT_END_TAG;
    return flags != GUMBO_INSERTION_NORMAL || tag == GUMBO_TAG_TABLE;
}

static void
open_element(struct walk *w, const GumboNode *n)
{
    const GumboElement *el = &n->v.element;
    enum sp_sanitize_action act = classify(n, w->profile);
    bool block = el->tag_namespace == GUMBO_NAMESPACE_HTML && sp_html_block(el->tag);

    if (act == ACT_DROP) {
        w->reshaped = true;
        return;
    }
    if (act == ACT_KEEP && !is_void(el->tag) && w->kept >= SP_SANITIZE_MAX_DEPTH)
        act = ACT_UNWRAP;
    if (act == ACT_KEEP) {
        size_t mark = w->out.len;
        if (!start_tag(&w->out, el, w->profile)) {
            w->out.len = mark;
            w->out.data[mark] = '\0';
            act = ACT_UNWRAP;
        }
    }
    if (act == ACT_UNWRAP) {
        w->reshaped = true;
        if (block)
            block_edge(w);
        if (el->tag == GUMBO_TAG_IMG)
            alt_text(w, el);
        push(w, &el->children, GUMBO_TAG_LAST, block);
        return;
    }
    if (parser_shaped(n, el->tag))
        w->reshaped = true;
    if (!block && is_void(el->tag))
        inline_content(w);  /* <br>, <img>, <input>: an owed <br> goes before it */
    if (block || el->tag == GUMBO_TAG_BR)
        line_ends(w);
    if (is_void(el->tag))
        return;  /* no children, no end tag, no depth */
    push(w, &el->children, el->tag, false);
}

static void
walk_tree(struct walk *w, const GumboNode *root)
{
    push(w, &root->v.element.children, GUMBO_TAG_LAST, false);
    while (w->depth > 0) {
        struct frame *f = &w->stack[w->depth - 1];
        if (f->next == f->kids->length) {
            if (f->close != GUMBO_TAG_LAST) {
                sp_buf_printf(&w->out, "</%s>",
                              gumbo_normalized_tagname(f->close));
                w->kept--;
                if (sp_html_block(f->close))
                    line_ends(w);
            } else if (f->edge) {
                block_edge(w);
            }
            w->depth--;
            continue;
        }
        const GumboNode *n = f->kids->data[f->next++];
        switch (n->type) {
        case GUMBO_NODE_TEXT:
        case GUMBO_NODE_CDATA:
        case GUMBO_NODE_WHITESPACE: {
            size_t len = strlen(n->v.text.text);
            if (!w->has_text && has_visible(n->v.text.text, len))
                w->has_text = true;
            if (n->type != GUMBO_NODE_WHITESPACE)
                inline_content(w);
            put_escaped(&w->out, n->v.text.text, len, ESC_PARSED);
            break;
        }
        case GUMBO_NODE_ELEMENT:
        case GUMBO_NODE_TEMPLATE:
            open_element(w, n);  /* may push: f is stale after this */
            break;
        default:  /* comments; documents do not occur below the root */
            w->reshaped = true;
            break;
        }
    }
}

char *
sp_sanitize_html(struct sp_arena *a, const char *html, size_t len,
                 size_t *out_len, bool *has_text)
{
    return sp_sanitize_html_as(a, SP_SANITIZE_MESSAGE, html, len, out_len, has_text);
}

/* One parse and walk of html; the output's length into *out_len, whether
 * the walk wrote other than gumbo's tree into *reshaped (struct walk). */
static char *
sanitize_once(struct sp_arena *a, enum sp_sanitize_profile profile, const char *html,
              size_t len, size_t *out_len, bool *has_text, bool *reshaped)
{
    GumboOptions opt = kGumboDefaultOptions;
    opt.allocator = sanitize_alloc;
    opt.deallocator = sanitize_free;
    opt.max_errors = 0;  /* we never read them; do not pay for them */
    /* Parse as the children of a <div>, as the body is shown in one. */
    opt.fragment_context = GUMBO_TAG_DIV;
    opt.fragment_namespace = GUMBO_NAMESPACE_HTML;

    struct walk w = { .profile = profile, .cap = 32 };
    sp_buf_init(&w.out, a, len + 64);
    w.stack = sp_arena_alloc(a, w.cap * sizeof(*w.stack));

    GumboOutput *g = sp_html_parse(&opt, html, len, a);
    walk_tree(&w, g->root);
    gumbo_destroy_output(&opt, g);

    *out_len = w.out.len;
    *reshaped = w.reshaped;
    if (has_text != NULL)
        *has_text = w.has_text;
    return w.out.data;
}

/* What a parser builds from our output can differ from the tree we
 * walked: an unwrapped <dl> leaves an <li> inside an <li>, which the
 * parser reads as two in a row. Sanitized again until it reads back as
 * written, what is stored is what a browser, and our next reading, will
 * see (one more pass has been enough for all the fuzz target found; the
 * first one only confirms, an extra parse of the output).
 *
 * That confirming parse is skipped when the walk was not reshaped
 * (struct walk): the walk wrote every node (no comment, nothing dropped
 * or unwrapped, so only allowlisted HTML elements and text), no table
 * (foster parenting), and gumbo flagged no element as made, moved or
 * closed by the parser. Why the output then reads back as the tree T we
 * walked: it is T's start and end tags, properly nested, and none of our
 * elements leaves the tokenizer's data state. Reading such tags in body,
 * the tree builder does other than open at and close the current node
 * only on shapes T lacks: a block start tag inside an open <p> closes
 * it; an <li> closes an <li> above it with only non-special (inline)
 * elements between; <h2> right inside <h1> closes it; <a> inside an open
 * <a> runs the adoption agency; formatting elements are reconstructed
 * only once one was closed by another tag. Had T such a shape, reading
 * the input would have taken that step at its inner start tag and
 * flagged the outer element (implied end tag, moved, cloned or
 * reconstructed). The "Noah's Ark" clause, which sees the attributes we
 * rewrite, only takes a formatting element off the list, and its own
 * end tag still closes it (step 1 of the adoption agency). <pre>'s
 * dropped line feed is written back (pre_newline()). The text and the
 * URLs differ from T's only as put_escaped() writes what a parser reads
 * back (a CR as a line feed, a control as U+FFFD; white space stays
 * white space, text stays text, an accepted URL stays accepted), so the
 * walk of what we wrote writes the same bytes. Plain text (no '<' at
 * all) and a well-formed paragraph with a link are such bodies; the
 * fuzz target sanitizes every output again to check the claim. */
char *
sp_sanitize_html_as(struct sp_arena *a, enum sp_sanitize_profile profile, const char *html,
                    size_t len, size_t *out_len, bool *has_text)
{
    size_t n, again_n;
    bool reshaped, unused;
    char *out = sanitize_once(a, profile, html, len, &n, has_text, &reshaped);
    for (int pass = 0; reshaped; pass++) {
        char *again = sanitize_once(a, profile, out, n, &again_n, NULL, &unused);
        if (again_n == n && memcmp(again, out, n) == 0)
            break;
        if (pass + 1 == SP_SANITIZE_PASSES) {
            /* Still re-nesting after the bound: markup built to make each
             * reading differ (the fuzz target found one needing five).
             * Its text as paragraphs reads back as written, so what is
             * stored stays what every later reading sees, at a bounded
             * cost; such hostile markup loses its formatting. */
            const char *text = sp_sanitize_text(a, again, again_n);
            out = sp_sanitize_text_to_html(a, text, strlen(text));
            n = strlen(out);
            break;
        }
        out = again;
        n = again_n;
    }
    if (out_len != NULL)
        *out_len = n;
    return out;
}

/* ---- plain text of a fragment (mail text parts) ------------------------- */

static bool
text_block(GumboTag t)
{
    return t == GUMBO_TAG_P || t == GUMBO_TAG_LI || t == GUMBO_TAG_BLOCKQUOTE ||
           t == GUMBO_TAG_PRE || t == GUMBO_TAG_UL || t == GUMBO_TAG_OL || t == GUMBO_TAG_DIV;
}

/* Text nodes in document order; <br> and the end of a block are a line
 * break, a list item starts with "- ", a link keeps its target. */
static void
text_walk(const GumboNode *n, struct sp_buf *out, int depth)
{
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE ||
        n->type == GUMBO_NODE_CDATA) {
        sp_buf_puts(out, n->v.text.text);
        return;
    }
    if (n->type != GUMBO_NODE_ELEMENT || depth > SP_SANITIZE_MAX_DEPTH)
        return;
    GumboTag t = n->v.element.tag;
    if (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_TEMPLATE)
        return;
    if (t == GUMBO_TAG_BR) {
        sp_buf_putc(out, '\n');
        return;
    }
    if (t == GUMBO_TAG_LI)
        sp_buf_puts(out, "- ");
    const GumboVector *kids = &n->v.element.children;
    for (unsigned i = 0; i < kids->length; i++)
        text_walk(kids->data[i], out, depth + 1);
    GumboAttribute *href = t == GUMBO_TAG_A ? gumbo_get_attribute(&n->v.element.attributes, "href")
                                            : NULL;
    if (href != NULL)
        sp_buf_printf(out, " <%s>", href->value);
    if (text_block(t) && out->len > 0 && out->data[out->len - 1] != '\n')
        sp_buf_putc(out, '\n');
}

char *
sp_sanitize_text(struct sp_arena *a, const char *html, size_t len)
{
    GumboOptions opt = kGumboDefaultOptions;
    opt.allocator = sanitize_alloc;  /* zeroed: a fragment's quirks mode */
    opt.deallocator = sanitize_free;
    opt.max_errors = 0;
    opt.fragment_context = GUMBO_TAG_DIV;
    opt.fragment_namespace = GUMBO_NAMESPACE_HTML;
    struct sp_buf out;
    sp_buf_init(&out, a, len + 16);
    GumboOutput *g = sp_html_parse(&opt, html, len, a);
    text_walk(g->root, &out, 0);
    gumbo_destroy_output(&opt, g);
    while (out.len > 0 && (out.data[out.len - 1] == '\n' || out.data[out.len - 1] == ' '))
        out.data[--out.len] = '\0';
    return out.data;
}

/* One paragraph: lines [s, s+n) joined by <br>. */
static void
put_paragraph(struct sp_buf *b, const char *s, size_t n)
{
    sp_buf_puts(b, "<p>");
    for (size_t i = 0; i < n;) {
        size_t line = strcspn(s + i, "\n");
        if (line > n - i)
            line = n - i;
        if (i > 0)
            sp_buf_puts(b, "<br>");
        put_escaped(b, s + i, line, ESC_PLAIN);
        i += line + 1;
    }
    sp_buf_puts(b, "</p>");
}

/* A line a reader sees nothing on: only spaces, tabs and CRs (the CR of
 * a CRLF line end included). */
#define BLANK " \t\r"

char *
sp_sanitize_text_to_html(struct sp_arena *a, const char *text, size_t len)
{
    struct sp_buf b;
    sp_buf_init(&b, a, len + len / 4 + 16);
    size_t start = 0, i = 0;
    /* Paragraphs end at a blank line (only whitespace on it). */
    while (i <= len) {
        size_t end = i;
        while (end < len && text[end] != '\n')
            end++;
        if (sp_ascii_only(text + i, end - i, BLANK)) {
            if (i > start)
                put_paragraph(&b, text + start, i - start - 1);
            start = end + 1;
        }
        i = end + 1;
    }
    if (start < len)
        put_paragraph(&b, text + start, len - start);
    return b.data != NULL ? b.data : sp_arena_strdup(a, "");
}

/* The body of head[0..n) + mark + tail, if it fits in max code points. */
static char *
joined_html_within(struct sp_arena *a, const char *head, size_t n, const char *mark,
                   const char *tail, size_t max)
{
    while (mark[0] != '\0' && n > 0 && strchr(" \t\r\n", head[n - 1]) != NULL)
        n--;
    struct sp_buf b;
    sp_buf_init(&b, a, n + strlen(tail) + 8);
    sp_buf_append(&b, head, n);
    sp_buf_puts(&b, mark);
    sp_buf_puts(&b, tail);
    char *html = sp_sanitize_text_to_html(a, b.data, b.len);
    return sp_utf8_count(html, strlen(html)) <= max ? html : NULL;
}

/* The longest head[0..n) that fits before mark and tail in max code
 * points, n a place to cut that snap gives (the last one at or before
 * an offset; 0 when none does), found by halves: escapes and line
 * breaks weigh more than one character, so it is measured, not
 * counted. */
static size_t
longest_within(struct sp_arena *a, const char *head, size_t len, const char *mark,
               const char *tail, size_t max, size_t (*snap)(const char *, size_t))
{
    size_t lo = 0, hi = len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (joined_html_within(a, head, snap(head, mid), mark, tail, max) != NULL)
            lo = mid;
        else
            hi = mid - 1;
    }
    return snap(head, lo);
}

char *
sp_sanitize_text_to_html_fit(struct sp_arena *a, const char *head, const char *tail,
                             size_t max_chars, bool *cut)
{
    static const char mark[] = "\u2026";
    size_t len = strlen(head);
    char *html = joined_html_within(a, head, len, "", tail, max_chars);
    *cut = html == NULL;
    if (html != NULL)
        return html;
    size_t n = longest_within(a, head, len, mark, tail, max_chars, sp_utf8_floor);
    return joined_html_within(a, head, n, mark, tail, max_chars);
}

/* The start of the line offset at is in. */
static size_t
line_floor(const char *s, size_t at)
{
    while (at > 0 && s[at - 1] != '\n')
        at--;
    return at;
}

/* Whether a paragraph ends before offset at, the start of a line: the
 * line at it is blank, as sp_sanitize_text_to_html reads paragraphs. */
static bool
paragraph_ends(const char *s, size_t at)
{
    return at > 0 && sp_ascii_only(s + at, strcspn(s + at, "\n"), BLANK);
}

char *
sp_sanitize_text_to_html_lines_fit(struct sp_arena *a, const char *text, const char *mark,
                                   const char *tail, size_t max_chars, size_t *kept)
{
    size_t len = strlen(text);
    char *html = joined_html_within(a, text, len, "", tail, max_chars);
    *kept = len;
    if (html != NULL)
        return html;
    size_t n = longest_within(a, text, len, mark, tail, max_chars, line_floor);
    /* A paragraph's end, unless it keeps less than half of the lines'. */
    for (size_t at = n; at > n / 2; at = line_floor(text, at - 1))
        if (paragraph_ends(text, at)) {
            n = at;
            break;
        }
    if (n == 0)   /* not even the first line fits */
        n = longest_within(a, text, len, mark, tail, max_chars, sp_utf8_floor);
    *kept = n;
    return joined_html_within(a, text, n, mark, tail, max_chars);
}

char *
sp_sanitize_text_to_lines(struct sp_arena *a, const char *text, size_t len)
{
    struct sp_buf b;
    sp_buf_init(&b, a, len + len / 4 + 16);
    /* Line breaks wait for the text after them: none lead or trail. A
     * line of only blanks is an empty one to a reader (as in
     * sp_sanitize_text_to_html): it counts as one, or "a\n \n \n b"
     * would show any number of empty lines in a row. */
    int breaks = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t line = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
        if (!sp_ascii_only(text + i, line, BLANK)) {
            for (; b.len > 0 && breaks > 0; breaks--)
                sp_buf_puts(&b, "<br>");
            put_escaped(&b, text + i, line, ESC_PLAIN);
            breaks = 0;
        }
        if (nl != NULL && breaks < 2)
            breaks++;
        i += line + 1;
    }
    return b.data;
}

const char *
sp_sanitize_body(struct sp_arena *a, const char *html, size_t len, size_t max_chars,
                 const char **why)
{
    bool has_text = false;
    size_t clean_len = 0;
    const char *clean = sp_sanitize_html(a, html, len, &clean_len, &has_text);
    *why = !has_text                                   ? "empty"
           : sp_utf8_count(clean, clean_len) > max_chars ? "too_long"
                                                         : NULL;
    return *why == NULL ? clean : NULL;
}
