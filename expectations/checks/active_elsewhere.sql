-- ACTIVE_ELSEWHERE: someone in the ledger population with an active pension record covering P in a
-- region other than R (any employer). One row per (entity, employee_id). The pairs of person and other
-- record are quality.other_pension_records, shared with DOUBLE_ENROLLMENT.
WITH scope AS (SELECT period FROM {batch}),
elsewhere AS (
    SELECT * FROM quality.other_pension_records((SELECT period FROM scope)) WHERE other_region <> region
)
SELECT (SELECT period FROM scope) AS period,
       o.entity, o.employee_id, o.id_number, o.region,
       'pension' AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', any_value(o.name),
           'other_region', min(o.other_region),
           'other_employer', arg_min(o.other_employer, o.other_region),
           'other_start_month', arg_min(o.other_start_month, o.other_region),
           'records', list(struct_pack(region := o.other_region, employer := o.other_employer,
                                       start_month := o.other_start_month, base := CAST(o.other_base AS VARCHAR))
                           ORDER BY o.other_region, o.other_employer),
           'source', any_value(o.source)
       ) AS details
FROM elsewhere o
GROUP BY o.entity, o.employee_id, o.id_number, o.region
