/*
 * http_client: one outbound HTTP request with libcurl: POSTs to
 * receivers outside (webhooks, API.md §11), service calls (POST, GET),
 * the object store's GET, PUT and DELETE (core/s3). Every request: a total
 * timeout, redirects never followed, http/https only, proxies from the
 * environment ignored, the connection optionally pinned to an address
 * chosen by the caller (CURLOPT_RESOLVE, so no second DNS lookup can
 * change it) and every address checked again by the caller's rule just
 * before the socket opens. The response body (at most 64 KiB, or the
 * caller's response_max) is kept when the caller asks for it (service
 * calls), else discarded; a 2xx body may instead be streamed to a file
 * descriptor under the caller's byte limit (object downloads).
 *
 * A POST either opens a connection of its own, closed after it (no
 * handle is kept across calls), or runs on a kept connection the caller
 * owns (struct sp_http_conn: one sender's POSTs to one receiver, HTTP
 * keep-alive). A kept connection is reused only for the same scheme,
 * host and port; every connection it opens, first or after the receiver
 * closed one, passes the caller's address check before its socket
 * exists, so reuse never talks to an address that was not checked.
 *
 * Blocking: for jobs and tests, never for a request handler's hot path.
 * Must not: know SQL, the server side (http/), or any domain concept; log
 * (the caller records the outcome).
 */
#ifndef SP_HTTP_CLIENT_H
#define SP_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;
struct sp_buf;
struct sp_http_conn;

/* A kept connection (and its handle) for one caller's POSTs; NULL when
 * out of memory. Not thread-safe: one user at a time. */
struct sp_http_conn *sp_http_conn_new(void);
void sp_http_conn_free(struct sp_http_conn *c);

/* A libcurl CURLOPT_WRITEFUNCTION that takes a response body and keeps
 * nothing, for callers that drive libcurl themselves (mail and
 * notification sends, chat publishes) and want only the status: without
 * one libcurl writes the body to stdout. */
size_t sp_http_discard(char *data, size_t size, size_t nmemb, void *arg);

/* Where a 2xx response's body goes instead of sp_http_post.response: fd,
 * written from its current offset. More than max bytes is no answer
 * (sp_http_post false, "response larger than ..."), and so is a failed
 * write; what was written before stays (the caller truncates or unlinks). */
struct sp_http_to_fd {
    int fd;
    long long max;
    long long written;            /* out: bytes written */
};

/* A PUT's body: size bytes of fd from its current offset. */
struct sp_http_from_fd {
    int fd;
    long long size;
};

struct sp_http_post {
    /* NULL or "POST": POST body; "GET", "DELETE": no body; "PUT":
     * the body is from_fd's */
    const char *method;
    const char *url;
    /* Pin: connect to this address (text, no brackets) for the URL's
     * host and port; NULL resolves normally. */
    const char *pin_host;
    int pin_port;
    const char *pin_addr;
    bool pin_ipv6;
    const char *const *headers;   /* "Name: value", NULL-terminated; may be NULL */
    const char *body;
    size_t body_len;
    long timeout_ms;              /* whole request, connect included */
    /* Consulted for every address a socket is about to be opened to;
     * false refuses the connection. NULL: any. */
    bool (*address_ok)(const struct sockaddr *sa, void *arg);
    void *address_arg;
    struct sp_buf *response;      /* the response body is appended here; NULL: dropped */
    size_t response_max;          /* bytes read at most; 0: 64 KiB (a vector batch needs more) */
    struct sp_http_conn *conn;    /* a kept connection to reuse; NULL: one of its own */
    /* A 2xx response's body is streamed here (other statuses' bodies go
     * to response, or are dropped); NULL: not. */
    struct sp_http_to_fd *to_fd;
    struct sp_http_from_fd *from_fd;   /* PUT only */
};

struct sp_http_result {
    long status;        /* the final response's status; 0 when none arrived */
    char error[160];    /* "" when a response arrived, else why not (for logs) */
    /* NULL when a response arrived, else why not as a short stable code
     * (sp_http_error_code's, or address_refused, no_response,
     * response_too_large, write_failed, internal_error): what may be
     * stored and shown, where error's text (libcurl's) may not. */
    const char *code;
};

/* A libcurl result (CURLcode) as a short stable code, the one table of
 * them: timeout, dns_failed, connect_failed, tls_failed, send_failed,
 * receive_failed, no_response, protocol_error, internal_error, else
 * request_failed; NULL for CURLE_OK. Static strings. */
const char *sp_http_error_code(int curl_rc);

/* Sends req; true when a response arrived (any status: redirects are
 * answers too, not followed), false with out->error when none did
 * (timeout, refused address, TLS, connection). */
bool sp_http_post(const struct sp_http_post *req, struct sp_http_result *out);

#endif
