/*
 * metrics: the process group's counters and the Prometheus text
 * exposition writer (docs/metrics.md).
 *
 * The master maps one shared, anonymous segment before it forks
 * (sp_metrics_init); every worker inherits it, so one scrape answered by
 * any worker sees the whole group, and counters survive worker restarts
 * and reloads (the master and its segment stay). Counters are C11 atomics
 * updated with relaxed order: the hot path (every request) is a few
 * atomic adds — no lock, no allocation, no system call. Before init (unit
 * tests, programs that never call it) every update is a no-op.
 *
 * Routes are counted by their index in the route table (their template,
 * never the raw path: bounded cardinality); a request that matched no
 * route is counted under one "unmatched" slot.
 * Must not: know HTTP, SQL or any domain concept; allocate on the hot path.
 */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp_buf;

/* Plain counters of the group (one atomic each). */
enum sp_metric {
    SP_M_WORKER_RESTARTS,       /* a worker died and the master forked another */
    SP_M_RELOADS,               /* SIGHUP reloads that replaced the workers */
    SP_M_DB_ERRORS_CONFLICT,    /* statements that failed, by outcome */
    SP_M_DB_ERRORS_UNAVAILABLE,
    SP_M_DB_ERRORS_OTHER,
    SP_M_DB_CONNECTS,           /* connections opened (the first and reconnects) */
    SP_M_DB_CONNECT_FAILURES,
    SP_M_DB_CONNECTIONS_LOST,   /* a statement found its connection gone */
    SP_M_DB_PREPARES,           /* statements prepared (cache misses) */
    SP_M_DB_ROUND_TRIPS,        /* messages sent to the database and answered */
    SP_M_RATE_LIMITED,          /* application rate limits exceeded (429) */
    SP_M_DB_READS_REPLICA,      /* read-mostly requests served by the replica */
    SP_M_DB_READS_FALLBACK,     /* ... by the primary, the replica being down */
    SP_M_MAX
};

/* Upper bounds of the latency buckets, in microseconds (+Inf implied). */
#define SP_METRICS_NBUCKETS 11
extern const uint64_t sp_metrics_bucket_us[SP_METRICS_NBUCKETS];

/* Maps the segment for nroutes routes (+ the unmatched slot). Called once,
 * by the master before its first fork; false (logged by the caller) keeps
 * counting off. A second call keeps the first segment. */
bool sp_metrics_init(size_t nroutes);
bool sp_metrics_enabled(void);

/* The hot path. route: index in the table, or -1 when none matched. */
void sp_metrics_inflight(int delta);
void sp_metrics_request(int route, int status, uint64_t elapsed_us);
void sp_metrics_count(enum sp_metric m);
/* One database round trip: counted in the group's SP_M_DB_ROUND_TRIPS
 * and in this process's own total, which works before init too (the
 * access line gives each request's share: sp_metrics_db_round_trips). */
void sp_metrics_db_round_trip(void);
uint64_t sp_metrics_db_round_trips(void);

/* What a scrape reads of one route (a snapshot: each atomic read once). */
struct sp_metrics_route_snap {
    uint64_t status_class[5];               /* 1xx … 5xx */
    uint64_t bucket[SP_METRICS_NBUCKETS + 1]; /* cumulative; the last is +Inf */
    uint64_t count;                         /* == bucket[SP_METRICS_NBUCKETS] */
    uint64_t sum_us;
};
/* false when route is out of range or counting is off. route == nroutes
 * is the unmatched slot. */
bool sp_metrics_route_snap(size_t route, struct sp_metrics_route_snap *out);
uint64_t sp_metrics_get(enum sp_metric m);
int64_t sp_metrics_inflight_now(void);
size_t sp_metrics_nroutes(void);

/* ---- the exposition writer (text format 0.0.4) ---------------------------
 * Metric names are the caller's constants; label values are escaped
 * (backslash, double quote, newline), so any text is safe there. */
#define SP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help\n# TYPE name type\n" (help escapes \ and newline). */
void sp_prom_family(struct sp_buf *b, const char *name, const char *type, const char *help);
/* name{k1="v1",k2="v2"} value — labels: NULL-terminated k,v pairs or NULL. */
void sp_prom_sample(struct sp_buf *b, const char *name, const char *const *labels,
                    double value);
void sp_prom_sample_u64(struct sp_buf *b, const char *name, const char *const *labels,
                        uint64_t value);
/* The escaped label value v, appended to b (without quotes). */
void sp_prom_label_value(struct sp_buf *b, const char *v);

/* Writes every shared counter: requests, latency histograms, in-flight,
 * workers, database, rate limits. methods[i]/patterns[i] label route i. */
void sp_metrics_render(struct sp_buf *b, const char *const *methods,
                       const char *const *patterns, size_t nroutes);

#endif
