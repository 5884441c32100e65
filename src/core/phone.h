/*
 * phone: a phone number as an SMS gateway takes it, E.164: '+', then 8 to
 * 15 digits, the first not 0. The `phone` claim is whatever the token's
 * issuer stored as people write numbers ("+44 20 7946 0018",
 * "+1 (555) 123-4567", "0044 20 …"), or anything else: a gateway given a
 * line break or a shell word may misroute the message or fail oddly.
 * Must not: know anything above core.
 */
#ifndef SP_PHONE_H
#define SP_PHONE_H

struct sp_arena;

/* s as E.164 ("+442079460018"), in the arena: blanks around it go, the
 * spaces, '-', '.', '(' and ')' after its prefix go, a leading "00" (the
 * international prefix) is '+'. NULL for anything else: no '+' or "00"
 * (a national number names no country), other characters (letters,
 * control characters, an extension), a first digit 0, fewer than 8 or
 * more than 15 digits. */
const char *sp_phone_e164(struct sp_arena *a, const char *s);

#endif
