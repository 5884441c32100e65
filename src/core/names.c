/*
 * names: see names.h.
 */
#include "core/names.h"

#include <stddef.h>
#include <string.h>

int
sp_name_index(const char *const *names, const char *s)
{
    for (int i = 0; s != NULL && names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}
