-- SPEC §4.1 for month p: P's payroll employees, one row per (entity, employee_id) with a current payroll row
-- for p; two or more rows for one employee are added together (gross_pay, net_pay, si_withheld), the name
-- and id_number taken from the later row. `region` is the employee's region R ("the employee's payroll
-- city for P", §4, §5): the one statement of R, read by the ledger (ledger.months) and by the findings
-- about P's employees (quality.employees). When one employee's rows for p name different cities the SPEC
-- does not choose; the least name is taken, so R does not depend on row order and the ledger, which has
-- always booked that city, keeps its figures.
CREATE OR REPLACE MACRO core.payroll_employees(p) AS TABLE
WITH payroll AS (
    SELECT * FROM core.payroll WHERE period = p
),
employees AS (
    SELECT entity, employee_id,
           arg_max(id_number, row_number) AS id_number,
           arg_max(name, row_number) AS name,
           min(city) AS region,
           sum(gross_pay) AS gross_pay,
           sum(net_pay) AS net_pay,
           sum(si_withheld) AS si_withheld
    FROM payroll
    GROUP BY entity, employee_id
)
SELECT * FROM employees;
