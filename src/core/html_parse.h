/*
 * html_parse: the one door to gumbo (core/sanitize, core/mail_html) and
 * the block elements both read alike.
 * Must not: know HTTP, SQL or mail; let gumbo see input it aborts on.
 */
#ifndef SP_HTML_PARSE_H
#define SP_HTML_PARSE_H

#include <gumbo.h>
#include <stdbool.h>
#include <stddef.h>

struct sp_arena;

/* gumbo_parse_with_options on s[0..n), after taking away what Debian's
 * gumbo 0.10.1 (built with assertions) aborts the process on: each
 * "<![CDATA[" (matched case-insensitively, wherever it stands) has its
 * '[' made '-', so the tokenizer reads a bogus comment up to the next
 * '>' and never takes its CDATA path (google/gumbo-parser#301: text
 * after a CDATA section in <math><mi>, <svg><desc> and the like inside
 * a <table> aborts in handle_in_table). In HTML content a browser reads
 * "<![CDATA[…>" as that bogus comment too; in <svg>/<math>, which every
 * caller unwraps, the section's text up to its first '>' is lost. The
 * input is copied (into a) only when it holds one. The caller destroys
 * the output with gumbo_destroy_output(opt, …). */
GumboOutput *sp_html_parse(const GumboOptions *opt, const char *s, size_t n,
                           struct sp_arena *a);

/* HTML's block-level elements, table parts included: a reader sees each
 * on lines of its own (sanitize keeps a line break where it unwraps one,
 * mail_html starts and ends a line of text there). */
bool sp_html_block(GumboTag t);

#endif
