-- RETIREMENT_DUE: someone in the ledger population with a valid id_number whose statutory retirement month
-- (ref.statutory_retirement: 全国人大常委会 2024-09-13 decision; sex from digit 17, odd is male; birth month
-- from digits 7-12; the position category of the latest attendance row that gives one) is P + 3 months or
-- earlier. One row per (entity, employee_id). details: retirement_month, retirement_age ('60y1m'), basis,
-- basis_assumed, birth_month, position_category, min_contribution_months, and from P's pension records where
-- the export gives 累计缴费月数: months_paid (the largest of the person's records: a transfer carries the
-- months to the new record, so adding records would count them twice) and short_of_minimum.
WITH scope AS (SELECT period FROM {batch}),
population AS ({ledger_population}),
people AS (
    SELECT lp.*, substr(lp.id_number, 7, 4) || '-' || substr(lp.id_number, 11, 2) AS birth_month,
           CAST(substr(lp.id_number, 17, 1) AS INTEGER) % 2 = 1 AS male
    FROM population lp
    WHERE quality.id_number_problem(lp.id_number, (SELECT period FROM scope)) IS NULL
),
-- the rule once per distinct (birth month, sex, category), not once per person
rules AS (
    SELECT birth_month, male, position_category,
           ref.statutory_retirement(birth_month, male, position_category) AS r
    FROM (SELECT DISTINCT birth_month, male, position_category FROM people)
),
due AS (
    SELECT p.*, r.r
    FROM people p
    JOIN rules r ON r.birth_month = p.birth_month AND r.male = p.male
                AND r.position_category IS NOT DISTINCT FROM p.position_category
    WHERE ref.month_number(r.r.retirement_month) <= ref.month_number((SELECT period FROM scope)) + 3
),
paid AS (
    SELECT id_number, max(months_paid) AS months_paid
    FROM core.insurance
    WHERE period = (SELECT period FROM scope) AND insurance_type = 'pension' AND months_paid IS NOT NULL
      AND id_number IN (SELECT id_number FROM due)
    GROUP BY id_number
)
SELECT (SELECT period FROM scope) AS period,
       d.entity, d.employee_id, d.id_number, d.region,
       NULL AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', d.name,
           'birth_month', d.birth_month,
           'retirement_month', d.r.retirement_month,
           'retirement_age', d.r.retirement_age,
           'basis', d.r.basis,
           'basis_assumed', d.r.basis_assumed,
           'position_category', d.position_category,
           'months_paid', p.months_paid,
           'min_contribution_months', d.r.min_contribution_months,
           'short_of_minimum', p.months_paid < d.r.min_contribution_months,
           'source', s.source
       ) AS details
FROM due d
LEFT JOIN paid p ON p.id_number = d.id_number
LEFT JOIN quality.payroll_source((SELECT period FROM scope)) s ON s.entity = d.entity AND s.employee_id = d.employee_id
