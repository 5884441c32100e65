/*
 * test_hygiene: production defaults around the API (issue 8, item 7).
 * Authenticated answers are never cached (Cache-Control: no-store) while
 * public ones stay cacheable; the FastCGI sockets are 0660 with nginx's
 * group rather than world-writable; support-token refuses a long-lived
 * admin token unless told --force.
 */
#include "harness.h"
#include "core/utf8.h"

#include <glob.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void
assert_no_store(const struct sp_t_resp *r, const char *what)
{
    const char *cc = sp_t_header(r, "Cache-Control");
    ck_assert_msg(cc != NULL && sp_t_list_has(cc, "no-store"), "%s: Cache-Control %s", what,
                  cc ? cc : "(none)");
    ck_assert_msg(sp_t_header_count(r, "Cache-Control") == 1, "%s: %zu Cache-Control headers",
                  what, sp_t_header_count(r, "Cache-Control"));
}

START_TEST(customer_ticket_answers_are_no_store)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_ticket_create(&u, "Where is my refund?");
    struct sp_t_resp *r = sp_t_ticket_get(&u, id);
    assert_no_store(r, "GET /support/tickets/:id");
    sp_t_resp_free(r);
    r = sp_t_get("/support/tickets", u.token);
    sp_t_assert_json(r, 200);
    assert_no_store(r, "GET /support/tickets");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(agent_and_admin_answers_are_no_store)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    struct sp_t_resp *r = sp_t_get("/support/agent/tickets", agent.token);
    sp_t_assert_json(r, 200);
    assert_no_store(r, "GET /support/agent/tickets");
    sp_t_resp_free(r);
    r = sp_t_get("/support/admin/categories", admin.token);
    sp_t_assert_json(r, 200);
    assert_no_store(r, "GET /support/admin/categories");
    sp_t_resp_free(r);
    /* A refusal on an authenticated route is not cached either. */
    r = sp_t_get("/support/admin/categories", agent.token);
    sp_t_assert_problem(r, 403, "forbidden");
    assert_no_store(r, "403 on /support/admin/categories");
    sp_t_resp_free(r);
}
END_TEST

/* Public answers are not no-store by their route (the dispatcher keys
 * no-store on authenticated routes): a knowledge-base read says how long
 * a cache may keep it; the probes say no-store themselves, since they
 * describe this node now (test_health). */
START_TEST(public_reads_keep_their_own_cache_control)
{
    struct sp_t_resp *r = sp_t_get("/support/articles", NULL);
    sp_t_assert_json(r, 200);
    ck_assert_msg(sp_t_header(r, "Cache-Control") != NULL &&
                      strcmp(sp_t_header(r, "Cache-Control"), "public, max-age=60") == 0,
                  "articles: Cache-Control %s", sp_t_header(r, "Cache-Control"));
    sp_t_resp_free(r);
}
END_TEST

/* 0660, and nginx's group when the stack runs as root (nginx's workers
 * are www-data then; otherwise they are this user and own the socket). */
static void
assert_socket(const char *name)
{
    const char *path = sp_t_fmt("%s/run/%s", getenv("SP_TEST_STACK_DIR"), name);
    struct stat st;
    ck_assert_msg(stat(path, &st) == 0, "no %s", path);
    ck_assert_msg(S_ISSOCK(st.st_mode), "%s is not a socket", path);
    ck_assert_msg((st.st_mode & 07777) == 0660, "%s has mode %04o", path,
                  (unsigned)(st.st_mode & 07777));
    if (geteuid() == 0) {
        struct group *g = getgrnam("www-data");
        ck_assert_ptr_nonnull(g);
        ck_assert_msg(st.st_gid == g->gr_gid, "%s has group %u, not www-data", path,
                      (unsigned)st.st_gid);
    }
}

START_TEST(fastcgi_sockets_are_0660_with_nginx_group)
{
    assert_socket("support-api.sock");
    const char *chat = sp_t_fmt("%s/run/support-chat.sock", getenv("SP_TEST_STACK_DIR"));
    if (access(chat, F_OK) == 0)
        assert_socket("support-chat.sock");
}
END_TEST

/* The stack's PostgreSQL trusts every connection to its socket (initdb
 * --auth=trust): the socket is its owner's alone (QA: 0777 made any local
 * user the database's superuser). */
START_TEST(database_socket_is_its_owners_alone)
{
    glob_t g;
    const char *pattern = sp_t_fmt("%s/run/.s.PGSQL.[0-9]*", getenv("SP_TEST_STACK_DIR"));
    ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
    size_t sockets = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct stat st;
        ck_assert_int_eq(lstat(g.gl_pathv[i], &st), 0);
        if (!S_ISSOCK(st.st_mode))
            continue;   /* .s.PGSQL.N.lock */
        sockets++;
        ck_assert_msg((st.st_mode & 077) == 0, "%s is mode %o", g.gl_pathv[i],
                      (unsigned)(st.st_mode & 0777));
    }
    globfree(&g);
    ck_assert_uint_eq(sockets, 1);
}
END_TEST

/* Runs support-token with args; returns its exit status. */
static int
token_tool(const char *args)
{
    const char *bin = getenv("SP_TEST_TOKEN_BIN");
    ck_assert_msg(bin != NULL && *bin != '\0', "SP_TEST_TOKEN_BIN is not set");
    setenv("SUPPORT_JWT_KEYS", getenv("SP_TEST_JWT_KEYS"), 1);
    int st = system(sp_t_fmt("'%s' %s >/dev/null 2>&1", bin, args));
    unsetenv("SUPPORT_JWT_KEYS");
    ck_assert_msg(st != -1 && WIFEXITED(st), "support-token %s did not run", args);
    return WEXITSTATUS(st);
}

START_TEST(support_token_caps_admin_tokens_at_a_day_without_force)
{
    ck_assert_int_eq(token_tool("admin --ttl 86400"), 0);
    ck_assert_int_eq(token_tool("admin --ttl 86401"), 2);
    ck_assert_int_eq(token_tool("support_admin 3001 --ttl 604800"), 2);
    ck_assert_int_eq(token_tool("admin --ttl 604800 --force"), 0);
    ck_assert_int_eq(token_tool("agent --ttl 604800"), 0);
    ck_assert_int_eq(token_tool("customer --ttl 604800"), 0);
}
END_TEST

/* Runs support-token with args and env (NAME=value words, "" for none)
 * as the only source of its keys; what it wrote (stdout then stderr, its
 * trailing newline cut) into *out, its exit status returned. */
static int
token_tool_env(const char *env, const char *args, const char **out)
{
    const char *bin = getenv("SP_TEST_TOKEN_BIN");
    ck_assert_msg(bin != NULL && *bin != '\0', "SP_TEST_TOKEN_BIN is not set");
    FILE *p = popen(sp_t_fmt("env -u SUPPORT_JWT_KEYS -u SUPPORT_JWT_KEYS_FILE %s '%s' %s 2>&1",
                             env, bin, args), "r");
    ck_assert_ptr_nonnull(p);
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, p);
    text[n] = '\0';
    if (n > 0 && text[n - 1] == '\n')
        text[n - 1] = '\0';
    int st = pclose(p);
    *out = sp_t_fmt("%s", text);
    ck_assert_msg(st != -1 && WIFEXITED(st), "support-token %s did not run", args);
    return WEXITSTATUS(st);
}

/* A SUB the API would refuse (API.md §2: a user id is an integer) is
 * refused here, not printed as a token that only ever answers 401, and
 * the refusal names the argument and what it must be (QA: "cannot mint a
 * token with these arguments" said neither). */
START_TEST(support_token_refuses_a_sub_that_is_not_a_user_id)
{
    ck_assert_int_eq(token_tool("customer 42"), 0);
    ck_assert_int_eq(token_tool("customer abc"), 2);
    ck_assert_int_eq(token_tool("customer 042"), 2);
    ck_assert_int_eq(token_tool("agent 0"), 2);
    const char *out;
    const char *keys = sp_t_fmt("SUPPORT_JWT_KEYS='%s'", getenv("SP_TEST_JWT_KEYS"));
    ck_assert_int_eq(token_tool_env(keys, "customer smoke-test", &out), 2);
    ck_assert_msg(strncmp(out, "support-token: SUB must be a user id, a positive integer", 56)
                  == 0 && strstr(out, "'smoke-test'") != NULL, "output: %s", out);
}
END_TEST

/* The keys are read as every program reads a secret (core/config): from
 * SUPPORT_JWT_KEYS_FILE too (QA: "SUPPORT_JWT_KEYS is not set"), and the
 * token minted from the file's keys is one the API accepts. */
START_TEST(support_token_reads_its_keys_from_the_file_variant)
{
    const char *file = getenv("SP_TEST_JWT_KEYS_FILE");
    ck_assert_msg(file != NULL && *file != '\0', "SP_TEST_JWT_KEYS_FILE is not set");
    const char *token, *err;
    ck_assert_int_eq(token_tool_env(sp_t_fmt("SUPPORT_JWT_KEYS_FILE='%s'", file),
                                    "customer 4242", &token), 0);
    struct sp_t_resp *r = sp_t_get("/support/tickets", token);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    /* neither set: said with both names; a file that is not there: named */
    ck_assert_int_eq(token_tool_env("", "customer 5", &err), 1);
    ck_assert_msg(strstr(err, "SUPPORT_JWT_KEYS (or SUPPORT_JWT_KEYS_FILE) is not set") != NULL,
                  "output: %s", err);
    ck_assert_int_eq(token_tool_env("SUPPORT_JWT_KEYS_FILE=/nonexistent/keys", "customer 5",
                                    &err), 1);
    ck_assert_msg(strstr(err, "SUPPORT_JWT_KEYS_FILE: cannot open file") != NULL, "output: %s",
                  err);
}
END_TEST

/* The size of the stack's log NAME now: where the lines of what follows
 * start. */
static long
log_size(const char *name)
{
    FILE *f = fopen(sp_t_fmt("%s/%s", getenv("SP_TEST_LOG_DIR"), name), "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Asserts every whole line of the log NAME from offset on is a JSON
 * object in UTF-8 (API.md §12); returns how many there were. */
static int
assert_log_json_from(const char *name, long offset)
{
    FILE *f = fopen(sp_t_fmt("%s/%s", getenv("SP_TEST_LOG_DIR"), name), "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, offset, SEEK_SET), 0);
    char line[65536];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n')
            break;  /* a line being written as we read */
        ck_assert_msg(sp_utf8_valid(line, len), "a %s line that is not UTF-8: %s", name, line);
        struct json_object *o = json_tokener_parse(line);
        ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
                      "a %s line that is not JSON: %s", name, line);
        json_object_put(o);
        n++;
    }
    fclose(f);
    return n;
}

/* QA: nginx logs the decoded path, and escape=json passes bytes that are
 * not UTF-8: /%FF made a line strict JSON readers refuse. Such a path is
 * logged as a marker (http.conf, $support_log_uri); UTF-8 ones as they
 * are. */
START_TEST(nginx_access_log_lines_are_utf8_json)
{
    long offset = log_size("nginx-access.log");
    static const char *const paths[] = {"/support/tickets/%FF%C3%28", "/support/articles/%C0%AF",
                                        "/support/articles/%ED%A0%80", "/support/articles/caf%C3%A9"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        sp_t_resp_free(sp_t_get(paths[i], NULL));
    usleep(200 * 1000);   /* nginx writes the line after the answer */
    ck_assert_int_ge(assert_log_json_from("nginx-access.log", offset), 4);
}
END_TEST

/* Whether the file holds needle (a missing file holds nothing). */
static bool
file_holds(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    char line[16384];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static void
api_back(void)
{
    sp_t_stackctl("start-api");
}

/* QA: with support-api down (every restart) nginx logged its connect()
 * failure, at crit, with the request line: a signed attachment URL (valid
 * for an upload: whoever reads the log could plant the file) and a
 * search's words (?q=, PII) landed in the error logs. None of nginx's
 * error logs keeps a query now; the access log says what happened: 502,
 * the upstream's 502 and a connect that never completed ("uct":"-"). */
START_TEST(a_worker_down_leaves_no_query_in_nginx_error_logs)
{
    const char *secret = sp_t_unique("sigleak");
    const char *signed_url = sp_t_fmt(
        "/support/attachments/A1b2C3d4/content?kid=k1&expires=9999999999&size=6&sig=%s", secret);
    const struct {
        const char *method, *path, *body;
    } reqs[] = {
        {"PUT", signed_url, "123456"},
        {"GET", signed_url, NULL},
        /* a length that is not the URL's size: the worker answers that too */
        {"PUT", signed_url, "1234567"},
        {"GET", sp_t_fmt("/support/tickets?q=%s", secret), NULL},
        {"GET", sp_t_fmt("/support/articles?q=%s", secret), NULL},
    };
    const size_t n = sizeof(reqs) / sizeof(reqs[0]);
    const char *rids[sizeof(reqs) / sizeof(reqs[0])];
    sp_t_stackctl("stop-api");
    for (size_t i = 0; i < n; i++) {
        rids[i] = sp_t_unique("down");
        const char *const hdr[] = {sp_t_fmt("X-Request-Id: %s", rids[i]), NULL};
        struct sp_t_resp *r = sp_t_request(reqs[i].method, reqs[i].path, NULL,
                                           reqs[i].body ? "application/octet-stream" : NULL,
                                           reqs[i].body, hdr);
        ck_assert_msg(r->status == 502, "%s %s: %ld", reqs[i].method, reqs[i].path, r->status);
        sp_t_resp_free(r);
    }
    /* TRACE goes to the worker's router too (@problem_405_route). nginx
     * writes its error lines before the answer. */
    const char *trace = sp_t_fmt("TRACE /support/tickets?q=%s HTTP/1.1\r\nHost: localhost\r\n"
                                 "Connection: close\r\n\r\n", secret);
    struct sp_t_resp *r = sp_t_raw(trace, strlen(trace));
    ck_assert_int_eq(r->status, 502);
    sp_t_resp_free(r);
    glob_t g;
    ck_assert_int_eq(glob(sp_t_fmt("%s/nginx*error*.log", getenv("SP_TEST_LOG_DIR")), 0, NULL,
                          &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++)
        ck_assert_msg(!file_holds(g.gl_pathv[i], secret), "%s holds a query string",
                      g.gl_pathv[i]);
    globfree(&g);
    for (size_t i = 0; i < n; i++) {
        const char *line = sp_t_log_line("nginx-access.log", 0,
                                         sp_t_fmt("\"request_id\":\"%s\"", rids[i]));
        /* The upload of the URL's size is refused by its check, whose
         * subrequest is not logged: 502, no upstream on the line. */
        bool checked = i == 0;
        ck_assert_msg(strstr(line, "\"status\":502,") &&
                          strstr(line, checked ? "\"ust\":\"\"" : "\"ust\":\"502\"") &&
                          strstr(line, checked ? "\"uct\":\"\"" : "\"uct\":\"-\"") &&
                          !strstr(line, secret),
                      "%s %s: access log line: %s", reqs[i].method, reqs[i].path, line);
    }
}
END_TEST

/* The database's notices (a search of stop words only, a word too long to
 * index) are not written raw to the workers' stderr, which is the log. */
START_TEST(database_notices_keep_the_log_json_lines)
{
    long offset = log_size("support-api.log");
    struct sp_t_resp *r = sp_t_get("/support/articles?q=the", NULL);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("POST", "/support/admin/articles",
                   sp_t_fmt("{\"slug\":%s,\"title\":\"long word\",\"content_markdown\":\"%s\"}",
                            sp_t_jq(sp_t_unique("longword")), sp_t_repeat("a", 2100)));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_int_gt(assert_log_json_from("support-api.log", offset), 0);
}
END_TEST

/* program run with args and env refuses its settings: exit code
 * want_exit, a fatal bad_config JSON line for the logs, and no plain line
 * (its stderr is no terminal here, but a log: JSON lines only). Returns
 * that line's msg (and the whole output in *all when not NULL). */
static const char *
bad_config_msg(const char *program, const char *const args[], const char *const env[],
               int want_exit, const char **all)
{
    const char *out;
    int rc = sp_t_job_run(program, env, args, &out);
    ck_assert_msg(rc == want_exit, "%s exited %d, not %d: %s", program, rc, want_exit, out);
    const char *at = strstr(out, "\"event\":\"bad_config\"");   /* after any warnings */
    ck_assert_msg(at != NULL, "%s: no bad_config line in %s", program, out);
    while (at > out && at[-1] != '\n')
        at--;
    char *line = (char *)sp_t_fmt("%.*s", (int)strcspn(at, "\n"), at);
    struct json_object *o = json_tokener_parse(line);
    ck_assert_msg(o != NULL, "not JSON: %s", line);
    ck_assert_str_eq(sp_t_jstr(o, "event"), "bad_config");
    ck_assert_str_eq(sp_t_jstr(o, "level"), "fatal");
    ck_assert_str_eq(sp_t_jstr(o, "program"), program);
    const char *msg = sp_t_fmt("%s", sp_t_jstr(o, "msg"));
    json_object_put(o);
    ck_assert_msg(strstr(out, sp_t_fmt("%s: %s", program, msg)) == NULL,
                  "%s: a plain line in its log: %s", program, out);
    if (all != NULL)
        *all = out;
    return msg;
}

/* A bad setting is logged as a JSON line (bad_config), by the jobs, the
 * migrator and the mail taker as by the workers at start-up, then said
 * plainly for whoever ran it by hand; the program exits non-zero. Every
 * bad setting is named in that line, not the first only. */
static void
assert_bad_config_logged(const char *program, int want_exit)
{
    const char *const env[] = {"SUPPORT_AUTOCLOSE_DAYS=0", "SUPPORT_LOG_LEVEL=loud", NULL};
    const char *const once[] = {"--once", NULL};
    const char *const none[] = {NULL};
    const char *msg = bad_config_msg(
        program, strcmp(program, "ticket-sla-monitor") == 0 ? once : none, env, want_exit, NULL);
    ck_assert_msg(strstr(msg, "SUPPORT_AUTOCLOSE_DAYS: ") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, "; SUPPORT_LOG_LEVEL: ") != NULL, "%s", msg);
}

START_TEST(a_bad_setting_is_a_json_log_line)
{
    assert_bad_config_logged("ticket-sla-monitor", 1);
    assert_bad_config_logged("support-migrate", 1);
    assert_bad_config_logged("support-mail-in", 78 /* EX_CONFIG */);
}
END_TEST

/* Whoever runs a program by hand (stderr a terminal: script(1) gives it
 * one) reads the refusal plainly after the JSON line (QA: the plain copy
 * went to cron's log files too, which were no longer JSON lines). */
START_TEST(a_bad_setting_is_said_plainly_on_a_terminal)
{
    const char *cmd = sp_t_fmt(
        "SUPPORT_DATABASE_URL='%s' SUPPORT_LOG_LEVEL=loud script -qec '%s/ticket-sla-monitor "
        "--once' /dev/null 2>&1", getenv("SP_TEST_DATABASE_URL"),
        getenv("SP_TEST_TOP_BUILDDIR"));
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    char out[8192];
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit %d: %s", st, out);
    ck_assert_msg(strstr(out, "\"event\":\"bad_config\"") != NULL &&
                      strstr(out, "\nticket-sla-monitor: SUPPORT_LOG_LEVEL: ") != NULL,
                  "%s", out);
}
END_TEST

/* support-api starts only with its JWT keys: the stack's. */
static const char *
jwt_keys(void)
{
    return sp_t_fmt("SUPPORT_JWT_KEYS_FILE=%s", getenv("SP_TEST_JWT_KEYS_FILE"));
}

/* The programs that connect, each as it is run (the FastCGI ones through
 * --check-config, which loads as their start-up does), and their exit
 * code for a refused setting. */
static const struct {
    const char *program;
    const char *args[3];
    int exit;
} connecting[] = {
    {"ticket-sla-monitor", {"--once", NULL}, 1},
    {"support-dispatch", {"--once", "--dry-run", NULL}, 1},
    {"support-migrate", {NULL}, 1},
    {"support-mail-in", {NULL}, 78},
    {"support-api", {"--check-config", NULL}, 1},
    {"support-chat", {"--check-config", NULL}, 1},
};

/* Each of the two URLs, as each database setting, is refused by every
 * connecting program with a message that starts "<variable>: <why>" and
 * holds says (NULL: anything), and secret shows nowhere in what the
 * program writes (its log is its stderr). */
static void
assert_urls_refused(const char *const urls[2], const char *why, const char *says,
                    const char *secret)
{
    static const char *const vars[] = {"SUPPORT_DATABASE_URL", "SUPPORT_DATABASE_READ_URL"};
    for (size_t p = 0; p < sizeof(connecting) / sizeof(connecting[0]); p++)
        for (size_t u = 0; u < 2; u++)
            for (size_t v = 0; v < 2; v++) {
                const char *env[] = {sp_t_fmt("%s=%s", vars[v], urls[u]), NULL};
                const char *all;
                const char *msg = bad_config_msg(connecting[p].program, connecting[p].args, env,
                                                 connecting[p].exit, &all);
                ck_assert_msg(strstr(msg, sp_t_fmt("%s: %s", vars[v], why)) == msg &&
                                  (says == NULL || strstr(msg, says) != NULL),
                              "%s: %s", connecting[p].program, msg);
                ck_assert_msg(strstr(all, secret) == NULL, "%s: %s", connecting[p].program,
                              all);
            }
}

/* libpq quotes a connection string it cannot parse, password and all: it
 * is refused at start naming the variable, and the secret shows nowhere. */
START_TEST(an_unreadable_database_url_is_refused_without_its_secret)
{
    static const char *const urls[] = {"postgresql://support:Pa%zzSECRETXYZ@localhost/support",
                                       "postgresql://u:SECRETXYZ@[bad"};
    assert_urls_refused(urls, "not a libpq", NULL, "SECRETXYZ");
}
END_TEST

/* A URL libpq reads, but whose password holds an unescaped '/' or '@':
 * libpq would take pieces of it for the port or the host and quote them
 * in every connect error (QA: 'invalid integer value "S3CRET" for
 * connection option "port"' in a job's log, --check-config said ok). It
 * is refused at start naming the variable, saying to percent-encode the
 * password, and no piece of it shows. */
START_TEST(a_database_url_with_a_split_password_is_refused_without_it)
{
    static const char *const urls[] = {"postgresql://u:S3CRET/S3CRET@127.0.0.1:1/db",
                                       "postgresql://u:S3CRET@S3CRET@127.0.0.1:1/db"};
    assert_urls_refused(urls, "its user:password part", "percent-encode the password",
                        "S3CRET");
}
END_TEST

/* The delivery settings support-dispatch needs are checked when it
 * starts, in every mode (a bad one used to fail every pass of a daemon
 * that stayed up), and by support-api's --check-config, the check of the
 * one settings file: the refusal names the variable, never its value. */
START_TEST(bad_delivery_settings_stop_the_programs_at_start)
{
    static const char *const bad[] = {
        "SUPPORT_PORTAL_URL=notaurl",           "SUPPORT_CONSOLE_TICKET_URL=notaurl",
        "SUPPORT_CONSOLE_CHAT_URL=notaurl",     "SUPPORT_MAIL_FROM=notanaddr",
        "SUPPORT_MAIL_REPLY_KEYS=junk",         "SUPPORT_SMTP_URL=notaurl",
        "SUPPORT_SMTP_URL=http://relay:25",     "SUPPORT_NOTIFY_URL=notaurl",
        "SUPPORT_NOTIFY_URL=https://?x",          "SUPPORT_STAFF_MAIL=notanaddr",
        /* QA: a login in the URL went to curl from the settings file, a
         * path became the EHLO name; both were accepted */
        "SUPPORT_SMTP_URL=smtp://u:S3CRET@mail:25", "SUPPORT_SMTP_URL=smtps://mail:465/x",
        "SUPPORT_SMTP_URL=smtp://mail:25?x",      "SUPPORT_SMTP_URL=smtp://mail:",
        "SUPPORT_AI_BASE_URL=garbage",            "SUPPORT_EMBEDDINGS_URL=gopher://x",
    };
    static const char *const modes[][3] = {
        {"--once", "--dry-run", NULL}, {"--loop", NULL, NULL}, {"--once", NULL, NULL}};
    const char *templates = sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates",
                                     getenv("SP_TEST_TOP_SRCDIR"));
    const char *const api_args[] = {"--check-config", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *var = sp_t_fmt("%.*s", (int)strcspn(bad[i], "="), bad[i]);
        const char *value = strchr(bad[i], '=') + 1;
        const char *env[] = {bad[i], templates, jwt_keys(), NULL};
        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            const char *msg = bad_config_msg("support-dispatch", modes[m], env, 1, NULL);
            ck_assert_msg(strncmp(msg, sp_t_fmt("%s: ", var), strlen(var) + 2) == 0, "%s", msg);
            ck_assert_msg(strstr(msg, value) == NULL, "%s", msg);
        }
        const char *msg = bad_config_msg("support-api", api_args, env, 1, NULL);
        ck_assert_msg(strncmp(msg, sp_t_fmt("%s: ", var), strlen(var) + 2) == 0, "%s", msg);
    }
}
END_TEST

/* support-api --check-config with the settings a deployment has in force:
 * ok, and what it warns about. */
static const char *
api_check_config(const char *extra, const char *extra2)
{
    const char *root = getenv("SP_TEST_TOP_SRCDIR");
    const char *env[] = {jwt_keys(), sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates", root),
                         sp_t_fmt("SUPPORT_MIGRATIONS_DIR=%s/sql", root),
                         "SUPPORT_SMTP_URL=smtps://relay.example.test:465",
                         "SUPPORT_NOTIFY_URL=https://notify.example.test/v1/send",
                         "SUPPORT_STAFF_MAIL=staff@example.test",
                         "SUPPORT_PORTAL_URL=https://example.test/help/tickets/{id}",
                         extra, extra2, NULL};
    const char *const args[] = {"--check-config", NULL};
    const char *out;
    int rc = sp_t_job_run("support-api", env, args, &out);
    ck_assert_msg(rc == 0 && strstr(out, "configuration ok\n") != NULL, "%d: %s", rc, out);
    return out;
}

/* The development-only settings start as asked, each with a warning at
 * start, so one left on in production shows in the log. */
START_TEST(dev_only_settings_are_warned_about_at_start)
{
    const char *out = api_check_config(NULL, NULL);
    ck_assert_msg(strstr(out, "dev_only_setting") == NULL, "%s", out);
    out = api_check_config("SUPPORT_COOKIE_INSECURE=1", NULL);
    ck_assert_msg(strstr(out, "\"level\":\"warn\",\"event\":\"dev_only_setting\"") != NULL &&
                      strstr(out, "SUPPORT_COOKIE_INSECURE=1: ") != NULL, "%s", out);
    const char *const env[] = {"SUPPORT_WEBHOOK_ALLOW_LOOPBACK=1", NULL};
    const char *const args[] = {"--once", NULL};
    ck_assert_int_eq(sp_t_job_run("ticket-sla-monitor", env, args, &out), 0);
    ck_assert_msg(strstr(out, "\"event\":\"dev_only_setting\"") != NULL &&
                      strstr(out, "SUPPORT_WEBHOOK_ALLOW_LOOPBACK=1: ") != NULL, "%s", out);
}
END_TEST

/* A templates directory that cannot be read, or a migrations directory
 * without migrations (readyz would wait for migration 0), is refused
 * naming its variable. A NAME_FILE of a setting that is no secret is
 * refused rather than ignored. */
START_TEST(bad_directories_and_file_variants_are_refused_naming_the_variable)
{
    const char *root = getenv("SP_TEST_TOP_SRCDIR");
    char empty[] = "/tmp/sp-test-empty-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(empty));
    const char *templates = sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates", root);
    const char *migrations = sp_t_fmt("SUPPORT_MIGRATIONS_DIR=%s/sql", root);
    const char *const api_args[] = {"--check-config", NULL};
    const char *env1[] = {"SUPPORT_TEMPLATES_DIR=/nope", migrations, jwt_keys(), NULL};
    ck_assert_str_eq(bad_config_msg("support-api", api_args, env1, 1, NULL),
                     "SUPPORT_TEMPLATES_DIR: /nope: No such file or directory");
    const char *env2[] = {sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s", empty), migrations, jwt_keys(),
                          NULL};
    ck_assert_str_eq(bad_config_msg("support-api", api_args, env2, 1, NULL),
                     "SUPPORT_TEMPLATES_DIR: no templates");
    const char *env3[] = {templates, sp_t_fmt("SUPPORT_MIGRATIONS_DIR=%s", empty), jwt_keys(),
                          NULL};
    ck_assert_str_eq(bad_config_msg("support-api", api_args, env3, 1, NULL),
                     sp_t_fmt("SUPPORT_MIGRATIONS_DIR: no NNN_*.sql migrations in %s", empty));
    const char *out;
    const char *const none[] = {NULL};
    const char *env5[] = {env3[1], NULL};
    ck_assert_int_eq(sp_t_job_run("support-migrate", env5, none, &out), 1);
    ck_assert_msg(strstr(out, "no NNN_*.sql migrations in") != NULL, "%s", out);
    rmdir(empty);
    /* Both a secret and its file: which one is meant cannot be told (QA:
     * the file won, a bad SUPPORT_JWT_KEYS went unreported). */
    const char *env6[] = {templates, migrations, jwt_keys(), "SUPPORT_JWT_KEYS=k:S3CRET", NULL};
    const char *all;
    ck_assert_str_eq(bad_config_msg("support-api", api_args, env6, 1, &all),
                     "SUPPORT_JWT_KEYS and SUPPORT_JWT_KEYS_FILE are both set: set one of them");
    ck_assert_msg(strstr(all, "S3CRET") == NULL, "%s", all);
    const char *env4[] = {"SUPPORT_LOG_LEVEL_FILE=/etc/hostname", NULL};
    const char *const once[] = {"--once", NULL};
    ck_assert_str_eq(bad_config_msg("ticket-sla-monitor", once, env4, 1, NULL),
                     "SUPPORT_LOG_LEVEL_FILE: only secret settings are read from a file; set"
                     " SUPPORT_LOG_LEVEL itself");
}
END_TEST

/* A refusal names the variable set: a bad secret read from NAME_FILE is
 * NAME_FILE's (QA: a bad key file was called SUPPORT_JWT_KEYS, which was
 * not set), at start as on reload (test_reload), support-dispatch's
 * keys too. */
START_TEST(a_bad_secret_file_is_refused_naming_the_file_variable)
{
    char path[] = "/tmp/sp-test-keys-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "junk\n", 5), 5);
    close(fd);
    const char *root = getenv("SP_TEST_TOP_SRCDIR");
    const char *templates = sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates", root);
    const char *const api_args[] = {"--check-config", NULL};
    const char *env1[] = {sp_t_fmt("SUPPORT_JWT_KEYS_FILE=%s", path), templates,
                          sp_t_fmt("SUPPORT_MIGRATIONS_DIR=%s/sql", root), NULL};
    const char *msg = bad_config_msg("support-api", api_args, env1, 1, NULL);
    ck_assert_msg(strncmp(msg, "SUPPORT_JWT_KEYS_FILE: ", 23) == 0, "%s", msg);
    const char *env2[] = {sp_t_fmt("SUPPORT_MAIL_REPLY_KEYS_FILE=%s", path), templates,
                          jwt_keys(), NULL};
    const char *const once[] = {"--once", "--dry-run", NULL};
    msg = bad_config_msg("support-dispatch", once, env2, 1, NULL);
    ck_assert_msg(strncmp(msg, "SUPPORT_MAIL_REPLY_KEYS_FILE: ", 30) == 0, "%s", msg);
    /* Any job, at start as on a reload (jobs/job.c read_settings). */
    const char *env3[] = {"SUPPORT_DATABASE_URL=", sp_t_fmt("SUPPORT_DATABASE_URL_FILE=%s", path),
                          NULL};
    msg = bad_config_msg("ticket-sla-monitor", once, env3, 1, NULL);
    ck_assert_msg(strncmp(msg, "SUPPORT_DATABASE_URL_FILE: ", 27) == 0, "%s", msg);
    unlink(path);
}
END_TEST

/* ---- the jobs' routine lines ------------------------------------------ */

/* The (first) line of out holding needle. */
static const char *
line_with(const char *out, const char *needle)
{
    const char *at = strstr(out, needle);
    ck_assert_msg(at != NULL, "no %s in:\n%s", needle, out);
    while (at > out && at[-1] != '\n')
        at--;
    return sp_t_fmt("%.*s", (int)strcspn(at, "\n"), at);
}

/* QA: support-dispatch warned dispatch_skipped no_subscriptions for every
 * webhook event when nobody subscribes (8,432 lines in one session): the
 * rule on a stack without webhooks, no fault. At debug; the pass line
 * counts them. */
START_TEST(an_event_nobody_subscribes_to_is_no_warning)
{
    const char *ids = sp_t_sql(
        "WITH r AS (INSERT INTO support_outbox (kind, event_type, channel, payload)"
        " SELECT 'webhook', 'hygiene.unheard', 'webhook', '{}' FROM generate_series(1, 3)"
        " RETURNING id) SELECT string_agg(id::text, ',') FROM r");
    const char *out;
    const char *const once[] = {"--once", NULL};
    const char *const env[] = {
        sp_t_fmt("SUPPORT_TEMPLATES_DIR=%s/templates", getenv("SP_TEST_TOP_SRCDIR")), NULL};
    int rc = sp_t_job_run("support-dispatch", env, once, &out);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(DISTINCT status || ' ' || last_error, ',')"
                              " FROM support_outbox WHERE id IN (%s)", ids),
                     "skipped no_subscriptions");
    ck_assert_msg(strstr(out, "no_subscriptions") == NULL, "%s", out);
    const char *pass = line_with(out, "\"event\":\"dispatch_pass\"");
    ck_assert_msg(strstr(pass, "\"skipped\":0") == NULL && strstr(pass, "\"skipped\":") != NULL,
                  "%s", pass);
}
END_TEST

/* QA: chat-session-archive --dry-run logged no line per session, though
 * --help says a dry run logs what would be done. One per session, ids
 * only. */
START_TEST(a_chat_archive_dry_run_says_what_it_would_close)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *cat = sp_t_admin_category_new("\"routing\":\"manual\"");
    struct sp_t_resp *r = sp_t_post_json(
        "/support/chat/session", c.token,
        sp_t_fmt("{\"category\":%s,\"message\":\"my card ends 4242\"}", sp_t_jq(cat)));
    sp_t_assert_json(r, 201);
    const char *chat = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    sp_t_sql("UPDATE support_chat_sessions SET started_at = started_at - interval '2 hours',"
             " last_message_at = last_message_at - interval '2 hours' WHERE public_id = '%s'",
             chat);
    const char *out;
    const char *const dry[] = {"--once", "--dry-run", NULL};
    ck_assert_int_eq(sp_t_job_run("chat-session-archive", NULL, dry, &out), 0);
    const char *line = line_with(out, sp_t_fmt("\"chat\":\"%s\"", chat));
    ck_assert_msg(strstr(line, "\"event\":\"chat_archive_session\"") != NULL &&
                      strstr(line, "\"would\":\"close_and_convert\"") != NULL &&
                      strstr(line, "\"session_id\":") != NULL,
                  "%s", line);
    ck_assert_msg(strstr(out, "4242") == NULL, "%s", out);
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_chat_sessions WHERE public_id = '%s'",
                              chat), "waiting");
}
END_TEST

/* QA: attachment-cleanup deleted rows without a word: one line per kind
 * of row a pass deletes, with the count; the ids at debug. */
START_TEST(attachment_cleanup_says_what_rows_it_deleted)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_post_json(
        "/support/attachments", c.token,
        "{\"filename\":\"never.png\",\"content_type\":\"image/png\",\"size\":10}");
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "id"));
    sp_t_resp_free(r);
    sp_t_sql("UPDATE support_attachments SET created_at = now() - interval '25 hours'"
             " WHERE id = '%s'", id);
    const char *dir = sp_t_fmt("SUPPORT_ATTACHMENT_DIR=%s", getenv("SP_TEST_ATTACHMENT_DIR"));
    const char *const env[] = {dir, "SUPPORT_LOG_LEVEL=debug", NULL};
    const char *const once[] = {"--once", NULL}, *const dry[] = {"--once", "--dry-run", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, dry, &out), 0);
    const char *rows = "\"kind\":\"never_uploaded\",\"rows\":";
    const char *line = line_with(out, rows);
    ck_assert_msg(strstr(line, "\"event\":\"attachment_rows_deleted\"") != NULL &&
                      strstr(line, "\"dry_run\":1") != NULL, "%s", line);
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, once, &out), 0);
    line = line_with(out, rows);
    ck_assert_msg(strstr(line, "\"level\":\"info\"") != NULL &&
                      strstr(line, "\"event\":\"attachment_rows_deleted\"") != NULL &&
                      strstr(line, "\"dry_run\":0") != NULL, "%s", line);
    line = line_with(out, sp_t_fmt("\"attachment_id\":\"%s\"", id));
    ck_assert_msg(strstr(line, "\"level\":\"debug\"") != NULL &&
                      strstr(line, "\"event\":\"attachment_row_deleted\"") != NULL, "%s", line);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'", id),
                     "0");
}
END_TEST

static Suite *
hygiene_suite(void)
{
    Suite *s = suite_create("hygiene");
    TCase *tc = sp_t_tcase(s, "cache_control");
    tcase_add_test(tc, customer_ticket_answers_are_no_store);
    tcase_add_test(tc, agent_and_admin_answers_are_no_store);
    tcase_add_test(tc, public_reads_keep_their_own_cache_control);
    tc = sp_t_tcase(s, "sockets");
    tcase_add_test(tc, fastcgi_sockets_are_0660_with_nginx_group);
    tcase_add_test(tc, database_socket_is_its_owners_alone);
    tc = sp_t_tcase(s, "support_token");
    tcase_add_test(tc, support_token_caps_admin_tokens_at_a_day_without_force);
    tcase_add_test(tc, support_token_refuses_a_sub_that_is_not_a_user_id);
    tcase_add_test(tc, support_token_reads_its_keys_from_the_file_variant);
    tc = sp_t_tcase(s, "logs");
    tcase_add_test(tc, database_notices_keep_the_log_json_lines);
    tcase_add_test(tc, nginx_access_log_lines_are_utf8_json);
    tcase_add_test(tc, a_bad_setting_is_a_json_log_line);
    tcase_add_test(tc, a_bad_setting_is_said_plainly_on_a_terminal);
    tcase_add_test(tc, an_event_nobody_subscribes_to_is_no_warning);
    tcase_add_test(tc, a_chat_archive_dry_run_says_what_it_would_close);
    tcase_add_test(tc, attachment_cleanup_says_what_rows_it_deleted);
    tc = sp_t_tcase(s, "worker_down");
    tcase_add_checked_fixture(tc, NULL, api_back);
    tcase_add_test(tc, a_worker_down_leaves_no_query_in_nginx_error_logs);
    tc = sp_t_tcase(s, "settings");
    tcase_add_test(tc, an_unreadable_database_url_is_refused_without_its_secret);
    tcase_add_test(tc, a_database_url_with_a_split_password_is_refused_without_it);
    tcase_add_test(tc, bad_delivery_settings_stop_the_programs_at_start);
    tcase_add_test(tc, dev_only_settings_are_warned_about_at_start);
    tcase_add_test(tc, bad_directories_and_file_variants_are_refused_naming_the_variable);
    tcase_add_test(tc, a_bad_secret_file_is_refused_naming_the_file_variable);
    return s;
}

int
main(void)
{
    return sp_t_run(hygiene_suite());
}
