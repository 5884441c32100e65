/*
 * ai_in_flight: the per-user and per-node limits of AI queries waiting
 * on a call out. See ai_in_flight.h.
 */
#include "domain/ai_in_flight.h"

#include <errno.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/slots.h"
#include "db/db.h"

/* Session locks (not a transaction's: the query's statements commit on
 * their own while it waits), in the two-key space of the other
 * application locks (7311947 routing, 7311948 chat opens). */
#define USER_LOCK_CLASS "7311949"
#define USER_LOCK_KEY "hashtext('ai-in-flight:' || $1 || ':' || $2)"

static struct sp_stmt user_lock_stmt =
    SP_STMT("ai_in_flight_lock",
            "SELECT pg_try_advisory_lock(" USER_LOCK_CLASS ", " USER_LOCK_KEY ")", 2);
static struct sp_stmt user_unlock_stmt =
    SP_STMT("ai_in_flight_unlock",
            "SELECT pg_advisory_unlock(" USER_LOCK_CLASS ", " USER_LOCK_KEY ")", 2);

/* The first free of the user's locks: its number, -1 when all are held,
 * -2 when the statement failed (p). */
static int
lock_user(struct sp_ctx *ctx, const char *user_key, struct sp_problem *p)
{
    for (int i = 0; i < SP_AI_USER_IN_FLIGHT; i++) {
        const char *params[2] = {user_key, sp_arena_sprintf(ctx->arena, "%d", i)};
        PGresult *r = sp_db_exec(ctx->db, ctx->arena, &user_lock_stmt, params, p);
        if (r == NULL)
            return -2;
        if (sp_db_bool(r, 0, 0))
            return i;
    }
    return -1;
}

static void
unlock_user(struct sp_ctx *ctx, const char *user_key, int slot)
{
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    const char *params[2] = {user_key, sp_arena_sprintf(ctx->arena, "%d", slot)};
    sp_db_exec(ctx->db, ctx->arena, &user_unlock_stmt, params, &ignored);
}

/* A node slot into held->node_fd, or the problem: all taken (ai_busy),
 * or the slot files unusable (our fault, logged here with errno). */
static enum sp_rc
take_node_slot(const struct sp_ai_in_flight_limits *lim, struct sp_ai_in_flight *held,
               struct sp_problem *p)
{
    switch (sp_slot_take(lim->slot_dir, "ai-in-flight", lim->node_max, &held->node_fd)) {
    case SP_SLOT_TAKEN:
        return SP_OK;
    case SP_SLOT_FULL:
        /* Shedding load is no fault: a warning, not the edge's error line. */
        sp_log_msg(SP_LOG_WARN, "ai_busy", "all %ld AI slots of this node are in use",
                   lim->node_max);
        sp_problem_set(p, SP_UNAVAILABLE, "ai_busy",
                       "the assistant is answering as many questions as it can; try again"
                       " in a moment");
        p->logged = true;
        return p->rc;
    case SP_SLOT_FAILED:
        break;
    }
    sp_log_step_failed(SP_LOG_ERROR, "ai_in_flight_failed", "slot file", strerror(errno));
    sp_problem_set(p, SP_ERROR, "internal", "the AI slot files cannot be used");
    p->logged = true;
    return p->rc;
}

enum sp_rc
sp_ai_in_flight_enter(struct sp_ctx *ctx, const struct sp_ai_in_flight_limits *lim,
                      const char *user_key, struct sp_ai_in_flight *held, struct sp_problem *p)
{
    *held = (struct sp_ai_in_flight){NULL, -1, -1};
    int slot = lock_user(ctx, user_key, p);
    if (slot == -2)
        return p->rc;
    if (slot == -1)
        return sp_problem_set(p, SP_RATE_LIMITED, "ai_in_flight",
                              "%d of your questions are being answered; ask again once one"
                              " is", SP_AI_USER_IN_FLIGHT);
    held->user_key = user_key;
    held->user_slot = slot;
    if (take_node_slot(lim, held, p) != SP_OK) {
        sp_ai_in_flight_leave(ctx, held);
        return p->rc;
    }
    return SP_OK;
}

void
sp_ai_in_flight_leave(struct sp_ctx *ctx, struct sp_ai_in_flight *held)
{
    sp_slot_release(held->node_fd);
    held->node_fd = -1;
    if (held->user_key != NULL)
        unlock_user(ctx, held->user_key, held->user_slot);
    held->user_key = NULL;
}
