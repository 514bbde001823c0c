-- SPEC §7 未入账人员, staged side: every (entity, employee_id) with a payroll row for $period (the last
-- ledger run's ledger.employee_months) and no net ledger cell for P, with why in Chinese. Payroll rows
-- rejected at ingest are added by transforms/outputs/export.py (their fields come from the raw row).
-- {id_number} is the id column as the role may see it.
WITH booked AS (  -- ledger.net_contributions' people: whether a cell nets to nothing needs only its sums, not
                  -- the join to its latest run's attributes (two thirds of the query)
    SELECT DISTINCT entity, employee_id FROM ledger.cell_sums($period)
    WHERE NOT ledger.nets_to_nothing(month_fraction, base, employer_amount, employee_amount)
),
months AS (
    SELECT m.*, last_day(CAST($period || '-01' AS DATE)) AS month_end,
           ref.hire_cutoff(r.hire_cutoff_day, $period) AS cutoff  -- to say which side of C a date fell
    FROM ledger.employee_months m
    LEFT JOIN ref.regions r ON r.region = m.region
    WHERE m.period = $period
)
SELECT m.entity, m.employee_id, m.name, {id_number} AS id_number, m.region, m.gross_pay,
       CASE WHEN m.month_fraction = 0 AND m.hire_date > m.month_end THEN '本月之后入职'
            WHEN m.month_fraction = 0 AND m.hire_date > m.cutoff THEN '截止日后入职'
            WHEN m.month_fraction = 0 THEN '截止日前离职'
            WHEN NOT m.has_pension_policy THEN '参保地无养老保险政策'
            WHEN len(ref.levied_types(m.employment_type)) = 0 THEN '用工形式不缴纳社会保险'
            ELSE '本月无应缴金额' END AS reason,
       CASE WHEN m.month_fraction = 0
            THEN concat_ws('，', '入职日期 ' || strftime(m.hire_date, '%Y-%m-%d'),
                           '离职日期 ' || strftime(m.leave_date, '%Y-%m-%d'),
                           '本月截止日 ' || strftime(m.cutoff, '%Y-%m-%d')) || '：本月计费比例为 0，不缴费'
            WHEN NOT m.has_pension_policy
            THEN '参保地 ' || $period || ' 没有养老保险政策：补充政策后重新核算本月'
            WHEN len(ref.levied_types(m.employment_type)) = 0  -- SPEC §3: retired re-hires and interns
            THEN '用工形式为' || CASE m.employment_type WHEN 'retiree' THEN '退休返聘' ELSE '实习' END
                 || '：不缴纳社会保险'
            ELSE '本月各险种金额均为 0' END AS detail
FROM months m
ANTI JOIN booked b ON b.entity = m.entity AND b.employee_id = m.employee_id
ORDER BY m.entity, m.employee_id
