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

/* A key of the process (no contact keys): the same for every call with it. */
static struct sp_token_key *
key(void)
{
    static struct sp_token_key k;
    static bool made;
    if (!made)
        ck_assert(sp_mail_thread_key(NULL, &k));
    made = true;
    return &k;
}

/* The Message-ID of support-dispatch's mails, as a DSN returns it: the
 * row id sealed, so it tells no reader how many mails we send (QA: the
 * global outbox sequence was in every customer mail); the old
 * "outbox-<id>" of mails sent before still names its row. */
START_TEST(outbox_message_id_names_its_row_on_our_domain_only)
{
    long long id = 0;
    bool legacy = true;
    const char *mid = sp_mail_thread_outbox_id(&arena, key(), 42, "example.com");
    ck_assert_msg(strncmp(mid, "m-", 2) == 0 && strlen(mid) == 2 + 72 + strlen("@example.com") &&
                      strstr(mid, "42@") == NULL && strstr(mid, "outbox") == NULL, "%s", mid);
    ck_assert_str_eq(sp_mail_thread_outbox_id(&arena, key(), 42, "example.com"), mid);
    const char *next = sp_mail_thread_outbox_id(&arena, key(), 43, "example.com");
    ck_assert_str_ne(next, mid);
    ck_assert(sp_mail_thread_outbox(mid, "example.com", key(), &id, &legacy));
    ck_assert_int_eq(id, 42);
    ck_assert(!legacy);
    ck_assert(sp_mail_thread_outbox(next, "EXAMPLE.com.", key(), &id, &legacy));
    ck_assert_int_eq(id, 43);
    /* another deployment's key, another domain, one digit changed: none */
    struct sp_token_key other;
    ck_assert(sp_mail_thread_key(NULL, &other));
    ck_assert(!sp_mail_thread_outbox(mid, "example.com", &other, &id, &legacy));
    ck_assert(!sp_mail_thread_outbox(mid, "example.com", NULL, &id, &legacy));
    ck_assert(!sp_mail_thread_outbox(mid, "evil.example", key(), &id, &legacy));
    char *bent = (char *)sp_arena_strdup(&arena, mid);
    bent[10] = bent[10] == '0' ? '1' : '0';
    ck_assert(!sp_mail_thread_outbox(bent, "example.com", key(), &id, &legacy));
    ck_assert(!sp_mail_thread_outbox(sp_arena_sprintf(&arena, "%.40s@example.com", mid),
                                     "example.com", key(), &id, &legacy));

    /* the old form, which anyone can write: said so (SP_MAIL_THREAD_SENT_UNSEALED) */
    ck_assert(
        sp_mail_thread_outbox("outbox-42@example.com", "example.com", key(), &id, &legacy));
    ck_assert_int_eq(id, 42);
    ck_assert(legacy);
    ck_assert(sp_mail_thread_outbox("OUTBOX-922337203685477580@Example.COM.", "example.com",
                                    NULL, &id, &legacy));
    ck_assert_int_eq(id, 922337203685477580LL);
    static const char *const no[] = {"outbox-42@evil.example", "outbox-@example.com",
                                     "outbox-042@example.com", "outbox--1@example.com",
                                     "outbox-4x2@example.com", "outbox-42example.com",
                                     "outbox-1234567890123456789@example.com",
                                     "ticket-42@example.com", "m-@example.com", "", NULL};
    for (size_t i = 0; no[i] != NULL; i++)
        ck_assert_msg(!sp_mail_thread_outbox(no[i], "example.com", key(), &id, &legacy), "%s",
                      no[i]);
    ck_assert(!sp_mail_thread_outbox(NULL, "example.com", key(), &id, &legacy));
    ck_assert(!sp_mail_thread_outbox("outbox-1@example.com", NULL, key(), &id, &legacy));
}
END_TEST

/* A follow-up's subject: the answer's prefixes and our tags go (QA: a
 * follow-up's mails carried "Re: … [OLD] [NEW]"); its own words stay. */
START_TEST(a_follow_ups_subject_loses_prefixes_and_our_tags)
{
    static const char *const cases[][2] = {
        {"Re: with file [" ID "]", "with file"},
        {"  RE: AW: Fwd: Re[2]: refund [" ID "] [" ID2 "]  ", "refund"},
        {"re(3): Sv: delayed [" ID "]", "delayed"},
        {"Refund: [" ID "] not ours [X]", "Refund: [" ID "] not ours [X]"},
        {"Re: [" ID "]", ""},
        {"Reply needed [not-an-id-1]", "Reply needed [not-an-id-1]"},
        {"Regarding: the invoice", "Regarding: the invoice"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(sp_mail_thread_subject(&arena, cases[i][0]), cases[i][1]);
    ck_assert_str_eq(sp_mail_thread_subject(&arena, NULL), "");
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
    tcase_add_test(tc, a_follow_ups_subject_loses_prefixes_and_our_tags);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
