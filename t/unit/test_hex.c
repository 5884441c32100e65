/*
 * test_hex: hexadecimal digits (src/core/hex.c): encoding known vectors,
 * every byte value there and back, and which bytes are digits.
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "core/hex.h"
#include "unit.h"

START_TEST(encode_writes_lower_case_digits_and_a_nul)
{
    char out[16];
    memset(out, 'x', sizeof(out));
    sp_hex_encode(out, "\x00\x01\x7f\x80\xab\xff", 6);
    ck_assert_str_eq(out, "00017f80abff");
    sp_hex_encode(out, "Hi!", 3);
    ck_assert_str_eq(out, "486921");
    memset(out, 'x', sizeof(out));
    sp_hex_encode(out, "", 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(every_byte_round_trips)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    char hex[2 * 256 + 1];
    sp_hex_encode(hex, all, sizeof(all));
    ck_assert_uint_eq(strlen(hex), 512);
    for (int i = 0; i < 256; i++) {
        int hi = sp_hex_value((unsigned char)hex[2 * i]);
        int lo = sp_hex_value((unsigned char)hex[2 * i + 1]);
        ck_assert_int_eq(hi << 4 | lo, i);
    }
}
END_TEST

START_TEST(digit_strings_are_the_sixteen_digits_in_each_case)
{
    ck_assert_str_eq(sp_hex_lower, "0123456789abcdef");
    ck_assert_str_eq(sp_hex_upper, "0123456789ABCDEF");
    for (int v = 0; v < 16; v++) {
        ck_assert_int_eq(sp_hex_value((unsigned char)sp_hex_lower[v]), v);
        ck_assert_int_eq(sp_hex_value((unsigned char)sp_hex_upper[v]), v);
    }
}
END_TEST

START_TEST(every_other_byte_is_not_a_digit)
{
    int digits = 0;
    for (int c = 0; c < 256; c++) {
        bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (digit) {
            digits++;
            continue;
        }
        ck_assert_msg(sp_hex_value((unsigned char)c) == -1, "byte 0x%02x", c);
    }
    ck_assert_int_eq(digits, 22);
    /* A plain char (signed on most ABIs) reads as its byte, not a negative index. */
    const char *s = "\xe9g";
    ck_assert_int_eq(sp_hex_value(s[0]), -1);
    ck_assert_int_eq(sp_hex_value(s[1]), -1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("hex");
    TCase *tc = tcase_create("hex");
    tcase_add_test(tc, encode_writes_lower_case_digits_and_a_nul);
    tcase_add_test(tc, every_byte_round_trips);
    tcase_add_test(tc, digit_strings_are_the_sixteen_digits_in_each_case);
    tcase_add_test(tc, every_other_byte_is_not_a_digit);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
