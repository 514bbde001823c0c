-- NO_POLICY: someone with a payroll row for P and f > 0 whose region R (payroll city) has no pension
-- policy row for P. One row per region; details list the employees concerned.
WITH scope AS (SELECT period FROM {batch})
SELECT (SELECT period FROM scope) AS period,
       CASE WHEN count(DISTINCT m.entity) = 1 THEN min(m.entity) END AS entity,
       NULL AS employee_id, NULL AS id_number,
       m.region,
       'pension' AS insurance_type, NULL AS transfer_id,
       json_object(
           'employees', count(*),
           'entities', list(DISTINCT m.entity ORDER BY m.entity),
           'people', list(struct_pack(entity := m.entity, employee_id := m.employee_id, name := m.name)
                          ORDER BY m.entity, m.employee_id)
       ) AS details
FROM ledger.employee_months m
WHERE m.period = (SELECT period FROM scope) AND m.month_fraction > 0 AND NOT m.has_pension_policy
GROUP BY m.region
