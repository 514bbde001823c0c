-- Policy v2 (SPEC §3): fixed monthly sums per side, the provenance mark of each row, and the month a
-- region's contribution year starts. ref.policy and ref.regions are rebuilt (DuckDB cannot add a column
-- with a CHECK), keeping their rows; the override tables only gain columns.

CREATE TABLE ref.policy_v2 (
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
    verified        VARCHAR NOT NULL DEFAULT 'secondary' CHECK (verified IN ('official', 'secondary')),
    PRIMARY KEY (region, insurance_type, effective_from),
    CHECK (base_floor <= base_ceiling),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);
INSERT INTO ref.policy_v2 (region, insurance_type, effective_from, effective_to, base_floor, base_ceiling,
                           employer_rate, employee_rate, source)
SELECT region, insurance_type, effective_from, effective_to, base_floor, base_ceiling, employer_rate,
       employee_rate, source
FROM ref.policy;
DROP TABLE ref.policy;
ALTER TABLE ref.policy_v2 RENAME TO policy;

CREATE TABLE ref.regions_v2 (
    region                VARCHAR PRIMARY KEY,
    province              VARCHAR NOT NULL,
    aliases               VARCHAR[] NOT NULL,
    hire_cutoff_day       INTEGER NOT NULL DEFAULT 15 CHECK (hire_cutoff_day BETWEEN 1 AND 31),
    late_hire_fraction    DECIMAL(5, 4) NOT NULL DEFAULT 0.5 CHECK (late_hire_fraction BETWEEN 0 AND 1),
    rounding              VARCHAR NOT NULL DEFAULT 'cent_half_up' CHECK (rounding IN ('cent_half_up', 'jiao_up')),
    base_year_start_month INTEGER NOT NULL DEFAULT 1 CHECK (base_year_start_month BETWEEN 1 AND 12)
);
INSERT INTO ref.regions_v2 (region, province, aliases, hire_cutoff_day, late_hire_fraction, rounding)
SELECT region, province, aliases, hire_cutoff_day, late_hire_fraction, rounding FROM ref.regions;
DROP TABLE ref.regions;
ALTER TABLE ref.regions_v2 RENAME TO regions;

-- The last --policy file's rows and settings (validated by warehouse.policy before they are stored).
ALTER TABLE ref.policy_overrides ADD COLUMN employer_fixed DECIMAL(14, 2) DEFAULT 0;
ALTER TABLE ref.policy_overrides ALTER COLUMN employer_fixed SET NOT NULL;
ALTER TABLE ref.policy_overrides ADD COLUMN employee_fixed DECIMAL(14, 2) DEFAULT 0;
ALTER TABLE ref.policy_overrides ALTER COLUMN employee_fixed SET NOT NULL;
ALTER TABLE ref.policy_overrides ADD COLUMN verified VARCHAR DEFAULT 'secondary';
ALTER TABLE ref.region_overrides ADD COLUMN base_year_start_month INTEGER;
