/*
 * chat_frame: one client frame, parsed and checked. See chat_frame.h.
 */
#include "api/chat_frame.h"

#include <string.h>

#include <json-c/json.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/sanitize.h"
#include "core/utf8.h"
#include "domain/attachments.h"

/* How sp_json_parse's details of a text that is not JSON begin. */
#define MALFORMED "malformed JSON: "

static enum sp_rc
refuse(struct sp_chat_frame *f, const char *code, const char *detail)
{
    f->code = code;
    f->detail = detail;
    return SP_INVALID;
}

/* A refusal of a message frame's member field. */
static enum sp_rc
refuse_member(struct sp_chat_frame *f, const char *field, const char *code, const char *detail)
{
    f->field = field;
    return refuse(f, code, detail);
}

/* The optional `attachments`: an array of at most 10 ids. Whether they
 * are the sender's clean uploads is the domain's to say; an item that
 * cannot be an id at all is refused here with the same code. */
static enum sp_rc
parse_attachments(struct sp_arena *a, struct json_object *o, struct sp_chat_frame *f)
{
    struct json_object *ja;
    if (!json_object_object_get_ex(o, "attachments", &ja) || json_object_is_type(ja, json_type_null))
        return SP_OK;
    if (!json_object_is_type(ja, json_type_array) ||
        json_object_array_length(ja) > SP_ATTACHMENTS_PER_MESSAGE)
        return refuse_member(f, "attachments", "invalid_frame",
                             "attachments must be an array of at most 10 ids");
    size_t n = json_object_array_length(ja);
    f->attachments = sp_arena_calloc(a, n + 1, sizeof(*f->attachments));
    for (size_t i = 0; i < n; i++) {
        struct json_object *id = json_object_array_get_idx(ja, i);
        size_t len = json_object_is_type(id, json_type_string)
                         ? (size_t)json_object_get_string_len(id) : 0;
        const char *s = len > 0 ? json_object_get_string(id) : NULL;
        if (s == NULL || len > 64 || memchr(s, '\0', len) != NULL || !sp_utf8_valid(s, len))
            return refuse_member(f, "attachments", "unknown_attachment",
                          "attachments lists something that is not an attachment id");
        char canon[SP_PUBLIC_ID_LEN + 1];   /* any case names an id (core/ids.h) */
        f->attachments[i] = sp_public_id_read(s, canon) ? sp_arena_strdup(a, canon)
                                                        : sp_arena_strndup(a, s, len);
    }
    f->nattachments = n;
    return SP_OK;
}

static enum sp_rc
parse_message_members(struct sp_arena *a, struct json_object *o, struct sp_chat_frame *f)
{
    struct json_object *jb, *jc = NULL;
    if (!json_object_object_get_ex(o, "body", &jb) || !json_object_is_type(jb, json_type_string))
        return refuse_member(f, "body", "invalid_frame", "body must be a string");
    const char *body = json_object_get_string(jb);
    size_t blen = (size_t)json_object_get_string_len(jb);
    if (blen == 0)
        return refuse_member(f, "body", "invalid_frame", "body must have 1 to 4000 characters");
    /* The sanitizer would drop it silently ("a\u0000b" stored as "ab");
     * the HTTP send refuses it (docs/API.md §1). */
    if (memchr(body, '\0', blen) != NULL)
        return refuse_member(f, "body", "invalid_frame", "body must not contain \\u0000");
    /* too_long, as the HTTP send's field error and the sanitized cap below */
    if (sp_utf8_count(body, blen) > SP_CHAT_BODY_MAX_CHARS)
        return refuse_member(f, "body", "too_long", "body is longer than 4000 characters");
    if (json_object_object_get_ex(o, "client_id", &jc) && !json_object_is_type(jc, json_type_null)) {
        /* Stored as text (the message's idempotency key): a NUL would cut
         * it, and PostgreSQL refuses invalid UTF-8. */
        const char *id = json_object_is_type(jc, json_type_string) ? json_object_get_string(jc) : NULL;
        size_t idlen = id != NULL ? (size_t)json_object_get_string_len(jc) : 0;
        if (id == NULL || idlen < 1 || idlen > SP_CHAT_CLIENT_ID_MAX ||
            memchr(id, '\0', idlen) != NULL || !sp_utf8_valid(id, idlen))
            return refuse_member(f, "client_id", "invalid_frame",
                                 "client_id must be a string of 1 to 64 characters");
        f->client_id = sp_arena_strndup(a, id, idlen);
    }
    if (parse_attachments(a, o, f) != SP_OK)
        return SP_INVALID;
    bool has_text = false;
    const char *clean = sp_sanitize_html(a, body, blen, &f->body_len, &has_text);
    if (clean == NULL || !has_text)
        return refuse_member(f, "body", "invalid_frame",
                             sp_arena_sprintf(a, "body %s", sp_sanitize_empty_reason(body, blen)));
    /* The cap is on what would be stored: escaping makes it longer. */
    if (sp_utf8_count(clean, f->body_len) > SP_CHAT_BODY_MAX_CHARS)
        return refuse_member(f, "body", "too_long", SP_CHAT_TOO_LONG_DETAIL);
    f->body = clean;
    return SP_OK;
}

/* A refused body or client_id does not hide the attachments: they are
 * still read when well-formed, for the transport to look them up and
 * list them in the same error frame (API.md §1, §7). */
static enum sp_rc
parse_message(struct sp_arena *a, struct json_object *o, struct sp_chat_frame *f)
{
    if (parse_message_members(a, o, f) == SP_OK)
        return SP_OK;
    struct sp_chat_frame list;
    memset(&list, 0, sizeof(list));
    if (f->nattachments == 0 && strcmp(f->field, "attachments") != 0 &&
        parse_attachments(a, o, &list) == SP_OK) {
        f->attachments = list.attachments;
        f->nattachments = list.nattachments;
    }
    return SP_INVALID;
}

/* The string value of o's member `name` when it has no NUL in it
 * ("message\u0000x" is not "message"), else "". */
static const char *
member_text(struct json_object *o, const char *name)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
        return "";
    const char *s = json_object_get_string(v);
    return strlen(s) == (size_t)json_object_get_string_len(v) ? s : "";
}

static enum sp_rc
parse_object(struct sp_arena *a, struct json_object *o, struct sp_chat_frame *f)
{
    struct json_object *js;
    const char *type = member_text(o, "type");
    if (strcmp(type, "message") == 0) {
        f->type = SP_CHAT_FRAME_MESSAGE;
        return parse_message(a, o, f);
    }
    if (strcmp(type, "typing") == 0) {
        f->type = SP_CHAT_FRAME_TYPING;
        if (!json_object_object_get_ex(o, "state", &js) || !json_object_is_type(js, json_type_boolean))
            return refuse(f, "invalid_frame", "typing state must be true or false");
        f->typing = json_object_get_boolean(js);
        return SP_OK;
    }
    if (strcmp(type, "presence") == 0) {
        f->type = SP_CHAT_FRAME_PRESENCE;
        const char *st = member_text(o, "state");
        if (strcmp(st, "online") == 0)
            f->state = "online";
        else if (strcmp(st, "away") == 0)
            f->state = "away";
        else
            return refuse(f, "invalid_frame", "presence state must be online or away");
        return SP_OK;
    }
    f->type = SP_CHAT_FRAME_OTHER;
    return refuse(f, "invalid_frame", "type must be message, typing or presence");
}

enum sp_rc
sp_chat_frame_parse(struct sp_arena *a, const char *data, size_t len, struct sp_chat_frame *f)
{
    memset(f, 0, sizeof(*f));
    if (len > SP_CHAT_FRAME_MAX)
        return refuse(f, "frame_too_large", "frames carry at most 16 KiB of JSON");
    /* An empty websocket frame reaches the hook as a GET without a body
     * (nchan); refused like any other frame that is not JSON. */
    if (len == 0)
        return refuse(f, "invalid_frame", "the frame is empty; a frame is one JSON object");
    /* The reader of HTTP bodies, so a frame is refused where the HTTP send
     * of the same body is (docs/API.md §1 "Malformed input", §7): a
     * member named twice, NaN, invalid UTF-8 and the like. */
    struct sp_problem p;
    sp_problem_init(&p);
    struct json_object *o = sp_json_parse_body(a, data != NULL ? data : "", len, &p);
    if (o == NULL && p.rc == SP_INVALID &&
        strncmp(p.detail, MALFORMED, strlen(MALFORMED)) == 0)
        return refuse(f, "invalid_frame", sp_arena_strdup(a, p.detail));
    if (o == NULL || !json_object_is_type(o, json_type_object))
        return refuse(f, "invalid_frame", "a frame is one JSON object");
    return parse_object(a, o, f);
}
