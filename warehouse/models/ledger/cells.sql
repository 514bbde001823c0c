-- SPEC §4.5–4.6 for month p: the current computation of the ledger, one row per (entity, employee_id,
-- insurance_type) levied in R and on the employee's employment type (ref.levied_types), for the ledger
-- population (ledger.population: f > 0 and a pension policy for R, from the stored ledger.employee_months of
-- p). The ledger appends the differences to it
-- (transforms/ledger/sql/ledger_append.sql).
CREATE OR REPLACE MACRO ledger.cells(p) AS TABLE
WITH
population AS (
    SELECT period, entity, employee_id, id_number, name, region, month_fraction, reference_wage, employment_type,
           hukou
    FROM ledger.population(p)
),
policy AS (
    SELECT region, insurance_type, base_floor, base_ceiling, employer_rate, employee_rate, employer_fixed,
           employee_fixed, hukou, verified
    FROM ref.policy_in_force(p)
),
regions AS (
    SELECT region, rounding FROM ref.regions
),
levied AS (
    SELECT m.* EXCLUDE (employment_type), coalesce(r.rounding, 'cent_half_up') AS rounding,
           pol.insurance_type, pol.employer_rate, pol.employee_rate, pol.employer_fixed, pol.employee_fixed,
           pol.verified AS policy_verified,
           -- §4.5 base: W clamped to the policy row's floor and ceiling; not rounded beyond W's cents
           CAST(least(greatest(m.reference_wage, pol.base_floor), pol.base_ceiling) AS DECIMAL(14, 2)) AS base
    FROM population m
    JOIN policy pol ON pol.region = m.region AND ref.hukou_row_applies(pol.hukou, m.hukou)  -- §4.5
    LEFT JOIN regions r ON r.region = m.region
    WHERE list_contains(ref.levied_types(m.employment_type), pol.insurance_type)  -- §3: levied on this employment type
),
exact AS (
    SELECT *,
           CAST(CAST(base AS DECIMAL(16, 2)) * CAST(employer_rate AS DECIMAL(9, 6))
                * CAST(month_fraction AS DECIMAL(5, 4)) AS DECIMAL(30, 12)) AS employer_exact,
           CAST(CAST(base AS DECIMAL(16, 2)) * CAST(employee_rate AS DECIMAL(9, 6))
                * CAST(month_fraction AS DECIMAL(5, 4)) AS DECIMAL(30, 12)) AS employee_exact
    FROM levied
),
cells AS (
    SELECT period, entity, employee_id, id_number, name, region, insurance_type, base, month_fraction,
           employer_rate, employee_rate,
           -- §4.6 rounding by the region's rule, then the side's fixed monthly sum (every cell here has f > 0)
           CAST(ref.round_amount(employer_exact, rounding) + employer_fixed AS DECIMAL(14, 2)) AS employer_amount,
           CAST(ref.round_amount(employee_exact, rounding) + employee_fixed AS DECIMAL(14, 2)) AS employee_amount,
           policy_verified  -- SPEC §7 政策核实: the mark of the row the amounts rest on
    FROM exact
)
SELECT * FROM cells;
