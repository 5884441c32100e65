/*
 * test_ticket_read: GET /support/tickets (the caller's list: summaries,
 * status filter, cursor pagination) and GET /support/tickets/:publicId
 * (messages in time order, messages_limit/messages_cursor, ETag), plus
 * the 404s that keep customers out of each other's tickets (API.md §2, §4).
 */
#include "harness.h"

#include <ctype.h>
#include <string.h>

#define MAX_IDS 16

/* GET path as u (200 JSON list); copies the public ids of data[] into ids
 * (at most cap), sets *next to next_cursor (NULL when null) and returns
 * the number of items. Every item must be a summary view. */
static size_t
list_page(const struct sp_t_user *u, const char *path, const char **ids, size_t cap,
          const char **next)
{
    struct sp_t_resp *r = sp_t_get(path, u->token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    size_t n = json_object_array_length(data);
    ck_assert_msg(n <= cap, "%s returned %zu items, more than expected", path, n);
    for (size_t i = 0; i < n; i++) {
        struct json_object *t = json_object_array_get_idx(data, i);
        sp_t_assert_ticket_summary(t);
        ids[i] = sp_t_fmt("%s", sp_t_jstr(t, "public_id"));
    }
    struct json_object *nc = sp_t_jget(r->json, "next_cursor");
    ck_assert_msg(nc == NULL || json_object_is_type(nc, json_type_string),
                  "next_cursor must be a string or null");
    *next = nc != NULL ? sp_t_fmt("%s", json_object_get_string(nc)) : NULL;
    sp_t_resp_free(r);
    return n;
}

/* Asserts got[0..n) equals want[0..n) in order. */
static void
assert_ids(const char **got, size_t ngot, const char *const *want, size_t nwant)
{
    ck_assert_uint_eq(ngot, nwant);
    for (size_t i = 0; i < nwant; i++)
        ck_assert_msg(strcmp(got[i], want[i]) == 0, "item %zu is %s, want %s", i, got[i],
                      want[i]);
}

/* Follows next_cursor from `cursor` with limit 2, appending to ids; returns
 * how many were added and asserts every page but the last is full. */
static size_t
list_rest(const struct sp_t_user *u, const char *cursor, const char **ids, size_t cap)
{
    size_t total = 0;
    for (int pages = 0; cursor != NULL; pages++) {
        ck_assert_msg(pages < 10, "pagination does not end");
        const char *path = sp_t_fmt("/support/tickets?limit=2&cursor=%s", sp_t_urlencode(cursor));
        size_t n = list_page(u, path, ids + total, cap - total, &cursor);
        ck_assert_msg(n == 2 || cursor == NULL, "a page of %zu with a next_cursor", n);
        total += n;
    }
    return total;
}

static void
assert_unique(const char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            ck_assert_msg(strcmp(ids[i], ids[j]) != 0, "%s listed twice", ids[i]);
}

START_TEST(list_returns_only_callers_tickets_newest_first)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_CUSTOMER), b = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *t1 = sp_t_ticket_create(&a, "a one");
    const char *t2 = sp_t_ticket_create(&a, "a two");
    const char *t3 = sp_t_ticket_create(&a, "a three");
    const char *bt = sp_t_ticket_create(&b, "b one");

    const char *ids[MAX_IDS], *next;
    size_t n = list_page(&a, "/support/tickets", ids, MAX_IDS, &next);
    const char *const want_a[] = {t3, t2, t1};
    assert_ids(ids, n, want_a, 3);
    ck_assert_ptr_null(next);

    n = list_page(&b, "/support/tickets", ids, MAX_IDS, &next);
    const char *const want_b[] = {bt};
    assert_ids(ids, n, want_b, 1);
}
END_TEST

START_TEST(list_items_are_summaries_with_message_count)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "summary");
    struct sp_t_resp *reply = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", pid),
                                             u.token, "{\"body\":\"any news?\"}");
    sp_t_assert_json(reply, 201);
    const char *replied_at = sp_t_fmt("%s", sp_t_jstr(reply->json, "created_at"));
    sp_t_resp_free(reply);

    struct sp_t_resp *r = sp_t_get("/support/tickets", u.token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    ck_assert_uint_eq(json_object_array_length(data), 1);
    struct json_object *t = json_object_array_get_idx(data, 0);
    sp_t_assert_ticket_summary(t);  /* no messages, has last_message_at */
    ck_assert_str_eq(sp_t_jstr(t, "public_id"), pid);
    ck_assert_str_eq(sp_t_jstr(t, "subject"), "summary");
    ck_assert_int_eq(sp_t_jint(t, "message_count"), 2);
    ck_assert_str_eq(sp_t_jstr(t, "last_message_at"), replied_at);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(status_filter_returns_matching_tickets)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *t_open = sp_t_ticket_create(&u, "stays open");
    const char *t_prog = sp_t_ticket_create(&u, "in progress");
    const char *t_closed = sp_t_ticket_create(&u, "closed");
    sp_t_db_ticket_set_status(t_prog, "in_progress");
    sp_t_db_ticket_set_status(t_closed, "closed");

    const char *ids[MAX_IDS], *next;
    size_t n = list_page(&u, "/support/tickets?status=open,in_progress", ids, MAX_IDS, &next);
    const char *const want_active[] = {t_prog, t_open};
    assert_ids(ids, n, want_active, 2);

    n = list_page(&u, "/support/tickets?status=closed", ids, MAX_IDS, &next);
    const char *const want_closed[] = {t_closed};
    assert_ids(ids, n, want_closed, 1);

    n = list_page(&u, "/support/tickets?status=open", ids, MAX_IDS, &next);
    const char *const want_open[] = {t_open};
    assert_ids(ids, n, want_open, 1);
}
END_TEST

START_TEST(unknown_status_filter_is_422)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_get("/support/tickets?status=open,bogus", u.token);
    sp_t_assert_invalid(r, "status", "invalid");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(limit_out_of_range_is_422)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const bad[] = {"0", "101", "-1", "abc", "2.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets?limit=%s", bad[i]), u.token);
        sp_t_assert_invalid(r, "limit", NULL);
        sp_t_resp_free(r);
    }
}
END_TEST

START_TEST(limit_of_1_and_100_is_accepted)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_get("/support/tickets?limit=1", u.token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_get("/support/tickets?limit=100", u.token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(cursor_pagination_visits_every_ticket_once)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *made[5];
    for (int i = 0; i < 5; i++)
        made[i] = sp_t_ticket_create(&u, sp_t_fmt("page %d", i));

    const char *ids[MAX_IDS], *cursor;
    size_t n = list_page(&u, "/support/tickets?limit=2", ids, MAX_IDS, &cursor);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_nonnull(cursor);
    n += list_rest(&u, cursor, ids + n, MAX_IDS - n);

    const char *const want[] = {made[4], made[3], made[2], made[1], made[0]};
    assert_ids(ids, n, want, 5);  /* 2 + 2 + 1, newest first, no gap */
    assert_unique(ids, n);
}
END_TEST

START_TEST(ticket_created_between_pages_causes_no_duplicates)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *made[5];
    for (int i = 0; i < 5; i++)
        made[i] = sp_t_ticket_create(&u, sp_t_fmt("stable %d", i));

    const char *ids[MAX_IDS], *cursor;
    size_t n = list_page(&u, "/support/tickets?limit=2", ids, MAX_IDS, &cursor);
    ck_assert_ptr_nonnull(cursor);
    const char *late = sp_t_ticket_create(&u, "created while paging");
    n += list_rest(&u, cursor, ids + n, MAX_IDS - n);

    /* The newcomer sorts before the cursor, so this walk never sees it. */
    const char *const want[] = {made[4], made[3], made[2], made[1], made[0]};
    assert_ids(ids, n, want, 5);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_ne(ids[i], late);
}
END_TEST

START_TEST(garbage_cursor_is_422)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const bad[] = {"garbage!!", "aGVsbG8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_t_resp *r = sp_t_get(
            sp_t_fmt("/support/tickets?cursor=%s", sp_t_urlencode(bad[i])), u.token);
        sp_t_assert_invalid(r, "cursor", NULL);
        sp_t_resp_free(r);
    }
}
END_TEST

START_TEST(get_ticket_returns_messages_in_time_order)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "ordered");
    int64_t r1 = sp_t_ticket_reply(&u, pid, "first reply");
    int64_t r2 = sp_t_ticket_reply(&u, pid, "second reply");

    struct sp_t_resp *r = sp_t_ticket_get(&u, pid);
    sp_t_assert_json(r, 200);
    sp_t_assert_ticket_view(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), pid);
    struct json_object *ms = sp_t_jarr(r->json, "messages");
    ck_assert_uint_eq(json_object_array_length(ms), 3);
    struct json_object *m0 = json_object_array_get_idx(ms, 0);
    struct json_object *m1 = json_object_array_get_idx(ms, 1);
    struct json_object *m2 = json_object_array_get_idx(ms, 2);
    ck_assert_str_eq(sp_t_jstr(m0, "body"), "About ordered");
    ck_assert_int_eq(sp_t_jint(m1, "id"), r1);
    ck_assert_str_eq(sp_t_jstr(m1, "body"), "first reply");
    ck_assert_int_eq(sp_t_jint(m2, "id"), r2);
    ck_assert_str_eq(sp_t_jstr(m2, "body"), "second reply");
    /* Same fixed-width format, so string order is time order. */
    ck_assert_int_le(strcmp(sp_t_jstr(m0, "created_at"), sp_t_jstr(m1, "created_at")), 0);
    ck_assert_int_le(strcmp(sp_t_jstr(m1, "created_at"), sp_t_jstr(m2, "created_at")), 0);
    sp_t_assert_jnull(r->json, "messages_next_cursor");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(get_ticket_carries_etag_of_its_version)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "etag");
    struct sp_t_resp *r = sp_t_ticket_get(&u, pid);
    sp_t_ticket_etag(r, (long long)sp_t_jint(r->json, "version"));
    sp_t_resp_free(r);
}
END_TEST

/* GET of the customer's ticket view with If-None-Match: tags. */
static struct sp_t_resp *
get_if_none_match(const struct sp_t_user *u, const char *pid, const char *query,
                  const char *tags)
{
    return sp_t_get_if_none_match(sp_t_fmt("/support/tickets/%s%s", pid, query), u->token, tags);
}

/* QA: GET sent an ETag but ignored If-None-Match, so a client
 * revalidating got the whole body again. RFC 9110 §13.1.2: the current
 * ETag, W/ or not, in a list, or * is 304 with the ETag and no body;
 * anything else, a stale ETag among them, is 200. Each query below is
 * one no worker has seen, so the view is rendered, not cached (the cache
 * test below revalidates a cached one); one message fits every page
 * size, so every page is the same body with the same ETag. */
START_TEST(if_none_match_with_the_current_etag_is_304)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "conditional");
    struct sp_t_resp *r = sp_t_ticket_get(&u, pid);
    int64_t version = sp_t_jint(r->json, "version");
    const char *etag = sp_t_ticket_etag(r, version);
    sp_t_resp_free(r);
    sp_t_assert_ticket_revalidates(sp_t_fmt("/support/tickets/%s", pid), u.token, etag);
    /* another tag is 200; so is the old ETag once a reply changed the
     * ticket, and a bare "v<version>" of its new version */
    (void)sp_t_ticket_reply(&u, pid, "more");
    const char *other[] = {"\"nope\"", etag, sp_t_fmt("\"v%lld\"", (long long)version + 1)};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        r = get_if_none_match(&u, pid, sp_t_fmt("?messages_limit=%zu", 60 + i), other[i]);
        sp_t_assert_json(r, 200);
        ck_assert_uint_eq(json_object_array_length(sp_t_jarr(r->json, "messages")), 2);
        ck_assert_str_ne(sp_t_ticket_etag(r, version + 1), etag);
        sp_t_resp_free(r);
    }
    /* someone else's ticket is 404 whatever the tag */
    struct sp_t_user other_user = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = get_if_none_match(&other_user, pid, "", "*");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

/* A worker keeps its rendering of a customer's ticket view and checks it
 * against the ticket's version and category slug on every read. One
 * worker, so every read below meets the same cache. */
START_TEST(cached_view_is_served_only_while_version_and_category_are_unchanged)
{
    sp_t_stackctl("restart-api-with SUPPORT_WORKERS=1");
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *cat = sp_t_db_category_new(true);
    const char *pid = sp_t_ticket_create_json(
        &u, sp_t_fmt("{\"subject\":\"cached view\",\"description\":\"first words\","
                     "\"category\":\"%s\"}", cat));
    struct sp_t_resp *r1 = sp_t_ticket_get(&u, pid);
    sp_t_assert_json(r1, 200);

    /* Changed behind the version's back (no code path does this): the read
     * is the cached rendering, byte for byte -- the cache is in use. */
    (void)sp_t_sql("UPDATE support_ticket_messages SET body = 'rewritten' WHERE ticket_id ="
                   " (SELECT id FROM support_tickets WHERE public_id = '%s')", pid);
    struct sp_t_resp *r2 = sp_t_ticket_get(&u, pid);
    sp_t_assert_json(r2, 200);
    ck_assert_str_eq(r2->body, r1->body);
    ck_assert_str_eq(sp_t_header(r2, "ETag"), sp_t_header(r1, "ETag"));
    /* and a revalidation from the cache is 304 with that ETag */
    struct sp_t_resp *r304 = get_if_none_match(&u, pid, "", sp_t_header(r1, "ETag"));
    sp_t_assert_status(r304, 304);
    ck_assert_uint_eq(r304->body_len, 0);
    ck_assert_str_eq(sp_t_header(r304, "ETag"), sp_t_header(r1, "ETag"));
    sp_t_resp_free(r304);

    /* Any version change (here: a reply) is seen on the next read. */
    int64_t reply = sp_t_ticket_reply(&u, pid, "a reply");
    struct sp_t_resp *r3 = sp_t_ticket_get(&u, pid);
    sp_t_assert_json(r3, 200);
    struct json_object *ms = sp_t_jarr(r3->json, "messages");
    ck_assert_uint_eq(json_object_array_length(ms), 2);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(ms, 0), "body"), "rewritten");
    ck_assert_int_eq(sp_t_jint(json_object_array_get_idx(ms, 1), "id"), reply);
    ck_assert_int_eq(sp_t_jint(r3->json, "version"), sp_t_jint(r1->json, "version") + 1);
    sp_t_ticket_etag(r3, (long long)sp_t_jint(r3->json, "version"));

    /* The category's slug is part of the view without being the ticket's:
     * renaming it (an admin change) is seen at once too. */
    const char *renamed = sp_t_unique("renamed");
    (void)sp_t_sql("UPDATE support_categories SET slug = '%s' WHERE slug = '%s'", renamed, cat);
    /* QA: its ETag was "v<version>", which a rename does not move, so a
     * client revalidating its copy (the old slug) was told it is current;
     * the ETag covers the body now, at the same version. */
    struct sp_t_resp *r4 = get_if_none_match(&u, pid, "", sp_t_header(r3, "ETag"));
    sp_t_assert_json(r4, 200);
    ck_assert_str_eq(sp_t_jstr(r4->json, "category"), renamed);
    ck_assert_int_eq(sp_t_jint(r4->json, "version"), sp_t_jint(r3->json, "version"));
    ck_assert_str_ne(sp_t_ticket_etag(r4, sp_t_jint(r4->json, "version")),
                     sp_t_header(r3, "ETag"));

    /* Another customer gets 404, cached view or not. */
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r5 = sp_t_get(sp_t_fmt("/support/tickets/%s", pid), other.token);
    sp_t_assert_problem(r5, 404, "not_found");
    /* A deleted ticket is gone, not served from memory. */
    (void)sp_t_sql("DELETE FROM support_tickets WHERE public_id = '%s'", pid);
    struct sp_t_resp *r6 = sp_t_get(sp_t_fmt("/support/tickets/%s", pid), u.token);
    sp_t_assert_problem(r6, 404, "not_found");
    sp_t_stackctl("restart-api");
    sp_t_resp_free(r1);
    sp_t_resp_free(r2);
    sp_t_resp_free(r3);
    sp_t_resp_free(r4);
    sp_t_resp_free(r5);
    sp_t_resp_free(r6);
}
END_TEST

START_TEST(messages_limit_pages_through_messages)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "many messages");
    int64_t want[5] = {0};
    for (int i = 1; i < 5; i++)
        want[i] = sp_t_ticket_reply(&u, pid, sp_t_fmt("reply %d", i));

    int64_t got[8];
    size_t n = 0;
    const char *cursor = NULL;
    static const size_t page_sizes[] = {2, 2, 1};
    for (size_t page = 0; page < 3; page++) {
        const char *path = page == 0
            ? sp_t_fmt("/support/tickets/%s?messages_limit=2", pid)
            : sp_t_fmt("/support/tickets/%s?messages_limit=2&messages_cursor=%s", pid,
                       sp_t_urlencode(cursor));
        struct sp_t_resp *r = sp_t_get(path, u.token);
        sp_t_assert_json(r, 200);
        sp_t_assert_ticket_view(r->json);
        struct json_object *ms = sp_t_jarr(r->json, "messages");
        ck_assert_uint_eq(json_object_array_length(ms), page_sizes[page]);
        for (size_t i = 0; i < page_sizes[page]; i++)
            got[n++] = sp_t_jint(json_object_array_get_idx(ms, i), "id");
        struct json_object *nc = sp_t_jget(r->json, "messages_next_cursor");
        if (page < 2) {
            ck_assert_msg(json_object_is_type(nc, json_type_string),
                          "page %zu must carry a messages_next_cursor", page);
            cursor = sp_t_fmt("%s", json_object_get_string(nc));
        } else {
            ck_assert_msg(nc == NULL, "last page must have messages_next_cursor null");
        }
        sp_t_resp_free(r);
    }
    ck_assert_uint_eq(n, 5);
    for (size_t i = 1; i < 5; i++)
        ck_assert_int_eq(got[i], want[i]);  /* got[0] is the description */
    for (size_t i = 1; i < 5; i++)
        ck_assert_int_ne(got[0], got[i]);
}
END_TEST

START_TEST(messages_limit_out_of_range_is_422)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "bad messages_limit");
    static const char *const bad[] = {"0", "101", "abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_t_resp *r =
            sp_t_get(sp_t_fmt("/support/tickets/%s?messages_limit=%s", pid, bad[i]), u.token);
        sp_t_assert_invalid(r, "messages_limit", NULL);
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets/%s?messages_limit=100", pid),
                                   u.token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* A messages cursor is good on the ticket that handed it out (its id in
 * any letter case) and refused on another, even the same customer's: it
 * is sealed with the route and the ticket (core/cursor.h). */
START_TEST(messages_cursor_of_another_ticket_is_422)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "cursor's own ticket");
    const char *other = sp_t_ticket_create(&u, "another ticket");
    sp_t_ticket_reply(&u, pid, "a reply");
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets/%s?messages_limit=1", pid), u.token);
    sp_t_assert_json(r, 200);
    const char *cursor = sp_t_fmt("%s", sp_t_jstr(r->json, "messages_next_cursor"));
    sp_t_resp_free(r);

    r = sp_t_get(sp_t_fmt("/support/tickets/%s?messages_cursor=%s", other, sp_t_urlencode(cursor)),
                 u.token);
    sp_t_assert_invalid(r, "messages_cursor", NULL);
    sp_t_resp_free(r);
    char *lower = (char *)sp_t_fmt("%s", pid);
    for (char *c = lower; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    r = sp_t_get(sp_t_fmt("/support/tickets/%s?messages_cursor=%s", lower, sp_t_urlencode(cursor)),
                 u.token);
    sp_t_assert_json(r, 200);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(r->json, "messages")), 1);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(garbage_messages_cursor_is_422)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "bad messages_cursor");
    struct sp_t_resp *r = sp_t_get(
        sp_t_fmt("/support/tickets/%s?messages_cursor=%s", pid, sp_t_urlencode("garbage!!")),
        u.token);
    sp_t_assert_invalid(r, "messages_cursor", NULL);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(other_customers_ticket_is_404)
{
    struct sp_t_user owner = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&owner, "mine");

    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets/%s", pid), other.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);

    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", pid), other.token,
                       "{\"body\":\"let me in\"}");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);

    r = sp_t_ticket_get(&owner, pid);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(r->json, "messages")), 1);
    sp_t_resp_free(r);
}
END_TEST

/* The customer's own ticket by its public id in lower case (QA: 404):
 * Crockford base32 does not care about case; answers show upper case.
 * Another customer's stays a 404 in any case. */
START_TEST(a_public_id_in_any_case_names_the_ticket)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "any case");
    char lower[13];
    for (size_t i = 0; i < sizeof(lower); i++)
        lower[i] = (char)tolower((unsigned char)pid[i]);
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets/%s", lower), u.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "public_id"), pid);
    sp_t_resp_free(r);
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", lower), u.token,
                       "{\"body\":\"lower case\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    r = sp_t_ticket_get(&u, pid);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(r->json, "messages")), 2);
    sp_t_resp_free(r);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = sp_t_get(sp_t_fmt("/support/tickets/%s", lower), other.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(unknown_public_id_is_404)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    static const char *const ids[] = {"ZZZZZZZZZZZZ", "not-a-ticket", "123456789012"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets/%s", ids[i]), u.token);
        sp_t_assert_problem(r, 404, "not_found");
        sp_t_resp_free(r);
        r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", ids[i]), u.token,
                           "{\"body\":\"hello?\"}");
        sp_t_assert_problem(r, 404, "not_found");
        sp_t_resp_free(r);
    }
}
END_TEST

static Suite *
ticket_read_suite(void)
{
    Suite *s = suite_create("ticket_read");
    TCase *tc = sp_t_tcase(s, "list");
    tcase_add_test(tc, list_returns_only_callers_tickets_newest_first);
    tcase_add_test(tc, list_items_are_summaries_with_message_count);
    tcase_add_test(tc, status_filter_returns_matching_tickets);
    tcase_add_test(tc, unknown_status_filter_is_422);
    tcase_add_test(tc, limit_out_of_range_is_422);
    tcase_add_test(tc, limit_of_1_and_100_is_accepted);

    tc = sp_t_tcase(s, "pagination");
    tcase_add_test(tc, cursor_pagination_visits_every_ticket_once);
    tcase_add_test(tc, ticket_created_between_pages_causes_no_duplicates);
    tcase_add_test(tc, garbage_cursor_is_422);

    tc = sp_t_tcase(s, "one_ticket");
    tcase_add_test(tc, get_ticket_returns_messages_in_time_order);
    tcase_add_test(tc, get_ticket_carries_etag_of_its_version);
    tcase_add_test(tc, if_none_match_with_the_current_etag_is_304);
    tcase_add_test(tc, cached_view_is_served_only_while_version_and_category_are_unchanged);
    tcase_add_test(tc, messages_limit_pages_through_messages);
    tcase_add_test(tc, messages_limit_out_of_range_is_422);
    tcase_add_test(tc, garbage_messages_cursor_is_422);
    tcase_add_test(tc, messages_cursor_of_another_ticket_is_422);

    tc = sp_t_tcase(s, "ownership");
    tcase_add_test(tc, other_customers_ticket_is_404);
    tcase_add_test(tc, unknown_public_id_is_404);
    tcase_add_test(tc, a_public_id_in_any_case_names_the_ticket);
    return s;
}

int
main(void)
{
    return sp_t_run(ticket_read_suite());
}
