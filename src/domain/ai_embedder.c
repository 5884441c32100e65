/*
 * ai_embedder: the embedded or the remote embedder. See ai_embedder.h.
 */
#include "domain/ai_embedder.h"

#include <string.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/embed.h"
#include "core/redact.h"

/* Whether s ends with tail, a trailing "/" of s aside. */
static bool
ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    while (n > 0 && s[n - 1] == '/')
        n--;
    return n >= k && memcmp(s + n - k, tail, k) == 0;
}

void
sp_ai_embedder_init(struct sp_ai_embedder *e, const struct sp_config *cfg)
{
    memset(e, 0, sizeof(*e));
    const char *url = cfg->embeddings_url;
    if (url == NULL || *url == '\0') {
        e->model = SP_EMBED_MODEL;
        e->dim = SP_EMBED_DIM;
        e->batch = 1;
        return;
    }
    e->model = cfg->embeddings_model;
    e->batch = (size_t)cfg->embeddings_batch;
    e->remote = (struct sp_ai_endpoint){
        .svc = {.name = "embeddings service",
                .base_url = url,
                .key = cfg->embeddings_key ? cfg->embeddings_key : cfg->ai_api_key,
                .timeout_ms = cfg->embeddings_timeout_ms},
        .budget_ms = cfg->embeddings_timeout_ms,
        /* SUPPORT_EMBEDDINGS_URL may name the endpoint or its API base,
         * either with a trailing "/" (core/ai_client joins without
         * doubling it). */
        .path = ends_with(url, "/embeddings") ? "" : "/embeddings",
        .model = cfg->embeddings_model,
    };
}

bool
sp_ai_embedder_is_remote(const struct sp_ai_embedder *e)
{
    return e->remote.svc.base_url != NULL;
}

enum sp_rc
sp_ai_embed_texts(struct sp_arena *a, struct sp_ai_embedder *e, const char *const *texts,
                  size_t n, float **out, struct sp_problem *p)
{
    if (!sp_ai_embedder_is_remote(e)) {
        for (size_t i = 0; i < n; i++) {
            out[i] = sp_arena_alloc(a, SP_EMBED_DIM * sizeof(float));
            sp_embed_text(texts[i], strlen(texts[i]), out[i]);
        }
        return SP_OK;
    }
    /* API.md §9: nothing personal leaves; redacted copies are sent. */
    const char **sent = sp_arena_calloc(a, n + 1, sizeof(*sent));
    for (size_t i = 0; i < n; i++)
        sent[i] = sp_redact(a, texts[i], strlen(texts[i]), NULL);
    size_t dim;
    if (sp_ai_embeddings(a, &e->remote, sent, n, e->batch, out, &dim, p) != SP_OK)
        return p->rc;
    if (n > 0)
        e->dim = dim;
    return SP_OK;
}

const char *
sp_ai_vector_hex(struct sp_arena *a, const float *v, size_t dim)
{
    char *hex = sp_arena_alloc(a, 2 + 8 * dim + 1);
    sp_embed_to_hex_n(v, dim, hex);
    return hex;
}
