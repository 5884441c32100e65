/*
 * test_demo: the demo data `scripts/dev up` loads (sql/demo/demo.sql, then
 * scripts/lib/demo.sh's tickets through the API), loaded here the same way
 * by `stackctl DIR demo`. The demo tickets are tickets the product made:
 * SLA dues and sentiment, routed (round robin to Ada, the skill to Grace),
 * Ada's reply on the booking one that waits on the customer, Grace's note
 * on the crash one in progress, and counters the dashboard check agrees
 * with (QA: inserted by SQL they had none of it). Loading again — the same
 * day, or once the idempotency keys are gone — makes nothing twice.
 *
 * The database is shared with the programs after this one: what the demo
 * added (its tickets, agents, categories and articles, where they were not
 * there before) is removed at the end, so no later routing or search meets
 * Ada, Grace or the demo's categories.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* the demo's tickets, as t */
#define DEMO_TICKETS                                                                               \
    "support_tickets t WHERE t.customer_id IN ('1001', '1002') AND t.metadata ? 'demo'"
#define DEMO_AGENTS "('2001', '2002', '3001')"
#define DEMO_CATEGORIES "('billing', 'bookings', 'technical', 'account')"
#define DEMO_ARTICLES "('how-refunds-work', 'change-a-booking')"

/* The demo ticket NAME's columns, as "col|col|…" (psql's unaligned text). */
static const char *
ticket(const char *name, const char *columns)
{
    const char *row = sp_t_sql("SELECT concat_ws('|', %s) FROM " DEMO_TICKETS
                               " AND t.metadata->>'demo' = '%s'", columns, name);
    ck_assert_msg(row != NULL, "no demo ticket %s", name);
    return row;
}

static const char *
assignee(const char *name)
{
    return sp_t_sql("SELECT (SELECT a.user_id FROM support_agents a WHERE a.id = "
                    "t.assigned_agent_id) FROM " DEMO_TICKETS " AND t.metadata->>'demo' = '%s'",
                    name);
}

/* Messages of the ticket NAME: "sender_type:sender_id:is_internal" each,
 * oldest first. */
static const char *
thread(const char *name)
{
    return sp_t_sql("SELECT (SELECT string_agg(m.sender_type || ':' || m.sender_id || ':' || "
                    "m.is_internal, ' ' ORDER BY m.id) FROM support_ticket_messages m "
                    "WHERE m.ticket_id = t.id) FROM " DEMO_TICKETS " AND t.metadata->>'demo' = "
                    "'%s'", name);
}

static void
assert_story(void)
{
    static const char *const names[] = {"charged-twice", "change-date", "app-crash"};
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM " DEMO_TICKETS), "3");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        /* what the product sets on every ticket it makes; the one that
         * waits on the customer, answered, has its clock paused (no
         * running due, API.md §5) */
        const char *row = ticket(names[i], "first_response_due_at IS NOT NULL, "
                                 "resolution_due_at IS NOT NULL, sentiment IS NOT NULL, "
                                 "assigned_agent_id IS NOT NULL, "
                                 "(sla_due_at IS NULL) = (sla_paused_at IS NOT NULL)");
        ck_assert_msg(strcmp(row, "t|t|t|t|t") == 0,
                      "%s: SLA dues, sentiment, assignment, pause: %s", names[i], row);
        ck_assert_str_eq(sp_t_sql("SELECT (SELECT count(*) FROM support_ticket_events e WHERE "
                                  "e.ticket_id = t.id AND e.event_type = 'created') FROM "
                                  DEMO_TICKETS " AND t.metadata->>'demo' = '%s'", names[i]),
                         "1");
    }
    /* billing: round robin in team general (Ada's; other programs' agents
     * share it here), nobody has answered yet */
    ck_assert_str_eq(ticket("charged-twice", "status, priority, customer_id, "
                            "sla_due_at = first_response_due_at, (SELECT a.team FROM "
                            "support_agents a WHERE a.id = t.assigned_agent_id)"),
                     "open|normal|1001|t|general");
    ck_assert_str_eq(thread("charged-twice"), "customer:1001:false");
    /* bookings: Ada answered and waits on the customer */
    ck_assert_str_eq(ticket("change-date", "status, first_responded_at IS NOT NULL, "
                            "sla_paused_at IS NOT NULL"), "pending_customer|t|t");
    ck_assert_str_eq(assignee("change-date"), "2001");
    ck_assert_str_eq(thread("change-date"), "customer:1001:false agent:2001:false");
    /* technical: the skill's agent, Grace, works on it (a note, no answer) */
    ck_assert_str_eq(ticket("app-crash", "status, priority, customer_id, "
                            "first_responded_at IS NULL, sla_due_at = first_response_due_at"),
                     "in_progress|high|1002|t|t");
    ck_assert_str_eq(assignee("app-crash"), "2002");
    ck_assert_str_eq(thread("app-crash"), "customer:1002:false agent:2002:true");
}

static void
assert_counters_agree(void)
{
    static const char *const once[] = {"--once", NULL};
    const char *out;
    int rc = sp_t_job_run("dashboard-counts-check", NULL, once, &out);
    ck_assert_msg(rc == 0 && strstr(out, "\"drift\":0") != NULL,
                  "the counters drifted (exit %d):\n%s", rc, out);
}

#define MESSAGES                                                                                   \
    "SELECT count(*) FROM support_ticket_messages m WHERE m.ticket_id IN (SELECT t.id FROM "       \
    DEMO_TICKETS ")"

START_TEST(demo_tickets_are_made_by_the_product_once)
{
    /* What the demo adds that was not there (removed at the end). */
    const char *agents = sp_t_sql("SELECT coalesce(string_agg(quote_literal(user_id), ','), "
                                  "'''''') FROM support_agents WHERE user_id IN " DEMO_AGENTS);
    const char *categories = sp_t_sql("SELECT coalesce(string_agg(quote_literal(slug), ','), "
                                      "'''''') FROM support_categories WHERE slug IN "
                                      DEMO_CATEGORIES);
    const char *articles = sp_t_sql("SELECT coalesce(string_agg(quote_literal(slug), ','), "
                                    "'''''') FROM support_knowledge_articles WHERE slug IN "
                                    DEMO_ARTICLES);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM " DEMO_TICKETS), "0");
    /* A database loaded before: demo.sql inserted this one (no dues, no
     * routing); the product's replaces it. */
    sp_t_sql("INSERT INTO support_tickets (public_id, customer_id, status, priority, subject, "
             "description, message_count, last_message_at) VALUES ('DEMQ00000002', '1001', "
             "'pending_customer', 'normal', 'Change the date of my stay', '<p>x</p>', 1, now())");

    sp_t_stackctl("demo");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE public_id = "
                              "'DEMQ00000002'"), "0");
    assert_story();
    assert_counters_agree();
    const char *messages = sp_t_sql(MESSAGES);

    /* The next `up`, the same day: nothing twice. */
    sp_t_stackctl("demo");
    assert_story();
    /* A later day: the idempotency keys are gone; the tickets are found. */
    sp_t_sql("DELETE FROM support_idempotency_keys WHERE user_id IN ('1001', '1002', '2001', "
             "'2002')");
    sp_t_stackctl("demo");
    assert_story();
    ck_assert_str_eq(sp_t_sql(MESSAGES), messages);
    assert_counters_agree();

    sp_t_sql("DELETE FROM support_tickets WHERE id IN (SELECT t.id FROM " DEMO_TICKETS ")");
    sp_t_sql("DELETE FROM support_agents WHERE user_id IN " DEMO_AGENTS
             " AND user_id NOT IN (%s)", agents);
    sp_t_sql("DELETE FROM support_categories WHERE slug IN " DEMO_CATEGORIES
             " AND slug NOT IN (%s)", categories);
    sp_t_sql("DELETE FROM support_knowledge_articles WHERE slug IN " DEMO_ARTICLES
             " AND slug NOT IN (%s)", articles);
}
END_TEST

static Suite *
demo_suite(void)
{
    Suite *s = suite_create("demo");
    TCase *tc = sp_t_tcase(s, "demo");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, demo_tickets_are_made_by_the_product_once);
    return s;
}

int
main(void)
{
    return sp_t_run(demo_suite());
}
