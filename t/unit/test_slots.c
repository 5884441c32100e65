/*
 * test_slots: node-wide slots as locked files (src/core/slots.c): at most
 * n are held at once, across processes; one given back, or one whose
 * holder died, is free again; a set whose files cannot be made says so.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/slots.h"
#include "unit.h"

static char dir[64];

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/sp-test-slots-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void
teardown(void)
{
    nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

START_TEST(at_most_n_are_held_and_a_released_one_is_free_again)
{
    int a, b, c;
    ck_assert_int_eq(sp_slot_take(dir, "ai", 2, &a), SP_SLOT_TAKEN);
    ck_assert_int_eq(sp_slot_take(dir, "ai", 2, &b), SP_SLOT_TAKEN);
    ck_assert_int_eq(sp_slot_take(dir, "ai", 2, &c), SP_SLOT_FULL);
    ck_assert_int_eq(c, -1);
    /* Another set in the same directory counts apart. */
    int other;
    ck_assert_int_eq(sp_slot_take(dir, "other", 1, &other), SP_SLOT_TAKEN);
    sp_slot_release(other);
    sp_slot_release(a);
    ck_assert_int_eq(sp_slot_take(dir, "ai", 2, &c), SP_SLOT_TAKEN);
    sp_slot_release(b);
    sp_slot_release(c);
    sp_slot_release(-1);   /* nothing */
}
END_TEST

/* Another process holds the only slot: full here; once it has died
 * (without giving it back) the slot is free. */
START_TEST(a_dead_holders_slot_is_free)
{
    int go[2], held[2];
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(held), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd;
        char c = sp_slot_take(dir, "ai", 1, &fd) == SP_SLOT_TAKEN ? 'y' : 'n';
        if (write(held[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
            _exit(2);
        _exit(0);   /* dies holding it */
    }
    char c = 0;
    ck_assert_int_eq(read(held[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    int fd;
    ck_assert_int_eq(sp_slot_take(dir, "ai", 1, &fd), SP_SLOT_FULL);
    ck_assert_int_eq(write(go[1], "x", 1), 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(sp_slot_take(dir, "ai", 1, &fd), SP_SLOT_TAKEN);
    sp_slot_release(fd);
    close(go[0]), close(go[1]), close(held[0]), close(held[1]);
}
END_TEST

START_TEST(a_set_that_cannot_be_made_fails)
{
    int fd;
    errno = 0;
    ck_assert_int_eq(sp_slot_take("/nonexistent/sp-test", "ai", 2, &fd), SP_SLOT_FAILED);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(the_directory_of_a_path)
{
    char out[32];
    ck_assert_str_eq(sp_slot_dir_of("/run/support-api/api.sock", out, sizeof(out)),
                     "/run/support-api");
    ck_assert_str_eq(sp_slot_dir_of("var/run/support-api.sock", out, sizeof(out)), "var/run");
    ck_assert_str_eq(sp_slot_dir_of("api.sock", out, sizeof(out)), ".");
    ck_assert_str_eq(sp_slot_dir_of("/api.sock", out, sizeof(out)), "/");
    ck_assert_ptr_null(sp_slot_dir_of("/a/very/long/directory/name/here/x", out, 8));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("slots");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, at_most_n_are_held_and_a_released_one_is_free_again);
    tcase_add_test(tc, a_dead_holders_slot_is_free);
    tcase_add_test(tc, a_set_that_cannot_be_made_fails);
    tcase_add_test(tc, the_directory_of_a_path);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
