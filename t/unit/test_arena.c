/*
 * test_arena: the per-request arena (src/core/arena.c). Memory is aligned
 * for any type, survives until reset however it was carved (small, or
 * larger than a block), and foreign resources registered with
 * sp_arena_defer() are released in reverse order on reset and on destroy.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "unit.h"

static struct sp_arena arena;

static void
setup(void)
{
    sp_arena_init(&arena, 1024);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

/* A log of deferred calls, in the order they ran. */
struct trace {
    int calls[16];
    int n;
};

struct traced {
    struct trace *t;
    int id;
};

static void
record(void *obj)
{
    struct traced *o = obj;
    ck_assert_int_lt(o->t->n, 16);
    o->t->calls[o->t->n++] = o->id;
}

START_TEST(allocations_are_16_byte_aligned)
{
    static const size_t sizes[] = {1, 3, 7, 15, 16, 17, 31, 100, 1023, 1024, 1025, 5000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *p = sp_arena_alloc(&arena, sizes[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg((uintptr_t)p % 16 == 0, "size %zu gave %p", sizes[i], p);
        memset(p, 0xab, sizes[i]);
    }
    ck_assert_msg((uintptr_t)sp_arena_alloc(&arena, 0) % 16 == 0, "zero-size allocation");
}
END_TEST

START_TEST(consecutive_small_allocations_do_not_overlap)
{
    char *a = sp_arena_alloc(&arena, 5);
    char *b = sp_arena_alloc(&arena, 5);
    ck_assert_ptr_ne(a, b);
    ck_assert_msg(b >= a + 5 || a >= b + 5, "allocations overlap: %p %p", (void *)a, (void *)b);
}
END_TEST

START_TEST(calloc_returns_zeroed_memory)
{
    /* Dirty the block first so zeros cannot come from a fresh malloc. */
    memset(sp_arena_alloc(&arena, 512), 0xff, 512);
    sp_arena_reset(&arena);
    unsigned char *p = sp_arena_calloc(&arena, 64, 8);
    for (size_t i = 0; i < 512; i++)
        ck_assert_uint_eq(p[i], 0);
}
END_TEST

START_TEST(strdup_copies_the_string)
{
    char src[] = "hello, arena";
    char *copy = sp_arena_strdup(&arena, src);
    ck_assert_ptr_ne(copy, src);
    src[0] = 'J';
    ck_assert_str_eq(copy, "hello, arena");
}
END_TEST

START_TEST(strndup_stops_at_n_and_terminates)
{
    char *s = sp_arena_strndup(&arena, "abcdef", 3);
    ck_assert_str_eq(s, "abc");
    ck_assert_uint_eq(strlen(s), 3);
    /* n counts bytes, not up to a NUL: embedded bytes are copied as-is. */
    char *e = sp_arena_strndup(&arena, "", 0);
    ck_assert_str_eq(e, "");
}
END_TEST

START_TEST(sprintf_formats_into_the_arena)
{
    char *s = sp_arena_sprintf(&arena, "%s-%d-%05.1f-%zu", "x", -42, 3.14159, (size_t)7);
    ck_assert_str_eq(s, "x--42-003.1-7");
}
END_TEST

START_TEST(sprintf_longer_than_a_block_is_complete)
{
    char big[3000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char *s = sp_arena_sprintf(&arena, "<%s>", big);
    ck_assert_uint_eq(strlen(s), sizeof(big) + 1);
    ck_assert_int_eq(s[0], '<');
    ck_assert_int_eq(s[sizeof(big)], '>');
    ck_assert_int_eq(s[1500], 'q');
}
END_TEST

START_TEST(many_small_and_oversized_allocations_keep_their_contents)
{
    enum { N = 2000 };
    static unsigned char *ptrs[N];
    static size_t lens[N];
    for (size_t i = 0; i < N; i++) {
        /* Mostly small, every 37th larger than the block size. */
        lens[i] = i % 37 == 0 ? 1024 + 1 + i * 3 : 1 + i % 61;
        ptrs[i] = sp_arena_alloc(&arena, lens[i]);
        memset(ptrs[i], (int)(i & 0xff), lens[i]);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < lens[i]; j++)
            ck_assert_msg(ptrs[i][j] == (unsigned char)(i & 0xff),
                          "allocation %zu (len %zu) clobbered at byte %zu", i, lens[i], j);
}
END_TEST

START_TEST(oversized_allocation_leaves_current_block_usable)
{
    char *small1 = sp_arena_strdup(&arena, "before");
    char *big = sp_arena_alloc(&arena, 10000);
    memset(big, 'B', 10000);
    char *small2 = sp_arena_strdup(&arena, "after");
    ck_assert_str_eq(small1, "before");
    ck_assert_str_eq(small2, "after");
    for (size_t i = 0; i < 10000; i++)
        ck_assert_int_eq(big[i], 'B');
    /* The small ones share the first block: they sit close together. */
    ck_assert_msg(small2 > small1 && small2 - small1 < 1024,
                  "small allocation did not reuse the current block");
}
END_TEST

START_TEST(defers_run_in_reverse_order_on_reset)
{
    struct trace t = {{0}, 0};
    struct traced o[3] = {{&t, 1}, {&t, 2}, {&t, 3}};
    for (int i = 0; i < 3; i++)
        sp_arena_defer(&arena, record, &o[i]);
    ck_assert_int_eq(t.n, 0);
    sp_arena_reset(&arena);
    ck_assert_int_eq(t.n, 3);
    ck_assert_int_eq(t.calls[0], 3);
    ck_assert_int_eq(t.calls[1], 2);
    ck_assert_int_eq(t.calls[2], 1);
    /* They ran once: a second reset does not run them again. */
    sp_arena_reset(&arena);
    ck_assert_int_eq(t.n, 3);
}
END_TEST

START_TEST(defers_run_in_reverse_order_on_destroy)
{
    struct sp_arena a;
    sp_arena_init(&a, 256);
    struct trace t = {{0}, 0};
    struct traced o[4] = {{&t, 10}, {&t, 20}, {&t, 30}, {&t, 40}};
    for (int i = 0; i < 4; i++) {
        sp_arena_defer(&a, record, &o[i]);
        sp_arena_alloc(&a, 300); /* spread the defer records over blocks */
    }
    sp_arena_destroy(&a);
    ck_assert_int_eq(t.n, 4);
    ck_assert_int_eq(t.calls[0], 40);
    ck_assert_int_eq(t.calls[1], 30);
    ck_assert_int_eq(t.calls[2], 20);
    ck_assert_int_eq(t.calls[3], 10);
}
END_TEST

struct chain {
    struct sp_arena *a;
    struct trace *t;
    struct traced second;
};

static void
defer_another(void *obj)
{
    struct chain *c = obj;
    c->t->calls[c->t->n++] = 1;
    sp_arena_defer(c->a, record, &c->second);
}

START_TEST(defer_registered_during_a_defer_runs_on_reset)
{
    struct trace t = {{0}, 0};
    struct chain c = {&arena, &t, {&t, 2}};
    sp_arena_defer(&arena, defer_another, &c);
    sp_arena_reset(&arena);
    ck_assert_int_eq(t.n, 2);
    ck_assert_int_eq(t.calls[0], 1);
    ck_assert_int_eq(t.calls[1], 2);
}
END_TEST

START_TEST(defer_registered_during_a_defer_runs_on_destroy)
{
    struct sp_arena a;
    sp_arena_init(&a, 512);
    struct trace t = {{0}, 0};
    struct chain c = {&a, &t, {&t, 2}};
    sp_arena_defer(&a, defer_another, &c);
    sp_arena_destroy(&a);
    ck_assert_int_eq(t.n, 2);
    ck_assert_int_eq(t.calls[1], 2);
}
END_TEST

START_TEST(defers_release_heap_objects_so_nothing_leaks)
{
    /* Under ASan/LSan a missed defer is a leak report. */
    for (int i = 0; i < 10; i++)
        sp_arena_defer(&arena, free, malloc(100));
    sp_arena_reset(&arena);
    sp_arena_defer(&arena, free, malloc(100));
}
END_TEST

START_TEST(memory_is_reusable_after_reset)
{
    for (int round = 0; round < 50; round++) {
        char *s = sp_arena_sprintf(&arena, "round %d", round);
        char *big = sp_arena_alloc(&arena, 4096);
        memset(big, round, 4096);
        char *small = sp_arena_strdup(&arena, "tail");
        ck_assert_str_eq(s, sp_arena_sprintf(&arena, "round %d", round));
        ck_assert_str_eq(small, "tail");
        ck_assert_int_eq(big[4095], (char)round);
        ck_assert_uint_gt(arena.total, 4096);
        sp_arena_reset(&arena);
        ck_assert_uint_eq(arena.total, 0);
    }
}
END_TEST

START_TEST(reset_keeps_the_first_block_for_the_next_request)
{
    char *first = sp_arena_alloc(&arena, 16);
    sp_arena_alloc(&arena, 1000); /* forces a second standard block */
    sp_arena_alloc(&arena, 1000); /* and a third */
    sp_arena_reset(&arena);
    ck_assert_msg(arena.head != NULL, "reset freed every block");
    char *again = sp_arena_alloc(&arena, 16);
    ck_assert_ptr_eq(again, first);
}
END_TEST

START_TEST(reset_keeps_the_first_block_after_an_oversized_allocation)
{
    /* arena.h: reset "keeps the first block for reuse". An oversized block
     * slotted behind a lone first block must not cost the next request a
     * fresh malloc. */
    char *first = sp_arena_alloc(&arena, 16);
    sp_arena_alloc(&arena, 2000); /* larger than the 1024-byte block */
    sp_arena_reset(&arena);
    ck_assert_msg(arena.head != NULL, "reset freed every block");
    char *again = sp_arena_alloc(&arena, 16);
    ck_assert_ptr_eq(again, first);
}
END_TEST

START_TEST(reset_of_an_arena_that_started_oversized_still_works)
{
    struct sp_arena a;
    sp_arena_init(&a, 128);
    char *big = sp_arena_alloc(&a, 1000);
    memset(big, 1, 1000);
    sp_arena_reset(&a);
    char *s = sp_arena_strdup(&a, "fresh");
    ck_assert_str_eq(s, "fresh");
    sp_arena_destroy(&a);
}
END_TEST

START_TEST(destroyed_arena_can_be_used_again)
{
    struct sp_arena a;
    sp_arena_init(&a, 64);
    sp_arena_strdup(&a, "one");
    sp_arena_destroy(&a);
    ck_assert_ptr_null(a.head);
    char *s = sp_arena_strdup(&a, "two");
    ck_assert_str_eq(s, "two");
    sp_arena_destroy(&a);
}
END_TEST

START_TEST(zero_block_size_picks_a_default)
{
    struct sp_arena a;
    sp_arena_init(&a, 0);
    ck_assert_uint_gt(a.block_size, 0);
    ck_assert_str_eq(sp_arena_strdup(&a, "ok"), "ok");
    sp_arena_destroy(&a);
}
END_TEST

/* An array grown one push at a time keeps every item, doubles from the
 * first capacity, and hands back the same array while it has room. */
START_TEST(grow_keeps_items_and_doubles)
{
    long *v = NULL;
    size_t n = 0, cap = 0;
    for (long i = 0; i < 100; i++) {
        long *before = v;
        size_t had = cap;
        v = sp_arena_grow(&arena, v, n, &cap, sizeof(*v), 4);
        if (n < had)
            ck_assert_ptr_eq(v, before);
        v[n++] = i * 7;
    }
    ck_assert_uint_eq(cap, 128);
    for (long i = 0; i < 100; i++)
        ck_assert_int_eq(v[i], i * 7);
}
END_TEST

START_TEST(grow_zeroes_the_new_tail)
{
    int *v = sp_arena_grow(&arena, NULL, 0, &(size_t){0}, sizeof(int), 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(v[i], 0);
    size_t cap = 2;
    int two[2] = {5, 6};
    v = sp_arena_grow(&arena, two, 2, &cap, sizeof(int), 8);
    ck_assert_uint_eq(cap, 4);
    ck_assert_int_eq(v[0], 5);
    ck_assert_int_eq(v[1], 6);
    ck_assert_int_eq(v[2], 0);
    ck_assert_int_eq(v[3], 0);
}
END_TEST

static Suite *
arena_suite(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, allocations_are_16_byte_aligned);
    tcase_add_test(tc, consecutive_small_allocations_do_not_overlap);
    tcase_add_test(tc, calloc_returns_zeroed_memory);
    tcase_add_test(tc, strdup_copies_the_string);
    tcase_add_test(tc, strndup_stops_at_n_and_terminates);
    tcase_add_test(tc, sprintf_formats_into_the_arena);
    tcase_add_test(tc, sprintf_longer_than_a_block_is_complete);
    tcase_add_test(tc, many_small_and_oversized_allocations_keep_their_contents);
    tcase_add_test(tc, oversized_allocation_leaves_current_block_usable);
    tcase_add_test(tc, defers_run_in_reverse_order_on_reset);
    tcase_add_test(tc, defers_run_in_reverse_order_on_destroy);
    tcase_add_test(tc, defer_registered_during_a_defer_runs_on_reset);
    tcase_add_test(tc, defer_registered_during_a_defer_runs_on_destroy);
    tcase_add_test(tc, defers_release_heap_objects_so_nothing_leaks);
    tcase_add_test(tc, memory_is_reusable_after_reset);
    tcase_add_test(tc, reset_keeps_the_first_block_for_the_next_request);
    tcase_add_test(tc, reset_keeps_the_first_block_after_an_oversized_allocation);
    tcase_add_test(tc, reset_of_an_arena_that_started_oversized_still_works);
    tcase_add_test(tc, destroyed_arena_can_be_used_again);
    tcase_add_test(tc, zero_block_size_picks_a_default);
    tcase_add_test(tc, grow_keeps_items_and_doubles);
    tcase_add_test(tc, grow_zeroes_the_new_tail);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(arena_suite());
}
