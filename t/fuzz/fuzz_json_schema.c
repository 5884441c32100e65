/*
 * fuzz_json_schema: libFuzzer target for the tools' JSON Schema subset
 * (src/core/json_schema.c), which judges every tool call's arguments. The
 * input is a schema and an instance separated by the first newline: both
 * untrusted (a validator must survive a schema that was never checked).
 * The corpus starts from the AI tools' own schemas (src/domain/
 * ai_tools.c) with instances near their bounds. Aborts
 * when an outcome breaks the contract of json_schema.h: a refusal is
 * SP_INVALID with validation_failed and at least one field error whose
 * path starts with the prefix; a pass adds no errors; a schema the check
 * accepts is an object.
 * Build: scripts/dev fuzz json_schema (replayed by `make check`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/json_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
judge(struct sp_arena *a, struct json_object *schema, struct json_object *instance)
{
    struct sp_problem p;
    sp_problem_init(&p);
    enum sp_rc rc = sp_json_schema_validate(a, schema, instance, "arguments", &p);
    if (rc == SP_OK) {
        if (p.nerrors != 0)
            abort();
        return;
    }
    if (rc != SP_INVALID || p.code == NULL || strcmp(p.code, "validation_failed") != 0 ||
        p.nerrors == 0)
        abort();
    for (size_t i = 0; i < p.nerrors; i++) {
        if (strncmp(p.errors[i].field, "arguments", 9) != 0 || p.errors[i].code == NULL)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    if (nl == NULL)
        return 0;
    struct sp_arena a;
    sp_arena_init(&a, 8192);
    struct sp_problem p;
    sp_problem_init(&p);
    struct json_object *schema = sp_json_parse(&a, text, (size_t)(nl - text), &p);
    sp_problem_init(&p);
    size_t rest = size - (size_t)(nl - text) - 1;
    struct json_object *instance = sp_json_parse(&a, nl + 1, rest, &p);
    if (instance != NULL && schema != NULL) {
        char err[256];
        if (sp_json_schema_check(schema, err, sizeof(err)) &&
            !json_object_is_type(schema, json_type_object))
            abort();
        judge(&a, schema, instance);
    }
    sp_arena_destroy(&a);
    return 0;
}
