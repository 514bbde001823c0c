-- 减员 (SPEC §7): DEPARTED_STILL_CONTRIBUTING of validation run $run_id, one row per person and region of the
-- person's active records with the entity; 停保年月 = the first month the ledger does not charge (the
-- finding's stop_month, ledger.stop_month: SPEC §4.3) as YYYYMM; 需退费 when that month is before P (the
-- months between are refunded, not stopped). Dismissed actions left out.
WITH f AS (
    SELECT f.entity, f.employee_id, f.id_number, CAST(f.details AS JSON) AS d
    FROM quality.findings f
    WHERE f.run_id = $run_id AND f.code = 'DEPARTED_STILL_CONTRIBUTING'
      AND NOT EXISTS (SELECT 1 FROM actions.cleanup_actions a
                      WHERE a.action_type = 'STOP_CONTRIBUTION' AND a.status = 'dismissed'
                        AND a.entity = f.entity AND a.employee_id = f.employee_id)
),
regions AS (
    SELECT DISTINCT entity, employee_id, id_number, d,
           unnest(from_json(d -> '$.records', '[{"region": "VARCHAR"}]')).region AS region
    FROM f
)
SELECT region, entity, employee_id, d ->> '$.name' AS name, id_number,
       d ->> '$.leave_date' AS leave_date,
       replace(d ->> '$.stop_month', '-', '') AS stop_month,
       (d ->> '$.stop_month') < $period AS refund
FROM regions
ORDER BY region, entity, employee_id
