-- The lifecycle of SPEC §6 for validation run $run_id of $period, after actions_found.sql.
-- Statements run in order in one transaction (transforms/actions/cleanup.py); each ends with ';' at a line end.
--
-- found, new                      -> opened (open)
-- found, open or dismissed        -> updated (status kept: a dismissed action stays dismissed)
-- found, resolved by a run of a month <= P -> reopened (open); resolved by a later month -> stays resolved
-- not found, open or submitted, P >= period_last_seen, its extracts present -> resolved (by this run)
-- (submitted: HR filed it; it stays submitted while found, like open)
-- Evidence is replaced only from a month at least as late as the one it came from.
CREATE OR REPLACE TEMP TABLE action_plan AS
SELECT f.action_id,
       a.status AS from_status,
       CASE WHEN a.action_id IS NULL THEN 'opened'
            WHEN a.status = 'resolved' AND $period >= coalesce(r.period, $period) THEN 'reopened'
            ELSE 'updated' END AS event,
       CASE WHEN a.action_id IS NULL THEN 'open'
            WHEN a.status = 'resolved' AND $period >= coalesce(r.period, $period) THEN 'open'
            ELSE a.status END AS to_status,
       a.action_id IS NULL OR $period >= a.period_last_seen AS latest,
       a.last_run_id IS DISTINCT FROM $run_id AS new_run,
       CAST(NULL AS VARCHAR) AS reason
FROM found_actions f
LEFT JOIN actions.cleanup_actions a ON a.action_id = f.action_id
LEFT JOIN quality.runs r ON r.run_id = a.resolved_by_run
UNION ALL
SELECT a.action_id, a.status, 'resolved', 'resolved', FALSE, TRUE,
       CASE WHEN c.suppressed_by IS NOT NULL THEN '转移接续 ' || c.suppressed_by || ' 正在办理'
            ELSE '本期核对未再发现该问题' END
FROM actions.cleanup_actions a
LEFT JOIN candidate_actions c ON c.action_id = a.action_id
WHERE a.status IN ('open', 'submitted')
  AND a.period_last_seen <= $period
  AND a.action_id NOT IN (SELECT action_id FROM found_actions)
  AND NOT list_contains($unprovable, a.action_type);

-- history first, while the old statuses are there to read; a re-run with the same run id adds nothing
INSERT INTO actions.action_events
SELECT action_id, event, from_status, to_status, $run_id, $period, $actor, reason, $now
FROM action_plan
WHERE event <> 'updated' OR new_run;

INSERT INTO actions.cleanup_actions
SELECT f.action_id, f.action_type, 'open', $period, $period, f.entity, f.employee_id, f.id_number, f.finding_codes,
       f.details, $now, f.severity, f.problem_key, $run_id, NULL, NULL
FROM found_actions f
JOIN action_plan p ON p.action_id = f.action_id AND p.event = 'opened';

UPDATE actions.cleanup_actions a SET
    status = p.to_status,
    period_first_seen = least(a.period_first_seen, $period),
    period_last_seen = greatest(a.period_last_seen, $period),
    entity = CASE WHEN p.latest THEN f.entity ELSE a.entity END,
    employee_id = CASE WHEN p.latest THEN f.employee_id ELSE a.employee_id END,
    id_number = CASE WHEN p.latest THEN f.id_number ELSE a.id_number END,
    finding_codes = CASE WHEN p.latest THEN f.finding_codes ELSE a.finding_codes END,
    details = CASE WHEN p.latest THEN f.details ELSE a.details END,
    severity = CASE WHEN p.latest THEN f.severity ELSE a.severity END,
    updated_at = $now,
    last_run_id = $run_id,
    resolved_by_run = CASE WHEN p.event = 'reopened' THEN NULL ELSE a.resolved_by_run END
FROM found_actions f, action_plan p
WHERE a.action_id = f.action_id AND p.action_id = f.action_id AND p.event IN ('updated', 'reopened');

UPDATE actions.cleanup_actions a SET
    status = 'resolved',
    resolved_by_run = $run_id,
    updated_at = $now
FROM action_plan p
WHERE p.action_id = a.action_id AND p.event = 'resolved';
