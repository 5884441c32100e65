/*
 * channels: what one support_outbox notification becomes on the wire
 * (API.md §11 "Notifications"; the choices are in docs/API.md §11):
 *   email                 a threaded mail to the customer's stored contact
 *                         address over SMTP (SUPPORT_SMTP_URL), text + HTML
 *                         from templates/mail/;
 *   sms, push             a JSON POST to the notification service
 *                         (SUPPORT_NOTIFY_URL, bearer SUPPORT_NOTIFY_KEY);
 *   agent, team, provider_operations
 *                         staff notifications: mail to SUPPORT_STAFF_MAIL
 *                         when set, else the notification service;
 *   booking               an escalation about a booking, POSTed to the
 *                         booking service (SUPPORT_BOOKING_URL).
 * A row becomes a ready libcurl easy handle (the dispatcher runs it on its
 * multi handle), or a reason not to send: skip (nobody to send to, e.g. a
 * customer without a stored contact), retry (not configured yet, a
 * template that does not render) or fail (a channel nobody knows).
 * Webhook rows never come here: the dispatcher fans them out.
 * Must not: run SQL (the dispatcher reads the rows), log PII or secrets,
 * or send anything itself.
 */
#ifndef SP_CHANNELS_H
#define SP_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

struct sp_arena;
struct sp_config;
struct sp_channels;

/* One claimed outbox row with what the claim joined to it (NULL when
 * absent): the ticket, the customer's sealed contact, the agent, the
 * public message the event is about. */
struct sp_outbox_row {
    long long id;
    const char *kind, *event_type, *channel, *recipient, *payload;
    int attempts;
    const char *ticket_public_id, *ticket_subject, *ticket_status, *ticket_customer_id;
    const char *contact_customer_id, *contact_tier, *name_enc, *email_enc, *phone_enc;
    const char *agent_user_id, *agent_name;
    const char *message_body;
    const char *message_attachments;   /* its attachments' metadata, a JSON array */
    const char *created_at;    /* the event's time */
    /* email: the Message-ID of the customer's newest mailed message on the
     * ticket (the mail answers it); NULL: none. */
    const char *answers_message_id;
};

enum sp_delivery_kind { SP_DELIVERY_SEND, SP_DELIVERY_SKIP, SP_DELIVERY_RETRY, SP_DELIVERY_FAIL };

struct sp_delivery {
    enum sp_delivery_kind kind;
    const char *reason;        /* not SEND: a short code for last_error and the log */
    const char *destination;   /* SEND: the concurrency cap's key ("smtp:host", "notify:host") */
    bool smtp;
    CURL *easy;                /* SEND: ready for a multi handle */
    struct curl_slist *list;   /* recipients or headers, freed with the delivery */
    const char *data;          /* the message or request body */
    size_t len, pos;           /* SMTP upload position */
};

/* Settings, templates (SUPPORT_TEMPLATES_DIR/mail) and the contact keys,
 * built once per dispatcher; NULL with err naming the setting or template
 * that is wrong. */
struct sp_channels *sp_channels_new(const struct sp_config *cfg, char *err, size_t errlen);
/* The delivery settings that are set, each well-formed (SUPPORT_MAIL_FROM,
 * SUPPORT_STAFF_MAIL, SUPPORT_SMTP_URL, SUPPORT_NOTIFY_URL, the page URLs,
 * SUPPORT_MAIL_REPLY_KEYS); false with err naming the first bad one, never
 * its value. sp_channels_new checks them and requires SUPPORT_MAIL_FROM;
 * support-api's start (and --check-config) checks them so the one settings
 * file is refused whole. */
bool sp_channels_check(const struct sp_config *cfg, char *err, size_t errlen);
void sp_channels_free(struct sp_channels *c);

/* Turns the row into a delivery; everything it needs lives on a until
 * sp_delivery_cleanup. */
void sp_channels_prepare(const struct sp_channels *c, struct sp_arena *a,
                         const struct sp_outbox_row *row, struct sp_delivery *d);
/* After the transfer: true when the destination took it; otherwise
 * *error is a short code ("timeout", "http_503", "smtp_550", …).
 * *status_code is the HTTP status or the SMTP reply that decided it (0:
 * none did, as after a timeout). */
bool sp_delivery_result(const struct sp_delivery *d, CURLcode rc, long *status_code,
                        const char **error, struct sp_arena *a);
void sp_delivery_cleanup(struct sp_delivery *d);

#endif
