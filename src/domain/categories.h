/*
 * categories: the support_categories concept — finding a category by
 * slug (active only where a ticket or chat is filed, any where an admin
 * refers to one), its slug by id, the one wording of "unknown category",
 * the active ones a client may file under (API.md §4), and the admin's
 * list, create and update (API.md §6).
 * Must not: know HTTP; validate the slug's spelling (the admin API does,
 * on input); decide routing or priority (routing, tickets do, from what
 * this returns).
 *
 * The ticket intake (domain/tickets.c) reads the category inside its one
 * statement with the rules and SLA policies, one round trip per created
 * ticket: it joins support_categories itself, through the same rule
 * SP_CATEGORY_ACTIVE_SLUG that sp_category_by_slug uses, and reports a
 * miss with sp_category_unknown.
 */
#ifndef SP_CATEGORIES_H
#define SP_CATEGORIES_H

#include <stdbool.h>

#include "core/problem.h"
#include "domain/admin_store.h"
#include "domain/ctx.h"

/* SQL: the row aliased `alias` is the active category of slug expression
 * `slug` (a ticket or a chat can only be filed under an active one). */
#define SP_CATEGORY_ACTIVE_SLUG(alias, slug) alias ".slug = " slug " AND " alias ".is_active"
/* SQL: the slug of the category of id expression `id`, or NULL. */
#define SP_CATEGORY_SLUG_OF(id) "(SELECT slug FROM support_categories WHERE id = " id ")"
/* SQL: the id of the category of slug expression `slug` (active or not),
 * or NULL. */
#define SP_CATEGORY_ID_OF(slug) "(SELECT id FROM support_categories WHERE slug = " slug ")"

enum sp_category_scope { SP_CATEGORY_ACTIVE, SP_CATEGORY_ANY };

struct sp_category {
    long long id;
    const char *slug;
    bool is_active;
    const char *routing;           /* manual | round_robin | skill */
    const char *team;              /* NULL = general */
    const char *required_skill;    /* NULL = none */
    const char *default_priority;  /* NULL = none */
};

/* The category of slug within scope; none is SP_INVALID with the field
 * error of sp_category_unknown. Strings are owned by the arena. */
enum sp_rc sp_category_by_slug(struct sp_ctx *ctx, const char *slug, enum sp_category_scope scope,
                               struct sp_category *out, struct sp_problem *p);
/* Fills the field error `category` unknown_category; returns SP_INVALID. */
enum sp_rc sp_category_unknown(struct sp_problem *p, enum sp_category_scope scope);
/* The slug of category id; NULL for 0, an unknown id or a failure (then
 * p is filled). */
const char *sp_category_slug(struct sp_ctx *ctx, long long id, struct sp_problem *p);

/* What a client filing a ticket or a chat learns of a category: never
 * its routing, team, skill or default priority (staff's business). */
struct sp_category_entry {
    const char *slug;
    const char *name;
    const char *description;    /* NULL = none */
};

/* The active categories, ordered by name then slug, in one statement;
 * *items (arena-owned) holds *n of them. */
enum sp_rc sp_category_list_active(struct sp_ctx *ctx, struct sp_category_entry **items,
                                   size_t *n, struct sp_problem *p);

/* Admin writes: the columns, in the order the values arrays are indexed. */
enum { SP_CAT_SLUG, SP_CAT_NAME, SP_CAT_DESCRIPTION, SP_CAT_IS_ACTIVE, SP_CAT_ROUTING,
       SP_CAT_TEAM, SP_CAT_SKILL, SP_CAT_DEFAULT_PRIORITY, SP_CAT_NFIELDS };

/* The admin's list, create and update (API.md §6); a create or update
 * with another category's slug is 409 slug_taken. */
extern const struct sp_admin_store sp_category_store;

#endif
