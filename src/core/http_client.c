/*
 * http_client: the libcurl side of outbound requests. See http_client.h.
 */
#include "core/http_client.h"

#include "core/buf.h"
#include "core/fd.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RESPONSE_READ_MAX (64 * 1024)
#define READ_MAX(req) ((req)->response_max > 0 ? (req)->response_max : RESPONSE_READ_MAX)

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sp_http_conn {
    CURL *h;
};

struct sp_http_conn *
sp_http_conn_new(void)
{
    pthread_once(&global_once, global_init);
    struct sp_http_conn *c = calloc(1, sizeof(*c));
    if (c != NULL && (c->h = curl_easy_init()) == NULL) {
        free(c);
        c = NULL;
    }
    return c;
}

void
sp_http_conn_free(struct sp_http_conn *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->h);
    free(c);
}

struct call {
    const struct sp_http_post *req;
    CURL *h;
    size_t read;
    bool refused;
    const char *sink_error;   /* why streaming to to_fd stopped; NULL: it did not */
    const char *sink_code;    /* the same as a code */
};

/* Writes a 2xx body's piece to the caller's descriptor, under its limit. */
static size_t
to_fd(struct call *c, const char *data, size_t n)
{
    struct sp_http_to_fd *t = c->req->to_fd;
    if ((long long)n > t->max - t->written) {
        c->sink_error = "response larger than the limit";
        c->sink_code = "response_too_large";
        return 0;
    }
    if (!sp_fd_write_all(t->fd, data, n)) {
        c->sink_error = "cannot write the response";
        c->sink_code = "write_failed";
        return 0;
    }
    t->written += (long long)n;
    return n;
}

/* Keeps the body when the caller wants it (else a status is the answer);
 * reading stops after READ_MAX so a receiver cannot make us read
 * forever. A 2xx body goes to the caller's descriptor when it gave one. */
static size_t
receive(char *data, size_t size, size_t nmemb, void *arg)
{
    struct call *c = arg;
    if (c->req->to_fd != NULL) {
        long status = 0;
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status <= 299)
            return to_fd(c, data, size * nmemb);
    }
    c->read += size * nmemb;
    if (c->read > READ_MAX(c->req))
        return 0;
    if (c->req->response != NULL)
        sp_buf_append(c->req->response, data, size * nmemb);
    return size * nmemb;
}

size_t
sp_http_discard(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct call *c = arg;
    if (purpose != CURLSOCKTYPE_IPCXN ||
        (c->req->address_ok != NULL &&
         !c->req->address_ok(&addr->addr, c->req->address_arg))) {
        c->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

static struct curl_slist *
header_list(const struct sp_http_post *req)
{
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    for (const char *const *p = req->headers; p != NULL && *p != NULL && h != NULL; p++) {
        struct curl_slist *n = curl_slist_append(h, *p);
        if (n == NULL) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = n;
    }
    return h;
}

/* A PUT's body, read from the caller's descriptor as curl asks. */
static size_t
send_fd(char *buf, size_t size, size_t nmemb, void *arg)
{
    const struct sp_http_from_fd *f = arg;
    for (;;) {
        ssize_t n = read(f->fd, buf, size * nmemb);
        if (n >= 0)
            return (size_t)n;
        if (errno != EINTR)
            return CURL_READFUNC_ABORT;
    }
}

static void
set_method(CURL *h, const struct sp_http_post *req)
{
    const char *m = req->method != NULL ? req->method : "POST";
    if (strcmp(m, "PUT") == 0 && req->from_fd != NULL) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, send_fd);
        curl_easy_setopt(h, CURLOPT_READDATA, req->from_fd);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->from_fd->size);
    } else if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
}

static void
set_options(CURL *h, struct call *c, struct curl_slist *hdrs, struct curl_slist *pin)
{
    const struct sp_http_post *req = c->req;
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    set_method(h, req);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, receive);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
    /* One's own handle dies after this call: its connection with it. */
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, req->conn == NULL ? 1L : 0L);
    if (pin != NULL)
        curl_easy_setopt(h, CURLOPT_RESOLVE, pin);
}

static const struct {
    CURLcode rc;
    const char *code;
} error_codes[] = {
    {CURLE_OPERATION_TIMEDOUT, "timeout"},
    {CURLE_COULDNT_RESOLVE_HOST, "dns_failed"},
    {CURLE_COULDNT_RESOLVE_PROXY, "dns_failed"},
    {CURLE_COULDNT_CONNECT, "connect_failed"},
    {CURLE_SSL_CONNECT_ERROR, "tls_failed"},
    {CURLE_PEER_FAILED_VERIFICATION, "tls_failed"},
    {CURLE_SSL_CERTPROBLEM, "tls_failed"},
    {CURLE_SSL_CIPHER, "tls_failed"},
    {CURLE_SSL_CACERT_BADFILE, "tls_failed"},
    {CURLE_SSL_CRL_BADFILE, "tls_failed"},
    {CURLE_SSL_ISSUER_ERROR, "tls_failed"},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, "tls_failed"},
    {CURLE_SSL_INVALIDCERTSTATUS, "tls_failed"},
    {CURLE_SSL_SHUTDOWN_FAILED, "tls_failed"},
    {CURLE_SSL_CLIENTCERT, "tls_failed"},
    {CURLE_USE_SSL_FAILED, "tls_failed"},
    {CURLE_SEND_ERROR, "send_failed"},
    {CURLE_RECV_ERROR, "receive_failed"},
    {CURLE_GOT_NOTHING, "no_response"},
    {CURLE_WEIRD_SERVER_REPLY, "protocol_error"},
    {CURLE_HTTP2, "protocol_error"},
    {CURLE_HTTP2_STREAM, "protocol_error"},
    {CURLE_HTTP3, "protocol_error"},
    {CURLE_PARTIAL_FILE, "protocol_error"},
    {CURLE_BAD_CONTENT_ENCODING, "protocol_error"},
    {CURLE_UNSUPPORTED_PROTOCOL, "protocol_error"},
    {CURLE_OUT_OF_MEMORY, "internal_error"},
};

const char *
sp_http_error_code(int curl_rc)
{
    if (curl_rc == CURLE_OK)
        return NULL;
    for (size_t i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++)
        if ((int)error_codes[i].rc == curl_rc)
            return error_codes[i].code;
    return "request_failed";
}

static bool
fail(struct sp_http_result *out, const char *code, const char *why)
{
    out->code = code;
    snprintf(out->error, sizeof(out->error), "%s", why);
    return false;
}

/* The status of the response that arrived, or why none did. */
static void
outcome(CURL *h, const struct call *c, CURLcode rc, struct sp_http_result *out)
{
    const struct sp_http_post *req = c->req;
    if (rc == CURLE_WRITE_ERROR && c->sink_error != NULL) {
        fail(out, c->sink_code, c->sink_error);
    } else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && c->read > READ_MAX(req))) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    } else if (c->refused) {
        fail(out, "address_refused", "address not allowed");
    } else {
        fail(out, sp_http_error_code(rc), curl_easy_strerror(rc));
    }
}

bool
sp_http_post(const struct sp_http_post *req, struct sp_http_result *out)
{
    *out = (struct sp_http_result){0, "", NULL};
    pthread_once(&global_once, global_init);
    struct curl_slist *pin = NULL;
    if (req->pin_addr != NULL) {
        char entry[512];
        int n = snprintf(entry, sizeof(entry), req->pin_ipv6 ? "%s:%d:[%s]" : "%s:%d:%s",
                         req->pin_host, req->pin_port, req->pin_addr);
        if (n < 0 || (size_t)n >= sizeof(entry) || (pin = curl_slist_append(NULL, entry)) == NULL)
            return fail(out, "internal_error", "cannot pin the address");
    }
    struct curl_slist *hdrs = header_list(req);
    CURL *h = NULL;
    if (hdrs != NULL && req->conn != NULL) {
        h = req->conn->h;
        curl_easy_reset(h);   /* options only: live connections and the pins stay */
    } else if (hdrs != NULL) {
        h = curl_easy_init();
    }
    if (h == NULL) {
        curl_slist_free_all(hdrs);
        curl_slist_free_all(pin);
        return fail(out, "internal_error", "out of memory");
    }
    struct call c = {req, h, 0, false, NULL, NULL};
    set_options(h, &c, hdrs, pin);
    outcome(h, &c, curl_easy_perform(h), out);
    if (req->conn == NULL)
        curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(pin);
    if (out->status == 0 && out->error[0] == '\0')
        fail(out, "no_response", "no response");
    return out->status != 0;
}
