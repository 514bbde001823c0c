-- HIRED_NOT_ENROLLED: someone in the ledger population with no active pension record covering P whose
-- employer is the entity and whose region is R (the payroll city). One row per (entity, employee_id).
WITH scope AS (SELECT period FROM {batch}),
population AS ({ledger_population}),
pension AS (
    SELECT * FROM quality.insurance_snapshot((SELECT period FROM scope)) WHERE insurance_type = 'pension'
)
SELECT (SELECT period FROM scope) AS period,
       lp.entity, lp.employee_id, lp.id_number, lp.region,
       'pension' AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', lp.name,
           'hire_date', lp.hire_date,
           'leave_date', lp.leave_date,
           'month_fraction', CAST(lp.month_fraction AS VARCHAR),
           'records', (SELECT coalesce(list(struct_pack(region := o.region, employer := o.employer, status := o.status,
                                                       start_month := o.start_month, end_month := o.end_month)
                                            ORDER BY o.start_month), [])
                       FROM pension o WHERE o.id_number = lp.id_number),
           'source', s.source
       ) AS details
FROM population lp
LEFT JOIN quality.payroll_source((SELECT period FROM scope)) s ON s.entity = lp.entity AND s.employee_id = lp.employee_id
WHERE NOT EXISTS (
    SELECT 1 FROM pension i
    WHERE i.id_number = lp.id_number AND i.active_covering AND i.employer = lp.entity AND i.region = lp.region
)
