/*
 * tier: see tier.h.
 */
#include "core/tier.h"

#include <stddef.h>
#include <string.h>

#include "core/names.h"

const char *const sp_tier_names[SP_TIER_MAX + 1] = {"standard", "premium", "vip", NULL};

const char *
sp_tier_name(enum sp_tier t)
{
    return (t >= SP_TIER_STANDARD && t < SP_TIER_MAX) ? sp_tier_names[t] : NULL;
}

bool
sp_tier_parse(const char *s, enum sp_tier *out)
{
    int i = sp_name_index(sp_tier_names, s);
    if (i >= 0)
        *out = (enum sp_tier)i;
    return i >= 0;
}
