/*
 * test_config: the settings table and its loader (src/core/config.c).
 * Unset settings take their documented defaults; a bad one stops the load
 * with a message naming the variable (every bad one, in one bounded
 * message) and never its value; secrets may come
 * from NAME_FILE (NAME and NAME_FILE both set are refused).
 */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/s3.h"
#include "unit.h"

extern char **environ;

static struct sp_config cfg;
static char err[256];
static char scratch[64]; /* made by main(), removed by main() even after failures */
static char tmpfile_path[128];

/* Every SUPPORT_* variable of the test's environment is removed, so the
 * tests see only what they set. */
static void
clear_support_env(void)
{
    for (;;) {
        char name[256] = "";
        for (char **e = environ; e != NULL && *e != NULL; e++) {
            if (strncmp(*e, "SUPPORT_", 8) == 0) {
                size_t n = strcspn(*e, "=");
                if (n < sizeof(name)) {
                    memcpy(name, *e, n);
                    name[n] = '\0';
                    break;
                }
            }
        }
        if (name[0] == '\0')
            return;
        unsetenv(name);
    }
}

static void
setup(void)
{
    clear_support_env();
    memset(&cfg, 0, sizeof(cfg));
    err[0] = '\0';
    tmpfile_path[0] = '\0';
}

static void
teardown(void)
{
    sp_config_free(&cfg);
    if (tmpfile_path[0] != '\0')
        unlink(tmpfile_path);
    clear_support_env();
}

/* Writes content to a fresh temp file; its path is in tmpfile_path. */
static const char *
write_tmp(const char *content, size_t len)
{
    snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/XXXXXX", scratch);
    int fd = mkstemp(tmpfile_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
    close(fd);
    return tmpfile_path;
}

static const char *
write_tmp_str(const char *content)
{
    return write_tmp(content, strlen(content));
}

/* The default worker count: cores x 4 (docs/performance.md "Worker
 * count"), within the 256 the setting allows. */
static long
default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    n = (n > 0 ? n : 1) * 4;
    return n < 256 ? n : 256;
}

static void
assert_refused_naming(const char *var, const char *value)
{
    ck_assert_msg(!sp_config_load(&cfg, err, sizeof(err)), "%s=%s accepted", var, value);
    ck_assert_msg(strstr(err, var) != NULL, "message does not name %s: %s", var, err);
    if (value != NULL && *value != '\0')
        ck_assert_msg(strstr(err, value) == NULL, "message shows the value: %s", err);
}

START_TEST(unset_settings_take_their_defaults)
{
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.database_url, "dbname=support");
    ck_assert_str_eq(cfg.listen, "var/run/support-api.sock");
    ck_assert_int_eq(cfg.workers, default_workers());
    ck_assert_int_eq(cfg.listen_backlog, 0);
    ck_assert_int_eq(cfg.listen_mode, 0660);
    ck_assert_ptr_null(cfg.listen_group);
    ck_assert_ptr_null(cfg.jwt_keys);
    ck_assert_ptr_null(cfg.jwt_public_keys_file);
    ck_assert_ptr_null(cfg.jwt_issuer);
    ck_assert_ptr_null(cfg.jwt_audience);
    /* The installed tree's (Makefile.am: $(datadir)/support); this
     * program is not in $(bindir), so no relocation (t/shell/test_install.sh
     * runs an installed copy). */
    ck_assert_str_eq(cfg.migrations_dir, SP_DATADIR "/sql");
    ck_assert_str_eq(cfg.templates_dir, SP_DATADIR "/templates");
    ck_assert_int_eq(cfg.max_body_bytes, 1048576);
    ck_assert_str_eq(cfg.log_level, "info");
    ck_assert_int_eq(cfg.db_statement_timeout_ms, 5000);
}
END_TEST

START_TEST(empty_values_count_as_unset)
{
    setenv("SUPPORT_LISTEN", "", 1);
    setenv("SUPPORT_MAX_BODY_BYTES", "", 1);
    setenv("SUPPORT_JWT_ISSUER", "", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.listen, "var/run/support-api.sock");
    ck_assert_int_eq(cfg.max_body_bytes, 1048576);
    ck_assert_ptr_null(cfg.jwt_issuer);
}
END_TEST

START_TEST(set_values_are_read)
{
    setenv("SUPPORT_DATABASE_URL", "postgresql://db/support", 1);
    setenv("SUPPORT_LISTEN", "/run/support/api.sock", 1);
    setenv("SUPPORT_WORKERS", "4", 1);
    setenv("SUPPORT_LISTEN_BACKLOG", "511", 1);
    setenv("SUPPORT_JWT_KEYS", "k1:0123456789abcdef0123456789abcdef", 1);
    setenv("SUPPORT_JWT_ISSUER", "https://idp.example", 1);
    setenv("SUPPORT_JWT_AUDIENCE", "support", 1);
    setenv("SUPPORT_MIGRATIONS_DIR", "/opt/support/sql", 1);
    setenv("SUPPORT_MAX_BODY_BYTES", "2048", 1);
    setenv("SUPPORT_LOG_LEVEL", "debug", 1);
    setenv("SUPPORT_DB_STATEMENT_TIMEOUT_MS", "0", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.database_url, "postgresql://db/support");
    ck_assert_str_eq(cfg.listen, "/run/support/api.sock");
    ck_assert_int_eq(cfg.workers, 4);
    ck_assert_int_eq(cfg.listen_backlog, 511);
    ck_assert_str_eq(cfg.jwt_keys, "k1:0123456789abcdef0123456789abcdef");
    ck_assert_str_eq(cfg.jwt_issuer, "https://idp.example");
    ck_assert_str_eq(cfg.jwt_audience, "support");
    ck_assert_str_eq(cfg.migrations_dir, "/opt/support/sql");
    ck_assert_int_eq(cfg.max_body_bytes, 2048);
    ck_assert_str_eq(cfg.log_level, "debug");
    ck_assert_int_eq(cfg.db_statement_timeout_ms, 0);
}
END_TEST

/* The bucket: off without SUPPORT_S3_BUCKET; with it, its endpoint and
 * keys are required (named in the message) and the endpoint is a base
 * URL; complete, the store points at the settings. */
START_TEST(s3_settings_are_all_or_nothing)
{
    struct sp_s3 s3;
    bool on = true;
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert(sp_config_s3(&cfg, &s3, &on, err, sizeof(err)));
    ck_assert(!on);
    sp_config_free(&cfg);
    setenv("SUPPORT_S3_BUCKET", "tickets", 1);
    setenv("SUPPORT_S3_ENDPOINT", "https://s3.example", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert(!sp_config_s3(&cfg, &s3, &on, err, sizeof(err)));
    ck_assert_str_eq(err, "SUPPORT_S3_BUCKET is set: SUPPORT_S3_ACCESS_KEY_ID is required too");
    sp_config_free(&cfg);
    setenv("SUPPORT_S3_ACCESS_KEY_ID", "AKID", 1);
    setenv("SUPPORT_S3_SECRET_ACCESS_KEY", "secret", 1);
    setenv("SUPPORT_S3_ENDPOINT", "https://s3.example/", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert(!sp_config_s3(&cfg, &s3, &on, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "SUPPORT_S3_ENDPOINT"));
    sp_config_free(&cfg);
    setenv("SUPPORT_S3_ENDPOINT", "http://127.0.0.1:9000", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_msg(sp_config_s3(&cfg, &s3, &on, err, sizeof(err)), "%s", err);
    ck_assert(on);
    ck_assert_str_eq(s3.endpoint, "http://127.0.0.1:9000");
    ck_assert_str_eq(s3.bucket, "tickets");
    ck_assert_str_eq(s3.region, "us-east-1");
    ck_assert_str_eq(s3.secret_access_key, "secret");
    ck_assert_str_eq(cfg.s3_prefix, "attachments/");
}
END_TEST

START_TEST(strings_are_copies_owned_by_the_config)
{
    setenv("SUPPORT_LISTEN", "/run/support/api.sock", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    setenv("SUPPORT_LISTEN", "/run/other.sock", 1);
    ck_assert_str_eq(cfg.listen, "/run/support/api.sock");
}
END_TEST

START_TEST(integer_bounds_are_inclusive)
{
    setenv("SUPPORT_MAX_BODY_BYTES", "1024", 1);
    setenv("SUPPORT_WORKERS", "256", 1);
    setenv("SUPPORT_LISTEN_BACKLOG", "65535", 1);
    setenv("SUPPORT_DB_STATEMENT_TIMEOUT_MS", "600000", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(cfg.max_body_bytes, 1024);
    ck_assert_int_eq(cfg.workers, 256);
    sp_config_free(&cfg);
    setenv("SUPPORT_MAX_BODY_BYTES", "67108864", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(cfg.max_body_bytes, 64L * 1024 * 1024);
}
END_TEST

START_TEST(integer_above_range_is_refused_naming_the_variable_not_the_value)
{
    setenv("SUPPORT_MAX_BODY_BYTES", "67108865", 1);
    assert_refused_naming("SUPPORT_MAX_BODY_BYTES", "67108865");
}
END_TEST

START_TEST(log_level_is_read_or_refused_naming_the_variable)
{
    enum sp_log_level level;
    setenv("SUPPORT_LOG_LEVEL", "warn", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert(sp_config_log_level(&cfg, &level, err, sizeof(err)));
    ck_assert_int_eq(level, SP_LOG_WARN);
    sp_config_free(&cfg);
    setenv("SUPPORT_LOG_LEVEL", "loud", 1);
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    ck_assert_str_eq(err, "SUPPORT_LOG_LEVEL: expected debug, info, warn or error");
}
END_TEST

/* Every bad setting is named in the one message, in the table's order,
 * with the checks made after the table (channels, log level): one
 * start-up says all that must be fixed (it named the first only). */
START_TEST(every_bad_setting_is_named_at_once)
{
    static const char *const bad[][2] = {
        {"SUPPORT_WORKERS", "-3"},           {"SUPPORT_DB_STATEMENT_TIMEOUT_MS", "never"},
        {"SUPPORT_JWT_KEYS_FILE", "/nonexistent/sp-test/keys"},
        {"SUPPORT_CUSTOMER_CHANNELS", "fax"}, {"SUPPORT_LOG_LEVEL", "loud"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        setenv(bad[i][0], bad[i][1], 1);
    char big[1024];
    ck_assert(!sp_config_load(&cfg, big, sizeof(big)));
    static const char *const named[] = {"SUPPORT_WORKERS: ", "SUPPORT_DB_STATEMENT_TIMEOUT_MS: ",
                                        "SUPPORT_JWT_KEYS_FILE: cannot open file",
                                        "SUPPORT_CUSTOMER_CHANNELS: item 1",
                                        "SUPPORT_LOG_LEVEL: expected"};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        ck_assert_msg(strstr(big, named[i]) != NULL, "%s not named: %s", named[i], big);
    ck_assert_msg(strstr(big, "never") == NULL && strstr(big, "fax") == NULL &&
                  strstr(big, "loud") == NULL, "a value is shown: %s", big);
    ck_assert_str_eq(strstr(big, "SUPPORT_CUSTOMER_CHANNELS"),
                     "SUPPORT_CUSTOMER_CHANNELS: item 1 is not one of email, sms, push;"
                     " SUPPORT_LOG_LEVEL: expected debug, info, warn or error");
    ck_assert_ptr_null(cfg.jwt_keys);   /* the settings read are freed */
}
END_TEST

/* The message stays within its buffer: the settings that fit, whole, then
 * "; …" for those that do not. */
START_TEST(the_message_of_many_bad_settings_is_bounded)
{
    setenv("SUPPORT_WORKERS", "-3", 1);
    setenv("SUPPORT_DB_STATEMENT_TIMEOUT_MS", "never", 1);
    setenv("SUPPORT_LOG_LEVEL", "loud", 1);
    char small[80];
    memset(small, 'x', sizeof(small));
    ck_assert(!sp_config_load(&cfg, small, sizeof(small)));
    ck_assert_ptr_nonnull(memchr(small, '\0', sizeof(small)));
    ck_assert_msg(strncmp(small, "SUPPORT_WORKERS: expected an integer in 0..256; …", 80) == 0,
                  "%s", small);
    /* the first is said even when it alone does not fit */
    char tiny[12];
    ck_assert(!sp_config_load(&cfg, tiny, sizeof(tiny)));
    ck_assert_str_eq(tiny, "SUPPORT_WOR");
}
END_TEST

/* A set of email, sms, push: the default email; blanks around an item
 * ignored; an unknown name or an empty item stops the load. */
START_TEST(customer_channels_are_a_set_of_known_names)
{
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(cfg.customer_channels, 1u << SP_CUSTOMER_EMAIL);
    sp_config_free(&cfg);
    setenv("SUPPORT_CUSTOMER_CHANNELS", "push, email,sms,email", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(cfg.customer_channels, 1u << SP_CUSTOMER_EMAIL | 1u << SP_CUSTOMER_SMS |
                                                 1u << SP_CUSTOMER_PUSH);
    sp_config_free(&cfg);
    setenv("SUPPORT_CUSTOMER_CHANNELS", "sms", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(cfg.customer_channels, 1u << SP_CUSTOMER_SMS);
    sp_config_free(&cfg);
    static const char *const bad[] = {"fax", "email,fax", "email,", ",sms", " ", "sms,,push",
                                      "emailemail", "EMAIL"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("SUPPORT_CUSTOMER_CHANNELS", bad[i], 1);
        assert_refused_naming("SUPPORT_CUSTOMER_CHANNELS", i < 2 ? "fax" : NULL);
    }
    setenv("SUPPORT_CUSTOMER_CHANNELS", "email,fax", 1);
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    ck_assert_str_eq(err, "SUPPORT_CUSTOMER_CHANNELS: item 2 is not one of email, sms, push");
}
END_TEST

START_TEST(integer_below_range_is_refused)
{
    setenv("SUPPORT_MAX_BODY_BYTES", "1023", 1);
    assert_refused_naming("SUPPORT_MAX_BODY_BYTES", "1023");
}
END_TEST

START_TEST(fraction_setting_is_read_and_bounded)
{
    struct sp_config c;
    ck_assert(sp_config_load(&c, err, sizeof(err)));
    ck_assert(c.sla_warn_fraction > 0.1999 && c.sla_warn_fraction < 0.2001);
    sp_config_free(&c);
    setenv("SUPPORT_SLA_WARN_FRACTION", "0.35", 1);
    ck_assert(sp_config_load(&c, err, sizeof(err)));
    ck_assert(c.sla_warn_fraction > 0.3499 && c.sla_warn_fraction < 0.3501);
    sp_config_free(&c);
    setenv("SUPPORT_SLA_WARN_FRACTION", "1.5", 1);
    assert_refused_naming("SUPPORT_SLA_WARN_FRACTION", "1.5");
    setenv("SUPPORT_SLA_WARN_FRACTION", "nan", 1);
    assert_refused_naming("SUPPORT_SLA_WARN_FRACTION", "nan");
    setenv("SUPPORT_SLA_WARN_FRACTION", "0.2x", 1);
    assert_refused_naming("SUPPORT_SLA_WARN_FRACTION", "0.2x");
    unsetenv("SUPPORT_SLA_WARN_FRACTION");
}
END_TEST

START_TEST(negative_workers_are_refused)
{
    setenv("SUPPORT_WORKERS", "-3", 1);
    assert_refused_naming("SUPPORT_WORKERS", "-3");
}
END_TEST

START_TEST(too_many_workers_are_refused)
{
    setenv("SUPPORT_WORKERS", "257", 1);
    assert_refused_naming("SUPPORT_WORKERS", "257");
}
END_TEST

START_TEST(integer_overflow_is_refused)
{
    setenv("SUPPORT_DB_STATEMENT_TIMEOUT_MS", "99999999999999999999999", 1);
    assert_refused_naming("SUPPORT_DB_STATEMENT_TIMEOUT_MS", "99999999999999999999999");
}
END_TEST

START_TEST(non_integer_is_refused)
{
    /* strtol alone would take " 5", "\t5" and "+5". */
    static const char *const bad[] = {"abc", "12abc", "1.5", "0x10", "4 workers", "--1", " 5",
                                      "\t5", "+5", "5 ", "-", "1e3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("SUPPORT_LISTEN_BACKLOG", bad[i], 1);
        assert_refused_naming("SUPPORT_LISTEN_BACKLOG", bad[i]);
        setenv("SUPPORT_LISTEN_MODE", bad[i], 1);
        assert_refused_naming("SUPPORT_LISTEN_MODE", bad[i]);
        unsetenv("SUPPORT_LISTEN_MODE");
    }
    setenv("SUPPORT_LISTEN_BACKLOG", "0005", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(cfg.listen_backlog, 5);
}
END_TEST

/* A fraction is decimal digits with one ".": strtod alone would take hex
 * ("0x0.5" is 0.3125), exponents, blanks, "+" and "infinity". */
START_TEST(fraction_is_plain_decimal)
{
    static const char *const bad[] = {"0x0.5", "0X.8", " 0.5", "+0.5", "5e-1", "inf",
                                      "0.5.", "0.5 ", "-0", "0,5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("SUPPORT_SLA_WARN_FRACTION", bad[i], 1);
        assert_refused_naming("SUPPORT_SLA_WARN_FRACTION", bad[i]);
    }
    setenv("SUPPORT_SLA_WARN_FRACTION", ".", 1);   /* (the message has "0..1") */
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    static const struct { const char *text; double value; } good[] = {
        {"1", 1}, {"0", 0}, {".5", 0.5}, {"0.", 0}, {"0.25", 0.25}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        setenv("SUPPORT_SLA_WARN_FRACTION", good[i].text, 1);
        ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s: %s", good[i].text, err);
        ck_assert_double_eq(cfg.sla_warn_fraction, good[i].value);
        sp_config_free(&cfg);
    }
}
END_TEST

START_TEST(refused_load_leaves_nothing_allocated)
{
    /* Strings loaded before the bad setting are freed (LSan would say). */
    setenv("SUPPORT_DATABASE_URL", "dbname=x", 1);
    setenv("SUPPORT_LISTEN", "/run/a.sock", 1);
    setenv("SUPPORT_DB_STATEMENT_TIMEOUT_MS", "never", 1);
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    ck_assert_ptr_null(cfg.database_url);
    ck_assert_ptr_null(cfg.listen);
}
END_TEST

START_TEST(workers_zero_means_four_per_core)
{
    setenv("SUPPORT_WORKERS", "0", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(cfg.workers, default_workers());
    ck_assert_int_ge(cfg.workers, 4);
}
END_TEST

/* The AI's calls out take at most half the workers unless told
 * otherwise, and always one (docs/API.md §9, "In flight"). */
START_TEST(ai_in_flight_defaults_to_half_the_workers)
{
    static const struct {
        const char *workers, *set;
        long want;
    } cases[] = {{"8", NULL, 4}, {"9", NULL, 4}, {"1", NULL, 1}, {"2", "0", 1}, {"8", "7", 7}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv("SUPPORT_WORKERS", cases[i].workers, 1);
        if (cases[i].set != NULL)
            setenv("SUPPORT_AI_MAX_IN_FLIGHT", cases[i].set, 1);
        else
            unsetenv("SUPPORT_AI_MAX_IN_FLIGHT");
        ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
        ck_assert_int_eq(cfg.ai_max_in_flight, cases[i].want);
        sp_config_free(&cfg);
    }
    setenv("SUPPORT_AI_MAX_IN_FLIGHT", "-1", 1);
    assert_refused_naming("SUPPORT_AI_MAX_IN_FLIGHT", "-1");
}
END_TEST

START_TEST(listen_mode_is_octal)
{
    setenv("SUPPORT_LISTEN_MODE", "0600", 1);
    setenv("SUPPORT_LISTEN_GROUP", "www-data", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(cfg.listen_mode, 0600);
    ck_assert_str_eq(cfg.listen_group, "www-data");
    sp_config_free(&cfg);
    setenv("SUPPORT_LISTEN_MODE", "660", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_int_eq(cfg.listen_mode, 0660);
}
END_TEST

/* QA: the workers trust the FastCGI parameters they are sent, so only
 * nginx may reach them: ":PORT" listened on every interface, and a
 * socket others may write to lets any local process in. */
START_TEST(listening_is_on_a_unix_socket_others_cannot_reach)
{
    static const char *const tcp[] = {":9000", "127.0.0.1:9000", "[::1]:9000", "/run/a:b"};
    for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]); i++) {
        setenv("SUPPORT_LISTEN", tcp[i], 1);
        ck_assert_msg(!sp_config_load(&cfg, err, sizeof(err)), "%s accepted", tcp[i]);
        ck_assert_msg(strstr(err, "SUPPORT_LISTEN: must be a unix socket path") != NULL, "%s", err);
        unsetenv("SUPPORT_LISTEN");
        setenv("SUPPORT_CHAT_LISTEN", tcp[i], 1);
        ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
        ck_assert_msg(strstr(err, "SUPPORT_CHAT_LISTEN: must be") != NULL, "%s", err);
        unsetenv("SUPPORT_CHAT_LISTEN");
    }
    char path[120];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    setenv("SUPPORT_LISTEN", path, 1);
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    ck_assert_msg(strstr(err, "SUPPORT_LISTEN: the path is longer") != NULL, "%s", err);
    path[107] = '\0';   /* 107 bytes and a NUL: the most sun_path holds */
    setenv("SUPPORT_LISTEN", path, 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    sp_config_free(&cfg);
    unsetenv("SUPPORT_LISTEN");
    static const char *const open_modes[] = {"0666", "0661", "0777", "0004"};
    for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
        setenv("SUPPORT_LISTEN_MODE", open_modes[i], 1);
        ck_assert_msg(!sp_config_load(&cfg, err, sizeof(err)), "%s accepted", open_modes[i]);
        ck_assert_msg(strstr(err, "SUPPORT_LISTEN_MODE: must give others no access") != NULL,
                      "%s", err);
    }
}
END_TEST

START_TEST(bad_listen_mode_is_refused)
{
    static const char *const bad[] = {"0680", "1777", "-660", "rw-rw----", "0x1b0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("SUPPORT_LISTEN_MODE", bad[i], 1);
        assert_refused_naming("SUPPORT_LISTEN_MODE", bad[i]);
    }
}
END_TEST

START_TEST(secret_is_read_from_its_file_without_the_trailing_newline)
{
    static const char key[] = "k1:0123456789abcdef0123456789abcdef";
    setenv("SUPPORT_JWT_KEYS_FILE", write_tmp_str("k1:0123456789abcdef0123456789abcdef\n"), 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.jwt_keys, key);
}
END_TEST

START_TEST(secret_file_trims_crlf_and_several_newlines)
{
    setenv("SUPPORT_DATABASE_URL_FILE", write_tmp_str("host=db password=s3cret\r\n\n"), 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.database_url, "host=db password=s3cret");
}
END_TEST

START_TEST(secret_file_keeps_inner_newlines_and_spaces)
{
    setenv("SUPPORT_JWT_KEYS_FILE", write_tmp_str(" a:b\nc:d "), 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.jwt_keys, " a:b\nc:d ");
}
END_TEST

/* Which of the two was meant cannot be told (QA: the file won silently,
 * and a bad NAME was never reported): refused, naming both, neither
 * value. */
START_TEST(a_secret_set_both_as_itself_and_as_its_file_is_refused)
{
    setenv("SUPPORT_JWT_KEYS", "env:from-the-environment-xxxxxxxxxxxxx", 1);
    setenv("SUPPORT_JWT_KEYS_FILE", write_tmp_str("file:from-the-file-xxxxxxxxxxxxxxxxxxxx\n"), 1);
    assert_refused_naming("SUPPORT_JWT_KEYS", "from-the-environment");
    ck_assert_str_eq(err, "SUPPORT_JWT_KEYS and SUPPORT_JWT_KEYS_FILE are both set: set one of"
                          " them");
    ck_assert_msg(strstr(err, "from-the-file") == NULL && strstr(err, tmpfile_path) == NULL,
                  "%s", err);
    /* an empty one is unset: no ambiguity */
    setenv("SUPPORT_JWT_KEYS", "", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.jwt_keys, "file:from-the-file-xxxxxxxxxxxxxxxxxxxx");
}
END_TEST

START_TEST(empty_file_variable_falls_back_to_the_variable)
{
    setenv("SUPPORT_JWT_KEYS", "env:key", 1);
    setenv("SUPPORT_JWT_KEYS_FILE", "", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.jwt_keys, "env:key");
}
END_TEST

START_TEST(missing_secret_file_is_refused_naming_the_variable)
{
    setenv("SUPPORT_JWT_KEYS_FILE", "/nonexistent/sp-test/keys", 1);
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    ck_assert_msg(strstr(err, "SUPPORT_JWT_KEYS_FILE") != NULL, "message: %s", err);
    ck_assert_ptr_null(cfg.jwt_keys);
}
END_TEST

START_TEST(missing_database_url_file_is_refused_naming_the_variable)
{
    setenv("SUPPORT_DATABASE_URL_FILE", "/nonexistent/sp-test/dburl", 1);
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    ck_assert_msg(strstr(err, "SUPPORT_DATABASE_URL_FILE") != NULL, "message: %s", err);
}
END_TEST

START_TEST(file_variant_only_exists_for_secrets)
{
    /* SUPPORT_LISTEN is not a secret: SUPPORT_LISTEN_FILE would be ignored,
     * while whoever set it believes it took effect. */
    setenv("SUPPORT_LISTEN_FILE", write_tmp_str(":7000\n"), 1);
    setenv("SUPPORT_LOG_LEVEL_FILE", write_tmp_str("debug\n"), 1);
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    ck_assert_msg(strstr(err, "SUPPORT_LISTEN_FILE: only secret settings are read from a file;"
                              " set SUPPORT_LISTEN itself") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "SUPPORT_LOG_LEVEL_FILE: ") != NULL, "%s", err);
    ck_assert_ptr_null(cfg.listen);
    /* Empty, it is unset. */
    setenv("SUPPORT_LISTEN_FILE", "", 1);
    setenv("SUPPORT_LOG_LEVEL_FILE", "", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.listen, "var/run/support-api.sock");
}
END_TEST

/* At most 64 KiB, as the refusal says: exactly 64 KiB is read whole,
 * a byte more is refused naming the variable. */
START_TEST(secret_file_over_64_kib_is_refused)
{
    size_t len = 64 * 1024 + 1;
    char *big = malloc(len);
    ck_assert_ptr_nonnull(big);
    memset(big, 'k', len);
    setenv("SUPPORT_JWT_KEYS_FILE", write_tmp(big, len - 1), 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_uint_eq(strlen(cfg.jwt_keys), len - 1);
    sp_config_free(&cfg);
    setenv("SUPPORT_JWT_KEYS_FILE", write_tmp(big, len), 1);
    free(big);
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    ck_assert_msg(strstr(err, "SUPPORT_JWT_KEYS_FILE: unreadable or larger than 64 KiB") != NULL,
                  "message: %s", err);
}
END_TEST

/* A directory is no secret's file, and the refusal says so (QA: it said
 * "unreadable or larger than 64 KiB"). */
START_TEST(a_secret_file_that_is_a_directory_is_refused_saying_so)
{
    setenv("SUPPORT_JWT_KEYS_FILE", scratch, 1);
    ck_assert(!sp_config_load(&cfg, err, sizeof(err)));
    ck_assert_str_eq(err, "SUPPORT_JWT_KEYS_FILE: is a directory, not a file");
}
END_TEST

/* A fault found after the load (the keys' checks name NAME) names the
 * variable actually set: NAME_FILE when the secret came from its file
 * (QA: a reload's bad key file was called SUPPORT_JWT_KEYS). Only a
 * fault's leading name, only of a secret read from its file. */
START_TEST(a_fault_names_the_file_variable_a_secret_came_from)
{
    setenv("SUPPORT_JWT_KEYS_FILE", "/etc/support/jwt_keys", 1);
    setenv("SUPPORT_DATABASE_URL", "dbname=x", 1);
    char msg[160] = "SUPPORT_JWT_KEYS: entry 1 is short; SUPPORT_DATABASE_URL: bad;"
                    " SUPPORT_JWT_KEYS_FILE: x; see SUPPORT_JWT_KEYS: y";
    sp_config_name_sources(msg, sizeof(msg));
    ck_assert_str_eq(msg, "SUPPORT_JWT_KEYS_FILE: entry 1 is short; SUPPORT_DATABASE_URL: bad;"
                          " SUPPORT_JWT_KEYS_FILE: x; see SUPPORT_JWT_KEYS: y");
    /* no room for the "_FILE": left as it was, still terminated */
    char small[24] = "SUPPORT_JWT_KEYS: short";
    sp_config_name_sources(small, sizeof(small));
    ck_assert_str_eq(small, "SUPPORT_JWT_KEYS: short");
    unsetenv("SUPPORT_JWT_KEYS_FILE");
    char plain[64] = "SUPPORT_JWT_KEYS: entry 1 is short";
    sp_config_name_sources(plain, sizeof(plain));
    ck_assert_str_eq(plain, "SUPPORT_JWT_KEYS: entry 1 is short");
}
END_TEST

/* The AI provider's and the embedder's endpoints are http(s) URLs:
 * anything else was accepted and failed only at the first query (QA). */
START_TEST(ai_endpoints_must_be_http_urls)
{
    static const char *const bad[] = {"garbage", "gopher://x", "http://", "https://u:pw@h/v1",
                                      "http://h:99999/v1", "ftp://h/v1"};
    static const char *const vars[] = {"SUPPORT_AI_BASE_URL", "SUPPORT_EMBEDDINGS_URL"};
    for (size_t v = 0; v < 2; v++) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            setenv(vars[v], bad[i], 1);
            assert_refused_naming(vars[v], bad[i]);
            char want[128];
            snprintf(want, sizeof(want), "%s: expected an http(s) URL, e.g."
                                         " https://api.openai.com/v1", vars[v]);
            ck_assert_str_eq(err, want);
        }
        setenv(vars[v], "http://127.0.0.1:8080/v1", 1);
        ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
        sp_config_free(&cfg);
        setenv(vars[v], "https://api.openai.com/v1/embeddings", 1);
        ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
        sp_config_free(&cfg);
        unsetenv(vars[v]);
    }
}
END_TEST

START_TEST(free_clears_every_string_and_is_repeatable)
{
    setenv("SUPPORT_JWT_KEYS", "k:v", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    sp_config_free(&cfg);
    ck_assert_ptr_null(cfg.database_url);
    ck_assert_ptr_null(cfg.listen);
    ck_assert_ptr_null(cfg.jwt_keys);
    ck_assert_ptr_null(cfg.migrations_dir);
    ck_assert_ptr_null(cfg.log_level);
    sp_config_free(&cfg);
}
END_TEST

/* What sp_config_describe writes. */
static char *
describe_all(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    sp_config_describe(f);
    fclose(f);
    return text;
}

START_TEST(describe_lists_every_setting_without_values)
{
    setenv("SUPPORT_JWT_KEYS", "k:do-not-print-me", 1);
    char *text = describe_all();
    static const char *const names[] = {
        "SUPPORT_DATABASE_URL",   "SUPPORT_LISTEN",       "SUPPORT_WORKERS",
        "SUPPORT_LISTEN_BACKLOG", "SUPPORT_JWT_KEYS",     "SUPPORT_JWT_PUBLIC_KEYS_FILE",
        "SUPPORT_JWT_ISSUER",     "SUPPORT_JWT_AUDIENCE", "SUPPORT_MIGRATIONS_DIR",
        "SUPPORT_MAX_BODY_BYTES", "SUPPORT_LOG_LEVEL",    "SUPPORT_DB_STATEMENT_TIMEOUT_MS",
        "SUPPORT_LISTEN_MODE",    "SUPPORT_LISTEN_GROUP",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_msg(strstr(text, names[i]) != NULL, "%s not described", names[i]);
    ck_assert_ptr_null(strstr(text, "do-not-print-me"));
    ck_assert_ptr_nonnull(strstr(text, "1048576"));
    free(text);
}
END_TEST

/* sp_config_describe_some's text for names; *unknown its answer. */
static char *
describe_some(const char *const names[], const char **unknown)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    *unknown = sp_config_describe_some(f, names);
    fclose(f);
    return text;
}

/* Lines of text, each checked to begin with one of the rows in want. */
static int
rows_among(const char *text, const char *const want[])
{
    int n = 0;
    for (const char *line = text; *line != '\0'; n++) {
        bool ok = false;
        for (size_t i = 0; want[i] != NULL && !ok; i++)
            ok = strncmp(line, want[i], strlen(want[i])) == 0;
        ck_assert_msg(ok, "row not asked for: %.60s", line);
        const char *nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        line = nl + 1;
    }
    return n;
}

/* A job's --help lists only the settings it reads: an exact name takes
 * its row alone (SUPPORT_MAIL_FROM, not SUPPORT_MAIL_FROM_NAME), an entry
 * ending in '_' every row it begins (the 7 of S3). */
START_TEST(describe_some_lists_the_named_settings_only)
{
    static const char *const names[] = {"SUPPORT_S3_", "SUPPORT_MAIL_FROM", NULL};
    const char *unknown;
    char *text = describe_some(names, &unknown);
    ck_assert_ptr_null(unknown);
    static const char *const rows[] = {"  SUPPORT_S3_", "  SUPPORT_MAIL_FROM ", NULL};
    ck_assert_int_eq(rows_among(text, rows), 8);
    ck_assert_ptr_nonnull(strstr(text, "  SUPPORT_S3_SECRET_ACCESS_KEY "));
    ck_assert_ptr_nonnull(strstr(text, "  SUPPORT_MAIL_FROM "));
    free(text);
}
END_TEST

/* An entry that takes no setting is named (a misspelt name would leave
 * its row out without a word); a name is not a prefix without its '_'. */
START_TEST(describe_some_names_an_entry_that_is_no_setting)
{
    static const char *const typo[] = {"SUPPORT_LOG_LEVEL", "SUPPORT_AUTOCLOSE_DAY", NULL};
    static const char *const no_prefix[] = {"SUPPORT_S3", NULL};
    static const char *const empty_prefix[] = {"SUPPORT_NO_SUCH_", "SUPPORT_LOG_LEVEL", NULL};
    const char *unknown;
    free(describe_some(typo, &unknown));
    ck_assert_ptr_eq(unknown, typo[1]);
    free(describe_some(no_prefix, &unknown));
    ck_assert_ptr_eq(unknown, no_prefix[0]);
    char *text = describe_some(empty_prefix, &unknown);
    ck_assert_ptr_eq(unknown, empty_prefix[0]);
    static const char *const rows[] = {"  SUPPORT_LOG_LEVEL ", NULL};
    ck_assert_int_eq(rows_among(text, rows), 1);   /* the rows it could find, still */
    free(text);
}
END_TEST

/* One describer: NULL is every setting, as sp_config_describe writes it. */
START_TEST(describe_some_of_null_is_the_whole_table)
{
    const char *unknown;
    char *some = describe_some(NULL, &unknown);
    ck_assert_ptr_null(unknown);
    char *all = describe_all();
    ck_assert_str_eq(some, all);
    ck_assert_ptr_nonnull(strstr(all, "  SUPPORT_CHAT_RATE_PER_MINUTE "));
    free(some);
    free(all);
}
END_TEST

/* What sp_config_warn writes to the log (stderr). */
static const char *
start_warnings(void)
{
    static char out[2048];
    struct sp_unit_log l = sp_unit_log_begin();
    sp_config_warn(&cfg);
    sp_log_msg(SP_LOG_WARN, "end_marker", "-");
    sp_unit_log_end(l, out, sizeof(out));
    return out;
}

/* Development-only settings are said at start, one warning each. */
START_TEST(dev_only_settings_are_warned_about)
{
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_ptr_null(strstr(start_warnings(), "dev_only_setting"));
    sp_config_free(&cfg);
    setenv("SUPPORT_COOKIE_INSECURE", "1", 1);
    setenv("SUPPORT_WEBHOOK_ALLOW_LOOPBACK", "1", 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    const char *log = start_warnings();
    const char *a = strstr(log, "\"level\":\"warn\",\"event\":\"dev_only_setting\"");
    ck_assert_msg(a != NULL && strstr(a, "SUPPORT_COOKIE_INSECURE=1: ") != NULL, "%s", log);
    const char *b = strstr(strchr(a, '\n'), "\"event\":\"dev_only_setting\"");
    ck_assert_msg(b != NULL && strstr(b, "SUPPORT_WEBHOOK_ALLOW_LOOPBACK=1: ") != NULL, "%s",
                  log);
    ck_assert_msg(strstr(strchr(b, '\n'), "dev_only_setting") == NULL, "%s", log);
}
END_TEST

/* A secret's file that ends in a blank keeps it (only line ends are
 * trimmed), and says so at start, naming the file's variable, never the
 * secret (QA: a key with a trailing space failed without a word). */
START_TEST(a_secret_file_ending_in_a_blank_is_warned_about)
{
    setenv("SUPPORT_JWT_KEYS_FILE", write_tmp_str("k1:0123456789abcdef0123456789abcdef\n"), 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_ptr_null(strstr(start_warnings(), "secret_file_blank"));
    sp_config_free(&cfg);
    setenv("SUPPORT_JWT_KEYS_FILE", write_tmp_str("k1:0123456789abcdef0123456789abcdef \n"), 1);
    ck_assert_msg(sp_config_load(&cfg, err, sizeof(err)), "%s", err);
    ck_assert_str_eq(cfg.jwt_keys, "k1:0123456789abcdef0123456789abcdef ");
    const char *log = start_warnings();
    const char *w = strstr(log, "\"level\":\"warn\",\"event\":\"secret_file_blank\"");
    ck_assert_msg(w != NULL && strstr(w, "SUPPORT_JWT_KEYS_FILE ends in a space or tab") != NULL,
                  "%s", log);
    ck_assert_msg(strstr(log, "0123456789abcdef") == NULL, "%s", log);
}
END_TEST

static Suite *
config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, unset_settings_take_their_defaults);
    tcase_add_test(tc, empty_values_count_as_unset);
    tcase_add_test(tc, s3_settings_are_all_or_nothing);
    tcase_add_test(tc, set_values_are_read);
    tcase_add_test(tc, strings_are_copies_owned_by_the_config);
    tcase_add_test(tc, integer_bounds_are_inclusive);
    tcase_add_test(tc, integer_above_range_is_refused_naming_the_variable_not_the_value);
    tcase_add_test(tc, integer_below_range_is_refused);
    tcase_add_test(tc, log_level_is_read_or_refused_naming_the_variable);
    tcase_add_test(tc, every_bad_setting_is_named_at_once);
    tcase_add_test(tc, the_message_of_many_bad_settings_is_bounded);
    tcase_add_test(tc, customer_channels_are_a_set_of_known_names);
    tcase_add_test(tc, negative_workers_are_refused);
    tcase_add_test(tc, fraction_setting_is_read_and_bounded);
    tcase_add_test(tc, too_many_workers_are_refused);
    tcase_add_test(tc, integer_overflow_is_refused);
    tcase_add_test(tc, non_integer_is_refused);
    tcase_add_test(tc, fraction_is_plain_decimal);
    tcase_add_test(tc, dev_only_settings_are_warned_about);
    tcase_add_test(tc, a_secret_file_ending_in_a_blank_is_warned_about);
    tcase_add_test(tc, refused_load_leaves_nothing_allocated);
    tcase_add_test(tc, workers_zero_means_four_per_core);
    tcase_add_test(tc, ai_in_flight_defaults_to_half_the_workers);
    tcase_add_test(tc, listen_mode_is_octal);
    tcase_add_test(tc, listening_is_on_a_unix_socket_others_cannot_reach);
    tcase_add_test(tc, bad_listen_mode_is_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("secrets");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, secret_is_read_from_its_file_without_the_trailing_newline);
    tcase_add_test(tc, secret_file_trims_crlf_and_several_newlines);
    tcase_add_test(tc, secret_file_keeps_inner_newlines_and_spaces);
    tcase_add_test(tc, a_secret_set_both_as_itself_and_as_its_file_is_refused);
    tcase_add_test(tc, empty_file_variable_falls_back_to_the_variable);
    tcase_add_test(tc, missing_secret_file_is_refused_naming_the_variable);
    tcase_add_test(tc, missing_database_url_file_is_refused_naming_the_variable);
    tcase_add_test(tc, file_variant_only_exists_for_secrets);
    tcase_add_test(tc, secret_file_over_64_kib_is_refused);
    tcase_add_test(tc, a_secret_file_that_is_a_directory_is_refused_saying_so);
    tcase_add_test(tc, a_fault_names_the_file_variable_a_secret_came_from);
    tcase_add_test(tc, ai_endpoints_must_be_http_urls);
    tcase_add_test(tc, free_clears_every_string_and_is_repeatable);
    tcase_add_test(tc, describe_lists_every_setting_without_values);
    tcase_add_test(tc, describe_some_lists_the_named_settings_only);
    tcase_add_test(tc, describe_some_names_an_entry_that_is_no_setting);
    tcase_add_test(tc, describe_some_of_null_is_the_whole_table);
    suite_add_tcase(s, tc);
    return s;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int
main(void)
{
    snprintf(scratch, sizeof(scratch), "/tmp/sp-test-config-XXXXXX");
    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    int status = sp_unit_run(config_suite());
    nftw(scratch, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return status;
}
