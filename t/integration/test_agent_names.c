/*
 * test_agent_names: an agent's display name may not pose as the platform
 * ("System", "Support", the mail's From name…: 422 reserved) nor read as
 * another active agent's (409 display_name_taken), on the agent's own
 * PATCH and the admin's create and PATCH alike, and two renames to one
 * name at once never both win (docs/API.md §5 "Display names").
 */
#include "harness.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sp_t_resp *
patch_me(const struct sp_t_user *u, const char *json)
{
    return sp_t_request("PATCH", "/support/agent/me", u->token, SP_T_JSON, json, NULL);
}

static const char *
agent_path(int64_t id)
{
    return sp_t_fmt("/support/admin/agents/%lld", (long long)id);
}

static const char *
name_of(int64_t id)
{
    return sp_t_sql("SELECT display_name FROM support_agents WHERE id = %lld", (long long)id);
}

/* The admin's create of a new agent named name is refused with status
 * and code (422: a field error on display_name), and creates no row. */
static void
create_refused(const char *name, long status, const char *code)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_resp *r =
        sp_t_admin("POST", "/support/admin/agents",
                   sp_t_fmt("{\"user_id\":\"%s\",\"display_name\":%s}", u.sub, sp_t_jq(name)));
    if (status == 422)
        sp_t_assert_invalid(r, "display_name", code);
    else
        sp_t_assert_problem(r, status, code);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE user_id = '%s'", u.sub),
                     "0");
}

/* A name no other test gives: "Anna" and a unique tail. */
static const char *
fresh_name(void)
{
    return sp_t_fmt("Anna %s", sp_t_unique("n"));
}

START_TEST(the_platforms_own_sender_names_are_refused)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    int64_t id = sp_t_agent_id(&a);
    const char *grace = sp_t_fmt("Grace %s", sp_t_unique("n"));
    struct sp_t_resp *r = patch_me(&a, sp_t_fmt("{\"display_name\":\"%s\"}", grace));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    /* as typed, in any case, spaced out, with a Cyrillic "е", in
     * mathematical bold, or with words after it */
    static const char *const reserved[] = {
        "System", "  SYSTEM ", "S.y.s.t.e.m", "Syst\\u0435m", "\\ud835\\udc12ystem",
        "Support", "Support Team Security", "our support team", "Assistant", "Customer",
    };
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        const char *body = sp_t_fmt("{\"display_name\":\"%s\"}", reserved[i]);
        r = patch_me(&a, body);
        sp_t_assert_invalid(r, "display_name", "reserved");
        sp_t_resp_free(r);
        r = sp_t_admin("PATCH", agent_path(id), body);
        sp_t_assert_invalid(r, "display_name", "reserved");
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(name_of(id), grace);
    /* with the body's other errors, at once */
    r = patch_me(&a, "{\"display_name\":\"System\",\"status\":\"x\"}");
    sp_t_assert_invalid(r, "display_name", "reserved");
    sp_t_assert_invalid(r, "status", NULL);
    sp_t_resp_free(r);
    /* the admin's create too, which creates nothing */
    create_refused("System notice", 422, "reserved");
    /* a person's name that merely holds such a word is one */
    r = patch_me(&a, sp_t_fmt("{\"display_name\":\"%s from Support\"}", grace));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* The display_name a new agent's first request gives it, from its
 * token's name claim (a JSON string); NULL for none. */
static const char *
provisioned_name(const char *claim)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    a.token = sp_t_token_claims(SP_ROLE_AGENT, a.sub, sp_t_fmt("{\"name\":%s}", claim));
    (void)sp_t_agent_id(&a);
    return sp_t_sql("SELECT display_name FROM support_agents WHERE user_id = '%s'", a.sub);
}

/* The token's name claim is nobody's typing to refuse: a reserved one is
 * left out (the agent names itself), another agent's is kept (two
 * people may share a name; the first request has nobody to tell). */
START_TEST(the_tokens_name_is_kept_unless_reserved)
{
    ck_assert_ptr_null(provisioned_name("\"System\""));
    ck_assert_ptr_null(provisioned_name("\" Support Team \""));
    const char *name = fresh_name();
    (void)sp_t_admin_agent_new(sp_t_fmt("\"display_name\":%s", sp_t_jq(name)), NULL);
    ck_assert_str_eq(provisioned_name(sp_t_jq(name)), name);
}
END_TEST

START_TEST(another_active_agents_name_is_409)
{
    const char *name = fresh_name();
    struct sp_t_user anna, bob;
    int64_t anna_id = sp_t_admin_agent_new(sp_t_fmt("\"display_name\":\"%s\"", name), &anna);
    const char *bob_name = sp_t_fmt("Bob %s", sp_t_unique("n"));
    int64_t bob_id = sp_t_admin_agent_new(sp_t_fmt("\"display_name\":\"%s\"", bob_name), &bob);
    (void)sp_t_agent_id(&bob);
    /* the same name as customers read it: case, spacing, accents */
    const char *alike = sp_t_fmt("{\"display_name\":\"  ANNÁ  %s\"}", name + strlen("Anna "));
    struct sp_t_resp *r = patch_me(&bob, alike);
    sp_t_assert_problem(r, 409, "display_name_taken");
    ck_assert_msg(strstr(sp_t_jstr(r->json, "detail"), sp_t_fmt("agent %lld", (long long)anna_id))
                      != NULL, "%s", sp_t_jstr(r->json, "detail"));
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", agent_path(bob_id), alike);
    sp_t_assert_problem(r, 409, "display_name_taken");
    sp_t_resp_free(r);
    ck_assert_str_eq(name_of(bob_id), bob_name);
    create_refused(name, 409, "display_name_taken");
    /* an agent keeps its own name (a PATCH naming it again, in another case) */
    r = patch_me(&anna, sp_t_fmt("{\"display_name\":\"%s\"}", name));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", agent_path(anna_id), alike);
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    /* a deactivated agent's name is free; its reactivation then is 409,
     * until one of them is renamed */
    r = sp_t_admin("PATCH", agent_path(anna_id), "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = patch_me(&bob, sp_t_fmt("{\"display_name\":\"%s\"}", name));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", agent_path(anna_id), "{\"is_active\":true}");
    sp_t_assert_problem(r, 409, "display_name_taken");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT is_active FROM support_agents WHERE id = %lld",
                              (long long)anna_id), "f");
    const char *other = fresh_name();
    r = sp_t_admin("PATCH", agent_path(anna_id),
                   sp_t_fmt("{\"is_active\":true,\"display_name\":\"%s\"}", other));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), other);
    sp_t_resp_free(r);
    /* other writes of an agent whose name is taken are not refused */
    r = sp_t_admin("PATCH", agent_path(bob_id), "{\"max_concurrent_chats\":3}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
}
END_TEST

/* An agent whose name reads as another active agent's (the token's
 * name, kept) sends its own name back, in another case or beside a
 * status change: no rename, 200 (QA: 409 display_name_taken, and the
 * status change refused with it); the admin's PATCH naming it again
 * too. A real rename to a taken name stays 409, and so does its
 * reactivation while the twin is active (§5: compared as a new name);
 * once the twin is gone it comes back with its name. */
START_TEST(an_agents_own_name_sent_back_is_no_rename)
{
    const char *name = sp_t_fmt("Grace (demo agent) %s", sp_t_unique("n"));
    int64_t first = sp_t_admin_agent_new(sp_t_fmt("\"display_name\":%s", sp_t_jq(name)), NULL);
    struct sp_t_user twin = sp_t_user_new(SP_ROLE_AGENT);
    twin.token = sp_t_token_claims(SP_ROLE_AGENT, twin.sub,
                                   sp_t_fmt("{\"name\":%s}", sp_t_jq(name)));
    int64_t id = sp_t_agent_id(&twin);
    ck_assert_str_eq(name_of(id), name);
    struct sp_t_resp *r = patch_me(&twin, sp_t_fmt("{\"display_name\":%s}", sp_t_jq(name)));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    char upper[128];
    snprintf(upper, sizeof(upper), "%s", name);
    for (char *c = upper; *c != '\0'; c++)
        *c = (char)toupper((unsigned char)*c);
    r = patch_me(&twin, sp_t_fmt("{\"display_name\":%s,\"status\":\"away\"}", sp_t_jq(upper)));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "status"), "away");
    ck_assert_str_eq(sp_t_jstr(r->json, "display_name"), upper);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", agent_path(id),
                   sp_t_fmt("{\"display_name\":%s,\"team\":\"tech\"}", sp_t_jq(name)));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "team"), "tech");
    sp_t_resp_free(r);
    /* another agent's name is still taken */
    const char *other = fresh_name();
    (void)sp_t_admin_agent_new(sp_t_fmt("\"display_name\":%s", sp_t_jq(other)), NULL);
    r = patch_me(&twin, sp_t_fmt("{\"display_name\":%s}", sp_t_jq(other)));
    sp_t_assert_problem(r, 409, "display_name_taken");
    sp_t_resp_free(r);
    /* deactivated and reactivated: 409 while the first is active … */
    r = sp_t_admin("PATCH", agent_path(id), "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", agent_path(id),
                   sp_t_fmt("{\"is_active\":true,\"display_name\":%s}", sp_t_jq(name)));
    sp_t_assert_problem(r, 409, "display_name_taken");
    sp_t_resp_free(r);
    /* … and back with its name once nobody active has it */
    r = sp_t_admin("PATCH", agent_path(first), "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", agent_path(id), "{\"is_active\":true}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(name_of(id), name);
}
END_TEST

/* A name stored before a rule refused it (reserved, or with no letter)
 * is the agent's own: sent back it is no rename, 200; another such name
 * is still refused. */
START_TEST(a_stored_name_a_rule_would_refuse_may_be_sent_back)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    int64_t id = sp_t_agent_id(&a);
    sp_t_sql("UPDATE support_agents SET display_name = 'System' WHERE id = %lld", (long long)id);
    struct sp_t_resp *r = patch_me(&a, "{\"display_name\":\"System\",\"status\":\"away\"}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = sp_t_admin("PATCH", agent_path(id), "{\"display_name\":\"System\",\"team\":\"tech\"}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = patch_me(&a, "{\"display_name\":\"Support\"}");
    sp_t_assert_invalid(r, "display_name", "reserved");
    sp_t_resp_free(r);
    sp_t_sql("UPDATE support_agents SET display_name = '...' WHERE id = %lld", (long long)id);
    r = patch_me(&a, "{\"display_name\":\"...\"}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    r = patch_me(&a, "{\"display_name\":\"!!!\"}");
    sp_t_assert_invalid(r, "display_name", "empty");
    sp_t_resp_free(r);
}
END_TEST

/* A reserved name with a symbol, emoji, superscript or subscript run on,
 * or with blank-looking characters (U+2800, the Hangul fillers) between
 * its words, reads as the reserved name: 422 reserved (QA: 200). A
 * person's name with a decoration is that name: another's is 409. */
START_TEST(decorated_reserved_names_are_refused)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    int64_t id = sp_t_agent_id(&a);
    const char *mine = fresh_name();
    struct sp_t_resp *r = patch_me(&a, sp_t_fmt("{\"display_name\":%s}", sp_t_jq(mine)));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    static const char *const reserved[] = {
        "Our\\u2800support\\u2800team", "System\\u2800notice", "Sys\\u2800tem",
        "System\\u3164notice", "System\\uffa0notice", "System\\u2122", "System\\u00ae",
        "System\\u00a9", "System\\u2713", "System\\u2605", "System\\u00b2",
        "System\\u2081", "Support\\u2122", "Support\\u2120", "Customer\\u2122",
        "Agent\\u2713", "System\\ud83d\\udee1", "Support\\ud83d\\ude42", "System\\u00b0",
        "System$", "System\\u20ac",
    };
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        r = patch_me(&a, sp_t_fmt("{\"display_name\":\"%s\"}", reserved[i]));
        sp_t_assert_invalid(r, "display_name", "reserved");
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(name_of(id), mine);
    r = patch_me(&a, sp_t_fmt("{\"display_name\":\"%s from Support\\u2122\"}", mine));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    const char *other = fresh_name();
    (void)sp_t_admin_agent_new(sp_t_fmt("\"display_name\":%s", sp_t_jq(other)), NULL);
    r = patch_me(&a, sp_t_fmt("{\"display_name\":\"%s \\u2605\"}", other));
    sp_t_assert_problem(r, 409, "display_name_taken");
    sp_t_resp_free(r);
}
END_TEST

/* A name with no letter or digit tells nobody apart and was never
 * compared (QA: "...", "???", "—" were 200, two agents both "."): 422
 * empty, on the agent's PATCH and the admin's create. */
START_TEST(a_name_without_a_letter_or_digit_is_refused)
{
    struct sp_t_user a = sp_t_user_new(SP_ROLE_AGENT);
    (void)sp_t_agent_id(&a);
    static const char *const blank[] = {"...", "???", "\\u2014", "!!!", ".", "\\u2605",
                                        "\\ud83d\\ude42"};
    for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++) {
        struct sp_t_resp *r = patch_me(&a, sp_t_fmt("{\"display_name\":\"%s\"}", blank[i]));
        sp_t_assert_invalid(r, "display_name", "empty");
        ck_assert_msg(strstr(sp_t_invalid_message(r, "display_name"), "no letter or digit") !=
                          NULL, "%s", r->body);
        sp_t_resp_free(r);
    }
    create_refused(".", 422, "empty");
}
END_TEST

/* Six writers give one name at once — four agents their own, an admin
 * another agent's, an admin a new agent's: one wins, the others are 409
 * (the names lock), and one active agent holds the name. Without the
 * lock each check ran before the others' commits and all of them won. */
START_TEST(renames_to_one_name_at_once_let_one_win)
{
    enum { N = 6 };
    for (int round = 0; round < 3; round++) {
        const char *name = fresh_name(), *body = sp_t_fmt("{\"display_name\":\"%s\"}", name);
        struct sp_t_call calls[N];
        struct sp_t_user u[N];
        for (int i = 0; i < N; i++) {
            u[i] = sp_t_user_new(SP_ROLE_AGENT);
            int64_t id = sp_t_agent_id(&u[i]);
            calls[i] = (struct sp_t_call){"PATCH", "/support/agent/me", u[i].token, body};
            if (i == N - 2)
                calls[i] = (struct sp_t_call){"PATCH", agent_path(id), sp_t_admin_token(),
                                              body};
        }
        struct sp_t_user fresh = sp_t_user_new(SP_ROLE_AGENT);
        calls[N - 1] = (struct sp_t_call){
            "POST", "/support/admin/agents", sp_t_admin_token(),
            sp_t_fmt("{\"user_id\":\"%s\",\"display_name\":\"%s\"}", fresh.sub, name)};
        struct sp_t_resp *out[N];
        size_t finished[N];
        sp_t_calls(N, calls, out, finished);
        int won = 0;
        for (int i = 0; i < N; i++) {
            if (out[i]->status == 200 || out[i]->status == 201)
                won++;
            else
                sp_t_assert_problem(out[i], 409, "display_name_taken");
            sp_t_resp_free(out[i]);
        }
        ck_assert_int_eq(won, 1);
        ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_agents WHERE is_active"
                                  " AND display_name = '%s'", name), "1");
    }
}
END_TEST

static Suite *
agent_names_suite(void)
{
    Suite *s = suite_create("agent_names");
    TCase *tc = sp_t_tcase(s, "names");
    tcase_add_test(tc, the_platforms_own_sender_names_are_refused);
    tcase_add_test(tc, the_tokens_name_is_kept_unless_reserved);
    tcase_add_test(tc, another_active_agents_name_is_409);
    tcase_add_test(tc, renames_to_one_name_at_once_let_one_win);
    tcase_add_test(tc, an_agents_own_name_sent_back_is_no_rename);
    tcase_add_test(tc, a_stored_name_a_rule_would_refuse_may_be_sent_back);
    tcase_add_test(tc, decorated_reserved_names_are_refused);
    tcase_add_test(tc, a_name_without_a_letter_or_digit_is_refused);
    return s;
}

int
main(void)
{
    return sp_t_run(agent_names_suite());
}
