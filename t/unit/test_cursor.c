/*
 * test_cursor: opaque keyset-pagination tokens (src/http/cursor.c,
 * API.md §1). A cursor decodes back to the position it was made from,
 * only for the list kind it was made for, and anything else is refused.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/cursor.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

/* Standard base64url (no padding) of n bytes, to forge cursors. */
static const char *
b64url(const char *raw, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = sp_arena_alloc(&arena, n * 4 / 3 + 4);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)(unsigned char)raw[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)(unsigned char)raw[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)raw[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = tbl[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = tbl[v & 63];
    }
    out[o] = '\0';
    return out;
}

static bool
decodes(const char *cursor, const char *kind)
{
    long long pos = -12345;
    bool ok = sp_cursor_decode(cursor, kind, &pos);
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
        const char *c = sp_cursor_encode(&arena, "tickets", positions[i]);
        long long back = 0;
        ck_assert_msg(sp_cursor_decode(c, "tickets", &back), "%lld -> %s refused", positions[i], c);
        ck_assert_int_eq(back, positions[i]);
    }
}
END_TEST

START_TEST(round_trip_for_every_small_position)
{
    for (long long p = 1; p <= 5000; p++) {
        const char *c = sp_cursor_encode(&arena, "events", p);
        long long back = 0;
        ck_assert(sp_cursor_decode(c, "events", &back));
        ck_assert_int_eq(back, p);
    }
}
END_TEST

START_TEST(output_uses_only_base64url_characters)
{
    static const char *const kinds[] = {"tickets", "messages", "x", "agent_queue"};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (long long p = 1; p < INT64_MAX / 7; p = p * 7 + 3) {
            const char *c = sp_cursor_encode(&arena, kinds[k], p);
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
    const char *c = sp_cursor_encode(&arena, "tickets", 987654321);
    ck_assert_ptr_null(strstr(c, "987654321"));
    ck_assert_ptr_null(strstr(c, "tickets"));
}
END_TEST

START_TEST(different_positions_give_different_cursors)
{
    const char *a = sp_cursor_encode(&arena, "tickets", 41);
    const char *b = sp_cursor_encode(&arena, "tickets", 42);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(cursor_of_another_kind_is_refused)
{
    const char *c = sp_cursor_encode(&arena, "tickets", 42);
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
    const char *good = sp_cursor_encode(&arena, "tickets", 42);
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
    const char *good = sp_cursor_encode(&arena, "t", 5); /* "c1.t.5": 6 bytes */
    ck_assert(decodes(good, "t"));
    const char *padded = b64url("c1.t.55", 7);
    ck_assert(decodes(padded, "t"));
    ck_assert(!decodes(sp_arena_sprintf(&arena, "%s==", padded), "t"));
}
END_TEST

START_TEST(zero_and_negative_positions_are_refused)
{
    ck_assert(!decodes(b64url("c1.tickets.0", 12), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets.-1", 13), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets.-42", 14), "tickets"));
    ck_assert(!decodes(sp_cursor_encode(&arena, "tickets", 0), "tickets"));
    ck_assert(!decodes(sp_cursor_encode(&arena, "tickets", -7), "tickets"));
}
END_TEST

START_TEST(non_canonical_numbers_are_refused)
{
    ck_assert(decodes(b64url("c1.tickets.42", 13), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets.042", 14), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets.+42", 14), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets. 42", 14), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets.42x", 14), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets.4 2", 14), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets.", 11), "tickets"));
}
END_TEST

START_TEST(overflowing_position_is_refused)
{
    ck_assert(decodes(b64url("c1.t.9223372036854775807", 24), "t"));
    ck_assert(!decodes(b64url("c1.t.9223372036854775808", 24), "t"));
    ck_assert(!decodes(b64url("c1.t.99999999999999999999999", 27), "t"));
}
END_TEST

START_TEST(wrong_version_prefix_is_refused)
{
    ck_assert(!decodes(b64url("c2.tickets.42", 13), "tickets"));
    ck_assert(!decodes(b64url("tickets.42", 10), "tickets"));
    ck_assert(!decodes(b64url("C1.tickets.42", 13), "tickets"));
}
END_TEST

START_TEST(very_long_input_is_refused)
{
    char *c = sp_arena_alloc(&arena, 4001);
    memset(c, 'A', 4000);
    c[4000] = '\0';
    ck_assert(!decodes(c, "tickets"));
    /* A valid cursor followed by a long tail of valid characters. */
    c = sp_arena_sprintf(&arena, "%s%0200d", sp_cursor_encode(&arena, "t", 1), 0);
    ck_assert(!decodes(c, "t"));
}
END_TEST

START_TEST(bytes_after_the_number_are_refused)
{
    /* Decoded bytes the encoder never writes, after a valid position: a
     * NUL would otherwise end the number early. */
    ck_assert(!decodes(b64url("c1.tickets.42\0", 14), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets.42\0\0\0", 16), "tickets"));
    ck_assert(!decodes(b64url("c1.tickets.42\0evil", 18), "tickets"));
}
END_TEST

START_TEST(key_cursor_round_trips_values_and_null)
{
    const struct sp_cursor_key keys[] = {
        {true, 1795625985123456LL, 42}, {true, -5, 1}, {true, 0, 7}, {false, 0, 99},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *c = sp_cursor_encode_key(&arena, "q", &keys[i]);
        struct sp_cursor_key back = {true, 12345, 0};
        ck_assert(sp_cursor_decode_key(c, "q", &back));
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
    const char *c = sp_cursor_encode_key(&arena, "q", &k);
    ck_assert(!sp_cursor_decode_key(c, "t", &back));
    ck_assert(!sp_cursor_decode_key(sp_cursor_encode(&arena, "q", 5), "q", &back));
    ck_assert(!sp_cursor_decode(c, "q", &back.id));
    ck_assert(!sp_cursor_decode_key("", "q", &back));
    ck_assert(!sp_cursor_decode_key("!!!!", "q", &back));
    struct sp_cursor_key zero = {true, 10, 0};
    ck_assert(!sp_cursor_decode_key(sp_cursor_encode_key(&arena, "q", &zero), "q", &back));
}
END_TEST

static Suite *
cursor_suite(void)
{
    Suite *s = suite_create("cursor");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_keeps_the_position);
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
    return s;
}

int
main(void)
{
    return sp_unit_run(cursor_suite());
}
