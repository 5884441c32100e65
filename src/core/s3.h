/*
 * s3: objects in an S3-compatible store (AWS S3; Google Cloud Storage's
 * XML API with HMAC keys; MinIO), path-style: <endpoint>/<bucket>/<key>.
 * Presigned URLs for clients (SigV4 query authentication, core/sigv4) and
 * the server's own GET, PUT and DELETE (SigV4 Authorization header) over
 * core/http_client. Blocking: for jobs and for the few request handlers
 * that only presign (presigning does no I/O).
 *
 * The Host signed is the endpoint's host[:port] exactly as written (a port
 * is signed when the endpoint names one, even the scheme's default: write
 * the endpoint as clients will reach it). Keys with a "." or ".." path
 * segment are refused: HTTP clients (curl, browsers) remove those
 * segments before sending, so the request would name another object than
 * the one signed.
 * Must not: know SQL, the server side (http/), or any domain concept; log
 * (err says what happened; the caller logs); put the secret in a URL, an
 * error or anything it returns.
 */
#ifndef SP_S3_H
#define SP_S3_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;

struct sp_s3 {
    const char *endpoint;          /* scheme://host[:port], no trailing slash */
    const char *region;            /* e.g. us-east-1 (GCS: auto) */
    const char *bucket;
    const char *access_key_id;
    const char *secret_access_key;
    long timeout_ms;               /* each server-side request, connect included */
};

/* The headers a presigned GET makes the store answer with, signed as
 * response-* overrides (NULL: the stored object's, or none). */
struct sp_s3_response {
    const char *content_type;
    const char *content_disposition;
    const char *cache_control;
};

/* A presigned URL (absolute) that lets its holder run method ("GET" or
 * "PUT") on key for expires_s seconds from now_s (1..604800).
 * content_length >= 0 is signed as the content-length header (PUT: an
 * upload of any other size is refused by the store); -1 signs none.
 * GET only: response (NULL: none) names the headers the store answers
 * with; ignored for PUT. key: any bytes; each path segment is URI-encoded
 * as SigV4 wants. Arena-owned; NULL for another method, expires_s out of
 * range, an endpoint without "://" or a key with a "." or ".." segment. */
const char *sp_s3_presign(struct sp_arena *a, const struct sp_s3 *s3, const char *method,
                          const char *key, long long now_s, long expires_s,
                          long long content_length, const struct sp_s3_response *response);

enum sp_s3_result {
    SP_S3_OK,
    SP_S3_NOT_FOUND,   /* 404 from the store */
    SP_S3_ERROR,       /* no answer, or any other status: err says which (with the
                        * store's error code when it sent one) */
};

/* GET key, its bytes written to fd from its current offset; more than max
 * bytes is SP_S3_ERROR (the caller knows the size it expects). */
enum sp_s3_result sp_s3_get(const struct sp_s3 *s3, const char *key, int fd, long long max,
                            char *err, size_t errlen);
/* PUT key: size bytes of fd from its current offset, stored with
 * content_type (NULL: the store's default). */
enum sp_s3_result sp_s3_put(const struct sp_s3 *s3, const char *key, int fd, long long size,
                            const char *content_type, char *err, size_t errlen);
/* DELETE key; an absent key counts as deleted (S3 answers 204 either way). */
enum sp_s3_result sp_s3_delete(const struct sp_s3 *s3, const char *key, char *err,
                               size_t errlen);

#endif
