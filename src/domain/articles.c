/*
 * articles: the knowledge base's rules and SQL. See articles.h.
 *
 * Search: support_search_query (websearch syntax; accents folded, CJK text
 * as character pairs: sql/055) over the weighted tsvector (title A, body
 * B), or, when no article holds every word, any of them but the
 * question-frame words (sql/088, ranked_stmt); relevance is ts_rank_cd
 * normalized to 0..1 (flag 32) and paged as an integer key (rank × 10⁹,
 * then id), so a cursor compares exactly.
 * Snippets come from ts_headline over the first SNIPPET_SOURCE characters
 * of the plain text only, and only for the rows the page shows: headline
 * work grows with the text it reads (~0.5 ms per row on 2 000 characters).
 * ts_headline marks matches with \x01/\x02 (never in stored text: the
 * renderer replaces control characters) and parts fragments by \x05;
 * domain/article_snippet makes the HTML (escaped, marks as <mark>,
 * " … " between fragments) and marks CJK matches, which ts_headline
 * cannot (its parser reads a CJK run as one word), from q and the text
 * the headline was cut from: no second statement. It reads the text
 * with '<' and '>' as \x03/\x04, which its parser takes for blanks, as
 * the index reads them as spaces (support_plain_tsvector, sql/051): with
 * the brackets the parser takes a code span's "<script>" for a tag,
 * whose word is found but never marked (a tag shows as a space). The
 * brackets come back escaped, one right outside a fragment too
 * ("&lt;<mark>script</mark>&gt;", not "<mark>script</mark>&gt;").
 * The text is read without its format characters, as the index reads it
 * (support_format_stripped, sql/078): "Pro\u00adcessing" is one word,
 * found and marked.
 */
#include "domain/articles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/ascii.h"
#include "core/buf.h"
#include "core/embed.h"
#include "core/json_writer.h"
#include "core/markdown.h"
#include "core/utf8.h"
#include "db/db.h"
#include "domain/ai_chunks.h"
#include "domain/article_snippet.h"
#include "domain/ticket_subject.h"

#define SNIPPET_SOURCE "1000"
#define RANK_SCALE 1000000000.0

/* The list row; the full row adds html and markdown after it. */
#define ARTICLE_COLUMNS(C, SEP)                                                              \
    C(AC_ID, "a.id", int, id) SEP C(AC_SLUG, "a.slug", str, slug)                            \
    SEP C(AC_TITLE, "a.title", str, title)                                                   \
    SEP C(AC_TAGS, "array_to_json(a.tags)", str, tags_json)                                  \
    SEP C(AC_SUMMARY, "coalesce(a.summary, '')", str, summary)                               \
    SEP C(AC_IS_PUBLISHED, "a.is_published", bool, is_published)                             \
    SEP C(AC_PUBLISHED_AT, "support_ts(a.published_at)", str, published_at)                  \
    SEP C(AC_CREATED_AT, "support_ts(a.created_at)", str, created_at)                        \
    SEP C(AC_UPDATED_AT, "support_ts(a.updated_at)", str, updated_at)                        \
    SEP C(AC_VERSION, "a.version", int, version)
#define ARTICLE_BODY_COLUMNS(C, SEP)                                                         \
    C(AC_HTML, "a.content_html", str, html) SEP C(AC_MARKDOWN, "a.content_markdown", str, markdown)
#define ARTICLE_COLS ARTICLE_COLUMNS(SP_COL_SQL, ", ")
#define ARTICLE_FULL_COLS ARTICLE_COLS ", " ARTICLE_BODY_COLUMNS(SP_COL_SQL, ", ")
enum article_column { ARTICLE_COLUMNS(SP_COL_ENUM, ) ARTICLE_BODY_COLUMNS(SP_COL_ENUM, ) };

/* Where the next published-newest page starts: (published_at, id) in
 * microseconds, exact (extract() is numeric since PostgreSQL 14). */
#define PUBLISHED_KEY "(extract(epoch FROM a.published_at) * 1000000)::bigint"
#define PUBLISHED_AFTER "'epoch'::timestamptz + :after_key::bigint * interval '1 microsecond'"

/* --- writes ---------------------------------------------------------------- */

enum { WP_ID, WP_SLUG, WP_TITLE, WP_MARKDOWN, WP_HTML, WP_SUMMARY, WP_TEXT, WP_TAGS,
       WP_PUBLISH, WP_IF_MATCH, WP_ACTOR, WP_COUNT };
static const char *const write_names[WP_COUNT + 1] = {
    [WP_ID] = "id", [WP_SLUG] = "slug", [WP_TITLE] = "title", [WP_MARKDOWN] = "markdown",
    [WP_HTML] = "html", [WP_SUMMARY] = "summary", [WP_TEXT] = "text", [WP_TAGS] = "tags",
    [WP_PUBLISH] = "publish", [WP_IF_MATCH] = "if_match", [WP_ACTOR] = "actor", NULL};

/* A published article saved: the AI's chunks of it are made from an
 * older text, or there are none yet, and retrieval leaves them out
 * (domain/ai_retrieval.c) until knowledge-embedding-sync has run; the
 * notification (sent at commit) starts its pass now when it runs as a
 * loop. An extra column after the article's. */
#define SYNC_NOW                                                                             \
    "CASE WHEN a.is_published THEN pg_notify('" SP_AI_SYNC_CHANNEL "', a.id::text) END"

static struct sp_stmt create_stmt = SP_STMT_NAMED(
    "article_create",
    "INSERT INTO support_knowledge_articles AS a (slug, title, content_markdown, content_html,"
    " summary, content_text, tags, is_published, published_at, created_by, updated_by)"
    " VALUES (:slug, :title, :markdown, :html, :summary, :text, coalesce(:tags::text[], '{}'),"
    " coalesce(:publish::boolean, false), CASE WHEN :publish::boolean THEN now() END,"
    " :actor, :actor)"
    " RETURNING " ARTICLE_FULL_COLS ", " SYNC_NOW,
    write_names, WP_COUNT);

/* Unset parameters (NULL) keep the column; version counts every patch
 * that changes something. One that changes nothing updates no row (as a
 * ticket's or a webhook's): the version, updated_at and the embeddings
 * built for this version stay. The markdown decides the text and summary;
 * its html, text and summary are compared too, so a re-render by a newer
 * sanitizer or renderer is kept (a table's text without pipes, whose HTML
 * is as it was: the same markdown saved again updates the row).
 * A patch that leaves the title and markdown as they were (tags, slug,
 * publishing) moves the chunks made from them (sp_ai_split reads nothing
 * else, through the renderer: a text rendered anew is cut anew) to the
 * new version, so retrieval, which uses only the current
 * version's chunks, keeps answering from them without waiting for the
 * sync job. o is read in the statement's snapshot: its version, title and
 * markdown are of one moment, so its version's chunks are of its text,
 * whatever patch commits in between. */
static struct sp_stmt patch_stmt = SP_STMT_NAMED(
    "article_patch",
    "WITH o AS (SELECT id, version, title, content_markdown, content_text"
    "           FROM support_knowledge_articles"
    "           WHERE id = :id::bigint),"
    " u AS (UPDATE support_knowledge_articles AS a SET"
    " slug = coalesce(:slug, a.slug), title = coalesce(:title, a.title),"
    " content_markdown = coalesce(:markdown, a.content_markdown),"
    " content_html = coalesce(:html, a.content_html),"
    " summary = coalesce(:summary, a.summary),"
    " content_text = coalesce(:text, a.content_text),"
    " tags = coalesce(:tags::text[], a.tags),"
    " is_published = coalesce(:publish::boolean, a.is_published),"
    " published_at = CASE WHEN :publish::boolean AND NOT a.is_published THEN now()"
    "                ELSE a.published_at END,"
    " version = a.version + 1, updated_at = now(), updated_by = :actor"
    " FROM o WHERE a.id = o.id"
    " AND (:if_match::integer[] IS NULL OR a.version = ANY(:if_match::integer[]))"
    " AND (coalesce(:slug, a.slug), coalesce(:title, a.title),"
    "      coalesce(:markdown, a.content_markdown), coalesce(:html, a.content_html),"
    "      coalesce(:tags::text[], a.tags), coalesce(:publish::boolean, a.is_published),"
    "      coalesce(:text, a.content_text), coalesce(:summary, a.summary))"
    "     IS DISTINCT FROM (a.slug, a.title, a.content_markdown, a.content_html, a.tags,"
    "      a.is_published, a.content_text, a.summary)"
    " RETURNING a.id, a.slug, a.title, a.tags, a.summary, a.is_published, a.published_at,"
    "  a.created_at, a.updated_at, a.version, a.content_html, a.content_markdown,"
    "  o.version AS old_version,"
    "  (a.title, a.content_markdown, a.content_text) ="
    "  (o.title, o.content_markdown, o.content_text) AS same_text),"
    " s AS (UPDATE support_article_chunks c SET article_version = u.version FROM u"
    "       WHERE c.article_id = u.id AND c.article_version = u.old_version AND u.same_text)"
    " SELECT " ARTICLE_FULL_COLS ", " SYNC_NOW " FROM u a",
    write_names, WP_COUNT);

static struct sp_stmt delete_stmt = SP_STMT(
    "article_delete",
    "DELETE FROM support_knowledge_articles"
    " WHERE id = $1::bigint AND ($2::integer[] IS NULL OR version = ANY($2::integer[]))",
    2);

static struct sp_stmt get_stmt = SP_STMT_READ(
    "article_get",
    "SELECT " ARTICLE_FULL_COLS " FROM support_knowledge_articles a WHERE a.id = $1::bigint", 1);

static struct sp_stmt published_stmt = SP_STMT_READ(
    "article_published",
    "SELECT " ARTICLE_FULL_COLS " FROM support_knowledge_articles a"
    " WHERE a.slug = $1 AND a.is_published",
    1);

bool
sp_article_tag_ok(const char *tag)
{
    return sp_ascii_slug(tag, SP_ARTICLE_TAG_MAX);
}

static const struct sp_list_rule tags_rule = {
    .field = "tags",
    .max = SP_ARTICLE_TAGS_MAX,
    .ok = sp_article_tag_ok,
    .items = "tags",
    .bad_code = "invalid",
    .bad = "must be 1 to 40 characters: " SP_ASCII_SLUG_RULE,
    .duplicate = "a tag is listed twice (in upper or lower case)",
};

/* The tags as stored (A-Z in lower case, as the form and the JSON API
 * both give them, so "Help" and "help" are one tag), each checked with its
 * index (tags[i]). */
static void
check_tags(struct sp_arena *a, struct sp_article_input *in, struct sp_problem *p)
{
    const char **tags = sp_arena_calloc(a, in->ntags + 1, sizeof(*tags));
    for (size_t i = 0; i < in->ntags; i++)   /* NULL: one with a NUL, refused below */
        tags[i] = in->tags[i] != NULL ? sp_ascii_lower(sp_arena_strdup(a, in->tags[i])) : NULL;
    in->tags = tags;
    sp_problem_check_items(p, a, &tags_rule, tags, in->ntags);
}

/* The title as stored: one line, as a ticket's subject (it is joined
 * into the lines of chat answers and transcripts), trimmed, at most
 * SP_ARTICLE_TITLE_MAX characters; NULL with its field error. */
static const char *
title_of(struct sp_arena *a, const char *title, struct sp_problem *p)
{
    return sp_ticket_subject_max(a, "title", title, SP_ARTICLE_TITLE_MAX, p);
}

enum sp_rc
sp_article_check(struct sp_arena *a, struct sp_article_input *in, bool create,
                 struct sp_problem *p)
{
    if (in->slug == NULL ? create : !sp_ascii_slug(in->slug, SP_ARTICLE_SLUG_MAX))
        sp_problem_field(p, "slug", in->slug ? "invalid" : "required",
                         in->slug ? "must be 1 to 120 characters: " SP_ASCII_SLUG_RULE
                                  : "is required");
    if (in->title != NULL)
        in->title = title_of(a, in->title, p);
    else if (create)
        sp_problem_field(p, "title", "required", "is required");
    /* Line ends as LF whichever way the markdown comes (a browser's form
     * sends CR LF, a JSON client may): the stored text compares equal to
     * the same text sent another way, so saving it unchanged is no new
     * version (and no new embedding). */
    if (in->markdown != NULL && memchr(in->markdown, '\r', in->markdown_len) != NULL) {
        in->markdown = sp_utf8_clean(a, in->markdown, in->markdown_len, SP_UTF8_TEXT);
        in->markdown_len = strlen(in->markdown);
    }
    if (in->markdown == NULL && create)
        sp_problem_field(p, "content_markdown", "required", "is required");
    else if (in->markdown != NULL && in->markdown_len > SP_ARTICLE_MARKDOWN_MAX)
        sp_problem_field(p, "content_markdown", "too_long", SP_ARTICLE_MARKDOWN_TOO_LONG);
    if (in->tags_set)
        check_tags(a, in, p);
    return p->nerrors > 0 ? sp_problem_set(p, SP_INVALID, "validation_failed",
                                           SP_PROBLEM_BODY_DETAIL)
                          : SP_OK;
}

static void
read_article(const PGresult *r, int row, bool full, struct sp_article *out)
{
    const int col = 0;
    *out = (struct sp_article){0};
    ARTICLE_COLUMNS(SP_COL_READ, )
    if (full) {
        ARTICLE_BODY_COLUMNS(SP_COL_READ, )
    }
}

/* The markdown's refusal (core/markdown: nesting, table cells) as the
 * field error of content_markdown. */
static enum sp_rc
markdown_refused(struct sp_ctx *ctx, const struct sp_markdown *m, struct sp_problem *p)
{
    sp_problem_field(p, "content_markdown", "too_complex",
                     sp_arena_sprintf(ctx->arena, "the markdown %s", m->refused));
    return sp_problem_set(p, SP_INVALID, "validation_failed", SP_PROBLEM_BODY_DETAIL);
}

/* The statement parameters of in, markdown rendered when it is given;
 * SP_INVALID when the renderer refuses it. */
static enum sp_rc
write_params(struct sp_ctx *ctx, const struct sp_article_input *in, const char *actor,
             const char *params[WP_COUNT], struct sp_problem *p)
{
    params[WP_SLUG] = in->slug;
    params[WP_TITLE] = in->title;
    params[WP_TAGS] = in->tags_set ? sp_db_text_array(ctx->arena, in->tags, in->ntags) : NULL;
    params[WP_PUBLISH] = in->publish < 0 ? NULL : in->publish ? "true" : "false";
    params[WP_IF_MATCH] = sp_versions_param(ctx->arena, in->if_match);
    params[WP_ACTOR] = actor;
    if (in->markdown == NULL)
        return SP_OK;
    struct sp_markdown m;
    if (!sp_markdown_render(ctx->arena, in->markdown, in->markdown_len, &m))
        return markdown_refused(ctx, &m, p);
    params[WP_MARKDOWN] = sp_arena_strndup(ctx->arena, in->markdown, in->markdown_len);
    params[WP_HTML] = m.html;
    params[WP_SUMMARY] = m.summary;
    params[WP_TEXT] = m.text;
    return SP_OK;
}

/* A unique violation can only be the slug. */
static enum sp_rc
write_failed(struct sp_problem *p)
{
    if (p->rc == SP_CONFLICT)
        return sp_problem_set(p, SP_CONFLICT, "slug_taken", "another article has this slug");
    return p->rc;
}

enum sp_rc
sp_article_create(struct sp_ctx *ctx, const struct sp_article_input *in, const char *actor,
                  struct sp_article *out, struct sp_problem *p)
{
    const char *params[WP_COUNT] = {0};
    struct sp_article_input v = *in;
    if (sp_article_check(ctx->arena, &v, true, p) != SP_OK ||
        write_params(ctx, &v, actor, params, p) != SP_OK)
        return p->rc;
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &create_stmt, params, p);
    if (r == NULL)
        return write_failed(p);
    read_article(r, 0, true, out);
    return SP_OK;
}

static enum sp_rc
get_one(struct sp_ctx *ctx, struct sp_stmt *st, const char *param, struct sp_article *out,
        struct sp_problem *p)
{
    const char *params[1] = {param};
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, st, params, p);
    if (sp_db_found(r, "article", p) != SP_OK)
        return p->rc;
    read_article(r, 0, true, out);
    return SP_OK;
}

static enum sp_rc
stale(struct sp_ctx *ctx, long long version, struct sp_versions if_match, struct sp_problem *p)
{
    return sp_problem_set(p, SP_PRECONDITION, "precondition_failed",
                          "the article is at version %lld, not %s", version,
                          sp_versions_text(ctx->arena, if_match));
}

/* A patch or a delete changed no row: the article is gone (404), at
 * another version than If-Match (412), or — a patch's — as the patch
 * would leave it: then it is the answer, unchanged. */
static enum sp_rc
unchanged(struct sp_ctx *ctx, const char *id, struct sp_versions if_match, struct sp_article *out,
          struct sp_problem *p)
{
    if (get_one(ctx, &get_stmt, id, out, p) != SP_OK)
        return p->rc;
    if (!sp_versions_hold(if_match, out->version))
        return stale(ctx, out->version, if_match, p);
    return SP_OK;
}

enum sp_rc
sp_article_patch(struct sp_ctx *ctx, long long id, const struct sp_article_input *in,
                 const char *actor, struct sp_article *out, struct sp_problem *p)
{
    const char *params[WP_COUNT] = {0};
    struct sp_article_input v = *in;
    if (sp_article_check(ctx->arena, &v, false, p) != SP_OK ||
        write_params(ctx, &v, actor, params, p) != SP_OK)
        return p->rc;
    params[WP_ID] = sp_arena_sprintf(ctx->arena, "%lld", id);
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, &patch_stmt, params, p);
    if (r == NULL)
        return write_failed(p);
    if (PQntuples(r) == 0)
        return unchanged(ctx, params[WP_ID], in->if_match, out, p);
    read_article(r, 0, true, out);
    return SP_OK;
}

enum sp_rc
sp_article_delete(struct sp_ctx *ctx, long long id, struct sp_versions if_match,
                  struct sp_problem *p)
{
    PGresult *r = sp_db_exec_id_at(ctx->db, ctx->arena, &delete_stmt, id, if_match, p);
    if (r == NULL)
        return p->rc;
    if (strcmp(PQcmdTuples(r), "0") != 0)
        return SP_OK;
    /* Ids are never reused and versions only grow, so the article read
     * now is never one the delete matched; but If-Match may list a later
     * version it reached meanwhile (RFC 9110: any listed tag): still 412,
     * never SP_OK for an article not deleted. */
    struct sp_article now;
    if (unchanged(ctx, sp_arena_sprintf(ctx->arena, "%lld", id), if_match, &now, p) != SP_OK)
        return p->rc;
    return stale(ctx, (long long)now.version, if_match, p);
}

enum sp_rc
sp_article_get(struct sp_ctx *ctx, long long id, struct sp_article *out, struct sp_problem *p)
{
    return get_one(ctx, &get_stmt, sp_arena_sprintf(ctx->arena, "%lld", id), out, p);
}

enum sp_rc
sp_article_published(struct sp_ctx *ctx, const char *slug, struct sp_article *out,
                     struct sp_problem *p)
{
    /* The characters a slug has ever had: one saved before slugs were
     * words joined by single '-' ("a--b") is still read. */
    size_t n = strlen(slug);
    if (n == 0 || n > SP_ARTICLE_SLUG_MAX ||
        !sp_ascii_only(slug, n, "abcdefghijklmnopqrstuvwxyz0123456789-"))
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such article");
    return get_one(ctx, &published_stmt, slug, out, p);
}

enum sp_rc
sp_article_preview(struct sp_ctx *ctx, const char *markdown, size_t len, const char **html,
                   struct sp_problem *p)
{
    struct sp_markdown m;
    if (!sp_markdown_render(ctx->arena, markdown, len, &m))
        return markdown_refused(ctx, &m, p);
    *html = m.html;
    return SP_OK;
}

/* --- lists ----------------------------------------------------------------- */

enum { LP_Q, LP_TAG, LP_STATUS, LP_AFTER_KEY, LP_AFTER_ID, LP_LIMIT, LP_FRAMES, LP_COUNT };
static const char *const list_names[LP_COUNT + 1] = {
    [LP_Q] = "q", [LP_TAG] = "tag", [LP_STATUS] = "status", [LP_AFTER_KEY] = "after_key",
    [LP_AFTER_ID] = "after_id", [LP_LIMIT] = "limit", [LP_FRAMES] = "frames", NULL};

/* The list rows of the statements without a search: no snippet. */
#define NO_SNIPPET "NULL::text AS snippet, NULL::text AS snippet_source"

#define TAG_MATCHES " (:tag::text IS NULL OR a.tags @> ARRAY[:tag::text])"

/* Published, newest first. */
static struct sp_stmt newest_stmt = SP_STMT_NAMED(
    "article_newest",
    "SELECT " ARTICLE_COLS ", " PUBLISHED_KEY " AS key, " NO_SNIPPET
    " FROM support_knowledge_articles a"
    " WHERE a.is_published AND" TAG_MATCHES
    "  AND (:after_id::bigint IS NULL OR (a.published_at, a.id) < (" PUBLISHED_AFTER
    ", :after_id::bigint))"
    " ORDER BY a.published_at DESC, a.id DESC LIMIT :limit::integer"
   ,
    list_names, LP_COUNT);

/* Published, by relevance to :q (support_article_ranked, sql/013);
 * snippets only for the rows the page shows, not the look-ahead row. A
 * :q that names nothing to look for (wordless_stmt) finds nothing here,
 * so that only an empty page needs to ask why.
 * When no article holds every word of :q (not on this page: at all),
 * any of its words is asked instead (sql/088: :frames, the question's
 * frame words, left out), ranked alike; match_any says so on each row.
 * The strict page comes first and the any-word one is run only when it
 * is empty and the strict query matches no article (one-time filters:
 * a search that finds something costs one probe of the strict query's
 * index more only on a page past its last hit). One statement, one
 * round trip either way; the snippet marks what the query used found. */
#define RANKED_PAGE(rel)                                                                     \
    " SELECT h.id, h.key FROM " rel ", support_article_ranked(" rel ".query, :tag,"          \
    "  :after_key::bigint, :after_id::bigint, :limit::integer) h"
static struct sp_stmt ranked_stmt = SP_STMT_NAMED(
    "article_ranked",
    "WITH s AS (SELECT support_search_query(:q) AS query),"
    " strict AS MATERIALIZED (" RANKED_PAGE("s") " WHERE NOT ''::tsvector @@ s.query),"
    " fallback AS (SELECT support_search_any_query(s.query, :frames::text[]) AS query FROM s"
    "  WHERE NOT EXISTS (SELECT 1 FROM strict) AND NOT EXISTS (SELECT 1"
    "   FROM support_knowledge_articles a WHERE a.is_published AND a.search @@ s.query AND"
    TAG_MATCHES ")),"
    " q AS (SELECT coalesce(f.query, s.query) AS query, f.query IS NOT NULL AS match_any"
    "  FROM s LEFT JOIN fallback f ON f.query <> s.query),"
    " hits AS (SELECT p.id, p.key, row_number() OVER (ORDER BY p.key DESC, p.id DESC) AS n"
    "  FROM (SELECT * FROM strict UNION ALL" RANKED_PAGE("q") " WHERE q.match_any) p)"
    " SELECT " ARTICLE_COLS ", hits.key, q.match_any,"
    "  ts_headline('support_text', t.source, q.query,"
    "   'StartSel=\"\x01\", StopSel=\"\x02\", MaxWords=30, MinWords=12, MaxFragments=2,"
    " FragmentDelimiter=\"\x05\"') AS snippet, t.source AS snippet_source"
    " FROM hits JOIN support_knowledge_articles a ON a.id = hits.id CROSS JOIN q"
    "  LEFT JOIN LATERAL (SELECT translate(support_format_stripped(left(a.content_text, "
    SNIPPET_SOURCE ")),"
    "   '<>', '\x03\x04') AS source WHERE hits.n < :limit::integer) t ON true"
    " ORDER BY hits.key DESC, hits.id DESC",
    list_names, LP_COUNT);

/* Whether :q names nothing to look for: a document without words
 * satisfies it (`-draft`, `refund or -draft`: negation only, in one
 * alternative at least), so it would list every other article at rank 0.
 * A query of stop words only is not one: it matches nothing. Asked when
 * the ranked page is empty, which it always is for such a :q. */
static struct sp_stmt wordless_stmt = SP_STMT_READ(
    "article_query_wordless", "SELECT ''::tsvector @@ support_search_query($1)", 1);

/* Admin: drafts too, newest id first, optionally matching :q — its
 * words, the last one as a prefix, or the slug's start (an admin looks
 * an article up by the slug in its URL, or half types a word): sql/064,
 * each side served by its index. */
static struct sp_stmt admin_stmt = SP_STMT_NAMED(
    "article_admin_list",
    "SELECT " ARTICLE_COLS ", a.id AS key, " NO_SNIPPET
    " FROM support_knowledge_articles a"
    " WHERE (:status = 'all' OR a.is_published = (:status = 'published')) AND" TAG_MATCHES
    "  AND (:q::text IS NULL OR a.search @@ support_search_prefix_query(:q)"
    "   OR (btrim(:q) <> '' AND a.slug COLLATE \"C\" >= lower(btrim(:q))"
    "       AND a.slug COLLATE \"C\" < lower(btrim(:q)) || '~'))"
    "  AND (:after_id::bigint IS NULL OR a.id < :after_id::bigint)"
    " ORDER BY a.id DESC LIMIT :limit::integer"
   ,
    list_names, LP_COUNT);

const char *
sp_article_cursor_kind(const struct sp_article_filter *f)
{
    if (!f->ranked)
        return "ka";
    return f->q != NULL ? "kr" : "kn";
}

static struct sp_stmt *
list_stmt(const struct sp_article_filter *f)
{
    if (!f->ranked)
        return &admin_stmt;
    return f->q != NULL ? &ranked_stmt : &newest_stmt;
}

static void
add_frame(const char *term, size_t len, void *arg)
{
    struct sp_buf *b = arg;
    sp_buf_puts(b, b->len > 1 ? ",\"" : "\"");   /* after '{': the first */
    sp_buf_append(b, term, len);
    sp_buf_putc(b, '"');
}

/* q's question-frame words as a text[] literal ({"take","long"}): the AI
 * retrieval's list (core/embed), which the any-word search leaves out as
 * retrieval does. Stems of a fixed list: no quote or backslash inside. */
static const char *
frames_param(struct sp_arena *a, const char *q)
{
    struct sp_buf b;
    sp_buf_init(&b, a, 64);
    sp_buf_putc(&b, '{');
    sp_embed_frame_terms(q, strlen(q), add_frame, &b);
    sp_buf_putc(&b, '}');
    return b.data;
}

static void
list_params(struct sp_arena *a, const struct sp_article_filter *f, const char *params[LP_COUNT])
{
    static const char *const status[] = {
        [SP_ARTICLES_PUBLISHED] = "published", [SP_ARTICLES_DRAFTS] = "draft",
        [SP_ARTICLES_ALL] = "all"};
    params[LP_Q] = f->q;
    params[LP_TAG] = f->tag;
    params[LP_STATUS] = status[f->status];
    params[LP_LIMIT] = sp_db_page_fetch(a, f->limit);
    params[LP_FRAMES] = f->q != NULL ? frames_param(a, f->q) : NULL;
    if (f->after.id == 0)
        return;
    params[LP_AFTER_ID] = sp_arena_sprintf(a, "%lld", f->after.id);
    params[LP_AFTER_KEY] = sp_arena_sprintf(a, "%lld", f->after.value);
}

enum sp_rc
sp_article_list(struct sp_ctx *ctx, const struct sp_article_filter *f,
                struct sp_article_page *out, struct sp_problem *p)
{
    const char *params[LP_COUNT] = {0};
    list_params(ctx->arena, f, params);
    PGresult *r = sp_db_exec(ctx->db, ctx->arena, list_stmt(f), params, p);
    if (r == NULL)
        return p->rc;
    if (PQntuples(r) == 0 && list_stmt(f) == &ranked_stmt) {
        const char *q[1] = {f->q};
        PGresult *w = sp_db_exec(ctx->db, ctx->arena, &wordless_stmt, q, p);
        if (w == NULL)
            return p->rc;
        if (sp_db_bool(w, 0, 0)) {
            sp_problem_query_field(p, "q", "no_search_term",
                                   "must name a word to find in each alternative: a negated "
                                   "word (-draft) only narrows a search (refund -draft)");
            return p->rc;
        }
    }
    long long next_id;
    out->n = sp_db_page(r, f->limit, "id", &next_id);
    out->more = next_id != 0;
    out->items = sp_arena_calloc(ctx->arena, (size_t)out->n + 1, sizeof(*out->items));
    int key = PQfnumber(r, "key"), snippet = PQfnumber(r, "snippet");
    int source = PQfnumber(r, "snippet_source"), any = PQfnumber(r, "match_any");
    out->match_any = out->n > 0 && any >= 0 && sp_db_bool(r, 0, any);
    for (int i = 0; i < out->n; i++) {
        read_article(r, i, false, &out->items[i]);
        out->items[i].snippet = sp_article_snippet_html(
            ctx->arena, sp_db_str(r, i, snippet), sp_db_str(r, i, source), f->q);
        out->items[i].rank = (double)sp_db_int(r, i, key) / RANK_SCALE;
        if (any >= 0)
            out->items[i].match = out->match_any ? "any" : "all";
    }
    if (out->more)
        out->next = (struct sp_cursor_key){true, sp_db_int(r, out->n - 1, key), next_id};
    return SP_OK;
}
