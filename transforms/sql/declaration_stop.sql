-- 减员 (SPEC §7): DEPARTED_STILL_CONTRIBUTING of validation run $run_id, one row per active record of the
-- entity (insurance type, region); 停保年月 = the month after the leave month. Dismissed actions left out.
WITH f AS (
    SELECT f.entity, f.employee_id, f.id_number, CAST(f.details AS JSON) AS d
    FROM quality.findings f
    WHERE f.run_id = $run_id AND f.code = 'DEPARTED_STILL_CONTRIBUTING'
      AND NOT EXISTS (SELECT 1 FROM actions.cleanup_actions a
                      WHERE a.action_type = 'STOP_CONTRIBUTION' AND a.status = 'dismissed'
                        AND a.entity = f.entity AND a.employee_id = f.employee_id)
),
records AS (
    SELECT f.*, unnest(from_json(f.d -> '$.records', '[{"insurance_type": "VARCHAR", "region": "VARCHAR"}]')) AS r
    FROM f
)
SELECT r.region, entity, employee_id, d ->> '$.name' AS name, id_number, r.insurance_type,
       strftime(date_trunc('month', CAST(d ->> '$.leave_date' AS DATE)) + INTERVAL 1 MONTH, '%Y-%m') AS stop_month,
       d ->> '$.leave_date' AS leave_date
FROM records
ORDER BY r.region, entity, employee_id, r.insurance_type
