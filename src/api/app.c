/*
 * app: settings, keys and worker hooks of support-api. See app.h.
 */
#include "api/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/cursor.h"
#include "core/env_file.h"
#include "core/ids.h"
#include "core/keyring.h"
#include "core/log.h"
#include "domain/store.h"
#include "http/server.h"
#include "http/signed_url.h"
#include "api/common.h"
#include "api/handlers.h"
#include "domain/agents.h"
#include "domain/attachments.h"
#include "domain/channels.h"
#include "domain/chat_bus.h"
#include "core/stamp_cache.h"
#include "core/template.h"
#include "domain/rules.h"

/* An optional keyring: unset (development), the feature it guards is off
 * and a warning says so. */
static bool
keyring_set(const char *value, const char *event, const char *what_is_off)
{
    if (value == NULL)
        sp_log_msg(SP_LOG_WARN, event, "%s", what_is_off);
    return value != NULL;
}

/* The admin login form's token key: from the PII ring when there is one,
 * so every host and every restart accepts the forms the others served;
 * else random (sp_app_reload keeps it), and a form dies with the master. */
static bool
load_login_key(struct sp_app *app, char *err, size_t errlen)
{
    if (app->crypto == NULL) {
        sp_random_bytes(app->login_key, sizeof(app->login_key));
        app->login_key_random = true;
        sp_log_msg(SP_LOG_WARN, "admin_login_key_random",
                   "SUPPORT_ENCRYPTION_KEYS is not set: admin sign-in forms are signed with a"
                   " key of this process (refused after a restart or by another host)");
        return true;
    }
    if (sp_crypto_derive_key(app->crypto, SP_ADMIN_LOGIN_PURPOSE, app->login_key))
        return true;
    snprintf(err, errlen, "SUPPORT_ENCRYPTION_KEYS: deriving the admin login key failed in"
                          " OpenSSL");
    return false;
}

/* The pagination cursors' key (core/cursor.h): from the PII ring like the
 * login key, so every host and restart reads the cursors the others
 * handed out; else the login key's random bytes, which a reload keeps.
 * Set once the login key is settled (sp_app_reload may keep the old). */
static bool
set_cursor_key(const struct sp_app *app, char *err, size_t errlen)
{
    unsigned char secret[32];
    _Static_assert(sizeof(app->login_key) == sizeof(secret), "login key is a cursor secret");
    bool ok = app->crypto != NULL ? sp_crypto_derive_key(app->crypto, "support-cursor-v1", secret)
                                  : (memcpy(secret, app->login_key, sizeof(secret)), true);
    ok = ok && sp_cursor_set_key(secret);
    explicit_bzero(secret, sizeof(secret));
    if (!ok)
        snprintf(err, errlen, "SUPPORT_ENCRYPTION_KEYS: deriving the cursor key failed in OpenSSL");
    return ok;
}

/* Without PII keys contacts are not stored rather than stored in clear;
 * without URL keys or a bucket the attachment endpoints answer 503 rather
 * than sign with nothing. */
static bool
load_keyrings(struct sp_app *app, char *err, size_t errlen)
{
    const struct sp_config *c = &app->cfg;
    if (keyring_set(c->encryption_keys, "pii_disabled",
                    "SUPPORT_ENCRYPTION_KEYS is not set: contact details are not stored") &&
        (app->crypto = sp_crypto_new(c->encryption_keys, c->pii_index_key, err, errlen)) == NULL)
        return false;
    if (!load_login_key(app, err, errlen))
        return false;
    if (!sp_config_s3(c, &app->s3, &app->s3_on, err, errlen))
        return false;
    if (!app->s3_on && c->attachment_keys == NULL)
        sp_log_msg(SP_LOG_WARN, "attachments_disabled",
                   "neither SUPPORT_ATTACHMENT_KEYS nor SUPPORT_S3_BUCKET is set: attachments are"
                   " refused");
    if (c->attachment_keys != NULL &&
        (app->url_keys = sp_url_keys_load(c->attachment_keys, err, errlen)) == NULL)
        return false;
    return true;
}

static struct sp_auth_keys *
load_keys(const struct sp_config *cfg, char *err, size_t errlen)
{
    struct sp_auth_config ac = {
        .hs_keys = cfg->jwt_keys,
        .public_keys_file = cfg->jwt_public_keys_file,
        .issuer = cfg->jwt_issuer,
        .audience = cfg->jwt_audience,
        .leeway_seconds = 60,
    };
    return sp_auth_keys_load(&ac, err, errlen);
}

static bool
app_load(struct sp_app *app, char *err, size_t errlen)
{
    memset(app, 0, sizeof(*app));
    if (!sp_config_load(&app->cfg, err, errlen))
        return false;
    enum sp_log_level level;
    if (!sp_config_log_level(&app->cfg, &level, err, errlen) ||
        !sp_store_check_settings(&app->cfg, err, errlen) ||
        !sp_channels_check(&app->cfg, err, errlen)) {
        sp_config_free(&app->cfg);
        return false;
    }
    app->keys = load_keys(&app->cfg, err, errlen);
    if (app->keys == NULL) {
        sp_config_free(&app->cfg);
        return false;
    }
    if (!load_keyrings(app, err, errlen)) {
        sp_app_free(app);
        return false;
    }
    /* In the master, once: the workers it forks share the magic database. */
    if ((app->url_keys != NULL || app->s3_on) && !sp_attachment_sniffer_load()) {
        snprintf(err, errlen, "libmagic: cannot load its database (package libmagic-mgc)");
        sp_app_free(app);
        return false;
    }
    if (!sp_store_latest_migration(app->cfg.migrations_dir, &app->migrations_latest, err,
                                   errlen)) {
        sp_app_free(app);
        return false;
    }
    /* Compiled once here, in the master: workers share the set, and a
     * SIGHUP with a broken template keeps the running one. */
    char why[400];
    if (sp_tpl_set_load(&app->templates, app->cfg.templates_dir, why, sizeof(why)) != SP_OK) {
        snprintf(err, errlen, "SUPPORT_TEMPLATES_DIR: %s", why);
        sp_app_free(app);
        return false;
    }
    if (!set_cursor_key(app, err, errlen)) {
        sp_app_free(app);
        return false;
    }
    /* Only settings that all loaded take effect (a reload may fail). */
    sp_log_set_level(level);
    return true;
}

bool
sp_app_load(struct sp_app *app, char *err, size_t errlen)
{
    if (app_load(app, err, errlen))
        return true;
    /* The keys' checks name NAME (QA: a reload that found a bad
     * SUPPORT_JWT_KEYS_FILE said SUPPORT_JWT_KEYS): say the one set. */
    sp_config_name_sources(err, errlen);
    return false;
}

/* Settings the master uses once, at start: a reload cannot change them. */
static void
warn_fixed_settings(const struct sp_config *now, const struct sp_config *next)
{
    const char *changed = NULL;
    if (strcmp(now->listen, next->listen) != 0)
        changed = "SUPPORT_LISTEN";
    else if (strcmp(now->chat_listen, next->chat_listen) != 0)
        changed = "SUPPORT_CHAT_LISTEN";
    else if (now->workers != next->workers)
        changed = "SUPPORT_WORKERS";
    else if (now->listen_backlog != next->listen_backlog)
        changed = "SUPPORT_LISTEN_BACKLOG";
    else if (now->listen_mode != next->listen_mode)
        changed = "SUPPORT_LISTEN_MODE";
    else if ((now->listen_group == NULL) != (next->listen_group == NULL) ||
             (now->listen_group != NULL && strcmp(now->listen_group, next->listen_group) != 0))
        changed = "SUPPORT_LISTEN_GROUP";
    if (changed != NULL)
        sp_log_msg(SP_LOG_WARN, "restart_required",
                   "%s changed: it takes effect at the next restart, not on reload", changed);
}

bool
sp_app_reload(void *p)
{
    struct sp_app *app = p;
    struct sp_app next;
    char err[512];
    if (!sp_app_load(&next, err, sizeof(err))) {
        /* err names the variable, never its value. */
        sp_log_msg(SP_LOG_ERROR, "bad_config", "%s", err);
        return false;
    }
    warn_fixed_settings(&app->cfg, &next.cfg);
    /* Sign-in forms served before the reload stay good. */
    if (next.login_key_random && app->login_key_random) {
        memcpy(next.login_key, app->login_key, sizeof(next.login_key));
        set_cursor_key(&next, err, sizeof(err)); /* the same key again: cannot fail now */
    }
    sp_app_free(app);
    *app = next;
    return true;
}

/* Releases what field holds with free_fn and forgets it: no dangling
 * pointer is left in the app for a later free or reload to meet. */
#define RELEASE(free_fn, field) ((free_fn)(field), (field) = NULL)

void
sp_app_free(struct sp_app *app)
{
    RELEASE(sp_auth_keys_free, app->keys);
    RELEASE(sp_crypto_free, app->crypto);
    RELEASE(sp_keyring_keys_destroy, app->url_keys);
    RELEASE(sp_tpl_set_free, app->templates);
    explicit_bzero(app->login_key, sizeof(app->login_key));
    sp_config_free(&app->cfg);
}

/* API.md §5.5: a support_agent's row exists from their first request on,
 * and a row an admin deactivated refuses every staff request (403
 * agent_deactivated, §6). So each staff request reads its row — one
 * indexed read, no write once it exists — and no worker remembers whom
 * it provisioned: a deactivation holds from the next request on, on
 * every worker. */
static enum sp_rc
provision_agent(struct sp_req *r, struct sp_problem *p)
{
    if (!sp_principal_has_role(&r->principal, SP_ROLE_AGENT))
        return SP_OK;
    struct sp_agent agent;
    return sp_api_current_agent(r, &agent, p);
}

static void
fill_env(struct sp_app *app, struct sp_http_env *env)
{
    sp_chat_bus_set_url(app->cfg.chat_publish_url, app->cfg.chat_publish_socket);
    env->keys = app->keys;
    env->db = app->db;
    env->read_db = app->read_db;
    env->max_body_bytes = app->cfg.max_body_bytes;
    env->app = app;
    env->on_authenticated = provision_agent;
    env->problem_page = sp_page_problem;
    env->operators_route = sp_api_operators_route;
}

bool
sp_app_worker_start(void *p, struct sp_http_env *env)
{
    struct sp_app *app = p;
    /* Connect lazily: a worker must start (and answer readyz with 503)
     * even while the database is down. */
    app->db = sp_store_open(app->cfg.database_url, "SUPPORT_DATABASE_URL",
                            app->cfg.db_statement_timeout_ms);
    if (app->db == NULL)
        return false;
    if (app->cfg.database_read_url != NULL && app->cfg.database_read_url[0] != '\0') {
        app->read_db = sp_store_open(app->cfg.database_read_url, "SUPPORT_DATABASE_READ_URL",
                                     app->cfg.db_statement_timeout_ms);
        if (app->read_db == NULL)
            return false;
    }
    app->rules = sp_rules_cache_new();
    if (app->rules == NULL)
        return false;
    app->ticket_views = sp_stamp_cache_new((size_t)app->cfg.ticket_view_cache,
                                           SP_TICKET_VIEW_MAX_BYTES, SP_TICKET_VIEWS_MAX_BYTES);
    if (app->ticket_views == NULL)
        return false;
    fill_env(app, env);
    return true;
}

void
sp_app_worker_stop(void *p, struct sp_http_env *env)
{
    (void)env;
    struct sp_app *app = p;
    RELEASE(sp_store_close, app->db);
    RELEASE(sp_store_close, app->read_db);
    RELEASE(sp_rules_cache_free, app->rules);
    RELEASE(sp_stamp_cache_free, app->ticket_views);
    sp_app_free(app);
}

/* What a run does besides serving: --check-config, or
 * --print-pii-index-key (docs/operations.md, "Key rotation"). */
enum app_mode { APP_SERVE, APP_CHECK, APP_PRINT_INDEX_KEY };

/* The options into *mode and *env_file; -1 = go on, else the exit code
 * (--help 0, a usage error 2). */
static int
parse_args(const struct sp_app_program *prog, int argc, char **argv, enum app_mode *mode,
           const char **env_file)
{
    for (int i = 1; i < argc; i++) {
        bool help = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
        enum app_mode m = strcmp(argv[i], "--check-config") == 0 ? APP_CHECK
                          : strcmp(argv[i], "--print-pii-index-key") == 0 ? APP_PRINT_INDEX_KEY
                                                                         : APP_SERVE;
        if (m != APP_SERVE && (*mode == APP_SERVE || *mode == m)) {
            *mode = m;
            continue;
        }
        if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) {
            *env_file = argv[++i];
            continue;
        }
        FILE *out = help ? stdout : stderr;
        fprintf(out, "%s\n  --env-file F  with --check-config or --print-pii-index-key: the"
                     " settings from F\n                (NAME=value lines, read as systemd reads"
                     " an EnvironmentFile=) over\n                the environment's\n"
                     "  --print-pii-index-key  prints the blind index key in force (a secret:"
                     " base64,\n                SUPPORT_PII_INDEX_KEY's or the one derived from"
                     " the oldest key\n                of SUPPORT_ENCRYPTION_KEYS) and exits\n"
                     "\nSettings (environment):\n", prog->usage);
        sp_config_describe(out);
        return help ? 0 : 2;
    }
    /* Only a check or a print reads the file (the settings file read by
     * hand, as the jobs read it): a running server's settings are its
     * unit's EnvironmentFile=, and its reload (SIGHUP) reads the
     * environment again, not the file, so a file's later edits would go
     * unseen. */
    if (*env_file != NULL && *mode == APP_SERVE) {
        fprintf(stderr, "%s: --env-file goes with --check-config or --print-pii-index-key (a"
                        " running server takes its settings from the environment: systemd's"
                        " EnvironmentFile=)\n%s\n",
                prog->name, prog->usage);
        return 2;
    }
    return -1;
}

/* --print-pii-index-key: the key alone on stdout, for a settings file
 * (SUPPORT_PII_INDEX_KEY_FILE); whatever else is said goes to stderr. */
static int
print_index_key(const struct sp_app *app)
{
    if (app->crypto == NULL) {
        sp_log_bad_config("SUPPORT_ENCRYPTION_KEYS is not set: there is no blind index key");
        return 1;
    }
    char key[SP_CRYPTO_INDEX_KEY_B64];
    sp_crypto_index_key_b64(app->crypto, key);
    int rc = printf("%s\n", key) < 0 || fflush(stdout) != 0 ? 1 : 0;
    explicit_bzero(key, sizeof(key));
    return rc;
}

int
sp_app_main(const struct sp_app_program *prog, int argc, char **argv)
{
    enum app_mode mode = APP_SERVE;
    const char *env_file = NULL;
    int code = parse_args(prog, argc, argv, &mode, &env_file);
    if (code >= 0)
        return code;
    sp_log_set_program(prog->name);
    static struct sp_app app;
    char err[512];
    /* The file first, as the jobs read it (jobs/job.c): a refused one sets
     * nothing and says which file and line, never the line's text. */
    if ((env_file != NULL && !sp_env_file_load(env_file, err, sizeof(err))) ||
        !sp_app_load(&app, err, sizeof(err))) {
        sp_log_bad_config(err);
        return 1;
    }
    sp_config_warn(&app.cfg);
    if (mode == APP_PRINT_INDEX_KEY) {
        code = print_index_key(&app);
        sp_app_free(&app);
        return code;
    }
    /* A missing group is a deployment error: say so before binding, and in
     * --check-config too. */
    gid_t gid;
    if (!sp_server_listen_group(app.cfg.listen_group, &gid, err, sizeof(err))) {
        sp_log_bad_config(err);
        sp_app_free(&app);
        return 1;
    }
    if (mode == APP_CHECK) {
        printf("configuration ok\n");
        sp_app_free(&app);
        return 0;
    }
    /* A copy: a reload replaces app.cfg, but never the socket. */
    char *listen = strdup(prog->listen(&app.cfg));
    if (listen == NULL)
        abort();
    struct sp_server server = {
        .name = prog->name,
        .listen = listen,
        .backlog = (int)app.cfg.listen_backlog,
        .listen_mode = (int)app.cfg.listen_mode,
        .listen_gid = gid,
        .workers = (int)app.cfg.workers,
        .routes = prog->routes,
        .nroutes = prog->nroutes,
        .worker_start = sp_app_worker_start,
        .worker_stop = sp_app_worker_stop,
        .reload = sp_app_reload,
        .app = &app,
    };
    int rc = sp_server_run(&server);
    free(listen);
    sp_app_free(&app);
    return rc;
}
