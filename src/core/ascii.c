/*
 * ascii: C-locale whitespace without <ctype.h>. See ascii.h.
 */
#include "core/ascii.h"

#include <string.h>

bool
sp_ascii_only(const char *s, size_t n, const char *set)
{
    size_t set_len = strlen(set);
    for (size_t i = 0; i < n; i++)
        if (memchr(set, s[i], set_len) == NULL)
            return false;
    return true;
}

void
sp_ascii_trim(const char **b, const char **e)
{
    while (*b < *e && sp_ascii_space(**b))
        (*b)++;
    while (*e > *b && sp_ascii_space((*e)[-1]))
        (*e)--;
}

bool
sp_ascii_slug(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n >= 1 && n <= max && s[0] != '-' && s[n - 1] != '-' && strstr(s, "--") == NULL &&
           sp_ascii_only(s, n, "abcdefghijklmnopqrstuvwxyz0123456789-");
}

char *
sp_ascii_lower(char *s)
{
    for (char *c = s; *c != '\0'; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return s;
}
