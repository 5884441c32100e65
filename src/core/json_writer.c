/*
 * json_writer: see json_writer.h.
 */
#include "core/json_writer.h"

#include <stdlib.h>

void
sp_jw_init(struct sp_jw *w, struct sp_buf *b)
{
    w->b = b;
    w->depth = 0;
    w->first[0] = true;
    w->close[0] = '\0';
    w->after_key = false;
}

void
sp_jw_begin_object(struct sp_jw *w, struct sp_buf *b)
{
    sp_jw_init(w, b);
    sp_jw_object(w);
}

void
sp_jw_begin_array(struct sp_jw *w, struct sp_buf *b)
{
    sp_jw_init(w, b);
    sp_jw_array(w);
}

/* Before any value: the comma between elements (members get theirs in
 * sp_jw_key). */
static void
value_begins(struct sp_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0 && !w->first[w->depth])
        sp_buf_putc(w->b, ',');
    w->first[w->depth] = false;
}

static void
open(struct sp_jw *w, char c, char closer)
{
    value_begins(w);
    if (w->depth + 1 >= SP_JW_DEPTH)
        abort();   /* our documents are shallow: a bug, not input */
    sp_buf_putc(w->b, c);
    w->depth++;
    w->first[w->depth] = true;
    w->close[w->depth] = closer;
}

void
sp_jw_object(struct sp_jw *w)
{
    open(w, '{', '}');
}

void
sp_jw_array(struct sp_jw *w)
{
    open(w, '[', ']');
}

void
sp_jw_end(struct sp_jw *w)
{
    if (w->depth == 0)
        abort();
    sp_buf_putc(w->b, w->close[w->depth]);
    w->depth--;
}

void
sp_jw_key(struct sp_jw *w, const char *name)
{
    if (!w->first[w->depth])
        sp_buf_putc(w->b, ',');
    w->first[w->depth] = false;
    sp_buf_json_cstr(w->b, name);
    sp_buf_putc(w->b, ':');
    w->after_key = true;
}

void
sp_jw_str(struct sp_jw *w, const char *s)
{
    value_begins(w);
    sp_buf_json_cstr(w->b, s);
}

void
sp_jw_strn(struct sp_jw *w, const char *s, size_t n)
{
    value_begins(w);
    sp_buf_json_str(w->b, s, n);
}

void
sp_jw_int(struct sp_jw *w, long long v)
{
    value_begins(w);
    sp_buf_printf(w->b, "%lld", v);
}

void
sp_jw_fixed(struct sp_jw *w, double v, int decimals)
{
    value_begins(w);
    /* JSON has no NaN or infinity. */
    sp_buf_printf(w->b, "%.*f", decimals, v == v && v - v == 0 ? v : 0.0);
}

void
sp_jw_bool(struct sp_jw *w, bool v)
{
    value_begins(w);
    sp_buf_puts(w->b, v ? "true" : "false");
}

void
sp_jw_null(struct sp_jw *w)
{
    value_begins(w);
    sp_buf_puts(w->b, "null");
}

void
sp_jw_raw(struct sp_jw *w, const char *json)
{
    value_begins(w);
    sp_buf_puts(w->b, json != NULL ? json : "null");
}

void
sp_jw_kstr(struct sp_jw *w, const char *name, const char *s)
{
    sp_jw_key(w, name);
    sp_jw_str(w, s);
}

void
sp_jw_kint(struct sp_jw *w, const char *name, long long v)
{
    sp_jw_key(w, name);
    sp_jw_int(w, v);
}

void
sp_jw_kfixed(struct sp_jw *w, const char *name, double v, int decimals)
{
    sp_jw_key(w, name);
    sp_jw_fixed(w, v, decimals);
}

void
sp_jw_kbool(struct sp_jw *w, const char *name, bool v)
{
    sp_jw_key(w, name);
    sp_jw_bool(w, v);
}

void
sp_jw_knull(struct sp_jw *w, const char *name)
{
    sp_jw_key(w, name);
    sp_jw_null(w);
}

void
sp_jw_kint_or_null(struct sp_jw *w, const char *name, long long v)
{
    sp_jw_key(w, name);
    if (v != 0)
        sp_jw_int(w, v);
    else
        sp_jw_null(w);
}

void
sp_jw_kraw(struct sp_jw *w, const char *name, const char *json)
{
    sp_jw_key(w, name);
    sp_jw_raw(w, json);
}

void
sp_jw_kobject(struct sp_jw *w, const char *name)
{
    sp_jw_key(w, name);
    sp_jw_object(w);
}

bool
sp_jw_kobject_or_null(struct sp_jw *w, const char *name, bool present)
{
    if (present)
        sp_jw_kobject(w, name);
    else
        sp_jw_knull(w, name);
    return present;
}

void
sp_jw_karray(struct sp_jw *w, const char *name)
{
    sp_jw_key(w, name);
    sp_jw_array(w);
}
