/*
 * fuzz_json: libFuzzer target for request bodies: sp_json_parse_body (UTF-8,
 * depth, strictness, trailing data, counts) and sp_json_validate over the ticket
 * create field table (src/api/tickets.c) plus a number and a boolean, so
 * every field type is checked. Aborts when an outcome breaks the contract
 * of core/json.h: a parsed body came from valid UTF-8, a refusal carries
 * invalid_json or validation_failed (payload_too_large past a count),
 * an accepted body is at most 32 deep and holds at most
 * SP_JSON_ITEMS_MAX members and elements (check_counts), every value reported present
 * holds its type and bounds (string lengths in code points, no NUL);
 * a member named twice is refused (check_repeats); NaN, Infinity, "1.", a
 * name with \u0000 and integers outside int64 never pass (seeds); a
 * number inside an accepted object or array writes out (as PostgreSQL's
 * numeric stores it) in at most 40 digits (check_written_digits); an
 * integer field takes an integral number in any spelling (5.0, 1e3) at
 * its value and no fraction (check_int_spelling); sp_json_minify of an
 * accepted body parses to an equal value.
 * Build: scripts/dev fuzz json (replayed by `make check` as t/fuzz/fuzz_json).
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sources[] = {"web", "email", "chat", NULL};

/* The ticket create input (src/api/tickets.c), plus NUMBER and BOOL. */
static const struct sp_field_spec specs[] = {
    {"subject", SP_FIELD_STRING, true, false, 1, 200, NULL, 0, 0},
    {"description", SP_FIELD_STRING, true, false, 1, 20000, NULL, 0, 0},
    {"category", SP_FIELD_STRING, false, true, 1, 120, NULL, 0, 0},
    {"source", SP_FIELD_ENUM, false, true, 0, 0, sources, 0, 0},
    {"provider_id", SP_FIELD_INT, false, true, 1, INT64_MAX, NULL, 0, 0},
    {"booking_id", SP_FIELD_STRING, false, true, 1, 64, NULL, 0, 0},
    {"chat_session_id", SP_FIELD_STRING, false, true, 1, 64, NULL, 0, 0},
    {"attachments", SP_FIELD_ARRAY, false, true, 0, 10, NULL, 0, 0},
    {"tags", SP_FIELD_LIST, false, true, 0, 10, NULL, 0, 0},
    {"metadata", SP_FIELD_OBJECT, false, true, 0, 4096, NULL, 0, 0},
    {"score", SP_FIELD_NUMBER, false, false, 0, 0, NULL, -1.5, 100.0},
    {"notify", SP_FIELD_BOOL, false, true, 0, 0, NULL, 0, 0},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* The digits PostgreSQL's numeric writes for the JSON number text s:
 * the integer part (at least one digit) plus the scale, its mantissa's
 * I.F digits shifted by the exponent E (saturated, far past the limit). */
static long
written_digits(const char *s)
{
    long i = 0, f = 0, e = 0;
    bool frac = false, neg = false;
    for (; *s != '\0' && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.')
            frac = true;
        else if (*s >= '0' && *s <= '9')
            *(frac ? &f : &i) += 1;
    }
    if (*s != '\0' && (*++s == '-' || *s == '+'))
        neg = *s++ == '-';
    for (; *s >= '0' && *s <= '9'; s++)
        e = e > 1000000 ? e : e * 10 + (*s - '0');
    e = neg ? -e : e;
    return (i + e > 1 ? i + e : 1) + (f - e > 0 ? f - e : 0);
}

/* Every number nested in an accepted object or array is one the database
 * stores in at most 40 digits (json.c's limit), whatever its spelling. */
static void
check_written_digits(struct json_object *v)
{
    if (json_object_is_type(v, json_type_double)) {
        CHECK(written_digits(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)) <= 40);
    } else if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, value) {
            (void)key;
            check_written_digits(value);
        }
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            check_written_digits(json_object_array_get_idx(v, i));
    }
}

/* Members and array elements of v at every level, into *items; the
 * deepest nesting of objects and arrays (v itself counted) returned. */
static size_t
tree_counts(struct json_object *v, size_t *items)
{
    size_t deepest = 0, d;
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, value) {
            (void)key;
            ++*items;
            deepest = (d = tree_counts(value, items)) > deepest ? d : deepest;
        }
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            ++*items;
            d = tree_counts(json_object_array_get_idx(v, i), items);
            deepest = d > deepest ? d : deepest;
        }
    } else {
        return 0;
    }
    return deepest + 1;
}

/* An accepted body is within the limits core/json.h promises. */
static void
check_counts(struct json_object *o)
{
    size_t items = 0;
    CHECK(tree_counts(o, &items) <= SP_JSON_DEPTH_MAX);
    CHECK(items <= SP_JSON_ITEMS_MAX);
}

static void
check_value(const struct sp_field_spec *s, const struct sp_field_value *v)
{
    switch (s->type) {
    case SP_FIELD_STRING: {
        CHECK(v->str != NULL && strlen(v->str) == v->len);
        CHECK(sp_utf8_valid(v->str, v->len));
        long long n = (long long)sp_utf8_count(v->str, v->len);
        CHECK(n >= s->min && (s->max == 0 || n <= s->max));
        break;
    }
    case SP_FIELD_ENUM:
        CHECK(v->str != NULL && v->i >= 0 && v->i < 3 && strcmp(s->values[v->i], v->str) == 0);
        break;
    case SP_FIELD_INT:  /* INT64_MIN may be json-c's saturation of a smaller one */
        CHECK(v->i >= s->min && v->i <= s->max && v->i != INT64_MIN);
        break;
    case SP_FIELD_NUMBER:
        CHECK(!isnan(v->d) && v->d >= s->dmin && v->d <= s->dmax);
        break;
    case SP_FIELD_BOOL:
        break;
    case SP_FIELD_OBJECT: {
        CHECK(json_object_is_type(v->obj, json_type_object));
        size_t len;
        const char *txt = sp_json_compact(v->obj, &len);
        CHECK(txt != NULL && (s->max == 0 || (long long)len <= s->max));
        check_written_digits(v->obj);
        break;
    }
    case SP_FIELD_ARRAY:
    case SP_FIELD_LIST:
        CHECK(json_object_is_type(v->obj, json_type_array));
        CHECK(s->max == 0 || (long long)json_object_array_length(v->obj) <= s->max);
        check_written_digits(v->obj);
        break;
    }
}

/* An integer field given as an integral number (5.0, 1e3) holds the value
 * written, which a double holds exactly below 2^53; one with a fraction
 * is never present (seeds int_spellings, int_fraction). */
static void
check_int_spelling(struct json_object *o, const struct sp_field_spec *s,
                   const struct sp_field_value *v)
{
    struct json_object *raw;
    if (s->type != SP_FIELD_INT || !v->present || !json_object_object_get_ex(o, s->name, &raw) ||
        !json_object_is_type(raw, json_type_double))
        return;
    double d = json_object_get_double(raw);
    CHECK(d == floor(d));
    if (fabs(d) < 9007199254740992.0)
        CHECK((double)v->i == d);
}

/* Into an accepted non-empty object, a new member must still be accepted
 * and the same member named twice refused, wherever the body's own
 * strings put colons or escaped quotes. */
static void
check_repeats(struct sp_arena *a, struct json_object *o, const char *text, size_t size)
{
    if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) == 0 ||
        json_object_object_get_ex(o, "fz", NULL))
        return;
    const char *brace = memchr(text, '{', size);
    CHECK(brace != NULL);
    size_t rest = size - (size_t)(brace + 1 - text);
    static const char once[] = "{\"fz\":0,", twice[] = "{\"fz\":0,\"fz\":1,";
    char *t1 = sp_arena_alloc(a, sizeof(once) + rest);
    char *t2 = sp_arena_alloc(a, sizeof(twice) + rest);
    memcpy(t1, once, sizeof(once) - 1);
    memcpy(t1 + sizeof(once) - 1, brace + 1, rest);
    memcpy(t2, twice, sizeof(twice) - 1);
    memcpy(t2 + sizeof(twice) - 1, brace + 1, rest);
    struct sp_problem p;
    sp_problem_init(&p);
    CHECK(sp_json_parse(a, t1, sizeof(once) - 1 + rest, &p) != NULL);
    CHECK(sp_json_parse(a, t2, sizeof(twice) - 1 + rest, &p) == NULL);
    CHECK(strcmp(p.code, "invalid_json") == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    struct sp_problem p;
    struct sp_field_value out[NSPECS];

    sp_arena_init(&a, 4096);
    sp_problem_init(&p);
    struct json_object *o = sp_json_parse_body(&a, (const char *)data, size, &p);
    if (o == NULL) {
        CHECK(p.code != NULL && p.detail[0] != '\0' && p.nerrors == 0);
        CHECK((p.rc == SP_INVALID && (strcmp(p.code, "invalid_json") == 0 ||
                                      strcmp(p.code, "validation_failed") == 0)) ||
              (p.rc == SP_TOO_LARGE && strcmp(p.code, "payload_too_large") == 0));
        sp_arena_destroy(&a);
        return 0;
    }
    CHECK(p.rc == SP_OK && size > 0 && sp_utf8_valid((const char *)data, size));
    check_counts(o);
    enum sp_rc rc = sp_json_validate(o, specs, NSPECS, out, &p);
    if (!json_object_is_type(o, json_type_object)) {
        CHECK(rc == SP_INVALID && strcmp(p.code, "validation_failed") == 0 && p.nerrors == 0);
    } else if (rc == SP_OK) {
        CHECK(p.rc == SP_OK && p.nerrors == 0);
        for (size_t i = 0; i < NSPECS; i++) {
            CHECK(!specs[i].required || out[i].present);
            if (out[i].present)
                check_value(&specs[i], &out[i]);
            check_int_spelling(o, &specs[i], &out[i]);
        }
    } else {
        CHECK(rc == SP_INVALID && p.nerrors >= 1 && p.nerrors <= SP_PROBLEM_MAX_ERRORS);
        for (size_t i = 0; i < p.nerrors; i++)
            CHECK(p.errors[i].field && p.errors[i].code && p.errors[i].message);
        for (size_t i = 0; i < NSPECS; i++)
            if (out[i].present)
                check_value(&specs[i], &out[i]);
        for (size_t i = 0; i < NSPECS; i++)
            check_int_spelling(o, &specs[i], &out[i]);
    }
    /* Serializing the parsed body must give JSON that parses again. */
    size_t len;
    const char *txt = sp_json_compact(o, &len);
    struct sp_problem p2;
    sp_problem_init(&p2);
    CHECK(txt != NULL && strlen(txt) == len);
    CHECK(sp_json_parse(&a, txt, len, &p2) != NULL || strcmp(p2.code, "validation_failed") == 0);
    check_repeats(&a, o, (const char *)data, size);
    /* sp_json_minify (admin rows as PostgreSQL's json_build_object writes
     * them) keeps the value: the accepted text without its whitespace
     * outside strings parses to an equal value. */
    const char *min = sp_json_minify(&a, sp_arena_strndup(&a, (const char *)data, size));
    struct sp_problem p3;
    sp_problem_init(&p3);
    struct json_object *again = sp_json_parse_body(&a, min, strlen(min), &p3);
    CHECK(strlen(min) <= size && again != NULL && json_object_equal(o, again));
    sp_arena_destroy(&a);
    return 0;
}
