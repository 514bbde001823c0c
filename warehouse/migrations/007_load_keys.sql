-- ingest.current_loads was a GROUP BY over every staged row of every kind. A view is recomputed by each
-- query that reads core.*, so every check, the ledger and the exports read the whole staged history to
-- find the current loads, and a month's close slowed as history grew. The (kind, period, entity) keys a
-- load holds rows for are now recorded once, in the transaction that commits the load
-- (transforms/ingest/sql/load_keys.sql); current_loads groups those few rows. A pending load has no keys yet.
CREATE TABLE ingest.load_keys (
    kind    VARCHAR NOT NULL,
    period  VARCHAR NOT NULL,
    entity  VARCHAR,
    load_id BIGINT NOT NULL
);

-- Corrections (SPEC §2) key payroll and attendance by (period, entity), insurance and transfers by period:
-- the keys load l holds staged rows for (every load's when l is NULL). The one statement of that rule.
CREATE MACRO ingest.staged_keys(l) AS TABLE
SELECT DISTINCT kind, period, entity, load_id FROM (
    SELECT 'payroll' AS kind, period, entity, load_id FROM staging.payroll WHERE l IS NULL OR load_id = l
    UNION ALL SELECT 'attendance', period, entity, load_id FROM staging.attendance WHERE l IS NULL OR load_id = l
    UNION ALL SELECT 'insurance', period, NULL, load_id FROM staging.insurance WHERE l IS NULL OR load_id = l
    UNION ALL SELECT 'transfers', period, NULL, load_id FROM staging.transfers WHERE l IS NULL OR load_id = l
);

-- The loads staged before this migration (pending ones stay without keys).
INSERT INTO ingest.load_keys
SELECT * FROM ingest.staged_keys(NULL)
WHERE load_id NOT IN (SELECT load_id FROM ingest.pending_loads);

-- Corrections (SPEC §2): for each key, the rows of the most recently loaded file holding that key.
CREATE OR REPLACE VIEW ingest.current_loads AS
SELECT kind, period, entity, max(load_id) AS load_id, list(DISTINCT load_id ORDER BY load_id) AS all_load_ids
FROM ingest.load_keys
GROUP BY kind, period, entity;
