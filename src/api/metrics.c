/*
 * metrics: GET /metrics, the Prometheus scrape (docs/metrics.md), and
 * support-chat's GET /chat/metrics (its own counters only). The
 * shared counters of the process group (core/metrics.h) plus what is read
 * at scrape time: the outbox's and webhook deliveries' backlogs and open
 * SLA breaches (domain/backlog), batch-job runs (domain/job_runs), nchan's
 * counters (domain/chat_bus), the replica's lag when there is one (domain/store).
 * A source that does not answer is reported by
 * support_scrape_source_up{source=…} 0, never by failing the scrape.
 *
 * Served only through the operators' listener: nginx's operators server
 * (nginx/support.conf.in) sets the FastCGI parameter SUPPORT_LISTENER to
 * "operators", which no client can send (clients reach only HTTP_*
 * parameters); without it the answer is the 404 of an unknown path, so
 * a public server that passed the path on by mistake still leaks nothing.
 * Must not: hold SQL; be answered on the public listener.
 */
#include "api/handlers.h"

#include <string.h>

#include "api/app.h"
#include "api/chat_transport.h"
#include "api/common.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "domain/backlog.h"
#include "domain/chat_bus.h"
#include "domain/job_runs.h"
#include "domain/store.h"

static void
source_up(struct sp_buf *b, const char *source, bool up)
{
    const char *l[] = {"source", source, NULL};
    sp_prom_sample(b, "support_scrape_source_up", l, up ? 1 : 0);
}

static bool
render_backlog(struct sp_req *r, struct sp_buf *b)
{
    struct sp_ctx ctx = sp_api_ctx(r);
    struct sp_backlog bl;
    struct sp_problem p;
    sp_problem_init(&p);
    if (sp_backlog_read(&ctx, &bl, &p) != SP_OK)
        return false;
    const struct {
        const char *name, *help;
        double value;
    } gauges[] = {
        {"support_outbox_pending", "Outbox entries waiting for delivery.",
         (double)bl.outbox_pending},
        {"support_outbox_oldest_pending_age_seconds",
         "Age of the oldest pending outbox entry (0 when none).", bl.outbox_oldest_pending_age_s},
        {"support_outbox_failed", "Outbox entries whose delivery was given up (delivery failures).",
         (double)bl.outbox_failed},
        {"support_webhook_deliveries_pending",
         "Webhook deliveries of active webhooks waiting to be sent or retried.",
         (double)bl.webhook_pending},
        {"support_webhook_deliveries_oldest_pending_age_seconds",
         "Age of the oldest of those (0 when none).", bl.webhook_oldest_pending_age_s},
        {"support_webhook_deliveries_failed_24h",
         "Webhook deliveries given up in the last 24 hours.", (double)bl.webhook_failed_24h},
        {"support_tickets_sla_breached_open", "Tickets not closed whose SLA is breached.",
         (double)bl.tickets_sla_breached_open},
    };
    for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
        sp_prom_family(b, gauges[i].name, "gauge", gauges[i].help);
        sp_prom_sample(b, gauges[i].name, NULL, gauges[i].value);
    }
    return true;
}

static bool
render_jobs(struct sp_req *r, struct sp_buf *b)
{
    struct sp_job_run_row *rows;
    size_t n;
    struct sp_problem p;
    sp_problem_init(&p);
    if (sp_job_runs_list(r->env->db, r->arena, &rows, &n, &p) != SP_OK)
        return false;
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"support_job_runs_total", "counter", "Passes of a batch job."},
        {"support_job_failures_total", "counter", "Passes of a batch job that failed."},
        {"support_job_last_run_timestamp_seconds", "gauge", "When the job last ran."},
        {"support_job_last_success_timestamp_seconds", "gauge",
         "When the job last succeeded (0: never)."},
        {"support_job_last_duration_seconds", "gauge", "How long the job's last pass took."},
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        sp_prom_family(b, fam[f].name, fam[f].type, fam[f].help);
        for (size_t i = 0; i < n; i++) {
            const char *l[] = {"job", rows[i].job, NULL};
            double v = f == 0   ? (double)rows[i].runs
                       : f == 1 ? (double)rows[i].failures
                       : f == 2 ? rows[i].last_run_s
                       : f == 3 ? rows[i].last_success_s
                                : rows[i].last_duration_s;
            sp_prom_sample(b, fam[f].name, l, v);
        }
    }
    return true;
}

/* The replica's lag, read on the worker's replica connection (only when
 * SUPPORT_DATABASE_READ_URL is set). */
static bool
render_replica(struct sp_req *r, struct sp_buf *b)
{
    struct sp_store_replica s;
    if (!sp_store_replica_status(r->env->read_db, r->arena, &s))
        return false;
    sp_prom_family(b, "support_db_replica_in_recovery", "gauge",
                   "1 when the read database is a standby replaying WAL (0: it is a primary).");
    sp_prom_sample(b, "support_db_replica_in_recovery", NULL, s.in_recovery ? 1 : 0);
    sp_prom_family(b, "support_db_replica_lag_seconds", "gauge",
                   "Age of the newest commit the replica replayed, while WAL waits to be "
                   "replayed (0 when caught up).");
    sp_prom_sample(b, "support_db_replica_lag_seconds", NULL, s.lag_s);
    sp_prom_family(b, "support_db_replica_replay_lag_bytes", "gauge",
                   "WAL the replica received but has not replayed yet.");
    sp_prom_sample(b, "support_db_replica_replay_lag_bytes", NULL, s.replay_lag_bytes);
    return true;
}

static bool
render_chat(struct sp_buf *b)
{
    struct sp_chat_bus_stats s;
    if (!sp_chat_bus_stats(&s))
        return false;
    sp_prom_family(b, "support_chat_subscribers", "gauge",
                   "Chat subscribers connected to nchan (this nginx).");
    sp_prom_sample(b, "support_chat_subscribers", NULL, (double)s.subscribers);
    sp_prom_family(b, "support_chat_channels", "gauge", "nchan channels (this nginx).");
    sp_prom_sample(b, "support_chat_channels", NULL, (double)s.channels);
    sp_prom_family(b, "support_chat_messages_published_total", "counter",
                   "Messages published to nchan since nginx started.");
    sp_prom_sample(b, "support_chat_messages_published_total", NULL, (double)s.published);
    sp_prom_family(b, "support_chat_messages_stored", "gauge",
                   "Messages nchan holds in its buffers.");
    sp_prom_sample(b, "support_chat_messages_stored", NULL, (double)s.stored);
    return true;
}

bool
sp_api_operators_route(const struct sp_route *route)
{
    return route->handler == sp_api_metrics || route->handler == sp_chat_t_metrics;
}

/* The gate of both pages: SUPPORT_LISTENER is "operators" only on the
 * operators' server; anywhere else the page is an unknown path. */
static bool
operators_listener(struct sp_req *r, struct sp_problem *p)
{
    if (sp_req_operators(r))
        return true;
    sp_problem_set(p, SP_NOT_FOUND, "not_found", "no such resource");
    return false;
}

/* The page's start: the process group's shared counters, routes labelled
 * by this program's route table (each program has its own segment). */
static struct sp_buf *
counters_page(struct sp_req *r, const struct sp_route *routes, size_t nroutes)
{
    const char **methods = sp_arena_alloc(r->arena, sizeof(char *) * nroutes);
    const char **patterns = sp_arena_alloc(r->arena, sizeof(char *) * nroutes);
    for (size_t i = 0; i < nroutes; i++) {
        methods[i] = sp_method_name(routes[i].method);
        patterns[i] = routes[i].pattern;
    }
    struct sp_buf *b = sp_api_buf(r);
    sp_metrics_render(b, methods, patterns, nroutes);
    return b;
}

static enum sp_rc
send_page(struct sp_req *r, const struct sp_buf *b)
{
    sp_resp_header(r, "Cache-Control", "no-store");
    sp_resp_send(r, 200, SP_METRICS_CONTENT_TYPE, b->data, b->len);
    return SP_OK;
}

enum sp_rc
sp_api_metrics(struct sp_req *r, struct sp_problem *p)
{
    if (!operators_listener(r, p))
        return p->rc;
    struct sp_buf *b = counters_page(r, sp_api_routes, sp_api_nroutes);
    bool db = render_backlog(r, b);
    bool jobs = db && render_jobs(r, b);
    bool chat = render_chat(b);
    bool replica = r->env->read_db != NULL && render_replica(r, b);
    sp_prom_family(b, "support_scrape_source_up", "gauge",
                   "Whether a source read at scrape time answered (1) or not (0).");
    source_up(b, "database", db && jobs);
    source_up(b, "nchan", chat);
    if (r->env->read_db != NULL)
        source_up(b, "replica", replica);
    return send_page(r, b);
}

/* support-chat's page (GET /chat/metrics on the operators' listener): its
 * own group's counters only. The scrape-time sources (backlogs, jobs,
 * nchan, the replica) are support-api's page's: read once per scrape,
 * not twice. The series carry no label of their own; Prometheus tells
 * them from support-api's by the scrape job (docs/prometheus). */
enum sp_rc
sp_chat_t_metrics(struct sp_req *r, struct sp_problem *p)
{
    if (!operators_listener(r, p))
        return p->rc;
    return send_page(r, counters_page(r, sp_chat_routes, sp_chat_nroutes));
}
