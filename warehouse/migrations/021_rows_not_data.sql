-- SPEC §7 v3: totals, sample and instruction rows of real exports are not data. They are skipped and counted
-- apart (listed in ingest.rejects with reason_code NOT_DATA), and every load still accounts for each row read:
-- rows_read = rows_staged + rows_rejected + rows_not_data. DuckDB cannot change a CHECK in place, so the table
-- is rebuilt with the new columns and rule; its rows keep their values (none had rows that were not data).
CREATE TABLE ingest.loads_v3 (
    load_id       BIGINT PRIMARY KEY,
    source_file   VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    kind          VARCHAR,
    status        VARCHAR NOT NULL CHECK (status IN ('loaded', 'skipped_duplicate', 'unrecognized', 'failed')),
    rows_read     BIGINT NOT NULL DEFAULT 0,
    rows_staged   BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    loaded_at     TIMESTAMP NOT NULL,
    run_id        VARCHAR,
    encoding      VARCHAR,
    sheets        VARCHAR,
    message       VARCHAR,
    flow_run_id   VARCHAR,
    rows_not_data BIGINT NOT NULL DEFAULT 0,
    -- the file's own modification time: of two loads holding the same key, the later file is current, then
    -- the later name (issue 30.7: a re-export `…202408 (1).csv` sorts before its original by name)
    file_modified TIMESTAMP,
    CHECK (rows_read = rows_staged + rows_rejected + rows_not_data)
);

INSERT INTO ingest.loads_v3 (load_id, source_file, sha256, kind, status, rows_read, rows_staged, rows_rejected,
                             loaded_at, run_id, encoding, sheets, message, flow_run_id, rows_not_data)
SELECT load_id, source_file, sha256, kind, status, rows_read, rows_staged, rows_rejected,
       loaded_at, run_id, encoding, sheets, message, flow_run_id, 0
FROM ingest.loads;

DROP TABLE ingest.loads;
ALTER TABLE ingest.loads_v3 RENAME TO loads;

-- SPEC §2 v3 daily attendance (DingTalk 每日统计): one row per person and month with its days present, and no
-- hire or leave date (a roster gives them; §4.2 reads the latest row that has them).
ALTER TABLE staging.attendance ALTER COLUMN hire_date DROP NOT NULL;
