-- Raw rows with their standing: superseded when a later load replaced their key (kind, period[, entity or
-- region]); bills are keyed by region (ingest/staged_keys.sql), the key column `entity` holding it.
CREATE OR REPLACE VIEW raw.rows_status AS
WITH staged AS (
    SELECT load_id, sheet, row_number, period, entity FROM staging.payroll
    UNION ALL SELECT load_id, sheet, row_number, period, entity FROM staging.attendance
    UNION ALL SELECT load_id, sheet, row_number, period, NULL FROM staging.insurance
    UNION ALL SELECT load_id, sheet, row_number, period, NULL FROM staging.transfers
    UNION ALL SELECT load_id, sheet, row_number, period, region FROM staging.bill
)
SELECT r.*, s.period, s.entity,
       CASE WHEN s.load_id IS NULL THEN 'rejected'
            WHEN c.load_id > s.load_id THEN 'superseded'
            ELSE 'current' END AS standing,
       CASE WHEN c.load_id > s.load_id THEN c.load_id END AS superseded_by
FROM raw.rows r
LEFT JOIN staged s ON s.load_id = r.load_id AND s.sheet IS NOT DISTINCT FROM r.sheet AND s.row_number = r.row_number
LEFT JOIN ingest.current_loads c ON c.kind = r.kind AND c.period = s.period AND c.entity IS NOT DISTINCT FROM s.entity;
