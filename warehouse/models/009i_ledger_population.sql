-- SPEC §5 "the ledger population" of month p: the employees with ledger rows for p (month fraction > 0
-- and a pension policy row for their payroll city R), one row per (entity, employee_id), with the
-- computation behind their ledger (ledger.employee_months).
CREATE OR REPLACE MACRO ledger.population(p) AS TABLE
SELECT *
FROM ledger.employee_months
WHERE period = p AND month_fraction > 0 AND has_pension_policy;
