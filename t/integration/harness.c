/*
 * harness: libcurl client, JWT minting/forging, libpq access and contract
 * assertions shared by every t/integration/test_*.c. See harness.h.
 *
 * State is per test: the checked fixture creates the arena and drops the
 * database connection, so tests stay independent under CK_FORK=no too.
 * Must not: retry, sleep or otherwise paper over a server that misbehaves.
 */
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/arena.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/fd.h"
#include "core/service_client.h"

#define SP_T_TIMEOUT_SECONDS   60   /* per test; ASan servers are slow */
#define SP_T_HTTP_TIMEOUT      30L
#define SP_T_TOKEN_TTL         900L
#define SP_T_PROBLEM_TYPE      "https://docs.support.example/errors/"

static struct sp_arena t_arena;
static bool t_live;
static PGconn *t_db;
static unsigned t_counter;

/* ---- fixture and running ------------------------------------------------ */

static void
t_setup(void)
{
    sp_arena_init(&t_arena, 64 * 1024);
    t_live = true;
    t_db = NULL;
    ck_assert_msg(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK, "curl_global_init failed");
}

static void
t_teardown(void)
{
    if (t_db != NULL)
        PQfinish(t_db);
    t_db = NULL;
    sp_arena_destroy(&t_arena);
    t_live = false;
    curl_global_cleanup();
}

static struct sp_arena *
t_a(void)
{
    ck_assert_msg(t_live, "harness used outside a test case made by sp_t_tcase()");
    return &t_arena;
}

static const char *
t_env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v != NULL && *v != '\0', "%s is not set (run through t/integration/run)", name);
    return v;
}

int
sp_t_run(Suite *s)
{
    static const char *const required[] = {"SP_TEST_BASE_URL", "SP_TEST_JWT_KEYS",
                                           "SP_TEST_DATABASE_URL"};
    SRunner *sr = srunner_create(s);  /* owns s from here on */
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        const char *v = getenv(required[i]);
        if (v == NULL || *v == '\0') {
            /* 99 = hard error for automake: a missing stack is no skip. */
            fprintf(stderr, "%s is not set; run through t/integration/run\n", required[i]);
            srunner_free(sr);
            return 99;
        }
    }
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

TCase *
sp_t_tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, t_setup, t_teardown);
    tcase_set_timeout(tc, SP_T_TIMEOUT_SECONDS);
    suite_add_tcase(s, tc);
    return tc;
}

/* ---- HTTP --------------------------------------------------------------- */

static void
t_headers_clear(struct sp_t_resp *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

static size_t
t_on_header(char *data, size_t size, size_t n, void *ud)
{
    struct sp_t_resp *r = ud;
    size_t len = size * n;
    /* A new status line (after 100 Continue) starts a new header block. */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        t_headers_clear(r);
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (colon == NULL)
        return len;
    const char *v = colon + 1, *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    struct sp_t_header *h = realloc(r->headers, (r->nheaders + 1) * sizeof(*h));
    if (h == NULL)
        return 0;
    r->headers = h;
    h[r->nheaders].name = strndup(data, (size_t)(colon - data));
    h[r->nheaders].value = strndup(v, (size_t)(end - v));
    if (h[r->nheaders].name == NULL || h[r->nheaders].value == NULL)
        return 0;
    r->nheaders++;
    return len;
}

static size_t
t_on_body(char *data, size_t size, size_t n, void *ud)
{
    struct sp_t_resp *r = ud;
    size_t len = size * n;
    char *b = realloc(r->body, r->body_len + len + 1);
    if (b == NULL)
        return 0;
    memcpy(b + r->body_len, data, len);
    r->body = b;
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

/* The whole body must be one JSON value (trailing whitespace allowed). */
static struct json_object *
t_parse_json(const char *s, size_t len)
{
    if (len == 0)
        return NULL;
    struct json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return NULL;
    struct json_object *o = json_tokener_parse_ex(tok, s, (int)len);
    size_t end = json_tokener_get_parse_end(tok);
    bool ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    while (ok && end < len && isspace((unsigned char)s[end]))
        end++;
    if (!ok || end != len) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Contract recording (t/contract/validate_responses.py): with
 * SP_TEST_CONTRACT_LOG set, every response is appended to that file as one
 * JSON line {method, path, status, content_type, headers ([name, value]
 * pairs), body}, path without its query. Off by default: one getenv per
 * request then. One writev() per line on an O_APPEND descriptor, so lines
 * of the runner's programs never interleave. */
static void
t_contract_record(const char *method, const char *path, const struct sp_t_resp *r)
{
    const char *log = getenv("SP_TEST_CONTRACT_LOG");
    if (log == NULL || *log == '\0')
        return;
    size_t plen = strcspn(path, "?#");
    const char *ct = sp_t_header(r, "Content-Type");
    struct json_object *o = json_object_new_object();
    ck_assert_msg(o != NULL, "out of memory");
    json_object_object_add(o, "method", json_object_new_string(method));
    json_object_object_add(o, "path", json_object_new_string_len(path, (int)plen));
    json_object_object_add(o, "status", json_object_new_int64(r->status));
    json_object_object_add(o, "content_type", ct != NULL ? json_object_new_string(ct) : NULL);
    struct json_object *hs = json_object_new_array_ext((int)r->nheaders);
    for (size_t i = 0; i < r->nheaders; i++) {
        struct json_object *pair = json_object_new_array_ext(2);
        json_object_array_add(pair, json_object_new_string(r->headers[i].name));
        json_object_array_add(pair, json_object_new_string(r->headers[i].value));
        json_object_array_add(hs, pair);
    }
    json_object_object_add(o, "headers", hs);
    json_object_object_add(o, "body", json_object_new_string_len(r->body, (int)r->body_len));
    size_t len;
    const char *line = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    char nl[] = "\n";
    struct iovec iov[2] = {{(void *)line, len}, {nl, 1}};
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    ssize_t w = fd >= 0 ? writev(fd, iov, 2) : -1;
    int err = errno;
    if (fd >= 0)
        close(fd);
    json_object_put(o);
    ck_assert_msg(w == (ssize_t)(len + 1), "%s: %s", log, w < 0 ? strerror(err) : "short write");
}

struct sp_t_resp *
sp_t_request_at(const char *file, int line, const char *method, const char *path,
                const char *token, const char *content_type, const char *body,
                const char *const extra_headers[])
{
    struct sp_arena *a = t_a();
    const char *base = t_env("SP_TEST_BASE_URL");
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    const char *url = sp_arena_sprintf(a, "%.*s%s", (int)blen, base, path);

    struct sp_t_resp *r = calloc(1, sizeof(*r));
    ck_assert_msg(r != NULL, "out of memory");
    r->body = calloc(1, 1);
    ck_assert_msg(r->body != NULL, "out of memory");

    CURL *c = curl_easy_init();
    ck_assert_msg(c != NULL, "%s:%d: curl_easy_init failed", file, line);
    struct curl_slist *hdrs = NULL;
    if (token != NULL)
        hdrs = curl_slist_append(hdrs, sp_arena_sprintf(a, "Authorization: Bearer %s", token));
    /* "Content-Type:" with no value stops curl adding a form type. */
    hdrs = curl_slist_append(hdrs, content_type != NULL
                                       ? sp_arena_sprintf(a, "Content-Type: %s", content_type)
                                       : "Content-Type:");
    for (size_t i = 0; extra_headers != NULL && extra_headers[i] != NULL; i++)
        hdrs = curl_slist_append(hdrs, extra_headers[i]);
    ck_assert_msg(hdrs != NULL, "out of memory");

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, SP_T_HTTP_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, t_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, t_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (strcmp(method, "GET") == 0 && body == NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL || strcmp(method, "POST") == 0) {
            const char *b = body != NULL ? body : "";
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(b));
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, b);
        }
    }

    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    /* A server may answer early (413) and reset the connection while we
     * still send; accept that only when the whole answer has arrived. */
    const char *clen = sp_t_header(r, "Content-Length");
    bool answered = r->status > 0
                    && (rc == CURLE_SEND_ERROR
                        || (rc == CURLE_RECV_ERROR && clen != NULL
                            && strtoull(clen, NULL, 10) == r->body_len));
    ck_assert_msg(rc == CURLE_OK || answered, "%s:%d: %s %s: %s", file, line, method, path,
                  curl_easy_strerror(rc));

    r->json = t_parse_json(r->body, r->body_len);
    t_contract_record(method, path, r);

    size_t nrid = sp_t_header_count(r, "X-Request-Id");
    const char *rid = sp_t_header(r, "X-Request-Id");
    ck_assert_msg(nrid == 1 && rid != NULL && *rid != '\0',
                  "%s:%d: %s %s -> %ld carries %zu X-Request-Id headers (want exactly one, "
                  "non-empty)", file, line, method, path, r->status, nrid);
    return r;
}

/* A connected TCP socket to SP_TEST_BASE_URL's host and port
 * ("http://HOST:PORT", as t/integration/run sets it). */
static int
t_raw_connect(const char *file, int line)
{
    const char *base = t_env("SP_TEST_BASE_URL");
    char host[256], port[16];
    ck_assert_msg(sscanf(base, "http://%255[^:/]:%15[0-9]", host, port) == 2,
                  "%s:%d: SP_TEST_BASE_URL %s is not http://HOST:PORT", file, line, base);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    ck_assert_msg(rc == 0, "%s:%d: %s: %s", file, line, base, gai_strerror(rc));
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    int err = errno;
    freeaddrinfo(ai);
    ck_assert_msg(ok, "%s:%d: connect %s: %s", file, line, base, strerror(err));
    struct timeval tv = {.tv_sec = SP_T_HTTP_TIMEOUT};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Splits a raw answer into r: status, headers (t_on_header's rules), body.
 * False while the headers or, before eof, the Content-Length bytes are
 * incomplete (an answer to HEAD has the length but no body). */
static bool
t_raw_parse(struct sp_t_resp *r, const char *in, size_t len, bool eof)
{
    const char *end = memmem(in, len, "\r\n\r\n", 4);
    if (end == NULL)
        return false;
    t_headers_clear(r);
    r->status = 0;
    sscanf(in, "HTTP/%*d.%*d %ld", &r->status);
    for (const char *l = in; l < end;) {
        const char *nl = memmem(l, (size_t)(end - l), "\r\n", 2);
        size_t n = (nl != NULL ? (size_t)(nl - l) : (size_t)(end - l));
        ck_assert_msg(t_on_header((char *)l, 1, n, r) == n, "out of memory");
        l += n + 2;
    }
    const char *body = end + 4, *clen = sp_t_header(r, "Content-Length");
    size_t blen = len - (size_t)(body - in);
    if (!eof && clen != NULL && blen < strtoull(clen, NULL, 10))
        return false;
    free(r->body);
    r->body = malloc(blen + 1);
    ck_assert_msg(r->body != NULL, "out of memory");
    memcpy(r->body, body, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    return true;
}

/* t_raw_connect, then the request sent. */
static int
t_raw_send(const char *file, int line, const char *bytes, size_t len)
{
    int fd = t_raw_connect(file, line);
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, bytes + off, len - off, MSG_NOSIGNAL);
        if (w < 0)
            break;  /* the server may answer and close before it read all */
        off += (size_t)w;
    }
    return fd;
}

const char *
sp_t_raw_all_at(const char *file, int line, const char *bytes, size_t len)
{
    int fd = t_raw_send(file, line, bytes, len);
    struct sp_buf in;
    sp_buf_init(&in, t_a(), 16384);
    for (;;) {
        char chunk[16384];
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        ck_assert_msg(n >= 0, "%s:%d: no close from the server: %s", file, line, strerror(errno));
        if (n == 0)
            break;
        sp_buf_append(&in, chunk, (size_t)n);
    }
    close(fd);
    sp_buf_append(&in, "", 1);
    return in.data;
}

struct sp_t_resp *
sp_t_raw_at(const char *file, int line, const char *bytes, size_t len)
{
    int fd = t_raw_send(file, line, bytes, len);
    struct sp_t_resp *r = calloc(1, sizeof(*r));
    ck_assert_msg(r != NULL, "out of memory");
    struct sp_buf in;
    sp_buf_init(&in, t_a(), 16384);
    bool done = false;
    for (;;) {
        char chunk[16384];
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            break;
        sp_buf_append(&in, chunk, (size_t)n);
        if ((done = t_raw_parse(r, in.data, in.len, false)))
            break;
    }
    if (!done)
        done = in.len > 0 && t_raw_parse(r, in.data, in.len, true);
    close(fd);
    ck_assert_msg(done && r->status > 0, "%s:%d: no complete HTTP answer: %.300s", file, line,
                  in.len > 0 ? in.data : "(nothing)");
    r->json = t_parse_json(r->body, r->body_len);
    return r;
}

void
sp_t_resp_free(struct sp_t_resp *r)
{
    if (r == NULL)
        return;
    t_headers_clear(r);
    json_object_put(r->json);
    free(r->body);
    free(r);
}

const char *
sp_t_header(const struct sp_t_resp *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

size_t
sp_t_header_count(const struct sp_t_resp *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            n++;
    return n;
}

/* ---- small builders ----------------------------------------------------- */

const char *
sp_t_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = sp_arena_vsprintf(t_a(), fmt, ap);
    va_end(ap);
    return s;
}

const char *
sp_t_unique(const char *prefix)
{
    return sp_t_fmt("%s-%ld-%ld-%u", prefix, (long)(time(NULL) % 100000), (long)getpid(),
                    t_counter++);
}

const char *
sp_t_env_file(const char *dir, const char *text)
{
    const char *path = sp_t_fmt("%s/support.env", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert(fputs(text, f) >= 0);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

const char *
sp_t_repeat(const char *unit, size_t n)
{
    size_t ul = strlen(unit);
    char *s = sp_arena_alloc(t_a(), ul * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * n] = '\0';
    return s;
}

const char *
sp_t_migration_text(const char *file)
{
    const char *path = sp_t_fmt("%s/sql/%s", getenv("SP_TEST_TOP_SRCDIR"), file);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    ck_assert_msg(n < sizeof(buf) - 1, "%s is longer than %zu bytes", path, sizeof(buf) - 2);
    buf[n] = '\0';
    return sp_t_fmt("%s", buf);
}

const char *
sp_t_jq(const char *s)
{
    struct sp_buf b;
    sp_buf_init(&b, t_a(), strlen(s) + 16);
    sp_buf_json_cstr(&b, s);
    return b.data;
}

const char *
sp_t_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    struct sp_buf b;
    sp_buf_init(&b, t_a(), strlen(s) * 3 + 1);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            sp_buf_putc(&b, (char)*p);
        } else {
            char q[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            sp_buf_append(&b, q, 3);
        }
    }
    return b.data;
}

bool
sp_t_matches(const char *re, const char *s)
{
    regex_t rx;
    ck_assert_msg(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) == 0, "bad regex %s", re);
    bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

bool
sp_t_list_has(const char *list, const char *token)
{
    size_t tl = strlen(token);
    const char *p = list;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ", \t");
        if (n == tl && strncmp(p, token, n) == 0)
            return true;
        p += n;
    }
    return false;
}

/* ---- tokens ------------------------------------------------------------- */

/* Looks kid up in SP_TEST_JWT_KEYS ("kid:secret,..."); kid NULL = first. */
static bool
t_key(const char *kid, const char **out_kid, const char **out_secret)
{
    const char *p = t_env("SP_TEST_JWT_KEYS");
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon != NULL) {
            size_t kl = (size_t)(colon - p);
            if (kid == NULL || (strlen(kid) == kl && memcmp(kid, p, kl) == 0)) {
                *out_kid = sp_arena_strndup(t_a(), p, kl);
                *out_secret = sp_arena_strndup(t_a(), colon + 1, len - kl - 1);
                return true;
            }
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return false;
}

const char *
sp_t_jwt_secret(const char *kid)
{
    const char *k, *s;
    return t_key(kid, &k, &s) ? s : NULL;
}

const char *
sp_t_jwt_default_kid(void)
{
    const char *k, *s;
    ck_assert_msg(t_key(NULL, &k, &s), "SP_TEST_JWT_KEYS has no kid:secret pair");
    return k;
}

const char *
sp_t_token_raw(const char *kid, const char *secret, const char *sub, enum sp_role role,
               time_t now, long ttl_seconds)
{
    char *t = sp_auth_mint_hs256(t_a(), kid, secret, sub, role, now, ttl_seconds, NULL);
    ck_assert_msg(t != NULL, "sp_auth_mint_hs256 refused (kid %s, sub %s)",
                  kid != NULL ? kid : "(none)", sub);
    return t;
}

const char *
sp_t_token(enum sp_role role, const char *sub)
{
    const char *kid, *secret;
    ck_assert_msg(t_key(NULL, &kid, &secret), "SP_TEST_JWT_KEYS has no kid:secret pair");
    return sp_t_token_raw(kid, secret, sub, role, time(NULL), SP_T_TOKEN_TTL);
}

struct sp_t_user
sp_t_user_new(enum sp_role role)
{
    /* Numeric, at most 12 digits, first digit non-zero: unique across the
     * forked test processes (pid), within one (counter) and across runs on
     * one database (seconds). */
    const char *sub = sp_t_fmt("%ld%05ld%03u", 1 + (long)(time(NULL) % 999),
                               (long)(getpid() % 100000), t_counter++ % 1000);
    struct sp_t_user u = {sub, sp_t_token(role, sub), role};
    return u;
}

/* n bytes as base64url onto b (a JWT's segments). */
static void
t_b64url(struct sp_buf *b, const unsigned char *p, size_t n)
{
    sp_buf_puts(b, sp_b64url_encode(t_a(), p, n));
}

const char *
sp_t_jwt_forge(const char *header_json, const char *payload_json, const char *hs256_secret)
{
    struct sp_buf b;
    sp_buf_init(&b, t_a(), 512);
    t_b64url(&b, (const unsigned char *)header_json, strlen(header_json));
    sp_buf_putc(&b, '.');
    t_b64url(&b, (const unsigned char *)payload_json, strlen(payload_json));
    size_t signed_len = b.len;
    sp_buf_putc(&b, '.');
    if (hs256_secret != NULL) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        ck_assert_msg(HMAC(EVP_sha256(), hs256_secret, (int)strlen(hs256_secret),
                           (const unsigned char *)b.data, signed_len, mac, &maclen) != NULL,
                      "HMAC failed");
        t_b64url(&b, mac, maclen);
    }
    return b.data;
}

/* ---- database ------------------------------------------------------------ */

PGconn *
sp_t_tx_hold(const char *sql)
{
    PGconn *db = PQconnectdb(getenv("SP_TEST_DATABASE_URL"));
    ck_assert_msg(PQstatus(db) == CONNECTION_OK, "connect: %s", PQerrorMessage(db));
    PQclear(PQexec(db, "BEGIN"));
    PGresult *r = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(r);
    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQresultErrorMessage(r));
    PQclear(r);
    return db;
}

void
sp_t_tx_release(PGconn *db)
{
    PQclear(PQexec(db, "COMMIT"));
    PQfinish(db);
}

const char *
sp_t_silent_database(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(*fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    ck_assert_int_eq(bind(*fd, (struct sockaddr *)&sa, len), 0);
    ck_assert_int_eq(listen(*fd, 64), 0);
    ck_assert_int_eq(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
    return sp_t_fmt("host=127.0.0.1 port=%d dbname=x user=x", ntohs(sa.sin_port));
}

bool
sp_t_pick_lock_awaited(long long key)
{
    return strcmp(sp_t_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                           " AND NOT granted AND classid = 7311947"
                           " AND objid::bigint = (%lld::bigint & 4294967295)", key), "0") != 0;
}

const char *
sp_t_sql_at(const char *file, int line, const char *fmt, ...)
{
    struct sp_arena *a = t_a();
    va_list ap;
    va_start(ap, fmt);
    const char *sql = sp_arena_vsprintf(a, fmt, ap);
    va_end(ap);

    if (t_db == NULL) {
        t_db = PQconnectdb(t_env("SP_TEST_DATABASE_URL"));
        ck_assert_msg(PQstatus(t_db) == CONNECTION_OK, "%s:%d: database: %s", file, line,
                      PQerrorMessage(t_db));
    }
    PGresult *res = PQexec(t_db, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        const char *msg = sp_arena_strdup(a, PQresultErrorMessage(res));
        PQclear(res);
        ck_abort_msg("%s:%d: SQL failed: %s\n  %s", file, line, msg, sql);
    }
    const char *v = NULL;
    if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0
        && !PQgetisnull(res, 0, 0))
        v = sp_arena_strdup(a, PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

const char *
sp_t_db_category_new(bool active)
{
    const char *slug = sp_t_unique("cat");
    const char *got = sp_t_sql("INSERT INTO support_categories (slug, name, is_active) "
                               "VALUES ('%s', 'Category %s', %s) RETURNING slug",
                               slug, slug, active ? "true" : "false");
    ck_assert_msg(got != NULL && strcmp(got, slug) == 0, "category %s not inserted", slug);
    return slug;
}

const char *
sp_t_db_agent_new(void)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    const char *id = sp_t_sql("INSERT INTO support_agents (user_id, team, status, "
                              "max_concurrent_chats) VALUES ('%s', 'general', 'active', 3) "
                              "RETURNING id", u.sub);
    ck_assert_msg(id != NULL, "agent %s not inserted", u.sub);
    return id;
}

void
sp_t_db_ticket_set_status(const char *public_id, const char *status)
{
    const char *got = sp_t_sql("UPDATE support_tickets SET status = '%s', closed_at = "
                               "CASE WHEN '%s' = 'closed' THEN now() END "
                               "WHERE public_id = '%s' RETURNING public_id",
                               status, status, public_id);
    ck_assert_msg(got != NULL, "ticket %s not found in support_tickets", public_id);
}

void
sp_t_db_ticket_assign(const char *public_id, const char *agent_id)
{
    const char *got = sp_t_sql("UPDATE support_tickets SET assigned_agent_id = %s "
                               "WHERE public_id = '%s' RETURNING public_id",
                               agent_id, public_id);
    ck_assert_msg(got != NULL, "ticket %s not found in support_tickets", public_id);
}

long
sp_t_db_event_count(const char *public_id, const char *event_type)
{
    const char *n = sp_t_sql("SELECT count(*) FROM support_ticket_events e "
                             "JOIN support_tickets t ON t.id = e.ticket_id "
                             "WHERE t.public_id = '%s' AND e.event_type = '%s'",
                             public_id, event_type);
    ck_assert_msg(n != NULL, "count(*) returned no row");
    return strtol(n, NULL, 10);
}

int64_t
sp_t_db_assignee(const char *public_id)
{
    const char *v = sp_t_sql("SELECT coalesce(assigned_agent_id, 0) FROM support_tickets "
                             "WHERE public_id = '%s'", public_id);
    ck_assert_msg(v != NULL, "ticket %s not found", public_id);
    return strtoll(v, NULL, 10);
}

void
sp_t_db_fillers_add(int64_t agent_id, int n, const char *tag)
{
    const char *got = sp_t_sql(
        "WITH x AS (INSERT INTO support_tickets (public_id, customer_id, subject, description,"
        " assigned_agent_id, status) SELECT 'Y' || upper(substr(md5(random()::text || g::text"
        " || clock_timestamp()::text), 1, 11)), '%s', 'capacity filler', 'filler', %lld, 'open'"
        " FROM generate_series(1, %d) g RETURNING 1) SELECT count(*) FROM x",
        tag, (long long)agent_id, n);
    ck_assert_str_eq(got, sp_t_fmt("%d", n));
}

void
sp_t_db_fillers_close(const char *tag)
{
    sp_t_sql("UPDATE support_tickets SET status = 'closed', closed_at = now() "
             "WHERE customer_id = '%s' AND status <> 'closed'", tag);
}

void
sp_t_db_contact_make_legacy(const char *customer_id, const char *name, const char *email)
{
    char *keys = NULL, err[256];
    size_t len = 0;
    ck_assert_int_eq(sp_fd_read_file(getenv("SP_TEST_ENCRYPTION_KEYS_FILE"), 65536, &keys, &len),
                     SP_FD_READ_OK);
    struct sp_crypto *c = sp_crypto_new(keys, NULL, err, sizeof(err));
    free(keys);
    ck_assert_msg(c != NULL, "%s", err);
    const char *claims[4] = {name, email, NULL, NULL};
    ck_assert_ptr_nonnull(
        sp_t_sql("UPDATE support_contacts SET email_index = '%s', claims_fingerprint = '%s'"
                 " WHERE customer_id = '%s' RETURNING 1",
                 sp_crypto_email_index_legacy(c, t_a(), email),
                 sp_crypto_fingerprint(c, t_a(), claims, 4), customer_id));
    sp_crypto_free(c);
}

/* ---- JSON access ----------------------------------------------------------- */

bool
sp_t_jhas(struct json_object *o, const char *key)
{
    return o != NULL && json_object_is_type(o, json_type_object)
           && json_object_object_get_ex(o, key, NULL);
}

static const char *
t_jtype(struct json_object *o)
{
    return json_type_to_name(json_object_get_type(o));
}

struct json_object *
sp_t_jget_at(const char *file, int line, struct json_object *o, const char *key,
             enum json_type type, bool check_type)
{
    ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
                  "%s:%d: want a JSON object holding \"%s\", got %s", file, line, key,
                  o != NULL ? json_object_to_json_string(o) : "(no JSON)");
    struct json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "%s:%d: \"%s\" missing in %.600s",
                  file, line, key, json_object_to_json_string(o));
    ck_assert_msg(!check_type || json_object_get_type(v) == type,
                  "%s:%d: \"%s\" is %s, want %s (%.200s)", file, line, key, t_jtype(v),
                  json_type_to_name(type), json_object_to_json_string(v));
    return v;
}

const char *
sp_t_jstr_at(const char *file, int line, struct json_object *o, const char *key)
{
    return json_object_get_string(sp_t_jget_at(file, line, o, key, json_type_string, true));
}

int64_t
sp_t_jint_at(const char *file, int line, struct json_object *o, const char *key)
{
    return json_object_get_int64(sp_t_jget_at(file, line, o, key, json_type_int, true));
}

/* ---- contract assertions ------------------------------------------------ */

void
sp_t_assert_status_at(const char *file, int line, const struct sp_t_resp *r, long status)
{
    ck_assert_msg(r->status == status, "%s:%d: HTTP %ld, want %ld; body: %.800s", file, line,
                  r->status, status, r->body);
}

static bool
t_media_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (ct == NULL || strncasecmp(ct, want, n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

void
sp_t_assert_json_at(const char *file, int line, const struct sp_t_resp *r, long status)
{
    sp_t_assert_status_at(file, line, r, status);
    const char *ct = sp_t_header(r, "Content-Type");
    ck_assert_msg(t_media_type_is(ct, "application/json"),
                  "%s:%d: Content-Type %s, want application/json", file, line,
                  ct != NULL ? ct : "(none)");
    ck_assert_msg(r->json != NULL, "%s:%d: body is not JSON: %.300s", file, line, r->body);
}

void
sp_t_assert_problem_at(const char *file, int line, const struct sp_t_resp *r, long status,
                       const char *code)
{
    sp_t_assert_status_at(file, line, r, status);
    const char *ct = sp_t_header(r, "Content-Type");
    ck_assert_msg(t_media_type_is(ct, "application/problem+json"),
                  "%s:%d: Content-Type %s, want application/problem+json", file, line,
                  ct != NULL ? ct : "(none)");
    struct json_object *j = r->json;
    ck_assert_msg(j != NULL && json_object_is_type(j, json_type_object),
                  "%s:%d: problem body is not a JSON object: %.300s", file, line, r->body);
    ck_assert_msg(sp_t_jint(j, "status") == status, "%s:%d: body status %lld, want %ld", file,
                  line, (long long)sp_t_jint(j, "status"), status);
    const char *got = sp_t_jstr(j, "code");
    ck_assert_msg(strcmp(got, code) == 0, "%s:%d: code \"%s\", want \"%s\"; body: %.500s", file,
                  line, got, code, r->body);
    const char *type = sp_t_jstr(j, "type");
    ck_assert_msg(strncmp(type, SP_T_PROBLEM_TYPE, strlen(SP_T_PROBLEM_TYPE)) == 0
                      && strcmp(type + strlen(SP_T_PROBLEM_TYPE), code) == 0,
                  "%s:%d: type \"%s\", want %s%s", file, line, type, SP_T_PROBLEM_TYPE, code);
    ck_assert_msg(*sp_t_jstr(j, "title") != '\0', "%s:%d: empty title", file, line);
    if (sp_t_jhas(j, "detail"))
        (void)sp_t_jstr(j, "detail");
    const char *rid = sp_t_jstr(j, "request_id");
    const char *hrid = sp_t_header(r, "X-Request-Id");
    ck_assert_msg(hrid != NULL && strcmp(rid, hrid) == 0,
                  "%s:%d: request_id \"%s\" differs from X-Request-Id \"%s\"", file, line, rid,
                  hrid != NULL ? hrid : "(none)");
    if (strcmp(code, "validation_failed") != 0)
        ck_assert_msg(!sp_t_jhas(j, "errors"), "%s:%d: errors[] outside validation_failed",
                      file, line);
    if (status == 401) {
        const char *wa = sp_t_header(r, "WWW-Authenticate");
        ck_assert_msg(wa != NULL && strncasecmp(wa, "Bearer", 6) == 0,
                      "%s:%d: 401 without WWW-Authenticate: Bearer (got %s)", file, line,
                      wa != NULL ? wa : "(none)");
    }
    if (status == 405) {
        const char *allow = sp_t_header(r, "Allow");
        ck_assert_msg(allow != NULL && *allow != '\0', "%s:%d: 405 without Allow", file, line);
    }
}

void
sp_t_assert_invalid_at(const char *file, int line, const struct sp_t_resp *r,
                       const char *field, const char *code)
{
    sp_t_assert_problem_at(file, line, r, 422, "validation_failed");
    struct json_object *errs = sp_t_jarr(r->json, "errors");
    size_t n = json_object_array_length(errs);
    ck_assert_msg(n > 0, "%s:%d: validation_failed with empty errors[]", file, line);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(errs, i);
        const char *f = sp_t_jstr(e, "field");
        const char *c = sp_t_jstr(e, "code");
        (void)sp_t_jstr(e, "message");
        if (strcmp(f, field) == 0 && (code == NULL || strcmp(c, code) == 0))
            found = true;
    }
    ck_assert_msg(found, "%s:%d: errors[] has no {field \"%s\", code \"%s\"}: %.600s", file,
                  line, field, code != NULL ? code : "*", json_object_to_json_string(errs));
}

const char *
sp_t_invalid_message_at(const char *file, int line, const struct sp_t_resp *r,
                        const char *field)
{
    sp_t_assert_invalid_at(file, line, r, field, NULL);
    struct json_object *errs = sp_t_jarr(r->json, "errors");
    for (size_t i = 0; i < json_object_array_length(errs); i++) {
        struct json_object *e = json_object_array_get_idx(errs, i);
        if (strcmp(sp_t_jstr(e, "field"), field) == 0)
            return sp_t_jstr(e, "message");
    }
    return NULL; /* not reached: sp_t_assert_invalid_at found one */
}

void
sp_t_assert_timestamp_at(const char *file, int line, const char *s)
{
    static const char re[] = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                             "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z$";
    ck_assert_msg(s != NULL && sp_t_matches(re, s),
                  "%s:%d: \"%s\" is not RFC 3339 UTC with milliseconds (YYYY-MM-DDTHH:MM:SS.mmmZ)",
                  file, line, s != NULL ? s : "(null)");
}

void
sp_t_assert_recent_at(const char *file, int line, const char *s)
{
    sp_t_assert_timestamp_at(file, line, s);
    struct tm tm = {0};
    ck_assert_msg(strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) != NULL, "%s:%d: unparsable %s", file,
                  line, s);
    double skew = difftime(timegm(&tm), time(NULL));
    ck_assert_msg(skew > -600 && skew < 600, "%s:%d: %s is %.0f s away from now (UTC?)", file,
                  line, s, skew);
}

void
sp_t_assert_public_id_at(const char *file, int line, const char *s)
{
    /* Crockford base32 has no I, L, O, U. */
    ck_assert_msg(s != NULL && sp_t_matches("^[A-HJKMNP-TV-Z][0-9A-HJKMNP-TV-Z]{11}$", s),
                  "%s:%d: public_id \"%s\" is not 12 Crockford base32 chars starting with a "
                  "letter", file, line, s != NULL ? s : "(null)");
}

static void
t_assert_one_of(const char *file, int line, const char *key, const char *v,
                const char *const *allowed)
{
    for (size_t i = 0; allowed[i] != NULL; i++)
        if (strcmp(v, allowed[i]) == 0)
            return;
    ck_abort_msg("%s:%d: %s \"%s\" is not a value of the contract", file, line, key, v);
}

static const char *const t_statuses[] = {"open", "in_progress", "pending_customer", "resolved",
                                         "closed", NULL};
static const char *const t_priorities[] = {"low", "normal", "high", "urgent", NULL};
static const char *const t_sources[] = {"web", "email", "chat", NULL};
static const char *const t_senders[] = {"customer", "agent", "system", "ai_bot", NULL};

/* Agent view fields (API.md §5) that must never reach a customer. */
static const char *const t_agent_only[] = {
    "id", "customer_id", "customer", "assigned_agent_id", "sla_due_at",
    "first_response_due_at", "first_responded_at", "resolution_due_at", "sla_paused",
    "sla_breached", "escalated_at", "sentiment", "priority_rule", "chat_session_id", NULL};

static void
t_assert_str_or_null(const char *file, int line, struct json_object *o, const char *key)
{
    struct json_object *v = sp_t_jget_at(file, line, o, key, json_type_null, false);
    ck_assert_msg(v == NULL || json_object_is_type(v, json_type_string),
                  "%s:%d: \"%s\" must be a string or null", file, line, key);
}

void
sp_t_assert_message_view_at(const char *file, int line, struct json_object *m)
{
    ck_assert_msg(sp_t_jget_at(file, line, m, "id", json_type_int, true) != NULL
                      && sp_t_jint(m, "id") > 0, "%s:%d: message id must be > 0", file, line);
    t_assert_one_of(file, line, "sender_type",
                    json_object_get_string(
                        sp_t_jget_at(file, line, m, "sender_type", json_type_string, true)),
                    t_senders);
    t_assert_str_or_null(file, line, m, "sender_name");
    (void)sp_t_jget_at(file, line, m, "body", json_type_string, true);
    (void)sp_t_jget_at(file, line, m, "attachments", json_type_array, true);
    sp_t_assert_timestamp_at(file, line, json_object_get_string(
        sp_t_jget_at(file, line, m, "created_at", json_type_string, true)));
    ck_assert_msg(!sp_t_jhas(m, "is_internal"), "%s:%d: is_internal shown to a customer", file,
                  line);
    ck_assert_msg(!sp_t_jhas(m, "sender_id"), "%s:%d: sender_id shown to a customer", file,
                  line);
}

/* The fields the customer and the agent view share (API.md §4). */
static void
t_assert_shared_ticket_fields(const char *file, int line, struct json_object *t)
{
#define T_STR(key) json_object_get_string(sp_t_jget_at(file, line, t, (key), json_type_string, true))
    sp_t_assert_public_id_at(file, line, T_STR("public_id"));
    (void)T_STR("subject");
    (void)T_STR("description");
    const char *status = T_STR("status");
    t_assert_one_of(file, line, "status", status, t_statuses);
    t_assert_one_of(file, line, "priority", T_STR("priority"), t_priorities);
    t_assert_one_of(file, line, "source", T_STR("source"), t_sources);
    t_assert_str_or_null(file, line, t, "category");
    t_assert_str_or_null(file, line, t, "booking_id");
    struct json_object *pid = sp_t_jget_at(file, line, t, "provider_id", json_type_null, false);
    ck_assert_msg(pid == NULL || json_object_is_type(pid, json_type_int),
                  "%s:%d: provider_id must be an integer or null", file, line);
    sp_t_assert_timestamp_at(file, line, T_STR("created_at"));
    sp_t_assert_timestamp_at(file, line, T_STR("updated_at"));
    struct json_object *closed = sp_t_jget_at(file, line, t, "closed_at", json_type_null, false);
    if (strcmp(status, "closed") == 0)
        sp_t_assert_timestamp_at(file, line, json_object_get_string(closed));
    else
        ck_assert_msg(closed == NULL, "%s:%d: closed_at set on a %s ticket", file, line, status);
    ck_assert_msg(json_object_get_int64(
                      sp_t_jget_at(file, line, t, "version", json_type_int, true)) >= 1,
                  "%s:%d: version must be >= 1", file, line);
#undef T_STR
}

void
sp_t_assert_ticket_view_at(const char *file, int line, struct json_object *t, bool with_messages)
{
#define T_STR(key) json_object_get_string(sp_t_jget_at(file, line, t, (key), json_type_string, true))
    t_assert_shared_ticket_fields(file, line, t);
    if (with_messages) {
        struct json_object *ms = sp_t_jget_at(file, line, t, "messages", json_type_array, true);
        for (size_t i = 0; i < json_object_array_length(ms); i++)
            sp_t_assert_message_view_at(file, line, json_object_array_get_idx(ms, i));
    } else {
        ck_assert_msg(!sp_t_jhas(t, "messages"), "%s:%d: list item carries messages", file,
                      line);
        sp_t_assert_timestamp_at(file, line, T_STR("last_message_at"));
        ck_assert_msg(json_object_get_int64(sp_t_jget_at(file, line, t, "message_count",
                                                         json_type_int, true)) >= 1,
                      "%s:%d: message_count must be >= 1 (the description)", file, line);
    }
    for (size_t i = 0; t_agent_only[i] != NULL; i++)
        ck_assert_msg(!sp_t_jhas(t, t_agent_only[i]),
                      "%s:%d: agent-only field \"%s\" shown to a customer", file, line,
                      t_agent_only[i]);
#undef T_STR
}

/* ---- customer ticket API shortcuts ------------------------------------- */

const char *
sp_t_ticket_create_at(const char *file, int line, const struct sp_t_user *u,
                      const char *subject)
{
    const char *body = sp_t_fmt("{\"subject\":%s,\"description\":%s}", sp_t_jq(subject),
                                sp_t_jq(sp_t_fmt("About %s", subject)));
    struct sp_t_resp *r = sp_t_request_at(file, line, "POST", "/support/tickets", u->token,
                                          SP_T_JSON, body, NULL);
    sp_t_assert_status_at(file, line, r, 201);
    const char *id = sp_arena_strdup(
        t_a(), json_object_get_string(
                   sp_t_jget_at(file, line, r->json, "public_id", json_type_string, true)));
    sp_t_resp_free(r);
    return id;
}

int64_t
sp_t_ticket_reply_at(const char *file, int line, const struct sp_t_user *u,
                     const char *public_id, const char *body)
{
    struct sp_t_resp *r = sp_t_request_at(
        file, line, "POST", sp_t_fmt("/support/tickets/%s/messages", public_id), u->token,
        SP_T_JSON, sp_t_fmt("{\"body\":%s}", sp_t_jq(body)), NULL);
    sp_t_assert_status_at(file, line, r, 201);
    int64_t id = json_object_get_int64(sp_t_jget_at(file, line, r->json, "id", json_type_int,
                                                    true));
    sp_t_resp_free(r);
    return id;
}

struct sp_t_resp *
sp_t_ticket_get_at(const char *file, int line, const struct sp_t_user *u, const char *public_id)
{
    struct sp_t_resp *r = sp_t_request_at(file, line, "GET",
                                          sp_t_fmt("/support/tickets/%s", public_id), u->token,
                                          NULL, NULL, NULL);
    sp_t_assert_status_at(file, line, r, 200);
    return r;
}

/* ---- agent API helpers -------------------------------------------------- */

const char *
sp_t_token_claims(enum sp_role role, const char *sub, const char *extra_json)
{
    const char *kid, *secret;
    ck_assert_msg(t_key(NULL, &kid, &secret), "SP_TEST_JWT_KEYS has no kid:secret pair");
    char *t = sp_auth_mint_hs256(t_a(), kid, secret, sub, role, time(NULL), SP_T_TOKEN_TTL,
                                 extra_json);
    ck_assert_msg(t != NULL, "sp_auth_mint_hs256 refused (sub %s, claims %s)", sub,
                  extra_json != NULL ? extra_json : "(none)");
    return t;
}

int64_t
sp_t_ts_ms_at(const char *file, int line, const char *s)
{
    sp_t_assert_timestamp_at(file, line, s);
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    ck_assert_msg(rest != NULL && rest[0] == '.', "%s:%d: unparsable %s", file, line, s);
    int64_t ms = (int64_t)(rest[1] - '0') * 100 + (rest[2] - '0') * 10 + (rest[3] - '0');
    return (int64_t)timegm(&tm) * 1000 + ms;
}

int64_t
sp_t_jts_ms_at(const char *file, int line, struct json_object *o, const char *key)
{
    struct json_object *v = sp_t_jget_at(file, line, o, key, json_type_null, false);
    if (v == NULL)
        return 0;
    ck_assert_msg(json_object_is_type(v, json_type_string), "%s:%d: \"%s\" is %s, want a string",
                  file, line, key, t_jtype(v));
    return sp_t_ts_ms_at(file, line, json_object_get_string(v));
}

int64_t
sp_t_agent_id_at(const char *file, int line, const struct sp_t_user *u)
{
    struct sp_t_resp *r = sp_t_request_at(file, line, "GET", "/support/agent/me", u->token, NULL,
                                          NULL, NULL);
    sp_t_assert_json_at(file, line, r, 200);
    int64_t id = sp_t_jint_at(file, line, r->json, "id");
    ck_assert_msg(id > 0, "%s:%d: agent id %lld", file, line, (long long)id);
    const char *uid = sp_t_jstr_at(file, line, r->json, "user_id");
    ck_assert_msg(strcmp(uid, u->sub) == 0, "%s:%d: agent user_id %s, want %s", file, line, uid,
                  u->sub);
    sp_t_resp_free(r);
    return id;
}

struct sp_t_resp *
sp_t_agent_ticket_at(const char *file, int line, const struct sp_t_user *u, const char *ref)
{
    struct sp_t_resp *r = sp_t_request_at(file, line, "GET",
                                          sp_t_fmt("/support/agent/tickets/%s", ref), u->token,
                                          NULL, NULL, NULL);
    sp_t_assert_json_at(file, line, r, 200);
    sp_t_assert_agent_view_at(file, line, r->json, true);
    return r;
}

static void
t_assert_ts_or_null(const char *file, int line, struct json_object *o, const char *key)
{
    struct json_object *v = sp_t_jget_at(file, line, o, key, json_type_null, false);
    if (v != NULL) {
        ck_assert_msg(json_object_is_type(v, json_type_string),
                      "%s:%d: \"%s\" must be a timestamp or null", file, line, key);
        sp_t_assert_timestamp_at(file, line, json_object_get_string(v));
    }
}

static void
t_assert_agent_message(const char *file, int line, struct json_object *m)
{
    ck_assert_msg(json_object_get_int64(sp_t_jget_at(file, line, m, "id", json_type_int, true))
                      > 0, "%s:%d: message id must be > 0", file, line);
    t_assert_one_of(file, line, "sender_type",
                    json_object_get_string(
                        sp_t_jget_at(file, line, m, "sender_type", json_type_string, true)),
                    t_senders);
    t_assert_str_or_null(file, line, m, "sender_id");
    t_assert_str_or_null(file, line, m, "sender_name");
    (void)sp_t_jget_at(file, line, m, "is_internal", json_type_boolean, true);
    (void)sp_t_jget_at(file, line, m, "body", json_type_string, true);
    (void)sp_t_jget_at(file, line, m, "attachments", json_type_array, true);
    sp_t_assert_timestamp_at(file, line, json_object_get_string(
        sp_t_jget_at(file, line, m, "created_at", json_type_string, true)));
}

void
sp_t_assert_agent_view_at(const char *file, int line, struct json_object *t, bool with_messages)
{
    static const char *const tiers[] = {"standard", "premium", "vip", NULL};
#define T_STR(key) json_object_get_string(sp_t_jget_at(file, line, t, (key), json_type_string, true))
    ck_assert_msg(json_object_get_int64(sp_t_jget_at(file, line, t, "id", json_type_int, true))
                      > 0, "%s:%d: ticket id must be > 0", file, line);
    t_assert_shared_ticket_fields(file, line, t);

    /* the agent-only part */
    (void)T_STR("customer_id");
    struct json_object *c = sp_t_jget_at(file, line, t, "customer", json_type_object, true);
    t_assert_str_or_null(file, line, c, "name");
    t_assert_str_or_null(file, line, c, "email");
    t_assert_str_or_null(file, line, c, "phone");
    t_assert_one_of(file, line, "customer.tier",
                    json_object_get_string(
                        sp_t_jget_at(file, line, c, "tier", json_type_string, true)),
                    tiers);
    struct json_object *aa = sp_t_jget_at(file, line, t, "assigned_agent_id", json_type_null,
                                          false);
    ck_assert_msg(aa == NULL || json_object_is_type(aa, json_type_int),
                  "%s:%d: assigned_agent_id must be an integer or null", file, line);
    t_assert_ts_or_null(file, line, t, "sla_due_at");
    t_assert_ts_or_null(file, line, t, "first_response_due_at");
    t_assert_ts_or_null(file, line, t, "first_responded_at");
    t_assert_ts_or_null(file, line, t, "resolution_due_at");
    t_assert_ts_or_null(file, line, t, "escalated_at");
    (void)sp_t_jget_at(file, line, t, "sla_paused", json_type_boolean, true);
    (void)sp_t_jget_at(file, line, t, "sla_breached", json_type_boolean, true);
    struct json_object *se = sp_t_jget_at(file, line, t, "sentiment", json_type_null, false);
    ck_assert_msg(se == NULL || ((json_object_is_type(se, json_type_double)
                                  || json_object_is_type(se, json_type_int))
                                 && json_object_get_double(se) >= -1.0
                                 && json_object_get_double(se) <= 1.0),
                  "%s:%d: sentiment must be a number in -1..1 or null", file, line);
    t_assert_str_or_null(file, line, t, "priority_rule");
    t_assert_str_or_null(file, line, t, "chat_session_id");

    if (with_messages) {
        struct json_object *ms = sp_t_jget_at(file, line, t, "messages", json_type_array, true);
        for (size_t i = 0; i < json_object_array_length(ms); i++)
            t_assert_agent_message(file, line, json_object_array_get_idx(ms, i));
    } else {
        ck_assert_msg(!sp_t_jhas(t, "messages"), "%s:%d: queue item carries messages", file,
                      line);
        sp_t_assert_timestamp_at(file, line, T_STR("last_message_at"));
        ck_assert_msg(json_object_get_int64(sp_t_jget_at(file, line, t, "message_count",
                                                         json_type_int, true)) >= 1,
                      "%s:%d: message_count must be >= 1 (the description)", file, line);
    }
#undef T_STR
}

struct sp_t_resp *
sp_t_agent_events_at(const char *file, int line, const struct sp_t_user *u, const char *ref)
{
    struct sp_t_resp *r = sp_t_request_at(
        file, line, "GET", sp_t_fmt("/support/agent/tickets/%s/events?limit=100", ref), u->token,
        NULL, NULL, NULL);
    sp_t_assert_json_at(file, line, r, 200);
    struct json_object *data = sp_t_jget_at(file, line, r->json, "data", json_type_array, true);
    (void)sp_t_jget_at(file, line, r->json, "next_cursor", json_type_null, false);
    static const char *const actors[] = {"customer", "agent", "system", "ai_bot", NULL};
    int64_t prev = 0;
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        struct json_object *e = json_object_array_get_idx(data, i);
        int64_t id = json_object_get_int64(sp_t_jget_at(file, line, e, "id", json_type_int, true));
        ck_assert_msg(id > prev, "%s:%d: events not oldest first (id %lld after %lld)", file,
                      line, (long long)id, (long long)prev);
        prev = id;
        (void)sp_t_jget_at(file, line, e, "event_type", json_type_string, true);
        t_assert_one_of(file, line, "actor_type",
                        json_object_get_string(
                            sp_t_jget_at(file, line, e, "actor_type", json_type_string, true)),
                        actors);
        t_assert_str_or_null(file, line, e, "performed_by");
        (void)sp_t_jget_at(file, line, e, "metadata", json_type_object, true);
        sp_t_assert_timestamp_at(file, line, json_object_get_string(
            sp_t_jget_at(file, line, e, "created_at", json_type_string, true)));
    }
    return r;
}

static struct json_object *
t_events_data(const struct sp_t_resp *events)
{
    struct json_object *data = NULL;
    ck_assert_msg(events->json != NULL && json_object_object_get_ex(events->json, "data", &data)
                      && json_object_is_type(data, json_type_array),
                  "not an events response: %.300s", events->body);
    return data;
}

size_t
sp_t_events_count(const struct sp_t_resp *events, const char *event_type)
{
    struct json_object *data = t_events_data(events);
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        struct json_object *t = NULL;
        if (json_object_object_get_ex(json_object_array_get_idx(data, i), "event_type", &t)
            && strcmp(json_object_get_string(t), event_type) == 0)
            n++;
    }
    return n;
}

struct json_object *
sp_t_events_last(const struct sp_t_resp *events, const char *event_type)
{
    struct json_object *data = t_events_data(events);
    struct json_object *last = NULL;
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        struct json_object *e = json_object_array_get_idx(data, i), *t = NULL;
        if (json_object_object_get_ex(e, "event_type", &t)
            && strcmp(json_object_get_string(t), event_type) == 0)
            last = e;
    }
    return last;
}

long
sp_t_db_outbox_count(const char *public_id, const char *kind, const char *event_type,
                     const char *channel, const char *recipient)
{
    const char *n = sp_t_sql(
        "SELECT count(*) FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id "
        "WHERE t.public_id = '%s' AND o.kind = '%s' AND o.event_type = '%s'%s%s%s%s%s%s",
        public_id, kind, event_type, channel != NULL ? " AND o.channel = '" : "",
        channel != NULL ? channel : "", channel != NULL ? "'" : "",
        recipient != NULL ? " AND o.recipient = '" : "", recipient != NULL ? recipient : "",
        recipient != NULL ? "'" : "");
    ck_assert_msg(n != NULL, "count(*) returned no row");
    return strtol(n, NULL, 10);
}

const char *
sp_t_ticket_create_json_at(const char *file, int line, const struct sp_t_user *u,
                           const char *json)
{
    struct sp_t_resp *r = sp_t_request_at(file, line, "POST", "/support/tickets", u->token,
                                          SP_T_JSON, json, NULL);
    sp_t_assert_status_at(file, line, r, 201);
    const char *id = sp_arena_strdup(
        t_a(), json_object_get_string(
                   sp_t_jget_at(file, line, r->json, "public_id", json_type_string, true)));
    sp_t_resp_free(r);
    return id;
}

/* One easy handle of a parallel batch: call c with the extra headers
 * (NULL: none), answered into out. */
static CURL *
t_call_handle(const char *base, size_t blen, const struct sp_t_call *c, const char *content_type,
              const char *const headers[], struct curl_slist **hl, struct sp_t_resp *out)
{
    struct sp_arena *a = t_a();
    out->body = calloc(1, 1);
    ck_assert_msg(out->body != NULL, "out of memory");
    CURL *h = curl_easy_init();
    ck_assert_msg(h != NULL, "curl_easy_init failed");
    if (c->token != NULL)
        *hl = curl_slist_append(*hl, sp_arena_sprintf(a, "Authorization: Bearer %s", c->token));
    *hl = curl_slist_append(*hl, content_type != NULL
                                     ? sp_arena_sprintf(a, "Content-Type: %s", content_type)
                                     : "Content-Type:");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        *hl = curl_slist_append(*hl, headers[i]);
    ck_assert_msg(*hl != NULL, "out of memory");
    curl_easy_setopt(h, CURLOPT_URL, sp_arena_sprintf(a, "%.*s%s", (int)blen, base, c->path));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, SP_T_HTTP_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, t_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, t_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
    if (c->json != NULL || strcmp(c->method, "POST") == 0) {
        const char *b = c->json != NULL ? c->json : "";
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(b));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, b);
    }
    return h;
}

/* The requests of a batch run to their ends; finished[i] their places. */
static void
t_calls_run(const char *file, int line, CURLM *m, size_t n, const struct sp_t_call calls[],
            CURL **h, size_t finished[])
{
    size_t done = 0;
    int running = 1;
    while (running > 0 || done < n) {
        ck_assert_msg(curl_multi_perform(m, &running) == CURLM_OK, "%s:%d: curl_multi_perform",
                      file, line);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            for (size_t i = 0; msg->msg == CURLMSG_DONE && i < n; i++) {
                if (h[i] != msg->easy_handle)
                    continue;
                ck_assert_msg(msg->data.result == CURLE_OK, "%s:%d: %s %s: %s", file, line,
                              calls[i].method, calls[i].path,
                              curl_easy_strerror(msg->data.result));
                finished[i] = done++;
            }
        }
        ck_assert_msg(running > 0 || done == n, "%s:%d: a request never finished", file, line);
        if (running > 0)
            ck_assert_msg(curl_multi_poll(m, NULL, 0, 1000, NULL) == CURLM_OK,
                          "%s:%d: curl_multi_poll", file, line);
    }
}

/* The batch of calls: json_types, each call's JSON type (none without a
 * body); else content_type for all (NULL: none); headers on each. */
static void
t_calls(const char *file, int line, size_t n, const struct sp_t_call calls[], bool json_types,
        const char *content_type, const char *const headers[], struct sp_t_resp *out[],
        size_t finished[])
{
    struct sp_arena *a = t_a();
    const char *base = t_env("SP_TEST_BASE_URL");
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    CURLM *m = curl_multi_init();
    ck_assert_msg(m != NULL, "%s:%d: curl_multi_init failed", file, line);
    CURL **h = sp_arena_calloc(a, n, sizeof(*h));
    struct curl_slist **hl = sp_arena_calloc(a, n, sizeof(*hl));
    for (size_t i = 0; i < n; i++) {
        out[i] = calloc(1, sizeof(*out[i]));
        ck_assert_msg(out[i] != NULL, "out of memory");
        const char *type = !json_types ? content_type : calls[i].json ? SP_T_JSON : NULL;
        h[i] = t_call_handle(base, blen, &calls[i], type, headers, &hl[i], out[i]);
        ck_assert_msg(curl_multi_add_handle(m, h[i]) == CURLM_OK, "%s:%d: curl_multi_add_handle",
                      file, line);
    }
    t_calls_run(file, line, m, n, calls, h, finished);
    for (size_t i = 0; i < n; i++) {
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &out[i]->status);
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
        curl_slist_free_all(hl[i]);
        out[i]->json = t_parse_json(out[i]->body, out[i]->body_len);
        t_contract_record(calls[i].method, calls[i].path, out[i]);
        size_t nrid = sp_t_header_count(out[i], "X-Request-Id");
        ck_assert_msg(nrid == 1, "%s:%d: %s %s -> %ld carries %zu X-Request-Id headers", file,
                      line, calls[i].method, calls[i].path, out[i]->status, nrid);
    }
    curl_multi_cleanup(m);
}

void
sp_t_parallel_with_at(const char *file, int line, size_t n, const char *method,
                      const char *const paths[], const char *const tokens[],
                      const char *content_type, const char *body, const char *const headers[],
                      struct sp_t_resp *out[])
{
    struct sp_arena *a = t_a();
    struct sp_t_call *calls = sp_arena_calloc(a, n, sizeof(*calls));
    for (size_t i = 0; i < n; i++)
        calls[i] = (struct sp_t_call){method, paths[i], tokens[i], body};
    t_calls(file, line, n, calls, false, content_type, headers, out,
            sp_arena_calloc(a, n, sizeof(size_t)));
}

void
sp_t_parallel_at(const char *file, int line, size_t n, const char *method,
                 const char *const paths[], const char *const tokens[],
                 const char *content_type, const char *body, struct sp_t_resp *out[])
{
    sp_t_parallel_with_at(file, line, n, method, paths, tokens, content_type, body, NULL, out);
}

void
sp_t_calls_at(const char *file, int line, size_t n, const struct sp_t_call calls[],
              struct sp_t_resp *out[], size_t finished[])
{
    t_calls(file, line, n, calls, true, NULL, NULL, out, finished);
}

long
sp_t_api_log_size(void)
{
    FILE *f = fopen(sp_t_fmt("%s/support-api.log", t_env("SP_TEST_LOG_DIR")), "r");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    return size;
}

const char *
sp_t_api_log_line(long offset, const char *needle)
{
    return sp_t_log_line("support-api.log", offset, needle);
}

const char *
sp_t_log_line(const char *name, long offset, const char *needle)
{
    const char *path = sp_t_fmt("%s/%s", t_env("SP_TEST_LOG_DIR"), name);
    char line[8192];
    for (int attempt = 0; attempt < 100; attempt++) {
        FILE *f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        fseek(f, offset, SEEK_SET);
        while (fgets(line, sizeof(line), f) != NULL) {
            if (strstr(line, needle) != NULL) {
                fclose(f);
                return sp_t_fmt("%s", line);
            }
        }
        fclose(f);
        usleep(100 * 1000);
    }
    return "";
}

const char *
sp_t_chat_session_new(const struct sp_t_user *u)
{
    struct sp_t_resp *r = sp_t_post_json("/support/chat/session", u->token, "{}");
    sp_t_assert_json(r, 201);
    const char *id = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    return id;
}

/* ---- admin API helpers ---------------------------------------------------- */

const char *
sp_t_admin_token(void)
{
    return sp_t_user_new(SP_ROLE_ADMIN).token;
}

struct sp_t_resp *
sp_t_admin_post_at(const char *file, int line, const char *path, const char *json)
{
    struct sp_t_resp *r = sp_t_request_at(file, line, "POST", path, sp_t_admin_token(),
                                          SP_T_JSON, json, NULL);
    sp_t_assert_json_at(file, line, r, 201);
    return r;
}

struct sp_t_resp *
sp_t_with_if_match(const char *method, const char *path, const char *json, const char *etag)
{
    const char *const h[] = {sp_t_fmt("If-Match: %s", etag), NULL};
    return sp_t_request(method, path, sp_t_admin_token(), json ? SP_T_JSON : NULL, json, h);
}

void
sp_t_assert_if_match(const char *path, const char *field)
{
    struct sp_t_resp *r = sp_t_admin("GET", path, NULL);
    sp_t_assert_json(r, 200);
    long long id = (long long)sp_t_jint(r->json, "id"), v = (long long)sp_t_jint(r->json,
                                                                                 "version");
    const char *etag = sp_t_fmt("\"%lld-v%lld\"", id, v);
    ck_assert_str_eq(sp_t_header(r, "ETag"), etag);
    sp_t_resp_free(r);
    const char *const stale[] = {"\"nope\"", "nope", sp_t_fmt("\"%lld-v%lld\"", id, v + 1),
                                 sp_t_fmt("\"%lld-v%lld\"", id + 1, v), "\"v1\""};
    const char *body = sp_t_fmt("{\"%s\":\"lost\"}", field);
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        r = sp_t_with_if_match("PATCH", path, body, stale[i]);
        sp_t_assert_problem(r, 412, "precondition_failed");
        ck_assert_msg(strstr(sp_t_jstr(r->json, "detail"), "-v3") == NULL, "%s",
                      sp_t_jstr(r->json, "detail"));
        sp_t_resp_free(r);
    }
    r = sp_t_admin("GET", path, NULL);
    ck_assert_str_ne(sp_t_jstr(r->json, field), "lost");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), v);
    sp_t_resp_free(r);
    /* any listed tag that is current matches, a newer one beside it too
     * (RFC 9110 §13.1.1; QA: only the newest listed was checked) */
    r = sp_t_with_if_match("PATCH", path, sp_t_fmt("{\"%s\":\"first\"}", field),
                           sp_t_fmt("%s, \"%lld-v%lld\"", etag, id, v + 7));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_header(r, "ETag"), sp_t_fmt("\"%lld-v%lld\"", id, v + 1));
    sp_t_resp_free(r);
    /* the other admin, still on the old ETag, is told */
    r = sp_t_with_if_match("PATCH", path, sp_t_fmt("{\"%s\":\"second\"}", field), etag);
    sp_t_assert_problem(r, 412, "precondition_failed");
    sp_t_resp_free(r);
    r = sp_t_with_if_match("PATCH", path, sp_t_fmt("{\"%s\":\"any\"}", field), "*");
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, field), "any");
    ck_assert_int_eq(sp_t_jint(r->json, "version"), v + 2);
    const char *updated_at = sp_t_fmt("%s", sp_t_jstr(r->json, "updated_at"));
    sp_t_resp_free(r);
    /* a write that changes nothing keeps the version and updated_at: the
     * ETag stays good (the current value again, or no field at all) */
    const char *same[] = {sp_t_fmt("{\"%s\":\"any\"}", field), "{}"};
    for (size_t i = 0; i < 2; i++) {
        r = sp_t_with_if_match("PATCH", path, same[i], sp_t_fmt("\"%lld-v%lld\"", id, v + 2));
        sp_t_assert_json(r, 200);
        ck_assert_int_eq(sp_t_jint(r->json, "version"), v + 2);
        ck_assert_str_eq(sp_t_jstr(r->json, "updated_at"), updated_at);
        sp_t_resp_free(r);
    }
}

void
sp_t_assert_delete_if_match(const char *path, const char *table, long long id, long long version)
{
    struct sp_t_resp *r = sp_t_with_if_match("DELETE", path, NULL,
                                             sp_t_fmt("\"%lld-v%lld\"", id, version - 1));
    sp_t_assert_problem(r, 412, "precondition_failed");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM %s WHERE id = %lld", table, id), "1");
    const char *etag = sp_t_fmt("\"%lld-v%lld\"", id, version);
    r = sp_t_with_if_match("DELETE", path, NULL, etag);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
    r = sp_t_with_if_match("DELETE", path, NULL, etag);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}

int64_t
sp_t_admin_rule_new_at(const char *file, int line, const char *members)
{
    struct sp_t_resp *r = sp_t_admin_post_at(file, line, "/support/admin/priority-rules",
                                             sp_t_fmt("{%s}", members));
    int64_t id = sp_t_jint_at(file, line, r->json, "id");
    ck_assert_msg(id > 0, "%s:%d: priority rule id %lld", file, line, (long long)id);
    sp_t_resp_free(r);
    return id;
}

const char *
sp_t_admin_category_new_at(const char *file, int line, const char *members)
{
    const char *slug = sp_t_unique("cat");
    struct sp_t_resp *r = sp_t_admin_post_at(
        file, line, "/support/admin/categories",
        sp_t_fmt("{\"slug\":\"%s\",\"name\":\"Category %s\"%s%s}", slug, slug,
                 members != NULL && *members != '\0' ? "," : "", members != NULL ? members : ""));
    const char *got = sp_t_jstr_at(file, line, r->json, "slug");
    ck_assert_msg(strcmp(got, slug) == 0, "%s:%d: created category has slug %s, want %s", file,
                  line, got, slug);
    sp_t_resp_free(r);
    return slug;
}

int64_t
sp_t_admin_agent_new_at(const char *file, int line, const char *members,
                        struct sp_t_user *user_out)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_admin_post_at(
        file, line, "/support/admin/agents",
        sp_t_fmt("{\"user_id\":\"%s\"%s%s}", u.sub,
                 members != NULL && *members != '\0' ? "," : "", members != NULL ? members : ""));
    int64_t id = sp_t_jint_at(file, line, r->json, "id");
    ck_assert_msg(id > 0, "%s:%d: agent id %lld", file, line, (long long)id);
    const char *uid = sp_t_jstr_at(file, line, r->json, "user_id");
    ck_assert_msg(strcmp(uid, u.sub) == 0, "%s:%d: agent user_id %s, want %s", file, line, uid,
                  u.sub);
    sp_t_resp_free(r);
    if (user_out != NULL)
        *user_out = u;
    return id;
}

/* ---- batch jobs ----------------------------------------------------------- */


/* Starts the job with args (NULL-terminated) and env ("NAME=value",
 * NULL-terminated, may be NULL) on top of SUPPORT_DATABASE_URL =
 * SP_TEST_DATABASE_URL; stdout and stderr go to one file. */
static void
job_start(struct sp_t_job *j, const char *program, const char *const env[],
          const char *const args[])
{
    const char *top = getenv("SP_TEST_TOP_BUILDDIR");
    ck_assert_msg(top != NULL && *top != '\0', "SP_TEST_TOP_BUILDDIR is not set");
    const char *bin = sp_t_fmt("%s/%s", top, program);
    ck_assert_msg(access(bin, X_OK) == 0, "%s is not built", bin);
    const char *tmp = getenv("TMPDIR");
    snprintf(j->out_path, sizeof(j->out_path), "%s/job-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    int fd = mkstemp(j->out_path);
    ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));

    char *argv[SP_T_JOB_MAX_ARGS + 2];
    size_t n = 0;
    argv[n++] = (char *)bin;
    for (; args[n - 1] != NULL; n++) {
        ck_assert_msg(n <= SP_T_JOB_MAX_ARGS, "too many arguments");
        argv[n] = (char *)args[n - 1];
    }
    argv[n] = NULL;
    const char *url = getenv("SP_TEST_DATABASE_URL");

    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        if (j->in_fd >= 0)
            dup2(j->in_fd, STDIN_FILENO);
        setenv("SUPPORT_DATABASE_URL", url != NULL ? url : "", 1);
        unsetenv("SUPPORT_DATABASE_URL_FILE");
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            putenv((char *)env[i]);
        execv(bin, argv);
        _exit(127);
    }
    close(fd);
    j->pid = pid;
}

/* Waits for the job; returns its exit code and (arena-owned) output.
 * Any sanitizer report in the output fails the test. */
int
sp_t_job_wait(struct sp_t_job *j, const char **output)
{
    int st = 0;
    pid_t w;
    while ((w = waitpid(j->pid, &st, 0)) < 0 && errno == EINTR)
        ;
    ck_assert_msg(w == j->pid, "waitpid: %s", strerror(errno));
    FILE *f = fopen(j->out_path, "r");
    ck_assert_msg(f != NULL, "%s: %s", j->out_path, strerror(errno));
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    ck_assert_ptr_nonnull(buf);
    size_t len = fread(buf, 1, cap, f);
    buf[len] = '\0';
    fclose(f);
    unlink(j->out_path);
    const char *out = sp_t_fmt("%s", buf);
    free(buf);
    ck_assert_msg(strstr(out, "AddressSanitizer") == NULL && strstr(out, "LeakSanitizer") == NULL &&
                      strstr(out, "runtime error:") == NULL,
                  "sanitizer report from the job:\n%s", out);
    if (output != NULL)
        *output = out;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void
sp_t_job_start(struct sp_t_job *j, const char *program, const char *const env[],
               const char *const args[])
{
    j->in_fd = -1;
    job_start(j, program, env, args);
}

void
sp_t_job_start_input(struct sp_t_job *j, const char *program, const char *const env[],
                     const char *const args[], const char *input, size_t len)
{
    FILE *in = tmpfile();
    ck_assert_ptr_nonnull(in);
    ck_assert_uint_eq(fwrite(input, 1, len, in), len);
    ck_assert_int_eq(fflush(in), 0);
    rewind(in);
    j->in_fd = fileno(in);
    job_start(j, program, env, args);
    fclose(in);
}

int
sp_t_job_run_input(const char *program, const char *const env[], const char *const args[],
                   const char *input, size_t len, const char **output)
{
    struct sp_t_job j;
    sp_t_job_start_input(&j, program, env, args, input, len);
    return sp_t_job_wait(&j, output);
}

void
sp_t_job_says_at(const char *file, int line, const struct sp_t_job *j, const char *needle,
                 int times)
{
    for (int tries = 0; tries < 200; tries++) {
        FILE *f = fopen(j->out_path, "r");
        ck_assert_ptr_nonnull(f);
        char buf[4096];
        int seen = 0;
        while (fgets(buf, sizeof(buf), f) != NULL)
            seen += strstr(buf, needle) != NULL;
        fclose(f);
        if (seen >= times)
            return;
        usleep(100 * 1000);
    }
    ck_abort_msg("%s:%d: the job never said %s (%d times)", file, line, needle, times);
}

int
sp_t_job_run(const char *program, const char *const env[], const char *const args[], const char **output)
{
    struct sp_t_job j;
    sp_t_job_start(&j, program, env, args);
    return sp_t_job_wait(&j, output);
}


void
sp_t_stackctl(const char *args)
{
    const char *ctl = getenv("SP_TEST_STACKCTL");
    ck_assert_msg(ctl != NULL, "SP_TEST_STACKCTL is not set");
    /* No sp_t_fmt: unchecked fixtures (outside any test) call this too. */
    char cmd[4096];
    ck_assert_msg((size_t)snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", ctl, args) <
                      sizeof(cmd), "stackctl command too long");
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "stackctl %s failed (%d)", args, rc);
    /* The database may have restarted: sp_t_sql connects anew. */
    if (t_db != NULL) {
        PQfinish(t_db);
        t_db = NULL;
    }
}

const char *
sp_t_ticket_of_new_customer_at(const char *file, int line, const char *subject)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    return sp_t_ticket_create_at(file, line, &c, subject);
}

pid_t
sp_t_master_pid(const char *program)
{
    /* No sp_t_fmt here or below: unchecked fixtures (outside any test,
     * without the test arena) call these too. */
    const char *dir = getenv("SP_TEST_STACK_DIR");
    ck_assert_ptr_nonnull(dir);
    char path[1024];
    snprintf(path, sizeof(path), "%s/run/%s.pid", dir, program);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no pid file of %s in %s/run", program, dir);
    long pid = 0;
    ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    ck_assert_int_gt(pid, 1);
    ck_assert_msg(kill((pid_t)pid, 0) == 0, "%s master %ld is not running", program, pid);
    return (pid_t)pid;
}

size_t
sp_t_children(pid_t master, pid_t *out, size_t max)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "pgrep -P %ld", (long)master);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = 0;
    long pid;
    while (n < max && fscanf(p, "%ld", &pid) == 1)
        out[n++] = (pid_t)pid;
    pclose(p);
    return n;
}

bool
sp_t_pid_in(pid_t pid, const pid_t *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == pid)
            return true;
    return false;
}

bool
sp_t_api_reload(void)
{
    pid_t master = sp_t_master_pid("support-api"), before[64];
    size_t n = sp_t_children(master, before, 64);
    if (n == 0 || kill(master, SIGHUP) != 0)
        return false;
    for (int attempt = 0; attempt < 200; attempt++) {
        usleep(50 * 1000);
        pid_t now[64];
        size_t m = sp_t_children(master, now, 64);
        bool replaced = m == n;
        for (size_t i = 0; replaced && i < m; i++)
            replaced = !sp_t_pid_in(now[i], before, n);
        if (replaced)
            return true;
    }
    return false;
}

long
sp_t_header_num_at(const char *file, int line, const struct sp_t_resp *r, const char *name)
{
    ck_assert_msg(sp_t_header_count(r, name) == 1, "%s:%d: %zu %s headers (HTTP %ld)", file, line,
                  sp_t_header_count(r, name), name, r->status);
    const char *v = sp_t_header(r, name);
    ck_assert_msg(v != NULL && *v != '\0' && strspn(v, "0123456789") == strlen(v),
                  "%s:%d: %s: \"%s\" is not a non-negative integer", file, line, name,
                  v != NULL ? v : "(none)");
    return strtol(v, NULL, 10);
}

const char *
sp_t_ticket_etag_at(const char *file, int line, const struct sp_t_resp *r, long long version)
{
    ck_assert_msg(sp_t_header_count(r, "ETag") == 1, "%s:%d: %zu ETag headers (HTTP %ld)", file,
                  line, sp_t_header_count(r, "ETag"), r->status);
    const char *v = sp_t_header(r, "ETag");
    long long got = 0;
    int end = 0;
    size_t len = strlen(v);
    bool ok = sscanf(v, "\"v%lld-%n", &got, &end) == 1 && end > 0 && len == (size_t)end + 17 &&
              strspn(v + end, "0123456789abcdef") == 16 && v[len - 1] == '"' &&
              (version <= 0 || got == version);
    ck_assert_msg(ok, "%s:%d: ETag %s is not a ticket's of version %lld", file, line, v, version);
    return sp_t_fmt("%s", v);
}

struct sp_t_resp *
sp_t_get_if_none_match(const char *path, const char *token, const char *tags)
{
    const char *const h[] = {sp_t_fmt("If-None-Match: %s", tags), NULL};
    return sp_t_request("GET", path, token, NULL, NULL, h);
}

void
sp_t_assert_ticket_revalidates_at(const char *file, int line, const char *path,
                                  const char *token, const char *etag)
{
    const char *match[] = {etag, sp_t_fmt("W/%s", etag), sp_t_fmt("\"nope\", %s", etag), "*",
                           sp_t_fmt("W/\"x\",%s ,\"y\"", etag)};
    for (size_t i = 0; i < sizeof(match) / sizeof(match[0]); i++) {
        struct sp_t_resp *r = sp_t_get_if_none_match(
            sp_t_fmt("%s?messages_limit=%zu", path, 50 + i), token, match[i]);
        ck_assert_msg(r->status == 304 && r->body_len == 0,
                      "%s:%d: If-None-Match: %s -> HTTP %ld, %zu bytes, want 304 without a body",
                      file, line, match[i], r->status, r->body_len);
        const char *got = sp_t_header(r, "ETag");
        ck_assert_msg(got != NULL && strcmp(got, etag) == 0, "%s:%d: 304 with ETag %s, want %s",
                      file, line, got ? got : "(none)", etag);
        sp_t_resp_free(r);
    }
}

void
sp_t_away_from_window_edges(int margin, long long_window)
{
    time_t now = time(NULL);
    long into_long = (long)(now % long_window);
    if (into_long > long_window - margin) {
        sleep((unsigned)(long_window - into_long + 1));
        now = time(NULL);
    }
    long into_minute = (long)(now % 60);
    if (into_minute > 60 - margin)
        sleep((unsigned)(60 - into_minute + 1));
}

/* ---- fixture servers ------------------------------------------------------ */

void
sp_t_fixture_start_at(const char *file, int line, struct sp_t_fixture *f,
                      const char *script_and_args)
{
    /* No sp_t_fmt: unchecked fixtures (outside any test) start them too. */
    char cmd[4096];
    ck_assert_msg((size_t)snprintf(cmd, sizeof(cmd), "exec python3 %s/t/integration/%s",
                                   getenv("SP_TEST_TOP_SRCDIR"), script_and_args) < sizeof(cmd),
                  "%s:%d: fixture command too long", file, line);
    f->out = popen(cmd, "r");
    ck_assert_msg(f->out != NULL, "%s:%d: cannot start %s", file, line, script_and_args);
    /* Unbuffered: poll() on the descriptor must see every line still to
     * read, none may wait in a stdio buffer. */
    setvbuf(f->out, NULL, _IONBF, 0);
    struct json_object *o = sp_t_fixture_next(f, 10000);
    ck_assert_msg(o != NULL, "%s:%d: %s did not say where it listens", file, line,
                  script_and_args);
    f->port = (int)sp_t_jint_at(file, line, o, "port");
    f->pid = (pid_t)sp_t_jint_at(file, line, o, "pid");
    json_object_put(o);
}

struct json_object *
sp_t_fixture_next(struct sp_t_fixture *f, int ms)
{
    struct pollfd pfd = {fileno(f->out), POLLIN, 0};
    if (poll(&pfd, 1, ms) <= 0)
        return NULL;
    char line[16384];
    if (fgets(line, sizeof(line), f->out) == NULL)
        return NULL;
    return json_tokener_parse(line);
}

void
sp_t_fixture_stop(struct sp_t_fixture *f)
{
    if (f->pid > 0)
        kill(f->pid, SIGTERM);
    if (f->out != NULL)
        pclose(f->out);
    f->out = NULL;
    f->pid = 0;
}

void
sp_t_fixture_post(const struct sp_t_fixture *f, const char *path, const char *json)
{
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    struct sp_service svc = {"fixture", sp_t_fmt("http://127.0.0.1:%d", f->port), NULL, 2000};
    struct sp_service_reply r;
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(sp_service_call(&a, &svc, "POST", path, json, NULL, &r, &p), SP_OK);
    ck_assert_int_eq(r.status, 200);
    sp_arena_destroy(&a);
}

const char *
sp_t_unique_word(void)
{
    static const char consonants[] = "bcdfghkmpq";
    const char *u = sp_t_unique("w");
    char buf[64];
    size_t n = 0;
    buf[n++] = 'z';
    buf[n++] = 'x';
    for (const char *p = u; *p != '\0' && n < sizeof(buf) - 2; p++)
        if (*p >= '0' && *p <= '9')
            buf[n++] = consonants[*p - '0'];
        else if (*p == '-')
            buf[n++] = 'v';
    buf[n++] = 'z';
    buf[n] = '\0';
    return sp_t_fmt("%s", buf);
}
