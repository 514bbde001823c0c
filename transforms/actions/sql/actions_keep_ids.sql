-- An action keeps the id it got when its problem was first seen (issue 18.6): a problem found again takes
-- the id of the existing action of the same type and key, whatever recipe made that id (ids survive a
-- change of the recipe; migration 012 brings older keys to the current format). Runs after
-- actions_found.sql, before actions_apply.sql.
UPDATE candidate_actions AS c SET action_id = a.action_id
FROM actions.cleanup_actions a
WHERE a.action_type = c.action_type AND a.problem_key = c.problem_key AND a.action_id <> c.action_id;

UPDATE found_actions AS f SET action_id = a.action_id
FROM actions.cleanup_actions a
WHERE a.action_type = f.action_type AND a.problem_key = f.problem_key AND a.action_id <> f.action_id;
