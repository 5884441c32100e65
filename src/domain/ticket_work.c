/*
 * ticket_work: agent operations on tickets. See ticket_work.h.
 */
#include "domain/ticket_work.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/json_writer.h"
#include "db/db.h"
#include "domain/agents.h"
#include "domain/categories.h"
#include "domain/ticket_route.h"

/* Every operation: begin, lock, edit, apply, commit — or roll back. */
typedef enum sp_rc (*edit_fn)(struct sp_ticket_change *c, const void *in, int64_t now,
                              struct sp_problem *p);

/* One agent action on a locked ticket, in the caller's transaction.
 * *freed: the agent whose place under the open-ticket cap it freed
 * (sp_ticket_route_freed; 0: none). */
static enum sp_rc
step(struct sp_ctx *ctx, const struct sp_ticket_ref *ref, struct sp_actor actor, edit_fn edit,
     const void *in, long long *message_id, const char **created_at, long long *ticket_id,
     long long *freed, struct sp_problem *p)
{
    struct sp_ticket_state st;
    struct sp_ticket_change c;
    *freed = 0;
    if (sp_ticket_lock(ctx, ref, NULL, &st, p) != SP_OK)
        return p->rc;
    sp_ticket_change_init(&c, ctx, &st, actor);
    if (edit(&c, in, sp_clock_now_ms(), p) != SP_OK ||
        sp_ticket_apply(&c, message_id, created_at, p) != SP_OK)
        return p->rc;
    *ticket_id = st.id;
    *freed = sp_ticket_route_freed(&c);
    return SP_OK;
}

/* The same as a command: in a transaction of its own. One undone by a
 * deadlock or a serialization failure is run once more (the rollback
 * left nothing of it; the edit reads the ticket afresh): the client
 * would only have to send it again. A place it freed (resolved, closed,
 * unassigned or reassigned away) is filled from the waiting tickets
 * once it has committed (API.md §5.3–5.4). */
static enum sp_rc
run(struct sp_ctx *ctx, const struct sp_ticket_ref *ref, struct sp_actor actor, edit_fn edit,
    const void *in, long long *message_id, const char **created_at, long long *ticket_id,
    struct sp_problem *p)
{
    for (int attempt = 0;; attempt++) {
        if (sp_db_begin(ctx->db, ctx->arena, p) != SP_OK)
            return p->rc;
        long long freed;
        if (step(ctx, ref, actor, edit, in, message_id, created_at, ticket_id, &freed, p) ==
                SP_OK &&
            sp_db_commit(ctx->db, ctx->arena, p) == SP_OK) {
            sp_ticket_route_freed_hand_out(ctx, freed);
            return SP_OK;
        }
        sp_db_rollback(ctx->db, ctx->arena);
        if (attempt > 0 || !sp_db_retryable(p))
            return p->rc;
        sp_problem_init(p);
    }
}

/* The patch's lookups against the locked ticket: the agent it assigns
 * (*self: the actor), the category it files under (*cat). Each miss is a
 * field error and both are checked, so one 422 lists both (API.md §1).
 * A ticket is filed only under an active category, but the category it
 * is in stays accepted after an admin deactivates it: a field equal to the
 * current value writes nothing (API.md §5), so repeating it beside a status
 * change must not refuse the change. Moving into an inactive one is the
 * same unknown_category as an unknown slug. */
static enum sp_rc
patch_lookups(struct sp_ticket_change *c, const struct sp_ticket_patch *patch,
              struct sp_category *cat, bool *self, struct sp_problem *p)
{
    *self = false;
    memset(cat, 0, sizeof(*cat));
    struct sp_problem miss;
    sp_problem_init(&miss);
    if (patch->has_assignee && patch->assignee != 0) {
        /* Read under the lock the assignment's stamp of its row takes
         * (sp_agent_get_assignee): a deactivation in flight either
         * commits first, and is_active is read false, or waits for this
         * assignment, and hands it back. */
        struct sp_agent agent;
        if (sp_agent_get_assignee(c->ctx, patch->assignee, &agent, &miss) == SP_OK) {
            *self = c->actor.id != NULL && strcmp(agent.user_id, c->actor.id) == 0;
            /* A deactivated agent takes no work (API.md §6); the agent a
             * ticket already has may be repeated, as a category may. */
            if (!agent.is_active && agent.id != c->after.assigned_agent_id)
                return sp_problem_set(p, SP_CONFLICT, "agent_deactivated",
                                      "agent %lld is deactivated: it is given no tickets",
                                      agent.id);
        } else if (miss.rc == SP_NOT_FOUND) {
            sp_problem_field(p, "assigned_agent_id", "unknown_agent", "is not an agent");
        } else {
            *p = miss;
            return p->rc;
        }
    }
    sp_problem_init(&miss);
    if (patch->has_category && patch->category_slug != NULL) {
        if (sp_category_by_slug(c->ctx, patch->category_slug, SP_CATEGORY_ANY, cat, &miss) ==
            SP_OK) {
            if (!cat->is_active && cat->id != c->after.category_id)
                sp_category_unknown(p, SP_CATEGORY_ACTIVE);
        } else if (miss.rc == SP_INVALID) {
            sp_category_unknown(p, SP_CATEGORY_ACTIVE);
        } else {
            *p = miss;
            return p->rc;
        }
    }
    return p->rc;
}

static enum sp_rc
edit_patch(struct sp_ticket_change *c, const void *in, int64_t now, struct sp_problem *p)
{
    const struct sp_ticket_patch *patch = in;
    bool self;
    struct sp_category cat;
    if (patch_lookups(c, patch, &cat, &self, p) != SP_OK)
        return p->rc;
    if (patch->has_category && cat.id != c->after.category_id &&
        sp_ticket_set_category(c, cat.id, sp_category_slug(c->ctx, c->after.category_id, p),
                               patch->category_slug, now, p) != SP_OK)
        return p->rc;
    if (patch->has_assignee)
        sp_ticket_set_assignee(c, patch->assignee, self);
    if (patch->has_priority && sp_ticket_set_priority(c, patch->priority, NULL, now, p) != SP_OK)
        return p->rc;
    if (patch->has_status && sp_ticket_set_status(c, patch->status, now, p) != SP_OK)
        return p->rc;
    /* Filed under a routed category while nobody has it (triage): routed
     * as a new ticket of it would be (API.md §5). An assigned ticket
     * keeps its agent, and one this PATCH unassigns stays unassigned. */
    bool routed;
    if (patch->has_category && c->after.category_id != c->before.category_id &&
        c->before.assigned_agent_id == 0 &&
        sp_ticket_route(c, cat.routing, cat.team, cat.required_skill, &routed, p) != SP_OK)
        return p->rc;
    /* closed is terminal (API.md §5.1): a move out of it is refused above
     * as invalid_transition; any other change is refused here, after the
     * edit, so a PATCH repeating the current values still answers 200 */
    if (c->before.status == SP_STATUS_CLOSED && sp_ticket_changed(c))
        return sp_problem_set(p, SP_CONFLICT, "ticket_closed",
                              "the ticket is closed; it can no longer be changed");
    return SP_OK;
}

/* What a check looks up in the ticket: its misses join p. */
typedef void (*lookup_fn)(struct sp_ticket_change *c, const void *in, struct sp_problem *p);

/* Only on the way to a 422: look runs against the ticket in a transaction
 * rolled back. A ticket that cannot be read adds nothing (its 404 is the
 * next try's). */
static void
check_rolled_back(struct sp_ctx *ctx, const struct sp_ticket_ref *ref, struct sp_actor actor,
                  lookup_fn look, const void *in, struct sp_problem *p)
{
    struct sp_problem q;
    sp_problem_init(&q);
    struct sp_ticket_state st;
    if (sp_db_begin(ctx->db, ctx->arena, &q) != SP_OK)
        return;
    if (sp_ticket_lock(ctx, ref, NULL, &st, &q) == SP_OK) {
        struct sp_ticket_change c;
        sp_ticket_change_init(&c, ctx, &st, actor);
        look(&c, in, p);
    }
    sp_db_rollback(ctx->db, ctx->arena);
}

static void
look_patch(struct sp_ticket_change *c, const void *in, struct sp_problem *p)
{
    struct sp_category cat;
    bool self;
    (void)patch_lookups(c, in, &cat, &self, p);
}

void
sp_ticket_patch_check(struct sp_ctx *ctx, const struct sp_ticket_ref *ref, struct sp_actor actor,
                      const struct sp_ticket_patch *patch, struct sp_problem *p)
{
    check_rolled_back(ctx, ref, actor, look_patch, patch, p);
}

enum sp_rc
sp_ticket_patch(struct sp_ctx *ctx, const struct sp_ticket_ref *ref, struct sp_actor actor,
                const struct sp_ticket_patch *patch, long long *ticket_id, struct sp_problem *p)
{
    return run(ctx, ref, actor, edit_patch, patch, NULL, NULL, ticket_id, p);
}

static enum sp_rc
edit_reply(struct sp_ticket_change *c, const void *in, int64_t now, struct sp_problem *p)
{
    const struct sp_agent_reply *reply = in;
    if (c->after.status == SP_STATUS_CLOSED && !reply->internal)
        return sp_problem_set(p, SP_CONFLICT, "ticket_closed",
                              "the ticket is closed; the customer would never see a reply");
    sp_ticket_set_message(c, "agent", reply->body, reply->internal);
    if (!reply->internal) {
        sp_ticket_first_response(c, now);
        /* A public reply on an open ticket starts the work (API.md §5.5). */
        if (c->after.status == SP_STATUS_OPEN) {
            if (c->after.assigned_agent_id == 0) {
                /* Taking the ticket: as a claim does (edit_claim). */
                if (sp_agent_refuse_deactivated_assignee(c->ctx, reply->agent_id, p) != SP_OK)
                    return p->rc;
                sp_ticket_set_assignee(c, reply->agent_id, true);
            }
            if (!reply->has_status && sp_ticket_set_status(c, SP_STATUS_IN_PROGRESS, now, p) != SP_OK)
                return p->rc;
        }
    }
    if (reply->has_status && sp_ticket_set_status(c, reply->status, now, p) != SP_OK)
        return p->rc;
    return SP_OK;
}

enum sp_rc
sp_ticket_agent_reply(struct sp_ctx *ctx, const struct sp_ticket_ref *ref, struct sp_actor actor,
                      const struct sp_agent_reply *in, long long *message_id,
                      const char **created_at, long long *ticket_id, struct sp_problem *p)
{
    long long freed;
    if (step(ctx, ref, actor, edit_reply, in, message_id, created_at, ticket_id, &freed, p) !=
        SP_OK)
        return p->rc;
    /* A reply resolving or closing the agent's ticket frees its place:
     * filled at once, in the caller's transaction (it commits the reply
     * with the attachments). The reply locked no agent's row (it takes a
     * ticket only when nobody had it), so the hand-out's pick locks come
     * before the row's, in every pick's order. */
    return freed != 0 ? sp_ticket_route_waiting(ctx, freed, p) : SP_OK;
}

static enum sp_rc
edit_claim(struct sp_ticket_change *c, const void *in, int64_t now, struct sp_problem *p)
{
    (void)now;
    long long agent_id = *(const long long *)in;
    if (c->after.status == SP_STATUS_CLOSED)
        return sp_problem_set(p, SP_CONFLICT, "ticket_closed", "the ticket is closed");
    if (c->after.assigned_agent_id != 0 && c->after.assigned_agent_id != agent_id)
        return sp_problem_set(p, SP_CONFLICT, "already_assigned",
                              "the ticket is assigned to agent %lld", c->after.assigned_agent_id);
    /* The request's provisioning read the agent's row before the ticket
     * was locked; a deactivation committing since would have its
     * hand-back miss this ticket. Read locked, it either committed (403
     * agent_deactivated) or waits for this claim and hands it back. */
    if (sp_agent_refuse_deactivated_assignee(c->ctx, agent_id, p) != SP_OK)
        return p->rc;
    sp_ticket_set_assignee(c, agent_id, true);  /* no-op when it is already ours */
    return SP_OK;
}

enum sp_rc
sp_ticket_claim(struct sp_ctx *ctx, const struct sp_ticket_ref *ref, struct sp_actor actor,
                long long agent_id, long long *ticket_id, struct sp_problem *p)
{
    return run(ctx, ref, actor, edit_claim, &agent_id, NULL, NULL, ticket_id, p);
}

struct escalation {
    const char *reason;
    long long provider_id;
};

static enum sp_rc
edit_escalate(struct sp_ticket_change *c, const void *in, int64_t now, struct sp_problem *p)
{
    const struct escalation *e = in;
    if (c->after.status == SP_STATUS_CLOSED)
        return sp_problem_set(p, SP_CONFLICT, "ticket_closed", "the ticket is closed");
    long long provider = e->provider_id ? e->provider_id : c->after.provider_id;
    if (provider == 0)
        return sp_problem_set(p, SP_INVALID, "no_provider",
                              "the ticket has no provider; pass provider_id to escalate");
    c->after.provider_id = provider;
    c->after.escalated_at = now;
    if (c->after.priority < SP_PRIORITY_HIGH &&
        sp_ticket_set_priority(c, SP_PRIORITY_HIGH, "escalated", now, p) != SP_OK)
        return p->rc;
    struct sp_arena *a = c->ctx->arena;
    struct sp_buf meta;
    sp_buf_init(&meta, a, 128);
    struct sp_jw w;
    sp_jw_begin_object(&w, &meta);
    sp_jw_kstr(&w, "reason", e->reason);
    sp_jw_kint(&w, "provider_id", provider);
    sp_jw_end(&w);
    sp_ticket_add_event(c, "escalated", meta.data);
    struct sp_buf payload;
    sp_buf_init(&payload, a, 256);
    sp_ticket_payload_begin(&w, &payload, &c->after);
    sp_jw_kint(&w, "provider_id", provider);
    sp_jw_kstr(&w, "priority", sp_priority_name(c->after.priority));
    sp_jw_kstr(&w, "reason", e->reason);
    sp_jw_kstr(&w, "booking_id", c->after.booking_id);
    sp_jw_end(&w);
    const char *recipient = sp_arena_sprintf(a, "%lld", provider);
    sp_ticket_add_outbox(c, "notification", "ticket.escalated", "provider_operations", recipient,
                         payload.data);
    sp_ticket_add_outbox(c, "webhook", "ticket.escalated", "webhook", NULL, payload.data);
    /* An escalation about a booking tells the booking service too
     * (SUPPORT_BOOKING_URL, through the dispatcher). */
    if (c->after.booking_id != NULL)
        sp_ticket_add_outbox(c, "notification", "ticket.escalated", "booking",
                             c->after.booking_id, payload.data);
    return SP_OK;
}

static void
look_provider(struct sp_ticket_change *c, const void *in, struct sp_problem *p)
{
    (void)in;
    if (c->after.provider_id == 0)
        sp_problem_field(p, "provider_id", "no_provider",
                         "is required: the ticket has no provider of its own");
}

void
sp_ticket_escalate_check(struct sp_ctx *ctx, const struct sp_ticket_ref *ref,
                         struct sp_actor actor, struct sp_problem *p)
{
    check_rolled_back(ctx, ref, actor, look_provider, NULL, p);
}

enum sp_rc
sp_ticket_escalate(struct sp_ctx *ctx, const struct sp_ticket_ref *ref, struct sp_actor actor,
                   const char *reason, long long provider_id, long long *ticket_id,
                   struct sp_problem *p)
{
    struct escalation e = {reason, provider_id};
    return run(ctx, ref, actor, edit_escalate, &e, NULL, NULL, ticket_id, p);
}
