/*
 * mail_reply: the new text of a reply, without its quoted history. See
 * mail_reply.h. Lines are matched as clients write them (case and all):
 * a looser match would cut a customer's own sentences. The result is
 * whole lines of the input, so it is never longer than the input and
 * stays valid UTF-8 when the input is.
 * Must not: know SQL, tickets or mail parsing (its input is text).
 */
#include "core/mail_reply.h"

#include <stdbool.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"

struct line {
    const char *s;
    size_t n;  /* without its line end (LF, or CR LF) */
};

static struct line *
split_lines(struct sp_arena *a, const char *text, size_t *count)
{
    size_t n = 1;
    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    struct line *l = sp_arena_alloc(a, n * sizeof(*l));
    const char *s = text;
    for (size_t i = 0; i < n; i++) {
        const char *nl = strchr(s, '\n');
        size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);
        l[i] = (struct line){s, len};
        if (len > 0 && s[len - 1] == '\r')
            l[i].n--;
        s = nl != NULL ? nl + 1 : s + len;
    }
    *count = n;
    return l;
}

static bool
starts(const char *s, size_t n, const char *prefix)
{
    size_t pn = strlen(prefix);
    return n >= pn && memcmp(s, prefix, pn) == 0;
}

static bool
ends(const char *s, size_t n, const char *suffix)
{
    size_t sn = strlen(suffix);
    return n >= sn && memcmp(s + n - sn, suffix, sn) == 0;
}

static bool
contains(const char *s, size_t n, const char *needle)
{
    return memmem(s, n, needle, strlen(needle)) != NULL;
}

static bool
blank(const struct line *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->s[i] != ' ' && l->s[i] != '\t')
            return false;
    return true;
}

/* Drops white space at the end, French typography's no-break spaces
 * (U+00A0, U+202F) included: "a écrit :" comes with either. */
static size_t
trim_end(const char *s, size_t n)
{
    for (;;) {
        if (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        else if (ends(s, n, "\xc2\xa0"))
            n -= 2;
        else if (ends(s, n, "\xe2\x80\xaf"))
            n -= 3;
        else
            return n;
    }
}

/* "On … wrote:" and its kin in the languages of mail_reply.h. */
static bool
attribution(const char *s, size_t n)
{
    n = trim_end(s, n);
    if (starts(s, n, "On "))
        return ends(s, n, "wrote:");
    if (starts(s, n, "Am "))
        return contains(s, n, " schrieb") && ends(s, n, ":");
    if (starts(s, n, "Op "))
        return contains(s, n, " schreef") && ends(s, n, ":");
    if (starts(s, n, "El "))
        return ends(s, n, "escribi\xc3\xb3:");
    if (starts(s, n, "Le ") && ends(s, n, ":"))
        return ends(s, trim_end(s, n - 1), "a \xc3\xa9" "crit");
    return false;
}

/* An attribution on line i, or one a client wrapped onto line i + 1. */
static bool
attribution_at(struct sp_arena *a, const struct line *l, size_t nl, size_t i)
{
    if (attribution(l[i].s, l[i].n))
        return true;
    static const char *const openers[] = {"On ", "Am ", "Op ", "El ", "Le ", NULL};
    bool opens = false;
    for (size_t k = 0; openers[k] != NULL; k++)
        opens = opens || starts(l[i].s, l[i].n, openers[k]);
    if (!opens || i + 1 >= nl || blank(&l[i + 1]))
        return false;
    struct sp_buf b;
    sp_buf_init(&b, a, l[i].n + l[i + 1].n + 2);
    sp_buf_append(&b, l[i].s, l[i].n);
    sp_buf_putc(&b, ' ');
    sp_buf_append(&b, l[i + 1].s, l[i + 1].n);
    return attribution(b.data, b.len);
}

/* Outlook's header block: "From: …" with "Sent: " or "Date: " on one of
 * the next three lines. */
static bool
outlook_header(const struct line *l, size_t nl, size_t i)
{
    if (!starts(l[i].s, l[i].n, "From: "))
        return false;
    for (size_t k = i + 1; k < nl && k <= i + 3; k++)
        if (starts(l[k].s, l[k].n, "Sent: ") || starts(l[k].s, l[k].n, "Date: "))
            return true;
    return false;
}

/* Outlook's rule of underscores above its header block. */
static bool
underscores(const struct line *l)
{
    size_t i = 0;
    while (i < l->n && l->s[i] == '_')
        i++;
    return i >= 8 && i == l->n;
}

/* The first line where the history starts by one of mail_reply.h's
 * marks (nl when none). */
static size_t
history_mark(struct sp_arena *a, const struct line *l, size_t nl)
{
    for (size_t i = 0; i < nl; i++) {
        const char *s = l[i].s;
        size_t n = l[i].n;
        if (contains(s, n, SP_MAIL_REPLY_MARKER) || contains(s, n, "-----Original Message-----") ||
            (n == 2 && memcmp(s, "--", 2) == 0) || (n == 3 && memcmp(s, "-- ", 3) == 0) ||
            attribution_at(a, l, nl, i))
            return i;
        if (outlook_header(l, nl, i))
            return i > 0 && underscores(&l[i - 1]) ? i - 1 : i;
    }
    return nl;
}

/* Where a block of quoted lines (blank lines allowed among them) that
 * runs to line end starts; end when the last non-blank line is not
 * quoted, as with inline answers. */
static size_t
quote_tail(const struct line *l, size_t end)
{
    size_t k = end;
    while (k > 0 && blank(&l[k - 1]))
        k--;
    if (k == 0 || l[k - 1].n == 0 || l[k - 1].s[0] != '>')
        return end;
    while (k > 0 && (blank(&l[k - 1]) || l[k - 1].s[0] == '>'))
        k--;
    return k;
}

const char *
sp_mail_reply_text(struct sp_arena *a, const char *text)
{
    if (text == NULL)
        return "";
    size_t nl, first = 0;
    struct line *l = split_lines(a, text, &nl);
    size_t end = quote_tail(l, history_mark(a, l, nl));
    while (first < end && blank(&l[first]))
        first++;
    while (end > first && blank(&l[end - 1]))
        end--;
    struct sp_buf out;
    sp_buf_init(&out, a, strlen(text) + 1);
    for (size_t i = first; i < end; i++) {
        if (i > first)
            sp_buf_putc(&out, '\n');
        sp_buf_append(&out, l[i].s, l[i].n);
    }
    return out.data;
}
