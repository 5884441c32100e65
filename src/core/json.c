/*
 * json: body parsing and the one field validator. See json.h.
 */
#include "core/json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/hex.h"
#include "core/utf8.h"

static void
json_put(void *o)
{
    json_object_put(o);
}

void
sp_json_release_with(struct sp_arena *a, struct json_object *o)
{
    if (o != NULL)
        sp_arena_defer(a, json_put, o);
}

/* What a JSON text holds outside its strings (RFC 8259): structure,
 * numbers and the literals true, false and null. */
static const char json_chars[] = "{}[],:-+.0123456789eEtruefalsn \t\r\n";

/* Whether the name or string closing at s[i] is a member name: the next
 * character that is not whitespace is a colon. */
static bool
names_member(const char *s, size_t len, size_t i)
{
    for (i++; i < len && s[i] != '\0' && strchr(" \t\r\n", s[i]) != NULL; i++)
        continue;
    return i < len && s[i] == ':';
}

/* Whether s[i] begins a number's integer part: at the start, after a
 * structural character or a blank, or after a '-' that is not an
 * exponent's sign (1e-05 may have zeros after its sign). */
static bool
integer_start(const char *s, size_t i)
{
    if (i > 0 && s[i - 1] == '-')
        i--;
    return i == 0 || strchr("[{,: \t\r\n", s[i - 1]) != NULL;
}

/* The UTF-16 code unit of the \uXXXX escape at s[i] (the backslash), or
 * -1 when there is none there. */
static long
u_escape(const char *s, size_t len, size_t i)
{
    if (len - i < 6 || s[i] != '\\' || s[i + 1] != 'u')
        return -1;
    long v = 0;
    for (size_t k = i + 2; k < i + 6; k++) {
        int d = sp_hex_value((unsigned char)s[k]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The string opening at s[*i] ('"'): *i moved to its closing quote. Its
 * fault, or NULL: an escaped surrogate that is not one half of a pair,
 * which json-c turns into U+FFFD where nothing may be rewritten silently;
 * a raw control character, which RFC 8259 says must be escaped and json-c
 * takes anyway (QA: a raw tab and line break were stored, a raw U+0001
 * became U+FFFD, and a raw NUL was "unexpected end of data"); *nul when
 * it holds \u0000. */
static const char *
string_check(const char *s, size_t len, size_t *i, bool *nul)
{
    *nul = false;
    size_t k = *i + 1;
    for (; k < len && s[k] != '"'; k++) {
        if ((unsigned char)s[k] < 0x20)
            return "a string holds a control character (U+0000 to U+001F) that is not escaped:"
                   " write it as \\n, \\t or \\u00XX";
        if (s[k] != '\\')
            continue;
        long u = u_escape(s, len, k);
        *nul = *nul || u == 0;
        if (u >= 0xdc00 && u <= 0xdfff)
            return "a \\u escape is half of a UTF-16 surrogate pair";
        if (u >= 0xd800 && u <= 0xdbff) {
            long low = u_escape(s, len, k + 6);
            if (low < 0xdc00 || low > 0xdfff)
                return "a \\u escape is half of a UTF-16 surrogate pair";
            k += 6;
        }
        k++;
    }
    *i = k;
    return NULL;
}

/* What text_check counts outside strings. */
struct text_counts {
    size_t members;     /* every ':', which in valid JSON separates a name
                         * from its value and does nothing else */
    size_t containers;  /* objects and arrays */
    size_t items;       /* members and array elements, at every level */
    size_t deepest;     /* most objects and arrays open at once */
};

/* Checks, before json-c builds anything, what json-c reads although it is
 * not JSON, even with JSON_TOKENER_STRICT: NaN, Infinity, -Infinity (a
 * database refuses them later), "1." and "1.e5", single-quoted strings; a
 * member name with \u0000, which json-c cuts there ({"subject\u0000x":…}
 * would be read as "subject"); a number with a leading zero (-01 was read
 * as -1, 00 as 0); a lone escaped surrogate. Returns the fault, NULL when
 * there is none. Also counts (into c) what the limits of sp_json_parse
 * are about. */
static const char *
text_check(const char *s, size_t len, struct text_counts *c)
{
    *c = (struct text_counts){0};
    size_t depth = 0;
    bool opened = false;   /* an object or array began, its first item not yet */
    for (size_t i = 0; i < len; i++) {
        /* A container's items are its commas plus one when it is not empty:
         * the first character after its '{' or '[' that is no blank. */
        if (opened && strchr(" \t\r\n", s[i]) == NULL) {
            opened = false;
            c->items += s[i] != '}' && s[i] != ']';
        }
        if (s[i] == '"') {
            bool nul;
            const char *fault = string_check(s, len, &i, &nul);
            if (fault != NULL)
                return fault;
            if (nul && names_member(s, len, i))
                return "a member name contains \\u0000";
        } else if (s[i] == ':') {
            c->members++;
        } else if (s[i] == ',') {
            c->items++;
        } else if (s[i] == '{' || s[i] == '[') {
            c->containers++;
            opened = true;
            depth++;
            c->deepest = depth > c->deepest ? depth : c->deepest;
        } else if (s[i] == '}' || s[i] == ']') {
            depth -= depth > 0;   /* one too many is json-c's to refuse */
        } else if (s[i] == '.' && (i + 1 == len || s[i + 1] < '0' || s[i + 1] > '9')) {
            return "a number has no digit after its '.'";
        } else if (s[i] == 'N' || s[i] == 'I') {
            return "NaN and Infinity are not JSON numbers";
        } else if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9' &&
                   integer_start(s, i)) {
            return "a number has a leading zero";
        } else if (s[i] == '\0' || strchr(json_chars, s[i]) == NULL) {
            return "unexpected character";
        }
    }
    return NULL;
}

/* Members the parsed tree kept (depth is bounded by SP_JSON_DEPTH_MAX). */
static size_t
tree_members(struct json_object *o)
{
    size_t n = 0;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, key, value) {
            (void)key;
            n += 1 + tree_members(value);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        size_t len = json_object_array_length(o);
        for (size_t i = 0; i < len; i++)
            n += tree_members(json_object_array_get_idx(o, i));
    }
    return n;
}

/* Whether the counts of a text are within what sp_json_parse reads;
 * else p says which limit it is past. Refused before json-c builds a
 * thing: the cost is in the building. */
static bool
within_limits(const struct text_counts *c, size_t items_max, struct sp_problem *p)
{
    /* QA: 340,000 empty objects in one MiB held a worker 3 s and 275 MB
     * (json-c allocates a table each); no request needs more than this. */
    if (c->containers > SP_JSON_CONTAINERS_MAX) {
        sp_problem_set(p, SP_TOO_LARGE, "payload_too_large",
                       "the request body holds more than %d objects and arrays",
                       SP_JSON_CONTAINERS_MAX);
        return false;
    }
    /* QA: 90,000 members of one object in a MiB cost a worker 0.4-0.9 s
     * (a hash entry and a string each, then the repeat check's walk). */
    if (c->items > items_max) {
        sp_problem_set(p, SP_TOO_LARGE, "payload_too_large",
                       "the request body holds more than %zu members and array elements",
                       items_max);
        return false;
    }
    /* Counted here, as API.md §1 says it: objects and arrays inside each
     * other, whatever the innermost holds. json-c counts a scalar inside
     * the innermost as a level of its own (32 arrays around a 1 were
     * refused, 32 around nothing taken), so its limit is one above ours
     * and never the one that refuses. */
    if (c->deepest > SP_JSON_DEPTH_MAX) {
        sp_problem_set(p, SP_INVALID, "invalid_json",
                       "malformed JSON: nesting too deep (more than %d objects and arrays"
                       " inside each other)", SP_JSON_DEPTH_MAX);
        return false;
    }
    return true;
}

/* sp_json_parse with at most items_max members and array elements. */
static struct json_object *
parse_within(struct sp_arena *a, const char *text, size_t len, size_t items_max,
             struct sp_problem *p)
{
    if (len == 0) {
        sp_problem_set(p, SP_INVALID, "invalid_json", "the request body is empty");
        return NULL;
    }
    if (!sp_utf8_valid(text, len)) {
        sp_problem_set(p, SP_INVALID, "invalid_json", "the request body is not valid UTF-8");
        return NULL;
    }
    struct text_counts c;
    const char *fault = text_check(text, len, &c);
    if (fault != NULL) {
        sp_problem_set(p, SP_INVALID, "invalid_json", "malformed JSON: %s", fault);
        return NULL;
    }
    if (!within_limits(&c, items_max, p))
        return NULL;
    struct json_tokener *tok = json_tokener_new_ex(SP_JSON_DEPTH_MAX + 1);
    if (tok == NULL) {
        sp_problem_set(p, SP_ERROR, "internal", "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        /* A top-level scalar ("42") only ends at end of input: say so. */
        o = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        used = len;
    }
    json_tokener_free(tok);
    if (o != NULL)
        sp_arena_defer(a, json_put, o);
    if (jerr != json_tokener_success) {
        sp_problem_set(p, SP_INVALID, "invalid_json", "malformed JSON: %s",
                       jerr == json_tokener_continue ? "unexpected end of input"
                                                     : json_tokener_error_desc(jerr));
        return NULL;
    }
    /* Trailing garbage after the value is malformed too (whitespace is fine). */
    for (size_t i = used; i < len; i++) {
        if (text[i] == '\0' || strchr(" \t\r\n", text[i]) == NULL) {
            sp_problem_set(p, SP_INVALID, "invalid_json", "malformed JSON: trailing data");
            return NULL;
        }
    }
    /* json-c keeps the last of a repeated name; refuse instead, so no
     * reader of the same body (a proxy, a log, a signature) sees another
     * value than we do. Fewer members kept than named means a repeat. */
    if (o != NULL && tree_members(o) != c.members) {
        sp_problem_set(p, SP_INVALID, "invalid_json",
                       "malformed JSON: an object names a member twice");
        return NULL;
    }
    if (o == NULL) {
        /* The literal null parses to no object: valid JSON, wrong shape. */
        sp_problem_set(p, SP_INVALID, "validation_failed", "the request body must be a JSON object");
        return NULL;
    }
    return o;
}

struct json_object *
sp_json_parse(struct sp_arena *a, const char *text, size_t len, struct sp_problem *p)
{
    return parse_within(a, text, len, SIZE_MAX, p);
}

struct json_object *
sp_json_parse_body(struct sp_arena *a, const char *text, size_t len, struct sp_problem *p)
{
    return parse_within(a, text, len, SP_JSON_ITEMS_MAX, p);
}

static const char *
type_message(enum sp_field_type t)
{
    switch (t) {
    case SP_FIELD_STRING: return "must be a string";
    case SP_FIELD_INT:    return "must be an integer";
    case SP_FIELD_BOOL:   return "must be a boolean";
    case SP_FIELD_ENUM:   return "must be a string";
    case SP_FIELD_OBJECT: return "must be an object";
    case SP_FIELD_ARRAY:
    case SP_FIELD_LIST:   return "must be an array";
    case SP_FIELD_NUMBER: return "must be a number";
    }
    return "has the wrong type";
}

static bool
type_ok(struct json_object *v, enum sp_field_type t)
{
    switch (t) {
    case SP_FIELD_STRING:
    case SP_FIELD_ENUM:   return json_object_is_type(v, json_type_string);
    case SP_FIELD_INT:    /* an integral 5.0 or 1e3 too: integral_value() decides */
        return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
    case SP_FIELD_BOOL:   return json_object_is_type(v, json_type_boolean);
    case SP_FIELD_OBJECT: return json_object_is_type(v, json_type_object);
    case SP_FIELD_ARRAY:
    case SP_FIELD_LIST:   return json_object_is_type(v, json_type_array);
    case SP_FIELD_NUMBER:
        return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
    }
    return false;
}

/* json-c reads an integer above INT64_MAX as a uint64 (saturated at
 * UINT64_MAX) and one below INT64_MIN as INT64_MIN, silently: a value
 * stored as read would not be the one sent. Integers fit int64, and
 * INT64_MIN itself is refused, as it cannot be told from a saturated one. */
static bool
int_fits(struct json_object *v)
{
    return json_object_get_uint64(v) <= (uint64_t)INT64_MAX &&
           json_object_get_int64(v) != INT64_MIN;
}

/* The value of the JSON number text s (as json-c keeps a parsed double's)
 * when it is an integer, however written — 5.0, 5e0, 1e3, 1.5e1 — as JSON
 * Schema's "integer" means any number with a zero fractional part. Worked
 * out from the digits, not the double, which rounds past 2^53 and turns
 * 1e400 into inf. Returns 0 when it is no integer (5.5, 1e-3), 1 with *out
 * set, -1 when it is one outside int64 (or INT64_MIN, as int_fits). */
static int
integral_value(const char *s, long long *out)
{
    bool neg = *s == '-';
    s += neg;
    size_t mlen = strcspn(s, "eE");
    long exp = 0;
    const char *e = s + mlen + (s[mlen] != '\0');
    bool eneg = *e == '-';
    for (e += *e == '-' || *e == '+'; *e >= '0' && *e <= '9'; e++)
        exp = exp > 1000000 ? exp : exp * 10 + (*e - '0');
    const char *dot = memchr(s, '.', mlen);
    /* The power of ten of each digit in turn, from the first one's. */
    long power = (long)(dot != NULL ? (size_t)(dot - s) : mlen) - 1 + (eneg ? -exp : exp);
    unsigned long long v = 0;
    for (size_t i = 0; i < mlen; i++) {
        if (s[i] == '.')
            continue;
        int d = s[i] - '0';
        if (d != 0 && power < 0)
            return 0;
        if (d != 0 && power > 18)   /* 10^19 and more: past INT64_MAX */
            return -1;
        if (power >= 0)
            v = v * 10 + (unsigned long long)d;
        power--;
    }
    /* Places the exponent adds after the last digit (none when v is 0). */
    for (; v != 0 && power >= 0; power--)
        v *= 10;
    if (v > (unsigned long long)INT64_MAX)
        return -1;
    *out = neg ? -(long long)v : (long long)v;
    return 1;
}

bool
sp_json_has_nul(struct json_object *s)
{
    return memchr(json_object_get_string(s), '\0', (size_t)json_object_get_string_len(s)) != NULL;
}

/* Most digits a number may take written out. PostgreSQL stores a JSON
 * number as numeric, every digit of it: 1e131071 is 131,072 digits, so
 * 4 KiB of metadata made a 57 MB ticket (QA); 1e131072 it refuses. */
#define NUMBER_DIGITS_MAX 40

/* The digits of the JSON number text s written out: its mantissa's plus
 * its exponent's magnitude (an estimate from above, never under). */
static long
number_digits(const char *s)
{
    long digits = 0, exp = 0;
    for (; *s != '\0' && *s != 'e' && *s != 'E'; s++)
        digits += *s >= '0' && *s <= '9';
    if (*s != '\0')
        s++;
    if (*s == '-' || *s == '+')
        s++;
    for (; *s >= '0' && *s <= '9' && exp <= NUMBER_DIGITS_MAX; s++)
        exp = exp * 10 + (*s - '0');
    return digits + exp;
}

/* The first fault inside an object or array field (metadata, a list)
 * that the database would refuse (a NUL in text) or that would be stored
 * changed or swollen (an integer out of int64, a number of more than
 * NUMBER_DIGITS_MAX digits written out); an error code or NULL. */
static const char *
nested_fault(struct json_object *v, const char **message)
{
    const char *code = NULL;
    switch (json_object_get_type(v)) {
    case json_type_string:
        if (sp_json_has_nul(v)) {
            *message = SP_PROBLEM_NUL_MESSAGE;
            return "invalid";
        }
        return NULL;
    case json_type_int:
        if (!int_fits(v)) {
            *message = "holds an integer out of range";
            return "out_of_range";
        }
        return NULL;
    case json_type_double:
        /* json-c keeps a parsed number's text as written */
        if (number_digits(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)) >
            NUMBER_DIGITS_MAX) {
            *message = "holds a number of more than 40 digits written out (as 1e40 or 1e-40)";
            return "out_of_range";
        }
        return NULL;
    case json_type_object: {
        json_object_object_foreach(v, key, value) {
            (void)key;
            if (code == NULL)
                code = nested_fault(value, message);
        }
        return code;
    }
    case json_type_array:
        for (size_t i = 0; code == NULL && i < json_object_array_length(v); i++)
            code = nested_fault(json_object_array_get_idx(v, i), message);
        return code;
    default:
        return NULL;
    }
}

/* An object or array field: nothing inside that nested_fault() refuses
 * (a list's items are its reader's, SP_FIELD_LIST), and, with max set, an
 * object of at most max bytes as compact JSON or an array of at most max
 * elements. Returns an error code or NULL. */
static const char *
check_nested(const struct sp_field_spec *s, struct json_object *v, struct sp_field_value *out,
             const char **message, char *msg)
{
    out->obj = v;
    const char *code = s->type == SP_FIELD_LIST ? NULL : nested_fault(v, message);
    if (code != NULL || s->max <= 0)
        return code;
    if (s->type != SP_FIELD_OBJECT) {
        if ((long long)json_object_array_length(v) > s->max) {
            *message = sp_problem_msgf(msg, "must have at most %lld items", s->max);
            return "too_many";
        }
        return NULL;
    }
    size_t len;
    sp_json_compact(v, &len);
    if ((long long)len > s->max) {
        *message = sp_problem_msgf(msg, "must be at most %lld bytes as compact JSON", s->max);
        return "too_large";
    }
    return NULL;
}


/* Checks one present, well-typed value; returns an error code or NULL.
 * *message is a literal or msg (SP_PROBLEM_MESSAGE_MAX bytes). */
static const char *
check_value(const struct sp_field_spec *s, struct json_object *v, struct sp_field_value *out,
            const char **message, char *msg)
{
    switch (s->type) {
    case SP_FIELD_STRING: {
        out->str = json_object_get_string(v);
        out->len = (size_t)json_object_get_string_len(v);
        if (memchr(out->str, '\0', out->len) != NULL) {
            *message = SP_PROBLEM_NUL_MESSAGE;
            return "invalid";
        }
        long long n = (long long)sp_utf8_count(out->str, out->len);
        if (n < s->min) {
            *message = s->min <= 1
                           ? "must not be empty"
                           : sp_problem_msgf(msg, "must be at least %lld characters", s->min);
            return "too_short";
        }
        if (s->max > 0 && n > s->max) {
            *message = sp_problem_msgf(msg, "must be at most %lld characters", s->max);
            return "too_long";
        }
        return NULL;
    }
    case SP_FIELD_ENUM: {
        out->str = json_object_get_string(v);
        out->len = (size_t)json_object_get_string_len(v);
        for (long long i = 0; s->values[i] != NULL; i++) {
            if (strcmp(s->values[i], out->str) == 0) {
                out->i = i;
                return NULL;
            }
        }
        *message = sp_problem_list_text(msg, "must be one of: ", s->values, SIZE_MAX);
        return "invalid";
    }
    case SP_FIELD_INT: {
        int whole = 1;
        if (json_object_is_type(v, json_type_double))
            whole = integral_value(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                                   &out->i);
        else
            out->i = json_object_get_int64(v);
        if (whole == 0) {
            *message = type_message(SP_FIELD_INT);
            return "wrong_type";
        }
        if (whole < 0 || (json_object_is_type(v, json_type_int) && !int_fits(v)) ||
            out->i < s->min || out->i > s->max) {
            *message = sp_problem_msgf(msg, "must be an integer from %lld to %lld", s->min, s->max);
            return "out_of_range";
        }
        return NULL;
    }
    case SP_FIELD_BOOL:
        out->b = json_object_get_boolean(v);
        return NULL;
    case SP_FIELD_NUMBER:
        out->d = json_object_get_double(v);
        if ((json_object_is_type(v, json_type_int) && !int_fits(v)) ||
            !(out->d >= s->dmin && out->d <= s->dmax)) {  /* NaN fails too */
            *message = sp_problem_msgf(msg, "must be a number from %g to %g", s->dmin, s->dmax);
            return "out_of_range";
        }
        return NULL;
    case SP_FIELD_OBJECT:
    case SP_FIELD_ARRAY:
    case SP_FIELD_LIST:
        return check_nested(s, v, out, message, msg);
    }
    return NULL;
}

/* name in lower case without '_' or '-', and (strip) without what a client adds
 * to a field's name when it means the field: an "_id"/"_ids" ending
 * (written with a separator or in camel case) and then a plural "s"
 * ("attachment_ids", "attachmentIds" and "attachment" all stand for
 * "attachments"). false when it does not fit out. */
static bool
loose_stem(const char *name, bool strip, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *c = name; *c != '\0'; c++) {
        if (*c == '_' || *c == '-')
            continue;
        if (n + 1 >= cap)
            return false;
        out[n++] = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
    }
    size_t len = strlen(name);
    while (len > 0 && (name[len - 1] == '_' || name[len - 1] == '-'))
        len--;
    static const char *const ends[] = {"ids", "id"};
    for (size_t k = 0; k < 2 && strip; k++) {
        size_t el = strlen(ends[k]);
        if (len <= el + 1 || strncasecmp(name + len - el, ends[k], el) != 0)
            continue;
        /* "_ids", "-id", "Ids": a word of its own, not "paid"'s "id". */
        char before = name[len - el - 1];
        if (before == '_' || before == '-' ||
            (name[len - el] == 'I' && before >= 'a' && before <= 'z')) {
            n -= el;
            break;
        }
    }
    if (strip && n > 3 && out[n - 1] == 's')
        n--;
    out[n] = '\0';
    return n > 0;
}

/* Whether a and b are one name but for letter case and '_' or '-', or
 * but for an id ending and a plural too (loose_stem). */
static bool
same_name_loosely(const char *a, const char *b)
{
    char x[64], y[64];
    for (int strip = 0; strip <= 1; strip++)
        if (loose_stem(a, strip, x, sizeof(x)) && loose_stem(b, strip, y, sizeof(y)) &&
            strcmp(x, y) == 0)
            return true;
    return false;
}

/* Other products' names of some of our fields (Zammad's "internal",
 * Freshdesk's "private", Zendesk's "public" and "assignee_id", "state"):
 * a client written for them sets nothing here unless told (QA: an
 * "internal": true note went out to the customer and was mailed). Each is
 * refused as misspelled_field only where its field is in the body's
 * table. A name our own answers carry stays ignored (an article's
 * "status": a client may send back what it read). */
static const struct {
    const char *field;
    const char *names[7];
} other_names[] = {
    {"is_internal", {"internal", "private", "is_private", "public", "is_public", NULL}},
    {"assigned_agent_id", {"assignee", "assignee_id", "agent_id", "owner_id", NULL}},
    {"status", {"state", NULL}},
    {"is_published", {"published", "is_draft", "draft", NULL}},
};

/* The field of specs that key names as another product would, or NULL. */
static const char *
field_named_otherwise(const char *key, const struct sp_field_spec *specs, size_t nspecs)
{
    for (size_t i = 0; i < sizeof(other_names) / sizeof(other_names[0]); i++)
        for (size_t k = 0; other_names[i].names[k] != NULL; k++) {
            if (!same_name_loosely(key, other_names[i].names[k]))
                continue;
            for (size_t j = 0; j < nspecs; j++)
                if (strcmp(specs[j].name, other_names[i].field) == 0)
                    return specs[j].name;
        }
    return NULL;
}

/* Unknown members are ignored (API.md §1), but one that is a field's name
 * written another way is a typo the client meant as that field: ignored,
 * it was silently not set (QA: "Is_Internal": true published an
 * internal note to the customer). Each is a field error naming the
 * field meant, even beside the field itself (which of the two counts is
 * no guess to make). */
static void
refuse_misspelled(struct json_object *body, const struct sp_field_spec *specs, size_t nspecs,
                  struct sp_problem *p)
{
    json_object_object_foreach(body, key, value) {
        (void)value;
        const char *meant = NULL;
        bool exact = false;
        for (size_t i = 0; i < nspecs && !exact; i++) {
            exact = strcmp(key, specs[i].name) == 0;
            if (meant == NULL && same_name_loosely(key, specs[i].name))
                meant = specs[i].name;
        }
        if (!exact && meant == NULL)
            meant = field_named_otherwise(key, specs, nspecs);
        if (!exact && meant != NULL) {
            char msg[SP_PROBLEM_MESSAGE_MAX];
            snprintf(msg, sizeof(msg), "is no field; did you mean %s?", meant);
            /* key is the parsed body's: it lives as long as the request. */
            sp_problem_field(p, key, "misspelled_field", msg);
        }
    }
}

enum sp_rc
sp_json_validate(struct json_object *body, const struct sp_field_spec *specs, size_t nspecs,
                 struct sp_field_value *out, struct sp_problem *p)
{
    memset(out, 0, nspecs * sizeof(*out));
    if (!json_object_is_type(body, json_type_object)) {
        sp_problem_set(p, SP_INVALID, "validation_failed", "the request body must be a JSON object");
        return SP_INVALID;
    }
    for (size_t i = 0; i < nspecs; i++) {
        const struct sp_field_spec *s = &specs[i];
        struct json_object *v = NULL;
        bool exists = json_object_object_get_ex(body, s->name, &v);
        if (!exists || v == NULL) {
            if (exists && !s->nullable)
                sp_problem_field(p, s->name, "wrong_type", type_message(s->type));
            else if (!exists && s->required)
                sp_problem_field(p, s->name, "required", "is required");
            else if (exists && s->required)
                sp_problem_field(p, s->name, "required", "is required");
            continue;
        }
        if (!type_ok(v, s->type)) {
            sp_problem_field(p, s->name, "wrong_type", type_message(s->type));
            continue;
        }
        const char *message = NULL;
        char msg[SP_PROBLEM_MESSAGE_MAX];
        const char *code = check_value(s, v, &out[i], &message, msg);
        if (code != NULL) {
            sp_problem_field(p, s->name, code, message);
            continue;
        }
        out[i].present = true;
    }
    refuse_misspelled(body, specs, nspecs, p);
    return p->rc == SP_INVALID ? SP_INVALID : SP_OK;
}

const char *
sp_json_compact(struct json_object *o, size_t *len)
{
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, len);
    return s;
}

char *
sp_json_minify(struct sp_arena *a, const char *s)
{
    if (s == NULL)
        return NULL;
    char *out = sp_arena_alloc(a, strlen(s) + 1), *o = out;
    bool in_string = false;
    for (; *s != '\0'; s++) {
        if (in_string && *s == '\\' && s[1] != '\0') {
            *o++ = *s++;   /* an escape: the next character is the string's */
        } else if (*s == '"') {
            in_string = !in_string;
        } else if (!in_string && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
            continue;   /* JSON's whitespace (RFC 8259 §2) */
        }
        *o++ = *s;
    }
    *o = '\0';
    return out;
}
