/*
 * ai_client: chat completions and embeddings over HTTP. See ai_client.h.
 *
 * Answers are read leniently (unknown members ignored, usage optional)
 * and strictly where it matters: a chat answer needs choices[0].message,
 * an embeddings answer one vector of numbers per input, in order of its
 * "index" when given.
 */
#include "core/ai_client.h"

#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/embed.h"
#include "core/hex.h"
#include "core/json.h"
#include "core/json_writer.h"
#include "core/utf8.h"

#define CHAT_ANSWER_MAX (1024 * 1024)
#define EMBED_ANSWER_MAX (32 * 1024 * 1024)

static enum sp_rc
unusable(struct sp_problem *p, const struct sp_ai_endpoint *ep, const char *why)
{
    return sp_problem_set(p, SP_UNAVAILABLE, "dependency_unavailable", "the %s %s",
                          ep->svc.name, why);
}

/* The escaped half of a UTF-16 surrogate pair at s[i] ("\\uD83D"): 1 a
 * high one, 2 a low one, 0 none. */
static int
surrogate_at(const char *s, size_t len, size_t i)
{
    if (i + 6 > len || s[i] != '\\' || s[i + 1] != 'u')
        return 0;
    unsigned v = 0;
    for (size_t k = i + 2; k < i + 6; k++) {
        int d = sp_hex_value((unsigned char)s[k]);
        if (d < 0)
            return 0;
        v = v * 16 + (unsigned)d;
    }
    return v >= 0xd800 && v <= 0xdbff ? 1 : v >= 0xdc00 && v <= 0xdfff ? 2 : 0;
}

/* The answer's text with each escaped surrogate that is not half of a
 * pair written as \uFFFD: core/json refuses one in a request, but a
 * model cut mid-emoji ("\ud83d") must not lose the whole answer; it is
 * replaced as other malformed text is (core/utf8). */
static const char *
lone_surrogates_replaced(struct sp_arena *a, const char *s, size_t *len)
{
    struct sp_buf b;
    sp_buf_init(&b, a, *len + 1);
    size_t from = 0;
    for (size_t i = 0; i < *len; i++) {
        if (s[i] != '\\')
            continue;
        int kind = surrogate_at(s, *len, i);
        if (kind == 1 && surrogate_at(s, *len, i + 6) == 2) {
            i += 11;   /* a pair: kept */
        } else if (kind != 0) {
            sp_buf_append(&b, s + from, i - from);
            sp_buf_puts(&b, "\\uFFFD");
            from = i + 6;
            i += 5;
        } else {
            i++;       /* another escape, "\\\\" among them */
        }
    }
    if (from == 0)
        return s;
    sp_buf_append(&b, s + from, *len - from);
    *len = b.len;
    return b.data;
}

/* POSTs json to the endpoint and parses the 2xx answer into *root. A
 * base URL ending in "/" is joined to the path without doubling it. */
static enum sp_rc
post(struct sp_arena *a, const struct sp_ai_endpoint *ep, size_t answer_max, const char *json,
     struct json_object **root, int *attempts, struct sp_problem *p)
{
    const struct sp_service_limits lim = {true, ep->budget_ms, answer_max};
    struct sp_service_reply reply;
    const char *base = ep->svc.base_url ? ep->svc.base_url : "", *path = ep->path;
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/' && *path == '/')
        path++;
    enum sp_rc rc =
        sp_service_call_with(a, &ep->svc, &lim, "POST", path, json, NULL, &reply, p);
    *attempts = reply.attempts;
    if (rc != SP_OK)
        return rc;
    if (reply.status < 200 || reply.status > 299)
        return unusable(p, ep, sp_arena_sprintf(a, "answered %ld", reply.status));
    struct sp_problem parse;
    sp_problem_init(&parse);
    size_t len = reply.body_len;
    const char *body = lone_surrogates_replaced(a, reply.body, &len);
    *root = sp_json_parse(a, body, len, &parse);
    if (*root == NULL || !json_object_is_type(*root, json_type_object))
        return unusable(p, ep, "sent an unreadable answer");
    return SP_OK;
}

/* A string member as text taken in from outside (core/utf8): a "\u0000"
 * in it is dropped, not the end of the string (an answer lost its rest
 * after one). */
static const char *
member_str(struct sp_arena *a, struct json_object *o, const char *key)
{
    struct json_object *v;
    if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return "";
    return sp_utf8_clean(a, json_object_get_string(v), (size_t)json_object_get_string_len(v),
                         SP_UTF8_TEXT);
}

/* A usage count: an integral JSON number (4321, 1e3, 4321.0), clamped
 * to 0..SP_AI_USAGE_MAX — a server's 99999999999 is its fault, and must
 * not fail the query's log row (an integer column); anything else is 0. */
static long
member_count(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (o == NULL || !json_object_object_get_ex(o, key, &v))
        return 0;
    double d;
    if (json_object_is_type(v, json_type_int)) {
        if (json_object_get_uint64(v) > (uint64_t)SP_AI_USAGE_MAX)
            return json_object_get_int64(v) < 0 ? 0 : SP_AI_USAGE_MAX;
        d = (double)json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_double)) {
        d = json_object_get_double(v);
        if (!isfinite(d) || d != floor(d))
            return 0;
    } else {
        return 0;
    }
    return d <= 0 ? 0 : d >= (double)SP_AI_USAGE_MAX ? SP_AI_USAGE_MAX : (long)d;
}

/* Opens an OpenAI-style request body in b: {"model": ep's model, "<list>": [
 * — the caller writes the list's items, then closes the list and the object.
 * Chat and embedding requests both start so. */
static void
request_begin(struct sp_arena *a, const struct sp_ai_endpoint *ep, const char *list,
              struct sp_buf *b, struct sp_jw *w)
{
    sp_buf_init(b, a, 4096);
    sp_jw_begin_object(w, b);
    sp_jw_kstr(w, "model", ep->model);
    sp_jw_karray(w, list);
}

/* --- chat ------------------------------------------------------------------ */

static void
write_message(struct sp_jw *w, const struct sp_ai_message *m)
{
    sp_jw_object(w);
    sp_jw_kstr(w, "role", m->role);
    sp_jw_kstr(w, "content", m->content);
    if (m->tool_calls_json != NULL)
        sp_jw_kraw(w, "tool_calls", m->tool_calls_json);
    if (m->tool_call_id != NULL)
        sp_jw_kstr(w, "tool_call_id", m->tool_call_id);
    sp_jw_end(w);
}

static const char *
chat_request(struct sp_arena *a, const struct sp_ai_endpoint *ep,
             const struct sp_ai_message *msgs, size_t n, const char *tools_json,
             const char *tool_choice, long max_tokens)
{
    struct sp_buf b;
    struct sp_jw w;
    request_begin(a, ep, "messages", &b, &w);
    for (size_t i = 0; i < n; i++)
        write_message(&w, &msgs[i]);
    sp_jw_end(&w);
    if (tools_json != NULL)
        sp_jw_kraw(&w, "tools", tools_json);
    if (tools_json != NULL && tool_choice != NULL)
        sp_jw_kstr(&w, "tool_choice", tool_choice);
    if (max_tokens > 0)
        sp_jw_kint(&w, "max_tokens", max_tokens);
    sp_jw_kfixed(&w, "temperature", 0.2, 1);
    sp_jw_kbool(&w, "stream", false);
    sp_jw_end(&w);
    return b.data;
}

/* A call's arguments as JSON text: OpenAI sends a string holding it;
 * some servers send the object itself, which is read as written. */
static const char *
arguments_text(struct sp_arena *a, struct json_object *fn)
{
    struct json_object *v;
    if (json_object_object_get_ex(fn, "arguments", &v) &&
        json_object_is_type(v, json_type_object))
        return sp_arena_strdup(a, sp_json_compact(v, NULL));
    return member_str(a, fn, "arguments");
}

/* The function calls of a message: those with a name (others are not
 * ours to answer), at most SP_AI_TOOL_CALLS_MAX; tool_calls_json is the
 * array of those kept, to be sent back with one answer each. */
static void
read_tool_calls(struct sp_arena *a, struct json_object *msg, struct sp_ai_chat_reply *out)
{
    struct json_object *calls;
    if (!json_object_object_get_ex(msg, "tool_calls", &calls) ||
        !json_object_is_type(calls, json_type_array) || json_object_array_length(calls) == 0)
        return;
    size_t n = json_object_array_length(calls);
    out->tool_calls = sp_arena_calloc(a, SP_AI_TOOL_CALLS_MAX, sizeof(*out->tool_calls));
    struct json_object *kept = json_object_new_array();
    for (size_t i = 0; i < n && out->ntool_calls < SP_AI_TOOL_CALLS_MAX; i++) {
        struct json_object *c = json_object_array_get_idx(calls, i), *fn;
        if (!json_object_is_type(c, json_type_object) ||
            !json_object_object_get_ex(c, "function", &fn) || *member_str(a, fn, "name") == '\0')
            continue;
        out->tool_calls[out->ntool_calls++] = (struct sp_ai_tool_call){
            member_str(a, c, "id"), member_str(a, fn, "name"), arguments_text(a, fn)};
        json_object_array_add(kept, json_object_get(c));
    }
    if (out->ntool_calls > 0)
        out->tool_calls_json = sp_arena_strdup(a, sp_json_compact(kept, NULL));
    json_object_put(kept);
}

enum sp_rc
sp_ai_chat(struct sp_arena *a, const struct sp_ai_endpoint *ep, const struct sp_ai_message *msgs,
           size_t n, const char *tools_json, const char *tool_choice, long max_tokens,
           struct sp_ai_chat_reply *out, struct sp_problem *p)
{
    memset(out, 0, sizeof(*out));
    out->content = out->finish_reason = out->model = "";
    struct json_object *root, *choices, *msg, *usage = NULL;
    const char *json = chat_request(a, ep, msgs, n, tools_json, tool_choice, max_tokens);
    if (post(a, ep, CHAT_ANSWER_MAX, json, &root, &out->attempts, p) != SP_OK)
        return p->rc;
    if (!json_object_object_get_ex(root, "choices", &choices) ||
        !json_object_is_type(choices, json_type_array) ||
        json_object_array_length(choices) == 0 ||
        !json_object_object_get_ex(json_object_array_get_idx(choices, 0), "message", &msg) ||
        !json_object_is_type(msg, json_type_object))
        return unusable(p, ep, "sent an answer without a message");
    out->content = member_str(a, msg, "content");
    out->finish_reason = member_str(a, json_object_array_get_idx(choices, 0), "finish_reason");
    out->model = member_str(a, root, "model");
    json_object_object_get_ex(root, "usage", &usage);
    out->prompt_tokens = member_count(usage, "prompt_tokens");
    out->completion_tokens = member_count(usage, "completion_tokens");
    read_tool_calls(a, msg, out);
    return SP_OK;
}

/* --- embeddings --------------------------------------------------------------- */

static const char *
embed_request(struct sp_arena *a, const struct sp_ai_endpoint *ep, const char *const *texts,
              size_t n)
{
    struct sp_buf b;
    struct sp_jw w;
    request_begin(a, ep, "input", &b, &w);
    for (size_t i = 0; i < n; i++)
        sp_jw_str(&w, texts[i]);
    sp_jw_end(&w);
    sp_jw_kstr(&w, "encoding_format", "float");
    sp_jw_end(&w);
    return b.data;
}

/* One item's vector into a new arena array; *dim is set by the first. */
static bool
read_vector(struct sp_arena *a, struct json_object *item, size_t *dim, float **out)
{
    struct json_object *e;
    if (!json_object_object_get_ex(item, "embedding", &e) ||
        !json_object_is_type(e, json_type_array))
        return false;
    size_t d = json_object_array_length(e);
    if (d == 0 || d > SP_EMBED_DIM_MAX || (*dim != 0 && d != *dim))
        return false;
    float *v = sp_arena_alloc(a, d * sizeof(float));
    for (size_t i = 0; i < d; i++) {
        struct json_object *x = json_object_array_get_idx(e, i);
        if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
            return false;
        v[i] = (float)json_object_get_double(x);
    }
    sp_embed_normalize(v, d);
    *dim = d;
    *out = v;
    return true;
}

/* One request of n texts; their vectors into out[0..n). */
static enum sp_rc
embed_batch(struct sp_arena *a, const struct sp_ai_endpoint *ep, const char *const *texts,
            size_t n, float **out, size_t *dim, struct sp_problem *p)
{
    struct json_object *root, *data;
    int attempts;
    if (post(a, ep, EMBED_ANSWER_MAX, embed_request(a, ep, texts, n), &root, &attempts, p) !=
        SP_OK)
        return p->rc;
    if (!json_object_object_get_ex(root, "data", &data) ||
        !json_object_is_type(data, json_type_array) || json_object_array_length(data) != n)
        return unusable(p, ep, "sent another number of vectors than texts");
    memset(out, 0, n * sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(data, i), *ix;
        size_t at = i;
        if (json_object_object_get_ex(item, "index", &ix) && json_object_is_type(ix, json_type_int))
            at = (size_t)json_object_get_int64(ix);
        if (at >= n || out[at] != NULL || !read_vector(a, item, dim, &out[at]))
            return unusable(p, ep, "sent an unreadable vector");
    }
    return SP_OK;
}

enum sp_rc
sp_ai_embeddings(struct sp_arena *a, const struct sp_ai_endpoint *ep, const char *const *texts,
                 size_t n, size_t batch, float **out, size_t *dim, struct sp_problem *p)
{
    *dim = 0;
    if (batch == 0)
        batch = 1;
    for (size_t i = 0; i < n; i += batch) {
        size_t k = n - i < batch ? n - i : batch;
        if (embed_batch(a, ep, texts + i, k, out + i, dim, p) != SP_OK)
            return p->rc;
    }
    return SP_OK;
}
