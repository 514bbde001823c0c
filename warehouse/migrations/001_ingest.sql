-- Ingest: the account of every file and row, the raw layer as read, and typed staging per kind.
CREATE SCHEMA IF NOT EXISTS ingest;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS ref;

CREATE SEQUENCE ingest.load_id_seq START 1;

-- One row per (file, kind found in it); a workbook whose sheets hold two kinds gives two loads.
CREATE TABLE ingest.loads (
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
    CHECK (rows_read = rows_staged + rows_rejected)
);

CREATE TABLE ingest.rejects (
    load_id     BIGINT NOT NULL,
    source_file VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    row_number  INTEGER NOT NULL,
    sheet       VARCHAR,
    reason_code VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    raw         JSON
);

-- Every data row as read: a JSON object header cell -> cell text, unknown extra columns included.
-- Stored as VARCHAR holding JSON text: validating millions of rows as JSON on write buys nothing.
CREATE TABLE raw.rows (
    load_id    BIGINT NOT NULL,
    kind       VARCHAR NOT NULL,
    sheet      VARCHAR,
    row_number INTEGER NOT NULL,
    cells      VARCHAR NOT NULL
);

CREATE TABLE staging.payroll (
    load_id        BIGINT NOT NULL,
    sheet          VARCHAR,
    row_number     INTEGER NOT NULL,
    period         VARCHAR NOT NULL,           -- YYYY-MM
    employee_id    VARCHAR NOT NULL,
    name           VARCHAR NOT NULL,
    id_number      VARCHAR NOT NULL,           -- normalised (18 digits where convertible)
    id_number_raw  VARCHAR NOT NULL,           -- as given
    entity         VARCHAR NOT NULL,
    city           VARCHAR NOT NULL,           -- normalised region name
    city_raw       VARCHAR NOT NULL,
    city_known     BOOLEAN NOT NULL,
    gross_pay      DECIMAL(14, 2) NOT NULL,
    net_pay        DECIMAL(14, 2),
    si_withheld    DECIMAL(14, 2)
);

CREATE TABLE staging.attendance (
    load_id         BIGINT NOT NULL,
    sheet           VARCHAR,
    row_number      INTEGER NOT NULL,
    period          VARCHAR NOT NULL,
    employee_id     VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    id_number       VARCHAR,
    id_number_raw   VARCHAR,
    entity          VARCHAR NOT NULL,
    hire_date       DATE NOT NULL,
    leave_date      DATE,
    attendance_days DECIMAL(6, 2)
);

CREATE TABLE staging.insurance (
    load_id          BIGINT NOT NULL,
    sheet            VARCHAR,
    row_number       INTEGER NOT NULL,
    period           VARCHAR NOT NULL,
    id_number        VARCHAR NOT NULL,
    id_number_raw    VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    region           VARCHAR NOT NULL,
    region_raw       VARCHAR NOT NULL,
    region_known     BOOLEAN NOT NULL,
    employer         VARCHAR NOT NULL,
    insurance_type   VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,
    start_month      VARCHAR NOT NULL,
    end_month        VARCHAR,
    base             DECIMAL(14, 2) NOT NULL,
    months_paid      INTEGER,
    first_enrollment BOOLEAN
);

CREATE TABLE staging.transfers (
    load_id          BIGINT NOT NULL,
    sheet            VARCHAR,
    row_number       INTEGER NOT NULL,
    period           VARCHAR NOT NULL,
    transfer_id      VARCHAR NOT NULL,
    id_number        VARCHAR NOT NULL,
    id_number_raw    VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    insurance_type   VARCHAR NOT NULL,
    from_region      VARCHAR NOT NULL,
    from_region_raw  VARCHAR NOT NULL,
    to_region        VARCHAR NOT NULL,
    to_region_raw    VARCHAR NOT NULL,
    stage            VARCHAR NOT NULL,
    submitted_on     DATE NOT NULL,
    stage_on         DATE NOT NULL
);

-- Corrections (SPEC §2): for each key, the rows of the most recently loaded file holding that key.
CREATE VIEW ingest.current_loads AS
WITH keys AS (
    SELECT 'payroll' AS kind, period, entity, load_id FROM staging.payroll
    UNION ALL SELECT 'attendance', period, entity, load_id FROM staging.attendance
    UNION ALL SELECT 'insurance', period, NULL, load_id FROM staging.insurance
    UNION ALL SELECT 'transfers', period, NULL, load_id FROM staging.transfers
)
SELECT kind, period, entity, max(load_id) AS load_id, list(DISTINCT load_id ORDER BY load_id) AS all_load_ids
FROM keys
GROUP BY kind, period, entity;

CREATE VIEW core.payroll AS
SELECT s.* FROM staging.payroll s
JOIN ingest.current_loads c ON c.kind = 'payroll' AND c.period = s.period AND c.entity = s.entity AND c.load_id = s.load_id;

CREATE VIEW core.attendance AS
SELECT s.* FROM staging.attendance s
JOIN ingest.current_loads c ON c.kind = 'attendance' AND c.period = s.period AND c.entity = s.entity AND c.load_id = s.load_id;

CREATE VIEW core.insurance AS
SELECT s.* FROM staging.insurance s
JOIN ingest.current_loads c ON c.kind = 'insurance' AND c.period = s.period AND c.load_id = s.load_id;

CREATE VIEW core.transfers AS
SELECT s.* FROM staging.transfers s
JOIN ingest.current_loads c ON c.kind = 'transfers' AND c.period = s.period AND c.load_id = s.load_id;

-- Raw rows with their standing: superseded when a later load replaced their (kind, period[, entity]).
CREATE VIEW raw.rows_status AS
WITH staged AS (
    SELECT load_id, sheet, row_number, period, entity FROM staging.payroll
    UNION ALL SELECT load_id, sheet, row_number, period, entity FROM staging.attendance
    UNION ALL SELECT load_id, sheet, row_number, period, NULL FROM staging.insurance
    UNION ALL SELECT load_id, sheet, row_number, period, NULL FROM staging.transfers
)
SELECT r.*, s.period, s.entity,
       CASE WHEN s.load_id IS NULL THEN 'rejected'
            WHEN c.load_id > s.load_id THEN 'superseded'
            ELSE 'current' END AS standing,
       CASE WHEN c.load_id > s.load_id THEN c.load_id END AS superseded_by
FROM raw.rows r
LEFT JOIN staged s ON s.load_id = r.load_id AND s.sheet IS NOT DISTINCT FROM r.sheet AND s.row_number = r.row_number
LEFT JOIN ingest.current_loads c ON c.kind = r.kind AND c.period = s.period AND c.entity IS NOT DISTINCT FROM s.entity;

-- Reference: regions (refreshed from warehouse/reference/regions.csv by warehouse.reference).
CREATE TABLE ref.regions (
    region             VARCHAR PRIMARY KEY,
    province           VARCHAR NOT NULL,
    aliases            VARCHAR[] NOT NULL,
    hire_cutoff_day    INTEGER NOT NULL DEFAULT 15 CHECK (hire_cutoff_day BETWEEN 1 AND 31),
    late_hire_fraction DECIMAL(5, 4) NOT NULL DEFAULT 0.5 CHECK (late_hire_fraction BETWEEN 0 AND 1),
    rounding           VARCHAR NOT NULL DEFAULT 'cent_half_up' CHECK (rounding IN ('cent_half_up', 'jiao_up'))
);
