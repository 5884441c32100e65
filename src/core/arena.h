/*
 * arena: per-request memory. Everything a request needs is carved from its
 * arena and released in one sp_arena_reset() after the reply, like nginx's
 * request pool. Foreign resources (PGresult, json_object, pcre2 match data)
 * are registered with sp_arena_defer() so no path, error paths included,
 * can leak them.
 *
 * Allocation failure is not recoverable for a worker: the arena logs and
 * aborts, and the master respawns the worker (as palloc/zmalloc do).
 * Must not: know about HTTP, SQL or anything above core.
 */
#ifndef SP_ARENA_H
#define SP_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct sp_arena_block;
struct sp_arena_defer;

struct sp_arena {
    struct sp_arena_block *head;    /* current block (newest first) */
    struct sp_arena_defer *defers;  /* run in reverse registration order */
    size_t block_size;              /* default size of a fresh block */
    size_t total;                   /* bytes handed out since last reset */
};

void  sp_arena_init(struct sp_arena *a, size_t block_size);
/* Returns memory owned by the arena, aligned for any type; never NULL. */
void *sp_arena_alloc(struct sp_arena *a, size_t n);
void *sp_arena_calloc(struct sp_arena *a, size_t n, size_t size);
/* An arena array of *cap items of size bytes, n of them used, with room
 * for one more: items itself while n < *cap, else a copy in new arena
 * space twice as long (first items when *cap is 0), its unused tail
 * zeroed, and *cap updated. The old space stays until the next reset:
 * the arrays that grow so (parse stacks, token lists) are short-lived. */
void *sp_arena_grow(struct sp_arena *a, void *items, size_t n, size_t *cap, size_t size,
                    size_t first);
char *sp_arena_strdup(struct sp_arena *a, const char *s);
char *sp_arena_strndup(struct sp_arena *a, const char *s, size_t n);
char *sp_arena_sprintf(struct sp_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *sp_arena_vsprintf(struct sp_arena *a, const char *fmt, va_list ap);
/* Runs fn(obj) at the next reset/destroy; later registrations run first. */
void  sp_arena_defer(struct sp_arena *a, void (*fn)(void *), void *obj);
/* Runs defers, keeps the first block for reuse, frees the rest. */
void  sp_arena_reset(struct sp_arena *a);
void  sp_arena_destroy(struct sp_arena *a);

#endif
