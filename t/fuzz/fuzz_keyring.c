/*
 * fuzz_keyring: libFuzzer target for key-ring settings, "name:secret,...",
 * as split by core/keyring.c and loaded by its three users
 * (SUPPORT_ENCRYPTION_KEYS, SUPPORT_JWT_KEYS, SUPPORT_ATTACHMENT_KEYS).
 * Input: byte 0 picks the rules - bit 0 TRIM, bit 1 UNIQUE, bits 2-3 the
 * name characters (visible ASCII, the encryption ring's or the attachment
 * keys'), bits 4-7 the longest name (1-16); the rest, up to its first NUL,
 * is the spec. Aborts unless every entry handed over lies inside the spec
 * in order, is "name:secret" with a valid name and no separator (',' or a
 * line break) nor any other control character in the secret, with only
 * line breaks and whitespace (TRIM) between entries and separators and,
 * under TRIM, no whitespace ending the secret;
 * names are unique under UNIQUE; an accepted ring has sp_keyring_count
 * entries (what follows the last one, line breaks only); a refusal says
 * the next entry is malformed, holds a control character, or names an
 * earlier entry's name (so never quotes a secret); a refusal by the callback stops
 * the walk with its text. The three loaders then take the spec, and
 * their refusals must name their setting.
 * Build: scripts/dev fuzz keyring (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/keyring.h"
#include "http/auth.h"
#include "http/signed_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define SPACE " \t\r\n\v\f"
#define MAXN 512

static const char *const CHARS[] = {
    NULL,
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
    NULL,
};

struct walk {
    const struct sp_keyring_rules *r;
    const char *spec, *end, *after;   /* after: just past the last entry */
    const char *name[MAXN];
    size_t name_len[MAXN], n;
    bool refused;
};

/* Whether [b, e) is all line breaks (any ring: they separate entries
 * as ',' does) and whitespace (TRIM), or empty. */
static bool
gap(const struct walk *w, const char *b, const char *e)
{
    bool trim = w->r->flags & SP_KEYRING_TRIM;
    for (; b < e; b++)
        if (*b != '\r' && *b != '\n' && (!trim || memchr(SPACE, *b, sizeof(SPACE) - 1) == NULL))
            return false;
    return true;
}

static bool
has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

static bool
entry(void *ctx, const struct sp_keyring_entry *e, char *err, size_t errlen)
{
    struct walk *w = ctx;
    CHECK(!w->refused && w->n < MAXN && e->index == w->n + 1);
    CHECK(e->name >= w->after && e->secret == e->name + e->name_len + 1);
    CHECK(e->secret + e->secret_len <= w->end && e->name[e->name_len] == ':');
    CHECK(gap(w, w->after, e->name));
    CHECK(sp_keyring_name_ok(w->r, e->name, e->name_len));
    CHECK(memchr(e->secret, ',', e->secret_len) == NULL && !has_control(e->secret, e->secret_len));
    const char *stop = e->secret + e->secret_len + strcspn(e->secret + e->secret_len, ",\r\n");
    CHECK(gap(w, e->secret + e->secret_len, stop));
    CHECK(!(w->r->flags & SP_KEYRING_TRIM) || e->secret_len == 0
          || memchr(SPACE, e->secret[e->secret_len - 1], sizeof(SPACE) - 1) == NULL);
    for (size_t i = 0; (w->r->flags & SP_KEYRING_UNIQUE) && i < w->n; i++)
        CHECK(w->name_len[i] != e->name_len || memcmp(w->name[i], e->name, e->name_len) != 0);
    w->name[w->n] = e->name;
    w->name_len[w->n++] = e->name_len;
    w->after = *stop != '\0' ? stop + 1 : stop;
    if (e->secret_len > 0 && e->secret[0] == '!') {
        w->refused = true;
        snprintf(err, errlen, "refused");
        return false;
    }
    return true;
}

/* A refusal of the splitter: the entry after the last one handed over is
 * malformed, or it repeats an earlier name - which is what it quotes. */
static void
check_refusal(const struct walk *w, const char *err)
{
    const struct sp_keyring_rules *r = w->r;
    char want[256];
    snprintf(want, sizeof(want), "%s: entry %zu is not %s:%s (%s of 1-%zu %s)", r->setting,
             w->n + 1, r->name_word, r->secret_word, r->name_word, r->name_max,
             r->name_chars_text);
    if (strcmp(err, want) == 0)
        return;
    snprintf(want, sizeof(want), "%s: entry %zu holds a control character (a tab?) in its %s;"
             " entries are separated by ',' or line breaks", r->setting, w->n + 1, r->name_word);
    if (strcmp(err, want) == 0)
        return;
    /* a control character in the next entry's secret: named by its kid */
    static const char tail[] = "\" holds a control character (a tab?); entries are separated"
                               " by ',' or line breaks";
    snprintf(want, sizeof(want), "%s: the %s of %s \"", r->setting, r->secret_word,
             r->name_word);
    size_t n = strlen(err);
    if (strncmp(err, want, strlen(want)) == 0 && n > sizeof(tail) - 1 &&
        strcmp(err + n - (sizeof(tail) - 1), tail) == 0)
        return;
    CHECK(r->flags & SP_KEYRING_UNIQUE);
    for (size_t i = 0; i < w->n; i++) {
        snprintf(want, sizeof(want), "%s: %s \"%.*s\" is used twice", r->setting, r->name_word,
                 (int)w->name_len[i], w->name[i]);
        if (strcmp(err, want) == 0)
            return;
    }
    abort();
}

static void
check_split(uint8_t pick, const char *spec)
{
    struct sp_keyring_rules r = {
        .setting = "FUZZ", .name_word = "kid", .secret_word = "secret",
        .name_max = 1 + (size_t)(pick >> 4), .name_chars = CHARS[(pick >> 2) & 3],
        .name_chars_text = "characters", .flags = pick & 3,
    };
    struct walk w = { .r = &r, .spec = spec, .end = spec + strlen(spec), .after = spec };
    char err[256] = "";
    if (sp_keyring_each(&r, spec, entry, &w, err, sizeof(err))) {
        CHECK(!w.refused && w.n == sp_keyring_count(spec) && gap(&w, w.after, w.end));
    } else if (w.refused) {
        CHECK(strcmp(err, "refused") == 0);
    } else {
        check_refusal(&w, err);
    }
}

/* The real loaders: no crash or leak, and a refusal names the setting. */
static void
check_loaders(const char *spec)
{
    char err[256] = "";
    struct sp_keyring_keys *u = sp_url_keys_load(spec, err, sizeof(err));
    CHECK(u != NULL || strncmp(err, "SUPPORT_ATTACHMENT_KEYS", 23) == 0);
    sp_keyring_keys_destroy(u);
    struct sp_auth_config cfg = { spec, NULL, NULL, NULL, 60 };
    struct sp_auth_keys *k = *spec != '\0' ? sp_auth_keys_load(&cfg, err, sizeof(err)) : NULL;
    CHECK(k != NULL || *spec == '\0' || strncmp(err, "SUPPORT_JWT_KEYS", 16) == 0);
    sp_auth_keys_free(k);
    struct sp_crypto *c = sp_crypto_new(spec, NULL, err, sizeof(err));
    CHECK(c != NULL || strncmp(err, "SUPPORT_ENCRYPTION_KEYS", 23) == 0);
    sp_crypto_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *spec = strndup((const char *)data + 1, size - 1);
    if (spec == NULL)
        abort();
    check_split(data[0], spec);
    check_loaders(spec);
    free(spec);
    return 0;
}
