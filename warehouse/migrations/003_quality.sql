-- Quality: validation runs, their findings (SPEC §7), the working-day calendar, transfer stage limits,
-- and the SQL macros the checks in expectations/checks/ share. Each SPEC §5 word is defined once here:
-- "P's employees", "our record", "covers P", "active", and the resident ID number rule (GB 11643).
-- Rules over other areas' relations (ref.policy, ledger.*) are SQL fragments in expectations/checks/shared/,
-- so that this migration depends on 001 only.
CREATE SCHEMA IF NOT EXISTS quality;

CREATE TABLE quality.runs (
    run_id        VARCHAR PRIMARY KEY,
    period        VARCHAR NOT NULL,                 -- YYYY-MM
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    ledger_run_id VARCHAR,                          -- the ledger run the checks read
    counts        JSON,                             -- {code: count}
    warnings      JSON,                             -- list of sentences without personal data
    gx_version    VARCHAR,
    gx_success    BOOLEAN,                          -- every expectation met
    data_docs     VARCHAR,                          -- index.html of the GX Data Docs
    report_path   VARCHAR                           -- the HR report of this run
);

-- SPEC §7, column for column. One row per failing row of a check; the check's key columns are filled.
CREATE TABLE quality.findings (
    run_id         VARCHAR NOT NULL,
    period         VARCHAR NOT NULL,
    code           VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL CHECK (severity IN ('error', 'warning')),
    entity         VARCHAR,
    employee_id    VARCHAR,
    id_number      VARCHAR,
    region         VARCHAR,
    insurance_type VARCHAR,
    transfer_id    VARCHAR,
    details        JSON
);

-- The official working-day calendar (filled by transforms.common.workdays from chinese-calendar):
-- official = false marks days beyond the years chinese-calendar knows, where only weekends are off.
CREATE TABLE quality.workdays (
    day        DATE PRIMARY KEY,
    is_workday BOOLEAN NOT NULL,
    official   BOOLEAN NOT NULL
);

CREATE TABLE quality.calendar_source (
    source     VARCHAR NOT NULL,                    -- e.g. chinese-calendar 1.11.0
    first_day  DATE NOT NULL,
    last_day   DATE NOT NULL,
    official_first DATE,
    official_last  DATE,
    built_at   TIMESTAMP NOT NULL
);

-- Working days a transfer may wait in each open stage before it is STALE_TRANSFER (国办发〔2009〕66号:
-- 15 working days per step). Change a row to configure.
CREATE TABLE ref.transfer_stage_limits (
    stage      VARCHAR PRIMARY KEY CHECK (stage IN ('submitted', 'origin_approved', 'funds_received')),
    limit_days INTEGER NOT NULL CHECK (limit_days >= 0)
);
INSERT INTO ref.transfer_stage_limits VALUES ('submitted', 15), ('origin_approved', 15), ('funds_received', 15);

-- GB 11643-1999 resident ID number: NULL when valid, else the first problem found:
-- 'format' (not 17 digits and a digit or X), 'province' (first two digits no province-level code),
-- 'birth_date' (not a calendar date, before 1900, or after the month p), 'check_digit' (ISO 7064 MOD 11-2).
CREATE MACRO quality.id_number_problem(id, p) AS
CASE
    WHEN id IS NULL OR NOT regexp_full_match(id, '[0-9]{17}[0-9X]') THEN 'format'
    WHEN substr(id, 1, 2) NOT IN (
        '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
        '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
        '71', '81', '82', '83') THEN 'province'
    WHEN try_strptime(substr(id, 7, 8), '%Y%m%d') IS NULL
        OR substr(id, 7, 4) < '1900'
        OR substr(id, 7, 6) > replace(p, '-', '') THEN 'birth_date'
    WHEN substr('10X98765432', 1 + ((
          7 * CAST(substr(id, 1, 1) AS INTEGER) + 9 * CAST(substr(id, 2, 1) AS INTEGER)
        + 10 * CAST(substr(id, 3, 1) AS INTEGER) + 5 * CAST(substr(id, 4, 1) AS INTEGER)
        + 8 * CAST(substr(id, 5, 1) AS INTEGER) + 4 * CAST(substr(id, 6, 1) AS INTEGER)
        + 2 * CAST(substr(id, 7, 1) AS INTEGER) + 1 * CAST(substr(id, 8, 1) AS INTEGER)
        + 6 * CAST(substr(id, 9, 1) AS INTEGER) + 3 * CAST(substr(id, 10, 1) AS INTEGER)
        + 7 * CAST(substr(id, 11, 1) AS INTEGER) + 9 * CAST(substr(id, 12, 1) AS INTEGER)
        + 10 * CAST(substr(id, 13, 1) AS INTEGER) + 5 * CAST(substr(id, 14, 1) AS INTEGER)
        + 8 * CAST(substr(id, 15, 1) AS INTEGER) + 4 * CAST(substr(id, 16, 1) AS INTEGER)
        + 2 * CAST(substr(id, 17, 1) AS INTEGER)) % 11), 1) <> substr(id, 18, 1) THEN 'check_digit'
END;

-- "covers P": start_month ≤ P and (no end_month or end_month ≥ P).
CREATE MACRO quality.covers(start_month, end_month, p) AS
    start_month <= p AND (end_month IS NULL OR end_month >= p);

-- "P's employees": the (entity, employee_id) pairs with a payroll or attendance row for P — here every
-- such current row, with its lineage (source file, sheet, 1-based row) for the evidence.
CREATE MACRO quality.employee_rows(p) AS TABLE
SELECT r.kind, r.entity, r.employee_id, r.name, r.id_number, r.id_number_raw, r.region,
       l.source_file, r.sheet, r.row_number
FROM (
    SELECT 'payroll' AS kind, entity, employee_id, name, id_number, id_number_raw, city AS region,
           load_id, sheet, row_number
    FROM core.payroll WHERE period = p
    UNION ALL
    SELECT 'attendance', entity, employee_id, name, id_number, id_number_raw, NULL, load_id, sheet, row_number
    FROM core.attendance WHERE period = p
) r
LEFT JOIN ingest.loads l ON l.load_id = r.load_id;

-- "P's snapshot" of insurance, each row with lineage, whether it is "ours" (its employer is an entity
-- seen in payroll up to P) and whether it is active and covers P.
CREATE MACRO quality.insurance_snapshot(p) AS TABLE
SELECT i.period, i.id_number, i.name, i.region, i.employer, i.insurance_type, i.status, i.start_month,
       i.end_month, i.base, i.first_enrollment,
       i.employer IN (SELECT DISTINCT entity FROM core.payroll WHERE period <= p) AS ours,
       i.status = 'active' AND quality.covers(i.start_month, i.end_month, p) AS active_covering,
       l.source_file, i.sheet, i.row_number
FROM core.insurance i
LEFT JOIN ingest.loads l ON l.load_id = i.load_id
WHERE i.period = p;

-- One row per (entity, employee_id) of P's employees: name, id_number, region (payroll city) and lineage
-- taken from the payroll row where there is one, else the attendance row; every id_number seen for P.
CREATE MACRO quality.employees(p) AS TABLE
WITH r AS (
    SELECT *, (CASE kind WHEN 'payroll' THEN 0 ELSE 1 END) * 1000000000 + row_number AS pick
    FROM quality.employee_rows(p)
)
SELECT entity, employee_id,
       arg_min(name, pick) AS name,
       arg_min(id_number, pick) FILTER (WHERE coalesce(id_number, '') <> '') AS id_number,
       arg_min(id_number_raw, pick) FILTER (WHERE coalesce(id_number, '') <> '') AS id_number_raw,
       list(DISTINCT id_number ORDER BY id_number) FILTER (WHERE coalesce(id_number, '') <> '') AS id_numbers,
       arg_min(region, pick) FILTER (WHERE region IS NOT NULL) AS region,
       arg_min_null(struct_pack(kind := kind, file := source_file, sheet := sheet, "row" := row_number), pick)
           AS source
FROM r
GROUP BY entity, employee_id;

-- Lineage of an employee's payroll row for P, for evidence in findings about ledger employees.
CREATE MACRO quality.payroll_source(p) AS TABLE
SELECT y.entity, y.employee_id,
       arg_min_null(struct_pack(kind := 'payroll', file := l.source_file, sheet := y.sheet, "row" := y.row_number),
                    y.row_number) AS source
FROM core.payroll y
LEFT JOIN ingest.loads l ON l.load_id = y.load_id
WHERE y.period = p
GROUP BY y.entity, y.employee_id;
