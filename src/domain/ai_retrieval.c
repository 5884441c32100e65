/*
 * ai_retrieval: weighted full-text candidates, cosine in C. See
 * ai_retrieval.h.
 *
 * Two statements. The first reads the question's lexemes
 * (to_tsvector('english')) with the number of chunks holding each
 * (support_chunk_lexemes, kept by the sync job) and the number of chunks
 * (its row of lexeme '', or the planner's estimate before the first
 * sync).
 * Here each lexeme gets its idf; the rarer ones select the candidates
 * over the GIN index (selector(): about SELECT_CHUNKS of them, so a
 * question of everyday words does not score the whole knowledge base) and
 * every lexeme weighs in the lexical score of a candidate: the idf of the
 * question's lexemes it holds (its tsvector read once, as an array: the
 * costly part). The second statement returns the SP_AI_CANDIDATES best
 * by that score. Lexemes travel as JSON (weights) and quoted into the
 * selecting tsquery here, so no input can break the query; a question of
 * stop words only has no lexeme and no candidate.
 */
#include "domain/ai_retrieval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json_writer.h"
#include "db/db.h"
#include "domain/ai_embedder.h"
#include "domain/ai_synonyms.h"

#define LEXICAL_WEIGHT 0.5
#define COSINE_WEIGHT 0.5
#define SELECT_CHUNKS 500    /* candidates the selecting lexemes may match, about */
#define LEXEMES_MAX 64
#define SYNONYM_WEIGHT 0.8   /* of a synonym's lexeme, against the word's (of the rarer) */

enum { LX_LEXEME, LX_NDOC, LX_TOTAL, LX_OF };
/* $1: the question; $2: its synonyms, [[word, synonym], …] (single
 * words: one lexeme each, or none for a stop word). A row per lexeme: the
 * question's own first (of ''), then those of its synonyms, each with the
 * lexeme of the word it stands for. No cross join of set-returning
 * functions: its row estimate (10,000) made PostgreSQL plan a parallel
 * query, ~20-35 ms of starting workers for 4 rows (bench/ai). */
static struct sp_stmt lexemes_stmt = SP_STMT_READ(
    "ai_lexemes",
    "SELECT q.l, coalesce(s.ndoc, 0),"
    "       coalesce((SELECT ndoc FROM support_chunk_lexemes WHERE lexeme = ''),"
    "                greatest((SELECT reltuples FROM pg_class"
    "                          WHERE oid = 'support_article_chunks'::regclass), 1))::float8,"
    "       q.of"
    " FROM (SELECT l, '' AS of, 0 AS k"
    "       FROM unnest(tsvector_to_array(to_tsvector('english'::regconfig, $1))) l"
    "       UNION ALL"
    "       SELECT sl, ol, 1"
    "       FROM (SELECT (tsvector_to_array(to_tsvector('english'::regconfig, p->>0)))[1] AS ol,"
    "                    (tsvector_to_array(to_tsvector('english'::regconfig, p->>1)))[1] AS sl"
    "             FROM json_array_elements($2::json) p) x"
    "       WHERE ol IS NOT NULL AND sl IS NOT NULL) q"
    " LEFT JOIN support_chunk_lexemes s ON s.lexeme = q.l"
    " ORDER BY q.k LIMIT 64",
    2);

#define PASSAGE_COLUMNS(C, SEP)                                                              \
    C(PC_ID, "c.id", int, chunk_id) SEP C(PC_ARTICLE, "c.article_id", int, article_id)       \
    SEP C(PC_SLUG, "a.slug", str, slug) SEP C(PC_TITLE, "a.title", str, title)               \
    SEP C(PC_PATH, "c.heading_path", str, heading_path) SEP C(PC_TEXT, "c.text", str, text)  \
    SEP C(PC_RANK, "l.score", double, rank)
/* ... and the vector's model and packed vector after them. */
enum { PASSAGE_COLUMNS(SP_COL_ENUM, ) PC_MODEL, PC_EMBEDDING };

/* $1: [{"l": lexeme, "w": weight, "g": group}], $2: how many, $3: the
 * selecting tsquery. A group is a word of the question with its synonyms:
 * a chunk scores the best weight it holds of each group. */
static struct sp_stmt candidates_stmt = SP_STMT_READ(
    "ai_candidates",
    "WITH t AS MATERIALIZED (SELECT e->>'l' AS l, (e->>'w')::float8 AS w,"
    "                               (e->>'g')::integer AS g"
    "                        FROM json_array_elements($1::json) e),"
    "     l AS (SELECT x.id, (SELECT sum(m) FROM (SELECT max(t.w) AS m FROM t"
    "                         WHERE t.l = ANY (x.lx) GROUP BY t.g) b) AS score"
    "           FROM (SELECT c.id, tsvector_to_array(c.search) AS lx"
    "                 FROM support_article_chunks c WHERE c.search @@ $3::tsquery) x"
    "           ORDER BY 2 DESC, x.id LIMIT $2::integer * 4)"
    " SELECT " PASSAGE_COLUMNS(SP_COL_SQL, ", ") ", c.embedding_model, c.embedding"
    " FROM l JOIN support_article_chunks c ON c.id = l.id"
    " JOIN support_knowledge_articles a ON a.id = c.article_id"
    " WHERE a.is_published ORDER BY l.score DESC, c.id LIMIT $2::integer",
    3);

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

/* A word of the question with its synonyms (ai_synonyms.h). */
struct lexeme {
    const char *text;    /* the question's lexeme */
    const char *query;   /* tsquery operand: ('lexeme' | 'synonym' …) */
    double ndoc;         /* chunks holding any of them (summed: at most) */
    double idf;          /* the lexeme's */
    bool held;           /* some chunk holds the lexeme */
    bool widen;          /* its synonyms select candidates too (a rare word) */
    double syn_held;     /* best weight of a synonym some chunk holds */
};

static int
by_ndoc(const void *x, const void *y)
{
    const struct lexeme *a = x, *b = y;
    return a->ndoc < b->ndoc ? -1 : a->ndoc > b->ndoc;
}

/* lexeme quoted as a tsquery operand into b. */
static void
quote_lexeme(struct sp_buf *b, const char *lexeme)
{
    sp_buf_putc(b, '\'');
    for (const char *c = lexeme; *c; c++) {
        if (*c == '\'' || *c == '\\')
            sp_buf_putc(b, *c);
        sp_buf_putc(b, *c);
    }
    sp_buf_putc(b, '\'');
}

/* lx[0..count) ANDed into b, in parentheses. */
static void
and_of(struct sp_buf *b, const struct lexeme *const *lx, int count)
{
    sp_buf_putc(b, '(');
    for (int i = 0; i < count; i++) {
        sp_buf_puts(b, i > 0 ? " & " : "");
        sp_buf_puts(b, lx[i]->query);
    }
    sp_buf_putc(b, ')');
}

struct pair {
    int i, j;
    double size;   /* chunks guessed to hold both, as if independent: n1 * n2 / N */
};

/* Pairs of the four rarest, the smallest first, ORed into b while they
 * add up to SELECT_CHUNKS (at least one); the three rarest ANDed when
 * even the smallest pair is larger. */
static void
select_pairs(struct sp_buf *b, const struct lexeme *lx, int n, double chunks)
{
    struct pair pairs[6];
    int k = n < 4 ? n : 4, np = 0;
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++)
            pairs[np++] = (struct pair){i, j, lx[i].ndoc * lx[j].ndoc / chunks};
    for (int x = 1; x < np; x++)   /* at most six: insertion sort by size */
        for (int y = x; y > 0 && pairs[y].size < pairs[y - 1].size; y--) {
            struct pair t = pairs[y];
            pairs[y] = pairs[y - 1];
            pairs[y - 1] = t;
        }
    if (pairs[0].size > SELECT_CHUNKS && n >= 3) {
        const struct lexeme *three[3] = {&lx[0], &lx[1], &lx[2]};
        and_of(b, three, 3);
        return;
    }
    double matched = 0;
    for (int p = 0; p < np && (p == 0 || matched + pairs[p].size <= SELECT_CHUNKS); p++) {
        const struct lexeme *two[2] = {&lx[pairs[p].i], &lx[pairs[p].j]};
        matched += pairs[p].size;
        sp_buf_puts(b, p > 0 ? " | " : "");
        and_of(b, two, 2);
    }
}

/* The tsquery that selects about SELECT_CHUNKS candidates from lx[n]
 * (rarest first): the rarer lexemes ORed while their chunks add up to
 * that; when even the rarest is commoner, chunks holding two (or three)
 * of the question's rarest words (select_pairs). */
static const char *
selector(struct sp_arena *a, const struct lexeme *lx, int n, double chunks)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 256);
    if (lx[0].ndoc > SELECT_CHUNKS && n >= 2) {
        select_pairs(&b, lx, n, chunks);
        return b.data;
    }
    double matched = 0;
    for (int i = 0; i < n && (i == 0 || matched + lx[i].ndoc <= SELECT_CHUNKS); i++) {
        matched += lx[i].ndoc;
        sp_buf_puts(&b, i > 0 ? " | " : "");
        sp_buf_puts(&b, lx[i].query);
    }
    return b.data;
}

static double
idf_of(double chunks, double ndoc)
{
    double idf = log(1 + (chunks - ndoc + 0.5) / (ndoc + 0.5));
    return idf > 0 ? idf : 0;
}

/* The group of lexeme of (the question's lexemes g[0..n)); NULL if none. */
static struct lexeme *
group_of(struct lexeme *g, int n, const char *of)
{
    for (int i = 0; i < n; i++)
        if (strcmp(g[i].text, of) == 0)
            return &g[i];
    return NULL;
}

/* One element of the candidates' weights. */
static void
weight_json(struct sp_jw *w, const char *lexeme, double weight, int group)
{
    sp_jw_object(w);
    sp_jw_kstr(w, "l", lexeme);
    sp_jw_kfixed(w, "w", weight, 4);
    sp_jw_kint(w, "g", group);
    sp_jw_end(w);
}

/* The rows of r into groups g (the question's lexemes, then their
 * synonyms at SYNONYM_WEIGHT of the rarer of the two, each lexeme once)
 * and their weights into w; returns the number of groups. Synonyms widen
 * the selecting tsquery only for a word fewer than SELECT_CHUNKS chunks
 * hold (the gap they bridge: "dog" where articles say "pets"); ORing the
 * synonyms of common words ("email | mail", "profile | account") made
 * candidate sets of thousands (300 ms in bench/ai). */
static int
group_lexemes(struct sp_arena *a, const PGresult *r, double chunks, struct lexeme *g,
              struct sp_jw *w)
{
    int rows = PQntuples(r) < LEXEMES_MAX ? PQntuples(r) : LEXEMES_MAX, n = 0;
    const char *seen[LEXEMES_MAX];
    for (int i = 0; i < rows; i++) {
        const char *l = sp_db_str(r, i, LX_LEXEME), *of = sp_db_str(r, i, LX_OF);
        double nd = atof(sp_db_str(r, i, LX_NDOC));
        bool dup = false;
        for (int j = 0; j < i && !dup; j++)
            dup = seen[j] != NULL && strcmp(seen[j], l) == 0;
        struct lexeme *grp = of[0] ? group_of(g, n, of) : &g[n];
        seen[i] = dup || grp == NULL ? NULL : l;
        if (seen[i] == NULL)
            continue;
        struct sp_buf q;   /* "('lexeme')", a synonym added as "('lexeme' | 'synonym')" */
        sp_buf_init(&q, a, 64);
        if (of[0])
            sp_buf_append(&q, grp->query, strlen(grp->query) - 1), sp_buf_puts(&q, " | ");
        else
            sp_buf_putc(&q, '(');
        quote_lexeme(&q, l);
        sp_buf_putc(&q, ')');
        if (of[0] == '\0') {
            *grp = (struct lexeme){l, q.data, nd, idf_of(chunks, nd), nd > 0,
                                   nd < SELECT_CHUNKS, 0};
            weight_json(w, l, grp->idf, n++);
            continue;
        }
        double own = idf_of(chunks, nd), wt = SYNONYM_WEIGHT * (own < grp->idf ? own : grp->idf);
        if (grp->widen) {   /* a common word selects by itself; its synonyms still score */
            grp->query = q.data;
            grp->ndoc += nd;
        }
        if (nd > 0 && wt > grp->syn_held)
            grp->syn_held = wt;
        weight_json(w, l, wt, (int)(grp - g));
    }
    return n;
}

/* The question's lexemes and their synonyms' (at most LEXEMES_MAX)
 * weighed: *json for the candidates statement, *sel its selector;
 * *total_idf = the sum of the weights of the words some chunk holds (the
 * word's, else its best synonym's: a candidate holding all of them scores
 * that much; a word the knowledge base lacks lowers every candidate alike,
 * so it does not count), of all of them before the statistics exist;
 * *all_idf = the sum of the words' own. false when the question has no
 * lexeme. */
static bool
weigh_lexemes(struct sp_arena *a, const PGresult *r, const char **json, const char **sel,
              double *total_idf, double *all_idf)
{
    if (PQntuples(r) == 0)
        return false;
    struct lexeme lx[LEXEMES_MAX];
    double chunks = atof(sp_db_str(r, 0, LX_TOTAL)), all = 0;
    struct sp_buf b;
    sp_buf_init(&b, a, 512);
    struct sp_jw w;
    sp_jw_init(&w, &b);
    sp_jw_array(&w);
    int n = group_lexemes(a, r, chunks, lx, &w);
    sp_jw_end(&w);
    if (n == 0)
        return false;
    *total_idf = 0;
    for (int i = 0; i < n; i++) {
        all += lx[i].idf;
        *total_idf += lx[i].held ? lx[i].idf : lx[i].syn_held;   /* 0: neither held */
    }
    if (*total_idf <= 0)
        *total_idf = all;
    *all_idf = all;
    qsort(lx, (size_t)n, sizeof(lx[0]), by_ndoc);
    *json = b.data;
    *sel = selector(a, lx, n, chunks > 1 ? chunks : 1);
    return true;
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

/* The synonyms of question's words: [[word, synonym], …]. */
static const char *
synonyms_json(struct sp_arena *a, const char *question)
{
    struct sp_ai_synonym syn[SP_AI_SYNONYMS_MAX];
    size_t n = sp_ai_synonyms(question, syn);
    struct sp_buf b;
    sp_buf_init(&b, a, 256);
    struct sp_jw w;
    sp_jw_init(&w, &b);
    sp_jw_array(&w);
    for (size_t i = 0; i < n; i++) {
        sp_jw_array(&w);
        sp_jw_str(&w, syn[i].word);
        sp_jw_str(&w, syn[i].synonym);
        sp_jw_end(&w);
    }
    sp_jw_end(&w);
    return b.data;
}

/* The candidates of question, by lexical score; *rows 0 when none. */
static PGresult *
candidates(struct sp_ctx *ctx, const char *question, double idf[2], struct sp_problem *p)
{
    const char *lp[2] = {question, synonyms_json(ctx->arena, question)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &lexemes_stmt, lp, p);
    if (r == NULL)
        return NULL;
    const char *json = "[]", *sel = "''";
    weigh_lexemes(ctx->arena, r, &json, &sel, &idf[0], &idf[1]);
    const char *params[3] = {json, sp_arena_sprintf(ctx->arena, "%d", SP_AI_CANDIDATES), sel};
    return sp_db_exec(ctx->db, ctx->arena, &candidates_stmt, params, p);
}

enum sp_rc
sp_ai_retrieve(struct sp_ctx *ctx, struct sp_ai_embedder *e, const char *question, size_t k,
               struct sp_ai_passage **out, size_t *n, struct sp_problem *p)
{
    float *q[1];
    if (sp_ai_embed_texts(ctx->arena, e, &question, 1, q, p) != SP_OK)
        return p->rc;
    double idf[2] = {0, 0};   /* of the lexemes the chunks hold, of all */
    PGresult *r = candidates(ctx, question, idf, p);
    if (r == NULL)
        return p->rc;
    float *v = sp_arena_alloc(ctx->arena, e->dim * sizeof(float));
    size_t rows = (size_t)PQntuples(r);
    struct sp_ai_passage *all = sp_arena_calloc(ctx->arena, rows + 1, sizeof(*all));
    for (size_t i = 0; i < rows; i++) {
        struct sp_ai_passage *c = &all[i];
        read_passage(r, (int)i, c);
        c->coverage = idf[1] > 0 ? c->rank / idf[1] : 0;
        c->rank = idf[0] > 0 ? c->rank / idf[0] : 0;
        c->cosine = cosine(r, (int)i, e, q[0], v);
        c->score = LEXICAL_WEIGHT * c->rank + COSINE_WEIGHT * (c->cosine > 0 ? c->cosine : 0);
    }
    qsort(all, rows, sizeof(*all), by_score);
    *out = all;
    *n = rows < k ? rows : k;
    return SP_OK;
}
