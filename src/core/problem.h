/*
 * problem: the small outcome code set that travels up from domain code,
 * plus the detail a caller needs to fix its request. Only the HTTP edge
 * (sp_resp_problem in http/request.c) turns a problem into application/problem+json, and only
 * that edge logs it. Must not: know HTTP status codes or response formats.
 */
#ifndef SP_PROBLEM_H
#define SP_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>

enum sp_rc {
    SP_OK = 0,
    SP_INVALID,      /* caller's input is wrong (422, or 400 per code) */
    SP_NOT_FOUND,
    SP_CONFLICT,
    SP_FORBIDDEN,
    SP_UNAUTHORIZED,
    SP_PRECONDITION, /* If-Match mismatch */
    SP_TOO_LARGE,
    SP_RATE_LIMITED,
    SP_UNAVAILABLE,  /* a dependency (database, provider) is down */
    SP_ERROR         /* our fault */
};

#define SP_PROBLEM_MAX_ERRORS 16

/* Room for a message that names what is allowed ("must be one of: new,
 * open, …", "must be an integer from 0 to 100"): kept inside the problem,
 * so a problem copied by value keeps its messages. */
#define SP_PROBLEM_MESSAGE_MAX 192

struct sp_field_error {
    const char *field;
    const char *code;     /* e.g. required, too_long, wrong_type */
    char message[SP_PROBLEM_MESSAGE_MAX];
};

struct sp_problem {
    enum sp_rc rc;
    const char *code;     /* machine code, e.g. "invalid_transition" */
    char detail[256];
    size_t nerrors;
    struct sp_field_error errors[SP_PROBLEM_MAX_ERRORS];
    /* Already logged where it happened, with more context than the edge
     * has (a database failure: statement, SQLSTATE): the edge does not
     * log it again. */
    bool logged;
};

void sp_problem_init(struct sp_problem *p);
/* Sets rc, code and a printf-style detail; returns rc for tail calls. */
enum sp_rc sp_problem_set(struct sp_problem *p, enum sp_rc rc, const char *code,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The detail of a 422 by where its first fault is (API.md §1), one text
 * each: sp_problem_field and its two siblings set them, and code that
 * sets a validation_failed itself uses them, so the wording cannot drift. */
#define SP_PROBLEM_BODY_DETAIL "the request body has invalid fields"
#define SP_PROBLEM_QUERY_DETAIL "the query string has invalid parameters"
#define SP_PROBLEM_HEADER_DETAIL "the request has an invalid header"
/* A string with a NUL in it, which the database refuses: the message of
 * its field error (code invalid), wherever the string is. */
#define SP_PROBLEM_NUL_MESSAGE "must not contain NUL characters"

/* Adds a field error (validation_failed); extra errors beyond the cap are
 * dropped. field and code must outlive the problem (literals or arena
 * memory); the message is copied (cut at a character boundary past
 * SP_PROBLEM_MESSAGE_MAX - 1 bytes). */
void sp_problem_field(struct sp_problem *p, const char *field, const char *code,
                      const char *message);
/* Whether p holds a field error on field or on one of its items
 * ("field[2]", sp_problem_check_items): a check that would only say it
 * again is skipped. */
bool sp_problem_refuses(const struct sp_problem *p, const char *field);
/* The same with a printf-style message. */
void sp_problem_fieldf(struct sp_problem *p, const char *field, const char *code,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same for a query parameter and a request header: the error list is
 * one (errors[].field names the parameter or header), the detail says
 * where the fault is, so ?limit=abc is not called a body's fault. */
void sp_problem_query_field(struct sp_problem *p, const char *field, const char *code,
                            const char *message);
void sp_problem_header_field(struct sp_problem *p, const char *field, const char *code,
                             const char *message);

/* A printf-style message into msg (SP_PROBLEM_MESSAGE_MAX bytes; NULL:
 * nothing), cut at a character boundary as every field error's is: for a
 * message made before the error it goes with. Returns msg. */
const char *sp_problem_msgf(char *msg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes prefix and then the values, comma-separated, into msg
 * (SP_PROBLEM_MESSAGE_MAX bytes): "must be one of: a, b, c" names what is
 * allowed, so the caller can fix the request. At most n values, ending
 * at a NULL one before that (SIZE_MAX: a NULL-terminated list); a list too
 * long for msg ends with "…" after the last value that fits. Returns msg. */
const char *sp_problem_list_text(char *msg, const char *prefix, const char *const *values,
                                 size_t n);

/* A request field that is a list of at most max distinct strings, each
 * accepted by ok (article tags, agent skills, webhook event types): one
 * rule, so every such list is checked, and its errors worded, the same
 * way. */
struct sp_list_rule {
    const char *field;
    size_t max;
    bool (*ok)(const char *item);
    const char *items;        /* what they are, plural: "must have at most <max> <items>" */
    const char *bad_code;     /* code when ok refuses an item */
    const char *bad;          /* its message, of one item; with values, the text before them */
    const char *const *values;/* NULL-terminated, or NULL: the items ok accepts, listed */
    const char *duplicate;    /* message with code duplicate */
};
/* Checks items against r: more than max is one error on the list (field
 * "tags", code too_many); otherwise each item that breaks r (refused, or
 * equal to an earlier one) is a field error of its own, named by its
 * index ("tags[2]", as API.md §1 names an element), so one 422 points at
 * every bad item. A NULL item is a string its reader could not keep, one
 * with a NUL in it (SP_FIELD_LIST): invalid, SP_PROBLEM_NUL_MESSAGE.
 * Nothing when they pass; the names are allocated in a. */
struct sp_arena;
void sp_problem_check_items(struct sp_problem *p, struct sp_arena *a, const struct sp_list_rule *r,
                            const char *const *items, size_t n);

/* Writes "errors":[{field, code, message}, …] into the open object of w
 * when p has field errors (nothing otherwise). */
struct sp_jw;
void sp_problem_write_errors(struct sp_jw *w, const struct sp_problem *p);

#endif
