/*
 * router: segment-wise matching of the route table. See router.h.
 */
#include "http/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/hex.h"

/* RFC 3986 §2.3: the characters a percent-encoding may be decoded to
 * without changing what the URI means (§6.2.2.2). */
static bool
unreserved(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

const char *
sp_router_path(struct sp_arena *a, const char *raw, size_t n)
{
    if (memchr(raw, '%', n) == NULL)
        return sp_arena_strndup(a, raw, n);
    char *out = sp_arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = i + 2 < n && raw[i] == '%' ? sp_hex_value((unsigned char)raw[i + 1]) : -1;
        int lo = hi >= 0 ? sp_hex_value((unsigned char)raw[i + 2]) : -1;
        if (lo >= 0 && unreserved(hi * 16 + lo)) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = raw[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Whether path has a "." or ".." segment. nginx resolves those (and
 * %2E-encoded ones) before it picks a location, so such a path is not
 * the one nginx matched: it names nothing here. */
static bool
has_dot_segment(const char *path)
{
    for (const char *seg = path;; seg++) {
        size_t len = strcspn(seg, "/");
        if ((len == 1 || len == 2) && strspn(seg, ".") == len)
            return true;
        seg += len;
        if (*seg == '\0')
            return false;
    }
}

/* Matches path against pattern; captures parameters into params[]. */
static bool
match(const char *pattern, const char *path, struct sp_arena *a, const char **params,
      size_t *nparams)
{
    size_t np = 0;
    const char *pp = pattern, *sp = path;
    while (*pp != '\0' && *sp != '\0') {
        if (*pp != '/' || *sp != '/')
            return false;
        pp++;
        sp++;
        const char *pe = strchr(pp, '/');
        const char *se = strchr(sp, '/');
        size_t plen = pe ? (size_t)(pe - pp) : strlen(pp);
        size_t slen = se ? (size_t)(se - sp) : strlen(sp);
        if (plen > 0 && pp[0] == ':') {
            if (slen == 0 || np >= SP_MAX_PATH_PARAMS)
                return false;
            if (params != NULL)
                params[np] = sp_arena_strndup(a, sp, slen);
            np++;
        } else if (plen != slen || strncmp(pp, sp, plen) != 0) {
            return false;
        }
        pp += plen;
        sp += slen;
    }
    if (*pp != '\0' || *sp != '\0')
        return false;
    *nparams = np;
    return true;
}

/* Appends method to the Allow list; a GET route answers HEAD too (see
 * want in sp_router_match), so GET is listed with HEAD. A list too long
 * for the buffer ends at the last method that fit (*full). */
static void
allow_add(char *allow, size_t allowlen, size_t *used, bool *full, enum sp_method method)
{
    if (*full)
        return;
    int w = snprintf(allow + *used, allowlen - *used, "%s%s%s", *used ? ", " : "",
                     sp_method_name(method), method == SP_GET ? ", HEAD" : "");
    if (w < 0 || (size_t)w >= allowlen - *used) {
        allow[*used] = '\0';
        *full = true;
        return;
    }
    *used += (size_t)w;
}

enum sp_route_result
sp_router_match(const struct sp_route *routes, size_t n, struct sp_req *r,
                const struct sp_route **route, char *allow, size_t allowlen)
{
    bool path_known = false, full = false;
    size_t used = 0;
    unsigned seen = 0;
    allow[0] = '\0';
    enum sp_method want = r->method == SP_HEAD ? SP_GET : r->method;
    if (has_dot_segment(r->path))
        return SP_ROUTE_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        size_t np;
        if (routes[i].method == want) {
            if (match(routes[i].pattern, r->path, r->arena, r->params, &np)) {
                r->nparams = np;
                *route = &routes[i];
                return SP_ROUTE_FOUND;
            }
        } else if (match(routes[i].pattern, r->path, r->arena, NULL, &np)) {
            path_known = true;
            unsigned bit = 1u << routes[i].method;
            if (!(seen & bit)) {
                seen |= bit;
                allow_add(allow, allowlen, &used, &full, routes[i].method);
            }
        }
    }
    return path_known ? SP_ROUTE_BAD_METHOD : SP_ROUTE_NOT_FOUND;
}
