/*
 * admin_sessions: the server-side sessions of the admin pages (API.md §8)
 * — opened by a login with a support_admin JWT, found by the cookie's
 * token, ended by logout or expiry. Each carries the CSRF token its forms
 * must send back.
 * Must not: know HTTP (cookies and forms are api/kb_pages' business) or
 * verify JWTs (http/auth does, before a session is opened).
 */
#ifndef SP_ADMIN_SESSIONS_H
#define SP_ADMIN_SESSIONS_H

#include <stdbool.h>

#include "core/problem.h"
#include "domain/ctx.h"

#define SP_ADMIN_TOKEN_HEX 64   /* 32 random bytes */

/* Whether token has the form of the session tokens handed out here
 * (SP_ADMIN_TOKEN_HEX lower-case hex digits): anything else, an empty
 * value above all, is no token. */
bool sp_admin_token_ok(const char *token);

/* The login form's CSRF tokens (the form has no session to bind them to):
 *   "<expiry, unix seconds>.<32 hex nonce>.<64 hex MAC>"
 * MAC = HMAC-SHA256(key, "support-admin-login-v1\n<expiry>.<nonce>"),
 * key the 32 bytes the caller derives for this one purpose
 * (SP_ADMIN_LOGIN_PURPOSE, core/crypto.h sp_crypto_derive_key). Only the
 * server can make one, so a value made up elsewhere (a cookie tossed in
 * from a sibling host with a matching forged form) is refused. The server
 * makes one for whoever opens the form, though: what keeps a sibling from
 * tossing in one it was given is api/kb_pages' (the __Host- cookie, the
 * browser's Sec-Fetch-Site). */
#define SP_ADMIN_LOGIN_PURPOSE "support-admin-login-csrf-v1"
#define SP_ADMIN_LOGIN_TTL 3600        /* seconds: the token's and its cookie's life */
#define SP_ADMIN_LOGIN_KEY_LEN 32

struct sp_arena;
/* A token that expires SP_ADMIN_LOGIN_TTL after now (unix seconds),
 * arena-owned. */
const char *sp_admin_login_token(struct sp_arena *a, const unsigned char *key, long long now);
/* Whether token is one sp_admin_login_token made under key (MAC compared in
 * constant time) and now is before its expiry. NULL, empty, malformed
 * (anything but the exact form above), tampered and expired: false. */
bool sp_admin_login_token_ok(const unsigned char *key, const char *token, long long now);

struct sp_admin_session {
    long long id;
    const char *user_id;
    const char *csrf_token;
};

/* A new session for user_id lasting hours; *token is the cookie value
 * (hex, arena-owned), stored only as its SHA-256. */
enum sp_rc sp_admin_session_open(struct sp_ctx *ctx, const char *user_id, long hours,
                                 const char **token, struct sp_admin_session *out,
                                 struct sp_problem *p);
/* The live session of a cookie token; SP_NOT_FOUND when there is none
 * (unknown, malformed, expired or revoked, or its user's agent row
 * deactivated by an admin). */
enum sp_rc sp_admin_session_find(struct sp_ctx *ctx, const char *token,
                                 struct sp_admin_session *out, struct sp_problem *p);
/* Ends session id (logout). */
enum sp_rc sp_admin_session_close(struct sp_ctx *ctx, long long id, struct sp_problem *p);
/* Ends every live session of user_id (its agent row deactivated), in the
 * caller's transaction. */
enum sp_rc sp_admin_session_end_user(struct sp_ctx *ctx, const char *user_id,
                                     struct sp_problem *p);
/* Whether given is the session's CSRF token (constant time). */
bool sp_admin_session_csrf_ok(const struct sp_admin_session *s, const char *given);
/* Whether given (a form's csrf_token) is the token of s or of another
 * live session of s's user, into *ok: a form rendered in one tab keeps
 * working after a sign-in in another tab replaced the cookie (QA), until
 * the session it was rendered for ends (logout, expiry). Still bound to a
 * session: a token of no live session, or of another user's, is refused;
 * each compared in constant time. */
enum sp_rc sp_admin_session_csrf_check(struct sp_ctx *ctx, const struct sp_admin_session *s,
                                       const char *given, bool *ok, struct sp_problem *p);

#endif
