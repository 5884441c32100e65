/*
 * test_cursor: sealed keyset-pagination tokens (src/core/cursor.c,
 * API.md §1). A cursor decodes back to the position it was made from,
 * only for the scope and list kind it was made for; what its holder
 * forges or changes, and anything else, is refused. The position text
 * inside is checked by sealing texts the encoder never writes (sealed()).
 */
#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/base64.h"
#include "core/crypto.h"
#include "core/cursor.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

/* The scope of a cursor (http sp_req_scope): a route and its parameters. */
#define SCOPE "/support/tickets/:id|12:ABCDEFGHJKMN"

static const unsigned char secret[32] = "test cursor secret, 32 bytes...";

static void
keyed(void)
{
    setup();
    ck_assert(sp_cursor_set_key(secret));
}

/* base64url of n bytes, to forge cursors. */
static const char *
b64url(const char *raw, size_t n)
{
    return sp_b64url_encode(&arena, raw, n);
}

/* The position text raw (n bytes), sealed for SCOPE as the encoder seals:
 * a cursor the server could have made of any text. */
static const char *
sealed(const char *raw, size_t n)
{
    struct sp_token_key k;
    ck_assert(sp_crypto_token_key(secret, &k));
    unsigned char *out = sp_arena_alloc(&arena, n + SP_CRYPTO_TOKEN_OVERHEAD);
    sp_crypto_token_seal(&k, SCOPE, strlen(SCOPE), raw, n, out);
    return b64url((const char *)out, n + SP_CRYPTO_TOKEN_OVERHEAD);
}

static bool
decodes(const char *cursor, const char *kind)
{
    long long pos = -12345;
    bool ok = sp_cursor_decode(cursor, SCOPE, kind, &pos);
    if (!ok)
        ck_assert_int_eq(pos, -12345); /* a refusal leaves the output alone */
    return ok;
}

START_TEST(round_trip_keeps_the_position)
{
    /* clang-format off */
    static const long long positions[] = {
        1, 2, 9, 10, 42, 99, 100, 255, 256, 1000, 65535, 65536, 123456789,
        2147483647LL, 2147483648LL, 1LL << 40, 999999999999LL, INT64_MAX - 1, INT64_MAX,
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
        const char *c = sp_cursor_encode(&arena, SCOPE, "tickets", positions[i]);
        long long back = 0;
        ck_assert_msg(sp_cursor_decode(c, SCOPE, "tickets", &back), "%lld -> %s refused",
                      positions[i], c);
        ck_assert_int_eq(back, positions[i]);
    }
}
END_TEST

START_TEST(round_trip_for_every_small_position)
{
    for (long long p = 1; p <= 5000; p++) {
        const char *c = sp_cursor_encode(&arena, SCOPE, "events", p);
        long long back = 0;
        ck_assert(sp_cursor_decode(c, SCOPE, "events", &back));
        ck_assert_int_eq(back, p);
    }
}
END_TEST

START_TEST(output_uses_only_base64url_characters)
{
    static const char *const kinds[] = {"tickets", "messages", "x", "agent_queue"};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (long long p = 1; p < INT64_MAX / 7; p = p * 7 + 3) {
            const char *c = sp_cursor_encode(&arena, SCOPE, kinds[k], p);
            ck_assert_uint_gt(strlen(c), 0);
            ck_assert_msg(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789_-") == strlen(c),
                          "cursor %s has characters outside [A-Za-z0-9_-]", c);
        }
    }
}
END_TEST

START_TEST(cursor_does_not_show_the_position_in_clear)
{
    const char *c = sp_cursor_encode(&arena, SCOPE, "tickets", 987654321);
    ck_assert_ptr_null(strstr(c, "987654321"));
    ck_assert_ptr_null(strstr(c, "tickets"));
    ck_assert_ptr_null(strstr(c, b64url("c1.tickets.", 11)));   /* sealed, not encoded */
}
END_TEST

/* What the holder makes or changes is refused: the position text in
 * clear (a cursor before sealing), one changed character, a cursor cut
 * short; and the same position in the same scope seals alike (a page's
 * answer stays cacheable). */
START_TEST(forged_and_altered_cursors_are_refused)
{
    ck_assert(!decodes(b64url("c1.tickets.42", 13), "tickets"));
    const char *good = sp_cursor_encode(&arena, SCOPE, "tickets", 42);
    ck_assert(decodes(good, "tickets"));
    ck_assert_str_eq(sp_cursor_encode(&arena, SCOPE, "tickets", 42), good);
    for (size_t i = 0; i < strlen(good); i++) {
        char *c = sp_arena_strdup(&arena, good);
        c[i] = c[i] == 'A' ? 'B' : 'A';
        ck_assert_msg(!decodes(c, "tickets"), "accepted with character %zu changed: %s", i, c);
        ck_assert(!decodes(sp_arena_strndup(&arena, good, i), "tickets"));
    }
}
END_TEST

/* A cursor is valid where it was handed out: another route, another
 * ticket's messages, no scope at all are refused. */
START_TEST(cursor_of_another_scope_is_refused)
{
    const char *c = sp_cursor_encode(&arena, SCOPE, "m", 7);
    long long pos = 0;
    ck_assert(sp_cursor_decode(c, SCOPE, "m", &pos));
    ck_assert_int_eq(pos, 7);
    ck_assert(!sp_cursor_decode(c, "/support/tickets/:id|12:ABCDEFGHJKMP", "m", &pos));
    ck_assert(!sp_cursor_decode(c, "/support/agent/tickets/:id|12:ABCDEFGHJKMN", "m", &pos));
    ck_assert(!sp_cursor_decode(c, "", "m", &pos));
}
END_TEST

/* Another key (another deployment, or a key rotated away) reads none of
 * this key's cursors. */
START_TEST(cursor_of_another_key_is_refused)
{
    const char *c = sp_cursor_encode(&arena, SCOPE, "t", 9);
    static const unsigned char other[32] = "another secret of 32 bytes.....";
    ck_assert(sp_cursor_set_key(other));
    ck_assert(!decodes(c, "t"));
    ck_assert(decodes(sp_cursor_encode(&arena, SCOPE, "t", 9), "t"));
}
END_TEST

/* Without a key nothing is encoded: an unsealed cursor never goes out. */
START_TEST(encoding_without_a_key_aborts)
{
    sp_cursor_encode(&arena, SCOPE, "t", 1);
}
END_TEST

START_TEST(different_positions_give_different_cursors)
{
    const char *a = sp_cursor_encode(&arena, SCOPE, "tickets", 41);
    const char *b = sp_cursor_encode(&arena, SCOPE, "tickets", 42);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(cursor_of_another_kind_is_refused)
{
    const char *c = sp_cursor_encode(&arena, SCOPE, "tickets", 42);
    ck_assert(!decodes(c, "messages"));
    ck_assert(!decodes(c, "ticket"));   /* a prefix of the kind */
    ck_assert(!decodes(c, "tickets2")); /* the kind as a prefix */
    ck_assert(!decodes(c, ""));
    ck_assert(decodes(c, "tickets"));
}
END_TEST

START_TEST(empty_and_garbage_are_refused)
{
    ck_assert(!decodes("", "tickets"));
    ck_assert(!decodes("garbage", "tickets"));
    ck_assert(!decodes("A", "tickets"));
    ck_assert(!decodes("AAAA", "tickets"));
    ck_assert(!decodes("null", "tickets"));
    ck_assert(!decodes("42", "tickets"));
}
END_TEST

START_TEST(non_base64url_characters_are_refused)
{
    const char *good = sp_cursor_encode(&arena, SCOPE, "tickets", 42);
    ck_assert(decodes(good, "tickets"));
    static const char bad[] = "+/=.% \n";
    for (const char *b = bad; *b != '\0'; b++) {
        char *c = sp_arena_strdup(&arena, good);
        c[strlen(c) / 2] = *b;
        ck_assert_msg(!decodes(c, "tickets"), "accepted with '%c': %s", *b, c);
        c = sp_arena_sprintf(&arena, "%s%c", good, *b);
        ck_assert_msg(!decodes(c, "tickets"), "accepted with trailing '%c'", *b);
    }
}
END_TEST

START_TEST(standard_base64_padding_is_refused)
{
    const char *good = sp_cursor_encode(&arena, SCOPE, "t", 5); /* "c1.t.5": 6 bytes */
    ck_assert(decodes(good, "t"));
    const char *padded = sealed("c1.t.55", 7);
    ck_assert(decodes(padded, "t"));
    ck_assert(!decodes(sp_arena_sprintf(&arena, "%s==", padded), "t"));
}
END_TEST

START_TEST(zero_and_negative_positions_are_refused)
{
    ck_assert(!decodes(sealed("c1.tickets.0", 12), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets.-1", 13), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets.-42", 14), "tickets"));
    ck_assert(!decodes(sp_cursor_encode(&arena, SCOPE, "tickets", 0), "tickets"));
    ck_assert(!decodes(sp_cursor_encode(&arena, SCOPE, "tickets", -7), "tickets"));
}
END_TEST

START_TEST(non_canonical_numbers_are_refused)
{
    ck_assert(decodes(sealed("c1.tickets.42", 13), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets.042", 14), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets.+42", 14), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets. 42", 14), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets.42x", 14), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets.4 2", 14), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets.", 11), "tickets"));
}
END_TEST

START_TEST(overflowing_position_is_refused)
{
    ck_assert(decodes(sealed("c1.t.9223372036854775807", 24), "t"));
    ck_assert(!decodes(sealed("c1.t.9223372036854775808", 24), "t"));
    ck_assert(!decodes(sealed("c1.t.99999999999999999999999", 27), "t"));
}
END_TEST

START_TEST(wrong_version_prefix_is_refused)
{
    ck_assert(!decodes(sealed("c2.tickets.42", 13), "tickets"));
    ck_assert(!decodes(sealed("tickets.42", 10), "tickets"));
    ck_assert(!decodes(sealed("C1.tickets.42", 13), "tickets"));
}
END_TEST

START_TEST(very_long_input_is_refused)
{
    char *c = sp_arena_alloc(&arena, 4001);
    memset(c, 'A', 4000);
    c[4000] = '\0';
    ck_assert(!decodes(c, "tickets"));
    /* A valid cursor followed by a long tail of valid characters. */
    c = sp_arena_sprintf(&arena, "%s%0200d", sp_cursor_encode(&arena, SCOPE, "t", 1), 0);
    ck_assert(!decodes(c, "t"));
}
END_TEST

START_TEST(bytes_after_the_number_are_refused)
{
    /* Decoded bytes the encoder never writes, after a valid position: a
     * NUL would otherwise end the number early. */
    ck_assert(!decodes(sealed("c1.tickets.42\0", 14), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets.42\0\0\0", 16), "tickets"));
    ck_assert(!decodes(sealed("c1.tickets.42\0evil", 18), "tickets"));
}
END_TEST

START_TEST(key_cursor_round_trips_values_and_null)
{
    const struct sp_cursor_key keys[] = {
        {true, 1795625985123456LL, 42}, {true, -5, 1}, {true, 0, 7}, {false, 0, 99},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *c = sp_cursor_encode_key(&arena, SCOPE, "q", &keys[i]);
        struct sp_cursor_key back = {true, 12345, 0};
        ck_assert(sp_cursor_decode_key(c, SCOPE, "q", &back));
        ck_assert_int_eq(back.has_value, keys[i].has_value);
        if (keys[i].has_value)
            ck_assert_int_eq(back.value, keys[i].value);
        ck_assert_int_eq(back.id, keys[i].id);
    }
}
END_TEST

START_TEST(key_cursor_refuses_other_kinds_and_plain_cursors)
{
    struct sp_cursor_key k = {true, 10, 5}, back;
    const char *c = sp_cursor_encode_key(&arena, SCOPE, "q", &k);
    ck_assert(!sp_cursor_decode_key(c, SCOPE, "t", &back));
    ck_assert(!sp_cursor_decode_key(sp_cursor_encode(&arena, SCOPE, "q", 5), SCOPE, "q", &back));
    ck_assert(!sp_cursor_decode(c, SCOPE, "q", &back.id));
    ck_assert(!sp_cursor_decode_key("", SCOPE, "q", &back));
    ck_assert(!sp_cursor_decode_key("!!!!", SCOPE, "q", &back));
    struct sp_cursor_key zero = {true, 10, 0};
    const char *zero_cursor = sp_cursor_encode_key(&arena, SCOPE, "q", &zero);
    ck_assert(!sp_cursor_decode_key(zero_cursor, SCOPE, "q", &back));
}
END_TEST

static Suite *
cursor_suite(void)
{
    Suite *s = suite_create("cursor");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, keyed, teardown);
    tcase_add_test(tc, round_trip_keeps_the_position);
    tcase_add_test(tc, forged_and_altered_cursors_are_refused);
    tcase_add_test(tc, cursor_of_another_scope_is_refused);
    tcase_add_test(tc, cursor_of_another_key_is_refused);
    tcase_add_test(tc, round_trip_for_every_small_position);
    tcase_add_test(tc, output_uses_only_base64url_characters);
    tcase_add_test(tc, cursor_does_not_show_the_position_in_clear);
    tcase_add_test(tc, different_positions_give_different_cursors);
    tcase_add_test(tc, cursor_of_another_kind_is_refused);
    tcase_add_test(tc, empty_and_garbage_are_refused);
    tcase_add_test(tc, non_base64url_characters_are_refused);
    tcase_add_test(tc, standard_base64_padding_is_refused);
    tcase_add_test(tc, zero_and_negative_positions_are_refused);
    tcase_add_test(tc, non_canonical_numbers_are_refused);
    tcase_add_test(tc, overflowing_position_is_refused);
    tcase_add_test(tc, wrong_version_prefix_is_refused);
    tcase_add_test(tc, very_long_input_is_refused);
    tcase_add_test(tc, bytes_after_the_number_are_refused);
    tcase_add_test(tc, key_cursor_round_trips_values_and_null);
    tcase_add_test(tc, key_cursor_refuses_other_kinds_and_plain_cursors);
    suite_add_tcase(s, tc);
    TCase *unkeyed = tcase_create("unkeyed");
    tcase_add_checked_fixture(unkeyed, setup, teardown);
    tcase_add_test_raise_signal(unkeyed, encoding_without_a_key_aborts, SIGABRT);
    suite_add_tcase(s, unkeyed);
    return s;
}

int
main(void)
{
    return sp_unit_run(cursor_suite());
}
