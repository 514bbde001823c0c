-- The net ledger of one period as a table macro: a period given by a subquery (the validation checks'
-- scope) cannot be pushed through the view's GROUP BY, so the view aggregated every month booked so far.
-- The view is the macro over all periods, so the netting rule stays in one place.
CREATE MACRO ledger.net_contributions(p) AS TABLE
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
GROUP BY period, entity, employee_id, insurance_type
HAVING sum(month_fraction) <> 0 OR sum(base) <> 0 OR sum(employer_amount) <> 0 OR sum(employee_amount) <> 0;

CREATE OR REPLACE VIEW ledger.current_contributions AS
SELECT * FROM ledger.net_contributions(NULL);
