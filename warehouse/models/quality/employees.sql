-- One row per (entity, employee_id) of P's employees (SPEC §5): name, id_number and lineage from the payroll
-- row where there is one, else the attendance row (the first in its file); every id_number seen for P; and
-- the employee's region R (core.payroll_employees, the ledger's R; NULL for someone with attendance only).
CREATE OR REPLACE MACRO quality.employees(p) AS TABLE
WITH employee_rows AS (
    SELECT * FROM quality.employee_rows(p)
),
payroll_employees AS (
    SELECT entity, employee_id, region FROM core.payroll_employees(p)
),
picked AS (
    SELECT *, (CASE kind WHEN 'payroll' THEN 0 ELSE 1 END) * 1000000000 + row_number AS pick
    FROM employee_rows
),
employees AS (
    SELECT entity, employee_id,
           arg_min(name, pick) AS name,
           arg_min(id_number, pick) FILTER (WHERE coalesce(id_number, '') <> '') AS id_number,
           arg_min(id_number_raw, pick) FILTER (WHERE coalesce(id_number, '') <> '') AS id_number_raw,
           list(DISTINCT id_number ORDER BY id_number) FILTER (WHERE coalesce(id_number, '') <> '') AS id_numbers,
           arg_min_null(struct_pack(kind := kind, file := source_file, sheet := sheet, "row" := row_number), pick)
               AS source
    FROM picked
    GROUP BY entity, employee_id
),
with_region AS (
    SELECT e.entity, e.employee_id, e.name, e.id_number, e.id_number_raw, e.id_numbers, r.region, e.source
    FROM employees e
    LEFT JOIN payroll_employees r ON r.entity = e.entity AND r.employee_id = e.employee_id
)
SELECT * FROM with_region;
