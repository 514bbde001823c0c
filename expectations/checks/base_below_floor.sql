-- BASE_BELOW_FLOOR: an active record of ours covering P whose base is below the floor of the policy for
-- (its region, its type, P). One row per (id_number, insurance_type): quality.base_out_of_range, the rule
-- BASE_ABOVE_CEILING shares, on its lower side.
WITH scope AS (SELECT period FROM {batch})
SELECT period, entity, employee_id, id_number, region, insurance_type, transfer_id, details
FROM quality.base_out_of_range((SELECT period FROM scope), false)
