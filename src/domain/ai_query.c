/*
 * ai_query: the local-retrieval model and the query log. See ai_query.h.
 *
 * Confidence is how well the best passage covers the question: the share
 * of the question's terms it contains, or of their idf weight when that
 * is more (a passage holding the rare words of a question of everyday
 * ones; ai_retrieval.h) (weight 3/4), and its cosine
 * similarity (weight 1/4, doubled and capped at 1: a short question
 * against an 800-character passage rarely passes 0.5). A question none of
 * whose words the knowledge base holds has no candidate and confidence 0.
 */
#include "domain/ai_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/embed.h"
#include "core/json_writer.h"
#include "core/redact.h"
#include "db/db.h"
#include "domain/ai_provider.h"
#include "domain/ai_retrieval.h"

#define PASSAGES 5            /* retrieved; answers use up to 3 of them */
#define ANSWER_PASSAGES 3
#define ANSWER_SENTENCES 3
#define ANSWER_MAX 600        /* bytes of sentences */
#define SENTENCES_MAX 96
#define SENTENCE_MIN 12

/* The answer when nothing fits, worded for whoever asked: a customer is
 * told how to reach a person; staff are the persons, so they are told
 * only that the knowledge base has nothing (docs/API.md §9, "Wording"). */
static const char dont_know_customer[] =
    "I don't know: I found nothing in our help articles that answers this. "
    "To reach a person, ask for an agent in this chat (or reply to your ticket) "
    "and a support agent will answer you.";
static const char dont_know_staff[] =
    "I don't know: I found nothing in the knowledge base about this.";

static const char *
dont_know(bool staff)
{
    return staff ? dont_know_staff : dont_know_customer;
}

enum { IP_SESSION, IP_TICKET, IP_USER, IP_MODEL, IP_PROMPT, IP_RESPONSE, IP_LATENCY,
       IP_CONFIDENCE, IP_PROMPT_TOKENS, IP_COMPLETION_TOKENS, IP_ERROR, IP_SOURCES, IP_COUNT };
static const char *const log_names[IP_COUNT + 1] = {
    [IP_SESSION] = "session", [IP_TICKET] = "ticket", [IP_USER] = "user", [IP_MODEL] = "model",
    [IP_PROMPT] = "prompt", [IP_RESPONSE] = "response", [IP_LATENCY] = "latency",
    [IP_CONFIDENCE] = "confidence", [IP_PROMPT_TOKENS] = "prompt_tokens",
    [IP_COMPLETION_TOKENS] = "completion_tokens", [IP_ERROR] = "error",
    [IP_SOURCES] = "sources", NULL};
/* The row commits without waiting for its WAL flush (synchronous_commit
 * off for this statement's own transaction only; nothing else is in it):
 * the query log is a record of what the assistant said, not a customer's
 * write, and a crash of the database server may lose the last ~0.6 s of
 * rows (3 × wal_writer_delay) but never leaves them inconsistent. The
 * answer posted to a chat commits durably as every chat message.
 * docs/API.md §9, docs/performance.md "AI proxy". */
static struct sp_stmt log_stmt = SP_STMT_NAMED(
    "ai_interaction_log",
    "INSERT INTO support_ai_interactions (session_id, ticket_id, user_id, model, prompt,"
    " response, latency_ms, confidence_score, prompt_tokens, completion_tokens, error, sources)"
    " SELECT :session::bigint, :ticket::bigint, :user, :model, :prompt, :response,"
    " :latency::integer, :confidence::real, :prompt_tokens::integer,"
    " :completion_tokens::integer, :error, :sources::jsonb"
    " FROM (SELECT set_config('synchronous_commit', 'off', true)) async"
    " RETURNING id",
    log_names, IP_COUNT);

/* --- the extractive answer ----------------------------------------------- */

struct sentence {
    const char *s;
    size_t len;
    double score;
    size_t order;      /* passage, then place in it: the reading order */
};

static bool
sentence_end(const char *t, size_t i, size_t len)
{
    char c = t[i];
    if (c == '\n')
        return true;
    /* "。", "！", "？" (i at their last byte): CJK puts no space after. */
    static const char *const wide_ends[] = {"\u3002", "\uff01", "\uff1f"};
    for (size_t k = 0; i >= 2 && k < sizeof(wide_ends) / sizeof(wide_ends[0]); k++)
        if (memcmp(t + i - 2, wide_ends[k], 3) == 0)
            return true;
    return (c == '.' || c == '?' || c == '!') && (i + 1 == len || t[i + 1] == ' ' ||
                                                  t[i + 1] == '\n');
}

/* The sentences of one passage, scored against the question, appended
 * to s[*n]. */
static void
score_sentences(const char *question, const float *q, const struct sp_ai_passage *ps,
                size_t which, struct sentence *s, size_t *n)
{
    const char *t = ps->text;
    size_t len = strlen(t), start = 0;
    for (size_t i = 0; i < len && *n < SENTENCES_MAX; i++) {
        if (!sentence_end(t, i, len) && i + 1 != len)
            continue;
        size_t from = start, to = i + 1;
        start = i + 1;
        while (from < to && (t[from] == ' ' || t[from] == '\n'))
            from++;
        while (to > from && (t[to - 1] == ' ' || t[to - 1] == '\n'))
            to--;
        if (to - from < SENTENCE_MIN || to - from > ANSWER_MAX)
            continue;
        double cov = sp_embed_coverage(question, strlen(question), t + from, to - from);
        if (cov <= 0)
            continue;
        float v[SP_EMBED_DIM];
        sp_embed_text(t + from, to - from, v);
        s[*n] = (struct sentence){t + from, to - from,
                                  cov + 0.5 * sp_embed_cosine(q, v) - 0.05 * (double)which,
                                  which * 100000 + from};
        (*n)++;
    }
}

static int
by_score(const void *x, const void *y)
{
    const struct sentence *a = x, *b = y;
    return sp_ai_rank_cmp(a->score, b->score, (long long)a->order, (long long)b->order);
}

static int
by_order(const void *x, const void *y)
{
    const struct sentence *a = x, *b = y;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* The best sentences, distinct (chunks overlap), within ANSWER_MAX. */
static size_t
pick(struct sentence *s, size_t n, struct sentence *chosen)
{
    qsort(s, n, sizeof(*s), by_score);
    size_t k = 0, total = 0;
    for (size_t i = 0; i < n && k < ANSWER_SENTENCES; i++) {
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = chosen[j].len == s[i].len && memcmp(chosen[j].s, s[i].s, s[i].len) == 0;
        if (dup || total + s[i].len > ANSWER_MAX)
            continue;
        chosen[k++] = s[i];
        total += s[i].len + 1;
    }
    qsort(chosen, k, sizeof(*chosen), by_order);
    return k;
}

const char *
sp_ai_extract(struct sp_arena *a, const char *question, const struct sp_ai_passage *passages,
              size_t n)
{
    float q[SP_EMBED_DIM];
    sp_embed_text(question, strlen(question), q);
    struct sentence *s = sp_arena_calloc(a, SENTENCES_MAX, sizeof(*s));
    size_t ns = 0;
    for (size_t i = 0; i < n && i < ANSWER_PASSAGES; i++)
        if (i == 0 || passages[i].score >= 0.5 * passages[0].score)
            score_sentences(question, q, &passages[i], i, s, &ns);
    struct sentence chosen[ANSWER_SENTENCES];
    size_t k = pick(s, ns, chosen);
    if (k == 0)
        return NULL;
    struct sp_buf b;
    sp_buf_init(&b, a, ANSWER_MAX + 16);
    for (size_t i = 0; i < k; i++) {
        if (i > 0)
            sp_buf_putc(&b, ' ');
        sp_buf_append(&b, chosen[i].s, chosen[i].len);
    }
    return b.data;
}

/* --- the command ------------------------------------------------------------ */

static long
elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static long
words(const char *s)
{
    long n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
        n += !sp && !in;
        in = !sp;
    }
    return n;
}

/* Whether a provider's answer is its "I don't know" (the instructions
 * ask for one when the passages do not answer): it starts so, as ours
 * does, apostrophe straight or curly, any case. */
static bool
says_dont_know(const char *answer)
{
    static const char *const openings[] = {"i don't know", "i don\xe2\x80\x99t know",
                                           "i do not know"};
    answer += strspn(answer, " \t\r\n\"*");
    for (size_t i = 0; i < sizeof(openings) / sizeof(openings[0]); i++)
        if (strncasecmp(answer, openings[i], strlen(openings[i])) == 0)
            return true;
    return false;
}

/* The articles of the passages the answer drew on, best first, once each. */
static void
cite(const struct sp_ai_passage *ps, size_t n, struct sp_ai_answer *out)
{
    for (size_t i = 0; i < n && i < ANSWER_PASSAGES && out->nsources < SP_AI_SOURCES_MAX; i++) {
        if (i > 0 && ps[i].score < 0.5 * ps[0].score)
            break;
        bool seen = false;
        for (size_t j = 0; j < out->nsources && !seen; j++)
            seen = strcmp(out->sources[j].slug, ps[i].slug) == 0;
        if (!seen)
            out->sources[out->nsources++] = (struct sp_ai_source){ps[i].slug, ps[i].title,
                                                                   ps[i].score};
    }
}

static double
confidence(const char *question, const struct sp_ai_passage *top)
{
    size_t ql = strlen(question), pl = strlen(top->heading_path), tl = strlen(top->text);
    double cov = sp_embed_coverage(question, ql, top->heading_path, pl);
    double body = sp_embed_coverage(question, ql, top->text, tl);
    cov = body > cov ? body : cov;
    cov = top->coverage > cov ? top->coverage : cov;
    double cos = top->cosine > 0 ? 2 * top->cosine : 0;
    double c = 0.75 * cov + 0.25 * (cos < 1 ? cos : 1);
    return c < 0 ? 0 : c > 1 ? 1 : c;
}

/* The answer of local-retrieval from the passages. */
static void
compose(struct sp_arena *a, const struct sp_ai_query_in *in, const char *question,
        const struct sp_ai_passage *ps, size_t n, struct sp_ai_answer *out)
{
    out->model = SP_AI_MODEL_LOCAL;
    out->confidence = n > 0 ? confidence(question, &ps[0]) : 0;
    const char *text = out->confidence >= in->min_confidence
                           ? sp_ai_extract(a, question, ps, n) : NULL;
    out->grounded = text != NULL;
    out->answer = text != NULL ? text : dont_know(in->staff);
    if (out->grounded)
        cite(ps, n, out);
}

static const char *
sources_json(struct sp_arena *a, const struct sp_ai_answer *out)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 256);
    struct sp_jw w;
    sp_jw_begin_array(&w, &b);
    for (size_t i = 0; i < out->nsources; i++) {
        sp_jw_object(&w);
        sp_jw_kstr(&w, "slug", out->sources[i].slug);
        sp_jw_kfixed(&w, "score", out->sources[i].score, 4);
        sp_jw_end(&w);
    }
    sp_jw_end(&w);
    return b.data;
}

/* One row of the query log; what is stored is redacted. */
static enum sp_rc
log_row(struct sp_ctx *ctx, const struct sp_ai_query_in *in, const char *prompt,
        struct sp_ai_answer *out, const char *error, struct sp_problem *p)
{
    struct sp_arena *a = ctx->arena;
    const char *response =
        out->answer ? sp_redact(a, out->answer, strlen(out->answer), NULL) : NULL;
    const char *params[IP_COUNT] = {
        [IP_SESSION] = in->session_id ? sp_arena_sprintf(a, "%lld", in->session_id) : NULL,
        [IP_TICKET] = in->ticket_id ? sp_arena_sprintf(a, "%lld", in->ticket_id) : NULL,
        [IP_USER] = in->user_id, [IP_MODEL] = out->model, [IP_PROMPT] = prompt,
        [IP_RESPONSE] = response, [IP_LATENCY] = sp_arena_sprintf(a, "%ld", out->latency_ms),
        [IP_CONFIDENCE] = error ? NULL : sp_arena_sprintf(a, "%.4f", out->confidence),
        [IP_PROMPT_TOKENS] = sp_arena_sprintf(a, "%ld", out->prompt_tokens),
        [IP_COMPLETION_TOKENS] = sp_arena_sprintf(a, "%ld", out->completion_tokens),
        [IP_ERROR] = error, [IP_SOURCES] = error ? NULL : sources_json(a, out)};
    PGresult *r = sp_db_exec(ctx->db, a, &log_stmt, params, p);
    if (r == NULL)
        return p->rc;
    out->interaction_id = sp_db_int(r, 0, 0);
    return SP_OK;
}

/* A failed call: its row (with the problem as the error), then the problem. */
static enum sp_rc
log_failure(struct sp_ctx *ctx, const struct sp_ai_query_in *in, const char *prompt,
            struct sp_ai_answer *out, const struct timespec *t0, struct sp_problem *p)
{
    out->latency_ms = elapsed_ms(t0);
    out->answer = NULL;
    struct sp_problem ignored;
    sp_problem_init(&ignored);
    const char *error = p->code ? p->code : "retrieval_failed";
    if (p->detail[0] != '\0')
        error = sp_arena_sprintf(ctx->arena, "%s: %s", error, p->detail);
    log_row(ctx, in, prompt, out, error, &ignored);
    return p->rc;
}

/* The provider's answer from the passages: its text (none: "I don't
 * know"), the articles of the passages it cites (none cited: those the
 * local model would cite), the server's token counts. */
static enum sp_rc
generate(struct sp_ctx *ctx, const struct sp_ai_query_in *in, const char *prompt,
         const struct sp_ai_passage *ps, size_t n, struct sp_ai_answer *out,
         struct sp_problem *p)
{
    struct sp_ai_generation g;
    out->model = in->provider->ep.model;
    if (sp_ai_provider_answer(ctx->arena, in->provider, prompt, in->staff, ps, n, in->tools, &g,
                              p) != SP_OK)
        return p->rc;
    out->model = g.model;
    out->prompt_tokens = g.prompt_tokens;
    out->completion_tokens = g.completion_tokens;
    out->grounded = g.answer != NULL && !says_dont_know(g.answer);
    out->answer = g.answer != NULL ? g.answer : dont_know(in->staff);
    for (size_t i = 0; i < n && i < SP_AI_CONTEXT_PASSAGES && out->nsources < SP_AI_SOURCES_MAX;
         i++) {
        bool seen = false;
        for (size_t j = 0; j < out->nsources && !seen; j++)
            seen = strcmp(out->sources[j].slug, ps[i].slug) == 0;
        if (g.cited[i] && !seen)
            out->sources[out->nsources++] = (struct sp_ai_source){ps[i].slug, ps[i].title,
                                                                  ps[i].score};
    }
    /* Nothing cited: the passages the local model would cite, if any fit. */
    if (g.ncited == 0 && out->grounded && out->confidence >= in->min_confidence)
        cite(ps, n, out);
    if (!out->grounded)
        out->nsources = 0;
    return SP_OK;
}

enum sp_rc
sp_ai_query(struct sp_ctx *ctx, const struct sp_ai_query_in *in, struct sp_ai_answer *out,
            struct sp_problem *p)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(out, 0, sizeof(*out));
    out->model = SP_AI_MODEL_LOCAL;
    const char *prompt = sp_redact(ctx->arena, in->question, strlen(in->question), NULL);
    out->prompt_tokens = words(prompt);
    struct sp_ai_passage *ps;
    size_t n;
    if (sp_ai_retrieve(ctx, in->embedder, prompt, PASSAGES, &ps, &n, p) != SP_OK)
        return log_failure(ctx, in, prompt, out, &t0, p);
    compose(ctx->arena, in, prompt, ps, n, out);
    /* Below the threshold the provider is not asked — with no passage
     * that fits it could only guess — unless it has tools to look the
     * answer up with (docs/API.md §9). */
    bool ask = in->provider != NULL && sp_ai_provider_configured(in->provider) &&
               (out->confidence >= in->min_confidence || in->tools != NULL);
    if (ask) {
        out->nsources = 0;
        if (generate(ctx, in, prompt, ps, n, out, p) != SP_OK)
            return log_failure(ctx, in, prompt, out, &t0, p);
    } else {
        out->completion_tokens = words(out->answer);
    }
    /* "I don't know" is no confidence, however well the retrieval
     * matched (the threshold decided above, on the retrieval's): a
     * client that trusts a high one must not get it with no answer. */
    if (!out->grounded)
        out->confidence = 0;
    out->latency_ms = elapsed_ms(&t0);
    return log_row(ctx, in, prompt, out, NULL, p);
}
