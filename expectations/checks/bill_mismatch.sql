-- BILL_MISMATCH: for a region with bill rows for P, the billed employer or employee amount (bill rows of
-- our employers, summed per normalised id_number, type and region) differs by 1.00 or more from the
-- ledger's net amount for P (summed over our entities per id_number, type and R = that region); a side
-- with no rows counts 0. The comparison itself is quality.bill_comparison (models/quality/bill_comparison.sql).
-- One row per (id_number, insurance_type, region).
WITH scope AS (SELECT period FROM {batch})
SELECT (SELECT period FROM scope) AS period,
       entity, employee_id, id_number, region, insurance_type,
       NULL AS transfer_id,
       json_object(
           'name', name,
           'billed_employer', billed_employer,
           'billed_employer_amount', CAST(billed_employer_amount AS VARCHAR),
           'billed_employee_amount', CAST(billed_employee_amount AS VARCHAR),
           'ledger_employer_amount', CAST(ledger_employer_amount AS VARCHAR),
           'ledger_employee_amount', CAST(ledger_employee_amount AS VARCHAR),
           'employer_difference', CAST(billed_employer_amount - ledger_employer_amount AS VARCHAR),
           'employee_difference', CAST(billed_employee_amount - ledger_employee_amount AS VARCHAR),
           'billed_base', CAST(billed_base AS VARCHAR),
           'ledger_base', CAST(ledger_base AS VARCHAR),
           'source', source
       ) AS details
FROM quality.bill_comparison((SELECT period FROM scope))
WHERE abs(billed_employer_amount - ledger_employer_amount) >= 1.00
   OR abs(billed_employee_amount - ledger_employee_amount) >= 1.00
