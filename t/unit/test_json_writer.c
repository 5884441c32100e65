/*
 * test_json_writer: the one JSON writer (src/core/json_writer.c): commas,
 * nesting, escaping of keys and values, raw sub-documents; every output
 * parses back with json-c to what was written.
 */
#include <check.h>
#include <json-c/json.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json_writer.h"
#include "unit.h"

static struct sp_arena arena;
static struct sp_buf buf;
static struct sp_jw w;

static void
setup(void)
{
    sp_arena_init(&arena, 1024);
    sp_buf_init(&buf, &arena, 64);
    sp_jw_init(&w, &buf);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

START_TEST(objects_arrays_and_scalars_get_their_commas)
{
    sp_jw_object(&w);
    sp_jw_kstr(&w, "a", "x");
    sp_jw_kint(&w, "n", -42);
    sp_jw_kbool(&w, "t", true);
    sp_jw_knull(&w, "z");
    sp_jw_karray(&w, "list");
    sp_jw_int(&w, 1);
    sp_jw_object(&w);
    sp_jw_end(&w);
    sp_jw_str(&w, NULL);
    sp_jw_array(&w);
    sp_jw_end(&w);
    sp_jw_end(&w);
    sp_jw_kraw(&w, "raw", "{\"k\":[1,2]}");
    sp_jw_kobject(&w, "empty");
    sp_jw_end(&w);
    sp_jw_end(&w);
    ck_assert_str_eq(buf.data, "{\"a\":\"x\",\"n\":-42,\"t\":true,\"z\":null,"
                               "\"list\":[1,{},null,[]],\"raw\":{\"k\":[1,2]},\"empty\":{}}");
    ck_assert_int_eq(w.depth, 0);
}
END_TEST

START_TEST(an_unset_id_is_written_as_null)
{
    sp_jw_object(&w);
    sp_jw_kint_or_null(&w, "agent", 7);
    sp_jw_kint_or_null(&w, "previous", 0);
    sp_jw_kint_or_null(&w, "code", -1);
    sp_jw_end(&w);
    ck_assert_str_eq(buf.data, "{\"agent\":7,\"previous\":null,\"code\":-1}");
}
END_TEST

/* An optional object: written when present (the caller fills and ends
 * it), else null with nothing left open. */
START_TEST(an_absent_object_is_written_as_null)
{
    sp_jw_object(&w);
    if (sp_jw_kobject_or_null(&w, "rule", true)) {
        sp_jw_kint(&w, "id", 3);
        sp_jw_end(&w);
    }
    ck_assert(!sp_jw_kobject_or_null(&w, "none", false));
    sp_jw_end(&w);
    ck_assert_str_eq(buf.data, "{\"rule\":{\"id\":3},\"none\":null}");
    ck_assert_int_eq(w.depth, 0);
}
END_TEST

START_TEST(hostile_keys_and_values_are_escaped)
{
    const char *evil = "\"quote\" \\ </script>\n\x01 é";
    sp_jw_object(&w);
    sp_jw_kstr(&w, evil, evil);
    sp_jw_key(&w, "n");
    sp_jw_strn(&w, "ab\0cd", 5);
    sp_jw_end(&w);
    struct json_object *o = json_tokener_parse(buf.data);
    ck_assert_msg(o != NULL, "not JSON: %s", buf.data);
    struct json_object *v;
    ck_assert(json_object_object_get_ex(o, evil, &v));
    ck_assert_str_eq(json_object_get_string(v), evil);
    json_object_put(o);
}
END_TEST

START_TEST(a_top_level_array_of_objects)
{
    sp_jw_array(&w);
    for (int i = 0; i < 3; i++) {
        sp_jw_object(&w);
        sp_jw_kint(&w, "i", i);
        sp_jw_end(&w);
    }
    sp_jw_end(&w);
    ck_assert_str_eq(buf.data, "[{\"i\":0},{\"i\":1},{\"i\":2}]");
}
END_TEST

/* A document that is a list, opened in one call. */
START_TEST(begin_array_opens_a_list_document)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 16);
    struct sp_jw list;
    sp_jw_begin_array(&list, &b);
    sp_jw_str(&list, "a");
    sp_jw_int(&list, 2);
    sp_jw_end(&list);
    ck_assert_str_eq(b.data, "[\"a\",2]");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("json_writer");
    TCase *tc = tcase_create("write");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, objects_arrays_and_scalars_get_their_commas);
    tcase_add_test(tc, an_unset_id_is_written_as_null);
    tcase_add_test(tc, an_absent_object_is_written_as_null);
    tcase_add_test(tc, hostile_keys_and_values_are_escaped);
    tcase_add_test(tc, a_top_level_array_of_objects);
    tcase_add_test(tc, begin_array_opens_a_list_document);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
