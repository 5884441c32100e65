/*
 * unit: what every unit test program shares.
 */
#ifndef SP_T_UNIT_H
#define SP_T_UNIT_H

#include <check.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"

/* The per-test arena most unit tests allocate from: defines `arena` and
 * the checked fixture `setup`/`teardown` that makes and frees it
 * (tcase_add_checked_fixture(tc, setup, teardown)). */
#define SP_UNIT_ARENA_FIXTURE(size)                                                          \
    static struct sp_arena arena;                                                            \
    static void setup(void) { sp_arena_init(&arena, (size)); }                               \
    static void teardown(void) { sp_arena_destroy(&arena); }

/* The log (stderr) of what runs between sp_unit_log_begin() and
 * sp_unit_log_end(): lines of level info and above, read into out (cap
 * bytes, NUL-terminated; at least one byte must have been logged). The
 * level is fatal after, so later tests' output stays clean. */
struct sp_unit_log {
    int read_fd, saved_fd;
};

static inline struct sp_unit_log
sp_unit_log_begin(void)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    struct sp_unit_log l = {fds[0], dup(2)};
    dup2(fds[1], 2);
    close(fds[1]);
    sp_log_set_level(SP_LOG_INFO);
    return l;
}

static inline void
sp_unit_log_end(struct sp_unit_log l, char *out, size_t cap)
{
    sp_log_set_level(SP_LOG_FATAL);
    dup2(l.saved_fd, 2);   /* the pipe's last writer gone: read() sees its end */
    close(l.saved_fd);
    ssize_t n = read(l.read_fd, out, cap - 1);
    close(l.read_fd);
    ck_assert_int_gt(n, 0);
    out[n] = '\0';
}

/* Runs the suite (freeing it) and returns the program's exit status. */
static inline int
sp_unit_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
