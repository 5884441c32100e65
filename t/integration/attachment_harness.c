/*
 * attachment_harness: see attachment_harness.h.
 */
#include "attachment_harness.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

/* A 1x1 PNG (67 bytes). */
const unsigned char sp_t_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78,
    0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

static size_t
collect(char *p, size_t size, size_t n, void *b)
{
    struct sp_t_resp *r = b;
    char *grown = realloc(r->body, r->body_len + size * n + 1);
    ck_assert(grown != NULL);
    memcpy(grown + r->body_len, p, size * n);
    r->body = grown;
    r->body_len += size * n;
    r->body[r->body_len] = '\0';
    return size * n;
}

/* PUT of raw bytes to path (a signed URL: no token); status and body. */
long
sp_t_put_bytes(const char *path, const void *data, size_t len, const char **body)
{
    return sp_t_put_url(sp_t_fmt("%s%s", getenv("SP_TEST_BASE_URL"), path), data, len, body);
}

long
sp_t_put_url(const char *url, const void *data, size_t len, const char **body)
{
    return sp_t_put_sent(url, data, len, NULL, NULL, body);
}

long
sp_t_put_sent(const char *url, const void *data, size_t len, const char *header,
              long long *sent, const char **body)
{
    CURL *c = curl_easy_init();
    ck_assert(c != NULL);
    struct sp_t_resp r = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    if (header != NULL)
        h = curl_slist_append(h, header);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t up = 0;
    curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
    if (sent != NULL)
        *sent = (long long)up;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    *body = sp_t_fmt("%s", r.body ? r.body : "");
    free(r.body);
    return status;
}

struct sp_t_upload
sp_t_attachment_new(const char *token, const char *filename, const char *type, size_t size)
{
    struct sp_t_upload u = sp_t_attachment_post(token, filename, type, size);
    ck_assert(strncmp(u.url, sp_t_fmt("/support/attachments/%s/content?", u.id),
                      strlen(u.id) + 30) == 0);
    return u;
}

const char *
sp_t_attachment_field(const char *token, const char *id, const char *field)
{
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/attachments/%s", id), token);
    sp_t_assert_json(r, 200);
    const char *v = sp_t_jstr(r->json, field);   /* NULL for null */
    v = v != NULL ? sp_t_fmt("%s", v) : NULL;
    sp_t_resp_free(r);
    return v;
}

struct sp_t_upload
sp_t_attachment_post(const char *token, const char *filename, const char *type, size_t size)
{
    struct sp_t_resp *r = sp_t_post_json(
        "/support/attachments", token,
        sp_t_fmt("{\"filename\":%s,\"content_type\":%s,\"size\":%zu}", sp_t_jq(filename),
                 sp_t_jq(type), size));
    sp_t_assert_json(r, 201);
    struct sp_t_upload u = {sp_t_fmt("%s", sp_t_jstr(r->json, "id")),
                            sp_t_fmt("%s", sp_t_jstr(r->json, "upload_url"))};
    ck_assert_str_eq(sp_t_jstr(r->json, "upload_method"), "PUT");
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "pending");
    sp_t_assert_timestamp(sp_t_jstr(r->json, "expires_at"));
    ck_assert_str_eq(sp_t_header(r, "Location"), sp_t_fmt("/support/attachments/%s", u.id));
    sp_t_resp_free(r);
    return u;
}

/* GET the metadata as token until its status is not pending (or
 * seconds pass); returns the last status. */
const char *
sp_t_attachment_wait(const char *token, const char *id, int seconds)
{
    const char *status = "pending";
    for (int i = 0; i < seconds * 4; i++) {
        status = sp_t_attachment_field(token, id, "status");
        if (strcmp(status, "pending") != 0)
            break;
        usleep(250 * 1000);
    }
    return status;
}

/* Creates, uploads and waits for a clean file of token's. */
const char *
sp_t_attachment_clean(const char *token, const char *filename, const char *type,
                      const void *data, size_t len)
{
    struct sp_t_upload u = sp_t_attachment_new(token, filename, type, len);
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, data, len, &body), 200);
    ck_assert_str_eq(sp_t_attachment_wait(token, u.id, 20), "clean");
    return u.id;
}

const char *
sp_t_attachment_clean_png(const char *token)
{
    return sp_t_attachment_clean(token, "screenshot.png", "image/png", sp_t_png,
                                 sizeof(sp_t_png));
}

const char *
sp_t_ticket_with_attachment(const struct sp_t_user *c, const char *subject, const char *id)
{
    return sp_t_ticket_create_json(
        c, sp_t_fmt("{\"subject\":%s,\"description\":\"see the file\",\"attachments\":[%s]}",
                    sp_t_jq(subject), sp_t_jq(id)));
}


int
sp_t_attachment_local_files(const char *prefix)
{
    DIR *d = opendir(getenv("SP_TEST_ATTACHMENT_DIR"));
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}
