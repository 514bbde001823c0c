-- The policy row in force for (region, insurance_type) in month p (the model macro ref.policy_in_force), as the
-- checks of bases read it. Where a region charges by hukou (SPEC §3) its rows are taken together, one per
-- (region, type): the lowest floor and the highest ceiling, so a record's base is out of range only when it is
-- out of range for every hukou.
CREATE OR REPLACE MACRO quality.policy_range(p) AS TABLE
WITH in_force AS (
    SELECT * FROM ref.policy_in_force(p)
),
policy_range AS (
    SELECT region, insurance_type, max(effective_from) AS effective_from,
           CASE WHEN count(effective_to) = count(*) THEN min(effective_to) END AS effective_to,
           min(base_floor) AS base_floor, max(base_ceiling) AS base_ceiling
    FROM in_force
    GROUP BY region, insurance_type
)
SELECT * FROM policy_range;
