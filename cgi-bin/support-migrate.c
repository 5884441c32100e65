/*
 * support-migrate: applies pending sql/NNN_*.sql migrations (db/migrate.c).
 * Exit codes: 0 applied or nothing to do (or --help), 1 failure (a
 * refused setting or --env-file, a database that does not answer within
 * the jobs' bound too), 2 usage,
 * 3 the database is ahead of this release.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/env_file.h"
#include "core/log.h"
#include "db/db.h"
#include "db/migrate.h"
#include "domain/store.h"

int
main(int argc, char **argv)
{
    const char *dir = NULL, *env_file = NULL;
    for (int i = 1; i < argc; i++) {
        bool help = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) {
            env_file = argv[++i];
        } else {
            /* --help is asked for (stdout, 0), as every program's; anything
             * else is a usage error (stderr, 2). */
            fprintf(help ? stdout : stderr,
                    "usage: support-migrate [--dir DIR] [--env-file FILE]\n"
                    "  uses SUPPORT_DATABASE_URL and SUPPORT_MIGRATIONS_DIR\n"
                    "  --env-file F  settings from F (NAME=value lines, read as systemd\n"
                    "                reads an EnvironmentFile=) over the environment's\n");
            return help ? 0 : 2;
        }
    }
    sp_log_set_program("support-migrate");
    struct sp_config cfg;
    char err[512];
    /* The file first, as the jobs read it (jobs/job.c): a refused one
     * sets nothing and says which file and line, never the line's text. */
    if ((env_file != NULL && !sp_env_file_load(env_file, err, sizeof(err))) ||
        !sp_config_load(&cfg, err, sizeof(err))) {
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
