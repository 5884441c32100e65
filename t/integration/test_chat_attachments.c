/*
 * test_chat_attachments: chat messages carry attachments (API.md §7 frame
 * field `attachments`, §10) through nginx + nchan, support-chat and
 * support-api: a websocket message with the sender's clean upload reaches
 * both sides with the metadata ticket messages list (id, filename,
 * content_type, size, ...), and the history has it; the HTTP fallback and
 * the session's first message take them too; anything that is not a
 * clean, unattached upload of the sender is refused (an error frame
 * `unknown_attachment` on the socket, 422 over HTTP) and stores no
 * message; the chat's customer may fetch what the agent sent; and when
 * the chat becomes a ticket, its attachments follow to the ticket's
 * first message and the transcript notes each under its message (after
 * the customer's own, on a ticket created naming the chat).
 */
#include "attachment_harness.h"
#include "chat_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

/* Runs a websocket client that sends frames (a --send list) and reads
 * `expect` frames; returns them (a JSON array, owned by the caller). */
static struct json_object *
ws_exchange(const char *url, const char *extra, int expect)
{
    FILE *f = sp_t_ws_client(url, sp_t_fmt("%s --expect %d --timeout 10", extra, expect));
    sp_t_ws_expect_open(f);
    return sp_t_ws_drain(f);
}

static const char *
message_frame(const char *body, const char *ids_json)
{
    return sp_t_shq(sp_t_fmt("{\"type\":\"message\",\"body\":%s,\"attachments\":%s}",
                             sp_t_jq(body), ids_json));
}

/* attachments[i] is the metadata of the clean PNG id. */
static void
assert_png_listed(struct json_object *list, size_t i, const char *id)
{
    ck_assert_uint_gt(json_object_array_length(list), i);
    struct json_object *a = json_object_array_get_idx(list, i);
    ck_assert_str_eq(sp_t_jstr(a, "id"), id);
    ck_assert_str_eq(sp_t_jstr(a, "filename"), "screenshot.png");
    ck_assert_str_eq(sp_t_jstr(a, "content_type"), "image/png");
    ck_assert_int_eq(sp_t_jint(a, "size"), sizeof(sp_t_png));
    ck_assert_str_eq(sp_t_jstr(a, "status"), "clean");
}

/* The session's stored messages with this body. */
static const char *
stored_count(const char *sid, const char *body)
{
    return sp_t_sql("SELECT count(*) FROM support_chat_messages m JOIN support_chat_sessions s"
                    " ON s.id = m.session_id WHERE s.public_id = '%s' AND m.body = '%s'",
                    sid, body);
}

/* The history's message with this body. */
static struct json_object *
history_message(struct sp_t_resp *r, const char *body)
{
    struct json_object *msgs = sp_t_jarr(r->json, "messages");
    for (size_t i = 0; i < json_object_array_length(msgs); i++) {
        struct json_object *m = json_object_array_get_idx(msgs, i);
        const char *b = sp_t_jstr(m, "body");
        if (b != NULL && strcmp(b, body) == 0)
            return m;
    }
    ck_abort_msg("no message %s in the history", body);
    return NULL;
}

static struct sp_t_resp *
chat_post(const struct sp_t_user *u, const char *sid, const char *json)
{
    return sp_t_post_json(sp_t_fmt("/support/chat/session/%s/messages", sid), u->token, json);
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(a_websocket_message_carries_the_senders_clean_upload_to_both_sides)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *id = sp_t_attachment_clean_png(c.customer.token);
    const char *ids = sp_t_fmt("[%s]", sp_t_jq(id));
    FILE *agent = sp_t_ws_client(
        sp_t_chat_url("ws", c.id, NULL, NULL),
        sp_t_fmt("--header %s --expect 2 --timeout 10",
                 sp_t_shq(sp_t_fmt("Authorization: Bearer %s", c.agent.token))));
    sp_t_ws_expect_open(agent);
    struct json_object *mine = ws_exchange(
        sp_t_chat_url("ws", c.id, c.token, c.customer.token),
        sp_t_fmt("--send %s", message_frame("see the screenshot", ids)), 2);
    struct json_object *f = sp_t_chat_frame(mine, "message", "see the screenshot");
    ck_assert_msg(f != NULL, "no frame: %s", json_object_to_json_string(mine));
    assert_png_listed(sp_t_jarr(f, "attachments"), 0, id);
    /* The agent's socket got the same frame (after the customer's
     * presence). */
    struct json_object *got = NULL, *d = NULL;
    for (int i = 0; i < 2 && d == NULL; i++) {
        got = sp_t_ws_next_event(agent, "frame");
        struct json_object *data;
        ck_assert(json_object_object_get_ex(got, "data", &data));
        if (sp_t_jhas(data, "body") && strcmp(sp_t_jstr(data, "body"), "see the screenshot") == 0)
            d = data;
        else
            json_object_put(got);
    }
    ck_assert_msg(d != NULL, "the agent did not get the message");
    assert_png_listed(sp_t_jarr(d, "attachments"), 0, id);
    json_object_put(got);
    pclose(agent);
    /* The history lists it, and messages without any list none. */
    struct sp_t_resp *h = sp_t_get(sp_t_fmt("/support/chat/session/%s", c.id), c.agent.token);
    sp_t_assert_json(h, 200);
    assert_png_listed(sp_t_jarr(history_message(h, "see the screenshot"), "attachments"), 0, id);
    sp_t_resp_free(h);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments a"
                              " JOIN support_chat_messages m ON m.id = a.chat_message_id"
                              " WHERE a.id = '%s' AND a.message_id IS NULL"
                              " AND a.attached_at IS NOT NULL", id),
                     "1");
    json_object_put(mine);
}
END_TEST

/* QA: a frame whose body was refused hid an unknown attachment until
 * the body was fixed. The one error frame keeps the body's code and
 * detail and lists both in `errors` (API.md §1, §7); a list of the
 * sender's clean uploads adds nothing, and nothing is stored. */
START_TEST(a_refused_body_and_an_unknown_attachment_come_in_one_error_frame)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *mine = sp_t_attachment_clean_png(c.customer.token);
#define MESSAGES_OF                                                                            \
    "SELECT count(*) FROM support_chat_messages m JOIN support_chat_sessions s"               \
    " ON s.id = m.session_id WHERE s.public_id = '%s'"
    const char *before = sp_t_sql(MESSAGES_OF, c.id);
    const char *sends =
        sp_t_fmt("--send %s --send %s", message_frame("<script>x</script>", "[\"NOSUCHID0000\"]"),
                 message_frame("<script>y</script>", sp_t_fmt("[%s]", sp_t_jq(mine))));
    struct json_object *frames =
        ws_exchange(sp_t_chat_url("ws", c.id, c.token, c.customer.token), sends, 2);
    ck_assert_uint_eq(json_object_array_length(frames), 2);
    for (size_t i = 0; i < 2; i++) {
        struct json_object *f = json_object_array_get_idx(frames, i);
        ck_assert_str_eq(sp_t_jstr(f, "type"), "error");
        ck_assert_str_eq(sp_t_jstr(f, "code"), "invalid_frame");
        ck_assert_str_eq(sp_t_jstr(f, "detail"), "body has no text once unsafe markup is removed");
    }
    struct json_object *errs = sp_t_jarr(json_object_array_get_idx(frames, 0), "errors");
    ck_assert_uint_eq(json_object_array_length(errs), 2);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(errs, 0), "field"), "body");
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(errs, 1), "field"), "attachments[0]");
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(errs, 1), "code"),
                     "unknown_attachment");
    ck_assert(!sp_t_jhas(json_object_array_get_idx(frames, 1), "errors"));
    json_object_put(frames);
    ck_assert_str_eq(sp_t_sql(MESSAGES_OF, c.id), before);
    ck_assert_ptr_null(sp_t_sql("SELECT attached_at FROM support_attachments WHERE id = '%s'",
                                mine));
#undef MESSAGES_OF
}
END_TEST

START_TEST(what_is_not_a_clean_unattached_upload_of_the_sender_gets_an_error_frame)
{
    struct sp_t_chat c = sp_t_chat_active();
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *foreign = sp_t_attachment_clean_png(other.token);
    struct sp_t_upload pending =
        sp_t_attachment_new(c.customer.token, "p.png", "image/png", sizeof(sp_t_png));
    const char *mine = sp_t_attachment_clean_png(c.customer.token);
    const char *bad[] = {sp_t_fmt("[%s]", sp_t_jq(foreign)),
                         sp_t_fmt("[%s]", sp_t_jq(pending.id)), "[\"NOSUCHID0000\"]", "[42]",
                         sp_t_fmt("[%s,%s]", sp_t_jq(mine), sp_t_jq(mine))};
    const char *sends = "";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        sends = sp_t_fmt("%s --send %s", sends, message_frame(sp_t_fmt("bad %zu", i), bad[i]));
    sends = sp_t_fmt("%s --send %s --send %s", sends,
                     message_frame("good", sp_t_fmt("[%s]", sp_t_jq(mine))),
                     message_frame("again", sp_t_fmt("[%s]", sp_t_jq(mine))));
    struct json_object *frames =
        ws_exchange(sp_t_chat_url("ws", c.id, c.token, c.customer.token), sends, 7);
    size_t errors = 0, duplicates = 0, not_uploaded = 0, in_use = 0;
    for (size_t i = 0; i < json_object_array_length(frames); i++) {
        struct json_object *f = json_object_array_get_idx(frames, i);
        if (strcmp(sp_t_jstr(f, "type"), "error") != 0)
            continue;
        /* The upload listed twice is that item's fault, not an unknown upload (QA). */
        if (strcmp(sp_t_jstr(f, "code"), "duplicate") == 0) {
            ck_assert_str_eq(sp_t_jstr(f, "detail"), "attachments[1] lists an attachment already"
                                                     " listed (ids are case-insensitive)");
            duplicates++;
        } else if (strcmp(sp_t_jstr(f, "code"), "attachment_not_uploaded") == 0) {
            /* the sender's own upload, not uploaded yet: said so */
            ck_assert_str_eq(sp_t_jstr(f, "detail"),
                             "attachments[0] has no content yet; upload it first");
            not_uploaded++;
        } else if (strcmp(sp_t_jstr(f, "code"), "attachment_in_use") == 0) {
            /* "again": the upload "good" took */
            in_use++;
        } else {
            ck_assert_str_eq(sp_t_jstr(f, "code"), "unknown_attachment");
            ck_assert(strstr(sp_t_jstr(f, "detail"), "attachment") != NULL);
        }
        errors++;
    }
    ck_assert_msg(errors == 6 && duplicates == 1 && not_uploaded == 1 && in_use == 1,
                  "%zu error frames, %zu duplicate: %s", errors, duplicates,
                  json_object_to_json_string(frames));
    assert_png_listed(sp_t_jarr(sp_t_chat_frame(frames, "message", "good"), "attachments"), 0, mine);
    json_object_put(frames);
    /* Nothing refused was stored; the message that used it once, was. */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_str_eq(stored_count(c.id, sp_t_fmt("bad %zu", i)), "0");
    ck_assert_str_eq(stored_count(c.id, "again"), "0");
    ck_assert_str_eq(stored_count(c.id, "good"), "1");
    /* The HTTP fallback answers the ticket path's 422. */
    struct sp_t_resp *r = chat_post(&c.customer, c.id,
                                    sp_t_fmt("{\"body\":\"http bad\",\"attachments\":[%s]}",
                                             sp_t_jq(foreign)));
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    sp_t_resp_free(r);
    r = chat_post(&c.customer, c.id,
                  sp_t_fmt("{\"body\":\"http bad\",\"attachments\":[%s,%s]}", sp_t_jq(foreign),
                           sp_t_jq(foreign)));
    sp_t_assert_invalid(r, "attachments[1]", "duplicate");
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    ck_assert_str_eq(stored_count(c.id, "http bad"), "0");
}
END_TEST

START_TEST(the_http_fallback_takes_attachments_and_a_resend_replays_them)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *id = sp_t_attachment_clean_png(c.agent.token);
    const char *cid = sp_t_jq(sp_t_unique("cid"));
    const char *json = sp_t_fmt("{\"body\":\"here is the form\",\"client_id\":%s,"
                                "\"attachments\":[%s]}", cid, sp_t_jq(id));
    struct sp_t_resp *r = chat_post(&c.agent, c.id, json);
    sp_t_assert_json(r, 201);
    assert_png_listed(sp_t_jarr(r->json, "attachments"), 0, id);
    int64_t mid = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    r = chat_post(&c.agent, c.id, json);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_header(r, "Idempotent-Replayed"), "true");
    ck_assert_int_eq(sp_t_jint(r->json, "id"), mid);
    assert_png_listed(sp_t_jarr(r->json, "attachments"), 0, id);
    sp_t_resp_free(r);
    /* The same words under that client_id with other files (none, or
     * another upload) are another message: refused, not answered with the
     * first while the files are dropped; the other upload stays free. */
    const char *other_png = sp_t_attachment_clean_png(c.agent.token);
    const char *other_lists[] = {"", sp_t_jq(other_png)};
    for (int i = 0; i < 2; i++) {
        r = chat_post(&c.agent, c.id,
                      sp_t_fmt("{\"body\":\"here is the form\",\"client_id\":%s,"
                               "\"attachments\":[%s]}", cid, other_lists[i]));
        sp_t_assert_problem(r, 422, "idempotency_key_reused");
        ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "detail"), "other attachments"));
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments WHERE id = '%s'"
                              " AND attached_at IS NULL", other_png), "1");
    /* The chat's customer may fetch what the agent sent; nobody else. */
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", id), c.customer.token);
    sp_t_assert_json(r, 200);
    ck_assert(sp_t_jstr(r->json, "download_url") != NULL);
    sp_t_resp_free(r);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = sp_t_get(sp_t_fmt("/support/attachments/%s", id), other.token);
    sp_t_assert_problem(r, 404, "not_found");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(the_first_message_of_a_new_session_takes_attachments)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *id = sp_t_attachment_clean_png(u.token);
    struct sp_t_resp *r = sp_t_post_json("/support/chat/session", u.token,
                                         sp_t_fmt("{\"attachments\":[%s]}", sp_t_jq(id)));
    sp_t_assert_invalid(r, "attachments", "requires_message");
    sp_t_resp_free(r);
    r = sp_t_post_json("/support/chat/session", u.token,
                       "{\"message\":\"first\",\"attachments\":[\"NOSUCHID0000\"]}");
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_chat_sessions"
                              " WHERE customer_id = '%s'", u.sub),
                     "0");
    r = sp_t_post_json("/support/chat/session", u.token,
                       sp_t_fmt("{\"message\":\"first\",\"attachments\":[%s]}", sp_t_jq(id)));
    sp_t_assert_json(r, 201);
    const char *sid = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/chat/session/%s", sid), u.token);
    sp_t_assert_json(r, 200);
    assert_png_listed(sp_t_jarr(history_message(r, "first"), "attachments"), 0, id);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(attachments_follow_the_chat_to_its_ticket)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *a1 = sp_t_attachment_clean_png(c.customer.token);
    /* A name the transcript must escape. */
    struct sp_t_upload odd =
        sp_t_attachment_new(c.customer.token, "<b>x<i>&\"y.png", "image/png", sizeof(sp_t_png));
    const char *body;
    ck_assert_int_eq(sp_t_put_bytes(odd.url, sp_t_png, sizeof(sp_t_png), &body), 200);
    ck_assert_str_eq(sp_t_attachment_wait(c.customer.token, odd.id, 20), "clean");
    const char *a2 = sp_t_attachment_clean_png(c.agent.token);
    struct sp_t_resp *r = chat_post(&c.customer, c.id,
                                    sp_t_fmt("{\"body\":\"mine\",\"attachments\":[%s,%s]}",
                                             sp_t_jq(a1), sp_t_jq(odd.id)));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    r = chat_post(&c.agent, c.id,
                  sp_t_fmt("{\"body\":\"yours\",\"attachments\":[%s]}", sp_t_jq(a2)));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", c.id), c.customer.token,
                       "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    struct json_object *first = json_object_array_get_idx(sp_t_jarr(r->json, "messages"), 0);
    /* In chat order: the customer's two, then the agent's. */
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(first, "attachments")), 3);
    assert_png_listed(sp_t_jarr(first, "attachments"), 0, a1);
    ck_assert_str_eq(
        sp_t_jstr(json_object_array_get_idx(sp_t_jarr(first, "attachments"), 1), "id"), odd.id);
    assert_png_listed(sp_t_jarr(first, "attachments"), 2, a2);
    /* The transcript notes each file under its message, escaped. */
    const char *transcript = sp_t_jstr(first, "body");
    const char *mine = strstr(transcript, "mine");
    ck_assert_msg(mine != NULL, "%s", transcript);
    const char *n1 = strstr(mine, "<p>[attachment: screenshot.png, image/png, 67 bytes]</p>");
    const char *n2 = strstr(mine, "<p>[attachment: &lt;b&gt;x&lt;i&gt;&amp;&quot;y.png,"
                                  " image/png, 67 bytes]</p>");
    const char *yours = strstr(mine, "yours");
    ck_assert_msg(n1 != NULL && n2 != NULL && yours != NULL && n1 < n2 && n2 < yours, "%s",
                  transcript);
    ck_assert_msg(strstr(yours, "[attachment: screenshot.png") != NULL, "%s", transcript);
    ck_assert(strstr(transcript, "<b>x") == NULL);
    sp_t_resp_free(r);
    /* As the ticket is read later, by its customer. */
    r = sp_t_get(sp_t_fmt("/support/tickets/%s", ticket), c.customer.token);
    sp_t_assert_json(r, 200);
    first = json_object_array_get_idx(sp_t_jarr(r->json, "messages"), 0);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(first, "attachments")), 3);
    assert_png_listed(sp_t_jarr(first, "attachments"), 2, a2);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments a"
                              " JOIN support_ticket_messages m ON m.id = a.message_id"
                              " JOIN support_tickets t ON t.id = m.ticket_id"
                              " WHERE t.public_id = '%s' AND a.chat_message_id IS NOT NULL",
                              ticket),
                     "3");
}
END_TEST

/* A customer's ticket naming the chat: their own files first on its
 * first message, then the chat's, as a transfer would have them. */
START_TEST(a_ticket_naming_the_chat_lists_its_own_files_then_the_chats)
{
    struct sp_t_chat c = sp_t_chat_active();
    const char *in_chat = sp_t_attachment_clean_png(c.agent.token);
    struct sp_t_resp *r = chat_post(&c.agent, c.id,
                                    sp_t_fmt("{\"body\":\"try this\",\"attachments\":[%s]}",
                                             sp_t_jq(in_chat)));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    const char *own = sp_t_attachment_clean_png(c.customer.token);
    r = sp_t_post_json("/support/tickets", c.customer.token,
                       sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\","
                                "\"chat_session_id\":%s,\"attachments\":[%s]}",
                                sp_t_jq(c.id), sp_t_jq(own)));
    sp_t_assert_json(r, 201);
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    struct json_object *first = json_object_array_get_idx(sp_t_jarr(r->json, "messages"), 0);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(first, "attachments")), 2);
    assert_png_listed(sp_t_jarr(first, "attachments"), 0, own);
    assert_png_listed(sp_t_jarr(first, "attachments"), 1, in_chat);
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(first, "body"), "[attachment: screenshot.png"));
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/tickets/%s", ticket), c.customer.token);
    sp_t_assert_json(r, 200);
    first = json_object_array_get_idx(sp_t_jarr(r->json, "messages"), 0);
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(first, "attachments")), 2);
    assert_png_listed(sp_t_jarr(first, "attachments"), 0, own);
    assert_png_listed(sp_t_jarr(first, "attachments"), 1, in_chat);
    sp_t_resp_free(r);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("chat_attachments");
    TCase *tc = sp_t_tcase(s, "chat_attachments");
    tcase_add_test(tc, a_websocket_message_carries_the_senders_clean_upload_to_both_sides);
    tcase_add_test(tc, what_is_not_a_clean_unattached_upload_of_the_sender_gets_an_error_frame);
    tcase_add_test(tc, a_refused_body_and_an_unknown_attachment_come_in_one_error_frame);
    tcase_add_test(tc, the_http_fallback_takes_attachments_and_a_resend_replays_them);
    tcase_add_test(tc, the_first_message_of_a_new_session_takes_attachments);
    tcase_add_test(tc, attachments_follow_the_chat_to_its_ticket);
    tcase_add_test(tc, a_ticket_naming_the_chat_lists_its_own_files_then_the_chats);
    return sp_t_run(s);
}
