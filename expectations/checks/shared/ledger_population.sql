-- "The ledger population" of P: employees with ledger rows for P (month fraction > 0 and a pension
-- policy row for their payroll city R), one row per (entity, employee_id).
SELECT *
FROM ledger.employee_months
WHERE period = (SELECT period FROM scope) AND month_fraction > 0 AND has_pension_policy
