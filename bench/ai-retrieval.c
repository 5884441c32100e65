/*
 * ai-retrieval: the retrieval half of bench/ai — sp_ai_retrieve() (the
 * question embedded, full-text candidates, cosine in C) timed in process
 * over one database connection, as a worker runs it, with no HTTP around
 * it; and its quality: the share of labelled questions whose best passage
 * is from the right article.
 *
 * usage: ai-retrieval QUESTIONS ROUNDS
 *   QUESTIONS: lines "slug<TAB>question" (slug "-": unlabelled).
 *   Settings from the environment as every program (SUPPORT_DATABASE_URL,
 *   SUPPORT_EMBEDDINGS_URL, …). Runs every question ROUNDS times (the
 *   first round unmeasured: it prepares the statement and warms caches)
 *   and prints one JSON line: calls, mean/p50/p90/p99/max ms, labelled,
 *   top1 (right article first), top3. AI_RETRIEVAL_SHOW=1: each
 *   question's best passages (slug, lexical, cosine, score) on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/config.h"
#include "db/db.h"
#include "domain/ai_embedder.h"
#include "domain/ai_retrieval.h"
#include "domain/store.h"

#define QUESTIONS_MAX 4096

struct question {
    char *slug, *text;
};

static size_t
read_questions(const char *path, struct question *q)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[8192];
    size_t n = 0;
    while (n < QUESTIONS_MAX && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (tab == NULL)
            continue;
        *tab = '\0';
        q[n].slug = strdup(line);
        q[n].text = strdup(tab + 1);
        n++;
    }
    fclose(f);
    return n;
}

static double
now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static int
by_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Whether the right article is first / among the first three articles. */
static void
judge(const struct question *q, const struct sp_ai_passage *ps, size_t n, long *top1,
      long *top3)
{
    if (strcmp(q->slug, "-") == 0)
        return;
    *top1 += n > 0 && strcmp(ps[0].slug, q->slug) == 0;
    const char *seen[3];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 3; i++) {
        bool dup = false;
        for (size_t j = 0; j < k; j++)
            dup = dup || strcmp(seen[j], ps[i].slug) == 0;
        if (dup)
            continue;
        seen[k++] = ps[i].slug;
        if (strcmp(ps[i].slug, q->slug) == 0) {
            (*top3)++;
            return;
        }
    }
}

int
main(int argc, char **argv)
{
    static struct question qs[QUESTIONS_MAX];
    char err[256];
    struct sp_config cfg;
    if (argc != 3 || !sp_config_load(&cfg, err, sizeof(err))) {
        fprintf(stderr, "usage: ai-retrieval QUESTIONS ROUNDS (%s)\n", argc == 3 ? err : "");
        return 2;
    }
    size_t n = read_questions(argv[1], qs);
    long rounds = strtol(argv[2], NULL, 10);
    if (n == 0 || rounds < 2)
        return fprintf(stderr, "no questions in %s, or ROUNDS < 2\n", argv[1]), 2;
    struct sp_db *db =
        sp_store_open(cfg.database_url, "SUPPORT_DATABASE_URL", cfg.db_statement_timeout_ms);
    struct sp_ai_embedder e;
    sp_ai_embedder_init(&e, &cfg);
    double *ms = calloc((size_t)rounds * n, sizeof(double));
    size_t calls = 0;
    long labelled = 0, top1 = 0, top3 = 0;
    struct sp_arena a;
    sp_arena_init(&a, 1 << 20);
    for (long r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++) {
            sp_arena_reset(&a);
            struct sp_ctx ctx = {.arena = &a, .db = db};
            struct sp_problem p;
            sp_problem_init(&p);
            struct sp_ai_passage *ps;
            size_t k;
            double t0 = now_ms();
            if (sp_ai_retrieve(&ctx, &e, qs[i].text, 5, &ps, NULL, &k, &p) != SP_OK)
                return fprintf(stderr, "retrieval failed: %s %s\n", p.code, p.detail), 1;
            double t = now_ms() - t0;
            if (r == 0 && getenv("AI_RETRIEVAL_SHOW") != NULL) {
                fprintf(stderr, "%s | want %s | %.1f ms\n", qs[i].text, qs[i].slug, t);
                for (size_t j = 0; j < k && j < 3; j++)
                    fprintf(stderr, "   %s lex %.3f cos %.3f score %.3f | %s\n", ps[j].slug,
                            ps[j].rank, ps[j].cosine, ps[j].score, ps[j].heading_path);
            }
            if (r == 0) {
                labelled += strcmp(qs[i].slug, "-") != 0;
                judge(&qs[i], ps, k, &top1, &top3);
            } else {
                ms[calls++] = t;
            }
        }
    qsort(ms, calls, sizeof(double), by_value);
    double sum = 0;
    for (size_t i = 0; i < calls; i++)
        sum += ms[i];
#define PCT(x) ms[(size_t)((double)(calls - 1) * (x))]
    printf("{\"calls\":%zu,\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"max_ms\":%.3f,\"labelled\":%ld,\"top1\":%ld,\"top3\":%ld,\"embedder\":\"%s\"}\n",
           calls, sum / (double)calls, PCT(0.5), PCT(0.9), PCT(0.99), ms[calls - 1], labelled,
           top1, top3, e.model);
    sp_arena_destroy(&a);
    sp_store_close(db);
    free(ms);
    for (size_t i = 0; i < n; i++) {
        free(qs[i].slug);
        free(qs[i].text);
    }
    sp_config_free(&cfg);
    return 0;
}
