/*
 * knowledge-embedding-sync: the knowledge-base chunking and embedding job
 * of API.md §12 (domain/ai_chunks.c does the work; jobs/job.c runs it).
 * From cron every 10 minutes; or as a loop (--loop, the default), whose
 * next pass starts as soon as an admin saves a published article (the
 * save's NOTIFY on SP_AI_SYNC_CHANNEL), so retrieval, which leaves an
 * edited article out until its chunks are of its current version, has it
 * back within seconds. --full re-chunks and re-embeds every published
 * article (after a change of the splitter; a change of embedder —
 * SUPPORT_EMBEDDINGS_URL, _MODEL — is found without it).
 */
#include "domain/ai_chunks.h"
#include "domain/ai_embedder.h"
#include "jobs/job.h"

enum { FLAG_FULL };

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    struct sp_ai_embedder embedder;
    sp_ai_embedder_init(&embedder, cfg);
    struct sp_ai_sync_opts o = {
        .dry_run = run->dry_run,
        .full = (run->flags & (1u << FLAG_FULL)) != 0,
        .stop = run->stop,
        .embedder = &embedder,
    };
    struct sp_ai_sync_counts n;
    enum sp_rc rc = sp_ai_sync_pass(db, &o, &n, p);
    *errors = n.errors;
    return rc;
}

/* SUPPORT_AI_API_KEY: the embedder's key when it has none of its own. */
static const char *const settings[] = {"SUPPORT_EMBEDDINGS_", "SUPPORT_AI_API_KEY", NULL};

int
main(int argc, char **argv)
{
    static const struct sp_job_flag flags[] = {
        [FLAG_FULL] = {"--full", "re-chunk and re-embed every published article"},
        {NULL, NULL},
    };
    static const struct sp_job job = {
        .name = "knowledge-embedding-sync",
        .settings = settings,
        .flags = flags,
        .pass = pass,
        .wake_channel = SP_AI_SYNC_CHANNEL,
    };
    return sp_job_main(&job, argc, argv);
}
