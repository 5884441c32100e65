/*
 * webhooks: the receivers admins register for events (API.md §11, §6) —
 * their URLs (checked by core/url_guard when stored), the event types
 * they subscribe to, and their signing secrets: 32 random bytes shown
 * once ("whsec_" + 64 hex), sealed at rest with the PII key ring
 * (core/crypto, aad "webhook:secret:<id>"). A rotation keeps the old
 * secret signing for SP_WEBHOOK_OVERLAP_S more, so receivers can switch
 * without losing a delivery. Deliveries (the queue, signing, sending)
 * are domain/webhook_delivery.
 *
 * Each write is one statement (a create: two, in the caller's
 * transaction — the Idempotency-Key protocol's); none opens a
 * transaction of its own.
 * Must not: know HTTP (status codes, headers), render JSON, log or return
 * a secret anywhere but the create and rotate answers.
 */
#ifndef SP_WEBHOOKS_H
#define SP_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/problem.h"
#include "core/versions.h"
#include "domain/ctx.h"

#define SP_WEBHOOK_URL_MAX 2048
#define SP_WEBHOOK_DESCRIPTION_MAX 500    /* characters */
#define SP_WEBHOOK_EVENTS_MAX 16
#define SP_WEBHOOK_SECRET_PREFIX "whsec_"
#define SP_WEBHOOK_SECRET_LEN (6 + 64)
#define SP_WEBHOOK_OVERLAP_S (24 * 3600)  /* the old secret signs this long after a rotation */

struct sp_crypto;

/* What webhook commands need of the worker: the key ring that seals the
 * secrets (NULL: no SUPPORT_ENCRYPTION_KEYS, so no secret can be stored
 * and creates answer 503) and SUPPORT_WEBHOOK_ALLOW_LOOPBACK. */
struct sp_webhook_env {
    const struct sp_crypto *crypto;
    bool allow_loopback;
};

/* The event types of API.md §11 a webhook may subscribe to, NULL-
 * terminated. "ping" is not among them: it goes to the pinged webhook
 * only. */
extern const char *const sp_webhook_event_types[];
bool sp_webhook_event_type_ok(const char *type);

struct sp_webhook {
    long long id;
    const char *url;
    const char *events_json;          /* JSON array of strings */
    const char *description;          /* NULL when none */
    bool is_active;
    bool redact_text;                 /* deliveries carry its text through core/redact */
    long long version;                /* every admin write bumps it: the ETag's */
    const char *previous_secret_until;/* RFC 3339 while the old secret still signs, else NULL */
    const char *created_at;
    const char *updated_at;
    const char *secret;               /* in clear: only in create and rotate answers */
};

/* A create gives url and events (required); a patch any of them (NULL /
 * unset keeps what is stored). */
struct sp_webhook_input {
    const char *url;
    const char *const *events;        /* with events_set: nevents, checked */
    size_t nevents;
    bool events_set;
    const char *description;          /* with description_set; NULL clears */
    bool description_set;
    int is_active;                    /* 1, 0, or -1 keep */
    int redact_text;                  /* 1, 0, or -1 keep (a create: false) */
};

/* Field checks, the URL through the SSRF guard (it resolves the host):
 * each failure a field error (url: invalid_url; events: required or
 * too_many on the list, unknown_event or duplicate on each bad item as
 * events[i], named in a; description: too_long); SP_INVALID when there
 * is any. */
enum sp_rc sp_webhook_check(struct sp_arena *a, const struct sp_webhook_input *in, bool create,
                            bool allow_loopback, struct sp_problem *p);

/* Stores a webhook with a new secret, returned in out->secret. Runs in the
 * caller's transaction (two statements). SP_UNAVAILABLE without a key
 * ring. actor: who created it (stored, never shown). */
enum sp_rc sp_webhook_create(struct sp_ctx *ctx, const struct sp_webhook_env *env,
                             const struct sp_webhook_input *in, const char *actor,
                             struct sp_webhook *out, struct sp_problem *p);
/* SP_NOT_FOUND. */
enum sp_rc sp_webhook_get(struct sp_ctx *ctx, long long id, struct sp_webhook *out,
                          struct sp_problem *p);
/* The writes below take if_match, the versions the caller accepts (none:
 * any): SP_PRECONDITION, writing nothing, when the row is at another;
 * SP_NOT_FOUND when there is none. */
/* The same checks as a create for what is given; a patch that leaves the
 * webhook active without a new url checks the stored one again (422
 * invalid_url on url: the guard may refuse it now); a patch that changes
 * something is a new version. */
enum sp_rc sp_webhook_patch(struct sp_ctx *ctx, const struct sp_webhook_env *env, long long id,
                            struct sp_versions if_match, const struct sp_webhook_input *in,
                            struct sp_webhook *out, struct sp_problem *p);
/* Its deliveries go with it. */
enum sp_rc sp_webhook_delete(struct sp_ctx *ctx, long long id, struct sp_versions if_match,
                             struct sp_problem *p);
/* A new secret (out->secret) and a new version; the current one keeps
 * signing for SP_WEBHOOK_OVERLAP_S (replacing any older previous one:
 * one slot, so receivers must hold the newest). A rotation that another
 * beat to the same secret (at once, without If-Match) rotates nothing
 * and answers that one's secret, as sp_webhook_current_secret; with
 * if_match it is SP_PRECONDITION as any stale write. SP_UNAVAILABLE
 * without a key ring. */
enum sp_rc sp_webhook_rotate_secret(struct sp_ctx *ctx, const struct sp_webhook_env *env,
                                    long long id, struct sp_versions if_match,
                                    struct sp_webhook *out, struct sp_problem *p);

/* The webhook with the secret that signs now, opened (out->secret): for
 * a replayed rotation's answer, which rotates nothing. SP_NOT_FOUND;
 * SP_UNAVAILABLE without a key ring or a key that opens it. */
enum sp_rc sp_webhook_current_secret(struct sp_ctx *ctx, const struct sp_webhook_env *env,
                                     long long id, struct sp_webhook *out,
                                     struct sp_problem *p);

/* One page of webhooks by id (newest first, after: 0 or the last id of
 * the previous page); no secrets. *items is never NULL. */
enum sp_rc sp_webhook_list(struct sp_ctx *ctx, long long after, int limit,
                           struct sp_webhook **items, size_t *n, long long *next,
                           struct sp_problem *p);

/* A new secret: "whsec_" + 64 lowercase hex characters from the CSPRNG.
 * Arena-owned. */
const char *sp_webhook_new_secret(struct sp_arena *a);

#endif
