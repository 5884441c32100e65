/*
 * tier: the customer tiers of API.md §2 (`tier` claim) and their names,
 * one table for the JWT parser, the rules engine, SLA and the admin API.
 * Must not: know HTTP, SQL or the domain.
 */
#ifndef SP_TIER_H
#define SP_TIER_H

#include <stdbool.h>

enum sp_tier { SP_TIER_STANDARD = 0, SP_TIER_PREMIUM, SP_TIER_VIP, SP_TIER_MAX };

/* "standard", "premium", "vip", NULL-terminated (field tables take it). */
extern const char *const sp_tier_names[SP_TIER_MAX + 1];

/* The name of t; NULL when out of range. */
const char *sp_tier_name(enum sp_tier t);
/* Exact names only; false leaves *out alone. */
bool sp_tier_parse(const char *s, enum sp_tier *out);

#endif
