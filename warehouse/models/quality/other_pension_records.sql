-- SPEC §5 ACTIVE_ELSEWHERE and DOUBLE_ENROLLMENT: each person of P's ledger population levied pension (not a
-- part-timer) with every other active pension record covering P in P's snapshot, one not of their own
-- (region R, entity): in another region, or in R with another employer. Each check keeps its own side and
-- groups per employee.
CREATE OR REPLACE MACRO quality.other_pension_records(p) AS TABLE
WITH population AS (
    SELECT * FROM ledger.population(p)
),
insured AS (
    SELECT * FROM quality.insurance_snapshot(p)
    WHERE insurance_type = 'pension' AND active_covering
),
payroll_source AS (
    SELECT * FROM quality.payroll_source(p)
),
other_records AS (
    SELECT lp.entity, lp.employee_id, lp.id_number, lp.region, lp.name, o.region AS other_region,
           o.employer AS other_employer, o.start_month AS other_start_month, o.base AS other_base,
           o.ours AS other_is_ours, s.source
    FROM population lp
    JOIN insured o ON o.id_number = lp.id_number AND (o.region <> lp.region OR o.employer <> lp.entity)
    LEFT JOIN payroll_source s ON s.entity = lp.entity AND s.employee_id = lp.employee_id
    WHERE list_contains(ref.levied_types(lp.employment_type), 'pension')
)
SELECT * FROM other_records;
