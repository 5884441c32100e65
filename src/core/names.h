/*
 * names: enum <-> name tables. Every enum that has API names (statuses,
 * priorities, tiers, agent statuses, sort orders) keeps one
 * NULL-terminated table indexed by the enum; this is the one lookup.
 * Must not: know HTTP, SQL or the domain.
 */
#ifndef SP_NAMES_H
#define SP_NAMES_H

/* The index of s in the NULL-terminated names; -1 when absent (or s NULL). */
int sp_name_index(const char *const *names, const char *s);

/* The lookups of an enum with such a table, prefix##_names[max + 1]:
 * prefix##_name(v), "unknown" out of range, and prefix##_parse(s, &v),
 * false (leaving v alone) when s is not a name. SP_NAMES_DECLARE in the
 * header (needs <stdbool.h>), SP_NAMES_DEFINE beside the table. */
#define SP_NAMES_DECLARE(prefix, type, max)                                          \
    extern const char *const prefix##_names[(max) + 1];                              \
    const char *prefix##_name(type v);                                               \
    bool prefix##_parse(const char *s, type *out)
#define SP_NAMES_DEFINE(prefix, type, max)                                           \
    const char *prefix##_name(type v) { return v < (max) ? prefix##_names[v] : "unknown"; } \
    bool prefix##_parse(const char *s, type *out)                                    \
    {                                                                                \
        int i = sp_name_index(prefix##_names, s);                                    \
        if (i >= 0)                                                                  \
            *out = (type)i;                                                          \
        return i >= 0;                                                               \
    }

#endif
