-- Roles from who runs the command (SPEC §8): operating-system user names and what each may see and do.
-- The first hr_manager is the user who creates (or first upgrades) the warehouse: warehouse.db.connect
-- seeds it when this migration is applied (transforms.common.roles.seed_first_manager). Changes are audited in
-- actions.audit (`shebao roles grant/revoke`).
CREATE SCHEMA IF NOT EXISTS actions;

CREATE TABLE actions.roles (
    user_name  VARCHAR PRIMARY KEY,
    role       VARCHAR NOT NULL CHECK (role IN ('hr_manager', 'hr_staff', 'finance')),
    granted_by VARCHAR NOT NULL,
    granted_at TIMESTAMP NOT NULL
);

-- Action ids across upgrades (issue 18.6). An action keeps the id it got when its problem was first seen:
-- later runs match found problems to existing actions by (action_type, problem_key)
-- (transforms/actions/sql/actions_keep_ids.sql), so only the stored keys must follow the current key format.
-- Warehouses built by earlier code (commit 45739ff) keyed MERGE_RECORDS as 'id:<number>' and
-- 'person:<name>:<birth digits>' (now 'id|<number>', 'person|<name>|<birth digits>'): those keys are
-- rewritten here, ids untouched. Where a run of newer code already opened the problem again under a second
-- id, the older action (with its dismissal) is kept and the duplicate, with its events, dropped.
CREATE TEMP TABLE rekeyed_actions AS
SELECT action_id, action_type,
       CASE WHEN problem_key LIKE 'id:%' THEN 'id|' || substr(problem_key, 4)
            ELSE 'person|' || regexp_extract(problem_key, '^person:(.*):([^:]*)$', 1)
                 || '|' || regexp_extract(problem_key, '^person:(.*):([^:]*)$', 2)
       END AS new_key
FROM actions.cleanup_actions
WHERE action_type = 'MERGE_RECORDS'
  AND (problem_key LIKE 'id:%' OR regexp_matches(problem_key, '^person:.*:[^:]*$'));

CREATE TEMP TABLE duplicate_actions AS
SELECT a.action_id FROM actions.cleanup_actions a
JOIN rekeyed_actions r ON a.action_type = r.action_type AND a.problem_key = r.new_key;

DELETE FROM actions.action_events WHERE action_id IN (SELECT action_id FROM duplicate_actions);
DELETE FROM actions.cleanup_actions WHERE action_id IN (SELECT action_id FROM duplicate_actions);

UPDATE actions.cleanup_actions AS a SET problem_key = r.new_key
FROM rekeyed_actions r WHERE a.action_id = r.action_id;

DROP TABLE duplicate_actions;
DROP TABLE rekeyed_actions;
