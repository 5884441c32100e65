/*
 * ai_synonyms: query expansion for the AI retrieval (API.md §9) — a small
 * shipped thesaurus of support and marketplace vocabulary, so a question
 * in a customer's words ("dog", "pictures", "get paid") finds the article
 * in the help centre's words ("pets", "photos", "payout"). The hashed
 * embedder and full-text search only match shared words; this bridges the
 * common gaps without a model. Rings of equivalent words ("photo picture
 * image") expand each member to the others; one-way entries ("paid >
 * payout") only the left side. The table is in ai_synonyms.c; docs/API.md
 * §9 says how to extend it, and why it must stay generic vocabulary.
 * Must not: know SQL or HTTP.
 */
#ifndef SP_AI_SYNONYMS_H
#define SP_AI_SYNONYMS_H

#include <stddef.h>

struct sp_arena;

#define SP_AI_SYNONYMS_MAX 32   /* pairs per question */

struct sp_ai_synonym {
    const char *word;      /* as in the table (a question's term matched it) */
    const char *synonym;   /* one word */
};

/* The synonyms of question's terms (core/embed's terms: lower-cased,
 * stop words dropped, lightly stemmed), at most SP_AI_SYNONYMS_MAX pairs
 * into out (static strings: the table is parsed once per process);
 * returns how many. A synonym that is itself a term of the question is
 * left out. */
size_t sp_ai_synonyms(const char *question, struct sp_ai_synonym out[SP_AI_SYNONYMS_MAX]);

/* question followed by its synonyms (" (also: a b)"), for scoring
 * sentences of the answer; question itself when it has none. */
const char *sp_ai_expand(struct sp_arena *a, const char *question);

#endif
