-- `shebao policy show`: the policy rows a close of $period would use in $region (ref.policy_in_force), every
-- type and hukou, with source and verified mark.
SELECT region, insurance_type, hukou, effective_from, effective_to, base_floor, base_ceiling, employer_rate,
       employee_rate, employer_fixed, employee_fixed, source, verified
FROM ref.policy_in_force($period)
WHERE region = $region
ORDER BY list_position(['pension', 'medical', 'unemployment', 'work_injury', 'maternity'], insurance_type),
         list_position(['all', 'local', 'nonlocal'], hukou)
