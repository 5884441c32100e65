/*
 * template: mustache templates compiled once into flat opcode lists. See
 * template.h for the language. A template is an array of nodes; a section
 * node's body is the nodes up to its `end` index, so rendering is a loop
 * over a range plus recursion for sections and partials, bounded by
 * SP_TPL_MAX_DEPTH. Everything a set holds lives in the set's own arena
 * and dies with it in sp_tpl_set_free().
 * Must not: parse template text while rendering, interpret a value as
 * template text, or write anything but template text and escaped values
 * (or raw values where the template asks for them).
 */
#include "core/template.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"

#define CONTENT_SLOT "content"

enum op {
    OP_TEXT,      /* text, len: template bytes */
    OP_VAR,       /* {{name}} */
    OP_RAW,       /* {{{name}}}, {{& name}} */
    OP_SECTION,   /* {{#name}}: body is nodes [i + 1, end) */
    OP_INVERTED,  /* {{^name}} */
    OP_PARTIAL,   /* {{> name}}: partial */
    OP_CONTENT    /* {{> content}}: the page of sp_tpl_render_page */
};

struct tpl;

struct node {
    enum op op;
    unsigned line;
    const char *text;        /* OP_TEXT: bytes; else the name as written */
    size_t len;
    const char **seg;        /* name segments; nseg == 0 is "." */
    size_t nseg;
    size_t end;              /* sections: index just past the body */
    const struct tpl *partial;
};

struct tpl {
    const char *name;
    const char *src;
    size_t srclen;
    struct node *nodes;
    size_t n;
};

struct sp_tpl_set {
    struct sp_arena arena;   /* every byte of the set */
    struct tpl *tpls;        /* sorted by name */
    size_t n;
};

/* ---- errors ------------------------------------------------------------ */

static enum sp_rc
fail(char *err, size_t errlen, enum sp_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum sp_rc
fail(char *err, size_t errlen, enum sp_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen > 0)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- names ------------------------------------------------------------- */

static bool
name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* "." or segments of name_char joined by single dots. */
static bool
valid_name(const char *s, size_t n, bool dot_alone)
{
    if (n == 1 && s[0] == '.')
        return dot_alone;
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !name_char(s[i]))
            return false;
    }
    return true;
}

/* Splits a valid name into NUL-terminated segments (json-c wants keys). */
static void
split_name(struct sp_arena *a, struct node *nd, const char *s, size_t n)
{
    nd->nseg = 0;
    if (n == 1 && s[0] == '.')
        return;
    size_t count = 1;
    for (size_t i = 0; i < n; i++)
        count += s[i] == '.';
    nd->seg = sp_arena_calloc(a, count, sizeof(*nd->seg));
    for (size_t i = 0, start = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            nd->seg[nd->nseg++] = sp_arena_strndup(a, s + start, i - start);
            start = i + 1;
        }
    }
}

/* ---- compiling ----------------------------------------------------------- */

struct tag {
    char sigil;              /* 0, '{', '&', '#', '^', '/', '>', '!' */
    size_t start, end;       /* "{{" .. just past the closing braces */
    const char *name;
    size_t len;
};

struct compiler {
    struct sp_arena *a;
    struct tpl *t;
    const char *s;
    size_t len, pos;
    size_t line_pos;         /* line is the line number at line_pos */
    unsigned line;
    size_t open[SP_TPL_MAX_DEPTH];
    size_t nopen;
    char *err;
    size_t errlen;
};

/* Line number of pos; positions are asked for in increasing order. */
static unsigned
line_at(struct compiler *c, size_t pos)
{
    for (; c->line_pos < pos; c->line_pos++)
        c->line += c->s[c->line_pos] == '\n';
    return c->line;
}

static bool
blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Reads the tag starting at "{{" at t: sigil, trimmed name, end. */
static enum sp_rc
parse_tag(struct compiler *c, size_t t, struct tag *tag)
{
    const char *s = c->s;
    size_t from = t + 2;
    const char *close = "}}";

    tag->start = t;
    tag->sigil = from < c->len && s[from] != '\0' && strchr("{&#^/>!", s[from])
                     ? s[from] : 0;
    if (tag->sigil == '{')
        close = "}}}";
    from += tag->sigil != 0;
    const char *e = memmem(s + from, c->len - from, close, strlen(close));
    if (e == NULL)
        return fail(c->err, c->errlen, SP_INVALID, "%s.html:%u: unclosed tag",
                    c->t->name, line_at(c, t));
    size_t b = from, z = (size_t)(e - s);
    tag->end = z + strlen(close);
    while (b < z && blank(s[b]))
        b++;
    while (z > b && blank(s[z - 1]))
        z--;
    tag->name = s + b;
    tag->len = z - b;
    if (tag->sigil == '!' ||
        valid_name(tag->name, tag->len, tag->sigil != '>' && tag->sigil != '/'))
        return SP_OK;
    if (tag->sigil == '/' && tag->len == 1 && tag->name[0] == '.')
        return SP_OK;        /* closes a "{{#.}}" */
    return fail(c->err, c->errlen, SP_INVALID, "%s.html:%u: bad tag name '%.*s'",
                c->t->name, line_at(c, t), (int)(tag->len > 40 ? 40 : tag->len),
                tag->name);
}

/* The spec's standalone lines: a block, partial or comment tag alone on
 * its line takes the line's blanks and newline with it. Narrows the text
 * before the tag to [c->pos, *text_end) and moves *next past the line. */
static void
standalone(const struct compiler *c, const struct tag *tag, size_t *text_end,
           size_t *next)
{
    const char *s = c->s;
    size_t l = tag->start, r = tag->end;

    *text_end = tag->start;
    *next = tag->end;
    if (tag->sigil == 0 || tag->sigil == '{' || tag->sigil == '&')
        return;
    while (l > c->pos && (s[l - 1] == ' ' || s[l - 1] == '\t'))
        l--;
    if (l > 0 && s[l - 1] != '\n')
        return;
    while (r < c->len && (s[r] == ' ' || s[r] == '\t'))
        r++;
    if (r + 1 < c->len && s[r] == '\r' && s[r + 1] == '\n')
        r += 2;
    else if (r < c->len && s[r] == '\n')
        r++;
    else if (r != c->len)
        return;
    *text_end = l;
    *next = r;
}

static struct node *
push_node(struct compiler *c, enum op op, const struct tag *tag)
{
    struct node *nd = &c->t->nodes[c->t->n++];
    memset(nd, 0, sizeof(*nd));
    nd->op = op;
    nd->line = line_at(c, tag->start);
    nd->text = sp_arena_strndup(c->a, tag->name, tag->len);
    nd->len = tag->len;
    if (op != OP_PARTIAL && op != OP_CONTENT)
        split_name(c->a, nd, tag->name, tag->len);
    return nd;
}

static enum sp_rc
open_section(struct compiler *c, const struct tag *tag)
{
    if (c->nopen == SP_TPL_MAX_DEPTH)
        return fail(c->err, c->errlen, SP_INVALID,
                    "%s.html:%u: sections nested deeper than %d", c->t->name,
                    line_at(c, tag->start), SP_TPL_MAX_DEPTH);
    push_node(c, tag->sigil == '#' ? OP_SECTION : OP_INVERTED, tag);
    c->open[c->nopen++] = c->t->n - 1;
    return SP_OK;
}

static enum sp_rc
close_section(struct compiler *c, const struct tag *tag)
{
    unsigned line = line_at(c, tag->start);
    if (c->nopen == 0)
        return fail(c->err, c->errlen, SP_INVALID,
                    "%s.html:%u: {{/%.*s}} closes no section", c->t->name,
                    line, (int)tag->len, tag->name);
    struct node *open = &c->t->nodes[c->open[c->nopen - 1]];
    if (open->len != tag->len || memcmp(open->text, tag->name, tag->len) != 0)
        return fail(c->err, c->errlen, SP_INVALID,
                    "%s.html:%u: {{/%.*s}} does not match {{%c%s}} at line %u",
                    c->t->name, line, (int)tag->len, tag->name,
                    open->op == OP_SECTION ? '#' : '^', open->text, open->line);
    open->end = c->t->n;
    c->nopen--;
    return SP_OK;
}

static enum sp_rc
add_tag(struct compiler *c, const struct tag *tag)
{
    switch (tag->sigil) {
    case '!':
        return SP_OK;
    case '#':
    case '^':
        return open_section(c, tag);
    case '/':
        return close_section(c, tag);
    case '>':
        push_node(c, tag->len == strlen(CONTENT_SLOT) &&
                             memcmp(tag->name, CONTENT_SLOT, tag->len) == 0
                         ? OP_CONTENT : OP_PARTIAL, tag);
        return SP_OK;
    case '{':
    case '&':
        push_node(c, OP_RAW, tag);
        return SP_OK;
    default:
        push_node(c, OP_VAR, tag);
        return SP_OK;
    }
}

static void
add_text(struct compiler *c, size_t from, size_t to)
{
    if (to <= from)
        return;
    struct node *nd = &c->t->nodes[c->t->n++];
    memset(nd, 0, sizeof(*nd));
    nd->op = OP_TEXT;
    nd->text = c->s + from;
    nd->len = to - from;
}

/* Compiles t->src into t->nodes (partials still unresolved). */
static enum sp_rc
compile(struct sp_arena *a, struct tpl *t, char *err, size_t errlen)
{
    struct compiler c = {.a = a, .t = t, .s = t->src, .len = t->srclen,
                         .line = 1, .err = err, .errlen = errlen};
    size_t tags = 0;
    for (const char *p = t->src;
         (p = memmem(p, t->srclen - (size_t)(p - t->src), "{{", 2)) != NULL;
         p += 2)
        tags++;
    /* Each tag yields at most one node and one text node before it. */
    t->nodes = sp_arena_calloc(a, 2 * tags + 1, sizeof(*t->nodes));
    t->n = 0;
    while (c.pos < c.len) {
        const char *o = memmem(c.s + c.pos, c.len - c.pos, "{{", 2);
        if (o == NULL) {
            add_text(&c, c.pos, c.len);
            break;
        }
        struct tag tag;
        size_t text_end, next;
        enum sp_rc rc = parse_tag(&c, (size_t)(o - c.s), &tag);
        if (rc != SP_OK)
            return rc;
        standalone(&c, &tag, &text_end, &next);
        add_text(&c, c.pos, text_end);
        c.pos = next;
        if ((rc = add_tag(&c, &tag)) != SP_OK)
            return rc;
    }
    if (c.nopen > 0) {
        const struct node *open = &t->nodes[c.open[c.nopen - 1]];
        return fail(err, errlen, SP_INVALID,
                    "%s.html:%u: section '%s' is never closed", t->name,
                    open->line, open->text);
    }
    return SP_OK;
}

/* ---- the set ----------------------------------------------------------- */

static int
by_name(const void *x, const void *y)
{
    return strcmp(((const struct tpl *)x)->name, ((const struct tpl *)y)->name);
}

static const struct tpl *
find(const struct sp_tpl_set *set, const char *name)
{
    struct tpl key = {.name = name};
    if (set->n == 0)
        return NULL;
    return bsearch(&key, set->tpls, set->n, sizeof(*set->tpls), by_name);
}

static enum sp_rc
resolve_partials(struct sp_tpl_set *set, char *err, size_t errlen)
{
    for (size_t i = 0; i < set->n; i++) {
        struct tpl *t = &set->tpls[i];
        for (size_t k = 0; k < t->n; k++) {
            struct node *nd = &t->nodes[k];
            if (nd->op != OP_PARTIAL)
                continue;
            if ((nd->partial = find(set, nd->text)) == NULL)
                return fail(err, errlen, SP_INVALID,
                            "%s.html:%u: unknown partial '%s'", t->name,
                            nd->line, nd->text);
        }
    }
    return SP_OK;
}

/* Takes set->tpls[0..n) (names and sources already in the set's arena),
 * checks the names, compiles every template and resolves partials. */
static enum sp_rc
build(struct sp_tpl_set *set, char *err, size_t errlen)
{
    if (set->n == 0)
        return fail(err, errlen, SP_INVALID, "no templates");
    for (size_t i = 0; i < set->n; i++) {
        const char *name = set->tpls[i].name;
        if (!valid_name(name, strlen(name), false))
            return fail(err, errlen, SP_INVALID, "%.60s.html: bad template name",
                        name);
        if (strcmp(name, CONTENT_SLOT) == 0)
            return fail(err, errlen, SP_INVALID,
                        "%s.html: the name is reserved for the page slot", name);
    }
    qsort(set->tpls, set->n, sizeof(*set->tpls), by_name);
    for (size_t i = 1; i < set->n; i++) {
        if (strcmp(set->tpls[i - 1].name, set->tpls[i].name) == 0)
            return fail(err, errlen, SP_INVALID, "%s.html: defined twice",
                        set->tpls[i].name);
    }
    for (size_t i = 0; i < set->n; i++) {
        enum sp_rc rc = compile(&set->arena, &set->tpls[i], err, errlen);
        if (rc != SP_OK)
            return rc;
    }
    return resolve_partials(set, err, errlen);
}

static struct sp_tpl_set *
set_new(void)
{
    struct sp_tpl_set *set = calloc(1, sizeof(*set));
    if (set == NULL)
        abort();             /* as the arena does: not recoverable */
    sp_arena_init(&set->arena, 16384);
    return set;
}

static enum sp_rc
finish(struct sp_tpl_set **out, struct sp_tpl_set *set, enum sp_rc rc)
{
    if (rc != SP_OK) {
        sp_tpl_set_free(set);
        set = NULL;
    }
    *out = set;
    return rc;
}

enum sp_rc
sp_tpl_set_load_strings(struct sp_tpl_set **out,
                        const struct sp_tpl_source *src, size_t n, char *err,
                        size_t errlen)
{
    struct sp_tpl_set *set = set_new();
    set->tpls = sp_arena_calloc(&set->arena, n ? n : 1, sizeof(*set->tpls));
    set->n = n;
    for (size_t i = 0; i < n; i++) {
        set->tpls[i].name = sp_arena_strdup(&set->arena, src[i].name);
        set->tpls[i].src = sp_arena_strndup(&set->arena, src[i].text, src[i].len);
        set->tpls[i].srclen = src[i].len;
    }
    if (errlen > 0)
        err[0] = '\0';
    return finish(out, set, build(set, err, errlen));
}

/* Reads dir/file (a regular file) into the arena; *skip for non-files. */
static enum sp_rc
read_file(struct sp_arena *a, int dirfd, const char *file, struct tpl *t,
          bool *skip, char *err, size_t errlen)
{
    struct stat st;
    int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail(err, errlen, SP_ERROR, "%s: %s", file, strerror(e));
    }
    *skip = !S_ISREG(st.st_mode);
    if (!*skip && (size_t)st.st_size > SP_TPL_MAX_FILE) {
        close(fd);
        return fail(err, errlen, SP_INVALID, "%s: larger than %u bytes", file,
                    SP_TPL_MAX_FILE);
    }
    size_t got = 0, want = *skip ? 0 : (size_t)st.st_size;
    char *buf = sp_arena_alloc(a, want + 1);
    int e = 0;
    while (got < want) {     /* a file that shrank meanwhile is read short */
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            e = errno;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (e != 0)
        return fail(err, errlen, SP_ERROR, "%s: %s", file, strerror(e));
    buf[got] = '\0';
    t->src = buf;
    t->srclen = got;
    return SP_OK;
}

/* Adds every <name>.html of d to the set (names not yet checked). */
static enum sp_rc
read_dir(struct sp_tpl_set *set, DIR *d, char *err, size_t errlen)
{
    size_t cap = 16;
    set->tpls = sp_arena_calloc(&set->arena, cap, sizeof(*set->tpls));
    errno = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL; errno = 0) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 5 ||
            strcmp(e->d_name + len - 5, ".html") != 0)
            continue;
        if (set->n == cap) {
            struct tpl *grown = sp_arena_calloc(&set->arena, cap *= 2,
                                                sizeof(*grown));
            memcpy(grown, set->tpls, set->n * sizeof(*grown));
            set->tpls = grown;
        }
        struct tpl *t = &set->tpls[set->n];
        bool skip;
        enum sp_rc rc = read_file(&set->arena, dirfd(d), e->d_name, t, &skip,
                                  err, errlen);
        if (rc != SP_OK)
            return rc;
        if (!skip) {
            t->name = sp_arena_strndup(&set->arena, e->d_name, len - 5);
            set->n++;
        }
    }
    if (errno != 0)
        return fail(err, errlen, SP_ERROR, "readdir: %s", strerror(errno));
    return SP_OK;
}

enum sp_rc
sp_tpl_set_load(struct sp_tpl_set **out, const char *dir, char *err,
                size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    DIR *d = opendir(dir);
    if (d == NULL) {
        *out = NULL;
        return fail(err, errlen, SP_ERROR, "%s: %s", dir, strerror(errno));
    }
    struct sp_tpl_set *set = set_new();
    enum sp_rc rc = read_dir(set, d, err, errlen);
    closedir(d);
    if (rc == SP_OK)
        rc = build(set, err, errlen);
    return finish(out, set, rc);
}

void
sp_tpl_set_free(struct sp_tpl_set *set)
{
    if (set == NULL)
        return;
    sp_arena_destroy(&set->arena);
    free(set);
}

/* ---- rendering --------------------------------------------------------- */

struct render {
    struct sp_buf *out;
    size_t start;            /* out->len before the render */
    const struct tpl *page;  /* what {{> content}} renders, or NULL */
    struct json_object *stack[SP_TPL_MAX_DEPTH + 1];  /* [0] is the root */
    size_t top;
    unsigned nest;           /* sections and partials entered */
    size_t steps;
};

static enum sp_rc run(struct render *r, const struct node *nodes, size_t from,
                      size_t to);

static enum sp_rc
emit(struct render *r, const char *p, size_t n)
{
    size_t used = r->out->len - r->start;
    if (n > SP_TPL_MAX_OUTPUT || used > SP_TPL_MAX_OUTPUT - n)
        return SP_ERROR;
    sp_buf_append(r->out, p, n);
    return SP_OK;
}

/* & < > " ' ` = : safe in text and quoted attributes; ` and = so that an
 * unquoted attribute cannot gain a backtick quote or a name=value pair. */
static const char *
entity(unsigned char ch)
{
    switch (ch) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    case '`': return "&#96;";
    case '=': return "&#61;";
    default: return NULL;
    }
}

static enum sp_rc
emit_escaped(struct render *r, const char *p, size_t n)
{
    size_t run_from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *ent = entity((unsigned char)p[i]);
        if (ent == NULL)
            continue;
        if (emit(r, p + run_from, i - run_from) != SP_OK ||
            emit(r, ent, strlen(ent)) != SP_OK)
            return SP_ERROR;
        run_from = i + 1;
    }
    return emit(r, p + run_from, n - run_from);
}

static enum sp_rc
emit_value(struct render *r, struct json_object *v, bool escape)
{
    const char *p;
    size_t n;
    switch (json_object_get_type(v)) {
    case json_type_string:
        p = json_object_get_string(v);
        n = (size_t)json_object_get_string_len(v);
        break;
    case json_type_boolean:
    case json_type_int:
    case json_type_double:
        p = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        n = strlen(p);
        break;
    default:                 /* null, object, array: nothing */
        return SP_OK;
    }
    return escape ? emit_escaped(r, p, n) : emit(r, p, n);
}

/* The value of a name: its first segment from the innermost context that
 * has it, the rest inside that value; NULL when missing. */
static struct json_object *
lookup(const struct render *r, const struct node *nd)
{
    struct json_object *v = NULL;
    size_t i = r->top + 1;

    if (nd->nseg == 0)
        return r->stack[r->top];
    while (i-- > 0) {
        if (json_object_is_type(r->stack[i], json_type_object) &&
            json_object_object_get_ex(r->stack[i], nd->seg[0], &v))
            break;
    }
    if (i == (size_t)-1)
        return NULL;
    for (size_t k = 1; k < nd->nseg; k++) {
        if (!json_object_is_type(v, json_type_object) ||
            !json_object_object_get_ex(v, nd->seg[k], &v))
            return NULL;
    }
    return v;
}

static bool
truthy(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return false;
    case json_type_boolean:
        return json_object_get_boolean(v);
    case json_type_array:
        return json_object_array_length(v) > 0;
    case json_type_string:
        return json_object_get_string_len(v) > 0;
    default:
        return true;
    }
}

/* Renders nodes [from, to) one level deeper, with ctx pushed if given. */
static enum sp_rc
nested(struct render *r, const struct node *nodes, size_t from, size_t to,
       struct json_object *ctx, bool push)
{
    if (r->nest == SP_TPL_MAX_DEPTH)
        return SP_ERROR;
    r->nest++;
    if (push)
        r->stack[++r->top] = ctx;
    enum sp_rc rc = run(r, nodes, from, to);
    if (push)
        r->top--;
    r->nest--;
    return rc;
}

static enum sp_rc
section(struct render *r, const struct node *nodes, size_t i)
{
    const struct node *nd = &nodes[i];
    struct json_object *v = lookup(r, nd);
    bool yes = truthy(v);

    if (nd->op == OP_INVERTED)
        return yes ? SP_OK : nested(r, nodes, i + 1, nd->end, NULL, false);
    if (!yes)
        return SP_OK;
    if (!json_object_is_type(v, json_type_array))
        return nested(r, nodes, i + 1, nd->end, v, true);
    size_t n = json_object_array_length(v);
    for (size_t k = 0; k < n; k++) {
        enum sp_rc rc = nested(r, nodes, i + 1, nd->end,
                               json_object_array_get_idx(v, k), true);
        if (rc != SP_OK)
            return rc;
    }
    return SP_OK;
}

static enum sp_rc
content(struct render *r)
{
    const struct tpl *page = r->page;
    if (page == NULL)
        return SP_ERROR;
    r->page = NULL;          /* the page cannot include itself */
    enum sp_rc rc = nested(r, page->nodes, 0, page->n, NULL, false);
    r->page = page;
    return rc;
}

static enum sp_rc
run(struct render *r, const struct node *nodes, size_t from, size_t to)
{
    enum sp_rc rc = SP_OK;
    for (size_t i = from; i < to && rc == SP_OK;) {
        const struct node *nd = &nodes[i];
        if (++r->steps > SP_TPL_MAX_STEPS)
            return SP_ERROR;
        switch (nd->op) {
        case OP_TEXT:
            rc = emit(r, nd->text, nd->len);
            break;
        case OP_VAR:
        case OP_RAW:
            rc = emit_value(r, lookup(r, nd), nd->op == OP_VAR);
            break;
        case OP_SECTION:
        case OP_INVERTED:
            rc = section(r, nodes, i);
            i = nd->end;
            continue;
        case OP_PARTIAL:
            rc = nested(r, nd->partial->nodes, 0, nd->partial->n, NULL, false);
            break;
        case OP_CONTENT:
            rc = content(r);
            break;
        }
        i++;
    }
    return rc;
}

static enum sp_rc
render(const struct tpl *t, const struct tpl *page, struct json_object *ctx,
       struct sp_buf *out)
{
    struct render r = {.out = out, .start = out->len, .page = page};
    r.stack[0] = ctx;
    enum sp_rc rc = run(&r, t->nodes, 0, t->n);
    if (rc != SP_OK) {
        out->len = r.start;
        out->data[out->len] = '\0';
    }
    return rc;
}

enum sp_rc
sp_tpl_render(const struct sp_tpl_set *set, const char *name,
              struct json_object *ctx, struct sp_buf *out)
{
    const struct tpl *t = find(set, name);
    return t == NULL ? SP_NOT_FOUND : render(t, NULL, ctx, out);
}

enum sp_rc
sp_tpl_render_page(const struct sp_tpl_set *set, const char *layout,
                   const char *page, struct json_object *ctx,
                   struct sp_buf *out)
{
    const struct tpl *l = find(set, layout), *p = find(set, page);
    return l == NULL || p == NULL ? SP_NOT_FOUND : render(l, p, ctx, out);
}
