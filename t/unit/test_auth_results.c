/*
 * test_auth_results: Authentication-Results (RFC 8601) read
 * (src/core/auth_results.c): CFWS, quoted strings, versions, methods,
 * results, reasons and properties, "none", and what is unreadable; then
 * which header counts (the topmost of our authserv-id) and what it says
 * of the From domain (DMARC, else aligned DKIM or SPF). The domain
 * comparisons of core/mail_address it relies on are here too.
 */
#include <check.h>
#include <string.h>

#include "core/arena.h"
#include "core/auth_results.h"
#include "core/mail_address.h"
#include "unit.h"

SP_UNIT_ARENA_FIXTURE(8192)

#define OURS "mx.example.com"

static struct sp_auth_results
parsed(const char *v)
{
    struct sp_auth_results h;
    ck_assert_msg(sp_auth_results_parse(&arena, v, &h), "unreadable: %s", v);
    return h;
}

static bool
readable(const char *v)
{
    struct sp_auth_results h;
    return sp_auth_results_parse(&arena, v, &h);
}

START_TEST(a_typical_header_is_read)
{
    /* As Gmail writes it, unfolded. */
    struct sp_auth_results h = parsed(
        "mx.google.com; dkim=pass header.i=@example.com header.s=s1 header.b=Ab/c+D=;"
        " spf=pass (google.com: domain of zoe@example.com designates 192.0.2.1 as permitted"
        " sender) smtp.mailfrom=zoe@example.com;"
        " dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com");
    ck_assert_str_eq(h.authserv_id, "mx.google.com");
    ck_assert_uint_eq(h.n, 3);
    ck_assert_str_eq(h.v[0].method, "dkim");
    ck_assert_str_eq(h.v[0].result, "pass");
    ck_assert_uint_eq(h.v[0].nprops, 3);
    ck_assert_str_eq(sp_auth_result_prop(&h.v[0], "header", "i"), "@example.com");
    ck_assert_str_eq(sp_auth_result_prop(&h.v[0], "header", "b"), "Ab/c+D=");
    ck_assert_str_eq(sp_auth_result_prop(&h.v[1], "smtp", "mailfrom"), "zoe@example.com");
    ck_assert_str_eq(h.v[2].method, "dmarc");
    ck_assert_str_eq(sp_auth_result_prop(&h.v[2], "header", "from"), "example.com");
    ck_assert_ptr_null(sp_auth_result_prop(&h.v[2], "header", "d"));
}
END_TEST

START_TEST(cfws_quoted_strings_and_versions_are_read)
{
    /* Comments (nested, with quoted-pairs) between any two tokens,
     * versions after the id and the method, keywords in any case, a
     * quoted id and values. */
    struct sp_auth_results h = parsed(
        " (top) \"mx.example.com\" (x) 1 ; (c) DKIM (a (b) \\) c) / 1 = (r) Pass"
        " reason = \"good sig; really\" Header (h) . (d) D = (v) \"exa;mple.com\" ;"
        " spf=fail smtp.mailfrom=\"a;dmarc=pass\"@evil.example ; ");
    ck_assert_str_eq(h.authserv_id, OURS);
    ck_assert_uint_eq(h.n, 2);
    ck_assert_str_eq(h.v[0].method, "dkim");
    ck_assert_str_eq(h.v[0].result, "pass");
    ck_assert_str_eq(h.v[0].reason, "good sig; really");
    ck_assert_str_eq(sp_auth_result_prop(&h.v[0], "header", "d"), "exa;mple.com");
    ck_assert_str_eq(h.v[1].result, "fail");
    ck_assert_str_eq(sp_auth_result_prop(&h.v[1], "smtp", "mailfrom"), "a;dmarc=pass@evil.example");
    /* A property without its ptype, as Microsoft writes "action=none" */
    h = parsed("x; dmarc=pass action=none header.from=example.com; compauth=pass reason=100");
    ck_assert_str_eq(sp_auth_result_prop(&h.v[0], "", "action"), "none");
    ck_assert_str_eq(h.v[1].reason, "100");
}
END_TEST

START_TEST(none_is_no_result)
{
    struct sp_auth_results h = parsed(OURS "; none");
    ck_assert_uint_eq(h.n, 0);
    h = parsed(OURS " 1 ;  NONE (nothing checked) ");
    ck_assert_uint_eq(h.n, 0);
    ck_assert(!readable(OURS "; none; spf=pass"));
    ck_assert(!readable(OURS "; spf=pass; none"));
}
END_TEST

START_TEST(malformed_values_are_unreadable)
{
    struct sp_auth_results h;
    ck_assert(!sp_auth_results_parse(&arena, "", &h));
    ck_assert_ptr_null(h.authserv_id);
    ck_assert(!sp_auth_results_parse(&arena, NULL, &h));
    ck_assert(!sp_auth_results_parse(&arena, "(unclosed " OURS "; spf=pass", &h));
    ck_assert_ptr_null(h.authserv_id);
    /* The id is read, the rest is not: unreadable, but known as ours. */
    ck_assert(!sp_auth_results_parse(&arena, OURS, &h));
    ck_assert_str_eq(h.authserv_id, OURS);
    ck_assert(!readable(OURS ";"));
    ck_assert(!readable(OURS "; spf"));
    ck_assert(!readable(OURS "; spf="));
    ck_assert(!readable(OURS "; =pass"));
    ck_assert(!readable(OURS "; spf=pass smtp.mailfrom"));
    ck_assert(!readable(OURS "; spf=pass smtp.=x"));
    ck_assert(!readable(OURS "; spf=pass (unclosed"));
    ck_assert(!readable(OURS "; spf=pass smtp.mailfrom=\"unclosed"));
    ck_assert(!readable(OURS "; spf=pass @=x"));
    ck_assert(!readable(OURS " junk; spf=pass"));
    ck_assert(!readable("\"unclosed; spf=pass"));
}
END_TEST

/* ---- the verdict ---------------------------------------------------------- */

static const char *
verdict_of(const char *const *headers, size_t n, const char *from)
{
    return sp_auth_verdict_name(sp_auth_results_verdict(&arena, headers, n, OURS, from));
}

static const char *
verdict(const char *header, const char *from)
{
    return verdict_of(&header, 1, from);
}

START_TEST(dmarc_decides_when_it_gave_a_verdict)
{
    ck_assert_str_eq(verdict(OURS "; dmarc=pass header.from=example.com", "zoe@example.com"),
                     "dmarc_pass");
    ck_assert_str_eq(verdict(OURS "; dmarc=pass header.from=Example.COM", "zoe@example.com"),
                     "dmarc_pass");
    ck_assert_str_eq(verdict("MX.Example.Com; dmarc=pass header.from=EXAMPLE.com.",
                             "zoe@example.com"), "dmarc_pass");
    /* A pass for another From domain is no pass for this one. */
    ck_assert_str_eq(verdict(OURS "; dmarc=pass header.from=evil.example", "zoe@example.com"),
                     "dmarc_not_pass");
    /* fail, temperror, permerror: refused even with an aligned dkim pass */
    ck_assert_str_eq(verdict(OURS "; dmarc=fail; dkim=pass header.d=example.com",
                             "zoe@example.com"), "dmarc_not_pass");
    ck_assert_str_eq(verdict(OURS "; dmarc=temperror header.from=example.com", "zoe@example.com"),
                     "dmarc_not_pass");
    ck_assert_str_eq(verdict(OURS ";spf=pass smtp.mailfrom=example.com;dmarc=permerror",
                             "zoe@example.com"), "dmarc_not_pass");
    /* Every dmarc result must pass: a second one saying fail wins. */
    ck_assert_str_eq(verdict(OURS "; dmarc=pass; dmarc=fail", "zoe@example.com"),
                     "dmarc_not_pass");
    ck_assert_str_eq(verdict(OURS "; dmarc=fail; dmarc=pass", "zoe@example.com"),
                     "dmarc_not_pass");
    /* A From without a domain is vouched for by nothing. */
    ck_assert_str_eq(verdict(OURS "; dmarc=pass header.from=example.com", "zoe@"),
                     "dmarc_not_pass");
    ck_assert_str_eq(verdict(OURS "; dmarc=pass", ""), "dmarc_not_pass");
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=example.com", NULL), "not_aligned");
}
END_TEST

/* QA: a mail that holds two Froms (one after a bare CR or a NUL) was
 * checked by DMARC for the attacker's domain, which passed, and read by
 * us as a customer's: a dmarc=pass that does not say which From domain
 * passed vouches for no From. It is no verdict: an aligned dkim or spf
 * pass may still vouch, else the mail is refused (not_aligned). */
START_TEST(a_dmarc_pass_without_header_from_is_no_verdict)
{
    static const struct {
        const char *results, *verdict;
    } cases[] = {
        {"dmarc=pass", "not_aligned"},
        {"dmarc=pass (p=reject) action=none", "not_aligned"},
        {"dmarc=pass header.from=", "not_aligned"},
        {"spf=pass smtp.mailfrom=evil.test; dmarc=pass", "not_aligned"},
        {"dmarc=pass; dkim=pass header.d=qa-mail.test", "dkim_pass"},
        {"dmarc=pass; spf=pass smtp.mailfrom=qa-mail.test", "spf_pass"},
        /* one that names it still passes; a failing one still refuses */
        {"dmarc=pass; dmarc=pass header.from=qa-mail.test", "dmarc_pass"},
        {"dmarc=pass; dmarc=fail; dkim=pass header.d=qa-mail.test", "dmarc_not_pass"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *h = sp_arena_sprintf(&arena, OURS "; %s", cases[i].results);
        ck_assert_msg(strcmp(verdict(h, "c3@qa-mail.test"), cases[i].verdict) == 0, "%s: %s", h,
                      verdict(h, "c3@qa-mail.test"));
    }
}
END_TEST

START_TEST(without_dmarc_an_aligned_dkim_or_spf_pass_vouches)
{
    const char *from = "zoe@mail.example.com";
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=mail.example.com", from), "dkim_pass");
    /* A parent domain of two labels or more (relaxed alignment) */
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=Example.Com", from), "dkim_pass");
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.i=@example.com", from), "dkim_pass");
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.i=x@example.com", from), "dkim_pass");
    ck_assert_str_eq(verdict(OURS "; spf=pass smtp.mailfrom=bounce@example.com", from),
                     "spf_pass");
    ck_assert_str_eq(verdict(OURS "; spf=pass smtp.mailfrom=mail.example.com", from),
                     "spf_pass");
    /* dmarc=none (no policy published) is no verdict */
    ck_assert_str_eq(verdict(OURS "; dmarc=none; spf=pass smtp.mailfrom=example.com", from),
                     "spf_pass");
    /* Not aligned: a top-level domain, a subdomain, a look-alike, another domain */
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=com", from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=com.", from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=.com", from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=x.mail.example.com", from),
                     "not_aligned");
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=ail.example.com", from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=evil.example", from), "not_aligned");
    /* header.d decides over header.i; no domain at all */
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=evil.example header.i=@example.com",
                             from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=", from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; dkim=pass", from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; spf=pass smtp.helo=mail.example.com", from),
                     "not_aligned");
    /* Not a pass */
    ck_assert_str_eq(verdict(OURS "; dkim=fail header.d=example.com;"
                             " spf=softfail smtp.mailfrom=example.com", from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; dkim=neutral header.d=example.com", from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; iprev=pass policy.iprev=192.0.2.1", from), "not_aligned");
    ck_assert_str_eq(verdict(OURS "; none", from), "not_aligned");
    /* Any aligned pass among several signatures */
    ck_assert_str_eq(verdict(OURS "; dkim=pass header.d=esp.example;"
                             " dkim=pass header.d=example.com", from), "dkim_pass");
}
END_TEST

/* RFC 8601 §5: only our authserv-id, and only the topmost of ours. */
START_TEST(only_the_topmost_header_of_ours_counts)
{
    const char *from = "zoe@example.com";
    const char *other_pass[] = {"evil.example; dmarc=pass header.from=example.com"};
    ck_assert_str_eq(verdict_of(other_pass, 1, from), "no_header");
    ck_assert_str_eq(verdict_of(NULL, 0, from), "no_header");
    /* Ours says fail; one below it (older, the sender's) says pass. */
    const char *forged_below[] = {"relay.example; dmarc=pass", OURS "; dmarc=fail",
                                  OURS "; dmarc=pass header.from=example.com"};
    ck_assert_str_eq(verdict_of(forged_below, 3, from), "dmarc_not_pass");
    const char *ours_passes[] = {"relay.example; dmarc=fail",
                                 "mx.EXAMPLE.com; dmarc=pass header.from=example.com",
                                 OURS "; dmarc=fail"};
    ck_assert_str_eq(verdict_of(ours_passes, 3, from), "dmarc_pass");
    /* Ours unreadable: refused, never the next one of ours */
    const char *unreadable[] = {OURS "; dmarc=pass (unclosed", OURS "; dmarc=pass"};
    ck_assert_str_eq(verdict_of(unreadable, 2, from), "unreadable");
    /* An id that only starts like ours is another's. */
    const char *longer[] = {OURS ".evil; dmarc=pass", OURS "x; dmarc=pass"};
    ck_assert_str_eq(verdict_of(longer, 2, from), "no_header");
    ck_assert(sp_auth_verdict_trusted(SP_AUTH_DMARC_PASS));
    ck_assert(sp_auth_verdict_trusted(SP_AUTH_DKIM_PASS));
    ck_assert(sp_auth_verdict_trusted(SP_AUTH_SPF_PASS));
    ck_assert(!sp_auth_verdict_trusted(SP_AUTH_NO_HEADER));
    ck_assert(!sp_auth_verdict_trusted(SP_AUTH_UNREADABLE));
    ck_assert(!sp_auth_verdict_trusted(SP_AUTH_DMARC_NOT_PASS));
    ck_assert(!sp_auth_verdict_trusted(SP_AUTH_NOT_ALIGNED));
}
END_TEST

START_TEST(an_idn_domain_aligns_in_its_unicode_and_its_xn_form)
{
    /* From's domain as a U-label, the MTA's as the A-label, and the
     * reverse; case does not matter in either form */
    static const struct {
        const char *header, *from, *verdict;
    } cases[] = {
        {OURS "; dmarc=pass header.from=xn--bcher-kva.example", "jo@bücher.example", "dmarc_pass"},
        {OURS "; dmarc=pass header.from=bücher.example", "jo@xn--bcher-kva.example", "dmarc_pass"},
        {OURS "; dmarc=pass header.from=XN--BCHER-KVA.Example.", "jo@BÜCHER.example",
         "dmarc_pass"},
        {OURS "; dmarc=pass header.from=jo@BÜCHER.example", "jo@xn--bcher-kva.example",
         "dmarc_pass"},
        {OURS "; dkim=pass header.d=xn--bcher-kva.example", "jo@bücher.example", "dkim_pass"},
        {OURS "; dkim=pass header.i=@bücher.example", "jo@xn--bcher-kva.example", "dkim_pass"},
        {OURS "; dkim=pass header.d=bücher.example", "jo@mail.xn--bcher-kva.example",
         "dkim_pass"},
        {OURS "; spf=pass smtp.mailfrom=b@xn--bcher-kva.example", "jo@bücher.example",
         "spf_pass"},
        {OURS "; spf=pass smtp.mailfrom=mail.bücher.example", "jo@mail.xn--bcher-kva.example",
         "spf_pass"},
        /* another domain in either form is still refused: bucher is not
         * bücher, ß is not ss (non-transitional), a subdomain does not
         * vouch for its parent */
        {OURS "; dmarc=pass header.from=bucher.example", "jo@bücher.example", "dmarc_not_pass"},
        {OURS "; dmarc=pass header.from=xn--bcher-kva.example", "jo@bucher.example",
         "dmarc_not_pass"},
        {OURS "; dmarc=pass header.from=strasse.example", "jo@straße.example", "dmarc_not_pass"},
        {OURS "; dmarc=pass header.from=xn--bcher-kva.evil", "jo@bücher.example",
         "dmarc_not_pass"},
        {OURS "; dkim=pass header.d=xn--bcher-kva.example", "jo@xn--bcher-kvb.example",
         "not_aligned"},
        {OURS "; dkim=pass header.d=mail.bücher.example", "jo@xn--bcher-kva.example",
         "not_aligned"},
        {OURS "; spf=pass smtp.mailfrom=b@xn--bcher-kva.example", "jo@bücher.evil",
         "not_aligned"},
        /* no IDNA name: compared as written, so it matches no A-label */
        {OURS "; dmarc=pass header.from=xn--bcher-kva.example", "jo@-bücher.example",
         "dmarc_not_pass"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *v = verdict(cases[i].header, cases[i].from);
        ck_assert_msg(strcmp(v, cases[i].verdict) == 0, "%s, From %s: %s", cases[i].header,
                      cases[i].from, v);
    }
}
END_TEST

START_TEST(domains_compare_as_dns_does)
{
    ck_assert(sp_mail_domain_same("Example.COM.", "example.com"));
    ck_assert(!sp_mail_domain_same("", ""));
    ck_assert(!sp_mail_domain_same("example.co", "example.com"));
    ck_assert(sp_mail_domain_within("a.b.Example.com", "example.COM."));
    ck_assert(sp_mail_domain_within("example.com", "example.com"));
    ck_assert(!sp_mail_domain_within("badexample.com", "example.com"));
    ck_assert(!sp_mail_domain_within("example.com", "a.example.com"));
    ck_assert(!sp_mail_domain_within("example.com", ""));
    ck_assert(!sp_mail_domain_within("", "com"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("auth_results");
    TCase *tc = tcase_create("auth_results");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_typical_header_is_read);
    tcase_add_test(tc, cfws_quoted_strings_and_versions_are_read);
    tcase_add_test(tc, none_is_no_result);
    tcase_add_test(tc, malformed_values_are_unreadable);
    tcase_add_test(tc, dmarc_decides_when_it_gave_a_verdict);
    tcase_add_test(tc, a_dmarc_pass_without_header_from_is_no_verdict);
    tcase_add_test(tc, without_dmarc_an_aligned_dkim_or_spf_pass_vouches);
    tcase_add_test(tc, only_the_topmost_header_of_ours_counts);
    tcase_add_test(tc, an_idn_domain_aligns_in_its_unicode_and_its_xn_form);
    tcase_add_test(tc, domains_compare_as_dns_does);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
