/*
 * routes: the one route table of support-api (method, pattern, handler,
 * role). Order matters only between patterns that could both match.
 */
#include "api/app.h"
#include "api/handlers.h"

const struct sp_route sp_api_routes[] = {
    {SP_GET,  "/support/healthz", sp_api_healthz, SP_ROLE_NONE},
    {SP_GET,  "/support/readyz", sp_api_readyz, SP_ROLE_NONE},

    {SP_POST, "/support/tickets", sp_api_ticket_create, SP_ROLE_CUSTOMER},
    {SP_GET,  "/support/tickets", sp_api_ticket_list, SP_ROLE_CUSTOMER},
    {SP_GET,  "/support/tickets/:publicId", sp_api_ticket_get, SP_ROLE_CUSTOMER},
    {SP_POST, "/support/tickets/:publicId/messages", sp_api_ticket_reply, SP_ROLE_CUSTOMER},
};

const size_t sp_api_nroutes = sizeof(sp_api_routes) / sizeof(sp_api_routes[0]);
