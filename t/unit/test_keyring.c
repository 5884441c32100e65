/*
 * test_keyring: splitting "name:secret,..." key-ring settings
 * (src/core/keyring.c): what is accepted and how it splits, each refusal
 * with its exact text, and the TRIM and UNIQUE options; and the kept keys
 * (sp_keyring_keys_*): copies, lookup by name, freeing; a secret too short.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keyring.h"
#include "unit.h"

#define MAXE 2100

/* Rules like each setting's: SUPPORT_ENCRYPTION_KEYS (trim, unique),
 * SUPPORT_JWT_KEYS (visible kids, neither) and SUPPORT_ATTACHMENT_KEYS. */
static const struct sp_keyring_rules ENC = {
    .setting = "RING", .name_word = "version", .secret_word = "base64key", .name_max = 16,
    .name_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    .name_chars_text = "characters A-Z a-z 0-9 _ -", .flags = SP_KEYRING_TRIM | SP_KEYRING_UNIQUE,
};
static const struct sp_keyring_rules VISIBLE = {
    .setting = "JWT", .name_word = "kid", .secret_word = "secret", .name_max = 64,
    .name_chars = NULL, .name_chars_text = "visible characters",
};
static const struct sp_keyring_rules URL = {
    .setting = "URL", .name_word = "kid", .secret_word = "secret", .name_max = 64,
    .name_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
    .name_chars_text = "of A-Z a-z 0-9 - _ .", .flags = SP_KEYRING_UNIQUE,
};

/* What the callback saw: "name=secret" per entry, and their indexes. */
struct seen {
    char text[MAXE][160];
    size_t index[MAXE];
    size_t n, refuse_at;    /* refuse_at: 1-based index to refuse, 0 none */
};

static bool
collect(void *ctx, const struct sp_keyring_entry *e, char *err, size_t errlen)
{
    struct seen *s = ctx;
    ck_assert_uint_lt(s->n, MAXE);
    if (e->index == s->refuse_at) {
        snprintf(err, errlen, "refused %zu", e->index);
        return false;
    }
    snprintf(s->text[s->n], sizeof(s->text[0]), "%.*s=%.*s", (int)e->name_len, e->name,
             (int)e->secret_len, e->secret);
    s->index[s->n++] = e->index;
    return true;
}

static struct seen seen;
static char err[256];

static bool
run(const struct sp_keyring_rules *r, const char *spec)
{
    memset(&seen, 0, sizeof(seen));
    strcpy(err, "untouched");
    return sp_keyring_each(r, spec, collect, &seen, err, sizeof(err));
}

/* Accepted, splitting into the want entries (NULL-terminated). */
static void
accepts(const struct sp_keyring_rules *r, const char *spec, const char *const *want)
{
    ck_assert_msg(run(r, spec), "refused \"%s\": %s", spec, err);
    size_t n = 0;
    for (; want[n] != NULL; n++) {
        ck_assert_msg(n < seen.n, "\"%s\": only %zu entries", spec, seen.n);
        ck_assert_str_eq(seen.text[n], want[n]);
        ck_assert_uint_eq(seen.index[n], n + 1);
    }
    ck_assert_uint_eq(seen.n, n);
    ck_assert_uint_eq(sp_keyring_count(spec), n);
    ck_assert_str_eq(err, "untouched");
}

/* Refused with exactly want, after the callback saw `before` entries. */
static void
refuses(const struct sp_keyring_rules *r, const char *spec, const char *want, size_t before)
{
    ck_assert_msg(!run(r, spec), "accepted \"%s\"", spec);
    ck_assert_str_eq(err, want);
    ck_assert_uint_eq(seen.n, before);
}

#define ENTRIES(...) ((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(rings_split_into_name_and_secret_in_order)
{
    accepts(&URL, "a:s", ENTRIES("a=s"));
    accepts(&URL, "new:s2,old:s1,older:s0", ENTRIES("new=s2", "old=s1", "older=s0"));
    /* the secret runs to the next ',' and may hold ':' and spaces */
    accepts(&URL, "k:a:b::c d ,l: ", ENTRIES("k=a:b::c d ", "l= "));
    accepts(&VISIBLE, "k!#$%&*+/<=>?@[]^{|}~.:x", ENTRIES("k!#$%&*+/<=>?@[]^{|}~.=x"));
    /* an empty secret is the caller's to refuse */
    accepts(&URL, "a:,b:x", ENTRIES("a=", "b=x"));
    accepts(&ENC, "abcdefghijklmnop:k", ENTRIES("abcdefghijklmnop=k"));
    /* without UNIQUE, a repeated name reaches the caller */
    accepts(&VISIBLE, "k:1,k:2", ENTRIES("k=1", "k=2"));
}
END_TEST

START_TEST(malformed_entries_are_refused_by_number_without_quoting_them)
{
    const char *enc1 = "RING: entry 1 is not version:base64key "
                       "(version of 1-16 characters A-Z a-z 0-9 _ -)";
    refuses(&ENC, "", enc1, 0);
    refuses(&ENC, NULL, enc1, 0);
    refuses(&ENC, "supersecretwithoutaname", enc1, 0);
    refuses(&ENC, ":secret", enc1, 0);
    refuses(&ENC, "abcdefghijklmnopq:secret", enc1, 0);
    refuses(&ENC, "v.1:secret", enc1, 0);
    refuses(&ENC, ",v1:s", enc1, 0);
    const char *url2 = "URL: entry 2 is not kid:secret (kid of 1-64 of A-Z a-z 0-9 - _ .)";
    refuses(&URL, "a:s,", url2, 1);
    refuses(&URL, "a:s,,b:s", url2, 1);
    refuses(&URL, "a:s,b!:s", url2, 1);
    refuses(&URL, "a:s,bare-secret", url2, 1);
    char long_kid[80];
    snprintf(long_kid, sizeof(long_kid), "a:s,%065d:s", 0);
    refuses(&URL, long_kid, url2, 1);
    snprintf(long_kid, sizeof(long_kid), "a:s,%064d:s", 0);
    accepts(&URL, long_kid, ENTRIES("a=s", "0000000000000000000000000000000000000000000000000000000000000000=s"));
    const char *jwt3 = "JWT: entry 3 is not kid:secret (kid of 1-64 visible characters)";
    refuses(&VISIBLE, "a:s,b:s,k\x7f:s", "JWT: entry 3 holds a control character (a tab?) in"
                                          " its kid; entries are separated by ',' or line breaks",
            2);
    refuses(&VISIBLE, "a:s,b:s,k\xc3\xa9:s", jwt3, 2);
    refuses(&VISIBLE, "a:s,b:s,k k:s", jwt3, 2);
}
END_TEST

/* Line breaks separate entries as ',' does: a file of one key a line
 * (QA: "dev:<hex>\nk2:<hex>" was one key, its secret holding the rest). A
 * line break after a ',', blank lines, CRLF and those at the end separate
 * nothing more; an empty entry between two ',' is still refused. */
START_TEST(line_breaks_separate_entries_as_commas_do)
{
    accepts(&VISIBLE, "dev:abc\nk2:def", ENTRIES("dev=abc", "k2=def"));
    accepts(&VISIBLE, "dev:abc\nk2:def\n", ENTRIES("dev=abc", "k2=def"));
    accepts(&VISIBLE, "\r\ndev:abc\r\n\r\nk2:def\r\n", ENTRIES("dev=abc", "k2=def"));
    accepts(&URL, "a:1,\nb:2,\r\nc:3\nd:4", ENTRIES("a=1", "b=2", "c=3", "d=4"));
    accepts(&ENC, " v2:k2 \n\tv1:k1 \n", ENTRIES("v2=k2", "v1=k1"));
    const char *url2 = "URL: entry 2 is not kid:secret (kid of 1-64 of A-Z a-z 0-9 - _ .)";
    refuses(&URL, "a:s\n,b:s", url2, 1);
    refuses(&URL, "a:s,\n", url2, 1);
    refuses(&URL, "a:s\nbare-secret", url2, 1);
    refuses(&URL, "a:s\nb:1\na:2", "URL: kid \"a\" is used twice", 2);
    refuses(&VISIBLE, "\n", "JWT: entry 1 is not kid:secret (kid of 1-64 visible characters)", 0);
}
END_TEST

/* Any other control character in a name or a secret is refused, naming
 * the setting and the entry (never the secret): a tab or an escape
 * would become part of the key without a word. */
START_TEST(control_characters_in_names_and_secrets_are_refused)
{
    refuses(&VISIBLE, "a:s\tb:t", "JWT: the secret of kid \"a\" holds a control character (a"
                                  " tab?); entries are separated by ',' or line breaks", 0);
    refuses(&URL, "a:s,b:x\x01y", "URL: the secret of kid \"b\" holds a control character (a"
                                  " tab?); entries are separated by ',' or line breaks", 1);
    refuses(&ENC, "v1:a\tb", "RING: the base64key of version \"v1\" holds a control character"
                             " (a tab?); entries are separated by ',' or line breaks", 0);
    refuses(&VISIBLE, "a:s,\tb:t", "JWT: entry 2 holds a control character (a tab?) in its kid;"
                                   " entries are separated by ',' or line breaks", 1);
    refuses(&URL, "a\x1b:s", "URL: entry 1 holds a control character (a tab?) in its kid;"
                             " entries are separated by ',' or line breaks", 0);
    accepts(&ENC, "\tv1:k\t", ENTRIES("v1=k"));   /* TRIM: around the entry only */
}
END_TEST

START_TEST(unique_refuses_a_repeated_name_before_the_caller_sees_it)
{
    refuses(&URL, "a:s1,b:s2,a:s3", "URL: kid \"a\" is used twice", 2);
    refuses(&ENC, "v1:k, v2:k ,\tv1:other", "RING: version \"v1\" is used twice", 2);
    /* names compare whole, case-sensitively */
    accepts(&URL, "a:1,ab:2,A:3,b:4", ENTRIES("a=1", "ab=2", "A=3", "b=4"));
    /* the malformed-entry check comes first */
    refuses(&URL, "a:s,a", "URL: entry 2 is not kid:secret (kid of 1-64 of A-Z a-z 0-9 - _ .)", 1);
}
END_TEST

START_TEST(trim_ignores_whitespace_around_entries_only)
{
    accepts(&ENC, " v2:k2 ,\tv1:k1\r\n", ENTRIES("v2=k2", "v1=k1"));
    accepts(&ENC, "\v\fv1:a b", ENTRIES("v1=a b"));
    accepts(&ENC, "v1: k", ENTRIES("v1= k"));   /* not around the ':' */
    const char *enc2 = "RING: entry 2 is not version:base64key "
                       "(version of 1-16 characters A-Z a-z 0-9 _ -)";
    refuses(&ENC, "v1:k, v2 :k", enc2, 1);
    refuses(&ENC, "v1:k,  ", enc2, 1);
    refuses(&ENC, "v1:k, \t,v2:k", enc2, 1);
    /* without TRIM the whitespace is part of the name (refused) or secret */
    accepts(&URL, "a:k ,b: k", ENTRIES("a=k ", "b= k"));
    refuses(&URL, "a:k, b:k", "URL: entry 2 is not kid:secret (kid of 1-64 of A-Z a-z 0-9 - _ .)", 1);
    refuses(&VISIBLE, " a:k", "JWT: entry 1 is not kid:secret (kid of 1-64 visible characters)", 0);
}
END_TEST

START_TEST(a_refusal_by_the_caller_stops_the_walk_with_its_text)
{
    memset(&seen, 0, sizeof(seen));
    seen.refuse_at = 2;
    ck_assert(!sp_keyring_each(&URL, "a:1,b:2,c:3", collect, &seen, err, sizeof(err)));
    ck_assert_str_eq(err, "refused 2");
    ck_assert_uint_eq(seen.n, 1);
    /* a malformed entry after a refused one is never reached */
    memset(&seen, 0, sizeof(seen));
    seen.refuse_at = 1;
    ck_assert(!sp_keyring_each(&URL, "a:1,,", collect, &seen, err, sizeof(err)));
    ck_assert_str_eq(err, "refused 1");
}
END_TEST

START_TEST(errors_fit_the_buffer_and_never_hold_a_secret)
{
    const char *specs[] = { "v1:SeCrEtSeCrEt,v1:SeCrEtSeCrEt", "SeCrEtSeCrEt", "v1:SeCrEtSeCrEt,SeCrEtSeCrEt",
                            "v1:SeCrEtSeCrEt, v 1:SeCrEtSeCrEt" };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        ck_assert(!run(&ENC, specs[i]));
        ck_assert_msg(strstr(err, "SeCrEt") == NULL, "quotes a secret: %s", err);
    }
    char small[12];
    ck_assert(!sp_keyring_each(&ENC, "", collect, &seen, small, sizeof(small)));
    ck_assert_str_eq(small, "RING: entry");
}
END_TEST

START_TEST(long_rings_are_not_bounded_but_split_whole)
{
    static char spec[MAXE * 12];
    size_t n = 0;
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%sk%d:s%d", i ? "," : "", i, i);
    ck_assert(run(&URL, spec));
    ck_assert_uint_eq(seen.n, 2000);
    ck_assert_str_eq(seen.text[1999], "k1999=s1999");
    ck_assert_uint_eq(sp_keyring_count(spec), 2000);
    n += (size_t)snprintf(spec + n, sizeof(spec) - n, ",k7:again");
    refuses(&URL, spec, "URL: kid \"k7\" is used twice", 2000);
}
END_TEST

START_TEST(names_are_checked_alone_for_kids_read_elsewhere)
{
    ck_assert(sp_keyring_name_ok(&URL, "key-1_a.b", 9));
    ck_assert(!sp_keyring_name_ok(&URL, "", 0));
    ck_assert(!sp_keyring_name_ok(&URL, "a/b", 3));
    ck_assert(!sp_keyring_name_ok(&URL, "a\0b", 3));
    ck_assert(sp_keyring_name_ok(&VISIBLE, "!~", 2));
    ck_assert(!sp_keyring_name_ok(&VISIBLE, "a,b", 3));
    ck_assert(!sp_keyring_name_ok(&VISIBLE, "a:b", 3));
    ck_assert(!sp_keyring_name_ok(&VISIBLE, "a b", 3));
    ck_assert(!sp_keyring_name_ok(&VISIBLE, "a\0b", 3));
    ck_assert(!sp_keyring_name_ok(&ENC, "abcdefghijklmnopq", 17));
    ck_assert_uint_eq(sp_keyring_count(NULL), 1);
    ck_assert_uint_eq(sp_keyring_count(",,"), 3);
}
END_TEST

START_TEST(a_short_secret_is_refused_by_its_name_never_its_bytes)
{
    const struct sp_keyring_entry e = {"k1", "s3cret", 2, 6, 1};
    strcpy(err, "untouched");
    ck_assert(sp_keyring_secret_min(&VISIBLE, &e, 6, err, sizeof(err)));
    ck_assert_str_eq(err, "untouched");
    ck_assert(!sp_keyring_secret_min(&VISIBLE, &e, 7, err, sizeof(err)));
    ck_assert_str_eq(err, "JWT: the secret of kid \"k1\" is shorter than 7 bytes");
}
END_TEST

START_TEST(kept_keys_are_copies_found_by_name_in_order)
{
    struct sp_keyring_keys r = {0};
    char name[] = "v1xyz", secret[] = "first-secret";
    struct sp_keyring_key *k = sp_keyring_keys_add(&r, name, 2, secret, 5);
    k->use = 7;
    sp_keyring_keys_add(&r, NULL, 0, "\0pem\0", 5);
    sp_keyring_keys_add(&r, "v2", 2, "second", 6);
    memset(name, 'x', sizeof(name) - 1);
    memset(secret, 'x', sizeof(secret) - 1);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_str_eq(r.keys[0].name, "v1");
    ck_assert_uint_eq(r.keys[0].len, 5);
    ck_assert_str_eq((const char *)r.keys[0].material, "first");
    ck_assert_uint_eq(r.keys[0].use, 7);
    ck_assert_ptr_null(r.keys[1].name);
    ck_assert_uint_eq(r.keys[1].len, 5);
    ck_assert_mem_eq(r.keys[1].material, "\0pem\0", 6);   /* all bytes, then a NUL */
    ck_assert_uint_eq(r.keys[1].use, 0);
    ck_assert_ptr_eq(sp_keyring_keys_find(&r, "v2", 2), &r.keys[2]);
    ck_assert_ptr_eq(sp_keyring_keys_find(&r, "v1-not-this", 2), &r.keys[0]);
    ck_assert_ptr_null(sp_keyring_keys_find(&r, "v", 1));
    ck_assert_ptr_null(sp_keyring_keys_find(&r, "v10", 3));
    ck_assert_ptr_null(sp_keyring_keys_find(&r, "", 0));   /* the nameless key is not "" */
    sp_keyring_keys_free(&r);
    ck_assert_uint_eq(r.n, 0);
    ck_assert_ptr_null(r.keys);
    sp_keyring_keys_free(&r);   /* empty: nothing to do */
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("keyring");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, rings_split_into_name_and_secret_in_order);
    tcase_add_test(tc, malformed_entries_are_refused_by_number_without_quoting_them);
    tcase_add_test(tc, line_breaks_separate_entries_as_commas_do);
    tcase_add_test(tc, control_characters_in_names_and_secrets_are_refused);
    tcase_add_test(tc, unique_refuses_a_repeated_name_before_the_caller_sees_it);
    tcase_add_test(tc, trim_ignores_whitespace_around_entries_only);
    tcase_add_test(tc, a_refusal_by_the_caller_stops_the_walk_with_its_text);
    tcase_add_test(tc, errors_fit_the_buffer_and_never_hold_a_secret);
    tcase_add_test(tc, long_rings_are_not_bounded_but_split_whole);
    tcase_add_test(tc, names_are_checked_alone_for_kids_read_elsewhere);
    tcase_add_test(tc, a_short_secret_is_refused_by_its_name_never_its_bytes);
    tcase_add_test(tc, kept_keys_are_copies_found_by_name_in_order);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
