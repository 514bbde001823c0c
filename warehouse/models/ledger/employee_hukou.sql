-- SPEC §3 an employee's hukou for region R: 'local' when the hukou_region of the latest attendance row up to
-- P names R's city, 'nonlocal' when it names somewhere else, NULL when none is given (the employee then takes
-- the 'nonlocal' row, ref.hukou_row_applies, and the report counts them). The province part of the address
-- is cut first, so 吉林省长春市 is not local to the city 吉林 and 吉林省吉林市 is.
CREATE OR REPLACE MACRO ledger.employee_hukou(hukou_region, region) AS
CASE
    WHEN nullif(trim(coalesce(hukou_region, '')), '') IS NULL THEN NULL
    WHEN position(region IN regexp_replace(hukou_region, '^.{0,6}?(省|自治区)', '')) > 0 THEN 'local'
    ELSE 'nonlocal'
END;
