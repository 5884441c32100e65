/*
 * rules: the priority rules engine of API.md §5.3 — which active rule, if
 * any, decides a new ticket's priority — plus the save-time check of a
 * rule's PCRE2 pattern (admin API, 422 on a bad one) and a per-worker
 * cache of compiled patterns.
 * Must not: touch SQL or HTTP, log (faults are returned; the caller logs
 * them once), or decide the priority itself. The caller loads the active
 * rules ordered by position and does, in this order:
 *     i = sp_rules_first_match(...);
 *     priority = i >= 0 ? rules[i].priority          (priority_rule = name)
 *              : category default_priority if set    (priority_rule = null)
 *              : normal.
 *
 * Priorities and tiers are plain ints so this module depends on neither
 * domain/sla.h nor http/auth.h: `priority` is enum sp_priority's order
 * (0 low, 1 normal, 2 high, 3 urgent); `tier` is an enum sp_tier value
 * (0 standard, 1 premium, 2 vip) or -1 for "any". The engine returns the
 * index of the rule and never reads `priority`.
 *
 * Patterns: PCRE2 with PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP (so \w, \b
 * and case folding know é/É) | PCRE2_MATCH_INVALID_UTF (a subject that is
 * not valid UTF-8 is searched, not an error) | PCRE2_NEVER_BACKSLASH_C,
 * matched unanchored against subject + "\n" + description. At most
 * SP_RULES_PATTERN_MAX code points. An empty pattern, like NULL, is "no
 * condition". Every match runs under a match limit (SP_RULES_MATCH_LIMIT),
 * a depth limit and a heap limit, JIT-compiled when the platform has a JIT
 * (else the interpreter); hitting a limit counts as "no match" and is
 * reported as a fault, so a catastrophic pattern costs milliseconds, not
 * a worker.
 */
#ifndef SP_RULES_H
#define SP_RULES_H

#include "core/tier.h"

#include <stdbool.h>
#include <stddef.h>

#define SP_RULES_PATTERN_MAX 1000     /* code points; longer is rejected */
#define SP_RULES_CACHE_MAX 256        /* compiled patterns kept per worker */
#define SP_RULES_MATCH_LIMIT 1000000u /* pcre2_set_match_limit */
#define SP_RULES_DEPTH_LIMIT 100000u  /* pcre2_set_depth_limit (interpreter) */
#define SP_RULES_HEAP_LIMIT 16384u    /* KiB, pcre2_set_heap_limit */

struct sp_rule {
    long long id;
    int version; /* changes whenever the rule is edited */
    const char *name;
    long long category_id; /* 0 = any */
    int tier;              /* -1 = any, else an enum sp_tier value */
    const char *pattern;   /* NULL or "" = none */
    bool has_sentiment_below;
    double sentiment_below; /* matches when sentiment < value */
    int priority;           /* 0 low .. 3 urgent; read by the caller only */
};

struct sp_rule_input {
    long long category_id;   /* 0 = none */
    enum sp_tier tier;
    const char *subject;     /* NULL is "" */
    const char *description; /* NULL is ""; plain text, not the stored HTML */
    double sentiment;        /* sp_sentiment_score(), -1..1 */
};

/* At save time: true when pattern compiles with the options above and is
 * at most SP_RULES_PATTERN_MAX code points. Otherwise false with PCRE2's
 * message and offset (or the length / NULL complaint) in err, truncated to
 * errlen; err may be NULL. "" is valid (no condition). */
bool sp_rules_pattern_valid(const char *pattern, char *err, size_t errlen);

/* Per-worker cache of compiled patterns keyed by (rule id, version); the
 * pattern text is compared too, so an edit without a version bump is never
 * matched with the stale program. An entry is compiled on first use and
 * recompiled when the version changes; when SP_RULES_CACHE_MAX entries are
 * held, the least recently used one is evicted. A failed compile is cached
 * as well (it fails again until the rule changes). Not thread-safe: one per
 * worker process. */
struct sp_rules_cache;

/* NULL when memory or PCRE2 contexts cannot be had (start-up failure). */
struct sp_rules_cache *sp_rules_cache_new(void);
void sp_rules_cache_free(struct sp_rules_cache *c); /* NULL is fine */
/* Compilations attempted since creation (for tests and stats). */
unsigned long sp_rules_cache_compiles(const struct sp_rules_cache *c);
/* Entries held now, at most SP_RULES_CACHE_MAX. */
size_t sp_rules_cache_size(const struct sp_rules_cache *c);

enum sp_rules_fault_kind {
    SP_RULES_FAULT_NONE = 0,
    SP_RULES_FAULT_COMPILE, /* pattern failed to compile (was it validated?) */
    SP_RULES_FAULT_LIMIT,   /* match, depth, heap or JIT stack limit hit */
    SP_RULES_FAULT_MATCH,   /* any other pcre2_match error, or no memory */
};

/* What went wrong while matching, for the caller's one log line. The
 * message never contains the ticket's text. */
struct sp_rules_fault {
    enum sp_rules_fault_kind kind; /* of the first fault */
    long long rule_id;             /* of the first fault */
    int rule_version;
    unsigned count;    /* rules that faulted in this call */
    char message[160]; /* PCRE2's text (+ offset for compile) */
};

/* Index of the first rule (rules[] is active rules by position) whose set
 * conditions all match in, or -1. Conditions: category_id (if != 0), tier
 * (if != -1), sentiment < sentiment_below (if has_sentiment_below; NaN
 * never matches), pattern (if non-empty). The pattern is tried last, so
 * rules failing a cheaper condition cost no regex. A rule whose pattern
 * faults does not match and the search goes on; *fault (may be NULL) is
 * reset on entry and describes the first fault. c must not be NULL.
 * Memory: the joined subject and the match data live in the cache and are
 * reused; a call allocates only to compile a new rule or to hold a subject
 * larger than before (a buffer over 64 KiB is released on return). */
int sp_rules_first_match(struct sp_rules_cache *c, const struct sp_rule *rules, size_t n,
                         const struct sp_rule_input *in, struct sp_rules_fault *fault);

#endif
