-- Corrections (SPEC §2) key payroll and attendance by (period, entity), insurance and transfers by period,
-- bills by (period, region): each region's agency bills on its own, so a corrected bill of one region
-- supersedes that region only. The keys load l holds staged rows for (every load's when l is NULL).
-- ingest.load_keys has one sub-key column beside period, `entity`; for bills it holds the region, so
-- ingest.current_loads (migration 007) groups bills per (period, region) unchanged.
CREATE OR REPLACE MACRO ingest.staged_keys(l) AS TABLE
SELECT DISTINCT kind, period, entity, load_id FROM (
    SELECT 'payroll' AS kind, period, entity, load_id FROM staging.payroll WHERE l IS NULL OR load_id = l
    UNION ALL SELECT 'attendance', period, entity, load_id FROM staging.attendance WHERE l IS NULL OR load_id = l
    UNION ALL SELECT 'insurance', period, NULL, load_id FROM staging.insurance WHERE l IS NULL OR load_id = l
    UNION ALL SELECT 'transfers', period, NULL, load_id FROM staging.transfers WHERE l IS NULL OR load_id = l
    UNION ALL SELECT 'bill', period, region, load_id FROM staging.bill WHERE l IS NULL OR load_id = l
);
