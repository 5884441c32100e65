/*
 * job: the one runner of the cron/ batch programs (API.md §12): flags
 * (--once, --loop, --dry-run, --interval, --now), settings, JSON logging, signals,
 * and the loop. A job is a `pass` over the database; the runner decides
 * how often it runs and turns its outcome into the exit code:
 * 0 done (also when another instance holds the job's lock), 1 failure
 * or a --once pass a stop (SIGTERM, SIGINT) cut short, 2 usage; a loop
 * ended by a stop exits 0. Must not: know what a job does.
 */
#ifndef SP_JOB_H
#define SP_JOB_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/problem.h"

struct sp_db;

/* A flag of one job's own (e.g. --full): bit i of sp_job_run.flags is
 * set when flags[i] was given. */
struct sp_job_flag {
    const char *name;            /* "--full" */
    const char *help;            /* one line for --help */
};
#define SP_JOB_MAX_FLAGS 8

struct sp_job_run {
    int64_t now;                 /* ms since the epoch: the clock of every decision */
    bool dry_run;                /* change nothing (roll back), log what would be done */
    /* Set by SIGTERM/SIGINT (and SIGHUP in a loop): finish the item in
     * hand, skip the rest and the later steps, and return
     * sp_db_job_stop's "stopped" (db.h). Such a pass is logged as
     * stopped, recorded as no run, and a --once run exits 1. */
    volatile sig_atomic_t *stop;
    bool loop;                   /* not --once: a long-running pass may go on until *stop */
    long interval_s;             /* --interval: a daemon pass's sweep period */
    unsigned flags;              /* the job's own flags given (struct sp_job_flag) */
};

struct sp_job {
    const char *name;            /* program and log name */
    /* The settings its pass reads, for --help (sp_config_describe_some:
     * names, or prefixes ending in '_'; ended by NULL), besides the
     * database's and the log's, which every job reads. May be NULL. */
    const char *const *settings;
    /* seconds between passes, and a long-running pass's sweep; 0 = 60.
     * A pass may itself run until *stop when run->loop (support-dispatch,
     * woken by LISTEN/NOTIFY): the runner then only restarts it after a
     * failure, --interval seconds later, and such a pass reports each
     * cycle of its own loop with sp_job_cycle_done. */
    long default_interval;
    const struct sp_job_flag *flags; /* its own flags, ended by a NULL name; may be NULL */
    /* One pass. SP_CONFLICT = another instance holds the lock (not an
     * error); *errors counts items that failed while the pass went on. */
    enum sp_rc (*pass)(struct sp_db *db, const struct sp_config *cfg,
                       const struct sp_job_run *run, long *errors, struct sp_problem *p);
    /* The job's own settings, checked at start in every mode (--dry-run
     * too) and on SIGHUP; false with err naming the setting, never its
     * value (the program then refuses to start). May be NULL. */
    bool (*check)(const struct sp_config *cfg, char *err, size_t errlen);
    /* Loop mode: a NOTIFY on this channel starts the next pass at once
     * instead of after --interval (NULL: the interval only). */
    const char *wake_channel;
    /* Whether the pass decides by run->now, so --now pins its clock; a job
     * whose statements read the database's clock refuses --now instead of
     * ignoring it. */
    bool pinned_clock;
};

int sp_job_main(const struct sp_job *job, int argc, char **argv);

/* Whether a stop came (run->stop set): a pass checks it between its
 * items and steps. */
bool sp_job_stopping(const struct sp_job_run *run);

/* Called by a pass that runs until *run->stop (run->loop) at the end of
 * each cycle of its own loop: the runner records the cycle as one run of
 * the job (support_job_runs: GET /metrics), a success when ok, as it
 * records a pass that returns. Without it the daemon's runs and last
 * success would move only when it stops, and a stuck loop would look like
 * a working one. Such a pass's own end is then recorded only when it
 * failed (the cycle a stop cuts short is no run). */
void sp_job_cycle_done(const struct sp_job_run *run, bool ok);

#endif
