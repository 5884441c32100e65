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
 * which the dispatcher does not speak. A lookup also tries the forms an
 * index stored before the canonical form may be over: the address as
 * typed, and with its domain as U-labels or as its A-label.
 * Must not: know SQL, SMTP or what the address is for; change how an
 * ASCII address is compared (every stored blind index was computed over
 * it ASCII-lower-cased).
 */
#ifndef SP_MAIL_IDN_H
#define SP_MAIL_IDN_H

#include <stddef.h>

struct sp_arena;

/* addr as a mail can be sent to it: itself when ASCII, else with its
 * domain as an A-label; NULL unless the result is a mailbox
 * sp_mail_addr_valid (core/mime) takes: a non-ASCII local part, a
 * domain that is no IDNA name, NULL. Arena-owned. */
const char *sp_mail_addr_ascii(struct sp_arena *a, const char *addr);

/* addr without the ASCII white space around it, in the form addresses
 * are compared in (above); NULL when blank. An ASCII address is only
 * lower-cased in ASCII, and so is one whose domain is no IDNA name or
 * whose local part is not UTF-8 (they are compared as before). A
 * trailing root dot goes ("x@Example.COM." is "x@example.com"), as in
 * sp_mail_addr_ascii. Arena-owned. */
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

/* domain as IDNA2008 U-labels (to-Unicode of its A-label, so lower case
 * and NFC): "xn--bcher-kva.example", "XN--BCHER-KVA.example" and
 * "BÜCHER.example" are "bücher.example"; an ASCII name with no A-label
 * is only lower-cased. NULL when it is no IDNA name, or NULL.
 * Arena-owned. */
const char *sp_mail_domain_unicode(struct sp_arena *a, const char *domain);

/* The forms a lookup of addr compares in (the email blind index, core/
 * crypto), each once, the first sp_mail_addr_canonical: then the forms an
 * index stored before it may be over. Such an index is over the address
 * as the customer's token gave it, sp_mail_addr_ascii_folded, its domain
 * in whichever form: the Unicode one, or the "xn--" one, which for an
 * ASCII local part is the canonical form itself. So, for a domain that
 * is an IDNA name, the local part as given (ASCII-lower-cased) with the
 * domain sp_mail_domain_unicode and with it as its A-label too: a
 * bounce, naming "zoe@xn--bcher-kva.example", then finds the contact
 * stored as "zoe@bücher.example", and "JÜRGEN@bücher.example" the one
 * stored as "JÜRGEN@xn--bcher-kva.example". A domain stored mixed
 * ("bücher.xn--p1ai") or with Unicode capitals is not among them: it is
 * found as stored until the row is sealed again (docs/API.md §2). An
 * address without a root dot also tries the canonical form with one,
 * when there is room (always for an ASCII address): an index stored
 * before the dot was dropped ("x@example.com." as the token gave it).
 * Returns how many (0: blank addr, out untouched). Arena-owned. */
#define SP_MAIL_ADDR_FORMS 4
size_t sp_mail_addr_lookup_forms(struct sp_arena *a, const char *addr,
                                 const char *out[SP_MAIL_ADDR_FORMS]);

#endif
