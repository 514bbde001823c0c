-- HIRED_NOT_ENROLLED: someone in the ledger population with no active pension record covering P whose
-- employer is the entity and whose region is R (the payroll city), except a mistyped ID of someone insured
-- under the real one (quality.insured_as: FIX_ID_NUMBER alone applies). One row per (entity, employee_id).
-- details: registration_due = hire_date + 30 days (社会保险法 第58条) and overdue = registration_due before
-- the last day of P (true without a hire_date); the arrears (补缴, SPEC §5): the months M < P (P itself is
-- declared by the 增员) with ledger rows for the pair in R that no pension record of the entity in R in P's
-- snapshot covers (any status), their net amounts over all types, and the late fee (社会保险法 第86条: 0.05%
-- a day from the last day of M to the last day of P, half-up to cents per month: an estimate as of the last
-- day of P); arrears_before_data = the hire month is before the first payroll month held for the employee
-- (months the ledger cannot compute). Money as strings with two decimals.
-- A part-timer is levied work injury only (ref.levied_types): their records read are work-injury records
-- instead of pension records (SPEC §5), record_type the type read.
WITH scope AS (SELECT period FROM {batch}),
population AS (
    SELECT lp.*, CASE WHEN list_contains(ref.levied_types(lp.employment_type), 'pension') THEN 'pension'
                      ELSE 'work_injury' END AS record_type
    FROM ({ledger_population}) lp
),
pension AS (   -- pension records, and the work-injury records part-timers are judged on
    SELECT * FROM quality.insurance_snapshot((SELECT period FROM scope))
    WHERE insurance_type IN ('pension', 'work_injury')
),
insured_as AS MATERIALIZED (   -- computed once: inside the NOT EXISTS below, DuckDB ran it per person
                              -- (out of its 1 GB at 200,000 employees)
    SELECT entity, employee_id FROM quality.insured_as((SELECT period FROM scope))
),
unenrolled AS (
    SELECT lp.*, CAST(lp.hire_date + INTERVAL 30 DAY AS DATE) AS registration_due   -- 社会保险法 第58条
    FROM population lp
    WHERE NOT EXISTS (
        SELECT 1 FROM pension i
        WHERE i.id_number = lp.id_number AND i.insurance_type = lp.record_type AND i.active_covering
          AND i.employer = lp.entity AND i.region = lp.region
    )
      AND NOT EXISTS (
        SELECT 1 FROM insured_as m WHERE m.entity = lp.entity AND m.employee_id = lp.employee_id
    )
),
first_payroll AS (   -- the first month of payroll the warehouse holds for each of these employees
    SELECT y.entity, y.employee_id, min(y.period) AS first_month
    FROM core.payroll y
    JOIN unenrolled u ON u.entity = y.entity AND u.employee_id = y.employee_id
    GROUP BY ALL
),
arrears_cells AS (   -- net per (pair, month, type): cells a correction netted to nothing drop out (the
                     -- rule of ledger.net_contributions, over these people's rows only: cheap)
    SELECT c.entity, c.employee_id, c.period AS month, c.insurance_type,
           sum(c.base) AS base, sum(c.employer_amount) AS employer, sum(c.employee_amount) AS employee
    FROM ledger.contributions c
    JOIN unenrolled u ON u.entity = c.entity AND u.employee_id = c.employee_id AND u.region = c.region
    WHERE c.period < (SELECT period FROM scope)
      AND NOT EXISTS (
          SELECT 1 FROM pension i
          WHERE i.id_number = u.id_number AND i.insurance_type = u.record_type AND i.employer = u.entity
            AND i.region = u.region AND quality.covers(i.start_month, i.end_month, c.period)
      )
    GROUP BY ALL
    HAVING NOT ledger.nets_to_nothing(sum(c.month_fraction), sum(c.base), sum(c.employer_amount),
                                      sum(c.employee_amount))
),
arrears_months AS (
    SELECT entity, employee_id, month, sum(employer) AS employer, sum(employee) AS employee,
           datediff('day', last_day(CAST(month || '-01' AS DATE)),
                    last_day(CAST((SELECT period FROM scope) || '-01' AS DATE))) AS days,
           -- per type, for the 补缴 declaration (one row per person, month and type, SPEC §7)
           list(struct_pack(insurance_type := insurance_type, base := CAST(base AS DECIMAL(14, 2))::VARCHAR,
                            employer := CAST(employer AS DECIMAL(14, 2))::VARCHAR,
                            employee := CAST(employee AS DECIMAL(14, 2))::VARCHAR)
                ORDER BY insurance_type) AS types
    FROM arrears_cells
    GROUP BY entity, employee_id, month
),
arrears AS (
    SELECT entity, employee_id,
           list(month ORDER BY month) AS months,
           list(struct_pack(month := month, employer := CAST(employer AS DECIMAL(14, 2))::VARCHAR,
                            employee := CAST(employee AS DECIMAL(14, 2))::VARCHAR, days := days,
                            late_fee := CAST(round((employer + employee) * 0.0005 * days, 2) AS DECIMAL(14, 2))::VARCHAR,
                            types := types)
                ORDER BY month) AS by_month,
           sum(employer) AS employer, sum(employee) AS employee,
           sum(round((employer + employee) * 0.0005 * days, 2)) AS late_fee
    FROM arrears_months
    GROUP BY ALL
)
SELECT (SELECT period FROM scope) AS period,
       lp.entity, lp.employee_id, lp.id_number, lp.region,
       lp.record_type AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', lp.name,
           'hire_date', lp.hire_date,
           'registration_due', lp.registration_due,
           'overdue', coalesce(lp.registration_due < last_day(CAST((SELECT period FROM scope) || '-01' AS DATE)), true),
           'leave_date', lp.leave_date,
           'month_fraction', CAST(lp.month_fraction AS VARCHAR),
           'record_type', lp.record_type,
           'records', (SELECT coalesce(list(struct_pack(region := o.region, employer := o.employer, status := o.status,
                                                       start_month := o.start_month, end_month := o.end_month)
                                            ORDER BY o.start_month), [])
                       FROM pension o WHERE o.id_number = lp.id_number AND o.insurance_type = lp.record_type),
           'source', s.source,
           'arrears_months', coalesce(a.months, []),
           'arrears_employer', CAST(coalesce(a.employer, 0) AS DECIMAL(14, 2))::VARCHAR,
           'arrears_employee', CAST(coalesce(a.employee, 0) AS DECIMAL(14, 2))::VARCHAR,
           'late_fee', CAST(coalesce(a.late_fee, 0) AS DECIMAL(14, 2))::VARCHAR,
           'late_fee_until', last_day(CAST((SELECT period FROM scope) || '-01' AS DATE)),   -- an estimate as of
           'arrears_by_month', coalesce(a.by_month, []),
           'arrears_before_data', coalesce(strftime(lp.hire_date, '%Y-%m') < fp.first_month, false)
       ) AS details
FROM unenrolled lp
LEFT JOIN arrears a ON a.entity = lp.entity AND a.employee_id = lp.employee_id
LEFT JOIN first_payroll fp ON fp.entity = lp.entity AND fp.employee_id = lp.employee_id
LEFT JOIN quality.payroll_source((SELECT period FROM scope)) s ON s.entity = lp.entity AND s.employee_id = lp.employee_id
