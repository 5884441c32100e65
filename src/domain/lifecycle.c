/*
 * lifecycle: ticket state table. See lifecycle.h.
 */
#include "domain/lifecycle.h"

#include <string.h>

#include "core/names.h"

const char *const sp_status_names[SP_STATUS_MAX + 1] = {
    "open", "in_progress", "pending_customer", "resolved", "closed", NULL,
};

SP_NAMES_DEFINE(sp_status, enum sp_status, SP_STATUS_MAX)

bool
sp_status_can_move(enum sp_status from, enum sp_status to)
{
    if (from >= SP_STATUS_MAX || to >= SP_STATUS_MAX || from == SP_STATUS_CLOSED)
        return false;
    if (to > from)
        return true;  /* forward, skips allowed */
    return to == SP_STATUS_IN_PROGRESS &&
           (from == SP_STATUS_PENDING_CUSTOMER || from == SP_STATUS_RESOLVED);
}

bool
sp_status_after_customer_reply(enum sp_status from, bool assigned, enum sp_status *to)
{
    if (from != SP_STATUS_PENDING_CUSTOMER && from != SP_STATUS_RESOLVED)
        return false;
    /* Unassigned tickets go back to the queue rather than "in progress"
     * with nobody on them. */
    *to = assigned ? SP_STATUS_IN_PROGRESS : SP_STATUS_OPEN;
    return true;
}

const char *
sp_status_event(enum sp_status from, enum sp_status to)
{
    if (from == SP_STATUS_RESOLVED && to < SP_STATUS_RESOLVED)
        return "reopened";
    if (to == SP_STATUS_CLOSED)
        return "closed";
    if (to == SP_STATUS_RESOLVED)
        return "resolved";
    return "status_changed";
}
