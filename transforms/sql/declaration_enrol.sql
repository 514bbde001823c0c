-- 增员 (SPEC §7): HIRED_NOT_ENROLLED of validation run $run_id, one row per person and insurance type levied
-- (the ledger's base of P); 参保起始年月 = the hire month. Actions HR dismissed are left out.
WITH f AS (
    SELECT f.entity, f.employee_id, f.id_number, f.region, CAST(f.details AS JSON) AS d
    FROM quality.findings f
    WHERE f.run_id = $run_id AND f.code = 'HIRED_NOT_ENROLLED'
      AND NOT EXISTS (SELECT 1 FROM actions.cleanup_actions a
                      WHERE a.action_type = 'ENROLL_EMPLOYEE' AND a.status = 'dismissed'
                        AND a.entity = f.entity AND a.employee_id = f.employee_id)
)
SELECT f.region, f.entity, f.employee_id, coalesce(f.d ->> '$.name', c.name) AS name, f.id_number,
       c.insurance_type, c.base,
       coalesce(strftime(TRY_CAST(f.d ->> '$.hire_date' AS DATE), '%Y-%m'), f.d ->> '$.arrears_months[0]',
                $period) AS start_month
FROM f
JOIN ledger.net_contributions($period) c ON c.entity = f.entity AND c.employee_id = f.employee_id
ORDER BY f.region, f.entity, f.employee_id, c.insurance_type
