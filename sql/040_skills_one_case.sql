-- 040_skills_one_case: skills are stored as sp_agent_skill writes them
-- (docs/API.md §6): trimmed of blanks, A-Z lower-cased, each once per
-- agent. Writes follow that rule from now on; rows written before keep
-- their case until saved again -- and an admin's edit of a category
-- ("Billing" -> "billing") would then stop matching the agents that still
-- say "Billing", so skill routing would find nobody. Normalise them now.
-- The blanks trimmed are domain/ticket_subject.c's is_blank (and tab/CR/LF).
-- Only A-Z are folded (translate, not lower(): lower() follows the
-- database's locale and would fold other letters the C code keeps). A
-- skill left blank is dropped; a category's blank required_skill is NULL,
-- as no skill required. A skill longer than 64 characters (rows from
-- before the bound) is kept: routing still matches it, and the admin
-- sees it at the next edit.
CREATE OR REPLACE FUNCTION pg_temp.skill_of(s text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT nullif(translate(regexp_replace(s, format('^%1$s+|%1$s+$', blank), '', 'g'),
                            'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '')
      FROM (SELECT '[\u0009-\u000d\u0020\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680'
                   '\u180b-\u180f\u2000-\u200f\u202a-\u202f\u205f-\u2064\u2066-\u2069'
                   '\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0'
                   '\U000e0000-\U000e007f\U000e0100-\U000e01ef]' AS blank) AS b
$$;

UPDATE support_agents a
   SET skills = n.skills
  FROM (SELECT id,
               coalesce((SELECT array_agg(k ORDER BY first)
                           FROM (SELECT pg_temp.skill_of(s) AS k, min(i) AS first
                                   FROM unnest(skills) WITH ORDINALITY AS u(s, i)
                                  WHERE pg_temp.skill_of(s) IS NOT NULL
                                  GROUP BY 1) AS d), '{}') AS skills
          FROM support_agents) AS n
 WHERE n.id = a.id AND n.skills IS DISTINCT FROM a.skills;

UPDATE support_categories
   SET required_skill = pg_temp.skill_of(required_skill)
 WHERE required_skill IS DISTINCT FROM pg_temp.skill_of(required_skill);
