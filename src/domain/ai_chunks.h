/*
 * ai_chunks: the knowledge base cut into passages for retrieval (API.md
 * §9, the knowledge-embedding-sync job of §12) — the splitter (pure:
 * markdown along headings and paragraphs into ~800-character chunks with
 * a small overlap, each with its heading path) and the sync pass that
 * keeps support_article_chunks in step with the published articles:
 * re-chunks articles whose version changed, embeds only chunks whose
 * content hash changed, drops the chunks of unpublished articles
 * (deleted ones go by ON DELETE CASCADE), and rewrites retrieval's
 * lexeme statistics (support_chunk_lexemes) after a pass that changed
 * chunks. One article per transaction; one instance at a time
 * cluster-wide (advisory lock).
 *
 * Vectors come from the configured embedder (domain/ai_embedder: the
 * embedded hashed one, or an OpenAI-compatible /v1/embeddings endpoint),
 * a page of articles at a time, before the articles' transactions. Rows
 * made by another embedder (model or dimension) are re-embedded by the
 * next pass, as if their article had changed.
 * Must not: know HTTP.
 */
#ifndef SP_AI_CHUNKS_H
#define SP_AI_CHUNKS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/embed.h"
#include "core/log.h"
#include "core/problem.h"

struct sp_arena;
struct sp_db;
struct sp_ai_embedder;

#define SP_AI_CHUNK_TARGET 800     /* characters (bytes) a chunk aims at */
#define SP_AI_CHUNK_OVERLAP 120    /* at most this much of the previous chunk
                                    * of the same section starts the next */
#define SP_AI_SYNC_LOCK_KEY 0x5350414945424544LL /* "SPAIEBED" */
/* A save that may leave a published article's chunks behind its text
 * notifies this channel (domain/articles.c); knowledge-embedding-sync
 * --loop starts its next pass on it, not after --interval. */
#define SP_AI_SYNC_CHANNEL "support_knowledge_sync"

struct sp_ai_chunk {
    const char *heading_path;  /* "Title > Section > Subsection" */
    const char *text;          /* plain text, markup stripped */
    size_t len;
};

/* Splits an article (title, markdown md of len bytes) into *n chunks
 * (arena-owned array; *n is 0 for an article with no text). Headings
 * (ATX, outside code fences) start a new chunk; paragraphs are packed up
 * to SP_AI_CHUNK_TARGET and a longer one is cut at sentence or word
 * boundaries (never inside a UTF-8 sequence). Pure. */
struct sp_ai_chunk *sp_ai_split(struct sp_arena *a, const char *title, const char *md,
                                size_t len, size_t *n);

/* What is embedded for a chunk: its heading path and its text. */
const char *sp_ai_chunk_document(struct sp_arena *a, const struct sp_ai_chunk *c);

struct sp_ai_sync_opts {
    bool dry_run;               /* count what would change, change nothing */
    bool full;                  /* every published article, every chunk re-embedded */
    volatile sig_atomic_t *stop;       /* set: stop after the article in hand */
    struct sp_ai_embedder *embedder;   /* its dim is learnt when remote */
};

#define SP_AI_SYNC_COUNTS(F)                                                                       \
    F(articles)                 /* articles re-chunked */                                          \
    F(embedded) F(kept) F(deleted)  /* chunks */                                                   \
    F(unpublished)              /* chunks of unpublished articles dropped */                       \
    F(lexemes)                  /* rows of the lexeme statistics rewritten (0: kept) */            \
    F(errors)
struct sp_ai_sync_counts {
    SP_AI_SYNC_COUNTS(SP_LOG_COUNT_MEMBER)
};

/* One pass; SP_CONFLICT when another instance holds the lock,
 * SP_UNAVAILABLE when the embedder failed (the pass stops there; what was
 * done stays), sp_db_job_stop's "stopped" when o->stop cut it short (the
 * articles left and the lexeme refresh wait for the next pass). Logs a
 * progress line every 100 articles and one at the end. A dry run calls
 * no remote embedder beyond its dimension probe. */
enum sp_rc sp_ai_sync_pass(struct sp_db *db, const struct sp_ai_sync_opts *o,
                           struct sp_ai_sync_counts *n, struct sp_problem *p);

#endif
