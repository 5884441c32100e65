/*
 * attachment_json: an attachment's metadata as JSON. See attachment_json.h.
 */
#include "domain/attachment_json.h"

#include <string.h>

#include <json-c/json.h>

#include "core/json.h"
#include "core/json_writer.h"
#include "domain/attachments.h"

void
sp_attachment_json_members(struct sp_jw *w, const struct sp_attachment *a,
                           const struct sp_attachment_link *link)
{
    sp_jw_kstr(w, "id", a->id);
    sp_jw_kstr(w, "filename", a->filename);
    sp_jw_kstr(w, "content_type", a->content_type);
    sp_jw_kint(w, "size", a->size);
    sp_jw_kstr(w, "sha256", a->sha256);
    sp_jw_kstr(w, "status", a->status);
    sp_jw_kstr(w, "created_at", a->created_at);
    if (link != NULL) {
        sp_jw_kstr(w, "download_url", link->url);
        sp_jw_kstr(w, "download_expires_at", link->expires_at);
    }
    sp_jw_kbool(w, "redacted", a->redacted_at != NULL);
    sp_jw_kstr(w, "redacted_at", a->redacted_at);
}

/* A string member of a stored item; NULL when absent or null. */
static const char *
item_str(struct json_object *item, const char *name)
{
    struct json_object *v;
    if (!json_object_object_get_ex(item, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A stored item (domain/attachments ATTACH_SQL's jsonb_build_object, with
 * a redaction's members merged in: attachment_erase) as the metadata. */
static void
read_item(struct json_object *item, struct sp_attachment *a)
{
    struct json_object *size;
    memset(a, 0, sizeof(*a));
    a->id = item_str(item, "id");
    a->filename = item_str(item, "filename");
    a->content_type = item_str(item, "content_type");
    a->size = json_object_object_get_ex(item, "size", &size) ? json_object_get_int64(size) : 0;
    a->sha256 = item_str(item, "sha256");
    a->status = item_str(item, "status");
    a->created_at = item_str(item, "created_at");
    a->redacted_at = item_str(item, "redacted_at");
}

void
sp_attachment_json_list(struct sp_jw *w, const char *name, const char *json)
{
    struct sp_problem p;
    sp_problem_init(&p);
    struct json_object *list =
        json != NULL ? sp_json_parse(w->b->arena, json, strlen(json), &p) : NULL;
    sp_jw_karray(w, name);
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(list, i);
        if (!json_object_is_type(item, json_type_object))
            continue;
        struct sp_attachment a;
        read_item(item, &a);
        sp_jw_object(w);
        sp_attachment_json_members(w, &a, NULL);
        sp_jw_end(w);
    }
    sp_jw_end(w);
}
