/*
 * sms: the short text of an SMS or a push notification. See sms.h.
 */
#include "core/sms.h"

#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/markdown.h"
#include "core/utf8.h"

/* The room a link's line must leave for the words before it: less, and
 * the text would be the link alone. */
#define MIN_WORDS_ROOM 40

/* Whether cp is in GSM 03.38's basic set beyond ASCII. */
static bool
gsm_basic_extra(uint32_t cp)
{
    static const uint32_t extra[] = {
        0xA3, 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, 0xD8, 0xF8, 0xC5, 0xE5, 0x394, 0x3A6,
        0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E, 0xC6, 0xE6, 0xDF, 0xC9, 0xA4,
        0xA1, 0xC4, 0xD6, 0xD1, 0xDC, 0xA7, 0xBF, 0xE4, 0xF6, 0xF1, 0xFC, 0xE0};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if (extra[i] == cp)
            return true;
    return false;
}

/* cp's GSM septets: 1 or 2 (the extension set); 0 when GSM has none. */
static size_t
gsm_septets(uint32_t cp)
{
    if (cp == 0x20AC || (cp < 0x80 && strchr("^{}\\[~]|", (int)cp) != NULL && cp != 0))
        return 2;
    if (cp == '\n' || cp == '\r' || (cp >= 0x20 && cp < 0x7F && cp != '`'))
        return 1;
    return gsm_basic_extra(cp) ? 1 : 0;
}

/* What one walk of s counts: its GSM septets, its UTF-16 units, and
 * whether every character has septets (which of the two an SMS is
 * billed in is known only at the walk's end). */
struct sms_count {
    size_t septets, utf16;
    bool all_gsm;
};

static struct sms_count
count_units(const char *s)
{
    struct sms_count c = {0, 0, true};
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t l = 0;
        uint32_t cp = sp_utf8_decode(s + i, n - i, &l);
        i += l == 0 ? 1 : l;
        size_t g = gsm_septets(cp);
        c.all_gsm = c.all_gsm && g > 0;
        c.septets += g;
        c.utf16 += cp > 0xFFFF ? 2 : 1;
    }
    return c;
}

/* s's units as GSM septets (gsm) or UTF-16 units. */
static size_t
units(const char *s, bool gsm)
{
    struct sms_count c = count_units(s);
    return gsm ? c.septets : c.utf16;
}

size_t
sp_sms_units(const char *s, bool *gsm)
{
    struct sms_count c = count_units(s);
    *gsm = c.all_gsm;
    return c.all_gsm ? c.septets : c.utf16;
}

/* s as one line of at most max units (GSM septets when gsm, UTF-16
 * units for an SMS otherwise, code points for a push), cut after a word
 * (sp_text_excerpt) to end in the ellipsis. */
static const char *
fit(struct sp_arena *a, const char *s, size_t max, bool sms, bool gsm)
{
    const char *line = sp_text_excerpt(a, s, strlen(s) + 1);
    size_t have = sms ? units(line, gsm) : sp_utf8_count(line, strlen(line));
    if (have <= max)
        return line;
    /* "…" is one code point, "..." three: room for the difference */
    for (size_t room = max; room > 3;) {
        char *cut = (char *)sp_text_excerpt(a, line, sms ? room - 2 : room);
        size_t len = strlen(cut);
        if (sms && len >= 3 && memcmp(cut + len - 3, "\xe2\x80\xa6", 3) == 0)
            cut = sp_arena_sprintf(a, "%.*s...", (int)(len - 3), cut);
        size_t got = sms ? units(cut, gsm) : sp_utf8_count(cut, strlen(cut));
        if (got <= max)
            return cut;
        room -= got - max < room ? got - max : room;
    }
    return sms ? "..." : "\xe2\x80\xa6";
}

/* The line of text (b..e) holding link's last occurrence; false when it
 * has none. */
static bool
link_line(const char *text, const char *link, const char **b, const char **e)
{
    const char *at = NULL;
    for (const char *p = text; link != NULL && *link != '\0' && (p = strstr(p, link)) != NULL;
         p++)
        at = p;
    if (at == NULL)
        return false;
    *b = at;
    while (*b > text && (*b)[-1] != '\n')
        (*b)--;
    *e = at + strcspn(at, "\n");
    return true;
}

const char *
sp_sms_text(struct sp_arena *a, const char *text, const char *link, bool sms)
{
    bool gsm = sms && count_units(text).all_gsm;
    size_t max = !sms ? SP_PUSH_TEXT_MAX : gsm ? SP_SMS_GSM_MAX : SP_SMS_UCS2_MAX;
    const char *whole = fit(a, text, max, sms, gsm);
    const char *b, *e;
    if (strcmp(whole, sp_text_excerpt(a, text, strlen(text) + 1)) == 0 ||
        !link_line(text, link, &b, &e))
        return whole;   /* it fits, or there is no link to keep */
    const char *rest = sp_arena_sprintf(a, "%.*s %s", (int)(b - text), text, e);
    const char *line = sp_text_excerpt(a, sp_arena_strndup(a, b, (size_t)(e - b)),
                                       (size_t)(e - b) + 1);
    size_t line_units = sms ? units(line, gsm) : sp_utf8_count(line, strlen(line));
    if (line_units + 1 + MIN_WORDS_ROOM > max)
        return fit(a, rest, max, sms, gsm);   /* label and link go together */
    const char *words = fit(a, rest, max - line_units - 1, sms, gsm);
    return *words != '\0' ? sp_arena_sprintf(a, "%s %s", words, line) : line;
}
