/*
 * ai_query: one question to the AI proxy (API.md §9) answered by the
 * embedded model `local-retrieval` and logged — the question redacted
 * (core/redact), the best passages retrieved (ai_retrieval), an
 * extractive answer composed from their best sentences with the articles
 * cited and a confidence from the retrieval, or, below the confidence
 * threshold, a plain "I don't know" that says how to reach an agent; and
 * every call, failures included, one row of support_ai_interactions
 * (model, redacted prompt and response, latency, confidence, word counts
 * as tokens, user, context, sources, error).
 * The context (who may ask about which chat or ticket) is the caller's to
 * check; posting the answer to a chat is the caller's too (a message of
 * chat_sessions, published by chat_bus).
 * Must not: know HTTP.
 */
#ifndef SP_AI_QUERY_H
#define SP_AI_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"
#include "domain/ctx.h"

#define SP_AI_MODEL_LOCAL "local-retrieval"
#define SP_AI_QUESTION_MAX 4000      /* characters (API.md §9) */
#define SP_AI_SOURCES_MAX 3

struct sp_ai_query_in {
    const char *question;
    const char *user_id;
    long long session_id;            /* numeric ids of the context; 0 = none */
    long long ticket_id;
    double min_confidence;           /* SUPPORT_AI_MIN_CONFIDENCE */
};

struct sp_ai_source {
    const char *slug, *title;
    double score;
};

struct sp_ai_answer {
    long long interaction_id;
    const char *answer;
    bool grounded;                   /* false: the "I don't know" answer */
    struct sp_ai_source sources[SP_AI_SOURCES_MAX];
    size_t nsources;
    double confidence;
    const char *model;
    long latency_ms;
    long prompt_tokens, completion_tokens;
};

/* Answers in->question. A failure of retrieval is logged as a row with
 * its error before it is returned (503 dependency_unavailable when the
 * database is away). */
enum sp_rc sp_ai_query(struct sp_ctx *ctx, const struct sp_ai_query_in *in,
                       struct sp_ai_answer *out, struct sp_problem *p);

/* The extractive answer of local-retrieval (pure, for the unit tests):
 * up to three sentences of the passages, the ones sharing most with the
 * question, in at most ~600 characters; NULL when no sentence shares a
 * term with it. */
struct sp_ai_passage;
const char *sp_ai_extract(struct sp_arena *a, const char *question,
                          const struct sp_ai_passage *passages, size_t n);

#endif
