/*
 * embed: the embedded embedder of the AI proxy (API.md §9) — text turned
 * into a deterministic 512-dimension vector in process, with no model
 * file and no service: each term (a lower-cased word with its accents
 * folded, stop words dropped, stemmed as public search stems; in CJK text each
 * pair of neighbouring characters, as sql/055 indexes it) and each pair
 * of neighbouring terms is hashed
 * (FNV-1a) to one dimension and a sign (the "hashing trick"), bigrams at
 * half weight; the vector is L2-normalised, so cosine similarity is a dot
 * product. It measures shared vocabulary, not meaning: retrieval pairs it
 * with full-text candidates (domain/ai_retrieval.c).
 *
 * Vectors travel to PostgreSQL as bytea hex of float32 little-endian.
 * Must not: know SQL, HTTP or the knowledge base.
 */
#ifndef SP_EMBED_H
#define SP_EMBED_H

#include <stdbool.h>
#include <stddef.h>

#define SP_EMBED_DIM 512
#define SP_EMBED_DIM_MAX 4096            /* of any embedder's vectors */
/* Stored with every vector: v2 folds accents and pairs CJK characters
 * (v1 read a CJK sentence as one word); v3 folds widths as NFKC does
 * (half-width katakana, full-width Latin); v4 stems with Snowball English
 * (v3's suffix stripping made "walruses" walruse, "charged" charg); v5
 * drops question-frame words ("take", "need", "long" after "how"); a
 * pass re-embeds the chunks of an older one. */
#define SP_EMBED_MODEL "hashed-512-v5"
#define SP_EMBED_TERM_MAX 32             /* bytes; longer words are cut */
/* The bytea input text of a vector: "\x" + 8 hex digits a dimension. */
#define SP_EMBED_HEX_LEN (2 + SP_EMBED_DIM * 8)

/* Called with each term of a text, in order (len <= SP_EMBED_TERM_MAX,
 * not NUL-terminated). */
typedef void sp_embed_term_fn(const char *term, size_t len, void *arg);
/* The terms of text (len bytes, UTF-8): words — runs of letters and
 * digits, ASCII and non-ASCII, ended by ASCII and Unicode punctuation
 * and spaces — lower-cased with Latin accents folded ("Crème" ->
 * "creme"), stop words dropped, stemmed by Snowball's English stemmer
 * as PostgreSQL's english_stem stems them (a word with a digit kept),
 * question-frame words dropped (what a question asks for, not what it
 * is about: "take", "need", "want", "know", "tell", "possible", "able",
 * "much", "many", "often"; "long", "far", "soon" right after "how"),
 * widths folded as NFKC folds them ("ＡＢＣ" as "abc", "ｶﾞ" as "ガ");
 * and within a run of Han, kana or Hangul, each pair of neighbouring
 * characters (a lone one as itself). */
void sp_embed_terms(const char *text, size_t len, sp_embed_term_fn *fn, void *arg);

/* Called with each distinct question-frame word of text, stemmed, that
 * text does not also use as a term ("take" of "How long does a refund
 * take?"; not "long" of "how long is a long stay"): the lexemes of
 * PostgreSQL's for text that sp_embed_terms drops (domain/ai_retrieval.c
 * weighs the rest). At most 64. */
void sp_embed_frame_terms(const char *text, size_t len, sp_embed_term_fn *fn, void *arg);

/* out = the normalised vector of text; all zeros when it has no term. */
void sp_embed_text(const char *text, size_t len, float out[SP_EMBED_DIM]);
/* Cosine similarity of two vectors from sp_embed_text (-1..1; 0 when
 * either is zero). */
double sp_embed_cosine(const float *a, const float *b);
/* The share (0..1) of question's distinct terms (at most 64 counted)
 * that occur in text; 0 when the question has none. */
double sp_embed_coverage(const char *question, size_t qlen, const char *text, size_t tlen);

/* The same for vectors of dim dimensions (another embedder's). */
double sp_embed_cosine_n(const float *a, const float *b, size_t dim);
/* v scaled to length 1 (left alone when it is zero). */
void sp_embed_normalize(float *v, size_t dim);

/* v as bytea input text into out (SP_EMBED_HEX_LEN + 1 bytes). */
void sp_embed_to_hex(const float v[SP_EMBED_DIM], char out[SP_EMBED_HEX_LEN + 1]);
/* Reads bytea output text ("\x…") of a packed vector; false when it is
 * not exactly SP_EMBED_DIM float32 values. */
bool sp_embed_from_hex(const char *hex, float out[SP_EMBED_DIM]);
/* The same for dim dimensions: out holds 2 + 8 * dim + 1 bytes / dim
 * floats; false unless hex is exactly dim values. */
void sp_embed_to_hex_n(const float *v, size_t dim, char *out);
bool sp_embed_from_hex_n(const char *hex, float *out, size_t dim);

#endif
