-- SPEC §4.7: the sums over the rows of each cell (period, entity, employee_id, insurance_type) of the
-- append-only ledger for month p (every month when p is NULL), and the row of the cell's latest run: its rowid,
-- the cell's largest, since ledger_append.sql writes at most one row per cell and run, runs append one after
-- another (the warehouse lock) and no row is ever deleted or rewritten. An integer aggregate, which DuckDB
-- spills: max(run_id) held a string per cell, and arg_max(rowid, run_id) at 1,000,000 employees ran out of its
-- half limit. Apart from ledger.booked_cells, which adds that row's attributes by a join, so that a caller that
-- needs only whether a cell nets to nothing (未入账人员) skips that join: two thirds of the query at 200,000.
CREATE OR REPLACE MACRO ledger.cell_sums(p) AS TABLE
WITH ledger_rows AS (
    SELECT rowid AS ledger_row, period, entity, employee_id, insurance_type, base, month_fraction,
           employer_amount, employee_amount
    FROM ledger.contributions
    WHERE p IS NULL OR period = p
),
sums AS (
    SELECT period, entity, employee_id, insurance_type, max(ledger_row) AS latest_row,
           sum(base) AS base, sum(month_fraction) AS month_fraction,
           sum(employer_amount) AS employer_amount, sum(employee_amount) AS employee_amount
    FROM ledger_rows
    GROUP BY period, entity, employee_id, insurance_type
)
SELECT * FROM sums;
