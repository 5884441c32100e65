/*
 * ctx: what every domain call needs: the request's arena (results live as
 * long as the request), the worker's database connection and the worker's
 * long-lived domain state.
 */
#ifndef SP_CTX_H
#define SP_CTX_H

struct sp_arena;
struct sp_chat_joins;
struct sp_db;
struct sp_rules_cache;

struct sp_ctx {
    struct sp_arena *arena;
    struct sp_db *db;
    struct sp_rules_cache *rules;  /* the worker's compiled priority rules */
    long agent_max_open;           /* routing capacity (SUPPORT_AGENT_MAX_OPEN_TICKETS) */
    /* The mails' From name (SUPPORT_MAIL_FROM_NAME), a name no agent may
     * take (domain/agents); NULL: none. */
    const char *mail_from_name;
    /* The customer's notifications go out on these (SUPPORT_CUSTOMER_CHANNELS:
     * bit 1 << enum sp_customer_channel, core/config.h); 0 = none, for
     * callers that never change a ticket. */
    unsigned customer_channels;
    /* Where a command that hands waiting chats to an agent who became
     * free notes them (chat_sessions.h), for its caller to announce after
     * commit; NULL: not noted (the chats are routed all the same). */
    struct sp_chat_joins *chat_joins;
};

#endif
