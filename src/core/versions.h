/*
 * versions: the versions of one resource a write accepts — what an
 * If-Match names. RFC 9110 §13.1.1: the condition holds when any one of
 * the listed tags is current, so a precondition is a set, not the newest
 * of it (a client may list the ETags it holds of several states).
 * Must not: know HTTP or SQL (the array literal is plain text).
 */
#ifndef SP_VERSIONS_H
#define SP_VERSIONS_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;

struct sp_versions {
    size_t n;               /* 0: any version (no If-Match, or *) */
    const long long *v;     /* n versions, in the caller's arena */
};

#define SP_VERSIONS_ANY ((struct sp_versions){0, NULL})

/* The set of version v alone (v > 0), in a; v 0 is SP_VERSIONS_ANY. */
struct sp_versions sp_versions_one(struct sp_arena *a, long long v);
/* vs with v added (once), in a. */
struct sp_versions sp_versions_add(struct sp_arena *a, struct sp_versions vs, long long v);
/* Whether version satisfies vs (always, for any). */
bool sp_versions_hold(struct sp_versions vs, long long version);
/* vs as a PostgreSQL integer[] literal ("{3,5}") for a `= ANY($n)`
 * parameter, in a; NULL for any. */
const char *sp_versions_param(struct sp_arena *a, struct sp_versions vs);
/* vs for a problem's detail: "3", "3 or 5", in a ("any" for any). */
const char *sp_versions_text(struct sp_arena *a, struct sp_versions vs);

#endif
