/*
 * ai_retrieval: weighted full-text candidates, cosine in C. See
 * ai_retrieval.h.
 *
 * Two statements. The first reads the question's lexemes
 * (support_plain_tsvector, sql/051: as the chunks') with the number of chunks holding each
 * (support_chunk_lexemes, kept by the sync job) and the number of chunks
 * (its row of lexeme '', or the planner's estimate before the first
 * sync).
 * Here each lexeme gets its idf; the rarer ones select the candidates
 * over the GIN index (selector(): about SELECT_CHUNKS of them, so a
 * question of everyday words does not score the whole knowledge base) and
 * every lexeme weighs in the lexical score of a candidate: the idf of the
 * question's lexemes it holds (its tsvector read once, as an array: the
 * costly part). The second statement returns the SP_AI_CANDIDATES best
 * by that score, each with which of the question's lexemes it holds and
 * which its heading path holds (bit masks, read from its tsvector and
 * the tsvector's weight-A part: only for the rows returned), from which
 * sp_ai_on_topic is computed here with the idf already known — no
 * statement more, no query a lexeme. Lexemes travel as JSON (weights) and quoted into the
 * selecting tsquery here, so no input can break the query; a question of
 * stop words only has no lexeme and no candidate. The question's frame
 * words ("take", "need", "long" after "how": sp_embed_frame_terms) are
 * left out, as the embedder leaves them out: they are not what the
 * question is about, and counted they were missed terms of the article
 * that answers ("How long does a refund take?" was "I don't know").
 */
#include "domain/ai_retrieval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/embed.h"
#include "core/json_writer.h"
#include "db/db.h"
#include "domain/ai_embedder.h"

#define LEXICAL_WEIGHT 0.5
#define COSINE_WEIGHT 0.5
#define SELECT_CHUNKS 500    /* candidates the selecting lexemes may match, about */
#define LEXEMES_MAX 64

enum { LX_LEXEME, LX_NDOC, LX_TOTAL };
static struct sp_stmt lexemes_stmt = SP_STMT_READ(
    "ai_lexemes",
    "SELECT l, coalesce(s.ndoc, 0),"
    "       coalesce((SELECT ndoc FROM support_chunk_lexemes WHERE lexeme = ''),"
    "                greatest((SELECT reltuples FROM pg_class"
    "                          WHERE oid = 'support_article_chunks'::regclass), 1))::float8"
    " FROM unnest(tsvector_to_array(support_plain_tsvector($1))) l"
    " LEFT JOIN support_chunk_lexemes s ON s.lexeme = l"
    " LIMIT 64",
    1);

#define PASSAGE_COLUMNS(C, SEP)                                                              \
    C(PC_ID, "c.id", int, chunk_id) SEP C(PC_ARTICLE, "c.article_id", int, article_id)       \
    SEP C(PC_SLUG, "a.slug", str, slug) SEP C(PC_TITLE, "a.title", str, title)               \
    SEP C(PC_PATH, "c.heading_path", str, heading_path) SEP C(PC_TEXT, "c.text", str, text)  \
    SEP C(PC_RANK, "l.score", double, rank)
/* ... and the vector's model and packed vector after them, then which of
 * the question's lexemes (bit i: the i-th of $1) the chunk holds, and
 * which its heading path. */
enum { PASSAGE_COLUMNS(SP_COL_ENUM, ) PC_MODEL, PC_EMBEDDING, PC_HELD, PC_HEAD };
#define LEXEME_BITS(of)                                                                      \
    "(SELECT coalesce(bit_or(1::bigint << (t.i - 1)::integer), 0) FROM t"                    \
    " WHERE t.l = ANY (tsvector_to_array(" of ")))"

/* $1: [{"l": lexeme, "w": idf}], $2: how many, $3: the selecting tsquery.
 * Only chunks made from their article's current version, and of a
 * published article, are candidates: an article edited (or unpublished)
 * since the sync job's last pass has chunks of its old text, which must
 * never answer (API.md §9 "Edits"). The check is made on the selected
 * chunks before they are scored and cut, so stale chunks take no
 * candidate's place, and as a scalar subquery: one primary-key lookup per
 * match, which the planner cannot turn into a hash join over every
 * article (it did for a few thousand matches: a scan of the whole table,
 * growing with the knowledge base rather than with the question). */
static struct sp_stmt candidates_stmt = SP_STMT_READ(
    "ai_candidates",
    "WITH t AS MATERIALIZED (SELECT e->>'l' AS l, (e->>'w')::float8 AS w, i"
    "                        FROM json_array_elements($1::json) WITH ORDINALITY x(e, i)),"
    "     l AS (SELECT x.id, (SELECT sum(t.w) FROM t WHERE t.l = ANY (x.lx)) AS score"
    "           FROM (SELECT c.id, tsvector_to_array(c.search) AS lx"
    "                 FROM support_article_chunks c WHERE c.search @@ $3::tsquery"
    "                  AND c.article_version = (SELECT a.version"
    "                       FROM support_knowledge_articles a"
    "                       WHERE a.id = c.article_id AND a.is_published)) x"
    "           ORDER BY 2 DESC, x.id LIMIT $2::integer * 4)"
    " SELECT " PASSAGE_COLUMNS(SP_COL_SQL, ", ") ", c.embedding_model, c.embedding,"
    " " LEXEME_BITS("c.search") ", " LEXEME_BITS("ts_filter(c.search, '{a}')")
    " FROM l JOIN support_article_chunks c ON c.id = l.id"
    " JOIN support_knowledge_articles a ON a.id = c.article_id"
    " ORDER BY l.score DESC, c.id LIMIT $2::integer",
    3);

static void
read_passage(const PGresult *r, int row, struct sp_ai_passage *out)
{
    const int col = 0;
    PASSAGE_COLUMNS(SP_COL_READ, )
}

int
sp_ai_rank_cmp(double score_a, double score_b, long long key_a, long long key_b)
{
    if (score_a != score_b)
        return score_a < score_b ? 1 : -1;
    return key_a < key_b ? -1 : key_a > key_b;
}

static int
by_score(const void *x, const void *y)
{
    const struct sp_ai_passage *a = x, *b = y;
    return sp_ai_rank_cmp(a->score, b->score, a->chunk_id, b->chunk_id);
}

struct lexeme {
    const char *text;
    double ndoc, idf;
};

/* The question's frame words, as sp_embed_frame_terms gives them. */
struct frames {
    char terms[LEXEMES_MAX][SP_EMBED_TERM_MAX + 1];
    size_t n;
};

static void
add_frame(const char *term, size_t len, void *arg)
{
    struct frames *f = arg;
    if (f->n < LEXEMES_MAX) {
        memcpy(f->terms[f->n], term, len);
        f->terms[f->n++][len] = '\0';
    }
}

static bool
is_frame(const struct frames *f, const char *lexeme)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->terms[i], lexeme) == 0)
            return true;
    return false;
}

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
        quote_lexeme(b, lx[i]->text);
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
        quote_lexeme(&b, lx[i].text);
    }
    return b.data;
}

/* The question's lexemes weighed (weigh_lexemes): the candidates
 * statement's parameters and the sums a candidate's share is taken of. */
struct weighed {
    const char *json, *sel;
    double total_idf;          /* of the lexemes some chunk holds (all of them
                                * before the statistics exist) */
    double all_idf;            /* of all of them */
    double idf[LEXEMES_MAX];   /* in the order of json: bit i of the masks */
    size_t n;
};

/* The question's lexemes (at most LEXEMES_MAX) weighed into *out: a
 * candidate holding all those some chunk holds scores total_idf (a word
 * the knowledge base lacks lowers every candidate alike, so it does not
 * count there). The frame words f are left out. false when the question
 * has no other lexeme. */
static bool
weigh_lexemes(struct sp_arena *a, const PGresult *r, const struct frames *f,
              struct weighed *out)
{
    int rows = PQntuples(r) < LEXEMES_MAX ? PQntuples(r) : LEXEMES_MAX, n = 0;
    struct lexeme lx[LEXEMES_MAX];
    double chunks = rows > 0 ? atof(sp_db_str(r, 0, LX_TOTAL)) : 0;
    out->total_idf = out->all_idf = 0;
    struct sp_buf b;
    sp_buf_init(&b, a, 512);
    struct sp_jw w;
    sp_jw_begin_array(&w, &b);
    for (int i = 0; i < rows; i++) {
        if (is_frame(f, sp_db_str(r, i, LX_LEXEME)))
            continue;
        double nd = atof(sp_db_str(r, i, LX_NDOC));
        double idf = log(1 + (chunks - nd + 0.5) / (nd + 0.5));
        lx[n] = (struct lexeme){sp_db_str(r, i, LX_LEXEME), nd, idf > 0 ? idf : 0};
        out->idf[n] = lx[n].idf;
        out->all_idf += lx[n].idf;
        out->total_idf += nd > 0 ? lx[n].idf : 0;
        sp_jw_object(&w);
        sp_jw_kstr(&w, "l", lx[n].text);
        sp_jw_kfixed(&w, "w", lx[n].idf, 4);
        sp_jw_end(&w);
        n++;
    }
    sp_jw_end(&w);
    out->n = (size_t)n;
    if (n == 0)
        return false;
    if (out->total_idf <= 0)
        out->total_idf = out->all_idf;
    qsort(lx, (size_t)n, sizeof(lx[0]), by_ndoc);
    out->json = b.data;
    out->sel = selector(a, lx, n, chunks > 1 ? chunks : 1);
    return true;
}

double
sp_ai_on_topic(const double *idf, size_t n, uint64_t held, uint64_t head)
{
    uint64_t all = n >= 64 ? UINT64_MAX : ((uint64_t)1 << n) - 1, rarest = 0;
    double top = -1, in = 0, sum = 0;
    for (size_t i = 0; i < n && i < 64; i++)
        top = idf[i] > top ? idf[i] : top;
    for (size_t i = 0; i < n && i < 64; i++) {
        rarest |= idf[i] == top ? (uint64_t)1 << i : 0;
        in += held >> i & 1 ? idf[i] : 0;
        sum += idf[i];
    }
    if ((head & all) != 0 || (held & rarest) != 0 || sum <= 0)
        return 1;
    return in / sum;
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

/* The candidates of question, by lexical score, in *out; *out stays
 * NULL when the question has no lexeme (stop words, frame words,
 * punctuation, emoji): there is no tsquery to select with, and no
 * candidate. */
static enum sp_rc
candidates(struct sp_ctx *ctx, const char *question, struct weighed *wl, PGresult **out,
           struct sp_problem *p)
{
    *out = NULL;
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &lexemes_stmt, &question, p);
    if (r == NULL)
        return p->rc;
    struct frames f = {.n = 0};
    sp_embed_frame_terms(question, strlen(question), add_frame, &f);
    if (!weigh_lexemes(ctx->arena, r, &f, wl))
        return SP_OK;
    const char *params[3] = {wl->json, sp_arena_sprintf(ctx->arena, "%d", SP_AI_CANDIDATES),
                             wl->sel};
    *out = sp_db_exec(ctx->db, ctx->arena, &candidates_stmt, params, p);
    return *out != NULL ? SP_OK : p->rc;
}

/* A candidate and how it stands to the question's subject, sorted as
 * one (by_score reads the passage, the first member). */
struct candidate {
    struct sp_ai_passage p;
    double on_topic;
};

enum sp_rc
sp_ai_retrieve(struct sp_ctx *ctx, struct sp_ai_embedder *e, const char *question, size_t k,
               struct sp_ai_passage **out, double **on_topic, size_t *n, struct sp_problem *p)
{
    float *q[1];
    if (sp_ai_embed_texts(ctx->arena, e, &question, 1, q, p) != SP_OK)
        return p->rc;
    struct weighed wl = {.n = 0};
    PGresult *r;
    if (candidates(ctx, question, &wl, &r, p) != SP_OK)
        return p->rc;
    float *v = sp_arena_alloc(ctx->arena, e->dim * sizeof(float));
    size_t rows = r != NULL ? (size_t)PQntuples(r) : 0;
    struct candidate *all = sp_arena_calloc(ctx->arena, rows + 1, sizeof(*all));
    for (size_t i = 0; i < rows; i++) {
        struct sp_ai_passage *c = &all[i].p;
        read_passage(r, (int)i, c);
        c->coverage = wl.all_idf > 0 ? c->rank / wl.all_idf : 0;
        c->rank = wl.total_idf > 0 ? c->rank / wl.total_idf : 0;
        c->cosine = cosine(r, (int)i, e, q[0], v);
        c->score = LEXICAL_WEIGHT * c->rank + COSINE_WEIGHT * (c->cosine > 0 ? c->cosine : 0);
        all[i].on_topic = sp_ai_on_topic(wl.idf, wl.n, (uint64_t)sp_db_int(r, (int)i, PC_HELD),
                                         (uint64_t)sp_db_int(r, (int)i, PC_HEAD));
    }
    qsort(all, rows, sizeof(*all), by_score);
    *n = rows < k ? rows : k;
    *out = sp_arena_calloc(ctx->arena, *n + 1, sizeof(**out));
    double *topic = sp_arena_calloc(ctx->arena, *n + 1, sizeof(*topic));
    for (size_t i = 0; i < *n; i++) {
        (*out)[i] = all[i].p;
        topic[i] = all[i].on_topic;
    }
    if (on_topic != NULL)
        *on_topic = topic;
    return SP_OK;
}
