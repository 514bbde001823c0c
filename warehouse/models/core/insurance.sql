-- The current insurance rows (SPEC §2 corrections applied): per period, the rows of the load
-- ingest.current_loads names; the platform's extract is keyed by period alone, as it holds every
-- employer's people. The ledger, the checks and the outputs read this, never staging.
CREATE OR REPLACE VIEW core.insurance AS
WITH staged AS (
    SELECT * FROM staging.insurance
),
current_loads AS (
    SELECT period, entity, load_id FROM ingest.current_loads WHERE kind = 'insurance'
),
current_rows AS (
    SELECT s.*
    FROM staged s
    JOIN current_loads c ON c.period = s.period AND c.load_id = s.load_id
)
SELECT * FROM current_rows;
