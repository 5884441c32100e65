/*
 * test_ids: CSPRNG-backed identifiers (src/core/ids.c). Public ids are 12
 * chars of Crockford base32 starting with a letter (API.md §1); request ids
 * are 20 lowercase base32 chars; a client's X-Request-Id is only echoed
 * when it is a sane token.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "unit.h"

#define CROCKFORD "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

static int
cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

START_TEST(public_id_is_12_crockford_chars_starting_with_a_letter)
{
    for (int i = 0; i < 2000; i++) {
        char id[SP_PUBLIC_ID_LEN + 1];
        memset(id, '#', sizeof(id));
        sp_public_id(id);
        ck_assert_uint_eq(strlen(id), 12);
        ck_assert_msg(strspn(id, CROCKFORD) == 12, "non-Crockford char in %s", id);
        ck_assert_msg(id[0] >= 'A' && id[0] <= 'Z', "first char of %s is not a letter", id);
        ck_assert_msg(strpbrk(id, "ILOU") == NULL, "ambiguous letter in %s", id);
    }
}
END_TEST

START_TEST(public_ids_use_the_whole_alphabet)
{
    /* 2000 ids x 11 free positions: every symbol turns up; digits too. */
    int seen[256] = {0};
    int first_digit = 0;
    for (int i = 0; i < 2000; i++) {
        char id[SP_PUBLIC_ID_LEN + 1];
        sp_public_id(id);
        first_digit += id[0] >= '0' && id[0] <= '9';
        for (int j = 1; j < SP_PUBLIC_ID_LEN; j++)
            seen[(unsigned char)id[j]]++;
    }
    ck_assert_int_eq(first_digit, 0);
    for (const char *c = CROCKFORD; *c != '\0'; c++)
        ck_assert_msg(seen[(unsigned char)*c] > 0, "symbol %c never used", *c);
}
END_TEST

START_TEST(ten_thousand_public_ids_are_unique)
{
    enum { N = 10000 };
    char(*ids)[SP_PUBLIC_ID_LEN + 1] = malloc(N * sizeof(*ids));
    ck_assert_ptr_nonnull(ids);
    for (int i = 0; i < N; i++)
        sp_public_id(ids[i]);
    qsort(ids, N, sizeof(*ids), cmp_str);
    int dups = 0;
    for (int i = 1; i < N; i++)
        dups += strcmp(ids[i], ids[i - 1]) == 0;
    free(ids);
    ck_assert_int_eq(dups, 0);
}
END_TEST

START_TEST(generated_public_ids_are_valid)
{
    for (int i = 0; i < 1000; i++) {
        char id[SP_PUBLIC_ID_LEN + 1];
        sp_public_id(id);
        ck_assert_msg(sp_public_id_valid(id), "%s judged invalid", id);
    }
}
END_TEST

START_TEST(public_id_valid_accepts_letter_first_crockford_ids)
{
    ck_assert(sp_public_id_valid("KQ2M9XD4TRA7"));
    ck_assert(sp_public_id_valid("ZZZZZZZZZZZZ"));
    ck_assert(sp_public_id_valid("A00000000000"));
}
END_TEST

START_TEST(public_id_valid_rejects_lowercase)
{
    ck_assert(!sp_public_id_valid("kq2m9xd4tra7"));
    ck_assert(!sp_public_id_valid("KQ2M9XD4TRa7"));
    ck_assert(!sp_public_id_valid("kQ2M9XD4TRA7"));
}
END_TEST

/* Read from a client, any case names the id (Crockford base32 ignores
 * case); the canonical form is upper case. */
START_TEST(public_id_read_takes_any_case_and_answers_upper_case)
{
    char out[SP_PUBLIC_ID_LEN + 1];
    ck_assert(sp_public_id_read("kq2m9xd4tra7", out));
    ck_assert_str_eq(out, "KQ2M9XD4TRA7");
    ck_assert(sp_public_id_read("kQ2m9Xd4tRa7", out));
    ck_assert_str_eq(out, "KQ2M9XD4TRA7");
    ck_assert(sp_public_id_read("KQ2M9XD4TRA7", out));
    ck_assert_str_eq(out, "KQ2M9XD4TRA7");
    /* Still 12 chars of the alphabet, a letter first. */
    ck_assert(!sp_public_id_read("kq2m9xd4tra", out));
    ck_assert(!sp_public_id_read("kq2m9xd4tra77", out));
    ck_assert(!sp_public_id_read("", out));
    ck_assert(!sp_public_id_read("1q2m9xd4tra7", out));
    ck_assert(!sp_public_id_read("kq2m9xd4trau", out));   /* u is not in the alphabet */
    /* Crockford's decoding: O is 0, I and L are 1 (not as the first). */
    ck_assert(sp_public_id_read("kq2m9xd4tri7", out));
    ck_assert_str_eq(out, "KQ2M9XD4TR17");
    ck_assert(sp_public_id_read("DEMOoOOOOOl1", out));
    ck_assert_str_eq(out, "DEM000000011");
    ck_assert(!sp_public_id_read("oq2m9xd4tra7", out));
    ck_assert(!sp_public_id_read("kq2m9xd4tr\xc3\xa9", out));
}
END_TEST

START_TEST(public_id_valid_rejects_wrong_length)
{
    ck_assert(!sp_public_id_valid(""));
    ck_assert(!sp_public_id_valid("K"));
    ck_assert(!sp_public_id_valid("KQ2M9XD4TRA"));   /* 11 */
    ck_assert(!sp_public_id_valid("KQ2M9XD4TRA77")); /* 13 */
}
END_TEST

START_TEST(public_id_valid_rejects_a_leading_digit)
{
    ck_assert(!sp_public_id_valid("0Q2M9XD4TRA7"));
    /* API.md §4's sample "7KQ2M9XD4TRA" breaks §1's own rule. */
    ck_assert(!sp_public_id_valid("7KQ2M9XD4TRA"));
    ck_assert(!sp_public_id_valid("9Q2M9XD4TRA7"));
}
END_TEST

START_TEST(public_id_valid_rejects_excluded_and_foreign_chars)
{
    static const char *const bad[] = {
        "IQ2M9XD4TRA7", "KQ2M9XD4TRAL",       "KQ2O9XD4TRA7",  "KQ2M9XU4TRA7", "KQ2M9XD4TR-7",
        "KQ2M9XD4TR 7", "KQ2M9XD4TR\xc3\x89", "KQ2M9XD4TRA\n", "UQ2M9XD4TRA7",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!sp_public_id_valid(bad[i]), "accepted %s", bad[i]);
}
END_TEST

START_TEST(request_id_is_20_lowercase_base32_chars)
{
    char first[21] = "";
    for (int i = 0; i < 1000; i++) {
        char id[21];
        memset(id, '#', sizeof(id));
        sp_request_id(id);
        ck_assert_uint_eq(strlen(id), 20);
        ck_assert_msg(strspn(id, "0123456789abcdefghjkmnpqrstvwxyz") == 20, "bad char in %s", id);
        ck_assert(sp_request_id_sane(id));
        if (i == 0)
            memcpy(first, id, sizeof(id));
        else
            ck_assert_str_ne(id, first);
    }
}
END_TEST

START_TEST(request_id_sane_accepts_tokens)
{
    ck_assert(sp_request_id_sane("abc-123_x.y"));
    ck_assert(sp_request_id_sane("a"));
    ck_assert(sp_request_id_sane("0f8fad5b-d9cb-469f-a165-70867728950e"));
    ck_assert(sp_request_id_sane("ABC.def_GHI-123"));
    char max[129];
    memset(max, 'r', 128);
    max[128] = '\0';
    ck_assert(sp_request_id_sane(max));
}
END_TEST

START_TEST(request_id_sane_rejects_empty)
{
    ck_assert(!sp_request_id_sane(""));
}
END_TEST

START_TEST(request_id_sane_rejects_spaces_quotes_and_controls)
{
    static const char *const bad[] = {
        "abc 123",           " abc", "abc ",  "a\"b", "a'b", "a\\b", "a\tb",
        "a\r\nSet-Cookie:x", "a\nb", "a;b",   "a,b",  "a/b", "a<b>", "{\"x\":1}",
        "caf\xc3\xa9",       "a=b",  "a%20b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!sp_request_id_sane(bad[i]), "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(request_id_sane_rejects_129_chars)
{
    char id[130];
    memset(id, 'r', 129);
    id[129] = '\0';
    ck_assert(!sp_request_id_sane(id));
    char huge[5000];
    memset(huge, 'r', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    ck_assert(!sp_request_id_sane(huge));
}
END_TEST

START_TEST(random_hex_has_twice_the_bytes_in_lowercase_hex)
{
    static const size_t sizes[] = {0, 1, 16, 32, 63, 64, 65, 200};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t nb = sizes[i];
        char *out = malloc(2 * nb + 2);
        ck_assert_ptr_nonnull(out);
        memset(out, '#', 2 * nb + 2);
        sp_random_hex(out, nb);
        ck_assert_uint_eq(strlen(out), 2 * nb);
        ck_assert_uint_eq(strspn(out, "0123456789abcdef"), 2 * nb);
        ck_assert_int_eq(out[2 * nb + 1], '#'); /* nothing written past the NUL */
        free(out);
    }
}
END_TEST

START_TEST(random_hex_differs_between_calls_and_uses_all_digits)
{
    char a[65], b[65];
    sp_random_hex(a, 32);
    sp_random_hex(b, 32);
    ck_assert_str_ne(a, b);
    int seen[256] = {0};
    char big[2001];
    sp_random_hex(big, 1000);
    for (size_t i = 0; i < 2000; i++)
        seen[(unsigned char)big[i]]++;
    for (const char *c = "0123456789abcdef"; *c != '\0'; c++)
        ck_assert_msg(seen[(unsigned char)*c] > 0, "digit %c never used", *c);
}
END_TEST

START_TEST(random_bytes_fill_the_buffer)
{
    unsigned char buf[256];
    memset(buf, 0, sizeof(buf));
    sp_random_bytes(buf, sizeof(buf));
    int zeros = 0;
    for (size_t i = 0; i < sizeof(buf); i++)
        zeros += buf[i] == 0;
    ck_assert_int_lt(zeros, 16); /* ~1 expected; all-zero means nothing was written */
}
END_TEST

static Suite *
ids_suite(void)
{
    Suite *s = suite_create("ids");
    TCase *tc = tcase_create("public_id");
    tcase_add_test(tc, public_id_is_12_crockford_chars_starting_with_a_letter);
    tcase_add_test(tc, public_ids_use_the_whole_alphabet);
    tcase_add_test(tc, ten_thousand_public_ids_are_unique);
    tcase_add_test(tc, generated_public_ids_are_valid);
    tcase_add_test(tc, public_id_valid_accepts_letter_first_crockford_ids);
    tcase_add_test(tc, public_id_valid_rejects_lowercase);
    tcase_add_test(tc, public_id_read_takes_any_case_and_answers_upper_case);
    tcase_add_test(tc, public_id_valid_rejects_wrong_length);
    tcase_add_test(tc, public_id_valid_rejects_a_leading_digit);
    tcase_add_test(tc, public_id_valid_rejects_excluded_and_foreign_chars);
    suite_add_tcase(s, tc);

    tc = tcase_create("request_id");
    tcase_add_test(tc, request_id_is_20_lowercase_base32_chars);
    tcase_add_test(tc, request_id_sane_accepts_tokens);
    tcase_add_test(tc, request_id_sane_rejects_empty);
    tcase_add_test(tc, request_id_sane_rejects_spaces_quotes_and_controls);
    tcase_add_test(tc, request_id_sane_rejects_129_chars);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_add_test(tc, random_hex_has_twice_the_bytes_in_lowercase_hex);
    tcase_add_test(tc, random_hex_differs_between_calls_and_uses_all_digits);
    tcase_add_test(tc, random_bytes_fill_the_buffer);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(ids_suite());
}
