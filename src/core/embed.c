/*
 * embed: hashed word + bigram vectors. See embed.h.
 */
#include "core/embed.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/hash.h"
#include "core/hex.h"

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

static bool
ends_with(const char *t, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n > k && memcmp(t + n - k, suffix, k) == 0;
}

/* "refunds", "refunded", "refunding" -> "refund": enough for a question
 * and a passage to share a term; no dictionary. */
static size_t
stem(char *t, size_t n)
{
    if (n > 5 && ends_with(t, n, "ing"))
        return n - 3;
    if (n > 4 && ends_with(t, n, "ies")) {
        t[n - 3] = 'y';
        return n - 2;
    }
    if (n > 4 && ends_with(t, n, "ed"))
        return n - 2;
    if (n > 4 && (ends_with(t, n, "sses") || ends_with(t, n, "xes") || ends_with(t, n, "ches") ||
                  ends_with(t, n, "shes")))
        return n - 2;
    if (n > 3 && t[n - 1] == 's' && t[n - 2] != 's')
        return n - 1;
    return n;
}

static bool
word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

void
sp_embed_terms(const char *text, size_t len, sp_embed_term_fn *fn, void *arg)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && !word_byte((unsigned char)text[i]))
            i++;
        char term[SP_EMBED_TERM_MAX];
        size_t n = 0;
        for (; i < len && word_byte((unsigned char)text[i]); i++) {
            unsigned char c = (unsigned char)text[i];
            if (n < SP_EMBED_TERM_MAX)
                term[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        if (n == 0 || is_stop(term, n))
            continue;
        n = stem(term, n);
        fn(term, n, arg);
    }
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
