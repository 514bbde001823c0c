"""The DuckDB warehouse: schema migrations, connections, reference data."""
