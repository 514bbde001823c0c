-- "The ledger population" of P (the model macro ledger.population).
SELECT * FROM ledger.population((SELECT period FROM scope))
