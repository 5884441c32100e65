/*
 * test_query: query strings validated from field tables
 * (src/http/query.c): every type, defaults, bounds, and that every bad
 * parameter is reported before the reader returns.
 */
#include <check.h>
#include <string.h>

#include "core/arena.h"
#include "core/cursor.h"
#include "core/problem.h"
#include "http/http.h"
#include "http/query.h"
#include "unit.h"

static struct sp_arena arena;
static struct sp_req req;
static struct sp_problem prob;

static const char *const colors[] = {"red", "green", "blue", NULL};

enum { F_LIMIT, F_NAME, F_COLOR, F_COLORS, F_TAGS, F_SINCE, F_CURSOR, F_Q, F_COUNT };

static const struct sp_query_spec specs[F_COUNT] = {
    [F_LIMIT] = {"limit", SP_QUERY_INT, 1, 100, 25, NULL, NULL, NULL, NULL, "1 to 100", true},
    [F_NAME] = {"name", SP_QUERY_STRING, 1, 5, 0, NULL, NULL, "abc", NULL, "a, b, c; 1 to 5"},
    [F_COLOR] = {"color", SP_QUERY_ENUM, 0, 0, 2, colors, NULL, NULL, NULL, "a color"},
    [F_COLORS] = {"colors", SP_QUERY_SET, 0, 0, 0, colors, NULL, NULL, NULL, "colors"},
    [F_TAGS] = {"tags", SP_QUERY_LIST, 1, 3, 0, NULL, NULL, "xyz", NULL, "tags"},
    [F_SINCE] = {"since", SP_QUERY_TIMESTAMP, 0, 0, 0, NULL, NULL, NULL, NULL, "a time"},
    [F_CURSOR] = {"cursor", SP_QUERY_CURSOR, 0, 0, 0, NULL, NULL, NULL, "k", "a cursor"},
    [F_Q] = {"q", SP_QUERY_STRING, 0, 200, 0, NULL, NULL, NULL, NULL, "any text"},
};

static struct sp_query_value v[F_COUNT];

static void
setup(void)
{
    sp_arena_init(&arena, 1024);
    memset(&req, 0, sizeof(req));
    req.arena = &arena;
    req.route = "/support/tickets/:id";
    req.params[0] = "abc";
    req.nparams = 1;
    sp_problem_init(&prob);
    static const unsigned char secret[32] = "test_query's cursor key........";
    ck_assert(sp_cursor_set_key(secret));
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

static enum sp_rc
read_query(const char *q)
{
    req.query = q;
    return sp_query_read(&req, specs, F_COUNT, v, &prob);
}

static bool
field_error(const char *field)
{
    for (size_t i = 0; i < prob.nerrors; i++)
        if (strcmp(prob.errors[i].field, field) == 0)
            return true;
    return false;
}

START_TEST(absent_parameters_take_their_defaults)
{
    ck_assert_int_eq(read_query(""), SP_OK);
    ck_assert(!v[F_LIMIT].present);
    ck_assert_int_eq(v[F_LIMIT].i, 25);
    ck_assert_int_eq(v[F_COLOR].i, 2);
    ck_assert_uint_eq(v[F_COLORS].set, 0);
    ck_assert_ptr_null(v[F_NAME].str);
    ck_assert_int_eq(v[F_CURSOR].i, 0);
}
END_TEST

/* A cursor belongs to its list's filters (QA: a cursor of ?q=xss went on
 * with ?q=refund): another value, a filter added or dropped is refused;
 * the paging (limit, the cursor) and unknown parameters may change, and
 * a list without filters keeps sp_req_scope's scope. */
START_TEST(cursor_belongs_to_its_filters)
{
    req.query = "q=xss&colors=red&limit=5";
    const char *scope = sp_query_scope(&req, specs, F_COUNT);
    const char *cursor = sp_cursor_encode(&arena, scope, "k", 42);
    static const char *const others[] = {"q=refund&colors=red", "q=xss", "colors=red",
                                         "q=xss&colors=red&name=a", "q=xs&colors=red", ""};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_int_eq(read_query(sp_arena_sprintf(&arena, "%s&cursor=%s", others[i], cursor)),
                         SP_INVALID);
        ck_assert_msg(field_error("cursor"), "%s", others[i]);
    }
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query(sp_arena_sprintf(&arena, "limit=9&colors=red&x=1&q=%%78ss&"
                                                 "cursor=%s", cursor)), SP_OK);
    ck_assert_int_eq(v[F_CURSOR].i, 42);
    req.query = "limit=3&cursor=abc&x=y";
    ck_assert_str_eq(sp_query_scope(&req, specs, F_COUNT), sp_req_scope(&req));
    /* A value is length-prefixed: no two filter sets read alike. */
    req.query = "name=a%3F1%3Aq%3D1%3Ab";
    const char *one = sp_query_scope(&req, specs, F_COUNT);
    req.query = "name=a&q=b";
    ck_assert_str_ne(one, sp_query_scope(&req, specs, F_COUNT));
}
END_TEST

START_TEST(valid_values_of_every_type_are_read)
{
    const char *filters = "name=abca&color=red&colors=blue,red&tags=x,,yz"
                          "&since=2026-11-24T09:15:02.125Z";
    req.query = filters;
    const char *cursor = sp_cursor_encode(&arena, sp_query_scope(&req, specs, F_COUNT), "k", 42);
    const char *q = sp_arena_sprintf(&arena, "limit=7&%s&cursor=%s&unknown=ignored", filters,
                                     cursor);
    ck_assert_int_eq(read_query(q), SP_OK);
    ck_assert_int_eq(v[F_LIMIT].i, 7);
    ck_assert_str_eq(v[F_NAME].str, "abca");
    ck_assert_int_eq(v[F_COLOR].i, 0);
    ck_assert_uint_eq(v[F_COLORS].set, (1u << 2) | 1u);
    ck_assert_uint_eq(v[F_TAGS].nitems, 2);
    ck_assert_str_eq(v[F_TAGS].items[1], "yz");
    ck_assert_int_eq(v[F_SINCE].ms, 1795511702125LL);
    ck_assert_int_eq(v[F_CURSOR].i, 42);
}
END_TEST

START_TEST(every_bad_parameter_is_reported_at_once)
{
    const char *q = "limit=0&name=abcabc&color=pink&colors=red,pink&tags=xxxx&since=yesterday"
                    "&cursor=nope";
    ck_assert_int_eq(read_query(q), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 7);
    const char *fields[] = {"limit", "name", "color", "colors", "tags", "since", "cursor"};
    for (size_t i = 0; i < 7; i++)
        ck_assert_msg(field_error(fields[i]), "no error for %s", fields[i]);
}
END_TEST

/* A value whose escapes cannot be decoded is refused, not read as absent:
 * "colors=red%00" must not drop the filter and widen the answer. */
START_TEST(a_badly_escaped_value_is_refused_not_absent)
{
    const char *bad[] = {"colors=red%00", "limit=%zz", "name=a%", "color=%4", "tags=x%00y"};
    const char *field[] = {"colors", "limit", "name", "color", "tags"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_int_eq(read_query(bad[i]), SP_INVALID);
        ck_assert_uint_eq(prob.nerrors, 1);
        ck_assert_msg(field_error(field[i]), "no error for %s", bad[i]);
        ck_assert_str_eq(prob.detail, "the query string has invalid parameters");
    }
    /* Good escapes and a bare or empty name still read as before. */
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query("name=%61b&limit=1%30"), SP_OK);
    ck_assert_str_eq(v[F_NAME].str, "ab");
    ck_assert_int_eq(v[F_LIMIT].i, 10);
    /* a bare name is an empty value: absent (empty_values_are_absent) */
    ck_assert_int_eq(read_query("name"), SP_OK);
    ck_assert(!v[F_NAME].present);
    ck_assert_int_eq(read_query("name=%20"), SP_INVALID);   /* ' ' is not in name's charset */
    ck_assert(!v[F_NAME].present);  /* refused: reported once, not handed on */
}
END_TEST

/* A value that decodes to bytes that are not UTF-8 is refused with the
 * parameter named, even where any character is allowed: it reached
 * PostgreSQL, which answered a vague 422 (?q=%ff, QA). */
START_TEST(a_value_that_is_not_utf8_is_refused_not_absent)
{
    const char *bad[] = {"q=%ff", "q=%FF%FE", "q=%C0%AF", "q=%ED%A0%80", "q=caf%C3",
                         "q=\xff", "q=a\xc3&q=ok", "colors=red%ff", "tags=x,%80"};
    const char *field[] = {"q", "q", "q", "q", "q", "q", "q", "colors", "tags"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_msg(read_query(bad[i]) == SP_INVALID, "accepted %s", bad[i]);
        ck_assert_uint_eq(prob.nerrors, 1);
        ck_assert_msg(field_error(field[i]), "no error for %s", bad[i]);
        ck_assert_str_eq(prob.errors[0].code, "invalid");
        ck_assert_str_eq(prob.detail, "the query string has invalid parameters");
    }
    ck_assert_str_eq(prob.errors[0].message,
                     "has a bad percent-escape, %00 or bytes that are not UTF-8");
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query("q=caf%C3%A9+%F0%9F%98%80&name=a"), SP_OK);
    ck_assert_str_eq(v[F_Q].str, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    ck_assert_int_eq(read_query("q=caf\xc3\xa9"), SP_OK);
    ck_assert_str_eq(v[F_Q].str, "caf\xc3\xa9");
}
END_TEST

START_TEST(bounds_and_charsets_are_exact)
{
    ck_assert_int_eq(read_query("limit=100&name=a"), SP_OK);
    ck_assert_int_eq(read_query("limit=101"), SP_INVALID);
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query("limit=1x"), SP_INVALID);
    sp_problem_init(&prob);
    /* QA: a number is written one way ("01", "+5", " 5", "5 " were 1 and 5) */
    static const char *const loose[] = {"limit=01", "limit=%2B5", "limit=+5", "limit=%205",
                                        "limit=5%20", "limit=-", "limit=00"};
    for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
        ck_assert_msg(read_query(loose[i]) == SP_INVALID, "accepted %s", loose[i]);
        ck_assert(field_error("limit"));
        sp_problem_init(&prob);
    }
    ck_assert_int_eq(read_query("limit=10"), SP_OK);
    ck_assert_int_eq(v[F_LIMIT].i, 10);
    ck_assert_int_eq(read_query("name=abd"), SP_INVALID);
    sp_problem_init(&prob);
    /* a set of commas only is an error, a list of them no filter (an
     * empty value is neither: absent, empty_values_are_absent) */
    ck_assert_int_eq(read_query("colors=,"), SP_INVALID);
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query("tags=,"), SP_OK);
    ck_assert(v[F_TAGS].present);
    ck_assert_uint_eq(v[F_TAGS].nitems, 0);
    /* a cursor of another list is refused */
    const char *other = sp_cursor_encode(&arena, sp_req_scope(&req), "other", 42);
    ck_assert_int_eq(read_query(sp_arena_sprintf(&arena, "cursor=%s", other)), SP_INVALID);
    /* and one of the same list handed out for another path parameter
     * (another ticket's messages) */
    sp_problem_init(&prob);
    req.params[0] = "abd";
    const char *elsewhere = sp_cursor_encode(&arena, sp_req_scope(&req), "k", 42);
    req.params[0] = "abc";
    ck_assert_int_eq(read_query(sp_arena_sprintf(&arena, "cursor=%s", elsewhere)), SP_INVALID);
}
END_TEST

/* An empty value is the parameter absent, whatever its type (API.md §1;
 * QA: clients sending every parameter, cursor= on a first page and q=
 * from an empty search box, got 422): its default, no field error, and
 * no part of the cursors' scope, so a cursor of ?q= pages the list
 * without q and back. These were 422 before (name, colors, limit,
 * since, cursor: "is not a cursor returned by this list"). */
START_TEST(empty_values_are_absent)
{
    const char *q = "limit=&name=&color=&colors=&tags=&since=&cursor=&q=";
    ck_assert_int_eq(read_query(q), SP_OK);
    ck_assert_uint_eq(prob.nerrors, 0);
    for (int f = 0; f < F_COUNT; f++) {
        ck_assert_msg(!v[f].present, "%s= is present", specs[f].name);
        ck_assert_ptr_null(v[f].str);
    }
    ck_assert_int_eq(v[F_LIMIT].i, 25);
    ck_assert_int_eq(v[F_COLOR].i, 2);
    /* "%20" is no empty value: q takes it, name refuses it */
    ck_assert_int_eq(read_query("q=%20"), SP_OK);
    ck_assert_str_eq(v[F_Q].str, " ");
    ck_assert_int_eq(read_query("name=%20"), SP_INVALID);
    /* the scope leaves an empty filter out, as an absent one */
    req.query = "q=&colors=red&name=";
    const char *with_empty = sp_query_scope(&req, specs, F_COUNT);
    req.query = "colors=red";
    ck_assert_str_eq(with_empty, sp_query_scope(&req, specs, F_COUNT));
    const char *cursor = sp_cursor_encode(&arena, with_empty, "k", 7);
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query(sp_arena_sprintf(&arena, "colors=red&q=&cursor=%s", cursor)),
                     SP_OK);
    ck_assert_int_eq(v[F_CURSOR].i, 7);
}
END_TEST

/* A name is percent-decoded as a value is: "%73tatus" is status, so its
 * filter is read or refused, never dropped (QA: ?%73tatus=bogus answered
 * the whole queue). */
START_TEST(an_encoded_name_is_its_decoded_name)
{
    ck_assert_int_eq(read_query("%63olor=pink"), SP_INVALID);
    ck_assert(field_error("color"));
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query("%6c%69%6D%69%74=7&%63olors=blue&n%61me=a%62&t%61gs=x"), SP_OK);
    ck_assert_int_eq(v[F_LIMIT].i, 7);
    ck_assert_uint_eq(v[F_COLORS].set, 1u << 2);
    ck_assert_str_eq(v[F_NAME].str, "ab");
    ck_assert_str_eq(v[F_TAGS].items[0], "x");
    /* with a bad value: refused under the decoded name (bare, it is
     * absent: an empty value) */
    ck_assert_int_eq(read_query("n%61me=%20"), SP_INVALID);
    ck_assert(field_error("name"));
    ck_assert(!v[F_NAME].present);
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query("%6Cimit=%zz"), SP_INVALID);
    ck_assert(field_error("limit"));
    /* still exact otherwise: no case folding, '+' is a space */
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query("%4Cimit=0&c+olor=pink&color%20=pink"), SP_OK);
    ck_assert(!v[F_LIMIT].present);
}
END_TEST

/* Two spellings of one name are a repeated name: the first value counts,
 * as with "color=red&color=green". */
START_TEST(an_encoded_repeat_takes_the_first_value)
{
    ck_assert_int_eq(read_query("color=red&color=green"), SP_OK);
    ck_assert_int_eq(v[F_COLOR].i, 0);
    ck_assert_int_eq(read_query("color=red&%63olor=green"), SP_OK);
    ck_assert_int_eq(v[F_COLOR].i, 0);
    ck_assert_int_eq(read_query("%63olor=green&color=red"), SP_OK);
    ck_assert_int_eq(v[F_COLOR].i, 1);
    ck_assert_int_eq(read_query("%63olor=pink&color=red"), SP_INVALID);
    ck_assert(field_error("color"));
}
END_TEST

/* A name that does not decode (bad escape, %00, not UTF-8) is no spec'd
 * name: ignored as an unknown one is, and the next spelling is read. */
START_TEST(an_undecodable_name_is_an_unknown_name)
{
    const char *q[] = {"%6=pink&color=red", "colo%72%=pink&color=red", "color%00=pink&color=red",
                       "%FFcolor=pink&color=red", "c%C3olor=pink&color=red"};
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        ck_assert_msg(read_query(q[i]) == SP_OK, "refused %s", q[i]);
        ck_assert_int_eq(v[F_COLOR].i, 0);
    }
}
END_TEST

/* A length counts code points, not bytes (API.md §1): 200 × '退' is 600
 * bytes and within q's 200 (QA: 167 × '退' was over the queue's 500). */
START_TEST(lengths_count_code_points)
{
    const char *cjk = "%E9%80%80", *e = "\xc3\xa9";
    char *q = sp_arena_alloc(&arena, 2 + 201 * strlen(cjk) + 1);
    strcpy(q, "q=");
    for (int i = 0; i < 200; i++)
        strcat(q, cjk);
    ck_assert_int_eq(read_query(q), SP_OK);
    ck_assert_uint_eq(strlen(v[F_Q].str), 600);
    strcat(q, cjk);
    ck_assert_int_eq(read_query(q), SP_INVALID);
    ck_assert(field_error("q"));
    /* a list's items alike; a charset still allows bytes */
    static const struct sp_query_spec items = {"t", SP_QUERY_LIST, 1, 2, 0, NULL, NULL,
                                               NULL, NULL, "t", false};
    struct sp_query_value t;
    sp_problem_init(&prob);
    req.query = sp_arena_sprintf(&arena, "t=%s%s,a", e, e);
    ck_assert_int_eq(sp_query_read(&req, &items, 1, &t, &prob), SP_OK);
    req.query = sp_arena_sprintf(&arena, "t=%s%s%s", e, e, e);
    ck_assert_int_eq(sp_query_read(&req, &items, 1, &t, &prob), SP_INVALID);
    sp_problem_init(&prob);
    ck_assert_int_eq(read_query(sp_arena_sprintf(&arena, "name=a%s", e)), SP_INVALID);
    ck_assert(field_error("name"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("query");
    TCase *tc = tcase_create("read");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, absent_parameters_take_their_defaults);
    tcase_add_test(tc, valid_values_of_every_type_are_read);
    tcase_add_test(tc, cursor_belongs_to_its_filters);
    tcase_add_test(tc, every_bad_parameter_is_reported_at_once);
    tcase_add_test(tc, a_badly_escaped_value_is_refused_not_absent);
    tcase_add_test(tc, a_value_that_is_not_utf8_is_refused_not_absent);
    tcase_add_test(tc, bounds_and_charsets_are_exact);
    tcase_add_test(tc, an_encoded_name_is_its_decoded_name);
    tcase_add_test(tc, an_encoded_repeat_takes_the_first_value);
    tcase_add_test(tc, an_undecodable_name_is_an_unknown_name);
    tcase_add_test(tc, lengths_count_code_points);
    tcase_add_test(tc, empty_values_are_absent);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
