/*
 * test_metrics: the shared counters and the exposition writer
 * (src/core/metrics.c): label values are escaped so no text can forge a
 * sample, histograms are cumulative with _count equal to +Inf, counting
 * before init is a no-op, and a forked child's counts reach the parent
 * (what the prefork workers rely on). Also the nchan_stub_status parser
 * (domain/chat_bus.c) the scrape reads.
 */
#include <check.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "domain/chat_bus.h"
#include "unit.h"

static struct sp_arena arena;
static struct sp_buf buf;

static void
setup(void)
{
    sp_arena_init(&arena, 4096);
    sp_buf_init(&buf, &arena, 64);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

static const char *
text(void)
{
    sp_buf_putc(&buf, '\0');
    buf.len--;
    return buf.data;
}

START_TEST(label_values_escape_backslash_quote_and_newline)
{
    const char *l[] = {"route", "a\\b\"c\nd", NULL};
    sp_prom_sample_u64(&buf, "x_total", l, 3);
    ck_assert_str_eq(text(), "x_total{route=\"a\\\\b\\\"c\\nd\"} 3\n");
}
END_TEST

START_TEST(forged_label_cannot_add_a_sample)
{
    const char *l[] = {"route", "x\"} 1\nevil_total 9\n#", NULL};
    sp_prom_sample_u64(&buf, "x_total", l, 1);
    /* One line, whatever the value said. */
    ck_assert_ptr_eq(strchr(text(), '\n'), text() + strlen(text()) - 1);
}
END_TEST

START_TEST(samples_without_labels_and_special_values)
{
    sp_prom_sample(&buf, "a", NULL, 1.5);
    sp_prom_sample(&buf, "b", NULL, 1.0 / 0.0);
    sp_prom_family(&buf, "c", "gauge", "two\nlines \\ here");
    ck_assert_str_eq(text(), "a 1.5\nb +Inf\n# HELP c two\\nlines \\\\ here\n# TYPE c gauge\n");
}
END_TEST

START_TEST(counting_before_init_is_a_noop_then_histograms_are_cumulative)
{
    struct sp_metrics_route_snap s;
    sp_metrics_request(0, 200, 1000);
    ck_assert(!sp_metrics_route_snap(0, &s));
    ck_assert(sp_metrics_init(2));
    sp_metrics_request(0, 200, 1000);      /* first bucket */
    sp_metrics_request(0, 404, 30000);     /* le 0.05 */
    sp_metrics_request(0, 0, 20000000);    /* +Inf; no status: 5xx */
    sp_metrics_request(7, 200, 1);         /* out of range: unmatched */
    ck_assert(sp_metrics_route_snap(0, &s));
    ck_assert_uint_eq(s.count, 3);
    ck_assert_uint_eq(s.bucket[0], 1);
    ck_assert_uint_eq(s.bucket[3], 2);
    ck_assert_uint_eq(s.bucket[SP_METRICS_NBUCKETS - 1], 2);
    ck_assert_uint_eq(s.bucket[SP_METRICS_NBUCKETS], 3);
    ck_assert_uint_eq(s.status_class[1], 1);
    ck_assert_uint_eq(s.status_class[3], 1);
    ck_assert_uint_eq(s.status_class[4], 1);
    ck_assert_uint_eq(s.sum_us, 20031000);
    ck_assert(sp_metrics_route_snap(2, &s));
    ck_assert_uint_eq(s.count, 1);

    const char *methods[] = {"GET", "POST"}, *patterns[] = {"/a/:id", "/b"};
    sp_metrics_render(&buf, methods, patterns, 2);
    const char *t = text();
    ck_assert_ptr_nonnull(strstr(t, "support_http_requests_total{method=\"GET\",route=\"/a/:id\",code=\"2xx\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "support_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/:id\",le=\"+Inf\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(t, "support_http_request_duration_seconds_count{method=\"GET\",route=\"/a/:id\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(t, "route=\"unmatched\",code=\"2xx\"} 1\n"));
    /* An unused route writes nothing. */
    ck_assert_ptr_null(strstr(t, "route=\"/b\""));
}
END_TEST

START_TEST(a_forked_childs_counts_reach_the_parent)
{
    ck_assert(sp_metrics_init(1));
    uint64_t before = sp_metrics_get(SP_M_DB_CONNECTS);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        for (int i = 0; i < 1000; i++)
            sp_metrics_count(SP_M_DB_CONNECTS);
        _exit(0);
    }
    for (int i = 0; i < 1000; i++)
        sp_metrics_count(SP_M_DB_CONNECTS);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_uint_eq(sp_metrics_get(SP_M_DB_CONNECTS) - before, 2000);
}
END_TEST

START_TEST(nchan_stub_status_is_parsed_by_name)
{
    const char *s = "total published messages: 12\nstored messages: 3\n"
                    "shared memory used: 16K\nchannels: 2\r\nsubscribers: 5\nbogus\n"
                    "subscribers: x\nnchan version: 1.3.6\n";
    struct sp_chat_bus_stats st;
    sp_chat_bus_parse_stats(s, strlen(s), &st);
    ck_assert_int_eq(st.found, 4);
    ck_assert_int_eq(st.published, 12);
    ck_assert_int_eq(st.stored, 3);
    ck_assert_int_eq(st.channels, 2);
    ck_assert_int_eq(st.subscribers, 5);
    sp_chat_bus_parse_stats("channels: 7", 3, &st);   /* cut short: nothing */
    ck_assert_int_eq(st.found, 0);
}
END_TEST

static Suite *
metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("exposition");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, label_values_escape_backslash_quote_and_newline);
    tcase_add_test(tc, forged_label_cannot_add_a_sample);
    tcase_add_test(tc, samples_without_labels_and_special_values);
    tcase_add_test(tc, counting_before_init_is_a_noop_then_histograms_are_cumulative);
    tcase_add_test(tc, a_forked_childs_counts_reach_the_parent);
    tcase_add_test(tc, nchan_stub_status_is_parsed_by_name);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(metrics_suite());
}
