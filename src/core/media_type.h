/*
 * media_type: a media type as RFC 9110 §8.3.1 writes it,
 *   type "/" subtype *( OWS ";" OWS [ parameter ] )
 * read piece by piece: the type/subtype (two tokens), then each
 * parameter (a token name "=" a token or quoted-string value). One
 * reading for every caller: a request body's Content-Type (http/) and an
 * attachment's declared type (domain/). Which types or parameters a
 * caller accepts, and what it does with the rest, stays with it.
 * Must not: allocate, or know any particular type or parameter.
 */
#ifndef SP_MEDIA_TYPE_H
#define SP_MEDIA_TYPE_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the RFC 9110 §5.6.2 token at s: 0 when there is none. */
size_t sp_token_len(const char *s);

/* The "type/subtype" value starts with after its blanks (SP, HTAB):
 * *essence points at it; its length, 0 (and *essence undefined) when
 * value starts with no media type. What follows is the caller's. */
size_t sp_media_type_essence(const char *value, const char **essence);

/* One parameter, pointing into the value read: its name, and its value
 * as written (a token, or a quoted-string with its quotes). */
struct sp_media_param {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

enum sp_media_next {
    SP_MEDIA_PARAM,   /* *out is the next parameter */
    SP_MEDIA_END,     /* the list ended well (the value's end) */
    SP_MEDIA_BAD,     /* not a parameter list: an unquoted byte out of place, a
                       * name without "=" or value, an unterminated quote, a
                       * control in one */
};

/* Reads the parameter list at *s (what follows the essence, blanks and
 * empty parameters included, ";;" or a trailing ";") one parameter a
 * call, moving *s past it. */
enum sp_media_next sp_media_type_param(const char **s, struct sp_media_param *out);

/* Whether p's value, unquoted (quoted-pairs undone), is want in any
 * letter case: a charset's value, which is case-insensitive. */
bool sp_media_param_is(const struct sp_media_param *p, const char *want);

#endif
