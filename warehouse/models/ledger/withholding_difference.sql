-- SPEC §4.8: the withholding difference of one employee-month — payroll's si_withheld less the employee's
-- total employee_amount for P (0 when f = 0: withholding for a month that owes nothing is a problem too),
-- compared only where payroll gives si_withheld and R levies pension in P (NULL otherwise).
-- WITHHOLDING_MISMATCH is a difference above 1.00 (expectations/checks/withholding_mismatch.sql).
CREATE OR REPLACE MACRO ledger.withholding_difference(si_withheld, has_pension_policy, expected_employee_amount) AS
    CASE WHEN si_withheld IS NOT NULL AND has_pension_policy
         THEN si_withheld - coalesce(expected_employee_amount, 0) END;
