/*
 * test_agent_workflow: the "done when" as one story — a customer
 * opens a ticket, an agent works it from open to closed through the API,
 * and the SLA dates, the audit trail and the dashboard agree at each step.
 */
#include "harness.h"

#include <string.h>

static struct sp_t_resp *
agent_get(const struct sp_t_user *a, const char *id)
{
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s", id), a->token);
    sp_t_assert_json(r, 200);
    return r;
}

static struct sp_t_resp *
agent_post(const struct sp_t_user *a, const char *id, const char *action, const char *body)
{
    struct sp_t_resp *r =
        sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/%s", id, action), a->token, body);
    return r;
}

static int64_t
dashboard_count(const struct sp_t_user *a, const char *group, const char *key)
{
    struct sp_t_resp *r = sp_t_get("/support/agent/dashboard", a->token);
    sp_t_assert_json(r, 200);
    int64_t n = sp_t_jint(sp_t_jobj(sp_t_jobj(r->json, "tickets"), group), key);
    sp_t_resp_free(r);
    return n;
}

START_TEST(agent_works_a_ticket_from_open_to_closed)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    int64_t open_before = dashboard_count(&a, "by_status", "open");

    const char *id = sp_t_ticket_create(&c, "my booking was cancelled");
    ck_assert_int_eq(dashboard_count(&a, "by_status", "open"), open_before + 1);

    /* Open, normal: first response due 240 min after creation. */
    struct sp_t_resp *r = agent_get(&a, id);
    int64_t created = sp_t_jts_ms_at(__FILE__, __LINE__, r->json, "created_at");
    int64_t fr_due = sp_t_jts_ms_at(__FILE__, __LINE__, r->json, "first_response_due_at");
    int64_t res_due = sp_t_jts_ms_at(__FILE__, __LINE__, r->json, "resolution_due_at");
    ck_assert_int_eq(fr_due - created, 240LL * 60 * 1000);
    ck_assert_int_eq(res_due - created, 2880LL * 60 * 1000);
    ck_assert_str_eq(sp_t_jstr(r->json, "sla_due_at"), sp_t_jstr(r->json, "first_response_due_at"));
    sp_t_resp_free(r);

    /* Claim, then answer and wait for the customer. */
    r = agent_post(&a, id, "claim", NULL);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), sp_t_agent_id(&a));
    sp_t_resp_free(r);
    r = agent_post(&a, id, "messages", "{\"body\":\"We are on it\",\"status\":\"pending_customer\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    r = agent_get(&a, id);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "pending_customer");
    sp_t_assert_recent(sp_t_jstr(r->json, "first_responded_at"));
    ck_assert(json_object_get_boolean(sp_t_jget(r->json, "sla_paused")));
    sp_t_assert_jnull(r->json, "sla_due_at");
    sp_t_resp_free(r);

    /* The customer answers: back to in_progress, resolution target running. */
    sp_t_ticket_reply(&c, id, "Here are the details");
    r = agent_get(&a, id);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "in_progress");
    ck_assert_str_eq(sp_t_jstr(r->json, "sla_due_at"), sp_t_jstr(r->json, "resolution_due_at"));
    ck_assert(!json_object_get_boolean(sp_t_jget(r->json, "sla_breached")));
    sp_t_resp_free(r);

    /* Resolve, then close. */
    r = sp_t_patch_json(sp_t_fmt("/support/agent/tickets/%s", id), a.token, "{\"status\":\"resolved\"}");
    sp_t_assert_json(r, 200);
    sp_t_assert_jnull(r->json, "sla_due_at");
    sp_t_resp_free(r);
    r = sp_t_patch_json(sp_t_fmt("/support/agent/tickets/%s", id), a.token, "{\"status\":\"closed\"}");
    sp_t_assert_json(r, 200);
    sp_t_assert_recent(sp_t_jstr(r->json, "closed_at"));
    sp_t_resp_free(r);
    ck_assert_int_eq(dashboard_count(&a, "by_status", "open"), open_before);

    /* The audit trail tells the story in order. */
    r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s/events?limit=100", id), a.token);
    sp_t_assert_json(r, 200);
    static const char *const want[] = {"created", "assigned", "status_changed", "status_changed",
                                       "resolved", "closed"};
    struct json_object *data = sp_t_jarr(r->json, "data");
    ck_assert_uint_eq(json_object_array_length(data), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(data, i), "event_type"), want[i]);
    sp_t_resp_free(r);

    /* The customer sees their closed ticket and cannot reply any more. */
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", id), c.token, "{\"body\":\"hi\"}");
    sp_t_assert_problem(r, 409, "ticket_closed");
    sp_t_resp_free(r);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("agent_workflow");
    TCase *tc = sp_t_tcase(s, "workflow");
    tcase_add_test(tc, agent_works_a_ticket_from_open_to_closed);
    return sp_t_run(s);
}
