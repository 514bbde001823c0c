-- SPEC §4.1–4.4 for period $period: one row per (entity, employee_id) with a payroll row for P, with its
-- region, month fraction and reference wage. Creates the temp table ledger_months.
CREATE OR REPLACE TEMP TABLE ledger_months AS
WITH
period_bounds AS (
    SELECT CAST($period || '-01' AS DATE) AS first_day,
           last_day(CAST($period || '-01' AS DATE)) AS last_day,
           CAST(left($period, 4) AS INTEGER) AS year
),
-- §4.1 population: current payroll rows for P; several rows for one employee are added together.
population AS (
    SELECT entity, employee_id,
           arg_max(id_number, row_number) AS id_number,
           arg_max(name, row_number) AS name,
           min(city) AS region,
           sum(gross_pay) AS gross_pay,
           sum(si_withheld) AS si_withheld
    FROM core.payroll
    WHERE period = $period
    GROUP BY entity, employee_id
),
-- §4.2 employment dates: the latest attendance row with period <= P.
employment AS (
    SELECT entity, employee_id,
           arg_max(hire_date, (period, load_id, row_number)) AS hire_date,
           arg_max(leave_date, (period, load_id, row_number)) AS leave_date
    FROM core.attendance
    WHERE period <= $period
    GROUP BY entity, employee_id
),
-- §4.4 reference wage: monthly totals (rows of one month added, as in §4.1).
monthly_pay AS (
    SELECT entity, employee_id, period, sum(gross_pay) AS gross_pay
    FROM core.payroll
    WHERE period <= $period AND period >= CAST((SELECT year FROM period_bounds) - 1 AS VARCHAR) || '-01'
    GROUP BY entity, employee_id, period
),
last_year AS (
    -- mean of last calendar year's pay, half-up to cents in exact integer arithmetic (no floats)
    SELECT entity, employee_id,
           CAST(((CAST(sum(gross_pay * 100) AS HUGEINT) * 2 + count(*)) // (2 * count(*))) AS DECIMAL(38, 0))
               / 100 AS wage
    FROM monthly_pay
    WHERE left(period, 4) = CAST((SELECT year FROM period_bounds) - 1 AS VARCHAR)
    GROUP BY entity, employee_id
),
first_month AS (
    SELECT entity, employee_id, arg_min(gross_pay, period) AS wage
    FROM monthly_pay
    WHERE left(period, 4) = CAST((SELECT year FROM period_bounds) AS VARCHAR)
    GROUP BY entity, employee_id
),
settings AS (
    SELECT p.*, e.hire_date, e.leave_date,
           coalesce(r.late_hire_fraction, 0.5) AS late_hire_fraction,
           coalesce(r.rounding, 'cent_half_up') AS rounding,
           -- C: the cutoff day of P (a cutoff beyond the month's length is its last day)
           least(b.first_day + INTERVAL (coalesce(r.hire_cutoff_day, 15) - 1) DAY, b.last_day)::DATE AS cutoff,
           b.first_day, b.last_day,
           CAST(coalesce(ly.wage, fm.wage) AS DECIMAL(14, 2)) AS reference_wage
    FROM population p
    CROSS JOIN period_bounds b
    LEFT JOIN employment e USING (entity, employee_id)
    LEFT JOIN ref.regions r ON r.region = p.region
    LEFT JOIN last_year ly USING (entity, employee_id)
    LEFT JOIN first_month fm USING (entity, employee_id)
)
SELECT $period AS period, entity, employee_id, id_number, name, region, hire_date, leave_date, rounding,
       gross_pay, si_withheld, reference_wage,
       -- §4.3 month fraction
       CAST(CASE
           WHEN hire_date IS NULL THEN 1                                  -- no attendance: the whole month
           WHEN hire_date <= cutoff AND (leave_date IS NULL OR leave_date > cutoff) THEN 1
           WHEN hire_date > cutoff AND hire_date <= last_day
                AND (leave_date IS NULL OR leave_date > last_day) THEN late_hire_fraction
           ELSE 0
       END AS DECIMAL(5, 4)) AS month_fraction,
       EXISTS (
           SELECT 1 FROM ref.policy pol
           WHERE pol.region = settings.region AND pol.insurance_type = 'pension'
             AND pol.effective_from <= $period AND (pol.effective_to IS NULL OR pol.effective_to >= $period)
       ) AS has_pension_policy
FROM settings;
