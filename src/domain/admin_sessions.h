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

/* Whether token has the form of the tokens handed out here and by the
 * login form (SP_ADMIN_TOKEN_HEX lower-case hex digits): anything else,
 * an empty value above all, is no token. */
bool sp_admin_token_ok(const char *token);

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
 * (unknown, malformed, expired or revoked). */
enum sp_rc sp_admin_session_find(struct sp_ctx *ctx, const char *token,
                                 struct sp_admin_session *out, struct sp_problem *p);
/* Ends session id (logout). */
enum sp_rc sp_admin_session_close(struct sp_ctx *ctx, long long id, struct sp_problem *p);
/* Whether given is the session's CSRF token (constant time). */
bool sp_admin_session_csrf_ok(const struct sp_admin_session *s, const char *given);

#endif
