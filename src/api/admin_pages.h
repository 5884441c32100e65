/*
 * admin_pages (api): what every server-rendered admin page shares (API.md
 * §8 "Admin page mechanics"): the layout and its one-shot notices,
 * redirects, the session cookie and its sign-in and sign-out, the CSRF
 * checks of a page's POST, and the HTML error page. The pages themselves
 * (the knowledge base's: api/kb_pages.c) build on these.
 * Holds no SQL; never includes db/.
 */
#ifndef SP_API_ADMIN_PAGES_H
#define SP_API_ADMIN_PAGES_H

#include <json-c/json.h>
#include <stdbool.h>

#include "domain/admin_sessions.h"
#include "http/http.h"

/* The knowledge base's pages: the admin area's home, and the only place
 * a sign-in may send the browser back to. */
#define SP_PAGE_KB_PATH "/support/admin/kb"

/* Renders page inside the layout with ctx (consumed; the notice of a
 * ?done= set in it) and answers status, no-store. */
enum sp_rc sp_page_render(struct sp_req *r, int status, const char *page,
                          struct json_object *ctx);
/* 303 to location, no-store. */
enum sp_rc sp_page_redirect(struct sp_req *r, const char *location);
/* A page's template data: its title and, with a session, the user and
 * the CSRF token its forms carry. */
struct json_object *sp_page_ctx(const char *title, const struct sp_admin_session *s);
/* The HTML error page with status. */
enum sp_rc sp_page_error(struct sp_req *r, int status, const char *title, const char *message,
                         const struct sp_admin_session *s);
/* A cookie of the request by name, or NULL (absent or given twice). */
const char *sp_page_cookie(struct sp_req *r, const char *name);
/* The request's session cookie's value, or NULL. */
const char *sp_page_session_cookie(struct sp_req *r);
/* The sign-in page's address that comes back to next afterwards. */
const char *sp_page_login_url(struct sp_req *r, const char *next);
/* The caller's live session; false when there is none (then a 303 to the
 * sign-in page is sent) or the lookup failed (p set). */
bool sp_page_session(struct sp_req *r, struct sp_admin_session *s, struct sp_problem *p);
/* Whether the POST's body is a browser's form (else p is a 415), each
 * field named once (else p is a 400 naming the field). */
bool sp_page_form_posted(struct sp_req *r, struct sp_problem *p);
/* The 403 page of a form whose CSRF token is refused. */
void sp_page_csrf_refused(struct sp_req *r, const struct sp_admin_session *s);
/* Whether the form's csrf_token is one of the user's live sessions',
 * into *ok; false when the lookup failed (p set). */
bool sp_page_csrf_of_user(struct sp_req *r, const struct sp_admin_session *s, bool *ok,
                          struct sp_problem *p);
/* A POST of a page with a session: the session, and its CSRF token
 * checked (403 page otherwise). false: answered or p set. */
bool sp_page_session_post(struct sp_req *r, struct sp_admin_session *s, struct sp_problem *p);
/* Whether the browser says the request came from another origin's page
 * (Sec-Fetch-Site; without it, Origin, else Referer). */
bool sp_page_from_elsewhere(struct sp_req *r);

#endif
