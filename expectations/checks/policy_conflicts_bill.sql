-- POLICY_CONFLICTS_BILL: for a region with bill rows for P and a policy row for (region, type, P): among the
-- bill rows of our employers for that type with base > 0, at least 3 rows, more than half differ by 0.01 or
-- more, on the employer or the employee side, from round(bill base × the policy's rate) + its fixed sum (the
-- region's rounding, ref.round_amount; with hukou rows a row agrees when it matches either). The agency's bill
-- is the best evidence of the rate in force. One row per (region, insurance_type); details: side (the side more
-- rows disagree on, employer first), rows, rows_disagreeing, policy_rate and implied_rate (the median of
-- (amount − fixed) / base over the rows disagreeing on that side, 6 decimals).
WITH scope AS (SELECT period FROM {batch}),
our_entities AS (
    SELECT entity AS employer FROM quality.our_entities((SELECT period FROM scope))
),
billed AS (
    SELECT row_number() OVER () AS bill_row, region, insurance_type, employer, base, employer_amount,
           employee_amount
    FROM core.bills
    WHERE period = (SELECT period FROM scope) AND base > 0
      AND employer IN (SELECT employer FROM our_entities)
),
policy AS (
    SELECT p.region, p.insurance_type, p.hukou, p.employer_rate, p.employee_rate, p.employer_fixed,
           p.employee_fixed, coalesce(r.rounding, 'cent_half_up') AS rounding
    FROM ref.policy_in_force((SELECT period FROM scope)) p
    LEFT JOIN ref.regions r ON r.region = p.region
),
-- each bill row against each policy row of its (region, type): one, or one per hukou
compared AS (
    SELECT b.*, pol.hukou, pol.employer_rate, pol.employee_rate, pol.employer_fixed, pol.employee_fixed,
           abs(b.employer_amount - (ref.round_amount(b.base * pol.employer_rate, pol.rounding) + pol.employer_fixed))
               < 0.01 AS employer_ok,
           abs(b.employee_amount - (ref.round_amount(b.base * pol.employee_rate, pol.rounding) + pol.employee_fixed))
               < 0.01 AS employee_ok
    FROM billed b
    JOIN policy pol ON pol.region = b.region AND pol.insurance_type = b.insurance_type
),
per_row AS (
    SELECT bill_row, any_value(region) AS region, any_value(insurance_type) AS insurance_type,
           any_value(employer) AS employer, any_value(base) AS base,
           any_value(employer_amount) AS employer_amount, any_value(employee_amount) AS employee_amount,
           bool_or(employer_ok AND employee_ok) AS agrees,
           bool_or(employer_ok) AS employer_agrees, bool_or(employee_ok) AS employee_agrees,
           -- the figures the implied rate is set against: the row for everyone, else the nonlocal row
           arg_min(employer_fixed, hukou = 'local') AS employer_fixed, arg_min(employee_fixed, hukou = 'local') AS employee_fixed,
           string_agg(CAST(employer_rate AS VARCHAR), '/' ORDER BY hukou) AS employer_rates,
           string_agg(CAST(employee_rate AS VARCHAR), '/' ORDER BY hukou) AS employee_rates
    FROM compared
    GROUP BY bill_row
),
per_type AS (
    SELECT region, insurance_type,
           count(*) AS rows,
           count(*) FILTER (WHERE NOT agrees) AS rows_disagreeing,
           count(*) FILTER (WHERE NOT employer_agrees) AS employer_disagreeing,
           count(*) FILTER (WHERE NOT employee_agrees) AS employee_disagreeing,
           any_value(employer_rates) AS employer_rates, any_value(employee_rates) AS employee_rates,
           median(CAST((employer_amount - employer_fixed) / base AS DECIMAL(24, 12)))
               FILTER (WHERE NOT employer_agrees) AS employer_implied,
           median(CAST((employee_amount - employee_fixed) / base AS DECIMAL(24, 12)))
               FILTER (WHERE NOT employee_agrees) AS employee_implied,
           CASE WHEN count(DISTINCT employer) = 1 THEN min(employer) END AS entity
    FROM per_row
    GROUP BY region, insurance_type
),
conflicts AS (
    SELECT *, CASE WHEN employer_disagreeing >= employee_disagreeing THEN 'employer' ELSE 'employee' END AS side
    FROM per_type
    WHERE rows >= 3 AND rows_disagreeing * 2 > rows
)
SELECT (SELECT period FROM scope) AS period,
       entity, NULL AS employee_id, NULL AS id_number, region, insurance_type, NULL AS transfer_id,
       json_object(
           'side', side,
           'rows', rows,
           'rows_disagreeing', rows_disagreeing,
           'policy_rate', CASE side WHEN 'employer' THEN employer_rates ELSE employee_rates END,
           'implied_rate', CAST(CAST(round(CASE side WHEN 'employer' THEN employer_implied ELSE employee_implied END, 6)
                                     AS DECIMAL(9, 6)) AS VARCHAR)
       ) AS details
FROM conflicts
