/*
 * media_type: reading a media type (RFC 9110 §8.3.1). See media_type.h.
 */
#include "core/media_type.h"

#include <string.h>
#include <strings.h>

#include "core/ascii.h"

#define OWS " \t"

/* RFC 9110 §5.6.2 tchar. */
static bool
tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

size_t
sp_token_len(const char *s)
{
    size_t n = 0;
    while (tchar(s[n]))
        n++;
    return n;
}

size_t
sp_media_type_essence(const char *value, const char **essence)
{
    const char *s = value + strspn(value, OWS);
    size_t type = sp_token_len(s);
    size_t sub = type > 0 && s[type] == '/' ? sp_token_len(s + type + 1) : 0;
    *essence = s;
    return sub > 0 ? type + 1 + sub : 0;
}

/* The length of the quoted-string at s (RFC 9110 §5.6.4, its
 * quoted-pairs included), 0 when it is none: unterminated, or holding a
 * control other than HTAB. */
static size_t
quoted_len(const char *s)
{
    size_t i = 1;
    for (; s[i] != '"'; i++) {
        unsigned char c = (unsigned char)s[i + (s[i] == '\\')];
        if (c == '\0' || (sp_ascii_control((char)c) && c != '\t'))
            return 0;
        i += s[i] == '\\';
    }
    return i + 1;
}

enum sp_media_next
sp_media_type_param(const char **s, struct sp_media_param *out)
{
    /* parameters = *( OWS ";" OWS [ parameter ] ) */
    for (const char *p = *s;;) {
        p += strspn(p, OWS);
        if (*p == '\0') {
            *s = p;
            return SP_MEDIA_END;
        }
        if (*p++ != ';')
            return SP_MEDIA_BAD;
        p += strspn(p, OWS);
        size_t name = sp_token_len(p);
        if (name == 0)
            continue;  /* an empty parameter, or the end */
        if (p[name] != '=')
            return SP_MEDIA_BAD;
        const char *v = p + name + 1;
        size_t vlen = *v == '"' ? quoted_len(v) : sp_token_len(v);
        if (vlen == 0)
            return SP_MEDIA_BAD;
        *out = (struct sp_media_param){p, name, v, vlen};
        *s = v + vlen;
        return SP_MEDIA_PARAM;
    }
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
sp_media_param_is(const struct sp_media_param *p, const char *want)
{
    size_t n = strlen(want);
    if (p->value[0] != '"')
        return p->value_len == n && strncasecmp(p->value, want, n) == 0;
    /* between the quotes, a quoted-pair standing for its second byte */
    size_t k = 0;
    for (size_t i = 1; i + 1 < p->value_len; i++, k++) {
        i += p->value[i] == '\\';
        if (k >= n || lower(p->value[i]) != lower(want[k]))
            return false;
    }
    return k == n;
}
