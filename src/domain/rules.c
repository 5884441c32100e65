/*
 * rules: the priority rules engine of API.md §5.3 and its per-worker cache
 * of compiled PCRE2 patterns. See rules.h for the contract.
 * Must not: log, touch SQL or HTTP, or let one rule's pattern hang or
 * crash the worker (limits on every match, faults returned).
 */
#include "domain/rules.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PCRE2_MATCH_INVALID_UTF /* before 10.34: bad subjects are match errors */
#define PCRE2_MATCH_INVALID_UTF 0
#endif

#define COMPILE_OPTIONS                                                                            \
    (PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C)
#define SUBJECT_KEEP (64 * 1024) /* bigger subject buffers are freed after the call */
#define JIT_STACK_MIN (32 * 1024)
#define JIT_STACK_MAX (512 * 1024)

struct entry {
    long long id;
    int version;
    char *pattern;           /* own copy: guards against edits without a version bump */
    pcre2_code *code;        /* NULL when the pattern failed to compile */
    char error[128];         /* then, PCRE2's message */
    unsigned long long used; /* tick of the last lookup */
};

struct sp_rules_cache {
    struct entry entries[SP_RULES_CACHE_MAX];
    size_t n;
    unsigned long long tick;
    unsigned long compiles;
    pcre2_match_context *mctx; /* the limits; the JIT stack when there is one */
    pcre2_jit_stack *jit_stack;
    pcre2_match_data *md; /* one pair: we only ask "does it match" */
    char *subject;        /* subject "\n" description of the current call */
    size_t subject_cap;
};

/* Formats PCRE2's message for a compile error. */
static void
compile_error(int code, size_t offset, char *err, size_t errlen)
{
    PCRE2_UCHAR msg[120];
    if (err == NULL || errlen == 0)
        return;
    if (pcre2_get_error_message(code, msg, sizeof(msg)) == PCRE2_ERROR_BADDATA)
        snprintf((char *)msg, sizeof(msg), "PCRE2 error %d", code);
    snprintf(err, errlen, "%s at offset %zu", (const char *)msg, offset);
}

/* Rejects a pattern over SP_RULES_PATTERN_MAX code points without reading
 * more than 4 bytes per allowed code point. */
static bool
too_long(const char *pattern)
{
    size_t bytes = strnlen(pattern, (size_t)SP_RULES_PATTERN_MAX * 4 + 1);
    if (bytes > (size_t)SP_RULES_PATTERN_MAX * 4)
        return true;
    size_t cps = 0;
    for (size_t i = 0; i < bytes; i++)
        if (((unsigned char)pattern[i] & 0xc0) != 0x80)
            cps++;
    return cps > SP_RULES_PATTERN_MAX;
}

static pcre2_code *
compile(const char *pattern, char *err, size_t errlen)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, COMPILE_OPTIONS,
                                   &code, &offset, NULL);
    if (re == NULL)
        compile_error(code, (size_t)offset, err, errlen);
    return re;
}

bool
sp_rules_pattern_valid(const char *pattern, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (pattern == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "pattern is missing");
        return false;
    }
    if (too_long(pattern)) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "pattern is longer than %d characters", SP_RULES_PATTERN_MAX);
        return false;
    }
    pcre2_code *re = compile(pattern, err, errlen);
    pcre2_code_free(re);
    return re != NULL;
}

struct sp_rules_cache *
sp_rules_cache_new(void)
{
    struct sp_rules_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->mctx = pcre2_match_context_create(NULL);
    c->md = pcre2_match_data_create(1, NULL);
    if (c->mctx == NULL || c->md == NULL) {
        sp_rules_cache_free(c);
        return NULL;
    }
    pcre2_set_match_limit(c->mctx, SP_RULES_MATCH_LIMIT);
    pcre2_set_depth_limit(c->mctx, SP_RULES_DEPTH_LIMIT);
    pcre2_set_heap_limit(c->mctx, SP_RULES_HEAP_LIMIT);
    uint32_t jit = 0;
    if (pcre2_config(PCRE2_CONFIG_JIT, &jit) >= 0 && jit) {
        /* Without it JIT uses 32 KiB of machine stack; failing to get one
         * only makes deep patterns hit the limit sooner. */
        c->jit_stack = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
        if (c->jit_stack != NULL)
            pcre2_jit_stack_assign(c->mctx, NULL, c->jit_stack);
    }
    return c;
}

static void
entry_clear(struct entry *e)
{
    pcre2_code_free(e->code);
    free(e->pattern);
    memset(e, 0, sizeof(*e));
}

void
sp_rules_cache_free(struct sp_rules_cache *c)
{
    if (c == NULL)
        return;
    for (size_t k = 0; k < c->n; k++)
        entry_clear(&c->entries[k]);
    pcre2_match_data_free(c->md);
    pcre2_jit_stack_free(c->jit_stack);
    pcre2_match_context_free(c->mctx);
    free(c->subject);
    free(c);
}

unsigned long
sp_rules_cache_compiles(const struct sp_rules_cache *c)
{
    return c->compiles;
}

size_t
sp_rules_cache_size(const struct sp_rules_cache *c)
{
    return c->n;
}

static void fault_add(struct sp_rules_fault *f, enum sp_rules_fault_kind kind,
                      const struct sp_rule *r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
fault_add(struct sp_rules_fault *f, enum sp_rules_fault_kind kind, const struct sp_rule *r,
          const char *fmt, ...)
{
    if (f == NULL)
        return;
    if (f->count++ > 0)
        return;
    f->kind = kind;
    f->rule_id = r->id;
    f->rule_version = r->version;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
}

/* The slot for a new entry: a free one, else the least recently used. */
static struct entry *
free_slot(struct sp_rules_cache *c)
{
    if (c->n < SP_RULES_CACHE_MAX)
        return &c->entries[c->n++];
    struct entry *lru = &c->entries[0];
    for (size_t k = 1; k < c->n; k++)
        if (c->entries[k].used < lru->used)
            lru = &c->entries[k];
    entry_clear(lru);
    return lru;
}

static void
drop(struct sp_rules_cache *c, struct entry *e)
{
    entry_clear(e);
    struct entry *last = &c->entries[--c->n];
    if (e != last) {
        *e = *last;
        memset(last, 0, sizeof(*last));
    }
}

/* The compiled entry of r, compiling it when missing or stale; NULL only
 * when out of memory. */
static struct entry *
lookup(struct sp_rules_cache *c, const struct sp_rule *r)
{
    struct entry *e = NULL;
    for (size_t k = 0; k < c->n && e == NULL; k++)
        if (c->entries[k].id == r->id)
            e = &c->entries[k];
    if (e != NULL && e->version == r->version && strcmp(e->pattern, r->pattern) == 0) {
        e->used = ++c->tick;
        return e;
    }
    if (e != NULL)
        entry_clear(e); /* one entry per rule: the old version goes */
    else
        e = free_slot(c);
    e->id = r->id;
    e->version = r->version;
    e->used = ++c->tick;
    e->pattern = strdup(r->pattern);
    if (e->pattern == NULL) {
        drop(c, e);
        return NULL;
    }
    c->compiles++;
    if (too_long(r->pattern)) {
        snprintf(e->error, sizeof(e->error), "pattern is longer than %d characters",
                 SP_RULES_PATTERN_MAX);
        return e;
    }
    e->code = compile(r->pattern, e->error, sizeof(e->error));
    if (e->code != NULL)
        (void)pcre2_jit_compile(e->code, PCRE2_JIT_COMPLETE); /* else: interpreter */
    return e;
}

/* Fills c->subject with subject "\n" description; false when out of memory. */
static bool
build_subject(struct sp_rules_cache *c, const struct sp_rule_input *in, size_t *len)
{
    const char *s = in->subject ? in->subject : "";
    const char *d = in->description ? in->description : "";
    size_t sl = strlen(s), dl = strlen(d);
    if (sl > SIZE_MAX - 2 - dl)
        return false;
    size_t need = sl + dl + 2;
    if (need > c->subject_cap) {
        char *p = realloc(c->subject, need);
        if (p == NULL)
            return false;
        c->subject = p;
        c->subject_cap = need;
    }
    memcpy(c->subject, s, sl);
    c->subject[sl] = '\n';
    memcpy(c->subject + sl + 1, d, dl);
    c->subject[sl + 1 + dl] = '\0';
    *len = sl + 1 + dl;
    return true;
}

/* 1 match, 0 no match or fault (recorded). */
static int
pattern_matches(struct sp_rules_cache *c, const struct sp_rule *r, const char *subject, size_t len,
                struct sp_rules_fault *f)
{
    struct entry *e = lookup(c, r);
    if (e == NULL) {
        fault_add(f, SP_RULES_FAULT_MATCH, r, "out of memory caching the pattern");
        return 0;
    }
    if (e->code == NULL) {
        fault_add(f, SP_RULES_FAULT_COMPILE, r, "%s", e->error);
        return 0;
    }
    int rc = pcre2_match(e->code, (PCRE2_SPTR)subject, len, 0, 0, c->md, c->mctx);
    if (rc >= 0)
        return 1; /* 0 means "ovector too small": still a match */
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    PCRE2_UCHAR msg[120];
    if (pcre2_get_error_message(rc, msg, sizeof(msg)) == PCRE2_ERROR_BADDATA)
        snprintf((char *)msg, sizeof(msg), "PCRE2 error %d", rc);
    bool limit = rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
                 rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
    fault_add(f, limit ? SP_RULES_FAULT_LIMIT : SP_RULES_FAULT_MATCH, r, "%s", (const char *)msg);
    return 0;
}

static bool
plain_conditions_match(const struct sp_rule *r, const struct sp_rule_input *in)
{
    if (r->category_id != 0 && r->category_id != in->category_id)
        return false;
    if (r->tier != -1 && r->tier != (int)in->tier)
        return false;
    if (r->has_sentiment_below && !(in->sentiment < r->sentiment_below))
        return false; /* written so that NaN never matches */
    return true;
}

int
sp_rules_first_match(struct sp_rules_cache *c, const struct sp_rule *rules, size_t n,
                     const struct sp_rule_input *in, struct sp_rules_fault *fault)
{
    if (fault != NULL)
        memset(fault, 0, sizeof(*fault));
    if (n > INT_MAX)
        n = INT_MAX;
    int found = -1;
    size_t len = 0;
    bool built = false;
    for (size_t i = 0; i < n && found < 0; i++) {
        const struct sp_rule *r = &rules[i];
        if (!plain_conditions_match(r, in))
            continue;
        if (r->pattern != NULL && r->pattern[0] != '\0') {
            if (!built && !build_subject(c, in, &len)) {
                fault_add(fault, SP_RULES_FAULT_MATCH, r, "out of memory building the subject");
                continue;
            }
            built = true;
            if (!pattern_matches(c, r, c->subject, len, fault))
                continue;
        }
        found = (int)i;
    }
    if (c->subject_cap > SUBJECT_KEEP) {
        free(c->subject);
        c->subject = NULL;
        c->subject_cap = 0;
    }
    return found;
}
