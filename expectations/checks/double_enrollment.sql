-- DOUBLE_ENROLLMENT: someone in the ledger population with an active pension record covering P in R whose
-- employer is not the entity (another employer, ours or not, insures the same person in the same region).
-- One row per (entity, employee_id).
WITH scope AS (SELECT period FROM {batch}),
population AS ({ledger_population}),
insured AS (
    SELECT * FROM quality.insurance_snapshot((SELECT period FROM scope))
    WHERE insurance_type = 'pension' AND active_covering
)
SELECT (SELECT period FROM scope) AS period,
       lp.entity, lp.employee_id, lp.id_number, lp.region,
       'pension' AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', any_value(lp.name),
           'other_employer', min(o.employer),
           'other_start_month', arg_min(o.start_month, o.employer),
           'other_is_ours', bool_or(o.ours),
           'records', list(struct_pack(region := o.region, employer := o.employer, start_month := o.start_month,
                                       base := CAST(o.base AS VARCHAR)) ORDER BY o.employer),
           'source', any_value(s.source)
       ) AS details
FROM population lp
JOIN insured o ON o.id_number = lp.id_number AND o.region = lp.region AND o.employer <> lp.entity
LEFT JOIN quality.payroll_source((SELECT period FROM scope)) s ON s.entity = lp.entity AND s.employee_id = lp.employee_id
WHERE list_contains(ref.levied_types(lp.employment_type), 'pension')  -- SPEC §5: not for part-timers
GROUP BY lp.entity, lp.employee_id, lp.id_number, lp.region
