/*
 * mail_idn: an address's ASCII and canonical forms. See mail_idn.h.
 */
#include "core/mail_idn.h"

#include <idn2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/names.h"
#include "core/ascii.h"
#include "core/mime.h"
#include "core/utf8.h"

static bool
is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/* The domain d[0..n) as an A-label, lower case (an ASCII one as well:
 * "XN--BCHER-KVA.example" is "bücher.example"); NULL when it is no IDNA
 * name. */
static const char *
domain_ascii(struct sp_arena *a, const char *d, size_t n)
{
    char *out = NULL;
    if (idn2_to_ascii_8z(sp_arena_strndup(a, d, n), &out, IDN2_NONTRANSITIONAL) != IDN2_OK)
        return NULL;
    const char *kept = sp_ascii_lower(sp_arena_strdup(a, out));
    idn2_free(out);
    return kept;
}

/* addr without a trailing root dot on its domain ("x@example.com." is
 * x@example.com: DNS reads both alike, but a strict relay refuses the
 * dot in RCPT TO, QA); addr itself when it has none. */
static const char *
rootless(struct sp_arena *a, const char *addr)
{
    size_t n = strlen(addr);
    const char *at = strrchr(addr, '@');
    if (at == NULL || n < 2 || addr[n - 1] != '.' || at == addr + n - 2)
        return addr;
    return sp_arena_strndup(a, addr, n - 1);
}

const char *
sp_mail_addr_ascii(struct sp_arena *a, const char *addr)
{
    if (addr == NULL)
        return NULL;
    addr = rootless(a, addr);
    const char *at = strrchr(addr, '@');
    if (is_ascii(addr, strlen(addr)))
        return sp_mail_addr_valid(addr) ? addr : NULL;
    if (at == NULL || !is_ascii(addr, (size_t)(at - addr)))
        return NULL;   /* a non-ASCII local part is SMTPUTF8's */
    const char *domain = domain_ascii(a, at + 1, strlen(at + 1));
    if (domain == NULL)
        return NULL;
    const char *out = sp_arena_sprintf(a, "%.*s@%s", (int)(at - addr), addr, domain);
    return sp_mail_addr_valid(out) ? out : NULL;
}

const char *
sp_mail_addr_ascii_folded(struct sp_arena *a, const char *addr)
{
    if (addr == NULL)
        return NULL;
    const char *b = addr, *e = addr + strlen(addr);
    sp_ascii_trim(&b, &e);
    return b < e ? sp_ascii_lower(sp_arena_strndup(a, b, (size_t)(e - b))) : NULL;
}

const char *
sp_mail_addr_canonical(struct sp_arena *a, const char *addr)
{
    const char *folded = sp_mail_addr_ascii_folded(a, addr);
    if (folded == NULL)
        return NULL;
    folded = rootless(a, folded);
    if (is_ascii(folded, strlen(folded)))
        return folded;
    const char *b = addr, *e = addr + strlen(addr);
    sp_ascii_trim(&b, &e);
    if (e - b > 1 && e[-1] == '.')
        e--;   /* the root dot, as rootless drops it */
    const char *at = b;
    for (const char *c = b; c < e; c++)
        if (*c == '@')
            at = c;
    if (*at != '@')
        return folded;
    const char *local = sp_name_fold(a, b, (size_t)(at - b));
    const char *domain = domain_ascii(a, at + 1, (size_t)(e - at - 1));
    if (local == NULL || domain == NULL)
        return folded;
    return sp_arena_sprintf(a, "%s@%s", local, domain);
}

const char *
sp_mail_domain_canonical(struct sp_arena *a, const char *domain)
{
    if (domain == NULL)
        return NULL;
    size_t n = strlen(domain);
    const char *d = is_ascii(domain, n) ? NULL : domain_ascii(a, domain, n);
    return d != NULL ? d : sp_ascii_lower(sp_arena_strndup(a, domain, n));
}

const char *
sp_mail_domain_unicode(struct sp_arena *a, const char *domain)
{
    const char *ace = domain != NULL ? domain_ascii(a, domain, strlen(domain)) : NULL;
    char *out = NULL;
    if (ace == NULL || idn2_to_unicode_8z8z(ace, &out, IDN2_NONTRANSITIONAL) != IDN2_OK)
        return NULL;
    const char *kept = sp_arena_strdup(a, out);
    idn2_free(out);
    return kept;
}

/* form appended to out[0..*n) unless it is there already (or NULL). */
static void
add_form(const char **out, size_t *n, const char *form)
{
    if (form == NULL)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(out[i], form) == 0)
            return;
    out[(*n)++] = form;
}

size_t
sp_mail_addr_lookup_forms(struct sp_arena *a, const char *addr,
                          const char *out[SP_MAIL_ADDR_FORMS])
{
    const char *canonical = sp_mail_addr_canonical(a, addr);
    if (canonical == NULL)
        return 0;
    size_t n = 0;
    add_form(out, &n, canonical);
    const char *given = sp_mail_addr_ascii_folded(a, addr);
    add_form(out, &n, given);
    const char *at = strrchr(given, '@');
    if (at == NULL)
        return n;
    int local = (int)(at - given);
    const char *unicode = sp_mail_domain_unicode(a, at + 1);
    const char *ace = domain_ascii(a, at + 1, strlen(at + 1));
    if (unicode != NULL)
        add_form(out, &n, sp_arena_sprintf(a, "%.*s@%s", local, given, unicode));
    if (ace != NULL)
        add_form(out, &n, sp_arena_sprintf(a, "%.*s@%s", local, given, ace));
    /* An index stored before the root dot was dropped, of the address
     * written with it, when the lookup's has none (an ASCII address
     * always has the room). */
    if (n < SP_MAIL_ADDR_FORMS && given[strlen(given) - 1] != '.')
        add_form(out, &n, sp_arena_sprintf(a, "%s.", canonical));
    return n;
}
