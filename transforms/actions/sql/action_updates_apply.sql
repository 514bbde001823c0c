-- A filled action workbook's rows, judged (transforms/actions/status_updates.py), written in one transaction:
-- workbook_rows holds every row read with its reject code and reason (null when accepted), whether it
-- applies (the first accepted row of an action not already there) and refused_role (refused for the
-- owner's role: audited). Statements run in order; each ends with ';' at a line end.

-- history first, while the old statuses are there to read
INSERT INTO actions.action_events
SELECT action_id, requested, current, requested, NULL, NULL, $actor, nullif(note, ''), $now
FROM workbook_rows WHERE applied;

UPDATE actions.cleanup_actions a SET
    status = w.requested,
    updated_at = $now,
    dismissed_reason = CASE WHEN w.requested = 'dismissed' THEN nullif(w.note, '') ELSE a.dismissed_reason END
FROM workbook_rows w
WHERE w.applied AND a.action_id = w.action_id;

INSERT INTO actions.audit
SELECT $now, $actor, $role, 'action_updates', action_id, applied,
       CASE WHEN applied THEN concat_ws(' ', $source || ' ' || coalesce(sheet, '') || ' 第' || number || '行:',
                                        nullif(note, ''))
            ELSE $source || ' ' || coalesce(sheet, '') || ' 第' || number || '行: role may not set ' || requested END
FROM workbook_rows WHERE applied OR refused_role;

INSERT INTO ingest.rejects
SELECT $load_id, $source, $kind, number, sheet, code, reason, raw
FROM workbook_rows WHERE code IS NOT NULL;

INSERT INTO actions.workbook_updates
SELECT $load_id, $source, sheet, number, nullif(action_id, ''), requested, nullif(note, ''), $actor, $role, applied,
       code, $now
FROM workbook_rows;

INSERT INTO ingest.loads (load_id, source_file, sha256, kind, status, rows_read, rows_staged, rows_rejected,
                          loaded_at, run_id, encoding, message)
VALUES ($load_id, $source, $sha, $kind, 'loaded', $read, $staged, $rejected, $now, $run_id, $encoding, $message);
