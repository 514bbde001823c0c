"""Pure functions and SQL: parsing, normalising, staging, ledger, actions. No Prefect imports here."""
