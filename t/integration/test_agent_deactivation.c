/*
 * test_agent_deactivation: an admin takes an agent out of the support
 * team (docs/API.md §6, sql/074). PATCH /support/admin/agents/:id
 * {"is_active":false}: the agent is routed nothing more — whatever status
 * it sets itself, which it cannot, since every staff request of it is 403
 * agent_deactivated, its first request on a worker included —; its open,
 * in-progress and pending tickets are unassigned in the same transaction
 * (an `unassigned` event each, metadata.reason agent_deactivated) and
 * left to routing, which hands them on; its active chats go back to
 * waiting with an `agent_left` message, and on to whoever is free (else
 * they wait). Nobody may assign it a ticket or
 * transfer it a chat. {"is_active":true} gives its access back, its status
 * as it was, its old work not. A change of an agent's user_id while it
 * holds a ticket not closed or a chat not ended would hand that work to
 * another person unrecorded: 409 agent_has_work. An admin cannot
 * deactivate itself (409 cannot_deactivate_self: it would be locked out).
 * A ticket of a deactivated agent that the customer's reply reopens is
 * handed back to routing, not to the agent; an assignment racing a
 * deactivation waits for it and is refused.
 *
 * Every team and category is fresh, so other programs sharing the
 * database never meet them.
 */
#include "harness.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------- */

static const char *
round_robin(const char *team)
{
    return sp_t_admin_category_new(sp_t_fmt("\"routing\":\"round_robin\",\"team\":\"%s\"", team));
}

/* A ticket of customer u in category slug. */
static const char *
create_as(const struct sp_t_user *u, const char *slug, const char *subject)
{
    return sp_t_ticket_create_json(
        u, sp_t_fmt("{\"subject\":%s,\"description\":\"Please help\",\"category\":\"%s\"}",
                    sp_t_jq(subject), slug));
}

/* A ticket of a fresh customer in category slug. */
static const char *
create(const char *slug, const char *subject)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    return create_as(&u, slug, subject);
}

/* A chat of a fresh customer in category slug; its public id. */
static const char *
chat(const char *slug)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json(
        "/support/chat/session", u.token,
        sp_t_fmt("{\"category\":\"%s\",\"message\":\"hello\"}", slug));
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    return id;
}

/* The chat's status and agent, "waiting/" when it has none. */
static const char *
chat_state(const char *id)
{
    return sp_t_sql("SELECT status || '/' || coalesce(assigned_agent_id::text, '')"
                    " FROM support_chat_sessions WHERE public_id = '%s'", id);
}

/* PATCH /support/admin/agents/:id as a fresh admin. */
static struct sp_t_resp *
admin_patch(int64_t id, const char *json)
{
    return sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)id), json);
}

static void
assert_deactivated(struct sp_t_resp *r)
{
    sp_t_assert_problem(r, 403, "agent_deactivated");
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "detail"), "deactivated"));
    sp_t_resp_free(r);
}

/* The ticket was handed back: unassigned, by the system, reason
 * agent_deactivated, from agent; waiting for routing again. */
static void
assert_handed_back(const char *pid, int64_t agent)
{
    struct sp_t_user staff = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *ev = sp_t_agent_events(&staff, pid);
    ck_assert_uint_eq(sp_t_events_count(ev, "unassigned"), 1);
    struct json_object *un = sp_t_events_last(ev, "unassigned");
    ck_assert_str_eq(sp_t_jstr(un, "actor_type"), "system");
    struct json_object *meta = sp_t_jobj(un, "metadata");
    ck_assert_int_eq(sp_t_jint(meta, "from"), agent);
    sp_t_assert_jnull(meta, "to");
    ck_assert_str_eq(sp_t_jstr(meta, "reason"), "agent_deactivated");
    sp_t_resp_free(ev);
    ck_assert_str_eq(sp_t_sql("SELECT left_to_routing FROM support_tickets"
                              " WHERE public_id = '%s'", pid), "t");
}

/* ---- deactivation ------------------------------------------------------------ */

START_TEST(a_deactivated_agent_is_refused_routed_nothing_and_its_work_handed_on)
{
    const char *team = sp_t_unique("team");
    struct sp_t_user ann;
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), &ann);
    const char *c = round_robin(team);
    const char *pids[2] = {create(c, "first"), create(c, "second")};
    const char *resolved = create(c, "resolved");
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(sp_t_db_assignee(pids[i]), a);
    sp_t_db_ticket_set_status(resolved, "resolved");
    const char *ch = chat(c);
    ck_assert_str_eq(chat_state(ch), sp_t_fmt("active/%lld", (long long)a));
    /* Ann has been seen by the workers (the old per-worker memory of whom
     * they provisioned let her through for good). */
    for (int i = 0; i < 4; i++) {
        struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s", pids[0]), ann.token);
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
    }
    /* Bob joins the team, free, with nothing waiting for him. */
    struct sp_t_user bob;
    int64_t b = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), &bob);

    struct sp_t_resp *r = admin_patch(a, "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    ck_assert(!json_object_get_boolean(sp_t_jget(r->json, "is_active")));
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");  /* hers, unchanged */
    sp_t_resp_free(r);

    /* Her tickets, handed back in the same transaction. */
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(sp_t_db_assignee(pids[i]), 0);
        assert_handed_back(pids[i], a);
    }
    ck_assert_int_eq(sp_t_db_assignee(resolved), a);  /* not open: it stays */
    /* Her chat went back to waiting (agent_left), and on to Bob, free. */
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(m.payload->>'event', ',' ORDER BY m.id)"
                              " FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.sender_type = 'system'", ch),
                     "agent_joined,agent_left,agent_joined");
    ck_assert_str_eq(sp_t_sql("SELECT payload->>'agent_id' FROM support_chat_messages"
                              " WHERE payload->>'event' = 'agent_left' AND session_id ="
                              " (SELECT id FROM support_chat_sessions WHERE public_id = '%s')",
                              ch),
                     sp_t_fmt("%lld", (long long)a));
    ck_assert_str_eq(chat_state(ch), sp_t_fmt("active/%lld", (long long)b));

    /* Every staff request of hers is refused, on every worker. */
    for (int i = 0; i < 4; i++) {
        assert_deactivated(sp_t_get(sp_t_fmt("/support/agent/tickets/%s", pids[0]), ann.token));
        assert_deactivated(sp_t_get("/support/agent/me", ann.token));
    }
    assert_deactivated(sp_t_patch_json("/support/agent/me", ann.token, "{\"status\":\"active\"}"));

    /* Nothing is routed to her: a new ticket of her team goes to Bob, and
     * the monitor's pass hands hers on to him. */
    const char *later = create(c, "after");
    ck_assert_int_eq(sp_t_db_assignee(later), b);
    const char *const once[] = {"--once", NULL};
    const char *out;
    int rc = sp_t_job_run("ticket-sla-monitor", NULL, once, &out);
    ck_assert_msg(rc == 0, "ticket-sla-monitor exited %d:\n%s", rc, out);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(sp_t_db_assignee(pids[i]), b);

    /* Nobody gives her work by hand either. */
    r = sp_t_request("PATCH", sp_t_fmt("/support/agent/tickets/%s", pids[0]), bob.token,
                     SP_T_JSON, sp_t_fmt("{\"assigned_agent_id\":%lld}", (long long)a), NULL);
    sp_t_assert_problem(r, 409, "agent_deactivated");
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_assignee(pids[0]), b);
    r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", ch), bob.token,
                       sp_t_fmt("{\"to\":\"agent\",\"agent_id\":%lld}", (long long)a));
    sp_t_assert_problem(r, 409, "agent_unavailable");
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "detail"), "deactivated"));
    sp_t_resp_free(r);

    /* Reactivated: her access back, her status as it was, her old work
     * not. */
    r = admin_patch(a, "{\"is_active\":true}");
    sp_t_assert_json(r, 200);
    ck_assert(json_object_get_boolean(sp_t_jget(r->json, "is_active")));
    sp_t_resp_free(r);
    r = sp_t_get("/support/agent/me", ann.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");
    ck_assert(json_object_get_boolean(sp_t_jget(r->json, "is_active")));
    sp_t_resp_free(r);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(sp_t_db_assignee(pids[i]), b);
    ck_assert_str_eq(chat_state(ch), sp_t_fmt("active/%lld", (long long)b));
}
END_TEST

/* With nobody free, a chat its agent left waits, first in the queue. */
START_TEST(a_deactivated_agents_chat_waits_when_nobody_is_free)
{
    const char *team = sp_t_unique("team");
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    const char *ch = chat(round_robin(team));
    ck_assert_str_eq(chat_state(ch), sp_t_fmt("active/%lld", (long long)a));
    struct sp_t_resp *r = admin_patch(a, "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(chat_state(ch), "waiting/");
    /* the next agent of the team takes it */
    int64_t b = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    ck_assert_str_eq(chat_state(ch), sp_t_fmt("active/%lld", (long long)b));
}
END_TEST

/* An agent row an admin made deactivated refuses its user's very first
 * request (the row provisioned for it exists: nothing is created). */
START_TEST(a_deactivated_agent_is_refused_from_its_first_request)
{
    struct sp_t_user u;
    int64_t id = sp_t_admin_agent_new("\"is_active\":false", &u);
    struct sp_t_resp *r = sp_t_admin("GET", sp_t_fmt("/support/admin/agents/%lld", (long long)id),
                                     NULL);
    sp_t_assert_json(r, 200);
    ck_assert(!json_object_get_boolean(sp_t_jget(r->json, "is_active")));
    sp_t_resp_free(r);
    assert_deactivated(sp_t_get("/support/agent/tickets", u.token));
    assert_deactivated(sp_t_get("/support/agent/dashboard", u.token));
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'", u.sub),
                     "1");
    /* a bad value is the field's error */
    r = admin_patch(id, "{\"is_active\":\"no\"}");
    sp_t_assert_invalid(r, "is_active", "wrong_type");
    sp_t_resp_free(r);
}
END_TEST

/* ---- user_id --------------------------------------------------------------- */

START_TEST(changing_the_user_id_of_an_agent_with_work_is_409)
{
    const char *team = sp_t_unique("team");
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    const char *before = sp_t_fmt("%s", sp_t_sql("SELECT user_id FROM support_agents"
                                                 " WHERE id = %lld", (long long)a));
    const char *c = round_robin(team);
    const char *pid = create(c, "held");
    ck_assert_int_eq(sp_t_db_assignee(pid), a);
    const char *next = sp_t_user_new(SP_ROLE_AGENT).sub;
    const char *body = sp_t_fmt("{\"user_id\":\"%s\"}", next);

    /* A ticket not closed (resolved may be reopened) is work. */
    static const char *const held[] = {"open", "pending_customer", "resolved"};
    for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
        sp_t_db_ticket_set_status(pid, held[i]);
        struct sp_t_resp *r = admin_patch(a, body);
        sp_t_assert_problem(r, 409, "agent_has_work");
        ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "detail"), "1 ticket not closed"));
        sp_t_resp_free(r);
        ck_assert_str_eq(sp_t_sql("SELECT user_id FROM support_agents WHERE id = %lld",
                                  (long long)a), before);
    }
    /* The same user_id is no change. */
    struct sp_t_resp *r = admin_patch(a, sp_t_fmt("{\"user_id\":\"%s\"}", before));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);

    /* A chat not ended is work too. */
    sp_t_db_ticket_set_status(pid, "closed");
    const char *ch = chat(c);
    ck_assert_str_eq(chat_state(ch), sp_t_fmt("active/%lld", (long long)a));
    r = admin_patch(a, body);
    sp_t_assert_problem(r, 409, "agent_has_work");
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "detail"), "1 chat not ended"));
    sp_t_resp_free(r);
    sp_t_sql("UPDATE support_chat_sessions SET status = 'closed', ended_at = now()"
             " WHERE public_id = '%s'", ch);

    /* Nothing held: allowed. */
    r = admin_patch(a, body);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "user_id"), next);
    sp_t_resp_free(r);
}
END_TEST

/* A deactivated agent's user_id is what keeps that person out: moved, the
 * person's next request would provision a fresh, active row (QA). 409,
 * unless the same PATCH reactivates it. */
START_TEST(a_deactivated_agents_user_id_stays)
{
    struct sp_t_user gone = sp_t_user_new(SP_ROLE_AGENT);
    int64_t a = sp_t_agent_id(&gone);
    struct sp_t_resp *r = admin_patch(a, "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    const char *next = sp_t_user_new(SP_ROLE_AGENT).sub;
    r = admin_patch(a, sp_t_fmt("{\"user_id\":\"%s\"}", next));
    sp_t_assert_problem(r, 409, "agent_deactivated");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT user_id FROM support_agents WHERE id = %lld",
                              (long long)a), gone.sub);
    r = sp_t_get("/support/agent/me", gone.token);
    sp_t_assert_problem(r, 403, "agent_deactivated");
    sp_t_resp_free(r);
    /* reactivated in the same PATCH: the move is the admin's to make */
    r = admin_patch(a, sp_t_fmt("{\"user_id\":\"%s\",\"is_active\":true}", next));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "user_id"), next);
    sp_t_resp_free(r);
}
END_TEST

/* The fields only an admin sets are refused on the agent's own PATCH,
 * not ignored with a 200 (QA), and nothing of the PATCH is applied. */
START_TEST(an_agent_cannot_set_the_admins_fields_of_its_own_row)
{
    struct sp_t_user ann = sp_t_user_new(SP_ROLE_AGENT);
    int64_t a = sp_t_agent_id(&ann);
    struct sp_t_resp *r =
        sp_t_patch_json("/support/agent/me", ann.token,
                        "{\"status\":\"away\",\"is_active\":false,\"team\":\"tech\"}");
    sp_t_assert_invalid(r, "is_active", "not_allowed");
    sp_t_assert_invalid(r, "team", "not_allowed");
    ck_assert_int_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT status || '/' || is_active FROM support_agents"
                              " WHERE id = %lld", (long long)a), "active/true");
}
END_TEST


/* ---- follow-ups ------------------------------------------------------------ */

/* An admin's own row: deactivated, every request of its would be 403,
 * the admin API's included, so nobody might be left to undo it. */
START_TEST(an_admin_cannot_deactivate_itself)
{
    struct sp_t_user me = sp_t_user_new(SP_ROLE_ADMIN);
    int64_t id = sp_t_agent_id(&me);
    const char *path = sp_t_fmt("/support/admin/agents/%lld", (long long)id);
    struct sp_t_resp *r =
        sp_t_request("PATCH", path, me.token, SP_T_JSON, "{\"is_active\":false}", NULL);
    sp_t_assert_problem(r, 409, "cannot_deactivate_self");
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "detail"), "your own agent row"));
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT is_active FROM support_agents WHERE id = %lld",
                              (long long)id), "t");
    /* still an admin; its other fields are its to change; another admin
     * may deactivate it */
    r = sp_t_request("PATCH", path, me.token, SP_T_JSON, "{\"is_active\":true}", NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = admin_patch(id, "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    assert_deactivated(sp_t_get("/support/admin/agents", me.token));
}
END_TEST

/* The customer's reply reopens a resolved ticket of a deactivated agent:
 * it goes back to routing (unassigned, by the system, reason
 * agent_deactivated) and on to whoever is free, not to the agent. */
START_TEST(a_reopened_ticket_of_a_deactivated_agent_is_handed_back)
{
    const char *team = sp_t_unique("team");
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    const char *c = round_robin(team);
    struct sp_t_user cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = create_as(&cust, c, "reopen");
    ck_assert_int_eq(sp_t_db_assignee(pid), a);
    sp_t_db_ticket_set_status(pid, "resolved");
    struct sp_t_resp *r = admin_patch(a, "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_assignee(pid), a);  /* resolved: it stays */

    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", pid), cust.token,
                       "{\"body\":\"It broke again\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_assignee(pid), 0);
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_tickets WHERE public_id = '%s'", pid),
                     "open");
    assert_handed_back(pid, a);
    /* routing hands it on: the next agent of the team takes it */
    int64_t b = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    ck_assert_int_eq(sp_t_db_assignee(pid), b);
}
END_TEST

/* Whether some backend waits for the held transaction db (the PATCH
 * below, for the agent's row it updated: to share it, or, before the fix,
 * to stamp its last assignment after reading it active), waited for up
 * to 5 s. */
static bool
a_backend_waits_for(PGconn *db)
{
    PGresult *x = PQexec(db, "SELECT pg_current_xact_id()::xid::text");
    ck_assert_int_eq(PQresultStatus(x), PGRES_TUPLES_OK);
    const char *xid = sp_t_fmt("%s", PQgetvalue(x, 0, 0));
    PQclear(x);
    for (int i = 0; i < 50; i++) {
        if (strcmp(sp_t_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid'"
                            " AND NOT granted AND transactionid::text = '%s'", xid),
                   "0") != 0)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

/* A request racing a deactivation that db holds uncommitted: sent from a
 * child, it must wait for the agent's row (seen in pg_locks), and once db
 * commits, be refused with status and agent_deactivated. */
static void
assert_waits_then_refused(PGconn *db, const char *method, const char *path, const char *token,
                          const char *body, long status)
{
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        struct sp_t_resp *r = sp_t_request(method, path, token, body != NULL ? SP_T_JSON : NULL,
                                           body, NULL);
        bool refused = r->status == status && strstr(r->body, "agent_deactivated") != NULL;
        if (!refused)
            fprintf(stderr, "the racing %s %s: %ld %s\n", method, path, r->status, r->body);
        _exit(refused ? 0 : r->status == 200 ? 2 : 3);
    }
    bool waited = a_backend_waits_for(db);
    sp_t_tx_release(db);
    int st = 0;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert_msg(waited, "the %s never waited for the agent's row", method);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "the racing %s: exit %d (2: it gave the agent the ticket, 3: another answer)",
                  method, WEXITSTATUS(st));
}

/* A ticket PATCH assigning an agent whose deactivation is being
 * committed (played by a transaction holding the row's update): without
 * a lock, the PATCH read is_active true under its snapshot and assigned
 * it after the deactivation's hand-back had run. It now waits for the
 * row and reads it deactivated: 409, the ticket not assigned. */
START_TEST(an_assignment_racing_a_deactivation_waits_and_is_refused)
{
    struct sp_t_user staff = sp_t_user_new(SP_ROLE_AGENT);
    (void)sp_t_agent_id(&staff);
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", sp_t_unique("team")), NULL);
    const char *pid = create(sp_t_db_category_new(true), "race");
    ck_assert_int_eq(sp_t_db_assignee(pid), 0);
    PGconn *db = sp_t_tx_hold(sp_t_fmt("UPDATE support_agents SET is_active = false"
                                       " WHERE id = %lld", (long long)a));
    assert_waits_then_refused(db, "PATCH", sp_t_fmt("/support/agent/tickets/%s", pid),
                              staff.token, sp_t_fmt("{\"assigned_agent_id\":%lld}", (long long)a),
                              409);
    ck_assert_int_eq(sp_t_db_assignee(pid), 0);
}
END_TEST

/* The agent's own claim racing its deactivation: the request's
 * provisioning read the row active before the deactivation committed,
 * and the claim assigned the ticket after the hand-back had run. It now
 * waits for the row inside the ticket's transaction: 403, not assigned. */
START_TEST(a_claim_racing_its_agents_deactivation_waits_and_is_refused)
{
    struct sp_t_user staff = sp_t_user_new(SP_ROLE_AGENT);
    long long self = (long long)sp_t_agent_id(&staff);
    const char *pid = create(sp_t_db_category_new(true), "claim race");
    ck_assert_int_eq(sp_t_db_assignee(pid), 0);
    PGconn *db = sp_t_tx_hold(sp_t_fmt("UPDATE support_agents SET is_active = false"
                                       " WHERE id = %lld", self));
    assert_waits_then_refused(db, "POST", sp_t_fmt("/support/agent/tickets/%s/claim", pid),
                              staff.token, NULL, 403);
    ck_assert_int_eq(sp_t_db_assignee(pid), 0);
}
END_TEST

static Suite *
deactivation_suite(void)
{
    Suite *s = suite_create("agent_deactivation");
    TCase *tc = sp_t_tcase(s, "deactivation");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_deactivated_agent_is_refused_routed_nothing_and_its_work_handed_on);
    tcase_add_test(tc, a_deactivated_agents_chat_waits_when_nobody_is_free);
    tcase_add_test(tc, a_deactivated_agent_is_refused_from_its_first_request);
    tc = sp_t_tcase(s, "user_id");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, changing_the_user_id_of_an_agent_with_work_is_409);
    tcase_add_test(tc, a_deactivated_agents_user_id_stays);
    tcase_add_test(tc, an_agent_cannot_set_the_admins_fields_of_its_own_row);
    tc = sp_t_tcase(s, "follow-ups");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, an_admin_cannot_deactivate_itself);
    tcase_add_test(tc, a_reopened_ticket_of_a_deactivated_agent_is_handed_back);
    tcase_add_test(tc, an_assignment_racing_a_deactivation_waits_and_is_refused);
    tcase_add_test(tc, a_claim_racing_its_agents_deactivation_waits_and_is_refused);
    return s;
}

int
main(void)
{
    return sp_t_run(deactivation_suite());
}
