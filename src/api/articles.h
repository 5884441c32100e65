/*
 * articles (api): what the JSON API and the admin pages share of an
 * article's representation.
 */
#ifndef SP_API_ARTICLES_H
#define SP_API_ARTICLES_H

struct sp_jw;
struct sp_article;

/* The admin view (API.md §6): every field, the markdown and rendered HTML
 * when the article was read whole. */
void sp_api_article_admin_json(struct sp_jw *w, const struct sp_article *a);

#endif
