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

    {SP_GET,   "/support/agent/tickets", sp_api_agent_queue, SP_ROLE_AGENT},
    {SP_GET,   "/support/agent/tickets/:id", sp_api_agent_ticket_get, SP_ROLE_AGENT},
    {SP_PATCH, "/support/agent/tickets/:id", sp_api_agent_ticket_patch, SP_ROLE_AGENT},
    {SP_POST,  "/support/agent/tickets/:id/messages", sp_api_agent_ticket_reply, SP_ROLE_AGENT},
    {SP_POST,  "/support/agent/tickets/:id/claim", sp_api_agent_ticket_claim, SP_ROLE_AGENT},
    {SP_POST,  "/support/agent/tickets/:id/escalate", sp_api_agent_ticket_escalate, SP_ROLE_AGENT},
    {SP_GET,   "/support/agent/tickets/:id/events", sp_api_agent_ticket_events, SP_ROLE_AGENT},
    {SP_GET,   "/support/agent/me", sp_api_agent_me_get, SP_ROLE_AGENT},
    {SP_PATCH, "/support/agent/me", sp_api_agent_me_patch, SP_ROLE_AGENT},
};

const size_t sp_api_nroutes = sizeof(sp_api_routes) / sizeof(sp_api_routes[0]);
