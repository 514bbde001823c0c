-- SPEC §3: the policy row in force for (region, insurance_type) in month p — at most one, the one whose
-- [effective_from, effective_to] contains p. The ledger and every check that needs a floor, ceiling or
-- rate read it through this macro.
CREATE OR REPLACE MACRO ref.policy_in_force(p) AS TABLE
SELECT *
FROM ref.policy
WHERE effective_from <= p AND (effective_to IS NULL OR effective_to >= p);
