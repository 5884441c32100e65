/*
 * sentiment: the built-in lexicon scorer of API.md §5.3. Ticket creation
 * scores the customer's text once, stores the number on the ticket (shown
 * to agents as `sentiment`) and hands it to the priority rules
 * (domain/rules.h, `sentiment_below`).
 * Must not: allocate, read global state, log, or look at the database; it
 * is a pure function of its bytes, safe on any input (invalid UTF-8, NULs
 * within len, 20 000+ chars) in one linear pass.
 *
 * How a text is scored (a small VADER-like model, English only):
 * - Words are runs of ASCII letters, lowercased; an apostrophe (', U+2019,
 *   &#39; &#x27; &apos; &rsquo;) between two letters stays in the word
 *   ("don't"). Every other byte separates words; non-ASCII letters therefore
 *   split words and never score. HTML tags (`<` + letter, `/` or `!`, up to
 *   the next `>`) and entities (`&name;`, `&#..;`) are skipped like spaces,
 *   so "<b>great</b>" scores as "great".
 * - Clause breaks: . , ; : ! ? and line ends. They end negation and
 *   intensifier scopes and break two-word phrases.
 * - The lexicon holds 250 words weighted ±1..3, plus two-word phrases
 *   scored at their second word ("charged twice" −3, "rip off" −3, "money
 *   back" −2, "fed up" −2, "never again" −2, "still waiting" −1, "no
 *   worries" +1, "well done" +2).
 * - Negation: not no never none nobody nothing neither nor cannot hardly
 *   barely, their apostrophe-less forms (dont, cant, ...) and any word
 *   ending in "n't" flip every lexicon word among the next 3 words of the
 *   same clause and damp it to 0.74 of its weight (VADER's constant):
 *   "not bad" = +1.48, "not happy" = −1.48. "never" is a negator only.
 * - Expectation words (work, working, arrive(d), receive(d), deliver(ed),
 *   respond(ed), response, reply, replied, answer(ed), help, refunded) are
 *   neutral alone but score −2 when negated ("never arrived", "haven't
 *   received", "not working"); like a phrase that starts with a negator
 *   ("no worries") they end the negation, so in "haven't received my
 *   refund" the word "refund" keeps its own negative sign.
 * - Intensifiers multiply the next lexicon word within 2 words of the same
 *   clause: very really so super truly highly seriously ×1.5; extremely
 *   absolutely completely totally utterly incredibly ×2. They stack
 *   ("really very") up to ×3.
 * - A lexicon word in ALL CAPS (2+ letters) counts ×1.25, but only when
 *   the text also has lowercase words (all-caps typing is not shouting).
 * - Each '!' outside tags adds 0.3 to the magnitude of a non-zero sum, at
 *   most 4 of them.
 * - The sum s is normalised to s / sqrt(s² + 15) (VADER, alpha = 15), so
 *   the result is in [−1, 1]; a text with no lexicon word scores 0. Long
 *   texts saturate: ten clearly negative words already score about −0.98.
 */
#ifndef SP_SENTIMENT_H
#define SP_SENTIMENT_H

#include <stddef.h>

/* Score of text[0..len) in [-1, 1]; 0 for NULL, empty or no lexicon
 * word. NULs within len are separators. Ticket creation scores the
 * customer's words: subject "\n" description (a line end is a clause
 * break, so the two never run together). */
double sp_sentiment_score(const char *text, size_t len);

#endif
