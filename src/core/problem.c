/*
 * problem: outcome + detail carrier. See problem.h.
 */
#include "core/problem.h"

#include "core/arena.h"
#include "core/json_writer.h"
#include "core/utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void
sp_problem_init(struct sp_problem *p)
{
    p->rc = SP_OK;
    p->code = NULL;
    p->detail[0] = '\0';
    p->nerrors = 0;
    p->logged = false;
}

enum sp_rc
sp_problem_set(struct sp_problem *p, enum sp_rc rc, const char *code,
               const char *fmt, ...)
{
    p->rc = rc;
    p->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
    va_end(ap);
    return rc;
}

/* The detail is the first fault's: later errors join its list. Returns
 * the new error's message buffer to write, or NULL past the cap. */
static char *
field_error(struct sp_problem *p, const char *detail, const char *field, const char *code)
{
    p->rc = SP_INVALID;
    if (p->code == NULL)
        p->code = "validation_failed";
    if (p->detail[0] == '\0')
        snprintf(p->detail, sizeof(p->detail), "%s", detail);
    if (p->nerrors >= SP_PROBLEM_MAX_ERRORS)
        return NULL;
    struct sp_field_error *e = &p->errors[p->nerrors++];
    e->field = field;
    e->code = code;
    e->message[0] = '\0';
    return e->message;
}

/* vsnprintf into a message buffer (NULL: past the cap, nothing); a cut
 * message ends at a character boundary (no half UTF-8 sequence in the
 * JSON). */
static void
message_vprintf(char *m, const char *fmt, va_list ap)
{
    if (m == NULL)
        return;
    int n = vsnprintf(m, SP_PROBLEM_MESSAGE_MAX, fmt, ap);
    if (n >= SP_PROBLEM_MESSAGE_MAX) {
        m[sp_utf8_floor(m, SP_PROBLEM_MESSAGE_MAX - 1)] = '\0';
    }
}

const char *
sp_problem_msgf(char *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message_vprintf(msg, fmt, ap);
    va_end(ap);
    return msg;
}

/* A field error with its message given whole (NULL: empty). The body's,
 * the query's and the headers' setters differ only in the detail. */
static void
field_message(struct sp_problem *p, const char *detail, const char *field, const char *code,
              const char *message)
{
    (void)sp_problem_msgf(field_error(p, detail, field, code), "%s",
                          message != NULL ? message : "");
}

void
sp_problem_field(struct sp_problem *p, const char *field, const char *code,
                 const char *message)
{
    field_message(p, SP_PROBLEM_BODY_DETAIL, field, code, message);
}

bool
sp_problem_refuses(const struct sp_problem *p, const char *field)
{
    size_t len = strlen(field);
    for (size_t i = 0; i < p->nerrors; i++) {
        const char *f = p->errors[i].field;
        if (strncmp(f, field, len) == 0 && (f[len] == '\0' || f[len] == '['))
            return true;
    }
    return false;
}

void
sp_problem_fieldf(struct sp_problem *p, const char *field, const char *code, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    message_vprintf(field_error(p, SP_PROBLEM_BODY_DETAIL, field, code), fmt, ap);
    va_end(ap);
}

void
sp_problem_query_field(struct sp_problem *p, const char *field, const char *code,
                       const char *message)
{
    field_message(p, SP_PROBLEM_QUERY_DETAIL, field, code, message);
}

void
sp_problem_header_field(struct sp_problem *p, const char *field, const char *code,
                        const char *message)
{
    field_message(p, SP_PROBLEM_HEADER_DETAIL, field, code, message);
}

const char *
sp_problem_list_text(char *msg, const char *prefix, const char *const *values, size_t n)
{
    size_t used = (size_t)snprintf(msg, SP_PROBLEM_MESSAGE_MAX, "%s", prefix);
    if (used >= SP_PROBLEM_MESSAGE_MAX)
        return msg;
    for (size_t i = 0; i < n && values[i] != NULL; i++) {
        size_t need = strlen(values[i]) + (i > 0 ? 2 : 0);
        if (used + need + sizeof("…") > SP_PROBLEM_MESSAGE_MAX) {
            snprintf(msg + used, SP_PROBLEM_MESSAGE_MAX - used, "%s…", i > 0 ? ", " : "");
            break;
        }
        used += (size_t)snprintf(msg + used, SP_PROBLEM_MESSAGE_MAX - used, "%s%s",
                                 i > 0 ? ", " : "", values[i]);
    }
    return msg;
}

/* How item i of items breaks r (its code, and its message in msg), or
 * NULL when it passes: refused, or equal to an earlier one. */
static const char *
item_fault(const struct sp_list_rule *r, const char *const *items, size_t i,
           const char **message, char msg[SP_PROBLEM_MESSAGE_MAX])
{
    if (items[i] == NULL) {
        *message = SP_PROBLEM_NUL_MESSAGE;
        return "invalid";
    }
    if (!r->ok(items[i])) {
        *message = r->values != NULL ? sp_problem_list_text(msg, r->bad, r->values, SIZE_MAX)
                                     : r->bad;
        return r->bad_code;
    }
    for (size_t j = 0; j < i; j++)
        if (items[j] != NULL && strcmp(items[i], items[j]) == 0) {
            *message = r->duplicate;
            return "duplicate";
        }
    return NULL;
}

void
sp_problem_check_items(struct sp_problem *p, struct sp_arena *a, const struct sp_list_rule *r,
                       const char *const *items, size_t n)
{
    if (n > r->max) {
        sp_problem_fieldf(p, r->field, "too_many", "must have at most %zu %s", r->max, r->items);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char msg[SP_PROBLEM_MESSAGE_MAX];
        const char *message;
        const char *code = item_fault(r, items, i, &message, msg);
        if (code != NULL)
            sp_problem_field(p, sp_arena_sprintf(a, "%s[%zu]", r->field, i), code, message);
    }
}

void
sp_problem_write_errors(struct sp_jw *w, const struct sp_problem *p)
{
    if (p->nerrors == 0)
        return;
    sp_jw_karray(w, "errors");
    for (size_t i = 0; i < p->nerrors; i++) {
        sp_jw_object(w);
        sp_jw_kstr(w, "field", p->errors[i].field);
        sp_jw_kstr(w, "code", p->errors[i].code);
        sp_jw_kstr(w, "message", p->errors[i].message);
        sp_jw_end(w);
    }
    sp_jw_end(w);
}
