-- SPEC §7 public relation: the net ledger of every month booked (one row per cell).
CREATE OR REPLACE VIEW ledger.current_contributions AS
SELECT * FROM ledger.net_contributions(NULL);
