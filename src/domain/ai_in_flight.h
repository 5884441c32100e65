/*
 * ai_in_flight: how many AI queries may wait on a call out at once
 * (docs/API.md §9, "In flight") — a provider or an embeddings endpoint
 * that hangs holds the worker that asked for up to SUPPORT_AI_TIMEOUT_MS,
 * and a node has few workers. Two limits, both taken before anything is
 * called and never waited for:
 *  - per user, SP_AI_USER_IN_FLIGHT at once, cluster-wide: session
 *    advisory locks of the worker's own connection, keyed by the user
 *    (a dead worker's session ends, and its locks with it); one more is
 *    429 ai_in_flight;
 *  - per node, SUPPORT_AI_MAX_IN_FLIGHT at once over all its workers:
 *    slot files locked with flock (core/slots) beside the FastCGI socket,
 *    freed by the kernel when a worker dies; one more is 503 ai_busy.
 * Must not: know HTTP (the Retry-After of a refusal is the caller's).
 */
#ifndef SP_AI_IN_FLIGHT_H
#define SP_AI_IN_FLIGHT_H

#include "core/problem.h"
#include "domain/ctx.h"

#define SP_AI_USER_IN_FLIGHT 2     /* one user's queries calling out at once */
#define SP_AI_IN_FLIGHT_RETRY_S 1  /* the Retry-After of either refusal */

struct sp_ai_in_flight {
    const char *user_key;   /* the party key whose lock is held; NULL: none */
    int user_slot;          /* which of its SP_AI_USER_IN_FLIGHT locks */
    int node_fd;            /* the node slot's descriptor; -1: none */
};

/* The limits: the node's slot files are <slot_dir>/ai-in-flight.<i>,
 * node_max of them (SUPPORT_AI_MAX_IN_FLIGHT). */
struct sp_ai_in_flight_limits {
    const char *slot_dir;
    long node_max;
};

/* Takes a place for user_key (sp_party_key) under both limits, the
 * user's first: SP_OK with *held to give back with sp_ai_in_flight_leave
 * on every path; else *held holds nothing and p is 429 ai_in_flight,
 * 503 ai_busy, or what the database said (its lock statement failed). */
enum sp_rc sp_ai_in_flight_enter(struct sp_ctx *ctx, const struct sp_ai_in_flight_limits *lim,
                                 const char *user_key, struct sp_ai_in_flight *held,
                                 struct sp_problem *p);

/* Gives back what enter took (nothing taken: nothing to do). A lock the
 * connection lost meanwhile (a reconnect) went with its session. */
void sp_ai_in_flight_leave(struct sp_ctx *ctx, struct sp_ai_in_flight *held);

#endif
