-- The keys the loads $first..$last hold staged rows for (ingest.staged_keys, migration 007), recorded in the
-- transaction that commits those loads: from then on ingest.current_loads counts them for those keys. One
-- load, or the loads of an ingest's batch of files, drawn one after another in one transaction. A pending
-- load (a large file's chunks before its last commit) is never counted. Keys already recorded are left as
-- they are, so recording a load twice changes nothing.
INSERT INTO ingest.load_keys
SELECT k.kind, k.period, k.entity, k.load_id
FROM ingest.staged_keys(NULL) k
WHERE k.load_id BETWEEN $first AND $last
  AND k.load_id NOT IN (SELECT load_id FROM ingest.pending_loads)
  AND NOT EXISTS (SELECT 1 FROM ingest.load_keys r
                  WHERE r.load_id = k.load_id AND r.kind = k.kind AND r.period = k.period
                    AND r.entity IS NOT DISTINCT FROM k.entity);
