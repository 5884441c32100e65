/*
 * arena: bump allocator with a block list and a defer list. See arena.h.
 */
#include "core/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SP_ARENA_ALIGN 16

struct sp_arena_block {
    struct sp_arena_block *next;
    size_t size;  /* usable bytes in data[] */
    size_t used;
    _Alignas(SP_ARENA_ALIGN) unsigned char data[];
};

struct sp_arena_defer {
    struct sp_arena_defer *next;
    void (*fn)(void *);
    void *obj;
};

static void
sp_arena_oom(size_t n)
{
    /* Not recoverable in a worker: the master respawns us. */
    fprintf(stderr, "{\"level\":\"fatal\",\"event\":\"arena_oom\",\"bytes\":%zu}\n", n);
    abort();
}

void
sp_arena_init(struct sp_arena *a, size_t block_size)
{
    memset(a, 0, sizeof(*a));
    a->block_size = block_size ? block_size : 16384;
}

static struct sp_arena_block *
sp_arena_block_new(size_t size)
{
    struct sp_arena_block *b = malloc(sizeof(*b) + size);
    if (b == NULL)
        sp_arena_oom(size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void *
sp_arena_alloc(struct sp_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - SP_ARENA_ALIGN)
        sp_arena_oom(n);
    n = (n + SP_ARENA_ALIGN - 1) & ~(size_t)(SP_ARENA_ALIGN - 1);

    struct sp_arena_block *b = a->head;
    if (b == NULL || b->size - b->used < n) {
        size_t size = n > a->block_size ? n : a->block_size;
        struct sp_arena_block *nb = sp_arena_block_new(size);
        if (b != NULL && n > a->block_size) {
            /* Oversized: slot it behind the current block so the current
             * block's free space stays usable for small allocations. */
            nb->next = b->next;
            b->next = nb;
            nb->used = n;
            a->total += n;
            return nb->data;
        }
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    return p;
}

void *
sp_arena_calloc(struct sp_arena *a, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        sp_arena_oom(SIZE_MAX);
    void *p = sp_arena_alloc(a, n * size);
    memset(p, 0, n * size);
    return p;
}

void *
sp_arena_grow(struct sp_arena *a, void *items, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return items;
    if (*cap > SIZE_MAX / 2)
        sp_arena_oom(SIZE_MAX);
    size_t grown = *cap > 0 ? *cap * 2 : first;
    void *v = sp_arena_calloc(a, grown, size);
    if (n > 0)
        memcpy(v, items, n * size);
    *cap = grown;
    return v;
}

char *
sp_arena_strndup(struct sp_arena *a, const char *s, size_t n)
{
    char *p = sp_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
sp_arena_strdup(struct sp_arena *a, const char *s)
{
    return sp_arena_strndup(a, s, strlen(s));
}

char *
sp_arena_vsprintf(struct sp_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        sp_arena_oom(0);
    char *p = sp_arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *
sp_arena_sprintf(struct sp_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = sp_arena_vsprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

void
sp_arena_defer(struct sp_arena *a, void (*fn)(void *), void *obj)
{
    struct sp_arena_defer *d = sp_arena_alloc(a, sizeof(*d));
    d->fn = fn;
    d->obj = obj;
    d->next = a->defers;
    a->defers = d;
}

static void
sp_arena_run_defers(struct sp_arena *a)
{
    /* A deferred function may itself allocate or defer: loop until empty. */
    while (a->defers != NULL) {
        struct sp_arena_defer *d = a->defers;
        a->defers = d->next;
        d->fn(d->obj);
    }
}

void
sp_arena_reset(struct sp_arena *a)
{
    sp_arena_run_defers(a);
    /* Keep the oldest standard block (the list runs newest first) so a
     * steady request load allocates nothing after warm-up. */
    struct sp_arena_block *keep = NULL;
    for (struct sp_arena_block *b = a->head; b != NULL; b = b->next)
        if (b->size == a->block_size)
            keep = b;
    struct sp_arena_block *b = a->head;
    while (b != NULL) {
        struct sp_arena_block *next = b->next;
        if (b != keep)
            free(b);
        b = next;
    }
    if (keep != NULL) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
    a->total = 0;
}

void
sp_arena_destroy(struct sp_arena *a)
{
    sp_arena_run_defers(a);
    struct sp_arena_block *b = a->head;
    while (b != NULL) {
        struct sp_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}
