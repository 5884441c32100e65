/*
 * mail_parse: one inbound mail into struct sp_mail_in. See mail_parse.h.
 * Every byte is hostile (the fuzz target feeds anything), so every scan is
 * one forward pass: header lines, boundary lines, encoded words, quoted
 * strings and comments (whose nesting is a counter, not recursion). The
 * MIME walk recurses at most SP_MAIL_MAX_DEPTH deep, keeps the first
 * SP_MAIL_MAX_PARTS parts and only counts the rest (struct walk), and
 * only the chosen body is decoded, so an attachment costs one scan for
 * its boundary lines per level. An HTML body is made
 * text by core/mail_html.
 * Must not: know SQL, tickets or the network; allocate outside the arena
 * (every iconv handle is closed before returning); hand iconv_open
 * anything but a plain charset label.
 */
#include "core/mail_parse.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/mail_address.h"
#include "core/mail_html.h"
#include "core/sanitize.h"
#include "core/utf8.h"

#define FFFD "\xef\xbf\xbd"  /* U+FFFD REPLACEMENT CHARACTER */

static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

static void
lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* ---- charsets ----------------------------------------------------------- */

/* iconv's name for a MIME charset label, in name (lower case); NULL when
 * the text is to be read as UTF-8 itself: UTF-8, US-ASCII (8-bit text
 * labelled ASCII, or not at all, is UTF-8 far more often than not), and
 * anything that is not a plain label ("//IGNORE" suffixes, paths). */
static const char *
iconv_name(const char *cs, size_t n, char *name, size_t cap)
{
    static const char *const as_utf8[] = {"utf-8", "utf8", "us-ascii", "ascii", NULL};
    /* As the WHATWG Encoding Standard and mail readers do: Outlook
     * labels its curly quotes (0x91-0x94) ISO-8859-1. */
    static const char *const as_1252[] = {"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1",
                                          "l1", NULL};
    const char *star = memchr(cs, '*', n);  /* RFC 2231's "*language" */
    if (star != NULL)
        n = (size_t)(star - cs);
    if (n == 0 || n >= cap)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = cs[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':' || c == '+';
        if (!ok)
            return NULL;
        name[i] = c;
    }
    name[n] = '\0';
    lower(name);
    for (size_t i = 0; as_utf8[i] != NULL; i++)
        if (strcmp(name, as_utf8[i]) == 0)
            return NULL;
    for (size_t i = 0; as_1252[i] != NULL; i++)
        if (strcmp(name, as_1252[i]) == 0)
            return "CP1252";
    return name;
}

/* A single-byte charset as a table: each byte's UTF-8 (len 0: it does not
 * convert). glibc's iconv costs tens of nanoseconds a call, and a body of
 * bytes that do not convert takes one call each; a table takes none. */
struct sbcs {
    char utf8[256][4];
    unsigned char len[256];
};

/* False when cd's charset is not single-byte: a byte alone is incomplete
 * (multi-byte charsets, escapes) or yields nothing (UTF-7's shifts). */
static bool
single_byte(iconv_t cd, struct sbcs *t)
{
    for (int c = 0; c < 256; c++) {
        char in = (char)c, *ip = &in, *op = t->utf8[c];
        size_t il = 1, ol = sizeof(t->utf8[c]);
        iconv(cd, NULL, NULL, NULL, NULL);
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        if (r == (size_t)-1 && errno == EILSEQ) {
            t->len[c] = 0;
            continue;
        }
        if (r == (size_t)-1 || il != 0 || ol == sizeof(t->utf8[c]))
            return false;
        t->len[c] = (unsigned char)(sizeof(t->utf8[c]) - ol);
    }
    return true;
}

static void
put_table(struct sp_buf *out, const struct sbcs *t, const char *s, size_t n)
{
    sp_buf_reserve(out, n * 4);
    char *o = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (t->len[c] == 0) {
            memcpy(o, FFFD, 3);
            o += 3;
        } else {
            memcpy(o, t->utf8[c], t->len[c]);
            o += t->len[c];
        }
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
}

static void
put_iconv(struct sp_buf *out, iconv_t cd, const char *s, size_t n)
{
    char *in = (char *)s;  /* iconv(3) never writes through it */
    size_t left = n;
    while (left > 0) {
        sp_buf_reserve(out, left + left / 2 + 16);
        char *o = out->data + out->len;
        size_t room = out->cap - out->len - 1;
        size_t r = iconv(cd, &in, &left, &o, &room);
        int err = errno;
        out->len = (size_t)(o - out->data);
        if (r != (size_t)-1 || err == E2BIG)
            continue;
        sp_buf_puts(out, FFFD);
        if (err != EILSEQ)
            break;  /* EINVAL: a sequence cut off by the end */
        in++;
        left--;
    }
    out->data[out->len] = '\0';
}

/* Appends s, in charset cs, as UTF-8 (not yet checked: callers clean).
 * A charset iconv does not know is read as UTF-8; a byte it cannot
 * convert becomes U+FFFD. */
static void
put_utf8(struct sp_buf *out, const char *cs, size_t csn, const char *s, size_t n)
{
    char name[48];
    const char *from = iconv_name(cs, csn, name, sizeof(name));
    iconv_t cd = from != NULL ? iconv_open("UTF-8", from) : (iconv_t)-1;
    if (cd == (iconv_t)-1) {
        sp_buf_append(out, s, n);
        return;
    }
    struct sbcs t;
    if (n >= 4096 && single_byte(cd, &t))  /* the probe costs 256 calls */
        put_table(out, &t, s, n);
    else
        put_iconv(out, cd, s, n);
    iconv_close(cd);
}

/* ---- transfer encodings ------------------------------------------------- */

void
sp_mail_decode_qp(struct sp_arena *a, const char *s, size_t n, char **out, size_t *out_len)
{
    char *o = sp_arena_alloc(a, n + 1);
    size_t k = 0, ws = 0;  /* ws: literal white space that ends o */
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') {
            size_t j = i + 1;
            while (j < n && is_wsp(s[j]))
                j++;
            if (j == n || s[j] == '\n' || s[j] == '\r') {  /* soft line break */
                if (j + 1 < n && s[j] == '\r' && s[j + 1] == '\n')
                    j++;
                i = j;
                ws = 0;
                continue;
            }
            int hi = i + 2 < n ? sp_hex_value(s[i + 1]) : -1;
            int lo = i + 2 < n ? sp_hex_value(s[i + 2]) : -1;
            ws = 0;
            if (hi < 0 || lo < 0) {
                o[k++] = '=';  /* not an escape: kept as written (RFC 2045 §6.7) */
                continue;
            }
            o[k++] = (char)(hi << 4 | lo);
            i += 2;
            continue;
        }
        if (c == '\r' || c == '\n') {
            k -= ws;  /* added in transport, RFC 2045 §6.7 (3) */
            ws = 0;
        } else {
            ws = is_wsp(c) ? ws + 1 : 0;
        }
        o[k++] = c;
    }
    o[k] = '\0';
    *out = o;
    *out_len = k;
}

static int
b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

void
sp_mail_decode_base64(struct sp_arena *a, const char *s, size_t n, char **out,
                      size_t *out_len)
{
    char *o = sp_arena_alloc(a, n / 4 * 3 + 4);
    unsigned acc = 0, bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=') {
            /* padding ends a run: a run concatenated after it starts afresh */
            acc = bits = 0;
            continue;
        }
        int v = b64val(s[i]);
        if (v < 0)
            continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    o[k] = '\0';
    *out = o;
    *out_len = k;
}

/* ---- encoded words (RFC 2047) ------------------------------------------- */

struct word {
    const char *cs, *text;
    size_t csn, textn;
    char enc;    /* 'b' or 'q' */
    size_t end;  /* just past its "?=" */
};

/* An encoded word "=?charset?B|Q?text?=" at v[i]. Neither charset nor
 * text may hold '?' or white space (RFC 2047 §2), so each try stops at
 * the next two '?' and the whole scan of a value stays linear. */
static bool
encoded_word(const char *v, size_t n, size_t i, struct word *w)
{
    if (i + 1 >= n || v[i] != '=' || v[i + 1] != '?')
        return false;
    size_t cs = i + 2, j = cs;
    while (j < n && v[j] != '?' && !sp_ascii_space(v[j]))
        j++;
    if (j == cs || j + 2 >= n || v[j] != '?' || v[j + 2] != '?')
        return false;
    char enc = (char)(v[j + 1] | 0x20);
    if (enc != 'b' && enc != 'q')
        return false;
    size_t text = j + 3, k = text;
    while (k < n && v[k] != '?' && !sp_ascii_space(v[k]))
        k++;
    if (k + 1 >= n || v[k] != '?' || v[k + 1] != '=')
        return false;
    *w = (struct word){v + cs, v + text, j - cs, k - text, enc, k + 2};
    return true;
}

/* Undoes "<esc>XX" escapes: RFC 2047's Q ('=', and '_' for a space) and
 * RFC 2231's percent-encoding ('%'). */
static void
unescape(struct sp_buf *b, const char *s, size_t n, char esc, bool underscore_space)
{
    for (size_t i = 0; i < n; i++) {
        int hi = s[i] == esc && i + 2 < n ? sp_hex_value(s[i + 1]) : -1;
        int lo = hi >= 0 ? sp_hex_value(s[i + 2]) : -1;
        if (lo >= 0) {
            sp_buf_putc(b, (char)(hi << 4 | lo));
            i += 2;
        } else {
            sp_buf_putc(b, s[i] == '_' && underscore_space ? ' ' : s[i]);
        }
    }
}

/* Decoded bytes of adjacent words in one charset, converted together: a
 * character split across two words (RFC 2047 forbids it, encoders do it)
 * then comes out whole. */
struct pending {
    struct sp_buf bytes;
    const char *cs;
    size_t csn;
};

static void
flush_words(struct sp_buf *out, struct pending *p)
{
    if (p->bytes.len > 0)
        put_utf8(out, p->cs, p->csn, p->bytes.data, p->bytes.len);
    p->bytes.len = 0;
    p->bytes.data[0] = '\0';
}

static void
add_word(struct sp_arena *a, struct pending *p, const struct word *w)
{
    if (p->bytes.len > 0 && (p->csn != w->csn || strncasecmp(p->cs, w->cs, w->csn) != 0))
        return;  /* the caller flushes first */
    p->cs = w->cs;
    p->csn = w->csn;
    if (w->enc == 'q') {
        unescape(&p->bytes, w->text, w->textn, '=', true);
        return;
    }
    char *d;
    size_t dn;
    sp_mail_decode_base64(a, w->text, w->textn, &d, &dn);
    sp_buf_append(&p->bytes, d, dn);
}

const char *
sp_mail_decode_words(struct sp_arena *a, const char *v, size_t n)
{
    struct sp_buf out;
    struct pending pend = {.cs = ""};
    sp_buf_init(&out, a, n + 16);
    sp_buf_init(&pend.bytes, a, 64);
    size_t i = 0, lit = 0;  /* lit: where text not yet written starts */
    bool after_word = false;
    const char *eq;
    while (i < n && (eq = memchr(v + i, '=', n - i)) != NULL) {
        struct word w;
        i = (size_t)(eq - v);
        if (!encoded_word(v, n, i, &w)) {
            i++;
            continue;
        }
        if (!after_word || !sp_ascii_only(v + lit, i - lit, SP_ASCII_SPACE)) {
            flush_words(&out, &pend);
            sp_buf_append(&out, v + lit, i - lit);
        }
        if (pend.bytes.len > 0 &&
            (pend.csn != w.csn || strncasecmp(pend.cs, w.cs, w.csn) != 0))
            flush_words(&out, &pend);
        add_word(a, &pend, &w);
        after_word = true;
        i = lit = w.end;
    }
    flush_words(&out, &pend);
    sp_buf_append(&out, v + lit, n - lit);
    return sp_utf8_clean(a, out.data, out.len, SP_UTF8_LINE);
}

/* ---- header blocks ------------------------------------------------------ */

struct hdr {
    const char *name;   /* from the table of wanted names */
    const char *value;  /* unfolded, controls made spaces, trimmed */
};

struct hdrs {
    struct hdr *v;
    size_t n, cap;
};

static const char *const top_names[] = {
    "from", "to", "cc", "delivered-to", "x-original-to", "subject", "date", "message-id",
    "in-reply-to", "references", "auto-submitted", "precedence", "x-autoreply",
    "x-autorespond", "list-id", "authentication-results", "x-loop",
    "x-ms-exchange-inbox-rules-loop", "return-path",
    "content-type", "content-transfer-encoding", "content-disposition", NULL,
};
static const char *const part_names[] = {
    "content-type", "content-transfer-encoding", "content-disposition", NULL,
};

static const char *
hget(const struct hdrs *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].name, name) == 0)
            return h->v[i].value;
    return NULL;
}

/* Unfolding drops the line ends (RFC 5322 §2.2.3); every other control
 * becomes a space, so values are NUL-free C strings. */
static void
unfold(struct sp_buf *val, const char *s, size_t n)
{
    size_t from = val->len;
    sp_buf_append(val, s, n);
    for (size_t i = from; i < val->len; i++)
        if (sp_ascii_control(val->data[i]))
            val->data[i] = ' ';
}

static void
keep_header(struct sp_arena *a, struct hdrs *h, const char *name, struct sp_buf *val)
{
    const char *s = val->data;
    size_t n = val->len;
    while (n > 0 && s[0] == ' ') {
        s++;
        n--;
    }
    while (n > 0 && s[n - 1] == ' ')
        n--;
    h->v = sp_arena_grow(a, h->v, h->n, &h->cap, sizeof(*h->v), 16);
    h->v[h->n++] = (struct hdr){name, sp_arena_strndup(a, s, n)};
}

/* The first line s[0..n) of a field: its name when names wants it (and,
 * unless many, it is the first of that name), its value started in val. */
static const char *
field_start(struct sp_arena *a, const char *s, size_t n, const char *const *names, bool many,
            const struct hdrs *h, struct sp_buf *val)
{
    const char *colon = memchr(s, ':', n);
    if (colon == NULL)
        return NULL;  /* an mbox "From " line, or junk */
    size_t at = (size_t)(colon - s), nn = at;
    while (nn > 0 && is_wsp(s[nn - 1]))
        nn--;
    for (size_t i = 0; i < nn; i++)
        if (s[i] <= ' ' || s[i] >= 0x7f)
            return NULL;
    for (size_t i = 0; names[i] != NULL; i++) {
        if (strlen(names[i]) != nn || strncasecmp(s, names[i], nn) != 0)
            continue;
        if (!many && hget(h, names[i]) != NULL)
            return NULL;
        sp_buf_init(val, a, n - at + 16);
        unfold(val, s + at + 1, n - at - 1);
        return names[i];
    }
    return NULL;
}

/* Reads the header block at the start of s, up to its first empty line,
 * keeping the fields names lists: all of them when many, else the first
 * of each. Returns where the body starts (n when no line is empty), or
 * SIZE_MAX when the block is longer than limit. */
static size_t
read_headers(struct sp_arena *a, const char *s, size_t n, const char *const *names, bool many,
             size_t limit, struct hdrs *h)
{
    const char *name = NULL;  /* the field being unfolded, when kept */
    struct sp_buf val = {0};
    size_t i = 0, body = SIZE_MAX;
    while (i < n && i <= limit) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t next = nl != NULL ? (size_t)(nl - s) + 1 : n;
        size_t end = nl != NULL ? next - 1 : n;
        if (end > i && s[end - 1] == '\r')
            end--;
        if (end == i) {
            body = next;
            break;
        }
        if (is_wsp(s[i])) {
            if (name != NULL)
                unfold(&val, s + i, end - i);
        } else {
            if (name != NULL)
                keep_header(a, h, name, &val);
            name = field_start(a, s + i, end - i, names, many, h, &val);
        }
        i = next;
    }
    if (body == SIZE_MAX && i > limit)
        return SIZE_MAX;
    if (name != NULL)
        keep_header(a, h, name, &val);
    return body == SIZE_MAX ? n : body;
}

/* ---- MIME parameters ---------------------------------------------------- */

enum cte { CTE_IDENTITY, CTE_QP, CTE_BASE64 };

struct part {
    const char *type;      /* "text/plain", lower case */
    const char *boundary;  /* NULL when none */
    const char *charset;   /* NULL when none */
    enum cte cte;
    bool attachment;
    const char *filename;  /* Content-Disposition filename, else Content-Type name */
};

/* The value's first word (up to ';', white space or a comment), lower
 * case. */
static const char *
lead_token(struct sp_arena *a, const char *v)
{
    size_t n = 0;
    while (v[n] != '\0' && v[n] != ';' && v[n] != '(' && !sp_ascii_space(v[n]))
        n++;
    char *t = sp_arena_strndup(a, v, n);
    lower(t);
    return t;
}

/* p at a '"': past the quoted string's end, into b when not NULL. */
static const char *
quoted_string(const char *p, struct sp_buf *b)
{
    for (p++; *p != '\0' && *p != '"'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        if (b != NULL)
            sp_buf_putc(b, *p);
    }
    return *p == '"' ? p + 1 : p;
}

/* One parameter of a Content-Type or Content-Disposition value (RFC 2045
 * §5.1), the next after *pp: its name (not NUL-terminated) and its value
 * unquoted, arena-owned. false past the last. */
struct mparam {
    const char *name, *value;
    size_t name_len, len;
};

static bool
next_param(struct sp_arena *a, const char **pp, struct mparam *out)
{
    const char *p = *pp;
    for (;;) {
        while (*p != '\0' && *p != ';')
            p = *p == '"' ? quoted_string(p, NULL) : p + 1;
        if (*p == '\0') {
            *pp = p;
            return false;
        }
        for (p++; sp_ascii_space(*p); p++)
            ;
        const char *name = p;
        while (*p != '\0' && *p != '=' && *p != ';' && !sp_ascii_space(*p))
            p++;
        size_t name_len = (size_t)(p - name);
        while (sp_ascii_space(*p))
            p++;
        if (*p != '=')
            continue;
        for (p++; sp_ascii_space(*p); p++)
            ;
        struct sp_buf b;
        sp_buf_init(&b, a, 32);
        if (*p == '"') {
            p = quoted_string(p, &b);
        } else {
            const char *s = p;
            while (*p != '\0' && *p != ';' && !sp_ascii_space(*p))
                p++;
            sp_buf_append(&b, s, (size_t)(p - s));
        }
        *out = (struct mparam){name, b.data, name_len, b.len};
        *pp = p;
        return true;
    }
}

/* Parameter attr, unquoted; NULL when absent or empty. RFC 2231's
 * "attr*" and "attr*0" are other names here: passed over, never misread. */
static const char *
param(struct sp_arena *a, const char *v, const char *attr)
{
    size_t an = strlen(attr);
    struct mparam m;
    while (next_param(a, &v, &m))
        if (m.name_len == an && strncasecmp(m.name, attr, an) == 0)
            return m.len > 0 ? m.value : NULL;
    return NULL;
}

/* ---- file names --------------------------------------------------------- */

#define NAME_SEGMENTS 32

struct segment {
    const char *s;
    size_t n;
    bool extended;   /* "attr*N*": percent-encoded, in the first one's charset */
};

/* Which RFC 2231 piece of attr name is: "attr*" is piece 0, extended;
 * "attr*N" and "attr*N*" piece N (no leading zeros). -1: another name. */
static int
segment_of(const struct mparam *m, const char *attr, size_t an, bool *extended)
{
    if (m->name_len <= an || strncasecmp(m->name, attr, an) != 0 || m->name[an] != '*')
        return -1;
    const char *d = m->name + an + 1, *end = m->name + m->name_len, *digits = d;
    *extended = true;
    if (d == end)
        return 0;
    int k = 0;
    while (d < end && *d >= '0' && *d <= '9' && k < NAME_SEGMENTS)
        k = k * 10 + (*d++ - '0');
    size_t nd = (size_t)(d - digits);
    *extended = d < end && *d == '*';
    if (nd == 0 || (nd > 1 && digits[0] == '0') || k >= NAME_SEGMENTS ||
        d + (*extended ? 1 : 0) != end)
        return -1;
    return k;
}

/* The pieces 0, 1, ... joined (a missing one ends the name), as UTF-8:
 * extended pieces are percent-decoded, and the first one's
 * "charset'language'" prefix names the charset of them all. */
static const char *
join_segments(struct sp_arena *a, const struct segment *seg)
{
    struct sp_buf raw, out;
    sp_buf_init(&raw, a, 64);
    const char *cs = "";
    size_t csn = 0;
    for (int k = 0; k < NAME_SEGMENTS && seg[k].s != NULL; k++) {
        const char *s = seg[k].s;
        size_t n = seg[k].n;
        if (k == 0 && seg[0].extended) {
            const char *q1 = memchr(s, '\'', n);
            const char *q2 = q1 != NULL ? memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s)) : NULL;
            if (q2 != NULL) {
                cs = s;
                csn = (size_t)(q1 - s);
                n -= (size_t)(q2 + 1 - s);
                s = q2 + 1;
            }
        }
        if (seg[k].extended)
            unescape(&raw, s, n, '%', false);
        else
            sp_buf_append(&raw, s, n);
    }
    sp_buf_init(&out, a, raw.len + 16);
    put_utf8(&out, cs, csn, raw.data, raw.len);
    return sp_utf8_clean(a, out.data, out.len, SP_UTF8_LINE);
}

/* A name a file can have: its last path component (a sender's
 * "C:\\x\\a.pdf" or "../a.pdf" is "a.pdf"), blanks trimmed, at most
 * SP_MAIL_FILENAME_MAX bytes (whole characters, the extension kept when
 * it is short); NULL when nothing is left, or only "." or "..". */
static const char *
file_name(struct sp_arena *a, const char *name)
{
    for (const char *c = name; *c != '\0'; c++)
        if (*c == '/' || *c == '\\')
            name = c + 1;
    while (*name == ' ')
        name++;
    size_t n = strlen(name);
    while (n > 0 && name[n - 1] == ' ')
        n--;
    if (n == 0 || (n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
        return NULL;
    if (n <= SP_MAIL_FILENAME_MAX)
        return sp_arena_strndup(a, name, n);
    const char *dot = memrchr(name, '.', n);
    size_t ext = dot != NULL && n - (size_t)(dot - name) <= 16 ? n - (size_t)(dot - name) : 0;
    size_t keep = SP_MAIL_FILENAME_MAX - ext;
    while (keep > 0 && ((unsigned char)name[keep] & 0xc0) == 0x80)
        keep--;   /* not into a character */
    char *out = sp_arena_alloc(a, keep + ext + 1);
    memcpy(out, name, keep);
    memcpy(out + keep, name + n - ext, ext);
    out[keep + ext] = '\0';
    return out;
}

/* The name parameter attr ("filename", "name") of a header value, with
 * RFC 2231's pieces and charsets; a plain value may hold RFC 2047 words
 * (against the RFC, as most mail programs write it). NULL when none. */
static const char *
param_file_name(struct sp_arena *a, const char *v, const char *attr)
{
    struct segment seg[NAME_SEGMENTS] = {{0}};
    const char *plain = NULL;
    size_t an = strlen(attr), plain_len = 0;
    struct mparam m;
    while (next_param(a, &v, &m)) {
        bool ext;
        int k = segment_of(&m, attr, an, &ext);
        if (k >= 0 && seg[k].s == NULL)
            seg[k] = (struct segment){m.value, m.len, ext};
        else if (k < 0 && plain == NULL && m.name_len == an && strncasecmp(m.name, attr, an) == 0)
            plain = m.value, plain_len = m.len;
    }
    const char *name = seg[0].s != NULL ? join_segments(a, seg)
                       : plain != NULL  ? sp_mail_decode_words(a, plain, plain_len)
                                        : NULL;
    return name != NULL ? file_name(a, name) : NULL;
}

/* "type/subtype", each an RFC 2045 token (lower case by now). */
static bool
type_ok(const char *t)
{
    static const char token[] = "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`{|}~";
    size_t a = strspn(t, token);
    return a > 0 && t[a] == '/' && t[a + 1] != '\0' && t[a + 1 + strspn(t + a + 1, token)] == '\0';
}

/* A part's headers read as RFC 2045 says: no or an unusable Content-Type
 * is text/plain (message/rfc822 in a multipart/digest, RFC 2046 §5.1.5);
 * a multipart without a boundary cannot be split, so it is that too. */
static void
part_info(struct sp_arena *a, const struct hdrs *h, bool digest, struct part *pt)
{
    const char *ct = hget(h, "content-type");
    *pt = (struct part){.type = digest ? "message/rfc822" : "text/plain"};
    if (ct != NULL) {
        const char *t = lead_token(a, ct);
        if (type_ok(t))
            pt->type = t;
        pt->charset = param(a, ct, "charset");
        if (strncmp(pt->type, "multipart/", 10) == 0) {
            pt->boundary = param(a, ct, "boundary");
            if (pt->boundary == NULL)
                pt->type = "text/plain";
        }
    }
    const char *cte = hget(h, "content-transfer-encoding");
    const char *e = cte != NULL ? lead_token(a, cte) : "";
    pt->cte = strcmp(e, "quoted-printable") == 0 ? CTE_QP
              : strcmp(e, "base64") == 0         ? CTE_BASE64
                                                 : CTE_IDENTITY;
    const char *cd = hget(h, "content-disposition");
    pt->attachment = cd != NULL && strcmp(lead_token(a, cd), "attachment") == 0;
    if (cd != NULL)
        pt->filename = param_file_name(a, cd, "filename");
    if (pt->filename == NULL && ct != NULL)
        pt->filename = param_file_name(a, ct, "name");
}

/* ---- the MIME tree ------------------------------------------------------ */

enum kind { KIND_OTHER, KIND_PLAIN, KIND_HTML };

struct leaf {
    const char *body;
    size_t n;
    struct part pt;
    enum kind kind;
    bool in_alt;  /* under a multipart/alternative: one form of the text */
};

/* The first SP_MAIL_MAX_PARTS parts are kept as leaves; the parts after
 * them are still walked, but only counted (their headers read in a
 * scratch arena per depth, reset after each part, so a mail of a million
 * parts costs one scan per level, not a million part records), except
 * the first text/plain and text/html, one of which may be the text. */
struct walk {
    struct sp_arena *a;
    struct leaf leaf[SP_MAIL_MAX_PARTS];
    size_t nleaf;
    size_t nodes;                  /* parts visited, containers included */
    struct leaf late_plain, late_html;  /* .body NULL: none */
    size_t nlate_files;            /* leaves after the cap that are files */
    bool too_deep;                 /* a multipart nested over SP_MAIL_MAX_DEPTH */
    struct sp_arena scratch[SP_MAIL_MAX_DEPTH + 1];  /* by depth, for parts after the cap */
};

static void walk_part(struct walk *w, const char *s, size_t n, const struct part *pt, int depth,
                      bool in_alt);

static enum kind
leaf_kind(const struct part *pt)
{
    if (!pt->attachment && strcmp(pt->type, "text/plain") == 0)
        return KIND_PLAIN;
    if (!pt->attachment && strcmp(pt->type, "text/html") == 0)
        return KIND_HTML;
    return KIND_OTHER;
}

/* The other forms of the text (text parts under a multipart/alternative)
 * are not files; every other leaf but the text is. */
static bool
is_file(const struct leaf *l)
{
    return !(l->in_alt && l->kind != KIND_OTHER);
}

/* A leaf after the cap: counted; kept (its strings copied out of the
 * scratch arena) when it is the first of its kind that may be the text. */
static void
late_leaf(struct walk *w, const char *s, size_t n, const struct part *pt, bool in_alt)
{
    struct leaf l = {s, n, *pt, leaf_kind(pt), in_alt};
    if (is_file(&l))
        w->nlate_files++;
    struct leaf *keep = l.kind == KIND_PLAIN ? &w->late_plain
                        : l.kind == KIND_HTML ? &w->late_html
                                              : NULL;
    if (keep == NULL || keep->body != NULL)
        return;
    l.pt.type = sp_arena_strdup(w->a, pt->type);
    l.pt.charset = pt->charset != NULL ? sp_arena_strdup(w->a, pt->charset) : NULL;
    l.pt.filename = pt->filename != NULL ? sp_arena_strdup(w->a, pt->filename) : NULL;
    l.pt.boundary = NULL;
    *keep = l;
}

/* One body part of a multipart: its own headers, then its body. A part
 * after the cap is read in the scratch arena of its depth, reset once
 * it (and all it holds) has been walked. */
static void
child(struct walk *w, const char *s, size_t n, bool digest, int depth, bool in_alt)
{
    bool late = w->nodes >= SP_MAIL_MAX_PARTS;
    struct sp_arena *a = late ? &w->scratch[depth] : w->a;
    struct hdrs h = {0};
    size_t body = read_headers(a, s, n, part_names, false, n, &h);
    struct part pt;
    part_info(a, &h, digest, &pt);
    walk_part(w, s + body, n - body, &pt, depth, in_alt);
    if (late)
        sp_arena_reset(a);
}

/* What line l[0..n) is for boundary b: 0 text, 1 the delimiter "--b",
 * 2 the close delimiter "--b--" (white space may follow, RFC 2046
 * §5.1.1). */
static int
delimiter(const char *l, size_t n, const char *b, size_t bn)
{
    if (n < bn + 2 || l[0] != '-' || l[1] != '-' || memcmp(l + 2, b, bn) != 0)
        return 0;
    size_t i = bn + 2;
    int kind = 1;
    if (i + 1 < n && l[i] == '-' && l[i + 1] == '-') {
        kind = 2;
        i += 2;
    }
    while (i < n && sp_ascii_space(l[i]))
        i++;
    return i == n ? kind : 0;
}

/* The line end before a delimiter is part of it (RFC 2046 §5.1.1). */
static size_t
content_end(const char *s, size_t start, size_t i)
{
    if (i > start && s[i - 1] == '\n')
        i--;
    if (i > start && s[i - 1] == '\r')
        i--;
    return i;
}

static void
split(struct walk *w, const char *s, size_t n, const struct part *pt, int depth, bool in_alt)
{
    bool alt = in_alt || strcmp(pt->type, "multipart/alternative") == 0;
    bool digest = strcmp(pt->type, "multipart/digest") == 0;
    size_t bn = strlen(pt->boundary), start = SIZE_MAX, i = 0;
    while (i < n && !w->too_deep) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t next = nl != NULL ? (size_t)(nl - s) + 1 : n;
        int d = delimiter(s + i, next - i, pt->boundary, bn);
        if (d != 0) {
            if (start != SIZE_MAX)
                child(w, s + start, content_end(s, start, i) - start, digest, depth + 1, alt);
            if (d == 2)
                return;
            start = next;
        }
        i = next;
    }
    if (start != SIZE_MAX && !w->too_deep)  /* never closed: runs to the end */
        child(w, s + start, n - start, digest, depth + 1, alt);
}

/* A multipart nested deeper than the limit is not read at all: the walk
 * stops, and the mail is refused (its text could be in there). */
static void
walk_part(struct walk *w, const char *s, size_t n, const struct part *pt, int depth,
          bool in_alt)
{
    if (w->too_deep)
        return;
    w->nodes++;
    if (pt->boundary != NULL && depth >= SP_MAIL_MAX_DEPTH)
        w->too_deep = true;
    else if (pt->boundary != NULL)
        split(w, s, n, pt, depth, in_alt);
    else if (w->nleaf < SP_MAIL_MAX_PARTS && w->nodes <= SP_MAIL_MAX_PARTS)
        w->leaf[w->nleaf++] = (struct leaf){s, n, *pt, leaf_kind(pt), in_alt};
    else
        late_leaf(w, s, n, pt, in_alt);
}

/* The first leaf of kind, among the kept ones, else after the cap. */
static const struct leaf *
first_leaf(const struct walk *w, enum kind kind)
{
    for (size_t i = 0; i < w->nleaf; i++)
        if (w->leaf[i].kind == kind)
            return &w->leaf[i];
    const struct leaf *late = kind == KIND_PLAIN ? &w->late_plain : &w->late_html;
    return late->body != NULL ? late : NULL;
}

/* A leaf's bytes with its transfer encoding undone. */
static const char *
leaf_bytes(struct sp_arena *a, const struct leaf *l, size_t *n)
{
    char *dec = NULL;
    *n = l->n;
    if (l->pt.cte == CTE_QP)
        sp_mail_decode_qp(a, l->body, l->n, &dec, n);
    else if (l->pt.cte == CTE_BASE64)
        sp_mail_decode_base64(a, l->body, l->n, &dec, n);
    return dec != NULL ? dec : l->body;
}

/* The leaf's text; in *whole the same with the quoted history an HTML
 * leaf marks kept, from the same parse (a text/plain leaf's is its
 * text). */
static const char *
leaf_text(struct sp_arena *a, const struct leaf *l, const char **whole)
{
    size_t n;
    const char *bytes = leaf_bytes(a, l, &n);
    struct sp_buf u;
    sp_buf_init(&u, a, n + 16);
    const char *cs = l->pt.charset != NULL ? l->pt.charset : "";
    put_utf8(&u, cs, strlen(cs), bytes, n);
    if (l->kind == KIND_HTML) {
        struct sp_mail_html_texts t;
        sp_mail_html_read(a, u.data, u.len, &t);
        *whole = t.whole;
        return t.reply;
    }
    return *whole = sp_utf8_clean(a, u.data, u.len, SP_UTF8_TEXT);
}

/* The text: the first text/plain that is no attachment, else (or when
 * that one is blank: mailers that send the words only in their HTML
 * alternative, as Zammad and Zendesk read them; blank as a stored body
 * is empty, sp_sanitize_has_visible: white space, controls, invisible
 * characters; its NULs are already dropped) the first such
 * text/html; every other leaf that is a file (is_file) is one of
 * out->files (decoded: the output of a decoder is never longer than its
 * input), or counted in nfiles_over when it came after the cap. */
static void
take_leaves(struct sp_arena *a, const struct walk *w, struct sp_mail_in *out)
{
    const struct leaf *body = first_leaf(w, KIND_PLAIN);
    const struct leaf *html = first_leaf(w, KIND_HTML);
    const char *whole = NULL;
    const char *text = body != NULL ? leaf_text(a, body, &whole) : NULL;
    if (html != NULL && (body == NULL || !sp_sanitize_has_visible(text, strlen(text)))) {
        body = html;
        text = NULL;
    }
    out->files = sp_arena_calloc(a, w->nleaf + 1, sizeof(*out->files));
    for (size_t i = 0; i < w->nleaf; i++) {
        const struct leaf *l = &w->leaf[i];
        if (l == body || !is_file(l))
            continue;
        struct sp_mail_file *f = &out->files[out->nfiles++];
        f->filename = l->pt.filename;
        f->content_type = l->pt.type;
        f->data = leaf_bytes(a, l, &f->len);
    }
    out->nfiles_over = w->nlate_files;
    if (body != NULL && (body == &w->late_plain || body == &w->late_html) && is_file(body))
        out->nfiles_over--;   /* counted as a file, but it is the text */
    if (body != NULL) {
        out->text = text != NULL ? text : leaf_text(a, body, &whole);
        out->text_whole = whole;
        out->text_from_html = body->kind == KIND_HTML;
    }
}

/* ---- delivery status notifications (RFC 3464) --------------------------- */

static const char *msg_id(struct sp_arena *a, const char *v);

/* A Final-Recipient or Original-Recipient value "rfc822; addr": its
 * addr-spec (brackets some MTAs add dropped), NULL for another address
 * type or none. */
static const char *
dsn_address(struct sp_arena *a, const char *v)
{
    const char *semi = strchr(v, ';');
    if (semi == NULL || strcmp(lead_token(a, v), "rfc822") != 0)
        return NULL;
    const char *s = semi + 1, *e = s + strlen(s);
    sp_ascii_trim(&s, &e);
    if (e - s >= 2 && *s == '<' && e[-1] == '>')
        s++, e--;
    return e > s ? sp_utf8_clean(a, s, (size_t)(e - s), SP_UTF8_LINE) : NULL;
}

/* A Status value (RFC 3464: an RFC 3463 code, maybe a comment after it)
 * whose class is 5, permanent failure: "5.1.1", " 5.0.0 (unknown user)". */
static bool
status_permanent(const char *v)
{
    if (v == NULL)
        return false;
    while (*v == ' ' || *v == '\t')
        v++;
    return v[0] == '5' && v[1] == '.';
}

/* The RFC 3463 code a Status value starts with ("5.1.1" of " 5.1.1
 * (unknown user)"): class 2, 4 or 5, subject and detail of 1-3 digits,
 * then the end, a blank or a comment; NULL otherwise. Only the code is
 * kept: the rest is the remote MTA's text. */
static const char *
status_code(struct sp_arena *a, const char *v)
{
    if (v == NULL)
        return NULL;
    v += strspn(v, " \t");
    if (v[0] != '2' && v[0] != '4' && v[0] != '5')
        return NULL;
    size_t n = 1;
    for (int part = 0; part < 2; part++) {
        size_t digits = v[n] == '.' ? strspn(v + n + 1, "0123456789") : 0;
        if (digits == 0 || digits > 3)
            return NULL;
        n += 1 + digits;
    }
    if (v[n] != '\0' && v[n] != ' ' && v[n] != '\t' && v[n] != '(')
        return NULL;
    return sp_arena_strndup(a, v, n);
}

/* The per-recipient blocks of a message/delivery-status body (blocks of
 * fields between blank lines; the first is the per-message one, which
 * names no recipient): the addresses of each whose Action is failed. */
static void
dsn_fields(struct sp_arena *a, const char *s, size_t n, struct sp_mail_dsn *d)
{
    static const char *const names[] = {"action", "final-recipient", "original-recipient",
                                        "status", NULL};
    size_t pos = 0;
    while (pos < n) {
        struct hdrs h = {0};
        size_t body = read_headers(a, s + pos, n - pos, names, true, n - pos, &h);
        const char *action = hget(&h, "action");
        if (action != NULL && strcmp(lead_token(a, action), "failed") == 0) {
            d->failed = true;
            const char *status = hget(&h, "status");
            for (size_t k = 1; k <= 2; k++) {
                const char *v = hget(&h, names[k]);
                const char *addr = v != NULL ? dsn_address(a, v) : NULL;
                if (addr != NULL && d->nfailed_to < SP_MAIL_DSN_RECIPIENTS) {
                    d->failed_hard[d->nfailed_to] = status_permanent(status);
                    d->status[d->nfailed_to] = status_code(a, status);
                    d->failed_to[d->nfailed_to++] = addr;
                }
            }
        }
        if (body == 0 || body >= n - pos)
            break;
        pos += body;
    }
}

static bool
type_in(const char *type, const char *const *types)
{
    for (size_t i = 0; types[i] != NULL; i++)
        if (strcmp(type, types[i]) == 0)
            return true;
    return false;
}

/* A DSN's recipients and the Message-ID of the mail it returns, from its
 * first status part and its first returned mail (or headers). */
static void
read_dsn(struct sp_arena *a, const struct walk *w, struct sp_mail_dsn *d)
{
    static const char *const status[] = {"message/delivery-status",
                                         "message/global-delivery-status", NULL};
    static const char *const returned[] = {"message/rfc822", "text/rfc822-headers",
                                           "message/global", "message/global-headers", NULL};
    static const char *const id_name[] = {"message-id", NULL};
    bool seen_status = false;
    d->is_dsn = true;
    for (size_t i = 0; i < w->nleaf; i++) {
        const struct leaf *l = &w->leaf[i];
        size_t n;
        if (!seen_status && type_in(l->pt.type, status)) {
            const char *bytes = leaf_bytes(a, l, &n);
            dsn_fields(a, bytes, n, d);
            seen_status = true;
        } else if (d->original_id == NULL && type_in(l->pt.type, returned)) {
            const char *bytes = leaf_bytes(a, l, &n);
            struct hdrs h = {0};
            read_headers(a, bytes, n, id_name, false, SP_MAIL_MAX_HEADER_BYTES, &h);
            d->original_id = msg_id(a, hget(&h, "message-id"));
        }
    }
}

/* multipart/report; report-type=delivery-status (RFC 3464, RFC 6533). */
static bool
is_dsn(struct sp_arena *a, const struct hdrs *h, const struct part *pt)
{
    if (strcmp(pt->type, "multipart/report") != 0)
        return false;
    const char *rt = param(a, hget(h, "content-type"), "report-type");
    return rt != NULL && (strcasecmp(rt, "delivery-status") == 0 ||
                          strcasecmp(rt, "global-delivery-status") == 0);
}

static enum sp_rc
read_body(struct sp_arena *a, const char *s, size_t n, const struct hdrs *h,
          struct sp_mail_in *out, struct sp_problem *p)
{
    struct walk *w = sp_arena_calloc(a, 1, sizeof(*w));
    struct part pt;
    w->a = a;
    for (size_t i = 0; i <= SP_MAIL_MAX_DEPTH; i++)
        sp_arena_init(&w->scratch[i], 4096);
    part_info(a, h, false, &pt);
    walk_part(w, s, n, &pt, 0, false);
    for (size_t i = 0; i <= SP_MAIL_MAX_DEPTH; i++)
        sp_arena_destroy(&w->scratch[i]);
    if (w->too_deep) {
        out->refused_why = "nested_too_deep";
        return sp_problem_set(p, SP_INVALID, "bad_message",
                              "MIME parts nested more than %d deep: the mail cannot be read",
                              SP_MAIL_MAX_DEPTH);
    }
    take_leaves(a, w, out);
    if (is_dsn(a, h, &pt))
        read_dsn(a, w, &out->dsn);
    return SP_OK;
}

/* ---- the message -------------------------------------------------------- */

/* The first msg-id of a Message-ID or In-Reply-To value, without its
 * brackets or white space; an id without brackets is taken as written. */
static const char *
msg_id(struct sp_arena *a, const char *v)
{
    if (v == NULL)
        return NULL;
    const char *s = strchr(v, '<'), *e = NULL;
    if (s != NULL)
        e = strchr(s + 1, '>');
    if (e != NULL) {
        s++;
    } else {
        s = s != NULL ? s + 1 : v;
        while (sp_ascii_space(*s))
            s++;
        for (e = s; *e != '\0' && !sp_ascii_space(*e) && *e != '>'; e++)
            ;
    }
    struct sp_buf b;
    sp_buf_init(&b, a, (size_t)(e - s) + 1);
    for (; s < e; s++)
        if (!sp_ascii_space(*s))
            sp_buf_putc(&b, *s);
    return b.len > 0 ? sp_utf8_clean(a, b.data, b.len, SP_UTF8_LINE) : NULL;
}

/* One msg-id's text s[0..e) as UTF-8, white space (folding, obsolete
 * CFWS inside the brackets) and controls (which cleaning makes spaces)
 * dropped; NULL when nothing, or more than SP_MAIL_MSG_ID_MAX bytes, is
 * left. */
static const char *
id_text(struct sp_arena *a, const char *s, const char *e)
{
    char *id = sp_utf8_clean(a, s, (size_t)(e - s), SP_UTF8_LINE);
    size_t n = 0;
    for (const char *c = id; *c != '\0'; c++)
        if (!sp_ascii_space(*c))
            id[n++] = *c;
    id[n] = '\0';
    return n > 0 && n <= SP_MAIL_MSG_ID_MAX ? id : NULL;
}

/* One pass: a comment's nesting is a counter, a quoted string a flag, a
 * quoted-pair skips the byte it escapes; each '<' outside them opens an
 * id that the next '>' closes (another '<' first starts it again). */
size_t
sp_mail_msg_ids(struct sp_arena *a, const char *v, const char **out, size_t max)
{
    size_t n = 0, depth = 0;
    bool quoted = false;
    for (const char *s = v; s != NULL && *s != '\0' && n < max; s++) {
        if (*s == '\\' && (quoted || depth > 0)) {
            if (*++s == '\0')
                break;
        } else if (quoted) {
            quoted = *s != '"';
        } else if (*s == '(') {
            depth++;
        } else if (depth > 0) {
            depth -= *s == ')';
        } else if (*s == '"') {
            quoted = true;
        } else if (*s == '<') {
            const char *e = strpbrk(s + 1, "<>");
            if (e == NULL)
                break;
            if (*e == '>' && (out[n] = id_text(a, s + 1, e)) != NULL)
                n++;
            s = e - (*e == '<');
        }
    }
    return n;
}

/* RFC 3834 and the headers mass mailers and vacation programs write. */
static bool
auto_reply(struct sp_arena *a, const struct hdrs *h)
{
    static const char *const bulk[] = {"bulk", "junk", "list", "auto_reply", NULL};
    const char *v = hget(h, "auto-submitted");
    if (v != NULL && strcmp(lead_token(a, v), "no") != 0)
        return true;
    v = hget(h, "precedence");
    if (v != NULL) {
        const char *t = lead_token(a, v);
        for (size_t i = 0; bulk[i] != NULL; i++)
            if (strcmp(t, bulk[i]) == 0)
                return true;
    }
    /* a loop's marks: procmail, mailing lists and ticket systems write
     * X-Loop, Exchange's inbox rules their own (QA: answered) */
    return hget(h, "x-autoreply") != NULL || hget(h, "x-autorespond") != NULL ||
           hget(h, "list-id") != NULL || hget(h, "x-loop") != NULL ||
           hget(h, "x-ms-exchange-inbox-rules-loop") != NULL;
}

/* Return-Path: <>, the delivering MTA's note of an empty envelope
 * sender (a bounce or an auto mail), blanks allowed inside. */
static bool
null_return_path(const struct hdrs *h)
{
    const char *v = hget(h, "return-path");
    if (v == NULL)
        return false;
    v += strspn(v, " \t");
    if (*v++ != '<')
        return false;
    v += strspn(v, " \t");
    return *v == '>';
}

/* Every Authentication-Results value, top first: which of them counts
 * is core/auth_results' to say. */
static void
auth_results(struct sp_arena *a, const struct hdrs *h, struct sp_mail_in *out)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += strcmp(h->v[i].name, "authentication-results") == 0;
    out->auth_results = sp_arena_alloc(a, (n > 0 ? n : 1) * sizeof(*out->auth_results));
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].name, "authentication-results") == 0)
            out->auth_results[out->nauth_results++] = h->v[i].value;
}

static void
recipients(struct sp_arena *a, const struct hdrs *h, struct sp_mail_in *out)
{
    static const char *const names[] = {"to", "cc", "delivered-to", "x-original-to"};
    struct sp_mailboxes k = {.max = SP_MAIL_MAX_RECIPIENTS};
    k.list = sp_arena_alloc(a, SP_MAIL_MAX_RECIPIENTS * sizeof(*k.list));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        for (size_t j = 0; j < h->n && !k.done; j++)
            if (strcmp(h->v[j].name, names[i]) == 0)
                sp_mailboxes_read(a, h->v[j].value, &k);
    out->recipients = k.list;
    out->nrecipients = k.n;
}

/* A NUL, or a CR that ends no line, in the header block s[0..n): a
 * reader that ends a line there (or a string, at the NUL) sees other
 * headers than we do, which unfold into spaces: "From: eve@evil\rFrom:
 * c3@ours" was one From of eve for DMARC and one of c3 for us (QA).
 * Mail programs write neither. NULL when there is none. */
static const char *
header_bytes_bad(const char *s, size_t n)
{
    if (memchr(s, '\0', n) != NULL)
        return "nul_in_header";
    for (const char *cr = memchr(s, '\r', n); cr != NULL;
         cr = memchr(cr + 1, '\r', n - (size_t)(cr + 1 - s)))
        if ((size_t)(cr + 1 - s) == n || cr[1] != '\n')
            return "bare_cr_in_header";
    return NULL;
}

/* The mail's one From with one mailbox (RFC 5322 §3.6: exactly one From;
 * a From of more mailboxes needs a Sender, and DMARC receivers reject it,
 * RFC 7489 §6.6.1), else refused (out->refused_why says why). A mail with
 * two Froms, or two addresses in one, may be checked by DMARC for one of
 * them and read by us as the other. */
static enum sp_rc
read_from(struct sp_arena *a, const struct hdrs *h, struct sp_mail_in *out,
          struct sp_problem *p)
{
    enum { ONE, NONE, TWO_FROMS, TWO_MAILBOXES, NO_ADDRESS };
    static const char *const why[] = {NULL, "no_from", "more_than_one_from",
                                      "from_not_one_mailbox", "no_address_in_from"};
    static const char *const detail[] = {
        NULL, "no From header", "more than one From header: a mail has one",
        "more than one address in From: write from one address", "no address in From"};
    const char *from = NULL, *list[2] = {NULL, NULL};
    size_t nfrom = 0;
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].name, "from") == 0 && nfrom++ == 0)
            from = h->v[i].value;
    struct sp_mailboxes k = {.list = list, .max = 2};
    if (from != NULL)
        sp_mailboxes_read(a, from, &k);
    int r = from == NULL                ? NONE
            : nfrom > 1                 ? TWO_FROMS
            : k.n > 1 || k.ambiguous    ? TWO_MAILBOXES
            : k.n == 0                  ? NO_ADDRESS
                                        : ONE;
    if (r == ONE) {
        out->from_addr = list[0];
        out->from_name = k.name;
        return SP_OK;
    }
    out->refused_why = why[r];
    return sp_problem_set(p, SP_INVALID, "bad_message", "%s", detail[r]);
}

/* sp_mail_parse but for attached_text. */
static enum sp_rc
parse_mail(struct sp_arena *a, const char *msg, size_t len, struct sp_mail_in *out,
           struct sp_problem *p)
{
    *out = (struct sp_mail_in){.subject = "", .text = ""};
    if (msg == NULL)
        msg = "", len = 0;
    struct hdrs h = {0};
    size_t body = read_headers(a, msg, len, top_names, true, SP_MAIL_MAX_HEADER_BYTES, &h);
    if (body == SIZE_MAX) {
        out->refused_why = "header_block_too_long";
        return sp_problem_set(p, SP_INVALID, "bad_message",
                              "header block over %d KiB: the mail cannot be read",
                              SP_MAIL_MAX_HEADER_BYTES / 1024);
    }
    if ((out->refused_why = header_bytes_bad(msg, body)) != NULL)
        return sp_problem_set(p, SP_INVALID, "bad_message",
                              "a NUL or a CR that ends no line in the headers: the mail cannot"
                              " be read as its sender's");
    if (read_from(a, &h, out, p) != SP_OK)
        return p->rc;
    const char *subject = hget(&h, "subject");
    if (subject != NULL)
        out->subject = sp_mail_decode_words(a, subject, strlen(subject));
    out->message_id = msg_id(a, hget(&h, "message-id"));
    out->in_reply_to = msg_id(a, hget(&h, "in-reply-to"));
    out->references = sp_arena_alloc(a, SP_MAIL_MAX_REFERENCES * sizeof(*out->references));
    out->nreferences = sp_mail_msg_ids(a, hget(&h, "references"), out->references,
                                       SP_MAIL_MAX_REFERENCES);
    out->date = hget(&h, "date");
    recipients(a, &h, out);
    auth_results(a, &h, out);
    out->auto_reply = auto_reply(a, &h);
    out->null_return_path = null_return_path(&h);
    out->body_offset = body;
    if (read_body(a, msg + body, len - body, &h, out, p) != SP_OK)
        return p->rc;
    if (out->text_whole == NULL)
        out->text_whole = out->text;
    return SP_OK;
}

/* The text of the first mail attached whole (message/rfc822) that has
 * visible text, read as a mail is (the mails attached to it are not
 * looked into), below the lines Gmail writes above a mail it forwards
 * inline. NULL when there is none. */
static const char *
attached_text(struct sp_arena *a, const struct sp_mail_in *m)
{
    for (size_t i = 0; i < m->nfiles; i++) {
        const struct sp_mail_file *f = &m->files[i];
        struct sp_mail_in in;
        struct sp_problem p;
        sp_problem_init(&p);
        if (strcmp(f->content_type, "message/rfc822") != 0 ||
            parse_mail(a, f->data, f->len, &in, &p) != SP_OK ||
            !sp_sanitize_has_visible(in.text_whole, strlen(in.text_whole)))
            continue;
        return sp_arena_sprintf(a, "---------- Forwarded message ---------\nFrom: %s%s<%s>\n"
                                "Subject: %s\n\n%s", in.from_name ? in.from_name : "",
                                in.from_name ? " " : "", in.from_addr, in.subject,
                                in.text_whole);
    }
    return NULL;
}

enum sp_rc
sp_mail_parse(struct sp_arena *a, const char *msg, size_t len, struct sp_mail_in *out,
              struct sp_problem *p)
{
    if (parse_mail(a, msg, len, out, p) != SP_OK)
        return p->rc;
    out->attached_text = attached_text(a, out);
    return SP_OK;
}
