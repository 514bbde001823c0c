"""Great Expectations suites: one check per SPEC §5 finding code, each a SQL file run inside DuckDB."""
