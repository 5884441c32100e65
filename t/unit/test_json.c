/*
 * test_json: parsing untrusted bodies and the one declarative field
 * validator (src/core/json.c). Malformed input is 400 invalid_json; field
 * problems are collected into errors[] with the codes API.md names;
 * string bounds count code points, not bytes.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "unit.h"

static struct sp_arena arena;
static struct sp_problem prob;

static void
setup(void)
{
    sp_arena_init(&arena, 4096);
    sp_problem_init(&prob);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

static struct json_object *
parse_n(const char *text, size_t len)
{
    sp_problem_init(&prob);
    return sp_json_parse_body(&arena, text, len, &prob);
}

static struct json_object *
parse(const char *text)
{
    return parse_n(text, strlen(text));
}

/* The body must parse; a test of the validator, not of the parser. */
static struct json_object *
body(const char *text)
{
    struct json_object *o = parse(text);
    ck_assert_msg(o != NULL, "fixture did not parse: %s (%s)", text, prob.detail);
    sp_problem_init(&prob);
    return o;
}

static void
assert_invalid_json(const char *text, size_t len)
{
    struct json_object *o = parse_n(text, len);
    ck_assert_msg(o == NULL, "accepted: %.*s", (int)len, text);
    ck_assert_int_eq(prob.rc, SP_INVALID);
    ck_assert_ptr_nonnull(prob.code);
    ck_assert_str_eq(prob.code, "invalid_json");
    ck_assert_uint_gt(strlen(prob.detail), 0);
    ck_assert_uint_eq(prob.nerrors, 0);
}

#define ASSERT_INVALID_JSON(lit) assert_invalid_json((lit), sizeof(lit) - 1)

/* Asserts errors[i] is (field, code) and carries a message. */
static void
assert_error(size_t i, const char *field, const char *code)
{
    ck_assert_msg(i < prob.nerrors, "only %zu errors, wanted #%zu (%s %s)", prob.nerrors, i, field,
                  code);
    ck_assert_str_eq(prob.errors[i].field, field);
    ck_assert_str_eq(prob.errors[i].code, code);
    ck_assert_ptr_nonnull(prob.errors[i].message);
    ck_assert_uint_gt(strlen(prob.errors[i].message), 0);
}

/* Repeats s n times into the arena. */
static char *
repeat(const char *s, size_t n)
{
    size_t l = strlen(s);
    char *out = sp_arena_alloc(&arena, l * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * l, s, l);
    out[l * n] = '\0';
    return out;
}

/* ---- sp_json_parse ------------------------------------------------------ */

START_TEST(valid_object_parses)
{
    struct json_object *o = parse("{\"subject\":\"Hi\",\"n\":3,\"tags\":[1,2],\"m\":{}}");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(prob.rc, SP_OK);
    ck_assert(json_object_is_type(o, json_type_object));
    struct json_object *v;
    ck_assert(json_object_object_get_ex(o, "subject", &v));
    ck_assert_str_eq(json_object_get_string(v), "Hi");
}
END_TEST

START_TEST(surrounding_whitespace_is_fine)
{
    ck_assert_ptr_nonnull(parse(" \r\n\t{\"a\":1} \n\t\r "));
    ck_assert_int_eq(prob.rc, SP_OK);
}
END_TEST

START_TEST(malformed_json_is_invalid_json)
{
    ASSERT_INVALID_JSON("{");
    ASSERT_INVALID_JSON("{\"a\":}");
    ASSERT_INVALID_JSON("{\"a\":1,}");
    ASSERT_INVALID_JSON("{a:1}");
    ASSERT_INVALID_JSON("{\"a\":01}");
    ASSERT_INVALID_JSON("{\"a\":tru}");
    ASSERT_INVALID_JSON("{\"a\":\"unterminated}");
    ASSERT_INVALID_JSON("[1,2");
}
END_TEST

START_TEST(trailing_garbage_is_invalid_json)
{
    ASSERT_INVALID_JSON("{}x");
    ASSERT_INVALID_JSON("{\"a\":1}{}");
    ASSERT_INVALID_JSON("{\"a\":1} ,");
    ASSERT_INVALID_JSON("{} \n garbage");
}
END_TEST

/* json-c reads these even with JSON_TOKENER_STRICT; RFC 8259 has no
 * NaN, Infinity, "1." or single quotes, and a database refuses NaN later. */
START_TEST(non_json_numbers_and_quotes_are_invalid_json)
{
    ASSERT_INVALID_JSON("{\"n\":NaN}");
    ASSERT_INVALID_JSON("{\"n\":Infinity}");
    ASSERT_INVALID_JSON("{\"n\":-Infinity}");
    ASSERT_INVALID_JSON("{\"m\":{\"n\":[1,NaN]}}");
    ASSERT_INVALID_JSON("NaN");
    ASSERT_INVALID_JSON("{\"n\":1.}");
    ASSERT_INVALID_JSON("{\"n\":-1.}");
    ASSERT_INVALID_JSON("{\"n\":1.e5}");
    ASSERT_INVALID_JSON("[1.]");
    ASSERT_INVALID_JSON("1.");
    ASSERT_INVALID_JSON("{'a':1}");
    ASSERT_INVALID_JSON("{\"a\":'x'}");
    ck_assert_str_eq(prob.detail, "malformed JSON: unexpected character");
    ASSERT_INVALID_JSON("{\"n\":NaN}");
    ck_assert_str_eq(prob.detail, "malformed JSON: NaN and Infinity are not JSON numbers");
    /* RFC 8259 §6: no leading zeros (json-c read -01 as -1, 00 as 0). */
    ASSERT_INVALID_JSON("{\"n\":-01}");
    ck_assert_str_eq(prob.detail, "malformed JSON: a number has a leading zero");
    ASSERT_INVALID_JSON("{\"n\":00}");
    ASSERT_INVALID_JSON("[1, -00]");
    ASSERT_INVALID_JSON("-012");
}
END_TEST

/* RFC 8259 §7: a control character in a string is escaped (QA: json-c
 * stored a raw tab and line break, turned U+0001 into U+FFFD, and called
 * a raw NUL the end of the data). Escaped, each is read. */
START_TEST(raw_control_characters_in_strings_are_invalid_json)
{
    static const char detail[] = "malformed JSON: a string holds a control character (U+0000"
                                 " to U+001F) that is not escaped: write it as \\n, \\t or"
                                 " \\u00XX";
    ASSERT_INVALID_JSON("{\"a\":\"x\ty\"}");
    ck_assert_str_eq(prob.detail, detail);
    ASSERT_INVALID_JSON("{\"a\":\"x\ny\"}");
    ASSERT_INVALID_JSON("{\"a\":\"x\x01y\"}");
    ASSERT_INVALID_JSON("{\"a\":\"x\x1fy\"}");
    ASSERT_INVALID_JSON("{\"x\0y\":\"d\"}");
    ck_assert_str_eq(prob.detail, detail);
    ASSERT_INVALID_JSON("[\"\r\"]");
    static const char escaped[] = "{\"a\":\"x\\ty\\n\\u0001\x7f\"}";
    struct json_object *o = parse_n(escaped, sizeof(escaped) - 1);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "a")), "x\ty\n\x01\x7f");
}
END_TEST

/* What the check above must leave alone: every JSON number form, and the
 * same characters inside strings and names. */
START_TEST(json_numbers_and_look_alikes_in_strings_parse)
{
    static const char *const ok[] = {
        "{\"n\":1.5,\"e\":1e5,\"E\":1E+5,\"f\":-0.25e-3,\"z\":-0,\"b\":1e400}",
        "{\"NaN\":\"Infinity 1. 'q' \\\" NaN\",\"I.\":[true,false,null]}",
        "[0.5, 10.25]\n",
        "{\"k\\\\u0000\":\"v\\\\\",\"w\":\"\\\"\"}",
        "{\"v\":\"a\\u0000b\"}",
        "[0, -0, 0.05, -0.0, 10, 100, 1e05, 2E-007, {\"a\":0}, \"-01\"]",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(parse(ok[i]) != NULL, "refused %s: %s", ok[i], prob.detail);
}
END_TEST

/* json-c cuts a name at \u0000: {"subject\u0000x":…} would be read as
 * "subject", a nested one would be stored as another name. */
START_TEST(a_member_name_with_nul_is_invalid_json)
{
    ASSERT_INVALID_JSON("{\"subject\\u0000x\":\"a\"}");
    ck_assert_str_eq(prob.detail, "malformed JSON: a member name contains \\u0000");
    ASSERT_INVALID_JSON("{\"metadata\":{\"k\\u0000\" :1}}");
    ASSERT_INVALID_JSON("{\"m\":[{\"\\u0000\"\n:1}]}");
}
END_TEST

/* A repeated member name is refused at any depth, however it is spelled
 * (json-c would keep the last); colons inside strings and escaped quotes
 * do not count as members. */
START_TEST(a_repeated_member_name_is_invalid_json)
{
    ASSERT_INVALID_JSON("{\"subject\":\"a\",\"subject\":\"b\"}");
    ASSERT_INVALID_JSON("{\"a\":1,\"\\u0061\":2}");
    ASSERT_INVALID_JSON("{\"m\":{\"k\":1,\"k\":{\"x\":1}}}");
    ASSERT_INVALID_JSON("[{\"a\":null,\"a\":null}]");
    ck_assert_str_eq(prob.detail, "malformed JSON: an object names a member twice");
    sp_problem_init(&prob);
    ck_assert_ptr_nonnull(parse("{\"a\":\"x:y\\\":z\",\"b\":{\"a\":[{\"a\":null}]},\"c:\":\"\"}"));
    ck_assert_int_eq(prob.rc, SP_OK);
    ck_assert_ptr_nonnull(parse("[1,\"::\",{}]"));
}
END_TEST

START_TEST(trailing_nul_byte_is_invalid_json)
{
    /* A NUL is not JSON whitespace (RFC 8259 §2). */
    ASSERT_INVALID_JSON("{}\0");
    ASSERT_INVALID_JSON("{\"a\":1}\n\0");
}
END_TEST

START_TEST(empty_body_is_invalid_json)
{
    ASSERT_INVALID_JSON("");
}
END_TEST

START_TEST(whitespace_only_body_is_invalid_json)
{
    ASSERT_INVALID_JSON("   \n");
}
END_TEST

START_TEST(invalid_utf8_is_invalid_json)
{
    ASSERT_INVALID_JSON("{\"a\":\"\xff\"}");
    ASSERT_INVALID_JSON("{\"a\":\"\xc0\xaf\"}");     /* overlong */
    ASSERT_INVALID_JSON("{\"a\":\"\xed\xa0\x80\"}"); /* surrogate */
    ASSERT_INVALID_JSON("{\"a\":\"caf\xc3\"}");      /* truncated */
}
END_TEST

/* QA: json-c turned a lone escaped surrogate into U+FFFD, a silent
 * rewrite; a pair (either case) is one character. */
START_TEST(a_lone_escaped_surrogate_is_invalid_json)
{
    ASSERT_INVALID_JSON("{\"s\":\"\\ud800\"}");
    ck_assert_str_eq(prob.detail, "malformed JSON: a \\u escape is half of a UTF-16 surrogate pair");
    ASSERT_INVALID_JSON("{\"s\":\"\\ude00\\ud83d\"}");
    ASSERT_INVALID_JSON("{\"s\":\"\\uD83Dx\"}");
    ASSERT_INVALID_JSON("{\"s\":\"\\ud83d\\u0041\"}");
    ASSERT_INVALID_JSON("{\"\\udfff\":1}");
    struct json_object *o = parse("{\"s\":\"\\ud83d\\ude00\\uD83D\\uDE00 \\\\ud800\"}");
    ck_assert_msg(o != NULL, "refused a pair: %s", prob.detail);
    ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "s")),
                     "\xf0\x9f\x98\x80\xf0\x9f\x98\x80 \\ud800");
}
END_TEST

/* QA: 340,000 empty objects in a MiB cost a worker 3 s and 275 MB. */
START_TEST(more_objects_and_arrays_than_the_limit_is_413)
{
    size_t n = SP_JSON_CONTAINERS_MAX;
    char *text = malloc(n * 3 + 16);
    ck_assert_ptr_nonnull(text);
    size_t o = 0;
    text[o++] = '[';
    for (size_t i = 0; i < n - 1; i++)
        o += (size_t)sprintf(text + o, "%s{}", i ? "," : "");
    text[o++] = ']';
    ck_assert_ptr_nonnull(parse_n(text, o));
    o--;
    o += (size_t)sprintf(text + o, ",[]]");
    ck_assert_ptr_null(parse_n(text, o));
    ck_assert_int_eq(prob.rc, SP_TOO_LARGE);
    ck_assert_str_eq(prob.code, "payload_too_large");
    free(text);
}
END_TEST

/* "k0":0,"k1":0,... (n members, or n elements "0" when !named) between
 * open and close, into the arena. */
static char *
flat(char open, size_t n, bool named, char close)
{
    char *text = sp_arena_alloc(&arena, n * 16 + 3), *o = text;
    *o++ = open;
    for (size_t i = 0; i < n; i++)
        o += named ? sprintf(o, "%s\"k%zu\":0", i ? "," : "", i) : sprintf(o, "%s0", i ? "," : "");
    *o++ = close;
    *o = '\0';
    return text;
}

static void
assert_too_many_items(const char *text)
{
    ck_assert_ptr_null(parse(text));
    ck_assert_int_eq(prob.rc, SP_TOO_LARGE);
    ck_assert_str_eq(prob.code, "payload_too_large");
    ck_assert_msg(strstr(prob.detail, "more than 10000 members and array elements") != NULL,
                  "%s", prob.detail);
}

/* QA: a MiB of 90,000 members in one object cost a worker 0.4-0.9 s;
 * members and array elements are counted at every level, before json-c
 * builds anything (API.md §1). */
START_TEST(more_members_and_elements_than_the_limit_is_413)
{
    ck_assert_int_eq(SP_JSON_ITEMS_MAX, 10000);
    ck_assert_ptr_nonnull(parse(flat('{', SP_JSON_ITEMS_MAX, true, '}')));
    ck_assert_ptr_nonnull(parse(flat('[', SP_JSON_ITEMS_MAX, false, ']')));
    assert_too_many_items(flat('{', SP_JSON_ITEMS_MAX + 1, true, '}'));
    assert_too_many_items(flat('[', SP_JSON_ITEMS_MAX + 1, false, ']'));
    assert_too_many_items(flat('{', 90000, true, '}'));
    /* every level: 99 arrays of 100 elements and the outer array's 99 */
    char *row = flat('[', 100, false, ']');
    char *rows = repeat(sp_arena_sprintf(&arena, "%s,", row), 99);
    rows[strlen(rows) - 1] = '\0';
    ck_assert_ptr_nonnull(parse(sp_arena_sprintf(&arena, "[%s]", rows)));     /* 9999 */
    assert_too_many_items(sp_arena_sprintf(&arena, "[%s,[0,0]]", rows));     /* 10002 */
    /* empty containers hold no item, blanks and strings' commas none */
    char *empties = repeat("[ ],", 4999);
    ck_assert_ptr_nonnull(parse(sp_arena_sprintf(&arena, "[%s{ }, \"%s\"]", empties,
                                                 repeat(",", 20000))));
    /* a service's answer (an embedder's vectors) is read without it */
    sp_problem_init(&prob);
    char *big = flat('[', 3 * SP_JSON_ITEMS_MAX, false, ']');
    ck_assert_ptr_nonnull(sp_json_parse(&arena, big, strlen(big), &prob));
}
END_TEST

/* Depth counts objects and arrays inside each other (API.md §1), whatever
 * the innermost holds (QA: 32 around a scalar were refused, 32 around
 * nothing accepted, as json-c counts the scalar as a level). */
START_TEST(nesting_up_to_32_levels_is_accepted)
{
    ck_assert_int_eq(SP_JSON_DEPTH_MAX, 32);
    char *text = sp_arena_sprintf(&arena, "%s%s", repeat("[", 32), repeat("]", 32));
    ck_assert_ptr_nonnull(parse(text));
    text = sp_arena_sprintf(&arena, "%s1%s", repeat("[", 32), repeat("]", 32));
    ck_assert_msg(parse(text) != NULL, "%s", prob.detail);
    text = sp_arena_sprintf(&arena, "%s1%s", repeat("{\"a\":", 32), repeat("}", 32));
    ck_assert_msg(parse(text) != NULL, "%s", prob.detail);
    text = sp_arena_sprintf(&arena, "%s{}%s", repeat("{\"a\":", 31), repeat("}", 31));
    ck_assert_msg(parse(text) != NULL, "%s", prob.detail);
    /* the QA body: two objects and 30 arrays */
    text = sp_arena_sprintf(&arena, "{\"metadata\":{\"a\":%s1%s}}", repeat("[", 30),
                            repeat("]", 30));
    ck_assert_msg(parse(text) != NULL, "%s", prob.detail);
    text = sp_arena_sprintf(&arena, "{\"metadata\":{\"a\":%s%s}}", repeat("[", 30),
                            repeat("]", 30));
    ck_assert_msg(parse(text) != NULL, "%s", prob.detail);
}
END_TEST

START_TEST(nesting_deeper_than_32_is_invalid_json)
{
    char *text = sp_arena_sprintf(&arena, "%s%s", repeat("[", 33), repeat("]", 33));
    assert_invalid_json(text, strlen(text));
    ck_assert_msg(strstr(prob.detail, "nesting too deep") != NULL, "%s", prob.detail);
    text = sp_arena_sprintf(&arena, "%s1%s", repeat("[", 33), repeat("]", 33));
    assert_invalid_json(text, strlen(text));
    ck_assert_msg(strstr(prob.detail, "nesting too deep") != NULL, "%s", prob.detail);
    text = sp_arena_sprintf(&arena, "%s1%s", repeat("{\"a\":", 33), repeat("}", 33));
    assert_invalid_json(text, strlen(text));
    text = sp_arena_sprintf(&arena, "{\"metadata\":{\"a\":%s1%s}}", repeat("[", 31),
                            repeat("]", 31));
    assert_invalid_json(text, strlen(text));
    text = sp_arena_sprintf(&arena, "{\"metadata\":{\"a\":%s%s}}", repeat("[", 31),
                            repeat("]", 31));
    assert_invalid_json(text, strlen(text));
    /* deep once, shallow after: the deepest point counts */
    text = sp_arena_sprintf(&arena, "[%s%s,1]", repeat("[", 32), repeat("]", 32));
    assert_invalid_json(text, strlen(text));
    text = sp_arena_sprintf(&arena, "%s1%s", repeat("{\"a\":", 40), repeat("}", 40));
    assert_invalid_json(text, strlen(text));
    text = repeat("[", 9000);
    assert_invalid_json(text, strlen(text));
    /* past the count of objects and arrays, refused before any depth */
    text = repeat("[", 100000);
    ck_assert_ptr_null(parse_n(text, strlen(text)));
    ck_assert_str_eq(prob.code, "payload_too_large");
}
END_TEST

START_TEST(body_is_read_by_length_not_to_a_nul)
{
    /* Only the first 7 bytes are the body. */
    ck_assert_ptr_nonnull(parse_n("{\"a\":1}garbage", 7));
    ASSERT_INVALID_JSON("{\"a\":1");
}
END_TEST

START_TEST(null_body_is_never_a_silent_failure)
{
    /* A NULL result must always come with a problem to render; otherwise
     * the handler returns SP_OK without answering and the client gets a
     * 500 "handler produced no response". */
    static const char *const bodies[] = {"null", "null\n", "null "};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct json_object *o = parse(bodies[i]);
        ck_assert_msg(o == NULL, "JSON null parsed to an object");
        ck_assert_msg(prob.rc != SP_OK, "body \"%s\" gave NULL without a problem", bodies[i]);
        ck_assert_ptr_nonnull(prob.code);
    }
}
END_TEST

START_TEST(scalar_body_outcome_does_not_depend_on_a_trailing_newline)
{
    /* "42" and "42\n" are the same complete JSON text (RFC 8259): both must
     * get the same answer (today "42\n" parses and reaches the validator's
     * 422, while "42" is a 400 "unexpected end of input"). */
    static const char *const pairs[][2] = {
        {"42", "42\n"},
        {"true", "true\n"},
        {"-1.5", "-1.5 "},
        {"\"s\"", "\"s\"\n"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        bool with_nl = parse(pairs[i][1]) != NULL;
        bool bare = parse(pairs[i][0]) != NULL;
        ck_assert_msg(bare == with_nl, "\"%s\" %s but \"%s\\n\" %s (%s)", pairs[i][0],
                      bare ? "parses" : "is rejected", pairs[i][0],
                      with_nl ? "parses" : "is rejected", prob.detail);
    }
}
END_TEST

START_TEST(parsed_objects_are_released_with_the_arena)
{
    /* Under LSan a missing defer is a leak report at exit. */
    for (int i = 0; i < 100; i++)
        ck_assert_ptr_nonnull(parse("{\"a\":[1,2,3],\"b\":{\"c\":\"d\"}}"));
    sp_arena_reset(&arena);
    ck_assert_ptr_nonnull(parse("{\"again\":true}"));
}
END_TEST

/* ---- sp_json_validate --------------------------------------------------- */

static const char *const sources[] = {"web", "email", "chat", NULL};

enum { F_SUBJECT, F_SOURCE, F_PROVIDER, F_URGENT, F_METADATA, F_ATTACHMENTS, F_BOOKING, F_COUNT };

static const struct sp_field_spec specs[F_COUNT] = {
    [F_SUBJECT] = {"subject", SP_FIELD_STRING, true, false, 1, 200, NULL},
    [F_SOURCE] = {"source", SP_FIELD_ENUM, false, false, 0, 0, sources},
    [F_PROVIDER] = {"provider_id", SP_FIELD_INT, false, true, 1, 2147483647, NULL},
    [F_URGENT] = {"urgent", SP_FIELD_BOOL, false, false, 0, 0, NULL},
    [F_METADATA] = {"metadata", SP_FIELD_OBJECT, false, false, 0, 64, NULL},
    [F_ATTACHMENTS] = {"attachments", SP_FIELD_ARRAY, false, false, 0, 3, NULL},
    [F_BOOKING] = {"booking_id", SP_FIELD_STRING, false, true, 0, 64, NULL},
};

static struct sp_field_value out[F_COUNT];

static enum sp_rc
validate(const char *text)
{
    struct json_object *o = body(text);
    return sp_json_validate(o, specs, F_COUNT, out, &prob);
}

START_TEST(valid_body_fills_typed_values)
{
    ck_assert_int_eq(validate("{\"subject\":\"Printer on fire\",\"source\":\"email\","
                              "\"provider_id\":77,\"urgent\":true,\"metadata\":{\"k\":1},"
                              "\"attachments\":[1,2],\"booking_id\":\"B-1\"}"),
                     SP_OK);
    ck_assert_int_eq(prob.rc, SP_OK);
    ck_assert_uint_eq(prob.nerrors, 0);
    for (int i = 0; i < F_COUNT; i++)
        ck_assert_msg(out[i].present, "field %s not present", specs[i].name);
    ck_assert_str_eq(out[F_SUBJECT].str, "Printer on fire");
    ck_assert_uint_eq(out[F_SUBJECT].len, 15);
    ck_assert_str_eq(out[F_SOURCE].str, "email");
    ck_assert_int_eq(out[F_SOURCE].i, 1);
    ck_assert_int_eq(out[F_PROVIDER].i, 77);
    ck_assert(out[F_URGENT].b);
    ck_assert(json_object_is_type(out[F_METADATA].obj, json_type_object));
    ck_assert_uint_eq(json_object_array_length(out[F_ATTACHMENTS].obj), 2);
}
END_TEST

START_TEST(absent_optional_fields_are_not_present_and_not_errors)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\"}"), SP_OK);
    ck_assert(out[F_SUBJECT].present);
    for (int i = F_SOURCE; i < F_COUNT; i++)
        ck_assert_msg(!out[i].present, "field %s present", specs[i].name);
}
END_TEST

START_TEST(unknown_fields_are_ignored)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"colour\":\"blue\",\"n\":[]}"), SP_OK);
    ck_assert_uint_eq(prob.nerrors, 0);
}
END_TEST

/* A member that is a field's name but for letter case, '_' or '-' is that
 * field mistyped (QA: "Is_Internal": true was ignored and the note went
 * public): 422 on the member, naming the field meant; even beside the
 * field itself. Names that are not so close stay ignored. */
START_TEST(a_fields_name_written_another_way_is_refused)
{
    static const char *const typos[][2] = {
        {"{\"subject\":\"x\",\"Urgent\":true}", "Urgent"},
        {"{\"subject\":\"x\",\"PROVIDER-ID\":1}", "PROVIDER-ID"},
        {"{\"subject\":\"x\",\"providerid\":1}", "providerid"},
        {"{\"subject\":\"x\",\"booking__id_\":\"b\"}", "booking__id_"},
        {"{\"subject\":\"x\",\"urgent\":true,\"URGENT\":false}", "URGENT"},
        /* An id ending or a plural added (QA: "attachment_ids" was
         * ignored and the reply went out without its file). */
        {"{\"subject\":\"x\",\"attachment_ids\":[]}", "attachment_ids"},
        {"{\"subject\":\"x\",\"attachmentIds\":[]}", "attachmentIds"},
        {"{\"subject\":\"x\",\"attachment\":[]}", "attachment"},
        {"{\"subject\":\"x\",\"provider\":1}", "provider"},
    };
    static const char *const meant[] = {"urgent", "provider_id", "provider_id", "booking_id",
                                        "urgent", "attachments", "attachments", "attachments",
                                        "provider_id"};
    for (size_t i = 0; i < sizeof(typos) / sizeof(typos[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_int_eq(validate(typos[i][0]), SP_INVALID);
        ck_assert_uint_eq(prob.nerrors, 1);
        assert_error(0, typos[i][1], "misspelled_field");
        ck_assert_str_eq(prob.errors[0].message,
                         sp_arena_sprintf(&arena, "is no field; did you mean %s?", meant[i]));
    }
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"urgently\":1,\"sub ject\":2}"), SP_OK);
    /* Other products' names of is_internal, where the table has it. */
    static const char *const others[] = {"internal", "Private", "is_private", "public"};
    static const struct sp_field_spec note[] = {
        {"body", SP_FIELD_STRING, true, false, 1, 100, NULL, 0, 0},
        {"is_internal", SP_FIELD_BOOL, false, false, 0, 0, NULL, 0, 0},
    };
    struct sp_field_value nv[2];
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        sp_problem_init(&prob);
        struct json_object *b = json_tokener_parse(sp_arena_sprintf(
            &arena, "{\"body\":\"x\",\"%s\":true}", others[i]));
        ck_assert_int_eq(sp_json_validate(b, note, 2, nv, &prob), SP_INVALID);
        assert_error(0, others[i], "misspelled_field");
        ck_assert_str_eq(prob.errors[0].message, "is no field; did you mean is_internal?");
        json_object_put(b);
    }
    /* ... and ignored where it does not: no is_internal in this table. */
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"internal\":true}"), SP_OK);
    /* An "id" that is no word of its own is no id ending. */
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"subjectid\":1}"), SP_OK);
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"urgents\":true}"), SP_INVALID);
}
END_TEST

START_TEST(missing_required_field_is_required)
{
    ck_assert_int_eq(validate("{\"source\":\"web\"}"), SP_INVALID);
    ck_assert_int_eq(prob.rc, SP_INVALID);
    ck_assert_str_eq(prob.code, "validation_failed");
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "subject", "required");
    ck_assert(!out[F_SUBJECT].present);
}
END_TEST

START_TEST(wrong_type_is_wrong_type)
{
    static const char *const bodies[] = {
        "{\"subject\":42}",
        "{\"subject\":[\"x\"]}",
        "{\"subject\":true}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_int_eq(validate(bodies[i]), SP_INVALID);
        ck_assert_uint_eq(prob.nerrors, 1);
        assert_error(0, "subject", "wrong_type");
    }
}
END_TEST

START_TEST(wrong_type_for_each_kind_of_field)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"source\":1,\"provider_id\":\"7\","
                              "\"urgent\":\"yes\",\"metadata\":[],\"attachments\":{}}"),
                     SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 5);
    assert_error(0, "source", "wrong_type");
    assert_error(1, "provider_id", "wrong_type");
    assert_error(2, "urgent", "wrong_type");
    assert_error(3, "metadata", "wrong_type");
    assert_error(4, "attachments", "wrong_type");
}
END_TEST

START_TEST(fractional_number_for_int_is_wrong_type)
{
    static const char *const bad[] = {"1.5", "5.5", "1e-3", "1.25e1", "1e-400", "0.5e0",
                                      "7.000000000000000000001"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_msg(validate(sp_arena_sprintf(&arena, "{\"subject\":\"x\",\"provider_id\":%s}",
                                                bad[i])) == SP_INVALID, "accepted %s", bad[i]);
        ck_assert_uint_eq(prob.nerrors, 1);
        assert_error(0, "provider_id", "wrong_type");
        ck_assert_str_eq(prob.errors[0].message, "must be an integer");
    }
}
END_TEST

/* QA: "size":5.0 and "size":1e3 were told apart (the first was said to
 * pass, the second was "must be an integer"). An integer is any number
 * whose value is whole, however written, as JSON Schema's "integer"
 * (docs/API.md §1); its value is read from the digits, exactly. */
START_TEST(an_integral_number_in_any_spelling_is_an_integer)
{
    static const struct {
        const char *text;
        long long value;
    } ok[] = {{"5.0", 5}, {"5e0", 5}, {"1e3", 1000}, {"1E+3", 1000}, {"1.5e1", 15},
              {"0.001e3", 1}, {"2147483647.000", 2147483647}, {"21474836.47e2", 2147483647},
              {"1000e-3", 1}, {"1.0000000000000000000000", 1}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_msg(validate(sp_arena_sprintf(&arena, "{\"subject\":\"x\",\"provider_id\":%s}",
                                                ok[i].text)) == SP_OK,
                      "refused %s: %s", ok[i].text, prob.nerrors ? prob.errors[0].message : "");
        ck_assert(out[F_PROVIDER].present);
        ck_assert_msg(out[F_PROVIDER].i == ok[i].value, "%s read as %lld", ok[i].text,
                      out[F_PROVIDER].i);
    }
    /* Whole but outside the field's range or int64: out_of_range, as 0 or
     * 99999999999999999999999 written as integers. */
    static const char *const range[] = {"0.0", "-1e0", "2147483648.0", "1e10", "1e400",
                                        "1e99999999999999999999", "-1e400"};
    for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_msg(validate(sp_arena_sprintf(&arena, "{\"subject\":\"x\",\"provider_id\":%s}",
                                                range[i])) == SP_INVALID, "accepted %s", range[i]);
        assert_error(0, "provider_id", "out_of_range");
    }
    /* Exactly, past a double's 53 bits: int64's ends as the integers. */
    static const struct sp_field_spec wide[] = {
        {"n", SP_FIELD_INT, true, false, INT64_MIN, INT64_MAX, NULL, 0, 0}};
    struct sp_field_value v[1];
    sp_problem_init(&prob);
    ck_assert_int_eq(sp_json_validate(body("{\"n\":9223372036854775807.0}"), wide, 1, v, &prob),
                     SP_OK);
    ck_assert(v[0].i == INT64_MAX);
    ck_assert_int_eq(sp_json_validate(body("{\"n\":-922337203685477580.7e1}"), wide, 1, v,
                                      &prob), SP_OK);
    ck_assert(v[0].i == -INT64_MAX);
    ck_assert_int_eq(sp_json_validate(body("{\"n\":9007199254740993.0}"), wide, 1, v, &prob),
                     SP_OK);
    ck_assert(v[0].i == 9007199254740993LL);
    static const char *const past[] = {"{\"n\":9223372036854775808.0}",
                                       "{\"n\":-9223372036854775808.0}",
                                       "{\"n\":92233720368547758080e-1}", "{\"n\":1e19}"};
    for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_msg(sp_json_validate(body(past[i]), wide, 1, v, &prob) == SP_INVALID,
                      "accepted %s as %lld", past[i], v[0].i);
        assert_error(0, "n", "out_of_range");
    }
}
END_TEST

START_TEST(string_length_counts_code_points)
{
    char *text = sp_arena_sprintf(&arena, "{\"subject\":\"%s\"}", repeat("\xc3\xa9", 200));
    ck_assert_int_eq(validate(text), SP_OK);
    ck_assert_uint_eq(out[F_SUBJECT].len, 400); /* bytes */

    sp_problem_init(&prob);
    text = sp_arena_sprintf(&arena, "{\"subject\":\"%s\"}", repeat("\xc3\xa9", 201));
    ck_assert_int_eq(validate(text), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "subject", "too_long");
    ck_assert(!out[F_SUBJECT].present);
}
END_TEST

START_TEST(four_byte_characters_count_once)
{
    char *text = sp_arena_sprintf(&arena, "{\"subject\":\"%s\"}", repeat("\xf0\x9f\x98\x80", 200));
    ck_assert_int_eq(validate(text), SP_OK);
    /* JSON \u escapes count as the one code point they encode. */
    sp_problem_init(&prob);
    text = sp_arena_sprintf(&arena, "{\"subject\":\"%s\"}", repeat("\\u00e9", 200));
    ck_assert_int_eq(validate(text), SP_OK);
}
END_TEST

START_TEST(ascii_string_at_max_is_ok_and_one_more_is_too_long)
{
    char *text = sp_arena_sprintf(&arena, "{\"subject\":\"%s\"}", repeat("a", 200));
    ck_assert_int_eq(validate(text), SP_OK);
    sp_problem_init(&prob);
    text = sp_arena_sprintf(&arena, "{\"subject\":\"%s\"}", repeat("a", 201));
    ck_assert_int_eq(validate(text), SP_INVALID);
    assert_error(0, "subject", "too_long");
}
END_TEST

/* A refusal names what is allowed (API.md §1: errors[].message helps the
 * caller fix the request): QA found "is out of range", "is too long" and
 * "is not one of the allowed values" with no range, limit or values. */
START_TEST(refusals_name_the_allowed_values_range_and_length)
{
    char *text = sp_arena_sprintf(&arena, "{\"subject\":\"%s\",\"source\":\"fax\","
                                          "\"provider_id\":0}", repeat("a", 201));
    ck_assert_int_eq(validate(text), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 3);
    ck_assert_str_eq(prob.errors[0].message, "must be at most 200 characters");
    ck_assert_str_eq(prob.errors[1].message, "must be one of: web, email, chat");
    ck_assert_str_eq(prob.errors[2].message, "must be an integer from 1 to 2147483647");
    /* a copy of the problem keeps its messages */
    struct sp_problem copy = prob;
    sp_problem_init(&prob);
    ck_assert_str_eq(copy.errors[1].message, "must be one of: web, email, chat");
    /* a list too long for a message ends with "…" after whole names */
    static const char *const many[] = {
        "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccc",
        "dddddddddddddddddddd", "eeeeeeeeeeeeeeeeeeee", "ffffffffffffffffffff",
        "gggggggggggggggggggg", "hhhhhhhhhhhhhhhhhhhh", "iiiiiiiiiiiiiiiiiiii",
        "jjjjjjjjjjjjjjjjjjjj", NULL};
    static const struct sp_field_spec wide[1] = {
        [0] = {"kind", SP_FIELD_ENUM, true, false, 0, 0, many}};
    struct sp_field_value v[1];
    ck_assert_int_eq(sp_json_validate(body("{\"kind\":\"x\"}"), wide, 1, v, &prob), SP_INVALID);
    const char *m = prob.errors[0].message;
    ck_assert_msg(strncmp(m, "must be one of: aaaaaaaaaaaaaaaaaaaa, ", 38) == 0, "%s", m);
    ck_assert_msg(strlen(m) < SP_PROBLEM_MESSAGE_MAX && strstr(m, "j") == NULL, "%s", m);
    ck_assert_msg(strcmp(m + strlen(m) - strlen(", …"), ", …") == 0, "%s", m);
}
END_TEST

START_TEST(empty_string_below_min_1_is_too_short)
{
    ck_assert_int_eq(validate("{\"subject\":\"\"}"), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "subject", "too_short");
}
END_TEST

START_TEST(empty_string_is_fine_without_a_minimum)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"booking_id\":\"\"}"), SP_OK);
    ck_assert(out[F_BOOKING].present);
    ck_assert_uint_eq(out[F_BOOKING].len, 0);
}
END_TEST

START_TEST(enum_value_outside_the_list_is_invalid)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"source\":\"fax\"}"), SP_INVALID);
    assert_error(0, "source", "invalid");
    sp_problem_init(&prob);
    /* Matching is exact: no case folding, no prefixes. */
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"source\":\"WEB\"}"), SP_INVALID);
    assert_error(0, "source", "invalid");
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"source\":\"we\"}"), SP_INVALID);
    assert_error(0, "source", "invalid");
}
END_TEST

START_TEST(enum_value_in_the_list_gives_its_index)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"source\":\"chat\"}"), SP_OK);
    ck_assert_int_eq(out[F_SOURCE].i, 2);
}
END_TEST

START_TEST(int_outside_bounds_is_out_of_range)
{
    static const char *const bodies[] = {
        "{\"subject\":\"x\",\"provider_id\":0}",
        "{\"subject\":\"x\",\"provider_id\":-5}",
        "{\"subject\":\"x\",\"provider_id\":2147483648}",
        "{\"subject\":\"x\",\"provider_id\":99999999999999999999999}",
        "{\"subject\":\"x\",\"provider_id\":-99999999999999999999999}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_msg(validate(bodies[i]) == SP_INVALID, "accepted %s", bodies[i]);
        ck_assert_uint_eq(prob.nerrors, 1);
        assert_error(0, "provider_id", "out_of_range");
    }
}
END_TEST

/* json-c saturates integers outside int64 (99999999999999999999999 was
 * stored as 9223372036854775807): refused whatever the field's bounds. */
START_TEST(int_beyond_int64_is_out_of_range_whatever_the_bounds)
{
    static const struct sp_field_spec wide[] = {
        {"n", SP_FIELD_INT, true, false, INT64_MIN, INT64_MAX, NULL, 0, 0},
        {"d", SP_FIELD_NUMBER, false, false, 0, 0, NULL, -1e300, 1e300},
    };
    static const char *const bad[] = {
        "{\"n\":99999999999999999999999}", "{\"n\":9223372036854775808}",
        "{\"n\":18446744073709551615}",    "{\"n\":18446744073709551616}",
        "{\"n\":-9223372036854775809}",    "{\"n\":-99999999999999999999999}",
        "{\"n\":-9223372036854775808}",
    };
    struct sp_field_value v[2];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_msg(sp_json_validate(body(bad[i]), wide, 2, v, &prob) == SP_INVALID,
                      "accepted %s as %lld", bad[i], v[0].i);
        ck_assert_uint_eq(prob.nerrors, 1);
        assert_error(0, "n", "out_of_range");
    }
    ck_assert_int_eq(sp_json_validate(body("{\"n\":1,\"d\":99999999999999999999999}"), wide,
                                      2, v, &prob), SP_INVALID);
    assert_error(0, "d", "out_of_range");
    sp_problem_init(&prob);
    ck_assert_int_eq(sp_json_validate(body("{\"n\":9223372036854775807}"), wide, 2, v, &prob),
                     SP_OK);
    ck_assert(v[0].i == INT64_MAX);
    ck_assert_int_eq(sp_json_validate(body("{\"n\":-9223372036854775807}"), wide, 2, v, &prob),
                     SP_OK);
    ck_assert(v[0].i == -INT64_MAX);
}
END_TEST

/* Inside an object or array field: a NUL the database refuses (22P05)
 * and an integer json-c would store changed, each named by the field. */
START_TEST(nul_or_int_beyond_int64_inside_an_object_or_array_is_refused)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"metadata\":{\"s\":\"\\u0000\"}}"),
                     SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "metadata", "invalid");
    ck_assert(!out[F_METADATA].present);
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"metadata\":{\"a\":[{\"n\":1e999999}],"
                              "\"b\":[99999999999999999999999]}}"), SP_INVALID);
    assert_error(0, "metadata", "out_of_range");
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"attachments\":[\"a\",\"b\\u0000\"]}"),
                     SP_INVALID);
    assert_error(0, "attachments", "invalid");
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"metadata\":{\"n\":-9223372036854775807}}"),
                     SP_OK);
}
END_TEST

/* QA: the database writes a JSON number out in full, so 440 × 1e131071
 * (4 KiB) stored a 57 MB ticket. 40 digits written out at most. */
START_TEST(a_number_of_more_than_40_digits_written_out_is_out_of_range)
{
    static const char *const over[] = {"1e131071", "1e40", "1E+40", "1e-40", "-1.5e39",
                                       "0.1e9999999999999999999", "1e-16383"};
    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_msg(validate(sp_arena_sprintf(&arena, "{\"subject\":\"x\",\"metadata\":"
                                                        "{\"a\":[1,{\"n\":%s}]}}", over[i])) ==
                          SP_INVALID, "accepted %s", over[i]);
        assert_error(0, "metadata", "out_of_range");
    }
    static const char *const ok[] = {"1e39", "-1.5e38", "6.02214076e23", "1.602e-19", "0.25",
                                     "123456789012345678901234567890.5"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        sp_problem_init(&prob);
        ck_assert_msg(validate(sp_arena_sprintf(&arena, "{\"subject\":\"x\",\"metadata\":"
                                                        "{\"n\":%s}}", ok[i])) == SP_OK,
                      "refused %s: %s", ok[i], prob.nerrors ? prob.errors[0].message : "");
    }
}
END_TEST

/* A list's items are its reader's, who names each fault by the item's
 * index (sp_problem_check_items): a NUL or an integer beyond int64 in one
 * item is no error on the whole list, which hid the other items' errors.
 * The list itself is still an array of at most max items. */
START_TEST(a_fault_inside_a_list_item_is_left_to_its_reader)
{
    static const struct sp_field_spec s[] = {{"tags", SP_FIELD_LIST, false, false, 0, 3, NULL,
                                              0, 0}};
    struct sp_field_value v[1];
    ck_assert_int_eq(sp_json_validate(body("{\"tags\":[\"a\\u0000b\",99999999999999999999999,"
                                           "\"ab\"]}"), s, 1, v, &prob), SP_OK);
    ck_assert(v[0].present);
    ck_assert(sp_json_has_nul(json_object_array_get_idx(v[0].obj, 0)));
    ck_assert(!sp_json_has_nul(json_object_array_get_idx(v[0].obj, 2)));
    ck_assert_int_eq(sp_json_validate(body("{\"tags\":[\"a\",\"b\",\"c\",\"d\\u0000\"]}"), s, 1,
                                      v, &prob), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "tags", "too_many");
    sp_problem_init(&prob);
    ck_assert_int_eq(sp_json_validate(body("{\"tags\":\"a\"}"), s, 1, v, &prob), SP_INVALID);
    assert_error(0, "tags", "wrong_type");
    ck_assert_str_eq(prob.errors[0].message, "must be an array");
}
END_TEST

START_TEST(int_at_the_bounds_is_accepted)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"provider_id\":1}"), SP_OK);
    ck_assert_int_eq(out[F_PROVIDER].i, 1);
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"provider_id\":2147483647}"), SP_OK);
    ck_assert_int_eq(out[F_PROVIDER].i, 2147483647);
}
END_TEST

START_TEST(object_larger_than_max_is_too_large)
{
    /* max 64 serialized bytes */
    char *text = sp_arena_sprintf(&arena, "{\"subject\":\"x\",\"metadata\":{\"k\":\"%s\"}}",
                                  repeat("v", 80));
    ck_assert_int_eq(validate(text), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "metadata", "too_large");
    ck_assert_str_eq(prob.errors[0].message, "must be at most 64 bytes as compact JSON");
}
END_TEST

START_TEST(small_object_is_within_max)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"metadata\":{\"k\":\"v\"}}"), SP_OK);
    ck_assert(out[F_METADATA].present);
}
END_TEST

START_TEST(array_with_too_many_elements_is_too_many)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"attachments\":[1,2,3,4]}"), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "attachments", "too_many");
    ck_assert_str_eq(prob.errors[0].message, "must have at most 3 items");
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"attachments\":[1,2,3]}"), SP_OK);
}
END_TEST

START_TEST(null_for_nullable_field_is_absent)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"provider_id\":null,\"booking_id\":null}"),
                     SP_OK);
    ck_assert_uint_eq(prob.nerrors, 0);
    ck_assert(!out[F_PROVIDER].present);
    ck_assert(!out[F_BOOKING].present);
}
END_TEST

START_TEST(null_for_non_nullable_field_is_wrong_type)
{
    ck_assert_int_eq(validate("{\"subject\":\"x\",\"source\":null}"), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "source", "wrong_type");
    sp_problem_init(&prob);
    ck_assert_int_eq(validate("{\"subject\":null}"), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "subject", "wrong_type");
}
END_TEST

START_TEST(number_field_accepts_ints_and_doubles_within_bounds)
{
    static const struct sp_field_spec s[] = {
        {"x", SP_FIELD_NUMBER, true, false, 0, 0, NULL, -1, 1},
    };
    struct sp_field_value v[1];
    ck_assert_int_eq(sp_json_validate(body("{\"x\":-0.25}"), s, 1, v, &prob), SP_OK);
    ck_assert(v[0].present);
    ck_assert(v[0].d > -0.2501 && v[0].d < -0.2499);
    ck_assert_int_eq(sp_json_validate(body("{\"x\":1}"), s, 1, v, &prob), SP_OK);
    ck_assert(v[0].d == 1.0);
    sp_problem_init(&prob);
    ck_assert_int_eq(sp_json_validate(body("{\"x\":1.5}"), s, 1, v, &prob), SP_INVALID);
    ck_assert_str_eq(prob.errors[0].code, "out_of_range");
    sp_problem_init(&prob);
    ck_assert_int_eq(sp_json_validate(body("{\"x\":\"0.5\"}"), s, 1, v, &prob), SP_INVALID);
    ck_assert_str_eq(prob.errors[0].code, "wrong_type");
}
END_TEST

START_TEST(null_for_required_nullable_field_is_required)
{
    static const struct sp_field_spec s[] = {
        {"assignee", SP_FIELD_INT, true, true, 1, 100, NULL, 0, 0},
    };
    struct sp_field_value v[1];
    struct json_object *o = body("{\"assignee\":null}");
    ck_assert_int_eq(sp_json_validate(o, s, 1, v, &prob), SP_INVALID);
    assert_error(0, "assignee", "required");
    ck_assert(!v[0].present);
}
END_TEST

START_TEST(several_errors_are_collected_in_one_pass)
{
    ck_assert_int_eq(validate("{\"source\":\"fax\",\"provider_id\":0,\"urgent\":1,"
                              "\"attachments\":[1,2,3,4,5]}"),
                     SP_INVALID);
    ck_assert_str_eq(prob.code, "validation_failed");
    ck_assert_uint_gt(strlen(prob.detail), 0);
    ck_assert_uint_eq(prob.nerrors, 5);
    /* In the order the endpoint declares its fields. */
    assert_error(0, "subject", "required");
    assert_error(1, "source", "invalid");
    assert_error(2, "provider_id", "out_of_range");
    assert_error(3, "urgent", "wrong_type");
    assert_error(4, "attachments", "too_many");
}
END_TEST

START_TEST(non_object_body_is_invalid_without_field_errors)
{
    static const char *const bodies[] = {"[]", "[{\"subject\":\"x\"}]", "\"subject\"", "42\n"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct json_object *o = body(bodies[i]);
        ck_assert_int_eq(sp_json_validate(o, specs, F_COUNT, out, &prob), SP_INVALID);
        ck_assert_int_eq(prob.rc, SP_INVALID);
        ck_assert_ptr_nonnull(prob.code);
        ck_assert_uint_eq(prob.nerrors, 0);
        ck_assert_uint_gt(strlen(prob.detail), 0);
    }
}
END_TEST

START_TEST(embedded_nul_in_a_string_is_invalid)
{
    ck_assert_int_eq(validate("{\"subject\":\"ab\\u0000cd\"}"), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, 1);
    assert_error(0, "subject", "invalid");
    ck_assert(!out[F_SUBJECT].present);
}
END_TEST

START_TEST(errors_beyond_the_cap_are_dropped_not_overflowed)
{
    enum { N = SP_PROBLEM_MAX_ERRORS + 4 };
    struct sp_field_spec s[N];
    struct sp_field_value v[N];
    for (int i = 0; i < N; i++) {
        s[i] = (struct sp_field_spec){
            sp_arena_sprintf(&arena, "f%d", i), SP_FIELD_STRING, true, false, 1, 10, NULL, 0, 0};
    }
    struct json_object *o = body("{}");
    ck_assert_int_eq(sp_json_validate(o, s, N, v, &prob), SP_INVALID);
    ck_assert_uint_eq(prob.nerrors, SP_PROBLEM_MAX_ERRORS);
    assert_error(0, "f0", "required");
    assert_error(SP_PROBLEM_MAX_ERRORS - 1, s[SP_PROBLEM_MAX_ERRORS - 1].name, "required");
}
END_TEST

/* PostgreSQL's json_build_object text made compact: whitespace between
 * tokens goes, a string's own (spaces, escaped quotes and backslashes,
 * an escaped newline) stays; what it gives parses to the same value. */
START_TEST(minify_drops_whitespace_outside_strings_only)
{
    const char *pg = "{\"id\" : 1, \"name\" : \"a \\\" : b\\\\\", \"n\" : null,"
                     " \"skills\" : [\"de\", \"fr\"], \"x\" : {\"k\" :\t\"v\\n w\"}\r\n}";
    const char *want = "{\"id\":1,\"name\":\"a \\\" : b\\\\\",\"n\":null,"
                       "\"skills\":[\"de\",\"fr\"],\"x\":{\"k\":\"v\\n w\"}}";
    const char *got = sp_json_minify(&arena, pg);
    ck_assert_str_eq(got, want);
    struct json_object *a = parse_n(pg, strlen(pg)), *b = parse_n(got, strlen(got));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert(json_object_equal(a, b));
    ck_assert_str_eq(sp_json_minify(&arena, "[]"), "[]");
    ck_assert_str_eq(sp_json_minify(&arena, "\"  \""), "\"  \"");
    ck_assert_ptr_null(sp_json_minify(&arena, NULL));
}
END_TEST

static Suite *
json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, valid_object_parses);
    tcase_add_test(tc, surrounding_whitespace_is_fine);
    tcase_add_test(tc, malformed_json_is_invalid_json);
    tcase_add_test(tc, trailing_garbage_is_invalid_json);
    tcase_add_test(tc, a_repeated_member_name_is_invalid_json);
    tcase_add_test(tc, non_json_numbers_and_quotes_are_invalid_json);
    tcase_add_test(tc, raw_control_characters_in_strings_are_invalid_json);
    tcase_add_test(tc, json_numbers_and_look_alikes_in_strings_parse);
    tcase_add_test(tc, a_member_name_with_nul_is_invalid_json);
    tcase_add_test(tc, trailing_nul_byte_is_invalid_json);
    tcase_add_test(tc, empty_body_is_invalid_json);
    tcase_add_test(tc, whitespace_only_body_is_invalid_json);
    tcase_add_test(tc, invalid_utf8_is_invalid_json);
    tcase_add_test(tc, a_lone_escaped_surrogate_is_invalid_json);
    tcase_add_test(tc, more_objects_and_arrays_than_the_limit_is_413);
    tcase_add_test(tc, more_members_and_elements_than_the_limit_is_413);
    tcase_add_test(tc, nesting_up_to_32_levels_is_accepted);
    tcase_add_test(tc, nesting_deeper_than_32_is_invalid_json);
    tcase_add_test(tc, body_is_read_by_length_not_to_a_nul);
    tcase_add_test(tc, null_body_is_never_a_silent_failure);
    tcase_add_test(tc, scalar_body_outcome_does_not_depend_on_a_trailing_newline);
    tcase_add_test(tc, parsed_objects_are_released_with_the_arena);
    tcase_add_test(tc, minify_drops_whitespace_outside_strings_only);
    suite_add_tcase(s, tc);

    tc = tcase_create("validate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, valid_body_fills_typed_values);
    tcase_add_test(tc, absent_optional_fields_are_not_present_and_not_errors);
    tcase_add_test(tc, unknown_fields_are_ignored);
    tcase_add_test(tc, a_fields_name_written_another_way_is_refused);
    tcase_add_test(tc, missing_required_field_is_required);
    tcase_add_test(tc, wrong_type_is_wrong_type);
    tcase_add_test(tc, wrong_type_for_each_kind_of_field);
    tcase_add_test(tc, fractional_number_for_int_is_wrong_type);
    tcase_add_test(tc, an_integral_number_in_any_spelling_is_an_integer);
    tcase_add_test(tc, string_length_counts_code_points);
    tcase_add_test(tc, four_byte_characters_count_once);
    tcase_add_test(tc, ascii_string_at_max_is_ok_and_one_more_is_too_long);
    tcase_add_test(tc, refusals_name_the_allowed_values_range_and_length);
    tcase_add_test(tc, empty_string_below_min_1_is_too_short);
    tcase_add_test(tc, empty_string_is_fine_without_a_minimum);
    tcase_add_test(tc, enum_value_outside_the_list_is_invalid);
    tcase_add_test(tc, enum_value_in_the_list_gives_its_index);
    tcase_add_test(tc, int_outside_bounds_is_out_of_range);
    tcase_add_test(tc, int_beyond_int64_is_out_of_range_whatever_the_bounds);
    tcase_add_test(tc, nul_or_int_beyond_int64_inside_an_object_or_array_is_refused);
    tcase_add_test(tc, a_number_of_more_than_40_digits_written_out_is_out_of_range);
    tcase_add_test(tc, a_fault_inside_a_list_item_is_left_to_its_reader);
    tcase_add_test(tc, int_at_the_bounds_is_accepted);
    tcase_add_test(tc, object_larger_than_max_is_too_large);
    tcase_add_test(tc, small_object_is_within_max);
    tcase_add_test(tc, array_with_too_many_elements_is_too_many);
    tcase_add_test(tc, null_for_nullable_field_is_absent);
    tcase_add_test(tc, null_for_non_nullable_field_is_wrong_type);
    tcase_add_test(tc, null_for_required_nullable_field_is_required);
    tcase_add_test(tc, number_field_accepts_ints_and_doubles_within_bounds);
    tcase_add_test(tc, several_errors_are_collected_in_one_pass);
    tcase_add_test(tc, non_object_body_is_invalid_without_field_errors);
    tcase_add_test(tc, embedded_nul_in_a_string_is_invalid);
    tcase_add_test(tc, errors_beyond_the_cap_are_dropped_not_overflowed);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(json_suite());
}
