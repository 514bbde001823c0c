-- SPEC §5 "the ledger population" of month p: the employees with ledger rows for p (month fraction > 0,
-- a pension policy row for their payroll city R, and an employment type that is levied something: §3, a
-- retired re-hire or an intern is in no rule of the population), one row per (entity, employee_id), with
-- the computation behind their ledger (ledger.employee_months). A part-timer counts on R's work-injury row,
-- which every shipped region has (warehouse/reference/policy.csv); a policy file without one leaves them here
-- without cells.
CREATE OR REPLACE MACRO ledger.population(p) AS TABLE
SELECT *
FROM ledger.employee_months
WHERE period = p AND month_fraction > 0 AND has_pension_policy AND len(ref.levied_types(employment_type)) > 0;
