-- 补缴 (SPEC §7): the arrears of HIRED_NOT_ENROLLED (SPEC §5) of validation run $run_id, per person and month,
-- with the late fee. Dismissed actions left out.
WITH f AS (
    SELECT f.entity, f.employee_id, f.id_number, f.region, CAST(f.details AS JSON) AS d
    FROM quality.findings f
    WHERE f.run_id = $run_id AND f.code = 'HIRED_NOT_ENROLLED'
      AND NOT EXISTS (SELECT 1 FROM actions.cleanup_actions a
                      WHERE a.action_type = 'ENROLL_EMPLOYEE' AND a.status = 'dismissed'
                        AND a.entity = f.entity AND a.employee_id = f.employee_id)
),
months AS (
    SELECT f.*, unnest(from_json(f.d -> '$.arrears_by_month',
        '[{"month": "VARCHAR", "employer": "VARCHAR", "employee": "VARCHAR", "days": "INTEGER", "late_fee": "VARCHAR"}]'))
        AS m
    FROM f
)
SELECT region, entity, employee_id, d ->> '$.name' AS name, id_number, m.month,
       CAST(m.employer AS DECIMAL(14, 2)) AS employer, CAST(m.employee AS DECIMAL(14, 2)) AS employee,
       CAST(m.employer AS DECIMAL(14, 2)) + CAST(m.employee AS DECIMAL(14, 2)) AS total,
       m.days, CAST(m.late_fee AS DECIMAL(14, 2)) AS late_fee
FROM months
ORDER BY region, entity, employee_id, m.month
