/*
 * test_webhook_signature: the Support-Signature header of webhook
 * deliveries (src/domain/webhook_delivery.c, API.md §11): t=<unix>, one
 * v1= per signing secret (the current first, the previous during a
 * rotation's overlap), each the hex HMAC-SHA256 of "<t>.<body>" keyed
 * with the secret text; the shape of new secrets and event ids; and the
 * data a webhook with redact_text gets: the free text redacted, every
 * structured member as it was.
 */
#include <check.h>
#include <json-c/json.h>
#include <string.h>

#include "core/arena.h"
#include "domain/webhook_delivery.h"
#include "domain/webhooks.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

/* Computed independently: printf '%s' '1700000000.{"id":"evt_1"}' |
 * openssl dgst -sha256 -hmac whsec_test */
#define BODY "{\"id\":\"evt_1\"}"
#define SIG_TEST "t=1700000000,v1="
#define EXPECTED_V1 "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"

START_TEST(signature_is_hmac_of_timestamp_dot_body)
{
    const char *secrets[1] = {"whsec_test"};
    const char *sig = sp_webhook_signature(&arena, 1700000000, BODY, strlen(BODY), secrets, 1);
    ck_assert_str_eq(sig, SIG_TEST EXPECTED_V1);
}
END_TEST

START_TEST(overlap_sends_both_signatures_current_first)
{
    const char *one[1] = {"whsec_test"}, *other[1] = {"whsec_old"};
    const char *both[2] = {"whsec_test", "whsec_old"};
    const char *a = sp_webhook_signature(&arena, 1700000000, BODY, strlen(BODY), one, 1);
    const char *b = sp_webhook_signature(&arena, 1700000000, BODY, strlen(BODY), other, 1);
    const char *ab = sp_webhook_signature(&arena, 1700000000, BODY, strlen(BODY), both, 2);
    ck_assert_str_eq(ab, sp_arena_sprintf(&arena, "%s%s", a, strchr(b, ',')));
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(secrets_and_event_ids_have_their_shapes)
{
    const char *s1 = sp_webhook_new_secret(&arena), *s2 = sp_webhook_new_secret(&arena);
    ck_assert_uint_eq(strlen(s1), SP_WEBHOOK_SECRET_LEN);
    ck_assert(strncmp(s1, "whsec_", 6) == 0);
    ck_assert_uint_eq(strspn(s1 + 6, "0123456789abcdef"), 64);
    ck_assert_str_ne(s1, s2);
    const char *e = sp_webhook_event_id(&arena);
    ck_assert(strncmp(e, "evt_", 4) == 0);
    ck_assert_uint_eq(strlen(e), 28);
}
END_TEST

START_TEST(event_types_are_those_of_the_contract)
{
    ck_assert(sp_webhook_event_type_ok("ticket.created"));
    ck_assert(sp_webhook_event_type_ok("chat.transferred"));
    ck_assert(!sp_webhook_event_type_ok("ping"));
    ck_assert(!sp_webhook_event_type_ok("ticket.*"));
    ck_assert(!sp_webhook_event_type_ok(""));
}
END_TEST

/* member key of o as a string ("" when it is none) */
static const char *
text_of(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

#define CARD "4111 1111 1111 1111"
START_TEST(redacted_data_redacts_the_text_and_keeps_the_rest)
{
    const char *data =
        "{\"ticket_id\":4111111111111111,\"public_id\":\"7K2M9Q4X8P1R\","
        "\"ticket\":{\"id\":12,\"subject\":\"card " CARD "\",\"description\":"
        "\"mail a.b@example.com or +44 20 7946 0018\",\"booking_id\":\"4111111111111111\","
        "\"customer_id\":\"user+5551234567@example.com\",\"metadata\":{\"note\":\"" CARD "\"},"
        "\"sentiment\":{\"score\":-0.123456789012345678901},"
        "\"created_at\":\"2026-12-06T02:50:19.000Z\"},"
        "\"message\":{\"id\":99,\"body\":\"it is " CARD "\",\"attachments\":"
        "[{\"filename\":\"" CARD ".png\"}]},\"reason\":\"call 020 7946 0018\"}";
    struct sp_problem p;
    sp_problem_init(&p);
    const char *out = sp_webhook_redact_data(&arena, data, &p);
    ck_assert_ptr_nonnull(out);
    struct json_object *o = json_tokener_parse(out), *v;
    ck_assert_ptr_nonnull(o);
    ck_assert(json_object_object_get_ex(o, "ticket", &v));
    ck_assert_str_eq(text_of(v, "subject"), "card [card]");
    ck_assert_str_eq(text_of(v, "description"), "mail [email] or [phone]");
    /* structured members never pass through the redactor */
    ck_assert_str_eq(text_of(v, "booking_id"), "4111111111111111");
    ck_assert_str_eq(text_of(v, "customer_id"), "user+5551234567@example.com");
    ck_assert(strstr(out, "{\"note\":\"" CARD "\"}") != NULL);
    ck_assert(strstr(out, "\"score\":-0.123456789012345678901}") != NULL);
    ck_assert(strstr(out, "\"ticket_id\":4111111111111111,") != NULL);
    ck_assert(strstr(out, "\"filename\":\"" CARD ".png\"") != NULL);
    ck_assert_str_eq(text_of(o, "reason"), "call [phone]");
    ck_assert(json_object_object_get_ex(o, "message", &v));
    ck_assert_str_eq(text_of(v, "body"), "it is [card]");
    json_object_put(o);
}
END_TEST

START_TEST(redacted_data_is_the_data_when_nothing_is_found)
{
    struct sp_problem p;
    sp_problem_init(&p);
    /* no free text, or none to redact, or not strings: the same text */
    static const char *const same[] = {
        "{\"session_id\":\"c_5551234567890\",\"customer_id\":\"4111111111111111\"}",
        "{\"ticket\":{\"subject\":\"where is my refund\",\"description\":null}}",
        "{\"ticket\":\"4111111111111111\",\"message\":[\"" CARD "\"],\"reason\":7}"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        ck_assert_ptr_eq(sp_webhook_redact_data(&arena, same[i], &p), same[i]);
    ck_assert_int_eq(p.nerrors, 0);
    /* never the text as written instead of a redacted one */
    ck_assert_ptr_null(sp_webhook_redact_data(&arena, "{\"ticket\":", &p));
    ck_assert_int_eq(p.rc, SP_ERROR);
    sp_problem_init(&p);
    ck_assert_ptr_null(sp_webhook_redact_data(&arena, "[\"" CARD "\"]", &p));
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("webhook_signature");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, signature_is_hmac_of_timestamp_dot_body);
    tcase_add_test(tc, overlap_sends_both_signatures_current_first);
    tcase_add_test(tc, secrets_and_event_ids_have_their_shapes);
    tcase_add_test(tc, event_types_are_those_of_the_contract);
    tcase_add_test(tc, redacted_data_redacts_the_text_and_keeps_the_rest);
    tcase_add_test(tc, redacted_data_is_the_data_when_nothing_is_found);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(suite());
}
