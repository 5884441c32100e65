-- 051_ai_passages_as_shown: the AI's passages are now cut from the text
-- an article's page shows (domain/ai_split.c over core/markdown's blocks),
-- not from its markdown: the old ones could hold what the page leaves out
-- (HTML comments and blocks, link reference definitions) and lost the
-- tags written in code spans. Every stored passage is marked as made from
-- no version of its article, so retrieval stops using it at once (it
-- reads only chunks of the article's current version, docs/API.md §9)
-- and the next knowledge-embedding-sync pass cuts every published
-- article again; a passage whose text did not change keeps its vector
-- (chunks are matched by content hash), so only changed ones are
-- embedded anew.
UPDATE support_article_chunks SET article_version = -1 WHERE article_version <> -1;
NOTIFY support_knowledge_sync;
