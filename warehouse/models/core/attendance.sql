-- The current attendance rows (SPEC §2 corrections applied): per (period, entity), the rows of the load
-- ingest.current_loads names. The ledger, the checks and the outputs read this, never staging.
CREATE OR REPLACE VIEW core.attendance AS
WITH staged AS (
    SELECT * FROM staging.attendance
),
current_loads AS (
    SELECT period, entity, load_id FROM ingest.current_loads WHERE kind = 'attendance'
),
current_rows AS (
    SELECT s.*
    FROM staged s
    JOIN current_loads c ON c.period = s.period AND c.entity = s.entity AND c.load_id = s.load_id
)
SELECT * FROM current_rows;
