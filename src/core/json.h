/*
 * json: parsing untrusted JSON bodies (json-c) and declarative validation
 * of their fields. One validator produces the errors[] list for every
 * endpoint (STYLE.md "Declare, don't repeat"): an endpoint lists its
 * fields with type, bounds and whether they are required, and gets typed
 * values back. String lengths count Unicode code points.
 * Must not: know HTTP; parsed objects live on the caller's arena.
 */
#ifndef SP_JSON_H
#define SP_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"

struct sp_arena;
struct sp_buf;

/* Most objects and arrays one text may hold (each costs json-c a table). */
#define SP_JSON_CONTAINERS_MAX 10000
/* Most objects and arrays one text may hold inside each other, the
 * outermost included, whatever the innermost holds (API.md §1). */
#define SP_JSON_DEPTH_MAX 32
/* Parses a complete JSON text (valid UTF-8, at most SP_JSON_DEPTH_MAX
 * deep, at most SP_JSON_CONTAINERS_MAX objects and arrays). On failure
 * fills p with 400 invalid_json (413 payload_too_large past that count)
 * and returns NULL.
 * The object is released with the arena. */
struct json_object *sp_json_parse(struct sp_arena *a, const char *text, size_t len,
                                  struct sp_problem *p);
/* o (NULL: nothing) is released (json_object_put) with the arena: a
 * tree built or parsed for one request or pass, freed on every path. */
void sp_json_release_with(struct sp_arena *a, struct json_object *o);
/* Most members and array elements, every level counted, a text a client
 * sends may hold (API.md §1): far above any request's, far below what a
 * MiB can name (90,000 members cost a worker most of a second). */
#define SP_JSON_ITEMS_MAX 10000
/* sp_json_parse for what a client sends (a request body, a chat frame):
 * also at most SP_JSON_ITEMS_MAX members and array elements, past which
 * it is 413 payload_too_large. A service's answer stays with
 * sp_json_parse: an embedder's batch alone is 64 × 1536 numbers. */
struct json_object *sp_json_parse_body(struct sp_arena *a, const char *text, size_t len,
                                       struct sp_problem *p);

enum sp_field_type {
    SP_FIELD_STRING,   /* min/max: code points */
    SP_FIELD_INT,      /* min/max: value bounds */
    SP_FIELD_BOOL,
    SP_FIELD_ENUM,     /* string from values[] */
    SP_FIELD_OBJECT,   /* max: serialized bytes (0 = no limit) */
    SP_FIELD_ARRAY,    /* max: element count */
    /* An array of strings that its reader checks item by item
     * (sp_problem_check_items: tags, events, skills), max: element count.
     * A fault inside an item (a NUL, a value no string) is left to that
     * reader, which names the item by its index, so one bad item does not
     * hide the others' errors behind one error on the list. */
    SP_FIELD_LIST,
    SP_FIELD_NUMBER,   /* dmin/dmax: value bounds (integers accepted too) */
};

struct sp_field_spec {
    const char *name;
    enum sp_field_type type;
    bool required;
    bool nullable;          /* JSON null accepted (reported as absent) */
    long long min, max;
    const char *const *values; /* SP_FIELD_ENUM: NULL-terminated */
    double dmin, dmax;         /* SP_FIELD_NUMBER */
};

struct sp_field_value {
    bool present;           /* given and not null */
    const char *str;        /* STRING/ENUM: points into the parsed object */
    size_t len;             /* bytes */
    long long i;            /* INT value, ENUM index */
    double d;               /* NUMBER value */
    bool b;
    struct json_object *obj;/* OBJECT/ARRAY */
};

/* Validates body (must be an object) against specs; fills out[nspecs].
 * Collects every field error before returning SP_INVALID. */
enum sp_rc sp_json_validate(struct json_object *body, const struct sp_field_spec *specs,
                            size_t nspecs, struct sp_field_value *out, struct sp_problem *p);

/* Whether the string s holds a NUL character: json-c keeps a "\u0000",
 * where the C string json_object_get_string gives would end, and the
 * database refuses it. */
bool sp_json_has_nul(struct json_object *s);

/* Serializes compactly; the text is owned by (cached in) o. */
const char *sp_json_compact(struct json_object *o, size_t *len);
/* The JSON text s (valid JSON, or NULL) without the whitespace outside
 * its strings, in a's memory: compact as the API's JSON writer writes,
 * for a text PostgreSQL rendered (json_build_object writes
 * {"id" : 1, "name" : …}). NULL for NULL. */
char *sp_json_minify(struct sp_arena *a, const char *s);

#endif
