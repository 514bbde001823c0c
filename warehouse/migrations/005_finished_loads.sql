-- A file larger than one ingest chunk commits its rows chunk by chunk (transforms/ingest/inbox.py): its load is
-- pending from the first chunk until the commit that records it in ingest.loads. Rows of a pending load
-- never count; a run that dies leaves them pending, and the next ingest deletes them.
CREATE TABLE ingest.pending_loads (
    load_id     BIGINT PRIMARY KEY,
    source_file VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL
);

CREATE OR REPLACE VIEW ingest.current_loads AS
WITH keys AS (
    SELECT 'payroll' AS kind, period, entity, load_id FROM staging.payroll
    UNION ALL SELECT 'attendance', period, entity, load_id FROM staging.attendance
    UNION ALL SELECT 'insurance', period, NULL, load_id FROM staging.insurance
    UNION ALL SELECT 'transfers', period, NULL, load_id FROM staging.transfers
)
SELECT kind, period, entity, max(load_id) AS load_id, list(DISTINCT load_id ORDER BY load_id) AS all_load_ids
FROM keys
WHERE load_id NOT IN (SELECT load_id FROM ingest.pending_loads)
GROUP BY kind, period, entity;
