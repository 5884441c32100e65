/*
 * ids: CSPRNG-backed identifiers. See ids.h.
 */
#include "core/ids.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char letters[] = "ABCDEFGHJKMNPQRSTVWXYZ"; /* 22 */

void
sp_random_bytes(void *buf, size_t n)
{
    if (RAND_bytes(buf, (int)n) != 1) {
        fprintf(stderr, "{\"level\":\"fatal\",\"event\":\"csprng_failed\"}\n");
        abort();
    }
}

/* Rejection sampling keeps every symbol equally likely. */
static char
random_symbol(const char *alphabet, unsigned size)
{
    unsigned limit = 256 - (256 % size);
    for (;;) {
        unsigned char b;
        sp_random_bytes(&b, 1);
        if (b < limit)
            return alphabet[b % size];
    }
}

void
sp_public_id(char out[SP_PUBLIC_ID_LEN + 1])
{
    out[0] = random_symbol(letters, sizeof(letters) - 1);
    for (int i = 1; i < SP_PUBLIC_ID_LEN; i++)
        out[i] = random_symbol(crockford, 32);
    out[SP_PUBLIC_ID_LEN] = '\0';
}

bool
sp_public_id_valid(const char *s)
{
    if (strlen(s) != SP_PUBLIC_ID_LEN || strchr(letters, s[0]) == NULL || s[0] == '\0')
        return false;
    for (int i = 1; i < SP_PUBLIC_ID_LEN; i++)
        if (s[i] == '\0' || strchr(crockford, s[i]) == NULL)
            return false;
    return true;
}

bool
sp_public_id_read(const char *s, char out[SP_PUBLIC_ID_LEN + 1])
{
    if (strnlen(s, SP_PUBLIC_ID_LEN + 1) != SP_PUBLIC_ID_LEN)
        return false;
    for (int i = 0; i < SP_PUBLIC_ID_LEN; i++) {
        char c = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
        /* Crockford's decoding: the letters ids never hold, read as the
         * digits they look like (QA: an id typed from a mail with O for 0
         * was 404). The first character stays a letter: O there is no id. */
        out[i] = i == 0 ? c : c == 'O' ? '0' : c == 'I' || c == 'L' ? '1' : c;
    }
    out[SP_PUBLIC_ID_LEN] = '\0';
    return sp_public_id_valid(out);
}

void
sp_request_id(char out[21])
{
    static const char lower[] = "0123456789abcdefghjkmnpqrstvwxyz";
    for (int i = 0; i < 20; i++)
        out[i] = random_symbol(lower, 32);
    out[20] = '\0';
}

bool
sp_user_id_valid(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return s[n] == '\0' && n >= 1 && n <= SP_USER_ID_MAX && s[0] != '0';
}

long long
sp_row_id_read(const char *s)
{
    size_t n = strspn(s, "0123456789");
    if (s[n] != '\0' || n == 0 || n > 18 || s[0] == '0')
        return 0;
    return strtoll(s, NULL, 10);
}

bool
sp_request_id_sane(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
        if (n >= 128)
            return false;
    }
    return n > 0;
}

void
sp_random_hex(char *out, size_t nbytes)
{
    unsigned char b[64];
    *out = '\0';   /* the end when nbytes is 0; each chunk below moves it on */
    while (nbytes > 0) {
        size_t chunk = nbytes < sizeof(b) ? nbytes : sizeof(b);
        sp_random_bytes(b, chunk);
        sp_hex_encode(out, b, chunk);
        out += 2 * chunk;
        nbytes -= chunk;
    }
    OPENSSL_cleanse(b, sizeof(b));   /* the bytes of a token are as secret as its text */
}
