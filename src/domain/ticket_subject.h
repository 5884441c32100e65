/*
 * ticket_subject: what a ticket's subject may be (docs/API.md §4). A
 * subject is one line of plain text: it is shown in queues, mail subjects
 * and notifications, where a line break or a terminal escape would forge
 * another header or line, and a subject of spaces or zero-width
 * characters names nothing.
 * Must not: know HTTP or SQL.
 */
#ifndef SP_TICKET_SUBJECT_H
#define SP_TICKET_SUBJECT_H

#include <stddef.h>

#include "core/problem.h"

struct sp_arena;

/* The subject as stored: s (valid UTF-8) without the blanks around it
 * (Unicode spaces, zero-width and other invisible format characters).
 * NULL with a field error on `field` when s holds a C0 or C1 control
 * character, DEL, a line/paragraph separator or a bidirectional
 * embedding, override or isolate (code invalid), or nothing
 * visible once trimmed (code empty). The result is in the arena. */
const char *sp_ticket_subject(struct sp_arena *a, const char *field, const char *s,
                              struct sp_problem *p);

/* sp_ticket_subject() of a field with a length limit: at most max
 * characters (code points) once trimmed, else NULL with a field error
 * too_long ("must be at most <max> characters"). The limit is the stored
 * text's: blanks around it never count (QA: 200 characters with a space
 * around them were refused as 201). */
const char *sp_ticket_subject_max(struct sp_arena *a, const char *field, const char *s,
                                  size_t max, struct sp_problem *p);

/* A subject from text nobody typed into our form (a mail's Subject
 * header, whose encoded words may hold any character): each run of
 * control characters and line breaks, with the spaces around it, becomes
 * one space ("a \r\n b" is "a b"), each bidirectional embedding,
 * override or isolate goes, then the blanks around it go
 * as above; then, when max is not 0, it is cut to its first max
 * characters (code points) and the blanks the cut leaves at its end go
 * too. NULL when nothing visible is left. s is valid UTF-8. */
const char *sp_ticket_subject_of_text(struct sp_arena *a, const char *s, size_t max);

#endif
