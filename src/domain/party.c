/*
 * party: customers and staff apart. See party.h.
 */
#include "domain/party.h"

#include "core/arena.h"

const char *
sp_party_key(struct sp_arena *a, struct sp_party p)
{
    return p.staff ? sp_arena_sprintf(a, "staff:%s", p.sub) : p.sub;
}
