/*
 * ai_synonyms: the shipped thesaurus and query expansion. See
 * ai_synonyms.h.
 *
 * Entries are generic vocabulary of a travel/marketplace help centre, the
 * words customers use next to the words help articles use; one per line,
 * either a ring ("a b c": each expands to the others) or one-way ("a b >
 * c": a and b expand to c, not back). Words are matched by their
 * core/embed term (plural and -ed/-ing endings stripped), so "dogs" finds
 * "dog". Keep it generic: an entry written to make one benchmark question
 * pass is overfitting (bench/ai_labelled.json separates the questions
 * that may guide it from those that must not).
 */
#include "domain/ai_synonyms.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/embed.h"

static const char *const table[] = {
    /* people and places */
    "host owner landlord",
    "guest traveller traveler visitor",
    "apartment flat accommodation property",
    "parent mother father family relative friend > guest",
    "pet animal dog cat puppy kitten",
    /* bookings */
    "booking reservation",
    "reschedule postpone > change date",
    "arrival arrive > check",
    "key keys lockbox > code door",
    "wifi internet",
    "noise noisy loud > problem",
    "dirty unclean filthy broken faulty > problem",
    "wheelchair disabled disability > accessibility accessible",
    /* money */
    "refund reimbursement reimburse",
    "money > refund payment",
    "paid earnings earn > payout",
    "payout earnings",
    "receipt invoice bill",
    "fee charge surcharge",
    "tax vat levy",
    "euro dollar pound yen > currency",
    "instalment installment",
    "declined rejected refused failing failed > declined",
    "voucher > gift coupon",
    "promo promotional discount coupon",
    "hold deposit",
    /* account */
    "login signin > sign",
    "passcode > password",
    "email mail",
    "account profile",
    "delete remove erase",
    "id passport licence license document > identity",
    "verify verification confirm",
    "unsubscribe > notification",
    "feedback review rating",
    "photo picture image pic",
    /* lost and found */
    "charger jacket coat wallet laptop glasses headphones umbrella > item",
    "lost forgot forgotten left > item",
};

#define TERMS_MAX 64
#define WORDS_MAX 16

struct terms {
    char t[TERMS_MAX][SP_EMBED_TERM_MAX + 1];
    size_t n;
};

static void
add_term(const char *term, size_t len, void *arg)
{
    struct terms *ts = arg;
    if (ts->n == TERMS_MAX)
        return;
    memcpy(ts->t[ts->n], term, len);
    ts->t[ts->n++][len] = '\0';
}

static bool
has_term(const struct terms *ts, const char *term)
{
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i], term) == 0)
            return true;
    return false;
}

/* The term of one table word ("" for a stop word). */
static void
term_of(const char *word, char out[SP_EMBED_TERM_MAX + 1])
{
    struct terms one = {.n = 0};
    sp_embed_terms(word, strlen(word), add_term, &one);
    snprintf(out, SP_EMBED_TERM_MAX + 1, "%s", one.n > 0 ? one.t[0] : "");
}

/* A table line, parsed once per process (compile()). */
struct entry {
    char buf[256];
    char *words[WORDS_MAX];
    char terms[WORDS_MAX][SP_EMBED_TERM_MAX + 1];   /* each word's term; "": a stop word */
    size_t n, left;   /* words[0..left) expand to words[left..n) (a ring: left = n) */
};

#define ENTRIES (sizeof(table) / sizeof(table[0]))
static struct entry entries[ENTRIES];
static pthread_once_t compiled = PTHREAD_ONCE_INIT;

static void
parse(const char *line, struct entry *e)
{
    snprintf(e->buf, sizeof(e->buf), "%s", line);
    e->n = 0;
    e->left = 0;
    char *save = NULL;
    for (char *w = strtok_r(e->buf, " ", &save); w != NULL && e->n < WORDS_MAX;
         w = strtok_r(NULL, " ", &save)) {
        if (strcmp(w, ">") == 0)
            e->left = e->n;
        else
            e->words[e->n++] = w;
    }
    if (e->left == 0)
        e->left = e->n;
    for (size_t i = 0; i < e->n; i++)
        term_of(e->words[i], e->terms[i]);
}

static void
compile(void)
{
    for (size_t i = 0; i < ENTRIES; i++)
        parse(table[i], &entries[i]);
}

/* Appends the synonyms of entry e matched by the question's terms q. */
static void
expand_entry(const struct entry *e, const struct terms *q, struct sp_ai_synonym *out,
             size_t *n)
{
    bool ring = e->left == e->n;
    for (size_t i = 0; i < e->left; i++) {
        if (e->terms[i][0] == '\0' || !has_term(q, e->terms[i]))
            continue;
        for (size_t j = ring ? 0 : e->left; j < e->n && *n < SP_AI_SYNONYMS_MAX; j++) {
            bool seen = j == i || e->terms[j][0] == '\0' || has_term(q, e->terms[j]);
            for (size_t k = 0; k < *n && !seen; k++)
                seen = strcmp(out[k].synonym, e->words[j]) == 0;
            if (!seen)
                out[(*n)++] = (struct sp_ai_synonym){e->words[i], e->words[j]};
        }
    }
}

size_t
sp_ai_synonyms(const char *question, struct sp_ai_synonym out[SP_AI_SYNONYMS_MAX])
{
    pthread_once(&compiled, compile);
    struct terms q = {.n = 0};
    sp_embed_terms(question, strlen(question), add_term, &q);
    size_t n = 0;
    for (size_t i = 0; i < ENTRIES && n < SP_AI_SYNONYMS_MAX; i++)
        expand_entry(&entries[i], &q, out, &n);
    return n;
}

const char *
sp_ai_expand(struct sp_arena *a, const char *question)
{
    struct sp_ai_synonym syn[SP_AI_SYNONYMS_MAX];
    size_t n = sp_ai_synonyms(question, syn);
    if (n == 0)
        return question;
    struct sp_buf b;
    sp_buf_init(&b, a, strlen(question) + 64);
    sp_buf_puts(&b, question);
    for (size_t i = 0; i < n; i++) {
        sp_buf_puts(&b, i == 0 ? " (also: " : " ");
        sp_buf_puts(&b, syn[i].synonym);
    }
    sp_buf_putc(&b, ')');
    return b.data;
}
