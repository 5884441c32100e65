/*
 * fuzz_router: libFuzzer target for request routing: sp_router_match over
 * the real route tables (support-api's sp_api_routes, support-chat's
 * sp_chat_routes) with an untrusted path. Input: byte 0 = method, byte 1
 * bit 0 = table, the rest = the path (up to its first NUL).
 * Differential: the result must equal that of a reference matcher written
 * differently (split into segments, compare counts), including the first
 * matching route, its parameters and the Allow list of a 405; parameters
 * put back into the pattern must give the path again. The path is read
 * as the worker reads it (sp_router_path: unreserved escapes decoded),
 * which never grows it and changes nothing without a '%'; a "." or ".."
 * segment matches nothing.
 * Build: scripts/dev fuzz router (replayed by `make check` as t/fuzz/fuzz_router).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/chat_transport.h"
#include "core/arena.h"
#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_SEGS 64

/* Splits "/a/b" into "a","b" (empty segments kept); -1 without the
 * leading '/' or with too many segments. */
static int
split(const char *s, const char **seg, size_t *len)
{
    if (s[0] != '/')
        return -1;
    int n = 0;
    const char *p = s + 1;
    for (;;) {
        if (n == MAX_SEGS)
            return -1;
        const char *e = strchr(p, '/');
        seg[n] = p;
        len[n] = e ? (size_t)(e - p) : strlen(p);
        n++;
        if (e == NULL)
            return n;
        p = e + 1;
    }
}

static bool
ref_match(const char *pattern, const char *path, size_t *nparams)
{
    const char *ps[MAX_SEGS], *ss[MAX_SEGS];
    size_t pl[MAX_SEGS], sl[MAX_SEGS];
    int np = split(pattern, ps, pl), ns = split(path, ss, sl);
    if (np < 0 || np != ns)
        return false;
    for (int i = 0; i < ns; i++)
        if (strncmp(ss[i], "..", sl[i]) == 0 && sl[i] > 0 && sl[i] <= 2)
            return false;
    size_t k = 0;
    for (int i = 0; i < np; i++) {
        if (pl[i] > 0 && ps[i][0] == ':') {
            if (sl[i] == 0)
                return false;
            k++;
        } else if (pl[i] != sl[i] || memcmp(ps[i], ss[i], pl[i]) != 0) {
            return false;
        }
    }
    if (k > SP_MAX_PATH_PARAMS)
        return false;
    *nparams = k;
    return true;
}

/* The pattern with its parameters put back. */
static char *
rebuild(struct sp_arena *a, const char *pattern, const char *const *params)
{
    size_t cap = strlen(pattern) + 1, k = 0;
    for (size_t i = 0; i < SP_MAX_PATH_PARAMS && params[i] != NULL; i++)
        cap += strlen(params[i]);
    char *out = sp_arena_alloc(a, cap), *o = out;
    for (const char *p = pattern; *p != '\0';) {
        if (p[0] == ':' && p[-1] == '/') {
            size_t n = strlen(params[k]);
            memcpy(o, params[k++], n);
            o += n;
            while (*p != '\0' && *p != '/')
                p++;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const struct sp_route *routes = data[1] & 1 ? sp_chat_routes : sp_api_routes;
    size_t n = data[1] & 1 ? sp_chat_nroutes : sp_api_nroutes;
    struct sp_arena a;
    sp_arena_init(&a, 1024);
    struct sp_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &a;
    r.method = (enum sp_method)(data[0] % SP_METHOD_MAX);
    const char *raw = sp_arena_strndup(&a, (const char *)data + 2, size - 2);
    r.path = sp_router_path(&a, raw, strlen(raw));
    CHECK(strlen(r.path) <= strlen(raw));
    CHECK(strchr(raw, '%') != NULL || strcmp(r.path, raw) == 0);

    const struct sp_route *route = NULL;
    char allow[128];
    enum sp_route_result m = sp_router_match(routes, n, &r, &route, allow, sizeof(allow));

    /* The reference: the first route of the method, else the Allow list. */
    enum sp_method want = r.method == SP_HEAD ? SP_GET : r.method;
    const struct sp_route *ref = NULL;
    size_t ref_np = 0, np;
    char ref_allow[128] = "";
    unsigned seen = 0;
    for (size_t i = 0; i < n && ref == NULL; i++) {
        if (!ref_match(routes[i].pattern, r.path, &np))
            continue;
        if (routes[i].method == want) {
            ref = &routes[i];
            ref_np = np;
        } else if (!(seen & 1u << routes[i].method)) {
            seen |= 1u << routes[i].method;
            size_t used = strlen(ref_allow);
            snprintf(ref_allow + used, sizeof(ref_allow) - used, "%s%s%s", used ? ", " : "",
                     sp_method_name(routes[i].method),
                     routes[i].method == SP_GET ? ", HEAD" : "");
        }
    }
    if (ref != NULL) {
        CHECK(m == SP_ROUTE_FOUND && route == ref && r.nparams == ref_np);
        const char *params[SP_MAX_PATH_PARAMS + 1] = {NULL};
        for (size_t i = 0; i < r.nparams; i++) {
            CHECK(r.params[i] != NULL && r.params[i][0] != '\0' && !strchr(r.params[i], '/'));
            params[i] = r.params[i];
        }
        CHECK(strcmp(rebuild(&a, route->pattern, params), r.path) == 0);
    } else if (seen != 0) {
        CHECK(m == SP_ROUTE_BAD_METHOD && strcmp(allow, ref_allow) == 0);
    } else {
        CHECK(m == SP_ROUTE_NOT_FOUND && allow[0] == '\0');
    }
    sp_arena_destroy(&a);
    return 0;
}
