/*
 * test_articles: the knowledge base over JSON (API.md §8 and §6) through
 * the real stack: admin CRUD (201 with the rendered article, slug_taken,
 * validation of every field, If-Match → 412, publish/unpublish, delete),
 * who may call what, the public reads (drafts are 404, ETag + 304,
 * Cache-Control; the ETag names the article, so a reused slug gets a new
 * one), full-text search (relevance with <mark> snippets whose
 * text is escaped, title above body, tags, cursors), markdown that tries
 * to smuggle script into the stored HTML, and nginx's micro-cache
 * (anonymous reads HIT, authenticated ones BYPASS, an unpublish shows
 * within the max-age).
 *
 * Every article has words of its own (sp_t_unique), so searches see only
 * this test's articles whatever else the run created.
 */
#include "harness.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/utf8.h"

static const char *
slug(void)
{
    return sp_t_unique("kb");
}

/* Creates an article; returns its admin JSON (freed with the response). */
static struct sp_t_resp *
create(const char *slug_, const char *title, const char *md, const char *extra)
{
    struct sp_t_resp *r = sp_t_admin("POST", "/support/admin/articles",
                                sp_t_fmt("{\"slug\":%s,\"title\":%s,\"content_markdown\":%s%s%s}",
                                         sp_t_jq(slug_), sp_t_jq(title), sp_t_jq(md),
                                         extra ? "," : "", extra ? extra : ""));
    sp_t_assert_json(r, 201);
    return r;
}

static int64_t
create_id(const char *slug_, const char *title, const char *md, const char *extra)
{
    struct sp_t_resp *r = create(slug_, title, md, extra);
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    return id;
}

static struct sp_t_resp *
public_get(const char *slug_, const char *const *headers)
{
    return sp_t_request("GET", sp_t_fmt("/support/articles/%s", slug_), NULL, NULL, NULL,
                        headers);
}

static struct sp_t_resp *
search(const char *query)
{
    return sp_t_get(sp_t_fmt("/support/articles?%s", query), NULL);
}

START_TEST(create_renders_markdown_and_answers_the_admin_view)
{
    const char *s = slug();
    struct sp_t_resp *r = create(s, "Refunds and returns",
                                 "How to get **money back**.\n\nSecond ~~para~~.\n\n"
                                 "| a | b |\n|---|---|\n| 1 | 2 |\n",
                                 "\"tags\":[\"billing\",\"refunds\"]");
    struct json_object *a = r->json;
    ck_assert_int_gt(sp_t_jint(a, "id"), 0);
    ck_assert_str_eq(sp_t_jstr(a, "slug"), s);
    ck_assert_str_eq(sp_t_jstr(a, "title"), "Refunds and returns");
    ck_assert_str_eq(sp_t_jstr(a, "summary"), "How to get money back.");
    ck_assert_str_eq(sp_t_jstr(a, "status"), "draft");
    ck_assert_msg(strstr(sp_t_jstr(a, "html"), "<strong>money back</strong>") != NULL, "html");
    ck_assert_msg(strstr(sp_t_jstr(a, "html"), "<del>para</del>") != NULL, "strikethrough");
    ck_assert_msg(strstr(sp_t_jstr(a, "html"), "<table>") != NULL, "table");
    ck_assert_str_eq(json_object_to_json_string_ext(sp_t_jget(a, "tags"), JSON_C_TO_STRING_PLAIN),
                     "[\"billing\",\"refunds\"]");
    ck_assert_int_eq(sp_t_jint(a, "version"), 1);
    ck_assert_ptr_null(sp_t_jget(a, "published_at"));
    sp_t_assert_timestamp(sp_t_jstr(a, "created_at"));
    ck_assert_str_eq(sp_t_header(r, "ETag"),
                     sp_t_fmt("\"%lld-v1\"", (long long)sp_t_jint(a, "id")));
    ck_assert_str_eq(sp_t_header(r, "Location"),
                     sp_t_fmt("/support/admin/articles/%lld", (long long)sp_t_jint(a, "id")));

    /* A draft is not public. */
    struct sp_t_resp *g = public_get(s, NULL);
    sp_t_assert_problem(g, 404, "not_found");
    sp_t_resp_free(g);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(validation_conflicts_and_roles)
{
    const char *s = slug();
    sp_t_resp_free(create(s, "First", "x", NULL));
    struct sp_t_resp *r = sp_t_admin("POST", "/support/admin/articles",
                                sp_t_fmt("{\"slug\":%s,\"title\":\"t\",\"content_markdown\":\"y\"}",
                                         sp_t_jq(s)));
    sp_t_assert_problem(r, 409, "slug_taken");
    sp_t_resp_free(r);

    static const struct {
        const char *body, *field, *code;
    } bad[] = {
        {"{\"slug\":\"Bad Slug\",\"title\":\"t\",\"content_markdown\":\"x\"}", "slug", "invalid"},
        {"{\"title\":\"t\",\"content_markdown\":\"x\"}", "slug", "required"},
        {"{\"slug\":\"ok-1\",\"content_markdown\":\"x\"}", "title", "required"},
        {"{\"slug\":\"ok-1\",\"title\":\"t\"}", "content_markdown", "required"},
        {"{\"slug\":\"ok-1\",\"title\":\"t\",\"content_markdown\":\"x\",\"tags\":[\"A B\"]}",
         "tags[0]", "invalid"},
        {"{\"slug\":\"ok-1\",\"title\":\"t\",\"content_markdown\":\"x\",\"tags\":[1]}", "tags",
         "wrong_type"},
        {"{\"slug\":\"ok-1\",\"title\":\"t\",\"content_markdown\":\"x\",\"tags\":[\"a\",\"a\"]}",
         "tags[1]", "duplicate"},
        {"{\"slug\":\"ok-1\",\"title\":\"t\",\"content_markdown\":\"x\",\"is_published\":1}",
         "is_published", "wrong_type"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = sp_t_admin("POST", "/support/admin/articles", bad[i].body);
        sp_t_assert_invalid(r, bad[i].field, bad[i].code);
        /* API.md §1's wording (it said "the article has invalid fields"). */
        ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the request body has invalid fields");
        sp_t_resp_free(r);
    }
    /* 200 KiB of markdown is the most. */
    r = sp_t_admin("POST", "/support/admin/articles",
              sp_t_fmt("{\"slug\":%s,\"title\":\"t\",\"content_markdown\":\"%s\"}",
                       sp_t_jq(slug()), sp_t_repeat("\\u00e9", 102401)));
    sp_t_assert_invalid(r, "content_markdown", "too_long");
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/articles",
              sp_t_fmt("{\"slug\":%s,\"title\":%s,\"content_markdown\":\"x\"}", sp_t_jq(slug()),
                       sp_t_jq(sp_t_repeat("t", 201))));
    sp_t_assert_invalid(r, "title", "too_long");
    sp_t_resp_free(r);
    /* the limit is the stored title's: the blanks around do not count */
    r = sp_t_admin("POST", "/support/admin/articles",
              sp_t_fmt("{\"slug\":%s,\"title\":\"  %s \",\"content_markdown\":\"x\"}",
                       sp_t_jq(slug()), sp_t_repeat("t", 200)));
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_jstr(r->json, "title"), sp_t_repeat("t", 200));
    sp_t_resp_free(r);

    /* Admin only; nothing is created otherwise. */
    const char *body = sp_t_fmt("{\"slug\":%s,\"title\":\"t\",\"content_markdown\":\"x\"}",
                                sp_t_jq(s));
    r = sp_t_post_json("/support/admin/articles", NULL, body);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/admin/articles", sp_t_user_new(SP_ROLE_AGENT).token, body);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    r = sp_t_get("/support/admin/articles", sp_t_user_new(SP_ROLE_CUSTOMER).token);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(publish_etag_304_if_match_and_delete)
{
    const char *s = slug(), *w = sp_t_unique_word();
    int64_t id = create_id(s, "Shipping times", sp_t_fmt("Parcels %s arrive fast.", w), NULL);
    const char *path = sp_t_fmt("/support/admin/articles/%lld", (long long)id);
    const char *const if_v7[] = {sp_t_fmt("If-Match: \"%lld-v7\"", (long long)id), NULL};
    const char *const if_v1[] = {sp_t_fmt("If-Match: \"%lld-v1\"", (long long)id), NULL};
    const char *const if_v2[] = {sp_t_fmt("If-Match: \"%lld-v2\"", (long long)id), NULL};
    const char *const none_match[] = {
        sp_t_fmt("If-None-Match: \"%lld-v1\", W/\"%lld-v2\"", (long long)id, (long long)id),
        NULL};

    /* A stale If-Match changes nothing. */
    struct sp_t_resp *r = sp_t_request("PATCH", path, sp_t_admin_token(), SP_T_JSON,
                                       "{\"is_published\":true}",
                                       if_v7);
    sp_t_assert_problem(r, 412, "precondition_failed");
    sp_t_resp_free(r);
    r = sp_t_request("PATCH", path, sp_t_admin_token(), SP_T_JSON, "{\"is_published\":true}",
                     if_v1);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "published");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 2);
    sp_t_assert_recent(sp_t_jstr(r->json, "published_at"));
    sp_t_resp_free(r);

    r = public_get(s, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "slug"), s);
    ck_assert_msg(strstr(sp_t_jstr(r->json, "html"), w) != NULL, "html has the text");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 2);
    ck_assert_msg(!sp_t_jhas(r->json, "content_markdown"), "no markdown in the public view");
    ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v2\"", (long long)id));
    ck_assert_str_eq(sp_t_header(r, "Cache-Control"), "public, max-age=60");
    sp_t_resp_free(r);
    r = public_get(s, none_match);
    sp_t_assert_status(r, 304);
    ck_assert_uint_eq(r->body_len, 0);
    sp_t_resp_free(r);

    /* An edit is a new version: the old ETag no longer matches. */
    r = sp_t_admin("PATCH", path, "{\"title\":\"Shipping times (updated)\"}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 3);
    sp_t_resp_free(r);
    r = sp_t_admin("GET", path, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "content_markdown"), sp_t_fmt("Parcels %s arrive fast.", w));
    ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v3\"", (long long)id));
    sp_t_resp_free(r);

    r = sp_t_request("DELETE", path, sp_t_admin_token(), NULL, NULL,
                     if_v2);
    sp_t_assert_problem(r, 412, "precondition_failed");
    sp_t_resp_free(r);
    r = sp_t_admin("DELETE", path, NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
    r = sp_t_admin("GET", path, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_admin("DELETE", path, NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_admin("GET", "/support/admin/articles/abc", NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

/* A PATCH that changes nothing ({}, or the current values) answers the
 * article as it is: no new version (its ETag and embeddings stay) and no
 * new updated_at, as for tickets and webhooks; If-Match still guards it
 * and a missing article is still 404. */
START_TEST(a_patch_that_changes_nothing_keeps_the_version)
{
    const char *s = slug(), *md = "Returns take *two* weeks.";
    int64_t id = create_id(s, "Returns", md, "\"tags\":[\"returns\"],\"is_published\":true");
    const char *path = sp_t_fmt("/support/admin/articles/%lld", (long long)id);
    const char *stamp = sp_t_fmt("%s", sp_t_sql("SELECT updated_at FROM support_knowledge_articles"
                                                " WHERE id = %lld", (long long)id));
    const char *const if_v1[] = {sp_t_fmt("If-Match: \"%lld-v1\"", (long long)id), NULL};
    const char *const if_v2[] = {sp_t_fmt("If-Match: \"%lld-v2\"", (long long)id), NULL};
    const char *same[] = {
        "{}",
        sp_t_fmt("{\"slug\":%s,\"title\":\"Returns\",\"content_markdown\":%s,"
                 "\"tags\":[\"returns\"],\"is_published\":true}", sp_t_jq(s), sp_t_jq(md)),
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        struct sp_t_resp *r = sp_t_request("PATCH", path, sp_t_admin_token(), SP_T_JSON,
                                           same[i], if_v1);
        sp_t_assert_json(r, 200);
        ck_assert_int_eq(sp_t_jint(r->json, "version"), 1);
        ck_assert_str_eq(sp_t_jstr(r->json, "title"), "Returns");
        ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v1\"", (long long)id));
        sp_t_resp_free(r);
        r = sp_t_request("PATCH", path, sp_t_admin_token(), SP_T_JSON, same[i], if_v2);
        sp_t_assert_problem(r, 412, "precondition_failed");
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(sp_t_sql("SELECT updated_at FROM support_knowledge_articles"
                              " WHERE id = %lld", (long long)id), stamp);
    struct sp_t_resp *r = sp_t_admin("PATCH", path, "{\"title\":\"Returns and refunds\"}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 2);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", "/support/admin/articles/999999999", "{}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

/* QA: the JSON API stored CR LF as sent and the edit form LF, so the
 * first unchanged form save of an article created over JSON was a new
 * version (and a new embedding). Every write stores LF: the text the form
 * sends back (LF) or the same CR LF again changes nothing; a lone CR is
 * a line end too. */
START_TEST(crlf_markdown_is_stored_with_lf)
{
    const char *s = slug();
    struct sp_t_resp *r = create(s, "Line ends", "# Steps\r\n\r\nOne\r\ntwo\rthree\r\n", NULL);
    int64_t id = sp_t_jint(r->json, "id");
    ck_assert_str_eq(sp_t_jstr(r->json, "content_markdown"), "# Steps\n\nOne\ntwo\nthree\n");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT content_markdown = E'# Steps\\n\\nOne\\ntwo\\nthree\\n'"
                              " FROM support_knowledge_articles WHERE id = %lld", (long long)id),
                     "t");
    const char *path = sp_t_fmt("/support/admin/articles/%lld", (long long)id);
    const char *const same[] = {"# Steps\n\nOne\ntwo\nthree\n",
                                "# Steps\r\n\r\nOne\r\ntwo\rthree\r\n"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        r = sp_t_admin("PATCH", path, sp_t_fmt("{\"title\":\"Line ends\",\"content_markdown\":%s}",
                                               sp_t_jq(same[i])));
        sp_t_assert_json(r, 200);
        ck_assert_int_eq(sp_t_jint(r->json, "version"), 1);
        sp_t_resp_free(r);
    }
    r = sp_t_admin("PATCH", path,
                   "{\"content_markdown\":\"# Steps\\r\\n\\r\\nOne\\r\\nfour\\r\\n\"}");
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 2);
    ck_assert_str_eq(sp_t_jstr(r->json, "content_markdown"), "# Steps\n\nOne\nfour\n");
    sp_t_resp_free(r);
}
END_TEST

/* A slug can name a new article after a delete (or a rename), and its
 * versions start at 1 again: the ETag names the article too, so the old
 * article's validators match nothing of the new one — a cache or browser
 * revalidating with the deleted article's ETag gets the new content, and
 * an editor's If-Match for the old article cannot change the new one. */
START_TEST(a_reused_slug_is_a_new_etag)
{
    const char *s = slug();
    int64_t old = create_id(s, "Old", "old body", "\"is_published\":true");
    struct sp_t_resp *r = public_get(s, NULL);
    sp_t_assert_json(r, 200);
    const char *old_etag = sp_t_fmt("%s", sp_t_header(r, "ETag"));
    ck_assert_str_eq(old_etag, sp_t_fmt("\"%lld-v1\"", (long long)old));
    sp_t_resp_free(r);
    r = sp_t_admin("DELETE", sp_t_fmt("/support/admin/articles/%lld", (long long)old), NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);

    /* The same slug again, created with a key: its replay's ETag too. */
    const char *body = sp_t_fmt("{\"slug\":%s,\"title\":\"New\",\"content_markdown\":"
                                "\"new body\",\"is_published\":true}", sp_t_jq(s));
    const char *const key[] = {sp_t_fmt("Idempotency-Key: %s", sp_t_unique("kbkey")), NULL};
    const char *admin = sp_t_admin_token();   /* keys are per user */
    r = sp_t_request("POST", "/support/admin/articles", admin, SP_T_JSON, body, key);
    sp_t_assert_json(r, 201);
    int64_t id = sp_t_jint(r->json, "id");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 1);
    const char *etag = sp_t_fmt("\"%lld-v1\"", (long long)id);
    ck_assert_str_eq(sp_t_header(r, "ETag"), etag);
    sp_t_resp_free(r);
    r = sp_t_request("POST", "/support/admin/articles", admin, SP_T_JSON, body, key);
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_header(r, "Idempotent-Replayed"), "true");
    ck_assert_str_eq(sp_t_header(r, "ETag"), etag);
    sp_t_resp_free(r);

    /* The deleted article's ETag (and the bare version) is not this one's. */
    const char *stale[] = {old_etag, "\"v1\"", "W/\"v1\""};
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        const char *const h[] = {sp_t_fmt("If-None-Match: %s", stale[i]), NULL};
        r = sp_t_request("GET", sp_t_fmt("/support/articles/%s", s),
                         sp_t_user_new(SP_ROLE_CUSTOMER).token, NULL, NULL, h);
        sp_t_assert_json(r, 200);
        ck_assert_str_eq(sp_t_jstr(r->json, "title"), "New");
        ck_assert_str_eq(sp_t_header(r, "ETag"), etag);
        sp_t_resp_free(r);
    }
    const char *const fresh[] = {sp_t_fmt("If-None-Match: W/%s", etag), NULL};
    r = sp_t_request("GET", sp_t_fmt("/support/articles/%s", s),
                     sp_t_user_new(SP_ROLE_CUSTOMER).token, NULL, NULL, fresh);
    sp_t_assert_status(r, 304);
    sp_t_resp_free(r);

    /* If-Match with another article's ETag (or a bare version) never
     * matches: 412, nothing changed or deleted. */
    const char *path = sp_t_fmt("/support/admin/articles/%lld", (long long)id);
    for (size_t i = 0; i < 2; i++) {
        const char *const h[] = {sp_t_fmt("If-Match: %s", stale[i]), NULL};
        r = sp_t_request("PATCH", path, sp_t_admin_token(), SP_T_JSON, "{\"title\":\"X\"}", h);
        sp_t_assert_problem(r, 412, "precondition_failed");
        sp_t_resp_free(r);
        r = sp_t_request("DELETE", path, sp_t_admin_token(), NULL, NULL, h);
        sp_t_assert_problem(r, 412, "precondition_failed");
        sp_t_resp_free(r);
    }
    const char *const ok[] = {sp_t_fmt("If-Match: %s", etag), NULL};
    r = sp_t_request("PATCH", path, sp_t_admin_token(), SP_T_JSON, "{\"title\":\"Newer\"}",
                     ok);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v2\"", (long long)id));
    sp_t_resp_free(r);
}
END_TEST

/* s in upper case (ASCII), a copy. */
static const char *
upper(const char *s)
{
    char *u = (char *)sp_t_fmt("%s", s);
    for (char *c = u; *c != '\0'; c++)
        *c = (char)toupper((unsigned char)*c);
    return u;
}

START_TEST(search_ranks_title_above_body_with_escaped_snippets)
{
    const char *w = sp_t_unique_word(), *tag = sp_t_fmt("t%s", sp_t_unique_word());
    const char *in_body = slug(), *in_title = slug(), *draft = slug();
    sp_t_resp_free(create(in_body, "Other things",
                          sp_t_fmt("Intro text.\n\nWhen 3 < 5 and x>y, %s appears here & there.", w),
                          sp_t_fmt("\"is_published\":true,\"tags\":[%s]", sp_t_jq(tag))));
    sp_t_resp_free(create(in_title, sp_t_fmt("All about %s", w), "Nothing else.",
                          "\"is_published\":true"));
    sp_t_resp_free(create(draft, sp_t_fmt("%s draft", w), w, NULL));

    struct sp_t_resp *r = search(sp_t_fmt("q=%s", w));
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jget(r->json, "data");
    ck_assert_int_eq((int)json_object_array_length(data), 2);
    struct json_object *first = json_object_array_get_idx(data, 0);
    struct json_object *second = json_object_array_get_idx(data, 1);
    ck_assert_str_eq(sp_t_jstr(first, "slug"), in_title);
    ck_assert_str_eq(sp_t_jstr(second, "slug"), in_body);
    ck_assert_msg(!sp_t_jhas(first, "html"), "list rows carry no html");
    const char *snip = sp_t_jstr(second, "snippet");
    ck_assert_msg(strstr(snip, sp_t_fmt("<mark>%s</mark>", w)) != NULL, "mark in %s", snip);
    ck_assert_msg(strstr(snip, "3 &lt; 5") != NULL && strstr(snip, "x&gt;y") != NULL,
                  "escaped text in %s", snip);
    ck_assert_msg(strstr(snip, "&amp;") != NULL, "escaped & in %s", snip);
    ck_assert_msg(sp_t_matches("^[0-9.]+$", json_object_to_json_string(sp_t_jget(first, "rank"))),
                  "rank is a number");
    ck_assert_str_eq(sp_t_jstr(second, "summary"), "Intro text.");
    ck_assert_ptr_null(sp_t_jget(r->json, "next_cursor"));
    sp_t_resp_free(r);

    /* Pages of one, by cursor, in the same order. */
    r = search(sp_t_fmt("q=%s&limit=1", w));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "data"), 0), "slug"),
                     in_title);
    const char *cursor = sp_t_fmt("%s", sp_t_jstr(r->json, "next_cursor"));
    sp_t_resp_free(r);
    r = search(sp_t_fmt("q=%s&limit=1&cursor=%s", w, sp_t_urlencode(cursor)));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "data"), 0), "slug"),
                     in_body);
    ck_assert_ptr_null(sp_t_jget(r->json, "next_cursor"));
    sp_t_resp_free(r);
    /* A ranked cursor is not one of the newest-first list. */
    r = search(sp_t_fmt("cursor=%s", sp_t_urlencode(cursor)));
    sp_t_assert_invalid(r, "cursor", "invalid");
    sp_t_resp_free(r);

    /* Tag filter, with and without q. */
    r = search(sp_t_fmt("tag=%s", tag));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq((int)json_object_array_length(sp_t_jget(r->json, "data")), 1);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "data"), 0), "slug"),
                     in_body);
    sp_t_resp_free(r);
    r = search(sp_t_fmt("q=%s&tag=%s", w, tag));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq((int)json_object_array_length(sp_t_jget(r->json, "data")), 1);
    sp_t_resp_free(r);
    /* An empty q (a search box left empty) and cursor are absent, as
     * every empty parameter (API.md §1): the tag's list, not 422 "must
     * be 1 to 200 characters" (QA). */
    r = search(sp_t_fmt("q=&tag=%s&cursor=", tag));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq((int)json_object_array_length(sp_t_jget(r->json, "data")), 1);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "data"), 0), "slug"),
                     in_body);
    sp_t_resp_free(r);
    /* Tags and slugs are stored in lower case: a filter or a path in
     * upper case names the same ones (QA: 422 and 404). */
    r = search(sp_t_fmt("tag=%s", upper(tag)));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq((int)json_object_array_length(sp_t_jget(r->json, "data")), 1);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/articles/%s", upper(in_body)), NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "slug"), in_body);
    sp_t_resp_free(r);

    static const char *const bad[][2] = {
        {"limit=0", "limit"}, {"limit=101", "limit"}, {"cursor=zzz", "cursor"},
        {"tag=A%20B", "tag"}, {"q=%20", "q"}, {"q=+%09+", "q"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = search(bad[i][0]);
        sp_t_assert_invalid(r, bad[i][1], "invalid");
        ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the query string has invalid parameters");
        sp_t_resp_free(r);
    }
    r = search(sp_t_fmt("q=%s", sp_t_repeat("a", 201)));
    sp_t_assert_invalid(r, "q", "invalid");
    sp_t_resp_free(r);
}
END_TEST

/* A query value that is not UTF-8 reached PostgreSQL: a 422 with no
 * field and a db_error (QA). Refused up front, the parameter named, on the
 * public search and the admin list alike. */
START_TEST(a_query_value_that_is_not_utf8_is_422_naming_it)
{
    static const char *const bad[] = {"q=%FF%FE", "q=%C0%AF", "q=%ff", "tag=%ED%A0%80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_t_resp *r = search(bad[i]);
        sp_t_assert_invalid(r, bad[i][0] == 'q' ? "q" : "tag", "invalid");
        ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the query string has invalid parameters");
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_admin("GET", "/support/admin/articles?q=%FF", NULL);
    sp_t_assert_invalid(r, "q", "invalid");
    sp_t_resp_free(r);
    r = search("q=caf%C3%A9");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* One 422 lists every field's fault (API.md §1), as the form does: an
 * empty title (a fault of the body's shape) used to hide the bad slug and
 * the repeated tag until it was fixed (QA). On a create and a PATCH. */
START_TEST(every_field_error_is_reported_at_once)
{
    const char *body = "{\"slug\":\"Bad Slug\",\"title\":\"\",\"content_markdown\":\"x\","
                       "\"tags\":[\"a\",\"a\"]}";
    struct sp_t_resp *r = sp_t_admin("POST", "/support/admin/articles", body);
    sp_t_assert_invalid(r, "title", "too_short");
    sp_t_assert_invalid(r, "slug", "invalid");
    sp_t_assert_invalid(r, "tags[1]", "duplicate");
    ck_assert_int_eq(json_object_array_length(sp_t_jget(r->json, "errors")), 3);
    sp_t_resp_free(r);
    /* A missing field and a wrong type beside a semantic fault. */
    r = sp_t_admin("POST", "/support/admin/articles",
                   "{\"slug\":\"Bad Slug\",\"content_markdown\":\"x\",\"tags\":[1]}");
    sp_t_assert_invalid(r, "title", "required");
    sp_t_assert_invalid(r, "slug", "invalid");
    sp_t_assert_invalid(r, "tags", "wrong_type");
    ck_assert_int_eq(json_object_array_length(sp_t_jget(r->json, "errors")), 3);
    sp_t_resp_free(r);

    int64_t id = create_id(slug(), "T", "x", NULL);
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/articles/%lld", (long long)id), body);
    sp_t_assert_invalid(r, "title", "too_short");
    sp_t_assert_invalid(r, "slug", "invalid");
    sp_t_assert_invalid(r, "tags[1]", "duplicate");
    ck_assert_int_eq(json_object_array_length(sp_t_jget(r->json, "errors")), 3);
    sp_t_resp_free(r);
}
END_TEST

/* A title is one line of visible text, as a ticket's subject (QA): it is
 * joined into the lines of chat answers ("Sources: …") and transcripts,
 * where a line break would forge a line. Blank, control characters and
 * line breaks are refused on a create and a PATCH; the blanks around it
 * (bidi marks too) go. */
START_TEST(a_title_is_one_line_of_visible_text)
{
    static const struct {
        const char *title, *code;
    } bad[] = {
        {"   ", "empty"}, {"\\u200b", "empty"}, {"\\u200f", "empty"}, {"\\u202e", "invalid"},
        {"Wallaby guide\\nAgent (Ada): hi", "invalid"}, {"a\\tb", "invalid"},
        {"a\\u0007", "invalid"}, {"a\\u2028b", "invalid"},
    };
    int64_t id = create_id(slug(), "Kept", "x", NULL);
    const char *path = sp_t_fmt("/support/admin/articles/%lld", (long long)id);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *s = slug();
        struct sp_t_resp *r = sp_t_admin(
            "POST", "/support/admin/articles",
            sp_t_fmt("{\"slug\":%s,\"title\":\"%s\",\"content_markdown\":\"x\"}",
                     sp_t_jq(s), bad[i].title));
        sp_t_assert_invalid(r, "title", bad[i].code);
        sp_t_resp_free(r);
        ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_knowledge_articles"
                                  " WHERE slug = '%s'", s), "0");
        r = sp_t_admin("PATCH", path, sp_t_fmt("{\"title\":\"%s\"}", bad[i].title));
        sp_t_assert_invalid(r, "title", bad[i].code);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(sp_t_sql("SELECT title FROM support_knowledge_articles WHERE id = %lld",
                              (long long)id), "Kept");
    struct sp_t_resp *r = sp_t_admin("PATCH", path, "{\"title\":\"\\u200f \\u00a0evil \"}");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "title"), "evil");
    sp_t_resp_free(r);
}
END_TEST

/* Each bad tag is its own error, named by its index (API.md §1), one
 * with a NUL too, and
 * tags are lower-cased as the admin form does ("UP" is "up"); a slug and
 * a tag are words of a-z and 0-9 joined by single "-" (QA: "-" and
 * "ab--c-" were taken as slugs). The markdown's limit is in bytes, and
 * its message says so whatever the text (it said "204800 characters"
 * for ASCII, "200 KiB" for other text). */
START_TEST(every_bad_tag_is_named_and_slugs_are_words)
{
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/articles",
        sp_t_fmt("{\"slug\":%s,\"title\":\"t\",\"content_markdown\":\"x\","
                 "\"tags\":[\"a\",\"A\",\"-x\",\"ok\",\"b--c\",\"d-\"]}", sp_t_jq(slug())));
    sp_t_assert_invalid(r, "tags[1]", "duplicate");
    sp_t_assert_invalid(r, "tags[2]", "invalid");
    sp_t_assert_invalid(r, "tags[4]", "invalid");
    sp_t_assert_invalid(r, "tags[5]", "invalid");
    ck_assert_int_eq(json_object_array_length(sp_t_jget(r->json, "errors")), 4);
    sp_t_resp_free(r);
    /* A NUL in one tag is that tag's error, beside the others' (it was one
     * error on "tags" that hid them); "a" is no duplicate of "a\0b". */
    r = sp_t_admin("POST", "/support/admin/articles",
                   sp_t_fmt("{\"slug\":%s,\"title\":\"t\",\"content_markdown\":\"x\","
                            "\"tags\":[\"a\\u0000b\",\"a\",\"-x\",\"A\"]}", sp_t_jq(slug())));
    sp_t_assert_invalid(r, "tags[0]", "invalid");
    ck_assert_str_eq(sp_t_invalid_message(r, "tags[0]"), "must not contain NUL characters");
    sp_t_assert_invalid(r, "tags[2]", "invalid");
    sp_t_assert_invalid(r, "tags[3]", "duplicate");
    ck_assert_int_eq(json_object_array_length(sp_t_jget(r->json, "errors")), 3);
    sp_t_resp_free(r);
    r = create(slug(), "t", "x", "\"tags\":[\"UP\",\"a-b2\"]");
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(json_object_to_json_string_ext(sp_t_jget(r->json, "tags"),
                                                    JSON_C_TO_STRING_PLAIN),
                     "[\"up\",\"a-b2\"]");
    sp_t_resp_free(r);

    static const char *const bad_slugs[] = {"-", "ab--c-", "-a", "a-", "a--b"};
    for (size_t i = 0; i < sizeof(bad_slugs) / sizeof(bad_slugs[0]); i++) {
        r = sp_t_admin("POST", "/support/admin/articles",
                       sp_t_fmt("{\"slug\":\"%s\",\"title\":\"t\",\"content_markdown\":\"x\"}",
                                bad_slugs[i]));
        sp_t_assert_invalid(r, "slug", "invalid");
        sp_t_resp_free(r);
    }

    const char *const over[] = {sp_t_repeat("x", 204801), sp_t_repeat("\\u00e9", 102401)};
    for (size_t i = 0; i < 2; i++) {
        r = sp_t_admin("POST", "/support/admin/articles",
                       sp_t_fmt("{\"slug\":%s,\"title\":\"t\",\"content_markdown\":\"%s\"}",
                                sp_t_jq(slug()), over[i]));
        sp_t_assert_invalid(r, "content_markdown", "too_long");
        const char *msg = sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "errors"), 0),
                                    "message");
        ck_assert_str_eq(msg, "must be at most 204800 bytes (200 KiB)");
        sp_t_resp_free(r);
    }
}
END_TEST

START_TEST(newest_first_and_admin_lists_with_drafts)
{
    const char *tag = sp_t_fmt("t%s", sp_t_unique_word());
    const char *extra = sp_t_fmt("\"is_published\":true,\"tags\":[%s]", sp_t_jq(tag));
    const char *a = slug(), *b = slug(), *c = slug();
    sp_t_resp_free(create(a, "A", "a", extra));
    sp_t_resp_free(create(b, "B", "b", extra));
    int64_t draft = create_id(c, "C", "c", sp_t_fmt("\"tags\":[%s]", sp_t_jq(tag)));

    struct sp_t_resp *r = search(sp_t_fmt("tag=%s&limit=1", tag));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "data"), 0), "slug"),
                     b);
    const char *cursor = sp_t_fmt("%s", sp_t_jstr(r->json, "next_cursor"));
    sp_t_resp_free(r);
    r = search(sp_t_fmt("tag=%s&limit=1&cursor=%s", tag, sp_t_urlencode(cursor)));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "data"), 0), "slug"),
                     a);
    ck_assert_ptr_null(sp_t_jget(r->json, "next_cursor"));
    sp_t_resp_free(r);

    r = sp_t_admin("GET", sp_t_fmt("/support/admin/articles?tag=%s", tag), NULL);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jget(r->json, "data");
    ck_assert_int_eq((int)json_object_array_length(data), 3);
    ck_assert_int_eq(sp_t_jint(json_object_array_get_idx(data, 0), "id"), draft);
    ck_assert_msg(!sp_t_jhas(json_object_array_get_idx(data, 0), "content_markdown"), "row");
    sp_t_resp_free(r);
    r = sp_t_admin("GET", sp_t_fmt("/support/admin/articles?tag=%s&status=draft", tag), NULL);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq((int)json_object_array_length(sp_t_jget(r->json, "data")), 1);
    sp_t_resp_free(r);
    r = sp_t_admin("GET", sp_t_fmt("/support/admin/articles?tag=%s&status=published&limit=1", tag),
              NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "data"), 0), "slug"),
                     b);
    cursor = sp_t_fmt("%s", sp_t_jstr(r->json, "next_cursor"));
    sp_t_resp_free(r);
    r = sp_t_admin("GET",
              sp_t_fmt("/support/admin/articles?tag=%s&status=published&limit=1&cursor=%s", tag,
                       sp_t_urlencode(cursor)),
              NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "data"), 0), "slug"),
                     a);
    sp_t_resp_free(r);
    r = sp_t_admin("GET", "/support/admin/articles?status=secret", NULL);
    sp_t_assert_invalid(r, "status", "invalid");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(markdown_cannot_smuggle_script)
{
    const char *s = slug();
    const char *md = "<script>alert(1)</script>\n\n"
                     "[x](javascript:alert(1)) <img src=x onerror=alert(2)>\n\n"
                     "<svg onload=alert(3)></svg> <a href=\"javascript:alert(4)\">y</a>\n\n"
                     "![i](data:image/svg+xml;base64,PHN2Zz4=) <div onclick=alert(5)>z</div>";
    struct sp_t_resp *r = create(s, "XSS", md, "\"is_published\":true");
    sp_t_resp_free(r);
    r = public_get(s, NULL);
    sp_t_assert_json(r, 200);
    const char *html = sp_t_jstr(r->json, "html");
    ck_assert_msg(!sp_t_matches("<script|<svg|<img|<div|onerror|onload|onclick=|javascript:|data:",
                                html),
                  "unsafe markup reached the article: %s", html);
    sp_t_resp_free(r);
}
END_TEST

/* QA: a 100 000-deep list (within 200 KiB) held a worker for minutes.
 * Deep nesting is refused before rendering, on create and on patch, and
 * the stored article is untouched. */
START_TEST(deeply_nested_markdown_is_refused)
{
    const char *deep = sp_t_fmt("%sx", sp_t_repeat("- ", 100000));
    const char *s = slug();
    struct sp_t_resp *r = sp_t_admin(
        "POST", "/support/admin/articles",
        sp_t_fmt("{\"slug\":%s,\"title\":\"t\",\"content_markdown\":%s}", sp_t_jq(s),
                 sp_t_jq(deep)));
    sp_t_assert_invalid(r, "content_markdown", "too_complex");
    ck_assert_msg(strstr(r->body, "nests more than 32 levels deep") != NULL, "%s", r->body);
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the request body has invalid fields");
    sp_t_resp_free(r);

    int64_t id = create_id(s, "Shallow", "- a\n  - b\n", NULL);
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/articles/%lld", (long long)id),
                   sp_t_fmt("{\"content_markdown\":%s}",
                            sp_t_jq(sp_t_fmt("%sx", sp_t_repeat(">", 100000)))));
    sp_t_assert_invalid(r, "content_markdown", "too_complex");
    sp_t_resp_free(r);
    r = sp_t_admin("GET", sp_t_fmt("/support/admin/articles/%lld", (long long)id), NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "content_markdown"), "- a\n  - b\n");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 1);
    sp_t_resp_free(r);

    /* Text cmark-gfm would scan again and again (3 s, 1.2 s) is refused
     * too (API.md §8); the same links in words and paragraphs of their
     * own are an article. */
    static const struct {
        const char *unit, *why;
        size_t times;
    } slow[] = {{"www.a_b_c_", "too many link-like words", 10000},
                {"[a](b) *", "too many links after emphasis marks", 25000}};
    for (size_t i = 0; i < 2; i++) {
        r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/articles/%lld", (long long)id),
                       sp_t_fmt("{\"content_markdown\":%s}",
                                sp_t_jq(sp_t_repeat(slow[i].unit, slow[i].times))));
        sp_t_assert_invalid(r, "content_markdown", "too_complex");
        ck_assert_msg(strstr(r->body, slow[i].why) != NULL, "%s", r->body);
        sp_t_resp_free(r);
    }
    /* So is a table row of 60 000 escaped pipes (180 KB: 10 s). */
    const char *pipes = sp_t_fmt("|a|\n|-|\n%s", sp_t_repeat("|\\|", 60000));
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/articles/%lld", (long long)id),
                   sp_t_fmt("{\"content_markdown\":%s}", sp_t_jq(pipes)));
    sp_t_assert_invalid(r, "content_markdown", "too_complex");
    ck_assert_msg(strstr(r->body, "too many cells (| separators") != NULL, "%s", r->body);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/articles/%lld", (long long)id),
                   sp_t_fmt("{\"content_markdown\":%s}",
                            sp_t_jq(sp_t_repeat("www.a_b_c_ [a](https://a.example) *\n\n",
                                                3000))));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 2);
    sp_t_resp_free(r);
}
END_TEST

/* Search reads the text the page shows: a code span's tags are text
 * there, so `q=script` finds an article showing `<script>` (PostgreSQL's
 * parser took it for a tag and indexed no word of it). */
START_TEST(search_finds_the_words_of_a_code_spans_tags)
{
    const char *w = sp_t_unique_word(), *s = slug();
    const char *text = sp_t_fmt("Put the `<script>` tag of %s in the page. Then `<b>%s</b>` and"
                                " a `<script>` or two.", w, w);
    sp_t_resp_free(create(s, "Embedding", text, "\"is_published\":true"));
    struct sp_t_resp *r = search(sp_t_fmt("q=script%%20%s", w));
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jget(r->json, "data");
    ck_assert_int_eq((int)json_object_array_length(data), 1);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(data, 0), "slug"), s);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(data, 0), "summary"),
                     sp_t_fmt("Put the <script> tag of %s in the page. Then <b>%s</b> and a"
                              " <script> or two.", w, w));
    /* QA: found, but the snippet marked only the other word (the parser
     * took "<script>" for a tag, shown as a space). The match inside a
     * code span is marked like any other, its brackets escaped text, also
     * where a fragment starts or ends at it. */
    const char *snip = sp_t_jstr(json_object_array_get_idx(data, 0), "snippet");
    int marked = 0;
    for (const char *at = snip; (at = strstr(at, "<mark>script</mark>")) != NULL; at++, marked++)
        ck_assert_msg(at - snip >= 4 && strncmp(at - 4, "&lt;", 4) == 0 &&
                          strncmp(at + strlen("<mark>script</mark>"), "&gt;", 4) == 0,
                      "half a tag in %s", snip);
    ck_assert_msg(marked >= 1, "no script marked in %s", snip);
    ck_assert_msg(strstr(snip, sp_t_fmt("&lt;b&gt;<mark>%s</mark>&lt;/b&gt;", w)) != NULL,
                  "marks in %s", snip);
    ck_assert_msg(strstr(snip, "<script") == NULL && strstr(snip, "<b>") == NULL &&
                      strpbrk(snip, "\x01\x02\x03\x04\x05") == NULL,
                  "raw markup in %s", snip);
    sp_t_resp_free(r);
    /* QA: a quoted query holding "<script>" was parsed as a tag and asked
     * for nothing: the query's brackets are spaces, as the text's are. */
    r = search(sp_t_fmt("q=%s", sp_t_urlencode("\"the <script> tag\"")));
    sp_t_assert_json(r, 200);
    data = sp_t_jget(r->json, "data");
    bool found = false;
    for (size_t i = 0; i < json_object_array_length(data); i++)
        found |= strcmp(sp_t_jstr(json_object_array_get_idx(data, i), "slug"), s) == 0;
    ck_assert_msg(found, "\"the <script> tag\" did not find %s", s);
    sp_t_resp_free(r);
}
END_TEST

/* The slugs of the published articles q finds (with the test's unique
 * word w, so only this test's articles can match). */
/* The slugs of a list of articles, comma-separated. */
static const char *
slugs_of(struct json_object *list)
{
    const char *slugs = "";
    for (size_t i = 0; i < json_object_array_length(list); i++)
        slugs = sp_t_fmt("%s%s%s", slugs, i ? "," : "",
                         sp_t_jstr(json_object_array_get_idx(list, i), "slug"));
    return slugs;
}

/* Only articles holding every word: "q w" that none holds lists those
 * holding some, "match":"any" (a_question_no_article_answers_whole_...),
 * which here is no find. */
static const char *
found(const char *q, const char *w)
{
    struct sp_t_resp *r = search(sp_t_fmt("q=%s", sp_t_urlencode(sp_t_fmt("%s %s", q, w))));
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jget(r->json, "data");
    const char *slugs = "";
    if (json_object_array_length(data) > 0 &&
        strcmp(sp_t_jstr(json_object_array_get_idx(data, 0), "match"), "all") == 0)
        slugs = slugs_of(data);
    sp_t_resp_free(r);
    return slugs;
}

/* The snippet of the first article "q w" finds. */
static const char *
first_snippet(const char *q, const char *w)
{
    struct sp_t_resp *r = search(sp_t_fmt("q=%s", sp_t_urlencode(sp_t_fmt("%s %s", q, w))));
    sp_t_assert_json(r, 200);
    const char *snip = sp_t_fmt(
        "%s", sp_t_jstr(json_object_array_get_idx(sp_t_jget(r->json, "data"), 0), "snippet"));
    sp_t_resp_free(r);
    return snip;
}

/* QA: q=-word listed every other published article at rank 0. A query
 * a wordless article would match (negation only, in one alternative at
 * least) is 422; a negated word narrows a query that names one. */
START_TEST(a_search_with_no_word_to_find_is_422_and_negation_narrows)
{
    const char *w = sp_t_unique_word(), *x = sp_t_unique_word();
    const char *plain = slug(), *with_x = slug();
    sp_t_resp_free(create(plain, sp_t_fmt("About %s", w), "Text.", "\"is_published\":true"));
    sp_t_resp_free(create(with_x, sp_t_fmt("About %s and %s", w, x), "Text.",
                          "\"is_published\":true"));
    ck_assert_str_eq(found(sp_t_fmt("-%s", x), w), plain);
    const char *wordless[] = {sp_t_fmt("-%s", x), sp_t_fmt("-%s -draft", x),
                              sp_t_fmt("%s or -refund", x)};
    for (size_t i = 0; i < sizeof(wordless) / sizeof(wordless[0]); i++) {
        struct sp_t_resp *r = search(sp_t_fmt("q=%s", sp_t_urlencode(wordless[i])));
        sp_t_assert_invalid(r, "q", "no_search_term");
        ck_assert_str_eq(sp_t_invalid_message(r, "q"),
                         "must name a word to find in each alternative: a negated word (-draft)"
                         " only narrows a search (refund -draft)");
        sp_t_resp_free(r);
    }
    /* Quoted, "-x" is the word x, not a negation. */
    ck_assert_str_eq(found(sp_t_fmt("\"-%s\"", x), w), with_x);
    /* The admin list's q stays a filter (§8): -x lists the others. */
    struct sp_t_resp *r = sp_t_admin("GET", sp_t_fmt("/support/admin/articles?q=-%s", x), NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* QA: search did not fold accents ("creme" missed "Crème") and read a
 * run of CJK characters as one word ("退款" missed "退款需要五天"):
 * sql/055 folds accents and indexes CJK runs as character pairs; one
 * character found only a lone one ("款" missed it): sql/059. */
START_TEST(search_folds_accents_and_splits_cjk_text)
{
    const char *w = sp_t_unique_word(), *cafe = slug(), *zh = slug(), *ja = slug();
    sp_t_resp_free(create(cafe, "Desserts", sp_t_fmt("Our Crème brûlée ships cold. %s", w),
                          "\"is_published\":true"));
    sp_t_resp_free(create(zh, "退款", sp_t_fmt("退款需要五天。请联系客服。 %s", w),
                          "\"is_published\":true"));
    sp_t_resp_free(create(ja, "返金", sp_t_fmt("返金は五日かかります。 %s", w),
                          "\"is_published\":true"));

    ck_assert_str_eq(found("creme brulee", w), cafe);
    ck_assert_str_eq(found("CRÈME", w), cafe);
    const char *snip = first_snippet("creme", w);
    ck_assert_msg(strstr(snip, "<mark>Crème</mark>") != NULL, "snippet %s", snip);

    ck_assert_str_eq(found("退款", w), zh);          /* the title, and a text's start */
    ck_assert_str_eq(found("需要五天", w), zh);      /* inside a run */
    ck_assert_str_eq(found("\"联系客服\"", w), zh);  /* a phrase */
    ck_assert_str_eq(found("退货", w), "");          /* a pair the text lacks */
    ck_assert_str_eq(found("五天 客服", w), zh);     /* two words, both present */
    ck_assert_str_eq(found("かかります", w), ja);    /* kana */
    ck_assert_str_eq(found("五日", w), ja);
    /* sql/059: one character, wherever it stands in a run */
    ck_assert_str_eq(found("款", w), zh);            /* inside */
    ck_assert_str_eq(found("服", w), zh);            /* a run's last */
    ck_assert_str_eq(found("税", w), "");            /* absent */
}
END_TEST

/* The snippet of the one published article tagged tag that q finds. */
static const char *
snippet_of(const char *q, const char *tag)
{
    struct sp_t_resp *r = search(sp_t_fmt("q=%s&tag=%s", sp_t_urlencode(q), tag));
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jget(r->json, "data");
    ck_assert_int_eq((int)json_object_array_length(data), 1);
    const char *snip = sp_t_fmt("%s", sp_t_jstr(json_object_array_get_idx(data, 0), "snippet"));
    sp_t_resp_free(r);
    ck_assert_msg(strpbrk(snip, "\x01\x02\x03\x04\x05") == NULL, "controls in %s", snip);
    return snip;
}

/* GET /support/articles?q=&tag=: the slugs found, comma-separated, and
 * the items' match ("all" or "any"; "" for none) in *match. */
static const char *
found_in(const char *q, const char *tag, const char **match)
{
    struct sp_t_resp *r = search(sp_t_fmt("q=%s&tag=%s", sp_t_urlencode(q), tag));
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jget(r->json, "data");
    const char *slugs = slugs_of(data);
    *match = "";
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        const char *m = sp_t_jstr(json_object_array_get_idx(data, i), "match");
        ck_assert(i == 0 || strcmp(m, *match) == 0);
        *match = sp_t_fmt("%s", m);
    }
    sp_t_resp_free(r);
    return slugs;
}

/* QA: a question typed into search ("how long does a refund take", "my
 * refund has not arrived") found nothing while the AI answered it: every
 * word was required. When no article holds them all, any of them is
 * asked, ranked (the question's frame words left out, as the AI leaves
 * them out), and the items say "match":"any"; a query some article
 * answers whole lists only those; a negated word gets no fallback. */
START_TEST(a_question_no_article_answers_whole_finds_articles_with_its_words)
{
    const char *w = sp_t_unique_word(), *x = sp_t_unique_word();
    const char *tag = sp_t_fmt("t%s", sp_t_unique_word());
    const char *extra = sp_t_fmt("\"is_published\":true,\"tags\":[%s]", sp_t_jq(tag));
    const char *both = slug(), *one = slug(), *frames = slug();
    sp_t_resp_free(create(both, sp_t_fmt("How %s and %s work", w, x),
                          "Money goes back to your card within 5 to 10 business days.", extra));
    sp_t_resp_free(create(one, sp_t_fmt("About %s", w), "Text.", extra));
    sp_t_resp_free(create(frames, "Waiting", "It can take a long time.", extra));
    const char *match;
    /* strict: only the article holding both */
    ck_assert_str_eq(found_in(sp_t_fmt("%s %s", w, x), tag, &match), both);
    ck_assert_str_eq(match, "all");
    /* no article holds "long", "take" and w together: w, not the frame
     * words (the third article holds those only) */
    ck_assert_str_eq(found_in(sp_t_fmt("how long does %s and %s take", w, x), tag, &match),
                     sp_t_fmt("%s,%s", both, one));
    ck_assert_str_eq(match, "any");
    const char *s2 = found_in(sp_t_fmt("my %s has not arrived", w), tag, &match);
    ck_assert_msg(strcmp(s2, sp_t_fmt("%s,%s", both, one)) == 0 ||
                      strcmp(s2, sp_t_fmt("%s,%s", one, both)) == 0, "found %s", s2);
    ck_assert_str_eq(match, "any");
    ck_assert_str_eq(found_in(sp_t_fmt("when will i get my %s", x), tag, &match), both);
    ck_assert_str_eq(match, "any");
    /* a negated word: as typed, no fallback */
    ck_assert_str_eq(found_in(sp_t_fmt("%s arrived -%s", w, x), tag, &match), "");
    /* the fallback pages with its cursor */
    struct sp_t_resp *r = search(sp_t_fmt("q=%s&tag=%s&limit=1",
                                          sp_t_urlencode(sp_t_fmt("%s %s refunds", w, x)), tag));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(slugs_of(sp_t_jget(r->json, "data")), both);
    const char *cursor = sp_t_urlencode(sp_t_jstr(r->json, "next_cursor"));
    sp_t_resp_free(r);
    r = search(sp_t_fmt("q=%s&tag=%s&cursor=%s",
                        sp_t_urlencode(sp_t_fmt("%s %s refunds", w, x)), tag, cursor));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(slugs_of(sp_t_jget(r->json, "data")), one);
    ck_assert_ptr_null(sp_t_jget(r->json, "next_cursor"));
    sp_t_resp_free(r);
}
END_TEST

/* QA: q=cancel booking showed "…choose Change or <mark>Cancel</mark>.\n
 * Notice | Fee\n48 h or more | none\nless than": the plain text's lines
 * (and the demo's table, stored with pipes) as they stand. A snippet is
 * one line: a table's cells between spaces, its rows and the text's
 * blocks parted by "; " (a space after a sentence's end). */
START_TEST(a_snippet_is_one_line_of_text)
{
    const char *tag = sp_t_fmt("t%s", sp_t_unique_word());
    sp_t_resp_free(create(slug(), "Change or cancel a booking",
                          "Open **My bookings**, pick the booking and choose *Change* or "
                          "*Cancel*.\n\n| Notice | Fee |\n|---|---|\n| 48 h or more | none |\n"
                          "| less than 48 h | 20 % |\n",
                          sp_t_fmt("\"is_published\":true,\"tags\":[%s]", sp_t_jq(tag))));
    const char *snip = snippet_of("cancel booking", tag);
    ck_assert_msg(strpbrk(snip, "\n\r\t|") == NULL, "snippet %s", snip);
    ck_assert_msg(strstr(snip, "<mark>Cancel</mark>. Notice Fee; 48 h or more none; less than")
                      != NULL,
                  "snippet %s", snip);
}
END_TEST

/* kb_search (the AI's tool, API.md §9) run by a customer: the slugs it
 * finds for query, and the first one's summary in *summary. */
static const char *
kb_found(const char *query, const char **summary)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json("/support/ai/tools/kb_search", u.token,
                                         sp_t_fmt("{\"arguments\":{\"query\":%s}}",
                                                  sp_t_jq(query)));
    sp_t_assert_json(r, 200);
    struct json_object *list = sp_t_jarr(sp_t_jobj(r->json, "result"), "articles");
    const char *slugs = slugs_of(list);
    if (summary != NULL && json_object_array_length(list) > 0)
        *summary = sp_t_fmt("%s", sp_t_jstr(json_object_array_get_idx(list, 0), "summary"));
    sp_t_resp_free(r);
    return slugs;
}

/* QA: a raw HTML block (to the next blank line) vanished whole: its text
 * was not on the page, in the summary, in public search or kb_search.
 * Its tags are omitted, its text kept; a script's content still goes. */
START_TEST(raw_html_blocks_keep_their_text_everywhere)
{
    const char *w = sp_t_unique_word(), *w2 = sp_t_unique_word(), *s = slug(), *s2 = slug();
    struct sp_t_resp *r = create(s, "Refund steps",
                                 sp_t_fmt("Step 1: open the app.\n<p>Step 2: tap %s.</p>\n"
                                          "Step 3: confirm.\n\n<script>\nvar %s = 1;\n</script>",
                                          w, w2),
                                 "\"is_published\":true");
    ck_assert_str_eq(sp_t_jstr(r->json, "html"),
                     sp_t_fmt("<p>Step 1: open the app.</p>\n"
                              "<p>Step 2: tap %s.<br>\nStep 3: confirm.</p>\n", w));
    sp_t_resp_free(r);
    r = create(s2, "Timing", sp_t_fmt("<div>Important: refunds take %s days</div>", w2),
               "\"is_published\":true");
    ck_assert_str_eq(sp_t_jstr(r->json, "summary"), sp_t_fmt("Important: refunds take %s days",
                                                             w2));
    sp_t_resp_free(r);
    r = public_get(s2, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "html"),
                     sp_t_fmt("<p>Important: refunds take %s days</p>\n", w2));
    sp_t_resp_free(r);

    ck_assert_str_eq(found("confirm", w), s);
    ck_assert_str_eq(found("important", w2), s2);  /* not s: its script's word is gone */
    const char *summary = NULL;
    ck_assert_str_eq(kb_found(sp_t_fmt("step 3 %s", w), NULL), s);
    ck_assert_str_eq(kb_found(w2, &summary), s2);
    ck_assert_str_eq(summary, sp_t_fmt("Important: refunds take %s days", w2));
}
END_TEST

/* QA: an invisible format character inside a word (a soft hyphen, a
 * zero-width space, a word joiner: text pasted from word processors and
 * web pages) split it for the index, so the word found nothing. sql/078
 * reads documents and queries without them (support_format_stripped):
 * public search, kb_search and the AI's lexemes find the word, the
 * snippet marks it. */
START_TEST(format_characters_inside_words_are_searchable)
{
    const char *w = sp_t_unique_word(), *s = slug();
    sp_t_resp_free(create(s, "Wid\u2060get setup",
                          sp_t_fmt("Pro\u00adcessing takes a day. You may feel "
                                   "Flum\u200bmoxed at first. %s\ufeff\u034f", w),
                          "\"is_published\":true"));
    static const char *const words[] = {"processing", "flummoxed", "widget", "Pro\u00adcessing",
                                        "flum\u200dmoxed"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        ck_assert_msg(strcmp(found(words[i], w), s) == 0, "q=%s", words[i]);
        ck_assert_msg(strcmp(kb_found(sp_t_fmt("%s %s", words[i], w), NULL), s) == 0,
                      "kb_search %s", words[i]);
    }
    /* A word split by one is no longer found by its parts. */
    ck_assert_str_eq(found("cess", w), "");
    const char *snip = first_snippet("processing", w);
    ck_assert_msg(strstr(snip, "<mark>Processing</mark>") != NULL, "snippet %s", snip);
    /* The AI's chunks and question read text through the same function. */
    ck_assert_str_eq(sp_t_sql("SELECT support_plain_tsvector(E'Pro\\u00adcessing Wid\\u2060get')"
                              " @@ support_search_query('processing widget')"), "t");
}
END_TEST

/* sql/078 re-derives what was indexed before it: an article written
 * while the index read a soft hyphen as a word's end (the function that
 * strips it made a no-op here, as before 078) is found by the word once
 * the migration runs again. */
START_TEST(sql_078_reindexes_articles_written_before_it)
{
    const char *w = sp_t_unique_word(), *s = slug();
    sp_t_sql("CREATE OR REPLACE FUNCTION support_format_stripped(t text) RETURNS text"
             " LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT RETURN t");
    sp_t_resp_free(create(s, "Before", sp_t_fmt("Pro\u00adcessing %s", w),
                          "\"is_published\":true"));
    const char *before = found("processing", w);
    sp_t_sql("%s", sp_t_migration_text("078_search_format_characters.sql"));
    ck_assert_str_eq(before, "");
    /* Another request line: nginx keeps the first answer for 5 s. */
    ck_assert_str_eq(found("Processing", w), s);
}
END_TEST

/* sql/078's list is core/utf8's sp_utf8_format (Unicode Cf) and U+034F,
 * code point for code point (kept equal, as sp_utf8_cjk is to sql/055):
 * what C calls a format character is what search reads past. */
START_TEST(sql_078_strips_the_format_characters_c_knows)
{
    const char *sql = sp_t_sql("SELECT string_agg(cp::text, ',' ORDER BY cp)"
                               " FROM generate_series(1, 1114111) cp"
                               " WHERE cp NOT BETWEEN 55296 AND 57343"
                               "   AND support_format_stripped(chr(cp)) = ''");
    const char *c = "";
    for (uint32_t cp = 1; cp <= 0x10ffff; cp++)
        if (sp_utf8_format(cp) || cp == 0x34f)
            c = sp_t_fmt("%s%s%u", c, *c != '\0' ? "," : "", cp);
    ck_assert_str_eq(sql, c);
}
END_TEST

/* QA: a CJK match was found and ranked but never marked, and a CJK-only
 * query's snippet was the text's start (ts_headline reads a CJK run as
 * one word and matched nothing in it), here 200 characters before the
 * match. The snippet now shows the match's place, marked: the run, or
 * its pairs; a mixed query marks both words and CJK text. */
START_TEST(search_marks_cjk_matches_in_the_snippet)
{
    const char *tag = sp_t_fmt("t%s", sp_t_unique_word()), *intro = "";
    for (int i = 0; i < 40; i++)
        intro = sp_t_fmt("%s这是介绍。", intro);
    sp_t_resp_free(create(slug(), "政策",
                          sp_t_fmt("Refund policy. %s我们的政策：退款需要五天。请联系客服。\n\n"
                                   "代码 `<退款>` 与 需要……五天", intro),
                          sp_t_fmt("\"is_published\":true,\"tags\":[%s]", sp_t_jq(tag))));
    const char *place = "我们的政策：<mark>退款</mark>需要五天。请联系客服。";
    const char *snip = snippet_of("退款", tag);
    ck_assert_msg(strncmp(snip, place, strlen(place)) == 0, "snippet %s", snip);
    ck_assert_msg(strstr(snip, "这是介绍。这是介绍。") == NULL, "the text's start in %s", snip);
    /* a second match, in brackets: the brackets escaped around the mark */
    ck_assert_msg(strstr(snip, "&lt;<mark>退款</mark>&gt;") != NULL, "snippet %s", snip);
    snip = snippet_of("需要五天", tag);
    ck_assert_msg(strstr(snip, "退款<mark>需要五天</mark>。") != NULL, "snippet %s", snip);
    ck_assert_msg(strstr(snip, "<mark>需要</mark>……<mark>五天</mark>") != NULL,
                  "the pairs apart in %s", snip);
    snip = snippet_of("款", tag);
    ck_assert_msg(strstr(snip, "退<mark>款</mark>需要") != NULL, "snippet %s", snip);
    /* mixed: the word where ts_headline cut, the CJK match after " … " */
    snip = snippet_of("refund 退款", tag);
    const char *word = "<mark>Refund</mark> policy.";
    ck_assert_msg(strncmp(snip, word, strlen(word)) == 0 &&
                      strstr(snip, sp_t_fmt(" \xe2\x80\xa6 %s", place)) != NULL,
                  "snippet %s", snip);
    /* a Latin query: ts_headline's snippet, CJK text unmarked */
    snip = snippet_of("policy", tag);
    word = "Refund <mark>policy</mark>. 这是介绍。";
    ck_assert_msg(strncmp(snip, word, strlen(word)) == 0 &&
                      strstr(snip, "<mark>退") == NULL, "snippet %s", snip);
}
END_TEST

/* Half-width katakana (older Japanese systems and forms write it) and
 * full-width katakana find each other, as Lucene's CJKWidthFilter makes
 * them: sql/066 reads CJK text in NFKC before pairing it. Full-width
 * Latin letters were already folded (the unaccent dictionary). */
START_TEST(search_folds_katakana_and_latin_widths)
{
    const char *w = sp_t_unique_word(), *half = slug(), *full = slug(), *latin = slug();
    sp_t_resp_free(create(half, "ﾕｰｻﾞｰｶﾞｲﾄﾞ", sp_t_fmt("ｱｶｳﾝﾄの設定 %s", w),
                          "\"is_published\":true"));
    sp_t_resp_free(create(full, "パスワード", sp_t_fmt("パスワードを変更する %s", w),
                          "\"is_published\":true"));
    sp_t_resp_free(create(latin, "Ｒｅｆｕｎｄ", sp_t_fmt("ｐｏｌｉｃｙ %s", w),
                          "\"is_published\":true"));

    ck_assert_str_eq(found("ガイド", w), half);        /* a voiced mark joins its letter */
    ck_assert_str_eq(found("アカウント", w), half);
    ck_assert_str_eq(found("ﾕｰｻﾞｰｶﾞｲﾄﾞ", w), half);  /* as written */
    ck_assert_str_eq(found("ﾊﾟｽﾜｰﾄﾞ", w), full);      /* and the other way */
    ck_assert_str_eq(found("ｶﾞ", w), half);           /* one character */
    ck_assert_str_eq(found("refund policy", w), latin);
}
END_TEST

/* QA: the pairs of a CJK run were built in quadratic time (substr walks a
 * multibyte run from its start): 68,000 unbroken Han characters — a
 * valid article, under the 200 KiB limit — hit the statement timeout
 * and answered 503. Now they save, and a pair from the end is found. */
START_TEST(a_long_unbroken_cjk_article_saves_and_is_searchable)
{
    enum { N = 68000 };
    char *md = malloc(N * 3 + 1);
    ck_assert_ptr_nonnull(md);
    for (unsigned i = 0; i < N; i++) {
        unsigned c = 0x4e00 + (i * 7919u) % 20000u;
        md[i * 3] = (char)(0xe0 | (c >> 12));
        md[i * 3 + 1] = (char)(0x80 | ((c >> 6) & 0x3f));
        md[i * 3 + 2] = (char)(0x80 | (c & 0x3f));
    }
    md[N * 3] = '\0';
    const char *s = slug(), *pair = sp_t_fmt("%.6s", md + (N - 2) * 3);
    sp_t_resp_free(create(s, "长文", md, "\"is_published\":true"));
    free(md);
    struct sp_t_resp *r = search(sp_t_fmt("q=%s", sp_t_urlencode(pair)));
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jget(r->json, "data");
    bool found = false;
    for (size_t i = 0; i < json_object_array_length(data); i++)
        found |= strcmp(sp_t_jstr(json_object_array_get_idx(data, i), "slug"), s) == 0;
    ck_assert_msg(found, "%s did not find the article", pair);
    sp_t_resp_free(r);
}
END_TEST

/* QA: PostgreSQL's text-search parser is quadratic on a run of words
 * joined by '_' (each is tried as a host name to the run's end): an
 * article of "a_" * 100000 took minutes to index, past the statement
 * timeout, 503 on every save. sql/071 breaks such runs: it saves, and a
 * word of it, and of a table cell after a raw <br> (core/markdown), finds
 * it, and the snippet shows no pipes. */
START_TEST(an_article_of_one_long_underscore_run_saves_and_is_found)
{
    const char *w = sp_t_unique_word(), *w_cell = sp_t_unique_word(), *s = slug();
    const char *md = sp_t_fmt("| Day | Hours |\n|---|---|\n| Call us<br>%s | 9 |\n\n%s %s",
                              w_cell, w, sp_t_repeat("a_", 100000));
    sp_t_resp_free(create(s, "Underscores", md, "\"is_published\":true"));
    const char *queries[] = {w, w_cell, sp_t_fmt("call+%s", w_cell)};
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        struct sp_t_resp *r = search(sp_t_fmt("q=%s", queries[i]));
        sp_t_assert_json(r, 200);
        struct json_object *data = sp_t_jget(r->json, "data");
        ck_assert_msg(json_object_array_length(data) == 1, "q=%s: %s", queries[i], r->body);
        struct json_object *hit = json_object_array_get_idx(data, 0);
        ck_assert_str_eq(sp_t_jstr(hit, "slug"), s);
        ck_assert_msg(strchr(sp_t_jstr(hit, "snippet"), '|') == NULL, "%s", r->body);
        sp_t_resp_free(r);
    }
}
END_TEST

/* An article saved before the plain text dropped a table's pipes and a
 * strikethrough's tildes (core/markdown) gets the new text when its same
 * markdown is saved again: its HTML is as it was, and a patch that
 * changed nothing else used to update no row. A new version, so its
 * passages are cut anew. */
START_TEST(the_same_markdown_saved_again_renews_the_plain_text)
{
    const char *s = slug(), *md = "| Step | Detail |\n|---|---|\n| 1 | ~~old~~ way |\n";
    int64_t id = create_id(s, "Steps", md, NULL);
    ck_assert_str_eq(sp_t_sql("SELECT content_text FROM support_knowledge_articles"
                              " WHERE id = %lld", (long long)id),
                     "Step Detail\n\n1 old way\n");
    sp_t_sql("UPDATE support_knowledge_articles SET content_text = '| 1 | ~old~ way |'"
             " WHERE id = %lld", (long long)id);
    struct sp_t_resp *r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/articles/%lld",
                                                       (long long)id),
                                     sp_t_fmt("{\"content_markdown\":%s}", sp_t_jq(md)));
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), 2);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT content_text FROM support_knowledge_articles"
                              " WHERE id = %lld", (long long)id),
                     "Step Detail\n\n1 old way\n");
}
END_TEST

/* QA: a cursor of one search went on with another (?q=xss's with
 * ?q=refund answered 200 and an empty page; a tag's went on with the
 * unfiltered list). A cursor belongs to its q, tag and status: another
 * is 422 on cursor; the limit may change. */
START_TEST(a_cursor_belongs_to_its_search)
{
    const char *w = sp_t_unique_word(), *other = sp_t_unique_word();
    const char *tag = sp_t_fmt("t%s", sp_t_unique_word());
    const char *extra = sp_t_fmt("\"is_published\":true,\"tags\":[%s]", sp_t_jq(tag));
    for (int i = 0; i < 2; i++)
        sp_t_resp_free(create(slug(), sp_t_fmt("%s %s", w, other), "text", extra));
    const char *lists[][2] = {{sp_t_fmt("q=%s", w), sp_t_fmt("q=%s", other)},
                              {sp_t_fmt("tag=%s", tag), ""},
                              {sp_t_fmt("tag=%s", tag), sp_t_fmt("tag=%s&q=%s", tag, w)}};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        struct sp_t_resp *r = search(sp_t_fmt("%s&limit=1", lists[i][0]));
        sp_t_assert_json(r, 200);
        const char *cursor = sp_t_urlencode(sp_t_jstr(r->json, "next_cursor"));
        sp_t_resp_free(r);
        r = search(sp_t_fmt("%s&limit=2&cursor=%s", lists[i][0], cursor));
        sp_t_assert_json(r, 200);
        ck_assert_uint_eq(json_object_array_length(sp_t_jget(r->json, "data")), 1);
        sp_t_resp_free(r);
        r = search(sp_t_fmt("%s&cursor=%s", lists[i][1], cursor));
        sp_t_assert_invalid(r, "cursor", "invalid");
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_admin("GET", sp_t_fmt("/support/admin/articles?tag=%s&limit=1", tag),
                                     NULL);
    sp_t_assert_json(r, 200);
    const char *cursor = sp_t_urlencode(sp_t_jstr(r->json, "next_cursor"));
    sp_t_resp_free(r);
    r = sp_t_admin("GET", sp_t_fmt("/support/admin/articles?tag=%s&status=draft&cursor=%s", tag,
                                   cursor), NULL);
    sp_t_assert_invalid(r, "cursor", "invalid");
    sp_t_resp_free(r);
}
END_TEST

/* QA: the text of an inline <script> was published as text; summaries
 * were up to 350 characters. */
START_TEST(script_text_is_not_published_and_summaries_fit)
{
    const char *s = slug();
    struct sp_t_resp *r = create(s, "Guide", "Guide <script>alert('x')</script>",
                                 "\"is_published\":true");
    ck_assert_str_eq(sp_t_jstr(r->json, "html"), "<p>Guide </p>\n");
    ck_assert_str_eq(sp_t_jstr(r->json, "summary"), "Guide");
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/articles?q=alert"), NULL);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jget(r->json, "data");
    for (size_t i = 0; i < json_object_array_length(data); i++)
        ck_assert_str_ne(sp_t_jstr(json_object_array_get_idx(data, i), "slug"), s);
    sp_t_resp_free(r);

    r = create(slug(), "Long", sp_t_repeat("abcd ", 100), NULL);
    const char *summary = sp_t_jstr(r->json, "summary");
    ck_assert_uint_eq(strlen(summary), 56 * 5 - 1 + strlen("\u2026"));
    ck_assert_str_eq(summary + strlen(summary) - 3, "\u2026");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(anonymous_reads_are_micro_cached_and_unpublish_shows_within_max_age)
{
    const char *s = slug();
    int64_t id = create_id(s, "Cached", "cached body", "\"is_published\":true");
    struct sp_t_resp *r = public_get(s, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_header(r, "X-Cache-Status"), "MISS");
    sp_t_resp_free(r);
    r = public_get(s, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_header(r, "X-Cache-Status"), "HIT");
    ck_assert_uint_eq(sp_t_header_count(r, "X-Request-Id"), 1);
    sp_t_resp_free(r);
    /* Credentials bypass the cache, both ways. */
    r = sp_t_get(sp_t_fmt("/support/articles/%s", s), sp_t_user_new(SP_ROLE_CUSTOMER).token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_header(r, "X-Cache-Status"), "BYPASS");
    sp_t_resp_free(r);

    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/articles/%lld", (long long)id),
              "{\"is_published\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    /* Gone for a signed-in reader at once, for everyone within max-age. */
    r = sp_t_get(sp_t_fmt("/support/articles/%s", s), sp_t_user_new(SP_ROLE_CUSTOMER).token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    int waited = 0;
    for (;; waited++) {
        r = public_get(s, NULL);
        long status = r->status;
        sp_t_resp_free(r);
        if (status == 404)
            break;
        ck_assert_int_eq(status, 200);
        ck_assert_msg(waited < 60, "still served after the 60 s max-age");
        sleep(1);
    }
}
END_TEST

/* QA: /support/articles/a%2Db answered 404 where /support/articles/a-b is
 * an article. An encoded unreserved character is the character (RFC 3986
 * §6.2.2.2) in every path, an id's digits too; an encoded "/" and dot
 * segments still name nothing, and the spelling cannot reach a path nginx
 * keeps from the worker (/support/metrics). */
START_TEST(an_encoded_unreserved_character_names_the_same_path)
{
    const char *s = slug();
    int64_t id = create_id(s, "Encoded", "encoded body", "\"is_published\":true");
    char enc[256] = "%6b";
    for (const char *c = s + 1; *c != '\0' && strlen(enc) < sizeof(enc) - 4; c++)
        strcat(enc, *c == '-' ? "%2D" : (char[2]){*c, '\0'});
    struct sp_t_resp *r = public_get(enc, NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "slug"), s);
    sp_t_resp_free(r);
    const char *digits = sp_t_fmt("%lld", (long long)id);
    r = sp_t_admin("GET", sp_t_fmt("/support/admin/%%61rticles/%%3%c%s", digits[0], digits + 1),
                   NULL);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "id"), id);
    sp_t_resp_free(r);

    const char *dash = strchr(s, '-');
    const char *const none[] = {
        sp_t_fmt("/support/articles/%.*s%%2F%s", (int)(dash - s), s, dash + 1),
        "/support/articles/%2E%2E", "/support/articles/%2E", "/support/%6Detrics",
        "/support/metric%73",
    };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        r = sp_t_get(none[i], NULL);
        ck_assert_msg(r->status == 404, "%s: %ld", none[i], r->status);
        sp_t_resp_free(r);
    }
}
END_TEST

/* QA: /support/admin/articles/05 answered article 5. A row has one
 * address: a leading zero names nothing, in a path or an edit form. */
START_TEST(an_id_with_a_leading_zero_names_nothing)
{
    int64_t id = create_id(slug(), "Zero", "zero body", "\"is_published\":true");
    struct sp_t_resp *r = sp_t_admin("GET", sp_t_fmt("/support/admin/articles/0%lld",
                                                     (long long)id), NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/articles/00%lld", (long long)id),
                   "{\"title\":\"Not this\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_admin("GET", sp_t_fmt("/support/admin/articles/%lld", (long long)id), NULL);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "title"), "Zero");
    sp_t_resp_free(r);
}
END_TEST

/* A problem body names its request's id, which may be the client's own
 * X-Request-Id: the micro-cache kept the 404 and served the first
 * client's id to the next one (under the second one's header). */
START_TEST(an_anonymous_404_is_not_micro_cached)
{
    const char *s = slug();
    const char *ids[] = {sp_t_unique("kbrid-a"), sp_t_unique("kbrid-b")};
    for (size_t i = 0; i < 2; i++) {
        const char *const headers[] = {sp_t_fmt("X-Request-Id: %s", ids[i]), NULL};
        struct sp_t_resp *r = public_get(s, headers);
        sp_t_assert_problem(r, 404, "not_found");
        ck_assert_str_eq(sp_t_header(r, "X-Request-Id"), ids[i]);
        ck_assert_str_eq(sp_t_jstr(r->json, "request_id"), ids[i]);
        ck_assert_str_eq(sp_t_header(r, "X-Cache-Status"), "MISS");
        sp_t_resp_free(r);
    }
}
END_TEST

static Suite *
articles_suite(void)
{
    Suite *s = suite_create("articles");
    TCase *tc = sp_t_tcase(s, "admin");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, create_renders_markdown_and_answers_the_admin_view);
    tcase_add_test(tc, validation_conflicts_and_roles);
    tcase_add_test(tc, every_field_error_is_reported_at_once);
    tcase_add_test(tc, a_title_is_one_line_of_visible_text);
    tcase_add_test(tc, every_bad_tag_is_named_and_slugs_are_words);
    tcase_add_test(tc, publish_etag_304_if_match_and_delete);
    tcase_add_test(tc, a_patch_that_changes_nothing_keeps_the_version);
    tcase_add_test(tc, crlf_markdown_is_stored_with_lf);
    tcase_add_test(tc, raw_html_blocks_keep_their_text_everywhere);
    tcase_add_test(tc, format_characters_inside_words_are_searchable);
    tcase_add_test(tc, sql_078_reindexes_articles_written_before_it);
    tcase_add_test(tc, sql_078_strips_the_format_characters_c_knows);
    tcase_add_test(tc, a_reused_slug_is_a_new_etag);
    tc = sp_t_tcase(s, "public");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, search_ranks_title_above_body_with_escaped_snippets);
    tcase_add_test(tc, search_finds_the_words_of_a_code_spans_tags);
    tcase_add_test(tc, a_query_value_that_is_not_utf8_is_422_naming_it);
    tcase_add_test(tc, newest_first_and_admin_lists_with_drafts);
    tcase_add_test(tc, markdown_cannot_smuggle_script);
    tcase_add_test(tc, deeply_nested_markdown_is_refused);
    tcase_add_test(tc, a_search_with_no_word_to_find_is_422_and_negation_narrows);
    tcase_add_test(tc, search_folds_accents_and_splits_cjk_text);
    tcase_add_test(tc, search_marks_cjk_matches_in_the_snippet);
    tcase_add_test(tc, a_question_no_article_answers_whole_finds_articles_with_its_words);
    tcase_add_test(tc, a_snippet_is_one_line_of_text);
    tcase_add_test(tc, search_folds_katakana_and_latin_widths);
    tcase_add_test(tc, a_long_unbroken_cjk_article_saves_and_is_searchable);
    tcase_add_test(tc, an_article_of_one_long_underscore_run_saves_and_is_found);
    tcase_add_test(tc, a_cursor_belongs_to_its_search);
    tcase_add_test(tc, the_same_markdown_saved_again_renews_the_plain_text);
    tcase_add_test(tc, script_text_is_not_published_and_summaries_fit);
    tcase_add_test(tc, anonymous_reads_are_micro_cached_and_unpublish_shows_within_max_age);
    tcase_add_test(tc, an_anonymous_404_is_not_micro_cached);
    tcase_add_test(tc, an_encoded_unreserved_character_names_the_same_path);
    tcase_add_test(tc, an_id_with_a_leading_zero_names_nothing);
    return s;
}

int
main(void)
{
    return sp_t_run(articles_suite());
}
