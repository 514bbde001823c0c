-- SPEC §4.7: what the append-only ledger holds for each cell (period, entity, employee_id,
-- insurance_type) of month p (every month when p is NULL): the sum over its rows (ledger.cell_sums),
-- attributes from the latest run. Cells that net to zero are kept here: the ledger's next run compares against them.
-- The attributes come from a join to the latest run's row (ledger_append.sql writes at most one row per cell
-- and run), not from arg_max per cell: DuckDB keeps an aggregate's string values in memory it cannot spill,
-- and at a million employees those of five cells each ran past the 1GB limit (docs/memory.md); the sums and
-- the join spill.
CREATE OR REPLACE MACRO ledger.booked_cells(p) AS TABLE
SELECT s.period, s.entity, s.employee_id, c.id_number, c.name, c.region, s.insurance_type, s.base, s.month_fraction,
       c.employer_rate, c.employee_rate, s.employer_amount, s.employee_amount, c.policy_verified
FROM ledger.cell_sums(p) s
JOIN ledger.contributions c
  ON c.period = s.period AND c.entity = s.entity AND c.employee_id = s.employee_id
 AND c.insurance_type = s.insurance_type AND c.run_id = s.latest_run
WHERE p IS NULL OR c.period = p;
