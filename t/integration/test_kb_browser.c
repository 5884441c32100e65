/*
 * test_kb_browser: the knowledge-base admin pages (API.md §8 "Admin page
 * mechanics") in a real browser. Runs t/integration/browser_check.py,
 * which drives headless Chromium over the DevTools protocol: sign in with
 * a support_admin JWT pasted into the form, the list, a new article typed
 * into the form whose live preview must render (admin.js under the page
 * CSP), save, the edit page (its notice shown once; a 120-emoji title;
 * Back after Save loads it afresh; a preview too long to render says so),
 * the list again, then
 * the same pages at a 390px phone width, and the preview once the session
 * has ended (a message, never the sign-in page); it fails on any console error, uncaught exception,
 * CSP violation or failed request of a page or its CSS/JS, and checks that
 * an inline script is blocked and reported.
 *
 * Screenshots (PNG), report.json and chromium.log go to
 * $SP_TEST_OUTPUT_DIR (t/integration/run: <builddir>/t/integration/output/
 * test_kb_browser/), kept after the run.
 *
 * Without /usr/bin/chromium (or $SP_BROWSER_CHROMIUM) the program skips
 * (77), unless SP_TEST_REQUIRE_BROWSER=1 (scripts/dev test sets it, so CI
 * cannot pass without the browser check).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *
chromium(void)
{
    const char *b = getenv("SP_BROWSER_CHROMIUM");
    return b != NULL && *b != '\0' ? b : "/usr/bin/chromium";
}

static const char *
output_dir(void)
{
    const char *d = getenv("SP_TEST_OUTPUT_DIR");
    if (d != NULL && *d != '\0')
        return d;
    const char *stack = getenv("SP_TEST_STACK_DIR");
    return sp_t_fmt("%s/test_kb_browser", stack != NULL ? stack : "/tmp");
}

/* Single-quoted for sh. */
static const char *
shq(const char *s)
{
    const char *out = "'";
    for (const char *c = s; *c; c++)
        out = *c == '\'' ? sp_t_fmt("%s'\\''", out) : sp_t_fmt("%s%c", out, *c);
    return sp_t_fmt("%s'", out);
}

/* A PNG of some size at dir/name.png. */
static void
assert_png(const char *dir, const char *name)
{
    const char *path = sp_t_fmt("%s/%s.png", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "no screenshot %s", path);
    unsigned char sig[8] = {0};
    size_t n = fread(sig, 1, sizeof(sig), f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ck_assert_msg(n == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0, "%s is not a PNG", path);
    ck_assert_msg(size > 2000, "%s is only %ld bytes", path, size);
}

START_TEST(admin_pages_in_chromium)
{
    const char *top = getenv("SP_TEST_TOP_SRCDIR"), *base = getenv("SP_TEST_BASE_URL");
    ck_assert_ptr_nonnull(top);
    ck_assert_ptr_nonnull(base);
    const char *out = output_dir();
    ck_assert_int_eq(setenv("SP_BROWSER_ADMIN_TOKEN", sp_t_admin_token(), 1), 0);
    /* The longest title there is, one word of 200 characters: the list
     * must still fit a phone's width (it made the page 1311 px wide). */
    struct sp_t_resp *r = sp_t_admin_post(
        "/support/admin/articles",
        sp_t_fmt("{\"slug\":%s,\"title\":\"%s\",\"content_markdown\":\"x\"}",
                 sp_t_jq(sp_t_unique("longtitle")), sp_t_repeat("W", 200)));
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    const char *cmd = sp_t_fmt("python3 %s %s %s 2>&1",
                               shq(sp_t_fmt("%s/t/integration/browser_check.py", top)), shq(base),
                               shq(out));
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[4096];
    while (fgets(line, sizeof(line), p) != NULL)
        fprintf(stderr, "browser: %s", line);
    int status = pclose(p);
    ck_assert_msg(WIFEXITED(status), "browser_check.py did not exit (status %d)", status);
    ck_assert_msg(WEXITSTATUS(status) == 0,
                  "browser_check.py failed (exit %d): see the FAIL lines above, the screenshots"
                  " and report.json in %s",
                  WEXITSTATUS(status), out);
    static const char *const shots[] = {"01-login",       "02-list-before", "03-new-with-preview",
                                        "04-edit",        "05-list",        "06-list-phone",
                                        "07-edit-phone",  "08-login-phone",
                                        "09-session-ended"};
    for (size_t i = 0; i < sizeof(shots) / sizeof(shots[0]); i++)
        assert_png(out, shots[i]);
}
END_TEST

int
main(void)
{
    if (access(chromium(), X_OK) != 0) {
        const char *req = getenv("SP_TEST_REQUIRE_BROWSER");
        fprintf(stderr, "test_kb_browser: no browser at %s (apt-get install chromium)\n",
                chromium());
        return req != NULL && strcmp(req, "1") == 0 ? EXIT_FAILURE : 77;
    }
    Suite *s = suite_create("kb_browser");
    TCase *tc = sp_t_tcase(s, "browser");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, admin_pages_in_chromium);
    return sp_t_run(s);
}
