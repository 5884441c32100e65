/*
 * ai_retrieval: hybrid retrieval over the knowledge base's chunks (API.md
 * §9) — PostgreSQL full-text search picks candidates (any of the
 * question's words, ranked by ts_rank_cd, the best SP_AI_CANDIDATES
 * chunks of published articles), then each candidate's cosine similarity
 * to the question's vector is computed here, in C, from the stored
 * float32 vectors; the two make one score:
 *   score = 0.7 * max(cosine, 0) + 0.3 * rank / best rank of the candidates.
 * Debian 12 has no pgvector; where it exists, candidates would also come
 * from `ORDER BY vec <=> :q LIMIT n` on an HNSW index (sql/017_ai.sql,
 * docs/API.md §9), so passages that share no word with the question can
 * be found, and the C side stays the same.
 * Must not: know HTTP, compose answers (ai_query.c does).
 */
#ifndef SP_AI_RETRIEVAL_H
#define SP_AI_RETRIEVAL_H

#include <stddef.h>

#include "core/embed.h"
#include "core/problem.h"
#include "domain/ctx.h"

#define SP_AI_CANDIDATES 50

struct sp_ai_passage {
    long long chunk_id, article_id;
    const char *slug, *title;
    const char *heading_path, *text;
    double rank;      /* full-text rank, 0..1 (ts_rank_cd, normalisation 32) */
    double cosine;    /* -1..1 */
    double score;     /* combined, 0..1 */
};

struct sp_ai_embedder;

/* The best k passages for question (already redacted), best first, into
 * an arena array of *n (0 when nothing matches). The question is embedded
 * by e; a candidate whose vector another embedder made (model or
 * dimension: the sync job has not caught up with a change of embedder)
 * is ranked by its full-text rank alone. SP_UNAVAILABLE when a remote
 * embedder failed. */
enum sp_rc sp_ai_retrieve(struct sp_ctx *ctx, struct sp_ai_embedder *e, const char *question,
                          size_t k, struct sp_ai_passage **out, size_t *n,
                          struct sp_problem *p);

#endif
