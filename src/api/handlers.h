/*
 * handlers: every HTTP handler of support-api, listed once here and wired
 * in routes.c. A handler parses and validates input, calls the domain, and
 * renders JSON; it holds no SQL.
 */
#ifndef SP_HANDLERS_H
#define SP_HANDLERS_H

#include "http/http.h"
#include "http/router.h"

enum sp_rc sp_api_healthz(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_metrics(struct sp_req *r, struct sp_problem *p);
/* The routes the operators' listener answers: the metrics pages
 * (sp_http_env.operators_route). */
bool sp_api_operators_route(const struct sp_route *route);
enum sp_rc sp_api_readyz(struct sp_req *r, struct sp_problem *p);

enum sp_rc sp_api_ticket_create(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_ticket_list(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_ticket_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_ticket_reply(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_ticket_resolve(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_categories_list(struct sp_req *r, struct sp_problem *p);

enum sp_rc sp_api_agent_queue(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_ticket_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_ticket_patch(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_ticket_reply(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_ticket_claim(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_ticket_escalate(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_ticket_events(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_me_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_me_patch(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_dashboard(struct sp_req *r, struct sp_problem *p);

enum sp_rc sp_api_attachment_create(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_attachment_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_attachment_upload(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_attachment_download(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_attachment_delete(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_attachment_redact(struct sp_req *r, struct sp_problem *p);

enum sp_rc sp_api_chat_create(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_chat_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_chat_sessions(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_chat_post(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_chat_close(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_chat_transfer(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_chats(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_agent_chat_accept(struct sp_req *r, struct sp_problem *p);

/* The admin resources (API.md §6): one handler serves every route of a
 * resource, by method (GET list, POST create, PATCH update, DELETE). */
enum sp_rc sp_api_admin_categories(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_sla_list(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_sla_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_sla_put(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_sla_delete(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_rules(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_agents(struct sp_req *r, struct sp_problem *p);

/* api/articles.c: the knowledge base (API.md §8, admin CRUD of §6). */
enum sp_rc sp_api_articles_list(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_article_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_articles_list(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_articles_create(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_article_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_article_patch(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_article_delete(struct sp_req *r, struct sp_problem *p);

/* api/webhooks.c: webhook admin (API.md §11, §6). */
enum sp_rc sp_api_admin_webhooks_list(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_webhooks_create(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_webhook_get(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_webhook_patch(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_webhook_delete(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_webhook_rotate(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_webhook_ping(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_webhook_deliveries(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_webhook_redeliver(struct sp_req *r, struct sp_problem *p);

/* api/notifications.c: notifications given up, their retry (API.md §11). */
enum sp_rc sp_api_admin_notifications(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_notification_retry(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_mail_suppressions(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_admin_mail_suppression_lift(struct sp_req *r, struct sp_problem *p);

/* api/ai.c: the AI proxy (API.md §9). */
enum sp_rc sp_api_ai_query(struct sp_req *r, struct sp_problem *p);
/* api/ai_tools.c: the AI tools (API.md §9). */
enum sp_rc sp_api_ai_tools_list(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_api_ai_tool_run(struct sp_req *r, struct sp_problem *p);

/* api/kb_pages.c: the knowledge base's admin pages (API.md §8, HTML). */
/* Any problem at an admin page's address as the HTML error page with its
 * status, for a browser (Accept: text/html); false otherwise
 * (problem+json). */
bool sp_page_problem(struct sp_req *r, const struct sp_problem *p);
enum sp_rc sp_page_login(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_root(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_login_post(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_logout(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_list(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_new(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_create(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_edit(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_update(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_publish(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_unpublish(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_delete_confirm(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_delete(struct sp_req *r, struct sp_problem *p);
enum sp_rc sp_page_kb_preview(struct sp_req *r, struct sp_problem *p);

#endif
