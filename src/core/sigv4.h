/*
 * sigv4: AWS Signature Version 4 (the "AWS4-HMAC-SHA256" algorithm), as
 * S3 and the S3-compatible stores (GCS's XML API, MinIO) check it: the
 * canonical request, the string to sign, the signing key (the HMAC-SHA256
 * chain over date, region, service) and the signature, for both ways of
 * carrying it: query authentication (presigned URLs, X-Amz-* parameters,
 * payload UNSIGNED-PAYLOAD) and header authentication (Authorization,
 * x-amz-date, x-amz-content-sha256).
 * Reference: docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 *
 * Pure: no I/O, no clock (the caller says when), every result in the
 * caller's arena. Must not: log or return anything derived from the secret
 * but the signature (the signing key and the "AWS4"+secret copy are wiped
 * after use), verify signatures (we only sign; nothing secret is
 * compared), or know about HTTP transport, SQL or the domain.
 */
#ifndef SP_SIGV4_H
#define SP_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;

/* Who signs, for what scope. */
struct sp_sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *region;            /* e.g. us-east-1 */
    const char *service;           /* e.g. s3 */
};

/* A name and a value, both raw (not encoded): a query parameter or a
 * header. */
struct sp_sigv4_pair {
    const char *name;
    const char *value;
};

struct sp_sigv4_request {
    const char *method;            /* "GET", "PUT", ... */
    const char *path;              /* raw: "/bucket/my key"; each segment is
                                    * encoded here, '/' kept; NULL or "": "/" */
    const struct sp_sigv4_pair *query;   /* raw names and values; any order */
    size_t nquery;
    /* Headers to sign, Host among them (any case, any order, distinct
     * names); the x-amz-date and x-amz-content-sha256 of header
     * authentication are added by sp_sigv4_authorize, not given here. */
    const struct sp_sigv4_pair *headers;
    size_t nheaders;
    /* Hex SHA-256 of the body, or NULL for "UNSIGNED-PAYLOAD" (header
     * authentication only: query authentication always signs
     * UNSIGNED-PAYLOAD). */
    const char *payload_hash;
    long long now_s;               /* seconds since the epoch: X-Amz-Date */
};

/* What was signed, for the caller and for tests (all arena-owned; none of
 * it is secret). */
struct sp_sigv4_signed {
    const char *amz_date;          /* 20130524T000000Z */
    const char *scope;             /* 20130524/us-east-1/s3/aws4_request */
    const char *payload_hash;      /* as signed (x-amz-content-sha256) */
    const char *signed_headers;    /* host;range;x-amz-date */
    const char *canonical_request;
    const char *string_to_sign;
    const char *signature;         /* 64 lowercase hex */
    /* Query authentication: the whole query string of the presigned URL
     * (no '?'), X-Amz-Signature last. Header authentication: the
     * canonical query string (the request's own parameters, encoded and
     * sorted), to send as is. */
    const char *query;
    /* Header authentication: the Authorization header's value,
     * "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
     * Query authentication: NULL. */
    const char *authorization;
};

/* The canonical query string of n raw parameters: each name and value
 * encoded, "name=value" pairs sorted by name then value, joined by '&'
 * ("" when n is 0). Arena-owned. */
char *sp_sigv4_canonical_query(struct sp_arena *a, const struct sp_sigv4_pair *q, size_t n);

/* Query authentication: r's parameters plus X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires (expires_s) and
 * X-Amz-SignedHeaders, signed with UNSIGNED-PAYLOAD; out->query is the
 * presigned URL's query string. */
void sp_sigv4_presign(struct sp_arena *a, const struct sp_sigv4_creds *c,
                      const struct sp_sigv4_request *r, long expires_s,
                      struct sp_sigv4_signed *out);

/* Header authentication: r's headers plus x-amz-content-sha256 and
 * x-amz-date signed; the caller sends Authorization: out->authorization,
 * x-amz-date: out->amz_date and x-amz-content-sha256: out->payload_hash
 * with the headers it gave. */
void sp_sigv4_authorize(struct sp_arena *a, const struct sp_sigv4_creds *c,
                        const struct sp_sigv4_request *r, struct sp_sigv4_signed *out);

#endif
