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
