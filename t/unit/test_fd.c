/*
 * test_fd: whole writes and small files read whole (src/core/fd.c): a
 * file at the bound is read, one byte past it is refused, and a path
 * that cannot be opened is told apart from one that cannot be read.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fd.h"
#include "unit.h"

static char path[64];

/* n bytes of c into a fresh temp file, written with sp_fd_write_all. */
static const char *
write_tmp(char c, size_t n)
{
    char *data = malloc(n + 1);
    ck_assert_ptr_nonnull(data);
    memset(data, c, n);
    snprintf(path, sizeof(path), "/tmp/sp-test-fd-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert(sp_fd_write_all(fd, data, n));
    close(fd);
    free(data);
    return path;
}

static void
teardown(void)
{
    if (path[0] != '\0')
        unlink(path);
    path[0] = '\0';
}

START_TEST(a_file_up_to_max_is_read_whole_with_a_nul_after_it)
{
    char *out = (char *)"untouched";
    size_t len = 99;
    ck_assert_int_eq(sp_fd_read_file(write_tmp('k', 100000), 100000, &out, &len), SP_FD_READ_OK);
    ck_assert_uint_eq(len, 100000);
    ck_assert_uint_eq(strspn(out, "k"), 100000);
    ck_assert_int_eq(out[len], '\0');
    free(out);
    ck_assert_int_eq(sp_fd_read_file(write_tmp('k', 0), 10, &out, &len), SP_FD_READ_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(a_file_one_byte_over_max_is_refused)
{
    char *out = (char *)"untouched";
    size_t len = 99;
    ck_assert_int_eq(sp_fd_read_file(write_tmp('k', 65536), 65535, &out, &len),
                     SP_FD_READ_FAILED);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(unopened_and_unreadable_are_told_apart)
{
    char *out;
    size_t len;
    errno = 0;
    ck_assert_int_eq(sp_fd_read_file("/nonexistent/sp-test/keys", 10, &out, &len),
                     SP_FD_READ_UNOPENED);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(sp_fd_read_file("/tmp", 10, &out, &len), SP_FD_READ_FAILED);   /* EISDIR */
    ck_assert_ptr_null(out);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("fd");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, a_file_up_to_max_is_read_whole_with_a_nul_after_it);
    tcase_add_test(tc, a_file_one_byte_over_max_is_refused);
    tcase_add_test(tc, unopened_and_unreadable_are_told_apart);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
