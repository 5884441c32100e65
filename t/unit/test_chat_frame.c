/*
 * test_chat_frame: the client frame contract of docs/chat-transport.md
 * §1.4 as parsed by src/api/chat_frame.c - which frames pass, and the
 * exact error code and detail of every refusal (clients show them).
 * Pure: no request, database or bus.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "api/chat_frame.h"
#include "core/arena.h"
#include "unit.h"

static struct sp_arena arena;
static struct sp_chat_frame f;

static void
setup(void)
{
    sp_arena_init(&arena, 4096);
}

static void
teardown(void)
{
    sp_arena_destroy(&arena);
}

static enum sp_rc
parse(const char *s)
{
    return sp_chat_frame_parse(&arena, s, strlen(s), &f);
}

static void
assert_refused(const char *frame, enum sp_chat_frame_type type, const char *code,
               const char *detail)
{
    ck_assert_int_eq(parse(frame), SP_INVALID);
    ck_assert_int_eq(f.type, type);
    ck_assert_str_eq(f.code, code);
    ck_assert_str_eq(f.detail, detail);
}

START_TEST(message_frame_is_sanitized)
{
    ck_assert_int_eq(parse("{\"type\":\"message\",\"body\":\"<b>hi</b><script>x</script>\","
                           "\"client_id\":\"c-1\"}"), SP_OK);
    ck_assert_int_eq(f.type, SP_CHAT_FRAME_MESSAGE);
    ck_assert_str_eq(f.body, "<b>hi</b>");
    ck_assert_uint_eq(f.body_len, 9);
    ck_assert_str_eq(f.client_id, "c-1");
    ck_assert_ptr_null(f.code);
}
END_TEST

START_TEST(message_client_id_is_optional_and_nullable)
{
    ck_assert_int_eq(parse("{\"type\":\"message\",\"body\":\"hi\"}"), SP_OK);
    ck_assert_ptr_null(f.client_id);
    ck_assert_int_eq(parse("{\"type\":\"message\",\"body\":\"hi\",\"client_id\":null}"), SP_OK);
    ck_assert_ptr_null(f.client_id);
}
END_TEST

START_TEST(message_refusals_say_why)
{
    assert_refused("{\"type\":\"message\"}", SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "body must be a string");
    assert_refused("{\"type\":\"message\",\"body\":5}", SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "body must be a string");
    assert_refused("{\"type\":\"message\",\"body\":\"\"}", SP_CHAT_FRAME_MESSAGE,
                   "invalid_frame", "body must have 1 to 4000 characters");
    assert_refused("{\"type\":\"message\",\"body\":\"hi\",\"client_id\":\"\"}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "client_id must be a string of 1 to 64 characters");
    assert_refused("{\"type\":\"message\",\"body\":\"hi\",\"client_id\":7}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "client_id must be a string of 1 to 64 characters");
    assert_refused("{\"type\":\"message\",\"body\":\"<script>alert(1)</script> \"}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "body has no text once unsafe markup is removed");
    /* blanks had no markup to remove: the detail says so (QA) */
    assert_refused("{\"type\":\"message\",\"body\":\"   \\u00a0\"}", SP_CHAT_FRAME_MESSAGE,
                   "invalid_frame", "body has no visible text");
}
END_TEST

START_TEST(message_body_limit_counts_characters)
{
    /* 4000 two-byte characters pass; one more does not. */
    char buf[9000];
    size_t o = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"message\",\"body\":\"");
    for (int i = 0; i < 4000; i++) {
        buf[o++] = (char)0xc3;
        buf[o++] = (char)0xa9;
    }
    memcpy(buf + o, "\"}", 3);
    ck_assert_int_eq(parse(buf), SP_OK);
    memmove(buf + o + 2, buf + o, 3);
    buf[o] = (char)0xc3;
    buf[o + 1] = (char)0xa9;
    /* QA: this was invalid_frame; API.md §7 and the HTTP send say too_long */
    assert_refused(buf, SP_CHAT_FRAME_MESSAGE, "too_long", "body is longer than 4000 characters");
}
END_TEST

/* The cap is on the sanitized body: 1000 '<' escape to exactly 4000
 * characters and pass, 1001 do not (and nothing would be stored). */
START_TEST(message_body_that_grows_past_the_limit_when_escaped_is_too_long)
{
    char buf[1200];
    size_t o = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"message\",\"body\":\"");
    memset(buf + o, '<', 1000);
    o += 1000;
    memcpy(buf + o, "\"}", 3);
    ck_assert_int_eq(parse(buf), SP_OK);
    memmove(buf + o + 1, buf + o, 3);
    buf[o] = '<';
    assert_refused(buf, SP_CHAT_FRAME_MESSAGE, "too_long",
                   "body is longer than 4000 characters once sanitized (escaped characters such"
                   " as < and & count as several)");
}
END_TEST

START_TEST(client_id_limit_is_64)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "{\"type\":\"message\",\"body\":\"x\",\"client_id\":\"%064d\"}", 0);
    ck_assert_int_eq(parse(buf), SP_OK);
    ck_assert_uint_eq(strlen(f.client_id), 64);
    snprintf(buf, sizeof(buf), "{\"type\":\"message\",\"body\":\"x\",\"client_id\":\"%065d\"}", 0);
    assert_refused(buf, SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "client_id must be a string of 1 to 64 characters");
}
END_TEST

/* Found by t/fuzz/fuzz_chat_frame: a client_id is stored as text (and is
 * the message's idempotency key): "\u0000..." became "" and raw invalid
 * UTF-8 reached PostgreSQL, which refuses it. */
START_TEST(client_id_must_be_text)
{
    assert_refused("{\"type\":\"message\",\"body\":\"x\",\"client_id\":\"\\u0000abc\"}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "client_id must be a string of 1 to 64 characters");
    assert_refused("{\"type\":\"message\",\"body\":\"x\",\"client_id\":\"ab\\u0000\"}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "client_id must be a string of 1 to 64 characters");
    /* Raw invalid UTF-8 is no JSON text at all (as an HTTP body). */
    assert_refused("{\"type\":\"message\",\"body\":\"x\",\"client_id\":\"a\xff\"}",
                   SP_CHAT_FRAME_INVALID, "invalid_frame", "a frame is one JSON object");
    ck_assert_int_eq(parse("{\"type\":\"message\",\"body\":\"x\",\"client_id\":\"caf\u00e9\"}"),
                     SP_OK);
    ck_assert_str_eq(f.client_id, "caf\xc3\xa9");
}
END_TEST

START_TEST(message_attachments_are_up_to_ten_ids)
{
    ck_assert_int_eq(parse("{\"type\":\"message\",\"body\":\"hi\"}"), SP_OK);
    ck_assert_uint_eq(f.nattachments, 0);
    ck_assert_int_eq(parse("{\"type\":\"message\",\"body\":\"hi\",\"attachments\":null}"),
                     SP_OK);
    ck_assert_uint_eq(f.nattachments, 0);
    ck_assert_int_eq(parse("{\"type\":\"message\",\"body\":\"hi\","
                           "\"attachments\":[\"A1B2C3D4E5F6\",\"ZZZZ\"]}"), SP_OK);
    ck_assert_uint_eq(f.nattachments, 2);
    ck_assert_str_eq(f.attachments[0], "A1B2C3D4E5F6");
    ck_assert_str_eq(f.attachments[1], "ZZZZ");
    char eleven[256] = "{\"type\":\"message\",\"body\":\"hi\",\"attachments\":[";
    for (int i = 0; i < 11; i++)
        strcat(eleven, i ? ",\"A\"" : "\"A\"");
    strcat(eleven, "]}");
    assert_refused(eleven, SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "attachments must be an array of at most 10 ids");
    assert_refused("{\"type\":\"message\",\"body\":\"hi\",\"attachments\":\"A1B2\"}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "attachments must be an array of at most 10 ids");
    const char *not_ids[] = {"[42]", "[\"\"]", "[null]", "[\"a\\u0000b\"]"};
    for (size_t i = 0; i < sizeof(not_ids) / sizeof(not_ids[0]); i++) {
        char frame[128];
        snprintf(frame, sizeof(frame),
                 "{\"type\":\"message\",\"body\":\"hi\",\"attachments\":%s}", not_ids[i]);
        assert_refused(frame, SP_CHAT_FRAME_MESSAGE, "unknown_attachment",
                       "attachments lists something that is not an attachment id");
    }
}
END_TEST

/* A refused body or client_id names its member, and the attachments are
 * still read when well-formed: the transport looks them up for the same
 * error frame (API.md §1, §7). A refused list names itself. */
START_TEST(a_refused_member_is_named_and_the_attachments_still_read)
{
    assert_refused("{\"type\":\"message\",\"body\":\"<script>x</script>\","
                   "\"attachments\":[\"a1b2c3d4e5f6\"]}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "body has no text once unsafe markup is removed");
    ck_assert_str_eq(f.field, "body");
    ck_assert_uint_eq(f.nattachments, 1);
    ck_assert_str_eq(f.attachments[0], "A1B2C3D4E5F6");
    assert_refused("{\"type\":\"message\",\"body\":5,\"attachments\":[\"A1B2C3D4E5F6\"]}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame", "body must be a string");
    ck_assert_str_eq(f.field, "body");
    ck_assert_uint_eq(f.nattachments, 1);
    assert_refused("{\"type\":\"message\",\"body\":\"hi\",\"client_id\":5,"
                   "\"attachments\":[\"A1B2C3D4E5F6\",\"ZZZZ\"]}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame",
                   "client_id must be a string of 1 to 64 characters");
    ck_assert_str_eq(f.field, "client_id");
    ck_assert_uint_eq(f.nattachments, 2);
    assert_refused("{\"type\":\"message\",\"body\":5,\"attachments\":[42]}",
                   SP_CHAT_FRAME_MESSAGE, "invalid_frame", "body must be a string");
    ck_assert_uint_eq(f.nattachments, 0);
    assert_refused("{\"type\":\"message\",\"body\":\"hi\",\"attachments\":[42]}",
                   SP_CHAT_FRAME_MESSAGE, "unknown_attachment",
                   "attachments lists something that is not an attachment id");
    ck_assert_str_eq(f.field, "attachments");
    assert_refused("{\"type\":\"typing\"}", SP_CHAT_FRAME_TYPING, "invalid_frame",
                   "typing state must be true or false");
    ck_assert_ptr_null(f.field);
}
END_TEST

START_TEST(typing_frame_carries_a_boolean)
{
    ck_assert_int_eq(parse("{\"type\":\"typing\",\"state\":true}"), SP_OK);
    ck_assert_int_eq(f.type, SP_CHAT_FRAME_TYPING);
    ck_assert(f.typing);
    ck_assert_int_eq(parse("{\"type\":\"typing\",\"state\":false}"), SP_OK);
    ck_assert(!f.typing);
    assert_refused("{\"type\":\"typing\",\"state\":\"true\"}", SP_CHAT_FRAME_TYPING,
                   "invalid_frame", "typing state must be true or false");
    assert_refused("{\"type\":\"typing\"}", SP_CHAT_FRAME_TYPING, "invalid_frame",
                   "typing state must be true or false");
}
END_TEST

START_TEST(presence_frame_is_online_or_away)
{
    ck_assert_int_eq(parse("{\"type\":\"presence\",\"state\":\"online\"}"), SP_OK);
    ck_assert_int_eq(f.type, SP_CHAT_FRAME_PRESENCE);
    ck_assert_str_eq(f.state, "online");
    ck_assert_int_eq(parse("{\"type\":\"presence\",\"state\":\"away\"}"), SP_OK);
    ck_assert_str_eq(f.state, "away");
    assert_refused("{\"type\":\"presence\",\"state\":\"offline\"}", SP_CHAT_FRAME_PRESENCE,
                   "invalid_frame", "presence state must be online or away");
    assert_refused("{\"type\":\"presence\"}", SP_CHAT_FRAME_PRESENCE, "invalid_frame",
                   "presence state must be online or away");
}
END_TEST

START_TEST(unknown_or_missing_type_is_refused)
{
    assert_refused("{\"type\":\"hello\"}", SP_CHAT_FRAME_OTHER, "invalid_frame",
                   "type must be message, typing or presence");
    assert_refused("{}", SP_CHAT_FRAME_OTHER, "invalid_frame",
                   "type must be message, typing or presence");
    assert_refused("{\"type\":1}", SP_CHAT_FRAME_OTHER, "invalid_frame",
                   "type must be message, typing or presence");
}
END_TEST

START_TEST(anything_but_one_object_is_refused)
{
    const char *bad[] = {"[]", "\"message\"", "42", "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(bad[i], SP_CHAT_FRAME_INVALID, "invalid_frame", "a frame is one JSON object");
    assert_refused("{\"type\":\"typing\"", SP_CHAT_FRAME_INVALID, "invalid_frame",
                   "malformed JSON: unexpected end of data");
    assert_refused("{\"type\":\"typing\",\"state\":true} {}", SP_CHAT_FRAME_INVALID,
                   "invalid_frame", "malformed JSON: unexpected character");
    assert_refused("{}x", SP_CHAT_FRAME_INVALID, "invalid_frame",
                   "malformed JSON: unexpected character");
    /* An empty frame (nchan's GET without a body) says so. */
    assert_refused("", SP_CHAT_FRAME_INVALID, "invalid_frame",
                   "the frame is empty; a frame is one JSON object");
    ck_assert_int_eq(sp_chat_frame_parse(&arena, NULL, 0, &f), SP_INVALID);
    ck_assert_str_eq(f.detail, "the frame is empty; a frame is one JSON object");
}
END_TEST

/* docs/API.md §1 "Malformed input", §7 (the HTTP send has the same effect
 * as a message frame): what the HTTP body reader refuses, a frame is
 * refused for too, and nothing is stored. json-c alone kept the last of
 * two bodies, read NaN and let the sanitizer drop a \u0000 ("ab"). */
START_TEST(frame_is_read_as_strictly_as_an_http_body)
{
    assert_refused("{\"type\":\"message\",\"body\":\"dup\",\"body\":\"dup2\"}",
                   SP_CHAT_FRAME_INVALID, "invalid_frame",
                   "malformed JSON: an object names a member twice");
    assert_refused("{\"type\":\"message\",\"body\":\"dup\",\"b\\u006fdy\":\"dup2\"}",
                   SP_CHAT_FRAME_INVALID, "invalid_frame",
                   "malformed JSON: an object names a member twice");
    assert_refused("{\"type\":\"message\",\"body\":\"n\",\"x\":NaN}", SP_CHAT_FRAME_INVALID,
                   "invalid_frame", "malformed JSON: NaN and Infinity are not JSON numbers");
    assert_refused("{\"type\":\"message\",\"body\":\"n\",\"x\":1.}", SP_CHAT_FRAME_INVALID,
                   "invalid_frame", "malformed JSON: a number has no digit after its '.'");
    assert_refused("{\"type\":\"message\",\"body\":\"a\\u0000b\"}", SP_CHAT_FRAME_MESSAGE,
                   "invalid_frame", "body must not contain \\u0000");
    assert_refused("{\"type\":\"message\",\"body\\u0000x\":\"a\"}", SP_CHAT_FRAME_INVALID,
                   "invalid_frame", "malformed JSON: a member name contains \\u0000");
    /* A NUL in the type or state is not the name it starts with. */
    assert_refused("{\"type\":\"message\\u0000x\",\"body\":\"a\"}", SP_CHAT_FRAME_OTHER,
                   "invalid_frame", "type must be message, typing or presence");
    assert_refused("{\"type\":\"presence\",\"state\":\"away\\u0000\"}", SP_CHAT_FRAME_PRESENCE,
                   "invalid_frame", "presence state must be online or away");
    ck_assert_int_eq(parse("{\"type\":\"message\",\"body\":\"a\\u00e9b\"}"), SP_OK);
    ck_assert_str_eq(f.body, "a\xc3\xa9" "b");
}
END_TEST

START_TEST(frame_over_16k_is_too_large)
{
    static char big[SP_CHAT_FRAME_MAX + 2];
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    assert_refused(big, SP_CHAT_FRAME_INVALID, "frame_too_large",
                   "frames carry at most 16 KiB of JSON");
    big[sizeof(big) - 3] = '}';
    big[sizeof(big) - 2] = '\0';
    ck_assert_int_eq(parse(big), SP_INVALID);
    ck_assert_str_eq(f.code, "invalid_frame");  /* 16384 bytes: parsed */
}
END_TEST

static Suite *
chat_frame_suite(void)
{
    Suite *s = suite_create("chat_frame");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, message_frame_is_sanitized);
    tcase_add_test(tc, message_client_id_is_optional_and_nullable);
    tcase_add_test(tc, message_refusals_say_why);
    tcase_add_test(tc, message_body_limit_counts_characters);
    tcase_add_test(tc, message_body_that_grows_past_the_limit_when_escaped_is_too_long);
    tcase_add_test(tc, client_id_limit_is_64);
    tcase_add_test(tc, client_id_must_be_text);
    tcase_add_test(tc, message_attachments_are_up_to_ten_ids);
    tcase_add_test(tc, a_refused_member_is_named_and_the_attachments_still_read);
    tcase_add_test(tc, typing_frame_carries_a_boolean);
    tcase_add_test(tc, presence_frame_is_online_or_away);
    tcase_add_test(tc, unknown_or_missing_type_is_refused);
    tcase_add_test(tc, anything_but_one_object_is_refused);
    tcase_add_test(tc, frame_over_16k_is_too_large);
    tcase_add_test(tc, frame_is_read_as_strictly_as_an_http_body);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return sp_unit_run(chat_frame_suite());
}
