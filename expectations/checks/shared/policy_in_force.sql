-- The policy row in force for (region, insurance_type) in month P (the model macro ref.policy_in_force). Where
-- a region charges by hukou (SPEC §3) its rows are taken together, one per (region, type): the lowest floor and
-- the highest ceiling, so a record's base is out of range only when it is out of range for every hukou.
SELECT region, insurance_type, max(effective_from) AS effective_from,
       CASE WHEN count(effective_to) = count(*) THEN min(effective_to) END AS effective_to,
       min(base_floor) AS base_floor, max(base_ceiling) AS base_ceiling
FROM ref.policy_in_force((SELECT period FROM scope))
GROUP BY region, insurance_type
