/*
 * test_idempotency: Idempotency-Key on POST /support/tickets, on
 * POST /support/tickets/:publicId/messages and on the admin creates of
 * categories, priority rules and agents (API.md §1): a replay returns the
 * first response byte for byte (its Location and ETag too) with
 * Idempotent-Replayed: true and creates nothing; a reused key with
 * another body is 422; keys are per user (a customer and a staff member
 * with one sub are two users), 1 to 255 characters of UTF-8
 * without control characters. (The chat
 * message send: test_chat_session and test_chat_ws.)
 */
#include "harness.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define TICKETS "/support/tickets"

static struct sp_t_resp *
post_with_key(const char *path, const struct sp_t_user *u, const char *key, const char *body)
{
    const char *const hdr[] = {sp_t_fmt("Idempotency-Key: %s", key), NULL};
    return sp_t_request("POST", path, u->token, SP_T_JSON, body, hdr);
}

static long
sql_count(const char *n)
{
    ck_assert_ptr_nonnull(n);
    return strtol(n, NULL, 10);
}

static const char *
ticket_body(const char *subject)
{
    return sp_t_fmt("{\"subject\":%s,\"description\":\"idempotent\"}", sp_t_jq(subject));
}

/* support_tickets rows with this (unique) subject. */
static long
tickets_with_subject(const char *subject)
{
    return sql_count(
        sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject = '%s'", subject));
}

static void
assert_not_replayed(const struct sp_t_resp *r)
{
    const char *h = sp_t_header(r, "Idempotent-Replayed");
    ck_assert_msg(h == NULL || strcmp(h, "true") != 0, "a first response marked as replayed");
}

static void
assert_replay_of(const struct sp_t_resp *first, const struct sp_t_resp *again)
{
    ck_assert_int_eq(again->status, first->status);
    ck_assert_uint_eq(again->body_len, first->body_len);
    ck_assert_msg(memcmp(again->body, first->body, first->body_len) == 0,
                  "replayed body differs:\n%s\n%s", first->body, again->body);
    const char *h = sp_t_header(again, "Idempotent-Replayed");
    ck_assert_msg(h != NULL && strcmp(h, "true") == 0, "Idempotent-Replayed is %s, want true",
                  h != NULL ? h : "(absent)");
}

START_TEST(replayed_create_returns_first_response_and_creates_once)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *key = sp_t_unique("k");
    const char *subject = sp_t_unique("idem-replay");
    struct sp_t_resp *first = post_with_key(TICKETS, &u, key, ticket_body(subject));
    sp_t_assert_json(first, 201);
    assert_not_replayed(first);
    struct sp_t_resp *again = post_with_key(TICKETS, &u, key, ticket_body(subject));
    assert_replay_of(first, again);
    ck_assert_str_eq(sp_t_header(again, "Location"), sp_t_header(first, "Location"));
    /* The first response's ETag is part of it (API.md §1, §4). */
    const char *etag = sp_t_ticket_etag(first, (long long)sp_t_jint(first->json, "version"));
    ck_assert_msg(sp_t_header(again, "ETag") != NULL, "the replay has no ETag");
    ck_assert_str_eq(sp_t_header(again, "ETag"), etag);
    ck_assert_uint_eq(sp_t_header_count(again, "ETag"), 1);
    ck_assert_int_eq(tickets_with_subject(subject), 1);
    sp_t_resp_free(first);
    sp_t_resp_free(again);
}
END_TEST

START_TEST(reused_key_with_other_body_is_422_idempotency_key_reused)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *key = sp_t_unique("k");
    const char *subject = sp_t_unique("idem-first");
    const char *other = sp_t_unique("idem-other");
    struct sp_t_resp *r = post_with_key(TICKETS, &u, key, ticket_body(subject));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    r = post_with_key(TICKETS, &u, key, ticket_body(other));
    sp_t_assert_problem(r, 422, "idempotency_key_reused");
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_with_subject(other), 0);
}
END_TEST

START_TEST(same_key_from_another_customer_is_independent)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_CUSTOMER), b = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *key = sp_t_unique("k");
    const char *subject = sp_t_unique("idem-shared-key");
    struct sp_t_resp *ra = post_with_key(TICKETS, &a, key, ticket_body(subject));
    sp_t_assert_json(ra, 201);
    struct sp_t_resp *rb = post_with_key(TICKETS, &b, key, ticket_body(subject));
    sp_t_assert_json(rb, 201);
    assert_not_replayed(rb);
    ck_assert_str_ne(sp_t_jstr(ra->json, "public_id"), sp_t_jstr(rb->json, "public_id"));
    ck_assert_int_eq(tickets_with_subject(subject), 2);
    sp_t_resp_free(ra);
    sp_t_resp_free(rb);
}
END_TEST

/* Customers and staff are numbered apart: customer 7150 and agent 7150
 * are two people and never share a key; an agent made admin is the same
 * staff member and keeps theirs. POST /support/attachments, which every
 * role may call, answers a replay with the same attachment (its upload URL
 * signed afresh, docs/API.md §10). */
START_TEST(same_key_from_a_customer_and_staff_with_one_sub_is_independent)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_user customer = {agent.sub, sp_t_token(SP_ROLE_CUSTOMER, agent.sub),
                                 SP_ROLE_CUSTOMER};
    struct sp_t_user admin = {agent.sub, sp_t_token(SP_ROLE_ADMIN, agent.sub), SP_ROLE_ADMIN};
    const char *key = sp_t_fmt("side-%s", agent.sub);
    const char *body = "{\"filename\":\"a.png\",\"content_type\":\"image/png\",\"size\":67}";
    struct sp_t_resp *first = post_with_key("/support/attachments", &agent, key, body);
    sp_t_assert_json(first, 201);
    struct sp_t_resp *theirs = post_with_key("/support/attachments", &customer, key, body);
    sp_t_assert_json(theirs, 201);
    assert_not_replayed(theirs);
    ck_assert_str_ne(sp_t_jstr(theirs->json, "id"), sp_t_jstr(first->json, "id"));
    ck_assert_str_eq(sp_t_sql("SELECT owner_role FROM support_attachments WHERE id = '%s'",
                              sp_t_jstr(theirs->json, "id")), "customer");
    struct sp_t_resp *promoted = post_with_key("/support/attachments", &admin, key, body);
    sp_t_assert_json(promoted, 201);
    ck_assert_str_eq(sp_t_header(promoted, "Idempotent-Replayed"), "true");
    ck_assert_str_eq(sp_t_jstr(promoted->json, "id"), sp_t_jstr(first->json, "id"));
    sp_t_resp_free(promoted);
    sp_t_resp_free(theirs);
    sp_t_resp_free(first);
}
END_TEST

START_TEST(key_of_256_chars_is_422)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *subject = sp_t_unique("idem-long-key");
    struct sp_t_resp *r = post_with_key(TICKETS, &u, sp_t_repeat("k", 256), ticket_body(subject));
    sp_t_assert_invalid(r, "Idempotency-Key", NULL);
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the request has an invalid header");
    sp_t_resp_free(r);
    ck_assert_int_eq(tickets_with_subject(subject), 0);
}
END_TEST

START_TEST(key_of_255_chars_is_accepted)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *key = sp_t_fmt("%s%s", sp_t_unique("k"), sp_t_repeat("k", 200));
    key = sp_t_fmt("%s%s", key, sp_t_repeat("x", 255 - strlen(key)));
    ck_assert_uint_eq(strlen(key), 255);
    const char *subject = sp_t_unique("idem-255");
    struct sp_t_resp *first = post_with_key(TICKETS, &u, key, ticket_body(subject));
    sp_t_assert_json(first, 201);
    struct sp_t_resp *again = post_with_key(TICKETS, &u, key, ticket_body(subject));
    assert_replay_of(first, again);
    sp_t_resp_free(first);
    sp_t_resp_free(again);
}
END_TEST

START_TEST(replayed_reply_returns_first_message_and_adds_once)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "idempotent reply");
    const char *path = sp_t_fmt("/support/tickets/%s/messages", pid);
    const char *key = sp_t_unique("k");
    struct sp_t_resp *first = post_with_key(path, &u, key, "{\"body\":\"only once\"}");
    sp_t_assert_json(first, 201);
    assert_not_replayed(first);
    struct sp_t_resp *again = post_with_key(path, &u, key, "{\"body\":\"only once\"}");
    assert_replay_of(first, again);
    sp_t_resp_free(again);
    /* the ticket's id in lower case names the same ticket: a replay too
     * (QA: 422 idempotency_key_reused) */
    char *lower = (char *)sp_t_fmt("%s", path);
    for (char *c = lower; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    again = post_with_key(lower, &u, key, "{\"body\":\"only once\"}");
    assert_replay_of(first, again);
    sp_t_resp_free(first);
    sp_t_resp_free(again);

    struct sp_t_resp *t = sp_t_ticket_get(&u, pid);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(t->json, "messages")), 2);
    sp_t_resp_free(t);
}
END_TEST

START_TEST(reused_reply_key_with_other_body_is_422)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "reply key reuse");
    const char *path = sp_t_fmt("/support/tickets/%s/messages", pid);
    const char *key = sp_t_unique("k");
    struct sp_t_resp *r = post_with_key(path, &u, key, "{\"body\":\"first\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    r = post_with_key(path, &u, key, "{\"body\":\"second\"}");
    sp_t_assert_problem(r, 422, "idempotency_key_reused");
    sp_t_resp_free(r);

    struct sp_t_resp *t = sp_t_ticket_get(&u, pid);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(t->json, "messages")), 2);
    sp_t_resp_free(t);
}
END_TEST

/* ---- admin creates (API.md §6) ---------------------------------------------- */

/* POST path as one admin, twice with one key: 201 with the row and
 * Location <path>/<id> both times, the second a replay of the first; the
 * key with another body is then 422. Returns the row's id. */
static int64_t
admin_create_twice(const char *path, const char *body, const char *other_body)
{
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    const char *key = sp_t_unique("k");
    struct sp_t_resp *first = post_with_key(path, &admin, key, body);
    sp_t_assert_json(first, 201);
    assert_not_replayed(first);
    int64_t id = sp_t_jint(first->json, "id");
    const char *location = sp_t_header(first, "Location");
    ck_assert_msg(location != NULL, "POST %s: 201 without Location", path);
    ck_assert_str_eq(location, sp_t_fmt("%s/%lld", path, (long long)id));
    struct sp_t_resp *again = post_with_key(path, &admin, key, body);
    assert_replay_of(first, again);
    ck_assert_msg(sp_t_header(again, "Location") != NULL, "POST %s: replay without Location",
                  path);
    ck_assert_str_eq(sp_t_header(again, "Location"), location);
    sp_t_resp_free(first);
    sp_t_resp_free(again);
    struct sp_t_resp *r = post_with_key(path, &admin, key, other_body);
    sp_t_assert_problem(r, 422, "idempotency_key_reused");
    sp_t_resp_free(r);
    return id;
}

START_TEST(replayed_category_create_answers_the_first_201_and_creates_once)
{
    const char *slug = sp_t_unique("idem-cat");
    const char *other = sp_t_unique("idem-cat-other");
    (void)admin_create_twice("/support/admin/categories",
                             sp_t_fmt("{\"slug\":\"%s\",\"name\":\"Idempotent\"}", slug),
                             sp_t_fmt("{\"slug\":\"%s\",\"name\":\"Other\"}", other));
    ck_assert_int_eq(sql_count(sp_t_sql("SELECT count(*) FROM support_categories"
                                        " WHERE slug IN ('%s', '%s')", slug, other)), 1);
}
END_TEST

START_TEST(replayed_priority_rule_create_answers_the_first_201_and_creates_once)
{
    /* Inactive: no other test's tickets are affected. */
    const char *name = sp_t_unique("idem-rule");
    const char *other = sp_t_unique("idem-rule-other");
#define RULE "{\"name\":\"%s\",\"priority\":\"low\",\"is_active\":false}"
    (void)admin_create_twice("/support/admin/priority-rules", sp_t_fmt(RULE, name),
                             sp_t_fmt(RULE, other));
#undef RULE
    ck_assert_int_eq(sql_count(sp_t_sql("SELECT count(*) FROM support_priority_rules"
                                        " WHERE name IN ('%s', '%s')", name, other)), 1);
}
END_TEST

START_TEST(replayed_agent_create_answers_the_first_201_and_creates_once)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT), b = sp_t_user_new(SP_ROLE_AGENT);
    (void)admin_create_twice("/support/admin/agents", sp_t_fmt("{\"user_id\":\"%s\"}", a.sub),
                             sp_t_fmt("{\"user_id\":\"%s\"}", b.sub));
    ck_assert_int_eq(sql_count(sp_t_sql("SELECT count(*) FROM support_agents"
                                        " WHERE user_id IN ('%s', '%s')", a.sub, b.sub)), 1);
}
END_TEST

/* A key of bytes that are not UTF-8 reached PostgreSQL: a vague 422 and a
 * db_error in idem_claim (QA); a control character would reach the logs. */
START_TEST(key_that_is_not_utf8_or_has_a_control_character_is_422)
{
    static const char *const bad[] = {"\xff\xfe", "k\xc3", "a\x01b", "a\tb", "a\xc2\x85" "b"};
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *subject = sp_t_unique("idem-bad-key");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_t_resp *r = post_with_key(TICKETS, &u, bad[i], ticket_body(subject));
        sp_t_assert_invalid(r, "Idempotency-Key", "invalid");
        ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the request has an invalid header");
        sp_t_resp_free(r);
    }
    ck_assert_int_eq(tickets_with_subject(subject), 0);
}
END_TEST

/* Lengths count characters (API.md §1), not bytes: 255 "é" (510 bytes)
 * is a key, 256 are not. */
START_TEST(key_length_counts_characters_not_bytes)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *subject = sp_t_unique("idem-multibyte");
    const char *uniq = sp_t_unique("k");
    const char *key = sp_t_fmt("%s%s", uniq, sp_t_repeat("\xc3\xa9", 255 - strlen(uniq)));
    struct sp_t_resp *first = post_with_key(TICKETS, &u, key, ticket_body(subject));
    sp_t_assert_json(first, 201);
    struct sp_t_resp *again = post_with_key(TICKETS, &u, key, ticket_body(subject));
    assert_replay_of(first, again);
    sp_t_resp_free(first);
    sp_t_resp_free(again);
    ck_assert_int_eq(tickets_with_subject(subject), 1);
    struct sp_t_resp *r = post_with_key(TICKETS, &u, sp_t_fmt("%s\xc3\xa9", key),
                                        ticket_body(subject));
    sp_t_assert_invalid(r, "Idempotency-Key", "invalid");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT length(key) FROM support_idempotency_keys "
                              "WHERE key LIKE '%s\xc3\xa9%%'", uniq), "255");
}
END_TEST

static Suite *
idempotency_suite(void)
{
    Suite *s = suite_create("idempotency");
    TCase *tc = sp_t_tcase(s, "create");
    tcase_add_test(tc, replayed_create_returns_first_response_and_creates_once);
    tcase_add_test(tc, reused_key_with_other_body_is_422_idempotency_key_reused);
    tcase_add_test(tc, same_key_from_another_customer_is_independent);
    tcase_add_test(tc, same_key_from_a_customer_and_staff_with_one_sub_is_independent);
    tcase_add_test(tc, key_of_256_chars_is_422);
    tcase_add_test(tc, key_of_255_chars_is_accepted);
    tcase_add_test(tc, key_that_is_not_utf8_or_has_a_control_character_is_422);
    tcase_add_test(tc, key_length_counts_characters_not_bytes);
    tc = sp_t_tcase(s, "reply");
    tcase_add_test(tc, replayed_reply_returns_first_message_and_adds_once);
    tcase_add_test(tc, reused_reply_key_with_other_body_is_422);
    tc = sp_t_tcase(s, "admin");
    tcase_add_test(tc, replayed_category_create_answers_the_first_201_and_creates_once);
    tcase_add_test(tc, replayed_priority_rule_create_answers_the_first_201_and_creates_once);
    tcase_add_test(tc, replayed_agent_create_answers_the_first_201_and_creates_once);
    return s;
}

int
main(void)
{
    return sp_t_run(idempotency_suite());
}
