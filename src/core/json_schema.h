/*
 * json_schema: the subset of JSON Schema (2020-12 keywords) that the AI
 * tools' parameters use (API.md §9): `type` (one of object, string,
 * integer, number, boolean, array, null), `properties`, `required`,
 * `additionalProperties` (true/false), `enum` (strings, integers),
 * `minimum`/`maximum`, `minLength`/`maxLength` (Unicode code points),
 * `format: "date-time"` (RFC 3339), `items`, `minItems`/`maxItems`, and
 * the annotations `description`, `title`, `default`.
 *
 * A schema is first checked (sp_json_schema_check: only those keywords,
 * each of the right shape) — the tools' schemas are, by a unit test — and
 * instances are validated against it, every failure one field error of
 * the problem (the same codes as core/json's field tables: required,
 * wrong_type, too_short, too_long, out_of_range, invalid, unknown_field,
 * too_many, too_few), the field named by its path ("arguments.amount",
 * "arguments.items[2]"). Validation never trusts the schema to have been
 * checked: a keyword of the wrong shape is ignored, nesting is bounded.
 * Must not: know HTTP, SQL or any tool.
 */
#ifndef SP_JSON_SCHEMA_H
#define SP_JSON_SCHEMA_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"

struct sp_arena;

#define SP_JSON_SCHEMA_DEPTH 16     /* nesting of schemas and instances */

/* true when schema uses only the subset above, well formed; else false
 * with a message naming the keyword's path in err. */
bool sp_json_schema_check(struct json_object *schema, char *err, size_t errlen);

/* Validates instance (may be NULL: JSON null) against schema; the field
 * paths start with prefix (e.g. "arguments"; arena-owned copies). SP_OK,
 * or SP_INVALID with p's code validation_failed and its field errors. */
enum sp_rc sp_json_schema_validate(struct sp_arena *a, struct json_object *schema,
                                   struct json_object *instance, const char *prefix,
                                   struct sp_problem *p);

#endif
