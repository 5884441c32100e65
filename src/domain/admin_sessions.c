/*
 * admin_sessions: SQL of the admin page sessions. See admin_sessions.h.
 */
#include "domain/admin_sessions.h"

#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/hex.h"
#include "core/ids.h"
#include "db/db.h"

#define SESSION_COLUMNS(C, SEP)                                                              \
    C(AS_ID, "s.id", int, id) SEP C(AS_USER, "s.user_id", str, user_id)                      \
    SEP C(AS_CSRF, "s.csrf_token", str, csrf_token)
#define SESSION_COLS SESSION_COLUMNS(SP_COL_SQL, ", ")
enum session_column { SESSION_COLUMNS(SP_COL_ENUM, ) };

static struct sp_stmt open_stmt = SP_STMT(
    "admin_session_open",
    "WITH gone AS (DELETE FROM support_admin_sessions"
    "  WHERE coalesce(revoked_at, expires_at) < now() - interval '1 day')"
    " INSERT INTO support_admin_sessions AS s (token_hash, csrf_token, user_id, expires_at)"
    " VALUES (decode($1, 'hex'), $2, $3, now() + $4::integer * interval '1 hour')"
    " RETURNING " SESSION_COLS,
    4);

static struct sp_stmt find_stmt = SP_STMT_READ(
    "admin_session_find",
    "SELECT " SESSION_COLS " FROM support_admin_sessions s"
    " WHERE s.token_hash = decode($1, 'hex') AND s.revoked_at IS NULL AND s.expires_at > now()",
    1);

static struct sp_stmt close_stmt = SP_STMT(
    "admin_session_close",
    "UPDATE support_admin_sessions SET revoked_at = now()"
    " WHERE id = $1::bigint AND revoked_at IS NULL",
    1);

static void
read_session(const PGresult *r, struct sp_admin_session *out)
{
    const int row = 0, col = 0;
    SESSION_COLUMNS(SP_COL_READ, )
}

enum sp_rc
sp_admin_session_open(struct sp_ctx *ctx, const char *user_id, long hours, const char **token,
                      struct sp_admin_session *out, struct sp_problem *p)
{
    char *t = sp_arena_alloc(ctx->arena, SP_ADMIN_TOKEN_HEX + 1);
    char *csrf = sp_arena_alloc(ctx->arena, SP_ADMIN_TOKEN_HEX + 1);
    sp_random_hex(t, SP_ADMIN_TOKEN_HEX / 2);
    sp_random_hex(csrf, SP_ADMIN_TOKEN_HEX / 2);
    const char *params[4] = {sp_crypto_sha256_hex(ctx->arena, t, SP_ADMIN_TOKEN_HEX), csrf,
                             user_id, sp_arena_sprintf(ctx->arena, "%ld", hours)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &open_stmt, params, p);
    if (r == NULL)
        return p->rc;
    read_session(r, out);
    *token = t;
    return SP_OK;
}

bool
sp_admin_token_ok(const char *token)
{
    return token != NULL && strlen(token) == SP_ADMIN_TOKEN_HEX &&
           strspn(token, sp_hex_lower) == SP_ADMIN_TOKEN_HEX;
}

enum sp_rc
sp_admin_session_find(struct sp_ctx *ctx, const char *token, struct sp_admin_session *out,
                      struct sp_problem *p)
{
    if (!sp_admin_token_ok(token))
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such session");
    const char *params[1] = {sp_crypto_sha256_hex(ctx->arena, token, SP_ADMIN_TOKEN_HEX)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &find_stmt, params, p);
    if (sp_db_found(r, "session", p) != SP_OK)
        return p->rc;
    read_session(r, out);
    return SP_OK;
}

enum sp_rc
sp_admin_session_close(struct sp_ctx *ctx, long long id, struct sp_problem *p)
{
    const char *params[1] = {sp_arena_sprintf(ctx->arena, "%lld", id)};
    return sp_db_exec(ctx->db, ctx->arena, &close_stmt, params, p) != NULL ? SP_OK : p->rc;
}

bool
sp_admin_session_csrf_ok(const struct sp_admin_session *s, const char *given)
{
    return given != NULL && sp_crypto_equal(s->csrf_token, strlen(s->csrf_token), given,
                                            strlen(given));
}
