/*
 * ai_embedder: which embedder makes the knowledge base's vectors and the
 * questions' (API.md §9, the knowledge-embedding-sync job of §12) — the
 * embedded hashed-512-v2 (core/embed, in process) by default, or with
 * SUPPORT_EMBEDDINGS_URL an OpenAI-compatible embeddings endpoint
 * (core/ai_client: batches, retries), whose texts are redacted (e-mail
 * addresses, phone and card numbers) before they leave.
 *
 * A vector is only ever compared with vectors of the same model and
 * dimension: support_article_chunks keeps the model per row and the
 * dimension is the packed vector's length (docs/API.md §9).
 * Must not: know HTTP or SQL.
 */
#ifndef SP_AI_EMBEDDER_H
#define SP_AI_EMBEDDER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ai_client.h"
#include "core/problem.h"

struct sp_arena;
struct sp_config;

struct sp_ai_embedder {
    const char *model;            /* stored with every vector it makes */
    size_t dim;                   /* 512 embedded; remote: 0 until it first answers */
    size_t batch;                 /* texts per request (remote) */
    struct sp_ai_endpoint remote; /* remote.svc.base_url NULL: the embedded one */
};

/* From the settings (pointers into cfg, which must outlive e). */
void sp_ai_embedder_init(struct sp_ai_embedder *e, const struct sp_config *cfg);
bool sp_ai_embedder_is_remote(const struct sp_ai_embedder *e);

/* The vectors of texts[n]: out[i] (arena) of e->dim floats, L2-normalised;
 * a remote answer sets e->dim. SP_UNAVAILABLE when the endpoint failed. */
enum sp_rc sp_ai_embed_texts(struct sp_arena *a, struct sp_ai_embedder *e,
                             const char *const *texts, size_t n, float **out,
                             struct sp_problem *p);

/* A vector's bytea input text ("\x" + hex of float32 LE), arena-owned. */
const char *sp_ai_vector_hex(struct sp_arena *a, const float *v, size_t dim);

#endif
