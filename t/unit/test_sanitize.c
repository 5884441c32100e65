/*
 * test_sanitize: the HTML allowlist sanitizer (src/core/sanitize.c)
 * against API.md §4, plus an XSS corpus (t/fixtures/xss-corpus.txt, found
 * through SP_FIXTURES_DIR) whose every output is checked independently:
 * by a strict scan of the bytes and by re-parsing them with gumbo.
 */
#include <check.h>
#include <ctype.h>
#include <dlfcn.h>
#include <gumbo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/sanitize.h"
#include "core/utf8.h"
#include "unit.h"

#define REL "rel=\"nofollow noopener noreferrer\""

SP_UNIT_ARENA_FIXTURE(4096)

static const char *
san(const char *in)
{
    size_t len;
    char *out = sp_sanitize_html(&arena, in, strlen(in), &len, NULL);
    ck_assert_uint_eq(len, strlen(out));
    return out;
}

static bool
text_of(const char *in)
{
    bool has_text = true;
    sp_sanitize_html(&arena, in, strlen(in), NULL, &has_text);
    return has_text;
}

/* ---- the independent checker used on the corpus ---------------------- */

static const char *const allowed[] = {
    "p", "br", "b", "strong", "i", "em", "u", "s", "ul", "ol", "li", "a",
    "code", "pre", "blockquote",
};

static bool
is_allowed(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (strlen(allowed[i]) == n && strncmp(allowed[i], name, n) == 0)
            return true;
    return false;
}

static bool
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The href as a browser would read its scheme: no whitespace or controls
 * anywhere (URL parsers drop tabs and newlines inside), lower case. */
static const char *
href_problem(const char *href)
{
    char norm[64];
    size_t n = 0;
    for (const char *p = href; *p != '\0' && n < sizeof(norm) - 1; p++)
        if ((unsigned char)*p > 0x20 && *p != 0x7f)
            norm[n++] = (char)tolower((unsigned char)*p);
    norm[n] = '\0';
    if (strstr(norm, "javascript:") || strstr(norm, "vbscript:") ||
        strstr(norm, "data:"))
        return "dangerous scheme in href";
    if (!starts_with(norm, "http:") && !starts_with(norm, "https:") &&
        !starts_with(norm, "mailto:"))
        return "href scheme not http/https/mailto";
    return NULL;
}

/* Byte-level scan: every '<' opens a tag we could have written, every '&'
 * is one of our four escapes, no '>' stands alone in text. */
static const char *
scan_problem(const char *s)
{
    for (const char *p = s; *p != '\0';) {
        if (*p == '&') {
            if (!starts_with(p, "&amp;") && !starts_with(p, "&lt;") &&
                !starts_with(p, "&gt;") && !starts_with(p, "&quot;"))
                return "unescaped '&' in output";
            p++;
            continue;
        }
        if (*p == '>')
            return "unescaped '>' in text";
        if (*p != '<') {
            p++;
            continue;
        }
        if (strncasecmp(p, "<script", 7) == 0)
            return "<script in output";
        bool end = p[1] == '/';
        const char *name = p + 1 + end, *q = name;
        while (*q >= 'a' && *q <= 'z')
            q++;
        if (!is_allowed(name, (size_t)(q - name)))
            return "tag outside the allowlist (or stray '<')";
        if (!end && q - name == 1 && *name == 'a') {
            if (!starts_with(q, " href=\""))
                return "<a> without href first";
            q += 7;
            while (*q != '\0' && *q != '"' && *q != '<' && *q != '>')
                q++;
            if (!starts_with(q, "\" " REL ">"))
                return "<a> attributes other than href and rel";
            q += strlen("\" " REL);
        }
        if (*q != '>')
            return "attribute or junk inside a tag";
        p = q + 1;
    }
    return NULL;
}

static const char *
tree_problem(const GumboNode *n, int depth)
{
    if (n->type == GUMBO_NODE_COMMENT)
        return "comment in output";
    if (n->type == GUMBO_NODE_TEMPLATE)
        return "template in output";
    if (n->type != GUMBO_NODE_ELEMENT)
        return NULL;
    const GumboElement *el = &n->v.element;
    const char *name = gumbo_normalized_tagname(el->tag);
    if (depth > 0) {
        if (el->tag_namespace != GUMBO_NAMESPACE_HTML ||
            !is_allowed(name, strlen(name)))
            return "element outside the allowlist";
        for (unsigned i = 0; i < el->attributes.length; i++) {
            const GumboAttribute *at = el->attributes.data[i];
            if (strncasecmp(at->name, "on", 2) == 0)
                return "event handler attribute";
            if (el->tag != GUMBO_TAG_A)
                return "attribute on an element other than <a>";
            if (strcmp(at->name, "rel") == 0) {
                if (strcmp(at->value, "nofollow noopener noreferrer") != 0)
                    return "wrong rel";
            } else if (strcmp(at->name, "href") == 0) {
                const char *hp = href_problem(at->value);
                if (hp != NULL)
                    return hp;
            } else {
                return "attribute other than href/rel on <a>";
            }
        }
        if (el->tag == GUMBO_TAG_A &&
            (!gumbo_get_attribute(&el->attributes, "href") ||
             !gumbo_get_attribute(&el->attributes, "rel")))
            return "<a> missing href or rel";
    }
    for (unsigned i = 0; i < el->children.length; i++) {
        const char *p = tree_problem(el->children.data[i], depth + 1);
        if (p != NULL)
            return p;
    }
    return NULL;
}

/* NULL when html is safe to store as a sanitized body, else why not. */
static const char *
safety_problem(const char *html, size_t len)
{
    if (!sp_utf8_valid(html, len))
        return "invalid UTF-8";
    if (strlen(html) != len)
        return "NUL byte in output";
    const char *p = scan_problem(html);
    if (p != NULL)
        return p;
    GumboOptions opt = kGumboDefaultOptions;
    opt.fragment_context = GUMBO_TAG_DIV;
    GumboOutput *g = gumbo_parse_with_options(&opt, html, len);
    p = tree_problem(g->root, 0);
    gumbo_destroy_output(&opt, g);
    return p;
}

struct corpus {
    char *data;
    char *line[256];
    size_t len[256];
    size_t n;
};

static void
corpus_load(struct corpus *c)
{
    const char *dir = getenv("SP_FIXTURES_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/xss-corpus.txt", dir ? dir : "t/fixtures");
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    c->data = sp_arena_alloc(&arena, 1 << 20);
    size_t n = fread(c->data, 1, (1 << 20) - 1, f);
    fclose(f);
    c->data[n] = '\0';
    c->n = 0;
    for (char *p = c->data; p < c->data + n;) {
        char *nl = memchr(p, '\n', (size_t)(c->data + n - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(c->data + n - p);
        if (l > 0 && p[0] != '#') {
            ck_assert_uint_lt(c->n, 256);
            p[l] = '\0';
            c->line[c->n] = p;
            c->len[c->n++] = l;
        }
        p += l + 1;
    }
    ck_assert_uint_ge(c->n, 60);
}

/* ---- API.md §4 behaviour --------------------------------------------- */

/* sp_sanitize_text: what a mail's text part shows of a stored body. */
START_TEST(text_of_a_body_reads_like_the_page)
{
    const char *html = "<p>Hello &amp; <b>welcome</b></p><p>line<br>two</p>"
                       "<ul><li>one</li><li>two</li></ul><a href=\"https://x.example/\">site</a>";
    ck_assert_str_eq(sp_sanitize_text(&arena, html, strlen(html)),
                     "Hello & welcome\nline\ntwo\n- one\n- two\nsite <https://x.example/>");
    ck_assert_str_eq(sp_sanitize_text(&arena, "", 0), "");
    ck_assert_str_eq(sp_sanitize_text(&arena, "<script>x</script>a &lt;b&gt;", 28), "a <b>");
}
END_TEST

START_TEST(allowed_tags_survive)
{
    const char *in = "<p><b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u>"
                     "<s>x</s><code>c</code><br></p><ul><li>1</li></ul>"
                     "<ol><li>2</li></ol><pre>p</pre>"
                     "<blockquote>q</blockquote>";
    ck_assert_str_eq(san(in), in);
}
END_TEST

START_TEST(script_content_is_dropped)
{
    ck_assert_str_eq(san("<p>hi<script>alert(1)</script></p>"), "<p>hi</p>");
    static const char *const dropped[] = {
        "script", "style", "iframe", "object", "applet",
        "template", "textarea", "title", "xmp", "noembed", "noframes",
    };
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
        char in[128];
        snprintf(in, sizeof(in), "a<%s>secret</%s>b", dropped[i], dropped[i]);
        ck_assert_msg(strcmp(san(in), "ab") == 0, "%s -> %s", in, san(in));
    }
    /* embed is void: it has no content, only the element goes. */
    ck_assert_str_eq(san("a<embed src=\"x.swf\">b"), "ab");
}
END_TEST

/* noscript is not among the elements whose content goes (API.md §4): it
 * is unwrapped, so a stray or unclosed one loses no text. */
START_TEST(noscript_is_unwrapped_keeping_its_text)
{
    ck_assert_str_eq(san("before<noscript>m</noscript>after"), "beforemafter");
    ck_assert_str_eq(san("before<noscript><p>m</noscript>after"), "before<p>mafter</p>");
    ck_assert_str_eq(san("a<noscript><b>x</b>"), "a<b>x</b>");
}
END_TEST

START_TEST(other_elements_are_unwrapped_keeping_text)
{
    /* An unwrapped block keeps the line break it stood for. */
    ck_assert_str_eq(san("<div><span>x</span><h1>y</h1><img src=a>z</div>"),
                     "x<br>y<br>z");
    ck_assert_str_eq(san("<table><tr><td><b>c</b></td></tr></table>"),
                     "<b>c</b>");
    /* Allowlisted names in SVG/MathML are foreign elements: unwrapped;
     * HTML inside an integration point is HTML again. */
    ck_assert_str_eq(san("<svg><a href=\"http://x\">s</a></svg>"), "s");
    ck_assert_str_eq(san("<math><mi><b>x</b></mi></math>"), "<b>x</b>");
    ck_assert_str_eq(san("<svg><foreignObject><p>f</p></foreignObject></svg>"),
                     "<p>f</p>");
}
END_TEST

/* san() of in, which sanitizing again leaves as it is. */
static const char *
san_stable(const char *in)
{
    const char *once = san(in);
    ck_assert_str_eq(san(once), once);
    return once;
}

/* Rich-text editors write a <div> per line, mail clients headings and
 * tables: unwrapped, their words would run together ("HelloWorld",
 * found by no search for either word). */
START_TEST(unwrapped_blocks_keep_their_line_breaks)
{
    ck_assert_str_eq(san_stable("<div>Hello</div><div>World</div>"), "Hello<br>World");
    ck_assert_str_eq(san_stable("<h2>Title</h2>Text"), "Title<br>Text");
    ck_assert_str_eq(san_stable("Text<h2>Title</h2>"), "Text<br>Title");
    ck_assert_str_eq(san_stable("first<div>second</div>third"), "first<br>second<br>third");
    /* White space between the blocks stays where it was, the break at
     * the edge; formatting around the text stays whole. */
    ck_assert_str_eq(san_stable("<div>a</div>\n<div><b>b</b></div>"), "a<br>\n<b>b</b>");
    ck_assert_str_eq(san_stable("<b><div>a</div></b><div><i>b</i></div>"),
                     "<b>a<br></b><i>b</i>");
    ck_assert_str_eq(san_stable("<a href=\"http://x\"><div>a</div><div>b</div></a>"),
                     "<a href=\"http://x\" " REL ">a<br>b</a>");
    /* Table cells and rows, definition lists, a rule. */
    ck_assert_str_eq(san_stable("<table><tr><th>k</th><th>v</th></tr>"
                                "<tr><td>1</td><td>2</td></tr></table>after"),
                     "k<br>v<br>1<br>2<br>after");
    ck_assert_str_eq(san_stable("<dl><dt>term</dt><dd>means</dd></dl>"), "term<br>means");
    ck_assert_str_eq(san_stable("above<hr>below"), "above<br>below");
    ck_assert_str_eq(san_stable("<section><header>h</header><article>a</article>"
                                "<footer>f</footer></section><address>ad</address>"),
                     "h<br>a<br>f<br>ad");
}
END_TEST

START_TEST(unwrapped_block_breaks_neither_lead_trail_nor_double)
{
    /* Nested blocks share their edges: one break. */
    ck_assert_str_eq(san_stable("<div><div><div>a</div></div></div><div><div>b</div></div>"),
                     "a<br>b");
    ck_assert_str_eq(san_stable("<div>only</div>"), "only");
    ck_assert_str_eq(san_stable("<div></div><div>a</div><div> </div><div></div>"), "a ");
    /* An empty line as editors write it stays one empty line. */
    ck_assert_str_eq(san_stable("<div>a</div><div><br></div><div>b</div>"), "a<br><br>b");
    ck_assert_str_eq(san_stable("<div>a<br></div><div>b</div>"), "a<br>b");
    /* A kept block ends the line itself. */
    ck_assert_str_eq(san_stable("<div>a</div><p>b</p><div>c</div>"), "a<p>b</p>c");
    ck_assert_str_eq(san_stable("<div>a<ul><li>b</li></ul>c</div>"), "a<ul><li>b</li></ul>c");
    ck_assert_str_eq(san_stable("<blockquote><div>q</div></blockquote><div>a</div>"),
                     "<blockquote>q</blockquote>a");
    ck_assert_str_eq(san_stable("<p><span>a</span></p><h3>b</h3>"), "<p>a</p>b");
    /* Dropped content and empty formatting bring no line. */
    ck_assert_str_eq(san_stable("<div>a</div><script>x</script><b></b>"), "a<b></b>");
    ck_assert_str_eq(san_stable("<b></b><div>a</div>"), "<b></b>a");
}
END_TEST

START_TEST(inline_elements_unwrap_without_breaks)
{
    ck_assert_str_eq(san_stable("<span>Hel</span><span>lo</span> <font color=red>World</font>"),
                     "Hello World");
    ck_assert_str_eq(san_stable("a<small>b</small><sub>c</sub><label>d</label><mark>e</mark>"),
                     "abcde");
    ck_assert_str_eq(san_stable("<div><span>x</span><font>y</font></div>"), "xy");
    /* Foreign elements named like HTML blocks are not blocks. */
    ck_assert_str_eq(san_stable("a<svg><desc>b</desc></svg>c"), "abc");
}
END_TEST

/* Articles keep headings, tables and rules as elements: no <br> beside
 * them; the blocks they do unwrap break lines as in messages. */
START_TEST(article_keeps_its_blocks_and_breaks_unwrapped_ones)
{
    const char *in = "<h2>T</h2><table><tr><td><div>a</div><div>b</div></td><td>c</td></tr>"
                     "</table><hr><div>x</div><div>y</div>";
    const char *once = sp_sanitize_html_as(&arena, SP_SANITIZE_ARTICLE, in, strlen(in), NULL,
                                           NULL);
    ck_assert_str_eq(once, "<h2>T</h2><table><tbody><tr><td>a<br>b</td><td>c</td></tr>"
                           "</tbody></table><hr>x<br>y");
    ck_assert_str_eq(sp_sanitize_html_as(&arena, SP_SANITIZE_ARTICLE, once, strlen(once), NULL,
                                         NULL),
                     once);
}
END_TEST

START_TEST(comments_are_dropped)
{
    ck_assert_str_eq(san("a<!-- secret -->b<!--x"), "ab");
}
END_TEST

START_TEST(text_is_entity_escaped)
{
    ck_assert_str_eq(san("a < b"), "a &lt; b");
    ck_assert_str_eq(san("x > y & \"z\""), "x &gt; y &amp; \"z\"");
    ck_assert_str_eq(san("&lt;script&gt;"), "&lt;script&gt;");
    ck_assert_str_eq(san("&amp;lt;"), "&amp;lt;");
    ck_assert_str_eq(san("<p>caf&eacute; &#x1F600;</p>"),
                     "<p>caf\xc3\xa9 \xf0\x9f\x98\x80</p>");
}
END_TEST

START_TEST(a_gains_rel_nofollow)
{
    ck_assert_str_eq(san("<a href=\"http://x.example/\" rel=opener>x</a>"),
                     "<a href=\"http://x.example/\" " REL ">x</a>");
    ck_assert_str_eq(san("<a href='https://x.example/p?a=1&amp;b=2'>x</a>"),
                     "<a href=\"https://x.example/p?a=1&amp;b=2\" " REL ">x</a>");
    ck_assert_str_eq(san("<a href=\"MAILTO:help@x.example\">m</a>"),
                     "<a href=\"MAILTO:help@x.example\" " REL ">m</a>");
    ck_assert_str_eq(san("<a href=\" \thttp://x.example/ \n\">x</a>"),
                     "<a href=\"http://x.example/\" " REL ">x</a>");
}
END_TEST

START_TEST(href_attribute_value_is_escaped)
{
    ck_assert_str_eq(san("<a href='http://x/\"><script>'>x</a>"),
                     "<a href=\"http://x/&quot;&gt;&lt;script&gt;\" " REL
                     ">x</a>");
}
END_TEST

START_TEST(javascript_href_is_removed)
{
    static const char *const bad[] = {
        "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
        "&#106;avascript:alert(1)", "java&#x09;script:alert(1)",
        "java\tscript:alert(1)", "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>", "/relative/path",
        "//evil.example/", "evil.example", "#frag", "", "http",
        "ftp://x.example/",
        /* A scheme without "//" is relative to the page (QA); a user
         * part hides the host the link opens. */
        "https:evil.example", "https:", "http:?a", "https:/support/admin/kb?q=1", "https://",
        "https:///", "https://?x", "https://bank.example@evil.example/",
        "http://u:p@x.example/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char in[256];
        snprintf(in, sizeof(in), "<a href=\"%s\">t</a>", bad[i]);
        ck_assert_msg(strcmp(san(in), "t") == 0, "%s -> %s", in, san(in));
    }
    ck_assert_str_eq(san("<a name=x>t</a>"), "t");
    ck_assert_str_eq(san("<img src=\"https:/support/admin/kb\" alt=a>"), "a");
    /* An address's own "@" after its host is no user part. */
    ck_assert_str_eq(san("<a href=\"https://x.example/@ada?to=a@b\">t</a>"),
                     "<a href=\"https://x.example/@ada?to=a@b\" " REL ">t</a>");
    ck_assert(sp_sanitize_link_ok(SP_SANITIZE_MESSAGE, "https:///x.example/"));
    ck_assert(!sp_sanitize_link_ok(SP_SANITIZE_MESSAGE, "https:x.example"));
}
END_TEST

/* A backslash ends the host for a browser but is data to an RFC 3986
 * parser (mail clients, link scanners): "bank.example\" is user info to
 * them and evil.example the host (QA), so an '@' before the first '/',
 * '?' or '#' refuses the link wherever backslashes stand. */
START_TEST(an_at_sign_behind_a_backslash_is_user_info)
{
    static const char *const bad[] = {
        "https://bank.example\\@evil.example/", "https://bank.example\\x@evil.example",
        "http://bank.example\\\\@evil.example?x", "https:\\\\bank.example\\@evil.example",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!sp_sanitize_link_ok(SP_SANITIZE_MESSAGE, bad[i]), "%s", bad[i]);
        ck_assert_msg(!sp_sanitize_link_ok(SP_SANITIZE_ARTICLE, bad[i]), "%s", bad[i]);
        char in[256];
        snprintf(in, sizeof(in), "<a href=\"%s\">t</a>", bad[i]);
        ck_assert_str_eq(san(in), "t");
    }
    ck_assert(sp_sanitize_link_ok(SP_SANITIZE_MESSAGE, "https://bank.example\\path/x@y"));
    ck_assert(sp_sanitize_link_ok(SP_SANITIZE_MESSAGE, "https://bank.example?q=\\@x"));
    ck_assert(sp_sanitize_link_ok(SP_SANITIZE_MESSAGE, "https://bank.example#\\@x"));
}
END_TEST

/* Debian's gumbo 0.10.1 aborts (an assertion in handle_in_table) on text
 * after a CDATA section in <math>/<svg> text content inside a <table>
 * (google/gumbo-parser#301): each reply, chat message and article went
 * through it (QA). The section opener is read as a bogus comment. */
static const char *const cdata_crashes[] = {
    "<table><math><mi><![CDATA[y]]>x",
    "<table><svg><desc><![CDATA[y]]>x",
    "<table><math><mtext><![CDATA[y]]>x",
    "<table><svg><foreignObject><![CDATA[y]]>x",
    "<table><svg><title><![CDATA[y]]>x",
    "<table><math><annotation-xml encoding=text/html><![CDATA[y]]>x",
    "<div><table><math><mi><![cdata[y]]> after</mi></math></table></div>",
};

START_TEST(cdata_in_foreign_content_does_not_abort)
{
    for (size_t i = 0; i < sizeof(cdata_crashes) / sizeof(cdata_crashes[0]); i++) {
        const char *in = cdata_crashes[i];
        size_t n;
        char *out = sp_sanitize_html_as(&arena, SP_SANITIZE_ARTICLE, in, strlen(in), &n, NULL);
        ck_assert_msg(strcasestr(out, "CDATA") == NULL, "%s: %s", in, out);
        ck_assert_msg(strcasestr(san(in), "CDATA") == NULL, "%s", in);
        sp_sanitize_text(&arena, in, strlen(in));
    }
    /* The text after it stays (an svg <title> is dropped whole). */
    ck_assert_str_eq(san(cdata_crashes[0]), "x");
    ck_assert_str_eq(san(cdata_crashes[6]), " after");
    /* In HTML content a browser reads it as a bogus comment to the '>'. */
    ck_assert_str_eq(san("a<![CDATA[b]]>c"), "ac");
    ck_assert_str_eq(san("a<![CDATA[b>c]]>d"), "ac]]&gt;d");
    ck_assert_str_eq(sp_sanitize_text(&arena, "a<![CdAtA[b]]>c", 15), "ac");
    /* Not an opener: left alone. */
    ck_assert_str_eq(san("a&lt;![CDATA[b"), "a&lt;![CDATA[b");
    ck_assert_str_eq(san("<![CDATA"), "");
}
END_TEST

/* Articles link to phone numbers ("call [our hotline](tel:+15551234)");
 * only a number's shape follows the scheme, and messages keep API.md §4's
 * http/https/mailto. */
START_TEST(tel_href_is_a_phone_number_in_articles_only)
{
    static const char *const good[] = {
        "tel:+15551234", "TEL:+1 (555) 123-4567", "tel:+1%20555.123.4567", "tel:0800-123",
    };
    static const char *const bad[] = {
        "tel:javascript:alert(1)", "tel:", "tel:+", "tel:++1555", "tel:1+555",
        "tel:+1555;ext=2", "tel:+1555%0a", "tel:+1555%3Cscript", "tel:+1555\t1",
        "tel:+1555/x", "tel:+1555?a", "tel:+1555#f", "tel:+1555@x.example", "tel:%2B1555",
    };
    char in[256];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(in, sizeof(in), "<a href=\" %s \">call</a>", good[i]);
        const char *out = sp_sanitize_html_as(&arena, SP_SANITIZE_ARTICLE, in, strlen(in), NULL,
                                              NULL);
        char want[256];
        snprintf(want, sizeof(want), "<a href=\"%s\" " REL ">call</a>", good[i]);
        ck_assert_str_eq(out, want);
        ck_assert_msg(strcmp(san(in), "call") == 0, "message kept %s", in);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(in, sizeof(in), "<a href=\"%s\">call</a>", bad[i]);
        const char *out = sp_sanitize_html_as(&arena, SP_SANITIZE_ARTICLE, in, strlen(in), NULL,
                                              NULL);
        ck_assert_msg(strcmp(out, "call") == 0, "%s -> %s", in, out);
    }
}
END_TEST

START_TEST(unknown_attributes_dropped)
{
    ck_assert_str_eq(san("<p class=c style=\"color:red\" onclick=alert(1) "
                         "id=i>x</p>"),
                     "<p>x</p>");
    ck_assert_str_eq(san("<a href=\"http://x/\" onmouseover=alert(1) "
                         "target=_blank title=t>x</a>"),
                     "<a href=\"http://x/\" " REL ">x</a>");
    ck_assert_str_eq(san("<br clear=all onload=x>"), "<br>");
}
END_TEST

START_TEST(empty_after_sanitize_has_no_text)
{
    static const char *const empty[] = {
        "", "<p> </p>", "<br>", "<p>\t\r\n</p><br/>", "<script>x</script>",
        "<!-- x -->", "<p>&nbsp;</p>", "<b>&#x200B;</b>", "<img src=x>",
        "<style>p{}</style><title>t</title>",
        /* blank by sp_utf8_blank(), as a subject or a name of them is:
         * soft hyphen, Braille blank, Hangul filler, Khmer vowel
         * inherent, LRM */
        "<p>&shy;&#x2800;</p>", "\xe3\x85\xa4\xe1\x9e\xb4&lrm;",
    };
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
        ck_assert_msg(!text_of(empty[i]), "'%s' reported text", empty[i]);
    ck_assert(text_of("<p>x</p>"));
    ck_assert(text_of("<p> . </p>"));
    ck_assert(text_of("&lt;"));
    ck_assert(text_of("<b>\xc3\xa9</b>"));

    bool has_text = true;
    size_t len = 99;
    char *out = sp_sanitize_html(&arena, NULL, 0, &len, &has_text);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(len, 0);
    ck_assert(!has_text);
}
END_TEST

START_TEST(invalid_utf8_becomes_replacement_character)
{
    const char in[] = "a\xff" "b\xc3(\xed\xa0\x80";
    size_t len;
    char *out = sp_sanitize_html(&arena, in, sizeof(in) - 1, &len, NULL);
    ck_assert(sp_utf8_valid(out, len));
    ck_assert_ptr_nonnull(strstr(out, "\xef\xbf\xbd"));
    ck_assert_ptr_null(strchr(out, '\xff'));
}
END_TEST

START_TEST(numeric_reference_overflow_stays_valid_utf8)
{
    /* gumbo 0.10.1 turns this reference into a stray 0xAA byte. */
    const char *in = "x&#99999999999999999999999999999914;y"
                     "<a href=\"http://x/&#99999999999999999999999914;\">l</a>";
    size_t len;
    char *out = sp_sanitize_html(&arena, in, strlen(in), &len, NULL);
    ck_assert_msg(sp_utf8_valid(out, len), "invalid UTF-8: %s", out);
    ck_assert_str_eq(out, "x\xef\xbf\xbdy<a href=\"http://x/\xef\xbf\xbd\" " REL
                          ">l</a>");
}
END_TEST

START_TEST(input_is_read_by_length_not_nul)
{
    const char in[] = "<b>a\0b</b>tail";
    size_t len;
    char *out = sp_sanitize_html(&arena, in, sizeof(in) - 1, &len, NULL);
    ck_assert_uint_eq(len, strlen(out));
    ck_assert_ptr_nonnull(strstr(out, "tail"));
    ck_assert_str_eq(sp_sanitize_html(&arena, "<b>x</b>junk", 8, NULL, NULL),
                     "<b>x</b>");
}
END_TEST

START_TEST(pre_keeps_leading_newline)
{
    ck_assert_str_eq(san("<pre>\n\nx</pre>"), "<pre>\n\nx</pre>");
    ck_assert_str_eq(san(san("<pre>\n\nx</pre>")), "<pre>\n\nx</pre>");
}
END_TEST

static char *
repeat(const char *unit, size_t times, const char *tail)
{
    size_t ul = strlen(unit), tl = strlen(tail);
    char *s = sp_arena_alloc(&arena, ul * times + tl + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * ul, unit, ul);
    memcpy(s + ul * times, tail, tl + 1);
    return s;
}

static size_t
count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

START_TEST(deep_nesting_does_not_crash)
{
    bool has_text;
    size_t len;
    char *in = repeat("<b>", 100000, "deep");
    char *out = sp_sanitize_html(&arena, in, strlen(in), &len, &has_text);
    ck_assert(has_text);
    ck_assert_ptr_nonnull(strstr(out, "deep"));
    /* Kept elements stop at the depth cap; the rest are unwrapped. */
    ck_assert_uint_eq(count(out, "<b>"), SP_SANITIZE_MAX_DEPTH);
    ck_assert_uint_eq(count(out, "</b>"), SP_SANITIZE_MAX_DEPTH);
    ck_assert_ptr_null(safety_problem(out, len));

    in = repeat("<span><i>", 50000, "x");
    out = sp_sanitize_html(&arena, in, strlen(in), &len, NULL);
    ck_assert_uint_eq(count(out, "<i>"), SP_SANITIZE_MAX_DEPTH);
    ck_assert_ptr_null(safety_problem(out, len));
}
END_TEST

/* ---- XSS corpus -------------------------------------------------------- */

START_TEST(corpus_checker_rejects_every_raw_payload)
{
    /* Proves the checker below has teeth: unsanitized, each payload fails. */
    struct corpus c;
    corpus_load(&c);
    for (size_t i = 0; i < c.n; i++)
        ck_assert_msg(safety_problem(c.line[i], c.len[i]) != NULL,
                      "checker accepts raw payload %zu: %s", i, c.line[i]);
}
END_TEST

START_TEST(xss_corpus_yields_only_allowlisted_markup)
{
    struct corpus c;
    corpus_load(&c);
    for (size_t i = 0; i < c.n; i++) {
        size_t len;
        char *out = sp_sanitize_html(&arena, c.line[i], c.len[i], &len, NULL);
        const char *p = safety_problem(out, len);
        ck_assert_msg(p == NULL, "payload %zu: %s\n  in:  %s\n  out: %s", i,
                      p, c.line[i], out);
    }
}
END_TEST

START_TEST(sanitizing_twice_changes_nothing)
{
    struct corpus c;
    corpus_load(&c);
    for (size_t i = 0; i < c.n; i++) {
        size_t l1, l2;
        char *once = sp_sanitize_html(&arena, c.line[i], c.len[i], &l1, NULL);
        char *twice = sp_sanitize_html(&arena, once, l1, &l2, NULL);
        ck_assert_msg(l1 == l2 && memcmp(once, twice, l1) == 0,
                      "payload %zu: %s\n  once:  %s\n  twice: %s", i,
                      c.line[i], once, twice);
    }
}
END_TEST

/* A numeric reference gives the characters a parser replaces in markup
 * (controls, noncharacters, CR): written as the parser would read them,
 * the stored body reads back the same (the fuzz target found these). */
START_TEST(referenced_controls_are_written_as_read_back)
{
    ck_assert_str_eq(san_stable("a&#1;b&#x7f;c&#x81;d&#xfdd0;e&#x1fffe;f"),
                     "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xef\xbf\xbd"
                     "e\xef\xbf\xbd" "f");
    ck_assert_str_eq(san_stable("a&#13;b&#13;\nc<pre>&#13;x</pre>"), "a\nb\n\nc<pre>\n\nx</pre>");
    ck_assert_str_eq(san_stable("<a href=\"http://x/&#1;y&#13;z\">l</a>"),
                     "<a href=\"http://x/\xef\xbf\xbdy\nz\" " REL ">l</a>");
    /* Tab, line and form feed are read as they are. */
    ck_assert_str_eq(san_stable("a&#9;b&#10;c&#12;d"), "a\tb\nc\fd");
}
END_TEST

/* Unwrapping can leave what a parser does not nest (an <li> in an <li>
 * once their <dl> is gone, a <p> in a <p> once their <button> is): the
 * output is what our own output parses back to, so storing it again,
 * or a browser reading it, changes nothing (the fuzz target found these). */
START_TEST(output_parses_back_as_written)
{
    ck_assert_str_eq(san_stable("<ul><li>a<dl><li>b</li></dl>c</li></ul>"),
                     "<ul><li>a</li><li>b</li>c</ul>");
    ck_assert_str_eq(san_stable("<p>a<button><p>b</button>c"), "<p>a</p><p>b</p>c<p></p>");
}
END_TEST

/* How many times gumbo parsed since the count was last cleared: this
 * program's definition stands in for libgumbo's (the sanitizer calls it
 * from the static library) and hands every call on to the real one. */
static unsigned parses;

GumboOutput *
gumbo_parse_with_options(const GumboOptions *options, const char *buffer, size_t length)
{
    static GumboOutput *(*real)(const GumboOptions *, const char *, size_t);
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "gumbo_parse_with_options");
    parses++;
    return real(options, buffer, length);
}

/* sp_sanitize_html_as(profile, in) parses in once, or more when its
 * output must be read back; checks that the output reads back as written
 * in either case and returns it. */
static const char *
san_parses(enum sp_sanitize_profile profile, const char *in, unsigned want)
{
    size_t len, again_len;
    parses = 0;
    const char *out = sp_sanitize_html_as(&arena, profile, in, strlen(in), &len, NULL);
    ck_assert_msg(parses == want, "%s: %u parses, not %u", in, parses, want);
    const char *again = sp_sanitize_html_as(&arena, profile, out, len, &again_len, NULL);
    ck_assert_str_eq(again, out);
    return out;
}

/* A body whose every element came with its own start and end tag, all
 * kept, is parsed once: our output gives the parser the same tags, so
 * it reads back as written (sp_sanitize_html_as). Anything the parser
 * or the walk reshaped (an implied end tag, an unwrapped or dropped
 * element, a comment, a reconstructed formatting element, a table) is
 * read back until it reads as written, the re-nesting cases above
 * among them. */
START_TEST(a_well_formed_body_is_parsed_once)
{
    const enum sp_sanitize_profile msg = SP_SANITIZE_MESSAGE, art = SP_SANITIZE_ARTICLE;
    /* One parse: plain text, and markup of kept elements properly nested. */
    ck_assert_str_eq(san_parses(msg, "Hi & thanks, <3 >_<", 1), "Hi &amp; thanks, &lt;3 &gt;_&lt;");
    ck_assert_str_eq(san_parses(msg, "a&#13;b&#1;c\r\n", 1), "a\nb\xef\xbf\xbd" "c\n");
    ck_assert_str_eq(san_parses(msg, "<p>See <a href=\" https://x.example/?a=1&amp;b\">this</a>"
                                     "</p><p>Ann<br>B&amp;B</p>", 1),
                     "<p>See <a href=\"https://x.example/?a=1&amp;b\" " REL ">this</a></p>"
                     "<p>Ann<br>B&amp;B</p>");
    ck_assert_str_eq(san_parses(msg, "<ul><li><b><i>x</i></b></li></ul><pre>\n\ny</pre>", 1),
                     "<ul><li><b><i>x</i></b></li></ul><pre>\n\ny</pre>");
    ck_assert_str_eq(san_parses(msg, "<!doctype html><p>a</p></b></li>", 1), "<p>a</p>");
    /* Attributes we drop make the five <b> alike ("Noah's Ark"). */
    ck_assert_str_eq(san_parses(msg, "<b id=1><b><b><b><b>x</b></b></b></b>y</b>", 1),
                     "<b><b><b><b><b>x</b></b></b></b>y</b>");
    ck_assert_str_eq(san_parses(art, "<h1><b><h2>x</h2></b></h1>", 1),
                     "<h1><b><h2>x</h2></b></h1>");
    ck_assert_str_eq(san_parses(art, "<h2>T</h2><hr><p><img src=\"https://x/i\" alt=\"i\"></p>",
                                1),
                     "<h2>T</h2><hr><p><img src=\"https://x/i\" alt=\"i\" loading=\"lazy\"></p>");
    /* Read back (two parses when the first output holds): implied end
     * tags, unwrapped, dropped, a comment, made by the parser. */
    ck_assert_str_eq(san_parses(msg, "<p>Hello,<p>Ann", 2), "<p>Hello,</p><p>Ann</p>");
    ck_assert_str_eq(san_parses(msg, "<li>a<li>b", 2), "<li>a</li><li>b</li>");
    ck_assert_str_eq(san_parses(msg, "<b>a<i>b</b>c</i>", 2), "<b>a<i>b</i></b><i>c</i>");
    ck_assert_str_eq(san_parses(msg, "<div>a</div>b", 2), "a<br>b");
    ck_assert_str_eq(san_parses(msg, "a<script>x</script>b", 2), "ab");
    ck_assert_str_eq(san_parses(msg, "a<!-- c -->b", 2), "ab");
    ck_assert_str_eq(san_parses(msg, "<a>no href</a>", 2), "no href");
    ck_assert_str_eq(san_parses(msg, "a</p>b", 2), "a<p></p>b");
    ck_assert_str_eq(san_parses(msg, "a<br>b</br>", 2), "a<br>b<br>");
    ck_assert_str_eq(san_parses(msg, "<pre><!---->\nx</pre>", 3), "<pre>x</pre>");
    ck_assert_str_eq(san_parses(art, "<table><tbody><tr><td>x</td></tr></tbody></table>", 2),
                     "<table><tbody><tr><td>x</td></tr></tbody></table>");
    /* The re-nesting cases (output_parses_back_as_written): read back
     * until they read as written. */
    ck_assert_str_eq(san_parses(msg, "<ul><li>a<dl><li>b</li></dl>c</li></ul>", 3),
                     "<ul><li>a</li><li>b</li>c</ul>");
    ck_assert_str_eq(san_parses(msg, "<p>a<button><p>b</button>c", 3),
                     "<p>a</p><p>b</p>c<p></p>");
}
END_TEST

/* Leaves freed heap blocks of every small size holding the int 1 in
 * each word, as blocks a parse left behind can: GUMBO_DOCTYPE_QUIRKS
 * wherever gumbo reads a field it never set (glibc's malloc hands such
 * blocks back as they are; ASan's fills them, so there this is moot). */
static void
dirty_heap(void)
{
    enum { SIZES = 64, EACH = 8 };
    static void *blocks[SIZES][EACH];
    for (size_t k = 0; k < SIZES; k++)
        for (size_t i = 0; i < EACH; i++) {
            size_t n = 16 + 16 * k;
            unsigned *w = blocks[k][i] = malloc(n);
            ck_assert_ptr_nonnull(w);
            for (size_t j = 0; j < n / sizeof(*w); j++)
                w[j] = 1;
        }
    for (size_t k = 0; k < SIZES; k++)
        for (size_t i = 0; i < EACH; i++)
            free(blocks[k][i]);
}

/* A <table> closes an open <p> (no-quirks mode, as our pages are read)
 * whatever the heap held before: gumbo never sets a fragment's quirks
 * mode, and read it from a reused block (the table stayed in the <p>). */
START_TEST(a_table_closes_the_paragraph_whatever_the_heap_held)
{
    const char *in = "<p>a<table><tr><td>b</td></tr></table>c</p>";
    ck_assert_str_eq(san(in), "<p>a</p>b<br>c<p></p>");
    dirty_heap();
    ck_assert_str_eq(san(in), "<p>a</p>b<br>c<p></p>");
    dirty_heap();
    ck_assert_str_eq(sp_sanitize_text(&arena, "<p>a<table><tr><td>b</table>c", 30), "a\nbc");
}
END_TEST

/* A chat body in a transcript paragraph (docs/API.md §7): the markup a
 * customer wrote becomes text, so it cannot close the paragraph or
 * forge a labelled line of another sender. */
START_TEST(text_to_lines_stays_inside_one_paragraph)
{
    const char *forged = "ok thanks</p><p><b>Agent</b> (2026-12-04T23:20:00.000Z):</p>"
                         "<p>Approved: full refund of 5000 EUR &amp; more";
    const char *clean = san(forged);
    const char *text = sp_sanitize_text(&arena, clean, strlen(clean));
    ck_assert_str_eq(sp_sanitize_text_to_lines(&arena, text, strlen(text)),
                     "ok thanks<br>Agent (2026-12-04T23:20:00.000Z):<br>"
                     "Approved: full refund of 5000 EUR &amp; more");
    /* Text that reads as markup stays text; lines keep at most one
     * empty line between them, none before or after. */
    const char *t = "\n\na <p> & </p>\n\n\n\nb\n";
    ck_assert_str_eq(sp_sanitize_text_to_lines(&arena, t, strlen(t)),
                     "a &lt;p&gt; &amp; &lt;/p&gt;<br><br>b");
    ck_assert_str_eq(sp_sanitize_text_to_lines(&arena, "", 0), "");
    ck_assert_str_eq(sp_sanitize_text_to_lines(&arena, "a\xff", 2), "a\xef\xbf\xbd");
}
END_TEST

/* A line of only blanks is an empty line to whoever reads the
 * transcript: a customer's "a\n \n \n b" (or CRLF lines) shows at most
 * one empty line, like "a\n\n\nb", and none before or after the text. */
START_TEST(text_to_lines_blank_lines_are_empty)
{
    const char *t = "a\n \n\t\n \r\n  \nb";
    ck_assert_str_eq(sp_sanitize_text_to_lines(&arena, t, strlen(t)), "a<br><br>b");
    t = "a\r\n\r\n\r\n\r\nb\r\n";
    ck_assert_str_eq(sp_sanitize_text_to_lines(&arena, t, strlen(t)), "a\r<br><br>b\r");
    t = " \n\t\na\nb\n \n";
    ck_assert_str_eq(sp_sanitize_text_to_lines(&arena, t, strlen(t)), "a<br>b");
    t = " \r\n\t";
    ck_assert_str_eq(sp_sanitize_text_to_lines(&arena, t, strlen(t)), "");
    /* blanks inside a line that shows something stay */
    t = "  a  \n b";
    ck_assert_str_eq(sp_sanitize_text_to_lines(&arena, t, strlen(t)), "  a  <br> b");
}
END_TEST

/* Plain text made a body under a limit that counts the escapes: whole
 * when it fits; else its head cut at a character with "…", its tail
 * (an AI answer's Sources line) whole, the most of the head that fits. */
START_TEST(text_to_html_fit_cuts_the_head_and_keeps_the_tail)
{
    bool cut = true;
    ck_assert_str_eq(sp_sanitize_text_to_html_fit(&arena, "a <b>", "\n\nt", 30, &cut),
                     "<p>a &lt;b&gt;</p><p>t</p>");
    ck_assert(!cut);
    /* 12 characters: "<p>abcd</p>" is 11, "<p>abc…</p>" fits, "abcd…" not. */
    ck_assert_str_eq(sp_sanitize_text_to_html_fit(&arena, "abcdef", "", 11, &cut),
                     "<p>abc\u2026</p>");
    ck_assert(cut);
    /* An escape weighs what it is written as; a cut never splits one
     * character, and the blanks before the cut go. */
    ck_assert_str_eq(sp_sanitize_text_to_html_fit(&arena, "\u00e9\u00e9 <<", "", 12, &cut),
                     "<p>\u00e9\u00e9\u2026</p>");
    ck_assert(cut);
    static char xs[5001];
    memset(xs, 'x', 5000);
    const char *html = sp_sanitize_text_to_html_fit(&arena, xs, "\n\nSources: x", 4000, &cut);
    ck_assert(cut);
    ck_assert_uint_eq(sp_utf8_count(html, strlen(html)), 4000);
    ck_assert(sp_utf8_valid(html, strlen(html)));
    ck_assert_ptr_nonnull(strstr(html, "\u2026</p><p>Sources: x</p>"));
    /* Not even the mark and the tail fit. */
    ck_assert_ptr_null(sp_sanitize_text_to_html_fit(&arena, "abc", "\n\ntail", 10, &cut));
}
END_TEST

/* A text whose whole is kept elsewhere (a long mail's, as mail.txt): its
 * head cut at a paragraph's end, else a line's, else a character, the
 * tail (the note that says so) whole. */
START_TEST(text_to_html_lines_fit_cuts_at_a_paragraph_or_line)
{
    size_t kept = 0;
    ck_assert_str_eq(sp_sanitize_text_to_html_lines_fit(&arena, "a\nb", "\n\nT", "\n\nU", 30,
                                                        &kept),
                     "<p>a<br>b</p><p>U</p>");
    ck_assert_uint_eq(kept, 3);
    /* room for "four" but not "five": the paragraph's end keeps more
     * than half of that, so the cut is there */
    const char *text = "one two three\n\nfour\nfive six seven eight nine";
    size_t max = strlen("<p>one two three</p><p>four</p><p>T</p>") + 2;
    ck_assert_str_eq(sp_sanitize_text_to_html_lines_fit(&arena, text, "\n\nT", "", max, &kept),
                     "<p>one two three</p><p>T</p>");
    ck_assert_uint_eq(kept, strlen("one two three\n"));
    /* a paragraph's end that would keep less than half: a line's end */
    text = "one\n\ntwo three four\nfive six seven\neight nine ten eleven";
    max = strlen("<p>one</p><p>two three four<br>five six seven</p><p>T</p>") + 2;
    ck_assert_str_eq(sp_sanitize_text_to_html_lines_fit(&arena, text, "\n\nT", "", max, &kept),
                     "<p>one</p><p>two three four<br>five six seven</p><p>T</p>");
    ck_assert_uint_eq(kept, strlen("one\n\ntwo three four\nfive six seven\n"));
    /* one line too long: at a character, never inside one */
    max = strlen("<p>ab</p><p>T</p>") + 1;   /* "é" is one of them, in two bytes */
    ck_assert_str_eq(sp_sanitize_text_to_html_lines_fit(&arena, "ab\u00e9cdefghijklmn", "\n\nT",
                                                        "", max, &kept),
                     "<p>ab\u00e9</p><p>T</p>");
    ck_assert_uint_eq(kept, 4);
    ck_assert_ptr_null(
        sp_sanitize_text_to_html_lines_fit(&arena, "abcd", "\n\ntail", "", 10, &kept));
}
END_TEST

static Suite *
sanitize_suite(void)
{
    Suite *s = suite_create("sanitize");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, allowed_tags_survive);
    tcase_add_test(tc, text_to_html_fit_cuts_the_head_and_keeps_the_tail);
    tcase_add_test(tc, text_to_html_lines_fit_cuts_at_a_paragraph_or_line);
    tcase_add_test(tc, text_of_a_body_reads_like_the_page);
    tcase_add_test(tc, script_content_is_dropped);
    tcase_add_test(tc, noscript_is_unwrapped_keeping_its_text);
    tcase_add_test(tc, other_elements_are_unwrapped_keeping_text);
    tcase_add_test(tc, unwrapped_blocks_keep_their_line_breaks);
    tcase_add_test(tc, unwrapped_block_breaks_neither_lead_trail_nor_double);
    tcase_add_test(tc, inline_elements_unwrap_without_breaks);
    tcase_add_test(tc, article_keeps_its_blocks_and_breaks_unwrapped_ones);
    tcase_add_test(tc, comments_are_dropped);
    tcase_add_test(tc, text_is_entity_escaped);
    tcase_add_test(tc, a_gains_rel_nofollow);
    tcase_add_test(tc, href_attribute_value_is_escaped);
    tcase_add_test(tc, javascript_href_is_removed);
    tcase_add_test(tc, tel_href_is_a_phone_number_in_articles_only);
    tcase_add_test(tc, an_at_sign_behind_a_backslash_is_user_info);
    tcase_add_test(tc, cdata_in_foreign_content_does_not_abort);
    tcase_add_test(tc, unknown_attributes_dropped);
    tcase_add_test(tc, empty_after_sanitize_has_no_text);
    tcase_add_test(tc, invalid_utf8_becomes_replacement_character);
    tcase_add_test(tc, numeric_reference_overflow_stays_valid_utf8);
    tcase_add_test(tc, input_is_read_by_length_not_nul);
    tcase_add_test(tc, pre_keeps_leading_newline);
    tcase_add_test(tc, deep_nesting_does_not_crash);
    tcase_add_test(tc, corpus_checker_rejects_every_raw_payload);
    tcase_add_test(tc, xss_corpus_yields_only_allowlisted_markup);
    tcase_add_test(tc, sanitizing_twice_changes_nothing);
    tcase_add_test(tc, referenced_controls_are_written_as_read_back);
    tcase_add_test(tc, output_parses_back_as_written);
    tcase_add_test(tc, a_well_formed_body_is_parsed_once);
    tcase_add_test(tc, a_table_closes_the_paragraph_whatever_the_heap_held);
    tcase_add_test(tc, text_to_lines_stays_inside_one_paragraph);
    tcase_add_test(tc, text_to_lines_blank_lines_are_empty);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(sanitize_suite());
}
