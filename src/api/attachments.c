/*
 * attachments (api): uploads and downloads of files (API.md §10,
 * docs/API.md "Attachments"). POST creates the row and answers a signed
 * upload URL; the PUT of that URL reaches us through nginx, which kept
 * the body in a file and hands over its path (REQUEST_BODY_FILE); GET of
 * the metadata answers a signed download URL when the file is clean, and
 * the GET of that URL answers X-Accel-Redirect to nginx's internal
 * storage location, so the bytes never pass through a worker.
 * The signed URLs are the only credential of the two /content routes.
 * Holds no SQL; never includes db/.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/common.h"
#include "api/handlers.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "core/rfc3339.h"
#include "core/s3.h"
#include "domain/attachment_erase.h"
#include "domain/attachment_json.h"
#include "domain/attachment_files.h"
#include "domain/attachments.h"
#include "http/signed_url.h"

#define CONTENT_PATH "/support/attachments/%s/content"
#define STORAGE_LOCATION "/internal/attachments/"

static const struct sp_app *
app_of(struct sp_req *r)
{
    return r->env->app;
}

/* The keyring, or 503 while attachments are not configured. */
static const struct sp_keyring_keys *
url_keys(struct sp_req *r, struct sp_problem *p)
{
    const struct sp_app *app = app_of(r);
    if (app == NULL || app->url_keys == NULL)
        sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable",
                       "attachments are not configured on this server");
    return app ? app->url_keys : NULL;
}

/* The bucket holding attachments, or NULL for the local store. */
static const struct sp_s3 *
bucket(struct sp_req *r)
{
    const struct sp_app *app = app_of(r);
    return app != NULL && app->s3_on ? &app->s3 : NULL;
}

/* Attachments are on: a bucket, or the local store's keys (else 503). */
static bool
attachments_on(struct sp_req *r, struct sp_problem *p)
{
    return bucket(r) != NULL || url_keys(r, p) != NULL;
}

/* Where the bytes are: the bucket, or the directory. */
static struct sp_attachment_files
files_of(struct sp_req *r)
{
    const struct sp_app *app = app_of(r);
    return (struct sp_attachment_files){app->cfg.attachment_dir, bucket(r), app->cfg.s3_prefix};
}

static const char *
incoming_key(struct sp_req *r, const char *id)
{
    const struct sp_app *app = app_of(r);
    struct sp_attachment_files files = {app->cfg.attachment_dir, &app->s3, app->cfg.s3_prefix};
    return sp_attachment_files_incoming_key(r->arena, &files, id);
}

/* Where the client PUTs the bytes: the bucket's presigned URL (signed for
 * exactly the declared size), or ours. */
static const char *
upload_url(struct sp_req *r, const struct sp_attachment *a, long long expires)
{
    const struct sp_s3 *s3 = bucket(r);
    long long now = sp_clock_now_ms() / 1000;
    if (s3 != NULL)
        return sp_s3_presign(r->arena, s3, "PUT", incoming_key(r, a->id), now,
                             (long)(expires - now), a->size, NULL);
    return sp_signed_url(r->arena, app_of(r)->url_keys, "PUT",
                         sp_arena_sprintf(r->arena, CONTENT_PATH, a->id), a->id, a->size, expires);
}

/* The Content-Disposition a file is served with: its name ending in
 * its type's extension (API.md §10 choices). */
static const char *
disposition(struct sp_req *r, const struct sp_attachment *a)
{
    return sp_content_disposition(
        r->arena, sp_attachment_download_name(r->arena, a->filename, a->content_type));
}

/* Where the client GETs a clean file: the bucket's presigned URL, which
 * makes the store answer with our Content-Type (markup as bytes:
 * sp_attachment_bucket_type), Content-Disposition and Cache-Control, or
 * ours (nginx serves it). */
static const char *
download_url(struct sp_req *r, const struct sp_attachment *a, long long expires)
{
    const struct sp_s3 *s3 = bucket(r);
    long long now = sp_clock_now_ms() / 1000;
    const struct sp_s3_response served = {sp_attachment_bucket_type(a->content_type),
                                          disposition(r, a), "private, no-store"};
    if (s3 != NULL)
        return sp_s3_presign(r->arena, s3, "GET", a->storage_key, now, (long)(expires - now), -1,
                             &served);
    return sp_signed_url(r->arena, app_of(r)->url_keys, "GET",
                         sp_arena_sprintf(r->arena, CONTENT_PATH, a->id), a->id, a->size, expires);
}

static const char *
iso(struct sp_req *r, long long unix_s)
{
    char *out = sp_arena_alloc(r->arena, SP_RFC3339_LEN);
    sp_rfc3339_format(unix_s * 1000LL, out);
    return out;
}

/* The metadata of API.md §10 (download_url when one goes with it), in an
 * object left open for the caller to add to and end. */
static void
write_meta(struct sp_req *r, struct sp_jw *w, const struct sp_attachment *a,
           const char *download_url, long long download_expires)
{
    const struct sp_attachment_link link = {
        download_url, download_url ? iso(r, download_expires) : NULL};
    sp_jw_object(w);
    sp_attachment_json_members(w, a, &link);
}

/* --- create ---------------------------------------------------------------- */

enum { A_FILENAME, A_TYPE, A_SIZE, A_COUNT };

static const struct sp_field_spec create_fields[A_COUNT] = {
    /* Its length is the domain's, in bytes (a spec counts characters). */
    [A_FILENAME] = {"filename", SP_FIELD_STRING, true, false, 1, 0, NULL, 0, 0},
    [A_TYPE] = {"content_type", SP_FIELD_STRING, true, false, 1, 255, NULL, 0, 0},
    /* Bounds are the domain's, so one 422 lists every bad field. */
    [A_SIZE] = {"size", SP_FIELD_INT, true, false, LLONG_MIN, LLONG_MAX, NULL, 0, 0},
};

/* A size past 64 bits is refused by the body reader with the range of
 * its integers (QA: "from -9223372036854775808 to ..."): the caller is
 * told the attachment's. */
static void
size_range_said(struct sp_problem *p)
{
    for (size_t i = 0; i < p->nerrors; i++)
        if (strcmp(p->errors[i].field, "size") == 0 &&
            strcmp(p->errors[i].code, "out_of_range") == 0)
            snprintf(p->errors[i].message, sizeof(p->errors[i].message), "%s",
                     SP_ATTACHMENT_SIZE_RANGE);
}

/* The create's answer for the row as it is now: its metadata and, while
 * the bytes are still to come, a freshly signed upload URL; once they are
 * in, the upload fields are null (a PUT would be 409 already_uploaded). */
static void
render_created(struct sp_req *r, struct sp_buf *body, const struct sp_attachment *a)
{
    long long expires = sp_clock_now_ms() / 1000 + app_of(r)->cfg.attachment_upload_ttl_s;
    struct sp_jw w;
    sp_jw_init(&w, body);
    write_meta(r, &w, a, NULL, 0);
    sp_jw_kstr(&w, "upload_url", a->uploaded ? NULL : upload_url(r, a, expires));
    sp_jw_kstr(&w, "upload_method", a->uploaded ? NULL : "PUT");
    sp_jw_kstr(&w, "expires_at", a->uploaded ? NULL : iso(r, expires));
    sp_jw_end(&w);
}

static enum sp_rc
create_attachment(struct sp_req *r, void *input, struct sp_buf *body, struct sp_api_created *out,
                  struct sp_problem *p)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_attachment a;
    if (sp_attachment_create(&ctx, input, &a, p) != SP_OK)
        return p->rc;
    render_created(r, body, &a);
    out->location = sp_arena_sprintf(r->arena, "/support/attachments/%s", a.id);
    return SP_OK;
}

/* A replayed create answers the row as it is now, with an upload URL
 * signed afresh: the first one expires (15 minutes), the status moves on,
 * and the key keeps no credential in the clear (docs/API.md §10). */
static enum sp_rc
replay_attachment(struct sp_req *r, void *input, const char *public_id, struct sp_buf *body,
                  struct sp_api_created *out, struct sp_problem *p)
{
    (void)input;
    (void)out; /* an upload's answer carries no ETag */
    if (!sp_public_id_valid(public_id))
        return sp_problem_set(p, SP_ERROR, "internal", "unreadable stored Location");
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_attachment a;
    if (sp_attachment_get(&ctx, public_id, &a, p) != SP_OK)
        return p->rc;
    render_created(r, body, &a);
    return SP_OK;
}

enum sp_rc
sp_api_attachment_create(struct sp_req *r, struct sp_problem *p)
{
    /* Every attempt counts, before its body is read, as ticket creates do
     * (API.md §1): a row is cheap, but each may hold up to 25 MiB until the
     * cleanup takes what was never attached. */
    const struct sp_api_replay replay = {replay_attachment, NULL};
    if (!attachments_on(r, p) || sp_api_attachment_rate_limit(r, &replay, p) != SP_OK)
        return p->rc;
    struct sp_field_value v[A_COUNT];
    bool shaped = sp_api_read_body(r, create_fields, A_COUNT, v, p) != NULL;
    if (!shaped && p->nerrors == 0)
        return p->rc; /* not a JSON object: no fields to check */
    struct sp_attachment_new in = {
        .owner_sub = r->principal.sub,
        .owner_role = sp_role_name(r->principal.role),
        .filename = v[A_FILENAME].present ? v[A_FILENAME].str : NULL,
        .content_type = v[A_TYPE].present ? v[A_TYPE].str : NULL,
        .size = v[A_SIZE].i,
        .allowed_types = app_of(r)->cfg.attachment_types,
    };
    /* A field of the wrong shape (a missing size) does not hide the
     * others' faults (an unsupported type): the fields that were read
     * are still checked, so one 422 lists every field error (API.md §1). */
    if (!shaped) {
        (void)sp_attachment_check(r->arena, &in, v[A_SIZE].present, p);
        size_range_said(p);
        return p->rc;
    }
    return sp_api_create_secret(r, create_attachment, replay_attachment, &in, p);
}

/* --- metadata -------------------------------------------------------------- */

/* The :id of the path in any case, canonical; what is no id at all is
 * left as it is, for the domain's 404. */
static const char *
path_id(struct sp_req *r)
{
    const char *id = sp_api_public_id(r, r->params[0]);
    return id != NULL ? id : r->params[0];
}

enum sp_rc
sp_api_attachment_get(struct sp_req *r, struct sp_problem *p)
{
    if (!attachments_on(r, p))
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_attachment a;
    bool agent = sp_principal_has_role(&r->principal, SP_ROLE_AGENT);
    if (sp_attachment_get_for(&ctx, path_id(r), r->principal.sub, agent, &a, p) != SP_OK)
        return p->rc;
    const char *url = NULL;
    long long expires = sp_clock_now_ms() / 1000 + app_of(r)->cfg.attachment_download_ttl_s;
    if (strcmp(a.status, "clean") == 0 && a.storage_key != NULL)
        url = download_url(r, &a, expires);
    /* A client asking after its upload to a bucket: the scanner looks now
     * rather than at its next backed-off look (a hint: a failure changes
     * nothing of the answer). */
    if (bucket(r) != NULL && !a.uploaded && strcmp(a.status, "pending") == 0 &&
        a.redacted_at == NULL) {
        struct sp_problem ignored;
        sp_problem_init(&ignored);
        (void)sp_attachment_look_now(&ctx, a.id, &ignored);
    }
    struct sp_jw *w = sp_api_json(r);
    write_meta(r, w, &a, url, expires);
    return sp_api_send(r, 200, w);
}

/* --- deleting and redacting (docs/API.md §10) ----------------------------- */

/* DELETE by the uploader of an upload attached to nothing: 204, the row
 * and its bytes gone; 409 attachment_attached once it is attached. */
enum sp_rc
sp_api_attachment_delete(struct sp_req *r, struct sp_problem *p)
{
    if (!attachments_on(r, p))
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_attachment_files files = files_of(r);
    if (sp_attachment_delete(&ctx, &files, sp_api_party(r), path_id(r), p) != SP_OK)
        return p->rc;
    sp_resp_send(r, 204, NULL, NULL, 0);
    return SP_OK;
}

/* An agent erases a file: 200 with the view, redacted; again, the same. */
enum sp_rc
sp_api_attachment_redact(struct sp_req *r, struct sp_problem *p)
{
    if (!attachments_on(r, p))
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_attachment_files files = files_of(r);
    struct sp_attachment a;
    if (sp_attachment_redact(&ctx, &files, r->principal.sub, path_id(r), &a, p) != SP_OK)
        return p->rc;
    struct sp_jw *w = sp_api_json(r);
    write_meta(r, w, &a, NULL, 0);
    return sp_api_send(r, 200, w);
}

/* --- the signed /content routes ------------------------------------------ */

/* The signed URL of this request for method, from the URI alone (no
 * row read): 403 invalid_signature / url_expired. The upload's auth
 * subrequest (upload_check) and every /content request check it here. */
static enum sp_rc
signed_url_ok(struct sp_req *r, const char *method, struct sp_signed *s, struct sp_problem *p)
{
    /* With a bucket, no URL of ours is handed out: the bytes are there. */
    if (bucket(r) != NULL)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found",
                              "attachments are uploaded to and downloaded from the object store");
    const struct sp_keyring_keys *keys = url_keys(r, p);
    if (keys == NULL)
        return p->rc;
    if (!sp_signed_parse(r->query, s))
        return sp_problem_set(p, SP_FORBIDDEN, "invalid_signature",
                              "the URL is not a signed attachment URL");
    /* The id in any case: the signature is over its canonical form
     * (signed_url.h), which is also the row's. Anything else is checked
     * as written, and no signature matches it. */
    switch (sp_signed_verify(keys, method, path_id(r), s, sp_clock_now_ms() / 1000)) {
    case SP_SIGNED_OK: return SP_OK;
    case SP_SIGNED_EXPIRED:
        return sp_problem_set(p, SP_FORBIDDEN, "url_expired", "the signed URL has expired");
    default:
        return sp_problem_set(p, SP_FORBIDDEN, "invalid_signature",
                              "the URL's signature does not match");
    }
}

/* The attachment a signed URL of this request names, for method: 403
 * invalid_signature / url_expired, 404 when the row is gone. */
static enum sp_rc
signed_attachment(struct sp_req *r, const char *method, struct sp_attachment *a,
                  struct sp_problem *p)
{
    struct sp_signed s;
    if (signed_url_ok(r, method, &s, p) != SP_OK)
        return p->rc;
    struct sp_ctx ctx = sp_api_ctx(r);
    if (sp_attachment_get(&ctx, path_id(r), a, p) != SP_OK)
        return p->rc;
    if (a->size != s.size)  /* signed for another size: not this row's URL */
        return sp_problem_set(p, SP_FORBIDDEN, "invalid_signature",
                              "the URL's signature does not match");
    return SP_OK;
}

/* nginx asks before it reads an upload's body (auth_request,
 * nginx/public.conf.in): whoever lacks a valid URL for that exact length
 * sends nothing nginx keeps. 204, or 403 with X-Upload-Refusal naming the
 * problem's code (auth_request passes on 2xx/401/403 only; nginx words
 * the answer). The row is the upload's business: this reads none. */
static enum sp_rc
upload_check(struct sp_req *r, struct sp_problem *p)
{
    struct sp_signed s;
    const char *len = r->upload_check;
    if (signed_url_ok(r, "PUT", &s, p) == SP_OK &&
        (len[0] == '\0' || strspn(len, "0123456789") != strlen(len) || strlen(len) > 18 ||
         strtoll(len, NULL, 10) != s.size))
        sp_problem_set(p, SP_INVALID, "size_mismatch",
                       "the Content-Length of the upload is not the size its URL names");
    if (p->rc == SP_OK) {
        sp_resp_send(r, 204, NULL, "", 0);
        return SP_OK;
    }
    sp_resp_header(r, "X-Upload-Refusal", p->code);
    sp_resp_send(r, 403, NULL, "", 0);
    return SP_OK;
}

/* 410: an agent erased the file for good. */
static enum sp_rc
redacted(struct sp_problem *p)
{
    return sp_problem_set(p, SP_NOT_FOUND, "attachment_redacted",
                          "the attachment was redacted: its file is erased");
}

enum sp_rc
sp_api_attachment_upload(struct sp_req *r, struct sp_problem *p)
{
    struct sp_attachment a, stored;
    if (r->upload_check != NULL)
        return upload_check(r, p);
    if (signed_attachment(r, "PUT", &a, p) != SP_OK)
        return p->rc;
    if (a.redacted_at != NULL)
        return redacted(p);
    if (a.uploaded)
        return sp_problem_set(p, SP_CONFLICT, "already_uploaded",
                              "this attachment has been uploaded already");
    /* nginx refused the body unread: its announced length is not the
     * URL's size (which is the row's, as the signature verified). */
    if (r->body_refused != NULL)
        return sp_problem_set(p, SP_INVALID, "size_mismatch",
                              "the upload has %lld bytes, the attachment declared %lld",
                              strtoll(r->body_refused, NULL, 10), a.size);
    if (r->body_file == NULL)
        return sp_problem_set(p, SP_INVALID, "size_mismatch",
                              "the upload is empty; the attachment declared %lld bytes", a.size);
    struct sp_ctx ctx = sp_api_ctx(r);
    if (sp_attachment_store(&ctx, &a, app_of(r)->cfg.attachment_dir, r->body_file, &stored, p) !=
        SP_OK)
        return p->rc;
    struct sp_jw *w = sp_api_json(r);
    write_meta(r, w, &stored, NULL, 0);
    return sp_api_send(r, 200, w);
}

/* nginx serves the file from its internal location; the headers set here
 * go with it (Content-Type, Content-Disposition, Cache-Control: nginx
 * copies them over an X-Accel-Redirect). Infected and unscanned files
 * have no URL that works: 404. */
enum sp_rc
sp_api_attachment_download(struct sp_req *r, struct sp_problem *p)
{
    struct sp_attachment a;
    if (signed_attachment(r, "GET", &a, p) != SP_OK)
        return p->rc;
    if (a.redacted_at != NULL)
        return redacted(p);
    if (strcmp(a.status, "clean") != 0 || a.storage_key == NULL)
        return sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such attachment");
    sp_resp_header(r, "X-Accel-Redirect",
                   sp_arena_sprintf(r->arena, STORAGE_LOCATION "%s", a.storage_key));
    sp_resp_header(r, "Content-Disposition", disposition(r, &a));
    sp_resp_header(r, "Cache-Control", "private, no-store");
    sp_resp_send(r, 200, a.content_type, "", 0);
    return SP_OK;
}
