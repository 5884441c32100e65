/*
 * utf8: strict decoder (no overlongs, no surrogates, max U+10FFFF).
 */
#include "core/utf8.h"

#include "core/buf.h"

#define FFFD "\xef\xbf\xbd"  /* U+FFFD REPLACEMENT CHARACTER */

/* The well-formed sequence at str: its length (1..4) and code point in
 * *cp; 0 when malformed. */
static size_t
decode_seq(const char *str, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; v = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; v = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; v = c & 0x07; }
    else return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
        (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
        return 0;
    *cp = v;
    return len;
}

size_t
sp_utf8_seq_len(const char *s, size_t n)
{
    uint32_t cp;
    return decode_seq(s, n, &cp);
}

uint32_t
sp_utf8_decode(const char *s, size_t n, size_t *len)
{
    uint32_t cp;
    *len = decode_seq(s, n, &cp);
    if (*len > 0)
        return cp;
    *len = n > 0 ? 1 : 0;
    return 0xFFFD;
}

size_t
sp_utf8_floor(const char *s, size_t at)
{
    while (at > 0 && ((unsigned char)s[at] & 0xc0) == 0x80)
        at--;
    return at;
}

bool
sp_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t l = sp_utf8_seq_len(s + i, n - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

size_t
sp_utf8_prev(const char *s, size_t at)
{
    do
        at--;
    while (at > 0 && ((unsigned char)s[at] & 0xc0) == 0x80);
    return at;
}

bool
sp_utf8_in_ranges(uint32_t cp, const struct sp_cp_range *table, size_t n)
{
    for (size_t i = 0; i < n && cp >= table[i].lo; i++)
        if (cp <= table[i].hi)
            return true;
    return false;
}

/* The blank ranges of sp_utf8_blank, in order. */
static const struct sp_cp_range blank_ranges[] = {
    {0x0020, 0x0020}, {0x00a0, 0x00a0}, {0x00ad, 0x00ad}, {0x034f, 0x034f},
    {0x061c, 0x061c}, {0x115f, 0x1160}, {0x1680, 0x1680}, {0x17b4, 0x17b5},
    {0x180b, 0x180f}, {0x2000, 0x200f}, {0x2028, 0x202f}, {0x205f, 0x206f},
    {0x2800, 0x2800}, {0x3000, 0x3000}, {0x3164, 0x3164}, {0xfe00, 0xfe0f},
    {0xfeff, 0xfeff}, {0xffa0, 0xffa0}, {0xfff0, 0xfff8}, {0x1bca0, 0x1bca3},
    {0x1d173, 0x1d17a}, {0xe0000, 0xe0fff},
};

bool
sp_utf8_blank(uint32_t cp)
{
    return sp_utf8_in_ranges(cp, blank_ranges, sizeof(blank_ranges) / sizeof(blank_ranges[0]));
}

/* Unicode's General_Category Cf (Unicode 15.1), in order. */
static const struct sp_cp_range format_ranges[] = {
    {0x00ad, 0x00ad}, {0x0600, 0x0605}, {0x061c, 0x061c}, {0x06dd, 0x06dd},
    {0x070f, 0x070f}, {0x0890, 0x0891}, {0x08e2, 0x08e2}, {0x180e, 0x180e},
    {0x200b, 0x200f}, {0x202a, 0x202e}, {0x2060, 0x2064}, {0x2066, 0x206f},
    {0xfeff, 0xfeff}, {0xfff9, 0xfffb}, {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
    {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
    {0xe0020, 0xe007f},
};

bool
sp_utf8_format(uint32_t cp)
{
    return sp_utf8_in_ranges(cp, format_ranges, sizeof(format_ranges) / sizeof(format_ranges[0]));
}

bool
sp_utf8_bidi_control(uint32_t cp)
{
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

bool
sp_utf8_cjk(uint32_t c)
{
    return (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3040 && c <= 0x30ff) ||
           (c >= 0x3130 && c <= 0x318f) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff66 && c <= 0xff9f) ||
           (c >= 0x20000 && c <= 0x2fa1f);
}

bool
sp_utf8_any(const char *s, size_t n, bool (*test)(uint32_t cp))
{
    size_t len;
    for (size_t i = 0; i < n; i += len)
        if (test(sp_utf8_decode(s + i, n - i, &len)))
            return true;
    return false;
}

void
sp_utf8_trim_blank(const char **b, const char **e)
{
    size_t len;
    while (*b < *e && sp_utf8_blank(sp_utf8_decode(*b, (size_t)(*e - *b), &len)))
        *b += len;
    /* Back to the start of the last code point: continuation bytes are
     * 10xxxxxx. */
    while (*b < *e) {
        const char *s = *e - 1;
        while (s > *b && ((unsigned char)*s & 0xc0) == 0x80)
            s--;
        if (!sp_utf8_blank(sp_utf8_decode(s, (size_t)(*e - s), &len)))
            break;
        *e = s;
    }
}

size_t
sp_utf8_count(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            count++;
    return count;
}

static bool
keep_ascii(unsigned char c, enum sp_utf8_clean mode)
{
    if (c >= 0x20 && c != 0x7f)
        return true;
    return mode == SP_UTF8_TEXT && c != '\0' && c != '\r';
}

static void
put_clean(struct sp_buf *b, const char *s, size_t n, enum sp_utf8_clean mode)
{
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = 1;
        if (c >= 0x80)
            len = sp_utf8_seq_len(s + i, n - i);
        else if (!keep_ascii(c, mode))
            len = 0;
        if (len > 0) {
            i += len;
            continue;
        }
        sp_buf_append(b, s + run, i - run);
        if (c >= 0x80) {
            sp_buf_puts(b, FFFD);
        } else if (mode == SP_UTF8_LINE) {
            sp_buf_putc(b, ' ');
        } else if (c == '\r') {
            sp_buf_putc(b, '\n');
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
        }
        i++;
        run = i;
    }
    sp_buf_append(b, s + run, n - run);
}

char *
sp_utf8_clean(struct sp_arena *a, const char *s, size_t n, enum sp_utf8_clean mode)
{
    struct sp_buf b;
    sp_buf_init(&b, a, n + 1);
    put_clean(&b, s, n, mode);
    return b.data;
}
