-- SPEC §5 "P's employees": the (entity, employee_id) pairs with a payroll or attendance row for P — here every
-- such current row, with its lineage (source file, sheet, 1-based row) for the evidence. `region` is the
-- row's payroll city (NULL on attendance rows); the employee's region R is core.payroll_employees'.
CREATE OR REPLACE MACRO quality.employee_rows(p) AS TABLE
WITH payroll AS (
    SELECT 'payroll' AS kind, entity, employee_id, name, id_number, id_number_raw, city AS region,
           load_id, sheet, row_number
    FROM core.payroll WHERE period = p
),
attendance AS (
    SELECT 'attendance' AS kind, entity, employee_id, name, id_number, id_number_raw, NULL AS region,
           load_id, sheet, row_number
    FROM core.attendance WHERE period = p
),
loads AS (
    SELECT load_id, source_file FROM ingest.loads
),
employee_rows AS (
    SELECT r.kind, r.entity, r.employee_id, r.name, r.id_number, r.id_number_raw, r.region,
           l.source_file, r.sheet, r.row_number
    FROM (SELECT * FROM payroll UNION ALL SELECT * FROM attendance) r
    LEFT JOIN loads l ON l.load_id = r.load_id
)
SELECT * FROM employee_rows;
