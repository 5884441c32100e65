/*
 * uri: RFC 3986 percent-encoding of a URI component — a path segment
 * we put into a service's URL (a booking id), a SigV4 canonical path or
 * query part. One encoder, so every URL we build escapes the same way.
 * Must not: parse URLs (core/url_guard checks where they point).
 */
#ifndef SP_URI_H
#define SP_URI_H

#include <stdbool.h>
#include <stddef.h>

struct sp_arena;

/* n bytes of s with the unreserved characters (A-Z a-z 0-9 - . _ ~)
 * kept, '/' kept when keep_slash (a path) and encoded otherwise (a
 * segment, a query name or value), every other byte %XX (uppercase hex,
 * as SigV4 requires). Arena-owned. */
char *sp_uri_encode(struct sp_arena *a, const char *s, size_t n, bool keep_slash);

#endif
