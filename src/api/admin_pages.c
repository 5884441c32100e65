/*
 * admin_pages (api): what every admin page shares. See admin_pages.h.
 *
 * Sign-in (a support_admin JWT pasted into a form) opens a server-side
 * session cookie and goes back to a safe next (safe_next: a plain path of
 * the knowledge base, never an open redirect).
 *
 * Every state-changing POST carries csrf_token: a live session's token of
 * the same user (sp_page_csrf_of_user), or, for the login form (no session
 * yet), the value of a short-lived SameSite=Strict cookie set with the
 * form (double submit), signed by the server (domain/admin_sessions.h)
 * and sent from this origin. Pages answer no-store; nginx adds the page
 * CSP (scripts and styles from 'self' only, no inline script) and
 * X-Frame-Options by content type (nginx/security_headers.conf). A browser
 * meeting any error at a page's address (404, 405, 400, 413, 415, 500,
 * 503, …) gets the HTML error page with that status (sp_page_problem,
 * called by the dispatcher for every unanswered problem). Templates
 * (templates/NAME.html) are compiled once per program (api/app.c); values
 * are escaped by them.
 * Holds no SQL; never includes db/.
 */
#include "api/admin_pages.h"

#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/ascii.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "core/template.h"
#include "core/uri.h"
#include "domain/admin_sessions.h"
#include "domain/agents.h"

#define SESSION_COOKIE "support_admin_session"
#define LOGIN_COOKIE "support_admin_login"
#define COOKIE_PATH "/support/admin"
#define LOGIN_PATH "/support/admin/login"
#define KB_PATH SP_PAGE_KB_PATH

/* --- responses --------------------------------------------------------------- */

/* What an action's redirect may ask its page to confirm (?done=, API.md
 * §8). Only these names are read, as flags (done_<name>): the words are
 * the layout's own, so the address carries no text to show and a link
 * cannot make the page say anything else. Nothing is kept on the server. */
static const char *const notices[] = {"created", "saved", "published", "unpublished", "deleted"};

static void
notice(struct sp_req *r, struct json_object *ctx)
{
    const char *done = r->method == SP_GET ? sp_req_query(r, "done") : NULL;
    for (size_t i = 0; done != NULL && i < sizeof(notices) / sizeof(notices[0]); i++)
        if (strcmp(done, notices[i]) == 0)
            json_object_object_add(ctx, sp_arena_sprintf(r->arena, "done_%s", notices[i]),
                                   json_object_new_boolean(1));
}

/* Renders page inside the layout with ctx (consumed) and answers. */
enum sp_rc
sp_page_render(struct sp_req *r, int status, const char *page, struct json_object *ctx)
{
    const struct sp_app *app = r->env->app;
    struct sp_buf *b = sp_api_buf(r);
    sp_json_release_with(r->arena, ctx);
    notice(r, ctx);
    if (sp_tpl_render_page(app->templates, "layout", page, ctx, b) != SP_OK) {
        /* A template bug (a limit hit): logged once, never half a page. */
        sp_log_msg(SP_LOG_ERROR, "page_render_failed", "page %s did not render", page);
        static const char oops[] = "Internal error: this page could not be shown.";
        sp_resp_send(r, 500, "text/plain; charset=utf-8", oops, sizeof(oops) - 1);
        return SP_OK;
    }
    sp_resp_header(r, "Cache-Control", "no-store");
    sp_resp_send(r, status, "text/html; charset=utf-8", b->data, b->len);
    return SP_OK;
}

enum sp_rc
sp_page_redirect(struct sp_req *r, const char *location)
{
    sp_resp_header(r, "Location", location);
    sp_resp_header(r, "Cache-Control", "no-store");
    sp_resp_send(r, 303, NULL, "", 0);
    return SP_OK;
}

static void
set_cookie_at(struct sp_req *r, const char *name, const char *path, const char *value,
              long max_age)
{
    const struct sp_app *app = r->env->app;
    sp_resp_header(r, "Set-Cookie",
                   sp_arena_sprintf(r->arena, "%s=%s; Path=%s; Max-Age=%ld;"
                                              " HttpOnly; SameSite=Strict%s",
                                    name, value, path, max_age,
                                    app->cfg.cookie_insecure ? "" : "; Secure"));
}

static void
set_cookie(struct sp_req *r, const char *name, const char *value, long max_age)
{
    set_cookie_at(r, name, COOKIE_PATH, value, max_age);
}

/* The sign-in form's cookie. Secure (https), it carries the __Host-
 * prefix: a browser takes such a cookie only from this very host, Secure,
 * Path=/ and without Domain, so a sibling host cannot toss one in. Over
 * plain http (SUPPORT_COOKIE_INSECURE=1, the dev stack) the prefix would
 * have the cookie refused: the plain name and path there. */
static const char *
login_cookie_name(const struct sp_req *r)
{
    const struct sp_app *app = r->env->app;
    return app->cfg.cookie_insecure ? LOGIN_COOKIE : "__Host-" LOGIN_COOKIE;
}

static void
set_login_cookie(struct sp_req *r, const char *value, long max_age)
{
    const struct sp_app *app = r->env->app;
    set_cookie_at(r, login_cookie_name(r), app->cfg.cookie_insecure ? COOKIE_PATH : "/", value,
                  max_age);
}

const char *
sp_page_cookie(struct sp_req *r, const char *name)
{
    return sp_cookie_get(r->arena, sp_req_header(r, "Cookie"), name);
}

const char *
sp_page_session_cookie(struct sp_req *r)
{
    return sp_page_cookie(r, SESSION_COOKIE);
}

struct json_object *
sp_page_ctx(const char *title, const struct sp_admin_session *s)
{
    struct json_object *ctx = json_object_new_object();
    json_object_object_add(ctx, "title", json_object_new_string(title));
    if (s != NULL) {
        json_object_object_add(ctx, "csrf_token", json_object_new_string(s->csrf_token));
        json_object_object_add(ctx, "user_id", json_object_new_string(s->user_id));
    }
    return ctx;
}

enum sp_rc
sp_page_error(struct sp_req *r, int status, const char *title, const char *message,
           const struct sp_admin_session *s)
{
    struct json_object *ctx = sp_page_ctx(title, s);
    json_object_object_add(ctx, "message", json_object_new_string(message));
    return sp_page_render(r, status, "error", ctx);
}

/* Whether path is one of the admin pages' (API.md §8): the sign-in and
 * sign-out forms, the knowledge base's pages and the area's root; the
 * JSON API beside them (/support/admin/articles, …) is not. */
static bool
page_path(const char *path)
{
    static const char *const pages[] = {"login", "logout", "kb"};
    if (strncmp(path, COOKIE_PATH, strlen(COOKIE_PATH)) != 0)
        return false;
    path += strlen(COOKIE_PATH);
    if (*path == '\0' || strcmp(path, "/") == 0)
        return true;
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        size_t n = strlen(pages[i]);
        if (path[0] == '/' && strncmp(path + 1, pages[i], n) == 0 &&
            (path[n + 1] == '\0' || path[n + 1] == '/'))
            return true;
    }
    return false;
}

/* Whether the request carries a live session (into *s). A failed lookup
 * counts as none: only what a page offers depends on it (the sign-in
 * link of an error page, the sign-in form itself), never access. */
static bool
signed_in(struct sp_req *r, struct sp_admin_session *s)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_problem p;
    sp_problem_init(&p);
    return sp_admin_session_find(&ctx, sp_page_cookie(r, SESSION_COOKIE), s, &p) == SP_OK;
}

bool
sp_page_problem(struct sp_req *r, const struct sp_problem *p)
{
    /* A browser navigating or posting a form asks for text/html; the
     * preview's fetch (admin.js) does not, and reads problem+json. Every
     * status is a page, with the headers problem+json would carry
     * (Allow, Retry-After) and our own faults' detail hidden alike. */
    const char *accept = sp_req_header(r, "Accept");
    if (!page_path(r->path) || accept == NULL || strstr(accept, "text/html") == NULL)
        return false;
    struct sp_problem_answer a = sp_resp_problem_head(r, p);
    /* Signed in, the page offers the way out rather than a sign-in link;
     * our own faults (the database among them) are not asked again. */
    struct sp_admin_session s;
    bool in = a.status < 500 && signed_in(r, &s);
    sp_page_error(r, a.status, a.title, a.status == 404 ? "There is no such page." : a.detail,
               in ? &s : NULL);
    return true;
}

/* --- sessions ---------------------------------------------------------------- */

#define NEXT_MAX 1024

/* Where the sign-in page may send the browser once signed in (next): a
 * page of the knowledge base (KB_PATH or below, with a query), written as
 * a plain path. Anything else is refused — another host ("//evil.com",
 * "https:", "/\\evil.com"), escapes or dots in the path ("%2F", "..",
 * which a browser or a proxy could read otherwise), control characters,
 * "@": an open redirect would lend this site's name to a phishing link. */
static bool
safe_next(const char *next)
{
    static const char path_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-/";
    static const char query_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-._~%=&+";
    size_t kb = strlen(KB_PATH);
    if (next == NULL || strlen(next) > NEXT_MAX || strncmp(next, KB_PATH, kb) != 0 ||
        (next[kb] != '\0' && next[kb] != '/' && next[kb] != '?'))
        return false;
    size_t path = strcspn(next, "?");
    for (size_t i = 0; i + 1 < path; i++)
        if (next[i] == '/' && next[i + 1] == '/')
            return false;
    const char *query = next + path + (next[path] == '?');
    return strspn(next, path_chars) == path && strspn(query, query_chars) == strlen(query);
}

/* The sign-in page's address that comes back to next afterwards (the
 * page itself when next is the knowledge base or not a safe one). */
const char *
sp_page_login_url(struct sp_req *r, const char *next)
{
    if (!safe_next(next) || strcmp(next, KB_PATH) == 0)
        return LOGIN_PATH;
    return sp_arena_sprintf(r->arena, LOGIN_PATH "?next=%s",
                            sp_uri_encode(r->arena, next, strlen(next), true));
}

/* The caller's live session; false when there is none (then the answer,
 * a 303 to the login page, is sent: for a GET, one that comes back
 * here). */
bool
sp_page_session(struct sp_req *r, struct sp_admin_session *s, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    if (sp_admin_session_find(&ctx, sp_page_cookie(r, SESSION_COOKIE), s, p) == SP_OK)
        return true;
    if (p->rc == SP_NOT_FOUND) {
        sp_problem_init(p);
        const char *here = *r->query ? sp_arena_sprintf(r->arena, "%s?%s", r->path, r->query)
                                     : r->path;
        sp_page_redirect(r, sp_page_login_url(r, r->method == SP_GET ? here : KB_PATH));
    }
    return false;
}

/* Whether name could be a field of one of our forms (shown as such). */
static bool
field_name(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= 40 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A page POST's body must be the form a browser sends; anything else
 * (JSON, multipart, none) is a 415, not a form without fields (that was a
 * 403 "this form has expired", which sent the sender looking elsewhere).
 * Each field once: a repeated one (slug=a&slug=b, version=1&version=99)
 * was read for its first value, silently, where a JSON body's repeated
 * member is a 400 (QA); no page of ours sends a field twice, so it is a
 * 400 too. */
bool
sp_page_form_posted(struct sp_req *r, struct sp_problem *p)
{
    const char *repeated;
    if (!sp_req_is_form(r)) {
        sp_problem_set(p, SP_INVALID, "unsupported_media_type",
                       "send the form as application/x-www-form-urlencoded in UTF-8 (no charset"
                       " parameter, or charset=utf-8)");
        return false;
    }
    switch (sp_req_form_names(r, &repeated)) {
    case SP_QUERY_NAMES_DISTINCT:
        return true;
    case SP_QUERY_NAMES_REPEATED:
        /* Named when it is a name a form of ours could have (never bytes
         * of the sender's making in the message). */
        sp_problem_set(p, SP_INVALID, "bad_request",
                       "This form sends %s%s%s more than once, so nothing was done: reload the"
                       " page and try again.", field_name(repeated) ? "the field \"" : "a field",
                       field_name(repeated) ? repeated : "", field_name(repeated) ? "\"" : "");
        return false;
    default:
        sp_problem_set(p, SP_INVALID, "bad_request",
                       "This form sends more than %d fields, so nothing was done: reload the"
                       " page and try again.", SP_QUERY_NAMES_MAX);
        return false;
    }
}

void
sp_page_csrf_refused(struct sp_req *r, const struct sp_admin_session *s)
{
    sp_page_error(r, 403, "Forbidden",
                  "This form's security token is missing or out of date (or the form did not"
                  " come from this site), so nothing was done. Reload the page and try again.",
                  s);
}

/* Whether the form's csrf_token is one of the user's live sessions' (the
 * session's own, or a session's signed in before this one in another
 * tab), into *ok; false when the lookup failed (p set). */
bool
sp_page_csrf_of_user(struct sp_req *r, const struct sp_admin_session *s, bool *ok, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    return sp_admin_session_csrf_check(&ctx, s, sp_req_form(r, "csrf_token"), ok, p) == SP_OK;
}

/* A POST of a page with a session: the session, and its CSRF token
 * checked (403 page otherwise). false: answered or p set. */
bool
sp_page_session_post(struct sp_req *r, struct sp_admin_session *s, struct sp_problem *p)
{
    bool ok;
    if (!sp_page_form_posted(r, p) || !sp_page_session(r, s, p) || !sp_page_csrf_of_user(r, s, &ok, p))
        return false;
    if (!ok)
        sp_page_csrf_refused(r, s);
    return ok;
}

/* The sign-in page with a fresh sign-in CSRF cookie, saying why the last
 * try failed (NULL: the first try). */
static enum sp_rc
login_page(struct sp_req *r, const char *why, const char *next)
{
    const struct sp_app *app = r->env->app;
    const char *csrf = sp_admin_login_token(r->arena, app->login_key, r->now_ms / 1000);
    set_login_cookie(r, csrf, SP_ADMIN_LOGIN_TTL);
    struct json_object *ctx = sp_page_ctx("Sign in", NULL);
    json_object_object_add(ctx, "csrf_token", json_object_new_string(csrf));
    if (safe_next(next))
        json_object_object_add(ctx, "next", json_object_new_string(next));
    if (why != NULL)
        json_object_object_add(ctx, "error", json_object_new_string(why));
    return sp_page_render(r, 200, "login", ctx);
}

/* Whether url (an Origin, or a Referer) is of this request's own origin:
 * the scheme nginx received it by and the Host the browser sent, then
 * the end, a path or a query. Host names in any case. */
static bool
own_origin(struct sp_req *r, const char *url)
{
    const char *scheme = sp_req_param(r->envp, "REQUEST_SCHEME");
    const char *host = sp_req_header(r, "Host");
    if (host == NULL || *host == '\0')
        return false;
    const char *origin = sp_arena_sprintf(r->arena, "%s://%s",
                                          scheme != NULL && strcmp(scheme, "https") == 0 ? "https"
                                                                                       : "http",
                                          host);
    size_t n = strlen(origin);
    return strncasecmp(url, origin, n) == 0 && strchr("/?", url[n]) != NULL;
}

/* Whether the browser says the request came from another origin's page.
 * Sec-Fetch-Site first ("none": typed or bookmarked, which no other site
 * can make happen). A browser without it (QA: Safari before 16.4 posted
 * another site's form as ours) still sends Origin with a POST, or at
 * least a Referer: either of another origin (or Origin "null") is
 * elsewhere. Neither (a script, curl) is not. */
bool
sp_page_from_elsewhere(struct sp_req *r)
{
    const char *site = sp_req_header(r, "Sec-Fetch-Site");
    if (site != NULL)
        return strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0;
    const char *origin = sp_req_header(r, "Origin");
    if (origin == NULL)
        origin = sp_req_header(r, "Referer");
    return origin != NULL && !own_origin(r, origin);
}

/* Whether the sign-in form was sent by this site's own page. Double
 * submit: the form's token is the cookie's, and the token is one this
 * server signed and not yet expired, so a value made up elsewhere (an
 * empty one above all) matches nothing. The server signs a token for
 * whoever asks, so a sibling host could still toss in one it was given:
 * a browser says where the form came from (Sec-Fetch-Site), and a form
 * from another origin is refused ("none": typed or bookmarked, which no
 * other site can make happen); the __Host- cookie
 * (login_cookie_name) cannot be tossed in at all. */
static bool
login_form_ours(struct sp_req *r)
{
    if (sp_page_from_elsewhere(r))
        return false;
    const struct sp_app *app = r->env->app;
    const char *want = sp_page_cookie(r, login_cookie_name(r)), *given = sp_req_form(r, "csrf_token");
    return sp_admin_login_token_ok(app->login_key, want, r->now_ms / 1000) &&
           given != NULL && sp_crypto_equal(want, strlen(want), given, strlen(given));
}

/* The token pasted into the sign-in form, without what a paste brings
 * along: blanks around it (a copied line's end, CR LF) and a leading
 * "Bearer " (copied from an Authorization header), in any case. An empty
 * one is absent (SP_FORM_ABSENT). */
static enum sp_form_read
pasted_token(struct sp_req *r, const char **token)
{
    enum sp_form_read how = sp_req_form_field(r, "token", token);
    if (how != SP_FORM_OK)
        return how;
    const char *b = *token, *e = b + strlen(b);
    sp_ascii_trim(&b, &e);
    if (e - b > 6 && strncasecmp(b, "bearer", 6) == 0 && sp_ascii_space(b[6])) {
        b += 6;
        sp_ascii_trim(&b, &e);
    }
    *token = sp_arena_strndup(r->arena, b, (size_t)(e - b));
    return b == e ? SP_FORM_ABSENT : SP_FORM_OK;
}

enum sp_rc
sp_page_login(struct sp_req *r, struct sp_problem *p)
{
    /* Signed in already: on to where the form would have gone. */
    (void)p;
    const char *next = sp_req_query(r, "next");
    struct sp_admin_session s;
    if (signed_in(r, &s))
        return sp_page_redirect(r, safe_next(next) ? next : KB_PATH);
    return login_page(r, NULL, next);
}

/* The area's root (/support/admin, /support/admin/): its one page is the
 * knowledge base. */
enum sp_rc
sp_page_root(struct sp_req *r, struct sp_problem *p)
{
    (void)p;
    return sp_page_redirect(r, KB_PATH);
}

enum sp_rc
sp_page_login_post(struct sp_req *r, struct sp_problem *p)
{
    if (!sp_page_form_posted(r, p))
        return p->rc;
    if (!login_form_ours(r))
        return sp_page_error(r, 403, "Forbidden",
                          "This sign-in form has expired or did not come from this site. Open"
                          " the sign-in page again.", NULL);
    const char *token, *next = sp_req_form(r, "next");
    enum sp_form_read how = pasted_token(r, &token);
    if (how == SP_FORM_ABSENT)
        return login_page(r, "Paste a token: the Token field is required.", next);
    struct sp_principal who;
    struct sp_problem auth;
    sp_problem_init(&auth);
    if (how != SP_FORM_OK || strlen(token) > SP_AUTH_TOKEN_MAX ||
        sp_auth_verify(r->env->keys, r->arena, token, r->now_ms / 1000, &who, &auth) != SP_OK)
        return login_page(r, "That token is not valid (expired, malformed or not signed by"
                             " a key this server trusts).", next);
    if (who.role != SP_ROLE_ADMIN)
        return sp_page_error(r, 403, "Forbidden",
                          "This token is valid but does not have the support_admin role.",
                          NULL);
    const struct sp_app *app = r->env->app;
    struct sp_ctx ctx = sp_api_ctx(r);
    /* A deactivated admin gets no session (API.md §6): its 403, as the
     * JSON API's (every session it had ended with the deactivation). */
    struct sp_problem off;
    sp_problem_init(&off);
    if (sp_agent_refuse_deactivated(&ctx, who.sub, &off) != SP_OK) {
        if (off.rc != SP_FORBIDDEN) {
            *p = off;
            return p->rc;
        }
        return sp_page_error(r, 403, "Forbidden", off.detail, NULL);
    }
    struct sp_admin_session s;
    const char *cookie_value;
    if (sp_admin_session_open(&ctx, who.sub, app->cfg.admin_session_hours, &cookie_value, &s,
                              p) != SP_OK)
        return p->rc;
    set_cookie(r, SESSION_COOKIE, cookie_value, app->cfg.admin_session_hours * 3600);
    set_login_cookie(r, "", 0);
    return sp_page_redirect(r, safe_next(next) ? next : KB_PATH);
}

/* Ends the session among tokens that the form's CSRF token belongs to;
 * false when the lookup failed (answered). None of them: nothing ends. */
static bool
logout_named(struct sp_req *r, const char *const *tokens, size_t n, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    const char *csrf = sp_req_form(r, "csrf_token");
    for (size_t i = 0; i < n; i++) {
        struct sp_admin_session s;
        if (sp_admin_session_find(&ctx, tokens[i], &s, p) != SP_OK) {
            if (p->rc != SP_NOT_FOUND)
                return false;
            sp_problem_init(p);
            continue;
        }
        if (sp_admin_session_csrf_ok(&s, csrf))
            return sp_admin_session_close(&ctx, s.id, p) == SP_OK;
    }
    return true;
}

enum sp_rc
sp_page_logout(struct sp_req *r, struct sp_problem *p)
{
    /* The session cookie sent twice (one tossed in by a sibling host)
     * names no session for the pages; signing out ends the one whose
     * CSRF token the form carries — the session the page was rendered
     * for — so the user is not told "signed out" while it lives on. */
    if (!sp_page_form_posted(r, p))
        return p->rc;
    const char *tokens[8];
    size_t n = sp_cookie_all(r->arena, sp_req_header(r, "Cookie"), SESSION_COOKIE, tokens, 8);
    if (n != 1 && !logout_named(r, tokens, n, p))
        return p->rc;
    struct sp_admin_session s;
    if (n == 1 && !sp_page_session_post(r, &s, p))
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    if (n == 1 && sp_admin_session_close(&ctx, s.id, p) != SP_OK)
        return p->rc;
    set_cookie(r, SESSION_COOKIE, "", 0);
    return sp_page_redirect(r, LOGIN_PATH);
}
