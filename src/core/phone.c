/*
 * phone: E.164 numbers from what people write. See phone.h.
 */
#include "core/phone.h"

#include <stdbool.h>
#include <string.h>

#include "core/arena.h"

#define E164_MIN_DIGITS 8
#define E164_MAX_DIGITS 15

static bool
blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool
separator(char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

const char *
sp_phone_e164(struct sp_arena *a, const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && blank(s[n - 1]))
        n--;
    while (n > 0 && blank(*s)) {
        s++;
        n--;
    }
    size_t at;
    if (n > 0 && s[0] == '+')
        at = 1;
    else if (n > 1 && s[0] == '0' && s[1] == '0')
        at = 2;
    else
        return NULL;
    char digits[E164_MAX_DIGITS + 2] = "+";
    size_t nd = 0;
    for (; at < n; at++) {
        char c = s[at];
        if (c >= '0' && c <= '9') {
            if (nd == E164_MAX_DIGITS || (nd == 0 && c == '0'))
                return NULL;
            digits[1 + nd++] = c;
        } else if (!separator(c)) {
            return NULL;
        }
    }
    if (nd < E164_MIN_DIGITS)
        return NULL;
    digits[1 + nd] = '\0';
    return sp_arena_strdup(a, digits);
}
