/*
 * dispatch: one request from CGI params to a response: request id,
 * routing (404/405), authentication and role (401/403), the handler, the
 * problem+json rendering of whatever went wrong, and the access log line.
 * Must not: know the FastCGI transport (server.c reads the socket) or any
 * domain concept.
 */
#ifndef SP_DISPATCH_H
#define SP_DISPATCH_H

#include "http/router.h"

/* Prepares r from CGI params: method, path, query, request id. The body is
 * attached by the caller (r->body/r->body_len). */
void sp_req_init(struct sp_req *r, struct sp_arena *a, const struct sp_http_env *env,
                 char **envp);
/* Routes and answers r; always produces exactly one response. */
void sp_http_handle(struct sp_req *r, const struct sp_route *routes, size_t nroutes);
/* Answers r with a problem (used when the body cannot be read). */
void sp_http_fail(struct sp_req *r, const struct sp_problem *p);

#endif
