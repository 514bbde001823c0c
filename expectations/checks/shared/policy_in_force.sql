-- The policy row in force for (region, insurance_type) in month P (SPEC §3: at most one).
SELECT region, insurance_type, effective_from, effective_to, base_floor, base_ceiling
FROM ref.policy
WHERE effective_from <= (SELECT period FROM scope)
  AND (effective_to IS NULL OR effective_to >= (SELECT period FROM scope))
