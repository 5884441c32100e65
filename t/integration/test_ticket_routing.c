/*
 * test_ticket_routing: tickets routed after their creation (API.md
 * §5.3–5.4, §6, §12). A ticket of a routed category that nobody was free
 * for waits, left to routing, "until an agent of that team is active":
 * an agent becoming available (their own PATCH back to active, an admin's
 * create of an active agent or PATCH into the team, the skill or active)
 * is handed the waiting tickets in the same transaction, the soonest due
 * first and at most 10 at once; the ticket-sla-monitor's pass routes
 * those still waiting when an agent can take them. A place freed under
 * the cap (a ticket of the agent's resolved, closed, unassigned or
 * reassigned) is filled from the waiting tickets at once. A
 * ticket an agent explicitly unassigned waits for a claim instead. An
 * agent's PATCH filing an unassigned ticket under a routed category
 * routes it; an assigned ticket keeps its agent. Each routing writes what
 * an assignment at creation writes: `assigned` by the system with
 * metadata.routing, ticket.assigned for the agent.
 *
 * Every team, skill and category is fresh, so other programs sharing the
 * database never meet them (and their waiting tickets never reach ours).
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CAPACITY 50 /* SUPPORT_AGENT_MAX_OPEN_TICKETS default; the runner keeps it */
#define HANDOUT 10  /* SP_ROUTE_HANDOUT_MAX */

/* ---- helpers --------------------------------------------------------------- */

static const char *
ticket_json(const char *slug, const char *subject)
{
    return sp_t_fmt("{\"subject\":%s,\"description\":\"Please help\"%s%s%s}", sp_t_jq(subject),
                    slug != NULL ? ",\"category\":\"" : "", slug != NULL ? slug : "",
                    slug != NULL ? "\"" : "");
}

/* A ticket of a fresh customer (rate limits stay out of the way). */
static const char *
create(const char *slug, const char *subject)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    return sp_t_ticket_create_json(&u, ticket_json(slug, subject));
}

static const char *
round_robin(const char *team)
{
    return sp_t_admin_category_new(sp_t_fmt("\"routing\":\"round_robin\",\"team\":\"%s\"", team));
}

static void
admin_agent_patch(int64_t id, const char *json)
{
    struct sp_t_resp *r =
        sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)id), json);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

/* PATCH /support/agent/me as u; the answer's last_assigned_at. */
static const char *
me_patch(const struct sp_t_user *u, const char *json)
{
    struct sp_t_resp *r =
        sp_t_request("PATCH", "/support/agent/me", u->token, SP_T_JSON, json, NULL);
    sp_t_assert_json(r, 200);
    struct json_object *at = sp_t_jget(r->json, "last_assigned_at");
    const char *s = at != NULL ? sp_t_fmt("%s", json_object_get_string(at)) : NULL;
    sp_t_resp_free(r);
    return s;
}

/* PATCH /support/agent/tickets/:pid as u; asserts 200, returns the view. */
static struct sp_t_resp *
ticket_patch(const struct sp_t_user *u, const char *pid, const char *json)
{
    struct sp_t_resp *r = sp_t_request("PATCH", sp_t_fmt("/support/agent/tickets/%s", pid),
                                       u->token, SP_T_JSON, json, NULL);
    sp_t_assert_json(r, 200);
    return r;
}

/* The ticket went to agent by routing, as at creation: one `assigned`
 * event by the system with metadata.routing, ticket.assigned for the
 * agent, and (a change after creation) a ticket.updated webhook. */
static void
assert_routed_to(const char *pid, int64_t agent)
{
    ck_assert_msg(sp_t_db_assignee(pid) == agent, "ticket %s is with %lld, want %lld", pid,
                  (long long)sp_t_db_assignee(pid), (long long)agent);
    struct sp_t_user staff = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *ev = sp_t_agent_events(&staff, pid);
    ck_assert_uint_eq(sp_t_events_count(ev, "assigned"), 1);
    struct json_object *as = sp_t_events_last(ev, "assigned");
    ck_assert_str_eq(sp_t_jstr(as, "actor_type"), "system");
    sp_t_assert_jnull(as, "performed_by");
    struct json_object *meta = sp_t_jobj(as, "metadata");
    sp_t_assert_jnull(meta, "from");
    ck_assert_int_eq(sp_t_jint(meta, "to"), agent);
    ck_assert(json_object_get_boolean(sp_t_jget(meta, "routing")));
    sp_t_resp_free(ev);
    const char *who = sp_t_fmt("%lld", (long long)agent);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.assigned", "agent", who),
                     1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.updated", NULL, NULL), 1);
}

static void
assert_waiting(const char *pid)
{
    int64_t got = sp_t_db_assignee(pid);
    ck_assert_msg(got == 0, "ticket %s went to %lld", pid, (long long)got);
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 0);
}

/* One ticket-sla-monitor pass (real clock); asserts exit 0. */
static const char *
monitor(bool dry_run)
{
    const char *const real[] = {"--once", NULL}, *const dry[] = {"--once", "--dry-run", NULL};
    const char *out;
    int rc = sp_t_job_run("ticket-sla-monitor", NULL, dry_run ? dry : real, &out);
    ck_assert_msg(rc == 0, "ticket-sla-monitor exited %d:\n%s", rc, out);
    return out;
}


/* ---- an agent becomes available -------------------------------------------------- */

START_TEST(an_agent_back_from_away_is_handed_the_waiting_tickets)
{
    const char *team = sp_t_unique("team");
    struct sp_t_user ann;
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\",\"status\":\"away\"", team), &ann);
    const char *c = round_robin(team);
    const char *pids[2] = {create(c, "waiting 1"), create(c, "waiting 2")};
    for (int i = 0; i < 2; i++) {
        assert_waiting(pids[i]);
        /* nobody was assigned: the team heard of it */
        ck_assert_int_eq(sp_t_db_outbox_count(pids[i], "notification", "ticket.created", "team",
                                              team), 1);
    }
    /* Any other change of hers while away hands out nothing. */
    me_patch(&ann, "{\"display_name\":\"Ann\"}");
    assert_waiting(pids[0]);

    const char *stamped = me_patch(&ann, "{\"status\":\"active\"}");
    for (int i = 0; i < 2; i++)
        assert_routed_to(pids[i], a);
    /* The answer is read after the assignments. */
    ck_assert_ptr_nonnull(stamped);
    /* A ticket of the team created now is routed at creation, as before. */
    ck_assert_int_eq(sp_t_db_assignee(create(c, "new")), a);
}
END_TEST

START_TEST(an_admin_making_an_agent_available_hands_out_the_waiting_tickets)
{
    /* A team without agents yet: its ticket waits for the first one. */
    const char *team = sp_t_unique("team");
    const char *c = round_robin(team);
    const char *first = create(c, "before any agent");
    assert_waiting(first);
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    assert_routed_to(first, a);

    /* An away agent created in the team takes nothing; made active, it does. */
    const char *team2 = sp_t_unique("team");
    const char *c2 = round_robin(team2);
    const char *second = create(c2, "waits for b");
    int64_t b = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\",\"status\":\"away\"", team2),
                                     NULL);
    assert_waiting(second);
    admin_agent_patch(b, "{\"status\":\"active\"}");
    assert_routed_to(second, b);

    /* An agent moved into the team, or given the skill, takes its waiting
     * tickets. */
    const char *team3 = sp_t_unique("team");
    const char *third = create(round_robin(team3), "waits for a team member");
    int64_t d = sp_t_admin_agent_new(NULL, NULL);
    assert_waiting(third);
    admin_agent_patch(d, sp_t_fmt("{\"team\":\"%s\"}", team3));
    assert_routed_to(third, d);

    const char *skill = sp_t_unique("skill");
    const char *fourth = create(sp_t_admin_category_new(sp_t_fmt(
                                    "\"routing\":\"skill\",\"required_skill\":\"%s\"", skill)),
                                "waits for the skill");
    int64_t e = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", sp_t_unique("t")), NULL);
    assert_waiting(fourth);
    admin_agent_patch(e, sp_t_fmt("{\"skills\":[\"other\",\"%s\"]}", skill));
    assert_routed_to(fourth, e);
}
END_TEST

/* A pick holds its lock while it writes the agent's row (round robin's
 * last_assigned_at); an agent's write that took the row first and then,
 * to hand out a waiting ticket, that lock, deadlocked with such a pick
 * (one of them 503). The write takes the locks before the row: while a
 * transaction plays a creation's round robin in the team (the pick lock
 * held, then the agent's row written), the PATCH waits for the lock
 * holding no row. The agent's own PATCH and an admin's. */
START_TEST(an_agent_write_takes_the_pick_locks_before_the_agents_row)
{
    for (int admin = 0; admin < 2; admin++) {
        const char *team = sp_t_unique("team");
        struct sp_t_user ann;
        int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\",\"status\":\"away\"", team),
                                         &ann);
        const char *pid = create(round_robin(team), "waits while a pick is in flight");
        assert_waiting(pid);
        long long key = atoll(sp_t_sql("SELECT hashtext('round_robin:%s')", team));
        PGconn *db = sp_t_tx_hold(
            sp_t_fmt("SELECT pg_advisory_xact_lock(7311947, %lld::integer)", key));
        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
            const char *json = "{\"status\":\"active\"}";
            struct sp_t_resp *r =
                admin ? sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)a),
                                   json)
                      : sp_t_request("PATCH", "/support/agent/me", ann.token, SP_T_JSON, json,
                                     NULL);
            _exit(r->status == 200 ? 0 : (int)(r->status % 256));
        }
        for (int i = 0; i < 100 && !sp_t_pick_lock_awaited(key); i++)
            usleep(50 * 1000);
        PGresult *w = PQexec(db, sp_t_fmt("SET LOCAL lock_timeout = '5s';"
                                          " UPDATE support_agents SET last_assigned_at ="
                                          " clock_timestamp() WHERE id = %lld", (long long)a));
        ExecStatusType st = PQresultStatus(w);
        const char *err = sp_t_fmt("%s", PQresultErrorMessage(w));
        PQclear(w);
        sp_t_tx_release(db);
        int status = 0;
        ck_assert_int_eq(waitpid(child, &status, 0), child);
        ck_assert_msg(st == PGRES_COMMAND_OK, "the pick's write of the agent's row: %s", err);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the PATCH answered %d",
                      WEXITSTATUS(status));
        assert_routed_to(pid, a);
    }
}
END_TEST

/* A manual category's tickets wait for a claim, whoever becomes free. */
START_TEST(manual_categories_are_never_handed_out)
{
    const char *team = sp_t_unique("team");
    const char *manual =
        sp_t_admin_category_new(sp_t_fmt("\"routing\":\"manual\",\"team\":\"%s\"", team));
    const char *pid = create(manual, "manual");
    sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    assert_waiting(pid);
    (void)monitor(false);
    assert_waiting(pid);
}
END_TEST

/* One agent back does not get the whole backlog at once: at most 10, the
 * soonest due first (an urgent ticket before older normal ones, then the
 * oldest); the monitor's next pass routes the rest. */
START_TEST(a_hand_out_takes_the_soonest_due_ten_and_the_monitor_the_rest)
{
    const char *team = sp_t_unique("team");
    struct sp_t_user bo;
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\",\"status\":\"away\"", team), &bo);
    const char *c = round_robin(team);
    const char *cat_id = sp_t_sql("SELECT id FROM support_categories WHERE slug = '%s'", c);
    int64_t rule = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"priority\":\"urgent\","
                                                "\"category\":\"%s\",\"pattern\":\"^urgent\"",
                                                sp_t_unique("rule"), c));
    enum { N = HANDOUT + 2 };
    const char *pids[N];
    for (int i = 0; i < N - 1; i++)
        pids[i] = create(c, sp_t_fmt("normal %d", i));
    pids[N - 1] = create(c, "urgent: the newest, due first");
    for (int i = 0; i < N; i++)
        assert_waiting(pids[i]);

    me_patch(&bo, "{\"status\":\"active\"}");
    assert_routed_to(pids[N - 1], a);
    for (int i = 0; i < HANDOUT - 1; i++)
        assert_routed_to(pids[i], a);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE category_id = %s"
                              " AND assigned_agent_id IS NULL", cat_id), "2");
    assert_waiting(pids[N - 3]);
    assert_waiting(pids[N - 2]);

    /* A dry run routes nothing; the real pass routes both. */
    (void)monitor(true);
    assert_waiting(pids[N - 2]);
    const char *out = monitor(false);
    assert_routed_to(pids[N - 3], a);
    assert_routed_to(pids[N - 2], a);
    ck_assert_msg(strstr(out, "\"event\":\"ticket_routed\"") != NULL, "no routing line in:\n%s",
                  out);
    struct sp_t_resp *r =
        sp_t_admin("DELETE", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)rule),
                   NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
}
END_TEST

/* Per agent, how many of the tickets of category slug it holds. */
static long
held_of(const char *slug, int64_t agent)
{
    return atol(sp_t_sql("SELECT count(*) FROM support_tickets t JOIN support_categories c"
                         " ON c.id = t.category_id WHERE c.slug = '%s'"
                         " AND t.assigned_agent_id = %lld",
                         slug, (long long)agent));
}

/* 14 waiting tickets, two agents of the team away; back in turn (one
 * after the other) or at once. The first takes at most 10; the second's
 * hand-out goes to the second, not round robin among both (QA: 12/2). */
static void
two_agents_back(bool at_once)
{
    const char *team = sp_t_unique("team");
    struct sp_t_user u[2];
    int64_t ids[2];
    for (int i = 0; i < 2; i++)
        ids[i] = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\",\"status\":\"away\"", team),
                                      &u[i]);
    const char *c = round_robin(team);
    enum { N = 14 };
    for (int i = 0; i < N; i++)
        assert_waiting(create(c, sp_t_fmt("backlog %d", i)));
    if (at_once) {
        struct sp_t_call calls[2];
        struct sp_t_resp *out[2];
        size_t finished[2];
        for (int i = 0; i < 2; i++)
            calls[i] = (struct sp_t_call){"PATCH", "/support/agent/me", u[i].token,
                                          "{\"status\":\"active\"}"};
        sp_t_calls(2, calls, out, finished);
        for (int i = 0; i < 2; i++) {
            sp_t_assert_json(out[i], 200);
            sp_t_resp_free(out[i]);
        }
    } else {
        me_patch(&u[0], "{\"status\":\"active\"}");
        ck_assert_int_eq(held_of(c, ids[0]), HANDOUT);
        me_patch(&u[1], "{\"status\":\"active\"}");
    }
    long a = held_of(c, ids[0]), b = held_of(c, ids[1]);
    ck_assert_msg(a <= HANDOUT && b <= HANDOUT && a + b == N, "handed out %ld/%ld of %d", a, b,
                  N);
}

START_TEST(two_agents_back_in_turn_share_the_backlog)
{
    two_agents_back(false);
}
END_TEST

START_TEST(two_agents_back_at_once_share_the_backlog)
{
    for (int round = 0; round < 2; round++)
        two_agents_back(true);
}
END_TEST

/* ---- a place freed ------------------------------------------------------------ */

/* Agent a of team, at the cap: CAPACITY - 1 fillers (tag) and the ticket
 * returned, routed to a at creation (its customer *cust). */
static const char *
at_cap(int64_t a, const char *c, const char *tag, struct sp_t_user *cust)
{
    sp_t_db_fillers_add(a, CAPACITY - 1, tag);
    *cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create_json(cust, ticket_json(c, "the last place"));
    ck_assert_int_eq(sp_t_db_assignee(pid), a);
    return pid;
}

/* QA (routing): a place freed under the cap was filled only by the
 * monitor's next pass, and new tickets were routed ahead of the older
 * waiting ones meanwhile. Whoever frees it — the agent resolving or
 * closing, the customer resolving, a PATCH unassigning or reassigning
 * it — the agent is handed the waiting ticket at once. */
START_TEST(a_place_freed_is_filled_from_the_waiting_tickets_at_once)
{
    const char *team = sp_t_unique("team"), *tag = sp_t_unique("full");
    struct sp_t_user ann, cust, later = sp_t_user_new(SP_ROLE_CUSTOMER);
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), &ann);
    int64_t b = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\",\"status\":\"away\"", team),
                                     NULL);
    const char *c = round_robin(team);
    const char *held = at_cap(a, c, tag, &cust);
    const char *w[6];
    for (int i = 0; i < 6; i++) {
        /* later's: the customer who resolves one (w[1]) */
        w[i] = i == 1 ? sp_t_ticket_create_json(&later, ticket_json(c, "waiting"))
                      : create(c, "waiting");
        assert_waiting(w[i]);
    }
    /* The agent resolves: the soonest waiting ticket is hers before any
     * pass; the others still wait (one place freed, one handed out). */
    sp_t_resp_free(ticket_patch(&ann, held, "{\"status\":\"resolved\"}"));
    assert_routed_to(w[0], a);
    assert_waiting(w[1]);
    /* Closes. */
    sp_t_resp_free(ticket_patch(&ann, w[0], "{\"status\":\"closed\"}"));
    assert_routed_to(w[1], a);
    assert_waiting(w[2]);
    /* The customer resolves. */
    struct sp_t_resp *r =
        sp_t_post_json(sp_t_fmt("/support/tickets/%s/resolve", w[1]), later.token, "{}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    assert_routed_to(w[2], a);
    /* Unassigned by a PATCH. */
    sp_t_resp_free(ticket_patch(&ann, w[2], "{\"assigned_agent_id\":null}"));
    assert_routed_to(w[3], a);
    /* Reassigned away. */
    sp_t_resp_free(
        ticket_patch(&ann, w[3], sp_t_fmt("{\"assigned_agent_id\":%lld}", (long long)b)));
    assert_routed_to(w[4], a);
    /* A reply resolving it (in the reply's transaction). */
    r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", w[4]), ann.token,
                       "{\"body\":\"Done.\",\"status\":\"resolved\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    assert_routed_to(w[5], a);
    sp_t_db_fillers_close(tag);
}
END_TEST

/* A place freed by an agent who is away is not filled: routing hands an
 * away agent nothing. The monitor routes the ticket once she is back. */
START_TEST(a_place_freed_while_away_is_not_filled)
{
    const char *team = sp_t_unique("team"), *tag = sp_t_unique("full");
    struct sp_t_user ann, cust;
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), &ann);
    const char *c = round_robin(team);
    const char *held = at_cap(a, c, tag, &cust);
    const char *waiting = create(c, "waiting");
    assert_waiting(waiting);
    me_patch(&ann, "{\"status\":\"away\"}");
    sp_t_resp_free(ticket_patch(&ann, held, "{\"status\":\"resolved\"}"));
    assert_waiting(waiting);
    me_patch(&ann, "{\"status\":\"active\"}");
    assert_routed_to(waiting, a);
    sp_t_db_fillers_close(tag);
}
END_TEST

/* ---- the monitor's safety net ------------------------------------------------- */

/* Room freed behind routing's back (rows closed in the database): nothing
 * hands out at that moment; the monitor's pass routes it. */
START_TEST(the_monitor_routes_waiting_tickets_once_an_agent_has_room)
{
    const char *team = sp_t_unique("team"), *tag = sp_t_unique("full");
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    sp_t_db_fillers_add(a, CAPACITY, tag);
    const char *c = round_robin(team);
    const char *pid = create(c, "team full");
    assert_waiting(pid);
    /* No one has room: the pass leaves it waiting. */
    (void)monitor(false);
    assert_waiting(pid);
    sp_t_db_fillers_close(tag);
    assert_waiting(pid);
    (void)monitor(false);
    assert_routed_to(pid, a);
}
END_TEST

/* An agent who unassigns a ticket puts it back in the queue for a claim:
 * routing does not hand it out again, neither to an agent who becomes
 * available nor by the monitor. */
START_TEST(a_ticket_an_agent_unassigned_waits_for_a_claim)
{
    const char *team = sp_t_unique("team");
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    const char *c = round_robin(team);
    const char *pid = create(c, "routed, then put back");
    ck_assert_int_eq(sp_t_db_assignee(pid), a);
    struct sp_t_user staff = sp_t_user_new(SP_ROLE_AGENT);
    sp_t_resp_free(ticket_patch(&staff, pid, "{\"assigned_agent_id\":null}"));
    ck_assert_int_eq(sp_t_db_assignee(pid), 0);
    int64_t b = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    admin_agent_patch(a, "{\"status\":\"away\"}");
    admin_agent_patch(a, "{\"status\":\"active\"}");
    (void)monitor(false);
    ck_assert_msg(sp_t_db_assignee(pid) == 0, "unassigned ticket went to %lld (agents %lld, %lld)",
                  (long long)sp_t_db_assignee(pid), (long long)a, (long long)b);
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 1);
}
END_TEST

/* ---- filing a ticket under a routed category ----------------------------------- */

START_TEST(filing_an_unassigned_ticket_under_a_routed_category_routes_it)
{
    const char *team = sp_t_unique("team");
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    const char *billing = round_robin(team);
    struct sp_t_user staff = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = create(NULL, "uncategorised");
    assert_waiting(pid);
    struct sp_t_resp *r = ticket_patch(&staff, pid, sp_t_fmt("{\"category\":\"%s\"}", billing));
    /* in the same transaction: the answer shows it */
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), a);
    sp_t_resp_free(r);
    assert_routed_to(pid, a);
    struct sp_t_resp *ev = sp_t_agent_events(&staff, pid);
    struct json_object *moved = sp_t_events_last(ev, "category_changed");
    ck_assert_ptr_nonnull(moved);
    ck_assert_str_eq(sp_t_jstr(moved, "actor_type"), "agent");
    ck_assert_str_eq(sp_t_jstr(moved, "performed_by"), staff.sub);
    sp_t_resp_free(ev);

    /* An assigned ticket keeps its agent. */
    int64_t mine = sp_t_agent_id(&staff);
    const char *held = create(NULL, "held");
    sp_t_resp_free(
        ticket_patch(&staff, held, sp_t_fmt("{\"assigned_agent_id\":%lld}", (long long)mine)));
    sp_t_resp_free(ticket_patch(&staff, held, sp_t_fmt("{\"category\":\"%s\"}", billing)));
    ck_assert_int_eq(sp_t_db_assignee(held), mine);
    ck_assert_int_eq(sp_t_db_event_count(held, "assigned"), 1);

    /* One the same PATCH unassigns stays unassigned. */
    const char *decided = create(NULL, "decided");
    sp_t_resp_free(ticket_patch(&staff, decided,
                                sp_t_fmt("{\"assigned_agent_id\":%lld}", (long long)mine)));
    sp_t_resp_free(ticket_patch(
        &staff, decided, sp_t_fmt("{\"category\":\"%s\",\"assigned_agent_id\":null}", billing)));
    ck_assert_int_eq(sp_t_db_assignee(decided), 0);
    ck_assert_int_eq(sp_t_db_event_count(decided, "assigned"), 1);

    /* Nobody free in the new category: it waits for one, even after an
     * earlier unassign (the filing put it back into routing's hands). */
    const char *team2 = sp_t_unique("team");
    const char *empty = round_robin(team2);
    sp_t_resp_free(ticket_patch(&staff, decided, sp_t_fmt("{\"category\":\"%s\"}", empty)));
    ck_assert_int_eq(sp_t_db_assignee(decided), 0);
    int64_t b = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team2), NULL);
    ck_assert_int_eq(sp_t_db_assignee(decided), b);
    struct sp_t_resp *events = sp_t_agent_events(&staff, decided);
    struct json_object *last = sp_t_events_last(events, "assigned");
    ck_assert_str_eq(sp_t_jstr(last, "actor_type"), "system");
    ck_assert(json_object_get_boolean(sp_t_jget(sp_t_jobj(last, "metadata"), "routing")));
    sp_t_resp_free(events);
}
END_TEST

static Suite *
routing_suite(void)
{
    Suite *s = suite_create("ticket_routing");
    TCase *tc = sp_t_tcase(s, "waiting");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, an_agent_back_from_away_is_handed_the_waiting_tickets);
    tcase_add_test(tc, an_admin_making_an_agent_available_hands_out_the_waiting_tickets);
    tcase_add_test(tc, an_agent_write_takes_the_pick_locks_before_the_agents_row);
    tcase_add_test(tc, manual_categories_are_never_handed_out);
    tcase_add_test(tc, a_hand_out_takes_the_soonest_due_ten_and_the_monitor_the_rest);
    tcase_add_test(tc, two_agents_back_in_turn_share_the_backlog);
    tcase_add_test(tc, two_agents_back_at_once_share_the_backlog);
    tcase_add_test(tc, a_place_freed_is_filled_from_the_waiting_tickets_at_once);
    tcase_add_test(tc, a_place_freed_while_away_is_not_filled);
    tcase_add_test(tc, the_monitor_routes_waiting_tickets_once_an_agent_has_room);
    tcase_add_test(tc, a_ticket_an_agent_unassigned_waits_for_a_claim);
    tc = sp_t_tcase(s, "triage");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, filing_an_unassigned_ticket_under_a_routed_category_routes_it);
    return s;
}

int
main(void)
{
    return sp_t_run(routing_suite());
}
