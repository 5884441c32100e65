/*
 * test_agent_claim_escalate: POST /support/agent/tickets/:id/claim and
 * …/escalate (API.md §5.5, docs/API.md "§5 Agent tickets — choices").
 * Claim assigns the caller (event assigned), is idempotent for the caller,
 * 409 already_assigned for a ticket of someone else, 409 ticket_closed on
 * closed tickets, and exactly one of many concurrent claims wins.
 * Escalate needs a reason and a provider (the ticket's or provider_id, else
 * 422 no_provider), sets escalated_at and provider_id, raises the priority
 * to at least high (SLA recomputed), records priority_changed (reason
 * escalated) and escalated {reason, provider_id}, and queues a
 * notification to provider operations and a ticket.escalated webhook.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define MIN_MS INT64_C(60000)
#define NCLAIMERS 8

static const char *
action_path(const char *ref, const char *action)
{
    return sp_t_fmt("/support/agent/tickets/%s/%s", ref, action);
}

static struct sp_t_resp *
claim(const struct sp_t_user *a, const char *ref)
{
    /* action endpoints need no body */
    return sp_t_request("POST", action_path(ref, "claim"), a->token, NULL, NULL, NULL);
}

static struct sp_t_resp *
escalate(const struct sp_t_user *a, const char *ref, const char *json)
{
    return sp_t_post_json(action_path(ref, "escalate"), a->token, json);
}

static void
patch_ok(const struct sp_t_user *a, const char *ref, const char *json)
{
    struct sp_t_resp *r = sp_t_patch_json(sp_t_fmt("/support/agent/tickets/%s", ref), a->token,
                                          json);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

static int64_t
version_of(const struct sp_t_user *a, const char *pid)
{
    struct sp_t_resp *r = sp_t_agent_ticket(a, pid);
    int64_t v = sp_t_jint(r->json, "version");
    sp_t_resp_free(r);
    return v;
}

/* ---- claim ------------------------------------------------------------------ */

START_TEST(claim_of_unassigned_ticket_assigns_me)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("claim me");
    int64_t me = sp_t_agent_id(&a);
    int64_t v = version_of(&a, pid);

    struct sp_t_resp *r = claim(&a, pid);
    sp_t_assert_json(r, 200);
    sp_t_assert_agent_view(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), pid);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), me);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), v + 1);
    sp_t_ticket_etag(r, (long long)v + 1);
    sp_t_resp_free(r);

    struct sp_t_resp *ev = sp_t_agent_events(&a, pid);
    ck_assert_uint_eq(sp_t_events_count(ev, "assigned"), 1);
    struct json_object *e = sp_t_events_last(ev, "assigned");
    ck_assert_str_eq(sp_t_jstr(e, "actor_type"), "agent");
    ck_assert_str_eq(sp_t_jstr(e, "performed_by"), a.sub);
    ck_assert_int_eq(json_object_get_int64(sp_t_jget(sp_t_jobj(e, "metadata"), "to")), me);
    sp_t_resp_free(ev);
    ck_assert_str_eq(sp_t_sql("SELECT assigned_agent_id FROM support_tickets "
                              "WHERE public_id = '%s'", pid),
                     sp_t_fmt("%lld", (long long)me));
}
END_TEST

START_TEST(claim_by_numeric_id_works)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("claim by id");
    const char *id = sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s'", pid);
    struct sp_t_resp *r = claim(&a, id);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), pid);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), sp_t_agent_id(&a));
    sp_t_resp_free(r);
}
END_TEST

START_TEST(claim_again_by_me_is_200_and_writes_nothing)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("claim twice");
    int64_t me = sp_t_agent_id(&a);
    sp_t_resp_free(claim(&a, pid));
    int64_t v = version_of(&a, pid);

    struct sp_t_resp *r = claim(&a, pid);
    sp_t_assert_json(r, 200);
    sp_t_assert_agent_view(r->json);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), me);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), v);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 1);
    /* an agent is not told of their own claim (API.md §11) */
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.assigned", NULL, NULL), 0);
}
END_TEST

/* "Assigned to you" goes to an agent someone else (or routing) assigned,
 * never to one who assigned themselves: claim, a public reply taking an
 * unassigned ticket, or a PATCH naming their own id (API.md §11). */
START_TEST(self_assignment_notifies_nobody_assignment_by_another_notifies_the_assignee)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_user b = sp_t_user_new(SP_ROLE_AGENT);
    const char *me = sp_t_fmt("%lld", (long long)sp_t_agent_id(&a));
    const char *other = sp_t_fmt("%lld", (long long)sp_t_agent_id(&b));

    const char *claimed = sp_t_ticket_of_new_customer("claimed by me");
    struct sp_t_resp *r = claim(&a, claimed);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(claimed, "assigned"), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(claimed, "notification", "ticket.assigned", NULL,
                                          NULL), 0);

    const char *replied = sp_t_ticket_of_new_customer("taken by a reply");
    r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", replied), a.token,
                       "{\"body\":\"On it.\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(replied, "assigned"), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(replied, "notification", "ticket.assigned", NULL,
                                          NULL), 0);

    const char *patched = sp_t_ticket_of_new_customer("patched to me, then to b");
    patch_ok(&a, patched, sp_t_fmt("{\"assigned_agent_id\":%s}", me));
    ck_assert_int_eq(sp_t_db_outbox_count(patched, "notification", "ticket.assigned", NULL,
                                          NULL), 0);
    patch_ok(&a, patched, sp_t_fmt("{\"assigned_agent_id\":%s}", other));
    ck_assert_int_eq(sp_t_db_outbox_count(patched, "notification", "ticket.assigned", "agent",
                                          other), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(patched, "notification", "ticket.assigned", NULL,
                                          NULL), 1);
}
END_TEST

START_TEST(claim_of_a_ticket_of_another_agent_is_409_already_assigned)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_user b = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("taken");
    int64_t first = sp_t_agent_id(&a);
    sp_t_resp_free(claim(&a, pid));
    int64_t v = version_of(&a, pid);

    struct sp_t_resp *r = claim(&b, pid);
    sp_t_assert_problem(r, 409, "already_assigned");
    sp_t_resp_free(r);

    struct sp_t_resp *g = sp_t_agent_ticket(&b, pid);
    ck_assert_int_eq(sp_t_jint(g->json, "assigned_agent_id"), first);
    ck_assert_int_eq(sp_t_jint(g->json, "version"), v);
    sp_t_resp_free(g);
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 1);
}
END_TEST

START_TEST(claim_of_a_closed_ticket_is_409_ticket_closed)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("closed claim");
    patch_ok(&a, pid, "{\"status\":\"closed\"}");
    struct sp_t_resp *r = claim(&a, pid);
    sp_t_assert_problem(r, 409, "ticket_closed");
    sp_t_resp_free(r);
    ck_assert_ptr_null(sp_t_sql("SELECT assigned_agent_id FROM support_tickets "
                                "WHERE public_id = '%s'", pid));
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 0);
}
END_TEST

START_TEST(claim_of_unknown_ticket_is_404)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = claim(&a, "ZZZZZZZZZZZZ");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

/* One race: NCLAIMERS agents claim one fresh ticket at the same time. */
static void
race_once(void)
{
    const char *pid = sp_t_ticket_of_new_customer("race");
    struct sp_t_user agents[NCLAIMERS];
    const char *tokens[NCLAIMERS], *paths[NCLAIMERS];
    int64_t ids[NCLAIMERS];
    for (int i = 0; i < NCLAIMERS; i++) {
        agents[i] = sp_t_user_new(SP_ROLE_AGENT);
        ids[i] = sp_t_agent_id(&agents[i]);
        tokens[i] = agents[i].token;
        paths[i] = action_path(pid, "claim");
    }
    struct sp_t_resp *out[NCLAIMERS];
    sp_t_parallel(NCLAIMERS, "POST", paths, tokens, NULL, NULL, out);

    int winners = 0, losers = 0;
    int64_t winner = 0;
    for (int i = 0; i < NCLAIMERS; i++) {
        if (out[i]->status == 200) {
            winners++;
            sp_t_assert_json(out[i], 200);
            ck_assert_int_eq(sp_t_jint(out[i]->json, "assigned_agent_id"), ids[i]);
            winner = ids[i];
        } else {
            ck_assert_msg(out[i]->status == 409, "claim %d: HTTP %ld, want 200 or 409; %.300s",
                          i, out[i]->status, out[i]->body);
            sp_t_assert_problem(out[i], 409, "already_assigned");
            losers++;
        }
        sp_t_resp_free(out[i]);
    }
    ck_assert_int_eq(winners, 1);
    ck_assert_int_eq(losers, NCLAIMERS - 1);
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.assigned", NULL, NULL), 0);
    ck_assert_str_eq(sp_t_sql("SELECT assigned_agent_id FROM support_tickets "
                              "WHERE public_id = '%s'", pid),
                     sp_t_fmt("%lld", (long long)winner));
    ck_assert_str_eq(sp_t_sql("SELECT version FROM support_tickets WHERE public_id = '%s'", pid),
                     "2");
}

START_TEST(concurrent_claims_have_exactly_one_winner)
{
    for (int round = 0; round < 3; round++)
        race_once();
}
END_TEST

/* ---- many tickets to one agent at once ---------------------------------------- */

#define NTICKETS 6

/* NTICKETS fresh tickets, each given to one agent at the same moment by
 * method/json on /support/agent/tickets/<public id><action> under token: every
 * answer 200, none 503. Each assignment once took a share of the agent's
 * row and then updated it (last_assigned_at): two at once deadlocked
 * (QA: [200,503,503,200,503,200]). Several rounds: a deadlock needs the
 * two reads before either update. */
static void
assign_many_at_once(const char *method, const char *action, const char *token,
                    const char *json, int64_t agent_id)
{
    for (int round = 0; round < 4; round++) {
        const char *pids[NTICKETS], *paths[NTICKETS], *tokens[NTICKETS];
        for (int i = 0; i < NTICKETS; i++) {
            pids[i] = sp_t_ticket_of_new_customer("many");
            paths[i] = sp_t_fmt("/support/agent/tickets/%s%s", pids[i], action);
            tokens[i] = token;
        }
        struct sp_t_resp *out[NTICKETS];
        sp_t_parallel(NTICKETS, method, paths, tokens, json ? "application/json" : NULL, json,
                      out);
        for (int i = 0; i < NTICKETS; i++) {
            ck_assert_msg(out[i]->status == 200 || out[i]->status == 201,
                          "round %d, ticket %d: HTTP %ld; %.300s", round, i, out[i]->status,
                          out[i]->body);
            ck_assert_int_eq(sp_t_db_assignee(pids[i]), agent_id);
            sp_t_resp_free(out[i]);
        }
    }
}

START_TEST(one_agent_claiming_many_tickets_at_once_gets_them_all)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    assign_many_at_once("POST", "/claim", a.token, NULL,
                        sp_t_agent_id(&a));
}
END_TEST

START_TEST(an_admin_assigning_many_tickets_to_one_agent_at_once_assigns_them_all)
{
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    int64_t id = sp_t_agent_id(&a);
    assign_many_at_once("PATCH", "", admin.token,
                        sp_t_fmt("{\"assigned_agent_id\":%lld}", (long long)id), id);
}
END_TEST

START_TEST(one_agent_first_replying_to_many_tickets_at_once_takes_them_all)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    assign_many_at_once("POST", "/messages", a.token,
                        "{\"body\":\"On it.\"}", sp_t_agent_id(&a));
}
END_TEST

/* A claim undone by a deadlock is run once more by the command, not
 * answered 503: a transaction of the test's own holds the agent's row,
 * then, once the claim (holding the ticket) waits for that row, wants
 * the ticket's row and commits. The claim waited first, so its deadlock
 * check runs first and undoes it (40P01, logged); its second run passes
 * once the test's transaction committed. */
START_TEST(a_claim_undone_by_a_deadlock_is_run_again)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    int64_t id = sp_t_agent_id(&a);
    const char *pid = sp_t_ticket_of_new_customer("deadlock");
    long log_at = sp_t_api_log_size();
    PGconn *db = sp_t_tx_hold(
        sp_t_fmt("SELECT 1 FROM support_agents WHERE id = %lld FOR UPDATE", (long long)id));
    /* In the background: wait (up to 10 s) until a backend waits for
     * this transaction (the claim, at the agent's row), then the ticket,
     * 0.4 s later: the claim's deadlock check (deadlock_timeout after
     * its wait began) comes first, so the claim is the one undone. */
    ck_assert_int_eq(
        PQsendQuery(db, sp_t_fmt("DO $$ BEGIN FOR i IN 1..500 LOOP"
                                 " EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE"
                                 " pg_backend_pid() = ANY (pg_blocking_pids(pid)));"
                                 " PERFORM pg_sleep(0.02); END LOOP; END $$;"
                                 " SELECT pg_sleep(0.4);"
                                 " UPDATE support_tickets SET updated_at = updated_at"
                                 " WHERE public_id = '%s'; COMMIT",
                                 pid)),
        1);
    struct sp_t_resp *r = claim(&a, pid);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), id);
    sp_t_resp_free(r);
    for (PGresult *x; (x = PQgetResult(db)) != NULL;)
        PQclear(x);
    sp_t_tx_release(db);
    ck_assert_msg(strstr(sp_t_api_log_line(log_at, "40P01"), "agent_get_assignee") != NULL,
                  "no deadlock was logged: the test did not make one");
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 1);
}
END_TEST

/* ---- escalate --------------------------------------------------------------- */

START_TEST(escalate_without_reason_is_422_required)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("no reason");
    struct sp_t_resp *r = escalate(&a, pid, "{\"provider_id\":17}");
    sp_t_assert_invalid(r, "reason", "required");
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(pid, "escalated"), 0);
}
END_TEST

START_TEST(escalate_with_empty_reason_is_422)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("empty reason");
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"\",\"provider_id\":17}");
    sp_t_assert_invalid(r, "reason", NULL);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(pid, "escalated"), 0);
}
END_TEST

/* The reason is one line of visible text, by a subject's rules: it is
 * quoted in the provider-operations mail, where a line break would forge
 * a line and blanks would explain nothing. Nothing is written. */
START_TEST(escalate_reason_of_blanks_or_line_breaks_is_422)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("odd reason");
    static const struct {
        const char *json, *code;
    } cases[] = {
        {"\"   \"", "empty"},
        {"\"\\u200b\\u200b\"", "empty"},
        {"\"\\t\\n \"", "invalid"},
        {"\"provider is slow\\nFORGED LINE\"", "invalid"},
        {"\"ok\\r\\nBcc: x@y.z\"", "invalid"},
        {"\"\\u001b[31mRED\"", "invalid"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_t_resp *r =
            escalate(&a, pid, sp_t_fmt("{\"reason\":%s,\"provider_id\":17}", cases[i].json));
        sp_t_assert_invalid(r, "reason", cases[i].code);
        sp_t_resp_free(r);
    }
    ck_assert_int_eq(sp_t_db_event_count(pid, "escalated"), 0);
    /* the blanks around a reason go */
    sp_t_resp_free(escalate(&a, pid, "{\"reason\":\"  late refund \",\"provider_id\":17}"));
    ck_assert_str_eq(sp_t_sql("SELECT e.metadata->>'reason' FROM support_ticket_events e"
                              " JOIN support_tickets t ON t.id = e.ticket_id"
                              " WHERE t.public_id = '%s' AND e.event_type = 'escalated'", pid),
                     "late refund");
    /* The limit (2000) is the stored reason's: the blanks around do not
     * count (QA: 2000 characters with spaces around were too long). */
    const char *other = sp_t_ticket_of_new_customer("long reason");
    struct sp_t_resp *r = escalate(&a, other, sp_t_fmt("{\"reason\":\" %s \",\"provider_id\":17}",
                                                       sp_t_repeat("r", 2001)));
    sp_t_assert_invalid(r, "reason", "too_long");
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(other, "escalated"), 0);
    r = escalate(&a, other, sp_t_fmt("{\"reason\":\"  %s \",\"provider_id\":17}",
                                     sp_t_repeat("r", 2000)));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(other, "escalated"), 1);
}
END_TEST

START_TEST(escalate_with_provider_id_of_wrong_type_is_422)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("bad provider");
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"x\",\"provider_id\":\"17\"}");
    sp_t_assert_invalid(r, "provider_id", "wrong_type");
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(pid, "escalated"), 0);
}
END_TEST

START_TEST(escalate_without_any_provider_is_422_no_provider)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("no provider");
    int64_t v = version_of(&a, pid);
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"they must fix it\"}");
    sp_t_assert_problem(r, 422, "no_provider");
    sp_t_resp_free(r);
    struct sp_t_resp *g = sp_t_agent_ticket(&a, pid);
    sp_t_assert_jnull(g->json, "escalated_at");
    ck_assert_str_eq(sp_t_jstr(g->json, "priority"), "normal");
    ck_assert_int_eq(sp_t_jint(g->json, "version"), v);
    sp_t_resp_free(g);
    ck_assert_int_eq(sp_t_db_event_count(pid, "escalated"), 0);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.escalated", NULL, NULL), 0);
}
END_TEST

/* QA: a ticket without a provider was said so only once the reason was
 * fixed; one 422 lists provider_id with the body's field errors. A ticket
 * with its own provider, or a provider_id given, adds nothing; a ticket
 * that cannot be read is the 404 of the next try. */
START_TEST(escalate_reports_a_missing_provider_with_the_field_errors)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("no provider, no reason");
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"\"}");
    sp_t_assert_invalid(r, "reason", "too_short");
    sp_t_assert_invalid(r, "provider_id", "no_provider");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    r = escalate(&a, pid, "{\"reason\":5}");
    sp_t_assert_invalid(r, "reason", "wrong_type");
    sp_t_assert_invalid(r, "provider_id", "no_provider");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    r = escalate(&a, pid, "{\"reason\":\"\",\"provider_id\":17}");
    sp_t_assert_invalid(r, "reason", "too_short");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    const char *own = sp_t_ticket_create_json(
        &c, "{\"subject\":\"provider known\",\"description\":\"d\",\"provider_id\":321}");
    r = escalate(&a, own, "{\"reason\":\"\"}");
    sp_t_assert_invalid(r, "reason", "too_short");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    r = escalate(&a, "ZZZZZZZZZZZZ", "{\"reason\":\"\"}");
    sp_t_assert_invalid(r, "reason", "too_short");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(pid, "escalated"), 0);
    ck_assert_int_eq(sp_t_db_event_count(own, "escalated"), 0);
}
END_TEST

START_TEST(escalate_with_provider_id_escalates_and_notifies)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("escalate normal");
    const char *reason = "Provider double-charged the customer";
    struct sp_t_resp *r = escalate(&a, pid, sp_t_fmt("{\"reason\":%s,\"provider_id\":4711}",
                                                     sp_t_jq(reason)));
    sp_t_assert_json(r, 200);
    sp_t_assert_agent_view(r->json);
    sp_t_assert_recent(sp_t_jstr(r->json, "escalated_at"));
    ck_assert_int_eq(sp_t_jint(r->json, "provider_id"), 4711);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "high");
    /* the SLA follows the new priority: high is 60 / 480 minutes */
    int64_t created = sp_t_jts_ms(r->json, "created_at");
    ck_assert_int_eq(sp_t_jts_ms(r->json, "first_response_due_at"), created + 60 * MIN_MS);
    ck_assert_int_eq(sp_t_jts_ms(r->json, "resolution_due_at"), created + 480 * MIN_MS);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT provider_id FROM support_tickets WHERE public_id = '%s'",
                              pid),
                     "4711");

    struct sp_t_resp *ev = sp_t_agent_events(&a, pid);
    struct json_object *e = sp_t_events_last(ev, "priority_changed");
    ck_assert_msg(e != NULL, "no priority_changed event: %.600s", ev->body);
    ck_assert_str_eq(sp_t_jstr(e, "actor_type"), "agent");
    ck_assert_str_eq(sp_t_jstr(e, "performed_by"), a.sub);
    struct json_object *m = sp_t_jobj(e, "metadata");
    ck_assert_str_eq(sp_t_jstr(m, "from"), "normal");
    ck_assert_str_eq(sp_t_jstr(m, "to"), "high");
    ck_assert_str_eq(sp_t_jstr(m, "reason"), "escalated");
    e = sp_t_events_last(ev, "escalated");
    ck_assert_msg(e != NULL, "no escalated event: %.600s", ev->body);
    ck_assert_str_eq(sp_t_jstr(e, "actor_type"), "agent");
    ck_assert_str_eq(sp_t_jstr(e, "performed_by"), a.sub);
    m = sp_t_jobj(e, "metadata");
    ck_assert_str_eq(sp_t_jstr(m, "reason"), reason);
    ck_assert_int_eq(sp_t_jint(m, "provider_id"), 4711);
    ck_assert_uint_eq(sp_t_events_count(ev, "escalated"), 1);
    sp_t_resp_free(ev);

    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.escalated",
                                          "provider_operations", "4711"),
                     1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.escalated", NULL, NULL), 1);
}
END_TEST

START_TEST(escalate_uses_the_tickets_own_provider)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create_json(
        &c, "{\"subject\":\"provider known\",\"description\":\"d\",\"provider_id\":321}");
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"please call them\"}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "provider_id"), 321);
    sp_t_assert_recent(sp_t_jstr(r->json, "escalated_at"));
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.escalated",
                                          "provider_operations", "321"),
                     1);
    /* No booking: nothing for the booking service. */
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.escalated", "booking",
                                          NULL), 0);
}
END_TEST

START_TEST(escalate_about_a_booking_tells_the_booking_service)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create_json(
        &c, "{\"subject\":\"double charge\",\"description\":\"d\",\"provider_id\":9,"
            "\"booking_id\":\"BK-2041\"}");
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"refund needed\"}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.escalated", "booking",
                                          "BK-2041"), 1);
}
END_TEST

START_TEST(escalate_provider_id_overrides_the_tickets_provider)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create_json(
        &c, "{\"subject\":\"provider moved\",\"description\":\"d\",\"provider_id\":321}");
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"other provider\",\"provider_id\":654}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "provider_id"), 654);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT provider_id FROM support_tickets WHERE public_id = '%s'",
                              pid),
                     "654");
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.escalated",
                                          "provider_operations", "654"),
                     1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.escalated", NULL, "321"),
                     0);
}
END_TEST

START_TEST(escalate_raises_low_to_high)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("escalate low");
    patch_ok(&a, pid, "{\"priority\":\"low\"}");
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"r\",\"provider_id\":5}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "high");
    sp_t_resp_free(r);
    struct sp_t_resp *ev = sp_t_agent_events(&a, pid);
    struct json_object *m = sp_t_jobj(sp_t_events_last(ev, "priority_changed"), "metadata");
    ck_assert_str_eq(sp_t_jstr(m, "from"), "low");
    ck_assert_str_eq(sp_t_jstr(m, "to"), "high");
    ck_assert_str_eq(sp_t_jstr(m, "reason"), "escalated");
    sp_t_resp_free(ev);
}
END_TEST

START_TEST(escalate_keeps_urgent_urgent)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("escalate urgent");
    patch_ok(&a, pid, "{\"priority\":\"urgent\"}");
    ck_assert_int_eq(sp_t_db_event_count(pid, "priority_changed"), 1);
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"r\",\"provider_id\":5}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "urgent");
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(pid, "priority_changed"), 1);
    ck_assert_int_eq(sp_t_db_event_count(pid, "escalated"), 1);
}
END_TEST

START_TEST(escalate_keeps_high_high)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("escalate high");
    patch_ok(&a, pid, "{\"priority\":\"high\"}");
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"r\",\"provider_id\":5}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "high");
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(pid, "priority_changed"), 1);
}
END_TEST

START_TEST(escalating_again_records_a_new_event_and_notification)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_of_new_customer("escalate twice");
    struct sp_t_resp *r = escalate(&a, pid, "{\"reason\":\"first\",\"provider_id\":8}");
    sp_t_assert_json(r, 200);
    int64_t v = sp_t_jint(r->json, "version");
    sp_t_resp_free(r);
    r = escalate(&a, pid, "{\"reason\":\"second\",\"provider_id\":8}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), v + 1);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_event_count(pid, "escalated"), 2);
    ck_assert_int_eq(sp_t_db_event_count(pid, "priority_changed"), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.escalated",
                                          "provider_operations", "8"),
                     2);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.escalated", NULL, NULL), 2);
}
END_TEST

START_TEST(escalate_unknown_ticket_is_404)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = escalate(&a, "ZZZZZZZZZZZZ", "{\"reason\":\"r\",\"provider_id\":5}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

static Suite *
agent_claim_escalate_suite(void)
{
    Suite *s = suite_create("agent_claim_escalate");
    TCase *tc = sp_t_tcase(s, "claim");
    tcase_add_test(tc, claim_of_unassigned_ticket_assigns_me);
    tcase_add_test(tc, claim_by_numeric_id_works);
    tcase_add_test(tc, claim_again_by_me_is_200_and_writes_nothing);
    tcase_add_test(tc, self_assignment_notifies_nobody_assignment_by_another_notifies_the_assignee);
    tcase_add_test(tc, claim_of_a_ticket_of_another_agent_is_409_already_assigned);
    tcase_add_test(tc, claim_of_a_closed_ticket_is_409_ticket_closed);
    tcase_add_test(tc, claim_of_unknown_ticket_is_404);
    tcase_add_test(tc, concurrent_claims_have_exactly_one_winner);
    tcase_add_test(tc, one_agent_claiming_many_tickets_at_once_gets_them_all);
    tcase_add_test(tc, an_admin_assigning_many_tickets_to_one_agent_at_once_assigns_them_all);
    tcase_add_test(tc, one_agent_first_replying_to_many_tickets_at_once_takes_them_all);
    tcase_add_test(tc, a_claim_undone_by_a_deadlock_is_run_again);

    tc = sp_t_tcase(s, "escalate");
    tcase_add_test(tc, escalate_without_reason_is_422_required);
    tcase_add_test(tc, escalate_with_empty_reason_is_422);
    tcase_add_test(tc, escalate_reason_of_blanks_or_line_breaks_is_422);
    tcase_add_test(tc, escalate_with_provider_id_of_wrong_type_is_422);
    tcase_add_test(tc, escalate_without_any_provider_is_422_no_provider);
    tcase_add_test(tc, escalate_reports_a_missing_provider_with_the_field_errors);
    tcase_add_test(tc, escalate_with_provider_id_escalates_and_notifies);
    tcase_add_test(tc, escalate_uses_the_tickets_own_provider);
    tcase_add_test(tc, escalate_about_a_booking_tells_the_booking_service);
    tcase_add_test(tc, escalate_provider_id_overrides_the_tickets_provider);
    tcase_add_test(tc, escalate_raises_low_to_high);
    tcase_add_test(tc, escalate_keeps_urgent_urgent);
    tcase_add_test(tc, escalate_keeps_high_high);
    tcase_add_test(tc, escalating_again_records_a_new_event_and_notification);
    tcase_add_test(tc, escalate_unknown_ticket_is_404);
    return s;
}

int
main(void)
{
    return sp_t_run(agent_claim_escalate_suite());
}
