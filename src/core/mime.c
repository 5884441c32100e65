/*
 * mime: the mail builder. See mime.h.
 */
#include "core/mime.h"

#include <string.h>
#include <time.h>

#include "core/ascii.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/hex.h"
#include "core/utf8.h"

/* Payload bytes per encoded word: 45 bytes are 60 base64 characters, and
 * with "=?UTF-8?B?" and "?=" the word stays within RFC 2047's 75. */
#define WORD_BYTES 45
#define QP_LINE 76

/* Short printable ASCII that no reader takes for an encoded word. */
static bool
plain_ascii(const char *s, size_t n)
{
    if (n > 900)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || (c == '=' && i + 1 < n && s[i + 1] == '?'))
            return false;
    }
    return true;
}

/* s as well-formed UTF-8 without control characters: controls become a
 * space, malformed bytes U+FFFD. */
static void
clean_utf8(struct sp_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = sp_utf8_seq_len(s + i, n - i);
        if (len == 0) {
            sp_buf_puts(out, "\xEF\xBF\xBD");
            i++;
        } else if (len == 1 && sp_ascii_control(s[i])) {
            sp_buf_putc(out, ' ');
            i++;
        } else {
            sp_buf_append(out, s + i, len);
            i += len;
        }
    }
}

void
sp_mime_header_text(struct sp_buf *out, const char *text, size_t n, size_t col)
{
    if (plain_ascii(text, n)) {
        sp_buf_append(out, text, n);
        return;
    }
    struct sp_buf c;
    sp_buf_init(&c, out->arena, n * 3 + 1);
    clean_utf8(&c, text, n);
    /* the first word shares its line with the header name */
    size_t budget = col + 12 + 4 < QP_LINE ? (QP_LINE - col - 12) / 4 * 3 : 3;
    if (budget > WORD_BYTES)
        budget = WORD_BYTES;
    size_t i = 0;
    do {
        size_t take = 0;
        while (i + take < c.len) {
            size_t len = sp_utf8_seq_len(c.data + i + take, c.len - i - take);
            if (take + len > budget && take > 0)
                break;
            take += len;
        }
        if (i > 0)
            sp_buf_puts(out, "\r\n ");
        sp_buf_puts(out, "=?UTF-8?B?");
        sp_base64_append(out, c.data + i, take);
        sp_buf_puts(out, "?=");
        i += take;
        budget = WORD_BYTES;
    } while (i < c.len);
}

static bool
line_end_at(const char *s, size_t n, size_t i)
{
    return i >= n || s[i] == '\r' || s[i] == '\n';
}

void
sp_mime_qp(struct sp_buf *out, const char *s, size_t n)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
                i++;
            sp_buf_puts(out, "\r\n");
            col = 0;
            continue;
        }
        bool enc = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t');
        /* whitespace before a line end would be stripped in transit */
        if ((c == ' ' || c == '\t') && line_end_at(s, n, i + 1))
            enc = true;
        size_t w = enc || (c == '.') ? 3 : 1;
        if (col + w > QP_LINE - 1) {
            sp_buf_puts(out, "=\r\n");
            col = 0;
        }
        if (c == '.' && col == 0)
            enc = true;     /* a line of "." would end the SMTP DATA */
        if (enc) {
            sp_buf_putc(out, '=');
            sp_buf_putc(out, sp_hex_upper[c >> 4]);
            sp_buf_putc(out, sp_hex_upper[c & 15]);
            col += 3;
        } else {
            sp_buf_putc(out, (char)c);
            col++;
        }
    }
}

void
sp_mime_date(struct sp_buf *out, int64_t ms)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    sp_buf_printf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
                  tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
}

bool
sp_mail_addr_valid(const char *addr)
{
    if (addr == NULL)
        return false;
    size_t n = strlen(addr);
    const char *at = strrchr(addr, '@');
    if (n < 3 || n > 254 || at == NULL || at == addr || at[1] == '\0')
        return false;
    for (const char *c = addr; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f || strchr("<>()[],;:\"\\", *c) != NULL ||
            (*c == '@' && c != at))
            return false;
    }
    return true;
}

/* A Message-ID without its brackets: a dot-atom-ish left part, '@', a
 * domain; nothing that could end the header or the bracket. */
bool
sp_mail_msg_id_valid(const char *id)
{
    return id != NULL && strlen(id) <= 200 && sp_mail_addr_valid(id) &&
           strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.@_+=-") ==
               strlen(id);
}

static bool
boundary_valid(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    return n >= 8 && n <= 60 &&
           strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* "Name" <addr>, encoded words for a name that is not plain ASCII. */
static void
mailbox(struct sp_buf *out, const char *header, const struct sp_mail_addr *a)
{
    sp_buf_printf(out, "%s: ", header);
    size_t n = a->name ? strlen(a->name) : 0;
    if (n == 0) {
        sp_buf_printf(out, "%s\r\n", a->addr);
        return;
    }
    if (plain_ascii(a->name, n) && n < 200) {
        sp_buf_putc(out, '"');
        for (size_t i = 0; i < n; i++) {
            if (a->name[i] == '"' || a->name[i] == '\\')
                sp_buf_putc(out, '\\');
            sp_buf_putc(out, a->name[i]);
        }
        sp_buf_putc(out, '"');
    } else {
        sp_mime_header_text(out, a->name, n, strlen(header) + 2);
    }
    sp_buf_printf(out, "\r\n <%s>\r\n", a->addr);
}

static void
part(struct sp_buf *out, const char *boundary, const char *type, const char *body)
{
    sp_buf_printf(out,
                  "--=_%s\r\n"
                  "Content-Type: %s; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                  boundary, type);
    sp_mime_qp(out, body, strlen(body));
    if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
        sp_buf_puts(out, "\r\n");
}

static void
headers(struct sp_buf *out, const struct sp_mail *m)
{
    sp_buf_puts(out, "Date: ");
    sp_mime_date(out, m->date_ms);
    sp_buf_puts(out, "\r\n");
    mailbox(out, "From", &m->from);
    mailbox(out, "To", &m->to);
    if (m->reply_to != NULL)
        sp_buf_printf(out, "Reply-To: <%s>\r\n", m->reply_to);
    sp_buf_puts(out, "Subject: ");
    const char *subject = m->subject ? m->subject : "";
    sp_mime_header_text(out, subject, strlen(subject), 9);
    sp_buf_printf(out, "\r\nMessage-ID: <%s>\r\n", m->message_id);
    const char *parent = m->in_reply_to != NULL ? m->in_reply_to : m->thread_id;
    if (parent != NULL) {
        sp_buf_printf(out, "In-Reply-To: <%s>\r\nReferences:", parent);
        if (m->thread_id != NULL)
            sp_buf_printf(out, " <%s>", m->thread_id);
        if (m->in_reply_to != NULL) /* folded: each id on a line of its own */
            sp_buf_printf(out, "%s<%s>", m->thread_id != NULL ? "\r\n " : " ", m->in_reply_to);
        sp_buf_puts(out, "\r\n");
    }
    /* Robots are asked not to answer (RFC 3834), and Exchange, which
     * reads its own header, too; not its DSNs (no "All"), which mark a
     * mail bounced (domain/mail_bounce). */
    sp_buf_puts(out, "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
                     "X-Auto-Response-Suppress: OOF, AutoReply\r\n");
}

enum sp_rc
sp_mail_build(const struct sp_mail *m, struct sp_buf *out, struct sp_problem *p)
{
    if (!sp_mail_addr_valid(m->from.addr) || !sp_mail_addr_valid(m->to.addr) ||
        (m->reply_to != NULL && !sp_mail_addr_valid(m->reply_to)))
        return sp_problem_set(p, SP_INVALID, "bad_address", "not a mailbox address");
    if (!sp_mail_msg_id_valid(m->message_id) ||
        (m->thread_id != NULL && !sp_mail_msg_id_valid(m->thread_id)) ||
        (m->in_reply_to != NULL && !sp_mail_msg_id_valid(m->in_reply_to)))
        return sp_problem_set(p, SP_INVALID, "bad_message_id", "not a message id");
    if (!boundary_valid(m->boundary))
        return sp_problem_set(p, SP_INVALID, "bad_boundary", "boundary: 8..60 alphanumerics");
    headers(out, m);
    const char *text = m->text ? m->text : "";
    if (m->html == NULL) {
        sp_buf_puts(out, "Content-Type: text/plain; charset=utf-8\r\n"
                         "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        sp_mime_qp(out, text, strlen(text));
        return SP_OK;
    }
    sp_buf_printf(out, "Content-Type: multipart/alternative; boundary=\"=_%s\"\r\n\r\n",
                  m->boundary);
    part(out, m->boundary, "text/plain", text);
    part(out, m->boundary, "text/html", m->html);
    sp_buf_printf(out, "--=_%s--\r\n", m->boundary);
    return SP_OK;
}
