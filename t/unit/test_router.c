/*
 * test_router: the one route table (src/http/router.c). Paths match
 * segment by segment, ":name" captures one non-empty segment, a path known
 * under other methods yields 405 with its Allow list, anything else 404.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "http/http.h"
#include "http/router.h"
#include "unit.h"

static enum sp_rc
h_list(struct sp_req *r, struct sp_problem *p)
{
    (void)r;
    (void)p;
    return SP_OK;
}

static enum sp_rc
h_create(struct sp_req *r, struct sp_problem *p)
{
    (void)r;
    (void)p;
    return SP_OK;
}

static enum sp_rc
h_show(struct sp_req *r, struct sp_problem *p)
{
    (void)r;
    (void)p;
    return SP_OK;
}

static enum sp_rc
h_other(struct sp_req *r, struct sp_problem *p)
{
    (void)r;
    (void)p;
    return SP_OK;
}

static const struct sp_route routes[] = {
    {SP_GET, "/support/healthz", h_other, SP_ROLE_NONE},
    {SP_GET, "/support/tickets", h_list, SP_ROLE_CUSTOMER},
    {SP_POST, "/support/tickets", h_create, SP_ROLE_CUSTOMER},
    {SP_GET, "/support/tickets/:publicId", h_show, SP_ROLE_CUSTOMER},
    {SP_GET, "/support/tickets/:publicId/messages", h_other, SP_ROLE_CUSTOMER},
    {SP_POST, "/support/tickets/:publicId/messages", h_create, SP_ROLE_CUSTOMER},
    {SP_PATCH, "/support/agent/tickets/:id", h_other, SP_ROLE_AGENT},
    {SP_GET, "/support/agent/tickets/:id/messages/:messageId", h_show, SP_ROLE_AGENT},
    /* The same path twice under GET (e.g. a literal and a parameter): the
     * Allow list must still name each method once. */
    {SP_GET, "/support/agent/me", h_other, SP_ROLE_AGENT},
    {SP_GET, "/support/agent/:what", h_other, SP_ROLE_AGENT},
    {SP_PATCH, "/support/agent/me", h_other, SP_ROLE_AGENT},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static struct sp_arena arena;
static struct sp_req req;
static const struct sp_route *found;
static char allow[128];

static void
setup(void)
{
    sp_arena_init(&arena, 4096);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

static enum sp_route_result
route(enum sp_method m, const char *path)
{
    memset(&req, 0, sizeof(req));
    req.arena = &arena;
    req.method = m;
    req.path = path;
    req.query = "";
    found = NULL;
    memset(allow, 'X', sizeof(allow));
    return sp_router_match(routes, NROUTES, &req, &found, allow, sizeof(allow));
}

START_TEST(exact_path_matches_its_route)
{
    ck_assert_int_eq(route(SP_GET, "/support/healthz"), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[0]);
    ck_assert_uint_eq(req.nparams, 0);
    ck_assert_int_eq(route(SP_POST, "/support/tickets"), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[2]);
    ck_assert(found->handler == h_create);
}
END_TEST

START_TEST(method_picks_the_route_for_the_same_path)
{
    ck_assert_int_eq(route(SP_GET, "/support/tickets"), SP_ROUTE_FOUND);
    ck_assert(found->handler == h_list);
    ck_assert_int_eq(route(SP_POST, "/support/tickets"), SP_ROUTE_FOUND);
    ck_assert(found->handler == h_create);
}
END_TEST

START_TEST(parameter_is_captured)
{
    ck_assert_int_eq(route(SP_GET, "/support/tickets/7KQ2M9XD4TRA"), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[3]);
    ck_assert_uint_eq(req.nparams, 1);
    ck_assert_str_eq(req.params[0], "7KQ2M9XD4TRA");
}
END_TEST

START_TEST(parameter_in_the_middle_is_captured)
{
    ck_assert_int_eq(route(SP_POST, "/support/tickets/ABC/messages"), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[5]);
    ck_assert_uint_eq(req.nparams, 1);
    ck_assert_str_eq(req.params[0], "ABC");
}
END_TEST

START_TEST(two_parameters_are_captured_in_order)
{
    ck_assert_int_eq(route(SP_GET, "/support/agent/tickets/42/messages/9001"), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[7]);
    ck_assert_uint_eq(req.nparams, 2);
    ck_assert_str_eq(req.params[0], "42");
    ck_assert_str_eq(req.params[1], "9001");
}
END_TEST

START_TEST(parameters_are_raw_not_decoded)
{
    ck_assert_int_eq(route(SP_GET, "/support/tickets/a%20b"), SP_ROUTE_FOUND);
    ck_assert_str_eq(req.params[0], "a%20b");
}
END_TEST

static const char *
path(const char *raw)
{
    return sp_router_path(&arena, raw, strlen(raw));
}

/* RFC 3986 §6.2.2.2: an encoded unreserved character is the character
 * (nginx matched its locations on the decoded path); every other escape
 * stays as sent, and nothing is decoded twice. */
START_TEST(path_decodes_only_unreserved_escapes)
{
    ck_assert_str_eq(path("/support/articles/a%2Db"), "/support/articles/a-b");
    ck_assert_str_eq(path("/a%2db/%41%7a%30%2E%5F%7E%7e"), "/a-b/Az0._~~");
    ck_assert_str_eq(path("/plain-path"), "/plain-path");
    static const char *const kept[] = {
        "/a%2Fb", "/a%2fb", "/a%20b", "/a%25", "/a%252D", "/a%00", "/a%C3%A9", "/a%zz",
        "/a%2", "/a%", "/a%3F", "/a%23", "/a%2B", "/a%3A%40%21%24", "/a%7F",
    };
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        ck_assert_str_eq(path(kept[i]), kept[i]);
    ck_assert_str_eq(path("/a%252D%2D"), "/a%252D-");
    ck_assert_str_eq(path("/a%%2D%"), "/a%-%");  /* a bad escape ends nothing */
    /* Read by length: the query's '?' is not part of it. */
    ck_assert_str_eq(sp_router_path(&arena, "/a%2Db?x=%2D", 6), "/a-b");
}
END_TEST

START_TEST(encoded_unreserved_characters_route_like_themselves)
{
    ck_assert_int_eq(route(SP_GET, path("/support/tickets/%31%32")), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[3]);
    ck_assert_str_eq(req.params[0], "12");
    ck_assert_int_eq(route(SP_GET, path("/support/%74ickets/AB%2DC/%6Dessages")),
                     SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[4]);
    ck_assert_str_eq(req.params[0], "AB-C");
    ck_assert_int_eq(route(SP_GET, path("/support/%68ealth%7A")), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[0]);
}
END_TEST

/* An encoded "/" is data, not a segment's end: one parameter, and never
 * the route the decoded path would name. */
START_TEST(encoded_slash_stays_inside_its_segment)
{
    ck_assert_int_eq(route(SP_GET, path("/support/tickets/ABC%2Fmessages")), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[3]);
    ck_assert_str_eq(req.params[0], "ABC%2Fmessages");
    ck_assert_int_eq(route(SP_GET, path("/support%2Fhealthz")), SP_ROUTE_NOT_FOUND);
}
END_TEST

/* nginx resolves "." and ".." (encoded too) before it picks a location:
 * such a path is not the one it matched, so it names nothing here. */
START_TEST(dot_segments_match_nothing)
{
    static const char *const dots[] = {
        "/support/tickets/..", "/support/tickets/%2E%2E", "/support/tickets/%2e.",
        "/support/tickets/./messages", "/support/tickets/%2E/messages",
        "/support/agent/../tickets/1/messages/2", "/support/agent/%2E%2E",
        "/./support/healthz", "/support/healthz/.",
    };
    for (size_t i = 0; i < sizeof(dots) / sizeof(dots[0]); i++)
        ck_assert_msg(route(SP_GET, path(dots[i])) == SP_ROUTE_NOT_FOUND, "%s", dots[i]);
    ck_assert_int_eq(route(SP_GET, path("/support/tickets/..a")), SP_ROUTE_FOUND);
    ck_assert_str_eq(req.params[0], "..a");
    ck_assert_int_eq(route(SP_GET, path("/support/tickets/...")), SP_ROUTE_FOUND);
}
END_TEST

START_TEST(trailing_slash_does_not_match)
{
    ck_assert_int_eq(route(SP_GET, "/support/healthz/"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "/support/tickets/ABC/"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "/support/tickets/"), SP_ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(empty_segment_does_not_match_a_parameter)
{
    ck_assert_int_eq(route(SP_GET, "/support/tickets//messages"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "/support/agent/tickets/1/messages/"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "/support/agent/tickets//messages/3"), SP_ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(unknown_path_is_not_found)
{
    ck_assert_int_eq(route(SP_GET, "/support/nothing"), SP_ROUTE_NOT_FOUND);
    ck_assert_ptr_null(found);
    ck_assert_str_eq(allow, "");
    ck_assert_int_eq(route(SP_GET, "/"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, ""), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "/support"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "/support/tickets/ABC/messages/extra"), SP_ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(segments_match_whole_not_by_prefix)
{
    ck_assert_int_eq(route(SP_GET, "/support/health"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "/support/healthzz"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "/Support/healthz"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "support/healthz"), SP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(route(SP_GET, "//support/healthz"), SP_ROUTE_NOT_FOUND);
}
END_TEST

/* HEAD is listed after GET: a GET route answers it (head_matches_a_get_route). */
START_TEST(other_method_on_known_path_is_bad_method_with_allow)
{
    ck_assert_int_eq(route(SP_DELETE, "/support/tickets"), SP_ROUTE_BAD_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD, POST");
    ck_assert_int_eq(route(SP_PUT, "/support/tickets/ABC/messages"), SP_ROUTE_BAD_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD, POST");
    ck_assert_int_eq(route(SP_POST, "/support/healthz"), SP_ROUTE_BAD_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD");
}
END_TEST

START_TEST(allow_list_names_each_method_once)
{
    ck_assert_int_eq(route(SP_DELETE, "/support/agent/me"), SP_ROUTE_BAD_METHOD);
    ck_assert_str_eq(allow, "GET, HEAD, PATCH");
}
END_TEST

START_TEST(allow_list_for_a_parameter_path)
{
    ck_assert_int_eq(route(SP_GET, "/support/agent/tickets/5"), SP_ROUTE_BAD_METHOD);
    ck_assert_str_eq(allow, "PATCH");
    ck_assert_ptr_null(found);
}
END_TEST

/* A list too long for the buffer ends at the last method that fit: never
 * a method cut in two, nor a later shorter one written over the first. */
START_TEST(allow_list_is_truncated_not_overflowed)
{
    static const size_t sizes[] = {3, 6, 12, 16};
    static const char *const want[] = {"", "", "GET, HEAD", "GET, HEAD, POST"};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char small[16];
        memset(small, 'X', sizeof(small));
        memset(&req, 0, sizeof(req));
        req.arena = &arena;
        req.method = SP_DELETE;
        req.path = "/support/tickets";
        ck_assert_int_eq(sp_router_match(routes, NROUTES, &req, &found, small, sizes[i]),
                         SP_ROUTE_BAD_METHOD);
        ck_assert_str_eq(small, want[i]);
    }
}
END_TEST

START_TEST(head_matches_a_get_route)
{
    ck_assert_int_eq(route(SP_HEAD, "/support/healthz"), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[0]);
    ck_assert_int_eq(route(SP_HEAD, "/support/tickets/XYZ"), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[3]);
    ck_assert_str_eq(req.params[0], "XYZ");
}
END_TEST

START_TEST(head_on_a_path_without_get_is_bad_method)
{
    ck_assert_int_eq(route(SP_HEAD, "/support/agent/tickets/5"), SP_ROUTE_BAD_METHOD);
    ck_assert_str_eq(allow, "PATCH");
}
END_TEST

START_TEST(earlier_route_wins_when_two_match)
{
    ck_assert_int_eq(route(SP_GET, "/support/agent/me"), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[8]);
    ck_assert_int_eq(route(SP_GET, "/support/agent/dashboard"), SP_ROUTE_FOUND);
    ck_assert_ptr_eq(found, &routes[9]);
    ck_assert_str_eq(req.params[0], "dashboard");
}
END_TEST

START_TEST(method_names_round_trip)
{
    for (int m = 0; m < SP_METHOD_OTHER; m++)
        ck_assert_int_eq(sp_method_parse(sp_method_name((enum sp_method)m)), m);
    ck_assert_int_eq(sp_method_parse("get"), SP_METHOD_OTHER);
    ck_assert_int_eq(sp_method_parse("TRACE"), SP_METHOD_OTHER);
    ck_assert_int_eq(sp_method_parse(""), SP_METHOD_OTHER);
}
END_TEST

static Suite *
router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("match");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, exact_path_matches_its_route);
    tcase_add_test(tc, method_picks_the_route_for_the_same_path);
    tcase_add_test(tc, parameter_is_captured);
    tcase_add_test(tc, parameter_in_the_middle_is_captured);
    tcase_add_test(tc, two_parameters_are_captured_in_order);
    tcase_add_test(tc, parameters_are_raw_not_decoded);
    tcase_add_test(tc, path_decodes_only_unreserved_escapes);
    tcase_add_test(tc, encoded_unreserved_characters_route_like_themselves);
    tcase_add_test(tc, encoded_slash_stays_inside_its_segment);
    tcase_add_test(tc, dot_segments_match_nothing);
    tcase_add_test(tc, trailing_slash_does_not_match);
    tcase_add_test(tc, empty_segment_does_not_match_a_parameter);
    tcase_add_test(tc, unknown_path_is_not_found);
    tcase_add_test(tc, segments_match_whole_not_by_prefix);
    tcase_add_test(tc, other_method_on_known_path_is_bad_method_with_allow);
    tcase_add_test(tc, allow_list_names_each_method_once);
    tcase_add_test(tc, allow_list_for_a_parameter_path);
    tcase_add_test(tc, allow_list_is_truncated_not_overflowed);
    tcase_add_test(tc, head_matches_a_get_route);
    tcase_add_test(tc, head_on_a_path_without_get_is_bad_method);
    tcase_add_test(tc, earlier_route_wins_when_two_match);
    tcase_add_test(tc, method_names_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(router_suite());
}
