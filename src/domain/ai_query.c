/*
 * ai_query: the local-retrieval model and the query log. See ai_query.h.
 *
 * Confidence is how well the best passage covers the question: the share
 * of the question's terms it contains (its frame words, "how long ...
 * take", are none: core/embed.h), or of their idf weight when that
 * is more (a passage holding the rare words of a question of everyday
 * ones; ai_retrieval.h) (weight 3/4), and its cosine
 * similarity (weight 1/4, doubled and capped at 1: a short question
 * against an 800-character passage rarely passes 0.5). A question none of
 * whose words the knowledge base holds has no candidate and confidence 0.
 * A local answer's confidence is its quote's own match when that is
 * lower (sp_ai_extract): the passage may fit and the sentence barely.
 * A passage that misses the question's rarest word (sp_ai_on_topic:
 * "zebra" of "How long does a zebra live?", in no article) and has none
 * of its words in its heading path has its confidence scaled by the idf
 * share it holds: the everyday words it matches ("live") are not what
 * the question is about, and counted as terms they made half of it.
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
#include "domain/ai_tool_calls.h"

#define PASSAGES 5            /* retrieved; answers use up to 3 of them */
#define ANSWER_PASSAGES 3
#define ANSWER_SENTENCES 3
#define ANSWER_MAX 600        /* bytes of sentences */
#define SENTENCES_MAX 96
#define SENTENCE_MIN 12

/* The answer when nothing fits, worded for whoever asked: a customer is
 * told how to reach a person, the way the question's context offers one
 * (a chat: ask for an agent there; a ticket: reply to it; both, or
 * neither, names both); staff are the persons, so they are told only
 * that the knowledge base has nothing (docs/API.md §9, "Wording"). */
#define DONT_KNOW_OPENING \
    "I don't know: I found nothing in our help articles that answers this. To reach a person, "
#define DONT_KNOW_CLOSING " and a support agent will answer you."
static const char dont_know_customer[] =
    DONT_KNOW_OPENING "ask for an agent in this chat (or reply to your ticket)" DONT_KNOW_CLOSING;
static const char dont_know_chat[] =
    DONT_KNOW_OPENING "ask for an agent in this chat" DONT_KNOW_CLOSING;
static const char dont_know_ticket[] = DONT_KNOW_OPENING "reply to your ticket" DONT_KNOW_CLOSING;
static const char dont_know_staff[] =
    "I don't know: I found nothing in the knowledge base about this.";

static const char *
dont_know(const struct sp_ai_query_in *in)
{
    if (in->staff)
        return dont_know_staff;
    if (in->session_id != 0 && in->ticket_id == 0)
        return dont_know_chat;
    if (in->ticket_id != 0 && in->session_id == 0)
        return dont_know_ticket;
    return dont_know_customer;
}

enum { IP_SESSION, IP_TICKET, IP_USER, IP_MODEL, IP_PROMPT, IP_RESPONSE, IP_LATENCY,
       IP_CONFIDENCE, IP_PROMPT_TOKENS, IP_COMPLETION_TOKENS, IP_ERROR, IP_SOURCES, IP_ROLE,
       IP_RUNS, IP_COUNT };
static const char *const log_names[IP_COUNT + 1] = {
    [IP_SESSION] = "session", [IP_TICKET] = "ticket", [IP_USER] = "user", [IP_MODEL] = "model",
    [IP_PROMPT] = "prompt", [IP_RESPONSE] = "response", [IP_LATENCY] = "latency",
    [IP_CONFIDENCE] = "confidence", [IP_PROMPT_TOKENS] = "prompt_tokens",
    [IP_COMPLETION_TOKENS] = "completion_tokens", [IP_ERROR] = "error",
    [IP_SOURCES] = "sources", [IP_ROLE] = "role", [IP_RUNS] = "runs", NULL};
/* The row commits without waiting for its WAL flush (synchronous_commit
 * off for this statement's own transaction only; nothing else is in it
 * but the links to its tool runs below):
 * the query log is a record of what the assistant said, not a customer's
 * write, and a crash of the database server may lose the last ~0.6 s of
 * rows (3 × wal_writer_delay) but never leaves them inconsistent. The
 * answer posted to a chat commits durably as every chat message.
 * docs/API.md §9, docs/performance.md "AI proxy".
 * The tool runs the model made (their rows, :runs) were logged as they
 * ran, before this row existed: the same statement links them to it
 * (query_interaction_id, sql/084), and their ai_tool_run events as a
 * direct run's event names the query it confirms — no second round trip
 * and no transaction held open while the provider thinks. Only rows of
 * tool runs of this user not linked yet: the ids are the runner's own. */
static struct sp_stmt log_stmt = SP_STMT_NAMED(
    "ai_interaction_log",
    "WITH q AS ("
    "  INSERT INTO support_ai_interactions (session_id, ticket_id, user_id, model, prompt,"
    "   response, latency_ms, confidence_score, prompt_tokens, completion_tokens, error,"
    "   sources, caller_role)"
    "  SELECT :session::bigint, :ticket::bigint, :user, :model, :prompt, :response,"
    "   :latency::integer, :confidence::real, :prompt_tokens::integer,"
    "   :completion_tokens::integer, :error, :sources::jsonb, :role"
    "  FROM (SELECT set_config('synchronous_commit', 'off', true)) async"
    "  RETURNING id"
    "), run AS ("
    "  UPDATE support_ai_interactions r SET query_interaction_id = q.id FROM q"
    "  WHERE r.id = ANY (:runs::bigint[]) AND r.tool_id IS NOT NULL AND r.user_id = :user"
    "   AND r.query_interaction_id IS NULL"
    "  RETURNING r.id"
    "), ev AS ("
    "  UPDATE support_ticket_events e"
    "  SET metadata = e.metadata || jsonb_build_object('query_interaction_id', q.id)"
    "  FROM q, run WHERE e.ticket_id = :ticket::bigint AND e.event_type = 'ai_tool_run'"
    "   AND e.metadata->>'interaction_id' = run.id::text"
    ") SELECT id FROM q",
    log_names, IP_COUNT);

/* --- the extractive answer ----------------------------------------------- */

#define ROW_MAX 200           /* bytes: a longer line is prose, not a table row */
#define TABLE_ROWS_MAX 64     /* rows of a table read as one; the next start another */
#define CLEARLY_BETTER 0.25   /* another article's unit beats the top article's by this */

/* A sentence, or a table of rows: a unit the answer quotes whole. */
struct sentence {
    const char *s;
    size_t len;
    double score;
    double coverage;   /* the share of the question's terms it holds */
    size_t which;      /* its passage */
    bool top_article;  /* its passage is of the top passage's article */
    size_t order;      /* passage, then place in it: the reading order */
};

struct scoring {
    const char *question;
    const float *q;             /* the question's vector */
    bool top_article;           /* the passage being read is of the top one's article */
    struct sentence *s;
    size_t n;
};

static bool
sentence_end(const char *t, size_t i, size_t len)
{
    char c = t[i];
    /* "。", "！", "？" (i at their last byte): CJK puts no space after. */
    static const char *const wide_ends[] = {"\u3002", "\uff01", "\uff1f"};
    for (size_t k = 0; i >= 2 && k < sizeof(wide_ends) / sizeof(wide_ends[0]); k++)
        if (memcmp(t + i - 2, wide_ends[k], 3) == 0)
            return true;
    return (c == '.' || c == '?' || c == '!') && (i + 1 == len || t[i + 1] == ' ');
}

/* Scores one unit (t, len) of passage which; kept when it shares a term
 * with the question. */
static void
score_unit(struct scoring *sc, const char *t, size_t len, size_t which, size_t at)
{
    if (sc->n == SENTENCES_MAX)
        return;
    double cov = sp_embed_coverage(sc->question, strlen(sc->question), t, len);
    if (cov <= 0)
        return;
    float v[SP_EMBED_DIM];
    sp_embed_text(t, len, v);
    sc->s[sc->n++] = (struct sentence){t, len,
                                       cov + 0.5 * sp_embed_cosine(sc->q, v) - 0.05 * (double)which,
                                       cov, which, sc->top_article, which * 100000 + at};
}

/* The sentences of a line of prose (12–600 bytes each). */
static void
score_prose(struct scoring *sc, const char *base, const char *t, size_t len, size_t which)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (!sentence_end(t, i, len) && i + 1 != len)
            continue;
        size_t from = start, to = i + 1;
        start = i + 1;
        while (from < to && t[from] == ' ')
            from++;
        while (to > from && t[to - 1] == ' ')
            to--;
        if (to - from >= SENTENCE_MIN && to - from <= ANSWER_MAX)
            score_unit(sc, t + from, to - from, which, (size_t)(t + from - base));
    }
}

/* A line that reads as a table row (its cells joined by spaces, as the
 * splitter has them) or a list item: short, with no sentence end. */
static bool
row_like(const char *t, size_t len)
{
    if (len == 0 || len > ROW_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (sentence_end(t, i, len))
            return false;
    return t[len - 1] != ':' && t[len - 1] != ';';   /* a line that leads into a list */
}

/* A table: rows (lines) from..to of passage text t, n of them. Its rows
 * joined by "; " are one unit, so the answer quotes the table whole,
 * header first (QA: each row was too short to be a sentence, so a fee
 * table never answered "cancellation fee"); one too long for an answer
 * gives a unit a row. */
static void
score_table(struct sp_arena *a, struct scoring *sc, const char *t, const size_t *starts,
            const size_t *lens, size_t n, size_t which)
{
    struct sp_buf b;
    sp_buf_init(&b, a, ANSWER_MAX + 16);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sp_buf_puts(&b, "; ");
        sp_buf_append(&b, t + starts[i], lens[i]);
    }
    if (b.len <= ANSWER_MAX) {
        score_unit(sc, b.data, b.len, which, starts[0]);
        return;
    }
    for (size_t i = 0; i < n; i++)
        score_unit(sc, t + starts[i], lens[i], which, starts[i]);
}

/* The units of one passage, scored against the question: its lines of
 * prose cut into sentences; a run of two or more row-like lines, a
 * table (a lone one is prose). */
static void
score_passage(struct sp_arena *a, struct scoring *sc, const struct sp_ai_passage *ps,
              size_t which)
{
    const char *t = ps->text;
    size_t len = strlen(t), starts[TABLE_ROWS_MAX], lens[TABLE_ROWS_MAX], rows = 0;
    for (size_t from = 0; from <= len;) {
        const char *nl = memchr(t + from, '\n', len - from);
        size_t end = nl != NULL ? (size_t)(nl - t) : len, f = from, e = end;
        while (f < e && t[f] == ' ')
            f++;
        while (e > f && t[e - 1] == ' ')
            e--;
        bool row = row_like(t + f, e - f);
        if ((!row || rows == TABLE_ROWS_MAX) && rows > 0) {   /* the run ends */
            if (rows > 1)
                score_table(a, sc, t, starts, lens, rows, which);
            else
                score_prose(sc, t, t + starts[0], lens[0], which);
            rows = 0;
        }
        if (row) {
            starts[rows] = f;
            lens[rows++] = e - f;
        } else if (e > f) {
            score_prose(sc, t, t + f, e - f, which);
        }
        from = end + 1;
    }
    if (rows > 1)
        score_table(a, sc, t, starts, lens, rows, which);
    else if (rows == 1)
        score_prose(sc, t, t + starts[0], lens[0], which);
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

/* The best sentences, distinct (chunks overlap), within ANSWER_MAX. The
 * top passage's article answers: another article's passage only when
 * its sentence holds more of the question's terms than the top passage's
 * best and scores clearly above it (QA: "cancellation fee" quoted another
 * article's "late checkout fee" sentence over the top article's fee
 * table), or when the top passage has none. */
static size_t
pick(struct sentence *s, size_t n, struct sentence *chosen)
{
    qsort(s, n, sizeof(*s), by_score);
    const struct sentence *top = NULL;
    for (size_t i = 0; i < n && top == NULL; i++)
        if (s[i].top_article)
            top = &s[i];
    size_t k = 0, total = 0;
    for (size_t i = 0; i < n && k < ANSWER_SENTENCES; i++) {
        if (top != NULL && !s[i].top_article &&
            (s[i].coverage <= top->coverage || s[i].score < top->score + CLEARLY_BETTER))
            continue;
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = chosen[j].len == s[i].len && memcmp(chosen[j].s, s[i].s, s[i].len) == 0;
        if (dup || total + s[i].len > ANSWER_MAX)
            continue;
        chosen[k++] = s[i];
        total += s[i].len + 1;
    }
    return k;
}

/* How well the answer's best unit answers: ¾ × the share of the
 * question's terms it holds, read with its passage's heading path (a
 * sentence under "Cancellation fee" speaks of one), + ¼ × min(1, 2 × its
 * cosine). */
static double
unit_match(struct sp_arena *a, const char *question, const float *q, const struct sentence *u,
           const struct sp_ai_passage *ps)
{
    const char *in_place = sp_arena_sprintf(a, "%s\n%.*s", ps->heading_path, (int)u->len, u->s);
    double cov = sp_embed_coverage(question, strlen(question), in_place, strlen(in_place));
    float v[SP_EMBED_DIM];
    sp_embed_text(u->s, u->len, v);
    double cos = 2 * sp_embed_cosine(q, v);
    double c = 0.75 * cov + 0.25 * (cos < 0 ? 0 : cos < 1 ? cos : 1);
    return c > 1 ? 1 : c;
}

bool
sp_ai_extract(struct sp_arena *a, const char *question, const struct sp_ai_passage *passages,
              size_t n, struct sp_ai_extract *out)
{
    memset(out, 0, sizeof(*out));
    float q[SP_EMBED_DIM];
    sp_embed_text(question, strlen(question), q);
    struct scoring sc = {question, q, true, sp_arena_calloc(a, SENTENCES_MAX, sizeof(*sc.s)), 0};
    for (size_t i = 0; i < n && i < ANSWER_PASSAGES; i++) {
        sc.top_article = strcmp(passages[i].slug, passages[0].slug) == 0;
        if (i == 0 || passages[i].score >= 0.5 * passages[0].score)
            score_passage(a, &sc, &passages[i], i);
    }
    struct sentence chosen[ANSWER_SENTENCES];
    size_t k = pick(sc.s, sc.n, chosen);
    if (k == 0)
        return false;
    /* The best one's passage first, then the others' in rank order. */
    out->passages[out->npassages++] = chosen[0].which;
    for (size_t w = 0; w < ANSWER_PASSAGES; w++) {
        bool quoted = false;
        for (size_t i = 1; i < k && !quoted; i++)
            quoted = chosen[i].which == w && w != chosen[0].which;
        if (quoted)
            out->passages[out->npassages++] = w;
    }
    out->match = unit_match(a, question, q, &chosen[0], &passages[chosen[0].which]);
    qsort(chosen, k, sizeof(*chosen), by_order);
    struct sp_buf b;
    sp_buf_init(&b, a, ANSWER_MAX + 16);
    for (size_t i = 0; i < k; i++) {
        if (i > 0)
            sp_buf_putc(&b, ' ');
        sp_buf_append(&b, chosen[i].s, chosen[i].len);
    }
    out->text = b.data;
    return true;
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

/* The article of passage i, once. */
static void
cite_one(const struct sp_ai_passage *ps, size_t i, struct sp_ai_answer *out)
{
    bool seen = false;
    for (size_t j = 0; j < out->nsources && !seen; j++)
        seen = strcmp(out->sources[j].slug, ps[i].slug) == 0;
    if (!seen && out->nsources < SP_AI_SOURCES_MAX)
        out->sources[out->nsources++] = (struct sp_ai_source){ps[i].slug, ps[i].title,
                                                               ps[i].score};
}

/* The articles of the passages a provider's answer drew on when it cited
 * none: those the local model reads, best first (ones scoring at least
 * half the best). */
static void
cite(const struct sp_ai_passage *ps, size_t n, struct sp_ai_answer *out)
{
    for (size_t i = 0; i < n && i < ANSWER_PASSAGES; i++) {
        if (i > 0 && ps[i].score < 0.5 * ps[0].score)
            break;
        cite_one(ps, i, out);
    }
}

/* on_topic: the top passage's sp_ai_on_topic — below 1 when it misses
 * the question's rarest word, and then its confidence is scaled by it. */
static double
confidence(const char *question, const struct sp_ai_passage *top, double on_topic)
{
    size_t ql = strlen(question), pl = strlen(top->heading_path), tl = strlen(top->text);
    double cov = sp_embed_coverage(question, ql, top->heading_path, pl);
    double body = sp_embed_coverage(question, ql, top->text, tl);
    cov = body > cov ? body : cov;
    cov = top->coverage > cov ? top->coverage : cov;
    double cos = top->cosine > 0 ? 2 * top->cosine : 0;
    double c = (0.75 * cov + 0.25 * (cos < 1 ? cos : 1)) * on_topic;
    return c < 0 ? 0 : c > 1 ? 1 : c;
}

/* The answer of local-retrieval from the passages; returns the
 * retrieval's confidence (whether the passages fit at all). The answer's
 * is its best sentence's own match, at most the retrieval's: a sentence
 * that barely answers is not reported as sure (QA: 0.8058 for a quote
 * of another article that shared one word of the question). */
static double
compose(struct sp_arena *a, const struct sp_ai_query_in *in, const char *question,
        const struct sp_ai_passage *ps, const double *on_topic, size_t n,
        struct sp_ai_answer *out)
{
    out->model = SP_AI_MODEL_LOCAL;
    double retrieval = n > 0 ? confidence(question, &ps[0], on_topic[0]) : 0;
    out->confidence = retrieval;
    struct sp_ai_extract x = {0};
    if (retrieval >= in->min_confidence && sp_ai_extract(a, question, ps, n, &x) &&
        x.match < retrieval)
        out->confidence = x.match;
    out->grounded = x.text != NULL && out->confidence >= in->min_confidence;
    out->answer = out->grounded ? x.text : dont_know(in);
    for (size_t i = 0; out->grounded && i < x.npassages; i++)
        cite_one(ps, x.passages[i], out);
    return retrieval;
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

/* The rows of the tool runs made for the query (a bigint[]), NULL when
 * none was logged. */
static const char *
run_rows(struct sp_arena *a, const struct sp_ai_tool_calls *calls)
{
    if (calls == NULL)
        return NULL;
    long long rows[SP_AI_QUERY_CALLS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < calls->nruns; i++)
        if (calls->runs[i].interaction_id != 0)
            rows[n++] = calls->runs[i].interaction_id;
    return n > 0 ? sp_db_int_array(a, rows, n) : NULL;
}

/* One row of the query log, its tool runs linked to it; what is stored
 * is redacted. */
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
        [IP_ERROR] = error, [IP_SOURCES] = error ? NULL : sources_json(a, out),
        [IP_ROLE] = in->role, [IP_RUNS] = run_rows(a, in->tool_calls)};
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
    enum sp_rc rc = sp_ai_provider_answer(ctx->arena, in->provider, prompt, in->staff, ps, n,
                                          in->tools, &g, p);
    /* Failed or not, the row has what the provider billed: the rounds
     * before a failure were answered (and counted) too. */
    out->model = g.model;
    out->prompt_tokens = g.prompt_tokens;
    out->completion_tokens = g.completion_tokens;
    if (rc != SP_OK)
        return rc;
    out->grounded = g.answer != NULL && !says_dont_know(g.answer);
    out->answer = g.answer != NULL ? g.answer : dont_know(in);
    for (size_t i = 0; i < n && i < SP_AI_CONTEXT_PASSAGES; i++)
        if (g.cited[i])
            cite_one(ps, i, out);
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
    const char *prompt = sp_redact(ctx->arena, in->question, strlen(in->question), NULL);
    /* Until an answer says otherwise, a failure is the configured
     * model's: with a provider, the provider's (its usage, none yet);
     * without, the local model's (word counts). */
    bool remote = in->provider != NULL && sp_ai_provider_configured(in->provider);
    out->model = remote ? in->provider->ep.model : SP_AI_MODEL_LOCAL;
    out->prompt_tokens = remote ? 0 : words(prompt);
    struct sp_ai_passage *ps;
    double *on_topic;
    size_t n;
    if (sp_ai_retrieve(ctx, in->embedder, prompt, PASSAGES, &ps, &on_topic, &n, p) != SP_OK)
        return log_failure(ctx, in, prompt, out, &t0, p);
    double retrieval = compose(ctx->arena, in, prompt, ps, on_topic, n, out);
    /* Below the threshold the provider is not asked — with no passage
     * that fits it could only guess — unless it has tools to look the
     * answer up with (docs/API.md §9). */
    bool ask = remote && (retrieval >= in->min_confidence || in->tools != NULL);
    if (ask) {
        out->nsources = 0;
        out->confidence = retrieval;   /* the provider reads the passages, not our quote */
        if (generate(ctx, in, prompt, ps, n, out, p) != SP_OK)
            return log_failure(ctx, in, prompt, out, &t0, p);
    } else {
        out->prompt_tokens = words(prompt);
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
