/*
 * ai_retrieval: hybrid retrieval over the knowledge base's chunks (API.md
 * §9) — PostgreSQL full-text search picks candidates, weighted by how
 * rare each of the question's lexemes is among the chunks (idf, from
 * support_chunk_lexemes): only the rarer lexemes select candidates, and a
 * candidate's lexical score is the summed idf of the question's lexemes
 * it holds, over that of all of them (0..1); the best SP_AI_CANDIDATES
 * by it come back, and each one's cosine similarity to the question's
 * vector is computed here, in C, from the stored float32 vectors:
 *   score = 0.5 * lexical + 0.5 * max(cosine, 0).
 * With each passage comes whether it holds what the question is about
 * (sp_ai_on_topic: its rarest word, or a word in its heading path), the
 * factor ai_query.c scales its confidence by.
 * Debian 12 has no pgvector; where it exists, candidates would also come
 * from `ORDER BY vec <=> :q LIMIT n` on an HNSW index (sql/017_ai.sql,
 * docs/API.md §9), so passages that share no word with the question can
 * be found, and the C side stays the same.
 * Must not: know HTTP, compose answers (ai_query.c does).
 */
#ifndef SP_AI_RETRIEVAL_H
#define SP_AI_RETRIEVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/embed.h"
#include "core/problem.h"
#include "domain/ctx.h"

#define SP_AI_CANDIDATES 50

struct sp_ai_passage {
    long long chunk_id, article_id;
    const char *slug, *title;
    const char *heading_path, *text;
    double rank;      /* lexical score, 0..1: the question's idf it holds (of
                       * the lexemes some chunk holds) */
    double coverage;  /* the same of all the question's lexemes, 0..1 */
    double cosine;    /* -1..1 */
    double score;     /* combined, 0..1 */
};

/* The order of a ranking, for qsort: the higher score first, ties by the
 * lower key, so that equal scores come out the same on every run
 * (passages by chunk id, an answer's sentences in reading order). */
int sp_ai_rank_cmp(double score_a, double score_b, long long key_a, long long key_b);

struct sp_ai_embedder;

/* The best k passages for question (already redacted), best first, into
 * an arena array of *n (0 when nothing matches), and (on_topic not NULL)
 * each one's sp_ai_on_topic into another. The question is embedded
 * by e; a candidate whose vector another embedder made (model or
 * dimension: the sync job has not caught up with a change of embedder)
 * is ranked by its full-text rank alone. SP_UNAVAILABLE when a remote
 * embedder failed. */
enum sp_rc sp_ai_retrieve(struct sp_ctx *ctx, struct sp_ai_embedder *e, const char *question,
                          size_t k, struct sp_ai_passage **out, double **on_topic, size_t *n,
                          struct sp_problem *p);

/* Whether a passage is about what the question asks, as a factor of its
 * confidence (ai_query.c; pure, for the unit tests): 1 when it holds one
 * of the question's rarest lexemes (the highest idf: "zebra" of "How long
 * does a zebra live?", in no chunk), or its heading path holds any of
 * the question's lexemes (it is titled with what the question asks
 * about: "Walrus" for "What do walruses eat?"); else the share of the question's idf it holds, so a
 * passage matching only its everyday words ("live") sinks. idf[0..n):
 * the lexemes' weights; bit i of held, head: lexeme i is in the chunk,
 * in its heading path (at most 64 lexemes). */
double sp_ai_on_topic(const double *idf, size_t n, uint64_t held, uint64_t head);

#endif
