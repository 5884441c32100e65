/*
 * json_schema: the tools' subset of JSON Schema. See json_schema.h.
 */
#include "core/json_schema.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/rfc3339.h"
#include "core/utf8.h"

static const char *const type_names[] = {"object", "string",  "integer", "number",
                                         "boolean", "array", "null", NULL};

/* ---- checking a schema ---------------------------------------------------- */

static bool
fail(char *err, size_t errlen, const char *path, const char *what)
{
    snprintf(err, errlen, "%s: %s", path, what);
    return false;
}

static bool
is_count(struct json_object *v)
{
    return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0;
}

static bool
is_number(struct json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static bool
known_type(const char *name)
{
    for (size_t i = 0; type_names[i] != NULL; i++) {
        if (strcmp(type_names[i], name) == 0)
            return true;
    }
    return false;
}

static bool check_at(struct json_object *s, const char *path, int depth, char *err,
                     size_t errlen);

static bool
check_properties(struct json_object *v, const char *path, int depth, char *err, size_t errlen)
{
    if (!json_object_is_type(v, json_type_object))
        return fail(err, errlen, path, "properties must be an object");
    json_object_object_foreach(v, name, sub) {
        char p[256];
        snprintf(p, sizeof(p), "%s.properties.%s", path, name);
        if (!check_at(sub, p, depth + 1, err, errlen))
            return false;
    }
    return true;
}

static bool
check_strings_or_ints(struct json_object *v, bool ints_too)
{
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
        return false;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string) &&
            !(ints_too && json_object_is_type(e, json_type_int)))
            return false;
    }
    return true;
}

/* One keyword of a schema: true when known and well formed. */
static bool
check_keyword(const char *k, struct json_object *v, const char *path, int depth, char *err,
              size_t errlen)
{
    if (strcmp(k, "type") == 0)
        return (json_object_is_type(v, json_type_string) && known_type(json_object_get_string(v)))
                   || fail(err, errlen, path, "type must name one known type");
    if (strcmp(k, "properties") == 0)
        return check_properties(v, path, depth, err, errlen);
    if (strcmp(k, "items") == 0) {
        char p[256];
        snprintf(p, sizeof(p), "%s.items", path);
        return check_at(v, p, depth + 1, err, errlen);
    }
    if (strcmp(k, "required") == 0)
        return check_strings_or_ints(v, false) || fail(err, errlen, path, "bad required");
    if (strcmp(k, "enum") == 0)
        return check_strings_or_ints(v, true) || fail(err, errlen, path, "bad enum");
    if (strcmp(k, "additionalProperties") == 0)
        return json_object_is_type(v, json_type_boolean) ||
               fail(err, errlen, path, "additionalProperties must be true or false");
    if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0)
        return is_number(v) || fail(err, errlen, path, "bounds must be numbers");
    if (strcmp(k, "minLength") == 0 || strcmp(k, "maxLength") == 0 ||
        strcmp(k, "minItems") == 0 || strcmp(k, "maxItems") == 0)
        return is_count(v) || fail(err, errlen, path, "lengths must be counts");
    if (strcmp(k, "format") == 0)
        return (json_object_is_type(v, json_type_string) &&
                strcmp(json_object_get_string(v), "date-time") == 0) ||
               fail(err, errlen, path, "the only format is date-time");
    if (strcmp(k, "description") == 0 || strcmp(k, "title") == 0)
        return json_object_is_type(v, json_type_string) ||
               fail(err, errlen, path, "annotations must be strings");
    if (strcmp(k, "default") == 0)
        return true;
    char what[128];
    snprintf(what, sizeof(what), "unsupported keyword %.80s", k);
    return fail(err, errlen, path, what);
}

static bool
check_at(struct json_object *s, const char *path, int depth, char *err, size_t errlen)
{
    if (depth >= SP_JSON_SCHEMA_DEPTH)
        return fail(err, errlen, path, "nested too deeply");
    if (!json_object_is_type(s, json_type_object))
        return fail(err, errlen, path, "a schema must be an object");
    json_object_object_foreach(s, k, v) {
        if (!check_keyword(k, v, path, depth, err, errlen))
            return false;
    }
    return true;
}

bool
sp_json_schema_check(struct json_object *schema, char *err, size_t errlen)
{
    return check_at(schema, "$", 0, err, errlen);
}

/* ---- validating an instance ----------------------------------------------- */

struct walk {
    struct sp_arena *a;
    struct sp_problem *p;
};

static struct json_object *
keyword(struct json_object *s, const char *k, enum json_type t)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(s, k, &v) || v == NULL)
        return NULL;
    if (t == json_type_double)
        return is_number(v) ? v : NULL;
    return json_object_is_type(v, t) ? v : NULL;
}

static bool
type_matches(const char *type, struct json_object *v)
{
    enum json_type t = v == NULL ? json_type_null : json_object_get_type(v);
    if (strcmp(type, "object") == 0) return t == json_type_object;
    if (strcmp(type, "string") == 0) return t == json_type_string;
    if (strcmp(type, "integer") == 0) return t == json_type_int;
    if (strcmp(type, "number") == 0) return t == json_type_int || t == json_type_double;
    if (strcmp(type, "boolean") == 0) return t == json_type_boolean;
    if (strcmp(type, "array") == 0) return t == json_type_array;
    if (strcmp(type, "null") == 0) return t == json_type_null;
    return true;   /* an unknown type names nothing to enforce */
}

static const char *
type_message(const char *type)
{
    if (strcmp(type, "object") == 0) return "must be an object";
    if (strcmp(type, "string") == 0) return "must be a string";
    if (strcmp(type, "integer") == 0) return "must be an integer";
    if (strcmp(type, "number") == 0) return "must be a number";
    if (strcmp(type, "boolean") == 0) return "must be a boolean";
    if (strcmp(type, "array") == 0) return "must be an array";
    return "must be null";
}

/* What a too-small or too-large count is called (strings, arrays): the
 * message names the bound ("must be at most 200 characters"). */
struct count_words {
    const char *low_code, *high_code, *verb, *unit;
};
static const struct count_words string_words = {"too_short", "too_long", "be", "characters"};
static const struct count_words array_words = {"too_few", "too_many", "have", "items"};

static const char *
count_check(struct json_object *s, const char *min_k, const char *max_k, int64_t n,
            const struct count_words *words, const char **message, char *msg)
{
    struct json_object *min = keyword(s, min_k, json_type_int);
    struct json_object *max = keyword(s, max_k, json_type_int);
    if (min != NULL && n < json_object_get_int64(min)) {
        int64_t m = json_object_get_int64(min);
        *message = m <= 1 ? "must not be empty"
                          : sp_problem_msgf(msg, "must %s at least %" PRId64 " %s", words->verb, m,
                                       words->unit);
        return words->low_code;
    }
    if (max != NULL && n > json_object_get_int64(max)) {
        *message = sp_problem_msgf(msg, "must %s at most %" PRId64 " %s", words->verb,
                              json_object_get_int64(max), words->unit);
        return words->high_code;
    }
    return NULL;
}

static const char *
check_string(struct json_object *s, struct json_object *v, const char **message, char *msg)
{
    const char *str = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (memchr(str, '\0', len) != NULL) {
        *message = "must not contain NUL characters";
        return "invalid";
    }
    const char *code = count_check(s, "minLength", "maxLength",
                                   (int64_t)sp_utf8_count(str, len), &string_words, message, msg);
    if (code != NULL)
        return code;
    struct json_object *f = keyword(s, "format", json_type_string);
    int64_t ms;
    if (f != NULL && strcmp(json_object_get_string(f), "date-time") == 0 &&
        !sp_rfc3339_parse(str, &ms)) {
        *message = "must be an RFC 3339 date-time";
        return "invalid";
    }
    return NULL;
}

/* A bound as the schema writes it: 5 or 2.5. */
static const char *
bound_text(struct json_object *b, char *buf, size_t size)
{
    if (json_object_is_type(b, json_type_int))
        snprintf(buf, size, "%" PRId64, json_object_get_int64(b));
    else
        snprintf(buf, size, "%g", json_object_get_double(b));
    return buf;
}

/* "must be an integer from 1 to 500", "must be a number of at least 0". */
static const char *
range_message(struct json_object *s, struct json_object *min, struct json_object *max,
              char *msg)
{
    struct json_object *type = keyword(s, "type", json_type_string);
    const char *kind = type != NULL && strcmp(json_object_get_string(type), "integer") == 0
                           ? "an integer"
                           : "a number";
    char lo[32], hi[32];
    if (min != NULL && max != NULL)
        return sp_problem_msgf(msg, "must be %s from %s to %s", kind,
                          bound_text(min, lo, sizeof(lo)), bound_text(max, hi, sizeof(hi)));
    if (min != NULL)
        return sp_problem_msgf(msg, "must be %s of at least %s", kind,
                               bound_text(min, lo, sizeof(lo)));
    return sp_problem_msgf(msg, "must be %s of at most %s", kind, bound_text(max, hi, sizeof(hi)));
}

static const char *
check_number(struct json_object *s, struct json_object *v, const char **message, char *msg)
{
    struct json_object *min = keyword(s, "minimum", json_type_double);
    struct json_object *max = keyword(s, "maximum", json_type_double);
    bool is_int = json_object_is_type(v, json_type_int);
    /* Integers compare as integers (doubles lose precision past 2^53). */
    bool below = min != NULL &&
                 (is_int && json_object_is_type(min, json_type_int)
                      ? json_object_get_int64(v) < json_object_get_int64(min)
                      : !(json_object_get_double(v) >= json_object_get_double(min)));
    bool above = max != NULL &&
                 (is_int && json_object_is_type(max, json_type_int)
                      ? json_object_get_int64(v) > json_object_get_int64(max)
                      : !(json_object_get_double(v) <= json_object_get_double(max)));
    if (below || above) {
        *message = range_message(s, min, max, msg);
        return "out_of_range";
    }
    return NULL;
}

/* "must be one of: a, b, 3": the enum's strings and integers. */
static const char *
enum_message(struct sp_arena *a, struct json_object *e, char *msg)
{
    size_t n = json_object_array_length(e);
    const char **names = sp_arena_calloc(a, n + 1, sizeof(*names));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *x = json_object_array_get_idx(e, i);
        if (json_object_is_type(x, json_type_string))
            names[k++] = json_object_get_string(x);
        else if (json_object_is_type(x, json_type_int))
            names[k++] = sp_arena_sprintf(a, "%" PRId64, json_object_get_int64(x));
    }
    return sp_problem_list_text(msg, "must be one of: ", names, k);
}

static bool
enum_has(struct json_object *e, struct json_object *v)
{
    for (size_t i = 0; i < json_object_array_length(e); i++) {
        struct json_object *x = json_object_array_get_idx(e, i);
        if (x == NULL || v == NULL || json_object_get_type(x) != json_object_get_type(v))
            continue;
        if (json_object_is_type(v, json_type_string) &&
            strcmp(json_object_get_string(x), json_object_get_string(v)) == 0)
            return true;
        if (json_object_is_type(v, json_type_int) &&
            json_object_get_int64(x) == json_object_get_int64(v))
            return true;
    }
    return false;
}

static void validate_at(struct walk *w, struct json_object *s, struct json_object *v,
                        const char *path, int depth);

static void
validate_object(struct walk *w, struct json_object *s, struct json_object *v, const char *path,
                int depth)
{
    struct json_object *props = keyword(s, "properties", json_type_object);
    struct json_object *req = keyword(s, "required", json_type_array);
    for (size_t i = 0; req != NULL && i < json_object_array_length(req); i++) {
        struct json_object *name = json_object_array_get_idx(req, i);
        if (json_object_is_type(name, json_type_string) &&
            !json_object_object_get_ex(v, json_object_get_string(name), NULL))
            sp_problem_field(w->p,
                             sp_arena_sprintf(w->a, "%s.%s", path, json_object_get_string(name)),
                             "required", "is required");
    }
    struct json_object *extra = keyword(s, "additionalProperties", json_type_boolean);
    bool closed = extra != NULL && !json_object_get_boolean(extra);
    json_object_object_foreach(v, name, value) {
        struct json_object *sub = NULL;
        const char *p = sp_arena_sprintf(w->a, "%s.%s", path, name);
        if (props != NULL && json_object_object_get_ex(props, name, &sub))
            validate_at(w, sub, value, p, depth + 1);
        else if (closed)
            sp_problem_field(w->p, p, "unknown_field", "is not a known argument");
    }
}

static void
validate_array(struct walk *w, struct json_object *s, struct json_object *v, const char *path,
               int depth)
{
    const char *message = NULL;
    char msg[SP_PROBLEM_MESSAGE_MAX];
    size_t n = json_object_array_length(v);
    const char *code =
        count_check(s, "minItems", "maxItems", (int64_t)n, &array_words, &message, msg);
    if (code != NULL) {
        sp_problem_field(w->p, path, code, message);
        return;
    }
    struct json_object *items = keyword(s, "items", json_type_object);
    for (size_t i = 0; items != NULL && i < n; i++)
        validate_at(w, items, json_object_array_get_idx(v, i),
                    sp_arena_sprintf(w->a, "%s[%zu]", path, i), depth + 1);
}

static void
validate_at(struct walk *w, struct json_object *s, struct json_object *v, const char *path,
            int depth)
{
    if (depth >= SP_JSON_SCHEMA_DEPTH) {
        sp_problem_fieldf(w->p, path, "invalid", "is nested more than %d levels deep",
                          SP_JSON_SCHEMA_DEPTH);
        return;
    }
    if (!json_object_is_type(s, json_type_object))
        return;
    struct json_object *type = keyword(s, "type", json_type_string);
    if (type != NULL && !type_matches(json_object_get_string(type), v)) {
        sp_problem_field(w->p, path, "wrong_type", type_message(json_object_get_string(type)));
        return;
    }
    struct json_object *e = keyword(s, "enum", json_type_array);
    if (e != NULL && !enum_has(e, v)) {
        char msg[SP_PROBLEM_MESSAGE_MAX];
        sp_problem_field(w->p, path, "invalid", enum_message(w->a, e, msg));
        return;
    }
    const char *code = NULL, *message = NULL;
    char msg[SP_PROBLEM_MESSAGE_MAX];
    if (json_object_is_type(v, json_type_string))
        code = check_string(s, v, &message, msg);
    else if (is_number(v))
        code = check_number(s, v, &message, msg);
    else if (json_object_is_type(v, json_type_object))
        validate_object(w, s, v, path, depth);
    else if (json_object_is_type(v, json_type_array))
        validate_array(w, s, v, path, depth);
    if (code != NULL)
        sp_problem_field(w->p, path, code, message);
}

enum sp_rc
sp_json_schema_validate(struct sp_arena *a, struct json_object *schema,
                        struct json_object *instance, const char *prefix, struct sp_problem *p)
{
    struct walk w = {a, p};
    validate_at(&w, schema, instance, prefix, 0);
    return p->rc == SP_INVALID ? SP_INVALID : SP_OK;
}
