-- WITHHOLDING_MISMATCH (SPEC §4.8): payroll gives si_withheld, R has a pension policy row for P, and it
-- differs from the employee's total employee_amount for P (0 when f = 0) by more than 1.00 yuan.
-- The rule is the model macro ledger.withholding_difference, which the ledger stored in
-- ledger.employee_months; one row per (entity, employee_id).
WITH scope AS (SELECT period FROM {batch})
SELECT m.period, m.entity, m.employee_id, m.id_number, m.region,
       NULL AS insurance_type, NULL AS transfer_id,
       json_object(
           'name', m.name,
           'si_withheld', CAST(m.si_withheld AS VARCHAR),
           'expected_employee_amount', CAST(m.expected_employee_amount AS VARCHAR),
           'difference', CAST(m.withholding_difference AS VARCHAR),
           'month_fraction', CAST(m.month_fraction AS VARCHAR),
           'gross_pay', CAST(m.gross_pay AS VARCHAR),
           'reference_wage', CAST(m.reference_wage AS VARCHAR),
           'source', s.source
       ) AS details
FROM ledger.employee_months m
LEFT JOIN quality.payroll_source((SELECT period FROM scope)) s ON s.entity = m.entity AND s.employee_id = m.employee_id
WHERE m.period = (SELECT period FROM scope)
  AND abs(ledger.withholding_difference(m.si_withheld, m.has_pension_policy, m.expected_employee_amount)) > 1.00
