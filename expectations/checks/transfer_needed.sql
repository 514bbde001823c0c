-- TRANSFER_NEEDED: someone in the ledger population with an active pension record of the entity in R
-- covering P, who in P's snapshot also has a pension record in a region of another province that is not
-- active (suspended or terminated), and for whom no transfer from that region (any stage but rejected)
-- appears in any transfers snapshot up to P. Regions of one province need no transfer (provincial
-- pooling). One row per (entity, employee_id); details name the origin region(s) and whether the
-- interim-account rule of 国办发〔2009〕66号 第六条 may apply (SPEC §6): a man of 50 or more or a woman of 40
-- or more on the last day of P (sex from digit 17, odd is male) whose hukou province (latest attendance
-- row) is not R's: interim_account_check; the same age and sex with no usable hukou: hukou_unknown.
WITH scope AS (SELECT period FROM {batch}),
population AS ({ledger_population}),
pension AS (
    SELECT * FROM quality.insurance_snapshot((SELECT period FROM scope)) WHERE insurance_type = 'pension'
),
enrolled AS (
    SELECT lp.* FROM population lp
    WHERE list_contains(ref.levied_types(lp.employment_type), 'pension')  -- SPEC §5: not for part-timers
      AND EXISTS (SELECT 1 FROM pension i
                  WHERE i.id_number = lp.id_number AND i.employer = lp.entity AND i.region = lp.region
                    AND i.active_covering)
),
origins AS (
    SELECT e.entity, e.employee_id, e.id_number, e.region, e.name, o.region AS origin_region,
           o.employer AS origin_employer, o.status AS origin_status, o.start_month AS origin_start_month,
           o.end_month AS origin_end_month, here.province AS to_province
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
),
person AS (
    SELECT o.entity, o.employee_id, any_value(o.to_province) AS to_province,
           any_value(a.hukou_region) AS hukou_region, any_value(a.hukou_province) AS hukou_province,
           any_value(date_sub('year', try_strptime(substr(o.id_number, 7, 8), '%Y%m%d'),
                              last_day(CAST((SELECT period FROM scope) || '-01' AS DATE)))) AS age,
           any_value(CASE WHEN regexp_full_match(substr(o.id_number, 17, 1), '[0-9]')
                          THEN CAST(substr(o.id_number, 17, 1) AS INTEGER) % 2 = 1 END) AS male
    FROM origins o
    LEFT JOIN core.latest_attendance((SELECT period FROM scope)) a
      ON a.entity = o.entity AND a.employee_id = o.employee_id
    GROUP BY o.entity, o.employee_id
),
interim AS (
    SELECT *, coalesce((male AND age >= 50) OR (NOT male AND age >= 40), false) AS of_age FROM person
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
           'hukou_region', any_value(p.hukou_region),
           'interim_account_check', any_value(p.of_age AND p.hukou_province IS NOT NULL
                                              AND p.hukou_province <> p.to_province),
           'hukou_unknown', any_value(p.of_age AND p.hukou_province IS NULL),
           'source', any_value(s.source)
       ) AS details
FROM origins o
JOIN interim p ON p.entity = o.entity AND p.employee_id = o.employee_id
LEFT JOIN quality.payroll_source((SELECT period FROM scope)) s ON s.entity = o.entity AND s.employee_id = o.employee_id
GROUP BY o.entity, o.employee_id, o.id_number, o.region
