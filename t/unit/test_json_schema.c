/*
 * test_json_schema: the tools' subset of JSON Schema (src/core/json_schema.c)
 * — each keyword's refusal with its field path and code, what passes,
 * schemas outside the subset refused by the check, and every schema of
 * the AI tools table (src/domain/ai_tools.c) inside it.
 */
#include <check.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/json_schema.h"
#include "domain/ai_tools.h"
#include "unit.h"

static struct sp_arena arena;
static struct sp_problem prob;

static void
setup(void)
{
    sp_arena_init(&arena, 8192);
    sp_problem_init(&prob);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

static struct json_object *
parse(const char *text)
{
    struct sp_problem p;
    sp_problem_init(&p);
    struct json_object *o = sp_json_parse(&arena, text, strlen(text), &p);
    ck_assert_msg(o != NULL, "%s: %s", text, p.detail);
    return o;
}

static const char *const refund =
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"payment_id\",\"amount\"],"
    "\"properties\":{\"payment_id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8},"
    "\"amount\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000},"
    "\"rate\":{\"type\":\"number\",\"minimum\":0.5,\"maximum\":2},"
    "\"reason\":{\"type\":\"string\",\"enum\":[\"duplicate\",\"other\"]},"
    "\"at\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"flag\":{\"type\":\"boolean\"},"
    "\"tags\":{\"type\":\"array\",\"maxItems\":2,\"items\":{\"type\":\"string\",\"maxLength\":3}}}}";

/* Validates instance against refund; returns the rc, prob holds errors. */
static enum sp_rc
validate(const char *instance)
{
    sp_problem_init(&prob);
    return sp_json_schema_validate(&arena, parse(refund), parse(instance), "arguments", &prob);
}

static void
assert_error(const char *field, const char *code)
{
    for (size_t i = 0; i < prob.nerrors; i++) {
        if (strcmp(prob.errors[i].field, field) == 0) {
            ck_assert_str_eq(prob.errors[i].code, code);
            return;
        }
    }
    ck_abort_msg("no error for %s (%zu errors)", field, prob.nerrors);
}

static void
assert_message(const char *field, const char *message)
{
    for (size_t i = 0; i < prob.nerrors; i++) {
        if (strcmp(prob.errors[i].field, field) == 0) {
            ck_assert_str_eq(prob.errors[i].message, message);
            return;
        }
    }
    ck_abort_msg("no error for %s (%zu errors)", field, prob.nerrors);
}

START_TEST(valid_arguments_pass)
{
    ck_assert_int_eq(validate("{\"payment_id\":\"P1\",\"amount\":1000,\"rate\":1,"
                              "\"reason\":\"other\",\"at\":\"2026-12-01T10:00:00Z\","
                              "\"flag\":true,\"tags\":[\"a\",\"bc\"]}"),
                     SP_OK);
    ck_assert_int_eq(prob.nerrors, 0);
    ck_assert_int_eq(validate("{\"payment_id\":\"P1\",\"amount\":1}"), SP_OK);
}
END_TEST

START_TEST(missing_required_fields_are_named)
{
    ck_assert_int_eq(validate("{}"), SP_INVALID);
    ck_assert_str_eq(prob.code, "validation_failed");
    ck_assert_int_eq(prob.nerrors, 2);
    assert_error("arguments.payment_id", "required");
    assert_error("arguments.amount", "required");
}
END_TEST

START_TEST(wrong_types_are_refused)
{
    ck_assert_int_eq(validate("{\"payment_id\":5,\"amount\":\"5\",\"flag\":1,\"rate\":\"x\","
                              "\"tags\":{}}"),
                     SP_INVALID);
    assert_error("arguments.payment_id", "wrong_type");
    assert_error("arguments.amount", "wrong_type");
    assert_error("arguments.flag", "wrong_type");
    assert_error("arguments.rate", "wrong_type");
    assert_error("arguments.tags", "wrong_type");
    /* 2.0 is a number, not an integer (json-c keeps the difference). */
    ck_assert_int_eq(validate("{\"payment_id\":\"P\",\"amount\":2.0}"), SP_INVALID);
    assert_error("arguments.amount", "wrong_type");
    sp_problem_init(&prob);
    ck_assert_int_eq(sp_json_schema_validate(&arena, parse(refund), parse("[1]"), "arguments",
                                             &prob),
                     SP_INVALID);
    assert_error("arguments", "wrong_type");
}
END_TEST

START_TEST(bounds_and_lengths_are_enforced)
{
    ck_assert_int_eq(validate("{\"payment_id\":\"\",\"amount\":0}"), SP_INVALID);
    assert_error("arguments.payment_id", "too_short");
    assert_error("arguments.amount", "out_of_range");
    ck_assert_int_eq(validate("{\"payment_id\":\"123456789\",\"amount\":1001,\"rate\":2.5}"),
                     SP_INVALID);
    assert_error("arguments.payment_id", "too_long");
    assert_error("arguments.amount", "out_of_range");
    assert_error("arguments.rate", "out_of_range");
    /* Lengths count code points: 8 two-byte letters fit. */
    ck_assert_int_eq(validate("{\"payment_id\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                              "\xc3\xa9\xc3\xa9\xc3\xa9\",\"amount\":5}"),
                     SP_OK);
    /* json-c saturates huge integers: still out of range. */
    ck_assert_int_eq(validate("{\"payment_id\":\"P\",\"amount\":99999999999999999999999}"),
                     SP_INVALID);
    assert_error("arguments.amount", "out_of_range");
}
END_TEST

START_TEST(enums_formats_and_unknown_fields_are_refused)
{
    ck_assert_int_eq(validate("{\"payment_id\":\"P\",\"amount\":5,\"reason\":\"whim\","
                              "\"at\":\"tomorrow\",\"extra\":1}"),
                     SP_INVALID);
    assert_error("arguments.reason", "invalid");
    assert_error("arguments.at", "invalid");
    assert_error("arguments.extra", "unknown_field");
    ck_assert_int_eq(prob.nerrors, 3);
}
END_TEST

START_TEST(arrays_are_checked_item_by_item)
{
    ck_assert_int_eq(validate("{\"payment_id\":\"P\",\"amount\":5,\"tags\":[\"a\",\"b\",\"c\"]}"),
                     SP_INVALID);
    assert_error("arguments.tags", "too_many");
    ck_assert_int_eq(validate("{\"payment_id\":\"P\",\"amount\":5,\"tags\":[\"a\",\"long\"]}"),
                     SP_INVALID);
    assert_error("arguments.tags[1]", "too_long");
}
END_TEST

/* A refusal names the limit, the range or the values (API.md §1: the
 * message lets the caller fix the request); QA found "has too many
 * elements", "is too long", "is out of range" and "is not one of the
 * allowed values" without them. */
START_TEST(refusals_name_the_limit_range_and_values)
{
    ck_assert_int_eq(validate("{\"payment_id\":\"123456789\",\"amount\":0,\"rate\":3,"
                              "\"reason\":\"whim\",\"tags\":[\"a\",\"b\",\"c\"]}"),
                     SP_INVALID);
    assert_message("arguments.payment_id", "must be at most 8 characters");
    assert_message("arguments.amount", "must be an integer from 1 to 1000");
    assert_message("arguments.rate", "must be a number from 0.5 to 2");
    assert_message("arguments.reason", "must be one of: duplicate, other");
    assert_message("arguments.tags", "must have at most 2 items");
    sp_problem_init(&prob);
    const char *schema = "{\"type\":\"object\",\"properties\":{"
                         "\"n\":{\"type\":\"integer\",\"minimum\":3,\"enum\":[3,4,\"x\"]},"
                         "\"s\":{\"type\":\"string\",\"minLength\":2},"
                         "\"l\":{\"type\":\"array\",\"minItems\":2},"
                         "\"m\":{\"type\":\"number\",\"maximum\":9.5}}}";
    ck_assert_int_eq(sp_json_schema_validate(&arena, parse(schema),
                                             parse("{\"n\":5,\"s\":\"a\",\"l\":[1],\"m\":10}"),
                                             "arguments", &prob),
                     SP_INVALID);
    assert_message("arguments.n", "must be one of: 3, 4, x");
    assert_message("arguments.s", "must be at least 2 characters");
    assert_message("arguments.l", "must have at least 2 items");
    assert_message("arguments.m", "must be a number of at most 9.5");
    sp_problem_init(&prob);
    ck_assert_int_eq(sp_json_schema_validate(&arena, parse(schema), parse("{\"n\":2}"),
                                             "arguments", &prob),
                     SP_INVALID);
    assert_message("arguments.n", "must be one of: 3, 4, x");
}
END_TEST

START_TEST(null_is_not_an_absent_argument)
{
    ck_assert_int_eq(validate("{\"payment_id\":null,\"amount\":5}"), SP_INVALID);
    assert_error("arguments.payment_id", "wrong_type");
}
END_TEST

START_TEST(check_refuses_what_the_subset_lacks)
{
    char err[256];
    ck_assert(sp_json_schema_check(parse(refund), err, sizeof(err)));
    static const char *const bad[] = {
        "{\"type\":\"object\",\"pattern\":\"^a\"}",
        "{\"type\":[\"string\",\"null\"]}",
        "{\"type\":\"str\"}",
        "{\"properties\":{\"a\":{\"minLength\":-1}}}",
        "{\"properties\":{\"a\":{\"format\":\"email\"}}}",
        "{\"additionalProperties\":{}}",
        "{\"required\":\"a\"}",
        "{\"enum\":[]}",
        "{\"items\":5}",
        "[]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!sp_json_schema_check(parse(bad[i]), err, sizeof(err)), "%s", bad[i]);
    ck_assert(!sp_json_schema_check(parse("{\"properties\":{\"a\":{\"oneOf\":[]}}}"), err,
                                    sizeof(err)));
    ck_assert_msg(strstr(err, "$.properties.a") != NULL, "%s", err);
}
END_TEST

START_TEST(every_tool_schema_is_in_the_subset)
{
    size_t n;
    const struct sp_ai_tool *tools = sp_ai_tools(&n);
    ck_assert_int_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        char err[256];
        struct json_object *s = parse(tools[i].parameters);
        ck_assert_msg(sp_json_schema_check(s, err, sizeof(err)), "%s: %s", tools[i].id, err);
        struct json_object *v;
        ck_assert(json_object_object_get_ex(s, "additionalProperties", &v));
        ck_assert_msg(!json_object_get_boolean(v), "%s accepts unknown arguments", tools[i].id);
        ck_assert_ptr_eq(sp_ai_tool_find(tools[i].id), &tools[i]);
    }
    ck_assert_ptr_null(sp_ai_tool_find("shell"));
}
END_TEST

START_TEST(roles_follow_the_contract)
{
    static const struct {
        const char *id;
        bool customer, agent, admin;
    } want[] = {
        {"kb_search", true, true, true},        {"ticket_status", true, true, true},
        {"booking_lookup", false, true, true},  {"booking_reschedule", false, true, true},
        {"payment_refund", false, true, true},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct sp_ai_tool *t = sp_ai_tool_find(want[i].id);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(sp_ai_tool_allowed(t, SP_AI_CUSTOMER), want[i].customer);
        ck_assert_int_eq(sp_ai_tool_allowed(t, SP_AI_AGENT), want[i].agent);
        ck_assert_int_eq(sp_ai_tool_allowed(t, SP_AI_ADMIN), want[i].admin);
    }
}
END_TEST

static Suite *
json_schema_suite(void)
{
    Suite *s = suite_create("json_schema");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, valid_arguments_pass);
    tcase_add_test(tc, missing_required_fields_are_named);
    tcase_add_test(tc, wrong_types_are_refused);
    tcase_add_test(tc, bounds_and_lengths_are_enforced);
    tcase_add_test(tc, enums_formats_and_unknown_fields_are_refused);
    tcase_add_test(tc, arrays_are_checked_item_by_item);
    tcase_add_test(tc, refusals_name_the_limit_range_and_values);
    tcase_add_test(tc, null_is_not_an_absent_argument);
    tcase_add_test(tc, check_refuses_what_the_subset_lacks);
    tcase_add_test(tc, every_tool_schema_is_in_the_subset);
    tcase_add_test(tc, roles_follow_the_contract);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(json_schema_suite());
}
