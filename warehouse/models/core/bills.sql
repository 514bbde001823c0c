-- The current bill rows: per (period, region), the rows of the most recently loaded bill file holding that
-- key (ingest.current_loads keeps the region of a bill in its `entity` column, ingest/staged_keys.sql).
CREATE OR REPLACE VIEW core.bills AS
SELECT s.* FROM staging.bill s
JOIN ingest.current_loads c ON c.kind = 'bill' AND c.period = s.period AND c.entity = s.region AND c.load_id = s.load_id;
