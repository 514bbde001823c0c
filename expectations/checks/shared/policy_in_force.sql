-- The policy row in force for (region, insurance_type) in month P (the model macro ref.policy_in_force).
SELECT region, insurance_type, effective_from, effective_to, base_floor, base_ceiling
FROM ref.policy_in_force((SELECT period FROM scope))
