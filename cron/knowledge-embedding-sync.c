/*
 * knowledge-embedding-sync: the knowledge-base chunking and embedding job
 * of API.md §12 (domain/ai_chunks.c does the work; jobs/job.c runs it).
 * From cron every 10 minutes; --full re-chunks and re-embeds every
 * published article (after a change of embedder or splitter).
 */
#include "domain/ai_chunks.h"
#include "jobs/job.h"

enum { FLAG_FULL };

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    (void)cfg;
    struct sp_ai_sync_opts o = {
        .dry_run = run->dry_run,
        .full = (run->flags & (1u << FLAG_FULL)) != 0,
        .stop = run->stop,
    };
    struct sp_ai_sync_counts n;
    enum sp_rc rc = sp_ai_sync_pass(db, &o, &n, p);
    *errors = n.errors;
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct sp_job_flag flags[] = {
        [FLAG_FULL] = {"--full", "re-chunk and re-embed every published article"},
        {NULL, NULL},
    };
    static const struct sp_job job = {
        .name = "knowledge-embedding-sync",
        .settings_help = "  (SUPPORT_EMBEDDINGS_URL below: not used yet, see docs/API.md §9)\n",
        .flags = flags,
        .pass = pass,
    };
    return sp_job_main(&job, argc, argv);
}
