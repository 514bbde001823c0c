-- SPEC §4.7: what the append-only ledger holds for each cell (period, entity, employee_id,
-- insurance_type) of month p (every month when p is NULL): the sum over its rows (ledger.cell_sums),
-- attributes from the latest run. Cells that net to zero are kept here: the ledger's next run compares against them.
-- The attributes come from a join to the latest run's row by its rowid (ledger.cell_sums' latest_row), not from
-- arg_max of each attribute per cell: DuckDB keeps an aggregate's string values in memory it cannot spill, and
-- at a million employees those of five cells each ran past the 1GB limit (docs/memory.md); the sums and the join
-- spill. The row's id and its period, where the join on the cell's four columns and its run took 40% longer at
-- 200,000 (the period lets a filter on it reach both sides when p is NULL).
CREATE OR REPLACE MACRO ledger.booked_cells(p) AS TABLE
SELECT s.period, s.entity, s.employee_id, c.id_number, c.name, c.region, s.insurance_type, s.base, s.month_fraction,
       c.employer_rate, c.employee_rate, s.employer_amount, s.employee_amount, c.policy_verified
FROM ledger.cell_sums(p) s
JOIN (SELECT rowid AS ledger_row, * FROM ledger.contributions WHERE p IS NULL OR period = p) c
  ON c.ledger_row = s.latest_row AND c.period = s.period;
