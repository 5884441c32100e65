/*
 * articles (api): the knowledge base over JSON (API.md §8 and §6) — the
 * public search and article reads, and the admin CRUD. Parses, calls one
 * domain command (domain/articles), renders; the admin HTML pages are
 * api/kb_pages.c.
 *
 * Public reads are cacheable (Cache-Control: public, max-age=60, ETag
 * from the id and version; nginx micro-caches them for anonymous callers) and
 * answer If-None-Match with 304.
 * Holds no SQL; never includes db/.
 */
#include "api/articles.h"

#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/ascii.h"
#include "core/json_writer.h"
#include "core/utf8.h"
#include "domain/articles.h"

#define PUBLIC_CACHE "public, max-age=60"

/* --- rendering ------------------------------------------------------------- */

/* The public view of API.md §8 (list rows: no html; search hits add
 * snippet, rank and match). */
static void
write_public(struct sp_jw *w, const struct sp_article *a, bool full)
{
    sp_jw_object(w);
    sp_jw_kstr(w, "slug", a->slug);
    sp_jw_kstr(w, "title", a->title);
    sp_jw_kraw(w, "tags", a->tags_json);
    if (full) {
        sp_jw_kstr(w, "html", a->html);
        sp_jw_kint(w, "version", a->version);
    } else {
        sp_jw_kstr(w, "summary", a->summary);
    }
    sp_jw_kstr(w, "published_at", a->published_at);
    sp_jw_kstr(w, "updated_at", a->updated_at);
    if (a->snippet != NULL) {
        sp_jw_kstr(w, "snippet", a->snippet);
        sp_jw_kfixed(w, "rank", a->rank, 6);
        sp_jw_kstr(w, "match", a->match);
    }
    sp_jw_end(w);
}

void
sp_api_article_admin_json(struct sp_jw *w, const struct sp_article *a)
{
    sp_jw_object(w);
    sp_jw_kint(w, "id", a->id);
    sp_jw_kstr(w, "slug", a->slug);
    sp_jw_kstr(w, "title", a->title);
    sp_jw_kraw(w, "tags", a->tags_json);
    sp_jw_kstr(w, "summary", a->summary);
    sp_jw_kbool(w, "is_published", a->is_published);
    sp_jw_kstr(w, "status", a->is_published ? "published" : "draft");
    if (a->markdown != NULL) {
        sp_jw_kstr(w, "content_markdown", a->markdown);
        sp_jw_kstr(w, "html", a->html);
    }
    sp_jw_kstr(w, "published_at", a->published_at);
    sp_jw_kstr(w, "created_at", a->created_at);
    sp_jw_kstr(w, "updated_at", a->updated_at);
    sp_jw_kint(w, "version", a->version);
    sp_jw_end(w);
}

/* Items of a list (sp_api_item_writer): an article as the admins' list
 * shows it, or as the public one does. */
static void
write_admin_item(struct sp_jw *w, const void *item)
{
    sp_api_article_admin_json(w, item);
}

static void
write_public_item(struct sp_jw *w, const void *item)
{
    write_public(w, item, false);
}

static enum sp_rc
answer_page(struct sp_req *r, const struct sp_article_filter *f, const char *scope,
            const struct sp_article_page *page, bool admin)
{
    const char *next = page->more ? sp_cursor_encode_key(r->arena, scope,
                                                         sp_article_cursor_kind(f), &page->next)
                                  : NULL;
    return sp_api_answer_list(r, page->items, (size_t)page->n, sizeof(*page->items),
                              admin ? write_admin_item : write_public_item, next);
}

/* --- lists ----------------------------------------------------------------- */

/* status last: only admin lists read it. */
enum { LQ_Q, LQ_TAG, LQ_LIMIT, LQ_CURSOR, LQ_STATUS, LQ_COUNT };

static const char *const statuses[] = {
    [SP_ARTICLES_PUBLISHED] = "published", [SP_ARTICLES_DRAFTS] = "draft",
    [SP_ARTICLES_ALL] = "all", NULL};

static const struct sp_query_spec list_query[LQ_COUNT] = {
    [LQ_Q] = {"q", SP_QUERY_STRING, 1, 4 * SP_ARTICLE_QUERY_MAX, 0, NULL, NULL, NULL, NULL,
              SP_ARTICLE_QUERY_INVALID},
    /* in any letter case: tags are stored lower-cased (an admin's "UP"
     * is "up"), so a filter of "UP" finds them too (QA) */
    [LQ_TAG] = {"tag", SP_QUERY_STRING, 1, SP_ARTICLE_TAG_MAX, 0, NULL, NULL,
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", NULL,
                "must be a tag: 1 to 40 of a-z, 0-9 and - (in any letter case)"},
    [LQ_STATUS] = {"status", SP_QUERY_ENUM, 0, 0, SP_ARTICLES_ALL, statuses, NULL, NULL, NULL,
                   "must be published, draft or all"},
    [LQ_LIMIT] = SP_API_LIMIT("limit", 25),
    /* The kind carries the order (newest or by relevance): decoded once
     * the order is known. */
    [LQ_CURSOR] = {"cursor", SP_QUERY_STRING, 1, 0, 0, NULL, NULL, NULL, NULL,
                   "is not a cursor returned by this list", .pages = true},
};

/* The filter of a list request, and its cursors' scope (bound to q, tag
 * and status: a cursor of one search does not go on with another); admin
 * lists may ask for drafts. */
static enum sp_rc
list_filter(struct sp_req *r, bool admin, struct sp_article_filter *f, const char **scope,
            struct sp_problem *p)
{
    struct sp_query_value q[LQ_COUNT];
    size_t n = admin ? LQ_COUNT : LQ_STATUS;
    sp_query_read(r, list_query, n, q, p);
    *scope = sp_query_scope(r, list_query, n);
    *f = (struct sp_article_filter){
        .q = q[LQ_Q].present ? q[LQ_Q].str : NULL,
        .tag = q[LQ_TAG].present ? sp_ascii_lower(sp_arena_strdup(r->arena, q[LQ_TAG].str))
                                 : NULL,
        .status = admin ? (enum sp_article_status)q[LQ_STATUS].i : SP_ARTICLES_PUBLISHED,
        .ranked = !admin,
        .limit = (int)q[LQ_LIMIT].i,
    };
    /* Blanks are no search: refused as q= is (QA: q=%20 answered an empty
     * list where q= was a 422). */
    if (f->q != NULL && (sp_utf8_count(f->q, strlen(f->q)) > SP_ARTICLE_QUERY_MAX ||
                         sp_ascii_only(f->q, strlen(f->q), SP_ASCII_SPACE)))
        sp_problem_query_field(p, "q", "invalid", list_query[LQ_Q].message);
    if (q[LQ_CURSOR].present &&
        (!sp_cursor_decode_key(q[LQ_CURSOR].str, *scope, sp_article_cursor_kind(f),
                               &f->after) ||
         !f->after.has_value))
        sp_problem_query_field(p, "cursor", "invalid", list_query[LQ_CURSOR].message);
    return p->rc;
}

static enum sp_rc
list(struct sp_req *r, bool admin, struct sp_problem *p)
{
    struct sp_article_filter f;
    const char *scope;
    if (list_filter(r, admin, &f, &scope, p) != SP_OK)
        return p->rc;
    /* The public list may lag (a replica); the admins' list shows their
     * own edits at once. */
    struct sp_ctx ctx = admin ? sp_api_ctx(r) : sp_api_read_ctx(r);
    struct sp_article_page page;
    if (sp_article_list(&ctx, &f, &page, p) != SP_OK)
        return p->rc;
    if (!admin)
        sp_resp_header(r, "Cache-Control", PUBLIC_CACHE);
    return answer_page(r, &f, scope, &page, admin);
}

enum sp_rc
sp_api_articles_list(struct sp_req *r, struct sp_problem *p)
{
    return list(r, false, p);
}

enum sp_rc
sp_api_admin_articles_list(struct sp_req *r, struct sp_problem *p)
{
    return list(r, true, p);
}

/* --- one article, public --------------------------------------------------- */

enum sp_rc
sp_api_article_get(struct sp_req *r, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_read_ctx(r);
    struct sp_article a;
    /* Slugs are lower case only: /Creme-Brulee can name no other
     * article than /creme-brulee, so it names that one (QA: 404). */
    const char *slug = sp_ascii_lower(sp_arena_strdup(r->arena, r->params[0]));
    if (sp_article_published(&ctx, slug, &a, p) != SP_OK)
        return p->rc;
    const char *etag = sp_api_etag(r, a.id, a.version);
    sp_resp_header(r, "Cache-Control", PUBLIC_CACHE);
    if (sp_api_not_modified(r, etag))
        return SP_OK;
    struct sp_jw *w = sp_api_json(r);
    write_public(w, &a, true);
    return sp_api_send(r, 200, w);
}

/* --- admin ----------------------------------------------------------------- */

enum { AF_SLUG, AF_TITLE, AF_MARKDOWN, AF_TAGS, AF_PUBLISHED, AF_COUNT };

static const struct sp_field_spec article_fields[AF_COUNT] = {
    [AF_SLUG] = {"slug", SP_FIELD_STRING, true, false, 1, SP_ARTICLE_SLUG_MAX, NULL, 0, 0},
    /* No length here: it is the trimmed title's (sp_article_check). */
    [AF_TITLE] = {"title", SP_FIELD_STRING, true, false, 1, 0, NULL, 0, 0},
    /* No length here: the limit is in bytes (sp_article_check), not in
     * characters as the field table counts. */
    [AF_MARKDOWN] = {"content_markdown", SP_FIELD_STRING, true, false, 0, 0, NULL, 0, 0},
    [AF_TAGS] = {"tags", SP_FIELD_LIST, false, true, 0, SP_ARTICLE_TAGS_MAX, NULL, 0, 0},
    [AF_PUBLISHED] = {"is_published", SP_FIELD_BOOL, false, false, 0, 0, NULL, 0, 0},
};

/* The body of a create (id 0: required fields) or a patch of article id
 * (given fields; If-Match an ETag of that article). A
 * field of the wrong shape (an empty title) does not hide the others'
 * faults (a bad slug, a repeated tag): the fields that were read are still
 * checked, so one 422 lists every field error (API.md §1), as the form
 * does. */
static enum sp_rc
read_input(struct sp_req *r, long long id, struct sp_article_input *in, struct sp_problem *p)
{
    bool create = id == 0;
    struct sp_field_value v[AF_COUNT];
    bool shaped = sp_api_read_body_for(r, create, article_fields, AF_COUNT, v, p) != NULL;
    if (!shaped && p->nerrors == 0)
        return p->rc; /* not a JSON object: no fields to check */
    *in = (struct sp_article_input){
        .slug = v[AF_SLUG].present ? v[AF_SLUG].str : NULL,
        .title = v[AF_TITLE].present ? v[AF_TITLE].str : NULL,
        .markdown = v[AF_MARKDOWN].present ? v[AF_MARKDOWN].str : NULL,
        .markdown_len = v[AF_MARKDOWN].len,
        .publish = v[AF_PUBLISHED].present ? v[AF_PUBLISHED].b : -1,
    };
    /* A tags fault is a field error, reported with the rest below. */
    (void)sp_api_string_array(r, "tags", &v[AF_TAGS], &in->tags, &in->ntags, &in->tags_set, p);
    if (p->nerrors > 0) {
        /* Only the fields that were read: a missing one is reported. */
        (void)sp_article_check(r->arena, in, false, p);
        return p->rc;
    }
    if (!create && sp_api_if_match(r, id, &in->if_match, p) != SP_OK)
        return p->rc;
    return SP_OK;
}

static enum sp_rc
answer(struct sp_req *r, int status, const struct sp_article *a)
{
    struct sp_jw *w = sp_api_json(r);
    sp_api_article_admin_json(w, a);
    sp_api_etag(r, a->id, a->version);
    return sp_api_send(r, status, w);
}

static enum sp_rc
create_article(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
               struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_article a;
    if (sp_article_create(&ctx, input, r->principal.sub, &a, p) != SP_OK)
        return p->rc;
    struct sp_jw w;
    sp_jw_init(&w, body);
    sp_api_article_admin_json(&w, &a);
    out->version = a.version;
    out->etag_id = a.id;
    out->location = sp_arena_sprintf(r->arena, "/support/admin/articles/%lld", a.id);
    return SP_OK;
}

enum sp_rc
sp_api_admin_articles_create(struct sp_req *r, struct sp_problem *p)
{
    struct sp_article_input in;
    if (read_input(r, 0, &in, p) != SP_OK)
        return p->rc;
    return sp_api_create(r, create_article, &in, p);
}

enum sp_rc
sp_api_admin_article_get(struct sp_req *r, struct sp_problem *p)
{
    long long id;
    if (sp_api_id_param(r, &id, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_article a;
    if (sp_article_get(&ctx, id, &a, p) != SP_OK)
        return p->rc;
    return answer(r, 200, &a);
}

enum sp_rc
sp_api_admin_article_patch(struct sp_req *r, struct sp_problem *p)
{
    long long id;
    struct sp_article_input in;
    if (sp_api_id_param(r, &id, p) != SP_OK || read_input(r, id, &in, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_article a;
    if (sp_article_patch(&ctx, id, &in, r->principal.sub, &a, p) != SP_OK)
        return p->rc;
    return answer(r, 200, &a);
}

enum sp_rc
sp_api_admin_article_delete(struct sp_req *r, struct sp_problem *p)
{
    return sp_api_delete_by_id(r, sp_article_delete, p);
}
