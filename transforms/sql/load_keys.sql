-- The (kind, period, entity) keys load $load_id holds staged rows for, recorded in the transaction that
-- commits the load: from then on ingest.current_loads counts the load for those keys (migration 007).
-- Keys already recorded are left as they are, so recording a load twice changes nothing.
INSERT INTO ingest.load_keys
SELECT k.kind, k.period, k.entity, k.load_id
FROM (
    SELECT DISTINCT 'payroll' AS kind, period, entity, load_id FROM staging.payroll WHERE load_id = $load_id
    UNION ALL SELECT DISTINCT 'attendance', period, entity, load_id FROM staging.attendance WHERE load_id = $load_id
    UNION ALL SELECT DISTINCT 'insurance', period, NULL, load_id FROM staging.insurance WHERE load_id = $load_id
    UNION ALL SELECT DISTINCT 'transfers', period, NULL, load_id FROM staging.transfers WHERE load_id = $load_id
) k
WHERE NOT EXISTS (SELECT 1 FROM ingest.load_keys r
                  WHERE r.load_id = k.load_id AND r.kind = k.kind AND r.period = k.period
                    AND r.entity IS NOT DISTINCT FROM k.entity);
