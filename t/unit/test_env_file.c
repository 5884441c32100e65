/*
 * test_env_file: the settings file read as systemd reads an
 * EnvironmentFile= (src/core/env_file.c; systemd.exec(5)'s rules): what
 * `set -a; . file` in cron's sh got wrong (an unquoted space, $ and `
 * expanded) and what it did not refuse.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env_file.h"
#include "unit.h"

static char got[4096];

/* Each assignment as "NAME=[value]\n". */
static void
collect(void *arg, const char *name, const char *value)
{
    (void)arg;
    size_t n = strlen(got);
    snprintf(got + n, sizeof(got) - n, "%s=[%s]\n", name, value);
}

static bool
parse(const char *text, char *err, size_t errlen)
{
    got[0] = '\0';
    return sp_env_file_parse(text, strlen(text), collect, NULL, err, errlen);
}

START_TEST(values_are_read_as_systemd_reads_them)
{
    const char *text =
        "# a comment\n"
        "; also a comment \\\n"
        "   \n"
        "SUPPORT_MAIL_FROM_NAME=Acme Support\n"
        "  SPACED  =   inner  spaces kept   \n"
        "SINGLE='it''s $HOME `x` \\n'\n"
        "DOUBLE=\"a \\\"q\\\" \\\\ \\$HOME \\` \\n x\"\n"
        "ESCAPED=a\\ b\\\\c\\$d\n"
        "JOINED=one \\\ntwo\n"
        "QUOTED_JOIN=\"one \\\ntwo\"\n"
        "MULTI='line1\nline2'\n"
        "EMPTY=\n"
        "MIXED='a b'  c\n"
        "QUOTES_INSIDE=it's \"fine\"\n"
        "HASH=value # not a comment\n"
        "CRLF=x\r\n"
        "LAST=no newline at the end";
    char err[256] = "";
    ck_assert_msg(parse(text, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(got, "SUPPORT_MAIL_FROM_NAME=[Acme Support]\n"
                          "SPACED=[inner  spaces kept]\n"
                          "SINGLE=[its $HOME `x` \\n]\n"
                          "DOUBLE=[a \"q\" \\ $HOME ` \\n x]\n"
                          "ESCAPED=[a b\\c$d]\n"
                          "JOINED=[one two]\n"
                          "QUOTED_JOIN=[one two]\n"
                          "MULTI=[line1\nline2]\n"
                          "EMPTY=[]\n"
                          "MIXED=[a bc]\n"
                          "QUOTES_INSIDE=[it's \"fine\"]\n"
                          "HASH=[value # not a comment]\n"
                          "CRLF=[x]\n"
                          "LAST=[no newline at the end]\n");
}
END_TEST

START_TEST(an_open_quote_ends_with_the_file)
{
    char err[256] = "";
    ck_assert(parse("A='open\nB=x\n", err, sizeof(err)));
    ck_assert_str_eq(got, "A=[open\nB=x\n]\n");
}
END_TEST

/* A name that is no variable name, text that is not UTF-8: refused with
 * the line, never the text (a value may be a secret). */
START_TEST(what_is_no_assignment_is_refused_by_its_line)
{
    char err[256];
    ck_assert(!parse("OK=1\n\n1ST=secret\n", err, sizeof(err)));
    ck_assert_str_eq(err, "line 3: not NAME=value with a NAME of letters, digits and _");
    ck_assert_str_eq(got, "OK=[1]\n");
    ck_assert(!parse("A=1\nMY NAME=secret\n", err, sizeof(err)));
    ck_assert_str_eq(err, "line 2: not NAME=value with a NAME of letters, digits and _");
    ck_assert(!parse("X=\"a\nb\"\nBAD-NAME=secret", err, sizeof(err)));
    ck_assert_str_eq(err, "line 3: not NAME=value with a NAME of letters, digits and _");
    /* no "=": a typo'd assignment would keep its default silently */
    ck_assert(!parse("A=1\nSUPPORT_AUTOCLOSE_DAYS 3\nB=2\n", err, sizeof(err)));
    ck_assert_str_eq(err, "line 2: not NAME=value with a NAME of letters, digits and _");
    ck_assert(!parse("A=1\n  LAST_WITHOUT_EQUALS", err, sizeof(err)));
    ck_assert_str_eq(err, "line 2: not NAME=value with a NAME of letters, digits and _");
    ck_assert(!parse("A=\xff\xfe secret\n", err, sizeof(err)));
    ck_assert_str_eq(err, "line 1: the value is not UTF-8");
    ck_assert(strstr(err, "secret") == NULL);
    const char nul[] = "A=x\0y\n";
    ck_assert(!sp_env_file_parse(nul, sizeof(nul) - 1, collect, NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "a NUL byte: not a text file");
}
END_TEST

/* Loaded into the environment over what was set; a missing file or a
 * refused one sets nothing and says which file and why. */
START_TEST(a_file_is_loaded_whole_or_not_at_all)
{
    char path[] = "/tmp/test_env_file.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "SP_T_ENV_A=Acme Support\nSP_T_ENV_B='$HOME'\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv("SP_T_ENV_A", "before", 1);
    char err[512];
    ck_assert_msg(sp_env_file_load(path, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(getenv("SP_T_ENV_A"), "Acme Support");
    ck_assert_str_eq(getenv("SP_T_ENV_B"), "$HOME");

    fd = open(path, O_WRONLY | O_TRUNC);
    text = "SP_T_ENV_A=changed\nnot a name=x\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert(!sp_env_file_load(path, err, sizeof(err)));
    ck_assert_str_eq(getenv("SP_T_ENV_A"), "Acme Support");
    ck_assert_msg(strncmp(err, "--env-file /tmp/test_env_file.", 30) == 0 &&
                      strstr(err, ": line 2: not NAME=value") != NULL, "%s", err);
    unlink(path);
    ck_assert(!sp_env_file_load(path, err, sizeof(err)));
    ck_assert_msg(strstr(err, ": cannot be read: No such file or directory") != NULL, "%s", err);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("env_file");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, values_are_read_as_systemd_reads_them);
    tcase_add_test(tc, an_open_quote_ends_with_the_file);
    tcase_add_test(tc, what_is_no_assignment_is_refused_by_its_line);
    tcase_add_test(tc, a_file_is_loaded_whole_or_not_at_all);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
