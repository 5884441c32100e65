/*
 * routes: the one route table of support-api (method, pattern, handler,
 * role). Order matters only between patterns that could both match.
 */
#include "api/app.h"
#include "api/handlers.h"

const struct sp_route sp_api_routes[] = {
    {SP_GET,  "/support/healthz", sp_api_healthz, SP_ROLE_NONE},
    {SP_GET,  "/support/readyz", sp_api_readyz, SP_ROLE_NONE},
    /* Operators' listener only (api/metrics.c, docs/metrics.md): both
     * paths, so a scrape config may name either. */
    {SP_GET,  "/metrics", sp_api_metrics, SP_ROLE_NONE},
    {SP_GET,  "/support/metrics", sp_api_metrics, SP_ROLE_NONE},

    {SP_POST, "/support/tickets", sp_api_ticket_create, SP_ROLE_CUSTOMER},
    {SP_GET,  "/support/tickets", sp_api_ticket_list, SP_ROLE_CUSTOMER},
    {SP_GET,  "/support/tickets/:publicId", sp_api_ticket_get, SP_ROLE_CUSTOMER},
    {SP_POST, "/support/tickets/:publicId/messages", sp_api_ticket_reply, SP_ROLE_CUSTOMER},
    {SP_POST, "/support/tickets/:publicId/resolve", sp_api_ticket_resolve, SP_ROLE_CUSTOMER},
    /* What `category` may name: customers file under one, agents move a
     * ticket to one, admins see what clients see (API.md §4). */
    {SP_GET,  "/support/categories", sp_api_categories_list, SP_ROUTE_ANY_ROLE},

    /* Customers and agents upload; the /content routes' credential is
     * their signed URL (API.md §10). */
    {SP_POST, "/support/attachments", sp_api_attachment_create, SP_ROUTE_ANY_ROLE},
    {SP_GET,  "/support/attachments/:id", sp_api_attachment_get, SP_ROUTE_ANY_ROLE},
    {SP_PUT,  "/support/attachments/:id/content", sp_api_attachment_upload, SP_ROLE_NONE},
    {SP_GET,  "/support/attachments/:id/content", sp_api_attachment_download, SP_ROLE_NONE},
    /* The uploader takes back an upload attached to nothing; staff
     * redact any (docs/API.md §10 Deleting and redacting). */
    {SP_DELETE, "/support/attachments/:id", sp_api_attachment_delete, SP_ROUTE_ANY_ROLE},
    {SP_POST, "/support/agent/attachments/:id/redact", sp_api_attachment_redact, SP_ROLE_AGENT},

    {SP_GET,   "/support/agent/tickets", sp_api_agent_queue, SP_ROLE_AGENT},
    {SP_GET,   "/support/agent/tickets/:id", sp_api_agent_ticket_get, SP_ROLE_AGENT},
    {SP_PATCH, "/support/agent/tickets/:id", sp_api_agent_ticket_patch, SP_ROLE_AGENT},
    {SP_POST,  "/support/agent/tickets/:id/messages", sp_api_agent_ticket_reply, SP_ROLE_AGENT},
    {SP_POST,  "/support/agent/tickets/:id/claim", sp_api_agent_ticket_claim, SP_ROLE_AGENT},
    {SP_POST,  "/support/agent/tickets/:id/escalate", sp_api_agent_ticket_escalate, SP_ROLE_AGENT},
    {SP_GET,   "/support/agent/tickets/:id/events", sp_api_agent_ticket_events, SP_ROLE_AGENT},
    {SP_GET,   "/support/agent/me", sp_api_agent_me_get, SP_ROLE_AGENT},
    {SP_PATCH, "/support/agent/me", sp_api_agent_me_patch, SP_ROLE_AGENT},
    {SP_GET,   "/support/agent/dashboard", sp_api_agent_dashboard, SP_ROLE_AGENT},

    {SP_POST, "/support/chat/session", sp_api_chat_create, SP_ROLE_CUSTOMER},
    {SP_GET,  "/support/chat/sessions", sp_api_chat_sessions, SP_ROLE_CUSTOMER},
    {SP_GET,  "/support/chat/session/:id", sp_api_chat_get, SP_ROUTE_ANY_ROLE},
    {SP_POST, "/support/chat/session/:id/messages", sp_api_chat_post, SP_ROUTE_ANY_ROLE},
    {SP_POST, "/support/chat/session/:id/close", sp_api_chat_close, SP_ROUTE_ANY_ROLE},
    {SP_POST, "/support/chat/session/:id/transfer", sp_api_chat_transfer, SP_ROUTE_ANY_ROLE},
    {SP_GET,  "/support/agent/chats", sp_api_agent_chats, SP_ROLE_AGENT},
    {SP_POST, "/support/agent/chats/:id/accept", sp_api_agent_chat_accept, SP_ROLE_AGENT},

    {SP_GET,    "/support/admin/categories", sp_api_admin_categories, SP_ROLE_ADMIN},
    {SP_POST,   "/support/admin/categories", sp_api_admin_categories, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/categories/:id", sp_api_admin_categories, SP_ROLE_ADMIN},
    {SP_PATCH,  "/support/admin/categories/:id", sp_api_admin_categories, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/sla-policies", sp_api_admin_sla_list, SP_ROLE_ADMIN},
    {SP_PUT,    "/support/admin/sla-policies", sp_api_admin_sla_put, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/sla-policies/:id", sp_api_admin_sla_get, SP_ROLE_ADMIN},
    {SP_DELETE, "/support/admin/sla-policies/:id", sp_api_admin_sla_delete, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/priority-rules", sp_api_admin_rules, SP_ROLE_ADMIN},
    {SP_POST,   "/support/admin/priority-rules", sp_api_admin_rules, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/priority-rules/:id", sp_api_admin_rules, SP_ROLE_ADMIN},
    {SP_PATCH,  "/support/admin/priority-rules/:id", sp_api_admin_rules, SP_ROLE_ADMIN},
    {SP_DELETE, "/support/admin/priority-rules/:id", sp_api_admin_rules, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/agents", sp_api_admin_agents, SP_ROLE_ADMIN},
    {SP_POST,   "/support/admin/agents", sp_api_admin_agents, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/agents/:id", sp_api_admin_agents, SP_ROLE_ADMIN},
    {SP_PATCH,  "/support/admin/agents/:id", sp_api_admin_agents, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/articles", sp_api_admin_articles_list, SP_ROLE_ADMIN},
    {SP_POST,   "/support/admin/articles", sp_api_admin_articles_create, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/articles/:id", sp_api_admin_article_get, SP_ROLE_ADMIN},
    {SP_PATCH,  "/support/admin/articles/:id", sp_api_admin_article_patch, SP_ROLE_ADMIN},
    {SP_DELETE, "/support/admin/articles/:id", sp_api_admin_article_delete, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/webhooks", sp_api_admin_webhooks_list, SP_ROLE_ADMIN},
    {SP_POST,   "/support/admin/webhooks", sp_api_admin_webhooks_create, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/webhooks/:id", sp_api_admin_webhook_get, SP_ROLE_ADMIN},
    {SP_PATCH,  "/support/admin/webhooks/:id", sp_api_admin_webhook_patch, SP_ROLE_ADMIN},
    {SP_DELETE, "/support/admin/webhooks/:id", sp_api_admin_webhook_delete, SP_ROLE_ADMIN},
    {SP_POST,   "/support/admin/webhooks/:id/rotate-secret", sp_api_admin_webhook_rotate,
     SP_ROLE_ADMIN},
    {SP_POST,   "/support/admin/webhooks/:id/ping", sp_api_admin_webhook_ping, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/webhooks/:id/deliveries", sp_api_admin_webhook_deliveries,
     SP_ROLE_ADMIN},
    {SP_POST,   "/support/admin/webhooks/:id/deliveries/:deliveryId/redeliver",
     sp_api_admin_webhook_redeliver, SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/notifications", sp_api_admin_notifications, SP_ROLE_ADMIN},
    {SP_POST,   "/support/admin/notifications/:id/retry", sp_api_admin_notification_retry,
     SP_ROLE_ADMIN},
    {SP_GET,    "/support/admin/mail-suppressions", sp_api_admin_mail_suppressions, SP_ROLE_ADMIN},
    {SP_DELETE, "/support/admin/mail-suppressions/:id", sp_api_admin_mail_suppression_lift,
     SP_ROLE_ADMIN},

    {SP_GET, "/support/articles", sp_api_articles_list, SP_ROLE_NONE},
    {SP_POST, "/support/ai/query", sp_api_ai_query, SP_ROUTE_ANY_ROLE},
    {SP_GET,  "/support/ai/tools", sp_api_ai_tools_list, SP_ROUTE_ANY_ROLE},
    {SP_POST, "/support/ai/tools/:toolId", sp_api_ai_tool_run, SP_ROUTE_ANY_ROLE},
    {SP_GET, "/support/articles/:slug", sp_api_article_get, SP_ROLE_NONE},

    /* Admin pages: the session cookie, not a bearer token, says who. */
    {SP_GET,  "/support/admin", sp_page_root, SP_ROLE_NONE},
    {SP_GET,  "/support/admin/", sp_page_root, SP_ROLE_NONE},
    {SP_GET,  "/support/admin/login", sp_page_login, SP_ROLE_NONE},
    {SP_POST, "/support/admin/login", sp_page_login_post, SP_ROLE_NONE},
    {SP_POST, "/support/admin/logout", sp_page_logout, SP_ROLE_NONE},
    {SP_GET,  "/support/admin/kb", sp_page_kb_list, SP_ROLE_NONE},
    {SP_GET,  "/support/admin/kb/new", sp_page_kb_new, SP_ROLE_NONE},
    {SP_POST, "/support/admin/kb/new", sp_page_kb_create, SP_ROLE_NONE},
    {SP_POST, "/support/admin/kb/preview", sp_page_kb_preview, SP_ROLE_NONE},
    {SP_GET,  "/support/admin/kb/:id/edit", sp_page_kb_edit, SP_ROLE_NONE},
    {SP_POST, "/support/admin/kb/:id/edit", sp_page_kb_update, SP_ROLE_NONE},
    {SP_POST, "/support/admin/kb/:id/publish", sp_page_kb_publish, SP_ROLE_NONE},
    {SP_POST, "/support/admin/kb/:id/unpublish", sp_page_kb_unpublish, SP_ROLE_NONE},
    {SP_GET,  "/support/admin/kb/:id/delete", sp_page_kb_delete_confirm, SP_ROLE_NONE},
    {SP_POST, "/support/admin/kb/:id/delete", sp_page_kb_delete, SP_ROLE_NONE},
};

const size_t sp_api_nroutes = sizeof(sp_api_routes) / sizeof(sp_api_routes[0]);
