/*
 * test_ai_split: the knowledge-base splitter (src/domain/ai_split.c) —
 * heading paths, paragraphs packed to the target size, long paragraphs
 * cut at sentences with an overlap, markup stripped, code kept, nothing
 * the page does not show (raw HTML, comments, reference definitions) and
 * nothing from an empty article.
 */
#include <check.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "domain/ai_chunks.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

static struct sp_ai_chunk *
split(const char *md, size_t *n)
{
    return sp_ai_split(&arena, "Refunds", md, strlen(md), n);
}

START_TEST(headings_make_the_path_and_start_chunks)
{
    size_t n;
    struct sp_ai_chunk *c = split("Intro text.\n\n# Policy\n\nWe refund.\n\n## Timing\n\n"
                                  "Five days.\n\n# Contact\n\nWrite to us.\n", &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(c[0].heading_path, "Refunds");
    ck_assert_str_eq(c[0].text, "Intro text.");
    ck_assert_str_eq(c[1].heading_path, "Refunds > Policy");
    ck_assert_str_eq(c[2].heading_path, "Refunds > Policy > Timing");
    ck_assert_str_eq(c[2].text, "Five days.");
    ck_assert_str_eq(c[3].heading_path, "Refunds > Contact");
    ck_assert_uint_eq(c[3].len, strlen("Write to us."));
}
END_TEST

START_TEST(short_paragraphs_share_a_chunk)
{
    size_t n;
    struct sp_ai_chunk *c = split("One para.\n\nTwo para.\n\nThree para.\n", &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(c[0].text, "One para.\nTwo para.\nThree para.");
}
END_TEST

START_TEST(long_text_is_cut_at_sentences_with_overlap)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 4096);
    for (int i = 0; i < 40; i++)
        sp_buf_printf(&b, "Sentence number %d says something useful here. ", i);
    size_t n;
    struct sp_ai_chunk *c = split(b.data, &n);
    ck_assert_uint_ge(n, 3);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_le(c[i].len, SP_AI_CHUNK_TARGET);
        ck_assert_uint_gt(c[i].len, SP_AI_CHUNK_TARGET / 3);
    }
    /* Each chunk after the first ends on a sentence and the next one
     * starts with the last words of it. */
    ck_assert_int_eq(c[0].text[c[0].len - 1], '.');
    const char *tail = c[0].text + c[0].len - 20;
    ck_assert_ptr_nonnull(strstr(c[1].text, tail));
}
END_TEST

START_TEST(markup_is_stripped_and_code_kept)
{
    size_t n;
    struct sp_ai_chunk *c = split("> **Note:** see [the form](https://x.example/f) or "
                                  "<https://y.example>.\n\n- one\n- `two`\n\n"
                                  "| a | b |\n|---|---|\n\n```\nmake  check\n```\n\n---\n",
                                  &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(c[0].text, "Note: see the form or https://y.example.\none\ntwo\n"
                                "a b\nmake  check");
}
END_TEST

/* docs §9: link targets are stripped — the whole target, parentheses
 * inside it included (QA: "…the capybara page) for …"). */
START_TEST(link_targets_with_parentheses_are_stripped)
{
    size_t n;
    struct sp_ai_chunk *c = split(
        "see [the capybara page](https://en.wikipedia.org/wiki/Capybara_(animal)) for more, "
        "![a (b)](https://x.example/a_(b)_(c).png \"t (1)\") and [esc](https://x/\\)) "
        "and [angle](<https://x/a)b>) end. [not a link](https://x/(open end",
        &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(c[0].text, "see the capybara page for more, a (b) and esc and angle end."
                                " [not a link](https://x/(open end");
}
END_TEST

/* docs §8: the article never shows what is between <script> and
 * </script> (or style, iframe, …), so neither do its chunks. */
START_TEST(hidden_element_content_is_not_chunk_text)
{
    size_t n;
    struct sp_ai_chunk *c = split("Guide <script>alert('x')</script> end <b>bold</b>, "
                                  "<STYLE type=x>p{}</style> <iframe src=x>f</iframe>"
                                  " <title> unclosed.\n\n"
                                  "<script>\nvar a = 1;\n\nvar b = 2;\n</script>\n"
                                  "After.\n<pre>\nraw\n</pre>\nLast.",
                                  &n);
    ck_assert_uint_eq(n, 1);
    /* The <pre> block's text is shown (core/markdown keeps an HTML
     * block's text), so it is chunk text too. */
    ck_assert_str_eq(c[0].text, "Guide  end bold,    unclosed.\nAfter.\nraw\nLast.");
}
END_TEST

/* docs §9: a passage holds what the article's page shows and no more
 * (QA: a comment's "staff override code" was quoted to a customer):
 * comments, reference definitions, processing instructions, CDATA and
 * doctypes are not text, nor is an element marked hidden; a raw HTML
 * block's other text is, as on the page (docs §8). */
START_TEST(raw_html_and_reference_definitions_are_not_chunk_text)
{
    size_t n;
    struct sp_ai_chunk *c = split(
        "Returns within 30 days. <!-- internal: staff override code SECRET-42 -->\n\n"
        "<div hidden>hidden div text DIV-7</div>\n\n"
        "[ref]: https://internal.example/wiki \"REFTITLE\"\n\n"
        "<!--\nown lines COMMENT-3\n\nstill COMMENT-4\n-->\n\n"
        "<details><summary>DETAILS-1</summary>\nDETAILS-2\n</details>\n\n"
        "<p>para PARA-5</p>\n\n<table><tr><td>CELL-6</td></tr></table>\n\n"
        "<?php echo 'PHP-8'; ?>\n\n<![CDATA[ CDATA-9 ]]>\n\n<!DOCTYPE DOCTYPE-10>\n\n"
        "Refunds take 5 days <?php PHP-11 ?> <![CDATA[CDATA-12]]> <!--C-13-->[see][ref].\n",
        &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(c[0].text, "Returns within 30 days.\n"
                                "DETAILS-1\nDETAILS-2\npara PARA-5\nCELL-6\n"
                                "Refunds take 5 days   see.");
}
END_TEST

/* A code span is what the reader sees, tags and all (QA: "type
 * `<b>wombat</b>`" became "type wombat", a wrong instruction). */
START_TEST(inline_code_is_kept_as_written)
{
    size_t n;
    struct sp_ai_chunk *c = split("# Use `<h1>`\n\ntype `<b>wombat</b>` in the editor,\n"
                                  "then ``a ` b`` and `*x*`.\n\n| `<i>` | y |\n|---|---|\n",
                                  &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(c[0].heading_path, "Refunds > Use <h1>");
    ck_assert_str_eq(c[0].text, "type <b>wombat</b> in the editor, then a ` b and *x*.\n<i> y");
}
END_TEST

START_TEST(empty_article_has_no_chunks)
{
    size_t n = 9;
    split("", &n);
    ck_assert_uint_eq(n, 0);
    split("# Only a heading\n\n---\n", &n);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(a_word_longer_than_a_chunk_is_cut_on_utf8_boundaries)
{
    struct sp_buf b;
    sp_buf_init(&b, &arena, 4096);
    for (int i = 0; i < 1000; i++)
        sp_buf_puts(&b, "\xc3\xa9");
    size_t n;
    struct sp_ai_chunk *c = split(b.data, &n);
    ck_assert_uint_ge(n, 3);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(((unsigned char)c[i].text[0] & 0xC0), 0xC0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ai_split");
    TCase *tc = tcase_create("ai_split");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, headings_make_the_path_and_start_chunks);
    tcase_add_test(tc, short_paragraphs_share_a_chunk);
    tcase_add_test(tc, long_text_is_cut_at_sentences_with_overlap);
    tcase_add_test(tc, markup_is_stripped_and_code_kept);
    tcase_add_test(tc, link_targets_with_parentheses_are_stripped);
    tcase_add_test(tc, hidden_element_content_is_not_chunk_text);
    tcase_add_test(tc, raw_html_and_reference_definitions_are_not_chunk_text);
    tcase_add_test(tc, inline_code_is_kept_as_written);
    tcase_add_test(tc, empty_article_has_no_chunks);
    tcase_add_test(tc, a_word_longer_than_a_chunk_is_cut_on_utf8_boundaries);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
