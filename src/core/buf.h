/*
 * buf: a growing byte buffer that always knows its length, carved from an
 * arena (grown buffers leave their old copy in the arena until reset, which
 * is cheap for request-sized data). Always NUL-terminated for convenience.
 * Must not: be used for data that outlives its arena.
 */
#ifndef SP_BUF_H
#define SP_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct sp_arena;

struct sp_buf {
    struct sp_arena *arena;
    char *data;
    size_t len;
    size_t cap;
};

void sp_buf_init(struct sp_buf *b, struct sp_arena *a, size_t cap);
void sp_buf_reserve(struct sp_buf *b, size_t extra);
void sp_buf_append(struct sp_buf *b, const void *p, size_t n);
void sp_buf_puts(struct sp_buf *b, const char *s);
void sp_buf_putc(struct sp_buf *b, char c);
void sp_buf_printf(struct sp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. Invalid UTF-8 bytes
 * become U+FFFD so the output is always valid JSON. */
void sp_buf_json_str(struct sp_buf *b, const char *s, size_t n);
void sp_buf_json_cstr(struct sp_buf *b, const char *s); /* NULL -> null */

#endif
