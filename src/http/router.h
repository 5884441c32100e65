/*
 * router: one table of routes (method, pattern, handler, required role),
 * like kcgi's page tables. Patterns are literal segments and ":name"
 * parameters ("/support/tickets/:publicId/messages"). A path that matches
 * a pattern under another method yields the Allow list for a 405.
 * Must not: allocate per request beyond the caller's arena.
 */
#ifndef SP_ROUTER_H
#define SP_ROUTER_H

#include <stddef.h>

#include "http/http.h"

struct sp_arena;

typedef enum sp_rc (*sp_handler)(struct sp_req *r, struct sp_problem *p);

struct sp_route {
    enum sp_method method;
    const char *pattern;
    sp_handler handler;
    enum sp_role role;      /* SP_ROLE_NONE: public; SP_ROUTE_ANY_ROLE: any
                             * authenticated caller (the handler decides) */
};

#define SP_ROUTE_ANY_ROLE SP_ROLE_MAX

enum sp_route_result { SP_ROUTE_FOUND, SP_ROUTE_NOT_FOUND, SP_ROUTE_BAD_METHOD };

/* raw[0..n), a request's path as the client sent it, as the router reads
 * it: each percent-encoded unreserved character (RFC 3986 §2.3: ALPHA
 * DIGIT - . _ ~, either case of hex) decoded, since §6.2.2.2 makes it the
 * same URI and nginx matched its locations on the decoded path;
 * everything else as sent (%2F is not a segment's end, %20 stays %20,
 * a bad escape stays as it is). Never decodes twice: "%252D" stays.
 * Arena-owned. */
const char *sp_router_path(struct sp_arena *a, const char *raw, size_t n);

/* On FOUND, *route is set and r->params/r->nparams hold the parameters
 * (as in r->path: see sp_router_path). A path with a "." or ".." segment
 * matches nothing (nginx resolved it before choosing its location). On
 * BAD_METHOD, allow holds the path's methods in table order, e.g. "GET,
 * HEAD, POST": HEAD is served as GET wherever there is a GET route, and
 * listed after it. */
enum sp_route_result sp_router_match(const struct sp_route *routes, size_t n,
                                     struct sp_req *r, const struct sp_route **route,
                                     char *allow, size_t allowlen);

#endif
