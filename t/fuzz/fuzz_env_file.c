/*
 * fuzz_env_file: libFuzzer target for the settings file read as systemd
 * reads an EnvironmentFile= (core/env_file.c): support.env is written by
 * hand, and the jobs, support-migrate and the FastCGI programs'
 * --check-config read it with --env-file. Input: the file's text, all of
 * it (NUL bytes too), in an exact-size copy, so ASan catches a read past
 * its end. Aborts unless
 *   - text with a NUL byte is refused as such and passes nothing on;
 *   - every name passed on is a variable name (a letter or _, then
 *     letters, digits, _) found as it is in the text, and every value is
 *     valid UTF-8 no longer than the text;
 *   - a refusal is one of the parser's own sentences with a line number
 *     inside the text (so it never quotes the text: a value may be a
 *     secret);
 *   - what was passed on, written back as NAME="value" with \ " ` $
 *     escaped, reads back as the same assignments;
 *   - text without quotes or backslashes reads as a line-by-line reading
 *     says (the name before the line's first "=", the value after it,
 *     blanks around each dropped; "#" and ";" lines skipped, a line
 *     without "=" refused), refusals included.
 * Build: scripts/dev fuzz env_file (replayed by `make check`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env_file.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* The assignments one parse passed on, in order, and the text it read. */
struct seen {
    const char *text;
    size_t len;
    char **name, **value;
    size_t n, cap;
};

static bool
name_char(char c, bool first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && c >= '0' && c <= '9');
}

static void
each(void *arg, const char *name, const char *value)
{
    struct seen *s = arg;
    CHECK(memchr(s->text, '\0', s->len) == NULL);
    for (const char *c = name; *c != '\0'; c++)
        CHECK(name_char(*c, c == name));
    CHECK(*name != '\0' && memmem(s->text, s->len, name, strlen(name)) != NULL);
    CHECK(strlen(value) <= s->len && sp_utf8_valid(value, strlen(value)));
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->name = realloc(s->name, s->cap * sizeof(*s->name));
        s->value = realloc(s->value, s->cap * sizeof(*s->value));
        CHECK(s->name != NULL && s->value != NULL);
    }
    s->name[s->n] = strdup(name);
    s->value[s->n] = strdup(value);
    CHECK(s->name[s->n] != NULL && s->value[s->n] != NULL);
    s->n++;
}

static void
seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->name[i]);
        free(s->value[i]);
    }
    free(s->name);
    free(s->value);
}

static unsigned
lines_of(const char *text, size_t len)
{
    unsigned n = 1;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    return n;
}

/* err is one of the parser's sentences, its line inside the text. */
static void
check_refusal(const char *text, size_t len, const char *err)
{
    if (memchr(text, '\0', len) != NULL) {
        CHECK(strcmp(err, "a NUL byte: not a text file") == 0);
        return;
    }
    unsigned line;
    int at = -1;
    CHECK(sscanf(err, "line %u: %n", &line, &at) == 1 && at > 0);
    CHECK(line >= 1 && line <= lines_of(text, len));
    CHECK(strcmp(err + at, "not NAME=value with a NAME of letters, digits and _") == 0 ||
          strcmp(err + at, "the value is not UTF-8") == 0);
}

/* The assignments written back, each NAME="value", read as the same. */
static void
check_round_trip(const struct seen *s)
{
    size_t cap = 1;
    for (size_t i = 0; i < s->n; i++)
        cap += strlen(s->name[i]) + 2 * strlen(s->value[i]) + 4;
    char *out = malloc(cap), *o = out;
    CHECK(out != NULL);
    for (size_t i = 0; i < s->n; i++) {
        o += sprintf(o, "%s=\"", s->name[i]);
        for (const char *c = s->value[i]; *c != '\0'; c++) {
            if (strchr("\\\"`$", *c) != NULL)
                *o++ = '\\';
            *o++ = *c;
        }
        *o++ = '"';
        *o++ = '\n';
    }
    struct seen again = {.text = out, .len = (size_t)(o - out)};
    char err[256] = "";
    CHECK(sp_env_file_parse(out, again.len, each, &again, err, sizeof(err)));
    CHECK(again.n == s->n);
    for (size_t i = 0; i < s->n; i++)
        CHECK(strcmp(again.name[i], s->name[i]) == 0 && strcmp(again.value[i], s->value[i]) == 0);
    seen_free(&again);
    free(out);
}

static bool
space(char c)
{
    return c == ' ' || c == '\t';
}

/* [*b, *e) without the blanks around it. */
static void
trim(const char **b, const char **e)
{
    while (*b < *e && space(**b))
        (*b)++;
    while (*e > *b && space((*e)[-1]))
        (*e)--;
}

/* One line of text without quotes or backslashes against what was
 * passed on from *k on; false (after checking err) when it is refused. */
static bool
model_line(const struct seen *s, size_t *k, const char *b, const char *e, unsigned line,
           const char *err)
{
    trim(&b, &e);
    if (b == e || *b == '#' || *b == ';')
        return true;
    /* The name's first character is never its "=" (systemd's KEY state). */
    const char *eq = memchr(b + 1, '=', (size_t)(e - b - 1));
    const char *ne = eq != NULL ? eq : e, *vb = eq != NULL ? eq + 1 : e, *ve = e;
    trim(&b, &ne);
    trim(&vb, &ve);
    bool name_ok = eq != NULL && b < ne && name_char(*b, true);
    for (const char *c = b + 1; c < ne; c++)
        name_ok = name_ok && name_char(*c, false);
    char want[128];
    if (!name_ok || !sp_utf8_valid(vb, (size_t)(ve - vb))) {
        snprintf(want, sizeof(want), "line %u: %s", line,
                 !name_ok ? "not NAME=value with a NAME of letters, digits and _"
                          : "the value is not UTF-8");
        CHECK(*k == s->n && strcmp(err, want) == 0);
        return false;
    }
    CHECK(*k < s->n && strlen(s->name[*k]) == (size_t)(ne - b) &&
          memcmp(s->name[*k], b, (size_t)(ne - b)) == 0);
    CHECK(strlen(s->value[*k]) == (size_t)(ve - vb) &&
          memcmp(s->value[*k], vb, (size_t)(ve - vb)) == 0);
    (*k)++;
    return true;
}

/* Text without quotes, backslashes or NUL: line by line (CR ends a line
 * too, as in systemd; only LF counts one). */
static void
check_model(const struct seen *s, bool ok, const char *err)
{
    const char *p = s->text, *end = s->text + s->len;
    size_t k = 0;
    unsigned line = 1;
    while (p < end) {
        const char *e = p;
        while (e < end && *e != '\n' && *e != '\r')
            e++;
        if (!model_line(s, &k, p, e, line, err)) {
            CHECK(!ok);
            return;
        }
        line += e < end && *e == '\n';
        p = e < end ? e + 1 : e;
    }
    CHECK(ok && k == s->n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen s = {.text = (const char *)data, .len = size};
    char err[256] = "";
    bool ok = sp_env_file_parse(s.text, size, each, &s, err, sizeof(err));
    if (!ok)
        check_refusal(s.text, size, err);
    else
        CHECK(memchr(s.text, '\0', size) == NULL);
    check_round_trip(&s);
    bool plain = true;
    for (size_t i = 0; plain && i < size; i++)
        plain = data[i] != '\'' && data[i] != '"' && data[i] != '\\' && data[i] != '\0';
    if (plain)
        check_model(&s, ok, err);
    seen_free(&s);
    return 0;
}
