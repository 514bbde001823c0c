-- SPEC §4.3 month fraction f of a month whose cutoff C is `cutoff` and last day `last_day`: 1 when employed
-- on C, the late-hire fraction when hired after C and not leaving in the month, else 0 (no attendance row:
-- the whole month). The ledger (ledger.months) charges by it, and the 减员 declaration stops insurance from
-- the first month it is 0, so the two cannot disagree about the leave month.
CREATE OR REPLACE MACRO ledger.month_fraction(hire_date, leave_date, cutoff, last_day, late_hire_fraction) AS
    CAST(CASE
        WHEN hire_date IS NULL THEN 1
        WHEN hire_date <= cutoff AND (leave_date IS NULL OR leave_date > cutoff) THEN 1
        WHEN hire_date > cutoff AND hire_date <= last_day
             AND (leave_date IS NULL OR leave_date > last_day) THEN late_hire_fraction
        ELSE 0
    END AS DECIMAL(5, 4));
