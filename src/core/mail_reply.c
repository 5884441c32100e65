/*
 * mail_reply: the text of a mail made a message; a reply's without its
 * quoted history. See mail_reply.h. Lines are matched as clients write
 * them (case and all): a looser match would cut a customer's own
 * sentences. The result is whole lines of the input (at most three
 * runs of them, joined by a blank line in place of the lines cut between
 * them, which hold a mark line, or a line and two line ends, at least), so it is
 * never longer than the input and stays valid UTF-8 when the input is.
 * Must not: know SQL, tickets or mail parsing (its input is text).
 */
#include "core/mail_reply.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

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

/* An attribution on line i, or one a client wrapped onto line i + 1:
 * how many lines it takes (0: none). */
static size_t
attribution_at(struct sp_arena *a, const struct line *l, size_t nl, size_t i)
{
    if (attribution(l[i].s, l[i].n))
        return 1;
    static const char *const openers[] = {"On ", "Am ", "Op ", "El ", "Le ", NULL};
    bool opens = false;
    for (size_t k = 0; openers[k] != NULL; k++)
        opens = opens || starts(l[i].s, l[i].n, openers[k]);
    if (!opens || i + 1 >= nl || blank(&l[i + 1]))
        return 0;
    struct sp_buf b;
    sp_buf_init(&b, a, l[i].n + l[i + 1].n + 2);
    sp_buf_append(&b, l[i].s, l[i].n);
    sp_buf_putc(&b, ' ');
    sp_buf_append(&b, l[i + 1].s, l[i + 1].n);
    return attribution(b.data, b.len) ? 2 : 0;
}

/* Outlook's header block in the languages of the attributions (its
 * field names are the client's language; QA: a German "Von: / Gesendet:
 * / Betreff:" block was kept as the customer's text). French writes a
 * space, often a no-break one, before the colon. */
enum { FIELD_WHEN, FIELD_SUBJECT, FIELD_OTHER, FIELD_NAMES = 8 };
static const struct header_language {
    const char *from;
    const char *names[FIELD_NAMES];   /* sent, subject, date, then others; NULL ends */
} header_languages[] = {
    {"From:", {"Sent:", "Subject:", "Date:", "To:", "Cc:", "Bcc:", NULL}},
    {"Von:", {"Gesendet:", "Betreff:", "Datum:", "An:", "Cc:", "Bcc:", NULL}},
    {"Van:", {"Verzonden:", "Onderwerp:", "Datum:", "Aan:", "CC:", "Cc:", "BCC:"}},
    {"De:", {"Enviado:", "Asunto:", "Fecha:", "Para:", "CC:", "Cc:", "CCO:"}},
    {"De :", {"Envoy\xc3\xa9 :", "Objet :", "Date :", "\xc3\x80 :", "Cc :", "Cci :", NULL}},
    {"De\xc2\xa0:", {"Envoy\xc3\xa9\xc2\xa0:", "Objet\xc2\xa0:", "Date\xc2\xa0:",
                     "\xc3\x80\xc2\xa0:", "Cc\xc2\xa0:", "Cci\xc2\xa0:", NULL}},
};
#define NLANGUAGES (sizeof(header_languages) / sizeof(header_languages[0]))

/* Whether line l is the field name ("Name:" then a space or the end: an
 * empty Subject is "Subject:"). */
static bool
field_named(const struct line *l, const char *name)
{
    size_t n = strlen(name);
    return starts(l->s, l->n, name) && (l->n == n || l->s[n] == ' ');
}

/* Which of lang's header fields line l is: FIELD_WHEN (Sent, or the
 * Date written instead of it), FIELD_SUBJECT, FIELD_OTHER; -1 none. */
static int
outlook_field(const struct header_language *lang, const struct line *l)
{
    for (int k = 0; k < FIELD_NAMES && lang->names[k] != NULL; k++)
        if (field_named(l, lang->names[k]))
            return k == 0 || k == 2 ? FIELD_WHEN : k == 1 ? FIELD_SUBJECT : FIELD_OTHER;
    return -1;
}

/* Outlook's header block: "From: …" and, on the lines right after it,
 * only its header fields, "Sent:" (or "Date:") and "Subject:" among
 * them, all in one language. Less is a customer's own lines ("From:
 * Berlin", "Date: 12 May"), which are text. */
static bool
outlook_header(const struct line *l, size_t nl, size_t i)
{
    for (size_t g = 0; g < NLANGUAGES; g++) {
        const struct header_language *lang = &header_languages[g];
        if (!field_named(&l[i], lang->from) || l[i].n == strlen(lang->from))
            continue;
        bool when = false, subject = false;
        int f;
        for (size_t k = i + 1; k < nl && (f = outlook_field(lang, &l[k])) >= 0; k++) {
            when = when || f == FIELD_WHEN;
            subject = subject || f == FIELD_SUBJECT;
            if (when && subject)
                return true;
        }
    }
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

/* Where Outlook's history (or, in a forward, its forwarded mail) starts
 * on line i; nl when it does not. */
static size_t
outlook_at(const struct line *l, size_t nl, size_t i)
{
    if (contains(l[i].s, l[i].n, "-----Original Message-----"))
        return i;
    if (outlook_header(l, nl, i))
        return i > 0 && underscores(&l[i - 1]) ? i - 1 : i;
    return nl;
}

static bool
quoted(const struct line *l)
{
    return l->n > 0 && l->s[0] == '>';
}

/* The line a mail client writes above a forwarded mail, in the
 * languages of the attributions: Gmail's and Thunderbird's dashed
 * "Forwarded message", Apple Mail's "Begin forwarded message:". */
static bool
forward_marker(const struct line *l)
{
    static const char *const dashed[] = {
        "Forwarded message", "Forwarded Message", "Weitergeleitete Nachricht",
        "Message transf\xc3\xa9r\xc3\xa9", "Mensaje reenviado", "Doorgestuurd bericht", NULL};
    static const char *const begins[] = {
        "Begin forwarded message", "Anfang der weitergeleiteten Nachricht",
        "D\xc3\xa9" "but du message r\xc3\xa9" "exp\xc3\xa9" "di\xc3\xa9",
        "Inicio del mensaje reenviado", "Begin doorgestuurd bericht", NULL};
    size_t n = trim_end(l->s, l->n);
    if (starts(l->s, n, "-----") && ends(l->s, n, "-----")) {
        for (size_t k = 0; dashed[k] != NULL; k++)
            if (contains(l->s, n, dashed[k]))
                return true;
        return false;
    }
    if (n == 0 || l->s[n - 1] != ':')
        return false;
    n = trim_end(l->s, n - 1);
    for (size_t k = 0; begins[k] != NULL; k++)
        if (n == strlen(begins[k]) && memcmp(l->s, begins[k], n) == 0)
            return true;
    return false;
}

/* The first line of the forwarded mail (nl when none). */
static size_t
forward_start(const struct line *l, size_t nl, enum sp_mail_kind kind)
{
    for (size_t i = 0; i < nl; i++) {
        if (forward_marker(&l[i]))
            return i;
        size_t o = kind == SP_MAIL_REPLY_FORWARD ? outlook_at(l, nl, i) : nl;
        if (o < nl)
            return o;
    }
    return nl;
}

/* Lines [0, end) of a mail; [tail, end) the run of quoted and blank
 * lines they end with, and after_quote one past its last quoted line
 * (0 when it has none). */
struct text {
    const struct line *l;
    size_t end, tail, after_quote;
};

static struct text
text_of(const struct line *l, size_t end)
{
    struct text t = {l, end, end, 0};
    while (t.tail > 0 && (blank(&l[t.tail - 1]) || quoted(&l[t.tail - 1])))
        t.tail--;
    for (size_t i = t.tail; i < end; i++)
        if (quoted(&l[i]))
            t.after_quote = i + 1;
    return t;
}

/* Whether lines [from, end) are quotes: only quoted and blank lines,
 * one quoted at least. */
static bool
quotes_to_end(const struct text *t, size_t from)
{
    return from >= t->tail && from < t->after_quote;
}

/* Where the history holding our marker on line i starts: when quoted,
 * at its block of quoted lines, or at the attribution above that. */
static size_t
marker_history(struct sp_arena *a, const struct text *t, size_t i)
{
    const struct line *l = t->l;
    if (!quoted(&l[i]))
        return i;
    size_t k = i;
    while (k > 0 && (quoted(&l[k - 1]) || blank(&l[k - 1])))
        k--;
    for (size_t back = 1; back <= 2 && back <= k; back++)
        if (attribution_at(a, l, t->end, k - back) == back)
            return k - back;
    return k;
}

/* The first line where the history starts by one of mail_reply.h's
 * marks (t->end when none); *marker the line of our marker when that
 * is the mark and it is quoted (t->end when not). */
static size_t
history_mark(struct sp_arena *a, const struct text *t, enum sp_mail_kind kind, size_t *marker)
{
    const struct line *l = t->l;
    *marker = t->end;
    for (size_t i = 0; i < t->end; i++) {
        if (contains(l[i].s, l[i].n, SP_MAIL_REPLY_MARKER)) {
            if (quoted(&l[i]))
                *marker = i;
            return marker_history(a, t, i);
        }
        if (l[i].n == 3 && memcmp(l[i].s, "-- ", 3) == 0)
            return i;
        size_t o = kind == SP_MAIL_REPLY ? outlook_at(l, t->end, i) : t->end;
        if (o < t->end)
            return o;
        size_t k = attribution_at(a, l, t->end, i);
        if (k > 0 && quotes_to_end(t, i + k))
            return i;
    }
    return t->end;
}

/* Whether lines [0, end), above the quoted block with our marker, hold
 * the customer's text: anything but blank lines and one line ending in
 * ':' (two, when a client wrapped it) right above the block, which is
 * an attribution in a language attribution() does not know (Italian's
 * "… ha scritto:"; kept, as text when in doubt). With such text the
 * mail is top-posted, and what follows the quote is left out as before
 * (a disclaimer a mail server adds at the bottom). */
static bool
text_above(const struct line *l, size_t end)
{
    while (end > 0 && blank(&l[end - 1]))
        end--;
    if (end > 0 && ends(l[end - 1].s, trim_end(l[end - 1].s, l[end - 1].n), ":"))
        end -= end > 1 && !blank(&l[end - 2]) ? 2 : 1;
    while (end > 0 && blank(&l[end - 1]))
        end--;
    return end > 0;
}

/* A reply written below the quoted mail of ours (bottom-posting; QA:
 * such a reply bounced as empty): the lines after the block of quoted
 * and blank lines that holds our marker on line marker, cut as a
 * reply's text is (a signature, an attribution with quotes, Outlook's
 * history) and without the quoted lines it ends with, which are more
 * of our mail (inline answers between quotes are kept): true with
 * them in [*first, *end) when they hold text. */
static bool
below_quote(struct sp_arena *a, const struct text *t, enum sp_mail_kind kind, size_t marker,
            size_t *first, size_t *end)
{
    size_t b = marker;
    while (b < t->end && (quoted(&t->l[b]) || blank(&t->l[b])))
        b++;
    struct text below = text_of(t->l + b, t->end - b);
    size_t ignored, n = history_mark(a, &below, kind, &ignored);
    if (n > below.tail)
        n = below.tail;
    for (size_t i = 0; i < n; i++)
        if (!blank(&below.l[i])) {
            *first = b;
            *end = b + n;
            return true;
        }
    return false;
}

/* Lines [first, end) appended to out without the blank lines around
 * them, after a blank line when out has text already. */
static void
append_lines(struct sp_buf *out, const struct line *l, size_t first, size_t end)
{
    while (first < end && blank(&l[first]))
        first++;
    while (end > first && blank(&l[end - 1]))
        end--;
    if (first < end && out->len > 0)
        sp_buf_append(out, "\n\n", 2);
    for (size_t i = first; i < end; i++) {
        if (i > first)
            sp_buf_putc(out, '\n');
        sp_buf_append(out, l[i].s, l[i].n);
    }
}

const char *
sp_mail_reply_cut(struct sp_arena *a, const char *text, enum sp_mail_kind kind)
{
    if (text == NULL)
        return "";
    size_t nl;
    struct line *l = split_lines(a, text, &nl);
    size_t fwd = kind == SP_MAIL_FIRST ? nl : forward_start(l, nl, kind);
    struct text t = text_of(l, fwd);
    size_t marker = fwd, below;
    size_t cut = kind == SP_MAIL_FIRST ? nl : history_mark(a, &t, kind, &marker);
    struct sp_buf out;
    sp_buf_init(&out, a, strlen(text) + 1);
    append_lines(&out, l, 0, cut == fwd ? nl : cut);
    if (marker < fwd && !text_above(l, cut) && below_quote(a, &t, kind, marker, &below, &cut))
        append_lines(&out, l, below, cut == fwd ? nl : cut);
    if (cut < fwd)
        append_lines(&out, l, fwd, nl);
    return out.data;
}

const char *
sp_mail_reply_text(struct sp_arena *a, const char *text)
{
    return sp_mail_reply_cut(a, text, SP_MAIL_REPLY);
}

bool
sp_mail_reply_forward_subject(const char *subject)
{
    static const char *const words[] = {"fwd", "fw", "wg", "tr", "rv", "doorst", NULL};
    if (subject == NULL)
        return false;
    subject += strspn(subject, " \t");
    size_t w = strspn(subject, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    if (subject[w] != ':')
        return false;
    for (size_t k = 0; words[k] != NULL; k++)
        if (w == strlen(words[k]) && strncasecmp(subject, words[k], w) == 0)
            return true;
    return false;
}
