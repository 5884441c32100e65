/*
 * json_writer: the one way JSON is written — response bodies, chat frames,
 * ticket events and outbox payloads. A streaming writer over an sp_buf:
 * it places the commas and colons, escapes every key and string
 * (sp_buf_json_str: quotes, backslashes, control characters; invalid
 * UTF-8 becomes U+FFFD), and closes what it opened. (Not for JSON inside
 * an HTML <script>: that also needs "</" escaped.) Values that are JSON already (a
 * jsonb column, a rendered sub-document) go in with sp_jw_raw().
 * Reading JSON is core/json.h.
 * Must not: know HTTP, SQL or the domain.
 */
#ifndef SP_JSON_WRITER_H
#define SP_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define SP_JW_DEPTH 16

struct sp_jw {
    struct sp_buf *b;
    int depth;
    bool first[SP_JW_DEPTH];    /* no member/element written yet at this depth */
    char close[SP_JW_DEPTH];    /* '}' or ']' */
    bool after_key;             /* the next value completes a member */
};

void sp_jw_init(struct sp_jw *w, struct sp_buf *b);
/* sp_jw_init() and the document's opening { (most documents are one). */
void sp_jw_begin_object(struct sp_jw *w, struct sp_buf *b);
/* sp_jw_init() and the opening [ of a document that is a list. */
void sp_jw_begin_array(struct sp_jw *w, struct sp_buf *b);

/* Values: an element of the enclosing array, the value after sp_jw_key(),
 * or the document itself. */
void sp_jw_object(struct sp_jw *w);               /* { ... sp_jw_end() */
void sp_jw_array(struct sp_jw *w);                /* [ ... sp_jw_end() */
void sp_jw_end(struct sp_jw *w);
void sp_jw_str(struct sp_jw *w, const char *s);   /* NULL writes null */
void sp_jw_strn(struct sp_jw *w, const char *s, size_t n);
void sp_jw_int(struct sp_jw *w, long long v);
void sp_jw_fixed(struct sp_jw *w, double v, int decimals);   /* e.g. 12.5 */
void sp_jw_bool(struct sp_jw *w, bool v);
void sp_jw_null(struct sp_jw *w);
void sp_jw_raw(struct sp_jw *w, const char *json); /* NULL writes null */

/* A member's name; its value follows. */
void sp_jw_key(struct sp_jw *w, const char *name);

/* key + value in one call. */
void sp_jw_kstr(struct sp_jw *w, const char *name, const char *s);
void sp_jw_kint(struct sp_jw *w, const char *name, long long v);
void sp_jw_kfixed(struct sp_jw *w, const char *name, double v, int decimals);
void sp_jw_kbool(struct sp_jw *w, const char *name, bool v);
void sp_jw_knull(struct sp_jw *w, const char *name);
/* An id or code where 0 means "none": 0 writes null. */
void sp_jw_kint_or_null(struct sp_jw *w, const char *name, long long v);
void sp_jw_kraw(struct sp_jw *w, const char *name, const char *json);
void sp_jw_kobject(struct sp_jw *w, const char *name);
/* Member name: an object when present (true: the caller writes its
 * members, then sp_jw_end), else null (false: nothing more to write). */
bool sp_jw_kobject_or_null(struct sp_jw *w, const char *name, bool present);
void sp_jw_karray(struct sp_jw *w, const char *name);

#endif
