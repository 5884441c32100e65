/*
 * env_file: systemd's EnvironmentFile= rules. See env_file.h. The states
 * and their moves are systemd's own (src/basic/env-file.c,
 * parse_env_file_internal), so a file means the same to both.
 */
#include "core/env_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fd.h"
#include "core/utf8.h"

#define ENV_FILE_MAX (1024 * 1024)
#define NONE ((size_t)-1)

enum state {
    PRE_KEY, KEY, PRE_VALUE, VALUE, VALUE_ESCAPE, SINGLE_QUOTE, DOUBLE_QUOTE,
    DOUBLE_QUOTE_ESCAPE, COMMENT, COMMENT_ESCAPE
};

struct parse {
    enum state st;
    char *key, *value;       /* each as long as the text: never longer */
    size_t nkey, nvalue;
    size_t key_ws, value_ws; /* where trailing blanks began, or NONE */
    unsigned line, key_line;
    void (*each)(void *arg, const char *name, const char *value);
    void *arg;
};

static bool
blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
newline(char c)
{
    return c == '\n' || c == '\r';
}

static bool
name_ok(const char *s)
{
    if (*s == '\0' || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s != '\0'; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') || ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')))
            return false;
    return true;
}

/* The assignment read so far, passed on; false (err) when refused. */
static bool
push(struct parse *p, bool chomp_value, char *err, size_t errlen)
{
    p->key[p->key_ws != NONE ? p->key_ws : p->nkey] = '\0';
    p->value[chomp_value && p->value_ws != NONE ? p->value_ws : p->nvalue] = '\0';
    if (!name_ok(p->key)) {
        snprintf(err, errlen, "line %u: not NAME=value with a NAME of letters, digits and _",
                 p->key_line);
        return false;
    }
    if (!sp_utf8_valid(p->value, strlen(p->value))) {
        snprintf(err, errlen, "line %u: the value is not UTF-8", p->key_line);
        return false;
    }
    p->each(p->arg, p->key, p->value);
    p->nkey = p->nvalue = 0;
    return true;
}

/* Appends c to the value; in an unquoted value, notes where trailing
 * blanks begin (dropped at its end). */
static void
put_value(struct parse *p, char c, bool unquoted)
{
    if (unquoted && !blank(c))
        p->value_ws = NONE;
    else if (unquoted && p->value_ws == NONE)
        p->value_ws = p->nvalue;
    p->value[p->nvalue++] = c;
}

/* A line with a name and no "=": systemd skips it, which turns a typo
 * (`SUPPORT_AUTOCLOSE_DAYS 3`) into a default kept silently (QA); it is
 * refused as a bad name is. */
static bool
no_assignment(const struct parse *p, char *err, size_t errlen)
{
    snprintf(err, errlen, "line %u: not NAME=value with a NAME of letters, digits and _",
             p->key_line);
    return false;
}

/* PRE_KEY, KEY and the comments: c moves the state; false (err) on a
 * line that assigns nothing. */
static bool
key_step(struct parse *p, char c, char *err, size_t errlen)
{
    switch (p->st) {
    case PRE_KEY:
        if (c == '#' || c == ';') {
            p->st = COMMENT;
        } else if (!blank(c)) {
            p->st = KEY;
            p->key_ws = NONE;
            p->key_line = p->line;
            p->key[p->nkey++] = c;
        }
        break;
    case KEY:
        if (newline(c)) {
            return no_assignment(p, err, errlen);
        } else if (c == '=') {
            p->st = PRE_VALUE;
            p->value_ws = NONE;
        } else {
            if (!blank(c))
                p->key_ws = NONE;
            else if (p->key_ws == NONE)
                p->key_ws = p->nkey;
            p->key[p->nkey++] = c;
        }
        break;
    case COMMENT:
        p->st = c == '\\' ? COMMENT_ESCAPE : newline(c) ? PRE_KEY : COMMENT;
        break;
    default:   /* COMMENT_ESCAPE: an escaped character; a newline still ends it */
        p->st = newline(c) ? PRE_KEY : COMMENT;
        break;
    }
    return true;
}

/* The value's states: c moves the state; false (err) when an assignment
 * it ends is refused. */
static bool
value_step(struct parse *p, char c, char *err, size_t errlen)
{
    const char *shell_escaped = "\"\\`$";
    switch (p->st) {
    case PRE_VALUE:
    case VALUE:
        if (newline(c)) {
            bool chomp = p->st == VALUE;
            p->st = PRE_KEY;
            return push(p, chomp, err, errlen);
        }
        if (c == '\\') {
            p->st = VALUE_ESCAPE;
            p->value_ws = NONE;
        } else if (p->st == PRE_VALUE && (c == '\'' || c == '"')) {
            p->st = c == '\'' ? SINGLE_QUOTE : DOUBLE_QUOTE;
        } else if (p->st == VALUE || !blank(c)) {
            p->st = VALUE;
            put_value(p, c, true);
        }
        break;
    case VALUE_ESCAPE:   /* an escaped newline joins the lines */
        p->st = VALUE;
        if (!newline(c))
            put_value(p, c, false);
        break;
    case SINGLE_QUOTE:
        if (c == '\'')
            p->st = PRE_VALUE;
        else
            put_value(p, c, false);
        break;
    case DOUBLE_QUOTE:
        if (c == '"')
            p->st = PRE_VALUE;
        else if (c == '\\')
            p->st = DOUBLE_QUOTE_ESCAPE;
        else
            put_value(p, c, false);
        break;
    default:   /* DOUBLE_QUOTE_ESCAPE: the shell's escapes; others kept */
        p->st = DOUBLE_QUOTE;
        if (strchr(shell_escaped, c) == NULL && c != '\n')
            put_value(p, '\\', false);
        if (c != '\n')
            put_value(p, c, false);
        break;
    }
    return true;
}

bool
sp_env_file_parse(const char *text, size_t len,
                  void (*each)(void *arg, const char *name, const char *value), void *arg,
                  char *err, size_t errlen)
{
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "a NUL byte: not a text file");
        return false;
    }
    struct parse p = {.st = PRE_KEY, .key = malloc(len + 1), .value = malloc(len + 1),
                      .line = 1, .each = each, .arg = arg};
    if (p.key == NULL || p.value == NULL)
        abort();   /* read at start-up (STYLE.md) */
    bool ok = true;
    for (size_t i = 0; ok && i < len; i++) {
        if (p.st <= KEY || p.st >= COMMENT)
            ok = key_step(&p, text[i], err, errlen);
        else
            ok = value_step(&p, text[i], err, errlen);
        p.line += text[i] == '\n';
    }
    /* The last line needs no newline; an open quote ends with the file,
     * as in systemd. */
    if (ok && p.st > KEY && p.st < COMMENT)
        ok = push(&p, p.st == VALUE, err, errlen);
    else if (ok && p.st == KEY)
        ok = no_assignment(&p, err, errlen);
    free(p.key);
    free(p.value);
    return ok;
}

static void
check_only(void *arg, const char *name, const char *value)
{
    (void)arg;
    (void)name;
    (void)value;
}

static void
set_one(void *arg, const char *name, const char *value)
{
    (void)arg;
    setenv(name, value, 1);
}

bool
sp_env_file_load(const char *path, char *err, size_t errlen)
{
    char *text;
    size_t len;
    enum sp_fd_read r = sp_fd_read_file(path, ENV_FILE_MAX, &text, &len);
    if (r != SP_FD_READ_OK) {
        snprintf(err, errlen, "--env-file %s: %s%s", path,
                 r == SP_FD_READ_UNOPENED ? "cannot be read: " : "not a file of at most 1 MiB",
                 r == SP_FD_READ_UNOPENED ? strerror(errno) : "");
        return false;
    }
    char why[256];
    /* Checked whole first: a refused file sets nothing. */
    bool ok = sp_env_file_parse(text, len, check_only, NULL, why, sizeof(why));
    if (ok)
        sp_env_file_parse(text, len, set_one, NULL, why, sizeof(why));
    else
        snprintf(err, errlen, "--env-file %s: %s", path, why);
    free(text);
    return ok;
}
