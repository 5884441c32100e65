/*
 * job: flags, settings, signals and the loop of the batch programs. See
 * job.h.
 */
#include "jobs/job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/backoff.h"
#include "core/clock.h"
#include "core/env_file.h"
#include "core/log.h"
#include "core/rfc3339.h"
#include "db/db.h"
#include "domain/job_runs.h"
#include "domain/store.h"

/* stop ends the pass in hand (run->stop); terminate (SIGTERM, SIGINT) ends
 * the program after it, reload (SIGHUP, loop mode) re-reads the settings
 * after it and goes on. */
static volatile sig_atomic_t stop, terminate, reload;

static void
on_signal(int sig)
{
    if (sig == SIGHUP)
        reload = 1;
    else
        terminate = 1;
    stop = 1;
}

/* The synopsis, "NAME [--once | --loop] ...", into buf. */
static void
synopsis(const struct sp_job *job, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "%s [--once | --loop] [--dry-run]"
                                " [--interval SECONDS] [--env-file FILE]%s", job->name,
                                job->pinned_clock ? " [--now RFC3339]" : "");
    for (int i = 0; job->flags && job->flags[i].name && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, " [%s]", job->flags[i].name);
}

static int
usage(const struct sp_job *job, FILE *out)
{
    char line[512];
    synopsis(job, line, sizeof(line));
    fprintf(out, "usage: %s\n", line);
    fprintf(out,
            "  --once        one pass, then exit (cron)\n"
            "  --loop        run until SIGTERM (the default): a pass every --interval\n"
            "  --interval N  seconds between passes in loop mode, 1..86400 (default %ld)\n"
            "  --dry-run     log what would be done, change nothing\n"
            "  --env-file F  settings from F (NAME=value lines, read as systemd reads\n"
            "                an EnvironmentFile=) over the environment's (cron)\n",
            job->default_interval > 0 ? job->default_interval : 60);
    if (job->pinned_clock)
        fprintf(out, "  --now TIME    the clock of every decision (tests), e.g."
                     " 2024-05-01T12:00:00Z;\n"
                     "                only with --once\n");
    fprintf(out, "  --help        this text\n");
    for (int i = 0; job->flags && job->flags[i].name; i++)
        fprintf(out, "  %-13s %s\n", job->flags[i].name, job->flags[i].help);
    /* Only what this job reads: the whole table is some 100 settings of
     * the API, chat, mail, S3 and AI, where an operator would have to dig
     * out the few that matter here. */
    fprintf(out, "settings (environment) this job reads; the others are checked at start too\n"
                 "(support-api --help lists every setting):\n");
    static const char *const every_job[] = {"SUPPORT_DATABASE_URL",
                                            "SUPPORT_DB_STATEMENT_TIMEOUT_MS",
                                            "SUPPORT_LOG_LEVEL", NULL};
    const char *unknown = sp_config_describe_some(out, every_job);
    if (unknown == NULL && job->settings != NULL)
        unknown = sp_config_describe_some(out, job->settings);
    /* A misspelt entry would leave its setting out without a word. */
    if (unknown != NULL) {
        fprintf(stderr, "%s: internal error: its settings list names \"%s\", which is no"
                        " setting\n", job->name, unknown);
        return 1;
    }
    return out == stdout ? 0 : 2;
}

/* A command line it cannot run: exit code 2 and what is wrong, in one
 * line, with the synopsis (the whole --help buried the reason). As a JSON
 * line ({event "usage_error", detail, usage}): in cron mode stderr is the
 * job's log file, which holds JSON lines alone (docs/operations.md,
 * "Jobs"); then, when stderr is a terminal, as plain text for whoever
 * typed it, as a bad setting is (sp_log_bad_config). */
static int
bad_usage(const struct sp_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad_usage(const struct sp_job *job, const char *fmt, ...)
{
    char why[256], line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    synopsis(job, line, sizeof(line));
    struct sp_log_line *l = sp_log_begin(SP_LOG_FATAL, "usage_error");
    sp_log_str(l, "detail", why);
    sp_log_str(l, "usage", line);
    sp_log_end(l);
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "%s: %s\nusage: %s\n(%s --help for more)\n", job->name, why, line,
                job->name);
    return 2;
}

static bool
parse_interval(const char *s, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < 1 || n > 86400)
        return false;
    *out = n;
    return true;
}

/* Sleeps up to ms, waking early for a signal. */
static void
nap_ms(long long ms)
{
    struct timespec left = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (!stop && nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

static long long
mono_ms(void)
{
    return sp_clock_mono_us() / 1000;
}

/* Whether arg is one of the job's own flags; sets its bit. */
static bool
own_flag(const struct sp_job *job, const char *arg, struct sp_job_run *run)
{
    for (int i = 0; job->flags && job->flags[i].name && i < SP_JOB_MAX_FLAGS; i++)
        if (strcmp(arg, job->flags[i].name) == 0) {
            run->flags |= 1u << i;
            return true;
        }
    return false;
}

/* What the command line asks for. */
struct job_args {
    bool once;
    bool loop;             /* --loop: said explicitly (the default) */
    long interval;
    const char *now;       /* --now, pinned clock (with --once only) */
    const char *env_file;  /* --env-file: read before the settings, and on SIGHUP */
};

/* --interval N, --now TIME or --env-file FILE at argv[*i], its value
 * taken; -1 = go on, else the exit code. */
static int
parse_valued(const struct sp_job *job, int argc, char **argv, int *i, struct job_args *a,
             struct sp_job_run *run)
{
    const char *opt = argv[*i];
    bool now = strcmp(opt, "--now") == 0;
    if (now && !job->pinned_clock)
        return bad_usage(job, "--now is not taken: this job reads the database's clock");
    if (*i + 1 >= argc)
        return bad_usage(job, "%s needs a value", opt);
    const char *v = argv[++*i];
    if (strcmp(opt, "--env-file") == 0) {
        a->env_file = v;
        return -1;
    }
    if (!now && !parse_interval(v, &a->interval))
        return bad_usage(job, "--interval: \"%.32s\" is not a whole number of seconds in"
                              " 1..86400", v);
    if (now && !sp_rfc3339_parse(v, &run->now))
        return bad_usage(job, "--now: \"%.40s\" is not an RFC 3339 time (e.g."
                              " 2024-05-01T12:00:00Z)", v);
    if (now)
        a->now = v;
    return -1;
}

/* Parses the flags into a and run; -1 = go on, else the exit code. */
static int
parse_args(const struct sp_job *job, int argc, char **argv, struct job_args *a,
           struct sp_job_run *run)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            a->once = true;
        } else if (strcmp(argv[i], "--loop") == 0) {
            a->loop = true;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            run->dry_run = true;
        } else if (strcmp(argv[i], "--interval") == 0 || strcmp(argv[i], "--now") == 0 ||
                   strcmp(argv[i], "--env-file") == 0) {
            int rc = parse_valued(job, argc, argv, &i, a, run);
            if (rc >= 0)
                return rc;
        } else if (own_flag(job, argv[i], run)) {
            continue;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return usage(job, stdout);
        } else {
            return bad_usage(job, "unknown option \"%.64s\"", argv[i]);
        }
    }
    if (a->once && a->loop)
        return bad_usage(job, "--once and --loop exclude each other");
    /* A pinned clock in a loop would repeat the same pass forever. */
    if (a->now != NULL && !a->once)
        return bad_usage(job, "--now needs --once");
    return -1;
}

/* Settings and log level from the environment, the --env-file's set in
 * it first; false with err saying why (naming the variable or the file's
 * line, never a value). */
static bool
read_settings(const struct sp_job *job, const char *env_file, struct sp_config *cfg, char *err,
              size_t errlen)
{
    if ((env_file != NULL && !sp_env_file_load(env_file, err, errlen)) ||
        !sp_config_load(cfg, err, errlen))
        return false;
    enum sp_log_level level;
    if (!sp_config_log_level(cfg, &level, err, errlen) ||
        !sp_db_check_settings(cfg, err, errlen) ||
        (job->check != NULL && !job->check(cfg, err, errlen))) {
        sp_config_free(cfg);
        /* The checks name NAME; say NAME_FILE when that is the one set,
         * as the workers do (api/app.c). */
        sp_config_name_sources(err, errlen);
        return false;
    }
    sp_log_set_level(level);
    return true;
}

/* At start: false after saying why (sp_log_bad_config), as the FastCGI programs do
 * (api/app.c): a JSON log line for the logs, then the plain line for
 * whoever ran the job by hand. */
static bool
load_settings(const struct sp_job *job, const char *env_file, struct sp_config *cfg)
{
    char err[512];
    if (read_settings(job, env_file, cfg, err, sizeof(err)))
        return true;
    sp_log_bad_config(err);
    return false;
}

/* The job's database handle: each wait for the server bounded as the
 * workers' are (sp_store_open: the statement timeout plus a margin), so a
 * server that accepts but never answers fails the pass instead of holding
 * it forever, and ended by SIGTERM or SIGINT (not SIGHUP: a reload waits
 * for the pass in hand), so the job exits instead of waiting on it. */
static void
open_db(struct sp_db *db, const struct sp_config *cfg)
{
    sp_store_init(db, cfg->database_url, "SUPPORT_DATABASE_URL", cfg->db_statement_timeout_ms);
    sp_db_stop_flag(db, &terminate);
}

/* SIGHUP in loop mode, between passes: the settings and *_FILE secrets
 * read again and, when good, in force with a new database connection (a
 * rotated database password, SMTP password or PII key); when bad, logged
 * (naming the variable, never its value) and the running ones kept. */
static void
reload_settings(const struct sp_job *job, const char *env_file, struct sp_config *cfg,
                struct sp_db *db)
{
    reload = 0;
    stop = terminate;
    struct sp_config fresh;
    char err[512];
    if (!read_settings(job, env_file, &fresh, err, sizeof(err))) {
        sp_log_msg(SP_LOG_ERROR, "reload_failed", "%s; the running settings are kept", err);
        return;
    }
    sp_db_close(db);
    sp_config_free(cfg);
    *cfg = fresh;
    open_db(db, cfg);
    sp_log_msg(SP_LOG_INFO, "job_reloaded", "settings read again");
}

/* support_job_runs (GET /metrics: last success, failures). A pass that
 * found another instance at work (busy) or changed nothing on purpose
 * (--dry-run) is not a run. A failed record is logged and does not fail
 * the pass: the database being down already did. */
static void
record_pass(const struct sp_job *job, struct sp_db *db, const struct sp_job_run *run,
            bool busy, bool ok, long long started_ms)
{
    if (busy || run->dry_run)
        return;
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    struct sp_problem p;
    sp_problem_init(&p);
    if (sp_job_runs_record(db, &a, job->name, ok, mono_ms() - started_ms, &p) != SP_OK &&
        !p.logged)
        sp_log_msg(SP_LOG_ERROR, "job_run_not_recorded", "%s", p.detail);
    sp_arena_destroy(&a);
}

/* ---- loop mode without a database ------------------------------------------
 * A loop daemon that finds its database unreachable (a pass failed and
 * left no connection, or it cannot LISTEN) waits 2 s, then twice as long
 * after each further failed attempt, up to a minute, and asks the server
 * (sp_db_ping) before it runs a pass again: a restart is noticed within
 * seconds, and an outage costs one log line per attempt (job_db_unavailable)
 * and one when it is over (job_db_recovered), not a pass's worth of lines
 * every --interval. Its next pass (and LISTEN) then catches up on what
 * changed meanwhile. */

#define DB_RETRY_FIRST_MS 2000
#define DB_RETRY_CAP_MS 60000

struct db_outage {
    int failures;          /* failed attempts in a row; 0: the database answers */
    long long since_ms;    /* monotonic: the first of them */
};

/* One more failed attempt (what failed: "pass", "listen", "ping"):
 * logged, then the wait before the next. */
static void
outage_wait(struct db_outage *o, const char *what)
{
    if (o->failures++ == 0)
        o->since_ms = mono_ms();
    long long ms = sp_backoff_doubling_ms(o->failures, DB_RETRY_FIRST_MS, DB_RETRY_CAP_MS);
    struct sp_log_line *l = sp_log_begin(SP_LOG_ERROR, "job_db_unavailable");
    sp_log_str(l, "failed", what);
    sp_log_int(l, "attempt", o->failures);
    sp_log_int(l, "retry_in_ms", ms);
    sp_log_end(l);
    nap_ms(ms);
}

/* A pass had its database: an outage, if any, is over. */
static void
outage_over(struct db_outage *o)
{
    if (o->failures == 0)
        return;
    struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "job_db_recovered");
    sp_log_int(l, "attempts", o->failures);
    sp_log_int(l, "down_ms", mono_ms() - o->since_ms);
    sp_log_end(l);
    o->failures = 0;
}

/* The pass in hand, for sp_job_cycle_done: the job, its connection, when
 * its current cycle began, how many cycles it reported, and the outage
 * a cycle that reached the database ends (a pass that runs until stopped
 * returns only when it fails). */
static struct {
    const struct sp_job *job;
    struct sp_db *db;
    long long started_ms;
    long cycles;
    struct db_outage *outage;
} current;

void
sp_job_cycle_done(const struct sp_job_run *run, bool ok)
{
    if (current.job == NULL)
        return;
    outage_over(current.outage);
    record_pass(current.job, current.db, run, false, ok, current.started_ms);
    current.started_ms = mono_ms();
    current.cycles++;
}

bool
sp_job_stopping(const struct sp_job_run *run)
{
    return run->stop != NULL && *run->stop;
}

/* Whether the pass that returned rc was cut short by a stop: it said so
 * (sp_db_job_stop: a statement cancelled, items or steps left), or it
 * returned as if done while a stop came — a stop between its last check
 * and its end cannot be told from one that left work, and the next run
 * redoes nothing twice. A pass that runs until *stop (loop mode) and
 * reported cycles ends that way every time: its last, partial cycle is
 * no run and no news. A pass that failed on its own stays a failure. */
static bool
cut_short(const struct sp_job_run *run, enum sp_rc rc, const struct sp_problem *p, long cycles)
{
    if (sp_db_job_stopped(rc, p))
        return true;
    return rc == SP_OK && stop && !(run->loop && cycles > 0);
}

/* A pass cut short: one line for every job (its own pass line, when it
 * knows, is at warn too), no run recorded (support_job_runs: neither a
 * success nor a failure — the job's last success stays where it was, so
 * a job stopped every time, as by systemd's TimeoutStartSec, trips the
 * "job without success" alert), exit 1 with --once. */
static int
pass_stopped(long errors)
{
    struct sp_log_line *l = sp_log_begin(SP_LOG_WARN, "job_pass_stopped");
    sp_log_str(l, "detail", "a stop signal ended the pass before it finished; not recorded"
                            " as a run");
    sp_log_int(l, "errors", errors);
    sp_log_end(l);
    return 1;
}

/* One pass, then (loop mode) the wait for the next: --interval, a NOTIFY
 * on the job's channel, or the backoff of an unreachable database. The
 * pass's exit code. */
static int
pass_and_wait(const struct sp_job *job, struct sp_db *db, const struct sp_config *cfg,
              struct sp_job_run *run, const struct job_args *a, struct db_outage *outage)
{
    if (a->now == NULL)
        run->now = sp_clock_now_ms();
    long errors = 0;
    struct sp_problem p;
    sp_problem_init(&p);
    current.job = job;
    current.db = db;
    current.started_ms = mono_ms();
    current.cycles = 0;
    current.outage = outage;
    sp_db_wait_limit(db, sp_db_wait_limit(db, 0));   /* the same bound; timed_out cleared */
    enum sp_rc rc = job->pass(db, cfg, run, &errors, &p);
    current.job = NULL;
    if (cut_short(run, rc, &p, current.cycles))
        return pass_stopped(errors);
    /* In a loop a failed pass is retried (a database restart must not
     * kill the job); --once reports it. */
    bool busy = sp_db_job_busy(rc, &p);
    int code = (rc == SP_OK && errors == 0) || busy ? 0 : 1;
    /* A failed pass that left no connection, and a database it could not
     * reach (its connect failed or the connection was lost: unavailable;
     * or the server does not take one, did not answer in time, or a stop
     * ended the wait): the pass logged why, so there is nothing to record
     * it in, and trying would only log the failed connect again (QA: a
     * missing database, whose server answers the ping, was connected to
     * twice). (A pass that failed before it connected, on a bad setting,
     * is no outage: recorded.) */
    if (code != 0 && sp_db_socket(db) < 0 &&
        (terminate || sp_db_timed_out(db) || rc == SP_UNAVAILABLE || !sp_db_ping(db))) {
        if (run->loop && !terminate)
            outage_wait(outage, "pass");
        return code;
    }
    outage_over(outage);
    if (current.cycles == 0 || rc != SP_OK)   /* cycles: recorded as they ended */
        record_pass(job, db, run, busy, code == 0, current.started_ms);
    if (!run->loop || stop)
        return code;
    if (job->wake_channel == NULL)
        nap_ms(a->interval * 1000LL);
    else if (sp_db_wait_notify(db, job->wake_channel, a->interval * 1000L) < 0)
        outage_wait(outage, "listen");
    return code;
}

int
sp_job_main(const struct sp_job *job, int argc, char **argv)
{
    struct job_args a = {
        .once = false, .interval = job->default_interval > 0 ? job->default_interval : 60};
    struct sp_job_run run = {0};
    sp_log_set_program(job->name);
    int code = parse_args(job, argc, argv, &a, &run);
    if (code >= 0)
        return code;
    struct sp_config cfg;
    if (!load_settings(job, a.env_file, &cfg))
        return 1;
    sp_config_warn(&cfg);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: the nap must wake up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (!a.once)
        sigaction(SIGHUP, &sa, NULL);
    run.stop = &stop;
    run.loop = !a.once;
    run.interval_s = a.interval;

    struct sp_db db;
    open_db(&db, &cfg);
    if (!a.once) {
        struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "job_started");
        sp_log_int(l, "interval_s", a.interval);
        sp_log_int(l, "dry_run", run.dry_run);
        sp_log_end(l);
    }
    struct db_outage outage = {0};
    do {
        if (outage.failures > 0 && !sp_db_ping(&db)) {
            if (!terminate)
                outage_wait(&outage, "ping");
        }
        else
            code = pass_and_wait(job, &db, &cfg, &run, &a, &outage);
        if (reload && !terminate)
            reload_settings(job, a.env_file, &cfg, &db);
    } while (!a.once && !terminate);
    if (!a.once) {
        sp_log_msg(SP_LOG_INFO, "job_stopped", "stopped by a signal");
        code = 0;
    }
    sp_db_close(&db);
    sp_config_free(&cfg);
    return code;
}
