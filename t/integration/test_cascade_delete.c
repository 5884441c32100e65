/*
 * test_cascade_delete: what goes with a deleted ticket or chat session
 * (the design brief's "foreign key cascade deletes for messages/events
 * tied to tickets/sessions", ARCHITECTURE.md; sql/001_init.sql and the
 * migrations that added children). The product deletes neither: an
 * operator's retention job does, by SQL (docs/operations.md, "archive by
 * ticket"), so the tests delete as it would, after building both through
 * the API: a chat with files, its AI question, its grant and presence
 * rows, turned into a ticket that gets an agent's reply with a file, an
 * internal note, events, outbox rows and an AI question of its own.
 */
#include "attachment_harness.h"
#include "chat_harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct built {
    const char *session_id, *ticket_id;   /* internal ids */
    const char *chat_file, *ticket_file;  /* attachment ids */
};

/* How many rows of table have column = id (an internal id, or a quoted text). */
static const char *
rows(const char *table, const char *column, const char *id)
{
    return sp_t_sql("SELECT count(*) FROM %s WHERE %s = %s", table, column, id);
}

static void
ask_ai(const struct sp_t_user *u, const char *context)
{
    struct sp_t_resp *r = sp_t_post_json("/support/ai/query", u->token,
                                         sp_t_fmt("{\"question\":\"How do refunds work?\",%s}",
                                                  context));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

static void
post(const char *path, const char *token, const char *json)
{
    struct sp_t_resp *r = sp_t_post_json(path, token, json);
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
}

static struct built
build(void)
{
    struct built b;
    struct sp_t_chat c = sp_t_chat_active();
    b.chat_file = sp_t_attachment_clean_png(c.customer.token);
    post(sp_t_fmt("/support/chat/session/%s/messages", c.id), c.customer.token,
         sp_t_fmt("{\"body\":\"see the file\",\"attachments\":[%s]}", sp_t_jq(b.chat_file)));
    ask_ai(&c.customer, sp_t_fmt("\"session_id\":%s", sp_t_jq(c.id)));
    /* What support-chat's connect and presence hooks write. */
    (void)sp_t_sql("INSERT INTO support_chat_grants (session_public_id, principal, expires_at)"
                   " VALUES ('%s', 'customer-x.a', now() + interval '1 hour')", c.id);
    (void)sp_t_sql("INSERT INTO support_chat_presence (session_public_id, principal, conn_id)"
                   " VALUES ('%s', 'customer-x', 'conn-1')", c.id);

    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/chat/session/%s/transfer", c.id),
                                         c.customer.token, "{\"to\":\"ticket\"}");
    sp_t_assert_json(r, 201);
    const char *pid = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    sp_t_resp_free(r);
    b.ticket_file = sp_t_attachment_clean_png(c.agent.token);
    post(sp_t_fmt("/support/agent/tickets/%s/messages", pid), c.agent.token,
         sp_t_fmt("{\"body\":\"here\",\"attachments\":[%s]}", sp_t_jq(b.ticket_file)));
    post(sp_t_fmt("/support/agent/tickets/%s/messages", pid), c.agent.token,
         "{\"body\":\"note\",\"is_internal\":true}");
    ask_ai(&c.agent, sp_t_fmt("\"ticket_id\":%s", sp_t_jq(pid)));

    b.session_id = sp_t_sql("SELECT id FROM support_chat_sessions WHERE public_id = '%s'", c.id);
    b.ticket_id = sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s'", pid);
    ck_assert_str_eq(sp_t_sql("SELECT chat_session_id FROM support_tickets WHERE id = %s",
                              b.ticket_id), b.session_id);
    ck_assert_str_eq(sp_t_sql("SELECT ticket_id FROM support_chat_sessions WHERE id = %s",
                              b.session_id), b.ticket_id);
    /* The transcript, the reply and the note. */
    ck_assert_str_eq(rows("support_ticket_messages", "ticket_id", b.ticket_id), "3");
    ck_assert_str_ne(rows("support_ticket_events", "ticket_id", b.ticket_id), "0");
    ck_assert_str_ne(rows("support_outbox", "ticket_id", b.ticket_id), "0");
    ck_assert_str_eq(rows("support_ai_interactions", "ticket_id", b.ticket_id), "1");
    /* The customer's message and the AI's question and answer, at least. */
    ck_assert_int_ge(atoi(rows("support_chat_messages", "session_id", b.session_id)), 3);
    ck_assert_str_eq(rows("support_ai_interactions", "session_id", b.session_id), "1");
    /* The chat's file follows to the ticket's first message; the reply's
     * is on the reply. */
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_attachments a"
                              " JOIN support_ticket_messages m ON m.id = a.message_id"
                              " WHERE m.ticket_id = %s AND a.id IN ('%s', '%s')", b.ticket_id,
                              b.chat_file, b.ticket_file), "2");
    ck_assert_ptr_nonnull(sp_t_sql("SELECT chat_message_id FROM support_attachments"
                                   " WHERE id = '%s'", b.chat_file));
    return b;
}

/* message_id and chat_message_id of attachment id, "message|chat". */
static const char *
links(const char *id)
{
    return sp_t_sql("SELECT coalesce(message_id::text, '') || '|'"
                    " || coalesce(chat_message_id::text, '')"
                    " FROM support_attachments WHERE id = '%s'", id);
}

/* One attachment-cleanup pass (the stack's directory); asserts exit 0. */
static void
cleanup_once(void)
{
    const char *env[] = {sp_t_fmt("SUPPORT_ATTACHMENT_DIR=%s", getenv("SP_TEST_ATTACHMENT_DIR")),
                         NULL};
    const char *out;
    int rc = sp_t_job_run("attachment-cleanup", env, (const char *const[]){"--once", NULL}, &out);
    ck_assert_msg(rc == 0, "attachment-cleanup exited %d:\n%s", rc, out);
}

START_TEST(a_deleted_tickets_messages_events_outbox_and_ai_calls_go_with_it)
{
    struct built b = build();
    const char *file = sp_t_fmt("%s/%s", getenv("SP_TEST_ATTACHMENT_DIR"),
                                sp_t_sql("SELECT storage_key FROM support_attachments"
                                         " WHERE id = '%s'", b.ticket_file));
    ck_assert_int_eq(access(file, F_OK), 0);
    (void)sp_t_sql("DELETE FROM support_tickets WHERE id = %s", b.ticket_id);
    ck_assert_str_eq(rows("support_ticket_messages", "ticket_id", b.ticket_id), "0");
    ck_assert_str_eq(rows("support_ticket_events", "ticket_id", b.ticket_id), "0");
    ck_assert_str_eq(rows("support_outbox", "ticket_id", b.ticket_id), "0");
    ck_assert_str_eq(rows("support_ai_interactions", "ticket_id", b.ticket_id), "0");
    /* The files stay (their rows are not the ticket's children) but no
     * longer name a ticket message; the chat's file keeps its chat
     * message. */
    const char *chat_link = links(b.chat_file);
    ck_assert_msg(chat_link[0] == '|' && chat_link[1] != '\0', "%s", chat_link);
    ck_assert_str_eq(links(b.ticket_file), "|");
    /* A file no message names any more goes with the next cleanup, row
     * and bytes (QA: attached once, it was never taken); the chat's,
     * still named by its chat message, stays. */
    cleanup_once();
    ck_assert_str_eq(rows("support_attachments", "id", sp_t_fmt("'%s'", b.ticket_file)), "0");
    ck_assert_int_ne(access(file, F_OK), 0);
    ck_assert_str_eq(rows("support_attachments", "id", sp_t_fmt("'%s'", b.chat_file)), "1");
    /* The chat it came from stays, whole, and no longer names it. */
    ck_assert_ptr_null(sp_t_sql("SELECT ticket_id FROM support_chat_sessions WHERE id = %s",
                                b.session_id));
    ck_assert_int_ge(atoi(rows("support_chat_messages", "session_id", b.session_id)), 3);
    ck_assert_str_eq(rows("support_ai_interactions", "session_id", b.session_id), "1");
}
END_TEST

START_TEST(a_deleted_chats_messages_grants_presence_and_ai_calls_go_with_it)
{
    struct built b = build();
    const char *pid = sp_t_sql("SELECT public_id FROM support_chat_sessions WHERE id = %s",
                               b.session_id);
    (void)sp_t_sql("DELETE FROM support_chat_sessions WHERE id = %s", b.session_id);
    ck_assert_str_eq(rows("support_chat_messages", "session_id", b.session_id), "0");
    ck_assert_str_eq(rows("support_ai_interactions", "session_id", b.session_id), "0");
    ck_assert_str_eq(rows("support_chat_grants", "session_public_id", sp_t_fmt("'%s'", pid)),
                     "0");
    ck_assert_str_eq(rows("support_chat_presence", "session_public_id", sp_t_fmt("'%s'", pid)),
                     "0");
    /* The file keeps the ticket message it followed to. */
    const char *chat_link = links(b.chat_file);
    ck_assert_msg(chat_link[0] != '|' && chat_link[strlen(chat_link) - 1] == '|', "%s",
                  chat_link);
    cleanup_once();
    ck_assert_str_eq(rows("support_attachments", "id", sp_t_fmt("'%s'", b.chat_file)), "1");
    /* The ticket the chat became stays, whole, and no longer names it. */
    ck_assert_ptr_null(sp_t_sql("SELECT chat_session_id FROM support_tickets WHERE id = %s",
                                b.ticket_id));
    ck_assert_str_eq(rows("support_ticket_messages", "ticket_id", b.ticket_id), "3");
    ck_assert_str_eq(rows("support_ai_interactions", "ticket_id", b.ticket_id), "1");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("cascade_delete");
    TCase *tc = sp_t_tcase(s, "cascade");
    tcase_add_test(tc, a_deleted_tickets_messages_events_outbox_and_ai_calls_go_with_it);
    tcase_add_test(tc, a_deleted_chats_messages_grants_presence_and_ai_calls_go_with_it);
    return sp_t_run(s);
}
