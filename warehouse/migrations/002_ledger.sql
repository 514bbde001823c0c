-- Policy in force and the append-only contribution ledger (SPEC §3, §4, §7).
CREATE SCHEMA IF NOT EXISTS ledger;

-- The policy in force: the shipped table with the last --policy file's regions replaced.
CREATE TABLE ref.policy (
    region          VARCHAR NOT NULL,
    insurance_type  VARCHAR NOT NULL CHECK (insurance_type IN ('pension', 'medical', 'unemployment', 'work_injury', 'maternity')),
    effective_from  VARCHAR NOT NULL,
    effective_to    VARCHAR,
    base_floor      DECIMAL(14, 2) NOT NULL,
    base_ceiling    DECIMAL(14, 2) NOT NULL,
    employer_rate   DECIMAL(9, 6) NOT NULL CHECK (employer_rate >= 0 AND employer_rate < 1),
    employee_rate   DECIMAL(9, 6) NOT NULL CHECK (employee_rate >= 0 AND employee_rate < 1),
    source          VARCHAR,
    PRIMARY KEY (region, insurance_type, effective_from),
    CHECK (base_floor <= base_ceiling),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);

-- The last --policy file given, kept so later runs without --policy use the same policy in force.
CREATE TABLE ref.policy_overrides (
    region          VARCHAR NOT NULL,
    insurance_type  VARCHAR NOT NULL,
    effective_from  VARCHAR NOT NULL,
    effective_to    VARCHAR,
    base_floor      DECIMAL(14, 2) NOT NULL,
    base_ceiling    DECIMAL(14, 2) NOT NULL,
    employer_rate   DECIMAL(9, 6) NOT NULL,
    employee_rate   DECIMAL(9, 6) NOT NULL,
    source          VARCHAR
);
CREATE TABLE ref.region_overrides (
    region             VARCHAR PRIMARY KEY,
    hire_cutoff_day    INTEGER,
    late_hire_fraction DECIMAL(5, 4),
    rounding           VARCHAR
);
CREATE TABLE ref.policy_files (
    applied_at  TIMESTAMP NOT NULL,
    source_file VARCHAR NOT NULL,
    sha256      VARCHAR NOT NULL,
    rows        INTEGER NOT NULL
);

-- Append-only: rows are never updated or deleted. For every (period, entity, employee_id,
-- insurance_type) the sum over its rows of base, month_fraction and both amounts is the current value.
CREATE TABLE ledger.contributions (
    period          VARCHAR NOT NULL,
    entity          VARCHAR NOT NULL,
    employee_id     VARCHAR NOT NULL,
    id_number       VARCHAR,
    name            VARCHAR,
    region          VARCHAR NOT NULL,
    insurance_type  VARCHAR NOT NULL,
    base            DECIMAL(14, 2) NOT NULL,
    month_fraction  DECIMAL(5, 4) NOT NULL,
    employer_rate   DECIMAL(9, 6) NOT NULL,
    employee_rate   DECIMAL(9, 6) NOT NULL,
    employer_amount DECIMAL(14, 2) NOT NULL,
    employee_amount DECIMAL(14, 2) NOT NULL,
    entry_type      VARCHAR NOT NULL CHECK (entry_type IN ('original', 'adjustment')),
    run_id          VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL
);

-- Net per cell, as finance books it: cells that netted to nothing (a person removed by a correction) drop out.
CREATE VIEW ledger.current_contributions AS
SELECT period, entity, employee_id,
       arg_max(id_number, run_id) AS id_number,
       arg_max(name, run_id) AS name,
       arg_max(region, run_id) AS region,
       insurance_type,
       sum(base) AS base,
       sum(month_fraction) AS month_fraction,
       arg_max(employer_rate, run_id) AS employer_rate,
       arg_max(employee_rate, run_id) AS employee_rate,
       sum(employer_amount) AS employer_amount,
       sum(employee_amount) AS employee_amount
FROM ledger.contributions
GROUP BY period, entity, employee_id, insurance_type
HAVING sum(month_fraction) <> 0 OR sum(base) <> 0 OR sum(employer_amount) <> 0 OR sum(employee_amount) <> 0;

-- The computation behind the ledger for one period, one row per (entity, employee_id) with payroll for
-- P; replaced on every ledger run of P. Validation reads it (NO_POLICY, population, withholding).
CREATE TABLE ledger.employee_months (
    period                   VARCHAR NOT NULL,
    entity                   VARCHAR NOT NULL,
    employee_id              VARCHAR NOT NULL,
    id_number                VARCHAR,
    name                     VARCHAR,
    region                   VARCHAR NOT NULL,
    hire_date                DATE,
    leave_date               DATE,
    month_fraction           DECIMAL(5, 4) NOT NULL,
    reference_wage           DECIMAL(14, 2) NOT NULL,
    gross_pay                DECIMAL(14, 2) NOT NULL,
    si_withheld              DECIMAL(14, 2),
    has_pension_policy       BOOLEAN NOT NULL,
    expected_employee_amount DECIMAL(14, 2) NOT NULL,
    withholding_difference   DECIMAL(14, 2),
    run_id                   VARCHAR NOT NULL  -- one row per (period, entity, employee_id) by construction:
);                                             -- no index, which would slow the per-period replace

CREATE TABLE ledger.runs (
    run_id             VARCHAR PRIMARY KEY,
    period             VARCHAR NOT NULL,
    started_at         TIMESTAMP NOT NULL,
    finished_at        TIMESTAMP NOT NULL,
    rows_appended      BIGINT NOT NULL,
    policy_fingerprint VARCHAR NOT NULL
);
