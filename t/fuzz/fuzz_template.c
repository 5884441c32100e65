/*
 * fuzz_template: libFuzzer target for the mustache compiler and renderer
 * (src/core/template.c). The input is up to four templates separated by
 * NUL bytes, named a, b, c and d (so {{> a}} etc. resolve); each is
 * rendered, and a as a layout around b, against a fixed context full of
 * hostile strings. Besides crashes and sanitizer reports it aborts when:
 * a refused load says nothing; a failed render changed the buffer; two
 * renders of the same input differ; or, when the templates themselves
 * hold none of < > " ' ` = and no raw tag, the output holds one (values
 * are escaped and never parsed as template text).
 * Build: scripts/dev fuzz template (replayed by `make check` as
 * t/fuzz/fuzz_template).
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARKUP "<>\"'`="

/* Built once and kept for the process (json-c caches number texts). */
static struct json_object *
context(void)
{
    static struct json_object *ctx;
    if (ctx == NULL)
        ctx = json_tokener_parse(
            "{\"s\":\"</script><script>alert('x')</script>\\\"`=&amp;\","
            "\"t\":true,\"f\":false,\"n\":0,\"x\":-1.5e3,\"e\":\"\",\"z\":null,"
            "\"l\":[1,\"<a href=x>\",{\"s\":\"'\",\"l\":[]},[],null],"
            "\"o\":{\"s\":\"\\\"\",\"o\":{\"s\":\"{{s}}{{{s}}}{{> a}}\"}},"
            "\"a\":[[\"=\"]],\"b\":\"{{#l}}{{s}}{{/l}}\",\"c\":{},\"d\":[{}]}");
    if (ctx == NULL)
        abort();
    return ctx;
}

static bool
mem_has_any(const uint8_t *p, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\0' && strchr(set, p[i]) != NULL)
            return true;
    }
    return false;
}

static bool
mem_has(const uint8_t *p, size_t n, const char *needle)
{
    return memmem(p, n, needle, strlen(needle)) != NULL;
}

/* Renders once into a buffer holding "X"; checks the failure contract. */
static enum sp_rc
render_once(const struct sp_tpl_set *set, const char *name, const char *page,
            struct sp_arena *a, struct sp_buf *b)
{
    sp_buf_init(b, a, 64);
    sp_buf_putc(b, 'X');
    enum sp_rc rc = page == NULL
        ? sp_tpl_render(set, name, context(), b)
        : sp_tpl_render_page(set, name, page, context(), b);
    if (rc != SP_OK && (b->len != 1 || strcmp(b->data, "X") != 0))
        abort();
    return rc;
}

static void
check_render(const struct sp_tpl_set *set, const char *name, const char *page,
             bool plain)
{
    struct sp_arena a;
    struct sp_buf one, two;

    sp_arena_init(&a, 4096);
    enum sp_rc rc = render_once(set, name, page, &a, &one);
    if (render_once(set, name, page, &a, &two) != rc || one.len != two.len ||
        memcmp(one.data, two.data, one.len) != 0)
        abort();
    if (rc == SP_OK && plain &&
        mem_has_any((const uint8_t *)one.data, one.len, MARKUP))
        abort();
    sp_arena_destroy(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"a", "b", "c", "d"};
    struct sp_tpl_source src[4];
    struct sp_tpl_set *set = NULL;
    char err[256];
    size_t n = 0, from = 0;

    while (n < 4 && from <= size) {
        const uint8_t *nul = memchr(data + from, '\0', size - from);
        size_t to = nul ? (size_t)(nul - data) : size;
        src[n] = (struct sp_tpl_source){names[n], (const char *)data + from,
                                        to - from};
        n++;
        from = to + 1;
    }
    if (sp_tpl_set_load_strings(&set, src, n, err, sizeof(err)) != SP_OK) {
        if (set != NULL || err[0] == '\0')
            abort();
        return 0;
    }
    bool plain = !mem_has_any(data, size, MARKUP) && !mem_has(data, size, "{{{") &&
                 !mem_has(data, size, "{{&");
    for (size_t i = 0; i < n; i++)
        check_render(set, names[i], NULL, plain);
    if (n >= 2)
        check_render(set, "a", "b", plain);
    sp_tpl_set_free(set);
    return 0;
}
