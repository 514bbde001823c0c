-- SPEC §4.1–4.4 for month p: one row per (entity, employee_id) with a current payroll row for p, with its
-- region R, employment dates, month fraction f and reference wage W (and, from the latest attendance row,
-- the employment type of §3 and the position category of §5). transforms/ledger/book.py stores it once per
-- close, with the withholding check (§4.8), as ledger.employee_months; the ledger's cells (ledger.cells)
-- and the checks read that stored copy, so a close computes it once.
CREATE OR REPLACE MACRO ledger.months(p) AS TABLE
WITH
-- §4.1 population and the employee's region R (one definition: core.payroll_employees).
population AS (
    SELECT entity, employee_id, id_number, name, region, gross_pay, si_withheld
    FROM core.payroll_employees(p)
),
-- §4.2 employment dates: the latest attendance row with period <= p (one definition: core.latest_attendance).
employment AS (
    SELECT entity, employee_id, hire_date, leave_date, employment_type, position_category, hukou_region
    FROM core.latest_attendance(p)
),
regions AS (
    SELECT region, base_year_start_month, late_hire_fraction, rounding, hire_cutoff_day FROM ref.regions
),
-- W reaches back at most to January of the year before Y, and Y is p's year or the one before.
recent_payroll AS (
    SELECT entity, employee_id, period, gross_pay
    FROM core.payroll
    WHERE period <= p AND period >= CAST(CAST(left(p, 4) AS INTEGER) - 2 AS VARCHAR) || '-01'
),
pension_regions AS (
    SELECT DISTINCT region FROM ref.policy_in_force(p) WHERE insurance_type = 'pension'
),
period_bounds AS (
    SELECT CAST(p || '-01' AS DATE) AS first_day,
           last_day(CAST(p || '-01' AS DATE)) AS last_day
),
-- §4.4 reference wage W. R's contribution year containing p starts in month S (R's base_year_start_month)
-- of year Y; W is the mean of the employee's monthly pay in calendar year Y - 1 (the rows of one month
-- added, as in §4.1), else the pay of the earliest month from month S of Y up to p (a new hire's base is
-- the first month's pay); W half-up to cents in exact integer arithmetic (no floats).
contribution_year AS (
    SELECT pop.entity, pop.employee_id, coalesce(r.base_year_start_month, 1) AS start_month_no,
           CAST(left(p, 4) AS INTEGER)
               - CASE WHEN CAST(right(p, 2) AS INTEGER) >= coalesce(r.base_year_start_month, 1)
                      THEN 0 ELSE 1 END AS y
    FROM population pop
    LEFT JOIN regions r ON r.region = pop.region
),
wage_window AS (
    SELECT entity, employee_id,
           CAST(y - 1 AS VARCHAR) || '-01' AS prior_from,
           CAST(y - 1 AS VARCHAR) || '-12' AS prior_to,
           CAST(y AS VARCHAR) || '-' || lpad(CAST(start_month_no AS VARCHAR), 2, '0') AS year_from
    FROM contribution_year
),
-- One pass over the recent payroll rows per employee, not per employee and month (2.6 million groups at
-- 200,000 employees, issue 28): a month's rows added and summed are the same sum, its months counted distinct.
pay_by_year AS (
    SELECT w.entity, w.employee_id,
           CAST(sum(y.gross_pay * 100) FILTER (WHERE y.period BETWEEN w.prior_from AND w.prior_to) AS HUGEINT)
               AS last_year_cents,
           -- the months of Y - 1 with pay, one bit each (a calendar year: month numbers are distinct): a count
           -- DISTINCT cost as much again
           coalesce(bit_count(bit_or(CAST(1 AS INTEGER) << CAST(right(y.period, 2) AS INTEGER))
                              FILTER (WHERE y.period BETWEEN w.prior_from AND w.prior_to)), 0) AS last_year_months,
           min(y.period) FILTER (WHERE y.period >= w.year_from) AS first_month
    FROM wage_window w
    JOIN recent_payroll y USING (entity, employee_id)
    GROUP BY w.entity, w.employee_id
),
-- the pay of the first month from S of Y (its rows added), read only for whoever has no pay in Y - 1
first_month_pay AS (
    SELECT b.entity, b.employee_id, sum(y.gross_pay) AS gross_pay
    FROM pay_by_year b
    JOIN recent_payroll y ON y.entity = b.entity AND y.employee_id = b.employee_id AND y.period = b.first_month
    WHERE b.last_year_months = 0
    GROUP BY b.entity, b.employee_id
),
reference_wage AS (
    SELECT b.entity, b.employee_id,
           CAST(CASE WHEN b.last_year_months > 0
                     THEN CAST((b.last_year_cents * 2 + b.last_year_months) // (2 * b.last_year_months) AS DECIMAL(38, 0)) / 100
                     ELSE f.gross_pay END AS DECIMAL(14, 2)) AS wage
    FROM pay_by_year b
    LEFT JOIN first_month_pay f ON f.entity = b.entity AND f.employee_id = b.employee_id
),
settings AS (
    SELECT pop.*, e.hire_date, e.leave_date, e.employment_type, e.position_category, e.hukou_region,
           coalesce(r.late_hire_fraction, 0.5) AS late_hire_fraction,
           ref.hire_cutoff(r.hire_cutoff_day, p) AS cutoff,  -- C of §4.3
           b.first_day, b.last_day,
           w.wage AS reference_wage
    FROM population pop
    CROSS JOIN period_bounds b
    LEFT JOIN employment e USING (entity, employee_id)
    LEFT JOIN regions r ON r.region = pop.region
    LEFT JOIN reference_wage w USING (entity, employee_id)
),
months AS (
    SELECT p AS period, entity, employee_id, id_number, name, region, hire_date, leave_date,
           gross_pay, si_withheld, reference_wage,
           -- §4.3 month fraction (one definition: ledger.month_fraction)
           ledger.month_fraction(hire_date, leave_date, cutoff, last_day, late_hire_fraction) AS month_fraction,
           region IN (SELECT region FROM pension_regions) AS has_pension_policy,
           coalesce(employment_type, 'full_time') AS employment_type,  -- §3: none known is full-time
           position_category,
           ledger.employee_hukou(hukou_region, region) AS hukou  -- §3: which hukou row applies
    FROM settings
)
SELECT * FROM months;
