/*
 * fuzz_query: libFuzzer target for query strings: sp_req_query (find a
 * parameter by its decoded name, percent-decode it into the arena) and
 * sp_req_query_as_written (the name as written). Input: "<name>\n<query>";
 * the query is looked up for that name and for the names the API uses.
 * Differential: every answer must equal a reference decoder's (the first
 * "name=value" or bare "name" wins; '+' is a space; %XX is a byte except
 * %00; a bad escape or a value that is not UTF-8 makes it NULL, yet
 * sp_req_query_raw still finds the name). Round trip: any UTF-8 value,
 * percent-encoded behind a decoy and before a duplicate, decodes back to
 * itself (any other value is NULL). Also sp_query_names_check (against
 * a reference: names decoded the same way, compared without case, more
 * than 32 parameters an answer of their own) and sp_query_read over a
 * table of every parameter type (a value reported present and valid holds its type's bounds; each value is the
 * reference's, matched on names decoded as values are). And sp_row_id_read
 * on the name and every decoded value: an id exactly when the text is
 * 1..18 digits without a leading zero, and then it prints back as the text.
 * Build: scripts/dev fuzz query (replayed by `make check` as t/fuzz/fuzz_query).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ctype.h>

#include "core/arena.h"
#include "core/cursor.h"
#include "core/ids.h"
#include "core/problem.h"
#include "core/utf8.h"
#include "http/http.h"
#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const char *const names[] = {
    "limit", "cursor", "status", "sort", "q", "session_id", "session_token", "access_token",
    "messages_cursor", "",
};

static int
hex(char c)
{
    static const char digits[] = "0123456789abcdef0123456789ABCDEF";
    const char *d = c != '\0' ? strchr(digits, c) : NULL;
    return d ? (int)(d - digits) % 16 : -1;
}

/* Decodes value[0..n); false on a bad escape, %00 or bytes that are not
 * UTF-8. */
static bool
ref_decode(const char *v, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] != '%') {
            out[o++] = v[i] == '+' ? ' ' : v[i];
            continue;
        }
        if (n - i < 3 || hex(v[i + 1]) < 0 || hex(v[i + 2]) < 0)
            return false;
        out[o] = (char)(hex(v[i + 1]) * 16 + hex(v[i + 2]));
        if (out[o++] == '\0')
            return false;
        i += 2;
    }
    out[o] = '\0';
    return sp_utf8_valid(out, o);
}

/* The first piece named exactly name (once decoded when decoded: how
 * sp_query_read matches): its start, length and '=' (NULL for a bare
 * name); false when there is none. */
static bool
ref_piece(const char *query, const char *name, bool decoded, const char **piece, size_t *plen,
          const char **eq)
{
    size_t nlen = strlen(name);
    char key[4096];
    for (const char *q = query; *q != '\0';) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        *eq = memchr(q, '=', len);
        size_t klen = *eq ? (size_t)(*eq - q) : len;
        bool match = klen == nlen && memcmp(q, name, nlen) == 0;
        if (decoded)
            match = klen < sizeof(key) && ref_decode(q, klen, key) && strcmp(key, name) == 0;
        if (match) {
            *piece = q;
            *plen = len;
            return true;
        }
        if (end == NULL)
            break;
        q = end + 1;
    }
    return false;
}

static const char *
ref_query(struct sp_arena *a, const char *query, const char *name, bool decoded)
{
    const char *piece, *eq;
    size_t len;
    if (!ref_piece(query, name, decoded, &piece, &len, &eq))
        return NULL;
    if (eq == NULL)
        return "";
    char *out = sp_arena_alloc(a, len);
    return ref_decode(eq + 1, len - (size_t)(eq - piece) - 1, out) ? out : NULL;
}

static bool
ref_named(const char *query, const char *name)
{
    const char *piece, *eq;
    size_t len;
    return ref_piece(query, name, false, &piece, &len, &eq);
}

/* The reference of sp_query_names_check: every non-empty piece's name,
 * decoded (raw when its escapes are bad), lower-cased. */
static enum sp_query_names
ref_names_check(struct sp_arena *a, const char *query)
{
    const char *seen[33];
    size_t n = 0;
    for (const char *q = query; *q != '\0';) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len > 0) {
            if (n == 32)
                return SP_QUERY_NAMES_TOO_MANY;
            const char *eq = memchr(q, '=', len);
            size_t klen = eq ? (size_t)(eq - q) : len;
            char *name = sp_arena_alloc(a, klen + 1);
            if (!ref_decode(q, klen, name)) {
                memcpy(name, q, klen);
                name[klen] = '\0';
            }
            for (char *c = name; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            for (size_t i = 0; i < n; i++)
                if (strcmp(seen[i], name) == 0)
                    return SP_QUERY_NAMES_REPEATED;
            seen[n++] = name;
        }
        if (end == NULL)
            break;
        q = end + 1;
    }
    return SP_QUERY_NAMES_DISTINCT;
}

/* sp_row_id_read against its rule: [1-9][0-9]{0,17} is an id that
 * prints back as written; anything else is 0. */
static void
check_row_id(const char *s)
{
    if (s == NULL)
        return;
    size_t n = strspn(s, "0123456789");
    bool id = s[n] == '\0' && n >= 1 && n <= 18 && s[0] != '0';
    long long got = sp_row_id_read(s);
    CHECK((got > 0) == id && got >= 0);
    if (id) {
        char back[24];
        snprintf(back, sizeof(back), "%lld", got);
        CHECK(strcmp(back, s) == 0);
    }
}

static const char *const colors[] = {"red", "green", "blue", NULL};

enum { F_INT, F_STR, F_ENUM, F_SET, F_LIST, F_TIME, F_CURSOR, F_COUNT };

static const struct sp_query_spec specs[F_COUNT] = {
    [F_INT] = {"limit", SP_QUERY_INT, 1, 100, 25, NULL, NULL, NULL, NULL, "limit"},
    [F_STR] = {"q", SP_QUERY_STRING, 1, 50, 0, NULL, NULL, "abcdefghij-", NULL, "q"},
    [F_ENUM] = {"sort", SP_QUERY_ENUM, 0, 0, 1, colors, NULL, NULL, NULL, "sort"},
    [F_SET] = {"status", SP_QUERY_SET, 0, 0, 0, colors, NULL, NULL, NULL, "status"},
    [F_LIST] = {"session_id", SP_QUERY_LIST, 1, 8, 0, NULL, NULL, NULL, NULL, "list"},
    [F_TIME] = {"session_token", SP_QUERY_TIMESTAMP, 0, 0, 0, NULL, NULL, NULL, NULL, "t"},
    [F_CURSOR] = {"cursor", SP_QUERY_CURSOR, 0, 0, 0, NULL, NULL, NULL, "t", "cursor"},
};

static void
same(const char *got, const char *want)
{
    CHECK((got == NULL) == (want == NULL));
    CHECK(got == NULL || strcmp(got, want) == 0);
}

/* sp_query_read: a clean read holds every bound; errors name the field;
 * each value is the reference's (an empty one absent), its name decoded
 * as values are. */
static void
check_read(struct sp_req *r)
{
    struct sp_problem p;
    sp_problem_init(&p);
    struct sp_query_value v[F_COUNT];
    enum sp_rc rc = sp_query_read(r, specs, F_COUNT, v, &p);
    for (int k = 0; k < F_COUNT; k++) {
        /* an empty value is the parameter absent (API.md §1) */
        const char *want = ref_query(r->arena, r->query, specs[k].name, true);
        same(v[k].str, want != NULL && *want == '\0' ? NULL : want);
    }
    CHECK((rc == SP_OK) == (p.nerrors == 0));
    bool bad[F_COUNT] = {false};
    for (size_t i = 0; i < p.nerrors; i++) {
        bool known = false;
        for (int k = 0; k < F_COUNT; k++)
            if (strcmp(p.errors[i].field, specs[k].name) == 0)
                known = bad[k] = true;
        CHECK(known);
    }
    /* a refused value is reported, never handed on as present */
    for (int k = 0; k < F_COUNT; k++)
        CHECK(!(bad[k] && v[k].present));
    CHECK(bad[F_INT] || (v[F_INT].i >= 1 && v[F_INT].i <= 100));
    CHECK(bad[F_ENUM] || (v[F_ENUM].i >= 0 && v[F_ENUM].i < 3));
    CHECK(bad[F_SET] || v[F_SET].set < 8);
    if (v[F_STR].present && !bad[F_STR])
        CHECK(strlen(v[F_STR].str) >= 1 && strlen(v[F_STR].str) <= 50 &&
              strspn(v[F_STR].str, "abcdefghij-") == strlen(v[F_STR].str));
    for (size_t i = 0; !bad[F_LIST] && i < v[F_LIST].nitems; i++)
        CHECK(strlen(v[F_LIST].items[i]) >= 1 &&
              sp_utf8_count(v[F_LIST].items[i], strlen(v[F_LIST].items[i])) <= 8 &&
              strchr(v[F_LIST].items[i], ',') == NULL);
    CHECK(bad[F_CURSOR] || v[F_CURSOR].i >= 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool keyed;
    static const unsigned char secret[32] = "fuzz_query's cursor key........";
    if (!keyed)
        CHECK(keyed = sp_cursor_set_key(secret));
    struct sp_arena a;
    sp_arena_init(&a, 4096);
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t nlen = nl ? (size_t)(nl - text) : 0;
    char *name = sp_arena_strndup(&a, text, nlen);
    char *query = sp_arena_strndup(&a, nl ? nl + 1 : text, nl ? size - nlen - 1 : size);

    struct sp_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &a;
    r.query = query;
    r.route = "/support/tickets";
    size_t raw_len;
    /* Our names never hold '=' or '&'; a name that does is not a name. */
    check_row_id(name);
    if (strpbrk(name, "=&") == NULL) {
        same(sp_req_query(&r, name), ref_query(&a, query, name, true));
        same(sp_req_query_as_written(&r, name), ref_query(&a, query, name, false));
        CHECK((sp_req_query_raw(&r, name, false, &raw_len) != NULL) == ref_named(query, name));
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        same(sp_req_query(&r, names[i]), ref_query(&a, query, names[i], true));
        check_row_id(sp_req_query(&r, names[i]));
        same(sp_req_query_as_written(&r, names[i]), ref_query(&a, query, names[i], false));
        CHECK((sp_req_query_raw(&r, names[i], false, &raw_len) != NULL) ==
              ref_named(query, names[i]));
    }
    CHECK(sp_query_names_check(&a, query) == ref_names_check(&a, query));
    check_read(&r);

    /* Round trip: query as a value, encoded, with a decoy and a duplicate. */
    size_t qlen = strlen(query);
    char *enc = sp_arena_alloc(&a, qlen * 3 + 64), *o = enc;
    static const char hexd[] = "0123456789ABCDEF";
    o += sizeof("cursorx=1&cursor=") - 1;
    memcpy(enc, "cursorx=1&cursor=", (size_t)(o - enc));
    for (size_t i = 0; i < qlen; i++) {
        unsigned char c = (unsigned char)query[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~';
        if (plain) {
            *o++ = (char)c;
        } else if (c == ' ' && (i & 1)) {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
        }
    }
    memcpy(o, "&cursor=dup", sizeof("&cursor=dup"));
    r.query = enc;
    same(sp_req_query(&r, "cursor"), sp_utf8_valid(query, qlen) ? query : NULL);
    sp_arena_destroy(&a);
    return 0;
}
