/*
 * test_article_snippet: a search hit's snippet (src/domain/article_snippet.c,
 * docs/API.md §8 Search): the headline as ts_headline cut it for Latin
 * words, and CJK matches, which ts_headline cannot see, marked and shown
 * in a window cut at whole characters.
 */
#include <check.h>
#include <string.h>

#include "core/utf8.h"
#include "domain/article_snippet.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(1 << 16)

static const char *
snip(const char *headline, const char *source, const char *q)
{
    const char *s = sp_article_snippet_html(&arena, headline, source, q);
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(sp_utf8_valid(s, strlen(s)), "invalid UTF-8: %s", s);
    return s;
}

/* Text of n copies of c. */
static const char *
repeat(const char *c, int n)
{
    char *s = sp_arena_alloc(&arena, strlen(c) * (size_t)n + 1);
    s[0] = '\0';
    for (int i = 0; i < n; i++)
        strcat(s, c);
    return s;
}

static const char *
cat(const char *a, const char *b, const char *c)
{
    return sp_arena_sprintf(&arena, "%s%s%s", a, b, c);
}

START_TEST(latin_queries_keep_the_headline_as_cut)
{
    const char *src = "Put the \x03script\x04 tag & \"x\" in. Then more text about tags.";
    ck_assert_str_eq(snip("\x01script\x02\x04 tag & \"x\" in\x05text about tags", src,
                          "script"),
                     "&lt;<mark>script</mark>&gt; tag &amp; &quot;x&quot; in \xe2\x80\xa6 "
                     "text about tags");
    /* a CJK text, a Latin query: as cut, unmarked CJK */
    ck_assert_str_eq(snip("退款需要五天 \x01refund\x02", "退款需要五天 refund", "refund"),
                     "退款需要五天 <mark>refund</mark>");
    ck_assert_ptr_null(sp_article_snippet_html(&arena, NULL, NULL, "x"));
    ck_assert_str_eq(snip("a \x01" "b\x02", "a b", NULL), "a <mark>b</mark>");
}
END_TEST

START_TEST(a_cjk_match_past_the_start_is_shown_and_marked)
{
    /* ts_headline shows the start, unmarked: the run is one word to it */
    const char *intro = repeat("这是介绍。", 40);
    const char *src = cat(intro, "我们的政策：退款需要五天。请联系客服。", "");
    const char *s = snip("这是介绍。这是介绍。", src, "退款");
    ck_assert_str_eq(s, "我们的政策：<mark>退款</mark>需要五天。请联系客服。");
    s = snip("这是介绍。", src, "需要五天");
    ck_assert_str_eq(s, "我们的政策：退款<mark>需要五天</mark>。请联系客服。");
    /* one character: wherever it stands in a run */
    s = snip("这是介绍。", src, "款");
    ck_assert_str_eq(s, "我们的政策：退<mark>款</mark>需要五天。请联系客服。");
    /* ts_headline marks a run whole when a query pair is the run or
     * begins it ('款':*): the pairs marked replace it */
    ck_assert_str_eq(snip("\x01款项\x02 已付", "款项 已付", "款"), "<mark>款</mark>项 已付");
}
END_TEST

START_TEST(a_run_not_in_one_piece_is_marked_by_its_pairs)
{
    const char *s = snip("x", "需要……五天", "需要五天");
    ck_assert_str_eq(s, "<mark>需要</mark>……<mark>五天</mark>");
    /* overlapping places of a pair: one mark */
    ck_assert_str_eq(snip("x", "哈哈哈！", "哈哈"), "<mark>哈哈哈</mark>！");
    /* a negated run is not looked for: the headline as cut */
    ck_assert_str_eq(snip("退款 refund", "退款 refund", "-退款 refund"), "退款 refund");
    /* a query run of another width is not found here (docs/API.md) */
    ck_assert_str_eq(snip("ｶﾞｲﾄﾞ", "ｶﾞｲﾄﾞ", "ガイド"), "ｶﾞｲﾄﾞ");
}
END_TEST

START_TEST(a_mixed_query_marks_both)
{
    const char *gap = repeat("填充文字。", 60);
    const char *src = sp_arena_sprintf(&arena, "The refund policy. %s退款需要五天。", gap);
    const char *s = snip("The \x01refund\x02 policy.", src, "refund 退款");
    ck_assert_str_eq(s, "The <mark>refund</mark> policy. \xe2\x80\xa6 "
                        "<mark>退款</mark>需要五天。");
    /* two word fragments and no CJK match shown: the second makes room */
    src = sp_arena_sprintf(&arena, "The refund. %s A refund again. %s 退款", gap, gap);
    s = snip("The \x01refund\x02.\x05" "A \x01refund\x02 again.", src, "refund 退款");
    ck_assert_str_eq(s, "The <mark>refund</mark>. \xe2\x80\xa6 <mark>退款</mark>");
    /* a match the word fragment shows: marked there, no window needed */
    s = snip("\x01refund\x02 退款 now", "a refund 退款 now", "refund 退款");
    ck_assert_str_eq(s, "<mark>refund</mark> <mark>退款</mark> now");
}
END_TEST

START_TEST(windows_cut_at_whole_characters)
{
    /* 4-byte characters (Extension B) with a match deep in an unbroken
     * run: the window holds whole characters, the match after at most
     * SP_SNIPPET_BEFORE of them */
    const char *run = repeat("\xf0\xa0\x80\x80", 300);   /* U+20000 */
    const char *src = cat(run, "\xf0\xa0\x80\x81\xf0\xa0\x80\x82", run);
    const char *s = snip("x", src, "\xf0\xa0\x80\x81\xf0\xa0\x80\x82");
    const char *m = strstr(s, "<mark>\xf0\xa0\x80\x81\xf0\xa0\x80\x82</mark>");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(sp_utf8_count(s, (size_t)(m - s)), SP_SNIPPET_BEFORE);
    size_t text = strlen(s) - strlen("<mark></mark>");
    ck_assert_uint_eq(sp_utf8_count(s, strlen(s)) - strlen("<mark></mark>"),
                      SP_SNIPPET_WINDOW);
    ck_assert_uint_eq(text, SP_SNIPPET_WINDOW * 4);
    /* 2-byte Latin letters before: a word is not cut at the start */
    src = sp_arena_sprintf(&arena, "%s déjà-vu ééééééééé 退款", repeat("é", 30));
    ck_assert_str_eq(snip("x", src, "退款"), "déjà-vu ééééééééé <mark>退款</mark>");
    /* nor at the end, and blanks are trimmed */
    src = sp_arena_sprintf(&arena, "退款 %s", repeat("words ", 30));
    s = snip("x", src, "退款");
    ck_assert_str_eq(s, cat("<mark>退款</mark> ", repeat("words ", 10), "words"));
}
END_TEST

START_TEST(cjk_snippets_escape_and_keep_brackets)
{
    const char *src = "a & b \x03退款\x04 \"c\"";
    ck_assert_str_eq(snip("a & b", src, "退款"),
                     "a &amp; b &lt;<mark>退款</mark>&gt; &quot;c&quot;");
    /* a window starting at a bracket's content puts the bracket back */
    src = "。\x03退款\x04";
    ck_assert_str_eq(snip("x", src, "退款"), "&lt;<mark>退款</mark>&gt;");
}
END_TEST

/* QA: "…choose Change or <mark>Cancel</mark>.\nNotice Fee\n48 h or more
 * none\nless than": the plain text's lines (blocks, a table's rows) came
 * out as raw line breaks. */
START_TEST(a_snippet_is_one_line)
{
    const char *src = "Open My bookings and choose Change or Cancel.\nNotice Fee\n"
                      "48 h or more none\nless than 48 h 20 %\n";
    ck_assert_str_eq(snip("choose Change or \x01" "Cancel\x02.\nNotice Fee\n48 h or more none"
                          "\nless than", src, "cancel"),
                     "choose Change or <mark>Cancel</mark>. Notice Fee; 48 h or more none; "
                     "less than");
    /* a marked word before the break; breaks at a fragment's edges and
     * by the ellipsis; a tab */
    ck_assert_str_eq(snip("\nNotice \x01" "Fee\x02\n48 h\t<\n\x05\n less than\n", src, "fee"),
                     "Notice <mark>Fee</mark>; 48 h &lt; \xe2\x80\xa6 less than");
    /* a CJK query's fragments too */
    ck_assert_str_eq(snip("退款需要\n五天", "退款需要\n五天", "退款"),
                     "<mark>退款</mark>需要; 五天");
}
END_TEST

static Suite *
article_snippet_suite(void)
{
    Suite *s = suite_create("article_snippet");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, latin_queries_keep_the_headline_as_cut);
    tcase_add_test(tc, a_cjk_match_past_the_start_is_shown_and_marked);
    tcase_add_test(tc, a_run_not_in_one_piece_is_marked_by_its_pairs);
    tcase_add_test(tc, a_mixed_query_marks_both);
    tcase_add_test(tc, windows_cut_at_whole_characters);
    tcase_add_test(tc, cjk_snippets_escape_and_keep_brackets);
    tcase_add_test(tc, a_snippet_is_one_line);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(article_snippet_suite());
}
