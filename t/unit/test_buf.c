/*
 * test_buf: the growing buffer and the one JSON string escaper
 * (src/core/buf.c), and the strict UTF-8 decoder behind it
 * (src/core/utf8.c). Escaped output must always be valid JSON, whatever
 * bytes come in; lengths in API.md count code points.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/utf8.h"
#include "unit.h"

static struct sp_arena arena;
static struct sp_buf buf;

static void
setup(void)
{
    sp_arena_init(&arena, 4096);
    sp_buf_init(&buf, &arena, 16);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

/* Escapes n bytes of s as a JSON string literal into a fresh buffer. */
static const char *
esc(const char *s, size_t n)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 8);
    sp_buf_json_str(&b, s, n);
    ck_assert_uint_eq(b.len, strlen(b.data));
    return b.data;
}

#define ESC(lit) esc((lit), sizeof(lit) - 1)

/* Independent check: json-c parses the literal back to exactly `want`. */
static void
assert_round_trips(const char *literal, const char *want, size_t wantlen)
{
    struct json_object *o = json_tokener_parse(literal);
    ck_assert_msg(o != NULL, "not valid JSON: %s", literal);
    ck_assert(json_object_is_type(o, json_type_string));
    ck_assert_int_eq(json_object_get_string_len(o), (int)wantlen);
    ck_assert_mem_eq(json_object_get_string(o), want, wantlen);
    json_object_put(o);
}

/* ---- buffer growth ----------------------------------------------------- */

START_TEST(append_grows_across_many_kilobytes)
{
    char chunk[37];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)('a' + i % 26);
    for (int i = 0; i < 3000; i++)
        sp_buf_append(&buf, chunk, sizeof(chunk));
    ck_assert_uint_eq(buf.len, 3000 * sizeof(chunk));
    ck_assert_uint_gt(buf.cap, buf.len);
    ck_assert_int_eq(buf.data[buf.len], '\0');
    for (size_t i = 0; i < buf.len; i++)
        ck_assert_int_eq(buf.data[i], 'a' + (int)(i % sizeof(chunk)) % 26);
}
END_TEST

START_TEST(append_keeps_embedded_nul_bytes)
{
    sp_buf_append(&buf, "a\0b", 3);
    ck_assert_uint_eq(buf.len, 3);
    ck_assert_mem_eq(buf.data, "a\0b", 4);
}
END_TEST

START_TEST(printf_grows_and_concatenates)
{
    for (int i = 0; i < 2000; i++)
        sp_buf_printf(&buf, "%04d,", i);
    ck_assert_uint_eq(buf.len, 2000 * 5);
    ck_assert_uint_eq(strlen(buf.data), buf.len);
    ck_assert(strncmp(buf.data, "0000,0001,0002,", 15) == 0);
    ck_assert_str_eq(buf.data + buf.len - 10, "1998,1999,");
}
END_TEST

START_TEST(printf_of_one_large_string_exactly_fills)
{
    char big[10000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sp_buf_puts(&buf, "[");
    sp_buf_printf(&buf, "%s]", big);
    ck_assert_uint_eq(buf.len, sizeof(big) + 1);
    ck_assert_int_eq(buf.data[0], '[');
    ck_assert_int_eq(buf.data[buf.len - 1], ']');
    ck_assert_int_eq(buf.data[buf.len], '\0');
}
END_TEST

START_TEST(putc_and_puts_mix)
{
    for (int i = 0; i < 5000; i++)
        sp_buf_putc(&buf, (char)('0' + i % 10));
    sp_buf_puts(&buf, "end");
    ck_assert_uint_eq(buf.len, 5003);
    ck_assert_int_eq(buf.data[4999], '9');
    ck_assert_str_eq(buf.data + 5000, "end");
}
END_TEST

START_TEST(empty_printf_leaves_buffer_terminated)
{
    sp_buf_puts(&buf, "x");
    sp_buf_printf(&buf, "%s", "");
    ck_assert_uint_eq(buf.len, 1);
    ck_assert_str_eq(buf.data, "x");
}
END_TEST

/* ---- JSON string escaping ----------------------------------------------- */

START_TEST(json_str_quotes_plain_ascii)
{
    ck_assert_str_eq(ESC("hello world"), "\"hello world\"");
    ck_assert_str_eq(ESC(""), "\"\"");
}
END_TEST

START_TEST(json_str_escapes_quote_and_backslash)
{
    ck_assert_str_eq(ESC("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
    assert_round_trips(ESC("say \"hi\" \\o/"), "say \"hi\" \\o/", 12);
}
END_TEST

START_TEST(json_str_escapes_newline_tab_and_cr)
{
    ck_assert_str_eq(ESC("a\nb\tc\rd"), "\"a\\nb\\tc\\rd\"");
}
END_TEST

START_TEST(json_str_escapes_other_control_chars_as_u00xx)
{
    ck_assert_str_eq(ESC("\x01"), "\"\\u0001\"");
    ck_assert_str_eq(ESC("\x1f"), "\"\\u001f\"");
    ck_assert_str_eq(ESC("\x08\x0c"), "\"\\u0008\\u000c\"");
    ck_assert_str_eq(ESC("\x7f"), "\"\\u007f\"");
    ck_assert_str_eq(esc("a\0b", 3), "\"a\\u0000b\"");
    assert_round_trips(esc("a\0b", 3), "a\0b", 3);
}
END_TEST

START_TEST(json_str_never_emits_raw_control_bytes)
{
    char all[128];
    for (int i = 0; i < 128; i++)
        all[i] = (char)i;
    const char *out = esc(all, sizeof(all));
    for (const char *c = out; *c != '\0'; c++)
        ck_assert_msg((unsigned char)*c >= 0x20 && *c != 0x7f, "raw byte 0x%02x", *c);
    assert_round_trips(out, all, sizeof(all));
}
END_TEST

START_TEST(json_str_passes_valid_multibyte_through)
{
    /* é (2 bytes), € (3 bytes), 😀 (4 bytes), U+10FFFF */
    const char s[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    const char *out = ESC(s);
    ck_assert_uint_eq(strlen(out), sizeof(s) - 1 + 2);
    ck_assert_mem_eq(out + 1, s, sizeof(s) - 1);
    assert_round_trips(out, s, sizeof(s) - 1);
}
END_TEST

START_TEST(json_str_replaces_invalid_utf8_with_ufffd)
{
    ck_assert_str_eq(ESC("a\377b"), "\"a\\ufffdb\"");
    ck_assert_str_eq(ESC("\xc0\xaf"), "\"\\ufffd\\ufffd\"");            /* overlong '/' */
    ck_assert_str_eq(ESC("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    ck_assert_str_eq(ESC("x\xe2\x82"), "\"x\\ufffd\\ufffd\"");          /* truncated */
    ck_assert_str_eq(ESC("\200ok"), "\"\\ufffdok\"");                   /* lone continuation */
    ck_assert_str_eq(ESC("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
}
END_TEST

START_TEST(json_str_output_is_always_valid_json_and_utf8)
{
    /* Every two-byte combination of a lead and a following byte. */
    char in[2];
    for (int a = 0x80; a < 0x100; a++) {
        for (int b = 0; b < 0x100; b += 7) {
            in[0] = (char)a;
            in[1] = (char)b;
            const char *out = esc(in, 2);
            ck_assert_msg(sp_utf8_valid(out, strlen(out)), "invalid UTF-8 for %02x %02x", a, b);
            struct json_object *o = json_tokener_parse(out);
            ck_assert_msg(o != NULL, "invalid JSON for %02x %02x: %s", a, b, out);
            json_object_put(o);
        }
    }
}
END_TEST

START_TEST(json_cstr_writes_null_for_null)
{
    sp_buf_json_cstr(&buf, NULL);
    sp_buf_putc(&buf, ',');
    sp_buf_json_cstr(&buf, "x");
    ck_assert_str_eq(buf.data, "null,\"x\"");
}
END_TEST

START_TEST(json_str_appends_to_existing_content)
{
    sp_buf_puts(&buf, "{\"k\":");
    sp_buf_json_str(&buf, "v\"", 2);
    sp_buf_putc(&buf, '}');
    ck_assert_str_eq(buf.data, "{\"k\":\"v\\\"\"}");
}
END_TEST

START_TEST(json_str_of_a_long_string_grows_correctly)
{
    enum { N = 20000 };
    char *s = sp_arena_alloc(&arena, N);
    for (size_t i = 0; i < N; i++)
        s[i] = i % 3 == 0 ? '"' : 'a';
    const char *out = esc(s, N);
    /* Each quote gains a backslash: N/3 rounded up, plus the two quotes. */
    ck_assert_uint_eq(strlen(out), N + (N + 2) / 3 + 2);
    assert_round_trips(out, s, N);
}
END_TEST

/* The escaper skips plain text a word (8 bytes) at a time: a byte that
 * needs escaping must be found at every offset of a word, whatever its
 * neighbours, and the bytes on either side of each special class (space,
 * '~', '!', '[', ']') must pass through as they are. */
START_TEST(json_str_finds_a_special_byte_at_every_offset_of_a_word)
{
    static const struct {
        const char *in;
        const char *out;
    } special[] = {
        {"\"", "\\\""}, {"\\", "\\\\"}, {"\n", "\\n"}, {"\x01", "\\u0001"},
        {"\x1f", "\\u001f"}, {"\x7f", "\\u007f"}, {"\x80", "\\ufffd"},
        {"\xff", "\\ufffd"}, {"\xc3\xa9", "\xc3\xa9"}, {"\xe2\x82\xac", "\xe2\x82\xac"},
    };
    static const char plain[] = " ~!#[]}{ ~!#[]}{ ~!#[]}{"; /* 24 bytes, all plain */
    for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++) {
        size_t sl = strlen(special[k].in);
        for (size_t at = 0; at + sl <= sizeof(plain) - 1; at++) {
            char in[32], want[64];
            memcpy(in, plain, sizeof(plain));
            memcpy(in + at, special[k].in, sl);
            snprintf(want, sizeof(want), "\"%.*s%s%s\"", (int)at, plain, special[k].out,
                     plain + at + sl);
            sp_buf_init(&buf, &arena, 16);
            sp_buf_json_str(&buf, in, sizeof(plain) - 1);
            ck_assert_msg(strcmp(buf.data, want) == 0, "special %zu at %zu: %s, want %s", k, at,
                          buf.data, want);
        }
    }
}
END_TEST

/* ---- UTF-8 -------------------------------------------------------------- */

#define VALID(lit) sp_utf8_valid((lit), sizeof(lit) - 1)

START_TEST(utf8_accepts_ascii_and_well_formed_sequences)
{
    ck_assert(VALID(""));
    ck_assert(VALID("plain ascii"));
    ck_assert(VALID("\xc2\x80"));         /* U+0080, smallest 2-byte */
    ck_assert(VALID("\xdf\xbf"));         /* U+07FF */
    ck_assert(VALID("\xe0\xa0\x80"));     /* U+0800, smallest 3-byte */
    ck_assert(VALID("\xed\x9f\xbf"));     /* U+D7FF, just below surrogates */
    ck_assert(VALID("\xee\x80\x80"));     /* U+E000, just above */
    ck_assert(VALID("\xef\xbf\xbf"));     /* U+FFFF */
    ck_assert(VALID("\xf0\x90\x80\x80")); /* U+10000, smallest 4-byte */
    ck_assert(VALID("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last code point */
}
END_TEST

START_TEST(utf8_rejects_overlong_encodings)
{
    ck_assert(!VALID("\xc0\x80")); /* NUL in 2 bytes */
    ck_assert(!VALID("\xc1\xbf")); /* U+007F in 2 bytes */
    ck_assert(!VALID("\xe0\x80\x80"));
    ck_assert(!VALID("\xe0\x9f\xbf")); /* U+07FF in 3 bytes */
    ck_assert(!VALID("\xf0\x80\x80\x80"));
    ck_assert(!VALID("\xf0\x8f\xbf\xbf")); /* U+FFFF in 4 bytes */
}
END_TEST

START_TEST(utf8_rejects_surrogates)
{
    ck_assert(!VALID("\xed\xa0\x80"));             /* U+D800 */
    ck_assert(!VALID("\xed\xbf\xbf"));             /* U+DFFF */
    ck_assert(!VALID("\xed\xa0\xbd\xed\xb8\x80")); /* CESU-8 pair */
}
END_TEST

START_TEST(utf8_rejects_code_points_above_10ffff)
{
    ck_assert(!VALID("\xf4\x90\x80\x80")); /* U+110000 */
    ck_assert(!VALID("\xf5\x80\x80\x80"));
    ck_assert(!VALID("\xf7\xbf\xbf\xbf"));
    ck_assert(!VALID("\xf8\x88\x80\x80\x80")); /* old 5-byte form */
    ck_assert(!VALID("\xfe"));
    ck_assert(!VALID("\xff"));
}
END_TEST

START_TEST(utf8_rejects_truncated_and_broken_sequences)
{
    ck_assert(!VALID("\xc3"));
    ck_assert(!VALID("\xe2\x82"));
    ck_assert(!VALID("\xf0\x9f\x98"));
    ck_assert(!VALID("abc\xf0\x9f"));
    ck_assert(!VALID("\x80"));  /* continuation without lead */
    ck_assert(!VALID("\xc3(")); /* bad continuation */
    ck_assert(!VALID("\xe2\x28\xa1"));
    /* Valid bytes exist beyond n: the check stops at n. */
    ck_assert(!sp_utf8_valid("\xc3\xa9", 1));
    ck_assert(sp_utf8_valid("\xc3\xa9", 2));
}
END_TEST

START_TEST(utf8_seq_len_reports_sequence_length)
{
    ck_assert_uint_eq(sp_utf8_seq_len("a", 1), 1);
    ck_assert_uint_eq(sp_utf8_seq_len("\xc3\xa9", 2), 2);
    ck_assert_uint_eq(sp_utf8_seq_len("\xe2\x82\xac", 3), 3);
    ck_assert_uint_eq(sp_utf8_seq_len("\xf0\x9f\x98\x80", 4), 4);
    ck_assert_uint_eq(sp_utf8_seq_len("\xf0\x9f\x98\x80", 3), 0);
    ck_assert_uint_eq(sp_utf8_seq_len("", 0), 0);
}
END_TEST

/* Blank code points: spaces and the invisible ones; trimming takes them
 * from both ends and leaves what is between. */
START_TEST(utf8_trim_blank_takes_spaces_and_invisibles_from_both_ends)
{
    ck_assert(sp_utf8_blank(' '));
    ck_assert(sp_utf8_blank(0x00a0));
    ck_assert(sp_utf8_blank(0x200b));
    ck_assert(sp_utf8_blank(0x3000));
    ck_assert(sp_utf8_blank(0xfeff));
    ck_assert(sp_utf8_blank(0xe0020));
    ck_assert(!sp_utf8_blank('a'));
    ck_assert(!sp_utf8_blank(0x00e9));
    ck_assert(!sp_utf8_blank(0x1f600));
    /* format characters (Cf), bidirectional controls among them */
    ck_assert(sp_utf8_format(0x00ad) && sp_utf8_format(0x0600) && sp_utf8_format(0x180e));
    ck_assert(sp_utf8_format(0x200d) && sp_utf8_format(0x206a) && sp_utf8_format(0xfff9));
    ck_assert(sp_utf8_format(0xe0001) && !sp_utf8_format(0x2065) && !sp_utf8_format('a'));
    ck_assert(!sp_utf8_format(0x3000) && !sp_utf8_format(0xfe0f));
    ck_assert(sp_utf8_bidi_control(0x200e) && sp_utf8_bidi_control(0x2066));
    ck_assert(!sp_utf8_bidi_control(0x200d) && !sp_utf8_bidi_control(0x206a));
    /* sp_utf8_any: anywhere in the text, the last code point included. */
    ck_assert(sp_utf8_any("photo\xe2\x80\xae" "FIG", 11, sp_utf8_bidi_control));
    ck_assert(sp_utf8_any("ab\xe6\x97\xa5", 5, sp_utf8_cjk));
    ck_assert(!sp_utf8_any("ab\xe6\x97\xa5", 4, sp_utf8_cjk));
    ck_assert(!sp_utf8_any("report.txt", 10, sp_utf8_bidi_control));
    ck_assert(!sp_utf8_any("", 0, sp_utf8_cjk));
    static const char *const cases[][2] = {
        {" a b ", "a b"},
        {"\xc2\xa0\xe2\x80\x8breport.txt\xe3\x80\x80 ", "report.txt"},
        {"\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
        {" \xe2\x80\x8b\xef\xbb\xbf ", ""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *b = cases[i][0], *e = b + strlen(b);
        sp_utf8_trim_blank(&b, &e);
        ck_assert_uint_eq((size_t)(e - b), strlen(cases[i][1]));
        ck_assert(strncmp(b, cases[i][1], (size_t)(e - b)) == 0);
    }
}
END_TEST

/* Where UTF-8 may be cut at or before an offset: the start of the code
 * point the offset is in. */
START_TEST(utf8_floor_backs_off_to_a_character_start)
{
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";   /* a é € 😀 */
    static const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
    for (size_t at = 0; at <= 10; at++)
        ck_assert_uint_eq(sp_utf8_floor(s, at), want[at]);
}
END_TEST

START_TEST(utf8_count_counts_code_points_not_bytes)
{
    ck_assert_uint_eq(sp_utf8_count("", 0), 0);
    ck_assert_uint_eq(sp_utf8_count("abc", 3), 3);
    ck_assert_uint_eq(sp_utf8_count("caf\xc3\xa9", 5), 4);
    ck_assert_uint_eq(sp_utf8_count("\xe2\x82\xac\xe2\x82\xac", 6), 2);
    ck_assert_uint_eq(sp_utf8_count("\xf0\x9f\x98\x80!", 5), 2);
    char many[400];
    for (int i = 0; i < 200; i++) {
        many[2 * i] = '\xc3';
        many[2 * i + 1] = '\xa9';
    }
    ck_assert_uint_eq(sp_utf8_count(many, sizeof(many)), 200);
}
END_TEST

static Suite *
buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, append_grows_across_many_kilobytes);
    tcase_add_test(tc, utf8_floor_backs_off_to_a_character_start);
    tcase_add_test(tc, append_keeps_embedded_nul_bytes);
    tcase_add_test(tc, printf_grows_and_concatenates);
    tcase_add_test(tc, printf_of_one_large_string_exactly_fills);
    tcase_add_test(tc, putc_and_puts_mix);
    tcase_add_test(tc, empty_printf_leaves_buffer_terminated);
    suite_add_tcase(s, tc);

    tc = tcase_create("json_str");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, json_str_quotes_plain_ascii);
    tcase_add_test(tc, json_str_escapes_quote_and_backslash);
    tcase_add_test(tc, json_str_escapes_newline_tab_and_cr);
    tcase_add_test(tc, json_str_escapes_other_control_chars_as_u00xx);
    tcase_add_test(tc, json_str_never_emits_raw_control_bytes);
    tcase_add_test(tc, json_str_passes_valid_multibyte_through);
    tcase_add_test(tc, json_str_replaces_invalid_utf8_with_ufffd);
    tcase_add_test(tc, json_str_output_is_always_valid_json_and_utf8);
    tcase_add_test(tc, json_cstr_writes_null_for_null);
    tcase_add_test(tc, json_str_appends_to_existing_content);
    tcase_add_test(tc, json_str_of_a_long_string_grows_correctly);
    tcase_add_test(tc, json_str_finds_a_special_byte_at_every_offset_of_a_word);
    suite_add_tcase(s, tc);

    tc = tcase_create("utf8");
    tcase_add_test(tc, utf8_accepts_ascii_and_well_formed_sequences);
    tcase_add_test(tc, utf8_rejects_overlong_encodings);
    tcase_add_test(tc, utf8_rejects_surrogates);
    tcase_add_test(tc, utf8_rejects_code_points_above_10ffff);
    tcase_add_test(tc, utf8_rejects_truncated_and_broken_sequences);
    tcase_add_test(tc, utf8_seq_len_reports_sequence_length);
    tcase_add_test(tc, utf8_count_counts_code_points_not_bytes);
    tcase_add_test(tc, utf8_trim_blank_takes_spaces_and_invisibles_from_both_ends);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(buf_suite());
}
