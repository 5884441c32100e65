/*
 * handlers: every HTTP handler of support-api, listed once here and wired
 * in routes.c. A handler parses and validates input, calls the domain, and
 * renders JSON; it holds no SQL.
 */
#ifndef SP_HANDLERS_H
#define SP_HANDLERS_H

#include "http/http.h"

enum sp_rc sp_api_healthz(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_readyz(struct sp_req *r, struct sp_problem *p);

enum sp_rc sp_api_ticket_create(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_ticket_list(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_ticket_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_ticket_reply(struct sp_req *r, struct sp_problem *p);

#endif
