/*
 * ai_retrieval: full-text candidates, cosine in C. See ai_retrieval.h.
 *
 * The question becomes an OR of its lexemes (to_tsvector, then each
 * lexeme quoted into a tsquery): websearch_to_tsquery would AND them, and
 * a question is mostly words its answer does not contain. A question of
 * stop words only has no lexeme: the tsquery is NULL and nothing matches.
 */
#include "domain/ai_retrieval.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "db/db.h"
#include "domain/ai_embedder.h"

#define COSINE_WEIGHT 0.7
#define RANK_WEIGHT 0.3

#define PASSAGE_COLUMNS(C, SEP)                                                              \
    C(PC_ID, "c.id", int, chunk_id) SEP C(PC_ARTICLE, "c.article_id", int, article_id)       \
    SEP C(PC_SLUG, "a.slug", str, slug) SEP C(PC_TITLE, "a.title", str, title)               \
    SEP C(PC_PATH, "c.heading_path", str, heading_path) SEP C(PC_TEXT, "c.text", str, text)  \
    SEP C(PC_RANK, "ts_rank_cd(c.search, q.q, 32)", double, rank)
/* ... and the vector's model and packed vector after them. */
enum { PASSAGE_COLUMNS(SP_COL_ENUM, ) PC_MODEL, PC_EMBEDDING };

static struct sp_stmt candidates_stmt = SP_STMT_READ(
    "ai_candidates",
    "WITH q AS (SELECT string_agg('''' || replace(replace(l, '\\', '\\\\'), '''', '''''')"
    "                             || '''', ' | ')::tsquery AS q"
    "           FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, $1))) l)"
    " SELECT " PASSAGE_COLUMNS(SP_COL_SQL, ", ") ", c.embedding_model, c.embedding"
    " FROM q, support_article_chunks c JOIN support_knowledge_articles a ON a.id = c.article_id"
    " WHERE c.search @@ q.q AND a.is_published"
    " ORDER BY ts_rank_cd(c.search, q.q, 32) DESC, c.id LIMIT $2::integer",
    2);

static void
read_passage(const PGresult *r, int row, struct sp_ai_passage *out)
{
    const int col = 0;
    PASSAGE_COLUMNS(SP_COL_READ, )
}

static int
by_score(const void *x, const void *y)
{
    const struct sp_ai_passage *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    return a->chunk_id < b->chunk_id ? -1 : a->chunk_id > b->chunk_id;
}

/* The candidate's cosine to the question's vector q (dim floats); 0 for
 * a vector of another embedder. */
static double
cosine(const PGresult *r, int row, const struct sp_ai_embedder *e, const float *q, float *v)
{
    if (strcmp(sp_db_str(r, row, PC_MODEL), e->model) != 0 ||
        !sp_embed_from_hex_n(sp_db_str(r, row, PC_EMBEDDING), v, e->dim))
        return 0;
    return sp_embed_cosine_n(q, v, e->dim);
}

enum sp_rc
sp_ai_retrieve(struct sp_ctx *ctx, struct sp_ai_embedder *e, const char *question, size_t k,
               struct sp_ai_passage **out, size_t *n, struct sp_problem *p)
{
    float *q[1];
    if (sp_ai_embed_texts(ctx->arena, e, &question, 1, q, p) != SP_OK)
        return p->rc;
    float *v = sp_arena_alloc(ctx->arena, e->dim * sizeof(float));
    const char *params[2] = {question, sp_arena_sprintf(ctx->arena, "%d", SP_AI_CANDIDATES)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &candidates_stmt, params, p);
    if (r == NULL)
        return p->rc;
    size_t rows = (size_t)PQntuples(r);
    struct sp_ai_passage *all = sp_arena_calloc(ctx->arena, rows + 1, sizeof(*all));
    double best_rank = 0;
    for (size_t i = 0; i < rows; i++) {
        read_passage(r, (int)i, &all[i]);
        best_rank = all[i].rank > best_rank ? all[i].rank : best_rank;
    }
    for (size_t i = 0; i < rows; i++) {
        struct sp_ai_passage *c = &all[i];
        c->cosine = cosine(r, (int)i, e, q[0], v);
        c->score = COSINE_WEIGHT * (c->cosine > 0 ? c->cosine : 0) +
                   RANK_WEIGHT * (best_rank > 0 ? c->rank / best_rank : 0);
    }
    qsort(all, rows, sizeof(*all), by_score);
    *out = all;
    *n = rows < k ? rows : k;
    return SP_OK;
}
