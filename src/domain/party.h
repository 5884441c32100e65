/*
 * party: whom a per-user thing belongs to — an upload, an Idempotency-Key.
 * The JWT `sub` alone does not say: customers and staff are numbered
 * apart, so customer 7150 and agent 7150 are two people, kept apart as
 * everywhere else (a customer's tickets and chats by customer_id, an
 * agent's by the agents row). Staff is support_agent and support_admin
 * alike: one person whatever their role today (their agents row goes by
 * user id alone), so an agent made admin keeps their uploads and keys.
 * Must not: know HTTP (api/common.c makes a party of a principal:
 * sp_api_party).
 */
#ifndef SP_PARTY_H
#define SP_PARTY_H

#include <stdbool.h>

struct sp_arena;

struct sp_party {
    const char *sub;   /* the user id (sp_user_id_valid: digits only) */
    bool staff;        /* support_agent or support_admin; false: a customer */
};

/* The text naming p in a per-user key (idempotency keys, rate-limit
 * buckets): a customer's sub as it is (as every key was written before
 * staff were set apart, so a customer's keys stay valid), "staff:<sub>"
 * for staff. A sub is digits only, so the two never meet. Arena-owned
 * or p.sub. */
const char *sp_party_key(struct sp_arena *a, struct sp_party p);

#endif
