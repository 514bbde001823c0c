-- SPEC §6 version 2: `submitted` beside open/resolved/dismissed (HR filed the application or declaration).
-- DuckDB cannot alter a CHECK constraint: the table is rebuilt with the wider one, every row kept.
CREATE TABLE actions.cleanup_actions_v2 (
    action_id         VARCHAR PRIMARY KEY,
    action_type       VARCHAR NOT NULL,
    status            VARCHAR NOT NULL CHECK (status IN ('open', 'submitted', 'resolved', 'dismissed')),
    period_first_seen VARCHAR NOT NULL,
    period_last_seen  VARCHAR NOT NULL,
    entity            VARCHAR,
    employee_id       VARCHAR,
    id_number         VARCHAR,
    finding_codes     VARCHAR[] NOT NULL,
    details           JSON,
    updated_at        TIMESTAMP NOT NULL,
    severity          VARCHAR NOT NULL,
    problem_key       VARCHAR NOT NULL,
    last_run_id       VARCHAR NOT NULL,
    resolved_by_run   VARCHAR,
    dismissed_reason  VARCHAR
);
INSERT INTO actions.cleanup_actions_v2 SELECT * FROM actions.cleanup_actions;
DROP TABLE actions.cleanup_actions;
ALTER TABLE actions.cleanup_actions_v2 RENAME TO cleanup_actions;

-- The workbook round trip (kind action_updates): every row read from a filled action workbook, applied or
-- rejected, with the file, sheet, row and the user whose file it was.
CREATE TABLE actions.workbook_updates (
    load_id     BIGINT,
    source_file VARCHAR NOT NULL,
    sheet       VARCHAR,
    row_number  INTEGER NOT NULL,
    action_id   VARCHAR,
    requested   VARCHAR,          -- submitted or dismissed
    note        VARCHAR,
    actor       VARCHAR NOT NULL,
    role        VARCHAR NOT NULL,
    applied     BOOLEAN NOT NULL,
    reason_code VARCHAR,          -- MISSING_FIELD, NOT_ALLOWED, UNKNOWN_VALUE when rejected
    occurred_at TIMESTAMP NOT NULL
);
