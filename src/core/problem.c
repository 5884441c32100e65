/*
 * problem: outcome + detail carrier. See problem.h.
 */
#include "core/problem.h"

#include "core/json_writer.h"

#include <stdarg.h>
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
        size_t end = SP_PROBLEM_MESSAGE_MAX - 1;
        while (end > 0 && ((unsigned char)m[end] & 0xC0) == 0x80)
            end--;
        m[end] = '\0';
    }
}

static void __attribute__((format(printf, 2, 3)))
message_printf(char *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message_vprintf(m, fmt, ap);
    va_end(ap);
}

void
sp_problem_field(struct sp_problem *p, const char *field, const char *code,
                 const char *message)
{
    message_printf(field_error(p, SP_PROBLEM_BODY_DETAIL, field, code), "%s",
                   message != NULL ? message : "");
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
    message_printf(field_error(p, SP_PROBLEM_QUERY_DETAIL, field, code), "%s",
                   message != NULL ? message : "");
}

void
sp_problem_header_field(struct sp_problem *p, const char *field, const char *code,
                        const char *message)
{
    message_printf(field_error(p, SP_PROBLEM_HEADER_DETAIL, field, code), "%s",
                   message != NULL ? message : "");
}

void
sp_problem_check_list(struct sp_problem *p, const struct sp_list_rule *r,
                      const char *const *items, size_t n)
{
    if (n > r->max) {
        sp_problem_field(p, r->field, "too_many", r->too_many);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!r->ok(items[i])) {
            sp_problem_field(p, r->field, r->bad_code, r->bad);
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(items[i], items[j]) == 0) {
                sp_problem_field(p, r->field, "duplicate", r->duplicate);
                return;
            }
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
