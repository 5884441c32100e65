/*
 * log: JSON-lines logger. A line is built in a private arena and written
 * with one write(2) so lines from several workers sharing stderr never
 * interleave mid-line.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/buf.h"

struct sp_log_line {
    struct sp_buf buf;
};

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

static enum sp_log_level min_level = SP_LOG_INFO;
static const char *program = NULL;
static char request_id[129];
static struct sp_arena log_arena;
static bool log_arena_ready;
static struct sp_log_line current;

bool
sp_log_parse_level(const char *s, enum sp_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum sp_log_level)i;
            return true;
        }
    }
    return false;
}

void
sp_log_set_level(enum sp_log_level min)
{
    min_level = min;
}

void
sp_log_set_program(const char *name)
{
    program = name;
}

void
sp_log_set_request_id(const char *rid)
{
    if (rid == NULL) {
        request_id[0] = '\0';
        return;
    }
    snprintf(request_id, sizeof(request_id), "%s", rid);
}

struct sp_log_line *
sp_log_begin(enum sp_log_level level, const char *event)
{
    if (level < min_level)
        return NULL;
    if (!log_arena_ready) {
        sp_arena_init(&log_arena, 4096);
        log_arena_ready = true;
    }
    int64_t now = sp_clock_now_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[96];
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(now % 1000));

    struct sp_log_line *l = &current;
    sp_buf_init(&l->buf, &log_arena, 512);
    sp_buf_printf(&l->buf, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts, level_names[level]);
    sp_buf_json_cstr(&l->buf, event);
    if (program != NULL) {
        sp_buf_puts(&l->buf, ",\"program\":");
        sp_buf_json_cstr(&l->buf, program);
    }
    sp_buf_printf(&l->buf, ",\"pid\":%ld", (long)getpid());
    if (request_id[0] != '\0') {
        sp_buf_puts(&l->buf, ",\"request_id\":");
        sp_buf_json_cstr(&l->buf, request_id);
    }
    return l;
}

static void
sp_log_key(struct sp_log_line *l, const char *key)
{
    sp_buf_putc(&l->buf, ',');
    sp_buf_json_cstr(&l->buf, key);
    sp_buf_putc(&l->buf, ':');
}

void
sp_log_str(struct sp_log_line *l, const char *key, const char *value)
{
    if (l == NULL)
        return;
    sp_log_key(l, key);
    sp_buf_json_cstr(&l->buf, value);
}

void
sp_log_int(struct sp_log_line *l, const char *key, long long value)
{
    if (l == NULL)
        return;
    sp_log_key(l, key);
    sp_buf_printf(&l->buf, "%lld", value);
}

void
sp_log_double(struct sp_log_line *l, const char *key, double value)
{
    if (l == NULL)
        return;
    sp_log_key(l, key);
    sp_buf_printf(&l->buf, "%.3f", value);
}

void
sp_log_end(struct sp_log_line *l)
{
    if (l == NULL)
        return;
    sp_buf_puts(&l->buf, "}\n");
    const char *p = l->buf.data;
    size_t left = l->buf.len;
    while (left > 0) {
        ssize_t n = write(STDERR_FILENO, p, left);
        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    sp_arena_reset(&log_arena);
}

void
sp_log_step_failed(enum sp_log_level level, const char *event, const char *step,
                   const char *detail)
{
    struct sp_log_line *l = sp_log_begin(level, event);
    sp_log_str(l, "step", step);
    sp_log_str(l, "detail", detail);
    sp_log_end(l);
}

void
sp_log_msg(enum sp_log_level level, const char *event, const char *fmt, ...)
{
    struct sp_log_line *l = sp_log_begin(level, event);
    if (l == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sp_log_str(l, "msg", msg);
    sp_log_end(l);
}

void
sp_log_bad_config(const char *err)
{
    sp_log_msg(SP_LOG_FATAL, "bad_config", "%s", err);
    /* Only to a person: stderr is also the log file (cron's >> into
     * /var/log/support, the journal), which holds JSON lines alone. */
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "%s: %s\n", program != NULL ? program : "support", err);
}
