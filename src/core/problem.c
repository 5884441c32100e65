/*
 * problem: outcome + detail carrier. See problem.h.
 */
#include "core/problem.h"

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

void
sp_problem_field(struct sp_problem *p, const char *field, const char *code,
                 const char *message)
{
    p->rc = SP_INVALID;
    if (p->code == NULL)
        p->code = "validation_failed";
    if (p->detail[0] == '\0')
        snprintf(p->detail, sizeof(p->detail), "the request body has invalid fields");
    if (p->nerrors < SP_PROBLEM_MAX_ERRORS) {
        p->errors[p->nerrors].field = field;
        p->errors[p->nerrors].code = code;
        p->errors[p->nerrors].message = message;
        p->nerrors++;
    }
}
