/*
 * test_ticket_create: POST /support/tickets (API.md §4) - the 201 answer
 * and its effects, every validation rule of the body, the transport-level
 * refusals (400/413/415) and the sanitizing of the first message; and
 * GET /support/categories, what a ticket's `category` may name.
 * Every test creates its own customer, so nothing depends on order.
 */
#include "harness.h"

#include <ctype.h>
#include <string.h>

#define TICKETS "/support/tickets"

/* A valid body with `extra` (a JSON fragment starting with ',' or "")
 * appended to its members. */
static const char *
body_with(const char *extra)
{
    return sp_t_fmt("{\"subject\":\"Cannot change my booking\","
                    "\"description\":\"The button does nothing.\"%s}", extra);
}

/* POSTs body as a fresh customer. */
static struct sp_t_resp *
create(const char *body)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    return sp_t_post_json(TICKETS, u.token, body);
}

/* POSTs body as a fresh customer and asserts the 422 field error. */
static void
assert_create_invalid(const char *body, const char *field, const char *code)
{
    struct sp_t_resp *r = create(body);
    sp_t_assert_invalid(r, field, code);
    sp_t_resp_free(r);
}

/* POSTs body as a fresh customer, asserts 201 with a valid view. */
static struct sp_t_resp *
create_ok(const char *body)
{
    struct sp_t_resp *r = create(body);
    sp_t_assert_json(r, 201);
    sp_t_assert_ticket_view(r->json);
    return r;
}

START_TEST(create_returns_201_with_location_and_customer_view)
{
    struct sp_t_resp *r = create_ok(body_with(""));
    struct json_object *t = r->json;
    const char *pid = sp_t_jstr(t, "public_id");
    ck_assert_str_eq(sp_t_header(r, "Location"), sp_t_fmt("/support/tickets/%s", pid));
    ck_assert_str_eq(sp_t_jstr(t, "subject"), "Cannot change my booking");
    ck_assert_str_eq(sp_t_jstr(t, "description"), "The button does nothing.");
    ck_assert_str_eq(sp_t_jstr(t, "status"), "open");
    ck_assert_str_eq(sp_t_jstr(t, "priority"), "normal");
    ck_assert_str_eq(sp_t_jstr(t, "source"), "web");
    sp_t_assert_jnull(t, "category");
    sp_t_assert_jnull(t, "provider_id");
    sp_t_assert_jnull(t, "booking_id");
    sp_t_assert_jnull(t, "closed_at");
    ck_assert_int_eq(sp_t_jint(t, "version"), 1);
    sp_t_assert_recent(sp_t_jstr(t, "created_at"));
    sp_t_assert_recent(sp_t_jstr(t, "updated_at"));

    struct json_object *msgs = sp_t_jarr(t, "messages");
    ck_assert_uint_eq(json_object_array_length(msgs), 1);
    struct json_object *m = json_object_array_get_idx(msgs, 0);
    ck_assert_str_eq(sp_t_jstr(m, "sender_type"), "customer");
    ck_assert_str_eq(sp_t_jstr(m, "body"), "The button does nothing.");
    ck_assert_uint_eq(json_object_array_length(sp_t_jarr(m, "attachments")), 0);
    sp_t_assert_recent(sp_t_jstr(m, "created_at"));
    sp_t_resp_free(r);
}
END_TEST

START_TEST(public_ids_differ_between_tickets)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *a = sp_t_ticket_create(&u, "first");
    const char *b = sp_t_ticket_create(&u, "second");
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(create_writes_one_created_event)
{
    struct sp_t_resp *r = create_ok(body_with(""));
    ck_assert_int_eq(sp_t_db_event_count(sp_t_jstr(r->json, "public_id"), "created"), 1);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(active_category_slug_is_accepted)
{
    const char *slug = sp_t_db_category_new(true);
    struct sp_t_resp *r = create_ok(body_with(sp_t_fmt(",\"category\":%s", sp_t_jq(slug))));
    ck_assert_str_eq(sp_t_jstr(r->json, "category"), slug);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(inactive_category_is_422_unknown_category)
{
    const char *slug = sp_t_db_category_new(false);
    assert_create_invalid(body_with(sp_t_fmt(",\"category\":%s", sp_t_jq(slug))), "category",
                          "unknown_category");
}
END_TEST

START_TEST(unknown_category_is_422_unknown_category)
{
    const char *slug = sp_t_unique("no-such-category");
    assert_create_invalid(body_with(sp_t_fmt(",\"category\":%s", sp_t_jq(slug))), "category",
                          "unknown_category");
}
END_TEST

START_TEST(source_email_and_chat_are_accepted)
{
    static const char *const sources[] = {"email", "chat", "web"};
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
        struct sp_t_resp *r = create_ok(body_with(sp_t_fmt(",\"source\":\"%s\"", sources[i])));
        ck_assert_str_eq(sp_t_jstr(r->json, "source"), sources[i]);
        sp_t_resp_free(r);
    }
}
END_TEST

START_TEST(bogus_source_is_422_invalid)
{
    assert_create_invalid(body_with(",\"source\":\"carrier-pigeon\""), "source", "invalid");
}
END_TEST

START_TEST(integer_provider_id_is_accepted)
{
    struct sp_t_resp *r = create_ok(body_with(",\"provider_id\":4242"));
    ck_assert_int_eq(sp_t_jint(r->json, "provider_id"), 4242);
    sp_t_resp_free(r);
}
END_TEST

/* json-c saturates an integer outside int64: it was stored as
 * 9223372036854775807 (QA). Refused, nothing stored. */
START_TEST(provider_id_beyond_int64_is_422_out_of_range)
{
    const char *subject = sp_t_unique("big-provider");
    struct sp_t_resp *r = create(sp_t_fmt("{\"subject\":\"%s\",\"description\":\"ok\","
                                          "\"provider_id\":99999999999999999999999}", subject));
    sp_t_assert_invalid(r, "provider_id", "out_of_range");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the request body has invalid fields");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject = '%s'",
                              subject), "0");
    assert_create_invalid(body_with(",\"provider_id\":9223372036854775808"), "provider_id",
                          "out_of_range");
    struct sp_t_resp *ok = create_ok(body_with(",\"provider_id\":9223372036854775807"));
    ck_assert_str_eq(sp_t_sql("SELECT provider_id FROM support_tickets WHERE public_id = '%s'",
                              sp_t_jstr(ok->json, "public_id")), "9223372036854775807");
    sp_t_resp_free(ok);
}
END_TEST

START_TEST(string_provider_id_is_422_wrong_type)
{
    assert_create_invalid(body_with(",\"provider_id\":\"4242\""), "provider_id", "wrong_type");
}
END_TEST

START_TEST(booking_id_of_64_chars_is_accepted)
{
    const char *id = sp_t_repeat("B", 64);
    struct sp_t_resp *r = create_ok(body_with(sp_t_fmt(",\"booking_id\":\"%s\"", id)));
    ck_assert_str_eq(sp_t_jstr(r->json, "booking_id"), id);
    sp_t_resp_free(r);
}
END_TEST

/* A booking id is one line of visible text, as a subject: shown to
 * agents, sent in webhooks and mails (QA: "a\nb" was stored). The blanks
 * around it go. */
START_TEST(booking_id_is_one_line_of_visible_text)
{
    assert_create_invalid(body_with(",\"booking_id\":\"a\\nb\""), "booking_id", "invalid");
    assert_create_invalid(body_with(",\"booking_id\":\"a\\u202eb\""), "booking_id", "invalid");
    assert_create_invalid(body_with(",\"booking_id\":\" \\u200b \""), "booking_id", "empty");
    struct sp_t_resp *r = create_ok(body_with(",\"booking_id\":\"  BK-1 \""));
    ck_assert_str_eq(sp_t_jstr(r->json, "booking_id"), "BK-1");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(booking_id_of_65_chars_is_422_too_long)
{
    assert_create_invalid(body_with(sp_t_fmt(",\"booking_id\":\"%s\"", sp_t_repeat("B", 65))),
                          "booking_id", "too_long");
}
END_TEST

START_TEST(metadata_object_is_accepted)
{
    struct sp_t_resp *r =
        create_ok(body_with(",\"metadata\":{\"app\":\"ios\",\"build\":1234,\"tags\":[\"a\"]}"));
    sp_t_resp_free(r);
}
END_TEST

/* The messages name the limit (QA: "is too large", "has too many
 * elements"), and one 422 holds both. */
START_TEST(metadata_over_4_kib_is_422_too_large)
{
    struct sp_t_resp *r = create(body_with(
        sp_t_fmt(",\"metadata\":{\"note\":\"%s\"},\"attachments\":[%s\"a\"]",
                 sp_t_repeat("m", 5000), sp_t_repeat("\"a\",", 10))));
    sp_t_assert_invalid(r, "metadata", "too_large");
    sp_t_assert_invalid(r, "attachments", "too_many");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    ck_assert_str_eq(sp_t_invalid_message(r, "metadata"),
                     "must be at most 4096 bytes as compact JSON");
    ck_assert_str_eq(sp_t_invalid_message(r, "attachments"), "must have at most 10 items");
    sp_t_resp_free(r);
}
END_TEST

/* The detail is API.md §1's for every body fault (it said "invalid
 * attachments" for an attachment id that is not the caller's upload). */
START_TEST(unknown_attachment_is_422_with_the_body_detail)
{
    const char *subject = sp_t_unique("unknown-attachment");
    struct sp_t_resp *r = create(sp_t_fmt("{\"subject\":\"%s\",\"description\":\"d\","
                                          "\"attachments\":[\"nosuchattachment\"]}", subject));
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "the request body has invalid fields");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject = '%s'",
                              subject), "0");
}
END_TEST

/* QA: an attachment id that is not a clean upload of the caller's came
 * only once the other fields were fixed (found inside the write); one 422
 * lists it with the shape errors and with the write's own lookups. */
START_TEST(unknown_attachment_is_reported_with_the_field_errors)
{
    const char *subject = sp_t_unique("unknown-attachment-too");
    struct sp_t_resp *r = create(sp_t_fmt("{\"subject\":%s,\"description\":\"d\","
                                          "\"source\":\"fax\","
                                          "\"attachments\":[\"NOSUCHID1234\"]}",
                                          sp_t_jq(subject)));
    sp_t_assert_invalid(r, "source", "invalid");
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    /* the category is the write's lookup when the body is well-formed */
    r = create(sp_t_fmt("{\"subject\":%s,\"description\":\"d\",\"category\":\"nope\","
                        "\"attachments\":[\"nosuchattachment\"]}", sp_t_jq(subject)));
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_assert_invalid(r, "attachments[0]", "unknown_attachment");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject = '%s'",
                              subject), "0");
}
END_TEST

/* QA: "attachments":[5] was 422 unknown_attachment, as if 5 named an
 * upload; an item that is no string is the list's wrong shape, the
 * error every list field gives for it (API.md §1: tags, events). */
START_TEST(attachment_item_that_is_no_string_is_422_wrong_type)
{
    const char *subject = sp_t_unique("numeric-attachment");
    static const char *const items[] = {"5", "\"NOSUCHID1234\",5", "null", "{}", "true"};
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        struct sp_t_resp *r = create(sp_t_fmt("{\"subject\":%s,\"description\":\"d\","
                                              "\"attachments\":[%s]}",
                                              sp_t_jq(subject), items[i]));
        sp_t_assert_invalid(r, "attachments", "wrong_type");
        ck_assert_str_eq(sp_t_invalid_message(r, "attachments"), "must be an array of strings");
        ck_assert_uint_eq(sp_t_error_count(r), 1);
        sp_t_resp_free(r);
    }
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject = '%s'",
                              subject), "0");
}
END_TEST

START_TEST(metadata_not_an_object_is_422_wrong_type)
{
    assert_create_invalid(body_with(",\"metadata\":[1,2,3]"), "metadata", "wrong_type");
    assert_create_invalid(body_with(",\"metadata\":\"app=ios\""), "metadata", "wrong_type");
}
END_TEST

START_TEST(missing_subject_is_422_required)
{
    assert_create_invalid("{\"description\":\"no subject here\"}", "subject", "required");
}
END_TEST

START_TEST(empty_subject_is_422_too_short)
{
    assert_create_invalid("{\"subject\":\"\",\"description\":\"empty subject\"}", "subject",
                          "too_short");
}
END_TEST

START_TEST(non_string_subject_is_422_wrong_type)
{
    assert_create_invalid("{\"subject\":42,\"description\":\"numeric subject\"}", "subject",
                          "wrong_type");
}
END_TEST

START_TEST(subject_of_201_chars_is_422_too_long)
{
    assert_create_invalid(sp_t_fmt("{\"subject\":\"%s\",\"description\":\"d\"}",
                                   sp_t_repeat("s", 201)),
                          "subject", "too_long");
}
END_TEST

START_TEST(subject_of_200_multibyte_chars_is_accepted)
{
    /* 200 code points, 400 bytes: lengths count characters, not bytes. */
    const char *subject = sp_t_repeat("\xc3\xa9", 200);
    struct sp_t_resp *r =
        create_ok(sp_t_fmt("{\"subject\":\"%s\",\"description\":\"d\"}", subject));
    ck_assert_str_eq(sp_t_jstr(r->json, "subject"), subject);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(subject_of_201_multibyte_chars_is_422_too_long)
{
    assert_create_invalid(sp_t_fmt("{\"subject\":\"%s\",\"description\":\"d\"}",
                                   sp_t_repeat("\xc3\xa9", 201)),
                          "subject", "too_long");
}
END_TEST

/* A subject is one line of visible text (docs/API.md §4): nothing visible
 * once trimmed is `empty`, whatever the blanks are made of. */
START_TEST(blank_subject_is_422_empty)
{
    static const char *const blank[] = {
        "   ", "\\u200b\\u200b", "\\u00a0\\u3000\\u2009", "\\ufeff ", "\\u3164",
    };
    for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++)
        assert_create_invalid(sp_t_fmt("{\"subject\":\"%s\",\"description\":\"real text\"}",
                                       blank[i]),
                              "subject", "empty");
}
END_TEST

/* Controls and line breaks would forge lines wherever the subject is
 * shown (a mail's Subject:, a terminal, a log): refused, nothing stored. */
START_TEST(subject_with_controls_or_line_breaks_is_422_invalid)
{
    static const char *const bad[] = {
        "ctl\\u0001\\u001b[31mred\\r\\nX-Injected: 1", "two\\nlines", "cr\\rhere",
        "tab\\there", "del\\u007f", "nel\\u0085x", "sep\\u2028x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *mark = sp_t_unique("ctl");
        assert_create_invalid(sp_t_fmt("{\"subject\":\"%s %s\",\"description\":\"d\"}",
                                       mark, bad[i]),
                              "subject", "invalid");
        ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject LIKE '%s%%'",
                                  mark),
                         "0");
    }
}
END_TEST

START_TEST(subject_is_stored_without_the_blanks_around_it)
{
    struct sp_t_resp *r = create_ok("{\"subject\":\" \\u00a0Refund  please\\u200b \","
                                    "\"description\":\"d\"}");
    ck_assert_str_eq(sp_t_jstr(r->json, "subject"), "Refund  please");
    sp_t_resp_free(r);
}
END_TEST

/* QA: the length limit counted the blanks around the subject, which are
 * not stored: 200 characters with spaces around them were refused as
 * too long. The limit is the stored subject's: 200 visible characters
 * with padding (spaces, a no-break space, a zero-width one) are taken
 * and stored as the 200; 201 with the same padding are too long. */
START_TEST(subject_length_limit_counts_the_stored_text_without_its_padding)
{
    const char *pad = "  \\u00a0\\u200b ";
    const char *limit = sp_t_repeat("s", 200);
    struct sp_t_resp *r = create_ok(sp_t_fmt("{\"subject\":\"%s%s%s\",\"description\":\"d\"}",
                                             pad, limit, pad));
    ck_assert_str_eq(sp_t_jstr(r->json, "subject"), limit);
    ck_assert_str_eq(sp_t_sql("SELECT length(subject) FROM support_tickets WHERE public_id = '%s'",
                              sp_t_jstr(r->json, "public_id")),
                     "200");
    sp_t_resp_free(r);
    r = create(sp_t_fmt("{\"subject\":\"%s%s%s\",\"description\":\"d\"}", pad,
                        sp_t_repeat("s", 201), pad));
    sp_t_assert_invalid(r, "subject", "too_long");
    ck_assert_str_eq(sp_t_invalid_message(r, "subject"), "must be at most 200 characters");
    ck_assert_uint_eq(sp_t_error_count(r), 1);
    sp_t_resp_free(r);
    /* a booking id's limit (64) is its stored text's too */
    const char *id = sp_t_repeat("B", 64);
    r = create_ok(body_with(sp_t_fmt(",\"booking_id\":\" %s \"", id)));
    ck_assert_str_eq(sp_t_jstr(r->json, "booking_id"), id);
    sp_t_resp_free(r);
    assert_create_invalid(body_with(sp_t_fmt(",\"booking_id\":\" %s \"",
                                             sp_t_repeat("B", 65))),
                          "booking_id", "too_long");
}
END_TEST

/* Every field error at once: the subject's with the description's. */
START_TEST(blank_subject_and_empty_description_are_reported_together)
{
    struct sp_t_resp *r = create("{\"subject\":\"  \",\"description\":\"<script>x</script>\"}");
    sp_t_assert_invalid(r, "subject", "empty");
    sp_t_assert_invalid(r, "description", NULL);
    sp_t_resp_free(r);
}
END_TEST

/* QA: an unknown category or chat session came only once the other
 * fields were fixed (lookups in a later stage); one 422 lists them with
 * the shape and sanitizer errors (API.md §1). */
START_TEST(lookups_are_reported_with_the_field_errors)
{
    struct sp_t_resp *r =
        create("{\"subject\":\"\",\"description\":\"ok\",\"category\":\"nope\"}");
    sp_t_assert_invalid(r, "subject", "too_short");
    sp_t_assert_invalid(r, "category", "unknown_category");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
    r = create("{\"subject\":\"  \",\"description\":\"<script>x</script>\","
               "\"category\":\"nope\",\"chat_session_id\":\"ZZZZZZZZZZZZ\","
               "\"source\":\"carrier-pigeon\"}");
    sp_t_assert_invalid(r, "subject", "empty");
    sp_t_assert_invalid(r, "description", "empty");
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_assert_invalid(r, "chat_session_id", "unknown_session");
    sp_t_assert_invalid(r, "source", "invalid");
    ck_assert_uint_eq(sp_t_error_count(r), 5);
    sp_t_resp_free(r);
    r = create(body_with(",\"category\":\"nope\",\"chat_session_id\":\"ZZZZZZZZZZZZ\""));
    sp_t_assert_invalid(r, "category", "unknown_category");
    sp_t_assert_invalid(r, "chat_session_id", "unknown_session");
    ck_assert_uint_eq(sp_t_error_count(r), 2);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(missing_description_is_422_required)
{
    assert_create_invalid("{\"subject\":\"no description\"}", "description", "required");
}
END_TEST

START_TEST(description_of_20000_chars_is_accepted)
{
    const char *d = sp_t_repeat("d", 20000);
    struct sp_t_resp *r = create_ok(sp_t_fmt("{\"subject\":\"long\",\"description\":\"%s\"}", d));
    ck_assert_str_eq(sp_t_jstr(r->json, "description"), d);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(description_of_20001_chars_is_422_too_long)
{
    assert_create_invalid(sp_t_fmt("{\"subject\":\"long\",\"description\":\"%s\"}",
                                   sp_t_repeat("d", 20001)),
                          "description", "too_long");
}
END_TEST

START_TEST(customer_setting_priority_is_422_not_allowed)
{
    assert_create_invalid(body_with(",\"priority\":\"urgent\""), "priority", "not_allowed");
}
END_TEST

START_TEST(malformed_json_is_400_invalid_json)
{
    struct sp_t_resp *r = create("{\"subject\":\"half\",\"description\":");
    sp_t_assert_problem(r, 400, "invalid_json");
    sp_t_resp_free(r);
}
END_TEST

/* json-c reads NaN, Infinity and "1." even in strict mode; the database
 * then refused the ticket with a vague 422 (QA). Not JSON: 400. */
START_TEST(nan_infinity_and_a_bare_point_are_400_invalid_json)
{
    static const char *const extras[] = {
        ",\"metadata\":{\"n\":NaN}", ",\"metadata\":{\"n\":Infinity}",
        ",\"metadata\":{\"n\":-Infinity}", ",\"metadata\":{\"n\":1.}",
    };
    for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
        struct sp_t_resp *r = create(body_with(extras[i]));
        sp_t_assert_problem(r, 400, "invalid_json");
        sp_t_resp_free(r);
    }
}
END_TEST

/* A NUL in a metadata string was a vague 422 from the database (22P05);
 * in a name json-c would cut the name, so that is not read at all. */
START_TEST(nul_in_metadata_is_422_on_metadata_and_in_a_name_400)
{
    assert_create_invalid(body_with(",\"metadata\":{\"s\":\"a\\u0000b\"}"), "metadata",
                          "invalid");
    assert_create_invalid(body_with(",\"metadata\":{\"n\":[-99999999999999999999999]}"),
                          "metadata", "out_of_range");
    struct sp_t_resp *r = create(body_with(",\"metadata\":{\"k\\u0000\":\"v\"}"));
    sp_t_assert_problem(r, 400, "invalid_json");
    sp_t_resp_free(r);
}
END_TEST

/* QA: PostgreSQL writes a JSON number out in full: 440 × 1e131071 in
 * 4 KiB of metadata made a 57 MB ticket, 1e131072 a database error; a
 * lone escaped surrogate was stored as U+FFFD; a bidi override reordered
 * the subject. Refused, nothing stored. */
START_TEST(swelling_numbers_and_lone_surrogates_are_refused)
{
    const char *subject = sp_t_unique("swell");
    assert_create_invalid(sp_t_fmt("{\"subject\":\"%s\",\"description\":\"d\","
                                   "\"metadata\":{\"n\":[1e131071,1e131071]}}", subject),
                          "metadata", "out_of_range");
    assert_create_invalid(sp_t_fmt("{\"subject\":\"%s\",\"description\":\"d\","
                                   "\"metadata\":{\"n\":1e131072}}", subject),
                          "metadata", "out_of_range");
    struct sp_t_resp *r = create(sp_t_fmt("{\"subject\":\"%s \\ud800\",\"description\":\"d\"}",
                                          subject));
    sp_t_assert_problem(r, 400, "invalid_json");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject LIKE '%s%%'",
                              subject), "0");
    sp_t_resp_free(create_ok(body_with(",\"metadata\":{\"avogadro\":6.02214076e23}")));
    /* QA: a bidi override reversed the subject staff saw, and its [ID] tag */
    assert_create_invalid(sp_t_fmt("{\"subject\":\"%s \\u202etxt.exe\",\"description\":\"d\"}",
                                   subject), "subject", "invalid");
}
END_TEST

/* Readers disagree on a repeated name (json-c keeps the last, others the
 * first): refused, and nothing is stored under either value. */
START_TEST(a_member_named_twice_is_400_and_stores_nothing)
{
    const char *first = sp_t_unique("dup-first"), *last = sp_t_unique("dup-last");
    struct sp_t_resp *r = create(sp_t_fmt("{\"subject\":\"%s\",\"description\":\"d\","
                                          "\"subject\":\"%s\"}", first, last));
    sp_t_assert_problem(r, 400, "invalid_json");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     "malformed JSON: an object names a member twice");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject IN ('%s', '%s')",
                              first, last), "0");
}
END_TEST

/* A header that decides what the request does, given twice, is refused
 * as problem+json whoever sees it first: the worker (Idempotency-Key,
 * Content-Type) or nginx (Authorization). Nothing is stored. */
START_TEST(a_deciding_header_given_twice_is_400_and_stores_nothing)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user other = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *subject = sp_t_unique("dup-header");
    const char *body = sp_t_fmt("{\"subject\":\"%s\",\"description\":\"d\"}", subject);
    const char *const idem[] = {"Idempotency-Key: first", "Idempotency-Key: second", NULL};
    struct sp_t_resp *r = sp_t_request("POST", TICKETS, u.token, "application/json", body, idem);
    sp_t_assert_problem(r, 400, "duplicate_header");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"),
                     "the Idempotency-Key header is given more than once");
    sp_t_resp_free(r);
    const char *const ct[] = {"Content-Type: application/json", "Content-Type: text/plain", NULL};
    r = sp_t_request("POST", TICKETS, u.token, NULL, body, ct);
    sp_t_assert_problem(r, 400, "duplicate_header");
    sp_t_resp_free(r);
    const char *const auth[] = {sp_t_fmt("Authorization: Bearer %s", other.token), NULL};
    r = sp_t_request("POST", TICKETS, u.token, "application/json", body, auth);
    sp_t_assert_problem(r, 400, "bad_request");
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_tickets WHERE subject = '%s'",
                              subject), "0");
}
END_TEST

START_TEST(json_array_body_is_422_validation_failed)
{
    struct sp_t_resp *r = create("[{\"subject\":\"in an array\",\"description\":\"d\"}]");
    sp_t_assert_problem(r, 422, "validation_failed");
    sp_t_resp_free(r);
}
END_TEST

/* An unknown method is named in the 405 (it said "OTHER"). */
START_TEST(unknown_method_is_405_naming_it)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_request("FOO", TICKETS, u.token, NULL, NULL, NULL);
    sp_t_assert_problem(r, 405, "method_not_allowed");
    ck_assert_str_eq(sp_t_jstr(r->json, "detail"), "FOO is not allowed here; use POST, GET, HEAD");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(text_plain_body_is_415)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_request("POST", TICKETS, u.token, "text/plain", body_with(""), NULL);
    sp_t_assert_problem(r, 415, "unsupported_media_type");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(body_without_content_type_is_415)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_request("POST", TICKETS, u.token, NULL, body_with(""), NULL);
    sp_t_assert_problem(r, 415, "unsupported_media_type");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(json_with_charset_parameter_is_accepted)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r = sp_t_request("POST", TICKETS, u.token,
                                       "application/json; charset=utf-8", body_with(""), NULL);
    sp_t_assert_json(r, 201);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(body_over_1_mib_is_413_problem)
{
    const char *big = sp_t_repeat("x", 1024 * 1024 + 1024);
    struct sp_t_resp *r =
        create(sp_t_fmt("{\"subject\":\"big\",\"description\":\"%s\"}", big));
    sp_t_assert_problem(r, 413, "payload_too_large");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(description_markup_is_sanitized)
{
    struct sp_t_resp *r = create_ok(
        "{\"subject\":\"xss\",\"description\":\"<script>alert(1)</script><b>hi</b>\"}");
    ck_assert_str_eq(sp_t_jstr(r->json, "description"), "<b>hi</b>");
    struct json_object *m = json_object_array_get_idx(sp_t_jarr(r->json, "messages"), 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(sp_t_jstr(m, "body"), "<b>hi</b>");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(description_empty_after_sanitizing_is_422)
{
    assert_create_invalid("{\"subject\":\"xss\",\"description\":\"<script>x</script>\"}",
                          "description", NULL);
}
END_TEST

START_TEST(unknown_fields_are_ignored)
{
    struct sp_t_resp *r =
        create_ok(body_with(",\"favourite_colour\":\"teal\",\"x_extra\":{\"nested\":[1]}"));
    ck_assert(!sp_t_jhas(r->json, "favourite_colour"));
    ck_assert(!sp_t_jhas(r->json, "x_extra"));
    sp_t_resp_free(r);
}
END_TEST

/* A chat session named in lower case (QA: public ids were read in upper
 * case only): its REST read and a ticket's chat_session_id take any case,
 * and answers show the canonical upper case. */
START_TEST(a_chat_session_id_in_any_case_names_the_session)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_resp *r =
        sp_t_request("POST", "/support/chat/session", u.token, NULL, NULL, NULL);
    sp_t_assert_json(r, 201);
    const char *sid = sp_t_fmt("%s", sp_t_jstr(r->json, "session_id"));
    sp_t_resp_free(r);
    sp_t_assert_public_id(sid);
    char lower[13];
    for (size_t i = 0; i < sizeof(lower); i++)
        lower[i] = (char)tolower((unsigned char)sid[i]);

    r = sp_t_get(sp_t_fmt("/support/chat/session/%s", lower), u.token);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_jstr(r->json, "session_id"), sid);
    sp_t_resp_free(r);

    r = sp_t_post_json(TICKETS, u.token,
                       sp_t_fmt("{\"subject\":\"s\",\"description\":\"d\","
                                "\"chat_session_id\":%s}", sp_t_jq(lower)));
    sp_t_assert_json(r, 201);
    ck_assert_str_eq(sp_t_jstr(r->json, "source"), "chat");
    const char *ticket = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    sp_t_resp_free(r);
    ck_assert_str_eq(sp_t_sql("SELECT s.public_id FROM support_tickets t"
                              " JOIN support_chat_sessions s ON s.id = t.chat_session_id"
                              " WHERE t.public_id = '%s'", ticket), sid);
}
END_TEST

/* ---- GET /support/categories ------------------------------------------------ */

#define CATEGORIES "/support/categories"

/* The list as token sees it: 200, the whole list (next_cursor null), each
 * item exactly {slug, name, description}, with a "d-<digest>" ETag and a
 * private Cache-Control. Returns the slugs joined by ',' in list order;
 * *etag_out (if not NULL) the ETag. */
static const char *
categories_listed(const char *token, const char **etag_out)
{
    struct sp_t_resp *r = sp_t_get(CATEGORIES, token);
    sp_t_assert_json(r, 200);
    sp_t_assert_jnull(r->json, "next_cursor");
    ck_assert_int_eq(json_object_object_length(r->json), 2);
    struct json_object *data = sp_t_jarr(r->json, "data");
    const char *slugs = "";
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        struct json_object *c = json_object_array_get_idx(data, i);
        ck_assert_msg(json_object_object_length(c) == 3, "item %zu: %s", i,
                      json_object_to_json_string(c));
        sp_t_jstr(c, "name");
        struct json_object *d = sp_t_jget(c, "description");
        ck_assert(d == NULL || json_object_is_type(d, json_type_string));
        slugs = sp_t_fmt("%s%s%s", slugs, i > 0 ? "," : "", sp_t_jstr(c, "slug"));
    }
    const char *etag = sp_t_header(r, "ETag");
    ck_assert_msg(etag != NULL && sp_t_matches("^\"d-[0-9a-f]{16}\"$", etag), "ETag %s",
                  etag ? etag : "(none)");
    ck_assert_str_eq(sp_t_header(r, "Cache-Control"), "private, max-age=60");
    if (etag_out != NULL)
        *etag_out = sp_t_fmt("%s", etag);
    sp_t_resp_free(r);
    return slugs;
}

/* What the database holds active, in the list's order (its collation). */
static const char *
categories_active_in_db(void)
{
    const char *all = sp_t_sql("SELECT string_agg(slug, ',' ORDER BY name, slug)"
                               " FROM support_categories WHERE is_active");
    return all != NULL ? all : "";
}

START_TEST(categories_lists_the_active_ones_with_client_fields_only)
{
    const char *base = sp_t_unique("cat");
    /* created b then a, one name: the slug decides; "Zz… 0" sorts first */
    const char *b = sp_t_fmt("%s-b", base), *a = sp_t_fmt("%s-a", base);
    const char *first = sp_t_fmt("%s-c", base);
    struct sp_t_resp *r = sp_t_admin_post(
        "/support/admin/categories",
        sp_t_fmt("{\"slug\":\"%s\",\"name\":\"Zz %s 1\",\"description\":\"Refunds\","
                 "\"routing\":\"round_robin\",\"team\":\"billing\","
                 "\"default_priority\":\"high\"}", b, base));
    sp_t_resp_free(r);
    r = sp_t_admin_post("/support/admin/categories",
                        sp_t_fmt("{\"slug\":\"%s\",\"name\":\"Zz %s 1\"}", a, base));
    sp_t_resp_free(r);
    r = sp_t_admin_post("/support/admin/categories",
                        sp_t_fmt("{\"slug\":\"%s\",\"name\":\"Zz %s 0\"}", first, base));
    sp_t_resp_free(r);
    const char *inactive = sp_t_db_category_new(false);

    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *slugs = categories_listed(u.token, NULL);
    ck_assert_str_eq(slugs, categories_active_in_db());
    ck_assert(!sp_t_list_has(slugs, inactive));
    ck_assert_msg(strstr(slugs, sp_t_fmt("%s,%s,%s", first, a, b)) != NULL, "%s", slugs);

    /* b's item: its description, nothing of its routing */
    r = sp_t_get(CATEGORIES, u.token);
    struct json_object *data = sp_t_jarr(r->json, "data"), *item = NULL;
    for (size_t i = 0; i < json_object_array_length(data) && item == NULL; i++)
        if (strcmp(sp_t_jstr(json_object_array_get_idx(data, i), "slug"), b) == 0)
            item = json_object_array_get_idx(data, i);
    ck_assert_ptr_nonnull(item);
    ck_assert_str_eq(sp_t_jstr(item, "name"), sp_t_fmt("Zz %s 1", base));
    ck_assert_str_eq(sp_t_jstr(item, "description"), "Refunds");
    /* a's: no description is null */
    ck_assert_msg(strstr(r->body, sp_t_fmt("{\"slug\":\"%s\",\"name\":\"Zz %s 1\","
                                           "\"description\":null}", a, base)) != NULL,
                  "%s", r->body);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(categories_deactivated_disappears_and_the_etag_changes)
{
    const char *slug = sp_t_admin_category_new(NULL);
    const char *id = sp_t_sql("SELECT id FROM support_categories WHERE slug = '%s'", slug);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *etag;
    ck_assert(sp_t_list_has(categories_listed(u.token, &etag), slug));

    /* unchanged: 304, no body, the same ETag and Cache-Control */
    const char *match[] = {etag, sp_t_fmt("W/%s", etag), sp_t_fmt("\"nope\", %s", etag)};
    for (size_t i = 0; i < sizeof(match) / sizeof(match[0]); i++) {
        struct sp_t_resp *r = sp_t_get_if_none_match(CATEGORIES, u.token, match[i]);
        ck_assert_msg(r->status == 304 && r->body_len == 0, "If-None-Match: %s -> %ld",
                      match[i], r->status);
        ck_assert_str_eq(sp_t_header(r, "ETag"), etag);
        ck_assert_str_eq(sp_t_header(r, "Cache-Control"), "private, max-age=60");
        sp_t_resp_free(r);
    }

    struct sp_t_resp *r = sp_t_admin("PATCH", sp_t_fmt("/support/admin/categories/%s", id),
                                     "{\"is_active\":false}");
    sp_t_assert_json(r, 200);
    sp_t_resp_free(r);
    const char *now;
    const char *slugs = categories_listed(u.token, &now);
    ck_assert(!sp_t_list_has(slugs, slug));
    ck_assert_str_eq(slugs, categories_active_in_db());
    ck_assert_str_ne(now, etag);
    /* the old ETag revalidates no more: the list as it is now */
    r = sp_t_get_if_none_match(CATEGORIES, u.token, etag);
    sp_t_assert_json(r, 200);
    ck_assert_str_eq(sp_t_header(r, "ETag"), now);
    sp_t_resp_free(r);
}
END_TEST

START_TEST(categories_needs_a_token)
{
    struct sp_t_resp *r = sp_t_get(CATEGORIES, NULL);
    sp_t_assert_problem(r, 401, "unauthorized");
    sp_t_resp_free(r);
}
END_TEST

START_TEST(categories_agents_and_admins_see_the_same_list)
{
    const char *slug = sp_t_admin_category_new(NULL);
    struct sp_t_user customer = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_user admin = sp_t_user_new(SP_ROLE_ADMIN);
    const char *etag, *agent_etag, *admin_etag;
    const char *slugs = categories_listed(customer.token, &etag);
    ck_assert(sp_t_list_has(slugs, slug));
    ck_assert_str_eq(categories_listed(agent.token, &agent_etag), slugs);
    ck_assert_str_eq(categories_listed(admin.token, &admin_etag), slugs);
    ck_assert_str_eq(agent_etag, etag);
    ck_assert_str_eq(admin_etag, etag);
}
END_TEST

static Suite *
ticket_create_suite(void)
{
    Suite *s = suite_create("ticket_create");
    TCase *tc = sp_t_tcase(s, "created");
    tcase_add_test(tc, create_returns_201_with_location_and_customer_view);
    tcase_add_test(tc, a_chat_session_id_in_any_case_names_the_session);
    tcase_add_test(tc, public_ids_differ_between_tickets);
    tcase_add_test(tc, create_writes_one_created_event);
    tcase_add_test(tc, unknown_fields_are_ignored);

    tc = sp_t_tcase(s, "fields");
    tcase_add_test(tc, active_category_slug_is_accepted);
    tcase_add_test(tc, inactive_category_is_422_unknown_category);
    tcase_add_test(tc, unknown_category_is_422_unknown_category);
    tcase_add_test(tc, source_email_and_chat_are_accepted);
    tcase_add_test(tc, bogus_source_is_422_invalid);
    tcase_add_test(tc, integer_provider_id_is_accepted);
    tcase_add_test(tc, string_provider_id_is_422_wrong_type);
    tcase_add_test(tc, provider_id_beyond_int64_is_422_out_of_range);
    tcase_add_test(tc, nul_in_metadata_is_422_on_metadata_and_in_a_name_400);
    tcase_add_test(tc, swelling_numbers_and_lone_surrogates_are_refused);
    tcase_add_test(tc, booking_id_of_64_chars_is_accepted);
    tcase_add_test(tc, booking_id_of_65_chars_is_422_too_long);
    tcase_add_test(tc, booking_id_is_one_line_of_visible_text);
    tcase_add_test(tc, metadata_object_is_accepted);
    tcase_add_test(tc, metadata_over_4_kib_is_422_too_large);
    tcase_add_test(tc, metadata_not_an_object_is_422_wrong_type);
    tcase_add_test(tc, unknown_attachment_is_422_with_the_body_detail);
    tcase_add_test(tc, unknown_attachment_is_reported_with_the_field_errors);
    tcase_add_test(tc, attachment_item_that_is_no_string_is_422_wrong_type);
    tcase_add_test(tc, customer_setting_priority_is_422_not_allowed);

    tc = sp_t_tcase(s, "subject_description");
    tcase_add_test(tc, missing_subject_is_422_required);
    tcase_add_test(tc, empty_subject_is_422_too_short);
    tcase_add_test(tc, non_string_subject_is_422_wrong_type);
    tcase_add_test(tc, subject_of_201_chars_is_422_too_long);
    tcase_add_test(tc, subject_of_200_multibyte_chars_is_accepted);
    tcase_add_test(tc, subject_of_201_multibyte_chars_is_422_too_long);
    tcase_add_test(tc, blank_subject_is_422_empty);
    tcase_add_test(tc, subject_with_controls_or_line_breaks_is_422_invalid);
    tcase_add_test(tc, subject_is_stored_without_the_blanks_around_it);
    tcase_add_test(tc, subject_length_limit_counts_the_stored_text_without_its_padding);
    tcase_add_test(tc, blank_subject_and_empty_description_are_reported_together);
    tcase_add_test(tc, lookups_are_reported_with_the_field_errors);
    tcase_add_test(tc, missing_description_is_422_required);
    tcase_add_test(tc, description_of_20000_chars_is_accepted);
    tcase_add_test(tc, description_of_20001_chars_is_422_too_long);
    tcase_add_test(tc, description_markup_is_sanitized);
    tcase_add_test(tc, description_empty_after_sanitizing_is_422);

    tc = sp_t_tcase(s, "transport");
    tcase_add_test(tc, malformed_json_is_400_invalid_json);
    tcase_add_test(tc, nan_infinity_and_a_bare_point_are_400_invalid_json);
    tcase_add_test(tc, a_member_named_twice_is_400_and_stores_nothing);
    tcase_add_test(tc, a_deciding_header_given_twice_is_400_and_stores_nothing);
    tcase_add_test(tc, json_array_body_is_422_validation_failed);
    tcase_add_test(tc, text_plain_body_is_415);
    tcase_add_test(tc, unknown_method_is_405_naming_it);
    tcase_add_test(tc, body_without_content_type_is_415);
    tcase_add_test(tc, json_with_charset_parameter_is_accepted);
    tcase_add_test(tc, body_over_1_mib_is_413_problem);

    tc = sp_t_tcase(s, "categories");
    tcase_add_test(tc, categories_lists_the_active_ones_with_client_fields_only);
    tcase_add_test(tc, categories_deactivated_disappears_and_the_etag_changes);
    tcase_add_test(tc, categories_needs_a_token);
    tcase_add_test(tc, categories_agents_and_admins_see_the_same_list);
    return s;
}

int
main(void)
{
    return sp_t_run(ticket_create_suite());
}
