-- Corrections (SPEC §2): for each key (kind, period[, entity]) the rows of the most recently loaded file
-- holding that key are current; the other loads holding it are listed in all_load_ids. The keys each load
-- holds rows for are recorded once, when the load commits (ingest.load_keys, transforms/sql/load_keys.sql):
-- grouping those few rows, not the staged history, keeps every read of core.* from slowing as history
-- grows. A pending load has no keys yet, so its rows never count. Bills keep their region in `entity`
-- (010a_staged_keys.sql).
CREATE OR REPLACE VIEW ingest.current_loads AS
WITH load_keys AS (
    SELECT kind, period, entity, load_id FROM ingest.load_keys
),
current_loads AS (
    SELECT kind, period, entity, max(load_id) AS load_id, list(DISTINCT load_id ORDER BY load_id) AS all_load_ids
    FROM load_keys
    GROUP BY kind, period, entity
)
SELECT * FROM current_loads;
