-- The keys load $load_id holds staged rows for (ingest.staged_keys, migration 007), recorded in the
-- transaction that commits the load: from then on ingest.current_loads counts the load for those keys.
-- Keys already recorded are left as they are, so recording a load twice changes nothing.
INSERT INTO ingest.load_keys
SELECT k.kind, k.period, k.entity, k.load_id
FROM ingest.staged_keys($load_id) k
WHERE NOT EXISTS (SELECT 1 FROM ingest.load_keys r
                  WHERE r.load_id = k.load_id AND r.kind = k.kind AND r.period = k.period
                    AND r.entity IS NOT DISTINCT FROM k.entity);
