/*
 * fuzz_mail_thread: libFuzzer target for the tickets a mail without a
 * reply address names (domain/mail_thread.c): its References and
 * subject are whatever its sender wrote. Input: up to its first NUL the
 * References value (read by core/mail_parse's sp_mail_msg_ids, as
 * support-mail-in reads it), after it the subject. Aborts unless every
 * ticket named is a valid upper-case public id, named once, at most max
 * of them; each one from References is named by one of its ids on our
 * domain (and, for another domain, by one on that domain); and the thread id made
 * for any valid public id names it, on our domain only; and an outbox
 * Message-ID among the references read back is the one made for its row
 * (sealed, or the old "outbox-<id>"), and a sealed one reads back.
 * Build: scripts/dev fuzz mail_thread (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/mail_parse.h"
#include "domain/mail_thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define OURS "support.example.com"

typedef char ticket_id[SP_PUBLIC_ID_LEN + 1];

static void
check_named(ticket_id *ids, size_t n, size_t max)
{
    CHECK(n <= max);
    for (size_t i = 0; i < n; i++) {
        CHECK(sp_public_id_valid(ids[i]));
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(ids[i], ids[j]) != 0);
    }
}

/* Whether one of refs[0..n) names ticket id on domain. */
static bool
named_by(const char *const *refs, size_t n, const char *id, const char *domain)
{
    ticket_id got;
    for (size_t i = 0; i < n; i++)
        if (sp_mail_thread_ticket(refs[i], domain, got) && strcmp(got, id) == 0)
            return true;
    return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    const char *refs_value = sp_arena_strndup(&a, (const char *)data, size);
    size_t cut = strlen(refs_value);
    const char *subject = cut < size ? sp_arena_strndup(&a, (const char *)data + cut + 1,
                                                        size - cut - 1)
                                     : NULL;
    const char *refs[16];
    size_t nrefs = sp_mail_msg_ids(&a, refs_value, refs, 16);
    ticket_id ids[SP_MAIL_THREAD_MAX];
    size_t n = sp_mail_thread_tickets(NULL, refs, nrefs, NULL, OURS, ids, SP_MAIL_THREAD_MAX);
    check_named(ids, n, SP_MAIL_THREAD_MAX);
    for (size_t i = 0; i < n; i++)
        CHECK(named_by(refs, nrefs, ids[i], OURS));
    CHECK(sp_mail_thread_tickets(NULL, refs, nrefs, NULL, "evil.example", ids, 8) == 0 ||
          named_by(refs, nrefs, ids[0], "evil.example"));
    n = sp_mail_thread_tickets(refs_value, refs, nrefs, subject, OURS, ids, 3);
    check_named(ids, n, 3);
    /* An outbox Message-ID read back is the one made for its row. */
    static struct sp_token_key key;
    static bool keyed;
    if (!keyed)
        CHECK(sp_mail_thread_key(NULL, &key));
    keyed = true;
    long long row;
    bool legacy;
    for (size_t i = 0; i < nrefs; i++) {
        if (sp_mail_thread_outbox(refs[i], OURS, &key, &row, &legacy))
            CHECK(row > 0 &&
                  (legacy ? strcasecmp(sp_arena_sprintf(&a, "outbox-%lld@" OURS, row),
                                       refs[i]) == 0
                          : strcasecmp(sp_mail_thread_outbox_id(&a, &key, row, OURS),
                                       refs[i]) == 0));
    }
    CHECK(sp_mail_thread_outbox(sp_mail_thread_outbox_id(&a, &key, (long long)size + 1, OURS),
                                OURS, &key, &row, &legacy) &&
          row == (long long)size + 1 && !legacy);
    /* The thread id made for the input, when it is a public id, names it. */
    ticket_id id, back;
    if (size == SP_PUBLIC_ID_LEN && sp_public_id_read(refs_value, id)) {
        const char *tid = sp_mail_thread_id(&a, id, OURS);
        CHECK(sp_mail_thread_ticket(tid, OURS, back) && strcmp(back, id) == 0);
        CHECK(sp_mail_thread_ticket(tid, "SUPPORT.example.COM.", back));
        CHECK(!sp_mail_thread_ticket(tid, "example.com", back));
    }
    sp_arena_destroy(&a);
    return 0;
}
