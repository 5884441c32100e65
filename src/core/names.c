/*
 * names: see names.h.
 */
#include "core/names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <unistr.h>
#include <uninorm.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/utf8.h"

int
sp_name_index(const char *const *names, const char *s)
{
    for (int i = 0; s != NULL && names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* --- display names ---------------------------------------------------------- */

/* Letters of other scripts that show as a Latin letter (after case
 * folding, so each stands for its capital too: Cyrillic "С" folds to
 * "с"), the digits that show as letters, from Unicode's confusables
 * (UTS #39) for the scripts a name is most often forged in: Greek,
 * Cyrillic, Armenian, and Latin's own dotless and small-capital forms. */
static const struct {
    uint32_t cp;
    char latin;
} confusables[] = {
    {'0', 'o'},    {'1', 'l'},    {0x0131, 'i'}, {0x0237, 'j'}, {0x0251, 'a'}, {0x0261, 'g'},
    {0x0269, 'i'}, {0x026A, 'i'}, {0x028F, 'y'}, {0x03B1, 'a'}, {0x03B2, 'b'}, {0x03B3, 'y'},
    {0x03B5, 'e'}, {0x03B6, 'z'}, {0x03B7, 'h'}, {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BC, 'm'},
    {0x03BD, 'v'}, {0x03BF, 'o'}, {0x03C1, 'p'}, {0x03C4, 't'}, {0x03C5, 'u'}, {0x03C7, 'x'},
    {0x03C9, 'w'}, {0x0430, 'a'}, {0x0432, 'b'}, {0x0435, 'e'}, {0x043A, 'k'}, {0x043C, 'm'},
    {0x043D, 'h'}, {0x043E, 'o'}, {0x0440, 'p'}, {0x0441, 'c'}, {0x0442, 't'}, {0x0443, 'y'},
    {0x0445, 'x'}, {0x0455, 's'}, {0x0456, 'i'}, {0x0458, 'j'}, {0x04AF, 'y'}, {0x04BB, 'h'},
    {0x04CF, 'l'}, {0x0501, 'd'}, {0x051B, 'q'}, {0x051D, 'w'}, {0x0570, 'h'}, {0x0578, 'n'},
    {0x057D, 'u'}, {0x0585, 'o'},
};

static uint32_t
unconfused(uint32_t cp)
{
    for (size_t i = 0; i < sizeof(confusables) / sizeof(confusables[0]); i++)
        if (confusables[i].cp == cp)
            return (uint32_t)confusables[i].latin;
    return cp;
}

/* What a name is read by: letters, digits and spacing marks (a vowel sign
 * of an Indic script). Symbols, emoji, currency signs and other numbers
 * (superscripts, fractions, circled digits) are not: "System™", "Agent✓",
 * "Support🙂" or "System²" read as the reserved word with a decoration
 * (QA), and a name made of them alone tells nobody apart. */
#define NAME_CHARACTERS (UC_CATEGORY_MASK_L | UC_CATEGORY_MASK_Nd | UC_CATEGORY_MASK_Nl | \
                         UC_CATEGORY_MASK_Mc)

/* Characters that show as a blank as wide as a letter, yet are no space
 * (Zs) — the Hangul fillers and the blank Braille pattern: between words
 * they are a space ("System\u2800notice" reads "System notice"). */
static bool
blank_looking(uint32_t cp)
{
    return cp == 0x115F || cp == 0x1160 || cp == 0x3164 || cp == 0xFFA0 || cp == 0x2800;
}

/* Whether cp, as written, is a decoration rather than part of a word: a
 * symbol or emoji (So, Sc, Sk: "™", "✓", "🛡", "$", a skin tone), a number
 * that is no digit (No: "²", "₁", "½", "①"), a superscript or subscript
 * letter ("ᵀᴹ"), or a blank-looking character. Judged before the
 * compatibility decomposition, which would make "™" the letters "TM" and
 * "²" the digit 2. */
static bool
decoration(uint32_t cp)
{
    if (blank_looking(cp) ||
        uc_is_general_category_withtable(cp, UC_CATEGORY_MASK_So | UC_CATEGORY_MASK_Sc |
                                                 UC_CATEGORY_MASK_Sk | UC_CATEGORY_MASK_No))
        return true;
    int tag;
    ucs4_t parts[UC_DECOMPOSITION_MAX_LENGTH];
    return uc_decomposition(cp, &tag, parts) > 0 &&
           (tag == UC_DECOMP_SUPER || tag == UC_DECOMP_SUB);
}

/* What a rewrite of a name does with a code point. */
enum rewrite { KEEP, SPACE, DROP };

/* Decorations are spaces: the key drops them, the words read a break. */
static enum rewrite
decoration_spaced(uint32_t cp)
{
    return decoration(cp) ? SPACE : KEEP;
}

/* Invisible characters go: default ignorable ones and the blank-looking
 * fillers. */
static enum rewrite
invisible_dropped(uint32_t cp)
{
    return uc_is_property_default_ignorable_code_point(cp) || blank_looking(cp) ? DROP : KEEP;
}

/* s (n bytes of UTF-8) with each code point kept, made a space or dropped
 * as what says; in the arena, NUL-terminated, at most n bytes (*len). */
static const uint8_t *
rewritten(struct sp_arena *a, const char *s, size_t n, enum rewrite (*what)(uint32_t),
          size_t *len)
{
    uint8_t *out = sp_arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        ucs4_t cp;
        int k = u8_mbtouc(&cp, (const uint8_t *)s + i, n - i);
        k = k > 0 ? k : 1;
        enum rewrite w = what(cp);
        if (w == SPACE) {
            out[o++] = ' ';
        } else if (w == KEEP) {
            memcpy(out + o, s + i, (size_t)k);
            o += (size_t)k;
        }
        i += (size_t)k;
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* Appends cp to out (room for 4 more bytes); "rn" becomes "m", which it
 * shows as in most fonts (UTS #39 maps it so). */
static void
put_cp(uint8_t *out, size_t *n, uint32_t cp)
{
    if (cp == 'n' && *n > 0 && out[*n - 1] == 'r') {
        out[*n - 1] = 'm';
        return;
    }
    int k = u8_uctomb(out + *n, cp, 4);
    if (k > 0)
        *n += (size_t)k;
}

/* The key of s: decorations made spaces (decoration_spaced), then
 * compatibility-decomposed and case folded (fullwidth, mathematical and
 * ligature letters are their plain letters, "ß" is "ss"), marks on
 * letters dropped ("é" is "e"), invisible characters dropped,
 * confusables made Latin, and the rest — spaces, punctuation — either
 * dropped (words false) or one space between words (words true). NULL
 * when s is not UTF-8. */
static const char *
name_skeleton(struct sp_arena *a, const char *s, bool words)
{
    size_t n = strlen(s), len = 0;
    if (!sp_utf8_valid(s, n))
        return NULL;
    const uint8_t *plain = rewritten(a, s, n, decoration_spaced, &n);
    uint8_t *f = u8_casefold(plain, n, NULL, UNINORM_NFKD, NULL, &len);
    if (f == NULL)
        return NULL;
    uint8_t *out = sp_arena_alloc(a, len * 4 + 1);
    size_t o = 0;
    bool gap = false;
    for (size_t i = 0; i < len;) {
        ucs4_t cp;
        int k = u8_mbtouc(&cp, f + i, len - i);
        i += (size_t)(k > 0 ? k : 1);
        if (uc_is_general_category_withtable(cp, UC_CATEGORY_MASK_Mn | UC_CATEGORY_MASK_Me) ||
            uc_is_property_default_ignorable_code_point(cp))
            continue;   /* shows as nothing of its own: "Sys\u200btem" is "System" */
        if (!uc_is_general_category_withtable(cp, NAME_CHARACTERS)) {
            gap = o > 0;
            continue;
        }
        if (gap && words)
            out[o++] = ' ';
        gap = false;
        put_cp(out, &o, unconfused(cp));
    }
    free(f);
    out[o] = '\0';
    return (const char *)out;
}

const char *
sp_name_key(struct sp_arena *a, const char *s)
{
    return s != NULL ? name_skeleton(a, s, false) : NULL;
}

/* The platform's own senders (API.md §5 "Display names"): the system's
 * messages; the mail From name's default; the mails' "our support team";
 * the AI's, the agent's and the customer's labels in a chat's
 * transcript. prefix: a name that begins with it poses as it too
 * ("System Notice", "Support Team Security"). */
static const struct {
    const char *name;
    bool prefix;
} reserved[] = {
    {"System", true},    {"Support", true},     {"Our support team", true},
    {"Assistant", false}, {"AI assistant", false}, {"Agent", false},
    {"Customer", false},
};

/* Whether name (its key, its words) is reserved_name or, when prefix,
 * begins with its words. */
static bool
poses_as(struct sp_arena *a, const char *key, const char *words, const char *reserved_name,
         bool prefix)
{
    const char *rk = name_skeleton(a, reserved_name, false);
    const char *rw = name_skeleton(a, reserved_name, true);
    if (rk == NULL || *rk == '\0')
        return false;
    if (strcmp(key, rk) == 0)
        return true;
    size_t n = strlen(rw);
    return prefix && strncmp(words, rw, n) == 0 && words[n] == ' ';
}

const char *
sp_name_reserved(struct sp_arena *a, const char *s, const char *from_name)
{
    const char *key = sp_name_key(a, s), *words = key != NULL ? name_skeleton(a, s, true) : NULL;
    if (key == NULL || *key == '\0')
        return NULL;
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (poses_as(a, key, words, reserved[i].name, reserved[i].prefix))
            return reserved[i].name;
    if (from_name != NULL && poses_as(a, key, words, from_name, true))
        return from_name;
    return NULL;
}

/* --- exact-match names ------------------------------------------------------ */

/* s[0..n) case folded and normalized (norm), copied into the arena;
 * NULL when libunistring fails or (empty_null) nothing is left. */
static const char *
folded(struct sp_arena *a, const uint8_t *s, size_t n, uninorm_t norm, bool empty_null)
{
    size_t len = 0;
    uint8_t *f = u8_casefold(s, n, NULL, norm, NULL, &len);
    if (f == NULL)
        return NULL;
    const char *kept = len > 0 || !empty_null ? sp_arena_strndup(a, (const char *)f, len) : NULL;
    free(f);
    return kept;
}

const char *
sp_name_fold(struct sp_arena *a, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    if (i == n)
        return sp_ascii_lower(sp_arena_strndup(a, s, n));
    if (!sp_utf8_valid(s, n))   /* u8_casefold would pass such bytes on */
        return NULL;
    return folded(a, (const uint8_t *)s, n, UNINORM_NFC, false);
}

const char *
sp_name_fold_compat(struct sp_arena *a, const char *s, size_t n)
{
    if (!sp_utf8_valid(s, n))
        return NULL;
    /* Invisible characters out first, so a mark they stood between and
     * its letter compose. */
    size_t m = 0;
    const uint8_t *seen = rewritten(a, s, n, invisible_dropped, &m);
    return folded(a, seen, m, UNINORM_NFKC, true);
}
