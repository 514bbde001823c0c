-- Lineage of an employee's payroll row for P (the first in its file), for the evidence of findings about
-- ledger employees.
CREATE OR REPLACE MACRO quality.payroll_source(p) AS TABLE
WITH payroll AS (
    SELECT entity, employee_id, load_id, sheet, row_number FROM core.payroll WHERE period = p
),
loads AS (
    SELECT load_id, source_file FROM ingest.loads
),
payroll_source AS (
    SELECT y.entity, y.employee_id,
           arg_min_null(struct_pack(kind := 'payroll', file := l.source_file, sheet := y.sheet, "row" := y.row_number),
                        y.row_number) AS source
    FROM payroll y
    LEFT JOIN loads l ON l.load_id = y.load_id
    GROUP BY y.entity, y.employee_id
)
SELECT * FROM payroll_source;
