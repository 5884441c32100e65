/*
 * test_names: the key display names are compared by and the platform's
 * own sender names no agent may take (src/core/names.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/names.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(8192)

static const char *
key(const char *s)
{
    return sp_name_key(&arena, s);
}

START_TEST(names_a_customer_reads_alike_have_one_key)
{
    ck_assert_str_eq(key("Anna"), "anna");
    ck_assert_str_eq(key("ANNA"), key("anna"));
    ck_assert_str_eq(key("Anna Smith"), key("anna  smith"));
    ck_assert_str_eq(key("Anna Smith"), key("Anna-Smith"));
    ck_assert_str_eq(key("Zoë"), key("Zoe"));                  /* precomposed */
    ck_assert_str_eq(key("Zoe\xcc\x88"), key("Zoe"));          /* e + U+0308 */
    ck_assert_str_eq(key("\xef\xbc\xa1nna"), key("Anna"));     /* fullwidth Ａ */
    ck_assert_str_eq(key("Stra\xc3\x9f" "e"), key("STRASSE")); /* ß folds to ss */
    ck_assert_str_eq(key("An\xe2\x80\x8bna"), key("Anna"));    /* zero-width space */
    ck_assert_str_eq(key("An\xc2\xadna"), key("Anna"));        /* soft hyphen */
    ck_assert_str_eq(key("\xef\xac\x81" "fi"), "fifi");        /* the ﬁ ligature */
    /* what stays apart */
    ck_assert_str_ne(key("Anna"), key("Hanna"));
    ck_assert_str_ne(key("Ali"), key("All"));
    ck_assert_str_eq(key("..."), "");
    ck_assert_ptr_null(key("\xff"));
    ck_assert_ptr_null(key(NULL));
}
END_TEST

START_TEST(letters_of_other_scripts_that_look_latin_are_latin)
{
    ck_assert_str_eq(key("Syst\xd0\xb5m"), "system");          /* Cyrillic е */
    ck_assert_str_eq(key("\xd0\xa1\xd0\x90\xd0\x9c"), "cam");  /* Cyrillic САМ */
    ck_assert_str_eq(key("\xce\x91\xce\xbd\xce\xbd\xce\xb1"), "avva");  /* Greek Αννα */
    ck_assert_str_eq(key("B0B"), key("bob"));
    ck_assert_str_eq(key("Pau1"), key("Paul"));
    ck_assert_str_eq(key("Arnold"), key("Amold"));
    /* a letter with no Latin look-alike stays itself */
    ck_assert_str_eq(key("\xd0\x96"), "\xd0\xb6");             /* Ж folds to ж */
}
END_TEST

START_TEST(the_platforms_sender_names_are_reserved)
{
    ck_assert_str_eq(sp_name_reserved(&arena, "System", NULL), "System");
    ck_assert_str_eq(sp_name_reserved(&arena, " system ", NULL), "System");
    ck_assert_str_eq(sp_name_reserved(&arena, "SYSTEM", NULL), "System");
    ck_assert_str_eq(sp_name_reserved(&arena, "S.y.s.t.e.m", NULL), "System");
    ck_assert_str_eq(sp_name_reserved(&arena, "Syst\xd0\xb5m", NULL), "System");
    ck_assert_str_eq(sp_name_reserved(&arena, "\xf0\x9d\x90\x92ystem", NULL), "System");  /* 𝐒 */
    ck_assert_str_eq(sp_name_reserved(&arena, "System notice", NULL), "System");
    ck_assert_str_eq(sp_name_reserved(&arena, "Support", NULL), "Support");
    ck_assert_str_eq(sp_name_reserved(&arena, "Support Team Security", NULL), "Support");
    ck_assert_str_eq(sp_name_reserved(&arena, "our support team", NULL), "Our support team");
    ck_assert_str_eq(sp_name_reserved(&arena, "Assistant", NULL), "Assistant");
    ck_assert_str_eq(sp_name_reserved(&arena, "AI Assistant", NULL), "AI assistant");
    ck_assert_str_eq(sp_name_reserved(&arena, "agent", NULL), "Agent");
    ck_assert_str_eq(sp_name_reserved(&arena, "Customer", NULL), "Customer");
    /* the mail's From name, with what follows it */
    ck_assert_str_eq(sp_name_reserved(&arena, "ACME help", "Acme Help"), "Acme Help");
    ck_assert_str_eq(sp_name_reserved(&arena, "Acme Help Desk", "Acme Help"), "Acme Help");
    /* a person's name is not */
    ck_assert_ptr_null(sp_name_reserved(&arena, "Anna", "Acme Help"));
    ck_assert_ptr_null(sp_name_reserved(&arena, "Anna from Support", NULL));
    ck_assert_ptr_null(sp_name_reserved(&arena, "Agent Smith", NULL));
    ck_assert_ptr_null(sp_name_reserved(&arena, "Systems Sam", NULL));
    ck_assert_ptr_null(sp_name_reserved(&arena, "Supporter", NULL));
    ck_assert_ptr_null(sp_name_reserved(&arena, "Acme", "Acme Help"));
    ck_assert_ptr_null(sp_name_reserved(&arena, "...", NULL));
    ck_assert_ptr_null(sp_name_reserved(&arena, "Anna", ""));
}
END_TEST

START_TEST(a_fold_makes_one_form_of_each_name)
{
    /* é precomposed (NFC) and e + combining acute (NFD), either case */
    const char *nfc = sp_name_fold(&arena, "caf\xc3\xa9", 5);
    ck_assert_str_eq(nfc, "caf\xc3\xa9");
    ck_assert_str_eq(sp_name_fold(&arena, "cafe\xcc\x81", 6), nfc);
    ck_assert_str_eq(sp_name_fold(&arena, "CAF\xc3\x89", 5), nfc);
    ck_assert_str_eq(sp_name_fold(&arena, "CAFE\xcc\x81", 6), nfc);
    /* beyond A-Z: Greek, German sharp s (full folding) */
    ck_assert_str_eq(sp_name_fold(&arena, "\xce\xa3\xce\x9f\xce\xa6", 6),
                     "\xcf\x83\xce\xbf\xcf\x86");
    ck_assert_str_eq(sp_name_fold(&arena, "Stra\xc3\x9f" "e", 7), "strasse");
    ck_assert_str_eq(sp_name_fold(&arena, "Billing-EU", 10), "billing-eu");
    /* only n bytes; not UTF-8 is NULL */
    ck_assert_str_eq(sp_name_fold(&arena, "ABC", 2), "ab");
    ck_assert_ptr_null(sp_name_fold(&arena, "caf\xc3", 4));
}
END_TEST

/* QA: a reserved name with a symbol run on, or written with blank-looking
 * characters between its words, passed and showed as the reserved name. */
START_TEST(decorations_and_blank_looking_characters_hide_no_reserved_name)
{
    static const char *const system[] = {
        "System\u2122", "System\u00ae", "System\u00a9", "System\u2713", "System\u2605",
        "System\u00b2", "System\u2081", "System\U0001F6E1", "System\u00b0", "System$",
        "System\u20ac", "System\u1d40\u1d39", "System^", "Sys\u2800tem",
        "System\u2800notice", "System\u3164notice", "System\u115fnotice",
        "System\u1160notice", "System\uffa0notice", "Sys\u2063tem",
    };
    for (size_t i = 0; i < sizeof(system) / sizeof(system[0]); i++)
        ck_assert_msg(sp_name_reserved(&arena, system[i], NULL) != NULL &&
                          strcmp(sp_name_reserved(&arena, system[i], NULL), "System") == 0,
                      "%s", system[i]);
    ck_assert_str_eq(sp_name_reserved(&arena, "Support\u2122", NULL), "Support");
    ck_assert_str_eq(sp_name_reserved(&arena, "Support\u2120", NULL), "Support");
    ck_assert_str_eq(sp_name_reserved(&arena, "Support\U0001F642", NULL), "Support");
    ck_assert_str_eq(sp_name_reserved(&arena, "Customer\u2122", NULL), "Customer");
    ck_assert_str_eq(sp_name_reserved(&arena, "Agent\u2713", NULL), "Agent");
    ck_assert_str_eq(sp_name_reserved(&arena, "Our\u2800support\u2800team", NULL),
                     "Our support team");
    /* a person's name with a decoration is that name */
    ck_assert_ptr_null(sp_name_reserved(&arena, "Anna from Support \u2605", NULL));
    ck_assert_str_eq(key("Anna \u2605"), key("Anna"));
    ck_assert_str_eq(key("Zo\u00eb\U0001F642"), "zoe");
    /* nothing but decorations and punctuation: no key to compare */
    ck_assert_str_eq(key("\u2605"), "");
    ck_assert_str_eq(key("\U0001F642\U0001F642"), "");
    ck_assert_str_eq(key("\u2014"), "");
    ck_assert_str_eq(key("\u2800"), "");
}
END_TEST

/* QA: a skill kept an inner zero-width space and a fullwidth one was not
 * the plain one; both looked like the skill and matched nothing. */
START_TEST(a_compat_fold_drops_invisibles_and_makes_compatibility_forms_plain)
{
    const char *s = "tech\u200bnical";
    ck_assert_str_eq(sp_name_fold_compat(&arena, s, strlen(s)), "technical");
    s = "\uff46\uff55\uff4c\uff4c";   /* fullwidth ｆｕｌｌ */
    ck_assert_str_eq(sp_name_fold_compat(&arena, s, strlen(s)), "full");
    s = "Tech\u00adni\u2060cal\u3164";
    ck_assert_str_eq(sp_name_fold_compat(&arena, s, strlen(s)), "technical");
    s = "CAFE\u200b\u0301";   /* the invisible between letter and accent goes first */
    ck_assert_str_eq(sp_name_fold_compat(&arena, s, strlen(s)), "caf\u00e9");
    ck_assert_str_eq(sp_name_fold_compat(&arena, "Stra\u00dfe", 7), "strasse");
    ck_assert_str_eq(sp_name_fold_compat(&arena, "Billing-EU", 10), "billing-eu");
    ck_assert_ptr_null(sp_name_fold_compat(&arena, "\u200b", 3));
    ck_assert_ptr_null(sp_name_fold_compat(&arena, "caf\xc3", 4));
    /* the exact fold keeps them: mail local parts are matched as written */
    s = "tech\u200bnical";
    ck_assert_str_eq(sp_name_fold(&arena, s, strlen(s)), s);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("names");
    TCase *tc = tcase_create("display");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, names_a_customer_reads_alike_have_one_key);
    tcase_add_test(tc, letters_of_other_scripts_that_look_latin_are_latin);
    tcase_add_test(tc, the_platforms_sender_names_are_reserved);
    tcase_add_test(tc, a_fold_makes_one_form_of_each_name);
    tcase_add_test(tc, decorations_and_blank_looking_characters_hide_no_reserved_name);
    tcase_add_test(tc, a_compat_fold_drops_invisibles_and_makes_compatibility_forms_plain);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(suite());
}
