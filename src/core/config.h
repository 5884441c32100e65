/*
 * config: every setting of the programs in one table (name, type, default,
 * bounds, help), read once at start-up (and on SIGHUP) from the
 * environment into one struct. Secrets may instead come from NAME_FILE
 * (the file's content, trailing newline trimmed; both set is refused), so
 * they never need to sit in a process environment. A bad setting stops
 * the program with a message naming the variable, never its value.
 * Must not: read settings anywhere else.
 */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/log.h"
#include "core/names.h"

/* The channels a customer is notified on (SUPPORT_CUSTOMER_CHANNELS;
 * docs/API.md §11): a set, bit 1 << c of sp_config.customer_channels. */
enum sp_customer_channel { SP_CUSTOMER_EMAIL, SP_CUSTOMER_SMS, SP_CUSTOMER_PUSH,
                           SP_CUSTOMER_CHANNEL_MAX };
SP_NAMES_DECLARE(sp_customer_channel, enum sp_customer_channel, SP_CUSTOMER_CHANNEL_MAX);

struct sp_config {
    char *database_url;
    char *database_read_url;  /* NULL: every read on the primary */
    char *listen;
    long  workers;
    long  listen_backlog;
    long  listen_mode;      /* permission bits of the unix sockets */
    char *listen_group;     /* NULL: leave the sockets' group alone */
    char *jwt_keys;
    char *jwt_public_keys_file;
    char *jwt_issuer;
    char *jwt_audience;
    char *migrations_dir;
    char *templates_dir;
    long admin_session_hours;
    long cookie_insecure;
    long  max_body_bytes;
    char *log_level;
    long  db_statement_timeout_ms;
    char *encryption_keys;
    char *pii_index_key;
    long  ticket_rate_per_minute;
    long  ticket_rate_per_day;
    long  ticket_reply_rate_per_minute;
    long  agent_max_open_tickets;
    long  autoclose_days;
    long  dashboard_cache_ms;
    long  ticket_view_cache;
    long  chat_rate_per_minute;
    long  chat_session_rate_per_minute;
    long  chat_session_rate_per_hour;
    long  chat_max_open_sessions;
    long  chat_idle_minutes;
    char *chat_listen;
    char *chat_publish_url;
    char *chat_publish_socket;
    long  chat_presence_timeout_s;
    double sla_warn_fraction;
    long  webhook_allow_loopback;
    char *booking_url, *booking_key, *payments_url, *payments_key;
    long  service_timeout_ms;
    long  refund_agent_limit;   /* AI tool payment_refund (API.md §9) */
    long  ai_usage_min_requests, ai_usage_user_burst;   /* ai-usage-monitor */
    /* support-dispatch (API.md §11) */
    char *smtp_url;
    long  smtp_starttls;
    char *smtp_ca_file;
    char *smtp_user;
    char *smtp_password;
    char *mail_from;
    char *mail_from_name;
    char *mail_reply_keys;
    long  mail_new_tickets;
    char *mail_authserv_id;       /* SUPPORT_MAIL_AUTHSERV_ID: NULL = From not verified */
    long  mail_trust_from;        /* SUPPORT_MAIL_TRUST_FROM: 1 = no authserv-id on purpose */
    char *staff_mail;
    char *customer_channel_list;  /* SUPPORT_CUSTOMER_CHANNELS as written */
    unsigned customer_channels;   /* ... as a set (enum sp_customer_channel) */
    char *notify_url;
    char *portal_url;             /* SUPPORT_PORTAL_URL: {id} = a ticket's public id */
    char *console_ticket_url;     /* SUPPORT_CONSOLE_TICKET_URL: {id} = the same */
    char *console_chat_url;       /* SUPPORT_CONSOLE_CHAT_URL: {id} = a chat session's id */
    char *notify_key;
    long  dispatch_concurrency;
    long  dispatch_per_destination;
    long  dispatch_lease_s;
    char *attachment_dir;
    char *attachment_keys;
    char *attachment_types;
    long  attachment_upload_ttl_s;
    long  attachment_download_ttl_s;
    long  attachment_rate_per_minute;
    long  attachment_unattached_hours;
    char *clamd_socket;
    /* The attachment store in an S3-compatible bucket (API.md §10):
     * SUPPORT_S3_BUCKET set switches it on (sp_config_s3). */
    char *s3_endpoint, *s3_region, *s3_bucket, *s3_prefix;
    char *s3_access_key_id, *s3_secret_access_key;
    long  s3_timeout_ms;
    long  ai_rate_per_minute;
    long  ai_tools_rate_per_minute;
    double ai_min_confidence;
    /* The OpenAI-compatible provider and embedder (API.md §9) */
    char *ai_base_url, *ai_api_key, *ai_model;
    long  ai_timeout_ms;
    long  ai_max_tokens;
    long  ai_max_in_flight;      /* resolved: never 0 once loaded */
    char *embeddings_url;
    char *embeddings_key, *embeddings_model;
    long  embeddings_batch;
    long  embeddings_timeout_ms;
    /* The first secret whose NAME_FILE ends in a space or tab, which is
     * kept as part of the secret (only line ends are trimmed): said at
     * start by sp_config_warn, since a key that differs by a blank from
     * its peers' fails in ways that do not name it. NULL: none. */
    const char *secret_blank_tail;
};

/* Loads from the environment; on error returns false with a message that
 * names every bad setting ("SUPPORT_A: …; SUPPORT_B: …", SUPPORT_LOG_LEVEL
 * too; cut with "; …" where errlen ends), never a value. The struct owns
 * its strings until sp_config_free(). */
bool sp_config_load(struct sp_config *c, char *err, size_t errlen);
void sp_config_free(struct sp_config *c);
/* A refusal's message (err, "; "-joined faults, each "NAME: why") names
 * the variable actually set: a fault of a secret whose NAME_FILE is set
 * becomes "NAME_FILE: why" (the value checked later than the load, as
 * the keys are, came from the file). Within errlen; else left as is. */
void sp_config_name_sources(char *err, size_t errlen);
/* SUPPORT_LOG_LEVEL as a level; false with a message naming the setting. */
bool sp_config_log_level(const struct sp_config *c, enum sp_log_level *out, char *err,
                         size_t errlen);
/* The warnings every program says at start, so a setting that is likely a
 * mistake shows in its log: one line for each development-only setting
 * that is on (SUPPORT_COOKIE_INSECURE, SUPPORT_WEBHOOK_ALLOW_LOOPBACK), and
 * one for a secret's file that ends in a blank (secret_blank_tail). */
void sp_config_warn(const struct sp_config *c);
struct sp_s3;
/* The S3 attachment store of the settings: *on false when
 * SUPPORT_S3_BUCKET is unset; false with a message when it is set without
 * its endpoint or keys. out points into c. */
bool sp_config_s3(const struct sp_config *c, struct sp_s3 *out, bool *on, char *err,
                  size_t errlen);
/* Writes the documented list of settings (for --help and docs). */
void sp_config_describe(FILE *out);
/* The same for the settings names lists (ended by NULL; NULL: all), in
 * the table's order: an entry is a setting's name, or a prefix ending in
 * '_' ("SUPPORT_S3_") taking every setting it begins. Returns the first
 * entry that takes no setting (a misspelt name would drop its row without
 * a word), NULL when each takes one. */
const char *sp_config_describe_some(FILE *out, const char *const names[]);

#endif
