/*
 * test_attachment_erase: taking a file back (docs/API.md §10 "Deleting
 * and redacting") through nginx, support-api and the stack's scanner:
 * the uploader's DELETE of an upload attached to nothing (204, row and
 * file gone; attached: 409 attachment_attached; another's: 404), and an
 * agent's redaction (the row kept and named "redacted", the file gone, a
 * download 410 attachment_redacted, the message's list and the ticket's
 * events saying so; again: the same answer; an infected one too).
 */
#include "attachment_harness.h"

#include <string.h>
#include <time.h>

#include "core/arena.h"

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

static struct sp_t_resp *
delete_as(const char *token, const char *id)
{
    return sp_t_request("DELETE", sp_t_fmt("/support/attachments/%s", id), token, NULL, NULL,
                        NULL);
}

static struct sp_t_resp *
redact_as(const char *token, const char *id)
{
    return sp_t_post_json(sp_t_fmt("/support/agent/attachments/%s/redact", id), token, "{}");
}

static int
stored_files(const char *id)
{
    return sp_t_attachment_local_files(sp_t_fmt("%s.", id));
}

START_TEST(the_uploader_deletes_an_upload_attached_to_nothing)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *id = sp_t_attachment_clean_png(c.token);
    ck_assert_int_eq(stored_files(id), 1);
    /* Another customer, and staff (who read it), cannot delete it. */
    struct sp_t_resp *r = delete_as(other.token, id);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = delete_as(agent.token, id);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    /* The owner: in any case of the id, 204, the file gone now. */
    char lower[64];
    snprintf(lower, sizeof(lower), "%s", id);
    for (char *ch = lower; *ch; ch++)
        *ch = (char)(*ch >= 'A' && *ch <= 'Z' ? *ch - 'A' + 'a' : *ch);
    r = delete_as(c.token, lower);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
    ck_assert_int_eq(stored_files(id), 0);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'", id),
                     "0");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachment_deletions d"
                              " WHERE d.storage_key LIKE '%s.%%'", id), "0");
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", id), c.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    r = delete_as(c.token, id);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
    /* One never uploaded goes too. */
    struct sp_t_upload u = sp_t_attachment_new(c.token, "later.png", "image/png",
                                               sizeof(sp_t_png));
    r = delete_as(c.token, u.id);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, sp_t_png, sizeof(sp_t_png), &body), 404);
}
END_TEST

START_TEST(an_attached_upload_is_not_deleted_but_can_be_redacted)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *id = sp_t_attachment_clean_png(c.token);
    const char *pid = sp_t_ticket_with_attachment(&c, "Passport", id);
    const char *old_url = sp_t_attachment_field(c.token, id, "download_url");
    struct sp_t_resp *r = delete_as(c.token, id);
    sp_t_assert_problem(r, 409, "attachment_attached");
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "detail"), "an agent can redact it"));
    sp_t_resp_free(r);
    ck_assert_int_eq(stored_files(id), 1);
    /* A customer cannot redact; without a token nobody deletes or redacts. */
    r = redact_as(c.token, id);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
    r = redact_as(NULL, id);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
    r = delete_as(NULL, id);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);

    r = redact_as(agent.token, id);
    sp_t_assert_json(r, 200);
    ck_assert(json_object_get_boolean(sp_t_jget(r->json, "redacted")));
    sp_t_assert_recent(sp_t_jstr(r->json, "redacted_at"));
    const char *at = sp_t_fmt("%s", sp_t_jstr(r->json, "redacted_at"));
    ck_assert_str_eq(sp_t_jstr(r->json, "filename"), "redacted");
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "clean");
    ck_assert_int_eq(sp_t_jint(r->json, "size"), sizeof(sp_t_png));
    sp_t_assert_jnull(r->json, "sha256");
    sp_t_assert_jnull(r->json, "download_url");
    sp_t_resp_free(r);
    ck_assert_int_eq(stored_files(id), 0);
    /* An URL handed out before: 410 Gone. */
    r = sp_t_get(old_url, NULL);
    sp_t_assert_problem(r, 410, "attachment_redacted");
    sp_t_resp_free(r);
    /* The owner sees it redacted, with no URL. */
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", id), c.token);
    sp_t_assert_json(r, 200);
    ck_assert(json_object_get_boolean(sp_t_jget(r->json, "redacted")));
    sp_t_assert_jnull(r->json, "download_url");
    sp_t_resp_free(r);
    /* The message lists it redacted. */
    struct sp_t_resp *t = sp_t_ticket_get(&c, pid);
    struct json_object *msg = json_object_array_get_idx(sp_t_jarr(t->json, "messages"), 0);
    struct json_object *att = json_object_array_get_idx(sp_t_jarr(msg, "attachments"), 0);
    ck_assert_str_eq(sp_t_jstr(att, "id"), id);
    ck_assert_str_eq(sp_t_jstr(att, "filename"), "redacted");
    ck_assert(json_object_get_boolean(sp_t_jget(att, "redacted")));
    ck_assert_str_eq(sp_t_jstr(att, "redacted_at"), at);
    sp_t_resp_free(t);
    /* The event, by the agent. */
    r = sp_t_get(sp_t_fmt("/support/agent/tickets/%s/events?limit=100", pid), agent.token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    struct json_object *ev = NULL;
    for (size_t i = 0; i < json_object_array_length(data); i++)
        if (strcmp(sp_t_jstr(json_object_array_get_idx(data, i), "event_type"),
                   "attachment_redacted") == 0)
            ev = json_object_array_get_idx(data, i);
    ck_assert_ptr_nonnull(ev);
    ck_assert_str_eq(sp_t_jstr(ev, "actor_type"), "agent");
    ck_assert_str_eq(sp_t_jstr(ev, "performed_by"), agent.sub);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(ev, "metadata"), "attachment_id"), id);
    sp_t_resp_free(r);

    /* Again: the same view, no second event. */
    r = redact_as(agent.token, id);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "redacted_at"), at);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_ticket_events"
                              " WHERE event_type = 'attachment_redacted'"
                              " AND metadata->>'attachment_id' = '%s'", id), "1");
    r = redact_as(agent.token, "NOSUCHID1234");
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(an_infected_or_unattached_upload_is_redacted_too)
{
    struct sp_t_user c = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_ADMIN);
    struct sp_t_upload u = sp_t_attachment_new(c.token, "eicar.txt", "text/plain", strlen(EICAR));
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(u.url, EICAR, strlen(EICAR), &body), 200);
    ck_assert_str_eq(sp_t_attachment_wait(c.token, u.id, 20), "infected");
    struct sp_t_resp *r = redact_as(agent.token, u.id);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "infected");
    ck_assert_str_eq(sp_t_jstr(r->json, "filename"), "redacted");
    sp_t_resp_free(r);
    /* An unattached clean one: redacted, it can no longer be attached. */
    const char *id = sp_t_attachment_clean_png(c.token);
    r = redact_as(agent.token, id);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(stored_files(id), 0);
    r = sp_t_post_json("/support/tickets", c.token,
                       sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\",\"attachments\":[%s]}",
                                sp_t_jq(id)));
    sp_t_assert_invalid(r, "attachments[0]", "attachment_redacted");
    sp_t_resp_free(r);
    /* A pending one never uploaded: its upload is refused, 410. */
    struct sp_t_upload p = sp_t_attachment_new(c.token, "p.png", "image/png", sizeof(sp_t_png));
    r = redact_as(agent.token, p.id);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "failed");
    sp_t_resp_free(r);
    ck_assert_int_eq(sp_t_put_bytes(p.url, sp_t_png, sizeof(sp_t_png), &body), 410);
    ck_assert_ptr_nonnull(strstr(body, "attachment_redacted"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("attachment_erase");
    TCase *tc = sp_t_tcase(s, "erase");
    tcase_add_test(tc, the_uploader_deletes_an_upload_attached_to_nothing);
    tcase_add_test(tc, an_attached_upload_is_not_deleted_but_can_be_redacted);
    tcase_add_test(tc, an_infected_or_unattached_upload_is_redacted_too);
    return sp_t_run(s);
}
