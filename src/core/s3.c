/*
 * s3: presigned URLs and the server's own requests to an S3-compatible
 * store. See s3.h.
 */
#include "core/s3.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/http_client.h"
#include "core/sigv4.h"
#include "core/uri.h"

#include <stdio.h>
#include <string.h>

#define PRESIGN_MAX_S 604800   /* SigV4's limit: seven days */

/* Where key lives: the URL to send to, the Host to sign, the raw path. */
struct target {
    const char *url;
    const char *host;
    const char *path;
};

/* A segment "." or "..": curl and browsers resolve them away before
 * sending, so the store would see (and check) another path than ours. */
static bool
has_dot_segment(const char *key)
{
    for (const char *seg = key;; seg++) {
        size_t n = strcspn(seg, "/");
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return true;
        seg += n;
        if (*seg == '\0')
            return false;
    }
}

static bool
locate(struct sp_arena *a, const struct sp_s3 *s3, const char *key, struct target *t)
{
    const char *sep = strstr(s3->endpoint, "://");
    if (sep == NULL || has_dot_segment(key))
        return false;
    const char *host = sep + 3;
    size_t hostlen = strcspn(host, "/");
    t->host = sp_arena_strndup(a, host, hostlen);
    t->path = sp_arena_sprintf(a, "/%s/%s", s3->bucket, key);
    t->url = sp_arena_sprintf(a, "%.*s%s", (int)(host + hostlen - s3->endpoint), s3->endpoint,
                              sp_uri_encode(a, t->path, strlen(t->path), true));
    return true;
}

static struct sp_sigv4_creds
creds(const struct sp_s3 *s3)
{
    return (struct sp_sigv4_creds){s3->access_key_id, s3->secret_access_key, s3->region, "s3"};
}

const char *
sp_s3_presign(struct sp_arena *a, const struct sp_s3 *s3, const char *method,
              const char *key, long long now_s, long expires_s,
              long long content_length, const struct sp_s3_response *response)
{
    bool get = strcmp(method, "GET") == 0;
    struct target t;
    if ((!get && strcmp(method, "PUT") != 0) || expires_s < 1 || expires_s > PRESIGN_MAX_S ||
        !locate(a, s3, key, &t))
        return NULL;
    struct sp_sigv4_pair h[2] = {{"host", t.host}};
    size_t nh = 1;
    if (content_length >= 0)
        h[nh++] = (struct sp_sigv4_pair){"content-length",
                                         sp_arena_sprintf(a, "%lld", content_length)};
    struct sp_sigv4_pair q[3];
    size_t nq = 0;
    const struct sp_s3_response none = {0};
    const struct sp_s3_response *o = get && response != NULL ? response : &none;
    if (o->cache_control != NULL)
        q[nq++] = (struct sp_sigv4_pair){"response-cache-control", o->cache_control};
    if (o->content_type != NULL)
        q[nq++] = (struct sp_sigv4_pair){"response-content-type", o->content_type};
    if (o->content_disposition != NULL)
        q[nq++] = (struct sp_sigv4_pair){"response-content-disposition",
                                         o->content_disposition};
    struct sp_sigv4_request r = {.method = method, .path = t.path, .query = q, .nquery = nq,
                                 .headers = h, .nheaders = nh, .now_s = now_s};
    struct sp_sigv4_creds c = creds(s3);
    struct sp_sigv4_signed s;
    sp_sigv4_presign(a, &c, &r, expires_s, &s);
    return sp_arena_sprintf(a, "%s?%s", t.url, s.query);
}

/* The store's error code (<Code>NoSuchKey</Code>) from an error body, its
 * letters and digits only (err goes to a log); "" when none. */
static void
store_code(const struct sp_buf *body, char *out, size_t outlen)
{
    const char *p = body->len > 0 ? strstr(body->data, "<Code>") : NULL;
    size_t o = 0;
    for (p = p != NULL ? p + 6 : ""; *p != '<' && *p != '\0' && o + 1 < outlen; p++)
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
            out[o++] = *p;
    out[o] = '\0';
}

/* What the store's answer to method means. DELETE: 404 is "already gone"
 * (S3 answers 204 either way, GCS 404), unless the bucket is missing. */
static enum sp_s3_result
judge(const char *method, long status, const struct sp_buf *body, char *err, size_t errlen)
{
    char code[64];
    store_code(body, code, sizeof(code));
    bool is_delete = strcmp(method, "DELETE") == 0;
    if (status >= 200 && status <= 299)
        return SP_S3_OK;
    if (status == 404 && strcmp(code, "NoSuchBucket") != 0)
        return is_delete ? SP_S3_OK : SP_S3_NOT_FOUND;
    snprintf(err, errlen, "%s: the store answered %ld%s%s", method, status,
             code[0] != '\0' ? " " : "", code);
    return SP_S3_ERROR;
}

/* Signs method on key (Authorization header, now from the clock), sends
 * req with it (and content_type when not NULL, unsigned) and judges the
 * answer. */
static enum sp_s3_result
run(const struct sp_s3 *s3, const char *method, const char *key, const char *content_type,
    struct sp_http_post *req, char *err, size_t errlen)
{
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    struct target t;
    enum sp_s3_result rc = SP_S3_ERROR;
    snprintf(err, errlen, "%s", "");
    if (!locate(&a, s3, key, &t)) {
        snprintf(err, errlen, "%s: bad endpoint, or a \".\" or \"..\" segment in the key",
                 method);
        sp_arena_destroy(&a);
        return rc;
    }
    const struct sp_sigv4_pair h[] = {{"host", t.host}};
    struct sp_sigv4_request r = {.method = method, .path = t.path, .headers = h, .nheaders = 1,
                                 .now_s = sp_clock_now_ms() / 1000};
    struct sp_sigv4_creds c = creds(s3);
    struct sp_sigv4_signed s;
    sp_sigv4_authorize(&a, &c, &r, &s);
    const char *headers[] = {sp_arena_sprintf(&a, "Host: %s", t.host),
                             sp_arena_sprintf(&a, "x-amz-date: %s", s.amz_date),
                             sp_arena_sprintf(&a, "x-amz-content-sha256: %s", s.payload_hash),
                             sp_arena_sprintf(&a, "Authorization: %s", s.authorization),
                             content_type != NULL
                                 ? sp_arena_sprintf(&a, "Content-Type: %s", content_type)
                                 : NULL,
                             NULL};
    struct sp_buf body;
    sp_buf_init(&body, &a, 1024);
    req->method = method;
    req->url = t.url;
    req->headers = headers;
    req->timeout_ms = s3->timeout_ms;
    req->response = &body;
    struct sp_http_result res;
    if (sp_http_post(req, &res))
        rc = judge(method, res.status, &body, err, errlen);
    else
        snprintf(err, errlen, "%s: %s", method, res.error);
    sp_arena_destroy(&a);
    return rc;
}

enum sp_s3_result
sp_s3_get(const struct sp_s3 *s3, const char *key, int fd, long long max, char *err,
          size_t errlen)
{
    struct sp_http_to_fd sink = {fd, max, 0};
    struct sp_http_post req = {.to_fd = &sink};
    return run(s3, "GET", key, NULL, &req, err, errlen);
}

enum sp_s3_result
sp_s3_delete(const struct sp_s3 *s3, const char *key, char *err, size_t errlen)
{
    struct sp_http_post req = {0};
    return run(s3, "DELETE", key, NULL, &req, err, errlen);
}

enum sp_s3_result
sp_s3_put(const struct sp_s3 *s3, const char *key, int fd, long long size,
          const char *content_type, char *err, size_t errlen)
{
    struct sp_http_from_fd body = {fd, size};
    struct sp_http_post req = {.from_fd = &body};
    return run(s3, "PUT", key, content_type, &req, err, errlen);
}
