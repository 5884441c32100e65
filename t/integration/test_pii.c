/*
 * test_pii: contact PII of API.md §2 — name, email and phone from the
 * customer's JWT are stored encrypted (AES-256-GCM, "<key label>:<base64>",
 * bound to their customer and field) with an HMAC blind index of the
 * normalised email; agents see them decrypted in the ticket's `customer`
 * (with the tier), customers never; the agent queue finds tickets by
 * `customer_email` (exact, case- and whitespace-insensitive). Key
 * rotation: a new key put in front of SUPPORT_ENCRYPTION_KEYS_FILE and a
 * SIGHUP make new contacts use it while old ones still decrypt and the
 * email lookup keeps working (the index key comes from the oldest key).
 *
 * The rotation leaves the new key in place (later tests don't care) and
 * picks a label not used yet, so running this twice on one stack works.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

/* ---- helpers ------------------------------------------------------------- */

struct person {
    struct sp_t_user u;
    const char *name, *email, *phone;
};

/* A fresh customer whose token carries name, email and phone (and tier
 * when not NULL). The email has mixed case; the tag makes it unique. */
static struct person
person(const char *tier)
{
    struct person p;
    p.u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *tag = sp_t_fmt("%s", p.u.sub);
    p.name = sp_t_fmt("Åda Lovelace %s", tag);
    p.email = sp_t_fmt("Ada.Lovelace+%s@Example.COM", tag);
    p.phone = sp_t_fmt("+44 20 7946 %s", tag);
    p.u.token = sp_t_token_claims(
        SP_ROLE_CUSTOMER, p.u.sub,
        sp_t_fmt("{\"name\":%s,\"email\":%s,\"phone\":%s%s%s%s}", sp_t_jq(p.name),
                 sp_t_jq(p.email), sp_t_jq(p.phone), tier != NULL ? ",\"tier\":\"" : "",
                 tier != NULL ? tier : "", tier != NULL ? "\"" : ""));
    return p;
}

static const char *
lower(const char *s)
{
    char *d = (char *)sp_t_fmt("%s", s);
    for (char *c = d; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return d;
}

static const char *
upper(const char *s)
{
    char *d = (char *)sp_t_fmt("%s", s);
    for (char *c = d; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    return d;
}

static const char *
contact_col(const char *sub, const char *col)
{
    return sp_t_sql("SELECT %s FROM support_contacts WHERE customer_id = '%s'", col, sub);
}

/* label:base64 with a label of [A-Za-z0-9_-]{1,16}; returns the label. */
static const char *
sealed_label(const char *v)
{
    ck_assert_msg(v != NULL, "no ciphertext stored");
    ck_assert_msg(sp_t_matches("^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/]+={0,2}$", v),
                  "ciphertext \"%s\" is not <label>:<base64>", v);
    return sp_t_fmt("%.*s", (int)(strchr(v, ':') - v), v);
}

static void
assert_no_substring(const char *hay, const char *needle, const char *what)
{
    ck_assert_msg(hay == NULL || strstr(hay, needle) == NULL, "%s contains \"%s\": %.300s", what,
                  needle, hay);
}

/* The agent view's customer object of a ticket, as "name|email|phone|tier"
 * ("~" for null). */
static const char *
customer_seen(const struct sp_t_user *agent, const char *pid)
{
    struct sp_t_resp *r = sp_t_agent_ticket(agent, pid);
    struct json_object *c = sp_t_jobj(r->json, "customer");
    const char *parts[4];
    static const char *const keys[] = {"name", "email", "phone", "tier"};
    for (int i = 0; i < 4; i++) {
        struct json_object *v = sp_t_jget(c, keys[i]);
        parts[i] = v != NULL ? sp_t_fmt("%s", json_object_get_string(v)) : "~";
    }
    sp_t_resp_free(r);
    return sp_t_fmt("%s|%s|%s|%s", parts[0], parts[1], parts[2], parts[3]);
}

static const char *
expected(const struct person *p, const char *tier)
{
    return sp_t_fmt("%s|%s|%s|%s", p->name, p->email, p->phone, tier);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Public ids the agent queue returns for ?customer_email=email (all
 * statuses), sorted, space-separated. */
static const char *
by_email(const struct sp_t_user *agent, const char *email)
{
    struct sp_t_resp *r = sp_t_get(
        sp_t_fmt("/support/agent/tickets?limit=100&sort=created_at&status=open,in_progress,"
                 "pending_customer,resolved,closed&customer_email=%s", sp_t_urlencode(email)),
        agent->token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    size_t n = json_object_array_length(data);
    ck_assert_uint_le(n, 16);
    const char *list[16];
    for (size_t i = 0; i < n; i++) {
        struct json_object *t = json_object_array_get_idx(data, i);
        sp_t_assert_agent_summary(t);
        list[i] = sp_t_fmt("%s", sp_t_jstr(t, "public_id"));
    }
    sp_t_resp_free(r);
    qsort(list, n, sizeof(list[0]), cmp_str);
    const char *ids = "";
    for (size_t i = 0; i < n; i++)
        ids = sp_t_fmt("%s%s%s", ids, i ? " " : "", list[i]);
    return ids;
}

static const char *
ids2(const char *a, const char *b)
{
    return strcmp(a, b) < 0 ? sp_t_fmt("%s %s", a, b) : sp_t_fmt("%s %s", b, a);
}

/* ---- storage ---------------------------------------------------------------- */

START_TEST(contact_is_stored_encrypted_with_a_blind_index)
{
    struct person p = person("premium");
    const char *pid = sp_t_ticket_create(&p.u, "pii storage");

    const char *enc[3] = {contact_col(p.u.sub, "name_enc"), contact_col(p.u.sub, "email_enc"),
                          contact_col(p.u.sub, "phone_enc")};
    const char *plain[3] = {p.name, p.email, p.phone};
    for (int i = 0; i < 3; i++) {
        (void)sealed_label(enc[i]);
        assert_no_substring(enc[i], plain[i], "stored ciphertext");
        assert_no_substring(enc[i], lower(plain[i]), "stored ciphertext");
        assert_no_substring(enc[i], p.u.sub, "stored ciphertext");
        /* nonce + tag + the text, base64: longer than the text */
        ck_assert_uint_gt(strlen(enc[i]), strlen(plain[i]) + 28);
    }
    assert_no_substring(enc[1], "Lovelace", "email ciphertext");
    assert_no_substring(enc[1], "xample", "email ciphertext");
    ck_assert_str_ne(enc[0], enc[1]);
    const char *index = contact_col(p.u.sub, "email_index");
    ck_assert_msg(index != NULL && sp_t_matches("^[0-9a-f]{64}$", index),
                  "email_index \"%s\" is not 64 hex chars", index != NULL ? index : "(null)");
    assert_no_substring(index, lower(p.email), "email_index");
    ck_assert_str_eq(contact_col(p.u.sub, "tier"), "premium");
    /* Nothing of the PII anywhere else in the row as text. */
    const char *row = sp_t_sql("SELECT c::text FROM support_contacts c WHERE customer_id = '%s'",
                               p.u.sub);
    assert_no_substring(row, sp_t_fmt("+%s@", p.u.sub), "contact row");
    /* The phone's fixed part, as typed and as E.164; not "7946" alone, which
     * the random digits of ids, hex indexes and timestamps hold by chance. */
    assert_no_substring(row, "20 7946", "contact row");
    assert_no_substring(row, "207946", "contact row");
    assert_no_substring(row, "Lovelace", "contact row");

    /* Same email, other case and spaces, other customer: same index, other
     * ciphertext (random nonce). */
    struct sp_t_user twin = sp_t_user_new(SP_ROLE_CUSTOMER);
    twin.token = sp_t_token_claims(SP_ROLE_CUSTOMER, twin.sub,
                                   sp_t_fmt("{\"email\":%s}",
                                            sp_t_jq(sp_t_fmt("  %s ", lower(p.email)))));
    sp_t_ticket_create(&twin, "pii twin");
    ck_assert_str_eq(contact_col(twin.sub, "email_index"), index);
    ck_assert_str_ne(contact_col(twin.sub, "email_enc"), enc[1]);
    /* A different email: a different index. */
    struct person q = person(NULL);
    sp_t_ticket_create(&q.u, "pii other");
    ck_assert_str_ne(contact_col(q.u.sub, "email_index"), index);
    ck_assert_str_eq(contact_col(q.u.sub, "tier"), "standard");

    /* Agents see it decrypted. */
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    ck_assert_str_eq(customer_seen(&agent, pid), expected(&p, "premium"));
}
END_TEST

START_TEST(customers_never_see_the_contact)
{
    struct person p = person("vip");
    struct sp_t_resp *r = sp_t_post_json("/support/tickets", p.u.token,
                                         "{\"subject\":\"pii views\",\"description\":\"d\"}");
    sp_t_assert_json(r, 201);
    sp_t_assert_ticket_view(r->json);
    const char *pid = sp_t_fmt("%s", sp_t_jstr(r->json, "public_id"));
    const char *bodies[3];
    bodies[0] = sp_t_fmt("%s", r->body);
    sp_t_resp_free(r);
    r = sp_t_ticket_get(&p.u, pid);
    sp_t_assert_ticket_view(r->json);
    bodies[1] = sp_t_fmt("%s", r->body);
    sp_t_resp_free(r);
    r = sp_t_get("/support/tickets", p.u.token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    ck_assert_uint_eq(json_object_array_length(data), 1);
    sp_t_assert_ticket_summary(json_object_array_get_idx(data, 0));
    bodies[2] = sp_t_fmt("%s", r->body);
    sp_t_resp_free(r);
    for (int i = 0; i < 3; i++) {
        assert_no_substring(bodies[i], "\"customer\":", "customer response");
        assert_no_substring(bodies[i], p.email, "customer response");
        assert_no_substring(bodies[i], p.phone, "customer response");
        assert_no_substring(bodies[i], p.name, "customer response");
        assert_no_substring(bodies[i], "\"tier\"", "customer response");
    }
    /* while an agent does see it */
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    ck_assert_str_eq(customer_seen(&agent, pid), expected(&p, "vip"));
}
END_TEST

START_TEST(a_customer_without_pii_claims_has_null_contact_fields)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *pid = sp_t_ticket_create(&u, "no pii");
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    ck_assert_str_eq(customer_seen(&agent, pid), "~|~|~|standard");
    ck_assert_msg(contact_col(u.sub, "email_index") == NULL, "an email index without an email");
    ck_assert_msg(contact_col(u.sub, "email_enc") == NULL, "an email ciphertext without email");
}
END_TEST

START_TEST(newer_claims_replace_the_stored_ones)
{
    struct person p = person(NULL);
    const char *first = sp_t_ticket_create(&p.u, "pii first");
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    ck_assert_str_eq(customer_seen(&agent, first), expected(&p, "standard"));
    /* A new token with a new name and tier: the contact follows it. */
    const char *renamed = sp_t_fmt("Ada King %s", p.u.sub);
    p.u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, p.u.sub,
                                  sp_t_fmt("{\"name\":%s,\"email\":%s,\"phone\":%s,"
                                           "\"tier\":\"vip\"}", sp_t_jq(renamed),
                                           sp_t_jq(p.email), sp_t_jq(p.phone)));
    const char *second = sp_t_ticket_create(&p.u, "pii second");
    p.name = renamed;
    ck_assert_str_eq(customer_seen(&agent, second), expected(&p, "vip"));
    ck_assert_str_eq(customer_seen(&agent, first), expected(&p, "vip"));
    ck_assert_str_eq(sp_t_sql("SELECT count(*) FROM support_contacts WHERE customer_id = '%s'",
                              p.u.sub), "1");
}
END_TEST

/* Contact claims that cannot be a contact are no claims, as an unknown
 * tier is: an email with a line break or of 5,000 bytes; a name is made
 * one line (QA: stored verbatim and shown to agents). A bad phone is the
 * dispatcher's to skip (test_dispatch). */
START_TEST(claims_that_cannot_be_a_contact_are_not_stored)
{
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    const char *emails[] = {"a\r\nBcc: evil@x.example",
                            sp_t_fmt("%s@x.example", sp_t_repeat("a", 5000)), "no-at-sign",
                            "two@@x.example"};
    for (size_t i = 0; i < sizeof(emails) / sizeof(emails[0]); i++) {
        u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub,
                                    sp_t_fmt("{\"name\":\"Ada\\nLovelace\",\"email\":%s}",
                                             sp_t_jq(emails[i])));
        const char *pid = sp_t_ticket_create(&u, "odd claims");
        ck_assert_str_eq(customer_seen(&agent, pid), "Ada Lovelace|~|~|standard");
    }
}
END_TEST

/* Sealing uses random nonces, so storing the same claims again would
 * rewrite the row for nothing on every ticket of a returning customer. */
START_TEST(the_same_claims_leave_the_contact_row_alone)
{
    struct person p = person("premium");
    sp_t_ticket_create(&p.u, "pii once");
    const char *xmin = contact_col(p.u.sub, "xmin::text");
    const char *email_enc = contact_col(p.u.sub, "email_enc");
    const char *pid = sp_t_ticket_create(&p.u, "pii twice");
    ck_assert_str_eq(contact_col(p.u.sub, "xmin::text"), xmin);
    ck_assert_str_eq(contact_col(p.u.sub, "email_enc"), email_enc);
    /* A changed claim is stored (and everything sealed afresh). */
    p.phone = sp_t_fmt("+44 20 7946 9%s", p.u.sub);
    p.u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, p.u.sub,
                                  sp_t_fmt("{\"name\":%s,\"email\":%s,\"phone\":%s,"
                                           "\"tier\":\"premium\"}", sp_t_jq(p.name),
                                           sp_t_jq(p.email), sp_t_jq(p.phone)));
    sp_t_ticket_create(&p.u, "pii new phone");
    ck_assert_str_ne(contact_col(p.u.sub, "xmin::text"), xmin);
    ck_assert_str_ne(contact_col(p.u.sub, "email_enc"), email_enc);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    ck_assert_str_eq(customer_seen(&agent, pid), expected(&p, "premium"));
}
END_TEST

START_TEST(ciphertexts_moved_between_rows_or_fields_do_not_open)
{
    struct person a = person(NULL), b = person(NULL);
    const char *pa = sp_t_ticket_create(&a.u, "pii bound a");
    const char *pb = sp_t_ticket_create(&b.u, "pii bound b");
    const char *ea = contact_col(a.u.sub, "email_enc");
    const char *eb = contact_col(b.u.sub, "email_enc");
    const char *na = contact_col(a.u.sub, "name_enc");
    sp_t_sql("UPDATE support_contacts SET email_enc = '%s' WHERE customer_id = '%s'", eb,
             a.u.sub);
    sp_t_sql("UPDATE support_contacts SET email_enc = '%s', name_enc = '%s' "
             "WHERE customer_id = '%s'", ea, ea, b.u.sub);
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    /* another customer's email, or an email in the name field: null, never
     * the other value, never an error */
    ck_assert_str_eq(customer_seen(&agent, pa),
                     sp_t_fmt("%s|~|%s|standard", a.name, a.phone));
    ck_assert_str_eq(customer_seen(&agent, pb), sp_t_fmt("~|~|%s|standard", b.phone));
    /* tampered bytes (in the nonce): null too */
    char *t = (char *)sp_t_fmt("%s", na);
    size_t at = strlen(sealed_label(na)) + 1 + 5;
    t[at] = t[at] == 'A' ? 'B' : 'A';
    sp_t_sql("UPDATE support_contacts SET name_enc = '%s', email_enc = '%s' "
             "WHERE customer_id = '%s'", t, ea, a.u.sub);
    ck_assert_str_eq(customer_seen(&agent, pa), sp_t_fmt("~|%s|%s|standard", a.email, a.phone));
}
END_TEST

START_TEST(agent_queue_finds_tickets_by_customer_email)
{
    struct person a = person(NULL), b = person(NULL);
    const char *a1 = sp_t_ticket_create(&a.u, "pii lookup a1");
    const char *a2 = sp_t_ticket_create(&a.u, "pii lookup a2");
    const char *b1 = sp_t_ticket_create(&b.u, "pii lookup b1");
    sp_t_db_ticket_set_status(a2, "closed");
    struct sp_t_user plain = sp_t_user_new(SP_ROLE_CUSTOMER);
    sp_t_ticket_create(&plain, "pii lookup none");
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);

    ck_assert_str_eq(by_email(&agent, a.email), ids2(a1, a2));
    ck_assert_str_eq(by_email(&agent, sp_t_fmt("  %s\t", upper(a.email))), ids2(a1, a2));
    ck_assert_str_eq(by_email(&agent, lower(a.email)), ids2(a1, a2));
    ck_assert_str_eq(by_email(&agent, b.email), b1);
    ck_assert_str_eq(by_email(&agent, sp_t_fmt("nobody+%s@example.com", a.u.sub)), "");
    /* exact match only: no prefixes or substrings */
    ck_assert_str_eq(by_email(&agent, sp_t_fmt("%.*s", (int)strlen(a.email) - 1, a.email)), "");
    /* with another filter */
    struct sp_t_resp *r = sp_t_get(sp_t_fmt("/support/agent/tickets?status=closed&"
                                            "customer_email=%s", sp_t_urlencode(a.email)),
                                   agent.token);
    sp_t_assert_json(r, 200);
    struct json_object *data = sp_t_jarr(r->json, "data");
    ck_assert_uint_eq(json_object_array_length(data), 1);
    ck_assert_str_eq(sp_t_jstr(json_object_array_get_idx(data, 0), "public_id"), a2);
    sp_t_resp_free(r);
    /* customers cannot use the agent queue at all */
    r = sp_t_get(sp_t_fmt("/support/agent/tickets?customer_email=%s", sp_t_urlencode(b.email)),
                 a.u.token);
    sp_t_assert_problem(r, 403, "forbidden");
    sp_t_resp_free(r);
}
END_TEST

/* An internationalized address is one address in any form (docs/API.md
 * §2): the queue's customer_email finds it in capitals and with the
 * domain's xn-- form. A contact stored before that normalization still
 * turns up for the form it was stored in and for its xn-- form (not in
 * other Unicode capitals), and the customer's next ticket seals it again
 * with the new index, from when on every form finds it. */
START_TEST(an_idn_address_is_found_in_any_form_and_an_older_row_is_sealed_again)
{
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);
    struct sp_t_user u = sp_t_user_new(SP_ROLE_CUSTOMER);
    const char *name = "Jürgen", *email = sp_t_fmt("jürgen.%s@bücher.example", u.sub);
    u.token = sp_t_token_claims(SP_ROLE_CUSTOMER, u.sub,
                                sp_t_fmt("{\"name\":%s,\"email\":%s}", sp_t_jq(name),
                                         sp_t_jq(email)));
    const char *t1 = sp_t_ticket_create(&u, "pii idn");
    const char *index = contact_col(u.sub, "email_index");
    const char *capitals = sp_t_fmt("JÜRGEN.%s@BÜCHER.EXAMPLE", u.sub);
    ck_assert_str_eq(by_email(&agent, email), t1);
    ck_assert_str_eq(by_email(&agent, capitals), t1);
    ck_assert_str_eq(by_email(&agent, sp_t_fmt("jürgen.%s@xn--bcher-kva.example", u.sub)), t1);

    sp_t_db_contact_make_legacy(u.sub, name, email);
    ck_assert_str_ne(contact_col(u.sub, "email_index"), index);
    ck_assert_str_eq(by_email(&agent, email), t1);
    ck_assert_str_eq(by_email(&agent, sp_t_fmt("jürgen.%s@XN--BCHER-KVA.example", u.sub)), t1);
    ck_assert_str_eq(by_email(&agent, capitals), "");
    const char *t2 = sp_t_ticket_create(&u, "pii idn again");
    ck_assert_str_eq(contact_col(u.sub, "email_index"), index);
    ck_assert_str_eq(by_email(&agent, capitals), ids2(t1, t2));
}
END_TEST

/* ---- rotation --------------------------------------------------------------- */

static const char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return sp_t_fmt("%s", buf);
}

static bool
has_label(const char *keys, const char *label)
{
    const char *p = keys;
    size_t ll = strlen(label);
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n')
            p++;
        const char *colon = strchr(p, ':');
        if (colon == NULL)
            break;
        if ((size_t)(colon - p) == ll && strncmp(p, label, ll) == 0)
            return true;
        const char *comma = strchr(colon, ',');
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return false;
}

START_TEST(key_rotation_keeps_old_contacts_readable_and_uses_the_new_key)
{
    const char *file = getenv("SP_TEST_ENCRYPTION_KEYS_FILE");
    ck_assert_msg(file != NULL && *file != '\0',
                  "the runner must start support-api with SUPPORT_ENCRYPTION_KEYS_FILE");
    struct sp_t_user agent = sp_t_user_new(SP_ROLE_AGENT);

    /* Before: a contact under the current key. */
    struct person old = person("premium");
    const char *old_pid = sp_t_ticket_create(&old.u, "pii before rotation");
    const char *old_label = sealed_label(contact_col(old.u.sub, "email_enc"));
    const char *old_index = contact_col(old.u.sub, "email_index");
    const char *keys = read_file(file);
    ck_assert_msg(strncmp(keys, old_label, strlen(old_label)) == 0
                      && keys[strlen(old_label)] == ':',
                  "contacts are sealed with \"%s\", not the first key of the file", old_label);

    /* A fresh label (v2 the first time) and a random key in front. */
    const char *label = "v2";
    for (int k = 3; has_label(keys, label); k++)
        label = sp_t_fmt("v%d", k);
    unsigned char raw[32];
    ck_assert(RAND_bytes(raw, sizeof(raw)) == 1);
    unsigned char b64[64];
    ck_assert_int_eq(EVP_EncodeBlock(b64, raw, sizeof(raw)), 44);
    FILE *f = fopen(file, "w");
    ck_assert_msg(f != NULL, "cannot write %s", file);
    fprintf(f, "%s:%s,%s\n", label, (const char *)b64, keys);
    fclose(f);
    sp_t_stackctl("signal-api HUP");

    /* Every worker reloads between requests: wait until new contacts are
     * sealed with the new key several times in a row. */
    int streak = 0;
    const char *seen = "";
    for (int attempt = 0; attempt < 150 && streak < 8; attempt++) {
        struct person probe = person(NULL);
        sp_t_ticket_create(&probe.u, "pii rotation probe");
        const char *l = sealed_label(contact_col(probe.u.sub, "email_enc"));
        if (strcmp(l, label) == 0) {
            streak++;
        } else {
            ck_assert_msg(strcmp(l, old_label) == 0, "a contact sealed with \"%s\"", l);
            streak = 0;
            seen = l;
            usleep(100 * 1000);
        }
    }
    ck_assert_msg(streak >= 8, "after SIGHUP new contacts are still sealed with \"%s\", not \"%s\"",
                  seen, label);

    /* The old contact still opens, in every worker; it was not rewritten. */
    for (int i = 0; i < 8; i++)
        ck_assert_str_eq(customer_seen(&agent, old_pid), expected(&old, "premium"));
    ck_assert_str_eq(sealed_label(contact_col(old.u.sub, "email_enc")), old_label);

    /* A new customer is sealed with the new key... */
    struct person fresh = person("vip");
    const char *new_pid = sp_t_ticket_create(&fresh.u, "pii after rotation");
    for (int i = 0; i < 3; i++) {
        const char *col = (const char *[]){"name_enc", "email_enc", "phone_enc"}[i];
        ck_assert_str_eq(sealed_label(contact_col(fresh.u.sub, col)), label);
    }
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(customer_seen(&agent, new_pid), expected(&fresh, "vip"));

    /* ...and the email lookup finds both (the index key did not change). */
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(by_email(&agent, old.email), old_pid);
        ck_assert_str_eq(by_email(&agent, upper(fresh.email)), new_pid);
    }

    /* The old customer's next ticket rewrites the contact with the new key,
     * same index, still readable on both tickets. */
    const char *old_pid2 = sp_t_ticket_create(&old.u, "pii after rotation, old customer");
    ck_assert_str_eq(sealed_label(contact_col(old.u.sub, "email_enc")), label);
    ck_assert_str_eq(contact_col(old.u.sub, "email_index"), old_index);
    ck_assert_str_eq(customer_seen(&agent, old_pid), expected(&old, "premium"));
    ck_assert_str_eq(by_email(&agent, old.email), ids2(old_pid, old_pid2));
}
END_TEST

static Suite *
pii_suite(void)
{
    Suite *s = suite_create("pii");
    TCase *tc = sp_t_tcase(s, "storage");
    tcase_add_test(tc, contact_is_stored_encrypted_with_a_blind_index);
    tcase_add_test(tc, customers_never_see_the_contact);
    tcase_add_test(tc, a_customer_without_pii_claims_has_null_contact_fields);
    tcase_add_test(tc, newer_claims_replace_the_stored_ones);
    tcase_add_test(tc, claims_that_cannot_be_a_contact_are_not_stored);
    tcase_add_test(tc, the_same_claims_leave_the_contact_row_alone);
    tcase_add_test(tc, ciphertexts_moved_between_rows_or_fields_do_not_open);
    tcase_add_test(tc, agent_queue_finds_tickets_by_customer_email);
    tcase_add_test(tc, an_idn_address_is_found_in_any_form_and_an_older_row_is_sealed_again);
    tc = sp_t_tcase(s, "rotation");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, key_rotation_keeps_old_contacts_readable_and_uses_the_new_key);
    return s;
}

int
main(void)
{
    return sp_t_run(pii_suite());
}
