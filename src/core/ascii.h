/*
 * ascii: whitespace as the C locale's isspace() sees it, without
 * <ctype.h> (whose answer depends on the locale and is undefined for a
 * negative char). One home for what the mail parsers, the key rings and
 * the markdown checks each spelled out.
 * Must not: know anything about the text it reads.
 */
#ifndef SP_ASCII_H
#define SP_ASCII_H

#include <stdbool.h>
#include <stddef.h>

/* The six bytes isspace() accepts in the C locale. */
#define SP_ASCII_SPACE " \t\r\n\v\f"

static inline bool
sp_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* A C0 control character or DEL: what no header, name or line of text
 * may hold as is. Callers that allow the tab say so beside it. */
static inline bool
sp_ascii_control(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
}

/* Whether every byte of s[0..n) is one of set's (a NUL-terminated list;
 * a NUL in s never is); true when n is 0. A blank line is one of only
 * whitespace. */
bool sp_ascii_only(const char *s, size_t n, const char *set);

/* Narrows [*b, *e) past SP_ASCII_SPACE bytes on both sides. */
void sp_ascii_trim(const char **b, const char **e);

/* Whether s is a slug of 1 to max bytes: words of a-z and 0-9 joined by
 * single '-' ("a-b2", not "-", "a-", "-a" or "a--b"). Article slugs,
 * their tags and category slugs are such names (docs/API.md §6, §8). */
bool sp_ascii_slug(const char *s, size_t max);
/* What sp_ascii_slug accepts, for a field error's message. */
#define SP_ASCII_SLUG_RULE "words of a-z and 0-9 joined by single -"

/* s with A-Z in lower case, in place; other bytes stay. */
char *sp_ascii_lower(char *s);

#endif
