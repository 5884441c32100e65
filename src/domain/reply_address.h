/*
 * reply_address: the address a customer's mail about a ticket says to
 * reply to, and the ticket a reply to it is about (docs/API.md §11 "Mail
 * in"). The address is SUPPORT_MAIL_FROM with a subaddress naming the
 * ticket and signing it:
 *     support+t-<PUBLICID>-<mac>@example.com
 * mac = the first 20 hex digits (80 bits) of HMAC-SHA256(key,
 * "support-mail-reply-v1\n" PUBLICID). The key ring is
 * SUPPORT_MAIL_REPLY_KEYS (kid:secret,...): the first key signs, every
 * key verifies, so a key is rotated by putting a new one first and
 * dropping the old one once the mails it signed are old enough.
 * A signed address is what lets a mail in speak for a ticket: the ticket
 * id alone is guessable, In-Reply-To is the sender's word.
 * Must not: know SQL, mail parsing or the MTA.
 */
#ifndef SP_REPLY_ADDRESS_H
#define SP_REPLY_ADDRESS_H

#include <stdbool.h>

#include "core/ids.h"

struct sp_arena;
struct sp_keyring_keys;   /* core/keyring.h; loaded once, read-only afterwards */

/* The ring from SUPPORT_MAIL_REPLY_KEYS, for replies to from
 * (SUPPORT_MAIL_FROM); NULL with err filled when spec is malformed, a
 * secret is shorter than 32 bytes, or from holds a reply tag itself (its
 * reply addresses could not be read back). spec NULL or "": NULL with
 * err "" (replies by mail are off). Freed (the keys wiped) by
 * sp_keyring_keys_destroy. */
struct sp_keyring_keys *sp_reply_keys_load(const char *spec, const char *from, char *err,
                                           size_t errlen);

/* The reply address of ticket public_id for mail from `from`
 * (local@domain): "local+t-<id>-<mac>@domain". Arena-owned. */
const char *sp_reply_address(const struct sp_keyring_keys *k, struct sp_arena *a, const char *from,
                             const char *public_id);

/* Whether addr holds a reply subaddress ("+t-", any case, in its local
 * part: before its last '@'). */
bool sp_reply_address_looks_signed(const char *addr);
/* The ticket of that subaddress: verifies its mac under every key
 * (constant time) and, when one matches, fills public_id (upper-cased: the
 * MTA may have lower-cased the local part). False for any address that
 * does not look signed. */
bool sp_reply_address_ticket(const struct sp_keyring_keys *k, const char *addr,
                             char public_id[SP_PUBLIC_ID_LEN + 1]);

#endif
