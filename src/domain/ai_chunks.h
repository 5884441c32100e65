/*
 * ai_chunks: the knowledge base cut into passages for retrieval (API.md
 * §9, the knowledge-embedding-sync job of §12) — the splitter (pure:
 * markdown along headings and paragraphs into ~800-character chunks with
 * a small overlap, each with its heading path) and the sync pass that
 * keeps support_article_chunks in step with the published articles:
 * re-chunks articles whose version changed, embeds only chunks whose
 * content hash changed, drops the chunks of unpublished articles
 * (deleted ones go by ON DELETE CASCADE). One article per transaction;
 * one instance at a time cluster-wide (advisory lock).
 *
 * sp_ai_embed() is the one place a vector is made, for passages and
 * questions alike: the embedded hashed embedder (core/embed) today; an
 * OpenAI-compatible /v1/embeddings client (SUPPORT_EMBEDDINGS_URL) plugs
 * in there.
 * Must not: know HTTP.
 */
#ifndef SP_AI_CHUNKS_H
#define SP_AI_CHUNKS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/embed.h"
#include "core/problem.h"

struct sp_arena;
struct sp_db;

#define SP_AI_CHUNK_TARGET 800     /* characters (bytes) a chunk aims at */
#define SP_AI_CHUNK_OVERLAP 120    /* at most this much of the previous chunk
                                    * of the same section starts the next */
#define SP_AI_SYNC_LOCK_KEY 0x5350414945424544LL /* "SPAIEBED" */

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

/* The vector of text (see above). */
void sp_ai_embed(const char *text, size_t len, float out[SP_EMBED_DIM]);
/* What sp_ai_embed() embeds for a chunk: its heading path and its text. */
const char *sp_ai_chunk_document(struct sp_arena *a, const struct sp_ai_chunk *c);

struct sp_ai_sync_opts {
    bool dry_run;               /* count what would change, change nothing */
    bool full;                  /* every published article, every chunk re-embedded */
    volatile sig_atomic_t *stop;
};

struct sp_ai_sync_counts {
    long articles;              /* articles re-chunked */
    long embedded, kept, deleted;  /* chunks */
    long unpublished;           /* chunks of unpublished articles dropped */
    long errors;
};

/* One pass; SP_CONFLICT when another instance holds the lock. Logs a
 * progress line every 100 articles and one at the end. */
enum sp_rc sp_ai_sync_pass(struct sp_db *db, const struct sp_ai_sync_opts *o,
                           struct sp_ai_sync_counts *n, struct sp_problem *p);

#endif
