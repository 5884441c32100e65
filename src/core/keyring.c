/*
 * keyring: splitting "name:secret,..." key-ring settings. See keyring.h.
 * Must not: log or quote a secret or a malformed entry; copy a secret
 * anywhere but into kept keys, which are wiped on free.
 */
#include "core/keyring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/ascii.h"

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

/* p past the line breaks at it: "\r\n", blank lines and a line break
 * after a ',' separate no further entry. */
static const char *
skip_breaks(const char *p)
{
    return p + strspn(p, "\r\n");
}

/* The entry starting at p (after any line breaks) into *e (index not
 * set); false when it is malformed. *end is the ',', line break or NUL
 * that ends it. */
static bool
split(const struct sp_keyring_rules *r, const char *p, struct sp_keyring_entry *e,
      const char **end)
{
    const char *b = skip_breaks(p), *x = b + strcspn(b, ",\r\n");
    *end = x;
    if (r->flags & SP_KEYRING_TRIM)
        sp_ascii_trim(&b, &x);
    const char *colon = memchr(b, ':', (size_t)(x - b));
    if (colon == NULL || !sp_keyring_name_ok(r, b, (size_t)(colon - b)))
        return false;
    *e = (struct sp_keyring_entry){ .name = b, .name_len = (size_t)(colon - b),
                                    .secret = colon + 1, .secret_len = (size_t)(x - colon - 1) };
    return true;
}

/* Whether the ring goes on after an entry that ended at end: not at its
 * end, nor at line breaks that end it (a file's last line). */
static bool
more_after(const char *end)
{
    return *end == ',' || (*end != '\0' && *skip_breaks(end) != '\0');
}

size_t
sp_keyring_count(const char *spec)
{
    size_t n = 1;
    for (const char *p = spec != NULL ? spec : "";; n++) {
        p = skip_breaks(p);
        p += strcspn(p, ",\r\n");
        if (!more_after(p))
            return n;
        p++;
    }
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

static bool
has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sp_ascii_control(s[i]))
            return true;
    return false;
}

/* The entry at p (index) is malformed: why, into err. A control
 * character (a tab, an escape) gets words of its own: it is
 * invisible in the file it came from. */
static void
malformed(const struct sp_keyring_rules *r, const char *p, size_t index, char *err,
          size_t errlen)
{
    const char *b = skip_breaks(p), *x = b + strcspn(b, ",\r\n");
    if (r->flags & SP_KEYRING_TRIM)
        sp_ascii_trim(&b, &x);
    const char *colon = memchr(b, ':', (size_t)(x - b));
    if (has_control(b, (size_t)((colon != NULL ? colon : x) - b)))
        snprintf(err, errlen, "%s: entry %zu holds a control character (a tab?) in its %s;"
                              " entries are separated by ',' or line breaks", r->setting, index,
                 r->name_word);
    else
        snprintf(err, errlen, "%s: entry %zu is not %s:%s (%s of 1-%zu %s)", r->setting, index,
                 r->name_word, r->secret_word, r->name_word, r->name_max, r->name_chars_text);
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
            malformed(r, p, index, err, errlen);
            return false;
        }
        if (has_control(e.secret, e.secret_len)) {
            snprintf(err, errlen, "%s: the %s of %s \"%.*s\" holds a control character (a"
                                  " tab?); entries are separated by ',' or line breaks",
                     r->setting, r->secret_word, r->name_word, (int)e.name_len, e.name);
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
        if (!more_after(end))
            return true;
    }
}

/* ---- kept keys ----------------------------------------------------------- */

static void *
xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        abort(); /* start-up OOM: nothing sensible to do (STYLE.md) */
    return p;
}

struct sp_keyring_key *
sp_keyring_keys_add(struct sp_keyring_keys *r, const char *name, size_t name_len,
                    const void *material, size_t len)
{
    struct sp_keyring_key *keys = realloc(r->keys, (r->n + 1) * sizeof(*keys));
    if (keys == NULL)
        abort();
    r->keys = keys;
    struct sp_keyring_key *k = &keys[r->n++];
    *k = (struct sp_keyring_key){.len = len};
    if (name != NULL) {
        k->name = xmalloc(name_len + 1);
        memcpy(k->name, name, name_len);
        k->name[name_len] = '\0';
    }
    k->material = xmalloc(len + 1);
    memcpy(k->material, material, len);
    k->material[len] = '\0';
    return k;
}

struct secrets_load {
    const struct sp_keyring_rules *rules;
    size_t min_len;
    struct sp_keyring_keys *out;
};

bool
sp_keyring_secret_min(const struct sp_keyring_rules *rules, const struct sp_keyring_entry *e,
                      size_t min_len, char *err, size_t errlen)
{
    if (e->secret_len >= min_len)
        return true;
    snprintf(err, errlen, "%s: the secret of %s \"%.*s\" is shorter than %zu bytes",
             rules->setting, rules->name_word, (int)e->name_len, e->name, min_len);
    return false;
}

static bool
add_secret(void *ctx, const struct sp_keyring_entry *e, char *err, size_t errlen)
{
    struct secrets_load *l = ctx;
    if (!sp_keyring_secret_min(l->rules, e, l->min_len, err, errlen))
        return false;
    sp_keyring_keys_add(l->out, e->name, e->name_len, e->secret, e->secret_len);
    return true;
}

struct sp_keyring_keys *
sp_keyring_keys_load(const struct sp_keyring_rules *rules, const char *spec, size_t min_len,
                     char *err, size_t errlen)
{
    struct sp_keyring_keys *out = calloc(1, sizeof(*out));
    if (out == NULL)
        abort();
    struct secrets_load l = {rules, min_len, out};
    if (sp_keyring_each(rules, spec, add_secret, &l, err, errlen))
        return out;
    sp_keyring_keys_destroy(out);
    return NULL;
}

const struct sp_keyring_key *
sp_keyring_keys_find(const struct sp_keyring_keys *r, const char *name, size_t name_len)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->keys[i].name != NULL && strlen(r->keys[i].name) == name_len &&
            memcmp(r->keys[i].name, name, name_len) == 0)
            return &r->keys[i];
    return NULL;
}

void
sp_keyring_keys_free(struct sp_keyring_keys *r)
{
    for (size_t i = 0; i < r->n; i++) {
        OPENSSL_cleanse(r->keys[i].material, r->keys[i].len);
        free(r->keys[i].material);
        free(r->keys[i].name);
    }
    free(r->keys);
    r->keys = NULL;
    r->n = 0;
}

void
sp_keyring_keys_destroy(struct sp_keyring_keys *r)
{
    if (r == NULL)
        return;
    sp_keyring_keys_free(r);
    free(r);
}
