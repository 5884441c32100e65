/*
 * redact: e-mail, card and phone numbers out of free text. See redact.h.
 */
#include "core/redact.h"

#include <stdbool.h>
#include <string.h>

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
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* A run of digits and single separators starting at s[0]: its length
 * (trailing separators excluded), its digit count, and whether only
 * spaces and dashes separate its groups. */
static size_t
number_run(const char *s, size_t n, size_t *digits, bool *card_like)
{
    size_t i = 0, end = 0, seps = 0;
    bool other_sep = false;    /* a dot or parenthesis since the last digit */
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
            other_sep |= s[i] != ' ' && s[i] != '-';
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
    bool numberish = (c >= '0' && c <= '9') ||
                     ((c == '+' || c == '(') && n > 1 && s[1] >= '0' && s[1] <= '9');
    return numberish ? number_kind(s, n, len) : NULL;
}

char *
sp_redact(struct sp_arena *a, const char *text, size_t len, size_t *count)
{
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
