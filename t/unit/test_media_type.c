/*
 * test_media_type: reading a media type (src/core/media_type.c, RFC 9110
 * §8.3.1): tokens, the type/subtype after blanks, the parameter list one
 * parameter at a time (empty ones passed over, anything malformed
 * refused), and a parameter's value compared unquoted without case.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/media_type.h"
#include "unit.h"

START_TEST(token_len_counts_tchars_only)
{
    ck_assert_uint_eq(sp_token_len("application/json"), 11);
    ck_assert_uint_eq(sp_token_len("a!#$%&'*+-.^_`|~9;"), 17);
    ck_assert_uint_eq(sp_token_len(""), 0);
    ck_assert_uint_eq(sp_token_len(" x"), 0);
    ck_assert_uint_eq(sp_token_len("x\"y"), 1);
    ck_assert_uint_eq(sp_token_len("ab{c"), 2);       /* RFC 2045's tspecials are not RFC 9110's */
    ck_assert_uint_eq(sp_token_len("caf\xc3\xa9"), 3);  /* no byte above 0x7f */
}
END_TEST

/* The essence as a string, "" when there is none. */
static const char *
essence(const char *value)
{
    static char out[64];
    const char *e;
    size_t n = sp_media_type_essence(value, &e);
    snprintf(out, sizeof(out), "%.*s", (int)n, n ? e : "");
    return out;
}

START_TEST(essence_is_two_tokens_after_blanks)
{
    ck_assert_str_eq(essence("application/json"), "application/json");
    ck_assert_str_eq(essence(" \tText/Plain ; charset=utf-8"), "Text/Plain");
    ck_assert_str_eq(essence("image/svg+xml;"), "image/svg+xml");
    ck_assert_str_eq(essence("text/plain x"), "text/plain");  /* the rest is the caller's */
    ck_assert_str_eq(essence("text/ plain"), "");
    ck_assert_str_eq(essence("text /plain"), "");
    ck_assert_str_eq(essence("/plain"), "");
    ck_assert_str_eq(essence("text/"), "");
    ck_assert_str_eq(essence("textplain"), "");
    ck_assert_str_eq(essence(""), "");
    ck_assert_str_eq(essence("\r\ntext/plain"), "");
}
END_TEST

/* The parameter list read to its end: "name=value|..." and the last
 * verdict, END or BAD. */
static const char *
params(const char *list)
{
    static char out[256];
    size_t n = 0;
    struct sp_media_param p;
    enum sp_media_next next;
    out[0] = '\0';
    while ((next = sp_media_type_param(&list, &p)) == SP_MEDIA_PARAM)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s=%.*s|", (int)p.name_len, p.name,
                              (int)p.value_len, p.value);
    snprintf(out + n, sizeof(out) - n, "%s", next == SP_MEDIA_END ? "END" : "BAD");
    return out;
}

START_TEST(parameters_are_read_one_at_a_time)
{
    ck_assert_str_eq(params(""), "END");
    ck_assert_str_eq(params(" \t"), "END");
    ck_assert_str_eq(params(";"), "END");
    ck_assert_str_eq(params(" ; ;; "), "END");
    ck_assert_str_eq(params("; charset=utf-8"), "charset=utf-8|END");
    ck_assert_str_eq(params(";a=1 ;\tB=\"x; y\";;c=\"\" "), "a=1|B=\"x; y\"|c=\"\"|END");
    ck_assert_str_eq(params(";q=\"a\\\"b\\\\\""), "q=\"a\\\"b\\\\\"|END");
    ck_assert_str_eq(params(";n=\"caf\xc3\xa9\""), "n=\"caf\xc3\xa9\"|END");  /* obs-text */
    ck_assert_str_eq(params(";a=\"tab\there\""), "a=\"tab\there\"|END");
}
END_TEST

START_TEST(malformed_parameters_are_refused)
{
    static const char *const bad[] = {
        "x",               /* not after ";" */
        "; a",             /* no "=" */
        ";a =1",           /* no blank around "=" */
        ";a= 1",
        ";a=",             /* no value */
        ";a=;b=1",
        ";a=\"open",       /* unterminated */
        ";a=\"open\\",     /* a quoted-pair without its byte */
        ";a=\"x\x01y\"",   /* a control in a quote */
        ";a=\"x\x7fy\"",
        ";a=\"x\\\x01\"",  /* nor quoted */
        ";a=1 2",          /* two values */
        ";a=caf\xc3\xa9",  /* obs-text in a token */
        "; =1",
        ";a=1\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *got = params(bad[i]);
        ck_assert_msg(strcmp(got + strlen(got) - 3, "BAD") == 0, "%s: %s", bad[i], got);
    }
    /* what came before the malformed part was read */
    ck_assert_str_eq(params(";a=1;b"), "a=1|BAD");
}
END_TEST

/* p's value as read from ";n=<value>". */
static struct sp_media_param
param_of(const char *list)
{
    struct sp_media_param p;
    ck_assert_int_eq(sp_media_type_param(&list, &p), SP_MEDIA_PARAM);
    return p;
}

START_TEST(param_is_compares_unquoted_without_case)
{
    struct sp_media_param p = param_of(";charset=UTF-8");
    ck_assert(sp_media_param_is(&p, "utf-8"));
    p = param_of(";charset=\"Utf-8\"");
    ck_assert(sp_media_param_is(&p, "utf-8"));
    p = param_of(";charset=\"\\u\\T\\f-8\"");
    ck_assert(sp_media_param_is(&p, "utf-8"));
    p = param_of(";charset=utf-88");
    ck_assert(!sp_media_param_is(&p, "utf-8"));
    p = param_of(";charset=\"utf-\"");
    ck_assert(!sp_media_param_is(&p, "utf-8"));
    p = param_of(";charset=\"utf-8 \"");
    ck_assert(!sp_media_param_is(&p, "utf-8"));
    p = param_of(";charset=\"\"");
    ck_assert(!sp_media_param_is(&p, "utf-8"));
    ck_assert(sp_media_param_is(&p, ""));
    p = param_of(";charset=utf8");
    ck_assert(!sp_media_param_is(&p, "utf-8"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("media_type");
    TCase *tc = tcase_create("media_type");
    tcase_add_test(tc, token_len_counts_tchars_only);
    tcase_add_test(tc, essence_is_two_tokens_after_blanks);
    tcase_add_test(tc, parameters_are_read_one_at_a_time);
    tcase_add_test(tc, malformed_parameters_are_refused);
    tcase_add_test(tc, param_is_compares_unquoted_without_case);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
