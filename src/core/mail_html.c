/*
 * mail_html: an inbound mail's HTML body made text. See mail_html.h. The
 * HTML tree is walked with an explicit stack.
 * Must not: know SQL, tickets or MIME; allocate outside the arena
 * (gumbo's tree is destroyed before returning).
 */
#include "core/mail_html.h"

#include <gumbo.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/html_parse.h"
#include "core/sanitize.h"
#include "core/utf8.h"

/* gumbo reads about 7 MB/s, and its tree builder scans the stack of open
 * elements on most start tags, so nesting is quadratic: 20,000 nested
 * <div> take half a second, 200,000 a minute. A support mail's own text
 * is at the top of its HTML, so only the first HTML_MAX_BYTES are read,
 * and start tags past HTML_MAX_DEPTH open elements are dropped (their
 * text stays) before gumbo sees them. */
#define HTML_MAX_BYTES (1u << 20)
#define HTML_MAX_DEPTH 256
/* The longest link target written out: a longer one (a tracking URL of
 * kilobytes) is left out rather than fill the message. */
#define HTML_LINK_MAX 2048

struct guard {
    struct {
        const char *s;
        size_t n;
    } open[HTML_MAX_DEPTH];
    size_t depth;
};

static bool
name_in(const char *s, size_t n, const char *const *names)
{
    for (size_t i = 0; names[i] != NULL; i++)
        if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
            return true;
    return false;
}

/* Elements whose content is text to the tokenizer: no tags inside. */
static bool
raw_text(const char *s, size_t n)
{
    static const char *const names[] = {"script", "style", "textarea", "title", "xmp",
                                        "iframe", "noembed", "noframes", "noscript",
                                        "plaintext", NULL};
    return name_in(s, n, names);
}

/* Elements that never stay open: void ones, and the document's own. */
static bool
never_open(const char *s, size_t n)
{
    static const char *const names[] = {"area", "base", "br", "col", "embed", "hr", "img",
                                        "input", "link", "meta", "param", "source", "track",
                                        "wbr", "keygen", "basefont", "bgsound", "frame",
                                        "html", "head", "body", NULL};
    return name_in(s, n, names);
}

static bool
top_is(const struct guard *g, const char *name)
{
    return g->depth > 0 && strlen(name) == g->open[g->depth - 1].n &&
           strncasecmp(g->open[g->depth - 1].s, name, g->open[g->depth - 1].n) == 0;
}

/* Counts a start tag in; false when it is one too deep. Counting is
 * conservative: only these elements close their like implicitly, and an
 * end tag closes only the element on top. */
static bool
guard_open(struct guard *g, const char *s, size_t n)
{
    static const char *const self_closing[] = {"p", "li", "dt", "dd", "option", NULL};
    static const char *const cells[] = {"td", "th", NULL};
    if (never_open(s, n) || raw_text(s, n))
        return true;
    if (name_in(s, n, self_closing) && g->depth > 0 &&
        name_in(g->open[g->depth - 1].s, g->open[g->depth - 1].n, self_closing))
        g->depth--;
    if ((name_in(s, n, cells) || (n == 2 && strncasecmp(s, "tr", 2) == 0)) &&
        (top_is(g, "td") || top_is(g, "th")))
        g->depth--;
    if (n == 2 && strncasecmp(s, "tr", 2) == 0 && top_is(g, "tr"))
        g->depth--;
    if (g->depth == HTML_MAX_DEPTH)
        return false;
    g->open[g->depth].s = s;
    g->open[g->depth++].n = n;
    return true;
}

/* Past the '>' that ends the tag whose name ends at h[i] (attribute
 * values may hold '>'), or n. */
static size_t
tag_end(const char *h, size_t n, size_t i)
{
    while (i < n && h[i] != '>') {
        if (h[i++] != '=')
            continue;
        while (i < n && sp_ascii_space(h[i]))
            i++;
        if (i < n && (h[i] == '"' || h[i] == '\'')) {
            const char *q = memchr(h + i + 1, h[i], n - i - 1);
            i = q != NULL ? (size_t)(q - h) + 1 : n;
        }
    }
    return i < n ? i + 1 : n;
}

/* Where the end tag of raw-text element name starts, from h[i]; or n. */
static size_t
raw_end(const char *h, size_t n, size_t i, const char *name, size_t nn)
{
    const char *p;
    while (i < n && (p = memmem(h + i, n - i, "</", 2)) != NULL) {
        i = (size_t)(p - h) + 2;
        if (n - i > nn && strncasecmp(h + i, name, nn) == 0 &&
            (sp_ascii_space(h[i + nn]) || h[i + nn] == '/' || h[i + nn] == '>'))
            return i - 2;
    }
    return n;
}

/* Past a comment, doctype or processing instruction at h[i]. */
static size_t
markup_end(const char *h, size_t n, size_t i)
{
    const char *e;
    if (n - i >= 4 && memcmp(h + i, "<!--", 4) == 0) {
        e = memmem(h + i + 4, n - i - 4, "-->", 3);
        return e != NULL ? (size_t)(e - h) + 3 : n;
    }
    e = memchr(h + i, '>', n - i);
    return e != NULL ? (size_t)(e - h) + 1 : n;
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* h with the start tags past HTML_MAX_DEPTH taken out; its length in
 * *out_len. */
static const char *
guard_depth(struct sp_arena *a, const char *h, size_t n, size_t *out_len)
{
    struct guard *g = sp_arena_alloc(a, sizeof(*g));
    struct sp_buf out;
    const char *lt;
    size_t i = 0, run = 0;
    g->depth = 0;
    sp_buf_init(&out, a, n + 1);
    while (i + 1 < n && (lt = memchr(h + i, '<', n - i - 1)) != NULL) {
        i = (size_t)(lt - h);
        if (h[i + 1] == '!' || h[i + 1] == '?') {
            i = markup_end(h, n, i);
            continue;
        }
        size_t s = i + 1 + (h[i + 1] == '/'), e = s;
        if (s >= n || !is_alpha(h[s])) {
            i++;
            continue;
        }
        while (e < n && !sp_ascii_space(h[e]) && h[e] != '/' && h[e] != '>')
            e++;
        size_t close = tag_end(h, n, e);
        if (h[i + 1] == '/') {
            if (g->depth > 0 && g->open[g->depth - 1].n == e - s &&
                strncasecmp(g->open[g->depth - 1].s, h + s, e - s) == 0)
                g->depth--;
        } else if (!guard_open(g, h + s, e - s)) {
            sp_buf_append(&out, h + run, i - run);
            run = close;
        } else if (raw_text(h + s, e - s)) {
            close = raw_end(h, n, close, h + s, e - s);
        }
        i = close;
    }
    sp_buf_append(&out, h + run, n - run);
    *out_len = out.len;
    return out.data;
}


struct htext {
    struct sp_buf b;
    int pre;       /* <pre> elements we are in */
    bool content;  /* the current line has text */
    bool space;    /* collapsed white space is due before the next text */
    bool stop;     /* past Outlook's history marker: nothing more is text */
    bool whole;    /* the quoted history is text too (sp_mail_html_texts' whole) */
};

/* One walk writes both texts: the reply's, which skips what is inside a
 * quote (muted) and ends at Outlook's marker, and the whole one. */
enum { REPLY, WHOLE };
struct hwalk {
    struct htext h[2];
    unsigned muted;  /* quotes the walk is inside: the reply has none of them */
};

struct hframe {
    const GumboVector *kids;
    unsigned next;
    const GumboNode *node;
    size_t start[2];  /* where the element's text starts in each output */
    bool reply_open;  /* the reply has the element (its close is the reply's too) */
    bool mutes;       /* a quote: the reply has nothing of it */
};

static bool
html_dropped(GumboTag t)
{
    switch (t) {
    case GUMBO_TAG_HEAD: case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_TITLE:
    case GUMBO_TAG_TEMPLATE: case GUMBO_TAG_OBJECT: case GUMBO_TAG_DATALIST:
    case GUMBO_TAG_IFRAME: case GUMBO_TAG_EMBED: case GUMBO_TAG_APPLET:
        return true;
    default:
        return false;
    }
}

/* A line of its own: sanitize's block elements (sp_html_block), but for
 * table cells, which stand side by side on their row's line (a space
 * between), and for a <select>'s options, one a line ("VisaMastercard"
 * read as one word: QA). */
static bool
html_block(GumboTag t)
{
    if (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH)
        return false;
    return sp_html_block(t) || t == GUMBO_TAG_OPTION || t == GUMBO_TAG_OPTGROUP;
}

static bool
has_class(const GumboElement *el, const char *name)
{
    const GumboAttribute *at = gumbo_get_attribute(&el->attributes, "class");
    size_t nl = strlen(name);
    for (const char *p = at != NULL ? at->value : ""; *p != '\0';) {
        while (sp_ascii_space(*p))
            p++;
        const char *q = p;
        while (*q != '\0' && !sp_ascii_space(*q))
            q++;
        if ((size_t)(q - p) == nl && memcmp(p, name, nl) == 0)
            return true;
        p = q;
    }
    return false;
}

/* Quoted history as clients mark it in HTML (mail_html.h): Apple
 * Mail's and Thunderbird's cite, Gmail's quote and its attribution line
 * (inside the quote, or, in some of its apps, beside it), Thunderbird's
 * attribution, Yahoo's and Proton's quotes. */
static bool
html_quote(const GumboElement *el)
{
    static const char *const classes[] = {"gmail_quote", "gmail_attr", "yahoo_quoted",
                                          "moz-cite-prefix", "protonmail_quote", NULL};
    if (el->tag == GUMBO_TAG_BLOCKQUOTE) {
        const GumboAttribute *t = gumbo_get_attribute(&el->attributes, "type");
        if (t != NULL && strcasecmp(t->value, "cite") == 0)
            return true;
    }
    for (size_t i = 0; classes[i] != NULL; i++)
        if (has_class(el, classes[i]))
            return true;
    return false;
}

/* Outlook writes the history after these markers, as their siblings, not
 * inside them (or, in its new web and mobile apps, inside the reference
 * message's container): the text ends where they start. */
static bool
html_outlook_history(const GumboElement *el)
{
    static const char *const ids[] = {"divRplyFwdMsg", "appendonsend",
                                      "mail-editor-reference-message-container", NULL};
    const GumboAttribute *id = gumbo_get_attribute(&el->attributes, "id");
    for (size_t i = 0; id != NULL && ids[i] != NULL; i++)
        if (strcmp(id->value, ids[i]) == 0)
            return true;
    return false;
}

/* Whether the declaration list of a style attribute hides its element:
 * display: none or visibility: hidden|collapse, read as CSS reads it
 * (names and keywords in any case, white space around them, an
 * !important after). A later declaration of the same property wins. */
static bool
style_hides(const char *s)
{
    bool none = false, invisible = false;
    while (*s != '\0') {
        size_t n = strcspn(s, ";");
        const char *p = s, *e = s + n, *colon = memchr(s, ':', n);
        s += n + (s[n] == ';');
        if (colon == NULL)
            continue;
        const char *v = colon + 1, *ve = e, *bang = memchr(v, '!', (size_t)(e - v));
        if (bang != NULL)
            ve = bang;  /* "none !important" */
        sp_ascii_trim(&p, &colon);
        sp_ascii_trim(&v, &ve);
        size_t pn = (size_t)(colon - p), vn = (size_t)(ve - v);
        if (pn == 7 && strncasecmp(p, "display", 7) == 0)
            none = vn == 4 && strncasecmp(v, "none", 4) == 0;
        else if (pn == 10 && strncasecmp(p, "visibility", 10) == 0)
            invisible = (vn == 6 && strncasecmp(v, "hidden", 6) == 0) ||
                        (vn == 8 && strncasecmp(v, "collapse", 8) == 0);
    }
    return none || invisible;
}

/* Whether el's tag, as written, is name: an element gumbo 0.10.1 does
 * not know (<dialog>) is GUMBO_TAG_UNKNOWN. */
static bool
unknown_tag_is(const GumboElement *el, const char *name)
{
    GumboStringPiece t = el->original_tag;
    if (el->tag != GUMBO_TAG_UNKNOWN || t.length == 0)
        return false;
    gumbo_tag_from_original_text(&t);
    return t.length == strlen(name) && strncasecmp(t.data, name, t.length) == 0;
}

/* An element a reader does not see, with all it holds: the hidden
 * attribute (HTML's own stylesheet: display: none), a style that hides
 * it, a closed <dialog> (without open). A mail's hidden preheader, and
 * what an article's author hid in an HTML block (core/markdown): an
 * "Internal only" note was published, indexed and sent to the AI (QA).
 * aria-hidden is not one: it hides from screen readers what the eye sees.
 * <noscript> is read: mail clients run no script, and the sanitizer keeps
 * its text too. */
static bool
html_hidden(const GumboElement *el)
{
    const GumboAttribute *style = gumbo_get_attribute(&el->attributes, "style");
    return gumbo_get_attribute(&el->attributes, "hidden") != NULL ||
           (style != NULL && style_hides(style->value)) ||
           (unknown_tag_is(el, "dialog") && gumbo_get_attribute(&el->attributes, "open") == NULL);
}

/* Ends the line if it has text (hard: always, for <br>); spaces at its
 * end are invisible, so a line of only &nbsp; comes out blank. */
static void
html_break(struct htext *h, bool hard)
{
    if (h->content || hard) {
        while (h->b.len > 0 && h->b.data[h->b.len - 1] == ' ')
            h->b.len--;
        sp_buf_putc(&h->b, '\n');
    }
    h->content = h->space = false;
}

static void
html_text(struct htext *h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (h->pre > 0) {
            sp_buf_putc(&h->b, c);
            h->content = c != '\n';
            continue;
        }
        if (sp_ascii_space(c)) {
            h->space = h->content;
            continue;
        }
        if (h->space)
            sp_buf_putc(&h->b, ' ');
        h->space = false;
        h->content = true;
        if (c == '\xc2' && i + 1 < n && s[i + 1] == '\xa0') {  /* U+00A0: shown as a space */
            c = ' ';
            i++;
        }
        sp_buf_putc(&h->b, c);
    }
}

/* On entering an element: true when its children are to be walked. */
static bool
html_open(struct htext *h, const GumboElement *el)
{
    if (!h->whole && html_outlook_history(el)) {
        h->stop = true;
        return false;
    }
    if (html_dropped(el->tag) || html_hidden(el) || (!h->whole && html_quote(el)))
        return false;
    if (el->tag == GUMBO_TAG_BR) {
        html_break(h, true);
        return false;
    }
    if (el->tag == GUMBO_TAG_IMG) {
        /* Read as its alt text, as the sanitizer unwraps an image. */
        const GumboAttribute *alt = gumbo_get_attribute(&el->attributes, "alt");
        if (alt != NULL)
            html_text(h, alt->value, strlen(alt->value));
        return false;
    }
    if (html_block(el->tag))
        html_break(h, false);
    if (el->tag == GUMBO_TAG_LI)
        html_text(h, "- ", 2);
    else if (el->tag == GUMBO_TAG_TD || el->tag == GUMBO_TAG_TH)
        h->space = h->content;
    else if (el->tag == GUMBO_TAG_PRE)
        h->pre++;
    return true;
}

/* Whether the text t[0..tn) of a link already says its target v[0..n):
 * a bare URL (a trailing '/' aside), or a mailto's address. */
static bool
link_says_target(const char *t, size_t tn, const char *v, size_t n)
{
    if (n > 7 && strncasecmp(v, "mailto:", 7) == 0) {
        v += 7;
        n -= 7;
    }
    tn -= tn > 0 && t[tn - 1] == '/';
    n -= n > 0 && v[n - 1] == '/';
    return tn == n && strncasecmp(t, v, n) == 0;
}

/* After a link's text (from start in the output), its target as the chat
 * transcript writes one (sp_sanitize_text): "here <https://x>". Only a
 * target a message body may link to (sp_sanitize_link_ok: http, https,
 * mailto; trimmed of white space and controls, as the sanitizer trims
 * it), without white space, controls or angle brackets inside and at
 * most HTML_LINK_MAX bytes; none when the text already says it. The text
 * is stored escaped, so the target is words, never markup. */
static void
html_link(struct htext *h, const GumboElement *el, size_t start)
{
    const GumboAttribute *href = gumbo_get_attribute(&el->attributes, "href");
    if (href == NULL || !sp_sanitize_link_ok(SP_SANITIZE_MESSAGE, href->value))
        return;
    const char *v = href->value, *ve = v + strlen(v);
    while (v < ve && ((unsigned char)*v <= ' ' || *v == 0x7f))
        v++;
    while (ve > v && ((unsigned char)ve[-1] <= ' ' || ve[-1] == 0x7f))
        ve--;
    size_t n = (size_t)(ve - v);
    if (n > HTML_LINK_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f || v[i] == '<' || v[i] == '>')
            return;
    const char *t = h->b.data + start, *e = h->b.data + h->b.len;
    sp_ascii_trim(&t, &e);
    if (link_says_target(t, (size_t)(e - t), v, n))
        return;
    html_text(h, " <", 2);
    html_text(h, v, n);
    html_text(h, ">", 1);
}

/* On leaving node n, whose text starts at start in h's output. */
static void
html_close(struct htext *h, const GumboNode *n, size_t start)
{
    if (n->type != GUMBO_NODE_ELEMENT)
        return;
    GumboTag t = n->v.element.tag;
    if (t == GUMBO_TAG_A)
        html_link(h, &n->v.element, start);
    if (t == GUMBO_TAG_PRE)
        h->pre--;
    if (html_block(t))
        html_break(h, false);
    else if (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH)
        h->space = h->content;
}

/* Whether what the walk meets now is the reply's text too. */
static bool
reply_live(const struct hwalk *w)
{
    return w->muted == 0 && !w->h[REPLY].stop;
}

/* On entering element el, for both texts: false when its children are
 * not walked (nothing of it is text); else *f is its frame. The whole
 * text opens every element the reply opens, and quotes besides. */
static bool
walk_open(struct hwalk *w, const GumboNode *n, struct hframe *f)
{
    const GumboElement *el = &n->v.element;
    bool live = reply_live(w);
    bool reply = live && html_open(&w->h[REPLY], el);
    if (!html_open(&w->h[WHOLE], el))
        return false;
    *f = (struct hframe){&el->children, 0, n, {w->h[REPLY].b.len, w->h[WHOLE].b.len}, reply,
                         live && !reply && !w->h[REPLY].stop};
    w->muted += f->mutes;
    return true;
}

static void
walk_close(struct hwalk *w, const struct hframe *f)
{
    if (f->reply_open)
        html_close(&w->h[REPLY], f->node, f->start[REPLY]);
    html_close(&w->h[WHOLE], f->node, f->start[WHOLE]);
    w->muted -= f->mutes;
}

static void
html_walk(struct sp_arena *a, struct hwalk *w, const GumboNode *root)
{
    size_t cap = 64, depth = 0;
    struct hframe *st = sp_arena_alloc(a, cap * sizeof(*st));
    st[depth++] = (struct hframe){&root->v.element.children, 0, root, {0, 0}, true, false};
    while (depth > 0) {
        struct hframe *f = &st[depth - 1];
        if (f->next == f->kids->length) {
            walk_close(w, f);
            depth--;
            continue;
        }
        const GumboNode *n = f->kids->data[f->next++];
        if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE ||
            n->type == GUMBO_NODE_CDATA) {
            size_t len = strlen(n->v.text.text);
            html_text(&w->h[WHOLE], n->v.text.text, len);
            if (reply_live(w))
                html_text(&w->h[REPLY], n->v.text.text, len);
            continue;
        }
        struct hframe next;
        if (n->type != GUMBO_NODE_ELEMENT || !walk_open(w, n, &next))
            continue;
        st = sp_arena_grow(a, st, depth, &cap, sizeof(*st), 64);
        st[depth++] = next;
    }
}

/* One output made the text: trimmed, and clean UTF-8. */
static const char *
finish(struct sp_arena *a, const struct htext *h)
{
    const char *s = h->b.data, *e = s + h->b.len;
    sp_ascii_trim(&s, &e);
    return sp_utf8_clean(a, s, (size_t)(e - s), SP_UTF8_TEXT);
}

void
sp_mail_html_read(struct sp_arena *a, const char *html, size_t len,
                  struct sp_mail_html_texts *out)
{
    GumboOptions opt = kGumboDefaultOptions;
    opt.max_errors = 0;  /* never read; do not pay for them */
    struct hwalk w = {.h = {{.whole = false}, {.whole = true}}, .muted = 0};
    if (html == NULL)
        html = "", len = 0;
    if (len > HTML_MAX_BYTES)
        len = HTML_MAX_BYTES;
    /* Cleaned as a text/plain body is first: its NULs dropped (gumbo
     * makes some of them U+FFFD: in <svg>, in attribute values), so a NUL
     * of the mail is nothing in either part, never a character. */
    html = sp_utf8_clean(a, html, len, SP_UTF8_TEXT);
    html = guard_depth(a, html, strlen(html), &len);
    sp_buf_init(&w.h[REPLY].b, a, len / 2 + 64);
    sp_buf_init(&w.h[WHOLE].b, a, len / 2 + 64);
    GumboOutput *g = sp_html_parse(&opt, html, len, a);
    html_walk(a, &w, g->root);
    gumbo_destroy_output(&opt, g);
    out->reply = finish(a, &w.h[REPLY]);
    out->whole = finish(a, &w.h[WHOLE]);
}

const char *
sp_mail_html_text(struct sp_arena *a, const char *html, size_t len)
{
    struct sp_mail_html_texts t;
    sp_mail_html_read(a, html, len, &t);
    return t.reply;
}
