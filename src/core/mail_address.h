/*
 * mail_address: the mailboxes of an inbound mail's address header value
 * (unfolded): the addr-spec of each, and the first one's display name.
 * Must not: know SQL, tickets or MIME.
 */
#ifndef SP_MAIL_ADDRESS_H
#define SP_MAIL_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;

/* Where mailboxes go: From keeps two (more than one is refused);
 * recipients up to the cap, each address once (any case). */
struct sp_mailboxes {
    const char **list;
    size_t n, max;
    const char *name;  /* the first mailbox's display name */
    bool done;
    /* A mailbox that reads as two addresses: two bare ones in one
     * ("a@x b@y", where the last is kept) or a second <> (the last
     * kept). Another reader may take the other one. */
    bool ambiguous;
};

/* The mailboxes of an address-list value into k (which the caller set
 * up: list with room for max, n 0): groups, comments, quoted strings and
 * angle brackets understood, obsolete routes dropped; stops when k is
 * full. Addresses and names are arena-owned, valid UTF-8. A quoted
 * local part whose content is a dot-atom is written without its quotes
 * (RFC 5322 §3.4.1: "bob"@example.com is bob@example.com); any other
 * stays quoted as written. */
void sp_mailboxes_read(struct sp_arena *a, const char *value, struct sp_mailboxes *k);

/* Domains compared as DNS does: without regard to case or a trailing
 * root dot. same: d is ours (false when either is empty); within: d is
 * parent or one of its subdomains ("a.example.com" is within
 * "example.com", "badexample.com" is not). */
bool sp_mail_domain_same(const char *d, const char *ours);
bool sp_mail_domain_within(const char *d, const char *parent);

#endif
