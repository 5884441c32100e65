/*
 * test_customer_channels: the channels a customer is notified on
 * (docs/API.md §11, "Customer notification rows"). Each notification the
 * ticket code queues for the customer — an agent's public reply
 * (ticket.message_created), a ticket they opened on the web or by mail
 * (ticket.received, its acknowledgement), a move by someone else to waiting on them,
 * resolved or closed (ticket.updated) — is one outbox row per channel of
 * SUPPORT_CUSTOMER_CHANNELS (default email), recipient the customer id. A
 * chat made a ticket by an agent or an admin (POST
 * /support/chat/session/:id/transfer {"to":"ticket"}) tells the customer
 * where it continues: chat.escalated on the same channels, in the
 * transfer's transaction, its payload naming the ticket and the chat; the
 * customer's own transfer tells them nothing. (The chat-session-archive
 * job's conversions: test_chat_archive; the rows delivered: test_dispatch.)
 * The second test case runs support-api with
 * SUPPORT_CUSTOMER_CHANNELS=email,sms and restarts it plain afterwards.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/* ---- arranging ---------------------------------------------------------------- */

/* The customer's notifications of the ticket on channel (NULL: any). */
static long
customer_rows(const char *ticket, const struct sp_t_user *c, const char *event_type,
              const char *channel)
{
    return sp_t_db_outbox_count(ticket, "notification", event_type, channel, c->sub);
}

static void
agent_reply(const struct sp_t_user *a, const char *ticket, const char *body)
{
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", ticket),
                                         a->token, sp_t_fmt("{\"body\":%s}", sp_t_jq(body)));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
}

static void
agent_status(const struct sp_t_user *a, const char *ticket, const char *status)
{
    struct sp_t_resp *r = sp_t_patch_json(sp_t_fmt("/support/agent/tickets/%s", ticket), a->token,
                                          sp_t_fmt("{\"status\":\"%s\"}", status));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

/* A waiting chat of c's (manual routing) with one message; its public id. */
static const char *
chat_new(const struct sp_t_user *c)
{
    const char *cat = sp_t_admin_category_new("\"routing\":\"manual\"");
    struct sp_t_resp *r = sp_t_post_json(
        "/support/chat/session", c->token,
        sp_t_fmt("{\"category\":%s,\"message\":\"my booking vanished\"}", sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    return id;
}

/* u's transfer of chat id to a ticket; asserts 201, returns the ticket. */
static const char *
to_ticket(const struct sp_t_user *u, const char *id)
{
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", id),
                                         u->token, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    sp_t_resp_free(r);
    return ticket;
}

/* The chat.escalated row's payload names the ticket and the chat. */
static void
assert_escalation_payload(const char *ticket, const struct sp_t_user *c, const char *chat)
{
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(DISTINCT o.payload->>'public_id' || ' '"
                              " || (o.payload->>'chat_session_id'), ',')"
                              " FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id"
                              " WHERE t.public_id = '%s' AND o.event_type = 'chat.escalated'"
                              " AND o.recipient = '%s'", ticket, c->sub),
                     sp_t_fmt("%s %s", ticket, chat));
}

/* ---- default: email only -------------------------------------------------------- */

START_TEST(by_default_an_agents_reply_is_one_email)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a = sp_t_user_new(SP_ROLE_AGENT);
    const char *ticket = sp_t_ticket_create(&c, "Where is my refund?");
    /* Opening it is acknowledged: the customer learns its id. */
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.received", "email"), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.received", NULL), 1);
    agent_reply(&a, ticket, "It is on its way.");
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.message_created", "email"), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.message_created", NULL), 1);
}
END_TEST

START_TEST(by_default_an_agents_transfer_tells_the_customer_by_email)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), admin = sp_t_user_new(SP_ROLE_ADMIN);
    const char *chat = chat_new(&c);
    const char *ticket = to_ticket(&admin, chat);
    ck_assert_int_eq(customer_rows(ticket, &c, "chat.escalated", "email"), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "chat.escalated", NULL), 1);
    assert_escalation_payload(ticket, &c, chat);
}
END_TEST

/* A chat of c's that agent a accepted; its public id. */
static const char *
accepted_chat(const struct sp_t_user *c, const struct sp_t_user *a)
{
    const char *chat = chat_new(c);
    struct sp_t_resp *r = sp_t_request("POST", sp_t_fmt("/support/agent/chats/%s/accept", chat),
                                       a->token, NULL, NULL, NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    return chat;
}

/* QA: an agent turning her own chat into a ticket got a ticket.assigned
 * mail about herself; API.md §11 (Staff notification rows): an agent who
 * assigns themselves is not told. An admin's transfer of her chat tells
 * her as before. */
START_TEST(an_agent_making_her_chat_a_ticket_is_not_told_she_has_it)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    const char *me = sp_t_fmt("%lld", (long long)sp_t_agent_id(&a));
    const char *ticket = to_ticket(&a, accepted_chat(&c, &a));
    ck_assert_str_eq(sp_t_sql("SELECT assigned_agent_id FROM support_tickets"
                              " WHERE public_id = '%s'", ticket), me);
    ck_assert_int_eq(sp_t_db_event_count(ticket, "assigned"), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(ticket, "notification", "ticket.assigned", NULL, NULL),
                     0);
    ticket = to_ticket(&admin, accepted_chat(&c, &a));
    ck_assert_str_eq(sp_t_sql("SELECT assigned_agent_id FROM support_tickets"
                              " WHERE public_id = '%s'", ticket), me);
    ck_assert_int_eq(sp_t_db_outbox_count(ticket, "notification", "ticket.assigned", "agent", me),
                     1);
}
END_TEST

START_TEST(the_customers_own_transfer_tells_them_nothing)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), admin = sp_t_user_new(SP_ROLE_ADMIN);
    const char *chat = chat_new(&c);
    const char *ticket = to_ticket(&c, chat);
    ck_assert_int_eq(customer_rows(ticket, &c, "chat.escalated", NULL), 0);
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.received", NULL), 0);  /* read in the chat */
    /* A later transfer by someone else finds the ticket: nothing new. */
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", chat),
                                         admin.token, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(customer_rows(ticket, &c, "chat.escalated", NULL), 0);
}
END_TEST

/* QA: a ticket created with "source":"chat" but no chat_session_id was
 * acknowledged on no channel (the acknowledgement looked at the source,
 * not at whether a chat made it): only a ticket made from a chat is read
 * in the chat. */
START_TEST(a_ticket_that_only_says_chat_is_acknowledged)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json(
        "/support/tickets", c.token,
        "{\"subject\":\"Chat said to write\",\"description\":\"the chat sent me here\","
        "\"source\":\"chat\"}");
    sp_t_assert_json(r, 201);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    sp_t_resp_free(r);
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.received", "email"), 1);
}
END_TEST

/* QA: the customer's resolve of an assigned ticket told its agent
 * nothing (only the webhook went): the agent gets a notification, as of
 * the customer's reply; an unassigned ticket's resolve tells nobody. */
START_TEST(the_customers_resolve_tells_the_assigned_agent)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *ticket = sp_t_ticket_create(&c, "Solved it myself");
    const char *agent = sp_t_db_agent_new();
    sp_t_db_ticket_assign(ticket, agent);
    struct sp_t_resp *r =
        sp_t_post_json(sp_t_fmt("/support/tickets/%s/resolve", ticket), c.token, "{}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_outbox_count(ticket, "notification", "ticket.customer_resolved",
                                          "agent", agent), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.updated", NULL), 0);
    const char *alone = sp_t_ticket_create(&c, "Nobody had it");
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/resolve", alone), c.token, "{}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_db_outbox_count(alone, "notification", "ticket.customer_resolved", NULL,
                                          NULL), 0);
}
END_TEST

/* ---- SUPPORT_CUSTOMER_CHANNELS=email,sms ------------------------------------------ */

static void
email_and_sms(void)
{
    sp_t_stackctl("restart-api-with SUPPORT_CUSTOMER_CHANNELS=email,sms");
}

static void
back_to_default(void)
{
    sp_t_stackctl("restart-api");
}

START_TEST(an_agents_reply_is_one_email_and_one_sms)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a = sp_t_user_new(SP_ROLE_AGENT);
    const char *ticket = sp_t_ticket_create(&c, "Where is my refund?");
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.received", "email"), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.received", "sms"), 1);
    agent_reply(&a, ticket, "It is on its way.");
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.message_created", "email"), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.message_created", "sms"), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.message_created", NULL), 2);
    /* The same notification on both: one payload, the reply quoted. */
    ck_assert_str_eq(sp_t_sql("SELECT count(DISTINCT o.payload) FROM support_outbox o"
                              " JOIN support_tickets t ON t.id = o.ticket_id"
                              " WHERE t.public_id = '%s' AND o.recipient = '%s'"
                              " AND o.payload->>'message_html' LIKE '%%on its way%%'",
                              ticket, c.sub),
                     "1");
    /* A move to resolved by the agent: ticket.updated on both too. */
    agent_status(&a, ticket, "resolved");
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.updated", "email"), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "ticket.updated", "sms"), 1);
}
END_TEST

START_TEST(an_agents_transfer_tells_the_customer_on_every_channel)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user a;
    const char *team = sp_t_unique("channels-team");
    (void)sp_t_admin_agent_new(sp_t_fmt("\"team\":%s", sp_t_jq(team)), &a);
    const char *cat = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":%s", sp_t_jq(team)));
    struct sp_t_resp *r = sp_t_post_json("/support/chat/session", c.token,
                                         sp_t_fmt("{\"category\":%s}", sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "active");   /* a's chat */
    const char *chat = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    const char *ticket = to_ticket(&a, chat);
    ck_assert_int_eq(customer_rows(ticket, &c, "chat.escalated", "email"), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "chat.escalated", "sms"), 1);
    ck_assert_int_eq(customer_rows(ticket, &c, "chat.escalated", NULL), 2);
    assert_escalation_payload(ticket, &c, chat);

    struct sp_t_user own = sp_t_user_new(SP_ROLE_CUSTOMER);
    ticket = to_ticket(&own, chat_new(&own));
    ck_assert_int_eq(customer_rows(ticket, &own, "chat.escalated", NULL), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("customer_channels");
    TCase *tc = sp_t_tcase(s, "default");
    tcase_add_test(tc, by_default_an_agents_reply_is_one_email);
    tcase_add_test(tc, by_default_an_agents_transfer_tells_the_customer_by_email);
    tcase_add_test(tc, the_customers_own_transfer_tells_them_nothing);
    tcase_add_test(tc, an_agent_making_her_chat_a_ticket_is_not_told_she_has_it);
    tcase_add_test(tc, a_ticket_that_only_says_chat_is_acknowledged);
    tcase_add_test(tc, the_customers_resolve_tells_the_assigned_agent);
    tc = sp_t_tcase(s, "email_and_sms");
    tcase_add_unchecked_fixture(tc, email_and_sms, back_to_default);
    tcase_add_test(tc, an_agents_reply_is_one_email_and_one_sms);
    tcase_add_test(tc, an_agents_transfer_tells_the_customer_on_every_channel);
    return sp_t_run(s);
}
