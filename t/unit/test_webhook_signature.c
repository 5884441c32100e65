/*
 * test_webhook_signature: the Support-Signature header of webhook
 * deliveries (src/domain/webhook_delivery.c, API.md §11): t=<unix>, one
 * v1= per signing secret (the current first, the previous during a
 * rotation's overlap), each the hex HMAC-SHA256 of "<t>.<body>" keyed
 * with the secret text; and the shape of new secrets and event ids.
 */
#include <check.h>
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
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(suite());
}
