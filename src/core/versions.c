/*
 * versions: the versions a precondition accepts. See versions.h.
 */
#include "core/versions.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"

struct sp_versions
sp_versions_one(struct sp_arena *a, long long v)
{
    return v == 0 ? SP_VERSIONS_ANY : sp_versions_add(a, SP_VERSIONS_ANY, v);
}

struct sp_versions
sp_versions_add(struct sp_arena *a, struct sp_versions vs, long long v)
{
    for (size_t i = 0; i < vs.n; i++)
        if (vs.v[i] == v)
            return vs;
    long long *grown = sp_arena_alloc(a, (vs.n + 1) * sizeof(*grown));
    if (vs.n > 0)
        memcpy(grown, vs.v, vs.n * sizeof(*grown));
    grown[vs.n] = v;
    return (struct sp_versions){vs.n + 1, grown};
}

bool
sp_versions_hold(struct sp_versions vs, long long version)
{
    if (vs.n == 0)
        return true;
    for (size_t i = 0; i < vs.n; i++)
        if (vs.v[i] == version)
            return true;
    return false;
}

/* The versions joined by sep, in a. */
static const char *
joined(struct sp_arena *a, struct sp_versions vs, const char *sep)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 16 + 8 * vs.n);
    for (size_t i = 0; i < vs.n; i++)
        sp_buf_printf(&b, "%s%lld", i > 0 ? sep : "", vs.v[i]);
    return b.data;
}

const char *
sp_versions_param(struct sp_arena *a, struct sp_versions vs)
{
    return vs.n == 0 ? NULL : sp_arena_sprintf(a, "{%s}", joined(a, vs, ","));
}

const char *
sp_versions_text(struct sp_arena *a, struct sp_versions vs)
{
    return vs.n == 0 ? "any" : joined(a, vs, " or ");
}
