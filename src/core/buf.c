/*
 * buf: arena-backed growing buffer and the one JSON string escaper.
 */
#include "core/buf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/hex.h"
#include "core/utf8.h"

void
sp_buf_init(struct sp_buf *b, struct sp_arena *a, size_t cap)
{
    b->arena = a;
    b->cap = cap ? cap : 256;
    b->data = sp_arena_alloc(a, b->cap);
    b->data[0] = '\0';
    b->len = 0;
}

void
sp_buf_reserve(struct sp_buf *b, size_t extra)
{
    if (b->cap - b->len > extra)
        return;
    size_t cap = b->cap * 2;
    while (cap - b->len <= extra)
        cap *= 2;
    char *d = sp_arena_alloc(b->arena, cap);
    memcpy(d, b->data, b->len + 1);
    b->data = d;
    b->cap = cap;
}

void
sp_buf_append(struct sp_buf *b, const void *p, size_t n)
{
    sp_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
sp_buf_puts(struct sp_buf *b, const char *s)
{
    sp_buf_append(b, s, strlen(s));
}

void
sp_buf_putc(struct sp_buf *b, char c)
{
    sp_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void
sp_buf_printf(struct sp_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n > 0) {
        sp_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
    }
    va_end(ap);
}

/* Do the 8 bytes at s need no escaping (printable ASCII other than '"'
 * and '\\')? The classic "has a zero byte" test, (v - 0x01…) & ~v & 0x80…,
 * on x, on x XOR each special byte and, for "below 0x20", on x - 0x20…;
 * it can answer "no" for a plain word (a borrow from a lower byte), never
 * "yes" for a word that needs escaping, and a "no" only sends the word
 * through the byte loop. */
static inline bool
plain_word(const char *s)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t x;
    memcpy(&x, s, sizeof(x));
    uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\'), del = x ^ (ones * 0x7f);
    uint64_t hit = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((bs - ones) & ~bs)
                   | ((del - ones) & ~del) | x;
    return (hit & high) == 0;
}

/* Copies runs of bytes that need no escaping in one append: most text
 * is such a run (bench/run: per-byte appends were ~6 % of a ticket GET),
 * and finds their end a word at a time (bench/queue: the byte loop was
 * ~10 % of the worker's CPU for a queue page). */
void
sp_buf_json_str(struct sp_buf *b, const char *s, size_t n)
{
    sp_buf_reserve(b, n + 2);
    sp_buf_putc(b, '"');
    size_t i = 0, run = 0;
    while (i < n) {
        if (n - i >= 8 && plain_word(s + i)) {
            i += 8;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t len = sp_utf8_seq_len(s + i, n - i);
            if (len > 0) {
                i += len;
                continue;
            }
        }
        sp_buf_append(b, s + run, i - run);
        switch (c) {
        case '"':  sp_buf_puts(b, "\\\""); break;
        case '\\': sp_buf_puts(b, "\\\\"); break;
        case '\n': sp_buf_puts(b, "\\n"); break;
        case '\r': sp_buf_puts(b, "\\r"); break;
        case '\t': sp_buf_puts(b, "\\t"); break;
        default:
            if (c >= 0x80) {
                sp_buf_puts(b, "\\ufffd");  /* a byte of no valid UTF-8 sequence */
            } else {
                char esc[6] = {'\\', 'u', '0', '0', sp_hex_lower[c >> 4], sp_hex_lower[c & 15]};
                sp_buf_append(b, esc, sizeof(esc));
            }
        }
        i++;
        run = i;
    }
    sp_buf_append(b, s + run, i - run);
    sp_buf_putc(b, '"');
}

void
sp_buf_json_cstr(struct sp_buf *b, const char *s)
{
    if (s == NULL)
        sp_buf_puts(b, "null");
    else
        sp_buf_json_str(b, s, strlen(s));
}
