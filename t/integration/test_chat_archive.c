/*
 * test_chat_archive: the chat-session-archive job (API.md §12) against the
 * real database with a controllable clock (--now): idle sessions close,
 * those with customer messages and no ticket become chat tickets with the
 * transcript (its priority rules seeing the tier stored with the
 * customer's contact), kept with the chat's agent (a waiting chat's
 * routed), and tell the customer where the chat continues
 * (chat.escalated, per SUPPORT_CUSTOMER_CHANNELS), re-runs change
 * nothing, --dry-run changes nothing, one instance at a time.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#define JOB "chat-session-archive"

/* c's session in category cat with a first message; asserts the status
 * it answers with when want_status is not NULL. Returns its public id. */
static const char *
session_open(const struct sp_t_user *c, const char *cat, const char *message,
             const char *want_status)
{
    const char *body = message ? sp_t_fmt("{\"category\":%s,\"message\":%s}", sp_t_jq(cat),
                                          sp_t_jq(message))
                               : sp_t_fmt("{\"category\":%s}", sp_t_jq(cat));
    struct sp_t_resp *r = sp_t_post_json("/support/chat/session", c->token, body);
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    if (want_status != NULL)
        ck_assert_str_eq(sp_t_jstr(r->json, "status"), want_status);
    sp_t_resp_free(r);
    return id;
}

/* A session of a new customer (manual routing: waiting), optionally with
 * a first message; returns its public id. */
static const char *
session_new(const struct sp_t_user *c, const char *message)
{
    return session_open(c, sp_t_admin_category_new("\"routing\":\"manual\""), message,
                        "waiting");
}

/* Moves the session's activity `minutes` into the past. */
static void
age(const char *id, int minutes)
{
    sp_t_sql("UPDATE support_chat_sessions SET started_at = started_at - %d * interval '1 minute',"
             " last_message_at = last_message_at - %d * interval '1 minute'"
             " WHERE public_id = '%s' RETURNING 1",
             minutes, minutes, id);
}

static const char *
col(const char *id, const char *column)
{
    return sp_t_sql("SELECT %s FROM support_chat_sessions WHERE public_id = '%s'", column, id);
}

static long
tickets_of(const char *id)
{
    return atol(sp_t_sql("SELECT count(*) FROM support_tickets t JOIN support_chat_sessions s"
                         " ON s.id = t.chat_session_id WHERE s.public_id = '%s'", id));
}

static const char *
now_rfc3339(void)
{
    return sp_t_sql("SELECT support_ts(now())");
}

/* One pass now, with settings env (NULL: none) and flags extra; its
 * output (the JSON log lines). */
static const char *
run_with(const char *const env[], const char *const extra[])
{
    const char *args[6] = {"--once", "--now", now_rfc3339(), NULL, NULL, NULL};
    for (int i = 0; extra != NULL && extra[i] != NULL && i < 2; i++)
        args[3 + i] = extra[i];
    const char *out;
    int rc = sp_t_job_run(JOB, env, args, &out);
    ck_assert_msg(rc == 0, "job exited %d:\n%s", rc, out);
    return out;
}

static void
run_ok(const char *const extra[])
{
    (void)run_with(NULL, extra);
}

/* How many lines of out hold needle. */
static int
lines_with(const char *out, const char *needle)
{
    int n = 0;
    for (const char *at = out; (at = strstr(at, needle)) != NULL; at += strlen(needle))
        n++;
    return n;
}

/* The public id of the session's ticket. */
static const char *
ticket_of(const char *id)
{
    return sp_t_sql("SELECT t.public_id FROM support_tickets t JOIN support_chat_sessions s"
                    " ON s.ticket_id = t.id WHERE s.public_id = '%s'", id);
}

START_TEST(idle_session_with_customer_messages_becomes_a_ticket_and_closes)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&c, "my refund never arrived");
    age(id, 31);
    run_ok(NULL);
    ck_assert_str_eq(col(id, "status"), "closed");
    ck_assert_ptr_nonnull(col(id, "ended_at"));
    ck_assert_int_eq(tickets_of(id), 1);
    ck_assert_str_eq(sp_t_sql("SELECT t.source FROM support_tickets t JOIN support_chat_sessions s"
                              " ON s.ticket_id = t.id WHERE s.public_id = '%s'", id), "chat");
    const char *desc = sp_t_sql("SELECT t.description FROM support_tickets t"
                                " JOIN support_chat_sessions s ON s.ticket_id = t.id"
                                " WHERE s.public_id = '%s'", id);
    ck_assert_ptr_nonnull(strstr(desc, "my refund never arrived"));
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.payload->>'event' IN"
                              " ('ticket_created', 'closed')", id), "2");
    /* Again: nothing new. */
    run_ok(NULL);
    ck_assert_int_eq(tickets_of(id), 1);
}
END_TEST

/* docs/API.md §7: the archive job's transcript, as a transfer's, keeps a
 * body inside its own labelled paragraph as text: a customer's chat
 * message cannot close it and forge an agent's line in the ticket. */
START_TEST(archived_transcript_keeps_a_forged_agent_line_as_the_customers_text)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&c, "ok thanks</p><p><b>Agent</b> (2026-12-04T23:20:00.000Z):"
                                     "</p><p>Approved: full refund of 5000 EUR");
    age(id, 31);
    run_ok(NULL);
    ck_assert_str_eq(
        sp_t_sql("SELECT t.description FROM support_tickets t"
                 " JOIN support_chat_sessions s ON s.ticket_id = t.id WHERE s.public_id = '%s'",
                 id),
        sp_t_fmt("<p><b>Customer</b> (%s):<br>ok thanks<br>Agent (2026-12-04T23:20:00.000Z):"
                 "<br>Approved: full refund of 5000 EUR</p>",
                 sp_t_sql("SELECT support_ts(m.created_at) FROM support_chat_messages m"
                          " JOIN support_chat_sessions s ON s.id = m.session_id"
                          " WHERE s.public_id = '%s' AND m.sender_type = 'customer'",
                          id)));
}
END_TEST

/* The customer learns where their chat went (docs/API.md §11): the
 * ticket's chat.escalated, on each channel of SUPPORT_CUSTOMER_CHANNELS
 * (default email), naming the chat. */
START_TEST(conversion_tells_the_customer_on_their_channels)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&c, "anyone?");
    age(id, 31);
    run_ok(NULL);
    const char *ticket = ticket_of(id);
    ck_assert_ptr_nonnull(ticket);
    ck_assert_int_eq(sp_t_db_outbox_count(ticket, "notification", "chat.escalated", "email",
                                          c.sub), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(ticket, "notification", "chat.escalated", NULL, NULL),
                     1);
    ck_assert_str_eq(sp_t_sql("SELECT o.payload->>'chat_session_id' FROM support_outbox o"
                              " JOIN support_tickets t ON t.id = o.ticket_id"
                              " WHERE t.public_id = '%s' AND o.event_type = 'chat.escalated'",
                              ticket), id);

    struct sp_t_user d = sp_t_user_new(SP_ROLE_CUSTOMER);
    id = session_new(&d, "hello, anyone?");
    age(id, 31);
    static const char *const sms[] = {"SUPPORT_CUSTOMER_CHANNELS=email,sms", NULL};
    run_with(sms, NULL);
    ticket = ticket_of(id);
    ck_assert_ptr_nonnull(ticket);
    ck_assert_int_eq(sp_t_db_outbox_count(ticket, "notification", "chat.escalated", "email",
                                          d.sub), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(ticket, "notification", "chat.escalated", "sms",
                                          d.sub), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(ticket, "notification", "chat.escalated", NULL, NULL),
                     2);
}
END_TEST

START_TEST(idle_session_without_customer_messages_closes_without_a_ticket)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&c, NULL);
    age(id, 45);
    run_ok(NULL);
    ck_assert_str_eq(col(id, "status"), "closed");
    ck_assert_int_eq(tickets_of(id), 0);
}
END_TEST

START_TEST(recent_session_is_left_alone)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&c, "hello");
    age(id, 29);
    run_ok(NULL);
    ck_assert_str_ne(col(id, "status"), "closed");
    ck_assert_int_eq(tickets_of(id), 0);
}
END_TEST

START_TEST(expired_session_is_archived_even_when_recently_active)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&c, "are you there");
    sp_t_sql("UPDATE support_chat_sessions SET expires_at = now() - interval '1 second'"
             " WHERE public_id = '%s' RETURNING 1", id);
    run_ok(NULL);
    ck_assert_str_eq(col(id, "status"), "closed");
    ck_assert_int_eq(tickets_of(id), 1);
}
END_TEST

START_TEST(dry_run_changes_nothing)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&c, "dry run please");
    age(id, 60);
    static const char *const dry[] = {"--dry-run", NULL};
    run_ok(dry);
    ck_assert_str_ne(col(id, "status"), "closed");
    ck_assert_int_eq(tickets_of(id), 0);
}
END_TEST

START_TEST(a_second_instance_waits_its_turn)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&c, "locked out");
    age(id, 60);
    /* Our own session holds the job's lock: the job must do nothing. */
    PGconn *conn = PQconnectdb(getenv("SP_TEST_DATABASE_URL"));
    ck_assert_int_eq(PQstatus(conn), CONNECTION_OK);
    PGresult *r = PQexec(conn, "SELECT pg_advisory_lock(6003372280897487688)"); /* "SPCHARCH" */
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    run_ok(NULL);
    ck_assert_str_ne(col(id, "status"), "closed");
    PQfinish(conn);
    run_ok(NULL);
    ck_assert_str_eq(col(id, "status"), "closed");
}
END_TEST

START_TEST(subscribers_hear_ticket_created_and_closed)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *cat = sp_t_admin_category_new("\"routing\":\"manual\"");
    struct sp_t_resp *r = sp_t_post_json("/support/chat/session", c.token,
                                         sp_t_fmt("{\"category\":%s,\"message\":\"hello?\"}",
                                                  sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    const char *token = sp_t_fmt("%s", sp_t_jstr(r->json, "session_token"));
    sp_t_resp_free(r);
    age(id, 40);

    /* An EventSource subscriber, listening while the job runs. */
    char path[] = "/tmp/chat-archive-es-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    const char *cmd = sp_t_fmt("timeout 6 curl -s -N -H 'Accept: text/event-stream'"
                               " '%s/support/chat/connect?session_id=%s&session_token=%s"
                               "&access_token=%s' > %s 2>/dev/null &",
                               getenv("SP_TEST_BASE_URL"), id, token, c.token, path);
    ck_assert_int_eq(system(cmd), 0);
    usleep(800 * 1000);

    const char *env[] = {sp_t_fmt("SUPPORT_CHAT_PUBLISH_URL=%s", getenv("SP_TEST_CHAT_PUBLISH_URL")),
                         sp_t_fmt("SUPPORT_CHAT_PUBLISH_SOCKET=%s",
                                  getenv("SP_TEST_CHAT_PUBLISH_SOCKET")),
                         NULL};
    const char *args[] = {"--once", "--now", now_rfc3339(), NULL};
    const char *out;
    int rc = sp_t_job_run(JOB, env, args, &out);
    ck_assert_msg(rc == 0, "job exited %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, "chat_archive_unannounced") == NULL, "warned with a publisher:\n%s",
                  out);
    sleep(1);
    FILE *f = fopen(path, "r");
    ck_assert(f != NULL);
    char buf[8192] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    unlink(path);
    buf[n] = '\0';
    const char *ticket = sp_t_sql("SELECT t.public_id FROM support_tickets t"
                                  " JOIN support_chat_sessions s ON s.ticket_id = t.id"
                                  " WHERE s.public_id = '%s'", id);
    ck_assert_ptr_nonnull(ticket);
    ck_assert_msg(strstr(buf, "\"event\":\"ticket_created\"") != NULL, "no ticket_created:\n%s", buf);
    ck_assert_msg(strstr(buf, ticket) != NULL, "ticket id %s not announced:\n%s", ticket, buf);
    ck_assert_msg(strstr(buf, "\"event\":\"closed\"") != NULL, "no closed frame:\n%s", buf);
}
END_TEST

/* QA: `scripts/dev job chat-session-archive` closed chats and told none
 * of their live clients, without a word: its settings had no publisher.
 * A pass that closes chats without one says so, once (a pass with one is
 * subscribers_hear_ticket_created_and_closed); one that closes none is
 * silent. */
START_TEST(a_pass_without_a_publisher_warns_once_that_clients_were_not_told)
{
    for (int i = 0; i < 2; i++) {
        struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
        age(session_new(&c, i == 0 ? "anyone?" : NULL), 40);
    }
    const char *out = run_with(NULL, NULL);
    ck_assert_msg(lines_with(out, "\"event\":\"chat_archive_unannounced\"") == 1,
                  "want one warning:\n%s", out);
    const char *line = strstr(out, "\"level\":\"warn\",\"event\":\"chat_archive_unannounced\"");
    ck_assert_msg(line != NULL, "not a warning:\n%s", out);
    ck_assert_ptr_nonnull(strstr(line, "SUPPORT_CHAT_PUBLISH_URL"));
    out = run_with(NULL, NULL);
    ck_assert_msg(strstr(out, "chat_archive_unannounced") == NULL, "nothing closed:\n%s", out);
}
END_TEST

/* The job has no token of the customer's: the ticket gets the tier stored
 * with their contact (by their earlier ticket), so a tier rule matches. */
START_TEST(archived_chat_ticket_gets_the_customers_stored_tier)
{
    const char *cat = sp_t_admin_category_new("\"routing\":\"manual\"");
    const char *name = sp_t_unique("vip-archive");
    int64_t rule = sp_t_admin_rule_new(
        sp_t_fmt("\"name\":%s,\"category\":%s,\"customer_tier\":\"vip\","
                 "\"priority\":\"urgent\"", sp_t_jq(name), sp_t_jq(cat)));
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    c.token = sp_t_token_claims(SP_ROLE_CUSTOMER, c.sub, "{\"tier\":\"vip\"}");
    (void)sp_t_ticket_create(&c, "An earlier question");  /* stores the contact */
    const char *id = session_open(&c, cat, "still waiting", NULL);
    age(id, 31);
    run_ok(NULL);
    ck_assert_int_eq(tickets_of(id), 1);
    ck_assert_str_eq(sp_t_sql("SELECT t.priority || '/' || coalesce(p.name, '-')"
                              " FROM support_tickets t JOIN support_chat_sessions s"
                              " ON s.ticket_id = t.id"
                              " LEFT JOIN support_priority_rules p ON p.id = t.priority_rule_id"
                              " WHERE s.public_id = '%s'", id),
                     sp_t_fmt("urgent/%s", name));
    struct sp_t_resp *r = sp_t_admin("DELETE", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)rule),
                   NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
}
END_TEST

/* The assignee of the session's ticket (0: nobody). */
static long long
assignee_of(const char *id)
{
    return atoll(sp_t_sql("SELECT coalesce(t.assigned_agent_id, 0) FROM support_tickets t"
                          " JOIN support_chat_sessions s ON s.ticket_id = t.id"
                          " WHERE s.public_id = '%s'", id));
}

/* A chat's ticket is routed under the same open-ticket cap as any other
 * (SUPPORT_AGENT_MAX_OPEN_TICKETS), and kept with the chat's agent only
 * under it: the team's only agent, whose chats both are, at the cap, is
 * not given it; under a higher cap they are. */
START_TEST(archived_chat_ticket_is_routed_under_the_open_ticket_cap)
{
    const char *team = sp_t_unique("cap-team");
    struct sp_t_user agent;
    int64_t agent_id = sp_t_admin_agent_new(sp_t_fmt("\"team\":%s", sp_t_jq(team)), &agent);
    const char *cat = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":%s", sp_t_jq(team)));
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    /* The agent's one open ticket. */
    const char *first = sp_t_ticket_create_json(
        &c, sp_t_fmt("{\"subject\":\"first\",\"description\":\"d\",\"category\":%s}",
                     sp_t_jq(cat)));
    ck_assert_int_eq(atoll(sp_t_sql("SELECT coalesce(assigned_agent_id, 0) FROM support_tickets"
                                    " WHERE public_id = '%s'", first)),
                     agent_id);
    const char *ids[2];
    for (int i = 0; i < 2; i++) {
        ids[i] = session_open(&c, cat, sp_t_fmt("chat %d", i), NULL);
        age(ids[i], 31);
        const char *now = now_rfc3339();
        const char *args[] = {"--once", "--now", now, NULL};
        const char *env[] = {i == 0 ? "SUPPORT_AGENT_MAX_OPEN_TICKETS=1"
                                    : "SUPPORT_AGENT_MAX_OPEN_TICKETS=5", NULL};
        const char *out;
        int rc = sp_t_job_run(JOB, env, args, &out);
        ck_assert_msg(rc == 0, "job exited %d:\n%s", rc, out);
        ck_assert_int_eq(tickets_of(ids[i]), 1);
    }
    ck_assert_int_eq(atoll(col(ids[0], "assigned_agent_id")), agent_id);  /* the chat's */
    ck_assert_int_eq(assignee_of(ids[0]), 0);          /* at the cap of 1 */
    ck_assert_int_eq(assignee_of(ids[1]), agent_id);   /* 1 open < 5 */
}
END_TEST

/* A round-robin team of two agents whose chats all go to *a (the other,
 * *b, takes none) while b is next in line for tickets; returns the
 * category. */
static const char *
team_of_two(int64_t *a, struct sp_t_user *au, int64_t *b)
{
    const char *team = sp_t_unique("keep-team");
    struct sp_t_user bu;
    *a = sp_t_admin_agent_new(sp_t_fmt("\"team\":%s", sp_t_jq(team)), au);
    *b = sp_t_admin_agent_new(sp_t_fmt("\"team\":%s,\"max_concurrent_chats\":0", sp_t_jq(team)),
                              &bu);
    sp_t_sql("UPDATE support_agents SET last_assigned_at = CASE id WHEN %lld THEN now()"
             " ELSE NULL END WHERE id IN (%lld, %lld) RETURNING 1",
             (long long)*a, (long long)*a, (long long)*b);
    return sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":%s", sp_t_jq(team)));
}

/* An idle chat its agent handled becomes a ticket that stays with that
 * agent (docs/API.md §7), through routing's own path: the system's
 * `assigned` event, ticket.assigned for them, SLA targets — not the
 * agent next in the team's rotation, who never saw the chat. Away is no
 * reason to hand it on: a ticket waits. */
START_TEST(archived_active_chat_ticket_stays_with_the_chats_agent)
{
    int64_t a, b;
    struct sp_t_user au;
    const char *cat = team_of_two(&a, &au, &b);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_open(&c, cat, "where is my refund?", "active");
    ck_assert_int_eq(atoll(col(id, "assigned_agent_id")), a);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", id), au.token,
                       "{\"body\":\"checking, one moment\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    sp_t_sql("UPDATE support_agents SET status = 'away' WHERE id = %lld RETURNING 1",
             (long long)a);
    age(id, 31);
    run_ok(NULL);
    ck_assert_int_eq(tickets_of(id), 1);
    ck_assert_int_eq(assignee_of(id), a);
    const char *t = ticket_of(id);
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(e.actor_type || ':' || (e.metadata->>'to'), ',')"
                              " FROM support_ticket_events e JOIN support_tickets t"
                              " ON t.id = e.ticket_id WHERE t.public_id = '%s'"
                              " AND e.event_type = 'assigned'", t),
                     sp_t_fmt("system:%lld", (long long)a));
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_outbox o JOIN support_tickets t"
                              " ON t.id = o.ticket_id WHERE t.public_id = '%s'"
                              " AND o.event_type = 'ticket.assigned' AND o.recipient = '%lld'",
                              t, (long long)a), "1");
    ck_assert_str_eq(sp_t_sql("SELECT first_response_due_at IS NOT NULL FROM support_tickets"
                              " WHERE public_id = '%s'", t), "t");
    /* Stamped like a routed pick. */
    ck_assert_str_eq(sp_t_sql("SELECT last_assigned_at > now() - interval '1 minute'"
                              " FROM support_agents WHERE id = %lld", (long long)a), "t");
}
END_TEST

/* The job's ticket is the system's (API.md §5.1: `created` by actor
 * system), judged by the customer's words only (docs/API.md §5.3: not
 * the transcript's "Customer"/"Agent" labels nor the agent's words), and
 * the agent's chat reply is its first response (§7). */
START_TEST(archived_chat_ticket_is_the_systems_and_keeps_the_chats_first_response)
{
    int64_t a, b;
    struct sp_t_user au;
    const char *cat = team_of_two(&a, &au, &b);
    const char *name = sp_t_unique("archive-words");
    int64_t rule = sp_t_admin_rule_new(
        sp_t_fmt("\"name\":%s,\"category\":%s,\"priority\":\"urgent\","
                 "\"pattern\":\"\\\\b(customer|agent|refund)\\\\b\"",
                 sp_t_jq(name), sp_t_jq(cat)));
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_open(&c, cat, "where is my parcel?", NULL);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", id), au.token,
                       "{\"body\":\"an agent will check the refund\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    age(id, 31);
    run_ok(NULL);
    const char *t = ticket_of(id);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(sp_t_sql("SELECT t.priority || '/' || coalesce(p.name, '-')"
                              " FROM support_tickets t"
                              " LEFT JOIN support_priority_rules p ON p.id = t.priority_rule_id"
                              " WHERE t.public_id = '%s'", t), "normal/-");
    ck_assert_str_eq(sp_t_sql("SELECT e.actor_type || ':' || coalesce(e.performed_by, '-')"
                              " FROM support_ticket_events e JOIN support_tickets t"
                              " ON t.id = e.ticket_id WHERE t.public_id = '%s'"
                              " AND e.event_type = 'created'", t), "system:-");
    /* the reply came before the ticket existed */
    ck_assert_str_eq(sp_t_sql("SELECT (support_ms(t.first_responded_at) = (SELECT"
                              "   support_ms(m.created_at)"
                              "   FROM support_chat_messages m WHERE m.session_id = s.id"
                              "   AND m.sender_type = 'agent'))"
                              " || ' ' || (t.first_responded_at < t.created_at)"
                              " || ' ' || (t.sla_due_at = t.resolution_due_at)"
                              " || ' ' || t.sla_breached"
                              " || ' ' || support_fr_seconds(t)" /* the dashboard's, sql/041 */
                              " FROM support_tickets t JOIN support_chat_sessions s"
                              " ON s.ticket_id = t.id WHERE t.public_id = '%s'", t),
                     "true true true false 0");
    r = sp_t_admin("DELETE", sp_t_fmt("/support/admin/priority-rules/%lld", (long long)rule),
                   NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
}
END_TEST

/* A chat nobody took (waiting) has no agent to keep it: its ticket is
 * routed as any ticket of the category, to the next agent in rotation. */
START_TEST(archived_waiting_chat_ticket_is_routed)
{
    int64_t a, b;
    struct sp_t_user au;
    const char *cat = team_of_two(&a, &au, &b);
    sp_t_sql("UPDATE support_agents SET max_concurrent_chats = 0 WHERE id = %lld RETURNING 1",
             (long long)a);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_open(&c, cat, "anyone?", "waiting");
    age(id, 31);
    run_ok(NULL);
    ck_assert_int_eq(tickets_of(id), 1);
    ck_assert_int_eq(assignee_of(id), b);
}
END_TEST

START_TEST(bad_flags_exit_2_and_an_unreachable_database_exits_1)
{
    static const char *const bad[] = {"--bogus", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run(JOB, NULL, bad, &out), 2);
    static const char *const down[] = {"SUPPORT_DATABASE_URL=host=/nonexistent dbname=x", NULL};
    static const char *const once[] = {"--once", NULL};
    ck_assert_int_eq(sp_t_job_run(JOB, down, once, &out), 1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("chat_archive");
    TCase *tc = sp_t_tcase(s, "archive");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, idle_session_with_customer_messages_becomes_a_ticket_and_closes);
    tcase_add_test(tc, conversion_tells_the_customer_on_their_channels);
    tcase_add_test(tc, archived_transcript_keeps_a_forged_agent_line_as_the_customers_text);
    tcase_add_test(tc, idle_session_without_customer_messages_closes_without_a_ticket);
    tcase_add_test(tc, recent_session_is_left_alone);
    tcase_add_test(tc, expired_session_is_archived_even_when_recently_active);
    tcase_add_test(tc, dry_run_changes_nothing);
    tcase_add_test(tc, a_second_instance_waits_its_turn);
    tcase_add_test(tc, subscribers_hear_ticket_created_and_closed);
    tcase_add_test(tc, archived_chat_ticket_gets_the_customers_stored_tier);
    tcase_add_test(tc, archived_chat_ticket_is_routed_under_the_open_ticket_cap);
    tcase_add_test(tc, archived_active_chat_ticket_stays_with_the_chats_agent);
    tcase_add_test(tc, archived_chat_ticket_is_the_systems_and_keeps_the_chats_first_response);
    tcase_add_test(tc, archived_waiting_chat_ticket_is_routed);
    tcase_add_test(tc, bad_flags_exit_2_and_an_unreachable_database_exits_1);
    tcase_add_test(tc, a_pass_without_a_publisher_warns_once_that_clients_were_not_told);
    return sp_t_run(s);
}
