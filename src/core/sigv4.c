/*
 * sigv4: AWS Signature Version 4 signing. See sigv4.h.
 */
#include "core/sigv4.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/hex.h"
#include "core/uri.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

static int
pair_cmp(const void *x, const void *y)
{
    const struct sp_sigv4_pair *p = x, *q = y;
    int c = strcmp(p->name, q->name);
    return c != 0 ? c : strcmp(p->value, q->value);
}

char *
sp_sigv4_canonical_query(struct sp_arena *a, const struct sp_sigv4_pair *q, size_t n)
{
    struct sp_sigv4_pair *enc = sp_arena_calloc(a, n > 0 ? n : 1, sizeof(*enc));
    for (size_t i = 0; i < n; i++) {
        const char *v = q[i].value != NULL ? q[i].value : "";
        enc[i].name = sp_uri_encode(a, q[i].name, strlen(q[i].name), false);
        enc[i].value = sp_uri_encode(a, v, strlen(v), false);
    }
    qsort(enc, n, sizeof(*enc), pair_cmp);
    struct sp_buf b;
    sp_buf_init(&b, a, 256);
    for (size_t i = 0; i < n; i++)
        sp_buf_printf(&b, "%s%s=%s", i > 0 ? "&" : "", enc[i].name, enc[i].value);
    return b.data;
}

/* A header as SigV4 canonicalizes it: the name in lowercase, the value
 * without leading or trailing spaces and with inner runs of spaces as one. */
static struct sp_sigv4_pair
canonical_header(struct sp_arena *a, const struct sp_sigv4_pair *h)
{
    char *name = sp_arena_strdup(a, h->name);
    for (char *p = name; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const char *v = h->value != NULL ? h->value : "";
    char *value = sp_arena_alloc(a, strlen(v) + 1);
    size_t o = 0;
    bool space = false;
    for (; *v != '\0'; v++) {
        if (*v == ' ' || *v == '\t') {
            space = o > 0;
            continue;
        }
        if (space)
            value[o++] = ' ';
        space = false;
        value[o++] = *v;
    }
    value[o] = '\0';
    return (struct sp_sigv4_pair){name, value};
}

/* The canonical headers block ("name:value\n" each, sorted) of r's headers
 * and n_extra more, and the signed-headers list ("a;b;c"). */
static const char *
canonical_headers(struct sp_arena *a, const struct sp_sigv4_request *r,
                  const struct sp_sigv4_pair *extra, size_t n_extra, const char **signed_headers)
{
    size_t n = r->nheaders + n_extra;
    struct sp_sigv4_pair *h = sp_arena_calloc(a, n > 0 ? n : 1, sizeof(*h));
    for (size_t i = 0; i < n; i++)
        h[i] = canonical_header(a, i < r->nheaders ? &r->headers[i] : &extra[i - r->nheaders]);
    qsort(h, n, sizeof(*h), pair_cmp);
    struct sp_buf block, names;
    sp_buf_init(&block, a, 256);
    sp_buf_init(&names, a, 64);
    for (size_t i = 0; i < n; i++) {
        sp_buf_printf(&block, "%s:%s\n", h[i].name, h[i].value);
        sp_buf_printf(&names, "%s%s", i > 0 ? ";" : "", h[i].name);
    }
    *signed_headers = names.data;
    return block.data;
}

/* X-Amz-Date and the credential scope of r, in out. */
static void
stamp(struct sp_arena *a, const struct sp_sigv4_creds *c, long long now_s,
      struct sp_sigv4_signed *out)
{
    time_t t = (time_t)now_s;
    struct tm tm;
    char date[17];
    if (gmtime_r(&t, &tm) == NULL || strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm) != 16)
        abort();   /* a time before year 0 or after 9999: a caller's bug */
    out->amz_date = sp_arena_strdup(a, date);
    out->scope = sp_arena_sprintf(a, "%.8s/%s/%s/aws4_request", date, c->region, c->service);
}

static void
hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out,
             &len) == NULL ||
        len != 32)
        abort();   /* OpenSSL without SHA-256: nothing can be signed */
}

/* The signing key chain (kDate, kRegion, kService, kSigning) and the
 * signature of sts; every intermediate key is wiped. */
static const char *
signature(struct sp_arena *a, const struct sp_sigv4_creds *c, const char *date8,
          const char *sts)
{
    size_t slen = strlen(c->secret_access_key);
    char *k0 = sp_arena_alloc(a, 4 + slen);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, c->secret_access_key, slen);
    unsigned char k[2][32], mac[32];
    hmac(k0, 4 + slen, date8, k[0]);
    OPENSSL_cleanse(k0, 4 + slen);
    hmac(k[0], 32, c->region, k[1]);
    hmac(k[1], 32, c->service, k[0]);
    hmac(k[0], 32, "aws4_request", k[1]);
    hmac(k[1], 32, sts, mac);
    OPENSSL_cleanse(k, sizeof(k));
    return sp_crypto_hex(a, mac, sizeof(mac));
}

/* The canonical request of r (its query and headers already canonical),
 * the string to sign and the signature, into out. */
static void
sign(struct sp_arena *a, const struct sp_sigv4_creds *c, const struct sp_sigv4_request *r,
     const char *query, const char *headers, struct sp_sigv4_signed *out)
{
    const char *path = r->path != NULL && r->path[0] != '\0' ? r->path : "/";
    out->canonical_request =
        sp_arena_sprintf(a, "%s\n%s\n%s\n%s\n%s\n%s", r->method,
                         sp_uri_encode(a, path, strlen(path), true), query, headers,
                         out->signed_headers, out->payload_hash);
    const char *digest =
        sp_crypto_sha256_hex(a, out->canonical_request, strlen(out->canonical_request));
    if (digest == NULL)
        abort();
    out->string_to_sign =
        sp_arena_sprintf(a, ALGORITHM "\n%s\n%s\n%s", out->amz_date, out->scope, digest);
    out->signature =
        signature(a, c, sp_arena_strndup(a, out->amz_date, 8), out->string_to_sign);
}

void
sp_sigv4_presign(struct sp_arena *a, const struct sp_sigv4_creds *c,
                 const struct sp_sigv4_request *r, long expires_s, struct sp_sigv4_signed *out)
{
    *out = (struct sp_sigv4_signed){0};
    stamp(a, c, r->now_s, out);
    out->payload_hash = UNSIGNED_PAYLOAD;
    const char *headers = canonical_headers(a, r, NULL, 0, &out->signed_headers);
    size_t n = r->nquery + 5;
    struct sp_sigv4_pair *q = sp_arena_calloc(a, n, sizeof(*q));
    if (r->nquery > 0)
        memcpy(q, r->query, r->nquery * sizeof(*q));
    q[r->nquery + 0] = (struct sp_sigv4_pair){"X-Amz-Algorithm", ALGORITHM};
    q[r->nquery + 1] = (struct sp_sigv4_pair){
        "X-Amz-Credential", sp_arena_sprintf(a, "%s/%s", c->access_key_id, out->scope)};
    q[r->nquery + 2] = (struct sp_sigv4_pair){"X-Amz-Date", out->amz_date};
    q[r->nquery + 3] =
        (struct sp_sigv4_pair){"X-Amz-Expires", sp_arena_sprintf(a, "%ld", expires_s)};
    q[r->nquery + 4] = (struct sp_sigv4_pair){"X-Amz-SignedHeaders", out->signed_headers};
    const char *query = sp_sigv4_canonical_query(a, q, n);
    sign(a, c, r, query, headers, out);
    out->query = sp_arena_sprintf(a, "%s&X-Amz-Signature=%s", query, out->signature);
}

void
sp_sigv4_authorize(struct sp_arena *a, const struct sp_sigv4_creds *c,
                   const struct sp_sigv4_request *r, struct sp_sigv4_signed *out)
{
    *out = (struct sp_sigv4_signed){0};
    stamp(a, c, r->now_s, out);
    out->payload_hash = r->payload_hash != NULL ? r->payload_hash : UNSIGNED_PAYLOAD;
    const struct sp_sigv4_pair extra[] = {{"x-amz-content-sha256", out->payload_hash},
                                          {"x-amz-date", out->amz_date}};
    const char *headers = canonical_headers(a, r, extra, 2, &out->signed_headers);
    out->query = sp_sigv4_canonical_query(a, r->query, r->nquery);
    sign(a, c, r, out->query, headers, out);
    out->authorization =
        sp_arena_sprintf(a, ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                         c->access_key_id, out->scope, out->signed_headers, out->signature);
}
