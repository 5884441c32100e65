/*
 * test_dashboard_p90: the dashboard's 90th percentile of first-response
 * times from the hourly histograms of sql/024 (src/domain/dashboard.c):
 * held to within 10 % of percentile_cont over the same samples, for dense
 * and for sparse populations, and 0 for none; held to the samples' range
 * (one sample is its own p90); and the reading of the
 * hours' sparse histograms (sql/031) the statement sends.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "domain/dashboard.h"
#include "unit.h"

/* support_fr_bin() of sql/024, 0-based. */
static int
bin_of(double s)
{
    if (s < 1)
        return (int)floor((s > 0 ? s : 0) * SP_FR_SUBSECOND_BINS);
    int b = SP_FR_SUBSECOND_BINS + (int)floor(log(s) / log(SP_FR_BIN_RATIO));
    return b < SP_FR_BINS - 1 ? b : SP_FR_BINS - 1;
}

static int
by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* percentile_cont(0.9) of the samples (sorted in place). */
static double
exact_p90(double *s, size_t n)
{
    qsort(s, n, sizeof(*s), by_value);
    double rank = 0.9 * (double)(n - 1);
    size_t lo = (size_t)rank, hi = lo + 1 < n ? lo + 1 : lo;
    return s[lo] + (rank - (double)lo) * (s[hi] - s[lo]);
}

static void
assert_close(double *samples, size_t n)
{
    long long bins[SP_FR_BINS] = {0};
    for (size_t i = 0; i < n; i++)
        bins[bin_of(samples[i])]++;
    double lo = samples[0], hi = samples[0];
    for (size_t i = 1; i < n; i++) {
        lo = fmin(lo, samples[i]);
        hi = fmax(hi, samples[i]);
    }
    double got = sp_dashboard_p90(bins, lo, hi), want = exact_p90(samples, n);
    ck_assert_msg(fabs(got - want) <= 0.1 * want + 0.1, "p90 %.1f, exact %.1f (n=%zu)", got,
                  want, n);
    /* within the samples' range, rounded to 0.1 s as the answer is */
    ck_assert_msg(got >= round(lo * 10) / 10 && got <= round(hi * 10) / 10,
                  "p90 %.1f outside the samples' range %.2f..%.2f (n=%zu)", got, lo, hi, n);
}

START_TEST(no_samples_is_zero)
{
    long long bins[SP_FR_BINS] = {0};
    ck_assert(sp_dashboard_p90(bins, 1, 0) == 0);
}
END_TEST

/* QA: one answer of 27.1 s showed avg 27.1 and p90 26.8 — its bin's
 * middle, [25.5, 28.0) s. The range kept beside the histogram makes the
 * one sample its own p90; without it (lo > hi) the estimate stays. */
START_TEST(one_sample_is_its_own_p90)
{
    long long bins[SP_FR_BINS] = {0};
    bins[bin_of(27.1)] = 1;
    ck_assert_double_eq_tol(sp_dashboard_p90(bins, 27.1, 27.1), 27.1, 1e-9);
    ck_assert(fabs(sp_dashboard_p90(bins, 1, 0) - 27.1) > 0.05);
    /* many equal samples: the same */
    bins[bin_of(27.1)] = 40;
    ck_assert_double_eq_tol(sp_dashboard_p90(bins, 27.1, 27.1), 27.1, 1e-9);
    /* the estimate above the largest sample is held to it */
    bins[bin_of(27.1)] = 1;
    bins[bin_of(25.6)] = 1;
    ck_assert_double_eq_tol(sp_dashboard_p90(bins, 25.6, 25.7), 25.7, 1e-9);
    /* and below the smallest to it */
    ck_assert_double_eq_tol(sp_dashboard_p90(bins, 27.9, 27.95), 27.9, 1e-9);
}
END_TEST

START_TEST(one_and_two_samples)
{
    double one[] = {7200};
    assert_close(one, 1);
    double two[] = {10, 7200};  /* the rank falls between two far bins */
    assert_close(two, 2);
    double under[] = {0.2, 0.5, 0.9};
    assert_close(under, 3);
    double quick[] = {0.05, 0.12, 0.2, 0.21, 0.3, 0.33, 0.4, 0.41, 0.5, 0.62, 2.5};
    assert_close(quick, 11);  /* sub-second answers: held to 0.1 s */
}
END_TEST

START_TEST(dense_populations)
{
    srand(42);
    static double s[20000];
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + (size_t)rand() % 20000;
        for (size_t i = 0; i < n; i++)  /* log-uniform from 1 s to ~1 day */
            s[i] = exp((double)rand() / RAND_MAX * 11.4);
        assert_close(s, n);
    }
}
END_TEST

START_TEST(beyond_the_last_bin_is_its_lower_edge)
{
    long long bins[SP_FR_BINS] = {0};
    bins[SP_FR_BINS - 1] = 3;
    double edge = pow(SP_FR_BIN_RATIO, SP_FR_BINS - 1 - SP_FR_SUBSECOND_BINS);
    ck_assert(fabs(sp_dashboard_p90(bins, 1, 0) - edge) <= 0.1);
}
END_TEST

/* Bin i (0-based) after adding text to an empty histogram. */
static long long
bin_after(const char *text, int i)
{
    long long bins[SP_FR_BINS] = {0};
    sp_dashboard_add_histograms(text, bins);
    return bins[i];
}

START_TEST(sparse_histograms_add_up_per_bin)
{
    /* two hours, then an hour with no first response (empty), then one */
    const char *hours = "1:3,5:2;2:1,5:4,200:7;;11:1";
    ck_assert_int_eq(bin_after(hours, 0), 3);
    ck_assert_int_eq(bin_after(hours, 1), 1);
    ck_assert_int_eq(bin_after(hours, 4), 6);
    ck_assert_int_eq(bin_after(hours, 10), 1);
    ck_assert_int_eq(bin_after(hours, 199), 7);
    long long sum = 0;
    for (int i = 0; i < SP_FR_BINS; i++)
        sum += bin_after(hours, i);
    ck_assert_int_eq(sum, 18);
}
END_TEST

START_TEST(unreadable_histogram_text_ends_the_walk)
{
    /* out-of-range bins are skipped; a negative or huge count, a missing
     * colon or anything else stops the reading where it is */
    ck_assert_int_eq(bin_after("0:5,201:5,3:1,4:-2,3:9", 2), 1);
    ck_assert_int_eq(bin_after("0:5,201:5,3:1,4:-2,3:9", 3), 0);
    ck_assert_int_eq(bin_after("6:9999999999999999999,6:1", 5), 0);
    ck_assert_int_eq(bin_after("7;8:1", 7), 0);
    ck_assert_int_eq(bin_after("{1,2,3}", 0), 0);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("dashboard_p90");
    TCase *tc = tcase_create("p90");
    tcase_add_test(tc, no_samples_is_zero);
    tcase_add_test(tc, one_sample_is_its_own_p90);
    tcase_add_test(tc, one_and_two_samples);
    tcase_add_test(tc, dense_populations);
    tcase_add_test(tc, beyond_the_last_bin_is_its_lower_edge);
    tcase_add_test(tc, sparse_histograms_add_up_per_bin);
    tcase_add_test(tc, unreadable_histogram_text_ends_the_walk);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(suite());
}
