-- TRANSFER_NEEDED: someone in the ledger population with an active pension record of the entity in R
-- covering P, who in P's snapshot also has a pension record in a region of another province that is not
-- active (suspended or terminated), and for whom no transfer from that region (any stage but rejected)
-- appears in any transfers snapshot up to P. Regions of one province need no transfer (provincial
-- pooling). One row per (entity, employee_id); details name the origin region(s).
WITH scope AS (SELECT period FROM {batch}),
population AS ({ledger_population}),
pension AS (
    SELECT * FROM quality.insurance_snapshot((SELECT period FROM scope)) WHERE insurance_type = 'pension'
),
enrolled AS (
    SELECT lp.* FROM population lp
    WHERE EXISTS (SELECT 1 FROM pension i
                  WHERE i.id_number = lp.id_number AND i.employer = lp.entity AND i.region = lp.region
                    AND i.active_covering)
),
origins AS (
    SELECT e.entity, e.employee_id, e.id_number, e.region, e.name, o.region AS origin_region,
           o.employer AS origin_employer, o.status AS origin_status, o.start_month AS origin_start_month,
           o.end_month AS origin_end_month
    FROM enrolled e
    JOIN ref.region_province here ON here.region = e.region
    JOIN pension o ON o.id_number = e.id_number AND o.status IN ('suspended', 'terminated')
    JOIN ref.region_province there ON there.region = o.region
    WHERE there.province <> here.province
      AND NOT EXISTS (
          SELECT 1 FROM core.transfers t
          WHERE t.period <= (SELECT period FROM scope) AND t.id_number = e.id_number
            AND t.from_region = o.region AND t.stage <> 'rejected'
            AND coalesce(t.insurance_type, 'pension') = 'pension')
)
SELECT (SELECT period FROM scope) AS period,
       o.entity, o.employee_id, o.id_number, o.region,
       'pension' AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', any_value(o.name),
           'from_region', min(o.origin_region),
           'from_employer', arg_min(o.origin_employer, o.origin_region),
           'from_status', arg_min(o.origin_status, o.origin_region),
           'from_start_month', arg_min(o.origin_start_month, o.origin_region),
           'from_end_month', arg_min(o.origin_end_month, o.origin_region),
           'to_region', any_value(o.region),
           'origins', list(struct_pack(region := o.origin_region, employer := o.origin_employer,
                                       status := o.origin_status, start_month := o.origin_start_month,
                                       end_month := o.origin_end_month)
                           ORDER BY o.origin_region, o.origin_employer),
           'source', any_value(s.source)
       ) AS details
FROM origins o
LEFT JOIN quality.payroll_source((SELECT period FROM scope)) s ON s.entity = o.entity AND s.employee_id = o.employee_id
GROUP BY o.entity, o.employee_id, o.id_number, o.region
