-- 052_admin_versions_and_teams: two things the admin API (docs/API.md §6)
-- now relies on.
--
-- 1. Categories and agents get a version, as priority rules have one:
-- every admin write bumps it, and it is the ETag of the row, so a PATCH
-- with If-Match of an older version is 412 instead of silently overwriting
-- another admin's edit.
--
-- 2. Teams are stored as sp_agent_team writes them: trimmed of blanks,
-- A-Z lower-cased (as skills, sql/040), so a category's round-robin team
-- "General" finds the agents of team "general". Rows written before keep
-- the form they were typed in until saved again, and round robin would
-- find nobody meanwhile: normalise them now. The blanks trimmed are
-- domain/ticket_subject.c's is_blank (and tab/CR/LF); only A-Z are folded
-- (translate, not lower(): lower() follows the database's locale). A
-- category's blank team is NULL (no team); an agent's blank team (the
-- column is NOT NULL) becomes the default, 'general'.
ALTER TABLE support_categories ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1;
ALTER TABLE support_agents ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1;

CREATE OR REPLACE FUNCTION pg_temp.team_of(s text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT nullif(translate(regexp_replace(s, format('^%1$s+|%1$s+$', blank), '', 'g'),
                            'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '')
      FROM (SELECT '[\u0009-\u000d\u0020\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680'
                   '\u180b-\u180f\u2000-\u200f\u202a-\u202f\u205f-\u2064\u2066-\u2069'
                   '\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0'
                   '\U000e0000-\U000e007f\U000e0100-\U000e01ef]' AS blank) AS b
$$;

UPDATE support_agents
   SET team = coalesce(pg_temp.team_of(team), 'general')
 WHERE team IS DISTINCT FROM coalesce(pg_temp.team_of(team), 'general');

UPDATE support_categories
   SET team = pg_temp.team_of(team)
 WHERE team IS DISTINCT FROM pg_temp.team_of(team);
