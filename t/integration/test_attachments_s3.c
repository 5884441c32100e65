/*
 * test_attachments_s3: attachments kept in an S3-compatible bucket
 * (API.md §10, SUPPORT_S3_*) end to end — support-api presigns, the
 * client PUTs to the bucket and GETs from it, support-scan takes the
 * uploads in, checks and scans them (the stack's clamd), and
 * attachment-cleanup removes what was never uploaded, and what was
 * attached to nothing with its object. The bucket is
 * t/integration/s3_fixture.py, which checks every SigV4 signature with
 * its own implementation: a URL it accepts is one S3 would.
 * A mail's files (support-mail-in) are kept in the bucket too.
 * The stack's own support-scan daemon (local store) is stopped meanwhile;
 * passes run here with --once.
 */
#include "attachment_harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#define BUCKET "support-test"
#define ACCESS_KEY "AKIDSUPPORTTEST"
#define SECRET_KEY "s3cr3t/Key+for+the/fixture"
#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

static struct sp_t_fixture fx;
static char endpoint_buf[64];
static char env_buf[6][1024];
static const char *env[7];

static const char *
endpoint(void)
{
    return endpoint_buf;
}

/* The S3 settings, as NAME=VALUE words for stackctl and a job's env;
 * made in the unchecked fixture (no harness arena there). */
static void
make_env(void)
{
    const char *stack = getenv("SP_TEST_STACK_DIR");
    snprintf(endpoint_buf, sizeof(endpoint_buf), "http://127.0.0.1:%d", fx.port);
    char secret[256];
    snprintf(secret, sizeof(secret), "%s/s3_secret", stack);
    FILE *f = fopen(secret, "w");
    ck_assert_ptr_nonnull(f);
    fputs(SECRET_KEY "\n", f);
    fclose(f);
    snprintf(env_buf[0], sizeof(env_buf[0]), "SUPPORT_S3_BUCKET=" BUCKET);
    snprintf(env_buf[1], sizeof(env_buf[1]), "SUPPORT_S3_ENDPOINT=%s", endpoint_buf);
    snprintf(env_buf[2], sizeof(env_buf[2]), "SUPPORT_S3_ACCESS_KEY_ID=" ACCESS_KEY);
    snprintf(env_buf[3], sizeof(env_buf[3]), "SUPPORT_S3_SECRET_ACCESS_KEY_FILE=%s", secret);
    snprintf(env_buf[4], sizeof(env_buf[4]), "SUPPORT_ATTACHMENT_DIR=%s",
             getenv("SP_TEST_ATTACHMENT_DIR"));
    snprintf(env_buf[5], sizeof(env_buf[5]), "SUPPORT_CLAMD_SOCKET=%s/clamd/clamd.sock", stack);
    for (int i = 0; i < 6; i++)
        env[i] = env_buf[i];
    env[6] = NULL;
}

/* Once for the program, in the parent: the bucket, support-api on it,
 * the stack's own scanner stopped (it would look for these uploads in
 * the directory and fail them). */
static void
bucket_on(void)
{
    sp_t_fixture_start(&fx, "s3_fixture.py --access-key " ACCESS_KEY " --secret '" SECRET_KEY
                            "' --timeout 600");
    make_env();
    /* (no harness arena in this fixture: a buffer that holds the four) */
    static char cmd[sizeof("restart-api-with") + 4 * (sizeof(env_buf[0]) + 1)];
    snprintf(cmd, sizeof(cmd), "restart-api-with %s %s %s %s", env[0], env[1], env[2], env[3]);
    sp_t_stackctl(cmd);
    /* After the API: starting it starts the scanner too. */
    sp_t_stackctl("stop-scan");
}

static void
bucket_off(void)
{
    sp_t_stackctl("restart-api");
    sp_t_stackctl("start-scan");
    sp_t_fixture_stop(&fx);
}

/* GET of an absolute URL (the bucket's): status, body, two headers. */
struct got {
    long status;
    char body[16384];
    size_t len;
    char content_type[128], disposition[256], cache_control[128];
};

static size_t
got_body(char *p, size_t size, size_t n, void *arg)
{
    struct got *g = arg;
    size_t k = size * n;
    if (g->len + k < sizeof(g->body)) {
        memcpy(g->body + g->len, p, k);
        g->len += k;
    }
    return k;
}

static size_t
got_header(char *p, size_t size, size_t n, void *arg)
{
    struct got *g = arg;
    size_t k = size * n;
    if (k > 14 && strncasecmp(p, "Content-Type: ", 14) == 0)
        snprintf(g->content_type, sizeof(g->content_type), "%.*s", (int)strcspn(p + 14, "\r\n"),
                 p + 14);
    if (k > 15 && strncasecmp(p, "Cache-Control: ", 15) == 0)
        snprintf(g->cache_control, sizeof(g->cache_control), "%.*s",
                 (int)strcspn(p + 15, "\r\n"), p + 15);
    if (k > 21 && strncasecmp(p, "Content-Disposition: ", 21) == 0)
        snprintf(g->disposition, sizeof(g->disposition), "%.*s", (int)strcspn(p + 21, "\r\n"),
                 p + 21);
    return k;
}

static struct got
get_url(const char *url)
{
    struct got g;
    memset(&g, 0, sizeof(g));
    CURL *c = curl_easy_init();
    ck_assert(c != NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, got_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, got_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &g);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g.status);
    curl_easy_cleanup(c);
    return g;
}

/* One support-scan pass on the bucket; its output. */
static const char *
scan_pass(void)
{
    const char *args[] = {"--once", NULL};
    const char *out;
    int rc = sp_t_job_run("support-scan", env, args, &out);
    ck_assert_msg(rc == 0, "support-scan exited %d:\n%s", rc, out);
    return out;
}

static const char *key_of(const char *id);

/* An attachment whose upload URL is the bucket's: path-style, SigV4
 * query authentication, the size signed as content-length. */
static struct sp_t_upload
create(const char *token, const char *filename, const char *type, size_t size)
{
    struct sp_t_upload c = sp_t_attachment_post(token, filename, type, size);
    const char *prefix = sp_t_fmt("%s/" BUCKET "/%s?", endpoint(), key_of(c.id));
    ck_assert_msg(strncmp(c.url, prefix, strlen(prefix)) == 0, "upload_url %s", c.url);
    ck_assert_ptr_nonnull(strstr(c.url, "X-Amz-Algorithm=AWS4-HMAC-SHA256"));
    ck_assert_ptr_nonnull(strstr(c.url, "X-Amz-SignedHeaders=content-length%3Bhost"));
    ck_assert_ptr_null(strstr(c.url, SECRET_KEY));
    return c;
}

/* The fixture's listing entry of key ("" when absent): its sha256; with
 * any_of_id, of any key naming the attachment id key. */
static const char *
listed_sha(const char *key, bool any_of_id)
{
    struct got g = get_url(sp_t_fmt("%s/_fixture/objects", endpoint()));
    g.body[g.len < sizeof(g.body) ? g.len : sizeof(g.body) - 1] = '\0';
    struct json_object *list = json_tokener_parse(g.body);
    ck_assert_msg(g.status == 200 && list != NULL && json_object_is_type(list, json_type_array),
                  "objects: %ld %s", g.status, g.body);
    const char *sha = "";
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *o = json_object_array_get_idx(list, i);
        const char *k = sp_t_jstr(o, "key");
        if (any_of_id ? strstr(k, key) != NULL : strcmp(k, key) == 0)
            sha = sp_t_fmt("%s", sp_t_jstr(o, "sha256"));
    }
    json_object_put(list);
    return sha;
}

static const char *
stored_sha(const char *key)
{
    return listed_sha(key, false);
}

static bool
stored(const char *key)
{
    return *stored_sha(key) != '\0';
}

/* Any object of attachment id, under any key. */
static bool
any_stored(const char *id)
{
    return *listed_sha(id, true) != '\0';
}

static const char *
status_of(const char *token, const char *id)
{
    return sp_t_attachment_field(token, id, "status");
}

/* The key clients upload attachment id to (SUPPORT_S3_PREFIX's default
 * and "incoming/"). */
static const char *
key_of(const char *id)
{
    return sp_t_fmt("attachments/incoming/%s", id);
}

/* The key its checked bytes are kept under (from the row). */
static const char *
stored_key_of(const char *id)
{
    return sp_t_sql("SELECT storage_key FROM support_attachments WHERE id = '%s'", id);
}

START_TEST(a_presigned_upload_is_taken_in_scanned_and_downloaded_from_the_bucket)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload c = create(u.token, "receipt \"1\".png", "image/png", sizeof(sp_t_png));
    const char *body;
    /* The signature covers the size: one byte more is refused by the store. */
    unsigned char longer[sizeof(sp_t_png) + 1];
    memcpy(longer, sp_t_png, sizeof(sp_t_png));
    longer[sizeof(sp_t_png)] = 0;
    ck_assert_int_eq(sp_t_put_url(c.url, longer, sizeof(longer), &body), 403);
    ck_assert_int_eq(sp_t_put_url(c.url, sp_t_png, sizeof(sp_t_png), &body), 200);
    ck_assert_str_eq(status_of(u.token, c.id), "pending");
    const char *sha = stored_sha(key_of(c.id));
    ck_assert_uint_eq(strlen(sha), 64);
    const char *out = scan_pass();
    ck_assert_msg(strstr(out, "\"ingested\":1") != NULL, "%s", out);
    ck_assert_str_eq(status_of(u.token, c.id), "clean");
    /* Kept under a key of ours (no URL can write it), the incoming one gone. */
    const char *kept = stored_key_of(c.id);
    ck_assert_msg(strncmp(kept, sp_t_fmt("attachments/%s.", c.id), strlen(c.id) + 13) == 0,
                  "storage_key %s", kept);
    ck_assert_str_eq(stored_sha(kept), sha);
    ck_assert(!stored(key_of(c.id)));
    /* The upload URL still works until it expires: what is PUT now is not
     * what was scanned, and is never served. */
    ck_assert_int_eq(sp_t_put_url(c.url, sp_t_repeat("z", sizeof(sp_t_png)), sizeof(sp_t_png),
                                  &body), 200);
    ck_assert(stored(key_of(c.id)));

    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/attachments/%s", c.id), u.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "sha256"), sha);
    const char *url = sp_t_fmt("%s", sp_t_jstr(r->json, "download_url"));
    sp_t_resp_free(r);
    ck_assert(strncmp(url, endpoint(), strlen(endpoint())) == 0);
    /* The store answers with our type and disposition (signed overrides). */
    struct got d = get_url(url);
    ck_assert_int_eq(d.status, 200);
    ck_assert_uint_eq(d.len, sizeof(sp_t_png));
    ck_assert_mem_eq(d.body, sp_t_png, sizeof(sp_t_png));
    ck_assert_str_eq(d.content_type, "image/png");
    ck_assert_msg(strncmp(d.disposition, "attachment;", 11) == 0 &&
                      strstr(d.disposition, "receipt") != NULL,
                  "Content-Disposition: %s", d.disposition);
    /* No shared cache keeps it (the store cannot add nosniff or a CSP). */
    ck_assert_str_eq(d.cache_control, "private, no-store");
    /* Altered, the URL is worth nothing. */
    char *bad = strdup(url);
    char *sig = strstr(bad, "X-Amz-Signature=") + strlen("X-Amz-Signature=");
    *sig = *sig == 'a' ? 'b' : 'a';
    d = get_url(bad);
    free(bad);
    ck_assert_int_eq(d.status, 403);
    /* A clean upload in the bucket attaches like any other. */
    const char *t = sp_t_ticket_create(&u, "with a bucket attachment");
    r = sp_t_post_json(sp_t_fmt("/support/tickets/%s/messages", t), u.token,
                       sp_t_fmt("{\"body\":\"see file\",\"attachments\":[\"%s\"]}", c.id));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    /* The local store's /content routes hand out nothing here. */
    r = sp_t_get(sp_t_fmt("/support/attachments/%s/content?kid=x&expires=1&size=67&sig=00",
                          c.id), NULL);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(infected_and_mistyped_uploads_are_refused_and_deleted_from_the_bucket)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload virus = create(u.token, "notes.txt", "text/plain", strlen(EICAR));
    struct sp_t_upload fake = create(u.token, "photo.png", "image/png", 10);
    const char *body;
    ck_assert_int_eq(sp_t_put_url(virus.url, EICAR, strlen(EICAR), &body), 200);
    ck_assert_int_eq(sp_t_put_url(fake.url, "plain text", 10, &body), 200);
    ck_assert(stored(key_of(virus.id)) && stored(key_of(fake.id)));
    scan_pass();
    ck_assert_str_eq(status_of(u.token, virus.id), "infected");
    ck_assert_str_eq(status_of(u.token, fake.id), "failed");
    ck_assert_str_eq(sp_t_sql("SELECT scan_result FROM support_attachments WHERE id = '%s'",
                              fake.id), "type_mismatch");
    ck_assert(!any_stored(virus.id));
    ck_assert(!any_stored(fake.id));
    /* The infected copy's key was noted with the verdict and forgotten
     * once its object was deleted. */
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachment_deletions"
                              " WHERE storage_key LIKE 'attachments/%s.%%'", virus.id), "0");
}
END_TEST

/* Nothing uploaded yet: the pass looks, finds nothing, and looks again
 * later — at once when the client asks for the status; the cleanup later
 * deletes the row (and any late object). */
START_TEST(an_upload_not_made_stays_pending_and_is_cleaned_up)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload c = create(u.token, "later.png", "image/png", sizeof(sp_t_png));
    scan_pass();
    ck_assert_str_eq(sp_t_sql("SELECT next_scan_at > now() FROM support_attachments"
                              " WHERE id = '%s'", c.id), "t");
    ck_assert_str_eq(status_of(u.token, c.id), "pending");
    ck_assert_str_eq(sp_t_sql("SELECT next_scan_at IS NULL FROM support_attachments"
                              " WHERE id = '%s'", c.id), "t");
    /* An object that came after its row was given up on goes with it. */
    sp_t_fixture_post(&fx, sp_t_fmt("/_fixture/put?bucket=" BUCKET "&key=%s", key_of(c.id)), "{}");
    ck_assert(stored(key_of(c.id)));
    sp_t_sql("UPDATE support_attachments SET created_at = now() - interval '2 days'"
             " WHERE id = '%s'", c.id);
    const char *args[] = {"--once", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, args, &out), 0);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'", c.id),
                     "0");
    ck_assert(!stored(key_of(c.id)));
}
END_TEST

/* A PNG uploaded to the bucket, taken in and scanned clean; its checked
 * copy is stored (stored_key_of). */
static struct sp_t_upload
clean_in_bucket(const char *token, const char *filename)
{
    struct sp_t_upload c = create(token, filename, "image/png", sizeof(sp_t_png));
    const char *body;
    ck_assert_int_eq(sp_t_put_url(c.url, sp_t_png, sizeof(sp_t_png), &body), 200);
    scan_pass();
    ck_assert_str_eq(status_of(token, c.id), "clean");
    ck_assert(stored(stored_key_of(c.id)));
    return c;
}

/* A clean upload attached to nothing past
 * SUPPORT_ATTACHMENT_UNATTACHED_HOURS (24); its stored key. */
static const char *
unattached_for_a_day(struct sp_t_upload *c)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    *c = clean_in_bucket(u.token, "unused.png");
    sp_t_sql("UPDATE support_attachments SET uploaded_at = now() - interval '25 hours'"
             " WHERE id = '%s'", c->id);
    return stored_key_of(c->id);
}

/* An upload attached to nothing past SUPPORT_ATTACHMENT_UNATTACHED_HOURS
 * (24): the cleanup deletes its row, then its stored object. */
START_TEST(an_upload_attached_to_nothing_goes_with_its_object)
{
    struct sp_t_upload c;
    const char *kept = unattached_for_a_day(&c);
    const char *args[] = {"--once", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("attachment-cleanup", env, args, &out), 0);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'", c.id),
                     "0");
    ck_assert(!stored(kept));
}
END_TEST

/* attachment-cleanup, once; its exit code (1: an object was not deleted). */
static int
cleanup_run(void)
{
    const char *args[] = {"--once", NULL};
    const char *out;
    return sp_t_job_run("attachment-cleanup", env, args, &out);
}

static const char *
deletions_of(const char *key)
{
    return sp_t_sql("SELECT count(*) FROM support_attachment_deletions WHERE storage_key = '%s'",
                    key);
}

/* The bucket refuses the delete of an unattached upload's object (its
 * clock an hour ahead: every signed request is RequestTimeTooSkewed): the
 * row goes, its key stays in support_attachment_deletions, and a cleanup
 * an hour later deletes the object — it used to stay in the bucket for
 * good, since a bucket is never listed. */
START_TEST(an_object_whose_delete_failed_goes_with_a_later_cleanup)
{
    struct sp_t_upload c;
    const char *kept = unattached_for_a_day(&c);
    sp_t_fixture_post(&fx, "/_fixture/clock?offset=3600", "{}");
    int rc = cleanup_run();
    sp_t_fixture_post(&fx, "/_fixture/clock?offset=0", "{}");
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'", c.id),
                     "0");
    ck_assert(stored(kept));
    ck_assert_str_eq(deletions_of(kept), "1");
    ck_assert_int_eq(cleanup_run(), 0);   /* not within the hour */
    ck_assert(stored(kept));
    sp_t_sql("UPDATE support_attachment_deletions SET created_at = now() - interval '2 hours'"
             " WHERE storage_key = '%s'", kept);
    ck_assert_int_eq(cleanup_run(), 0);
    ck_assert(!stored(kept));
    ck_assert_str_eq(deletions_of(kept), "0");
}
END_TEST

/* support-scan notes a checked copy's key before it stores it: a scanner
 * that dies before its row names the key leaves it noted, and the cleanup
 * deletes that object after an hour; a noted key the row names (the
 * ingest went through) is only forgotten, its object kept. */
START_TEST(a_copy_no_row_came_to_name_is_deleted_and_a_named_one_kept)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload c = clean_in_bucket(u.token, "kept.png");
    const char *kept = stored_key_of(c.id);
    ck_assert_str_eq(deletions_of(kept), "1");
    /* What a scanner that died after its PUT left: an object and its note. */
    const char *lost = sp_t_fmt("attachments/%s.0123456789abcdef", c.id);
    sp_t_fixture_post(&fx, sp_t_fmt("/_fixture/put?bucket=" BUCKET "&key=%s", lost), "{}");
    sp_t_sql("INSERT INTO support_attachment_deletions (storage_key, created_at)"
             " VALUES ('%s', now() - interval '2 hours')", lost);
    sp_t_sql("UPDATE support_attachment_deletions SET created_at = now() - interval '2 hours'"
             " WHERE storage_key = '%s'", kept);
    ck_assert_int_eq(cleanup_run(), 0);
    ck_assert(!stored(lost));
    ck_assert(stored(kept));
    ck_assert_str_eq(deletions_of(lost), "0");
    ck_assert_str_eq(deletions_of(kept), "0");
    ck_assert_str_eq(status_of(u.token, c.id), "clean");
}
END_TEST

/* The database refuses to record an upload the scanner took in (a
 * trigger stands in for an outage): the upload is not lost — its incoming
 * object stays and the next pass takes it in — and the copy the failed
 * pass stored goes with the cleanup. */
START_TEST(an_upload_whose_record_failed_is_taken_in_on_the_next_pass)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload c = create(u.token, "retry.png", "image/png", sizeof(sp_t_png));
    const char *body;
    ck_assert_int_eq(sp_t_put_url(c.url, sp_t_png, sizeof(sp_t_png), &body), 200);
    sp_t_sql("CREATE FUNCTION t_refuse_record() RETURNS trigger LANGUAGE plpgsql AS"
             " $$BEGIN RAISE EXCEPTION 'the database is away'; END$$");
    sp_t_sql("CREATE TRIGGER t_refuse_record BEFORE UPDATE ON support_attachments FOR EACH ROW"
             " WHEN (OLD.uploaded_at IS NULL AND NEW.uploaded_at IS NOT NULL"
             " AND NEW.id = '%s') EXECUTE FUNCTION t_refuse_record()", c.id);
    const char *args[] = {"--once", NULL};
    const char *out;
    (void)sp_t_job_run("support-scan", env, args, &out);
    sp_t_sql("DROP TRIGGER t_refuse_record ON support_attachments");
    sp_t_sql("DROP FUNCTION t_refuse_record()");
    ck_assert_str_eq(status_of(u.token, c.id), "pending");
    ck_assert_msg(stored(key_of(c.id)), "the incoming object was deleted:\n%s", out);
    const char *lost = sp_t_sql("SELECT storage_key FROM support_attachment_deletions"
                                " WHERE storage_key LIKE 'attachments/%s.%%'", c.id);
    ck_assert(stored(lost));
    scan_pass();
    ck_assert_str_eq(status_of(u.token, c.id), "clean");
    const char *kept = stored_key_of(c.id);
    ck_assert_str_ne(kept, lost);
    ck_assert(!stored(key_of(c.id)));
    sp_t_sql("UPDATE support_attachment_deletions SET created_at = now() - interval '2 hours'"
             " WHERE storage_key LIKE 'attachments/%s.%%'", c.id);
    ck_assert_int_eq(cleanup_run(), 0);
    ck_assert(!stored(lost));
    ck_assert(stored(kept));
}
END_TEST

/* support-scan as a daemon that only a NOTIFY wakes (its interval is
 * ten minutes), after its first pass; and stopped, its output. */
static void
daemon_start(struct sp_t_job *daemon)
{
    const char *args[] = {"--loop", "--interval", "600", NULL};
    sp_t_job_start(daemon, "support-scan", env, args);
    usleep(1500 * 1000);   /* its first pass, and LISTEN */
}

static const char *
daemon_stop(struct sp_t_job *daemon)
{
    kill(daemon->pid, SIGTERM);
    const char *out;
    ck_assert_int_eq(sp_t_job_wait(daemon, &out), 0);
    return out;
}

/* The scanner as a daemon that only a NOTIFY wakes (its interval is
 * ten minutes): a client asking for the status after its PUT makes it
 * look now, so the upload is clean within seconds of the first ask. */
START_TEST(asking_for_the_status_makes_the_scanner_look_now)
{
    struct sp_t_job daemon;
    daemon_start(&daemon);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload c = create(u.token, "asked.png", "image/png", sizeof(sp_t_png));
    const char *body;
    ck_assert_int_eq(sp_t_put_url(c.url, sp_t_png, sizeof(sp_t_png), &body), 200);
    const char *status = sp_t_attachment_wait(u.token, c.id, 10);
    const char *out = daemon_stop(&daemon);
    ck_assert_msg(strcmp(status, "clean") == 0, "status %s; support-scan said:\n%s", status, out);
}
END_TEST

/* The fixture's request lines up to a marker request made now: how many
 * were a GET of key. Read with fgets alone (a line may already sit in
 * the stream's buffer, where poll does not see it); the marker's line
 * always comes. */
static int
gets_of(const char *key)
{
    const char *marker = sp_t_fmt("marker-%ld", (long)getpid());
    (void)get_url(sp_t_fmt("%s/" BUCKET "/%s", endpoint(), marker));
    int n = 0;
    for (char line[16384]; fgets(line, sizeof(line), fx.out) != NULL;) {
        struct json_object *o = json_tokener_parse(line);
        if (o == NULL)
            continue;
        const char *k = sp_t_jhas(o, "key") ? json_object_get_string(sp_t_jget(o, "key")) : NULL;
        bool get = sp_t_jhas(o, "method") && strcmp(sp_t_jstr(o, "method"), "GET") == 0;
        bool done = k != NULL && strcmp(k, marker) == 0;
        n += k != NULL && get && strcmp(k, key) == 0;
        json_object_put(o);
        if (done)
            break;
    }
    return n;
}

/* QA: every status poll of a pending upload made the scanner request the
 * bucket (and wrote the row): at most one ask a second per row. */
START_TEST(quick_polls_make_the_scanner_look_at_most_once_a_second)
{
    struct sp_t_job daemon;
    daemon_start(&daemon);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_upload c = create(u.token, "polled.png", "image/png", sizeof(sp_t_png));
    (void)gets_of(key_of(c.id));   /* what came before */
    for (int i = 0; i < 20; i++) {
        ck_assert_str_eq(status_of(u.token, c.id), "pending");
        usleep(40 * 1000);
    }
    usleep(500 * 1000);   /* the looks asked for are made */
    const char *out = daemon_stop(&daemon);
    int looks = gets_of(key_of(c.id));
    ck_assert_msg(looks >= 1 && looks <= 3, "%d looks for 20 polls; support-scan said:\n%s",
                  looks, out);
}
END_TEST

/* A customer's mail with a PNG: the file is PUT to its incoming key, as
 * a client's upload would be (no copy stays in the directory); the
 * scanner takes it in under a key of ours, scans it, and it is served
 * from the bucket. */
START_TEST(a_mails_file_is_kept_in_the_bucket)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *email = sp_t_fmt("%s@example.org", sp_t_unique("s3mail"));
    u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub,
                                sp_t_fmt("{\"email\":%s}", sp_t_jq(email)));
    sp_t_ticket_create(&u, "stores the email");
    unsigned char b64[128];
    EVP_EncodeBlock(b64, sp_t_png, sizeof(sp_t_png));
    const char *raw = sp_t_fmt(
        "From: <%s>\r\nTo: support@example.test\r\nSubject: receipt\r\n"
        "Message-ID: <%s@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        "The receipt.\r\n--b\r\nContent-Type: image/png; name=receipt.png\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--b--\r\n",
        email, sp_t_unique("m"), b64);
    const char *menv[] = {env[0], env[1], env[2], env[3], env[4],
                          "SUPPORT_MAIL_FROM=support@example.test",
                          "SUPPORT_MAIL_TRUST_FROM=1",
                          sp_t_fmt("SUPPORT_ENCRYPTION_KEYS_FILE=%s",
                                   getenv("SP_TEST_ENCRYPTION_KEYS_FILE")),
                          NULL};
    const char *args[] = {"--sender", email, "--recipient", "support@example.test", NULL};
    const char *out;
    int rc = sp_t_job_run_input("support-mail-in", menv, args, raw, strlen(raw), &out);
    ck_assert_msg(rc == 0 && strstr(out, "\"files\":1") != NULL, "exit %d: %s", rc, out);
    const char *id = sp_t_sql("SELECT id FROM support_attachments WHERE owner_sub = '%s'", u.sub);
    ck_assert_ptr_nonnull(id);
    ck_assert_ptr_null(stored_key_of(id));
    const char *sha = stored_sha(key_of(id));
    ck_assert_uint_eq(strlen(sha), 64);
    ck_assert_int_eq(sp_t_attachment_local_files("mail-"), 0);
    ck_assert_int_eq(sp_t_attachment_local_files(id), 0);
    ck_assert_str_eq(status_of(u.token, id), "pending");
    out = scan_pass();
    ck_assert_msg(strstr(out, "\"ingested\":1") != NULL, "%s", out);
    ck_assert_str_eq(status_of(u.token, id), "clean");
    const char *kept = stored_key_of(id);
    ck_assert_msg(strncmp(kept, sp_t_fmt("attachments/%s.", id), strlen(id) + 13) == 0,
                  "storage_key %s", kept);
    ck_assert_str_eq(stored_sha(kept), sha);
    ck_assert(!stored(key_of(id)));
    struct got d = get_url(sp_t_attachment_field(u.token, id, "download_url"));
    ck_assert_int_eq(d.status, 200);
    ck_assert_uint_eq(d.len, sizeof(sp_t_png));
    ck_assert_mem_eq(d.body, sp_t_png, sizeof(sp_t_png));
}
END_TEST

/* A bucket without its endpoint or keys stops start-up with the reason. */
START_TEST(incomplete_bucket_settings_are_refused_at_start)
{
    const char *partial[] = {"SUPPORT_S3_BUCKET=" BUCKET, NULL};
    const char *args[] = {"--once", NULL};
    const char *out;
    ck_assert_int_ne(sp_t_job_run("support-scan", partial, args, &out), 0);
    ck_assert_msg(strstr(out, "SUPPORT_S3_ENDPOINT is required") != NULL, "%s", out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("attachments_s3");
    TCase *tc = sp_t_tcase(s, "bucket");
    tcase_add_unchecked_fixture(tc, bucket_on, bucket_off);
    tcase_add_test(tc, a_presigned_upload_is_taken_in_scanned_and_downloaded_from_the_bucket);
    tcase_add_test(tc, infected_and_mistyped_uploads_are_refused_and_deleted_from_the_bucket);
    tcase_add_test(tc, an_upload_not_made_stays_pending_and_is_cleaned_up);
    tcase_add_test(tc, an_upload_attached_to_nothing_goes_with_its_object);
    tcase_add_test(tc, an_object_whose_delete_failed_goes_with_a_later_cleanup);
    tcase_add_test(tc, a_copy_no_row_came_to_name_is_deleted_and_a_named_one_kept);
    tcase_add_test(tc, an_upload_whose_record_failed_is_taken_in_on_the_next_pass);
    tcase_add_test(tc, asking_for_the_status_makes_the_scanner_look_now);
    tcase_add_test(tc, quick_polls_make_the_scanner_look_at_most_once_a_second);
    tcase_add_test(tc, incomplete_bucket_settings_are_refused_at_start);
    tcase_add_test(tc, a_mails_file_is_kept_in_the_bucket);
    return sp_t_run(s);
}
