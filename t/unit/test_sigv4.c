/*
 * test_sigv4: AWS Signature Version 4 (src/core/sigv4.c) against AWS's
 * published S3 examples — the presigned GET of "Authenticating Requests:
 * Using Query Parameters" and the GET Object of "Signature Calculations
 * for the Authorization Header" — plus the URI encoding of keys, the
 * sorted canonical query and header canonicalization; and sp_s3_presign
 * (src/core/s3.c), which only signs, so it is tested here without a store.
 */
#include <check.h>
#include <string.h>

#include "core/arena.h"
#include "core/s3.h"
#include "core/sigv4.h"
#include "core/uri.h"
#include "unit.h"

#define NOW_20130524 1369353600LL   /* 2013-05-24T00:00:00Z */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const struct sp_sigv4_creds aws = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};

SP_UNIT_ARENA_FIXTURE(4096)

START_TEST(aws_presigned_get_example_signs_as_published)
{
    const struct sp_sigv4_pair h[] = {{"Host", "examplebucket.s3.amazonaws.com"}};
    struct sp_sigv4_request r = {
        .method = "GET", .path = "/test.txt", .headers = h, .nheaders = 1,
        .now_s = NOW_20130524};
    struct sp_sigv4_signed s;
    sp_sigv4_presign(&arena, &aws, &r, 86400, &s);
    ck_assert_str_eq(s.canonical_request,
                     "GET\n/test.txt\n"
                     "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
                     "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
                     "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
                     "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
    ck_assert_str_eq(s.string_to_sign,
                     "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                     "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
    ck_assert_str_eq(s.signature,
                     "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    ck_assert_str_eq(s.query,
                     "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
                     "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
                     "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
                     "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    ck_assert_ptr_null(s.authorization);
}
END_TEST

START_TEST(aws_get_object_header_example_signs_as_published)
{
    /* Given in mixed case and out of order: canonicalization sorts them. */
    const struct sp_sigv4_pair h[] = {{"Range", "bytes=0-9"},
                                      {"Host", "examplebucket.s3.amazonaws.com"}};
    struct sp_sigv4_request r = {
        .method = "GET", .path = "/test.txt", .headers = h, .nheaders = 2,
        .payload_hash = EMPTY_SHA256, .now_s = NOW_20130524};
    struct sp_sigv4_signed s;
    sp_sigv4_authorize(&arena, &aws, &r, &s);
    ck_assert_str_eq(s.canonical_request,
                     "GET\n/test.txt\n\n"
                     "host:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                     "x-amz-content-sha256:" EMPTY_SHA256 "\n"
                     "x-amz-date:20130524T000000Z\n\n"
                     "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256);
    ck_assert_str_eq(s.string_to_sign,
                     "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                     "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    ck_assert_str_eq(s.signature,
                     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    ck_assert_str_eq(s.authorization,
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                     "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    ck_assert_str_eq(s.amz_date, "20130524T000000Z");
    ck_assert_str_eq(s.payload_hash, EMPTY_SHA256);
}
END_TEST

START_TEST(header_auth_without_body_hash_signs_unsigned_payload)
{
    const struct sp_sigv4_pair h[] = {{"host", "localhost:9000"}};
    struct sp_sigv4_request r = {
        .method = "DELETE", .path = "/b/k", .headers = h, .nheaders = 1, .now_s = NOW_20130524};
    struct sp_sigv4_signed s;
    sp_sigv4_authorize(&arena, &aws, &r, &s);
    ck_assert_str_eq(s.payload_hash, "UNSIGNED-PAYLOAD");
    ck_assert_str_eq(s.signed_headers, "host;x-amz-content-sha256;x-amz-date");
    ck_assert_ptr_nonnull(strstr(s.canonical_request,
                                 "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n"));
    ck_assert_str_eq(s.canonical_request + strlen(s.canonical_request) - 17,
                     "\nUNSIGNED-PAYLOAD");
}
END_TEST

static const char *
enc(const char *s, bool keep_slash)
{
    return sp_uri_encode(&arena, s, strlen(s), keep_slash);
}

START_TEST(uri_encoding_keeps_only_unreserved_bytes)
{
    ck_assert_str_eq(enc("AZaz09-._~", false), "AZaz09-._~");
    ck_assert_str_eq(enc("my file.txt", true), "my%20file.txt");
    ck_assert_str_eq(enc("a+b=c&d", true), "a%2Bb%3Dc%26d");
    ck_assert_str_eq(enc("dir/sub/f~1", true), "dir/sub/f~1");
    ck_assert_str_eq(enc("dir/sub", false), "dir%2Fsub");
    ck_assert_str_eq(enc("caf\xc3\xa9 \xe2\x82\xac", true), "caf%C3%A9%20%E2%82%AC");
    ck_assert_str_eq(enc("100%*!'()", true), "100%25%2A%21%27%28%29");
    ck_assert_str_eq(sp_uri_encode(&arena, "a\0b", 3, false), "a%00b");
    ck_assert_str_eq(enc("", true), "");
}
END_TEST

START_TEST(canonical_query_is_encoded_and_sorted)
{
    const struct sp_sigv4_pair q[] = {
        {"response-content-type", "text/plain"}, {"b", "2"}, {"X-Amz-Date", "x"},
        {"a", "z"}, {"a", "y"}, {"a b", "c d"}, {"empty", NULL}};
    ck_assert_str_eq(sp_sigv4_canonical_query(&arena, q, 7),
                     "X-Amz-Date=x&a=y&a=z&a%20b=c%20d&b=2&empty="
                     "&response-content-type=text%2Fplain");
    ck_assert_str_eq(sp_sigv4_canonical_query(&arena, NULL, 0), "");
}
END_TEST

START_TEST(header_values_are_trimmed_and_names_lowercased)
{
    const struct sp_sigv4_pair h[] = {{"X-Amz-Meta-Note", "  a   b \t c  "},
                                      {"HOST", "h"}};
    struct sp_sigv4_request r = {
        .method = "PUT", .path = "", .headers = h, .nheaders = 2, .now_s = NOW_20130524};
    struct sp_sigv4_signed s;
    sp_sigv4_authorize(&arena, &aws, &r, &s);
    ck_assert_str_eq(s.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-meta-note");
    ck_assert_ptr_nonnull(strstr(s.canonical_request, "PUT\n/\n\nhost:h\n"));
    ck_assert_ptr_nonnull(strstr(s.canonical_request, "\nx-amz-meta-note:a b c\n\n"));
}
END_TEST

static const struct sp_s3 store = {
    .endpoint = "http://127.0.0.1:9000", .region = "us-east-1", .bucket = "attachments",
    .access_key_id = "AKIAIOSFODNN7EXAMPLE",
    .secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", .timeout_ms = 1000};

START_TEST(presign_put_is_path_style_and_signs_content_length)
{
    const char *url = sp_s3_presign(&arena, &store, "PUT", "t/42/my file+v~1.pdf",
                                    NOW_20130524, 900, 1234, NULL);
    ck_assert_ptr_nonnull(url);
    const char *prefix = "http://127.0.0.1:9000/attachments/t/42/my%20file%2Bv~1.pdf?"
                         "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
                         "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
                         "&X-Amz-Expires=900&X-Amz-SignedHeaders=content-length%3Bhost"
                         "&X-Amz-Signature=";
    ck_assert_msg(strncmp(url, prefix, strlen(prefix)) == 0, "url: %s", url);
    ck_assert_uint_eq(strlen(url + strlen(prefix)), 64);

    /* The same URL by hand: what the store recomputes from what it gets. */
    const struct sp_sigv4_pair h[] = {{"host", "127.0.0.1:9000"}, {"content-length", "1234"}};
    struct sp_sigv4_request r = {.method = "PUT", .path = "/attachments/t/42/my file+v~1.pdf",
                                 .headers = h, .nheaders = 2, .now_s = NOW_20130524};
    struct sp_sigv4_signed s;
    sp_sigv4_presign(&arena, &(struct sp_sigv4_creds){store.access_key_id,
                                                      store.secret_access_key, "us-east-1", "s3"},
                     &r, 900, &s);
    ck_assert_str_eq(url + strlen(prefix), s.signature);
}
END_TEST

START_TEST(presign_get_signs_response_overrides)
{
    const struct sp_s3_response o = {"application/pdf",
                                     "attachment; filename=\"r\xc3\xa9sum\xc3\xa9.pdf\"",
                                     "private, no-store"};
    const char *url = sp_s3_presign(&arena, &store, "GET", "k", NOW_20130524, 60, -1, &o);
    ck_assert_ptr_nonnull(url);
    ck_assert_msg(strncmp(url, "http://127.0.0.1:9000/attachments/k?X-Amz-Algorithm=", 52) == 0,
                  "url: %s", url);
    ck_assert_ptr_nonnull(strstr(url, "&X-Amz-SignedHeaders=host&"));
    /* The store cannot add nosniff or a CSP: a download is at least kept
     * out of shared caches (docs/API.md §10 Attachment types). */
    ck_assert_ptr_nonnull(strstr(url, "&response-cache-control=private%2C%20no-store&"));
    ck_assert_ptr_nonnull(strstr(url, "&response-content-disposition=attachment%3B%20filename"
                                      "%3D%22r%C3%A9sum%C3%A9.pdf%22&"
                                      "response-content-type=application%2Fpdf&"
                                      "X-Amz-Signature="));
    ck_assert_ptr_null(strstr(url, "wJalrXUtnFEMI"));
}
END_TEST

START_TEST(presign_refuses_what_the_store_would_refuse)
{
    ck_assert_ptr_null(sp_s3_presign(&arena, &store, "DELETE", "k", NOW_20130524, 60, -1, NULL));
    ck_assert_ptr_null(sp_s3_presign(&arena, &store, "GET", "k", NOW_20130524, 0, -1, NULL));
    ck_assert_ptr_null(sp_s3_presign(&arena, &store, "GET", "k", NOW_20130524, 604801, -1, NULL));
    ck_assert_ptr_nonnull(
        sp_s3_presign(&arena, &store, "GET", "k", NOW_20130524, 604800, -1, NULL));
}
END_TEST

START_TEST(presign_keeps_the_endpoints_host_as_written)
{
    struct sp_s3 s3 = store;
    s3.endpoint = "https://storage.googleapis.com";
    s3.region = "auto";
    const char *url = sp_s3_presign(&arena, &s3, "GET", "a/b", NOW_20130524, 60, -1, NULL);
    ck_assert_ptr_nonnull(strstr(url, "https://storage.googleapis.com/attachments/a/b?"));
    ck_assert_ptr_nonnull(strstr(url, "%2F20130524%2Fauto%2Fs3%2Faws4_request&"));
}
END_TEST

static Suite *
sigv4_suite(void)
{
    Suite *s = suite_create("sigv4");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, aws_presigned_get_example_signs_as_published);
    tcase_add_test(tc, aws_get_object_header_example_signs_as_published);
    tcase_add_test(tc, header_auth_without_body_hash_signs_unsigned_payload);
    tcase_add_test(tc, uri_encoding_keeps_only_unreserved_bytes);
    tcase_add_test(tc, canonical_query_is_encoded_and_sorted);
    tcase_add_test(tc, header_values_are_trimmed_and_names_lowercased);
    tcase_add_test(tc, presign_put_is_path_style_and_signs_content_length);
    tcase_add_test(tc, presign_get_signs_response_overrides);
    tcase_add_test(tc, presign_refuses_what_the_store_would_refuse);
    tcase_add_test(tc, presign_keeps_the_endpoints_host_as_written);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(sigv4_suite());
}
