/*
 * test_sla_monitor: the ticket-sla-monitor job (API.md §12, §5.1, §5.2)
 * against the real database, with its clock set by --now relative to each
 * ticket's created_at: a warning once per target at 80 % of it (to the
 * assignee; to the ticket's team — or, in a category routed by skill
 * without a team, to the skill's active agents — when there is none or
 * the assignee is away), the breach (to the team, or the skill's agents)
 * of each target once with its escalation, auto-close after
 * SUPPORT_AUTOCLOSE_DAYS (the customer told on SUPPORT_CUSTOMER_CHANNELS),
 * --dry-run,
 * the advisory lock, exit codes.
 * Tickets are made through the API; states the job needs but the API
 * cannot reach quickly (an old updated_at) are arranged in SQL. Other
 * programs share the database, so every assertion is about this test's
 * own tickets. The job runs as $SP_TEST_TOP_BUILDDIR/ticket-sla-monitor.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain/sla_monitor.h"

#define MIN_MS INT64_C(60000)
#define DAY_MS (INT64_C(86400) * 1000)

/* ---- running the job ------------------------------------------------------ */

/* One pass at `now`; asserts exit 0 and returns the output. */
static const char *
pass_at(const char *now, const char *const env[])
{
    const char *const args[] = {"--once", "--now", now, NULL};
    const char *out;
    int rc = sp_t_job_run("ticket-sla-monitor", env, args, &out);
    ck_assert_msg(rc == 0, "ticket-sla-monitor --once --now %s exited %d:\n%s", now, rc, out);
    return out;
}

/* ---- tickets and clocks ---------------------------------------------------- */

static const char *
fmt_ms(int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    return sp_t_fmt("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* A column expression of the ticket, as text. */
static const char *
col(const char *pid, const char *expr)
{
    return sp_t_sql("SELECT %s FROM support_tickets WHERE public_id = '%s'", expr, pid);
}

static int64_t
col_ms(const char *pid, const char *column)
{
    const char *v = col(pid, sp_t_fmt("support_ms(%s)", column));
    ck_assert_msg(v != NULL, "%s of %s is NULL", column, pid);
    return strtoll(v, NULL, 10);
}

/* The ticket's created_at plus minutes, as --now. */
static const char *
at_minutes(const char *pid, int64_t minutes)
{
    return fmt_ms(col_ms(pid, "created_at") + minutes * MIN_MS);
}

/* A normal-priority ticket of a fresh customer (created through the API). */
static const char *
new_ticket(const char *what)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, sp_t_unique(what));
    ck_assert_str_eq(col(pid, "priority"), "normal");
    /* API.md §5.2 defaults: normal is 240 min to first response. */
    ck_assert_int_eq(col_ms(pid, "sla_due_at") - col_ms(pid, "created_at"), 240 * MIN_MS);
    return pid;
}

static void
agent_patch(const char *pid, const char *json)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r =
        sp_t_patch_json(sp_t_fmt("/support/agent/tickets/%s", pid), agent.token, json);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

/* Everything the job could have written for the ticket, as one text. */
static const char *
footprint(const char *pid)
{
    return sp_t_sql("SELECT t.version || ' ' || t.status || ' ' || t.priority || ' '"
                    " || t.sla_breached || ' ' || t.sla_warned_first_response || ' '"
                    " || t.sla_warned_resolution || ' ' || coalesce(support_ts(t.closed_at), '-')"
                    " || ' ' || coalesce(support_ts(t.sla_due_at), '-')"
                    " || ' ' || (SELECT count(*) FROM support_ticket_events e"
                    "            WHERE e.ticket_id = t.id)"
                    " || ' ' || (SELECT count(*) FROM support_outbox o WHERE o.ticket_id = t.id)"
                    " FROM support_tickets t WHERE t.public_id = '%s'",
                    pid);
}

/* "<metadata.target> <metadata.due_at> <actor_type> <performed_by|->" of
 * the ticket's last event of that type. */
static const char *
event_summary(const char *pid, const char *type)
{
    return sp_t_sql("SELECT coalesce(e.metadata->>'target', '-') || ' '"
                    " || coalesce(e.metadata->>'due_at', '-') || ' ' || e.actor_type || ' '"
                    " || coalesce(e.performed_by, '-')"
                    " FROM support_ticket_events e JOIN support_tickets t ON t.id = e.ticket_id"
                    " WHERE t.public_id = '%s' AND e.event_type = '%s' ORDER BY e.id DESC LIMIT 1",
                    pid, type);
}

/* "<public_id> <target> <due_at>" of the ticket's last outbox row. */
static const char *
outbox_summary(const char *pid, const char *kind, const char *event_type)
{
    return sp_t_sql(
        "SELECT (o.payload->>'public_id') || ' ' || (o.payload->>'target') || ' '"
        " || (o.payload->>'due_at') || ' ' || ((o.payload->>'ticket_id')::bigint = t.id)"
        " FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id"
        " WHERE t.public_id = '%s' AND o.kind = '%s' AND o.event_type = '%s'"
        " ORDER BY o.id DESC LIMIT 1",
        pid, kind, event_type);
}

/* The job's log line with that event naming the ticket, or NULL. */
static const char *
log_line(const char *out, const char *event, const char *pid)
{
    const char *ev = sp_t_fmt("\"event\":\"%s\"", event);
    const char *id = sp_t_fmt("\"public_id\":\"%s\"", pid);
    for (const char *line = out; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t n = end != NULL ? (size_t)(end - line) : strlen(line);
        const char *l = sp_t_fmt("%.*s", (int)n, line);
        if (strstr(l, ev) != NULL && strstr(l, id) != NULL)
            return l;
        line = end != NULL ? end + 1 : NULL;
    }
    return NULL;
}

/* "<target> <due_at>,…" of the targets array of the ticket's last
 * sla_breached event (kind "event") or last ticket.sla_breached outbox
 * row of kind (webhook, notification); "-" without one. */
static const char *
breached_targets(const char *pid, const char *kind)
{
    const char *json =
        strcmp(kind, "event") == 0
            ? "(SELECT e.metadata FROM support_ticket_events e"
              " WHERE e.ticket_id = t.id AND e.event_type = 'sla_breached'"
              " ORDER BY e.id DESC LIMIT 1)"
            : sp_t_fmt("(SELECT o.payload FROM support_outbox o WHERE o.ticket_id = t.id"
                       " AND o.kind = '%s' AND o.event_type = 'ticket.sla_breached'"
                       " ORDER BY o.id DESC LIMIT 1)", kind);
    return sp_t_sql("SELECT coalesce((SELECT string_agg((x->>'target') || ' ' || (x->>'due_at'),"
                    " ',' ORDER BY i) FROM jsonb_array_elements(%s->'targets')"
                    " WITH ORDINALITY AS a(x, i)), '-')"
                    " FROM support_tickets t WHERE t.public_id = '%s'", json, pid);
}

/* The event, webhook and notification of the ticket's last breach all
 * name these targets ("<target> <due_at>,…"). */
static void
assert_breached_targets(const char *pid, const char *want)
{
    ck_assert_str_eq(breached_targets(pid, "event"), want);
    ck_assert_str_eq(breached_targets(pid, "webhook"), want);
    ck_assert_str_eq(breached_targets(pid, "notification"), want);
}

/* What a view shows of the ticket's history: "<version> <updated_at>". */
static const char *
shown(const char *pid)
{
    return col(pid, "version || ' ' || support_ts(updated_at)");
}

static long
webhooks(const char *pid, const char *event_type)
{
    return sp_t_db_outbox_count(pid, "webhook", event_type, NULL, NULL);
}

/* An agent's public reply; answers the agent. */
static struct sp_t_user
agent_reply(const char *pid)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", pid),
                                         agent.token, "{\"body\":\"Looking into it.\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    return agent;
}

/* ---- (a) warning ------------------------------------------------------------ */

START_TEST(warning_at_80_percent_of_the_target_is_sent_once)
{
    const char *pid = new_ticket("sla warn");
    int64_t due = col_ms(pid, "first_response_due_at");

    (void)pass_at(at_minutes(pid, 191), NULL); /* 79.6 %: not yet */
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 0);

    const char *out = pass_at(at_minutes(pid, 193), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_str_eq(event_summary(pid, "sla_warning"),
                     sp_t_fmt("first_response %s system -", fmt_ms(due)));
    /* Unassigned: the category's team, "general" without one. */
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", "team", "general"), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.sla_warning", NULL, NULL), 1);
    ck_assert_str_eq(outbox_summary(pid, "notification", "ticket.sla_warning"),
                     sp_t_fmt("%s first_response %s true", pid, fmt_ms(due)));
    ck_assert_str_eq(col(pid, "sla_warned_first_response"), "t");
    ck_assert_str_eq(col(pid, "sla_warned_resolution"), "f");
    ck_assert_str_eq(col(pid, "sla_breached"), "f");
    ck_assert_str_eq(col(pid, "priority"), "normal");
    ck_assert_ptr_nonnull(log_line(out, "sla_warning", pid));

    /* Re-runs at the same or a later time before the due add nothing. */
    const char *before = footprint(pid);
    (void)pass_at(at_minutes(pid, 193), NULL);
    (void)pass_at(at_minutes(pid, 239), NULL);
    ck_assert_str_eq(footprint(pid), before);
}
END_TEST

/* A warning changes nothing a customer or an integrator sees on the
 * ticket (API.md §5): no new version, the same updated_at, no
 * ticket.updated webhook — only ticket.sla_warning; an agent's PATCH with
 * the If-Match read before it still applies. */
START_TEST(warning_changes_nothing_the_views_show)
{
    const char *pid = new_ticket("sla warn unseen");
    struct sp_t_user agent = agent_reply(pid);
    const char *before = shown(pid);
    long updates = webhooks(pid, "ticket.updated");
    const char *version = col(pid, "version");

    /* The resolution (normal: 2880 min) is warned about at 80 %. */
    (void)pass_at(at_minutes(pid, 2305), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_str_eq(col(pid, "sla_warned_resolution"), "t");
    ck_assert_int_eq(webhooks(pid, "ticket.sla_warning"), 1);
    ck_assert_int_eq(webhooks(pid, "ticket.updated"), updates);
    ck_assert_str_eq(shown(pid), before);

    const char *hdrs[] = {sp_t_fmt("If-Match: \"v%s\"", version), NULL};
    struct sp_t_resp *r = sp_t_request("PATCH", sp_t_fmt("/support/agent/tickets/%s", pid),
                                       agent.token, SP_T_JSON, "{\"status\":\"pending_customer\"}",
                                       hdrs);
    sp_t_assert_json(r, 200);
    ck_assert_int_eq(sp_t_jint(r->json, "version"), strtoll(version, NULL, 10) + 1);
    sp_t_resp_free(r);
}
END_TEST

/* One warning per deadline (API.md §12): an urgent ticket warned about
 * its first response (15 min), then lowered to low, has a new deadline
 * (1440 min) that is warned in its own window — before, the flag stayed
 * set and the first signal was the breach (QA). Raised again to high
 * (60 min, earlier): the flag stays, no second warning for it. */
START_TEST(a_first_response_due_moved_later_is_warned_again)
{
    const char *pid = new_ticket("sla warn lowered");
    agent_patch(pid, "{\"priority\":\"urgent\"}");
    int64_t created = col_ms(pid, "created_at");
    (void)pass_at(at_minutes(pid, 13), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_str_eq(col(pid, "sla_warned_first_response"), "t");

    agent_patch(pid, "{\"priority\":\"low\"}");
    ck_assert_int_eq(col_ms(pid, "first_response_due_at"), created + 1440 * MIN_MS);
    ck_assert_str_eq(col(pid, "sla_warned_first_response"), "f");
    (void)pass_at(at_minutes(pid, 14), NULL); /* the old window: not the new due's */
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    (void)pass_at(at_minutes(pid, 1160), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 2);
    ck_assert_str_eq(event_summary(pid, "sla_warning"),
                     sp_t_fmt("first_response %s system -", fmt_ms(created + 1440 * MIN_MS)));
    (void)pass_at(at_minutes(pid, 1200), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 2);

    agent_patch(pid, "{\"priority\":\"high\"}"); /* earlier: the warning stands */
    ck_assert_int_eq(col_ms(pid, "first_response_due_at"), created + 60 * MIN_MS);
    ck_assert_str_eq(col(pid, "sla_warned_first_response"), "t");
    (void)pass_at(at_minutes(pid, 50), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 2);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 0);
}
END_TEST

/* The resolution warned at 80 %, then a day in pending_customer: the
 * resume moves the due a day later, a new deadline warned once more
 * (QA: nothing until the breach). */
START_TEST(a_resolution_due_moved_later_by_a_pause_is_warned_again)
{
    const char *pid = new_ticket("sla warn paused");
    (void)agent_reply(pid);
    (void)pass_at(at_minutes(pid, 2305), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_str_eq(col(pid, "sla_warned_resolution"), "t");
    int64_t due = col_ms(pid, "resolution_due_at");

    agent_patch(pid, "{\"status\":\"pending_customer\"}");
    (void)sp_t_sql("UPDATE support_tickets SET sla_paused_at = sla_paused_at - interval '1 day'"
                   " WHERE public_id = '%s' RETURNING id", pid);
    agent_patch(pid, "{\"status\":\"in_progress\"}");
    int64_t moved = col_ms(pid, "resolution_due_at");
    ck_assert_msg(moved >= due + DAY_MS && moved < due + DAY_MS + 10 * MIN_MS,
                  "resolution due %lld, was %lld", (long long)moved, (long long)due);
    ck_assert_str_eq(col(pid, "sla_warned_resolution"), "f");

    (void)pass_at(at_minutes(pid, 2305 + 1440 + 10), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 2);
    ck_assert_str_eq(event_summary(pid, "sla_warning"),
                     sp_t_fmt("resolution %s system -", fmt_ms(moved)));
    (void)pass_at(at_minutes(pid, 2305 + 1440 + 60), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 2);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 0);
}
END_TEST

/* One warning per deadline value (API.md §12): QA lowered a warned
 * urgent ticket and raised it back, again and again; each raise brought
 * the due back to the one warned of, its flag cleared by the lowering,
 * and each was warned again (3 sla_warning events for one due_at). The
 * due warned of is remembered: back to it, or to an earlier one, is no
 * new deadline. */
START_TEST(a_due_lowered_then_raised_back_is_not_warned_again)
{
    const char *pid = new_ticket("sla warn flapping");
    agent_patch(pid, "{\"priority\":\"urgent\"}");
    int64_t due = col_ms(pid, "first_response_due_at");
    (void)pass_at(at_minutes(pid, 13), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_int_eq(col_ms(pid, "sla_warned_first_response_due_at"), due);

    static const char *const lowered[] = {"low", "normal", "low"};
    for (int i = 0; i < 3; i++) {
        agent_patch(pid, sp_t_fmt("{\"priority\":\"%s\"}", lowered[i]));
        ck_assert_str_eq(col(pid, "sla_warned_first_response"), "f");
        (void)pass_at(at_minutes(pid, 13), NULL); /* not the later due's window */
        agent_patch(pid, "{\"priority\":\"urgent\"}");
        ck_assert_int_eq(col_ms(pid, "first_response_due_at"), due);
        ck_assert_str_eq(col(pid, "sla_warned_first_response"), "t");
        (void)pass_at(at_minutes(pid, 14), NULL);
    }
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_int_eq(col_ms(pid, "sla_warned_first_response_due_at"), due);
    ck_assert_int_eq(webhooks(pid, "ticket.sla_warning"), 1);
}
END_TEST

/* Tickets warned before sql/087 have only the flag: the migration gives
 * them the current due as the one warned of, so no pass warns them
 * again; an unwarned ticket gets none. Run twice: idempotent. */
START_TEST(migration_087_remembers_the_due_of_a_warning_given_before)
{
    const char *warned = new_ticket("sla warned before 087");
    int64_t due = col_ms(warned, "first_response_due_at");
    (void)pass_at(at_minutes(warned, 193), NULL);
    ck_assert_int_eq(sp_t_db_event_count(warned, "sla_warning"), 1);
    const char *unwarned = new_ticket("sla unwarned before 087"); /* after the pass */
    sp_t_sql("UPDATE support_tickets SET sla_warned_first_response_due_at = NULL"
             " WHERE public_id = '%s' RETURNING 1", warned);
    const char *sql = sp_t_migration_text("087_sla_warned_due.sql");
    for (int run = 0; run < 2; run++) {
        sp_t_sql("%s", sql);
        ck_assert_int_eq(col_ms(warned, "sla_warned_first_response_due_at"), due);
        ck_assert_str_eq(col(unwarned, "coalesce(sla_warned_first_response_due_at::text, '-')"
                                       " || coalesce(sla_warned_resolution_due_at::text, '-')"),
                         "--");
    }
    (void)pass_at(at_minutes(warned, 200), NULL);
    ck_assert_int_eq(sp_t_db_event_count(warned, "sla_warning"), 1);
}
END_TEST

START_TEST(warning_goes_to_the_assigned_agent)
{
    const char *pid = new_ticket("sla warn assigned");
    const char *agent = sp_t_db_agent_new();
    ck_assert_str_eq(sp_t_sql("SELECT status FROM support_agents WHERE id = %s", agent), "active");
    sp_t_db_ticket_assign(pid, agent);

    (void)pass_at(at_minutes(pid, 193), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", "agent", agent), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", "team", NULL),
                     0);
}
END_TEST

/* A normal-priority ticket in a fresh category, set up by the SQL
 * assignments `set` (e.g. "team = 'x'"). */
/* A ticket of a fresh customer in category slug (created through the API). */
static const char *
ticket_in(const char *what, const char *slug)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    return sp_t_ticket_create_json(
        &u, sp_t_fmt("{\"subject\":%s,\"description\":\"About it\",\"category\":\"%s\"}",
                     sp_t_jq(sp_t_unique(what)), slug));
}

/* A fresh category with its own policy for priority; returns its slug. */
static const char *
category_with_policy(const char *priority, int first_response_minutes, int resolution_minutes)
{
    const char *slug = sp_t_db_category_new(true);
    (void)sp_t_sql("INSERT INTO support_sla_policies (priority, category_id,"
                   " first_response_minutes, resolution_minutes)"
                   " SELECT '%s', id, %d, %d FROM support_categories WHERE slug = '%s'"
                   " RETURNING id",
                   priority, first_response_minutes, resolution_minutes, slug);
    return slug;
}

static const char *
new_ticket_in(const char *what, const char *set)
{
    const char *slug = sp_t_db_category_new(true);
    (void)sp_t_sql("UPDATE support_categories SET %s WHERE slug = '%s' RETURNING id", set, slug);
    const char *pid = ticket_in(what, slug);
    ck_assert_str_eq(col(pid, "priority"), "normal");
    ck_assert_int_eq(col_ms(pid, "sla_due_at") - col_ms(pid, "created_at"), 240 * MIN_MS);
    return pid;
}

/* A normal-priority ticket in a fresh category of a team of its own. */
static const char *
new_ticket_of_team(const char *what, const char *team)
{
    return new_ticket_in(what, sp_t_fmt("team = '%s'", team));
}

/* An unassigned ticket in a fresh category routed by skill, without a
 * team; nobody holds the skill yet, so routing left it unassigned. It
 * stays so once holders are made: it is one an agent put back in the
 * queue (left_to_routing false, as an unassign leaves it), which the
 * pass does not route to them (API.md §5.3–5.4 "Waiting tickets"). */
static const char *
new_ticket_of_skill(const char *what, const char *skill)
{
    const char *pid = new_ticket_in(
        what, sp_t_fmt("routing = 'skill', required_skill = '%s', team = NULL", skill));
    ck_assert_ptr_null(col(pid, "assigned_agent_id"));
    (void)sp_t_sql("UPDATE support_tickets SET left_to_routing = false WHERE public_id = '%s'"
                   " RETURNING id", pid);
    return pid;
}

/* A fresh agent holding skill, with that status; returns its id. */
static const char *
skill_agent(const char *skill, const char *status)
{
    const char *id = sp_t_db_agent_new();
    (void)sp_t_sql("UPDATE support_agents SET skills = ARRAY['%s'], status = '%s'"
                   " WHERE id = %s RETURNING id", skill, status, id);
    return id;
}

/* Notification rows of the ticket's sla_warning, "<channel>:<recipient>"
 * sorted, comma separated. */
static const char *
warned(const char *pid)
{
    return sp_t_sql("SELECT string_agg(o.channel || ':' || o.recipient, ','"
                    "   ORDER BY o.channel, o.recipient)"
                    " FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id"
                    " WHERE t.public_id = '%s' AND o.kind = 'notification'"
                    " AND o.event_type = 'ticket.sla_warning'", pid);
}

static const char *
sorted2(const char *a, const char *b)
{
    return strcmp(a, b) < 0 ? sp_t_fmt("%s,%s", a, b) : sp_t_fmt("%s,%s", b, a);
}

/* A skill's category has no team to tell: an unassigned ticket's warning
 * goes to the agents who can take it, the active holders of the skill
 * (channel agent, one row each), not to team general; an away holder
 * cannot act before the due and is left out (unless assigned), as is an
 * agent without the skill. */
START_TEST(warning_of_an_unassigned_skill_ticket_goes_to_the_skills_agents)
{
    const char *skill = sp_t_unique("skill");
    /* Both made while nobody holds the skill, so routing assigns neither. */
    const char *pid = new_ticket_of_skill("sla warn skill", skill);
    const char *away = new_ticket_of_skill("sla warn skill away", skill);
    const char *one = skill_agent(skill, "active"), *two = skill_agent(skill, "active");
    (void)sp_t_db_agent_new(); /* no skill */
    /* An away assignee holding the skill: told (seen on return), and so
     * are the others who can take it — not the assignee twice. */
    const char *holder = skill_agent(skill, "away");
    sp_t_db_ticket_assign(away, holder);

    (void)pass_at(at_minutes(pid, 193), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_str_eq(warned(pid), sorted2(sp_t_fmt("agent:%s", one), sp_t_fmt("agent:%s", two)));
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.sla_warning", NULL, NULL), 1);

    (void)pass_at(at_minutes(away, 193), NULL);
    ck_assert_int_eq(sp_t_db_outbox_count(away, "notification", "ticket.sla_warning", "agent",
                                          holder), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(away, "notification", "ticket.sla_warning", NULL, NULL),
                     3);
    ck_assert_int_eq(sp_t_db_outbox_count(away, "notification", "ticket.sla_warning", "team",
                                          NULL), 0);
}
END_TEST

/* Nobody active holds the skill: the warning still reaches someone, team
 * general, as for a ticket without a category. */
START_TEST(warning_of_a_skill_ticket_nobody_can_take_goes_to_general)
{
    const char *skill = sp_t_unique("skill");
    const char *pid = new_ticket_of_skill("sla warn skill none", skill);
    (void)skill_agent(skill, "away");
    (void)pass_at(at_minutes(pid, 193), NULL);
    ck_assert_str_eq(warned(pid), "team:general");
}
END_TEST

/* Notification rows of the ticket's sla_breached, as warned() lists them. */
static const char *
breach_told(const char *pid)
{
    return sp_t_sql("SELECT string_agg(o.channel || ':' || o.recipient, ','"
                    "   ORDER BY o.channel, o.recipient)"
                    " FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id"
                    " WHERE t.public_id = '%s' AND o.kind = 'notification'"
                    " AND o.event_type = 'ticket.sla_breached'", pid);
}

/* A breach goes to the team whoever is assigned (API.md §12): in a
 * category routed by skill without a team, the skill's active holders
 * are that team — the assignee among them — not team general; with none
 * active, general. */
START_TEST(breach_of_a_skill_ticket_goes_to_the_skills_agents)
{
    const char *skill = sp_t_unique("skill"), *unheld = sp_t_unique("skill");
    const char *pid = new_ticket_of_skill("sla breach skill", skill);
    const char *none = new_ticket_of_skill("sla breach skill none", unheld);
    const char *one = skill_agent(skill, "active"), *two = skill_agent(skill, "active");
    (void)skill_agent(skill, "away");
    (void)skill_agent(unheld, "away");
    sp_t_db_ticket_assign(pid, one);

    (void)pass_at(at_minutes(none, 241), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
    ck_assert_str_eq(breach_told(pid),
                     sorted2(sp_t_fmt("agent:%s", one), sp_t_fmt("agent:%s", two)));
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.sla_breached", NULL, NULL), 1);
    ck_assert_str_eq(breach_told(none), "team:general");
}
END_TEST

/* An away assignee (support_agents.status, API.md §5.4) cannot act before
 * the due: the ticket's team is warned as well, as if it were unassigned,
 * and the agent still is (they see it on return). */
START_TEST(warning_for_an_away_assignee_goes_to_the_team_too)
{
    const char *team = sp_t_unique("team");
    const char *pid = new_ticket_of_team("sla warn away", team);
    const char *agent = sp_t_db_agent_new();
    (void)sp_t_sql("UPDATE support_agents SET status = 'away' WHERE id = %s RETURNING id", agent);
    sp_t_db_ticket_assign(pid, agent);
    int64_t due = col_ms(pid, "first_response_due_at");

    (void)pass_at(at_minutes(pid, 193), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", "agent", agent), 1);
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", "team", team), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", NULL, NULL),
                     2);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.sla_warning", NULL, NULL), 1);
    ck_assert_str_eq(outbox_summary(pid, "notification", "ticket.sla_warning"),
                     sp_t_fmt("%s first_response %s true", pid, fmt_ms(due)));

    /* Once per target still: a later pass adds nothing. */
    const char *before = footprint(pid);
    (void)pass_at(at_minutes(pid, 239), NULL);
    ck_assert_str_eq(footprint(pid), before);

    /* The breach goes to the team whoever is assigned. */
    (void)pass_at(at_minutes(pid, 241), NULL);
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_breached", "team", team), 1);
}
END_TEST

/* The same ticket with its assignee active: the agent only. */
START_TEST(warning_for_an_active_assignee_goes_to_the_agent_only)
{
    const char *team = sp_t_unique("team");
    const char *pid = new_ticket_of_team("sla warn active", team);
    const char *agent = sp_t_db_agent_new();
    sp_t_db_ticket_assign(pid, agent);

    (void)pass_at(at_minutes(pid, 193), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", "agent", agent), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", NULL, NULL),
                     1);
}
END_TEST

/* Unassigned, the ticket's category's team is warned (not "general"). */
START_TEST(warning_of_an_unassigned_ticket_goes_to_its_category_team)
{
    const char *team = sp_t_unique("team");
    const char *pid = new_ticket_of_team("sla warn team", team);
    (void)pass_at(at_minutes(pid, 193), NULL);
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", "team", team), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", NULL, NULL),
                     1);
}
END_TEST

START_TEST(warn_fraction_comes_from_the_environment)
{
    const char *pid = new_ticket("sla warn fraction");
    const char *const half[] = {"SUPPORT_SLA_WARN_FRACTION=0.5", NULL};
    (void)pass_at(at_minutes(pid, 119), half);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 0);
    (void)pass_at(at_minutes(pid, 121), half);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
}
END_TEST

/* ---- (b), (c) breach ----------------------------------------------------------- */

START_TEST(breach_marks_escalates_to_high_and_retargets)
{
    const char *pid = new_ticket("sla breach");
    int64_t created = col_ms(pid, "created_at");
    int64_t due = col_ms(pid, "first_response_due_at");
    long version = strtol(col(pid, "version"), NULL, 10);
    long updates = webhooks(pid, "ticket.updated");

    const char *out = pass_at(at_minutes(pid, 241), NULL);
    /* The raise is a change the views show: a new version, ticket.updated. */
    ck_assert_int_eq(strtol(col(pid, "version"), NULL, 10), version + 1);
    ck_assert_int_eq(webhooks(pid, "ticket.updated"), updates + 1);
    ck_assert_str_eq(col(pid, "sla_breached"), "t");
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
    ck_assert_str_eq(event_summary(pid, "sla_breached"),
                     sp_t_fmt("first_response %s system -", fmt_ms(due)));
    ck_assert_str_eq(col(pid, "priority"), "high");
    ck_assert_int_eq(sp_t_db_event_count(pid, "priority_changed"), 1);
    ck_assert_str_eq(sp_t_sql("SELECT (e.metadata->>'from') || ' ' || (e.metadata->>'to') || ' '"
                              " || (e.metadata->>'reason') || ' ' || e.actor_type"
                              " FROM support_ticket_events e JOIN support_tickets t"
                              " ON t.id = e.ticket_id WHERE t.public_id = '%s'"
                              " AND e.event_type = 'priority_changed'",
                              pid),
                     "normal high sla_breached system");
    /* Dues recomputed for high (60 / 480 min). */
    ck_assert_int_eq(col_ms(pid, "first_response_due_at"), created + 60 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "resolution_due_at"), created + 480 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "sla_due_at"), created + 60 * MIN_MS);
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_breached", "team", "general"), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.sla_breached", NULL, NULL), 1);
    ck_assert_str_eq(outbox_summary(pid, "notification", "ticket.sla_breached"),
                     sp_t_fmt("%s first_response %s true", pid, fmt_ms(due)));
    assert_breached_targets(pid, sp_t_fmt("first_response %s", fmt_ms(due)));
    /* The breach, then the raise it caused. */
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(e.event_type, ',' ORDER BY e.id)"
                              " FROM support_ticket_events e JOIN support_tickets t"
                              " ON t.id = e.ticket_id WHERE t.public_id = '%s'"
                              " AND e.event_type IN ('sla_breached', 'priority_changed')", pid),
                     "sla_breached,priority_changed");
    /* A passed target is the breach's business: no warning for it. */
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 0);
    const char *line = log_line(out, "sla_breached", pid);
    ck_assert_ptr_nonnull(line);
    ck_assert_ptr_nonnull(strstr(line, "\"priority_to\":\"high\""));

    const char *before = footprint(pid);
    (void)pass_at(at_minutes(pid, 241), NULL);
    (void)pass_at(at_minutes(pid, 300), NULL);
    ck_assert_str_eq(footprint(pid), before);
}
END_TEST

/* The first-response clock never pauses (API.md §5.2): a ticket an agent
 * set to pending_customer without answering keeps that due as sla_due_at
 * and is warned about and breached as an open one is; the views say so. */
START_TEST(unanswered_ticket_in_pending_customer_still_breaches_its_first_response)
{
    const char *pid = new_ticket("sla pending unanswered");
    int64_t created = col_ms(pid, "created_at");
    int64_t due = col_ms(pid, "first_response_due_at");
    agent_patch(pid, "{\"status\":\"pending_customer\"}");
    ck_assert_str_eq(col(pid, "status"), "pending_customer");
    ck_assert_int_eq(col_ms(pid, "sla_due_at"), due);
    (void)pass_at(at_minutes(pid, 193), NULL); /* 80 % of 240 min */
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    (void)pass_at(at_minutes(pid, 241), NULL);
    ck_assert_str_eq(col(pid, "sla_breached"), "t");
    ck_assert_str_eq(event_summary(pid, "sla_breached"),
                     sp_t_fmt("first_response %s system -", fmt_ms(due)));
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.sla_breached", NULL, NULL), 1);
    /* escalated to high: its first response (60 min) is what is still due */
    ck_assert_int_eq(col_ms(pid, "sla_due_at"), created + 60 * MIN_MS);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_agent_ticket(&agent, pid);
    ck_assert(json_object_get_boolean(sp_t_jget(r->json, "sla_breached")));
    ck_assert_int_eq(sp_t_jts_ms(r->json, "sla_due_at"), created + 60 * MIN_MS);
    sp_t_resp_free(r);
    /* reported once */
    (void)pass_at(at_minutes(pid, 300), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
}
END_TEST

/* Runs the migration `file` twice (it must be idempotent): `given` has
 * sla_due_at and sla_breach_check_at at its `due_column` after each run,
 * `left` neither. */
static void
assert_migration_gives_due(const char *file, const char *due_column, const char *given,
                           const char *left)
{
    const char *sql = sp_t_migration_text(file);
    const char *due = sp_t_fmt("(sla_due_at = %s) || ' ' || (sla_breach_check_at = %s)",
                               due_column, due_column);
    for (int run = 0; run < 2; run++) {
        sp_t_sql("%s", sql);
        ck_assert_str_eq(col(given, due), "true true");
        ck_assert_str_eq(col(left, "coalesce(sla_due_at::text, '-') || ' '"
                                   " || coalesce(sla_breach_check_at::text, '-')"), "- -");
    }
}

/* Tickets paused unanswered before the rule (sql/041): the migration gives
 * them what a write now gives (sla_due_at and the monitor's check at the
 * first-response due); an answered paused ticket keeps no due. Run twice:
 * it is idempotent. */
START_TEST(migration_041_gives_paused_unanswered_tickets_their_first_response_due)
{
    const char *old = new_ticket("sla pending before 041");
    const char *answered = new_ticket("sla pending answered");
    agent_patch(old, "{\"status\":\"pending_customer\"}");
    agent_patch(answered, "{\"status\":\"pending_customer\"}");
    sp_t_sql("UPDATE support_tickets SET sla_due_at = NULL, sla_breach_check_at = NULL"
             " WHERE public_id = '%s' RETURNING 1", old);
    sp_t_sql("UPDATE support_tickets SET first_responded_at = created_at, sla_due_at = NULL,"
             " sla_breach_check_at = NULL WHERE public_id = '%s' RETURNING 1", answered);
    assert_migration_gives_due("041_sla_first_response_while_pending.sql",
                               "first_response_due_at", old, answered);
    (void)pass_at(at_minutes(old, 241), NULL);
    ck_assert_str_eq(col(old, "sla_breached"), "t");
}
END_TEST

/* The first response is missed (reported, normal → high), an agent then
 * answers, and the resolution target of the new priority (480 min) passes:
 * a second breach, with its own escalation and notices. With one
 * breached flag per ticket this one went unreported. */
START_TEST(resolution_breach_after_a_first_response_breach_is_reported_too)
{
    const char *pid = new_ticket("sla breach twice");
    int64_t created = col_ms(pid, "created_at");

    (void)pass_at(at_minutes(pid, 241), NULL);
    ck_assert_str_eq(event_summary(pid, "sla_breached"),
                     sp_t_fmt("first_response %s system -", fmt_ms(created + 240 * MIN_MS)));
    ck_assert_str_eq(col(pid, "priority"), "high");
    ck_assert_str_eq(col(pid, "sla_breached_first_response || ' ' || sla_breached_resolution"),
                     "true false");
    /* The first response is judged; the monitor looks next at high's resolution. */
    ck_assert_int_eq(col_ms(pid, "sla_breach_check_at"), created + 480 * MIN_MS);

    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", pid),
                                         agent.token, "{\"body\":\"Looking into it.\"}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_str_eq(col(pid, "status"), "in_progress");
    ck_assert_int_eq(col_ms(pid, "sla_due_at"), created + 480 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "sla_breach_check_at"), created + 480 * MIN_MS);

    (void)pass_at(at_minutes(pid, 480), NULL); /* met up to its due instant */
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);

    const char *out = pass_at(at_minutes(pid, 481), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 2);
    const char *due = fmt_ms(created + 480 * MIN_MS);
    ck_assert_str_eq(event_summary(pid, "sla_breached"), sp_t_fmt("resolution %s system -", due));
    ck_assert_str_eq(col(pid, "priority"), "urgent");
    ck_assert_int_eq(sp_t_db_event_count(pid, "priority_changed"), 2);
    ck_assert_str_eq(sp_t_sql("SELECT (e.metadata->>'from') || ' ' || (e.metadata->>'to') || ' '"
                              " || (e.metadata->>'reason') FROM support_ticket_events e"
                              " JOIN support_tickets t ON t.id = e.ticket_id"
                              " WHERE t.public_id = '%s' AND e.event_type = 'priority_changed'"
                              " ORDER BY e.id DESC LIMIT 1",
                              pid),
                     "high urgent sla_breached");
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_breached", "team", "general"), 2);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.sla_breached", NULL, NULL), 2);
    ck_assert_str_eq(outbox_summary(pid, "notification", "ticket.sla_breached"),
                     sp_t_fmt("%s resolution %s true", pid, due));
    ck_assert_str_eq(outbox_summary(pid, "webhook", "ticket.sla_breached"),
                     sp_t_fmt("%s resolution %s true", pid, due));
    assert_breached_targets(pid, sp_t_fmt("resolution %s", due));
    const char *line = log_line(out, "sla_breached", pid);
    ck_assert_ptr_nonnull(line);
    ck_assert_ptr_nonnull(strstr(line, "\"target\":\"resolution\""));
    ck_assert_ptr_nonnull(strstr(line, "\"priority_to\":\"urgent\""));
    ck_assert_str_eq(col(pid, "sla_breached || ' ' || sla_breached_first_response || ' '"
                              " || sla_breached_resolution"),
                     "true true true");
    ck_assert_ptr_null(col(pid, "sla_breach_check_at")); /* nothing left to judge */

    /* Both targets are reported: later passes add nothing. */
    const char *before = footprint(pid);
    (void)pass_at(at_minutes(pid, 481), NULL);
    (void)pass_at(at_minutes(pid, 10000), NULL);
    ck_assert_str_eq(footprint(pid), before);
}
END_TEST

/* A low ticket (a rule's; 1440 / 7200 min) missed its first
 * response and the monitor first looks at hour 50: the raise to normal
 * brings the resolution due to 2880 min, already past. That is the same
 * miss, counted with the first report: one sla_breached, one raise, one
 * notice each, however many passes follow — before, the next pass reported
 * the resolution and raised to high. The views still show it overdue. */
START_TEST(a_due_the_breach_raise_makes_overdue_is_reported_with_that_breach)
{
    const char *slug = sp_t_admin_category_new(NULL);
    /* bound to this fresh category: it touches no other test's ticket */
    (void)sp_t_admin_rule_new(sp_t_fmt(
        "\"name\":\"account low\",\"priority\":\"low\",\"category\":%s", sp_t_jq(slug)));
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create_json(
        &u, sp_t_fmt("{\"subject\":%s,\"description\":\"My account\",\"category\":%s}",
                     sp_t_jq(sp_t_unique("sla low raise")), sp_t_jq(slug)));
    int64_t created = col_ms(pid, "created_at");
    ck_assert_str_eq(col(pid, "priority"), "low");
    ck_assert_int_eq(col_ms(pid, "resolution_due_at"), created + 7200 * MIN_MS);

    const char *out = pass_at(at_minutes(pid, 3000), NULL);
    ck_assert_ptr_nonnull(log_line(out, "sla_breached", pid));
    ck_assert_str_eq(event_summary(pid, "sla_breached"),
                     sp_t_fmt("first_response %s system -", fmt_ms(created + 1440 * MIN_MS)));
    ck_assert_str_eq(col(pid, "priority"), "normal");
    ck_assert_int_eq(col_ms(pid, "resolution_due_at"), created + 2880 * MIN_MS);
    ck_assert_str_eq(col(pid, "sla_breached_first_response || ' ' || sla_breached_resolution"),
                     "true true");
    ck_assert_ptr_null(col(pid, "sla_breach_check_at")); /* nothing left to judge */
    /* The one report names both: the resolution with the raised due it
     * is overdue by (QA: the payload named the first response only). */
    assert_breached_targets(pid, sp_t_fmt("first_response %s,resolution %s",
                                          fmt_ms(created + 1440 * MIN_MS),
                                          fmt_ms(created + 2880 * MIN_MS)));
    ck_assert_ptr_nonnull(strstr(log_line(out, "sla_breached", pid),
                                 "\"targets\":\"first_response,resolution\""));

    for (int64_t minute = 3001; minute <= 3002; minute++)
        ck_assert_ptr_null(log_line(pass_at(at_minutes(pid, minute), NULL), "sla_breached", pid));
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
    ck_assert_int_eq(sp_t_db_event_count(pid, "priority_changed"), 1);
    ck_assert_str_eq(col(pid, "priority"), "normal");
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_breached", "team", "general"), 1);
    ck_assert_int_eq(webhooks(pid, "ticket.sla_breached"), 1);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_agent_ticket(&agent, pid);
    ck_assert(json_object_get_boolean(sp_t_jget(r->json, "sla_breached")));
    ck_assert_int_eq(sp_t_jts_ms(r->json, "resolution_due_at"), created + 2880 * MIN_MS);
    sp_t_resp_free(r);
}
END_TEST

/* Both targets missed when the monitor first looks (it was not running:
 * a normal ticket at minute 2881): one report, one raise, and the report
 * names both targets, each with the due it was missed by. */
START_TEST(both_targets_missed_at_one_look_are_named_in_the_one_report)
{
    const char *pid = new_ticket("sla both missed");
    int64_t created = col_ms(pid, "created_at");
    (void)pass_at(at_minutes(pid, 2881), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
    ck_assert_str_eq(event_summary(pid, "sla_breached"),
                     sp_t_fmt("first_response %s system -", fmt_ms(created + 240 * MIN_MS)));
    ck_assert_str_eq(col(pid, "priority"), "high");
    assert_breached_targets(pid, sp_t_fmt("first_response %s,resolution %s",
                                          fmt_ms(created + 240 * MIN_MS),
                                          fmt_ms(created + 2880 * MIN_MS)));
    ck_assert_int_eq(webhooks(pid, "ticket.sla_breached"), 1);
    (void)pass_at(at_minutes(pid, 2882), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
}
END_TEST

/* A first response breached and still unanswered: the resolution (high's
 * 480 min after the breach raised the priority) is warned about at 20 %
 * left, minute 384, once — before, the warning looked only at the
 * earliest outstanding target, the breached first response, and never
 * came. */
START_TEST(after_a_first_response_breach_the_resolution_is_warned_about)
{
    const char *pid = new_ticket("sla warn after breach");
    int64_t created = col_ms(pid, "created_at");
    (void)pass_at(at_minutes(pid, 193), NULL);
    (void)pass_at(at_minutes(pid, 241), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
    ck_assert_str_eq(col(pid, "priority"), "high");

    (void)pass_at(at_minutes(pid, 383), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
    (void)pass_at(at_minutes(pid, 385), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 2);
    ck_assert_str_eq(event_summary(pid, "sla_warning"),
                     sp_t_fmt("resolution %s system -", fmt_ms(created + 480 * MIN_MS)));
    ck_assert_str_eq(col(pid, "sla_warned_resolution"), "t");
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_warning", "team", "general"), 2);
    const char *before = footprint(pid);
    (void)pass_at(at_minutes(pid, 400), NULL);
    ck_assert_str_eq(footprint(pid), before);
}
END_TEST

START_TEST(breached_urgent_ticket_stays_urgent)
{
    const char *pid = new_ticket("sla breach urgent");
    agent_patch(pid, "{\"priority\":\"urgent\"}");
    ck_assert_int_eq(col_ms(pid, "sla_due_at") - col_ms(pid, "created_at"), 15 * MIN_MS);
    long changes = sp_t_db_event_count(pid, "priority_changed");
    /* Nothing a view shows changes (its sla_breached is true once the due
     * has passed, flag or not): no new version, no ticket.updated. */
    const char *before = shown(pid);
    long updates = webhooks(pid, "ticket.updated");

    (void)pass_at(at_minutes(pid, 16), NULL);
    ck_assert_str_eq(col(pid, "sla_breached"), "t");
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
    ck_assert_str_eq(col(pid, "priority"), "urgent");
    ck_assert_int_eq(sp_t_db_event_count(pid, "priority_changed"), changes);
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_breached", "team", "general"), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "webhook", "ticket.sla_breached", NULL, NULL), 1);
    ck_assert_str_eq(shown(pid), before);
    ck_assert_int_eq(webhooks(pid, "ticket.updated"), updates);
}
END_TEST

/* A category's own high target (5 / 30 min) is tighter than the default
 * urgent one (15 / 240 min): the escalation high -> urgent keeps the
 * earlier dues, so the overdue ticket gains no time and stays at the top of
 * the sla_due_at queue. An agent's raise (normal -> high) tightens the
 * same way; a lowering recomputes and may loosen. */
START_TEST(escalation_never_moves_a_due_later)
{
    const char *pid = ticket_in("sla raise", category_with_policy("high", 5, 30));
    int64_t created = col_ms(pid, "created_at");
    agent_patch(pid, "{\"priority\":\"high\"}");
    ck_assert_int_eq(col_ms(pid, "first_response_due_at"), created + 5 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "resolution_due_at"), created + 30 * MIN_MS);

    (void)pass_at(at_minutes(pid, 6), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
    ck_assert_str_eq(col(pid, "priority"), "urgent");
    ck_assert_int_eq(col_ms(pid, "first_response_due_at"), created + 5 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "resolution_due_at"), created + 30 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "sla_due_at"), created + 5 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "sla_breach_check_at"), created + 30 * MIN_MS);

    /* Lowered to low: the category has no low row, the default applies
     * to the resolution still ahead; the first response, missed and
     * reported, keeps its due (a later answer is still late). */
    agent_patch(pid, "{\"priority\":\"low\"}");
    ck_assert_int_eq(col_ms(pid, "first_response_due_at"), created + 5 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "resolution_due_at"), created + 7200 * MIN_MS);
}
END_TEST

/* ---- (c') a miss the monitor has not seen yet ------------------------------------- */

/* Moves the ticket's clock `minutes` back: its creation, dues and first
 * response, so that a due passes on the server's real clock (a PATCH
 * reads that one, not the job's --now). */
static void
age(const char *pid, int minutes)
{
    static const char *const columns[] = {"created_at", "first_response_due_at",
                                          "resolution_due_at", "first_responded_at",
                                          "sla_due_at", "sla_breach_check_at"};
    const char *set = "";
    for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
        set = sp_t_fmt("%s%s%s = %s - interval '%d minutes'", set, i ? ", " : "", columns[i],
                       columns[i], minutes);
    (void)sp_t_sql("UPDATE support_tickets SET %s WHERE public_id = '%s' RETURNING id", set, pid);
}

/* The views say the ticket is breached: its agent view, and the queue's
 * ?sla=breached lists it (API.md §5: true once any target was missed). */
static void
assert_shown_breached(const char *pid, const char *when)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r = sp_t_agent_ticket(&agent, pid);
    ck_assert_msg(json_object_get_boolean(sp_t_jget(r->json, "sla_breached")),
                  "%s: the agent view says sla_breached false", when);
    sp_t_resp_free(r);
    r = sp_t_get(sp_t_fmt("/support/agent/tickets?customer_id=%s&sla=breached",
                          col(pid, "customer_id")),
                 agent.token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    bool listed = false;
    for (size_t i = 0; i < json_object_array_length(data); i++)
        listed = listed || strcmp(sp_t_jstr(json_object_array_get_idx(data, i), "public_id"),
                                  pid) == 0;
    ck_assert_msg(listed, "%s: ?sla=breached does not list %s", when, pid);
    sp_t_resp_free(r);
}

/* The monitor's pass at `now` reports the miss once — one sla_breached
 * event, webhook and notification naming `targets` — and the next passes
 * nothing more. */
static void
assert_reported_once(const char *pid, const char *now, const char *later, const char *targets)
{
    (void)pass_at(now, NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
    ck_assert_int_eq(webhooks(pid, "ticket.sla_breached"), 1);
    ck_assert_int_eq(
        sp_t_db_outbox_count(pid, "notification", "ticket.sla_breached", NULL, NULL), 1);
    assert_breached_targets(pid, targets);
    (void)pass_at(later, NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
}

/* The QA case: a category's tight target (1 / 2 min) passes, then the
 * agent moves the ticket back to a category with the defaults before the
 * monitor runs. The missed targets keep their dues: still breached on
 * the views, reported by the next pass — before, the recomputed dues
 * (240 / 2880 min) hid the miss and no pass ever reported it. */
START_TEST(a_category_change_after_a_miss_keeps_it_shown_and_reported)
{
    const char *tight = category_with_policy("normal", 1, 2);
    const char *loose = sp_t_db_category_new(true);
    const char *pid = ticket_in("sla category miss", loose);
    age(pid, 10);
    int64_t created = col_ms(pid, "created_at");
    agent_patch(pid, sp_t_fmt("{\"category\":\"%s\"}", tight));
    assert_shown_breached(pid, "in the tight category");
    agent_patch(pid, sp_t_fmt("{\"category\":\"%s\"}", loose));
    assert_shown_breached(pid, "back in the default category");
    /* the dashboard's share in time judges a later answer by this due */
    ck_assert_int_eq(col_ms(pid, "first_response_due_at"), created + 1 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "resolution_due_at"), created + 2 * MIN_MS);
    assert_reported_once(pid, at_minutes(pid, 11), at_minutes(pid, 12),
                         sp_t_fmt("first_response %s,resolution %s",
                                  fmt_ms(created + 1 * MIN_MS), fmt_ms(created + 2 * MIN_MS)));
}
END_TEST

/* Urgent (15 min to first response) missed, then lowered to low (1440)
 * before the monitor runs: the first response stays missed at its due. */
START_TEST(a_priority_lowered_after_a_miss_keeps_it_shown_and_reported)
{
    const char *pid = new_ticket("sla lowered miss");
    agent_patch(pid, "{\"priority\":\"urgent\"}");
    age(pid, 20);
    int64_t created = col_ms(pid, "created_at");
    assert_shown_breached(pid, "urgent, 20 min old");
    agent_patch(pid, "{\"priority\":\"low\"}");
    assert_shown_breached(pid, "lowered to low");
    ck_assert_int_eq(col_ms(pid, "first_response_due_at"), created + 15 * MIN_MS);
    ck_assert_int_eq(col_ms(pid, "resolution_due_at"), created + 7200 * MIN_MS);
    assert_reported_once(pid, at_minutes(pid, 21), at_minutes(pid, 22),
                         sp_t_fmt("first_response %s", fmt_ms(created + 15 * MIN_MS)));
}
END_TEST

/* An urgent ticket (15 / 240 min) answered at once: in_progress. */
static const char *
urgent_answered(const char *what)
{
    const char *pid = new_ticket(what);
    agent_patch(pid, "{\"priority\":\"urgent\"}");
    (void)agent_reply(pid);
    return pid;
}

/* Answered in time, then the resolution (urgent: 240 min) passes and the
 * agent waits on the customer: the pause stops no clock of a target
 * already missed, so the ticket shows breached while it waits and the
 * monitor reports the resolution — before, the views said false and
 * the monitor did not look until the customer came back. */
START_TEST(a_pause_after_a_missed_resolution_keeps_it_shown_and_reported)
{
    const char *pid = urgent_answered("sla paused miss");
    age(pid, 300);
    int64_t created = col_ms(pid, "created_at");
    assert_shown_breached(pid, "in_progress, 300 min old");
    agent_patch(pid, "{\"status\":\"pending_customer\"}");
    ck_assert_str_eq(col(pid, "status"), "pending_customer");
    assert_shown_breached(pid, "pending_customer");
    ck_assert_int_eq(col_ms(pid, "sla_due_at"), created + 240 * MIN_MS);
    assert_reported_once(pid, at_minutes(pid, 301), at_minutes(pid, 400),
                         sp_t_fmt("resolution %s", fmt_ms(created + 240 * MIN_MS)));
}
END_TEST

/* Tickets paused after a missed resolution before the rule (sql/060):
 * the migration gives them what the pause now gives (sla_due_at and the
 * monitor's check at the missed due); a ticket paused in time keeps
 * neither. Run twice: it is idempotent. */
START_TEST(migration_060_gives_tickets_paused_after_a_miss_their_resolution_due)
{
    const char *late = urgent_answered("sla paused late before 060");
    const char *in_time = urgent_answered("sla paused in time");
    const char *const pids[] = {late, in_time};
    age(late, 300);
    for (size_t i = 0; i < 2; i++) {
        agent_patch(pids[i], "{\"status\":\"pending_customer\"}");
        sp_t_sql("UPDATE support_tickets SET sla_due_at = NULL, sla_breach_check_at = NULL"
                 " WHERE public_id = '%s' RETURNING 1", pids[i]);
    }
    assert_migration_gives_due("060_sla_missed_before_pause.sql", "resolution_due_at", late,
                               in_time);
    assert_shown_breached(late, "after sql/060");
    assert_reported_once(late, at_minutes(late, 301), at_minutes(late, 302),
                         sp_t_fmt("resolution %s",
                                  fmt_ms(col_ms(late, "created_at") + 240 * MIN_MS)));
}
END_TEST

/* ---- (d) auto-close ---------------------------------------------------------------- */

/* Resolved through the agent API, then resolved and last touched `days`
 * ago. */
static const char *
resolved_ticket(const char *what, int days)
{
    const char *pid = new_ticket(what);
    agent_patch(pid, "{\"status\":\"resolved\"}");
    ck_assert_str_eq(col(pid, "status"), "resolved");
    ck_assert_str_eq(col(pid, "resolved_at = updated_at"), "t");
    (void)sp_t_sql("UPDATE support_tickets SET updated_at = now() - interval '%d days',"
                   " resolved_at = now() - interval '%d days'"
                   " WHERE public_id = '%s' RETURNING id",
                   days, days, pid);
    return pid;
}

/* The clock counts from the move to resolved (sql/043): an internal note
 * a day later changes updated_at, not the 7 days. */
START_TEST(a_note_on_a_resolved_ticket_does_not_restart_the_autoclose_clock)
{
    const char *noted = resolved_ticket("autoclose noted", 8);
    const char *plain = resolved_ticket("autoclose plain", 8);
    int64_t resolved = col_ms(noted, "resolved_at");
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r =
        sp_t_post_json(sp_t_fmt("/support/agent/tickets/%s/messages", noted), agent.token,
                       "{\"body\":\"checked the refund\",\"is_internal\":true}");
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
    ck_assert_str_eq(col(noted, "status"), "resolved");
    ck_assert_int_eq(col_ms(noted, "resolved_at"), resolved);
    ck_assert_str_eq(col(noted, "updated_at > now() - interval '1 minute'"), "t");

    (void)pass_at(fmt_ms((int64_t)time(NULL) * 1000), NULL);
    ck_assert_str_eq(col(noted, "status"), "closed");
    ck_assert_str_eq(col(plain, "status"), "closed");
    ck_assert_ptr_null(col(noted, "resolved_at")); /* only while resolved */
}
END_TEST

/* A reopen clears the clock; resolving again starts it afresh. */
START_TEST(resolving_again_restarts_the_autoclose_clock)
{
    const char *pid = resolved_ticket("autoclose reopened", 8);
    agent_patch(pid, "{\"status\":\"in_progress\"}");
    ck_assert_ptr_null(col(pid, "resolved_at"));
    agent_patch(pid, "{\"status\":\"resolved\"}");
    ck_assert_str_eq(col(pid, "resolved_at > now() - interval '1 minute'"), "t");
    (void)pass_at(fmt_ms((int64_t)time(NULL) * 1000), NULL);
    ck_assert_str_eq(col(pid, "status"), "resolved");
}
END_TEST

START_TEST(resolved_ticket_closes_after_7_days)
{
    const char *old = resolved_ticket("autoclose 8d", 8);
    const char *recent = resolved_ticket("autoclose 6d", 6);
    int64_t now = (int64_t)time(NULL) * 1000;

    const char *out = pass_at(fmt_ms(now), NULL);
    ck_assert_str_eq(col(old, "status"), "closed");
    ck_assert_int_eq(col_ms(old, "closed_at"), now); /* the job's clock, not now() */
    ck_assert_int_eq(sp_t_db_event_count(old, "closed"), 1);
    ck_assert_str_eq(sp_t_sql("SELECT (e.metadata->>'from') || ' ' || (e.metadata->>'to') || ' '"
                              " || e.actor_type || ' ' || coalesce(e.performed_by, '-')"
                              " FROM support_ticket_events e JOIN support_tickets t"
                              " ON t.id = e.ticket_id WHERE t.public_id = '%s'"
                              " AND e.event_type = 'closed'",
                              old),
                     "resolved closed system -");
    ck_assert_ptr_nonnull(log_line(out, "auto_closed", old));

    ck_assert_str_eq(col(recent, "status"), "resolved");
    ck_assert_ptr_null(col(recent, "closed_at"));
    ck_assert_int_eq(sp_t_db_event_count(recent, "closed"), 0);
}
END_TEST

START_TEST(autoclose_days_come_from_the_environment)
{
    const char *pid = resolved_ticket("autoclose env", 6);
    const char *now = fmt_ms((int64_t)time(NULL) * 1000);
    const char *const five[] = {"SUPPORT_AUTOCLOSE_DAYS=5", NULL};
    (void)pass_at(now, five);
    ck_assert_str_eq(col(pid, "status"), "closed");
}
END_TEST

/* Closing is a move the customer acts on (docs/API.md §11): their
 * ticket.updated, one row per channel of SUPPORT_CUSTOMER_CHANNELS. */
START_TEST(autoclose_tells_the_customer_on_their_channels)
{
    const char *pid = resolved_ticket("autoclose channels", 8);
    const char *const channels[] = {"SUPPORT_CUSTOMER_CHANNELS=email,push", NULL};
    (void)pass_at(fmt_ms((int64_t)time(NULL) * 1000), channels);
    ck_assert_str_eq(col(pid, "status"), "closed");
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(o.channel, ',' ORDER BY o.channel)"
                              " FROM support_outbox o JOIN support_tickets t ON t.id = o.ticket_id"
                              " WHERE t.public_id = '%s' AND o.kind = 'notification'"
                              " AND o.event_type = 'ticket.updated' AND o.recipient = t.customer_id"
                              " AND o.payload->>'status' = 'closed'", pid),
                     "email,push");
}
END_TEST

/* ---- (e) dry run ------------------------------------------------------------------- */

START_TEST(dry_run_changes_nothing_but_logs_what_it_would_do)
{
    const char *warn = new_ticket("dry warn");
    const char *breach = new_ticket("dry breach");
    const char *closing = resolved_ticket("dry close", 8);
    /* 193 min after `warn` is created, `breach` (older, backdated) is due. */
    (void)sp_t_sql("UPDATE support_tickets SET created_at = created_at - interval '1 hour',"
                   " first_response_due_at = first_response_due_at - interval '1 hour',"
                   " resolution_due_at = resolution_due_at - interval '1 hour',"
                   " sla_due_at = sla_due_at - interval '1 hour',"
                   " sla_breach_check_at = sla_breach_check_at - interval '1 hour'"
                   " WHERE public_id = '%s' RETURNING id",
                   breach);
    const char *now = at_minutes(warn, 193);
    const char *before[3] = {footprint(warn), footprint(breach), footprint(closing)};

    const char *const args[] = {"--once", "--dry-run", "--now", now, NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("ticket-sla-monitor", NULL, args, &out), 0);
    ck_assert_str_eq(footprint(warn), before[0]);
    ck_assert_str_eq(footprint(breach), before[1]);
    ck_assert_str_eq(footprint(closing), before[2]);
    const char *lines[3] = {log_line(out, "sla_warning", warn),
                            log_line(out, "sla_breached", breach),
                            log_line(out, "auto_closed", closing)};
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(lines[i] != NULL, "no log line %d in:\n%s", i, out);
        ck_assert_ptr_nonnull(strstr(lines[i], "\"dry_run\":1"));
    }
    ck_assert_ptr_nonnull(strstr(out, "\"event\":\"sla_monitor_pass\""));

    /* The same pass for real does it all. */
    (void)pass_at(now, NULL);
    ck_assert_int_eq(sp_t_db_event_count(warn, "sla_warning"), 1);
    ck_assert_int_eq(sp_t_db_event_count(breach, "sla_breached"), 1);
    ck_assert_str_eq(col(closing, "status"), "closed");
}
END_TEST

/* ---- (f) one instance at a time ----------------------------------------------------- */

START_TEST(concurrent_runs_warn_each_ticket_once)
{
    const char *pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = new_ticket("sla concurrent");
    const char *now = at_minutes(pids[3], 193); /* the newest: all of them are due */
    const char *const args[] = {"--once", "--now", now, NULL};
    struct sp_t_job a, b;
    sp_t_job_start(&a, "ticket-sla-monitor", NULL, args);
    sp_t_job_start(&b, "ticket-sla-monitor", NULL, args);
    const char *out_a, *out_b;
    int rc_a = sp_t_job_wait(&a, &out_a), rc_b = sp_t_job_wait(&b, &out_b);
    ck_assert_msg(rc_a == 0, "first run exited %d:\n%s", rc_a, out_a);
    ck_assert_msg(rc_b == 0, "second run exited %d:\n%s", rc_b, out_b);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(sp_t_db_event_count(pids[i], "sla_warning"), 1);
        ck_assert_int_eq(
            sp_t_db_outbox_count(pids[i], "notification", "ticket.sla_warning", NULL, NULL), 1);
        ck_assert_int_eq(sp_t_db_outbox_count(pids[i], "webhook", "ticket.sla_warning", NULL, NULL),
                         1);
    }
}
END_TEST

START_TEST(run_while_another_holds_the_lock_does_nothing_and_exits_0)
{
    const char *pid = new_ticket("sla locked");
    /* The harness's session plays the other instance. */
    (void)sp_t_sql("SELECT pg_advisory_lock(%lld)", (long long)SP_SLA_MONITOR_LOCK_KEY);
    const char *out = pass_at(at_minutes(pid, 193), NULL);
    ck_assert_ptr_nonnull(strstr(out, "\"event\":\"sla_monitor_busy\""));
    ck_assert_ptr_nonnull(strstr(out, "\"level\":\"info\",\"event\":\"sla_monitor_pass\""));
    /* Its zero counts say it was skipped, not that it found nothing (QA). */
    ck_assert_msg(strstr(out, "\"skipped_pass\":\"busy\"") != NULL, "%s", out);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 0);

    (void)sp_t_sql("SELECT pg_advisory_unlock(%lld)", (long long)SP_SLA_MONITOR_LOCK_KEY);
    out = pass_at(at_minutes(pid, 193), NULL);
    ck_assert_msg(strstr(out, "\"skipped_pass\"") == NULL, "%s", out);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_warning"), 1);
}
END_TEST

START_TEST(ticket_locked_by_an_agent_is_skipped_until_the_next_pass)
{
    const char *pid = new_ticket("sla row locked");
    (void)sp_t_sql("BEGIN");
    (void)sp_t_sql("SELECT id FROM support_tickets WHERE public_id = '%s' FOR UPDATE", pid);
    const char *out = pass_at(at_minutes(pid, 241), NULL); /* must not wait */
    ck_assert_ptr_null(log_line(out, "sla_breached", pid));
    (void)sp_t_sql("ROLLBACK");
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 0);

    (void)pass_at(at_minutes(pid, 241), NULL);
    ck_assert_int_eq(sp_t_db_event_count(pid, "sla_breached"), 1);
}
END_TEST

/* ---- (g) exit codes ---------------------------------------------------------------------- */

START_TEST(bad_usage_exits_2)
{
    static const char *const cases[][4] = {
        {"--bogus", NULL},
        {"--once", "--now", "yesterday", NULL},
        {"--once", "--now", "2024-02-30T00:00:00Z", NULL},
        {"--once", "--now", NULL},
        {"--now", "2024-05-01T12:00:00Z", NULL}, /* a pinned clock needs --once */
        {"--interval", "0", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *out;
        int rc = sp_t_job_run("ticket-sla-monitor", NULL, cases[i], &out);
        ck_assert_msg(rc == 2, "case %zu exited %d:\n%s", i, rc, out);
        /* Not a terminal: the usage error is a JSON line (jobs/job.c). */
        ck_assert_msg(strstr(out, "\"event\":\"usage_error\"") != NULL &&
                          strstr(out, "\"usage\":\"ticket-sla-monitor [") != NULL,
                      "case %zu:\n%s", i, out);
    }
    const char *const help[] = {"--help", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("ticket-sla-monitor", NULL, help, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "SUPPORT_AUTOCLOSE_DAYS"));
}
END_TEST

START_TEST(unreachable_database_or_bad_setting_exits_1)
{
    const char *const args[] = {"--once", NULL};
    const char *out;
    const char *const down[] = {
        "SUPPORT_DATABASE_URL=host=127.0.0.1 port=1 dbname=support connect_timeout=5", NULL};
    ck_assert_int_eq(sp_t_job_run("ticket-sla-monitor", down, args, &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "\"level\":\"error\",\"event\":\"sla_monitor_pass\""));

    const char *const bad_days[] = {"SUPPORT_AUTOCLOSE_DAYS=7d", NULL};
    ck_assert_int_eq(sp_t_job_run("ticket-sla-monitor", bad_days, args, &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "SUPPORT_AUTOCLOSE_DAYS"));
    const char *const bad_fraction[] = {"SUPPORT_SLA_WARN_FRACTION=1.5", NULL};
    ck_assert_int_eq(sp_t_job_run("ticket-sla-monitor", bad_fraction, args, &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "SUPPORT_SLA_WARN_FRACTION"));
}
END_TEST

START_TEST(housekeeping_purges_spent_rate_windows_and_idempotency_keys)
{
    const char *tag = sp_t_unique("hk");
    sp_t_sql("INSERT INTO support_rate_limits (bucket, window_start, count) VALUES"
             " ('%s-old', now() - interval '3 days', 1), ('%s-new', now(), 1) RETURNING 1",
             tag, tag);
    sp_t_sql("INSERT INTO support_idempotency_keys (user_id, key, request_hash, created_at) VALUES"
             " ('%s', 'old', '\\x00', now() - interval '25 hours'),"
             " ('%s', 'new', '\\x00', now()) RETURNING 1",
             tag, tag);
    static const char *const args[] = {"--once", NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("ticket-sla-monitor", NULL, args, &out), 0);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_rate_limits WHERE bucket LIKE '%s-%%'",
                              tag), "1");
    ck_assert_str_eq(sp_t_sql("SELECT bucket FROM support_rate_limits WHERE bucket LIKE '%s-%%'",
                              tag), sp_t_fmt("%s-new", tag));
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(key, ',') FROM support_idempotency_keys"
                              " WHERE user_id = '%s'", tag), "new");
}
END_TEST

/* --now pins the SLA decisions only: housekeeping purges by the real
 * clock (QA: a pinned clock purged idempotency keys minutes old). Pinned
 * two days back, a key 25 hours old and a window 3 days old still go. */
START_TEST(housekeeping_keeps_the_real_clock_under_a_pinned_one)
{
    const char *tag = sp_t_unique("hkn");
    sp_t_sql("INSERT INTO support_rate_limits (bucket, window_start, count) VALUES"
             " ('%s-old', now() - interval '3 days', 1) RETURNING 1", tag);
    sp_t_sql("INSERT INTO support_idempotency_keys (user_id, key, request_hash, created_at) VALUES"
             " ('%s', 'old', '\\x00', now() - interval '25 hours') RETURNING 1", tag);
    const char *then = sp_t_sql("SELECT to_char((now() - interval '2 days') AT TIME ZONE 'UTC',"
                                " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
    const char *const args[] = {"--once", "--now", then, NULL};
    const char *out;
    ck_assert_int_eq(sp_t_job_run("ticket-sla-monitor", NULL, args, &out), 0);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_rate_limits WHERE bucket LIKE '%s-%%'",
                              tag), "0");
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_idempotency_keys"
                              " WHERE user_id = '%s'", tag), "0");
}
END_TEST

static Suite *
sla_monitor_suite(void)
{
    Suite *s = suite_create("sla_monitor");
    TCase *tc = sp_t_tcase(s, "warn");
    tcase_add_test(tc, housekeeping_purges_spent_rate_windows_and_idempotency_keys);
    tcase_add_test(tc, housekeeping_keeps_the_real_clock_under_a_pinned_one);
    tcase_add_test(tc, warning_at_80_percent_of_the_target_is_sent_once);
    tcase_add_test(tc, warning_changes_nothing_the_views_show);
    tcase_add_test(tc, a_first_response_due_moved_later_is_warned_again);
    tcase_add_test(tc, a_resolution_due_moved_later_by_a_pause_is_warned_again);
    tcase_add_test(tc, a_due_lowered_then_raised_back_is_not_warned_again);
    tcase_add_test(tc, migration_087_remembers_the_due_of_a_warning_given_before);
    tcase_add_test(tc, warning_goes_to_the_assigned_agent);
    tcase_add_test(tc, warning_for_an_away_assignee_goes_to_the_team_too);
    tcase_add_test(tc, warning_for_an_active_assignee_goes_to_the_agent_only);
    tcase_add_test(tc, warning_of_an_unassigned_ticket_goes_to_its_category_team);
    tcase_add_test(tc, warning_of_an_unassigned_skill_ticket_goes_to_the_skills_agents);
    tcase_add_test(tc, warning_of_a_skill_ticket_nobody_can_take_goes_to_general);
    tcase_add_test(tc, breach_of_a_skill_ticket_goes_to_the_skills_agents);
    tcase_add_test(tc, warn_fraction_comes_from_the_environment);

    tc = sp_t_tcase(s, "breach");
    tcase_add_test(tc, breach_marks_escalates_to_high_and_retargets);
    tcase_add_test(tc, unanswered_ticket_in_pending_customer_still_breaches_its_first_response);
    tcase_add_test(tc, migration_041_gives_paused_unanswered_tickets_their_first_response_due);
    tcase_add_test(tc, resolution_breach_after_a_first_response_breach_is_reported_too);
    tcase_add_test(tc, a_due_the_breach_raise_makes_overdue_is_reported_with_that_breach);
    tcase_add_test(tc, both_targets_missed_at_one_look_are_named_in_the_one_report);
    tcase_add_test(tc, after_a_first_response_breach_the_resolution_is_warned_about);
    tcase_add_test(tc, breached_urgent_ticket_stays_urgent);
    tcase_add_test(tc, escalation_never_moves_a_due_later);
    tcase_add_test(tc, a_category_change_after_a_miss_keeps_it_shown_and_reported);
    tcase_add_test(tc, a_priority_lowered_after_a_miss_keeps_it_shown_and_reported);
    tcase_add_test(tc, a_pause_after_a_missed_resolution_keeps_it_shown_and_reported);
    tcase_add_test(tc, migration_060_gives_tickets_paused_after_a_miss_their_resolution_due);

    tc = sp_t_tcase(s, "autoclose");
    tcase_add_test(tc, resolved_ticket_closes_after_7_days);
    tcase_add_test(tc, autoclose_days_come_from_the_environment);
    tcase_add_test(tc, autoclose_tells_the_customer_on_their_channels);
    tcase_add_test(tc, a_note_on_a_resolved_ticket_does_not_restart_the_autoclose_clock);
    tcase_add_test(tc, resolving_again_restarts_the_autoclose_clock);

    tc = sp_t_tcase(s, "dry_run");
    tcase_add_test(tc, dry_run_changes_nothing_but_logs_what_it_would_do);

    tc = sp_t_tcase(s, "locking");
    tcase_add_test(tc, concurrent_runs_warn_each_ticket_once);
    tcase_add_test(tc, run_while_another_holds_the_lock_does_nothing_and_exits_0);
    tcase_add_test(tc, ticket_locked_by_an_agent_is_skipped_until_the_next_pass);

    tc = sp_t_tcase(s, "exit_codes");
    tcase_add_test(tc, bad_usage_exits_2);
    tcase_add_test(tc, unreachable_database_or_bad_setting_exits_1);
    return s;
}

int
main(void)
{
    return sp_t_run(sla_monitor_suite());
}
