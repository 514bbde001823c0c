-- SPEC §4.3 and §7 减员 停保年月: the first month the ledger does not charge after a leave — the leave month
-- itself when its month fraction (ledger.month_fraction, the ledger's own rule, with the region's cutoff) is 0
-- (left on or before the cutoff day, or hired after it in that month), else the month after. Declared so,
-- the ledger, the 减员 and the agency's next bill agree. NULL without a leave_date.
CREATE OR REPLACE MACRO ledger.stop_month(hire_date, leave_date, cutoff_day, late_hire_fraction) AS
    strftime(date_trunc('month', leave_date)
             + CASE WHEN ledger.month_fraction(hire_date, leave_date,
                                               ref.hire_cutoff(cutoff_day, strftime(leave_date, '%Y-%m')),
                                               last_day(leave_date), coalesce(late_hire_fraction, 0.5)) > 0
                    THEN INTERVAL 1 MONTH ELSE INTERVAL 0 MONTH END,
             '%Y-%m');
