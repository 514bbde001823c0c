-- The net ledger of month p, as finance books it: the booked cells less those that netted to nothing (a
-- person removed by a correction). A table macro because a period given by a subquery (the checks'
-- scope) is not pushed through a view's GROUP BY.
CREATE OR REPLACE MACRO ledger.net_contributions(p) AS TABLE
SELECT *
FROM ledger.booked_cells(p)
WHERE NOT ledger.nets_to_nothing(month_fraction, base, employer_amount, employee_amount);
