-- Corrections (SPEC §2): for each key (kind, period[, entity]) the rows of the most recent file holding that
-- key are current; the other loads holding it are listed in all_load_ids. "Most recent" is the file's own
-- modification time, then its name, then the load order (issue 30.7: a re-export `…202408 (1).csv` written
-- after its original wins though its name sorts first); a load from before the time was recorded counts at
-- the time it was loaded. The keys each load holds rows for are recorded once, when the load commits
-- (ingest.load_keys, transforms/ingest/sql/load_keys.sql): grouping those few rows, not the staged history, keeps
-- every read of core.* from slowing as history grows. A pending load has no keys yet, so its rows never
-- count. Bills keep their region in `entity` (ingest/staged_keys.sql).
CREATE OR REPLACE VIEW ingest.current_loads AS
WITH load_keys AS (
    SELECT kind, period, entity, load_id FROM ingest.load_keys
),
loads AS (
    SELECT load_id, coalesce(file_modified, loaded_at) AS file_time, source_file FROM ingest.loads
),
current_loads AS (
    SELECT k.kind, k.period, k.entity,
           arg_max(k.load_id, (l.file_time, l.source_file, k.load_id)) AS load_id,
           list(DISTINCT k.load_id ORDER BY k.load_id) AS all_load_ids
    FROM load_keys k
    LEFT JOIN loads l ON l.load_id = k.load_id
    GROUP BY k.kind, k.period, k.entity
)
SELECT * FROM current_loads;
