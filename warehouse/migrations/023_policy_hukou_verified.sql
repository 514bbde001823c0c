-- Policy v3 (SPEC §3): rows by hukou, the `assumed` mark, the region settings' own source and mark, and the
-- mark each ledger row used (SPEC §7 政策核实). ref.policy is rebuilt (DuckDB cannot widen a CHECK or a
-- primary key in place), keeping its rows; the other tables only gain columns.

-- hukou: 'all' where the row applies to everyone (blank in the policy file), else 'local' / 'nonlocal'.
CREATE TABLE ref.policy_v3 (
    region          VARCHAR NOT NULL,
    insurance_type  VARCHAR NOT NULL CHECK (insurance_type IN ('pension', 'medical', 'unemployment', 'work_injury', 'maternity')),
    effective_from  VARCHAR NOT NULL,
    effective_to    VARCHAR,
    base_floor      DECIMAL(14, 2) NOT NULL,
    base_ceiling    DECIMAL(14, 2) NOT NULL,
    employer_rate   DECIMAL(9, 6) NOT NULL CHECK (employer_rate >= 0 AND employer_rate < 1),
    employee_rate   DECIMAL(9, 6) NOT NULL CHECK (employee_rate >= 0 AND employee_rate < 1),
    source          VARCHAR,
    employer_fixed  DECIMAL(14, 2) NOT NULL DEFAULT 0 CHECK (employer_fixed >= 0),
    employee_fixed  DECIMAL(14, 2) NOT NULL DEFAULT 0 CHECK (employee_fixed >= 0),
    verified        VARCHAR NOT NULL DEFAULT 'assumed' CHECK (verified IN ('official', 'secondary', 'assumed')),
    hukou           VARCHAR NOT NULL DEFAULT 'all' CHECK (hukou IN ('all', 'local', 'nonlocal')),
    PRIMARY KEY (region, insurance_type, effective_from, hukou),
    CHECK (base_floor <= base_ceiling),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);
INSERT INTO ref.policy_v3 (region, insurance_type, effective_from, effective_to, base_floor, base_ceiling,
                           employer_rate, employee_rate, source, employer_fixed, employee_fixed, verified)
SELECT region, insurance_type, effective_from, effective_to, base_floor, base_ceiling, employer_rate,
       employee_rate, source, employer_fixed, employee_fixed, verified
FROM ref.policy;
DROP TABLE ref.policy;
ALTER TABLE ref.policy_v3 RENAME TO policy;

ALTER TABLE ref.policy_overrides ADD COLUMN hukou VARCHAR DEFAULT 'all';

-- Where the region's settings (cutoff day, late-hire fraction, rounding, contribution-year month) come from.
ALTER TABLE ref.regions ADD COLUMN source VARCHAR;
ALTER TABLE ref.regions ADD COLUMN verified VARCHAR;
ALTER TABLE ref.region_overrides ADD COLUMN source VARCHAR;
ALTER TABLE ref.region_overrides ADD COLUMN verified VARCHAR;

-- The verified mark of the policy row a ledger row was computed with (NULL: booked before this column).
ALTER TABLE ledger.contributions ADD COLUMN policy_verified VARCHAR;
-- The employee's hukou as the ledger decided it for P (SPEC §3): 'local', 'nonlocal', NULL when none is known
-- (the employee then takes the region's 'nonlocal' row).
ALTER TABLE ledger.employee_months ADD COLUMN hukou VARCHAR;
