-- SPEC §7: the findings of validation run `run` that feed the declaration `declaration` (a code's registry row,
-- quality.checks.declarations: enrol, stop, arrears), without those whose action HR dismissed (an action of
-- the code's type for that entity and employee). The one filter of transforms/outputs/sql/declaration_*.sql.
CREATE OR REPLACE MACRO quality.declared_findings(run, declaration) AS TABLE
WITH findings AS (
    SELECT code, entity, employee_id, id_number, region, details FROM quality.findings WHERE run_id = run
),
checks AS (
    SELECT code, action_type FROM quality.checks WHERE list_contains(declarations, declaration)
),
dismissed AS (
    SELECT action_type, entity, employee_id FROM actions.cleanup_actions WHERE status = 'dismissed'
),
declared AS (
    SELECT f.entity, f.employee_id, f.id_number, f.region, CAST(f.details AS JSON) AS d
    FROM findings f
    JOIN checks c ON c.code = f.code
    WHERE NOT EXISTS (SELECT 1 FROM dismissed a
                      WHERE a.action_type = c.action_type AND a.entity = f.entity AND a.employee_id = f.employee_id)
)
SELECT * FROM declared;
