/*
 * test_services: the client of the marketplace's own services
 * (src/core/service_client.c: booking and payments, API.md §9 tools and
 * §11 booking hooks) against a local JSON service
 * (t/integration/service_fixture.py): the bearer key and Idempotency-Key
 * on the wire, retries of reads and of idempotent writes after 503s, no
 * retry of a write without a key, a timeout, an answer returned as it is,
 * and an unconfigured service.
 */
#include "harness.h"

#include <string.h>

#include "core/arena.h"
#include "core/service_client.h"

static struct sp_arena arena;
static struct sp_t_fixture svc_fixture;
static struct sp_service svc;

static void
start(void)
{
    sp_arena_init(&arena, 8192);
    sp_t_fixture_start(&svc_fixture, "service_fixture.py --timeout 60");
    svc = (struct sp_service){"booking service",
                              sp_t_fmt("http://127.0.0.1:%d", svc_fixture.port), "bk-secret-key",
                              2000};
}

static void
stop(void)
{
    sp_t_fixture_stop(&svc_fixture);
    sp_arena_destroy(&arena);
}

/* The requests the fixture saw, until it is quiet for 300 ms. */
static int
requests_seen(const char *want_key, const char *want_auth)
{
    int n = 0;
    struct json_object *o;
    while ((o = sp_t_fixture_next(&svc_fixture, 300)) != NULL) {
        if (want_key != NULL)
            ck_assert_str_eq(sp_t_jstr(o, "idempotency_key"), want_key);
        if (want_auth != NULL)
            ck_assert_str_eq(sp_t_jstr(o, "authorization"), want_auth);
        json_object_put(o);
        n++;
    }
    return n;
}

START_TEST(read_sends_the_key_and_returns_the_body)
{
    start();
    struct sp_service_reply r;
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(sp_service_call(&arena, &svc, "GET", "/bookings/BK-1", NULL, NULL, &r, &p),
                     SP_OK);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.attempts, 1);
    ck_assert_str_eq(r.body, "{\"path\": \"/bookings/BK-1\", \"method\": \"GET\"}");
    ck_assert_int_eq(requests_seen(NULL, "Bearer bk-secret-key"), 1);
    stop();
}
END_TEST

START_TEST(idempotent_write_is_retried_after_503s_with_the_same_key)
{
    start();
    struct sp_service_reply r;
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(sp_service_call(&arena, &svc, "POST", "/fail-then-ok/2/a", "{\"x\":1}",
                                     "evt_123", &r, &p),
                     SP_OK);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.attempts, 3);
    ck_assert_int_eq(requests_seen("evt_123", "Bearer bk-secret-key"), 3);
    stop();
}
END_TEST

START_TEST(write_without_a_key_is_never_repeated)
{
    start();
    struct sp_service_reply r;
    struct sp_problem p;
    sp_problem_init(&p);
    ck_assert_int_eq(sp_service_call(&arena, &svc, "POST", "/fail-then-ok/1/b", "{}", NULL, &r,
                                     &p),
                     SP_UNAVAILABLE);
    ck_assert_str_eq(p.code, "dependency_unavailable");
    ck_assert_int_eq(r.attempts, 1);
    ck_assert_int_eq(r.status, 503);
    ck_assert_int_eq(requests_seen(NULL, NULL), 1);
    stop();
}
END_TEST

START_TEST(timeouts_and_answers_and_no_configuration)
{
    start();
    struct sp_service_reply r;
    struct sp_problem p;
    sp_problem_init(&p);
    svc.timeout_ms = 300;
    ck_assert_int_eq(sp_service_call(&arena, &svc, "GET", "/slow", NULL, NULL, &r, &p),
                     SP_UNAVAILABLE);
    ck_assert_int_eq(r.attempts, 3);
    ck_assert_int_eq(r.status, 0);
    sp_problem_init(&p);
    svc.timeout_ms = 2000;
    /* A 404 is an answer: returned, not retried. */
    ck_assert_int_eq(sp_service_call(&arena, &svc, "GET", "/status/404", NULL, NULL, &r, &p),
                     SP_OK);
    ck_assert_int_eq(r.status, 404);
    ck_assert_int_eq(r.attempts, 1);
    struct sp_service none = {"payment service", NULL, NULL, 1000};
    sp_problem_init(&p);
    ck_assert_int_eq(sp_service_call(&arena, &none, "GET", "/x", NULL, NULL, &r, &p),
                     SP_UNAVAILABLE);
    ck_assert_msg(strstr(p.detail, "not configured") != NULL, "%s", p.detail);
    stop();
}
END_TEST

static Suite *
services_suite(void)
{
    Suite *s = suite_create("services");
    TCase *tc = sp_t_tcase(s, "client");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, read_sends_the_key_and_returns_the_body);
    tcase_add_test(tc, idempotent_write_is_retried_after_503s_with_the_same_key);
    tcase_add_test(tc, write_without_a_key_is_never_repeated);
    tcase_add_test(tc, timeouts_and_answers_and_no_configuration);
    return s;
}

int
main(void)
{
    return sp_t_run(services_suite());
}
