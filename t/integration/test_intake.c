/*
 * test_intake: what POST /support/tickets decides on its own (API.md §4
 * "Effects", §5.2–§5.4): the priority (the first active priority rule by
 * position whose set conditions — category, the JWT's customer tier, a
 * case-insensitive PCRE2 pattern over subject + description, sentiment
 * below a bound — all match; else the category's default_priority; else
 * normal) with the rule's name as `priority_rule`, the sentiment score,
 * the SLA targets of that priority, and the assignee from the category's
 * routing (round robin over a team, least loaded agent with a skill,
 * manual), skipping away agents and agents at their open-ticket capacity,
 * without handing the same agent out twice under concurrent creations.
 *
 * Every rule here is bound to a fresh category and deleted at the end, and
 * every team and skill is fresh, so other tests never meet them.
 */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_MS 60000LL
#define CAPACITY 50  /* SUPPORT_AGENT_MAX_OPEN_TICKETS default; the runner keeps it */

/* ---- helpers --------------------------------------------------------------- */

/* A fresh customer, with extra claims (NULL: none). */
static struct sp_t_user
customer(const char *claims)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    if (claims != NULL)
        u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub, claims);
    return u;
}

static const char *
ticket_json(const char *slug, const char *subject, const char *description)
{
    return sp_t_fmt("{\"subject\":%s,\"description\":%s%s%s%s}", sp_t_jq(subject),
                    sp_t_jq(description), slug != NULL ? ",\"category\":\"" : "",
                    slug != NULL ? slug : "", slug != NULL ? "\"" : "");
}

/* Creates a ticket as a fresh customer (rate limits stay out of the way). */
static const char *
create(const char *claims, const char *slug, const char *subject, const char *description)
{
    struct sp_t_user u = customer(claims);
    return sp_t_ticket_create_json(&u, ticket_json(slug, subject, description));
}

static struct sp_t_user the_agent;
static bool have_agent;

static const struct sp_t_user *
agent(void)
{
    if (!have_agent) {
        the_agent = sp_t_user_new(SP_ROLE_AGENT);
        have_agent = true;
    }
    return &the_agent;
}

static void
reset_agent(void)
{
    have_agent = false;
}

/* priority and priority_rule ("-" for null) of the agent view. */
static const char *
priority_of(const char *pid)
{
    struct sp_t_resp *r = sp_t_agent_ticket(agent(), pid);
    struct json_object *rule = sp_t_jget(r->json, "priority_rule");
    const char *s = sp_t_fmt("%s/%s", sp_t_jstr(r->json, "priority"),
                             rule != NULL ? json_object_get_string(rule) : "-");
    sp_t_resp_free(r);
    return s;
}

#define assert_priority(pid, want)                                                            \
    do {                                                                                      \
        const char *got_ = priority_of(pid);                                                  \
        ck_assert_msg(strcmp(got_, (want)) == 0, "ticket %s: priority/rule %s, want %s",      \
                      (pid), got_, (want));                                                   \
    } while (0)

static double
sentiment_of(const char *pid)
{
    struct sp_t_resp *r = sp_t_agent_ticket(agent(), pid);
    struct json_object *s = sp_t_jget(r->json, "sentiment");
    ck_assert_msg(s != NULL, "sentiment is null on a new ticket");
    double d = json_object_get_double(s);
    sp_t_resp_free(r);
    return d;
}

static void
rule_patch(int64_t id, const char *json)
{
    struct sp_t_resp *r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/priority-rules/%lld",
                                                  (long long)id), json);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

static void
rule_delete(int64_t id)
{
    struct sp_t_resp *r = sp_t_admin("DELETE", sp_t_fmt("/support/admin/priority-rules/%lld",
                                                   (long long)id), NULL);
    sp_t_assert_status(r, 204);
    sp_t_resp_free(r);
}

/* Minutes of the SLA policy (priority, no category) as GET lists it. */
static void
default_sla(const char *priority, int64_t *first, int64_t *resolution)
{
    struct sp_t_resp *r = sp_t_admin("GET", "/support/admin/sla-policies", NULL);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    bool found = false;
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        struct json_object *p = json_object_array_get_idx(data, i);
        if (strcmp(sp_t_jstr(p, "priority"), priority) != 0 || sp_t_jget(p, "category") != NULL)
            continue;
        *first = sp_t_jint(p, "first_response_minutes");
        *resolution = sp_t_jint(p, "resolution_minutes");
        found = true;
    }
    sp_t_resp_free(r);
    ck_assert_msg(found, "no default SLA policy for %s", priority);
}

static void
assert_sla_of(const char *pid, const char *priority)
{
    int64_t first, resolution;
    default_sla(priority, &first, &resolution);
    struct sp_t_resp *r = sp_t_agent_ticket(agent(), pid);
    int64_t created = sp_t_jts_ms(r->json, "created_at");
    ck_assert_int_eq(sp_t_jts_ms(r->json, "first_response_due_at") - created,
                     first * MINUTE_MS);
    ck_assert_int_eq(sp_t_jts_ms(r->json, "resolution_due_at") - created,
                     resolution * MINUTE_MS);
    ck_assert_int_eq(sp_t_jts_ms(r->json, "sla_due_at"),
                     sp_t_jts_ms(r->json, "first_response_due_at"));
    sp_t_resp_free(r);
}

/* n agents in a fresh team, each named apart (two active agents named
 * alike are 409 display_name_taken); extra: JSON members for each, or
 * NULL. */
static const char *
team_new(int n, int64_t *ids, const char *extra)
{
    const char *team = sp_t_unique("team");
    for (int i = 0; i < n; i++)
        ids[i] = sp_t_admin_agent_new(
            sp_t_fmt("\"team\":\"%s\",\"display_name\":\"%s agent %d\"%s%s", team, team, i,
                     extra != NULL ? "," : "", extra != NULL ? extra : ""), NULL);
    return team;
}

static void
agent_patch(int64_t id, const char *json)
{
    struct sp_t_resp *r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/agents/%lld", (long long)id),
                                json);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}

static bool
in(int64_t v, const int64_t *set, int n)
{
    for (int i = 0; i < n; i++)
        if (set[i] == v)
            return true;
    return false;
}

/* ---- priority: rules, defaults ------------------------------------------------ */

START_TEST(without_rules_the_category_default_or_normal_decides)
{
    reset_agent();
    const char *plain = sp_t_admin_category_new(NULL);
    const char *low = sp_t_admin_category_new("\"default_priority\":\"low\"");
    const char *urgent = sp_t_admin_category_new("\"default_priority\":\"urgent\"");

    const char *a = create(NULL, plain, "Update postal code", "Please update it");
    const char *b = create(NULL, low, "Update postal code", "Please update it");
    const char *c = create(NULL, urgent, "Update postal code", "Please update it");
    const char *d = create(NULL, NULL, "Update postal code", "Please update it");
    assert_priority(a, "normal/-");
    assert_priority(b, "low/-");
    assert_priority(c, "urgent/-");
    assert_priority(d, "normal/-");
    /* The SLA follows the priority. */
    assert_sla_of(b, "low");
    assert_sla_of(c, "urgent");
    assert_sla_of(d, "normal");
    /* The customer sees the priority (not the rule). */
    struct sp_t_user u = customer(NULL);
    const char *e = sp_t_ticket_create_json(&u, ticket_json(urgent, "x", "y"));
    struct sp_t_resp *r = sp_t_ticket_get(&u, e);
    sp_t_assert_ticket_view(r->json);
    ck_assert_str_eq(sp_t_jstr(r->json, "priority"), "urgent");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(a_category_rule_beats_the_default_and_names_itself)
{
    reset_agent();
    const char *c = sp_t_admin_category_new("\"default_priority\":\"low\"");
    const char *d = sp_t_admin_category_new("\"default_priority\":\"low\"");
    const char *name = sp_t_unique("rule-urgent-cat");
    int64_t rule = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\",\"priority\":\"urgent\","
                                     "\"position\":100", name, c));
    const char *t1 = create(NULL, c, "Update postal code", "Please update it");
    const char *t2 = create(NULL, d, "Update postal code", "Please update it");
    assert_priority(t1, sp_t_fmt("urgent/%s", name));
    assert_priority(t2, "low/-");
    assert_sla_of(t1, "urgent");
    /* A change that leaves the priority keeps the rule's name; once an
     * agent sets the priority, no rule set it. */
    const char *path = sp_t_fmt("/support/agent/tickets/%s", t2);
    struct sp_t_resp *pr = sp_t_patch_json(path, agent()->token, "{\"status\":\"in_progress\"}");
    sp_t_assert_json(pr, 200);
    sp_t_resp_free(pr);
    assert_priority(t2, "low/-");
    path = sp_t_fmt("/support/agent/tickets/%s", t1);
    pr = sp_t_patch_json(path, agent()->token, "{\"status\":\"in_progress\"}");
    sp_t_assert_json(pr, 200);
    sp_t_resp_free(pr);
    assert_priority(t1, sp_t_fmt("urgent/%s", name));
    pr = sp_t_patch_json(path, agent()->token, "{\"priority\":\"high\"}");
    sp_t_assert_json(pr, 200);
    ck_assert_ptr_null(sp_t_jget(pr->json, "priority_rule"));
    sp_t_resp_free(pr);
    assert_priority(t1, "high/-");
    /* The created event records the decided priority. */
    struct sp_t_resp *ev = sp_t_agent_events(agent(), t1);
    struct json_object *created = sp_t_events_last(ev, "created");
    ck_assert_msg(created != NULL, "no created event");
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(created, "metadata"), "priority"), "urgent");
    sp_t_resp_free(ev);
    rule_delete(rule);
    /* Gone: the default again. */
    const char *t3 = create(NULL, c, "Update postal code", "Please update it");
    assert_priority(t3, "low/-");
}
END_TEST

/* The ticket's created event's metadata.priority_rule: "<id> <name>",
 * "null" when the member is null, "-" when it is absent. */
static const char *
created_rule_of(const char *pid)
{
    struct sp_t_resp *ev = sp_t_agent_events(agent(), pid);
    struct json_object *created = sp_t_events_last(ev, "created");
    ck_assert_msg(created != NULL, "no created event");
    struct json_object *meta = sp_t_jobj(created, "metadata"), *rule = NULL;
    const char *s = "-";
    if (json_object_object_get_ex(meta, "priority_rule", &rule))
        s = rule == NULL ? "null"
                         : sp_t_fmt("%lld %s", (long long)sp_t_jint(rule, "id"),
                                    sp_t_jstr(rule, "name"));
    sp_t_resp_free(ev);
    return s;
}

/* Deleting a rule leaves its tickets' priority_rule null (the link goes
 * with it), but the created event recorded the rule by id and name: why
 * the ticket got its priority survives (API.md §5.3). A ticket no rule
 * matched says null. */
START_TEST(the_created_event_names_the_rule_after_it_is_deleted)
{
    reset_agent();
    const char *c = sp_t_admin_category_new(NULL);
    const char *name = sp_t_unique("rule-audit");
    int64_t rule = sp_t_admin_rule_new(sp_t_fmt("\"name\":%s,\"category\":%s,"
                                                "\"priority\":\"high\"", sp_t_jq(name),
                                                sp_t_jq(c)));
    const char *hit = create(NULL, c, "Update postal code", "Please update it");
    const char *none = create(NULL, NULL, "Update postal code", "Please update it");
    assert_priority(hit, sp_t_fmt("high/%s", name));
    rule_delete(rule);
    assert_priority(hit, "high/-");
    ck_assert_str_eq(created_rule_of(hit), sp_t_fmt("%lld %s", (long long)rule, name));
    ck_assert_str_eq(created_rule_of(none), "null");
}
END_TEST

START_TEST(the_first_active_rule_by_position_decides)
{
    reset_agent();
    const char *c = sp_t_admin_category_new(NULL);
    const char *n_off = sp_t_unique("off"), *n_a = sp_t_unique("first"),
               *n_b = sp_t_unique("second"), *n_miss = sp_t_unique("nomatch");
    int64_t off = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\",\"priority\":\"low\","
                                    "\"position\":1,\"is_active\":false", n_off, c));
    int64_t miss = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\",\"priority\":\"low\","
                                     "\"position\":5,\"pattern\":\"zebra-crossing\"", n_miss, c));
    /* created in reverse order: position decides, not id */
    int64_t b = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\",\"priority\":\"high\","
                                  "\"position\":20", n_b, c));
    int64_t a = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\",\"priority\":\"urgent\","
                                  "\"position\":10", n_a, c));

    assert_priority(create(NULL, c, "Update postal code", "Please"), sp_t_fmt("urgent/%s", n_a));
    assert_priority(create(NULL, c, "zebra-crossing", "Please"), sp_t_fmt("low/%s", n_miss));

    rule_patch(a, "{\"is_active\":false}");
    assert_priority(create(NULL, c, "Update postal code", "Please"), sp_t_fmt("high/%s", n_b));

    rule_patch(a, "{\"is_active\":true,\"position\":30}");
    assert_priority(create(NULL, c, "Update postal code", "Please"), sp_t_fmt("high/%s", n_b));

    rule_patch(b, "{\"position\":40}");
    assert_priority(create(NULL, c, "Update postal code", "Please"), sp_t_fmt("urgent/%s", n_a));

    rule_delete(a);
    assert_priority(create(NULL, c, "Update postal code", "Please"), sp_t_fmt("high/%s", n_b));
    rule_delete(b);
    rule_delete(miss);
    rule_delete(off);
    assert_priority(create(NULL, c, "Update postal code", "Please"), "normal/-");
}
END_TEST

START_TEST(tier_condition_reads_the_jwt_tier_claim)
{
    reset_agent();
    const char *c = sp_t_admin_category_new(NULL);
    const char *name = sp_t_unique("vip");
    int64_t rule = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\","
                                     "\"customer_tier\":\"vip\",\"priority\":\"high\"", name, c));
    const char *std = create(NULL, c, "Update postal code", "Please");
    const char *std2 = create("{\"tier\":\"standard\"}", c, "Update postal code", "Please");
    const char *prem = create("{\"tier\":\"premium\"}", c, "Update postal code", "Please");
    const char *vip = create("{\"tier\":\"vip\"}", c, "Update postal code", "Please");
    const char *vip_elsewhere = create("{\"tier\":\"vip\"}", NULL, "Update postal code", "Please");
    /* QA: an identity provider's "VIP" was read as standard. */
    const char *vip_upper = create("{\"tier\":\"VIP\"}", c, "Update postal code", "Please");
    const char *gold = create("{\"tier\":\"gold\"}", c, "Update postal code", "Please");
    assert_priority(vip_upper, sp_t_fmt("high/%s", name));
    assert_priority(gold, "normal/-");
    assert_priority(std, "normal/-");
    assert_priority(std2, "normal/-");
    assert_priority(prem, "normal/-");
    assert_priority(vip, sp_t_fmt("high/%s", name));
    assert_priority(vip_elsewhere, "normal/-");
    /* The agent sees the tier on the contact. */
    struct sp_t_resp *r = sp_t_agent_ticket(agent(), vip);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(r->json, "customer"), "tier"), "vip");
    sp_t_resp_free(r);
    r = sp_t_agent_ticket(agent(), std);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(r->json, "customer"), "tier"), "standard");
    sp_t_resp_free(r);

    /* QA: a later token without the claim (or with one we do not know)
     * stored "standard" over the customer's vip and lost the vip rule:
     * a claim the token lacks keeps the stored value (API.md §2). */
    struct sp_t_user u = customer("{\"tier\":\"vip\"}");
    const char *first = sp_t_ticket_create_json(&u, ticket_json(c, "Update postal code", "P"));
    u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub, "{}");
    const char *no_claim = sp_t_ticket_create_json(&u, ticket_json(c, "Update postal code", "P"));
    u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub, "{\"tier\":\"gold\"}");
    const char *unknown = sp_t_ticket_create_json(&u, ticket_json(c, "Update postal code", "P"));
    assert_priority(first, sp_t_fmt("high/%s", name));
    assert_priority(no_claim, sp_t_fmt("high/%s", name));
    assert_priority(unknown, sp_t_fmt("high/%s", name));
    r = sp_t_agent_ticket(agent(), unknown);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(r->json, "customer"), "tier"), "vip");
    sp_t_resp_free(r);
    /* A tier the token does name is the freshest: it replaces the stored one. */
    u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub, "{\"tier\":\"premium\"}");
    const char *now_premium = sp_t_ticket_create_json(&u, ticket_json(c, "Update postal code",
                                                                      "P"));
    assert_priority(now_premium, "normal/-");
    r = sp_t_agent_ticket(agent(), now_premium);
    ck_assert_str_eq(sp_t_jstr(sp_t_jobj(r->json, "customer"), "tier"), "premium");
    sp_t_resp_free(r);
    rule_delete(rule);
}
END_TEST

START_TEST(pattern_matches_case_insensitively_in_subject_or_description)
{
    reset_agent();
    const char *c = sp_t_admin_category_new("\"default_priority\":\"low\"");
    const char *name = sp_t_unique("pattern");
    int64_t rule = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\",\"priority\":\"urgent\","
                                     "\"pattern\":\"double\\\\s+charged|ÉCHEC\"", name, c));
    const char *want = sp_t_fmt("urgent/%s", name);
    assert_priority(create(NULL, c, "I was DOUBLE   Charged", "see subject"), want);
    assert_priority(create(NULL, c, "Billing question", "Looks like I got double charged."),
                    want);
    assert_priority(create(NULL, c, "Paiement en échec", "merci"), want);
    assert_priority(create(NULL, c, "Billing question", "charged double?"), "low/-");
    assert_priority(create(NULL, c, "doublecharged", "no space"), "low/-");
    /* Other categories are not affected by a category-bound pattern. */
    assert_priority(create(NULL, NULL, "I was double charged", "x"), "normal/-");
    rule_delete(rule);
}
END_TEST

/* Patterns read what the customer typed (docs/API.md §5.3), not the
 * stored HTML: "&" and "<" as typed (stored as &amp; and &lt;), and no
 * markup the sanitizer wrote (<p>, <br>). */
START_TEST(pattern_matches_the_customers_text_not_the_stored_markup)
{
    reset_agent();
    const char *c = sp_t_admin_category_new("\"default_priority\":\"low\"");
    const char *name = sp_t_unique("as-typed");
    int64_t rule = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\","
                                     "\"priority\":\"urgent\","
                                     "\"pattern\":\"AT&T|price < 5|<p>|<br>\"",
                                     name, c));
    const char *want = sp_t_fmt("urgent/%s", name);
    assert_priority(create(NULL, c, "Billing", "My AT&T bill doubled"), want);
    assert_priority(create(NULL, c, "Billing", "<p>it says price &lt; 5 now</p>"), want);
    assert_priority(create(NULL, c, "Shipping", "<p>line one<br>line two</p>"), "low/-");
    assert_priority(create(NULL, c, "Shipping", "a < b, fine"), "low/-");
    /* The description is still stored sanitized. */
    const char *pid = create(NULL, c, "Billing", "AT&T <script>x</script>");
    ck_assert_str_eq(sp_t_sql("SELECT description LIKE 'AT&amp;T%%' AND description NOT LIKE"
                              " '%%script%%' FROM support_tickets WHERE public_id = '%s'", pid),
                     "t");
    assert_priority(pid, want);
    rule_delete(rule);
}
END_TEST

START_TEST(sentiment_is_scored_and_drives_sentiment_below_rules)
{
    reset_agent();
    const char *c = sp_t_admin_category_new(NULL);
    const char *name = sp_t_unique("angry");
    int64_t rule = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\",\"priority\":\"high\","
                                     "\"sentiment_below\":-0.3", name, c));
    const char *neg = create(NULL, c, "Terrible, awful service",
                             "I am furious. The app is useless and your support is rude!");
    const char *pos = create(NULL, c, "Thanks, great work",
                             "Excellent and friendly help, I love it. Thank you!");
    const char *neutral = create(NULL, c, "Update postal code", "Please update the postal code");
    const char *negated = create(NULL, c, "Not happy", "My parcel never arrived.");
    double sn = sentiment_of(neg), sp = sentiment_of(pos), s0 = sentiment_of(neutral),
           sx = sentiment_of(negated);
    ck_assert_msg(sn < -0.5, "strongly negative text scored %f", sn);
    ck_assert_msg(sp > 0.5, "clearly positive text scored %f", sp);
    ck_assert_msg(fabs(s0) < 1e-9, "neutral text scored %f", s0);
    ck_assert_msg(sx < 0, "\"not happy ... never arrived\" scored %f", sx);
    assert_priority(neg, sp_t_fmt("high/%s", name));
    assert_priority(pos, "normal/-");
    assert_priority(neutral, "normal/-");
    /* The score is the same without any rule or category. */
    const char *neg2 = create(NULL, NULL, "Terrible, awful service",
                              "I am furious. The app is useless and your support is rude!");
    ck_assert(fabs(sentiment_of(neg2) - sn) < 1e-3);
    /* Customers never see it. */
    struct sp_t_user u = customer(NULL);
    const char *mine = sp_t_ticket_create_json(&u, ticket_json(c, "Awful", "Horrible, useless"));
    struct sp_t_resp *r = sp_t_ticket_get(&u, mine);
    sp_t_assert_ticket_view(r->json);
    sp_t_resp_free(r);
    rule_delete(rule);
}
END_TEST

START_TEST(every_set_condition_must_match)
{
    reset_agent();
    const char *c = sp_t_admin_category_new(NULL);
    const char *other = sp_t_admin_category_new(NULL);
    const char *name = sp_t_unique("all");
    int64_t rule = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\",\"priority\":\"urgent\","
                                     "\"customer_tier\":\"vip\",\"pattern\":\"refund\","
                                     "\"sentiment_below\":0", name, c));
    const char *vip = "{\"tier\":\"vip\"}";
    const char *want = sp_t_fmt("urgent/%s", name);
    assert_priority(create(vip, c, "Refund now", "This is awful and useless"), want);
    /* one condition off at a time */
    assert_priority(create(NULL, c, "Refund now", "This is awful and useless"), "normal/-");
    assert_priority(create(vip, c, "Money back now", "This is awful and useless"), "normal/-");
    assert_priority(create(vip, c, "Refund please",
                           "Thanks, your team is great, excellent and friendly"), "normal/-");
    assert_priority(create(vip, other, "Refund now", "This is awful and useless"), "normal/-");
    rule_delete(rule);
}
END_TEST

START_TEST(rule_edits_apply_to_the_next_ticket_in_every_worker)
{
    reset_agent();
    const char *c = sp_t_admin_category_new(NULL);
    const char *name = sp_t_unique("edited");
    int64_t rule = sp_t_admin_rule_new(sp_t_fmt("\"name\":\"%s\",\"category\":\"%s\",\"priority\":\"urgent\","
                                     "\"pattern\":\"alpha\\\\d+\"", name, c));
    const char *want = sp_t_fmt("urgent/%s", name);
    /* Enough tickets to warm every worker's pattern cache. */
    for (int i = 0; i < 6; i++)
        assert_priority(create(NULL, c, sp_t_fmt("alpha%d", i), "x"), want);
    rule_patch(rule, "{\"pattern\":\"beta\\\\d+\"}");
    for (int i = 0; i < 6; i++) {
        assert_priority(create(NULL, c, sp_t_fmt("alpha%d", i), "x"), "normal/-");
        assert_priority(create(NULL, c, sp_t_fmt("beta%d", i), "x"), want);
    }
    rule_patch(rule, "{\"is_active\":false}");
    for (int i = 0; i < 4; i++)
        assert_priority(create(NULL, c, sp_t_fmt("beta%d", i), "x"), "normal/-");
    rule_delete(rule);
}
END_TEST

/* ---- routing ------------------------------------------------------------------ */

START_TEST(round_robin_rotates_through_the_team_and_records_the_assignment)
{
    reset_agent();
    int64_t ids[3];
    const char *team = team_new(3, ids, NULL);
    const char *c = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":\"%s\"", team));
    const char *pids[6];
    int64_t got[6];
    for (int i = 0; i < 6; i++) {
        pids[i] = create(NULL, c, sp_t_fmt("rr %d", i), "Please help");
        got[i] = sp_t_db_assignee(pids[i]);
    }
    for (int i = 0; i < 6; i++)
        ck_assert_msg(in(got[i], ids, 3), "ticket %d went to agent %lld, not one of the team", i,
                      (long long)got[i]);
    ck_assert_msg(got[0] != got[1] && got[1] != got[2] && got[0] != got[2],
                  "first three went to %lld, %lld, %lld: not a rotation", (long long)got[0],
                  (long long)got[1], (long long)got[2]);
    for (int i = 3; i < 6; i++)
        ck_assert_msg(got[i] == got[i - 3], "ticket %d went to %lld, want %lld (rotation)", i,
                      (long long)got[i], (long long)got[i - 3]);

    /* The agent view, the events and the outbox say so. */
    struct sp_t_resp *r = sp_t_agent_ticket(agent(), pids[0]);
    ck_assert_int_eq(sp_t_jint(r->json, "assigned_agent_id"), got[0]);
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), c);
    sp_t_resp_free(r);
    struct sp_t_resp *ev = sp_t_agent_events(agent(), pids[0]);
    ck_assert_uint_eq(sp_t_events_count(ev, "created"), 1);
    ck_assert_uint_eq(sp_t_events_count(ev, "assigned"), 1);
    struct json_object *as = sp_t_events_last(ev, "assigned");
    ck_assert_str_eq(sp_t_jstr(as, "actor_type"), "system");
    ck_assert_int_eq(sp_t_jint(sp_t_jobj(as, "metadata"), "to"), got[0]);
    sp_t_resp_free(ev);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(sp_t_db_outbox_count(pids[i], "notification", "ticket.assigned", NULL,
                                              sp_t_fmt("%lld", (long long)got[i])), 1);
    /* The customer sees none of it. */
    struct sp_t_user u = customer(NULL);
    const char *mine = sp_t_ticket_create_json(&u, ticket_json(c, "rr mine", "x"));
    r = sp_t_ticket_get(&u, mine);
    sp_t_assert_ticket_view(r->json);
    sp_t_resp_free(r);
    ck_assert(in(sp_t_db_assignee(mine), ids, 3));
}
END_TEST

START_TEST(away_agents_are_never_picked_and_rejoin_when_active)
{
    reset_agent();
    int64_t ids[3];
    const char *team = sp_t_unique("team");
    ids[0] = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    ids[1] = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\"", team), NULL);
    ids[2] = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\",\"status\":\"away\"", team), NULL);
    const char *c = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":\"%s\"", team));
    int64_t got[4];
    for (int i = 0; i < 4; i++) {
        got[i] = sp_t_db_assignee(create(NULL, c, "away test", "x"));
        ck_assert_msg(got[i] == ids[0] || got[i] == ids[1],
                      "ticket %d went to %lld (away agent %lld; active %lld, %lld)", i,
                      (long long)got[i], (long long)ids[2], (long long)ids[0],
                      (long long)ids[1]);
    }
    ck_assert(got[0] != got[1] && got[2] == got[0] && got[3] == got[1]);

    /* Back: never assigned, so least recently assigned of all. */
    agent_patch(ids[2], "{\"status\":\"active\"}");
    ck_assert_int_eq(sp_t_db_assignee(create(NULL, c, "away test", "x")), ids[2]);

    /* Everyone away: the ticket stays unassigned, still created. */
    for (int i = 0; i < 3; i++)
        agent_patch(ids[i], "{\"status\":\"away\"}");
    const char *pid = create(NULL, c, "away test", "x");
    ck_assert_int_eq(sp_t_db_assignee(pid), 0);
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 0);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.assigned", NULL, NULL), 0);
}
END_TEST

START_TEST(agents_at_their_open_ticket_capacity_are_skipped)
{
    reset_agent();
    int64_t ids[2];
    const char *team = team_new(2, ids, NULL);
    const char *c = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":\"%s\"", team));
    const char *tag = sp_t_unique("capacity");
    sp_t_db_fillers_add(ids[0], CAPACITY, tag);
    for (int i = 0; i < 3; i++) {
        int64_t a = sp_t_db_assignee(create(NULL, c, "capacity", "x"));
        ck_assert_msg(a == ids[1], "ticket %d went to %lld; agent %lld has %d open tickets", i,
                      (long long)a, (long long)ids[0], CAPACITY);
    }
    /* agent 1 now has 3 open tickets: fill it up too */
    sp_t_db_fillers_add(ids[1], CAPACITY - 3, tag);
    const char *pid = create(NULL, c, "capacity", "x");
    ck_assert_msg(sp_t_db_assignee(pid) == 0, "assigned to %lld although both agents are full",
                  (long long)sp_t_db_assignee(pid));
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 0);
    /* One of agent 0's tickets closes: room for one. */
    sp_t_sql("UPDATE support_tickets SET status = 'closed', closed_at = now() WHERE id = "
             "(SELECT min(id) FROM support_tickets WHERE customer_id = '%s' AND "
             "assigned_agent_id = %lld)", tag, (long long)ids[0]);
    ck_assert_int_eq(sp_t_db_assignee(create(NULL, c, "capacity", "x")), ids[0]);
    ck_assert_int_eq(sp_t_db_assignee(create(NULL, c, "capacity", "x")), 0);
    sp_t_db_fillers_close(tag);
}
END_TEST

START_TEST(skill_routing_picks_the_least_loaded_active_agent_with_the_skill)
{
    reset_agent();
    const char *skill = sp_t_unique("skill");
    const char *tag = sp_t_unique("skillfill");
    /* A has the skill and 2 open tickets; B has it among others and none;
     * C lacks it; D has it but is away. Teams differ: skill routing
     * ignores teams. */
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\",\"skills\":[\"%s\"]",
                                              sp_t_unique("t"), skill), NULL);
    int64_t b = sp_t_admin_agent_new(sp_t_fmt("\"team\":\"%s\",\"skills\":[\"other\",\"%s\"]",
                                              sp_t_unique("t"), skill), NULL);
    int64_t cc = sp_t_admin_agent_new("\"skills\":[\"other\"]", NULL);
    int64_t d = sp_t_admin_agent_new(sp_t_fmt("\"skills\":[\"%s\"],\"status\":\"away\"", skill),
                                     NULL);
    sp_t_db_fillers_add(a, 2, tag);
    const char *c = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"skill\",\"required_skill\":\"%s\"", skill));
    int64_t want[] = {b, b, a, b};
    for (int i = 0; i < 4; i++) {
        int64_t got = sp_t_db_assignee(create(NULL, c, "skill", "x"));
        ck_assert_msg(got == want[i], "ticket %d went to %lld, want %lld (A %lld, B %lld, C %lld,"
                      " D %lld)", i, (long long)got, (long long)want[i], (long long)a,
                      (long long)b, (long long)cc, (long long)d);
    }
    /* Closed tickets no longer weigh: A has 1 open, B 3. */
    sp_t_db_fillers_close(tag);
    ck_assert_int_eq(sp_t_db_assignee(create(NULL, c, "skill", "x")), a);
    /* Nobody with the skill active: unassigned. */
    agent_patch(a, "{\"status\":\"away\"}");
    agent_patch(b, "{\"skills\":[\"other\"]}");
    const char *pid = create(NULL, c, "skill", "x");
    ck_assert_int_eq(sp_t_db_assignee(pid), 0);
    ck_assert_int_eq(sp_t_db_event_count(pid, "assigned"), 0);
}
END_TEST

/* A category routed by skill without a team has no team to tell of a
 * ticket nobody was free for: its notification goes to the skill's
 * active agents (here both at capacity, the one with fewer open tickets
 * listed first), never an away holder; with no active holder, to team
 * general, so someone hears of it. */
START_TEST(an_unassigned_skill_ticket_tells_the_skills_active_agents)
{
    reset_agent();
    const char *skill = sp_t_unique("skill"), *tag = sp_t_unique("takers");
    int64_t a = sp_t_admin_agent_new(sp_t_fmt("\"skills\":[\"%s\"]", skill), NULL);
    int64_t b = sp_t_admin_agent_new(sp_t_fmt("\"skills\":[\"%s\"]", skill), NULL);
    int64_t away = sp_t_admin_agent_new(
        sp_t_fmt("\"skills\":[\"%s\"],\"status\":\"away\"", skill), NULL);
    sp_t_db_fillers_add(a, CAPACITY + 1, tag);
    sp_t_db_fillers_add(b, CAPACITY, tag);
    const char *c = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"skill\",\"required_skill\":\"%s\"", skill));
    const char *pid = create(NULL, c, "skill, nobody free", "x");
    ck_assert_int_eq(sp_t_db_assignee(pid), 0);
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(recipient, ',' ORDER BY id) FROM support_outbox"
                              " WHERE ticket_id = (SELECT id FROM support_tickets"
                              " WHERE public_id = '%s') AND event_type = 'ticket.created'"
                              " AND kind = 'notification'", pid),
                     sp_t_fmt("%lld,%lld", (long long)b, (long long)a));
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.created", "team", NULL), 0);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.created", "agent",
                                          sp_t_fmt("%lld", (long long)away)), 0);
    agent_patch(a, "{\"status\":\"away\"}");
    agent_patch(b, "{\"status\":\"away\"}");
    pid = create(NULL, c, "skill, nobody active", "x");
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.created", NULL, NULL), 1);
    ck_assert_int_eq(sp_t_db_outbox_count(pid, "notification", "ticket.created", "team",
                                          "general"), 1);
    sp_t_db_fillers_close(tag);
}
END_TEST

START_TEST(manual_routing_and_no_category_leave_tickets_unassigned)
{
    reset_agent();
    int64_t ids[2];
    const char *team = team_new(2, ids, NULL);
    const char *manual = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"manual\",\"team\":\"%s\"", team));
    const char *empty_team = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":\"%s\"", sp_t_unique("nobody")));
    const char *pids[] = {create(NULL, manual, "manual", "x"), create(NULL, NULL, "none", "x"),
                          create(NULL, empty_team, "empty", "x")};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_msg(sp_t_db_assignee(pids[i]) == 0, "ticket %zu assigned to %lld", i,
                      (long long)sp_t_db_assignee(pids[i]));
        ck_assert_int_eq(sp_t_db_event_count(pids[i], "assigned"), 0);
        ck_assert_int_eq(sp_t_db_event_count(pids[i], "created"), 1);
        ck_assert_int_eq(sp_t_db_outbox_count(pids[i], "notification", "ticket.assigned", NULL,
                                              NULL), 0);
        struct sp_t_resp *r = sp_t_agent_ticket(agent(), pids[i]);
        sp_t_assert_jnull(r->json, "assigned_agent_id");
        ck_assert_str_eq(sp_t_jstr(r->json, "status"), "open");
        sp_t_resp_free(r);
    }
}
END_TEST

START_TEST(concurrent_creations_never_hand_out_the_same_agent_twice)
{
    reset_agent();
    int64_t ids[3];
    const char *team = team_new(3, ids, NULL);
    const char *c = sp_t_admin_category_new(
        sp_t_fmt("\"routing\":\"round_robin\",\"team\":\"%s\"", team));
    const char *cat_id = sp_t_sql("SELECT id FROM support_categories WHERE slug = '%s'", c);
    enum { N = 12 };
    for (int round = 1; round <= 3; round++) {
        const char *paths[N], *tokens[N];
        for (int i = 0; i < N; i++) {
            paths[i] = "/support/tickets";
            tokens[i] = customer(NULL).token;
        }
        struct sp_t_resp *out[N];
        sp_t_parallel(N, "POST", paths, tokens, SP_T_JSON,
                      ticket_json(c, "parallel", "created at the same time"), out);
        for (int i = 0; i < N; i++) {
            sp_t_assert_json(out[i], 201);
            sp_t_resp_free(out[i]);
        }
        const char *dist = sp_t_sql(
            "SELECT string_agg(coalesce(assigned_agent_id::text, 'none') || ':' || n, ' ' "
            "ORDER BY assigned_agent_id) FROM (SELECT assigned_agent_id, count(*) AS n FROM "
            "support_tickets WHERE category_id = %s GROUP BY assigned_agent_id) x", cat_id);
        const char *want = sp_t_fmt("%lld:%d %lld:%d %lld:%d", (long long)ids[0], 4 * round,
                                    (long long)ids[1], 4 * round, (long long)ids[2], 4 * round);
        ck_assert_msg(strcmp(dist, want) == 0,
                      "round %d: %d tickets in parallel over 3 agents gave %s, want %s", round,
                      N * round, dist, want);
    }
}
END_TEST

static Suite *
intake_suite(void)
{
    Suite *s = suite_create("intake");
    TCase *tc = sp_t_tcase(s, "priority");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, without_rules_the_category_default_or_normal_decides);
    tcase_add_test(tc, a_category_rule_beats_the_default_and_names_itself);
    tcase_add_test(tc, the_created_event_names_the_rule_after_it_is_deleted);
    tcase_add_test(tc, the_first_active_rule_by_position_decides);
    tcase_add_test(tc, tier_condition_reads_the_jwt_tier_claim);
    tcase_add_test(tc, pattern_matches_case_insensitively_in_subject_or_description);
    tcase_add_test(tc, pattern_matches_the_customers_text_not_the_stored_markup);
    tcase_add_test(tc, sentiment_is_scored_and_drives_sentiment_below_rules);
    tcase_add_test(tc, every_set_condition_must_match);
    tcase_add_test(tc, rule_edits_apply_to_the_next_ticket_in_every_worker);
    tc = sp_t_tcase(s, "routing");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_robin_rotates_through_the_team_and_records_the_assignment);
    tcase_add_test(tc, away_agents_are_never_picked_and_rejoin_when_active);
    tcase_add_test(tc, agents_at_their_open_ticket_capacity_are_skipped);
    tcase_add_test(tc, skill_routing_picks_the_least_loaded_active_agent_with_the_skill);
    tcase_add_test(tc, an_unassigned_skill_ticket_tells_the_skills_active_agents);
    tcase_add_test(tc, manual_routing_and_no_category_leave_tickets_unassigned);
    tcase_add_test(tc, concurrent_creations_never_hand_out_the_same_agent_twice);
    return s;
}

int
main(void)
{
    return sp_t_run(intake_suite());
}
