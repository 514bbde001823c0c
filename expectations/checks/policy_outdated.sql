-- POLICY_OUTDATED: a region of the ledger population whose pension policy row in force for P has no
-- effective_to and an effective_from 12 or more months before P: this year's figures have not been
-- loaded. When they are, re-running the months since gives the adjustments. One row per region.
WITH scope AS (SELECT period FROM {batch}),
population AS ({ledger_population}),
in_force AS ({policy_in_force})
SELECT (SELECT period FROM scope) AS period,
       CASE WHEN count(DISTINCT lp.entity) = 1 THEN min(lp.entity) END AS entity,
       NULL AS employee_id, NULL AS id_number,
       lp.region,
       'pension' AS insurance_type, NULL AS transfer_id,
       json_object(
           'effective_from', any_value(pol.effective_from),
           'months_in_force', any_value(ref.month_number((SELECT period FROM scope)) - ref.month_number(pol.effective_from)),
           'base_floor', CAST(any_value(pol.base_floor) AS VARCHAR),
           'base_ceiling', CAST(any_value(pol.base_ceiling) AS VARCHAR),
           'employees', count(*),
           'entities', list(DISTINCT lp.entity ORDER BY lp.entity)
       ) AS details
FROM population lp
JOIN in_force pol ON pol.region = lp.region AND pol.insurance_type = 'pension'
WHERE pol.effective_to IS NULL
  AND ref.month_number((SELECT period FROM scope)) - ref.month_number(pol.effective_from) >= 12
GROUP BY lp.region
