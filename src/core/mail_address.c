/*
 * mail_address: the mailboxes of an inbound mail's address header (From,
 * To, Cc, ...) as RFC 5322 §3.4 writes them: groups, comments, quoted
 * strings and local parts, angle brackets, RFC 2047 display names; the
 * obsolete routes dropped. A mailbox without text on both sides of an
 * '@' is skipped. A quoted local part that needs no quotes is unquoted
 * ("bob"@example.com is bob@example.com). Every scan is one forward pass (comment nesting is a
 * counter, not recursion).
 * Must not: know SQL, tickets or MIME; trust any byte of the value.
 */
#include "core/mail_address.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/mail_parse.h"
#include "core/utf8.h"

enum tok_type { TOK_WORD, TOK_QUOTED, TOK_COMMENT, TOK_SPECIAL };

struct tok {
    enum tok_type type;
    const char *s;  /* as written; a comment without its parentheses */
    size_t n;
    bool ws;        /* white space or a comment before it */
};

static bool
addr_special(char c)
{
    return c == '(' || c == ')' || c == '<' || c == '>' || c == ',' || c == ';' || c == ':' ||
           c == '@' || c == '"' || c == '[' || c == ']';
}

/* From v[p], just past an opening '"' or '[', to just past its close (or
 * the end), escapes skipped. */
static size_t
skip_to(const char *v, size_t n, size_t p, char close)
{
    for (; p < n; p++) {
        if (v[p] == '\\' && p + 1 < n)
            p++;
        else if (v[p] == close)
            return p + 1;
    }
    return n;
}

/* From v[p], at a '(', to just past its matching ')' (comments nest, RFC
 * 5322 §3.2.2: a counter, not recursion), or the end. */
static size_t
skip_comment(const char *v, size_t n, size_t p)
{
    size_t depth = 0;
    for (; p < n; p++) {
        if (v[p] == '\\' && p + 1 < n)
            p++;
        else if (v[p] == '(')
            depth++;
        else if (v[p] == ')' && --depth == 0)
            return p + 1;
    }
    return n;
}

static bool
next_tok(const char *v, size_t n, size_t *pos, struct tok *t)
{
    size_t p = *pos;
    t->ws = false;
    while (p < n && sp_ascii_space(v[p])) {
        p++;
        t->ws = true;
    }
    if (p >= n)
        return false;
    size_t s = p;
    char c = v[p];
    if (c == '(') {
        p = skip_comment(v, n, p);
        t->type = TOK_COMMENT;
        t->s = v + s + 1;
        t->n = p - s - 1 - (p - s > 1 && v[p - 1] == ')');
        *pos = p;
        return true;
    }
    if (c == '"' || c == '[') {
        p = skip_to(v, n, p + 1, c == '"' ? '"' : ']');
        t->type = c == '"' ? TOK_QUOTED : TOK_WORD;
    } else if (addr_special(c)) {
        p++;
        t->type = TOK_SPECIAL;
    } else {
        while (p < n && !sp_ascii_space(v[p]) && !addr_special(v[p]))
            p++;
        t->type = TOK_WORD;
    }
    t->s = v + s;
    t->n = p - s;
    *pos = p;
    return true;
}

static bool
is_tok(const struct tok *t, char c)
{
    return t->type == TOK_SPECIAL && t->s[0] == c;
}

/* One mailbox being read: the words outside <> (a display name, or a bare
 * address), what is inside <>, and its first comment (the name of the
 * old "addr (Name)" form). */
struct mbox {
    struct tok *tok;
    size_t ntok, cap;
    struct sp_buf angle;
    struct tok comment;
    bool in_angle, had_angle, has_comment;
    bool gap;  /* a comment since the last word: white space to it */
};

static void
sink_add(struct sp_mailboxes *k, const char *addr, const char *name)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcasecmp(k->list[i], addr) == 0)
            return;
    if (k->n == 0)
        k->name = name;
    k->list[k->n++] = addr;
    k->done = k->n >= k->max;
}

static void
put_unescaped(struct sp_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        sp_buf_putc(b, s[i]);
    }
}

/* A display name: the words as written, quotes and escapes gone, one
 * space where there was white space, encoded words decoded (also inside
 * quotes, where clients put them against RFC 2047 §5); NULL when empty. */
static const char *
display_name(struct sp_arena *a, const struct tok *t, size_t n)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 64);
    for (size_t i = 0; i < n; i++) {
        if (t[i].ws && b.len > 0)
            sp_buf_putc(&b, ' ');
        if (t[i].type == TOK_QUOTED)
            put_unescaped(&b, t[i].s + 1, t[i].n - 1 - (t[i].n > 1 && t[i].s[t[i].n - 1] == '"'));
        else if (t[i].type == TOK_COMMENT)
            put_unescaped(&b, t[i].s, t[i].n);
        else
            sp_buf_append(&b, t[i].s, t[i].n);
    }
    const char *d = sp_mail_decode_words(a, b.data, b.len);
    while (*d == ' ')
        d++;
    size_t dn = strlen(d);
    while (dn > 0 && d[dn - 1] == ' ')
        dn--;
    return dn > 0 ? sp_arena_strndup(a, d, dn) : NULL;
}

/* Without <>: the last run of words with no white space between them (an
 * '@' joins across it, as the obsolete "local @ domain" does) that holds
 * an '@'. Returns how many runs held one. */
static size_t
bare_addr(const struct mbox *m, struct sp_buf *b)
{
    size_t start = 0, best = 0, best_end = 0, runs = 0;
    bool at = false;
    for (size_t k = 0; k <= m->ntok; k++) {
        if (k == m->ntok || (k > 0 && m->tok[k].ws && !is_tok(&m->tok[k], '@') &&
                             !is_tok(&m->tok[k - 1], '@'))) {
            if (at) {
                best = start;
                best_end = k;
                runs++;
            }
            start = k;
            at = false;
        }
        if (k < m->ntok && is_tok(&m->tok[k], '@'))
            at = true;
    }
    for (size_t k = best; k < best_end; k++)
        sp_buf_append(b, m->tok[k].s, m->tok[k].n);
    return runs;
}

static void
reset_angle(struct mbox *m)
{
    m->angle.len = 0;
    m->angle.data[0] = '\0';
}

/* atext (RFC 5322 §3.2.3), and any byte of a UTF-8 sequence (RFC 6532). */
static bool
atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* s[0..n) is a dot-atom's text: atoms of atext joined by single dots. */
static bool
dot_atom(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' ? s[i + 1] == '.' : !atext((unsigned char)s[i]))
            return false;
    return true;
}

/* The addr-spec s[0..n) with its local part unquoted, as RFC 5322
 * §3.4.1 says to write it, when quoting it changes nothing: quoted
 * strings (and the obsolete "a"."b" of quoted strings and atoms) whose
 * content, quoted-pairs undone, is a dot-atom. "bob"@example.com is the
 * mailbox bob@example.com, and must match its stored address. NULL for
 * any other: no quotes, or a content that needs them ("bob smith",
 * "a..b", "a@b", "", an unclosed quote), which stays as written, matches
 * no address stored without its quotes, and is never unquoted into
 * something else. */
static const char *
unquoted_local(struct sp_arena *a, const char *s, size_t n)
{
    struct sp_buf b;
    sp_buf_init(&b, a, n + 1);
    bool quoted = false;
    size_t i = 0;
    while (i < n && s[i] != '@') {
        if (s[i] != '"') {
            sp_buf_putc(&b, s[i++]);
            continue;
        }
        quoted = true;
        for (i++; i < n && s[i] != '"'; i++) {
            if (s[i] == '\\' && i + 1 < n)
                i++;
            sp_buf_putc(&b, s[i]);
        }
        if (i++ == n)
            return NULL;
    }
    if (!quoted || i >= n || !dot_atom(b.data, b.len))
        return NULL;
    sp_buf_append(&b, s + i, n - i);
    return b.data;
}

/* An addr-spec needs text on both sides of an '@': a bare local name
 * cannot be written back to. */
static bool
has_domain(const char *s, size_t n)
{
    const char *at = n > 0 ? memrchr(s, '@', n) : NULL;
    return at != NULL && at > s && at < s + n - 1;
}

static void
finish_mbox(struct sp_arena *a, struct mbox *m, struct sp_mailboxes *k)
{
    struct sp_buf addr;
    const char *name = NULL;
    sp_buf_init(&addr, a, 64);
    if (m->had_angle) {
        sp_buf_append(&addr, m->angle.data, m->angle.len);
        name = display_name(a, m->tok, m->ntok);
    } else if (bare_addr(m, &addr) > 1) {
        k->ambiguous = true;
    }
    if (name == NULL && m->has_comment)
        name = display_name(a, &m->comment, 1);
    if (has_domain(addr.data, addr.len)) {
        const char *plain = unquoted_local(a, addr.data, addr.len);
        if (plain == NULL)
            plain = addr.data;  /* NUL-free: header values hold no controls */
        sink_add(k, sp_utf8_clean(a, plain, strlen(plain), SP_UTF8_LINE), name);
    }
    m->ntok = 0;
    reset_angle(m);
    m->in_angle = m->had_angle = m->has_comment = m->gap = false;
}

/* A token inside <>; false when it ends the mailbox: a ',' that is not
 * in an obsolete route means the '>' is missing. */
static bool
angle_tok(struct mbox *m, const struct tok *t)
{
    if (is_tok(t, '>'))
        m->in_angle = false;
    else if (is_tok(t, ':'))
        reset_angle(m);  /* the obsolete route "@a,@b:" */
    else if (is_tok(t, ',') && (m->angle.len == 0 || m->angle.data[0] != '@'))
        return false;
    else if (t->type != TOK_COMMENT)
        sp_buf_append(&m->angle, t->s, t->n);
    return true;
}

static void
outer_tok(struct sp_arena *a, struct mbox *m, const struct tok *t, struct sp_mailboxes *k)
{
    if (t->type == TOK_COMMENT) {
        if (!m->has_comment)
            m->comment = *t;
        m->has_comment = m->gap = true;
        return;
    }
    if (t->type == TOK_SPECIAL && t->s[0] != '@') {
        if (t->s[0] == '<') {
            k->ambiguous |= m->had_angle;
            m->in_angle = m->had_angle = true;
            reset_angle(m);
        } else if (t->s[0] == ',' || t->s[0] == ';') {
            finish_mbox(a, m, k);
        } else if (t->s[0] == ':') {  /* what came before names a group */
            m->ntok = 0;
            m->has_comment = false;
        }
        return;  /* and a stray '>', ')' or ']' is nothing */
    }
    m->tok = sp_arena_grow(a, m->tok, m->ntok, &m->cap, sizeof(*m->tok), 16);
    m->tok[m->ntok] = *t;
    m->tok[m->ntok++].ws = t->ws || m->gap;
    m->gap = false;
}

void
sp_mailboxes_read(struct sp_arena *a, const char *v, struct sp_mailboxes *k)
{
    struct mbox m = {0};
    struct tok t;
    size_t n = strlen(v), pos = 0;
    sp_buf_init(&m.angle, a, 64);
    while (!k->done && next_tok(v, n, &pos, &t)) {
        if (!m.in_angle)
            outer_tok(a, &m, &t, k);
        else if (!angle_tok(&m, &t))
            finish_mbox(a, &m, k);
    }
    if (!k->done)
        finish_mbox(a, &m, k);
}

/* n without the trailing root dot of d[0..n). */
static size_t
without_root(const char *d, size_t n)
{
    return n - (n > 0 && d[n - 1] == '.');
}

bool
sp_mail_domain_same(const char *d, const char *ours)
{
    size_t n = without_root(d, strlen(d)), m = without_root(ours, strlen(ours));
    return n > 0 && n == m && strncasecmp(d, ours, n) == 0;
}

bool
sp_mail_domain_within(const char *d, const char *parent)
{
    size_t n = without_root(d, strlen(d)), m = without_root(parent, strlen(parent));
    if (m == 0 || n < m || strncasecmp(d + n - m, parent, m) != 0)
        return false;
    return n == m || d[n - m - 1] == '.';
}
