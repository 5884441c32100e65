/*
 * log: JSON lines on stderr, one event per line, always with ts, level,
 * event and (inside a request) request_id. Values are escaped by the one
 * JSON escaper so user text cannot forge lines. Callers must never pass
 * PII, tokens or secrets.
 *
 *   struct sp_log_line *l = sp_log_begin(SP_LOG_INFO, "access");
 *   sp_log_str(l, "method", "GET");
 *   sp_log_int(l, "status", 200);
 *   sp_log_end(l);
 */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <stdbool.h>

enum sp_log_level { SP_LOG_DEBUG = 0, SP_LOG_INFO, SP_LOG_WARN, SP_LOG_ERROR, SP_LOG_FATAL };

struct sp_log_line;

bool sp_log_parse_level(const char *s, enum sp_log_level *out);
void sp_log_set_level(enum sp_log_level min);
void sp_log_set_program(const char *name);
/* The request id is attached to every line until cleared (NULL). */
void sp_log_set_request_id(const char *request_id);

/* Returns NULL when the level is filtered out; the other calls accept NULL. */
struct sp_log_line *sp_log_begin(enum sp_log_level level, const char *event);
void sp_log_str(struct sp_log_line *l, const char *key, const char *value);
void sp_log_int(struct sp_log_line *l, const char *key, long long value);
void sp_log_double(struct sp_log_line *l, const char *key, double value);
void sp_log_end(struct sp_log_line *l);

/*
 * A batch pass's counts: one list of names declares the struct and writes
 * the log line, so a count added to the list is logged with no other edit.
 *
 *   #define SP_X_COUNTS(F) F(closed) F(skipped) F(errors)
 *   struct sp_x_counts { SP_X_COUNTS(SP_LOG_COUNT_MEMBER) };
 *   ...
 *   SP_LOG_COUNTS(l, SP_X_COUNTS, n);   // closed=… skipped=… errors=…
 */
#define SP_LOG_COUNT_MEMBER(name) long name;
#define SP_LOG_COUNT_WRITE_(name) sp_log_int(sp_log_l_, #name, sp_log_n_->name);
#define SP_LOG_COUNTS(l, LIST, n)                                                                  \
    do {                                                                                           \
        struct sp_log_line *sp_log_l_ = (l);                                                       \
        __typeof__(n) sp_log_n_ = (n);                                                             \
        LIST(SP_LOG_COUNT_WRITE_)                                                                  \
    } while (0)

/* A step of a task failed, and why: {event, step, detail}. For failures
 * no caller reports (a revoke or presence write after the response went
 * out), so they are logged once, where they happen. */
void sp_log_step_failed(enum sp_log_level level, const char *event, const char *step,
                        const char *detail);

/* A program refuses its settings: a fatal {event "bad_config"} line for
 * the logs, then, when stderr is a terminal, "program: err" plainly for
 * whoever started it by hand. err names a variable, never its value. */
void sp_log_bad_config(const char *err);

/* One-liner for the common "event + message" case. */
void sp_log_msg(enum sp_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
