-- The policy row in force for (region, insurance_type) in month P, the hukou rows of a region taken together
-- (the model macro quality.policy_range).
SELECT * FROM quality.policy_range((SELECT period FROM scope))
