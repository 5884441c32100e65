/*
 * template: a small mustache renderer for the server-rendered admin pages
 * (templates/NAME.html). A set of templates is loaded and compiled once per
 * worker into flat opcode lists, partials resolved to pointers, so a
 * render never parses template text; reloading builds a new set and the
 * caller swaps it in and frees the old one (a set is never changed after
 * load, so a render may use it while the next set is being built).
 *
 * Tags (mustache, without set-delimiters and lambdas):
 *   {{name}}        the value, HTML-escaped: & < > " ' ` = become
 *                   entities, so values are safe in text and in quoted
 *                   attributes (single or double). Quote every attribute:
 *                   an unquoted value cannot add a `name=value` pair (= is
 *                   escaped) but can still be split on whitespace.
 *   {{{name}}} {{& name}}  the value unescaped (trusted markup only).
 *   {{#name}}..{{/name}}   skipped when the value is missing, null, false,
 *                   "" or []; an array renders the body once per element
 *                   with the element as context; any other value (an
 *                   object, true, a number including 0, a non-empty
 *                   string) renders it once with the value as context.
 *   {{^name}}..{{/name}}   rendered once exactly when # would skip.
 *   {{> name}}      the template `name` of the same set, with the current
 *                   context; unknown names fail the load.
 *   {{! comment}}   nothing.
 * Names are `.` (the current context) or dot-separated segments of
 * [A-Za-z0-9_-]; the first segment is looked up from the innermost
 * context outwards, the rest inside what it found (mustache's rule). So
 * data for a recursive partial should carry its keys on every level (a
 * leaf with "kids":[]), or a leaf finds its parent's kids and the render
 * stops at the depth limit.
 * Strings render as their bytes, numbers and booleans as their JSON text,
 * null, objects and arrays as nothing. Values are never parsed: "{{x}}"
 * in data is output as text.
 *
 * Layout: the partial name `content` is reserved. In a template rendered
 * by sp_tpl_render_page(), {{> content}} renders the page there (one
 * layout, one page); anywhere else (sp_tpl_render, or inside the page)
 * it fails the render. A file content.html is refused at load.
 *
 * Whitespace follows the spec's standalone rule: a line holding only a
 * section, inverted, close, partial or comment tag (and blanks) is
 * removed with its newline. Partials are not re-indented.
 *
 * Limits: section/partial nesting at render is at most SP_TPL_MAX_DEPTH
 * (a partial that includes itself fails the render, it cannot exhaust
 * the stack); a render visits at most SP_TPL_MAX_STEPS tags and writes
 * at most SP_TPL_MAX_OUTPUT bytes. A failed render leaves `out` as it was.
 *
 * Must not: know about HTTP, files other than the directory it is given,
 * or SQL; re-read or re-parse template text per render.
 */
#ifndef SP_TEMPLATE_H
#define SP_TEMPLATE_H

#include <stddef.h>

#include "core/problem.h"

struct json_object;
struct sp_buf;
struct sp_tpl_set;

#define SP_TPL_MAX_DEPTH 32
#define SP_TPL_MAX_STEPS 1000000
#define SP_TPL_MAX_OUTPUT (8u << 20)
#define SP_TPL_MAX_FILE (1u << 20)      /* bytes per template file */

/* One in-memory template: name (no ".html"), text of len bytes. */
struct sp_tpl_source {
    const char *name;
    const char *text;
    size_t len;
};

/*
 * Loads and compiles every regular file `<name>.html` of dir (other files
 * are ignored). On success *out is a new set owned by the caller (free it
 * with sp_tpl_set_free). Returns SP_INVALID for a template error (unclosed
 * or mismatched section, bad tag, unknown partial, bad file name, ...) and
 * SP_ERROR for an I/O error; err then says what and where
 * ("page.html:12: ...") and *out is NULL.
 */
enum sp_rc sp_tpl_set_load(struct sp_tpl_set **out, const char *dir,
                           char *err, size_t errlen);
/* The same from n in-memory sources (tests, fuzzing); texts are copied. */
enum sp_rc sp_tpl_set_load_strings(struct sp_tpl_set **out,
                                   const struct sp_tpl_source *src, size_t n,
                                   char *err, size_t errlen);
void sp_tpl_set_free(struct sp_tpl_set *set);     /* NULL is fine */

/*
 * Appends template `name` rendered with ctx (a json-c value, usually an
 * object; NULL is an empty context) to out. Returns SP_OK, SP_NOT_FOUND
 * for an unknown name, SP_ERROR when a limit above is hit or {{> content}}
 * has no page; on failure out is restored to its length before the call.
 */
enum sp_rc sp_tpl_render(const struct sp_tpl_set *set, const char *name,
                         struct json_object *ctx, struct sp_buf *out);
/* Renders layout with {{> content}} standing for page, both with ctx. */
enum sp_rc sp_tpl_render_page(const struct sp_tpl_set *set, const char *layout,
                              const char *page, struct json_object *ctx,
                              struct sp_buf *out);

#endif
