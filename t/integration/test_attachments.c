/*
 * test_attachments: attachments end to end (API.md §10) through nginx,
 * support-api, support-scan and the stack's clamd: the signed upload URL
 * (tampered, expired, another method or size: 403), the upload through
 * nginx's body file (size_mismatch, type_mismatch, already_uploaded), the
 * scan (clean; EICAR infected, deleted and never served; clamd down then
 * up: pending, then clean), the download through X-Accel-Redirect with
 * its headers, who may see what (owner, agents, the ticket's customer;
 * another customer 404; a customer and staff with one sub apart),
 * attaching to tickets and replies, the create limit, the cleanup job
 * (never uploaded, attached to nothing, orphans; an attach in flight
 * wins), and a 25 MiB upload that leaves the workers' memory flat.
 *
 * Signed URLs with chosen expiries are made here with the server's key
 * (SP_TEST_ATTACHMENT_KEYS_FILE) and the library's own signer.
 */
#include "attachment_harness.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/arena.h"
#include "core/ids.h"
#include "domain/attachment_scan.h"
#include "http/signed_url.h"

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

/* A signed URL made here, with any method, size and expiry. */
static const char *
signed_path(const char *method, const char *id, long long size, long long expires)
{
    static struct sp_arena arena;
    static struct sp_keyring_keys *keys;
    if (keys == NULL) {
        FILE *f = fopen(getenv("SP_TEST_ATTACHMENT_KEYS_FILE"), "r");
        ck_assert(f != NULL);
        char spec[256] = "", err[256];
        ck_assert(fgets(spec, sizeof(spec), f) != NULL);
        fclose(f);
        spec[strcspn(spec, "\n")] = '\0';
        keys = sp_url_keys_load(spec, err, sizeof(err));
        ck_assert_msg(keys != NULL, "%s", err);
        sp_arena_init(&arena, 4096);
    }
    const char *url = sp_signed_url(&arena, keys, method,
                                    sp_t_fmt("/support/attachments/%s/content", id), id, size,
                                    expires);
    return sp_t_fmt("%s", url);
}

/* Files in storage whose name starts with "<id>.". */
static int
stored_files(const char *id)
{
    return sp_t_attachment_local_files(sp_t_fmt("%s.", id));
}

/* --- metadata ------------------------------------------------------------- */

START_TEST(create_validates_name_type_and_size)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json(
        "/support/attachments", c.token,
        "{\"filename\":\"a/b.exe\",\"content_type\":\"application/x-msdownload\",\"size\":0}");
    sp_t_assert_invalid(r, "content_type", "unsupported_type");
    sp_t_assert_invalid(r, "size", NULL);
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/attachments", c.token,
                       "{\"filename\":\"a/b.png\",\"content_type\":\"image/png\",\"size\":10}");
    sp_t_assert_invalid(r, "filename", "invalid");
    ck_assert_str_eq(sp_t_invalid_message(r, "filename"),
                     "must be UTF-8 without control or format characters (bidirectional"
                     " ones included, anywhere), / or \\, and not . or ..");
    sp_t_resp_free(r);
    /* Bidirectional controls reorder what is shown: "photo\u202eFIG.html"
     * shows as "photolmth.GIF". */
    static const char *const bidi[] = {"\\u202e", "\\u202a", "\\u2066", "\\u2069",
                                       "\\u200e", "\\u200f", "\\u061c",
                                       /* and the other controls above ASCII */
                                       "\\u0085", "\\u009f", "\\u2028", "\\u2029"};
    for (size_t i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++) {
        r = sp_t_post_json("/support/attachments", c.token,
                           sp_t_fmt("{\"filename\":\"photo%sFIG.html\","
                                    "\"content_type\":\"image/png\",\"size\":10}", bidi[i]));
        sp_t_assert_invalid(r, "filename", "invalid");
        sp_t_resp_free(r);
    }
    /* The limit is 255 bytes, said so in one code whatever the characters
     * (QA: 256 ASCII ones were "at most 255 characters", 129 "é" — 258
     * bytes — "1 to 255 bytes …", invalid); 255 bytes pass (1 + 125 × 2 + 4). */
    const char *const too_long[] = {sp_t_repeat("a", 256), sp_t_repeat("\u00e9", 129),
                                    sp_t_fmt("%s.png", sp_t_repeat("\u00e9", 126))};
    for (size_t i = 0; i < sizeof(too_long) / sizeof(too_long[0]); i++) {
        r = sp_t_post_json("/support/attachments", c.token,
                           sp_t_fmt("{\"filename\":\"%s\",\"content_type\":\"image/png\","
                                    "\"size\":10}", too_long[i]));
        sp_t_assert_invalid(r, "filename", "too_long");
        ck_assert_str_eq(sp_t_invalid_message(r, "filename"),
                         "must be at most 255 bytes of UTF-8 (a character outside ASCII takes"
                         " 2 to 4)");
        ck_assert_uint_eq(sp_t_error_count(r), 1);
        sp_t_resp_free(r);
    }
    r = sp_t_post_json("/support/attachments", c.token,
                       sp_t_fmt("{\"filename\":\"a%s.png\",\"content_type\":\"image/png\","
                                "\"size\":10}", sp_t_repeat("\u00e9", 125)));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/attachments", c.token,
                       "{\"filename\":\"big.png\",\"content_type\":\"image/png\","
                       "\"size\":26214401}");
    sp_t_assert_invalid(r, "size", NULL);
    ck_assert_str_eq(sp_t_invalid_message(r, "size"), "must be 1 byte to 25 MiB");
    sp_t_resp_free(r);
    /* Past 64 bits too, the attachment's range is said (QA: int64's). */
    r = sp_t_post_json("/support/attachments", c.token,
                       "{\"filename\":\"big.png\",\"content_type\":\"image/png\","
                       "\"size\":9223372036854775808}");
    sp_t_assert_invalid(r, "size", "out_of_range");
    ck_assert_str_eq(sp_t_invalid_message(r, "size"), "must be 1 byte to 25 MiB");
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/attachments", NULL,
                       "{\"filename\":\"a.png\",\"content_type\":\"image/png\",\"size\":1}");
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

/* A name of only spaces or invisible characters names nothing (QA: " "
 * was taken and listed blank); a name's blank edges are trimmed, what is
 * between them kept. */
START_TEST(blank_names_are_refused_and_edges_trimmed)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const blank[] = {" ", "   ", "\\u00a0", "\\u3000\\u200b",
                                        " \\ufeff\\u2060 "};
    for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++) {
        struct sp_t_resp *r = sp_t_post_json(
            "/support/attachments", c.token,
            sp_t_fmt("{\"filename\":\"%s\",\"content_type\":\"text/plain\",\"size\":4}",
                     blank[i]));
        sp_t_assert_invalid(r, "filename", "invalid");
        ck_assert_str_eq(sp_t_invalid_message(r, "filename"),
                         "must not be blank (only spaces or invisible characters)");
        ck_assert_uint_eq(sp_t_error_count(r), 1);
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_post_json(
        "/support/attachments", c.token,
        "{\"filename\":\" \\u00a0my  report.txt\\u200b \",\"content_type\":\"text/plain\","
        "\"size\":4}");
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_jstr(r->json, "filename"), "my  report.txt");
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "id"));
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", id), c.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "filename"), "my  report.txt");
    sp_t_resp_free(r);
}
END_TEST

/* One 422 lists every field error (API.md §1), as ticket creates do
 * (QA: a filename of the wrong type hid an unsupported type and a bad
 * size); an unsupported type's message names the allowed ones. */
START_TEST(create_reports_every_field_error_at_once)
{
    static const char allowed[] = "image/png, image/jpeg, image/gif, image/webp,"
                                  " application/pdf, text/plain, text/csv";
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json(
        "/support/attachments", c.token,
        "{\"filename\":5,\"content_type\":\"text/html\",\"size\":0}");
    sp_t_assert_invalid(r, "filename", "wrong_type");
    sp_t_assert_invalid(r, "content_type", "unsupported_type");
    sp_t_assert_invalid(r, "size", "out_of_range");
    ck_assert_uint_eq(sp_t_error_count(r), 3);
    ck_assert_str_eq(sp_t_invalid_message(r, "content_type"),
                     sp_t_fmt("must be one of: %s", allowed));
    ck_assert_str_eq(sp_t_invalid_message(r, "size"), "must be 1 byte to 25 MiB");
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/attachments", c.token,
                       "{\"filename\":\"a/b\",\"content_type\":\"text html\"}");
    sp_t_assert_invalid(r, "filename", "invalid");
    sp_t_assert_invalid(r, "content_type", "unsupported_type");
    sp_t_assert_invalid(r, "size", "required");
    ck_assert_uint_eq(sp_t_error_count(r), 3);
    ck_assert_str_eq(sp_t_invalid_message(r, "content_type"),
                     sp_t_fmt("must be a media type, one of: %s", allowed));
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/attachments", c.token,
                       "{\"content_type\":\"image/png\",\"size\":\"10\"}");
    sp_t_assert_invalid(r, "filename", "required");
    sp_t_assert_invalid(r, "size", "wrong_type");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
}
END_TEST

/* Media types are case-insensitive and often carry parameters (QA:
 * "TEXT/PLAIN" and "text/plain; charset=utf-8" were unsupported_type):
 * the type is kept lower-cased without its parameters — stored, answered
 * and served as exactly an allowed type. */
START_TEST(content_types_are_normalised_to_an_allowed_media_type)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const accepted[][2] = {
        {"TEXT/PLAIN", "text/plain"},
        {"text/plain; charset=utf-8", "text/plain"},
        {" Image/PNG ;name=\"x;y\"", "image/png"},
        {"text/csv;", "text/csv"},
        {"text/plain; charset=\"UTF-8\"", "text/plain"},
        {"text/plain; charset=us-ascii", "text/plain"},
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        struct sp_t_resp *r = sp_t_post_json(
            "/support/attachments", c.token,
            sp_t_fmt("{\"filename\":\"a.txt\",\"content_type\":%s,\"size\":5}",
                     sp_t_jq(accepted[i][0])));
        sp_t_assert_json(r, 201);
        ck_assert_str_eq(sp_t_jstr(r->json, "content_type"), accepted[i][1]);
        sp_t_resp_free(r);
    }
    static const char *const refused[] = {
        "text/ plain", "text /plain", "text/plain x", "textplain", "/plain", "text/",
        "text/html; x=text/plain", "text/plain\r\nX-Evil: 1", "text/plain\u00e9",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct sp_t_resp *r = sp_t_post_json(
            "/support/attachments", c.token,
            sp_t_fmt("{\"filename\":\"a.txt\",\"content_type\":%s,\"size\":5}",
                     sp_t_jq(refused[i])));
        sp_t_assert_invalid(r, "content_type", "unsupported_type");
        sp_t_resp_free(r);
    }
    /* Another charset would be dropped and the bytes read as UTF-8,
     * garbled (QA: utf-16): refused, saying so. */
    static const char *const charsets[] = {"text/plain; charset=utf-16", "text/csv;charset=latin1"};
    for (size_t i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++) {
        struct sp_t_resp *r = sp_t_post_json(
            "/support/attachments", c.token,
            sp_t_fmt("{\"filename\":\"a.txt\",\"content_type\":%s,\"size\":5}",
                     sp_t_jq(charsets[i])));
        sp_t_assert_invalid(r, "content_type", "unsupported_type");
        ck_assert_ptr_nonnull(strstr(sp_t_invalid_message(r, "content_type"), "charset=utf-8"));
        sp_t_resp_free(r);
    }
    /* Served as the stored type, with nosniff. */
    struct sp_t_upload u = sp_t_attachment_new(c.token, "shot.png", "IMAGE/PNG; q=1",
                                               sizeof(sp_t_png));
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 200);
    ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 20), "clean");
    struct sp_t_resp *d = sp_t_get(sp_t_attachment_field(c.token, u.id, "download_url"), NULL);
    sp_t_assert_status(d, 200);
    ck_assert_str_eq(sp_t_header(d, "Content-Type"), "image/png");
    ck_assert_str_eq(sp_t_header(d, "X-Content-Type-Options"), "nosniff");
    sp_t_resp_free(d);
}
END_TEST

/* --- the upload ------------------------------------------------------------ */

START_TEST(tampered_expired_and_foreign_signatures_are_403)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "s.png", "image/png", sizeof(sp_t_png));
    const char *body;
    char *bad = (char *)sp_t_fmt("%s", u.url);
    char *sig = strstr(bad, "sig=") + 4;
    sig[0] = sig[0] == '0' ? '1' : '0';
    ck_assert_int_eq(sp_t_put_bytes(bad, sp_t_png, sizeof(sp_t_png), &body), 403);
    ck_assert(strstr(body, "invalid_signature") != NULL);
    /* Another size in an otherwise good URL, with a body of that size
     * (one of another size is refused for its length before anything). */
    const char *sized = signed_path("PUT", u.id, sizeof(sp_t_png) + 1, time(NULL) + 60);
    unsigned char longer[sizeof(sp_t_png) + 1];
    memcpy(longer, sp_t_png, sizeof(sp_t_png));
    longer[sizeof(sp_t_png)] = 0;
    ck_assert_int_eq(sp_t_put_bytes(sized, longer, sizeof(longer), &body), 403);
    ck_assert(strstr(body, "invalid_signature") != NULL);
    /* A download URL is not an upload URL. */
    const char *get = signed_path("GET", u.id, sizeof(sp_t_png), time(NULL) + 60);
    ck_assert_int_eq(sp_t_put_bytes(get, sp_t_png, sizeof(sp_t_png), &body), 403);
    const char *expired = signed_path("PUT", u.id, sizeof(sp_t_png), time(NULL) - 5);
    ck_assert_int_eq(sp_t_put_bytes(expired, sp_t_png, sizeof(sp_t_png), &body), 403);
    ck_assert(strstr(body, "url_expired") != NULL);
    ck_assert_int_eq(sp_t_put_bytes(sp_t_fmt("/support/attachments/%s/content", u.id), sp_t_png,
                               sizeof(sp_t_png), &body), 403);
    /* None of that stored anything: the real URL still works. */
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 200);
}
END_TEST

/* url with the id of its path "/support/attachments/<id>/" in lower
 * case (every other letter when mixed). */
static const char *
id_in_case(const char *url, bool mixed)
{
    char *out = (char *)sp_t_fmt("%s", url);
    char *id = strstr(out, "/support/attachments/");
    ck_assert(id != NULL);
    id += strlen("/support/attachments/");
    for (size_t i = 0; id[i] != '/' && id[i] != '\0'; i++)
        if ((!mixed || i % 2 == 1) && id[i] >= 'A' && id[i] <= 'Z')
            id[i] = (char)(id[i] - 'A' + 'a');
    return out;
}

/* Public ids are read in any case (API.md §1), a signed URL's path too
 * (§10): the signature is over the canonical id, so the URL with its id
 * in lower or mixed case names the same attachment, while another
 * attachment's signature on it is still refused. */
START_TEST(signed_urls_take_the_id_in_any_case)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "s.png", "image/png", sizeof(sp_t_png));
    struct sp_t_upload v = sp_t_attachment_new(c.token, "v.png", "image/png", sizeof(sp_t_png));
    const char *body;
    /* v's signature under u's id, in lower case: not u's URL */
    const char *foreign = sp_t_fmt("/support/attachments/%s/content%s", u.id,
                                   strchr(v.url, '?'));
    ck_assert_int_eq(sp_t_put_bytes(id_in_case(foreign, false), sp_t_png, sizeof(sp_t_png),
                                    &body), 403);
    ck_assert(strstr(body, "invalid_signature") != NULL);
    ck_assert_int_eq(sp_t_put_bytes(id_in_case(u.url, false), sp_t_png, sizeof(sp_t_png), &body),
                     200);
    ck_assert(strstr(body, sp_t_fmt("\"id\":\"%s\"", u.id)) != NULL);
    ck_assert_int_eq(stored_files(u.id), 1);
    ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 20), "clean");
    const char *url = sp_t_attachment_field(c.token, u.id, "download_url");
    for (int mixed = 0; mixed < 2; mixed++) {
        struct sp_t_resp *d = sp_t_get(id_in_case(url, mixed), NULL);
        sp_t_assert_status(d, 200);
        ck_assert_uint_eq(d->body_len, sizeof(sp_t_png));
        ck_assert(memcmp(d->body, sp_t_png, sizeof(sp_t_png)) == 0);
        ck_assert_str_eq(sp_t_header(d, "Content-Type"), "image/png");
        sp_t_resp_free(d);
    }
    /* an expired one stays expired in any case */
    struct sp_t_resp *d = sp_t_get(
        id_in_case(signed_path("GET", u.id, sizeof(sp_t_png), time(NULL) - 1), false), NULL);
    sp_t_assert_problem(d, 403, "url_expired");
    sp_t_resp_free(d);
}
END_TEST

/* Text naming markup is still text (QA: a log line with <script>, a CSV
 * cell with <a href> were type_mismatch, libmagic calling them text/html):
 * taken as declared, served as declared, with nosniff, as an attachment. */
START_TEST(text_that_names_markup_is_taken_as_declared)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const files[][2] = {
        {"text/plain", "error at line 3: unexpected <script> tag\n"},
        {"text/csv", "a,b\n1,<a href=x>link</a>\n"},
        {"text/plain", "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>\n"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len = strlen(files[i][1]);
        struct sp_t_upload u = sp_t_attachment_new(c.token, "log.txt", files[i][0], len);
        const char *body;
        ck_assert_msg(sp_t_put_bytes(u.url, files[i][1], len, &body) == 200, "%s", body);
        ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 20), "clean");
        struct sp_t_resp *d =
            sp_t_get(sp_t_attachment_field(c.token, u.id, "download_url"), NULL);
        sp_t_assert_status(d, 200);
        ck_assert_str_eq(sp_t_header(d, "Content-Type"), files[i][0]);
        ck_assert_str_eq(sp_t_header(d, "X-Content-Type-Options"), "nosniff");
        ck_assert_ptr_nonnull(strstr(sp_t_header(d, "Content-Disposition"), "attachment"));
        sp_t_resp_free(d);
    }
}
END_TEST

/* QA: a 1-byte text ("a", "\n") was type_mismatch (libmagic has no
 * text verdict for it); UTF-16 and Latin-1 text were taken and served
 * garbled. */
START_TEST(short_text_is_taken_and_text_must_be_utf8)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const ok[][2] = {{"text/plain", "a"}, {"text/csv", "\n"}};
    const char *body;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct sp_t_upload u = sp_t_attachment_new(c.token, "t.txt", ok[i][0], 1);
        ck_assert_msg(sp_t_put_bytes(u.url, ok[i][1], 1, &body) == 200, "%s", body);
        ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 20), "clean");
    }
    static const char utf16[] = "\xff\xfeh\0i\0\n\0";
    static const char latin1[] = "caf\xe9 cr\xe8me br\xfb" "l\xe9" "e\n";
    const char *const bad[] = {utf16, latin1};
    const size_t len[] = {sizeof(utf16) - 1, sizeof(latin1) - 1};
    for (size_t i = 0; i < 2; i++) {
        struct sp_t_upload u = sp_t_attachment_new(c.token, "t.txt", "text/plain", len[i]);
        ck_assert_int_eq(sp_t_put_bytes(u.url, bad[i], len[i], &body), 422);
        ck_assert_msg(strstr(body, "\"type_mismatch\"") != NULL &&
                          strstr(body, "text must be UTF-8") != NULL, "%s", body);
    }
    /* QA: a PNG declared text/plain was told to convert UTF-16 or Latin-1
     * text: it is binary, as libmagic says. */
    struct sp_t_upload u = sp_t_attachment_new(c.token, "t.txt", "text/plain", sizeof(sp_t_png));
    ck_assert_int_eq(sp_t_put_bytes(u.url, (const char *)sp_t_png, sizeof(sp_t_png), &body), 422);
    ck_assert_msg(strstr(body, "\"type_mismatch\"") != NULL &&
                      strstr(body, "they are binary (image/png), not text") != NULL &&
                      strstr(body, "convert") == NULL, "%s", body);
}
END_TEST

/* QA: format characters inside a name were taken, bidirectional controls
 * at its ends trimmed silently (the docs said refused). */
START_TEST(names_with_format_characters_are_refused)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const bad[] = {"a\\u206ab.txt", "a\\ufff9b.txt", "\\u0600a.txt",
                                      "a\\u180eb.txt", "a \\u200d b.txt",
                                      "report.pdf\\u200e", "\\u200freport.pdf",
                                      "report.pdf\\u2066"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_t_resp *r = sp_t_post_json(
            "/support/attachments", c.token,
            sp_t_fmt("{\"filename\":\"%s\",\"content_type\":\"text/plain\",\"size\":4}",
                     bad[i]));
        sp_t_assert_invalid(r, "filename", "invalid");
        sp_t_resp_free(r);
    }
    /* ZWJ inside an emoji sequence, ZWNJ inside a Persian word: kept. */
    static const char *const good[] = {
        "\\ud83d\\udc68\\u200d\\ud83d\\udc69.png",
        "\\u0645\\u06cc\\u200c\\u062e\\u0648\\u0627\\u0647\\u0645.png"};
    for (size_t i = 0; i < 2; i++) {
        struct sp_t_resp *r = sp_t_post_json(
            "/support/attachments", c.token,
            sp_t_fmt("{\"filename\":\"%s\",\"content_type\":\"image/png\",\"size\":4}",
                     good[i]));
        sp_t_assert_json(r, 201);
        sp_t_resp_free(r);
    }
}
END_TEST

START_TEST(wrong_size_wrong_type_and_second_upload_are_refused)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "s.png", "image/png", sizeof(sp_t_png));
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png) - 1, &body), 422);
    ck_assert(strstr(body, "size_mismatch") != NULL);
    /* Chunked, the length is not announced: refused unread (411). */
    ck_assert_int_eq(sp_t_put_sent(sp_t_fmt("%s%s", getenv("SP_TEST_BASE_URL"), u.url), sp_t_png,
                                   sizeof(sp_t_png) - 1, "Transfer-Encoding: chunked", NULL,
                                   &body), 411);
    ck_assert_msg(strstr(body, "\"code\":\"length_required\"") != NULL, "%s", body);
    char words[sizeof(sp_t_png)];
    memset(words, 'w', sizeof(words));
    ck_assert_int_eq(sp_t_put_bytes(u.url, words, sizeof(words), &body), 422);
    ck_assert(strstr(body, "\"type_mismatch\"") != NULL);
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 200);
    ck_assert(strstr(body, "\"sha256\":\"") != NULL);
    ck_assert_int_eq(stored_files(u.id), 1);
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 409);
    ck_assert(strstr(body, "already_uploaded") != NULL);
}
END_TEST

/* A PUT announcing another length than its URL's size is refused before
 * its body is read (QA: 20 MB announced to a URL for 67 bytes were all
 * taken in, then refused): with Expect: 100-continue no byte is sent;
 * without it the client stops at the early answer, long before the end.
 * The attachment is still waiting for its bytes. */
START_TEST(a_wrong_announced_size_is_refused_before_the_body_is_read)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "s.png", "image/png", sizeof(sp_t_png));
    const char *url = sp_t_fmt("%s%s", getenv("SP_TEST_BASE_URL"), u.url);
    const size_t big = 20000000;
    char *bytes = calloc(1, big);
    ck_assert(bytes != NULL);
    static const char *const expect[] = {"Expect: 100-continue", "Expect:"};
    for (size_t i = 0; i < 2; i++) {
        long long sent = -1;
        const char *body;
        ck_assert_int_eq(sp_t_put_sent(url, bytes, big, expect[i], &sent, &body), 422);
        ck_assert_msg(strstr(body, sp_t_fmt("\"code\":\"size_mismatch\",\"detail\":\"the upload"
                                            " has %zu bytes, the attachment declared %zu\"",
                                            big, sizeof(sp_t_png))) != NULL, "%s", body);
        ck_assert(strstr(body, "\"type\":\"https://docs.support.example/errors/size_mismatch\"")
                  != NULL);
        ck_assert_msg(sent < (long long)big / 2, "sent %lld of %zu bytes", sent, big);
    }
    free(bytes);
    ck_assert_str_eq(sp_t_attachment_field(c.token, u.id, "status"), "pending");
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 200);
}
END_TEST

/* The same refusal on a bare socket: a client announcing 20 MB with
 * Expect: 100-continue reads the 422 as the first answer, never 100
 * Continue, having sent nothing but the headers (QA: nginx answered 100
 * Continue, then 422 once the client had started to send), and its
 * status line is the worker's "422 Unprocessable Content" (QA: nginx's
 * own was "422 " without a reason phrase). A length of one byte, under
 * the refusal's body limit, is refused as well. */
START_TEST(a_wrong_size_expecting_100_continue_gets_the_refusal_first)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "s.png", "image/png", sizeof(sp_t_png));
    static const char *const tails[][2] = {
        {"20000000", "Expect: 100-continue\r\n\r\n"},
        {"1", "\r\nx"},
    };
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        const char *req = sp_t_fmt("PUT %s HTTP/1.1\r\nHost: localhost\r\n"
                                   "Content-Length: %s\r\n%s", u.url, tails[i][0], tails[i][1]);
        struct sp_t_resp *r = sp_t_raw(req, strlen(req));
        ck_assert_int_eq(r->status, 422);
        ck_assert_msg(strstr(r->body, sp_t_fmt("\"code\":\"size_mismatch\",\"detail\":\"the upload"
                                               " has %s bytes, the attachment declared %zu\"",
                                               tails[i][0], sizeof(sp_t_png))) != NULL,
                      "%s", r->body);
        ck_assert_str_eq(sp_t_header(r, "Content-Type"), "application/problem+json");
        ck_assert_uint_eq(sp_t_header_count(r, "X-Request-Id"), 1);
        sp_t_resp_free(r);
        /* The worker's status line, with its reason phrase (nginx 1.22
         * has none for 422). */
        static const char line[] = "HTTP/1.1 422 Unprocessable Content\r\n";
        const char *all = sp_t_raw_all(req, strlen(req));
        ck_assert_msg(strncmp(all, line, strlen(line)) == 0, "%.80s", all);
    }
    /* The worker answers it, so a URL that does not verify is its 403
     * first, still without 100 Continue. */
    const char *req = sp_t_fmt("PUT %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20000000"
                               "\r\nExpect: 100-continue\r\n\r\n",
                               signed_path("GET", u.id, sizeof(sp_t_png), time(NULL) + 60));
    struct sp_t_resp *r = sp_t_raw(req, strlen(req));
    sp_t_assert_problem(r, 403, "invalid_signature");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_attachment_field(c.token, u.id, "status"), "pending");
}
END_TEST

/* nginx read and stored an upload body of up to 25 MiB before the worker
 * checked its URL (QA: a disk and bandwidth DoS without credentials).
 * Now it asks the worker first: a URL without a signature, without size,
 * with a decoy SIZE= that nginx's $arg_size took for the size, and a
 * chunked body are refused before the client has sent half of 20 MB,
 * with or without Expect: 100-continue; the real URL still works. */
START_TEST(an_unsigned_upload_is_refused_before_its_body_is_read)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "s.png", "image/png", sizeof(sp_t_png));
    const size_t big = 20000000;
    const char *base = getenv("SP_TEST_BASE_URL");
    const char *query = strchr(u.url, '?') + 1;
    char *no_size = (char *)sp_t_fmt("%s", u.url);
    char *size = strstr(no_size, "size=");
    memmove(size, strchr(size, '&') + 1, strlen(strchr(size, '&') + 1) + 1);
    const char *urls[] = {
        sp_t_fmt("%s/support/attachments/%s/content", base, u.id),
        sp_t_fmt("%s%s", base, no_size),
        sp_t_fmt("%s/support/attachments/%s/content?SIZE=%zu&%s", base, u.id, big, query),
        sp_t_fmt("%s/support/attachments/%s/content?%s&size=%zu", base, u.id, query, big),
    };
    char *bytes = calloc(1, big);
    ck_assert(bytes != NULL);
    static const char *const expect[] = {"Expect: 100-continue", "Expect:"};
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
        for (size_t e = 0; e < 2; e++) {
            long long sent = -1;
            const char *body;
            ck_assert_int_eq(sp_t_put_sent(urls[i], bytes, big, expect[e], &sent, &body), 403);
            ck_assert_msg(strstr(body, "\"code\":\"invalid_signature\"") != NULL, "%s", body);
            ck_assert_msg(sent < (long long)big / 2, "url %zu: sent %lld of %zu bytes", i, sent,
                          big);
        }
    /* No length to compare with the signed size: 411, the body unread. */
    long long sent = -1;
    const char *body;
    ck_assert_int_eq(sp_t_put_sent(sp_t_fmt("%s%s", base, u.url), bytes, big,
                                   "Transfer-Encoding: chunked", &sent, &body), 411);
    ck_assert_msg(strstr(body, "\"code\":\"length_required\"") != NULL, "%s", body);
    ck_assert_msg(sent < (long long)big / 2, "chunked: sent %lld of %zu bytes", sent, big);
    free(bytes);
    ck_assert_str_eq(sp_t_attachment_field(c.token, u.id, "status"), "pending");
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 200);
}
END_TEST

/* A replayed create (same Idempotency-Key, same body) answers the row as
 * it is now, with an upload URL signed afresh while the bytes are still
 * to come and none once they are in (QA: the first answer came back, its
 * URL expired after 15 minutes and its status still pending); the key
 * keeps no upload URL, a bearer credential, in the clear. */
START_TEST(a_replayed_create_answers_the_row_as_it_is_now)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *key = sp_t_unique("att");
    const char *const headers[] = {sp_t_fmt("Idempotency-Key: %s", key), NULL};
    const char *json = sp_t_fmt("{\"filename\":\"r.png\",\"content_type\":\"image/png\","
                                "\"size\":%zu}", sizeof(sp_t_png));
    struct sp_t_resp *r =
        sp_t_request("POST", "/support/attachments", c.token, SP_T_JSON, json, headers);
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "id"));
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_idempotency_keys WHERE key = '%s'"
                              " AND response_body LIKE '%%sig=%%'", key), "0");
    r = sp_t_request("POST", "/support/attachments", c.token, SP_T_JSON, json, headers);
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_header(r, "Idempotent-Replayed"), "true");
    ck_assert_str_eq(sp_t_header(r, "Location"), sp_t_fmt("/support/attachments/%s", id));
    ck_assert_str_eq(sp_t_jstr(r->json, "id"), id);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "pending");
    ck_assert_str_eq(sp_t_jstr(r->json, "upload_method"), "PUT");
    sp_t_assert_timestamp(sp_t_jstr(r->json, "expires_at"));
    const char *url = sp_t_fmt("%s", sp_t_jstr(r->json, "upload_url"));
    sp_t_resp_free(r);
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(url, sp_t_png, sizeof(sp_t_png), &body), 200);
    ck_assert_str_eq(sp_t_attachment_wait(c.token, id, 20), "clean");
    r = sp_t_request("POST", "/support/attachments", c.token, SP_T_JSON, json, headers);
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_header(r, "Idempotent-Replayed"), "true");
    ck_assert_str_eq(sp_t_jstr(r->json, "id"), id);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "clean");
    ck_assert_str_eq(sp_t_jstr(r->json, "sha256"), sp_t_attachment_field(c.token, id, "sha256"));
    sp_t_assert_jnull(r->json, "upload_url");
    sp_t_assert_jnull(r->json, "upload_method");
    sp_t_assert_jnull(r->json, "expires_at");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE owner_sub = '%s'",
                              c.sub), "1");
}
END_TEST

/* Keys stored before the replay was rebuilt kept the first answer, its
 * signed upload URL in the clear: sql/061 drops those answers (and no
 * other), and such a key still replays, as the attachment is now. Run
 * twice: it is idempotent. */
START_TEST(migration_061_drops_the_upload_urls_keys_kept)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *key = sp_t_unique("att061");
    const char *const headers[] = {sp_t_fmt("Idempotency-Key: %s", key), NULL};
    const char *json = "{\"filename\":\"k.png\",\"content_type\":\"image/png\",\"size\":67}";
    struct sp_t_resp *r =
        sp_t_request("POST", "/support/attachments", c.token, SP_T_JSON, json, headers);
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "id"));
    const char *old = sp_t_fmt("%.*s", (int)r->body_len, r->body);
    sp_t_resp_free(r);
    sp_t_sql("UPDATE support_idempotency_keys SET response_body = $b$%s$b$ WHERE key = '%s'"
             " RETURNING 1", old, key);
    const char *other = sp_t_unique("other061");
    sp_t_sql("INSERT INTO support_idempotency_keys (user_id, key, request_hash, status, location,"
             " response_body) VALUES ('%s', '%s', '\\x00', 201, '/support/tickets/X',"
             " '{\"sig\":1}') RETURNING 1", other, other);
    for (int run = 0; run < 2; run++) {
        sp_t_sql("%s", sp_t_migration_text("061_attachment_keys_keep_no_url.sql"));
        ck_assert_str_eq(sp_t_sql("SELECT response_body FROM support_idempotency_keys"
                                  " WHERE key = '%s'", key), "");
        ck_assert_str_eq(sp_t_sql("SELECT response_body FROM support_idempotency_keys"
                                  " WHERE key = '%s'", other), "{\"sig\":1}");
    }
    r = sp_t_request("POST", "/support/attachments", c.token, SP_T_JSON, json, headers);
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_header(r, "Idempotent-Replayed"), "true");
    ck_assert_str_eq(sp_t_jstr(r->json, "id"), id);
    ck_assert(strstr(sp_t_jstr(r->json, "upload_url"), sp_t_fmt("/%s/content?", id)) != NULL);
    sp_t_resp_free(r);
}
END_TEST

/* --- scan and download ----------------------------------------------------- */

/* A problem nginx answers for a download (a Range past the file's end, a
 * file gone) carries each header once and none of the file's (QA: the
 * security headers came twice, with the file's sandbox CSP beside the
 * problem's, and the problem carried the file's Content-Disposition, ETag
 * and Cache-Control). */
static void
assert_bare_download_problem(struct sp_t_resp *r, int status, const char *code)
{
    sp_t_assert_problem(r, status, code);
    static const char *const once[] = {"X-Request-Id", "X-Content-Type-Options",
                                       "X-Frame-Options", "Referrer-Policy",
                                       "Content-Security-Policy", "Content-Type"};
    for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++)
        ck_assert_msg(sp_t_header_count(r, once[i]) == 1, "%s %zu times", once[i],
                      sp_t_header_count(r, once[i]));
    ck_assert_str_eq(sp_t_header(r, "Content-Security-Policy"),
                     "default-src 'none'; frame-ancestors 'none'");
    static const char *const none[] = {"Content-Disposition", "ETag", "Cache-Control",
                                       "Last-Modified", "Expires", "Accept-Ranges"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        ck_assert_msg(sp_t_header(r, none[i]) == NULL, "%s: %s", none[i],
                      sp_t_header(r, none[i]));
}

static void
assert_range_past_the_end_is_a_bare_problem(const char *url)
{
    const char *req = sp_t_fmt("GET %s HTTP/1.1\r\nHost: localhost\r\nRange: bytes=500-\r\n"
                               "Connection: close\r\n\r\n", url);
    struct sp_t_resp *r = sp_t_raw(req, strlen(req));
    assert_bare_download_problem(r, 416, "range_not_satisfiable");
    ck_assert_int_eq(sp_t_header_count(r, "Content-Range"), 1);
    ck_assert_str_eq(sp_t_header(r, "Content-Range"), sp_t_fmt("bytes */%zu", sizeof(sp_t_png)));
    sp_t_resp_free(r);
}

/* A stored file lost from the directory (a restore without it, a disk
 * error): the signed download is nginx's bare 404 problem, not the file's
 * headers around a problem body. */
START_TEST(a_download_whose_file_is_gone_is_a_bare_404_problem)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_attachment_clean_png(c.token);
    const char *file = sp_t_fmt("%s/%s", getenv("SP_TEST_ATTACHMENT_DIR"), sp_t_sql(
        "SELECT storage_key FROM support_attachments WHERE id = '%s'", id));
    struct sp_t_resp *m = sp_t_get(sp_t_fmt("/support/attachments/%s", id), c.token);
    sp_t_assert_json(m, 200);
    const char *url = sp_t_fmt("%s", sp_t_jstr(m->json, "download_url"));
    sp_t_resp_free(m);
    ck_assert_int_eq(unlink(file), 0);
    struct sp_t_resp *r = sp_t_get(url, NULL);
    assert_bare_download_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(a_clean_upload_downloads_through_nginx_with_safe_headers)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "Überweisung \"März\".png", "image/png", sizeof(sp_t_png));
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 200);
    ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 20), "clean");
    struct sp_t_resp *m = sp_t_get(sp_t_fmt("/support/attachments/%s", u.id), c.token);
    sp_t_assert_json(m, 200);
    const char *url = sp_t_fmt("%s", sp_t_jstr(m->json, "download_url"));
    sp_t_assert_timestamp(sp_t_jstr(m->json, "download_expires_at"));
    ck_assert_int_eq(sp_t_jint(m->json, "size"), sizeof(sp_t_png));
    sp_t_resp_free(m);
    struct sp_t_resp *d = sp_t_get(url, NULL);
    sp_t_assert_status(d, 200);
    ck_assert_uint_eq(d->body_len, sizeof(sp_t_png));
    ck_assert(memcmp(d->body, sp_t_png, sizeof(sp_t_png)) == 0);
    ck_assert_str_eq(sp_t_header(d, "Content-Type"), "image/png");
    ck_assert_str_eq(sp_t_header(d, "X-Content-Type-Options"), "nosniff");
    ck_assert(strstr(sp_t_header(d, "Content-Security-Policy"), "sandbox") != NULL);
    ck_assert_str_eq(sp_t_header(d, "Content-Disposition"),
                     "attachment; filename=\"_berweisung _M_rz_.png\"; "
                     "filename*=UTF-8''%C3%9Cberweisung%20%22M%C3%A4rz%22.png");
    ck_assert(sp_t_header(d, "X-Accel-Redirect") == NULL);
    sp_t_resp_free(d);
    assert_range_past_the_end_is_a_bare_problem(url);
    /* The storage is not reachable from outside. */
    d = sp_t_get("/internal/attachments/x", NULL);
    sp_t_assert_status(d, 404);
    sp_t_resp_free(d);
    /* An altered or expired download URL. */
    d = sp_t_get(signed_path("GET", u.id, sizeof(sp_t_png), time(NULL) - 1), NULL);
    sp_t_assert_problem(d, 403, "url_expired");
    sp_t_resp_free(d);
    d = sp_t_get(signed_path("PUT", u.id, sizeof(sp_t_png), time(NULL) + 60), NULL);
    sp_t_assert_problem(d, 403, "invalid_signature");
    sp_t_resp_free(d);
}
END_TEST

/* A file is saved under a name of the type it was checked to be: a PNG
 * named "photo.html" downloads as "photo.html.png", never as HTML; the
 * metadata keeps the name as given. */
START_TEST(a_file_is_served_under_a_name_of_its_type)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const names[][2] = {
        {"photo.html", "photo.html.png"}, {"Shot.PNG", "Shot.PNG"}, {"scan", "scan.png"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct sp_t_upload u = sp_t_attachment_new(c.token, names[i][0], "image/png",
                                                   sizeof(sp_t_png));
        const char *body;
        ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 200);
        ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 20), "clean");
        struct sp_t_resp *m = sp_t_get(sp_t_fmt("/support/attachments/%s", u.id), c.token);
        sp_t_assert_json(m, 200);
        ck_assert_str_eq(sp_t_jstr(m->json, "filename"), names[i][0]);
        struct sp_t_resp *d = sp_t_get(sp_t_jstr(m->json, "download_url"), NULL);
        sp_t_assert_status(d, 200);
        ck_assert_str_eq(sp_t_header(d, "Content-Disposition"),
                         sp_t_fmt("attachment; filename=\"%s\"; filename*=UTF-8''%s",
                                  names[i][1], names[i][1]));
        sp_t_resp_free(d);
        sp_t_resp_free(m);
    }
}
END_TEST

START_TEST(eicar_is_infected_deleted_and_never_served)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "eicar.txt", "text/plain", strlen(EICAR));
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, EICAR, strlen(EICAR), &body), 200);
    ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 20), "infected");
    struct sp_t_resp *m = sp_t_get(sp_t_fmt("/support/attachments/%s", u.id), c.token);
    sp_t_assert_json(m, 200);
    sp_t_assert_jnull(m->json, "download_url");
    sp_t_resp_free(m);
    ck_assert_ptr_null(sp_t_sql("SELECT storage_key FROM support_attachments WHERE id = '%s'",
                                u.id));
    ck_assert_int_eq(stored_files(u.id), 0);
    struct sp_t_resp *d = sp_t_get(signed_path("GET", u.id, strlen(EICAR), time(NULL) + 60),
                                   NULL);
    sp_t_assert_problem(d, 404, "not_found");
    sp_t_resp_free(d);
    struct sp_t_resp *t = sp_t_post_json(
        "/support/tickets", c.token,
        sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\",\"attachments\":[%s]}",
                 sp_t_jq(u.id)));
    sp_t_assert_invalid(t, "attachments[0]", "attachment_infected");
    sp_t_resp_free(t);
}
END_TEST

START_TEST(clamd_down_keeps_pending_until_it_is_back)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    sp_t_stackctl("stop-clamd");
    struct sp_t_upload u = sp_t_attachment_new(c.token, "later.png", "image/png", sizeof(sp_t_png));
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 200);
    sleep(4);  /* the scanner has tried at least once */
    ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 1), "pending");
    sp_t_stackctl("start-clamd");
    ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 20), "clean");
}
END_TEST

/* --- who sees what, attaching ---------------------------------------------- */

START_TEST(another_customer_gets_404_and_agents_see_it)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "s.png", "image/png", sizeof(sp_t_png));
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/attachments/%s", u.id), other.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_get("/support/attachments/NOSUCHID1234", c.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", u.id), agent.token);
    sp_t_assert_json(r, 200);
    sp_t_assert_jnull(r->json, "download_url");   /* not uploaded yet */
    sp_t_resp_free(r);
}
END_TEST

START_TEST(screenshot_on_a_ticket_reaches_the_agent)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *id = sp_t_attachment_clean_png(c.token);
    const char *pid = sp_t_ticket_with_attachment(&c, "Screenshot", id);
    struct sp_t_resp *t = sp_t_ticket_get(&c, pid);
    struct json_object *msg = json_object_array_get_idx(sp_t_jarr(t->json, "messages"), 0);
    struct json_object *att = json_object_array_get_idx(sp_t_jarr(msg, "attachments"), 0);
    ck_assert_str_eq(sp_t_jstr(att, "id"), id);
    ck_assert_str_eq(sp_t_jstr(att, "filename"), "screenshot.png");
    ck_assert_str_eq(sp_t_jstr(att, "status"), "clean");
    sp_t_resp_free(t);
    /* The agent finds it on the ticket and downloads it. */
    struct sp_t_resp *a = sp_t_agent_ticket(&agent, pid);
    sp_t_resp_free(a);
    struct sp_t_resp *m = sp_t_get(sp_t_fmt("/support/attachments/%s", id), agent.token);
    sp_t_assert_json(m, 200);
    struct sp_t_resp *d = sp_t_get(sp_t_jstr(m->json, "download_url"), NULL);
    sp_t_assert_status(d, 200);
    ck_assert(d->body_len == sizeof(sp_t_png) && memcmp(d->body, sp_t_png, sizeof(sp_t_png)) == 0);
    sp_t_resp_free(d);
    sp_t_resp_free(m);
    /* Attached once only. */
    struct sp_t_resp *again = sp_t_post_json(
        sp_t_fmt("/support/tickets/%s/messages", pid), c.token,
        sp_t_fmt("{\"body\":\"again\",\"attachments\":[%s]}", sp_t_jq(id)));
    sp_t_assert_invalid(again, "attachments[0]", "attachment_in_use");
    sp_t_resp_free(again);
}
END_TEST

/* The attachment as GET /support/attachments/:id answers it, without
 * its download link: the bytes a message lists it as. */
static const char *
listed_as(const char *token, const char *id)
{
    struct sp_t_resp *m = sp_t_get(sp_t_fmt("/support/attachments/%s", id), token);
    sp_t_assert_json(m, 200);
    const char *b = m->body;
    const char *from = strstr(b, ",\"download_url\":"), *to = strstr(b, ",\"redacted\":");
    ck_assert_msg(from != NULL && to != NULL && from < to, "metadata: %s", b);
    const char *out = sp_t_fmt("%.*s%s", (int)(from - b), b, to);
    sp_t_resp_free(m);
    return out;
}

static void
assert_lists(const struct sp_t_resp *r, const char *items)
{
    const char *want = sp_t_fmt("\"attachments\":[%s]", items);
    ck_assert_msg(strstr(r->body, want) != NULL, "wanted %s in %s", want, r->body);
}

/* QA: a message listed its attachments as PostgreSQL writes jsonb
 * ({"id": "…", "size": 17, …}: blanks, keys by length), unlike the rest
 * of the API and unlike GET /support/attachments/:id. Every message view
 * now writes them with the API's writer, in the GET's member order
 * (without the download link), redacted ones too. */
START_TEST(messages_list_attachments_as_the_attachment_get_writes_them)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *first = sp_t_attachment_clean_png(c.token);
    const char *pid = sp_t_ticket_with_attachment(&c, "Files", first);
    const char *listed = listed_as(c.token, first);
    ck_assert_msg(strstr(listed, "\"redacted\":false,\"redacted_at\":null}") != NULL, "%s",
                  listed);
    struct sp_t_resp *r = sp_t_ticket_get(&c, pid);
    assert_lists(r, listed);
    sp_t_resp_free(r);
    r = sp_t_agent_ticket(&agent, pid);
    assert_lists(r, listed);
    sp_t_resp_free(r);

    /* a reply's answer */
    const char *second = sp_t_attachment_clean_png(c.token);
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", pid), c.token,
                       sp_t_fmt("{\"body\":\"one more\",\"attachments\":[%s]}",
                                sp_t_jq(second)));
    sp_t_assert_json(r, 201);
    assert_lists(r, listed_as(c.token, second));
    sp_t_resp_free(r);

    /* redacted: the members its redaction merged into the stored list */
    r = sp_t_post_json(sp_t_fmt("/support/agent/attachments/%s/redact", first), agent.token,
                       "{}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    listed = listed_as(c.token, first);
    ck_assert_msg(strstr(listed, "\"filename\":\"redacted\"") != NULL, "%s", listed);
    r = sp_t_ticket_get(&c, pid);
    assert_lists(r, listed);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(attaching_takes_only_own_clean_unattached_uploads)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "attach rules");
    const char *theirs = sp_t_attachment_clean_png(other.token);
    struct sp_t_upload pending = sp_t_attachment_new(c.token, "p.png", "image/png", sizeof(sp_t_png));
    /* Each refused item says why when the caller can act on it (QA: all
     * were unknown_attachment); another's upload and none are one answer. */
    struct sp_t_upload scanning = sp_t_attachment_new(c.token, "s.png", "image/png", 10);
    struct sp_t_upload failed = sp_t_attachment_new(c.token, "f.png", "image/png", 10);
    sp_t_sql("UPDATE support_attachments SET uploaded_at = now(), next_scan_at = now() + '1 day'"
             " WHERE id IN ('%s', '%s')", scanning.id, failed.id);
    sp_t_sql("UPDATE support_attachments SET status = 'failed' WHERE id = '%s'", failed.id);
    const char *bad[][2] = {{theirs, "unknown_attachment"},
                            {"NOSUCHID1234", "unknown_attachment"},
                            {"12", "unknown_attachment"},
                            {pending.id, "attachment_not_uploaded"},
                            {scanning.id, "attachment_not_ready"},
                            {failed.id, "attachment_scan_failed"}};
    const char *unknown = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_t_resp *r = sp_t_post_json(
            sp_t_fmt("/support/tickets/%s/messages", pid), c.token,
            sp_t_fmt("{\"body\":\"x\",\"attachments\":[%s]}", sp_t_jq(bad[i][0])));
        sp_t_assert_invalid(r, "attachments[0]", bad[i][1]);
        ck_assert_uint_eq(sp_t_error_count(r), 1);
        const char *msg = sp_t_fmt("%s", sp_t_invalid_message(r, "attachments[0]"));
        if (i == 0)
            unknown = msg;
        if (strcmp(bad[i][1], "unknown_attachment") == 0)
            ck_assert_str_eq(msg, unknown);
        if (strcmp(bad[i][1], "attachment_not_ready") == 0)
            ck_assert_ptr_nonnull(strstr(msg, "retry shortly"));
        sp_t_resp_free(r);
    }
    const char *mine = sp_t_attachment_clean_png(c.token);
    struct sp_t_resp *r = sp_t_post_json(
        sp_t_fmt("/support/tickets/%s/messages", pid), c.token,
        sp_t_fmt("{\"body\":\"x\",\"attachments\":[%s,%s]}", sp_t_jq(mine), sp_t_jq(mine)));
    sp_t_assert_invalid(r, "attachments[1]", "duplicate");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    /* QA: [P,P] listed [1] duplicate before [0]: the errors come by item */
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", pid), c.token,
                       sp_t_fmt("{\"body\":\"x\",\"attachments\":[%s,%s]}",
                                sp_t_jq(pending.id), sp_t_jq(pending.id)));
    struct json_object *errors = sp_t_jarr(r->json, "errors");
    ck_assert_uint_eq(json_object_array_length(errors), 2);
    for (size_t i = 0; i < 2; i++) {
        struct json_object *e = json_object_array_get_idx(errors, i);
        ck_assert_str_eq(sp_t_jstr(e, "field"), sp_t_fmt("attachments[%zu]", i));
        ck_assert_str_eq(sp_t_jstr(e, "code"), i == 0 ? "attachment_not_uploaded" : "duplicate");
    }
    sp_t_resp_free(r);
    /* With another field's error the list is checked by the same rules in
     * the one 422 (API.md §1): a pending upload is refused, the clean one
     * is not, and neither is attached. */
    const char *lists[] = {sp_t_fmt("%s,%s", sp_t_jq(mine), sp_t_jq(pending.id)),
                           sp_t_jq(mine)};
    for (size_t i = 0; i < 2; i++) {
        r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", pid), c.token,
                           sp_t_fmt("{\"body\":\"<script>x</script>\",\"attachments\":[%s]}",
                                    lists[i]));
        sp_t_assert_invalid(r, "body", "empty");
        if (i == 0)
            sp_t_assert_invalid(r, "attachments[1]", "attachment_not_uploaded");
        ck_assert_uint_eq(sp_t_error_count(r), 2 - i);
        sp_t_resp_free(r);
    }
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", pid), c.token,
                       sp_t_fmt("{\"body\":\"x\",\"attachments\":[%s]}", sp_t_jq(mine)));
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r->json, "attachments")), 1);
    sp_t_resp_free(r);
    /* An agent's reply with the agent's file; the customer may fetch it. */
    const char *agents = sp_t_attachment_clean_png(agent.token);
    r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", pid), agent.token,
                       sp_t_fmt("{\"body\":\"here\",\"attachments\":[%s]}", sp_t_jq(agents)));
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r->json, "attachments")), 1);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", agents), c.token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", agents), other.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

/* id in lower case: the same upload (public ids are case-insensitive). */
static const char *
lower(const char *id)
{
    char *out = (char *)sp_t_fmt("%s", id);
    for (char *c = out; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    return out;
}

/* QA: an upload listed twice (in one case or two) was 422
 * unknown_attachment, "not a clean, unattached upload of yours", which it
 * is. It is the item's error, attachments[1] duplicate, as a tag listed
 * twice is, alongside the body's errors and the list's other faults, on
 * a create, a customer's reply and an agent's; nothing is attached. */
START_TEST(an_upload_listed_twice_is_a_duplicate_item)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "twice");
    const char *mine = sp_t_attachment_clean_png(c.token);
    const char *twice = sp_t_fmt("%s,%s", sp_t_jq(mine), sp_t_jq(lower(mine)));
    struct sp_t_resp *r = sp_t_post_json(
        "/support/tickets", c.token,
        sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\",\"attachments\":[%s]}", twice));
    sp_t_assert_invalid(r, "attachments[1]", "duplicate");
    ck_assert_str_eq(sp_t_invalid_message(r, "attachments[1]"),
                     "lists an attachment already listed (ids are case-insensitive)");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    /* With the body's error, and another id that is no upload of theirs. */
    const char *path = sp_t_fmt("/support/tickets/%s/messages", pid);
    r = sp_t_post_json(path, c.token,
                       sp_t_fmt("{\"body\":\"<script>x</script>\",\"attachments\":[%s,%s]}",
                                twice, sp_t_jq("NOSUCHID1234")));
    sp_t_assert_invalid(r, "body", "empty");
    sp_t_assert_invalid(r, "attachments[1]", "duplicate");
    sp_t_assert_invalid(r, "attachments[2]", "unknown_attachment");
    ck_assert_uint_eq(sp_t_error_count(r), 3);
    sp_t_resp_free(r);
    /* A valid body: the write refuses the list, the other ids looked up. */
    const char *lists[] = {twice, sp_t_fmt("%s,%s,%s", twice, sp_t_jq("NOSUCHID1234"),
                                           sp_t_jq(mine))};
    for (size_t i = 0; i < 2; i++) {
        r = sp_t_post_json(path, c.token,
                           sp_t_fmt("{\"body\":\"x\",\"attachments\":[%s]}", lists[i]));
        sp_t_assert_invalid(r, "attachments[1]", "duplicate");
        if (i == 1) {
            sp_t_assert_invalid(r, "attachments[2]", "unknown_attachment");
            sp_t_assert_invalid(r, "attachments[3]", "duplicate");
        }
        ck_assert_uint_eq(sp_t_error_count(r), 1 + 2 * i);
        sp_t_resp_free(r);
    }
    const char *agents = sp_t_attachment_clean_png(agent.token);
    r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", pid), agent.token,
                       sp_t_fmt("{\"body\":\"here\",\"attachments\":[%s,%s]}",
                                sp_t_jq(lower(agents)), sp_t_jq(agents)));
    sp_t_assert_invalid(r, "attachments[1]", "duplicate");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id IN ('%s', '%s')"
                              " AND message_id IS NULL", mine, agents), "2");
    /* Listed once, each is taken. */
    r = sp_t_post_json(path, c.token,
                       sp_t_fmt("{\"body\":\"x\",\"attachments\":[%s]}", sp_t_jq(lower(mine))));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
}
END_TEST

/* Customers and staff are numbered apart (QA: agent 7150's upload on an
 * internal note was customer 7150's to read and to attach): an upload is
 * its side's — a customer's, or a staff member's, support_agent and
 * support_admin alike (an agent made admin keeps their uploads). */
START_TEST(a_customer_and_staff_with_one_sub_own_their_uploads_apart)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_user twin = {agent.sub, sp_t_token(SP_ROLE_CUSTOMER, agent.sub),
                             SP_ROLE_CUSTOMER};
    const char *admin = sp_t_token(SP_ROLE_ADMIN, agent.sub);
    const char *staffs = sp_t_attachment_clean_png(agent.token);
    const char *theirs = sp_t_attachment_clean_png(twin.token);
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/attachments/%s", staffs), twin.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    const char *pid = sp_t_ticket_create(&twin, "twins");
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", pid), twin.token,
                       sp_t_fmt("{\"body\":\"x\",\"attachments\":[%s]}", sp_t_jq(staffs)));
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    sp_t_resp_free(r);
    r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", pid), agent.token,
                       sp_t_fmt("{\"body\":\"x\",\"attachments\":[%s]}", sp_t_jq(theirs)));
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    sp_t_resp_free(r);
    /* The agent, now admin, puts the file on an internal note: still
     * hidden from the customer with the same sub. */
    r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", pid), admin,
                       sp_t_fmt("{\"body\":\"note\",\"is_internal\":true,\"attachments\":[%s]}",
                                sp_t_jq(staffs)));
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r->json, "attachments")), 1);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", staffs), twin.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    /* The customer's own file stays the customer's. */
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", pid), twin.token,
                       sp_t_fmt("{\"body\":\"x\",\"attachments\":[%s]}", sp_t_jq(theirs)));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", theirs), twin.token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* SUPPORT_ATTACHMENT_RATE_PER_MINUTE (30) per user, with the RateLimit
 * headers of every limit; staff with the same sub count apart. */
START_TEST(creates_are_rate_limited_per_user)
{
    sp_t_away_from_window_edges(15, 60);
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *body = "{\"filename\":\"a.png\",\"content_type\":\"image/png\",\"size\":67}";
    for (int i = 0; i < 30; i++) {
        struct sp_t_resp *r = sp_t_post_json("/support/attachments", c.token, body);
        sp_t_assert_json(r, 201);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Limit"), 30);
        ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 29 - i);
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_post_json("/support/attachments", c.token, body);
    sp_t_assert_problem(r, 429, "rate_limited");
    long retry = sp_t_header_num(r, "Retry-After");
    ck_assert_msg(retry >= 1 && retry <= 60, "Retry-After %ld", retry);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 0);
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/attachments", sp_t_token(SP_ROLE_AGENT, c.sub), body);
    sp_t_assert_json(r, 201);
    ck_assert_int_eq(sp_t_header_num(r, "RateLimit-Remaining"), 29);
    sp_t_resp_free(r);
}
END_TEST

/* --- jobs and memory ------------------------------------------------------- */

/* Writes dir/name, two hours old (past the orphan age); its path. */
static const char *
old_file(const char *dir, const char *name)
{
    const char *path = sp_t_fmt("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "important\n", 10), 10);
    close(fd);
    struct timespec old[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
    return path;
}

START_TEST(cleanup_removes_stale_rows_and_orphan_files)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload stale = sp_t_attachment_new(c.token, "never.png", "image/png", 10);
    sp_t_sql("UPDATE support_attachments SET created_at = now() - interval '25 hours'"
             " WHERE id = '%s'", stale.id);
    struct sp_t_upload fresh = sp_t_attachment_new(c.token, "soon.png", "image/png", 10);
    const char *kept = sp_t_attachment_clean_png(c.token);
    const char *dir = getenv("SP_TEST_ATTACHMENT_DIR");
    char id[SP_PUBLIC_ID_LEN + 1];
    sp_public_id(id);
    const char *orphan = old_file(dir, sp_t_fmt("%s.0123456789abcdef", id));
    const char *env[] = {sp_t_fmt("SUPPORT_ATTACHMENT_DIR=%s", dir), NULL};
    const char *args[] = {"--once", NULL}, *dry[] = {"--once", "--dry-run", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, dry, &out), 0);
    ck_assert_int_eq(access(orphan, F_OK), 0);
    ck_assert_ptr_nonnull(strstr(out, sp_t_fmt("\"file\":\"%s\"", orphan)));
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, args, &out), 0);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id IN"
                              " ('%s', '%s', '%s')", stale.id, fresh.id, kept), "2");
    ck_assert_int_ne(access(orphan, F_OK), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"event\":\"attachment_orphan_deleted\""));
    ck_assert_ptr_nonnull(strstr(out, sp_t_fmt("\"file\":\"%s\"", orphan)));
    const char *key = sp_t_sql("SELECT storage_key FROM support_attachments WHERE id = '%s'",
                               kept);
    ck_assert_int_eq(access(sp_t_fmt("%s/%s", dir, key), F_OK), 0);
}
END_TEST

/* One run at a time (API.md §12; QA: two at once both deleted, and both
 * counted, the same rows): while another holds the lock a run does
 * nothing and exits 0. */
START_TEST(cleanup_runs_one_at_a_time)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload stale = sp_t_attachment_new(c.token, "never.png", "image/png", 10);
    sp_t_sql("UPDATE support_attachments SET created_at = now() - interval '25 hours'"
             " WHERE id = '%s'", stale.id);
    const char *env[] = {sp_t_fmt("SUPPORT_ATTACHMENT_DIR=%s", getenv("SP_TEST_ATTACHMENT_DIR")),
                         NULL};
    const char *args[] = {"--once", NULL};
    const char *out;
    sp_t_sql("SELECT pg_advisory_lock(%lld)", SP_ATTACHMENT_CLEANUP_LOCK_KEY);
    int rc = sp_t_job_run("attachment-cleanup", env, args, &out);
    sp_t_sql("SELECT pg_advisory_unlock(%lld)", SP_ATTACHMENT_CLEANUP_LOCK_KEY);
    ck_assert_msg(rc == 0 && strstr(out, "attachment_cleanup_busy") != NULL, "%d %s", rc, out);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'",
                              stale.id), "1");
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, args, &out), 0);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'",
                              stale.id), "0");
}
END_TEST

/* The directory may hold what is not ours (QA: an old notes.txt was
 * deleted): only names shaped like a stored key are ever deleted; the
 * others are counted as foreign, and stay. */
START_TEST(cleanup_leaves_files_that_are_no_stored_attachment)
{
    const char *dir = getenv("SP_TEST_ATTACHMENT_DIR");
    char id[SP_PUBLIC_ID_LEN + 1];
    sp_public_id(id);
    const char *foreign[] = {
        old_file(dir, "notes.txt"), old_file(dir, "other.conf"),
        old_file(dir, sp_t_fmt("%s.0123456789ABCDEF", id)),   /* upper-case hex */
        old_file(dir, sp_t_fmt("%s.0123456789abcdef0", id)),  /* one digit too many */
        old_file(dir, sp_t_fmt("%s.0123456789abcdef.bak", id)),
        old_file(dir, "ILLEGAL0000A.0123456789abcdef"),       /* no attachment id */
    };
    const char *sub = sp_t_fmt("%s/sub%d", dir, (int)getpid());
    ck_assert_int_eq(mkdir(sub, 0750), 0);
    const char *inner = old_file(sub, sp_t_fmt("%s.0123456789abcdef", id));
    const char *env[] = {sp_t_fmt("SUPPORT_ATTACHMENT_DIR=%s", dir), NULL};
    const char *args[] = {"--once", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, args, &out), 0);
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        ck_assert_msg(access(foreign[i], F_OK) == 0, "%s was deleted", foreign[i]);
        unlink(foreign[i]);
    }
    ck_assert_int_eq(access(inner, F_OK), 0);
    unlink(inner);
    rmdir(sub);
    ck_assert_ptr_nonnull(strstr(out, "\"event\":\"attachment_dir_foreign\""));
    ck_assert_ptr_nonnull(strstr(out, "\"foreign\":6"));
}
END_TEST

/* An upload attached to nothing is kept SUPPORT_ATTACHMENT_UNATTACHED_HOURS
 * (24) after its upload, then the job deletes its row and its file (QA:
 * kept forever); an attached one, or a younger one, stays. */
START_TEST(cleanup_removes_uploads_attached_to_nothing_with_their_files)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *dir = getenv("SP_TEST_ATTACHMENT_DIR");
    const char *unused = sp_t_attachment_clean_png(c.token);
    const char *young = sp_t_attachment_clean_png(c.token);
    const char *used = sp_t_attachment_clean_png(c.token);
    /* An infected upload keeps its row (API.md §10), its file gone. */
    const char *infected = sp_t_attachment_clean_png(c.token);
    sp_t_sql("UPDATE support_attachments SET status = 'infected', storage_key = NULL,"
             " uploaded_at = now() - interval '25 hours' WHERE id = '%s'", infected);
    sp_t_ticket_create_json(&c, sp_t_fmt("{\"subject\":\"kept\",\"description\":\"x\","
                                         "\"attachments\":[%s]}", sp_t_jq(used)));
    const char *unused_file = sp_t_fmt("%s/%s", dir, sp_t_sql(
        "SELECT storage_key FROM support_attachments WHERE id = '%s'", unused));
    sp_t_sql("UPDATE support_attachments SET uploaded_at = now() - interval '25 hours'"
             " WHERE id IN ('%s', '%s')", unused, used);
    sp_t_sql("UPDATE support_attachments SET uploaded_at = now() - interval '23 hours'"
             " WHERE id = '%s'", young);
    const char *env[] = {sp_t_fmt("SUPPORT_ATTACHMENT_DIR=%s", dir), NULL};
    const char *dry[] = {"--once", "--dry-run", NULL}, *args[] = {"--once", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, dry, &out), 0);
    ck_assert_int_eq(access(unused_file, F_OK), 0);
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, args, &out), 0);
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(id, ',' ORDER BY id = '%s') FROM"
                              " support_attachments WHERE id IN ('%s', '%s', '%s')",
                              used, unused, young, used),
                     sp_t_fmt("%s,%s", young, used));
    ck_assert_int_ne(access(unused_file, F_OK), 0);
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_attachments WHERE id = '%s'",
                              infected), "infected");
    ck_assert_int_eq(stored_files(young), 1);
    ck_assert_int_eq(stored_files(used), 1);
    /* A retention of 22 hours takes the younger one too. */
    const char *env22[] = {env[0], "SUPPORT_ATTACHMENT_UNATTACHED_HOURS=22", NULL};
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env22, args, &out), 0);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'",
                              young), "0");
    ck_assert_int_eq(stored_files(young), 0);
}
END_TEST

/* An attach in flight (its UPDATE holds the row until it commits) is not
 * undone by the cleanup running meanwhile: the job waits, sees the row
 * attached, and leaves it and its file. */
START_TEST(cleanup_leaves_an_upload_whose_attach_is_in_flight)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *dir = getenv("SP_TEST_ATTACHMENT_DIR");
    const char *id = sp_t_attachment_clean_png(c.token);
    const char *pid = sp_t_ticket_create(&c, "racing");
    sp_t_sql("UPDATE support_attachments SET uploaded_at = now() - interval '25 hours'"
             " WHERE id = '%s'", id);
    const char *msg = sp_t_sql("SELECT min(m.id) FROM support_ticket_messages m JOIN"
                               " support_tickets t ON t.id = m.ticket_id"
                               " WHERE t.public_id = '%s'", pid);
    PGconn *tx = sp_t_tx_hold(sp_t_fmt("UPDATE support_attachments SET message_id = %s,"
                                       " attached_at = now() WHERE id = '%s'", msg, id));
    const char *env[] = {sp_t_fmt("SUPPORT_ATTACHMENT_DIR=%s", dir), NULL};
    const char *args[] = {"--once", NULL};
    struct sp_t_job job;
    sp_t_job_start(&job, "attachment-cleanup", env, args);
    sleep(2);   /* the job is at the row, waiting for the attach */
    sp_t_tx_release(tx);
    const char *out;
    ck_assert_int_eq(sp_t_job_wait(&job, &out), 0);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'"
                              " AND message_id IS NOT NULL", id), "1");
    ck_assert_int_eq(stored_files(id), 1);
}
END_TEST

static long
rss_kb(pid_t pid)
{
    FILE *f = fopen(sp_t_fmt("/proc/%d/status", (int)pid), "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

START_TEST(a_25_mib_upload_leaves_worker_memory_flat)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    size_t n = 25u * 1024 * 1024;
    char *data = malloc(n);
    ck_assert(data != NULL);
    for (size_t i = 0; i < n; i++)
        data[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "big.txt", "text/plain", n);
    /* Every worker has stored an upload before: what is measured is the
     * big one, not a worker's first request. */
    for (int i = 0; i < 8; i++) {
        struct sp_t_upload w = sp_t_attachment_new(c.token, "warm.txt", "text/plain", 128 * 1024);
        const char *body;
        ck_assert_int_eq(sp_t_put_bytes(w.url, data, 128 * 1024, &body), 200);
    }
    pid_t kids[64];
    size_t nk = sp_t_children(sp_t_master_pid("support-api"), kids, 64);
    ck_assert_uint_gt(nk, 0);
    long before[64];
    for (size_t i = 0; i < nk; i++)
        before[i] = rss_kb(kids[i]);
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, data, n, &body), 200);
    free(data);
    for (size_t i = 0; i < nk; i++) {
        long after = rss_kb(kids[i]);
        if (before[i] < 0 || after < 0)
            continue;   /* a worker that retired meanwhile */
        /* Under ASan freed memory sits in quarantine, so libmagic's
         * per-file buffers count too; a body read into memory would be
         * 25 MiB and more. */
        ck_assert_msg(after - before[i] < 12 * 1024, "worker %d grew from %ld to %ld kB",
                      (int)kids[i], before[i], after);
    }
    ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 60), "clean");
}
END_TEST


/* --- key rotation (SIGHUP) ------------------------------------------------- */

static char boot_keys[1024];

static void
write_attachment_keys(const char *keys)
{
    FILE *f = fopen(getenv("SP_TEST_ATTACHMENT_KEYS_FILE"), "w");
    ck_assert(f != NULL);
    fprintf(f, "%s\n", keys);
    ck_assert_int_eq(fclose(f), 0);
}

/* The kid a signed URL names. */
static const char *
kid_of(const char *url)
{
    const char *k = strstr(url, "kid=");
    ck_assert(k != NULL);
    k += 4;
    return sp_t_fmt("%.*s", (int)strcspn(k, "&"), k);
}

/* url answers status to 16 GETs in a row (several per worker). */
static void
assert_url_answers(const char *url, long status, const char *what)
{
    for (int i = 0; i < 16; i++) {
        struct sp_t_resp *d = sp_t_get(url, NULL);
        ck_assert_msg(d->status == status, "%s: %ld, not %ld", what, d->status, status);
        if (status == 403)
            sp_t_assert_problem(d, 403, "invalid_signature");
        sp_t_resp_free(d);
    }
}

static const char *
download_url_of(const char *token, const char *id)
{
    return sp_t_attachment_field(token, id, "download_url");
}

START_TEST(sighup_rotates_the_url_keyring)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_attachment_clean_png(c.token);
    const char *old_download = download_url_of(c.token, id);
    struct sp_t_upload pending = sp_t_attachment_new(c.token, "later.png", "image/png", sizeof(sp_t_png));
    struct sp_t_upload late = sp_t_attachment_new(c.token, "too-late.png", "image/png", sizeof(sp_t_png));
    const char *old_kid = kid_of(old_download);
    ck_assert_str_eq(kid_of(pending.url), old_kid);

    /* A new key signs; the old one still verifies. */
    const char *boot = sp_t_fmt("%.*s", (int)strcspn(boot_keys, "\n"), boot_keys);
    write_attachment_keys(sp_t_fmt("r2:%s,%s", sp_t_repeat("k", 40), boot));
    ck_assert(sp_t_api_reload());
    assert_url_answers(old_download, 200, "the old key while still in the ring");
    const char *new_download = download_url_of(c.token, id);
    ck_assert_str_eq(kid_of(new_download), "r2");
    assert_url_answers(new_download, 200, "the new key");
    struct sp_t_upload fresh = sp_t_attachment_new(c.token, "fresh.png", "image/png", sizeof(sp_t_png));
    ck_assert_str_eq(kid_of(fresh.url), "r2");
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(pending.url, sp_t_png, sizeof(sp_t_png), &body), 200);

    /* The old key leaves the ring: what it signed is refused. */
    write_attachment_keys(sp_t_fmt("r2:%s", sp_t_repeat("k", 40)));
    ck_assert(sp_t_api_reload());
    assert_url_answers(old_download, 403, "the removed key");
    assert_url_answers(new_download, 200, "the new key after the removal");
    ck_assert_int_eq(sp_t_put_bytes(late.url, sp_t_png, sizeof(sp_t_png), &body), 403);
    ck_assert(strstr(body, "invalid_signature") != NULL);
    ck_assert_int_eq(sp_t_put_bytes(fresh.url, sp_t_png, sizeof(sp_t_png), &body), 200);
}
END_TEST

/* In the parent: the runner's keyring goes back, whatever the test did,
 * before the next test program. */
static void
save_attachment_keys(void)
{
    FILE *f = fopen(getenv("SP_TEST_ATTACHMENT_KEYS_FILE"), "r");
    if (f == NULL)
        return;
    size_t len = fread(boot_keys, 1, sizeof(boot_keys) - 1, f);
    boot_keys[len] = '\0';
    fclose(f);
}

static void
restore_attachment_keys(void)
{
    FILE *f = fopen(getenv("SP_TEST_ATTACHMENT_KEYS_FILE"), "w");
    if (f == NULL)
        return;
    fputs(boot_keys, f);
    fclose(f);
    (void)sp_t_api_reload();
}

int
main(void)
{
    Suite *s = suite_create("attachments");
    TCase *tc = sp_t_tcase(s, "attachments");
    tcase_add_test(tc, create_validates_name_type_and_size);
    tcase_add_test(tc, a_download_whose_file_is_gone_is_a_bare_404_problem);
    tcase_add_test(tc, blank_names_are_refused_and_edges_trimmed);
    tcase_add_test(tc, create_reports_every_field_error_at_once);
    tcase_add_test(tc, content_types_are_normalised_to_an_allowed_media_type);
    tcase_add_test(tc, tampered_expired_and_foreign_signatures_are_403);
    tcase_add_test(tc, signed_urls_take_the_id_in_any_case);
    tcase_add_test(tc, wrong_size_wrong_type_and_second_upload_are_refused);
    tcase_add_test(tc, text_that_names_markup_is_taken_as_declared);
    tcase_add_test(tc, short_text_is_taken_and_text_must_be_utf8);
    tcase_add_test(tc, names_with_format_characters_are_refused);
    tcase_add_test(tc, a_wrong_announced_size_is_refused_before_the_body_is_read);
    tcase_add_test(tc, a_wrong_size_expecting_100_continue_gets_the_refusal_first);
    tcase_add_test(tc, an_unsigned_upload_is_refused_before_its_body_is_read);
    tcase_add_test(tc, a_replayed_create_answers_the_row_as_it_is_now);
    tcase_add_test(tc, migration_061_drops_the_upload_urls_keys_kept);
    tcase_add_test(tc, a_clean_upload_downloads_through_nginx_with_safe_headers);
    tcase_add_test(tc, a_file_is_served_under_a_name_of_its_type);
    tcase_add_test(tc, eicar_is_infected_deleted_and_never_served);
    tcase_add_test(tc, clamd_down_keeps_pending_until_it_is_back);
    tcase_add_test(tc, another_customer_gets_404_and_agents_see_it);
    tcase_add_test(tc, screenshot_on_a_ticket_reaches_the_agent);
    tcase_add_test(tc, messages_list_attachments_as_the_attachment_get_writes_them);
    tcase_add_test(tc, attaching_takes_only_own_clean_unattached_uploads);
    tcase_add_test(tc, an_upload_listed_twice_is_a_duplicate_item);
    tcase_add_test(tc, a_customer_and_staff_with_one_sub_own_their_uploads_apart);
    tcase_add_test(tc, creates_are_rate_limited_per_user);
    tcase_add_test(tc, cleanup_removes_stale_rows_and_orphan_files);
    tcase_add_test(tc, cleanup_leaves_files_that_are_no_stored_attachment);
    tcase_add_test(tc, cleanup_runs_one_at_a_time);
    tcase_add_test(tc, cleanup_removes_uploads_attached_to_nothing_with_their_files);
    tcase_add_test(tc, cleanup_leaves_an_upload_whose_attach_is_in_flight);
    tcase_add_test(tc, a_25_mib_upload_leaves_worker_memory_flat);
    /* Its own case: the parent restores the keyring it rotates. */
    tc = sp_t_tcase(s, "rotation");
    tcase_add_unchecked_fixture(tc, save_attachment_keys, restore_attachment_keys);
    tcase_add_test(tc, sighup_rotates_the_url_keyring);
    return sp_t_run(s);
}
