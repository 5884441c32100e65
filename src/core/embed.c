/*
 * embed: hashed word + bigram vectors. See embed.h.
 */
#include "core/embed.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>

#include "core/hash.h"
#include "core/hex.h"
#include "core/utf8.h"

#define BIGRAM_WEIGHT 0.5f
#define COVERAGE_TERMS 64

/* Words that say nothing about which article answers: a question is
 * mostly made of them ("how do I ..."). */
static const char *const stop_words[] = {
    "a", "about", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but",
    "by", "can", "could", "did", "do", "does", "for", "from", "get", "got", "had", "has",
    "have", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into", "is", "it",
    "its", "just", "me", "my", "no", "not", "of", "on", "or", "our", "out", "please", "she",
    "should", "so", "some", "than", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "to", "up", "us", "was", "we", "were", "what", "when", "where", "which",
    "who", "why", "will", "with", "would", "you", "your",
};

static bool
is_stop(const char *t, size_t n)
{
    size_t lo = 0, hi = sizeof(stop_words) / sizeof(stop_words[0]);
    while (lo < hi) {  /* the list is sorted */
        size_t mid = (lo + hi) / 2;
        int c = strncmp(stop_words[mid], t, n);
        if (c == 0)
            c = stop_words[mid][n] == '\0' ? 0 : 1;
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Question-frame words, as stemmed: what a question asks for ("how much
 * does it cost", "I need to know", "is it possible to", "will I be able
 * to", "tell me", "how long does a refund take"), not what it is about.
 * The answer's sentence seldom repeats them ("Refunds go back within 5 to
 * 10 business days"), so counted they were missed terms that pushed a
 * fitting article below the confidence threshold (QA: "How long does a
 * refund take?" was "I don't know"). Dropped like stop words, after
 * stemming so that "takes", "needed", "wants" go too. English
 * only, as the stop words and the stemmer are. Words that name a thing
 * are kept even when a question frames with them elsewhere ("charge",
 * "cost", "work", "help", "find"): they pick the article. */
static const char *const frame_stems[] = {
    "abl", "know", "mani", "much", "need", "often", "possibl", "take", "tell", "want",
};

/* Frame words only right after "how": "how long", "how far"; alone they
 * name a thing ("a long stay", "long-distance") and are kept. */
static const char *const how_frame_stems[] = {"far", "long", "soon"};

static bool
in_list(const char *const *list, size_t n_list, const char *t, size_t n)
{
    for (size_t i = 0; i < n_list; i++)
        if (strlen(list[i]) == n && memcmp(list[i], t, n) == 0)
            return true;
    return false;
}

/* Whether the stemmed word t frames a question; after_how: "how" was the
 * word before it. */
static bool
is_frame(const char *t, size_t n, bool after_how)
{
    return in_list(frame_stems, sizeof(frame_stems) / sizeof(frame_stems[0]), t, n) ||
           (after_how &&
            in_list(how_frame_stems, sizeof(how_frame_stems) / sizeof(how_frame_stems[0]), t, n));
}

/* The process's Snowball English stemmer, made on first use and freed
 * at exit. One a process: a stemmer keeps its state between calls, so it
 * is not to be shared by threads, and the workers and jobs that embed are
 * single-threaded (they fork; a child gets its own copy). */
static struct sb_stemmer *stemmer;

static void
stemmer_free(void)
{
    sb_stemmer_delete(stemmer);
    stemmer = NULL;
}

/* "refunds", "refunded", "refunding" -> "refund", "walruses" -> "walrus":
 * Snowball's English stemmer, the one PostgreSQL's english_stem runs for
 * public search (sql/055), so a passage and a question share the terms
 * that search would match. A word with a digit is kept as written, as
 * PostgreSQL's numword is; so is one cut at SP_EMBED_TERM_MAX. */
static size_t
stem(char *t, size_t n)
{
    if (n >= SP_EMBED_TERM_MAX)
        return n;
    for (size_t i = 0; i < n; i++)
        if (t[i] >= '0' && t[i] <= '9')
            return n;
    if (stemmer == NULL) {
        stemmer = sb_stemmer_new("english", "UTF_8");
        if (stemmer == NULL)
            abort();   /* out of memory: "english" is built in */
        atexit(stemmer_free);
    }
    const sb_symbol *out = sb_stemmer_stem(stemmer, (const sb_symbol *)t, (int)n);
    if (out == NULL)
        abort();       /* out of memory */
    size_t m = (size_t)sb_stemmer_length(stemmer);
    if (m == 0 || m > n)   /* neither in English; t holds n bytes */
        return n;
    memcpy(t, out, m);
    return m;
}

/* The ASCII base of a Latin letter with a diacritic, lower-cased, as
 * PostgreSQL's unaccent reads it ("é" -> "e", "ß" -> "ss", "Œ" -> "oe"):
 * a question typed without accents meets the passage that has them.
 * U+00C0..U+017F, one entry each; "" for × and ÷ (separators). */
static const char *const latin_folds[] = {
    /* U+00C0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* U+00D0 */ "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
    /* U+00E0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* U+00F0 */ "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
    /* U+0100 */ "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
    /* U+0110 */ "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
    /* U+0120 */ "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
    /* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
    /* U+0140 */ "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
    /* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
    /* U+0160 */ "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    /* U+0170 */ "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};

/* The same for Latin Extended Additional, U+1E00..U+1EFF (Vietnamese
 * above all: "tiếng việt" is "tieng viet"); NULL: kept as written. */
static const char *const latin_additional_folds[] = {
    /* U+1E00 */ "a", "a", "b", "b", "b", "b", "b", "b", "c", "c", "d", "d", "d", "d", "d", "d",
    /* U+1E10 */ "d", "d", "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "f", "f",
    /* U+1E20 */ "g", "g", "h", "h", "h", "h", "h", "h", "h", "h", "h", "h", "i", "i", "i", "i",
    /* U+1E30 */ "k", "k", "k", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l", "l", "m", "m",
    /* U+1E40 */ "m", "m", "m", "m", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
    /* U+1E50 */ "o", "o", "o", "o", "p", "p", "p", "p", "r", "r", "r", "r", "r", "r", "r", "r",
    /* U+1E60 */ "s", "s", "s", "s", "s", "s", "s", "s", "s", "s", "t", "t", "t", "t", "t", "t",
    /* U+1E70 */ "t", "t", "u", "u", "u", "u", "u", "u", "u", "u", "u", "u", "v", "v", "v", "v",
    /* U+1E80 */ "w", "w", "w", "w", "w", "w", "w", "w", "w", "w", "x", "x", "x", "x", "y", "y",
    /* U+1E90 */ "z", "z", "z", "z", "z", "z", "h", "t", "w", "y", NULL, NULL, NULL, NULL, "ss", NULL,
    /* U+1EA0 */ "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a",
    /* U+1EB0 */ "a", "a", "a", "a", "a", "a", "a", "a", "e", "e", "e", "e", "e", "e", "e", "e",
    /* U+1EC0 */ "e", "e", "e", "e", "e", "e", "e", "e", "i", "i", "i", "i", "o", "o", "o", "o",
    /* U+1ED0 */ "o", "o", "o", "o", "o", "o", "o", "o", "o", "o", "o", "o", "o", "o", "o", "o",
    /* U+1EE0 */ "o", "o", "o", "o", "u", "u", "u", "u", "u", "u", "u", "u", "u", "u", "u", "u",
    /* U+1EF0 */ "u", "u", "y", "y", "y", "y", "y", "y", "y", "y", NULL, NULL, NULL, NULL, NULL, NULL,
};

/* The ASCII base of a Latin letter with a diacritic, lower-cased; "" for
 * × and ÷ (they end a word); NULL for any other code point. */
static const char *
latin_fold(uint32_t c)
{
    if (c >= 0xc0 && c <= 0x17f)
        return latin_folds[c - 0xc0];
    if (c == 0x1a0 || c == 0x1a1)   /* Ơ ơ */
        return "o";
    if (c == 0x1af || c == 0x1b0)   /* Ư ư */
        return "u";
    if (c >= 0x1e00 && c <= 0x1eff)
        return latin_additional_folds[c - 0x1e00];
    return NULL;
}

/* Punctuation and spaces beyond ASCII end a word too: curly quotes, dashes
 * and "…" (it was "refund”" ≠ "refund"), NBSP, "。", "？", full-width
 * punctuation, and a malformed byte (U+FFFD). */
static bool
is_separator(uint32_t c)
{
    return c < 0x80 ? !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                    : c <= 0xbf || (c >= 0x2000 && c <= 0x206f) || (c >= 0x3000 && c <= 0x303f) ||
                          (c >= 0xff00 && c <= 0xff0f) || (c >= 0xff1a && c <= 0xff20) ||
                          (c >= 0xff3b && c <= 0xff40) || (c >= 0xff5b && c <= 0xff65) ||
                          c == 0xfffd;
}

/* A word being read: its bytes, lower-cased and folded, cut at
 * SP_EMBED_TERM_MAX; whether the word before it was "how"; where its
 * terms go when it is a frame word (frame, frame_arg; NULL: nowhere). */
struct word {
    char b[SP_EMBED_TERM_MAX];
    size_t n;
    bool after_how;
    sp_embed_term_fn *frame;
    void *frame_arg;
};

static void
word_put(struct word *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n && w->n < SP_EMBED_TERM_MAX; i++)
        w->b[w->n++] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
}

static void
word_end(struct word *w, sp_embed_term_fn *fn, void *arg)
{
    if (w->n == 0)
        return;
    bool after_how = w->after_how;
    w->after_how = w->n == 3 && memcmp(w->b, "how", 3) == 0;
    if (!is_stop(w->b, w->n)) {
        size_t m = stem(w->b, w->n);
        if (!is_frame(w->b, m, after_how))
            fn(w->b, m, arg);
        else if (w->frame != NULL)
            w->frame(w->b, m, w->frame_arg);
    }
    w->n = 0;
}

/* A run of CJK characters being read: its pairs are its terms, a lone
 * character is one. */
struct cjk_run {
    const char *prev;      /* the previous character of the run; NULL: none */
    bool paired;
};

static void
cjk_end(struct cjk_run *r, const char *end, sp_embed_term_fn *fn, void *arg)
{
    if (r->prev != NULL && !r->paired)
        fn(r->prev, (size_t)(end - r->prev), arg);
    *r = (struct cjk_run){NULL, false};
}

/* --- width folding --------------------------------------------------------- */

/* The full-width forms of U+FF61..U+FF9F, the half-width katakana and
 * their punctuation and sound marks, as NFKC maps them. */
static const uint16_t halfwidth_kana[] = {
    0x3002, 0x300c, 0x300d, 0x3001, 0x30fb, 0x30f2, 0x30a1, 0x30a3, 0x30a5, 0x30a7, 0x30a9,
    0x30e3, 0x30e5, 0x30e7, 0x30c3, 0x30fc, 0x30a2, 0x30a4, 0x30a6, 0x30a8, 0x30aa, 0x30ab,
    0x30ad, 0x30af, 0x30b1, 0x30b3, 0x30b5, 0x30b7, 0x30b9, 0x30bb, 0x30bd, 0x30bf, 0x30c1,
    0x30c4, 0x30c6, 0x30c8, 0x30ca, 0x30cb, 0x30cc, 0x30cd, 0x30ce, 0x30cf, 0x30d2, 0x30d5,
    0x30d8, 0x30db, 0x30de, 0x30df, 0x30e0, 0x30e1, 0x30e2, 0x30e4, 0x30e6, 0x30e8, 0x30e9,
    0x30ea, 0x30eb, 0x30ec, 0x30ed, 0x30ef, 0x30f3, 0x3099, 0x309a,
};

/* The katakana base followed by the sound mark (U+3099 voiced, U+309A
 * semi-voiced) as one character, as NFKC composes them; 0: none. */
static uint32_t
kana_with_mark(uint32_t base, uint32_t mark)
{
    bool ka_to = (base >= 0x30ab && base <= 0x30c1 && base % 2 == 1) ||
                 base == 0x30c4 || base == 0x30c6 || base == 0x30c8;
    bool ha_ho = base >= 0x30cf && base <= 0x30db && (base - 0x30cf) % 3 == 0;
    if (mark == 0x309a)
        return ha_ho ? base + 2 : 0;
    if (ka_to || ha_ho)
        return base + 1;
    return base == 0x30a6 ? 0x30f4 : base == 0x30ef ? 0x30f7 : base == 0x30f2 ? 0x30fa : 0;
}

/* c as UTF-8 at out (c < 0x10000); the bytes written. */
static size_t
put_bmp(char *out, uint32_t c)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | (c >> 12));
    out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[2] = (char)(0x80 | (c & 0x3f));
    return 3;
}

/* text with NFKC's width folding, which the lexemes get from PostgreSQL
 * (sql/066): a full-width ASCII character is its ASCII one ("ＲＥＦＵＮＤ"
 * is "REFUND"), a half-width katakana its full-width one, and a sound
 * mark after a kana that takes it composes with it ("ｶﾞｲﾄﾞ" is "ガイド"),
 * so either way of typing finds the other. malloc'd, *len its length
 * (never longer); NULL when nothing in text folds. */
static char *
width_folded(const char *text, size_t *len)
{
    size_t n = *len;
    if (memchr(text, 0xef, n) == NULL && memchr(text, 0xe3, n) == NULL)
        return NULL;   /* every character that folds starts with one of them */
    char *out = malloc(n + 1);
    if (out == NULL)
        abort();
    size_t o = 0, prev_at = 0, l;
    uint32_t prev = 0;
    for (size_t i = 0; i < n; i += l) {
        uint32_t c = sp_utf8_decode(text + i, n - i, &l);
        uint32_t was = c;
        if (c >= 0xff01 && c <= 0xff5e)
            c -= 0xfee0;
        else if (c >= 0xff61 && c <= 0xff9f)
            c = halfwidth_kana[c - 0xff61];
        uint32_t both = c == 0x3099 || c == 0x309a ? kana_with_mark(prev, c) : 0;
        if (both != 0) {   /* in place of the kana before it */
            o = prev_at + put_bmp(out + prev_at, both);
            prev = 0;
            continue;
        }
        prev_at = o;
        prev = c;
        if (c != was) {
            o += put_bmp(out + o, c);
        } else {   /* as it was, malformed bytes included */
            memcpy(out + o, text + i, l);
            o += l;
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* --- terms ------------------------------------------------------------------- */

/* The terms of text to fn, its frame words' to w's frame. */
static void
terms_of(const char *text, size_t len, struct word w, sp_embed_term_fn *fn, void *arg)
{
    struct cjk_run run = {NULL, false};
    for (size_t i = 0, l; i < len; i += l) {
        uint32_t c = sp_utf8_decode(text + i, len - i, &l);
        bool cjk = sp_utf8_cjk(c);
        const char *fold = cjk ? NULL : latin_fold(c);
        if (!cjk)
            cjk_end(&run, text + i, fn, arg);
        if (cjk || is_separator(c))
            word_end(&w, fn, arg);
        if (cjk) {
            w.after_how = false;
            if (run.prev != NULL) {
                fn(run.prev, (size_t)(text + i + l - run.prev), arg);
                run.paired = true;
            }
            run.prev = text + i;
        } else if (fold != NULL) {
            if (*fold == '\0')
                word_end(&w, fn, arg);
            word_put(&w, fold, strlen(fold));
        } else if (!is_separator(c)) {
            word_put(&w, text + i, l);
        }
    }
    cjk_end(&run, text + len, fn, arg);
    word_end(&w, fn, arg);
}

/* terms_of the width-folded text. */
static void
terms_folded(const char *text, size_t len, struct word w, sp_embed_term_fn *fn, void *arg)
{
    char *folded = width_folded(text, &len);
    terms_of(folded != NULL ? folded : text, len, w, fn, arg);
    free(folded);
}

void
sp_embed_terms(const char *text, size_t len, sp_embed_term_fn *fn, void *arg)
{
    terms_folded(text, len, (struct word){.n = 0}, fn, arg);
}

struct vec_state {
    float *v;
    uint64_t prev;     /* hash of the previous term; 0 = none */
};

static void
add_hash(float *v, uint64_t h, float weight)
{
    /* The low bits pick the dimension, a high bit the sign, so that
     * colliding terms cancel out on average instead of piling up. */
    v[h % SP_EMBED_DIM] += (h >> 63) ? -weight : weight;
}

static void
add_term(const char *term, size_t len, void *arg)
{
    struct vec_state *s = arg;
    uint64_t h = sp_fnv1a(SP_FNV1A_INIT, term, len);
    add_hash(s->v, h, 1.0f);
    if (s->prev != 0)
        add_hash(s->v, sp_fnv1a(s->prev * UINT64_C(31), term, len) ^ 0x9e3779b97f4a7c15ULL,
                 BIGRAM_WEIGHT);
    s->prev = h;
}

void
sp_embed_text(const char *text, size_t len, float out[SP_EMBED_DIM])
{
    memset(out, 0, SP_EMBED_DIM * sizeof(float));
    struct vec_state s = {out, 0};
    sp_embed_terms(text, len, add_term, &s);
    sp_embed_normalize(out, SP_EMBED_DIM);
}

double
sp_embed_cosine(const float *a, const float *b)
{
    return sp_embed_cosine_n(a, b, SP_EMBED_DIM);
}

double
sp_embed_cosine_n(const float *a, const float *b, size_t dim)
{
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < dim; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    if (na <= 0 || nb <= 0)
        return 0;
    return dot / sqrt(na * nb);
}

void
sp_embed_normalize(float *v, size_t dim)
{
    double sum = 0;
    for (size_t i = 0; i < dim; i++)
        sum += (double)v[i] * v[i];
    if (sum <= 0)
        return;
    float inv = (float)(1.0 / sqrt(sum));
    for (size_t i = 0; i < dim; i++)
        v[i] *= inv;
}

struct coverage {
    char terms[COVERAGE_TERMS][SP_EMBED_TERM_MAX];
    size_t lens[COVERAGE_TERMS];
    bool found[COVERAGE_TERMS];
    size_t n;
};

static void
collect_term(const char *term, size_t len, void *arg)
{
    struct coverage *c = arg;
    for (size_t i = 0; i < c->n; i++)
        if (c->lens[i] == len && memcmp(c->terms[i], term, len) == 0)
            return;
    if (c->n == COVERAGE_TERMS)
        return;
    memcpy(c->terms[c->n], term, len);
    c->lens[c->n++] = len;
}

static void
mark_term(const char *term, size_t len, void *arg)
{
    struct coverage *c = arg;
    for (size_t i = 0; i < c->n; i++)
        if (c->lens[i] == len && memcmp(c->terms[i], term, len) == 0)
            c->found[i] = true;
}

double
sp_embed_coverage(const char *question, size_t qlen, const char *text, size_t tlen)
{
    struct coverage c;
    c.n = 0;
    memset(c.found, 0, sizeof(c.found));
    sp_embed_terms(question, qlen, collect_term, &c);
    if (c.n == 0)
        return 0;
    sp_embed_terms(text, tlen, mark_term, &c);
    size_t hits = 0;
    for (size_t i = 0; i < c.n; i++)
        hits += c.found[i];
    return (double)hits / (double)c.n;
}

static void
skip_term(const char *term, size_t len, void *arg)
{
    (void)term;
    (void)len;
    (void)arg;
}

void
sp_embed_frame_terms(const char *text, size_t len, sp_embed_term_fn *fn, void *arg)
{
    struct coverage f;
    f.n = 0;
    memset(f.found, 0, sizeof(f.found));
    /* Two passes: a word may frame before it names ("how long ... a long
     * stay") or after. */
    terms_folded(text, len, (struct word){.n = 0, .frame = collect_term, .frame_arg = &f},
                 skip_term, NULL);
    if (f.n == 0)
        return;
    sp_embed_terms(text, len, mark_term, &f);
    for (size_t i = 0; i < f.n; i++)
        if (!f.found[i])
            fn(f.terms[i], f.lens[i], arg);
}

void
sp_embed_to_hex(const float v[SP_EMBED_DIM], char out[SP_EMBED_HEX_LEN + 1])
{
    sp_embed_to_hex_n(v, SP_EMBED_DIM, out);
}

void
sp_embed_to_hex_n(const float *v, size_t dim, char *out)
{
    out[0] = '\\';
    out[1] = 'x';
    out[2] = '\0';   /* the end when dim is 0; each group below moves it on */
    for (size_t i = 0; i < dim; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof(bits));
        const unsigned char le[4] = {   /* little-endian, whatever the host */
            (unsigned char)bits, (unsigned char)(bits >> 8), (unsigned char)(bits >> 16),
            (unsigned char)(bits >> 24),
        };
        sp_hex_encode(out + 2 + 8 * i, le, sizeof(le));
    }
}

bool
sp_embed_from_hex(const char *hex, float out[SP_EMBED_DIM])
{
    return sp_embed_from_hex_n(hex, out, SP_EMBED_DIM);
}

/* sp_hex_value is one table load a byte, inlined: the retrieval reads 50
 * vectors of 4 KiB of hex a question. */
bool
sp_embed_from_hex_n(const char *hex, float *out, size_t dim)
{
    if (hex == NULL || hex[0] != '\\' || hex[1] != 'x' || strlen(hex) != 2 + 8 * dim)
        return false;
    const char *h = hex + 2;
    for (size_t i = 0; i < dim; i++) {
        uint32_t bits = 0;
        for (int k = 0; k < 4; k++) {
            int hi = sp_hex_value(*h++), lo = sp_hex_value(*h++);
            if (hi < 0 || lo < 0)
                return false;
            bits |= (uint32_t)(hi << 4 | lo) << (8 * k);
        }
        memcpy(&out[i], &bits, sizeof(bits));
    }
    return true;
}
