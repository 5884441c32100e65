/*
 * names: enum <-> name tables. Every enum that has API names (statuses,
 * priorities, tiers, agent statuses, sort orders) keeps one
 * NULL-terminated table indexed by the enum; this is the one lookup.
 * And the key a person's display name is compared by: what two names a
 * customer could not tell apart share.
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

#include <stddef.h>

struct sp_arena;

/* The key display name s is compared by (API.md §5 "Display names"): two
 * names with one key read the same to a customer. Compatibility-
 * decomposed and case folded (fullwidth, mathematical and ligature
 * letters are the plain ones, "ß" is "ss"), marks on letters dropped
 * ("Zoë" is "Zoe"), invisible characters dropped, the Greek, Cyrillic and
 * Armenian letters that show as Latin ones made those ("Systеm" with a
 * Cyrillic "е" is "System"), "0" read as "o", "1" as "l", "rn" as "m",
 * and spaces and punctuation dropped ("S.Y.S.T.E.M" is "System"). Not
 * UTS #39's whole table: letters of other scripts that look alike stay
 * apart. Symbols, emoji, superscripts and such decorations are spaces
 * ("System™" is "System"), and so are blank-looking characters (U+2800,
 * the Hangul fillers). "" when nothing in s is a letter or digit; NULL
 * when s is NULL or not UTF-8. In the arena. */
const char *sp_name_key(struct sp_arena *a, const char *s);

/* The platform's own sender name display name s poses as, NULL when none:
 * same key as "System", "Support", "Our support team", "Assistant",
 * "AI assistant", "Agent", "Customer" or from_name (the mail's From name,
 * SUPPORT_MAIL_FROM_NAME; NULL: none), or beginning with the words of
 * "System", "Support", "Our support team" or from_name ("System notice",
 * "Support Team Security"). The reserved name as written, in the arena or
 * static. */
const char *sp_name_reserved(struct sp_arena *a, const char *s, const char *from_name);

/* s[0..n) case folded for an exact match: ASCII lower case when ASCII,
 * else full Unicode case folding made NFC (so "JÜRGEN", "jürgen" and a
 * "jürgen" of u + combining diaeresis are one; "ß" is "ss"). Unlike
 * sp_name_key nothing else is dropped or mapped. NULL when not UTF-8. In
 * the arena. */
const char *sp_name_fold(struct sp_arena *a, const char *s, size_t n);

/* s[0..n) as a name matched exactly but typed by a person (a skill, a
 * team: API.md §6): invisible characters dropped (default ignorable —
 * zero-width space, joiners, soft hyphen — and the blank-looking fillers:
 * "tech\u200bnical" is "technical"), then case folded in NFKC, the
 * compatibility forms made plain (fullwidth "ｆｕｌｌ" is "full", "ﬁ" is
 * "fi"). NULL when not UTF-8 or nothing is left. In the arena. */
const char *sp_name_fold_compat(struct sp_arena *a, const char *s, size_t n);

#endif
