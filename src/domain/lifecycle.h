/*
 * lifecycle: the ticket states and the one transition table of API.md
 * §5.1. Every path that changes a ticket's status asks this module
 * whether the move is allowed and which event it records.
 * Must not: touch the database; callers persist the change and its event
 * in one transaction.
 */
#ifndef SP_LIFECYCLE_H
#define SP_LIFECYCLE_H

#include <stdbool.h>

#include "core/names.h"

enum sp_status {
    SP_STATUS_OPEN = 0,
    SP_STATUS_IN_PROGRESS,
    SP_STATUS_PENDING_CUSTOMER,
    SP_STATUS_RESOLVED,
    SP_STATUS_CLOSED,
    SP_STATUS_MAX
};

/* The API's names, indexed by the enum, NULL-terminated (field tables):
 * sp_status_names, sp_status_name(), sp_status_parse(). */
SP_NAMES_DECLARE(sp_status, enum sp_status, SP_STATUS_MAX);
/* Any forward move (skips allowed), pending_customer -> in_progress,
 * resolved -> in_progress; closed is terminal. */
bool sp_status_can_move(enum sp_status from, enum sp_status to);
/* A customer's reply: where the ticket goes (API.md §4). Returns false when
 * the ticket stays where it is. */
bool sp_status_after_customer_reply(enum sp_status from, bool assigned, enum sp_status *to);
/* The event type recorded for a move ("reopened", "status_changed", ...). */
const char *sp_status_event(enum sp_status from, enum sp_status to);

#endif
