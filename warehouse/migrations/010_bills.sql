-- The agency's bill (SPEC §2 kind `bill`, 社保费缴费明细): what the collecting agency billed for one month,
-- one row per person and insurance type. Staged like every kind; current rows per (period, region)
-- (warehouse/models/010a_staged_keys.sql), exposed as ingest.bills (SPEC §7).
CREATE TABLE staging.bill (
    load_id         BIGINT NOT NULL,
    sheet           VARCHAR,
    row_number      INTEGER NOT NULL,
    period          VARCHAR NOT NULL,           -- YYYY-MM, 费款所属期
    id_number       VARCHAR NOT NULL,           -- normalised
    id_number_raw   VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    region          VARCHAR NOT NULL,           -- normalised like insurance regions
    region_raw      VARCHAR NOT NULL,
    region_known    BOOLEAN NOT NULL,
    employer        VARCHAR NOT NULL,           -- trimmed, full-width parentheses and spaces half-width
    insurance_type  VARCHAR NOT NULL,
    base            DECIMAL(14, 2) NOT NULL,
    employer_amount DECIMAL(14, 2) NOT NULL,    -- may be negative (a refund or correction line)
    employee_amount DECIMAL(14, 2) NOT NULL
);
