-- The bill reconciliation of period $period for finance (SPEC §7 export, issue 14): per region with bill
-- rows, billed and ledger totals of each side, the differences (billed − ledger) and how many people each
-- side holds. The per-person comparison is quality.bill_comparison (models/quality/bill_comparison.sql), the same the
-- BILL_MISMATCH check reads, so the totals and the findings cannot disagree.
SELECT region,
       CAST(sum(billed_employer_amount) AS DECIMAL(38, 2)) AS billed_employer_amount,
       CAST(sum(billed_employee_amount) AS DECIMAL(38, 2)) AS billed_employee_amount,
       CAST(sum(ledger_employer_amount) AS DECIMAL(38, 2)) AS ledger_employer_amount,
       CAST(sum(ledger_employee_amount) AS DECIMAL(38, 2)) AS ledger_employee_amount,
       CAST(sum(billed_employer_amount - ledger_employer_amount) AS DECIMAL(38, 2)) AS employer_difference,
       CAST(sum(billed_employee_amount - ledger_employee_amount) AS DECIMAL(38, 2)) AS employee_difference,
       count(DISTINCT id_number) FILTER (WHERE billed) AS billed_people,
       count(DISTINCT id_number) FILTER (WHERE booked) AS ledger_people,
       count(*) FILTER (WHERE abs(billed_employer_amount - ledger_employer_amount) >= 1.00
                           OR abs(billed_employee_amount - ledger_employee_amount) >= 1.00) AS mismatches
FROM quality.bill_comparison($period)
GROUP BY region
ORDER BY region
