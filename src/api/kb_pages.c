/*
 * kb_pages (api): the server-rendered admin pages of the knowledge base
 * (API.md §8 "Admin page mechanics"): the article list with search and a
 * status filter, new/edit forms with a live preview, publish, unpublish,
 * delete with a confirmation page. The session, sign-in, CSRF checks and
 * the layout they share are api/admin_pages.c's.
 *
 * An article form refused for its session or its token, or saved after
 * its article was deleted, is shown again as sent (kept_form); the
 * new-article form is created once per form_key (create_once), an edit
 * sent twice is saved once (already_saved); each action's redirect names
 * what it did for the page to confirm (?done=, admin_pages' notices), and
 * publishing what is published already is done (action_stale); the
 * preview, a fetch, answers problem+json (preview_session); the edit page
 * names the links the published page drops (dropped_links).
 * Holds no SQL; never includes db/.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin_pages.h"
#include "api/app.h"
#include "api/articles.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/markdown.h"
#include "core/rfc3339.h"
#include "core/uri.h"
#include "core/utf8.h"
#include "domain/admin_sessions.h"
#include "domain/articles.h"
#include "domain/idempotency.h"

#define KB_PATH SP_PAGE_KB_PATH

/* The edit form of article id, saying done (one of notices). */
static const char *
edit_done(struct sp_req *r, long long id, const char *done)
{
    return sp_arena_sprintf(r->arena, KB_PATH "/%lld/edit?done=%s", id, done);
}

/* After a save or an action: back to the article's edit form, which
 * confirms it (done: one of notices). */
static enum sp_rc
redirect_to_edit(struct sp_req *r, long long id, const char *done)
{
    return sp_page_redirect(r, edit_done(r, id, done));
}

/* --- the article list ---------------------------------------------------------- */

/* Each time of an article's data (published_at, updated_at) beside it as
 * people read it (KEY_text: "6 Dec 2026, 14:05 UTC"): the pages showed
 * the raw ISO text (QA). The ISO stays in <time datetime>. */
static void
times_text(struct json_object *o)
{
    static const char *const keys[] = {"published_at", "updated_at"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct json_object *v;
        char text[SP_RFC3339_TEXT_LEN], key[32];
        if (!json_object_object_get_ex(o, keys[i], &v) || !json_object_is_type(v, json_type_string)
            || !sp_rfc3339_text(json_object_get_string(v), text))
            continue;
        snprintf(key, sizeof(key), "%s_text", keys[i]);
        json_object_object_add(o, key, json_object_new_string(text));
    }
}

/* The admin JSON of an article as template data. */
static struct json_object *
article_data(struct sp_req *r, const struct sp_article *a)
{
    struct sp_buf b;
    struct sp_jw w;
    sp_buf_init(&b, r->arena, 1024);
    sp_jw_init(&w, &b);
    sp_api_article_admin_json(&w, a);
    struct json_object *o = json_tokener_parse(b.data);
    struct json_object *tags = NULL;
    json_object_object_get_ex(o, "tags", &tags);
    struct sp_buf t;
    sp_buf_init(&t, r->arena, 64);
    for (size_t i = 0; tags != NULL && i < json_object_array_length(tags); i++)
        sp_buf_printf(&t, "%s%s", i ? ", " : "",
                      json_object_get_string(json_object_array_get_idx(tags, i)));
    json_object_object_add(o, "tags_text", json_object_new_string(t.data));
    times_text(o);
    return o;
}

static const char *const list_statuses[] = {"published", "draft", "all"};

/* The scope a page's cursor is sealed with: the search and the status it
 * pages through (as the JSON lists' sp_query_scope), so a cursor of one
 * search continues no other (it is ignored: the first page). */
static const char *
list_scope(struct sp_req *r, const struct sp_article_filter *f)
{
    const char *q = f->q != NULL ? f->q : "";
    return sp_arena_sprintf(r->arena, "%s?q=%zu:%s?status=%s", sp_req_scope(r), strlen(q), q,
                            list_statuses[f->status]);
}

/* The page's filters into *f (and ctx, for the form); whether it reads
 * past the first page (a cursor of this search and status). */
static bool
list_filter(struct sp_req *r, struct sp_article_filter *f, struct json_object *ctx)
{
    const char *q = sp_req_query(r, "q"), *status = sp_req_query(r, "status");
    const char *cursor = sp_req_query(r, "cursor");
    *f = (struct sp_article_filter){.status = SP_ARTICLES_ALL, .limit = 50};
    if (q != NULL && *q != '\0' && strlen(q) <= 4 * SP_ARTICLE_QUERY_MAX) {
        f->q = q;
        json_object_object_add(ctx, "q", json_object_new_string(q));
    }
    for (int i = 0; status != NULL && i < 3; i++)
        if (strcmp(status, list_statuses[i]) == 0)
            f->status = (enum sp_article_status)i;
    json_object_object_add(ctx, sp_arena_sprintf(r->arena, "status_%s", list_statuses[f->status]),
                           json_object_new_boolean(1));
    if (cursor == NULL)
        return false;
    if (sp_cursor_decode_key(cursor, list_scope(r, f), sp_article_cursor_kind(f), &f->after))
        return true;
    f->after = (struct sp_cursor_key){0};
    return false;
}

/* A page's address: every filter of this page (the search too, or page 2
 * would list what does not match) and the cursor after next (NULL: the
 * first page), each value percent-encoded; the template HTML-escapes the
 * whole. */
static const char *
list_url(struct sp_req *r, const struct sp_article_filter *f, const struct sp_cursor_key *next)
{
    struct sp_buf b;
    sp_buf_init(&b, r->arena, 128);
    sp_buf_printf(&b, KB_PATH "?");
    if (f->q != NULL)
        sp_buf_printf(&b, "q=%s&", sp_uri_encode(r->arena, f->q, strlen(f->q), false));
    sp_buf_printf(&b, "status=%s", list_statuses[f->status]);
    if (next != NULL) {
        const char *cursor =
            sp_cursor_encode_key(r->arena, list_scope(r, f), sp_article_cursor_kind(f), next);
        sp_buf_printf(&b, "&cursor=%s", sp_uri_encode(r->arena, cursor, strlen(cursor), false));
    }
    return b.data;
}

enum sp_rc
sp_page_kb_list(struct sp_req *r, struct sp_problem *p)
{
    struct sp_admin_session s;
    if (!sp_page_session(r, &s, p))
        return p->rc;
    struct json_object *ctx = sp_page_ctx("Knowledge base", &s);
    struct sp_article_filter f;
    bool paged = list_filter(r, &f, ctx);
    struct sp_ctx dctx = sp_api_ctx(r);
    struct sp_article_page page;
    if (sp_article_list(&dctx, &f, &page, p) != SP_OK) {
        json_object_put(ctx);
        return p->rc;
    }
    struct json_object *rows = json_object_new_array();
    for (int i = 0; i < page.n; i++)
        json_object_array_add(rows, article_data(r, &page.items[i]));
    json_object_object_add(ctx, "articles", rows);
    if (page.more)
        json_object_object_add(ctx, "next_url",
                               json_object_new_string(list_url(r, &f, &page.next)));
    /* Past the first page, the way back to it (there was only "Next"). */
    if (paged)
        json_object_object_add(ctx, "first_url", json_object_new_string(list_url(r, &f, NULL)));
    return sp_page_render(r, 200, "kb_list", ctx);
}

/* --- the article form ---------------------------------------------------------- */

/* The article form's text fields. */
enum { F_SLUG, F_TITLE, F_MARKDOWN, F_TAGS, F_COUNT };
static const char *const form_fields[F_COUNT] = {
    [F_SLUG] = "slug", [F_TITLE] = "title", [F_MARKDOWN] = "content_markdown", [F_TAGS] = "tags",
};

/* The article form as sent. A field that cannot be read is not taken as
 * absent: an edit then kept the stored value and said "saved" (QA). */
struct article_form {
    const char *value[F_COUNT];   /* NULL: absent or unreadable */
    const char *shown[F_COUNT];   /* what the page shows again; NULL: absent */
    struct sp_problem unreadable; /* a field error for each unreadable field */
};

/* Why a field cannot be read, in the JSON API's words where it has them. */
static const char *
unreadable_message(enum sp_form_read how)
{
    switch (how) {
    case SP_FORM_NUL:
        return SP_PROBLEM_NUL_MESSAGE;
    case SP_FORM_NOT_UTF8:
        return "is not valid UTF-8";
    default:
        return "is not a valid form encoding";
    }
}

/* A textarea's text as a browser sends it: HTML's form encoding makes its
 * line ends CR LF. Stored with LF, as the JSON API's text is, so saving an
 * unchanged article changes nothing (it was a new version each time, and
 * an article near the size limit grew past it). */
static const char *
text_lines(struct sp_req *r, const char *v)
{
    return strchr(v, '\r') ? sp_utf8_clean(r->arena, v, strlen(v), SP_UTF8_TEXT) : v;
}

static void
read_form(struct sp_req *r, struct article_form *f)
{
    *f = (struct article_form){0};
    sp_problem_init(&f->unreadable);
    for (int i = 0; i < F_COUNT; i++) {
        const char *v;
        enum sp_form_read how = sp_req_form_field(r, form_fields[i], &v);
        if (how == SP_FORM_OK)
            f->value[i] = v = i == F_MARKDOWN ? text_lines(r, v) : v;
        else if (how != SP_FORM_ABSENT)
            sp_problem_field(&f->unreadable, form_fields[i], "invalid", unreadable_message(how));
        f->shown[i] = v;
    }
}

/* The tags field's list (comma separated, trimmed, empty ones dropped; at
 * most one past the limit, for the domain to refuse), its length in *n. */
static const char **
form_tags(struct sp_req *r, const char *tags, size_t *n)
{
    const char **list = sp_arena_calloc(r->arena, SP_ARTICLE_TAGS_MAX + 2, sizeof(*list));
    *n = 0;
    for (const char *t = tags ? tags : ""; *t != '\0' && *n <= SP_ARTICLE_TAGS_MAX;) {
        t += strspn(t, " ,\t");
        size_t len = strcspn(t, ",");
        while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
            len--;
        if (len > 0)
            list[(*n)++] = sp_arena_strndup(r->arena, t, len);
        t += strcspn(t, ",");
    }
    return list;
}

/* The form's fields as an article input (tags: comma separated, trimmed,
 * empty ones dropped; the domain lower-cases them, as for the JSON API).
 * A field left out keeps what is stored, tags too (a browser sends every
 * field; "tags=" clears them). is_published is checked when it holds
 * what the checkbox sends, "1"; a browser sends that or nothing, so
 * anything else (is_published=0) is unchecked: a draft, not a publish. */
static void
form_input(struct sp_req *r, const struct article_form *f, struct sp_article_input *in,
           bool with_publish)
{
    const char *md = f->value[F_MARKDOWN], *tags = f->value[F_TAGS];
    const char *published = sp_req_form(r, "is_published");
    *in = (struct sp_article_input){
        .slug = f->value[F_SLUG],
        .title = f->value[F_TITLE],
        .markdown = md,
        .markdown_len = md ? strlen(md) : 0,
        .publish = with_publish ? published != NULL && strcmp(published, "1") == 0 : -1,
        .tags_set = tags != NULL,
    };
    in->tags = form_tags(r, tags, &in->ntags);
}

/* The unreadable fields' errors into p, with the other fields' errors a
 * save would give (every field error in one page, as in one 422 of the
 * JSON API); an unreadable field is not also called missing. */
static enum sp_rc
unreadable_fields(struct sp_req *r, const struct article_form *f,
                  const struct sp_article_input *in, bool create, struct sp_problem *p)
{
    struct sp_article_input v = *in;
    struct sp_problem others;
    sp_problem_init(&others);
    sp_article_check(r->arena, &v, create, &others);
    *p = f->unreadable;
    for (size_t i = 0; i < others.nerrors; i++) {
        const struct sp_field_error *e = &others.errors[i];
        const char *field = sp_arena_strndup(r->arena, e->field, strcspn(e->field, "["));
        if (!sp_problem_refuses(&f->unreadable, field))
            sp_problem_field(p, e->field, e->code, e->message);
    }
    return p->rc;
}

/* A tag's error in words, naming the tag as typed (tags_text: the tags
 * field as sent): "tags[1]: a tag is listed twice" was the JSON API's
 * notation (QA). */
static const char *
tag_message(struct sp_req *r, const struct sp_field_error *e, const char *tags_text)
{
    size_t n;
    const char **tags = form_tags(r, tags_text, &n);
    unsigned long i = strtoul(e->field + strlen("tags["), NULL, 10);
    const char *tag = i < n ? tags[i] : NULL;
    if (tag == NULL)
        return sp_arena_sprintf(r->arena, "Tag %lu %s", i + 1, e->message);
    if (strcmp(e->code, "duplicate") == 0)
        return sp_arena_sprintf(r->arena, "The tag \"%s\" is listed twice (in upper or lower"
                                          " case)", tag);
    return sp_arena_sprintf(r->arena, "The tag \"%s\" %s", tag, e->message);
}

/* The field errors by form field: an item's ("tags[2]") goes beside its
 * list's field, in words, after the list's earlier ones. */
static struct json_object *
form_errors(struct sp_req *r, const struct sp_problem *errors, const char *tags_text)
{
    struct json_object *errs = json_object_new_object();
    for (size_t i = 0; i < errors->nerrors; i++) {
        const struct sp_field_error *e = &errors->errors[i];
        size_t base = strcspn(e->field, "[");
        const char *field = sp_arena_strndup(r->arena, e->field, base);
        const char *message = e->field[base] == '\0' ? e->message
                              : strcmp(field, "tags") == 0
                                  ? tag_message(r, e, tags_text)
                                  : sp_arena_sprintf(r->arena, "%s: %s", e->field, e->message);
        struct json_object *before;
        if (json_object_object_get_ex(errs, field, &before))
            message = sp_arena_sprintf(r->arena, "%s; %s", json_object_get_string(before),
                                       message);
        json_object_object_add(errs, field, json_object_new_string(message));
    }
    return errs;
}

/* The links of the article's text that the published page shows as
 * their text only (relative, "#anchor": only http, https, mailto and tel
 * are kept), named on the form: a save dropped them without a word (QA).
 * Kept out of the saved HTML rather than linked: an article is shown on
 * other sites' pages too (the widget, the AI's answers), where a relative
 * link leads elsewhere, and headings carry no ids for an anchor to meet. */
static void
dropped_links(struct sp_req *r, struct json_object *article, struct json_object *ctx)
{
    struct json_object *md;
    struct sp_markdown m;
    if (!json_object_object_get_ex(article, "content_markdown", &md))
        return;
    const char *text = json_object_get_string(md);
    size_t len = strlen(text);
    if (len > SP_ARTICLE_MARKDOWN_MAX || !sp_markdown_render(r->arena, text, len, &m) ||
        m.ndropped_links == 0)
        return;
    struct json_object *links = json_object_new_array();
    for (size_t i = 0; i < m.ndropped_links; i++)
        json_object_array_add(links, json_object_new_string(m.dropped_links[i]));
    json_object_object_add(ctx, "dropped_links", links);
    json_object_object_add(ctx, "has_dropped_links", json_object_new_boolean(1));
}

/* The form page's data: what was typed and each error beside its field
 * (a problem without field errors: the form's own message). */
static struct json_object *
form_ctx(struct sp_req *r, const struct sp_admin_session *s, struct json_object *article,
         const struct sp_problem *errors)
{
    bool editing = json_object_object_get_ex(article, "id", NULL);
    struct json_object *ctx = sp_page_ctx(editing ? "Edit article" : "New article", s);
    json_object_object_add(ctx, "article", article);
    json_object_object_add(ctx, "editing", json_object_new_boolean(editing));
    dropped_links(r, article, ctx);
    if (errors != NULL && errors->rc != SP_OK) {
        struct json_object *tags = NULL;
        json_object_object_get_ex(article, "tags_text", &tags);
        struct json_object *errs = form_errors(r, errors, json_object_get_string(tags));
        if (errors->nerrors == 0)
            json_object_object_add(ctx, "form_error", json_object_new_string(errors->detail));
        json_object_object_add(ctx, "errors", errs);
    }
    return ctx;
}

static enum sp_rc
form_page(struct sp_req *r, int status, const struct sp_admin_session *s,
          struct json_object *article, const struct sp_problem *errors)
{
    return sp_page_render(r, status, "kb_form", form_ctx(r, s, article, errors));
}

/* What the form sent, as the template's article data. On an edit
 * (stored: the article as it is; NULL on a create) the fields the form
 * left out show the stored values a save keeps, and the status is the
 * article's. */
static struct json_object *
typed(struct sp_req *r, const struct article_form *f, const struct sp_article *stored)
{
    static const char *const keys[F_COUNT] = {
        [F_SLUG] = "slug", [F_TITLE] = "title", [F_MARKDOWN] = "content_markdown",
        [F_TAGS] = "tags_text",
    };
    struct json_object *o = stored ? article_data(r, stored) : json_object_new_object();
    json_object_object_del(o, "html");  /* the stored text's, not the typed text's */
    for (int i = 0; i < F_COUNT; i++)
        if (f->shown[i] != NULL || stored == NULL)
            json_object_object_add(o, keys[i],
                                   json_object_new_string(f->shown[i] ? f->shown[i] : ""));
    return o;
}

/* A refused save: 422 with the errors, or the problem itself when it is
 * not the form's fault. */
static enum sp_rc
save_refused(struct sp_req *r, const struct sp_admin_session *s, struct json_object *article,
             struct sp_problem *p)
{
    if (p->rc == SP_CONFLICT && strcmp(p->code, "slug_taken") == 0)
        sp_problem_field(p, "slug", "slug_taken", "another article has this slug");
    else if (p->rc == SP_PRECONDITION)
        sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                       "Someone else saved this article while you were editing it. Copy your"
                       " changes, reload the page and apply them again.");
    else if (p->rc != SP_INVALID) {
        json_object_put(article);
        return p->rc;
    }
    enum sp_rc rc = form_page(r, 422, s, article, p);
    sp_problem_init(p);
    return rc;
}

/* The edit form's hidden version: a positive decimal number, else 0. The
 * guard against stale edits (API.md §8) must not be skipped by a form
 * that lost or mangled it: 0 (no precondition) is refused, not used. */
static long long
form_version(struct sp_req *r)
{
    const char *v = sp_req_form(r, "version");
    return v ? sp_row_id_read(v) : 0;
}

/* The new-article form's one-time key (hidden form_key, API.md §8):
 * random, rendered with the form and kept by its 403 and 422 pages, so
 * Save pressed twice (or again after a lost answer) finds the first
 * save's redirect instead of a second create refused as "another article
 * has this slug" (QA). */
#define FORM_KEY_HEX 32
#define FORM_KEY_PREFIX "kb-form:"

/* The key the form sent, when well-formed; else NULL. */
static const char *
sent_form_key(struct sp_req *r)
{
    const char *k = sp_req_form(r, "form_key");
    return k != NULL && strlen(k) == FORM_KEY_HEX &&
                   strspn(k, "0123456789abcdef") == FORM_KEY_HEX
               ? k
               : NULL;
}

/* The key a form page renders: the one sent, unless fresh or none was. */
static const char *
form_key(struct sp_req *r, bool fresh)
{
    const char *k = fresh ? NULL : sent_form_key(r);
    if (k != NULL)
        return k;
    char *out = sp_arena_alloc(r->arena, FORM_KEY_HEX + 1);
    sp_random_hex(out, FORM_KEY_HEX / 2);
    return out;
}

/* The article form shown again as it was sent, nothing saved (why), with
 * status: the form of article id (0: the new-article form, which keeps
 * its form_key). The typed text lives on in this page only, never
 * stored. */
static enum sp_rc
kept_form(struct sp_req *r, const struct sp_admin_session *s, long long id, int status,
          const char *why)
{
    struct article_form f;
    read_form(r, &f);
    struct json_object *o = typed(r, &f, NULL);
    const char *page = KB_PATH "/new", *published = sp_req_form(r, "is_published");
    if (id > 0) {
        json_object_object_add(o, "id", json_object_new_int64(id));
        if (form_version(r) > 0)
            json_object_object_add(o, "version", json_object_new_int64(form_version(r)));
        page = sp_arena_sprintf(r->arena, KB_PATH "/%lld/edit", id);
    } else {
        json_object_object_add(o, "is_published",
                               json_object_new_boolean(published && strcmp(published, "1") == 0));
        json_object_object_add(o, "form_key", json_object_new_string(form_key(r, false)));
    }
    struct sp_problem problem;
    sp_problem_init(&problem);
    sp_problem_set(&problem, SP_INVALID, "validation_failed", "%s", why);
    struct json_object *ctx = form_ctx(r, s, o, &problem);
    json_object_object_add(ctx, "unsaved", json_object_new_boolean(1));
    if (s == NULL)
        json_object_object_add(ctx, "signin_url", json_object_new_string(sp_page_login_url(r, page)));
    return sp_page_render(r, status, "kb_form", ctx);
}

/* The article form shown again as it was sent, nothing saved: its session
 * has ended (s NULL) or its CSRF token is no live session's (signed out
 * in another tab, a form kept open past its session). The typed text was
 * lost (QA); it lives on in this page only, never stored. Without a
 * session the page shows nothing stored (the article's status, its
 * actions) and has no CSRF token: once signed in again (the link opens
 * the sign-in page in another tab), Save comes back here with the new
 * session, gets a token, and the next Save saves, the version guard
 * still on. */
static enum sp_rc
unsaved_form(struct sp_req *r, const struct sp_admin_session *s)
{
    long long id = r->nparams > 0 ? sp_row_id_read(r->params[0]) : 0;
    return kept_form(r, s, id, 403,
                     s == NULL ? "Your session has ended, so nothing was saved. Sign in again in"
                                 " another tab, then press Save here: your text is kept below."
                               : "This form's security token is missing or out of date (the"
                                 " page was opened before you signed in again, say), so nothing"
                                 " was saved. Your text is kept below with a new token: check it"
                                 " and press Save again.");
}

/* The edit form of an article deleted meanwhile (by someone else, in
 * another tab): there is nothing to save into, and the typed text was
 * lost on a 404 page (QA). It comes back as the new-article form with
 * what was sent and its own form_key; Save creates it, under the same
 * slug when that is still free (else the create says so beside it). */
static enum sp_rc
deleted_form(struct sp_req *r, const struct sp_admin_session *s, struct sp_problem *p)
{
    sp_problem_init(p);
    return kept_form(r, s, 0, 404,
                     "This article was deleted while you were editing it, so nothing was"
                     " saved. Your text is kept below: Save creates it as a new article.");
}

/* The article form's POST: as session_post, but a form refused for its
 * session or its CSRF token is shown again as sent (unsaved_form) rather
 * than lost — unless the browser says another site's page sent it: that
 * gets the plain refusal, so no other site can have a form of its making
 * shown here ready to save. false: answered or p set. */
static bool
form_session(struct sp_req *r, struct sp_admin_session *s, struct sp_problem *p)
{
    if (!sp_page_form_posted(r, p))
        return false;
    struct sp_ctx ctx = sp_api_ctx(r);
    bool ok = false;
    bool found = sp_admin_session_find(&ctx, sp_page_session_cookie(r), s, p) == SP_OK;
    if (!found && p->rc != SP_NOT_FOUND)
        return false;
    sp_problem_init(p);
    if (found && !sp_page_csrf_of_user(r, s, &ok, p))
        return false;
    if (found && ok)
        return true;
    if (!sp_page_from_elsewhere(r))
        unsaved_form(r, found ? s : NULL);
    else if (found)
        sp_page_csrf_refused(r, s);
    else
        sp_page_redirect(r, sp_page_login_url(r, NULL));
    return false;
}

enum sp_rc
sp_page_kb_new(struct sp_req *r, struct sp_problem *p)
{
    struct sp_admin_session s;
    if (!sp_page_session(r, &s, p))
        return p->rc;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "form_key", json_object_new_string(form_key(r, true)));
    return form_page(r, 200, &s, o, NULL);
}

/* The create of the new-article form, in the Idempotency-Key protocol's
 * transaction: its answer (303 to the new article) is what a second POST
 * of the same form is given. */
struct form_create {
    struct sp_req *r;
    const struct sp_article_input *in;
    const char *user_id;
};

static enum sp_rc
form_create_step(struct sp_ctx *ctx, void *arg, struct sp_idem_record *answer,
                 struct sp_problem *p)
{
    struct form_create *c = arg;
    struct sp_article a;
    if (sp_article_create(ctx, c->in, c->user_id, &a, p) != SP_OK)
        return p->rc;
    *answer = (struct sp_idem_record){303, edit_done(c->r, a.id, "created"), NULL, ""};
    return SP_OK;
}

/* Creates the form's article once per form_key of the admin (the JSON
 * API's Idempotency-Key rows, under a prefix of their own): the same
 * form sent again answers the first create's address (*location). The
 * key with other fields (the form changed after its first Save) is 422
 * idempotency_key_reused. A form without a key creates each time. */
static enum sp_rc
create_once(struct sp_req *r, const struct sp_admin_session *s, const struct sp_article_input *in,
            const char **location, struct sp_problem *p)
{
    const char *k = sent_form_key(r);
    const char *key = k != NULL ? sp_arena_sprintf(r->arena, FORM_KEY_PREFIX "%s", k) : NULL;
    unsigned char hash[32];
    sp_api_request_hash(r, hash);
    struct form_create c = {r, in, s->user_id};
    struct sp_idem_command cmd = {form_create_step, NULL, &c};
    struct sp_idem_record answer = {0, NULL, NULL, NULL};
    struct sp_ctx ctx = sp_api_ctx(r);
    bool replayed;
    if (sp_idem_run(&ctx, (struct sp_party){s->user_id, true}, key, hash, &cmd, &answer,
                    &replayed, p) != SP_OK)
        return p->rc;
    *location = answer.location;
    return SP_OK;
}

enum sp_rc
sp_page_kb_create(struct sp_req *r, struct sp_problem *p)
{
    struct sp_admin_session s;
    if (!form_session(r, &s, p))
        return p->rc;
    struct article_form f;
    struct sp_article_input in;
    read_form(r, &f);
    form_input(r, &f, &in, true);
    const char *location = KB_PATH;
    if ((f.unreadable.rc != SP_OK && unreadable_fields(r, &f, &in, true, p) != SP_OK) ||
        create_once(r, &s, &in, &location, p) != SP_OK) {
        struct json_object *o = typed(r, &f, NULL);
        json_object_object_add(o, "is_published", json_object_new_boolean(in.publish == 1));
        /* The form saved once already and changed since: this is not a
         * replay, and a new key lets Save make it a second article. */
        bool reused = p->code != NULL && strcmp(p->code, "idempotency_key_reused") == 0;
        if (reused)
            sp_problem_set(p, SP_INVALID, "validation_failed",
                           "This form was saved already, as a new article (see the list); what"
                           " it holds now is not saved. Press Save again to save it as another"
                           " article.");
        json_object_object_add(o, "form_key", json_object_new_string(form_key(r, reused)));
        return save_refused(r, &s, o, p);
    }
    return sp_page_redirect(r, location);
}

/* The article of the route's :id, or an answered 404 page (false). */
static bool
route_article(struct sp_req *r, const struct sp_admin_session *s, struct sp_article *a,
              struct sp_problem *p)
{
    long long id;
    struct sp_ctx ctx = sp_api_ctx(r);
    if (sp_api_id_param(r, &id, p) == SP_OK && sp_article_get(&ctx, id, a, p) == SP_OK)
        return true;
    if (p->rc == SP_NOT_FOUND) {
        sp_problem_init(p);
        sp_page_error(r, 404, "Not found", "There is no such article.", s);
    }
    return false;
}

enum sp_rc
sp_page_kb_edit(struct sp_req *r, struct sp_problem *p)
{
    struct sp_admin_session s;
    struct sp_article a;
    if (!sp_page_session(r, &s, p) || !route_article(r, &s, &a, p))
        return p->rc;
    return form_page(r, 200, &s, article_data(r, &a), NULL);
}

/* Whether the article as stored is what the form sent, after the
 * domain's own normalizing (a trimmed title, lower-case tags): the same
 * form saved twice (Save pressed again, a resent POST) met the version
 * of its own first save and was told someone else had saved (QA). */
static bool
already_saved(struct sp_req *r, const struct sp_article_input *in, const struct sp_article *a)
{
    struct sp_article_input v = *in;
    struct sp_problem p;
    sp_problem_init(&p);
    if (sp_article_check(r->arena, &v, false, &p) != SP_OK)
        return false;
    if ((v.slug && strcmp(v.slug, a->slug) != 0) || (v.title && strcmp(v.title, a->title) != 0) ||
        (v.markdown && (a->markdown == NULL || strcmp(v.markdown, a->markdown) != 0)))
        return false;
    if (!v.tags_set)
        return true;
    struct json_object *tags = json_tokener_parse(a->tags_json ? a->tags_json : "[]");
    sp_json_release_with(r->arena, tags);
    bool same = tags != NULL && json_object_array_length(tags) == v.ntags;
    for (size_t i = 0; same && i < v.ntags; i++)
        same = strcmp(json_object_get_string(json_object_array_get_idx(tags, i)), v.tags[i]) == 0;
    return same;
}

enum sp_rc
sp_page_kb_update(struct sp_req *r, struct sp_problem *p)
{
    struct sp_admin_session s;
    struct sp_article a;
    long long id;
    struct sp_ctx ctx = sp_api_ctx(r);
    if (!form_session(r, &s, p) || sp_api_id_param(r, &id, p) != SP_OK)
        return p->rc;
    if (sp_article_get(&ctx, id, &a, p) != SP_OK)
        return p->rc == SP_NOT_FOUND ? deleted_form(r, &s, p) : p->rc;
    struct article_form f;
    struct sp_article_input in;
    read_form(r, &f);
    form_input(r, &f, &in, false);
    long long version = form_version(r);
    in.if_match = sp_versions_one(r->arena, version);
    if (version == 0)
        sp_problem_set(p, SP_INVALID, "validation_failed",
                       "This form does not say which version of the article it edits. Copy your"
                       " changes, reload the page and apply them again.");
    else if (f.unreadable.rc != SP_OK)
        unreadable_fields(r, &f, &in, false, p);
    if (p->rc != SP_OK || sp_article_patch(&ctx, a.id, &in, s.user_id, &a, p) != SP_OK) {
        if (p->rc == SP_NOT_FOUND)
            return deleted_form(r, &s, p);
        if (p->rc == SP_PRECONDITION && already_saved(r, &in, &a)) {
            sp_problem_init(p);
            return redirect_to_edit(r, a.id, "saved");
        }
        /* The version the user edited, never the article's: a stale form
         * shown again with the current version saved over someone
         * else's changes at the next Save (QA). */
        struct json_object *o = typed(r, &f, &a);
        json_object_object_del(o, "version");
        if (version != 0)
            json_object_object_add(o, "version", json_object_new_int64(version));
        return save_refused(r, &s, o, p);
    }
    return redirect_to_edit(r, a.id, "saved");
}

/* --- actions --------------------------------------------------------------------- */

/* An action's form carries the version its page showed (hidden version,
 * If-Match as the edit's): an article another admin changed since is not
 * published, unpublished or deleted unseen (QA) — the edit page shows it
 * as it is now, 409, saying so. A form without it (a page an older
 * release rendered) acts on the article as it is, as before.
 * published: the state a publish (1) or an unpublish (0) asked for, -1
 * for a delete. An article in that state already is answered as done
 * (the same 303): Publish clicked twice sent the same version twice, and
 * the second click was told the article had changed (QA); nothing is
 * done to it, so nothing is done unseen. */
static enum sp_rc
action_stale(struct sp_req *r, const struct sp_admin_session *s, long long id, int published,
             struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_article a;
    sp_problem_init(p);
    if (sp_article_get(&ctx, id, &a, p) != SP_OK) {
        if (p->rc != SP_NOT_FOUND)
            return p->rc;
        sp_problem_init(p);
        return sp_page_error(r, 404, "Not found", "There is no such article.", s);
    }
    if (published >= 0 && a.is_published == (published == 1))
        return redirect_to_edit(r, id, published ? "published" : "unpublished");
    struct sp_problem why;
    sp_problem_init(&why);
    sp_problem_set(&why, SP_PRECONDITION, "precondition_failed",
                   "This article was changed after you opened it. Review it as it is now, then"
                   " try again.");
    return form_page(r, 409, s, article_data(r, &a), &why);
}

static enum sp_rc
set_published(struct sp_req *r, bool publish, struct sp_problem *p)
{
    struct sp_admin_session s;
    struct sp_article a;
    if (!sp_page_session_post(r, &s, p) || !route_article(r, &s, &a, p))
        return p->rc;
    struct sp_article_input in = {.publish = publish,
                                  .if_match = sp_versions_one(r->arena, form_version(r))};
    struct sp_ctx ctx = sp_api_ctx(r);
    long long id = a.id;
    if (sp_article_patch(&ctx, id, &in, s.user_id, &a, p) != SP_OK)
        return p->rc == SP_PRECONDITION ? action_stale(r, &s, id, publish, p) : p->rc;
    return redirect_to_edit(r, a.id, publish ? "published" : "unpublished");
}

enum sp_rc
sp_page_kb_publish(struct sp_req *r, struct sp_problem *p)
{
    return set_published(r, true, p);
}

enum sp_rc
sp_page_kb_unpublish(struct sp_req *r, struct sp_problem *p)
{
    return set_published(r, false, p);
}

enum sp_rc
sp_page_kb_delete_confirm(struct sp_req *r, struct sp_problem *p)
{
    struct sp_admin_session s;
    struct sp_article a;
    if (!sp_page_session(r, &s, p) || !route_article(r, &s, &a, p))
        return p->rc;
    struct json_object *ctx = sp_page_ctx("Delete article", &s);
    json_object_object_add(ctx, "article", article_data(r, &a));
    return sp_page_render(r, 200, "kb_delete", ctx);
}

enum sp_rc
sp_page_kb_delete(struct sp_req *r, struct sp_problem *p)
{
    struct sp_admin_session s;
    struct sp_article a;
    if (!sp_page_session_post(r, &s, p) || !route_article(r, &s, &a, p))
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    if (sp_article_delete(&ctx, a.id, sp_versions_one(r->arena, form_version(r)), p) != SP_OK)
        return p->rc == SP_PRECONDITION ? action_stale(r, &s, a.id, -1, p) : p->rc;
    return sp_page_redirect(r, KB_PATH "?done=deleted");
}

/* The preview's session and CSRF token. It is a fetch (admin.js), not
 * a navigation: a 303 to the sign-in page was followed and the sign-in
 * form shown in the preview pane (QA), so it answers problem+json — 401
 * as the JSON API without credentials, 403 for a token of no live
 * session — which admin.js turns into a short message. */
static bool
preview_session(struct sp_req *r, struct sp_admin_session *s, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    bool ok;
    if (sp_admin_session_find(&ctx, sp_page_session_cookie(r), s, p) != SP_OK) {
        if (p->rc == SP_NOT_FOUND) {
            sp_problem_init(p);
            sp_problem_set(p, SP_UNAUTHORIZED, "token_missing",
                           "your admin session has ended: sign in again in another tab");
        }
        return false;
    }
    if (!sp_page_csrf_of_user(r, s, &ok, p))
        return false;
    if (!ok)
        sp_problem_set(p, SP_FORBIDDEN, "forbidden",
                       "this page's session has ended: sign in again in another tab");
    return ok;
}

enum sp_rc
sp_page_kb_preview(struct sp_req *r, struct sp_problem *p)
{
    struct sp_admin_session s;
    if (!sp_page_form_posted(r, p) || !preview_session(r, &s, p))
        return p->rc;
    const char *md;
    enum sp_form_read how = sp_req_form_field(r, "content_markdown", &md);
    if (how != SP_FORM_OK && how != SP_FORM_ABSENT) {
        sp_problem_field(p, "content_markdown", "invalid", unreadable_message(how));
        return p->rc;
    }
    md = md != NULL ? text_lines(r, md) : NULL;
    size_t len = md ? strlen(md) : 0;
    if (len > SP_ARTICLE_MARKDOWN_MAX)
        return sp_problem_set(p, SP_TOO_LARGE, "payload_too_large",
                              "content_markdown is over 204800 bytes (200 KiB)");
    struct sp_ctx ctx = sp_api_ctx(r);
    const char *html;
    if (sp_article_preview(&ctx, md ? md : "", len, &html, p) != SP_OK)
        return p->rc;
    sp_resp_header(r, "Cache-Control", "no-store");
    sp_resp_send(r, 200, "text/html; charset=utf-8", html, strlen(html));
    return SP_OK;
}
