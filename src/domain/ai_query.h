/*
 * ai_query: one question to the AI proxy (API.md §9) answered and logged
 * — the question redacted (core/redact), the best passages retrieved
 * (ai_retrieval), a confidence from the retrieval, then the answer: by
 * the embedded model `local-retrieval` (extractive: the passages' best
 * sentences, the articles cited) or, when SUPPORT_AI_BASE_URL is set, by
 * the OpenAI-compatible provider grounded in the passages (ai_provider;
 * the articles it cites); below the confidence threshold either way a
 * plain "I don't know" — for a customer with how to reach an agent, for
 * staff (who are the agents) without. Every call,
 * failures included, is one row of support_ai_interactions (model,
 * redacted prompt and response, latency, confidence, tokens — the
 * provider's usage, or word counts for the local model — user and their
 * role, context, sources, error; a failure is logged under the configured
 * model with the usage the provider billed before it), the rows of the
 * tool runs made for it (logged as they ran) linked to it in the same
 * statement.
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

struct sp_ai_embedder;
struct sp_ai_provider;
struct sp_ai_tool_runner;
struct sp_ai_tool_calls;

struct sp_ai_query_in {
    const char *question;
    struct sp_ai_embedder *embedder;            /* the question's vector */
    const struct sp_ai_provider *provider;      /* NULL or not configured: local-retrieval */
    const struct sp_ai_tool_runner *tools;      /* NULL: no tools offered (ai_provider.h) */
    const struct sp_ai_tool_calls *tool_calls;  /* the runs behind tools, linked to the
                                                   query's row; NULL: none */
    const char *user_id;
    const char *role;                /* the caller's: customer | agent | admin (logged) */
    bool staff;                      /* the asker is staff (domain/party): the wording */
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

/* Answers in->question. A failure of retrieval or of the provider is
 * logged as a row with its error before it is returned (503
 * dependency_unavailable when the database, the embeddings endpoint or
 * the provider is away or too slow). */
enum sp_rc sp_ai_query(struct sp_ctx *ctx, const struct sp_ai_query_in *in,
                       struct sp_ai_answer *out, struct sp_problem *p);

/* The extractive answer of local-retrieval (pure, for the unit tests):
 * up to three units of the passages — sentences, or a table's rows
 * joined by "; " — the ones sharing most with the question, in at most
 * ~600 characters, of the top passage's article unless another's is
 * clearly better; false when no unit shares a term with it. */
struct sp_ai_passage;
struct sp_ai_extract {
    const char *text;
    size_t passages[3];   /* the passages quoted: the best unit's first */
    size_t npassages;
    double match;         /* 0..1, of the best unit: ¾ × the share of the
                           * question's terms it holds with its passage's
                           * heading path + ¼ × min(1, 2 × its cosine) */
};
bool sp_ai_extract(struct sp_arena *a, const char *question,
                   const struct sp_ai_passage *passages, size_t n, struct sp_ai_extract *out);

#endif
