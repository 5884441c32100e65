/*
 * test_rate_limit: ticket creation limits of API.md §1 — 10 per minute and
 * 200 per day per customer (the defaults; the runner does not change
 * them), counted for all workers together. Every create answers
 * RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (of the window
 * with the fewest requests left, or the exceeded one); every attempt
 * counts, a refused one (400, 415, 422) and a replay too; a create over a
 * limit is 429 rate_limited with Retry-After and creates nothing; other
 * customers are unaffected; Retry-After counts to the window's edge, past
 * which a new window starts empty. A customer's replies have a minute
 * limit of their own (30, all of their tickets together), counted the same
 * way.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#define PER_MINUTE 10
#define PER_DAY 200

static const char *const body = "{\"subject\":\"rate\",\"description\":\"limit me\"}";

static long
tickets_of(const struct sp_t_user *u)
{
    return atol(sp_t_sql("SELECT count(*) FROM support_tickets WHERE customer_id = '%s'",
                         u->sub));
}

/* The customer's minute counter moved back a window: what the clock
 * crossing the minute's edge does to it, without waiting it out. */
static void
minute_passes(const struct sp_t_user *u)
{
    const char *moved = sp_t_sql(
        "WITH x AS (UPDATE support_rate_limits SET window_start = window_start - interval '60s'"
        " WHERE bucket LIKE '%%:%s:60' AND window_start > now() - interval '60s' RETURNING 1)"
        " SELECT count(*) FROM x", u->sub);
    ck_assert_msg(strcmp(moved, "1") == 0, "moved %s minute counters of %s", moved, u->sub);
}

START_TEST(the_eleventh_create_in_a_minute_is_429_and_the_window_reopens)
{
    sp_t_away_from_window_edges(15, 86400);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    long prev_reset = 61;
    for (int i = 0; i < PER_MINUTE; i++) {
        struct sp_t_resp *r = sp_t_post_json("/support/tickets", u.token, body);
        sp_t_assert_json(r, 201);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), PER_MINUTE);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), PER_MINUTE - 1 - i);
        long reset = sp_t_header_num(r, "RateLimit-Reset");
        ck_assert_msg(reset >= 1 && reset <= 60, "RateLimit-Reset %ld not in 1..60", reset);
        ck_assert_msg(reset <= prev_reset, "RateLimit-Reset grew from %ld to %ld in one window",
                      prev_reset, reset);
        prev_reset = reset;
        ck_assert_uint_eq(sp_t_header_count(r, "Retry-After"), 0);
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_post_json("/support/tickets", u.token, body);
    sp_t_assert_problem(r, 429, "rate_limited");
    long retry = sp_t_header_num(r, "Retry-After");
    ck_assert_msg(retry >= 1 && retry <= 60, "Retry-After %ld not in 1..60", retry);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 0);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), PER_MINUTE);
    long reset = sp_t_header_num(r, "RateLimit-Reset");
    ck_assert_msg(reset >= 1 && reset <= 60 && reset <= prev_reset,
                  "RateLimit-Reset %ld on the 429 (before: %ld)", reset, prev_reset);
    ck_assert_msg(labs(retry - reset) <= 1, "Retry-After %ld but RateLimit-Reset %ld", retry,
                  reset);
    /* The detail names the window the limit counts in (QA: "10 allowed"
     * said not per what). */
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     sp_t_fmt("too many requests: %d allowed per minute; try again in %ld s",
                              PER_MINUTE, retry));
    ck_assert_uint_eq(sp_t_header_count(r, "Location"), 0);
    sp_t_resp_free(r);
    /* Nothing was created by the refused call, nor by another one. */
    r = sp_t_post_json("/support/tickets", u.token, body);
    sp_t_assert_problem(r, 429, "rate_limited");
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_of(&u), PER_MINUTE);

    /* Another customer is not affected. */
    struct sp_t_user v = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = sp_t_post_json("/support/tickets", v.token, body);
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), PER_MINUTE - 1);
    sp_t_resp_free(r);
    /* Reading is not limited. */
    r = sp_t_get("/support/tickets?limit=100", u.token);
    sp_t_assert_json(r, 200);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(r->json, "data")), PER_MINUTE);
    sp_t_resp_free(r);

    /* Retry-After is honest: it counts to the end of the minute (windows
     * are aligned to the epoch, so every node agrees), and past that edge
     * creating works again. The minute is not waited out: the customer's
     * minute counter is moved back a window, which is what the clock
     * crossing the edge does to it. */
    long to_edge = 60 - (long)(time(NULL) % 60);
    ck_assert_msg(labs(retry - to_edge) <= 1, "Retry-After %ld, %ld s to the end of the minute",
                  retry, to_edge);
    minute_passes(&u);
    r = sp_t_post_json("/support/tickets", u.token, body);
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), PER_MINUTE);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), PER_MINUTE - 1);
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_of(&u), PER_MINUTE + 1);
}
END_TEST

START_TEST(concurrent_creates_of_one_customer_get_exactly_the_limit)
{
    sp_t_away_from_window_edges(15, 86400);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    enum { N = 16 };
    const char *paths[N], *tokens[N];
    for (int i = 0; i < N; i++) {
        paths[i] = "/support/tickets";
        tokens[i] = u.token;
    }
    struct sp_t_resp *out[N];
    sp_t_parallel(N, "POST", paths, tokens, SP_T_JSON, body, out);
    int created = 0, limited = 0;
    bool remaining_seen[PER_MINUTE] = {false};
    for (int i = 0; i < N; i++) {
        if (out[i]->status == 201) {
            created++;
            long rem = sp_t_header_num(out[i], "RateLimit-Remaining");
            ck_assert_msg(rem >= 0 && rem < PER_MINUTE, "Remaining %ld", rem);
            ck_assert_msg(!remaining_seen[rem], "two creates both saw Remaining %ld", rem);
            remaining_seen[rem] = true;
        } else {
            sp_t_assert_problem(out[i], 429, "rate_limited");
            ck_assert_int_eq(sp_t_header_num(out[i], "RateLimit-Remaining"), 0);
            long retry = sp_t_header_num(out[i], "Retry-After");
            ck_assert(retry >= 1 && retry <= 60);
            limited++;
        }
        sp_t_resp_free(out[i]);
    }
    ck_assert_msg(created == PER_MINUTE && limited == N - PER_MINUTE,
                  "%d parallel creates: %d created, %d limited; want %d and %d", N, created,
                  limited, PER_MINUTE, N - PER_MINUTE);
    ck_assert_int_eq(tickets_of(&u), PER_MINUTE);
}
END_TEST

START_TEST(the_daily_limit_applies_with_its_own_reset)
{
    sp_t_away_from_window_edges(15, 86400);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json("/support/tickets", u.token, body);
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), PER_MINUTE);
    sp_t_resp_free(r);
    /* Pretend the customer created 196 tickets earlier today: set the day
     * window's counter (a minute-by-minute run-up would take 20 minutes). */
    const char *rows = sp_t_sql(
        "WITH x AS (UPDATE support_rate_limits SET count = %d WHERE bucket LIKE '%%:%s:86400' "
        "AND window_start <= now() AND window_start > now() - interval '1 day' RETURNING 1) "
        "SELECT count(*) FROM x", PER_DAY - 4, u.sub);
    ck_assert_msg(strcmp(rows, "1") == 0, "found %s day counters of customer %s", rows, u.sub);

    /* 197..200: the day window has the fewest left, so it is the one shown. */
    for (int i = 0; i < 4; i++) {
        r = sp_t_post_json("/support/tickets", u.token, body);
        sp_t_assert_json(r, 201);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), PER_DAY);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 3 - i);
        long reset = sp_t_header_num(r, "RateLimit-Reset");
        ck_assert_msg(reset >= 1 && reset <= 86400, "RateLimit-Reset %ld not in 1..86400", reset);
        sp_t_resp_free(r);
    }
    /* 201st today: refused until the day ends (windows are UTC days). */
    r = sp_t_post_json("/support/tickets", u.token, body);
    sp_t_assert_problem(r, 429, "rate_limited");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), PER_DAY);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 0);
    long retry = sp_t_header_num(r, "Retry-After");
    long to_midnight = 86400 - (long)(time(NULL) % 86400);
    ck_assert_msg(labs(retry - to_midnight) <= 5,
                  "Retry-After %ld for the daily limit, %ld s to the end of the UTC day", retry,
                  to_midnight);
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     sp_t_fmt("too many requests: %d allowed per day; try again in %ld s",
                              PER_DAY, retry));
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_of(&u), 5);
    /* Other customers are not affected. */
    struct sp_t_user v = sp_t_user_new(SP_ROLE_CUSTOMER);
    sp_t_ticket_create(&v, "not limited");
}
END_TEST

/* The minute window's headers of r: limit 10, remaining as given. */
#define assert_minute_headers(r, remaining)                                                    \
    do {                                                                                       \
        ck_assert_int_eq(sp_t_header_num((r), "RateLimit-Limit"), PER_MINUTE);                 \
        ck_assert_int_eq(sp_t_header_num((r), "RateLimit-Remaining"), (remaining));            \
        long reset_ = sp_t_header_num((r), "RateLimit-Reset");                                  \
        ck_assert_msg(reset_ >= 1 && reset_ <= 60, "RateLimit-Reset %ld", reset_);             \
    } while (0)

START_TEST(refused_and_replayed_creates_count_and_carry_the_ratelimit_headers)
{
    sp_t_away_from_window_edges(15, 86400);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json("/support/tickets", u.token,
                                         "{\"subject\":\"\",\"description\":\"d\"}");
    sp_t_assert_invalid(r, "subject", NULL);
    assert_minute_headers(r, PER_MINUTE - 1);
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/tickets", u.token, "{\"subject\":");
    sp_t_assert_problem(r, 400, "invalid_json");
    assert_minute_headers(r, PER_MINUTE - 2);
    sp_t_resp_free(r);
    r = sp_t_request("POST", "/support/tickets", u.token, "text/plain", body, NULL);
    sp_t_assert_problem(r, 415, "unsupported_media_type");
    assert_minute_headers(r, PER_MINUTE - 3);
    sp_t_resp_free(r);
    /* A replay counts as the request it is, once. */
    const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", sp_t_unique("k")), NULL};
    for (int i = 0; i < 2; i++) {
        r = sp_t_request("POST", "/support/tickets", u.token, SP_T_JSON, body, hdr);
        sp_t_assert_json(r, 201);
        assert_minute_headers(r, PER_MINUTE - 4 - i);
        sp_t_resp_free(r);
    }
    ck_assert_int_eq(tickets_of(&u), 1);
}
END_TEST

/* POST path as u with Idempotency-Key: key. */
static struct sp_t_resp *
post_keyed(const struct sp_t_user *u, const char *path, const char *key, const char *json)
{
    const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", key), NULL};
    return sp_t_request("POST", path, u->token, SP_T_JSON, json, hdr);
}

/* again answers first's answer (its status, body, Location, ETag) as
 * a replay over the limit: RateLimit-* of the exhausted window of limit,
 * no Retry-After. */
static void
assert_replayed_over_limit(const struct sp_t_resp *first, const struct sp_t_resp *again,
                           long limit, bool same_body)
{
    ck_assert_int_eq(again->status, first->status);
    ck_assert_str_eq(sp_t_header(again, "Idempotent-Replayed"), "true");
    if (same_body)
        ck_assert_str_eq(again->body, first->body);
    const char *const same[] = {"Location", "ETag"};   /* when the first had them */
    for (size_t i = 0; i < 2; i++)
        if (sp_t_header(first, same[i]) != NULL)
            ck_assert_str_eq(sp_t_header(again, same[i]), sp_t_header(first, same[i]));
    ck_assert_int_eq(sp_t_header_num(again, "RateLimit-Limit"), limit);
    ck_assert_int_eq(sp_t_header_num(again, "RateLimit-Remaining"), 0);
    long reset = sp_t_header_num(again, "RateLimit-Reset");
    ck_assert_msg(reset >= 1 && reset <= 60, "RateLimit-Reset %ld", reset);
    ck_assert_uint_eq(sp_t_header_count(again, "Retry-After"), 0);
}

/* A 429 of a key with nothing stored under it. */
static void
assert_limited(const struct sp_t_resp *r)
{
    sp_t_assert_problem(r, 429, "rate_limited");
    ck_assert_uint_eq(sp_t_header_count(r, "Idempotent-Replayed"), 0);
    long retry = sp_t_header_num(r, "Retry-After");
    ck_assert_msg(retry >= 1 && retry <= 60, "Retry-After %ld", retry);
}

/* QA: a customer's 10th create of the minute, with Idempotency-Key K,
 * lost its answer; the retry of K (on another node after a failover) was
 * 429, not the first answer (API.md §1: a replay returns the first
 * response). Over the limit the stored answer is replayed (and still
 * counted); a key with nothing stored is 429 and is not kept, so it
 * creates once the window reopens; K with another body is 422. */
START_TEST(over_the_limit_a_stored_key_replays_its_create_and_a_new_key_is_429)
{
    sp_t_away_from_window_edges(15, 86400);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    for (int i = 0; i < PER_MINUTE - 1; i++)
        sp_t_ticket_create(&u, "before");
    const char *key = sp_t_unique("k"), *keyed = "{\"subject\":\"lost\",\"description\":\"a\"}";
    struct sp_t_resp *first = post_keyed(&u, "/support/tickets", key, keyed);
    sp_t_assert_json(first, 201);
    ck_assert_int_eq(sp_t_header_num(first, "RateLimit-Remaining"), 0);
    for (int i = 0; i < 2; i++) {
        struct sp_t_resp *again = post_keyed(&u, "/support/tickets", key, keyed);
        assert_replayed_over_limit(first, again, PER_MINUTE, true);
        sp_t_resp_free(again);
    }
    const char *fresh = sp_t_unique("k");
    struct sp_t_resp *r = post_keyed(&u, "/support/tickets", fresh, keyed);
    assert_limited(r);
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/tickets", u.token, keyed);
    assert_limited(r);
    sp_t_resp_free(r);
    /* Another request under K: 422 as under the limit (waiting would not
     * make it right), with the RateLimit-* headers. */
    r = post_keyed(&u, "/support/tickets", key, body);
    sp_t_assert_problem(r, 422, "idempotency_key_reused");
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 0);
    ck_assert_uint_eq(sp_t_header_count(r, "Retry-After"), 0);
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_of(&u), PER_MINUTE);

    minute_passes(&u);
    r = post_keyed(&u, "/support/tickets", fresh, keyed);
    sp_t_assert_json(r, 201);
    ck_assert_uint_eq(sp_t_header_count(r, "Idempotent-Replayed"), 0);
    ck_assert_str_ne(sp_t_header(r, "Location"), sp_t_header(first, "Location"));
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_of(&u), PER_MINUTE + 1);
    sp_t_resp_free(first);
}
END_TEST

/* QA: 2 of 4 concurrent requests with one key got 429. Those over the
 * limit wait for the one that creates, as those under it do, and all
 * four answer its ticket. */
START_TEST(concurrent_retries_of_one_key_at_the_limit_all_answer_its_create)
{
    sp_t_away_from_window_edges(15, 86400);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    for (int i = 0; i < PER_MINUTE - 2; i++)
        sp_t_ticket_create(&u, "before");
    enum { N = 4 };
    const char *paths[N], *tokens[N];
    for (int i = 0; i < N; i++) {
        paths[i] = "/support/tickets";
        tokens[i] = u.token;
    }
    const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", sp_t_unique("k")), NULL};
    struct sp_t_resp *out[N];
    sp_t_parallel_with(N, "POST", paths, tokens, SP_T_JSON, body, hdr, out);
    int made = 0;
    for (int i = 0; i < N; i++) {
        sp_t_assert_json(out[i], 201);
        ck_assert_str_eq(sp_t_header(out[i], "Location"), sp_t_header(out[0], "Location"));
        made += sp_t_header(out[i], "Idempotent-Replayed") == NULL;
    }
    ck_assert_int_eq(made, 1);
    for (int i = 0; i < N; i++)
        sp_t_resp_free(out[i]);
    ck_assert_int_eq(tickets_of(&u), PER_MINUTE - 1);
}
END_TEST

#define REPLIES_PER_MINUTE 30

static struct sp_t_resp *
reply(const struct sp_t_user *u, const char *ticket, const char *const *headers)
{
    return sp_t_request("POST", sp_t_fmt("/support/tickets/%s/messages", ticket), u->token,
                        SP_T_JSON, "{\"body\":\"more\"}", headers);
}

/* QA: 80 replies in a second were all stored, each mailing the assigned
 * agent. The 31st reply in a minute is refused on any of the customer's
 * tickets, stores nothing and tells no one; a refused reply and a replay
 * count as attempts (as creates do); creates and other customers are
 * counted apart. */
START_TEST(the_31st_reply_in_a_minute_is_429_and_mails_no_one)
{
    sp_t_away_from_window_edges(15, 60);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "replies");
    const char *other = sp_t_ticket_create(&u, "more replies");
    const char *agent = sp_t_db_agent_new();
    sp_t_db_ticket_assign(id, agent);
    struct sp_t_resp *r = sp_t_request("POST", sp_t_fmt("/support/tickets/%s/messages", id),
                                       u.token, SP_T_JSON, "{\"body\":\"\"}", NULL);
    sp_t_assert_invalid(r, "body", NULL);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), REPLIES_PER_MINUTE - 1);
    sp_t_resp_free(r);
    const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", sp_t_unique("k")), NULL};
    for (int i = 1; i < REPLIES_PER_MINUTE; i++) {
        /* 1 and its replay 2 to the assigned ticket, then odd to it, even to the other. */
        r = reply(&u, i <= 2 || i % 2 ? id : other, i <= 2 ? hdr : NULL);
        sp_t_assert_json(r, 201);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), REPLIES_PER_MINUTE);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), REPLIES_PER_MINUTE - 1 - i);
        long reset = sp_t_header_num(r, "RateLimit-Reset");
        ck_assert_msg(reset >= 1 && reset <= 60, "RateLimit-Reset %ld not in 1..60", reset);
        sp_t_resp_free(r);
    }
    long mails = sp_t_db_outbox_count(id, "notification", "ticket.customer_replied", "agent",
                                      agent);
    ck_assert_int_eq(mails, 15);
    for (int i = 0; i < 2; i++) {
        r = reply(&u, i ? other : id, NULL);
        sp_t_assert_problem(r, 429, "rate_limited");
        long retry = sp_t_header_num(r, "Retry-After");
        ck_assert_msg(retry >= 1 && retry <= 60, "Retry-After %ld not in 1..60", retry);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 0);
        sp_t_resp_free(r);
    }
    ck_assert_int_eq(sp_t_db_outbox_count(id, "notification", "ticket.customer_replied", "agent",
                                          agent), mails);
    /* 29 answered replies, one of them a replay: 28 stored. */
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ticket_messages m"
                              " JOIN support_tickets t ON t.id = m.ticket_id"
                              " WHERE t.customer_id = '%s' AND m.body = 'more'", u.sub),
                     "28");
    /* Creating a ticket is counted apart, and so is another customer. */
    sp_t_ticket_create(&u, "not a reply");
    struct sp_t_user v = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = reply(&v, sp_t_ticket_create(&v, "theirs"), NULL);
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), REPLIES_PER_MINUTE - 1);
    sp_t_resp_free(r);
}
END_TEST

/* The reply limit as the create's: over it, a reply's key replays the
 * stored reply; a new key is 429 and stores nothing. */
START_TEST(over_the_reply_limit_a_stored_key_replays_its_reply)
{
    sp_t_away_from_window_edges(15, 60);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "replies");
    for (int i = 0; i < REPLIES_PER_MINUTE - 1; i++) {
        struct sp_t_resp *r = reply(&u, id, NULL);
        sp_t_assert_json(r, 201);
        sp_t_resp_free(r);
    }
    const char *path = sp_t_fmt("/support/tickets/%s/messages", id), *key = sp_t_unique("k");
    struct sp_t_resp *first = post_keyed(&u, path, key, "{\"body\":\"more\"}");
    sp_t_assert_json(first, 201);
    struct sp_t_resp *again = post_keyed(&u, path, key, "{\"body\":\"more\"}");
    assert_replayed_over_limit(first, again, REPLIES_PER_MINUTE, true);
    sp_t_resp_free(again);
    struct sp_t_resp *r = post_keyed(&u, path, sp_t_unique("k"), "{\"body\":\"more\"}");
    assert_limited(r);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ticket_messages m"
                              " JOIN support_tickets t ON t.id = m.ticket_id"
                              " WHERE t.customer_id = '%s' AND m.body = 'more'", u.sub),
                     sp_t_fmt("%d", REPLIES_PER_MINUTE));
    sp_t_resp_free(first);
}
END_TEST

#define CHAT_SESSIONS_PER_MINUTE 5

/* A chat session's create as the ticket's, its replay as under the limit
 * (API.md §7): the same session with a fresh token. */
START_TEST(over_the_chat_session_limit_a_stored_key_replays_the_session)
{
    sp_t_away_from_window_edges(15, 3600);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    for (int i = 0; i < CHAT_SESSIONS_PER_MINUTE - 1; i++) {   /* refused ones count too */
        struct sp_t_resp *r = sp_t_post_json("/support/chat/session", u.token,
                                             "{\"message\":5}");
        sp_t_assert_invalid(r, "message", NULL);
        sp_t_resp_free(r);
    }
    const char *key = sp_t_unique("k"), *json = "{\"message\":\"hello\"}";
    struct sp_t_resp *first = post_keyed(&u, "/support/chat/session", key, json);
    sp_t_assert_json(first, 201);
    struct sp_t_resp *again = post_keyed(&u, "/support/chat/session", key, json);
    assert_replayed_over_limit(first, again, CHAT_SESSIONS_PER_MINUTE, false);
    ck_assert_str_eq(sp_t_jstr(again->json, "session_id"), sp_t_jstr(first->json, "session_id"));
    const char *token = sp_t_jstr(again->json, "session_token");
    ck_assert_str_ne(token, sp_t_jstr(first->json, "session_token"));
    ck_assert_str_eq(sp_t_sql("SELECT encode(session_token, 'hex') FROM support_chat_sessions"
                              " WHERE public_id = '%s'", sp_t_jstr(first->json, "session_id")),
                     sp_t_sql("SELECT encode(sha256('%s'::bytea), 'hex')", token));
    sp_t_resp_free(again);
    struct sp_t_resp *r = post_keyed(&u, "/support/chat/session", sp_t_unique("k"), json);
    assert_limited(r);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_sessions"
                              " WHERE customer_id = '%s'", u.sub), "1");
    sp_t_resp_free(first);
}
END_TEST

#define ATTACHMENTS_PER_MINUTE 30

/* An attachment's create as the ticket's, its replay as under the limit
 * (API.md §10): the same attachment with its upload URL signed afresh. */
START_TEST(over_the_attachment_limit_a_stored_key_replays_the_attachment)
{
    sp_t_away_from_window_edges(15, 60);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *json = "{\"filename\":\"a.png\",\"content_type\":\"image/png\",\"size\":67}";
    for (int i = 0; i < ATTACHMENTS_PER_MINUTE - 1; i++) {
        struct sp_t_resp *r = sp_t_post_json("/support/attachments", u.token, json);
        sp_t_assert_json(r, 201);
        sp_t_resp_free(r);
    }
    const char *key = sp_t_unique("k");
    struct sp_t_resp *first = post_keyed(&u, "/support/attachments", key, json);
    sp_t_assert_json(first, 201);
    struct sp_t_resp *again = post_keyed(&u, "/support/attachments", key, json);
    assert_replayed_over_limit(first, again, ATTACHMENTS_PER_MINUTE, false);
    ck_assert_str_eq(sp_t_jstr(again->json, "id"), sp_t_jstr(first->json, "id"));
    ck_assert_ptr_nonnull(sp_t_jstr(again->json, "upload_url"));
    sp_t_resp_free(again);
    struct sp_t_resp *r = post_keyed(&u, "/support/attachments", sp_t_unique("k"), json);
    assert_limited(r);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE owner_sub = '%s'",
                              u.sub), sp_t_fmt("%d", ATTACHMENTS_PER_MINUTE));
    sp_t_resp_free(first);
}
END_TEST

static Suite *
rate_limit_suite(void)
{
    Suite *s = suite_create("rate_limit");
    TCase *tc = sp_t_tcase(s, "ticket_create");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, the_eleventh_create_in_a_minute_is_429_and_the_window_reopens);
    tcase_add_test(tc, concurrent_creates_of_one_customer_get_exactly_the_limit);
    tcase_add_test(tc, the_daily_limit_applies_with_its_own_reset);
    tcase_add_test(tc, refused_and_replayed_creates_count_and_carry_the_ratelimit_headers);
    tcase_add_test(tc, the_31st_reply_in_a_minute_is_429_and_mails_no_one);
    tcase_add_test(tc, over_the_limit_a_stored_key_replays_its_create_and_a_new_key_is_429);
    tcase_add_test(tc, concurrent_retries_of_one_key_at_the_limit_all_answer_its_create);
    tcase_add_test(tc, over_the_reply_limit_a_stored_key_replays_its_reply);
    tcase_add_test(tc, over_the_chat_session_limit_a_stored_key_replays_the_session);
    tcase_add_test(tc, over_the_attachment_limit_a_stored_key_replays_the_attachment);
    return s;
}

int
main(void)
{
    return sp_t_run(rate_limit_suite());
}
