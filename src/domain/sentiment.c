/*
 * sentiment: the lexicon scorer of API.md §5.3. See sentiment.h for the
 * model; this file is the tokenizer, the tables and one linear pass.
 * Must not: allocate, keep state between calls, or read past len.
 */
#include "domain/sentiment.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 24      /* longer words are never in a table */
#define NEG_SCOPE 3      /* words a negator reaches */
#define NEG_SCALAR -0.74 /* VADER's flip-and-damp */
#define INT_SCOPE 2      /* words an intensifier reaches */
#define INT_CAP 3.0
#define CAPS_BOOST 0.25 /* extra share of an ALL CAPS word */
#define BANG_BOOST 0.3
#define BANG_MAX 4
#define EXPECT_NEG -2.0 /* a negated expectation: "never arrived" */
#define ALPHA 15.0

struct weighted {
    const char *word;
    int weight;
};

/* Kept in strcmp order: looked up with bsearch. */
/* clang-format off */
static const struct weighted lexicon[] = {
    {"abandoned", -2}, {"absurd", -2}, {"abuse", -3}, {"abusive", -3},
    {"aggressive", -2}, {"amazing", 3}, {"angry", -3}, {"annoy", -2},
    {"annoyance", -2}, {"annoyed", -2}, {"annoying", -2}, {"appalled", -3},
    {"appalling", -3}, {"appreciate", 2}, {"appreciated", 2}, {"atrocious", -3},
    {"awesome", 3}, {"awful", -3}, {"bad", -2}, {"badly", -2},
    {"beautiful", 2}, {"best", 3}, {"better", 1}, {"brilliant", 3},
    {"broke", -2}, {"broken", -2}, {"bug", -1}, {"buggy", -2},
    {"bugs", -1}, {"cancel", -1}, {"canceled", -1}, {"cancellation", -1},
    {"cancelled", -1}, {"careless", -2}, {"chargeback", -2}, {"cheat", -3},
    {"cheated", -3}, {"cheers", 1}, {"complain", -2}, {"complaint", -2},
    {"complaints", -2}, {"concerned", -1}, {"confused", -1}, {"confusing", -1},
    {"crap", -3}, {"crash", -2}, {"crashed", -2}, {"crashes", -2},
    {"damaged", -2}, {"dangerous", -3}, {"declined", -1}, {"delay", -1},
    {"delayed", -1}, {"delighted", 3}, {"denied", -1}, {"despicable", -3},
    {"dirty", -2}, {"disappointed", -2}, {"disappointing", -2}, {"disappointment", -2},
    {"disaster", -3}, {"disgrace", -3}, {"disgusted", -3}, {"disgusting", -3},
    {"dishonest", -3}, {"dispute", -2}, {"dissatisfied", -2}, {"easy", 1},
    {"efficient", 2}, {"enjoy", 2}, {"enjoyed", 2}, {"error", -1},
    {"errors", -1}, {"excellent", 3}, {"exceptional", 3}, {"fabulous", 3},
    {"fail", -2}, {"failed", -2}, {"failing", -2}, {"fails", -2},
    {"failure", -2}, {"fair", 1}, {"fake", -2}, {"fantastic", 3},
    {"fast", 1}, {"faulty", -2}, {"favorite", 2}, {"favourite", 2},
    {"fine", 1}, {"fixed", 2}, {"flawless", 3}, {"fraud", -3},
    {"fraudulent", -3}, {"friendly", 2}, {"frustrated", -2}, {"frustrating", -2},
    {"frustration", -2}, {"fuming", -3}, {"furious", -3}, {"garbage", -3},
    {"glad", 2}, {"good", 2}, {"grateful", 2}, {"great", 3},
    {"happily", 2}, {"happy", 2}, {"hassle", -1}, {"hate", -3},
    {"hated", -3}, {"helped", 2}, {"helpful", 2}, {"hopeless", -2},
    {"horrendous", -3}, {"horrible", -3}, {"horrific", -3}, {"idiot", -3},
    {"idiots", -3}, {"ignored", -2}, {"ignoring", -2}, {"impressed", 2},
    {"impressive", 2}, {"incompetent", -3}, {"inconvenience", -1}, {"inconvenient", -1},
    {"incorrect", -1}, {"insulting", -3}, {"irritated", -2}, {"irritating", -2},
    {"issue", -1}, {"issues", -1}, {"kind", 2}, {"kudos", 2},
    {"lawsuit", -3}, {"lawyer", -3}, {"lawyers", -3}, {"liar", -3},
    {"liars", -3}, {"lied", -3}, {"lies", -2}, {"livid", -3},
    {"lost", -1}, {"love", 3}, {"loved", 3}, {"lovely", 2},
    {"mad", -2}, {"mess", -2}, {"misleading", -2}, {"missing", -1},
    {"mistake", -1}, {"nice", 2}, {"nicely", 2}, {"nightmare", -3},
    {"outrage", -3}, {"outraged", -3}, {"outrageous", -3}, {"outstanding", 3},
    {"overcharged", -3}, {"overpriced", -2}, {"painful", -2}, {"pathetic", -3},
    {"patient", 1}, {"perfect", 3}, {"perfectly", 2}, {"pleasant", 2},
    {"pleased", 2}, {"polite", 2}, {"poor", -2}, {"poorly", -2},
    {"problem", -1}, {"problems", -1}, {"professional", 1}, {"prompt", 1},
    {"quick", 1}, {"quickly", 1}, {"recommend", 2}, {"recommended", 2},
    {"refund", -1}, {"refunds", -1}, {"refused", -2}, {"rejected", -1},
    {"reliable", 2}, {"relieved", 2}, {"resolved", 2}, {"responsive", 1},
    {"ridiculous", -2}, {"ripoff", -3}, {"robbed", -3}, {"rubbish", -3},
    {"rude", -3}, {"sad", -2}, {"satisfied", 2}, {"scam", -3},
    {"scammed", -3}, {"scammer", -3}, {"scammers", -3}, {"scamming", -3},
    {"shame", -2}, {"shameful", -3}, {"shocked", -2}, {"shocking", -2},
    {"slow", -1}, {"smooth", 1}, {"smoothly", 1}, {"solved", 2},
    {"steal", -3}, {"stolen", -3}, {"stuck", -1}, {"stupid", -3},
    {"success", 2}, {"successful", 2}, {"suck", -2}, {"sucked", -2},
    {"sucks", -3}, {"sue", -3}, {"superb", 3}, {"supportive", 2},
    {"terrible", -3}, {"terrific", 3}, {"thank", 2}, {"thankful", 2},
    {"thanks", 2}, {"theft", -3}, {"thx", 1}, {"trash", -3},
    {"unacceptable", -3}, {"unauthorised", -2}, {"unauthorized", -2}, {"unfair", -2},
    {"unhappy", -2}, {"unhelpful", -2}, {"unprofessional", -3}, {"unreliable", -2},
    {"unresponsive", -2}, {"unusable", -2}, {"upset", -2}, {"useful", 2},
    {"useless", -3}, {"waste", -2}, {"wasted", -2}, {"welcome", 1},
    {"wonderful", 3}, {"worked", 1}, {"works", 1}, {"worried", -1},
    {"worse", -2}, {"worst", -3}, {"worth", 1}, {"worthless", -3},
    {"wrong", -2}, {"yay", 2},
};

/* Two-word phrases scored at their second word instead of it. No first
 * word is in the lexicon, so nothing counts twice. */
static const struct {
    const char *first, *second;
    int weight;
} phrases[] = {
    {"charged", "twice", -3}, {"double", "charged", -3}, {"rip", "off", -3},
    {"money", "back", -2},    {"fed", "up", -2},         {"never", "again", -2},
    {"still", "waiting", -1}, {"no", "worries", 1},      {"well", "done", 2},
};

/* Neutral alone, a complaint when negated ("haven't received"). */
static const char *const expectations[] = {
    "answer", "answered", "arrive",  "arrived", "deliver", "delivered", "help",
    "receive", "received", "refunded", "replied", "reply",  "respond",  "responded",
    "response", "work",    "working",
};

static const char *const negators[] = {
    "aint", "barely", "cannot", "cant", "couldnt", "didnt", "doesnt", "dont",
    "hadnt", "hardly", "hasnt", "havent", "isnt", "neither", "never", "no",
    "nobody", "none", "nor", "not", "nothing", "shouldnt", "wasnt", "werent",
    "wont", "wouldnt",
};

static const struct weighted intensifiers[] = {
    {"absolutely", 4}, {"completely", 4}, {"extremely", 4}, {"highly", 3},
    {"incredibly", 4}, {"really", 3},     {"seriously", 3}, {"so", 3},
    {"super", 3},      {"totally", 4},    {"truly", 3},     {"utterly", 4},
    {"very", 3},
};
/* clang-format on */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct word {
    char s[WORD_MAX + 1]; /* lowercased, NUL-terminated */
    size_t len;
    bool too_long; /* s holds a prefix only: matches nothing */
    bool caps;     /* 2+ letters, all upper case */
};

enum tok { TOK_END = 0, TOK_WORD, TOK_BREAK };

struct scanner {
    const unsigned char *p;
    size_t n, i;
    bool no_gt;     /* no '>' left: a '<' can no longer open a tag */
    bool has_lower; /* some word has a lowercase letter */
    unsigned bangs;
};

static bool
is_alpha(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26;
}

static bool
is_alnum(unsigned char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static bool
is_break(unsigned char c)
{
    return c != '\0' && strchr(".,;:!?\n\r", c) != NULL;
}

static bool
has_prefix(const struct scanner *s, size_t i, const char *lit)
{
    size_t l = strlen(lit);
    return s->n - i >= l && memcmp(s->p + i, lit, l) == 0;
}

/* Bytes of an apostrophe spelled at i, 0 when there is none. */
static size_t
apostrophe_len(const struct scanner *s, size_t i)
{
    static const char *const forms[] = {"'",      "\xe2\x80\x99", "&#39;",  "&#x27;",
                                        "&apos;", "&rsquo;",      "&#8217;"};
    for (size_t k = 0; k < NELEM(forms); k++)
        if (has_prefix(s, i, forms[k]))
            return strlen(forms[k]);
    return 0;
}

/* Where scanning resumes after a tag or an entity at i; i if there is
 * none. Once no '>' is left, '<' is plain text: no rescans, no O(n²). */
static size_t
skip_markup(struct scanner *s, size_t i)
{
    const unsigned char *p = s->p;
    if (p[i] == '<') {
        if (s->no_gt || i + 1 >= s->n ||
            !(is_alpha(p[i + 1]) || p[i + 1] == '/' || p[i + 1] == '!'))
            return i;
        const unsigned char *gt = memchr(p + i + 1, '>', s->n - i - 1);
        if (gt == NULL) {
            s->no_gt = true;
            return i;
        }
        return (size_t)(gt - p) + 1;
    }
    size_t j = i + 1; /* '&': an entity is at most 10 name bytes and ';' */
    while (j < s->n && j - i <= 10 && (is_alnum(p[j]) || p[j] == '#'))
        j++;
    return j < s->n && p[j] == ';' && j > i + 1 ? j + 1 : i;
}

static void
read_word(struct scanner *s, struct word *w)
{
    size_t upper = 0, lower = 0;
    w->len = 0;
    w->too_long = false;
    for (;;) {
        while (s->i < s->n && is_alpha(s->p[s->i])) {
            unsigned char c = s->p[s->i++];
            if (c >= 'a')
                lower++;
            else
                upper++;
            if (w->len < WORD_MAX)
                w->s[w->len++] = (char)(c | 0x20);
            else
                w->too_long = true;
        }
        size_t a = apostrophe_len(s, s->i);
        if (a == 0 || s->i + a >= s->n || !is_alpha(s->p[s->i + a]))
            break;
        if (w->len < WORD_MAX)
            w->s[w->len++] = '\'';
        else
            w->too_long = true;
        s->i += a;
    }
    w->s[w->len] = '\0';
    w->caps = upper >= 2 && lower == 0;
    if (lower > 0)
        s->has_lower = true;
}

static enum tok
next_token(struct scanner *s, struct word *w)
{
    while (s->i < s->n) {
        unsigned char c = s->p[s->i];
        if (c == '<' || c == '&') {
            size_t j = skip_markup(s, s->i);
            if (j != s->i) {
                s->i = j;
                continue;
            }
        }
        if (is_alpha(c)) {
            read_word(s, w);
            return TOK_WORD;
        }
        s->i++;
        if (c == '!' && s->bangs < BANG_MAX)
            s->bangs++;
        if (is_break(c))
            return TOK_BREAK;
    }
    return TOK_END;
}

static int
cmp_weighted(const void *key, const void *elem)
{
    return strcmp(key, ((const struct weighted *)elem)->word);
}

static int
cmp_str(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static int
lexicon_weight(const char *w)
{
    const struct weighted *e =
        bsearch(w, lexicon, NELEM(lexicon), sizeof(lexicon[0]), cmp_weighted);
    return e ? e->weight : 0;
}

static bool
in_list(const char *w, const char *const *list, size_t n)
{
    return bsearch(w, list, n, sizeof(list[0]), cmp_str) != NULL;
}

static bool
is_negator(const struct word *w)
{
    if (w->too_long)
        return false;
    if (w->len >= 3 && strcmp(w->s + w->len - 3, "n't") == 0)
        return true;
    return in_list(w->s, negators, NELEM(negators));
}

/* Intensifier factor in halves (3 = ×1.5, 4 = ×2), 0 for other words. */
static double
intensity(const struct word *w)
{
    const struct weighted *e =
        bsearch(w->s, intensifiers, NELEM(intensifiers), sizeof(intensifiers[0]), cmp_weighted);
    return e ? e->weight / 2.0 : 0.0;
}

static int
phrase_weight(const struct word *first, const struct word *second)
{
    for (size_t k = 0; k < NELEM(phrases); k++)
        if (strcmp(first->s, phrases[k].first) == 0 && strcmp(second->s, phrases[k].second) == 0)
            return phrases[k].weight;
    return 0;
}

/* Scope state of the pass: what the previous words reach. */
struct scope {
    int neg_left;  /* words still negated */
    int int_left;  /* words the pending intensifier still reaches */
    double factor; /* the pending intensifier */
    bool have_prev;
    struct word prev;
};

/* The signed contribution of word w, updating the scopes. */
static double
score_word(struct scope *sc, const struct word *w)
{
    double v = 0.0;
    if (!w->too_long) {
        int pw = sc->have_prev ? phrase_weight(&sc->prev, w) : 0;
        if (pw != 0) {
            v = pw;
            if (is_negator(&sc->prev))
                sc->neg_left = 0; /* the phrase carries its own sign */
        } else if (sc->neg_left > 0 && in_list(w->s, expectations, NELEM(expectations))) {
            v = EXPECT_NEG;
            sc->neg_left = 0;
        } else {
            v = lexicon_weight(w->s);
        }
    }
    if (v != 0.0) {
        if (sc->int_left > 0)
            v *= sc->factor;
        sc->int_left = 0;
        if (sc->neg_left > 0)
            v *= NEG_SCALAR;
    }
    if (sc->neg_left > 0)
        sc->neg_left--;
    if (sc->int_left > 0)
        sc->int_left--;
    double f = w->too_long ? 0.0 : intensity(w);
    if (is_negator(w)) {
        sc->neg_left = NEG_SCOPE;
    } else if (f > 0.0) {
        sc->factor = fmin((sc->int_left > 0 ? sc->factor : 1.0) * f, INT_CAP);
        sc->int_left = INT_SCOPE;
    }
    sc->prev = *w;
    sc->have_prev = true;
    return v;
}

double
sp_sentiment_score(const char *text, size_t len)
{
    if (text == NULL || len == 0)
        return 0.0;
    struct scanner s = {.p = (const unsigned char *)text, .n = len};
    struct scope sc = {.factor = 1.0};
    struct word w;
    double sum = 0.0, caps_extra = 0.0;
    enum tok t;
    while ((t = next_token(&s, &w)) != TOK_END) {
        if (t == TOK_BREAK) {
            sc = (struct scope){.factor = 1.0};
            continue;
        }
        double v = score_word(&sc, &w);
        sum += v;
        if (w.caps)
            caps_extra += CAPS_BOOST * v;
    }
    if (s.has_lower)
        sum += caps_extra;
    if (sum > 0.0)
        sum += BANG_BOOST * s.bangs;
    else if (sum < 0.0)
        sum -= BANG_BOOST * s.bangs;
    double r = sum / sqrt(sum * sum + ALPHA);
    return r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r;
}
