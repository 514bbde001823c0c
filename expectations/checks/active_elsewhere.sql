-- ACTIVE_ELSEWHERE: someone in the ledger population with an active pension record covering P in a
-- region other than R (any employer). One row per (entity, employee_id).
WITH scope AS (SELECT period FROM {batch}),
population AS ({ledger_population}),
elsewhere AS (
    SELECT * FROM quality.insurance_snapshot((SELECT period FROM scope))
    WHERE insurance_type = 'pension' AND active_covering
)
SELECT (SELECT period FROM scope) AS period,
       lp.entity, lp.employee_id, lp.id_number, lp.region,
       'pension' AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', any_value(lp.name),
           'other_region', min(o.region),
           'other_employer', arg_min(o.employer, o.region),
           'other_start_month', arg_min(o.start_month, o.region),
           'records', list(struct_pack(region := o.region, employer := o.employer, start_month := o.start_month,
                                       base := CAST(o.base AS VARCHAR)) ORDER BY o.region, o.employer),
           'source', any_value(s.source)
       ) AS details
FROM population lp
JOIN elsewhere o ON o.id_number = lp.id_number AND o.region <> lp.region
LEFT JOIN quality.payroll_source((SELECT period FROM scope)) s ON s.entity = lp.entity AND s.employee_id = lp.employee_id
WHERE list_contains(ref.levied_types(lp.employment_type), 'pension')  -- SPEC §5: not for part-timers
GROUP BY lp.entity, lp.employee_id, lp.id_number, lp.region
