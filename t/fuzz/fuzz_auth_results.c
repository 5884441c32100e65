/*
 * fuzz_auth_results: libFuzzer target for the Authentication-Results
 * reader and verdict (core/auth_results.c): the header reaches us as the
 * MTA wrote it, with whatever the sender put in its comments, addresses
 * and domains. Input: up to its first NUL the header value, after it the
 * From address (none: zoe@example.com). Aborts unless a readable value
 * has an authserv-id and, for each result, a lower-case keyword method
 * and result and properties with a property name; the verdict on the
 * value's own authserv-id is no_header when it has none and unreadable
 * when the rest cannot be read; a trusted verdict has a pass of its
 * method behind it (dmarc: one that names a header.from; dkim or spf:
 * and no dmarc verdict, only none or a pass that names none); and a
 * header of ours below it (one the sender could have written) never
 * changes the verdict.
 * Build: scripts/dev fuzz auth_results (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/auth_results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static bool
is_keyword(const char *k)
{
    if (k == NULL || *k == '\0')
        return false;
    for (; *k != '\0'; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '-' || *k == '_'))
            return false;
    return true;
}

static void
check_read(const struct sp_auth_results *h)
{
    CHECK(h->authserv_id != NULL && *h->authserv_id != '\0');
    for (size_t i = 0; i < h->n; i++) {
        const struct sp_auth_result *r = &h->v[i];
        CHECK(is_keyword(r->method) && is_keyword(r->result));
        for (size_t j = 0; j < r->nprops; j++) {
            const struct sp_auth_prop *p = &r->props[j];
            CHECK(p->ptype != NULL && p->value != NULL && is_keyword(p->property));
            CHECK(*p->ptype == '\0' || is_keyword(p->ptype));
        }
    }
}

/* Whether h has a result method=result. */
static bool
has(const struct sp_auth_results *h, const char *method, const char *result)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].method, method) == 0 &&
            (result == NULL || strcmp(h->v[i].result, result) == 0))
            return true;
    return false;
}

/* Whether r's header.from names a domain ("example.com", "x@example.com"). */
static bool
names_from(const struct sp_auth_result *r)
{
    const char *hf = sp_auth_result_prop(r, "header", "from");
    const char *at = hf != NULL ? strrchr(hf, '@') : NULL;
    return hf != NULL && *(at != NULL ? at + 1 : hf) != '\0';
}

/* Whether h has a dmarc=pass that names a header.from: one without it
 * does not say which From passed, and is no verdict. */
static bool
dmarc_pass_names_from(const struct sp_auth_results *h)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].method, "dmarc") == 0 && strcmp(h->v[i].result, "pass") == 0 &&
            names_from(&h->v[i]))
            return true;
    return false;
}

static void
check_verdict(const struct sp_auth_results *h, bool ok, enum sp_auth_verdict v)
{
    if (h->authserv_id == NULL) {
        CHECK(v == SP_AUTH_NO_HEADER);
        return;
    }
    CHECK(ok || v == SP_AUTH_UNREADABLE);
    if (v == SP_AUTH_DMARC_PASS)
        CHECK(dmarc_pass_names_from(h));
    if (v == SP_AUTH_DKIM_PASS || v == SP_AUTH_SPF_PASS) {
        CHECK(has(h, v == SP_AUTH_DKIM_PASS ? "dkim" : "spf", "pass"));
        for (size_t i = 0; i < h->n; i++)
            CHECK(strcmp(h->v[i].method, "dmarc") != 0 || strcmp(h->v[i].result, "none") == 0 ||
                  (strcmp(h->v[i].result, "pass") == 0 && !names_from(&h->v[i])));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    const char *value = sp_arena_strndup(&a, (const char *)data, size);
    size_t cut = strlen(value);
    const char *from = cut < size ? sp_arena_strndup(&a, (const char *)data + cut + 1,
                                                     size - cut - 1)
                                  : "zoe@example.com";
    struct sp_auth_results h;
    bool ok = sp_auth_results_parse(&a, value, &h);
    if (ok)
        check_read(&h);
    const char *id = h.authserv_id != NULL ? h.authserv_id : "mx.example.com";
    enum sp_auth_verdict v = sp_auth_results_verdict(&a, &value, 1, id, from);
    check_verdict(&h, ok, v);
    CHECK(sp_auth_verdict_name(v) != NULL);
    if (h.authserv_id != NULL) {
        const char *below[] = {value, sp_arena_sprintf(&a, "\"%s\"; dmarc=pass", id)};
        CHECK(sp_auth_results_verdict(&a, below, 2, id, from) == v);
    }
    sp_arena_destroy(&a);
    return 0;
}
