/*
 * mail_idn: the two forms of an internationalized mail address (RFC 6530:
 * "jürgen@bücher.example") besides the one a customer typed:
 *   - the ASCII form a mail is sent to: the domain as its IDNA A-label
 *     ("xn--bcher-kva.example", IDNA2008 with UTS #46 non-transitional
 *     mapping, libidn2), in RCPT TO and in the To header alike, since
 *     an SMTP relay and a header take ASCII only (curl would convert the
 *     RCPT domain alone, leaving a To header no reader can parse);
 *   - the canonical form addresses are compared in (the email blind
 *     index, core/crypto): the domain so converted and lower-cased, the
 *     local part lower-cased, with full Unicode case folding (libunistring,
 *     then NFC) only when it is not ASCII.
 * A non-ASCII local part has no ASCII form: it needs SMTPUTF8 (RFC 6531),
 * which the dispatcher does not speak.
 * Must not: know SQL, SMTP or what the address is for; change how an
 * ASCII address is compared (every stored blind index was computed over
 * it ASCII-lower-cased).
 */
#ifndef SP_MAIL_IDN_H
#define SP_MAIL_IDN_H

struct sp_arena;

/* addr as a mail can be sent to it: itself when ASCII, else with its
 * domain as an A-label; NULL unless the result is a mailbox
 * sp_mail_addr_valid (core/mime) takes: a non-ASCII local part, a
 * domain that is no IDNA name, NULL. Arena-owned. */
const char *sp_mail_addr_ascii(struct sp_arena *a, const char *addr);

/* addr without the ASCII white space around it, in the form addresses
 * are compared in (above); NULL when blank. An ASCII address is only
 * lower-cased in ASCII, and so is one whose domain is no IDNA name or
 * whose local part is not UTF-8 (they are compared as before).
 * Arena-owned. */
const char *sp_mail_addr_canonical(struct sp_arena *a, const char *addr);

/* addr trimmed and lower-cased in ASCII alone: the form every address
 * was compared in before sp_mail_addr_canonical, which blind indexes
 * stored then still hold for a non-ASCII address; NULL when blank. */
const char *sp_mail_addr_ascii_folded(struct sp_arena *a, const char *addr);

/* domain in the form domains are compared in: a non-ASCII IDNA name as
 * its A-label, lower case, so its U-label and "xn--" forms are one
 * ("BÜCHER.example" and "XN--BCHER-KVA.example" are
 * "xn--bcher-kva.example"); any other (ASCII, or no IDNA name) only
 * lower-cased in ASCII. A trailing root dot stays. NULL for NULL.
 * Arena-owned. */
const char *sp_mail_domain_canonical(struct sp_arena *a, const char *domain);

#endif
