-- SPEC §3/§4.5 "the row of the employee's hukou": a policy row for everyone ('all') applies to all; where a
-- region charges by hukou, the row of the employee's hukou applies, and the 'nonlocal' row when no hukou is
-- known (employee_hukou NULL, ledger.employee_hukou). The ledger's cells choose their rows through this macro.
CREATE OR REPLACE MACRO ref.hukou_row_applies(row_hukou, employee_hukou) AS
row_hukou = 'all' OR row_hukou = coalesce(employee_hukou, 'nonlocal');
