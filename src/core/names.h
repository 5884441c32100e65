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

#endif
