/*
 * support-token: mints an HS256 bearer token for development, scripts,
 * tests and benches, signed with the FIRST key of SUPPORT_JWT_KEYS (its
 * kid goes in the header), and prints it on stdout. The keys are read as
 * every program reads its settings (core/config): from SUPPORT_JWT_KEYS
 * or the file SUPPORT_JWT_KEYS_FILE names.
 *
 *   support-token ROLE [SUB] [--ttl SECONDS] [--force] [--tier T] [--email E] [--name N]
 *
 * An admin token lives at most 24 h unless --force says the long life is
 * meant: a leaked one rewrites SLA policies and agents. Not installed by
 * `make install` (a development tool; production tokens come from the
 * identity provider).
 *
 * Exit codes: 0 ok, 1 SUPPORT_JWT_KEYS unset or invalid (or another setting
 * core/config refuses), 2 bad arguments.
 * Must not: print the secret, or hold any logic worth testing (that lives
 * in src/http/auth.c).
 */
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/problem.h"
#include "http/auth.h"

#define TTL_MAX (10L * 365 * 86400)
#define ADMIN_TTL_MAX 86400L

static const struct {
    const char *alias;
    enum sp_role role;
    const char *default_sub;
} roles[] = {
    { "customer", SP_ROLE_CUSTOMER, "1001" },
    { "agent", SP_ROLE_AGENT, "2001" },
    { "admin", SP_ROLE_ADMIN, "3001" },
};

static int
usage(const char *why)
{
    if (why != NULL)
        fprintf(stderr, "support-token: %s\n", why);
    fprintf(stderr,
            "usage: support-token ROLE [SUB] [--ttl SECONDS] [--force] [--tier T] [--email E]"
            " [--name N]\n"
            "  ROLE  customer|agent|admin (or customer|support_agent|support_admin)\n"
            "  SUB   user id, a positive integer (default 1001, 2001 or 3001 by role)\n"
            "  --ttl lifetime in seconds (default 86400; admin tokens at most 86400\n"
            "        unless --force), --tier standard|premium|vip\n"
            "Signs with the first key of SUPPORT_JWT_KEYS (kid:secret,...), or of the\n"
            "file SUPPORT_JWT_KEYS_FILE names.\n");
    return 2;
}

struct args {
    long ttl;
    int force;
    const char *tier, *email, *name, *sub;
    enum sp_role role;
};

/* Fills a from the command line; -1 when main goes on, else the exit code. */
static int
parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        { "ttl", required_argument, NULL, 't' },   { "tier", required_argument, NULL, 'T' },
        { "email", required_argument, NULL, 'e' }, { "name", required_argument, NULL, 'n' },
        { "force", no_argument, NULL, 'f' },       { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *a = (struct args){ .ttl = 86400, .role = SP_ROLE_NONE };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 't':
            a->ttl = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || a->ttl <= 0 || a->ttl > TTL_MAX)
                return usage("--ttl wants a whole number of seconds, 1 to 10 years");
            break;
        case 'f': a->force = 1; break;
        case 'T': a->tier = optarg; break;
        case 'e': a->email = optarg; break;
        case 'n': a->name = optarg; break;
        case 'h': return usage(NULL), 0;
        default: return usage(NULL);
        }
    }
    if (optind >= argc || argc - optind > 2)
        return usage("want ROLE and at most one SUB");
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(argv[optind], roles[i].alias) == 0
            || strcmp(argv[optind], sp_role_name(roles[i].role)) == 0) {
            a->role = roles[i].role;
            a->sub = roles[i].default_sub;
        }
    if (a->role == SP_ROLE_NONE)
        return usage("unknown ROLE");
    if (a->role == SP_ROLE_ADMIN && a->ttl > ADMIN_TTL_MAX && !a->force)
        return usage("an admin token lives at most 86400 s (24 h); add --force to mean it");
    if (optind + 1 < argc)
        a->sub = argv[optind + 1];
    /* Said before minting, naming the argument: the API takes no other
     * sub (API.md §2), so a token with it would only ever answer 401. */
    if (!sp_user_id_valid(a->sub)) {
        char why[224];
        snprintf(why, sizeof(why), "SUB must be a user id, a positive integer of 1-%d digits"
                 " without sign or leading zero (API.md §2): '%.64s'", SP_USER_ID_MAX, a->sub);
        return usage(why);
    }
    enum sp_tier t;
    if (a->tier != NULL && !sp_tier_parse(a->tier, &t))
        return usage("--tier wants standard, premium or vip");
    return -1;
}

/* The signing keys, read from SUPPORT_JWT_KEYS or SUPPORT_JWT_KEYS_FILE
 * by core/config, as the workers read them; NULL once the fault is said. */
static struct sp_auth_keys *
load_keys(void)
{
    struct sp_config cfg;
    char err[512];
    if (!sp_config_load(&cfg, err, sizeof(err))) {
        fprintf(stderr, "support-token: %s\n", err);
        return NULL;
    }
    struct sp_auth_keys *keys = NULL;
    if (cfg.jwt_keys == NULL || *cfg.jwt_keys == '\0') {
        fprintf(stderr, "support-token: SUPPORT_JWT_KEYS (or SUPPORT_JWT_KEYS_FILE) is not set"
                        " (kid:secret,...)\n");
    } else {
        struct sp_auth_config ac = { .hs_keys = cfg.jwt_keys, .leeway_seconds = 60 };
        keys = sp_auth_keys_load(&ac, err, sizeof(err));
        if (keys == NULL)
            fprintf(stderr, "support-token: %s\n", err);
    }
    sp_config_free(&cfg);
    return keys;
}

int
main(int argc, char **argv)
{
    struct args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *tier = a.tier, *email = a.email, *name = a.name, *sub = a.sub;
    enum sp_role role = a.role;
    long ttl = a.ttl;

    struct sp_auth_keys *keys = load_keys();
    if (keys == NULL)
        return 1;

    /* json-c writes the extra claims so names and emails are escaped. */
    json_object *extra = json_object_new_object();
    if (tier != NULL)
        json_object_object_add(extra, "tier", json_object_new_string(tier));
    if (email != NULL)
        json_object_object_add(extra, "email", json_object_new_string(email));
    if (name != NULL)
        json_object_object_add(extra, "name", json_object_new_string(name));

    struct sp_arena arena;
    struct sp_problem prob;
    struct sp_principal who;
    sp_arena_init(&arena, 0);
    sp_problem_init(&prob);
    time_t now = time(NULL);
    char *token = sp_auth_mint_default(keys, &arena, sub, role, now, ttl,
                                       json_object_to_json_string_ext(extra, JSON_C_TO_STRING_PLAIN));
    /* Print only what the API would accept (the SUB is checked above, with
     * its own message; this catches what the verifier adds later). */
    rc = 0;
    if (token == NULL) {
        rc = usage("cannot mint a token with these arguments");
    } else if (sp_auth_verify(keys, &arena, token, now, &who, &prob) != SP_OK) {
        fprintf(stderr, "support-token: the token would be refused: %s\n", prob.detail);
        rc = 2;
    } else {
        printf("%s\n", token);
    }
    json_object_put(extra);
    sp_arena_destroy(&arena);
    sp_auth_keys_free(keys);
    return rc;
}
