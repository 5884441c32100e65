/*
 * env_file: the settings file (/etc/support/support.env) read as systemd
 * reads an EnvironmentFile= (systemd.exec(5)), for the programs run by
 * hand or by cron (--env-file: the jobs, support-migrate, the FastCGI
 * programs' --check-config); in core so all of them reach it (the
 * FastCGI mains are above domain, not above jobs/). A sh `set -a; . file`
 * read it before, which stopped at a value with an unquoted space
 * (`SUPPORT_MAIL_FROM_NAME=Acme Support`, which systemd takes) and
 * expanded `$` and backquotes systemd leaves as they are, its errors
 * going to cron's mail. The rules:
 *   - NAME=value lines; empty lines and lines whose first non-blank
 *     character is # or ; are skipped;
 *   - blanks around the name and the value are dropped, inner ones kept;
 *   - an unquoted value takes \x as x, and a \ at the line's end joins
 *     the next line;
 *   - '…' keeps everything verbatim (newlines too); "…" takes \" \\ \`
 *     \$ as the character, \ at a line's end joins lines, keeps any other
 *     \x as it is; quoted and unquoted parts next to each other join;
 *   - no $ expansion, no command substitution.
 * Stricter than systemd, which skips such an assignment with a warning
 * few would read: a name that is no variable name (letters, digits, _;
 * not first a digit), a line without "=" (a typo'd `NAME value`, which
 * systemd skips silently) or a file that is not UTF-8 text is refused.
 * Must not: log (the caller does), or say a value.
 */
#ifndef SP_ENV_FILE_H
#define SP_ENV_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Calls each(arg, name, value) for every assignment of text (len bytes),
 * in order. false with err (the line and what is wrong, never its text)
 * when the text is refused; assignments before it were passed on. */
bool sp_env_file_parse(const char *text, size_t len,
                       void (*each)(void *arg, const char *name, const char *value), void *arg,
                       char *err, size_t errlen);

/* Reads path (at most 1 MiB) and sets its assignments in the environment,
 * over what was set (as EnvironmentFile= overrides Environment=). false
 * with err naming the file and why ("cannot be read: Permission denied",
 * "line 7: …"); nothing is set then. */
bool sp_env_file_load(const char *path, char *err, size_t errlen);

#endif
