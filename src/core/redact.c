/*
 * redact: e-mail, card and phone numbers out of free text. See redact.h.
 */
#include "core/redact.h"

#include <stdbool.h>
#include <string.h>

#include "core/ascii.h"
#include "core/buf.h"

static bool
alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
local_char(unsigned char c)
{
    return alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static bool
domain_char(unsigned char c)
{
    return alnum(c) || c == '-';
}

/* Length of the domain at s (labels joined by dots, at least two, the
 * last of two letters or more); 0 when there is none. */
static size_t
domain_len(const char *s, size_t n)
{
    size_t i = 0, labels = 0, last = 0, last_start = 0;
    bool letters_only = false;
    for (;;) {
        size_t start = i;
        last_start = start;
        letters_only = true;
        while (i < n && domain_char((unsigned char)s[i])) {
            letters_only &= !(s[i] >= '0' && s[i] <= '9') && s[i] != '-';
            i++;
        }
        if (i == start)
            break;
        labels++;
        last = i;
        if (i + 1 < n && s[i] == '.' && domain_char((unsigned char)s[i + 1]))
            i++;
        else
            break;
    }
    return labels >= 2 && letters_only && last - last_start >= 2 ? last : 0;
}

/* Length of an address with a quoted local part ("jo doe"@example.com)
 * at s[0] == '"'; 0 when none starts there. Any byte but a control
 * character may be quoted, with no length cap, so what a pass replaces
 * cannot make an address for the next: no replacement shortens a quote,
 * and one that swallows a quote leaves "[email]" between the quotes
 * around it — so a quote holding "[email]" is not one ("[john]" is). No
 * backslash escapes: a scan ends at the next quote, so all of them are
 * linear. */
static size_t
quoted_email_len(const char *s, size_t n)
{
    static const char swallowed[] = "[email]";
    size_t i = 1;
    bool replaced = false;
    while (i < n && s[i] != '"') {
        if (sp_ascii_control(s[i]))
            return 0;
        replaced |= s[i] == '[' && n - i >= sizeof(swallowed) - 1 &&
                    memcmp(s + i, swallowed, sizeof(swallowed) - 1) == 0;
        i++;
    }
    if (replaced || i == 1 || i + 1 >= n || s[i + 1] != '@')
        return 0;
    size_t d = domain_len(s + i + 2, n - i - 2);
    return d > 0 ? i + 2 + d : 0;
}

/* Length of the e-mail address starting at s[0] (a local-part run, '@',
 * a domain); 0 when none starts there. */
static size_t
email_len(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && local_char((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= n || s[i] != '@')
        return 0;
    size_t d = domain_len(s + i + 1, n - i - 1);
    return d > 0 ? i + 1 + d : 0;
}

static bool
separator(char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '_';
}

/* The separators of a card's groups. */
static bool
card_separator(char c)
{
    return c == ' ' || c == '-' || c == '/' || c == '_';
}

/* A run of digits and single separators starting at s[0]: its length
 * (trailing separators excluded), its digit count, and whether only
 * card separators separate its groups. */
static size_t
number_run(const char *s, size_t n, size_t *digits, bool *card_like)
{
    size_t i = 0, end = 0, seps = 0;
    bool other_sep = false;    /* no card separator since the last digit */
    *digits = 0;
    *card_like = true;
    if (s[0] == '+' || s[0] == '(')
        i++;
    while (i < n) {
        if (s[i] >= '0' && s[i] <= '9') {
            (*digits)++;
            *card_like &= !other_sep;
            end = ++i;
            seps = 0;
            other_sep = false;
        } else if (separator(s[i]) && seps < 2) {
            other_sep |= !card_separator(s[i]);
            seps++;
            i++;
        } else {
            break;
        }
    }
    return end;
}

/* What the number at s[0] is: "[card]", "[phone]" or NULL, and its
 * length. */
static const char *
number_kind(const char *s, size_t n, size_t *len)
{
    size_t digits;
    bool card_like;
    *len = number_run(s, n, &digits, &card_like);
    /* Letters right after the digits do not save them ("5551234567abc"):
     * deciding on what follows would let a second pass see another run. */
    if (*len == 0)
        return NULL;
    if (digits >= 13 && digits <= 19 && card_like && s[0] != '+' && s[0] != '(')
        return "[card]";
    if ((digits >= 9 && digits <= 15) || (s[0] == '+' && digits >= 7 && digits <= 15))
        return "[phone]";
    /* Too long for a phone and no card: it may be a card and a phone back
     * to back. Every run of 9 digits or more is redacted whole, so no part
     * of one is left to a second pass. */
    if (digits > 15)
        return "[number]";
    return NULL;
}

/* The replacement for what starts at s[i] (at a token start), or NULL;
 * *len is how much it replaces. */
static const char *
match_at(const char *s, size_t n, size_t *len)
{
    unsigned char c = (unsigned char)s[0];
    if (local_char(c) && (*len = email_len(s, n)) > 0)
        return "[email]";
    if (c == '"' && (*len = quoted_email_len(s, n)) > 0)
        return "[email]";
    bool numberish = (c >= '0' && c <= '9') ||
                     ((c == '+' || c == '(') && n > 1 && s[1] >= '0' && s[1] <= '9');
    return numberish ? number_kind(s, n, len) : NULL;
}

/* A full-width form of ASCII (U+FF01..U+FF5E, UTF-8 EF BC 81..EF BD 9E)
 * at s: 3 and its ASCII character in *c; else 0. */
static size_t
full_width(const unsigned char *s, size_t n, char *c)
{
    if (n < 3 || s[0] != 0xef)
        return 0;
    if (s[1] == 0xbc && s[2] >= 0x81 && s[2] <= 0xbf)
        *c = (char)(s[2] - 0x60);
    else if (s[1] == 0xbd && s[2] >= 0x80 && s[2] <= 0x9e)
        *c = (char)(s[2] - 0x20);
    else
        return 0;
    return 3;
}

/* A Unicode space (no-break, U+2000..U+200A, narrow no-break, medium
 * mathematical, ideographic, ogham) or dash (U+2010..U+2015, minus, small
 * forms) at s: its length in bytes and ' ' or '-' in *c; else 0. */
static size_t
unicode_separator(const unsigned char *s, size_t n, char *c)
{
    static const struct {
        unsigned char b[3];
        unsigned char last;   /* b[2]..last is a range */
        char ascii;
    } seps[] = {
        {{0xe2, 0x80, 0x80}, 0x8a, ' '}, {{0xe2, 0x80, 0xaf}, 0xaf, ' '},
        {{0xe2, 0x81, 0x9f}, 0x9f, ' '}, {{0xe3, 0x80, 0x80}, 0x80, ' '},
        {{0xe1, 0x9a, 0x80}, 0x80, ' '}, {{0xe2, 0x80, 0x90}, 0x95, '-'},
        {{0xe2, 0x88, 0x92}, 0x92, '-'}, {{0xef, 0xb9, 0x98}, 0x98, '-'},
        {{0xef, 0xb9, 0xa3}, 0xa3, '-'},
    };
    if (n >= 2 && s[0] == 0xc2 && s[1] == 0xa0) {
        *c = ' ';
        return 2;
    }
    for (size_t i = 0; n >= 3 && i < sizeof(seps) / sizeof(seps[0]); i++) {
        if (s[0] == seps[i].b[0] && s[1] == seps[i].b[1] && s[2] >= seps[i].b[2] &&
            s[2] <= seps[i].last) {
            *c = seps[i].ascii;
            return 3;
        }
    }
    return 0;
}

/* An invisible format character (zero-width space, non-joiner and
 * joiner, word joiner, invisible operators U+2061..U+2064, BOM, soft
 * hyphen) at s: its length in bytes; else 0. */
static size_t
invisible(const unsigned char *s, size_t n)
{
    if (n >= 2 && s[0] == 0xc2 && s[1] == 0xad)
        return 2;
    if (n < 3)
        return 0;
    if ((s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0x8b && s[2] <= 0x8d) ||
        (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa0 && s[2] <= 0xa4) ||
        (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf))
        return 3;
    return 0;
}

/* Whether a digit (ASCII or full-width) comes at s, after at most two
 * more Unicode separators or invisible characters. */
static bool
digit_follows(const unsigned char *s, size_t n)
{
    char c;
    for (int skipped = 0;; skipped++) {
        if (n > 0 && s[0] >= '0' && s[0] <= '9')
            return true;
        if (full_width(s, n, &c) > 0)
            return c >= '0' && c <= '9';
        size_t k = unicode_separator(s, n, &c);
        if (k == 0)
            k = invisible(s, n);
        if (k == 0 || skipped == 2)
            return false;
        s += k;
        n -= k;
    }
}

/* Whether the Unicode character at s is inside a number: right after a
 * digit or ')', or after one or two separators after one when a digit
 * follows it (a number's groups may be split by two separators, as
 * number_run reads them; "04 — at" stays prose). */
static bool
in_number(const struct sp_buf *b, const unsigned char *s, size_t n)
{
    size_t end = b->len, seps = 0;
    while (end > 0 && seps < 2 && (b->data[end - 1] == ' ' || b->data[end - 1] == '-')) {
        end--;
        seps++;
    }
    if (end == 0 || !((b->data[end - 1] >= '0' && b->data[end - 1] <= '9') ||
                      b->data[end - 1] == ')'))
        return false;
    return seps == 0 || digit_follows(s, n);
}

/* The text the scanner reads, and what is sent and stored (API.md §9):
 * full-width forms become ASCII (U+FF11 is a '1'), and inside a number
 * (in_number) a Unicode space or dash becomes ' ' or '-', so a card
 * written with no-break spaces or en dashes is a card, and an invisible
 * character is dropped, so zero-width spaces between the groups hide
 * nothing. Prose keeps its own dashes and spaces. Only ASCII is written
 * for what is replaced, and a whole sequence is dropped only after an
 * ASCII digit or separator (which cannot join what follows into a new
 * sequence): normalising again changes nothing. */
static const char *
normalise(struct sp_arena *a, const char *text, size_t *len)
{
    struct sp_buf b;
    sp_buf_init(&b, a, *len + 1);
    for (size_t i = 0; i < *len;) {
        const unsigned char *s = (const unsigned char *)text + i;
        char c;
        bool number = s[0] >= 0x80 && in_number(&b, s, *len - i);
        size_t k = 0;
        if (number && (k = invisible(s, *len - i)) > 0) {
            i += k;
            continue;
        }
        k = full_width(s, *len - i, &c);
        if (k == 0 && number)
            k = unicode_separator(s, *len - i, &c);
        if (k > 0) {
            sp_buf_putc(&b, c);
            i += k;
        } else {
            sp_buf_putc(&b, text[i++]);
        }
    }
    *len = b.len;
    return b.data;
}

char *
sp_redact(struct sp_arena *a, const char *text, size_t len, size_t *count)
{
    text = normalise(a, text, &len);
    struct sp_buf b;
    sp_buf_init(&b, a, len + 16);
    size_t replaced = 0, i = 0;
    while (i < len) {
        size_t n = 0;
        /* A token starts after what was written, not what was read: a
         * replacement ends a token, so redacting again finds nothing new. */
        bool start = b.len == 0 || !local_char((unsigned char)b.data[b.len - 1]);
        const char *with = start ? match_at(text + i, len - i, &n) : NULL;
        if (with != NULL) {
            sp_buf_puts(&b, with);
            replaced++;
            i += n;
            continue;
        }
        /* Copy up to the next token start in one go. */
        size_t j = i + 1;
        while (j < len && local_char((unsigned char)text[j - 1]) &&
               local_char((unsigned char)text[j]))
            j++;
        sp_buf_append(&b, text + i, j - i);
        i = j;
    }
    if (count != NULL)
        *count = replaced;
    sp_buf_putc(&b, '\0');
    return b.data;
}
