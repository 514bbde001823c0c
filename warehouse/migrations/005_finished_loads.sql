-- Only rows of finished loads count. A large file commits its rows chunk by chunk and its ingest.loads row
-- last (transforms/ingest.py); until then, or forever when its run dies, its rows belong to no current load.
CREATE OR REPLACE VIEW ingest.current_loads AS
WITH keys AS (
    SELECT 'payroll' AS kind, period, entity, load_id FROM staging.payroll
    UNION ALL SELECT 'attendance', period, entity, load_id FROM staging.attendance
    UNION ALL SELECT 'insurance', period, NULL, load_id FROM staging.insurance
    UNION ALL SELECT 'transfers', period, NULL, load_id FROM staging.transfers
)
SELECT kind, period, entity, max(load_id) AS load_id, list(DISTINCT load_id ORDER BY load_id) AS all_load_ids
FROM keys
WHERE load_id IN (SELECT load_id FROM ingest.loads)
GROUP BY kind, period, entity;
