/*
 * ai_chunks: the knowledge-embedding-sync pass and the one embedder. See
 * ai_chunks.h; the splitter is ai_split.c.
 *
 * A chunk's content hash is SHA-256 of the embedder's model and the text
 * it embeds (heading path + text), so a changed passage, a changed title
 * or another embedder re-embeds it and nothing else does; a stored vector
 * is only reused when it has the embedder's model and dimension. Chunks are
 * matched by hash, not position: a paragraph inserted near the top moves
 * the rows after it, and those rows take the vector they already had.
 */
#include "domain/ai_chunks.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "db/db.h"
#include "domain/ai_embedder.h"
#include "domain/job_log.h"
#include "domain/ticket_subject.h"

#define PAGE 50
#define PROGRESS_EVERY 100

static struct sp_stmt unpublished_stmt = SP_STMT(
    "ai_sync_unpublished",
    "WITH d AS (DELETE FROM support_article_chunks c USING support_knowledge_articles a"
    "           WHERE a.id = c.article_id AND NOT a.is_published RETURNING 1)"
    " SELECT count(*) FROM d",
    0);

/* Published articles whose chunks were not made from their current
 * version, or by another embedder (model or dimension: the embedder
 * changed, so they are re-embedded without --full), or all of them with
 * full; by id. */
#define CANDIDATE_COLUMNS(C, SEP)                                                            \
    C(CA_ID, "a.id", , ) SEP C(CA_VERSION, "a.version", , )                                  \
    SEP C(CA_TITLE, "a.title", , ) SEP C(CA_MARKDOWN, "a.content_markdown", , )
enum { CANDIDATE_COLUMNS(SP_COL_ENUM, ) CA_COUNT };
static struct sp_stmt candidates_stmt = SP_STMT_READ(
    "ai_sync_candidates",
    "SELECT " CANDIDATE_COLUMNS(SP_COL_SQL, ", ") " FROM support_knowledge_articles a"
    " WHERE a.is_published AND a.id > $1::bigint"
    "   AND ($2::boolean OR NOT EXISTS (SELECT 1 FROM support_article_chunks c"
    "        WHERE c.article_id = a.id AND c.article_version = a.version)"
    "        OR EXISTS (SELECT 1 FROM support_article_chunks c"
    "        WHERE c.article_id = a.id AND (c.article_version <> a.version"
    "              OR c.embedding_model <> $3 OR octet_length(c.embedding) <> $4::integer)))"
    " ORDER BY a.id LIMIT 50",
    4);

/* The vectors a page of articles already has, by content hash: those of
 * the current embedder only. Read without locks (one instance runs: the
 * advisory lock); each article's transaction checks its rows again. */
enum { KN_ARTICLE, KN_HASH, KN_EMBEDDING, KN_COUNT };
static struct sp_stmt known_stmt = SP_STMT_READ(
    "ai_sync_known",
    "SELECT article_id, encode(content_hash, 'hex'), embedding FROM support_article_chunks"
    " WHERE article_id = ANY($1::bigint[]) AND embedding_model = $2"
    "   AND octet_length(embedding) = $3::integer",
    3);

enum { EX_POSITION, EX_HASH, EX_COUNT };
static struct sp_stmt existing_stmt = SP_STMT(
    "ai_sync_existing",
    "SELECT position, encode(content_hash, 'hex') FROM support_article_chunks"
    " WHERE article_id = $1::bigint AND embedding_model = $2"
    "   AND octet_length(embedding) = $3::integer ORDER BY position FOR UPDATE",
    3);

enum { UP_ARTICLE, UP_POSITION, UP_PATH, UP_TEXT, UP_HASH, UP_EMBEDDING, UP_MODEL, UP_VERSION,
       UP_COUNT };
static const char *const upsert_names[UP_COUNT + 1] = {
    [UP_ARTICLE] = "article", [UP_POSITION] = "position", [UP_PATH] = "path",
    [UP_TEXT] = "text", [UP_HASH] = "hash", [UP_EMBEDDING] = "embedding",
    [UP_MODEL] = "model", [UP_VERSION] = "version", NULL};
static struct sp_stmt upsert_stmt = SP_STMT_NAMED(
    "ai_sync_upsert",
    "INSERT INTO support_article_chunks (article_id, position, heading_path, text, content_hash,"
    " embedding, embedding_model, article_version)"
    " VALUES (:article::bigint, :position::integer, :path, :text, decode(:hash, 'hex'),"
    " :embedding::bytea, :model, :version::integer)"
    " ON CONFLICT (article_id, position) DO UPDATE SET heading_path = EXCLUDED.heading_path,"
    " text = EXCLUDED.text, content_hash = EXCLUDED.content_hash,"
    " embedding = EXCLUDED.embedding, embedding_model = EXCLUDED.embedding_model,"
    " article_version = EXCLUDED.article_version, updated_at = now()",
    upsert_names, UP_COUNT);

static struct sp_stmt trim_stmt = SP_STMT(
    "ai_sync_trim",
    "WITH d AS (DELETE FROM support_article_chunks WHERE article_id = $1::bigint"
    "           AND position >= $2::integer RETURNING 1)"
    " SELECT count(*) FROM d",
    2);

/* The lexeme statistics of retrieval (sql/020_ai_lexemes.sql), rewritten
 * in one transaction: queries read the old rows meanwhile. */
static struct sp_stmt lexemes_empty_stmt = SP_STMT_READ(
    "ai_sync_lexemes_empty", "SELECT NOT EXISTS (SELECT 1 FROM support_chunk_lexemes)", 0);
static struct sp_stmt lexemes_clear_stmt = SP_STMT(
    "ai_sync_lexemes_clear", "DELETE FROM support_chunk_lexemes", 0);
static struct sp_stmt lexemes_fill_stmt = SP_STMT(
    "ai_sync_lexemes_fill",
    "WITH i AS (INSERT INTO support_chunk_lexemes (lexeme, ndoc)"
    "           SELECT word, ndoc FROM ts_stat('SELECT search FROM support_article_chunks')"
    "           UNION ALL SELECT '', count(*) FROM support_article_chunks"
    "           RETURNING 1)"
    " SELECT count(*) FROM i",
    0);

static struct sp_stmt stamp_stmt = SP_STMT(
    "ai_sync_stamp",
    "UPDATE support_article_chunks SET article_version = $2::integer"
    " WHERE article_id = $1::bigint AND article_version <> $2::integer",
    2);

const char *
sp_ai_chunk_document(struct sp_arena *a, const struct sp_ai_chunk *c)
{
    return sp_arena_sprintf(a, "%s\n%s", c->heading_path, c->text);
}

/* An article of a page, split, hashed and given its vectors before its
 * transaction (so no model call happens while rows are locked). */
struct prepared {
    const char *ids[2];         /* id, version as text */
    struct sp_ai_chunk *chunks;
    size_t n;
    const char **hashes;        /* hex of SHA-256(model, document) */
    const char **vectors;       /* bytea input text */
    bool *fresh;                /* its vector was made in this pass */
};

struct page {
    struct prepared *arts;
    int n;
    const struct sp_ai_sync_opts *o;
    const char *vec_bytes;      /* 4 x the embedder's dimension, as text */
};

static void
prepare_article(struct sp_arena *a, const PGresult *r, int row, const char *model,
                struct prepared *out)
{
    out->ids[0] = sp_db_str(r, row, CA_ID);
    out->ids[1] = sp_db_str(r, row, CA_VERSION);
    const char *md = sp_db_str(r, row, CA_MARKDOWN);
    /* The title heads every passage's line in the provider's prompt: one
     * saved with a line break, before titles were one line, must not
     * forge a line there (blank: no title). */
    const char *title = sp_ticket_subject_of_text(a, sp_db_str(r, row, CA_TITLE), 0);
    out->chunks = sp_ai_split(a, title != NULL ? title : "", md, strlen(md), &out->n);
    out->hashes = sp_arena_calloc(a, out->n + 1, sizeof(*out->hashes));
    out->vectors = sp_arena_calloc(a, out->n + 1, sizeof(*out->vectors));
    out->fresh = sp_arena_calloc(a, out->n + 1, sizeof(*out->fresh));
    for (size_t i = 0; i < out->n; i++) {
        const char *key = sp_arena_sprintf(a, "%s\n%s", model,
                                           sp_ai_chunk_document(a, &out->chunks[i]));
        out->hashes[i] = sp_crypto_sha256_hex(a, key, strlen(key));
    }
}

/* Vectors the rows already hold, matched by article and hash. */
static enum sp_rc
reuse_known(struct sp_db *db, struct sp_arena *a, struct page *pg, struct sp_problem *p)
{
    struct sp_buf ids;
    sp_buf_init(&ids, a, 64);
    sp_buf_putc(&ids, '{');
    for (int i = 0; i < pg->n; i++)
        sp_buf_printf(&ids, "%s%s", i ? "," : "", pg->arts[i].ids[0]);
    sp_buf_putc(&ids, '}');
    const char *params[3] = {ids.data, pg->o->embedder->model, pg->vec_bytes};
    PGresult *r = sp_db_exec(db, a, &known_stmt, params, p);
    if (r == NULL)
        return p->rc;
    for (int k = 0; k < PQntuples(r); k++)
        for (int i = 0; i < pg->n; i++) {
            struct prepared *art = &pg->arts[i];
            if (strcmp(art->ids[0], sp_db_str(r, k, KN_ARTICLE)) != 0)
                continue;
            for (size_t c = 0; c < art->n; c++)
                if (art->vectors[c] == NULL &&
                    strcmp(art->hashes[c], sp_db_str(r, k, KN_HASH)) == 0)
                    art->vectors[c] = sp_db_str(r, k, KN_EMBEDDING);
        }
    return SP_OK;
}

/* The chunks of the page with no vector yet, embedded in one go (in
 * batches); a dry run only counts them. */
static enum sp_rc
embed_missing(struct sp_arena *a, struct page *pg, struct sp_problem *p)
{
    size_t total = 0, k = 0;
    for (int i = 0; i < pg->n; i++)
        total += pg->arts[i].n;
    const char **docs = sp_arena_calloc(a, total + 1, sizeof(*docs));
    const char ***slots = sp_arena_calloc(a, total + 1, sizeof(*slots));
    for (int i = 0; i < pg->n; i++)
        for (size_t c = 0; c < pg->arts[i].n; c++)
            if (pg->arts[i].vectors[c] == NULL) {
                pg->arts[i].fresh[c] = true;
                docs[k] = sp_ai_chunk_document(a, &pg->arts[i].chunks[c]);
                slots[k++] = &pg->arts[i].vectors[c];
            }
    struct sp_ai_embedder *e = pg->o->embedder;
    float **v = sp_arena_calloc(a, k + 1, sizeof(*v));
    if (k == 0 || pg->o->dry_run) {
        for (size_t i = 0; i < k; i++)
            *slots[i] = "\\x";   /* never written: the dry run rolls back */
        return SP_OK;
    }
    if (sp_ai_embed_texts(a, e, docs, k, v, p) != SP_OK)
        return p->rc;
    for (size_t i = 0; i < k; i++)
        *slots[i] = sp_ai_vector_hex(a, v[i], e->dim);
    return SP_OK;
}

/* The position of the row holding hash, -1 when none does. */
static int
stored_at(const PGresult *ex, const char *hash, int pos)
{
    int found = -1;
    for (int i = 0; i < PQntuples(ex); i++)
        if (strcmp(sp_db_str(ex, i, EX_HASH), hash) == 0) {
            found = (int)sp_db_int(ex, i, EX_POSITION);
            if (found == pos)
                break;
        }
    return found;
}

/* The article's chunks brought in step with its text, in the caller's
 * transaction: a chunk already at its place is left alone, others are
 * written with their (kept or fresh) vector. */
static enum sp_rc
sync_article(struct sp_db *db, struct sp_arena *a, const struct page *pg,
             const struct prepared *art, struct sp_ai_sync_counts *n, struct sp_problem *p)
{
    const char *ep[3] = {art->ids[0], pg->o->embedder->model, pg->vec_bytes};
    PGresult *ex = sp_db_exec(db, a, &existing_stmt, ep, p);
    if (ex == NULL)
        return p->rc;
    for (size_t i = 0; i < art->n; i++) {
        n->embedded += art->fresh[i];
        n->kept += !art->fresh[i];
        if (!art->fresh[i] && !pg->o->full && stored_at(ex, art->hashes[i], (int)i) == (int)i)
            continue;
        const struct sp_ai_chunk *c = &art->chunks[i];
        const char *params[UP_COUNT] = {
            [UP_ARTICLE] = art->ids[0], [UP_POSITION] = sp_arena_sprintf(a, "%zu", i),
            [UP_PATH] = c->heading_path, [UP_TEXT] = c->text, [UP_HASH] = art->hashes[i],
            [UP_EMBEDDING] = art->vectors[i], [UP_MODEL] = pg->o->embedder->model,
            [UP_VERSION] = art->ids[1]};
        if (sp_db_exec(db, a, &upsert_stmt, params, p) == NULL)
            return p->rc;
    }
    const char *tp[2] = {art->ids[0], sp_arena_sprintf(a, "%zu", art->n)};
    PGresult *t = sp_db_exec(db, a, &trim_stmt, tp, p);
    if (t == NULL || sp_db_exec(db, a, &stamp_stmt, art->ids, p) == NULL)
        return p->rc;
    n->deleted += sp_db_int(t, 0, 0);
    n->articles++;
    return SP_OK;
}

/* One article in one transaction (rolled back in a dry run). */
static void
article_tx(struct sp_db *db, struct sp_arena *a, const struct page *pg,
           const struct prepared *art, struct sp_ai_sync_counts *n)
{
    struct sp_problem one;
    sp_problem_init(&one);
    struct sp_ai_sync_counts mine = {0};
    bool ok = sp_db_begin(db, a, &one) == SP_OK &&
              sync_article(db, a, pg, art, &mine, &one) == SP_OK;
    if (ok && !pg->o->dry_run)
        ok = sp_db_commit(db, a, &one) == SP_OK;
    else
        sp_db_rollback(db, a);
    if (!ok) {
        n->errors++;
        struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "ai_sync_article_failed");
        sp_log_str(l, "article_id", art->ids[0]);
        sp_log_str(l, "code", one.code);
        sp_log_end(l);
        return;
    }
    n->articles += mine.articles;
    n->embedded += mine.embedded;
    n->kept += mine.kept;
    n->deleted += mine.deleted;
}

/* One page of candidates: prepared, vectors found or made, then one
 * transaction per article. A failed embedder stops the pass. */
static enum sp_rc
sync_page(struct sp_db *db, struct sp_arena *a, const PGresult *r,
          const struct sp_ai_sync_opts *o, struct sp_ai_sync_counts *n, long *seen,
          struct sp_problem *p)
{
    struct page pg = {sp_arena_calloc(a, PAGE, sizeof(struct prepared)), PQntuples(r), o,
                      sp_arena_sprintf(a, "%zu", 4 * o->embedder->dim)};
    for (int i = 0; i < pg.n; i++)
        prepare_article(a, r, i, o->embedder->model, &pg.arts[i]);
    if ((!o->full && reuse_known(db, a, &pg, p) != SP_OK) || embed_missing(a, &pg, p) != SP_OK)
        return p->rc;
    struct sp_arena work;
    sp_arena_init(&work, 65536);
    for (int i = 0; i < pg.n && !(o->stop && *o->stop); i++) {
        sp_arena_reset(&work);
        article_tx(db, &work, &pg, &pg.arts[i], n);
        if (++*seen % PROGRESS_EVERY == 0)
            SP_LOG_JOB_PASS("ai_sync_progress", SP_OK, NULL, SP_AI_SYNC_COUNTS, n, o->dry_run);
    }
    sp_arena_destroy(&work);
    return SP_OK;
}

/* SP_OK, or sp_db_job_stop's "stopped" when a stop came: the articles
 * left and the later steps are the next pass's, and this one is no
 * finished run (jobs/job.h). */
static enum sp_rc
go_on(const struct sp_ai_sync_opts *o, struct sp_problem *p)
{
    return o->stop != NULL && *o->stop ? sp_db_job_stop(p) : SP_OK;
}

/* Every candidate article, a page at a time, with progress lines. */
static enum sp_rc
sync_articles(struct sp_db *db, const struct sp_ai_sync_opts *o, struct sp_ai_sync_counts *n,
              struct sp_problem *p)
{
    struct sp_arena page;
    sp_arena_init(&page, 65536);
    enum sp_rc rc = SP_OK;
    long seen = 0;
    for (long long after = 0; rc == SP_OK;) {
        sp_arena_reset(&page);
        const char *cp[4] = {sp_arena_sprintf(&page, "%lld", after), o->full ? "true" : "false",
                             o->embedder->model,
                             sp_arena_sprintf(&page, "%zu", 4 * o->embedder->dim)};
        PGresult *r = sp_db_exec(db, &page, &candidates_stmt, cp, p);
        if (r == NULL) {
            rc = p->rc;
            break;
        }
        int rows = PQntuples(r);
        if (rows > 0) {
            after = sp_db_int(r, rows - 1, CA_ID);
            rc = sync_page(db, &page, r, o, n, &seen, p);
        }
        if (rc == SP_OK)
            rc = go_on(o, p);
        if (rows < PAGE)
            break;
    }
    sp_arena_destroy(&page);
    return rc;
}

/* The lexeme statistics anew when the pass changed chunks (or there are
 * none yet). ts_stat reads every chunk: seconds at 100,000s of them, so
 * the statement timeout is lifted for this transaction only. */
static enum sp_rc
refresh_lexemes(struct sp_db *db, struct sp_arena *a, const struct sp_ai_sync_opts *o,
                struct sp_ai_sync_counts *n, struct sp_problem *p)
{
    PGresult *r = sp_db_exec(db, a, &lexemes_empty_stmt, NULL, p);
    if (r == NULL)
        return p->rc;
    bool changed = n->articles > 0 || n->unpublished > 0 || o->full;
    if (o->dry_run || (!changed && !sp_db_bool(r, 0, 0)))
        return SP_OK;
    if (sp_db_begin(db, a, p) != SP_OK)
        return p->rc;
    PGresult *f = NULL;
    if (sp_db_exec_sql(db, a, "SET LOCAL statement_timeout = 0", p) != NULL &&
        sp_db_exec(db, a, &lexemes_clear_stmt, NULL, p) != NULL)
        f = sp_db_exec(db, a, &lexemes_fill_stmt, NULL, p);
    if (f == NULL || sp_db_commit(db, a, p) != SP_OK) {
        sp_db_rollback(db, a);
        return p->rc;
    }
    n->lexemes = sp_db_int(f, 0, 0);
    return SP_OK;
}

/* A remote embedder's dimension, learnt from one short text, so rows of
 * another dimension are found before anything is embedded. */
static enum sp_rc
probe_dimension(struct sp_arena *a, struct sp_ai_embedder *e, struct sp_problem *p)
{
    if (e->dim != 0)
        return SP_OK;
    const char *probe[1] = {"dimension probe"};
    float *v[1];
    return sp_ai_embed_texts(a, e, probe, 1, v, p);
}

/* Chunks of unpublished articles go first, in their own transaction. */
static enum sp_rc
drop_unpublished(struct sp_db *db, struct sp_arena *a, bool dry_run,
                 struct sp_ai_sync_counts *n, struct sp_problem *p)
{
    if (sp_db_begin(db, a, p) != SP_OK)
        return p->rc;
    PGresult *r = sp_db_exec(db, a, &unpublished_stmt, NULL, p);
    if (r == NULL || dry_run || sp_db_commit(db, a, p) != SP_OK) {
        sp_db_rollback(db, a);
        if (r == NULL || !dry_run)
            return p->rc;
    }
    n->unpublished = sp_db_int(r, 0, 0);
    return SP_OK;
}

enum sp_rc
sp_ai_sync_pass(struct sp_db *db, const struct sp_ai_sync_opts *o, struct sp_ai_sync_counts *n,
                struct sp_problem *p)
{
    memset(n, 0, sizeof(*n));
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    enum sp_rc rc = sp_db_job_lock(db, &a, SP_AI_SYNC_LOCK_KEY, "ai_sync_busy", p);
    bool locked = rc == SP_OK;
    if (rc == SP_OK)
        rc = probe_dimension(&a, o->embedder, p);
    if (rc == SP_OK)
        rc = drop_unpublished(db, &a, o->dry_run, n, p);
    if (rc == SP_OK && (rc = go_on(o, p)) == SP_OK)
        rc = sync_articles(db, o, n, p);
    if (rc == SP_OK)
        rc = refresh_lexemes(db, &a, o, n, p);
    if (locked)
        sp_db_job_unlock(db, &a, SP_AI_SYNC_LOCK_KEY);
    SP_LOG_JOB_PASS("ai_sync_pass", rc, p, SP_AI_SYNC_COUNTS, n, o->dry_run);
    sp_arena_destroy(&a);
    return rc;
}
