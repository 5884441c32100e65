/*
 * test_abuse_limits: issue 8's abuse limits (API.md §1, §7).
 *
 * Chat session creation is limited per customer (5 a minute, 30 an hour:
 * the defaults, the runner does not change them) with RateLimit-* headers
 * and 429 + Retry-After; a customer has at most 3 sessions open at once
 * (409 too_many_open_sessions; closing one frees its slot), also under
 * concurrent creates. A customer's transfer of a chat to a ticket counts
 * against the ticket-creation limits (429, nothing created); agents and
 * admins are not limited. Sanitized bodies are capped at their field's
 * length before anything is stored: a body that escaping makes longer is
 * 422 too_long and no row. A chat too long for a ticket (its distinct words
 * alone are past tsvector's 1 MB) still converts, by transfer and by the
 * archive job, to a bounded transcript that says what it left out; the
 * full-text columns index a bounded prefix, so no text is too long to store.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SESSIONS_PER_MINUTE 5
#define SESSIONS_PER_HOUR 30
#define MAX_OPEN 3
#define TICKETS_PER_MINUTE 10
#define CHAT_BODY_MAX 4000
#define BODY_MAX 20000

/* ---- helpers ------------------------------------------------------------------- */

static struct sp_t_resp *
session_post(const struct sp_t_user *u, const char *json)
{
    return sp_t_post_json("/support/chat/session", u->token, json);
}

/* A new session of u; asserts 201 and returns its public id. */
#define session_new(u) session_new_at(__LINE__, (u))
static const char *
session_new_at(int line, const struct sp_t_user *u)
{
    struct sp_t_resp *r = session_post(u, "{}");
    ck_assert_msg(r->status == 201, "line %d: create answered %ld: %s", line, r->status, r->body);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    return id;
}

static void
session_close(const struct sp_t_user *u, const char *id)
{
    struct sp_t_resp *r =
        sp_t_post_json(sp_t_fmt("/support/chat/session/%s/close", id), u->token, "{}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

static long
sessions_of(const struct sp_t_user *u)
{
    return atol(
        sp_t_sql("SELECT count(*) FROM support_chat_sessions WHERE customer_id = '%s'", u->sub));
}

static long
tickets_of(const struct sp_t_user *u)
{
    return atol(sp_t_sql("SELECT count(*) FROM support_tickets WHERE customer_id = '%s'", u->sub));
}

static struct sp_t_resp *
transfer(const char *token, const char *id)
{
    return sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", id), token,
                          "{\"to\":\"ticket\"}");
}

/* Sets the counter of u's window `seconds` of bucket `kind` to count. */
static void
rate_counter_set(const char *kind, const struct sp_t_user *u, int seconds, int count)
{
    const char *rows = sp_t_sql(
        "WITH x AS (UPDATE support_rate_limits SET count = %d WHERE bucket = '%s:%s:%d' "
        "AND window_start <= now() AND window_start > now() - interval '%d seconds' RETURNING 1) "
        "SELECT count(*) FROM x",
        count, kind, u->sub, seconds, seconds);
    ck_assert_msg(strcmp(rows, "1") == 0, "found %s %s counters of %s", rows, kind, u->sub);
}

/* ---- chat session creation ---------------------------------------------------- */

START_TEST(the_sixth_session_in_a_minute_is_429_with_ratelimit_headers)
{
    sp_t_away_from_window_edges(15, 3600);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    for (int i = 0; i < SESSIONS_PER_MINUTE; i++) {
        struct sp_t_resp *r = session_post(&u, "{}");
        sp_t_assert_json(r, 201);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), SESSIONS_PER_MINUTE);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), SESSIONS_PER_MINUTE - 1 - i);
        long reset = sp_t_header_num(r, "RateLimit-Reset");
        ck_assert_msg(reset >= 1 && reset <= 60, "RateLimit-Reset %ld", reset);
        ck_assert_uint_eq(sp_t_header_count(r, "Retry-After"), 0);
        session_close(&u, sp_t_jstr(r->json, "session_id"));
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = session_post(&u, "{}");
    sp_t_assert_problem(r, 429, "rate_limited");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), SESSIONS_PER_MINUTE);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 0);
    long retry = sp_t_header_num(r, "Retry-After");
    ck_assert_msg(retry >= 1 && retry <= 60, "Retry-After %ld", retry);
    ck_assert_uint_eq(sp_t_header_count(r, "Location"), 0);
    sp_t_resp_free(r);
    ck_assert_int_eq(sessions_of(&u), SESSIONS_PER_MINUTE);

    /* Another customer is not affected. */
    struct sp_t_user v = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = session_post(&v, "{}");
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), SESSIONS_PER_MINUTE - 1);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(the_hourly_session_limit_applies_with_its_own_reset)
{
    sp_t_away_from_window_edges(15, 3600);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    session_new(&u);
    /* As if the customer had started 28 sessions earlier this hour. */
    rate_counter_set("chat_session", &u, 3600, SESSIONS_PER_HOUR - 1);
    struct sp_t_resp *r = session_post(&u, "{}");
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), SESSIONS_PER_HOUR);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 0);
    sp_t_resp_free(r);
    r = session_post(&u, "{}");
    sp_t_assert_problem(r, 429, "rate_limited");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), SESSIONS_PER_HOUR);
    long retry = sp_t_header_num(r, "Retry-After");
    long to_hour = 3600 - (long)(time(NULL) % 3600);
    ck_assert_msg(labs(retry - to_hour) <= 5, "Retry-After %ld, %ld s to the end of the hour",
                  retry, to_hour);
    sp_t_resp_free(r);
    ck_assert_int_eq(sessions_of(&u), 2);
}
END_TEST

START_TEST(open_sessions_are_capped_and_closing_one_frees_a_slot)
{
    sp_t_away_from_window_edges(15, 3600);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *ids[MAX_OPEN];
    for (int i = 0; i < MAX_OPEN; i++)
        ids[i] = session_new(&u);
    struct sp_t_resp *r = session_post(&u, "{\"message\":\"one more\"}");
    sp_t_assert_problem(r, 409, "too_many_open_sessions");
    sp_t_resp_free(r);
    ck_assert_int_eq(sessions_of(&u), MAX_OPEN);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.customer_id = '%s'",
                              u.sub),
                     "0");
    session_close(&u, ids[1]);
    session_new(&u);
    ck_assert_int_eq(sessions_of(&u), MAX_OPEN + 1);
}
END_TEST

START_TEST(an_expired_session_frees_its_slot)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *first = session_new(&u);
    for (int i = 1; i < MAX_OPEN; i++)
        session_new(&u);
    sp_t_sql("UPDATE support_chat_sessions SET expires_at = now() - interval '1 second'"
             " WHERE public_id = '%s' RETURNING 1",
             first);
    session_new(&u);
}
END_TEST

START_TEST(concurrent_creates_of_one_customer_never_pass_the_open_cap)
{
    sp_t_away_from_window_edges(15, 3600);
    enum { N = 8 };
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *paths[N], *tokens[N];
    for (int i = 0; i < N; i++) {
        paths[i] = "/support/chat/session";
        tokens[i] = u.token;
    }
    struct sp_t_resp *out[N];
    sp_t_parallel(N, "POST", paths, tokens, SP_T_JSON, "{}", out);
    int created = 0, capped = 0, limited = 0;
    for (int i = 0; i < N; i++) {
        if (out[i]->status == 201) {
            created++;
        } else if (out[i]->status == 409) {
            capped++;
            sp_t_assert_problem(out[i], 409, "too_many_open_sessions");
        } else {
            limited++;
            sp_t_assert_problem(out[i], 429, "rate_limited");
        }
        sp_t_resp_free(out[i]);
    }
    ck_assert_msg(created == MAX_OPEN && capped == SESSIONS_PER_MINUTE - MAX_OPEN &&
                      limited == N - SESSIONS_PER_MINUTE,
                  "%d created, %d capped, %d limited", created, capped, limited);
    ck_assert_int_eq(sessions_of(&u), MAX_OPEN);
}
END_TEST

/* ---- transfer to a ticket ----------------------------------------------------- */

START_TEST(a_customer_transfer_at_the_ticket_limit_is_429_and_creates_nothing)
{
    sp_t_away_from_window_edges(15, 3600);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&u);
    sp_t_ticket_create(&u, "the one ticket");
    rate_counter_set("ticket_create", &u, 60, TICKETS_PER_MINUTE);
    struct sp_t_resp *r = transfer(u.token, id);
    sp_t_assert_problem(r, 429, "rate_limited");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), TICKETS_PER_MINUTE);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 0);
    ck_assert_int_ge(sp_t_header_num(r, "Retry-After"), 1);
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_of(&u), 1);
    ck_assert_ptr_null(sp_t_sql("SELECT ticket_id FROM support_chat_sessions"
                                " WHERE public_id = '%s'",
                                id));
    /* An agent (here an admin) converting is not limited. */
    r = transfer(sp_t_admin_token(), id);
    sp_t_assert_json(r, 201);
    ck_assert_uint_eq(sp_t_header_count(r, "RateLimit-Limit"), 0);
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_of(&u), 2);
    /* Asking again creates nothing, so it is not limited either. */
    r = transfer(u.token, id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(a_customer_transfer_counts_as_a_ticket_creation)
{
    sp_t_away_from_window_edges(15, 3600);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&u);
    struct sp_t_resp *r = transfer(u.token, id);
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), TICKETS_PER_MINUTE);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), TICKETS_PER_MINUTE - 1);
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/tickets", u.token, "{\"subject\":\"s\",\"description\":\"d\"}");
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), TICKETS_PER_MINUTE - 2);
    sp_t_resp_free(r);
}
END_TEST

/* ---- sanitized output cap ----------------------------------------------------- */

START_TEST(a_chat_message_that_escaping_grows_past_4000_chars_is_422_and_not_stored)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(&u);
    const char *path = sp_t_fmt("/support/chat/session/%s/messages", id);
    /* 1000 "<" are 4000 characters once escaped: the limit itself. */
    struct sp_t_resp *r =
        sp_t_post_json(path, u.token, sp_t_fmt("{\"body\":%s}", sp_t_jq(sp_t_repeat("<", 1000))));
    sp_t_assert_json(r, 201);
    ck_assert_uint_eq(strlen(sp_t_jstr(r->json, "body")), 4000);
    sp_t_resp_free(r);
    const char *bodies[] = {sp_t_repeat("<", 1001), sp_t_repeat("<", CHAT_BODY_MAX),
                            sp_t_repeat("&", CHAT_BODY_MAX)};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        r = sp_t_post_json(path, u.token, sp_t_fmt("{\"body\":%s}", sp_t_jq(bodies[i])));
        sp_t_assert_invalid(r, "body", "too_long");
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_messages m"
                              " JOIN support_chat_sessions s ON s.id = m.session_id"
                              " WHERE s.public_id = '%s' AND m.sender_type = 'customer'",
                              id),
                     "1");
    /* The first message of a session too: no session is created. */
    struct sp_t_user v = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = session_post(&v, sp_t_fmt("{\"message\":%s}", sp_t_jq(sp_t_repeat("&", CHAT_BODY_MAX))));
    sp_t_assert_invalid(r, "message", "too_long");
    sp_t_resp_free(r);
    ck_assert_int_eq(sessions_of(&v), 0);
}
END_TEST

START_TEST(ticket_bodies_that_escaping_grows_past_20000_chars_are_422_and_not_stored)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *big = sp_t_jq(sp_t_repeat("<", BODY_MAX));
    struct sp_t_resp *r = sp_t_post_json("/support/tickets", u.token,
                                         sp_t_fmt("{\"subject\":\"s\",\"description\":%s}", big));
    sp_t_assert_invalid(r, "description", "too_long");
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_of(&u), 0);
    const char *t = sp_t_ticket_create(&u, "a ticket");
    const char *messages =
        sp_t_fmt("SELECT count(*) FROM support_ticket_messages m JOIN support_tickets t"
                 " ON t.id = m.ticket_id WHERE t.public_id = '%s'",
                 t);
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", t), u.token,
                       sp_t_fmt("{\"body\":%s}", sp_t_jq(sp_t_repeat("&", BODY_MAX))));
    sp_t_assert_invalid(r, "body", "too_long");
    sp_t_resp_free(r);
    r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", t), sp_t_admin_token(),
                       sp_t_fmt("{\"body\":%s}", big));
    sp_t_assert_invalid(r, "body", "too_long");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("%s", messages), "1");
}
END_TEST

/* ---- long transcripts ------------------------------------------------------------ */

#define LONG_MESSAGES 400

/* A session of a new customer with LONG_MESSAGES stored messages of ~4000
 * chars of distinct words each (1.5 MB of distinct lexemes, past
 * tsvector's 1 MB), then "the newest message" over HTTP. */
static const char *
long_chat(struct sp_t_user *u)
{
    *u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = session_new(u);
    sp_t_sql("INSERT INTO support_chat_messages (session_id, sender_type, sender_id, body,"
             " created_at)"
             " SELECT s.id, 'customer', s.customer_id,"
             "   (SELECT string_agg(md5(g::text || ':' || w::text), ' ')"
             "    FROM generate_series(1, 121) w),"
             "   now() - interval '1 hour' + g * interval '1 second'"
             " FROM support_chat_sessions s, generate_series(1, %d) g"
             " WHERE s.public_id = '%s' RETURNING 1",
             LONG_MESSAGES, id);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", id),
                                         u->token, "{\"body\":\"the newest message\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    return id;
}

/* The ticket of session id: a bounded transcript that keeps the newest
 * message and says what it left out. */
static void
assert_bounded_transcript(const char *id)
{
    const char *t = sp_t_sql("SELECT t.public_id FROM support_tickets t"
                             " JOIN support_chat_sessions s ON s.ticket_id = t.id"
                             " WHERE s.public_id = '%s'",
                             id);
    ck_assert_ptr_nonnull(t);
    const char *len = sp_t_sql("SELECT octet_length(description) FROM support_tickets"
                               " WHERE public_id = '%s'",
                               t);
    ck_assert_msg(atol(len) > 32768 && atol(len) <= 65536 + 256, "transcript of %s bytes", len);
    const char *note =
        sp_t_sql("SELECT substring(description from '^<p>\\[transcript truncated: ([0-9]+) earlier"
                 " messages omitted; full history in chat session %s\\]</p>') FROM support_tickets"
                 " WHERE public_id = '%s'",
                 id, t);
    ck_assert_msg(note != NULL, "no truncation note in %s",
                  sp_t_sql("SELECT left(description, 300) FROM support_tickets"
                           " WHERE public_id = '%s'",
                           t));
    ck_assert_int_gt(atol(note), LONG_MESSAGES / 2);
    ck_assert_int_lt(atol(note), LONG_MESSAGES);
    ck_assert_str_eq(sp_t_sql("SELECT description LIKE '%%the newest message</p>' FROM"
                              " support_tickets WHERE public_id = '%s'",
                              t),
                     "t");
    /* What was kept is searchable. */
    ck_assert_str_eq(sp_t_sql("SELECT search @@ plainto_tsquery('english', 'newest')"
                              " FROM support_tickets WHERE public_id = '%s'",
                              t),
                     "t");
}

START_TEST(a_chat_past_the_old_limits_converts_by_transfer)
{
    struct sp_t_user u;
    const char *id = long_chat(&u);
    struct sp_t_resp *r = transfer(u.token, id);
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    assert_bounded_transcript(id);
}
END_TEST

START_TEST(a_chat_past_the_old_limits_converts_by_the_archive_job)
{
    struct sp_t_user u;
    const char *id = long_chat(&u);
    sp_t_sql("UPDATE support_chat_sessions SET started_at = started_at - interval '2 hours',"
             " last_message_at = last_message_at - interval '2 hours'"
             " WHERE public_id = '%s' RETURNING 1",
             id);
    const char *args[] = {"--once", "--now", sp_t_sql("SELECT support_ts(now())"), NULL};
    const char *out;
    int rc = sp_t_job_run("chat-session-archive", NULL, args, &out);
    ck_assert_msg(rc == 0, "job exited %d:\n%s", rc, out);
    ck_assert_str_eq(
        sp_t_sql("SELECT status FROM support_chat_sessions WHERE public_id = '%s'", id), "closed");
    assert_bounded_transcript(id);
}
END_TEST

START_TEST(full_text_columns_index_a_bounded_prefix)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *t = sp_t_ticket_create(&u, "a ticket that grows");
    const char *big = "(SELECT string_agg(md5(g::text), ' ') FROM generate_series(1, 40000) g)";
    /* the ticket's document (sql/028): its text at create, then a message
     * appended, each the same way the create and reply statements do */
    sp_t_sql("UPDATE support_tickets SET description = %s,"
             " search = support_ticket_search(subject, %s) WHERE public_id = '%s' RETURNING 1",
             big, big, t);
    ck_assert_str_eq(sp_t_sql("SELECT search @@ to_tsquery('english', md5('1'))"
                              " FROM support_tickets WHERE public_id = '%s'",
                              t),
                     "t");
    sp_t_sql("UPDATE support_tickets SET search = support_ticket_search_add(''::tsvector, %s)"
             " WHERE public_id = '%s' RETURNING 1",
             big, t);
    ck_assert_str_eq(sp_t_sql("SELECT search @@ to_tsquery('english', md5('1'))"
                              " FROM support_tickets WHERE public_id = '%s'",
                              t),
                     "t");
}
END_TEST

static Suite *
abuse_suite(void)
{
    Suite *s = suite_create("abuse_limits");
    TCase *tc = sp_t_tcase(s, "chat_sessions");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, the_sixth_session_in_a_minute_is_429_with_ratelimit_headers);
    tcase_add_test(tc, the_hourly_session_limit_applies_with_its_own_reset);
    tcase_add_test(tc, open_sessions_are_capped_and_closing_one_frees_a_slot);
    tcase_add_test(tc, an_expired_session_frees_its_slot);
    tcase_add_test(tc, concurrent_creates_of_one_customer_never_pass_the_open_cap);
    tc = sp_t_tcase(s, "transfer");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, a_customer_transfer_at_the_ticket_limit_is_429_and_creates_nothing);
    tcase_add_test(tc, a_customer_transfer_counts_as_a_ticket_creation);
    tc = sp_t_tcase(s, "sanitized_cap");
    tcase_add_test(tc, a_chat_message_that_escaping_grows_past_4000_chars_is_422_and_not_stored);
    tcase_add_test(tc, ticket_bodies_that_escaping_grows_past_20000_chars_are_422_and_not_stored);
    tc = sp_t_tcase(s, "transcript");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, a_chat_past_the_old_limits_converts_by_transfer);
    tcase_add_test(tc, a_chat_past_the_old_limits_converts_by_the_archive_job);
    tcase_add_test(tc, full_text_columns_index_a_bounded_prefix);
    return s;
}

int
main(void)
{
    return sp_t_run(abuse_suite());
}
