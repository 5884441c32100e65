/*
 * test_template: the mustache renderer (src/core/template.c): every tag,
 * the context rules, the layout slot, load errors naming file:line, the
 * render limits, loading from a directory and reloading, and hostile
 * values (quotes in attributes, </script>, "{{" in data) that must come
 * out as inert text.
 */
#include <check.h>
#include <ftw.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/template.h"
#include "unit.h"

static char scratch[64];
static struct sp_arena arena;
static struct sp_tpl_set *set;
static char err[256];

static void
setup(void)
{
    sp_arena_init(&arena, 4096);
    set = NULL;
    err[0] = '\0';
}

static void
teardown(void)
{
    sp_tpl_set_free(set);
    sp_arena_destroy(&arena);
}

/* Loads a set from NULL-terminated name, text pairs into `set`. */
static enum sp_rc
load_pairs(const char *const *pairs)
{
    struct sp_tpl_source src[64];
    size_t n = 0;
    for (; pairs[2 * n] != NULL; n++)
        src[n] = (struct sp_tpl_source){pairs[2 * n], pairs[2 * n + 1],
                                        strlen(pairs[2 * n + 1])};
    sp_tpl_set_free(set);
    set = NULL;
    return sp_tpl_set_load_strings(&set, src, n, err, sizeof(err));
}

#define LOAD(...) \
    ck_assert_msg(load_pairs((const char *const[]){__VA_ARGS__, NULL}) == SP_OK, \
                  "load: %s", err)
#define LOAD_FAILS(...) \
    ck_assert_int_eq(load_pairs((const char *const[]){__VA_ARGS__, NULL}), \
                     SP_INVALID)

static void
put_json(void *o)
{
    json_object_put(o);
}

static struct json_object *
ctx_of(const char *json)
{
    if (json == NULL)
        return NULL;
    struct json_object *o = json_tokener_parse(json);
    ck_assert_msg(o != NULL, "bad test JSON: %s", json);
    sp_arena_defer(&arena, put_json, o);
    return o;
}

/* Renders name of the current set with the JSON context; asserts SP_OK. */
static const char *
render(const char *name, const char *json)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 64);
    enum sp_rc rc = sp_tpl_render(set, name, ctx_of(json), &b);
    ck_assert_msg(rc == SP_OK, "render %s: rc %d", name, (int)rc);
    ck_assert_uint_eq(b.len, strlen(b.data));
    return b.data;
}

/* One template "t" rendered with json. */
static const char *
one(const char *text, const char *json)
{
    LOAD("t", text);
    return render("t", json);
}

/* ---- variables --------------------------------------------------------- */

START_TEST(variable_is_html_escaped)
{
    ck_assert_str_eq(one("[{{v}}]", "{\"v\":\"<b>&\\\"'`=x</b>\"}"),
                     "[&lt;b&gt;&amp;&quot;&#39;&#96;&#61;x&lt;/b&gt;]");
}
END_TEST

START_TEST(triple_and_ampersand_are_raw)
{
    ck_assert_str_eq(one("{{{v}}}|{{& v}}|{{v}}", "{\"v\":\"<i>a&b</i>\"}"),
                     "<i>a&b</i>|<i>a&b</i>|&lt;i&gt;a&amp;b&lt;/i&gt;");
}
END_TEST

START_TEST(blanks_inside_tags_are_ignored)
{
    ck_assert_str_eq(one("{{ v }}{{{  v\t}}}{{#  s }}y{{/ s }}",
                         "{\"v\":\"x\",\"s\":true}"),
                     "xxy");
}
END_TEST

START_TEST(missing_and_null_render_nothing)
{
    ck_assert_str_eq(one("[{{nope}}{{n}}{{{nope}}}{{a.b.c}}]", "{\"n\":null}"),
                     "[]");
    ck_assert_str_eq(one("[{{v}}]", NULL), "[]");
}
END_TEST

START_TEST(numbers_and_booleans_render_as_json_text)
{
    ck_assert_str_eq(one("{{i}} {{neg}} {{d}} {{t}} {{f}} {{big}}",
                         "{\"i\":42,\"neg\":-7,\"d\":1.5,\"t\":true,"
                         "\"f\":false,\"big\":9007199254740993}"),
                     "42 -7 1.5 true false 9007199254740993");
}
END_TEST

START_TEST(objects_and_arrays_render_nothing)
{
    ck_assert_str_eq(one("[{{o}}{{a}}{{{o}}}]", "{\"o\":{\"x\":1},\"a\":[1,2]}"),
                     "[]");
}
END_TEST

START_TEST(dotted_names_descend_into_objects)
{
    const char *ctx = "{\"a\":{\"b\":{\"c\":\"deep\"}},\"x\":\"top\"}";
    ck_assert_str_eq(one("{{a.b.c}}|{{a.b.nope}}|{{a.x}}|{{{a.b.c}}}", ctx),
                     "deep|||deep");
}
END_TEST

START_TEST(dotted_name_does_not_walk_up_after_its_first_segment)
{
    /* mustache spec: b is found in {a}'s context, so b.c looks only there */
    ck_assert_str_eq(one("[{{#a}}{{b.c}}{{/a}}]",
                         "{\"b\":{\"c\":\"ERROR\"},\"a\":{\"b\":{}}}"),
                     "[]");
}
END_TEST

START_TEST(text_without_tags_is_copied)
{
    ck_assert_str_eq(one("plain <p>text</p> { } }} {", NULL),
                     "plain <p>text</p> { } }} {");
    ck_assert_str_eq(one("", NULL), "");
}
END_TEST

START_TEST(comments_render_nothing)
{
    ck_assert_str_eq(one("a{{! a comment with {{braces }}b{{!\nmulti\nline}}c",
                         NULL),
                     "abc");
}
END_TEST

/* ---- sections ---------------------------------------------------------- */

START_TEST(section_skips_falsy_values)
{
    const char *ctx = "{\"f\":false,\"n\":null,\"e\":[],\"s\":\"\"}";
    ck_assert_str_eq(one("[{{#f}}F{{/f}}{{#n}}N{{/n}}{{#e}}E{{/e}}"
                         "{{#s}}S{{/s}}{{#missing}}M{{/missing}}]", ctx),
                     "[]");
}
END_TEST

START_TEST(section_renders_once_for_other_values)
{
    const char *ctx = "{\"t\":true,\"z\":0,\"s\":\"str\",\"o\":{},\"d\":0.0}";
    ck_assert_str_eq(one("{{#t}}T{{.}}{{/t}} {{#z}}Z{{.}}{{/z}} "
                         "{{#s}}S{{.}}{{/s}} {{#o}}O{{/o}} {{#d}}D{{/d}}", ctx),
                     "Ttrue Z0 Sstr O D");
}
END_TEST

START_TEST(section_iterates_arrays_with_each_element_as_context)
{
    ck_assert_str_eq(one("<ul>{{#items}}<li>{{name}}</li>{{/items}}</ul>",
                         "{\"items\":[{\"name\":\"a\"},{\"name\":\"<b>\"}]}"),
                     "<ul><li>a</li><li>&lt;b&gt;</li></ul>");
    ck_assert_str_eq(one("{{#xs}}({{.}}){{/xs}}", "{\"xs\":[1,\"two\",true,null]}"),
                     "(1)(two)(true)()");
}
END_TEST

START_TEST(object_section_pushes_context_and_lookup_walks_up)
{
    const char *ctx = "{\"org\":\"Acme\",\"name\":\"outer\","
                      "\"user\":{\"name\":\"Ann\",\"tags\":[{\"t\":\"x\"}]}}";
    ck_assert_str_eq(one("{{#user}}{{name}}@{{org}}:{{#tags}}{{t}}{{name}}"
                         "{{/tags}}{{/user}} {{name}}", ctx),
                     "Ann@Acme:xAnn outer");
}
END_TEST

START_TEST(nested_arrays_and_dot)
{
    ck_assert_str_eq(one("{{#rows}}[{{#.}}{{.}},{{/.}}]{{/rows}}",
                         "{\"rows\":[[1,2],[],[3]]}"),
                     "[1,2,][][3,]");
}
END_TEST

START_TEST(inverted_section_renders_only_for_falsy_values)
{
    const char *ctx = "{\"f\":false,\"e\":[],\"s\":\"\",\"t\":true,"
                      "\"xs\":[1],\"z\":0}";
    ck_assert_str_eq(one("{{^f}}f{{/f}}{{^e}}e{{/e}}{{^s}}s{{/s}}"
                         "{{^missing}}m{{/missing}}{{^t}}T{{/t}}{{^xs}}X{{/xs}}"
                         "{{^z}}Z{{/z}}", ctx),
                     "fesm");
    ck_assert_str_eq(one("{{#xs}}item{{/xs}}{{^xs}}none{{/xs}}", "{\"xs\":[]}"),
                     "none");
}
END_TEST

START_TEST(inverted_section_keeps_the_context)
{
    ck_assert_str_eq(one("{{#o}}{{^o.gone}}{{v}}{{/o.gone}}{{/o}}",
                         "{\"o\":{\"v\":\"in\"}}"),
                     "in");
}
END_TEST

/* ---- whitespace -------------------------------------------------------- */

START_TEST(standalone_tag_lines_are_removed)
{
    ck_assert_str_eq(one("<ul>\n  {{#xs}}\n  <li>{{.}}</li>\n  {{/xs}}\n"
                         "  {{! note }}\n</ul>\n", "{\"xs\":[\"a\",\"b\"]}"),
                     "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n");
}
END_TEST

START_TEST(standalone_rule_handles_crlf_and_file_edges)
{
    ck_assert_str_eq(one("{{#t}}\r\nyes\r\n{{/t}}\r\n", "{\"t\":1}"), "yes\r\n");
    ck_assert_str_eq(one("a\n{{^t}}\nno\n{{/t}}", "{\"t\":1}"), "a\n");
}
END_TEST

START_TEST(inline_tags_keep_their_whitespace)
{
    ck_assert_str_eq(one(" {{#t}} x {{/t}} \n{{v}}\n", "{\"t\":1,\"v\":\"v\"}"),
                     "  x  \nv\n");
    /* a variable on its own line is never standalone */
    ck_assert_str_eq(one("a\n  {{v}}\nb", "{\"v\":\"\"}"), "a\n  \nb");
}
END_TEST

/* ---- partials and the layout ------------------------------------------ */

START_TEST(partial_renders_with_the_current_context)
{
    LOAD("list", "<ul>{{#items}}{{> item}}{{/items}}</ul>",
         "item", "<li>{{name}}/{{title}}</li>");
    ck_assert_str_eq(render("list", "{\"title\":\"T\",\"items\":[{\"name\":\"a\"},"
                                    "{\"name\":\"b\"}]}"),
                     "<ul><li>a/T</li><li>b/T</li></ul>");
}
END_TEST

START_TEST(recursive_partial_follows_the_data)
{
    LOAD("tree", "{{#root}}{{> node}}{{/root}}",
         "node", "{{name}}({{#kids}}{{> node}}{{/kids}})");
    /* leaves say "kids":[]: a missing name is looked up in the parents,
     * so a leaf without it would find its parent's kids again */
    ck_assert_str_eq(render("tree", "{\"root\":{\"name\":\"a\",\"kids\":["
                                    "{\"name\":\"b\",\"kids\":[{\"name\":\"c\","
                                    "\"kids\":[]}]},{\"name\":\"d\",\"kids\":[]}]}}"),
                     "a(b(c())d())");
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    ck_assert_int_eq(sp_tpl_render(set, "tree", ctx_of("{\"root\":{\"name\":"
                                                       "\"a\",\"kids\":[{}]}}"),
                                   &b), SP_ERROR);
}
END_TEST

START_TEST(layout_includes_the_page_at_content)
{
    LOAD("layout", "<html><title>{{title}}</title>\n<body>\n{{> content}}\n"
                   "</body></html>\n",
         "page", "<h1>{{title}}</h1>{{> footer}}\n",
         "footer", "<footer>{{who}}</footer>");
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    ck_assert_int_eq(sp_tpl_render_page(set, "layout", "page",
                                        ctx_of("{\"title\":\"<T>\",\"who\":\"me\"}"),
                                        &b),
                     SP_OK);
    ck_assert_str_eq(b.data, "<html><title>&lt;T&gt;</title>\n<body>\n"
                             "<h1>&lt;T&gt;</h1><footer>me</footer>\n"
                             "</body></html>\n");
}
END_TEST

START_TEST(content_without_a_page_fails_and_leaves_out_unchanged)
{
    LOAD("layout", "<html>{{> content}}</html>", "page", "p{{> content}}");
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    sp_buf_puts(&b, "before");
    ck_assert_int_eq(sp_tpl_render(set, "layout", NULL, &b), SP_ERROR);
    ck_assert_str_eq(b.data, "before");
    ck_assert_uint_eq(b.len, 6);
    /* inside the page the slot is empty: a page cannot include itself */
    ck_assert_int_eq(sp_tpl_render_page(set, "layout", "page", NULL, &b),
                     SP_ERROR);
    ck_assert_str_eq(b.data, "before");
}
END_TEST

START_TEST(unknown_template_is_not_found)
{
    LOAD("a", "x");
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    ck_assert_int_eq(sp_tpl_render(set, "b", NULL, &b), SP_NOT_FOUND);
    ck_assert_int_eq(sp_tpl_render_page(set, "a", "b", NULL, &b), SP_NOT_FOUND);
    ck_assert_int_eq(sp_tpl_render_page(set, "b", "a", NULL, &b), SP_NOT_FOUND);
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(render_appends_to_the_buffer)
{
    LOAD("a", "<{{v}}>");
    struct sp_buf b;
    sp_buf_init(&b, &arena, 4);
    struct json_object *ctx = ctx_of("{\"v\":1}");
    ck_assert_int_eq(sp_tpl_render(set, "a", ctx, &b), SP_OK);
    ck_assert_int_eq(sp_tpl_render(set, "a", ctx, &b), SP_OK);
    ck_assert_str_eq(b.data, "<1><1>");
}
END_TEST

/* ---- limits ------------------------------------------------------------ */

START_TEST(self_including_partial_fails_the_render)
{
    LOAD("loop", "x{{> loop}}", "pair", "{{> pair}}{{> pair}}");
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    ck_assert_int_eq(sp_tpl_render(set, "loop", NULL, &b), SP_ERROR);
    ck_assert_int_eq(sp_tpl_render(set, "pair", NULL, &b), SP_ERROR);
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(nesting_up_to_the_limit_renders)
{
    /* a chain of partials SP_TPL_MAX_DEPTH deep renders; one more fails */
    static char names[SP_TPL_MAX_DEPTH + 2][8], texts[SP_TPL_MAX_DEPTH + 2][16];
    struct sp_tpl_source src[SP_TPL_MAX_DEPTH + 2];
    for (int i = 0; i <= SP_TPL_MAX_DEPTH + 1; i++) {
        snprintf(names[i], sizeof(names[i]), "p%d", i);
        if (i == SP_TPL_MAX_DEPTH + 1)
            snprintf(texts[i], sizeof(texts[i]), "end");
        else
            snprintf(texts[i], sizeof(texts[i]), "{{> p%d}}", i + 1);
        src[i] = (struct sp_tpl_source){names[i], texts[i], strlen(texts[i])};
    }
    ck_assert_int_eq(sp_tpl_set_load_strings(&set, src, SP_TPL_MAX_DEPTH + 2,
                                             err, sizeof(err)), SP_OK);
    ck_assert_str_eq(render("p1", NULL), "end");
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    ck_assert_int_eq(sp_tpl_render(set, "p0", NULL, &b), SP_ERROR);
}
END_TEST

START_TEST(exponential_partials_hit_the_step_limit)
{
    static char names[30][8], texts[30][32];
    struct sp_tpl_source src[30];
    for (int i = 0; i < 30; i++) {
        snprintf(names[i], sizeof(names[i]), "e%d", i);
        if (i == 29)
            snprintf(texts[i], sizeof(texts[i]), "x");
        else
            snprintf(texts[i], sizeof(texts[i]), "{{> e%d}}{{> e%d}}", i + 1,
                     i + 1);
        src[i] = (struct sp_tpl_source){names[i], texts[i], strlen(texts[i])};
    }
    ck_assert_int_eq(sp_tpl_set_load_strings(&set, src, 30, err, sizeof(err)),
                     SP_OK);
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    ck_assert_int_eq(sp_tpl_render(set, "e0", NULL, &b), SP_ERROR);
    ck_assert_uint_eq(b.len, 0);
    char want[513];          /* e20 is 2^9 x's: well under the limit */
    memset(want, 'x', 512);
    want[512] = '\0';
    ck_assert_str_eq(render("e20", NULL), want);
}
END_TEST

START_TEST(output_beyond_the_limit_fails_the_render)
{
    LOAD("big", "{{#xs}}{{v}}{{/xs}}");
    size_t n = 1u << 20;
    char *s = malloc(n + 1);
    memset(s, '<', n);       /* escaped: 4 MiB a time, 12 MiB in all */
    s[n] = '\0';
    struct json_object *ctx = json_object_new_object();
    sp_arena_defer(&arena, put_json, ctx);
    json_object_object_add(ctx, "v", json_object_new_string(s));
    struct json_object *xs = json_object_new_array();
    json_object_array_add(xs, json_object_new_int(1));
    json_object_array_add(xs, json_object_new_int(2));
    json_object_array_add(xs, json_object_new_int(3));
    json_object_object_add(ctx, "xs", xs);
    free(s);
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    ck_assert_int_eq(sp_tpl_render(set, "big", ctx, &b), SP_ERROR);
    ck_assert_uint_eq(b.len, 0);
    json_object_array_del_idx(xs, 1, 2);
    ck_assert_int_eq(sp_tpl_render(set, "big", ctx, &b), SP_OK);
    ck_assert_uint_eq(b.len, 4 * n);
}
END_TEST

/* ---- load errors ------------------------------------------------------- */

START_TEST(unclosed_section_names_file_and_line)
{
    LOAD_FAILS("page", "a\n{{#items}}\nb\n");
    ck_assert_str_eq(err, "page.html:2: section 'items' is never closed");
}
END_TEST

START_TEST(mismatched_close_names_both_sections)
{
    LOAD_FAILS("page", "{{#a}}\n{{#b}}\n{{/a}}\n{{/b}}");
    ck_assert_str_eq(err, "page.html:3: {{/a}} does not match {{#b}} at line 2");
    LOAD_FAILS("page", "x\n\n{{/a}}");
    ck_assert_str_eq(err, "page.html:3: {{/a}} closes no section");
}
END_TEST

START_TEST(unknown_partial_is_a_load_error)
{
    LOAD_FAILS("layout", "ok", "page", "one\ntwo {{> nav}}");
    ck_assert_str_eq(err, "page.html:2: unknown partial 'nav'");
}
END_TEST

START_TEST(bad_tags_are_load_errors)
{
    LOAD_FAILS("t", "a {{ b");
    ck_assert_str_eq(err, "t.html:1: unclosed tag");
    LOAD_FAILS("t", "\n{{{b}}");
    ck_assert_str_eq(err, "t.html:2: unclosed tag");
    LOAD_FAILS("t", "{{}}");
    ck_assert_str_eq(err, "t.html:1: bad tag name ''");
    LOAD_FAILS("t", "{{a b}}");
    ck_assert_str_eq(err, "t.html:1: bad tag name 'a b'");
    LOAD_FAILS("t", "{{a..b}}");
    LOAD_FAILS("t", "{{.a}}");
    LOAD_FAILS("t", "{{> .}}");
    LOAD_FAILS("t", "{{=<% %>=}}");   /* no set-delimiter tag */
    LOAD_FAILS("t", "{{#a}}{{/a.}}");
}
END_TEST

START_TEST(bad_template_names_are_load_errors)
{
    LOAD_FAILS("content", "x");
    ck_assert_str_eq(err, "content.html: the name is reserved for the page slot");
    LOAD_FAILS("a b", "x");
    ck_assert_str_eq(err, "a b.html: bad template name");
    LOAD_FAILS("a", "x", "a", "y");
    ck_assert_str_eq(err, "a.html: defined twice");
}
END_TEST

START_TEST(sections_nested_too_deep_are_a_load_error)
{
    char text[SP_TPL_MAX_DEPTH * 16];
    size_t n = 0;
    for (int i = 0; i <= SP_TPL_MAX_DEPTH; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "{{#a}}");
    LOAD_FAILS("t", text);
    ck_assert_str_eq(err, "t.html:1: sections nested deeper than 32");
}
END_TEST

START_TEST(load_strings_copies_its_texts)
{
    char text[] = "<{{v}}>";
    struct sp_tpl_source src = {"a", text, strlen(text)};
    ck_assert_int_eq(sp_tpl_set_load_strings(&set, &src, 1, err, sizeof(err)),
                     SP_OK);
    memset(text, '!', sizeof(text) - 1);
    ck_assert_str_eq(render("a", "{\"v\":\"x\"}"), "<x>");
}
END_TEST

/* ---- hostile values ---------------------------------------------------- */

START_TEST(quotes_cannot_leave_an_attribute)
{
    const char *ctx = "{\"v\":\"x\\\" onmouseover=\\\"alert(1)\","
                      "\"w\":\"x' onfocus='alert(1)\"}";
    ck_assert_str_eq(one("<a title=\"{{v}}\" data-w='{{w}}' x={{v}}>", ctx),
                     "<a title=\"x&quot; onmouseover&#61;&quot;alert(1)\" "
                     "data-w='x&#39; onfocus&#61;&#39;alert(1)' "
                     "x=x&quot; onmouseover&#61;&quot;alert(1)>");
}
END_TEST

START_TEST(script_end_tag_in_data_stays_text)
{
    const char *out = one("<script>var s = \"{{v}}\";</script><p>{{v}}</p>",
                          "{\"v\":\"</script><script>alert(1)</script>\"}");
    ck_assert_str_eq(out, "<script>var s = \"&lt;/script&gt;&lt;script&gt;"
                          "alert(1)&lt;/script&gt;\";</script><p>&lt;/script&gt;"
                          "&lt;script&gt;alert(1)&lt;/script&gt;</p>");
}
END_TEST

START_TEST(mustache_in_data_is_never_interpreted)
{
    LOAD("t", "{{v}}|{{{v}}}|{{#xs}}{{.}}{{/xs}}", "secret", "SECRET");
    ck_assert_str_eq(render("t", "{\"v\":\"{{secret}}{{> secret}}{{{x}}}\","
                                 "\"secret\":\"S\",\"xs\":[\"{{#v}}\"]}"),
                     "{{secret}}{{&gt; secret}}{{{x}}}|"
                     "{{secret}}{{> secret}}{{{x}}}|{{#v}}");
}
END_TEST

START_TEST(escaped_values_never_carry_markup_bytes)
{
    static const char *const hostile[] = {
        "<img src=x onerror=alert(1)>", "\"><svg/onload=alert(1)>",
        "' autofocus onfocus='alert(1)", "`${alert(1)}`", "a=b",
        "&lt;already&gt;", "</title></textarea></script>", "<!--", "]]>",
        "\xe2\x80\xa8<\xef\xbc\x9c", "{{{v}}}",
    };
    LOAD("t", "{{v}}{{#xs}}{{.}}{{/xs}}");
    for (size_t i = 0; i < sizeof(hostile) / sizeof(*hostile); i++) {
        struct json_object *ctx = json_object_new_object();
        sp_arena_defer(&arena, put_json, ctx);
        json_object_object_add(ctx, "v", json_object_new_string(hostile[i]));
        struct json_object *xs = json_object_new_array();
        json_object_array_add(xs, json_object_new_string(hostile[i]));
        json_object_object_add(ctx, "xs", xs);
        struct sp_buf b;
        sp_buf_init(&b, &arena, 16);
        ck_assert_int_eq(sp_tpl_render(set, "t", ctx, &b), SP_OK);
        ck_assert_msg(strpbrk(b.data, "<>\"'`=") == NULL, "%s -> %s",
                      hostile[i], b.data);
    }
}
END_TEST

/* ---- directories and reloading ----------------------------------------- */

static void
write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static const char *
fresh_dir(void)
{
    static char dir[128];
    snprintf(dir, sizeof(dir), "%s/XXXXXX", scratch);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

START_TEST(directory_load_takes_every_html_file)
{
    const char *dir = fresh_dir();
    char sub[192];
    write_file(dir, "layout.html", "<main>{{> content}}</main>");
    write_file(dir, "tickets.html", "{{#tickets}}{{> row}}{{/tickets}}");
    write_file(dir, "row.html", "<p>{{subject}}</p>");
    write_file(dir, "notes.txt", "{{#broken");
    write_file(dir, ".hidden.html", "{{#broken");
    snprintf(sub, sizeof(sub), "%s/dir.html", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert_int_eq(sp_tpl_set_load(&set, dir, err, sizeof(err)), SP_OK);
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    ck_assert_int_eq(sp_tpl_render_page(set, "layout", "tickets",
                                        ctx_of("{\"tickets\":[{\"subject\":"
                                               "\"a<b\"}]}"), &b), SP_OK);
    ck_assert_str_eq(b.data, "<main><p>a&lt;b</p></main>");
}
END_TEST

START_TEST(directory_errors_name_the_file)
{
    const char *dir = fresh_dir();
    write_file(dir, "ok.html", "fine");
    write_file(dir, "broken.html", "line one\n{{#x}}\n");
    ck_assert_int_eq(sp_tpl_set_load(&set, dir, err, sizeof(err)), SP_INVALID);
    ck_assert_ptr_null(set);
    ck_assert_str_eq(err, "broken.html:2: section 'x' is never closed");

    ck_assert_int_eq(sp_tpl_set_load(&set, fresh_dir(), err, sizeof(err)),
                     SP_INVALID);
    ck_assert_str_eq(err, "no templates");
    ck_assert_int_eq(sp_tpl_set_load(&set, "/nonexistent/templates", err,
                                     sizeof(err)), SP_ERROR);
    ck_assert_ptr_null(set);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/templates: "));
}
END_TEST

START_TEST(reload_builds_a_new_set_and_leaves_the_old_one_intact)
{
    const char *dir = fresh_dir();
    struct sp_tpl_set *old = NULL, *next = NULL;
    write_file(dir, "page.html", "v1 {{v}}");
    ck_assert_int_eq(sp_tpl_set_load(&old, dir, err, sizeof(err)), SP_OK);
    write_file(dir, "page.html", "v2 {{v}}");
    ck_assert_int_eq(sp_tpl_set_load(&next, dir, err, sizeof(err)), SP_OK);
    set = old;
    ck_assert_str_eq(render("page", "{\"v\":1}"), "v1 1");
    set = next;              /* the caller swaps sets, then frees the old */
    sp_tpl_set_free(old);
    ck_assert_str_eq(render("page", "{\"v\":1}"), "v2 1");
    /* a broken edit is refused and the running set stays usable */
    write_file(dir, "page.html", "v3 {{#v}}");
    struct sp_tpl_set *bad = (struct sp_tpl_set *)&bad;
    ck_assert_int_eq(sp_tpl_set_load(&bad, dir, err, sizeof(err)), SP_INVALID);
    ck_assert_ptr_null(bad);
    ck_assert_str_eq(render("page", "{\"v\":2}"), "v2 2");
}
END_TEST

static Suite *
template_suite(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, variable_is_html_escaped);
    tcase_add_test(tc, triple_and_ampersand_are_raw);
    tcase_add_test(tc, blanks_inside_tags_are_ignored);
    tcase_add_test(tc, missing_and_null_render_nothing);
    tcase_add_test(tc, numbers_and_booleans_render_as_json_text);
    tcase_add_test(tc, objects_and_arrays_render_nothing);
    tcase_add_test(tc, dotted_names_descend_into_objects);
    tcase_add_test(tc, dotted_name_does_not_walk_up_after_its_first_segment);
    tcase_add_test(tc, text_without_tags_is_copied);
    tcase_add_test(tc, comments_render_nothing);
    tcase_add_test(tc, section_skips_falsy_values);
    tcase_add_test(tc, section_renders_once_for_other_values);
    tcase_add_test(tc, section_iterates_arrays_with_each_element_as_context);
    tcase_add_test(tc, object_section_pushes_context_and_lookup_walks_up);
    tcase_add_test(tc, nested_arrays_and_dot);
    tcase_add_test(tc, inverted_section_renders_only_for_falsy_values);
    tcase_add_test(tc, inverted_section_keeps_the_context);
    tcase_add_test(tc, standalone_tag_lines_are_removed);
    tcase_add_test(tc, standalone_rule_handles_crlf_and_file_edges);
    tcase_add_test(tc, inline_tags_keep_their_whitespace);
    tcase_add_test(tc, partial_renders_with_the_current_context);
    tcase_add_test(tc, recursive_partial_follows_the_data);
    tcase_add_test(tc, layout_includes_the_page_at_content);
    tcase_add_test(tc, content_without_a_page_fails_and_leaves_out_unchanged);
    tcase_add_test(tc, unknown_template_is_not_found);
    tcase_add_test(tc, render_appends_to_the_buffer);
    tcase_add_test(tc, self_including_partial_fails_the_render);
    tcase_add_test(tc, nesting_up_to_the_limit_renders);
    tcase_add_test(tc, exponential_partials_hit_the_step_limit);
    tcase_add_test(tc, output_beyond_the_limit_fails_the_render);
    tcase_add_test(tc, unclosed_section_names_file_and_line);
    tcase_add_test(tc, mismatched_close_names_both_sections);
    tcase_add_test(tc, unknown_partial_is_a_load_error);
    tcase_add_test(tc, bad_tags_are_load_errors);
    tcase_add_test(tc, bad_template_names_are_load_errors);
    tcase_add_test(tc, sections_nested_too_deep_are_a_load_error);
    tcase_add_test(tc, load_strings_copies_its_texts);
    tcase_add_test(tc, quotes_cannot_leave_an_attribute);
    tcase_add_test(tc, script_end_tag_in_data_stays_text);
    tcase_add_test(tc, mustache_in_data_is_never_interpreted);
    tcase_add_test(tc, escaped_values_never_carry_markup_bytes);
    tcase_add_test(tc, directory_load_takes_every_html_file);
    tcase_add_test(tc, directory_errors_name_the_file);
    tcase_add_test(tc, reload_builds_a_new_set_and_leaves_the_old_one_intact);
    suite_add_tcase(s, tc);
    return s;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int
main(void)
{
    snprintf(scratch, sizeof(scratch), "/tmp/sp-test-template-XXXXXX");
    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    int status = sp_unit_run(template_suite());
    nftw(scratch, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return status;
}
