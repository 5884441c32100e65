/*
 * test_attachment_files: the directory store of src/domain/attachment_files.c
 * (the bucket store runs against s3_fixture.py in
 * t/integration/test_attachments_s3.c) — reading a stored file from its
 * start, telling "not there" from "cannot read", removing (a file already
 * gone counts as removed), and the bucket's two keys of an id; and
 * whether stored bytes are of their declared type (domain/attachments.c:
 * any text as text/plain or text/csv, never binary).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "domain/attachment_files.h"
#include "domain/attachments.h"
#include "domain/ctx.h"
#include "unit.h"

static char dir[64];
static struct sp_arena arena;
static struct sp_attachment_files files;

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/sp-files.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    sp_arena_init(&arena, 1024);
    files = (struct sp_attachment_files){dir, NULL, "attachments/"};
}

static void
teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    sp_arena_destroy(&arena);
}

static void
put(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(a_stored_file_opens_at_its_start)
{
    put("ABC.1234", "hello");
    char err[128];
    bool missing = true;
    int fd = sp_attachment_files_open(&files, "ABC.1234", 1024, &missing, err, sizeof(err));
    ck_assert_int_ge(fd, 0);
    ck_assert(!missing);
    char buf[8] = {0};
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 5);
    ck_assert_str_eq(buf, "hello");
    close(fd);
}
END_TEST

START_TEST(missing_is_told_from_unreadable)
{
    char err[128];
    bool missing = false;
    ck_assert_int_lt(sp_attachment_files_open(&files, "GONE.0", 1024, &missing, err, sizeof(err)),
                     0);
    ck_assert(missing);
    /* A storage "directory" that is a file: an error, not an absence
     * (a permission error would be too, but root reads anything). */
    put("plain", "x");
    char notdir[128];
    snprintf(notdir, sizeof(notdir), "%s/plain", dir);
    files.dir = notdir;
    ck_assert_int_lt(sp_attachment_files_open(&files, "X.0", 1024, &missing, err, sizeof(err)),
                     0);
    ck_assert(!missing);
    ck_assert_str_eq(err, strerror(ENOTDIR));
}
END_TEST

START_TEST(remove_deletes_and_a_gone_file_counts_as_removed)
{
    put("DEL.1", "x");
    char err[128];
    ck_assert(sp_attachment_files_remove(&files, &arena, "DEL.1", err, sizeof(err)));
    char path[128];
    snprintf(path, sizeof(path), "%s/DEL.1", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert(sp_attachment_files_remove(&files, &arena, "DEL.1", err, sizeof(err)));
}
END_TEST

/* Clients upload under incoming/; the checked bytes are kept under a key
 * with a random part, another each time (no URL ever names it). */
START_TEST(the_bucket_keys_are_incoming_and_stored)
{
    ck_assert_str_eq(sp_attachment_files_incoming_key(&arena, &files, "K7Q2"),
                     "attachments/incoming/K7Q2");
    const char *a = sp_attachment_files_stored_key(&arena, &files, "K7Q2");
    const char *b = sp_attachment_files_stored_key(&arena, &files, "K7Q2");
    ck_assert_uint_eq(strlen(a), strlen("attachments/K7Q2.") + 16);
    ck_assert(strncmp(a, "attachments/K7Q2.", 17) == 0);
    ck_assert_str_ne(a, b);
    files.prefix = NULL;
    ck_assert_str_eq(sp_attachment_files_incoming_key(&arena, &files, "K7Q2"), "incoming/K7Q2");
}
END_TEST

/* The cleanup deletes only files named like the keys stored_key makes. */
START_TEST(only_a_stored_key_is_a_stored_name)
{
    files.prefix = NULL;
    const char *key = sp_attachment_files_stored_key(&arena, &files, "K7Q2MZ5XR4AB");
    ck_assert(sp_attachment_files_stored_name(key));
    ck_assert(sp_attachment_files_stored_name("K7Q2MZ5XR4AB.0123456789abcdef"));
    const char *others[] = {"notes.txt", "K7Q2MZ5XR4AB.0123456789ABCDEF",
                            "K7Q2MZ5XR4AB.0123456789abcde", "K7Q2MZ5XR4AB.0123456789abcdef0",
                            "K7Q2MZ5XR4AB-0123456789abcdef", "K7Q2MZ5XR4A.0123456789abcdef0",
                            "17Q2MZ5XR4AB.0123456789abcdef", "K7Q2MZ5XR4AU.0123456789abcdef",
                            "k7q2mz5xr4ab.0123456789abcdef", ".", "", "incoming"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        ck_assert_msg(!sp_attachment_files_stored_name(others[i]), "%s", others[i]);
}
END_TEST

/* The type libmagic gives the bytes of text written to a file of dir. */
static const char *
sniffed(const char *text, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/sniff", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    fclose(f);
    struct sp_ctx ctx = {.arena = &arena};
    const char *t = sp_attachment_sniff(&ctx, path);
    ck_assert_ptr_nonnull(t);
    return t;
}
#define SNIFFED(lit) sniffed((lit), sizeof(lit) - 1)

/* QA: plain text naming markup (<script>, <a href>, <?xml, <svg) was
 * refused as "not of the declared type text/plain": libmagic calls it
 * text/html, text/xml or image/svg+xml. Any text is plain text or CSV
 * (served as declared, nosniff, as an attachment); binary is not. */
START_TEST(any_text_is_plain_text_or_csv_but_binary_is_not)
{
    static const char *const texts[] = {
        "see <a href=x>link</a>\n", "error at line 3: unexpected <script> tag\n",
        "a,b\n1,<script>\n", "<table><tr><td>1</td></tr></table>\n",
        "hello <title>x</title>\n", "<style>p{}</style>\n", "<head></head>\n",
        "<?xml version=\"1.0\"?><a/>\n", "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n",
        "just words\n",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        const char *t = sniffed(texts[i], strlen(texts[i]));
        ck_assert_msg(sp_attachment_type_matches("text/plain", t), "%s: %s", texts[i], t);
        ck_assert_msg(sp_attachment_type_matches("text/csv", t), "%s: %s", texts[i], t);
    }
    /* markup is still no image or PDF, and binary is no text */
    ck_assert(!sp_attachment_type_matches("image/png", SNIFFED("<svg></svg>\n")));
    ck_assert(!sp_attachment_type_matches("application/pdf", SNIFFED("<html></html>\n")));
    const char *png = SNIFFED("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\10\6\0\0\0");
    ck_assert(!sp_attachment_type_matches("text/plain", png));
    ck_assert(!sp_attachment_type_matches("text/csv", SNIFFED("%PDF-1.4\n%\xe2\xe3\n")));
    ck_assert(!sp_attachment_type_matches("text/plain", SNIFFED("\x7f""ELF\2\1\1\0\0\0")));
}
END_TEST

/* The first bytes lit as a file of them is checked (all of it). */
static enum sp_attachment_match
match(const char *declared, const char *text, size_t len)
{
    return sp_attachment_bytes_match(declared, sniffed(text, len), text, len, true);
}
#define MATCH(type, lit) match((type), (lit), sizeof(lit) - 1)

/* QA: "a" and "\n" were type_mismatch (libmagic: application/octet-
 * stream); UTF-16 and Latin-1 text was taken and served garbled. */
START_TEST(short_text_is_text_and_text_is_utf8)
{
    static const char *const shorts[] = {"a", "\n", "ab", "\t\r\n", "\xc3\xa9", "1,2"};
    for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
        size_t n = strlen(shorts[i]);
        ck_assert_msg(match("text/plain", shorts[i], n) == SP_ATTACHMENT_MATCH, "%s",
                      shorts[i]);
        ck_assert_msg(match("text/csv", shorts[i], n) == SP_ATTACHMENT_MATCH, "%s", shorts[i]);
    }
    /* controls are no text; nor is text an image */
    ck_assert_int_eq(MATCH("text/plain", "\x01"), SP_ATTACHMENT_MISMATCH);
    ck_assert_int_eq(MATCH("text/plain", "a\0b"), SP_ATTACHMENT_MISMATCH);
    ck_assert_int_eq(MATCH("image/png", "a"), SP_ATTACHMENT_MISMATCH);
    /* UTF-16 with its BOM, Latin-1: not UTF-8 */
    ck_assert_int_eq(MATCH("text/plain", "\xff\xfeh\0i\0\n\0"), SP_ATTACHMENT_NOT_UTF8);
    ck_assert_int_eq(MATCH("text/plain", "\xfe\xff\0h\0i\0\n"), SP_ATTACHMENT_NOT_UTF8);
    ck_assert_int_eq(MATCH("text/csv", "caf\xe9,cr\xe8me\n"), SP_ATTACHMENT_NOT_UTF8);
    ck_assert_int_eq(MATCH("text/plain", "\xef\xbb\xbf" "bom\n"), SP_ATTACHMENT_MATCH);
    /* the first bytes of a longer file may end inside a character */
    const char *cut = "caf\xc3";
    ck_assert_int_eq(sp_attachment_bytes_match("text/plain", "text/plain", cut, 4, false),
                     SP_ATTACHMENT_MATCH);
    ck_assert_int_eq(sp_attachment_bytes_match("text/plain", "text/plain", cut, 4, true),
                     SP_ATTACHMENT_NOT_UTF8);
}
END_TEST

/* QA: a PNG, and /bin/true, declared text/plain were told "text must be
 * UTF-8 (convert UTF-16 or Latin-1 text to UTF-8)": libmagic's verdict
 * comes first, and bytes it types as no text are binary. What it does
 * not know (application/octet-stream) is binary unless NUL-spaced, as
 * UTF-16 without a BOM is. */
START_TEST(binary_under_a_text_type_is_binary_not_badly_encoded_text)
{
    ck_assert_int_eq(MATCH("text/plain", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\10\0\0"
                                         "\0\0\x3a\x7e\x9b\x55\0\0\0\nIDAT\x78\x9c\x63\x60\0\0"
                                         "\0\2\0\1\x48\xaf\xa4\x71\0\0\0\0IEND\xae\x42\x60\x82"),
                     SP_ATTACHMENT_BINARY);
    char elf[4096];
    FILE *f = fopen("/bin/true", "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(elf, 1, sizeof(elf), f);
    fclose(f);
    ck_assert_int_eq(match("text/plain", elf, n), SP_ATTACHMENT_BINARY);
    ck_assert_int_eq(match("text/csv", elf, n), SP_ATTACHMENT_BINARY);
    /* text in another encoding is still told to convert */
    ck_assert_int_eq(MATCH("text/plain", "\xe9\0t\0\xe9\0\n\0"), SP_ATTACHMENT_NOT_UTF8);
    ck_assert_int_eq(MATCH("text/plain", "\xff\xfeh\0i\0\n\0"), SP_ATTACHMENT_NOT_UTF8);
    ck_assert_int_eq(MATCH("text/csv", "caf\xe9,cr\xe8me\n"), SP_ATTACHMENT_NOT_UTF8);
}
END_TEST

/* QA: format characters inside names were taken, bidirectional controls
 * at the ends trimmed silently (docs: refused). */
START_TEST(names_refuse_format_characters)
{
    static const char *const bad[] = {
        "a\xe2\x81\xaa" "b.txt",        /* U+206A */
        "a\xef\xbf\xb9" "b.txt",        /* U+FFF9 */
        "\xd8\x80" "a.txt",              /* U+0600 */
        "a\xe1\xa0\x8e" "b.txt",        /* U+180E */
        "a\xe2\x80\x8b" "b.txt",        /* U+200B inside */
        "a \xe2\x80\x8d b.txt",      /* ZWJ between spaces */
        "a\xe2\x80\xae" "b.txt",        /* U+202E */
        "a.txt\xe2\x80\x8e",         /* U+200E at the end */
        "\xe2\x80\x8f" "a.txt",         /* U+200F at the start */
        "a.txt\xe2\x81\xa6",         /* U+2066 at the end */
        "a\xc2\x85" "b", "a\xe2\x80\xa8" "b", "a/b", "a\\b", ".", "..",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!sp_attachment_filename_ok(sp_attachment_filename_trim(&arena, bad[i])),
                      "%zu", i);
    static const char *const good[] = {
        "report.pdf",
        "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9.png",    /* man ZWJ woman */
        "\xe2\x9d\xa4\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x94\xa5.png", /* VS16 ZWJ */
        "\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae\xd9\x88\xd8\xa7\xd9\x87\xd9\x85.txt",
        "\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\xb7.txt",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(sp_attachment_filename_ok(sp_attachment_filename_trim(&arena, good[i])),
                      "%zu", i);
    /* invisible non-bidi characters at the ends are still trimmed */
    ck_assert_str_eq(sp_attachment_filename_trim(&arena, "\xe2\x80\x8b" "a.txt\xef\xbb\xbf"),
                     "a.txt");
}
END_TEST

/* A bucket cannot add nosniff or a CSP: markup is served as bytes. */
START_TEST(a_bucket_serves_markup_as_bytes)
{
    ck_assert_str_eq(sp_attachment_bucket_type("text/html"), "application/octet-stream");
    ck_assert_str_eq(sp_attachment_bucket_type("text/markdown"), "application/octet-stream");
    ck_assert_str_eq(sp_attachment_bucket_type("image/svg+xml"), "application/octet-stream");
    ck_assert_str_eq(sp_attachment_bucket_type("application/xml"), "application/octet-stream");
    ck_assert_str_eq(sp_attachment_bucket_type("text/plain"), "text/plain");
    ck_assert_str_eq(sp_attachment_bucket_type("text/csv"), "text/csv");
    ck_assert_str_eq(sp_attachment_bucket_type("image/png"), "image/png");
    ck_assert_str_eq(sp_attachment_bucket_type("application/pdf"), "application/pdf");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("attachment_files");
    TCase *tc = tcase_create("directory");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_stored_file_opens_at_its_start);
    tcase_add_test(tc, missing_is_told_from_unreadable);
    tcase_add_test(tc, remove_deletes_and_a_gone_file_counts_as_removed);
    tcase_add_test(tc, the_bucket_keys_are_incoming_and_stored);
    tcase_add_test(tc, only_a_stored_key_is_a_stored_name);
    tcase_add_test(tc, any_text_is_plain_text_or_csv_but_binary_is_not);
    tcase_add_test(tc, short_text_is_text_and_text_is_utf8);
    tcase_add_test(tc, binary_under_a_text_type_is_binary_not_badly_encoded_text);
    tcase_add_test(tc, names_refuse_format_characters);
    tcase_add_test(tc, a_bucket_serves_markup_as_bytes);
    suite_add_tcase(s, tc);
    return sp_unit_run(s);
}
