-- 增员 (SPEC §7): the findings of validation run $run_id that feed it, one row per person and insurance type levied
-- for them in P (the ledger's cells of P), which transforms/outputs/declarations.py turns into one row per person with
-- a 缴费基数 column per type. 参保起始年月 = P (earlier months are the 补缴's); 增员原因 转入 when P's snapshot
-- holds a pension record of the person in another region (the finding's records), else 新参保; 月缴费工资 =
-- the reference wage W. A mistyped ID of someone insured is no HIRED_NOT_ENROLLED (SPEC §5), so never here.
-- Findings whose action HR dismissed are left out (quality.declared_findings).
WITH f AS (
    SELECT f.entity, f.employee_id, f.id_number, f.region, f.d
    FROM quality.declared_findings($run_id, 'enrol') f
),
people AS (
    SELECT f.region, f.entity, f.employee_id, coalesce(f.d ->> '$.name', p.name) AS name, f.id_number,
           -- sex from digit 17 (odd is male) and birth date from digits 7–14 of a number that has them
           CASE WHEN regexp_full_match(substr(f.id_number, 17, 1), '[0-9]')
                THEN CASE WHEN CAST(substr(f.id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END END AS sex,
           strftime(try_strptime(substr(f.id_number, 7, 8), '%Y%m%d'), '%Y-%m-%d') AS birth_date,
           CASE WHEN len(list_filter(from_json(f.d -> '$.records', '[{"region": "VARCHAR"}]'),
                                     r -> r.region IS DISTINCT FROM f.region)) > 0
                THEN 'transfer_in' ELSE 'new' END AS reason,
           p.reference_wage,
           replace($period, '-', '') AS start_month,
           f.d ->> '$.hire_date' AS hire_date,
           coalesce(p.employment_type, 'full_time') AS employment_type  -- §3: the latest attendance row's
    FROM f
    JOIN ledger.population($period) p ON p.entity = f.entity AND p.employee_id = f.employee_id
)
SELECT people.*, c.insurance_type, c.base
FROM people
JOIN ledger.net_contributions($period) c ON c.entity = people.entity AND c.employee_id = people.employee_id
ORDER BY people.region, people.entity, people.employee_id, c.insurance_type
