/*
 * test_operations: the process model and the stack around the API —
 * a restarted database needs no worker restart, a statement timeout is a
 * 503 that says the database was slow, not down, a crashed worker is
 * respawned, SIGHUP reloads secrets from *_FILE (the servers and the
 * jobs run as daemons), nginx answers its own
 * errors as problem+json, support-migrate is safe to run twice at
 * once and refuses a database that is ahead of it, readyz answers 503
 * while the schema is behind the release, SIGTERM drains: the
 * request in flight finishes before the master exits, support-migrate
 * and --check-config read the settings file (--env-file) as the jobs do,
 * and the blind index key --print-pii-index-key prints keeps lookups by
 * email once the old PII keys are gone.
 */
#include "harness.h"

#include <errno.h>
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Enough requests to reach every worker (each has its own connection). */
static void
assert_ticket_reads_ok(const struct sp_t_user *u, const char *public_id, int times)
{
    for (int i = 0; i < times; i++) {
        struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets/%s", public_id), u->token);
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
    }
}

START_TEST(restarted_database_needs_no_worker_restart)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "before the restart");
    assert_ticket_reads_ok(&u, id, 8);
    sp_t_stackctl("restart-pg");
    /* Writes first: a transaction must survive finding its connection dead. */
    for (int i = 0; i < 8; i++)
        sp_t_ticket_reply(&u, id, "after the restart");
    assert_ticket_reads_ok(&u, id, 16);
}
END_TEST

/* ---- a database that does not answer (SIGSTOP) ---------------------------- */

/* The test stack's postmaster and its children (the backends): every
 * process of the cluster, up to max; 0 when it does not run. Usable from
 * unchecked fixtures (no test arena). */
static size_t
cluster_pids(pid_t *out, size_t max)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/pg/data/postmaster.pid", getenv("SP_TEST_STACK_DIR"));
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    long pid = 0;
    bool read = fscanf(f, "%ld", &pid) == 1;
    fclose(f);
    if (!read || pid <= 0 || max < 1)
        return 0;
    out[0] = (pid_t)pid;
    return 1 + sp_t_children(out[0], out + 1, max - 1);
}

static void
cluster_signal(int sig)
{
    pid_t pids[128];
    size_t n = cluster_pids(pids, 128);
    for (size_t i = 0; i < n; i++)
        kill(pids[i], sig);
}

/* Unchecked: the cluster runs again whatever the test did. */
static void
cluster_continue(void)
{
    cluster_signal(SIGCONT);
}

/* A stopped (hung) server answered nothing: readyz, like every request,
 * waited until nginx's 504 (60 s). Its check gives up after 2 s and says
 * so; healthz stays 200 (alive, just not ready). */
START_TEST(readyz_gives_up_on_a_database_that_does_not_answer)
{
    for (int i = 0; i < 16; i++) {   /* the workers connected: their queries wait */
        struct sp_t_resp *r = sp_t_get("/support/readyz", NULL);
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
    }
    cluster_signal(SIGSTOP);
    for (int i = 0; i < 3; i++) {    /* and one whose connection was given up */
        struct sp_t_resp *r = sp_t_get("/support/readyz", NULL);
        sp_t_assert_json(r, 503);
        ck_assert_str_eq(sp_t_jstr(r->json, "status"), "unavailable");
        ck_assert_str_eq(sp_t_jstr(sp_t_jobj(r->json, "checks"), "database"),
                         "no answer within 2000 ms");
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_get("/support/healthz", NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    cluster_signal(SIGCONT);
    for (int tries = 0; tries < 100; tries++) {   /* back: the next readyz reconnects */
        r = sp_t_get("/support/readyz", NULL);
        long status = r->status;
        sp_t_resp_free(r);
        if (status == 200)
            return;
        usleep(100 * 1000);
    }
    ck_abort_msg("readyz not 200 10 s after SIGCONT");
}
END_TEST

/* Every request's wait for the server is bounded too, at the statement
 * timeout plus a margin (SP_STORE_WAIT_MARGIN_MS, 5 s; the timeout is
 * 1 s for this start): past it a running server would have cancelled
 * the statement itself. A request on a stopped server answers 503 then,
 * not nginx's 504 a minute later, and its worker is free again (QA saw a
 * ticket created 68 s after its client's 504). Nothing it sent commits
 * when the server wakes. */
START_TEST(a_request_gives_up_on_a_database_that_does_not_answer)
{
    sp_t_stackctl("restart-api-with SUPPORT_DB_STATEMENT_TIMEOUT_MS=1000");
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "the database hangs");
    assert_ticket_reads_ok(&u, id, 16);   /* the workers connected */
    cluster_signal(SIGSTOP);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", id), u.token,
                                         "{\"body\":\"sent while the database hangs\"}");
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the database is unavailable");
    sp_t_resp_free(r);
    cluster_signal(SIGCONT);
    assert_ticket_reads_ok(&u, id, 8);    /* back: each worker reconnects as needed */
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ticket_messages"
                              " WHERE body = 'sent while the database hangs'"),
                     "0");
}
END_TEST

START_TEST(database_down_is_503_and_readyz_says_so)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "database goes away");
    sp_t_stackctl("stop-pg");
    struct sp_t_resp *r = sp_t_get("/support/readyz", NULL);
    sp_t_assert_status(r, 503);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/tickets/%s", id), u.token);
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the database is unavailable");
    ck_assert_str_eq(sp_t_header(r, "Retry-After"), "1");
    sp_t_resp_free(r);
    r = sp_t_get("/support/healthz", NULL);  /* alive, just not ready */
    sp_t_assert_status(r, 200);
    sp_t_resp_free(r);
    sp_t_stackctl("start-pg");
    r = sp_t_get("/support/readyz", NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    assert_ticket_reads_ok(&u, id, 8);
}
END_TEST

/* A statement held by a lock past SUPPORT_DB_STATEMENT_TIMEOUT_MS (5 s
 * here) is a 503 of its own: the database is up, only slow, and a client
 * may simply try again — "unavailable" would say it is down. */
START_TEST(statement_timeout_is_503_saying_the_database_was_slow)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "held by a lock");
    PGconn *lock = sp_t_tx_hold(
        sp_t_fmt("SELECT id FROM support_tickets WHERE public_id = '%s' FOR UPDATE", id));
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", id), u.token,
                                         "{\"body\":\"waits for the lock\"}");
    sp_t_tx_release(lock);
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     "the database did not answer in time; try again");
    ck_assert_str_eq(sp_t_header(r, "Retry-After"), "1");
    sp_t_resp_free(r);
    sp_t_ticket_reply(&u, id, "the lock is gone");  /* and the worker is fine */
}
END_TEST

START_TEST(killed_worker_is_respawned)
{
    pid_t before[64];
    int n = (int)sp_t_children(sp_t_master_pid("support-api"), before, 64);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(kill(before[0], SIGKILL), 0);
    /* The master notices at once; give it a moment to fork. */
    pid_t after[64];
    int m = 0;
    for (int i = 0; i < 50; i++) {
        usleep(100 * 1000);
        m = (int)sp_t_children(sp_t_master_pid("support-api"), after, 64);
        bool replaced = m == n;
        for (int j = 0; replaced && j < m; j++)
            if (after[j] == before[0])
                replaced = false;
        if (replaced)
            break;
    }
    ck_assert_int_eq(m, n);
    for (int j = 0; j < m; j++)
        ck_assert_int_ne(after[j], before[0]);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "after a worker crash");
    assert_ticket_reads_ok(&u, id, 8);
}
END_TEST

/* QA: with its master killed (-9, the OOM killer) the workers went on
 * serving the socket, unmanaged, holding their database connections, and
 * a new start left them running. Each worker now goes with its master. */
START_TEST(workers_leave_with_a_killed_master)
{
    pid_t master = sp_t_master_pid("support-api"), kids[64];
    int n = (int)sp_t_children(master, kids, 64);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(kill(master, SIGKILL), 0);
    int alive = n;
    for (int i = 0; i < 100 && alive > 0; i++) {
        usleep(100 * 1000);
        alive = 0;
        for (int j = 0; j < n; j++)
            alive += kill(kids[j], 0) == 0;
    }
    sp_t_stackctl("restart-api");
    ck_assert_msg(alive == 0, "%d of %d workers outlived their master by 10 s", alive, n);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    (void)sp_t_ticket_create(&u, "after the master's restart");
}
END_TEST

START_TEST(sighup_reloads_jwt_keys_from_file)
{
    const char *file = getenv("SP_TEST_JWT_KEYS_FILE");
    ck_assert_msg(file != NULL, "the runner must start support-api with SUPPORT_JWT_KEYS_FILE");
    const char *secret = "rotated-secret-0123456789abcdef0123456789abcdef";
    const char *token = sp_t_token_raw("rot", secret, "4242", SP_ROLE_CUSTOMER, time(NULL), 600);

    struct sp_t_resp *r = sp_t_get("/support/tickets", token);
    sp_t_assert_problem(r, 401, "unauthorized");  /* unknown kid before the reload */
    sp_t_resp_free(r);

    /* Rotation: the new key goes first (it signs), the old ones still verify. */
    FILE *f = fopen(file, "r");
    ck_assert(f != NULL);
    char old[4096] = {0};
    size_t len = fread(old, 1, sizeof(old) - 1, f);
    fclose(f);
    while (len > 0 && (old[len - 1] == '\n' || old[len - 1] == '\r'))
        old[--len] = '\0';
    f = fopen(file, "w");
    ck_assert(f != NULL);
    fprintf(f, "%s,rot:%s\n", old, secret);
    fclose(f);
    sp_t_stackctl("signal-api HUP");

    /* Each worker reloads between requests: every one must accept it. */
    bool ok = false;
    for (int attempt = 0; attempt < 50 && !ok; attempt++) {
        ok = true;
        for (int i = 0; i < 8 && ok; i++) {
            r = sp_t_get("/support/tickets", token);
            ok = r->status == 200;
            sp_t_resp_free(r);
        }
        if (!ok)
            usleep(100 * 1000);
    }
    ck_assert_msg(ok, "a token of the new key is still refused after SIGHUP");
    /* The old default key still works. */
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = sp_t_get("/support/tickets", u.token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);

    /* Dropping the rotated key again: a token every worker has verified
     * (and remembers) must be refused once the keys are reloaded. */
    f = fopen(file, "w");
    ck_assert(f != NULL);
    fprintf(f, "%s\n", old);
    fclose(f);
    sp_t_stackctl("signal-api HUP");
    bool refused = false;
    for (int attempt = 0; attempt < 50 && !refused; attempt++) {
        refused = true;
        for (int i = 0; i < 8 && refused; i++) {
            r = sp_t_get("/support/tickets", token);
            refused = r->status == 401;
            sp_t_resp_free(r);
        }
        if (!refused)
            usleep(100 * 1000);
    }
    ck_assert_msg(refused, "a token of a removed key is still accepted after SIGHUP");
}
END_TEST

START_TEST(nginx_answers_502_as_problem_json_when_workers_are_gone)
{
    sp_t_stackctl("stop-api");
    struct sp_t_resp *r = sp_t_get("/support/healthz", NULL);
    sp_t_stackctl("start-api");
    sp_t_assert_problem(r, 502, "dependency_unavailable");
    sp_t_resp_free(r);
    r = sp_t_get("/support/healthz", NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(body_over_nginx_limit_is_413_problem_json)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *big = sp_t_fmt("{\"subject\":\"x\",\"description\":\"%s\"}",
                               sp_t_repeat("a", 3 * 1024 * 1024));
    struct sp_t_resp *r = sp_t_post_json("/support/tickets", u.token, big);
    sp_t_assert_problem(r, 413, "payload_too_large");
    sp_t_resp_free(r);
}
END_TEST

/* Runs support-migrate against database db; returns its exit status. */
static pid_t
migrate_start(const char *db)
{
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        char url[1024], bin[1024], dir[1024];
        snprintf(url, sizeof(url), "%s dbname=%s", getenv("SP_TEST_DATABASE_URL"), db);
        snprintf(bin, sizeof(bin), "%s/support-migrate", getenv("SP_TEST_TOP_BUILDDIR"));
        snprintf(dir, sizeof(dir), "%s/sql", getenv("SP_TEST_TOP_SRCDIR"));
        setenv("SUPPORT_DATABASE_URL", url, 1);
        setenv("SUPPORT_MIGRATIONS_DIR", dir, 1);
        freopen("/dev/null", "w", stderr);
        execl(bin, "support-migrate", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int
migrate_wait(pid_t pid)
{
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int
migration_files(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "ls %s/sql | grep -cE '^[0-9]{3}_.*\\.sql$'",
             getenv("SP_TEST_TOP_SRCDIR"));
    FILE *p = popen(cmd, "r");
    int n = 0;
    ck_assert(fscanf(p, "%d", &n) == 1);
    pclose(p);
    return n;
}

START_TEST(concurrent_migrations_apply_once_and_newer_database_is_refused)
{
    const char *db = sp_t_fmt("mig_%ld_%ld", (long)getpid(), (long)time(NULL));
    sp_t_sql("CREATE DATABASE %s", db);
    pid_t a = migrate_start(db), b = migrate_start(db);
    ck_assert_int_eq(migrate_wait(a), 0);
    ck_assert_int_eq(migrate_wait(b), 0);

    /* Both ran; the schema was applied exactly once per file. */
    char url[1024];
    snprintf(url, sizeof(url), "%s dbname=%s", getenv("SP_TEST_DATABASE_URL"), db);
    PGconn *c = PQconnectdb(url);
    ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "SELECT count(*), count(DISTINCT version) FROM schema_migrations");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    ck_assert_int_eq(atoi(PQgetvalue(r, 0, 0)), migration_files());
    ck_assert_int_eq(atoi(PQgetvalue(r, 0, 1)), migration_files());
    PQclear(r);

    /* Again: nothing to do, still fine. */
    ck_assert_int_eq(migrate_wait(migrate_start(db)), 0);

    /* A database migrated by a newer release: refuse (exit 3). */
    r = PQexec(c, "INSERT INTO schema_migrations (version, name) VALUES (999, '999_future.sql')");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    ck_assert_int_eq(migrate_wait(migrate_start(db)), 3);
    PQfinish(c);
    sp_t_sql("DROP DATABASE %s", db);
}
END_TEST

/* The lines of the job's output from the first holding `from` on. */
static const char *
job_lines_from(const struct sp_t_job *j, const char *from)
{
    FILE *f = fopen(j->out_path, "r");
    ck_assert_ptr_nonnull(f);
    static char all[1 << 16];
    size_t n = fread(all, 1, sizeof(all) - 1, f);
    fclose(f);
    all[n] = '\0';
    const char *at = strstr(all, from);
    ck_assert_msg(at != NULL, "no %s in:\n%s", from, all);
    while (at > all && at[-1] != '\n')
        at--;
    return at;
}

static void
assert_alive(pid_t pid)
{
    int status;
    ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "the job is gone");
}

static void
pg_back(void)
{
    sp_t_stackctl("start-pg");
}

/* The times needle occurs in out. */
static int
occurrences(const char *out, const char *needle)
{
    int n = 0;
    for (const char *at = out; (at = strstr(at, needle)) != NULL; at++)
        n++;
    return n;
}

/* A loop daemon without its database waits 2 s, then twice as long after
 * each failed attempt (up to a minute), one line per attempt, and says
 * once when the database is back (QA: support-scan --loop wrote 5 error
 * lines every 2 s, ~9,000 an hour, each job db_connect_failed twice per
 * pass). */
START_TEST(a_job_daemon_backs_off_while_the_database_is_down)
{
    struct sp_t_job j;
    sp_t_job_start(&j, "ticket-sla-monitor", NULL,
                   (const char *const[]){"--loop", "--interval", "1", NULL});
    sp_t_job_says(&j, "\"job_started\"", 1);
    sp_t_stackctl("stop-pg");
    sp_t_job_says(&j, "\"event\":\"job_db_unavailable\"", 3);
    /* From the first on: nothing but one line per attempt, doubling. */
    const char *lines = job_lines_from(&j, "\"event\":\"job_db_unavailable\"");
    const char *want[] = {"\"attempt\":1,\"retry_in_ms\":2000",
                          "\"attempt\":2,\"retry_in_ms\":4000",
                          "\"attempt\":3,\"retry_in_ms\":8000"};
    for (int i = 0; i < 3; i++) {
        const char *end = strchr(lines, '\n');
        ck_assert_ptr_nonnull(end);
        const char *line = sp_t_fmt("%.*s", (int)(end - lines), lines);
        ck_assert_msg(strstr(line, "\"event\":\"job_db_unavailable\"") != NULL &&
                          strstr(line, want[i]) != NULL,
                      "line %d after the database went: %s", i + 1, line);
        lines = end + 1;
    }
    sp_t_stackctl("start-pg");
    sp_t_job_says(&j, "\"event\":\"job_db_recovered\"", 1);
    assert_alive(j.pid);
    ck_assert_int_eq(kill(j.pid, SIGTERM), 0);
    const char *out;
    ck_assert_int_eq(sp_t_job_wait(&j, &out), 0);
    /* The failed pass said why, once; the attempts after it asked the
     * server without a session and logged only their own line. */
    int connects = occurrences(out, "\"db_connect_failed\"");
    ck_assert_msg(connects <= 1, "db_connect_failed %d times:\n%s", connects, out);
}
END_TEST

/* Every job, and the line its pass is logged with. */
static const struct {
    const char *program;
    const char *pass_event;
} jobs[] = {
    {"attachment-cleanup", "attachment_cleanup_pass"},
    {"chat-session-archive", "chat_archive_pass"},
    {"ai-usage-monitor", "ai_usage_pass"},
    {"dashboard-counts-check", "dashboard_check"},
    {"knowledge-embedding-sync", "ai_sync_pass"},
    {"support-scan", "attachment_scan_pass"},
    {"support-dispatch", "dispatch_pass"},
    {"ticket-sla-monitor", "sla_monitor_pass"},
};

/* The (first) line of out whose event is event. */
static const char *
line_of(const char *out, const char *event)
{
    const char *at = strstr(out, sp_t_fmt("\"event\":\"%s\"", event));
    ck_assert_msg(at != NULL, "no %s in:\n%s", event, out);
    while (at > out && at[-1] != '\n')
        at--;
    return sp_t_fmt("%.*s", (int)strcspn(at, "\n"), at);
}

/* Runs job i --once on the database url (and extra, "NAME=value" or
 * NULL) and asserts that it failed and that its pass line says why:
 * detail. */
static const char *
assert_pass_failed_with(size_t i, const char *url, const char *extra, const char *detail)
{
    const char *out;
    const char *env[] = {sp_t_fmt("SUPPORT_DATABASE_URL=%s", url),
                         sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates",
                                  getenv("SP_TEST_TOP_SRCDIR")), extra, NULL};
    int rc = sp_t_job_run(jobs[i].program, env, (const char *const[]){"--once", NULL}, &out);
    ck_assert_msg(rc == 1, "%s exited %d:\n%s", jobs[i].program, rc, out);
    const char *line = line_of(out, jobs[i].pass_event);
    ck_assert_msg(strstr(line, "\"level\":\"error\"") != NULL &&
                      strstr(line, sp_t_fmt("\"detail\":\"%s\"", detail)) != NULL,
                  "%s: %s", jobs[i].program, line);
    return out;
}

static const char *
assert_pass_failed(size_t i, const char *url, const char *detail)
{
    return assert_pass_failed_with(i, url, NULL, detail);
}

/* A failed pass says why on its own line, the same way in every job (QA:
 * attachment-cleanup logged "errors":0 and no reason, exit 1, while
 * ticket-sla-monitor said "the database is unavailable"). */
START_TEST(every_job_says_why_its_pass_failed_without_its_database)
{
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
        assert_pass_failed(i, "host=/nonexistent dbname=x", "the database is unavailable");
}
END_TEST

/* A database the server does not have: the server answers (a ping says
 * so), each connect fails. Every job's --once pass fails saying so once,
 * and the run is not recorded by connecting again (QA: connect error
 * logged twice, then job_run_not_recorded). */
START_TEST(a_once_job_connects_once_to_a_missing_database)
{
    const char *url = sp_t_fmt("%s dbname=no_such_database", getenv("SP_TEST_DATABASE_URL"));
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
        const char *out = assert_pass_failed(i, url, "the database is unavailable");
        ck_assert_msg(occurrences(out, "\"event\":\"db_connect_failed\"") == 1 &&
                          strstr(out, "job_run_not_recorded") == NULL,
                      "%s:\n%s", jobs[i].program, out);
    }
}
END_TEST

/* support-dispatch --loop without its database: each failed pass logs the
 * failed connect once, then its pass line (QA: four db_connect_failed a
 * pass: the LISTEN connection, the webhook sweep's two statements, the
 * claim). */
START_TEST(a_dispatch_daemon_logs_a_failed_connect_once_a_pass)
{
    const char *env[] = {
        sp_t_fmt("SUPPORT_DATABASE_URL=%s dbname=no_such_database",
                 getenv("SP_TEST_DATABASE_URL")),
        sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates", getenv("SP_TEST_TOP_SRCDIR")), NULL};
    struct sp_t_job j;
    sp_t_job_start(&j, "support-dispatch", env,
                   (const char *const[]){"--loop", "--interval", "1", NULL});
    sp_t_job_says(&j, "\"event\":\"dispatch_pass\"", 2);
    ck_assert_int_eq(kill(j.pid, SIGTERM), 0);
    const char *out;
    ck_assert_int_eq(sp_t_job_wait(&j, &out), 0);
    /* Each pass line has exactly one failed connect before it. */
    int passes = occurrences(out, "\"event\":\"dispatch_pass\"");
    int connects = occurrences(out, "\"event\":\"db_connect_failed\"");
    ck_assert_msg(passes >= 2 && connects == passes && strstr(out, "job_run_not_recorded") == NULL,
                  "%d passes, %d failed connects:\n%s", passes, connects, out);
}
END_TEST

/* support-scan --once with nothing to scan logs its pass at info, as every
 * job's --once pass is (QA: at debug, so cron's log had no line of it). */
START_TEST(an_idle_scan_pass_is_logged_at_info)
{
    const char *out;
    const char *env[] = {"SUPPORT_LOG_LEVEL=info", NULL};
    int rc = sp_t_job_run("support-scan", env, (const char *const[]){"--once", NULL}, &out);
    ck_assert_msg(rc == 0, "support-scan exited %d:\n%s", rc, out);
    const char *line = line_of(out, "attachment_scan_pass");
    ck_assert_msg(strstr(line, "\"level\":\"info\"") != NULL, "%s", line);
}
END_TEST

/* ---- a database that accepts but never answers ---------------------------- */

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Every job gives up on such a server at the statement timeout plus the
 * workers' margin (1 s + 5 s here) and says the database is unavailable
 * (QA: each hung forever: no client-side bound on the connect nor on a
 * statement). */
START_TEST(every_job_gives_up_on_a_database_that_does_not_answer)
{
    int fd;
    const char *url = sp_t_silent_database(&fd);
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
        long long started = now_ms();
        const char *out = assert_pass_failed_with(i, url, "SUPPORT_DB_STATEMENT_TIMEOUT_MS=1000",
                                                  "the database is unavailable");
        long long took = now_ms() - started;
        ck_assert_msg(took >= 5500 && took < 10000, "%s took %lld ms", jobs[i].program, took);
        ck_assert_msg(strstr(out, "the server did not answer within the wait limit") != NULL,
                      "%s", out);
    }
    close(fd);
}
END_TEST

/* support-migrate gives up on such a server as the jobs do (QA: it
 * waited forever, logging nothing): its connect waits the statement
 * timeout plus 5 s (here 1 s + 5 s), says why, and it exits 1. */
START_TEST(support_migrate_gives_up_on_a_database_that_does_not_answer)
{
    int fd;
    const char *url = sp_t_silent_database(&fd);
    const char *env[] = {sp_t_fmt("SUPPORT_DATABASE_URL=%s", url),
                         "SUPPORT_DB_STATEMENT_TIMEOUT_MS=1000",
                         sp_t_fmt("SUPPORT_MIGRATIONS_DIR=%s/sql", getenv("SP_TEST_TOP_SRCDIR")),
                         NULL};
    long long started = now_ms();
    const char *out;
    int rc = sp_t_job_run("support-migrate", env, (const char *const[]){NULL}, &out);
    long long took = now_ms() - started;
    ck_assert_msg(rc == 1 && took >= 5500 && took < 10000, "exit %d after %lld ms:\n%s", rc,
                  took, out);
    const char *line = line_of(out, "db_connect_failed");
    ck_assert_msg(strstr(line, "\"error\":\"the server did not answer within the wait limit\"")
                      != NULL && strstr(line, "\"limit_ms\":6000") != NULL, "%s", line);
    line = line_of(out, "migrate_failed");
    ck_assert_msg(strstr(line, "the database is unavailable") != NULL, "%s", line);
    close(fd);
}
END_TEST

/* Waits for j and asserts it exited with code within 3 s of started. */
static const char *
assert_exits_promptly(struct sp_t_job *j, long long started, int code)
{
    const char *out;
    int rc = sp_t_job_wait(j, &out);
    long long took = now_ms() - started;
    ck_assert_msg(rc == code && took < 3000, "exit %d after %lld ms:\n%s", rc, took, out);
    return out;
}

/* SIGTERM ends a job's wait for a server that does not answer (QA: it was
 * ignored until the wait ended, which was never): --once exits 1 (its
 * pass failed), a daemon as on any stop (0). */
START_TEST(sigterm_ends_a_job_waiting_on_a_database_that_does_not_answer)
{
    int fd;
    const char *url = sp_t_silent_database(&fd);
    const char *env[] = {sp_t_fmt("SUPPORT_DATABASE_URL=%s", url),
                         sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates",
                                  getenv("SP_TEST_TOP_SRCDIR")), NULL};
    struct sp_t_job j;
    sp_t_job_start(&j, "ticket-sla-monitor", env,
                   (const char *const[]){"--loop", "--interval", "1", NULL});
    sp_t_job_says(&j, "\"job_started\"", 1);
    usleep(500 * 1000);   /* connecting: the bound is 10 s */
    long long started = now_ms();
    ck_assert_int_eq(kill(j.pid, SIGTERM), 0);
    const char *out = assert_exits_promptly(&j, started, 0);
    ck_assert_msg(strstr(out, "\"event\":\"job_stopped\"") != NULL, "%s", out);
    sp_t_job_start(&j, "support-dispatch", env, (const char *const[]){"--once", NULL});
    usleep(800 * 1000);
    started = now_ms();
    ck_assert_int_eq(kill(j.pid, SIGTERM), 0);
    out = assert_exits_promptly(&j, started, 1);
    ck_assert_msg(strstr(out, "a stop signal ended the wait") != NULL, "%s", out);
    close(fd);
}
END_TEST

/* A daemon whose server stops (SIGSTOP) while it holds a connection: the
 * statement it waits on is given up at the bound, the pass fails saying
 * the database is unavailable, and SIGTERM ends the job promptly. */
START_TEST(a_job_daemon_gives_up_on_a_stopped_database)
{
    const char *env[] = {"SUPPORT_DB_STATEMENT_TIMEOUT_MS=1000", NULL};
    struct sp_t_job j;
    sp_t_job_start(&j, "ticket-sla-monitor", env,
                   (const char *const[]){"--loop", "--interval", "1", NULL});
    sp_t_job_says(&j, "\"event\":\"sla_monitor_pass\"", 1);
    cluster_signal(SIGSTOP);
    sp_t_job_says(&j, "\"detail\":\"the database is unavailable\"", 1);
    const char *line = line_of(job_lines_from(&j, "\"event\":\"db_wait_timeout\""),
                               "sla_monitor_pass");
    ck_assert_msg(strstr(line, "\"detail\":\"the database is unavailable\"") != NULL, "%s",
                  line);
    long long started = now_ms();
    ck_assert_int_eq(kill(j.pid, SIGTERM), 0);
    assert_exits_promptly(&j, started, 0);
    cluster_signal(SIGCONT);
}
END_TEST

/* The job's backend waits on a lock (pg_stat_activity), within 20 s. */
static void
await_job_waiting_on_a_lock(void)
{
    for (int i = 0; i < 200; i++) {
        if (atol(sp_t_sql("SELECT count(*) FROM pg_stat_activity"
                          " WHERE wait_event_type = 'Lock'")) > 0)
            return;
        usleep(100 * 1000);
    }
    ck_abort_msg("no job waits on the lock");
}

/* "runs failures last_success" of the job in support_job_runs. */
static const char *
job_runs(const char *program)
{
    return sp_t_sql("SELECT coalesce((SELECT runs || ' ' || failures || ' '"
                    " || coalesce(last_success_at::text, '-') FROM support_job_runs"
                    " WHERE job = '%s'), 'none')", program);
}

/* SIGTERM while a --once pass waits on a lock in a statement: the
 * statement is cancelled and the pass is stopped, not failed — its line
 * at warn saying "stopped by a signal", no db_error, no "the database is
 * unavailable" (QA: both, with "sqlstate":"none","error":null) — not
 * recorded as a run, and the job exits 1 (QA: the same cut short between
 * items recorded a success). One job through the shared runner each way
 * it reaches the database: ticket-sla-monitor's policies, and
 * knowledge-embedding-sync's chunks. */
START_TEST(a_once_job_stopped_in_a_statement_says_stopped)
{
    static const struct {
        const char *program, *pass_event, *table;
    } cases[] = {
        {"ticket-sla-monitor", "sla_monitor_pass", "support_sla_policies"},
        {"knowledge-embedding-sync", "ai_sync_pass", "support_article_chunks"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *runs = job_runs(cases[i].program);
        PGconn *lock = sp_t_tx_hold(sp_t_fmt("LOCK TABLE %s IN ACCESS EXCLUSIVE MODE",
                                             cases[i].table));
        struct sp_t_job j;
        sp_t_job_start(&j, cases[i].program, NULL, (const char *const[]){"--once", NULL});
        await_job_waiting_on_a_lock();
        long long started = now_ms();
        ck_assert_int_eq(kill(j.pid, SIGTERM), 0);
        const char *out = assert_exits_promptly(&j, started, 1);
        sp_t_tx_release(lock);
        const char *line = line_of(out, cases[i].pass_event);
        ck_assert_msg(strstr(line, "\"level\":\"warn\"") != NULL &&
                          strstr(line, "\"detail\":\"stopped by a signal before it finished\"")
                              != NULL, "%s: %s", cases[i].program, line);
        ck_assert_msg(strstr(out, "\"db_wait_stopped\"") != NULL &&
                          strstr(out, "\"job_pass_stopped\"") != NULL &&
                          strstr(out, "\"db_error\"") == NULL &&
                          strstr(out, "\"db_connection_lost\"") == NULL &&
                          strstr(out, "the database is unavailable") == NULL,
                      "%s:\n%s", cases[i].program, out);
        ck_assert_str_eq(job_runs(cases[i].program), runs);
    }
}
END_TEST

/* The count name of a pass line ("name":N). */
static long
count_in(const char *line, const char *name)
{
    const char *at = strstr(line, sp_t_fmt("\"%s\":", name));
    ck_assert_msg(at != NULL, "no %s in %s", name, line);
    return atol(at + strlen(name) + 3);
}

/* SIGTERM in the middle of a --once ticket-sla-monitor pass over 2000 due
 * tickets (QA: its pass line at info with partial counts, housekeeping
 * run after the signal, exit 0, a success recorded — a job systemd kills
 * at TimeoutStartSec never tripped "job without success"): the pass
 * stops after the ticket in hand, its line at warn says so with what it
 * did, housekeeping is skipped, no run is recorded, exit 1. The tickets
 * are due in 1999, judged at a --now of 2000: no other test's. */
START_TEST(a_once_pass_stopped_midway_is_no_success_and_exits_1)
{
    const char *tag = sp_t_unique("stopfill");
    ck_assert_str_eq(sp_t_sql(
        "WITH x AS (INSERT INTO support_tickets (public_id, customer_id, subject, description,"
        " status, created_at, first_response_due_at, resolution_due_at, sla_due_at,"
        " sla_breach_check_at) SELECT 'Y' || upper(substr(md5(random()::text || g::text"
        " || clock_timestamp()::text), 1, 11)), '%s', 'stop filler', 'filler', 'open',"
        " '1999-12-01T00:00:00Z', '1999-12-01T04:00:00Z', '1999-12-03T00:00:00Z',"
        " '1999-12-01T04:00:00Z', '1999-12-01T04:00:00Z'"
        " FROM generate_series(1, 2000) g RETURNING 1) SELECT count(*) FROM x", tag), "2000");
    const char *runs = job_runs("ticket-sla-monitor");
    struct sp_t_job j;
    sp_t_job_start(&j, "ticket-sla-monitor", NULL,
                   (const char *const[]){"--once", "--now", "2000-01-01T00:00:00Z", NULL});
    sp_t_job_says(&j, "\"event\":\"sla_breached\"", 1);
    ck_assert_int_eq(kill(j.pid, SIGTERM), 0);
    const char *out;
    int rc = sp_t_job_wait(&j, &out);
    long breached = atol(sp_t_sql("SELECT count(*) FROM support_tickets WHERE customer_id = '%s'"
                                  " AND sla_breached", tag));
    /* Out of every later pass's way before anything can fail. */
    (void)sp_t_sql("UPDATE support_tickets SET status = 'closed', closed_at = now(),"
                   " sla_due_at = NULL, sla_breach_check_at = NULL WHERE customer_id = '%s'"
                   " RETURNING 1", tag);
    ck_assert_msg(rc == 1, "exit %d:\n%s", rc, out);
    ck_assert_msg(breached > 0 && breached < 2000, "%ld breached", breached);
    const char *line = line_of(out, "sla_monitor_pass");
    ck_assert_msg(strstr(line, "\"level\":\"warn\"") != NULL &&
                      strstr(line, "\"detail\":\"stopped by a signal before it finished\"")
                          != NULL && count_in(line, "breached") == breached, "%s", line);
    ck_assert_msg(strstr(out, "\"job_pass_stopped\"") != NULL &&
                      strstr(out, "\"event\":\"housekeeping\"") == NULL, "%s", out);
    ck_assert_str_eq(job_runs("ticket-sla-monitor"), runs);
}
END_TEST

/* A job's command line it cannot run: exit 2 with one line naming what is
 * wrong, then the synopsis (QA: every mistake printed the whole --help,
 * and support-dispatch took --now and ignored it) -- as one JSON line,
 * since cron appends stderr to the job's log of JSON lines (QA: plain
 * text there); the plain text is for a terminal only. */
static void
refused_args(const char *program, const char *const args[], const char *why)
{
    const char *out;
    int rc = sp_t_job_run(program, NULL, args, &out);
    ck_assert_msg(rc == 2, "%s exited %d:\n%s", program, rc, out);
    char escaped[512];
    size_t n = 0;
    for (const char *c = why; *c != '\0' && n + 2 < sizeof(escaped); c++) {
        if (*c == '"')
            escaped[n++] = '\\';
        escaped[n++] = *c;
    }
    escaped[n] = '\0';
    ck_assert_msg(out[0] == '{' && strchr(out, '\n') == out + strlen(out) - 1 &&
                      strstr(out, "\"level\":\"fatal\",\"event\":\"usage_error\"") != NULL &&
                      strstr(out, sp_t_fmt("\"detail\":\"%s\",\"usage\":\"%s [--once | --loop] ",
                                           escaped, program)) != NULL,
                  "%s said:\n%s", program, out);
    ck_assert_msg(strstr(out, "settings (environment)") == NULL, "the whole help:\n%s", out);
}

START_TEST(a_job_names_what_is_wrong_with_its_command_line)
{
    const char *const bad_now[] = {"--once", "--now", "2026-13-45T10:00:00Z", NULL};
    refused_args("ticket-sla-monitor", bad_now,
                 "--now: \"2026-13-45T10:00:00Z\" is not an RFC 3339 time (e.g."
                 " 2024-05-01T12:00:00Z)");
    const char *const loop_now[] = {"--now", "2026-12-05T10:00:00Z", NULL};
    refused_args("ticket-sla-monitor", loop_now, "--now needs --once");
    const char *const both[] = {"--once", "--loop", NULL};
    refused_args("chat-session-archive", both, "--once and --loop exclude each other");
    const char *const interval[] = {"--interval", "0", NULL};
    refused_args("ai-usage-monitor", interval,
                 "--interval: \"0\" is not a whole number of seconds in 1..86400");
    const char *const missing[] = {"--once", "--interval", NULL};
    refused_args("attachment-cleanup", missing, "--interval needs a value");
    const char *const unknown[] = {"--once", "--fast", NULL};
    refused_args("dashboard-counts-check", unknown, "unknown option \"--fast\"");
    const char *const dispatch_now[] = {"--once", "--now", "2026-12-05T10:00:00Z", NULL};
    refused_args("support-dispatch", dispatch_now,
                 "--now is not taken: this job reads the database's clock");
    /* --help still prints the whole usage, to standard output, and exits 0. */
    const char *const help[] = {"--help", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("support-dispatch", NULL, help, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "settings (environment)"));
    ck_assert_ptr_null(strstr(out, "--now"));
}
END_TEST

/* --help is asked for: every program prints its usage and exits 0 (QA:
 * support-migrate exited 2, support-mail-in 64); a word it does not know
 * is still a usage error, in each program's own code. */
START_TEST(every_program_exits_0_for_help)
{
    static const struct {
        const char *program;
        int usage_error;
    } programs[] = {
        {"support-api", 2}, {"support-chat", 2}, {"support-migrate", 2},
        /* EX_CONFIG: the MTA defers the mail; EX_USAGE would bounce it */
        {"support-mail-in", 78}, {"ticket-sla-monitor", 2},
    };
    const char *const help[] = {"--help", NULL}, *const bogus[] = {"--bogus", NULL};
    for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
        const char *out;
        int rc = sp_t_job_run(programs[i].program, NULL, help, &out);
        ck_assert_msg(rc == 0 && strstr(out, "usage") != NULL, "%s --help exited %d:\n%s",
                      programs[i].program, rc, out);
        rc = sp_t_job_run(programs[i].program, NULL, bogus, &out);
        ck_assert_msg(rc == programs[i].usage_error, "%s --bogus exited %d:\n%s",
                      programs[i].program, rc, out);
    }
    /* ticket-sla-monitor's help says what the routing cap counts as
     * docs/operations.md does (QA: "open or in-progress"). */
    const char *out;
    ck_assert_int_eq(sp_t_job_run("ticket-sla-monitor", NULL, help, &out), 0);
    ck_assert_msg(strstr(out, "open, in-progress or waiting-on-customer") != NULL, "%s", out);
}
END_TEST

/* A job's --help: its row of setting name in the settings it lists. */
static bool
help_lists(const char *help, const char *name)
{
    return strstr(help, sp_t_fmt("\n  %s ", name)) != NULL;
}

/* Each job's --help lists the settings it reads, not the whole table of
 * some 100 (QA: ticket-sla-monitor's 5 were buried among the API's, the
 * chat's, S3's and the AI's); every one the database's, and a list that
 * names a setting the table lacks fails the help (exit 1). */
START_TEST(each_job_help_lists_the_settings_it_reads)
{
    const char *const args[] = {"--help", NULL};
    const char *out;
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
        int rc = sp_t_job_run(jobs[i].program, NULL, args, &out);
        ck_assert_msg(rc == 0, "%s --help exited %d:\n%s", jobs[i].program, rc, out);
        ck_assert_msg(help_lists(out, "SUPPORT_DATABASE_URL") &&
                          help_lists(out, "SUPPORT_LOG_LEVEL") &&
                          !help_lists(out, "SUPPORT_JWT_KEYS"),
                      "%s --help:\n%s", jobs[i].program, out);
    }
    static const struct {
        const char *program, *reads, *not_read;
    } cases[] = {
        {"ticket-sla-monitor", "SUPPORT_AUTOCLOSE_DAYS", "SUPPORT_CHAT_RATE_PER_MINUTE"},
        {"ticket-sla-monitor", "SUPPORT_SLA_WARN_FRACTION", "SUPPORT_S3_BUCKET"},
        {"ai-usage-monitor", "SUPPORT_AI_USAGE_USER_BURST", "SUPPORT_S3_BUCKET"},
        {"ai-usage-monitor", "SUPPORT_AI_USAGE_MIN_REQUESTS", "SUPPORT_AI_API_KEY"},
        {"support-scan", "SUPPORT_S3_BUCKET", "SUPPORT_SMTP_URL"},
        {"support-scan", "SUPPORT_CLAMD_SOCKET", "SUPPORT_EMBEDDINGS_URL"},
        {"attachment-cleanup", "SUPPORT_S3_SECRET_ACCESS_KEY", "SUPPORT_CLAMD_SOCKET"},
        {"support-dispatch", "SUPPORT_SMTP_PASSWORD", "SUPPORT_S3_BUCKET"},
        {"support-dispatch", "SUPPORT_ENCRYPTION_KEYS", "SUPPORT_MAIL_AUTHSERV_ID"},
        {"support-dispatch", "SUPPORT_TEMPLATES_DIR", "SUPPORT_CHAT_IDLE_MINUTES"},
        {"knowledge-embedding-sync", "SUPPORT_EMBEDDINGS_URL", "SUPPORT_AI_BASE_URL"},
        {"chat-session-archive", "SUPPORT_CHAT_IDLE_MINUTES", "SUPPORT_CHAT_RATE_PER_MINUTE"},
        {"dashboard-counts-check", "SUPPORT_DB_STATEMENT_TIMEOUT_MS", "SUPPORT_CUSTOMER_CHANNELS"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(sp_t_job_run(cases[i].program, NULL, args, &out), 0);
        ck_assert_msg(help_lists(out, cases[i].reads), "%s --help lacks %s:\n%s",
                      cases[i].program, cases[i].reads, out);
        ck_assert_msg(!help_lists(out, cases[i].not_read), "%s --help lists %s:\n%s",
                      cases[i].program, cases[i].not_read, out);
    }
}
END_TEST

/* SIGHUP to a job running as a daemon (the units' ExecReload): it reads
 * its settings and *_FILE secrets again between passes and goes on, on a
 * fresh connection; a bad file is refused (reload_failed, naming the
 * variable) and the running settings kept; SIGTERM still ends it.
 * Without a handler SIGHUP would kill it. */
START_TEST(sighup_reloads_a_job_daemon)
{
    const char *dir = getenv("SP_TEST_STACK_DIR");
    ck_assert_ptr_nonnull(dir);
    const char *file = sp_t_fmt("%s/secrets/job_database_url", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", getenv("SP_TEST_DATABASE_URL"));
    fclose(f);
    /* The file alone: the harness's SUPPORT_DATABASE_URL emptied (unset;
     * both set are refused). */
    const char *env[] = {sp_t_fmt("SUPPORT_DATABASE_URL_FILE=%s", file), "SUPPORT_DATABASE_URL=",
                         NULL};
    const char *args[] = {"--loop", "--interval", "1", NULL};
    struct sp_t_job j;
    sp_t_job_start(&j, "ticket-sla-monitor", env, args);
    sp_t_job_says(&j, "\"job_started\"", 1);

    ck_assert_int_eq(kill(j.pid, SIGHUP), 0);
    sp_t_job_says(&j, "\"job_reloaded\"", 1);
    assert_alive(j.pid);

    f = fopen(file, "w");   /* empty: a bad secret file */
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(kill(j.pid, SIGHUP), 0);
    sp_t_job_says(&j, "SUPPORT_DATABASE_URL_FILE: the file is empty", 1);
    sp_t_job_says(&j, "\"reload_failed\"", 1);
    /* The running settings go on working: passes keep succeeding. */
    long runs = atol(sp_t_sql("SELECT runs - failures FROM support_job_runs"
                              " WHERE job = 'ticket-sla-monitor'"));
    long later = runs;
    for (int tries = 0; tries < 100 && later < runs + 2; tries++) {
        usleep(100 * 1000);
        later = atol(sp_t_sql("SELECT runs - failures FROM support_job_runs"
                              " WHERE job = 'ticket-sla-monitor'"));
    }
    ck_assert_int_ge(later, runs + 2);
    assert_alive(j.pid);

    ck_assert_int_eq(kill(j.pid, SIGTERM), 0);
    const char *out;
    ck_assert_int_eq(sp_t_job_wait(&j, &out), 0);
    ck_assert_msg(strstr(out, "\"job_stopped\"") != NULL, "%s", out);
    unlink(file);
}
END_TEST

/* ---- graceful shutdown ------------------------------------------------------ */

/* server.c's SP_DRAIN_SECONDS (docs/operations.md: "the master waits up
 * to 30 s, then kills stragglers"). */
#define DRAIN_SECONDS 30

/* A request made by a forked child, so that the test can act while it is
 * in flight. The child writes "<status> <problem code or ->" to a pipe. */
struct bg_request {
    pid_t pid;
    int fd;
};

static struct bg_request
bg_start(const char *method, const char *path, const char *token, const char *body)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        struct sp_t_resp *r =
            sp_t_request(method, path, token, body != NULL ? SP_T_JSON : NULL, body, NULL);
        struct json_object *code = NULL;
        bool problem = r->json != NULL && json_object_object_get_ex(r->json, "code", &code);
        dprintf(fds[1], "%ld %s", r->status, problem ? json_object_get_string(code) : "-");
        _exit(0);
    }
    close(fds[1]);
    return (struct bg_request){pid, fds[0]};
}

/* Whether the answer (or the child's end) has come, without waiting. */
static bool
bg_answered(const struct bg_request *b)
{
    struct pollfd p = {.fd = b->fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Waits for the child; its answer, "" when it had none. */
static const char *
bg_wait(struct bg_request *b)
{
    char buf[256];
    size_t len = 0;
    ssize_t k;
    while (len < sizeof(buf) - 1 && (k = read(b->fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
        if (k < 0 && errno == EINTR)
            continue;
        ck_assert_int_gt(k, 0);
        len += (size_t)k;
    }
    buf[len] = '\0';
    close(b->fd);
    int status;
    ck_assert_int_eq(waitpid(b->pid, &status, 0), b->pid);
    return sp_t_fmt("%s", buf);
}

static void
exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(c));
    PQclear(r);
}

/* Waits (up to 20 s) until a session waits for a lock the session
 * `holder` holds: the request is then inside a worker. */
static void
wait_blocked_by(int holder)
{
    for (int i = 0; i < 200; i++) {
        if (atol(sp_t_sql("SELECT count(*) FROM pg_stat_activity"
                          " WHERE %d = ANY(pg_blocking_pids(pid))",
                          holder)) > 0)
            return;
        usleep(100 * 1000);
    }
    ck_abort_msg("no request came to wait on the ticket's lock");
}

/* Waits (up to 20 s) until the master has at most n children. */
static size_t
wait_children_at_most(pid_t master, size_t n)
{
    pid_t kids[64];
    size_t m = 0;
    for (int i = 0; i < 200; i++) {
        m = sp_t_children(master, kids, 64);
        if (m <= n)
            break;
        usleep(100 * 1000);
    }
    return m;
}

/* Whether pid is a live process (a zombie is gone: stack.sh's test). */
static bool
alive(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    const char *end = ok ? strrchr(line, ')') : NULL;
    return end != NULL && end[1] == ' ' && end[2] != 'Z';
}

/* SIGTERM while a request is in flight (ARCHITECTURE.md: the master
 * "drains on SIGTERM"). The request is a customer reply waiting on a row
 * lock this test holds, so it is in a worker for as long as the test
 * wants, whatever the machine's load. The drain must let it finish: its
 * 201 is the proof. A SIGTERM that ended workers at once (a worker dying
 * of SIGTERM mid-request, or a master that SIGKILLs without waiting)
 * would cut it: nginx would answer 502 and the reply would be lost.
 *
 * What happens to a request that arrives during the drain: the idle
 * workers have left, the busy one accepts nothing more, and the master
 * removed the socket's path when the drain began, so nginx's connect
 * fails and it answers 502 problem+json at once — not after the slowest
 * request, as when the path stayed until the end. No draining worker
 * ever serves it. */
START_TEST(sigterm_lets_the_request_in_flight_finish_then_the_master_exits)
{
    /* This start only: the reply waits on our lock, not on the 5 s
     * statement timeout (the teardown restarts with the usual settings). */
    sp_t_stackctl("restart-api-with SUPPORT_DB_STATEMENT_TIMEOUT_MS=120000");
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "replied during a drain");
    pid_t master = sp_t_master_pid("support-api");

    PGconn *lock = PQconnectdb(getenv("SP_TEST_DATABASE_URL"));
    ck_assert_int_eq(PQstatus(lock), CONNECTION_OK);
    exec_ok(lock, "BEGIN");
    exec_ok(lock, sp_t_fmt("SELECT id FROM support_tickets WHERE public_id = '%s' FOR UPDATE",
                           id));
    struct bg_request reply = bg_start("POST", sp_t_fmt("/support/tickets/%s/messages", id),
                                       u.token, "{\"body\":\"sent while the API stops\"}");
    wait_blocked_by(PQbackendPID(lock));

    ck_assert_int_eq(kill(master, SIGTERM), 0);
    time_t term_at = time(NULL);
    /* The idle workers leave at once; the one serving the reply stays. */
    size_t left = wait_children_at_most(master, 1);
    ck_assert_msg(left == 1, "%zu workers left: the one serving the reply must stay until done",
                  left);
    ck_assert(alive(master));
    /* The socket's path went with the SIGTERM: a request made during the
     * drain fails at once rather than waiting in the backlog for it. */
    struct bg_request late = bg_start("GET", "/support/healthz", NULL, NULL);
    ck_assert_str_eq(bg_wait(&late), "502 dependency_unavailable");
    ck_assert_msg(!bg_answered(&reply), "the reply was answered before its lock was released");

    exec_ok(lock, "COMMIT");
    PQfinish(lock);
    ck_assert_str_eq(bg_wait(&reply), "201 -");
    while (alive(master) && time(NULL) - term_at <= DRAIN_SECONDS + 10)
        usleep(100 * 1000);
    ck_assert_msg(!alive(master), "the master still runs %ld s after SIGTERM",
                  (long)(time(NULL) - term_at));
    ck_assert_int_le(time(NULL) - term_at, DRAIN_SECONDS);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ticket_messages m"
                              " JOIN support_tickets t ON t.id = m.ticket_id"
                              " WHERE t.public_id = '%s' AND m.body = 'sent while the API stops'",
                              id),
                     "1");

    sp_t_stackctl("start-api");
    struct sp_t_resp *r = sp_t_get("/support/healthz", NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* ---- one socket, one master ------------------------------------------------ */

/* The settings a FastCGI program starts with here, listening on path
 * (until the next call). */
static const char *const *
server_env(const char *path)
{
    static const char *env[7];
    const char *root = getenv("SP_TEST_TOP_SRCDIR");
    env[0] = sp_t_fmt("SUPPORT_JWT_KEYS_FILE=%s", getenv("SP_TEST_JWT_KEYS_FILE"));
    env[1] = sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates", root);
    env[2] = sp_t_fmt("SUPPORT_MIGRATIONS_DIR=%s/sql", root);
    env[3] = sp_t_fmt("SUPPORT_LISTEN=%s", path);
    env[4] = sp_t_fmt("SUPPORT_CHAT_LISTEN=%s", path);
    env[5] = "SUPPORT_WORKERS=1";
    env[6] = NULL;
    return env;
}

/* A second support-api or support-chat started on the socket a running
 * master listens on refuses to start (exit 1, listen_failed saying why),
 * and the running one keeps its socket (QA: the second unlinked it and
 * bound its own, the first ran on unreachable, every request 502 once
 * the second was gone). */
START_TEST(a_second_server_on_a_socket_in_use_refuses_to_start)
{
    static const char *const programs[] = {"support-api", "support-chat"};
    for (size_t i = 0; i < 2; i++) {
        const char *path = sp_t_fmt("%s/run/%s.sock", getenv("SP_TEST_STACK_DIR"), programs[i]);
        struct stat before, after;
        ck_assert_int_eq(stat(path, &before), 0);
        long long started = now_ms();
        const char *out;
        int rc = sp_t_job_run(programs[i], server_env(path), (const char *const[]){NULL}, &out);
        ck_assert_msg(rc == 1 && now_ms() - started < 5000, "%s exited %d:\n%s", programs[i],
                      rc, out);
        const char *line = line_of(out, "listen_failed");
        ck_assert_msg(strstr(line, "a running process listens on it") != NULL, "%s", line);
        ck_assert_msg(strstr(out, "\"server_started\"") == NULL, "%s", out);
        ck_assert_int_eq(stat(path, &after), 0);
        ck_assert_msg(after.st_ino == before.st_ino, "%s: the socket was replaced", path);
    }
    for (int i = 0; i < 8; i++) {
        struct sp_t_resp *r = sp_t_get("/support/healthz", NULL);
        sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
    }
}
END_TEST

/* A socket nobody listens on any more (a killed master's) is replaced,
 * as before: the new master starts on it. */
START_TEST(a_stale_socket_is_replaced_at_start)
{
    const char *path = sp_t_fmt("%s/run/stale-%ld.sock", getenv("SP_TEST_STACK_DIR"),
                                (long)getpid());
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);   /* the path stays; a connect is refused */
    struct sp_t_job j;
    sp_t_job_start(&j, "support-api", server_env(path), (const char *const[]){NULL});
    sp_t_job_says(&j, "\"server_started\"", 1);
    ck_assert_int_eq(kill(j.pid, SIGTERM), 0);
    const char *out;
    ck_assert_int_eq(sp_t_job_wait(&j, &out), 0);
    ck_assert_msg(strstr(out, "listen_failed") == NULL, "%s", out);
    unlink(path);
}
END_TEST

/* Unchecked (in the runner, whatever the test's outcome): the API runs
 * again, with the usual settings. */
static void
api_back(void)
{
    sp_t_stackctl("restart-api");
}

/* ---- readiness against the schema ------------------------------------------ */

/* The newest applied migration, hidden from max(version) by negating its
 * version (the row keeps its name and applied_at), as if the release
 * were newer than the database. */
static const char *const hide_newest =
    "UPDATE schema_migrations SET version = -version"
    " WHERE version = (SELECT max(version) FROM schema_migrations) RETURNING -version";
static const char *const unhide = "UPDATE schema_migrations SET version = -version"
                                  " WHERE version < 0 RETURNING version";

/* Unchecked: the schema is whole again even when the test failed midway. */
static void
migrations_back(void)
{
    PGconn *c = PQconnectdb(getenv("SP_TEST_DATABASE_URL"));
    if (PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, unhide));
    PQfinish(c);
}

/* readyz reads the schema version on every request (health.c: nothing is
 * cached), so it follows the table both ways without a restart, on every
 * worker. */
START_TEST(readyz_is_503_while_migrations_are_behind)
{
    const char *newest = sp_t_sql("SELECT max(version) FROM schema_migrations");
    ck_assert_str_eq(sp_t_sql("%s", hide_newest), newest);
    const char *behind = sp_t_sql("SELECT max(version) FROM schema_migrations");
    ck_assert_int_lt(atoi(behind), atoi(newest));
    const char *why = sp_t_fmt("at %s, expected %s", behind, newest);
    for (int i = 0; i < 8; i++) {
        struct sp_t_resp *r = sp_t_get("/support/readyz", NULL);
        sp_t_assert_json(r, 503);
        ck_assert_str_eq(sp_t_jstr(r->json, "status"), "unavailable");
        struct json_object *checks = sp_t_jobj(r->json, "checks");
        ck_assert_str_eq(sp_t_jstr(checks, "database"), "ok");
        ck_assert_str_eq(sp_t_jstr(checks, "migrations"), why);
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_get("/support/healthz", NULL);  /* alive, just not ready */
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);

    ck_assert_str_eq(sp_t_sql("%s", unhide), newest);
    for (int i = 0; i < 8; i++) {
        r = sp_t_get("/support/readyz", NULL);
        sp_t_assert_json(r, 200);
        ck_assert_str_eq(sp_t_jstr(sp_t_jobj(r->json, "checks"), "migrations"), "ok");
        sp_t_resp_free(r);
    }
}
END_TEST

/* ---- a database support-migrate never ran on ----------------------------- */

#define NOT_MIGRATED "the database schema is not migrated: run support-migrate"

/* A new, empty database next to the stack's, and its conninfo. */
static const char *
empty_database(const char **name)
{
    *name = sp_t_fmt("bare_%ld_%ld", (long)getpid(), (long)time(NULL));
    sp_t_sql("CREATE DATABASE %s", *name);
    return sp_t_fmt("%s dbname=%s", getenv("SP_TEST_DATABASE_URL"), *name);
}

/* Runs sql on the database at url, asserting it succeeded. */
static void
sql_at(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* Its statements failed with PostgreSQL's "relation ... does not exist"
 * (a 500 to clients, db_error in the log): each says what to do instead,
 * as readyz's migrations check does. */
START_TEST(an_unmigrated_database_says_run_support_migrate)
{
    const char *db;
    const char *url = empty_database(&db);
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
        /* knowledge-embedding-sync asks its embedder first (not set up
         * here). dashboard-counts-check calls a function first: an
         * undefined function (42883) on a database without migrations is
         * its schema too (QA: "the request could not be completed"). */
        if (strcmp(jobs[i].program, "knowledge-embedding-sync") == 0)
            continue;
        bool function = strcmp(jobs[i].program, "dashboard-counts-check") == 0;
        const char *out = assert_pass_failed(i, url, NOT_MIGRATED);
        const char *line = line_of(out, "db_not_migrated");
        ck_assert_msg(strstr(line, sp_t_fmt("\"hint\":\"%s\"", NOT_MIGRATED)) != NULL &&
                          strstr(line, function ? "\"sqlstate\":\"42883\""
                                                : "\"sqlstate\":\"42P01\"") != NULL,
                      "%s: %s", jobs[i].program, line);
        ck_assert_msg(strstr(out, "\"db_error\"") == NULL, "%s:\n%s", jobs[i].program, out);
        /* Once: not again for the record of the run (QA: twice). */
        ck_assert_msg(occurrences(out, "\"event\":\"db_not_migrated\"") == 1, "%s:\n%s",
                      jobs[i].program, out);
    }
    /* A database with migrations that lacks what a statement names: behind
     * this release, or a statement of ours naming what no migration made
     * (a bug) — never "not migrated". */
    sql_at(url, "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text);"
                " INSERT INTO schema_migrations VALUES (5, '005_inline_helpers.sql')");
    const char *mismatch = "the database schema lacks what this release uses: run"
                           " support-migrate (nothing to apply: a bug, report it)";
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
        if (strcmp(jobs[i].program, "knowledge-embedding-sync") == 0)
            continue;
        const char *out = assert_pass_failed(i, url, mismatch);
        const char *line = line_of(out, "db_schema_mismatch");
        ck_assert_msg(strstr(line, sp_t_fmt("\"hint\":\"%s\"", mismatch)) != NULL, "%s: %s",
                      jobs[i].program, line);
        ck_assert_msg(strstr(out, "db_not_migrated") == NULL &&
                          occurrences(out, "\"event\":\"db_schema_mismatch\"") == 1,
                      "%s:\n%s", jobs[i].program, out);
    }

    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "asked of an unmigrated database");
    /* The stack names its own database after extra settings: the API
     * finds no table through a search_path of a schema that is not
     * there, as in a database never migrated. */
    sp_t_stackctl("restart-api-with 'PGOPTIONS=-c search_path=not_migrated'");
    for (int i = 0; i < 4; i++) {
        struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/tickets/%s", id), u.token);
        sp_t_assert_problem(r, 503, "dependency_unavailable");
        ck_assert_str_eq(sp_t_jstr(r->json, "detail"), NOT_MIGRATED);
        sp_t_resp_free(r);
        r = sp_t_get("/support/readyz", NULL);
        sp_t_assert_json(r, 503);
        const char *m = sp_t_jstr(sp_t_jobj(r->json, "checks"), "migrations");
        ck_assert_msg(strncmp(m, "at 0, expected ", 15) == 0, "migrations: %s", m);
        sp_t_resp_free(r);
    }
    sp_t_stackctl("restart-api");
    sp_t_sql("DROP DATABASE %s WITH (FORCE)", db);
}
END_TEST

/* ---- --env-file: the settings file as systemd reads it ------------------- */

/* support-migrate and the FastCGI programs' --check-config read the
 * settings file (docs/operations.md's steps by hand) as the jobs' and
 * systemd do, over the environment's (here unusable ones): an unquoted
 * value with spaces (the conninfo) and one with a space, `$` and
 * backquotes (the migrations directory's name) taken as written, where
 * sh's `set -a; . file` cut both at their first space and expanded $HOME
 * and `id`. */
START_TEST(migrate_and_check_config_read_the_settings_file_as_systemd_does)
{
    const char *root = getenv("SP_TEST_TOP_SRCDIR");
    char dir[] = "/tmp/sp-test-env-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *sql = sp_t_fmt("%s/sql $HOME `id`", dir);
    ck_assert_int_eq(symlink(sp_t_fmt("%s/sql", root), sql), 0);
    const char *path = sp_t_env_file(dir, sp_t_fmt(
        "# the settings, NAME=value as systemd reads them\n"
        "SUPPORT_DATABASE_URL=%s\n"
        "SUPPORT_MIGRATIONS_DIR=%s\n"
        "  ; a comment\n"
        "SUPPORT_TEMPLATES_DIR='%s/templates'\n"
        "SUPPORT_JWT_KEYS_FILE=%s\n"
        "SUPPORT_MAIL_FROM_NAME=Acme Support\n",
        getenv("SP_TEST_DATABASE_URL"), sql, root, getenv("SP_TEST_JWT_KEYS_FILE")));
    const char *env[] = {"SUPPORT_DATABASE_URL=host=/nonexistent",
                         "SUPPORT_MIGRATIONS_DIR=/nonexistent", NULL};
    const char *out;
    int rc = sp_t_job_run("support-migrate", env, (const char *const[]){"--env-file", path, NULL},
                          &out);
    ck_assert_msg(rc == 0 && strstr(line_of(out, "migrate_done"), "\"applied\":0") != NULL,
                  "exit %d:\n%s", rc, out);
    const char *const programs[] = {"support-api", "support-chat"};
    for (size_t i = 0; i < 2; i++) {
        rc = sp_t_job_run(programs[i], env,
                          (const char *const[]){"--check-config", "--env-file", path, NULL}, &out);
        ck_assert_msg(rc == 0 && strstr(out, "configuration ok\n") != NULL, "%s exit %d:\n%s",
                      programs[i], rc, out);
    }
    unlink(path);
    unlink(sql);
    rmdir(dir);
}
END_TEST

/* A line that is no assignment, or a file that cannot be read: a
 * bad_config line naming the file and the line, never its text, and exit
 * 1, as a job's; --env-file without --check-config is a usage error (a
 * running server's settings are its unit's EnvironmentFile=). */
START_TEST(a_refused_settings_file_stops_migrate_and_check_config)
{
    char dir[] = "/tmp/sp-test-env-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *path = sp_t_env_file(dir, "SUPPORT_LOG_LEVEL=info\nMY SECRET=hunter2\n");
    static const struct {
        const char *program, *check;
    } programs[] = {{"support-migrate", NULL}, {"support-api", "--check-config"},
                    {"support-chat", "--check-config"}};
    const char *why[] = {"line 2: not NAME=value with a NAME of letters, digits and _",
                         "cannot be read: No such file or directory"};
    for (size_t f = 0; f < 2; f++) {
        for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
            const char *args[] = {"--env-file", path, programs[i].check, NULL};
            const char *out;
            int rc = sp_t_job_run(programs[i].program, NULL, args, &out);
            const char *line = line_of(out, "bad_config");
            ck_assert_msg(rc == 1 && strstr(line, sp_t_fmt("\"msg\":\"--env-file %s: %s\"",
                                                            path, why[f])) != NULL &&
                              strstr(out, "hunter2") == NULL, "%s exit %d:\n%s",
                          programs[i].program, rc, out);
        }
        unlink(path);
    }
    rmdir(dir);
    const char *out;
    int rc = sp_t_job_run("support-api", NULL, (const char *const[]){"--env-file", path, NULL},
                          &out);
    ck_assert_msg(rc == 2 && strstr(out, "--env-file goes with --check-config") != NULL,
                  "exit %d:\n%s", rc, out);
}
END_TEST

/* ---- the blind index key, printed for the settings ------------------------ */

/* One page (limit 1) of the agent queue for customer_email, after cursor
 * (NULL: the first): its ticket's public id ("" for none) and *next, the
 * next page's cursor or NULL; a cursor the API refuses: "422". */
static const char *
queue_by_email(const struct sp_t_user *agent, const char *email, const char *cursor,
               const char **next)
{
    struct sp_t_resp *r = sp_t_get(
        sp_t_fmt("/support/agent/tickets?limit=1&sort=created_at&customer_email=%s%s%s",
                 sp_t_urlencode(email), cursor != NULL ? "&cursor=" : "",
                 cursor != NULL ? sp_t_urlencode(cursor) : ""), agent->token);
    if (r->status == 422) {
        sp_t_resp_free(r);
        return "422";
    }
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data"), *n = sp_t_jget(r->json, "next_cursor");
    const char *id = json_object_array_length(data) == 0
        ? "" : sp_t_fmt("%s", sp_t_jstr(json_object_array_get_idx(data, 0), "public_id"));
    *next = n != NULL ? sp_t_fmt("%s", json_object_get_string(n)) : NULL;
    sp_t_resp_free(r);
    return id;
}

/* QA (two nodes): "set SUPPORT_PII_INDEX_KEY first" could not be
 * followed — the key that keeps the stored email indexes is derived from
 * the oldest PII key and nothing said it; a node restarted with another
 * found 0 tickets by customer_email and refused the others' cursors
 * (422). support-api --print-pii-index-key prints it (stdout: the key
 * alone); set as SUPPORT_PII_INDEX_KEY beside a ring that lacks every
 * old key, the same tickets are found and the cursors still read. That
 * node cannot open the contacts sealed under the old key: it says so in
 * its log (pii_decrypt_failed, the key's label, no PII) instead of
 * showing null silently. */
START_TEST(the_printed_index_key_keeps_lookups_once_the_old_keys_are_gone)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *email = sp_t_fmt("Index.Key+%s@Example.com", c.sub);
    c.token = sp_t_token_claims(SP_ROLE_CUSTOMER, c.sub,
                                sp_t_fmt("{\"name\":\"Kim Index\",\"email\":%s}", sp_t_jq(email)));
    const char *first = sp_t_ticket_create(&c, "index key one");
    const char *second = sp_t_ticket_create(&c, "index key two");
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *cursor, *next;
    ck_assert_str_eq(queue_by_email(&agent, email, NULL, &cursor), first);
    ck_assert_ptr_nonnull(cursor);
    ck_assert_str_eq(queue_by_email(&agent, email, cursor, &next), second);

    const char *root = getenv("SP_TEST_TOP_SRCDIR");
    char dir[] = "/tmp/sp-test-env-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *others = sp_t_fmt(
        "SUPPORT_JWT_KEYS_FILE=%s\nSUPPORT_TEMPLATES_DIR=%s/templates\n"
        "SUPPORT_MIGRATIONS_DIR=%s/sql\nSUPPORT_LOG_LEVEL=error\nSUPPORT_ATTACHMENT_KEYS=a1:%s\n",
        getenv("SP_TEST_JWT_KEYS_FILE"), root, root, sp_t_repeat("k", 32));
    const char *settings = sp_t_env_file(dir, sp_t_fmt("SUPPORT_ENCRYPTION_KEYS_FILE=%s\n%s",
                                                       getenv("SP_TEST_ENCRYPTION_KEYS_FILE"),
                                                       others));
    const char *out;
    int rc = sp_t_job_run("support-api", NULL, (const char *const[]){"--print-pii-index-key",
                                                                     "--env-file", settings, NULL},
                          &out);
    ck_assert_msg(rc == 0 && sp_t_matches("^[A-Za-z0-9+/]{43}=\n$", out), "exit %d:\n%s", rc,
                  out);
    const char *key = sp_t_fmt("%.44s", out);
    /* without PII keys there is no index key to print: refused, no key said */
    sp_t_env_file(dir, others);
    rc = sp_t_job_run("support-api", NULL, (const char *const[]){"--print-pii-index-key",
                                                                 "--env-file", settings, NULL},
                      &out);
    ck_assert_msg(rc == 1 && strstr(line_of(out, "bad_config"), "SUPPORT_ENCRYPTION_KEYS is not"
                                    " set: there is no blind index key") != NULL &&
                      !sp_t_matches("[A-Za-z0-9+/]{43}=", out), "exit %d:\n%s", rc, out);
    const char *label = sp_t_sql("SELECT split_part(name_enc, ':', 1) FROM support_contacts"
                                 " WHERE customer_id = '%s'", c.sub);
    const char *ring = sp_t_fmt("%s/new_ring", dir);
    FILE *f = fopen(ring, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "ix%ld:%s\n", (long)getpid(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    ck_assert_int_eq(fclose(f), 0);

    long from = sp_t_api_log_size();
    sp_t_stackctl(sp_t_fmt("restart-api-with SUPPORT_ENCRYPTION_KEYS_FILE=%s"
                           " SUPPORT_PII_INDEX_KEY=%s", ring, key));
    ck_assert_str_eq(queue_by_email(&agent, email, NULL, &next), first);
    ck_assert_str_eq(queue_by_email(&agent, email, cursor, &next), second);
    struct sp_t_resp *r = sp_t_agent_ticket(&agent, first);
    sp_t_assert_jnull(sp_t_jobj(r->json, "customer"), "name");
    sp_t_resp_free(r);
    const char *line = sp_t_api_log_line(from, "\"pii_decrypt_failed\"");
    ck_assert_msg(strstr(line, sp_t_fmt("\"key_version\":\"%s\",\"reason\":\"unknown_key\"",
                                        label)) != NULL, "%s", line);
    ck_assert_msg(strstr(line, "Kim") == NULL && strstr(line, "Index.Key") == NULL, "%s", line);

    /* without it, what QA saw: none found, the cursor refused */
    sp_t_stackctl(sp_t_fmt("restart-api-with SUPPORT_ENCRYPTION_KEYS_FILE=%s", ring));
    ck_assert_str_eq(queue_by_email(&agent, email, NULL, &next), "");
    ck_assert_str_eq(queue_by_email(&agent, email, cursor, &next), "422");
    sp_t_stackctl("restart-api");
    unlink(ring);
    unlink(settings);
    rmdir(dir);
}
END_TEST

static Suite *
operations_suite(void)
{
    Suite *s = suite_create("operations");
    TCase *tc = sp_t_tcase(s, "database");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, restarted_database_needs_no_worker_restart);
    tcase_add_test(tc, database_down_is_503_and_readyz_says_so);
    tcase_add_test(tc, statement_timeout_is_503_saying_the_database_was_slow);
    tc = sp_t_tcase(s, "hung_database");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, NULL, cluster_continue);
    tcase_add_unchecked_fixture(tc, NULL, api_back);
    tcase_add_test(tc, readyz_gives_up_on_a_database_that_does_not_answer);
    tcase_add_test(tc, a_request_gives_up_on_a_database_that_does_not_answer);
    tcase_add_test(tc, a_job_daemon_gives_up_on_a_stopped_database);
    tc = sp_t_tcase(s, "job_database");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, NULL, pg_back);   /* also when the test failed midway */
    tcase_add_test(tc, a_job_daemon_backs_off_while_the_database_is_down);
    tcase_add_test(tc, every_job_says_why_its_pass_failed_without_its_database);
    tcase_add_test(tc, a_once_job_connects_once_to_a_missing_database);
    tcase_add_test(tc, a_dispatch_daemon_logs_a_failed_connect_once_a_pass);
    tcase_add_test(tc, an_idle_scan_pass_is_logged_at_info);
    tcase_add_test(tc, a_once_job_stopped_in_a_statement_says_stopped);
    tcase_add_test(tc, a_once_pass_stopped_midway_is_no_success_and_exits_1);
    tc = sp_t_tcase(s, "silent_database");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, every_job_gives_up_on_a_database_that_does_not_answer);
    tcase_add_test(tc, sigterm_ends_a_job_waiting_on_a_database_that_does_not_answer);
    tcase_add_test(tc, support_migrate_gives_up_on_a_database_that_does_not_answer);
    tc = sp_t_tcase(s, "unmigrated");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, NULL, api_back);
    tcase_add_test(tc, an_unmigrated_database_says_run_support_migrate);
    tc = sp_t_tcase(s, "workers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, killed_worker_is_respawned);
    tcase_add_test(tc, workers_leave_with_a_killed_master);
    tcase_add_test(tc, sighup_reloads_jwt_keys_from_file);
    tcase_add_test(tc, sighup_reloads_a_job_daemon);
    tcase_add_test(tc, a_second_server_on_a_socket_in_use_refuses_to_start);
    tcase_add_test(tc, a_stale_socket_is_replaced_at_start);
    tc = sp_t_tcase(s, "nginx");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, nginx_answers_502_as_problem_json_when_workers_are_gone);
    tcase_add_test(tc, body_over_nginx_limit_is_413_problem_json);
    tc = sp_t_tcase(s, "migrations");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, concurrent_migrations_apply_once_and_newer_database_is_refused);
    tc = sp_t_tcase(s, "readiness");
    tcase_add_unchecked_fixture(tc, NULL, migrations_back);
    tcase_add_test(tc, readyz_is_503_while_migrations_are_behind);
    tcase_add_test(tc, a_job_names_what_is_wrong_with_its_command_line);
    tcase_add_test(tc, each_job_help_lists_the_settings_it_reads);
    tcase_add_test(tc, every_program_exits_0_for_help);
    tc = sp_t_tcase(s, "env_file");
    tcase_add_test(tc, migrate_and_check_config_read_the_settings_file_as_systemd_does);
    tcase_add_test(tc, a_refused_settings_file_stops_migrate_and_check_config);
    tc = sp_t_tcase(s, "index_key");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, NULL, api_back);
    tcase_add_test(tc, the_printed_index_key_keeps_lookups_once_the_old_keys_are_gone);
    tc = sp_t_tcase(s, "drain");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, NULL, api_back);
    tcase_add_test(tc, sigterm_lets_the_request_in_flight_finish_then_the_master_exits);
    return s;
}

int
main(void)
{
    return sp_t_run(operations_suite());
}
