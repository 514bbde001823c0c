-- SPEC §4.7: what the append-only ledger holds for each cell (period, entity, employee_id,
-- insurance_type) of month p (every month when p is NULL): the sum over its rows, attributes from the
-- latest run. Cells that net to zero are kept here: the ledger's next run compares against them.
CREATE OR REPLACE MACRO ledger.booked_cells(p) AS TABLE
SELECT period, entity, employee_id,
       arg_max(id_number, run_id) AS id_number,
       arg_max(name, run_id) AS name,
       arg_max(region, run_id) AS region,
       insurance_type,
       sum(base) AS base,
       sum(month_fraction) AS month_fraction,
       arg_max(employer_rate, run_id) AS employer_rate,
       arg_max(employee_rate, run_id) AS employee_rate,
       sum(employer_amount) AS employer_amount,
       sum(employee_amount) AS employee_amount
FROM ledger.contributions
WHERE p IS NULL OR period = p
GROUP BY period, entity, employee_id, insurance_type;
