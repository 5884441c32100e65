/*
 * test_kb_pages: the knowledge base's admin pages over real HTTP, as a
 * browser without JavaScript uses them (API.md §8 "Admin page
 * mechanics"): the login form and its CSRF cookie (empty, made-up,
 * tampered or expired values on both sides refused, a form from another
 * origin refused, __Host- over https, its key across restarts and
 * reloads), bad and non-admin tokens, only the
 * checkbox's own value publishing, the session cookie's attributes, 303 to login without a
 * session, CSRF refusals on every state-changing POST, the create form's
 * 422 page with errors beside fields, the server-side preview (sanitized),
 * publish → the public API finds the article, edit → new ETag, unpublish
 * → 404 within the max-age, delete with its confirmation page, logout →
 * the cookie no longer opens anything, and the security headers of pages;
 * a refused edit keeping the version it edited, unreadable fields refused
 * beside them, left-out fields kept, an unchanged save changing nothing,
 * a pasted token's blanks and Bearer, and the HTML error page of every
 * error (404, 405, 413, 400, 415, 503) for a browser; the preview's
 * problem+json once the session has ended, an edit of a deleted article
 * kept as a new-article form, the one-shot notices (?done=), a form saved
 * twice saved once, the area's root, the sign-in page and error pages for
 * a signed-in admin, and a published article's public link; publish
 * and unpublish clicked twice, a form field given twice (400), a bad
 * token of a live session said so, times in words and no maxlength on
 * the title, "First page", the static files revalidated.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "domain/admin_sessions.h"

#define FORM "application/x-www-form-urlencoded"

/* A browser's cookie jar for one session (two cookies are enough). */
struct jar {
    const char *session;  /* support_admin_session value or NULL */
    const char *login;    /* support_admin_login value or NULL */
};

/* The Set-Cookie line of r that sets name, or NULL. */
static const char *
set_cookie_line(const struct sp_t_resp *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, "Set-Cookie") == 0 &&
            strncmp(r->headers[i].value, name, n) == 0 && r->headers[i].value[n] == '=')
            return r->headers[i].value;
    return NULL;
}

/* The value a Set-Cookie of r gives name ("" for a deletion), or NULL;
 * also asserts the attributes API.md §8 requires. */
static const char *
set_cookie(const struct sp_t_resp *r, const char *name)
{
    const char *line = set_cookie_line(r, name);
    if (line == NULL)
        return NULL;
    ck_assert_msg(strstr(line, "; HttpOnly") && strstr(line, "; SameSite=Strict") &&
                      strstr(line, "; Path=/support/admin"),
                  "cookie attributes: %s", line);
    line += strlen(name) + 1;
    return sp_t_fmt("%.*s", (int)strcspn(line, ";"), line);
}

static void
remember(struct jar *j, const struct sp_t_resp *r)
{
    const char *s = set_cookie(r, "support_admin_session");
    const char *l = set_cookie(r, "support_admin_login");
    if (s != NULL)
        j->session = *s ? s : NULL;
    if (l != NULL)
        j->login = *l ? l : NULL;
}

/* The Cookie header of a jar. */
static const char *
jar_cookies(const struct jar *j)
{
    return sp_t_fmt("Cookie: %s%s%s%s%s", j->session ? "support_admin_session=" : "",
                    j->session ? j->session : "", j->session && j->login ? "; " : "",
                    j->login ? "support_admin_login=" : "", j->login ? j->login : "");
}

static struct sp_t_resp *
browse(struct jar *j, const char *method, const char *path, const char *form)
{
    const char *headers[] = {jar_cookies(j), NULL};
    struct sp_t_resp *r = sp_t_request(method, path, NULL, form ? FORM : NULL, form,
                                       j->session || j->login ? headers : NULL);
    remember(j, r);
    return r;
}

/* The value of the first hidden csrf_token field of a page. */
static const char *
csrf_of(const struct sp_t_resp *r)
{
    const char *at = strstr(r->body, "name=\"csrf_token\" value=\"");
    ck_assert_msg(at != NULL, "no csrf_token field in %s", r->body);
    at += strlen("name=\"csrf_token\" value=\"");
    return sp_t_fmt("%.*s", (int)strcspn(at, "\""), at);
}

static void
assert_page(const struct sp_t_resp *r, long status)
{
    sp_t_assert_status(r, status);
    ck_assert_msg(strncmp(sp_t_header(r, "Content-Type"), "text/html", 9) == 0, "html page");
    const char *csp = sp_t_header(r, "Content-Security-Policy");
    ck_assert_msg(csp && strstr(csp, "script-src 'self'") && !strstr(csp, "unsafe-inline"),
                  "CSP: %s", csp ? csp : "(none)");
    ck_assert_uint_eq(sp_t_header_count(r, "Content-Security-Policy"), 1);
    ck_assert_str_eq(sp_t_header(r, "X-Frame-Options"), "DENY");
    ck_assert_str_eq(sp_t_header(r, "Cache-Control"), "no-store");
}

static void
assert_redirect(const struct sp_t_resp *r, const char *location)
{
    sp_t_assert_status(r, 303);
    ck_assert_str_eq(sp_t_header(r, "Location"), location);
}

/* page as an action's redirect names it, confirming what (API.md §8). */
static const char *
done(const char *page, const char *what)
{
    return sp_t_fmt("%s?done=%s", page, what);
}

/* The edit page a create's 303 leads to (saying "created"), without its
 * notice: the form's own address. */
static const char *
created_edit(const struct sp_t_resp *r)
{
    sp_t_assert_status(r, 303);
    const char *at = sp_t_header(r, "Location");
    ck_assert_msg(sp_t_matches("^/support/admin/kb/[0-9]+/edit\\?done=created$", at),
                  "location %s", at);
    return sp_t_fmt("%.*s", (int)strcspn(at, "?"), at);
}

static const char *login_as(struct jar *j, const char *token);

/* Signs in as a fresh admin; the jar then holds the session. */
static const char *
login(struct jar *j)
{
    return login_as(j, sp_t_admin_token());
}

/* Signs in with token; the jar then holds the session. The list page's
 * CSRF token. */
static const char *
login_as(struct jar *j, const char *token)
{
    /* A signed-in browser is sent on from the sign-in page: this one
     * signs in afresh, as another browser (the old session lives on). */
    j->session = NULL;
    struct sp_t_resp *r = browse(j, "GET", "/support/admin/login", NULL);
    assert_page(r, 200);
    ck_assert_ptr_nonnull(j->login);
    const char *csrf = csrf_of(r);
    ck_assert_str_eq(csrf, j->login);
    sp_t_resp_free(r);
    r = browse(j, "POST", "/support/admin/login",
               sp_t_fmt("csrf_token=%s&token=%s", csrf, sp_t_urlencode(token)));
    assert_redirect(r, "/support/admin/kb");
    ck_assert_ptr_nonnull(j->session);
    ck_assert_ptr_null(j->login);
    sp_t_resp_free(r);
    r = browse(j, "GET", "/support/admin/kb", NULL);
    assert_page(r, 200);
    const char *page_csrf = csrf_of(r);
    sp_t_resp_free(r);
    return page_csrf;
}

/* A deactivated admin (API.md §6) keeps no page session: those it had end
 * with the deactivation (a reactivation gives none back), every page
 * treats its cookie as a lost session (the sign-in page; the preview's
 * 401), and the sign-in refuses it (403). */
START_TEST(a_deactivated_admins_page_sessions_end_and_it_cannot_sign_in)
{
    struct sp_t_user me = sp_t_user_new(SP_ROLE_ADMIN);
    int64_t id = sp_t_agent_id(&me);
    struct jar j = {0};
    const char *csrf = login_as(&j, me.token);
    const char *patch = sp_t_fmt("/support/admin/agents/%lld", (long long)id);
    struct sp_t_resp *r = sp_t_admin("PATCH", patch, "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_admin_sessions"
                              " WHERE user_id = '%s' AND revoked_at IS NULL", me.sub), "0");

    const char *cookie = j.session;
    r = browse(&j, "GET", "/support/admin/kb", NULL);
    assert_redirect(r, "/support/admin/login");
    sp_t_resp_free(r);
    r = browse(&j, "POST", "/support/admin/kb/preview",
               sp_t_fmt("csrf_token=%s&content_markdown=x", csrf));
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);

    struct jar fresh = {0};
    r = browse(&fresh, "GET", "/support/admin/login", NULL);
    const char *login_csrf = csrf_of(r);
    sp_t_resp_free(r);
    r = browse(&fresh, "POST", "/support/admin/login",
               sp_t_fmt("csrf_token=%s&token=%s", login_csrf, sp_t_urlencode(me.token)));
    assert_page(r, 403);
    ck_assert_msg(strstr(r->body, "deactivated") != NULL, "the reason: %s", r->body);
    ck_assert_ptr_null(fresh.session);
    sp_t_resp_free(r);

    /* Reactivated: it signs in again; the old cookie stays dead. */
    r = sp_t_admin("PATCH", patch, "{\"is_active\":true}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    j.session = cookie;
    r = browse(&j, "GET", "/support/admin/kb", NULL);
    assert_redirect(r, "/support/admin/login");
    sp_t_resp_free(r);
    login_as(&j, me.token);
}
END_TEST

START_TEST(login_refuses_bad_csrf_bad_tokens_and_non_admins)
{
    struct jar j = {0};
    struct sp_t_resp *r = browse(&j, "GET", "/support/admin/kb", NULL);
    assert_redirect(r, "/support/admin/login");
    sp_t_resp_free(r);

    r = browse(&j, "GET", "/support/admin/login", NULL);
    const char *csrf = csrf_of(r);
    sp_t_resp_free(r);
    /* Another CSRF value than the cookie's: 403, no session. */
    r = browse(&j, "POST", "/support/admin/login",
               sp_t_fmt("csrf_token=%s0&token=%s", csrf, sp_t_urlencode(sp_t_admin_token())));
    assert_page(r, 403);
    ck_assert_ptr_null(j.session);
    sp_t_resp_free(r);

    r = browse(&j, "POST", "/support/admin/login", sp_t_fmt("csrf_token=%s&token=nope", csrf));
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, "not valid") != NULL, "error shown: %s", r->body);
    ck_assert_ptr_null(j.session);
    csrf = csrf_of(r);
    sp_t_resp_free(r);

    r = browse(&j, "POST", "/support/admin/login",
               sp_t_fmt("csrf_token=%s&token=%s", csrf,
                        sp_t_urlencode(sp_t_user_new(SP_ROLE_AGENT).token)));
    assert_page(r, 403);
    ck_assert_ptr_null(j.session);
    sp_t_resp_free(r);
}
END_TEST

/* A form in another charset than UTF-8 is refused as a JSON body in one
 * is (415), not read as if it were UTF-8 (QA: charset=utf-16 signed in);
 * utf-8 in any case is the form. */
START_TEST(login_form_in_another_charset_is_415)
{
    struct jar j = {0};
    struct sp_t_resp *r = browse(&j, "GET", "/support/admin/login", NULL);
    const char *csrf = csrf_of(r);
    sp_t_resp_free(r);
    const char *form = sp_t_fmt("csrf_token=%s&token=%s", csrf,
                                sp_t_urlencode(sp_t_admin_token()));
    const char *cookie[] = {sp_t_fmt("Cookie: support_admin_login=%s", j.login), NULL};
    static const char *const charsets[] = {"utf-16", "UTF-16LE", "iso-8859-1"};
    for (size_t i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++) {
        r = sp_t_request("POST", "/support/admin/login", NULL,
                         sp_t_fmt(FORM "; charset=%s", charsets[i]), form, cookie);
        sp_t_assert_problem(r, 415, "unsupported_media_type");
        ck_assert_msg(strstr(r->body, "in UTF-8") != NULL, "%s", r->body);
        ck_assert_ptr_null(set_cookie(r, "support_admin_session"));
        sp_t_resp_free(r);
    }
    r = sp_t_request("POST", "/support/admin/login", NULL, FORM "; charset=UTF-8", form, cookie);
    assert_redirect(r, "/support/admin/kb");
    ck_assert_ptr_nonnull(set_cookie(r, "support_admin_session"));
    sp_t_resp_free(r);
}
END_TEST

/* A cookie name sent twice is nobody's: a session cookie tossed in from a
 * sibling host or set for a narrower path is sent before the real one,
 * and was taken (the victim then worked in the attacker's session); a
 * tossed login cookie would match a forged form's csrf_token. */
START_TEST(a_session_or_login_cookie_sent_twice_is_not_taken)
{
    struct jar mine = {0}, theirs = {0};
    login(&mine);
    login(&theirs);
    const char *both = sp_t_fmt("Cookie: support_admin_session=%s; support_admin_session=%s",
                                theirs.session, mine.session);
    const char *headers[] = {both, NULL};
    struct sp_t_resp *r = sp_t_request("GET", "/support/admin/kb", NULL, NULL, NULL, headers);
    assert_redirect(r, "/support/admin/login");
    sp_t_resp_free(r);
    /* the same on two Cookie lines (nginx handed only the first over) */
    const char *first = sp_t_fmt("Cookie: support_admin_session=%s", theirs.session);
    const char *second = sp_t_fmt("Cookie: support_admin_session=%s", mine.session);
    const char *lines[] = {first, second, NULL};
    r = sp_t_request("GET", "/support/admin/kb", NULL, NULL, NULL, lines);
    assert_redirect(r, "/support/admin/login");
    sp_t_resp_free(r);
    const char *other = "Cookie: theme=dark";  /* a session on the second line is seen */
    const char *later[] = {other, second, NULL};
    r = sp_t_request("GET", "/support/admin/kb", NULL, NULL, NULL, later);
    assert_page(r, 200);
    sp_t_resp_free(r);
    struct jar one = {.session = mine.session};  /* each alone still works */
    r = browse(&one, "GET", "/support/admin/kb", NULL);
    assert_page(r, 200);
    sp_t_resp_free(r);

    struct jar fresh = {0};
    r = browse(&fresh, "GET", "/support/admin/login", NULL);
    sp_t_resp_free(r);
    const char *tossed = sp_t_fmt("Cookie: support_admin_login=forged; support_admin_login=%s",
                                  fresh.login);
    const char *login_headers[] = {tossed, NULL};
    r = sp_t_request("POST", "/support/admin/login", NULL, FORM,
                     sp_t_fmt("csrf_token=forged&token=%s", sp_t_urlencode(sp_t_admin_token())),
                     login_headers);
    assert_page(r, 403);
    ck_assert_ptr_null(set_cookie(r, "support_admin_session"));
    sp_t_resp_free(r);
}
END_TEST

/* Signing out with the session cookie sent twice (one tossed in) ends
 * the session the form's CSRF token belongs to and clears the cookie:
 * it answered "signed out" while the session lived on (QA); the tossed
 * session, whose token the form does not carry, lives on. */
START_TEST(logout_with_a_tossed_session_cookie_ends_the_users_session)
{
    struct jar mine = {0}, theirs = {0};
    const char *csrf = login(&mine);
    login(&theirs);
    const char *both = sp_t_fmt("Cookie: support_admin_session=%s; support_admin_session=%s",
                                theirs.session, mine.session);
    const char *headers[] = {both, NULL};
    struct sp_t_resp *r = sp_t_request("POST", "/support/admin/logout", NULL, FORM,
                                       sp_t_fmt("csrf_token=%s", csrf), headers);
    assert_redirect(r, "/support/admin/login");
    const char *cleared = set_cookie(r, "support_admin_session");
    ck_assert_msg(cleared != NULL && *cleared == '\0', "the cookie is cleared");
    sp_t_resp_free(r);
    struct jar one = {.session = mine.session};
    r = browse(&one, "GET", "/support/admin/kb", NULL);
    assert_redirect(r, "/support/admin/login");
    sp_t_resp_free(r);
    struct jar other = {.session = theirs.session};
    r = browse(&other, "GET", "/support/admin/kb", NULL);
    assert_page(r, 200);
    sp_t_resp_free(r);
    /* a form of neither session ends neither */
    struct jar third = {0};
    login(&third);
    const char *pair = sp_t_fmt("Cookie: support_admin_session=%s; support_admin_session=%s",
                                theirs.session, third.session);
    const char *pair_headers[] = {pair, NULL};
    r = sp_t_request("POST", "/support/admin/logout", NULL, FORM, "csrf_token=forged",
                     pair_headers);
    assert_redirect(r, "/support/admin/login");
    sp_t_resp_free(r);
    struct jar still = {.session = third.session};
    r = browse(&still, "GET", "/support/admin/kb", NULL);
    assert_page(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* The double submit needs a token on both sides: an empty login cookie
 * and an empty csrf_token field were equal, and signed in (a forged
 * cross-site form with a tossed empty cookie); so were two equal values
 * that are no token of ours, among them 64 lower-case hex digits made up
 * by a sibling host (the shape the tokens had: login CSRF, QA) and a made
 * up value of the signed shape. */
START_TEST(login_csrf_needs_a_token_of_ours)
{
    const char *values[] = {"", "forged", sp_t_repeat("A", 64), sp_t_repeat("0123456789abcdef", 4),
                            sp_t_fmt("%lld.%s.%s", (long long)time(NULL) + 600,
                                     sp_t_repeat("5a", 16), sp_t_repeat("c3", 32))};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const char *headers[] = {sp_t_fmt("Cookie: support_admin_login=%s", values[i]), NULL};
        struct sp_t_resp *r = sp_t_request(
            "POST", "/support/admin/login", NULL, FORM,
            sp_t_fmt("csrf_token=%s&token=%s", values[i], sp_t_urlencode(sp_t_admin_token())),
            headers);
        assert_page(r, 403);
        ck_assert_ptr_null(set_cookie(r, "support_admin_session"));
        sp_t_resp_free(r);
    }
}
END_TEST

/* The key the stack signs sign-in forms with, derived here as support-api
 * does from the stack's PII key ring: tokens made with it differ from the
 * server's own only in what a test picks (their expiry). */
static const unsigned char *
login_key(void)
{
    static unsigned char key[SP_ADMIN_LOGIN_KEY_LEN];
    static bool have;
    if (!have) {
        FILE *f = fopen(getenv("SP_TEST_ENCRYPTION_KEYS_FILE"), "r");
        ck_assert(f != NULL);
        char spec[512] = "", err[256] = "";
        ck_assert(fgets(spec, sizeof(spec), f) != NULL);
        fclose(f);
        spec[strcspn(spec, "\n")] = '\0';
        struct sp_crypto *c = sp_crypto_new(spec, NULL, err, sizeof(err));
        ck_assert_msg(c != NULL, "%s", err);
        have = sp_crypto_derive_key(c, SP_ADMIN_LOGIN_PURPOSE, key);
        sp_crypto_free(c);
        ck_assert(have);
    }
    return key;
}

/* A sign-in form with the admin JWT, cookie and csrf_token as given, and
 * one more header (NULL: none). */
static struct sp_t_resp *
post_login(const char *cookie, const char *csrf, const char *header)
{
    const char *headers[] = {sp_t_fmt("Cookie: support_admin_login=%s", cookie), header, NULL};
    return sp_t_request(
        "POST", "/support/admin/login", NULL, FORM,
        sp_t_fmt("csrf_token=%s&token=%s", csrf, sp_t_urlencode(sp_t_admin_token())), headers);
}

static void
assert_login_refused(struct sp_t_resp *r, const char *what)
{
    ck_assert_msg(r->status == 403, "%s: status %ld", what, r->status);
    assert_page(r, 403);
    ck_assert_msg(strstr(r->body, "This sign-in form has expired") != NULL, "%s: %s", what,
                  r->body);
    ck_assert_msg(set_cookie(r, "support_admin_session") == NULL, "%s: signed in", what);
    sp_t_resp_free(r);
}

static void
assert_login_taken(struct sp_t_resp *r, const char *what)
{
    ck_assert_msg(r->status == 303, "%s: status %ld", what, r->status);
    assert_redirect(r, "/support/admin/kb");
    ck_assert_msg(set_cookie(r, "support_admin_session") != NULL, "%s: no session", what);
    sp_t_resp_free(r);
}

/* The login form's token is signed by the server and expires: a sibling
 * host that tosses in a cookie can only use one the server made, so a
 * made-up, tampered or expired one is refused however well it matches the
 * form; and a form a browser says came from another origin (a sibling
 * host's page) is refused even with a token the server made. */
START_TEST(login_csrf_token_is_signed_expires_and_comes_from_this_origin)
{
    struct jar j = {0};
    struct sp_t_resp *r = browse(&j, "GET", "/support/admin/login", NULL);
    const char *real = csrf_of(r);
    sp_t_resp_free(r);
    ck_assert_str_eq(real, j.login);
    long long expiry = strtoll(real, NULL, 10), now = (long long)time(NULL);
    ck_assert_msg(expiry > now + 3500 && expiry <= now + 3601, "expiry %lld, now %lld", expiry,
                  now);
    const char *dot = strchr(real, '.');
    ck_assert_uint_eq(strlen(real), (size_t)(dot - real) + 1 + 32 + 1 + 64);
    const char *tampered[] = {
        sp_t_fmt("%lld%s", expiry + 3600, dot),                          /* a later expiry */
        sp_t_fmt("%.*s%c", (int)strlen(real) - 1, real,                  /* one MAC digit */
                 real[strlen(real) - 1] == '0' ? '1' : '0'),
        sp_t_fmt("%.*s%c%s", (int)(dot - real) + 1, real, dot[1] == 'a' ? 'b' : 'a', dot + 2),
        sp_t_fmt("%.*s", (int)strlen(real) - 2, real),                  /* cut short */
        sp_t_fmt("0%s", real),                                            /* a leading zero */
    };
    for (size_t i = 0; i < sizeof(tampered) / sizeof(tampered[0]); i++)
        assert_login_refused(post_login(tampered[i], tampered[i], NULL), tampered[i]);

    struct sp_arena a;
    sp_arena_init(&a, 1024);
    const char *expired = sp_t_fmt("%s", sp_admin_login_token(&a, login_key(), now - 3601));
    const char *fresh = sp_t_fmt("%s", sp_admin_login_token(&a, login_key(), now));
    sp_arena_destroy(&a);
    assert_login_refused(post_login(expired, expired, NULL), "expired");
    /* the same key, unexpired: taken (so the one above was refused for its
     * age alone) */
    assert_login_taken(post_login(fresh, fresh, NULL), "fresh");

    /* A form from a sibling host's page, with a token the server gave it */
    assert_login_refused(post_login(real, real, "Sec-Fetch-Site: same-site"), "same-site");
    assert_login_refused(post_login(real, real, "Sec-Fetch-Site: cross-site"), "cross-site");
    assert_login_taken(post_login(real, real, "Sec-Fetch-Site: same-origin"), "same-origin");
}
END_TEST

/* The form's checkbox sends is_published=1 when checked and nothing
 * otherwise; any other value is not a checked box: a draft. */
START_TEST(only_the_checkboxs_value_publishes)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *values[] = {"0", "", "on", "true", "1"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        const char *slug = sp_t_unique("check");
        struct sp_t_resp *r = browse(&j, "POST", "/support/admin/kb/new",
                                     sp_t_fmt("csrf_token=%s&slug=%s&title=T&content_markdown=x"
                                              "&is_published=%s", csrf, slug, values[i]));
        sp_t_assert_status(r, 303);
        sp_t_resp_free(r);
        ck_assert_msg(strcmp(sp_t_sql("SELECT is_published FROM support_knowledge_articles"
                                      " WHERE slug = '%s'", slug),
                             i == 4 ? "t" : "f") == 0, "is_published=%s", values[i]);
    }
}
END_TEST

/* The form follows the JSON API's rules (QA): a title of blanks or with
 * a line break is refused beside its field, and each bad tag is named by
 * its index beside the tags field; nothing is created. */
START_TEST(the_form_refuses_blank_titles_and_names_each_bad_tag)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *const titles[] = {"+++", "%E2%80%8B", "Guide%0AAgent+(Ada)%3A+hi"};
    for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
        const char *slug = sp_t_unique("form");
        struct sp_t_resp *r = browse(&j, "POST", "/support/admin/kb/new",
                                     sp_t_fmt("csrf_token=%s&slug=%s&title=%s&content_markdown=x"
                                              "&tags=ok,-x,Ok", csrf, slug, titles[i]));
        assert_page(r, 422);
        ck_assert_msg(strstr(r->body, "id=\"title-error\"") != NULL, "title error in %s",
                      r->body);
        /* in words, naming the tag as typed (it was "tags[2]: a tag …") */
        ck_assert_msg(strstr(r->body, "The tag &quot;-x&quot; must be 1 to 40 characters") &&
                          strstr(r->body, "The tag &quot;Ok&quot; is listed twice") &&
                          !strstr(r->body, "tags["),
                      "each tag's error in %s", r->body);
        sp_t_resp_free(r);
        ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_knowledge_articles"
                                  " WHERE slug = '%s'", slug), "0");
    }
}
END_TEST

START_TEST(create_preview_publish_edit_unpublish_delete_logout)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *slug = sp_t_unique("page");

    /* 422 with each error beside its field; what was typed stays. */
    struct sp_t_resp *r = browse(&j, "POST", "/support/admin/kb/new",
                                 sp_t_fmt("csrf_token=%s&slug=Bad+Slug&title=&"
                                          "content_markdown=Kept+text&tags=a,+B", csrf));
    assert_page(r, 422);
    ck_assert_msg(strstr(r->body, "id=\"slug-error\"") && strstr(r->body, "id=\"title-error\""),
                  "field errors in %s", r->body);
    ck_assert_msg(strstr(r->body, "Kept text") != NULL, "typed text kept");
    sp_t_resp_free(r);

    /* Without the CSRF token nothing is created. */
    r = browse(&j, "POST", "/support/admin/kb/new",
               sp_t_fmt("slug=%s&title=T&content_markdown=x", slug));
    assert_page(r, 403);
    sp_t_resp_free(r);

    r = browse(&j, "POST", "/support/admin/kb/preview",
               sp_t_fmt("csrf_token=%s&content_markdown=%s", csrf,
                        sp_t_urlencode("**bold** <script>alert(1)</script> [x](javascript:y)")));
    sp_t_assert_status(r, 200);
    ck_assert_msg(strstr(r->body, "<strong>bold</strong>") && !strstr(r->body, "<script") &&
                      !strstr(r->body, "javascript:"),
                  "preview: %s", r->body);
    sp_t_resp_free(r);

    /* Markdown nested past the limit: the preview is a 422 problem naming
     * the field (admin.js shows its message), the form a 422 page with
     * the error beside the field; nothing is created. */
    const char *deep = sp_t_urlencode(sp_t_fmt("%sx", sp_t_repeat("- ", 40)));
    r = browse(&j, "POST", "/support/admin/kb/preview",
               sp_t_fmt("csrf_token=%s&content_markdown=%s", csrf, deep));
    sp_t_assert_invalid(r, "content_markdown", "too_complex");
    sp_t_resp_free(r);
    /* And a table row of more cells than a preview can afford (45 000
     * took 4.9 s), refused by the same check. */
    r = browse(&j, "POST", "/support/admin/kb/preview",
               sp_t_fmt("csrf_token=%s&content_markdown=%s", csrf,
                        sp_t_urlencode(sp_t_fmt("|a|\n|-|\n%s", sp_t_repeat("|a", 4000)))));
    sp_t_assert_invalid(r, "content_markdown", "too_complex");
    ck_assert_msg(strstr(r->body, "too many cells") != NULL, "%s", r->body);
    sp_t_resp_free(r);
    r = browse(&j, "POST", "/support/admin/kb/new",
               sp_t_fmt("csrf_token=%s&slug=%s&title=Deep&content_markdown=%s", csrf, slug,
                        deep));
    assert_page(r, 422);
    ck_assert_msg(strstr(r->body, "id=\"content_markdown-error\"") &&
                      strstr(r->body, "nests more than 32 levels deep"),
                  "field error in %s", r->body);
    sp_t_resp_free(r);

    const char *word = sp_t_fmt("zq%sx", slug + strlen(slug) - 4);
    r = browse(&j, "POST", "/support/admin/kb/new",
               sp_t_fmt("csrf_token=%s&slug=%s&title=Returns+policy&content_markdown=%s&tags=Help,"
                        "+returns&is_published=1",
                        csrf, slug, sp_t_urlencode(sp_t_fmt("How returns work: %s.", word))));
    sp_t_assert_status(r, 303);
    const char *edit = created_edit(r);

    sp_t_resp_free(r);

    r = sp_t_get(sp_t_fmt("/support/articles?q=%s", word), NULL);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq((int)json_object_array_length(sp_t_jget(r->json, "data")), 1);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/articles/%s", slug), NULL);
    sp_t_assert_json(r, 200);
    const char *etag = sp_t_fmt("%s", sp_t_header(r, "ETag"));
    ck_assert_str_eq(json_object_to_json_string_ext(sp_t_jget(r->json, "tags"), 0),
                     "[\"help\",\"returns\"]");
    sp_t_resp_free(r);

    r = browse(&j, "GET", edit, NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, "How returns work") != NULL, "markdown in the form");
    sp_t_resp_free(r);
    const char *id = sp_t_fmt("%.*s", (int)strcspn(edit + 18, "/"), edit + 18);
    r = browse(&j, "POST", edit,
               sp_t_fmt("csrf_token=%s&version=1&slug=%s&title=Returns+policy+v2&"
                        "content_markdown=%s&tags=help",
                        csrf, slug, sp_t_urlencode(sp_t_fmt("Updated: %s.", word))));
    assert_redirect(r, done(edit, "saved"));
    sp_t_resp_free(r);
    /* A stale version is refused, nothing is lost silently. */
    r = browse(&j, "POST", edit,
               sp_t_fmt("csrf_token=%s&version=1&slug=%s&title=Stale&content_markdown=x", csrf,
                        slug));
    assert_page(r, 422);
    sp_t_resp_free(r);
    /* So is a form without a valid version: the guard is never skipped. */
    static const char *const versions[] = {"", "&version=", "&version=0", "&version=abc",
                                           "&version=-2", "&version=2x", "&version=%2B2",
                                           "&version=99999999999999999999"};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        r = browse(&j, "POST", edit,
                   sp_t_fmt("csrf_token=%s%s&slug=%s&title=Lost&content_markdown=x", csrf,
                            versions[i], slug));
        assert_page(r, 422);
        ck_assert_msg(strstr(r->body, "does not say which version") != NULL, "%s: %s",
                      versions[i], r->body);
        sp_t_resp_free(r);
    }
    r = sp_t_get(sp_t_fmt("/support/articles/%s", slug), sp_t_user_new(SP_ROLE_CUSTOMER).token);
    sp_t_assert_json(r, 200);
    ck_assert_str_ne(sp_t_header(r, "ETag"), etag);
    ck_assert_str_eq(sp_t_jstr(r->json, "title"), "Returns policy v2");
    sp_t_resp_free(r);

    r = browse(&j, "POST", sp_t_fmt("/support/admin/kb/%s/unpublish", id), "csrf_token=bad");
    assert_page(r, 403);
    sp_t_resp_free(r);
    r = browse(&j, "POST", sp_t_fmt("/support/admin/kb/%s/unpublish", id),
               sp_t_fmt("csrf_token=%s", csrf));
    assert_redirect(r, done(edit, "unpublished"));
    sp_t_resp_free(r);
    for (int waited = 0;; waited++) {
        r = sp_t_get(sp_t_fmt("/support/articles/%s", slug), NULL);
        long status = r->status;
        sp_t_resp_free(r);
        if (status == 404)
            break;
        ck_assert_msg(waited < 60, "still public after the max-age");
        sleep(1);
    }

    r = browse(&j, "GET", sp_t_fmt("/support/admin/kb/%s/delete", id), NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, "cannot be undone") != NULL, "confirmation page");
    sp_t_resp_free(r);
    r = browse(&j, "POST", sp_t_fmt("/support/admin/kb/%s/delete", id),
               sp_t_fmt("csrf_token=%s", csrf));
    assert_redirect(r, "/support/admin/kb?done=deleted");
    sp_t_resp_free(r);
    r = browse(&j, "GET", edit, NULL);
    assert_page(r, 404);
    sp_t_resp_free(r);

    const char *old = j.session;
    r = browse(&j, "POST", "/support/admin/logout", sp_t_fmt("csrf_token=%s", csrf));
    assert_redirect(r, "/support/admin/login");
    ck_assert_ptr_null(j.session);
    sp_t_resp_free(r);
    j.session = old;  /* a copied cookie is dead too */
    r = browse(&j, "GET", "/support/admin/kb", NULL);
    assert_redirect(r, "/support/admin/login");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(list_searches_and_filters_and_escapes_titles)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *slug = sp_t_unique("esc");
    struct sp_t_resp *r = browse(&j, "POST", "/support/admin/kb/new",
                                 sp_t_fmt("csrf_token=%s&slug=%s&title=%s&content_markdown=body",
                                          csrf, slug,
                                          sp_t_urlencode("<img src=x onerror=alert(1)> \"q\"")));
    sp_t_assert_status(r, 303);
    sp_t_resp_free(r);
    r = browse(&j, "GET", "/support/admin/kb?status=draft", NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, "&lt;img src&#61;x onerror&#61;alert(1)&gt;") != NULL ||
                      strstr(r->body, "&lt;img") != NULL,
                  "escaped title");
    ck_assert_msg(strstr(r->body, "<img src=x") == NULL, "raw title in %s", r->body);
    ck_assert_msg(strstr(r->body, slug) != NULL, "draft listed");
    sp_t_resp_free(r);
    r = browse(&j, "GET", "/support/admin/kb?status=published", NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, slug) == NULL, "draft not in published");
    sp_t_resp_free(r);
    /* The stylesheet and script are served, and are files. */
    r = sp_t_get("/support/admin/static/admin.js", NULL);
    sp_t_assert_status(r, 200);
    ck_assert_msg(strstr(r->body, "kb/preview") != NULL, "admin.js");
    sp_t_resp_free(r);
    r = sp_t_get("/support/admin/static/admin.css", NULL);
    sp_t_assert_status(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* The text of s[0..n) as a browser reads it: the template's entities
 * decoded; a raw '&', '<' or '"' would be a value the template did not
 * escape. */
static const char *
html_text(const char *s, size_t n)
{
    static const struct { const char *ent; char ch; } ents[] = {
        {"&amp;", '&'}, {"&#61;", '='}, {"&quot;", '"'}, {"&lt;", '<'}, {"&gt;", '>'},
        {"&#39;", '\''}, {"&#96;", '`'},
    };
    char *out = (char *)sp_t_fmt("%.*s", (int)n, s), *w = out;
    for (const char *p = out; *p != '\0';) {
        size_t i = 0;
        while (i < sizeof(ents) / sizeof(ents[0]) && strncmp(p, ents[i].ent, strlen(ents[i].ent)))
            i++;
        if (i < sizeof(ents) / sizeof(ents[0])) {
            *w++ = ents[i].ch;
            p += strlen(ents[i].ent);
        } else {
            ck_assert_msg(*p != '&' && *p != '<' && *p != '"', "unescaped text: %s", out);
            *w++ = *p++;
        }
    }
    *w = '\0';
    return out;
}

/* The href of the page's link with id, as a browser reads it. */
static const char *
link_of(const struct sp_t_resp *r, const char *id)
{
    const char *at = strstr(r->body, sp_t_fmt("id=\"%s\"", id));
    ck_assert_msg(at != NULL, "no #%s in %s", id, r->body);
    while (at > r->body && strncmp(at, "<a ", 3) != 0)
        at--;
    at = strstr(at, "href=\"");
    ck_assert_ptr_nonnull(at);
    at += strlen("href=\"");
    return html_text(at, strcspn(at, "\""));
}

/* The href of a page's "Next page" link with its entities decoded (the
 * template escapes every value), or NULL. */
static const char *
next_href(const struct sp_t_resp *r)
{
    const char *end = strstr(r->body, "\">Next page</a>");
    if (end == NULL)
        return NULL;
    const char *at = end;
    while (at > r->body && strncmp(at, "href=\"", 6) != 0)
        at--;
    ck_assert_msg(at > r->body, "next link without href: %s", r->body);
    at += 6;
    return html_text(at, (size_t)(end - at));
}

/* With more matches than a page, "Next page" keeps the search and the
 * status filter (percent-encoded, then HTML-escaped): page 2 lists the
 * remaining matches only, never the articles the search excludes. */
START_TEST(next_page_keeps_the_search_and_the_filter)
{
    struct jar j = {0};
    login(&j);
    const char *word = sp_t_unique_word();
    const char *other = sp_t_unique("kb-other");
    /* older than the matches, so a page 2 without the search lists it */
    sp_t_sql("INSERT INTO support_knowledge_articles (slug, title, content_markdown, content_text)"
             " VALUES ('%s', 'unrelated', 'unrelated', 'unrelated')", other);
    sp_t_sql("INSERT INTO support_knowledge_articles (slug, title, content_markdown, content_text)"
             " SELECT '%s-' || g, '%s ' || g, 'body', 'body' FROM generate_series(1, 51) g"
             " ORDER BY g", word, word);
    const char *q = sp_t_fmt("%s & =", word);
    struct sp_t_resp *r =
        browse(&j, "GET", sp_t_fmt("/support/admin/kb?q=%s&status=draft", sp_t_urlencode(q)), NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, sp_t_fmt(">/%s-51<", word)) != NULL, "newest match first");
    ck_assert_msg(strstr(r->body, sp_t_fmt(">/%s-1<", word)) == NULL, "50 a page");
    ck_assert_msg(strstr(r->body, "First page") == NULL, "a first page link on page 1");
    const char *href = next_href(r);
    ck_assert_msg(href != NULL, "no next page link in %s", r->body);
    sp_t_resp_free(r);
    ck_assert_msg(strncmp(href, sp_t_fmt("/support/admin/kb?q=%s&status=draft&cursor=",
                                         sp_t_urlencode(q)),
                          strlen("/support/admin/kb?q=&status=draft&cursor=") +
                              strlen(sp_t_urlencode(q))) == 0,
                  "next link: %s", href);
    r = browse(&j, "GET", href, NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, sp_t_fmt(">/%s-1<", word)) != NULL, "the 51st match: %s",
                  r->body);
    ck_assert_msg(strstr(r->body, sp_t_fmt(">/%s-2<", word)) == NULL, "page 1's matches");
    ck_assert_msg(strstr(r->body, other) == NULL, "a non-matching article on page 2");
    ck_assert_msg(strstr(r->body, sp_t_fmt("value=\"%s &amp; &#61;\"", word)) != NULL,
                  "the search box keeps the search");
    ck_assert_msg(strstr(r->body, "Next page") == NULL, "no third page");
    /* QA: past the first page, a way back to it, with the search and
     * the status; the first page has none */
    ck_assert_str_eq(link_of(r, "first-page"),
                     sp_t_fmt("/support/admin/kb?q=%s&status=draft", sp_t_urlencode(q)));
    sp_t_resp_free(r);
    /* QA: a cursor belongs to its search and filter; with another status
     * it is ignored (the first page), not continued. */
    r = browse(&j, "GET", sp_t_fmt("/support/admin/kb?q=%s&status=all&%s", sp_t_urlencode(q),
                                   strstr(href, "cursor=")), NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, sp_t_fmt(">/%s-51<", word)) != NULL,
                  "a status=draft cursor went on with status=all: %s", r->body);
    sp_t_resp_free(r);
    /* QA: an encoded name (%71 is q) was no search: the whole list */
    r = browse(&j, "GET", sp_t_fmt("/support/admin/kb?%%71=%s&st%%61tus=draft", word), NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, sp_t_fmt(">/%s-51<", word)) != NULL, "the search's matches");
    ck_assert_msg(strstr(r->body, sp_t_fmt("value=\"%s\"", word)) != NULL,
                  "%%71 was not read as q: %s", r->body);
    sp_t_resp_free(r);
}
END_TEST

/* The login page's text, from any worker. */
static bool
login_page_says(const char *text)
{
    struct jar j = {0};
    struct sp_t_resp *r = browse(&j, "GET", "/support/admin/login", NULL);
    bool says = r->status == 200 && strstr(r->body, text) != NULL;
    sp_t_resp_free(r);
    return says;
}

START_TEST(templates_reload_on_sighup_and_a_broken_one_is_refused)
{
    const char *dir = sp_t_fmt("%s/templates-%d", getenv("SP_TEST_STACK_DIR"), (int)getpid());
    ck_assert_int_eq(system(sp_t_fmt("rm -rf '%s' && cp -r '%s/templates' '%s'", dir,
                                     getenv("top_srcdir"), dir)),
                     0);
    sp_t_stackctl(sp_t_fmt("restart-api-with SUPPORT_TEMPLATES_DIR=%s", dir));
    ck_assert(login_page_says("Paste a JWT"));

    ck_assert_int_eq(system(sp_t_fmt("sed -i 's/Paste a JWT/Paste the reloaded JWT/' '%s/login.html'",
                                     dir)),
                     0);
    sp_t_stackctl("signal-api HUP");
    bool reloaded = false;
    for (int i = 0; i < 100 && !reloaded; i++) {
        /* every worker: several requests in a row must all say it */
        reloaded = login_page_says("Paste the reloaded JWT") &&
                   login_page_says("Paste the reloaded JWT") &&
                   login_page_says("Paste the reloaded JWT") &&
                   login_page_says("Paste the reloaded JWT");
        if (!reloaded)
            usleep(100 * 1000);
    }
    ck_assert_msg(reloaded, "the edited template is not served after SIGHUP");

    /* An unbalanced section: the reload is refused, the pages keep working. */
    ck_assert_int_eq(system(sp_t_fmt("printf '{{#x}}' >> '%s/login.html'", dir)), 0);
    sp_t_stackctl("signal-api HUP");
    usleep(500 * 1000);
    for (int i = 0; i < 8; i++)
        ck_assert(login_page_says("Paste the reloaded JWT"));
    /* A restart with the broken set would refuse to start: back to the
     * shipped templates. */
    sp_t_stackctl(sp_t_fmt("restart-api-with SUPPORT_TEMPLATES_DIR=%s/templates",
                           getenv("top_srcdir")));
    ck_assert(login_page_says("Paste a JWT"));
}
END_TEST

/* Served as over https (no SUPPORT_COOKIE_INSECURE), the sign-in cookie
 * is __Host-: Secure, Path=/, no Domain, which a browser takes only from
 * this host, so the plain name a sibling host could toss in is not read.
 * The token's key derives from the PII keys: a form served before a
 * restart is still taken after it. */
START_TEST(login_cookie_is_host_prefixed_over_https_and_outlives_a_restart)
{
    struct jar j = {0};
    struct sp_t_resp *r = browse(&j, "GET", "/support/admin/login", NULL);
    const char *before = csrf_of(r);
    sp_t_resp_free(r);
    sp_t_stackctl("restart-api-with SUPPORT_COOKIE_INSECURE=0");

    r = sp_t_request("GET", "/support/admin/login", NULL, NULL, NULL, NULL);
    assert_page(r, 200);
    const char *line = set_cookie_line(r, "__Host-support_admin_login");
    ck_assert_msg(line != NULL, "no __Host- cookie");
    ck_assert_str_eq(line, sp_t_fmt("__Host-support_admin_login=%s; Path=/; Max-Age=3600;"
                                    " HttpOnly; SameSite=Strict; Secure", csrf_of(r)));
    ck_assert_ptr_null(set_cookie_line(r, "support_admin_login"));
    const char *fresh = csrf_of(r);
    sp_t_resp_free(r);

    /* the plain name, as a sibling host could set it: not read */
    assert_login_refused(post_login(fresh, fresh, NULL), "unprefixed cookie");
    const char *headers[] = {sp_t_fmt("Cookie: __Host-support_admin_login=%s", before), NULL};
    r = sp_t_request(
        "POST", "/support/admin/login", NULL, FORM,
        sp_t_fmt("csrf_token=%s&token=%s", before, sp_t_urlencode(sp_t_admin_token())), headers);
    assert_redirect(r, "/support/admin/kb");
    line = set_cookie_line(r, "__Host-support_admin_login");
    ck_assert_msg(line != NULL && strncmp(line, "__Host-support_admin_login=; Path=/; Max-Age=0;",
                                          47) == 0,
                  "cleared: %s", line ? line : "(none)");
    line = set_cookie_line(r, "support_admin_session");
    ck_assert_msg(line != NULL && strstr(line, "; Secure") != NULL, "session: %s",
                  line ? line : "(none)");
    sp_t_resp_free(r);
    sp_t_stackctl("restart-api");
}
END_TEST

/* Without PII keys the token key is random, made once by the master: a
 * token signed with the key the PII keys would give is refused, and a form
 * served before a reload (SIGHUP, new workers) is still taken after it. */
START_TEST(login_key_without_pii_keys_is_random_and_outlives_a_reload)
{
    sp_t_stackctl("restart-api-with SUPPORT_ENCRYPTION_KEYS_FILE=");
    struct jar j = {0};
    struct sp_t_resp *r = browse(&j, "GET", "/support/admin/login", NULL);
    const char *before = csrf_of(r);
    sp_t_resp_free(r);
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    const char *derived =
        sp_t_fmt("%s", sp_admin_login_token(&a, login_key(), (long long)time(NULL)));
    sp_arena_destroy(&a);
    assert_login_refused(post_login(derived, derived, NULL), "the PII keys' key");

    sp_t_stackctl("signal-api HUP");
    usleep(500 * 1000);
    for (int i = 0; i < 8; i++)   /* any worker, the new ones above all */
        assert_login_taken(post_login(before, before, NULL), "served before the reload");
    sp_t_stackctl("restart-api");
}
END_TEST

/* The value of a page's input field named name, as a browser reads it. */
static const char *
input_value(const struct sp_t_resp *r, const char *name)
{
    const char *key = sp_t_fmt("name=\"%s\" value=\"", name);
    const char *at = strstr(r->body, key);
    ck_assert_msg(at != NULL, "no %s field in %s", name, r->body);
    at += strlen(key);
    return html_text(at, strcspn(at, "\""));
}

/* The article form's textarea as a browser reads it: an HTML parser drops
 * the newline right after <textarea …>. */
static const char *
textarea_value(const struct sp_t_resp *r)
{
    const char *at = strstr(r->body, "data-preview=\"preview\">");
    ck_assert_msg(at != NULL, "no textarea in %s", r->body);
    at += strlen("data-preview=\"preview\">");
    at += *at == '\n';
    const char *end = strstr(at, "</textarea>");
    ck_assert_ptr_nonnull(end);
    return html_text(at, (size_t)(end - at));
}

/* s with each LF as CR LF, as a browser submits a textarea's text. */
static const char *
crlf(const char *s)
{
    size_t lines = 0;
    for (const char *c = s; *c != '\0'; c++)
        lines += *c == '\n';
    char *out = (char *)sp_t_repeat(" ", strlen(s) + lines), *w = out;
    for (const char *c = s; *c != '\0'; c++) {
        if (*c == '\n')
            *w++ = '\r';
        *w++ = *c;
    }
    return out;
}

/* The edit form of page r as a browser submits it when Save is pressed
 * with nothing changed. */
static const char *
unchanged_form(const struct sp_t_resp *r)
{
    return sp_t_fmt("csrf_token=%s&version=%s&title=%s&slug=%s&tags=%s&content_markdown=%s",
                    sp_t_urlencode(csrf_of(r)), sp_t_urlencode(input_value(r, "version")),
                    sp_t_urlencode(input_value(r, "title")), sp_t_urlencode(input_value(r, "slug")),
                    sp_t_urlencode(input_value(r, "tags")),
                    sp_t_urlencode(crlf(textarea_value(r))));
}

/* A new draft article made through the form; its edit page's path. */
static const char *
form_article(struct jar *j, const char *csrf, const char *fields)
{
    struct sp_t_resp *r = browse(j, "POST", "/support/admin/kb/new",
                                 sp_t_fmt("csrf_token=%s&slug=%s&%s", csrf,
                                          sp_t_unique("form"), fields));
    const char *edit = created_edit(r);
    sp_t_resp_free(r);
    return edit;
}

/* Signs j in (the list's CSRF token in *csrf) and makes a draft through
 * the form (fields); its edit page's path, and in *base the article's
 * (the actions' prefix: base/publish, base/delete). */
static const char *
signed_in_draft(struct jar *j, const char **csrf, const char *fields, const char **base)
{
    *csrf = login(j);
    const char *edit = form_article(j, *csrf, fields);
    *base = sp_t_fmt("%.*s", (int)(strlen(edit) - 5), edit);
    return edit;
}

static const char *
article_column(const char *edit, const char *column)
{
    return sp_t_sql("SELECT %s FROM support_knowledge_articles WHERE id = %.*s", column,
                    (int)strcspn(edit + 18, "/"), edit + 18);
}

/* Two admins open the same version; b saves first. a's Save is refused
 * with a page that keeps the version a edited: it carried the current
 * version, so a second Save overwrote b's changes (QA). Every 422 of the
 * edit form keeps the version sent, and shows the article's status. */
START_TEST(a_refused_edit_keeps_the_version_it_edited)
{
    struct jar a = {0}, b = {0};
    const char *csrf_a = login(&a), *csrf_b = login(&b);
    const char *edit = form_article(&a, csrf_a, "title=First&content_markdown=first");
    struct sp_t_resp *r = browse(&b, "POST", edit,
                                 sp_t_fmt("csrf_token=%s&version=1&title=B+wrote+this&"
                                          "content_markdown=b", csrf_b));
    assert_redirect(r, done(edit, "saved"));
    sp_t_resp_free(r);
    r = browse(&b, "POST", sp_t_fmt("%.*s/publish", (int)(strlen(edit) - 5), edit),
               sp_t_fmt("csrf_token=%s", csrf_b));
    assert_redirect(r, done(edit, "published"));
    sp_t_resp_free(r);

    const char *stale = sp_t_fmt("csrf_token=%s&version=1&title=A+wrote+this&content_markdown=a",
                                 csrf_a);
    for (int i = 0; i < 2; i++) {  /* Save, and Save again on the page it gave */
        r = browse(&a, "POST", edit, stale);
        assert_page(r, 422);
        ck_assert_msg(strstr(r->body, "Someone else saved this article") != NULL, "%s", r->body);
        ck_assert_str_eq(input_value(r, "version"), "1");
        ck_assert_str_eq(input_value(r, "title"), "A wrote this");
        ck_assert_msg(strstr(r->body, "<span class=\"badge published\">published</span>"),
                      "status badge in %s", r->body);
        stale = sp_t_fmt("csrf_token=%s&version=%s&title=A+wrote+this&content_markdown=a",
                         csrf_of(r), input_value(r, "version"));
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(article_column(edit, "title"), "B wrote this");
    ck_assert_str_eq(article_column(edit, "version"), "3");

    /* A field error, stale or not: the version sent stays. */
    const char *versions[] = {"1", "3"};
    for (size_t i = 0; i < 2; i++) {
        r = browse(&a, "POST", edit,
                   sp_t_fmt("csrf_token=%s&version=%s&slug=Bad+Slug&title=T&content_markdown=x",
                            csrf_a, versions[i]));
        assert_page(r, 422);
        ck_assert_msg(strstr(r->body, "id=\"slug-error\"") != NULL, "%s", r->body);
        ck_assert_str_eq(input_value(r, "version"), versions[i]);
        ck_assert_msg(strstr(r->body, "<span class=\"badge published\">published</span>"),
                      "status badge in %s", r->body);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(article_column(edit, "version"), "3");
}
END_TEST

/* A field that cannot be read (not UTF-8, %00, a bad escape) was taken
 * as absent: an edit said "saved" and dropped the change, a create said
 * "is required" and emptied the textarea (QA). It is a 422 beside its
 * field, the other fields kept. */
START_TEST(an_unreadable_field_is_refused_beside_it)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    static const struct { const char *field, *value, *message; } bad[] = {
        {"content_markdown", "caf%E9", "is not valid UTF-8"},
        {"content_markdown", "a%00b", "must not contain NUL characters"},
        {"title", "caf%E9", "is not valid UTF-8"},
        {"title", "a%zz", "is not a valid form encoding"},
        {"slug", "a%2", "is not a valid form encoding"},
        {"tags", "a,%FF", "is not valid UTF-8"},
    };
    const char *edit = form_article(&j, csrf, "title=Old+title&content_markdown=old&tags=a,b");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *slug = sp_t_unique("bad"), *fields = "";
        static const char *const kept[][2] = {
            {"title", "Kept+title"}, {"content_markdown", "kept+text"}, {"tags", "k"}, {"slug", ""},
        };
        for (size_t k = 0; k < 4; k++) {
            bool this = strcmp(kept[k][0], bad[i].field) == 0;
            fields = sp_t_fmt("%s&%s=%s", fields, kept[k][0],
                              this ? bad[i].value : k == 3 ? slug : kept[k][1]);
        }
        struct sp_t_resp *r = browse(&j, "POST", "/support/admin/kb/new",
                                     sp_t_fmt("csrf_token=%s%s", csrf, fields));
        assert_page(r, 422);
        const char *error = sp_t_fmt("id=\"%s-error\">%s<", bad[i].field, bad[i].message);
        ck_assert_msg(strstr(r->body, error) != NULL, "%s=%s: %s", bad[i].field, bad[i].value,
                      r->body);
        ck_assert_msg(strstr(r->body, "is required") == NULL, "required: %s", r->body);
        if (strcmp(bad[i].field, "content_markdown") != 0)
            ck_assert_str_eq(textarea_value(r), "kept text");
        if (strcmp(bad[i].field, "title") != 0)
            ck_assert_str_eq(input_value(r, "title"), "Kept title");
        sp_t_resp_free(r);
        ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_knowledge_articles"
                                  " WHERE slug = '%s'", slug), "0");

        r = browse(&j, "POST", edit,
                   sp_t_fmt("csrf_token=%s&version=1&%s=%s", csrf, bad[i].field, bad[i].value));
        assert_page(r, 422);
        ck_assert_msg(strstr(r->body, error) != NULL, "edit %s=%s: %s", bad[i].field,
                      bad[i].value, r->body);
        sp_t_resp_free(r);
    }
    /* shown again as far as it reads, rather than emptied */
    struct sp_t_resp *r = browse(&j, "POST", "/support/admin/kb/new",
                                 sp_t_fmt("csrf_token=%s&slug=%s&title=&content_markdown=caf%%E9",
                                          csrf, sp_t_unique("bad")));
    assert_page(r, 422);
    ck_assert_str_eq(textarea_value(r), "caf\xEF\xBF\xBD");
    ck_assert_msg(strstr(r->body, "id=\"title-error\"") != NULL, "the other field's error");
    sp_t_resp_free(r);
    ck_assert_str_eq(article_column(edit, "version"), "1");
    ck_assert_str_eq(article_column(edit, "title"), "Old title");
    ck_assert_str_eq(article_column(edit, "content_markdown"), "old");
    ck_assert_str_eq(article_column(edit, "array_to_string(tags, ',')"), "a,b");
    /* a preview of such text: 422 naming the field */
    r = browse(&j, "POST", "/support/admin/kb/preview",
               sp_t_fmt("csrf_token=%s&content_markdown=caf%%E9", csrf));
    sp_t_assert_invalid(r, "content_markdown", "invalid");
    sp_t_resp_free(r);
}
END_TEST

/* A field left out keeps what is stored, tags as the others (leaving out
 * the tags cleared them, leaving out the text kept it); an empty tags
 * field clears them. */
START_TEST(an_edit_keeps_the_fields_it_leaves_out)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *edit = form_article(&j, csrf, "title=Old&content_markdown=old+text&tags=a,b");
    struct sp_t_resp *r = browse(&j, "POST", edit, sp_t_fmt("csrf_token=%s&version=1&title=New",
                                                            csrf));
    assert_redirect(r, done(edit, "saved"));
    sp_t_resp_free(r);
    ck_assert_str_eq(article_column(edit, "title"), "New");
    ck_assert_str_eq(article_column(edit, "content_markdown"), "old text");
    ck_assert_str_eq(article_column(edit, "array_to_string(tags, ',')"), "a,b");
    /* A refused one shows the stored values of the fields it left out */
    r = browse(&j, "POST", edit, sp_t_fmt("csrf_token=%s&version=2&title=", csrf));
    assert_page(r, 422);
    ck_assert_str_eq(input_value(r, "tags"), "a, b");
    ck_assert_str_eq(textarea_value(r), "old text");
    sp_t_resp_free(r);
    r = browse(&j, "POST", edit, sp_t_fmt("csrf_token=%s&version=2&tags=", csrf));
    assert_redirect(r, done(edit, "saved"));
    sp_t_resp_free(r);
    ck_assert_str_eq(article_column(edit, "array_to_string(tags, ',')"), "");
}
END_TEST

/* A browser sends a textarea's text with CR LF line ends and drops the
 * newline right after <textarea …>: saving an article unchanged stored
 * CR LF (a new version, re-embedding), and an article near the size limit
 * written with LF could not be saved at all (QA). Now nothing changes. */
START_TEST(saving_an_unchanged_article_changes_nothing)
{
    struct jar j = {0};
    login(&j);
    const char *texts[] = {
        "\n\nStarts with blank lines.\n\n* a <b> & \"c\" = `d`\n",
        sp_t_repeat("abcdefghi\n", 20000),  /* 200 000 bytes; with CR LF 220 000 */
    };
    for (size_t i = 0; i < 2; i++) {
        struct sp_t_resp *r = sp_t_admin_post(
            "/support/admin/articles",
            sp_t_fmt("{\"slug\":\"%s\",\"title\":\"Unchanged\",\"tags\":[\"x\",\"y\"],"
                     "\"content_markdown\":%s}", sp_t_unique("same"), sp_t_jq(texts[i])));
        const char *edit = sp_t_fmt("/support/admin/kb/%lld/edit",
                                    (long long)sp_t_jint(r->json, "id"));
        sp_t_resp_free(r);
        const char *updated = article_column(edit, "updated_at");
        r = browse(&j, "GET", edit, NULL);
        assert_page(r, 200);
        ck_assert_msg(strcmp(textarea_value(r), texts[i]) == 0, "the text as a browser reads it");
        const char *form = unchanged_form(r);
        sp_t_resp_free(r);
        r = browse(&j, "POST", edit, form);
        assert_redirect(r, done(edit, "saved"));
        sp_t_resp_free(r);
        ck_assert_str_eq(article_column(edit, "version"), "1");
        ck_assert_str_eq(article_column(edit, "updated_at"), updated);
        ck_assert_str_eq(article_column(edit, "content_markdown"), texts[i]);
    }
}
END_TEST

/* A pasted token often brings its line end, blanks or the "Bearer " of
 * the header it was copied from: they are not part of it (they were
 * refused). An empty one is a missing field, not an invalid token. */
START_TEST(login_takes_a_pasted_token_with_blanks_and_bearer)
{
    const char *token = sp_t_admin_token();
    const char *pasted[] = {
        sp_t_fmt("%s\n", token), sp_t_fmt("%s\r\n", token), sp_t_fmt("  %s  ", token),
        sp_t_fmt("Bearer %s", token), sp_t_fmt(" bEARER \t%s\r\n", token),
        "", "  \r\n",
    };
    for (size_t i = 0; i < sizeof(pasted) / sizeof(pasted[0]); i++) {
        struct jar j = {0};
        struct sp_t_resp *r = browse(&j, "GET", "/support/admin/login", NULL);
        const char *csrf = csrf_of(r);
        sp_t_resp_free(r);
        r = browse(&j, "POST", "/support/admin/login",
                   sp_t_fmt("csrf_token=%s&token=%s", csrf, sp_t_urlencode(pasted[i])));
        if (i < 5) {
            assert_redirect(r, "/support/admin/kb");
            ck_assert_ptr_nonnull(j.session);
        } else {
            assert_page(r, 200);
            ck_assert_msg(strstr(r->body, "is required") && !strstr(r->body, "not valid"),
                          "empty token: %s", r->body);
            ck_assert_ptr_null(j.session);
        }
        sp_t_resp_free(r);
    }
}
END_TEST

/* A browser (Accept: text/html) that reaches a wrong address or method
 * of the pages, or posts a form over 1 MiB, gets the HTML error page with
 * the status (and Allow) problem+json has; a client that does not ask for
 * HTML, and the JSON API beside the pages, keep problem+json. */
START_TEST(page_errors_are_html_pages_for_a_browser)
{
    const char *html = "Accept: text/html,application/xhtml+xml,*/*;q=0.8";
    const char *headers[] = {html, NULL};
    static const struct { const char *method, *path, *allow; long status; } cases[] = {
        {"GET", "/support/admin/kb/1/publish", "POST", 405},
        {"GET", "/support/admin/kb/1/unpublish", "POST", 405},
        {"GET", "/support/admin/logout", "POST", 405},
        {"GET", "/support/admin/kb/preview", "POST", 405},
        {"DELETE", "/support/admin/kb", "GET, HEAD", 405},
        {"GET", "/support/admin/kb/", NULL, 404},
        {"GET", "/support/admin/kb/1/edit/", NULL, 404},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_t_resp *r = sp_t_request(cases[i].method, cases[i].path, NULL, NULL, NULL,
                                           headers);
        ck_assert_msg(r->status == cases[i].status, "%s %s: %ld", cases[i].method,
                      cases[i].path, r->status);
        assert_page(r, cases[i].status);
        ck_assert_msg(strstr(r->body, "<h1>") != NULL, "%s: %s", cases[i].path, r->body);
        if (cases[i].allow != NULL)
            ck_assert_str_eq(sp_t_header(r, "Allow"), cases[i].allow);
        sp_t_resp_free(r);
        r = sp_t_request(cases[i].method, cases[i].path, NULL, NULL, NULL, NULL);
        sp_t_assert_problem(r, cases[i].status, cases[i].status == 405 ? "method_not_allowed"
                                                                        : "not_found");
        sp_t_resp_free(r);
    }
    /* The JSON API beside the pages answers problem+json to anyone. */
    struct sp_t_resp *r = sp_t_request("GET", "/support/admin/nothing", NULL, NULL, NULL, headers);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = sp_t_request("PUT", "/support/admin/articles", NULL, NULL, NULL, headers);
    sp_t_assert_problem(r, 405, "method_not_allowed");
    sp_t_resp_free(r);

    struct jar j = {0};
    const char *csrf = login(&j);
    const char *big = sp_t_fmt("csrf_token=%s&slug=big&title=Big&content_markdown=%s", csrf,
                               sp_t_repeat("a", 1100 * 1000));
    const char *cookie = sp_t_fmt("Cookie: support_admin_session=%s", j.session);
    const char *browser[] = {html, cookie, NULL};
    r = sp_t_request("POST", "/support/admin/kb/new", NULL, FORM, big, browser);
    assert_page(r, 413);
    sp_t_resp_free(r);
    const char *fetch[] = {cookie, NULL};
    r = sp_t_request("POST", "/support/admin/kb/new", NULL, FORM, big, fetch);
    sp_t_assert_problem(r, 413, "payload_too_large");
    sp_t_resp_free(r);
}
END_TEST

/* Every other error a page meets is the HTML page too, for a browser,
 * with the status and headers problem+json has (QA: 400, 415 and 503
 * were problem+json): a deciding header given twice (400), a body that is
 * not a form (415; it was read as a form without fields, a 403 "expired
 * form"), the article held by another transaction past the statement
 * timeout (503 with Retry-After). A fetch without Accept: text/html keeps
 * problem+json. */
START_TEST(every_page_error_is_an_html_page_for_a_browser)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *edit = form_article(&j, csrf, "title=Held&content_markdown=x");
    const char *html = "Accept: text/html,application/xhtml+xml,*/*;q=0.8";
    const char *cookie = sp_t_fmt("Cookie: support_admin_session=%s", j.session);
    const char *form = sp_t_fmt("csrf_token=%s&version=1&title=New", csrf);
    for (int browser = 1; browser >= 0; browser--) {
        const char *dup[] = {cookie, "Content-Type: " FORM, "Content-Type: text/plain",
                             browser ? html : NULL, NULL};
        struct sp_t_resp *r = sp_t_request("POST", edit, NULL, NULL, form, dup);
        if (browser) {
            assert_page(r, 400);
            ck_assert_msg(strstr(r->body, "the Content-Type header is given more than once"),
                          "%s", r->body);
        } else {
            sp_t_assert_problem(r, 400, "duplicate_header");
        }
        sp_t_resp_free(r);
        const char *headers[] = {cookie, browser ? html : NULL, NULL};
        static const char *const posts[] = {"/support/admin/kb/new", "/support/admin/login",
                                            "/support/admin/logout", "/support/admin/kb/preview"};
        for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
            r = sp_t_request("POST", posts[i], NULL, "application/json", "{}", headers);
            if (browser)
                assert_page(r, 415);
            else
                sp_t_assert_problem(r, 415, "unsupported_media_type");
            sp_t_resp_free(r);
        }
        PGconn *lock = sp_t_tx_hold(sp_t_fmt("SELECT 1 FROM support_knowledge_articles"
                                             " WHERE id = %s FOR UPDATE",
                                             article_column(edit, "id")));
        r = sp_t_request("POST", edit, NULL, FORM, form, headers);
        sp_t_tx_release(lock);
        if (browser) {
            assert_page(r, 503);
            ck_assert_msg(strstr(r->body, "the database did not answer in time"), "%s", r->body);
        } else {
            sp_t_assert_problem(r, 503, "dependency_unavailable");
        }
        ck_assert_str_eq(sp_t_header(r, "Retry-After"), "1");
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(article_column(edit, "title"), "Held");
}
END_TEST

/* Ends the session of a jar as its expiry would. */
static void
expire(const struct jar *j)
{
    sp_t_sql("UPDATE support_admin_sessions SET expires_at = now() - interval '1 second'"
             " WHERE token_hash = sha256(convert_to('%s', 'UTF8'))", j->session);
}

/* A browser without Sec-Fetch-Site (QA: Safari before 16.4) sent another
 * site's form as if it were ours. It still sends Origin with a POST (or
 * at least a Referer): another origin there, or Origin "null", is a form
 * from elsewhere, refused as a cross-site one is (the sign-in form; a
 * page's form answers the sign-in page or a bare 403, none of the
 * sender's text); this origin's is taken. */
START_TEST(a_form_from_another_origin_is_refused_without_sec_fetch_site)
{
    const char *base = getenv("SP_TEST_BASE_URL");
    struct jar j = {0};
    struct sp_t_resp *r = browse(&j, "GET", "/support/admin/login", NULL);
    const char *real = csrf_of(r);
    sp_t_resp_free(r);
    const char *elsewhere[] = {
        "Origin: http://evil.example", "Origin: null", sp_t_fmt("Origin: %s.evil.example", base),
        sp_t_fmt("Origin: https%s", strchr(base, ':')), "Referer: http://evil.example/form",
        sp_t_fmt("Referer: %s.evil.example/", base),
    };
    for (size_t i = 0; i < sizeof(elsewhere) / sizeof(elsewhere[0]); i++)
        assert_login_refused(post_login(real, real, elsewhere[i]), elsewhere[i]);
    assert_login_taken(post_login(real, real, sp_t_fmt("Origin: %s", base)), "own origin");
    assert_login_taken(post_login(real, real, sp_t_fmt("Referer: %s/support/admin/login", base)),
                       "own referer");

    const char *slug = sp_t_unique("origin");
    const char *cross[] = {"Origin: http://evil.example", NULL};
    r = sp_t_request("POST", "/support/admin/kb/new", NULL, FORM,
                     sp_t_fmt("slug=%s&title=Planted&content_markdown=planted", slug), cross);
    assert_redirect(r, "/support/admin/login");
    ck_assert_msg(strstr(r->body, "Planted") == NULL, "%s", r->body);
    sp_t_resp_free(r);
    struct jar k = {0};
    const char *csrf = login(&k);
    const char *edit = form_article(&k, csrf, "title=Stored&content_markdown=stored");
    const char *mine[] = {"Origin: http://evil.example",
                          sp_t_fmt("Cookie: support_admin_session=%s", k.session), NULL};
    r = sp_t_request("POST", edit, NULL, FORM, "csrf_token=x&version=1&title=Planted", mine);
    assert_page(r, 403);
    ck_assert_msg(strstr(r->body, "Planted") == NULL && strstr(r->body, "<textarea") == NULL,
                  "%s", r->body);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_knowledge_articles"
                              " WHERE slug = '%s' OR title = 'Planted'", slug), "0");
}
END_TEST

/* An article form sent after its session ended is not lost (QA: the
 * typed text was): the page shows it again, unsaved, 403, with a link
 * that signs in again in another tab and comes back to the form, and
 * nothing stored (no status, no actions, no CSRF token). Save then meets
 * the new session with the old token: the form again, now with a token,
 * and the next Save saves — still behind the version guard. The new
 * article's form the same. A browser saying another site's page sent
 * it gets the plain answers: no form of another site's making shown
 * here ready to save. */
START_TEST(a_form_sent_after_its_session_ended_keeps_what_was_typed)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *edit = form_article(&j, csrf, "title=Stored&content_markdown=stored");
    expire(&j);
    const char *typed_text = "My long answer\nwith two lines & <b>markup</b>";
    const char *form = sp_t_fmt("csrf_token=%s&version=1&title=Typed+title&slug=%s&tags=t"
                                "&content_markdown=%s", csrf, article_column(edit, "slug"),
                                sp_t_urlencode(typed_text));
    struct sp_t_resp *r = browse(&j, "POST", edit, form);
    assert_page(r, 403);
    ck_assert_str_eq(textarea_value(r), typed_text);
    ck_assert_str_eq(input_value(r, "title"), "Typed title");
    ck_assert_str_eq(input_value(r, "version"), "1");
    ck_assert_str_eq(csrf_of(r), "");
    ck_assert_msg(strstr(r->body, "Your session has ended") && !strstr(r->body, "/publish\"") &&
                      !strstr(r->body, "Stored") && !strstr(r->body, "stored"),
                  "%s", r->body);
    const char *signin = link_of(r, "signin-again");
    ck_assert_str_eq(signin, sp_t_fmt("/support/admin/login?next=%s", edit));
    sp_t_resp_free(r);
    ck_assert_str_eq(article_column(edit, "title"), "Stored");

    /* the other tab signs in and lands on the form */
    r = browse(&j, "GET", signin, NULL);
    assert_page(r, 200);
    ck_assert_str_eq(input_value(r, "next"), edit);
    const char *login_csrf = csrf_of(r);
    sp_t_resp_free(r);
    r = browse(&j, "POST", "/support/admin/login",
               sp_t_fmt("csrf_token=%s&next=%s&token=%s", login_csrf, sp_t_urlencode(edit),
                        sp_t_urlencode(sp_t_admin_token())));
    assert_redirect(r, edit);
    sp_t_resp_free(r);

    /* back in the first tab: Save, then Save again */
    r = browse(&j, "POST", edit, sp_t_fmt("csrf_token=&version=1&title=Typed+title"
                                          "&content_markdown=%s", sp_t_urlencode(typed_text)));
    assert_page(r, 403);
    ck_assert_str_eq(textarea_value(r), typed_text);
    /* the session lives: what happened is the form's token, not a session
     * that ended (QA) */
    ck_assert_msg(strstr(r->body, "press Save again") && !strstr(r->body, "signin-again") &&
                      strstr(r->body, "security token is missing or out of date"),
                  "%s", r->body);
    const char *fresh = csrf_of(r);
    ck_assert_uint_eq(strlen(fresh), 64);
    sp_t_resp_free(r);
    r = browse(&j, "POST", edit, sp_t_fmt("csrf_token=%s&version=1&title=Typed+title"
                                          "&content_markdown=%s", fresh,
                                          sp_t_urlencode(typed_text)));
    assert_redirect(r, done(edit, "saved"));
    sp_t_resp_free(r);
    ck_assert_str_eq(article_column(edit, "title"), "Typed title");
    ck_assert_str_eq(article_column(edit, "content_markdown"), typed_text);

    /* a new article's form: the checkbox kept, the link back to the form */
    expire(&j);
    const char *slug = sp_t_unique("unsaved");
    r = browse(&j, "POST", "/support/admin/kb/new",
               sp_t_fmt("csrf_token=%s&slug=%s&title=New+one&content_markdown=text"
                        "&is_published=1", fresh, slug));
    assert_page(r, 403);
    ck_assert_str_eq(input_value(r, "slug"), slug);
    ck_assert_msg(strstr(r->body, "value=\"1\" checked"), "%s", r->body);
    ck_assert_str_eq(link_of(r, "signin-again"), "/support/admin/login?next=/support/admin/kb/new");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_knowledge_articles"
                              " WHERE slug = '%s'", slug), "0");

    /* sent from another site's page: the sign-in page, or the plain 403 */
    const char *cross = "Sec-Fetch-Site: cross-site";
    const char *none[] = {cross, NULL};
    r = sp_t_request("POST", "/support/admin/kb/new", NULL, FORM,
                     sp_t_fmt("slug=%s&title=Planted&content_markdown=planted", slug), none);
    assert_redirect(r, "/support/admin/login");
    sp_t_resp_free(r);
    struct jar k = {0};
    login(&k);
    const char *mine[] = {cross, sp_t_fmt("Cookie: support_admin_session=%s", k.session), NULL};
    r = sp_t_request("POST", edit, NULL, FORM, "csrf_token=x&version=2&title=Planted", mine);
    assert_page(r, 403);
    ck_assert_msg(strstr(r->body, "Planted") == NULL && strstr(r->body, "<textarea") == NULL,
                  "%s", r->body);
    sp_t_resp_free(r);
}
END_TEST

/* The sign-in page for a page opened without a session comes back to it
 * (next); only a page of the knowledge base, written as a plain path, is
 * taken: everything that could lead a browser elsewhere is refused, both
 * in the sign-in form and in what it posts, and signing in then goes to
 * the list. */
START_TEST(sign_in_goes_back_to_next_only_within_the_knowledge_base)
{
    static const char *const from[][2] = {
        {"/support/admin/kb/7/edit", "/support/admin/login?next=/support/admin/kb/7/edit"},
        {"/support/admin/kb?q=a+b&status=draft",
         "/support/admin/login?next=/support/admin/kb%3Fq%3Da%2Bb%26status%3Ddraft"},
        {"/support/admin/kb", "/support/admin/login"},
    };
    struct jar j = {0};
    struct sp_t_resp *r;
    for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
        r = browse(&j, "GET", from[i][0], NULL);
        assert_redirect(r, from[i][1]);
        sp_t_resp_free(r);
    }
    static const char *const good[] = {"/support/admin/kb/new", "/support/admin/kb?q=a+b",
                                       "/support/admin/kb/12/edit", "/support/admin/kb"};
    static const char *const bad[] = {
        "//evil.example", "https://evil.example", "http:evil.example", "/\\evil.example",
        "\\\\evil.example", "%2F%2Fevil.example", "%252F%252Fevil.example",
        "/support/admin/kb//evil.example", "/support/admin/kb/../../../evil",
        "/support/admin/kb/%2e%2e/%2e%2e/x", "/support/admin/kb/%2F%2Fevil.example",
        "/support/admin/kb\\evil", "/support/admin/kb/%5Cevil", "/support/admin/kbx",
        "/support/admin/kb@evil.example", "/support/admin/kb/x\r\nSet-Cookie: a=1",
        "/support/admin/login", "javascript:alert(1)", "support/admin/kb", " /support/admin/kb",
        "/support/admin/kb?a=\"><script>", "/support/admin/kb?a=b\\c", "",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]) + sizeof(bad) / sizeof(bad[0]); i++) {
        bool ok = i < sizeof(good) / sizeof(good[0]);
        const char *next = ok ? good[i] : bad[i - sizeof(good) / sizeof(good[0])];
        struct jar k = {0};
        r = browse(&k, "GET", sp_t_fmt("/support/admin/login?next=%s", sp_t_urlencode(next)),
                   NULL);
        assert_page(r, 200);
        ck_assert_msg((strstr(r->body, "name=\"next\"") != NULL) == ok, "%s: %s", next, r->body);
        const char *csrf = csrf_of(r);
        sp_t_resp_free(r);
        r = browse(&k, "POST", "/support/admin/login",
                   sp_t_fmt("csrf_token=%s&next=%s&token=%s", csrf, sp_t_urlencode(next),
                            sp_t_urlencode(sp_t_admin_token())));
        ck_assert_msg(r->status == 303, "%s: %ld", next, r->status);
        ck_assert_msg(strcmp(sp_t_header(r, "Location"), ok ? next : "/support/admin/kb") == 0,
                      "%s: Location %s", next, sp_t_header(r, "Location"));
        sp_t_resp_free(r);
    }
    /* a refused token keeps next for the next try */
    r = browse(&j, "GET", "/support/admin/login?next=/support/admin/kb/new", NULL);
    const char *csrf = csrf_of(r);
    sp_t_resp_free(r);
    r = browse(&j, "POST", "/support/admin/login",
               sp_t_fmt("csrf_token=%s&next=/support/admin/kb/new&token=nope", csrf));
    assert_page(r, 200);
    ck_assert_str_eq(input_value(r, "next"), "/support/admin/kb/new");
    sp_t_resp_free(r);
}
END_TEST

/* A second sign-in (another tab) replaces the cookie; the forms the
 * first tab shows keep working while the session they were rendered for
 * lives (QA: their CSRF token was refused, and the typed text lost). The
 * token stays bound to a live session of the same user: another admin's
 * token, a made-up one and the first session's once it has ended are
 * refused. */
START_TEST(a_second_sign_in_keeps_the_first_tabs_forms_working)
{
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    struct jar j = {0};
    const char *first = login_as(&j, admin.token);
    const char *first_session = j.session;
    const char *edit = form_article(&j, first, "title=One&content_markdown=x");
    const char *second = login_as(&j, sp_t_token(SP_ROLE_ADMIN, admin.sub));
    ck_assert_str_ne(first, second);
    ck_assert_str_ne(first_session, j.session);

    struct sp_t_resp *r = browse(&j, "POST", edit,
                                 sp_t_fmt("csrf_token=%s&version=1&title=Two", first));
    assert_redirect(r, done(edit, "saved"));
    sp_t_resp_free(r);
    ck_assert_str_eq(article_column(edit, "title"), "Two");
    const char *publish = sp_t_fmt("%.*s/publish", (int)(strlen(edit) - 5), edit);
    r = browse(&j, "POST", publish, sp_t_fmt("csrf_token=%s", first));
    assert_redirect(r, done(edit, "published"));
    sp_t_resp_free(r);

    struct jar other = {0};
    const char *theirs = login(&other);
    const char *refused[] = {theirs, sp_t_repeat("a", 64), "", NULL};
    for (int i = 0; i < 4; i++) {
        if (i == 3) {
            struct jar gone = {.session = first_session};
            expire(&gone);
        }
        const char *token = i == 3 ? first : refused[i];
        r = browse(&j, "POST", sp_t_fmt("%.*s/unpublish", (int)(strlen(edit) - 5), edit),
                   sp_t_fmt("csrf_token=%s", token));
        assert_page(r, 403);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(article_column(edit, "is_published"), "t");
    r = browse(&j, "POST", edit, sp_t_fmt("csrf_token=%s&version=%s&title=Three", second,
                                          article_column(edit, "version")));
    assert_redirect(r, done(edit, "saved"));
    sp_t_resp_free(r);
}
END_TEST

/* Whether the list page for q shows the article of slug. */
static bool
listed(struct jar *j, const char *q, const char *slug)
{
    struct sp_t_resp *r = browse(j, "GET", sp_t_fmt("/support/admin/kb?q=%s",
                                                    sp_t_urlencode(q)), NULL);
    assert_page(r, 200);
    bool found = strstr(r->body, sp_t_fmt("/%s<", slug)) != NULL;
    sp_t_resp_free(r);
    return found;
}

/* The list's search finds an article by its slug, whole or its start,
 * and by the start of a word (QA: neither was found), each side served
 * by an index; a negated last word is not made a prefix ("-retur" does
 * not exclude "returning"). */
START_TEST(list_search_finds_slugs_and_word_prefixes)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *word = sp_t_unique_word(), *slug = sp_t_unique("refund-policy");
    struct sp_t_resp *r = browse(&j, "POST", "/support/admin/kb/new",
                                 sp_t_fmt("csrf_token=%s&slug=%s&title=Returning+%s"
                                          "&content_markdown=reimbursement", csrf, slug, word));
    sp_t_assert_status(r, 303);
    sp_t_resp_free(r);
    size_t half = strlen(word) / 2 + 1;
    const char *found[] = {
        slug, sp_t_fmt("%.*s", (int)strlen(slug) - 2, slug), sp_t_fmt("  %s ", slug),
        sp_t_fmt("%.*s", (int)half, word), word, sp_t_fmt("returning %.*s", (int)half, word),
        sp_t_fmt("%s reimburse", word), sp_t_fmt("%s -retur", word), NULL,
    };
    for (size_t i = 0; found[i] != NULL; i++)
        ck_assert_msg(listed(&j, found[i], slug), "q=%s does not find %s", found[i], slug);
    const char *missed[] = {
        sp_t_fmt("%sq", slug), sp_t_fmt("x%s", word), sp_t_fmt("%s -returning", word),
        sp_t_fmt("%.*s -returning", (int)half, word), sp_t_fmt("%.*s", (int)half, slug + 1), NULL,
    };
    for (size_t i = 0; missed[i] != NULL; i++)
        ck_assert_msg(!listed(&j, missed[i], slug), "q=%s finds %s", missed[i], slug);

    (void)sp_t_sql("SELECT set_config('enable_seqscan', 'off', false)");
    const char *plan = sp_t_sql(
        "EXPLAIN (FORMAT JSON) SELECT a.id FROM support_knowledge_articles a"
        " WHERE a.search @@ support_search_prefix_query('refu')"
        "  OR (a.slug COLLATE \"C\" >= 'refu' AND a.slug COLLATE \"C\" < 'refu' || '~')");
    (void)sp_t_sql("SELECT set_config('enable_seqscan', 'on', false)");
    ck_assert_msg(strstr(plan, "\"support_knowledge_articles_slug_prefix\"") != NULL &&
                      strstr(plan, "\"support_knowledge_articles_search\"") != NULL,
                  "plan: %s", plan);
}
END_TEST

/* A relative link or an anchor is shown as its text on the published
 * page; the edit page says so after the save, naming each (QA: they
 * vanished without a word). An article whose links are all kept gets no
 * such warning. */
START_TEST(the_edit_page_names_the_links_the_published_page_drops)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *text = "See [returns](/help/returns), [below](#fees) and "
                       "[the shop](https://shop.example/x).\n\n## Fees\n";
    const char *edit = form_article(&j, csrf, sp_t_fmt("title=Links&content_markdown=%s",
                                                      sp_t_urlencode(text)));
    struct sp_t_resp *r = browse(&j, "GET", edit, NULL);
    assert_page(r, 200);
    const char *box = strstr(r->body, "id=\"dropped-links\"");
    ck_assert_msg(box != NULL, "%s", r->body);
    box = sp_t_fmt("%.*s", (int)(strstr(box, "</div>") - box), box);
    ck_assert_msg(strstr(box, "<li><code>/help/returns</code></li>") &&
                      strstr(box, "<li><code>#fees</code></li>") && !strstr(box, "shop.example"),
                  "%s", box);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/admin/articles/%.*s", (int)strcspn(edit + 18, "/"),
                          edit + 18), sp_t_admin_token());
    sp_t_assert_json(r, 200);
    const char *html = sp_t_jstr(r->json, "html");
    ck_assert_msg(strstr(html, "returns") && !strstr(html, "/help/returns") &&
                      strstr(html, "href=\"https://shop.example/x\""),
                  "%s", html);
    sp_t_resp_free(r);
    edit = form_article(&j, csrf, "title=Fine&content_markdown=%5Bok%5D(https%3A%2F%2Fa.example)");
    r = browse(&j, "GET", edit, NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, "dropped-links") == NULL, "%s", r->body);
    sp_t_resp_free(r);
}
END_TEST

/* The preview is a fetch (admin.js): without a session it answered 303
 * to the sign-in page, which the fetch followed and put, a live form, in
 * the preview pane (QA). It is problem+json: 401 as the JSON API without
 * credentials, 403 for a token of no live session. */
START_TEST(the_preview_without_a_session_is_a_problem_not_the_sign_in_page)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *form = sp_t_fmt("csrf_token=%s&content_markdown=**x**", csrf);
    struct sp_t_resp *r = sp_t_request("POST", "/support/admin/kb/preview", NULL, FORM, form,
                                       NULL);
    sp_t_assert_problem(r, 401, "unauthorized");
    ck_assert_ptr_null(sp_t_header(r, "Location"));
    ck_assert_msg(strstr(r->body, "session has ended") != NULL, "%s", r->body);
    sp_t_resp_free(r);
    r = browse(&j, "POST", "/support/admin/kb/preview", "csrf_token=nope&content_markdown=x");
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    expire(&j);
    r = browse(&j, "POST", "/support/admin/kb/preview", form);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

/* Saving the edit form of an article someone else deleted answered a 404
 * page and the typed text was lost (QA). The page is the new-article
 * form with what was sent and a notice; its Save creates the article,
 * with the same slug when free. */
START_TEST(saving_an_article_deleted_meanwhile_keeps_the_text)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *edit = form_article(&j, csrf, "title=Doomed&content_markdown=old");
    const char *slug = article_column(edit, "slug");
    sp_t_sql("DELETE FROM support_knowledge_articles WHERE id = %s", article_column(edit, "id"));
    const char *typed_text = "My new text\nkept & <b>safe</b>";
    struct sp_t_resp *r = browse(&j, "POST", edit,
                                 sp_t_fmt("csrf_token=%s&version=1&title=Typed&slug=%s&tags=a,+B"
                                          "&content_markdown=%s",
                                          csrf, slug, sp_t_urlencode(typed_text)));
    assert_page(r, 404);
    ck_assert_msg(strstr(r->body, "This article was deleted while you were editing it") &&
                      strstr(r->body, "action=\"/support/admin/kb/new\"") &&
                      !strstr(r->body, "/publish\""),
                  "%s", r->body);
    ck_assert_str_eq(textarea_value(r), typed_text);
    ck_assert_str_eq(input_value(r, "title"), "Typed");
    ck_assert_str_eq(input_value(r, "slug"), slug);
    ck_assert_str_eq(input_value(r, "tags"), "a, B");
    const char *key = input_value(r, "form_key");
    ck_assert_uint_eq(strlen(key), 32);
    const char *again = sp_t_fmt("csrf_token=%s&form_key=%s&title=Typed&slug=%s&tags=a,+B"
                                 "&content_markdown=%s",
                                 csrf_of(r), key, slug, sp_t_urlencode(typed_text));
    sp_t_resp_free(r);
    r = browse(&j, "POST", "/support/admin/kb/new", again);
    const char *created = created_edit(r);
    sp_t_resp_free(r);
    ck_assert_str_ne(created, edit);
    ck_assert_str_eq(article_column(created, "slug"), slug);
    ck_assert_str_eq(article_column(created, "content_markdown"), typed_text);
}
END_TEST

/* Each action said nothing (QA): its redirect names what it did
 * (?done=, one of five words) and the page says it; any other value
 * shows nothing and is never shown back. */
START_TEST(actions_are_confirmed_on_the_page_they_lead_to)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *edit = form_article(&j, csrf, "title=Noted&content_markdown=x");
    static const char *const said[][2] = {{"created", "Article created."},
                                          {"saved", "Saved."},
                                          {"published", "Published."},
                                          {"unpublished", "Unpublished."}};
    for (size_t i = 0; i < 4; i++) {
        struct sp_t_resp *r = browse(&j, "GET", done(edit, said[i][0]), NULL);
        assert_page(r, 200);
        ck_assert_msg(strstr(r->body, sp_t_fmt("id=\"notice\">%s</p>", said[i][1])) != NULL,
                      "%s: %s", said[i][0], r->body);
        sp_t_resp_free(r);
    }
    static const char *const other[] = {"", "Saved", "saved.", "%3Cscript%3Ex", "savedx"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        struct sp_t_resp *r = browse(&j, "GET", done(edit, other[i]), NULL);
        assert_page(r, 200);
        ck_assert_msg(strstr(r->body, "id=\"notice\"") == NULL && !strstr(r->body, "<script>x"),
                      "%s: %s", other[i], r->body);
        sp_t_resp_free(r);
    }
    const char *id = article_column(edit, "id");
    struct sp_t_resp *r = browse(&j, "POST", sp_t_fmt("/support/admin/kb/%s/delete", id),
                                 sp_t_fmt("csrf_token=%s", csrf));
    assert_redirect(r, "/support/admin/kb?done=deleted");
    sp_t_resp_free(r);
    r = browse(&j, "GET", "/support/admin/kb?done=deleted", NULL);
    assert_page(r, 200);
    ck_assert_msg(strstr(r->body, "id=\"notice\">Article deleted.</p>") != NULL, "%s", r->body);
    sp_t_resp_free(r);
}
END_TEST

static const char *
new_form(const char *csrf, const char *key, const char *slug, const char *title)
{
    return sp_t_fmt("csrf_token=%s&form_key=%s&slug=%s&title=%s&content_markdown=x&tags=a", csrf,
                    key, slug, title);
}

/* An edit form of version 1 (its text with a browser's CR LF). */
static const char *
edit_form(const char *csrf, const char *slug, const char *title, const char *tags)
{
    return sp_t_fmt("csrf_token=%s&version=1&slug=%s&title=%s&content_markdown=y%%0D%%0Az"
                    "&tags=%s", csrf, slug, title, tags);
}

/* Save pressed twice on "New article" gave 303 then 422 "another article
 * has this slug" (QA). The form carries a one-time key: the same form
 * again answers the first create's redirect, and creates nothing; the
 * form changed after its first Save is refused with a new key. On the
 * edit form, a second identical Save met its own first save's version
 * and was told someone else saved: it is saved. */
START_TEST(a_form_saved_twice_saves_once)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    struct sp_t_resp *r = browse(&j, "GET", "/support/admin/kb/new", NULL);
    assert_page(r, 200);
    const char *key = input_value(r, "form_key");
    ck_assert_uint_eq(strlen(key), 32);
    sp_t_resp_free(r);
    r = browse(&j, "GET", "/support/admin/kb/new", NULL);
    ck_assert_str_ne(input_value(r, "form_key"), key);
    sp_t_resp_free(r);
    const char *slug = sp_t_unique("twice");
    const char *form = new_form(csrf, key, slug, "Twice");
    r = browse(&j, "POST", "/support/admin/kb/new", form);
    const char *edit = created_edit(r);
    sp_t_resp_free(r);
    r = browse(&j, "POST", "/support/admin/kb/new", form);
    assert_redirect(r, done(edit, "created"));
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_knowledge_articles"
                              " WHERE slug = '%s'", slug), "1");
    r = browse(&j, "POST", "/support/admin/kb/new", new_form(csrf, key, slug, "Changed"));
    assert_page(r, 422);
    ck_assert_msg(strstr(r->body, "This form was saved already") != NULL, "%s", r->body);
    ck_assert_str_eq(input_value(r, "slug"), slug);
    const char *fresh = input_value(r, "form_key");
    ck_assert_str_ne(fresh, key);
    ck_assert_uint_eq(strlen(fresh), 32);
    sp_t_resp_free(r);

    /* the edit form: the same Save twice, then a stale one that differs */
    const char *save = edit_form(csrf, slug, "Once+more", "B,+a");
    for (int i = 0; i < 2; i++) {
        r = browse(&j, "POST", edit, save);
        assert_redirect(r, done(edit, "saved"));
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(article_column(edit, "version"), "2");
    r = browse(&j, "POST", edit, edit_form(csrf, slug, "Other", "B,+a"));
    assert_page(r, 422);
    ck_assert_msg(strstr(r->body, "Someone else saved this article") != NULL, "%s", r->body);
    sp_t_resp_free(r);
    r = browse(&j, "POST", edit, edit_form(csrf, slug, "Once+more", "b"));
    assert_page(r, 422);
    sp_t_resp_free(r);
}
END_TEST

/* Polish (QA): the area's root leads to the list; the sign-in page sends
 * a signed-in admin on (to a safe next); an error page offers a
 * signed-in admin no "Sign in"; a published article's edit page shows
 * its public address and since when it is published. */
START_TEST(signed_in_pages_lead_on_and_show_what_is_published)
{
    const char *html = "Accept: text/html";
    const char *accept[] = {html, NULL};
    static const char *const roots[] = {"/support/admin", "/support/admin/"};
    for (size_t i = 0; i < 2; i++) {
        struct sp_t_resp *r = sp_t_request("GET", roots[i], NULL, NULL, NULL, accept);
        assert_redirect(r, "/support/admin/kb");
        sp_t_resp_free(r);
    }
    struct sp_t_resp *r = sp_t_request("GET", "/support/admin/kb/", NULL, NULL, NULL, accept);
    assert_page(r, 404);
    ck_assert_msg(strstr(r->body, ">Sign in</a>") != NULL, "%s", r->body);
    sp_t_resp_free(r);

    struct jar j = {0};
    const char *csrf = login(&j);
    static const char *const nexts[][2] = {
        {"", "/support/admin/kb"},
        {"?next=/support/admin/kb/new", "/support/admin/kb/new"},
        {"?next=//evil.example", "/support/admin/kb"},
    };
    for (size_t i = 0; i < 3; i++) {
        r = browse(&j, "GET", sp_t_fmt("/support/admin/login%s", nexts[i][0]), NULL);
        assert_redirect(r, nexts[i][1]);
        sp_t_resp_free(r);
    }
    const char *cookie = sp_t_fmt("Cookie: support_admin_session=%s", j.session);
    const char *signed_in[] = {html, cookie, NULL};
    static const char *const missing[] = {"/support/admin/kb/", "/support/admin/kb/999999999/edit"};
    for (size_t i = 0; i < 2; i++) {
        r = sp_t_request("GET", missing[i], NULL, NULL, NULL, signed_in);
        assert_page(r, 404);
        ck_assert_msg(strstr(r->body, ">Sign in</a>") == NULL &&
                          strstr(r->body, "Sign out") != NULL,
                      "%s: %s", missing[i], r->body);
        sp_t_resp_free(r);
    }

    const char *edit = form_article(&j, csrf, "title=Public&content_markdown=x&is_published=1");
    r = browse(&j, "GET", edit, NULL);
    assert_page(r, 200);
    ck_assert_str_eq(link_of(r, "public-link"),
                     sp_t_fmt("/support/articles/%s", article_column(edit, "slug")));
    const char *at = sp_t_sql("SELECT to_char(published_at AT TIME ZONE 'UTC',"
                              " 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM support_knowledge_articles"
                              " WHERE id = %s", article_column(edit, "id"));
    ck_assert_msg(strstr(r->body, sp_t_fmt("<time datetime=\"%s", at)) != NULL, "%s: %s", at,
                  r->body);
    sp_t_resp_free(r);
    r = browse(&j, "POST", sp_t_fmt("%.*s/unpublish", (int)(strlen(edit) - 5), edit),
               sp_t_fmt("csrf_token=%s", csrf));
    assert_redirect(r, done(edit, "unpublished"));
    sp_t_resp_free(r);
    r = browse(&j, "GET", edit, NULL);
    ck_assert_msg(strstr(r->body, "id=\"public-link\"") == NULL, "%s", r->body);
    sp_t_resp_free(r);
}
END_TEST

/* Publish, unpublish and delete carry the version their page showed: an
 * article another admin changed after the page was opened is not acted
 * on unseen (QA) — the edit page shows it as it is now, 409, saying so;
 * with the version the page shows then, the action goes through. */
START_TEST(an_action_on_an_article_changed_since_is_refused)
{
    struct jar j = {0};
    const char *csrf, *base;
    const char *edit = signed_in_draft(&j, &csrf, "title=Seen&content_markdown=as+seen", &base);
    struct sp_t_resp *r = browse(&j, "GET", edit, NULL);
    assert_page(r, 200);
    const char *seen = input_value(r, "version");
    ck_assert_ptr_nonnull(strstr(r->body, sp_t_fmt("action=\"%s/publish\"", base)));
    sp_t_resp_free(r);
    /* another admin's change meanwhile */
    sp_t_sql("UPDATE support_knowledge_articles SET content_markdown = 'changed',"
             " version = version + 1 WHERE id = %.*s", (int)strcspn(edit + 18, "/"), edit + 18);
    const char *actions[] = {"publish", "delete"};
    for (int i = 0; i < 2; i++) {
        r = browse(&j, "POST", sp_t_fmt("%s/%s", base, actions[i]),
                   sp_t_fmt("csrf_token=%s&version=%s", csrf, seen));
        assert_page(r, 409);
        ck_assert_msg(strstr(r->body, "changed after you opened it") != NULL, "%s", r->body);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(article_column(edit, "is_published"), "f");
    r = browse(&j, "POST", sp_t_fmt("%s/publish", base),
               sp_t_fmt("csrf_token=%s&version=%s", csrf, article_column(edit, "version")));
    assert_redirect(r, done(edit, "published"));
    sp_t_resp_free(r);
    ck_assert_str_eq(article_column(edit, "is_published"), "t");
}
END_TEST

/* Publish (or Unpublish) clicked twice sent the same version twice, and
 * the second was a 409 "changed after you opened it" though the article
 * was what was asked (QA): an article already in the state asked for is
 * the same 303 to the done page, acted on once. Changed since and in the
 * other state, it is still refused. */
START_TEST(publish_or_unpublish_clicked_twice_lands_on_the_done_page)
{
    struct jar j = {0};
    const char *csrf, *base;
    const char *edit = signed_in_draft(&j, &csrf, "title=Twice&content_markdown=twice", &base);
    static const char *const actions[] = {"publish", "unpublish"};
    static const char *const said[] = {"published", "unpublished"};
    for (int i = 0; i < 2; i++) {
        const char *seen = article_column(edit, "version");
        for (int click = 0; click < 2; click++) {
            struct sp_t_resp *r = browse(&j, "POST", sp_t_fmt("%s/%s", base, actions[i]),
                                         sp_t_fmt("csrf_token=%s&version=%s", csrf, seen));
            assert_redirect(r, done(edit, said[i]));
            sp_t_resp_free(r);
        }
        ck_assert_str_eq(article_column(edit, "is_published"), i == 0 ? "t" : "f");
        ck_assert_int_eq(atoll(article_column(edit, "version")), atoll(seen) + 1);
    }
    const char *seen = article_column(edit, "version");
    sp_t_sql("UPDATE support_knowledge_articles SET content_markdown = 'changed',"
             " version = version + 1 WHERE id = %.*s", (int)strcspn(edit + 18, "/"), edit + 18);
    struct sp_t_resp *r = browse(&j, "POST", sp_t_fmt("%s/publish", base),
                                 sp_t_fmt("csrf_token=%s&version=%s", csrf, seen));
    assert_page(r, 409);
    sp_t_resp_free(r);
    ck_assert_str_eq(article_column(edit, "is_published"), "f");
}
END_TEST

/* POST form as a browser sends it (Accept: text/html) with j's cookies. */
static struct sp_t_resp *
browser_post(const struct jar *j, const char *path, const char *form)
{
    const char *headers[] = {"Accept: text/html,application/xhtml+xml,*/*;q=0.8",
                             jar_cookies(j), NULL};
    return sp_t_request("POST", path, NULL, FORM, form, headers);
}

/* Each form of a page names each field once (name="…"): what a browser
 * sends of it is never refused as a field given twice. */
static void
assert_fields_once(const struct sp_t_resp *r)
{
    for (const char *f = strstr(r->body, "<form"); f != NULL; f = strstr(f + 5, "<form")) {
        const char *end = strstr(f, "</form>");
        ck_assert_ptr_nonnull(end);
        const char *names[32];
        size_t n = 0;
        for (const char *at = strstr(f, " name=\""); at != NULL && at < end;
             at = strstr(at + 7, " name=\"")) {
            const char *name = sp_t_fmt("%.*s", (int)strcspn(at + 7, "\""), at + 7);
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(strcmp(names[i], name) != 0, "%s twice in %.*s", name,
                              (int)(end - f), f);
            ck_assert_uint_lt(n, 32);
            names[n++] = name;
        }
    }
}

/* A field given twice (slug=a&slug=b, version=1&version=99) was read for
 * its first value, silently, where a JSON body's repeated member is a 400
 * (QA). Every page form refuses it, a 400 page naming the field, and
 * nothing is done: the article form, the actions, sign-in and sign-out;
 * the preview (a fetch) answers problem+json. */
START_TEST(a_form_naming_a_field_twice_is_refused)
{
    struct jar j = {0};
    const char *csrf, *base;
    const char *edit = signed_in_draft(&j, &csrf, "title=Once&content_markdown=once", &base);
    const char *slug = sp_t_unique("twice");
    const struct { const char *path, *form, *field; } cases[] = {
        {edit, sp_t_fmt("csrf_token=%s&version=1&version=99&title=Changed", csrf), "version"},
        {edit, sp_t_fmt("csrf_token=%s&version=1&slug=a&slug=b", csrf), "slug"},
        {edit, sp_t_fmt("csrf_token=%s&version=1&title=A&%%74itle=B", csrf), "title"},
        {"/support/admin/kb/new",
         sp_t_fmt("csrf_token=%s&slug=%s&Slug=%s-2&title=T&content_markdown=x", csrf, slug, slug),
         "slug"},
        {sp_t_fmt("%s/publish", base), sp_t_fmt("csrf_token=%s&version=1&version=1", csrf),
         "version"},
        {sp_t_fmt("%s/delete", base), sp_t_fmt("csrf_token=%s&csrf_token=%s&version=1", csrf,
                                               csrf), "csrf_token"},
        {"/support/admin/logout", sp_t_fmt("csrf_token=%s&csrf_token=x", csrf), "csrf_token"},
        /* a name no form of ours has is not repeated back */
        {edit, sp_t_fmt("csrf_token=%s&version=1&x%%FF%%3C=1&X%%ff%%3c=2", csrf), NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_t_resp *r = browser_post(&j, cases[i].path, cases[i].form);
        assert_page(r, 400);
        const char *said = cases[i].field != NULL
                               ? sp_t_fmt("the field &quot;%s&quot; more than once",
                                          cases[i].field)
                               : "sends a field more than once";
        ck_assert_msg(strstr(r->body, said), "%s: %s", cases[i].form, r->body);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(article_column(edit, "title"), "Once");
    ck_assert_str_eq(article_column(edit, "is_published"), "f");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_knowledge_articles"
                              " WHERE slug LIKE '%s%%'", slug), "0");
    const char *cookie[] = {sp_t_fmt("Cookie: support_admin_session=%s", j.session), NULL};
    struct sp_t_resp *r = sp_t_request("POST", "/support/admin/kb/preview", NULL, FORM,
                                       sp_t_fmt("csrf_token=%s&content_markdown=a"
                                                "&content_markdown=b", csrf), cookie);
    sp_t_assert_problem(r, 400, "bad_request");
    sp_t_resp_free(r);
    r = browse(&j, "GET", "/support/admin/kb", NULL);
    assert_page(r, 200);   /* the refused sign-out ended nothing */
    sp_t_resp_free(r);
    /* the sign-in form */
    struct jar k = {0};
    r = browse(&k, "GET", "/support/admin/login", NULL);
    const char *login_csrf = csrf_of(r);
    sp_t_resp_free(r);
    r = browser_post(&k, "/support/admin/login",
                     sp_t_fmt("csrf_token=%s&token=%s&token=x", login_csrf,
                              sp_t_urlencode(sp_t_admin_token())));
    assert_page(r, 400);
    ck_assert_msg(strstr(r->body, "the field &quot;token&quot; more than once"), "%s", r->body);
    ck_assert_ptr_null(set_cookie_line(r, "support_admin_session"));
    sp_t_resp_free(r);
    /* what every page's forms send names each field once */
    const char *pages[] = {"/support/admin/login", "/support/admin/kb", "/support/admin/kb/new",
                           edit, sp_t_fmt("%s/delete", base)};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        r = browse(i == 0 ? &k : &j, "GET", pages[i], NULL);
        assert_page(r, 200);
        ck_assert_ptr_nonnull(strstr(r->body, "<form"));
        assert_fields_once(r);
        sp_t_resp_free(r);
    }
}
END_TEST

/* A live session's form with a missing or wrong CSRF token was told "a
 * session that has ended" (QA): it says what happened, the token. */
START_TEST(a_bad_token_of_a_live_session_says_so)
{
    static const char *const tokens[] = {"", "csrf_token=nope&"};   /* none, wrong */
    struct jar j = {0};
    const char *csrf, *base;
    const char *edit = signed_in_draft(&j, &csrf, "title=Token&content_markdown=x", &base);
    const char *paths[] = {edit, sp_t_fmt("%s/publish", base)};
    for (int i = 0; i < 4; i++) {
        struct sp_t_resp *r = browse(&j, "POST", paths[i % 2],
                                     sp_t_fmt("%sversion=1&title=T", tokens[i / 2]));
        assert_page(r, 403);
        ck_assert_msg(strstr(r->body, "security token is missing or out of date") &&
                          !strstr(r->body, "session that has ended"),
                      "%s: %s", paths[i % 2], r->body);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(article_column(edit, "title"), "Token");
    ck_assert_str_eq(article_column(edit, "is_published"), "f");
}
END_TEST

/* The edit page showed published_at as raw ISO text, the list updated_at
 * (QA): they read "6 Dec 2026, 14:05 UTC", the ISO kept in <time
 * datetime>. The title field had maxlength=200, which a browser counts
 * in UTF-16 units: 120 emoji, a valid title (the server counts code
 * points), could not be typed. The server is the judge. */
START_TEST(times_read_as_words_and_the_title_field_takes_120_emoji)
{
    struct jar j = {0};
    const char *csrf = login(&j);
    const char *edit = form_article(&j, csrf, sp_t_fmt("title=%s&content_markdown=x"
                                                       "&is_published=1",
                                                       sp_t_repeat("%F0%9F%98%80", 120)));
    ck_assert_str_eq(article_column(edit, "char_length(title)"), "120");
    const char *words = "'FMDD Mon YYYY, HH24:MI \"UTC\"'";
    const char *published = article_column(
        edit, sp_t_fmt("to_char(published_at AT TIME ZONE 'UTC', %s)", words));
    struct sp_t_resp *r = browse(&j, "GET", edit, NULL);
    assert_page(r, 200);
    ck_assert_msg(sp_t_matches(sp_t_fmt("<time datetime=\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\">"
                                        "%s</time>", published), r->body),
                  "published %s in %s", published, r->body);
    const char *title = strstr(r->body, "<input id=\"title\"");
    ck_assert_ptr_nonnull(title);
    title = sp_t_fmt("%.*s", (int)strcspn(title, ">"), title);
    ck_assert_msg(strstr(title, "maxlength") == NULL, "%s", title);
    sp_t_resp_free(r);
    const char *updated = article_column(
        edit, sp_t_fmt("to_char(updated_at AT TIME ZONE 'UTC', %s)", words));
    r = browse(&j, "GET", "/support/admin/kb", NULL);
    assert_page(r, 200);
    ck_assert_msg(sp_t_matches(sp_t_fmt("<time datetime=\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\">"
                                        "%s</time>", updated), r->body),
                  "updated %s in %s", updated, r->body);
    sp_t_resp_free(r);
}
END_TEST

/* admin.js and admin.css were served max-age=3600 at fixed addresses: a
 * browser kept an old script an hour after an upgrade (QA). They are
 * revalidated at each use (no-cache), a 304 while unchanged. */
START_TEST(admin_files_are_revalidated_at_each_use)
{
    static const char *const files[] = {"admin.js", "admin.css"};
    for (size_t i = 0; i < 2; i++) {
        const char *path = sp_t_fmt("/support/admin/static/%s", files[i]);
        struct sp_t_resp *r = sp_t_get(path, NULL);
        sp_t_assert_status(r, 200);
        ck_assert_str_eq(sp_t_header(r, "Cache-Control"), "no-cache");
        const char *etag = sp_t_header(r, "ETag");
        ck_assert_ptr_nonnull(etag);
        const char *again[] = {sp_t_fmt("If-None-Match: %s", etag), NULL};
        sp_t_resp_free(r);
        r = sp_t_request("GET", path, NULL, NULL, NULL, again);
        sp_t_assert_status(r, 304);
        sp_t_resp_free(r);
    }
}
END_TEST

static Suite *
kb_pages_suite(void)
{
    Suite *s = suite_create("kb_pages");
    TCase *tc = sp_t_tcase(s, "pages");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, login_refuses_bad_csrf_bad_tokens_and_non_admins);
    tcase_add_test(tc, a_deactivated_admins_page_sessions_end_and_it_cannot_sign_in);
    tcase_add_test(tc, login_form_in_another_charset_is_415);
    tcase_add_test(tc, a_session_or_login_cookie_sent_twice_is_not_taken);
    tcase_add_test(tc, logout_with_a_tossed_session_cookie_ends_the_users_session);
    tcase_add_test(tc, login_csrf_needs_a_token_of_ours);
    tcase_add_test(tc, login_csrf_token_is_signed_expires_and_comes_from_this_origin);
    tcase_add_test(tc, a_form_from_another_origin_is_refused_without_sec_fetch_site);
    tcase_add_test(tc, only_the_checkboxs_value_publishes);
    tcase_add_test(tc, create_preview_publish_edit_unpublish_delete_logout);
    tcase_add_test(tc, the_form_refuses_blank_titles_and_names_each_bad_tag);
    tcase_add_test(tc, list_searches_and_filters_and_escapes_titles);
    tcase_add_test(tc, next_page_keeps_the_search_and_the_filter);
    tcase_add_test(tc, a_refused_edit_keeps_the_version_it_edited);
    tcase_add_test(tc, an_unreadable_field_is_refused_beside_it);
    tcase_add_test(tc, an_edit_keeps_the_fields_it_leaves_out);
    tcase_add_test(tc, saving_an_unchanged_article_changes_nothing);
    tcase_add_test(tc, login_takes_a_pasted_token_with_blanks_and_bearer);
    tcase_add_test(tc, page_errors_are_html_pages_for_a_browser);
    tcase_add_test(tc, every_page_error_is_an_html_page_for_a_browser);
    tcase_add_test(tc, a_form_sent_after_its_session_ended_keeps_what_was_typed);
    tcase_add_test(tc, sign_in_goes_back_to_next_only_within_the_knowledge_base);
    tcase_add_test(tc, a_second_sign_in_keeps_the_first_tabs_forms_working);
    tcase_add_test(tc, list_search_finds_slugs_and_word_prefixes);
    tcase_add_test(tc, the_edit_page_names_the_links_the_published_page_drops);
    tcase_add_test(tc, the_preview_without_a_session_is_a_problem_not_the_sign_in_page);
    tcase_add_test(tc, saving_an_article_deleted_meanwhile_keeps_the_text);
    tcase_add_test(tc, actions_are_confirmed_on_the_page_they_lead_to);
    tcase_add_test(tc, a_form_saved_twice_saves_once);
    tcase_add_test(tc, signed_in_pages_lead_on_and_show_what_is_published);
    tcase_add_test(tc, an_action_on_an_article_changed_since_is_refused);
    tcase_add_test(tc, publish_or_unpublish_clicked_twice_lands_on_the_done_page);
    tcase_add_test(tc, a_form_naming_a_field_twice_is_refused);
    tcase_add_test(tc, a_bad_token_of_a_live_session_says_so);
    tcase_add_test(tc, times_read_as_words_and_the_title_field_takes_120_emoji);
    tcase_add_test(tc, admin_files_are_revalidated_at_each_use);
    tc = sp_t_tcase(s, "reload");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, templates_reload_on_sighup_and_a_broken_one_is_refused);
    tcase_add_test(tc, login_cookie_is_host_prefixed_over_https_and_outlives_a_restart);
    tcase_add_test(tc, login_key_without_pii_keys_is_random_and_outlives_a_reload);
    return s;
}

int
main(void)
{
    return sp_t_run(kb_pages_suite());
}
