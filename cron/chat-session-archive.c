/*
 * chat-session-archive: closes idle chat sessions and turns those with
 * customer messages into tickets (API.md §12; domain/chat_archive.c does
 * the work, jobs/job.c runs it). From cron every 5 minutes with --once.
 */
#include "db/db.h"
#include "domain/chat_archive.h"
#include "domain/chat_bus.h"
#include "jobs/job.h"

static enum sp_rc
pass(struct sp_db *db, const struct sp_config *cfg, const struct sp_job_run *run, long *errors,
     struct sp_problem *p)
{
    sp_chat_bus_set_url(cfg->chat_publish_url, cfg->chat_publish_socket);
    struct sp_chat_archive_counts n;
    const struct sp_chat_archive_opts o = {
        .now_ms = run->now, .idle_minutes = cfg->chat_idle_minutes,
        .agent_max_open = cfg->agent_max_open_tickets,
        .customer_channels = cfg->customer_channels, .dry_run = run->dry_run,
        .stop = run->stop,
    };
    enum sp_rc rc = sp_chat_archive_pass(db, &o, &n, p);
    *errors = n.errors;
    return rc;
}

/* The tickets it makes are routed, and their customers notified. */
static const char *const settings[] = {
    "SUPPORT_CHAT_IDLE_MINUTES", "SUPPORT_AGENT_MAX_OPEN_TICKETS", "SUPPORT_CUSTOMER_CHANNELS",
    "SUPPORT_CHAT_PUBLISH_URL", "SUPPORT_CHAT_PUBLISH_SOCKET", NULL,
};

int
main(int argc, char **argv)
{
    static const struct sp_job job = {
        .name = "chat-session-archive",
        .settings = settings,
        .pass = pass,
        .pinned_clock = true,
    };
    return sp_job_main(&job, argc, argv);
}
