-- The net ledger of month p, as finance books it: the booked cells less those that netted to nothing (a
-- person removed by a correction). A table macro because a period given by a subquery (the checks'
-- scope) is not pushed through a view's GROUP BY.
CREATE OR REPLACE MACRO ledger.net_contributions(p) AS TABLE
SELECT *
FROM ledger.booked_cells(p)
WHERE month_fraction <> 0 OR base <> 0 OR employer_amount <> 0 OR employee_amount <> 0;
