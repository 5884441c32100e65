/*
 * sla: the SLA arithmetic of API.md §5.2 — priorities and their default
 * targets, the due dates of one ticket, pause/resume in pending_customer,
 * breach and warning thresholds. Ticket writes and the sla-monitor job
 * load the SLA columns into a struct sp_sla, call these, and persist it.
 * Must not: read the clock (every function takes `now`), touch SQL or
 * HTTP, or decide whether a status move is allowed (that is lifecycle's).
 *
 * Times are milliseconds since the Unix epoch; 0 means "not set" (NULL).
 * Choices where API.md is silent:
 * - The first-response clock does NOT pause: only the resolution target is
 *   extended by the time spent in pending_customer. A first reply after
 *   first_response_due_at is a breach even if the ticket was paused.
 * - A target is met at its due instant; it is breached only when now > due.
 * - Nothing is outstanding while resolved or closed (sla_due_at 0, the
 *   monitor neither warns nor breaches). While pending_customer only an
 *   unanswered first response is: its clock runs on, so sla_due_at is its
 *   due and the monitor warns and breaches on it as when open ("a target
 *   passed unmet", shared API.md §5.2); the resolution target waits —
 *   unless it was missed before the pause began: a pause buys no time for
 *   a miss already made, so that due stays outstanding (sla_due_at, past),
 *   the monitor still reports it, and resuming does not extend it.
 * - Resolving (or closing without resolving) judges every target still
 *   unmet at that moment; closing a resolved ticket judges nothing.
 * - Time spent resolved is not paused time: a reopen brings back the target
 *   as it was, possibly already passed.
 * - Retargeting recomputes dues but never re-judges past events, and
 *   nothing ever clears `breached` or a per-target flag. A priority raise
 *   never moves a due later (sp_sla_retarget_raise); a lowering or a
 *   category change recomputes both from created_at and may loosen a
 *   target still to be met, never one missed already (flagged, or its due
 *   passed while its clock ran): that one keeps the earlier of its old
 *   and new due, so the views keep showing the miss and the monitor, the
 *   one owner of reporting a breach, still finds and reports it once.
 * - Breaches are judged per target: each of first response and resolution
 *   is reported at most once (its breached_* flag), so the resolution
 *   target still counts after a late first response — including the
 *   shorter one the escalation of that first breach retargets to, when
 *   that one is still ahead. One the escalation itself puts at or before
 *   the monitor's now is counted as reported with the breach that raised
 *   it (sp_sla_settle_raise): one miss, one report, one raise.
 */
#ifndef SP_SLA_H
#define SP_SLA_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/lifecycle.h"

/* Upper bound of a target (ten years), also the admin API's bound for
 * sla-policies; larger or negative values are clamped to [0, max]. */
#define SP_SLA_MAX_MINUTES (525600 * 10)

enum sp_priority {
    SP_PRIORITY_LOW = 0,
    SP_PRIORITY_NORMAL,
    SP_PRIORITY_HIGH,
    SP_PRIORITY_URGENT,
    SP_PRIORITY_MAX
};

/* sp_priority_names (the API's), sp_priority_name(), sp_priority_parse():
 * core/names.h. */
SP_NAMES_DECLARE(sp_priority, enum sp_priority, SP_PRIORITY_MAX);
/* One step up, saturating at urgent (escalation, API.md §12). */
enum sp_priority sp_priority_raise(enum sp_priority p);

struct sp_sla_targets {
    int32_t first_response_minutes;
    int32_t resolution_minutes;
};

/* The defaults of API.md §5.2, used when no support_sla_policies row
 * applies; an out-of-range priority gets normal's. */
struct sp_sla_targets sp_sla_default_targets(enum sp_priority p);
/* The targets for priority p from a JSON array of policies
 * [[priority, first_response_minutes, resolution_minutes], ...] in order
 * of preference (a category's own rows before the defaults): the first
 * row of priority p; the built-in defaults when there is none. */
struct sp_sla_targets sp_sla_targets_pick(const char *policies_json, enum sp_priority p);

/* The SLA columns of one ticket. */
struct sp_sla {
    int64_t created_at;
    int64_t first_response_due_at;
    int64_t resolution_due_at; /* includes paused_ms */
    int64_t first_responded_at;
    int64_t paused_at;  /* set while pending_customer (sla_paused) */
    int64_t paused_ms;  /* finished pauses so far */
    int64_t sla_due_at; /* earliest outstanding target, 0 when none */
    /* When the monitor must look next: the earliest due of the targets
     * still running (open, in_progress; an unanswered first response in
     * pending_customer too), unmet and not yet flagged; 0 when
     * none. Unlike sla_due_at it skips a first response already flagged
     * late, so the resolution target behind it is not hidden. */
    int64_t breach_check_at;
    bool breached;                /* any target missed; once true, stays true */
    bool breached_first_response; /* per target: never cleared either */
    bool breached_resolution;
};

/* On create: everything reset, both dues from created_at. */
void sp_sla_start(struct sp_sla *s, int64_t created_at, struct sp_sla_targets t);
/* Priority or category changed: both dues recomputed from created_at (the
 * resolution one plus paused_ms), then sla_due_at refreshed — it may now
 * lie in the past, which the next sp_sla_check_breach() reports. A target
 * missed at now (see above) never moves later: it keeps the earlier of its
 * old and new due. */
void sp_sla_retarget(struct sp_sla *s, enum sp_status status, struct sp_sla_targets t,
                     int64_t now);
/* Priority raised (escalation, or an agent's raise): as sp_sla_retarget(),
 * but each due keeps the earlier of its old and new value, so a raise
 * never moves a due later (a category's tight target of the old priority
 * stays when the new priority's target is longer). A lowering or a
 * category change uses sp_sla_retarget() and may loosen. */
void sp_sla_retarget_raise(struct sp_sla *s, enum sp_status status, struct sp_sla_targets t);
/* The first public agent reply: recorded once (later calls do nothing);
 * after first_response_due_at it marks the breach. */
void sp_sla_first_response(struct sp_sla *s, enum sp_status status, int64_t now);
/* After the lifecycle accepted from -> to: entering pending_customer pauses,
 * leaving it adds the paused time to paused_ms and resolution_due_at;
 * resolving judges unmet targets; sla_due_at follows `to`. */
void sp_sla_on_status(struct sp_sla *s, enum sp_status from, enum sp_status to, int64_t now);
/* sla_due_at = the earliest of the unanswered first response and the
 * resolution target while open or in_progress (a tie counts as first
 * response), the unanswered first response while pending_customer (with
 * a resolution missed before the pause in progress), else 0;
 * breach_check_at likewise over the targets not yet flagged. A
 * ticket whose dues are 0 (no policy) is never due. */
void sp_sla_refresh_due(struct sp_sla *s, enum sp_status status);

/* What sp_sla_check_breach() reported. */
struct sp_sla_breach {
    const char *target; /* "first_response" or "resolution" */
    int64_t due_at;     /* that target's due */
};
/* For the monitor: true when a running target not yet flagged has passed
 * unmet at now; it flags that target (and breached), refreshes the dues
 * and names the target in *out (may be NULL). Each target is reported
 * once: false for it afterwards. Both missed in one check: both flagged,
 * one report naming the earlier (see sla.c). */
bool sp_sla_check_breach(struct sp_sla *s, enum sp_status status, int64_t now,
                         struct sp_sla_breach *out);
/* For the monitor, after the priority raise of a breach it reported: each
 * target still to judge whose due the raise brought to or before now is
 * flagged (and the dues refreshed), counted as reported with that breach.
 * Its due stays as the raise set it, so the views still show it overdue.
 * Returns whether it flagged any. A raise that leaves a due ahead of now
 * flags nothing: that target is reported when it is missed. */
bool sp_sla_settle_raise(struct sp_sla *s, enum sp_status status, int64_t now);
/* For the monitor: when to warn about the next target still to judge
 * (breach_check_at's: running, unmet, not breached — after a first
 * response breach, the resolution), i.e. the instant less than
 * warn_fraction (clamped to 0..1) of its length is left; the resolution
 * target's length excludes paused time. Returns 0 when none is left.
 * *target (may be NULL) gets "first_response", "resolution" or NULL —
 * the key for warning once per target. */
int64_t sp_sla_warn_at(const struct sp_sla *s, enum sp_status status, double warn_fraction,
                       const char **target);

#endif
