/*
 * ticket-sla-monitor: the SLA job of API.md §12 (domain/sla_monitor.c does
 * the work). Run from cron every minute with --once, or as a loop every
 * --interval seconds until SIGTERM/SIGINT.
 * Exit codes: 0 done (also when another run holds the lock), 1 failure
 * (bad setting, database unreachable, a ticket that could not be
 * processed), 2 usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/rfc3339.h"
#include "db/db.h"
#include "domain/sla_monitor.h"
#include "domain/ticket_state.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int
usage(FILE *out)
{
    fprintf(out,
            "usage: ticket-sla-monitor [--once] [--dry-run] [--interval SECONDS] [--now RFC3339]\n"
            "  --once        one pass, then exit (cron); default: a pass every --interval\n"
            "  --interval N  seconds between passes in loop mode, 1..86400 (default 60)\n"
            "  --dry-run     log what would be done, change nothing\n"
            "  --now TIME    the clock of every decision (tests), e.g. 2024-05-01T12:00:00Z;\n"
            "                only with --once\n"
            "settings (environment):\n"
            "  SUPPORT_AUTOCLOSE_DAYS           resolved tickets close after this many days,\n"
            "                                   1..3650 (default: 7)\n"
            "  SUPPORT_SLA_WARN_FRACTION        warn when this share of a target is left,\n"
            "                                   0..1 (default: 0.2)\n");
    sp_config_describe(out);
    return out == stdout ? 0 : 2;
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

/* Sleeps up to seconds, waking early for a signal. */
static void
nap(long seconds)
{
    struct timespec left = {seconds, 0};
    while (!stop && nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

int
main(int argc, char **argv)
{
    bool once = false;
    long interval = 60;
    struct sp_sla_monitor_opts o = {0};
    const char *now_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            once = true;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            o.dry_run = true;
        } else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
            if (!parse_interval(argv[++i], &interval))
                return usage(stderr);
        } else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
            now_arg = argv[++i];
            if (!sp_rfc3339_parse(now_arg, &o.now))
                return usage(stderr);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return usage(stdout);
        } else {
            return usage(stderr);
        }
    }
    /* A pinned clock in a loop would repeat the same pass forever. */
    if (now_arg != NULL && !once)
        return usage(stderr);

    sp_log_set_program("ticket-sla-monitor");
    struct sp_config cfg;
    char err[512];
    if (!sp_config_load(&cfg, err, sizeof(err))) {
        fprintf(stderr, "ticket-sla-monitor: %s\n", err);
        return 1;
    }
    enum sp_log_level level;
    bool ok = true;
    if (!sp_log_parse_level(cfg.log_level, &level)) {
        snprintf(err, sizeof(err), "SUPPORT_LOG_LEVEL: expected debug, info, warn or error");
        ok = false;
    }
    if (ok)
        sp_log_set_level(level);
    o.autoclose_days = cfg.autoclose_days;
    o.warn_fraction = cfg.sla_warn_fraction;
    if (!ok) {
        fprintf(stderr, "ticket-sla-monitor: %s\n", err);
        sp_config_free(&cfg);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: the nap must wake up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    o.stop = &stop;

    struct sp_db db;
    sp_db_init(&db, cfg.database_url, cfg.db_statement_timeout_ms);
    if (!once) {
        struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "sla_monitor_started");
        sp_log_int(l, "interval_s", interval);
        sp_log_int(l, "dry_run", o.dry_run);
        sp_log_end(l);
    }
    int code = 0;
    do {
        if (now_arg == NULL)
            o.now = sp_now_ms();
        struct sp_sla_monitor_counts n;
        struct sp_problem p;
        sp_problem_init(&p);
        enum sp_rc rc = sp_sla_monitor_pass(&db, &o, &n, &p);
        /* In a loop a failed pass is retried at the next tick (a database
         * restart must not kill the job); --once reports it. */
        code = (rc == SP_OK && n.errors == 0) || rc == SP_CONFLICT ? 0 : 1;
        if (!once && !stop)
            nap(interval);
    } while (!once && !stop);
    if (!once) {
        sp_log_msg(SP_LOG_INFO, "sla_monitor_stopped", "stopped by a signal");
        code = 0;
    }
    sp_db_close(&db);
    sp_config_free(&cfg);
    return code;
}
