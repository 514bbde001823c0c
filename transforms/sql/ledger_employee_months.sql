-- SPEC §4.1–4.4 for period $period: one row per (entity, employee_id) with a payroll row for P, with its
-- region, month fraction and reference wage. Creates the temp table ledger_months.
CREATE OR REPLACE TEMP TABLE ledger_months AS
WITH
period_bounds AS (
    SELECT CAST($period || '-01' AS DATE) AS first_day,
           last_day(CAST($period || '-01' AS DATE)) AS last_day
),
-- §4.1 population and the employee's region R (the one definition, a model macro).
population AS (
    SELECT entity, employee_id, id_number, name, region, gross_pay, si_withheld
    FROM core.payroll_employees($period)
),
-- §4.2 employment dates: the latest attendance row with period <= P (the one definition, a model macro).
employment AS (
    SELECT entity, employee_id, hire_date, leave_date FROM core.latest_attendance($period)
),
-- §4.4 reference wage W. R's contribution year containing P starts in month S (R's base_year_start_month)
-- of year Y; W is the mean of the employee's monthly pay in calendar year Y - 1 (the rows of one month
-- added, as in §4.1), else the pay of the earliest month from month S of Y up to P (a new hire's base is
-- the first month's pay); W half-up to cents in exact integer arithmetic (no floats).
contribution_year AS (
    SELECT p.entity, p.employee_id, coalesce(r.base_year_start_month, 1) AS start_month_no,
           CAST(left($period, 4) AS INTEGER)
               - CASE WHEN CAST(right($period, 2) AS INTEGER) >= coalesce(r.base_year_start_month, 1)
                      THEN 0 ELSE 1 END AS y
    FROM population p
    LEFT JOIN ref.regions r ON r.region = p.region
),
wage_window AS (
    SELECT entity, employee_id,
           CAST(y - 1 AS VARCHAR) || '-01' AS prior_from,
           CAST(y - 1 AS VARCHAR) || '-12' AS prior_to,
           CAST(y AS VARCHAR) || '-' || lpad(CAST(start_month_no AS VARCHAR), 2, '0') AS year_from
    FROM contribution_year
),
monthly_pay AS (
    SELECT entity, employee_id, period, sum(gross_pay) AS gross_pay
    FROM core.payroll
    WHERE period <= $period AND period >= CAST(CAST(left($period, 4) AS INTEGER) - 2 AS VARCHAR) || '-01'
    GROUP BY entity, employee_id, period
),
pay_by_year AS (
    SELECT w.entity, w.employee_id,
           CAST(sum(m.gross_pay * 100) FILTER (WHERE m.period BETWEEN w.prior_from AND w.prior_to) AS HUGEINT)
               AS last_year_cents,
           count(*) FILTER (WHERE m.period BETWEEN w.prior_from AND w.prior_to) AS last_year_months,
           arg_min(m.gross_pay, m.period) FILTER (WHERE m.period >= w.year_from) AS first_month_pay
    FROM wage_window w
    JOIN monthly_pay m USING (entity, employee_id)
    GROUP BY w.entity, w.employee_id
),
reference_wage AS (
    SELECT entity, employee_id,
           CAST(CASE WHEN last_year_months > 0
                     THEN CAST((last_year_cents * 2 + last_year_months) // (2 * last_year_months) AS DECIMAL(38, 0)) / 100
                     ELSE first_month_pay END AS DECIMAL(14, 2)) AS wage
    FROM pay_by_year
),
settings AS (
    SELECT p.*, e.hire_date, e.leave_date,
           coalesce(r.late_hire_fraction, 0.5) AS late_hire_fraction,
           coalesce(r.rounding, 'cent_half_up') AS rounding,
           ref.hire_cutoff(r.hire_cutoff_day, $period) AS cutoff,  -- C of §4.3
           b.first_day, b.last_day,
           w.wage AS reference_wage
    FROM population p
    CROSS JOIN period_bounds b
    LEFT JOIN employment e USING (entity, employee_id)
    LEFT JOIN ref.regions r ON r.region = p.region
    LEFT JOIN reference_wage w USING (entity, employee_id)
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
           SELECT 1 FROM ref.policy_in_force($period) pol
           WHERE pol.region = settings.region AND pol.insurance_type = 'pension'
       ) AS has_pension_policy
FROM settings;
