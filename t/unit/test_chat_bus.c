/*
 * test_chat_bus: the stored-message frames src/domain/chat_bus.c renders
 * (API.md §7) — every message's place (seq), and who a staff message is
 * from as customers and staff see it. Pure: no database or bus.
 */
#include <check.h>
#include <string.h>

#include "core/buf.h"
#include "core/json_writer.h"
#include "domain/chat_bus.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

static const char *
render(const struct sp_chat_message *m, bool staff)
{
    struct sp_buf b;
    struct sp_jw w;
    sp_buf_init(&b, &arena, 256);
    sp_jw_init(&w, &b);
    sp_chat_frame_message(&w, m, staff);
    sp_buf_putc(&b, '\0');
    return b.data;
}

static const struct sp_chat_message agent_message = {
    .id = 41, .seq = 7, .session_public_id = "S1", .sender_type = "agent",
    .sender_id = "staff-user-9", .body = "Hi", .created_at = "2026-12-06T12:00:00.000Z",
    .agent_id = 17, .sender_name = "Dana",
};

/* QA: customers saw the staff member's user id, which matched nothing
 * they had (assigned_agent_id is the agent's id), and no name. */
START_TEST(customers_see_a_staff_message_by_agent_id_and_name)
{
    ck_assert_str_eq(render(&agent_message, false),
                     "{\"type\":\"message\",\"id\":41,\"seq\":7,\"session_id\":\"S1\","
                     "\"sender_type\":\"agent\",\"sender_id\":\"17\",\"agent_id\":17,"
                     "\"sender_name\":\"Dana\",\"body\":\"Hi\",\"attachments\":[],"
                     "\"created_at\":\"2026-12-06T12:00:00.000Z\",\"client_id\":null}");
    struct sp_chat_message admin = agent_message;   /* an admin who is no agent */
    admin.agent_id = 0;
    admin.sender_name = NULL;
    ck_assert_ptr_nonnull(strstr(render(&admin, false),
                                 "\"sender_id\":null,\"agent_id\":null,\"sender_name\":null"));
}
END_TEST

START_TEST(staff_see_the_stored_user_id_beside_the_agent_id)
{
    ck_assert_ptr_nonnull(strstr(render(&agent_message, true),
                                 "\"sender_id\":\"staff-user-9\",\"agent_id\":17,"
                                 "\"sender_name\":\"Dana\""));
}
END_TEST

START_TEST(customer_messages_keep_their_sender_and_name_no_agent)
{
    struct sp_chat_message m = {.id = 2, .seq = 1, .session_public_id = "S1",
                                .sender_type = "customer", .sender_id = "cust-1", .body = "x",
                                .created_at = "2026-12-06T12:00:00.000Z"};
    for (int staff = 0; staff < 2; staff++) {
        const char *f = render(&m, staff);
        ck_assert_ptr_nonnull(strstr(f, "\"seq\":1,"));
        ck_assert_ptr_nonnull(strstr(f, "\"sender_id\":\"cust-1\""));
        ck_assert_ptr_null(strstr(f, "agent_id"));
        ck_assert_ptr_null(strstr(f, "sender_name"));
    }
}
END_TEST

START_TEST(agent_system_messages_name_their_agent)
{
    struct sp_chat_message m = {.id = 3, .seq = 2, .session_public_id = "S1",
                                .sender_type = "system", .body = "An agent joined the chat.",
                                .created_at = "2026-12-06T12:00:00.000Z",
                                .event = "agent_joined", .agent_id = 17, .sender_name = "Dana"};
    ck_assert_str_eq(render(&m, false),
                     "{\"type\":\"system\",\"event\":\"agent_joined\",\"id\":3,\"seq\":2,"
                     "\"session_id\":\"S1\",\"agent_id\":17,\"agent_name\":\"Dana\","
                     "\"body\":\"An agent joined the chat.\","
                     "\"created_at\":\"2026-12-06T12:00:00.000Z\"}");
    m.event = "closed";   /* names no agent */
    m.agent_id = 0;
    m.sender_name = NULL;
    ck_assert_ptr_null(strstr(render(&m, false), "agent_"));
}
END_TEST

static Suite *
chat_bus_suite(void)
{
    Suite *s = suite_create("chat_bus");
    TCase *tc = tcase_create("frames");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, customers_see_a_staff_message_by_agent_id_and_name);
    tcase_add_test(tc, staff_see_the_stored_user_id_beside_the_agent_id);
    tcase_add_test(tc, customer_messages_keep_their_sender_and_name_no_agent);
    tcase_add_test(tc, agent_system_messages_name_their_agent);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(chat_bus_suite());
}
