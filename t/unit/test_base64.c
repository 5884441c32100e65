/*
 * test_base64: RFC 4648 encodings (src/core/base64.c): the §10 vectors,
 * padded in the standard alphabet and unpadded in the URL one, every byte
 * value there and back, and what the strict decoder refuses.
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "core/arena.h"
#include "core/base64.h"
#include "core/buf.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

START_TEST(rfc4648_vectors_encode_without_padding)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        ck_assert_str_eq(sp_b64url_encode(&arena, plain[i], strlen(plain[i])), coded[i]);
    /* the URL alphabet: 62 and 63 are '-' and '_' */
    ck_assert_str_eq(sp_b64url_encode(&arena, "\xfb\xff", 2), "-_8");
}
END_TEST

START_TEST(rfc4648_vectors_encode_padded_in_the_standard_alphabet)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                        "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        struct sp_buf b;
        sp_buf_init(&b, &arena, 4);
        sp_buf_puts(&b, ">");
        sp_base64_append(&b, plain[i], strlen(plain[i]));
        ck_assert_str_eq(b.data, sp_arena_sprintf(&arena, ">%s", coded[i]));
        ck_assert_uint_eq(b.len, 1 + strlen(coded[i]));
    }
    struct sp_buf b;
    sp_buf_init(&b, &arena, 4);
    sp_base64_append(&b, "\xfb\xff", 2);
    ck_assert_str_eq(b.data, "+/8=");
}
END_TEST

START_TEST(every_byte_round_trips)
{
    unsigned char all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (size_t n = 0; n <= sizeof(all); n += 17) {
        const char *s = sp_b64url_encode(&arena, all, n);
        long got = sp_b64url_decode_into(s, strlen(s), back, sizeof(back));
        if (n == 0) {
            ck_assert_int_eq(got, -1);   /* empty is no token */
            continue;
        }
        ck_assert_int_eq(got, (long)n);
        ck_assert_int_eq(memcmp(all, back, n), 0);
        size_t len = 0;
        const unsigned char *a = sp_b64url_decode(&arena, s, strlen(s), &len);
        ck_assert_ptr_nonnull(a);
        ck_assert_uint_eq(len, n);
        ck_assert_int_eq(a[len], '\0');
    }
}
END_TEST

START_TEST(strict_decoder_refuses_what_is_not_base64url)
{
    unsigned char out[16];
    size_t len;
    static const char *const bad[] = {"A", "Zm9vY", "Zg==", "Zm+v", "Zm/v", "Zm9 v", "Zm.v"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(sp_b64url_decode_into(bad[i], strlen(bad[i]), out, sizeof(out)) == -1,
                      "%s accepted", bad[i]);
        ck_assert_ptr_null(sp_b64url_decode(&arena, bad[i], strlen(bad[i]), &len));
    }
    /* a NUL inside the counted length */
    ck_assert_int_eq(sp_b64url_decode_into("Zm\0v", 4, out, sizeof(out)), -1);
    /* bytes that do not fit */
    ck_assert_int_eq(sp_b64url_decode_into("Zm9vYmFy", 8, out, 5), -1);
    ck_assert_int_eq(sp_b64url_decode_into("Zm9vYmFy", 8, out, 6), 6);
}
END_TEST

static Suite *
base64_suite(void)
{
    Suite *s = suite_create("base64");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rfc4648_vectors_encode_without_padding);
    tcase_add_test(tc, rfc4648_vectors_encode_padded_in_the_standard_alphabet);
    tcase_add_test(tc, every_byte_round_trips);
    tcase_add_test(tc, strict_decoder_refuses_what_is_not_base64url);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(base64_suite());
}
