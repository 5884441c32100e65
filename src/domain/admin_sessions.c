/*
 * admin_sessions: SQL of the admin page sessions. See admin_sessions.h.
 */
#include "domain/admin_sessions.h"

#include <limits.h>
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

/* A session of a user whose agent row an admin deactivated is none
 * (API.md §6, §8): every staff request of theirs is refused, the pages'
 * too, whatever session outlived the deactivation's end of them. */
static struct sp_stmt find_stmt = SP_STMT_READ(
    "admin_session_find",
    "SELECT " SESSION_COLS " FROM support_admin_sessions s"
    " WHERE s.token_hash = decode($1, 'hex') AND s.revoked_at IS NULL AND s.expires_at > now()"
    "  AND NOT EXISTS (SELECT 1 FROM support_agents a"
    "                  WHERE a.user_id = s.user_id AND NOT a.is_active)",
    1);

static struct sp_stmt close_stmt = SP_STMT(
    "admin_session_close",
    "UPDATE support_admin_sessions SET revoked_at = now()"
    " WHERE id = $1::bigint AND revoked_at IS NULL",
    1);

static struct sp_stmt end_user_stmt = SP_STMT(
    "admin_session_end_user",
    "UPDATE support_admin_sessions SET revoked_at = now()"
    " WHERE user_id = $1 AND revoked_at IS NULL",
    1);

/* The CSRF tokens of the user's other live sessions, newest first: a
 * user signs in from a few tabs and browsers, not hundreds; the table
 * keeps ended sessions for a day only (open_stmt). */
static struct sp_stmt others_stmt = SP_STMT_READ(
    "admin_session_other_csrf",
    "SELECT s.csrf_token FROM support_admin_sessions s"
    " WHERE s.user_id = $1 AND s.id <> $2::bigint AND s.revoked_at IS NULL"
    "  AND s.expires_at > now() ORDER BY s.id DESC LIMIT 32",
    2);

SP_ROW_READER(read_session, struct sp_admin_session, SESSION_COLUMNS)

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
    read_session(r, 0, out);
    *token = t;
    return SP_OK;
}

bool
sp_admin_token_ok(const char *token)
{
    return token != NULL && strlen(token) == SP_ADMIN_TOKEN_HEX &&
           strspn(token, sp_hex_lower) == SP_ADMIN_TOKEN_HEX;
}

#define LOGIN_NONCE_HEX 32
#define LOGIN_MAC_HEX 64
#define LOGIN_EXPIRY_MAX 19   /* digits of a long long */
#define LOGIN_DOMAIN "support-admin-login-v1\n"

/* The MAC of body ("<expiry>.<nonce>", n bytes) into mac. */
static void
login_mac(const unsigned char *key, const char *body, size_t n, char mac[LOGIN_MAC_HEX + 1])
{
    char msg[sizeof(LOGIN_DOMAIN) + LOGIN_EXPIRY_MAX + 1 + LOGIN_NONCE_HEX];
    memcpy(msg, LOGIN_DOMAIN, sizeof(LOGIN_DOMAIN) - 1);
    memcpy(msg + sizeof(LOGIN_DOMAIN) - 1, body, n);
    sp_crypto_hmac_hex(key, SP_ADMIN_LOGIN_KEY_LEN, msg, sizeof(LOGIN_DOMAIN) - 1 + n, mac,
                       LOGIN_MAC_HEX);
}

const char *
sp_admin_login_token(struct sp_arena *a, const unsigned char *key, long long now)
{
    char nonce[LOGIN_NONCE_HEX + 1], mac[LOGIN_MAC_HEX + 1];
    sp_random_hex(nonce, LOGIN_NONCE_HEX / 2);
    const char *body = sp_arena_sprintf(a, "%lld.%s", now + SP_ADMIN_LOGIN_TTL, nonce);
    login_mac(key, body, strlen(body), mac);
    return sp_arena_sprintf(a, "%s.%s", body, mac);
}

bool
sp_admin_login_token_ok(const unsigned char *key, const char *token, long long now)
{
    if (token == NULL)
        return false;
    /* The expiry as written by "%lld" of a positive number: no sign, no
     * leading zero, no blank. */
    size_t digits = strspn(token, "0123456789");
    if (digits == 0 || digits > LOGIN_EXPIRY_MAX || token[0] == '0' || token[digits] != '.')
        return false;
    const char *nonce = token + digits + 1;
    if (strlen(nonce) != LOGIN_NONCE_HEX + 1 + LOGIN_MAC_HEX ||
        strspn(nonce, sp_hex_lower) != LOGIN_NONCE_HEX || nonce[LOGIN_NONCE_HEX] != '.')
        return false;
    const char *mac = nonce + LOGIN_NONCE_HEX + 1;
    if (strspn(mac, sp_hex_lower) != LOGIN_MAC_HEX)
        return false;
    char want[LOGIN_MAC_HEX + 1];
    login_mac(key, token, (size_t)(mac - 1 - token), want);
    if (!sp_crypto_equal(want, LOGIN_MAC_HEX, mac, LOGIN_MAC_HEX))
        return false;
    long long expiry = 0;
    for (size_t i = 0; i < digits; i++) {
        int d = token[i] - '0';
        if (expiry > (LLONG_MAX - d) / 10)
            return false;
        expiry = expiry * 10 + d;
    }
    return now < expiry;
}

enum sp_rc
sp_admin_session_find(struct sp_ctx *ctx, const char *token, struct sp_admin_session *out,
                      struct sp_problem *p)
{
    if (!sp_admin_token_ok(token))
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such session");
    const char *params[1] = {sp_crypto_sha256_hex(ctx->arena, token, SP_ADMIN_TOKEN_HEX)};
    return sp_db_one(ctx->db, ctx->arena, &find_stmt, params, "session", read_session, out, p);
}

enum sp_rc
sp_admin_session_close(struct sp_ctx *ctx, long long id, struct sp_problem *p)
{
    return sp_db_exec_id(ctx->db, ctx->arena, &close_stmt, id, p) != NULL ? SP_OK : p->rc;
}

enum sp_rc
sp_admin_session_end_user(struct sp_ctx *ctx, const char *user_id, struct sp_problem *p)
{
    const char *params[1] = {user_id};
    return sp_db_exec(ctx->db, ctx->arena, &end_user_stmt, params, p) != NULL ? SP_OK : p->rc;
}

bool
sp_admin_session_csrf_ok(const struct sp_admin_session *s, const char *given)
{
    return given != NULL && sp_crypto_equal(s->csrf_token, strlen(s->csrf_token), given,
                                            strlen(given));
}

enum sp_rc
sp_admin_session_csrf_check(struct sp_ctx *ctx, const struct sp_admin_session *s,
                            const char *given, bool *ok, struct sp_problem *p)
{
    *ok = sp_admin_session_csrf_ok(s, given);
    if (*ok || given == NULL || *given == '\0')
        return SP_OK;
    const char *params[2] = {s->user_id, sp_arena_sprintf(ctx->arena, "%lld", s->id)};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &others_stmt, params, p);
    if (r == NULL)
        return p->rc;
    /* Every row compared, in constant time each: the answer's timing
     * says nothing of which token, or how much of one, matched. */
    bool found = false;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *t = PQgetvalue(r, i, 0);
        found |= sp_crypto_equal(t, strlen(t), given, strlen(given));
    }
    *ok = found;
    return SP_OK;
}
