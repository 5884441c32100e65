/*
 * sla: SLA arithmetic of API.md §5.2. See sla.h for the rules and the
 * choices made where the contract is silent.
 * Must not: read the clock, touch SQL or HTTP.
 */
#include "domain/sla.h"

#include <string.h>

#include <json-c/json.h>

#include "core/names.h"

#define MINUTE_MS INT64_C(60000)
#define MAX_TARGET_MS (SP_SLA_MAX_MINUTES * MINUTE_MS)

const char *const sp_priority_names[SP_PRIORITY_MAX + 1] = {"low", "normal", "high", "urgent",
                                                            NULL};

/* API.md §5.2, minutes: first response / resolution. */
static const struct sp_sla_targets default_targets[SP_PRIORITY_MAX] = {
    [SP_PRIORITY_LOW] = {1440, 7200},
    [SP_PRIORITY_NORMAL] = {240, 2880},
    [SP_PRIORITY_HIGH] = {60, 480},
    [SP_PRIORITY_URGENT] = {15, 240},
};

enum target { TARGET_NONE = 0, TARGET_FIRST_RESPONSE, TARGET_RESOLUTION };

static const char *const target_names[] = {NULL, "first_response", "resolution"};

SP_NAMES_DEFINE(sp_priority, enum sp_priority, SP_PRIORITY_MAX)

enum sp_priority
sp_priority_raise(enum sp_priority p)
{
    return p < SP_PRIORITY_URGENT ? (enum sp_priority)(p + 1) : SP_PRIORITY_URGENT;
}

struct sp_sla_targets
sp_sla_default_targets(enum sp_priority p)
{
    return default_targets[p < SP_PRIORITY_MAX ? p : SP_PRIORITY_NORMAL];
}

struct sp_sla_targets
sp_sla_targets_pick(const char *policies_json, enum sp_priority p)
{
    struct sp_sla_targets t = sp_sla_default_targets(p);
    struct json_object *arr = policies_json != NULL ? json_tokener_parse(policies_json) : NULL;
    size_t n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        /* Rows are read by member name (SP_SLA_POLICIES_JSON). */
        struct json_object *row = json_object_array_get_idx(arr, i), *prio, *first, *res;
        if (!json_object_object_get_ex(row, "priority", &prio) ||
            !json_object_object_get_ex(row, "first_response_minutes", &first) ||
            !json_object_object_get_ex(row, "resolution_minutes", &res) ||
            !json_object_is_type(prio, json_type_string) ||
            !json_object_is_type(first, json_type_int) || !json_object_is_type(res, json_type_int))
            continue;
        if (p >= SP_PRIORITY_MAX || strcmp(json_object_get_string(prio), sp_priority_names[p]) != 0)
            continue;
        t.first_response_minutes = json_object_get_int(first);
        t.resolution_minutes = json_object_get_int(res);
        break;  /* the first match: the list puts the category's own rows first */
    }
    json_object_put(arr);
    return t;
}

/* Dates are stored values: saturate rather than wrap, so a corrupt
 * created_at can never produce undefined behaviour or a due in the past. */
static int64_t
add_ms(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

static int64_t
minutes_ms(int32_t minutes)
{
    if (minutes < 0)
        minutes = 0;
    if (minutes > SP_SLA_MAX_MINUTES)
        minutes = SP_SLA_MAX_MINUTES;
    return (int64_t)minutes * MINUTE_MS;
}

static bool
is_active(enum sp_status status)
{
    return status == SP_STATUS_OPEN || status == SP_STATUS_IN_PROGRESS;
}

/* A target without a due (no policy applied: NULL columns) cannot be
 * missed; one is met up to and including its due instant. */
static bool
missed(int64_t due, int64_t now)
{
    return due != 0 && now > due;
}

/* The instant the clock of target `which` reads, 0 when it is stopped
 * or the target met: the first response runs until answered, in
 * pending_customer too (its clock never pauses, sla.h); the resolution
 * runs while open or in_progress, and while pending_customer it reads the
 * pause's start. */
static int64_t
clock_at(const struct sp_sla *s, enum sp_status status, enum target which, int64_t now)
{
    if (which == TARGET_FIRST_RESPONSE)
        return s->first_responded_at == 0 && (is_active(status) ||
                                              status == SP_STATUS_PENDING_CUSTOMER)
                   ? now
                   : 0;
    if (is_active(status))
        return now;
    return status == SP_STATUS_PENDING_CUSTOMER ? s->paused_at : 0;
}

/* Whether the resolution target was missed before the pause in progress:
 * a pause stops the clock of a target still to be met, and buys no time
 * for one missed already (API.md §5.2). */
static bool
missed_before_pause(const struct sp_sla *s, enum sp_status status)
{
    return status == SP_STATUS_PENDING_CUSTOMER && missed(s->resolution_due_at, s->paused_at);
}

/* Whether the target `which` is running in status: the first response in
 * pending_customer too (its clock never pauses, sla.h), the resolution
 * while open or in_progress, or paused after it was missed. */
static bool
runs(const struct sp_sla *s, enum sp_status status, enum target which)
{
    return is_active(status) ||
           (which == TARGET_FIRST_RESPONSE && status == SP_STATUS_PENDING_CUSTOMER) ||
           (which == TARGET_RESOLUTION && missed_before_pause(s, status));
}

/* Whether the target `which` is missed already at now: flagged, or its
 * due passed while its clock ran. A retarget never moves such a due later
 * (sla.h): the miss stays on the views and the monitor still reports it. */
static bool
missed_at(const struct sp_sla *s, enum sp_status status, enum target which, int64_t now)
{
    if (which == TARGET_FIRST_RESPONSE)
        return s->breached_first_response ||
               missed(s->first_response_due_at, clock_at(s, status, which, now));
    return s->breached_resolution || missed(s->resolution_due_at, clock_at(s, status, which, now));
}

/* The earlier of two dues of the first response and the resolution (0:
 * none), a tie counting as first response; TARGET_NONE and 0 when none. */
static int64_t
pick(int64_t first, int64_t resolution, enum target *which)
{
    *which = TARGET_NONE;
    if (first != 0 && (resolution == 0 || first <= resolution)) {
        *which = TARGET_FIRST_RESPONSE;
        return first;
    }
    if (resolution != 0)
        *which = TARGET_RESOLUTION;
    return resolution;
}

/* The earliest target still to be met; 0 when the clocks are stopped or the
 * ticket has no dues (they are always set together, by start/retarget). */
static int64_t
outstanding(const struct sp_sla *s, enum sp_status status, enum target *which)
{
    *which = TARGET_NONE;
    if (s->resolution_due_at == 0)
        return 0;
    bool unanswered = s->first_responded_at == 0;
    int64_t first =
        unanswered && runs(s, status, TARGET_FIRST_RESPONSE) ? s->first_response_due_at : 0;
    return pick(first, runs(s, status, TARGET_RESOLUTION) ? s->resolution_due_at : 0, which);
}

/* The due of one target while the monitor must still judge it: running,
 * unmet and not yet flagged; 0 otherwise. */
static int64_t
unjudged_due(const struct sp_sla *s, enum sp_status status, enum target which)
{
    if (!runs(s, status, which) || s->resolution_due_at == 0)
        return 0;
    if (which == TARGET_RESOLUTION)
        return s->breached_resolution ? 0 : s->resolution_due_at;
    if (s->first_responded_at != 0 || s->breached_first_response)
        return 0;
    return s->first_response_due_at;
}

/* The earlier of the targets still to judge (a tie counts as first
 * response, as in outstanding()); TARGET_NONE and 0 when none is. */
static int64_t
next_unjudged(const struct sp_sla *s, enum sp_status status, enum target *which)
{
    return pick(unjudged_due(s, status, TARGET_FIRST_RESPONSE),
                unjudged_due(s, status, TARGET_RESOLUTION), which);
}

static void
flag(struct sp_sla *s, enum target which)
{
    s->breached = true;
    if (which == TARGET_FIRST_RESPONSE)
        s->breached_first_response = true;
    else
        s->breached_resolution = true;
}

static void
set_dues(struct sp_sla *s, struct sp_sla_targets t)
{
    s->first_response_due_at = add_ms(s->created_at, minutes_ms(t.first_response_minutes));
    s->resolution_due_at =
        add_ms(add_ms(s->created_at, minutes_ms(t.resolution_minutes)), s->paused_ms);
}

void
sp_sla_start(struct sp_sla *s, int64_t created_at, struct sp_sla_targets t)
{
    memset(s, 0, sizeof(*s));
    s->created_at = created_at;
    set_dues(s, t);
    sp_sla_refresh_due(s, SP_STATUS_OPEN);
}

/* The earlier of two dues; 0 (no due, sla.h) never wins. */
static int64_t
earlier(int64_t a, int64_t b)
{
    if (a == 0 || b == 0)
        return a != 0 ? a : b;
    return a < b ? a : b;
}

/* New dues from t; a target marked in keep[] keeps the earlier of its old
 * and new due. A pause in progress is not in paused_ms yet: resume adds it. */
static void
retarget(struct sp_sla *s, enum sp_status status, struct sp_sla_targets t, const bool keep[2])
{
    int64_t first = s->first_response_due_at, resolution = s->resolution_due_at;
    set_dues(s, t);
    if (keep[0])
        s->first_response_due_at = earlier(first, s->first_response_due_at);
    if (keep[1])
        s->resolution_due_at = earlier(resolution, s->resolution_due_at);
    sp_sla_refresh_due(s, status);
}

void
sp_sla_retarget(struct sp_sla *s, enum sp_status status, struct sp_sla_targets t, int64_t now)
{
    /* A lowering or a category change may loosen a target still to be
     * met, never one missed already: the monitor owns reporting a miss,
     * and finds it only while its due stays past. */
    const bool keep[2] = {missed_at(s, status, TARGET_FIRST_RESPONSE, now),
                          missed_at(s, status, TARGET_RESOLUTION, now)};
    retarget(s, status, t, keep);
}

void
sp_sla_retarget_raise(struct sp_sla *s, enum sp_status status, struct sp_sla_targets t)
{
    /* A raise is urgency (the monitor's escalation, an agent's PATCH):
     * the higher priority's default can be longer than the category's own
     * target of the lower one, and must not buy an overdue ticket time. */
    static const bool keep[2] = {true, true};
    retarget(s, status, t, keep);
}

void
sp_sla_refresh_due(struct sp_sla *s, enum sp_status status)
{
    enum target which;
    s->sla_due_at = outstanding(s, status, &which);
    s->breach_check_at = next_unjudged(s, status, &which);
}

void
sp_sla_first_response(struct sp_sla *s, enum sp_status status, int64_t now)
{
    if (s->first_responded_at != 0)
        return;
    s->first_responded_at = now;
    /* This clock never pauses (sla.h), so a pause in between is no excuse. */
    if (missed(s->first_response_due_at, now))
        flag(s, TARGET_FIRST_RESPONSE);
    sp_sla_refresh_due(s, status);
}

static void
resume(struct sp_sla *s, int64_t now)
{
    /* Clocks of different workers may disagree slightly: never shorten. */
    int64_t paused = now > s->paused_at ? now - s->paused_at : 0;
    s->paused_ms = add_ms(s->paused_ms, paused);
    /* A resolution missed before the pause stays missed at its due. */
    if (s->resolution_due_at != 0 && !missed(s->resolution_due_at, s->paused_at))
        s->resolution_due_at = add_ms(s->resolution_due_at, paused);
    s->paused_at = 0;
}

void
sp_sla_on_status(struct sp_sla *s, enum sp_status from, enum sp_status to, int64_t now)
{
    /* Keyed on paused_at rather than `from`: pending_customer may also be
     * left by a customer reply to open (lifecycle.h). */
    if (s->paused_at != 0 && to != SP_STATUS_PENDING_CUSTOMER)
        resume(s, now);
    if (to == SP_STATUS_PENDING_CUSTOMER && s->paused_at == 0)
        s->paused_at = now;

    bool finishing = to == SP_STATUS_RESOLVED || to == SP_STATUS_CLOSED;
    bool finished = from == SP_STATUS_RESOLVED || from == SP_STATUS_CLOSED;
    if (finishing && !finished) {
        if (s->first_responded_at == 0 && missed(s->first_response_due_at, now))
            flag(s, TARGET_FIRST_RESPONSE);
        if (missed(s->resolution_due_at, now))
            flag(s, TARGET_RESOLUTION);
    }
    sp_sla_refresh_due(s, to);
}

bool
sp_sla_check_breach(struct sp_sla *s, enum sp_status status, int64_t now, struct sp_sla_breach *out)
{
    enum target which;
    int64_t due = next_unjudged(s, status, &which);
    if (!missed(due, now))
        return false; /* the earlier target is still in time, so is the later */
    flag(s, which);
    /* The later target may be missed as well (the monitor did not run, or
     * a retarget put both dues in the past): it is flagged now too, but
     * reported once, by the earlier target's name. One report per check
     * means one priority step for one look at a ticket, not two for the
     * same lateness, and the later target is never reported after. */
    enum target later;
    if (missed(next_unjudged(s, status, &later), now))
        flag(s, later);
    if (out != NULL) {
        out->target = target_names[which];
        out->due_at = due;
    }
    sp_sla_refresh_due(s, status);
    return true;
}

bool
sp_sla_settle_raise(struct sp_sla *s, enum sp_status status, int64_t now)
{
    /* Not missed(): a due the raise set to exactly now would be missed a
     * millisecond later, by the same lateness the raise answered. */
    bool any = false;
    enum target which;
    for (int64_t due = next_unjudged(s, status, &which); due != 0 && due <= now;
         due = next_unjudged(s, status, &which)) {
        flag(s, which); /* each pass flags one: at most two */
        any = true;
    }
    if (any)
        sp_sla_refresh_due(s, status);
    return any;
}

int64_t
sp_sla_warn_at(const struct sp_sla *s, enum sp_status status, double warn_fraction,
               const char **target)
{
    /* The target the monitor judges next: once the first response is
     * breached (and still unanswered), the resolution is what can still
     * be saved, and it is warned about like any target. */
    enum target which;
    int64_t due = next_unjudged(s, status, &which);
    if (target != NULL)
        *target = target_names[which];
    if (due == 0)
        return 0;

    int64_t start = s->created_at;
    if (which == TARGET_RESOLUTION)
        start = add_ms(start, s->paused_ms);
    /* Exact even for nonsense dates (due > start), then bounded by the
     * longest target so the double below cannot overflow. */
    uint64_t span = due > start ? (uint64_t)due - (uint64_t)start : 0;
    int64_t length = span < (uint64_t)MAX_TARGET_MS ? (int64_t)span : MAX_TARGET_MS;
    if (!(warn_fraction > 0.0)) /* also NaN */
        warn_fraction = 0.0;
    if (warn_fraction > 1.0)
        warn_fraction = 1.0;
    /* Round, don't truncate: 0.2 * 240 min must be exactly 48 min. */
    return add_ms(due, -(int64_t)((double)length * warn_fraction + 0.5));
}
