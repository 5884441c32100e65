/*
 * test_ticket_list: what the customer's ticket list (GET /support/tickets)
 * answers beyond test_ticket_read's paging — who wrote each ticket's last
 * public message and when an agent last answered it ("new reply", API.md
 * §4), the booking_id filter, and empty parameters read as absent (§1).
 */
#include "harness.h"

#include <string.h>

/* The one item of u's list at path (a list of exactly one ticket). */
static struct json_object *
only_item(const struct sp_t_user *u, const char *path, struct sp_t_resp **keep)
{
    struct sp_t_resp *r = sp_t_get(path, u->token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    ck_assert_msg(json_object_array_length(data) == 1, "%s: %zu items", path,
                  json_object_array_length(data));
    *keep = r;
    return json_object_array_get_idx(data, 0);
}

/* The list item's last_message_from and last_agent_reply_at (NULL: null). */
static void
assert_last(const struct sp_t_user *u, const char *from, const char *agent_at)
{
    struct sp_t_resp *r;
    struct json_object *t = only_item(u, "/support/tickets", &r);
    sp_t_assert_ticket_summary(t);
    ck_assert_str_eq(sp_t_jstr(t, "last_message_from"), from);
    ck_assert_msg(sp_t_jhas(t, "last_agent_reply_at"), "no last_agent_reply_at");
    struct json_object *at = sp_t_jget(t, "last_agent_reply_at");
    if (agent_at == NULL)
        ck_assert_msg(at == NULL, "last_agent_reply_at %s, want null",
                      json_object_get_string(at));
    else
        ck_assert_str_eq(sp_t_jstr(t, "last_agent_reply_at"), agent_at);
    sp_t_resp_free(r);
}

/* POST json to path as who: 201, the message's created_at. */
static const char *
post_message(const char *path, const struct sp_t_user *who, const char *json)
{
    struct sp_t_resp *r = sp_t_post_json(path, who->token, json);
    sp_t_assert_json(r, 201);
    const char *at = sp_t_fmt("%s", sp_t_jstr(r->json, "created_at"));
    sp_t_resp_free(r);
    return at;
}

/* QA: a list item had last_message_at and message_count but not who wrote
 * last, so a client could not show "new reply". Internal notes never
 * count, nor move either field. */
START_TEST(list_items_say_who_wrote_last_and_when_an_agent_last_answered)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), a = sp_t_user_new(SP_ROLE_AGENT);
    const char *pid = sp_t_ticket_create(&c, "new reply");
    const char *agent_path = sp_t_fmt("/support/agent/tickets/%s/messages", pid);
    const char *customer_path = sp_t_fmt("/support/tickets/%s/messages", pid);
    assert_last(&c, "customer", NULL);

    /* a note before any answer: still the customer's, still no answer */
    post_message(agent_path, &a, "{\"body\":\"check the booking\",\"is_internal\":true}");
    assert_last(&c, "customer", NULL);

    const char *answered = post_message(agent_path, &a, "{\"body\":\"We are on it.\"}");
    assert_last(&c, "agent", answered);

    post_message(customer_path, &c, "{\"body\":\"thanks, any news?\"}");
    assert_last(&c, "customer", answered);

    /* a note after the customer's message moves nothing */
    post_message(agent_path, &a, "{\"body\":\"waiting on the provider\",\"is_internal\":true}");
    assert_last(&c, "customer", answered);

    const char *again = post_message(agent_path, &a, "{\"body\":\"Refunded.\"}");
    assert_last(&c, "agent", again);
    post_message(agent_path, &a, "{\"body\":\"closing soon\",\"is_internal\":true}");
    assert_last(&c, "agent", again);
}
END_TEST

/* The customer's ticket with this booking_id (NULL: none): its public id. */
static const char *
create_with_booking(const struct sp_t_user *u, const char *booking)
{
    const char *extra = booking != NULL ? sp_t_fmt(",\"booking_id\":%s", sp_t_jq(booking)) : "";
    struct sp_t_resp *r = sp_t_post_json(
        "/support/tickets", u->token,
        sp_t_fmt("{\"subject\":\"booking\",\"description\":\"about it\"%s}", extra));
    sp_t_assert_json(r, 201);
    const char *pid = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    sp_t_resp_free(r);
    return pid;
}

/* The public ids of u's list at path, newest first, comma-joined; *next
 * its next_cursor (NULL: the last page). */
static const char *
list_ids(const struct sp_t_user *u, const char *path, const char **next)
{
    struct sp_t_resp *r = sp_t_get(path, u->token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    const char *ids = "";
    for (size_t i = 0; i < json_object_array_length(data); i++)
        ids = sp_t_fmt("%s%s%s", ids, i > 0 ? "," : "",
                       sp_t_jstr(json_object_array_get_idx(data, i), "public_id"));
    struct json_object *nc = sp_t_jget(r->json, "next_cursor");
    if (next != NULL)
        *next = nc != NULL ? sp_t_fmt("%s", json_object_get_string(nc)) : NULL;
    sp_t_resp_free(r);
    return ids;
}

/* QA: ?booking_id=BK-777 was ignored (every ticket came back). It is an
 * exact filter, read as the create reads booking_id (trimmed, one line,
 * at most 64 characters), over the caller's tickets only. */
START_TEST(booking_id_filters_the_list_exactly)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER), o = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *b1 = create_with_booking(&c, "BK-777");
    create_with_booking(&c, "BK-7770");
    create_with_booking(&c, NULL);
    const char *b2 = create_with_booking(&c, "BK-777");
    create_with_booking(&o, "BK-777");

    const char *want = sp_t_fmt("%s,%s", b2, b1), *next;
    ck_assert_str_eq(list_ids(&c, "/support/tickets?booking_id=BK-777", &next), want);
    ck_assert_ptr_null(next);
    /* trimmed as the create trims it; exact otherwise (no case folding) */
    ck_assert_str_eq(list_ids(&c, "/support/tickets?booking_id=%20BK-777%20", NULL), want);
    ck_assert_str_eq(list_ids(&c, "/support/tickets?booking_id=bk-777", NULL), "");
    ck_assert_str_eq(list_ids(&c, "/support/tickets?booking_id=BK-999", NULL), "");
    /* with the status filter, and paged: the cursor keeps the filter */
    ck_assert_str_eq(list_ids(&c, "/support/tickets?booking_id=BK-777&status=open", NULL), want);
    ck_assert_str_eq(list_ids(&c, "/support/tickets?booking_id=BK-777&status=closed", NULL), "");
    ck_assert_str_eq(list_ids(&c, "/support/tickets?booking_id=BK-777&limit=1", &next), b2);
    ck_assert_ptr_nonnull(next);
    ck_assert_str_eq(list_ids(&c, sp_t_fmt("/support/tickets?booking_id=BK-777&limit=1&cursor=%s",
                                           sp_t_urlencode(next)), &next), b1);
    ck_assert_ptr_null(next);

    struct sp_t_resp *r = sp_t_get(
        sp_t_fmt("/support/tickets?booking_id=%s", sp_t_repeat("B", 65)), c.token);
    sp_t_assert_invalid(r, "booking_id", "too_long");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the query string has invalid parameters");
    sp_t_resp_free(r);
    static const char *const bad[][2] = {{"BK%0A777", "invalid"}, {"%20%20", "empty"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = sp_t_get(sp_t_fmt("/support/tickets?booking_id=%s", bad[i][0]), c.token);
        sp_t_assert_invalid(r, "booking_id", bad[i][1]);
        sp_t_resp_free(r);
    }
}
END_TEST

/* An empty parameter is the parameter absent, in every list (API.md §1;
 * QA: cursor= was 422 "is not a cursor returned by this list" for clients
 * that always send it); a cursor of a page asked with empty filters goes
 * on without them, and back. */
START_TEST(empty_parameters_are_absent)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *t1 = create_with_booking(&c, "BK-1");
    const char *t2 = create_with_booking(&c, NULL);
    const char *all = sp_t_fmt("%s,%s", t2, t1), *next;
    ck_assert_str_eq(list_ids(&c, "/support/tickets?cursor=", NULL), all);
    ck_assert_str_eq(list_ids(&c, "/support/tickets?status=&booking_id=&limit=&cursor=", NULL),
                     all);
    ck_assert_str_eq(list_ids(&c, "/support/tickets?booking_id&status", NULL), all);
    ck_assert_str_eq(list_ids(&c, "/support/tickets?limit=1&booking_id=&cursor=", &next), t2);
    ck_assert_str_eq(list_ids(&c, sp_t_fmt("/support/tickets?limit=1&cursor=%s",
                                           sp_t_urlencode(next)), NULL), t1);
    ck_assert_str_eq(list_ids(&c, "/support/tickets?limit=1", &next), t2);
    ck_assert_str_eq(list_ids(&c, sp_t_fmt("/support/tickets?limit=1&status=&cursor=%s",
                                           sp_t_urlencode(next)), NULL), t1);
    /* a value of commas only is a value: still refused */
    struct sp_t_resp *r = sp_t_get("/support/tickets?status=,", c.token);
    sp_t_assert_invalid(r, "status", NULL);
    sp_t_resp_free(r);
}
END_TEST

static Suite *
ticket_list_suite(void)
{
    Suite *s = suite_create("ticket_list");
    TCase *tc = sp_t_tcase(s, "list");
    tcase_add_test(tc, list_items_say_who_wrote_last_and_when_an_agent_last_answered);
    tcase_add_test(tc, booking_id_filters_the_list_exactly);
    tcase_add_test(tc, empty_parameters_are_absent);
    return s;
}

int
main(void)
{
    return sp_t_run(ticket_list_suite());
}
