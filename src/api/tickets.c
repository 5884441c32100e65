/*
 * tickets (api): the customer ticket endpoints of API.md §4, and the
 * categories a ticket may be filed under. Parses and validates input,
 * sanitizes message bodies, calls domain/tickets and renders the customer
 * view. Holds no SQL.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "api/views.h"
#include "core/arena.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/stamp_cache.h"
#include "domain/attachments.h"
#include "domain/categories.h"
#include "domain/chat_access.h"
#include "domain/chat_bus.h"
#include "domain/chat_convert.h"
#include "domain/chat_sessions.h"
#include "domain/ticket_subject.h"
#include "domain/tickets.h"

#define SP_METADATA_MAX 4096

/* --- input ------------------------------------------------------------ */

/* chat_session_id: the chatbot context (API.md §4) — a session of the
 * caller's, named in any case; returns its id (0 when absent) and its
 * canonical public id in *public_id, or -1 with a field error. */
static long long
chat_session(struct sp_req *r, const struct sp_field_value *chat, const char **public_id,
             struct sp_problem *p)
{
    *public_id = NULL;
    if (!chat->present)
        return 0;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_session s;
    struct sp_problem lookup;
    sp_problem_init(&lookup);
    const char *id = sp_api_public_id(r, chat->str);
    if (id == NULL || sp_chat_get(&ctx, id, r->principal.sub, &s, &lookup) != SP_OK) {
        if (lookup.rc != SP_OK && lookup.rc != SP_NOT_FOUND) {
            *p = lookup;
            return -1;
        }
        sp_problem_field(p, "chat_session_id", "unknown_session", "is not a chat session of yours");
        return -1;
    }
    *public_id = id;
    return s.id;
}

enum { F_SUBJECT, F_DESCRIPTION, F_CATEGORY, F_SOURCE, F_PROVIDER, F_BOOKING, F_CHAT,
       F_ATTACHMENTS, F_METADATA, F_COUNT };

static const struct sp_field_spec create_fields[F_COUNT] = {
    /* No length here: the limits of subject and booking_id are their
     * stored texts', without the blanks around them (sp_ticket_subject_max). */
    [F_SUBJECT] = {"subject", SP_FIELD_STRING, true, false, 1, 0, NULL},
    [F_DESCRIPTION] = {"description", SP_FIELD_STRING, true, false, 1, SP_TICKET_BODY_MAX, NULL},
    [F_CATEGORY] = {"category", SP_FIELD_STRING, false, true, 1, 120, NULL},
    [F_SOURCE] = {"source", SP_FIELD_ENUM, false, true, 0, 0, sp_source_names},
    [F_PROVIDER] = {"provider_id", SP_FIELD_INT, false, true, 1, INT64_MAX, NULL},
    [F_BOOKING] = {"booking_id", SP_FIELD_STRING, false, true, 1, 0, NULL},
    [F_CHAT] = {"chat_session_id", SP_FIELD_STRING, false, true, 1, 64, NULL},
    [F_ATTACHMENTS] = {"attachments", SP_FIELD_ARRAY, false, true, 0, SP_ATTACHMENTS_PER_MESSAGE,
                        NULL},
    [F_METADATA] = {"metadata", SP_FIELD_OBJECT, false, true, 0, SP_METADATA_MAX, NULL},
};

struct create_input {
    struct sp_ticket_new ticket;
    struct sp_api_attachments attachments;   /* for the first message */
    const char *chat;                        /* chat_session_id: its public id, or NULL */
    const char *chat_ticket;                 /* out: the ticket the chat now continues as */
    struct sp_chat_joins joins;              /* out: chats routed to the chat's agent */
};

static enum sp_rc
create_ticket(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
              struct sp_problem *p)
{
    struct create_input *in = input;
    struct sp_ctx ctx = sp_api_ctx(r);
    ctx.chat_joins = &in->joins;
    struct sp_ticket t;
    const struct sp_api_attachments *at = &in->attachments;
    in->chat_ticket = NULL;
    if (in->chat != NULL) {
        /* Linked to the chat, with its transcript, as a transfer links it (API.md §4). */
        if (sp_chat_ticket_create(&ctx, in->chat, &in->ticket, at->ids, at->n, &t, p) != SP_OK)
            return p->rc;
        in->chat_ticket = t.public_id;
    } else {
        if (sp_ticket_create(&ctx, &in->ticket, &t, p) != SP_OK)
            return p->rc;
        if (t.nmessages > 0 &&
            sp_attachments_attach(&ctx, sp_api_party(r), at->ids, at->n, t.messages[0].id,
                                  &t.messages[0].attachments_json, p) != SP_OK)
            return p->rc;
    }
    sp_view_ticket(r, body, &t, SP_VIEW_CUSTOMER);
    out->location = sp_arena_sprintf(r->arena, "/support/tickets/%s", t.public_id);
    out->version = t.version;
    return SP_OK;
}

enum sp_rc
sp_api_ticket_create(struct sp_req *r, struct sp_problem *p)
{
    /* API.md §1: every attempt counts, a malformed one and a replay too,
     * so every answer carries the RateLimit-* headers. */
    if (sp_api_ticket_rate_limit(r, SP_API_REPLAY_STORED, p) != SP_OK)
        return p->rc;
    struct sp_field_value v[F_COUNT];
    struct json_object *json = sp_api_read_fields(r, create_fields, F_COUNT, v, p);
    if (json == NULL)
        return p->rc;
    if (json_object_object_get_ex(json, "priority", NULL))
        sp_problem_field(p, "priority", "not_allowed",
                         "is set by the support team, not by customers");
    /* A field of the wrong shape does not hide the others' faults: the
     * fields that were read are checked on (the chat session, the
     * sanitized subject and description, the category), so one 422 lists
     * every field error (API.md §1). */
    struct sp_api_attachments attachments = sp_api_attachment_ids(r, &v[F_ATTACHMENTS], p);
    const char *chat = NULL;
    long long chat_id = chat_session(r, &v[F_CHAT], &chat, p);
    const char *subject = v[F_SUBJECT].present
                              ? sp_ticket_subject_max(r->arena, "subject", v[F_SUBJECT].str,
                                                      SP_TICKET_SUBJECT_MAX, p)
                              : NULL;
    const char *description =
        v[F_DESCRIPTION].present
            ? sp_api_body_html(r, "description", &v[F_DESCRIPTION], SP_TICKET_BODY_MAX, p)
            : NULL;
    /* One line of visible text, by a subject's rules: it is shown to
     * agents and sent in webhooks and mails (QA: "a\nb" was stored). */
    const char *booking = v[F_BOOKING].present
                              ? sp_ticket_subject_max(r->arena, "booking_id", v[F_BOOKING].str,
                                                      SP_TICKET_BOOKING_MAX, p)
                              : NULL;
    sp_api_category_with_errors(r, &v[F_CATEGORY], SP_CATEGORY_ACTIVE, p);
    sp_api_attachments_with_errors(r, &attachments, p);
    if (p->rc != SP_OK)
        return p->rc;

    struct create_input in = {.attachments = attachments,
                              .chat = chat_id > 0 ? chat : NULL};
    in.ticket = (struct sp_ticket_new){
        .customer_id = r->principal.sub,
        .subject = subject,
        .description = description,
        .category_slug = v[F_CATEGORY].present ? v[F_CATEGORY].str : NULL,
        .source = chat_id > 0                ? SP_SOURCE_CHAT
                  : v[F_SOURCE].present ? (enum sp_source)v[F_SOURCE].i
                                        : SP_SOURCE_WEB,
        .provider_id = v[F_PROVIDER].present
                           ? sp_arena_sprintf(r->arena, "%lld", v[F_PROVIDER].i) : NULL,
        .booking_id = booking,
        .metadata_json = v[F_METADATA].present ? sp_json_compact(v[F_METADATA].obj, NULL) : NULL,
        .tier = r->principal.tier,
        .tier_stored = !r->principal.tier_claimed,
        .chat_session_id = chat_id > 0 ? chat_id : 0,
        .contact = sp_api_caller_contact(r),
    };
    if (sp_api_create(r, create_ticket, &in, p) != SP_OK) {
        /* The write's own lookups (category, chat) refused a well-formed
         * body before its attachments were reached: they join that 422. */
        sp_api_attachments_with_errors(r, &attachments, p);
        return p->rc;
    }
    /* The chat's subscribers hear where it continues, after the commit. */
    if (in.chat_ticket != NULL)
        sp_api_chat_became_ticket(r, in.chat, in.chat_ticket, &in.joins);
    return SP_OK;
}

/* The customer's tickets, newest first: rendered by sp_view_ticket_page. */
static const struct sp_api_list ticket_list = {"t", 25, sizeof(struct sp_ticket), NULL};

/* The list's filters (API.md §4 "The ticket list"); its paging is
 * ticket_list's. booking_id is judged as the create judges it, on the
 * trimmed text (list_booking). */
enum { LF_STATUS, LF_BOOKING, LF_COUNT };
static const struct sp_query_spec list_filters[LF_COUNT] = {
    [LF_STATUS] = {"status", SP_QUERY_SET, 0, 0, 0, NULL, sp_api_parse_status, NULL, NULL,
                   "must be a comma list of open, in_progress, pending_customer, resolved, closed",
                   false},
    [LF_BOOKING] = {"booking_id", SP_QUERY_STRING, 1, 0, 0, NULL, NULL, NULL, NULL,
                    "must be a booking id: one line of at most 64 characters", false},
};

/* ?booking_id= as the create reads a booking_id (one line of visible
 * text, trimmed, at most 64 characters), so a filter finds what a create
 * stored; a refusal is the query's field error, with the create's code
 * and message. NULL: absent, or refused (p filled). */
static const char *
list_booking(struct sp_req *r, const struct sp_query_value *q, struct sp_problem *p)
{
    if (!q->present)
        return NULL;
    struct sp_problem body;
    sp_problem_init(&body);
    const char *booking = sp_ticket_subject_max(r->arena, "booking_id", q->str,
                                                SP_TICKET_BOOKING_MAX, &body);
    if (booking == NULL && body.nerrors > 0)
        sp_problem_query_field(p, "booking_id", body.errors[0].code, body.errors[0].message);
    return booking;
}

enum sp_rc
sp_api_ticket_list(struct sp_req *r, struct sp_problem *p)
{
    struct sp_query_value q[LF_COUNT];
    struct sp_api_page at;
    if (sp_api_page_query(r, &ticket_list, list_filters, LF_COUNT, q, &at, p) != SP_OK)
        return p->rc;
    const char *booking = list_booking(r, &q[LF_BOOKING], p);
    if (p->rc != SP_OK)
        return p->rc;
    bool statuses[SP_STATUS_MAX];
    sp_api_set_flags(q[LF_STATUS].set, statuses, SP_STATUS_MAX);
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_ticket_page page;
    if (sp_ticket_list_for_customer(&ctx, r->principal.sub,
                                    q[LF_STATUS].present ? statuses : NULL, booking, at.after,
                                    at.limit, &page, p) != SP_OK)
        return p->rc;
    const char *next = sp_api_next_cursor(r, at.scope, ticket_list.kind, page.next_before);
    sp_resp_json(r, 200,
                 sp_view_ticket_page(r, page.items, page.n, SP_VIEW_CUSTOMER_SUMMARY, next));
    return SP_OK;
}

/* A malformed public id cannot name a ticket: 404 without a query. Any
 * case names it; *out is the canonical form. */
static enum sp_rc
public_id_param(struct sp_req *r, const char **out, struct sp_problem *p)
{
    *out = sp_api_public_id(r, r->params[0]);
    if (*out == NULL)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such ticket");
    return SP_OK;
}

/* The customer's ticket view is what customers poll for replies. A worker
 * keeps its renderings (SUPPORT_TICKET_VIEW_CACHE) and, when it has one,
 * asks the database only for the ticket's stamp (version and category
 * slug: one index lookup) instead of the ticket and its messages. Every
 * read still goes to the database, so a reply committed by any process
 * is seen at once; a cached view is only ever the current one (but for
 * an agent's renamed sender_name, which waits for the ticket's next
 * change: docs/API.md §4 "Who answered"). */
enum sp_rc
sp_api_ticket_get(struct sp_req *r, struct sp_problem *p)
{
    const char *public_id;
    if (public_id_param(r, &public_id, p) != SP_OK)
        return p->rc;
    struct sp_query_value q[SP_API_MESSAGES_COUNT];
    if (sp_query_read(r, sp_api_messages_query, SP_API_MESSAGES_COUNT, q, p) != SP_OK)
        return p->rc;
    int limit = (int)q[SP_API_MESSAGES_LIMIT].i;
    long long after = q[SP_API_MESSAGES_CURSOR].i;
    struct sp_ctx ctx = sp_api_ctx(r);
    const struct sp_app *app = r->env->app;
    struct sp_stamp_cache *views = app->ticket_views;
    const char *key = sp_arena_sprintf(r->arena, "%s|%s|%lld|%d", public_id, r->principal.sub,
                                       after, limit);
    struct sp_stamped cached;
    if (sp_stamp_cache_find(views, key, &cached)) {
        struct sp_ticket_stamp now;
        if (sp_ticket_stamp_for_customer(&ctx, public_id, r->principal.sub, &now, p) != SP_OK)
            return p->rc;
        if (sp_stamped_matches(&cached, now.version, now.category)) {
            const char *etag = sp_api_ticket_etag(r, cached.version, cached.value, cached.len);
            if (!sp_api_not_modified(r, etag))
                sp_resp_send(r, 200, "application/json; charset=utf-8", cached.value,
                             cached.len);
            return SP_OK;
        }
    }
    struct sp_ticket t;
    if (sp_ticket_get_for_customer(&ctx, public_id, r->principal.sub, after, limit, &t, p) != SP_OK)
        return p->rc;
    const struct sp_buf *b = sp_view_ticket_answer(r, 200, &t, SP_VIEW_CUSTOMER);
    sp_stamp_cache_put(views, key, t.version, t.category, b->data, b->len);
    return SP_OK;
}

/* POST …/:publicId/resolve: the customer marks the ticket solved; the
 * answer is the ticket as GET shows it (first page of messages). */
enum sp_rc
sp_api_ticket_resolve(struct sp_req *r, struct sp_problem *p)
{
    const char *public_id;
    if (public_id_param(r, &public_id, p) != SP_OK)
        return p->rc;
    struct sp_versions if_match;
    if (sp_api_if_match(r, 0, &if_match, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_ticket t;
    if (sp_ticket_customer_resolve(&ctx, public_id, r->principal.sub, if_match, p) != SP_OK ||
        sp_ticket_get_for_customer(&ctx, public_id, r->principal.sub, 0,
                                   (int)sp_api_messages_query[SP_API_MESSAGES_LIMIT].def, &t,
                                   p) != SP_OK)
        return p->rc;
    sp_view_ticket_answer(r, 200, &t, SP_VIEW_CUSTOMER);
    return SP_OK;
}

enum { R_BODY, R_ATTACHMENTS, R_COUNT };

static const struct sp_field_spec reply_fields[R_COUNT] = {
    [R_BODY] = {"body", SP_FIELD_STRING, true, false, 1, SP_TICKET_BODY_MAX, NULL},
    [R_ATTACHMENTS] = {"attachments", SP_FIELD_ARRAY, false, true, 0, SP_ATTACHMENTS_PER_MESSAGE,
                        NULL},
};

struct reply_input {
    const char *public_id;
    struct sp_versions if_match;   /* If-Match, checked where the ticket is locked */
    const char *body;
    struct sp_api_attachments attachments;
};

static enum sp_rc
create_reply(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
             struct sp_problem *p)
{
    (void)out;
    const struct reply_input *in = input;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_message m;
    if (sp_ticket_customer_reply(&ctx, in->public_id, r->principal.sub, in->if_match, in->body,
                                 &m, p) != SP_OK ||
        sp_attachments_attach(&ctx, sp_api_party(r), in->attachments.ids, in->attachments.n,
                              m.id, &m.attachments_json, p) != SP_OK)
        return p->rc;
    sp_view_message(body, &m, false);
    return SP_OK;
}

enum sp_rc
sp_api_ticket_reply(struct sp_req *r, struct sp_problem *p)
{
    /* API.md §1: every attempt counts, as a create's does (a refused one
     * and a replay too), so every answer carries the RateLimit-* headers. */
    if (sp_api_ticket_reply_rate_limit(r, SP_API_REPLAY_STORED, p) != SP_OK)
        return p->rc;
    struct reply_input in;
    if (public_id_param(r, &in.public_id, p) != SP_OK)
        return p->rc;
    struct sp_field_value v[R_COUNT];
    if (sp_api_read_fields(r, reply_fields, R_COUNT, v, p) == NULL)
        return p->rc;
    /* The body's sanitizer fault comes with the other fields' (API.md §1). */
    in.attachments = sp_api_attachment_ids(r, &v[R_ATTACHMENTS], p);
    in.body = v[R_BODY].present
                  ? sp_api_body_html(r, "body", &v[R_BODY], SP_TICKET_BODY_MAX, p)
                  : NULL;
    sp_api_attachments_with_errors(r, &in.attachments, p);
    if (p->rc != SP_OK || sp_api_if_match(r, 0, &in.if_match, p) != SP_OK)
        return p->rc;
    return sp_api_create(r, create_reply, &in, p);
}

/* --- categories ---------------------------------------------------------- */

/* The same for every caller, but only for authenticated ones: a browser
 * may keep it a minute, no shared cache may. */
#define CATEGORIES_CACHE "private, max-age=60"

static void
write_category(struct sp_jw *w, const void *item)
{
    const struct sp_category_entry *c = item;
    sp_jw_object(w);
    sp_jw_kstr(w, "slug", c->slug);
    sp_jw_kstr(w, "name", c->name);
    sp_jw_kstr(w, "description", c->description);
    sp_jw_end(w);
}

/* GET /support/categories: the active categories a ticket or chat may
 * name, whole (a handful), with an ETag of the body: an admin's rename
 * or deactivation changes it, so a revalidation never keeps a stale one. */
enum sp_rc
sp_api_categories_list(struct sp_req *r, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_category_entry *items;
    size_t n;
    if (sp_category_list_active(&ctx, &items, &n, p) != SP_OK)
        return p->rc;
    struct sp_buf *b = sp_api_list_render(r, items, n, sizeof(*items), write_category, NULL);
    const char *etag = sp_api_body_etag(r, b);
    sp_resp_header(r, "Cache-Control", CATEGORIES_CACHE);
    if (!sp_api_not_modified(r, etag))
        sp_resp_json(r, 200, b);
    return SP_OK;
}
