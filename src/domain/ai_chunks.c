/*
 * ai_chunks: the knowledge-embedding-sync pass and the one embedder. See
 * ai_chunks.h; the splitter is ai_split.c.
 *
 * A chunk's content hash is SHA-256 of the embedder's name and the text
 * it embeds (heading path + text), so a changed passage, a changed title
 * or another embedder re-embeds it and nothing else does. Chunks are
 * matched by hash, not position: a paragraph inserted near the top moves
 * the rows after it, and those rows take the vector they already had.
 */
#include "domain/ai_chunks.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/log.h"
#include "db/db.h"

#define PAGE 50
#define PROGRESS_EVERY 100

static struct sp_stmt lock_stmt = SP_STMT(
    "ai_sync_try_lock", "SELECT pg_try_advisory_lock($1::bigint)", 1);
static struct sp_stmt unlock_stmt = SP_STMT(
    "ai_sync_unlock", "SELECT pg_advisory_unlock($1::bigint)", 1);

static struct sp_stmt unpublished_stmt = SP_STMT(
    "ai_sync_unpublished",
    "WITH d AS (DELETE FROM support_article_chunks c USING support_knowledge_articles a"
    "           WHERE a.id = c.article_id AND NOT a.is_published RETURNING 1)"
    " SELECT count(*) FROM d",
    0);

/* Published articles whose chunks were not made from their current
 * version (all of them with full), by id. */
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
    "        WHERE c.article_id = a.id AND c.article_version <> a.version))"
    " ORDER BY a.id LIMIT 50",
    2);

enum { EX_POSITION, EX_HASH, EX_EMBEDDING, EX_COUNT };
static struct sp_stmt existing_stmt = SP_STMT(
    "ai_sync_existing",
    "SELECT position, encode(content_hash, 'hex'), embedding FROM support_article_chunks"
    " WHERE article_id = $1::bigint ORDER BY position FOR UPDATE",
    1);

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

static struct sp_stmt stamp_stmt = SP_STMT(
    "ai_sync_stamp",
    "UPDATE support_article_chunks SET article_version = $2::integer"
    " WHERE article_id = $1::bigint AND article_version <> $2::integer",
    2);

void
sp_ai_embed(const char *text, size_t len, float out[SP_EMBED_DIM])
{
    /* SUPPORT_EMBEDDINGS_URL (an OpenAI-compatible /v1/embeddings
     * endpoint) would be called here, batched by the sync pass; the
     * stored embedding_model tells which vectors a question must be
     * compared with. Not built yet: docs/API.md §9. */
    sp_embed_text(text, len, out);
}

const char *
sp_ai_chunk_document(struct sp_arena *a, const struct sp_ai_chunk *c)
{
    return sp_arena_sprintf(a, "%s\n%s", c->heading_path, c->text);
}

/* The rows an article has: hash and packed vector by position. */
struct existing {
    int n;
    const PGresult *r;
};

/* The stored vector with that hash (hex of the bytea text), else NULL;
 * *same when it is at position pos. */
static const char *
stored_vector(const struct existing *ex, const char *hash, int pos, bool *same)
{
    const char *found = NULL;
    *same = false;
    for (int i = 0; i < ex->n; i++) {
        if (strcmp(sp_db_str(ex->r, i, EX_HASH), hash) != 0)
            continue;
        found = sp_db_str(ex->r, i, EX_EMBEDDING);
        if (sp_db_int(ex->r, i, EX_POSITION) == pos) {
            *same = true;
            break;
        }
    }
    return found;
}

/* One article's chunk, written when it is new or moved; embedded only
 * when no stored row has its hash (or the pass is full). */
static enum sp_rc
sync_chunk(struct sp_db *db, struct sp_arena *a, const char *const ids[2],
           const struct sp_ai_chunk *c, int pos, const struct existing *ex, bool full,
           struct sp_ai_sync_counts *n, struct sp_problem *p)
{
    const char *doc = sp_ai_chunk_document(a, c);
    const char *key = sp_arena_sprintf(a, "%s\n%s", SP_EMBED_MODEL, doc);
    const char *hash = sp_crypto_sha256_hex(a, key, strlen(key));
    bool same;
    const char *vector = full ? NULL : stored_vector(ex, hash, pos, &same);
    if (vector != NULL && same) {
        n->kept++;
        return SP_OK;
    }
    if (vector == NULL) {
        float v[SP_EMBED_DIM];
        sp_ai_embed(doc, strlen(doc), v);
        char *hex = sp_arena_alloc(a, SP_EMBED_HEX_LEN + 1);
        sp_embed_to_hex(v, hex);
        vector = hex;
        n->embedded++;
    } else {
        n->kept++;
    }
    const char *params[UP_COUNT] = {
        [UP_ARTICLE] = ids[0], [UP_POSITION] = sp_arena_sprintf(a, "%d", pos),
        [UP_PATH] = c->heading_path, [UP_TEXT] = c->text, [UP_HASH] = hash,
        [UP_EMBEDDING] = vector, [UP_MODEL] = SP_EMBED_MODEL, [UP_VERSION] = ids[1]};
    return sp_db_exec(db, a, &upsert_stmt, params, p) != NULL ? SP_OK : p->rc;
}

/* The article's chunks brought in step with its text, in the caller's
 * transaction. ids: its id and version as text. */
static enum sp_rc
sync_article(struct sp_db *db, struct sp_arena *a, const char *const ids[2], const char *title,
             const char *md, bool full, struct sp_ai_sync_counts *n, struct sp_problem *p)
{
    PGresult *r = sp_db_exec(db, a, &existing_stmt, ids, p);
    if (r == NULL)
        return p->rc;
    struct existing ex = {PQntuples(r), r};
    size_t nchunks;
    struct sp_ai_chunk *chunks = sp_ai_split(a, title, md, strlen(md), &nchunks);
    for (size_t i = 0; i < nchunks; i++)
        if (sync_chunk(db, a, ids, &chunks[i], (int)i, &ex, full, n, p) != SP_OK)
            return p->rc;
    const char *tp[2] = {ids[0], sp_arena_sprintf(a, "%zu", nchunks)};
    PGresult *t = sp_db_exec(db, a, &trim_stmt, tp, p);
    if (t == NULL || sp_db_exec(db, a, &stamp_stmt, ids, p) == NULL)
        return p->rc;
    n->deleted += sp_db_int(t, 0, 0);
    n->articles++;
    return SP_OK;
}

/* One article in one transaction (rolled back in a dry run). */
static void
article_tx(struct sp_db *db, struct sp_arena *a, const PGresult *r, int row,
           const struct sp_ai_sync_opts *o, struct sp_ai_sync_counts *n)
{
    struct sp_problem one;
    sp_problem_init(&one);
    const char *ids[2] = {sp_db_str(r, row, CA_ID), sp_db_str(r, row, CA_VERSION)};
    bool ok = sp_db_begin(db, a, &one) == SP_OK &&
              sync_article(db, a, ids, sp_db_str(r, row, CA_TITLE),
                           sp_db_str(r, row, CA_MARKDOWN), o->full, n, &one) == SP_OK;
    if (ok && !o->dry_run)
        ok = sp_db_commit(db, a, &one) == SP_OK;
    else
        sp_db_rollback(db, a);
    if (!ok) {
        n->errors++;
        struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "ai_sync_article_failed");
        sp_log_str(l, "article_id", ids[0]);
        sp_log_str(l, "code", one.code);
        sp_log_end(l);
    }
}

static void
log_counts(const char *event, enum sp_rc rc, const struct sp_ai_sync_counts *n, bool dry_run)
{
    struct sp_log_line *l = sp_log_begin(rc == SP_OK || rc == SP_CONFLICT ? SP_LOG_INFO
                                                                          : SP_LOG_ERROR,
                                         event);
    sp_log_int(l, "articles", n->articles);
    sp_log_int(l, "embedded", n->embedded);
    sp_log_int(l, "kept", n->kept);
    sp_log_int(l, "deleted", n->deleted);
    sp_log_int(l, "unpublished", n->unpublished);
    sp_log_int(l, "errors", n->errors);
    sp_log_int(l, "dry_run", dry_run);
    sp_log_end(l);
}

/* Every candidate article, a page at a time, with progress lines. */
static enum sp_rc
sync_articles(struct sp_db *db, const struct sp_ai_sync_opts *o, struct sp_ai_sync_counts *n,
              struct sp_problem *p)
{
    struct sp_arena page, work;
    sp_arena_init(&page, 65536);
    sp_arena_init(&work, 65536);
    enum sp_rc rc = SP_OK;
    long seen = 0;
    for (long long after = 0; rc == SP_OK;) {
        sp_arena_reset(&page);
        const char *cp[2] = {sp_arena_sprintf(&page, "%lld", after), o->full ? "true" : "false"};
        PGresult *r = sp_db_exec(db, &page, &candidates_stmt, cp, p);
        if (r == NULL) {
            rc = p->rc;
            break;
        }
        int rows = PQntuples(r);
        for (int i = 0; i < rows && !(o->stop && *o->stop); i++) {
            after = sp_db_int(r, i, CA_ID);
            sp_arena_reset(&work);
            article_tx(db, &work, r, i, o, n);
            if (++seen % PROGRESS_EVERY == 0)
                log_counts("ai_sync_progress", SP_OK, n, o->dry_run);
        }
        if (rows < PAGE || (o->stop && *o->stop))
            break;
    }
    sp_arena_destroy(&work);
    sp_arena_destroy(&page);
    return rc;
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
    char key[24];
    snprintf(key, sizeof(key), "%lld", SP_AI_SYNC_LOCK_KEY);
    const char *kp[1] = {key};
    bool locked = false;
    PGresult *r = sp_db_exec(db, &a, &lock_stmt, kp, p);
    enum sp_rc rc = r == NULL ? p->rc : SP_OK;
    if (r != NULL && !(locked = sp_db_bool(r, 0, 0))) {
        sp_log_msg(SP_LOG_INFO, "ai_sync_busy", "another run holds the lock");
        rc = sp_problem_set(p, SP_CONFLICT, "conflict", "already running");
    }
    if (rc == SP_OK)
        rc = drop_unpublished(db, &a, o->dry_run, n, p);
    if (rc == SP_OK)
        rc = sync_articles(db, o, n, p);
    if (locked) {
        struct sp_problem ignored;
        sp_problem_init(&ignored);
        sp_db_exec(db, &a, &unlock_stmt, kp, &ignored);
    }
    log_counts("ai_sync_pass", rc, n, o->dry_run);
    sp_arena_destroy(&a);
    return rc;
}
