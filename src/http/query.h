/*
 * query: query strings validated from field tables, like request bodies
 * (core/json.h sp_json_validate): one table per endpoint says which
 * parameters exist, their type and bounds, and one reader fills the values
 * and collects every field error (422 validation_failed) before returning.
 * Unknown parameters are ignored, and a parameter given empty ("q=") is
 * absent, in every list (API.md §1). Names and values are
 * percent-decoded alike (sp_url_decode), values into the request's arena.
 * Must not: know the domain (enum tables come in through the specs).
 */
#ifndef SP_QUERY_H
#define SP_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/problem.h"

struct sp_req;

enum sp_query_type {
    SP_QUERY_INT,        /* integer in [min, max]; def when absent */
    SP_QUERY_STRING,     /* min..max code points, every byte in charset (NULL: any) */
    SP_QUERY_ENUM,       /* one of values / accepted by parse: i = its index */
    SP_QUERY_SET,        /* comma list of ENUM items: bit i of set */
    SP_QUERY_LIST,       /* comma list of STRING items (min..max code points each);
                            one of commas only is valid (no items) */
    SP_QUERY_TIMESTAMP,  /* RFC 3339: ms */
    SP_QUERY_CURSOR,     /* a cursor of this list (kind): i = its position */
};

struct sp_query_spec {
    const char *name;
    enum sp_query_type type;
    long long min, max;               /* INT bounds; STRING/LIST lengths (code points) */
    long long def;                    /* INT value, ENUM index when absent */
    const char *const *values;        /* ENUM/SET: NULL-terminated names */
    bool (*parse)(const char *s, int *index); /* ENUM/SET without a table */
    const char *charset;              /* STRING/LIST bytes allowed */
    const char *kind;                 /* CURSOR */
    const char *message;              /* the field error's text */
    /* Only pages the list (limit, a cursor read as STRING): left out of
     * sp_query_scope, as CURSOR specs are; every other spec filters. */
    bool pages;
};

struct sp_query_value {
    bool present;
    const char *str;                  /* the decoded text (every type) */
    long long i;                      /* INT, ENUM index, CURSOR position */
    uint64_t set;                     /* SET */
    const char **items;               /* LIST */
    size_t nitems;
    int64_t ms;                       /* TIMESTAMP */
};

/* Reads every spec'd parameter of r's query into out[n]; SP_INVALID with
 * one field error per bad parameter (code "invalid", the spec's message). */
enum sp_rc sp_query_read(struct sp_req *r, const struct sp_query_spec *specs, size_t n,
                         struct sp_query_value *out, struct sp_problem *p);

/* The scope of the cursors of a list whose query specs[0..n) declare
 * (core/cursor.h): sp_req_scope(r), then the name and value of each
 * filter the request gives (not empty: absent), length-prefixed, in spec order; the paging
 * parameters (CURSOR specs, pages) are left out, so limit may change
 * from page to page. A cursor is refused by the same list under other
 * filters (QA: a cursor of ?q=xss went on with ?q=refund, one of
 * ?tag=xss with the unfiltered list); a list asked without filters has
 * sp_req_scope's scope. A CURSOR spec is decoded in it. Arena-owned. */
const char *sp_query_scope(struct sp_req *r, const struct sp_query_spec *specs, size_t n);

/* The items of a comma list (empty items dropped), in the arena of r. */
size_t sp_query_split(struct sp_req *r, const char *list, const char ***out);

#endif
