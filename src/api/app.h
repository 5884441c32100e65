/*
 * app: the support-api program's state — settings, JWT keyring, the
 * worker's database connection — and the hooks the prefork server calls
 * in each worker (start, stop) and in the master (SIGHUP reload).
 * Must not: hold per-request state.
 */
#ifndef SP_APP_H
#define SP_APP_H

#include <stdbool.h>

#include "core/config.h"
#include "core/s3.h"
#include "domain/admin_sessions.h"
#include "http/http.h"
#include "http/router.h"

/* Larger customer ticket views are rendered on every read; a worker keeps
 * at most SP_TICKET_VIEWS_MAX_BYTES of renderings. */
#define SP_TICKET_VIEW_MAX_BYTES  (64 * 1024)
#define SP_TICKET_VIEWS_MAX_BYTES (16 * 1024 * 1024)

struct sp_db;
struct sp_auth_keys;
struct sp_crypto;
struct sp_rules_cache;
struct sp_stamp_cache;
struct sp_tpl_set;
struct sp_keyring_keys;

struct sp_app {
    struct sp_config cfg;
    struct sp_auth_keys *keys;
    struct sp_db *db;          /* per worker (domain/store.h) */
    struct sp_db *read_db;     /* per worker: the replica; NULL when none is set */
    int migrations_latest;     /* newest sql/NNN_ file: readyz compares */
    struct sp_crypto *crypto;  /* contact PII; NULL when no keys are set */
    struct sp_rules_cache *rules; /* per worker: compiled priority rules */
    struct sp_stamp_cache *ticket_views; /* per worker: rendered customer ticket views */
    struct sp_tpl_set *templates; /* admin pages: compiled in the master, shared */
    struct sp_keyring_keys *url_keys; /* signed attachment URLs of the local store */
    /* The attachment store in a bucket (SUPPORT_S3_BUCKET): presigned URLs.
     * Its strings are cfg's. Attachments are off when neither is set. */
    struct sp_s3 s3;
    bool s3_on;
    /* Signs the admin login form's CSRF tokens: derived from the PII key
     * ring (the same on every host, across restarts); without that ring,
     * random bytes of this master process (kept across reloads). */
    unsigned char login_key[SP_ADMIN_LOGIN_KEY_LEN];
    bool login_key_random;
};

/* Loads settings and keys (in the master, before forking, so a bad setting
 * stops start-up with a clear message). */
bool sp_app_load(struct sp_app *app, char *err, size_t errlen);
void sp_app_free(struct sp_app *app);

bool sp_app_worker_start(void *app, struct sp_http_env *env);
void sp_app_worker_stop(void *app, struct sp_http_env *env);
/* SIGHUP, in the master: loads settings, keys and migrations list anew
 * and, only when all of them are good, replaces app's with them (the
 * server then forks new workers from app). false keeps app and logs why. */
bool sp_app_reload(void *app);

/* The main of a FastCGI program built on sp_app: --check-config or
 * --print-pii-index-key (each with --env-file FILE: the settings file
 * read first, core/env_file)/--help, settings, then the prefork server
 * with `routes` on the socket that `listen` picks from the settings.
 * Returns the exit code. */
struct sp_app_program {
    const char *name;
    const char *usage;                 /* printed before the settings list */
    const struct sp_route *routes;
    size_t nroutes;
    const char *(*listen)(const struct sp_config *cfg);
};
int sp_app_main(const struct sp_app_program *prog, int argc, char **argv);

extern const struct sp_route sp_api_routes[];
extern const size_t sp_api_nroutes;

#endif
