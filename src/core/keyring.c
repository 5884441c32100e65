/*
 * keyring: splitting "name:secret,..." key-ring settings. See keyring.h.
 * Must not: copy, log or quote a secret or a malformed entry.
 */
#include "core/keyring.h"

#include <stdio.h>
#include <string.h>

#define SPACE " \t\r\n\v\f"

bool
sp_keyring_name_ok(const struct sp_keyring_rules *r, const char *s, size_t n)
{
    if (n == 0 || n > r->name_max)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool ok = r->name_chars != NULL
            ? s[i] != '\0' && strchr(r->name_chars, s[i]) != NULL
            : s[i] >= 0x21 && s[i] <= 0x7e && s[i] != ',' && s[i] != ':';
        if (!ok)
            return false;
    }
    return true;
}

size_t
sp_keyring_count(const char *spec)
{
    size_t n = 1;
    for (const char *p = spec != NULL ? spec : ""; *p != '\0'; p++)
        n += *p == ',';
    return n;
}

/* The entry starting at p into *e (index not set); false when it is
 * malformed. *end is the ',' or NUL that ends it. */
static bool
split(const struct sp_keyring_rules *r, const char *p, struct sp_keyring_entry *e,
      const char **end)
{
    const char *b = p, *x = strchrnul(p, ',');
    *end = x;
    if (r->flags & SP_KEYRING_TRIM) {
        while (b < x && memchr(SPACE, *b, sizeof(SPACE) - 1) != NULL)
            b++;
        while (x > b && memchr(SPACE, x[-1], sizeof(SPACE) - 1) != NULL)
            x--;
    }
    const char *colon = memchr(b, ':', (size_t)(x - b));
    if (colon == NULL || !sp_keyring_name_ok(r, b, (size_t)(colon - b)))
        return false;
    *e = (struct sp_keyring_entry){ .name = b, .name_len = (size_t)(colon - b),
                                    .secret = colon + 1, .secret_len = (size_t)(x - colon - 1) };
    return true;
}

/* Whether an entry before the one at cur (all of them valid) has e's name.
 * Rescans the spec: rings are short, and nothing is stored. */
static bool
seen_before(const struct sp_keyring_rules *r, const char *spec, const char *cur,
            const struct sp_keyring_entry *e)
{
    struct sp_keyring_entry prev;
    const char *end;
    for (const char *p = spec; p < cur && split(r, p, &prev, &end); p = end + 1)
        if (prev.name_len == e->name_len && memcmp(prev.name, e->name, e->name_len) == 0)
            return true;
    return false;
}

bool
sp_keyring_each(const struct sp_keyring_rules *r, const char *spec, sp_keyring_entry_fn *fn,
                void *ctx, char *err, size_t errlen)
{
    struct sp_keyring_entry e;
    const char *end;
    spec = spec != NULL ? spec : "";
    const char *p = spec;
    for (size_t index = 1;; index++, p = end + 1) {
        if (!split(r, p, &e, &end)) {
            snprintf(err, errlen, "%s: entry %zu is not %s:%s (%s of 1-%zu %s)", r->setting,
                     index, r->name_word, r->secret_word, r->name_word, r->name_max,
                     r->name_chars_text);
            return false;
        }
        if ((r->flags & SP_KEYRING_UNIQUE) && seen_before(r, spec, p, &e)) {
            snprintf(err, errlen, "%s: %s \"%.*s\" is used twice", r->setting, r->name_word,
                     (int)e.name_len, e.name);
            return false;
        }
        e.index = index;
        if (!fn(ctx, &e, err, errlen))
            return false;
        if (*end == '\0')
            return true;
    }
}
