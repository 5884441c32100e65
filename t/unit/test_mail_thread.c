/*
 * test_mail_thread: the tickets a mail without a reply address names
 * (src/domain/mail_thread.c): our thread ids in In-Reply-To and
 * References (our domain only, in any case) and the subject's tags, in
 * the order they are tried, each once.
 */
#include <check.h>
#include <string.h>

#include "core/arena.h"
#include "domain/mail_thread.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(4096)

#define ID "N1NP23QSD0NK"
#define ID2 "DCF3BATRNHCM"

static const char *
ticket_of(const char *msg_id, const char *domain)
{
    static char id[SP_PUBLIC_ID_LEN + 1];
    return sp_mail_thread_ticket(msg_id, domain, id) ? id : "";
}

START_TEST(thread_id_names_its_ticket_on_our_domain_only)
{
    const char *tid = sp_mail_thread_id(&arena, ID, "support.example.com");
    ck_assert_str_eq(tid, "ticket-" ID "@support.example.com");
    ck_assert_str_eq(ticket_of(tid, "support.example.com"), ID);
    /* Domains have no case, nor does the id (Crockford base32); the root dot */
    ck_assert_str_eq(ticket_of("Ticket-n1np23qsd0nk@Support.Example.COM", "support.example.com"),
                     ID);
    ck_assert_str_eq(ticket_of("ticket-" ID "@support.example.com.", "support.example.com"), ID);
    /* Someone else's domain, a domain that only ends or starts like ours */
    ck_assert_str_eq(ticket_of("ticket-" ID "@evil", "support.example.com"), "");
    ck_assert_str_eq(ticket_of("ticket-" ID "@evil.support.example.com", "support.example.com"),
                     "");
    ck_assert_str_eq(ticket_of("ticket-" ID "@support.example.com.evil", "support.example.com"),
                     "");
    ck_assert_str_eq(ticket_of("ticket-" ID "@support.example.com@x", "support.example.com"), "");
    /* Not a thread id of ours: another prefix, no public id, no domain */
    ck_assert_str_eq(ticket_of("outbox-2336@support.example.com", "support.example.com"), "");
    ck_assert_str_eq(ticket_of("ticket-" ID "X@support.example.com", "support.example.com"), "");
    ck_assert_str_eq(ticket_of("ticket-N1NP23QSD0N@support.example.com", "support.example.com"),
                     "");
    ck_assert_str_eq(ticket_of("ticket-UUUUUUUUUUUU@support.example.com", "support.example.com"),
                     "");
    ck_assert_str_eq(ticket_of("ticket-" ID "@", "support.example.com"), "");
    ck_assert_str_eq(ticket_of("ticket-" ID, "support.example.com"), "");
    ck_assert_str_eq(ticket_of("ticket-" ID "@x", ""), "");
    ck_assert_str_eq(ticket_of("ticket-" ID "@x", NULL), "");
    ck_assert_str_eq(ticket_of(NULL, "x"), "");
}
END_TEST

START_TEST(candidates_come_references_first_then_subject_tags)
{
    char ids[SP_MAIL_THREAD_MAX][SP_PUBLIC_ID_LEN + 1];
    const char *refs[] = {"ticket-" ID "@localhost", "outbox-2336@localhost",
                          "ticket-ABCDEFGHJKMN@evil", "ticket-" ID2 "@LOCALHOST"};
    /* In-Reply-To, then References newest first, then tags last first; each once */
    size_t n = sp_mail_thread_tickets("ticket-PE7R39PZNP64@localhost", refs, 4,
                                      "Re: Refund [" ID "] [ZZZZZZZZZZZZ] [BCDEFGHJKMNP]",
                                      "localhost", ids, SP_MAIL_THREAD_MAX);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(ids[0], "PE7R39PZNP64");
    ck_assert_str_eq(ids[1], ID2);
    ck_assert_str_eq(ids[2], ID);
    ck_assert_str_eq(ids[3], "BCDEFGHJKMNP");
    ck_assert_str_eq(ids[4], "ZZZZZZZZZZZZ");
    /* The subject alone; a tag in any case; tags without brackets or of
     * another length name nothing */
    n = sp_mail_thread_tickets(NULL, NULL, 0, "Re: [n1np23qsd0nk] " ID2 " [" ID2 "X] [",
                               "localhost", ids, SP_MAIL_THREAD_MAX);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ids[0], ID);
    /* No domain: only tags; at most max */
    n = sp_mail_thread_tickets(NULL, refs, 4, "[" ID "][" ID2 "]", NULL, ids, 1);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ids[0], ID2);
    ck_assert_uint_eq(sp_mail_thread_tickets(NULL, NULL, 0, NULL, "x", ids, 8), 0);
    ck_assert_uint_eq(sp_mail_thread_tickets(NULL, NULL, 0, "]", "x", ids, 8), 0);
}
END_TEST

/* The Message-ID of support-dispatch's mails, as a DSN returns it. */
START_TEST(outbox_message_id_names_its_row_on_our_domain_only)
{
    long long id = 0;
    ck_assert_str_eq(sp_mail_thread_outbox_id(&arena, 42, "example.com"), "outbox-42@example.com");
    ck_assert(sp_mail_thread_outbox("outbox-42@example.com", "example.com", &id));
    ck_assert_int_eq(id, 42);
    ck_assert(sp_mail_thread_outbox("OUTBOX-922337203685477580@Example.COM.", "example.com", &id));
    ck_assert_int_eq(id, 922337203685477580LL);
    static const char *const no[] = {"outbox-42@evil.example", "outbox-@example.com",
                                     "outbox-042@example.com", "outbox--1@example.com",
                                     "outbox-4x2@example.com", "outbox-42example.com",
                                     "outbox-1234567890123456789@example.com",
                                     "ticket-42@example.com", "", NULL};
    for (size_t i = 0; no[i] != NULL; i++)
        ck_assert_msg(!sp_mail_thread_outbox(no[i], "example.com", &id), "%s", no[i]);
    ck_assert(!sp_mail_thread_outbox(NULL, "example.com", &id));
    ck_assert(!sp_mail_thread_outbox("outbox-1@example.com", NULL, &id));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("mail_thread");
    TCase *tc = tcase_create("mail_thread");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, thread_id_names_its_ticket_on_our_domain_only);
    tcase_add_test(tc, candidates_come_references_first_then_subject_tags);
    tcase_add_test(tc, outbox_message_id_names_its_row_on_our_domain_only);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
