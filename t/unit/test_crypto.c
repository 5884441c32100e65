/*
 * test_crypto: the contact-PII encryption contract of API.md §2 as
 * implemented by src/core/crypto.c: AES-256-GCM under a versioned key ring
 * with lazy rotation, the HMAC blind index for lookup by email, the keys
 * derived from it for one purpose each, and the hashing helpers. Pure:
 * fixed keys, no files. Must not: touch the network or a database.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "unit.h"

/* K1 = bytes 0..31, K2 = bytes 32..63, K3 = 32 x 0xa5. */
#define K1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define K3 "paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU="
#define AAD "contact:email:42"

SP_UNIT_ARENA_FIXTURE(4096)

static void
crypto_free(void *c)
{
    sp_crypto_free(c);
}

/* A ring that dies with the test's arena, even when an assertion fails. */
static struct sp_crypto *
ring(const char *keys, const char *index_key)
{
    char err[256] = "";
    struct sp_crypto *c = sp_crypto_new(keys, index_key, err, sizeof(err));
    ck_assert_msg(c != NULL, "ring rejected: %s", err);
    sp_arena_defer(&arena, crypto_free, c);
    return c;
}

/* ---- encryption -------------------------------------------------------- */

START_TEST(round_trip_returns_the_plaintext_including_empty_and_10kb)
{
    struct sp_crypto *c = ring("v1:" K1, NULL);
    char *big = sp_arena_alloc(&arena, 10240 + 1);
    for (size_t i = 0; i < 10240; i++)
        big[i] = (char)('a' + i % 26);
    big[10240] = '\0';
    const char *cases[] = { "alice@example.com", "", "Zoë Ångström +33 6 12 34 56 78", big };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *ct = sp_crypto_encrypt(c, &arena, cases[i], strlen(cases[i]), AAD);
        ck_assert_ptr_nonnull(ct);
        const char *pt = sp_crypto_decrypt(c, &arena, ct, AAD);
        ck_assert_ptr_nonnull(pt);
        ck_assert_str_eq(pt, cases[i]);
    }
}
END_TEST

START_TEST(ciphertext_is_version_colon_base64_of_nonce_data_and_tag)
{
    struct sp_crypto *c = ring("v1:" K1, NULL);
    const char *ct = sp_crypto_encrypt(c, &arena, "abcde", 5, AAD);
    ck_assert_ptr_nonnull(ct);
    ck_assert_int_eq(strncmp(ct, "v1:", 3), 0);
    /* 12 nonce + 5 data + 16 tag = 33 bytes = 44 base64 characters */
    ck_assert_uint_eq(strlen(ct + 3), 44);
    ck_assert_uint_eq(strspn(ct + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789+/="), 44);
}
END_TEST

START_TEST(same_plaintext_encrypts_differently_each_time)
{
    struct sp_crypto *c = ring("v1:" K1, NULL);
    const char *a = sp_crypto_encrypt(c, &arena, "alice@example.com", 17, AAD);
    const char *b = sp_crypto_encrypt(c, &arena, "alice@example.com", 17, AAD);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_ne(a, b);
    /* and not only somewhere: the nonce (first 16 base64 chars) differs */
    ck_assert_int_ne(strncmp(a + 3, b + 3, 16), 0);
}
END_TEST

/* Every substitution of every character, padding and version included, must
 * fail: plaintext sizes cover 0, 1 and 2 padding characters. */
START_TEST(tampering_any_byte_of_the_ciphertext_is_rejected)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789+/=:-_ .\n";
    struct sp_crypto *c = ring("v2:" K2 ",v1:" K1, NULL);
    const char *plain[] = { "alice@example.com", "", "a" };
    for (size_t p = 0; p < sizeof(plain) / sizeof(plain[0]); p++) {
        const char *ct = sp_crypto_encrypt(c, &arena, plain[p], strlen(plain[p]), AAD);
        ck_assert_ptr_nonnull(ct);
        size_t n = strlen(ct);
        char *t = sp_arena_strdup(&arena, ct);
        for (size_t i = 0; i < n; i++) {
            for (const char *r = alphabet; *r; r++) {
                if (*r == ct[i])
                    continue;
                t[i] = *r;
                ck_assert_msg(sp_crypto_decrypt(c, &arena, t, AAD) == NULL,
                              "plaintext %zu: '%c' at %zu accepted", p, *r, i);
            }
            t[i] = ct[i];
        }
        ck_assert_ptr_nonnull(sp_crypto_decrypt(c, &arena, t, AAD));
        /* truncated or extended */
        ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, sp_arena_strndup(&arena, ct, n - 4), AAD));
        ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, sp_arena_sprintf(&arena, "%sAAAA", ct), AAD));
        ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, sp_arena_sprintf(&arena, " %s", ct), AAD));
    }
}
END_TEST

START_TEST(wrong_aad_is_rejected)
{
    struct sp_crypto *c = ring("v1:" K1, NULL);
    const char *ct = sp_crypto_encrypt(c, &arena, "alice@example.com", 17, "contact:email:42");
    ck_assert_ptr_nonnull(ct);
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, ct, "contact:email:43"));
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, ct, "contact:phone:42"));
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, ct, ""));
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, ct, NULL));
    const char *bare = sp_crypto_encrypt(c, &arena, "x", 1, NULL);
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, bare, "contact:email:42"));
    ck_assert_str_eq(sp_crypto_decrypt(c, &arena, bare, ""), "x");   /* NULL aad is "" */
}
END_TEST

START_TEST(unknown_version_or_malformed_text_is_rejected)
{
    struct sp_crypto *c = ring("v1:" K1, NULL);
    const char *ct = sp_crypto_encrypt(c, &arena, "alice", 5, AAD);
    ck_assert_ptr_nonnull(ct);
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, sp_arena_sprintf(&arena, "v9%s", ct + 2), AAD));
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, sp_arena_sprintf(&arena, "v%s", ct), AAD));
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, ct + 3, AAD));   /* no version */
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, ct + 2, AAD));   /* empty version */
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, "v1:", AAD));
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, "v1:AAAA", AAD));
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, "", AAD));
    ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, NULL, AAD));
}
END_TEST

/* True when needle is in hay exactly once. */
static bool
once(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    return p != NULL && strstr(p + 1, needle) == NULL;
}

/* A value that does not open reads as null, and the ring (a process's)
 * says so once per version label (QA: a node missing the key another
 * node encrypted with showed contacts as null and logged nothing): its
 * label and why, never the value or its plaintext; a label that is no
 * label is not named. */
START_TEST(a_value_that_does_not_open_is_logged_once_per_version)
{
    struct sp_crypto *c = ring("v1:" K1, NULL);
    const char *v1 = sp_crypto_encrypt(c, &arena, "alice@example.com", 17, AAD);
    const char *v2 = sp_crypto_encrypt(ring("v2:" K2, NULL), &arena, "bob@example.com", 15, AAD);
    const char *other = sp_crypto_encrypt(ring("v3:" K2, NULL), &arena, "eve@example.com", 15,
                                          AAD);
    ck_assert(v1 != NULL && v2 != NULL && other != NULL);
    char log[4096];
    struct sp_unit_log l = sp_unit_log_begin();
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, v2, AAD));
        ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, v1, "contact:email:43"));
        ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, other, AAD));
        ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, "alice@example.com", AAD));
        ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, "alice smith:x", AAD));
        ck_assert_ptr_null(sp_crypto_decrypt(c, &arena, NULL, AAD));   /* nothing stored */
    }
    ck_assert_str_eq(sp_crypto_decrypt(c, &arena, v1, AAD), "alice@example.com");
    sp_log_msg(SP_LOG_WARN, "end_marker", "-");
    sp_unit_log_end(l, log, sizeof(log));
    size_t lines = 0;
    for (const char *p = log; *p != '\0'; p++)
        lines += *p == '\n';
    ck_assert_msg(lines == 5 && strstr(log, "\"event\":\"end_marker\"") != NULL, "%s", log);
    static const char *const said[] = {
        "\"key_version\":\"v2\",\"reason\":\"unknown_key\"",
        "\"key_version\":\"v1\",\"reason\":\"not_authentic\"",
        "\"key_version\":\"v3\",\"reason\":\"unknown_key\"",
        "\"key_version\":null,\"reason\":\"unknown_key\"",
    };
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(once(log, said[i]), "%s not once in\n%s", said[i], log);
    ck_assert_msg(strstr(log, "alice") == NULL && strstr(log, v2 + 3) == NULL, "%s", log);
}
END_TEST

/* ---- rotation ---------------------------------------------------------- */

START_TEST(old_ciphertext_decrypts_after_rotation_and_needs_rotation)
{
    struct sp_crypto *old = ring("v1:" K1, NULL);
    const char *ct = sp_crypto_encrypt(old, &arena, "alice@example.com", 17, AAD);
    ck_assert_ptr_nonnull(ct);
    ck_assert(!sp_crypto_needs_rotation(old, ct));

    struct sp_crypto *rotated = ring("v2:" K2 ",v1:" K1, NULL);
    ck_assert_str_eq(sp_crypto_decrypt(rotated, &arena, ct, AAD), "alice@example.com");
    ck_assert(sp_crypto_needs_rotation(rotated, ct));
}
END_TEST

START_TEST(new_encryptions_use_the_first_key)
{
    struct sp_crypto *rotated = ring("v2:" K2 ",v1:" K1, NULL);
    const char *ct = sp_crypto_encrypt(rotated, &arena, "alice@example.com", 17, AAD);
    ck_assert_ptr_nonnull(ct);
    ck_assert_int_eq(strncmp(ct, "v2:", 3), 0);
    ck_assert(!sp_crypto_needs_rotation(rotated, ct));
    /* the old ring cannot read what the new key wrote */
    ck_assert_ptr_null(sp_crypto_decrypt(ring("v1:" K1, NULL), &arena, ct, AAD));
}
END_TEST

START_TEST(dropping_the_old_key_breaks_its_ciphertexts)
{
    const char *ct = sp_crypto_encrypt(ring("v1:" K1, NULL), &arena, "alice", 5, AAD);
    ck_assert_ptr_nonnull(ct);
    ck_assert_ptr_null(sp_crypto_decrypt(ring("v2:" K2, NULL), &arena, ct, AAD));
    /* same label, different key: the tag catches it */
    ck_assert_ptr_null(sp_crypto_decrypt(ring("v1:" K2, NULL), &arena, ct, AAD));
}
END_TEST

START_TEST(needs_rotation_compares_the_version_label_only)
{
    struct sp_crypto *c = ring("v10:" K2 ",v1:" K1, NULL);
    ck_assert(!sp_crypto_needs_rotation(c, "v10:whatever"));
    ck_assert(sp_crypto_needs_rotation(c, "v1:whatever"));
    ck_assert(sp_crypto_needs_rotation(c, "v100:whatever"));
    ck_assert(sp_crypto_needs_rotation(c, "v10"));   /* no colon */
    ck_assert(!sp_crypto_needs_rotation(c, NULL));
}
END_TEST

/* ---- configuration ----------------------------------------------------- */

START_TEST(spaces_around_entries_and_long_labels_are_accepted)
{
    struct sp_crypto *c = ring(" key-2026_01-abcd:" K2 " ,\tv1:" K1 " ", NULL);
    const char *ct = sp_crypto_encrypt(c, &arena, "x", 1, AAD);
    ck_assert_ptr_nonnull(ct);
    ck_assert_int_eq(strncmp(ct, "key-2026_01-abcd:", 17), 0);
    ck_assert_str_eq(sp_crypto_decrypt(c, &arena, ct, AAD), "x");
}
END_TEST

/* Fails unless s[0..n) shares no 8-character run with err. */
static void
assert_not_quoted(const char *err, const char *s, size_t n, const char *why)
{
    for (size_t i = 0; i + 8 <= n; i++) {
        char run[9];
        memcpy(run, s + i, 8);
        run[8] = '\0';
        ck_assert_msg(strstr(err, run) == NULL, "%s: message quotes key text: %s", why, err);
    }
}

/* Rejected with a message naming the setting and quoting no key text (the
 * part of each entry after its colon, or the whole entry without one). */
static void
assert_rejected(const char *keys, const char *index_key, const char *setting, const char *why)
{
    char err[256] = "";
    struct sp_crypto *c = sp_crypto_new(keys, index_key, err, sizeof(err));
    if (c != NULL)
        sp_crypto_free(c);
    ck_assert_msg(c == NULL, "%s: accepted", why);
    ck_assert_msg(strstr(err, setting) != NULL, "%s: message does not name %s: %s", why,
                  setting, err);
    for (const char *e = keys; e != NULL && *e != '\0';) {
        const char *end = strchrnul(e, ',');
        const char *colon = memchr(e, ':', (size_t)(end - e));
        const char *k = colon != NULL ? colon + 1 : e;
        assert_not_quoted(err, k, (size_t)(end - k), why);
        e = *end != '\0' ? end + 1 : end;
    }
    if (index_key != NULL)
        assert_not_quoted(err, index_key, strlen(index_key), why);
}

START_TEST(bad_rings_are_rejected_without_quoting_key_material)
{
    const char *k31 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
    const char *k33 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char k64[89];
    memset(k64, 'Q', 88);
    k64[88] = '\0';
    struct { const char *keys, *why; } bad[] = {
        { NULL, "unset" },
        { "", "empty" },
        { sp_arena_sprintf(&arena, "v1:%s", k31), "31-byte key" },
        { sp_arena_sprintf(&arena, "v1:%s", k33), "33-byte key" },
        { "v1:" K1 "AAAA", "36-byte key" },
        { sp_arena_sprintf(&arena, "v1:%.88s", k64), "64-byte key" },
        { "v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh!=", "bad base64 character" },
        { "v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "missing padding" },
        { "v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", "non-canonical last character" },
        { "v1:AAECAwQFBgcICQoLDA0O=xAREhMUFRYXGBkaGxwdHh8=", "padding in the middle" },
        { "v1:" K1 ",v1:" K2, "duplicate version" },
        { K1, "missing colon" },
        { ":" K1, "empty version" },
        { "v 1:" K1, "space in version" },
        { "abcdefghijklmnopq:" K1, "17-character version" },
        { "v2:" K2 ",", "trailing comma" },
        { "v2:" K2 ",,v1:" K1, "empty entry" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejected(bad[i].keys, NULL, "SUPPORT_ENCRYPTION_KEYS", bad[i].why);
    assert_rejected("v1:" K1, "paWlpaWlpaWlpaWlpaWlpaWl", "SUPPORT_PII_INDEX_KEY",
                    "short index key");
    assert_rejected("v1:" K1, "paWlpaWlpaWlpaWlpaWl paWlpaWlpaWlpaWlpaWlpaU=", "SUPPORT_PII_INDEX_KEY",
                    "space inside the index key");
    assert_rejected("v1:" K1, K3 K3, "SUPPORT_PII_INDEX_KEY", "64-byte index key");
}
END_TEST

/* Unlike SUPPORT_JWT_KEYS and SUPPORT_ATTACHMENT_KEYS, whitespace around
 * each entry is ignored (not around the ':'). */
START_TEST(whitespace_around_ring_entries_is_ignored)
{
    const char *old = sp_crypto_encrypt(ring("v1:" K1, NULL), &arena, "x", 1, AAD);
    struct sp_crypto *c = ring(" v2:" K2 " ,\tv1:" K1 "\r\n", NULL);
    ck_assert_str_eq(sp_crypto_decrypt(c, &arena, old, AAD), "x");
    const char *ct = sp_crypto_encrypt(c, &arena, "x", 1, AAD);
    ck_assert_int_eq(strncmp(ct, "v2:", 3), 0);
    assert_rejected("v1: " K1, NULL, "SUPPORT_ENCRYPTION_KEYS", "space after the colon");
}
END_TEST

static void
assert_rejected_with(const char *keys, const char *want)
{
    char err[256] = "";
    struct sp_crypto *c = sp_crypto_new(keys, NULL, err, sizeof(err));
    sp_crypto_free(c);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err, want);
}

/* The texts operators see; a repeated version is named before its key is
 * decoded. */
START_TEST(ring_errors_say_which_entry_and_why)
{
    assert_rejected_with("v1:" K1 ",",
                         "SUPPORT_ENCRYPTION_KEYS: entry 2 is not version:base64key (version of "
                         "1-16 characters A-Z a-z 0-9 _ -)");
    assert_rejected_with("v1:" K1 ",v1:not-base64", "SUPPORT_ENCRYPTION_KEYS: version \"v1\" is used twice");
    assert_rejected_with("v1:" K1 ",v2:not-base64",
                         "SUPPORT_ENCRYPTION_KEYS: the key of version \"v2\" is not standard padded "
                         "base64 of exactly 32 bytes");
    assert_rejected_with("", "SUPPORT_ENCRYPTION_KEYS is not set (expected version:base64key,...)");
}
END_TEST

/* ---- blind index ------------------------------------------------------- */

static bool
is_lower_hex64(const char *s)
{
    return s != NULL && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

START_TEST(email_index_is_64_lowercase_hex_and_normalizes_case_and_whitespace)
{
    struct sp_crypto *c = ring("v1:" K1, NULL);
    const char *a = sp_crypto_email_index(c, &arena, "alice@example.com");
    ck_assert(is_lower_hex64(a));
    ck_assert_str_eq(sp_crypto_email_index(c, &arena, "  Alice@Example.COM "), a);
    ck_assert_str_eq(sp_crypto_email_index(c, &arena, "\tALICE@EXAMPLE.COM\r\n"), a);
    ck_assert_str_ne(sp_crypto_email_index(c, &arena, "bob@example.com"), a);
    ck_assert_str_ne(sp_crypto_email_index(c, &arena, "alice@example.co"), a);
    ck_assert_str_ne(sp_crypto_email_index(c, &arena, "al ice@example.com"), a);
    ck_assert_ptr_null(sp_crypto_email_index(c, &arena, "  "));
    ck_assert_ptr_null(sp_crypto_email_index(c, &arena, NULL));
}
END_TEST

/* Values the index had before the canonical form (computed then, with
 * index key K3): an ASCII address must hash as it always did, or no
 * stored index would match again. */
#define ALICE_INDEX "d7f1bbafe6c02d934da010cdd4425f2a6f402d809d244f531cb0bf19c2b30013"
#define JUERGEN_ASCII_INDEX "c6fde304262fb867c1b353cf926ec513420c690a2999265d8f21c0259d647fb2"
#define JUERGEN_IDN_UPPER_INDEX "f76c5b1c6e86c1cc580130370d20d5527412acdf57f6dbacfe23a7ff110c8269"

START_TEST(email_index_of_an_ascii_address_is_the_one_stored_before)
{
    struct sp_crypto *c = ring("v1:" K1, K3);
    ck_assert_str_eq(sp_crypto_email_index(c, &arena, " Alice@Example.COM "), ALICE_INDEX);
    ck_assert_str_eq(sp_crypto_email_index_legacy(c, &arena, "alice@example.com"), ALICE_INDEX);
    ck_assert_str_eq(sp_crypto_email_index(c, &arena, "Juergen@XN--BCHER-KVA.example"),
                     JUERGEN_ASCII_INDEX);
}
END_TEST

START_TEST(email_index_of_an_idn_address_is_over_its_canonical_form)
{
    struct sp_crypto *c = ring("v1:" K1, K3);
    const char *stored = sp_crypto_email_index(c, &arena, "jürgen@bücher.example");
    ck_assert_str_eq(sp_crypto_email_index(c, &arena, "JÜRGEN@BÜCHER.EXAMPLE"), stored);
    ck_assert_str_eq(sp_crypto_email_index(c, &arena, "jürgen@xn--bcher-kva.example"), stored);
    /* an ASCII local part at an IDN domain: the index of its ASCII form */
    ck_assert_str_eq(sp_crypto_email_index(c, &arena, "juergen@Bücher.example"),
                     JUERGEN_ASCII_INDEX);
    /* the legacy index is the one computed before, and differs */
    const char *legacy = sp_crypto_email_index_legacy(c, &arena, "JÜRGEN@BÜCHER.EXAMPLE");
    ck_assert_str_eq(legacy, JUERGEN_IDN_UPPER_INDEX);
    ck_assert_str_ne(legacy, stored);
    ck_assert_ptr_null(sp_crypto_email_index_legacy(c, &arena, " "));
}
END_TEST

/* A contact stored before the canonical form holds the index of its
 * address as the token gave it: a lookup tries that of the address as
 * given, and of it with the domain in its Unicode and its xn-- form. */
START_TEST(a_lookup_by_email_tries_the_canonical_and_the_legacy_indexes)
{
    struct sp_crypto *c = ring("v1:" K1, K3);
    const char *idx[SP_CRYPTO_EMAIL_INDEXES];
    ck_assert_uint_eq(sp_crypto_email_indexes(c, &arena, "JÜRGEN@BÜCHER.EXAMPLE", idx), 4);
    ck_assert_str_eq(idx[0], sp_crypto_email_index(c, &arena, "jürgen@bücher.example"));
    ck_assert_str_eq(idx[1], JUERGEN_IDN_UPPER_INDEX);
    ck_assert_str_eq(idx[2], sp_crypto_email_index_legacy(c, &arena, "JÜRGEN@bücher.example"));
    ck_assert_str_eq(idx[3],
                     sp_crypto_email_index_legacy(c, &arena, "JÜRGEN@xn--bcher-kva.example"));
    /* what a bounce names finds a contact stored in the Unicode form */
    ck_assert_uint_eq(sp_crypto_email_indexes(c, &arena, "Zoe@XN--BCHER-KVA.example", idx), 3);
    ck_assert_str_eq(idx[0], sp_crypto_email_index(c, &arena, "zoe@bücher.example"));
    ck_assert_str_eq(idx[1], sp_crypto_email_index_legacy(c, &arena, "zoe@bücher.example"));
    ck_assert_str_ne(idx[0], idx[1]);
    /* and one stored with a root dot before the dot was dropped */
    ck_assert_uint_eq(sp_crypto_email_indexes(c, &arena, " Alice@Example.COM ", idx), 2);
    ck_assert_str_eq(idx[0], ALICE_INDEX);
    ck_assert_str_eq(idx[1], sp_crypto_email_index_legacy(c, &arena, "alice@example.com."));
    /* the root dot is no part of the canonical form */
    ck_assert_str_eq(sp_crypto_email_index(c, &arena, "Alice@Example.COM."), ALICE_INDEX);
    ck_assert_uint_eq(sp_crypto_email_indexes(c, &arena, " ", idx), 0);
    ck_assert_uint_eq(sp_crypto_email_indexes(c, &arena, NULL, idx), 0);
}
END_TEST

START_TEST(email_index_is_stable_across_rings_sharing_the_oldest_key)
{
    const char *before = sp_crypto_email_index(ring("v1:" K1, NULL), &arena, "alice@example.com");
    const char *after = sp_crypto_email_index(ring("v2:" K2 ",v1:" K1, NULL), &arena,
                                              "alice@example.com");
    const char *dropped = sp_crypto_email_index(ring("v2:" K2, NULL), &arena, "alice@example.com");
    ck_assert_str_eq(before, after);
    ck_assert_str_ne(before, dropped);
    /* never the encryption key itself */
    unsigned char raw[64];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)K1, 44);
    ck_assert_int_eq(n, 33);
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), raw, 32, (const unsigned char *)"alice@example.com", 17, mac, &maclen);
    char hexd[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hexd + 2 * i, 3, "%02x", mac[i]);
    ck_assert_str_ne(before, hexd);
}
END_TEST

/* HKDF-SHA256(ikm=K1, salt=none, info="support-pii-blind-index-v1"), then
 * HMAC-SHA256 of the email: computed independently (Python hmac/hashlib). */
START_TEST(derived_index_key_matches_the_hkdf_sha256_vector)
{
    ck_assert_str_eq(sp_crypto_email_index(ring("v1:" K1, NULL), &arena, "alice@example.com"),
                     "16f0de5fc5b371c3acf7dfa2d619c80eb7aa09b24fb33628b66c6d0c3b3dcc30");
}
END_TEST

START_TEST(explicit_index_key_is_used_as_is_and_ignores_the_ring)
{
    const char *expect = "d7f1bbafe6c02d934da010cdd4425f2a6f402d809d244f531cb0bf19c2b30013";
    ck_assert_str_eq(sp_crypto_email_index(ring("v1:" K1, K3), &arena, "alice@example.com"),
                     expect);
    ck_assert_str_eq(sp_crypto_email_index(ring("v2:" K2, K3), &arena, "Alice@example.com"),
                     expect);
    ck_assert_str_eq(sp_crypto_email_index(ring("v2:" K2, " " K3 "\n"), &arena,
                                           "alice@example.com"), expect);
    /* "" (or blank) means unset, as in the config loader */
    ck_assert_str_eq(sp_crypto_email_index(ring("v1:" K1, ""), &arena, "alice@example.com"),
                     "16f0de5fc5b371c3acf7dfa2d619c80eb7aa09b24fb33628b66c6d0c3b3dcc30");
}
END_TEST

/* The key --print-pii-index-key prints: the derived one (the HKDF vector
 * above, as base64: computed with Python's hmac/hashlib) or the one set;
 * set as SUPPORT_PII_INDEX_KEY beside a ring without the oldest key, it
 * keeps every email index (QA: "set SUPPORT_PII_INDEX_KEY first" gave no
 * way to know the value). */
START_TEST(the_index_key_in_force_set_again_keeps_every_index)
{
    char key[SP_CRYPTO_INDEX_KEY_B64];
    struct sp_crypto *old = ring("v2:" K2 ",v1:" K1, NULL);
    sp_crypto_index_key_b64(old, key);
    ck_assert_str_eq(key, "24rej27qDXGcD0zVdjqAXPvf+47R5mIGXDohfsX9VPI=");
    struct sp_crypto *rotated = ring("v3:" K3, key);
    const char *emails[] = {"alice@example.com", "Zoë@bücher.example"};
    for (size_t i = 0; i < 2; i++)
        ck_assert_str_eq(sp_crypto_email_index(rotated, &arena, emails[i]),
                         sp_crypto_email_index(old, &arena, emails[i]));
    ck_assert_str_ne(sp_crypto_email_index(ring("v3:" K3, NULL), &arena, emails[0]),
                     sp_crypto_email_index(old, &arena, emails[0]));
    sp_crypto_index_key_b64(rotated, key);
    ck_assert_str_eq(key, "24rej27qDXGcD0zVdjqAXPvf+47R5mIGXDohfsX9VPI=");
    sp_crypto_index_key_b64(ring("v1:" K1, " " K3 "\n"), key);
    ck_assert_str_eq(key, K3);
}
END_TEST

/* ---- purpose keys -------------------------------------------------------- */

/* HKDF-SHA256 (RFC 5869) of ikm with no salt (HashLen zero bytes) and
 * info, one block, computed here with plain HMAC. */
static void
hkdf_by_hand(const unsigned char ikm[32], const char *info, unsigned char out[32])
{
    unsigned char zeros[32] = {0}, prk[32], msg[128];
    unsigned int n = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), zeros, 32, ikm, 32, prk, &n));
    size_t len = strlen(info);
    ck_assert_uint_lt(len, sizeof(msg));
    memcpy(msg, info, len);
    msg[len] = 0x01;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), prk, 32, msg, len + 1, out, &n));
}

START_TEST(derived_key_is_hkdf_of_the_index_key_with_the_purpose)
{
    unsigned char k3[32], want[32], got[32], other[32];
    memset(k3, 0xa5, sizeof(k3));
    hkdf_by_hand(k3, "support-admin-login-csrf-v1", want);
    ck_assert(sp_crypto_derive_key(ring("v1:" K1, K3), "support-admin-login-csrf-v1", got));
    ck_assert_mem_eq(got, want, 32);
    /* the index key alone counts: any ring in front of it, the same key */
    ck_assert(sp_crypto_derive_key(ring("v2:" K2 ",v1:" K1, K3), "support-admin-login-csrf-v1",
                                   other));
    ck_assert_mem_eq(other, want, 32);
    /* another purpose, another index key: other keys */
    ck_assert(sp_crypto_derive_key(ring("v1:" K1, K3), "support-admin-login-csrf-v2", other));
    ck_assert_mem_ne(other, want, 32);
    ck_assert(sp_crypto_derive_key(ring("v1:" K1, K1), "support-admin-login-csrf-v1", other));
    ck_assert_mem_ne(other, want, 32);
    /* derived from the oldest key's index key when none is set: stable */
    ck_assert(sp_crypto_derive_key(ring("v1:" K1, NULL), "p", got));
    ck_assert(sp_crypto_derive_key(ring("v2:" K2 ",v1:" K1, NULL), "p", other));
    ck_assert_mem_eq(got, other, 32);
}
END_TEST

/* An email index is an HMAC under the index key itself and may sit in the
 * database: no purpose, spelled as an email, gives its key away. */
START_TEST(derived_key_is_no_email_index_and_needs_a_purpose)
{
    struct sp_crypto *c = ring("v1:" K1, K3);
    unsigned char key[32];
    ck_assert(sp_crypto_derive_key(c, "a@b.example", key));
    ck_assert_str_ne(sp_crypto_hex(&arena, key, 32),
                     sp_crypto_email_index(c, &arena, "a@b.example"));
    ck_assert(!sp_crypto_derive_key(c, "", key));
    ck_assert(!sp_crypto_derive_key(c, NULL, key));
}
END_TEST

/* ---- helpers ----------------------------------------------------------- */

START_TEST(equal_compares_contents_and_lengths)
{
    ck_assert(sp_crypto_equal("token", 5, "token", 5));
    ck_assert(!sp_crypto_equal("token", 5, "tokex", 5));
    ck_assert(!sp_crypto_equal("xoken", 5, "token", 5));
    ck_assert(!sp_crypto_equal("token", 5, "token2", 6));
    ck_assert(!sp_crypto_equal("token", 4, "token", 5));
    ck_assert(sp_crypto_equal("", 0, "", 0));
    ck_assert(sp_crypto_equal(NULL, 0, "", 0));
    ck_assert(!sp_crypto_equal("a\0b", 3, "a\0c", 3));
}
END_TEST

START_TEST(sha256_hex_matches_the_fips_vectors)
{
    ck_assert_str_eq(sp_crypto_sha256_hex(&arena, "abc", 3),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(sp_crypto_sha256_hex(&arena, "", 0),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(hmac_hex_matches_rfc_4231_and_truncates_to_the_digits_asked)
{
    /* RFC 4231 test case 2 */
    static const char msg[] = "what do ya want for nothing?";
    char out[65];
    memset(out, 'x', sizeof(out));
    sp_crypto_hmac_hex("Jefe", 4, msg, strlen(msg), out, 64);
    ck_assert_str_eq(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(out, 'x', sizeof(out));
    sp_crypto_hmac_hex("Jefe", 4, msg, strlen(msg), out, 20);
    ck_assert_str_eq(out, "5bdcc146bf60754e6a04");
}
END_TEST

/* ---- fingerprints ------------------------------------------------------ */

START_TEST(fingerprint_is_stable_for_the_same_values_and_current_key)
{
    const char *idx = K3;
    struct sp_crypto *a = ring("v1:" K1, idx), *b = ring("v1:" K1 ",old:" K2, idx);
    const char *v[3] = {"Ada", "ada@example.com", NULL};
    const char *fa = sp_crypto_fingerprint(a, &arena, v, 3);
    ck_assert_ptr_nonnull(fa);
    ck_assert_uint_eq(strlen(fa), 64);
    ck_assert_str_eq(sp_crypto_fingerprint(a, &arena, v, 3), fa);
    /* older keys in the ring do not matter, only the current one */
    ck_assert_str_eq(sp_crypto_fingerprint(b, &arena, v, 3), fa);
}
END_TEST

START_TEST(fingerprint_changes_with_any_value_absence_or_the_current_key)
{
    const char *idx = K3;
    struct sp_crypto *a = ring("v1:" K1, idx);
    const char *v[3] = {"Ada", "ada@example.com", NULL};
    const char *fa = sp_crypto_fingerprint(a, &arena, v, 3);
    const char *w[3] = {"Ada", "ada@example.com", ""};      /* absent vs empty */
    ck_assert_str_ne(sp_crypto_fingerprint(a, &arena, w, 3), fa);
    const char *x[3] = {"Ada", "ada@example.org", NULL};    /* another value */
    ck_assert_str_ne(sp_crypto_fingerprint(a, &arena, x, 3), fa);
    const char *y[3] = {"Adaada@example.com", "", NULL};    /* moved boundary */
    ck_assert_str_ne(sp_crypto_fingerprint(a, &arena, y, 3), fa);
    /* a new key in front: everything is to be sealed again */
    struct sp_crypto *rotated = ring("v2:" K2 ",v1:" K1, idx);
    ck_assert_str_ne(sp_crypto_fingerprint(rotated, &arena, v, 3), fa);
    /* another index key: another fingerprint */
    struct sp_crypto *other = ring("v1:" K1, K2);
    ck_assert_str_ne(sp_crypto_fingerprint(other, &arena, v, 3), fa);
}
END_TEST

static Suite *
crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_returns_the_plaintext_including_empty_and_10kb);
    tcase_add_test(tc, ciphertext_is_version_colon_base64_of_nonce_data_and_tag);
    tcase_add_test(tc, same_plaintext_encrypts_differently_each_time);
    tcase_add_test(tc, tampering_any_byte_of_the_ciphertext_is_rejected);
    tcase_add_test(tc, wrong_aad_is_rejected);
    tcase_add_test(tc, unknown_version_or_malformed_text_is_rejected);
    tcase_add_test(tc, a_value_that_does_not_open_is_logged_once_per_version);
    tcase_add_test(tc, old_ciphertext_decrypts_after_rotation_and_needs_rotation);
    tcase_add_test(tc, new_encryptions_use_the_first_key);
    tcase_add_test(tc, dropping_the_old_key_breaks_its_ciphertexts);
    tcase_add_test(tc, needs_rotation_compares_the_version_label_only);
    tcase_add_test(tc, spaces_around_entries_and_long_labels_are_accepted);
    tcase_add_test(tc, bad_rings_are_rejected_without_quoting_key_material);
    tcase_add_test(tc, whitespace_around_ring_entries_is_ignored);
    tcase_add_test(tc, ring_errors_say_which_entry_and_why);
    tcase_add_test(tc, email_index_is_64_lowercase_hex_and_normalizes_case_and_whitespace);
    tcase_add_test(tc, email_index_is_stable_across_rings_sharing_the_oldest_key);
    tcase_add_test(tc, email_index_of_an_ascii_address_is_the_one_stored_before);
    tcase_add_test(tc, email_index_of_an_idn_address_is_over_its_canonical_form);
    tcase_add_test(tc, a_lookup_by_email_tries_the_canonical_and_the_legacy_indexes);
    tcase_add_test(tc, derived_index_key_matches_the_hkdf_sha256_vector);
    tcase_add_test(tc, explicit_index_key_is_used_as_is_and_ignores_the_ring);
    tcase_add_test(tc, the_index_key_in_force_set_again_keeps_every_index);
    tcase_add_test(tc, derived_key_is_hkdf_of_the_index_key_with_the_purpose);
    tcase_add_test(tc, derived_key_is_no_email_index_and_needs_a_purpose);
    tcase_add_test(tc, equal_compares_contents_and_lengths);
    tcase_add_test(tc, sha256_hex_matches_the_fips_vectors);
    tcase_add_test(tc, hmac_hex_matches_rfc_4231_and_truncates_to_the_digits_asked);
    tcase_add_test(tc, fingerprint_is_stable_for_the_same_values_and_current_key);
    tcase_add_test(tc, fingerprint_changes_with_any_value_absence_or_the_current_key);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    /* The tests that tamper log pii_decrypt_failed lines: only the one
     * test that reads them (sp_unit_log_begin) sees them. */
    sp_log_set_level(SP_LOG_FATAL);
    return sp_unit_run(crypto_suite());
}
