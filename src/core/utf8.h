/*
 * utf8: validation and code-point counting. Lengths in API.md ("1–200
 * chars") count Unicode code points, not bytes.
 */
#ifndef SP_UTF8_H
#define SP_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the well-formed UTF-8 sequence at s (1..4), 0 if malformed. */
size_t sp_utf8_seq_len(const char *s, size_t n);
/* The code point at s[0..n), its length in *len; a malformed byte is
 * U+FFFD of length 1 (0 when n is 0). */
uint32_t sp_utf8_decode(const char *s, size_t n, size_t *len);
bool   sp_utf8_valid(const char *s, size_t n);
/* Code points in a valid UTF-8 string. */
size_t sp_utf8_count(const char *s, size_t n);
/* Where the code point ending at s[at] starts, i.e. the one before
 * offset at (at > 0; s is UTF-8). */
size_t sp_utf8_prev(const char *s, size_t at);
/* at moved back to the start of the code point s[at] is in (at itself
 * when it starts one, or is 0): where UTF-8 may be cut at or before at. */
size_t sp_utf8_floor(const char *s, size_t at);

/* A closed range of code points; a table of them is sorted and
 * disjoint. */
struct sp_cp_range {
    uint32_t lo, hi;
};
/* Whether cp is in one of the n ranges of table. */
bool sp_utf8_in_ranges(uint32_t cp, const struct sp_cp_range *table, size_t n);

/* Whether cp shows as nothing: a space (Unicode White_Space outside
 * ASCII's controls: U+0020, U+00A0, U+2000-U+200A, U+3000...), an
 * invisible one (Default_Ignorable_Code_Point: U+00AD, U+200B-U+200F,
 * U+2060-U+206F, U+FEFF, the variation selectors, fillers...) or the
 * blank Braille pattern U+2800. A name made only of these reads as no
 * name at all. */
bool sp_utf8_blank(uint32_t cp);
/* Whether cp is a format character (General_Category Cf: U+00AD,
 * U+0600-U+0605, U+180E, U+200B-U+200F, U+202A-U+202E, U+2060-U+206F
 * but U+2065, U+FEFF, U+FFF9-U+FFFB, the tags...): invisible, and some
 * change how the text around them is shown. */
bool sp_utf8_format(uint32_t cp);
/* Whether cp is a bidirectional control (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069): "photo\u202eFIG.html" shows as
 * "photolmth.GIF". */
bool sp_utf8_bidi_control(uint32_t cp);
/* Whether cp is Han, kana or Hangul: the characters sql/055's
 * support_cjk_bigrams reads in pairs (Hangul Jamo, kana, compatibility
 * jamo, CJK Extension A, Unified Ideographs, Hangul syllables,
 * compatibility ideographs, half-width katakana, the supplementary
 * ideographic planes). Kept equal to the SQL, so a text's terms here are
 * the index's: core/embed's, an article snippet's marks. */
bool sp_utf8_cjk(uint32_t cp);
/* Whether any code point of UTF-8 s[0..n) passes test (a malformed byte
 * is U+FFFD): e.g. sp_utf8_any(name, len, sp_utf8_bidi_control). */
bool sp_utf8_any(const char *s, size_t n, bool (*test)(uint32_t cp));
/* Narrows valid UTF-8 [*b, *e) past blank code points (sp_utf8_blank)
 * on both sides. */
void sp_utf8_trim_blank(const char **b, const char **e);

struct sp_arena;

/* s[0..n) as well-formed UTF-8, malformed bytes as U+FFFD, in an arena
 * string (text taken in from outside, such as a mail). SP_UTF8_LINE (a
 * header value): controls become spaces. SP_UTF8_TEXT (a body): NULs are
 * dropped, CR LF and a lone CR become LF, other controls stay. */
enum sp_utf8_clean { SP_UTF8_LINE, SP_UTF8_TEXT };
char *sp_utf8_clean(struct sp_arena *a, const char *s, size_t n, enum sp_utf8_clean mode);

#endif
