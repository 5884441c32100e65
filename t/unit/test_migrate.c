/*
 * test_migrate: the pure half of the migration runner (src/db/migrate.c):
 * which file names are migrations, and the sorted, duplicate-free list of a
 * directory. Applying them needs a database and is covered by the
 * integration suite.
 */
#include <check.h>
#include <ftw.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/migrate.h"
#include "unit.h"

static char scratch[64]; /* made by main(), removed by main() even after failures */
static char dir[128];
static char err[512];
static struct sp_migration *list;
static size_t n;

static void
touch(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_msg(fd >= 0, "cannot create %s", path);
    ck_assert_int_eq(write(fd, "SELECT 1;\n", 10), 10);
    close(fd);
}

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "%s/XXXXXX", scratch);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    list = NULL;
    n = 0;
    err[0] = '\0';
}

static void
teardown(void)
{
    free(list);
    list = NULL;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- sp_migration_version ----------------------------------------------- */

START_TEST(version_is_the_three_digit_prefix)
{
    ck_assert_int_eq(sp_migration_version("001_init.sql"), 1);
    ck_assert_int_eq(sp_migration_version("010_x-y.sql"), 10);
    ck_assert_int_eq(sp_migration_version("123_add_sla_policies.sql"), 123);
    ck_assert_int_eq(sp_migration_version("999_last.sql"), 999);
    ck_assert_int_eq(sp_migration_version("002_a.sql"), 2);
    ck_assert_int_eq(sp_migration_version("042_Mixed_Case-9.sql"), 42);
}
END_TEST

START_TEST(version_rejects_names_that_are_not_migrations)
{
    /* clang-format off */
    static const char *const bad[] = {
        "1_init.sql",        /* too few digits */
        "01_init.sql",
        "001init.sql",       /* no underscore */
        "001-init.sql",
        "001_init.sql.bak",  /* editor/backup leftovers */
        "001_init.sql~",
        "001_init.SQL",
        "001_init.sq",
        "001_init",
        "abc_x.sql",
        "0a1_x.sql",
        "001_.sql",          /* no name */
        "001_a b.sql",       /* characters that need quoting */
        "001_a'b.sql",
        "001_a.b.sql",
        ".001_init.sql",
        "",
        ".",
        "..",
        "README.md",
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(sp_migration_version(bad[i]) == -1, "accepted \"%s\" as version %d", bad[i],
                      sp_migration_version(bad[i]));
}
END_TEST

START_TEST(version_zero_is_not_a_migration)
{
    /* sp_migrate() treats version 0 as "nothing applied" and skips every
     * file whose version is <= the current one, so a 000_*.sql file would
     * be listed yet silently never run. */
    ck_assert_int_eq(sp_migration_version("000_init.sql"), -1);
}
END_TEST

/* ---- sp_migrations_list ------------------------------------------------- */

START_TEST(list_is_sorted_by_version)
{
    touch("010_ten.sql");
    touch("002_two.sql");
    touch("100_hundred.sql");
    touch("001_one.sql");
    touch("003_three.sql");
    ck_assert_msg(sp_migrations_list(dir, &list, &n, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(n, 5);
    static const struct {
        int v;
        const char *name;
    } want[] = {
        {1, "001_one.sql"},  {2, "002_two.sql"},       {3, "003_three.sql"},
        {10, "010_ten.sql"}, {100, "100_hundred.sql"},
    };
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(list[i].version, want[i].v);
        ck_assert_str_eq(list[i].name, want[i].name);
    }
}
END_TEST

START_TEST(list_ignores_files_that_are_not_migrations)
{
    touch("001_init.sql");
    touch("001_init.sql.bak");
    touch("README.md");
    touch("1_short.sql");
    touch("002init.sql");
    touch("notes.txt");
    touch("003_ok.sql");
    ck_assert_msg(sp_migrations_list(dir, &list, &n, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].name, "001_init.sql");
    ck_assert_str_eq(list[1].name, "003_ok.sql");
}
END_TEST

START_TEST(list_grows_past_its_initial_capacity)
{
    for (int i = 60; i >= 1; i--) {
        char name[32];
        snprintf(name, sizeof(name), "%03d_m%d.sql", i, i);
        touch(name);
    }
    ck_assert_msg(sp_migrations_list(dir, &list, &n, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(n, 60);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(list[i].version, (int)i + 1);
}
END_TEST

START_TEST(empty_directory_is_an_empty_list)
{
    touch("README.md");
    ck_assert_msg(sp_migrations_list(dir, &list, &n, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(duplicate_versions_are_refused_naming_both_files)
{
    touch("001_init.sql");
    touch("002_users.sql");
    touch("005_a.sql");
    touch("002_tickets.sql");
    ck_assert(!sp_migrations_list(dir, &list, &n, err, sizeof(err)));
    ck_assert_ptr_null(list);
    ck_assert_uint_eq(n, 0);
    ck_assert_msg(strstr(err, "002_users.sql") != NULL, "error does not name 002_users.sql: %s",
                  err);
    ck_assert_msg(strstr(err, "002_tickets.sql") != NULL, "error does not name 002_tickets.sql: %s",
                  err);
}
END_TEST

START_TEST(missing_directory_is_refused)
{
    char missing[256];
    snprintf(missing, sizeof(missing), "%s/does-not-exist", dir);
    list = (struct sp_migration *)0x1; /* must be reset, not left dangling */
    n = 99;
    ck_assert(!sp_migrations_list(missing, &list, &n, err, sizeof(err)));
    ck_assert_ptr_null(list);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_gt(strlen(err), 0);
    ck_assert_msg(strstr(err, "does-not-exist") != NULL, "error does not name the dir: %s", err);
}
END_TEST

START_TEST(the_shipped_migrations_list_cleanly)
{
    /* sql/ of the source tree: what support-migrate will run. */
    ck_assert_msg(sp_migrations_list(SP_SRCDIR "/sql", &list, &n, err, sizeof(err)), "%s", err);
    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(list[0].version, 1);
    for (size_t i = 1; i < n; i++)
        ck_assert_int_gt(list[i].version, list[i - 1].version);
}
END_TEST

static Suite *
migrate_suite(void)
{
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("version");
    tcase_add_test(tc, version_is_the_three_digit_prefix);
    tcase_add_test(tc, version_rejects_names_that_are_not_migrations);
    tcase_add_test(tc, version_zero_is_not_a_migration);
    suite_add_tcase(s, tc);

    tc = tcase_create("list");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, list_is_sorted_by_version);
    tcase_add_test(tc, list_ignores_files_that_are_not_migrations);
    tcase_add_test(tc, list_grows_past_its_initial_capacity);
    tcase_add_test(tc, empty_directory_is_an_empty_list);
    tcase_add_test(tc, duplicate_versions_are_refused_naming_both_files);
    tcase_add_test(tc, missing_directory_is_refused);
    tcase_add_test(tc, the_shipped_migrations_list_cleanly);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    snprintf(scratch, sizeof(scratch), "/tmp/sp-test-migrate-XXXXXX");
    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    int status = sp_unit_run(migrate_suite());
    nftw(scratch, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return status;
}
