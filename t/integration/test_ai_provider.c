/*
 * test_ai_provider: the AI proxy with an OpenAI-compatible model server
 * (API.md §9) — t/integration/openai_fixture.py, started here; support-api
 * is restarted with SUPPORT_AI_BASE_URL / SUPPORT_EMBEDDINGS_URL pointing
 * at it (stackctl restart-api-with; once for all the "shared" case's
 * tests), and back without them, so switching is by settings only.
 * Covers: the provider's answer used, grounded in the passages and cited;
 * nothing personal reaching the server; 5xx retried then answered;
 * failures and timeouts answered 503 and logged; the "I don't know" and
 * the instructions worded for the asker's side (a customer, or staff who
 * are not sent to support); tool calls ignored without a runner and run
 * with one (ai_provider called directly with a runner of the test's); the
 * embeddings endpoint used by the sync job (batches, incremental, a change
 * of embedder re-embeds) and by queries.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/embed.h"
#include "core/utf8.h"
#include "domain/ai_provider.h"
#include "domain/ai_retrieval.h"

#define CHAT_MODEL "fixture-chat-1"
#define EMBED_MODEL "fixture-embed-1"
#define API_KEY "sk-fixture-secret"

static struct sp_t_fixture fx;

static const char *
base_url(void)
{
    return sp_t_fmt("http://127.0.0.1:%d/v1", fx.port);
}

/* The fixture, and support-api restarted to use it as its provider (plus
 * settings). The key comes from a file, as in production. (snprintf: the
 * shared case's unchecked fixture runs this outside a test, where the
 * harness's arena is not.) */
static void
provider_on(const char *dim, const char *extra)
{
    char cmd[128], key_file[1024], args[2048];
    snprintf(cmd, sizeof(cmd), "openai_fixture.py --timeout 300 --dim %s", dim);
    sp_t_fixture_start(&fx, cmd);
    ck_assert_ptr_nonnull(getenv("SP_TEST_STACK_DIR"));
    snprintf(key_file, sizeof(key_file), "%s/ai_key", getenv("SP_TEST_STACK_DIR"));
    FILE *f = fopen(key_file, "w");
    ck_assert_ptr_nonnull(f);
    fputs(API_KEY "\n", f);
    fclose(f);
    snprintf(args, sizeof(args),
             "restart-api-with SUPPORT_AI_BASE_URL=http://127.0.0.1:%d/v1 SUPPORT_AI_MODEL="
             CHAT_MODEL " SUPPORT_AI_API_KEY_FILE=%s %s",
             fx.port, key_file, extra ? extra : "");
    sp_t_stackctl(args);
}

/* support-api back on its own settings; the fixture stopped. */
static void
provider_off(void)
{
    sp_t_stackctl("restart-api");
    sp_t_fixture_stop(&fx);
}

/* POST /_control of the model fixture: what it answers next. */
static void
control(const char *json)
{
    sp_t_fixture_post(&fx, "/_control", json);
}

/* The "shared" case's tests share one provider, started once for them
 * all (a restart of support-api takes seconds): each starts with the
 * fixture's defaults and no request left unread. */
static void
shared_provider_on(void)
{
    provider_on("64", NULL);
}

static void
shared_provider_off(void)
{
    provider_off();
}

static void
shared_provider_fresh(void)
{
    control("{\"chat_fail\":0,\"embed_fail\":0,\"chat_hang\":0,\"tool_calls\":null,"
            "\"script\":null,\"answer\":\"Fixture answer: see [1].\",\"usage\":null,"
            "\"raw\":null,\"fail_after_tool\":false,\"object_arguments\":false}");
    struct json_object *o;
    while ((o = sp_t_fixture_next(&fx, 0)) != NULL)
        json_object_put(o);
}

/* The requests the fixture saw (until it is quiet for 500 ms), as a JSON
 * array the test puts. */
static struct json_object *
seen(void)
{
    struct json_object *all = json_object_new_array(), *o;
    while ((o = sp_t_fixture_next(&fx, 500)) != NULL)
        json_object_array_add(all, o);
    return all;
}

static size_t
count_path(struct json_object *reqs, const char *tail)
{
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(reqs); i++) {
        const char *path = sp_t_jstr(json_object_array_get_idx(reqs, i), "path");
        n += strlen(path) >= strlen(tail) && strcmp(path + strlen(path) - strlen(tail), tail) == 0;
    }
    return n;
}

static const char *
body_of(struct json_object *reqs, size_t i)
{
    return sp_t_jstr(json_object_array_get_idx(reqs, i), "body");
}

static int64_t
article(const char *slug, const char *title, const char *md)
{
    struct sp_t_resp *r = sp_t_admin_post(
        "/support/admin/articles",
        sp_t_fmt("{\"slug\":%s,\"title\":%s,\"content_markdown\":%s,\"is_published\":true}",
                 sp_t_jq(slug), sp_t_jq(title), sp_t_jq(md)));
    int64_t id = sp_t_jint(r->json, "id");
    sp_t_resp_free(r);
    return id;
}

/* One --once run of the sync job with env; its exit code, and its
 * ai_sync_pass line in *line. */
static int
sync_job(const char *const env[], const char **line)
{
    const char *out;
    int rc = sp_t_job_run("knowledge-embedding-sync", env, (const char *const[]){"--once", NULL},
                          &out);
    const char *l = strstr(out, "\"event\":\"ai_sync_pass\"");
    *line = l ? sp_t_fmt("%.*s", (int)(strchr(l, '\n') ? strchr(l, '\n') - l : (long)strlen(l)), l)
              : out;
    return rc;
}

static bool
says(const char *line, const char *key, long value)
{
    return strstr(line, sp_t_fmt("\"%s\":%ld,", key, value)) != NULL;
}

/* A refund article and a password one, synced by the embedded embedder;
 * returns the refund slug. The slugs are spelled from the unique word, not
 * sp_t_unique(): its digits reach the prompt and could hold a fragment that
 * nothing_personal_reaches_the_provider must not find ("4111" did). */
static const char *
knowledge_base(const char *w)
{
    const char *refund = sp_t_fmt("refund-%s", w);
    article(refund, sp_t_fmt("Refunds for %s bookings", w),
            sp_t_fmt("# When the money comes back\n\nRefunds for %s bookings are paid back to "
                     "the original card within five business days. Questions: call +1 555 987 "
                     "6543 or write to help.%s@example.com.\n", w, w));
    article(sp_t_fmt("password-%s", w), sp_t_fmt("Resetting your %s password", w),
            sp_t_fmt("To reset the %s account password, open Settings and choose Security.\n",
                     w));
    const char *line;
    ck_assert_int_eq(sync_job(NULL, &line), 0);
    return refund;
}

static struct sp_t_resp *
ask(const struct sp_t_user *u, const char *question)
{
    const char *t = sp_t_ticket_create(u, "provider question");
    return sp_t_post_json("/support/ai/query", u->token,
                          sp_t_fmt("{\"question\":%s,\"ticket_id\":%s}", sp_t_jq(question),
                                   sp_t_jq(t)));
}

START_TEST(provider_answer_is_grounded_and_cited)
{
    const char *w = sp_t_unique_word();
    const char *refund = knowledge_base(w);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = ask(&u, sp_t_fmt("When do refunds for %s bookings arrive?", w));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "answer"), "Fixture answer: see [1].");
    ck_assert_str_eq(sp_t_jstr(r->json, "model"), CHAT_MODEL);
    struct json_object *sources = sp_t_jarr(r->json, "sources");
    ck_assert_int_eq(json_object_array_length(sources), 1);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sources, 0), "slug"), refund);
    ck_assert_int_eq(sp_t_jint(sp_t_jobj(r->json, "usage"), "prompt_tokens"), 4321);
    ck_assert_int_eq(sp_t_jint(sp_t_jobj(r->json, "usage"), "completion_tokens"), 17);
    long long id = (long long)sp_t_jint(r->json, "interaction_id");
    sp_t_resp_free(r);
    /* What the server got: the key, the model, the passage as context
     * with its article, the question. */
    struct json_object *reqs = seen();
    ck_assert_int_eq(json_object_array_length(reqs), 1);
    struct json_object *req = json_object_array_get_idx(reqs, 0);
    ck_assert_str_eq(sp_t_jstr(req, "path"), "/v1/chat/completions");
    ck_assert_str_eq(sp_t_jstr(req, "authorization"), "Bearer " API_KEY);
    const char *body = body_of(reqs, 0);
    ck_assert_ptr_nonnull(strstr(body, "\"model\":\"" CHAT_MODEL "\""));
    ck_assert_ptr_nonnull(strstr(body, "five business days"));
    ck_assert_ptr_nonnull(strstr(body, sp_t_fmt("[1] Refunds for %s bookings", w)));
    ck_assert_ptr_nonnull(strstr(body, refund));
    ck_assert_ptr_nonnull(strstr(body, sp_t_fmt("When do refunds for %s bookings arrive?", w)));
    /* The tools a customer may run are offered, no others. */
    ck_assert_ptr_nonnull(strstr(body, "\"name\":\"kb_search\""));
    ck_assert_ptr_nonnull(strstr(body, "\"name\":\"ticket_status\""));
    ck_assert_ptr_null(strstr(body, "booking_lookup"));
    ck_assert_ptr_null(strstr(body, "payment_refund"));
    ck_assert_ptr_null(strstr(body, "tool_choice"));
    json_object_put(reqs);
    ck_assert_str_eq(sp_t_sql("SELECT concat_ws('|', model, prompt_tokens, completion_tokens,"
                              " error IS NULL, response, sources->0->>'slug')"
                              " FROM support_ai_interactions WHERE id = %lld", id),
                     sp_t_fmt(CHAT_MODEL "|4321|17|t|Fixture answer: see [1].|%s", refund));
}
END_TEST

/* The provider's key file (provider_on) rewritten as the runbook says
 * (a new file renamed over it), then support-api reloaded (SIGHUP, the
 * unit's ExecReload). */
static void
rotate_key(const char *key)
{
    char key_file[1024], tmp[1040];
    snprintf(key_file, sizeof(key_file), "%s/ai_key", getenv("SP_TEST_STACK_DIR"));
    snprintf(tmp, sizeof(tmp), "%s.new", key_file);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", key);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(rename(tmp, key_file), 0);
    ck_assert(sp_t_api_reload());
}

/* docs/operations.md: a key in SUPPORT_AI_API_KEY_FILE is re-read on
 * SIGHUP, so it rotates without a restart; the next question reaches the
 * provider with the new key. */
START_TEST(a_rotated_key_file_is_sent_after_a_reload)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    rotate_key("sk-fixture-rotated");
    struct sp_t_resp *r = ask(&u, sp_t_fmt("When do refunds for %s bookings arrive?", w));
    rotate_key(API_KEY);   /* the other tests' key, whatever happens below */
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "answer"), "Fixture answer: see [1].");
    sp_t_resp_free(r);
    struct json_object *reqs = seen();
    ck_assert_int_eq(count_path(reqs, "/chat/completions"), 1);
    for (size_t i = 0; i < json_object_array_length(reqs); i++)
        ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(reqs, i), "authorization"),
                         "Bearer sk-fixture-rotated");
    json_object_put(reqs);
}
END_TEST

/* Settings only: the "shared" case ran before, on SUPPORT_AI_BASE_URL;
 * support-api restarted without it, the local model answers. */
START_TEST(without_the_provider_settings_the_local_model_answers)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = ask(&u, sp_t_fmt("When do refunds for %s bookings arrive?", w));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "model"), "local-retrieval");
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "answer"), "five business days"));
    sp_t_resp_free(r);
}
END_TEST

START_TEST(nothing_personal_reaches_the_provider)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = ask(&u, sp_t_fmt("I am jane.doe@example.com, +44 20 7946 0958, card "
                                           "4111-1111-1111-1111: when do %s refunds arrive?", w));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "model"), CHAT_MODEL);
    sp_t_resp_free(r);
    struct json_object *reqs = seen();
    ck_assert_int_eq(json_object_array_length(reqs), 1);
    const char *body = body_of(reqs, 0);
    /* The question's and the article's personal data alike. */
    static const char *const never[] = {"jane.doe", "example.com", "7946", "4111", "555 987",
                                        "6543"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        ck_assert_msg(strstr(body, never[i]) == NULL, "%s reached the provider: %s", never[i],
                      body);
    ck_assert_ptr_nonnull(strstr(body, "[email]"));
    ck_assert_ptr_nonnull(strstr(body, "[phone]"));
    ck_assert_ptr_nonnull(strstr(body, "[card]"));
    ck_assert_ptr_nonnull(strstr(body, "five business days"));
    json_object_put(reqs);
}
END_TEST

/* A customer's refund question (the knowledge base synced) to the
 * provider, scripted by control_json; asserts 200. */
static struct sp_t_resp *
refund_question(const char *control_json)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    control(control_json);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = ask(&u, sp_t_fmt("When do %s refunds arrive?", w));
    sp_t_assert_json(r, 200);
    return r;
}

START_TEST(server_errors_are_retried_then_answered)
{
    struct sp_t_resp *r = refund_question("{\"chat_fail\":2}");
    ck_assert_str_eq(sp_t_jstr(r->json, "answer"), "Fixture answer: see [1].");
    sp_t_resp_free(r);
    struct json_object *reqs = seen();
    ck_assert_int_eq(count_path(reqs, "/chat/completions"), 3);
    /* The same request each time. */
    ck_assert_str_eq(body_of(reqs, 0), body_of(reqs, 2));
    json_object_put(reqs);
}
END_TEST

/* The newest query-log row of the user: model|error|response is null|latency. */
static const char *
last_row(const struct sp_t_user *u)
{
    return sp_t_sql("SELECT concat_ws('|', model, split_part(error, ':', 1), response IS NULL,"
                    " latency_ms) FROM support_ai_interactions WHERE user_id = '%s'"
                    " ORDER BY id DESC LIMIT 1", u->sub);
}

START_TEST(failures_and_timeouts_are_503_and_logged)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    provider_on("64", "SUPPORT_AI_TIMEOUT_MS=2500");
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    /* Always 500: three attempts, then 503. */
    control("{\"chat_fail\":3}");
    struct sp_t_resp *r = ask(&u, sp_t_fmt("When do %s refunds arrive?", w));
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    sp_t_resp_free(r);
    ck_assert(sp_t_matches("^" CHAT_MODEL "[|]dependency_unavailable[|]t[|][0-9]+$", last_row(&u)));
    struct json_object *reqs = seen();
    ck_assert_int_eq(count_path(reqs, "/chat/completions"), 3);
    json_object_put(reqs);

    /* A server that hangs: 503 once the budget (2.5 s) is spent. */
    control("{\"chat_hang\":5}");
    r = ask(&u, sp_t_fmt("When do %s refunds arrive?", w));
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    sp_t_resp_free(r);
    const char *row = last_row(&u);
    ck_assert(sp_t_matches("^" CHAT_MODEL "[|]dependency_unavailable[|]t[|][0-9]+$", row));
    long latency = strtol(strrchr(row, '|') + 1, NULL, 10);
    ck_assert_msg(latency >= 2400 && latency < 5000, "latency %ld", latency);
    control("{\"chat_hang\":0}");
    provider_off();
}
END_TEST

/* The "I don't know" of each side (docs/API.md §9, "Wording"): a
 * customer is told how to reach a person (asked about a ticket: reply to
 * it); staff, who are those persons, only that the knowledge base has
 * nothing. */
#define DONT_KNOW_CUSTOMER                                                        \
    "I don't know: I found nothing in our help articles that answers this. To " \
    "reach a person, reply to your ticket and a support agent will answer you."
#define DONT_KNOW_STAFF "I don't know: I found nothing in the knowledge base about this."

/* u's question about a customer's ticket; asserts 200, the answer and no
 * sources, and returns the model that answered. */
static const char *
answers(const struct sp_t_user *u, const char *ticket, const char *question, const char *want)
{
    struct sp_t_resp *r = sp_t_post_json("/support/ai/query", u->token,
                                         sp_t_fmt("{\"question\":%s,\"ticket_id\":%s}",
                                                  sp_t_jq(question), sp_t_jq(ticket)));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "answer"), want);
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r->json, "sources")), 0);
    /* "I don't know" is no confidence, whatever the retrieval found. */
    ck_assert_double_eq(json_object_get_double(sp_t_jget(r->json, "confidence")), 0);
    const char *model = sp_t_fmt("%s", sp_t_jstr(r->json, "model"));
    sp_t_resp_free(r);
    return model;
}

/* The askers of the "I don't know" tests: a customer with a ticket and an
 * agent, beside a knowledge base of word w's articles. */
struct askers {
    const char *w, *ticket;
    struct sp_t_user cust, agent;
};

static struct askers
askers(void)
{
    struct askers a;
    a.w = sp_t_unique_word();
    knowledge_base(a.w);
    a.cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    a.agent = sp_t_user_new(SP_ROLE_AGENT);
    a.ticket = sp_t_ticket_create(&a.cust, "nothing fits");
    return a;
}

/* An agent asking the AI proxy is support: the fallback answer and the
 * provider's instructions never tell them to ask for an agent, as they
 * tell a customer — with nothing in the knowledge base (local model) here,
 * with a provider that gives no text in the next test. */
START_TEST(the_i_dont_know_answer_speaks_to_the_asker)
{
    struct askers a = askers();
    const char *nothing = sp_t_fmt("Does %sx support plorbic zumwalt fleems?", sp_t_unique_word());
    ck_assert_str_eq(answers(&a.cust, a.ticket, nothing, DONT_KNOW_CUSTOMER), "local-retrieval");
    ck_assert_str_eq(answers(&a.agent, a.ticket, nothing, DONT_KNOW_STAFF), "local-retrieval");
}
END_TEST

/* The same with a provider that gives no text, and the instructions it
 * is given (the "shared" case's provider). */
START_TEST(the_providers_i_dont_know_and_instructions_speak_to_the_asker)
{
    struct askers a = askers();
    control("{\"answer\":null}");
    const char *question = sp_t_fmt("When do refunds for %s bookings arrive?", a.w);
    ck_assert_str_eq(answers(&a.cust, a.ticket, question, DONT_KNOW_CUSTOMER), CHAT_MODEL);
    struct json_object *reqs = seen();
    ck_assert_int_eq(json_object_array_length(reqs), 1);
    const char *body = body_of(reqs, 0);
    ck_assert_ptr_nonnull(strstr(body, "Answer the customer's question"));
    ck_assert_ptr_nonnull(strstr(body, "the customer can ask for a human agent in the chat"));
    ck_assert_ptr_nonnull(strstr(body, "look things up for the customer (their tickets,"));
    json_object_put(reqs);
    ck_assert_str_eq(answers(&a.agent, a.ticket, question, DONT_KNOW_STAFF), CHAT_MODEL);
    reqs = seen();
    ck_assert_int_eq(json_object_array_length(reqs), 1);
    body = body_of(reqs, 0);
    ck_assert_ptr_nonnull(strstr(body, "Answer the support agent's question"));
    ck_assert_ptr_nonnull(strstr(body, "say that you don't know and that the knowledge base has "
                                       "nothing about it; the agent is the support, so never "
                                       "tell them to contact support or ask for an agent."));
    ck_assert_ptr_nonnull(strstr(body, "look things up for the agent (tickets,"));
    ck_assert_ptr_null(strstr(body, "human agent"));
    ck_assert_ptr_null(strstr(body, "the customer's question"));
    json_object_put(reqs);
    /* The provider's own "I don't know" (the passages fit the question
     * well, but it found no answer in them): no sources, no confidence. */
    control("{\"answer\":\"I don\u2019t know: the passages do not say. [1]\"}");
    ck_assert_str_eq(answers(&a.cust, a.ticket, question,
                             "I don\u2019t know: the passages do not say. [1]"),
                     CHAT_MODEL);
    json_object_put(seen());
}
END_TEST

/* A provider's answer is text taken in from outside: a NUL in it
 * ("\u0000") is dropped and the text after it kept — it was cut there
 * (QA: "before\u0000after" answered and stored as "before"). */
START_TEST(a_nul_in_the_providers_answer_does_not_cut_it)
{
    struct sp_t_resp *r = refund_question("{\"answer\":\"before\\u0000after [1]\"}");
    ck_assert_str_eq(sp_t_jstr(r->json, "answer"), "beforeafter [1]");
    ck_assert_int_eq(json_object_array_length(sp_t_jarr(r->json, "sources")), 1);
    long long id = (long long)sp_t_jint(r->json, "interaction_id");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT response FROM support_ai_interactions WHERE id = %lld", id),
                     "beforeafter [1]");
    json_object_put(seen());
}
END_TEST

/* A server's usage is its own affair: counts beyond int32 are clamped
 * (and saturate when summed), so the question is answered and logged
 * (QA: "completion_tokens":99999999999 was a 422 validation_failed and
 * no row, the log's ::integer cast failing). */
START_TEST(usage_beyond_int32_is_clamped_and_logged)
{
    struct sp_t_resp *r = refund_question("{\"usage\":{\"prompt_tokens\":2147483648,"
                                          "\"completion_tokens\":99999999999}}");
    struct json_object *usage = sp_t_jobj(r->json, "usage");
    ck_assert_int_eq(sp_t_jint(usage, "prompt_tokens"), 2147483647);
    ck_assert_int_eq(sp_t_jint(usage, "completion_tokens"), 2147483647);
    long long id = (long long)sp_t_jint(r->json, "interaction_id");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT concat_ws('|', prompt_tokens, completion_tokens, error)"
                              " FROM support_ai_interactions WHERE id = %lld", id),
                     "2147483647|2147483647");
    json_object_put(seen());
}
END_TEST

/* What a server sends is read leniently where it harms nothing (QA): a
 * lone surrogate "\ud83d" is U+FFFD, not a 503 "unreadable answer"; a
 * usage of 1e3 is 1000, not 0; an answer past SP_AI_ANSWER_MAX
 * characters (a 900 KB one for max_tokens 512) is cut there and logged. */
START_TEST(the_providers_answer_is_read_leniently_and_bounded)
{
    const char *raw = "{\"model\":\"" CHAT_MODEL "\",\"choices\":[{\"index\":0,\"message\":"
                      "{\"role\":\"assistant\",\"content\":\"Cut \\ud83d here [1].\"},"
                      "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1e3,"
                      "\"completion_tokens\":12.0}}";
    struct sp_t_resp *r = refund_question(sp_t_fmt("{\"raw\":%s}", sp_t_jq(raw)));
    ck_assert_str_eq(sp_t_jstr(r->json, "answer"), "Cut \xef\xbf\xbd here [1].");
    struct json_object *usage = sp_t_jobj(r->json, "usage");
    ck_assert_int_eq(sp_t_jint(usage, "prompt_tokens"), 1000);
    ck_assert_int_eq(sp_t_jint(usage, "completion_tokens"), 12);
    sp_t_resp_free(r);
    json_object_put(seen());
    long offset = sp_t_api_log_size();
    const char *said = sp_t_fmt("%s[1].", sp_t_repeat("\u00e9t\u00e9 long ", 2500));
    r = refund_question(sp_t_fmt("{\"raw\":null,\"answer\":%s}", sp_t_jq(said)));
    const char *answer = sp_t_jstr(r->json, "answer");
    ck_assert_int_eq(sp_utf8_count(answer, strlen(answer)), 16000);
    ck_assert_int_eq(strncmp(answer, said, strlen(answer)), 0);
    long long id = (long long)sp_t_jint(r->json, "interaction_id");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT char_length(response) FROM support_ai_interactions"
                              " WHERE id = %lld", id), "16000");
    const char *cut = sp_t_api_log_line(offset, "\"event\":\"ai_answer_cut\"");
    ck_assert_ptr_nonnull(strstr(cut, "\"answer_chars\":22504"));
    ck_assert_ptr_nonnull(strstr(cut, "\"max_chars\":16000"));
    json_object_put(seen());
}
END_TEST

/* A question of only Unicode blanks (NBSP, zero-width spaces, an
 * ideographic space) is no question: the 422 of an empty one, nobody
 * asked (QA: it passed the ASCII-only check and reached the model). */
START_TEST(a_question_of_unicode_blanks_is_refused_as_empty)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = ask(&u, "\u00a0\u200b \u3000\u2060\ufeff");
    sp_t_assert_invalid(r, "question", "empty");
    sp_t_resp_free(r);
    struct json_object *reqs = seen();
    ck_assert_int_eq(json_object_array_length(reqs), 0);
    json_object_put(reqs);
}
END_TEST

/* The newest query row of u (no tool runs): model|prompt|completion|role|error code. */
static const char *
query_row(const struct sp_t_user *u)
{
    return sp_t_sql("SELECT concat_ws('|', model, prompt_tokens, completion_tokens, caller_role,"
                    " split_part(error, ':', 1)) FROM support_ai_interactions"
                    " WHERE user_id = '%s' AND tool_id IS NULL ORDER BY id DESC LIMIT 1",
                    u->sub);
}

/* A provider failing is told to a customer in general words, to staff
 * with its cause (QA: customers read "the AI provider answered 500");
 * the row keeps the cause, the caller's role, and the usage the provider
 * billed for the rounds before the failure (QA: word counts were logged). */
START_TEST(a_failure_is_worded_for_the_asker_and_logged_with_its_usage)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    struct sp_t_user cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *question = sp_t_fmt("When do %s refunds arrive?", w);
    /* One tool round answered (4321 + 17), then the provider fails. */
    control("{\"script\":[{\"name\":\"kb_search\",\"arguments\":{\"query\":\"refunds\"}}],"
            "\"fail_after_tool\":true}");
    long offset = sp_t_api_log_size();
    struct sp_t_resp *r = ask(&cust, question);
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the assistant is unavailable; try again later");
    sp_t_resp_free(r);
    ck_assert_str_eq(query_row(&cust), CHAT_MODEL "|4321|17|customer|dependency_unavailable");
    ck_assert_str_eq(sp_t_sql("SELECT error FROM support_ai_interactions WHERE user_id = '%s'"
                              " AND tool_id IS NULL", cust.sub),
                     "dependency_unavailable: the AI provider answered 500");
    ck_assert_ptr_nonnull(strstr(sp_t_api_log_line(offset, "\"event\":\"ai_query_unavailable\""),
                                 "\"detail\":\"the AI provider answered 500\""));
    r = sp_t_post_json("/support/ai/query", agent.token,
                       sp_t_fmt("{\"question\":%s,\"ticket_id\":%s}", sp_t_jq(question),
                                sp_t_jq(sp_t_ticket_create(&cust, "provider question"))));
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the AI provider answered 500");
    sp_t_resp_free(r);
    ck_assert_str_eq(query_row(&agent), CHAT_MODEL "|4321|17|agent|dependency_unavailable");
    /* A tool run's row has the role too. */
    ck_assert_str_eq(sp_t_sql("SELECT string_agg(DISTINCT caller_role, ',')"
                              " FROM support_ai_interactions WHERE user_id = '%s'"
                              " AND tool_id = 'kb_search'", agent.sub), "agent");
    json_object_put(seen());
}
END_TEST

/* A call's arguments sent as an object, not the JSON string OpenAI
 * sends, are read as written (QA: read as {}). */
START_TEST(tool_call_arguments_sent_as_an_object_are_read)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    struct sp_t_user cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *ticket = sp_t_ticket_create(&cust, sp_t_fmt("Object arguments %s", w));
    control(sp_t_fmt("{\"script\":[{\"name\":\"ticket_status\",\"arguments\":"
                     "{\"ticket_id\":%s}}],\"object_arguments\":true}", sp_t_jq(ticket)));
    struct sp_t_resp *r = sp_t_post_json("/support/ai/query", cust.token,
                                         sp_t_fmt("{\"question\":%s,\"ticket_id\":%s}",
                                                  sp_t_jq(sp_t_fmt("Status of %s?", w)),
                                                  sp_t_jq(ticket)));
    sp_t_assert_json(r, 200);
    ck_assert_msg(strstr(sp_t_jstr(r->json, "answer"),
                         sp_t_fmt("\"public_id\":\"%s\"", ticket)) != NULL, "%s", r->body);
    sp_t_resp_free(r);
    json_object_put(seen());
}
END_TEST

/* The provider of the test: the fixture, a 5 s budget. */
static struct sp_ai_provider
direct_provider(void)
{
    return (struct sp_ai_provider){
        .ep = {.svc = {"AI provider", base_url(), API_KEY, 5000}, .budget_ms = 5000,
               .path = "/chat/completions", .model = CHAT_MODEL},
        .max_tokens = 100};
}

START_TEST(tool_calls_without_a_runner_are_ignored)
{
    sp_t_fixture_start(&fx, "openai_fixture.py --timeout 60");
    control("{\"tool_calls\":\"always\"}");
    struct sp_arena a;
    sp_arena_init(&a, 65536);
    struct sp_ai_provider pv = direct_provider();
    struct sp_ai_passage ps[1] = {{1, 1, "refunds", "Refunds", "Refunds > When",
                                   "Refunds take five business days.", 1, 1, 1, 1}};
    struct sp_ai_generation g;
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(
        sp_ai_provider_answer(&a, &pv, "When do refunds arrive?", false, ps, 1, NULL, &g, &p),
        SP_OK);
    ck_assert_str_eq(g.answer, "Fixture answer: see [1].");
    ck_assert_int_eq((int)g.tool_calls, 0);
    struct json_object *reqs = seen();
    ck_assert_int_eq(json_object_array_length(reqs), 1);   /* no second round */
    ck_assert_ptr_null(strstr(body_of(reqs, 0), "\"tools\""));
    json_object_put(reqs);
    sp_arena_destroy(&a);
    sp_t_fixture_stop(&fx);
}
END_TEST

/* The test's tool runner: records the call, answers a fixed result. */
struct runs {
    int n;
    char name[64], arguments[128];
};

static const char *
run_tool(void *arg, struct sp_arena *a, const struct sp_ai_tool_call *call, long budget_ms)
{
    ck_assert(budget_ms > 0 && budget_ms <= 5000);
    struct runs *r = arg;
    r->n++;
    snprintf(r->name, sizeof(r->name), "%s", call->name);
    snprintf(r->arguments, sizeof(r->arguments), "%s", call->arguments);
    return sp_arena_strdup(a, "{\"status\":\"refund sent to ann@example.com\"}");
}

START_TEST(tool_calls_are_run_by_the_runner_and_answered)
{
    sp_t_fixture_start(&fx, "openai_fixture.py --timeout 60");
    control("{\"tool_calls\":\"offered\"}");
    struct sp_arena a;
    sp_arena_init(&a, 65536);
    struct sp_ai_provider pv = direct_provider();
    struct sp_ai_passage ps[1] = {{1, 1, "refunds", "Refunds", "Refunds > When",
                                   "Refunds take five business days.", 1, 1, 1, 1}};
    struct runs runs = {0, "", ""};
    struct sp_ai_tool_runner tools = {
        "[{\"type\":\"function\",\"function\":{\"name\":\"kb_search\",\"parameters\":"
        "{\"type\":\"object\"}}}]",
        run_tool, &runs};
    struct sp_ai_generation g;
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(
        sp_ai_provider_answer(&a, &pv, "Where is my refund?", false, ps, 1, &tools, &g, &p),
        SP_OK);
    ck_assert_int_eq(runs.n, 1);
    ck_assert_str_eq(runs.name, "kb_search");
    ck_assert_str_eq(runs.arguments, "{\"query\":\"refunds\"}");
    ck_assert_int_eq((int)g.tool_calls, 1);
    ck_assert_str_eq(g.answer,
                     "Fixture answer from the tool: {\"status\":\"refund sent to [email]\"} [1].");
    ck_assert(g.cited[0]);
    ck_assert_int_eq(g.prompt_tokens, 2 * 4321);
    /* Round two carried the model's call and the (redacted) result. */
    struct json_object *reqs = seen();
    ck_assert_int_eq(json_object_array_length(reqs), 2);
    ck_assert_ptr_nonnull(strstr(body_of(reqs, 0), "\"tools\":[{\"type\":\"function\""));
    ck_assert_ptr_nonnull(strstr(body_of(reqs, 1), "\"tool_call_id\":\"call_1\""));
    ck_assert_ptr_nonnull(strstr(body_of(reqs, 1), "\"tool_calls\":[{"));
    ck_assert_ptr_null(strstr(body_of(reqs, 1), "ann@example.com"));
    json_object_put(reqs);
    sp_arena_destroy(&a);
    sp_t_fixture_stop(&fx);
}
END_TEST

/* Inputs of each embeddings request in reqs, as "n,n,…". */
static const char *
batches(struct json_object *reqs)
{
    const char *s = "";
    for (size_t i = 0; i < json_object_array_length(reqs); i++) {
        struct json_object *body = json_tokener_parse(body_of(reqs, i)), *input;
        ck_assert(json_object_object_get_ex(body, "input", &input));
        ck_assert_str_eq(sp_t_jstr(body, "model"), EMBED_MODEL);
        s = sp_t_fmt("%s%s%zu", s, i ? "," : "", json_object_array_length(input));
        json_object_put(body);
    }
    return s;
}

/* Base URLs written with a trailing "/" are joined without doubling it
 * (QA: "/v1//chat/completions"), and an embeddings failure is logged
 * under the configured provider's model, with no usage (QA: as
 * local-retrieval, with word counts). */
START_TEST(trailing_slashes_and_an_embeddings_failure)
{
    sp_t_fixture_start(&fx, "openai_fixture.py --timeout 120");
    sp_t_stackctl(sp_t_fmt("restart-api-with SUPPORT_AI_BASE_URL=%s/ SUPPORT_AI_MODEL=" CHAT_MODEL
                           " SUPPORT_EMBEDDINGS_URL=%s/ SUPPORT_EMBEDDINGS_MODEL=" EMBED_MODEL,
                           base_url(), base_url()));
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = ask(&u, "When do refunds arrive?");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    struct json_object *reqs = seen();
    ck_assert_int_ge(json_object_array_length(reqs), 2);
    for (size_t i = 0; i < json_object_array_length(reqs); i++) {
        const char *path = sp_t_jstr(json_object_array_get_idx(reqs, i), "path");
        ck_assert_msg(strcmp(path, "/v1/embeddings") == 0 ||
                          strcmp(path, "/v1/chat/completions") == 0, "%s", path);
    }
    json_object_put(reqs);
    control("{\"embed_fail\":3}");
    r = ask(&u, "When do refunds arrive?");
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    sp_t_resp_free(r);
    ck_assert_str_eq(query_row(&u), CHAT_MODEL "|0|0|customer|dependency_unavailable");
    provider_off();
}
END_TEST

START_TEST(embeddings_endpoint_serves_the_sync_job_and_queries)
{
    sp_t_fixture_start(&fx, "openai_fixture.py --timeout 120 --dim 48");
    const char *env[] = {sp_t_fmt("SUPPORT_EMBEDDINGS_URL=%s", base_url()),
                         "SUPPORT_EMBEDDINGS_MODEL=" EMBED_MODEL,
                         "SUPPORT_EMBEDDINGS_BATCH=2", "SUPPORT_EMBEDDINGS_API_KEY=" API_KEY,
                         NULL};
    const char *line;
    ck_assert_int_eq(sync_job(env, &line), 0);   /* everyone's articles move over */
    json_object_put(seen());
    const char *w = sp_t_unique_word();
    const char *slug = sp_t_unique("embed");
    int64_t id = article(slug, sp_t_fmt("Shipping %s parcels", w),
                         sp_t_fmt("# Abroad\n\nParcels of %s ship abroad in ten days.\n\n# Home"
                                  "\n\nAt home they take two days.\n\n# Returns\n\nReturns are "
                                  "free.\n", w));
    ck_assert_int_eq(sync_job(env, &line), 0);
    ck_assert_msg(says(line, "articles", 1) && says(line, "embedded", 3), "%s", line);
    struct json_object *reqs = seen();
    /* The dimension probe, then the three chunks in batches of two. */
    ck_assert_str_eq(batches(reqs), "1,2,1");
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(reqs, 1), "authorization"),
                     "Bearer " API_KEY);
    json_object_put(reqs);
    ck_assert_str_eq(sp_t_sql("SELECT concat_ws('|', count(*), min(embedding_model),"
                              " min(octet_length(embedding)), max(octet_length(embedding)))"
                              " FROM support_article_chunks WHERE article_id = %lld",
                              (long long)id),
                     "3|" EMBED_MODEL "|192|192");
    /* Incremental: nothing changed, nothing embedded; one section edited,
     * one chunk embedded. */
    ck_assert_int_eq(sync_job(env, &line), 0);
    ck_assert_msg(says(line, "embedded", 0), "%s", line);
    reqs = seen();
    ck_assert_str_eq(batches(reqs), "1");
    json_object_put(reqs);
    struct sp_t_resp *r = sp_t_admin(
        "PATCH", sp_t_fmt("/support/admin/articles/%lld", (long long)id),
        sp_t_fmt("{\"content_markdown\":%s}",
                 sp_t_jq(sp_t_fmt("# Abroad\n\nParcels of %s ship abroad in ten days.\n\n# Home"
                                  "\n\nAt home they take two days.\n\n# Returns\n\nReturns are "
                                  "free for thirty days.\n", w))));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_int_eq(sync_job(env, &line), 0);
    ck_assert_msg(says(line, "embedded", 1) && says(line, "kept", 2), "%s", line);
    reqs = seen();
    ck_assert_str_eq(batches(reqs), "1,1");
    json_object_put(reqs);

    /* Queries embed the question there too, and find the article. */
    sp_t_stackctl(sp_t_fmt("restart-api-with SUPPORT_EMBEDDINGS_URL=%s "
                           "SUPPORT_EMBEDDINGS_MODEL=" EMBED_MODEL, base_url()));
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    r = ask(&u, sp_t_fmt("How long do %s parcels take to ship abroad? I am bob@example.com", w));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(sp_t_jarr(r->json, "sources"), 0),
                               "slug"), slug);
    ck_assert_ptr_nonnull(strstr(sp_t_jstr(r->json, "answer"), "ten days"));
    sp_t_resp_free(r);
    reqs = seen();
    ck_assert_str_eq(batches(reqs), "1");
    ck_assert_ptr_nonnull(strstr(body_of(reqs, 0), "ship abroad"));
    ck_assert_ptr_null(strstr(body_of(reqs, 0), "bob@"));
    json_object_put(reqs);

    /* The embeddings service failing: the job fails (exit 1). */
    control("{\"embed_fail\":3}");
    ck_assert_int_eq(sync_job(env, &line), 1);

    /* Back to the embedded embedder: the next pass re-embeds by itself. */
    provider_off();
    ck_assert_int_eq(sync_job(NULL, &line), 0);
    ck_assert_str_eq(sp_t_sql("SELECT concat_ws('|', count(*), min(embedding_model),"
                              " min(octet_length(embedding)))"
                              " FROM support_article_chunks WHERE article_id = %lld",
                              (long long)id),
                     "3|" SP_EMBED_MODEL "|2048");
}
END_TEST

/* The provider is never given an article's text of before an edit (its
 * chunks until the sync job re-makes them): not in the passages of the
 * prompt, not in the sources. After the sync, the new text is. */
START_TEST(an_edited_article_reaches_the_provider_only_as_it_is_now)
{
    const char *w = sp_t_unique_word(), *slug = sp_t_fmt("fees-%s", w);
    int64_t id = article(slug, sp_t_fmt("%s pass fees", w),
                         sp_t_fmt("The %s pass costs 99 euros per month.", w));
    const char *line;
    ck_assert_int_eq(sync_job(NULL, &line), 0);
    struct sp_t_resp *r = sp_t_admin(
        "PATCH", sp_t_fmt("/support/admin/articles/%lld", (long long)id),
        sp_t_fmt("{\"content_markdown\":%s}",
                 sp_t_jq(sp_t_fmt("The %s pass costs 19 euros per month.", w))));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    for (int synced = 0; synced < 2; synced++) {
        r = ask(&u, sp_t_fmt("How much does the %s pass cost?", w));
        sp_t_assert_json(r, 200);
        struct json_object *sources = sp_t_jarr(r->json, "sources");
        bool cites = false;
        for (size_t i = 0; i < json_object_array_length(sources); i++)
            cites |= strcmp(sp_t_jstr(json_object_array_get_idx(sources, i), "slug"), slug) == 0;
        ck_assert_msg(cites == (synced == 1), "%s", r->body);
        sp_t_resp_free(r);
        /* Whatever the provider was sent (before the sync, with no
         * passage to give, it may not be asked at all). */
        struct json_object *reqs = seen();
        bool now = false;
        for (size_t i = 0; i < json_object_array_length(reqs); i++) {
            const char *body = body_of(reqs, i);
            ck_assert_msg(strstr(body, sp_t_fmt("%s pass costs 99", w)) == NULL, "%s", body);
            now |= strstr(body, sp_t_fmt("%s pass costs 19", w)) != NULL;
        }
        ck_assert_int_eq(now, synced == 1);
        json_object_put(reqs);
        ck_assert_int_eq(sync_job(NULL, &line), 0);
    }
}
END_TEST

/* ---- in flight (docs/API.md §9, "In flight") ------------------------------ */

/* calls[n] at once, the last an anonymous read of the knowledge base,
 * the others queries that the hung provider holds: the one refused
 * (want_status, want_code, Retry-After) and the read are answered, and
 * before any held one (while the provider still hangs); only the held
 * ones reached the provider. */
static void
refused_at_once(const struct sp_t_call *calls, size_t n, long want_status, const char *want_code)
{
    struct sp_t_resp *out[8];
    size_t finished[8], refused = n, held = 0;
    sp_t_calls(n, calls, out, finished);
    sp_t_assert_json(out[n - 1], 200);   /* the plain read */
    for (size_t i = 0; i + 1 < n; i++) {
        if (out[i]->status == 200) {
            held++;
            continue;
        }
        ck_assert_msg(refused == n, "two refused: %s", out[i]->body);
        refused = i;
        sp_t_assert_problem(out[i], want_status, want_code);
        ck_assert_int_eq(sp_t_header_num(out[i], "Retry-After"), 1);
    }
    ck_assert_uint_eq(held, n - 2);
    for (size_t i = 0; i + 1 < n; i++)
        ck_assert_msg(i == refused || (finished[i] > finished[refused] &&
                                       finished[i] > finished[n - 1]),
                      "a held query was answered before the refusal or the read");
    for (size_t i = 0; i < n; i++)
        sp_t_resp_free(out[i]);
    struct json_object *reqs = seen();
    ck_assert_uint_eq(count_path(reqs, "/chat/completions"), n - 2);
    json_object_put(reqs);
}

/* With the provider hanging, the query past a limit is refused at once
 * (the node's: 503 ai_busy; the user's own: 429 ai_in_flight), and the
 * workers it would have held answer everything else (QA: one customer's
 * ten hung queries made an anonymous article list wait 18 s). */
START_TEST(queries_past_the_in_flight_limits_are_refused_at_once)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    provider_on("64", "SUPPORT_AI_MAX_IN_FLIGHT=2");
    struct sp_t_user cust = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *q = sp_t_fmt("{\"question\":%s,\"ticket_id\":%s}",
                             sp_t_jq(sp_t_fmt("When do %s refunds arrive?", w)),
                             sp_t_jq(sp_t_ticket_create(&cust, "in flight")));
    control("{\"chat_hang\":6}");
    /* Three agents, each under their own limit: two fit the node. */
    const struct sp_t_call node[] = {
        {"POST", "/support/ai/query", sp_t_user_new(SP_ROLE_AGENT).token, q},
        {"POST", "/support/ai/query", sp_t_user_new(SP_ROLE_AGENT).token, q},
        {"POST", "/support/ai/query", sp_t_user_new(SP_ROLE_AGENT).token, q},
        {"GET", "/support/articles", NULL, NULL}};
    refused_at_once(node, 4, 503, "ai_busy");
    /* One customer three times: two are theirs. */
    const struct sp_t_call user[] = {{"POST", "/support/ai/query", cust.token, q},
                                     {"POST", "/support/ai/query", cust.token, q},
                                     {"POST", "/support/ai/query", cust.token, q},
                                     {"GET", "/support/articles", NULL, NULL}};
    refused_at_once(user, 4, 429, "ai_in_flight");
    /* Every way out gives the places back: after two failed queries and
     * more answered ones than the limits, the next is answered. */
    control("{\"chat_hang\":0,\"chat_fail\":6}");
    for (int i = 0; i < 5; i++) {
        struct sp_t_resp *r = sp_t_post_json("/support/ai/query", cust.token, q);
        if (i < 2)
            sp_t_assert_problem(r, 503, "dependency_unavailable");
        else
            sp_t_assert_json(r, 200);
        sp_t_resp_free(r);
    }
    provider_off();
}
END_TEST

/* ---- the chat (docs/API.md §9, "Chat") --------------------------------------- */

static struct sp_t_resp *
ask_in(const struct sp_t_user *u, const char *sid, const char *question)
{
    return sp_t_post_json("/support/ai/query", u->token,
                          sp_t_fmt("{\"question\":%s,\"session_id\":%s}", sp_t_jq(question),
                                   sp_t_jq(sid)));
}

/* The chat's messages but the system's (an agent joining), oldest
 * first, as "sender_type:body" lines. */
static const char *
chat_lines(const char *sid)
{
    return sp_t_sql("SELECT coalesce(string_agg(m.sender_type || ':' || m.body, E'\\n'"
                    " ORDER BY m.id), '') FROM support_chat_messages m"
                    " JOIN support_chat_sessions s ON s.id = m.session_id"
                    " WHERE s.public_id = '%s' AND m.sender_type <> 'system'", sid);
}

/* The answer is plain text: the chat shows it as the JSON has it, markup
 * and all, never as HTML (QA: a model's <a href> became a live link, an
 * article's code span `<img src=x onerror=…>` vanished, and a title's
 * <a href> was a live link on the Sources line). */
START_TEST(the_chat_shows_the_answer_as_the_text_it_is)
{
    const char *w = sp_t_unique_word(), *slug = sp_t_fmt("refund-%s", w);
    article(slug, sp_t_fmt("Refunds <a href=\"https://evil.example/\">for %s</a> & more", w),
            sp_t_fmt("Refunds for %s bookings are paid back within five business days.\n", w));
    const char *line;
    ck_assert_int_eq(sync_job(NULL, &line), 0);
    const char *said = "Log in <a href=\"https://evil.example/login\">here</a>; the article"
                       " quotes `<img src=x onerror=alert(1)>` [1].";
    control(sp_t_fmt("{\"answer\":%s}", sp_t_jq(said)));
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *sid = sp_t_chat_session_new(&u);
    struct sp_t_resp *r = ask_in(&u, sid, sp_t_fmt("When do %s refunds arrive?", w));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "answer"), said);
    sp_t_resp_free(r);
    json_object_put(seen());
    ck_assert_str_eq(
        sp_t_sql("SELECT m.body FROM support_chat_messages m JOIN support_chat_sessions s"
                 " ON s.id = m.session_id WHERE s.public_id = '%s' AND m.sender_type = 'ai_bot'",
                 sid),
        sp_t_fmt("<p>Log in &lt;a href=\"https://evil.example/login\"&gt;here&lt;/a&gt;; the"
                 " article quotes `&lt;img src=x onerror=alert(1)&gt;` [1].</p><p>Sources:"
                 " Refunds &lt;a href=\"https://evil.example/\"&gt;for %s&lt;/a&gt; &amp; more"
                 " (/support/articles/%s)</p>", w, slug));
}
END_TEST

/* An answer longer than a chat message may be is posted cut, with "…"
 * and its Sources line, and said in the log without its text; the JSON
 * answer is whole (QA: it was silently not posted at all). */
START_TEST(a_long_answer_is_cut_in_the_chat_and_whole_in_the_answer)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    const char *said = sp_t_fmt("%s[1].", sp_t_repeat("Lorem < ipsum ", 400));
    control(sp_t_fmt("{\"answer\":%s}", sp_t_jq(said)));
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *sid = sp_t_chat_session_new(&u);
    long offset = sp_t_api_log_size();
    struct sp_t_resp *r = ask_in(&u, sid, sp_t_fmt("When do %s refunds arrive?", w));
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "answer"), said);
    long long id = (long long)sp_t_jint(r->json, "interaction_id");
    sp_t_resp_free(r);
    json_object_put(seen());
    const char *body = sp_t_sql("SELECT m.body FROM support_chat_messages m"
                                " JOIN support_chat_sessions s ON s.id = m.session_id"
                                " WHERE s.public_id = '%s' AND m.sender_type = 'ai_bot'", sid);
    ck_assert_str_eq(sp_t_sql("SELECT char_length(m.body) BETWEEN 3990 AND 4000"
                              " FROM support_chat_messages m JOIN support_chat_sessions s"
                              " ON s.id = m.session_id WHERE s.public_id = '%s'"
                              " AND m.sender_type = 'ai_bot'", sid),
                     "t");
    ck_assert_msg(sp_t_matches("^<p>Lorem &lt; ipsum .*\u2026</p><p>Sources: [^<]*</p>$", body),
                  "%s", body);
    const char *cut = sp_t_api_log_line(offset, "\"event\":\"ai_chat_answer_cut\"");
    ck_assert_ptr_nonnull(strstr(cut, sp_t_fmt("\"interaction_id\":%lld", id)));
    ck_assert_ptr_nonnull(strstr(cut, "\"answer_chars\":5604"));
    ck_assert_ptr_null(strstr(cut, "Lorem"));
}
END_TEST

/* The customer's question is their message in the chat, before the
 * answer, sanitized as a chat send is; it stays when no answer comes.
 * Staff asking (agent assist) say nothing in the chat. (QA: only the
 * answer was posted: the agent, the transcript and the archive lost the
 * question.) */
START_TEST(the_customers_question_is_said_in_the_chat)
{
    const char *w = sp_t_unique_word();
    knowledge_base(w);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *sid = sp_t_chat_session_new(&u);
    struct sp_t_resp *r = ask_in(&u, sid, sp_t_fmt("When do <b>%s</b> refunds arrive?"
                                                   "<script>x()</script>", w));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    const char *asked = sp_t_fmt("customer:When do <b>%s</b> refunds arrive?", w);
    ck_assert_str_eq(chat_lines(sid),
                     sp_t_fmt("%s\nai_bot:<p>Fixture answer: see [1].</p><p>Sources: Refunds for"
                              " %s bookings (/support/articles/refund-%s)</p>", asked, w, w));
    /* The provider failing: the question stays, no answer. */
    control("{\"chat_fail\":3}");
    r = ask_in(&u, sid, "And for a cancelled booking?");
    sp_t_assert_problem(r, 503, "dependency_unavailable");
    sp_t_resp_free(r);
    const char *before = chat_lines(sid);
    ck_assert_msg(sp_t_matches("\ncustomer:And for a cancelled booking[?]$", before), "%s",
                  before);
    /* Agent assist: nothing said. */
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    r = ask_in(&admin, sid, sp_t_fmt("When do %s refunds arrive?", w));
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    ck_assert_str_eq(chat_lines(sid), before);
    /* A question with nothing a chat would keep is refused as a chat
     * send is, before anyone is asked. */
    json_object_put(seen());
    r = ask_in(&u, sid, "<script>alert(1)</script>");
    sp_t_assert_invalid(r, "question", "empty");
    sp_t_resp_free(r);
    struct json_object *reqs = seen();
    ck_assert_int_eq(json_object_array_length(reqs), 0);
    json_object_put(reqs);
    ck_assert_str_eq(chat_lines(sid), before);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ai_provider");
    TCase *tc = sp_t_tcase(s, "shared");
    tcase_add_unchecked_fixture(tc, shared_provider_on, shared_provider_off);
    tcase_add_checked_fixture(tc, shared_provider_fresh, NULL);
    tcase_add_test(tc, provider_answer_is_grounded_and_cited);
    tcase_add_test(tc, nothing_personal_reaches_the_provider);
    tcase_add_test(tc, server_errors_are_retried_then_answered);
    tcase_add_test(tc, the_providers_i_dont_know_and_instructions_speak_to_the_asker);
    tcase_add_test(tc, an_edited_article_reaches_the_provider_only_as_it_is_now);
    tcase_add_test(tc, a_nul_in_the_providers_answer_does_not_cut_it);
    tcase_add_test(tc, the_chat_shows_the_answer_as_the_text_it_is);
    tcase_add_test(tc, a_long_answer_is_cut_in_the_chat_and_whole_in_the_answer);
    tcase_add_test(tc, the_customers_question_is_said_in_the_chat);
    tcase_add_test(tc, a_rotated_key_file_is_sent_after_a_reload);
    tcase_add_test(tc, usage_beyond_int32_is_clamped_and_logged);
    tcase_add_test(tc, the_providers_answer_is_read_leniently_and_bounded);
    tcase_add_test(tc, a_question_of_unicode_blanks_is_refused_as_empty);
    tcase_add_test(tc, a_failure_is_worded_for_the_asker_and_logged_with_its_usage);
    tcase_add_test(tc, tool_call_arguments_sent_as_an_object_are_read);
    /* After the shared case: support-api is back on its own settings. */
    tc = sp_t_tcase(s, "ai_provider");
    tcase_add_test(tc, without_the_provider_settings_the_local_model_answers);
    tcase_add_test(tc, the_i_dont_know_answer_speaks_to_the_asker);
    tcase_add_test(tc, failures_and_timeouts_are_503_and_logged);
    tcase_add_test(tc, queries_past_the_in_flight_limits_are_refused_at_once);
    tcase_add_test(tc, tool_calls_without_a_runner_are_ignored);
    tcase_add_test(tc, tool_calls_are_run_by_the_runner_and_answered);
    tcase_add_test(tc, embeddings_endpoint_serves_the_sync_job_and_queries);
    tcase_add_test(tc, trailing_slashes_and_an_embeddings_failure);
    return sp_t_run(s);
}
