/*
 * articles: the knowledge base (API.md §8) — articles written in markdown
 * by admins, rendered once when saved (core/markdown: sanitized HTML,
 * summary, plain text for search), published or kept as drafts, found by
 * customers through full-text search with highlighted snippets.
 *
 * Each write is one statement, so it needs no transaction of its own; a
 * create may run inside the caller's (the Idempotency-Key protocol's).
 * Versions count every change: the ETag of the public and admin views.
 * Must not: know HTTP (no status codes, headers or forms: api/articles
 * and the admin pages turn requests into these calls), or render JSON.
 */
#ifndef SP_ARTICLES_H
#define SP_ARTICLES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cursor.h"
#include "core/problem.h"
#include "core/versions.h"
#include "domain/ctx.h"

struct sp_arena;

#define SP_ARTICLE_SLUG_MAX 120
#define SP_ARTICLE_TITLE_MAX 200
#define SP_ARTICLE_MARKDOWN_MAX (200 * 1024)  /* bytes */
/* Its field error's message: the limit is in bytes whatever the text. */
#define SP_ARTICLE_MARKDOWN_TOO_LONG "must be at most 204800 bytes (200 KiB)"
#define SP_ARTICLE_TAGS_MAX 20
#define SP_ARTICLE_TAG_MAX 40
#define SP_ARTICLE_QUERY_MAX 200              /* characters of a search */
/* A search's field error (q; the kb_search tool's arguments.query). */
#define SP_ARTICLE_QUERY_INVALID "must be 1 to 200 characters, not only blanks"

struct sp_article {
    long long id;
    const char *slug;
    const char *title;
    const char *tags_json;     /* JSON array of strings */
    const char *summary;
    const char *html;          /* NULL in list rows */
    const char *markdown;      /* NULL in list rows */
    bool is_published;
    const char *published_at;  /* RFC 3339, NULL for a never-published draft */
    const char *created_at;
    const char *updated_at;
    long long version;
    /* Search results only: the snippet (HTML: escaped text with the
     * matches in <mark>) and the relevance, 0..1. */
    const char *snippet;
    double rank;
    /* "all": the article holds every word of q; "any": no article does,
     * this one holds some (API.md §8 Search: the any-word fallback). */
    const char *match;
};

/* What a create or a patch gives; NULL / unset members keep what is
 * stored (a create requires slug, title and markdown). */
struct sp_article_input {
    const char *slug;
    const char *title;
    const char *markdown;
    size_t markdown_len;
    const char *const *tags;   /* with tags_set: ntags tags, checked */
    size_t ntags;
    bool tags_set;
    int publish;               /* 1 publish, 0 unpublish, -1 keep */
    struct sp_versions if_match;   /* expected versions; SP_VERSIONS_ANY: none */
};

/* Field checks shared by every way in (JSON API, admin form): each failure
 * is a field error of p; SP_INVALID when there is any. create: required
 * fields must be given. The title becomes its stored form (one line,
 * trimmed: domain/ticket_subject's rule; in a), NULL when refused, and the
 * markdown's CR LF and lone CR line ends LF (in a; its length with it). */
enum sp_rc sp_article_check(struct sp_arena *a, struct sp_article_input *in, bool create,
                            struct sp_problem *p);
/* A tag as stored: 1..40 of a-z, 0-9, '-', starting with a letter or
 * digit. */
bool sp_article_tag_ok(const char *tag);

/* SP_INVALID (content_markdown too_complex) when the markdown nests or
 * tabulates past core/markdown's limits.
 * 409 slug_taken when another article has the slug. Publishing sets
 * published_at. actor: who writes (stored, never shown publicly). */
enum sp_rc sp_article_create(struct sp_ctx *ctx, const struct sp_article_input *in,
                             const char *actor, struct sp_article *out, struct sp_problem *p);
/* SP_NOT_FOUND; SP_PRECONDITION when in->if_match does not hold the version;
 * 409 slug_taken. A change of markdown renders it again; publishing a
 * draft sets published_at (again, after an unpublish). */
enum sp_rc sp_article_patch(struct sp_ctx *ctx, long long id, const struct sp_article_input *in,
                            const char *actor, struct sp_article *out, struct sp_problem *p);
/* SP_NOT_FOUND; SP_PRECONDITION when if_match (any: none) does not hold the
 * version. */
enum sp_rc sp_article_delete(struct sp_ctx *ctx, long long id, struct sp_versions if_match,
                             struct sp_problem *p);
/* Any article by id, drafts included (admin); SP_NOT_FOUND. */
enum sp_rc sp_article_get(struct sp_ctx *ctx, long long id, struct sp_article *out,
                          struct sp_problem *p);
/* A published article by slug (public); SP_NOT_FOUND for drafts too. */
enum sp_rc sp_article_published(struct sp_ctx *ctx, const char *slug, struct sp_article *out,
                                struct sp_problem *p);
/* Renders markdown as an article would be, without storing anything (the
 * admin editor's preview): *html owned by the arena, or SP_INVALID with
 * the field error a save would get (too_complex). */
enum sp_rc sp_article_preview(struct sp_ctx *ctx, const char *markdown, size_t len,
                              const char **html, struct sp_problem *p);

enum sp_article_status { SP_ARTICLES_PUBLISHED, SP_ARTICLES_DRAFTS, SP_ARTICLES_ALL };

struct sp_article_filter {
    const char *q;             /* NULL: no search */
    const char *tag;           /* NULL: any */
    enum sp_article_status status;
    bool ranked;               /* public search: by relevance with snippets
                                * when q is given, else newest first; admin
                                * lists: newest id first */
    int limit;
    struct sp_cursor_key after;/* id 0: first page */
};

struct sp_article_page {
    struct sp_article *items;
    int n;
    bool more;
    struct sp_cursor_key next; /* when more */
    bool match_any;            /* ranked: the items' match is "any" */
};

/* One page of articles (list rows: no html or markdown). The cursor's
 * meaning depends on the order, so callers give each order its own
 * cursor kind (sp_article_cursor_kind). */
enum sp_rc sp_article_list(struct sp_ctx *ctx, const struct sp_article_filter *f,
                           struct sp_article_page *out, struct sp_problem *p);
const char *sp_article_cursor_kind(const struct sp_article_filter *f);

#endif
