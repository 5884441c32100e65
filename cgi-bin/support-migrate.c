/*
 * support-migrate: applies pending sql/NNN_*.sql migrations (db/migrate.c).
 * Exit codes: 0 applied or nothing to do (or --help), 1 failure (a
 * database that does not answer within the jobs' bound too), 2 usage,
 * 3 the database is ahead of this release.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "db/migrate.h"
#include "domain/store.h"

int
main(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        bool help = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else {
            /* --help is asked for (stdout, 0), as every program's; anything
             * else is a usage error (stderr, 2). */
            fprintf(help ? stdout : stderr,
                    "usage: support-migrate [--dir DIR]\n"
                    "  uses SUPPORT_DATABASE_URL and SUPPORT_MIGRATIONS_DIR\n");
            return help ? 0 : 2;
        }
    }
    sp_log_set_program("support-migrate");
    struct sp_config cfg;
    char err[512];
    if (!sp_config_load(&cfg, err, sizeof(err))) {
        sp_log_bad_config(err);
        return 1;
    }
    if (!sp_db_check_settings(&cfg, err, sizeof(err))) {
        sp_log_bad_config(err);
        sp_config_free(&cfg);
        return 1;
    }
    struct sp_db db;
    sp_db_init(&db, cfg.database_url, 0);
    struct sp_problem p;
    sp_problem_init(&p);
    /* The connect waits as long as a job's (QA: a server that accepted
     * and never answered held migrate forever, silently); the migrations
     * do not: an index build may take long, and a second migrate waits
     * for the first's lock. */
    sp_db_wait_limit(&db, cfg.db_statement_timeout_ms + SP_STORE_WAIT_MARGIN_MS);
    enum sp_rc rc = sp_db_connect(&db, &p);
    sp_db_wait_limit(&db, 0);
    int applied = 0;
    if (rc == SP_OK)
        rc = sp_migrate(&db, dir ? dir : cfg.migrations_dir, &applied, &p);
    int code = 0;
    if (rc != SP_OK) {
        sp_log_msg(SP_LOG_ERROR, "migrate_failed", "%s", p.detail);
        fprintf(stderr, "support-migrate: %s\n", p.detail);
        code = p.code != NULL && strcmp(p.code, "database_ahead") == 0 ? 3 : 1;
    } else {
        struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "migrate_done");
        sp_log_int(l, "applied", applied);
        sp_log_end(l);
    }
    sp_db_close(&db);
    sp_config_free(&cfg);
    return code;
}
