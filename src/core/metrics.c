/*
 * metrics: shared counters and the exposition writer. See metrics.h.
 */
#include "core/metrics.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core/buf.h"

const uint64_t sp_metrics_bucket_us[SP_METRICS_NBUCKETS] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

/* Per route: buckets are not cumulative here (one add per request); the
 * scrape sums them. The count is the sum of the buckets, so a scrape's
 * _count always equals its +Inf bucket. */
struct route_counters {
    _Atomic uint64_t status_class[5];
    _Atomic uint64_t bucket[SP_METRICS_NBUCKETS + 1];
    _Atomic uint64_t sum_us;
};

struct segment {
    size_t nroutes;                 /* written before the fork, then read-only */
    _Atomic int64_t inflight;
    _Atomic uint64_t counters[SP_M_MAX];
    struct route_counters routes[]; /* nroutes + 1 (unmatched) */
};

static struct segment *seg;

bool
sp_metrics_init(size_t nroutes)
{
    if (seg != NULL)
        return true;
    size_t size = sizeof(struct segment) + (nroutes + 1) * sizeof(struct route_counters);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    /* Anonymous pages are zero: every atomic starts at 0. */
    seg = p;
    seg->nroutes = nroutes;
    return true;
}

bool
sp_metrics_enabled(void)
{
    return seg != NULL;
}

size_t
sp_metrics_nroutes(void)
{
    return seg != NULL ? seg->nroutes : 0;
}

void
sp_metrics_inflight(int delta)
{
    if (seg != NULL)
        atomic_fetch_add_explicit(&seg->inflight, delta, memory_order_relaxed);
}

void
sp_metrics_count(enum sp_metric m)
{
    if (seg != NULL && m >= 0 && m < SP_M_MAX)
        atomic_fetch_add_explicit(&seg->counters[m], 1, memory_order_relaxed);
}

/* This process's (a worker is one process, one request at a time). */
static uint64_t db_round_trips;

void
sp_metrics_db_round_trip(void)
{
    db_round_trips++;
    sp_metrics_count(SP_M_DB_ROUND_TRIPS);
}

uint64_t
sp_metrics_db_round_trips(void)
{
    return db_round_trips;
}

void
sp_metrics_request(int route, int status, uint64_t elapsed_us)
{
    if (seg == NULL)
        return;
    size_t i = route < 0 || (size_t)route >= seg->nroutes ? seg->nroutes : (size_t)route;
    struct route_counters *rc = &seg->routes[i];
    int cls = status / 100 - 1;
    if (cls < 0 || cls > 4)
        cls = 4;  /* no status written: the server failed to answer */
    atomic_fetch_add_explicit(&rc->status_class[cls], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < SP_METRICS_NBUCKETS && elapsed_us > sp_metrics_bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&rc->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rc->sum_us, elapsed_us, memory_order_relaxed);
}

bool
sp_metrics_route_snap(size_t route, struct sp_metrics_route_snap *out)
{
    memset(out, 0, sizeof(*out));
    if (seg == NULL || route > seg->nroutes)
        return false;
    struct route_counters *rc = &seg->routes[route];
    for (int c = 0; c < 5; c++)
        out->status_class[c] = atomic_load_explicit(&rc->status_class[c], memory_order_relaxed);
    uint64_t run = 0;
    for (int b = 0; b <= SP_METRICS_NBUCKETS; b++) {
        run += atomic_load_explicit(&rc->bucket[b], memory_order_relaxed);
        out->bucket[b] = run;
    }
    out->count = run;
    out->sum_us = atomic_load_explicit(&rc->sum_us, memory_order_relaxed);
    return true;
}

uint64_t
sp_metrics_get(enum sp_metric m)
{
    if (seg == NULL || m < 0 || m >= SP_M_MAX)
        return 0;
    return atomic_load_explicit(&seg->counters[m], memory_order_relaxed);
}

int64_t
sp_metrics_inflight_now(void)
{
    return seg != NULL ? atomic_load_explicit(&seg->inflight, memory_order_relaxed) : 0;
}

/* ---- exposition ---------------------------------------------------------- */

void
sp_prom_label_value(struct sp_buf *b, const char *v)
{
    for (const char *s = v != NULL ? v : ""; *s != '\0'; s++) {
        if (*s == '\\')
            sp_buf_puts(b, "\\\\");
        else if (*s == '"')
            sp_buf_puts(b, "\\\"");
        else if (*s == '\n')
            sp_buf_puts(b, "\\n");
        else
            sp_buf_putc(b, *s);
    }
}

void
sp_prom_family(struct sp_buf *b, const char *name, const char *type, const char *help)
{
    sp_buf_printf(b, "# HELP %s ", name);
    for (const char *s = help; *s != '\0'; s++) {
        if (*s == '\\')
            sp_buf_puts(b, "\\\\");
        else if (*s == '\n')
            sp_buf_puts(b, "\\n");
        else
            sp_buf_putc(b, *s);
    }
    sp_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void
sample_head(struct sp_buf *b, const char *name, const char *const *labels)
{
    sp_buf_puts(b, name);
    if (labels == NULL || labels[0] == NULL)
        return;
    sp_buf_putc(b, '{');
    for (size_t i = 0; labels[i] != NULL && labels[i + 1] != NULL; i += 2) {
        sp_buf_printf(b, "%s%s=\"", i ? "," : "", labels[i]);
        sp_prom_label_value(b, labels[i + 1]);
        sp_buf_putc(b, '"');
    }
    sp_buf_putc(b, '}');
}

void
sp_prom_sample(struct sp_buf *b, const char *name, const char *const *labels, double value)
{
    sample_head(b, name, labels);
    if (isnan(value))
        sp_buf_puts(b, " NaN\n");
    else if (isinf(value))
        sp_buf_puts(b, value > 0 ? " +Inf\n" : " -Inf\n");
    else
        sp_buf_printf(b, " %.17g\n", value);
}

void
sp_prom_sample_u64(struct sp_buf *b, const char *name, const char *const *labels, uint64_t value)
{
    sample_head(b, name, labels);
    sp_buf_printf(b, " %llu\n", (unsigned long long)value);
}

static const char *const class_names[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

/* One route's request counters and histogram; silent when never used, so
 * a scrape stays small. */
static void
render_route(struct sp_buf *b, const char *method, const char *pattern,
             const struct sp_metrics_route_snap *s, bool histogram)
{
    if (s->count == 0)
        return;
    if (!histogram) {
        for (int c = 0; c < 5; c++) {
            if (s->status_class[c] == 0)
                continue;
            const char *l[] = {"method", method, "route", pattern, "code", class_names[c], NULL};
            sp_prom_sample_u64(b, "support_http_requests_total", l, s->status_class[c]);
        }
        return;
    }
    char le[32];
    for (int i = 0; i <= SP_METRICS_NBUCKETS; i++) {
        if (i < SP_METRICS_NBUCKETS)
            snprintf(le, sizeof(le), "%g", (double)sp_metrics_bucket_us[i] / 1e6);
        else
            snprintf(le, sizeof(le), "+Inf");
        const char *l[] = {"method", method, "route", pattern, "le", le, NULL};
        sp_prom_sample_u64(b, "support_http_request_duration_seconds_bucket", l, s->bucket[i]);
    }
    const char *l[] = {"method", method, "route", pattern, NULL};
    sp_prom_sample(b, "support_http_request_duration_seconds_sum", l, (double)s->sum_us / 1e6);
    sp_prom_sample_u64(b, "support_http_request_duration_seconds_count", l, s->count);
}

static void
render_routes(struct sp_buf *b, const char *const *methods, const char *const *patterns,
              size_t nroutes, bool histogram)
{
    size_t n = sp_metrics_nroutes();
    for (size_t i = 0; i <= n; i++) {
        struct sp_metrics_route_snap s;
        if (!sp_metrics_route_snap(i, &s))
            continue;
        bool known = i < n && i < nroutes;
        render_route(b, known ? methods[i] : "", known ? patterns[i] : "unmatched", &s,
                     histogram);
    }
}

/* The plain counters: name, help, the enum member (a label when shared). */
static const struct {
    enum sp_metric m;
    const char *name, *help, *label, *value;
} plain[] = {
    {SP_M_WORKER_RESTARTS, "support_worker_restarts_total",
     "Workers that died and were forked again by the master.", NULL, NULL},
    {SP_M_RELOADS, "support_reloads_total", "SIGHUP reloads that replaced every worker.", NULL,
     NULL},
    {SP_M_DB_ERRORS_CONFLICT, "support_db_errors_total",
     "Failed database statements by outcome.", "outcome", "conflict"},
    {SP_M_DB_ERRORS_UNAVAILABLE, "support_db_errors_total", NULL, "outcome", "unavailable"},
    {SP_M_DB_ERRORS_OTHER, "support_db_errors_total", NULL, "outcome", "error"},
    {SP_M_DB_CONNECTS, "support_db_connects_total",
     "Database connections opened (first connects and reconnects).", NULL, NULL},
    {SP_M_DB_CONNECT_FAILURES, "support_db_connect_failures_total",
     "Database connection attempts that failed.", NULL, NULL},
    {SP_M_DB_CONNECTIONS_LOST, "support_db_connections_lost_total",
     "Statements that found their database connection lost.", NULL, NULL},
    {SP_M_DB_PREPARES, "support_db_statements_prepared_total",
     "Statements prepared on a connection (prepared-statement cache misses).", NULL, NULL},
    {SP_M_DB_ROUND_TRIPS, "support_db_round_trips_total",
     "Statements sent to the database and answered (prepares and commits included).", NULL,
     NULL},
    {SP_M_RATE_LIMITED, "support_rate_limited_total",
     "Requests refused by an application rate limit (429).", NULL, NULL},
    {SP_M_DB_READS_REPLICA, "support_db_replica_reads_total",
     "Read-mostly requests sent to the replica (SUPPORT_DATABASE_READ_URL), by where they went.",
     "target", "replica"},
    {SP_M_DB_READS_FALLBACK, "support_db_replica_reads_total", NULL, "target", "primary"},
};

void
sp_metrics_render(struct sp_buf *b, const char *const *methods, const char *const *patterns,
                  size_t nroutes)
{
    sp_prom_family(b, "support_http_requests_total", "counter",
                   "Requests answered by the workers, by route template and status class.");
    render_routes(b, methods, patterns, nroutes, false);
    sp_prom_family(b, "support_http_request_duration_seconds", "histogram",
                   "Time from the request's start in the worker to its access log line.");
    render_routes(b, methods, patterns, nroutes, true);
    sp_prom_family(b, "support_http_requests_in_flight", "gauge",
                   "Requests being served by the workers now (this scrape included).");
    sp_prom_sample(b, "support_http_requests_in_flight", NULL, (double)sp_metrics_inflight_now());
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        if (plain[i].help != NULL)
            sp_prom_family(b, plain[i].name, "counter", plain[i].help);
        const char *l[] = {plain[i].label, plain[i].value, NULL};
        sp_prom_sample_u64(b, plain[i].name, plain[i].label ? l : NULL, sp_metrics_get(plain[i].m));
    }
}
