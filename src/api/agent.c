/*
 * agent (api): the agent endpoints of API.md §5.5 — queue, ticket view,
 * PATCH, replies and internal notes, claim, escalate, events, and the
 * caller's own agent record. Holds no SQL.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "api/views.h"
#include "core/arena.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/rfc3339.h"
#include "domain/agents.h"
#include "domain/attachments.h"
#include "domain/chat_access.h"
#include "domain/chat_sessions.h"
#include "domain/dashboard.h"
#include "domain/queue.h"
#include "domain/ticket_subject.h"
#include "domain/ticket_work.h"


static struct sp_actor
actor(const struct sp_req *r)
{
    struct sp_actor a = {"agent", r->principal.sub};
    return a;
}

/* Answers 200 with the agent view of ticket id (or public_id) and a page
 * of its messages, with its ETag. */
static enum sp_rc
respond_ticket(struct sp_req *r, long long id, const char *public_id,
               const struct sp_api_ticket_cursor *cursor, int limit, struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_ticket t;
    if (sp_ticket_get_for_agent(&ctx, id, public_id, cursor->after, limit, &t, p) != SP_OK ||
        sp_api_ticket_cursor_check("messages_cursor", cursor, t.id, p) != SP_OK)
        return p->rc;
    sp_view_ticket_answer(r, 200, &t, SP_VIEW_AGENT);
    return SP_OK;
}

/* The path's ticket: a numeric id or a public id. */
static void
ticket_ref(struct sp_req *r, struct sp_ticket_ref *ref)
{
    sp_ticket_ref_parse(r->arena, r->params[0], ref);
}

/* What a command on the path's ticket works with: the ticket's reference,
 * the caller as actor, and the ticket the command changed. */
struct command {
    struct sp_ctx ctx;
    struct sp_ticket_ref ref;
    struct sp_actor actor;
    long long id;
};

static struct command
command(struct sp_req *r)
{
    struct command c = {.ctx = sp_api_ctx(r), .actor = actor(r), .id = 0};
    ticket_ref(r, &c.ref);
    return c;
}

/* Answers a command: its problem, or the changed ticket (API.md §5.5). */
static enum sp_rc
command_done(struct sp_req *r, const struct command *c, enum sp_rc rc, struct sp_problem *p)
{
    static const struct sp_api_ticket_cursor first = {0, 0};
    return rc != SP_OK ? p->rc : respond_ticket(r, c->id, NULL, &first, 100, p);
}

/* --- queue -------------------------------------------------------------- */

static bool
parse_priority(const char *s, int *out)
{
    enum sp_priority pr = SP_PRIORITY_MAX;
    if (!sp_priority_parse(s, &pr))
        return false;
    *out = (int)pr;
    return true;
}

/* The queue's filters (API.md §5.5), one table. */
enum {
    QF_STATUS, QF_PRIORITY, QF_SLA, QF_CATEGORY, QF_ASSIGNED, QF_Q, QF_CUSTOMER_ID,
    QF_CUSTOMER_EMAIL, QF_CREATED_AFTER, QF_CREATED_BEFORE, QF_SORT, QF_LIMIT, QF_CURSOR,
    QF_COUNT
};

static const char *const sla_classes[] = {"breached", "due_soon", "ok", NULL};

static const struct sp_query_spec queue_query[QF_COUNT] = {
    [QF_STATUS] = {"status", SP_QUERY_SET, 0, 0, 0, NULL, sp_api_parse_status, NULL, NULL,
                   "must be a comma list of open, in_progress, pending_customer, resolved, closed"},
    [QF_PRIORITY] = {"priority", SP_QUERY_SET, 0, 0, 0, NULL, parse_priority, NULL, NULL,
                     "must be a comma list of low, normal, high, urgent"},
    [QF_SLA] = {"sla", SP_QUERY_SET, 0, 0, 0, sla_classes, NULL, NULL, NULL,
                "must be a comma list of breached, due_soon, ok"},
    [QF_CATEGORY] = {"category", SP_QUERY_LIST, 1, 120, 0, NULL, NULL,
                     "abcdefghijklmnopqrstuvwxyz0123456789-", NULL,
                     "must be a comma list of category slugs: 1 to 120 of a-z, 0-9 and -"},
    [QF_ASSIGNED] = {"assigned", SP_QUERY_STRING, 1, 18, 0, NULL, NULL, NULL, NULL,
                     "must be me, none, any or an agent id (a positive integer)"},
    [QF_Q] = {"q", SP_QUERY_STRING, 1, 500, 0, NULL, NULL, NULL, NULL,
              "must be 1 to 500 characters"},
    [QF_CUSTOMER_ID] = {"customer_id", SP_QUERY_STRING, 1, 64, 0, NULL, NULL, NULL, NULL,
                        "must be a user id: 1 to 64 characters of UTF-8"},
    [QF_CUSTOMER_EMAIL] = {"customer_email", SP_QUERY_STRING, 1, 0, 0, NULL, NULL, NULL, NULL,
                           "must be an email address in UTF-8, like name@example.com"},
    [QF_CREATED_AFTER] = {"created_after", SP_QUERY_TIMESTAMP, 0, 0, 0, NULL, NULL, NULL, NULL,
                          "must be an RFC 3339 timestamp"},
    [QF_CREATED_BEFORE] = {"created_before", SP_QUERY_TIMESTAMP, 0, 0, 0, NULL, NULL, NULL, NULL,
                           "must be an RFC 3339 timestamp"},
    [QF_SORT] = {"sort", SP_QUERY_ENUM, 0, 0, SP_SORT_SLA_DUE, sp_queue_sort_names, NULL, NULL,
                 NULL, "must be sla_due_at, -priority, created_at, -created_at, updated_at or"
                       " -updated_at"},
    [QF_LIMIT] = SP_API_LIMIT("limit", 25),
    /* The cursor's kind carries the sort (so it cannot be replayed on
     * another order): decoded once the sort is known. */
    [QF_CURSOR] = {"cursor", SP_QUERY_STRING, 1, 0, 0, NULL, NULL, NULL, NULL,
                   "is not a cursor returned by this list", .pages = true},
};

/* assigned=me|none|any|<agent id> (its text is already bounded). */
static void
queue_assigned(struct sp_req *r, const char *v, struct sp_queue_filter *f, struct sp_problem *p)
{
    if (strcmp(v, "none") == 0) {
        f->assigned = SP_ASSIGNED_NONE;
    } else if (strcmp(v, "any") == 0) {
        f->assigned = SP_ASSIGNED_ANY;
    } else if (strcmp(v, "me") == 0) {
        /* The caller's row exists: every agent request provisions it
         * before its handler (app.c, provision_agent). */
        f->assigned = SP_ASSIGNED_USER;
        f->assigned_user = r->principal.sub;
    } else if ((f->assigned_agent = sp_row_id_read(v)) > 0) {
        f->assigned = SP_ASSIGNED_AGENT;
    } else {
        sp_problem_query_field(p, "assigned", "invalid", queue_query[QF_ASSIGNED].message);
    }
}

/* The filter from the validated parameters; scope: its cursors'
 * (sp_query_scope: bound to the filters, q included). */
static enum sp_rc
queue_filter(struct sp_req *r, const struct sp_query_value *q, const char *scope,
             struct sp_queue_filter *f, struct sp_problem *p)
{
    memset(f, 0, sizeof(*f));
    uint64_t statuses = q[QF_STATUS].present
                            ? q[QF_STATUS].set
                            : (1u << SP_STATUS_OPEN) | (1u << SP_STATUS_IN_PROGRESS) |
                                  (1u << SP_STATUS_PENDING_CUSTOMER);
    sp_api_set_flags(statuses, f->statuses, SP_STATUS_MAX);
    sp_api_set_flags(q[QF_PRIORITY].set, f->priorities, SP_PRIORITY_MAX);
    f->sla_breached = q[QF_SLA].set & 1;
    f->sla_due_soon = (q[QF_SLA].set >> 1) & 1;
    f->sla_ok = (q[QF_SLA].set >> 2) & 1;
    f->categories = q[QF_CATEGORY].items;
    f->ncategories = q[QF_CATEGORY].nitems;
    /* category=, (only commas) names no slug: refused as status=, is,
     * not dropped, which would widen the answer (API.md §1); category=
     * is absent, as every empty parameter. */
    if (q[QF_CATEGORY].present && f->ncategories == 0)
        sp_problem_query_field(p, "category", "invalid", queue_query[QF_CATEGORY].message);
    if (q[QF_ASSIGNED].present)
        queue_assigned(r, q[QF_ASSIGNED].str, f, p);
    f->q = q[QF_Q].str;
    f->customer_id = q[QF_CUSTOMER_ID].str;
    if (q[QF_CUSTOMER_EMAIL].present) {
        const struct sp_app *app = r->env->app;
        const struct sp_crypto *c = app->crypto;
        const char *email = q[QF_CUSTOMER_EMAIL].str;
        const char **index = f->customer_email_index;
        f->ncustomer_email_index = c != NULL ? sp_crypto_email_indexes(c, r->arena, email, index)
                                             : 0;
        if (f->ncustomer_email_index == 0) {
            index[0] = "-";   /* matches nothing */
            f->ncustomer_email_index = 1;
        }
    }
    f->created_after = q[QF_CREATED_AFTER].str;
    f->created_before = q[QF_CREATED_BEFORE].str;
    f->sort = (enum sp_queue_sort)q[QF_SORT].i;
    f->limit = (int)q[QF_LIMIT].i;
    if (q[QF_CURSOR].present) {
        f->has_cursor = true;
        if (!sp_cursor_decode_key(q[QF_CURSOR].str, scope, sp_queue_sort_names[f->sort],
                                  &f->cursor))
            sp_problem_query_field(p, "cursor", "invalid", queue_query[QF_CURSOR].message);
    }
    return p->rc;
}

enum sp_rc
sp_api_agent_queue(struct sp_req *r, struct sp_problem *p)
{
    struct sp_query_value q[QF_COUNT];
    struct sp_queue_filter f;
    /* Every parameter is checked before the first error is returned. */
    sp_query_read(r, queue_query, QF_COUNT, q, p);
    const char *scope = sp_query_scope(r, queue_query, QF_COUNT);
    if (queue_filter(r, q, scope, &f, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_read_ctx(r);
    struct sp_queue_page page;
    if (sp_queue_search(&ctx, &f, &page, p) != SP_OK)
        return p->rc;
    const char *next = page.has_next ? sp_cursor_encode_key(r->arena, scope,
                                                            sp_queue_sort_names[f.sort], &page.next)
                                     : NULL;
    struct sp_buf *b = sp_view_ticket_page(r, page.items, page.n, SP_VIEW_AGENT_SUMMARY, next);
    sp_resp_json(r, 200, b);
    return SP_OK;
}

/* --- one ticket ----------------------------------------------------------- */

/* A page of one of the path's ticket's lists (its messages, its events):
 * the ticket's reference, then query's limit and ticket cursor (of kind,
 * decoded), each refusal reported. */
struct ticket_page {
    struct sp_ticket_ref ref;
    int limit;
    struct sp_api_ticket_cursor cursor;
};

static enum sp_rc
ticket_page_read(struct sp_req *r, const struct sp_query_spec *query, const char *kind,
                 struct ticket_page *pg, struct sp_problem *p)
{
    ticket_ref(r, &pg->ref);
    struct sp_query_value q[SP_API_MESSAGES_COUNT];
    sp_query_read(r, query, SP_API_MESSAGES_COUNT, q, p);
    const struct sp_query_spec *c = &query[SP_API_MESSAGES_CURSOR];
    sp_api_ticket_cursor_read(c->name, kind, &q[SP_API_MESSAGES_CURSOR], &pg->cursor, p);
    pg->limit = (int)q[SP_API_MESSAGES_LIMIT].i;
    return p->rc;
}

enum sp_rc
sp_api_agent_ticket_get(struct sp_req *r, struct sp_problem *p)
{
    struct ticket_page pg;
    if (ticket_page_read(r, sp_api_agent_messages_query, "m", &pg, p) != SP_OK)
        return p->rc;
    return respond_ticket(r, pg.ref.id, pg.ref.public_id, &pg.cursor, pg.limit, p);
}

enum { P_STATUS, P_PRIORITY, P_ASSIGNEE, P_CATEGORY, P_COUNT };


static const struct sp_field_spec patch_fields[P_COUNT] = {
    [P_STATUS] = {"status", SP_FIELD_ENUM, false, false, 0, 0, sp_status_names},
    [P_PRIORITY] = {"priority", SP_FIELD_ENUM, false, false, 0, 0, sp_priority_names},
    [P_ASSIGNEE] = {"assigned_agent_id", SP_FIELD_INT, false, true, 1, INT64_MAX, NULL},
    [P_CATEGORY] = {"category", SP_FIELD_STRING, false, true, 1, 120, NULL},
};

enum sp_rc
sp_api_agent_ticket_patch(struct sp_req *r, struct sp_problem *p)
{
    struct sp_field_value v[P_COUNT];
    struct json_object *json = sp_api_read_fields(r, patch_fields, P_COUNT, v, p);
    if (json == NULL)
        return p->rc;
    struct sp_ticket_patch patch;
    memset(&patch, 0, sizeof(patch));
    if (p->nerrors > 0) {
        /* A field of the wrong shape does not hide the others' faults:
         * the agent and category that were read are looked up too, so one
         * 422 lists every field error (API.md §1). */
        patch.has_assignee = v[P_ASSIGNEE].present;
        patch.assignee = v[P_ASSIGNEE].i;
        patch.has_category = v[P_CATEGORY].present;
        patch.category_slug = v[P_CATEGORY].str;
        struct command c = command(r);
        sp_ticket_patch_check(&c.ctx, &c.ref, c.actor, &patch, p);
        return p->rc;
    }
    struct command c = command(r);
    if (sp_api_if_match(r, 0, &c.ref.if_match, p) != SP_OK)
        return p->rc;
    patch.has_status = v[P_STATUS].present;
    patch.status = (enum sp_status)v[P_STATUS].i;
    patch.has_priority = v[P_PRIORITY].present;
    patch.priority = (enum sp_priority)v[P_PRIORITY].i;
    /* A key given as null means "clear it" for the nullable fields. */
    patch.has_assignee = json_object_object_get_ex(json, "assigned_agent_id", NULL);
    patch.assignee = v[P_ASSIGNEE].present ? v[P_ASSIGNEE].i : 0;
    patch.has_category = json_object_object_get_ex(json, "category", NULL);
    patch.category_slug = v[P_CATEGORY].present ? v[P_CATEGORY].str : NULL;
    return command_done(r, &c, sp_ticket_patch(&c.ctx, &c.ref, c.actor, &patch, &c.id, p), p);
}

enum { M_BODY, M_INTERNAL, M_STATUS, M_ATTACHMENTS, M_COUNT };

static const struct sp_field_spec message_fields[M_COUNT] = {
    [M_BODY] = {"body", SP_FIELD_STRING, true, false, 1, SP_TICKET_BODY_MAX, NULL},
    /* Not nullable: a client that sends an unset flag as null would
     * publish a note it meant to keep internal (QA: fails open). */
    [M_INTERNAL] = {"is_internal", SP_FIELD_BOOL, false, false, 0, 0, NULL},
    [M_STATUS] = {"status", SP_FIELD_ENUM, false, true, 0, 0, sp_status_names},
    [M_ATTACHMENTS] = {"attachments", SP_FIELD_ARRAY, false, true, 0, 10, NULL},
};

struct reply_input {
    struct sp_ticket_ref ref;
    struct sp_agent_reply reply;
    struct sp_api_attachments attachments;
    const char *sender_name;   /* the caller's display name, as a read shows it */
};

static enum sp_rc
create_reply(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
             struct sp_problem *p)
{
    (void)out;
    struct reply_input *in = input;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_message m = {0};
    long long ticket_id;
    if (sp_ticket_agent_reply(&ctx, &in->ref, actor(r), &in->reply, &m.id, &m.created_at,
                              &ticket_id, p) != SP_OK ||
        sp_attachments_attach(&ctx, sp_api_party(r), in->attachments.ids, in->attachments.n,
                              m.id, &m.attachments_json, p) != SP_OK)
        return p->rc;
    m.sender_type = "agent";
    m.sender_id = r->principal.sub;
    m.sender_name = in->sender_name;
    m.body = in->reply.body;
    m.is_internal = in->reply.internal;
    sp_view_message(body, &m, true);
    return SP_OK;
}

enum sp_rc
sp_api_agent_ticket_reply(struct sp_req *r, struct sp_problem *p)
{
    struct sp_field_value v[M_COUNT];
    if (sp_api_read_fields(r, message_fields, M_COUNT, v, p) == NULL)
        return p->rc;
    /* The body's sanitizer fault comes with the other fields' (API.md §1). */
    struct sp_api_attachments attachments = sp_api_attachment_ids(r, &v[M_ATTACHMENTS], p);
    const char *body = v[M_BODY].present
                           ? sp_api_body_html(r, "body", &v[M_BODY], SP_TICKET_BODY_MAX, p)
                           : NULL;
    sp_api_attachments_with_errors(r, &attachments, p);
    if (p->rc != SP_OK)
        return p->rc;
    struct sp_agent me;
    if (sp_api_current_agent(r, &me, p) != SP_OK)
        return p->rc;
    struct reply_input in;
    ticket_ref(r, &in.ref);
    if (sp_api_if_match(r, 0, &in.ref.if_match, p) != SP_OK)
        return p->rc;
    in.reply.agent_id = me.id;
    in.sender_name = me.display_name;
    in.reply.body = body;
    in.reply.internal = v[M_INTERNAL].present && v[M_INTERNAL].b;
    in.reply.has_status = v[M_STATUS].present;
    in.reply.status = (enum sp_status)v[M_STATUS].i;
    in.attachments = attachments;
    return sp_api_create(r, create_reply, &in, p);
}

enum sp_rc
sp_api_agent_ticket_claim(struct sp_req *r, struct sp_problem *p)
{
    struct sp_agent me;
    if (sp_api_current_agent(r, &me, p) != SP_OK)
        return p->rc;
    struct command c = command(r);
    if (sp_api_if_match(r, 0, &c.ref.if_match, p) != SP_OK)
        return p->rc;
    return command_done(r, &c, sp_ticket_claim(&c.ctx, &c.ref, c.actor, me.id, &c.id, p), p);
}

enum { E_REASON, E_PROVIDER, E_COUNT };
#define ESCALATION_REASON_MAX 2000

static const struct sp_field_spec escalate_fields[E_COUNT] = {
    /* No length here: it is the trimmed reason's (ESCALATION_REASON_MAX). */
    [E_REASON] = {"reason", SP_FIELD_STRING, true, false, 1, 0, NULL},
    [E_PROVIDER] = {"provider_id", SP_FIELD_INT, false, true, 1, INT64_MAX, NULL},
};

enum sp_rc
sp_api_agent_ticket_escalate(struct sp_req *r, struct sp_problem *p)
{
    struct sp_field_value v[E_COUNT];
    struct json_object *json = sp_api_read_fields(r, escalate_fields, E_COUNT, v, p);
    if (json == NULL)
        return p->rc;
    /* One line of visible text, by a subject's rules: it is quoted in the
     * provider-operations mail, where a line break would forge a line of
     * its own and blanks would explain nothing (QA). */
    const char *reason =
        v[E_REASON].present
            ? sp_ticket_subject_max(r->arena, "reason", v[E_REASON].str, ESCALATION_REASON_MAX, p)
            : NULL;
    struct command c = command(r);
    if (p->nerrors > 0) {
        /* A refused reason does not hide a ticket without a provider: one
         * 422 lists both (API.md §1). A provider_id given, of any shape,
         * is the body's to say. */
        struct json_object *given;
        if (!json_object_object_get_ex(json, "provider_id", &given) || given == NULL)
            sp_ticket_escalate_check(&c.ctx, &c.ref, c.actor, p);
        return p->rc;
    }
    if (sp_api_if_match(r, 0, &c.ref.if_match, p) != SP_OK)
        return p->rc;
    long long provider = v[E_PROVIDER].present ? v[E_PROVIDER].i : 0;
    enum sp_rc rc =
        sp_ticket_escalate(&c.ctx, &c.ref, c.actor, reason, provider, &c.id, p);
    return command_done(r, &c, rc, p);
}

/* An item of a ticket's events (sp_api_item_writer). */
static void
write_event(struct sp_jw *w, const void *item)
{
    sp_view_event(w->b, item);
}

/* ?limit= and ?cursor=, a ticket cursor (common.h SP_API_TICKET_CURSOR),
 * laid out as the messages' (ticket_page_read reads both). */
static const struct sp_query_spec events_query[SP_API_MESSAGES_COUNT] = {
    [SP_API_MESSAGES_LIMIT] = SP_API_LIMIT("limit", 25),
    [SP_API_MESSAGES_CURSOR] = SP_API_TICKET_CURSOR("cursor"),
};

enum sp_rc
sp_api_agent_ticket_events(struct sp_req *r, struct sp_problem *p)
{
    struct ticket_page pg;
    if (ticket_page_read(r, events_query, "e", &pg, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_ticket t;
    if (sp_ticket_get_for_agent(&ctx, pg.ref.id, pg.ref.public_id, 0, 1, &t, p) != SP_OK ||
        sp_api_ticket_cursor_check("cursor", &pg.cursor, t.id, p) != SP_OK)
        return p->rc;
    struct sp_ticket_event *events;
    size_t n;
    long long next;
    if (sp_ticket_events(&ctx, t.id, pg.cursor.after, pg.limit, &events, &n, &next, p) != SP_OK)
        return p->rc;
    return sp_api_answer_list(r, events, n, sizeof(*events), write_event,
                              sp_api_ticket_next_cursor(r, "e", t.id, next));
}

/* --- the caller's agent record ------------------------------------------- */

static enum sp_rc
respond_agent(struct sp_req *r, const struct sp_agent *a)
{
    struct sp_buf *b = sp_api_buf(r);
    sp_view_agent(b, a);
    /* the ETag the admin's view of this agent has too: one concurrency */
    sp_api_etag(r, a->id, a->version);
    sp_resp_json(r, 200, b);
    return SP_OK;
}

enum sp_rc
sp_api_agent_me_get(struct sp_req *r, struct sp_problem *p)
{
    struct sp_agent me;
    if (sp_api_current_agent(r, &me, p) != SP_OK)
        return p->rc;
    return respond_agent(r, &me);
}

enum { A_STATUS, A_MAX_CHATS, A_NAME, A_COUNT };


static const struct sp_field_spec me_fields[A_COUNT] = {
    [A_STATUS] = {"status", SP_FIELD_ENUM, false, false, 0, 0, sp_agent_status_names},
    [A_MAX_CHATS] = {"max_concurrent_chats", SP_FIELD_INT, false, false, 0, 100, NULL},
    [A_NAME] = {"display_name", SP_FIELD_STRING, false, true, 1, 0, NULL},  /* trimmed: domain */
};

enum sp_rc
sp_api_agent_me_patch(struct sp_req *r, struct sp_problem *p)
{
    struct sp_field_value v[A_COUNT];
    /* Read on past field errors: a name that is no one line of visible
     * text is reported with them (QA: a bad status hid it). */
    struct json_object *json = sp_api_read_fields(r, me_fields, A_COUNT, v, p);
    if (json == NULL)
        return p->rc;
    /* The row's fields only an admin sets (§6): refused rather than
     * ignored, so an agent does not read a 200 as done (QA). */
    static const char *const admins_only[] = {"is_active", "team", "skills", "user_id"};
    for (size_t i = 0; i < sizeof(admins_only) / sizeof(admins_only[0]); i++)
        if (json_object_object_get_ex(json, admins_only[i], NULL))
            sp_problem_field(p, admins_only[i], "not_allowed",
                             "is set by an administrator (PATCH /support/admin/agents/:id)");
    /* The row is read once a request (provisioning read it already): its
     * name sent back is no rename (§5 "Display names"). */
    struct sp_agent me;
    struct sp_problem none;
    sp_problem_init(&none);
    bool known = sp_api_current_agent(r, &me, &none) == SP_OK;
    const char *name = v[A_NAME].present
                           ? sp_agent_display_name(r->arena, v[A_NAME].str,
                                                   sp_api_ctx(r).mail_from_name,
                                                   known ? me.display_name : NULL, p)
                           : NULL;
    if (p->rc != SP_OK)
        return p->rc;
    struct sp_versions if_match;
    if (sp_api_current_agent(r, &me, p) != SP_OK ||
        sp_api_if_match(r, me.id, &if_match, p) != SP_OK)
        return p->rc;
    struct sp_agent_update u = {
        .if_match = if_match,
        .status = v[A_STATUS].present ? v[A_STATUS].str : NULL,
        .has_max_chats = v[A_MAX_CHATS].present,
        .max_concurrent_chats = v[A_MAX_CHATS].i,
        .has_display_name = json_object_object_get_ex(json, "display_name", NULL),
        .display_name = name,
    };
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_chat_joins joins = {0};
    ctx.chat_joins = &joins;   /* back to work: the waiting chats it took */
    if (sp_agent_update_self(&ctx, r->principal.sub, &u, &me, p) != SP_OK)
        return p->rc;
    sp_chat_access_publish_joins(&ctx, &joins);
    return respond_agent(r, &me);
}

/* --- dashboard ------------------------------------------------------------ */

/* The dashboard is the same for every agent and costs tens of ms at a
 * million tickets: each worker reuses its last rendering for
 * SUPPORT_DASHBOARD_CACHE_MS (generated_at tells its age). Worker memory,
 * reachable until exit. */
static struct {
    char *body;
    size_t len;
    long at_ms;
} dashboard_cache;

static void
dashboard_remember(const struct sp_buf *b, long now_ms)
{
    char *copy = realloc(dashboard_cache.body, b->len + 1);
    if (copy == NULL)
        return;  /* no cache this time; the answer is still right */
    memcpy(copy, b->data, b->len + 1);
    dashboard_cache.body = copy;
    dashboard_cache.len = b->len;
    dashboard_cache.at_ms = now_ms;
}

/* The tickets part: counts by status and priority, SLA. */
static void
dashboard_tickets(struct sp_jw *w, const struct sp_dashboard *d)
{
    sp_jw_kobject(w, "tickets");
    sp_jw_kobject(w, "by_status");
    for (int i = 0; i < SP_STATUS_MAX; i++)
        sp_jw_kint(w, sp_status_name((enum sp_status)i), d->by_status[i]);
    sp_jw_end(w);
    sp_jw_kobject(w, "by_priority");
    for (int i = 0; i < SP_PRIORITY_MAX; i++)
        sp_jw_kint(w, sp_priority_name((enum sp_priority)i), d->by_priority[i]);
    sp_jw_end(w);
    sp_jw_kint(w, "unassigned", d->unassigned);
    sp_jw_kint(w, "sla_breached", d->sla_breached);
    sp_jw_kint(w, "sla_due_soon", d->sla_due_soon);
    sp_jw_end(w);
}

static void
render_dashboard(struct sp_buf *b, const struct sp_dashboard *d)
{
    struct sp_jw w;
    sp_jw_begin_object(&w, b);
    sp_jw_kstr(&w, "generated_at", d->generated_at);
    dashboard_tickets(&w, d);
    sp_jw_kobject(&w, "first_response");
    sp_jw_kfixed(&w, "avg_seconds_7d", d->first_response_avg_s, 1);
    sp_jw_kfixed(&w, "p90_seconds_7d", d->first_response_p90_s, 1);
    sp_jw_kfixed(&w, "within_sla_pct_7d", d->first_response_within_pct, 1);
    sp_jw_end(&w);
    sp_jw_kobject(&w, "chats");
    sp_jw_kint(&w, "waiting", d->chats_waiting);
    sp_jw_kint(&w, "active", d->chats_active);
    sp_jw_end(&w);
    sp_jw_karray(&w, "agents");
    for (size_t i = 0; i < d->nagents; i++) {
        const struct sp_agent *a = &d->agents[i].agent;
        sp_jw_object(&w);
        sp_jw_kint(&w, "id", a->id);
        sp_jw_kstr(&w, "user_id", a->user_id);
        sp_jw_kstr(&w, "display_name", a->display_name);
        sp_jw_kstr(&w, "team", a->team);
        sp_jw_kstr(&w, "status", a->status);
        sp_jw_kbool(&w, "is_active", a->is_active);
        sp_jw_kint(&w, "open_tickets", d->agents[i].open_tickets);
        sp_jw_kint(&w, "active_chats", d->agents[i].active_chats);
        sp_jw_kint(&w, "max_concurrent_chats", a->max_concurrent_chats);
        sp_jw_end(&w);
    }
    sp_jw_end(&w);
    sp_jw_end(&w);
}

enum sp_rc
sp_api_agent_dashboard(struct sp_req *r, struct sp_problem *p)
{
    const struct sp_app *app = r->env->app;
    long ttl = app->cfg.dashboard_cache_ms;
    if (ttl > 0 && dashboard_cache.body != NULL && r->now_ms - dashboard_cache.at_ms < ttl &&
        r->now_ms >= dashboard_cache.at_ms) {
        sp_resp_send(r, 200, "application/json; charset=utf-8", dashboard_cache.body,
                     dashboard_cache.len);
        return SP_OK;
    }
    struct sp_ctx ctx = sp_api_read_ctx(r);
    struct sp_dashboard d;
    if (sp_dashboard_load(&ctx, &d, p) != SP_OK)
        return p->rc;
    struct sp_buf *b = sp_api_buf(r);
    render_dashboard(b, &d);
    if (ttl > 0)
        dashboard_remember(b, r->now_ms);
    sp_resp_json(r, 200, b);
    return SP_OK;
}
